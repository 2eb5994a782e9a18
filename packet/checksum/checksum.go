// Package checksum is the Internet checksum (RFC 1071) and its
// incremental update (RFC 1624), once for every packet module: the
// builders and parsers of packet/protocol, the generator's per-packet
// signature updates, the analyzer's fast path and the bench's floor.
//
// The checksum is the complement of the ones'-complement sum of a packet's
// 16-bit words. Sums are kept wide (uint32 or uint64 accumulators of words
// or of 32-bit halves) and folded to 16 bits once, at the end: Fold takes
// any 64-bit sum, whichever way its words were added, since a ones'-
// complement sum is the plain sum modulo 0xffff. A sum of byte-swapped
// words (little-endian loads) is the byte-swapped sum, so the fast paths
// may load words in the machine's byte order and swap once.
//
// Everything here is a pure function: no state, no allocation, safe for
// concurrent use. The small ones inline, which the per-packet callers rely
// on.
package checksum

import (
	"encoding/binary"
	"math/bits"
)

// Sum adds data to the running ones'-complement sum initial and returns
// the sum folded to 16 bits (a uint32, so that it chains as the next
// call's initial). An odd-length data is padded with a zero byte, so only
// the last piece of a chained sum may have odd length.
func Sum(data []byte, initial uint32) uint32 {
	s := uint64(initial)
	var c uint64
	for len(data) >= 32 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(data[0:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(data[8:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(data[16:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(data[24:]), c)
		data = data[32:]
	}
	for len(data) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(data), c)
		data = data[8:]
	}
	s, c = bits.Add64(s, 0, c)
	s += c // cannot carry again: s was at most 2^64-2 after adding a carry
	if len(data) >= 4 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint32(data)), 0)
		s += c
		data = data[4:]
	}
	if len(data) >= 2 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint16(data)), 0)
		s += c
		data = data[2:]
	}
	if len(data) == 1 {
		s, c = bits.Add64(s, uint64(data[0])<<8, 0)
		s += c
	}
	return uint32(Fold(s))
}

// Checksum returns the Internet checksum of data: the complement of its
// ones'-complement sum, starting from initial (0, or a pseudo-header sum).
// To compute a header's checksum its checksum field must be zero; over
// data that includes a correct checksum the result is 0.
func Checksum(data []byte, initial uint32) uint16 {
	return ^uint16(Sum(data, initial))
}

// Fold folds a ones'-complement sum held in 64 bits to 16 bits: the value
// in 1..0xffff equal to s modulo 0xffff, or 0 for s == 0. A sum over
// correct data (checksum included) folds to 0xffff.
func Fold(s uint64) uint16 {
	// 2^32 is 1 modulo 0xffff, and so is 2^16: halves add. The first sum
	// is below 2^33; when its bit 32 is set its low half is below 2^32-1,
	// so adding the bit back cannot carry.
	s = s&0xffffffff + s>>32
	v := uint32(s) + uint32(s>>32)
	// The high half of v plus v rotated is hi + lo + the carry out of the
	// low halves' sum: the end-around carry.
	return uint16((v + bits.RotateLeft32(v, 16)) >> 16)
}

// Combine returns the ones'-complement sum of two folded sums.
func Combine(a, b uint16) uint16 {
	v := uint32(a) + uint32(b)
	return uint16(v + v>>16)
}

// Update16 returns checksum csum updated for a 16-bit word of the covered
// data changing from old to new (RFC 1624, equation 3). The result equals
// a full recomputation. The word must start an even number of bytes into
// the covered data; at an odd position pass bits.ReverseBytes16 of old and
// new. A UDP checksum that comes out 0 must be sent as 0xffff.
func Update16(csum, old, new uint16) uint16 {
	return ^Fold(uint64(^csum) + uint64(^old) + uint64(new))
}

// Update32 is Update16 for a 32-bit field. At an odd position pass old
// and new with the bytes of each 16-bit half swapped (SwapHalves).
func Update32(csum uint16, old, new uint32) uint16 {
	return ^Fold(uint64(^csum) + uint64(^uint16(old>>16)) + uint64(^uint16(old)) + uint64(new>>16) + uint64(new&0xffff))
}

// SwapHalves swaps the two bytes within each 16-bit half of v: a 32-bit
// field at an odd offset contributes SwapHalves(v) to a ones'-complement
// sum.
func SwapHalves(v uint32) uint32 {
	return (v&0x00ff00ff)<<8 | (v>>8)&0x00ff00ff
}
