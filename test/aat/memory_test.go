package aat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/openperfd/openperfd/api/gen"
)

// procKB reads a "Vm...:  N kB" line of a process's /proc status.
func procKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", field, line, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// manyFlows is a generator on port 0 with n flows (an IPv4 source
// sequence) that sends a few frames and stops.
func manyFlows(id string, n int) map[string]any {
	return map[string]any{"id": id, "target_id": "0", "config": map[string]any{
		"duration": map[string]any{"frames": 1000},
		"load":     map[string]any{"burst_size": 32, "rate": map[string]any{"period": "second", "value": 100000}, "units": "frames"},
		"traffic": []any{map[string]any{
			"packet": map[string]any{"protocols": []any{
				map[string]any{"ethernet": map[string]any{"source": "02:00:00:00:00:01", "destination": "02:00:00:00:00:02"}},
				map[string]any{"ipv4": map[string]any{"source": "10.0.0.1", "destination": "198.18.0.2"},
					"modifiers": map[string]any{"items": []any{map[string]any{"name": "source", "permute": false,
						"ipv4": map[string]any{"sequence": map[string]any{"count": n, "start": "10.0.0.1"}}}}}},
				map[string]any{"udp": map[string]any{}},
			}},
			"length": map[string]any{"fixed": 64},
		}},
	}}
}

// streamFlows reads a tx-flows list as it arrives, item by item (as a
// client of a 4M-flow list must), and returns how many flows it had, the
// first and last, and how long the response took.
func streamFlows(t *testing.T, d *daemon, query string) (int, gen.TxFlow, gen.TxFlow, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(d.base + "/packet/tx-flows?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET tx-flows?%s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(bufio.NewReaderSize(resp.Body, 1<<20))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		t.Fatalf("GET tx-flows?%s: starts with %v %v, want [", query, tok, err)
	}
	var first, last gen.TxFlow
	n := 0
	for dec.More() {
		var f gen.TxFlow
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("GET tx-flows?%s: flow %d: %v", query, n, err)
		}
		if n == 0 {
			first = f
		}
		last = f
		n++
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		t.Fatalf("GET tx-flows?%s: ends with %v %v, want ]", query, tok, err)
	}
	return n, first, last, time.Since(start)
}

// A generator of 1M flows lists them streamed: the daemon's RSS peak
// (VmHWM) grows by a bounded amount while the whole list (~300 MB of
// JSON) goes out, and x_offset/x_limit pages it. Before streaming, one
// 4M-flow list built 1.6 GB in memory and peaked at 7.9 GB RSS.
func TestTxFlowsStreamWithBoundedMemory(t *testing.T) {
	const flows = 1 << 20
	endpoint := "ipc://" + filepath.Join(t.TempDir(), "api.sock")
	d := startDaemon(t, testMode, "--modules.zmq.endpoint", endpoint)
	pid := d.cmd.Process.Pid
	d.expect("POST", "/packet/generators", manyFlows("big", flows), 201)
	var r gen.PacketGeneratorResult
	if err := json.Unmarshal(d.expect("POST", "/packet/generators/big/start", nil, 201), &r); err != nil {
		t.Fatal(err)
	}
	finishedResult(t, d, r.Id)

	// A first page warms up what any request allocates.
	if n, first, _, _ := streamFlows(t, d, "generator_id=big&x_limit=10"); n != 10 || first.Id != r.Id+"-0" {
		t.Fatalf("first page: %d flows from %s", n, first.Id)
	}
	rss, hwm := procKB(t, pid, "VmRSS"), procKB(t, pid, "VmHWM")
	n, first, last, took := streamFlows(t, d, "generator_id=big")
	rss2, hwm2 := procKB(t, pid, "VmRSS"), procKB(t, pid, "VmHWM")
	t.Logf("%d flows in %v; daemon VmRSS %d -> %d MiB, VmHWM %d -> %d MiB", n, took.Round(time.Millisecond), rss>>10, rss2>>10, hwm>>10, hwm2>>10)
	if n != flows || first.Id != r.Id+"-0" || last.Id != fmt.Sprintf("%s-%d", r.Id, flows-1) {
		t.Fatalf("%d flows, %s .. %s; want %d, %s-0 .. %s-%d", n, first.Id, last.Id, flows, r.Id, r.Id, flows-1)
	}
	var sent int64
	for _, f := range []gen.TxFlow{first, last} {
		sent += f.Counters.PacketsActual
	}
	if sent != 2 && first.Counters.PacketsActual != 1 {
		t.Errorf("first and last flow sent %d packets; 1000 frames over 1M flows is one each for the first 1000", sent)
	}
	// The peak may rise by some garbage, not by the list (~300 MB): the
	// daemon collects before a list this long, so starting the generator
	// (whose result answers 1M flow ids) does not leave the heap's goal
	// high. Measured: 0 MiB.
	const boundMiB = 64
	if grow := (max(hwm2, rss) - max(hwm, rss)) >> 10; grow > boundMiB {
		t.Errorf("daemon RSS peak grew by %d MiB while listing %d flows; bound %d MiB", grow, n, boundMiB)
	}

	// Pages are slices of the list, wherever they fall.
	for _, p := range []struct{ off, lim, want int }{{0, 1000, 1000}, {flows - 5, 100, 5}, {flows, 10, 0}, {123456, 1, 1}} {
		n, first, _, _ := streamFlows(t, d, fmt.Sprintf("generator_id=big&x_offset=%d&x_limit=%d", p.off, p.lim))
		if n != p.want || (n > 0 && first.Id != fmt.Sprintf("%s-%d", r.Id, p.off)) {
			t.Errorf("x_offset=%d x_limit=%d: %d flows from %s, want %d from %s-%d", p.off, p.lim, n, first.Id, p.want, r.Id, p.off)
		}
	}
	if code, body := d.call("GET", "/packet/tx-flows?x_offset=-1", nil); code != 400 || !strings.Contains(string(body), "x_offset") {
		t.Errorf("x_offset=-1: %d %s, want a 400 naming x_offset", code, body)
	}
	// ZeroMQ runs the same handler in-process: the stream and its pages
	// reach it too.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sock := zmq4.NewReq(ctx)
	defer sock.Close()
	if err := sock.Dial(endpoint); err != nil {
		t.Fatal(err)
	}
	zr := zmqCall(t, sock, "ListTxFlows", map[string]any{"generator_id": "big", "x_offset": 1000, "x_limit": 3}, nil)
	var page []gen.TxFlow
	if err := json.Unmarshal(zr.Body, &page); err != nil || zr.Code != 200 || len(page) != 3 || page[0].Id != r.Id+"-1000" {
		t.Errorf("ZeroMQ ListTxFlows x_offset=1000 x_limit=3: %d %s", zr.Code, zr.Body)
	}
	if zr := zmqCall(t, sock, "ListTxFlows", map[string]any{"x_limit": -1}, nil); zr.Code != 400 {
		t.Errorf("ZeroMQ ListTxFlows x_limit=-1: %d %s, want 400", zr.Code, zr.Body)
	}
	// The daemon still answers the rest of the API.
	d.expect("GET", "/packet/generators/big", nil, 200)
}

// A capture larger than the memory budget is created (as OpenPerf
// accepts any buffer size at create) and refused at start with a 400
// naming the budget; one that fits starts, and the budget is shared: a
// second that does not fit beside it is refused until the first's result
// is deleted.
func TestCaptureOverTheMemoryBudgetIsRefusedAtStart(t *testing.T) {
	d := startDaemon(t, testMode, "--modules.packetio.memory-budget", strconv.Itoa(64<<20))
	capture := func(id string, size int64) map[string]any {
		return map[string]any{"id": id, "source_id": "1", "config": map[string]any{"mode": "buffer", "buffer_size": size}}
	}
	refused := func(what string, code int, body []byte) {
		t.Helper()
		if code != 400 || !strings.Contains(string(body), "--modules.packetio.memory-budget") || !strings.Contains(string(body), "memory budget") {
			t.Fatalf("%s: %d %s, want a 400 naming the memory budget", what, code, body)
		}
	}
	d.expect("POST", "/packet/captures", capture("huge", 1<<40), 201)
	code, body := d.call("POST", "/packet/captures/huge/start", nil)
	refused("start a 1 TiB capture", code, body)
	t.Logf("1 TiB capture at start: %s", body)
	d.expect("POST", "/packet/captures", capture("a", 40<<20), 201)
	d.expect("POST", "/packet/captures", capture("b", 40<<20), 201)
	var res gen.PacketCaptureResult
	if err := json.Unmarshal(d.expect("POST", "/packet/captures/a/start", nil, 201), &res); err != nil {
		t.Fatal(err)
	}
	code, body = d.call("POST", "/packet/captures/b/start", nil)
	refused("start b beside a", code, body)
	d.expect("POST", "/packet/captures/a/stop", nil, 204)
	d.expect("DELETE", "/packet/capture-results/"+res.Id, nil, 204)
	d.expect("POST", "/packet/captures/b/start", nil, 201)

	// Without the flag the default budget is logged at start-up.
	d2 := startDaemon(t, testMode, "-l", "info")
	if !strings.Contains(d2.stderr.String(), "memory budget for captures and flow tables") {
		t.Errorf("no memory budget in the start-up log:\n%s", tail(d2.stderr.String(), 2000))
	}
}
