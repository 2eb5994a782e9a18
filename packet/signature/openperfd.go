package signature

import (
	"encoding/binary"
	"math/bits"
)

// openperfd's own trailer format. All fields are big-endian:
//
//	off  size
//	 0    4   stream id
//	 4    4   sequence number, per flow, from 0
//	 8    6   tx timestamp, ns, modulo 2^48 (wraps after ~78 hours;
//	          latency is computed modulo 2^48)
//	14    1   Marker in the high 6 bits, flags in the low 2 bits
//	15    3   check: a 24-bit hash of bytes 0..14
//
// A random trailer passes the marker (2^-6) and the check (2^-24): about
// 1e-9 of random frames decode. 18 bytes is what a 64-byte
// Ethernet/IPv4/UDP frame leaves (60 - 42), so the smallest RFC 2544
// frames carry signatures.
//
// The per-packet paths work on the trailer as big-endian words: a (bytes
// 0..7: stream id and sequence), w (bytes 8..15 with the last zero:
// TimeWord), the check h, and on decode x (bytes 8..15) and t (bytes
// 16..17).

// Len is the length of a signature trailer.
const Len = 18

// Marker is the high 6 bits of byte 14 of every signature.
const Marker = 0x2d << 2

// Encode writes s into b[:Len]; it panics if b is shorter. Unknown flag
// bits and timestamp bits above 48 are dropped. It does not allocate.
func Encode(b []byte, s Signature) {
	a := StreamSeq(s.StreamID, s.Sequence)
	w := TimeWord(s.Timestamp, s.Flags)
	Put((*[Len]byte)(b), a, w, Check(a, TimeHash(w)))
}

// Decode reads the trailer in b[:Len]; ok is false if b is shorter or its
// bytes are not a signature (wrong marker or check).
func Decode(b []byte) (s Signature, ok bool) {
	if len(b) < Len {
		return s, false
	}
	b = b[:Len]
	a, x, t := binary.BigEndian.Uint64(b[0:]), binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint16(b[16:])
	if !Valid(a, x, t) {
		return s, false
	}
	return Words(a, x), true
}

// FromFrame decodes the trailer at the end of frame (FCS excluded).
func FromFrame(frame []byte) (Signature, bool) {
	if len(frame) < Len {
		return Signature{}, false
	}
	return Decode(frame[len(frame)-Len:])
}

// StreamSeq is the trailer's first word, bytes 0..7.
func StreamSeq(stream, seq uint32) uint64 { return uint64(stream)<<32 | uint64(seq) }

// TimeWord is bytes 8..15 of the trailer with the last (the check's
// first) zero: the timestamp's 48 bits, then the marker and the known
// flags. A burst sent at one time shares it.
func TimeWord(ts uint64, flags uint8) uint64 {
	return ((ts&TimestampMask)<<8 | uint64(Marker|flags&flagsKnown)) << 8
}

// TimeHash is the part of the check that depends on the TimeWord w only,
// so that a burst with one timestamp computes it once.
func TimeHash(w uint64) uint64 { return timeHash(w >> 8) }

// timeHash is TimeHash of bytes 8..14 in the low 56 bits of c.
func timeHash(c uint64) uint64 { return bits.RotateLeft64(c*0xc2b2ae3d27d4eb4f, 31) }

// Check is the 24-bit check of a trailer with first word a and
// TimeHash(w) th.
func Check(a, th uint64) uint32 {
	x := a*0x9e3779b97f4a7c15 ^ th
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return uint32(x >> 40)
}

// Put writes a trailer from its words with three stores that do not
// overlap: a, then the TimeWord w with the check's first byte, then the
// check's last two. It does not allocate.
func Put(b *[Len]byte, a, w uint64, h uint32) {
	binary.BigEndian.PutUint64(b[0:8], a)
	binary.BigEndian.PutUint64(b[8:16], w|uint64(h>>16))
	binary.BigEndian.PutUint16(b[16:18], uint16(h))
}

// Valid reports whether a trailer read as three big-endian words, a
// (bytes 0..7), x (bytes 8..15) and t (bytes 16..17), is a signature
// (marker and check). Valid and Words inline, for per-packet callers
// that load the words themselves.
func Valid(a, x uint64, t uint16) bool {
	return uint8(x>>8)&^flagsKnown == Marker && uint32(x&0xff)<<16|uint32(t) == Check(a, timeHash(x>>8))
}

// Words returns the signature in the words a and x of a trailer that
// Valid accepted.
func Words(a, x uint64) Signature {
	return Signature{StreamID: uint32(a >> 32), Sequence: uint32(a), Timestamp: x >> 16, Flags: uint8(x>>8) & flagsKnown}
}
