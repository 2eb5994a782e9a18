package analyzer

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"time"
)

// Summary summarises a series of values (OpenPerf's summary counters):
// Min, Max and StdDev (the sample standard deviation) are 0 while Count is
// 0.
type Summary struct {
	Count    uint64
	Min, Max int64
	Total    int64
	StdDev   int64
}

// Errors are a flow's frame errors. FCS stays 0: DPDK strips the FCS and
// drops bad frames before they reach an analyzer.
type Errors struct {
	FCS, IPv4Checksum, TCPChecksum, UDPChecksum uint64
}

// Sequence are a flow's sequencing results (see sequence for the rules).
// RunLength is the current run of in-order frames.
type Sequence struct {
	Dropped, Duplicate, Late, Reordered, InOrder, RunLength uint64
}

// PRBSResult counts payload bit errors of frames whose signature says
// PRBS: BitErrors are bits differing from PRBS-23 as OpenPerf counts them
// after a Spirent signature, or broken PRBS-31 recurrence checks after our
// trailer (one flipped bit breaks up to three), FrameErrors frames with
// any, Octets the payload bytes checked.
type PRBSResult struct {
	BitErrors, FrameErrors, Octets uint64
}

// Counters are a flow's (or the analyzer's) results. Optional members are
// nil unless the config asked for them.
type Counters struct {
	FrameCount      uint64
	FirstRx, LastRx time.Time // zero before the first frame
	Errors          Errors
	FrameLength     *Summary // octets, FCS included
	Interarrival    *Summary // ns
	JitterIPDV      *Summary // ns, RFC 3393: signed
	JitterRFC       *Summary // ns, RFC 4689: |latency - the previous frame's|
	Latency         *Summary // ns
	Sequence        *Sequence
	PRBS            *PRBSResult
	Header          []byte // the first frame's headers (up to 128 bytes), per flow only
}

// Digest is the view of one of a flow's distributions. Times are ns;
// IPDV and latency keep their sign. Min and Max are exact; percentiles
// and centroid means are within the digest's relative accuracy (1% by
// default).
type Digest struct {
	Count               uint64
	Min, Max            int64
	P50, P90, P99, P999 int64
	// Centroids are the non-empty bins, by mean.
	Centroids []Centroid
}

// Centroid is a bin of a digest: Weight values near Mean.
type Centroid struct {
	Mean   float64
	Weight uint64
}

// Digests are a flow's digests; nil for those not configured.
type Digests struct {
	FrameLength, Interarrival, JitterIPDV, JitterRFC, Latency, SequenceRunLength *Digest
}

// FlowResult is one flow's results.
type FlowResult struct {
	Key      FlowKey
	Counters Counters
	Digests  Digests
}

// Results are an analyzer's results at one moment.
type Results struct {
	Active   bool
	Protocol ProtocolResults
	// Checksums say who verified the counted frames' checksums.
	Checksums ChecksumResults
	// Totals sums the flows' counters (summaries merged), plus frame
	// counts, lengths and errors of OverflowFrames. No header, no digests.
	Totals Counters
	// Flows in key order: port, signed by stream id, then unsigned.
	Flows []FlowResult
	// OverflowFrames are frames of flows beyond the flow limit.
	OverflowFrames uint64
	// FilteredFrames are frames the filter did not match.
	FilteredFrames uint64
}

// flowCopy is a flow's state copied out of its shard, with its digests
// exported.
type flowCopy struct {
	f   flow
	dig digests
}

// readChunk is how many flows a reader copies per shard lock without
// digests; with digests it copies one at a time.
const readChunk = 256

// Results copies and merges the shards. It may run while traffic flows:
// it takes each shard's lock for a chunk of flows at a time.
func (a *Analyzer) Results() Results {
	a.ctl.Lock()
	defer a.ctl.Unlock()
	r := Results{Active: a.active.Load(), Checksums: ChecksumResults{Mode: a.cfg.Checksums}}
	var copies []flowCopy
	var overflow flow
	chunk := readChunk
	if a.cfg.FlowDigests != 0 {
		chunk = 1
	}
	for _, s := range a.shards() {
		s.mu.Lock()
		r.Protocol.add(&s.proto)
		r.Checksums.add(&s.checks)
		r.FilteredFrames += s.filtered
		overflow.merge(&s.overflow)
		s.mu.Unlock()
		for i := 0; ; i += chunk {
			s.mu.Lock()
			n := len(s.flows)
			for _, f := range s.flows[min(i, n):min(i+chunk, n)] {
				c := flowCopy{f: *f}
				if f.dig != nil {
					c.dig = f.dig.clone()
				}
				c.f.dig = nil
				copies = append(copies, c)
			}
			s.mu.Unlock()
			if i+chunk >= n {
				break
			}
		}
	}
	r.OverflowFrames = overflow.frames

	// A flow normally lives in one shard; merge those seen in several.
	slices.SortStableFunc(copies, func(x, y flowCopy) int { return compareKeys(&x.f.key, &y.f.key) })
	total := overflow
	for i := 0; i < len(copies); {
		c := &copies[i]
		j := i + 1
		for ; j < len(copies) && copies[j].f.key == c.f.key; j++ {
			c.f.merge(&copies[j].f)
			c.dig.merge(&copies[j].dig)
		}
		total.merge(&c.f)
		r.Flows = append(r.Flows, FlowResult{Key: c.f.key, Counters: a.counters(&c.f), Digests: digestsOf(&c.dig)})
		i = j
	}
	total.header = nil
	r.Totals = a.counters(&total)
	return r
}

// compareKeys orders flows by port, signed first by stream id, then the
// unsigned keys' fields.
func compareKeys(x, y *FlowKey) int {
	if c := cmp.Compare(x.Port, y.Port); c != 0 {
		return c
	}
	if x.Signed != y.Signed {
		if x.Signed {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(x.StreamID, y.StreamID); c != 0 {
		return c
	}
	if x.HasVLAN != y.HasVLAN {
		if !x.HasVLAN {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(x.VLAN, y.VLAN); c != 0 {
		return c
	}
	if c := cmp.Compare(x.IP, y.IP); c != 0 {
		return c
	}
	if c := cmp.Compare(x.Proto, y.Proto); c != 0 {
		return c
	}
	if c := bytes.Compare(x.Src[:], y.Src[:]); c != 0 {
		return c
	}
	if c := bytes.Compare(x.Dst[:], y.Dst[:]); c != 0 {
		return c
	}
	if c := cmp.Compare(x.SrcPort, y.SrcPort); c != 0 {
		return c
	}
	return cmp.Compare(x.DstPort, y.DstPort)
}

// merge adds g's counters to f's, as if f had seen g's frames too (for
// sequencing and jitter state, only the counts add up).
func (f *flow) merge(g *flow) {
	if g.frames == 0 {
		return
	}
	if f.frames == 0 || g.firstRx < f.firstRx {
		f.firstRx = g.firstRx
	}
	if f.frames == 0 || g.lastRx > f.lastRx {
		f.lastRx = g.lastRx
	}
	if f.header == nil {
		f.header = g.header
	}
	f.frames += g.frames
	f.errIPv4 += g.errIPv4
	f.errTCP += g.errTCP
	f.errUDP += g.errUDP
	f.length.merge(&g.length)
	f.interarrival.merge(&g.interarrival)
	f.latency.merge(&g.latency)
	f.ipdv.merge(&g.ipdv)
	f.rfc.merge(&g.rfc)
	s, t := &f.seq, &g.seq
	s.dropped += t.dropped
	s.duplicate += t.duplicate
	s.late += t.late
	s.reordered += t.reordered
	s.inOrder += t.inOrder
	s.runLength = max(s.runLength, t.runLength)
	f.prbsBits += g.prbsBits
	f.prbsFrames += g.prbsFrames
	f.prbsOctets += g.prbsOctets
}

// moments returns the count, mean and sum of squared deviations.
func (s *summary) moments() (n, mean, m2 float64) {
	if s.n == 0 {
		return 0, 0, 0
	}
	n = float64(s.n)
	sum1 := s.sum1()
	mean = float64(s.shift) + sum1/n
	m2 = max(s.sum2-sum1*sum1/n, 0)
	return n, mean, m2
}

// merge combines two summaries (Chan et al.'s parallel variance) into one
// whose moments are taken about its mean.
func (s *summary) merge(t *summary) {
	if t.n == 0 {
		return
	}
	if s.n == 0 {
		*s = *t
		return
	}
	na, ma, m2a := s.moments()
	nb, mb, m2b := t.moments()
	d := mb - ma
	n := na + nb
	mean := ma + d*nb/n
	m2 := m2a + m2b + d*d*na*nb/n
	s.min = min(s.min, t.min)
	s.max = max(s.max, t.max)
	s.total += t.total
	s.n += t.n
	// Re-express about shift: sum2 = m2 + sum1^2/n.
	s.shift = int64(math.Round(mean))
	sum1 := s.sum1()
	s.sum2 = m2 + sum1*sum1/n
}

func (s *summary) result() *Summary {
	r := &Summary{Count: s.n, Total: s.total}
	if s.n == 0 {
		return r
	}
	r.Min, r.Max = s.min, s.max
	if s.n > 1 {
		n, _, m2 := s.moments()
		r.StdDev = int64(math.Round(math.Sqrt(m2 / (n - 1))))
	}
	return r
}

// counters turns flow state into results, with the members cfg asks for.
func (a *Analyzer) counters(f *flow) Counters {
	fc := a.cfg.FlowCounters
	c := Counters{
		FrameCount: f.frames,
		Errors:     Errors{IPv4Checksum: f.errIPv4, TCPChecksum: f.errTCP, UDPChecksum: f.errUDP},
	}
	if f.frames > 0 {
		c.FirstRx, c.LastRx = time.Unix(0, int64(f.firstRx)), time.Unix(0, int64(f.lastRx))
	}
	if fc&FrameLength != 0 {
		c.FrameLength = f.length.result()
	}
	if fc&InterarrivalTime != 0 {
		c.Interarrival = f.interarrival.result()
	}
	if fc&JitterIPDV != 0 {
		c.JitterIPDV = f.ipdv.result()
	}
	if fc&JitterRFC != 0 {
		c.JitterRFC = f.rfc.result()
	}
	if fc&Latency != 0 {
		c.Latency = f.latency.result()
	}
	if fc&AdvancedSequencing != 0 {
		s := &f.seq
		c.Sequence = &Sequence{Dropped: s.dropped, Duplicate: s.duplicate, Late: s.late,
			Reordered: s.reordered, InOrder: s.inOrder, RunLength: s.runLength}
	}
	if fc&PRBS != 0 {
		c.PRBS = &PRBSResult{BitErrors: f.prbsBits, FrameErrors: f.prbsFrames, Octets: f.prbsOctets}
	}
	if fc&Header != 0 && f.header != nil {
		c.Header = bytes.Clone(f.header)
	}
	return c
}

// percentiles the digests report.
var percentiles = []float64{50, 90, 99, 99.9}

func digestsOf(ds *digests) Digests {
	return Digests{
		FrameLength:       ds[dFrameLength].view(),
		Interarrival:      ds[dInterarrival].view(),
		JitterIPDV:        ds[dJitterIPDV].view(),
		JitterRFC:         ds[dJitterRFC].view(),
		Latency:           ds[dLatency].view(),
		SequenceRunLength: ds[dRunLength].view(),
	}
}
