// Package signature reads and writes openperfd's signature trailer: the
// Len (18) bytes at the very end of a generated frame (before the FCS the
// NIC appends) that carry a stream id, a per-flow sequence number and a
// transmit timestamp, so that an analyzer can measure loss, order, latency
// and jitter. It also checks the PRBS-31 payload fill that a signature may
// announce.
//
// The wire format is the generator's (packet/generator/signature.go); a test
// proves the two agree. Everything here is allocation-free and safe for
// concurrent use: the functions keep no state, and a PRBS31 value belongs to
// its caller.
package signature

import (
	"encoding/binary"
	"math/bits"
)

// Len is the length of a signature trailer. All fields are big-endian:
//
//	off  size
//	 0    4   stream id
//	 4    4   sequence number, per flow, from 0
//	 8    6   tx timestamp, ns, modulo 2^48 (latency is computed modulo 2^48)
//	14    1   Marker in the high 6 bits, flags in the low 2 bits
//	15    3   check: a 24-bit hash of bytes 0..14
//
// A random trailer passes the marker (2^-6) and the check (2^-24): about
// 1e-9 of random frames decode.
const Len = 18

// Marker is the high 6 bits of byte 14 of every signature.
const Marker = 0x2d << 2

// Flags of byte 14's low 2 bits.
const (
	FlagEndOfFrame = 1 << 0 // the timestamp is of the frame's end (else its start)
	FlagPRBS       = 1 << 1 // the payload before the trailer is PRBS-31 fill
	flagsKnown     = FlagEndOfFrame | FlagPRBS
)

// TimestampMask keeps the 48 bits of a timestamp a signature carries.
const TimestampMask = 1<<48 - 1

// Signature is the content of a signature trailer.
type Signature struct {
	StreamID  uint32
	Sequence  uint32
	Timestamp uint64 // ns; only the low 48 bits are carried
	Flags     uint8  // FlagEndOfFrame, FlagPRBS
}

// EndOfFrame reports whether the timestamp is of the frame's last bit.
func (s Signature) EndOfFrame() bool { return s.Flags&FlagEndOfFrame != 0 }

// PRBS reports whether the payload before the trailer is PRBS-31 fill.
func (s Signature) PRBS() bool { return s.Flags&FlagPRBS != 0 }

// hash is the 24-bit check over a (bytes 0..7) and c (bytes 8..14, in
// its low 56 bits). It must stay bit-identical to the generator's sigHash.
func hash(a, c uint64) uint32 {
	x := a*0x9e3779b97f4a7c15 ^ bits.RotateLeft64(c*0xc2b2ae3d27d4eb4f, 31)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return uint32(x >> 40)
}

// Encode writes s into b[:Len]; it panics if b is shorter. Unknown flag
// bits and timestamp bits above 48 are dropped. It does not allocate.
func Encode(b []byte, s Signature) {
	_ = b[Len-1]
	a := uint64(s.StreamID)<<32 | uint64(s.Sequence)
	c := (s.Timestamp&TimestampMask)<<8 | uint64(Marker|s.Flags&flagsKnown)
	h := hash(a, c)
	binary.BigEndian.PutUint64(b[0:], a)
	binary.BigEndian.PutUint64(b[8:], c<<8|uint64(h>>16)) // c's low 7 bytes, then the check's first
	binary.BigEndian.PutUint16(b[16:], uint16(h))
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

// Valid reports whether a trailer read as three big-endian words, a
// (bytes 0..7), x (bytes 8..15) and t (bytes 16..17), is a signature
// (marker and check). Valid and Words inline, for per-packet callers
// that load the words themselves.
func Valid(a, x uint64, t uint16) bool {
	return uint8(x>>8)&^flagsKnown == Marker && uint32(x&0xff)<<16|uint32(t) == hash(a, x>>8)
}

// Words returns the signature in the words a and x of a trailer that
// Valid accepted.
func Words(a, x uint64) Signature {
	return Signature{StreamID: uint32(a >> 32), Sequence: uint32(a), Timestamp: x >> 16, Flags: uint8(x>>8) & flagsKnown}
}

// FromFrame decodes the trailer at the end of frame (FCS excluded).
func FromFrame(frame []byte) (Signature, bool) {
	if len(frame) < Len {
		return Signature{}, false
	}
	return Decode(frame[len(frame)-Len:])
}

// Delta returns rx - tx for two timestamps taken modulo 2^48 (only their
// low 48 bits count), as a signed 48-bit value: a transmit time up to 2^47
// ns (~39 hours) after the receive time (clocks out of step) gives a
// negative result rather than a huge one.
func Delta(rx, tx uint64) int64 {
	return int64((rx-tx)<<16) >> 16
}
