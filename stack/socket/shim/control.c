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

/* The prefix: ours, or OpenPerf's variable. */
static const char *prefix(void)
{
    const char *p = getenv("OPENPERFD_PREFIX");
    if (p == NULL || *p == '\0') p = getenv("OP_PREFIX");
    return (p != NULL && *p != '\0') ? p : NULL;
}

static int ctl_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *p = prefix();
    const char *dir = getenv("OPENPERFD_SOCKET_DIR");
    if (dir == NULL || *dir == '\0') dir = OPD_SOCKET_DIR;
    int n = p ? snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.%s", dir, OPD_SERVER_NAME, p)
              : snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, OPD_SERVER_NAME);
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) return -1;
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

/* shim_call sends one request and waits for its reply; fds receives the
 * descriptors a reply carries (-1 where none). It returns 0, or -1 with
 * errno set: the daemon's error, or ENETDOWN without a daemon. */
int shim_call(struct opd_request *req, struct opd_reply *rep, int fds[4])
{
    int saved = errno;
    pthread_mutex_lock(&ctl_lock);
    if (ctl_fd >= 0 && ctl_pid != getpid()) {
        /* A forked child: the parent keeps using the inherited
         * connection; the child gets its own. */
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
    ssize_t n;
    do {
        n = shim_real.send(ctl_fd, req, sizeof(*req), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(*req)) goto broken;

    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } cbuf;
    struct iovec iov = {.iov_base = rep, .iov_len = sizeof(*rep)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf)};
    do {
        n = shim_real.recvmsg(ctl_fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(*rep)) goto broken;
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
    pthread_mutex_unlock(&ctl_lock);
    if (rep->len > OPD_DATA_MAX) rep->len = OPD_DATA_MAX;
    if (rep->err != 0) {
        errno = rep->err;
        return -1;
    }
    errno = saved;
    return 0;

broken:
    shim_real.close(ctl_fd);
    ctl_fd = -1;
    pthread_mutex_unlock(&ctl_lock);
    errno = ENETDOWN;
    return -1;
}
