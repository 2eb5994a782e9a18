/* Internal declarations of libopenperfd-shim.so. */
#ifndef OPENPERFD_SHIM_H
#define OPENPERFD_SHIM_H

/* Each .c file defines _GNU_SOURCE first (struct mmsghdr, POLLRDHUP, RTLD_NEXT). */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>

#include "proto.h"

/* The libc functions the shim wraps, found with dlsym(RTLD_NEXT). */
struct shim_libc {
    int (*socket)(int, int, int);
    int (*close)(int);
    int (*bind)(int, const struct sockaddr *, socklen_t);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    int (*listen)(int, int);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    int (*shutdown)(int, int);
    int (*getsockname)(int, struct sockaddr *, socklen_t *);
    int (*getpeername)(int, struct sockaddr *, socklen_t *);
    int (*setsockopt)(int, int, int, const void *, socklen_t);
    int (*getsockopt)(int, int, int, void *, socklen_t *);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
    int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    int (*fcntl)(int, int, ...);
    int (*ioctl)(int, unsigned long, ...);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
};

extern struct shim_libc shim_real;

/* One socket served by the daemon. The application's fd is its receive
 * eventfd: poll/select/epoll see it readable while datagrams wait. */
struct shim_sock {
    uint32_t sid;
    int refs; /* the application's fds for it: the receive eventfd and its dups */
    int domain, type, protocol;
    int txfd;
    int spacefd;
    uint8_t *mem;
    size_t memlen;
    uint64_t ringsize;
    int nonblock;
    int connected;
    int attached;
    int recvttl; /* IP_RECVTTL / IPV6_RECVHOPLIMIT asked for */
    int listening;    /* a listening stream */
    int wr_shut;      /* shutdown(SHUT_WR) queued */
    int err_reported; /* a stream's error was returned (SO_ERROR, recv) */
    uint64_t rx_off;  /* bytes of the first rx record already read (streams) */
    struct timeval rcvtimeo, sndtimeo;
    pthread_mutex_t rxlock, txlock; /* one consumer / producer at a time */
};

#define SHIM_MAX_FD 65536

struct shim_sock *shim_lookup(int fd);
int shim_sockets(struct shim_sock **out, int max);
void shim_ctl_init(void);

/* control.c */
int shim_ctl_fd(void);
int shim_call(struct opd_request *req, struct opd_reply *rep, int fds[4]);

/* ring.c */
ssize_t shim_ring_send(struct shim_sock *s, int fd, const struct msghdr *msg, int flags);
ssize_t shim_ring_recv(struct shim_sock *s, int fd, struct msghdr *msg, int flags);
int shim_ring_next_len(struct shim_sock *s);
void shim_settle(struct shim_sock *s, int fd);

/* stream.c */
uint32_t shim_stream_state(struct shim_sock *s, int *err);
int shim_stream_wait_connected(struct shim_sock *s, int fd);
void shim_stream_connecting(struct shim_sock *s, int fd);
ssize_t shim_stream_send(struct shim_sock *s, int fd, const struct msghdr *msg, int flags);
ssize_t shim_stream_recv(struct shim_sock *s, int fd, struct msghdr *msg, int flags);
int shim_stream_shutdown_wr(struct shim_sock *s);
int shim_stream_readable(struct shim_sock *s);
int shim_stream_accept(struct shim_sock *s, int fd, struct opd_reply *rep, int fds[4]);

#endif
