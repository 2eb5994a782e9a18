/* NIC receive timestamps. A port whose device advertises
 * RTE_ETH_RX_OFFLOAD_TIMESTAMP stamps each frame with its own clock's
 * ticks (an mbuf dynamic field, valid where the dynamic flag is set).
 * Go fits a line from those ticks onto our clock (clock.Conversion, from
 * samples op_ts_sample takes) and publishes it here; the rx burst helper
 * converts each frame's ticks with it, one multiplication per frame, into
 * an array parallel to the burst that Go reads without a cgo call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "shim.h"

_Static_assert(sizeof(struct op_tsclock) == 64, "op_tsclock is one cache line");
_Static_assert(offsetof(struct op_rxts, t) == 64, "op_rxts: counters in the first line, times after");
_Static_assert(sizeof(rte_mbuf_timestamp_t) == sizeof(uint64_t), "timestamps are 64 bits");

/* op_ts_register registers (or finds, when a driver did) the mbuf dynamic
 * field and flag of rx timestamps. */
int op_ts_register(int64_t *off, uint64_t *flag)
{
	int o = -1;
	uint64_t f = 0;
	if (rte_mbuf_dyn_rx_timestamp_register(&o, &f) != 0)
		return -rte_errno;
	*off = o;
	*flag = f;
	return 0;
}

static inline int64_t op_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* op_ts_sample reads the port's clock tries times, each between two reads
 * of CLOCK_MONOTONIC, and keeps the read with the narrowest bracket: the
 * others were the likelier to be interrupted. In C so that the bracket
 * holds no cgo call. */
int op_ts_sample(uint16_t port, unsigned tries, uint64_t *tick, int64_t *before, int64_t *after)
{
	int64_t best = -1;
	for (unsigned i = 0; i < tries; i++) {
		uint64_t t;
		int64_t a = op_mono_ns();
		int rc = rte_eth_read_clock(port, &t);
		int64_t b = op_mono_ns();
		if (rc != 0)
			return rc;
		if (best < 0 || b - a < best) {
			best = b - a;
			*tick = t;
			*before = a;
			*after = b;
		}
	}
	return best < 0 ? -EINVAL : 0;
}

/* op_port_has_clock says whether the driver has rte_eth_read_clock at
 * all (some read it only once started: that is found out then). */
int op_port_has_clock(uint16_t port)
{
	uint64_t t;
	return rte_eth_read_clock(port, &t) != -ENOTSUP;
}

struct op_tsclock *op_tsclock_new(int64_t off, uint64_t flag)
{
	struct op_tsclock *c = aligned_alloc(64, sizeof(*c));
	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->off = off;
	c->flag = flag;
	return c;
}

/* op_tsclock_set publishes a conversion: a sequence count, odd while the
 * fields change, lets the rx path (op_tsclock_read) retry a read that a
 * change overlapped instead of taking a lock. One writer at a time (Go
 * holds the driver's lock). */
void op_tsclock_set(struct op_tsclock *c, uint64_t base_tick, int64_t base_ns, uint64_t mult)
{
	uint64_t s = __atomic_load_n(&c->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&c->seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&c->base_tick, base_tick, __ATOMIC_RELAXED);
	__atomic_store_n(&c->base_ns, base_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&c->mult, mult, __ATOMIC_RELAXED);
	__atomic_store_n(&c->seq, s + 2, __ATOMIC_RELEASE);
}

struct op_tsconv {
	uint64_t base_tick;
	int64_t base_ns;
	uint64_t mult;
};

static inline struct op_tsconv op_tsclock_read(const struct op_tsclock *c)
{
	struct op_tsconv v;
	uint64_t s;
	do {
		s = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		v.base_tick = __atomic_load_n(&c->base_tick, __ATOMIC_RELAXED);
		v.base_ns = __atomic_load_n(&c->base_ns, __ATOMIC_RELAXED);
		v.mult = __atomic_load_n(&c->mult, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((s & 1) != 0 || s != __atomic_load_n(&c->seq, __ATOMIC_RELAXED));
	return v;
}

/* op_ts_at is clock.Conversion.At, bit for bit: the difference signed,
 * its magnitude times mult in 128 bits, shifted, signed again; unsigned
 * arithmetic wraps where Go's does. */
static inline int64_t op_ts_at(const struct op_tsconv *v, uint64_t tick)
{
	int64_t d = (int64_t)(tick - v->base_tick);
	uint64_t mag = d < 0 ? -(uint64_t)d : (uint64_t)d;
	uint64_t x = (uint64_t)(((unsigned __int128)mag * v->mult) >> OP_TS_SHIFT);
	return (int64_t)((uint64_t)v->base_ns + (d < 0 ? -x : x));
}

int64_t op_ts_convert(const struct op_tsclock *c, uint64_t tick)
{
	struct op_tsconv v = op_tsclock_read(c);
	return op_ts_at(&v, tick);
}

struct op_rxts *op_rxts_new(const struct op_tsclock *c, unsigned nq)
{
	struct op_rxts *q = aligned_alloc(64, sizeof(*q) * nq);
	if (q == NULL)
		return NULL;
	memset(q, 0, sizeof(*q) * nq);
	for (unsigned i = 0; i < nq; i++)
		q[i].clk = c;
	return q;
}

/* op_rx_stamp writes the receive times of the burst m[0:n] into ts->t and
 * their count into ts->n, or 0 when some frame carries no stamp (a device
 * that stamps only some frames, or a frame the driver made up): the burst
 * then keeps its software time, rather than mixing two clocks within it. */
void op_rx_stamp(struct rte_mbuf **m, uint16_t n, struct op_rxts *ts)
{
	const struct op_tsclock *c = ts->clk;
	uint64_t all = c->flag;
	for (uint16_t i = 0; i < n; i++)
		all &= m[i]->ol_flags;
	if (unlikely(all == 0 || n == 0)) {
		ts->n = 0;
		ts->sw += n;
		return;
	}
	struct op_tsconv v = op_tsclock_read(c);
	for (uint16_t i = 0; i < n; i++)
		ts->t[i] = op_ts_at(&v, *RTE_MBUF_DYNFIELD(m[i], c->off, rte_mbuf_timestamp_t *));
	ts->n = n;
	ts->hw += n;
}
