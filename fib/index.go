package fib

import "math/bits"

// The read side of a Snapshot. Lookup used to walk the immutable.Map (a
// hash-array-mapped trie): four or five dependent loads into a 100k-entry
// trie, each likely a cache miss. Instead every snapshot carries
//
//   - a flat index: one open-addressing table (linear probing, at most half
//     full) holding the port's entries as of the last rebuild; and
//   - an overlay: the changes made since that rebuild, inserts and
//     deletions, in a small persistent hash map that Lookup checks first.
//
// A single Insert or Delete copies a few kilobytes of overlay instead of
// the whole flat index. Once the overlay holds more than 1/overlayRatio of
// the port's entries, the next snapshot gets a freshly built flat index and
// an empty overlay, which amortizes the O(n) rebuild to O(overlayRatio) per
// change. A batch goes through the same path, so a batch that is not small
// next to the port rebuilds at once.
//
// Both structures are immutable once published: writers only ever fill
// arrays they have just allocated, and old snapshots keep theirs. The
// immutable.Map stays the writers' source of truth and serves Len and Each.

// overlayRatio: rebuild the flat index when overlay.n*overlayRatio > Len.
const overlayRatio = 8

const (
	// emptyKey marks a free slot. It has bits above 47 set, so it is never
	// a MAC that lives in the index (see indexable).
	emptyKey MAC = 1 << 63
	// deadBit marks an overlay slot that records a deletion: key|deadBit.
	deadBit MAC = 1 << 62
	// maxMAC is the largest 48-bit MAC.
	maxMAC MAC = 1<<48 - 1
)

// indexable reports whether mac can be held by the flat index and overlay.
// MAC values with any of the top 16 bits set are never made by this
// package; Insert still accepts them (as it always did) but they live only
// in the immutable.Map, and Lookup takes the slow path for them.
func indexable(mac MAC) bool { return mac <= maxMAC }

// hashMAC is Fibonacci hashing with the high half folded in: callers take
// the top bits of the product, which every input bit affects.
// Consecutive MACs land far apart, so linear probing sees no clusters.
func hashMAC(mac MAC) uint64 {
	x := uint64(mac)
	return (x ^ x>>32) * 0x9e3779b97f4a7c15
}

// flatIndex is an open-addressing hash table from MAC to V: slot
// hashMAC(k)>>shift, then linear probing. len(keys) is a power of two, at
// least 2, and at most half the slots are used, so every probe sequence
// meets an emptyKey. keys and vals are separate so a probe reads only keys.
// Immutable once built.
type flatIndex[V any] struct {
	keys  []MAC
	vals  []V
	shift uint8 // 64 - log2(len(keys))
}

// emptyKeys is the keys array of every empty flatIndex (vals is nil: no
// key ever matches, so no value is read). Never written.
var emptyKeys = []MAC{emptyKey, emptyKey}

func emptyFlat[V any]() flatIndex[V] { return flatIndex[V]{keys: emptyKeys, shift: 63} }

// newFlat returns an index with room for n entries at load <= 1/2.
func newFlat[V any](n int) flatIndex[V] {
	if n == 0 {
		return emptyFlat[V]()
	}
	b := max(bits.Len(uint(2*n-1)), 1) // 1<<b >= 2n
	f := flatIndex[V]{keys: make([]MAC, 1<<b), vals: make([]V, 1<<b), shift: uint8(64 - b)}
	for i := range f.keys {
		f.keys[i] = emptyKey
	}
	return f
}

// put adds k -> v. Only for an index being built: never call it on one a
// snapshot holds. The caller guarantees there is room.
func (f *flatIndex[V]) put(k MAC, v V) {
	mask := uint64(len(f.keys) - 1)
	for i := hashMAC(k) >> (f.shift & 63); ; i++ {
		i &= mask
		if c := f.keys[i]; c == emptyKey || c == k {
			f.keys[i], f.vals[i] = k, v
			return
		}
	}
}

// get returns the value for an indexable mac whose hash is h.
func (f *flatIndex[V]) get(mac MAC, h uint64) (V, bool) {
	keys := f.keys
	mask := uint64(len(keys) - 1)
	for i := h >> (f.shift & 63); ; i++ {
		i &= mask
		switch keys[i] {
		case mac:
			return f.vals[i], true
		case emptyKey:
			var zero V
			return zero, false
		}
	}
}

// overlay is a small persistent hash map from MAC to a change: "now maps
// to val" (key == mac) or "deleted" (key == mac|deadBit). It is a
// directory of 1<<bits buckets chosen by the top bits of the hash, each an
// open-addressing table like flatIndex, so a change copies the directory
// and one bucket (a few KB for a 100k-entry port), not the whole overlay.
// The zero overlay is empty. Immutable once published.
type overlay[V any] struct {
	dir  []ovBucket[V] // nil iff n == 0; len(dir) == 1<<bits
	n    int           // keys held, live and deleted
	bits uint8         // >= 1
}

type ovBucket[V any] struct {
	slots []ovSlot[V] // nil or a power of two >= 4 long, at most half used
	used  int32
	shift uint8 // 64 - log2(len(slots)); probing starts at (h<<bits)>>shift
}

type ovSlot[V any] struct {
	key MAC // emptyKey, mac, or mac|deadBit
	val V
}

// ovState is what an overlay says about a MAC.
type ovState uint8

const (
	ovNone ovState = iota // no change since the flat index was built
	ovLive                // inserted: the value is current
	ovDead                // deleted
)

// find returns the overlay's change for an indexable mac whose hash is h.
func (o *overlay[V]) find(mac MAC, h uint64) (V, ovState) {
	b := &o.dir[h>>((64-o.bits)&63)]
	slots := b.slots
	if len(slots) != 0 {
		mask := uint64(len(slots) - 1)
		for i := h << (o.bits & 63) >> (b.shift & 63); ; i++ {
			i &= mask
			switch slots[i].key {
			case mac:
				return slots[i].val, ovLive
			case mac | deadBit:
				return slots[i].val, ovDead
			case emptyKey:
				var zero V
				return zero, ovNone
			}
		}
	}
	var zero V
	return zero, ovNone
}

// dirBitsFor sizes an overlay's directory for a port of n entries: about
// sqrt(n/overlayRatio) buckets, which balances the directory copy against
// the bucket copy when the overlay is near full.
func dirBitsFor(n int) uint8 {
	return uint8(max(bits.Len(uint(n/overlayRatio))/2, 1))
}

// ovEditor builds a new overlay from an old one, copying the directory
// once and each bucket the first time it changes.
type ovEditor[V any] struct {
	ov    overlay[V] // its dir is private to the editor
	owned []bool     // owned[j]: dir[j].slots is private to the editor
}

// edit starts an edit of o for a port that will hold about n entries.
func (o *overlay[V]) edit(n int) *ovEditor[V] {
	e := &ovEditor[V]{ov: *o}
	if o.dir == nil {
		e.ov.bits = dirBitsFor(n)
		e.ov.dir = make([]ovBucket[V], 1<<e.ov.bits)
	} else {
		e.ov.dir = append([]ovBucket[V](nil), o.dir...)
	}
	e.owned = make([]bool, len(e.ov.dir))
	return e
}

// set records that an indexable mac now maps to v (dead false) or was
// deleted (dead true), replacing any earlier change to mac.
func (e *ovEditor[V]) set(mac MAC, v V, dead bool) {
	h := hashMAC(mac)
	j := h >> ((64 - e.ov.bits) & 63)
	b := &e.ov.dir[j]
	if int(b.used+1)*2 > len(b.slots) {
		e.grow(b, e.ov.bits)
		e.owned[j] = true
	} else if !e.owned[j] {
		b.slots = append([]ovSlot[V](nil), b.slots...)
		e.owned[j] = true
	}
	key := mac
	if dead {
		key |= deadBit
	}
	mask := uint64(len(b.slots) - 1)
	for i := h << (e.ov.bits & 63) >> (b.shift & 63); ; i++ {
		i &= mask
		switch c := b.slots[i].key; {
		case c == emptyKey:
			b.slots[i] = ovSlot[V]{key, v}
			b.used++
			e.ov.n++
			return
		case c&^deadBit == mac:
			b.slots[i] = ovSlot[V]{key, v}
			return
		}
	}
}

// grow replaces b.slots by a new array twice as long (at least 4), holding
// the same keys.
func (e *ovEditor[V]) grow(b *ovBucket[V], dirBits uint8) {
	old := b.slots
	lb := max(bits.Len(uint(len(old))), 2) // len(old)*2, at least 4
	b.slots = make([]ovSlot[V], 1<<lb)
	b.shift = uint8(64 - lb)
	for i := range b.slots {
		b.slots[i].key = emptyKey
	}
	mask := uint64(len(b.slots) - 1)
	for _, s := range old {
		if s.key == emptyKey {
			continue
		}
		for i := hashMAC(s.key&^deadBit) << (dirBits & 63) >> (b.shift & 63); ; i++ {
			i &= mask
			if b.slots[i].key == emptyKey {
				b.slots[i] = s
				break
			}
		}
	}
}

// done returns the new overlay. The editor must not be used afterwards.
func (e *ovEditor[V]) done() overlay[V] {
	o := e.ov
	e.ov, e.owned = overlay[V]{}, nil
	if o.n == 0 {
		return overlay[V]{}
	}
	return o
}

// rebuild returns a new flat index holding f's entries with o's changes
// applied, sized for n entries (at least as many as it will hold).
func rebuild[V any](f *flatIndex[V], o *overlay[V], n int) flatIndex[V] {
	nf := newFlat[V](n)
	if n == 0 {
		return nf
	}
	for i, k := range f.keys {
		if k == emptyKey {
			continue
		}
		if o.n != 0 {
			if _, st := o.find(k, hashMAC(k)); st != ovNone {
				continue // deleted, or replaced by a live overlay entry below
			}
		}
		nf.put(k, f.vals[i])
	}
	for _, b := range o.dir {
		for _, s := range b.slots {
			if s.key != emptyKey && s.key&deadBit == 0 {
				nf.put(s.key, s.val)
			}
		}
	}
	return nf
}
