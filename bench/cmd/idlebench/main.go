// Command idlebench measures what an idle openperfd costs and how fast it
// wakes: two daemons joined by a link (memif: one the server, the other
// the client of a socket in a temp dir; or tap: each a net_tap port, the
// two tap interfaces bridged in a network namespace made for the run).
// Daemon A has a generator, daemon B an analyzer on its port. Each round
// leaves both idle for -idle, prints the CPU time (utime+stime from
// /proc/<pid>/stat) each daemon used in that window as a share of one
// core, then has A send one frame with a signature and prints the
// latency B's analyzer measured for it: B's receive time stamp minus A's
// transmit time stamp (both daemons stamp with the wall clock read at
// their start plus the monotonic time since, so a few microseconds of
// the figure can be the two processes' clock offset). Before each round
// it measures the floor: a bare eventfd write to epoll wake-up across the
// same two CPUs after the same idle, on the machine as it is then.
//
//	go run ./bench/cmd/idlebench -link memif
//	go run ./bench/cmd/idlebench -link tap -no-rx-interrupts
//	go run ./bench/cmd/idlebench -floor   # the machine's bare wake-up, the anchor
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	benchdaemon "github.com/openperfd/openperfd/bench/daemon"
	"github.com/openperfd/openperfd/workers"
)

func main() {
	bin := flag.String("bin", "bin/openperfd", "openperfd binary")
	link := flag.String("link", "memif", "how the two daemons are joined: memif or tap")
	idle := flag.Duration("idle", 10*time.Second, "idle time before each frame (also the CPU window)")
	rounds := flag.Int("rounds", 3, "rounds")
	noIntr := flag.Bool("no-rx-interrupts", false, "start the daemons with --modules.packetio.dpdk.no-rx-interrupts")
	flag.StringVar(&maskA, "a-cpu-mask", maskA, "worker CPU mask of daemon A (the sender); \"\" for the default. B keeps the default (every CPU but the first): on a 2-CPU machine A's worker then does not compete with B's for B's CPU, which would add the scheduler's wake-up preemption delay to B's wake-up")
	inNS := flag.Bool("in-netns", false, "internal: this run is the tap run inside its namespace")
	floor := flag.Bool("floor", false, "measure only the machine's floor: a bare epoll wake-up across CPUs after the same idle, no daemons")
	flag.DurationVar(&settle, "settle", settle, "wait this long after the frame before reading B's result")
	flag.Parse()
	if *floor {
		if err := runFloor(*idle, *rounds); err != nil {
			fmt.Fprintln(os.Stderr, "idlebench:", err)
			os.Exit(1)
		}
		return
	}
	if *link == "tap" && !*inNS {
		// The whole tap run happens in a namespace of its own: the tap
		// interfaces are born there (a tap moved to another namespace
		// stops working for DPDK's tap driver) and the daemons' API
		// loopback is there too.
		if err := inNamespace(); err != nil {
			fmt.Fprintln(os.Stderr, "idlebench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *link, *idle, *rounds, *noIntr); err != nil {
		fmt.Fprintln(os.Stderr, "idlebench:", err)
		os.Exit(1)
	}
}

func run(bin, link string, idle time.Duration, rounds int, noIntr bool) error {
	dir, err := os.MkdirTemp("", "idlebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tag := strconv.Itoa(os.Getpid())
	var vdevA, vdevB string
	switch link {
	case "memif":
		sock := filepath.Join(dir, "memif.sock")
		vdevA = "--vdev=net_memif0,role=server,socket=" + sock
		vdevB = "--vdev=net_memif0,role=client,socket=" + sock
	case "tap":
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			return fmt.Errorf("ip link set lo up: %w: %s", err, out)
		}
		vdevA = "--vdev=net_tap0,iface=ibA" + tag
		vdevB = "--vdev=net_tap0,iface=ibB" + tag
	default:
		return fmt.Errorf("-link %q: want memif or tap", link)
	}
	a, err := startOn(0, bin, "ibA"+tag, vdevA, noIntr, maskA)
	if err != nil {
		return err
	}
	defer a.Stop()
	b, err := start(bin, "ibB"+tag, vdevB, noIntr, "")
	if err != nil {
		return err
	}
	defer b.Stop()
	if link == "tap" {
		if err := bridge("ibA"+tag, "ibB"+tag); err != nil {
			return err
		}
	}
	var ws []struct {
		RxInterrupts bool `json:"rx_interrupts"`
	}
	if err := b.Do("GET", "/x/workers", nil, 200, &ws); err != nil {
		return err
	}
	// Not B's MAC: a tap port's kernel side has the same one, so the
	// bridge would take the frame for itself; an unknown one is flooded.
	if err := setup(a, b, "02:00:00:00:00:02"); err != nil {
		return err
	}
	// This program's own threads stay off B's CPU too: an HTTP poll of
	// ours running there as the frame arrives would delay B's wake-up.
	if _, err := workers.ConfineThreads([]int{0}, nil); err != nil {
		return err
	}
	// The floor is measured before each round, on the machine as it is
	// then: on a shared host it moves by 2x within minutes.
	fl, err := newFloorProbe()
	if err != nil {
		return err
	}
	defer fl.close()
	fmt.Printf("link %s, rx interrupts wanted: %v, A's worker CPU mask %q, B's workers: %+v\n", link, !noIntr, maskA, ws)
	fmt.Printf("%-6s %12s %12s %16s %18s %16s\n", "round", "A cpu %", "B cpu %", "B intr sleeps", "first frame ns", "floor ns")
	for r := 1; r <= rounds; r++ {
		var res struct {
			ID string `json:"id"`
		}
		if err := b.Do("POST", "/packet/analyzers/ib/start", nil, 201, &res); err != nil {
			return err
		}
		floorNs, err := fl.once(idle)
		if err != nil {
			return err
		}
		i0 := intrSleeps(b)
		ta, tb, t0 := a.cpuTime(), b.cpuTime(), time.Now()
		time.Sleep(idle)
		ta, tb, el := a.cpuTime()-ta, b.cpuTime()-tb, time.Since(t0)
		i1 := intrSleeps(b)
		if err := a.Do("POST", "/packet/generators/ib/start", nil, 201, nil); err != nil {
			return err
		}
		time.Sleep(settle)
		if err := b.Do("POST", "/packet/analyzers/ib/stop", nil, 204, nil); err != nil {
			return err
		}
		lat, err := firstLatency(a, b, res.ID)
		if err != nil {
			return err
		}
		fmt.Printf("%-6d %12.3f %12.3f %16d %18d %16d\n", r, share(ta, el), share(tb, el), i1-i0, lat, floorNs)
	}
	fmt.Printf("(cpu: run time of all the daemon's threads over the %v idle window, from schedstat, as %% of one core;\n", idle)
	fmt.Println(" floor: a bare eventfd write on CPU 0 to epoll wake-up on CPU 1 after the same idle, just before the round, see -floor)")
	return nil
}

// maskA is daemon A's --modules.packetio.cpu-mask ("" for the default).
var maskA = "0x1"

// settle is how long B gets to count the frame before its analyzer stops.
var settle = 300 * time.Millisecond

func share(d, window time.Duration) float64 {
	return 100 * d.Seconds() / window.Seconds()
}

// inNamespace runs this command again, with the same flags, in a new
// network namespace, and deletes the namespace afterwards.
func inNamespace() error {
	ns := fmt.Sprintf("idlebench%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %w: %s", ns, err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, self, "-in-netns"}, os.Args[1:]...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// bridge joins the two tap interfaces (in this run's namespace) with a
// bridge and brings up loopback for the daemons' APIs.
func bridge(ia, ib string) error {
	cmds := [][]string{
		{"ip", "link", "add", "br0", "type", "bridge"},
		{"ip", "link", "set", ia, "master", "br0"},
		{"ip", "link", "set", ib, "master", "br0"},
		// The idle link must stay silent: no IPv6 autoconfiguration, no
		// multicast reports.
		{"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
		{"ip", "link", "set", "br0", "multicast", "off"},
		{"ip", "link", "set", ia, "multicast", "off"},
		{"ip", "link", "set", ib, "multicast", "off"},
		{"ip", "link", "set", ia, "up"},
		{"ip", "link", "set", ib, "up"},
		{"ip", "link", "set", "br0", "up"},
	}
	for _, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(c, " "), err, out)
		}
	}
	return nil
}

func setup(a, b *daemon, dst string) error {
	if err := b.Do("POST", "/packet/analyzers", map[string]any{"id": "ib", "source_id": "0", "config": map[string]any{
		"protocol_counters": []string{"ethernet"}, "flow_counters": []string{"frame_count", "latency"}}}, 201, nil); err != nil {
		return err
	}
	return a.Do("POST", "/packet/generators", map[string]any{"id": "ib", "target_id": "0", "config": map[string]any{
		"duration": map[string]any{"frames": 1},
		"load":     map[string]any{"burst_size": 1, "rate": map[string]any{"period": "second", "value": 1000}, "units": "frames"},
		"traffic": []any{map[string]any{"length": map[string]any{"fixed": 128},
			"signature": map[string]any{"stream_id": 1, "latency": "start_of_frame"},
			"packet": map[string]any{"protocols": []any{
				map[string]any{"ethernet": map[string]any{"source": "02:00:00:00:00:01", "destination": dst}},
				map[string]any{"ipv4": map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}},
				map[string]any{"udp": map[string]any{"source": 5000, "destination": 4000}}}}}}}}, 201, nil)
}

func intrSleeps(d *daemon) int64 {
	var ws []struct {
		N int64 `json:"interrupt_sleeps"`
	}
	_ = d.Do("GET", "/x/workers", nil, 200, &ws)
	var n int64
	for _, w := range ws {
		n += w.N
	}
	return n
}

// firstLatency is the latency of the one frame of analyzer result id.
func firstLatency(a, b *daemon, id string) (int64, error) {
	var flows []struct {
		Result   string `json:"analyzer_result_id"`
		Counters struct {
			FrameCount int64 `json:"frame_count"`
			Latency    struct {
				Summary struct{ Max *int64 } `json:"summary"`
			} `json:"latency"`
		} `json:"counters"`
	}
	var raw json.RawMessage
	if err := b.Do("GET", "/packet/rx-flows?analyzer_id=ib", nil, 200, &raw); err != nil {
		return 0, err
	}
	if os.Getenv("IDLEBENCH_DEBUG") != "" {
		var gr, ps json.RawMessage
		_ = a.Do("GET", "/packet/generator-results", nil, 200, &gr)
		_ = b.Do("GET", "/ports", nil, 200, &ps)
		fmt.Fprintf(os.Stderr, "B flows %s\nA results %s\nB ports %s\n", raw, gr, ps)
	}
	if err := json.Unmarshal(raw, &flows); err != nil {
		return 0, err
	}
	for _, f := range flows {
		// Only the signed flow has a latency; the kernel's odd frame on
		// a tap link makes a flow without.
		if f.Result == id && f.Counters.Latency.Summary.Max != nil {
			if f.Counters.FrameCount != 1 {
				return 0, fmt.Errorf("result %s: %d signed frames, want 1", id, f.Counters.FrameCount)
			}
			return *f.Counters.Latency.Summary.Max, nil
		}
	}
	return 0, fmt.Errorf("result %s: the frame did not arrive", id)
}

// daemon is one running openperfd and a small JSON client of it.
// daemon is one of the two daemons.
type daemon struct{ *benchdaemon.Daemon }

func start(bin, prefix, vdev string, noIntr bool, mask string) (*daemon, error) {
	args := []string{"-P", prefix, "-d", "-m256m,--no-huge,--no-pci," + vdev}
	if noIntr {
		args = append(args, "--modules.packetio.dpdk.no-rx-interrupts")
	}
	if mask != "" {
		args = append(args, "--modules.packetio.cpu-mask", mask)
	}
	d, err := benchdaemon.Start(bin, http.DefaultClient, args...)
	if err != nil {
		return nil, err
	}
	return &daemon{d}, nil
}

// startOn is start from a thread pinned to cpu, so that daemon A is born
// with every thread on A's worker CPU: a daemon started with the whole
// machine puts its control threads on the CPUs its workers leave free,
// which with A's mask 0x1 is CPU 1, B's worker CPU, where A's API and
// generator start ran as the frame went out and delayed B's wake-up by
// about 1.5 ms (seen with ftrace's sched_switch events).
func startOn(cpu int, bin, prefix, vdev string, noIntr bool, mask string) (d *daemon, err error) {
	onCPU(cpu, func() { d, err = start(bin, prefix, vdev, noIntr, mask) })
	return d, err
}

// cpuTicks is the daemon's utime+stime so far.
// cpuTime is the CPU time all of d's threads have run, to the
// nanosecond: the first field of each /proc/<pid>/task/<tid>/schedstat.
// (utime and stime in /proc/<pid>/stat are sampled at the clock tick, too
// coarse for an idle daemon: one tick in a 10 s window is 0.1%.)
func (d *daemon) cpuTime() time.Duration {
	dir := fmt.Sprintf("/proc/%d/task", d.Pid())
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var ns int64
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread ended
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			ns += n
		}
	}
	return time.Duration(ns)
}
