package workers

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Lender lends the worker CPUs to the control threads while nothing is
// being measured. The workers own their CPUs so that API load cannot
// preempt them mid-measurement (issue 14: frame latency under REST load
// went from 230 ns to 4 µs on average when control threads shared them);
// but with no generator, analyzer or capture running, a worker has only
// the stack's control traffic, its CPU sits mostly idle, and the control
// plane, now bound to fewer CPUs, is the slow part: 100,000 interfaces took
// 8.2 s to create with both CPUs and 11.5-13 s with one. The Lender widens
// the control threads' CPU set to every CPU while busy reports false, and
// narrows it back before anything starts (Reclaim, which the services call
// before a run starts) or at its next check. Stack traffic (ARP, ND,
// ping) may then share a worker's CPU; measurements never do.
type Lender struct {
	control, all []int
	busy         func() bool
	threads      func() map[int]bool // the worker threads, never moved
	confine      func(cpus []int, skip map[int]bool) (int, error)
	log          *zap.Logger

	mu   sync.Mutex
	lent bool
	// reclaimed gets a token from Reclaim, for Run waiting while lent.
	reclaimed chan struct{}
}

// NewLender makes a Lender for w's workers, whose CPUs the control threads
// (kept to control) may use while busy returns false.
func NewLender(w *Workers, control []int, busy func() bool, log *zap.Logger) *Lender {
	all := slices.Clone(control)
	for _, wk := range w.workers {
		if !slices.Contains(all, wk.cpu) {
			all = append(all, wk.cpu)
		}
	}
	slices.Sort(all)
	return &Lender{control: control, all: all, busy: busy, threads: w.ThreadIDs, confine: ConfineThreads, log: log,
		reclaimed: make(chan struct{}, 1)}
}

// Run checks until ctx ends, lending or reclaiming as busy says; it
// reclaims before it returns. While the CPUs are not lent it checks every
// period (to lend them once a run ends). While they are, it only waits for
// Reclaim: a run's start reclaims them itself (BeforeStart), and an idle
// daemon should not wake on a timer; it checks again a period after a
// Reclaim, when the run it announced has started.
func (l *Lender) Run(ctx context.Context, period time.Duration) {
	t := time.NewTimer(period)
	defer t.Stop()
	defer l.Reclaim()
	for {
		if l.busy() {
			l.Reclaim()
		} else {
			l.lend()
		}
		if l.Lent() {
			select {
			case <-ctx.Done():
				return
			case <-l.reclaimed:
			}
		}
		t.Reset(period)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reclaim keeps the control threads off the worker CPUs again, now.
func (l *Lender) Reclaim() {
	l.set(false)
	select {
	case l.reclaimed <- struct{}{}:
	default:
	}
}

// Lent reports whether the worker CPUs are lent.
func (l *Lender) Lent() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lent
}

func (l *Lender) lend() { l.set(true) }

func (l *Lender) set(lend bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lent == lend {
		return
	}
	cpus := l.control
	if lend {
		cpus = l.all
	}
	if _, err := l.confine(cpus, l.threads()); err != nil {
		l.log.Warn("could not set the control threads' CPUs", zap.Ints("cpus", cpus), zap.Bool("lend", lend), zap.Error(err))
		if lend {
			return // stay confined
		}
	}
	l.lent = lend
	l.log.Debug("worker CPUs for the control threads", zap.Bool("lent", lend), zap.Ints("control_cpus", cpus))
}
