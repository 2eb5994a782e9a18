package main

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/openperfd/openperfd/memory"
)

type countingPools struct{ reads atomic.Int64 }

func (c *countingPools) Pools() []memory.PoolStats { c.reads.Add(1); return nil }

// The sampler reads the pools while packets move, not while they do not,
// and never after Stop.
func TestPoolSamplerReadsUntilStopped(t *testing.T) {
	c := &countingPools{}
	var moved atomic.Uint64
	s := startPoolSampler(c, func() uint64 { return moved.Add(1) })
	deadline := time.Now().Add(5 * time.Second)
	for c.reads.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d reads in 5 s, want one every %v", c.reads.Load(), poolSampleEvery)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Stop()
	n := c.reads.Load()
	time.Sleep(3 * poolSampleEvery)
	if c.reads.Load() != n {
		t.Error("the sampler read the pools after Stop returned")
	}
	idle := &countingPools{}
	s = startPoolSampler(idle, func() uint64 { return 7 })
	time.Sleep(3 * poolSampleEvery)
	s.Stop()
	if n := idle.reads.Load(); n != 0 {
		t.Errorf("%d reads while nothing moved, want 0", n)
	}
	var none *poolSampler
	none.Stop() // a daemon that failed before starting it stops cleanly
}
