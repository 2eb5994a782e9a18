package fib

import (
	"fmt"

	"github.com/benbjohnson/immutable"
)

// A persistent Set or Delete copies the trie path to the key (a few nodes
// of up to 32 slots), while a MapBuilder mutates nodes it owns in place but
// can only start empty. So a batch is applied with persistent updates when
// it is small next to the map, and by rebuilding the whole map in a builder
// when it is not: a batch then costs O(len(map) + len(batch)) either way,
// and bulk-creating n interfaces in batches is O(n), not O(n^2).
//
// rebuildRatio: rebuild when len(batch)*rebuildRatio >= len(map). Measured
// on a 100k-entry map: a persistent Set or Delete costs ~3.5 us (~1.9 KB of
// copied path), a rebuild ~0.5 us per entry, so they break even near 1/6.
const rebuildRatio = 6

// insertAll returns m with items added, or an error naming the first MAC
// that is already in m or repeated in items. m itself is never changed: a
// failed batch only leaves garbage behind. A Set that does not grow the
// map replaced an entry, which is how duplicates are found without a
// second walk of the trie.
func insertAll[V any](m *immutable.Map[MAC, V], items []Item[V]) (*immutable.Map[MAC, V], error) {
	if len(items)*rebuildRatio < m.Len() {
		for _, it := range items {
			n := m.Len()
			if m = m.Set(it.MAC, it.Value); m.Len() == n { // replaced, not added
				return nil, fmt.Errorf("%v: %w", it.MAC, ErrExists)
			}
		}
		return m, nil
	}
	b := builderFrom(m, nil)
	for _, it := range items {
		n := b.Len()
		if b.Set(it.MAC, it.Value); b.Len() == n { // replaced, not added
			return nil, fmt.Errorf("%v: %w", it.MAC, ErrExists)
		}
	}
	return b.Map(), nil
}

// deleteAll returns m without macs, the MACs removed and their values, in
// the order of macs. MACs not in m, and repeats, are skipped. m itself is
// never changed.
func deleteAll[V any](m *immutable.Map[MAC, V], macs []MAC) (*immutable.Map[MAC, V], []MAC, []V) {
	var gone []MAC
	var removed []V
	skip := make(map[MAC]struct{}, len(macs))
	for _, mac := range macs {
		if _, seen := skip[mac]; seen {
			continue
		}
		if v, ok := m.Get(mac); ok {
			skip[mac] = struct{}{}
			gone = append(gone, mac)
			removed = append(removed, v)
		}
	}
	if len(removed) == 0 {
		return m, nil, nil
	}
	if len(removed)*rebuildRatio < m.Len() {
		for _, mac := range gone {
			m = m.Delete(mac)
		}
		return m, gone, removed
	}
	return builderFrom(m, skip).Map(), gone, removed
}

// builderFrom returns a builder holding m's entries except those in skip.
func builderFrom[V any](m *immutable.Map[MAC, V], skip map[MAC]struct{}) *immutable.MapBuilder[MAC, V] {
	b := immutable.NewMapBuilder[MAC, V](MACHasher{})
	if m.Len() == 0 {
		return b
	}
	for it := m.Iterator(); !it.Done(); {
		k, v, _ := it.Next()
		if _, drop := skip[k]; !drop {
			b.Set(k, v)
		}
	}
	return b
}
