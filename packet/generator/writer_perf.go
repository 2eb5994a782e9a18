//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package generator

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packet/signature"
	"github.com/openperfd/openperfd/packetio"
)

// The transmit path writes a burst at a time: one call per burst walks the
// cursor and writes every packet straight into its buffer, with the
// timestamp taken once per burst. The packets are the ones Writer.Next
// writes, byte for byte.
//
// signBurst and addToChecksum read and write a checksum in the machine's
// byte order and add sums byte-swapped: this file builds for little-endian
// machines only.

// fill writes the next packets of the transmit order into pkts, all with
// tx timestamp ts, and sets their lengths. The buffers may come raw from
// packetio.RefillPort.TxRefill: fill rearms them (Mbuf.Rearm). It stops at the
// first buffer too small for the program's frames and returns how many it
// wrote (cannot happen with 2 KiB buffers and frames up to 1518 bytes).
// It does not allocate.
func (w *Writer) fill(pkts []*packetio.Mbuf, ts uint64) int {
	w.wire = 0 // the burst's first frame starts at ts
	return w.fillOn(pkts, ts)
}

// fillOn is fill for the rest of a burst whose earlier frames the writer
// has already counted in w.wire.
func (w *Writer) fillOn(pkts []*packetio.Mbuf, ts uint64) int {
	c := w.cur
	defs := w.p.Definitions
	need := w.p.maxFrame
	if len(defs) == 1 {
		// One definition: the order is just its packets (the block
		// count does not matter).
		return w.fillRun(&defs[0], &c.pos[0], pkts, ts, need)
	}
	done := 0
	for done < len(pkts) {
		for c.left == 0 {
			c.def++
			if c.def == len(defs) {
				c.def = 0
			}
			c.left = c.block(c.def)
		}
		// A run of packets of one definition.
		run := int(min(c.left, uint64(len(pkts)-done)))
		d := &defs[c.def]
		ps := &c.pos[c.def]
		k := w.fillRun(d, ps, pkts[done:done+run], ts, need)
		c.left -= uint64(k)
		done += k
		if k < run {
			break
		}
	}
	return done
}

// fillFixed is fillRun for a definition of one length and at most
// TxBurstSize packets: the same packets,
// with the template's fields hoisted and everything per packet inline,
// in two passes over the burst (frames, then signatures: each loop then
// keeps its state in registers). Frames longer than inlineCopyMax, fields
// without precomputed words and trailers under several checksums take
// fillRun's general path. (Recycled buffers have their own fused loop,
// Source.signRing.)
func (w *Writer) fillFixed(d *Definition, ps *cursorPos, pkts []*packetio.Mbuf, ts uint64) int {
	t := &d.tmpls[d.lenTmpl[0]]
	n := len(t.frame)
	if n > inlineCopyMax || (t.patch == nil && len(t.fields) > 0) || (d.Signature != nil && !t.sigSingle && t.sigRefs > 0) {
		return w.fillGeneral(d, ps, pkts, ts, w.p.maxFrame)
	}
	var ptrs [packetio.TxBurstSize]unsafe.Pointer
	blocks := (n + 63) / 64
	head := unsafe.Pointer(t.head)
	hw := (*[8]uint64)(head)
	nflows := d.FlowCount
	words, patch := t.words, t.patch
	nw := len(words)
	if patch == nil {
		nw = 0
	}
	first := ps.flow
	flow := first
	k := len(pkts)
	for i, m := range pkts {
		// Rearmed whether raw or not: the same as a pool's reset.
		p := m.RearmTx(n, inlineCopyMax)
		if p == nil {
			k = i
			break
		}
		ptrs[i] = p
		if blocks == 1 {
			d := (*[8]uint64)(p)
			a0, a1, a2, a3, a4, a5, a6, a7 := hw[0], hw[1], hw[2], hw[3], hw[4], hw[5], hw[6], hw[7]
			d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7] = a0, a1, a2, a3, a4, a5, a6, a7
		} else {
			copyBlocks(p, head, blocks)
		}
		if nw > 0 {
			row := patch[flow*nw : flow*nw+nw]
			for j, off := range words {
				put16(p, int(off), row[j])
			}
			if flow++; flow == nflows {
				flow = 0
			}
		}
	}
	w.wire += uint64(k*(n+ethernetOverhead)) * w.psPerByte
	seq := w.seq[d.FlowOffset : d.FlowOffset+nflows]
	if d.Signature != nil && (t.sigSingle || t.sigRefs == 0) {
		sp := sigParams{stream: d.Signature.StreamID, so: n - SignatureLen, co: t.sigCsum, odd: t.sigOdd, udp: t.sigUDP,
			nocsum: t.sigRefs == 0}
		c := signature.TimeWord(ts, d.flags)
		sp.c, sp.th, sp.csum = c, signature.TimeHash(c), timeSum(c)
		ps.flow = signBurst(ptrs[:k], seq, first, &sp)
		return k
	}
	flow = first
	for range k {
		seq[flow]++
		if flow++; flow == nflows {
			flow = 0
		}
	}
	ps.flow = flow
	return k
}

// sigParams is what signBurst needs besides the frames.
type sigParams struct {
	stream      uint32
	c, th, csum uint64 // the trailer's TimeWord, its TimeHash, its timeSum
	so, co      int    // trailer and checksum offsets
	odd, udp    bool
	nocsum      bool // no checksum covers the trailer (e.g. IP with a custom payload)
}

// signBurst writes the signatures of frames whose flows run from flow on
// and updates the one checksum over them (template.sign, inline), and
// returns the flow after the last. frames holds at most 64 frames
// (packetio.TxBurstSize).
//
// The trailer's sum is taken modulo 0xffff (what a ones'-complement fold
// keeps): the stream word and the sequence number add as 32-bit values
// (2^32 is 1 modulo 0xffff), the 24-bit hash as one value (2^16 is 1),
// the timestamp word's part is the folded sp.csum, the same for the
// burst. The checksum is read and written in the machine's byte order
// (the sum of byte-swapped words is the byte-swapped sum).
func signBurst(frames []unsafe.Pointer, seq []uint32, flow int, sp *sigParams) int {
	nflows := len(seq)
	if len(frames) == 0 {
		return flow
	}
	_ = seq[flow] // flow < nflows, so every flow below is in seq
	sq := unsafe.Pointer(unsafe.SliceData(seq))
	stream, c, th, so := sp.stream, sp.c, sp.th, uintptr(sp.so)
	if sp.nocsum {
		for _, p := range frames {
			qp := (*uint32)(unsafe.Add(sq, uintptr(flow)*4))
			q := *qp
			*qp = q + 1
			a := uint64(stream+uint32(flow))<<32 | uint64(q)
			h := signature.Check(a, th)
			putTrailer(p, so, a, c, h)
			if flow++; flow == nflows {
				flow = 0
			}
		}
		return flow
	}
	co, udp := uintptr(sp.co), sp.udp
	// An even checksum adds the trailer's total byte-swapped (the
	// checksum is read little-endian), an odd one as it is:
	// the sum times 256 is the byte-swapped sum (modulo 0xffff).
	m := uint64(256)
	if sp.odd {
		m = 1
	}
	cs := uint64(checksum.Fold(sp.csum))
	var rare uint64 // frames whose total is 0xffff: signExact's
	if nflows == 1 {
		q := *(*uint32)(sq)
		base := uint64(stream) << 32
		k := uint64(stream) + cs
		for i, p := range frames {
			a := base | uint64(q)
			h := signature.Check(a, th)
			putTrailer(p, so, a, c, h)
			total := checksum.Fold((k + uint64(q) + uint64(h)) * m)
			q++
			if total == 0xffff {
				rare |= 1 << (uint(i) & 63)
				continue
			}
			addToChecksum((*uint16)(unsafe.Add(p, co)), total, udp)
		}
		*(*uint32)(sq) = q
	} else {
		for i, p := range frames {
			qp := (*uint32)(unsafe.Add(sq, uintptr(flow)*4))
			q := *qp
			*qp = q + 1
			sf := uint64(stream + uint32(flow))
			a := sf<<32 | uint64(q)
			h := signature.Check(a, th)
			putTrailer(p, so, a, c, h)
			if flow++; flow == nflows {
				flow = 0
			}
			total := checksum.Fold((sf + cs + uint64(q) + uint64(h)) * m)
			if total == 0xffff {
				rare |= 1 << (uint(i) & 63)
				continue
			}
			addToChecksum((*uint16)(unsafe.Add(p, co)), total, udp)
		}
	}
	for rare != 0 {
		i := bits.TrailingZeros64(rare)
		rare &= rare - 1
		signExactTrailer(frames[i], sp)
	}
	return flow
}

// signExactTrailer is signExact for a frame at p whose trailer is
// written and whose checksum is still the one under a zero trailer.
func signExactTrailer(p unsafe.Pointer, sp *sigParams) {
	tr := (*[SignatureLen]byte)(unsafe.Add(p, sp.so))
	a := binary.BigEndian.Uint64(tr[0:8])
	h := uint32(tr[15])<<16 | uint32(binary.BigEndian.Uint16(tr[16:18]))
	signExact(p, a, h, sp)
}

// putTrailer writes the signature trailer of words a, c and check h at
// p+so.
func putTrailer(p unsafe.Pointer, so uintptr, a, c uint64, h uint32) {
	signature.Put((*[signature.Len]byte)(unsafe.Add(p, so)), a, c, h)
}

// addToChecksum adds total (folded, not 0xffff) to the checksum at cp, read
// in the machine's byte order. A UDP checksum of 0 (none) stays 0, and a
// UDP result of 0 is sent as 0xffff.
func addToChecksum(cp *uint16, total uint16, udp bool) {
	oc := *cp
	if udp && oc == 0 {
		return
	}
	nc := ^checksum.Combine(^oc, total)
	if nc == 0 && udp {
		nc = 0xffff
	}
	*cp = nc
}

// signExact is signBurst's checksum update done as template.sign does it,
// for the rare trailers whose folded sum is 0xffff.
func signExact(p unsafe.Pointer, a uint64, h uint32, sp *sigParams) {
	old, w0 := ^checksum.Fold(trailerSum(a, sp.csum, h)), uint16(a>>48)
	if old == w0 {
		return
	}
	oc := get16(p, sp.co)
	if sp.udp && oc == 0 {
		return
	}
	if sp.odd {
		old, w0 = bits.ReverseBytes16(old), bits.ReverseBytes16(w0)
	}
	nc := checksum.Update16(oc, old, w0)
	if nc == 0 && sp.udp {
		nc = 0xffff
	}
	put16(p, sp.co, nc)
}

func put16(p unsafe.Pointer, off int, v uint16) {
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Add(p, off))[:], v)
}

func put32(p unsafe.Pointer, off int, v uint32) {
	binary.BigEndian.PutUint32((*[4]byte)(unsafe.Add(p, off))[:], v)
}

func put64(p unsafe.Pointer, off int, v uint64) {
	binary.BigEndian.PutUint64((*[8]byte)(unsafe.Add(p, off))[:], v)
}

func get16(p unsafe.Pointer, off int) uint16 {
	return binary.BigEndian.Uint16((*[2]byte)(unsafe.Add(p, off))[:])
}

// fillRun writes packets of definition d from position ps on into pkts.
// It is Definition.Write for a run of packets, with the per-run work
// hoisted and the signature inline (see template.sign).
func (w *Writer) fillRun(d *Definition, ps *cursorPos, pkts []*packetio.Mbuf, ts uint64, need int) int {
	if d.spirent {
		return w.fillSpirent(d, ps, pkts, ts, need)
	}
	if len(d.Lengths) > 1 {
		return w.fillGeneral(d, ps, pkts, ts, need)
	}
	done := 0
	for done < len(pkts) {
		chunk := pkts[done:min(done+packetio.TxBurstSize, len(pkts))]
		k := w.fillFixed(d, ps, chunk, ts)
		done += k
		if k < len(chunk) {
			break
		}
	}
	return done
}

// fillGeneral is fillRun for any definition.
func (w *Writer) fillGeneral(d *Definition, ps *cursorPos, pkts []*packetio.Mbuf, ts uint64, need int) int {
	flow, li := ps.flow, ps.len
	nflows, nlens := d.FlowCount, len(d.Lengths)
	seq := w.seq[d.FlowOffset : d.FlowOffset+nflows]
	hasSig := d.Signature != nil
	var stream uint32
	var c, th, csum uint64
	if hasSig {
		stream = d.Signature.StreamID
		// The trailer's timestamp and flags word, its part of the hash
		// and of the trailer's sum are the same for the whole run.
		c = signature.TimeWord(ts, d.flags)
		th = signature.TimeHash(c)
		csum = timeSum(c)
	}
	t := &d.tmpls[d.lenTmpl[li]]
	i := 0
	for ; i < len(pkts); i++ {
		m := pkts[i]
		m.Rearm() // raw or not: the same as a pool's reset
		room := m.Room()
		if len(room) < need {
			break
		}
		if nlens > 1 {
			t = &d.tmpls[d.lenTmpl[li]]
			if li++; li == nlens {
				li = 0
			}
		}
		n := len(t.frame)
		if n <= inlineCopyMax && len(room) >= inlineCopyMax {
			copyBlocks(unsafe.Pointer(unsafe.SliceData(room)), unsafe.Pointer(t.head), (n+63)/64)
		} else {
			copy(room, t.frame)
		}
		frame := room[:n:n]
		if p := t.patch; p != nil {
			nw := len(t.words)
			row := p[flow*nw : flow*nw+nw]
			for j, off := range t.words {
				binary.BigEndian.PutUint16(frame[off:], row[j])
			}
		} else if len(t.fields) > 0 {
			d.setFlow(t, frame, flow)
		}
		q := seq[flow]
		seq[flow] = q + 1
		if hasSig {
			a := uint64(stream+uint32(flow))<<32 | uint64(q)
			h := signature.Check(a, th)
			tr := frame[n-SignatureLen:]
			signature.Put((*[signature.Len]byte)(tr), a, c, h)
			if t.sigSingle {
				// template.sign's single-checksum update.
				old, first := ^checksum.Fold(trailerSum(a, csum, h)), uint16(a>>48)
				if old != first {
					cw := frame[t.sigCsum : t.sigCsum+2]
					oc := binary.BigEndian.Uint16(cw)
					if !t.sigUDP || oc != 0 {
						if t.sigOdd {
							old, first = bits.ReverseBytes16(old), bits.ReverseBytes16(first)
						}
						nc := checksum.Update16(oc, old, first)
						if nc == 0 && t.sigUDP {
							nc = 0xffff
						}
						binary.BigEndian.PutUint16(cw, nc)
					}
				}
			} else if t.sigRefs > 0 {
				binary.BigEndian.PutUint16(tr, ^checksum.Fold(trailerSum(a, csum, h)))
				t.sig.SetUint16(frame, uint16(a>>48))
			}
		}
		m.SetLen(n)
		w.wire += uint64(n+ethernetOverhead) * w.psPerByte
		if flow++; flow == nflows {
			flow = 0
		}
	}
	if nlens == 1 {
		li = 0
	}
	ps.flow, ps.len = flow, li
	return i
}

// inlineCopyMax is the longest frame fillRun copies with copyBlocks rather
// than a call to memmove (which costs more than copying a short frame
// once the caller's registers are saved around it).
const inlineCopyMax = 256

// copyBlocks copies blocks 64-byte blocks from src to dst (which do not
// overlap) with 8-byte moves. A template's frame is padded with zeros to
// a multiple of 64 bytes, and a buffer has room for inlineCopyMax bytes,
// so copying whole blocks stays inside both.
func copyBlocks(dst, src unsafe.Pointer, blocks int) {
	for i := range blocks {
		s := (*[8]uint64)(unsafe.Add(src, i*64))
		d := (*[8]uint64)(unsafe.Add(dst, i*64))
		a0, a1, a2, a3, a4, a5, a6, a7 := s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
		d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7] = a0, a1, a2, a3, a4, a5, a6, a7
	}
}
