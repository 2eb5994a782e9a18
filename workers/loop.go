package workers

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/packetio"
)

// plan is what every worker does; never modified once published.
type plan struct {
	workers []workerPlan
}

type workerPlan struct {
	rx []rxTask
	tx []txTask
	// intr lists the rx queues when every one can wake the worker with
	// an interrupt (none is fine); intrOK is false when some queue must
	// be polled.
	intr   []packetio.RxQueue
	intrOK bool
}

type txTask struct {
	st     *txState
	port   packetio.Port
	refill packetio.RefillPort // port's TxRefill, for FillSources; else nil
	queue  uint16
	index  uint16          // the port's driver index, for taps
	taps   []packetio.Sink // see packets before they are transmitted
	cnt    *txCount        // the port's refusal counters
}

// txCount counts what a port's full tx queues refused (see
// packetio.PortStats.TxBackpressure). Any worker transmitting on the port
// adds to it; refusals are the slow path, so atomics cost nothing that
// matters.
type txCount struct {
	refused, dropped atomic.Uint64
}

// tap shows newly made packets to the port's tx taps. Taps see every
// packet a source makes once, before the port takes it (afterwards the
// driver owns it); one the port then refuses and drop-tx-overruns frees
// was still seen.
func (task *txTask) tap(pkts []*packetio.Mbuf) {
	for _, s := range task.taps {
		s.Push(task.index, pkts)
	}
}

type rxTask struct {
	port  packetio.Port
	index uint16
	queue uint16
	sinks []packetio.Sink
	// timed is sinks as packetio.TimedSinks (nil where one is not), when
	// the port records receive times (times); else nil.
	timed []packetio.TimedSink
	times packetio.RxTimes
	// frames is the port as a packetio.FrameTimes when it times each
	// frame (PortInfo.RxHardwareTimes), and framed its sinks as
	// packetio.FrameTimedSinks (nil where one is not); else both nil.
	frames packetio.FrameTimes
	framed []packetio.FrameTimedSink
	limit  *rxLimit // test hook (Config.RxLimits); nil: none
}

// pushFrameTimes gives the burst pkts to the sinks with each frame's own
// receive time, and returns false, having given it to none, when the port
// has no times for this burst (then the burst's time applies). A sink
// that takes no per-frame times gets the burst's.
func (t *rxTask) pushFrameTimes(pkts []*packetio.Mbuf) bool {
	each := t.frames.RxFrameTimes(t.queue)
	if each == nil {
		return false
	}
	each = each[:len(pkts)] // an rx limit may have cut the burst
	rx := int64(0)
	for i, s := range t.sinks {
		switch {
		case t.framed[i] != nil:
			t.framed[i].PushTimes(t.index, pkts, each)
		case t.timed[i] != nil:
			if rx == 0 {
				rx = t.times.LastRxTime(t.queue)
			}
			t.timed[i].PushAt(t.index, pkts, rx)
		default:
			s.Push(t.index, pkts)
		}
	}
	return true
}

// txState is one source's transmit state. burst, off, n and spare belong
// to the worker running the source, or to the control side once
// Synchronize has taken the source out of every plan; the rest is
// control-side only.
type txState struct {
	portID string
	src    packetio.Source
	fill   packetio.FillSource // src, if it is one
	burst  packetio.Burst
	off, n int // burst.Pkts[off:n] are pulled but not yet sent
	// burst.Pkts[n:n+spare] are raw buffers TxRefill allocated for Fill
	// (at the front, n == 0, whenever nothing is pending).
	spare int
	// worker is where the source runs; assigned keeps it there across
	// republishes, since it may hold pulled packets on that worker.
	worker   int
	assigned bool
}

func newTxState(portID string, src packetio.Source, d packetio.Driver) *txState {
	fill, _ := src.(packetio.FillSource)
	return &txState{portID: portID, src: src, fill: fill, burst: d.NewBurst()}
}

// drop frees packets that were pulled but never sent, and spare buffers.
func (t *txState) drop(pool packetio.Pool) {
	if t.n+t.spare > t.off {
		pool.Free(t.burst.Pkts[t.off : t.n+t.spare])
	}
	t.off, t.n, t.spare = 0, 0, 0
}

// release drops pending packets and frees the burst, and tells a source
// that keeps buffers of its own (a Releaser) to free them.
func (t *txState) release(pool packetio.Pool) {
	t.drop(pool)
	t.burst.Free()
	if r, ok := t.src.(Releaser); ok {
		r.Release()
	}
}

// Releaser is a Source that holds buffers of its own (prebuilt frames);
// RemoveSource calls Release once no worker runs the source any more.
type Releaser interface {
	Release()
}

// publishLocked rebuilds the plan from ports, sinks and sources and swaps
// it in: the plan first, then its generation (workers read them in the
// other order, see worker.run).
func (w *Workers) publishLocked() {
	nw := len(w.workers)
	pl := &plan{workers: make([]workerPlan, nw)}
	for i := range pl.workers {
		pl.workers[i].intrOK = true
	}
	routes := w.routesLocked()
	for _, p := range w.ports {
		info := p.Info()
		var sinks []packetio.Sink
		for _, id := range carriedBy(p, routes) {
			sinks = append(sinks, w.sinks[id]...)
		}
		times, _ := p.(packetio.RxTimes)
		var timed []packetio.TimedSink
		if times != nil {
			timed = make([]packetio.TimedSink, len(sinks))
			for i, s := range sinks {
				timed[i], _ = s.(packetio.TimedSink)
			}
		}
		// Only ports that time frames are asked for their frames' times:
		// the others cost not even the call per burst.
		var frames packetio.FrameTimes
		var framed []packetio.FrameTimedSink
		if ft, ok := p.(packetio.FrameTimes); ok && info.RxHardwareTimes {
			frames = ft
			framed = make([]packetio.FrameTimedSink, len(sinks))
			for i, s := range sinks {
				framed[i], _ = s.(packetio.FrameTimedSink)
			}
		}
		// Queue q goes to worker q (or the q-th receiving worker), the
		// owner of tx queue q too when roles are not split, so a driver
		// that transmits while receiving (bonds send LACP frames) stays on
		// one thread per queue.
		for q := 0; q < info.RxQueues; q++ {
			i := w.rxWorker(info, q)
			pl.workers[i].rx = append(pl.workers[i].rx,
				rxTask{port: p, index: info.Index, queue: uint16(q), sinks: sinks, timed: timed, times: times,
					frames: frames, framed: framed, limit: w.rxLimitLocked(info.ID, q)})
			pl.workers[i].intr = append(pl.workers[i].intr, packetio.RxQueue{Port: p, Queue: uint16(q)})
			pl.workers[i].intrOK = pl.workers[i].intrOK && info.RxInterrupts
		}
	}
	// Sources already on a worker first, so that the new ones see every
	// worker's real load (map order would otherwise hide some of it and
	// could put two shards of one generator on one worker).
	for pass := range 2 {
		for _, st := range w.sources {
			if st.assigned != (pass == 0) {
				continue
			}
			port, ok := routes[st.portID]
			if !ok {
				continue // the port is detached: the source waits for it
			}
			info := port.Info()
			// A tx queue belongs to one worker: worker i uses queue i, so a
			// source may only run on a worker whose index has a queue.
			eligible := w.txWorkers(info)
			if !st.assigned || !slices.Contains(eligible, st.worker) {
				best := eligible[0]
				for _, i := range eligible[1:] {
					if len(pl.workers[i].tx) < len(pl.workers[best].tx) {
						best = i
					}
				}
				st.worker, st.assigned = best, true
			}
			taps := w.taps[st.portID]
			if info.ID != st.portID {
				// Routed through a bond: the bond's taps see it too.
				taps = append(append([]packetio.Sink(nil), taps...), w.taps[info.ID]...)
			}
			cnt := w.txCounts[info.ID]
			if cnt == nil {
				cnt = &txCount{}
				w.txCounts[info.ID] = cnt
			}
			task := txTask{st: st, port: port, queue: uint16(st.worker), index: info.Index, taps: taps, cnt: cnt}
			if st.fill != nil {
				task.refill, _ = port.(packetio.RefillPort)
			}
			pl.workers[st.worker].tx = append(pl.workers[st.worker].tx, task)
		}
	}
	w.plan.Store(pl)
	w.poke()
}

// poke wakes workers sleeping in their idle back-off or in an rx
// interrupt wait. A worker sets epolling before it looks at its wake
// channel a last time, and poke sends before it reads epolling: so
// either the worker sees the send or poke sees the flag.
func (w *Workers) poke() {
	for _, wk := range w.workers {
		wk.poke()
	}
}

// poke wakes the worker if it sleeps (see Workers.poke). It is also the
// worker's QSBR nudge: a worker in an rx interrupt wait stays online.
func (wk *worker) poke() {
	select {
	case wk.wake <- struct{}{}:
	default:
	}
	if wk.epolling.Load() {
		wk.waiter.Wake()
	}
}

// A worker idle for deepAfter may sleep up to deepSleep: with no traffic
// for that long, saving the core matters more than the first packet's
// latency. Control changes still wake it at once.
const (
	deepAfter = time.Second
	deepSleep = 10 * time.Millisecond
)

// A worker idle for intrAfter whose rx queues all have interrupts (and
// whose sources have nothing scheduled) sleeps in an interrupt wait
// instead: no wake-ups at all while idle, and the first frame wakes it
// at once. The wait still ends after intrWait (intrWaitTx with sources:
// one that forgets to Wake is then late by that much at most). intrWait
// is long because each end of a wait wakes the Go runtime too (the
// worker's return from C takes a P, and the runtime's monitor thread then
// polls for a millisecond): at one a second that was most of an idle
// daemon's CPU.
const (
	intrAfter  = 100 * time.Millisecond
	intrWait   = 10 * time.Second
	intrWaitTx = 100 * time.Millisecond
)

// intrRetry is how long a worker whose queues refused to arm polls before
// it tries again: a memif port can arm once its peer connects.
const intrRetry = time.Second

// A worker that moved nothing for idleSpins loops in a row starts to back
// off: sleeps from firstSleep, doubling. Polling a little longer first
// keeps a burst's gap (a few microseconds) from costing a sleep's wake-up
// latency.
const (
	idleSpins  = 64
	firstSleep = 10 * time.Microsecond
)

// dueMargin is how long before a scheduled source's next packet an idle
// worker stops sleeping and polls instead: a sleep's wake-up can be late
// by that much (timer slack, the Go scheduler, the hypervisor), and a late
// wake-up sends paced packets late and then in a clump.
const dueMargin = time.Millisecond

// untilDue returns how long the worker may sleep at most before one of
// its sources is due (less dueMargin; <= 0: do not sleep), or ok false
// when none says.
func untilDue(tx []txTask) (d time.Duration, ok bool) {
	for i := range tx {
		s, is := tx[i].st.src.(packetio.Scheduled)
		if !is {
			continue
		}
		if due, has := s.NextDue(); has && (!ok || due-dueMargin < d) {
			d, ok = due-dueMargin, true
		}
	}
	return d, ok
}

// worker is one data-plane goroutine. Counters are written by the worker
// only and read atomically by Stats.
type worker struct {
	id  int
	cpu int
	ws  *Workers

	wake chan struct{} // a plan change pokes sleeping workers (cap 1)
	// waiter, when not nil, lets the worker sleep until an rx interrupt;
	// made on the worker's thread before Start returns, then read-only.
	waiter   packetio.RxWaiter
	epolling atomic.Bool // in (or about to enter) waiter.Wait
	hasIntr  atomic.Bool // waiter != nil, for Stats
	stop     atomic.Bool
	lcore    atomic.Int64
	tid      atomic.Int64 // the OS thread the worker is locked to; 0 before setup

	busy, idle, sleeps     atomic.Uint64
	intrSleeps             atomic.Uint64
	rxPkts, txPkts, txDrop atomic.Uint64
}

func (wk *worker) run(ready chan<- error) {
	defer wk.ws.wg.Done()
	// Locked for good: the thread is pinned and registered, so it must
	// exit with this goroutine rather than go back to the scheduler.
	runtime.LockOSThread()
	defer wk.tid.Store(0) // the thread exits with us
	if err := wk.setup(); err != nil {
		ready <- err
		return
	}
	if wk.ws.cfg.UnregisterThread != nil {
		defer wk.ws.cfg.UnregisterThread()
	}
	// Registered online: from here on Synchronize waits for this worker's
	// checkpoints (or its going offline to sleep), and pokes it out of an
	// rx interrupt wait, which it spends online.
	reader := wk.ws.qsbr.RegisterNudged(wk.poke)
	defer reader.Unregister()
	wk.makeWaiter()
	if wk.waiter != nil {
		defer wk.waiter.Close()
	}
	ready <- nil
	wk.ws.log.Info("worker started", zap.Int("worker", wk.id), zap.Int("cpu", wk.cpu), zap.Int64("lcore", wk.lcore.Load()),
		zap.Bool("rx_interrupts", wk.waiter != nil))

	d := wk.ws.cfg.Driver
	pool := d.Pool()
	rxb := d.NewBurst()
	defer rxb.Free()
	dropOverruns := wk.ws.cfg.DropTxOverruns
	maxSleep := wk.ws.cfg.MaxIdleSleep
	sleep := time.Duration(0)
	idleStreak := 0
	var idleSince time.Time
	var armed *plan   // the plan whose rx queues are armed; nil: none
	var refused *plan // the plan whose queues failed to arm
	var refusedAt time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()

	// Counters are kept locally and published every flushEvery loops and
	// before sleeping: atomics on every loop cost ~4% of an rx loop.
	var c counts
	defer wk.flush(&c)
	pending := 0 // rxb.Pkts[:pending] go back to the pool with the next RxBurst
	defer func() { pool.Free(rxb.Pkts[:pending]) }()

	// resume is the plan of an rx interrupt wait that just ended: its
	// queues are polled once more before the next checkpoint, so a burst
	// the wait received (packetio.RxWaiter) goes where the plan it was
	// received under says, and never outlives it.
	var resume *plan
	for loop := uint(1); !wk.stop.Load(); loop++ {
		pl := resume
		if pl == nil {
			// Quiescent point: nothing read from the previous plan (or
			// any snapshot) is still held. Then read the current plan.
			reader.Checkpoint()
			pl = wk.ws.plan.Load()
		}
		resume = nil
		wp := &pl.workers[wk.id]

		moved := 0
		for i := range wp.rx {
			t := &wp.rx[i]
			n := t.port.RxBurst(t.queue, rxb.Pkts[:packetio.BurstSize], pending)
			pending = n
			if n == 0 {
				continue
			}
			pkts := rxb.Pkts[:n]
			if t.limit != nil {
				// Frames over the limit go back to the pool with the
				// rest at the next RxBurst, unseen.
				pkts = pkts[:t.limit.admit(n)]
			}
			if t.frames != nil && t.pushFrameTimes(pkts) {
				// Given with each frame's own time.
			} else if t.times != nil {
				rx := t.times.LastRxTime(t.queue)
				for i, s := range t.sinks {
					if ts := t.timed[i]; ts != nil {
						ts.PushAt(t.index, pkts, rx)
					} else {
						s.Push(t.index, pkts)
					}
				}
			} else {
				for _, s := range t.sinks {
					s.Push(t.index, pkts)
				}
			}
			c.rx += uint64(n)
			moved += n
		}
		if pending > 0 && len(wp.rx) == 0 {
			pool.Free(rxb.Pkts[:pending])
			pending = 0
		}
		for i := range wp.tx {
			moved += wk.transmit(&wp.tx[i], pool, dropOverruns, &c)
		}
		if loop%flushEvery == 0 {
			wk.flush(&c)
		}

		if moved > 0 {
			c.busy++
			if sleep != 0 { // busy again after backing off (or a wait)
				select {
				case wk.ws.active <- struct{}{}:
				default:
				}
			}
			idleStreak, sleep = 0, 0
			if armed != nil {
				wk.waiter.Disarm(wp.intr)
				armed = nil
			}
			continue
		}
		c.idle++
		idleStreak++
		if idleStreak < idleSpins {
			continue
		}
		// A source due soon is waited for by polling, before the back-off
		// below: that costs a clock read per loop, not two, and leaves
		// the back-off where it was.
		due, scheduled := untilDue(wp.tx)
		if scheduled && due <= 0 {
			continue
		}
		// Nothing for a while: sleep, doubling up to maxSleep (deepSleep
		// once idle for deepAfter), but not past a source's next packet,
		// offline so Synchronize need not wait for us. A plan change
		// wakes us at once.
		limit := maxSleep
		if sleep == 0 {
			sleep = firstSleep
			idleSince = time.Now()
		} else {
			if time.Since(idleSince) > deepAfter {
				limit = max(maxSleep, deepSleep)
			}
			sleep = min(2*sleep, limit)
		}
		if scheduled {
			sleep = min(sleep, due)
		} else if wk.waiter != nil && wp.intrOK && (refused != pl || time.Since(refusedAt) > intrRetry) && time.Since(idleSince) > intrAfter {
			if armed != pl {
				if armed != nil {
					wk.waiter.Disarm(wp.intr)
				}
				armed = nil
				if err := wk.waiter.Arm(wp.intr); err != nil {
					// Back off by sleeping; try again after intrRetry.
					if refused != pl {
						log := wk.ws.log.Warn
						if errors.Is(err, packetio.ErrRxIntrNotReady) {
							log = wk.ws.log.Debug
						}
						log("rx interrupts refused: polling", zap.Int("worker", wk.id), zap.Error(err))
					}
					refused, refusedAt = pl, time.Now()
				} else {
					armed = pl
				}
				// Frames that came before the queues were armed raise
				// no interrupt: poll once more before waiting.
				continue
			}
			pending = wk.waitIntr(wp, &c, rxb.Pkts[:pending], pool)
			armed, resume = nil, pl
			continue
		}
		c.sleeps++
		wk.flush(&c)
		if pending > 0 { // nothing from the last burst may outlive the quiescent point
			pool.Free(rxb.Pkts[:pending])
			pending = 0
		}
		reader.Offline()
		timer.Reset(sleep)
		select {
		case <-timer.C:
		case <-wk.wake:
			timer.Stop()
		}
		reader.Online()
	}
}

// makeWaiter gives the worker an rx interrupt waiter when the workers
// want interrupts and the driver has them; without one it backs off by
// sleeping. Runs on the worker's thread (the epoll instance is per
// thread).
func (wk *worker) makeWaiter() {
	if !wk.ws.cfg.RxInterrupts {
		return
	}
	ri, ok := wk.ws.cfg.Driver.(packetio.RxInterrupts)
	if !ok {
		return
	}
	w, err := ri.NewRxWaiter()
	if err != nil {
		wk.ws.log.Warn("worker polls without rx interrupts", zap.Int("worker", wk.id), zap.Error(err))
		return
	}
	wk.waiter = w
	wk.hasIntr.Store(true)
}

// waitIntr sleeps in the waiter until a frame, a poke or the timeout,
// with the queues of wp armed, and disarms them. It frees the last rx
// burst first (returns the new pending count, 0).
//
// The worker stays a QSBR reader online while it waits: the wait receives
// from the queue that woke it before it returns (packetio.RxWaiter), so
// the queues' ports must not be stopped meanwhile. Synchronize nudges it
// out (worker.poke) when a writer waits for it.
func (wk *worker) waitIntr(wp *workerPlan, c *counts, pending []*packetio.Mbuf, pool packetio.Pool) int {
	c.intrSleeps++
	wk.flush(c)
	if len(pending) > 0 { // the stash of the next wait reuses no mbuf of ours, but free early
		pool.Free(pending)
	}
	timeout := intrWait
	if len(wp.tx) > 0 {
		timeout = intrWaitTx
	}
	wk.epolling.Store(true)
	select {
	case <-wk.wake: // poked since the last loop: do not sleep
	default:
		wk.waiter.Wait(timeout)
	}
	wk.epolling.Store(false)
	// Every queue of wp stays watched, even one a newer plan dropped: its
	// port is still running (Synchronize waits for this worker's next
	// checkpoint, after the caller polls wp's queues once more and so
	// takes what the wait received); the next Arm forgets it.
	wk.waiter.Disarm(wp.intr)
	return 0
}

func (wk *worker) setup() error {
	wk.tid.Store(int64(unix.Gettid()))
	// Named so that ps, top and tests can tell the worker threads from the
	// runtime's; the name dies with the thread (it never goes back to the
	// scheduler). A failure only costs the name.
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&threadName(wk.id)[0])), 0, 0, 0)
	if wk.cpu >= 0 {
		var set unix.CPUSet
		set.Set(wk.cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("worker %d: pin to CPU %d: %w", wk.id, wk.cpu, err)
		}
	}
	wk.lcore.Store(-1)
	if wk.ws.cfg.RegisterThread != nil {
		lc, err := wk.ws.cfg.RegisterThread()
		if err != nil {
			return fmt.Errorf("worker %d: %w", wk.id, err)
		}
		wk.lcore.Store(int64(lc))
	}
	return nil
}

// threadName is worker id's thread name as a NUL-terminated C string
// (Linux keeps 15 bytes of it).
func threadName(id int) []byte {
	return append([]byte(ThreadNamePrefix+strconv.Itoa(id)), 0)
}

// counts are a worker's counters not yet published.
type counts struct {
	busy, idle, sleeps uint64
	intrSleeps         uint64
	rx, tx, txDrop     uint64
}

const flushEvery = 64

// flush publishes local counters to the ones Stats reads.
func (wk *worker) flush(c *counts) {
	wk.busy.Add(c.busy)
	wk.idle.Add(c.idle)
	wk.sleeps.Add(c.sleeps)
	wk.intrSleeps.Add(c.intrSleeps)
	wk.rxPkts.Add(c.rx)
	wk.txPkts.Add(c.tx)
	wk.txDrop.Add(c.txDrop)
	*c = counts{}
}

// transmit sends what a source has pending, pulling a new burst when the
// last one is gone. It returns the number of packets the port took.
func (wk *worker) transmit(task *txTask, pool packetio.Pool, dropOverruns bool, c *counts) int {
	if task.refill != nil {
		return wk.transmitFill(task, pool, dropOverruns, c)
	}
	t := task.st
	if t.spare > 0 { // left from a port with TxRefill
		pool.Free(t.burst.Pkts[t.n : t.n+t.spare])
		t.spare = 0
	}
	if t.off == t.n {
		t.off, t.n = 0, t.src.Pull(t.burst.Pkts)
		if t.n == 0 {
			return 0
		}
		if task.taps != nil {
			task.tap(t.burst.Pkts[:t.n])
		}
	}
	sent := task.port.TxBurst(task.queue, t.burst.Pkts[t.off:t.n])
	t.off += sent
	dropped := 0
	if t.off < t.n {
		task.cnt.refused.Add(uint64(t.n - t.off))
		if dropOverruns {
			dropped = t.n - t.off
			pool.Free(t.burst.Pkts[t.off:t.n])
			t.off = t.n
			c.txDrop += uint64(dropped)
			task.cnt.dropped.Add(uint64(dropped))
		}
	}
	if sent > 0 || dropped > 0 {
		t.src.Sent(sent, dropped)
	}
	c.tx += uint64(sent)
	return sent
}

// transmitFill is transmit for a FillSource on a RefillPort: the source
// writes into buffers allocated by the call that sent its previous burst,
// so a burst costs one driver call.
func (wk *worker) transmitFill(task *txTask, pool packetio.Pool, dropOverruns bool, c *counts) int {
	t := task.st
	pkts := t.burst.Pkts
	want := t.fill.Want()
	if t.off == t.n { // nothing pending: spares are at the front
		if t.spare > 0 {
			k := t.fill.Fill(pkts[:t.spare])
			t.off, t.n, t.spare = 0, k, t.spare-k
		} else if want == 0 {
			// A source with buffers of its own (or done).
			t.off, t.n = 0, t.src.Pull(pkts)
		}
		if task.taps != nil && t.n > 0 {
			task.tap(pkts[:t.n])
		}
	}
	if t.off == t.n && want <= t.spare {
		return 0 // nothing to send or to allocate
	}
	sent, avail := task.refill.TxRefill(task.queue, pkts, t.off, t.n, t.spare, want)
	t.off += sent
	dropped := 0
	if t.off < t.n {
		task.cnt.refused.Add(uint64(t.n - t.off))
	}
	if t.off < t.n && dropOverruns {
		dropped = t.n - t.off
		pool.Free(pkts[t.off:t.n])
		c.txDrop += uint64(dropped)
		task.cnt.dropped.Add(uint64(dropped))
		copy(pkts, pkts[t.n:t.n+t.spare])
		t.off, t.n = 0, 0
	} else if t.off == t.n {
		t.off, t.n, t.spare = 0, 0, avail
	}
	if sent > 0 || dropped > 0 {
		t.src.Sent(sent, dropped)
	}
	c.tx += uint64(sent)
	return sent
}
