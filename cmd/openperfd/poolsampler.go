package main

import (
	"sync"
	"time"

	"github.com/openperfd/openperfd/memory"
)

// poolSampleEvery is how often the pools' use is read between API calls
// while the data plane moves packets. A read is two cgo calls; ten a
// second cost nothing measurable. While nothing moves the sampler sleeps
// until a worker says packets move again (workers.Workers.Active): the
// pools' use does not change meanwhile, and an idle daemon should not
// wake for it.
const poolSampleEvery = 100 * time.Millisecond

// poolSampler reads the driver's pool stats on a timer. A pool's Max is
// the highest use any read of its stats saw; with only the API reading,
// a burst between two GETs never showed, and a daemon whose pool was idle
// at each read (test-mode ring ports hold no rx descriptors) reported max
// 0 however much traffic it had carried.
type poolSampler struct {
	stop chan struct{}
	done sync.WaitGroup
}

// startPoolSampler reads drv's pools every poolSampleEvery from a token
// on active until moved (a count of packets the data plane carried) stops
// growing, then waits for the next token.
func startPoolSampler(drv interface{ Pools() []memory.PoolStats }, active <-chan struct{}, moved func() uint64) *poolSampler {
	s := &poolSampler{stop: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTimer(poolSampleEvery)
		t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-active:
			}
			_ = drv.Pools()
			for last := moved(); ; {
				t.Reset(poolSampleEvery)
				select {
				case <-s.stop:
					return
				case <-t.C:
				}
				n := moved()
				if n == last {
					break
				}
				last = n
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
