// Package analyzer counts received traffic: protocol counters per analyzer
// and, per flow, frame counts, lengths, inter-arrival times, and from
// signatures (the Spirent signature, packet/signature/spirent, or
// openperfd's trailer, packet/signature: signatures.go) sequencing (loss,
// duplicates, reordering), latency, jitter and PRBS bit errors, with
// percentiles from DDSketch digests. It is the core of OpenPerf's packet
// analyzer; the REST resources and the sink registration live elsewhere.
//
// # Concurrency
//
// An Analyzer is a packetio.Sink: Push runs on the workers, concurrently
// for different rx queues. Its state is split in shards, one per worker
// ("lane"), so that a flow's state is only ever touched by the worker
// whose queue the flow arrives on, and readers merge the shards.
//
// packetio.Sink does not say which queue a burst comes from, so Push finds
// its lane by the burst array: every worker receives into one
// driver-allocated array for its whole life (workers.worker.run), so the
// array's address names the worker. A caller that passes other arrays
// (tests) just gets more lanes, up to maxLanes; then lanes are shared.
//
// Each shard has a mutex, taken once per burst by the worker and per chunk
// of flows by a reader (Results, Reset). It is uncontended but for those
// reads, which hold it for a bounded, short time (a chunk of flows, or one
// flow with its digests), never across a whole shard. A seqlock would
// spare the worker even that, but copying flow state and digests under
// a seqlock is a data race by Go's memory model (and go test -race says
// so); an uncontended lock costs ~20 ns per burst, under 1 ns per packet.
package analyzer

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/DataDog/sketches-go/ddsketch/mapping"

	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature/spirent"
	"github.com/openperfd/openperfd/packetio"
)

// maxLanes bounds the shards; more callers share them.
const maxLanes = 64

// Analyzer analyzes the frames pushed to it while started.
type Analyzer struct {
	cfg    Config
	needs  needs
	digMap mapping.IndexMapping // the digests' bins, made once: nil without digests
	// psPerByte is a byte's wire time at the link speed (0: unknown);
	// epoch the Unix ns of the start of the UTC year when the analyzer
	// was made, the zero of Spirent timestamps (as OpenPerf fixes it
	// when a port starts).
	psPerByte uint64
	epoch     int64

	active atomic.Bool
	nflows atomic.Int64 // flows over all shards, bounded by cfg.FlowLimit

	// Lanes: laneKeys[i] (a burst array address) uses lanes[i], for
	// i < nlanes. Slots are written once, under laneMu, before nlanes
	// grows past them.
	nlanes   atomic.Int32
	laneKeys [maxLanes]atomic.Uintptr
	lanes    [maxLanes]atomic.Pointer[shard]
	laneMu   sync.Mutex

	ctl sync.Mutex // serialises Start, Stop, Reset and Results

	// generalOnly turns the fast path off: for tests that compare the two,
	// and when tunnels are counted (needs.tunnels).
	generalOnly bool
}

var _ packetio.FrameTimedSink = (*Analyzer)(nil)

// shard is one lane's state. mu guards everything in it and the flows it
// points to.
type shard struct {
	mu       sync.Mutex
	proto    ProtocolResults
	checks   ChecksumResults
	sigFlows map[uint64]*flow // port<<32 | stream id
	tupFlows map[FlowKey]*flow
	flows    []*flow // in creation order, for readers
	overflow flow    // frames of flows beyond the limit: counted, not tracked
	filtered uint64
	layers   protocol.Layers // scratch for the burst loop
	spirent  spirent.Decoder // its caches follow the lane's streams
	// sigCache is a direct-mapped cache in front of sigFlows, so that
	// interleaved streams cost an array probe, not a map lookup, per
	// frame. Entries are valid until clear.
	sigCache [sigCacheSize]sigEntry
}

// sigCacheSize is the signed-flow cache's entries (a power of 2).
const sigCacheSize = 256

type sigEntry struct {
	id uint64 // port<<32 | stream id
	f  *flow  // nil: empty
}

func newShard() *shard {
	return &shard{sigFlows: map[uint64]*flow{}, tupFlows: map[FlowKey]*flow{}}
}

// clear drops the shard's state; s.mu is held.
func (s *shard) clear() {
	s.proto = ProtocolResults{}
	s.checks = ChecksumResults{}
	s.sigFlows = map[uint64]*flow{}
	s.tupFlows = map[FlowKey]*flow{}
	s.flows = nil
	s.overflow = flow{}
	s.filtered = 0
	s.sigCache = [sigCacheSize]sigEntry{}
}

// New returns a stopped analyzer, or an error wrapping ErrInvalid.
func New(cfg Config) (*Analyzer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Analyzer{cfg: cfg, needs: cfg.needs(), epoch: spirent.Epoch(time.Now()).UnixNano()}
	if cfg.LinkSpeedMbps > 0 {
		a.psPerByte = uint64(1_000_000/cfg.LinkSpeedMbps) * 8 // as OpenPerf: whole ps per bit, times 8
	}
	a.generalOnly = a.needs.tunnels
	if cfg.FlowDigests != 0 {
		a.digMap = digestMapping(cfg.DigestDigits)
	}
	return a, nil
}

// Config returns the configuration with its defaults filled in.
func (a *Analyzer) Config() Config { return a.cfg }

// Active reports whether the analyzer is started.
func (a *Analyzer) Active() bool { return a.active.Load() }

// Start clears the results and starts counting; starting a started
// analyzer does nothing.
func (a *Analyzer) Start() {
	a.ctl.Lock()
	defer a.ctl.Unlock()
	if a.active.Load() {
		return
	}
	a.clearLocked()
	a.active.Store(true)
}

// Stop stops counting. When it returns no Push is counting any more: the
// results stay as they are until Start or Reset.
func (a *Analyzer) Stop() {
	a.ctl.Lock()
	defer a.ctl.Unlock()
	a.active.Store(false)
	for _, s := range a.shards() {
		s.mu.Lock() // wait for a burst in progress (it rechecks active)
		s.mu.Unlock()
	}
}

// Reset clears the results, running or not.
func (a *Analyzer) Reset() {
	a.ctl.Lock()
	defer a.ctl.Unlock()
	a.clearLocked()
}

// clearLocked clears every shard, all locked at once so that the flow
// count restarts consistently.
func (a *Analyzer) clearLocked() {
	shards := a.shards()
	for _, s := range shards {
		s.mu.Lock()
	}
	for _, s := range shards {
		s.clear()
	}
	a.nflows.Store(0)
	for _, s := range shards {
		s.mu.Unlock()
	}
}

// shards returns the lanes' shards in use.
func (a *Analyzer) shards() []*shard {
	n := int(a.nlanes.Load())
	out := make([]*shard, n)
	for i := range out {
		out[i] = a.lanes[i].Load()
	}
	return out
}

// shardFor returns the lane of a burst array.
func (a *Analyzer) shardFor(pkts []*packetio.Mbuf) *shard {
	key := uintptr(unsafe.Pointer(unsafe.SliceData(pkts)))
	if s := a.knownLane(key); s != nil {
		return s
	}
	return a.newLane(key)
}

// knownLane returns key's lane, the shared lane it falls to once every
// lane is taken, or nil when key may still have a lane of its own.
func (a *Analyzer) knownLane(key uintptr) *shard {
	n := int(a.nlanes.Load())
	for i := range n {
		if a.laneKeys[i].Load() == key {
			return a.lanes[i].Load()
		}
	}
	if n == maxLanes {
		return a.lanes[(key>>3)%maxLanes].Load()
	}
	return nil
}

func (a *Analyzer) newLane(key uintptr) *shard {
	a.laneMu.Lock()
	defer a.laneMu.Unlock()
	if s := a.knownLane(key); s != nil { // made since shardFor looked
		return s
	}
	n := int(a.nlanes.Load())
	s := newShard()
	a.lanes[n].Store(s)
	a.laneKeys[n].Store(key)
	a.nlanes.Store(int32(n + 1))
	return s
}

// Push implements packetio.Sink. It counts the burst into the lane's
// shard under the shard's lock; it neither keeps the Mbufs nor allocates,
// except when a flow is new (its state and map entry) or the burst array
// is (its lane).
func (a *Analyzer) Push(port uint16, pkts []*packetio.Mbuf) {
	if len(pkts) == 0 || !a.active.Load() {
		return
	}
	a.push(port, pkts, a.cfg.Clock())
}

// PushAt implements packetio.TimedSink: Push for a burst the port
// received at rx (ns since the Unix epoch), the time its frames' receive
// times count from.
func (a *Analyzer) PushAt(port uint16, pkts []*packetio.Mbuf, rx int64) {
	if len(pkts) == 0 || !a.active.Load() {
		return
	}
	a.push(port, pkts, uint64(rx))
}

// PushTimes implements packetio.FrameTimedSink: Push for a burst whose
// frames the port timed one by one (a NIC's receive timestamps), pkts[i]
// received at rx[i] (ns since the Unix epoch). Each frame's receive time
// is its own: inter-arrival times are the stamps' differences, not wire
// times, and latency is per frame.
func (a *Analyzer) PushTimes(port uint16, pkts []*packetio.Mbuf, rx []int64) {
	if len(pkts) == 0 || !a.active.Load() {
		return
	}
	s := a.shardFor(pkts)
	s.mu.Lock()
	if a.active.Load() {
		a.burstTimes(s, port, pkts, rx)
	}
	s.mu.Unlock()
}

// burstTimes counts a burst whose frames come with their own receive
// times; s.mu is held. Every frame goes through general, which takes a
// frame's time as given: burst's fast loop derives its frames' times from
// the burst's and stays as tuned for the ports without stamps (all of
// them but NICs with receive timestamps), at the price of general's
// slower path for the frames that have them.
func (a *Analyzer) burstTimes(s *shard, port uint16, pkts []*packetio.Mbuf, rx []int64) {
	var g generalState
	rx = rx[:len(pkts)] // one time per frame, by contract
	for i, m := range pkts {
		a.general(s, port, m, uint64(rx[i]), &g)
	}
}

// push is Push and PushAt with the burst's receive time rx0.
func (a *Analyzer) push(port uint16, pkts []*packetio.Mbuf, rx0 uint64) {
	s := a.shardFor(pkts)
	s.mu.Lock()
	if a.active.Load() {
		a.burst(s, port, pkts, rx0)
	}
	s.mu.Unlock()
}

// burst is the per-packet loop; s.mu is held. Signed frames of the
// common shapes (fastpath.go) whose flow is in the shard's cache are
// counted inline, with classify's call and, when sequence or latency is
// asked, one more: Go's calls keep no register across them, so every call
// in the loop costs spills and reloads of the loop's state. That path is
// taken when a flow counts no lengths, inter-arrival times or digests;
// other frames and counters go through count or general.
func (a *Analyzer) burst(s *shard, port uint16, pkts []*packetio.Mbuf, rx0 uint64) {
	cfg := &a.cfg
	ppb := a.psPerByte
	var wire uint64 // ps on the wire before the frame, in this burst
	// A run of fast-path frames of one shape whose checksums the same
	// parties verified: the frames of a burst are mostly one run, counted
	// into the protocol and checksum results once.
	run, runN := uint16(0), uint64(0)
	sw := cfg.Checksums == ChecksumsSoftware
	fast := cfg.Filter == nil && !a.generalOnly
	// countLean: counting a frame is counting frames, receive times and
	// checksum errors (no lengths, inter-arrival times or digests);
	// signedMore: a signed frame's trailer is used beyond its stream id.
	countLean := cfg.FlowCounters&(InterarrivalTime|FrameLength) == 0 && cfg.FlowDigests == 0
	signedMore := a.needs.sequence || a.needs.latency || cfg.FlowCounters&PRBS != 0
	mix := portMix(port)
	// Spirent timestamps are unwrapped about the burst's time: any time
	// within half a wrap (5.7 minutes) of the frame's will do, and one per
	// burst saves a division per frame.
	ref := a.spirentRef(rx0)
	var g generalState
	var fi fastInfo
	for _, m := range pkts {
		frame := m.Data()
		rx := rx0 + wire/1000
		wire += uint64(len(frame)+ethernetOverhead) * ppb
		if !fast {
			a.general(s, port, m, rx, &g)
			continue
		}
		bad, ok, sig, signed, sp := s.classifySigned(frame, m.RxChecksum(), sw, &fi)
		if !ok {
			a.general(s, port, m, rx, &g)
			continue
		}
		if k := uint16(fi.shape)<<4 | uint16(fi.who); k != run {
			if runN > 0 {
				a.countRun(s, run, runN)
			}
			run, runN = k, 0
		}
		runN++
		var f *flow
		if signed {
			e := s.sigSlot(mix, sig.StreamID)
			f = e.f
			if f == nil || e.id != uint64(port)<<32|uint64(sig.StreamID) {
				f = nil
			}
		}
		if f != nil && countLean {
			if f.frames == 0 {
				f.firstRx = rx
			}
			f.frames++
			f.lastRx = rx
			if bad != 0 {
				f.countErrors(bad)
			}
			if signedMore {
				if sp {
					sig.Timestamp = a.spirentTimeAt(sig.Timestamp, ref)
				}
				f.updateSeqLatency(sig.Sequence, sig.Timestamp, rx, cfg, a.needs)
				if cfg.FlowCounters&PRBS != 0 && sig.PRBS() {
					f.checkPRBS(frame, int(fi.pay), sp)
				}
			}
			continue
		}
		if sp {
			sig.Timestamp = a.spirentTimeAt(sig.Timestamp, ref)
		}
		p := packet{frame: frame, payloadOff: int(fi.pay), bad: bad, sig: sig, signed: signed, spirent: sp, rx: rx}
		if f == nil {
			if signed {
				f = a.signedFlow(s, port, sig.StreamID, &p)
			} else {
				f = g.tupleFlow(a, s, fastTupleKey(port, frame, &fi), &p)
			}
		}
		a.count(s, f, &p)
	}
	if runN > 0 {
		a.countRun(s, run, runN)
	}
}

// countRun adds n fast-path frames of one shape and checksum verification
// (shape<<4 | who) to the shard's protocol and checksum results.
func (a *Analyzer) countRun(s *shard, run uint16, n uint64) {
	shape, who := uint8(run>>4), uint8(run&(nWho-1))
	if a.needs.protocol {
		s.proto.addShape(a.cfg.ProtocolCounters, shape, n)
	}
	s.checks.addWho(shape, who, n)
}

// generalState is what general keeps from frame to frame of a burst: the
// last frame's flow, which the next frame likely shares.
type generalState struct {
	last       *flow
	lastStream uint32
	lastKey    FlowKey
}

// tupleFlow is Analyzer.tupleFlow behind the last-flow shortcut.
func (g *generalState) tupleFlow(a *Analyzer, s *shard, k FlowKey, p *packet) *flow {
	if g.last != nil && !g.last.key.Signed && k == g.lastKey {
		return g.last
	}
	f := a.tupleFlow(s, k, p)
	g.last, g.lastKey = f, k
	return f
}

// general analyzes a frame the burst loop's fast path does not: filtered
// analyzers, other shapes, and (generalOnly) every frame. Checksums are
// verified as the config's Checksums says (generalChecks).
func (a *Analyzer) general(s *shard, port uint16, m *packetio.Mbuf, rx uint64, g *generalState) {
	cfg := &a.cfg
	frame := m.Data()
	if cfg.Filter != nil && !cfg.Filter.Match(frame) {
		s.filtered++
		return
	}
	p := packet{frame: frame, rx: rx}
	var fi fastInfo
	var fast bool
	if !a.generalOnly {
		p.bad, fast = classify(frame, m.RxChecksum(), cfg.Checksums == ChecksumsSoftware, &fi)
	}
	if fast {
		a.countRun(s, uint16(fi.shape)<<4|uint16(fi.who), 1)
		p.payloadOff = int(fi.pay)
	} else {
		_ = s.layers.Decode(frame) // on error, the headers parsed so far
		if a.needs.protocol {
			s.proto.count(cfg.ProtocolCounters, &s.layers, frame)
		}
		p.bad = s.checks.generalChecks(&s.layers, frame, m.RxChecksum(), cfg.Checksums == ChecksumsSoftware)
		p.payloadOff = int(s.layers.PayloadOff)
	}
	p.sig, p.signed, p.spirent = a.signatureOf(s, frame, p.rx)
	var f *flow
	if p.signed {
		if g.last != nil && g.last.key.Signed && g.lastStream == p.sig.StreamID {
			f = g.last
		} else {
			f = a.signedFlow(s, port, p.sig.StreamID, &p)
		}
		g.last, g.lastStream = f, p.sig.StreamID
	} else {
		var k FlowKey
		if fast {
			k = fastTupleKey(port, frame, &fi)
		} else {
			k = tupleKey(port, &s.layers, frame)
		}
		f = g.tupleFlow(a, s, k, &p)
	}
	a.count(s, f, &p)
}

// count adds a frame to its flow, or to the overflow when it has none
// (over the flow limit).
func (a *Analyzer) count(s *shard, f *flow, p *packet) {
	if f == nil {
		s.overflow.countFrame(p, a.cfg.FlowCounters&^InterarrivalTime)
		return
	}
	f.update(p, &a.cfg, a.needs)
}

// portMix is a port's part of its streams' signed-flow cache index,
// worked out once per burst: the multiply stays off each frame's chain of
// dependent loads (signature, cache entry, flow).
func portMix(port uint16) uint32 { return uint32(port) * 0x9e3779b1 }

// sigSlot is the signed-flow cache entry of a stream of the port whose
// portMix is mix. Stream ids are indexed by their low bits: a generator's
// streams are consecutive ids, which this spreads perfectly.
func (s *shard) sigSlot(mix, stream uint32) *sigEntry {
	return &s.sigCache[(stream^mix)%sigCacheSize]
}

func (a *Analyzer) signedFlow(s *shard, port uint16, stream uint32, p *packet) *flow {
	id := uint64(port)<<32 | uint64(stream)
	e := s.sigSlot(portMix(port), stream)
	if e.f != nil && e.id == id {
		return e.f
	}
	f, ok := s.sigFlows[id]
	if !ok {
		f = a.newFlow(s, FlowKey{Port: port, Signed: true, StreamID: stream}, p)
		if f == nil {
			return nil
		}
		s.sigFlows[id] = f
	}
	*e = sigEntry{id: id, f: f}
	return f
}

func (a *Analyzer) tupleFlow(s *shard, k FlowKey, p *packet) *flow {
	if f, ok := s.tupFlows[k]; ok {
		return f
	}
	f := a.newFlow(s, k, p)
	if f != nil {
		s.tupFlows[k] = f
	}
	return f
}

// newFlow makes a flow if the limit allows, else returns nil.
func (a *Analyzer) newFlow(s *shard, k FlowKey, p *packet) *flow {
	if a.nflows.Add(1) > int64(a.cfg.FlowLimit) {
		a.nflows.Add(-1)
		return nil
	}
	f := &flow{key: k, dig: newDigests(a.cfg.FlowDigests, a.cfg.DigestMax, a.digMap)}
	if a.cfg.FlowCounters&Header != 0 {
		n := min(p.payloadOff, maxHeader, len(p.frame))
		f.header = append([]byte(nil), p.frame[:n]...)
	}
	s.flows = append(s.flows, f)
	return f
}
