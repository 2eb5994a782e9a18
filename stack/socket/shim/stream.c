/* TCP streams over the socket's rings: records of bytes without
 * addresses, which recv may consume in part (s->rx_off); a record of no
 * bytes with OPD_FLAG_EOF is the peer's FIN (rx) or our shutdown(SHUT_WR)
 * (tx). The connection state lives in shared memory (OPD_STATE): the
 * daemon answers connect and accept at once and writes the socket's
 * eventfd when the state changes or a connection waits, so a blocked
 * connect or accept never holds the process's control connection. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

static inline uint64_t *u64at(struct shim_sock *s, size_t off) { return (uint64_t *)(s->mem + off); }
static inline uint64_t load(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void store(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

#define MAX_CHUNK (OPD_MAX_DGRAM - 7)

uint32_t shim_stream_state(struct shim_sock *s, int *err)
{
    if (err != NULL) *err = (int)__atomic_load_n((uint32_t *)(s->mem + OPD_ERR), __ATOMIC_SEQ_CST);
    return __atomic_load_n((uint32_t *)(s->mem + OPD_STATE), __ATOMIC_SEQ_CST);
}

static int closed(struct shim_sock *s)
{
    return __atomic_load_n((uint32_t *)(s->mem + OPD_CLOSED), __ATOMIC_SEQ_CST) != 0;
}

static long tv_ms(const struct timeval *tv)
{
    if (tv->tv_sec == 0 && tv->tv_usec == 0) return -1;
    return tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
}

/* wait_fd sleeps until fd is readable, the daemon goes, or the timeout.
 * 0: look again; -1 with errno set. */
static int wait_fd(struct shim_sock *s, int fd, long ms)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = shim_ctl_fd(), .events = POLLRDHUP}};
    int r = poll(p, 2, ms < 0 ? -1 : (int)ms);
    if (r < 0) return -1;
    if (r == 0) {
        errno = EAGAIN;
        return -1;
    }
    if (closed(s) || (p[1].fd >= 0 && (p[1].revents & (POLLHUP | POLLRDHUP | POLLERR)))) {
        errno = ENETDOWN;
        return -1;
    }
    return 0;
}

/* shim_stream_connecting makes a non-blocking connect's fd poll not
 * writable until the daemon publishes the outcome (it resets the eventfd
 * then); undone here if the outcome is already there. */
void shim_stream_connecting(struct shim_sock *s, int fd)
{
    uint64_t v;
    ssize_t r = shim_real.read(fd, &v, sizeof(v));
    v = 0xfffffffffffffffeULL;
    r = shim_real.write(fd, &v, sizeof(v)); /* EAGAIN if the daemon wrote meanwhile: fine */
    (void)r;
    if (shim_stream_state(s, NULL) != OPD_STATE_CONNECTING) shim_settle(s, fd);
}

int shim_stream_wait_connected(struct shim_sock *s, int fd)
{
    for (;;) {
        int err;
        uint32_t st = shim_stream_state(s, &err);
        if (st == OPD_STATE_CONNECTED) {
            shim_settle(s, fd);
            return 0;
        }
        if (st == OPD_STATE_ERROR) {
            s->err_reported = 1;
            errno = err;
            return -1;
        }
        shim_settle(s, fd);
        st = shim_stream_state(s, &err);
        if (st == OPD_STATE_CONNECTED || st == OPD_STATE_ERROR) continue;
        if (wait_fd(s, fd, -1) < 0) return -1;
    }
}

/* push_bytes appends one record of n bytes taken from iov at byte skip. */
static void push_bytes(struct shim_sock *s, const struct iovec *iov, size_t iovlen, size_t skip, size_t n, uint16_t flags)
{
    uint8_t *ring = s->mem + OPD_DATA_OFF + s->ringsize;
    uint64_t head = load(u64at(s, OPD_TX_HEAD));
    struct opd_record rec = {.len = (uint32_t)n, .flags = flags};
    uint64_t at = head;
    for (size_t i = 0; i < OPD_RECORD_HDR; i++, at++) ring[at & (s->ringsize - 1)] = ((uint8_t *)&rec)[i];
    for (size_t i = 0; i < iovlen && n > 0; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        const uint8_t *src = (const uint8_t *)iov[i].iov_base + skip;
        size_t c = l - skip < n ? l - skip : n;
        skip = 0;
        uint64_t off = at & (s->ringsize - 1);
        size_t first = c < s->ringsize - off ? c : s->ringsize - off;
        memcpy(ring + off, src, first);
        memcpy(ring, src + first, c - first);
        at += c;
        n -= c;
    }
    store(u64at(s, OPD_TX_HEAD), head + align8(OPD_RECORD_HDR + rec.len));
    if (load(u64at(s, OPD_TX_TAIL)) == head) {
        uint64_t one = 1;
        ssize_t r = shim_real.write(s->txfd, &one, sizeof(one));
        (void)r;
    }
}

/* room is the payload the tx ring takes in one record now (0: none). */
static size_t room(struct shim_sock *s)
{
    uint64_t used = load(u64at(s, OPD_TX_HEAD)) - load(u64at(s, OPD_TX_TAIL));
    if (used > s->ringsize) return 0;
    uint64_t free = s->ringsize - used;
    if (free < OPD_RECORD_HDR + 8) return 0;
    free = (free - OPD_RECORD_HDR) & ~(uint64_t)7;
    return free > MAX_CHUNK ? MAX_CHUNK : free;
}

/* wait_room sleeps until the daemon made room in the tx ring. */
static int wait_room(struct shim_sock *s, long ms)
{
    uint32_t *waiting = (uint32_t *)(s->mem + OPD_TX_WAITING);
    __atomic_store_n(waiting, 1, __ATOMIC_SEQ_CST);
    if (room(s) > 0) return 0;
    int r = wait_fd(s, s->spacefd, ms);
    uint64_t v;
    ssize_t n = shim_real.read(s->spacefd, &v, sizeof(v));
    (void)n;
    return r;
}

static int send_error(struct shim_sock *s)
{
    int err;
    uint32_t st = shim_stream_state(s, &err);
    if (closed(s)) return ENETDOWN;
    if (s->wr_shut) return EPIPE;
    if (st == OPD_STATE_ERROR) return err == ECONNREFUSED ? ECONNREFUSED : EPIPE;
    if (st == OPD_STATE_IDLE) return ENOTCONN;
    return 0;
}

/* unwritable makes the program's fd report not writable while the tx
 * ring is full: an eventfd at its maximum count polls readable only. The
 * daemon undoes it when it makes room (OPD_TX_FULL); so does the shim if
 * room appeared meanwhile. 1: still full. */
static int unwritable(struct shim_sock *s, int fd)
{
    uint64_t v;
    ssize_t r = shim_real.read(fd, &v, sizeof(v));
    v = 0xfffffffffffffffeULL;
    r = shim_real.write(fd, &v, sizeof(v)); /* EAGAIN if the daemon wrote meanwhile: then readable, harmless */
    (void)r;
    uint32_t *full = (uint32_t *)(s->mem + OPD_TX_FULL);
    __atomic_store_n(full, 1, __ATOMIC_SEQ_CST);
    if (room(s) == 0) return 1;
    if (__atomic_exchange_n(full, 0, __ATOMIC_SEQ_CST) != 0) shim_settle(s, fd);
    return 0;
}

ssize_t shim_stream_send(struct shim_sock *s, int fd, const struct msghdr *msg, int flags)
{
    size_t total = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) total += msg->msg_iov[i].iov_len;
    int e = send_error(s);
    if (e != 0) {
        errno = e;
        return -1;
    }
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    long ms = tv_ms(&s->sndtimeo);
    size_t done = 0;
    pthread_mutex_lock(&s->txlock);
    while (done < total) {
        size_t r = room(s);
        if (r == 0) {
            if (nonblock && done == 0 && unwritable(s, fd) == 0) continue;
            if (nonblock) break;
            if ((e = send_error(s)) != 0 || wait_room(s, ms) < 0) {
                if (e == 0) e = errno;
                break;
            }
            continue;
        }
        size_t n = total - done < r ? total - done : r;
        push_bytes(s, msg->msg_iov, msg->msg_iovlen, done, n, 0);
        done += n;
    }
    pthread_mutex_unlock(&s->txlock);
    if (done > 0) return (ssize_t)done;
    if (total == 0) return 0;
    errno = e != 0 ? e : EAGAIN;
    return -1;
}

int shim_stream_shutdown_wr(struct shim_sock *s)
{
    pthread_mutex_lock(&s->txlock);
    if (!s->wr_shut) {
        while (room(s) == 0 && !closed(s))
            if (wait_room(s, -1) < 0 && errno != EINTR) break;
        struct iovec none = {0};
        push_bytes(s, &none, 0, 0, 0, OPD_FLAG_EOF);
        s->wr_shut = 1;
    }
    pthread_mutex_unlock(&s->txlock);
    return 0;
}

/* take copies what waits in the rx ring into msg: -1 nothing yet, 0 EOF. */
static ssize_t take(struct shim_sock *s, struct msghdr *msg, int flags, int *eof)
{
    uint8_t *ring = s->mem + OPD_DATA_OFF;
    uint64_t tail = load(u64at(s, OPD_RX_TAIL)), head = load(u64at(s, OPD_RX_HEAD));
    uint64_t off = s->rx_off;
    size_t done = 0, iv = 0, ivoff = 0;
    *eof = 0;
    while (tail != head) {
        struct opd_record rec;
        for (size_t i = 0; i < OPD_RECORD_HDR; i++) ((uint8_t *)&rec)[i] = ring[(tail + i) & (s->ringsize - 1)];
        if (rec.len > OPD_MAX_DGRAM || align8(OPD_RECORD_HDR + rec.len) > head - tail || off > rec.len) {
            store(u64at(s, OPD_RX_TAIL), head); /* never written so; resynchronise */
            s->rx_off = 0;
            return done > 0 ? (ssize_t)done : -1;
        }
        if (rec.len == 0 && (rec.flags & OPD_FLAG_EOF)) {
            *eof = 1; /* left in place: every later recv sees it */
            break;
        }
        while (off < rec.len && iv < (size_t)msg->msg_iovlen) {
            size_t want = msg->msg_iov[iv].iov_len - ivoff;
            size_t c = rec.len - off < want ? rec.len - off : want;
            uint64_t at = (tail + OPD_RECORD_HDR + off) & (s->ringsize - 1);
            size_t first = c < s->ringsize - at ? c : s->ringsize - at;
            uint8_t *dst = (uint8_t *)msg->msg_iov[iv].iov_base + ivoff;
            memcpy(dst, ring + at, first);
            memcpy(dst + first, ring, c - first);
            off += c;
            ivoff += c;
            done += c;
            if (ivoff == msg->msg_iov[iv].iov_len) {
                iv++;
                ivoff = 0;
            }
        }
        if (off < rec.len) break; /* the buffer is full */
        tail += align8(OPD_RECORD_HDR + rec.len);
        off = 0;
    }
    if (!(flags & MSG_PEEK)) {
        store(u64at(s, OPD_RX_TAIL), tail);
        s->rx_off = off;
    }
    if (done > 0) return (ssize_t)done;
    return *eof ? 0 : -1;
}

ssize_t shim_stream_recv(struct shim_sock *s, int fd, struct msghdr *msg, int flags)
{
    msg->msg_flags = 0;
    msg->msg_controllen = 0;
    if (msg->msg_name != NULL) msg->msg_namelen = 0;
    if (s->listening) {
        errno = ENOTCONN;
        return -1;
    }
    size_t want = 0;
    for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) want += msg->msg_iov[i].iov_len;
    if (want == 0) return 0; /* as the kernel: nothing asked, nothing waited for */
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    long ms = tv_ms(&s->rcvtimeo);
    for (;;) {
        int eof, err;
        pthread_mutex_lock(&s->rxlock);
        ssize_t n = take(s, msg, flags, &eof);
        if (n <= 0 || load(u64at(s, OPD_RX_HEAD)) == load(u64at(s, OPD_RX_TAIL))) shim_settle(s, fd);
        pthread_mutex_unlock(&s->rxlock);
        uint32_t *rxwait = (uint32_t *)(s->mem + OPD_RX_WAITING);
        if (n > 0 && !(flags & MSG_PEEK) && __atomic_load_n(rxwait, __ATOMIC_SEQ_CST) != 0 &&
            __atomic_exchange_n(rxwait, 0, __ATOMIC_SEQ_CST) != 0) {
            /* The daemon waits for the room we just made. */
            uint64_t one = 1;
            ssize_t r = shim_real.write(s->txfd, &one, sizeof(one));
            (void)r;
        }
        if (eof && n == 0) {
            /* A reset or refused connection says so once, then EOF. */
            if (shim_stream_state(s, &err) == OPD_STATE_ERROR && !s->err_reported) {
                s->err_reported = 1;
                errno = err;
                return -1;
            }
            return 0;
        }
        if (n > 0) return n;
        if (closed(s)) {
            errno = ENETDOWN;
            return -1;
        }
        uint32_t st = shim_stream_state(s, &err);
        if (st == OPD_STATE_IDLE) {
            errno = ENOTCONN;
            return -1;
        }
        if (st == OPD_STATE_ERROR && !s->err_reported) {
            s->err_reported = 1;
            errno = err;
            return -1;
        }
        if (nonblock) {
            errno = EAGAIN;
            return -1;
        }
        if (wait_fd(s, fd, ms) < 0) return -1;
    }
}

int shim_stream_readable(struct shim_sock *s)
{
    uint8_t *ring = s->mem + OPD_DATA_OFF;
    uint64_t tail = load(u64at(s, OPD_RX_TAIL)), head = load(u64at(s, OPD_RX_HEAD));
    uint64_t n = 0, off = s->rx_off;
    while (tail != head && head - tail <= s->ringsize) {
        struct opd_record rec;
        for (size_t i = 0; i < OPD_RECORD_HDR; i++) ((uint8_t *)&rec)[i] = ring[(tail + i) & (s->ringsize - 1)];
        if (rec.len > OPD_MAX_DGRAM || off > rec.len) break;
        n += rec.len - off;
        off = 0;
        tail += align8(OPD_RECORD_HDR + rec.len);
    }
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* shim_stream_accept asks for a waiting connection: its fds and sid in
 * rep/fds; waits on the listener's eventfd unless non-blocking. */
int shim_stream_accept(struct shim_sock *s, int fd, struct opd_reply *rep, int fds[4])
{
    long ms = tv_ms(&s->rcvtimeo);
    for (;;) {
        uint64_t v;
        ssize_t r = shim_real.read(fd, &v, sizeof(v)); /* before asking: no arrival is missed */
        (void)r;
        struct opd_request req = {.op = OPD_OP_ACCEPT, .sid = s->sid};
        if (shim_call(&req, rep, fds) == 0) return 0;
        if (errno != EAGAIN || s->nonblock) return -1;
        if (wait_fd(s, fd, ms) < 0) return -1;
    }
}
