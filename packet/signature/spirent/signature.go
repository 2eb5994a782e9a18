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

// StreamCRC is stream id's part of a signature's CRC, for Words: a writer
// of many frames of few streams computes it once per stream.
func StreamCRC(id uint32) uint16 {
	return crcPos[1][byte(id>>24)] ^ crcPos[2][byte(id>>16)] ^ crcPos[3][byte(id>>8)] ^ crcPos[4][byte(id)]
}

// Words returns what Encode writes, without writing it: the signature's
// first 16 bytes as sent (bytes 0..7 in hi, 8..15 in lo, big-endian) and
// its CRC (bytes 16..17); the cheater is zero. streamCRC must be
// StreamCRC(s.StreamID). The CRC is built from the fields rather than
// from the scrambled bytes (it is linear in both): 9 table loads instead
// of 16, so a writer that keeps the words in registers, to store them and
// to sum them for a checksum, spends about half of Encode.
func Words(s Signature, streamCRC uint16) (hi, lo uint64, crc uint16) {
	seq := uint64(s.Sequence)
	ts := s.Timestamp & TimestampMask
	b15 := byte(ts>>32)<<2 | s.Flags&flagsKnown
	crc = crcBase ^ streamCRC ^
		seqCRC[0][byte(seq>>24)] ^ seqCRC[1][byte(seq>>16)] ^ seqCRC[2][byte(seq>>8)] ^ seqCRC[3][byte(seq)] ^
		crcPos[11][byte(ts>>24)] ^ crcPos[12][byte(ts>>16)] ^ crcPos[13][byte(ts>>8)] ^ crcPos[14][byte(ts)] ^
		crcPos[15][b15]
	m := &masks[^uint8(s.Sequence)]
	hi = (uint64(s.StreamID)<<24 | (^seq>>16&0xffff)<<8 | seq>>24) ^ m[0]
	lo = ((seq&0xffffff)<<40 | (ts&0xffffffff)<<8 | uint64(b15)) ^ m[1]
	return hi, lo, crc
}

// Decode reads the signature in b[:Len]; ok is false if b is shorter or its
// bytes are not a signature (CRC, key or enhanced-detection check fails):
// exactly the signatures OpenPerf's receive path accepts. The cheater bytes
// are not looked at. It does not allocate, and inlines into its caller.
func Decode(b []byte) (Signature, bool) {
	if len(b) < Len {
		return Signature{}, false
	}
	return decode((*[Len]byte)(b))
}

// decode is Decode's body, kept out of line so that Decode, which inlines,
// costs its callers one call.
func decode(b *[Len]byte) (s Signature, ok bool) {
	hi, lo, crc := binary.BigEndian.Uint64(b[0:8]), binary.BigEndian.Uint64(b[8:16]), binary.BigEndian.Uint16(b[16:18])
	key := uint8(hi >> 56)
	m := &masks[key]
	ph, pl := hi^m[0], lo^m[1]
	// Key: unscrambled byte 10 (the sequence's low byte) is the complement
	// of the key. Enhanced detection: bytes 5..6 are the complement of
	// bytes 7..8. These are cheap and reject all but 2^-24 of frames
	// without a signature, so they go first; ORing the two differences
	// leaves one branch, which traffic with and without signatures alike
	// predicts well.
	if uint32(uint8(pl>>40)^^key)|uint32(uint16(ph>>8)^^uint16(ph<<8|pl>>56)) != 0 {
		return s, false
	}
	// The CRC is written out here rather than called (crc16 does not
	// inline): the call and the spills around it cost as much as the CRC.
	c := crcBase ^
		crcPos[0][byte(hi>>56)] ^ crcPos[1][byte(hi>>48)] ^ crcPos[2][byte(hi>>40)] ^ crcPos[3][byte(hi>>32)] ^
		crcPos[4][byte(hi>>24)] ^ crcPos[5][byte(hi>>16)] ^ crcPos[6][byte(hi>>8)] ^ crcPos[7][byte(hi)] ^
		crcPos[8][byte(lo>>56)] ^ crcPos[9][byte(lo>>48)] ^ crcPos[10][byte(lo>>40)] ^ crcPos[11][byte(lo>>32)] ^
		crcPos[12][byte(lo>>24)] ^ crcPos[13][byte(lo>>16)] ^ crcPos[14][byte(lo>>8)] ^ crcPos[15][byte(lo)]
	if c != crc {
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
