//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package generator

import (
	"math/bits"
	"unsafe"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packet/signature"
	"github.com/openperfd/openperfd/packet/signature/spirent"
	"github.com/openperfd/openperfd/packetio"
)

// With signatures every packet differs, but only in a few words: the
// flow's, the trailer and the checksum over it. A Source of one
// definition of one length therefore keeps a ring of buffers holding the
// template, sends references to them (packetio.RefPool, as prebuilt
// frames do) and, once a port has dropped its reference, rewrites just
// those words for the next packet: no allocation, no template copy, so a
// 1518-byte packet costs what a 64-byte one does. A buffer still held by
// a port (a deep tx ring) is skipped for fresh buffers from the pool.
// Checksums are kept in the machine's byte order, as in signBurst: this
// file builds for little-endian machines only.

// recycleRing is the least number of buffers a Source recycles.
const recycleRing = 2 * packetio.TxBurstSize

// recycleFlowsMax bounds the flows for which the ring is made a multiple of
// the flow count. Such a ring gives each buffer the same flow every time
// round, so the flow's words stay written and only the trailer and its
// checksum change; the buffers' touched lines (header and first data line,
// 128 bytes each) stay within a core's L2 cache.
const recycleFlowsMax = 2048

// recycled is a Source's ring of template buffers.
type recycled struct {
	bufs []*packetio.Mbuf
	// own is the pool the buffers were taken from when it is a
	// packetio.RecyclePool: a buffer is then free to write when its
	// reference count is 0, and is lent to the port with 1 (no credits,
	// left stays 0). nil: the buffers are the Source's pool's, with
	// credits.
	own packetio.RecyclePool
	// left is the references added to bufs[pos:] and not yet handed
	// out; bufs[:pos] have one fewer. The ring is taken in order, so one
	// count does for all buffers: it drops by one every lap, and when it
	// would reach 0 every buffer gets prebuiltCredit more.
	left int32
	// flow is the flow whose words each buffer holds, -1 if none yet.
	// Buffers from the pool (when the ring's next one is still held) take
	// flows out of turn, so the tag is checked rather than assumed.
	flow []int32
	pos  int
	// base is each flow's checksum under the trailer (the template's, or
	// the flow's word for it) in the machine's byte order: what signRing
	// adds the trailer to.
	base []uint16
	// enc encodes the flows' Spirent signatures, for streams from
	// encStream on (made at the first Spirent burst, and again if the
	// definition's stream id changes).
	enc       *spirent.Encoder
	encStream uint32
}

// recycleSize is the ring's size for a definition of nflows flows.
func recycleSize(nflows int) int {
	if nflows <= 1 || nflows > recycleFlowsMax {
		return recycleRing
	}
	return nflows * ((recycleRing + nflows - 1) / nflows)
}

// recyclable reports whether prog's packets can be written over recycled
// buffers: one definition, one length, a Spirent signature (which leaves
// the checksums alone) or ours under at most one checksum (signRing
// updates it inline), and flow words precomputed.
func recyclable(prog *Program) bool {
	if len(prog.Definitions) != 1 {
		return false
	}
	d := &prog.Definitions[0]
	if d.Signature == nil || len(d.Lengths) != 1 {
		return false
	}
	t := &d.tmpls[d.lenTmpl[0]]
	return (d.spirent || t.sigSingle || t.sigRefs == 0) && (t.patch != nil || len(t.fields) == 0)
}

// buildRecycled allocates the ring and writes the template into it; false
// (and nothing held) when the pools cannot spare the buffers. The ring
// comes from the Source's RecyclePool if it has one that can spare it.
func (s *Source) buildRecycled() bool {
	d := &s.w.p.Definitions[0]
	t := &d.tmpls[d.lenTmpl[0]]
	full := recycleSize(d.FlowCount)
	rc := &recycled{}
	if s.rp != nil {
		if rc.bufs = make([]*packetio.Mbuf, full); s.rp.Take(rc.bufs) {
			rc.own = s.rp
		} else if s.rp.Take(rc.bufs[:recycleRing]) {
			rc.own, rc.bufs = s.rp, rc.bufs[:recycleRing]
		}
	}
	n := len(rc.bufs)
	if rc.own == nil {
		n = full
		if st := s.pool.Stats(); st.Available < int64(n)*prebuiltShare {
			// A small pool (the jumbo pool: ~2k buffers) cannot spare a ring
			// per flow; the least ring rewrites each buffer's flow words when
			// the flow changes, as for more than recycleFlowsMax flows.
			if n = recycleRing; st.Available < int64(n)*prebuiltShare {
				return false
			}
		}
		rc.bufs, rc.left = make([]*packetio.Mbuf, n), prebuiltCredit
		for i := 0; i < n; i += packetio.BurstSize {
			if !s.pool.Alloc(rc.bufs[i:min(i+packetio.BurstSize, n)]) {
				s.pool.Free(rc.bufs[:i])
				return false
			}
		}
	}
	rc.flow = make([]int32, n)
	for _, m := range rc.bufs {
		if len(m.Room()) < len(t.frame) {
			rc.giveBack(s)
			return false
		}
	}
	for i, m := range rc.bufs {
		copy(m.Room(), t.frame)
		m.RearmShared(len(t.frame))
		if rc.own == nil {
			s.ref.AddRef(m, prebuiltCredit)
		}
		rc.flow[i] = -1
	}
	rc.base = flowChecksums(d, t)
	s.rec = rc
	return true
}

// giveBack returns a ring that never sent a buffer to its pool.
func (rc *recycled) giveBack(s *Source) {
	if rc.own != nil {
		rc.own.Give(rc.bufs)
	} else {
		s.pool.Free(rc.bufs)
	}
}

// pullRecycled is Pull over the ring: the buffers whose references the
// port has all dropped, in ring order, then fresh ones from the pool for
// the rest of the burst if the ring's next buffer is still held.
func (s *Source) pullRecycled(pkts []*packetio.Mbuf) int {
	n, t := s.ready(len(pkts))
	if n == 0 {
		return 0
	}
	sign := s.signRing
	if s.w.p.Definitions[0].spirent {
		sign = s.signRingSpirent
	}
	s.w.wire = 0 // the burst's first frame starts at t
	k := 0
	for k < n {
		end := min(k+packetio.TxBurstSize, n)
		got := sign(pkts[k:end], uint64(t))
		k += got
		if k < end {
			break // the ring's next buffer is still held
		}
	}
	if k < n && s.pool.Alloc(pkts[k:n]) {
		if f := s.w.fillOn(pkts[k:n], uint64(t)); k+f < n {
			s.pool.Free(pkts[k+f : n])
			n = k + f
		}
		k = n
	}
	s.account(t, k)
	return k
}

// signRing takes the ring's next buffers that no port holds any more, up
// to len(pkts) <= TxBurstSize, and makes each the next packet: in one pass
// per buffer, the flow's words written unless its tag says they are
// there, the trailer, and the checksum over the trailer set from the
// flow's own checksum (not read back from the buffer). It is fillFixed
// and signBurst for the ring, fused: every buffer is visited once, and
// its header is left as buildRecycled set it (see Mbuf.RearmShared). It
// returns how many buffers it took.
func (s *Source) signRing(pkts []*packetio.Mbuf, ts uint64) int {
	rc, w := s.rec, s.w
	d, ps := &w.p.Definitions[0], &w.cur.pos[0]
	t := &d.tmpls[d.lenTmpl[0]]
	nflows := d.FlowCount
	words, patch := t.words, t.patch
	if patch == nil {
		words = nil
	}
	seq := w.seq[d.FlowOffset : d.FlowOffset+nflows]
	bases := rc.base[:nflows]
	sp := sigParams{stream: d.Signature.StreamID, so: len(t.frame) - SignatureLen, co: t.sigCsum, odd: t.sigOdd,
		udp: t.sigUDP, nocsum: t.sigRefs == 0}
	c := signature.TimeWord(ts, d.flags)
	th := signature.TimeHash(c)
	sp.csum = timeSum(c)
	cs := uint64(checksum.Fold(sp.csum))
	// The checksum is read and written in the machine's byte order; an
	// even one adds the trailer's total byte-swapped (see signBurst).
	mul := uint64(256)
	if sp.odd {
		mul = 1
	}
	stream, so, co, udp, nocsum := sp.stream, uintptr(sp.so), uintptr(sp.co), sp.udp, sp.nocsum
	bufs, tags := rc.bufs, rc.flow
	pos, flow, want := rc.pos, ps.flow, rc.want()
	var rare uint64 // packets whose trailer total is 0xffff: signExact's
	k := 0
	for ; k < len(pkts); k++ {
		m := bufs[pos]
		if m.Refcnt() != want {
			break // a port still holds it
		}
		if want == 0 {
			m.Lend()
		}
		pkts[k] = m
		p := m.DataPtr()
		if tags[pos] != int32(flow) {
			rc.setFlow(p, pos, flow, words, patch)
		}
		q := seq[flow]
		seq[flow] = q + 1
		sf := uint64(stream + uint32(flow))
		a := sf<<32 | uint64(q)
		h := signature.Check(a, th)
		putTrailer(p, so, a, c, h)
		if !nocsum {
			cp := (*uint16)(unsafe.Add(p, co))
			oc := bases[flow]
			total := checksum.Fold((sf + cs + uint64(q) + uint64(h)) * mul)
			switch {
			case total == 0xffff:
				*cp = oc
				rare |= 1 << (uint(k) & 63)
			case udp && oc == 0: // no UDP checksum: stays none
				*cp = 0
			default: // addToChecksum, on the flow's checksum instead of the buffer's
				nc := ^checksum.Combine(^oc, total)
				if nc == 0 && udp {
					nc = 0xffff
				}
				*cp = nc
			}
		}
		if flow++; flow == nflows {
			flow = 0
		}
		if pos++; pos == len(bufs) {
			pos = 0
			want = s.nextLap()
		}
	}
	rc.pos, ps.flow = pos, flow
	for rare != 0 {
		i := bits.TrailingZeros64(rare)
		rare &= rare - 1
		signExactTrailer(pkts[i].DataPtr(), &sp)
	}
	return k
}

// signRingSpirent is signRing for Spirent signatures: the ring's next
// buffers that no port holds, each with its flow's words (written unless
// its tag says they are there) and the next signature, stamped as
// fillSpirent stamps, with the cheater that leaves the checksums as they
// are (template.signSpirentOver); only a runt's cheater needs the flow's
// own checksum (not the buffer's, which holds the last packet's). The
// signature's words stay in registers from encoding to the cheater
// (spirent.Encoder). It returns how many buffers it took.
func (s *Source) signRingSpirent(pkts []*packetio.Mbuf, ts uint64) int {
	rc, w := s.rec, s.w
	d, ps := &w.p.Definitions[0], &w.cur.pos[0]
	t := &d.tmpls[d.lenTmpl[0]]
	nflows, n := d.FlowCount, len(t.frame)
	words, patch := t.words, t.patch
	if patch == nil {
		words = nil
	}
	seq := w.seq[d.FlowOffset : d.FlowOffset+nflows]
	stream := d.Signature.StreamID
	if rc.enc == nil || rc.encStream != stream {
		rc.enc, rc.encStream = spirent.NewEncoder(stream, nflows, d.flags), stream
	}
	bases, enc := rc.base[:nflows], rc.enc
	// The frame's time in ticks, carried on frame by frame rather than
	// divided out of the wire time each time.
	step := uint64(n+ethernetOverhead) * w.psPerByte
	at := w.wire
	if d.flags&spirent.FlagEndOfFrame != 0 {
		at += step
	}
	tick, rem := w.spirentTicks(ts)+at/spirent.TickPicoseconds, at%spirent.TickPicoseconds
	stepTicks, stepRem := step/spirent.TickPicoseconds, step%spirent.TickPicoseconds
	so := uintptr(n - spirent.Len)
	const (
		none    = iota // no checksum covers the signature: cheater 0
		covered        // checksums cover it: the cheater zeroes its sum
		cheat          // it covers the UDP checksum at its start
		other          // the one-byte overlap: template.signSpirentOver
	)
	kind := none
	switch {
	case t.sigCheat && int(so) == t.sigCsum:
		kind = cheat
	case t.sigCheat:
		kind = other
	case t.sigRefs > 0:
		kind = covered
	}
	bufs, tags := rc.bufs, rc.flow
	pos, flow, want := rc.pos, ps.flow, rc.want()
	k := 0
	for ; k < len(pkts); k++ {
		m := bufs[pos]
		if m.Refcnt() != want {
			break // a port still holds it
		}
		if want == 0 {
			m.Lend()
		}
		pkts[k] = m
		p := m.DataPtr()
		if tags[pos] != int32(flow) {
			rc.setFlow(p, pos, flow, words, patch)
		}
		q := seq[flow]
		seq[flow] = q + 1
		frameTick := tick
		tick += stepTicks
		if rem += stepRem; rem >= spirent.TickPicoseconds {
			rem -= spirent.TickPicoseconds
			tick++
		}
		if kind == other {
			sig := spirent.Signature{StreamID: stream + uint32(flow), Sequence: q, Timestamp: frameTick, Flags: d.flags}
			t.signSpirentOver(unsafe.Slice((*byte)(p), n), sig, bits.ReverseBytes16(bases[flow]))
		} else {
			if !enc.Fresh(flow, q, frameTick) {
				enc.Refill(flow, q, frameTick)
			}
			hi, lo, crc := enc.Words(flow, q, frameTick)
			put64(p, int(so), hi)
			put64(p, int(so+8), lo)
			sum := hi>>32 + hi&0xffffffff + lo>>32 + lo&0xffffffff + uint64(crc)
			var cheater uint16
			switch kind {
			case covered:
				cheater = ^checksum.Fold(sum)
			case cheat:
				cheater = ^checksum.Fold(uint64(^bits.ReverseBytes16(bases[flow])) + sum)
			}
			put32(p, int(so+16), uint32(crc)<<16|uint32(cheater)) // the CRC and the cheater in one store
		}
		if flow++; flow == nflows {
			flow = 0
		}
		if pos++; pos == len(bufs) {
			pos = 0
			want = s.nextLap()
		}
	}
	rc.pos, ps.flow = pos, flow
	w.wire += uint64(k) * step
	return k
}

// setFlow writes flow's words (patch's row of them) into ring buffer pos,
// whose data is at p, and tags it with the flow. The ring loops call it
// only when the tag differs, which a flow-sized ring makes rare.
func (rc *recycled) setFlow(p unsafe.Pointer, pos, flow int, words, patch []uint16) {
	nw := len(words)
	row := patch[flow*nw : flow*nw+nw]
	for j, off := range words {
		put16(p, int(off), row[j])
	}
	rc.flow[pos] = int32(flow)
}

// flowChecksums returns each flow's checksum under the trailer of
// template t, in the machine's byte order (0s when no checksum covers
// the trailer).
func flowChecksums(d *Definition, t *template) []uint16 {
	out := make([]uint16, d.FlowCount)
	if t.sigRefs == 0 {
		return out
	}
	c := get16(unsafe.Pointer(t.head), t.sigCsum)
	nw := len(t.words)
	for f := range out {
		if t.patch != nil && t.sigCsumWord >= 0 {
			c = t.patch[f*nw+t.sigCsumWord]
		}
		out[f] = bits.ReverseBytes16(c)
	}
	return out
}

// want is the reference count the ring's buffers have when no port
// holds them.
func (rc *recycled) want() int {
	if rc.own != nil {
		return 0
	}
	return 1 + int(rc.left)
}

// nextLap starts the ring's next lap and returns the reference count its
// buffers have when no port holds them.
func (s *Source) nextLap() int {
	rc := s.rec
	if rc.own != nil {
		return 0
	}
	if rc.left--; rc.left == 0 {
		for _, m := range rc.bufs {
			s.ref.AddRef(m, prebuiltCredit)
		}
		rc.left = prebuiltCredit
	}
	return 1 + int(rc.left)
}

// releaseRecycled frees the ring (see Release).
func (s *Source) releaseRecycled() {
	rc := s.rec
	if rc == nil {
		return
	}
	s.rec = nil
	if rc.own != nil {
		rc.own.Give(rc.bufs) // those a port holds go back once freed
		return
	}
	for i, m := range rc.bufs {
		left := rc.left
		if i < rc.pos {
			left--
		}
		if left > 0 {
			s.ref.AddRef(m, -int(left))
		}
	}
	s.pool.Free(rc.bufs)
}
