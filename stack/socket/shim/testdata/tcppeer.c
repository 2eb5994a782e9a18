/* tcppeer: a TCP test program for the shim's acceptance tests, in C so
 * that LD_PRELOAD applies (a Go program makes its own syscalls).
 *
 *   tcppeer server ADDR PORT   accept one connection (non-blocking accept
 *                              first: EAGAIN, then poll), read to EOF,
 *                              answer "got N", shutdown(SHUT_WR), wait
 *                              for the client's close, print "ok N"
 *   tcppeer client ADDR PORT N non-blocking connect (EINPROGRESS, poll,
 *                              SO_ERROR), send N bytes with non-blocking
 *                              writev (on EAGAIN, poll for POLLOUT),
 *                              shutdown(SHUT_WR), print the answer and "ok"
 *   tcppeer pair SRV LOCAL PORT a listener on SRV and a connection to it
 *                              from LOCAL in one process; "ready", then
 *                              it waits to be killed
 *   tcppeer async SRV PORT NOWHERE  a blocking connect to SRV:PORT (no
 *                              listener) fails with ECONNREFUSED; while
 *                              another thread blocks in connect to
 *                              NOWHERE (no such host), this one still
 *                              makes, binds and names a socket
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(1);
}

static socklen_t addr(const char *ip, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        return sizeof(*a4);
    }
    if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        return sizeof(*a6);
    }
    fprintf(stderr, "bad address %s\n", ip);
    exit(2);
}

static int listener(const char *ip, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = addr(ip, port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0) die("SO_REUSEADDR");
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) die("bind");
    if (listen(fd, 16) < 0) die("listen");
    return fd;
}

static int server(const char *ip, int port)
{
    int lfd = listener(ip, port);
    if (fcntl(lfd, F_SETFL, O_NONBLOCK) < 0) die("fcntl");
    printf("ready\n");
    fflush(stdout);
    int fd = accept(lfd, NULL, NULL);
    if (fd >= 0 || errno != EAGAIN) {
        fprintf(stderr, "non-blocking accept with nothing waiting: %d, %s\n", fd, strerror(errno));
        return 1;
    }
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, 10000) != 1) die("poll for a connection");
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
    if (fd < 0) die("accept4");
    long total = 0;
    char buf[70000];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) die("read");
        if (n == 0) break;
        total += n;
    }
    char msg[64];
    int m = snprintf(msg, sizeof(msg), "got %ld\n", total);
    if (send(fd, msg, m, 0) != m) die("send");
    if (shutdown(fd, SHUT_WR) < 0) die("shutdown");
    /* The client closes after our FIN: EOF here. */
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n != 0) {
        fprintf(stderr, "after the exchange: recv %zd, %s\n", n, strerror(errno));
        return 1;
    }
    close(fd);
    close(lfd);
    printf("ok %ld\n", total);
    return 0;
}

static int client(const char *ip, int port, long count)
{
    struct sockaddr_storage ss;
    socklen_t len = addr(ip, port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0) die("TCP_NODELAY");
    if (connect(fd, (struct sockaddr *)&ss, len) == 0 || errno != EINPROGRESS) {
        fprintf(stderr, "non-blocking connect: want EINPROGRESS, got %s\n", strerror(errno));
        return 1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 10000) != 1) die("poll for the connection");
    int err = -1;
    socklen_t elen = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
        fprintf(stderr, "SO_ERROR %d\n", err);
        return 1;
    }
    /* Writable meant connected: the peer is known. */
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) die("getpeername once writable");
    /* Still non-blocking: a full ring answers EAGAIN, and poll reports
     * the fd writable again once the daemon made room. */
    static char a[40000], b[30000];
    memset(a, 'a', sizeof(a));
    memset(b, 'b', sizeof(b));
    long sent = 0;
    while (sent < count) {
        struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
        long left = count - sent;
        if (left < (long)sizeof(a)) iov[0].iov_len = left, iov[1].iov_len = 0;
        else if (left < (long)(sizeof(a) + sizeof(b))) iov[1].iov_len = left - sizeof(a);
        ssize_t n = writev(fd, iov, 2);
        if (n < 0 && errno == EAGAIN) {
            struct pollfd w = {.fd = fd, .events = POLLOUT};
            if (poll(&w, 1, 10000) != 1 || !(w.revents & POLLOUT)) die("poll for room");
            continue;
        }
        if (n <= 0) die("writev");
        sent += n;
    }
    if (fcntl(fd, F_SETFL, 0) < 0) die("fcntl");
    if (shutdown(fd, SHUT_WR) < 0) die("shutdown");
    char buf[256];
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (n < 0) die("recv");
        if (n == 0) break;
        got += n;
    }
    buf[got] = 0;
    printf("%sok\n", buf);
    close(fd);
    return 0;
}

static int pair(const char *srv, const char *local, int port)
{
    int lfd = listener(srv, port);
    struct sockaddr_storage ss, ls;
    socklen_t len = addr(srv, port, &ss), llen = addr(local, 0, &ls);
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (bind(fd, (struct sockaddr *)&ls, llen) < 0) die("bind");
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) die("connect");
    int afd = accept(lfd, NULL, NULL);
    if (afd < 0) die("accept");
    if (write(fd, "x", 1) != 1) die("write");
    printf("ready\n");
    fflush(stdout);
    pause();
    return 0;
}

static struct sockaddr_storage nowhere;
static socklen_t nowhere_len;

static void *connect_nowhere(void *arg)
{
    (void)arg;
    int fd = socket(nowhere.ss_family, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    connect(fd, (struct sockaddr *)&nowhere, nowhere_len); /* blocks: nobody answers */
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int async(const char *srv, int port, const char *far)
{
    struct sockaddr_storage ss;
    socklen_t len = addr(srv, port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&ss, len) == 0 || errno != ECONNREFUSED) {
        fprintf(stderr, "connect to a port nobody listens on: %s\n", strerror(errno));
        return 1;
    }
    close(fd);
    nowhere_len = addr(far, 80, &nowhere);
    pthread_t th;
    pthread_create(&th, NULL, connect_nowhere, NULL);
    struct timespec pause_ts = {0, 300 * 1000 * 1000};
    nanosleep(&pause_ts, NULL); /* the other thread is in connect by now */
    double t0 = now();
    int u = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (u < 0) die("socket while another connects");
    struct sockaddr_storage any, got;
    socklen_t alen = addr(srv, 0, &any), glen = sizeof(got);
    if (bind(u, (struct sockaddr *)&any, alen) < 0) die("bind while another connects");
    if (getsockname(u, (struct sockaddr *)&got, &glen) < 0) die("getsockname while another connects");
    double took = now() - t0;
    if (took > 1.0) {
        fprintf(stderr, "control calls took %.3f s while another thread connected\n", took);
        return 1;
    }
    printf("ok\n");
    fflush(stdout);
    _exit(0); /* the connecting thread is still blocked */
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "async") == 0) return async(argv[2], atoi(argv[3]), argv[4]);
    if (argc == 4 && strcmp(argv[1], "server") == 0) return server(argv[2], atoi(argv[3]));
    if (argc == 5 && strcmp(argv[1], "client") == 0) return client(argv[2], atoi(argv[3]), atol(argv[4]));
    if (argc == 5 && strcmp(argv[1], "pair") == 0) return pair(argv[2], argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: tcppeer server ADDR PORT | client ADDR PORT BYTES | pair SRV LOCAL PORT | async SRV PORT NOWHERE\n");
    return 2;
}
