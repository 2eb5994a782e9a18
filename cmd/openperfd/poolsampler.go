package main

import (
	"sync"
	"time"

	"github.com/openperfd/openperfd/memory"
)

// poolSampleEvery is how often the pools' use is read between API calls.
// A read is two cgo calls; ten a second cost nothing measurable.
const poolSampleEvery = 100 * time.Millisecond

// poolSampler reads the driver's pool stats on a ticker. A pool's Max is
// the highest use any read of its stats saw; with only the API reading,
// a burst between two GETs never showed, and a daemon whose pool was idle
// at each read (test-mode ring ports hold no rx descriptors) reported max
// 0 however much traffic it had carried.
type poolSampler struct {
	stop chan struct{}
	done sync.WaitGroup
}

func startPoolSampler(drv interface{ Pools() []memory.PoolStats }) *poolSampler {
	s := &poolSampler{stop: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(poolSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				_ = drv.Pools()
			}
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
