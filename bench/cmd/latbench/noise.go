package main

/*
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <time.h>

static int64_t lb_now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int lb_pin(int cpu) {
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return sched_setaffinity(0, sizeof s, &s);
}

// lb_probe spins on cpu for ns and counts the gaps between two clock
// reads: time the thread did not run (interrupts, the hypervisor).
static int lb_probe(int cpu, int64_t ns, int64_t *over100us, int64_t *over1ms, int64_t *max) {
	if (lb_pin(cpu) != 0) return -1;
	int64_t last = lb_now(), end = last + ns;
	*over100us = *over1ms = *max = 0;
	for (;;) {
		int64_t t = lb_now(), d = t - last;
		last = t;
		if (t > end) return 0;
		if (d > *max) *max = d;
		if (d > 100000) (*over100us)++;
		if (d > 1000000) (*over1ms)++;
	}
}

static int lb_spin(int cpu, int64_t ns) {
	if (lb_pin(cpu) != 0) return -1;
	int64_t end = lb_now() + ns;
	while (lb_now() < end) {}
	return 0;
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// stalls is what a C loop pinned on the worker CPU saw of its own CPU.
type stalls struct {
	over100us, over1ms int64
	max                time.Duration
}

// machineNoise spins a C loop on cpu for d, with busy threads (C, not
// Go, so no Go scheduler is involved) on each of the load CPUs, and
// reports the gaps it saw: the share of the latency figures that comes
// from the machine, not the daemon. On a VM a busy sibling vCPU can get
// this one descheduled by the host.
func machineNoise(cpu int, load []int, d time.Duration) (stalls, error) {
	var wg sync.WaitGroup
	for _, c := range load {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread() // the thread exits with its pinning
				C.lb_spin(C.int(c), C.int64_t(d+100*time.Millisecond))
			}()
		}
	}
	var s stalls
	var a, b, m C.int64_t
	done := make(chan C.int)
	go func() {
		runtime.LockOSThread()
		done <- C.lb_probe(C.int(cpu), C.int64_t(d), &a, &b, &m)
	}()
	rc := <-done
	wg.Wait()
	if rc != 0 {
		return s, fmt.Errorf("pin the probe to CPU %d", cpu)
	}
	return stalls{over100us: int64(a), over1ms: int64(b), max: time.Duration(m)}, nil
}
