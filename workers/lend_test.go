package workers

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// The lender widens the control threads' CPUs to every CPU while nothing
// is busy, narrows them when something is (at its next check, or at once
// on Reclaim), never moves the worker threads, and reclaims when it stops;
// a failed widening leaves the threads confined.
func TestLenderLendsWhileIdle(t *testing.T) {
	var mu sync.Mutex
	var calls [][]int
	var fail atomic.Bool
	var busy atomic.Bool
	var checks atomic.Int64
	isBusy := func() bool { checks.Add(1); return busy.Load() }
	l := &Lender{control: []int{0}, all: []int{0, 1}, busy: isBusy, log: zap.NewNop(), reclaimed: make(chan struct{}, 1),
		threads: func() map[int]bool { return map[int]bool{42: true} },
		confine: func(cpus []int, skip map[int]bool) (int, error) {
			if !skip[42] {
				t.Errorf("worker thread not skipped: %v", skip)
			}
			if fail.Load() && len(cpus) == 2 {
				return 0, errors.New("no")
			}
			mu.Lock()
			calls = append(calls, slices.Clone(cpus))
			mu.Unlock()
			return 1, nil
		}}
	last := func() []int {
		mu.Lock()
		defer mu.Unlock()
		if len(calls) == 0 {
			return nil
		}
		return calls[len(calls)-1]
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { l.Run(ctx, time.Millisecond); close(done) }()
	waitFor(t, "lent while idle", func() bool { return l.Lent() && slices.Equal(last(), []int{0, 1}) })
	// Lent and idle, it does not poll.
	n := checks.Load()
	time.Sleep(20 * time.Millisecond)
	if d := checks.Load() - n; d > 1 {
		t.Errorf("%d checks of busy in 20 ms while lent, want none (it waits for Reclaim)", d)
	}
	// A run starts: Reclaim first (BeforeStart), then busy. It stays
	// reclaimed while busy, checking every period.
	l.Reclaim()
	busy.Store(true)
	n = checks.Load()
	time.Sleep(20 * time.Millisecond)
	if l.Lent() || !slices.Equal(last(), []int{0}) {
		t.Fatal("lent again while busy")
	}
	if checks.Load()-n < 2 {
		t.Errorf("%d checks of busy in 20 ms while reclaimed, want one a period", checks.Load()-n)
	}
	busy.Store(false)
	waitFor(t, "lent again", func() bool { return l.Lent() })
	l.Reclaim()
	if l.Lent() || !slices.Equal(last(), []int{0}) {
		t.Fatal("Reclaim left the CPUs lent")
	}
	cancel()
	<-done
	if l.Lent() {
		t.Fatal("lent after Run returned")
	}
	fail.Store(true)
	l.lend()
	if l.Lent() {
		t.Fatal("lent although widening failed")
	}
}
