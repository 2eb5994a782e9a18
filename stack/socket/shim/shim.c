/*
 * libopenperfd-shim.so: loaded with LD_PRELOAD, it serves a program's
 * IPv4/IPv6 sockets (UDP, ICMP echo "ping" sockets, TCP) from
 * openperfd's emulated interfaces. Everything else (kernel fds, unix
 * sockets, raw sockets) goes to libc untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define EXPORT __attribute__((visibility("default")))

struct shim_libc shim_real;
static struct shim_sock *table[SHIM_MAX_FD];
static int live; /* sockets in the table: fork looks for them only if there are any */

/* OPENPERFD_BINDTODEVICE / OP_BINDTODEVICE, read once when the shim
 * loads (a program may clear its environment later), as OpenPerf's shim
 * reads OP_BINDTODEVICE once. */
static char bindtodevice_buf[256];
static const char *bindtodevice;
static void bindtodev_init(void);

#define RESOLVE(name) shim_real.name = dlsym(RTLD_NEXT, #name)

__attribute__((constructor)) static void shim_init(void)
{
    RESOLVE(socket); RESOLVE(close); RESOLVE(bind); RESOLVE(connect);
    RESOLVE(listen); RESOLVE(accept); RESOLVE(accept4); RESOLVE(shutdown);
    RESOLVE(getsockname); RESOLVE(getpeername); RESOLVE(setsockopt); RESOLVE(getsockopt);
    RESOLVE(send); RESOLVE(sendto); RESOLVE(sendmsg); RESOLVE(recv); RESOLVE(recvfrom);
    RESOLVE(recvmsg); RESOLVE(sendmmsg); RESOLVE(recvmmsg); RESOLVE(read); RESOLVE(write); RESOLVE(readv); RESOLVE(writev);
    RESOLVE(fcntl); RESOLVE(ioctl); RESOLVE(dup); RESOLVE(dup2); RESOLVE(dup3);
    static int once;
    if (!__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL)) {
        shim_ctl_init();
        bindtodev_init();
    }
}

/* A wrapper may run before the constructor (another library's). */
#define REAL(name) (shim_real.name ? shim_real.name : (shim_init(), shim_real.name))

struct shim_sock *shim_lookup(int fd)
{
    if (fd < 0 || fd >= SHIM_MAX_FD) return NULL;
    return __atomic_load_n(&table[fd], __ATOMIC_ACQUIRE);
}

/* shim_sockets lists the distinct sockets in the table, at most max. */
int shim_sockets(struct shim_sock **out, int max)
{
    int n = 0;
    if (__atomic_load_n(&live, __ATOMIC_ACQUIRE) == 0) return 0;
    for (int fd = 0; fd < SHIM_MAX_FD && n < max; fd++) {
        struct shim_sock *s = __atomic_load_n(&table[fd], __ATOMIC_ACQUIRE);
        if (s == NULL) continue;
        int seen = 0;
        for (int i = 0; i < n && !seen; i++) seen = out[i] == s;
        if (!seen) out[n++] = s;
    }
    return n;
}

static const char *env2(const char *ours, const char *openperf)
{
    const char *v = getenv(ours);
    if (v == NULL || *v == '\0') v = getenv(openperf);
    return (v != NULL && *v != '\0') ? v : NULL;
}

static void bindtodev_init(void)
{
    const char *dev = env2("OPENPERFD_BINDTODEVICE", "OP_BINDTODEVICE");
    if (dev == NULL || strlen(dev) >= sizeof(bindtodevice_buf)) return;
    strcpy(bindtodevice_buf, dev);
    bindtodevice = bindtodevice_buf;
}

static int simple_call(struct shim_sock *s, uint32_t op, struct opd_reply *rep)
{
    struct opd_request req = {.op = op, .sid = s->sid};
    return shim_call(&req, rep, NULL);
}

/* forget drops one fd of a socket from the table; with its last fd the
 * socket closes and the shim frees what it holds. The fd itself is the
 * caller's to close. */
static void forget(int fd, struct shim_sock *s)
{
    struct opd_reply rep;
    __atomic_store_n(&table[fd], NULL, __ATOMIC_RELEASE);
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    simple_call(s, OPD_OP_CLOSE, &rep);
    __atomic_sub_fetch(&live, 1, __ATOMIC_ACQ_REL);
    munmap(s->mem, s->memlen);
    REAL(close)(s->txfd);
    REAL(close)(s->spacefd);
    pthread_mutex_destroy(&s->rxlock);
    pthread_mutex_destroy(&s->txlock);
    free(s);
}

static int addr_call(struct shim_sock *s, uint32_t op, const struct sockaddr *sa, socklen_t len)
{
    struct opd_request req = {.op = op, .sid = s->sid};
    struct opd_reply rep;
    if (sa == NULL || len < sizeof(sa_family_t) || len > OPD_DATA_MAX) {
        errno = sa == NULL ? EFAULT : EINVAL;
        return -1;
    }
    memcpy(req.data, sa, len);
    req.len = len;
    return shim_call(&req, &rep, NULL);
}

static int set_bindtodevice(struct shim_sock *s, const void *name, size_t len)
{
    struct opd_request req = {.op = OPD_OP_SETSOCKOPT, .sid = s->sid, .a = SOL_SOCKET, .b = SO_BINDTODEVICE};
    struct opd_reply rep;
    req.len = len > IFNAMSIZ * 8 ? IFNAMSIZ * 8 : len;
    memcpy(req.data, name, req.len);
    return shim_call(&req, &rep, NULL);
}

/* make_sock maps a new socket's memory and records its fd (fds as
 * OP_SOCKET's and OP_ACCEPT's replies carry them); -1 with errno set,
 * the fds closed and the daemon's socket closed, on failure. */
static int make_sock(uint32_t sid, int fds[4], int domain, int type, int protocol)
{
    int memfd = fds[0], fd = fds[1], txfd = fds[2], spacefd = fds[3];
    struct stat st;
    struct shim_sock *s = NULL;
    uint8_t *mem = MAP_FAILED;
    if (memfd < 0 || fd < 0 || txfd < 0 || spacefd < 0 || fstat(memfd, &st) < 0 || st.st_size < OPD_DATA_OFF) goto fail;
    mem = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (mem == MAP_FAILED) goto fail;
    uint32_t ringsize = *(uint32_t *)(mem + OPD_RING_SIZE);
    if (*(uint32_t *)(mem + OPD_MAGIC) != OPD_MAGIC_VALUE || ringsize == 0 || (ringsize & (ringsize - 1)) != 0 ||
        (uint64_t)OPD_DATA_OFF + 2 * (uint64_t)ringsize > (uint64_t)st.st_size || fd >= SHIM_MAX_FD)
        goto fail;
    s = calloc(1, sizeof(*s));
    if (s == NULL) goto fail;
    *s = (struct shim_sock){.sid = sid, .refs = 1, .domain = domain, .type = type & 0xf, .protocol = protocol,
                            .txfd = txfd, .spacefd = spacefd, .mem = mem, .memlen = st.st_size, .ringsize = ringsize,
                            .nonblock = (type & SOCK_NONBLOCK) != 0};
    pthread_mutex_init(&s->rxlock, NULL);
    pthread_mutex_init(&s->txlock, NULL);
    REAL(close)(memfd);
    if (!(type & SOCK_CLOEXEC)) REAL(fcntl)(fd, F_SETFD, 0);
    __atomic_add_fetch(&live, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&table[fd], s, __ATOMIC_RELEASE);
    return fd;
fail:
    if (mem != MAP_FAILED) munmap(mem, st.st_size);
    for (int i = 0; i < 4; i++)
        if (fds[i] >= 0) REAL(close)(fds[i]);
    struct opd_request creq = {.op = OPD_OP_CLOSE, .sid = sid};
    struct opd_reply rep;
    shim_call(&creq, &rep, NULL);
    errno = fd >= SHIM_MAX_FD ? EMFILE : ENOMEM;
    return -1;
}

EXPORT int socket(int domain, int type, int protocol)
{
    if ((domain != AF_INET && domain != AF_INET6) || ((type & 0xf) != SOCK_DGRAM && (type & 0xf) != SOCK_STREAM))
        return REAL(socket)(domain, type, protocol);
    struct opd_request req = {.op = OPD_OP_SOCKET, .a = domain, .b = type, .c = protocol};
    struct opd_reply rep;
    int fds[4];
    if (shim_call(&req, &rep, fds) < 0) return -1;
    int fd = make_sock(rep.sid, fds, domain, type, protocol);
    if (fd < 0) return -1;
    const char *dev = bindtodevice;
    if (dev != NULL && set_bindtodevice(shim_lookup(fd), dev, strlen(dev) + 1) < 0) {
        int e = errno;
        forget(fd, shim_lookup(fd));
        REAL(close)(fd);
        errno = e;
        return -1;
    }
    return fd;
}

EXPORT int close(int fd)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s != NULL) forget(fd, s);
    return REAL(close)(fd);
}

/* adopt records newfd as one more fd of oldfd's socket, if it is one. */
static int adopt(int oldfd, int newfd)
{
    struct shim_sock *s = shim_lookup(oldfd);
    if (newfd < 0 || s == NULL || newfd == oldfd) return newfd;
    if (newfd >= SHIM_MAX_FD) {
        REAL(close)(newfd);
        errno = EMFILE;
        return -1;
    }
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&table[newfd], s, __ATOMIC_RELEASE);
    return newfd;
}

EXPORT int dup(int oldfd)
{
    return adopt(oldfd, REAL(dup)(oldfd));
}

EXPORT int dup2(int oldfd, int newfd)
{
    struct shim_sock *s = shim_lookup(newfd);
    if (s != NULL && oldfd != newfd && shim_lookup(oldfd) != s) forget(newfd, s);
    else if (s != NULL && oldfd != newfd) return newfd; /* both fds of one socket already */
    return adopt(oldfd, REAL(dup2)(oldfd, newfd));
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
    struct shim_sock *s = shim_lookup(newfd);
    if (s != NULL && oldfd != newfd && shim_lookup(oldfd) != s) forget(newfd, s);
    else if (s != NULL && oldfd != newfd) return REAL(fcntl)(newfd, F_SETFD, (flags & O_CLOEXEC) ? FD_CLOEXEC : 0) < 0 ? -1 : newfd;
    return adopt(oldfd, REAL(dup3)(oldfd, newfd, flags));
}

EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(bind)(fd, sa, len);
    if (addr_call(s, OPD_OP_BIND, sa, len) < 0) return -1;
    s->attached = 1;
    return 0;
}

EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(connect)(fd, sa, len);
    if (s->type == SOCK_STREAM) {
        switch (shim_stream_state(s, NULL)) {
        case OPD_STATE_CONNECTING:
            errno = EALREADY;
            return -1;
        case OPD_STATE_CONNECTED:
            errno = EISCONN;
            return -1;
        case OPD_STATE_ERROR:
            errno = EINVAL; /* Linux too: a failed stream cannot connect again */
            return -1;
        }
        if (s->listening) {
            errno = EISCONN;
            return -1;
        }
        if (addr_call(s, OPD_OP_CONNECT, sa, len) == 0) return 0;
        if (errno != EINPROGRESS) return -1;
        s->attached = s->connected = 1;
        if (s->nonblock) {
            shim_stream_connecting(s, fd); /* writable once the outcome is known */
            errno = EINPROGRESS;
            return -1; /* poll for POLLOUT, then SO_ERROR */
        }
        return shim_stream_wait_connected(s, fd);
    }
    if (addr_call(s, OPD_OP_CONNECT, sa, len) < 0) return -1;
    s->attached = 1;
    s->connected = sa->sa_family != AF_UNSPEC;
    return 0;
}

EXPORT int listen(int fd, int backlog)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(listen)(fd, backlog);
    if (s->type != SOCK_STREAM) {
        errno = EOPNOTSUPP;
        return -1;
    }
    if (shim_stream_state(s, NULL) != OPD_STATE_IDLE) {
        errno = EINVAL;
        return -1;
    }
    struct opd_request req = {.op = OPD_OP_LISTEN, .sid = s->sid, .a = backlog};
    struct opd_reply rep;
    if (shim_call(&req, &rep, NULL) < 0) return -1;
    s->attached = s->listening = 1;
    return 0;
}

EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(accept4)(fd, sa, len, flags);
    if (s->type != SOCK_STREAM) {
        errno = EOPNOTSUPP;
        return -1;
    }
    if (!s->listening || (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) {
        errno = EINVAL;
        return -1;
    }
    struct opd_reply rep;
    int fds[4];
    if (shim_stream_accept(s, fd, &rep, fds) < 0) return -1;
    int nfd = make_sock((uint32_t)rep.val, fds, s->domain, SOCK_STREAM | flags, s->protocol);
    if (nfd < 0) return -1;
    struct shim_sock *n = shim_lookup(nfd);
    n->attached = n->connected = 1;
    if (sa != NULL && len != NULL) memcpy(sa, rep.data, rep.len < *len ? rep.len : *len);
    if (len != NULL) *len = rep.len;
    return nfd;
}

EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
    if (shim_lookup(fd) == NULL) return REAL(accept)(fd, sa, len);
    return accept4(fd, sa, len, 0);
}

EXPORT int shutdown(int fd, int how)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(shutdown)(fd, how);
    if (s->type == SOCK_STREAM) {
        if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) {
            errno = EINVAL;
            return -1;
        }
        uint32_t st = shim_stream_state(s, NULL);
        if (st != OPD_STATE_CONNECTED && st != OPD_STATE_CONNECTING) {
            errno = ENOTCONN;
            return -1;
        }
        /* The FIN goes in band, behind the queued bytes. */
        if (how != SHUT_RD) shim_stream_shutdown_wr(s);
        if (how == SHUT_WR) return 0;
        how = SHUT_RD;
    }
    struct opd_request req = {.op = OPD_OP_SHUTDOWN, .sid = s->sid, .a = how};
    struct opd_reply rep;
    return shim_call(&req, &rep, NULL);
}

static int name_call(struct shim_sock *s, uint32_t op, struct sockaddr *sa, socklen_t *len)
{
    struct opd_reply rep;
    if (simple_call(s, op, &rep) < 0) return -1;
    if (sa != NULL && len != NULL) memcpy(sa, rep.data, rep.len < *len ? rep.len : *len);
    if (len != NULL) *len = rep.len;
    return 0;
}

EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(getsockname)(fd, sa, len);
    return name_call(s, OPD_OP_GETSOCKNAME, sa, len);
}

EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(getpeername)(fd, sa, len);
    return name_call(s, OPD_OP_GETPEERNAME, sa, len);
}

EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(setsockopt)(fd, level, name, val, len);
    if (len > 0 && val == NULL) {
        errno = EFAULT;
        return -1;
    }
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
        if (len < sizeof(struct timeval)) {
            errno = EINVAL;
            return -1;
        }
        /* Kept here: the blocking waits happen in the shim. */
        memcpy(name == SO_RCVTIMEO ? &s->rcvtimeo : &s->sndtimeo, val, sizeof(struct timeval));
        return 0;
    }
    if (level == SOL_SOCKET && name == SO_BINDTODEVICE) return set_bindtodevice(s, val, len);
    if (((level == IPPROTO_IP && name == IP_RECVTTL) || (level == IPPROTO_IPV6 && name == IPV6_RECVHOPLIMIT)) &&
        len >= sizeof(int))
        s->recvttl = *(const int *)val != 0;
    struct opd_request req = {.op = OPD_OP_SETSOCKOPT, .sid = s->sid, .a = level, .b = name};
    struct opd_reply rep;
    req.len = len > OPD_DATA_MAX ? OPD_DATA_MAX : len;
    if (req.len > 0) memcpy(req.data, val, req.len);
    return shim_call(&req, &rep, NULL);
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(getsockopt)(fd, level, name, val, len);
    if (val == NULL || len == NULL) {
        errno = EFAULT;
        return -1;
    }
    if (level == SOL_SOCKET && name == SO_ERROR && s->type == SOCK_STREAM) {
        int err, v = 0;
        if (shim_stream_state(s, &err) == OPD_STATE_ERROR && !s->err_reported) {
            v = err; /* reported once, as the kernel clears it */
            s->err_reported = 1;
        }
        size_t n = *len < sizeof(int) ? *len : sizeof(int);
        memcpy(val, &v, n);
        *len = n;
        return 0;
    }
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
        size_t n = *len < sizeof(struct timeval) ? *len : sizeof(struct timeval);
        memcpy(val, name == SO_RCVTIMEO ? &s->rcvtimeo : &s->sndtimeo, n);
        *len = n;
        return 0;
    }
    struct opd_request req = {.op = OPD_OP_GETSOCKOPT, .sid = s->sid, .a = level, .b = name, .c = (int32_t)*len};
    struct opd_reply rep;
    if (shim_call(&req, &rep, NULL) < 0) return -1;
    size_t n = rep.len < *len ? rep.len : *len;
    memcpy(val, rep.data, n);
    *len = n;
    return 0;
}

static ssize_t do_send(struct shim_sock *s, int fd, const struct msghdr *msg, int flags)
{
    if (s->type == SOCK_STREAM) return shim_stream_send(s, fd, msg, flags);
    if (msg->msg_name != NULL && msg->msg_namelen > 0) {
        if (!s->attached) {
            if (addr_call(s, OPD_OP_ATTACH, msg->msg_name, msg->msg_namelen) < 0) return -1;
            s->attached = 1;
        }
    } else if (!s->connected) {
        errno = EDESTADDRREQ;
        return -1;
    }
    return shim_ring_send(s, fd, msg, flags);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(sendmsg)(fd, msg, flags);
    return do_send(s, fd, msg, flags);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa, socklen_t salen)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(sendto)(fd, buf, len, flags, sa, salen);
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {.msg_name = (void *)sa, .msg_namelen = sa ? salen : 0, .msg_iov = &iov, .msg_iovlen = 1};
    return do_send(s, fd, &msg, flags);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(send)(fd, buf, len, flags);
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    return do_send(s, fd, &msg, flags);
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(write)(fd, buf, len);
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    return do_send(s, fd, &msg, 0);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(writev)(fd, iov, n);
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
    return do_send(s, fd, &msg, 0);
}

static ssize_t do_recv(struct shim_sock *s, int fd, struct msghdr *msg, int flags)
{
    if (s->type == SOCK_STREAM) return shim_stream_recv(s, fd, msg, flags);
    return shim_ring_recv(s, fd, msg, flags);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(recvmsg)(fd, msg, flags);
    return do_recv(s, fd, msg, flags);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa, socklen_t *salen)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(recvfrom)(fd, buf, len, flags, sa, salen);
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_name = sa, .msg_namelen = (sa && salen) ? *salen : 0, .msg_iov = &iov, .msg_iovlen = 1};
    if (sa == NULL) msg.msg_name = NULL;
    ssize_t n = do_recv(s, fd, &msg, flags);
    if (n >= 0 && sa != NULL && salen != NULL) *salen = msg.msg_namelen;
    return n;
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(recv)(fd, buf, len, flags);
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    return do_recv(s, fd, &msg, flags);
}

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(read)(fd, buf, len);
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    return do_recv(s, fd, &msg, 0);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(readv)(fd, iov, n);
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
    return do_recv(s, fd, &msg, 0);
}

/* The batch calls, one datagram at a time (glibc's resolver sends its A
 * and AAAA queries with sendmmsg). */
EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(sendmmsg)(fd, v, n, flags);
    unsigned int i;
    for (i = 0; i < n; i++) {
        ssize_t r = do_send(s, fd, &v[i].msg_hdr, flags);
        if (r < 0) return i > 0 ? (int)i : -1;
        v[i].msg_len = (unsigned int)r;
    }
    return (int)i;
}

EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags, struct timespec *timeout)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s == NULL) return REAL(recvmmsg)(fd, v, n, flags, timeout);
    unsigned int i;
    for (i = 0; i < n; i++) {
        /* After the first datagram, take only what is already there. */
        int f = i > 0 && (flags & MSG_WAITFORONE) ? (flags | MSG_DONTWAIT) : flags;
        ssize_t r = do_recv(s, fd, &v[i].msg_hdr, f & ~MSG_WAITFORONE);
        if (r < 0) return i > 0 ? (int)i : -1;
        v[i].msg_len = (unsigned int)r;
    }
    return (int)i;
}

/* The fortified variants glibc's headers pick with _FORTIFY_SOURCE. */
EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    if (len > buflen) abort();
    return recv(fd, buf, len, flags);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *sa,
                              socklen_t *salen)
{
    if (len > buflen) abort();
    return recvfrom(fd, buf, len, flags, sa, salen);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
    if (len > buflen) abort();
    return read(fd, buf, len);
}

static int do_fcntl(int fd, int cmd, unsigned long arg)
{
    struct shim_sock *s = shim_lookup(fd);
    if (s != NULL) {
        if (cmd == F_GETFL) {
            int fl = REAL(fcntl)(fd, F_GETFL);
            if (fl < 0) return fl;
            return (fl & ~O_NONBLOCK) | (s->nonblock ? O_NONBLOCK : 0);
        }
        if (cmd == F_SETFL) {
            /* The eventfd itself stays non-blocking: the shim waits in poll. */
            int r = REAL(fcntl)(fd, F_SETFL, (int)arg | O_NONBLOCK);
            if (r == 0) s->nonblock = (arg & O_NONBLOCK) != 0;
            return r;
        }
        if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) return adopt(fd, REAL(fcntl)(fd, cmd, arg));
    }
    return REAL(fcntl)(fd, cmd, arg);
}

EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return do_fcntl(fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return do_fcntl(fd, cmd, arg);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    struct shim_sock *s = shim_lookup(fd);
    if (s != NULL && arg != NULL) {
        if (req == FIONBIO) {
            s->nonblock = *(int *)arg != 0;
            return 0;
        }
        if (req == FIONREAD) {
            *(int *)arg = s->type == SOCK_STREAM ? shim_stream_readable(s) : shim_ring_next_len(s);
            return 0;
        }
    }
    return REAL(ioctl)(fd, req, arg);
}
