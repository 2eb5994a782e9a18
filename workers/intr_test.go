package workers

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// oneFrame is a source that sends one frame from pool when armed.
type oneFrame struct {
	pool packetio.Pool
	sent atomic.Int64
	go_  atomic.Bool
}

func (s *oneFrame) Pull(pkts []*packetio.Mbuf) int {
	if !s.go_.CompareAndSwap(true, false) || !s.pool.Alloc(pkts[:1]) {
		return 0
	}
	pkts[0].SetLen(64)
	return 1
}
func (s *oneFrame) Sent(n, _ int) { s.sent.Add(int64(n)) }
func (*oneFrame) Detached()       {}

// sendOne puts one frame on port from's wire, as a peer would.
func sendOne(t *testing.T, d *fake.Driver, from packetio.Port) {
	t.Helper()
	pkts := make([]*packetio.Mbuf, 1)
	if !d.Pool().Alloc(pkts) {
		t.Fatal("pool empty")
	}
	pkts[0].SetLen(64)
	if from.TxBurst(0, pkts) != 1 {
		t.Fatal("port refused the frame")
	}
}

func portByID(d *fake.Driver, id string) packetio.Port {
	for _, p := range d.Ports() {
		if p.Info().ID == id {
			return p
		}
	}
	return nil
}

// A worker whose rx queues all have interrupts stops polling once idle
// and sleeps until a frame or a control-plane poke: no back-off sleeps
// while it waits, the first frame and a new source wake it at once.
func TestIdleWorkerSleepsUntilAnRxInterrupt(t *testing.T) {
	d := fake.New(1, 1, 256)
	d.SetRxInterrupts(true)
	w := startConfig(t, Config{CPUs: unpinned(1), Driver: d, RxInterrupts: true})
	if !w.Stats()[0].RxInterrupts {
		t.Fatal("worker has no rx waiter")
	}
	sink := &countingSink{}
	w.AddSink("1", sink)
	packetio.NewService(d, w)
	waitFor(t, "an interrupt sleep", func() bool { return w.Stats()[0].IntrSleeps > 0 })
	before := w.Stats()[0]
	time.Sleep(300 * time.Millisecond)
	after := w.Stats()[0]
	if n := after.IdleSleeps - before.IdleSleeps; n > 2 {
		t.Errorf("%d back-off sleeps in 300 ms while waiting for an interrupt, want none", n)
	}

	start := time.Now()
	sendOne(t, d, portByID(d, "0"))
	waitFor(t, "the frame at the sink", func() bool { return sink.pkts.Load() == 1 })
	// Sent 300 ms into a wait of intrWait (10 s): a frame that did not end
	// the wait would take seconds. The margin is for a loaded machine.
	if lat := time.Since(start); lat > 400*time.Millisecond {
		t.Errorf("first frame after idle took %v, want far below the %v wait; before %+v after %+v now %+v", lat, intrWait, before, after, w.Stats()[0])
	}

	// Idle again, then a source: AddSource's poke must end the wait.
	waitFor(t, "another interrupt sleep", func() bool { return w.Stats()[0].IntrSleeps > after.IntrSleeps })
	time.Sleep(50 * time.Millisecond)
	src := &oneFrame{pool: d.Pool()}
	src.go_.Store(true)
	start = time.Now()
	if err := w.AddSource("0", src); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the source's frame sent", func() bool { return src.sent.Load() == 1 })
	// The wait began without sources, so it lasts intrWait (10 s).
	if lat := time.Since(start); lat > 400*time.Millisecond {
		t.Errorf("a new source's first frame took %v, want far below the %v wait", lat, intrWait)
	}
	w.RemoveSource(src)
}

// A worker stays a QSBR reader online while it waits for an rx interrupt
// (the wait may receive from its queues); Synchronize must poke it out
// rather than wait for the wait's timeout.
func TestSynchronizeEndsAnRxInterruptWait(t *testing.T) {
	d := fake.New(1, 1, 256)
	d.SetRxInterrupts(true)
	w := startConfig(t, Config{CPUs: unpinned(1), Driver: d, RxInterrupts: true})
	packetio.NewService(d, w)
	waitFor(t, "an interrupt sleep", func() bool { return w.Stats()[0].IntrSleeps > 0 })
	for i := range 3 {
		time.Sleep(50 * time.Millisecond)
		before := w.Stats()[0].IntrSleeps
		start := time.Now()
		w.Synchronize()
		// The wait lasts intrWait (10 s); the margin is for a loaded machine.
		if d := time.Since(start); d > 400*time.Millisecond {
			t.Fatalf("Synchronize %d during an rx interrupt wait took %v", i, d)
		}
		waitFor(t, fmt.Sprintf("interrupt sleep after Synchronize %d", i), func() bool { return w.Stats()[0].IntrSleeps > before })
	}
}

// Without RxInterrupts in the config, or on ports without interrupts,
// workers back off by sleeping as before.
func TestWorkersPollWithoutRxInterrupts(t *testing.T) {
	for _, tt := range []struct {
		name           string
		config, driver bool
	}{{"turned off", false, true}, {"ports without", true, false}} {
		t.Run(tt.name, func(t *testing.T) {
			d := fake.New(1, 1, 64)
			d.SetRxInterrupts(tt.driver)
			w := startConfig(t, Config{CPUs: unpinned(1), Driver: d, RxInterrupts: tt.config})
			packetio.NewService(d, w)
			waitFor(t, "idle sleeps", func() bool { return w.Stats()[0].IdleSleeps > 0 })
			time.Sleep(2 * intrAfter)
			if st := w.Stats()[0]; st.IntrSleeps != 0 {
				t.Errorf("%d interrupt sleeps", st.IntrSleeps)
			}
		})
	}
}
