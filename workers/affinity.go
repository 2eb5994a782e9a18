package workers

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ThreadNamePrefix starts the name (/proc/<pid>/task/<tid>/comm) of every
// pinned worker thread; the worker's index follows. Tools and tests find
// the worker threads by it.
const ThreadNamePrefix = "op-worker-"

// ConfineThreads restricts every thread of this process except those in
// skip (thread ids) to cpus, so that the Go runtime's threads and the ones
// C libraries start (DPDK's interrupt and multi-process threads) stay off
// the worker CPUs. It returns how many threads it moved.
//
// Linux has no process-wide affinity: each thread has its own, and a new
// thread copies its creator's. So this walks /proc/self/task and sets each
// thread, and walks again until a pass changes nothing: a thread created
// during a pass by one not yet confined may have copied the old mask.
// Threads created afterwards by confined threads inherit the confinement;
// the Go runtime creates threads from a locked (pinned worker) thread via
// its template thread, never by cloning the locked one.
func ConfineThreads(cpus []int, skip map[int]bool) (moved int, err error) {
	if len(cpus) == 0 {
		return 0, fmt.Errorf("confine threads: no CPUs given")
	}
	var want unix.CPUSet
	for _, c := range cpus {
		want.Set(c)
	}
	for pass := 0; pass < 10; pass++ {
		changed, err := confinePass(&want, skip)
		moved += changed
		if err != nil {
			return moved, err
		}
		if changed == 0 {
			return moved, nil
		}
	}
	return moved, fmt.Errorf("confine threads to CPUs %v: threads kept appearing with other CPU sets", cpus)
}

// confinePass sets want on every thread not in skip whose set differs and
// returns how many it set.
func confinePass(want *unix.CPUSet, skip map[int]bool) (int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, fmt.Errorf("list threads: %w", err)
	}
	changed := 0
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil || skip[tid] {
			continue
		}
		var have unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &have); err != nil {
			if err == unix.ESRCH {
				continue // the thread exited since the listing
			}
			return changed, fmt.Errorf("read CPU set of thread %d: %w", tid, err)
		}
		if have == *want {
			continue
		}
		if err := unix.SchedSetaffinity(tid, want); err != nil {
			if err == unix.ESRCH {
				continue
			}
			return changed, fmt.Errorf("set CPU set of thread %d: %w", tid, err)
		}
		changed++
	}
	return changed, nil
}
