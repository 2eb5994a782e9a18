package rfc2544

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
)

// policed is a path that passes at most limit frames per second with a
// bucket of depth frames, the way a token-bucket policer does.
type policed struct {
	limit, depth float64
	mu           sync.Mutex
	trials       []Trial
	block        chan struct{} // when set, Run waits on it or ctx
}

func (p *policed) LineRate(id string) (int64, error) {
	if id != "0" && id != "1" {
		return 0, fmt.Errorf("port %s not found", id)
	}
	return 100, nil
}

func (p *policed) IMIX(name string) ([]int, error) {
	if name != "simple" {
		return nil, errors.New("unknown profile")
	}
	return []int{64, 576, 64, 64, 576, 64, 1518, 64, 576, 64, 576, 64}, nil
}

func (p *policed) Check(t Trial) error {
	if t.Length > 1518 {
		return packetio.New(packetio.ErrInvalid, "length too long")
	}
	return nil
}

func (p *policed) Run(ctx context.Context, t Trial) (TrialResult, error) {
	p.mu.Lock()
	p.trials = append(p.trials, t)
	p.mu.Unlock()
	if p.block != nil {
		select {
		case <-p.block:
		case <-ctx.Done():
			return TrialResult{}, ctx.Err()
		}
	}
	secs := float64(t.Frames) / t.Rate
	rx := uint64(math.Min(float64(t.Frames), p.limit*secs+p.depth))
	r := TrialResult{Tx: t.Frames, Rx: rx}
	if t.Latency {
		r.Latency = &LatencyStats{Frames: rx, Min: 1000, Avg: 1500, Max: 3000, P50: 1400, P90: 2000, P99: 2500, P999: 2900}
	}
	return r, nil
}

func wait(t *testing.T, s *Service, id string) View {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		v, err := s.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if v.State != StateRunning {
			return v
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("run did not end")
	return View{}
}

// The search finds a policed path's rate within the resolution, for each
// size, and the other tests run at what it found.
func TestThroughputFindsThePolicedRate(t *testing.T) {
	p := &policed{limit: 20000, depth: 50}
	s := NewService(p, nil)
	defer s.Close()
	v, err := s.Create(Config{TxPort: "0", RxPort: "1", Sizes: []int{64, 128, 256}, IMIX: "simple", Trial: time.Second, Resolution: 0.5, BackToBack: 1})
	if err != nil {
		t.Fatal(err)
	}
	v = wait(t, s, v.ID)
	if v.State != StateDone {
		t.Fatalf("state %s (%s)", v.State, v.Error)
	}
	if len(v.Results) != 4 {
		t.Fatalf("%d results, want 4", len(v.Results))
	}
	for _, r := range v.Results {
		want := math.Min(100, 20000/r.LineRateFPS*100)
		got := r.Throughput.Percent
		if got > want+0.5 || got < want-0.5 {
			t.Errorf("%s: throughput %.2f%%, want %.2f%% within 0.5", r.Frame, got, want)
		}
		if r.Latency == nil || r.Latency.Percent != got || r.Latency.P99 != 2500 {
			t.Errorf("%s: latency %+v, want at %.2f%%", r.Frame, r.Latency, got)
		}
		n := len(r.FrameLoss)
		twoClean := n >= 2 && r.FrameLoss[n-1].LossPercent == 0 && r.FrameLoss[n-2].LossPercent == 0
		if r.FrameLoss[0].Percent != 100 || !(twoClean || r.FrameLoss[n-1].Percent == 10) {
			t.Errorf("%s: frame loss %+v: want steps from 100%% to two clean trials or 10%%", r.Frame, r.FrameLoss)
		}
		// A burst at line rate passes up to depth + what the policer
		// lets through while it is sent.
		lr := r.LineRateFPS
		wantBB := 50 / (1 - 20000/lr)
		if r.BackToBack == nil || math.Abs(r.BackToBack.Frames-wantBB) > math.Max(2, wantBB*0.01) {
			t.Errorf("%s: back-to-back %+v, want about %.0f frames", r.Frame, r.BackToBack, wantBB)
		}
	}
	if r := v.Results[3]; r.Frame != "imix:simple" || math.Abs(r.FrameLength-(7*64+4*576+1518)/12.0) > 1e-9 {
		t.Errorf("imix result %s, mean %v", r.Frame, r.FrameLength)
	}
}

// A loss tolerance lets a lossy load pass.
func TestLossToleranceRaisesThroughput(t *testing.T) {
	p := &policed{limit: 50000, depth: 0}
	s := NewService(p, nil)
	defer s.Close()
	v, err := s.Create(Config{TxPort: "0", RxPort: "1", Sizes: []int{64}, Tests: []Test{Throughput}, LossTolerance: 10, Trial: time.Second, Resolution: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	v = wait(t, s, v.ID)
	lr := v.Results[0].LineRateFPS
	want := 50000 / lr * 100 / 0.9 // loss = 1 - limit/offered <= 10%
	if got := v.Results[0].Throughput.Percent; math.Abs(got-want) > 0.1 {
		t.Fatalf("throughput %.2f%%, want %.2f%%", got, want)
	}
	if v.Results[0].Latency != nil || v.Results[0].FrameLoss != nil || v.Results[0].BackToBack != nil {
		t.Fatal("tests not asked for ran")
	}
}

func TestConfigRejected(t *testing.T) {
	p := &policed{limit: 1}
	s := NewService(p, nil)
	for _, c := range []struct {
		cfg Config
		msg string
	}{
		{Config{RxPort: "1"}, "tx_port: required"},
		{Config{TxPort: "0"}, "rx_port: required"},
		{Config{TxPort: "9", RxPort: "1"}, "tx_port: port 9 not found"},
		{Config{TxPort: "0", RxPort: "1", Sizes: []int{63}}, "sizes[0]: 63 is outside 64..9216"},
		{Config{TxPort: "0", RxPort: "1", Sizes: []int{9000}}, "frame 9000: length too long"},
		{Config{TxPort: "0", RxPort: "1", Sizes: []int{}}, "at least one size"},
		{Config{TxPort: "0", RxPort: "1", IMIX: "nope"}, "imix: unknown profile"},
		{Config{TxPort: "0", RxPort: "1", Tests: []Test{"speed"}}, `tests[0]: "speed"`},
		{Config{TxPort: "0", RxPort: "1", Trial: time.Millisecond}, "trial_duration"},
		{Config{TxPort: "0", RxPort: "1", Resolution: 60}, "resolution"},
		{Config{TxPort: "0", RxPort: "1", LossTolerance: -1}, "loss_tolerance"},
	} {
		_, err := s.Create(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.msg) || !errors.Is(err, packetio.ErrInvalid) {
			t.Errorf("%+v: err %v, want an invalid one containing %q", c.cfg, err, c.msg)
		}
	}
}

// Delete stops a running run at once; one run at a time.
func TestDeleteStopsARun(t *testing.T) {
	p := &policed{limit: 1000, block: make(chan struct{})}
	s := NewService(p, nil)
	defer s.Close()
	v, err := s.Create(Config{ID: "r1", TxPort: "0", RxPort: "1", Sizes: []int{64}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(Config{TxPort: "0", RxPort: "1"}); err == nil || !strings.Contains(err.Error(), "run r1 is running") {
		t.Fatalf("second run: %v", err)
	}
	done := make(chan error)
	go func() { done <- s.Delete(v.ID) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("delete did not stop the run")
	}
	if _, err := s.Get(v.ID); !errors.Is(err, packetio.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := s.Delete("r1"); !errors.Is(err, packetio.ErrNotFound) {
		t.Fatalf("delete again: %v", err)
	}
}

// stalling loses a frame on the first trial at each load whatever the
// load, as a host that stalls the sender does now and then.
type stalling struct {
	policed
	last float64
}

func (s *stalling) Run(ctx context.Context, t Trial) (TrialResult, error) {
	r, err := s.policed.Run(ctx, t)
	if t.Rate != s.last && r.Rx > 0 {
		r.Rx--
	}
	s.last = t.Rate
	return r, err
}

// With a retry, a trial lost to a stall passes on its repeat and the
// search still finds the path's rate; without, it finds less.
func TestRetriesTellStallsFromLimits(t *testing.T) {
	for _, c := range []struct {
		retries int
		ok      bool
	}{{1, true}, {0, false}} {
		p := &stalling{policed: policed{limit: 20000}}
		s := NewService(p, nil)
		v, err := s.Create(Config{TxPort: "0", RxPort: "1", Sizes: []int{64}, Tests: []Test{Throughput}, Trial: time.Second, Resolution: 0.5, Retries: c.retries})
		if err != nil {
			t.Fatal(err)
		}
		v = wait(t, s, v.ID)
		want := 20000 / v.Results[0].LineRateFPS * 100
		got := v.Results[0].Throughput.Percent
		if ok := got >= want-0.5 && got <= want; ok != c.ok {
			t.Errorf("retries %d: throughput %.2f%%, want %.2f%%: within the resolution %v, want %v", c.retries, got, want, ok, c.ok)
		}
		s.Close()
	}
}

// latencyTrials varies each latency trial's figures (the n-th trial's
// are n times a base) and counts the trials.
type latencyTrials struct {
	policed
	n int
}

func (l *latencyTrials) Run(ctx context.Context, t Trial) (TrialResult, error) {
	r, err := l.policed.Run(ctx, t)
	if err != nil || !t.Latency {
		return r, err
	}
	l.mu.Lock()
	l.n++
	n := int64(l.n)
	l.mu.Unlock()
	r.Latency = &LatencyStats{Frames: 10, Min: 100 * n, Avg: 200 * n, Max: 300 * n, P50: 190 * n, P90: 250 * n, P99: 280 * n, P999: 290 * n}
	return r, nil
}

// RFC 2544's counts are the defaults: 20 latency trials reported as the
// mean of their averages (min and max over all), 50 back-to-back searches
// reported as the mean burst.
func TestTrialCountsDefaultToRFC2544s(t *testing.T) {
	p := &latencyTrials{policed: policed{limit: 20000, depth: 50}}
	s := NewService(p, nil)
	defer s.Close()
	v, err := s.Create(Config{TxPort: "0", RxPort: "1", Sizes: []int{64}, Trial: time.Second, Resolution: 5,
		Tests: []Test{Throughput, Latency, BackToBack}})
	if err != nil {
		t.Fatal(err)
	}
	v = wait(t, s, v.ID)
	if v.State != StateDone || v.Config.LatencyTrials != 20 || v.Config.BackToBack != 50 {
		t.Fatalf("state %s (%s), config %+v", v.State, v.Error, v.Config)
	}
	l := v.Results[0].Latency
	// Trials 1..20: the mean of n is 10.5.
	want := LatencyStats{Frames: 200, Min: 100, Avg: 2100, Max: 6000, P50: 1995, P90: 2625, P99: 2940, P999: 3045}
	if l == nil || l.Trials != 20 || len(l.PerTrial) != 20 || l.LatencyStats != want {
		t.Errorf("latency %+v, want %+v over 20 trials", l, want)
	}
	bb := v.Results[0].BackToBack
	if bb == nil || len(bb.Bursts) != 50 {
		t.Fatalf("back-to-back %+v, want 50 searches", bb)
	}
	sum := 0.0
	for _, b := range bb.Bursts {
		sum += float64(b)
	}
	if bb.Frames != sum/50 {
		t.Errorf("back-to-back %.1f frames, the bursts' mean is %.1f", bb.Frames, sum/50)
	}
	if _, err := s.Create(Config{TxPort: "0", RxPort: "1", LatencyTrials: 101}); err == nil || !strings.Contains(err.Error(), "latency_trials") {
		t.Errorf("101 latency trials: %v", err)
	}
}
