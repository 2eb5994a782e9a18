package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestComputeRatesPerPortAndPerGenerator(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := sample{at: t0, ports: []string{"0", "1"},
		portRx:     map[string]int64{"0": 0, "1": 1000},
		generators: []string{"g1", "g2"},
		genFrames:  map[string]int64{"g1": 0, "g2": 500},
		genOctets:  map[string]int64{"g1": 0, "g2": 64000}}
	cur := sample{at: t0.Add(2 * time.Second), ports: []string{"0", "1"},
		portRx:     map[string]int64{"0": 0, "1": 2001000},
		generators: []string{"g1", "g2", "g3"},
		genTarget:  map[string]string{"g1": "0", "g2": "if-a", "g3": "1"},
		genPort:    map[string]string{"g1": "0", "g2": "0", "g3": "1"},
		genActive:  map[string]bool{"g1": true, "g2": true},
		genFrames:  map[string]int64{"g1": 1000000, "g2": 100, "g3": 4000}, // g2's result was deleted
		genOctets:  map[string]int64{"g1": 128000000, "g2": 6400, "g3": 256000}}
	r := computeRates(prev, cur)
	wantPorts := []portRates{{ID: "0", TxFPS: 500000, RxFPS: 0, RxFrames: 0}, {ID: "1", TxFPS: 2000, RxFPS: 1000000, RxFrames: 2001000}}
	if fmt.Sprint(r.Ports) != fmt.Sprint(wantPorts) {
		t.Errorf("ports %+v, want %+v", r.Ports, wantPorts)
	}
	wantGens := []generatorRate{
		{ID: "g1", Target: "0", Active: true, TxFPS: 500000, TxBPS: 512e6, TxFrames: 1000000},
		{ID: "g2", Target: "if-a", Active: true, TxFPS: 0, TxBPS: 0, TxFrames: 100},
		{ID: "g3", Target: "1", TxFPS: 2000, TxBPS: 1.024e6, TxFrames: 4000},
	}
	if fmt.Sprint(r.Generators) != fmt.Sprint(wantGens) {
		t.Errorf("generators %+v, want %+v", r.Generators, wantGens)
	}
	if line := watchLine(r); line != "00:00:02 port 0 tx 500k/s rx 0/s | port 1 tx 2.00k/s rx 1.00M/s | generator g1 tx 500k/s, 1,000,000 frames |"+
		" generator g2 tx 0/s, 100 frames | generator g3 tx 2.00k/s, 4,000 frames" {
		t.Errorf("line %q", line)
	}
}

// countingAPI is a daemon whose counters grow by 1000 frames per request.
func countingAPI(t *testing.T) string {
	var n atomic.Int64
	mux := http.NewServeMux()
	js := func(w http.ResponseWriter, s string) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, s)
	}
	mux.HandleFunc("GET /ports", func(w http.ResponseWriter, r *http.Request) {
		js(w, fmt.Sprintf(`[{"id":"0","kind":"dpdk","config":{},"stats":{"rx_bytes":0,"rx_errors":0,"rx_packets":0,"tx_bytes":0,"tx_errors":0,"tx_packets":0}},`+
			`{"id":"1","kind":"dpdk","config":{},"stats":{"rx_bytes":0,"rx_errors":0,"rx_packets":%d,"tx_bytes":0,"tx_errors":0,"tx_packets":0}}]`, n.Add(1000)))
	})
	mux.HandleFunc("GET /packet/generators", func(w http.ResponseWriter, r *http.Request) {
		js(w, `[{"id":"g1","target_id":"a","active":true,"config":{"duration":{},"load":{"rate":{"period":"second","value":1},"units":"frames"},"traffic":[]}}]`)
	})
	mux.HandleFunc("GET /packet/generator-results", func(w http.ResponseWriter, r *http.Request) {
		js(w, fmt.Sprintf(`[{"id":"r1","generator_id":"g1","active":true,"flows":[],"protocol_counters":{},"flow_counters":{"errors":0,"octets_actual":0,"octets_intended":0,"packets_actual":%d,"packets_intended":0}}]`, n.Load()))
	})
	mux.HandleFunc("GET /packet/analyzers", func(w http.ResponseWriter, r *http.Request) {
		js(w, `[{"id":"an","source_id":"1","active":true,"config":{"protocol_counters":[],"flow_counters":["frame_count","latency","advanced_sequencing"]}}]`)
	})
	mux.HandleFunc("GET /packet/analyzer-results", func(w http.ResponseWriter, r *http.Request) {
		f := n.Load()
		js(w, fmt.Sprintf(`[{"id":"ar1","analyzer_id":"an","active":true,"protocol_counters":{},"flow_counters":{"errors":{"fcs":0,"ipv4_checksum":0,"tcp_checksum":0,"udp_checksum":0},`+
			`"frame_count":%d,"sequence":{"dropped":3,"duplicate":0,"late":0,"reordered":0,"in_order":%d,"run_length":0},"latency":{"units":"nanoseconds","summary":{"min":100,"max":9000,"total":%d}}}}]`, f, f, f*2500))
	})
	mux.HandleFunc("GET /interfaces", func(w http.ResponseWriter, r *http.Request) {
		js(w, `[{"id":"a","port_id":"0","config":{"protocols":[]}}]`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestWatchPrintsOneLinePerSampleWhenNotOnATerminal(t *testing.T) {
	url := countingAPI(t)
	out, errOut, code := opctl(t, nil, "--server", url, "watch", "--interval", "20ms", "--count", "3")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// The generator sits on interface a, which is on port 0: its rate is port 0's tx.
	re := regexp.MustCompile(`^\d\d:\d\d:\d\d port 0 tx (\S+)/s rx 0/s \| port 1 tx 0/s rx (\S+)/s \| generator g1 tx (\S+)/s, [\d,]+ frames \|` +
		` analyzer an rx (\S+)/s, [\d,]+ frames, dropped 3 \(loss \S+%\), latency avg 2.50µs p99 -$`)
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "# /s: per second over the last 20ms; latency: of the frames received in it;") {
		t.Fatalf("%d lines, want a legend and 3:\n%s", len(lines), out)
	}
	for _, l := range lines[1:] {
		m := re.FindStringSubmatch(l)
		if m == nil || m[1] == "0" || m[1] != m[3] || m[2] == "0" || m[4] == "0" {
			t.Errorf("line %q does not match %s with non-zero rates", l, re)
		}
	}
}

func TestWatchJSONPrintsOneObjectPerSample(t *testing.T) {
	url := countingAPI(t)
	out, errOut, code := opctl(t, nil, "--server", url, "--json", "watch", "--interval", "20ms", "--count", "2")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out)
	}
	for _, l := range lines {
		var r rates
		if err := json.Unmarshal([]byte(l), &r); err != nil || len(r.Ports) != 2 || len(r.Generators) != 1 || r.Ports[1].RxFPS <= 0 ||
			len(r.Analyzers) != 1 || r.Analyzers[0].RxFPS <= 0 || deref(r.Analyzers[0].Dropped) != 3 || deref(r.Analyzers[0].LatencyAvg) != 2500 ||
			r.Analyzers[0].Loss == nil || r.Seconds <= 0 {
			t.Errorf("line %q: %v %+v", l, err, r)
		}
	}
}

func TestWatchRedrawsInPlaceOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	w := &watcher{app: &app{out: &buf, tty: true, server: "http://x"}}
	r := rates{Ports: []portRates{{ID: "0"}, {ID: "1"}}, Generators: []generatorRate{{ID: "g1"}}}
	if err := w.show(r); err != nil {
		t.Fatal(err)
	}
	first := buf.String()
	if strings.Contains(first, "\x1b[") || !strings.Contains(first, "GENERATOR") {
		t.Errorf("first frame %q", first)
	}
	buf.Reset()
	w.show(r)
	// Clear the line below the first frame, then each of its lines going up.
	want := "\x1b[2K" + strings.Repeat("\x1b[1A\x1b[2K", strings.Count(first, "\n"))
	if !strings.HasPrefix(buf.String(), want) || strings.TrimPrefix(buf.String(), want) != first {
		t.Errorf("second frame %q does not start with %q and repeat the first", buf.String(), want)
	}
}

func TestWatchOnUnreachableDaemonExits2(t *testing.T) {
	_, errOut, code := opctl(t, nil, "--server", closedAddr(t), "watch")
	if code != 2 || !strings.Contains(errOut, "cannot reach openperfd") {
		t.Errorf("code %d, %q", code, errOut)
	}
}

func TestComputeRatesPerAnalyzerWithLossAndLatency(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := sample{at: t0, anaFrames: map[string]int64{"a": 1000},
		anaLatency: map[string]latencySum{"a": {total: 1000 * 90000, frames: 1000}},
		anaBins:    map[string]latencyBins{"a": {90000: 1000}}}
	cur := sample{at: t0.Add(time.Second), analyzers: []string{"a", "b"},
		anaSource: map[string]string{"a": "1", "b": "0"}, anaActive: map[string]bool{"a": true},
		anaFrames: map[string]int64{"a": 501000, "b": 7}, anaSeq: map[string]bool{"a": true},
		anaDropped: map[string]int64{"a": 12}, anaUnique: map[string]int64{"a": 501000 - 12},
		anaLatency: map[string]latencySum{"a": {total: 1000*90000 + 500000*3000, frames: 501000}},
		anaBins:    map[string]latencyBins{"a": {90000: 1000, 3000: 490000, 9000: 10000}}}
	r := computeRates(prev, cur)
	if len(r.Analyzers) != 2 {
		t.Fatalf("analyzers %+v", r.Analyzers)
	}
	a, b := r.Analyzers[0], r.Analyzers[1]
	// The second's latency leaves out the 1000 slow frames before it.
	if a.ID != "a" || a.Source != "1" || !a.Active || a.RxFPS != 500000 || a.RxFrames != 501000 ||
		deref(a.Dropped) != 12 || deref(a.Loss) != 100*12.0/501000 || deref(a.LatencyAvg) != 3000 || deref(a.LatencyP99) != 9000 {
		t.Errorf("analyzer a %+v", a)
	}
	// b neither sequences nor measures latency: no loss or latency to show.
	if b.ID != "b" || b.RxFPS != 7 || b.Dropped != nil || b.Loss != nil || b.LatencyAvg != nil || b.LatencyP99 != nil {
		t.Errorf("analyzer b %+v", b)
	}
	table := watchTable(r, "http://x", time.Second)
	for _, want := range []string{"/s: per second over the last 1s; latency: of the frames received in it;",
		"ANALYZER  SOURCE  ACTIVE  RX FRAMES/S  RX FRAMES  DROPPED  LOSS     LATENCY AVG  LATENCY P99",
		"a         1       yes     500k         501,000    12       0.0024%  3.00µs       9.00µs",
		"b         0       no      7            7          -        -        -            -"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if line := watchLine(r); !strings.HasSuffix(line, " analyzer a rx 500k/s, 501,000 frames, dropped 12 (loss 0.0024%), latency avg 3.00µs p99 9.00µs | analyzer b rx 7/s, 7 frames") {
		t.Errorf("line %q", line)
	}
}

// Ctrl-C ends watch with the rates over all of it.
func TestWatchInterruptedPrintsASummary(t *testing.T) {
	url := countingAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"--server", url, "watch", "--interval", "20ms"}, strings.NewReader(""), &out, &errOut, func(string) string { return "" })
	if code != 0 || errOut.Len() != 0 ||
		!regexp.MustCompile(`\nsummary of the 0\.\d s watched: /s is the mean rate over it, latency that of the frames received in it;`).MatchString(out.String()) ||
		!regexp.MustCompile(`(?m)^an +1 +yes +\S+ +[\d,]+ +3 +\S+% +2.50µs +-$`).MatchString(out.String()) {
		t.Errorf("code %d, stderr %q, stdout:\n%s", code, errOut.String(), out.String())
	}
}

func TestWatchTableLeavesOutAnalyzersWhenThereAreNone(t *testing.T) {
	if table := watchTable(rates{Ports: []portRates{{ID: "0"}}}, "http://x", time.Second); strings.Contains(table, "ANALYZER") {
		t.Errorf("table:\n%s", table)
	}
}
