package tvlp

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
)

// fakeClock is advanced by the test; Wait blocks until the test moves it
// past the deadline.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	t  time.Time
	ch chan struct{}
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Wait(t time.Time, stop <-chan struct{}) bool {
	c.mu.Lock()
	if !c.now.Before(t) {
		c.mu.Unlock()
		return true
	}
	ch := make(chan struct{})
	c.waiters = append(c.waiters, waiter{t, ch})
	c.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-stop:
		return false
	}
}

// advance moves the clock by d once someone waits, waking the waiters
// whose time has come.
func (c *fakeClock) advance(t *testing.T, d time.Duration) {
	t.Helper()
	c.awaitWaiter(t)
	c.mu.Lock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !c.now.Before(w.t) {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
	c.mu.Unlock()
}

func (c *fakeClock) awaitWaiter(t *testing.T) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		c.mu.Lock()
		n := len(c.waiters)
		c.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("nobody waits on the clock")
}

// fakeGens records what the replay does with the generators, at the fake
// clock's time; a running generator "sends" 1000 packets per second of
// fake time at its scaled rate.
type fakeGens struct {
	mu      sync.Mutex
	clock   *fakeClock
	events  []string
	gens    map[string]*fakeGen
	failOn  string // Create of a target with this id fails
	checkOK bool
	// startCost is fake time each Start takes while startSlow > 0 (each
	// slow Start counts one down): a loaded machine.
	startCost time.Duration
	startSlow int
}

type fakeGen struct {
	rate           float64
	from, to       time.Time // the window it may send in
	start, stopped time.Time
	running        bool
}

func newFakeGens(c *fakeClock) *fakeGens {
	return &fakeGens{clock: c, gens: map[string]*fakeGen{}, checkOK: true}
}

func (f *fakeGens) log(format string, a ...any) {
	off := f.clock.Now().Sub(time.Unix(1_000_000, 0))
	f.events = append(f.events, fmt.Sprintf("%v ", off)+fmt.Sprintf(format, a...))
}

func (f *fakeGens) Check(target string, config any) error {
	if config == "bad" {
		return &ValidationError{Path: "config.load.rate.value", Msg: "must be positive"}
	}
	return nil
}

func (f *fakeGens) Create(id, target string, config any, scale float64, from, to time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if target == f.failOn {
		return fmt.Errorf("target %s: %w", target, packetio.ErrInvalid)
	}
	f.gens[id] = &fakeGen{rate: config.(float64) * scale, from: from, to: to}
	epoch := time.Unix(1_000_000, 0)
	w := "first packet"
	if !from.IsZero() {
		w = from.Sub(epoch).String()
	}
	f.log("create %s rate %v [%s, %v)", id[len(id)-1:], config.(float64)*scale, w, to.Sub(epoch))
	return nil
}

func (f *fakeGens) Start(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.gens[id]
	if f.startSlow > 0 {
		f.startSlow--
		f.clock.mu.Lock()
		f.clock.now = f.clock.now.Add(f.startCost)
		f.clock.mu.Unlock()
	}
	g.running, g.start = true, f.clock.Now()
	f.log("start %s", id[len(id)-1:])
	return nil
}

func (f *fakeGens) Stop(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.gens[id]
	if g.running {
		g.running, g.stopped = false, f.clock.Now()
		f.log("stop %s", id[len(id)-1:])
	}
}

func (f *fakeGens) Result(id string) (StepResult, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.gens[id]
	if !ok || g.start.IsZero() {
		return StepResult{}, ok
	}
	end := g.stopped
	if g.running {
		end = f.clock.Now()
	}
	if end.After(g.to) {
		end = g.to
	}
	begin := g.start
	if g.from.After(begin) {
		begin = g.from
	}
	if !end.After(begin) {
		return StepResult{}, true
	}
	n := uint64(end.Sub(begin).Seconds() * g.rate)
	return StepResult{Packets: n, Octets: 100 * n, First: begin, Last: end}, true
}

func (f *fakeGens) Delete(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.gens, id)
	f.log("delete %s", id[len(id)-1:])
}

func (f *fakeGens) trace() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.events, "\n")
}

func ramp(rates ...float64) Spec {
	sp := Spec{ID: "ramp"}
	for _, r := range rates {
		sp.Packet = append(sp.Packet, Step{TargetID: "0", Length: time.Second, Config: r})
	}
	return sp
}

func setup(t *testing.T) (*Service, *fakeClock, *fakeGens) {
	c := newFakeClock()
	g := newFakeGens(c)
	s := NewService(g, c, nil)
	s.grace, s.lead = 0, 0 // one wait per step end: the tests advance to each
	return s, c, g
}

func wantState(t *testing.T, s *Service, id, want string) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		v, err := s.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if v.State == want {
			return
		}
		time.Sleep(time.Millisecond)
	}
	v, _ := s.Get(id)
	t.Fatalf("state %s, want %s", v.State, want)
}

func TestStepsChangeAtTheirEnds(t *testing.T) {
	s, c, g := setup(t)
	if _, err := s.Create(ramp(100, 200, 300)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Start("ramp", StartConfig{LoadScale: 0.5, TimeScale: 2})
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, s, "ramp", StateRunning)
	for i := 0; i < 3; i++ {
		c.advance(t, 2*time.Second)
	}
	wantState(t, s, "ramp", StateReady)
	// Each step's generator is made and started a step ahead, for its
	// window; the step change itself happens on the worker.
	want := strings.Join([]string{
		"0s create 0 rate 50 [0s, 2s)", "0s start 0",
		"0s create 1 rate 100 [2s, 4s)", "0s start 1",
		"2s stop 0", "2s delete 0",
		"2s create 2 rate 150 [4s, 6s)", "2s start 2",
		"4s stop 1", "4s delete 1",
		"6s stop 2", "6s delete 2"}, "\n")
	if got := g.trace(); got != want {
		t.Fatalf("trace:\n%s\nwant:\n%s", got, want)
	}
	res, err := s.Result(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Active || len(res.Steps) != 3 {
		t.Fatalf("result %+v", res)
	}
	for i, want := range []uint64{100, 200, 300} {
		if st := res.Steps[i]; st.Index != i || st.Packets != want {
			t.Errorf("step %d: %+v, want %d packets", i, st, want)
		}
	}
	if res.Total.Packets != 600 || res.Total.Octets != 60000 || res.Total.Last.Sub(res.Total.First) != 6*time.Second {
		t.Errorf("total %+v", res.Total)
	}
}

func TestCountdownThenRun(t *testing.T) {
	s, c, g := setup(t)
	if _, err := s.Create(ramp(100, 200)); err != nil {
		t.Fatal(err)
	}
	at := c.Now().Add(5 * time.Second)
	if _, err := s.Start("ramp", StartConfig{StartTime: at}); err != nil {
		t.Fatal(err)
	}
	v, _ := s.Get("ramp")
	if v.State != StateCountdown || !v.Start.Equal(at) || v.Length != 2*time.Second {
		t.Fatalf("view %+v", v)
	}
	c.advance(t, 5*time.Second)
	wantState(t, s, "ramp", StateRunning)
	c.advance(t, time.Second)
	c.advance(t, time.Second)
	wantState(t, s, "ramp", StateReady)
	want := "0s create 0 rate 100 [5s, 6s)\n0s start 0\n0s create 1 rate 200 [6s, 7s)\n0s start 1\n6s stop 0\n6s delete 0\n7s stop 1\n7s delete 1"
	if got := g.trace(); got != want {
		t.Fatalf("trace:\n%s\nwant:\n%s", got, want)
	}
}

func TestStopMidStepStopsAtOnce(t *testing.T) {
	s, c, g := setup(t)
	if _, err := s.Create(ramp(100, 200, 300)); err != nil {
		t.Fatal(err)
	}
	r, _ := s.Start("ramp", StartConfig{})
	c.advance(t, time.Second)
	c.awaitWaiter(t)
	c.mu.Lock()
	c.now = c.now.Add(500 * time.Millisecond) // mid step 1, nobody woken
	c.mu.Unlock()
	if err := s.Stop("ramp"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("ramp"); v.State != StateReady {
		t.Fatalf("state %s after stop", v.State)
	}
	want := strings.Join([]string{
		"0s create 0 rate 100 [0s, 1s)", "0s start 0",
		"0s create 1 rate 200 [1s, 2s)", "0s start 1",
		"1s stop 0", "1s delete 0",
		"1s create 2 rate 300 [2s, 3s)", "1s start 2",
		"1.5s stop 1", "1.5s stop 2", "1.5s delete 1", "1.5s delete 2"}, "\n")
	if got := g.trace(); got != want {
		t.Fatalf("trace:\n%s\nwant:\n%s", got, want)
	}
	res, _ := s.Result(r.ID)
	if len(res.Steps) != 2 || res.Total.Packets != 200 {
		t.Fatalf("result %+v", res)
	}
	if err := s.Stop("ramp"); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestStopDuringCountdownSendsNothing(t *testing.T) {
	s, c, g := setup(t)
	_, _ = s.Create(ramp(100))
	_, _ = s.Start("ramp", StartConfig{StartTime: c.Now().Add(time.Hour)})
	c.awaitWaiter(t)
	if err := s.Stop("ramp"); err != nil {
		t.Fatal(err)
	}
	if got, want := g.trace(), "0s create 0 rate 100 [1h0m0s, 1h0m1s)\n0s start 0\n0s stop 0\n0s delete 0"; got != want {
		t.Fatalf("trace %q, want %q", got, want)
	}
}

func TestRefusals(t *testing.T) {
	s, c, g := setup(t)
	g.failOn = "gone"
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"no steps", Spec{ID: "a"}, "profile: no profile entries found"},
		{"zero length", Spec{ID: "a", Packet: []Step{{TargetID: "0", Config: 1.0}}}, "profile.packet.series[0].length: 0 ns: must be positive"},
		{"no target", Spec{ID: "a", Packet: []Step{{Length: 1, Config: 1.0}}}, "profile.packet.series[0].target_id: required"},
		{"bad config", Spec{ID: "a", Packet: []Step{{TargetID: "0", Length: 1, Config: "bad"}}}, "profile.packet.series[0].config.load.rate.value: must be positive"},
	} {
		_, err := s.Create(tc.spec)
		if err == nil || !errors.Is(err, packetio.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a 400 with %q", tc.name, err, tc.want)
		}
	}
	_, _ = s.Create(ramp(100, 200))
	if _, err := s.Create(ramp(1)); !errors.Is(err, packetio.ErrInvalid) {
		t.Errorf("duplicate id: %v", err)
	}
	for _, sc := range []StartConfig{{LoadScale: -1}, {TimeScale: -2}} {
		if _, err := s.Start("ramp", sc); !errors.Is(err, packetio.ErrInvalid) {
			t.Errorf("start %+v: %v", sc, err)
		}
	}
	if _, err := s.Start("nope", StartConfig{}); !errors.Is(err, packetio.ErrNotFound) {
		t.Errorf("start unknown: %v", err)
	}
	r, _ := s.Start("ramp", StartConfig{})
	if _, err := s.Start("ramp", StartConfig{}); !errors.Is(err, packetio.ErrInUse) {
		t.Errorf("start twice: %v", err)
	}
	if err := s.Delete("ramp"); !errors.Is(err, packetio.ErrInUse) {
		t.Errorf("delete running: %v", err)
	}
	if err := s.DeleteResult(r.ID); !errors.Is(err, packetio.ErrInUse) {
		t.Errorf("delete running result: %v", err)
	}
	c.advance(t, time.Second)
	c.advance(t, time.Second)
	wantState(t, s, "ramp", StateReady)
	if err := s.DeleteResult(r.ID); err != nil {
		t.Error(err)
	}
	if err := s.Delete("ramp"); err != nil {
		t.Error(err)
	}
	if err := s.Delete("ramp"); !errors.Is(err, packetio.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

func TestStepThatCannotRunIsAnError(t *testing.T) {
	s, _, g := setup(t)
	sp := ramp(100, 200)
	sp.Packet[1].TargetID = "gone"
	_, _ = s.Create(sp)
	g.failOn = "gone"
	if _, err := s.Start("ramp", StartConfig{}); err != nil {
		t.Fatal(err)
	}
	// Step 1's generator is made while step 0 runs, so the replay fails
	// before step 0's end.
	wantState(t, s, "ramp", StateError)
	v, _ := s.Get("ramp")
	if !strings.Contains(v.Error, "step 1 on gone") {
		t.Errorf("error %q", v.Error)
	}
}

// A first step whose Start took longer than the lead (a loaded machine)
// would open its window before its generator ran and send the packets of
// the delay at once: it is made again with a longer lead, so the window
// opens after the generator is on its worker.
func TestTvlpLateFirstStepIsMadeAgainWithALongerLead(t *testing.T) {
	c := newFakeClock()
	g := newFakeGens(c)
	g.startCost, g.startSlow = 30*time.Millisecond, 2 // late with 5 and 20 ms, on time with 80
	s := NewService(g, c, nil)
	s.grace = 0
	if _, err := s.Create(ramp(100, 200)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Start("ramp", StartConfig{})
	if err != nil {
		t.Fatal(err)
	}
	gen := g.gens["tvlp-"+r.ID+"-0"]
	if gen == nil || !gen.start.Before(gen.from) {
		t.Fatalf("step 0 started %v, window from %v: late\n%s", gen.start, gen.from, g.trace())
	}
	tr := g.trace()
	if strings.Count(tr, "create 0") != 3 || strings.Count(tr, "delete 0") != 2 {
		t.Fatalf("want step 0 made three times (leads 5, 20 and 80 ms), deleted twice:\n%s", tr)
	}
	if !strings.Contains(tr, "60ms create 0 rate 100 [140ms,") {
		t.Errorf("want the third attempt's window to open 80 ms after it was made:\n%s", tr)
	}
	if err := s.Stop("ramp"); err != nil {
		t.Fatal(err)
	}
}
