// Package workers runs the data plane: one goroutine per worker CPU,
// locked to its OS thread, pinned to the CPU and registered with the
// driver's thread runtime. Each loop a worker polls its rx queues, hands
// bursts to the port's sinks, pulls bursts from its sources and transmits
// them, and backs off when there is nothing to do.
//
// What each worker does is an immutable plan, swapped atomically by the
// control side. Each worker is a fib.QSBR reader: it checkpoints at the top
// of every loop and goes offline while it backs off (an rx interrupt wait
// stays online and Synchronize pokes it out), so Synchronize can tell when
// no worker still uses something that was removed (RCU's quiescent-state
// scheme, shared with the FIB).
package workers

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/openperfd/openperfd/fib"
	"github.com/openperfd/openperfd/packetio"
)

// Config is what the workers need.
type Config struct {
	CPUs []int // one worker per entry; -1 means do not pin
	// Roles, when not nil, gives each worker (same order as CPUs) the
	// directions it serves; nil: every worker receives and transmits.
	Roles  []Role
	Driver packetio.Driver
	// RegisterThread is called once on each worker's locked thread before
	// it polls (DPDK: rte_thread_register); UnregisterThread as it exits.
	RegisterThread   func() (int, error)
	UnregisterThread func()
	// DropTxOverruns frees packets a full tx queue refused instead of
	// retrying them on the next loop.
	DropTxOverruns bool
	// RxLimits, a test hook, polices ports' receive queues: frames per
	// second by port id, each queue on its own (see rxLimit). Frames over
	// the limit reach no sink, as if a slower link had dropped them.
	RxLimits map[string]float64
	// QSBR is where workers announce quiescent states; the FIB and the
	// stack synchronise on the same one. Nil makes a private one.
	QSBR *fib.QSBR
	// RxInterrupts lets idle workers sleep until an rx interrupt when the
	// driver implements packetio.RxInterrupts and every rx queue of the
	// worker has one (--modules.packetio.dpdk.no-rx-interrupts turns it off).
	RxInterrupts bool
	// MaxIdleSleep caps the back-off sleep of an idle worker.
	MaxIdleSleep time.Duration
	Log          *zap.Logger
}

// Stats are one worker's counters.
type Stats struct {
	ID         int
	CPU        int
	Lcore      int
	Thread     int    // OS thread id (Linux tid) the worker runs on; 0 if not started
	BusyLoops  uint64 // loops that moved at least one packet
	IdleLoops  uint64 // loops that moved none
	IdleSleeps uint64 // back-off sleeps taken
	IntrSleeps uint64 // sleeps until an rx interrupt (or a poke) taken
	// RxInterrupts is true when the worker can sleep until an rx
	// interrupt (it does so whenever all its rx queues have one).
	RxInterrupts bool
	RxPackets    uint64
	TxPackets    uint64
	TxDropped    uint64 // refused by a full queue and freed (drop-tx-overruns)
	RxQueues     int
	Sources      int
}

// Workers is the set of worker goroutines and the plan they run.
// Control methods are safe for concurrent use and serialised by mu.
type Workers struct {
	cfg     Config
	log     *zap.Logger
	workers []*worker

	plan atomic.Pointer[plan]
	qsbr *fib.QSBR

	mu      sync.Mutex // guards ports, sinks, sources, started and plan publication
	ports   []packetio.Port
	sinks   map[string][]packetio.Sink
	taps    map[string][]packetio.Sink // tx taps by port id
	sources map[packetio.Source]*txState
	// txCounts are the tx refusal counters by port id, made when a source
	// first transmits on the port and kept for the daemon's life.
	txCounts map[string]*txCount
	// rxLimits are the policers of Config.RxLimits by port id and queue,
	// made when a plan first polls the queue and kept, so their buckets
	// survive plan changes.
	rxLimits map[rxQueueKey]*rxLimit
	started  bool
	wg       sync.WaitGroup
	// active gets a token when a worker moves packets again after it
	// backed off or waited for an interrupt (see Active).
	active chan struct{}
}

// New makes the workers; Start runs them.
func New(cfg Config) (*Workers, error) {
	if len(cfg.CPUs) == 0 {
		return nil, errors.New("workers: no CPUs given")
	}
	if cfg.Driver == nil {
		return nil, errors.New("workers: no driver")
	}
	if err := checkRoles(cfg.Roles, len(cfg.CPUs)); err != nil {
		return nil, err
	}
	if cfg.MaxIdleSleep == 0 {
		cfg.MaxIdleSleep = time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.QSBR == nil {
		cfg.QSBR = fib.NewQSBR()
	}
	w := &Workers{
		qsbr:    cfg.QSBR,
		cfg:     cfg,
		log:     cfg.Log,
		sinks:   map[string][]packetio.Sink{},
		taps:    map[string][]packetio.Sink{},
		sources: map[packetio.Source]*txState{},

		txCounts: map[string]*txCount{},
		active:   make(chan struct{}, 1),
	}
	for i, cpu := range cfg.CPUs {
		w.workers = append(w.workers, &worker{id: i, cpu: cpu, ws: w, wake: make(chan struct{}, 1)})
	}
	w.plan.Store(&plan{workers: make([]workerPlan, len(w.workers))})
	return w, nil
}

// Count is the number of workers.
func (w *Workers) Count() int { return len(w.workers) }

// Start launches the worker goroutines and waits until each has pinned
// and registered its thread.
func (w *Workers) Start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return nil
	}
	errs := make(chan error, len(w.workers))
	for _, wk := range w.workers {
		w.wg.Add(1)
		go wk.run(errs)
	}
	var first error
	for range w.workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	w.started = true
	if first != nil {
		w.stopLocked()
		return first
	}
	return nil
}

// Stop ends the worker goroutines and frees packets still waiting to be
// sent. It returns once they have exited.
func (w *Workers) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopLocked()
}

func (w *Workers) stopLocked() {
	if !w.started {
		return
	}
	for _, wk := range w.workers {
		wk.stop.Store(true)
	}
	w.poke()
	w.wg.Wait()
	w.started = false
	for _, st := range w.sources {
		st.release(w.cfg.Driver.Pool())
	}
}

// Stats returns every worker's counters.
func (w *Workers) Stats() []Stats {
	pl := w.plan.Load()
	out := make([]Stats, len(w.workers))
	for i, wk := range w.workers {
		out[i] = Stats{
			ID: wk.id, CPU: wk.cpu, Lcore: int(wk.lcore.Load()), Thread: int(wk.tid.Load()),
			BusyLoops: wk.busy.Load(), IdleLoops: wk.idle.Load(), IdleSleeps: wk.sleeps.Load(),
			IntrSleeps: wk.intrSleeps.Load(), RxInterrupts: wk.hasIntr.Load(),
			RxPackets: wk.rxPkts.Load(), TxPackets: wk.txPkts.Load(), TxDropped: wk.txDrop.Load(),
			RxQueues: len(pl.workers[i].rx), Sources: len(pl.workers[i].tx),
		}
	}
	return out
}

// Active returns a channel that receives when a worker starts moving
// packets after it was idle (backing off or waiting for an interrupt), at
// most one pending token: housekeeping that matters only while packets
// move can wait on it instead of waking on a timer.
func (w *Workers) Active() <-chan struct{} { return w.active }

// Moved returns how many packets the workers have received and sent in
// all, as far as they have published: a cheap way to tell whether the data
// plane carried anything between two calls.
func (w *Workers) Moved() uint64 {
	var n uint64
	for _, wk := range w.workers {
		n += wk.rxPkts.Load() + wk.txPkts.Load()
	}
	return n
}

// ThreadIDs returns the OS thread ids of the started workers, the threads
// ConfineThreads must leave on their own CPUs.
func (w *Workers) ThreadIDs() map[int]bool {
	ids := map[int]bool{}
	for _, wk := range w.workers {
		if t := wk.tid.Load(); t != 0 {
			ids[int(t)] = true
		}
	}
	return ids
}

// AttachPort puts a started port's rx queues on the workers, spread
// round-robin, and lets sources transmit on it.
func (w *Workers) AttachPort(p packetio.Port) {
	w.mu.Lock()
	defer w.mu.Unlock()
	id := p.Info().ID
	for _, q := range w.ports {
		if q.Info().ID == id {
			return
		}
	}
	w.ports = append(w.ports, p)
	w.publishLocked()
}

// DetachPort takes a port off the workers and returns once no worker can
// still be polling it, so the caller may stop it. Sources whose traffic
// went through the port (on it, or on a member of a bond that it is) stay
// registered but idle until a port carries them again; packets they had
// pulled are freed and each is told through Detached.
func (w *Workers) DetachPort(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	before := w.routesLocked()
	kept := w.ports[:0]
	for _, p := range w.ports {
		if p.Info().ID != id {
			kept = append(kept, p)
		}
	}
	w.ports = kept
	w.publishLocked()
	w.synchronizeLocked()
	for _, st := range w.sources {
		if p, ok := before[st.portID]; ok && p.Info().ID == id {
			st.drop(w.cfg.Driver.Pool())
			st.src.Detached()
		}
	}
}

type rxQueueKey struct {
	port  string
	queue int
}

// rxLimitLocked returns the policer of a port's rx queue, nil when the
// port has no limit; w.mu is held.
func (w *Workers) rxLimitLocked(portID string, q int) *rxLimit {
	fps, ok := w.cfg.RxLimits[portID]
	if !ok {
		return nil
	}
	k := rxQueueKey{portID, q}
	if w.rxLimits == nil {
		w.rxLimits = map[rxQueueKey]*rxLimit{}
	}
	l := w.rxLimits[k]
	if l == nil {
		l = newRxLimit(fps)
		w.rxLimits[k] = l
	}
	return l
}

// AddSink registers a sink for packets received on a port (by id).
func (w *Workers) AddSink(portID string, s packetio.Sink) { w.addTo(w.sinks, portID, s) }

// RemoveSink unregisters a sink and returns once no worker calls it.
func (w *Workers) RemoveSink(portID string, s packetio.Sink) { w.removeFrom(w.sinks, portID, s) }

// AddTxTap registers a sink that sees the packets sources make for a
// port (by id), just before the port takes them.
func (w *Workers) AddTxTap(portID string, s packetio.Sink) { w.addTo(w.taps, portID, s) }

// RemoveTxTap unregisters a tx tap and returns once no worker calls it.
func (w *Workers) RemoveTxTap(portID string, s packetio.Sink) { w.removeFrom(w.taps, portID, s) }

// addTo adds s to a port's list in m (w.sinks or w.taps) and publishes.
// removeFrom finds s again by ==, which panics on an uncomparable type
// (a func type, say): such a sink is a bug, caught here rather than when
// it is removed, perhaps at shutdown.
func (w *Workers) addTo(m map[string][]packetio.Sink, portID string, s packetio.Sink) {
	if s == nil || !reflect.TypeOf(s).Comparable() {
		panic(fmt.Sprintf("workers: a sink of type %T cannot be compared, so it could not be removed; register a pointer", s))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	m[portID] = append(m[portID], s)
	w.publishLocked()
}

// removeFrom takes s off a port's list in m, publishes and returns once
// no worker runs the old plan.
func (w *Workers) removeFrom(m map[string][]packetio.Sink, portID string, s packetio.Sink) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := m[portID]
	for i, x := range list {
		if x == s {
			m[portID] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	w.publishLocked()
	w.synchronizeLocked()
}

// AddSource registers a source that transmits on a port (by id). The port
// must be attached now, or be a member of an attached bond (the bond then
// carries its frames); the source stays registered across detaching and
// re-attaching it.
func (w *Workers) AddSource(portID string, s packetio.Source) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.routesLocked()[portID]; !ok {
		return fmt.Errorf("add source to port %s: %w", portID, packetio.ErrNotFound)
	}
	if _, dup := w.sources[s]; dup {
		return nil
	}
	w.sources[s] = newTxState(portID, s, w.cfg.Driver)
	w.publishLocked()
	return nil
}

// RemoveSource unregisters a source, waits until no worker runs it and
// frees the packets it had pulled but not sent.
func (w *Workers) RemoveSource(s packetio.Source) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, ok := w.sources[s]
	if !ok {
		return
	}
	delete(w.sources, s)
	w.publishLocked()
	w.synchronizeLocked()
	st.release(w.cfg.Driver.Pool())
}

// Wake pokes workers sleeping in their idle back-off, for sources that
// just queued packets.
func (w *Workers) Wake() { w.poke() }

var _ packetio.TxCounters = (*Workers)(nil)

// TxRefused implements packetio.TxCounters.
func (w *Workers) TxRefused(portID string) (refused, dropped uint64) {
	w.mu.Lock()
	c := w.txCounts[portID]
	w.mu.Unlock()
	if c == nil {
		return 0, 0
	}
	return c.refused.Load(), c.dropped.Load()
}

// Synchronize returns once every worker has passed a quiescent point
// after the call began: nothing unpublished before it is still in use.
func (w *Workers) Synchronize() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.synchronizeLocked()
}

func (w *Workers) synchronizeLocked() { w.qsbr.Synchronize() }

// TxQueues returns how many workers may transmit on a port (by id; a bond
// member counts as its bond): the most sources of one generator that can
// transmit on it side by side. An unknown port gives 1.
func (w *Workers) TxQueues(portID string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p, ok := w.routesLocked()[portID]; ok {
		return len(w.txWorkers(p.Info()))
	}
	return 1
}
