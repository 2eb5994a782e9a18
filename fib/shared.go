package fib

import (
	"fmt"
	"slices"

	"github.com/benbjohnson/immutable"
)

// Shared is the value of a FIB entry that several values may share: the
// interfaces of one port that have the same MAC, which the receiver then
// tells apart by IP address. Almost every MAC has one value, held inline,
// so the common case costs a reader what a plain value does; a MAC with
// more keeps them all, in the order they joined, in an array that is never
// written once published. Shared values are immutable: Join and Leave
// publish new ones.
type Shared[T comparable] struct {
	first T
	all   *[]T // nil when first is the only value; else every value (len >= 2), first included
}

// First returns the value that joined first. It is the zero T for the
// zero Shared, which Lookup returns for an absent MAC.
func (s Shared[T]) First() T { return s.first }

// Len returns how many values share the MAC (1 for a Lookup hit).
func (s Shared[T]) Len() int {
	if s.all != nil {
		return len(*s.all)
	}
	return 1
}

// Sharers returns every value when more than one shares the MAC, in the
// order they joined, and nil when First is the only one. The slice belongs
// to the snapshot: do not modify it.
func (s Shared[T]) Sharers() []T {
	if s.all == nil {
		return nil
	}
	return *s.all
}

// contains reports whether v is one of s's values.
func (s Shared[T]) contains(v T) bool {
	if s.all == nil {
		return s.first == v
	}
	return slices.Contains(*s.all, v)
}

// with returns s with v added last. s is not changed.
func (s Shared[T]) with(v T) Shared[T] {
	var all []T
	if s.all == nil {
		all = []T{s.first, v}
	} else {
		all = append(slices.Clip(*s.all), v) // Clip: never write into a published array
	}
	return Shared[T]{first: all[0], all: &all}
}

// without returns s with v removed, and false when no value is left. s is
// not changed.
func (s Shared[T]) without(v T) (Shared[T], bool) {
	if s.all == nil {
		return Shared[T]{}, s.first != v
	}
	rest := make([]T, 0, len(*s.all)-1)
	for _, x := range *s.all {
		if x != v {
			rest = append(rest, x)
		}
	}
	if len(rest) == 1 {
		return Shared[T]{first: rest[0]}, true
	}
	return Shared[T]{first: rest[0], all: &rest}, true
}

// Join adds v to the values that share mac on port (see JoinBatch).
func Join[T, S comparable](t *Table[Shared[T], S], port uint16, mac MAC, v T) error {
	return JoinBatch(t, port, []Item[T]{{MAC: mac, Value: v}})
}

// JoinBatch adds each item's value to the values that share its MAC on
// port, in one new snapshot, or changes nothing: it fails, wrapping
// ErrExists, if a value already shares its MAC or an item is repeated.
// Items may repeat a MAC with different values: they all share it.
// Workers never see part of a batch.
func JoinBatch[T, S comparable](t *Table[Shared[T], S], port uint16, items []Item[T]) error {
	if len(items) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.current(port)
	ch := newChanges[T](cur.entries, len(items))
	for _, it := range items {
		e, ok := ch.get(it.MAC)
		if ok && e.contains(it.Value) {
			return fmt.Errorf("fib: join batch of %d on port %d: %v: %w", len(items), port, it.MAC, ErrExists)
		}
		if ok {
			e = e.with(it.Value)
		} else {
			e = Shared[T]{first: it.Value}
		}
		ch.set(it.MAC, e, false)
	}
	t.publish(port, applyChanges(ch, cur))
	return nil
}

// Leave removes v from the values that share mac on port (see
// LeaveBatch) and reports whether it was there.
func Leave[T, S comparable](t *Table[Shared[T], S], port uint16, mac MAC, v T) bool {
	return len(LeaveBatch(t, port, []Item[T]{{MAC: mac, Value: v}})) == 1
}

// LeaveBatch removes each item's value from the values that share its MAC
// on port, in one new snapshot; a MAC whose last value leaves goes from
// the table. Items not in the table, and repeats, are ignored. It returns
// the values removed, in the order of items. Release what they own only
// after Synchronize: the other values of their MACs stay in use.
func LeaveBatch[T, S comparable](t *Table[Shared[T], S], port uint16, items []Item[T]) []T {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.current(port)
	ch := newChanges[T](cur.entries, len(items))
	var removed []T
	for _, it := range items {
		e, ok := ch.get(it.MAC)
		if !ok || !e.contains(it.Value) {
			continue
		}
		rest, left := e.without(it.Value)
		ch.set(it.MAC, rest, !left)
		removed = append(removed, it.Value)
	}
	if len(removed) > 0 {
		t.publish(port, applyChanges(ch, cur))
	}
	return removed
}

// changes collects a batch's new entries before one snapshot publishes
// them; a MAC changed twice in a batch keeps its last entry.
type changes[T comparable] struct {
	base  *immutable.Map[MAC, Shared[T]]
	order []MAC                   // MACs in the order first changed
	to    map[MAC]sharedChange[T] // their entries now
}

type sharedChange[T comparable] struct {
	e    Shared[T]
	gone bool // the MAC has no value left
}

func newChanges[T comparable](base *immutable.Map[MAC, Shared[T]], n int) *changes[T] {
	return &changes[T]{base: base, to: make(map[MAC]sharedChange[T], n)}
}

// get returns mac's entry as the batch has left it so far.
func (c *changes[T]) get(mac MAC) (Shared[T], bool) {
	if x, ok := c.to[mac]; ok {
		return x.e, !x.gone
	}
	return c.base.Get(mac)
}

func (c *changes[T]) set(mac MAC, e Shared[T], gone bool) {
	if _, ok := c.to[mac]; !ok {
		c.order = append(c.order, mac)
	}
	c.to[mac] = sharedChange[T]{e: e, gone: gone}
}

// applyChanges returns the snapshot that follows cur with c's changes
// made. As insertAll and deleteAll do, it applies a batch that is small
// next to the port with persistent updates and rebuilds the map otherwise.
func applyChanges[T, S comparable](c *changes[T], cur *Snapshot[Shared[T], S]) *Snapshot[Shared[T], S] {
	var ins []Item[Shared[T]]
	var del []MAC
	for _, mac := range c.order {
		x := c.to[mac]
		if x.gone {
			if _, was := c.base.Get(mac); was {
				del = append(del, mac)
			}
			continue
		}
		ins = append(ins, Item[Shared[T]]{MAC: mac, Value: x.e})
	}
	m := c.base
	if len(c.order)*rebuildRatio < m.Len() {
		for _, mac := range del {
			m = m.Delete(mac)
		}
		for _, it := range ins {
			m = m.Set(it.MAC, it.Value)
		}
	} else {
		var skip map[MAC]struct{}
		if len(del) > 0 {
			skip = make(map[MAC]struct{}, len(del))
			for _, mac := range del {
				skip[mac] = struct{}{}
			}
		}
		b := builderFrom(m, skip)
		for _, it := range ins {
			b.Set(it.MAC, it.Value)
		}
		m = b.Map()
	}
	return cur.next(m, ins, del)
}
