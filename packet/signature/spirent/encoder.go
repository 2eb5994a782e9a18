package spirent

// Encoder writes the signatures of a run of streams (ids base, base+1,
// ...) whose sequence numbers count up and whose timestamps move a little
// from frame to frame, as a generator's do, at about a third of Encode's
// cost. The CRC is linear in the fields, so the Encoder keeps, per stream,
// the part that depends only on the stream id and the sequence number's
// upper 24 bits, and, once, the part of the timestamp's upper bits; a
// frame then costs 3 table loads for the CRC and one for the scramble
// mask (Encode takes 16 and 2), inline. Either cache is refilled when its
// bits change: every 256 frames of a stream, every 164 µs of timestamps.
// An Encoder is not safe for concurrent use.
type Encoder struct {
	streams []streamWords
	tsHi    uint64 // ts>>16 (bits above 38 included) that tsCRC and b15 are for
	tsCRC   uint16 // CRC contribution of timestamp bytes 11, 12 and byte 15
	b15     uint64 // byte 15: timestamp bits 37..32 and the flags
	flags   uint8
}

// streamWords is what a stream's signatures share while the upper 24 bits
// of its sequence number stay.
type streamWords struct {
	hi    uint64 // bytes 0..7 before scrambling
	lo    uint64 // bytes 8..9 before scrambling, in place
	seqHi uint32 // seq>>8 that the words are for; noSeq: none yet
	crc   uint16 // crcBase and the stream id's and seq bytes 0..2's contributions
	id    uint32
}

const noSeq = 1 << 31 // no seq>>8 has bit 31 set

// NewEncoder returns an Encoder for n streams, with ids base to base+n-1
// (modulo 2^32), and flags (FlagEndOfFrame, FlagPRBS) in every signature.
func NewEncoder(base uint32, n int, flags uint8) *Encoder {
	e := &Encoder{streams: make([]streamWords, n), tsHi: ^uint64(0), flags: flags & flagsKnown}
	for i := range e.streams {
		e.streams[i] = streamWords{seqHi: noSeq, id: base + uint32(i)}
	}
	return e
}

// Fresh reports whether the Encoder's caches hold what Words needs for
// stream i, seq and ts; if not, call Refill first. (Words does not check:
// a call from it would keep it from inlining, and the inlined body is
// most of the Encoder's gain.) It inlines into its caller.
func (e *Encoder) Fresh(i int, seq uint32, ts uint64) bool {
	return seq>>8 == e.streams[i].seqHi && ts>>16 == e.tsHi
}

// Words returns the signature of stream i (id base+i) with sequence number
// seq and timestamp ts (2.5 ns ticks; bits above 38 are dropped) as the
// package's Words does: bytes 0..15 as sent, big-endian, and the CRC; the
// cheater is zero. The caches must be Fresh for the arguments. It inlines
// into its caller.
func (e *Encoder) Words(i int, seq uint32, ts uint64) (hi, lo uint64, crc uint16) {
	st := &e.streams[i]
	l := &lowSeq[uint8(seq)]
	crc = st.crc ^ e.tsCRC ^ l.crc ^ crcPos[13][byte(ts>>8)] ^ crcPos[14][byte(ts)]
	return st.hi ^ l.mask0, (st.lo | uint64(uint32(ts))<<8 | e.b15) ^ l.mask1, crc
}

// lowSeq[b] is what the sequence number's low byte b decides: the scramble
// mask (keyed by ^b), with b itself XORed into byte 10 of its second
// word, and b's CRC contribution with the mask's (seqCRC[3]).
var lowSeq [256]struct {
	mask0, mask1 uint64
	crc          uint16
}

func initLowSeq() {
	for x := range lowSeq {
		m := &masks[^uint8(x)]
		l := &lowSeq[x]
		l.mask0, l.mask1, l.crc = m[0], m[1]^uint64(x)<<40, seqCRC[3][x]
	}
}

// Refill fills the caches that Words needs for stream i, seq and ts: what
// stream i's signatures share for seq's upper 24 bits, and what all share
// for ts's bits 16..37.
func (e *Encoder) Refill(i int, seq uint32, ts uint64) {
	st := &e.streams[i]
	s := uint64(seq)
	st.seqHi = seq >> 8
	st.hi = uint64(st.id)<<24 | (^s>>16&0xffff)<<8 | s>>24
	st.lo = (s >> 8 & 0xffff) << 48
	st.crc = crcBase ^ StreamCRC(st.id) ^ seqCRC[0][byte(s>>24)] ^ seqCRC[1][byte(s>>16)] ^ seqCRC[2][byte(s>>8)]
	e.tsHi = ts >> 16
	ts &= TimestampMask
	b15 := byte(ts>>32)<<2 | e.flags
	e.b15 = uint64(b15)
	e.tsCRC = crcPos[11][byte(ts>>24)] ^ crcPos[12][byte(ts>>16)] ^ crcPos[15][b15]
}
