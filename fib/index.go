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
// hashMAC(k)>>shift, then linear probing. len(slots) is a power of two,
// at least 2, and at most half the slots are used, so every probe sequence
// meets an emptyKey. A slot holds its key and value together: a lookup in
// a big port misses the cache once, on the slot, rather than once on a
// keys array and again on a values array (with 16-byte values, as
// Shared's, separate arrays made a 100k-entry lookup ~10% slower than
// with 8-byte ones). Immutable once built.
type flatIndex[V any] struct {
	slots []flatSlot[V]
	shift uint8 // 64 - log2(len(slots))
}

type flatSlot[V any] struct {
	key MAC // emptyKey when free
	val V
}

func emptyFlat[V any]() flatIndex[V] {
	return flatIndex[V]{slots: []flatSlot[V]{{key: emptyKey}, {key: emptyKey}}, shift: 63}
}

// newFlat returns an index with room for n entries at load <= 1/2.
func newFlat[V any](n int) flatIndex[V] {
	if n == 0 {
		return emptyFlat[V]()
	}
	b := max(bits.Len(uint(2*n-1)), 1) // 1<<b >= 2n
	f := flatIndex[V]{slots: make([]flatSlot[V], 1<<b), shift: uint8(64 - b)}
	for i := range f.slots {
		f.slots[i].key = emptyKey
	}
	return f
}

// put adds k -> v. Only for an index being built: never call it on one a
// snapshot holds. The caller guarantees there is room.
func (f *flatIndex[V]) put(k MAC, v V) {
	mask := uint64(len(f.slots) - 1)
	for i := hashMAC(k) >> (f.shift & 63); ; i++ {
		i &= mask
		if c := f.slots[i].key; c == emptyKey || c == k {
			f.slots[i] = flatSlot[V]{k, v}
			return
		}
	}
}

// get returns the value for an indexable mac whose hash is h.
func (f *flatIndex[V]) get(mac MAC, h uint64) (V, bool) {
	slots := f.slots
	mask := uint64(len(slots) - 1)
	for i := h >> (f.shift & 63); ; i++ {
		i &= mask
		switch slots[i].key {
		case mac:
			return slots[i].val, true
		case emptyKey:
			var zero V
			return zero, false
		}
	}
}

// overlay is a small persistent hash map from MAC to a change: "now maps
// to val" (key == mac) or "deleted" (key == mac|deadBit). The top bits of
// the hash pick one of 1<<bits buckets, each an open-addressing table
// like flatIndex. Buckets are held by value in fixed-size chunks, and the
// directory points to the chunks, so a lookup makes the same number of
// dependent loads as with a flat directory of buckets, while a change
// copies only the directory, one chunk and one bucket: about 1.5 KB for a
// 100k-entry port, not the whole overlay. The zero overlay is empty.
// Immutable once published.
type overlay[V any] struct {
	dir  []*ovChunk[V] // nil iff n == 0; len(dir) == 1<<(bits-chunkBits); no nils
	n    int           // keys held, live and deleted
	dead int           // of which deleted
	bits uint8         // >= chunkBits
}

const chunkBits = 4

type ovChunk[V any] [1 << chunkBits]ovBucket[V]

type ovBucket[V any] struct {
	slots []ovSlot[V] // nil, or a power of two >= 4 long and at most half used
	used  int32
	shift uint8 // 64 - log2(len(slots)); probing starts at (h<<bits)>>shift
}

type ovSlot[V any] struct {
	key MAC // emptyKey, mac, or mac|deadBit
	val V
}

// bucket returns the bucket for hash h.
func (o *overlay[V]) bucket(h uint64) *ovBucket[V] {
	j := h >> ((64 - o.bits) & 63)
	return &o.dir[j>>chunkBits][j&(1<<chunkBits-1)]
}

// ovState is what an overlay says about a MAC.
type ovState uint8

const (
	ovNone ovState = iota // no change since the flat index was built
	ovLive                // inserted: the value is current
	ovDead                // deleted
)

// find returns the overlay's change for an indexable mac whose hash is h.
// The overlay must not be empty.
func (o *overlay[V]) find(mac MAC, h uint64) (V, ovState) {
	b := o.bucket(h)
	if slots := b.slots; len(slots) != 0 {
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

// dirBitsFor sizes an overlay for a port of n entries: about 2*sqrt(n)
// buckets, so a full overlay (n/overlayRatio keys) averages a few keys a
// bucket, in chunks of 16.
func dirBitsFor(n int) uint8 {
	return uint8(max(bits.Len(uint(n))/2+1, chunkBits))
}

// ovEditor builds a new overlay from an old one, copying the directory
// once and each chunk and bucket the first time it changes. A chunk or a
// bucket's slots array is the editor's own exactly when it is not the one
// the old overlay holds at that position, so ownership needs no
// bookkeeping.
type ovEditor[V any] struct {
	ov    overlay[V]    // its dir is the editor's own
	old   []*ovChunk[V] // the old overlay's dir; nil if it was empty
	blank *ovChunk[V]   // if old is nil: the empty chunk every dir slot starts as
}

// edit starts an edit of o for a port that will hold about n entries.
func (o *overlay[V]) edit(n int) ovEditor[V] {
	e := ovEditor[V]{ov: *o, old: o.dir}
	if o.dir == nil {
		e.ov.bits = dirBitsFor(n)
		e.ov.dir = make([]*ovChunk[V], 1<<(e.ov.bits-chunkBits))
		e.blank = new(ovChunk[V])
		for i := range e.ov.dir {
			e.ov.dir[i] = e.blank
		}
	} else {
		e.ov.dir = append([]*ovChunk[V](nil), o.dir...)
	}
	return e
}

// set records that an indexable mac now maps to v (dead false) or was
// deleted (dead true), replacing any earlier change to mac.
func (e *ovEditor[V]) set(mac MAC, v V, dead bool) {
	h := hashMAC(mac)
	j := h >> ((64 - e.ov.bits) & 63)
	ci, bi := j>>chunkBits, j&(1<<chunkBits-1)
	oldChunk := e.blank
	if e.old != nil {
		oldChunk = e.old[ci]
	}
	if e.ov.dir[ci] == oldChunk { // shared: copy before writing
		c := new(ovChunk[V])
		*c = *oldChunk
		e.ov.dir[ci] = c
	}
	b := &e.ov.dir[ci][bi]
	if (b.used+1)*2 > int32(len(b.slots)) {
		b.grow(e.ov.bits)
	} else if ob := &oldChunk[bi]; len(ob.slots) != 0 && &b.slots[0] == &ob.slots[0] {
		b.slots = append([]ovSlot[V](nil), b.slots...) // shared: copy before writing
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
			if dead {
				e.ov.dead++
			}
			return
		case c&^deadBit == mac:
			b.slots[i] = ovSlot[V]{key, v}
			if was := c&deadBit != 0; was != dead {
				if dead {
					e.ov.dead++
				} else {
					e.ov.dead--
				}
			}
			return
		}
	}
}

// grow points b at a new slots array twice as long (at least 4) holding
// the same keys. Only for a bucket being built: the old array is not
// touched.
func (b *ovBucket[V]) grow(dirBits uint8) {
	old := b.slots
	lb := max(bits.Len(uint(len(old))), 2) // log2(2*len(old)), at least 2
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
	*e = ovEditor[V]{}
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
	switch {
	case o.dead == 0 && len(nf.slots) == len(f.slots):
		// Same size and hash: f's layout is valid as it is, and no key of f
		// has to go. Live overlay keys are added below, replacing f's
		// values for keys deleted and inserted again.
		copy(nf.slots, f.slots)
	default:
		for _, sl := range f.slots {
			k := sl.key
			if k == emptyKey {
				continue
			}
			if o.dead != 0 {
				if _, st := o.find(k, hashMAC(k)); st == ovDead {
					continue
				}
			}
			nf.put(k, sl.val)
		}
	}
	for _, c := range o.dir {
		for _, b := range c {
			for _, s := range b.slots {
				if s.key != emptyKey && s.key&deadBit == 0 {
					nf.put(s.key, s.val)
				}
			}
		}
	}
	return nf
}
