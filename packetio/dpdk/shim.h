/* C side of packetio/dpdk: the few DPDK calls Go makes, shaped so that a
 * burst crosses the cgo boundary once and no Go pointer reaches C in the
 * hot path (burst arrays are C memory, passed as uintptr_t). */
#ifndef OPENPERFD_SHIM_H
#define OPENPERFD_SHIM_H

#include <stdint.h>

struct rte_mempool;
struct rte_mbuf;

/* The most packets op_tx_burst hands the PMD per call (a longer burst is
 * cut: the caller sends the rest next). It sizes the burst's length
 * array on the stack; it equals packetio.TxBurstSize, which layout.go
 * checks at compile time. */
#define OP_TX_BURST_MAX 64

/* Per-queue software counters. DPDK's ring PMD reports no bytes, so the
 * burst helpers count them; each queue is written by one worker only. */
struct op_qstats {
	uint64_t packets;
	uint64_t bytes;
	/* Rx: frames the port delivered in several segments (a NIC with rx
	 * scatter receiving frames longer than a 2 KiB buffer), copied into
	 * one jumbo buffer; and those dropped because they could not be
	 * (no jumbo pool, it was empty, or longer than a jumbo buffer). */
	uint64_t linearized;
	uint64_t chain_drops;
	/* Rx: CLOCK_MONOTONIC ns read right after the last burst with frames
	 * came back from the driver, as OpenPerf's rx callback stamps them. */
	uint64_t rx_time;
	/* Rx: frames the queue's rx interrupt wait received as it woke
	 * (op_wait_rx), stash[:stashed], which the next op_rx_burst hands
	 * out before it asks the driver. Both belong to the worker that owns
	 * the queue. */
	struct rte_mbuf **stash;
	uint16_t stashed;
	uint16_t pad16[3];
	uint64_t pad; /* one cache line per queue: no false sharing */
};

/* Per-queue protocol counters of the frames a queue received or sent
 * (op_count_protocols' classes), when the port counts them. */
enum {
	OP_P_VLAN,      /* frames with an 802.1Q/802.1ad tag */
	OP_P_ARP,
	OP_P_IPV4,
	OP_P_IPV6,
	OP_P_L3_OTHER,  /* any other EtherType, or too short for one */
	OP_P_UDP,
	OP_P_TCP,
	OP_P_ICMP,
	OP_P_ICMPV6,
	OP_P_L4_OTHER,  /* another IP protocol, an IPv6 extension header, a later fragment */
	OP_P_N,
};
struct op_pcounts {
	uint64_t c[16]; /* OP_P_N used; two cache lines per queue */
};

struct op_port_desc {
	char device[64];
	char driver[64];
	char iface[64];
	uint8_t mac[6];
	uint16_t max_rx_queues;
	uint16_t max_tx_queues;
	uint32_t speed_capa;
};

struct op_link {
	uint32_t speed;
	uint8_t up;
	uint8_t full_duplex;
	uint8_t autoneg;
};

struct op_stats {
	uint64_t ipackets, opackets, ibytes, obytes, ierrors, oerrors, imissed, rx_nombuf;
};

int op_eal_init(int argc, char **argv, int *err);
int op_eal_cleanup(void);
int op_log_to_fd(int fd);
void op_flush_log(void);
void op_flush_stdio(void);
const char *op_strerror(int err);
int op_errno(void);

int op_thread_register(void);
void op_thread_unregister(void);
unsigned op_lcore_id(void);

struct rte_mempool *op_pool_create(const char *name, unsigned n, unsigned cache, uint16_t room, int socket);
struct rte_mempool *op_pktmbuf_pool(const char *name, unsigned n, unsigned cache, uint16_t room, int socket,
				    const char *ops);
struct rte_mempool *op_recycle_create(const char *name, unsigned n, uint16_t room, int socket);
int op_recycle_take(struct rte_mempool *mp, uintptr_t pkts, unsigned n);
void op_recycle_give(struct rte_mempool *mp, uintptr_t pkts, unsigned n);
unsigned op_recycle_in_use(struct rte_mempool *mp);
void op_pool_free(struct rte_mempool *mp);
unsigned op_pool_avail(struct rte_mempool *mp);
unsigned op_pool_in_use(struct rte_mempool *mp);
int op_pool_alloc_bulk(struct rte_mempool *mp, uintptr_t pkts, unsigned n);
void op_free_bulk(uintptr_t pkts, unsigned n);
void op_refcnt_update(uintptr_t m, int n);

uint16_t op_port_count(void);
int op_port_valid(uint16_t port);
int op_port_desc(uint16_t port, struct op_port_desc *d);
/* op_port_configure's report of the rx offloads it enabled: checksums,
 * scatter (frames longer than a buffer arrive as chains), and receive
 * timestamps (frames carry the device clock's ticks, timestamps.c). */
enum { OP_RX_CKSUM_IPV4 = 1, OP_RX_CKSUM_UDP = 2, OP_RX_CKSUM_TCP = 4, OP_RX_SCATTER = 8, OP_RX_TIMESTAMP = 16 };
int op_port_configure(uint16_t port, uint16_t nrxq, uint16_t ntxq, uint16_t rxd, uint16_t txd,
		      uint32_t link_speeds, struct rte_mempool *mp, unsigned *rx_offloads, int rx_intr,
		      uint16_t jumbo_mtu, uint16_t *mtu);

/* timestamps.c: NIC receive timestamps. */

/* clock.ConversionShift (layout.go checks): the binary point of mult. */
#define OP_TS_SHIFT 32
/* The most frames of a burst whose times op_rx_burst records; it equals
 * packetio.BurstSize (layout.go checks), and longer bursts are cut to it
 * on ports that record them. */
#define OP_RX_TS_MAX 64

/* A port's conversion of its device clock's ticks to clock.Now's ns:
 * base_ns + (tick - base_tick) * mult >> OP_TS_SHIFT (clock.Conversion).
 * Go writes it (op_tsclock_set) while workers read it, under seq. off and
 * flag, the rx timestamp's mbuf dynamic field and flag, are set once. */
struct op_tsclock {
	uint64_t seq; /* odd while the conversion changes */
	uint64_t base_tick;
	int64_t base_ns;
	uint64_t mult;
	int64_t off;
	uint64_t flag;
	uint64_t pad[2];
};

/* One rx queue's receive times, written by its worker in op_rx_burst. */
struct op_rxts {
	const struct op_tsclock *clk;
	uint64_t n;  /* frames of the last burst with frames whose times t holds; 0: none */
	uint64_t hw; /* frames given their device's time */
	uint64_t sw; /* frames that kept the burst's time: some frame of their burst had no stamp */
	uint64_t pad[4];
	int64_t t[OP_RX_TS_MAX];
};

int op_ts_register(int64_t *off, uint64_t *flag);
int op_port_has_clock(uint16_t port);
int op_ts_sample(uint16_t port, unsigned tries, uint64_t *tick, int64_t *before, int64_t *after);
struct op_tsclock *op_tsclock_new(int64_t off, uint64_t flag);
void op_tsclock_set(struct op_tsclock *c, uint64_t base_tick, int64_t base_ns, uint64_t mult);
int64_t op_ts_convert(const struct op_tsclock *c, uint64_t tick);
struct op_rxts *op_rxts_new(const struct op_tsclock *c, unsigned nq);
void op_rx_stamp(struct rte_mbuf **m, uint16_t n, struct op_rxts *ts);
int op_port_start(uint16_t port);
int op_port_stop(uint16_t port);
int op_port_close(uint16_t port);
int op_port_set_mac(uint16_t port, const uint8_t *mac);
int op_port_link(uint16_t port, struct op_link *l);
int op_port_stats(uint16_t port, struct op_stats *s);
int op_port_by_name(const char *name, uint16_t *port);

int op_ring_pair(const char *name_a, const char *name_b, unsigned nq, unsigned ring_size,
		 uint16_t *port_a, uint16_t *port_b);

uint32_t op_link_speeds(int autoneg, uint32_t speed_mbps, int full_duplex);
int op_bond_create(const char *name, uint16_t *port);
int op_bond_add(uint16_t bond, uint16_t member);
int op_bond_remove(uint16_t bond, uint16_t member);
int op_bond_free(const char *name);

uint16_t op_rx_burst(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n, uintptr_t stp, uint16_t nfree,
		     struct rte_mempool *jumbo, uintptr_t pcp, uintptr_t tsp);
uint16_t op_tx_burst(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n, uintptr_t stp, uintptr_t pcp);
uint32_t op_tx_refill(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t off, uint16_t n, uint16_t spare,
		      uint16_t want, uintptr_t stp, struct rte_mempool *mp, uintptr_t pcp);

struct rte_epoll_event;
int op_rx_intr_fd(uint16_t port, uint16_t q);
int op_rx_intr_arm(uint16_t port, uint16_t q, int on);
struct rte_epoll_event *op_waker_add(int efd);
void op_waker_del(int efd, struct rte_epoll_event *ev);

/* memif.c: rx interrupts of memif ports, which DPDK's driver does not
 * offer through ethdev. */
struct op_memif_arm {
	int fd;                     /* our duplicate of the queue's event fd, watched */
	int qfd;                    /* the queue's event fd when armed */
	struct rte_epoll_event *ev; /* fd's entry in the thread's epoll set; NULL: not armed */
	void *mq;                   /* the driver's queue */
	void *pmd;                  /* the driver's port internals */
	void *dev;                  /* the port's struct rte_eth_dev */
};

/* A watched rx queue of a worker's rx interrupt wait: the queue, what
 * op_rx_burst needs for it, and the burst op_wait_rx receives into when
 * the queue wakes the worker. Go fills the fields, C memory holds them
 * (epoll's entry for the queue points here). */
#define OP_RX_STASH OP_RX_TS_MAX
struct op_rxq_wait {
	uint16_t port, q;
	uintptr_t st, pcp, tsp;     /* op_rx_burst's per-queue arguments */
	struct rte_mempool *jumbo;
	struct op_memif_arm memif;  /* a memif queue's (memif.ev set); else unused */
	struct rte_mbuf *stash[OP_RX_STASH];
};
int op_rx_intr_watch(struct op_rxq_wait *w, int add);
int op_wait_rx(int timeout_ms, struct op_rxq_wait *const *qs, int n);
void op_rx_unstash(struct op_rxq_wait *w);

int op_memif_port(uint16_t port);
int op_memif_watch(struct op_rxq_wait *w);
void op_memif_unwatch(struct op_memif_arm *arm);
int op_memif_unmask(struct op_rxq_wait *w);
void op_memif_mask(struct op_memif_arm *arm);
int op_memif_alive(const struct op_memif_arm *arm);

/* RTE_ETH_XSTATS_NAME_SIZE, checked in shim.c. */
#define OP_XSTAT_NAME 64
int op_port_xstats(uint16_t port, char *names, uint64_t *values, unsigned n);

#endif
