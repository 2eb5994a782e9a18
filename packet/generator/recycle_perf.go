package generator

import (
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
	cred []int32 // references added and not yet handed out, per buffer
	// flow is the flow whose words each buffer holds, -1 if none yet.
	// Buffers from the pool (when the ring's next one is still held) take
	// flows out of turn, so the tag is checked rather than assumed.
	flow []int32
	pos  int
}

// recycleSize is the ring's size for a definition of nflows flows.
func recycleSize(nflows int) int {
	if nflows <= 1 || nflows > recycleFlowsMax {
		return recycleRing
	}
	return nflows * ((recycleRing + nflows - 1) / nflows)
}

// recyclable reports whether prog's packets can be written over recycled
// buffers: one definition, one length, a signature whose checksum
// update fillFixed does inline, flow words precomputed.
func recyclable(prog *Program) bool {
	if len(prog.Definitions) != 1 {
		return false
	}
	d := &prog.Definitions[0]
	if d.Signature == nil || len(d.Lengths) != 1 {
		return false
	}
	t := &d.tmpls[d.lenTmpl[0]]
	return (t.sigSingle || t.sigRefs == 0) && (t.patch != nil || len(t.fields) == 0)
}

// buildRecycled allocates the ring and writes the template into it; false
// (and nothing held) when the pool cannot spare the buffers.
func (s *Source) buildRecycled() bool {
	d := &s.w.p.Definitions[0]
	t := &d.tmpls[d.lenTmpl[0]]
	n := recycleSize(d.FlowCount)
	if st := s.pool.Stats(); st.Available < int64(n)*prebuiltShare {
		return false
	}
	rc := &recycled{bufs: make([]*packetio.Mbuf, n), cred: make([]int32, n), flow: make([]int32, n)}
	for i := 0; i < n; i += packetio.BurstSize {
		if !s.pool.Alloc(rc.bufs[i:min(i+packetio.BurstSize, n)]) {
			s.pool.Free(rc.bufs[:i])
			return false
		}
	}
	for i, m := range rc.bufs {
		room := m.Room()
		if len(room) < len(t.frame) {
			s.pool.Free(rc.bufs)
			return false
		}
		copy(room, t.frame)
		m.SetLen(len(t.frame))
		s.ref.AddRef(m, prebuiltCredit)
		rc.cred[i] = prebuiltCredit
		rc.flow[i] = -1
	}
	s.rec = rc
	return true
}

// pullRecycled is Pull over the ring: the buffers whose references the
// port has all dropped, in ring order, then fresh ones from the pool for
// the rest of the burst if the ring's next buffer is still held.
func (s *Source) pullRecycled(pkts []*packetio.Mbuf) int {
	n, t := s.ready(len(pkts))
	if n == 0 {
		return 0
	}
	rc := s.rec
	start, pos, k := rc.pos, rc.pos, 0
	for k < n {
		m := rc.bufs[pos]
		if m.Refcnt() != 1+int(rc.cred[pos]) {
			break // a port still holds it
		}
		if rc.cred[pos] == 0 {
			s.ref.AddRef(m, prebuiltCredit)
			rc.cred[pos] = prebuiltCredit
		}
		rc.cred[pos]--
		pkts[k] = m
		k++
		if pos++; pos == len(rc.bufs) {
			pos = 0
		}
	}
	rc.pos = pos
	k = s.w.fillRecycled(pkts[:k], uint64(t), rc.flow, start)
	if k < n && s.pool.Alloc(pkts[k:n]) {
		if f := s.w.fill(pkts[k:n], uint64(t)); k+f < n {
			s.pool.Free(pkts[k+f : n])
			n = k + f
		}
		k = n
	}
	s.account(t, k)
	return k
}

// releaseRecycled frees the ring (see Release).
func (s *Source) releaseRecycled() {
	rc := s.rec
	if rc == nil {
		return
	}
	s.rec = nil
	for i, m := range rc.bufs {
		if rc.cred[i] > 0 {
			s.ref.AddRef(m, -int(rc.cred[i]))
		}
	}
	s.pool.Free(rc.bufs)
}
