package fib

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

type benchIface struct{ id int }

// randomItems returns n distinct random unicast MACs mapped to interfaces.
func randomItems(n int, seed uint64) []Item[*benchIface] {
	rng := rand.New(rand.NewPCG(seed, seed))
	seen := make(map[MAC]bool, n)
	items := make([]Item[*benchIface], 0, n)
	for len(items) < n {
		m := MAC(rng.Uint64()&0xffff_ffff_ffff) &^ (1 << 40) // clear the I/G bit
		if !seen[m] {
			seen[m] = true
			items = append(items, Item[*benchIface]{m, &benchIface{len(items)}})
		}
	}
	return items
}

// BenchmarkLookup looks up present MACs in a shuffled order from a snapshot
// loaded once, as a worker does per burst.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1, 1000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			tab := NewTable[*benchIface, *testSink](NewQSBR())
			items := randomItems(n, 1)
			if err := tab.InsertBatch(0, items); err != nil {
				b.Fatal(err)
			}
			keys := make([]MAC, n)
			for i, it := range items {
				keys[i] = it.MAC
			}
			rand.New(rand.NewPCG(2, 2)).Shuffle(n, func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			s := tab.Snapshot(0)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := s.Lookup(keys[i]); !ok {
					b.Fatal("missing key")
				}
				if i++; i == n {
					i = 0
				}
			}
		})
	}
}

// BenchmarkLookupShared is BenchmarkLookup on a table of Shared values
// (what the stack keeps, so interfaces may share a MAC) where every MAC
// has one value, the common case: it should cost what BenchmarkLookup
// does.
func BenchmarkLookupShared(b *testing.B) {
	for _, n := range []int{1, 1000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			tab := NewTable[Shared[*benchIface], *testSink](NewQSBR())
			items := randomItems(n, 1)
			if err := JoinBatch(tab, 0, items); err != nil {
				b.Fatal(err)
			}
			keys := make([]MAC, n)
			for i, it := range items {
				keys[i] = it.MAC
			}
			rand.New(rand.NewPCG(2, 2)).Shuffle(n, func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			s := tab.Snapshot(0)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if e, ok := s.Lookup(keys[i]); !ok || e.Sharers() != nil {
					b.Fatal("missing key")
				}
				if i++; i == n {
					i = 0
				}
			}
		})
	}
}

func BenchmarkInsertBatch100k(b *testing.B) {
	items := randomItems(100_000, 3)
	b.ReportAllocs()
	for b.Loop() {
		tab := NewTable[*benchIface, *testSink](NewQSBR())
		if err := tab.InsertBatch(0, items); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupOverlay100k is BenchmarkLookup at 100000 entries when
// the overlay is nearly full: 1/8 of the keys were inserted one by one
// after the flat index was built, so a lookup probes both.
func BenchmarkLookupOverlay100k(b *testing.B) {
	const n = 100_000
	items := randomItems(n, 1)
	tab := NewTable[*benchIface, *testSink](NewQSBR())
	late := n / (overlayRatio + 1) // inserted singly: keeps ov.n*8 <= Len
	if err := tab.InsertBatch(0, items[late:]); err != nil {
		b.Fatal(err)
	}
	for _, it := range items[:late] {
		if err := tab.Insert(0, it.MAC, it.Value); err != nil {
			b.Fatal(err)
		}
	}
	s := tab.Snapshot(0)
	if s.ov.n != late {
		b.Fatalf("overlay holds %d, want %d", s.ov.n, late)
	}
	keys := make([]MAC, n)
	for i, it := range items {
		keys[i] = it.MAC
	}
	rand.New(rand.NewPCG(2, 2)).Shuffle(n, func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := s.Lookup(keys[i]); !ok {
			b.Fatal("missing key")
		}
		if i++; i == n {
			i = 0
		}
	}
}

// BenchmarkInsertSingle100k inserts one new MAC at a time into a port that
// starts with 100000 entries. Every window of inserts starts again from
// the same 100k snapshot and is just long enough to end with one rebuild
// of the flat index, so ns/op is the amortized cost at that size.
func BenchmarkInsertSingle100k(b *testing.B) {
	const n = 100_000
	window := n/(overlayRatio-1) + 1 // the insert that makes ov.n*8 > Len
	items := randomItems(n+window, 5)
	base := NewTable[*benchIface, *testSink](NewQSBR())
	if err := base.InsertBatch(0, items[:n]); err != nil {
		b.Fatal(err)
	}
	extra := items[n:]
	var tab *Table[*benchIface, *testSink]
	i := window
	b.ReportAllocs()
	for b.Loop() {
		if i == window {
			tab = NewTable[*benchIface, *testSink](base.q)
			tab.publish(0, base.Snapshot(0)) // snapshots are immutable: share it
			i = 0
		}
		if err := tab.Insert(0, extra[i].MAC, extra[i].Value); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if s := tab.Snapshot(0); i == window && s.ov.n != 0 {
		b.Fatalf("no rebuild at the end of a window: overlay holds %d of %d", s.ov.n, s.Len())
	}
}

func BenchmarkCheckpoint(b *testing.B) {
	q := NewQSBR()
	r := q.Register()
	defer r.Unregister()
	b.ReportAllocs()
	for b.Loop() {
		r.Checkpoint()
	}
}
