/* Rx interrupts for memif ports.
 *
 * The memif protocol has them: each ring has an event fd that the sender
 * writes after a burst unless the receiver set MEMIF_RING_FLAG_MASK_INT in
 * the ring's flags, and DPDK's memif driver reads that fd empty on receipt
 * while the flag is clear. But the driver does not offer them through
 * ethdev (no rx_queue_intr_enable; rte_eth_dev_rx_intr_ctl_q refuses), and
 * masks its receive rings for polling. So openperfd reaches into the
 * driver's queue for the ring and its fd, as the memif protocol lets any
 * receiver: unmask the ring and sleep on the fd while idle, mask it again
 * while polling (the sender then makes no syscall per burst).
 *
 * The queue and region structures are the driver's private ones; they are
 * mirrored below for DPDK 22.11 only, where they are known, and every
 * pointer followed is checked against what the public API says (the port's
 * name, its fast-path queue pointer, the queue's port and ring type, the
 * ring's cookie) before anything is written. Any other DPDK, or a check
 * that fails, leaves the port polled as before. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_version.h>

#include "shim.h"

#if RTE_VERSION >= RTE_VERSION_NUM(22, 11, 0, 0) && RTE_VERSION < RTE_VERSION_NUM(22, 12, 0, 0)
#define OP_MEMIF_KNOWN 1
#endif

#ifdef OP_MEMIF_KNOWN

#define OP_MEMIF_COOKIE 0x3E31F20
#define OP_MEMIF_RING_FLAG_MASK_INT 1
#define OP_MEMIF_ROLE_SERVER 0
#define OP_MEMIF_ROLE_CLIENT 1
#define OP_MEMIF_RING_C2S 0
#define OP_MEMIF_RING_S2C 1
#define OP_MEMIF_FLAG_CONNECTED (1 << 1)
#define OP_MEMIF_MAX_REGIONS 256

/* The start of struct rte_eth_dev (ethdev_driver.h, not installed). */
struct op_eth_dev_data_head {
	char name[RTE_ETH_NAME_MAX_LEN];
	void **rx_queues;
	void **tx_queues;
	uint16_t nb_rx_queues;
	uint16_t nb_tx_queues;
	struct {
		uint8_t active;
		uint8_t nb_q_per_pool;
		uint16_t def_vmdq_idx;
		uint16_t def_pool_q_idx;
	} sriov;
	void *dev_private;
};

struct op_eth_dev_head {
	void *fast_path[6]; /* rx/tx burst, tx prepare, queue count, descriptor status x2 */
	struct op_eth_dev_data_head *data;
	void *process_private;
};

/* drivers/net/memif/rte_eth_memif.h and memif.h of 22.11. */
struct op_memif_region {
	void *addr;
	uint64_t region_size;
	int fd;
	uint32_t pkt_buffer_offset;
};

struct op_memif_queue {
	struct rte_mempool *mempool;
	void *pmd; /* unset by the driver: the port's dev_private is its internals */
	int type; /* memif_ring_type_t, an enum */
	uint16_t region;
	uint16_t in_port;
	uint32_t ring_offset;
	uint16_t last_head;
	uint16_t last_tail;
	struct rte_mbuf **buffers;
	uint64_t n_pkts;
	uint64_t n_bytes;
	struct rte_intr_handle *intr_handle;
	uint8_t log2_ring_size;
};

struct op_memif_internals {
	uint32_t id;
	int role; /* enum memif_role_t */
	uint32_t flags;
};

struct op_memif_process_private {
	struct op_memif_region *regions[OP_MEMIF_MAX_REGIONS];
	uint16_t regions_num;
};

struct op_memif_ring_head {
	uint32_t cookie;
	uint16_t flags;
	uint16_t head;
};

/* Internal to ethdev but exported (INTERNAL version): the device by name. */
extern struct op_eth_dev_head *rte_eth_dev_allocated(const char *name);

int op_memif_port(uint16_t port)
{
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port, &info) != 0 || info.driver_name == NULL)
		return 0;
	return strcmp(info.driver_name, "net_memif") == 0;
}

/* op_memif_ring_now is the ring of the queue arm was made for, found
 * from the queue and the port as they are now (a reconnection maps new
 * regions), or NULL while the port is not connected. It follows only
 * pointers that live as long as the port's queues, checks the ring's
 * cookie, and costs no call: it runs on the way from a wake-up to the
 * first frame. DPDK's own rx reads the ring under the same test. */
static struct op_memif_ring_head *op_memif_ring_now(const struct op_memif_arm *arm)
{
	const struct op_memif_queue *mq = arm->mq;
	const struct op_memif_internals *pmd = arm->pmd;
	const struct op_eth_dev_head *dev = arm->dev;
	if ((__atomic_load_n(&pmd->flags, __ATOMIC_ACQUIRE) & OP_MEMIF_FLAG_CONNECTED) == 0)
		return NULL;
	const struct op_memif_process_private *pp = dev->process_private;
	if (pp == NULL || mq->region >= pp->regions_num)
		return NULL;
	const struct op_memif_region *r = pp->regions[mq->region];
	if (r == NULL || r->addr == NULL || (uint64_t)mq->ring_offset + sizeof(struct op_memif_ring_head) > r->region_size)
		return NULL;
	struct op_memif_ring_head *rg = (struct op_memif_ring_head *)((uint8_t *)r->addr + mq->ring_offset);
	return rg->cookie == OP_MEMIF_COOKIE ? rg : NULL;
}

/* op_memif_rxq finds memif port's rx queue q, its ring and event fd:
 * fills arm's mq, pmd and dev and returns 0, -ENOTSUP when the driver is
 * not what this file knows, -EAGAIN while the port is not connected (no
 * ring, no fd yet). */
static int op_memif_rxq(uint16_t port, uint16_t q, struct op_memif_arm *arm, struct op_memif_ring_head **ring, int *fd)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	if (!op_memif_port(port) || rte_eth_dev_get_name_by_port(port, name) != 0)
		return -ENOTSUP;
	struct op_eth_dev_head *dev = rte_eth_dev_allocated(name);
	if (dev == NULL || dev->data == NULL || strncmp(dev->data->name, name, sizeof(name)) != 0 ||
	    q >= dev->data->nb_rx_queues || dev->data->rx_queues == NULL)
		return -ENOTSUP;
	struct op_memif_queue *mq = dev->data->rx_queues[q];
	if (mq == NULL || (void *)mq != rte_eth_fp_ops[port].rxq.data[q] || mq->in_port != port ||
	    dev->data->dev_private == NULL)
		return -ENOTSUP;
	struct op_memif_internals *pmd = dev->data->dev_private;
	int want;
	if (pmd->role == OP_MEMIF_ROLE_SERVER)
		want = OP_MEMIF_RING_C2S;
	else if (pmd->role == OP_MEMIF_ROLE_CLIENT)
		want = OP_MEMIF_RING_S2C;
	else
		return -ENOTSUP;
	if (mq->type != want)
		return -ENOTSUP;
	arm->mq = mq;
	arm->pmd = pmd;
	arm->dev = dev;
	if ((__atomic_load_n(&pmd->flags, __ATOMIC_ACQUIRE) & OP_MEMIF_FLAG_CONNECTED) == 0)
		return -EAGAIN;
	struct op_memif_process_private *pp = dev->process_private;
	if (pp == NULL || mq->region >= pp->regions_num || pp->regions[mq->region] == NULL ||
	    pp->regions[mq->region]->addr == NULL)
		return -EAGAIN;
	struct op_memif_ring_head *rg = op_memif_ring_now(arm);
	if (rg == NULL)
		return -ENOTSUP;
	int efd = rte_intr_fd_get(mq->intr_handle);
	if (efd < 0)
		return -EAGAIN;
	*ring = rg;
	*fd = efd;
	return 0;
}

/* op_memif_same_file reports whether our duplicate fd and the queue's fd
 * qfd are one eventfd. The fd number alone does not tell: a reconnection
 * closes the old fd and its new one often gets the same number. kcmp
 * does; where the kernel has no kcmp, the number is all there is. */
static int op_memif_same_file(int fd, int qfd, int armed_qfd)
{
	pid_t self = getpid();
	long rc = syscall(SYS_kcmp, self, self, KCMP_FILE, fd, qfd);
	if (rc >= 0)
		return rc == 0;
	return qfd == armed_qfd;
}

static void op_memif_drain(int fd, void *arg)
{
	(void)arg;
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v)); /* non-blocking: EAGAIN is fine */
	(void)n;
}

int op_memif_watch(struct op_rxq_wait *w)
{
	struct op_memif_arm *arm = &w->memif;
	struct op_memif_ring_head *ring;
	int qfd;
	int rc = op_memif_rxq(w->port, w->q, arm, &ring, &qfd);
	if (rc != 0)
		return rc;
	/* A descriptor of our own: the driver closes its fd when the peer
	 * goes, while the peer may still hold the eventfd, and epoll would
	 * then keep an entry under a number we no longer own. */
	int fd = dup(qfd);
	if (fd < 0)
		return -errno;
	struct rte_epoll_event *ev = calloc(1, sizeof(*ev));
	if (ev == NULL) {
		close(fd);
		return -ENOMEM;
	}
	/* No callback drains the fd on a wake-up, a system call on the way
	 * to the first frame: the wait ends then, and the next arming
	 * (op_memif_unmask) drains it before the next. */
	ev->epdata.event = EPOLLIN;
	ev->epdata.data = w; /* op_wait_rx receives from the queue that woke it */
	if (rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD, fd, ev) != 0) {
		free(ev);
		close(fd);
		return -EINVAL;
	}
	arm->fd = fd;
	arm->qfd = qfd;
	arm->ev = ev;
	return 0;
}

void op_memif_unwatch(struct op_memif_arm *arm)
{
	if (arm->ev == NULL)
		return;
	rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL, arm->fd, arm->ev);
	close(arm->fd);
	free(arm->ev);
	arm->ev = NULL;
	arm->fd = -1;
}

int op_memif_unmask(struct op_rxq_wait *w)
{
	struct op_memif_arm *arm = &w->memif;
	struct op_memif_arm now;
	struct op_memif_ring_head *ring;
	int qfd;
	/* Only on the connection the watched fd belongs to (a reconnection
	 * often reuses the fd number: compare the files). */
	if (arm->ev == NULL || op_memif_rxq(w->port, w->q, &now, &ring, &qfd) != 0 ||
	    !op_memif_same_file(arm->fd, qfd, arm->qfd))
		return -ESTALE;
	/* What the sender wrote before it saw the last mask would end the
	 * coming wait at once. */
	op_memif_drain(arm->fd, NULL);
	/* Then (the caller) look at the ring once more: a burst the sender
	 * placed before it saw the flag clear is found by that look, any
	 * later one writes the fd. */
	__atomic_and_fetch(&ring->flags, (uint16_t)~OP_MEMIF_RING_FLAG_MASK_INT, __ATOMIC_SEQ_CST);
	return 0;
}

void op_memif_mask(struct op_memif_arm *arm)
{
	/* Polling again: the sender stops writing the fd. Whatever the
	 * connection now is: a new connection's ring starts masked, so
	 * masking it does no harm. */
	struct op_memif_ring_head *ring = arm->mq != NULL ? op_memif_ring_now(arm) : NULL;
	if (ring != NULL)
		__atomic_or_fetch(&ring->flags, (uint16_t)OP_MEMIF_RING_FLAG_MASK_INT, __ATOMIC_SEQ_CST);
}

/* op_memif_alive reports whether arm still watches its queue's
 * connection: connected, with the fd it was armed with. It reads only the
 * queue and the driver's internals, which live as long as the port's
 * queues (a port is not stopped while a worker waits on it), never the
 * regions a disconnection frees. */
int op_memif_alive(const struct op_memif_arm *arm)
{
	const struct op_memif_queue *mq = arm->mq;
	const struct op_memif_internals *pmd = arm->pmd;
	if ((__atomic_load_n(&pmd->flags, __ATOMIC_ACQUIRE) & OP_MEMIF_FLAG_CONNECTED) == 0)
		return 0;
	int qfd = rte_intr_fd_get(mq->intr_handle);
	return qfd >= 0 && op_memif_same_file(arm->fd, qfd, arm->qfd);
}

#else /* another DPDK: memif ports are polled */

int op_memif_port(uint16_t port)
{
	(void)port;
	return 0;
}

int op_memif_watch(struct op_rxq_wait *w)
{
	(void)w;
	return -ENOTSUP;
}

void op_memif_unwatch(struct op_memif_arm *arm) { (void)arm; }

int op_memif_unmask(struct op_rxq_wait *w)
{
	(void)w;
	return -ENOTSUP;
}

void op_memif_mask(struct op_memif_arm *arm) { (void)arm; }

int op_memif_alive(const struct op_memif_arm *arm)
{
	(void)arm;
	return 0;
}

#endif /* OP_MEMIF_KNOWN */
