package spirent

import "encoding/binary"

// Len is the length of a Spirent signature. It occupies the last Len bytes
// of the frame, just before the FCS the NIC appends.
//
// Before scrambling, the first 16 bytes are (big-endian):
//
//	off  size
//	 0    1   0x00
//	 1    4   stream id
//	 5    2   enhanced detection: the complement of bytes 7..8 (the
//	          sequence number's top 16 bits)
//	 7    4   sequence number
//	11    4   tx timestamp bits 31..0, in 2.5 ns ticks (see Ticks)
//	15    1   tx timestamp bits 37..32 in the high 6 bits; flags in the low 2
//
// Those 16 bytes are then XORed with a 128-bit scramble mask chosen by the
// complement of the sequence number's low byte (the key): the mask is 128
// bits of the LFSR sequence a[n] = a[n-2]^a[n-3]^a[n-7]^a[n-8] whose first 8
// bits are the key. Byte 0 is zero before scrambling, so on the wire it is
// the key itself, and a reader can unscramble without knowing anything else.
// Then:
//
//	16    2   CRC-16 of bytes 0..15 as sent (scrambled): polynomial 0x1021,
//	          initial value 0xffff, no reflection, result complemented
//	          (CRC-16/GENIBUS)
//	18    2   "cheater": 0, or a value that makes the UDP checksum of a
//	          runt IPv4/UDP frame come out right when the signature
//	          overlaps the UDP header; never checked by a reader
//
// A reader accepts a signature when the CRC matches, unscrambled byte 10
// (the sequence's low byte) is the complement of the key (wire byte 0),
// and the enhanced-detection bytes are the complement of bytes 7..8: 16 + 8
// + 16 = 40 checked bits, so about 1 random frame in 2^40 (~1.1e12) decodes.
const Len = 20

// Flags, in the low 2 bits of byte 15. The values are OpenPerf's
// (pga_signature_flag in spirent_pga/api.cpp) and match those of our own
// trailer (packet/signature).
const (
	FlagEndOfFrame = 1 << 0 // the timestamp is of the frame's last bit (else its first)
	FlagPRBS       = 1 << 1 // the payload between the headers and the signature is PRBS-23 fill
	flagsKnown     = FlagEndOfFrame | FlagPRBS
)

// Signature is the content of a Spirent signature.
type Signature struct {
	StreamID  uint32
	Sequence  uint32
	Timestamp uint64 // 2.5 ns ticks since the epoch (Epoch), modulo 2^38 (TimestampMask)
	Flags     uint8  // FlagEndOfFrame, FlagPRBS
}

// EndOfFrame reports whether the timestamp is of the frame's last bit.
func (s Signature) EndOfFrame() bool { return s.Flags&FlagEndOfFrame != 0 }

// PRBS reports whether the payload before the signature is PRBS-23 fill.
func (s Signature) PRBS() bool { return s.Flags&FlagPRBS != 0 }

// Encode writes s as a signature into b[:Len], with a zero cheater; it
// panics if b is shorter. Timestamp bits above 38 and unknown flag bits are
// dropped, as OpenPerf does. It does not allocate.
func Encode(b []byte, s Signature) {
	_ = b[Len-1]
	seq := uint64(s.Sequence)
	// Bytes 0..7: 0x00, stream id, ^seq[31:16], seq[31:24].
	hi := uint64(s.StreamID)<<24 | (^seq>>16&0xffff)<<8 | seq>>24
	// Bytes 8..15: seq[23:0], ts[31:0], ts[37:32]<<2 | flags.
	ts := s.Timestamp & TimestampMask
	lo := (seq&0xffffff)<<40 | (ts&0xffffffff)<<8 | (ts>>32)<<2 | uint64(s.Flags&flagsKnown)
	m := &masks[^uint8(s.Sequence)]
	hi ^= m[0]
	lo ^= m[1]
	binary.BigEndian.PutUint64(b[0:], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	binary.BigEndian.PutUint16(b[16:], crc16(hi, lo))
	b[18], b[19] = 0, 0
}

// Decode reads the signature in b[:Len]; ok is false if b is shorter or its
// bytes are not a signature (CRC, key or enhanced-detection check fails):
// exactly the signatures OpenPerf's receive path accepts. The cheater bytes
// are not looked at. It does not allocate.
func Decode(b []byte) (s Signature, ok bool) {
	if len(b) < Len {
		return s, false
	}
	b = b[:Len]
	return Words(binary.BigEndian.Uint64(b[0:]), binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint16(b[16:]))
}

// Words decodes a signature read as big-endian words: hi (bytes 0..7), lo
// (bytes 8..15) and crc (bytes 16..17), for callers that load the words
// themselves.
func Words(hi, lo uint64, crc uint16) (s Signature, ok bool) {
	key := uint8(hi >> 56)
	m := &masks[key]
	ph, pl := hi^m[0], lo^m[1]
	// All three checks are computed before one branch: for frames without
	// a signature (the common case in mixed traffic) the branch is well
	// predicted either way, and for signatures every check must run anyway.
	keyOK := uint8(pl>>40) == ^key
	edmOK := uint16(ph>>8) == ^uint16(ph<<8|pl>>56)
	if !keyOK || !edmOK || crc != crc16(hi, lo) {
		return s, false
	}
	return Signature{
		StreamID:  uint32(ph >> 24),
		Sequence:  uint32(ph)<<24 | uint32(pl>>40),
		Timestamp: pl>>8&0xffffffff | (pl>>2&0x3f)<<32,
		Flags:     uint8(pl) & flagsKnown,
	}, true
}

// ToFrame writes s into the last Len bytes of frame (FCS excluded), where
// OpenPerf and TestCenter put it; it returns false, writing nothing, if the
// frame is shorter than Len.
func ToFrame(frame []byte, s Signature) bool {
	if len(frame) < Len {
		return false
	}
	Encode(frame[len(frame)-Len:], s)
	return true
}

// FromFrame decodes the signature in the last Len bytes of frame (FCS
// excluded).
func FromFrame(frame []byte) (Signature, bool) {
	if len(frame) < Len {
		return Signature{}, false
	}
	return Decode(frame[len(frame)-Len:])
}
