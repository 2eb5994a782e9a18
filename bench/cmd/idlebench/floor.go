package main

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// floorProbe measures the anchor of the first-frame figure: how long a
// thread asleep in epoll_wait on an eventfd (pinned to CPU 1, where daemon
// B's worker runs) takes to run again after a thread on CPU 0 writes the
// fd, after the same idle time. That is the kernel's and the hypervisor's
// part of any rx interrupt design on this machine, with nothing of
// openperfd in it; the daemon's path adds its own work on top.
type floorProbe struct {
	efd, ep int
	woke    chan int64
}

func newFloorProbe() (*floorProbe, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}); err != nil {
		unix.Close(ep)
		unix.Close(efd)
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	p := &floorProbe{efd: efd, ep: ep, woke: make(chan int64)}
	go p.sleeper()
	return p, nil
}

// sleeper is the thread on CPU 1: it waits, stamps and reports, until a
// zero write (close) ends it. Its thread dies with it, pinned.
func (p *floorProbe) sleeper() {
	runtime.LockOSThread()
	pin(1)
	evs := make([]unix.EpollEvent, 1)
	var buf [8]byte
	for {
		n, err := unix.EpollWait(p.ep, evs, -1)
		if err != nil || n == 0 {
			continue
		}
		t := monotonic()
		_, _ = unix.Read(p.efd, buf[:])
		if binary.NativeEndian.Uint64(buf[:]) > 1 {
			close(p.woke)
			return
		}
		p.woke <- t
	}
}

// once sleeps idle, then writes the fd from CPU 0 and returns the
// sleeper's wake-up in ns.
func (p *floorProbe) once(idle time.Duration) (ns int64, err error) {
	onCPU(0, func() {
		time.Sleep(idle)
		sent := monotonic()
		if err = p.write(1); err == nil {
			ns = <-p.woke - sent
		}
	})
	return ns, err
}

func (p *floorProbe) write(v uint64) error {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], v)
	if _, err := unix.Write(p.efd, b[:]); err != nil {
		return fmt.Errorf("write eventfd: %w", err)
	}
	return nil
}

func (p *floorProbe) close() {
	if p.write(2) == nil {
		<-p.woke
	}
	unix.Close(p.ep)
	unix.Close(p.efd)
}

// runFloor prints rounds of the floor alone.
func runFloor(idle time.Duration, rounds int) error {
	p, err := newFloorProbe()
	if err != nil {
		return err
	}
	defer p.close()
	fmt.Printf("floor: an epoll wake-up of a thread on CPU 1 by a write on CPU 0, after %v idle\n", idle)
	fmt.Printf("%-6s %18s\n", "round", "wake-up ns")
	for r := 1; r <= rounds; r++ {
		ns, err := p.once(idle)
		if err != nil {
			return err
		}
		fmt.Printf("%-6d %18d\n", r, ns)
	}
	return nil
}

// onCPU runs f on this goroutine's thread pinned to cpu (processes it
// starts inherit that), then gives the thread its CPUs back.
func onCPU(cpu int, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	_ = unix.SchedGetaffinity(0, &old)
	pin(cpu)
	defer unix.SchedSetaffinity(0, &old)
	f()
}

func pin(cpu int) {
	var set unix.CPUSet
	set.Set(cpu)
	_ = unix.SchedSetaffinity(0, &set) // a one-CPU machine: the figure is then a same-CPU one
}

func monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
