package generator

import (
	"github.com/openperfd/openperfd/packetio"
)

// Without signatures a program's packets repeat exactly every Program.Len
// packets, so a Source can build that cycle once, in buffers it keeps, and
// hand the port references to them (packetio.RefPool): no allocation, no
// copy, no writing per packet; the port's free just drops a reference.
// References are added in batches (credits), so the atomic update is paid
// once per prebuiltCredit packets per buffer, not per packet.

// prebuiltMax is the longest cycle a Source prebuilds; prebuiltShare the
// part of the pool's free buffers it may take for it (1/prebuiltShare).
const (
	prebuiltMax    = 4096
	prebuiltShare  = 4
	prebuiltCredit = 1 << 14 // references added at once (refcnt is 16 bits)
)

// prebuilt is a Source's cycle of frames.
type prebuilt struct {
	bufs []*packetio.Mbuf
	flow []int32 // global flow index of each
	cred []int32 // references added and not yet handed out, per buffer
	pos  int     // next to send
}

// prebuildable reports whether prog's packets are the same every cycle
// (no signatures) and the cycle is short enough to prebuild.
func prebuildable(prog *Program) bool {
	for i := range prog.Definitions {
		if prog.Definitions[i].Signature != nil {
			return false
		}
	}
	return prog.Len() <= prebuiltMax
}

// build allocates and writes the cycle; false (and nothing held) when the
// pool cannot spare the buffers.
func (s *Source) build() bool {
	n := int(s.w.p.Len())
	if st := s.pool.Stats(); st.Available < int64(n)*prebuiltShare {
		return false
	}
	pb := &prebuilt{bufs: make([]*packetio.Mbuf, n), flow: make([]int32, n), cred: make([]int32, n)}
	for i := 0; i < n; i += packetio.BurstSize {
		chunk := pb.bufs[i:min(i+packetio.BurstSize, n)]
		if !s.pool.Alloc(chunk) {
			s.pool.Free(pb.bufs[:i])
			return false
		}
	}
	// Write the cycle with a writer of its own (the source's keeps the
	// sequence numbers of what is sent), and note each packet's flow.
	w := s.w.p.NewWriter()
	c := s.w.p.NewCursor()
	if k := w.fill(pb.bufs, 0); k < n {
		s.pool.Free(pb.bufs)
		return false
	}
	for i := range pb.flow {
		di, f, _ := c.Next()
		pb.flow[i] = int32(s.w.p.Definitions[di].FlowOffset + f)
	}
	for i, m := range pb.bufs {
		s.ref.AddRef(m, prebuiltCredit)
		pb.cred[i] = prebuiltCredit
	}
	s.pre = pb
	return true
}

// pullPrebuilt is Pull from the prebuilt cycle.
func (s *Source) pullPrebuilt(pkts []*packetio.Mbuf) int {
	n, t := s.ready(len(pkts))
	if n == 0 {
		return 0
	}
	pb := s.pre
	seq := s.w.seq
	pos := pb.pos
	for i := range pkts[:n] {
		if pb.cred[pos] == 0 {
			s.ref.AddRef(pb.bufs[pos], prebuiltCredit)
			pb.cred[pos] = prebuiltCredit
		}
		pb.cred[pos]--
		pkts[i] = pb.bufs[pos]
		seq[pb.flow[pos]]++
		if pos++; pos == len(pb.bufs) {
			pos = 0
		}
	}
	pb.pos = pos
	s.account(t, n)
	return n
}

// Release frees the prebuilt frames or recycled buffers (workers.Releaser): the unused credits
// and the source's own reference; the port drops the rest as it sends.
// The source must not be pulled any more.
func (s *Source) Release() {
	s.releaseRecycled()
	pb := s.pre
	if pb == nil {
		return
	}
	s.pre = nil
	for i, m := range pb.bufs {
		if pb.cred[i] > 0 {
			s.ref.AddRef(m, -int(pb.cred[i]))
		}
	}
	s.pool.Free(pb.bufs)
}
