package dpdk

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packetio"
)

// mempool is what the driver's pools share: the rte_mempool and the
// counters their Stats report; safe for concurrent use.
type mempool struct {
	name     string
	size     int
	mp       *C.struct_rte_mempool
	failures atomic.Int64
	maxUsed  atomic.Int64
}

// stats is Stats with used buffers in use and avail free. Max is the
// highest use seen by any call, so a sampler (the API, the stats ticker)
// makes it meaningful.
func (p *mempool) stats(avail, used int64) memory.PoolStats {
	for {
		m := p.maxUsed.Load()
		if used <= m || p.maxUsed.CompareAndSwap(m, used) {
			break
		}
	}
	return memory.PoolStats{
		Name: p.name, Available: avail, Used: used, Max: p.maxUsed.Load(),
		Size: int64(p.size), Errors: p.failures.Load(),
	}
}

func (p *mempool) free() {
	if p.mp != nil {
		C.op_pool_free(p.mp)
		p.mp = nil
	}
}

// pool is an rte_mempool of packet buffers; safe for concurrent use.
type pool struct{ mempool }

var _ packetio.RefPool = (*pool)(nil)

// newPool makes a pool of n buffers of room bytes of data room (headroom
// included: memory.DefaultBufSize or memory.JumboBufSize).
func newPool(name string, n, cache, room int) (*pool, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	mp := C.op_pool_create(cname, C.uint(n), C.uint(cache), C.uint16_t(room), 0)
	if mp == nil {
		return nil, fmt.Errorf("create mbuf pool %s of %d buffers: %s (raise -m or lower the pool size)",
			name, n, C.GoString(C.op_strerror(C.op_errno())))
	}
	return &pool{mempool{name: name, size: n, mp: mp}}, nil
}

// Alloc implements packetio.Pool.
func (p *pool) Alloc(pkts []*packetio.Mbuf) bool {
	if len(pkts) == 0 {
		return true
	}
	if C.op_pool_alloc_bulk(p.mp, C.uintptr_t(uintptr(unsafe.Pointer(unsafe.SliceData(pkts)))), C.uint(len(pkts))) != 0 {
		p.failures.Add(1)
		return false
	}
	return true
}

// Free implements packetio.Pool.
func (p *pool) Free(pkts []*packetio.Mbuf) {
	if len(pkts) == 0 {
		return
	}
	C.op_free_bulk(C.uintptr_t(uintptr(unsafe.Pointer(unsafe.SliceData(pkts)))), C.uint(len(pkts)))
}

// AddRef implements packetio.RefPool (rte_mbuf_refcnt_update: atomic).
func (p *pool) AddRef(m *packetio.Mbuf, n int) {
	C.op_refcnt_update(C.uintptr_t(uintptr(unsafe.Pointer(m))), C.int(n))
}

// Stats implements packetio.Pool.
func (p *pool) Stats() memory.PoolStats {
	return p.stats(int64(C.op_pool_avail(p.mp)), int64(C.op_pool_in_use(p.mp)))
}

// recyclePool is the driver's packetio.RecyclePool (recycle.c); safe for
// concurrent use.
type recyclePool struct{ mempool }

var _ packetio.RecyclePool = (*recyclePool)(nil)

// newRecyclePool makes a recycle pool of n buffers of room bytes of data
// room (headroom included).
func newRecyclePool(name string, n, room int) (*recyclePool, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	mp := C.op_recycle_create(cname, C.uint(n), C.uint16_t(room), 0)
	if mp == nil {
		return nil, fmt.Errorf("create recycle pool %s of %d buffers: %s (raise -m or lower the pool size)",
			name, n, C.GoString(C.op_strerror(C.op_errno())))
	}
	return &recyclePool{mempool{name: name, size: n, mp: mp}}, nil
}

// Take implements packetio.RecyclePool.
func (p *recyclePool) Take(pkts []*packetio.Mbuf) bool {
	if len(pkts) == 0 {
		return true
	}
	if C.op_recycle_take(p.mp, C.uintptr_t(uintptr(unsafe.Pointer(unsafe.SliceData(pkts)))), C.uint(len(pkts))) != 0 {
		p.failures.Add(1)
		return false
	}
	return true
}

// Give implements packetio.RecyclePool.
func (p *recyclePool) Give(pkts []*packetio.Mbuf) {
	if len(pkts) == 0 {
		return
	}
	C.op_recycle_give(p.mp, C.uintptr_t(uintptr(unsafe.Pointer(unsafe.SliceData(pkts)))), C.uint(len(pkts)))
}

// Stats implements packetio.RecyclePool.
func (p *recyclePool) Stats() memory.PoolStats {
	used := int64(C.op_recycle_in_use(p.mp))
	return p.stats(int64(p.size)-used, used)
}
