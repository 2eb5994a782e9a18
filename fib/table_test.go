package fib

import (
	"errors"
	"maps"
	"slices"
	"testing"
)

// testSink stands for a port-level consumer (a capture, an analyzer).
type testSink struct{ name string }

func newTestTable() *Table[string, *testSink] {
	return NewTable[string, *testSink](NewQSBR())
}

// contents returns a snapshot's entries as a Go map.
func contents[V any, S comparable](s *Snapshot[V, S]) map[MAC]V {
	m := map[MAC]V{}
	s.Each(func(k MAC, v V) bool { m[k] = v; return true })
	return m
}

func macs(n int) []MAC {
	out := make([]MAC, n)
	for i := range out {
		out[i] = 0x02_00_00_00_00_00 + MAC(i)
	}
	return out
}

func TestSnapshotOfAPortNeverWrittenIsEmptyNotNil(t *testing.T) {
	tab := newTestTable()
	_ = tab.Insert(3, 1, "x")
	for _, port := range []uint16{0, 2, 4, 65535} {
		s := tab.Snapshot(port)
		if s == nil || s.Len() != 0 || len(s.Sinks()) != 0 {
			t.Fatalf("port %d: snapshot %v", port, s)
		}
		if _, ok := s.Lookup(1); ok {
			t.Fatalf("port %d: found an entry", port)
		}
	}
}

func TestInsertLookupDelete(t *testing.T) {
	type op struct {
		kind  string // insert, delete
		port  uint16
		mac   MAC
		value string
		ok    bool // insert: succeeds; delete: found
	}
	for _, tc := range []struct {
		name string
		ops  []op
		want map[uint16]map[MAC]string
	}{
		{"insert then lookup", []op{{"insert", 0, 1, "a", true}, {"insert", 0, 2, "b", true}},
			map[uint16]map[MAC]string{0: {1: "a", 2: "b"}}},
		{"ports are separate tables", []op{{"insert", 0, 1, "a", true}, {"insert", 7, 1, "b", true}},
			map[uint16]map[MAC]string{0: {1: "a"}, 7: {1: "b"}}},
		{"duplicate insert fails and keeps the first", []op{{"insert", 0, 1, "a", true}, {"insert", 0, 1, "b", false}},
			map[uint16]map[MAC]string{0: {1: "a"}}},
		{"delete returns the value", []op{{"insert", 0, 1, "a", true}, {"insert", 0, 2, "b", true}, {"delete", 0, 1, "a", true}},
			map[uint16]map[MAC]string{0: {2: "b"}}},
		{"delete of a missing MAC reports not found", []op{{"insert", 0, 1, "a", true}, {"delete", 0, 2, "", false}, {"delete", 1, 1, "", false}},
			map[uint16]map[MAC]string{0: {1: "a"}}},
		{"insert after delete succeeds", []op{{"insert", 0, 1, "a", true}, {"delete", 0, 1, "a", true}, {"insert", 0, 1, "c", true}},
			map[uint16]map[MAC]string{0: {1: "c"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newTestTable()
			for i, o := range tc.ops {
				switch o.kind {
				case "insert":
					err := tab.Insert(o.port, o.mac, o.value)
					if (err == nil) != o.ok || (err != nil && !errors.Is(err, ErrExists)) {
						t.Fatalf("op %d: Insert(%d, %v) = %v", i, o.port, o.mac, err)
					}
				case "delete":
					v, ok := tab.Delete(o.port, o.mac)
					if ok != o.ok || v != o.value {
						t.Fatalf("op %d: Delete(%d, %v) = %q, %v; want %q, %v", i, o.port, o.mac, v, ok, o.value, o.ok)
					}
				}
			}
			for port, want := range tc.want {
				s := tab.Snapshot(port)
				if got := contents(s); !maps.Equal(got, want) || s.Len() != len(want) {
					t.Errorf("port %d: %v (Len %d), want %v", port, got, s.Len(), want)
				}
				for mac, v := range want {
					if got, ok := s.Lookup(mac); !ok || got != v {
						t.Errorf("port %d: Lookup(%v) = %q, %v", port, mac, got, ok)
					}
				}
			}
		})
	}
}

func TestInsertBatchIsAllOrNothing(t *testing.T) {
	// Sizes cover both ways a batch is applied: persistent updates (small
	// batch, big table) and a rebuild (batch not small next to the table).
	for _, tc := range []struct {
		name     string
		existing int   // MACs 0..existing-1 already on the port
		batch    []MAC // indexes into macs(...)
		ok       bool
	}{
		{"into an empty port", 0, []MAC{0, 1, 2}, true},
		{"small batch into a big port", 1000, []MAC{1000, 1001}, true},
		{"big batch into a small port", 2, []MAC{2, 3, 4, 5, 6, 7, 8, 9}, true},
		{"repeat inside the batch", 0, []MAC{0, 1, 0}, false},
		{"repeat inside a small batch into a big port", 1000, []MAC{1000, 1000}, false},
		{"MAC already on a big port", 1000, []MAC{1000, 999}, false},
		{"MAC already on a small port", 2, []MAC{5, 6, 7, 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newTestTable()
			all := macs(2000)
			var items []Item[string]
			for _, m := range all[:tc.existing] {
				items = append(items, Item[string]{m, "old"})
			}
			if err := tab.InsertBatch(1, items); err != nil {
				t.Fatal(err)
			}
			before := tab.Snapshot(1)

			items = items[:0]
			for _, i := range tc.batch {
				items = append(items, Item[string]{all[i], "new"})
			}
			err := tab.InsertBatch(1, items)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrExists)) {
				t.Fatalf("InsertBatch = %v, want ok=%v", err, tc.ok)
			}
			after := tab.Snapshot(1)
			if !tc.ok {
				if after != before {
					t.Fatal("a failed batch published a new snapshot")
				}
				return
			}
			if after.Len() != tc.existing+len(tc.batch) {
				t.Fatalf("Len = %d, want %d", after.Len(), tc.existing+len(tc.batch))
			}
			for i, m := range all[:tc.existing+len(tc.batch)] {
				want := "old"
				if i >= tc.existing {
					want = "new"
				}
				if v, ok := after.Lookup(m); !ok || v != want {
					t.Fatalf("Lookup(%v) = %q, %v; want %q", m, v, ok, want)
				}
			}
			if before.Len() != tc.existing {
				t.Fatalf("the batch changed the old snapshot: Len %d", before.Len())
			}
		})
	}
}

func TestDeleteBatchRemovesPresentMACsAndIgnoresTheRest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing int
		del      []MAC // indexes into macs(...)
		removed  []int // indexes of the values returned, in order
	}{
		{"a few from a big port", 1000, []MAC{5, 3000, 7, 5}, []int{5, 7}},
		{"most of a port", 10, []MAC{9, 0, 1, 2, 3, 4, 5, 6, 7}, []int{9, 0, 1, 2, 3, 4, 5, 6, 7}},
		{"all of a port", 3, []MAC{0, 1, 2}, []int{0, 1, 2}},
		{"none present", 3, []MAC{7, 8}, nil},
		{"empty list", 3, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newTestTable()
			all := macs(4000)
			var items []Item[string]
			for i, m := range all[:tc.existing] {
				items = append(items, Item[string]{m, m.String() + "/" + string(rune('a'+i%26))})
			}
			if err := tab.InsertBatch(0, items); err != nil {
				t.Fatal(err)
			}
			before := tab.Snapshot(0)
			var del []MAC
			for _, i := range tc.del {
				del = append(del, all[i])
			}
			got := tab.DeleteBatch(0, del)
			var want []string
			for _, i := range tc.removed {
				want = append(want, items[i].Value)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("removed %q, want %q", got, want)
			}
			after := tab.Snapshot(0)
			if len(want) == 0 && after != before {
				t.Fatal("a batch that removed nothing published a new snapshot")
			}
			if after.Len() != tc.existing-len(want) || before.Len() != tc.existing {
				t.Fatalf("Len after = %d, before = %d", after.Len(), before.Len())
			}
			for _, i := range tc.removed {
				if _, ok := after.Lookup(all[i]); ok {
					t.Fatalf("%v still present", all[i])
				}
				if _, ok := before.Lookup(all[i]); !ok {
					t.Fatalf("%v gone from the old snapshot", all[i])
				}
			}
		})
	}
}

func TestAnOldSnapshotKeepsItsContentsAfterWrites(t *testing.T) {
	tab := newTestTable()
	a, b := &testSink{"a"}, &testSink{"b"}
	_ = tab.Insert(0, 1, "one")
	_ = tab.Insert(0, 2, "two")
	tab.AddSink(0, a)
	old := tab.Snapshot(0)
	wantEntries, wantSinks := contents(old), slices.Clone(old.Sinks())

	_ = tab.Insert(0, 3, "three")
	tab.Delete(0, 1)
	_ = tab.InsertBatch(0, []Item[string]{{4, "four"}, {5, "five"}})
	tab.DeleteBatch(0, []MAC{2, 4})
	tab.AddSink(0, b)
	tab.RemoveSink(0, a)

	if got := contents(old); !maps.Equal(got, wantEntries) {
		t.Fatalf("old snapshot entries changed: %v, want %v", got, wantEntries)
	}
	if !slices.Equal(old.Sinks(), wantSinks) {
		t.Fatalf("old snapshot sinks changed: %v, want %v", old.Sinks(), wantSinks)
	}
	if got, want := contents(tab.Snapshot(0)), map[MAC]string{3: "three", 5: "five"}; !maps.Equal(got, want) {
		t.Fatalf("new snapshot %v, want %v", got, want)
	}
}

func TestSinksAreASetPerPort(t *testing.T) {
	tab := newTestTable()
	a, b, c := &testSink{"a"}, &testSink{"b"}, &testSink{"c"}
	for _, step := range []struct {
		do   func()
		want []*testSink
	}{
		{func() { tab.AddSink(0, a) }, []*testSink{a}},
		{func() { tab.AddSink(0, b) }, []*testSink{a, b}},
		{func() { tab.AddSink(0, a) }, []*testSink{a, b}}, // already there
		{func() { tab.AddSink(1, c) }, []*testSink{a, b}}, // other port
		{func() { tab.RemoveSink(0, c) }, []*testSink{a, b}},
		{func() { tab.RemoveSink(0, a) }, []*testSink{b}},
		{func() { tab.AddSink(0, c) }, []*testSink{b, c}},
		{func() { tab.RemoveSink(0, b); tab.RemoveSink(0, c) }, nil},
	} {
		step.do()
		if got := tab.Snapshot(0).Sinks(); !slices.Equal(got, step.want) {
			t.Fatalf("sinks %v, want %v", got, step.want)
		}
	}
	if got := tab.Snapshot(1).Sinks(); !slices.Equal(got, []*testSink{c}) {
		t.Fatalf("port 1 sinks %v", got)
	}
}

func TestPortsListsPortsWithEntriesOrSinks(t *testing.T) {
	tab := newTestTable()
	_ = tab.Insert(5, 1, "x")
	tab.AddSink(2, &testSink{})
	_ = tab.Insert(9, 1, "y")
	tab.Delete(9, 1) // empty again
	if got := tab.Ports(); !slices.Equal(got, []uint16{2, 5}) {
		t.Fatalf("Ports = %v, want [2 5]", got)
	}
}

func TestEachVisitsEveryEntryOnceAndStopsWhenAsked(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 100, 5000} {
		tab := newTestTable()
		var items []Item[string]
		for _, m := range macs(n) {
			items = append(items, Item[string]{m, m.String()})
		}
		_ = tab.InsertBatch(0, items)
		s := tab.Snapshot(0)
		seen := map[MAC]int{}
		s.Each(func(m MAC, v string) bool {
			if v != m.String() {
				t.Fatalf("n=%d: %v -> %q", n, m, v)
			}
			seen[m]++
			return true
		})
		if len(seen) != n {
			t.Fatalf("n=%d: visited %d distinct", n, len(seen))
		}
		for m, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: %v visited %d times", n, m, c)
			}
		}
		calls := 0
		s.Each(func(MAC, string) bool { calls++; return calls < 3 })
		if want := min(n, 3); calls != want {
			t.Fatalf("n=%d: %d calls after stopping at 3", n, calls)
		}
	}
}

func TestCheckpointSnapshotAndLookupDoNotAllocate(t *testing.T) {
	type iface struct{ id int }
	tab := NewTable[*iface, *testSink](NewQSBR())
	r := tab.q.Register()
	defer r.Unregister()
	all := macs(100_000)
	items := make([]Item[*iface], len(all))
	for i, m := range all {
		items[i] = Item[*iface]{m, &iface{i}}
	}
	if err := tab.InsertBatch(4, items); err != nil {
		t.Fatal(err)
	}
	var i int
	var hits int
	allocs := testing.AllocsPerRun(10_000, func() {
		r.Checkpoint()
		s := tab.Snapshot(4)
		if v, ok := s.Lookup(all[i%len(all)]); ok && v.id == i%len(all) {
			hits++
		}
		if _, ok := tab.Snapshot(9).Lookup(all[0]); ok { // unknown port
			hits = -1 << 40
		}
		i += 7919
	})
	if allocs != 0 {
		t.Fatalf("Checkpoint+Snapshot+Lookup allocate %v times per run", allocs)
	}
	if hits != 10_001 { // AllocsPerRun runs the function once more to warm up
		t.Fatalf("%d hits in 10001 lookups", hits)
	}
}

func TestEachDoesNotAllocate(t *testing.T) {
	tab := newTestTable()
	var items []Item[string]
	for _, m := range macs(1000) {
		items = append(items, Item[string]{m, "x"})
	}
	_ = tab.InsertBatch(0, items)
	s := tab.Snapshot(0)
	n := 0
	if a := testing.AllocsPerRun(100, func() { s.Each(func(MAC, string) bool { n++; return true }) }); a != 0 {
		t.Fatalf("Each allocates %v times per call", a)
	}
}
