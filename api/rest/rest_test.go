package rest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/capture"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/rfc2544"
	"github.com/openperfd/openperfd/packet/tvlp"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
	"github.com/openperfd/openperfd/stack"
	"github.com/openperfd/openperfd/workers"
)

// newTestServer serves the API over the fake driver: no DPDK needed.
func newTestServer(t testing.TB) http.Handler {
	t.Helper()
	h, _ := newTestServerWith(t, 1, 1024)
	return h
}

// newTestServerWith is newTestServer with n workers (and n queues per
// port) and a pool of the given size; it also returns the workers.
func newTestServerWith(t testing.TB, n, pool int) (http.Handler, *workers.Workers) {
	t.Helper()
	return newTestServerBudget(t, n, pool, nil)
}

// newTestServerBudget is newTestServerWith with a memory budget for
// captures and flow tables (nil: none).
func newTestServerBudget(t testing.TB, n, pool int, budget *memory.Budget) (http.Handler, *workers.Workers) {
	t.Helper()
	svc := testServicesBudget(t, n, pool, budget)
	s, err := New(zap.NewNop(), NewHandlers(BuildInfo{Version: "test", BuildTime: "2026-01-02T03:04:05Z"}, svc))
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler(), svc.Workers.(*workers.Workers)
}

// testServices are the services over the fake driver: two ports, one
// worker.
func testServices(t testing.TB) Services { return testServicesWith(t, 1, 1024) }

func testServicesWith(t testing.TB, n, pool int) Services { return testServicesBudget(t, n, pool, nil) }

func testServicesBudget(t testing.TB, n, pool int, budget *memory.Budget) Services {
	t.Helper()
	d := fake.New(2, n, pool)
	cpus := make([]int, n)
	for i := range cpus {
		cpus[i] = -1
	}
	w, err := workers.New(workers.Config{CPUs: cpus, Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	svc := packetio.NewService(d, w)
	st, err := stack.New(d, w, stack.Options{Strategy: stack.RxDirect})
	if err != nil {
		t.Fatal(err)
	}
	eps := Endpoints{Ports: svc, Stack: st}
	gens := generator.NewService(w, d.Pool(), eps, generator.Options{Resolver: st, FlowLimit: 1 << 16, Budget: budget})
	ans := analyzer.NewService(w, eps, budget)
	caps := capture.NewService(w, eps, budget)
	tv := tvlp.NewService(TvlpGenerators{Svc: gens}, nil, nil)
	rfc := rfc2544.NewService(Rfc2544Traffic{Gens: gens, Ans: ans, Ports: svc, LinkSpeed: func(string) int64 { return 10000 }}, nil)
	t.Cleanup(func() {
		rfc.Close()
		tv.Close()
		caps.Close()
		ans.Close()
		gens.Close()
		st.Close()
		svc.Close()
		w.Stop()
	})
	return Services{Ports: svc, Workers: w, Stack: st, Generators: gens, Analyzers: ans, Captures: caps, Tvlp: tv, Rfc2544: rfc}
}

func do(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestEveryOperationOfTheSpecIsServed(t *testing.T) {
	h := newTestServer(t)
	spec, err := gen.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			concrete := strings.ReplaceAll(path, "{id}", "no-such-id")
			rec := do(h, method, concrete, "")
			if rec.Code == http.StatusMethodNotAllowed {
				t.Errorf("%s (%s %s) is not routed", op.OperationID, method, path)
			}
			if rec.Code == http.StatusNotFound && !strings.Contains(path, "{id}") {
				t.Errorf("%s (%s %s) answered 404", op.OperationID, method, path)
			}
			if rec.Code >= 500 {
				t.Errorf("%s with no body: %d %s", op.OperationID, rec.Code, rec.Body)
			}
		}
	}
}

func TestErrorsUseTheOpenPerfBody(t *testing.T) {
	h := newTestServer(t)
	cases := []struct {
		method, path, body string
		want               int
		mentions           string
	}{
		{"GET", "/ports/9", "", 404, "port 9"},
		{"PATCH", "/ports/0", "", 405, ""},
		{"GET", "/nope", "", 404, ""},
		{"POST", "/ports", `{"kind":"dpdk","config":{}}`, 400, "kind"},
		{"POST", "/ports", `{"kind":"bond","config":{"bond":{"mode":"lag_802_3_ad","ports":["7"]}}}`, 400, "port 7"},
		{"POST", "/ports", `{"kind":"bond","config":{"bond":{"mode":"lag_802_3_ad","ports":["0","0"]}}}`, 400, "twice"},
		{"POST", "/ports", `{"kind":"bond","id":"a/b","config":{"bond":{"mode":"lag_802_3_ad","ports":["0"]}}}`, 404, "id"},
		{"POST", "/ports", `{"kind":`, 400, ""},
		{"POST", "/ports", `[]`, 400, ""},
		{"POST", "/ports/0/x/test-frames", `{"count":-1}`, 400, "count"},
		{"DELETE", "/ports/1", "", 400, "cannot be deleted"},
	}
	for _, c := range cases {
		rec := do(h, c.method, c.path, c.body)
		if rec.Code != c.want {
			t.Errorf("%s %s %s: %d %s, want %d", c.method, c.path, c.body, rec.Code, rec.Body, c.want)
			continue
		}
		var e gen.Error
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || int(e.Code) != c.want || e.Message == "" {
			t.Errorf("%s %s: body %q is not {code, message}", c.method, c.path, rec.Body)
		}
		if !strings.Contains(e.Message, c.mentions) {
			t.Errorf("%s %s: message %q does not mention %q", c.method, c.path, e.Message, c.mentions)
		}
	}
}

func TestBondLifecycleOverTheFakeDriver(t *testing.T) {
	h := newTestServer(t)
	rec := do(h, "POST", "/ports", `{"id":"b1","kind":"bond","config":{"bond":{"mode":"lag_802_3_ad","ports":["2","3"]}}}`)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var p gen.Port
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || *p.Id != "b1" || p.Kind != gen.PortKindBond {
		t.Fatalf("created %s (%v)", rec.Body, err)
	}
	if rec := do(h, "GET", "/ports?kind=bond", ""); !strings.Contains(rec.Body.String(), `"b1"`) {
		t.Fatalf("kind=bond: %s", rec.Body)
	}
	if rec := do(h, "DELETE", "/ports/b1", ""); rec.Code != 204 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "DELETE", "/ports/b1", ""); rec.Code != 204 {
		t.Fatalf("second delete: %d, want 204 (already gone, as in OpenPerf)", rec.Code)
	}
	if rec := do(h, "DELETE", "/ports/B_1", ""); rec.Code != 404 {
		t.Fatalf("delete of a malformed id: %d, want 404", rec.Code)
	}
}

func TestVersionAndModules(t *testing.T) {
	h := newTestServer(t)
	rec := do(h, "GET", "/version", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"version":"test"`) {
		t.Fatalf("version: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "GET", "/modules/packetio", "")
	var m gen.Module
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m.Version.BuildDate == nil {
		t.Fatalf("module: %s", rec.Body)
	}
}

// FuzzPortBodies throws arbitrary bodies at every port operation that takes
// one: the answer is a documented status, never a 5xx or a panic.
func FuzzPortBodies(f *testing.F) {
	for _, s := range []string{
		`{"kind":"bond","config":{"bond":{"mode":"lag_802_3_ad","ports":["2","3"]}}}`,
		`{"id":"x","kind":"bond","config":{"bond":{"mode":"lag_802_3_ad","ports":["0"]}}}`,
		`{"kind":"dpdk","config":{"dpdk":{"link":{"auto_negotiation":false,"speed":1000,"duplex":"half"}}}}`,
		`{"kind":"dpdk","config":{"dpdk":{"link":{"auto_negotiation":false,"speed":-5}}}}`,
		`{"kind":"dpdk","config":{"dpdk":{"link":{"auto_negotiation":true},"x_rx_checksum_offload":["ipv4","sctp"]}}}`,
		`{"count":10,"length":64,"destination_mac":"01:02:03:04:05:06"}`,
		`{"count":1e30}`, `null`, `{}`, `[]`, `"x"`, `{"kind":null}`, "\x00",
		`{"kind":"dpdk","config":{"dpdk":{"link":{"auto_negotiation":false,"speed":1000000000000000000}}}}`,
		// Strict JSON: one value, no duplicate keys; bounded numbers.
		`{"id":"a"} x`, `{"id":"a"}{"id":"b"}`, `{"id":"a","id":"b"}`, `{"\u0069d":"a","id":"b"}`, `[1,2] [3]`, `{"a":1e400}`, `{"a":-9223372036854775809}`,
	} {
		f.Add(s)
	}
	h := newTestServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []struct{ method, path string }{
			{"POST", "/ports"}, {"PUT", "/ports/1"}, {"POST", "/ports/1/x/test-frames"},
		} {
			var tf struct{ Count float64 }
			if target.path == "/ports/1/x/test-frames" && json.Unmarshal([]byte(body), &tf) == nil && tf.Count > 1000 {
				continue // a long job would keep this process's worker busy for the rest of the run
			}
			req := httptest.NewRequest(target.method, target.path, bytes.NewBufferString(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", target.method, target.path, body, rec.Code, rec.Body)
			}
			if rec.Code == 201 {
				var p gen.Port
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err == nil && p.Id != nil {
					// Keep the fixture stable: give the members back.
					do(h, "DELETE", "/ports/"+*p.Id, "")
				}
			}
		}
	})
}

// FuzzInterfaceBodies throws arbitrary bodies at the interface operations:
// the answer is a documented status, never a 5xx or a panic.
func FuzzInterfaceBodies(f *testing.F) {
	for _, s := range []string{
		`{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:01"}},{"ipv4":{"method":"static","static":{"address":"10.0.0.1","prefix_length":24,"gateway":"10.0.0.254"}}}]}}`,
		`{"port_id":"1","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:02"}},{"ipv6":{"method":"static","static":{"address":"fd00::2","prefix_length":64}}}]},"rx_filter":"arp"}`,
		`{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:03"}},{"ipv6":{"method":"auto"}},{"ipv4":{"method":"dhcp"}}],"tx_filter":"udp port"}}`,
		`{"items":[{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:04"}}]}}]}`,
		`{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:05"}},{"ipv4":{"method":"auto","x_auto":{"status":{"state":"bound"}}}}]}}`,
		`{"items":[{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"00:00:00:00:00:01"}},{"ipv4":{"method":"static","static":{"address":"10.0.0.1","prefix_length":24}}}]}},{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"00:00:00:00:00:01"}},{"ipv4":{"method":"static","static":{"address":"10.0.0.1","prefix_length":24}}}]}}]}`,
		`{"ids":["a","b"]}`, `{"address":"10.0.0.9","count":1,"timeout_ms":1}`, `{}`, `[]`, `null`,
		`{"id":"Invalid_id","port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:05"}}]}}`,
		`{"items":[]}`, `{"ids":["x",""]}`,
		`{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:06"},"ipv4":{"method":"static","static":{"address":"10.0.0.6","prefix_length":24}}}]}}`,
		// Strict JSON: one value, no duplicate keys; bounded numbers.
		`{"id":"a"} x`, `{"id":"a"}{"id":"b"}`, `{"id":"a","id":"b"}`, `{"\u0069d":"a","id":"b"}`, `[1,2] [3]`, `{"a":1e400}`, `{"a":-9223372036854775809}`,
	} {
		f.Add(s)
	}
	h := newTestServer(f)
	do(h, "POST", "/interfaces", `{"id":"fz","port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:aa:01"}},{"ipv4":{"method":"static","static":{"address":"10.99.0.1","prefix_length":24}}}]}}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []struct{ method, path string }{
			{"POST", "/interfaces"}, {"POST", "/interfaces/x/bulk-create"}, {"POST", "/interfaces/x/bulk-delete"},
			{"POST", "/interfaces/fz/x/ping"},
		} {
			var p struct {
				Count     float64 `json:"count"`
				TimeoutMs float64 `json:"timeout_ms"`
			}
			if target.path == "/interfaces/fz/x/ping" && json.Unmarshal([]byte(body), &p) == nil && (p.Count > 2 || p.TimeoutMs > 20) {
				continue // long pings would only slow the fuzzer down
			}
			req := httptest.NewRequest(target.method, target.path, bytes.NewBufferString(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", target.method, target.path, body, rec.Code, rec.Body)
			}
		}
		// Keep the fixture small: drop whatever got created, except fz.
		rec := do(h, "GET", "/interfaces", "")
		var list []gen.Interface
		if json.Unmarshal(rec.Body.Bytes(), &list) == nil {
			var ids []string
			for _, it := range list {
				if it.Id != nil && *it.Id != "fz" {
					ids = append(ids, *it.Id)
				}
			}
			if len(ids) > 0 {
				b, _ := json.Marshal(map[string]any{"ids": ids})
				do(h, "POST", "/interfaces/x/bulk-delete", string(b))
			}
		}
	})
}
