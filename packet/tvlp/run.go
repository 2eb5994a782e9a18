package tvlp

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/openperfd/openperfd/packetio"
)

// replay is one run of a profile and its result. Its goroutine (play)
// owns the generators; the fields under mu are what others read.
type replay struct {
	id, tvlpID string
	steps      []Step      // lengths scaled
	ends       []time.Time // when each step ends
	genIDs     []string
	loadScale  float64
	t0         time.Time
	countdown  bool          // a start time was given: until t0 the state is countdown
	length     time.Duration // scaled
	gens       Generators
	stop       chan struct{} // closed by Stop
	stopOnce   sync.Once
	done       chan struct{} // closed when play has returned and cleaned up

	mu       sync.Mutex // guards below
	finished []StepView // final results of the steps that ended
	current  int        // the step whose generator runs; -1: none
	over     bool       // the replay has ended
}

// Rate is the packets per second a step (or a replay) sent at: its
// packets over the time from its first to its last packet.
func (r StepResult) Rate() float64 {
	d := r.Last.Sub(r.First)
	if r.Packets < 2 || d <= 0 {
		return 0
	}
	return float64(r.Packets-1) / d.Seconds()
}

func checkScale(name string, v float64) (float64, error) {
	switch {
	case v == 0:
		return 1, nil
	case !(v > 0) || math.IsInf(v, 0):
		return 0, &ValidationError{Path: "packet." + name, Msg: fmt.Sprintf("%v: must be a positive number", v)}
	}
	return v, nil
}

// Start replays a profile at cfg.StartTime (at once when zero or past)
// and returns its new result. Starting at once, the first step's traffic
// runs when Start returns.
func (s *Service) Start(id string, cfg StartConfig) (ResultView, error) {
	ls, err := checkScale("load_scale", cfg.LoadScale)
	if err != nil {
		return ResultView{}, err
	}
	ts, err := checkScale("time_scale", cfg.TimeScale)
	if err != nil {
		return ResultView{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.profiles[id]
	if !ok {
		return ResultView{}, notFound("tvlp configuration", id)
	}
	if p.cur != nil {
		return ResultView{}, fmt.Errorf("tvlp configuration %s is already %s: %w", id, p.cur.state(s.clock.Now()), packetio.ErrInUse)
	}
	r := &replay{id: uuid.NewString(), tvlpID: id, loadScale: ls, gens: s.gens, current: -1,
		stop: make(chan struct{}), done: make(chan struct{})}
	for i, st := range p.spec.Packet {
		st.Length = time.Duration(float64(st.Length) * ts)
		if st.Length <= 0 {
			return ResultView{}, &ValidationError{Path: "packet.time_scale", Msg: fmt.Sprintf("%v makes step %d shorter than 1 ns", ts, i)}
		}
		r.steps = append(r.steps, st)
		r.length += st.Length
		r.genIDs = append(r.genIDs, fmt.Sprintf("tvlp-%s-%d", r.id, i))
	}
	// Starting at once means StartLead from now: by then the first
	// step's generator is on its worker, so it starts on its schedule,
	// not late with the packets of the delay in a clump. When making and
	// starting it took longer than the lead (a loaded machine: the API
	// goroutine descheduled, the worker CPUs taken back from the control
	// threads), the window opened before the generator ran, so it is
	// made again with a lead four times as long; the first step's
	// generator is also made here so that a step that cannot run (its
	// target gone since create) is the caller's 400.
	lead := s.lead
	for try := 0; ; try++ {
		now := s.clock.Now()
		r.t0, r.countdown = cfg.StartTime, false
		if l := now.Add(lead); !r.t0.After(l) {
			r.t0 = l
		} else {
			r.countdown = true
		}
		r.ends = r.ends[:0]
		end := r.t0
		for _, st := range r.steps {
			end = end.Add(st.Length)
			r.ends = append(r.ends, end)
		}
		if err := r.create(0, r.t0); err != nil {
			return ResultView{}, err
		}
		if err := s.gens.Start(r.genIDs[0]); err != nil {
			s.gens.Delete(r.genIDs[0])
			return ResultView{}, fmt.Errorf("tvlp %s: start step 0: %w", id, err)
		}
		late := s.clock.Now().Sub(r.t0)
		if r.countdown || late <= 0 || lead <= 0 || try == maxStartTries-1 {
			if late > 0 && !r.countdown {
				s.log.Warn("tvlp replay started late: its first step sends what fell due at once",
					zap.String("tvlp", id), zap.Duration("late", late), zap.Duration("lead", lead))
			}
			break
		}
		s.gens.Stop(r.genIDs[0])
		s.gens.Delete(r.genIDs[0])
		lead *= 4
	}
	r.current = 0
	p.cur, p.err = r, ""
	s.results[r.id] = r
	s.rorder = append(s.rorder, r.id)
	s.log.Info("tvlp replay started", zap.String("tvlp", id), zap.String("result", r.id),
		zap.Time("start", r.t0), zap.Duration("length", r.length), zap.Float64("load_scale", ls), zap.Float64("time_scale", ts))
	go s.run(p, r)
	return r.view(), nil
}

// Stop ends a profile's replay at once: when it returns, no step's
// generator sends any more. Stopping a profile that is not replaying
// does nothing.
func (s *Service) Stop(id string) error {
	s.mu.Lock()
	p, ok := s.profiles[id]
	if !ok {
		s.mu.Unlock()
		return notFound("tvlp configuration", id)
	}
	r := p.cur
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
	return nil
}

// run plays a replay and puts its profile back to ready (or error).
func (s *Service) run(p *profile, r *replay) {
	err := r.play(s.clock, s.grace)
	r.mu.Lock()
	r.over, r.current = true, -1
	r.mu.Unlock()
	s.mu.Lock()
	p.cur, p.state, p.err = nil, StateReady, ""
	if err != nil {
		p.state, p.err = StateError, err.Error()
	}
	s.mu.Unlock()
	close(r.done)
	if err != nil {
		s.log.Error("tvlp replay failed", zap.String("tvlp", r.tvlpID), zap.String("result", r.id), zap.Error(err))
		return
	}
	s.log.Info("tvlp replay ended", zap.String("tvlp", r.tvlpID), zap.String("result", r.id))
}

// create makes step i's generator for its window: from to the step's end.
func (r *replay) create(i int, from time.Time) error {
	st := r.steps[i]
	if err := r.gens.Create(r.genIDs[i], st.TargetID, st.Config, r.loadScale, from, r.ends[i]); err != nil {
		return fmt.Errorf("tvlp %s: step %d on %s: %w", r.tvlpID, i, st.TargetID, err)
	}
	return nil
}

// StartLead is how far ahead of the request a replay that starts at
// once starts.
const StartLead = 5 * time.Millisecond

// maxStartTries bounds the leads a late first step is made with: 5, 20,
// 80 and 320 ms.
const maxStartTries = 4

// StepGrace is how long after a step's end its generator is stopped
// and its result taken (at most half the next step's length).
const StepGrace = 100 * time.Millisecond

// play runs the steps. Each step's generator is made and started while
// the step before runs, to send from that step's end to its own: the
// step change happens on the worker, at the time the schedule says, not
// when this goroutine gets round to it.
func (r *replay) play(clock Clock, grace time.Duration) error {
	g := r.gens
	for i := range r.steps {
		last := i+1 == len(r.steps)
		var err error
		if !last {
			if err = r.create(i+1, r.ends[i]); err == nil {
				if err = g.Start(r.genIDs[i+1]); err != nil {
					g.Delete(r.genIDs[i+1])
					err = fmt.Errorf("tvlp %s: start step %d: %w", r.tvlpID, i+1, err)
				}
			}
		}
		reached := err == nil && clock.Wait(r.ends[i], r.stop)
		if reached {
			// The step's generator ends itself at the step's end, on the
			// worker, once it has sent what was due before it; stopping it
			// from here too soon would cut those of a worker that was
			// descheduled across the end. The next step's generator must
			// be made in time, so short steps wait less.
			gr := grace
			if !last {
				gr = min(gr, r.steps[i+1].Length/2)
			}
			reached = clock.Wait(r.ends[i].Add(gr), r.stop)
		}
		g.Stop(r.genIDs[i])
		if !reached && err == nil && !last {
			g.Stop(r.genIDs[i+1])
		}
		next := -1
		if reached && !last {
			next = i + 1
		}
		r.end(i, next)
		if !reached || err != nil {
			if err == nil && !last {
				g.Delete(r.genIDs[i+1])
			}
			return err
		}
	}
	return nil
}

func (r *replay) setCurrent(i int) {
	r.mu.Lock()
	r.current = i
	r.mu.Unlock()
}

// end keeps a stopped step's final result, makes next (-1: none) the
// running step and deletes step i's generator.
func (r *replay) end(i, next int) {
	res, _ := r.gens.Result(r.genIDs[i])
	r.mu.Lock()
	r.finished = append(r.finished, StepView{Index: i, GeneratorID: r.genIDs[i], StepResult: res})
	r.current = next
	r.mu.Unlock()
	r.gens.Delete(r.genIDs[i])
}

func (r *replay) active() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.over
}

func (r *replay) state(now time.Time) string {
	if r.countdown && now.Before(r.t0) {
		return StateCountdown
	}
	return StateRunning
}

// view is the result so far: the ended steps' final counters and the
// running step's live ones.
func (r *replay) view() ResultView {
	r.mu.Lock()
	steps := append([]StepView(nil), r.finished...)
	cur, over := r.current, r.over
	r.mu.Unlock()
	if cur >= 0 {
		if res, ok := r.gens.Result(r.genIDs[cur]); ok {
			steps = append(steps, StepView{Index: cur, GeneratorID: r.genIDs[cur], StepResult: res})
		}
		// The next step sends from the running one's end, while that one
		// is still being waited for (StepGrace): its packets count at once.
		if next := cur + 1; next < len(r.genIDs) && !over {
			if res, ok := r.gens.Result(r.genIDs[next]); ok && res.Packets > 0 {
				steps = append(steps, StepView{Index: next, GeneratorID: r.genIDs[next], StepResult: res})
			}
		}
	}
	out := ResultView{ID: r.id, TvlpID: r.tvlpID, Active: !over, Steps: steps}
	for _, st := range steps {
		t := &out.Total
		t.Packets += st.Packets
		t.Octets += st.Octets
		if !st.First.IsZero() && (t.First.IsZero() || st.First.Before(t.First)) {
			t.First = st.First
		}
		if st.Last.After(t.Last) {
			t.Last = st.Last
		}
	}
	return out
}
