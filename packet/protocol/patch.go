package protocol

import (
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/openperfd/openperfd/packet/checksum"
)

// Per-packet patching of a prebuilt template. A field is written in place
// and every checksum covering it is updated incrementally (RFC 1624), each
// change in turn folded into the outer checksums that cover the changed
// checksum field (tunnels). A checksum covers a field when the field lies
// in the IPv4 header (header checksum), in an L4 header or its payload, or
// in the addresses of the IP header the L4 pseudo-header is taken from.
// Headers built with KeepChecksum, and UDP checksums of 0 (none), are left
// alone. The results equal a full recomputation bit for bit.
//
// Changes to IP or UDP length fields also change the pseudo-header length,
// which no byte of the frame holds: rebuild, or call UpdateChecksums.

// ErrFieldRange marks a field that does not lie inside the described frame
// or whose checksum updates do not fit a Field.
var ErrFieldRange = errors.New("protocol: field outside the headers and payload, or under too many checksums")

const maxRefs = 16

// A Field is a 2- or 4-byte field of a template together with the checksum
// updates a change of it needs, worked out once by Layers.Field so that
// setting it per packet costs a few nanoseconds. It refers to offsets
// only: it applies to every frame with the same Layers.
type Field struct {
	Off  uint16
	Size uint8 // 2 or 4
	n    uint8
	refs [maxRefs]csumRef
}

// csumRef is one checksum update: the checksum at off changes with its
// source, the field itself (src < 0) or the checksum of refs[src].
type csumRef struct {
	off uint16
	src int8
	odd bool // the source sits an odd number of bytes into the covered data
	udp bool // 0 means no checksum; a computed 0 is sent as 0xffff
}

// Field returns the Field of size bytes (2 or 4) at off.
func (l *Layers) Field(off, size int) (Field, error) {
	f := Field{Off: uint16(off), Size: uint8(size)}
	if (size != 2 && size != 4) || off < 0 || off+size > int(l.PayloadEnd) || !l.plan(&f, off, -1, -1, 0) {
		return Field{}, ErrFieldRange
	}
	return f, nil
}

// plan appends to f the updates of every checksum covering off but span
// skip, each followed by the updates its own change causes; false if they
// do not fit.
func (l *Layers) plan(f *Field, off, src, skip, depth int) bool {
	for j := 0; j < int(l.N); j++ {
		s := &l.Spans[j]
		if j == skip || s.keep&KeepChecksum != 0 {
			continue
		}
		start, ok := l.covers(j, off)
		c := s.checksumOff()
		if !ok || c < 0 {
			continue
		}
		if int(f.n) == maxRefs || depth > MaxLayers {
			return false
		}
		k := int(f.n)
		f.refs[k] = csumRef{off: uint16(c), src: int8(src), odd: (off-start)&1 != 0, udp: s.Kind == KindUDP}
		f.n++
		if !l.plan(f, c, k, j, depth+1) {
			return false
		}
	}
	return true
}

// covers reports whether span j's checksum covers the byte at off, and
// where the covered data starts (for the byte's parity).
func (l *Layers) covers(j, off int) (start int, ok bool) {
	s := &l.Spans[j]
	so := int(s.Off)
	switch s.Kind {
	case KindIPv4:
		return so, off >= so && off < so+int(s.Len)
	case KindICMP:
		return so, off >= so && off < int(s.End)
	case KindUDP, KindTCP, KindICMPv6:
		if off >= so && off < int(s.End) {
			return so, true
		}
		i := l.ipBefore(j)
		if i < 0 {
			return 0, false
		}
		ip := &l.Spans[i]
		lo, hi := int(ip.Off)+IPv4SrcOff, int(ip.Off)+IPv4DstOff+4
		if ip.Kind == KindIPv6 {
			lo, hi = int(ip.Off)+IPv6SrcOff, int(ip.Off)+IPv6DstOff+16
		}
		// The addresses start the pseudo-header, at an even offset of the
		// IP header: their parity there is their parity in the frame
		// relative to the IP header.
		return int(ip.Off), off >= lo && off < hi
	}
	return 0, false
}

// Checksums appends to dst the offsets of the checksum fields a change of
// the field updates (each once, in update order) and returns it. A
// generator can precompute those words per value instead of updating
// them per packet.
func (f *Field) Checksums(dst []int) []int {
	for k := 0; k < int(f.n); k++ {
		dst = append(dst, int(f.refs[k].off))
	}
	return dst
}

// Single reports whether a change of the field updates exactly one
// checksum and nothing through it (no tunnel around that checksum), and
// how: the checksum's offset, whether the field sits an odd number of
// bytes into the covered data, and whether the checksum is a UDP one (0
// means none; a computed 0 is sent as 0xffff). n is the number of
// checksums the field updates, so n == 0 means none.
func (f *Field) Single() (csum int, odd, udp bool, n int) {
	n = int(f.n)
	if n == 1 && f.refs[0].src < 0 {
		r := &f.refs[0]
		return int(r.off), r.odd, r.udp, 1
	}
	return 0, false, false, n
}

// SetUint16 writes v big-endian at the field (Size 2) and updates the
// checksums. frame must be at least as long as the one f was made for.
func (f *Field) SetUint16(frame []byte, v uint16) {
	b := frame[f.Off : int(f.Off)+2]
	old := binary.BigEndian.Uint16(b)
	binary.BigEndian.PutUint16(b, v)
	if old != v {
		f.update(frame, uint32(old), uint32(v), false)
	}
}

// SetUint32 writes v big-endian at the field (Size 4) and updates the
// checksums. frame must be at least as long as the one f was made for.
func (f *Field) SetUint32(frame []byte, v uint32) {
	b := frame[f.Off : int(f.Off)+4]
	old := binary.BigEndian.Uint32(b)
	binary.BigEndian.PutUint32(b, v)
	if old != v {
		f.update(frame, old, v, true)
	}
}

// update applies the planned checksum updates for the field's change from
// old to new.
func (f *Field) update(frame []byte, old, new uint32, wide bool) {
	var olds, news [maxRefs]uint16
	for k := 0; k < int(f.n); k++ {
		r := &f.refs[k]
		c := frame[r.off : int(r.off)+2]
		oc := binary.BigEndian.Uint16(c)
		olds[k], news[k] = oc, oc
		var nc uint16
		switch {
		case r.udp && oc == 0:
			continue
		case r.src >= 0:
			o, n := olds[r.src], news[r.src]
			if o == n {
				continue
			}
			if r.odd {
				o, n = bits.ReverseBytes16(o), bits.ReverseBytes16(n)
			}
			nc = checksum.Update16(oc, o, n)
		case wide && r.odd:
			nc = checksum.Update32(oc, checksum.SwapHalves(old), checksum.SwapHalves(new))
		case wide:
			nc = checksum.Update32(oc, old, new)
		case r.odd:
			nc = checksum.Update16(oc, bits.ReverseBytes16(uint16(old)), bits.ReverseBytes16(uint16(new)))
		default:
			nc = checksum.Update16(oc, uint16(old), uint16(new))
		}
		if nc == 0 && r.udp {
			nc = 0xffff
		}
		news[k] = nc
		binary.BigEndian.PutUint16(c, nc)
	}
}

// SetUint16 writes v big-endian at frame[off:] and updates the checksums.
// For a field set per packet, make a Field once instead.
func (l *Layers) SetUint16(frame []byte, off int, v uint16) {
	old := binary.BigEndian.Uint16(frame[off:])
	binary.BigEndian.PutUint16(frame[off:], v)
	l.update(frame, off, uint32(old), uint32(v), false)
}

// SetUint32 writes v big-endian at frame[off:] and updates the checksums.
// For a field set per packet, make a Field once instead.
func (l *Layers) SetUint32(frame []byte, off int, v uint32) {
	old := binary.BigEndian.Uint32(frame[off:])
	binary.BigEndian.PutUint32(frame[off:], v)
	l.update(frame, off, old, v, true)
}

// SetBytes copies v to frame[off:] (an IPv6 or MAC address, say) and
// updates the checksums.
func (l *Layers) SetBytes(frame []byte, off int, v []byte) {
	if len(v) == 0 {
		return
	}
	_ = frame[off+len(v)-1]
	for len(v) >= 4 {
		l.SetUint32(frame, off, binary.BigEndian.Uint32(v))
		off, v = off+4, v[4:]
	}
	if len(v) >= 2 {
		l.SetUint16(frame, off, binary.BigEndian.Uint16(v))
		off, v = off+2, v[2:]
	}
	if len(v) == 1 {
		// A lone byte is the high byte of a 16-bit word whose low byte
		// does not change (and need not exist).
		old := frame[off]
		frame[off] = v[0]
		l.update(frame, off, uint32(old)<<8, uint32(v[0])<<8, false)
	}
}

// update plans and applies the checksum updates for a change at off; when
// they do not fit a Field it recomputes every checksum instead.
func (l *Layers) update(frame []byte, off int, old, new uint32, wide bool) {
	if old == new {
		return
	}
	var f Field
	if !l.plan(&f, off, -1, -1, 0) {
		l.UpdateChecksums(frame)
		return
	}
	f.update(frame, old, new, wide)
}
