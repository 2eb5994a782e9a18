// Package tvlp replays time-varying load profiles (OpenPerf's TVLP): a
// series of packet generator configurations, each run on its target for
// its length of time, one after the other without a gap. The generators
// are the packet generator service's, reached through the Generators
// interface that cmd/openperfd fills in (packet modules do not import
// each other).
package tvlp

import (
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/openperfd/openperfd/packetio"
)

// Step is one step of a packet series.
type Step struct {
	TargetID string
	Length   time.Duration
	// Config is the generator configuration in the API's own form; only
	// Generators reads it.
	Config any
}

// Spec is a profile as the API hands it in.
type Spec struct {
	ID     string
	Packet []Step
}

// StepResult is what a step's generator did (or does, while it runs).
type StepResult struct {
	Packets, Octets uint64
	First, Last     time.Time // zero before the first packet
	// Opaque is the generator result in the API's own form.
	Opaque any
}

// Generators is what a replay needs of the packet generator service.
// Implementations must be safe for concurrent use.
type Generators interface {
	// Check validates a step's configuration without creating anything.
	Check(targetID string, config any) error
	// Create makes an idle generator with the step's configuration, its
	// rate and burst size multiplied by loadScale, that sends only from
	// from (zero: as soon as it starts) until to: started ahead of its
	// time, it waits on the worker and starts exactly on time.
	Create(id, targetID string, config any, loadScale float64, from, to time.Time) error
	// Start starts an idle generator.
	Start(id string) error
	// Stop stops a generator; its counters are final when it returns.
	Stop(id string)
	// Result is the latest result of a generator.
	Result(id string) (StepResult, bool)
	// Delete removes a generator and its results.
	Delete(id string)
}

// States of a profile, as the API spells them.
const (
	StateReady     = "ready"
	StateCountdown = "countdown"
	StateRunning   = "running"
	StateError     = "error"
)

// StartConfig says how to replay a profile.
type StartConfig struct {
	StartTime time.Time // zero or past: at once
	LoadScale float64   // 0 means 1
	TimeScale float64   // 0 means 1
}

// View is a profile as the API shows it.
type View struct {
	ID, State, Error string
	Start            time.Time // countdown and running
	Length           time.Duration
	Offset           time.Duration // running
	Spec             Spec
}

// ResultView is a replay's result as the API shows it.
type ResultView struct {
	ID, TvlpID string
	Active     bool
	Steps      []StepView
	Total      StepResult
}

// StepView is one step of a result.
type StepView struct {
	Index       int
	GeneratorID string
	StepResult
}

// Service keeps the profiles and their results and runs the replays.
// Safe for concurrent use.
type Service struct {
	gens  Generators
	clock Clock
	log   *zap.Logger
	grace time.Duration // StepGrace; tests of a fake clock set 0
	lead  time.Duration // StartLead; the same

	mu       sync.Mutex // guards everything below
	profiles map[string]*profile
	order    []string // profile ids, in creation order
	results  map[string]*replay
	rorder   []string // result ids, in creation order
}

// profile is one configuration and its current replay.
type profile struct {
	spec   Spec
	length time.Duration // unscaled
	state  string        // ready or error when no replay runs
	err    string
	cur    *replay // the running (or counting down) replay; nil when none
}

// NewService makes the TVLP service over the packet generators. clock
// nil is the wall clock.
func NewService(gens Generators, clock Clock, log *zap.Logger) *Service {
	if clock == nil {
		clock = WallClock{}
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Service{gens: gens, clock: clock, log: log, grace: StepGrace, lead: StartLead,
		profiles: map[string]*profile{}, results: map[string]*replay{}}
}

// ValidationError is a bad field of a profile or a start request; Path
// is the field's JSON path.
type ValidationError struct {
	Path, Msg string
}

func (e *ValidationError) Error() string { return e.Path + ": " + e.Msg }

// Is makes a ValidationError an API 400.
func (e *ValidationError) Is(target error) bool { return target == packetio.ErrInvalid }

func notFound(what, id string) error {
	return fmt.Errorf("%s %s: %w", what, id, packetio.ErrNotFound)
}

// Create checks a profile and keeps it, ready to start.
func (s *Service) Create(sp Spec) (View, error) {
	if len(sp.Packet) == 0 {
		return View{}, &ValidationError{Path: "profile", Msg: "no profile entries found (openperfd replays packet series)"}
	}
	var total time.Duration
	for i, st := range sp.Packet {
		p := fmt.Sprintf("profile.packet.series[%d]", i)
		if st.Length <= 0 {
			return View{}, &ValidationError{Path: p + ".length", Msg: fmt.Sprintf("%d ns: must be positive", st.Length)}
		}
		if st.TargetID == "" {
			return View{}, &ValidationError{Path: p + ".target_id", Msg: "required"}
		}
		if err := s.gens.Check(st.TargetID, st.Config); err != nil {
			return View{}, fmt.Errorf("%s.%w", p, err)
		}
		total += st.Length
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.profiles[sp.ID]; ok {
		return View{}, &ValidationError{Path: "id", Msg: fmt.Sprintf("tvlp configuration %s already exists", sp.ID)}
	}
	p := &profile{spec: sp, length: total, state: StateReady}
	s.profiles[sp.ID] = p
	s.order = append(s.order, sp.ID)
	return s.view(p), nil
}

// view shows a profile; s.mu held.
func (s *Service) view(p *profile) View {
	v := View{ID: p.spec.ID, State: p.state, Error: p.err, Length: p.length, Spec: p.spec}
	if r := p.cur; r != nil {
		v.State, v.Start, v.Length = r.state(s.clock.Now()), r.t0, r.length
		if v.State == StateRunning {
			v.Offset = s.clock.Now().Sub(r.t0)
		}
	}
	return v
}

// List shows every profile, in creation order.
func (s *Service) List() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.view(s.profiles[id]))
	}
	return out
}

// Get shows one profile.
func (s *Service) Get(id string) (View, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.profiles[id]
	if !ok {
		return View{}, notFound("tvlp configuration", id)
	}
	return s.view(p), nil
}

// Delete removes a profile that is not replaying; its results stay.
func (s *Service) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.profiles[id]
	if !ok {
		return notFound("tvlp configuration", id)
	}
	if p.cur != nil {
		return fmt.Errorf("tvlp configuration %s is %s: stop it first: %w", id, p.cur.state(s.clock.Now()), packetio.ErrInUse)
	}
	delete(s.profiles, id)
	s.order = remove(s.order, id)
	return nil
}

func remove(ids []string, id string) []string {
	for i, x := range ids {
		if x == id {
			return append(ids[:i], ids[i+1:]...)
		}
	}
	return ids
}

// Results shows every replay's result, in creation order.
func (s *Service) Results() []ResultView {
	s.mu.Lock()
	rs := make([]*replay, 0, len(s.rorder))
	for _, id := range s.rorder {
		rs = append(rs, s.results[id])
	}
	s.mu.Unlock()
	out := make([]ResultView, len(rs))
	for i, r := range rs {
		out[i] = r.view()
	}
	return out
}

// Result shows one replay's result.
func (s *Service) Result(id string) (ResultView, error) {
	s.mu.Lock()
	r, ok := s.results[id]
	s.mu.Unlock()
	if !ok {
		return ResultView{}, notFound("tvlp result", id)
	}
	return r.view(), nil
}

// DeleteResult removes the result of a replay that is over.
func (s *Service) DeleteResult(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.results[id]
	if !ok {
		return notFound("tvlp result", id)
	}
	if r.active() {
		return fmt.Errorf("tvlp result %s: its replay is still going: %w", id, packetio.ErrInUse)
	}
	delete(s.results, id)
	s.rorder = remove(s.rorder, id)
	return nil
}

// Close stops every replay.
func (s *Service) Close() {
	s.mu.Lock()
	var ids []string
	for id, p := range s.profiles {
		if p.cur != nil {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	for _, id := range ids {
		_ = s.Stop(id)
	}
}
