// Over 600 lines: the index tests (inserts, deletes, rebuilds, collisions) share one model map and its snapshot checkers.

package fib

import (
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// These tests cover the read index behind Lookup: the flat index, the
// overlay of recent changes, and the rebuilds between them. V is int so a
// stale value (from before a delete and re-insert) shows.

type intTable = Table[int, *testSink]
type intSnap = Snapshot[int, *testSink]

func newIntTable() *intTable { return NewTable[int, *testSink](NewQSBR()) }

// checkIndex verifies the invariants of s's flat index and overlay, and
// that together they hold exactly model's indexable entries.
func checkIndex(t *testing.T, s *intSnap, model map[MAC]int) {
	t.Helper()
	f := &s.flat
	if len(f.slots) < 2 || len(f.slots)&(len(f.slots)-1) != 0 || 64-int(f.shift) != bitsOf(len(f.slots)) {
		t.Fatalf("flat: %d slots, shift %d", len(f.slots), f.shift)
	}
	flatN := 0
	for i, sl := range f.slots {
		k := sl.key
		if k == emptyKey {
			continue
		}
		flatN++
		if !indexable(k) {
			t.Fatalf("flat holds %#x", uint64(k))
		}
		if v, ok := f.get(k, hashMAC(k)); !ok || v != sl.val {
			t.Fatalf("flat: %v in slot %d is not found by probing", k, i)
		}
	}
	if flatN*2 > len(f.slots) {
		t.Fatalf("flat: %d keys in %d slots", flatN, len(f.slots))
	}

	o := &s.ov
	if (o.n == 0) != (o.dir == nil) {
		t.Fatalf("overlay: n %d, dir %v", o.n, o.dir != nil)
	}
	if o.n*overlayRatio > s.Len() {
		t.Fatalf("overlay holds %d changes for %d entries: no rebuild", o.n, s.Len())
	}
	view := map[MAC]int{} // what Lookup answers for indexable MACs
	for _, sl := range f.slots {
		if sl.key != emptyKey {
			view[sl.key] = sl.val
		}
	}
	n, dead := 0, 0
	if o.n != 0 {
		if len(o.dir) != 1<<(o.bits-chunkBits) {
			t.Fatalf("overlay: %d chunks, bits %d", len(o.dir), o.bits)
		}
		for ci, c := range o.dir {
			for bi := range c {
				b := &c[bi]
				used := 0
				for _, sl := range b.slots {
					if sl.key == emptyKey {
						continue
					}
					used++
					mac := sl.key &^ deadBit
					h := hashMAC(mac)
					if j := h >> (64 - o.bits); int(j) != ci<<chunkBits|bi {
						t.Fatalf("overlay: %v in bucket %d, want %d", mac, ci<<chunkBits|bi, j)
					}
					if _, st := o.find(mac, h); st == ovNone {
						t.Fatalf("overlay: %v is not found by probing", mac)
					}
					if sl.key&deadBit != 0 {
						dead++
						delete(view, mac)
					} else {
						view[mac] = sl.val
					}
				}
				if used != int(b.used) || used*2 > len(b.slots) || (len(b.slots) != 0 && 64-int(b.shift) != bitsOf(len(b.slots))) {
					t.Fatalf("overlay bucket: %d used (says %d) in %d slots", used, b.used, len(b.slots))
				}
				n += used
			}
		}
	}
	if n != o.n || dead != o.dead {
		t.Fatalf("overlay: %d keys, %d dead; says %d, %d", n, dead, o.n, o.dead)
	}
	want := map[MAC]int{}
	for k, v := range model {
		if indexable(k) {
			want[k] = v
		}
	}
	if !maps.Equal(view, want) {
		t.Fatalf("flat+overlay hold %d entries, model %d indexable ones", len(view), len(want))
	}
}

func bitsOf(n int) int { // log2 of a power of two
	b := 0
	for n > 1 {
		n >>= 1
		b++
	}
	return b
}

// checkSnap verifies s against model through the public API and checks
// its index. absent are MACs to look up that are not in model.
func checkSnap(t *testing.T, s *intSnap, model map[MAC]int, absent ...MAC) {
	t.Helper()
	if s.Len() != len(model) {
		t.Fatalf("Len %d, model %d", s.Len(), len(model))
	}
	if got := contents(s); !maps.Equal(got, model) {
		t.Fatalf("Each: %d entries differ from the model's %d", len(got), len(model))
	}
	for k, v := range model {
		if got, ok := s.Lookup(k); !ok || got != v {
			t.Fatalf("Lookup(%v) = %d, %v; want %d", k, got, ok, v)
		}
	}
	for _, k := range absent {
		if _, inModel := model[k]; inModel {
			continue
		}
		if got, ok := s.Lookup(k); ok {
			t.Fatalf("Lookup(%v) = %d, true; want absent", k, got)
		}
	}
	checkIndex(t, s, model)
}

// kept is a published snapshot and a copy of what it held.
type kept struct {
	s     *intSnap
	model map[MAC]int
}

func TestSingleInsertsAcrossRebuilds(t *testing.T) {
	tab := newIntTable()
	all := macs(3000)
	model := map[MAC]int{}
	var items []Item[int]
	for i, m := range all[:500] {
		items = append(items, Item[int]{m, i})
		model[m] = i
	}
	if err := tab.InsertBatch(0, items); err != nil {
		t.Fatal(err)
	}
	s := tab.Snapshot(0)
	if s.ov.n != 0 {
		t.Fatalf("a batch into an empty port left %d changes in the overlay", s.ov.n)
	}
	checkSnap(t, s, model, all[500])

	var old []kept
	rebuilds := 0
	for i := 500; i < len(all); i++ {
		prev := tab.Snapshot(0)
		if err := tab.Insert(0, all[i], i); err != nil {
			t.Fatal(err)
		}
		model[all[i]] = i
		s := tab.Snapshot(0)
		if v, ok := s.Lookup(all[i]); !ok || v != i {
			t.Fatalf("Lookup(new %v) = %d, %v", all[i], v, ok)
		}
		if _, ok := prev.Lookup(all[i]); ok {
			t.Fatalf("the insert of %v changed the previous snapshot", all[i])
		}
		switch {
		case s.ov.n == 0: // this insert rebuilt the flat index
			rebuilds++
			// The threshold: the overlay was full, one more change is past it.
			if (prev.ov.n+1)*overlayRatio <= s.Len() {
				t.Fatalf("rebuilt with %d changes for %d entries", prev.ov.n+1, s.Len())
			}
			checkSnap(t, prev, without(model, all[i]), all[i])
			checkSnap(t, s, model, all[i+1:min(i+50, len(all))]...)
			old = append(old, kept{prev, without(model, all[i])}, kept{s, maps.Clone(model)})
		case s.ov.n != prev.ov.n+1:
			t.Fatalf("overlay went from %d to %d changes on one insert", prev.ov.n, s.ov.n)
		case i%97 == 0:
			checkSnap(t, s, model, all[i+1:min(i+50, len(all))]...)
			old = append(old, kept{s, maps.Clone(model)})
		}
	}
	if rebuilds < 5 {
		t.Fatalf("only %d rebuilds in 2500 inserts", rebuilds)
	}
	for _, k := range old { // nothing written since changed them
		checkSnap(t, k.s, k.model, all[len(all)-1])
	}
}

func has(m map[MAC]int, k MAC) bool { _, ok := m[k]; return ok }

func without(m map[MAC]int, k MAC) map[MAC]int {
	m = maps.Clone(m)
	delete(m, k)
	return m
}

func TestSingleDeletesOfFlatKeysAcrossRebuilds(t *testing.T) {
	tab := newIntTable()
	all := macs(2000)
	model := map[MAC]int{}
	var items []Item[int]
	for i, m := range all {
		items = append(items, Item[int]{m, i})
		model[m] = i
	}
	if err := tab.InsertBatch(0, items); err != nil {
		t.Fatal(err)
	}
	var old []kept
	rebuilds := 0
	order := slices.Clone(all)
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for i, m := range order {
		prev := tab.Snapshot(0)
		_, inFlat := prev.flat.get(m, hashMAC(m))
		v, ok := tab.Delete(0, m)
		if !ok || v != model[m] {
			t.Fatalf("Delete(%v) = %d, %v", m, v, ok)
		}
		delete(model, m)
		s := tab.Snapshot(0)
		if _, ok := s.Lookup(m); ok {
			t.Fatalf("%v found after Delete (in flat index: %v)", m, inFlat)
		}
		if got, ok := prev.Lookup(m); !ok || got != v {
			t.Fatalf("the delete of %v changed the previous snapshot", m)
		}
		if s.ov.n == 0 {
			rebuilds++
		} else if _, st := s.ov.find(m, hashMAC(m)); st != ovDead {
			t.Fatalf("no tombstone for %v", m)
		}
		if s.ov.n == 0 || i%101 == 0 || len(model) < 20 {
			checkSnap(t, s, model, m)
			old = append(old, kept{s, maps.Clone(model)})
		}
	}
	if rebuilds < 10 {
		t.Fatalf("only %d rebuilds deleting 2000 entries one by one", rebuilds)
	}
	s := tab.Snapshot(0)
	if s.Len() != 0 || len(s.flat.slots) != 2 || s.ov.n != 0 {
		t.Fatalf("empty port: Len %d, %d flat slots, %d changes", s.Len(), len(s.flat.slots), s.ov.n)
	}
	if got := tab.Ports(); len(got) != 0 {
		t.Fatalf("Ports = %v", got)
	}
	for _, k := range old {
		checkSnap(t, k.s, k.model, all[0], all[len(all)-1])
	}
}

func TestReinsertAfterDeleteOfAFlatKey(t *testing.T) {
	tab := newIntTable()
	all := macs(200)
	model := map[MAC]int{}
	var items []Item[int]
	for i, m := range all[:100] {
		items = append(items, Item[int]{m, i})
		model[m] = i
	}
	if err := tab.InsertBatch(0, items); err != nil {
		t.Fatal(err)
	}
	k := all[42]
	var old []kept
	step := func(what string) {
		t.Helper()
		s := tab.Snapshot(0)
		checkSnap(t, s, model, k, all[150])
		old = append(old, kept{s, maps.Clone(model)})
		if _, ok := s.flat.get(k, hashMAC(k)); !ok && what != "rebuilt" {
			t.Fatalf("%s: %v left the flat index before a rebuild", what, k)
		}
	}
	step("start")
	for round := 1; round <= 3; round++ {
		if _, ok := tab.Delete(0, k); !ok {
			t.Fatalf("round %d: delete failed", round)
		}
		delete(model, k)
		step("deleted")
		if err := tab.Insert(0, k, 1000+round); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		model[k] = 1000 + round
		step("re-inserted")
		if err := tab.Insert(0, k, -1); !errors.Is(err, ErrExists) {
			t.Fatalf("round %d: second insert: %v", round, err)
		}
	}
	// Push the overlay past its threshold: the new flat index must carry
	// the re-inserted value, not the one the old flat index had.
	for i, m := range all[100:] {
		if err := tab.Insert(0, m, 100+i); err != nil {
			t.Fatal(err)
		}
		model[m] = 100 + i
		if tab.Snapshot(0).ov.n == 0 {
			break
		}
	}
	if tab.Snapshot(0).ov.n != 0 {
		t.Fatal("no rebuild")
	}
	step("rebuilt")
	if v, _ := tab.Snapshot(0).flat.get(k, hashMAC(k)); v != 1003 {
		t.Fatalf("rebuilt flat index maps %v to %d, want 1003", k, v)
	}
	// Delete and re-insert across a rebuild.
	tab.Delete(0, k)
	delete(model, k)
	step("rebuilt") // k is gone from the flat index only via the overlay
	for _, k := range old {
		checkSnap(t, k.s, k.model, all[199])
	}
}

func TestBatchesRebuildWhenBigAndUseTheOverlayWhenSmall(t *testing.T) {
	tab := newIntTable()
	all := macs(3000)
	model := map[MAC]int{}
	batch := func(from, to int) []Item[int] {
		var items []Item[int]
		for i := from; i < to; i++ {
			items = append(items, Item[int]{all[i], i})
		}
		return items
	}
	apply := func(items []Item[int]) {
		t.Helper()
		if err := tab.InsertBatch(0, items); err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			model[it.MAC] = it.Value
		}
	}
	apply(batch(0, 1000))
	if n := tab.Snapshot(0).ov.n; n != 0 {
		t.Fatalf("big batch: %d changes in the overlay", n)
	}
	apply(batch(1000, 1100)) // 100*8 <= 1100
	if n := tab.Snapshot(0).ov.n; n != 100 {
		t.Fatalf("small batch: %d changes in the overlay, want 100", n)
	}
	checkSnap(t, tab.Snapshot(0), model, all[1100])
	apply(batch(1100, 1160)) // (100+60)*8 > 1160: rebuild
	if n := tab.Snapshot(0).ov.n; n != 0 {
		t.Fatalf("batch past the threshold: %d changes in the overlay", n)
	}
	checkSnap(t, tab.Snapshot(0), model, all[1160])

	// A failed batch publishes nothing, whatever path it would have taken.
	before := tab.Snapshot(0)
	for _, items := range [][]Item[int]{
		append(batch(1160, 1170), Item[int]{all[5], 0}),
		append(batch(1160, 2000), Item[int]{all[1165], 0}),
	} {
		if err := tab.InsertBatch(0, items); !errors.Is(err, ErrExists) {
			t.Fatalf("InsertBatch = %v", err)
		}
		if tab.Snapshot(0) != before {
			t.Fatal("failed batch published")
		}
	}

	del := func(macs []MAC) {
		t.Helper()
		got := tab.DeleteBatch(0, macs)
		var want []int
		seen := map[MAC]bool{}
		for _, m := range macs {
			if v, ok := model[m]; ok && !seen[m] {
				want = append(want, v)
				seen[m] = true
				delete(model, m)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("DeleteBatch removed %v, want %v", got, want)
		}
	}
	del([]MAC{all[1], all[1], all[2999], all[1150]}) // flat keys, a repeat, an absent one
	if n := tab.Snapshot(0).ov.n; n != 2 {
		t.Fatalf("small delete batch: %d changes, want 2", n)
	}
	checkSnap(t, tab.Snapshot(0), model, all[1], all[1150])
	del(all[100:400]) // 300*8 > 858: rebuild
	if n := tab.Snapshot(0).ov.n; n != 0 {
		t.Fatalf("big delete batch: %d changes in the overlay", n)
	}
	checkSnap(t, tab.Snapshot(0), model, all[100:400]...)
	// A big batch on top of an overlay holding deletions and inserts.
	for _, m := range all[400:450] {
		tab.Delete(0, m)
		delete(model, m)
	}
	apply(batch(2000, 2030))
	for i, m := range all[420:430] { // deleted, now back with new values
		if err := tab.Insert(0, m, 5000+i); err != nil {
			t.Fatal(err)
		}
		model[m] = 5000 + i
	}
	if o := tab.Snapshot(0).ov; o.n != 80 || o.dead != 40 {
		t.Fatalf("overlay: %d changes, %d dead; want 80, 40", o.n, o.dead)
	}
	apply(batch(2100, 2600))
	if n := tab.Snapshot(0).ov.n; n != 0 {
		t.Fatalf("big batch over an overlay: %d changes in the overlay", n)
	}
	checkSnap(t, tab.Snapshot(0), model, all[400:450]...)
	del(all)
	checkSnap(t, tab.Snapshot(0), model, all[:10]...)
	apply(batch(0, 3)) // into a port emptied by a batch
	checkSnap(t, tab.Snapshot(0), model, all[3])
}

// TestMACsAboveFortyEightBits: the index reserves values with the top bits
// set (emptyKey, deadBit), so such MACs, which this package never makes,
// are kept in the map only; they must still behave like any other key.
func TestMACsAboveFortyEightBits(t *testing.T) {
	odd := []MAC{emptyKey, deadBit, 5 | deadBit, 5 | emptyKey, 1 << 48, ^MAC(0)}
	tab := newIntTable()
	model := map[MAC]int{}
	for i, m := range odd {
		if err := tab.Insert(0, m, i); err != nil {
			t.Fatal(err)
		}
		model[m] = i
	}
	if _, ok := tab.Snapshot(0).Lookup(5); ok {
		t.Fatal("5 found, only 5 with high bits set was inserted")
	}
	if err := tab.Insert(0, emptyKey, 9); !errors.Is(err, ErrExists) {
		t.Fatalf("second insert of emptyKey: %v", err)
	}
	for i, m := range macs(20) {
		if err := tab.Insert(0, m, 100+i); err != nil {
			t.Fatal(err)
		}
		model[m] = 100 + i
	}
	items := []Item[int]{{0, 200}, {3 | deadBit, 201}, {Broadcast, 202}}
	if err := tab.InsertBatch(0, items); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		model[it.MAC] = it.Value
	}
	checkSnap(t, tab.Snapshot(0), model, 3, 5, 1, 0xffff_ffff_fffe)
	if v, ok := tab.Delete(0, deadBit); !ok || v != 1 {
		t.Fatalf("Delete(deadBit) = %d, %v", v, ok)
	}
	delete(model, deadBit)
	got := tab.DeleteBatch(0, []MAC{emptyKey, 0, 5 | deadBit})
	if !slices.Equal(got, []int{0, 200, 2}) {
		t.Fatalf("DeleteBatch = %v", got)
	}
	delete(model, emptyKey)
	delete(model, 0)
	delete(model, 5|deadBit)
	checkSnap(t, tab.Snapshot(0), model, 0, 5, emptyKey, deadBit)
}

// collidingMACs returns n MACs whose hashes share their top 16 bits, all
// ones: they start probing at the last slot of any flat index of up to
// 1<<16 slots, and share a bucket and a start slot in the overlay, so
// probes cluster and wrap around.
func collidingMACs(n int) []MAC {
	var out []MAC
	for m := MAC(0x02_00_00_00_00_00); len(out) < n; m++ {
		if hashMAC(m)>>48 == 0xffff {
			out = append(out, m)
		}
	}
	return out
}

func TestCollidingMACsProbeAndWrapAround(t *testing.T) {
	keys := collidingMACs(48)
	tab := newIntTable()
	model := map[MAC]int{}
	// Some in the flat index, more in the overlay, on top of spread keys.
	var items []Item[int]
	for i, m := range macs(200) {
		items = append(items, Item[int]{m, i})
		model[m] = i
	}
	for i, m := range keys[:8] {
		items = append(items, Item[int]{m, 1000 + i})
		model[m] = 1000 + i
	}
	if err := tab.InsertBatch(0, items); err != nil {
		t.Fatal(err)
	}
	checkSnap(t, tab.Snapshot(0), model, keys[8:]...)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 2000 {
		k := keys[rng.IntN(len(keys)-4)] // the last 4 are never inserted
		if _, ok := model[k]; ok {
			tab.Delete(0, k)
			delete(model, k)
		} else {
			if err := tab.Insert(0, k, 2000+i); err != nil {
				t.Fatal(err)
			}
			model[k] = 2000 + i
		}
		if i%20 == 0 {
			checkSnap(t, tab.Snapshot(0), model, keys...)
		}
	}
}

// TestAgainstAMap applies random operations, single and batched, to a
// table and to a Go map, and compares them: after every operation on the
// keys it touched, periodically in full, and at the end on snapshots kept
// from along the way.
func TestAgainstAMap(t *testing.T) {
	ops := 6000
	if testing.Short() {
		ops = 1500
	}
	for seed := range uint64(4) {
		t.Run("", func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			// A pool of keys: sequential ones, random ones, colliding ones,
			// and a few above 48 bits.
			pool := macs(600)
			for range 600 {
				pool = append(pool, MAC(rng.Uint64()&uint64(maxMAC)))
			}
			pool = append(pool, collidingMACs(20)...)
			pool = append(pool, emptyKey, deadBit|7, 1<<50)
			pick := func() MAC {
				if rng.IntN(4) == 0 { // a hot subset: many repeats
					return pool[rng.IntN(40)]
				}
				return pool[rng.IntN(len(pool))]
			}
			tab := newIntTable()
			port := uint16(seed % 3)
			model := map[MAC]int{}
			var old []kept
			next, rebuilds, withDead, maxOv := 0, 0, 0, 0
			for op := range ops {
				prevOv := tab.Snapshot(port).ov.n
				var touched []MAC
				// Alternate growing and shrinking phases: the op kinds are
				// insert, delete, insert batch, delete batch.
				cut := [...]int{50, 65, 90}
				if op/1000%2 == 1 {
					cut = [...]int{15, 60, 70}
				}
				switch r := rng.IntN(100); {
				case r < cut[0]:
					m := pick()
					next++
					err := tab.Insert(port, m, next)
					if _, exists := model[m]; exists != (err != nil) {
						t.Fatalf("op %d: Insert(%v) = %v, exists %v", op, m, err, exists)
					} else if !exists {
						model[m] = next
					}
					touched = append(touched, m)
				case r < cut[1]:
					m := pick()
					v, ok := tab.Delete(port, m)
					if want, exists := model[m]; ok != exists || v != want {
						t.Fatalf("op %d: Delete(%v) = %d, %v; want %d, %v", op, m, v, ok, want, exists)
					}
					delete(model, m)
					touched = append(touched, m)
				case r < cut[2]:
					size := 1 + rng.IntN(1+rng.IntN(300))
					var items []Item[int]
					seen := map[MAC]bool{}
					for range size {
						if m := pick(); !seen[m] && !has(model, m) {
							seen[m] = true
							next++
							items = append(items, Item[int]{m, next})
							touched = append(touched, m)
						}
					}
					fail := false
					if rng.IntN(5) == 0 { // spoil one batch in five
						var bad MAC
						switch {
						case len(items) > 0 && (len(model) == 0 || rng.IntN(2) == 0):
							bad, fail = items[rng.IntN(len(items))].MAC, true // a repeat
						case len(model) > 0:
							on := slices.Sorted(maps.Keys(model))
							bad, fail = on[rng.IntN(len(on))], true // already on the port
						}
						if fail {
							items = slices.Insert(items, rng.IntN(len(items)+1), Item[int]{bad, -1})
						}
					}
					before := tab.Snapshot(port)
					err := tab.InsertBatch(port, items)
					if fail != (err != nil) {
						t.Fatalf("op %d: InsertBatch = %v, want failure %v", op, err, fail)
					}
					if fail {
						if tab.Snapshot(port) != before {
							t.Fatalf("op %d: failed batch published", op)
						}
					} else {
						for _, it := range items {
							model[it.MAC] = it.Value
						}
					}
				default:
					size := rng.IntN(1 + rng.IntN(400))
					var del []MAC
					var want []int
					gone := map[MAC]bool{}
					for range size {
						m := pick()
						del = append(del, m)
						if v, ok := model[m]; ok && !gone[m] {
							want = append(want, v)
							gone[m] = true
						}
					}
					if got := tab.DeleteBatch(port, del); !slices.Equal(got, want) {
						t.Fatalf("op %d: DeleteBatch removed %v, want %v", op, got, want)
					}
					for m := range gone {
						delete(model, m)
					}
					touched = del
				}
				s := tab.Snapshot(port)
				if s.Len() != len(model) {
					t.Fatalf("op %d: Len %d, model %d", op, s.Len(), len(model))
				}
				if s.ov.n == 0 && prevOv != 0 {
					rebuilds++
				}
				if s.ov.dead != 0 {
					withDead++
				}
				maxOv = max(maxOv, s.ov.n)
				for range 8 {
					touched = append(touched, pick())
				}
				for _, m := range touched {
					v, ok := s.Lookup(m)
					if want, exists := model[m]; ok != exists || v != want {
						t.Fatalf("op %d: Lookup(%v) = %d, %v; want %d, %v", op, m, v, ok, want, exists)
					}
				}
				if op%100 == 0 || op == ops-1 {
					checkSnap(t, s, model, pool...)
					old = append(old, kept{s, maps.Clone(model)})
				}
			}
			for _, k := range old {
				checkSnap(t, k.s, k.model, pool...)
			}
			if rebuilds < ops/100 || withDead < ops/10 {
				t.Fatalf("exercised too little: %d rebuilds, %d snapshots with deletions in the overlay", rebuilds, withDead)
			}
			t.Logf("%d ops: %d rebuilds from a non-empty overlay, %d snapshots with deletions in the overlay, overlay up to %d, final Len %d",
				ops, rebuilds, withDead, maxOv, len(model))
		})
	}
}

func TestLookupThroughTheOverlayDoesNotAllocate(t *testing.T) {
	type iface struct{ id int }
	tab := NewTable[*iface, *testSink](NewQSBR())
	all := macs(10_000)
	var items []Item[*iface]
	for i, m := range all[:9000] {
		items = append(items, Item[*iface]{m, &iface{i}})
	}
	if err := tab.InsertBatch(0, items); err != nil {
		t.Fatal(err)
	}
	for i, m := range all[9000:9500] { // live in the overlay
		if err := tab.Insert(0, m, &iface{9000 + i}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range all[:500] { // dead in the overlay
		tab.Delete(0, m)
	}
	s := tab.Snapshot(0)
	if s.ov.n != 1000 || s.ov.dead != 500 {
		t.Fatalf("overlay: %d changes, %d dead", s.ov.n, s.ov.dead)
	}
	i, hits := 0, 0
	allocs := testing.AllocsPerRun(10_000, func() {
		if v, ok := s.Lookup(all[i%len(all)]); ok && v.id == i%len(all) {
			hits++
		}
		i += 7
	})
	if allocs != 0 {
		t.Fatalf("Lookup allocates %v times", allocs)
	}
	if hits == 0 {
		t.Fatal("no hits")
	}
}
