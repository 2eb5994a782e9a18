package workers

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openperfd/openperfd/clock"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

type countingSink struct {
	pkts, bytes atomic.Uint64
}

func (c *countingSink) Push(_ uint16, pkts []*packetio.Mbuf) {
	for _, m := range pkts {
		c.bytes.Add(uint64(m.Len()))
	}
	c.pkts.Add(uint64(len(pkts)))
}

func startWorkers(t *testing.T, d packetio.Driver, n int, drop bool) *Workers {
	t.Helper()
	return startConfig(t, Config{CPUs: unpinned(n), Driver: d, DropTxOverruns: drop})
}

// unpinned is n workers on no particular CPU.
func unpinned(n int) []int {
	cpus := make([]int, n)
	for i := range cpus {
		cpus[i] = -1
	}
	return cpus
}

// startConfig starts workers with a short idle sleep and stops them when
// the test ends.
func startConfig(t *testing.T, cfg Config) *Workers {
	t.Helper()
	cfg.MaxIdleSleep = 200 * time.Microsecond
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// sendBroadcast sends n 64-byte broadcast test frames from port and
// returns once they are sent.
func sendBroadcast(t *testing.T, svc *packetio.Service, port string, n int64) {
	t.Helper()
	job, err := svc.SendTestFrames(port, n, 64, broadcast)
	if err != nil {
		t.Fatal(err)
	}
	<-job.Done()
}

func TestFramesFromASourceReachThePeersSinkExactly(t *testing.T) {
	for _, workers := range []int{1, 2} {
		d := fake.New(1, workers, 4096)
		w := startWorkers(t, d, workers, false)
		svc := packetio.NewService(d, w)
		sink := &countingSink{}
		w.AddSink("1", sink)

		sendBroadcast(t, svc, "0", 10000)
		waitFor(t, "all frames at the sink", func() bool { return sink.pkts.Load() == 10000 })
		if got := sink.bytes.Load(); got != 640000 {
			t.Fatalf("workers=%d: sink saw %d bytes, want 640000", workers, got)
		}
		if st := d.Pool().Stats(); st.Used != 0 {
			waitFor(t, "buffers back in the pool", func() bool { return d.Pool().Stats().Used == 0 })
		}
		svc.Close()
	}
}

// timedSink records the receive times the worker passes.
type timedSink struct {
	countingSink
	mu    sync.Mutex
	times []int64
}

func (s *timedSink) PushAt(port uint16, pkts []*packetio.Mbuf, rx int64) {
	s.mu.Lock()
	s.times = append(s.times, rx)
	s.mu.Unlock()
	s.Push(port, pkts)
}

// A sink that takes receive times gets, with each burst, the time the port
// recorded for it (packetio.RxTimes), not one read later; a plain sink on
// the same port still gets Push.
func TestTimedSinksGetThePortsReceiveTime(t *testing.T) {
	d := fake.New(1, 1, 4096)
	w := startWorkers(t, d, 1, false)
	svc := packetio.NewService(d, w)
	defer svc.Close()
	timed, plain := &timedSink{}, &countingSink{}
	w.AddSink("1", timed)
	w.AddSink("1", plain)
	before := clock.Now()
	sendBroadcast(t, svc, "0", 1000)
	waitFor(t, "all frames at both sinks", func() bool { return timed.pkts.Load() == 1000 && plain.pkts.Load() == 1000 })
	after := clock.Now()
	timed.mu.Lock()
	defer timed.mu.Unlock()
	if len(timed.times) == 0 {
		t.Fatal("no PushAt")
	}
	for i, rx := range timed.times {
		if rx < before || rx > after {
			t.Fatalf("burst %d received at %d, outside the test's %d..%d", i, rx, before, after)
		}
		if i > 0 && rx < timed.times[i-1] {
			t.Fatalf("burst %d received at %d, before the previous burst's %d", i, rx, timed.times[i-1])
		}
	}
}

// frameTimedSink records the per-frame receive times the worker passes,
// burst by burst.
type frameTimedSink struct {
	timedSink
	bursts   [][]int64
	mismatch int // bursts whose times were not one per frame
}

func (s *frameTimedSink) PushTimes(port uint16, pkts []*packetio.Mbuf, rx []int64) {
	s.mu.Lock()
	if len(rx) != len(pkts) {
		s.mismatch++
	}
	s.bursts = append(s.bursts, append([]int64(nil), rx...))
	s.mu.Unlock()
	s.Push(port, pkts)
}

// On a port that times each frame it receives (a NIC's receive
// timestamps; here the fake's stamps), a sink that takes frame times gets
// every frame's own stamp with its burst, so the frames of one burst have
// times of their own; a sink that takes only burst times still gets the
// burst's, and a plain sink Push.
func TestFrameTimedSinksGetEachFramesOwnTime(t *testing.T) {
	d := fake.New(1, 1, 4096)
	const t0, step = int64(1_000_000_000_000_000_000), int64(1234) // far from clock.Now
	var k atomic.Int64
	d.SetRxStamps(func(*packetio.Mbuf) int64 { return t0 + step*(k.Add(1)-1) })
	w := startWorkers(t, d, 1, false)
	svc := packetio.NewService(d, w)
	defer svc.Close()
	if !d.Ports()[1].Info().RxHardwareTimes {
		t.Fatal("a stamping fake port does not say it times frames")
	}
	framed, timed, plain := &frameTimedSink{}, &timedSink{}, &countingSink{}
	w.AddSink("1", framed)
	w.AddSink("1", timed)
	w.AddSink("1", plain)
	before := clock.Now()
	sendBroadcast(t, svc, "0", 1000)
	waitFor(t, "all frames at the three sinks", func() bool {
		return framed.pkts.Load() == 1000 && timed.pkts.Load() == 1000 && plain.pkts.Load() == 1000
	})
	after := clock.Now()
	framed.mu.Lock()
	defer framed.mu.Unlock()
	if len(framed.times) != 0 || framed.mismatch != 0 {
		t.Fatalf("the frame-timed sink got %d bursts through PushAt, %d with a time count unlike their frames'", len(framed.times), framed.mismatch)
	}
	i, multi := int64(0), false
	for b, rx := range framed.bursts {
		multi = multi || len(rx) > 1
		for _, got := range rx {
			if want := t0 + step*i; got != want {
				t.Fatalf("burst %d: frame %d received at %d, want its stamp %d", b, i, got, want)
			}
			i++
		}
	}
	if !multi {
		t.Fatal("no burst had more than one frame: nothing shows frames of a burst get their own times")
	}
	timed.mu.Lock()
	defer timed.mu.Unlock()
	for b, rx := range timed.times {
		if rx < before || rx > after {
			t.Fatalf("burst-timed sink: burst %d at %d, want the port's burst time within %d..%d", b, rx, before, after)
		}
	}
}

func TestRemoveSinkWaitsUntilNoWorkerCallsIt(t *testing.T) {
	d := fake.New(1, 1, 4096)
	w := startWorkers(t, d, 1, false)
	svc := packetio.NewService(d, w)
	defer svc.Close()
	var removed atomic.Bool
	var late atomic.Int64
	sink := &sinkFunc{f: func() {
		if removed.Load() {
			late.Add(1)
		}
	}}
	w.AddSink("1", sink)
	if _, err := svc.SendTestFrames("0", 1_000_000, 64, [6]byte{1}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	w.RemoveSink("1", sink)
	removed.Store(true)
	time.Sleep(10 * time.Millisecond)
	if late.Load() != 0 {
		t.Fatalf("sink called %d times after RemoveSink returned", late.Load())
	}
}

type sinkFunc struct{ f func() }

func (s *sinkFunc) Push(uint16, []*packetio.Mbuf) { s.f() }

func TestIdleWorkersSleep(t *testing.T) {
	d := fake.New(1, 1, 64)
	w := startWorkers(t, d, 1, false)
	packetio.NewService(d, w)
	waitFor(t, "an idle sleep", func() bool { return w.Stats()[0].IdleSleeps > 0 })
	before := w.Stats()[0]
	time.Sleep(100 * time.Millisecond)
	after := w.Stats()[0]
	// Spinning would be millions of loops; backing off is a few thousand.
	if loops := after.IdleLoops - before.IdleLoops; loops > 50_000 {
		t.Fatalf("idle worker spun %d loops in 100 ms", loops)
	}
}

func TestDetachedPortIsNotPolled(t *testing.T) {
	d := fake.New(1, 1, 4096)
	w := startWorkers(t, d, 1, false)
	svc := packetio.NewService(d, w)
	defer svc.Close()
	sink := &countingSink{}
	w.AddSink("1", sink)
	w.DetachPort("1")
	job, err := svc.SendTestFrames("0", 100, 64, [6]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	<-job.Done()
	time.Sleep(5 * time.Millisecond)
	if sink.pkts.Load() != 0 {
		t.Fatalf("detached port delivered %d packets", sink.pkts.Load())
	}
}

func TestBondTakesMembersOffTheWorkersAndGivesThemBack(t *testing.T) {
	d := fake.New(1, 1, 256)
	w := startWorkers(t, d, 1, false)
	svc := packetio.NewService(d, w)
	defer svc.Close()
	b, err := svc.CreateBond("bond0", packetio.BondConfig{Mode: packetio.BondLACP, Members: []string{"0", "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Info.Kind != packetio.KindBond {
		t.Fatalf("kind %s", b.Info.Kind)
	}
	if got := w.Stats()[0].RxQueues; got != 1 {
		t.Fatalf("worker polls %d queues with a bond of two, want 1 (the bond's)", got)
	}
	if err := svc.DeleteBond("0"); !packetio.IsInvalid(err) {
		t.Fatalf("deleting a driver port: %v, want invalid", err)
	}
	if err := svc.DeleteBond("bond0"); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats()[0].RxQueues; got != 2 {
		t.Fatalf("after delete worker polls %d queues, want 2", got)
	}
}

func TestConcurrentControlIsRaceFree(t *testing.T) {
	d := fake.New(2, 2, 8192)
	w := startWorkers(t, d, 2, true)
	svc := packetio.NewService(d, w)
	defer svc.Close()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := &countingSink{}
			for j := 0; j < 20; j++ {
				w.AddSink("1", s)
				// A loaded machine may still run MaxTestFrameJobs jobs:
				// that is a refusal to wait out, not a failure.
				for {
					_, err := svc.SendTestFrames("0", 100, 64, [6]byte{1})
					if errors.Is(err, packetio.ErrInUse) {
						time.Sleep(time.Millisecond)
						continue
					}
					if err != nil {
						t.Error(err)
					}
					break
				}
				_ = w.Stats()
				w.RemoveSink("1", s)
			}
		}(i)
	}
	wg.Wait()
}

func TestSourcesOfADetachedPortAreToldAndReleased(t *testing.T) {
	d := fake.New(1, 1, 4096)
	w := startWorkers(t, d, 1, false)
	svc := packetio.NewService(d, w)
	defer svc.Close()
	w.DetachPort("0") // port 1 is not polled: nothing drains port 0's frames
	w.AttachPort(d.Ports()[0])
	w.DetachPort("1")
	job, err := svc.SendTestFrames("0", 1_000_000, 64, [6]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	w.DetachPort("0")
	select {
	case <-job.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("job on a detached port never ended")
	}
	sent, _ := job.Counts()
	if sent >= 1_000_000 {
		t.Fatalf("job finished instead of being cut off: %d sent", sent)
	}
}

func TestTxTapsSeeEveryPacketOnce(t *testing.T) {
	d := fake.New(2, 1, 4096)
	w := startWorkers(t, d, 1, false)
	svc := packetio.NewService(d, w)
	defer svc.Close()
	tap, rx := &countingSink{}, &countingSink{}
	w.AddTxTap("0", tap)
	w.AddSink("1", rx)
	job, err := svc.SendTestFrames("0", 1000, 100, [6]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	<-job.Done()
	deadline := time.Now().Add(2 * time.Second)
	for rx.pkts.Load() < 1000 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	w.RemoveTxTap("0", tap)
	if tap.pkts.Load() != 1000 || tap.bytes.Load() != rx.bytes.Load() {
		t.Fatalf("tap saw %d packets (%d bytes); port 1 received %d (%d bytes)",
			tap.pkts.Load(), tap.bytes.Load(), rx.pkts.Load(), rx.bytes.Load())
	}
}

// idleSource never has a packet: it only occupies a worker. (Not zero
// sized: pointers to zero-sized values may be equal.)
type idleSource struct{ id int }

func (*idleSource) Pull([]*packetio.Mbuf) int { return 0 }
func (*idleSource) Sent(int, int)             {}
func (*idleSource) Detached()                 {}

// Sources added one after another go to the least loaded worker, whatever
// order the plan visits them in (a new source used to be placed before
// the assigned ones were counted, now and then on a busy worker).
func TestSourcesSpreadOverTheWorkers(t *testing.T) {
	d := fake.New(1, 2, 4096)
	w := startWorkers(t, d, 2, false)
	packetio.NewService(d, w)
	for round := range 50 {
		srcs := []*idleSource{{1}, {2}, {3}, {4}}
		for _, s := range srcs {
			if err := w.AddSource("0", s); err != nil {
				t.Fatal(err)
			}
		}
		for _, st := range w.Stats() {
			if st.Sources != 2 {
				t.Fatalf("round %d: worker %d runs %d of 4 sources, want 2", round, st.ID, st.Sources)
			}
		}
		for _, s := range srcs {
			w.RemoveSource(s)
		}
	}
}

// dueSource is a Source that says when it is next due; only NextDue is
// called.
type dueSource struct {
	packetio.Source
	d  time.Duration
	ok bool
}

func (s dueSource) NextDue() (time.Duration, bool) { return s.d, s.ok }

func TestUntilDueTakesTheSoonestSource(t *testing.T) {
	task := func(src packetio.Source) txTask { return txTask{st: &txState{src: src}} }
	ms := time.Millisecond
	for _, c := range []struct {
		name string
		srcs []packetio.Source
		want time.Duration
		ok   bool
	}{
		{"none", nil, 0, false},
		{"unscheduled sources", []packetio.Source{dueSource{}, &idleSource{}}, 0, false},
		{"the soonest, less the margin", []packetio.Source{&idleSource{}, dueSource{d: 5 * ms, ok: true}, dueSource{d: 3 * ms, ok: true}, dueSource{}}, 3*ms - dueMargin, true},
		{"due within the margin: poll", []packetio.Source{dueSource{d: 7 * ms, ok: true}, dueSource{d: dueMargin / 2, ok: true}}, -dueMargin / 2, true},
		{"late", []packetio.Source{dueSource{d: -ms, ok: true}}, -ms - dueMargin, true},
	} {
		var tx []txTask
		for _, s := range c.srcs {
			tx = append(tx, task(s))
		}
		if got, ok := untilDue(tx); got != c.want || ok != c.ok {
			t.Errorf("%s: untilDue %v, %v; want %v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

type funcSink func(uint16, []*packetio.Mbuf)

func (f funcSink) Push(p uint16, pkts []*packetio.Mbuf) { f(p, pkts) }

// A sink the workers could not find again to remove is refused when it is
// added, not when it is removed.
func TestUncomparableSinksAreRefusedWhenAdded(t *testing.T) {
	w, err := New(Config{CPUs: []int{-1}, Driver: fake.New(1, 1, 64)})
	if err != nil {
		t.Fatal(err)
	}
	for name, add := range map[string]func(string, packetio.Sink){"AddSink": w.AddSink, "AddTxTap": w.AddTxTap} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "cannot be compared") {
					t.Errorf("%s of a func-typed sink: recovered %v, want a panic saying it cannot be compared", name, r)
				}
			}()
			add("0", funcSink(func(uint16, []*packetio.Mbuf) {}))
		}()
	}
}
