package main

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/openperfd/openperfd/memory"
)

type countingPools struct{ reads atomic.Int64 }

func (c *countingPools) Pools() []memory.PoolStats { c.reads.Add(1); return nil }

func TestPoolSamplerReadsUntilStopped(t *testing.T) {
	c := &countingPools{}
	s := startPoolSampler(c)
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
	var none *poolSampler
	none.Stop() // a daemon that failed before starting it stops cleanly
}
