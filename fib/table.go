package fib

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/benbjohnson/immutable"
)

// ErrExists is wrapped by Insert and InsertBatch when a MAC is already in
// the port's table.
var ErrExists = errors.New("MAC already in forwarding table")

// Item is one entry of InsertBatch.
type Item[V any] struct {
	MAC   MAC
	Value V
}

// Snapshot is one port's forwarding state at one moment: the interfaces
// by destination MAC and the port-level sinks. A Snapshot never changes
// once published; writers publish a new one. A worker may keep using a
// snapshot, and the values it returns, until its Reader's next Checkpoint
// or Offline; after that a writer may have released what they own.
type Snapshot[V any, S comparable] struct {
	entries *immutable.Map[MAC, V] // the source of truth; serves Len and Each
	flat    flatIndex[V]           // entries as of the last rebuild
	ov      overlay[V]             // changes since then, checked first
	sinks   []S                    // never appended to in place: writers copy
}

// Lookup returns the value for mac. It does not allocate.
func (s *Snapshot[V, S]) Lookup(mac MAC) (V, bool) {
	if !indexable(mac) {
		return s.entries.Get(mac)
	}
	h := hashMAC(mac)
	if s.ov.n != 0 {
		if v, st := s.ov.find(mac, h); st != ovNone {
			return v, st == ovLive
		}
	}
	return s.flat.get(mac, h)
}

// Len returns the number of entries.
func (s *Snapshot[V, S]) Len() int { return s.entries.Len() }

// Each calls fn for every entry, in an order that is fixed for this
// snapshot but otherwise arbitrary, until fn returns false. It is meant
// for broadcast and multicast delivery. It does not allocate.
func (s *Snapshot[V, S]) Each(fn func(MAC, V) bool) {
	if s.entries.Len() == 0 {
		return
	}
	for it := s.entries.Iterator(); !it.Done(); {
		if k, v, _ := it.Next(); !fn(k, v) {
			return
		}
	}
}

// Sinks returns the port-level sinks (every packet received on the port is
// offered to each). The slice is shared with the snapshot: do not modify it.
func (s *Snapshot[V, S]) Sinks() []S { return s.sinks }

// Table is the forwarding state of every port: for each port index a
// Snapshot that workers read without locks, replaced copy-on-write by
// writers.
//
// V is what an entry maps to (the interface, usually a pointer). S is the
// sink type; it is a second type parameter rather than []any so the worker
// calls its sinks without a type assertion, and it is comparable so
// RemoveSink can find the sink to remove.
//
// Reads (Snapshot and the Snapshot methods) are lock-free and safe from
// any goroutine; writers are serialised by an internal mutex. After a write
// that removes a value, call Synchronize before releasing what the value
// owns.
type Table[V any, S comparable] struct {
	q     *QSBR
	empty *Snapshot[V, S] // returned for ports never written

	// dir has one slot per port index up to the highest port ever written.
	// It grows (copy-on-write, under mu) and never shrinks; a slot, once in
	// dir, stays the same object forever, so readers holding an old dir
	// still load the current snapshot.
	dir atomic.Pointer[[]*portSlot[V, S]]
	mu  sync.Mutex // serialises writers; held across load-modify-publish
}

// portSlot is one port's published snapshot, alone on its cache line so a
// write to one port does not evict another port's slot from the readers'
// caches.
type portSlot[V any, S comparable] struct {
	snap atomic.Pointer[Snapshot[V, S]] // never nil
	_    [56]byte
}

// NewTable returns an empty table whose Synchronize waits on q's readers.
// q must not be nil.
func NewTable[V any, S comparable](q *QSBR) *Table[V, S] {
	if q == nil {
		panic("fib.NewTable: nil QSBR")
	}
	t := &Table[V, S]{
		q:     q,
		empty: &Snapshot[V, S]{entries: immutable.NewMap[MAC, V](MACHasher{}), flat: emptyFlat[V]()},
	}
	t.dir.Store(new([]*portSlot[V, S]))
	return t
}

// Snapshot returns the port's current snapshot: never nil (an empty one
// for ports never written), lock-free, no allocation. Read it once per
// burst.
func (t *Table[V, S]) Snapshot(port uint16) *Snapshot[V, S] {
	if d := *t.dir.Load(); int(port) < len(d) {
		return d[port].snap.Load()
	}
	return t.empty
}

// Synchronize waits until no worker can still hold a value removed before
// the call (see QSBR.Synchronize). Call it after Delete or DeleteBatch and
// before releasing what the removed values own. Do not call it from a
// worker, nor while holding a lock a worker needs.
func (t *Table[V, S]) Synchronize() { t.q.Synchronize() }

// Ports returns, in ascending order, the ports that have at least one entry
// or sink.
func (t *Table[V, S]) Ports() []uint16 {
	var ports []uint16
	for i, slot := range *t.dir.Load() {
		if s := slot.snap.Load(); s.entries.Len() > 0 || len(s.sinks) > 0 {
			ports = append(ports, uint16(i))
		}
	}
	return ports
}

// Insert adds mac -> v on port. It fails, changing nothing, if mac is
// already there.
func (t *Table[V, S]) Insert(port uint16, mac MAC, v V) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.current(port)
	m := cur.entries.Set(mac, v)
	if m.Len() == cur.entries.Len() { // replaced, not added
		return fmt.Errorf("fib: insert %v on port %d: %w", mac, port, ErrExists)
	}
	t.publish(port, cur.next(m, []Item[V]{{mac, v}}, nil))
	return nil
}

// Delete removes mac from port and returns the value it mapped to. Release
// what the value owns only after Synchronize.
func (t *Table[V, S]) Delete(port uint16, mac MAC) (V, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.current(port)
	v, ok := cur.entries.Get(mac)
	if ok {
		t.publish(port, cur.next(cur.entries.Delete(mac), nil, []MAC{mac}))
	}
	return v, ok
}

// InsertBatch adds all items to port in one new snapshot, or none of them:
// it fails, changing nothing, if any MAC is already on the port or appears
// twice in items. Workers never see part of a batch.
func (t *Table[V, S]) InsertBatch(port uint16, items []Item[V]) error {
	if len(items) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.current(port)
	m, err := insertAll(cur.entries, items)
	if err != nil {
		return fmt.Errorf("fib: insert batch of %d on port %d: %w", len(items), port, err)
	}
	t.publish(port, cur.next(m, items, nil))
	return nil
}

// DeleteBatch removes every listed MAC that is on port, in one new
// snapshot, and returns the removed values in the order of macs. MACs not
// on the port are ignored. Release what the values own only after
// Synchronize.
func (t *Table[V, S]) DeleteBatch(port uint16, macs []MAC) []V {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.current(port)
	m, gone, removed := deleteAll(cur.entries, macs)
	if len(removed) > 0 {
		t.publish(port, cur.next(m, nil, gone))
	}
	return removed
}

// AddSink adds s to port's sinks; adding a sink that is already there does
// nothing.
func (t *Table[V, S]) AddSink(port uint16, s S) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.current(port)
	if slices.Contains(cur.sinks, s) {
		return
	}
	sinks := append(slices.Clip(cur.sinks), s) // Clip: never write into a published array
	t.publish(port, cur.withSinks(sinks))
}

// RemoveSink removes s from port's sinks, if it is there. Release what the
// sink owns only after Synchronize.
func (t *Table[V, S]) RemoveSink(port uint16, s S) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.current(port)
	i := slices.Index(cur.sinks, s)
	if i < 0 {
		return
	}
	sinks := slices.Delete(slices.Clone(cur.sinks), i, i+1)
	if len(sinks) == 0 {
		sinks = nil
	}
	t.publish(port, cur.withSinks(sinks))
}

// next returns the snapshot that follows s when its entries become m,
// which is s's entries with del removed and ins added. The new snapshot
// shares s's flat index and gets a copy of s's overlay with the changes,
// unless that overlay would hold more than 1/overlayRatio of the entries:
// then it gets a new flat index and an empty overlay. s is not changed.
func (s *Snapshot[V, S]) next(m *immutable.Map[MAC, V], ins []Item[V], del []MAC) *Snapshot[V, S] {
	n := m.Len()
	ns := &Snapshot[V, S]{entries: m, flat: s.flat, sinks: s.sinks}
	if len(del) == 0 && len(ins)*overlayRatio > n {
		// The new overlay would hold at least the len(ins) distinct new
		// MACs: it would be rebuilt anyway, so skip building it.
		ns.flat = rebuild(&s.flat, &s.ov, n)
		for _, it := range ins {
			if indexable(it.MAC) {
				ns.flat.put(it.MAC, it.Value)
			}
		}
		return ns
	}
	e := s.ov.edit(n)
	var zero V
	for _, mac := range del {
		if indexable(mac) {
			e.set(mac, zero, true)
		}
	}
	for _, it := range ins {
		if indexable(it.MAC) {
			e.set(it.MAC, it.Value, false)
		}
	}
	ns.ov = e.done()
	if ns.ov.n*overlayRatio > n {
		ns.flat = rebuild(&s.flat, &ns.ov, n)
		ns.ov = overlay[V]{}
	}
	return ns
}

// withSinks returns a copy of s with other sinks.
func (s *Snapshot[V, S]) withSinks(sinks []S) *Snapshot[V, S] {
	return &Snapshot[V, S]{entries: s.entries, flat: s.flat, ov: s.ov, sinks: sinks}
}

// current returns port's snapshot. Call with mu held.
func (t *Table[V, S]) current(port uint16) *Snapshot[V, S] { return t.Snapshot(port) }

// publish makes s port's snapshot, growing dir if needed. Call with mu held.
func (t *Table[V, S]) publish(port uint16, s *Snapshot[V, S]) {
	d := *t.dir.Load()
	if int(port) >= len(d) {
		grown := make([]*portSlot[V, S], int(port)+1)
		copy(grown, d)
		for i := len(d); i < len(grown); i++ {
			grown[i] = &portSlot[V, S]{}
			grown[i].snap.Store(t.empty)
		}
		grown[port].snap.Store(s) // before the slot becomes visible
		t.dir.Store(&grown)
		return
	}
	d[port].snap.Store(s)
}
