/*
 * udppeer: a small UDP program for the shim's acceptance tests, run
 * unmodified under LD_PRELOAD=libopenperfd-shim.so.
 *
 *   udppeer server ADDR PORT COUNT   bind, echo COUNT datagrams back (poll on the socket and stdin)
 *   udppeer eserver ADDR PORT COUNT  the same with epoll
 *   udppeer client ADDR PORT COUNT   send COUNT datagrams (sendto, then connect+send), wait for each echo
 *                                    (non-blocking socket, select, on a dup of the socket), check them
 *   udppeer hold ADDR PORT           bind, say "ready", sleep until killed
 *   udppeer wait ADDR PORT           bind, say "ready", block in recv; print its error when it fails
 *   udppeer sink ADDR PORT COUNT     bind, count datagrams until COUNT or 2 s without one; print count and rate
 *   udppeer blast ADDR PORT COUNT    send COUNT 64-byte datagrams as fast as the socket takes them; print the rate
 *   udppeer nblast ADDR PORT COUNT   the same with 1400 bytes from a non-blocking socket: on EAGAIN, note whether
 *                                    poll says not writable at once, then poll for POLLOUT (2 s at most)
 *
 * Prints "ready" when bound and "ok" on success; exits 1 on a failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "udppeer: %s: %s\n", what, strerror(errno));
    exit(1);
}

static socklen_t parse(const char *addr, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        return sizeof(*in4);
    }
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return sizeof(*in6);
    }
    fprintf(stderr, "udppeer: bad address %s\n", addr);
    exit(2);
}

/* wait_readable waits until fd or stdin is readable: 1 for fd, 0 for
 * stdin (the test ended), with poll or with epoll. */
static int wait_readable(int fd, int use_epoll)
{
    if (!use_epoll) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
        if (poll(p, 2, 10000) <= 0) die("poll");
        if (p[1].revents & (POLLIN | POLLHUP)) return 0;
        return (p[0].revents & POLLIN) != 0;
    }
    static int ep = -1;
    if (ep < 0) {
        ep = epoll_create1(0);
        struct epoll_event e1 = {.events = EPOLLIN, .data.fd = fd}, e0 = {.events = EPOLLIN, .data.fd = 0};
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e1) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &e0) < 0)
            die("epoll");
    }
    struct epoll_event ev[2];
    int n = epoll_wait(ep, ev, 2, 10000);
    if (n <= 0) die("epoll_wait");
    for (int i = 0; i < n; i++)
        if (ev[i].data.fd == 0) return 0;
    return 1;
}

static int server(struct sockaddr_storage *ss, socklen_t len, int count, int use_epoll)
{
    int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) die("setsockopt");
    if (bind(fd, (struct sockaddr *)ss, len) < 0) die("bind");
    printf("ready\n");
    fflush(stdout);
    char buf[2048];
    for (int i = 0; i < count;) {
        int r = wait_readable(fd, use_epoll);
        if (r == 0) {
            fprintf(stderr, "udppeer: stdin closed\n");
            return 1;
        }
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
        if (n < 0 && errno == EAGAIN) continue;
        if (n < 0) die("recvfrom");
        if (sendto(fd, buf, n, 0, (struct sockaddr *)&from, flen) != n) die("sendto");
        i++;
    }
    printf("ok\n");
    fflush(stdout);
    return close(fd) == 0 ? 0 : 1;
}

static int client(struct sockaddr_storage *ss, socklen_t len, int count)
{
    int fd = socket(ss->ss_family, SOCK_DGRAM, IPPROTO_UDP);
    if (fd < 0) die("socket");
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
    if (!(fcntl(fd, F_GETFL) & O_NONBLOCK)) {
        fprintf(stderr, "udppeer: O_NONBLOCK did not stick\n");
        return 1;
    }
    /* Work on a duplicate: the socket lives on while one of its fds does. */
    int dupfd = dup(fd);
    if (dupfd < 0 || close(fd) < 0) die("dup");
    fd = dupfd;
    if (!(fcntl(fd, F_GETFL) & O_NONBLOCK)) {
        fprintf(stderr, "udppeer: the duplicate is not non-blocking\n");
        return 1;
    }
    char buf[2048], got[2048];
    for (int i = 0; i < count; i++) {
        int n = snprintf(buf, sizeof(buf), "datagram %d from udppeer", i);
        if (i == count / 2 && connect(fd, (struct sockaddr *)ss, len) < 0) die("connect");
        ssize_t w;
        if (i == 0) { /* the batch call, as glibc's resolver uses it */
            struct iovec iov = {.iov_base = buf, .iov_len = n};
            struct mmsghdr m = {.msg_hdr = {.msg_name = ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1}};
            w = sendmmsg(fd, &m, 1, 0) == 1 ? (ssize_t)m.msg_len : -1;
        } else {
            w = i < count / 2 ? sendto(fd, buf, n, 0, (struct sockaddr *)ss, len) : send(fd, buf, n, 0);
        }
        if (w != n) die("send");
        fd_set r;
        FD_ZERO(&r);
        FD_SET(fd, &r);
        struct timeval tv = {.tv_sec = 5};
        if (select(fd + 1, &r, NULL, NULL, &tv) != 1) die("select: no echo");
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t m;
        if (i == count - 1) {
            struct iovec iov = {.iov_base = got, .iov_len = sizeof(got)};
            struct mmsghdr mm[4] = {{.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}}};
            for (int k = 1; k < 4; k++) mm[k] = mm[0];
            m = recvmmsg(fd, mm, 4, MSG_WAITFORONE, NULL) == 1 ? (ssize_t)mm[0].msg_len : -1;
        } else {
            m = recvfrom(fd, got, sizeof(got), 0, (struct sockaddr *)&from, &flen);
        }
        if (m != n || memcmp(buf, got, n) != 0) {
            fprintf(stderr, "udppeer: echo %d: got %zd bytes\n", i, m);
            return 1;
        }
    }
    struct sockaddr_storage local;
    socklen_t llen = sizeof(local);
    if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0) die("getsockname");
    char name[64];
    void *a = local.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&local)->sin_addr
                                         : (void *)&((struct sockaddr_in6 *)&local)->sin6_addr;
    inet_ntop(local.ss_family, a, name, sizeof(name));
    printf("local %s\nok\n", name);
    fflush(stdout);
    return close(fd) == 0 ? 0 : 1;
}

static int hold(struct sockaddr_storage *ss, socklen_t len)
{
    int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    if (bind(fd, (struct sockaddr *)ss, len) < 0) die("bind");
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
    return 0;
}

static int wait_recv(struct sockaddr_storage *ss, socklen_t len)
{
    int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    if (bind(fd, (struct sockaddr *)ss, len) < 0) die("bind");
    printf("ready\n");
    fflush(stdout);
    char buf[64];
    if (recv(fd, buf, sizeof(buf), 0) >= 0) {
        printf("received\n");
        return 0;
    }
    printf("recv: %s\n", strerror(errno));
    return 3;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int sink(struct sockaddr_storage *ss, socklen_t len, int count)
{
    int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    struct timeval tv = {.tv_sec = 2};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) die("setsockopt");
    if (bind(fd, (struct sockaddr *)ss, len) < 0) die("bind");
    printf("ready\n");
    fflush(stdout);
    char buf[2048];
    int got = 0;
    double t0 = 0, t1 = 0;
    while (got < count) {
        if (recv(fd, buf, sizeof(buf), 0) < 0) break; /* 2 s without a datagram */
        t1 = now();
        if (got++ == 0) t0 = t1;
    }
    printf("received %d in %.3f s: %.0f datagrams/s\n", got, t1 - t0, got > 1 ? (got - 1) / (t1 - t0) : 0);
    return 0;
}

static int blast(struct sockaddr_storage *ss, socklen_t len, int count)
{
    int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)ss, len) < 0) die("connect");
    char buf[64] = "blast";
    double t0 = now();
    for (int i = 0; i < count; i++)
        if (send(fd, buf, sizeof(buf), 0) != sizeof(buf)) die("send");
    double t = now() - t0;
    printf("sent %d in %.3f s: %.0f datagrams/s\n", count, t, count / t);
    return close(fd) == 0 ? 0 : 1;
}

static int nblast(struct sockaddr_storage *ss, socklen_t len, int count)
{
    int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)ss, len) < 0) die("connect");
    char buf[1400] = "nblast";
    int eagain = 0, unwritable = 0;
    for (int i = 0; i < count;) {
        if (send(fd, buf, sizeof(buf), 0) == sizeof(buf)) {
            i++;
            continue;
        }
        if (errno != EAGAIN) die("send");
        eagain++;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, 0) == 0) unwritable++;
        p.revents = 0;
        if (poll(&p, 1, 2000) != 1 || !(p.revents & POLLOUT)) {
            fprintf(stderr, "udppeer: not writable 2 s after EAGAIN (%d sent)\n", i);
            return 1;
        }
    }
    printf("sent %d eagain %d unwritable %d\n", count, eagain, unwritable);
    return close(fd) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: udppeer server|client|hold ADDR PORT [COUNT]\n");
        return 2;
    }
    struct sockaddr_storage ss;
    socklen_t len = parse(argv[2], atoi(argv[3]), &ss);
    int count = argc > 4 ? atoi(argv[4]) : 1;
    if (strcmp(argv[1], "server") == 0) return server(&ss, len, count, 0);
    if (strcmp(argv[1], "eserver") == 0) return server(&ss, len, count, 1);
    if (strcmp(argv[1], "client") == 0) return client(&ss, len, count);
    if (strcmp(argv[1], "hold") == 0) return hold(&ss, len);
    if (strcmp(argv[1], "wait") == 0) return wait_recv(&ss, len);
    if (strcmp(argv[1], "sink") == 0) return sink(&ss, len, count);
    if (strcmp(argv[1], "blast") == 0) return blast(&ss, len, count);
    if (strcmp(argv[1], "nblast") == 0) return nblast(&ss, len, count);
    return 2;
}
