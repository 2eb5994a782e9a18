package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// demoAPI is a daemon for the demo: the generator sends 1000 frames per
// result read while it runs, the analyzer has received what the generator
// had sent at its last read, and every mutating call is logged.
type demoAPI struct {
	mu        sync.Mutex
	calls     []string
	genBody   string
	sent      int64
	running   bool
	failures  map[string]reply // "METHOD /path" answered with an error
	onAnaRead func(n int)      // called with the count of analyzer result reads
	anaReads  int
}

func newDemoAPI(t *testing.T) (*demoAPI, string) {
	d := &demoAPI{failures: map[string]reply{}}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	t0 := demoTick
	demoTick = 20 * time.Millisecond
	t.Cleanup(func() { demoTick = t0 })
	return d, srv.URL
}

func (d *demoAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	body, _ := io.ReadAll(r.Body)
	d.mu.Lock()
	defer d.mu.Unlock()
	if r.Method != "GET" {
		d.calls = append(d.calls, key)
	}
	js := func(status int, s string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, s)
	}
	if f, ok := d.failures[key]; ok {
		js(f.status, f.body)
		return
	}
	switch key {
	case "GET /version":
		js(200, versionBody)
	case "GET /packet/generators":
		js(200, `[]`)
	case "POST /packet/analyzers":
		js(201, strings.Replace(analyzerBody, `"id":"a1"`, `"id":"an-1"`, 1))
	case "POST /packet/analyzers/an-1/start":
		js(201, `{"id":"ar-1","analyzer_id":"an-1","active":true,"protocol_counters":{},"flow_counters":{"errors":{"fcs":0,"ipv4_checksum":0,"tcp_checksum":0,"udp_checksum":0},"frame_count":0}}`)
	case "POST /packet/generators":
		d.genBody = string(body)
		js(201, strings.Replace(generatorBody, `"id":"g1"`, `"id":"gen-1"`, 1))
	case "POST /packet/generators/gen-1/start":
		d.running = true
		js(201, `{"id":"gr-1","generator_id":"gen-1","active":true,"flows":[],"protocol_counters":{},"flow_counters":{"errors":0,"octets_actual":0,"octets_intended":0,"packets_actual":0,"packets_intended":0}}`)
	case "POST /packet/generators/gen-1/stop":
		d.running = false
		js(204, "")
	case "POST /packet/analyzers/an-1/stop", "DELETE /packet/generators/gen-1", "DELETE /packet/analyzers/an-1":
		js(204, "")
	case "GET /packet/generator-results/gr-1":
		if d.running {
			d.sent += 1000
		}
		js(200, fmt.Sprintf(`{"id":"gr-1","generator_id":"gen-1","active":%t,"flows":[],"protocol_counters":{},"flow_counters":{"errors":0,`+
			`"octets_actual":%d,"octets_intended":0,"packets_actual":%d,"packets_intended":0,`+
			`"timestamp_first":"2026-01-01T00:00:00Z","timestamp_last":"2026-01-01T00:00:00.002Z"}}`, d.running, d.sent*128, d.sent))
	case "GET /packet/analyzer-results/ar-1":
		d.anaReads++
		if d.onAnaRead != nil {
			d.onAnaRead(d.anaReads)
		}
		n := d.sent // what was sent by the last generator read has arrived
		js(200, fmt.Sprintf(`{"id":"ar-1","analyzer_id":"an-1","active":true,"protocol_counters":{},"flow_counters":{`+
			`"errors":{"fcs":0,"ipv4_checksum":0,"tcp_checksum":0,"udp_checksum":0},"frame_count":%d,`+
			`"sequence":{"dropped":0,"duplicate":0,"in_order":%d,"late":0,"reordered":0,"run_length":0},`+
			`"latency":{"units":"nanoseconds","summary":{"min":500,"max":90000,"total":%d}},`+
			`"timestamp_first":"2026-01-01T00:00:00Z","timestamp_last":"2026-01-01T00:00:00.002Z"}}`, n, n, n*3000))
	case "GET /packet/rx-flows":
		js(200, `[{"id":"ar-1-s1-1","analyzer_result_id":"ar-1","x_stream_id":1,"counters":{"errors":{"fcs":0,"ipv4_checksum":0,"tcp_checksum":0,"udp_checksum":0},"frame_count":1},`+
			`"digests":{"latency":{"centroids":[{"mean":2000,"weight":98},{"mean":40000,"weight":2}]}}},`+
			`{"id":"ar-1-s1-2","analyzer_result_id":"ar-1","x_stream_id":2,"counters":{"errors":{"fcs":0,"ipv4_checksum":0,"tcp_checksum":0,"udp_checksum":0},"frame_count":1},`+
			`"digests":{"latency":{"centroids":[{"mean":3000,"weight":2}]}}}]`)
	default:
		js(404, `{"code":404,"message":"no route `+key+`"}`)
	}
}

func (d *demoAPI) log() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

func TestDemoSendsIntoTheAnalyzerReportsAndCleansUp(t *testing.T) {
	d, url := newDemoAPI(t)
	out, errOut, code := opctl(t, nil, "--server", url, "demo", "--seconds", "3", "--rate", "100k")
	if code != 0 {
		t.Fatalf("code %d: %s\n%s", code, errOut, out)
	}
	jsonEqual(t, []byte(d.genBody), `{"target_id": "0", "config": {
		"duration": {"continuous": true},
		"load": {"burst_size": 32, "rate": {"period": "second", "value": 100000}, "units": "frames"},
		"protocol_counters": ["ethernet", "ip", "transport"],
		"traffic": [{"length": {"fixed": 128}, "signature": {"stream_id": 1, "latency": "start_of_frame"},
			"packet": {"protocols": [
				{"ethernet": {"source": "02:00:00:00:00:01", "destination": "02:00:00:00:00:02"}},
				{"ipv4": {"source": "198.18.0.1", "destination": "198.18.1.1"},
				 "modifiers": {"items": [{"name": "source", "permute": false, "ipv4": {"sequence": {"count": 4, "start": "198.18.0.1"}}}]}},
				{"udp": {}}]}}]}}`)
	wantCalls := []string{
		"POST /packet/analyzers", "POST /packet/analyzers/an-1/start", "POST /packet/generators", "POST /packet/generators/gen-1/start",
		"POST /packet/generators/gen-1/stop", "POST /packet/analyzers/an-1/stop",
		"DELETE /packet/generators/gen-1", "DELETE /packet/analyzers/an-1",
	}
	if got := d.log(); fmt.Sprint(got) != fmt.Sprint(wantCalls) {
		t.Errorf("calls\n got %v\nwant %v", got, wantCalls)
	}
	// The fake's analyzer has what the generator had sent a read before:
	// 1,000 frames not received yet. Its digests never change: no
	// latency in any second but the first.
	progress := regexp.MustCompile(`(?m)^  (\d)/3 s +\S+ +\S+ +(-|3.00µs) +(\S+)  \| +([\d,]+) +([\d,]+) +1,000 +0$`)
	m := progress.FindAllStringSubmatch(out, -1)
	if len(m) != 3 || m[0][1] != "1" || m[2][1] != "3" || m[0][3] != "40.0µs" || m[1][3] != "-" || m[2][4] != "3,000" {
		t.Errorf("want 3 progress lines, 1/3 s to 3/3 s:\n%s", out)
	}
	for _, want := range []string{
		"frames sent:      3,000\n", "frames received:  3,000\n", "frames lost:      0 (0% of those sent; the analyzer's sequence: 0 dropped, 0 late)\n",
		"reordered:        0\n", "duplicates:       0\n",
		"latency:          min 500ns  avg 3.00µs  max 90.0µs  p50 2.00µs  p99 40.0µs\n",
		"mean tx rate:     1.50M frames/s (1.54Gbit/s)\n", "mean rx rate:     1.50M frames/s\n",
		"deleted the demo's generator and analyzer\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDemoFailureSaysWhyAndCleansUp(t *testing.T) {
	d, url := newDemoAPI(t)
	d.failures["POST /packet/generators/gen-1/start"] = reply{400, `{"code":400,"message":"generator gen-1: port 0 is down"}`}
	_, errOut, code := opctl(t, nil, "--server", url, "demo", "--seconds", "1")
	if code != 1 || errOut != "opctl: demo: start generator gen-1: generator gen-1: port 0 is down (HTTP 400)\n" {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
	want := []string{"POST /packet/analyzers", "POST /packet/analyzers/an-1/start", "POST /packet/generators", "POST /packet/generators/gen-1/start",
		"DELETE /packet/generators/gen-1", "POST /packet/analyzers/an-1/stop", "DELETE /packet/analyzers/an-1"}
	if got := d.log(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls\n got %v\nwant %v", got, want)
	}
}

func TestDemoInterruptedStopsAndDeletesWhatItCreated(t *testing.T) {
	d, url := newDemoAPI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.onAnaRead = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"--server", url, "demo", "--seconds", "100"}, strings.NewReader(""), &out, &errOut, func(string) string { return "" })
	if code != exitInterrupted || errOut.Len() != 0 || !regexp.MustCompile(`(?s)\ninterrupted after [\d.]+ s: stopping the generator\n`+
		`\nsummary so far \(port 0 -> port 1, 4 flows, 128-byte frames\)\n  frames sent:\s+[1-9][\d,]*\n.*`+
		`deleted the demo's generator and analyzer\n$`).MatchString(out.String()) {
		t.Errorf("code %d, stderr %q, stdout:\n%s", code, errOut.String(), out.String())
	}
	want := []string{"POST /packet/analyzers", "POST /packet/analyzers/an-1/start", "POST /packet/generators", "POST /packet/generators/gen-1/start",
		"POST /packet/generators/gen-1/stop", "POST /packet/analyzers/an-1/stop", "DELETE /packet/generators/gen-1", "DELETE /packet/analyzers/an-1"}
	if got := d.log(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls\n got %v\nwant %v", got, want)
	}
}

// The progress lines are a table: the second's rates and the latency of
// the frames received in it, then the totals, under a head that says
// which is which.
func TestDemoProgressIsATableOfIntervalsAndTotals(t *testing.T) {
	var buf bytes.Buffer
	d := &demo{app: &app{out: &buf, tty: true}}
	d.progress(demoProgress{Second: 1, Seconds: 10, TxFPS: 1e6, RxFPS: 999968, Sent: 1000000, Received: 999968, NotReceived: 32,
		LatencyAvg: new(int64(270)), LatencyP99: new(int64(1390))})
	d.progress(demoProgress{Second: 10, Seconds: 10, TxFPS: 1e6, RxFPS: 1e6, Sent: 10000000, Received: 10000000})
	want := "" +
		"           this second                          |  since the start\n" +
		"     time      tx/s     rx/s  lat avg  lat p99  |          sent      received  not received   dropped\n" +
		"   1/10 s     1.00M    1.00M    270ns   1.39µs  |     1,000,000       999,968            32         0\n" +
		"  10/10 s     1.00M    1.00M        -        -  |    10,000,000    10,000,000             0         0\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// Latency over a second is that of the frames received in it: the
// difference of two readings of the digests, not the run's so far.
func TestProgressLatencyIsOfTheIntervalsFrames(t *testing.T) {
	t0 := time.Now()
	read := func(at time.Duration, frames, total int64, bins latencyBins) demoSample {
		return demoSample{at: t0.Add(at), bins: bins, ana: gen.PacketAnalyzerFlowCounters{FrameCount: frames,
			Latency: &gen.PacketAnalyzerFlowSummary{Summary: gen.PacketAnalyzerFlowSummaryCounters{Total: total}}}}
	}
	// First second: 100 frames at 1 µs. Second one: 100 more, 98 at 1 µs and 2 at 50 µs.
	prev := read(time.Second, 100, 100*1000, latencyBins{1000: 100})
	cur := read(2*time.Second, 200, 100*1000+98*1000+2*50000, latencyBins{1000: 198, 50000: 2})
	p := progressOf(prev, cur, 2, 10)
	if p.RxFPS != 100 || deref(p.LatencyAvg) != 1980 || deref(p.LatencyP99) != 50000 {
		t.Errorf("rx %v/s, avg %v, p99 %v; want 100/s, 1980 and 50000", p.RxFPS, deref(p.LatencyAvg), deref(p.LatencyP99))
	}
	if q := cur.bins.quantile(0.99); deref(q) != 1000 {
		t.Errorf("cumulative p99 %v, want 1000 (2 of 200 frames are slow)", deref(q))
	}
}

func TestLatencyPercentileOfSeveralFlows(t *testing.T) {
	flow := func(p *gen.DigestPercentiles, c ...gen.TDigestCentroid) gen.RxFlow {
		return gen.RxFlow{Digests: gen.PacketAnalyzerFlowDigests{Latency: &gen.PacketAnalyzerFlowDigestResult{Centroids: c, Percentiles: p}}}
	}
	one := flow(&gen.DigestPercentiles{P50: 1234, P99: 5678}, gen.TDigestCentroid{Mean: 1000, Weight: 1})
	two := flow(nil, gen.TDigestCentroid{Mean: 100, Weight: 50}, gen.TDigestCentroid{Mean: 900, Weight: 49})
	three := flow(nil, gen.TDigestCentroid{Mean: 5000, Weight: 1})
	for _, tc := range []struct {
		flows []gen.RxFlow
		p     float64
		want  string
	}{
		{nil, 0.99, "<nil>"},
		{[]gen.RxFlow{{}}, 0.99, "<nil>"},
		{[]gen.RxFlow{one}, 0.50, "1234"}, // one flow: its own percentiles
		{[]gen.RxFlow{one}, 0.99, "5678"},
		{[]gen.RxFlow{two, three}, 0.50, "100"}, // merged: 50 at 100, 49 at 900, 1 at 5000
		{[]gen.RxFlow{two, three}, 0.99, "900"},
		{[]gen.RxFlow{two, three}, 1, "5000"},
	} {
		got := "<nil>"
		if v := latencyPercentile(tc.flows, tc.p); v != nil {
			got = fmt.Sprint(*v)
		}
		if got != tc.want {
			t.Errorf("%d flows, p%v: %s, want %s", len(tc.flows), tc.p*100, got, tc.want)
		}
	}
}
