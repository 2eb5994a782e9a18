package generator

import (
	"encoding/binary"
	"math/bits"

	"github.com/openperfd/openperfd/packet/signature"
)

// Signature trailer: SignatureLen (18) bytes at the very end of the frame
// (before the FCS the NIC appends), all big-endian:
//
//	off  size
//	 0    4   stream id
//	 4    4   sequence number, per flow, from 0
//	 8    6   tx timestamp, ns, modulo 2^48 (wraps after ~78 hours;
//	          latency is computed modulo 2^48)
//	14    1   marker in the high 6 bits (SignatureMarker), flags in the
//	          low 2 bits (SigFlagEndOfFrame, SigFlagPRBS)
//	15    3   check: a 24-bit hash of bytes 0..14
//
// A random trailer passes the marker (2^-6) and the check (2^-24): about
// 1e-9. 18 bytes is what a 64-byte Ethernet/IPv4/UDP frame leaves (60 - 42),
// so the smallest RFC 2544 frames carry signatures.
//
// The template's trailer area is zero; Definition.Write writes the trailer
// and folds its whole sum into the UDP/TCP (and tunnel) checksums with a
// single incremental protocol.Field update.
const SignatureLen = 18

// SignatureMarker is the high 6 bits of byte 14 of every signature.
const SignatureMarker = 0x2d << 2

// Signature flags.
const (
	SigFlagEndOfFrame = 1 << 0 // timestamp is of the frame's end (else start)
	SigFlagPRBS       = 1 << 1 // payload before the trailer is PRBS-31 fill
	sigFlagsKnown     = SigFlagEndOfFrame | SigFlagPRBS
)

// TimestampMask keeps the 48 bits of a timestamp a signature carries.
const TimestampMask = 1<<48 - 1

// Signature is the content of a signature trailer (packet/signature's:
// the analyzer decodes what the generator encodes).
type Signature = signature.Signature

func sigHash(a, c uint64) uint32 { return sigHashMix(a, sigHashC(c)) }

// sigHashC is the part of sigHash that depends on c only, so a burst of
// packets with one timestamp computes it once.
func sigHashC(c uint64) uint64 { return bits.RotateLeft64(c*0xc2b2ae3d27d4eb4f, 31) }

// sigHashMix is sigHash from a and sigHashC(c).
func sigHashMix(a, cmix uint64) uint32 {
	x := a*0x9e3779b97f4a7c15 ^ cmix
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return uint32(x >> 40)
}

// EncodeSignature writes s into b[:SignatureLen]. It does not allocate.
func EncodeSignature(b []byte, s Signature) {
	encodeSignature(b, s.StreamID, s.Sequence, s.Timestamp, s.Flags)
}

// encodeSignature writes a signature into b[:SignatureLen] with three
// stores that do not overlap, and returns what it wrote: bytes 0..7 are a,
// bytes 8..15 x, bytes 16..17 the low 16 bits of h.
func encodeSignature(b []byte, stream, seq uint32, ts uint64, flags uint8) (a, x uint64, h uint32) {
	_ = b[SignatureLen-1]
	a = uint64(stream)<<32 | uint64(seq)
	c := (ts&TimestampMask)<<8 | uint64(SignatureMarker|flags&sigFlagsKnown)
	h = sigHash(a, c)
	x = c<<8 | uint64(h>>16) // c's low 7 bytes (its top byte is 0), the hash's first
	binary.BigEndian.PutUint64(b[0:], a)
	binary.BigEndian.PutUint64(b[8:], x)
	binary.BigEndian.PutUint16(b[16:], uint16(h))
	return a, x, h
}

// DecodeSignature reads the trailer in b[:SignatureLen]; ok is false if
// b is shorter or does not hold a signature.
func DecodeSignature(b []byte) (Signature, bool) { return signature.Decode(b) }

// FrameSignature decodes the trailer at the end of frame (without FCS).
func FrameSignature(frame []byte) (Signature, bool) { return signature.FromFrame(frame) }

// FillPayload writes fill f into b. Constant repeats the 16-bit value
// big-endian from b[0]; increment and decrement write the byte sequence
// Value, Value±1, ... modulo 256; PRBS writes PRBS-31 from the all-ones
// seed; FillZero zeroes.
func FillPayload(b []byte, f Fill) {
	switch f.Kind {
	case FillConstant:
		hi, lo := byte(f.Value>>8), byte(f.Value)
		for i := range b {
			if i&1 == 0 {
				b[i] = hi
			} else {
				b[i] = lo
			}
		}
	case FillIncrement:
		v := byte(f.Value)
		for i := range b {
			b[i] = v
			v++
		}
	case FillDecrement:
		v := byte(f.Value)
		for i := range b {
			b[i] = v
			v--
		}
	case FillPRBS:
		p := NewPRBS31()
		p.Fill(b)
	default:
		clear(b)
	}
}

// PRBS31 generates the ITU-T O.150 PRBS-31 bit sequence (see
// packet/signature).
type PRBS31 = signature.PRBS31

// NewPRBS31 returns a generator seeded with all ones.
func NewPRBS31() PRBS31 { return signature.NewPRBS31() }

// PRBS31Errors checks that b is a stretch of the PRBS-31 sequence (see
// packet/signature.PRBS31Errors).
func PRBS31Errors(b []byte) (mismatches int, ok bool) { return signature.PRBS31Errors(b) }
