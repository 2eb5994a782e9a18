package rfc2544

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/openperfd/openperfd/packetio"
)

// maxRuns bounds the finished runs kept: the oldest finished goes first.
const maxRuns = 32

// Service keeps runs: one runs at a time, in its own goroutine, so it
// outlives the request that started it.
type Service struct {
	t   Traffic
	log *zap.Logger

	mu   sync.Mutex // guards runs and every run's view
	runs []*run     // in creation order
	wg   sync.WaitGroup
}

type run struct {
	view   View
	cancel context.CancelFunc
	done   chan struct{}
}

// NewService returns a service running trials through t.
func NewService(t Traffic, log *zap.Logger) *Service {
	if log == nil {
		log = zap.NewNop()
	}
	return &Service{t: t, log: log}
}

func (s *Service) find(id string) *run {
	for _, r := range s.runs {
		if r.view.ID == id {
			return r
		}
	}
	return nil
}

// Create checks c and starts it; the view is its first state.
func (s *Service) Create(c Config) (View, error) {
	c, frames, err := withDefaults(c, s.t)
	if err != nil {
		return View{}, err
	}
	if c.ID == "" {
		c.ID = uuid.NewString()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find(c.ID) != nil {
		return View{}, invalid("id: run %s exists", c.ID)
	}
	for _, r := range s.runs {
		if r.view.State == StateRunning {
			return View{}, invalid("run %s is running: one run at a time (DELETE /x/rfc2544/%s stops it)", r.view.ID, r.view.ID)
		}
	}
	s.prune()
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{view: View{ID: c.ID, State: StateRunning, Config: c, Started: time.Now()}, cancel: cancel, done: make(chan struct{})}
	s.runs = append(s.runs, r)
	rn := &runner{cfg: c, frames: frames, t: s.t, publish: func(p Progress, rs []SizeResult) {
		cp := cloneResults(rs)
		s.mu.Lock()
		r.view.Progress, r.view.Results = p, cp
		s.mu.Unlock()
	}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(r.done)
		err := rn.run(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		r.view.Results = cloneResults(rn.results)
		r.view.Progress = rn.prog
		r.view.Finished = time.Now()
		switch {
		case ctx.Err() != nil:
			r.view.State = StateStopped
		case err != nil:
			r.view.State, r.view.Error = StateFailed, err.Error()
			s.log.Warn("rfc2544 run failed", zap.String("id", c.ID), zap.Error(err))
		default:
			r.view.State = StateDone
		}
		s.log.Info("rfc2544 run ended", zap.String("id", c.ID), zap.String("state", r.view.State),
			zap.Int("trials", rn.prog.Trials), zap.Duration("took", r.view.Finished.Sub(r.view.Started)))
	}()
	return cloneView(r.view), nil
}

// prune drops the oldest finished runs beyond maxRuns; s.mu is held.
func (s *Service) prune() {
	for len(s.runs) >= maxRuns {
		i := slices.IndexFunc(s.runs, func(r *run) bool { return r.view.State != StateRunning })
		if i < 0 {
			return
		}
		s.runs = slices.Delete(s.runs, i, i+1)
	}
}

// List returns every run.
func (s *Service) List() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, len(s.runs))
	for i, r := range s.runs {
		out[i] = cloneView(r.view)
	}
	return out
}

func notFound(id string) error {
	return packetio.New(packetio.ErrNotFound, "rfc2544 run "+id+" not found")
}

// Get returns one run.
func (s *Service) Get(id string) (View, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.find(id)
	if r == nil {
		return View{}, notFound(id)
	}
	return cloneView(r.view), nil
}

// Delete stops a run (its trial's generator and analyzer are deleted
// before it returns) and forgets it.
func (s *Service) Delete(id string) error {
	s.mu.Lock()
	r := s.find(id)
	s.mu.Unlock()
	if r == nil {
		return notFound(id)
	}
	r.cancel()
	<-r.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.runs, r); i >= 0 {
		s.runs = slices.Delete(s.runs, i, i+1)
	}
	return nil
}

// Close stops every run and waits for them.
func (s *Service) Close() {
	s.mu.Lock()
	for _, r := range s.runs {
		r.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func cloneResults(rs []SizeResult) []SizeResult {
	out := make([]SizeResult, len(rs))
	for i, r := range rs {
		out[i] = r
		if r.Throughput != nil {
			tp := *r.Throughput
			tp.Trials = slices.Clone(tp.Trials)
			out[i].Throughput = &tp
		}
		if r.Latency != nil {
			l := *r.Latency
			l.PerTrial = slices.Clone(l.PerTrial)
			out[i].Latency = &l
		}
		out[i].FrameLoss = slices.Clone(r.FrameLoss)
		if r.BackToBack != nil {
			bb := *r.BackToBack
			bb.Trials = slices.Clone(bb.Trials)
			bb.Bursts = slices.Clone(bb.Bursts)
			out[i].BackToBack = &bb
		}
	}
	return out
}

func cloneView(v View) View {
	v.Results = cloneResults(v.Results)
	v.Config.Sizes = slices.Clone(v.Config.Sizes)
	v.Config.Tests = slices.Clone(v.Config.Tests)
	return v
}
