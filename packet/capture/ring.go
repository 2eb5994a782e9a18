package capture

// record describes one stored packet. Records live in a fixed-size ring
// beside the data ring; 24 bytes each. The port is not recorded: a capture
// has one source.
type record struct {
	ts      int64  // nanoseconds since the Unix epoch, one value per burst
	off     uint32 // offset of the stored bytes in ring.data
	capLen  uint32 // stored bytes (after truncation)
	origLen uint32 // the packet's length on the wire (without FCS)
	dir     Direction
}

// ring holds captured packets: a byte ring for the packet data and a ring
// of fixed-size records, both allocated once. Every packet's bytes are
// contiguous: a packet that does not fit before the end of data goes to
// offset 0 and the tail bytes stay unused until the data ring wraps
// again. A record takes max(capLen, 1) bytes of data (its footprint), so
// the data regions of stored records never coincide.
//
// Sequence numbers identify records for readers that copy out in chunks:
// they grow by one per stored packet over the ring's whole life (clear
// does not restart them), and the records held are [first, first+n).
//
// A ring is not safe for concurrent use; Capture guards it with its mutex.
type ring struct {
	data  []byte
	recs  []record
	start int    // slot of the oldest record
	n     int    // records held
	first uint64 // sequence number of the oldest record
	head  int    // end of the newest record's footprint in data
	bytes uint64 // sum of capLen over the records held
}

func newRing(dataSize, records int) ring {
	return ring{data: make([]byte, dataSize), recs: make([]record, records)}
}

// next is the sequence number the next stored packet gets.
func (r *ring) next() uint64 { return r.first + uint64(r.n) }

// slot returns the slot of sequence number seq, which must be held.
func (r *ring) slot(seq uint64) int {
	i := r.start + int(seq-r.first)
	if i >= len(r.recs) {
		i -= len(r.recs)
	}
	return i
}

// get returns the record with sequence number seq, which must be held.
func (r *ring) get(seq uint64) *record { return &r.recs[r.slot(seq)] }

// bytesOf returns a held record's stored bytes (aliasing the ring).
func (r *ring) bytesOf(rec *record) []byte {
	return r.data[rec.off : rec.off+rec.capLen]
}

func footprint(capLen int) int { return max(capLen, 1) }

// place returns where a footprint of size fp fits without touching held
// data, or -1.
func (r *ring) place(fp int) int {
	if r.n == len(r.recs) {
		return -1
	}
	if r.n == 0 {
		if fp <= len(r.data) {
			return 0
		}
		return -1
	}
	tail := int(r.recs[r.start].off)
	newest := &r.recs[r.slot(r.next()-1)]
	if int(newest.off) >= tail { // held data is [tail, head): free after head and before tail
		if r.head+fp <= len(r.data) {
			return r.head
		}
		if fp <= tail {
			return 0
		}
		return -1
	}
	// wrapped: held data is [tail, end) and [0, head); free is [head, tail)
	if r.head+fp <= tail {
		return r.head
	}
	return -1
}

// evict drops the oldest record; the ring must not be empty.
func (r *ring) evict() {
	r.bytes -= uint64(r.recs[r.start].capLen)
	r.start++
	if r.start == len(r.recs) {
		r.start = 0
	}
	r.n--
	r.first++
	if r.n == 0 {
		r.start, r.head = 0, 0
	}
}

// put stores one packet's (already truncated) bytes and describes them
// with a record of its timestamp, original length and direction. With wrap it evicts the
// oldest packets until the new one fits; without, it stores nothing and
// returns false when the packet does not fit. len(b) must not exceed
// len(r.data).
//
// The record's fields are written into its slot one by one: building it on
// the stack and copying it over cost 12 ns a packet in a store-forwarding
// stall.
func (r *ring) put(b []byte, ts int64, origLen uint32, dir Direction, wrap bool) bool {
	fp := footprint(len(b))
	at := r.place(fp)
	for at < 0 {
		if !wrap || r.n == 0 {
			return false
		}
		r.evict()
		at = r.place(fp)
	}
	copy(r.data[at:], b)
	i := r.start + r.n
	if i >= len(r.recs) {
		i -= len(r.recs)
	}
	rec := &r.recs[i]
	rec.ts = ts
	rec.off = uint32(at)
	rec.capLen = uint32(len(b))
	rec.origLen = origLen
	rec.dir = dir
	r.n++
	r.head = at + fp
	r.bytes += uint64(len(b))
	return true
}

// clear drops every record; sequence numbers carry on.
func (r *ring) clear() {
	r.first += uint64(r.n)
	r.start, r.n, r.head, r.bytes = 0, 0, 0, 0
}
