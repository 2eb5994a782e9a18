package main

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/openperfd/openperfd/memory"
)

type countingPools struct{ reads atomic.Int64 }

func (c *countingPools) Pools() []memory.PoolStats { c.reads.Add(1); return nil }

// The sampler reads the pools from a token on active while packets move,
// not while they do not (nor without a token), and never after Stop.
func TestPoolSamplerReadsUntilStopped(t *testing.T) {
	c := &countingPools{}
	active := make(chan struct{}, 1)
	var moved atomic.Uint64
	s := startPoolSampler(c, active, func() uint64 { return moved.Add(1) })
	time.Sleep(3 * poolSampleEvery)
	if n := c.reads.Load(); n != 0 {
		t.Errorf("%d reads before any token, want 0", n)
	}
	active <- struct{}{}
	deadline := time.Now().Add(5 * time.Second)
	for c.reads.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d reads in 5 s while packets move, want one every %v", c.reads.Load(), poolSampleEvery)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Stop()
	n := c.reads.Load()
	time.Sleep(3 * poolSampleEvery)
	if c.reads.Load() != n {
		t.Error("the sampler read the pools after Stop returned")
	}

	// Nothing moves: one read for the token, then none.
	idle := &countingPools{}
	active <- struct{}{}
	s = startPoolSampler(idle, active, func() uint64 { return 7 })
	time.Sleep(4 * poolSampleEvery)
	s.Stop()
	if n := idle.reads.Load(); n != 1 {
		t.Errorf("%d reads while nothing moved, want the token's 1", n)
	}
	var none *poolSampler
	none.Stop() // a daemon that failed before starting it stops cleanly
}
