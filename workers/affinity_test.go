package workers

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/packetio/fake"
)

// TestConfineThreadsMovesAllButSkipped pins one locked thread to CPU 1,
// confines the others to CPU 0 and checks both: the process's threads
// leave CPU 1 and the skipped one keeps it.
func TestConfineThreadsMovesAllButSkipped(t *testing.T) {
	var orig unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err != nil || !orig.IsSet(0) || !orig.IsSet(1) {
		t.Skip("needs CPUs 0 and 1")
	}
	pinned := make(chan int)
	release := make(chan struct{})
	done := make(chan unix.CPUSet)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with us
		var one unix.CPUSet
		one.Set(1)
		_ = unix.SchedSetaffinity(0, &one)
		pinned <- unix.Gettid()
		<-release
		var got unix.CPUSet
		_ = unix.SchedGetaffinity(0, &got)
		done <- got
	}()
	tid := <-pinned
	moved, err := ConfineThreads([]int{0}, map[int]bool{tid: true})
	// Undo for the other tests in this binary, whatever happened.
	defer func() { _, _ = ConfineThreads(cpus(orig), nil) }()
	if err != nil {
		t.Fatal(err)
	}
	if moved == 0 {
		t.Error("no thread moved, yet every thread had CPU 1")
	}
	close(release)
	if got := <-done; got.Count() != 1 || !got.IsSet(1) {
		t.Errorf("skipped thread lost its pin: %d CPUs", got.Count())
	}
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil || mine.Count() != 1 || !mine.IsSet(0) {
		t.Errorf("this thread may run on %d CPUs, want only CPU 0", mine.Count())
	}
}

func cpus(s unix.CPUSet) []int {
	var out []int
	for c := 0; c < 1024; c++ {
		if s.IsSet(c) {
			out = append(out, c)
		}
	}
	return out
}

// TestWorkerThreadsAreNamedAndReportTheirTid: tools find a worker's
// thread by its name or by the tid in Stats, and after Stop no stale tid
// is left to skip.
func TestWorkerThreadsAreNamedAndReportTheirTid(t *testing.T) {
	w, err := New(Config{CPUs: []int{-1, -1}, Driver: fake.New(1, 1, 64)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	ids := w.ThreadIDs()
	if len(ids) != 2 {
		t.Fatalf("thread ids %v, want one per worker", ids)
	}
	for _, s := range w.Stats() {
		if !ids[s.Thread] {
			t.Errorf("worker %d: stats tid %d not among %v", s.ID, s.Thread, ids)
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/comm", s.Thread))
		if want := ThreadNamePrefix + strconv.Itoa(s.ID); err != nil || strings.TrimSpace(string(comm)) != want {
			t.Errorf("worker %d: thread name %q (%v), want %q", s.ID, comm, err, want)
		}
	}
	w.Stop()
	if ids := w.ThreadIDs(); len(ids) != 0 {
		t.Errorf("stopped workers still report threads %v", ids)
	}
}
