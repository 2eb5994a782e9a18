// Package registry keeps a service's resources (generators, analyzers,
// captures and their results) by id in creation order, which is the order
// the API lists them in. It is a leaf package like packet/protocol: the
// packet modules share it without importing each other. Not safe for
// concurrent use; packet/resource guards it with its lock.
package registry

import (
	"fmt"
	"iter"
	"slices"

	"github.com/openperfd/openperfd/packetio"
)

// Ordered maps ids to values and remembers the order they were added in.
// The zero value is empty and ready to use.
type Ordered[V any] struct {
	m   map[string]V
	ids []string
}

// Get returns the value of id; ok is false if there is none.
func (o *Ordered[V]) Get(id string) (v V, ok bool) {
	v, ok = o.m[id]
	return v, ok
}

// Value returns the value of id, or the zero value.
func (o *Ordered[V]) Value(id string) V { return o.m[id] }

// Add appends id with v; an id already there keeps its place and takes v.
func (o *Ordered[V]) Add(id string, v V) {
	if o.m == nil {
		o.m = map[string]V{}
	}
	if _, dup := o.m[id]; !dup {
		o.ids = append(o.ids, id)
	}
	o.m[id] = v
}

// AddAll adds values all or none: it fails with an *packetio.ItemError
// (of class packetio.ErrInUse) if an id is there already or given twice.
func (o *Ordered[V]) AddAll(ids []string, vs []V) error {
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if _, dup := o.m[id]; dup || seen[id] {
			return &packetio.ItemError{Index: i, Err: &packetio.FieldError{Path: "id",
				Err: fmt.Errorf("%q already exists: %w", id, packetio.ErrInUse)}}
		}
		seen[id] = true
	}
	for i, id := range ids {
		o.Add(id, vs[i])
	}
	return nil
}

// Delete removes id; an unknown id is ignored.
func (o *Ordered[V]) Delete(id string) {
	if _, ok := o.m[id]; !ok {
		return
	}
	delete(o.m, id)
	o.ids = slices.DeleteFunc(o.ids, func(x string) bool { return x == id })
}

// DeleteFunc removes every value drop reports true for.
func (o *Ordered[V]) DeleteFunc(drop func(V) bool) {
	o.ids = slices.DeleteFunc(o.ids, func(id string) bool {
		if drop(o.m[id]) {
			delete(o.m, id)
			return true
		}
		return false
	})
}

// IDs returns a copy of the ids in order, for callers that drop the lock
// between items.
func (o *Ordered[V]) IDs() []string { return slices.Clone(o.ids) }

// All yields the ids and values in order. The registry must not change
// during the iteration.
func (o *Ordered[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for _, id := range o.ids {
			if !yield(id, o.m[id]) {
				return
			}
		}
	}
}

// Len returns the number of values.
func (o *Ordered[V]) Len() int { return len(o.ids) }
