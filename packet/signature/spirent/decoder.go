package spirent

import "encoding/binary"

// Decoder reads signatures as Decode does, at a fraction of its cost for
// a receiver's usual traffic: a few streams whose sequence numbers count
// up and whose timestamps move a little from frame to frame. The CRC is
// linear in the fields, and once the cheap checks have passed (the key
// and the enhanced-detection bytes), the fields determine the rest; so
// the Decoder keeps the CRC's part for a stream id and its sequence
// number's upper 24 bits in a small cache keyed by both, and the part for
// the timestamp's upper bits and the flags in another, and checks a frame
// with 3 table loads instead of 16. A cache entry is only ever used for
// exactly the fields it was computed from, so the Decoder accepts exactly
// the signatures Decode accepts. Not safe for concurrent use; the zero
// value is ready.
type Decoder struct {
	streams [decoderStreams]decodedStream
	timeKey uint64 // the unscrambled bytes 11, 12 and 15 that timeCRC is for, plus 1
	timeCRC uint16
}

// decoderStreams is the stream cache's size (a power of 2): 8 KiB.
const decoderStreams = 512

// decodedStream is a cache entry: the CRC's part for stream id and
// sequence number bits 31..8, both in key (id<<24 | seq>>8, plus 1 so
// that the zero value matches nothing).
type decodedStream struct {
	key uint64
	crc uint16
}

// timeBytes masks the unscrambled bytes 8..15 down to the timestamp's
// bytes 11 and 12 and byte 15 (timestamp bits 37..32 and the flags).
const timeBytes = 0x000000ffff0000ff

// Decode reads the signature in b[:Len] as the package's Decode does.
func (d *Decoder) Decode(b []byte) (Signature, bool) {
	if len(b) < Len {
		return Signature{}, false
	}
	return d.decode((*[Len]byte)(b))
}

// decode is Decode's body, out of line so that Decode and FromFrame,
// which inline, cost their callers one call.
func (d *Decoder) decode(b *[Len]byte) (Signature, bool) {
	hi, lo, crc := binary.BigEndian.Uint64(b[0:8]), binary.BigEndian.Uint64(b[8:16]), binary.BigEndian.Uint16(b[16:18])
	key := uint8(hi >> 56)
	m := &masks[key]
	ph, pl := hi^m[0], lo^m[1]
	// The checks Decode makes first; they also make the cached parts
	// right: byte 10 is the key's complement (seqCRC[3] includes the
	// mask's part), bytes 5..6 the complement of 7..8 (seqCRC[0..1]
	// include theirs), and byte 0 is zero (the mask's first byte is the
	// key).
	if uint32(uint8(pl>>40)^^key)|uint32(uint16(ph>>8)^^uint16(ph<<8|pl>>56)) != 0 {
		return Signature{}, false
	}
	id, seq := uint32(ph>>24), uint32(ph)<<24|uint32(pl>>40)
	sk := uint64(id)<<24 | uint64(seq>>8) + 1
	// Indexed by the id's low bits: a generator's streams are
	// consecutive ids (a base plus the flow), which this spreads
	// perfectly, without a multiply on the way to the load.
	e := &d.streams[id&(decoderStreams-1)]
	if e.key != sk {
		s := uint64(seq)
		e.key = sk
		e.crc = crcBase ^ StreamCRC(id) ^ seqCRC[0][byte(s>>24)] ^ seqCRC[1][byte(s>>16)] ^ seqCRC[2][byte(s>>8)]
	}
	if tk := pl&timeBytes + 1; tk != d.timeKey {
		d.timeKey = tk
		d.timeCRC = crcPos[11][byte(pl>>32)] ^ crcPos[12][byte(pl>>24)] ^ crcPos[15][byte(pl)]
	}
	if e.crc^d.timeCRC^seqCRC[3][byte(seq)]^crcPos[13][byte(pl>>16)]^crcPos[14][byte(pl>>8)] != crc {
		return Signature{}, false
	}
	return Signature{
		StreamID:  id,
		Sequence:  seq,
		Timestamp: pl>>8&0xffffffff | (pl>>2&0x3f)<<32,
		Flags:     uint8(pl) & flagsKnown,
	}, true
}

// FromFrame decodes the signature in the last Len bytes of frame (FCS
// excluded), as the package's FromFrame does.
func (d *Decoder) FromFrame(frame []byte) (Signature, bool) {
	if len(frame) < Len {
		return Signature{}, false
	}
	return d.decode((*[Len]byte)(frame[len(frame)-Len:]))
}
