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
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/packetio"
)

// waiter is a packetio.RxWaiter on DPDK's per-thread epoll instance: it
// holds the worker's armed rx queues and an eventfd Wake writes to. All
// methods but Wake run on the worker thread that made it.
type waiter struct {
	efd   int
	ev    *C.struct_rte_epoll_event // the eventfd's entry; DPDK keeps a pointer to it
	armed []armedQueue
	memif []*C.struct_op_memif_arm // Wait's list of the armed memif queues
}

// armedQueue is a queue Arm armed: through ethdev, or for a memif port
// through the ring's own event fd (memif.c).
type armedQueue struct {
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
	for _, q := range queues {
		p, ok := q.Port.(*port)
		if !ok {
			w.Disarm(queues)
			return fmt.Errorf("arm rx interrupt: %T is not a DPDK port", q.Port)
		}
		if p.memifIntr {
			a := (*C.struct_op_memif_arm)(C.calloc(1, C.sizeof_struct_op_memif_arm))
			if rc := C.op_memif_intr_arm(C.uint16_t(p.idx), C.uint16_t(q.Queue), a); rc < 0 {
				C.free(unsafe.Pointer(a))
				w.Disarm(queues)
				if rc == -C.EAGAIN {
					return fmt.Errorf("port %s queue %d: %w", p.id, q.Queue, errMemifNotConnected)
				}
				return fmt.Errorf("port %s queue %d: watch memif ring: %s", p.id, q.Queue, C.GoString(C.op_strerror(-rc)))
			}
			w.armed = append(w.armed, armedQueue{q: q, memif: a})
			continue
		}
		// EEXIST: still in this thread's set from an earlier Arm whose
		// port went away before Disarm could take it out.
		if rc := C.op_rx_intr_watch(C.uint16_t(p.idx), C.uint16_t(q.Queue), 1); rc < 0 && rc != -C.EEXIST {
			w.Disarm(queues)
			return fmt.Errorf("port %s queue %d: watch rx interrupt: %s", p.id, q.Queue, C.GoString(C.op_strerror(-rc)))
		}
		w.armed = append(w.armed, armedQueue{q: q})
		// ENOTSUP: the queue always signals (tap's event fd is the
		// queue's own file descriptor), there is nothing to turn on.
		if rc := C.op_rx_intr_arm(C.uint16_t(p.idx), C.uint16_t(q.Queue), 1); rc < 0 && rc != -C.ENOTSUP {
			w.Disarm(queues)
			return fmt.Errorf("port %s queue %d: enable rx interrupt: %s", p.id, q.Queue, C.GoString(C.op_strerror(-rc)))
		}
	}
	return nil
}

// errMemifNotConnected: a memif port has no ring to watch until its peer
// connects; the worker polls and tries again.
var errMemifNotConnected = fmt.Errorf("memif not connected yet: %w", packetio.ErrRxIntrNotReady)

// Wait implements packetio.RxWaiter.
func (w *waiter) Wait(timeout time.Duration) {
	ms := max(int(timeout/time.Millisecond), 1)
	w.memif = w.memif[:0]
	for _, a := range w.armed {
		if a.memif != nil {
			w.memif = append(w.memif, a.memif)
		}
	}
	if len(w.memif) == 0 {
		C.op_epoll_wait(C.int(ms))
		return
	}
	C.op_epoll_wait_memif(C.int(ms), &w.memif[0], C.int(len(w.memif)))
}

// Disarm implements packetio.RxWaiter. A memif queue's fd leaves the
// epoll set whether or not its port is still in keep (that touches only
// this thread's epoll instance); its ring is masked again only if so.
func (w *waiter) Disarm(keep []packetio.RxQueue) {
	for _, a := range w.armed {
		p := a.q.Port.(*port)
		kept := contains(keep, a.q)
		if a.memif != nil {
			C.op_memif_intr_disarm(C.uint16_t(p.idx), C.uint16_t(a.q.Queue), a.memif, cbool(kept))
			C.free(unsafe.Pointer(a.memif))
			continue
		}
		if !kept {
			continue
		}
		C.op_rx_intr_arm(C.uint16_t(p.idx), C.uint16_t(a.q.Queue), 0)
		C.op_rx_intr_watch(C.uint16_t(p.idx), C.uint16_t(a.q.Queue), 0)
	}
	w.armed = w.armed[:0]
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
