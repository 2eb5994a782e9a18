package generator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/registry"
	"github.com/openperfd/openperfd/packetio"
)

// Errors the API maps to status codes: ErrNotFound to 404; ErrInvalid and
// ErrInUse to 400.
var (
	ErrNotFound = errors.New("not found")
	ErrInUse    = errors.New("in use")
)

// Dataplane is what generators need from the workers.
type Dataplane interface {
	AddSource(portID string, s packetio.Source) error
	RemoveSource(s packetio.Source)
}

// Target is where a generator transmits: a port, or an interface on one.
type Target struct {
	PortID    string
	Interface string  // empty for a port target
	MAC       [6]byte // the port's or interface's MAC address
	// MaxFrameLen is the longest frame (FCS included) the port takes; 0
	// means no limit beyond the generator's own.
	MaxFrameLen int
}

// TxQueues is implemented by a Dataplane that can tell how many workers
// have a tx queue on a port, so one generator can spread over them.
type TxQueues interface {
	TxQueues(portID string) int
}

// Targets looks up target ids (port or interface ids).
type Targets interface {
	Target(id string) (Target, error)
}

// Resolver finds the next hop from an interface to an IP address and
// resolves its MAC address (ARP/ND), as the stack does.
type Resolver interface {
	Resolve(ctx context.Context, iface string, dst netip.Addr) (nextHop netip.Addr, mac [6]byte, err error)
}

// Spec is a generator configuration as the API hands it in.
type Spec struct {
	ID, TargetID string
	Traffic      []TrafficDefinition
	Order        Order
	// Rate is per second, in frames or (RateOctets) in octets, FCS
	// included.
	Rate       float64
	RateOctets bool
	Burst      int
	Frames     uint64        // 0: no frame limit
	Duration   time.Duration // 0: no time limit
	// Counters lists the protocol counters to report: "ethernet", "ip",
	// "transport".
	Counters []string
	// Ethernet lists the ethernet headers whose addresses the API left
	// unset: the source becomes the target's MAC, the destination is
	// learnt (interface targets) or an error (port targets).
	Ethernet []EthernetDefault
	// Opaque is the API's own form of the config, handed back by Get.
	Opaque any
}

// EthernetDefault names an ethernet header (traffic[Def].Headers[Header])
// with unset addresses.
type EthernetDefault struct {
	Def, Header int
	Src, Dst    bool
}

// Learning states, as the API spells them.
const (
	LearningUnsupported = "unsupported"
	LearningUnresolved  = "unresolved"
	LearningResolving   = "resolving"
	LearningResolved    = "resolved"
	LearningTimedOut    = "timed_out"
)

// Options configure a Service.
type Options struct {
	FlowLimit int          // per generator; <= 0: DefaultFlowLimit
	Resolver  Resolver     // nil: interface targets cannot learn
	Now       func() int64 // ns; nil: the wall clock
	// LearnTimeout bounds one resolution; 0: 4 s (gVisor probes 3 times,
	// 1 s apart).
	LearnTimeout time.Duration
	// Budget bounds the flow tables (nil: no limit): a generator's
	// compiled flows are reserved at create, each run's per-flow state at
	// start, until the generator or the result is deleted.
	Budget *memory.Budget
}

// What one flow costs, measured with 1M flows: the compiled program ~12
// bytes (held by the generator and shared by its runs), a run's writer ~4
// (its sequence numbers), both rounded up.
const (
	progFlowBytes = 16
	runFlowBytes  = 8
)

func genHolder(id string) string { return "generator " + id }
func runHolder(genID, resultID string) string {
	return fmt.Sprintf("generator %s (result %s)", genID, resultID)
}

// deleteResultLocked drops a result and releases its run's flow state.
func (s *Service) deleteResultLocked(r *result) {
	s.results.Delete(r.id)
	s.opts.Budget.Release(runHolder(r.genID, r.id))
}

// Service owns the generators and their results. Safe for concurrent use.
type Service struct {
	dp      Dataplane
	pool    packetio.Pool
	targets Targets
	opts    Options

	mu      sync.Mutex
	gens    registry.Ordered[*gen]
	results registry.Ordered[*result]
}

type gen struct {
	spec   Spec
	target Target
	prog   *Program // compiled with the addresses known so far
	flows  int
	active *result // nil when idle

	learn *learning // nil: nothing to learn
}

type result struct {
	id, genID, targetID string
	prog                *Program
	shards              []shard // one per worker tx queue the run spreads over
	pacing              Pacing
	groups              []string     // protocol counter groups
	classes             []protoClass // per definition
	stopped             chan struct{}
}

// shard is the part of a run one source transmits: a block of the
// program's flows starting at global flow off (all of them when the run
// is not split).
type shard struct {
	prog *Program
	src  *Source
	off  int
}

// snapshot is each shard's counters, read once: every figure of one view
// comes from it, so they agree with each other while the run goes on.
type snapshot []Counters

func (r *result) snapshot() snapshot {
	sn := make(snapshot, len(r.shards))
	for i, sh := range r.shards {
		sn[i] = sh.src.Counters()
	}
	return sn
}

// sum adds the shards' counters up.
func (sn snapshot) sum() Counters {
	var c Counters
	for _, x := range sn {
		c.Actual += x.Actual
		c.Dropped += x.Dropped
		c.Intended += x.Intended
		if !x.First.IsZero() && (c.First.IsZero() || x.First.Before(c.First)) {
			c.First = x.First
		}
		if x.Last.After(c.Last) {
			c.Last = x.Last
		}
	}
	return c
}

// octets sums the shards' octets for the count pick takes from each
// shard's counters.
func (r *result) octets(sn snapshot, pick func(Counters) uint64) uint64 {
	var n uint64
	for i, sh := range r.shards {
		n = addSat(n, sh.prog.Octets(pick(sn[i])))
	}
	return n
}

// defPackets is DefinitionPackets over the shards (a split run has one
// definition).
func (r *result) defPackets(sn snapshot, pick func(Counters) uint64) []uint64 {
	out := make([]uint64, len(r.prog.Definitions))
	for si, sh := range r.shards {
		for i, n := range sh.prog.DefinitionPackets(pick(sn[si])) {
			out[i] += n
		}
	}
	return out
}

// flowCounts is AllFlowCounts over the shards, in global flow order.
func (r *result) flowCounts(sn snapshot, pick func(Counters) uint64) (packets, octets []uint64) {
	packets, octets = make([]uint64, r.prog.Flows()), make([]uint64, r.prog.Flows())
	for i, sh := range r.shards {
		p, o := sh.prog.AllFlowCounts(pick(sn[i]))
		copy(packets[sh.off:], p)
		copy(octets[sh.off:], o)
	}
	return packets, octets
}

func actual(c Counters) uint64   { return c.Actual }
func intended(c Counters) uint64 { return c.Intended }
func tried(c Counters) uint64    { return c.Actual + c.Dropped }

// NewService makes the generator service.
func NewService(dp Dataplane, pool packetio.Pool, targets Targets, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = func() int64 { return time.Now().UnixNano() }
	}
	if opts.LearnTimeout <= 0 {
		opts.LearnTimeout = 4 * time.Second
	}
	return &Service{dp: dp, pool: pool, targets: targets, opts: opts}
}

// View is a generator as the API shows it.
type View struct {
	ID, TargetID string
	Active       bool
	Learning     string
	Flows        int
	Opaque       any
}

func (s *Service) viewLocked(g *gen) View {
	state := LearningUnsupported
	if g.target.Interface != "" {
		state = LearningResolved
	}
	if g.learn != nil {
		state = g.learn.state()
	}
	return View{ID: g.spec.ID, TargetID: g.spec.TargetID, Active: g.active != nil,
		Learning: state, Flows: g.flows, Opaque: g.spec.Opaque}
}

func invalidf(path, format string, a ...any) error {
	return &ValidationError{Path: path, Msg: fmt.Sprintf(format, a...)}
}

// prepare checks a spec and compiles it without learnt addresses.
func (s *Service) prepare(sp Spec) (*gen, error) {
	if sp.TargetID == "" {
		return nil, invalidf("target_id", "required")
	}
	t, err := s.targets.Target(sp.TargetID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, invalidf("target_id", "%q is neither a port nor an interface", sp.TargetID)
		}
		return nil, fmt.Errorf("look up target %s: %w", sp.TargetID, err)
	}
	switch {
	case !(sp.Rate > 0) || math.IsInf(sp.Rate, 0):
		return nil, invalidf("config.load.rate.value", "must be positive")
	case sp.Burst < 1:
		return nil, invalidf("config.load.burst_size", "must be at least 1")
	case sp.Frames > 0 && sp.Duration > 0:
		return nil, invalidf("config.duration", "only one of continuous, frames and time may be set")
	}
	g := &gen{spec: sp, target: t}
	var dsts []learnDef
	for _, e := range sp.Ethernet {
		if e.Def < 0 || e.Def >= len(sp.Traffic) || e.Header < 0 || e.Header >= len(sp.Traffic[e.Def].Headers) {
			return nil, fmt.Errorf("ethernet default %+v out of range", e)
		}
		eth, ok := sp.Traffic[e.Def].Headers[e.Header].Header.(protocol.Ethernet)
		if !ok {
			return nil, fmt.Errorf("ethernet default %+v is not an ethernet header", e)
		}
		if e.Src {
			eth.Src = t.MAC
		}
		sp.Traffic[e.Def].Headers[e.Header].Header = eth
		if e.Dst && t.Interface == "" && !destinationModified(sp.Traffic[e.Def].Headers[e.Header]) {
			p := fmt.Sprintf("config.traffic[%d].packet.protocols[%d].ethernet.destination", e.Def, e.Header)
			return nil, invalidf(p, "required when the target is a port (only generators on interfaces learn destination MACs)")
		}
	}
	if t.Interface != "" {
		var err error
		if dsts, err = learnDefs(sp); err != nil {
			return nil, err
		}
	}
	prog, err := Compile(sp.Traffic, sp.Order, s.opts.FlowLimit)
	if err != nil {
		return nil, err
	}
	if t.MaxFrameLen > 0 && prog.MaxFrameLen()+FCSLen > t.MaxFrameLen {
		for i := range prog.Definitions {
			for _, l := range prog.Definitions[i].Lengths {
				if l > t.MaxFrameLen {
					return nil, invalidf(fmt.Sprintf("config.traffic[%d].length", i), "%d is longer than port %s takes (%d, one buffer)", l, t.PortID, t.MaxFrameLen)
				}
			}
		}
	}
	g.spec = sp
	g.prog, g.flows = prog, prog.Flows()
	if len(dsts) > 0 {
		g.learn = newLearning(dsts)
	}
	return g, nil
}

// Create adds generators, all or none. Ids that are empty get a UUID.
func (s *Service) Create(specs []Spec) ([]View, error) {
	gs := make([]*gen, len(specs))
	for i, sp := range specs {
		g, err := s.prepare(sp)
		if err != nil {
			if len(specs) > 1 {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			return nil, err
		}
		if g.spec.ID == "" {
			g.spec.ID = uuid.NewString()
		}
		gs[i] = g
	}
	newIDs := make([]string, len(gs))
	for i, g := range gs {
		newIDs[i] = g.spec.ID
	}
	s.mu.Lock()
	if err := s.gens.AddAll(newIDs, gs); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %w", err, ErrInUse)
	}
	for i, g := range gs {
		if err := s.opts.Budget.Reserve(genHolder(g.spec.ID), int64(g.flows)*progFlowBytes); err != nil {
			for _, g := range gs { // all or none
				s.opts.Budget.Release(genHolder(g.spec.ID))
				s.gens.Delete(g.spec.ID)
			}
			s.mu.Unlock()
			if len(gs) > 1 {
				return nil, fmt.Errorf("items[%d]: %d flows: %w: %w", i, g.flows, err, ErrInvalid)
			}
			return nil, fmt.Errorf("%d flows: %w: %w", g.flows, err, ErrInvalid)
		}
	}
	views := make([]View, len(gs))
	for i, g := range gs {
		views[i] = s.viewLocked(g)
	}
	s.mu.Unlock()
	for _, g := range gs {
		if g.learn != nil {
			s.startLearning(g, false)
		}
	}
	return views, nil
}

// List returns the generators, of one target if targetID is set.
func (s *Service) List(targetID string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, g := range s.gens.All() {
		if targetID == "" || g.spec.TargetID == targetID {
			out = append(out, s.viewLocked(g))
		}
	}
	return out
}

// Get returns one generator.
func (s *Service) Get(id string) (View, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.gens.Get(id)
	if !ok {
		return View{}, fmt.Errorf("generator %s: %w", id, ErrNotFound)
	}
	return s.viewLocked(g), nil
}

// Delete removes inactive generators and their results; unknown ids are
// ignored. With strict, an active generator is an error.
func (s *Service) Delete(ids []string, strict bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		g, ok := s.gens.Get(id)
		if !ok {
			continue
		}
		if g.active != nil {
			if strict {
				return fmt.Errorf("generator %s is running; stop it first: %w", id, ErrInUse)
			}
			continue
		}
		if g.learn != nil {
			g.learn.cancel()
		}
		s.gens.Delete(id)
		s.opts.Budget.Release(genHolder(id))
		s.results.DeleteFunc(func(r *result) bool {
			if r.genID != id {
				return false
			}
			s.opts.Budget.Release(runHolder(r.genID, r.id))
			return true
		})
	}
	return nil
}

// DeleteAll removes every inactive generator.
func (s *Service) DeleteAll() {
	s.mu.Lock()
	ids := s.gens.IDs()
	s.mu.Unlock()
	_ = s.Delete(ids, false)
}

// Start starts generators, all or none, and returns their new results.
// Generators still learning are waited for (up to ctx).
func (s *Service) Start(ctx context.Context, ids []string) ([]ResultView, error) {
	return s.start(ctx, ids, "")
}

// Toggle stops the running generator replace and starts the idle one
// with in its place; signature streams the two share continue their
// sequence numbers.
func (s *Service) Toggle(ctx context.Context, replace, with string) (ResultView, error) {
	rs, err := s.start(ctx, []string{with}, replace)
	if err != nil {
		return ResultView{}, err
	}
	return rs[0], nil
}

func (s *Service) start(ctx context.Context, ids []string, replace string) ([]ResultView, error) {
	for _, id := range ids {
		if err := s.awaitLearning(ctx, id); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var old *gen
	if replace != "" {
		old = s.gens.Value(replace)
		switch {
		case old == nil:
			return nil, fmt.Errorf("generator %s: %w", replace, ErrNotFound)
		case old.active == nil:
			return nil, invalidf("replace", "generator %s is not running", replace)
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		g, ok := s.gens.Get(id)
		switch {
		case !ok:
			return nil, fmt.Errorf("generator %s: %w", id, ErrNotFound)
		case g.active != nil:
			return nil, fmt.Errorf("generator %s is already running: %w", id, ErrInUse)
		case seen[id]:
			return nil, invalidf("ids", "%s is listed twice", id)
		}
		seen[id] = true
		if g.learn != nil {
			if st := g.learn.state(); st != LearningResolved {
				return nil, invalidf("learning", "generator %s cannot start: learning is %s%s", id, st, g.learn.errSuffix())
			}
		}
	}
	// Targets may have gone since create (an interface deleted, a port
	// bonded); check them all before starting any.
	for _, id := range ids {
		g := s.gens.Value(id)
		t, err := s.targets.Target(g.spec.TargetID)
		if err != nil {
			return nil, invalidf("target_id", "generator %s: target %s: %v", id, g.spec.TargetID, err)
		}
		g.target = t
	}
	var seqs map[uint32]uint32
	if old != nil {
		r := old.active
		s.stopLocked(old) // the workers are done with its writer now
		seqs = streamSequences(r)
	}
	out := make([]ResultView, 0, len(ids))
	var started []*result
	for _, id := range ids {
		r, err := s.launchLocked(s.gens.Value(id), seqs)
		if err != nil {
			for _, r := range started {
				s.stopLocked(s.gens.Value(r.genID))
			}
			return nil, err
		}
		started = append(started, r)
	}
	for _, r := range started {
		out = append(out, s.resultViewLocked(r))
	}
	return out, nil
}

// streamSequences returns the next sequence number of every signature
// stream of a (stopped or running) result's writer.
func streamSequences(r *result) map[uint32]uint32 {
	out := map[uint32]uint32{}
	for _, sh := range r.shards {
		p := sh.prog
		for di := range p.Definitions {
			d := &p.Definitions[di]
			if d.Signature == nil {
				continue
			}
			for f := 0; f < d.FlowCount; f++ {
				out[d.StreamID(f)] = sh.src.w.seq[d.FlowOffset+f]
			}
		}
	}
	return out
}

// splitPacing gives shard i of a run split by flows its part of the rate
// and of a frame limit (the parts add up to the whole).
func splitPacing(p Pacing, lo, hi, flows int) Pacing {
	q := p
	q.Rate = p.Rate * float64(hi-lo) / float64(flows)
	total := p.limit()
	if total > 0 {
		part := func(x int) uint64 { return total * uint64(x) / uint64(flows) }
		q.Frames = part(hi) - part(lo)
	}
	return q
}

func (s *Service) launchLocked(g *gen, seqs map[uint32]uint32) (*result, error) {
	rate := g.spec.Rate
	if g.spec.RateOctets {
		rate /= g.prog.MeanFrameLen()
	}
	pacing := Pacing{Rate: rate, Burst: min(g.spec.Burst, packetio.TxBurstSize),
		Frames: g.spec.Frames, Duration: g.spec.Duration}
	r := &result{id: uuid.NewString(), genID: g.spec.ID, targetID: g.spec.TargetID, prog: g.prog,
		pacing: pacing, groups: g.spec.Counters, classes: classify(g.spec.Traffic),
		stopped: make(chan struct{})}
	if err := s.opts.Budget.Reserve(runHolder(r.genID, r.id), int64(g.flows)*runFlowBytes); err != nil {
		return nil, fmt.Errorf("%d flows: %w: %w", g.flows, err, ErrInvalid)
	}
	launched := false
	defer func() {
		if !launched {
			s.opts.Budget.Release(runHolder(r.genID, r.id))
		}
	}()
	// Spread the run over the workers' tx queues of the port: each takes
	// a block of flows, so every flow's packets stay in order.
	n := 1
	if tq, ok := s.dp.(TxQueues); ok {
		n = tq.TxQueues(g.target.PortID)
	}
	progs, offs := g.prog.Split(n)
	for i, sp := range progs {
		pc := pacing
		if len(progs) > 1 {
			hi := g.prog.Flows()
			if i+1 < len(offs) {
				hi = offs[i+1]
			}
			pc = splitPacing(pacing, offs[i], hi, g.prog.Flows())
		}
		src, err := NewSource(sp, s.pool, pc, s.opts.Now)
		if err != nil {
			return nil, err
		}
		if seqs != nil {
			for di := range sp.Definitions {
				d := &sp.Definitions[di]
				if d.Signature == nil {
					continue
				}
				for f := 0; f < d.FlowCount; f++ {
					if q, ok := seqs[d.StreamID(f)]; ok {
						src.w.SetSequence(d.FlowOffset+f, q)
					}
				}
			}
		}
		r.shards = append(r.shards, shard{prog: sp, src: src, off: offs[i]})
	}
	for i, sh := range r.shards {
		if err := s.dp.AddSource(g.target.PortID, sh.src); err != nil {
			for _, prev := range r.shards[:i] {
				s.dp.RemoveSource(prev.src)
			}
			return nil, fmt.Errorf("start generator %s on port %s: %w", g.spec.ID, g.target.PortID, err)
		}
	}
	g.active = r
	s.results.Add(r.id, r)
	launched = true
	go s.watch(g, r)
	return r, nil
}

// watch takes a finished run off the workers.
func (s *Service) watch(g *gen, r *result) {
	for _, sh := range r.shards {
		select {
		case <-sh.src.Done():
		case <-r.stopped:
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.active == r {
		s.stopLocked(g)
	}
}

// stopLocked ends a generator's run: once it returns no worker sends for
// it and its counters are final.
func (s *Service) stopLocked(g *gen) {
	r := g.active
	if r == nil {
		return
	}
	for _, sh := range r.shards {
		sh.src.Stop()
	}
	for _, sh := range r.shards {
		s.dp.RemoveSource(sh.src)
	}
	close(r.stopped)
	g.active = nil
}

// Stop stops generators; unknown and idle ones are ignored.
func (s *Service) Stop(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if g, ok := s.gens.Get(id); ok {
			s.stopLocked(g)
		}
	}
}

// StopOne stops one generator; unknown is an error.
func (s *Service) StopOne(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.gens.Get(id)
	if !ok {
		return fmt.Errorf("generator %s: %w", id, ErrNotFound)
	}
	s.stopLocked(g)
	return nil
}

// Close stops every generator.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.gens.All() {
		s.stopLocked(g)
		if g.learn != nil {
			g.learn.cancel()
		}
	}
}

// FlowCounters are transmit counters; octets include the FCS.
type FlowCounters struct {
	PacketsActual, PacketsIntended, PacketsDropped uint64
	OctetsActual, OctetsIntended, OctetsDropped    uint64
	Errors                                         uint64
	First, Last                                    time.Time
}

// ProtocolCounts are the protocol counters of transmitted packets, by
// group ("ethernet", "ip", "transport") and counter name.
type ProtocolCounts map[string]map[string]uint64

// Remaining says what is left of a run: Unit "indefinite", "frames" or
// "seconds".
type Remaining struct {
	Unit  string
	Value uint64
}

// ResultView is a result as the API shows it.
type ResultView struct {
	ID, GeneratorID, TargetID string
	Active                    bool
	Counters                  FlowCounters
	Flows                     int
	Protocol                  ProtocolCounts
	Remaining                 Remaining
}

func (s *Service) resultViewLocked(r *result) ResultView {
	sn := r.snapshot()
	c := sn.sum()
	active := false
	if g := s.gens.Value(r.genID); g != nil && g.active == r {
		active = true
	}
	p := r.prog
	fc := FlowCounters{
		PacketsActual: c.Actual, PacketsIntended: c.Intended, PacketsDropped: c.Dropped,
		OctetsActual: r.octets(sn, actual), OctetsIntended: r.octets(sn, intended),
		First: c.First, Last: c.Last,
	}
	fc.OctetsDropped = r.octets(sn, tried) - fc.OctetsActual
	v := ResultView{ID: r.id, GeneratorID: r.genID, TargetID: r.targetID, Active: active,
		Counters: fc, Flows: p.Flows(), Protocol: protocolCounts(r, sn)}
	switch {
	case r.pacing.Frames > 0:
		v.Remaining = Remaining{Unit: "frames", Value: r.pacing.Frames - min(r.pacing.Frames, c.Actual+c.Dropped)}
	case r.pacing.Duration > 0:
		left := r.pacing.Duration
		if !c.First.IsZero() {
			left -= time.Duration(s.opts.Now() - c.First.UnixNano())
		}
		if !active || left < 0 {
			left = 0
		}
		v.Remaining = Remaining{Unit: "seconds", Value: uint64(math.Ceil(left.Seconds()))}
	default:
		v.Remaining = Remaining{Unit: "indefinite"}
	}
	return v
}

// Results lists results, filtered by generator and/or target id.
func (s *Service) Results(genID, targetID string) []ResultView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ResultView
	for _, r := range s.results.All() {
		if (genID == "" || r.genID == genID) && (targetID == "" || r.targetID == targetID) {
			out = append(out, s.resultViewLocked(r))
		}
	}
	return out
}

// Result returns one result.
func (s *Service) Result(id string) (ResultView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.results.Get(id)
	if !ok {
		return ResultView{}, fmt.Errorf("generator result %s: %w", id, ErrNotFound)
	}
	return s.resultViewLocked(r), nil
}

// DeleteResult removes an inactive result; unknown ids are ignored.
func (s *Service) DeleteResult(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.results.Get(id)
	if !ok {
		return nil
	}
	if g := s.gens.Value(r.genID); g != nil && g.active == r {
		return fmt.Errorf("generator result %s is active; stop generator %s first: %w", id, r.genID, ErrInUse)
	}
	s.deleteResultLocked(r)
	return nil
}

// DeleteResults removes every inactive result.
func (s *Service) DeleteResults() {
	s.mu.Lock()
	ids := s.results.IDs()
	s.mu.Unlock()
	for _, id := range ids {
		_ = s.DeleteResult(id)
	}
}

// TxFlow is one flow of a result.
type TxFlow struct {
	ID, ResultID string
	StreamID     *uint32 // nil without signature
	Counters     FlowCounters
}

// FlowID names flow f of a result.
func FlowID(resultID string, f int) string { return resultID + "-" + strconv.Itoa(f) }

func parseFlowID(id string) (string, int, bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return "", 0, false
	}
	f, err := strconv.Atoi(id[i+1:])
	if err != nil || f < 0 || strconv.Itoa(f) != id[i+1:] {
		return "", 0, false
	}
	return id[:i], f, true
}

// protoClass is what one packet of a definition adds to the protocol
// counters.
type protoClass struct {
	eth, ip, transport string // counter names; "" adds nothing
}

func classify(defs []TrafficDefinition) []protoClass {
	out := make([]protoClass, len(defs))
	for i := range defs {
		var c protoClass
		vlans := 0
		l3 := false
		for _, h := range defs[i].Headers {
			switch h.Header.Kind() {
			case protocol.KindVLAN:
				vlans++
			case protocol.KindMPLS:
				if c.eth == "" {
					c.eth = "mpls"
				}
			case protocol.KindIPv4, protocol.KindIPv6:
				if l3 {
					continue // inner headers are not counted
				}
				l3 = true
				c.ip = "ipv4"
				if h.Header.Kind() == protocol.KindIPv6 {
					c.ip = "ipv6"
				}
				c.transport = "non_fragmented"
				if v4, ok := h.Header.(protocol.IPv4); ok && (v4.Flags&protocol.IPv4MoreFragments != 0 || v4.FragOffset != 0) {
					c.transport = "fragmented"
				}
			case protocol.KindUDP:
				if l3 && c.transport == "non_fragmented" {
					c.transport = "udp"
				}
			case protocol.KindTCP:
				if l3 && c.transport == "non_fragmented" {
					c.transport = "tcp"
				}
			}
		}
		switch {
		case c.eth != "":
		case vlans == 1:
			c.eth = "vlan"
		case vlans > 1:
			c.eth = "qinq"
		case l3:
			c.eth = "ip"
		}
		out[i] = c
	}
	return out
}

var protocolGroups = map[string][]string{
	"ethernet":  {"ip", "timesync", "arp", "lldp", "nsh", "vlan", "qinq", "pppoe", "fcoe", "mpls"},
	"ip":        {"ipv4", "ipv6"},
	"transport": {"tcp", "udp", "fragmented", "sctp", "icmp", "non_fragmented", "igmp"},
}

func protocolCounts(r *result, sn snapshot) ProtocolCounts {
	out := ProtocolCounts{}
	if len(r.groups) == 0 {
		return out
	}
	per := r.defPackets(sn, actual)
	for _, grp := range r.groups {
		names, ok := protocolGroups[grp]
		if !ok {
			continue
		}
		m := make(map[string]uint64, len(names))
		for _, n := range names {
			m[n] = 0
		}
		for i, c := range r.classes {
			var name string
			switch grp {
			case "ethernet":
				name = c.eth
			case "ip":
				name = c.ip
			case "transport":
				name = c.transport
			}
			if name != "" {
				m[name] += per[i]
			}
		}
		out[grp] = m
	}
	return out
}
