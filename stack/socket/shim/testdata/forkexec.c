/*
 * forkexec: what a shim socket does across fork and exec, for the
 * shim's acceptance tests, run unmodified under LD_PRELOAD.
 *
 *   forkexec fork ADDR PORT  bind a UDP socket, fork; the child makes control
 *                            calls on the inherited socket (getsockname,
 *                            setsockopt, getsockopt), opens a socket of its
 *                            own and reports; the parent
 *                            then closes its fd, prints "ready", the child's
 *                            pid and its report, and waits on stdin; the child
 *                            sleeps until killed, holding the socket
 *   forkexec exec ADDR PORT  bind a UDP socket without SOCK_CLOEXEC and open
 *                            one with it, then exec itself ("after"): in the
 *                            new image the first fd is a plain eventfd (recv
 *                            fails with ENOTSOCK, read gives a counter or
 *                            EAGAIN, poll and close work), the
 *                            second is gone, and a new socket binds ADDR:PORT
 *                            again once the daemon let the old one go; prints
 *                            "ready" and "after ok"
 *
 *   forkexec fserve ADDR PORT COUNT  a forking TCP server: accept COUNT
 *                            connections; for each, fork a child that sends
 *                            "hello from <pid>" and closes, while the parent
 *                            closes its copy at once (the child's must live on)
 *   forkexec fget ADDR PORT  connect, print what arrives until EOF
 *
 * Exits 1 on a failure, with the reason on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "forkexec: %s: %s\n", what, strerror(errno));
    exit(1);
}

static socklen_t parse(const char *addr, int port, struct sockaddr_in *in)
{
    memset(in, 0, sizeof(*in));
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    if (inet_pton(AF_INET, addr, &in->sin_addr) != 1) {
        fprintf(stderr, "forkexec: bad IPv4 address %s\n", addr);
        exit(2);
    }
    return sizeof(*in);
}

static int fork_mode(struct sockaddr_in *sa, socklen_t len)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    if (bind(fd, (struct sockaddr *)sa, len) < 0) die("bind");
    int report[2];
    if (pipe(report) < 0) die("pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        close(report[0]);
        char msg[128];
        struct sockaddr_in got;
        socklen_t glen = sizeof(got);
        int v = 123456, w = 0;
        socklen_t wlen = sizeof(w);
        if (getsockname(fd, (struct sockaddr *)&got, &glen) < 0)
            snprintf(msg, sizeof(msg), "getsockname: %s", strerror(errno));
        else if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) < 0)
            snprintf(msg, sizeof(msg), "setsockopt: %s", strerror(errno));
        else if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &w, &wlen) < 0 || w != v)
            snprintf(msg, sizeof(msg), "getsockopt: %d, %s", w, strerror(errno));
        else if (socket(AF_INET, SOCK_DGRAM, 0) < 0) /* one of its own, kept open */
            snprintf(msg, sizeof(msg), "socket: %s", strerror(errno));
        else
            snprintf(msg, sizeof(msg), "port %d", ntohs(got.sin_port));
        if (write(report[1], msg, strlen(msg)) < 0) _exit(1);
        close(report[1]);
        for (;;) pause(); /* holds the socket until killed */
    }
    close(report[1]);
    char msg[128] = {0};
    ssize_t n = read(report[0], msg, sizeof(msg) - 1);
    if (n <= 0) die("the child's report");
    if (close(fd) < 0) die("close");
    printf("ready\n%d %s\n", (int)pid, msg);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}

static int exec_mode(const char *self, struct sockaddr_in *sa, socklen_t len, char **argv)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    if (bind(fd, (struct sockaddr *)sa, len) < 0) die("bind");
    int cfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (cfd < 0) die("socket with SOCK_CLOEXEC");
    char a[16], b[16];
    snprintf(a, sizeof(a), "%d", fd);
    snprintf(b, sizeof(b), "%d", cfd);
    char *args[] = {(char *)self, "after", argv[2], argv[3], a, b, NULL};
    execv("/proc/self/exe", args);
    die("exec");
    return 1;
}

static int after_mode(struct sockaddr_in *sa, socklen_t len, int fd, int cfd)
{
    char buf[64];
    /* The fd that survived exec: the new image's shim does not know it,
     * so libc sees what it is, an eventfd. */
    if (fcntl(fd, F_GETFD) < 0) die("the surviving fd is gone");
    if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno != ENOTSOCK) {
        fprintf(stderr, "forkexec: recv on the surviving fd: %s, want ENOTSOCK\n", strerror(errno));
        return 1;
    }
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    if (r != sizeof(v) && !(r < 0 && errno == EAGAIN)) {
        fprintf(stderr, "forkexec: read on the surviving fd: %zd, %s\n", r, strerror(errno));
        return 1;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    if (poll(&p, 1, 0) < 0) die("poll on the surviving fd");
    if (close(fd) < 0) die("close of the surviving fd");
    if (fcntl(cfd, F_GETFD) >= 0 || errno != EBADF) {
        fprintf(stderr, "forkexec: the SOCK_CLOEXEC fd %d survived exec\n", cfd);
        return 1;
    }
    /* The old image's control connection closed at exec, and with it the
     * old socket: the port binds again (the daemon may take a moment). */
    int nfd = socket(AF_INET, SOCK_DGRAM, 0);
    if (nfd < 0) die("socket after exec");
    for (int i = 0;; i++) {
        if (bind(nfd, (struct sockaddr *)sa, len) == 0) break;
        if (errno != EADDRINUSE || i == 200) die("bind after exec");
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    printf("ready\nafter ok\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}

static int fserve(struct sockaddr_in *sa, socklen_t len, int count)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0) die("socket");
    if (bind(l, (struct sockaddr *)sa, len) < 0) die("bind");
    if (listen(l, 16) < 0) die("listen");
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < count; i++) {
        int c = accept(l, NULL, NULL);
        if (c < 0) die("accept");
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            close(l);
            /* Let the parent's close land first: the socket must not
             * go with it. */
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            char msg[64];
            int n = snprintf(msg, sizeof(msg), "hello from %d\n", (int)getpid());
            if (send(c, msg, n, 0) != n) die("child send");
            if (close(c) < 0) die("child close");
            _exit(0);
        }
        if (close(c) < 0) die("parent close");
    }
    for (int i = 0; i < count; i++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "forkexec: a child failed\n");
            return 1;
        }
    }
    printf("served %d\n", count);
    fflush(stdout);
    return close(l) == 0 ? 0 : 1;
}

static int fget(struct sockaddr_in *sa, socklen_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)sa, len) < 0) die("connect");
    char buf[256];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) fwrite(buf, 1, n, stdout);
    if (n < 0) die("recv");
    return close(fd) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: forkexec fork|exec ADDR PORT\n");
        return 2;
    }
    struct sockaddr_in sa;
    socklen_t len = parse(argv[2], atoi(argv[3]), &sa);
    if (strcmp(argv[1], "fork") == 0) return fork_mode(&sa, len);
    if (strcmp(argv[1], "exec") == 0) return exec_mode(argv[0], &sa, len, argv);
    if (strcmp(argv[1], "fserve") == 0 && argc == 5) return fserve(&sa, len, atoi(argv[4]));
    if (strcmp(argv[1], "fget") == 0) return fget(&sa, len);
    if (strcmp(argv[1], "after") == 0 && argc == 6) return after_mode(&sa, len, atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "forkexec: unknown mode %s\n", argv[1]);
    return 2;
}
