package dpdk

/*
#include <errno.h>
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/packetio"
)

// waiter is a packetio.RxWaiter on DPDK's per-thread epoll instance: it
// holds the worker's rx queues in that epoll set, which of them are armed,
// and an eventfd Wake writes to. All methods but Wake run on the worker
// thread that made it.
//
// A queue stays in the epoll set from its first Arm until it leaves the
// worker's plan: a set entry costs nothing while the worker polls, and
// arming and disarming are then writes to the device or the memif ring,
// not syscalls, which on this kind of VM cost tens of microseconds on the
// way from a wake-up to the first frame. For the same reason the wait
// receives from the queue that woke it before it returns (op_wait_rx):
// the queue's next RxBurst hands that burst out.
type waiter struct {
	efd     int
	ev      *C.struct_rte_epoll_event // the eventfd's entry; DPDK keeps a pointer to it
	watched []watch
	armed   []int                   // indexes into watched
	waits   []*C.struct_op_rxq_wait // Wait's list of the armed queues
	// recs holds every queue record this waiter made, by port and queue,
	// until Close. An ethdev queue's epoll entry points at its record and
	// may outlive the watch (see unwatch), so a record is never freed
	// while the thread could still wait.
	recs map[recKey]*C.struct_op_rxq_wait
}

type recKey struct{ port, queue uint16 }

// watch is a queue in the epoll set: through ethdev, or for a memif port
// through a duplicate of the ring's own event fd (memif.c).
type watch struct {
	q     packetio.RxQueue
	rec   *C.struct_op_rxq_wait
	memif bool
}

var _ packetio.RxInterrupts = (*Driver)(nil)

// NewRxWaiter implements packetio.RxInterrupts. Call it on the worker's
// locked thread: the epoll instance is that thread's.
func (d *Driver) NewRxWaiter() (packetio.RxWaiter, error) {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("rx waiter: eventfd: %w", err)
	}
	ev := C.op_waker_add(C.int(efd))
	if ev == nil {
		unix.Close(efd)
		return nil, errors.New("rx waiter: add the wake eventfd to the thread's epoll instance failed")
	}
	return &waiter{efd: efd, ev: ev, recs: map[recKey]*C.struct_op_rxq_wait{}}, nil
}

// Arm implements packetio.RxWaiter.
func (w *waiter) Arm(queues []packetio.RxQueue) error {
	w.forget(queues)
	for _, q := range queues {
		p, ok := q.Port.(*port)
		if !ok {
			w.Disarm(queues)
			return fmt.Errorf("arm rx interrupt: %T is not a DPDK port", q.Port)
		}
		i, err := w.watchQueue(p, q)
		if err != nil {
			w.Disarm(queues)
			return err
		}
		x := w.watched[i]
		// What op_rx_burst gets for the queue, as of now: the port cannot
		// change while the worker waits (it stays a QSBR reader online).
		x.rec.st = C.uintptr_t(uintptr(unsafe.Pointer(&p.qstats[q.Queue])))
		x.rec.pcp, x.rec.tsp, x.rec.jumbo = p.pcp(int(q.Queue)), p.tsp(q.Queue), p.rxJumbo
		if x.memif {
			rc := C.op_memif_unmask(x.rec)
			if rc == -C.ESTALE { // a new connection: watch its fd instead
				C.op_memif_unwatch(&x.rec.memif)
				if rc = C.op_memif_watch(x.rec); rc == 0 {
					rc = C.op_memif_unmask(x.rec)
				}
			}
			if rc < 0 {
				w.Disarm(queues)
				return memifError(p, q, rc, "arm memif ring")
			}
		} else if rc := C.op_rx_intr_arm(C.uint16_t(p.idx), C.uint16_t(q.Queue), 1); rc < 0 && rc != -C.ENOTSUP {
			// ENOTSUP: the queue always signals (tap's event fd is the
			// queue's own file descriptor), there is nothing to turn on.
			w.Disarm(queues)
			return fmt.Errorf("port %s queue %d: enable rx interrupt: %s", p.id, q.Queue, C.GoString(C.op_strerror(-rc)))
		}
		w.armed = append(w.armed, i)
	}
	return nil
}

// record is the queue record of p's queue q, made on first use.
func (w *waiter) record(p *port, q uint16) *C.struct_op_rxq_wait {
	k := recKey{uint16(p.idx), q}
	r := w.recs[k]
	if r == nil {
		r = (*C.struct_op_rxq_wait)(C.calloc(1, C.sizeof_struct_op_rxq_wait))
		r.port, r.q = C.uint16_t(p.idx), C.uint16_t(q)
		w.recs[k] = r
	}
	return r
}

// watchQueue puts q in the epoll set unless it is there, and returns its
// index in watched.
func (w *waiter) watchQueue(p *port, q packetio.RxQueue) (int, error) {
	for i := range w.watched {
		if w.watched[i].q != q {
			continue
		}
		// A memif queue whose reconnection failed to watch is out of the
		// set (ev NULL): try again.
		if x := w.watched[i]; x.memif && x.rec.memif.ev == nil {
			if rc := C.op_memif_watch(x.rec); rc < 0 {
				return 0, memifError(p, q, rc, "watch memif ring")
			}
		}
		return i, nil
	}
	rec := w.record(p, q.Queue)
	if p.memifIntr {
		if rc := C.op_memif_watch(rec); rc < 0 {
			return 0, memifError(p, q, rc, "watch memif ring")
		}
		w.watched = append(w.watched, watch{q: q, rec: rec, memif: true})
		return len(w.watched) - 1, nil
	}
	// EEXIST: still in this thread's set from a time its port went away
	// while watched (forget leaves such queues alone); its entry points
	// at this same record.
	if rc := C.op_rx_intr_watch(rec, 1); rc < 0 && rc != -C.EEXIST {
		return 0, fmt.Errorf("port %s queue %d: watch rx interrupt: %s", p.id, q.Queue, C.GoString(C.op_strerror(-rc)))
	}
	w.watched = append(w.watched, watch{q: q, rec: rec})
	return len(w.watched) - 1, nil
}

// unwatch takes watched[i] out of the epoll set (a memif queue: our own
// fd, safe whatever its port is doing; an ethdev one is only forgotten:
// its port may be being stopped) and out of watched, and frees a burst
// the wait received from it that no RxBurst took. Call it with nothing
// armed.
func (w *waiter) unwatch(i int) {
	x := w.watched[i]
	C.op_rx_unstash(x.rec)
	if x.memif {
		C.op_memif_unwatch(&x.rec.memif)
	}
	w.watched = slices.Delete(w.watched, i, i+1)
}

// forget unwatches the queues not in keep: they left the worker's plan.
func (w *waiter) forget(keep []packetio.RxQueue) {
	for i := len(w.watched) - 1; i >= 0; i-- {
		if !contains(keep, w.watched[i].q) {
			w.unwatch(i)
		}
	}
}

// errMemifNotConnected: a memif port has no ring to watch until its peer
// connects; the worker polls and tries again.
var errMemifNotConnected = fmt.Errorf("memif not connected yet: %w", packetio.ErrRxIntrNotReady)

// memifError is the error of a memif.c call on q that returned rc < 0.
func memifError(p *port, q packetio.RxQueue, rc C.int, what string) error {
	if rc == -C.EAGAIN {
		return fmt.Errorf("port %s queue %d: %w", p.id, q.Queue, errMemifNotConnected)
	}
	return fmt.Errorf("port %s queue %d: %s: %s", p.id, q.Queue, what, C.GoString(C.op_strerror(-rc)))
}

// Wait implements packetio.RxWaiter. A queue that ends the wait has
// been received from when it returns (its next RxBurst gives that burst),
// so its frames are stamped on the way out of the sleep, not after the
// return to Go.
func (w *waiter) Wait(timeout time.Duration) {
	ms := max(int(timeout/time.Millisecond), 1)
	w.waits = w.waits[:0]
	for _, i := range w.armed {
		w.waits = append(w.waits, w.watched[i].rec)
	}
	var qs **C.struct_op_rxq_wait
	if len(w.waits) > 0 {
		qs = &w.waits[0]
	}
	C.op_wait_rx(C.int(ms), qs, C.int(len(w.waits)))
}

// Disarm implements packetio.RxWaiter. The armed queues in keep are
// disarmed (no syscall) and stay in the epoll set; the others are
// unwatched.
func (w *waiter) Disarm(keep []packetio.RxQueue) {
	for _, i := range w.armed {
		x := w.watched[i]
		if !contains(keep, x.q) {
			continue
		}
		if x.memif {
			C.op_memif_mask(&x.rec.memif)
			continue
		}
		p := x.q.Port.(*port)
		C.op_rx_intr_arm(C.uint16_t(p.idx), C.uint16_t(x.q.Queue), 0)
	}
	w.armed = w.armed[:0]
	w.forget(keep)
}

func contains(qs []packetio.RxQueue, q packetio.RxQueue) bool {
	for _, x := range qs {
		if x == q {
			return true
		}
	}
	return false
}

// Wake implements packetio.RxWaiter: the eventfd makes the next or
// current epoll wait return; DPDK's callback reads it empty again.
func (w *waiter) Wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		_, err := unix.Write(w.efd, one[:])
		if err != syscall.EINTR {
			return // EAGAIN: the counter is full, a wake-up is pending anyway
		}
	}
}

// Close implements packetio.RxWaiter.
func (w *waiter) Close() {
	w.Disarm(nil)
	C.op_waker_del(C.int(w.efd), w.ev)
	unix.Close(w.efd)
	for _, r := range w.recs {
		C.free(unsafe.Pointer(r))
	}
	w.recs = nil
}
