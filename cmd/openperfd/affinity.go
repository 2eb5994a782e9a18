package main

import (
	"os"
	"runtime"

	"go.uber.org/zap"

	"github.com/openperfd/openperfd/workers"
)

// init keeps the main goroutine on the main thread for good, so that no
// worker locks and pins that thread: its name is the process's (a worker
// renames its thread op-worker-N, which ps would then show for the
// daemon), and the main thread cannot exit with a worker goroutine but
// would stay parked on the worker's CPU.
func init() { runtime.LockOSThread() }

// confineControl keeps every thread but the workers' (skip) off the worker
// CPUs: a control thread that the kernel runs on a worker's CPU preempts
// the worker, and frame latency under API load went from 230 ns on average
// to 4 µs (max 218 µs to 21 ms) when it did. start calls it twice: before
// EAL starts, so that EAL's own threads and every thread the Go runtime
// makes later inherit the control CPUs, and once the workers have pinned
// themselves, to move any thread that escaped (it reports how many it did).
//
// It only logs on failure: the daemon still works with control threads on
// worker CPUs, only its latency suffers.
func confineControl(plan *dataplanePlan, skip map[int]bool, log *zap.Logger) {
	if plan.noPorts {
		return // no pinned workers: nothing to keep apart
	}
	if len(plan.controlCPUs) == 0 {
		if skip == nil {
			log.Warn("the workers take every CPU: control threads (API, stack, Go runtime, DPDK) share the worker CPUs",
				zap.Ints("worker_cpus", plan.workerCPUs))
		}
		return
	}
	if skip == nil {
		holdProcs(plan, log)
		raiseHeapFloor(log)
	}
	moved, err := workers.ConfineThreads(plan.controlCPUs, skip)
	if err != nil {
		log.Warn("could not keep control threads off the worker CPUs", zap.Error(err),
			zap.Ints("worker_cpus", plan.workerCPUs), zap.Ints("control_cpus", plan.controlCPUs))
		return
	}
	if skip == nil {
		log.Info("control threads confined", zap.Ints("control_cpus", plan.controlCPUs),
			zap.Ints("worker_cpus", plan.workerCPUs), zap.Int("threads", moved))
	} else if moved > 0 {
		log.Info("control threads moved off the worker CPUs after start", zap.Int("threads", moved))
	}
}

// holdProcs fixes GOMAXPROCS at one P per worker plus one per control CPU
// before the threads are confined. Left to itself the runtime re-reads
// the CPU count once a second from sysmon's thread, which then sees only
// the control CPUs: GOMAXPROCS fell to 1 on a two-CPU machine, so a worker
// waking from its idle sleep (it runs Go code and needs a P) waited for
// the API's goroutines to yield the only P, and a busy worker held it
// while the API starved. Setting it once marks it as chosen, which stops
// those updates; a GOMAXPROCS from the environment is kept.
func holdProcs(plan *dataplanePlan, log *zap.Logger) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	n := max(runtime.GOMAXPROCS(0), len(plan.workerCPUs)+len(plan.controlCPUs))
	runtime.GOMAXPROCS(n)
	log.Debug("GOMAXPROCS fixed", zap.Int("procs", n))
}
