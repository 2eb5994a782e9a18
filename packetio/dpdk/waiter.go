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
// way from a wake-up to the first frame.
type waiter struct {
	efd     int
	ev      *C.struct_rte_epoll_event // the eventfd's entry; DPDK keeps a pointer to it
	watched []watch
	armed   []int                    // indexes into watched
	memif   []*C.struct_op_memif_arm // Wait's list of the armed memif queues
}

// watch is a queue in the epoll set: through ethdev, or for a memif port
// through a duplicate of the ring's own event fd (memif.c).
type watch struct {
	q     packetio.RxQueue
	memif *C.struct_op_memif_arm // nil: ethdev
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
	return &waiter{efd: efd, ev: ev}, nil
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
		if a := w.watched[i].memif; a != nil {
			rc := C.op_memif_unmask(C.uint16_t(p.idx), C.uint16_t(q.Queue), a)
			if rc == -C.ESTALE { // a new connection: watch its fd instead
				C.op_memif_unwatch(a)
				if rc = C.op_memif_watch(C.uint16_t(p.idx), C.uint16_t(q.Queue), a); rc == 0 {
					rc = C.op_memif_unmask(C.uint16_t(p.idx), C.uint16_t(q.Queue), a)
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

// watchQueue puts q in the epoll set unless it is there, and returns its
// index in watched.
func (w *waiter) watchQueue(p *port, q packetio.RxQueue) (int, error) {
	for i := range w.watched {
		if w.watched[i].q != q {
			continue
		}
		// A memif queue whose reconnection failed to watch is out of the
		// set (ev NULL): try again.
		if a := w.watched[i].memif; a != nil && a.ev == nil {
			if rc := C.op_memif_watch(C.uint16_t(p.idx), C.uint16_t(q.Queue), a); rc < 0 {
				return 0, memifError(p, q, rc, "watch memif ring")
			}
		}
		return i, nil
	}
	if p.memifIntr {
		a := (*C.struct_op_memif_arm)(C.calloc(1, C.sizeof_struct_op_memif_arm))
		if rc := C.op_memif_watch(C.uint16_t(p.idx), C.uint16_t(q.Queue), a); rc < 0 {
			C.free(unsafe.Pointer(a))
			return 0, memifError(p, q, rc, "watch memif ring")
		}
		w.watched = append(w.watched, watch{q: q, memif: a})
		return len(w.watched) - 1, nil
	}
	// EEXIST: still in this thread's set from a time its port went away
	// while watched (forget leaves such queues alone).
	if rc := C.op_rx_intr_watch(C.uint16_t(p.idx), C.uint16_t(q.Queue), 1); rc < 0 && rc != -C.EEXIST {
		return 0, fmt.Errorf("port %s queue %d: watch rx interrupt: %s", p.id, q.Queue, C.GoString(C.op_strerror(-rc)))
	}
	w.watched = append(w.watched, watch{q: q})
	return len(w.watched) - 1, nil
}

// unwatch takes watched[i] out of the epoll set (a memif queue: our own
// fd, safe whatever its port is doing; an ethdev one is only forgotten:
// its port may be being stopped) and out of watched. Call it with
// nothing armed.
func (w *waiter) unwatch(i int) {
	if a := w.watched[i].memif; a != nil {
		C.op_memif_unwatch(a)
		C.free(unsafe.Pointer(a))
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

// Wait implements packetio.RxWaiter.
func (w *waiter) Wait(timeout time.Duration) {
	ms := max(int(timeout/time.Millisecond), 1)
	w.memif = w.memif[:0]
	for _, i := range w.armed {
		if a := w.watched[i].memif; a != nil {
			w.memif = append(w.memif, a)
		}
	}
	if len(w.memif) == 0 {
		C.op_epoll_wait(C.int(ms))
		return
	}
	C.op_epoll_wait_memif(C.int(ms), &w.memif[0], C.int(len(w.memif)))
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
		p := x.q.Port.(*port)
		if x.memif != nil {
			C.op_memif_mask(C.uint16_t(p.idx), C.uint16_t(x.q.Queue), x.memif)
			continue
		}
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
}
