/*
 * The wire format between libopenperfd-shim.so and openperfd's socket
 * server. stack/socket/proto.go mirrors it; change both together.
 *
 * Control: one SOCK_SEQPACKET unix connection per client process, one
 * fixed-size request and one fixed-size reply per call. A socket lasts
 * while any connection holds it: its creator's, and each forked child's
 * (the parent opens the child's connection before fork and holds its
 * sockets on it with OP_HOLD). The reply to
 * OP_SOCKET carries four fds (SCM_RIGHTS): the shared memory (memfd),
 * the receive eventfd (becomes the application's socket fd), the
 * transmit eventfd (wakes the daemon) and the space eventfd (wakes a
 * client waiting for room in a full transmit ring).
 *
 * Data: per socket, two SPSC rings of datagram records in the memfd:
 * rx (daemon produces, client consumes) and tx (client produces, daemon
 * consumes). Indexes are free-running byte counts. A stream socket's
 * records carry bytes without addresses; a reader may consume a record
 * in part (the shim keeps its offset).
 */
#ifndef OPENPERFD_SHIM_PROTO_H
#define OPENPERFD_SHIM_PROTO_H

#include <stdint.h>

#define OPD_SOCKET_DIR "/tmp/.com.spirent.openperf"
#define OPD_SERVER_NAME "server"

enum opd_op {
    OPD_OP_SOCKET = 1,      /* a=domain b=type c=protocol */
    OPD_OP_CLOSE = 2,
    OPD_OP_BIND = 3,        /* data=sockaddr */
    OPD_OP_CONNECT = 4,     /* data=sockaddr (AF_UNSPEC disconnects) */
    OPD_OP_ATTACH = 5,      /* data=sockaddr: pick an interface for this destination */
    OPD_OP_GETSOCKNAME = 6,
    OPD_OP_GETPEERNAME = 7,
    OPD_OP_SETSOCKOPT = 8,  /* a=level b=name data=value */
    OPD_OP_GETSOCKOPT = 9,  /* a=level b=name c=buffer length */
    OPD_OP_SHUTDOWN = 10,   /* a=how */
    OPD_OP_LISTEN = 11,     /* a=backlog */
    OPD_OP_ACCEPT = 12,     /* reply: a new socket's four fds as OP_SOCKET's, data=peer sockaddr */
    OPD_OP_HOLD = 13,       /* data=the socket's 8-byte token (OPD_TOKEN): this connection holds the
                             * socket too (a forked child's, opened by the parent before fork) */
    OPD_OP_HELLO = 14,      /* a=pid: a forked child now uses the connection its parent opened
                             * (the daemon checks the pid is a child of the connection's) */
};

#define OPD_DATA_MAX 256

struct opd_request {
    uint32_t op;
    uint32_t sid;
    int32_t a, b, c;
    uint32_t len;
    uint8_t data[OPD_DATA_MAX];
};

struct opd_reply {
    int32_t err; /* 0 or an errno */
    uint32_t sid;
    int32_t val;
    uint32_t len;
    uint8_t data[OPD_DATA_MAX];
};

/* Shared memory layout. */
#define OPD_RX_HEAD 0    /* uint64, written by the daemon */
#define OPD_RX_TAIL 64   /* uint64, written by the client */
#define OPD_TX_HEAD 128  /* uint64, written by the client */
#define OPD_TX_TAIL 192  /* uint64, written by the daemon */
#define OPD_RING_SIZE 256 /* uint32, each ring's data size (power of two) */
#define OPD_MAGIC 260    /* uint32 */
#define OPD_TX_WAITING 264 /* uint32: the client waits for room in the tx ring */
#define OPD_CLOSED 268   /* uint32, set by the daemon: the socket is gone (daemon stopped) */
#define OPD_STATE 272    /* uint32, a stream's connection state (OPD_STATE_*), set by the daemon */
#define OPD_ERR 276      /* uint32, the errno of OPD_STATE_ERROR */
#define OPD_RX_WAITING 280 /* uint32: the daemon waits for room in a stream's rx ring; the
                            * client that makes room clears it and writes the tx eventfd */
#define OPD_TX_FULL 284    /* uint32: the client found the tx ring full and set its fd's
                            * eventfd counter to the maximum (not writable); whoever clears
                            * this flag reads the eventfd and re-arms it if rx data waits */
#define OPD_TOKEN 288      /* uint64, set by the daemon: the secret OP_HOLD presents */
#define OPD_TOKEN_LEN 8
#define OPD_STATE_IDLE 0
#define OPD_STATE_CONNECTING 1
#define OPD_STATE_CONNECTED 2
#define OPD_STATE_ERROR 3
#define OPD_MAGIC_VALUE 0x6f706431u
#define OPD_DATA_OFF 4096 /* rx data, then tx data */

/* A record: header then payload, padded to 8 bytes; may wrap. */
struct opd_record {
    uint32_t len;     /* payload bytes */
    uint16_t addrlen; /* 0: none (tx: the connected peer) */
    uint16_t flags;   /* OPD_FLAG_TTL: the low byte is the TTL / hop limit */
    uint8_t addr[28]; /* sockaddr_in or sockaddr_in6 */
    uint32_t pad;
};

#define OPD_FLAG_TTL 0x100
/* A stream record of no bytes: rx, the peer's FIN (or the end after an
 * error); tx, shutdown(SHUT_WR), in band behind the queued bytes. */
#define OPD_FLAG_EOF 0x200
#define OPD_RECORD_HDR 40
#define OPD_MAX_DGRAM 65535

#endif
