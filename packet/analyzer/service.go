package analyzer

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/registry"
	"github.com/openperfd/openperfd/packetio"
)

// Errors the API maps to status codes: ErrNotFound to 404, ErrInUse (and
// ErrInvalid) to 400.
var (
	ErrNotFound = errors.New("not found")
	ErrInUse    = errors.New("in use")
)

// Dataplane is what analyzers need from the workers.
type Dataplane interface {
	AddSink(portID string, s packetio.Sink)
	RemoveSink(portID string, s packetio.Sink)
}

// Source is where an analyzer's packets come from: a port, or an
// interface on one (then only frames to the interface's MAC count).
type Source struct {
	PortID    string
	Interface string // empty for a port
	MAC       [6]byte
}

// Sources looks up source ids (port or interface ids).
type Sources interface {
	Source(id string) (Source, error)
}

// Spec is an analyzer as the API hands it in.
type Spec struct {
	ID, SourceID string
	Config       Config
	Opaque       any // the API's own form of the config, handed back by Get
}

// Service owns the analyzers and their results. Safe for concurrent use.
type Service struct {
	dp      Dataplane
	sources Sources
	budget  *memory.Budget // flow tables; nil: unbounded

	mu      sync.Mutex
	ans     registry.Ordered[*entry]
	results registry.Ordered[*run]
}

type entry struct {
	spec   Spec
	source Source
	active *run
}

type run struct {
	id, analyzerID, sourceID, portID string
	a                                *Analyzer
}

// NewService makes the analyzer service. Each run reserves its flow
// table's worst case (its flow limit) in budget (nil: no limit) when it
// starts, shrinks that to the flows it has when it stops, and releases
// it when its result is deleted.
func NewService(dp Dataplane, sources Sources, budget *memory.Budget) *Service {
	return &Service{dp: dp, sources: sources, budget: budget}
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

// holder names a run in the budget (and in its refusals).
func (r *run) holder() string {
	return fmt.Sprintf("analyzer %s (result %s)", r.analyzerID, r.id)
}

// deleteResultLocked drops a result and releases its flow table.
func (s *Service) deleteResultLocked(r *run) {
	s.results.Delete(r.id)
	s.budget.Release(r.holder())
}

// View is an analyzer as the API shows it.
type View struct {
	ID, SourceID string
	Active       bool
	Opaque       any
}

func viewOf(e *entry) View {
	return View{ID: e.spec.ID, SourceID: e.spec.SourceID, Active: e.active != nil, Opaque: e.spec.Opaque}
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

func (s *Service) prepare(sp Spec) (*entry, error) {
	if sp.SourceID == "" {
		return nil, fmt.Errorf("source_id: required: %w", ErrInvalid)
	}
	src, err := s.sources.Source(sp.SourceID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("source_id: %q is neither a port nor an interface: %w", sp.SourceID, ErrInvalid)
		}
		return nil, fmt.Errorf("look up source %s: %w", sp.SourceID, err)
	}
	if _, err := New(sp.Config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if sp.ID == "" {
		sp.ID = uuid.NewString()
	}
	return &entry{spec: sp, source: src}, nil
}

// Create adds analyzers, all or none.
func (s *Service) Create(specs []Spec) ([]View, error) {
	es := make([]*entry, len(specs))
	for i, sp := range specs {
		e, err := s.prepare(sp)
		if err != nil {
			if len(specs) > 1 {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			return nil, err
		}
		es[i] = e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	newIDs := make([]string, len(es))
	for i, e := range es {
		newIDs[i] = e.spec.ID
	}
	if err := s.ans.AddAll(newIDs, es); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrInUse)
	}
	out := make([]View, len(es))
	for i, e := range es {
		out[i] = viewOf(e)
	}
	return out, nil
}

// List returns the analyzers, of one source if sourceID is set.
func (s *Service) List(sourceID string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, e := range s.ans.All() {
		if sourceID == "" || e.spec.SourceID == sourceID {
			out = append(out, viewOf(e))
		}
	}
	return out
}

// Get returns one analyzer.
func (s *Service) Get(id string) (View, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.ans.Get(id)
	if !ok {
		return View{}, fmt.Errorf("analyzer %s: %w", id, ErrNotFound)
	}
	return viewOf(e), nil
}

// Delete removes inactive analyzers and their results; unknown ids are
// ignored. With strict an active analyzer is an error.
func (s *Service) Delete(ids []string, strict bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		e, ok := s.ans.Get(id)
		if !ok {
			continue
		}
		if e.active != nil {
			if strict {
				return fmt.Errorf("analyzer %s is running; stop it first: %w", id, ErrInUse)
			}
			continue
		}
		s.ans.Delete(id)
		s.results.DeleteFunc(func(r *run) bool {
			if r.analyzerID != id {
				return false
			}
			s.budget.Release(r.holder())
			return true
		})
	}
	return nil
}

// DeleteAll removes every inactive analyzer.
func (s *Service) DeleteAll() {
	s.mu.Lock()
	ids := s.ans.IDs()
	s.mu.Unlock()
	_ = s.Delete(ids, false)
}

// Start starts analyzers, all or none, each with a new result.
func (s *Service) Start(ids []string) ([]ResultView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, id := range ids {
		e, ok := s.ans.Get(id)
		switch {
		case !ok:
			return nil, fmt.Errorf("analyzer %s: %w", id, ErrNotFound)
		case e.active != nil:
			return nil, fmt.Errorf("analyzer %s is already running: %w", id, ErrInUse)
		case seen[id]:
			return nil, fmt.Errorf("ids: %s is listed twice: %w", id, ErrInvalid)
		}
		seen[id] = true
		src, err := s.sources.Source(e.spec.SourceID)
		if err != nil {
			return nil, fmt.Errorf("analyzer %s: source %s: %v: %w", id, e.spec.SourceID, err, ErrInvalid)
		}
		e.source = src
	}
	runs := make([]*run, 0, len(ids))
	for _, id := range ids {
		r, err := s.launchLocked(s.ans.Value(id))
		if err != nil {
			for _, r := range runs { // all or none
				s.stopLocked(s.ans.Value(r.analyzerID))
				s.deleteResultLocked(r)
			}
			return nil, err
		}
		runs = append(runs, r)
	}
	out := make([]ResultView, len(runs))
	for i, r := range runs {
		out[i] = resultView(r)
	}
	return out, nil
}

func (s *Service) launchLocked(e *entry) (*run, error) {
	cfg := e.spec.Config
	if e.source.Interface != "" {
		cfg.Filter = macFilter{mac: e.source.MAC, inner: cfg.Filter}
	}
	a, err := New(cfg)
	if err != nil {
		return nil, err
	}
	r := &run{id: uuid.NewString(), analyzerID: e.spec.ID, sourceID: e.spec.SourceID, portID: e.source.PortID, a: a}
	if err := s.budget.Reserve(r.holder(), int64(a.cfg.FlowLimit)*FlowBytes(a.cfg)); err != nil {
		return nil, fmt.Errorf("flow table of %d flows: %w: %w", a.cfg.FlowLimit, err, ErrInvalid)
	}
	a.Start()
	s.dp.AddSink(r.portID, a)
	e.active = r
	s.results.Add(r.id, r)
	return r, nil
}

func (s *Service) stopLocked(e *entry) {
	r := e.active
	if r == nil {
		return
	}
	s.dp.RemoveSink(r.portID, r.a)
	r.a.Stop()
	e.active = nil
	// A stopped table grows no more: keep only what it holds (shrinking
	// cannot fail), so stopped results do not pin their flow limit.
	_ = s.budget.Reserve(r.holder(), r.a.nflows.Load()*FlowBytes(r.a.cfg))
}

// Stop stops analyzers; unknown and idle ones are ignored.
func (s *Service) Stop(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if e, ok := s.ans.Get(id); ok {
			s.stopLocked(e)
		}
	}
}

// StopOne stops one analyzer; unknown is an error.
func (s *Service) StopOne(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.ans.Get(id)
	if !ok {
		return fmt.Errorf("analyzer %s: %w", id, ErrNotFound)
	}
	s.stopLocked(e)
	return nil
}

// Reset gives a running analyzer a new result; the old one keeps its
// counters.
func (s *Service) Reset(id string) (ResultView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.ans.Get(id)
	if !ok {
		return ResultView{}, fmt.Errorf("analyzer %s: %w", id, ErrNotFound)
	}
	if e.active == nil {
		return ResultView{}, fmt.Errorf("analyzer %s is not running: %w", id, ErrInUse)
	}
	s.stopLocked(e)
	r, err := s.launchLocked(e)
	if err != nil {
		return ResultView{}, err
	}
	return resultView(r), nil
}

// Close stops every analyzer.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.ans.All() {
		s.stopLocked(e)
	}
}

// ResultView is a result as the API shows it.
type ResultView struct {
	ID, AnalyzerID, SourceID string
	Results                  Results
}

func resultView(r *run) ResultView {
	return ResultView{ID: r.id, AnalyzerID: r.analyzerID, SourceID: r.sourceID, Results: r.a.Results()}
}

// Results lists results, filtered by analyzer and/or source id.
func (s *Service) Results(analyzerID, sourceID string) []ResultView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ResultView
	for _, r := range s.results.All() {
		if (analyzerID == "" || r.analyzerID == analyzerID) && (sourceID == "" || r.sourceID == sourceID) {
			out = append(out, resultView(r))
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
		return ResultView{}, fmt.Errorf("analyzer result %s: %w", id, ErrNotFound)
	}
	return resultView(r), nil
}

// DeleteResult removes an inactive result; unknown ids are ignored.
func (s *Service) DeleteResult(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.results.Get(id)
	if !ok {
		return nil
	}
	if e := s.ans.Value(r.analyzerID); e != nil && e.active == r {
		return fmt.Errorf("analyzer result %s is active; stop analyzer %s first: %w", id, r.analyzerID, ErrInUse)
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
	s.mu.Lock()
	var runs []*run
	for _, r := range s.results.All() {
		if (analyzerID == "" || r.analyzerID == analyzerID) && (sourceID == "" || r.sourceID == sourceID) {
			runs = append(runs, r)
		}
	}
	s.mu.Unlock()
	return func(yield func(RxFlow) bool) {
		for _, r := range runs {
			res := r.a.Results()
			for _, f := range res.Flows {
				if !yield(RxFlow{ID: FlowID(r.id, f.Key), ResultID: r.id, Flow: f}) {
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
	return RxFlow{}, fmt.Errorf("rx flow %s: %w", id, ErrNotFound)
}
