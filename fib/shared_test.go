package fib

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

type sharedTable = Table[Shared[string], *testSink]

func newSharedTable() *sharedTable { return NewTable[Shared[string], *testSink](NewQSBR()) }

// values returns an entry's values in join order.
func values[T comparable](e Shared[T]) []T {
	if all := e.Sharers(); all != nil {
		return all
	}
	return []T{e.First()}
}

// sharedContents returns a snapshot's entries as MAC -> values.
func sharedContents[T comparable, S comparable](s *Snapshot[Shared[T], S]) map[MAC][]T {
	m := map[MAC][]T{}
	s.Each(func(k MAC, e Shared[T]) bool { m[k] = values(e); return true })
	return m
}

// checkShared compares a port's snapshot with want through Each, Len and
// Lookup, and checks Shared's invariants.
func checkShared(t *testing.T, s *Snapshot[Shared[string], *testSink], want map[MAC][]string) {
	t.Helper()
	got := sharedContents(s)
	if len(got) != len(want) || s.Len() != len(want) {
		t.Fatalf("%d entries (Len %d), want %d: %v", len(got), s.Len(), len(want), got)
	}
	for mac, w := range want {
		if !slices.Equal(got[mac], w) {
			t.Errorf("Each: %v has %v, want %v", mac, got[mac], w)
		}
		e, ok := s.Lookup(mac)
		if !ok || !slices.Equal(values(e), w) || e.Len() != len(w) || e.First() != w[0] {
			t.Errorf("Lookup(%v) = %v (Len %d), %v; want %v", mac, values(e), e.Len(), ok, w)
		}
		if (e.Sharers() == nil) != (len(w) == 1) {
			t.Errorf("Lookup(%v): Sharers %v for %d values", mac, e.Sharers(), len(w))
		}
	}
}

func TestJoinAndLeave(t *testing.T) {
	type op struct {
		join  bool // else leave
		port  uint16
		mac   MAC
		value string
		ok    bool // join: succeeds; leave: was there
	}
	j := func(port uint16, mac MAC, v string, ok bool) op { return op{true, port, mac, v, ok} }
	l := func(port uint16, mac MAC, v string, ok bool) op { return op{false, port, mac, v, ok} }
	for _, tc := range []struct {
		name string
		ops  []op
		want map[uint16]map[MAC][]string
	}{
		{"one value per MAC", []op{j(0, 1, "a", true), j(0, 2, "b", true)},
			map[uint16]map[MAC][]string{0: {1: {"a"}, 2: {"b"}}}},
		{"values share a MAC in join order", []op{j(0, 1, "a", true), j(0, 1, "b", true), j(0, 1, "c", true)},
			map[uint16]map[MAC][]string{0: {1: {"a", "b", "c"}}}},
		{"joining twice fails and changes nothing", []op{j(0, 1, "a", true), j(0, 1, "b", true), j(0, 1, "b", false)},
			map[uint16]map[MAC][]string{0: {1: {"a", "b"}}}},
		{"leaving keeps the other sharers", []op{j(0, 1, "a", true), j(0, 1, "b", true), j(0, 1, "c", true), l(0, 1, "b", true)},
			map[uint16]map[MAC][]string{0: {1: {"a", "c"}}}},
		{"the first may leave", []op{j(0, 1, "a", true), j(0, 1, "b", true), l(0, 1, "a", true)},
			map[uint16]map[MAC][]string{0: {1: {"b"}}}},
		{"the last to leave takes the MAC away", []op{j(0, 1, "a", true), j(0, 1, "b", true), l(0, 1, "a", true), l(0, 1, "b", true)},
			map[uint16]map[MAC][]string{0: {}}},
		{"leaving what is not there is ignored", []op{j(0, 1, "a", true), l(0, 1, "b", false), l(0, 2, "a", false), l(1, 1, "a", false)},
			map[uint16]map[MAC][]string{0: {1: {"a"}}, 1: {}}},
		{"ports are separate tables", []op{j(0, 1, "a", true), j(7, 1, "a", true), j(7, 1, "b", true)},
			map[uint16]map[MAC][]string{0: {1: {"a"}}, 7: {1: {"a", "b"}}}},
		{"join after the last left", []op{j(0, 1, "a", true), l(0, 1, "a", true), j(0, 1, "a", true)},
			map[uint16]map[MAC][]string{0: {1: {"a"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newSharedTable()
			for i, o := range tc.ops {
				if o.join {
					err := Join(tab, o.port, o.mac, o.value)
					if (err == nil) != o.ok || (err != nil && !errors.Is(err, ErrExists)) {
						t.Fatalf("op %d: Join(%d, %v, %q) = %v", i, o.port, o.mac, o.value, err)
					}
				} else if got := Leave(tab, o.port, o.mac, o.value); got != o.ok {
					t.Fatalf("op %d: Leave(%d, %v, %q) = %v", i, o.port, o.mac, o.value, got)
				}
			}
			for port, want := range tc.want {
				checkShared(t, tab.Snapshot(port), want)
			}
		})
	}
}

func TestJoinBatchIsAllOrNothing(t *testing.T) {
	// Sizes cover both ways a batch is applied (see TestInsertBatchIsAllOrNothing).
	type item = Item[string]
	for _, tc := range []struct {
		name     string
		existing int // MACs 0..existing-1 on the port, value "old"
		batch    []item
		ok       bool
		add      map[MAC][]string // on success: entries changed or added
	}{
		{"new MACs into an empty port", 0, []item{{0, "a"}, {1, "b"}}, true, map[MAC][]string{0: {"a"}, 1: {"b"}}},
		{"a batch's items share a MAC", 0, []item{{0, "a"}, {0, "b"}, {0, "c"}}, true, map[MAC][]string{0: {"a", "b", "c"}}},
		{"small batch joins a big port's MAC", 1000, []item{{5, "a"}, {1000, "b"}}, true, map[MAC][]string{5: {"old", "a"}, 1000: {"b"}}},
		{"big batch joins a small port's MACs", 2, []item{{0, "a"}, {1, "a"}, {2, "a"}, {3, "a"}, {3, "b"}, {4, "a"}, {5, "a"}, {6, "a"}},
			true, map[MAC][]string{0: {"old", "a"}, 1: {"old", "a"}, 2: {"a"}, 3: {"a", "b"}, 4: {"a"}, 5: {"a"}, 6: {"a"}}},
		{"an item repeated in the batch", 0, []item{{0, "a"}, {1, "b"}, {0, "a"}}, false, nil},
		{"a value already there, small batch", 1000, []item{{1000, "a"}, {7, "old"}}, false, nil},
		{"a value already there, big batch", 2, []item{{2, "a"}, {3, "a"}, {4, "a"}, {1, "old"}}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newSharedTable()
			want := map[MAC][]string{}
			var pre []item
			for i := range tc.existing {
				pre = append(pre, item{MAC(i), "old"})
				want[MAC(i)] = []string{"old"}
			}
			if err := JoinBatch(tab, 0, pre); err != nil {
				t.Fatal(err)
			}
			before := tab.Snapshot(0)
			err := JoinBatch(tab, 0, tc.batch)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrExists)) {
				t.Fatalf("JoinBatch = %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				if tab.Snapshot(0) != before {
					t.Fatal("a failed batch published a snapshot")
				}
			}
			for mac, v := range tc.add {
				want[mac] = v
			}
			checkShared(t, tab.Snapshot(0), want)
		})
	}
}

func TestLeaveBatchReturnsWhatLeft(t *testing.T) {
	tab := newSharedTable()
	var items []Item[string]
	for i := range 100 {
		items = append(items, Item[string]{MAC(i), "a"}, Item[string]{MAC(i), "b"})
	}
	if err := JoinBatch(tab, 0, items); err != nil {
		t.Fatal(err)
	}
	// "b" leaves MACs 0..49, both leave 50..59, "z" was never there, 0/b
	// is repeated.
	var leave []Item[string]
	var wantGone []string
	for i := range 60 {
		leave = append(leave, Item[string]{MAC(i), "b"})
		wantGone = append(wantGone, "b")
		if i >= 50 {
			leave = append(leave, Item[string]{MAC(i), "a"})
			wantGone = append(wantGone, "a")
		}
	}
	leave = append(leave, Item[string]{0, "b"}, Item[string]{3, "z"}, Item[string]{500, "a"})
	if got := LeaveBatch(tab, 0, leave); !slices.Equal(got, wantGone) {
		t.Fatalf("LeaveBatch removed %v, want %v", got, wantGone)
	}
	want := map[MAC][]string{}
	for i := range 100 {
		switch {
		case i < 50:
			want[MAC(i)] = []string{"a"}
		case i >= 60:
			want[MAC(i)] = []string{"a", "b"}
		}
	}
	checkShared(t, tab.Snapshot(0), want)
	before := tab.Snapshot(0)
	if got := LeaveBatch(tab, 0, []Item[string]{{999, "a"}}); got != nil || tab.Snapshot(0) != before {
		t.Fatalf("a batch that removes nothing: %v, new snapshot %v", got, tab.Snapshot(0) != before)
	}
}

// TestSharedMatchesAModel runs random joins and leaves, single and in
// batches, on ports big enough for the overlay and its rebuilds, against
// a plain map.
func TestSharedMatchesAModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	tab := newSharedTable()
	model := map[MAC][]string{}
	const macSpace = 3000
	vals := []string{"a", "b", "c"}
	for round := range 120 {
		n := 1 + rng.IntN(40)
		if round%40 == 0 {
			n = 1500 // a batch that rebuilds
		}
		var batch []Item[string]
		seen := map[Item[string]]bool{}
		join := rng.IntN(3) != 0
		for range n {
			it := Item[string]{MAC(rng.IntN(macSpace)) + 0x02_00_00_00_00_00, vals[rng.IntN(len(vals))]}
			if seen[it] || (join && slices.Contains(model[it.MAC], it.Value)) {
				continue
			}
			seen[it] = true
			batch = append(batch, it)
		}
		if join {
			if err := JoinBatch(tab, 0, batch); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			for _, it := range batch {
				model[it.MAC] = append(model[it.MAC], it.Value)
			}
		} else {
			LeaveBatch(tab, 0, batch)
			for _, it := range batch {
				if rest := slices.DeleteFunc(slices.Clone(model[it.MAC]), func(v string) bool { return v == it.Value }); len(rest) > 0 {
					model[it.MAC] = rest
				} else {
					delete(model, it.MAC)
				}
			}
		}
		checkShared(t, tab.Snapshot(0), model)
	}
}

// TestSharedReadersSeeWholeEntries has readers look MACs up while a
// writer joins and leaves. Every entry a reader sees must be one a writer
// published: values sharing MAC m are all named for m, in join order,
// none twice. Run with -race.
func TestSharedReadersSeeWholeEntries(t *testing.T) {
	q := NewQSBR()
	tab := NewTable[Shared[string], *testSink](q)
	const nmacs = 64
	name := func(mac MAC, i int) string { return fmt.Sprintf("%d/%d", mac, i) }
	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := q.Register()
			defer r.Unregister()
			for !stop.Load() {
				s := tab.Snapshot(0)
				for mac := MAC(0); mac < nmacs; mac++ {
					e, ok := s.Lookup(mac)
					if !ok {
						continue
					}
					vs := values(e)
					last := -1
					for _, v := range vs {
						var m MAC
						var i int
						if _, err := fmt.Sscanf(v, "%d/%d", &m, &i); err != nil || m != mac || i <= last {
							errs <- fmt.Errorf("MAC %d holds %v", mac, vs)
							return
						}
						last = i
					}
				}
				reads.Add(1)
				r.Checkpoint()
			}
		}()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	next := make([]int, nmacs)
	live := make([][]string, nmacs)
	for range 3000 {
		mac := MAC(rng.IntN(nmacs))
		if len(live[mac]) < 4 && rng.IntN(2) == 0 {
			v := name(mac, next[mac])
			next[mac]++
			if err := Join(tab, 0, mac, v); err != nil {
				t.Fatal(err)
			}
			live[mac] = append(live[mac], v)
		} else if len(live[mac]) > 0 {
			k := rng.IntN(len(live[mac]))
			if !Leave(tab, 0, mac, live[mac][k]) {
				t.Fatalf("Leave %s failed", live[mac][k])
			}
			live[mac] = slices.Delete(live[mac], k, k+1)
			tab.Synchronize()
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reads.Load() == 0 {
		t.Fatal("the readers never read")
	}
}

func TestSharedLookupDoesNotAllocate(t *testing.T) {
	tab := newSharedTable()
	for i := range 1000 {
		if err := Join(tab, 0, MAC(i), "a"); err != nil {
			t.Fatal(err)
		}
	}
	if err := Join(tab, 0, 5, "b"); err != nil {
		t.Fatal(err)
	}
	s := tab.Snapshot(0)
	var n int
	if a := testing.AllocsPerRun(100, func() {
		for mac := MAC(0); mac < 1000; mac++ {
			e, _ := s.Lookup(mac)
			n += e.Len() + len(e.Sharers())
		}
	}); a != 0 {
		t.Fatalf("%v allocations per 1000 lookups", a)
	}
	if n == 0 {
		t.Fatal("nothing found")
	}
}
