#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_eth_bond.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_bus.h>

#include "shim.h"

/* packetio.Mbuf mirrors these offsets; a DPDK with another layout must not
 * build. */
_Static_assert(OP_XSTAT_NAME == RTE_ETH_XSTATS_NAME_SIZE, "xstat name size");
_Static_assert(offsetof(struct rte_mbuf, buf_addr) == 0, "buf_addr");
_Static_assert(offsetof(struct rte_mbuf, data_off) == 16, "data_off");
_Static_assert(offsetof(struct rte_mbuf, refcnt) == 18, "refcnt");
_Static_assert(offsetof(struct rte_mbuf, nb_segs) == 20, "nb_segs");
_Static_assert(offsetof(struct rte_mbuf, port) == 22, "port");
_Static_assert(offsetof(struct rte_mbuf, ol_flags) == 24, "ol_flags");
_Static_assert(offsetof(struct rte_mbuf, packet_type) == 32, "packet_type");
_Static_assert(offsetof(struct rte_mbuf, pkt_len) == 36, "pkt_len");
_Static_assert(offsetof(struct rte_mbuf, data_len) == 40, "data_len");
_Static_assert(offsetof(struct rte_mbuf, vlan_tci) == 42, "vlan_tci");
_Static_assert(offsetof(struct rte_mbuf, hash) == 44, "hash");
_Static_assert(offsetof(struct rte_mbuf, vlan_tci_outer) == 52, "vlan_tci_outer");
_Static_assert(offsetof(struct rte_mbuf, buf_len) == 54, "buf_len");
_Static_assert(offsetof(struct rte_mbuf, pool) == 56, "pool");
_Static_assert(sizeof(struct op_qstats) == 64, "op_qstats is one cache line");
/* packetio.RxChecksum's values. */
_Static_assert(RTE_MBUF_F_RX_IP_CKSUM_MASK == ((1ULL << 4) | (1ULL << 7)), "ip cksum mask");
_Static_assert(RTE_MBUF_F_RX_IP_CKSUM_BAD == (1ULL << 4), "ip cksum bad");
_Static_assert(RTE_MBUF_F_RX_IP_CKSUM_GOOD == (1ULL << 7), "ip cksum good");
_Static_assert(RTE_MBUF_F_RX_L4_CKSUM_MASK == ((1ULL << 3) | (1ULL << 8)), "l4 cksum mask");
_Static_assert(RTE_MBUF_F_RX_L4_CKSUM_BAD == (1ULL << 3), "l4 cksum bad");
_Static_assert(RTE_MBUF_F_RX_L4_CKSUM_GOOD == (1ULL << 8), "l4 cksum good");

int op_eal_init(int argc, char **argv, int *err)
{
	/* C stdio on a pipe is fully buffered and lost at Go exit. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	rte_errno = 0;
	int rc = rte_eal_init(argc, argv);
	*err = rte_errno;
	return rc;
}

int op_eal_cleanup(void) { return rte_eal_cleanup(); }
const char *op_strerror(int err) { return rte_strerror(err); }
int op_errno(void) { return rte_errno; }

int op_thread_register(void) { return rte_thread_register(); }
void op_thread_unregister(void) { rte_thread_unregister(); }
unsigned op_lcore_id(void) { return rte_lcore_id(); }

/* Without hugepages rte_pktmbuf_pool_create keeps every mbuf inside one 4
 * KiB page (IOVA contiguity), so each mbuf starts a page: ~4.2 KB apiece,
 * and every mbuf header and every packet's first bytes fall into the same
 * L1/L2 cache sets, which a burst of 32 then thrashes. Nothing DMAs from
 * such memory (no hugepages: vdevs only), so let objects cross pages and
 * pack them: rte_pktmbuf_pool_create_by_ops with RTE_MEMPOOL_F_NO_IOVA_CONTIG.
 * Packing is also what lets a jumbo buffer (data room > 4 KiB) exist at all
 * without hugepages. With hugepages, the DPDK default. room is the data
 * room, headroom included (RTE_MBUF_DEFAULT_BUF_SIZE for 2 KiB frames). */
struct rte_mempool *op_pool_create(const char *name, unsigned n, unsigned cache, uint16_t room, int socket)
{
	if (rte_eal_has_hugepages())
		return rte_pktmbuf_pool_create(name, n, cache, 0, room, socket);
	return op_pktmbuf_pool(name, n, cache, room, socket, rte_mbuf_best_mempool_ops());
}

/* op_pktmbuf_pool makes a pool of packet buffers with the mempool ops
 * named ops, packed across pages without hugepages (see op_pool_create);
 * its mbufs are initialised as rte_pktmbuf_pool_create's are. */
struct rte_mempool *op_pktmbuf_pool(const char *name, unsigned n, unsigned cache, uint16_t room, int socket,
				    const char *ops)
{
	struct rte_pktmbuf_pool_private priv;
	memset(&priv, 0, sizeof(priv));
	priv.mbuf_data_room_size = room;
	unsigned flags = rte_eal_has_hugepages() ? 0 : RTE_MEMPOOL_F_NO_IOVA_CONTIG;
	struct rte_mempool *mp = rte_mempool_create_empty(name, n, sizeof(struct rte_mbuf) + room, cache,
							  sizeof(priv), socket, flags);
	if (mp == NULL)
		return NULL;
	int rc = rte_mempool_set_ops_byname(mp, ops, NULL);
	if (rc != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	rc = rte_mempool_populate_default(mp);
	if (rc < 0)
		goto fail;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	rte_errno = -rc;
	return NULL;
}

void op_pool_free(struct rte_mempool *mp) { rte_mempool_free(mp); }
unsigned op_pool_avail(struct rte_mempool *mp) { return rte_mempool_avail_count(mp); }
unsigned op_pool_in_use(struct rte_mempool *mp) { return rte_mempool_in_use_count(mp); }

int op_pool_alloc_bulk(struct rte_mempool *mp, uintptr_t pkts, unsigned n)
{
	return rte_pktmbuf_alloc_bulk(mp, (struct rte_mbuf **)pkts, n);
}

void op_free_bulk(uintptr_t pkts, unsigned n)
{
	rte_pktmbuf_free_bulk((struct rte_mbuf **)pkts, n);
}

void op_refcnt_update(uintptr_t m, int n) { rte_mbuf_refcnt_update((struct rte_mbuf *)m, (int16_t)n); }

uint16_t op_port_count(void) { return rte_eth_dev_count_avail(); }
int op_port_valid(uint16_t port) { return rte_eth_dev_is_valid_port(port); }

int op_port_desc(uint16_t port, struct op_port_desc *d)
{
	struct rte_eth_dev_info info;
	memset(d, 0, sizeof(*d));
	int rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0)
		return rc;
	if (info.driver_name)
		snprintf(d->driver, sizeof(d->driver), "%s", info.driver_name);
	rte_eth_dev_get_name_by_port(port, d->device);
	if (info.if_index > 0)
		if_indextoname(info.if_index, d->iface);
	d->max_rx_queues = info.max_rx_queues;
	d->max_tx_queues = info.max_tx_queues;
	d->speed_capa = info.speed_capa;
	struct rte_ether_addr mac;
	if (rte_eth_macaddr_get(port, &mac) == 0)
		memcpy(d->mac, mac.addr_bytes, 6);
	return 0;
}

int op_port_configure(uint16_t port, uint16_t nrxq, uint16_t ntxq, uint16_t rxd, uint16_t txd,
		      uint32_t link_speeds, struct rte_mempool *mp, unsigned *rx_offloads, int rx_intr,
		      uint16_t jumbo_mtu, uint16_t *mtu)
{
	struct rte_eth_dev_info info;
	int rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0)
		return rc;
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	conf.link_speeds = link_speeds;
	/* The checksums the port can verify on receipt: the analyzer takes
	 * the port's word for them instead of summing the bytes. */
	conf.rxmode.offloads = info.rx_offload_capa &
			       (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
	/* Jumbo frames, as OpenPerf: with a jumbo pool, rx scatter wherever the
	 * port has it, so that a frame longer than one 2 KiB buffer arrives as
	 * a chain, which op_rx_burst copies into one jumbo buffer; and the
	 * largest MTU up to jumbo_mtu the port takes, where that is beyond
	 * what one buffer holds (NICs). tap takes any length the kernel side's
	 * MTU lets through but lists 1522 bytes as its limit: it keeps its MTU.
	 * Ports without scatter (ring, null, memif) take any length whole. */
	*mtu = 0;
	if (jumbo_mtu > 0 && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		/* ethdev's own rule for what an MTU costs beyond itself. */
		uint32_t overhead = info.max_mtu != UINT16_MAX && info.max_rx_pktlen > info.max_mtu ?
					    info.max_rx_pktlen - info.max_mtu :
					    RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
		uint32_t most = RTE_MIN((uint32_t)jumbo_mtu, (uint32_t)info.max_mtu);
		if (info.max_rx_pktlen > overhead)
			most = RTE_MIN(most, info.max_rx_pktlen - overhead);
		if (most + overhead > RTE_MBUF_DEFAULT_DATAROOM) {
			conf.rxmode.mtu = most;
			*mtu = most;
		}
	}
	/* Receive timestamps where the device offers them and its clock can
	 * be read to put them on ours. A driver that stamps without saying
	 * so (net_pcap: microseconds since the epoch, from the file) is not
	 * asked, and its stamps are ignored. */
	if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) && op_port_has_clock(port))
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
	*rx_offloads = (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM ? OP_RX_CKSUM_IPV4 : 0) |
		       (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_UDP_CKSUM ? OP_RX_CKSUM_UDP : 0) |
		       (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM ? OP_RX_CKSUM_TCP : 0) |
		       (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER ? OP_RX_SCATTER : 0) |
		       (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TIMESTAMP ? OP_RX_TIMESTAMP : 0);
	/* Rx queue interrupts let an idle worker sleep in epoll; a driver
	 * that refuses them is configured without (the caller learns which
	 * from op_rx_intr_fd after the start). */
	conf.intr_conf.rxq = rx_intr ? 1 : 0;
	rc = rte_eth_dev_configure(port, nrxq, ntxq, &conf);
	if (rc != 0 && rx_intr) {
		conf.intr_conf.rxq = 0;
		rc = rte_eth_dev_configure(port, nrxq, ntxq, &conf);
	}
	if (rc != 0 && (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER)) {
		/* A driver that lists scatter but refuses it or the MTU: without. */
		conf.rxmode.offloads &= ~RTE_ETH_RX_OFFLOAD_SCATTER;
		conf.rxmode.mtu = 0;
		*mtu = 0;
		*rx_offloads &= ~OP_RX_SCATTER;
		rc = rte_eth_dev_configure(port, nrxq, ntxq, &conf);
		if (rc != 0 && conf.intr_conf.rxq) {
			conf.intr_conf.rxq = 0;
			rc = rte_eth_dev_configure(port, nrxq, ntxq, &conf);
		}
	}
	if (rc != 0 && (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TIMESTAMP)) {
		/* Nor do timestamps stop a port from working. */
		conf.rxmode.offloads &= ~RTE_ETH_RX_OFFLOAD_TIMESTAMP;
		*rx_offloads &= ~OP_RX_TIMESTAMP;
		rc = rte_eth_dev_configure(port, nrxq, ntxq, &conf);
		if (rc != 0 && conf.intr_conf.rxq) {
			conf.intr_conf.rxq = 0;
			rc = rte_eth_dev_configure(port, nrxq, ntxq, &conf);
		}
	}
	if (rc != 0)
		return rc;
	uint16_t nrxd = rxd, ntxd = txd;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrxd, &ntxd);
	if (rc != 0)
		return rc;
	int socket = rte_eth_dev_socket_id(port);
	if (socket < 0)
		socket = 0;
	struct rte_eth_rxconf rxconf = info.default_rxconf;
	rxconf.offloads = conf.rxmode.offloads;
	for (uint16_t q = 0; q < nrxq; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nrxd, socket, &rxconf, mp);
		if (rc != 0)
			return rc;
	}
	for (uint16_t q = 0; q < ntxq; q++) {
		rc = rte_eth_tx_queue_setup(port, q, ntxd, socket, NULL);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int op_port_start(uint16_t port) { return rte_eth_dev_start(port); }
int op_port_stop(uint16_t port) { return rte_eth_dev_stop(port); }
int op_port_close(uint16_t port) { return rte_eth_dev_close(port); }

int op_port_set_mac(uint16_t port, const uint8_t *mac)
{
	struct rte_ether_addr a;
	memcpy(a.addr_bytes, mac, 6);
	return rte_eth_dev_default_mac_addr_set(port, &a);
}

int op_port_link(uint16_t port, struct op_link *l)
{
	struct rte_eth_link link;
	memset(&link, 0, sizeof(link));
	int rc = rte_eth_link_get_nowait(port, &link);
	if (rc != 0)
		return rc;
	l->speed = link.link_speed;
	l->up = link.link_status == RTE_ETH_LINK_UP;
	l->full_duplex = link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
	l->autoneg = link.link_autoneg == RTE_ETH_LINK_AUTONEG;
	return 0;
}

int op_port_stats(uint16_t port, struct op_stats *s)
{
	struct rte_eth_stats st;
	int rc = rte_eth_stats_get(port, &st);
	if (rc != 0)
		return rc;
	s->ipackets = st.ipackets;
	s->opackets = st.opackets;
	s->ibytes = st.ibytes;
	s->obytes = st.obytes;
	s->ierrors = st.ierrors;
	s->oerrors = st.oerrors;
	s->imissed = st.imissed;
	s->rx_nombuf = st.rx_nombuf;
	return 0;
}

int op_port_by_name(const char *name, uint16_t *port) { return rte_eth_dev_get_port_by_name(name, port); }

/* Two ports cross-wired by rings: what a leaves on tx queue q, b receives
 * on rx queue q, and back. Single producer/consumer rings, since each queue
 * belongs to one worker. */
int op_ring_pair(const char *name_a, const char *name_b, unsigned nq, unsigned ring_size,
		 uint16_t *port_a, uint16_t *port_b)
{
	struct rte_ring *ab[RTE_MAX_QUEUES_PER_PORT], *ba[RTE_MAX_QUEUES_PER_PORT];
	char rn[RTE_RING_NAMESIZE];
	if (nq == 0 || nq > RTE_MAX_QUEUES_PER_PORT)
		return -EINVAL;
	for (unsigned q = 0; q < nq; q++) {
		snprintf(rn, sizeof(rn), "%s_tx%u", name_a, q);
		ab[q] = rte_ring_create(rn, ring_size, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(rn, sizeof(rn), "%s_tx%u", name_b, q);
		ba[q] = rte_ring_create(rn, ring_size, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (ab[q] == NULL || ba[q] == NULL)
			return -rte_errno;
	}
	int a = rte_eth_from_rings(name_a, ba, nq, ab, nq, rte_socket_id());
	if (a < 0)
		return -rte_errno;
	int b = rte_eth_from_rings(name_b, ab, nq, ba, nq, rte_socket_id());
	if (b < 0)
		return -rte_errno;
	*port_a = (uint16_t)a;
	*port_b = (uint16_t)b;
	return 0;
}

int op_bond_create(const char *name, uint16_t *port)
{
	int rc = rte_eth_bond_create(name, BONDING_MODE_8023AD, rte_socket_id());
	if (rc < 0)
		return rc;
	*port = (uint16_t)rc;
	return 0;
}

int op_bond_add(uint16_t bond, uint16_t member) { return rte_eth_bond_slave_add(bond, member); }
int op_bond_remove(uint16_t bond, uint16_t member) { return rte_eth_bond_slave_remove(bond, member); }
int op_bond_free(const char *name) { return rte_eth_bond_free(name); }

/* op_linearize copies a chain of segments into one buffer of jumbo
 * (whatever reads frames, from the analyzer to pcap, sees one contiguous
 * frame) and frees the chain; NULL, with the chain left alone, when it
 * cannot. The copy (9 KB in 5 segments: 120-160 ns cache-hot here) is
 * paid by chained frames only. */
static __rte_noinline __rte_cold struct rte_mbuf *op_linearize(struct rte_mbuf *m, struct rte_mempool *jumbo)
{
	struct rte_mbuf *j = rte_pktmbuf_alloc(jumbo);
	if (j == NULL)
		return NULL;
	if (m->pkt_len > rte_pktmbuf_tailroom(j)) {
		rte_pktmbuf_free(j);
		return NULL;
	}
	char *dst = rte_pktmbuf_mtod(j, char *);
	for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
		memcpy(dst, rte_pktmbuf_mtod(s, char *), s->data_len);
		dst += s->data_len;
	}
	j->data_len = j->pkt_len = m->pkt_len;
	j->port = m->port;
	j->ol_flags = m->ol_flags;
	j->packet_type = m->packet_type;
	j->vlan_tci = m->vlan_tci;
	j->vlan_tci_outer = m->vlan_tci_outer;
	j->hash = m->hash;
	/* Dynamic fields too: a NIC's receive timestamp lives there. */
	memcpy(j->dynfield1, m->dynfield1, sizeof(j->dynfield1));
#if !RTE_IOVA_AS_PA
	j->dynfield2 = m->dynfield2;
#endif
	rte_pktmbuf_free(m);
	return j;
}

/* op_proto_class classifies a frame for the protocol counters from its
 * first bytes at fixed offsets: its L2/L3 class (OP_P_ARP .. OP_P_L3_OTHER)
 * in bits 0-3, its L4 class (OP_P_UDP ..) or OP_P_N (none) in bits 4-7,
 * bit 8 set when it is tagged. */
static inline unsigned op_proto_class(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len, off = 14;
	unsigned vlan = 0;
	if (len < 14)
		return OP_P_L3_OTHER | OP_P_N << 4;
	uint16_t et = (uint16_t)(p[12] << 8 | p[13]);
	while ((et == RTE_ETHER_TYPE_VLAN || et == RTE_ETHER_TYPE_QINQ) && off + 4 <= len && off < 22) {
		vlan = 1 << 8;
		et = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
		off += 4;
	}
	unsigned l3;
	uint8_t proto;
	switch (et) {
	case RTE_ETHER_TYPE_IPV4:
		if (off + 20 > len)
			return OP_P_IPV4 | OP_P_N << 4 | vlan;
		l3 = OP_P_IPV4;
		/* A later fragment has no L4 header. */
		proto = ((p[off + 6] & 0x1f) | p[off + 7]) ? 0xff : p[off + 9];
		break;
	case RTE_ETHER_TYPE_IPV6:
		if (off + 40 > len)
			return OP_P_IPV6 | OP_P_N << 4 | vlan;
		l3 = OP_P_IPV6;
		proto = p[off + 6];
		break;
	case RTE_ETHER_TYPE_ARP:
		return OP_P_ARP | OP_P_N << 4 | vlan;
	default:
		return OP_P_L3_OTHER | OP_P_N << 4 | vlan;
	}
	unsigned l4;
	switch (proto) {
	case IPPROTO_UDP:
		l4 = OP_P_UDP;
		break;
	case IPPROTO_TCP:
		l4 = OP_P_TCP;
		break;
	case IPPROTO_ICMP:
		l4 = l3 == OP_P_IPV4 ? OP_P_ICMP : OP_P_L4_OTHER;
		break;
	case IPPROTO_ICMPV6:
		l4 = l3 == OP_P_IPV6 ? OP_P_ICMPV6 : OP_P_L4_OTHER;
		break;
	default:
		l4 = OP_P_L4_OTHER;
	}
	return l3 | l4 << 4 | vlan;
}

/* op_pc_add adds n frames of class code (op_proto_class) to pc. */
static inline void op_pc_add(struct op_pcounts *pc, unsigned code, uint64_t n)
{
	pc->c[code & 0xf] += n;
	pc->c[code >> 4 & 0xf] += n; /* OP_P_N, no L4 header: a spare slot */
	if (code & 1 << 8)
		pc->c[OP_P_VLAN] += n;
}

/* op_count_protocols adds frames m[0:n] to the protocol counters pc. A
 * burst's frames are mostly of one class: counted as runs, so that the
 * counters are not a chain of memory increments, one per frame. */
static __rte_noinline void op_count_protocols(struct rte_mbuf **m, uint16_t n, struct op_pcounts *pc)
{
	unsigned run = 0;
	uint64_t k = 0;
	for (uint16_t i = 0; i < n; i++) {
		unsigned code = op_proto_class(m[i]);
		if (code != run) {
			if (k > 0)
				op_pc_add(pc, run, k);
			run = code;
			k = 0;
		}
		k++;
	}
	if (k > 0)
		op_pc_add(pc, run, k);
}

/* op_rx_recv receives up to n frames of port's queue q into m, stamps
 * and counts them. tsp is the queue's struct op_rxts on a port that uses
 * its device's receive timestamps, else 0: the other ports pay one test
 * a burst. */
static inline uint16_t op_rx_recv(uint16_t port, uint16_t q, struct rte_mbuf **m, uint16_t n, struct op_qstats *st,
				  struct rte_mempool *jumbo, uintptr_t pcp, uintptr_t tsp)
{
	if (tsp != 0 && n > OP_RX_TS_MAX)
		n = OP_RX_TS_MAX;
	uint16_t got = rte_eth_rx_burst(port, q, m, n);
	if (got == 0)
		return 0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	st->rx_time = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	uint64_t bytes = 0;
	uint16_t chained = 0;
	for (uint16_t i = 0; i < got; i++) {
		bytes += m[i]->pkt_len;
		/* Not every PMD stamps the arrival port (net_ring does not). */
		m[i]->port = port;
	}
	/* Only ports with rx scatter make chains (the caller passes their
	 * jumbo pool, NULL for the others): the rest pay one test a burst. */
	if (jumbo != NULL)
		for (uint16_t i = 0; i < got; i++)
			chained |= m[i]->nb_segs - 1;
	if (unlikely(chained != 0)) {
		uint16_t k = 0;
		for (uint16_t i = 0; i < got; i++) {
			struct rte_mbuf *f = m[i];
			if (f->nb_segs > 1) {
				struct rte_mbuf *j = op_linearize(f, jumbo);
				if (j == NULL) {
					st->chain_drops++;
					bytes -= f->pkt_len;
					rte_pktmbuf_free(f);
					continue;
				}
				st->linearized++;
				f = j;
			}
			m[k++] = f;
		}
		got = k;
	}
	if (pcp != 0)
		op_count_protocols(m, got, (struct op_pcounts *)pcp);
	if (tsp != 0)
		op_rx_stamp(m, got, (struct op_rxts *)tsp);
	st->packets += got;
	st->bytes += bytes;
	return got;
}

/* op_rx_take moves up to n stashed frames into m. The stash holds one
 * burst of at most OP_RX_STASH frames, which is what the worker asks for,
 * so it is taken whole (a shorter ask leaves the rest for the next call;
 * their device times are then the taken frames'). */
static uint16_t op_rx_take(struct op_qstats *st, struct rte_mbuf **m, uint16_t n)
{
	uint16_t got = st->stashed < n ? st->stashed : n;
	memcpy(m, st->stash, got * sizeof(*m));
	st->stashed -= got;
	if (st->stashed > 0)
		memmove(st->stash, st->stash + got, st->stashed * sizeof(*m));
	return got;
}

uint16_t op_rx_burst(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n, uintptr_t stp, uint16_t nfree,
		     struct rte_mempool *jumbo, uintptr_t pcp, uintptr_t tsp)
{
	struct rte_mbuf **m = (struct rte_mbuf **)pkts;
	struct op_qstats *st = (struct op_qstats *)stp;
	/* The caller's previous burst goes back in the same call. */
	if (nfree > 0)
		rte_pktmbuf_free_bulk(m, nfree);
	if (unlikely(st->stashed != 0))
		return op_rx_take(st, m, n);
	return op_rx_recv(port, q, m, n, st, jumbo, pcp, tsp);
}

uint16_t op_tx_burst(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n, uintptr_t stp, uintptr_t pcp)
{
	struct rte_mbuf **m = (struct rte_mbuf **)pkts;
	struct op_qstats *st = (struct op_qstats *)stp;
	/* Read lengths before the driver owns the mbufs: a ring peer may
	 * already be freeing them once tx_burst returns. */
	uint64_t lens[OP_TX_BURST_MAX];
	uint16_t k = n < OP_TX_BURST_MAX ? n : OP_TX_BURST_MAX;
	for (uint16_t i = 0; i < k; i++)
		lens[i] = m[i]->pkt_len;
	/* Classified before tx_burst for the same reason, counted once sent. */
	uint16_t codes[OP_TX_BURST_MAX];
	if (pcp != 0)
		for (uint16_t i = 0; i < k; i++)
			codes[i] = (uint16_t)op_proto_class(m[i]);
	uint16_t sent = rte_eth_tx_burst(port, q, m, k);
	uint64_t bytes = 0;
	for (uint16_t i = 0; i < sent; i++)
		bytes += lens[i];
	if (pcp != 0 && sent > 0) {
		struct op_pcounts *pc = (struct op_pcounts *)pcp;
		unsigned run = codes[0];
		uint64_t runs = 0;
		for (uint16_t i = 0; i < sent; i++) {
			if (codes[i] != run) {
				op_pc_add(pc, run, runs);
				run = codes[i];
				runs = 0;
			}
			runs++;
		}
		op_pc_add(pc, run, runs);
	}
	st->packets += sent;
	st->bytes += bytes;
	return sent;
}

/* Transmit m[off:n]; when all went, move the spares m[n:n+spare] to the
 * front and top them up to want raw buffers (rte_mempool_get_bulk without
 * rte_pktmbuf_reset: Go rearms the first cache line itself, as testpmd's
 * txonly does). Returns sent | avail << 16, avail being the spares now at
 * m[0:avail] (0 when not all went: then the spares stay where they were). */
uint32_t op_tx_refill(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t off, uint16_t n, uint16_t spare,
		      uint16_t want, uintptr_t stp, struct rte_mempool *mp, uintptr_t pcp)
{
	struct rte_mbuf **m = (struct rte_mbuf **)pkts;
	uint16_t sent = 0;
	if (n > off) {
		sent = op_tx_burst(port, q, (uintptr_t)(m + off), n - off, stp, pcp);
		if (off + sent < n)
			return sent;
	}
	if (spare > 0 && n > 0)
		memmove(m, m + n, spare * sizeof(*m));
	if (want > spare && rte_mempool_get_bulk(mp, (void **)(m + spare), want - spare) == 0)
		spare = want;
	return sent | (uint32_t)spare << 16;
}

uint32_t op_link_speeds(int autoneg, uint32_t speed_mbps, int full_duplex)
{
	if (autoneg)
		return RTE_ETH_LINK_SPEED_AUTONEG;
	return RTE_ETH_LINK_SPEED_FIXED | rte_eth_speed_bitflag(speed_mbps, full_duplex);
}

/* Where a DPDK log line starts; the stream's lock serialises writes. */
static int log_at_start = 1;

/* Writes DPDK's log to the pipe with each line prefixed by one digit, the
 * rte_log level of the message being written ('1' emergency .. '8'
 * debug), so Go can map it onto its own levels. */
static ssize_t op_log_write(void *cookie, const char *buf, size_t n)
{
	int fd = (int)(intptr_t)cookie;
	int lvl = rte_log_cur_msg_loglevel();
	char tag = (lvl >= 1 && lvl <= 8) ? (char)('0' + lvl) : '7';
	char out[512];
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (log_at_start) {
			out[o++] = tag;
			log_at_start = 0;
		}
		out[o++] = buf[i];
		if (buf[i] == '\n')
			log_at_start = 1;
		if (o >= sizeof(out) - 1 || i == n - 1) {
			for (size_t w = 0; w < o;) {
				ssize_t k = write(fd, out + w, o - w);
				if (k < 0 && errno != EINTR)
					return -1;
				if (k > 0)
					w += (size_t)k;
			}
			o = 0;
		}
	}
	return (ssize_t)n;
}

int op_log_to_fd(int fd)
{
	cookie_io_functions_t io = {.write = op_log_write};
	FILE *f = fopencookie((void *)(intptr_t)fd, "w", io);
	if (f == NULL)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	return rte_openlog_stream(f);
}

void op_flush_log(void)
{
	FILE *f = rte_log_get_stream();
	if (f != NULL)
		fflush(f);
}

void op_flush_stdio(void)
{
	fflush(stdout);
	fflush(stderr);
}

/* Rx interrupts. Each worker thread sleeps in DPDK's per-thread epoll
 * instance, which also holds the worker's wake eventfd; DPDK's own
 * wait reads each queue's event the way its driver needs (some fds are
 * counters, tap's is the queue itself and must not be read). */

/* Asking is how a driver without rx interrupts is found out, and ethdev
 * logs that as an error: quiet it for the question. */
int op_rx_intr_fd(uint16_t port, uint16_t q)
{
	int level = rte_log_get_level(rte_eth_dev_logtype);
	rte_log_set_level(rte_eth_dev_logtype, RTE_LOG_CRIT);
	int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(port, q);
	if (level >= 0)
		rte_log_set_level(rte_eth_dev_logtype, (uint32_t)level);
	return fd;
}

/* The queue's epoll entry carries w, so that op_wait_rx knows which
 * queue woke it. */
int op_rx_intr_watch(struct op_rxq_wait *w, int add)
{
	return rte_eth_dev_rx_intr_ctl_q(w->port, w->q, RTE_EPOLL_PER_THREAD,
					 add ? RTE_INTR_EVENT_ADD : RTE_INTR_EVENT_DEL, w);
}

int op_rx_intr_arm(uint16_t port, uint16_t q, int on)
{
	return on ? rte_eth_dev_rx_intr_enable(port, q) : rte_eth_dev_rx_intr_disable(port, q);
}

static void op_drain_eventfd(int fd, void *arg)
{
	(void)arg;
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v)); /* non-blocking: EAGAIN is fine */
	(void)n;
}

struct rte_epoll_event *op_waker_add(int efd)
{
	struct rte_epoll_event *ev = calloc(1, sizeof(*ev));
	if (ev == NULL)
		return NULL;
	ev->epdata.event = EPOLLIN; /* what epoll watches the fd for */
	ev->epdata.cb_fun = op_drain_eventfd;
	if (rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD, efd, ev) != 0) {
		free(ev);
		return NULL;
	}
	return ev;
}

void op_waker_del(int efd, struct rte_epoll_event *ev)
{
	rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL, efd, ev);
	free(ev);
}

/* op_rx_wake receives from the queue that woke the worker, into its
 * stash, before anything else runs: after a long sleep every cache line
 * and page the way touches is cold, and the return to Go, the worker's
 * loop and the disarming took 80 to 500 us on this project's VM before
 * the frame was read and stamped (see README, rx interrupts). The worker
 * stays a QSBR reader online while it waits, so the queue's port cannot
 * be stopped meanwhile. */
static void op_rx_wake(struct op_rxq_wait *w)
{
	struct op_qstats *st = (struct op_qstats *)w->st;
	if (st->stashed != 0)
		return; /* never: the worker polls its queues before it waits */
	/* A memif ring that is not masked makes the driver's rx read its
	 * event fd, one more system call. */
	if (w->memif.ev != NULL)
		op_memif_mask(&w->memif);
	st->stash = w->stash;
	st->stashed = op_rx_recv(w->port, w->q, w->stash, OP_RX_STASH, st, w->jumbo, w->pcp, w->tsp);
}

int op_wait_rx(int timeout_ms, struct op_rxq_wait *const *qs, int n)
{
	struct rte_epoll_event evs[16];
	int memif = 0;
	for (int i = 0; i < n; i++)
		memif |= qs[i]->memif.ev != NULL;
	for (;;) {
		/* A memif peer that goes or comes back makes a new eventfd,
		 * which nothing here watches: look once a second, in C, so that
		 * the Go runtime is not woken for it, and end the wait then. */
		int chunk = memif && timeout_ms > 1000 ? 1000 : timeout_ms;
		int rc = rte_epoll_wait(RTE_EPOLL_PER_THREAD, evs, 16, chunk);
		if (rc > 0) {
			/* Only an armed queue is received from: the waker's entry
			 * carries no queue, and an ethdev queue that left the plan
			 * stays in the set (waiter.go's unwatch) though another
			 * thread may own it now (a bond's member). */
			for (int e = 0; e < rc; e++)
				for (int i = 0; i < n; i++)
					if (evs[e].epdata.data == qs[i]) {
						op_rx_wake(qs[i]);
						break;
					}
			return rc;
		}
		if (rc < 0)
			return rc;
		timeout_ms -= chunk;
		if (timeout_ms <= 0)
			return 0;
		for (int i = 0; i < n; i++)
			if (qs[i]->memif.ev != NULL && !op_memif_alive(&qs[i]->memif))
				return 0;
	}
}

void op_rx_unstash(struct op_rxq_wait *w)
{
	struct op_qstats *st = (struct op_qstats *)w->st;
	if (st == NULL || st->stash != w->stash)
		return;
	if (st->stashed > 0)
		rte_pktmbuf_free_bulk(st->stash, st->stashed);
	st->stashed = 0;
	st->stash = NULL;
}

/* Extended stats: copies up to n names (OP_XSTAT_NAME bytes each) and
 * their values, ordered as the driver lists them. Returns how many the
 * port has (more than n: call again with room for that many), or < 0. */
int op_port_xstats(uint16_t port, char *names, uint64_t *values, unsigned n)
{
	int cnt = rte_eth_xstats_get_names(port, NULL, 0);
	if (cnt <= 0 || (unsigned)cnt > n)
		return cnt;
	struct rte_eth_xstat_name *xn = calloc(cnt, sizeof(*xn));
	struct rte_eth_xstat *xs = calloc(cnt, sizeof(*xs));
	int rc = -ENOMEM;
	if (xn == NULL || xs == NULL)
		goto out;
	rc = -EAGAIN; /* the count changed between the calls: ask again */
	if (rte_eth_xstats_get_names(port, xn, cnt) != cnt || rte_eth_xstats_get(port, xs, cnt) != cnt)
		goto out;
	for (int i = 0; i < cnt; i++) {
		uint64_t id = xs[i].id < (uint64_t)cnt ? xs[i].id : (uint64_t)i;
		snprintf(names + (size_t)i * OP_XSTAT_NAME, OP_XSTAT_NAME, "%s", xn[id].name);
		values[i] = xs[i].value;
	}
	rc = cnt;
out:
	free(xn);
	free(xs);
	return rc;
}
