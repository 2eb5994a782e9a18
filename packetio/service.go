package packetio

import (
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/openperfd/openperfd/memory"
)

// Dataplane is what the port service needs from the workers: taking a
// port off them before it is stopped, and running sources.
type Dataplane interface {
	AttachPort(p Port)
	DetachPort(id string)
	AddSource(portID string, s Source) error
	RemoveSource(s Source)
}

// PortView is a port as the API shows it: what it is, its link, its counters.
type PortView struct {
	Info  PortInfo
	Link  LinkStatus
	Stats PortStats
}

// Service manages ports: listing them, bonds, link settings and test
// frames. Methods are safe for concurrent use; changes are serialised.
type Service struct {
	mu  sync.Mutex // serialises port changes
	drv Driver
	dp  Dataplane

	jobsMu sync.Mutex
	jobs   map[*TestFrames]struct{}
	jobsWG sync.WaitGroup
}

// NewService puts every driver port onto the dataplane.
func NewService(drv Driver, dp Dataplane) *Service {
	s := &Service{drv: drv, dp: dp, jobs: map[*TestFrames]struct{}{}}
	for _, p := range drv.Ports() {
		dp.AttachPort(p)
	}
	return s
}

// view reads a port's state, with the extended counters and the
// dataplane's tx refusals when there are (an xstats error only leaves
// them out: the rest of the view is still worth showing).
func (s *Service) view(p Port) PortView {
	v := PortView{Info: p.Info(), Link: p.Link(), Stats: p.Stats()}
	if x, ok := p.(XStatsReader); ok {
		v.Stats.XStats, _ = x.XStats()
	}
	if tc, ok := s.dp.(TxCounters); ok {
		v.Stats.TxBackpressure, v.Stats.TxOverrunDrops = tc.TxRefused(v.Info.ID)
	}
	return v
}

func (s *Service) find(id string) Port {
	for _, p := range s.drv.Ports() {
		if p.Info().ID == id {
			return p
		}
	}
	return nil
}

// Ports lists ports, optionally only those of one kind.
func (s *Service) Ports(kind Kind) ([]PortView, error) {
	switch kind {
	case "", KindDPDK, KindHost, KindBond:
	default:
		return nil, fmt.Errorf("kind %q: must be dpdk, host or bond: %w", kind, ErrInvalid)
	}
	var out []PortView
	for _, p := range s.drv.Ports() {
		if kind == "" || p.Info().Kind == kind {
			out = append(out, s.view(p))
		}
	}
	return out, nil
}

// Port returns one port by id.
func (s *Service) Port(id string) (PortView, error) {
	p := s.find(id)
	if p == nil {
		return PortView{}, fmt.Errorf("port %s: %w", id, ErrNotFound)
	}
	return s.view(p), nil
}

// CreateBond makes a bond port over members. An empty id gets a UUID.
func (s *Service) CreateBond(id string, cfg BondConfig) (PortView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		id = uuid.NewString()
	}
	if s.find(id) != nil {
		return PortView{}, fmt.Errorf("port %s already exists: %w", id, ErrInvalid)
	}
	if cfg.Mode != BondLACP {
		return PortView{}, fmt.Errorf("config.bond.mode %q: only %s is supported: %w", cfg.Mode, BondLACP, ErrInvalid)
	}
	if len(cfg.Members) == 0 {
		return PortView{}, fmt.Errorf("config.bond.ports: at least one member port is needed: %w", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, m := range cfg.Members {
		p := s.find(m)
		if p == nil {
			return PortView{}, fmt.Errorf("config.bond.ports: port %s does not exist: %w", m, ErrInvalid)
		}
		if seen[m] {
			return PortView{}, fmt.Errorf("config.bond.ports: port %s listed twice: %w", m, ErrInvalid)
		}
		if p.Info().Kind == KindBond {
			return PortView{}, fmt.Errorf("config.bond.ports: port %s is itself a bond: %w", m, ErrInvalid)
		}
		seen[m] = true
	}
	for _, m := range cfg.Members {
		s.dp.DetachPort(m)
		if err := s.drv.Stop(m); err != nil {
			s.restore(cfg.Members)
			return PortView{}, fmt.Errorf("create bond %s: %w", id, err)
		}
	}
	b, err := s.drv.CreateBond(id, cfg)
	if err != nil {
		s.restore(cfg.Members)
		return PortView{}, fmt.Errorf("create bond %s: %w", id, err)
	}
	s.dp.AttachPort(b)
	return s.view(b), nil
}

// restore restarts ports and gives them back to the workers.
func (s *Service) restore(ids []string) {
	for _, id := range ids {
		if err := s.drv.Start(id); err == nil {
			if p := s.find(id); p != nil {
				s.dp.AttachPort(p)
			}
		}
	}
}

// DeleteBond removes a bond port and gives its members back.
func (s *Service) DeleteBond(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.find(id)
	if p == nil {
		return fmt.Errorf("port %s: %w", id, ErrNotFound)
	}
	info := p.Info()
	if info.Kind != KindBond {
		return fmt.Errorf("port %s is a %s port owned by the driver and cannot be deleted: %w", id, info.Kind, ErrInvalid)
	}
	s.dp.DetachPort(id)
	if err := s.drv.DeleteBond(id); err != nil {
		s.dp.AttachPort(p)
		return fmt.Errorf("delete bond %s: %w", id, err)
	}
	s.restore(info.Bond.Members)
	return nil
}

// UpdateLink changes a port's link configuration: the port is taken off
// the workers, stopped, reconfigured and started again.
func (s *Service) UpdateLink(id string, cfg LinkConfig) (PortView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.find(id)
	if p == nil {
		return PortView{}, fmt.Errorf("port %s: %w", id, ErrNotFound)
	}
	if !cfg.AutoNegotiation {
		if cfg.SpeedMbps <= 0 {
			return PortView{}, fmt.Errorf("config.dpdk.link.speed: a fixed link needs a speed in Mbps: %w", ErrInvalid)
		}
		if cfg.Duplex == "" {
			cfg.Duplex = DuplexFull
		}
	}
	if p.Info().Link == cfg {
		return s.view(p), nil
	}
	s.dp.DetachPort(id)
	var err error
	if err = s.drv.Stop(id); err == nil {
		err = s.drv.ConfigureLink(id, cfg)
	}
	if startErr := s.drv.Start(id); startErr != nil && err == nil {
		err = startErr
	}
	s.dp.AttachPort(p)
	if err != nil {
		return PortView{}, fmt.Errorf("update port %s: %w", id, err)
	}
	return s.view(p), nil
}

// MaxTestFrameJobs bounds the test-frame jobs running at once, so API
// calls cannot pile up sources on the workers without limit.
const MaxTestFrameJobs = 64

// SendTestFrames transmits count frames of length bytes out of a port.
// It returns at once; the frames go out through the workers.
func (s *Service) SendTestFrames(id string, count int64, length int, dst [6]byte) (*TestFrames, error) {
	p := s.find(id)
	if p == nil {
		return nil, fmt.Errorf("port %s: %w", id, ErrNotFound)
	}
	if count < 1 {
		return nil, fmt.Errorf("count %d: must be at least 1: %w", count, ErrInvalid)
	}
	pool, limit := s.drv.Pool(), memory.DefaultBufSize-MbufHeadroom
	if jd, ok := s.drv.(JumboPools); ok && length > limit {
		if jp := jd.JumboPool(); jp != nil {
			pool, limit = jp, memory.MaxJumboFrame
		}
	}
	if length < 60 || length > limit {
		return nil, fmt.Errorf("length %d: must be 60..%d: %w", length, limit, ErrInvalid)
	}
	s.jobsMu.Lock()
	active := len(s.jobs)
	s.jobsMu.Unlock()
	if active >= MaxTestFrameJobs {
		return nil, fmt.Errorf("%d test-frame jobs are still running; wait for one to finish: %w", active, ErrInUse)
	}
	job := NewTestFrames(pool, p.Info().MAC, dst, length, count)
	job.ID = uuid.NewString()
	if err := s.dp.AddSource(id, job); err != nil {
		return nil, fmt.Errorf("send test frames on %s: %w", id, err)
	}
	s.jobsMu.Lock()
	s.jobs[job] = struct{}{}
	s.jobsMu.Unlock()
	s.jobsWG.Add(1)
	go func() {
		defer s.jobsWG.Done()
		<-job.Done()
		s.dp.RemoveSource(job)
		s.jobsMu.Lock()
		delete(s.jobs, job)
		s.jobsMu.Unlock()
	}()
	return job, nil
}

// Close removes unfinished test-frame jobs from the dataplane.
func (s *Service) Close() {
	s.jobsMu.Lock()
	jobs := make([]*TestFrames, 0, len(s.jobs))
	for j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.jobsMu.Unlock()
	for _, j := range jobs {
		s.dp.RemoveSource(j)
		j.abandon()
	}
	s.jobsWG.Wait()
}

// IsNotFound and IsInvalid let the API map errors to status codes.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsInvalid reports a caller error (400).
func IsInvalid(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrInUse)
}
