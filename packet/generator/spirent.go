package generator

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packet/signature/spirent"
	"github.com/openperfd/openperfd/packetio"
)

// SpirentLen is the length of a Spirent signature, the last bytes of every
// frame of a definition in FormatSpirent (before the FCS, where OpenPerf
// puts it).
const SpirentLen = spirent.Len

// ethernetOverhead is what a frame occupies on the wire beyond its bytes
// without FCS: preamble and start delimiter (8), FCS (4) and the minimum
// inter-frame gap (12), as OpenPerf counts it for per-frame timestamps.
const ethernetOverhead = 24

// FrameSpirent decodes the Spirent signature at the end of frame (without
// FCS).
func FrameSpirent(frame []byte) (spirent.Signature, bool) { return spirent.FromFrame(frame) }

// fillSpirentPRBS writes OpenPerf's PRBS-23 fill into a template's payload
// b, which starts at offset off of the frame: a DPDK buffer's data starts
// 4-byte aligned (128 bytes of headroom), so off modulo 4 is OpenPerf's
// phase. Every frame of the template carries this same stretch: OpenPerf
// carries the sequence on from frame to frame, but analyzers (its own
// included) sync on each payload, so the frames check the same, and the
// payload stays in the template rather than being written per frame.
func fillSpirentPRBS(b []byte, off int) {
	p := spirent.NewPRBS23(spirent.PRBS23Start)
	p.Fill(b, off&3)
}

// sum20 is the ones'-complement sum, not folded, of a 20-byte signature
// just encoded, whose cheater is zero: its 32-bit pieces add as its 16-bit
// words do modulo 0xffff (2^16 is 1). The loads match spirent.Encode's
// stores (8, 8 and 2 bytes), so they are forwarded from them rather than
// waiting for the cache.
func sum20(tr []byte) uint64 {
	_ = tr[19]
	a, b := binary.BigEndian.Uint64(tr[0:]), binary.BigEndian.Uint64(tr[8:])
	return a>>32 + a&0xffffffff + b>>32 + b&0xffffffff + uint64(binary.BigEndian.Uint16(tr[16:]))
}

// signSpirent writes s as a Spirent signature at the end of frame, a copy
// of template t (whose signature bytes are zero) with the flow's words
// set, and keeps the checksums over it right (see signSpirentOver, with
// the checksum the frame holds).
func (t *template) signSpirent(frame []byte, s spirent.Signature) {
	var oc uint16
	if t.sigCheat {
		oc = binary.BigEndian.Uint16(frame[t.sigCsum:])
	}
	t.signSpirentOver(frame, s, oc)
}

// signSpirentOver writes s as a Spirent signature at the end of frame,
// which holds template t with the flow's words (the signature's bytes may
// hold anything), and keeps the checksums over it right without touching
// them: the signature's last two bytes, the "cheater", which readers
// never check, are set so that the signature's 20 bytes sum to zero in
// ones'-complement arithmetic, as the template's zeros did. A zero sum
// stays zero at an odd offset too, so every checksum that covers the
// signature (a tunnel's outer and inner ones alike) keeps the template's
// value, and a frame costs the signature's bytes alone. OpenPerf sets the
// cheater only for the case below and sums the checksum instead; readers
// see the same signature. With no checksum over it the cheater stays 0.
//
// When the signature covers the UDP checksum itself (a runt IPv4/UDP
// frame), the cheater makes that checksum come out right, as OpenPerf
// does: oc is then the checksum under a zero signature (the template's
// with the flow's words, read by the caller: a recycled buffer's holds
// the last packet's signature). It does not allocate.
func (t *template) signSpirentOver(frame []byte, s spirent.Signature, oc uint16) {
	so := len(frame) - spirent.Len
	tr := frame[so:]
	if t.sigCheat {
		// The checksum is the complement of the sum of what it covers
		// outside the checksum and the signature; with a 1-byte overlap
		// the checksum's first byte stays, and the signature's words sit
		// at odd offsets (their sum and the cheater byte-swapped). The
		// cheater makes the whole sum zero.
		rest := uint64(^oc)
		if so == t.sigCsum { // 64 bytes: the common case, one fold
			spirent.Encode(tr, s)
			binary.BigEndian.PutUint16(tr[18:], ^checksum.Fold(rest+sum20(tr)))
			return
		}
		first := uint64(oc & 0xff00)
		spirent.Encode(tr, s)
		sig := bits.ReverseBytes16(checksum.Fold(sum20(tr)))
		need := ^checksum.Fold(rest + first + uint64(sig))
		binary.BigEndian.PutUint16(tr[18:], bits.ReverseBytes16(need))
		return
	}
	spirent.Encode(tr, s)
	if t.sigRefs > 0 {
		binary.BigEndian.PutUint16(tr[18:], ^checksum.Fold(sum20(tr)))
	}
}

// fillSpirent is fillRun for a definition with Spirent signatures: the
// packets of Definition.Write, each stamped with the burst's time ts (Unix
// ns) plus the wire time of the frames the writer put before it in this
// burst (w.wire), at the start or end of the frame as the definition
// asks, as OpenPerf's signature encoder does. It stops at the first
// buffer too small for the program's frames and returns how many it
// wrote. It does not allocate.
func (w *Writer) fillSpirent(d *Definition, ps *cursorPos, pkts []*packetio.Mbuf, ts uint64, need int) int {
	flow, li := ps.flow, ps.len
	nflows, nlens := d.FlowCount, len(d.Lengths)
	seq := w.seq[d.FlowOffset : d.FlowOffset+nflows]
	sig := spirent.Signature{StreamID: d.Signature.StreamID, Flags: d.flags}
	base, wire, ppb := w.spirentTicks(ts), w.wire, w.psPerByte
	eof := d.flags&spirent.FlagEndOfFrame != 0
	enc := ps.encoder(d)
	t := &d.tmpls[d.lenTmpl[li]]
	i := 0
	for ; i < len(pkts); i++ {
		m := pkts[i]
		if nlens > 1 {
			t = &d.tmpls[d.lenTmpl[li]]
			if li++; li == nlens {
				li = 0
			}
		}
		n := len(t.frame)
		p := m.RearmTx(n, need) // raw or not: the same as a pool's reset
		if p == nil {
			break
		}
		if n <= inlineCopyMax {
			copyBlocks(p, unsafe.Pointer(t.head), (n+63)/64)
		} else {
			copy(unsafe.Slice((*byte)(p), n), t.frame)
		}
		frame := unsafe.Slice((*byte)(p), n)
		if pt := t.patch; pt != nil {
			nw := len(t.words)
			row := pt[flow*nw : flow*nw+nw]
			for j, off := range t.words {
				put16(p, int(off), row[j])
			}
		} else if len(t.fields) > 0 {
			d.setFlow(t, frame, flow)
		}
		q := seq[flow]
		seq[flow] = q + 1
		at := wire
		wire += uint64(n+ethernetOverhead) * ppb
		if eof {
			at = wire
		}
		tick := base + at/spirent.TickPicoseconds
		if t.sigCheat { // a runt: the cheater fixes the UDP checksum it covers
			sig.StreamID, sig.Sequence, sig.Timestamp = d.Signature.StreamID+uint32(flow), q, tick
			t.signSpirent(frame, sig)
		} else {
			if !enc.Fresh(flow, q, tick) {
				enc.Refill(flow, q, tick)
			}
			hi, lo, crc := enc.Words(flow, q, tick)
			so := n - spirent.Len
			put64(p, so, hi)
			put64(p, so+8, lo)
			var cheater uint16 // zero: the template's
			if t.sigRefs > 0 {
				cheater = ^checksum.Fold(hi>>32 + hi&0xffffffff + lo>>32 + lo&0xffffffff + uint64(crc))
			}
			put32(p, so+16, uint32(crc)<<16|uint32(cheater))
		}
		if flow++; flow == nflows {
			flow = 0
		}
	}
	if nlens == 1 {
		li = 0
	}
	ps.flow, ps.len = flow, li
	w.wire = wire
	return i
}
