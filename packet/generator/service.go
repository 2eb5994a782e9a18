package generator

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/resource"
	"github.com/openperfd/openperfd/packetio"
)

// Dataplane is what generators need from the workers.
type Dataplane interface {
	AddSource(portID string, s packetio.Source) error
	RemoveSource(s packetio.Source)
}

// TxQueues is implemented by a Dataplane that can tell how many workers
// have a tx queue on a port, so one generator can spread over them.
type TxQueues interface {
	TxQueues(portID string) int
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
	// StartAt and StopAt, when set, confine a run to a window of time on
	// the service's clock: started before StartAt it sends nothing until
	// then and paces from StartAt; at StopAt it ends (TVLP steps).
	StartAt, StopAt time.Time
	// Counters lists the protocol counter groups to report, by OpenPerf's
	// names ("ethernet", "ip", "transport", "tunnel", "inner_...").
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
	// LinkSpeed returns a port's link speed in Mbps (0: unknown), read
	// when a run starts: Spirent timestamps space a burst's frames by
	// their wire time at that speed. nil: no spacing.
	LinkSpeed func(portID string) int64
	// LearnTimeout bounds one resolution; 0: 4 s (gVisor probes 3 times,
	// 1 s apart).
	LearnTimeout time.Duration
	// Budget bounds the flow tables (nil: no limit): a generator's
	// compiled flows are reserved at create, each run's per-flow state at
	// start, until the generator or the result is deleted.
	Budget *memory.Budget
	// Jumbo is the pool of runs whose frames are longer than the
	// service's pool's buffers hold (memory.DefaultBufSize less the
	// headroom); nil: none, and the targets' MaxFrameLen must keep
	// frames within those buffers.
	Jumbo packetio.Pool
	// Recycle is the driver's recycle pool (packetio.RecyclePools) for
	// rings of recycled frames; nil: none, and rings come from the pool
	// with references (Source.SetRecyclePool).
	Recycle packetio.RecyclePool
}

// What one flow costs, measured with 1M flows: the compiled program ~12
// bytes (held by the generator and shared by its runs), a run's writer ~4
// (its sequence numbers), both rounded up.
const (
	progFlowBytes = 16
	runFlowBytes  = 8
)

// Service owns the generators and their results. Their lifecycle
// (create, list, get, delete, start, stop, results) is the embedded
// resource.Lifecycle's, with a generator's hooks: flows budgeted at
// create, destinations learnt in the background, a run split over the
// port's tx queues. Safe for concurrent use.
type Service struct {
	*resource.Lifecycle[Spec, *gen, *result, View, ResultView]
	dp   Dataplane
	pool packetio.Pool
	opts Options
}

type item = resource.Item[*gen, *result]

// gen is a generator's state. prog changes when learning completes, under
// the lifecycle's lock.
type gen struct {
	spec  Spec
	prog  *Program // compiled with the addresses known so far
	flows int
	learn *learning // nil: nothing to learn
}

// NewService makes the generator service over targets (port and
// interface ids).
func NewService(dp Dataplane, pool packetio.Pool, targets resource.Endpoints, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = func() int64 { return time.Now().UnixNano() }
	}
	if opts.LearnTimeout <= 0 {
		opts.LearnTimeout = 4 * time.Second
	}
	s := &Service{dp: dp, pool: pool, opts: opts}
	s.Lifecycle = resource.New(resource.Hooks[Spec, *gen, *result, View, ResultView]{
		Kind: "generator", Endpoint: "target", ErrInvalid: ErrInvalid,
		Invalid: func(field, msg string) error { return &ValidationError{Path: field, Msg: msg} },
		IDs:     func(sp Spec) (string, string) { return sp.ID, sp.TargetID },
		Build:   s.prepare,
		ItemBytes: func(g *gen) (int64, string) {
			return int64(g.flows) * progFlowBytes, fmt.Sprintf("%d flows", g.flows)
		},
		Created: func(it *item) {
			if it.State.learn != nil {
				s.startLearning(it, false)
			}
		},
		Release: func(it *item) {
			if it.State.learn != nil {
				it.State.learn.cancel()
			}
		},
		Await: s.awaitLearning,
		Check: checkLearnt,
		RunBytes: func(it *item) (int64, string) {
			g := it.State
			return int64(g.flows) * runFlowBytes, fmt.Sprintf("%d flows", g.flows)
		},
		Launch:     s.launch,
		Stop:       s.stop,
		View:       viewOf,
		ResultView: func(r *resource.Run[*gen, *result], active bool) ResultView { return r.State.view(s.opts.Now, active) },
	}, targets, opts.Budget)
	return s
}

// Toggle stops the running generator replace and starts the idle one
// with in its place; signature streams the two share continue their
// sequence numbers.
func (s *Service) Toggle(ctx context.Context, replace, with string) (ResultView, error) {
	return s.Replace(ctx, replace, with)
}

// View is a generator as the API shows it.
type View struct {
	ID, TargetID string
	Active       bool
	Learning     string
	Flows        int
	Opaque       any
}

func viewOf(it *item, active bool) View {
	g := it.State
	state := LearningUnsupported
	if it.Endpoint.Interface != "" {
		state = LearningResolved
	}
	if g.learn != nil {
		state = g.learn.state()
	}
	return View{ID: it.ID, TargetID: it.EndpointID, Active: active,
		Learning: state, Flows: g.flows, Opaque: g.spec.Opaque}
}

func invalidf(path, format string, a ...any) error {
	return &ValidationError{Path: path, Msg: fmt.Sprintf(format, a...)}
}

// prepare checks a spec and compiles it without learnt addresses.
func (s *Service) prepare(sp Spec, t resource.Endpoint) (*gen, error) {
	switch {
	case !(sp.Rate > 0) || math.IsInf(sp.Rate, 0):
		return nil, invalidf("config.load.rate.value", "must be positive")
	case sp.Burst < 1:
		return nil, invalidf("config.load.burst_size", "must be at least 1")
	case sp.Frames > 0 && sp.Duration > 0:
		return nil, invalidf("config.duration", "only one of continuous, frames and time may be set")
	}
	g := &gen{spec: sp}
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
					return nil, invalidf(fmt.Sprintf("config.traffic[%d].length", i), "%d is longer than the %d bytes (FCS included) port %s takes", l, t.MaxFrameLen, t.PortID)
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

// launch starts a run of a generator on its target's port, spread over
// the workers' tx queues; from is the run of a toggle's replaced
// generator, whose stream sequences it continues.
func (s *Service) launch(it *item, resultID string, from *resource.Run[*gen, *result]) (*result, error) {
	g := it.State
	var seqs map[uint32]uint32
	if from != nil {
		seqs = streamSequences(from.State) // the workers are done with its writer
	}
	rate := g.spec.Rate
	if g.spec.RateOctets {
		rate /= g.prog.MeanFrameLen()
	}
	pacing := Pacing{Rate: rate, Burst: min(g.spec.Burst, packetio.TxBurstSize),
		Frames: g.spec.Frames, Duration: g.spec.Duration}
	if !g.spec.StartAt.IsZero() {
		pacing.StartAt = g.spec.StartAt.UnixNano()
	}
	if !g.spec.StopAt.IsZero() {
		pacing.StopAt = g.spec.StopAt.UnixNano()
	}
	r := &result{id: resultID, genID: it.ID, targetID: it.EndpointID, prog: g.prog,
		pacing: pacing, groups: g.spec.Counters, classes: classify(g.spec.Traffic),
		stopped: make(chan struct{})}
	// Spread the run over the workers' tx queues of the port: each takes
	// a block of flows, so every flow's packets stay in order.
	n := 1
	if tq, ok := s.dp.(TxQueues); ok {
		n = tq.TxQueues(it.Endpoint.PortID)
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
		pool, jumbo := s.pool, false
		if sp.MaxFrameLen() > memory.DefaultBufSize-packetio.MbufHeadroom && s.opts.Jumbo != nil {
			pool, jumbo = s.opts.Jumbo, true
		}
		src, err := NewSource(sp, pool, pc, s.opts.Now)
		if err != nil {
			return nil, err
		}
		if jumbo {
			src.PullOnly()
		} else {
			src.SetRecyclePool(s.opts.Recycle)
		}
		if s.opts.LinkSpeed != nil {
			src.SetLinkSpeed(s.opts.LinkSpeed(it.Endpoint.PortID))
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
		if err := s.dp.AddSource(it.Endpoint.PortID, sh.src); err != nil {
			for _, prev := range r.shards[:i] {
				s.dp.RemoveSource(prev.src)
			}
			return nil, fmt.Errorf("start generator %s on port %s: %w", it.ID, it.Endpoint.PortID, err)
		}
	}
	go s.watch(r)
	return r, nil
}

// watch takes a run that finished by itself (its frames or time done) off
// the workers.
func (s *Service) watch(r *result) {
	for _, sh := range r.shards {
		select {
		case <-sh.src.Done():
		case <-r.stopped:
			return
		}
	}
	s.Finish(r.id)
}

// stop ends a generator's run: once it returns no worker sends for it and
// its counters are final.
func (s *Service) stop(_ *item, r *result) {
	for _, sh := range r.shards {
		sh.src.Stop()
	}
	for _, sh := range r.shards {
		s.dp.RemoveSource(sh.src)
	}
	close(r.stopped)
}

// checkLearnt refuses to start a generator whose destinations are not
// all learnt.
func checkLearnt(it *item) error {
	if l := it.State.learn; l != nil {
		if st := l.state(); st != LearningResolved {
			return invalidf("learning", "generator %s cannot start: learning is %s%s", it.ID, st, l.errSuffix())
		}
	}
	return nil
}
