package rest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSpecServedAsJSONAndYAMLIsTheValidatedOne(t *testing.T) {
	h := newTestServer(t)
	js := get(t, h, "/openapi.json")
	ya := get(t, h, "/openapi.yaml")
	if js.Code != http.StatusOK || ya.Code != http.StatusOK {
		t.Fatalf("status json %d yaml %d", js.Code, ya.Code)
	}
	if ct := js.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("json Content-Type %q", ct)
	}
	if ct := ya.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("yaml Content-Type %q", ct)
	}
	var fromJSON, fromYAML map[string]any
	if err := json.Unmarshal(js.Body.Bytes(), &fromJSON); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if err := yaml.Unmarshal(ya.Body.Bytes(), &fromYAML); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	// Through JSON both ways, so numbers compare as the same type.
	norm := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		_ = json.Unmarshal(b, &out)
		return out
	}
	if !reflect.DeepEqual(norm(fromJSON), norm(fromYAML)) {
		t.Error("openapi.yaml and openapi.json differ")
	}
	paths, _ := fromJSON["paths"].(map[string]any)
	if _, ok := paths["/ports"]; !ok || fromJSON["openapi"] != "3.0.3" {
		t.Errorf("not the daemon's spec: openapi %v, %d paths", fromJSON["openapi"], len(paths))
	}
	if strings.Contains(ya.Body.String(), "{\"") {
		t.Error("openapi.yaml is in flow (JSON) style, want block YAML")
	}
}

func TestDocsServesSwaggerUIWithEmbeddedAssets(t *testing.T) {
	h := newTestServer(t)
	page := get(t, h, "/docs")
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "swagger-ui") {
		t.Fatalf("GET /docs: %d %.200s", page.Code, page.Body.String())
	}
	if !strings.Contains(page.Body.String(), `/openapi.json`) {
		t.Error("/docs does not point Swagger UI at /openapi.json")
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page.Body.String(), -1)
	if len(refs) < 3 {
		t.Fatalf("found %d asset references in /docs", len(refs))
	}
	for _, r := range refs {
		if !strings.HasPrefix(r[1], "/docs/") {
			t.Errorf("asset %s is not served by the daemon", r[1])
			continue
		}
		a := get(t, h, r[1])
		body, _ := io.ReadAll(a.Body)
		if a.Code != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %d, %d bytes", r[1], a.Code, len(body))
		}
	}
	if a := get(t, h, "/docs/swagger-ui-bundle.js", "Accept-Encoding", "gzip"); a.Header().Get("Content-Encoding") != "gzip" {
		t.Errorf("bundle not served compressed to a client that takes gzip: %q", a.Header().Get("Content-Encoding"))
	}
	if a := get(t, h, "/docs/no-such-asset.js"); a.Code != http.StatusNotFound {
		t.Errorf("GET a missing asset: %d, want 404", a.Code)
	}
}

// The operator endpoints sit behind the same guard as the API: a page of
// another origin or a rebound host name reads neither metrics nor docs.
func TestGuardCoversMetricsAndDocs(t *testing.T) {
	addr := serveGuarded(t, Guard{Hosts: []string{"daemon-host"}})
	for _, path := range []string{"/metrics", "/openapi.json", "/openapi.yaml", "/docs", "/docs/swagger-ui.css"} {
		for _, tc := range []struct {
			name, host, origin string
			want               int
		}{
			{"own host", "daemon-host", "", http.StatusOK},
			{"rebound name", "evil.example", "", http.StatusMisdirectedRequest},
			{"foreign origin", addr, "http://evil.example", http.StatusForbidden},
		} {
			req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s, %s: %d, want %d", path, tc.name, resp.StatusCode, tc.want)
			}
		}
	}
}

func TestMetricsServesTheServices(t *testing.T) {
	h := newTestServer(t)
	rec := get(t, h, "/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	for _, want := range []string{`openperfd_port_tx_packets_total{port="0"}`, "openperfd_worker_idle_loops_total",
		"openperfd_stack_interfaces", "openperfd_mempool_buffers", "go_goroutines", "openperfd_process_cpu_seconds_total"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// A description written unquoted in a YAML flow map ends at its first
// comma; the rest of the sentence becomes a key without a value.
func TestSpecHasNoSentenceFragmentsAsKeys(t *testing.T) {
	h := newTestServer(t)
	var spec any
	if err := json.Unmarshal(get(t, h, "/openapi.json").Body.Bytes(), &spec); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if val == nil && strings.ContainsAny(k, " .") {
					t.Errorf("%s: key %q has no value (a description cut at a comma?)", path, k)
				}
				walk(val, path+"/"+k)
			}
		case []any:
			for i, val := range x {
				walk(val, fmt.Sprintf("%s/%d", path, i))
			}
		}
	}
	walk(spec, "")
}
