package aat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// httpGet fetches url and returns the status, the Content-Type and the
// body.
func httpGet(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// A real Prometheus scrapes the daemon every second while a generator
// sends 100k frames/s into an analyzer; PromQL rates over the scraped
// counters match that rate, and promtool finds the exposition clean.
func TestPrometheusScrapesTheGeneratorsRate(t *testing.T) {
	prom := requireTool(t, "prometheus", "prometheus")
	promtool := requireTool(t, "promtool", "prometheus")
	const fps = 100000
	d := startDaemon(t, testMode)
	createAnalyzer(t, d, "an", "1", map[string]any{
		"protocol_counters": []string{"ethernet"},
		"flow_counters":     []string{"frame_count", "frame_length", "latency", "jitter_rfc", "advanced_sequencing"},
		"flow_digests":      []string{"latency"},
	})
	d.expect("POST", "/packet/analyzers/an/start", nil, 201)
	def := udpDef(map[string]any{"fixed": 128}, "", nil, nil)
	def["signature"] = map[string]any{"stream_id": 7, "latency": "start_of_frame"}
	g := createGenerator(t, d, "0", genConfig(map[string]any{"continuous": true}, fps, def))
	startGenerator(t, d, g)
	defer d.expect("POST", "/packet/generators/"+g+"/stop", nil, 204)

	api := startPrometheus(t, prom, strings.TrimPrefix(d.base, "http://"))
	for _, q := range []string{
		fmt.Sprintf(`sum(rate(openperfd_generator_tx_frames_total{generator=%q}[5s]))`, g),
		`rate(openperfd_port_tx_packets_total{port="0"}[5s])`,
		`rate(openperfd_port_rx_packets_total{port="1"}[5s])`,
		`sum(rate(openperfd_analyzer_rx_frames_total{analyzer="an"}[5s]))`,
	} {
		var got float64
		deadline := time.Now().Add(30 * time.Second)
		for {
			v, ok := promQuery(t, api, q)
			got = v
			// A window that reaches back before the first scrape (or the
			// start) reads low; wait for one that is full.
			if ok && math.Abs(v-fps) <= 0.1*fps {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %.0f (found %v), want %d ±10%%", q, v, ok, fps)
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Logf("%s = %.0f", q, got)
	}
	if v, ok := promQuery(t, api, `openperfd_analyzer_latency_seconds{analyzer="an",quantile="0.5"}`); !ok || v <= 0 || v > 1 {
		t.Errorf("median latency %v s (found %v), want in (0, 1]", v, ok)
	}

	checkDashboard(t, api)

	code, ct, body := httpGet(t, d.base+"/metrics")
	if code != http.StatusOK || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: %d %s", code, ct)
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(body)
	if out, err := check.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for _, family := range []string{"openperfd_worker_busy_loops_total", "openperfd_mempool_available_buffers",
		"openperfd_stack_interfaces", "openperfd_analyzer_sequence_frames_total", "go_goroutines"} {
		if !bytes.Contains(body, []byte("\n"+family)) {
			t.Errorf("/metrics has no %s", family)
		}
	}
}

// checkDashboard runs every query of the Grafana dashboard in deploy/
// against Prometheus: each must parse and find series, so the dashboard
// names only metrics the daemon exports.
func checkDashboard(t *testing.T, api string) {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/grafana/openperfd.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	vars := strings.NewReplacer("$__rate_interval", "5s", "$instance", ".*")
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			q := vars.Replace(tg.Expr)
			code, _, body := httpGet(t, api+"/api/v1/query?query="+url.QueryEscape(q))
			var r struct {
				Status string `json:"status"`
				Data   struct {
					Result []json.RawMessage `json:"result"`
				} `json:"data"`
			}
			if code != http.StatusOK || json.Unmarshal(body, &r) != nil || r.Status != "success" {
				t.Errorf("dashboard panel %q: %s: %d %s", p.Title, q, code, body)
			} else if len(r.Data.Result) == 0 {
				t.Errorf("dashboard panel %q: %s finds no series", p.Title, q)
			}
			n++
		}
	}
	t.Logf("%d dashboard queries checked", n)
}

// startPrometheus runs Prometheus on a free loopback port with its own
// config and data dir, scraping target's /metrics every second, and
// returns its base URL once it is ready. It is stopped when t ends.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: openperfd
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	log := &syncBuffer{}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus log (tail):\n%s", tail(log.String(), 3000))
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-done:
			t.Fatalf("prometheus exited before it was ready:\n%s", tail(log.String(), 3000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready in 30 s:\n%s", tail(log.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promQuery evaluates an instant PromQL query that should give one
// sample; ok is false when it gives none.
func promQuery(t *testing.T, base, q string) (v float64, ok bool) {
	t.Helper()
	code, _, body := httpGet(t, base+"/api/v1/query?query="+url.QueryEscape(q))
	if code != http.StatusOK {
		t.Fatalf("query %s: %d %s", q, code, body)
	}
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %s", q, err, body)
	}
	if len(r.Data.Result) != 1 {
		return 0, false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// The daemon serves its spec as JSON and YAML, and Swagger UI at /docs
// with every asset from the binary itself.
func TestSpecAndDocsAreServed(t *testing.T) {
	d := startDaemon(t, testMode)
	code, ct, js := httpGet(t, d.base+"/openapi.json")
	var spec map[string]any
	if code != http.StatusOK || !strings.HasPrefix(ct, "application/json") || json.Unmarshal(js, &spec) != nil {
		t.Fatalf("GET /openapi.json: %d %s, %.100s", code, ct, js)
	}
	code, ct, ya := httpGet(t, d.base+"/openapi.yaml")
	var fromYAML map[string]any
	if code != http.StatusOK || ct != "application/yaml" {
		t.Fatalf("GET /openapi.yaml: %d %s", code, ct)
	}
	if err := yaml.Unmarshal(ya, &fromYAML); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	paths, _ := fromYAML["paths"].(map[string]any)
	for _, p := range []string{"/ports", "/packet/generators", "/packet/analyzers"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("openapi.yaml has no path %s", p)
		}
	}
	if len(paths) != len(spec["paths"].(map[string]any)) {
		t.Errorf("openapi.yaml has %d paths, openapi.json %d", len(paths), len(spec["paths"].(map[string]any)))
	}

	code, ct, page := httpGet(t, d.base+"/docs")
	if code != http.StatusOK || !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET /docs: %d %s", code, ct)
	}
	if !bytes.Contains(page, []byte("/openapi.json")) {
		t.Error("/docs does not load /openapi.json")
	}
	assets := regexp.MustCompile(`(?:src|href)="(/docs/[^"]+)"`).FindAllSubmatch(page, -1)
	if len(assets) < 3 {
		t.Fatalf("/docs references %d assets under /docs/", len(assets))
	}
	for _, a := range assets {
		code, _, b := httpGet(t, d.base+string(a[1]))
		if code != http.StatusOK || len(b) == 0 {
			t.Errorf("GET %s: %d, %d bytes", a[1], code, len(b))
		}
	}
	if m := regexp.MustCompile(`(?:src|href)="[a-z]+:`).Find(page); m != nil {
		t.Errorf("/docs loads %s from the network", m)
	}
}
