package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	captureBody = `{"active":false,"config":{"buffer_size":16777216,"filter":"udp","mode":"buffer","packet_count":1000,"packet_size":64},` +
		`"direction":"rx","id":"c1","source_id":"1"}`
	captureResultBody = `{"active":false,"bytes":64000,"capture_id":"c1","id":"cr1","packets":1000,"state":"stopped"}`
)

func TestCapturesCreateQuickForm(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{"POST /packet/captures": {201, captureBody}})
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--source", "1"}, `{"source_id": "1", "config": {"mode": "buffer", "buffer_size": 16777216}}`},
		{[]string{"--id", "c1", "--port", "1", "--buffer-size", "1M", "--wrap", "--packet-size", "64", "--filter", "udp",
			"--count", "10k", "--duration", "2.5s"},
			`{"id": "c1", "source_id": "1", "config": {"mode": "buffer", "buffer_size": 1000000, "buffer_wrap": true,
			"packet_size": 64, "filter": "udp", "packet_count": 10000, "duration": 2500}}`},
		{[]string{"--source", "0", "--direction", "tx"}, `{"source_id": "0", "direction": "tx", "config": {"mode": "buffer", "buffer_size": 16777216}}`},
		{[]string{"--source", "0", "--direction", "rx_and_tx"}, `{"source_id": "0", "direction": "rx_and_tx", "config": {"mode": "buffer", "buffer_size": 16777216}}`},
	} {
		out, errOut, code := opctl(t, nil, append([]string{"--server", url, "captures", "create"}, tc.flags...)...)
		if code != 0 {
			t.Fatalf("%v: code %d: %s", tc.flags, code, errOut)
		}
		jsonEqual(t, f.body("POST /packet/captures"), tc.want)
		want := "ID  SOURCE  DIRECTION  ACTIVE  BUFFER      WRAP  FILTER  STOP AFTER\n" +
			"c1  1       rx         no      16,777,216  no    udp     1,000 packets\n"
		if out != want {
			t.Errorf("%v: output:\n%s", tc.flags, out)
		}
	}
}

func TestCaptureVerbs(t *testing.T) {
	_, url := newFakeAPI(t, map[string]reply{
		"GET /packet/captures/c1":         {200, captureBody},
		"POST /packet/captures/c1/start":  {201, strings.Replace(captureResultBody, `"stopped"`, `"running"`, 1)},
		"POST /packet/captures/c1/stop":   {204, ""},
		"DELETE /packet/captures/c1":      {204, ""},
		"GET /packet/capture-results":     {200, "[" + captureResultBody + "]"},
		"GET /packet/capture-results/cr1": {200, captureResultBody},
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"captures", "get", "c1"}, "packet size:    64 bytes"},
		{[]string{"captures", "start", "c1"}, "ID   CAPTURE  STATE    PACKETS  BYTES\ncr1  c1       running  1,000    64,000\n"},
		{[]string{"captures", "stop", "c1"}, "stopped capture c1\n"},
		{[]string{"captures", "delete", "c1"}, "deleted capture c1\n"},
		{[]string{"capture-results", "list"}, "cr1  c1       stopped  1,000    64,000\n"},
		{[]string{"capture-results", "get", "cr1"}, "packets:  1,000\nbytes:    64,000\n"},
		{[]string{"--json", "capture-results", "get", "cr1"}, captureResultBody + "\n"},
	} {
		out, errOut, code := opctl(t, nil, append([]string{"--server", url}, tc.args...)...)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: code %d, stderr %q, output lacks %q:\n%s", tc.args, code, errOut, tc.want, out)
		}
	}
}

// pcapAPI serves a pcap for cr1 and records the last request.
type pcapAPI struct {
	mu       sync.Mutex
	query    string
	body     string
	requests int
}

const pcapData = "\x0a\x0d\x0d\x0a pcapng bytes"

func newPcapAPI(t *testing.T) (*pcapAPI, string) {
	p := &pcapAPI{}
	mux := http.NewServeMux()
	serve := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.query, p.body = r.URL.RawQuery, string(b)
		p.requests++
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-pcapng")
		io.WriteString(w, pcapData)
	}
	mux.HandleFunc("GET /packet/capture-results/cr1/pcap", serve)
	mux.HandleFunc("POST /packet/captures/x/merge", serve)
	mux.HandleFunc("GET /packet/capture-results/nope/pcap", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		io.WriteString(w, `{"code":404,"message":"capture result nope: not found"}`)
	})
	mux.HandleFunc("GET /packet/capture-results/c1/pcap", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		io.WriteString(w, `{"code":404,"message":"capture result c1: not found"}`)
	})
	mux.HandleFunc("GET /packet/capture-results", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("capture_id") != "c1" {
			io.WriteString(w, `[]`)
			return
		}
		io.WriteString(w, `[{"id":"cr0","capture_id":"c1","state":"stopped","packets":1,"bytes":64},`+
			`{"id":"cr1","capture_id":"c1","state":"stopped","packets":1,"bytes":64}]`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

// A capture's id stands for its newest result, so that the README's
// line pastes as it is (no result id to fill in).
func TestCaptureResultsPcapOfACaptureSavesItsNewestResult(t *testing.T) {
	p, url := newPcapAPI(t)
	file := filepath.Join(t.TempDir(), "c1.pcapng")
	out, errOut, code := opctl(t, nil, "--server", url, "capture-results", "pcap", "c1", "-o", file)
	if code != 0 || out != fmt.Sprintf("wrote %d bytes to %s\n", len(pcapData), file) || p.requests != 1 {
		t.Fatalf("code %d, stdout %q, stderr %q, %d downloads", code, out, errOut, p.requests)
	}
}

func TestCaptureResultsPcapWritesTheFile(t *testing.T) {
	p, url := newPcapAPI(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "c1.pcapng")
	out, errOut, code := opctl(t, nil, "--server", url, "capture-results", "pcap", "cr1", "-o", file)
	if code != 0 || out != fmt.Sprintf("wrote %d bytes to %s\n", len(pcapData), file) {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != pcapData {
		t.Errorf("file %q, %v", b, err)
	}
	if p.query != "" {
		t.Errorf("query %q without --first/--last", p.query)
	}

	out, _, code = opctl(t, nil, "--server", url, "capture-results", "pcap", "cr1", "-o", "-", "--first", "10", "--last", "19")
	if code != 0 || out != pcapData {
		t.Errorf("-o -: code %d, stdout %q", code, out)
	}
	if p.query != "packet_start=10&packet_end=19" {
		t.Errorf("query %q", p.query)
	}

	merged := filepath.Join(dir, "m.pcapng")
	if _, errOut, code := opctl(t, nil, "--server", url, "capture-results", "merge", "cr1", "cr2", "-o", merged); code != 0 {
		t.Fatalf("merge: code %d, %s", code, errOut)
	}
	jsonEqual(t, []byte(p.body), `{"ids": ["cr1", "cr2"]}`)
	if b, _ := os.ReadFile(merged); string(b) != pcapData {
		t.Errorf("merged file %q", b)
	}
}

func TestCaptureResultsPcapFailureLeavesNoFile(t *testing.T) {
	p, url := newPcapAPI(t)
	dir := t.TempDir()
	_, errOut, code := opctl(t, nil, "--server", url, "capture-results", "pcap", "nope", "-o", filepath.Join(dir, "x.pcapng"))
	if code != 1 || errOut != "opctl: capture result nope: not found (HTTP 404)\n" {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v behind", entries)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"capture-results", "pcap", "cr1", "--first", "5", "--last", "4"}, "--first <= --last"},
		{[]string{"capture-results", "merge", "cr1"}, "-o FILE is required"},
		{[]string{"captures", "create"}, "--source (or --port) is required"},
		{[]string{"captures", "create", "--source", "1", "--buffer-size", "100"}, "at least 4096"},
		{[]string{"captures", "create", "--source", "1", "--duration", "1us"}, "at least 1ms"},
		{[]string{"captures", "create", "--source", "1", "--count", "0"}, "--count must be positive"},
		{[]string{"captures", "create", "--source", "1", "--direction", "both"}, "--direction must be rx, tx or rx_and_tx"},
	} {
		out, errOut, code := opctl(t, nil, append([]string{"--server", url}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
	if p.requests != 0 {
		t.Errorf("%d requests for bad command lines", p.requests)
	}
}
