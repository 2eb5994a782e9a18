/* The control connection to openperfd's socket server: one per process,
 * one request and one reply at a time. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static int ctl_fd = -1;
static pid_t ctl_pid; /* the process that opened ctl_fd: a forked child opens its own */

/* The daemon's address, worked out once when the shim loads: a program
 * may clear its environment later (nginx's workers run with almost none)
 * and still need to reconnect. */
static struct sockaddr_un ctl_addr;
static int ctl_addr_ok;

/* The prefix: ours, or OpenPerf's variable. */
static const char *prefix(void)
{
    const char *p = getenv("OPENPERFD_PREFIX");
    if (p == NULL || *p == '\0') p = getenv("OP_PREFIX");
    return (p != NULL && *p != '\0') ? p : NULL;
}

static void ctl_addr_init(void)
{
    struct sockaddr_un *sa = &ctl_addr;
    const char *p = prefix();
    const char *dir = getenv("OPENPERFD_SOCKET_DIR");
    if (dir == NULL || *dir == '\0') dir = OPD_SOCKET_DIR;
    sa->sun_family = AF_UNIX;
    int n = p ? snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s.%s", dir, OPD_SERVER_NAME, p)
              : snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir, OPD_SERVER_NAME);
    ctl_addr_ok = n >= 0 && (size_t)n < sizeof(sa->sun_path);
}

static int ctl_connect(void)
{
    struct sockaddr_un sa = ctl_addr;
    if (!ctl_addr_ok) return -1;
    int fd = shim_real.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (shim_real.connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        static int warned;
        if (!warned) {
            warned = 1;
            fprintf(stderr, "libopenperfd-shim: cannot reach openperfd at %s: %s\n", sa.sun_path, strerror(errno));
        }
        shim_real.close(fd);
        return -1;
    }
    return fd;
}

/* shim_ctl_fd is the control connection for a blocking wait to watch: the
 * daemon dying hangs it up. -1 if none (read without the lock: a stale
 * value only costs a missed or spurious hang-up check). */
int shim_ctl_fd(void)
{
    return __atomic_load_n(&ctl_fd, __ATOMIC_RELAXED);
}

/* exchange sends one request on fd and reads its reply, fds as
 * shim_call's: 0, or -1 if the connection broke. */
static int exchange(int fd, struct opd_request *req, struct opd_reply *rep, int fds[4])
{
    ssize_t n;
    do {
        n = shim_real.send(fd, req, sizeof(*req), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(*req)) return -1;

    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } cbuf;
    struct iovec iov = {.iov_base = rep, .iov_len = sizeof(*rep)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf)};
    do {
        n = shim_real.recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(*rep)) return -1;
    if (fds) fds[0] = fds[1] = fds[2] = fds[3] = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *p = (int *)CMSG_DATA(c);
        for (int i = 0; i < k; i++) {
            if (fds && i < 4)
                fds[i] = p[i];
            else
                shim_real.close(p[i]);
        }
    }
    if (rep->len > OPD_DATA_MAX) rep->len = OPD_DATA_MAX;
    return 0;
}

/* shim_call sends one request and waits for its reply; fds receives the
 * descriptors a reply carries (-1 where none). It returns 0, or -1 with
 * errno set: the daemon's error, or ENETDOWN without a daemon. */
int shim_call(struct opd_request *req, struct opd_reply *rep, int fds[4])
{
    int saved = errno;
    pthread_mutex_lock(&ctl_lock);
    if (ctl_fd >= 0 && ctl_pid != getpid()) {
        /* A child the fork handlers did not see (vfork, clone, or a
         * daemon that was away at fork): the parent keeps using the
         * inherited connection; the child gets its own. */
        shim_real.close(ctl_fd);
        ctl_fd = -1;
    }
    if (ctl_fd < 0) {
        ctl_fd = ctl_connect();
        ctl_pid = getpid();
        if (ctl_fd < 0) {
            pthread_mutex_unlock(&ctl_lock);
            errno = ENETDOWN;
            return -1;
        }
    }
    if (exchange(ctl_fd, req, rep, fds) < 0) {
        shim_real.close(ctl_fd);
        ctl_fd = -1;
        pthread_mutex_unlock(&ctl_lock);
        errno = ENETDOWN;
        return -1;
    }
    pthread_mutex_unlock(&ctl_lock);
    if (rep->err != 0) {
        errno = rep->err;
        return -1;
    }
    errno = saved;
    return 0;
}

/*
 * fork: the child inherits the parent's socket fds, so it must be able
 * to make control calls on them (nginx's workers accept on the master's
 * listener), and a socket must last until the last process holding it
 * lets go. Before fork the parent opens the child's control connection
 * and makes it hold every socket of the process (OP_HOLD, with the token
 * only a process mapping the socket's memory knows); after fork the
 * parent closes its copy and the child takes it as its own. The daemon
 * then sees one more holder per socket, released when the child closes
 * its fd or its connection drops (exit, crash, exec), so a child that
 * dies never leaks a socket. The control lock is held across fork so no
 * other thread's call is half-way on the connection the child inherits.
 */
static int fork_fd = -1;

#define SHIM_MAX_HOLD 1024

static void fork_prepare(void)
{
    static struct shim_sock *socks[SHIM_MAX_HOLD]; /* under ctl_lock */
    int saved = errno;
    pthread_mutex_lock(&ctl_lock);
    fork_fd = -1;
    int n = shim_sockets(socks, SHIM_MAX_HOLD);
    if (n == 0) goto out;
    int fd = ctl_connect();
    if (fd < 0) goto out; /* no daemon: the child's calls on these sockets fail (EBADF) */
    for (int i = 0; i < n; i++) {
        struct opd_request req = {.op = OPD_OP_HOLD, .sid = socks[i]->sid, .len = OPD_TOKEN_LEN};
        struct opd_reply rep;
        memcpy(req.data, socks[i]->mem + OPD_TOKEN, OPD_TOKEN_LEN);
        /* A socket the daemon closed (EBADF) is simply not held. */
        if (exchange(fd, &req, &rep, NULL) < 0) {
            shim_real.close(fd);
            goto out;
        }
    }
    fork_fd = fd;
out:
    errno = saved;
}

static void fork_parent(void)
{
    if (fork_fd >= 0) shim_real.close(fork_fd);
    fork_fd = -1;
    pthread_mutex_unlock(&ctl_lock);
}

static void fork_child(void)
{
    if (fork_fd >= 0) {
        if (ctl_fd >= 0) shim_real.close(ctl_fd); /* the parent's; its copy stays open */
        ctl_fd = fork_fd;
        ctl_pid = getpid();
        fork_fd = -1;
        /* So /sockets shows the child's pid for the sockets it makes. */
        int saved = errno;
        struct opd_request req = {.op = OPD_OP_HELLO, .a = (int32_t)ctl_pid};
        struct opd_reply rep;
        if (exchange(ctl_fd, &req, &rep, NULL) < 0) {
            shim_real.close(ctl_fd); /* its next call reconnects */
            ctl_fd = -1;
        }
        errno = saved;
    }
    pthread_mutex_unlock(&ctl_lock);
}

void shim_ctl_init(void)
{
    ctl_addr_init();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}
