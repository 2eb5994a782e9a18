package main

import (
	"sync"
	"time"

	"github.com/openperfd/openperfd/memory"
)

// poolSampleEvery is how often the pools' use is read between API calls
// while the data plane moves packets. A read is two cgo calls; ten a
// second cost nothing measurable. While nothing moves the sampler only
// checks every poolIdleCheck whether something does: the pools' use does
// not change then, and an idle daemon should not wake ten times a second.
const (
	poolSampleEvery = 100 * time.Millisecond
	poolIdleCheck   = time.Second
)

// poolSampler reads the driver's pool stats on a timer. A pool's Max is
// the highest use any read of its stats saw; with only the API reading,
// a burst between two GETs never showed, and a daemon whose pool was idle
// at each read (test-mode ring ports hold no rx descriptors) reported max
// 0 however much traffic it had carried.
type poolSampler struct {
	stop chan struct{}
	done sync.WaitGroup
}

// startPoolSampler reads drv's pools while moved (a count of packets the
// data plane carried) grows.
func startPoolSampler(drv interface{ Pools() []memory.PoolStats }, moved func() uint64) *poolSampler {
	s := &poolSampler{stop: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTimer(poolSampleEvery)
		defer t.Stop()
		last := moved()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			next := poolIdleCheck
			if n := moved(); n != last {
				last = n
				_ = drv.Pools()
				next = poolSampleEvery
			}
			t.Reset(next)
		}
	}()
	return s
}

// Stop ends the sampler and waits for it, so it never reads a pool the
// driver is freeing.
func (s *poolSampler) Stop() {
	if s == nil {
		return
	}
	close(s.stop)
	s.done.Wait()
}
