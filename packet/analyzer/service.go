package analyzer

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"iter"
	"math/bits"
	"slices"
	"strings"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/resource"
	"github.com/openperfd/openperfd/packetio"
)

// Spec is an analyzer as the API hands it in.
type Spec struct {
	ID, SourceID string
	Config       Config
	Opaque       any // the API's own form of the config, handed back by Get
}

// Service owns the analyzers and their results. Their lifecycle (create,
// list, get, delete, start, stop, results) is the embedded
// resource.Lifecycle's, with an analyzer's hooks. Safe for concurrent
// use.
type Service struct {
	*resource.Lifecycle[Spec, *entry, *run, View, ResultView]
	dp packetio.Sinks
	// linkSpeed returns a port's link speed in Mbps (0: unknown), read
	// when a run starts; nil: unknown. Set before use (SetLinkSpeed).
	linkSpeed func(portID string) int64
}

// SetLinkSpeed sets how runs learn their port's link speed, which spaces
// the receive times of a burst's frames (Config.LinkSpeedMbps). Call it
// before the service is used.
func (s *Service) SetLinkSpeed(f func(portID string) int64) { s.linkSpeed = f }

type item = resource.Item[*entry, *run]

type entry struct {
	spec Spec
	cfg  Config // spec.Config with its defaults
}

type run struct {
	a      *Analyzer
	portID string // where its sink is
}

// NewService makes the analyzer service over sources (port and interface
// ids). Each run reserves its flow table's worst case (its flow limit) in
// budget (nil: no limit) when it starts, shrinks that to the flows it has
// when it stops, and releases it when its result is deleted.
func NewService(dp packetio.Sinks, sources resource.Endpoints, budget *memory.Budget) *Service {
	s := &Service{dp: dp}
	s.Lifecycle = resource.New(resource.Hooks[Spec, *entry, *run, View, ResultView]{
		Kind: "analyzer", Endpoint: "source", ErrInvalid: ErrInvalid,
		IDs:   func(sp Spec) (string, string) { return sp.ID, sp.SourceID },
		Build: newEntry,
		RunBytes: func(it *item) (int64, string) {
			c := it.State.cfg
			return int64(c.FlowLimit) * FlowBytes(c), fmt.Sprintf("flow table of %d flows", c.FlowLimit)
		},
		Launch: s.launch,
		Stop: func(_ *item, r *run) {
			s.dp.RemoveSink(r.portID, r.a)
			r.a.Stop()
		},
		// A stopped table grows no more: keep only what it holds, so
		// stopped results do not pin their flow limit.
		Holds: func(r *run) int64 { return r.a.nflows.Load() * FlowBytes(r.a.cfg) },
		View: func(it *item, active bool) View {
			return View{ID: it.ID, SourceID: it.EndpointID, Active: active, Opaque: it.State.spec.Opaque}
		},
		ResultView: func(r *resource.Run[*entry, *run], _ bool) ResultView {
			return ResultView{ID: r.ID, AnalyzerID: r.Item.ID, SourceID: r.Item.EndpointID, Results: r.State.a.Results()}
		},
	}, sources, budget)
	return s
}

// Estimates of what a tracked flow costs: the flow, its map entry, its
// first frame's headers and the copy Results makes, and per digest a
// DDSketch's dense stores (65536 flows with a latency digest measured
// 0.88 GB of daemon RSS).
const (
	flowBytes   = 1 << 10
	digestBytes = 12 << 10
)

// FlowBytes is the memory budgeted per flow of an analyzer with cfg.
func FlowBytes(cfg Config) int64 {
	return flowBytes + int64(bits.OnesCount8(uint8(cfg.FlowDigests)))*digestBytes
}

// View is an analyzer as the API shows it.
type View struct {
	ID, SourceID string
	Active       bool
	Opaque       any
}

// macFilter passes frames to one MAC address (an interface's) that the
// inner filter, if any, also passes.
type macFilter struct {
	mac   [6]byte
	inner Filter
}

func (f macFilter) Match(frame []byte) bool {
	if len(frame) < 6 || [6]byte(frame[:6]) != f.mac {
		return false
	}
	return f.inner == nil || f.inner.Match(frame)
}

// newEntry checks an analyzer's config.
func newEntry(sp Spec, _ resource.Endpoint) (*entry, error) {
	a, err := New(sp.Config)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &entry{spec: sp, cfg: a.Config()}, nil
}

// launch starts an analyzer on its source: on an interface, only frames
// to the interface's MAC count.
func (s *Service) launch(it *item, _ string, _ *resource.Run[*entry, *run]) (*run, error) {
	cfg := it.State.cfg
	if it.Endpoint.Interface != "" {
		cfg.Filter = macFilter{mac: it.Endpoint.MAC, inner: cfg.Filter}
	}
	if s.linkSpeed != nil {
		cfg.LinkSpeedMbps = max(0, s.linkSpeed(it.Endpoint.PortID))
	}
	a, err := New(cfg)
	if err != nil {
		return nil, err
	}
	r := &run{a: a, portID: it.Endpoint.PortID}
	a.Start()
	s.dp.AddSink(r.portID, a)
	return r, nil
}

// ResultView is a result as the API shows it.
type ResultView struct {
	ID, AnalyzerID, SourceID string
	Results                  Results
}

// RxFlow is one flow of a result.
type RxFlow struct {
	ID, ResultID string
	Flow         FlowResult
}

// FlowID names a flow of a result by its key, so the id stays the same
// while the result runs: "<result>-s<port>-<stream>" for signed flows,
// "<result>-u<hex key>" for others.
func FlowID(resultID string, k FlowKey) string {
	if k.Signed {
		return fmt.Sprintf("%s-s%d-%d", resultID, k.Port, k.StreamID)
	}
	var b [2 + 1 + 2 + 1 + 1 + 32 + 4]byte
	binary.BigEndian.PutUint16(b[0:], k.Port)
	if k.HasVLAN {
		b[2] = 1
	}
	binary.BigEndian.PutUint16(b[3:], k.VLAN)
	b[5], b[6] = k.IP, k.Proto
	copy(b[7:], k.Src[:])
	copy(b[23:], k.Dst[:])
	binary.BigEndian.PutUint16(b[39:], k.SrcPort)
	binary.BigEndian.PutUint16(b[41:], k.DstPort)
	return resultID + "-u" + hex.EncodeToString(b[:])
}

// RxFlows lists the flows of results, filtered by analyzer and/or source.
func (s *Service) RxFlows(analyzerID, sourceID string) []RxFlow {
	return slices.Collect(s.RxFlowSeq(analyzerID, sourceID))
}

// RxFlowSeq yields the flows of results, filtered by analyzer and/or
// source, one result at a time: only one result's flows (at most its flow
// limit) are copied at once, and the service's lock is not held while the
// caller consumes them (a slow HTTP client must not stall other requests).
func (s *Service) RxFlowSeq(analyzerID, sourceID string) iter.Seq[RxFlow] {
	runs := s.Runs(analyzerID, sourceID)
	return func(yield func(RxFlow) bool) {
		for _, r := range runs {
			res := r.State.a.Results()
			for _, f := range res.Flows {
				if !yield(RxFlow{ID: FlowID(r.ID, f.Key), ResultID: r.ID, Flow: f}) {
					return
				}
			}
		}
	}
}

// RxFlow returns one flow.
func (s *Service) RxFlow(id string) (RxFlow, error) {
	// Result ids are UUIDs (hex and '-'), so the last "-s" or "-u" starts
	// the flow part.
	i := max(strings.LastIndex(id, "-s"), strings.LastIndex(id, "-u"))
	if i > 0 {
		if r, err := s.Result(id[:i]); err == nil {
			for _, f := range r.Results.Flows {
				if FlowID(r.ID, f.Key) == id {
					return RxFlow{ID: id, ResultID: r.ID, Flow: f}, nil
				}
			}
		}
	}
	return RxFlow{}, fmt.Errorf("rx flow %s: %w", id, packetio.ErrNotFound)
}
