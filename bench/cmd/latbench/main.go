// Command latbench measures frame latency on the real daemon with an idle
// API and under API load, in the same run: openperfd in test mode, a
// generator on port 0 (one flow of 128-byte frames with signatures at
// -rate frames/s) into an analyzer on port 1 (latency counters and digest).
// Each phase starts a fresh analyzer result, runs the generator for
// -seconds and reads the flow's latency (average, maximum, p99.9 from the
// digest). The loaded phase does the same while -clients goroutines send
// GET /ports back to back over loopback. It prints both and their ratio
// (issue 14: p99.9 under load within 2x of idle), for the median of
// -repeat pairs.
//
// Last, with the daemon gone, a C loop spins on the worker CPU for a phase
// with the control CPUs idle and then busy, and counts the gaps in its
// own clock reads: on a VM the host deschedules a vCPU for milliseconds
// when its sibling is busy, which no daemon can hide from a p99.9.
//
// The clients run on the CPUs the daemon keeps for its control threads
// (those of no worker in /x/workers) unless -pin-clients=false: load on a
// worker CPU would measure the machine's scheduler, not the daemon.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openperfd/openperfd/bench/daemon"
	"golang.org/x/sys/unix"
)

func main() {
	bin := flag.String("bin", "bin/openperfd", "openperfd binary")
	seconds := flag.Float64("seconds", 10, "length of each phase")
	rate := flag.Int("rate", 100000, "generator frames per second")
	clients := flag.Int("clients", 32, "concurrent REST clients in the loaded phase")
	pin := flag.Bool("pin-clients", true, "run the clients on the daemon's control CPUs only")
	repeat := flag.Int("repeat", 3, "idle/loaded pairs; the table shows the pair with the median p99.9 ratio")
	flag.Parse()
	if err := run(*bin, time.Duration(*seconds*float64(time.Second)), *rate, *clients, *pin, max(*repeat, 1)); err != nil {
		fmt.Fprintln(os.Stderr, "latbench:", err)
		os.Exit(1)
	}
}

// latency is one phase's figures, in nanoseconds.
type latency struct {
	frames         int64
	avg, max, p999 float64
	requests       int64
}

func run(bin string, phase time.Duration, rate, clients int, pin bool, repeat int) error {
	d, err := daemon.Start(bin, &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 2 * clients},
	}, "--modules.packetio.dpdk.test-mode", "-P", fmt.Sprintf("latbench%d", os.Getpid()))
	if err != nil {
		return err
	}
	defer d.Stop()
	c := &api{d}
	workerCPUs, controlCPUs, err := cpus(c)
	if err != nil {
		return err
	}
	if pin {
		if err := pinTo(controlCPUs); err != nil {
			return err
		}
	}
	if err := c.setup(rate); err != nil {
		return err
	}
	// One pair swings with the machine (see the C loop below), so the
	// pairs are all shown and the median one is the result.
	type pair struct{ idle, loaded latency }
	var pairs []pair
	var ratios []string
	for range repeat {
		idle, err := c.measure(phase, 0)
		if err != nil {
			return fmt.Errorf("idle phase: %w", err)
		}
		loaded, err := c.measure(phase, clients)
		if err != nil {
			return fmt.Errorf("loaded phase: %w", err)
		}
		pairs = append(pairs, pair{idle, loaded})
		ratios = append(ratios, fmt.Sprintf("%.2f", loaded.p999/idle.p999))
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		return cmp.Compare(a.loaded.p999/a.idle.p999, b.loaded.p999/b.idle.p999)
	})
	idle, loaded := pairs[len(pairs)/2].idle, pairs[len(pairs)/2].loaded
	fmt.Printf("p99.9 ratio of each pair, in order: %s; the median pair:\n", strings.Join(ratios, " "))
	fmt.Printf("%-22s %10s %10s %12s %12s %10s\n", "frame latency", "frames", "avg ns", "max ns", "p99.9 ns", "GET/s")
	row := func(name string, l latency) {
		fmt.Printf("%-22s %10d %10.0f %12.0f %12.0f %10.0f\n", name, l.frames, l.avg, l.max, l.p999, float64(l.requests)/phase.Seconds())
	}
	row("idle API", idle)
	row(fmt.Sprintf("%d REST clients", clients), loaded)
	fmt.Printf("%-22s %10s %10.2f %12.2f %12.2f   (target p99.9 <= 2)\n", "ratio loaded/idle", "", loaded.avg/idle.avg, loaded.max/idle.max, loaded.p999/idle.p999)
	fmt.Printf("(test mode ring pair, 1 flow of 128-byte frames with signatures at %d frames/s, %.0f s per phase; clients pinned to control CPUs: %v)\n",
		rate, phase.Seconds(), pin)

	// The machine's share: the daemon gone, a C loop on the worker CPU
	// with the control CPUs idle, then busy.
	d.Stop()
	if len(workerCPUs) == 0 || len(controlCPUs) == 0 {
		return nil
	}
	quiet, err := machineNoise(workerCPUs[0], nil, phase)
	if err != nil {
		return err
	}
	busy, err := machineNoise(workerCPUs[0], controlCPUs, phase)
	if err != nil {
		return err
	}
	fmt.Printf("%-40s %12s %12s %12s\n", fmt.Sprintf("C loop on worker CPU %d, no daemon", workerCPUs[0]), "gaps >100us", "gaps >1ms", "max gap us")
	for _, r := range []struct {
		name string
		s    stalls
	}{{"control CPUs idle", quiet}, {fmt.Sprintf("control CPUs %v busy", controlCPUs), busy}} {
		fmt.Printf("%-40s %12d %12d %12d\n", r.name, r.s.over100us, r.s.over1ms, r.s.max.Microseconds())
	}
	return nil
}

// cpus returns the daemon's worker CPUs and the CPUs of ours that no
// worker uses.
func cpus(c *api) (workers, control []int, err error) {
	var ws []struct {
		CPU int `json:"cpu"`
	}
	if err := c.Do("GET", "/x/workers", nil, 200, &ws); err != nil {
		return nil, nil, err
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, nil, fmt.Errorf("read CPU set: %w", err)
	}
	for _, w := range ws {
		if w.CPU >= 0 {
			set.Clear(w.CPU)
			workers = append(workers, w.CPU)
		}
	}
	for cpu := range 1024 {
		if set.IsSet(cpu) {
			control = append(control, cpu)
		}
	}
	return workers, control, nil
}

// pinTo confines this process's threads to cpus.
func pinTo(cpus []int) error {
	if len(cpus) == 0 {
		return errors.New("no CPU left for the clients once the workers' are taken (use -pin-clients=false)")
	}
	var set unix.CPUSet
	for _, cpu := range cpus {
		set.Set(cpu)
	}
	// Every thread of ours: Linux has no process-wide affinity.
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("list threads: %w", err)
	}
	for _, t := range tasks {
		tid, _ := strconv.Atoi(t.Name())
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("pin thread %d: %w", tid, err)
		}
	}
	return nil
}

// setup creates the analyzer and the generator.
func (c *api) setup(rate int) error {
	if err := c.Do("POST", "/packet/analyzers", map[string]any{"id": "lat", "source_id": "1", "config": map[string]any{
		"protocol_counters": []string{"ethernet"}, "flow_digests": []string{"latency"},
		"flow_counters": []string{"frame_count", "latency"}}}, 201, nil); err != nil {
		return err
	}
	return c.Do("POST", "/packet/generators", map[string]any{"id": "lat", "target_id": "0", "config": map[string]any{
		"duration": map[string]any{"continuous": true},
		"load":     map[string]any{"burst_size": 1, "rate": map[string]any{"period": "second", "value": rate}, "units": "frames"},
		"traffic": []any{map[string]any{"length": map[string]any{"fixed": 128},
			"signature": map[string]any{"stream_id": 1, "latency": "start_of_frame"},
			"packet": map[string]any{"protocols": []any{
				map[string]any{"ethernet": map[string]any{"source": "02:00:00:00:00:01", "destination": "02:00:00:00:00:02"}},
				map[string]any{"ipv4": map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}},
				map[string]any{"udp": map[string]any{"source": 5000, "destination": 4000}}}}}}}}, 201, nil)
}

// measure runs one phase with n clients and reads the new result's flow.
func (c *api) measure(d time.Duration, n int) (latency, error) {
	var res struct {
		ID string `json:"id"`
	}
	if err := c.Do("POST", "/packet/analyzers/lat/start", nil, 201, &res); err != nil {
		return latency{}, err
	}
	if err := c.Do("POST", "/packet/generators/lat/start", nil, 201, nil); err != nil {
		return latency{}, err
	}
	var stop atomic.Bool
	var requests atomic.Int64
	var loadErr atomic.Value
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := c.Do("GET", "/ports", nil, 200, nil); err != nil {
					loadErr.Store(err)
					return
				}
				requests.Add(1)
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	if err := c.Do("POST", "/packet/generators/lat/stop", nil, 204, nil); err != nil {
		return latency{}, err
	}
	time.Sleep(200 * time.Millisecond) // the last frames through the rings
	if err := c.Do("POST", "/packet/analyzers/lat/stop", nil, 204, nil); err != nil {
		return latency{}, err
	}
	if err, ok := loadErr.Load().(error); ok {
		return latency{}, fmt.Errorf("a client failed: %w", err)
	}
	var flows []struct {
		Result   string `json:"analyzer_result_id"`
		Counters struct {
			FrameCount int64 `json:"frame_count"`
			Latency    struct {
				Summary struct{ Max, Total int64 } `json:"summary"`
			} `json:"latency"`
		} `json:"counters"`
		Digests struct {
			Latency struct {
				Percentiles struct {
					P999 int64 `json:"p99_9"`
				} `json:"percentiles"`
			} `json:"latency"`
		} `json:"digests"`
	}
	if err := c.Do("GET", "/packet/rx-flows?analyzer_id=lat", nil, 200, &flows); err != nil {
		return latency{}, err
	}
	for _, f := range flows {
		if f.Result != res.ID || f.Counters.FrameCount == 0 {
			continue
		}
		k := f.Counters
		return latency{frames: k.FrameCount, avg: float64(k.Latency.Summary.Total) / float64(k.FrameCount),
			max: float64(k.Latency.Summary.Max), p999: float64(f.Digests.Latency.Percentiles.P999), requests: requests.Load()}, nil
	}
	return latency{}, fmt.Errorf("result %s has no flow with frames", res.ID)
}

// api is a small JSON client of the daemon.
// api is the daemon under test, with the benchmark's own operations.
type api struct{ *daemon.Daemon }
