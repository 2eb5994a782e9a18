package fib

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// owned stands for an interface whose resources the writer releases after
// Synchronize. inUse counts readers holding it; freed is set on release.
// A reader raises inUse before checking freed and the writer sets freed
// before checking inUse (all sequentially consistent atomics), so if a
// release overlaps a use, at least one side sees the other.
type owned struct {
	id    int
	inUse atomic.Int32
	freed atomic.Bool
}

type uafDetector struct {
	violations atomic.Int64
	first      atomic.Pointer[string]
}

func (d *uafDetector) report(msg string) {
	d.violations.Add(1)
	d.first.CompareAndSwap(nil, &msg)
}

// acquire marks v held by a reader; it must not have been freed.
func (d *uafDetector) acquire(v *owned) {
	v.inUse.Add(1)
	if v.freed.Load() {
		d.report("reader got a freed value from a snapshot")
	}
}

// release ends a hold, at the latest just before the reader's Checkpoint.
func (d *uafDetector) release(v *owned) {
	if v.freed.Load() {
		d.report("value freed while a reader held it between checkpoints")
	}
	v.inUse.Add(-1)
}

// free is the writer's release after Synchronize.
func (d *uafDetector) free(v *owned) {
	v.freed.Store(true)
	if v.inUse.Load() != 0 {
		d.report("writer freed a value a reader still held")
	}
}

func TestReadersNeverUseAValueAfterTheWriterFreedIt(t *testing.T) {
	const (
		port    = 3
		keys    = 64
		readers = 4
	)
	writes := 3000
	if testing.Short() {
		writes = 300
	}
	q := NewQSBR()
	tab := NewTable[*owned, *testSink](q)
	var det uafDetector
	key := func(i int) MAC { return 0x02_00_00_00_10_00 + MAC(i) }

	var stop atomic.Bool
	var lookups, hits atomic.Int64
	var wg sync.WaitGroup
	for w := range readers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			r := q.Register()
			defer r.Unregister()
			var held []*owned
			var n, h int64
			for iter := 0; !stop.Load(); iter++ {
				// Quiescent: nothing held.
				r.Checkpoint()
				s := tab.Snapshot(port)
				for range 8 {
					if v, ok := s.Lookup(key(rng.IntN(keys))); ok {
						det.acquire(v)
						held = append(held, v)
						h++
					}
					n++
				}
				if iter%16 == 0 { // broadcast path
					s.Each(func(_ MAC, v *owned) bool {
						det.acquire(v)
						held = append(held, v)
						return len(held) < 32
					})
				}
				runtime.Gosched() // hold across a reschedule: widen the window
				for _, v := range held {
					det.release(v)
				}
				held = held[:0]
				if iter%64 == 0 { // a worker backing off to sleep
					r.Offline()
					time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond)
					r.Online()
				}
			}
			lookups.Add(n)
			hits.Add(h)
		})
	}

	// The writer: replace values one by one and in batches, and free each
	// replaced value only after Synchronize.
	rng := rand.New(rand.NewPCG(99, 99))
	next := 0
	fresh := func() *owned { next++; return &owned{id: next} }
	for i := range keys {
		if err := tab.Insert(port, key(i), fresh()); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < writes && det.violations.Load() == 0; i++ {
		var gone []*owned
		if i%10 == 0 {
			batch := []MAC{key(rng.IntN(keys)), key(rng.IntN(keys)), key(rng.IntN(keys))}
			gone = tab.DeleteBatch(port, batch)
			var items []Item[*owned]
			for _, m := range batch {
				if _, ok := tab.Snapshot(port).Lookup(m); !ok && !containsMAC(items, m) {
					items = append(items, Item[*owned]{m, fresh()})
				}
			}
			if err := tab.InsertBatch(port, items); err != nil {
				t.Fatal(err)
			}
		} else {
			m := key(rng.IntN(keys))
			if v, ok := tab.Delete(port, m); ok {
				gone = append(gone, v)
			}
			if err := tab.Insert(port, m, fresh()); err != nil {
				t.Fatal(err)
			}
		}
		tab.Synchronize()
		for _, v := range gone {
			det.free(v)
		}
	}
	stop.Store(true)
	wg.Wait()

	if n := det.violations.Load(); n != 0 {
		t.Fatalf("%d use-after-free violations; first: %s", n, *det.first.Load())
	}
	if hits.Load() < int64(writes) {
		t.Fatalf("readers found only %d of %d lookups: the test exercised nothing", hits.Load(), lookups.Load())
	}
	t.Logf("%d writes, %d lookups, %d hits, %d values freed", writes, lookups.Load(), hits.Load(), next-keys)
}

func containsMAC[V any](items []Item[V], m MAC) bool {
	for _, it := range items {
		if it.MAC == m {
			return true
		}
	}
	return false
}

// TestTheDetectorCatchesAWriterThatSkipsSynchronize shows the detector is
// not vacuous: the same protocol without a grace period is reported.
func TestTheDetectorCatchesAWriterThatSkipsSynchronize(t *testing.T) {
	tab := NewTable[*owned, *testSink](NewQSBR())
	var det uafDetector
	_ = tab.Insert(0, 1, &owned{id: 1})
	v, _ := tab.Snapshot(0).Lookup(1) // a reader holds it...
	det.acquire(v)
	gone, _ := tab.Delete(0, 1)
	det.free(gone) // ...and the writer frees it with no Synchronize
	det.release(v)
	if det.violations.Load() != 2 {
		t.Fatalf("detector saw %d violations, want 2 (writer side and reader side)", det.violations.Load())
	}
}
