package aat

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadInfo is one thread of a process as /proc shows it.
type threadInfo struct {
	tid     int
	name    string
	allowed string // Cpus_allowed_list, as the kernel prints it ("0", "0-1")
}

// threads lists a process's threads with their names and allowed CPUs.
func threads(t *testing.T, pid int) []threadInfo {
	t.Helper()
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("list threads of %d: %v", pid, err)
	}
	var out []threadInfo
	for _, dir := range dirs {
		tid, _ := strconv.Atoi(filepath.Base(dir))
		comm, err1 := os.ReadFile(filepath.Join(dir, "comm"))
		status, err2 := os.ReadFile(filepath.Join(dir, "status"))
		if err1 != nil || err2 != nil {
			continue // exited since the listing
		}
		th := threadInfo{tid: tid, name: strings.TrimSpace(string(comm))}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				th.allowed = strings.TrimSpace(v)
			}
		}
		out = append(out, th)
	}
	return out
}

// TestWorkerCPUsAreTheWorkersAlone is issue 14's rule: each worker thread
// may run on exactly its CPU and no other thread of the daemon (Go
// runtime, API, stack, DPDK's interrupt and multi-process threads) may run
// on a worker CPU, since one that does delays frames by milliseconds under
// API load. It holds only with a CPU left for the rest, so it needs two.
func TestWorkerCPUsAreTheWorkersAlone(t *testing.T) {
	needTwoCPUs(t, "workers and control threads cannot be kept apart")
	d := startDaemon(t, "--modules.packetio.dpdk.test-mode")
	// A generator keeps the worker busy and the API is used meanwhile, so
	// threads the runtime starts under load are listed too.
	d.expect("POST", "/packet/generators", map[string]any{"id": "g1", "target_id": "0", "config": map[string]any{
		"duration": map[string]any{"continuous": true},
		"load":     map[string]any{"burst_size": 32, "rate": map[string]any{"period": "second", "value": 100000}, "units": "frames"},
		"traffic": []any{map[string]any{"length": map[string]any{"fixed": 128}, "packet": map[string]any{"protocols": []any{
			map[string]any{"ethernet": map[string]any{"source": "02:00:00:00:00:01", "destination": "02:00:00:00:00:02"}},
			map[string]any{"ipv4": map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}},
			map[string]any{"udp": map[string]any{}}}}}}}}, 201)
	d.expect("POST", "/packet/generators/g1/start", nil, 201)
	for range 50 {
		d.expect("GET", "/ports", nil, 200)
	}

	var ws []struct {
		ID  int `json:"id"`
		CPU int `json:"cpu"`
	}
	d.get("/x/workers", &ws)
	if len(ws) == 0 {
		t.Fatal("no workers")
	}
	workerCPU := map[string]int{} // thread name -> CPU
	onWorkerCPU := map[int]bool{}
	for _, w := range ws {
		workerCPU["op-worker-"+strconv.Itoa(w.ID)] = w.CPU
		onWorkerCPU[w.CPU] = true
	}
	seen := map[string]bool{}
	ths := threads(t, d.cmd.Process.Pid)
	for _, th := range ths {
		t.Logf("thread %d %-16s CPUs %s", th.tid, th.name, th.allowed)
		if th.tid == d.cmd.Process.Pid && th.name != "openperfd" {
			t.Errorf("the main thread, whose name ps shows for the daemon, is %q", th.name)
		}
		if cpu, ok := workerCPU[th.name]; ok {
			seen[th.name] = true
			if th.allowed != strconv.Itoa(cpu) {
				t.Errorf("worker thread %d (%s) may run on CPUs %s, want only %d", th.tid, th.name, th.allowed, cpu)
			}
			continue
		}
		for _, c := range cpuList(t, th.allowed) {
			if onWorkerCPU[c] {
				t.Errorf("thread %d (%s) may run on worker CPU %d (allowed %s)", th.tid, th.name, c, th.allowed)
			}
		}
	}
	if len(seen) != len(ws) {
		t.Errorf("found worker threads %v, want one per worker of /x/workers %+v", seen, ws)
	}
}

// cpuList expands a kernel CPU list ("0,2-3").
func cpuList(t *testing.T, s string) []int {
	t.Helper()
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			t.Fatalf("CPU list %q: %v", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				t.Fatalf("CPU list %q: %v", s, err)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out
}

// TestConfinedDaemonKeepsItsProcs checks that confining the control threads
// leaves the Go runtime a P for every worker and one for the API. The
// runtime re-reads the CPU count once a second from a confined thread and
// used to drop GOMAXPROCS to the control CPUs' count (1 on a two-CPU
// machine), so a worker waking from its idle sleep waited for the API to
// yield the only P. The scheduler's trace (GODEBUG=schedtrace) is read
// from the daemon's stderr, as the runtime prints it.
func TestConfinedDaemonKeepsItsProcs(t *testing.T) {
	needTwoCPUs(t, "there is nothing to confine")
	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GODEBUG", "schedtrace=200")
	d := startDaemon(t, "--modules.packetio.dpdk.test-mode")
	var ws []struct {
		ID int `json:"id"`
	}
	d.get("/x/workers", &ws)
	// sysmon re-reads the count at most once a second: give it three.
	time.Sleep(3 * time.Second)
	procs := -1
	for _, line := range strings.Split(d.stderr.String(), "\n") {
		if _, rest, ok := strings.Cut(line, "gomaxprocs="); ok && strings.HasPrefix(line, "SCHED") {
			n, _, _ := strings.Cut(rest, " ")
			procs, _ = strconv.Atoi(n)
		}
	}
	if procs < 0 {
		t.Fatalf("no scheduler trace on stderr:\n%s", tail(d.stderr.String(), 2000))
	}
	if procs < len(ws)+1 {
		t.Errorf("GOMAXPROCS is %d three seconds after start, want at least %d (%d workers and the API)", procs, len(ws)+1, len(ws))
	}
}

// needTwoCPUs ends a test that needs a CPU besides the worker's (unmet:
// a failure under CI=true); why says what one CPU cannot show.
func needTwoCPUs(t *testing.T, why string) {
	t.Helper()
	var avail unix.CPUSet
	if err := unix.SchedGetaffinity(0, &avail); err != nil {
		t.Fatal(err)
	}
	if avail.Count() < 2 {
		unmet(t, "one CPU only: %s", why)
	}
}

// mainThreadCPUs is the daemon's main thread's allowed CPUs (a control
// thread: it never runs a worker).
func mainThreadCPUs(t *testing.T, d *daemon) []int {
	t.Helper()
	pid := d.cmd.Process.Pid
	for _, th := range threads(t, pid) {
		if th.tid == pid {
			return cpuList(t, th.allowed)
		}
	}
	t.Fatal("no main thread")
	return nil
}

// While nothing is measured the control threads may use the worker CPUs
// (an idle worker's CPU is lent: bulk interface creation goes faster);
// a generator start takes them back before its first frame, and its end
// lends them again. --modules.packetio.no-cpu-lending keeps them off.
func TestIdleWorkerCPUsAreLent(t *testing.T) {
	needTwoCPUs(t, "no CPU besides the worker's to lend from")
	d := startDaemon(t, testMode)
	var ws []struct {
		CPU int `json:"cpu"`
	}
	d.get("/x/workers", &ws)
	if len(ws) == 0 {
		t.Fatal("no workers")
	}
	onWorker := func(cpus []int) bool {
		for _, c := range cpus {
			for _, w := range ws {
				if c == w.CPU {
					return true
				}
			}
		}
		return false
	}
	eventually(t, "the idle daemon lends the worker CPU", func() (bool, string) {
		c := mainThreadCPUs(t, d)
		return onWorker(c), fmt.Sprintf("main thread CPUs %v", c)
	})
	def := udpDef(map[string]any{"fixed": 128}, "", nil, nil)
	g := createGenerator(t, d, "0", genConfig(map[string]any{"continuous": true}, 100000, def))
	d.expect("POST", "/packet/generators/"+g+"/start", nil, 201)
	// Taken back before the start answered, not at the lender's next check.
	if c := mainThreadCPUs(t, d); onWorker(c) {
		t.Errorf("main thread may run on a worker CPU (%v) while a generator runs", c)
	}
	for range 5 {
		time.Sleep(60 * time.Millisecond)
		if c := mainThreadCPUs(t, d); onWorker(c) {
			t.Fatalf("main thread may run on a worker CPU (%v) while a generator runs", c)
		}
	}
	d.expect("POST", "/packet/generators/"+g+"/stop", nil, 204)
	eventually(t, "lent again once the generator stopped", func() (bool, string) {
		c := mainThreadCPUs(t, d)
		return onWorker(c), fmt.Sprintf("main thread CPUs %v", c)
	})

	off := startDaemon(t, testMode, "--modules.packetio.no-cpu-lending")
	time.Sleep(300 * time.Millisecond) // several of the lender's checks
	if c := mainThreadCPUs(t, off); onWorker(c) {
		t.Errorf("with --modules.packetio.no-cpu-lending the main thread may run on a worker CPU: %v", c)
	}
}
