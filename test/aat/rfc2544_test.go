package aat

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rfc2544Limit is the rx policer the RFC 2544 tests put on port 1
// (--modules.packetio.dpdk.x-test-rx-limit): frames per second. Its bucket
// holds 100 ms of frames (a link's buffer, which absorbs the clumps a
// stalled worker sends), so a trial of T seconds passes up to
// limit x (1 + 0.1/T): the throughput found lies between the limit and
// that, give or take the search's resolution.
const rfc2544Limit = 20000

type rfc2544Trial struct {
	Percent     float64 `json:"percent"`
	TxFrames    int64   `json:"tx_frames"`
	RxFrames    int64   `json:"rx_frames"`
	LossPercent float64 `json:"loss_percent"`
}

type rfc2544Run struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Error   string `json:"error"`
	Results []struct {
		Frame       string  `json:"frame"`
		FrameLength float64 `json:"frame_length"`
		LineRateFPS float64 `json:"line_rate_fps"`
		Throughput  *struct {
			Percent float64        `json:"percent"`
			Trials  []rfc2544Trial `json:"trials"`
		} `json:"throughput"`
		Latency *struct {
			Frames                  int64   `json:"frames"`
			Min, Avg, Max, P50, P99 int64   // matched case-insensitively
			Percent                 float64 `json:"percent"`
			Trials                  int     `json:"trials"`
			PerTrial                []struct {
				Frames, Min, Avg, Max int64
			} `json:"per_trial"`
		} `json:"latency"`
	} `json:"results"`
}

// TestRfc2544 runs opctl rfc2544 over the test-mode pair with port 1's rx
// policed to a known rate: the throughput found per size is that rate
// within the search's resolution, latency comes back, the HTML report is
// written, and the trials leave no generator or analyzer behind.
func TestRfc2544(t *testing.T) {
	bin := opctlBuild(t)
	d := startDaemon(t, testMode, "--modules.packetio.dpdk.x-test-rx-limit", "1=20000")
	dir := t.TempDir()
	jsonOut, htmlOut := filepath.Join(dir, "run.json"), filepath.Join(dir, "report.html")
	// A retry per failing trial: this machine is shared, and a stall of
	// the worker sends a clump the policer's 100 ms may not hold.
	const trial, resolution = 1.0, 2.0
	start := time.Now()
	out, errOut, code := opctlRun(t, bin, "--server", d.base, "rfc2544", "--tx", "0", "--rx", "1",
		"--sizes", "64,128,256", "--tests", "throughput,latency", "--trial", "1s", "--resolution", "2", "--retries", "1",
		"--latency-trials", "2", "--line-rate", "100", "--json", jsonOut, "--html", htmlOut)
	if code != 0 {
		t.Fatalf("opctl rfc2544: exit %d\n%s%s", code, errOut, out)
	}
	t.Logf("opctl rfc2544 took %v:\n%s", time.Since(start).Round(time.Millisecond), out)
	b, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var run rfc2544Run
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatal(err)
	}
	if run.State != "done" || len(run.Results) != 3 {
		t.Fatalf("run %s (%s), %d results", run.State, run.Error, len(run.Results))
	}
	for _, r := range run.Results {
		// 100 Mbps: 64-octet frames at 148,810 frames/s, so the limit is
		// 13.44% of the line rate; 23.68% at 128, 44.16% at 256.
		want := rfc2544Limit / r.LineRateFPS * 100
		lo, hi := want-resolution, want*(1+0.1/trial)+0.01
		got := r.Throughput.Percent
		if got < lo || got > hi {
			t.Errorf("%s: throughput %.2f%%, want %.2f%% (%.2f..%.2f); trials %+v", r.Frame, got, want, lo, hi, r.Throughput.Trials)
		}
		if l := r.Latency; l == nil || l.Frames == 0 || l.Min <= 0 || l.Min > l.P50 || l.P50 > l.P99 || l.P99 > l.Max || l.Percent != got {
			t.Errorf("%s: latency %+v, want one at %.2f%% with min <= p50 <= p99 <= max", r.Frame, r.Latency, got)
		} else {
			rfc2544LatencyTrials(t, r.Frame, l.Trials, l.Frames, l.Min, l.Avg, l.Max, l.PerTrial)
		}
	}
	// The table prints each size's latency trials: 2, as asked.
	tb := parseTable(t, out[strings.Index(out, "FRAME "):])
	for _, r := range run.Results {
		if got := tb.by(t, "FRAME", r.Frame)["LAT TRIALS"]; got != "2" {
			t.Errorf("%s: LAT TRIALS %q, want 2", r.Frame, got)
		}
	}
	page, err := os.ReadFile(htmlOut)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(page); strings.Count(s, "<svg") != 2 || !strings.Contains(s, "Throughput per frame size") || !strings.Contains(s, run.ID) {
		t.Errorf("the report lacks its plots or the run id (%d bytes)", len(page))
	}
	var left []any
	d.get("/packet/generators", &left)
	if len(left) != 0 {
		t.Errorf("%d generators left after the run", len(left))
	}
	d.get("/packet/analyzers", &left)
	if len(left) != 0 {
		t.Errorf("%d analyzers left after the run", len(left))
	}
}

// TestRfc2544RestRun: the REST operation runs without a client attached,
// DELETE stops it at once (and removes its trial's generator and
// analyzer), and bad requests are 400s naming the field.
func TestRfc2544RestRun(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/x/rfc2544", map[string]any{"tx_port": "0", "rx_port": "7"}, 400)
	d.expect("POST", "/x/rfc2544", map[string]any{"tx_port": "0", "rx_port": "1", "imix": "nope"}, 400)
	d.expect("POST", "/x/rfc2544", map[string]any{"tx_port": "0", "rx_port": "1", "sizes": []int{40}}, 400)
	d.expect("POST", "/x/rfc2544", map[string]any{"id": "r1", "tx_port": "0", "rx_port": "1", "sizes": []int{64},
		"trial_duration": 30, "line_rate_mbps": 100}, 201)
	var run rfc2544Run
	eventually(t, "a trial runs", func() (bool, string) {
		var gens []any
		d.get("/packet/generators", &gens)
		return len(gens) == 1, "no trial generator yet"
	})
	d.get("/x/rfc2544/r1", &run)
	if run.State != "running" {
		t.Fatalf("run %s", run.State)
	}
	start := time.Now()
	d.expect("DELETE", "/x/rfc2544/r1", nil, 204)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("DELETE took %v", took)
	}
	d.expect("GET", "/x/rfc2544/r1", nil, 404)
	var left []any
	d.get("/packet/generators", &left)
	if len(left) != 0 {
		t.Errorf("%d generators left after DELETE", len(left))
	}
	d.get("/packet/analyzers", &left)
	if len(left) != 0 {
		t.Errorf("%d analyzers left after DELETE", len(left))
	}
}

// TestGeneratorXImix: a generator with the simple IMIX sends 64, 576 and
// 1518 octet frames 7:4:1; the analyzer's mean frame length over whole
// cycles is the mix's mean exactly.
func TestGeneratorXImix(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/packet/analyzers", map[string]any{"id": "a", "source_id": "1",
		"config": map[string]any{"flow_counters": []string{"frame_count", "frame_length"}}}, 201)
	d.expect("POST", "/packet/analyzers/a/start", nil, 201)
	d.expect("POST", "/packet/generators", map[string]any{"id": "g", "target_id": "0", "config": map[string]any{
		"duration": map[string]any{"frames": 12000},
		"load":     map[string]any{"rate": map[string]any{"period": "second", "value": 100000}, "units": "frames"},
		"traffic": []any{map[string]any{"length": map[string]any{"x_imix": map[string]any{"profile": "simple"}},
			"signature": map[string]any{"stream_id": 1, "latency": "start_of_frame"},
			"packet": map[string]any{"protocols": []any{
				map[string]any{"ethernet": map[string]any{"source": "02:00:00:00:00:01", "destination": "02:00:00:00:00:02"}},
				map[string]any{"ipv4": map[string]any{"source": "198.18.0.1", "destination": "198.19.0.1"}},
				map[string]any{"udp": map[string]any{}}}}}}}}, 201)
	d.expect("POST", "/packet/generators/g/start", nil, 201)
	var res []struct {
		FlowCounters struct {
			FrameCount  int64 `json:"frame_count"`
			FrameLength struct {
				Summary struct {
					Total float64 `json:"total"`
					Min   float64 `json:"min"`
					Max   float64 `json:"max"`
				} `json:"summary"`
			} `json:"frame_length"`
		} `json:"flow_counters"`
	}
	eventually(t, "12000 frames arrive", func() (bool, string) {
		d.get("/packet/analyzer-results?analyzer_id=a", &res)
		if len(res) == 0 {
			return false, "no result"
		}
		return res[0].FlowCounters.FrameCount == 12000, fmt.Sprintf("frames: %d", res[0].FlowCounters.FrameCount)
	})
	fl := res[0].FlowCounters.FrameLength.Summary
	lo, hi := fl.Min, fl.Max
	mean := fl.Total / 12000
	if math.Abs(mean-(7*64+4*576+1518)/12.0) > 1e-6 || lo != 64 || hi != 1518 {
		t.Errorf("frame lengths: mean %.3f min %v max %v, want the simple mix's 357.333, 64, 1518", mean, lo, hi)
	}
}

// rfc2544LatencyTrials checks a latency result of two trials: frames
// summed, min and max over both, avg the mean of the two (rounded).
func rfc2544LatencyTrials(t *testing.T, frame string, trials int, frames, lo, avg, hi int64, per []struct{ Frames, Min, Avg, Max int64 }) {
	t.Helper()
	if trials != 2 || len(per) != 2 {
		t.Errorf("%s: %d latency trials (%d listed), want 2", frame, trials, len(per))
		return
	}
	a, b := per[0], per[1]
	if frames != a.Frames+b.Frames || lo != min(a.Min, b.Min) || hi != max(a.Max, b.Max) || math.Abs(float64(avg)-float64(a.Avg+b.Avg)/2) > 0.5 {
		t.Errorf("%s: latency frames %d min %d avg %d max %d from trials %+v", frame, frames, lo, avg, hi, per)
	}
}
