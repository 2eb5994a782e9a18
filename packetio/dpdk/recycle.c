/* The recycle pool: a mempool whose buffers their owner (a generator's
 * ring of recycled frames) sends again and again, without reference
 * counts held over the send.
 *
 * A generator that sends the same buffers over and over used to keep
 * extra references on them, so a port's free (rte_pktmbuf_free) only
 * took one away; that free is an atomic decrement, which on net_null cost
 * about a third of a 64-frame burst. Here a buffer goes to a port with
 * one reference, the port frees it as any buffer, and the free reaches
 * this pool's enqueue (the pool has no per-lcore cache), which marks it
 * back by setting its reference count to 0 with a plain release store.
 * The owner sees 0, writes the next frame over the one that is there and
 * sets 1 before sending it again. Nobody takes buffers from the pool
 * through the mempool API (dequeue fails): owners take and give them with
 * op_recycle_take and op_recycle_give. A buffer given back while a port
 * still holds it waits in limbo until its free marks it.
 *
 * A buffer's states, by reference count: 1 in the free list; 0 an
 * owner's, not held by any port; 1 or more an owner's (or in limbo), held
 * by ports. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "shim.h"

struct op_recycle {
	pthread_mutex_t mu;
	unsigned nfree, nlimbo;
	struct rte_mbuf **free;  /* no owner's */
	struct rte_mbuf **limbo; /* given back while a port held them */
};

static int rc_alloc(struct rte_mempool *mp)
{
	struct op_recycle *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->free = calloc(mp->size, sizeof(*r->free));
	r->limbo = calloc(mp->size, sizeof(*r->limbo));
	if (r->free == NULL || r->limbo == NULL) {
		free(r->free);
		free(r->limbo);
		free(r);
		return -ENOMEM;
	}
	pthread_mutex_init(&r->mu, NULL);
	mp->pool_data = r;
	return 0;
}

static void rc_free(struct rte_mempool *mp)
{
	struct op_recycle *r = mp->pool_data;
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r->free);
	free(r->limbo);
	free(r);
	mp->pool_data = NULL;
}

/* A port's free (and the pool's own population): the buffer is back with
 * its owner. The store releases what the port read of it. */
static int rc_enqueue(struct rte_mempool *mp, void *const *objs, unsigned n)
{
	(void)mp;
	for (unsigned i = 0; i < n; i++)
		__atomic_store_n(&((struct rte_mbuf *)objs[i])->refcnt, 0, __ATOMIC_RELEASE);
	return 0;
}

static int rc_dequeue(struct rte_mempool *mp, void **objs, unsigned n)
{
	(void)mp, (void)objs, (void)n;
	return -ENOBUFS;
}

static unsigned rc_get_count(const struct rte_mempool *mp)
{
	struct op_recycle *r = mp->pool_data;
	return r == NULL ? 0 : __atomic_load_n(&r->nfree, __ATOMIC_RELAXED);
}

static const struct rte_mempool_ops rc_ops = {
	.name = "openperfd_recycle",
	.alloc = rc_alloc,
	.free = rc_free,
	.enqueue = rc_enqueue,
	.dequeue = rc_dequeue,
	.get_count = rc_get_count,
};

RTE_MEMPOOL_REGISTER_OPS(rc_ops);

static void rc_add(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	(void)arg, (void)idx;
	struct op_recycle *r = mp->pool_data;
	struct rte_mbuf *m = obj;
	rte_mbuf_refcnt_set(m, 1);
	r->free[r->nfree++] = m;
}

struct rte_mempool *op_recycle_create(const char *name, unsigned n, uint16_t room, int socket)
{
	struct rte_mempool *mp = op_pktmbuf_pool(name, n, 0, room, socket, rc_ops.name);
	if (mp != NULL)
		rte_mempool_obj_iter(mp, rc_add, NULL);
	return mp;
}

/* Moves the buffers in limbo that ports have freed to the free list.
 * Called with the lock held. */
static void rc_reap(struct op_recycle *r)
{
	unsigned k = 0;
	for (unsigned i = 0; i < r->nlimbo; i++) {
		struct rte_mbuf *m = r->limbo[i];
		if (__atomic_load_n(&m->refcnt, __ATOMIC_ACQUIRE) == 0) {
			rte_mbuf_refcnt_set(m, 1);
			r->free[r->nfree++] = m;
		} else {
			r->limbo[k++] = m;
		}
	}
	r->nlimbo = k;
}

int op_recycle_take(struct rte_mempool *mp, uintptr_t pkts, unsigned n)
{
	struct op_recycle *r = mp->pool_data;
	struct rte_mbuf **out = (struct rte_mbuf **)pkts;
	pthread_mutex_lock(&r->mu);
	rc_reap(r);
	if (r->nfree < n) {
		pthread_mutex_unlock(&r->mu);
		return -ENOBUFS;
	}
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = r->free[--r->nfree];
		rte_mbuf_refcnt_set(m, 0);
		out[i] = m;
	}
	pthread_mutex_unlock(&r->mu);
	return 0;
}

void op_recycle_give(struct rte_mempool *mp, uintptr_t pkts, unsigned n)
{
	struct op_recycle *r = mp->pool_data;
	struct rte_mbuf **in = (struct rte_mbuf **)pkts;
	pthread_mutex_lock(&r->mu);
	for (unsigned i = 0; i < n; i++)
		r->limbo[r->nlimbo++] = in[i];
	rc_reap(r);
	pthread_mutex_unlock(&r->mu);
}

/* Buffers not in the free list: owners' and in limbo (after a reap). */
unsigned op_recycle_in_use(struct rte_mempool *mp)
{
	struct op_recycle *r = mp->pool_data;
	pthread_mutex_lock(&r->mu);
	rc_reap(r);
	unsigned n = mp->size - r->nfree;
	pthread_mutex_unlock(&r->mu);
	return n;
}
