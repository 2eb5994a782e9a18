package main

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// runFloor measures the anchor of the first-frame figure: how long a thread
// asleep in epoll_wait on an eventfd (pinned to CPU 1, where daemon B's
// worker runs) takes to run again after a thread on CPU 0 writes the fd,
// after the same idle time. That is the kernel's and the hypervisor's part
// of any rx interrupt design on this machine, with nothing of openperfd in
// it; the daemon's path adds its own work on top.
func runFloor(idle time.Duration, rounds int) error {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	defer unix.Close(efd)
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	defer unix.Close(ep)
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	woke := make(chan int64)
	go func() {
		runtime.LockOSThread()
		pin(1)
		evs := make([]unix.EpollEvent, 1)
		var buf [8]byte
		for range rounds {
			for {
				n, err := unix.EpollWait(ep, evs, -1)
				if err == nil && n > 0 {
					break
				}
			}
			t := monotonic()
			_, _ = unix.Read(efd, buf[:])
			woke <- t
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pin(0)
	fmt.Printf("floor: an epoll wake-up of a thread on CPU 1 by a write on CPU 0, after %v idle\n", idle)
	fmt.Printf("%-6s %18s\n", "round", "wake-up ns")
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for r := 1; r <= rounds; r++ {
		time.Sleep(idle)
		sent := monotonic()
		if _, err := unix.Write(efd, one[:]); err != nil {
			return fmt.Errorf("write eventfd: %w", err)
		}
		fmt.Printf("%-6d %18d\n", r, <-woke-sent)
	}
	return nil
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
