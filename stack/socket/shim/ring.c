/* The data path: datagram records through the socket's SPSC rings in
 * shared memory (see proto.h). No syscall while both sides are busy:
 * eventfds are written only to wake a side that has caught up. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

static inline uint64_t *u64at(struct shim_sock *s, size_t off) { return (uint64_t *)(s->mem + off); }
static inline uint64_t load(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void store(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

static void copy_in(uint8_t *ring, uint64_t size, uint64_t idx, const void *src, size_t n)
{
    uint64_t off = idx & (size - 1);
    size_t first = n < size - off ? n : size - off;
    memcpy(ring + off, src, first);
    memcpy(ring, (const uint8_t *)src + first, n - first);
}

static void copy_out(const uint8_t *ring, uint64_t size, uint64_t idx, void *dst, size_t n)
{
    uint64_t off = idx & (size - 1);
    size_t first = n < size - off ? n : size - off;
    memcpy(dst, ring + off, first);
    memcpy((uint8_t *)dst + first, ring, n - first);
}

/* gone says whether the socket can no longer work: the daemon closed it
 * (it stopped) or hung up the control connection (it died). */
static int gone(struct shim_sock *s, const struct pollfd *ctl)
{
    if (__atomic_load_n((uint32_t *)(s->mem + OPD_CLOSED), __ATOMIC_SEQ_CST) != 0) return 1;
    return ctl != NULL && ctl->fd >= 0 && (ctl->revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0;
}

static size_t iov_total(const struct iovec *iov, size_t n)
{
    size_t t = 0;
    for (size_t i = 0; i < n; i++) t += iov[i].iov_len;
    return t;
}

static long tv_ms(const struct timeval *tv)
{
    if (tv->tv_sec == 0 && tv->tv_usec == 0) return -1; /* no timeout */
    return tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
}

/* push appends one record; 0 when it does not fit yet. */
static int push(struct shim_sock *s, const struct msghdr *msg, size_t len)
{
    uint8_t *ring = s->mem + OPD_DATA_OFF + s->ringsize;
    uint64_t head = load(u64at(s, OPD_TX_HEAD));
    uint64_t tail = load(u64at(s, OPD_TX_TAIL));
    uint64_t need = align8(OPD_RECORD_HDR + len);
    if (need > s->ringsize - (head - tail)) return 0;
    struct opd_record rec = {.len = (uint32_t)len};
    if (msg->msg_name != NULL && msg->msg_namelen > 0) {
        rec.addrlen = msg->msg_namelen > sizeof(rec.addr) ? sizeof(rec.addr) : msg->msg_namelen;
        memcpy(rec.addr, msg->msg_name, rec.addrlen);
    }
    copy_in(ring, s->ringsize, head, &rec, OPD_RECORD_HDR);
    uint64_t at = head + OPD_RECORD_HDR;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
        copy_in(ring, s->ringsize, at, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
        at += msg->msg_iov[i].iov_len;
    }
    store(u64at(s, OPD_TX_HEAD), head + need);
    /* Checked after publishing: the daemon sees the record, or we see
     * it had caught up (and may sleep) and wake it. */
    if (load(u64at(s, OPD_TX_TAIL)) == head) {
        uint64_t one = 1;
        ssize_t r = shim_real.write(s->txfd, &one, sizeof(one));
        (void)r;
    }
    return 1;
}

/* shim_settle keeps the eventfd readable exactly while records (or a
 * stream's bytes or EOF) wait: called when the rx ring looked empty, it
 * clears the eventfd, then re-arms it if something arrived meanwhile. A
 * listener's watcher re-arms its fd itself. */
void shim_settle(struct shim_sock *s, int fd)
{
    uint64_t v;
    ssize_t r = shim_real.read(fd, &v, sizeof(v));
    (void)r;
    if (load(u64at(s, OPD_RX_HEAD)) != load(u64at(s, OPD_RX_TAIL))) {
        v = 1;
        r = shim_real.write(fd, &v, sizeof(v));
    }
}

/* unwritable makes the program's fd poll not writable while the tx ring
 * is full, as a kernel socket's with a full send buffer: an eventfd at
 * its maximum count polls readable only. The daemon's tx pump undoes it
 * when it makes room (OPD_TX_FULL), as for a stream. If the datagram
 * fits after all (the daemon made room meanwhile), it is sent and the fd
 * set right here: 1 then, else 0. */
static int unwritable(struct shim_sock *s, int fd, const struct msghdr *msg, size_t len)
{
    uint64_t v;
    ssize_t r = shim_real.read(fd, &v, sizeof(v));
    v = 0xfffffffffffffffeULL;
    r = shim_real.write(fd, &v, sizeof(v)); /* EAGAIN if the daemon wrote meanwhile: then readable, harmless */
    (void)r;
    uint32_t *full = (uint32_t *)(s->mem + OPD_TX_FULL);
    __atomic_store_n(full, 1, __ATOMIC_SEQ_CST);
    if (!push(s, msg, len)) return 0;
    if (__atomic_exchange_n(full, 0, __ATOMIC_SEQ_CST) != 0) shim_settle(s, fd);
    return 1;
}

ssize_t shim_ring_send(struct shim_sock *s, int fd, const struct msghdr *msg, int flags)
{
    size_t len = iov_total(msg->msg_iov, msg->msg_iovlen);
    if (len > OPD_MAX_DGRAM - 8 || OPD_RECORD_HDR + len > s->ringsize) {
        errno = EMSGSIZE;
        return -1;
    }
    if (gone(s, NULL)) {
        errno = ENETDOWN;
        return -1;
    }
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    long limit_ms = tv_ms(&s->sndtimeo);
    uint32_t *waiting = (uint32_t *)(s->mem + OPD_TX_WAITING);
    pthread_mutex_lock(&s->txlock);
    while (!push(s, msg, len)) {
        if (gone(s, NULL)) {
            pthread_mutex_unlock(&s->txlock);
            errno = ENETDOWN;
            return -1;
        }
        /* The ring is full: the daemon is behind. Say we wait, look
         * again (the daemon sees the flag or we see its room), then sleep
         * until it signals room. */
        if (nonblock) {
            int sent = unwritable(s, fd, msg, len);
            pthread_mutex_unlock(&s->txlock);
            if (sent) return (ssize_t)len;
            errno = EAGAIN;
            return -1;
        }
        __atomic_store_n(waiting, 1, __ATOMIC_SEQ_CST);
        if (push(s, msg, len)) break;
        struct pollfd p[2] = {{.fd = s->spacefd, .events = POLLIN}, {.fd = shim_ctl_fd(), .events = POLLRDHUP}};
        int r = poll(p, 2, limit_ms < 0 ? -1 : (int)limit_ms);
        int e = errno;
        if (r > 0 && gone(s, &p[1])) {
            pthread_mutex_unlock(&s->txlock);
            errno = ENETDOWN;
            return -1;
        }
        uint64_t v;
        ssize_t n = shim_real.read(s->spacefd, &v, sizeof(v));
        (void)n;
        if (r == 0 || (r < 0 && e == EINTR)) {
            pthread_mutex_unlock(&s->txlock);
            errno = r == 0 ? EAGAIN : EINTR;
            return -1;
        }
    }
    pthread_mutex_unlock(&s->txlock);
    return (ssize_t)len;
}

/* pop takes one record into msg; -1 when the ring is empty. */
static ssize_t pop(struct shim_sock *s, int fd, struct msghdr *msg, int flags)
{
    uint8_t *ring = s->mem + OPD_DATA_OFF;
    uint64_t tail = load(u64at(s, OPD_RX_TAIL));
    uint64_t head = load(u64at(s, OPD_RX_HEAD));
    if (head == tail) return -1;
    struct opd_record rec;
    copy_out(ring, s->ringsize, tail, &rec, OPD_RECORD_HDR);
    if (rec.len > OPD_MAX_DGRAM || align8(OPD_RECORD_HDR + rec.len) > head - tail) {
        /* The daemon never writes this; resynchronise rather than read
         * out of bounds. */
        store(u64at(s, OPD_RX_TAIL), head);
        return -1;
    }
    size_t left = rec.len, at = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen && left > 0; i++) {
        size_t n = msg->msg_iov[i].iov_len < left ? msg->msg_iov[i].iov_len : left;
        copy_out(ring, s->ringsize, tail + OPD_RECORD_HDR + at, msg->msg_iov[i].iov_base, n);
        at += n;
        left -= n;
    }
    msg->msg_flags = left > 0 ? MSG_TRUNC : 0;
    if (msg->msg_name != NULL) {
        socklen_t alen = rec.addrlen > sizeof(rec.addr) ? sizeof(rec.addr) : rec.addrlen;
        memcpy(msg->msg_name, rec.addr, alen < msg->msg_namelen ? alen : msg->msg_namelen);
        msg->msg_namelen = alen;
    }
    size_t room = msg->msg_control != NULL ? msg->msg_controllen : 0;
    msg->msg_controllen = 0;
    if (s->recvttl && (rec.flags & OPD_FLAG_TTL)) {
        if (room >= CMSG_SPACE(sizeof(int))) {
            struct cmsghdr *c = (struct cmsghdr *)msg->msg_control;
            int v = rec.flags & 0xff;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            c->cmsg_level = s->domain == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
            c->cmsg_type = s->domain == AF_INET ? IP_TTL : IPV6_HOPLIMIT;
            memcpy(CMSG_DATA(c), &v, sizeof(v));
            msg->msg_controllen = CMSG_SPACE(sizeof(int));
        } else {
            msg->msg_flags |= MSG_CTRUNC;
        }
    }
    if (!(flags & MSG_PEEK)) {
        store(u64at(s, OPD_RX_TAIL), tail + align8(OPD_RECORD_HDR + rec.len));
        if (load(u64at(s, OPD_RX_HEAD)) == tail + align8(OPD_RECORD_HDR + rec.len)) shim_settle(s, fd);
    }
    return (flags & MSG_TRUNC) ? (ssize_t)rec.len : (ssize_t)at;
}

ssize_t shim_ring_recv(struct shim_sock *s, int fd, struct msghdr *msg, int flags)
{
    msg->msg_flags = 0;
    if (flags & MSG_ERRQUEUE) {
        errno = EAGAIN; /* no error queue yet */
        return -1;
    }
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    long limit_ms = tv_ms(&s->rcvtimeo);
    for (;;) {
        pthread_mutex_lock(&s->rxlock);
        ssize_t n = pop(s, fd, msg, flags);
        if (n < 0) shim_settle(s, fd); /* a stale wake-up must not make poll spin */
        pthread_mutex_unlock(&s->rxlock);
        if (n >= 0) return n;
        if (gone(s, NULL)) {
            errno = ENETDOWN;
            return -1;
        }
        if (nonblock) {
            errno = EAGAIN;
            return -1;
        }
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = shim_ctl_fd(), .events = POLLRDHUP}};
        int r = poll(p, 2, limit_ms < 0 ? -1 : (int)limit_ms);
        if (r > 0 && gone(s, &p[1])) {
            errno = ENETDOWN;
            return -1;
        }
        if (r == 0) {
            errno = EAGAIN;
            return -1;
        }
        if (r < 0 && errno == EINTR) return -1;
    }
}

int shim_ring_next_len(struct shim_sock *s)
{
    uint64_t tail = load(u64at(s, OPD_RX_TAIL)), head = load(u64at(s, OPD_RX_HEAD));
    if (head == tail) return 0;
    struct opd_record rec;
    copy_out(s->mem + OPD_DATA_OFF, s->ringsize, tail, &rec, OPD_RECORD_HDR);
    return (int)rec.len;
}
