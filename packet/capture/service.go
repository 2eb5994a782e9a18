package capture

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/google/uuid"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/registry"
	"github.com/openperfd/openperfd/packetio"
)

// Errors the API maps to status codes: ErrNotFound to 404, ErrInUse (and
// ErrInvalid, ErrActive) to 400.
var (
	ErrNotFound = errors.New("not found")
	ErrInUse    = errors.New("in use")
)

// Dataplane is what captures need from the workers: rx sinks, and (for
// tx and rx_and_tx captures) taps that see what a port transmits.
type Dataplane interface {
	AddSink(portID string, s packetio.Sink)
	RemoveSink(portID string, s packetio.Sink)
}

// TxTapper is implemented by a Dataplane that can show transmitted
// packets to a sink.
type TxTapper interface {
	AddTxTap(portID string, s packetio.Sink)
	RemoveTxTap(portID string, s packetio.Sink)
}

// Source is where a capture's packets come from: a port, or an interface
// on one (then only frames to or from the interface's MAC).
type Source struct {
	PortID    string
	Interface string
	MAC       [6]byte
}

// Sources looks up source ids (port or interface ids).
type Sources interface {
	Source(id string) (Source, error)
}

// Spec is a capture as the API hands it in.
type Spec struct {
	ID, SourceID string
	Config       Config
	Opaque       any // the API's own form, handed back by Get
}

// Service owns the captures and their results. Safe for concurrent use.
type Service struct {
	dp      Dataplane
	sources Sources
	budget  *memory.Budget // capture buffers; nil: unbounded

	mu      sync.Mutex
	caps    registry.Ordered[*entry]
	results registry.Ordered[*capRun]
}

type entry struct {
	spec   Spec
	source Source
	active *capRun
}

type capRun struct {
	id, captureID, sourceID, portID string
	c                               *Capture
	rx, tx                          packetio.Sink // what was registered
}

// NewService makes the capture service. Each run's buffer is reserved
// in budget (nil: no limit) when it starts and released when its result
// is deleted (a stopped run keeps its packets for download).
func NewService(dp Dataplane, sources Sources, budget *memory.Budget) *Service {
	return &Service{dp: dp, sources: sources, budget: budget}
}

// budgetHolder names a run in the budget (and in its refusals).
func budgetHolder(captureID, resultID string) string {
	return fmt.Sprintf("capture %s (result %s)", captureID, resultID)
}

// deleteResultLocked drops a result and releases its buffer.
func (s *Service) deleteResultLocked(r *capRun) {
	s.results.Delete(r.id)
	s.budget.Release(budgetHolder(r.captureID, r.id))
}

// View is a capture as the API shows it.
type View struct {
	ID, SourceID string
	Direction    Direction
	Active       bool
	Opaque       any
}

func (s *Service) viewLocked(e *entry) View {
	active := e.active != nil && e.active.c.Active()
	return View{ID: e.spec.ID, SourceID: e.spec.SourceID, Direction: e.spec.Config.Direction, Active: active, Opaque: e.spec.Opaque}
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
	if sp.Config.Direction == 0 {
		sp.Config.Direction = DirRx
	}
	if sp.Config.Direction&DirTx != 0 {
		if _, ok := s.dp.(TxTapper); !ok {
			return nil, fmt.Errorf("direction: %s: capturing transmitted packets is not supported yet (use rx): %w", sp.Config.Direction, ErrInvalid)
		}
	}
	cfg := sp.Config
	cfg.Name = sp.SourceID
	// Validate without keeping the buffer: a capture allocates it when it
	// starts.
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if sp.ID == "" {
		sp.ID = uuid.NewString()
	}
	sp.Config = cfg
	return &entry{spec: sp, source: src}, nil
}

// Create adds captures, all or none.
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
	if err := s.caps.AddAll(newIDs, es); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrInUse)
	}
	out := make([]View, len(es))
	for i, e := range es {
		out[i] = s.viewLocked(e)
	}
	return out, nil
}

// List returns the captures, of one source if sourceID is set.
func (s *Service) List(sourceID string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, e := range s.caps.All() {
		if sourceID == "" || e.spec.SourceID == sourceID {
			out = append(out, s.viewLocked(e))
		}
	}
	return out
}

// Get returns one capture.
func (s *Service) Get(id string) (View, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.caps.Get(id)
	if !ok {
		return View{}, fmt.Errorf("capture %s: %w", id, ErrNotFound)
	}
	return s.viewLocked(e), nil
}

// Delete removes inactive captures and their results; unknown ids are
// ignored. With strict an active capture is an error.
func (s *Service) Delete(ids []string, strict bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		e, ok := s.caps.Get(id)
		if !ok {
			continue
		}
		if e.active != nil && e.active.c.Active() {
			if strict {
				return fmt.Errorf("capture %s is running; stop it first: %w", id, ErrInUse)
			}
			continue
		}
		s.stopLocked(e)
		s.caps.Delete(id)
		s.results.DeleteFunc(func(r *capRun) bool {
			if r.captureID != id {
				return false
			}
			s.budget.Release(budgetHolder(r.captureID, r.id))
			return true
		})
	}
	return nil
}

// DeleteAll removes every inactive capture.
func (s *Service) DeleteAll() {
	s.mu.Lock()
	ids := s.caps.IDs()
	s.mu.Unlock()
	_ = s.Delete(ids, false)
}

// macSink passes on frames to or from one MAC address (an interface's).
type macSink struct {
	mac  [6]byte
	push func(port uint16, pkts []*packetio.Mbuf)
	buf  []*packetio.Mbuf
	mu   sync.Mutex
}

func (m *macSink) Push(port uint16, pkts []*packetio.Mbuf) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf = m.buf[:0]
	for _, p := range pkts {
		if d := p.Data(); len(d) >= 12 && ([6]byte(d[:6]) == m.mac || [6]byte(d[6:12]) == m.mac) {
			m.buf = append(m.buf, p)
		}
	}
	if len(m.buf) > 0 {
		m.push(port, m.buf)
	}
}

// Start starts captures, all or none, each into a new result.
func (s *Service) Start(ids []string) ([]ResultView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, id := range ids {
		e, ok := s.caps.Get(id)
		switch {
		case !ok:
			return nil, fmt.Errorf("capture %s: %w", id, ErrNotFound)
		case e.active != nil && e.active.c.Active():
			return nil, fmt.Errorf("capture %s is already running: %w", id, ErrInUse)
		case seen[id]:
			return nil, fmt.Errorf("ids: %s is listed twice: %w", id, ErrInvalid)
		}
		seen[id] = true
		src, err := s.sources.Source(e.spec.SourceID)
		if err != nil {
			return nil, fmt.Errorf("capture %s: source %s: %v: %w", id, e.spec.SourceID, err, ErrInvalid)
		}
		e.source = src
	}
	// Reserve every buffer before allocating any: all or none, and a
	// refusal costs nothing (OpenPerf accepts a 1 TiB buffer at create
	// and refuses it here).
	runIDs := make([]string, len(ids))
	for i, id := range ids {
		runIDs[i] = uuid.NewString()
		cfg := s.caps.Value(id).spec.Config
		if err := s.budget.Reserve(budgetHolder(id, runIDs[i]), cfg.Footprint()); err != nil {
			for j := range i {
				s.budget.Release(budgetHolder(ids[j], runIDs[j]))
			}
			return nil, fmt.Errorf("config.buffer_size %d: %w: %w", cfg.BufferSize, err, ErrInvalid)
		}
	}
	out := make([]ResultView, 0, len(ids))
	for i, id := range ids {
		e := s.caps.Value(id)
		s.stopLocked(e) // a previous run that stopped by itself is still registered
		c, err := New(e.spec.Config)
		if err == nil {
			err = c.Start()
		}
		if err != nil {
			for j := i; j < len(ids); j++ {
				s.budget.Release(budgetHolder(ids[j], runIDs[j]))
			}
			return nil, fmt.Errorf("capture %s: %w", id, err)
		}
		r := &capRun{id: runIDs[i], captureID: id, sourceID: e.spec.SourceID, portID: e.source.PortID, c: c}
		r.rx, r.tx = c, &txSink{c}
		if e.source.Interface != "" {
			r.rx = &macSink{mac: e.source.MAC, push: c.Push}
			r.tx = &macSink{mac: e.source.MAC, push: c.PushTx}
		}
		if c.cfg.Direction&DirRx != 0 {
			s.dp.AddSink(r.portID, r.rx)
		}
		if c.cfg.Direction&DirTx != 0 {
			s.dp.(TxTapper).AddTxTap(r.portID, r.tx)
		}
		e.active = r
		s.results.Add(r.id, r)
		out = append(out, resultView(r))
	}
	return out, nil
}

// txSink hands a capture the frames a port is about to send. A pointer:
// the workers find a sink to remove by comparing it, and a func value
// cannot be compared.
type txSink struct{ c *Capture }

func (t *txSink) Push(port uint16, pkts []*packetio.Mbuf) { t.c.PushTx(port, pkts) }

// stopLocked stops a capture's run and takes it off the workers.
func (s *Service) stopLocked(e *entry) {
	r := e.active
	if r == nil {
		return
	}
	r.c.Stop()
	if r.c.cfg.Direction&DirRx != 0 {
		s.dp.RemoveSink(r.portID, r.rx)
	}
	if r.c.cfg.Direction&DirTx != 0 {
		s.dp.(TxTapper).RemoveTxTap(r.portID, r.tx)
	}
	e.active = nil
}

// Stop stops captures; unknown and idle ones are ignored.
func (s *Service) Stop(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if e, ok := s.caps.Get(id); ok {
			s.stopLocked(e)
		}
	}
}

// StopOne stops one capture; unknown is an error.
func (s *Service) StopOne(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.caps.Get(id)
	if !ok {
		return fmt.Errorf("capture %s: %w", id, ErrNotFound)
	}
	s.stopLocked(e)
	return nil
}

// Close stops every capture.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.caps.All() {
		s.stopLocked(e)
	}
}

// ResultView is a result as the API shows it.
type ResultView struct {
	ID, CaptureID, SourceID string
	Results                 Results
}

func resultView(r *capRun) ResultView {
	return ResultView{ID: r.id, CaptureID: r.captureID, SourceID: r.sourceID, Results: r.c.Results()}
}

// Results lists results, filtered by capture and/or source id.
func (s *Service) Results(captureID, sourceID string) []ResultView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ResultView
	for _, r := range s.results.All() {
		if (captureID == "" || r.captureID == captureID) && (sourceID == "" || r.sourceID == sourceID) {
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
		return ResultView{}, fmt.Errorf("capture result %s: %w", id, ErrNotFound)
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
	if r.c.Active() {
		return fmt.Errorf("capture result %s is active; stop capture %s first: %w", id, r.captureID, ErrInUse)
	}
	if e := s.caps.Value(r.captureID); e != nil && e.active == r {
		s.stopLocked(e)
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

// Pcap writes the packets of results (merged in timestamp order when more
// than one) as pcapng to w.
func (s *Service) Pcap(w io.Writer, r Range, ids ...string) error {
	s.mu.Lock()
	caps := make([]*Capture, 0, len(ids))
	for _, id := range ids {
		res, ok := s.results.Get(id)
		if !ok {
			s.mu.Unlock()
			return fmt.Errorf("capture result %s: %w", id, ErrNotFound)
		}
		caps = append(caps, res.c)
	}
	s.mu.Unlock()
	_, err := WritePcapng(w, r, caps...)
	return err
}

// CheckRange checks a range and result ids before any data is written,
// so a bad request is an error rather than a broken download.
func (s *Service) CheckRange(r Range, ids ...string) error {
	if r.Start > r.End {
		return fmt.Errorf("packet_start %d is after packet_end %d: %w", r.Start, r.End, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.results.Get(id); !ok {
			return fmt.Errorf("capture result %s: %w", id, ErrNotFound)
		}
	}
	return nil
}
