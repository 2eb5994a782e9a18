package zmq

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"go.uber.org/zap"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/api/rest"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
	"github.com/openperfd/openperfd/workers"
)

// newHandler is the REST handler over the fake driver, as in
// api/rest/rest_test.go: no DPDK needed.
func newHandler(t testing.TB) http.Handler {
	t.Helper()
	d := fake.New(2, 1, 1024)
	w, err := workers.New(workers.Config{CPUs: []int{-1}, Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	svc := packetio.NewService(d, w)
	t.Cleanup(func() {
		svc.Close()
		w.Stop()
	})
	s, err := rest.New(zap.NewNop(), rest.NewHandlers(rest.BuildInfo{Version: "test", BuildTime: "2026-01-02T03:04:05Z"}, rest.Services{Ports: svc, Workers: w}))
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler()
}

// start serves h on endpoint; Serve's result arrives on the channel.
func start(t *testing.T, h http.Handler, endpoint string) (*Server, <-chan error) {
	t.Helper()
	s, err := New(h, endpoint, zap.NewNop(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	t.Cleanup(func() { _ = s.Close() })
	return s, done
}

type client struct{ sock zmq4.Socket }

func dial(t *testing.T, endpoint string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	sock := zmq4.NewReq(ctx, zmq4.WithDialerRetry(20*time.Millisecond))
	if err := sock.Dial(endpoint); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sock.Close()
		cancel()
	})
	return &client{sock: sock}
}

// call sends one raw request and decodes the reply.
func (c *client) call(t *testing.T, req string) (int, json.RawMessage) {
	t.Helper()
	if err := c.sock.Send(zmq4.NewMsgString(req)); err != nil {
		t.Fatalf("send %s: %v", req, err)
	}
	msg, err := c.sock.Recv()
	if err != nil {
		t.Fatalf("recv for %s: %v", req, err)
	}
	var r reply
	if len(msg.Frames) != 1 || json.Unmarshal(msg.Frames[0], &r) != nil {
		t.Fatalf("%s: reply %q is not one JSON frame", req, msg.Frames)
	}
	return r.Code, r.Body
}

func ipcEndpoint(t *testing.T) string {
	return "ipc://" + filepath.Join(t.TempDir(), "run", "op.sock")
}

func TestOperationsOverBothTransports(t *testing.T) {
	for _, tr := range []struct{ name, endpoint string }{
		{"ipc", ""},
		{"tcp", "tcp://127.0.0.1:0"},
	} {
		t.Run(tr.name, func(t *testing.T) {
			ep := tr.endpoint
			if ep == "" {
				ep = ipcEndpoint(t)
			}
			s, _ := start(t, newHandler(t), ep)
			if tr.name == "tcp" && (strings.HasSuffix(s.Addr(), ":0") || !strings.HasPrefix(s.Addr(), "tcp://127.0.0.1:")) {
				t.Fatalf("Addr() = %s, want the bound port", s.Addr())
			}
			if tr.name == "ipc" && s.Addr() != ep {
				t.Fatalf("Addr() = %s, want %s", s.Addr(), ep)
			}
			c := dial(t, s.Addr())

			code, body := c.call(t, `{"operation":"GetVersion"}`)
			if code != 200 || field(body, "version") != "test" {
				t.Errorf("GetVersion: %d %s", code, body)
			}

			code, body = c.call(t, `{"operation":"ListPorts","params":{}}`)
			var ports []map[string]any
			if code != 200 || json.Unmarshal(body, &ports) != nil || len(ports) != 4 {
				t.Errorf("ListPorts: %d %s, want 4 ports", code, body)
			}

			code, body = c.call(t, `{"operation":"GetPort","params":{"id":"0"}}`)
			if code != 200 || field(body, "id") != "0" {
				t.Errorf("GetPort 0: %d %s", code, body)
			}
			code, body = c.call(t, `{"operation":"GetPort","params":{"id":0}}`)
			if code != 200 {
				t.Errorf("GetPort with a numeric id: %d %s", code, body)
			}

			wantError(t, c, `{"operation":"GetPort","params":{"id":"nope"}}`, 404, "nope")
			code, body = c.call(t, `{"operation":"ListPorts","params":{"kind":"bogus"}}`)
			if code != 200 || string(body) != "[]" {
				t.Errorf("ListPorts of a kind no port has: %d %s, want 200 []", code, body)
			}

			code, body = c.call(t, `{"operation":"CreatePort","body":{"id":"bond1","kind":"bond","config":{"bond":{"mode":"lag_802_3_ad","ports":["2","3"]}}}}`)
			if code != 201 || field(body, "id") != "bond1" {
				t.Errorf("CreatePort bond: %d %s", code, body)
			}
			code, body = c.call(t, `{"operation":"DeletePort","params":{"id":"bond1"}}`)
			if code != 204 || string(body) != "null" {
				t.Errorf("DeletePort bond: %d %s, want 204 null", code, body)
			}
			wantError(t, c, `{"operation":"GetPort","params":{"id":"bond1"}}`, 404, "bond1")

			wantError(t, c, `{"operation":"NoSuchThing"}`, 404, "NoSuchThing")
			wantError(t, c, `{"operation":`, 400, "malformed")
			wantError(t, c, `not json at all`, 400, "malformed")
			wantError(t, c, `{"operation":"GetPort"}`, 400, "id")
			wantError(t, c, `{"operation":"GetPort","params":{"id":["0"]}}`, 400, "id")
			wantError(t, c, `{"operation":"GetVersion","parmas":{}}`, 400, "parmas")
			// The socket still answers after all those errors.
			if code, _ := c.call(t, `{"operation":"GetVersion"}`); code != 200 {
				t.Errorf("GetVersion after errors: %d", code)
			}
		})
	}
}

// field is a top-level field of a JSON object, or nil.
func field(body json.RawMessage, name string) any {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return m[name]
}

func wantError(t *testing.T, c *client, req string, code int, mentions string) {
	t.Helper()
	got, body := c.call(t, req)
	var e gen.Error
	if got != code || json.Unmarshal(body, &e) != nil || int(e.Code) != code || e.Message == "" {
		t.Errorf("%s: %d %s, want %d with an error body", req, got, body, code)
		return
	}
	if !strings.Contains(e.Message, mentions) {
		t.Errorf("%s: message %q does not mention %q", req, e.Message, mentions)
	}
}

// TestSameAnswersAsREST: a request over ZeroMQ gets exactly the REST
// status and body.
func TestSameAnswersAsREST(t *testing.T) {
	h := newHandler(t)
	d, err := newDispatcher(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ zmq, method, path, body string }{
		{`{"operation":"ListPorts","params":{"kind":"dpdk"}}`, "GET", "/ports?kind=dpdk", ""},
		{`{"operation":"ListPorts","params":{"kind":"weird"}}`, "GET", "/ports?kind=weird", ""},
		{`{"operation":"GetPort","params":{"id":"9"}}`, "GET", "/ports/9", ""},
		{`{"operation":"GetPort","params":{"id":"a/b c"}}`, "GET", "/ports/a%2Fb%20c", ""},
		{`{"operation":"UpdatePort","params":{"id":"0"},"body":{"kind":"dpdk"}}`, "PUT", "/ports/0", `{"kind":"dpdk"}`},
		{`{"operation":"CreatePort","body":{"kind":"dpdk","config":{}}}`, "POST", "/ports", `{"kind":"dpdk","config":{}}`},
		{`{"operation":"CreatePort","body":[]}`, "POST", "/ports", `[]`},
		{`{"operation":"CreatePort"}`, "POST", "/ports", ``},
		{`{"operation":"DeletePort","params":{"id":"1"}}`, "DELETE", "/ports/1", ""},
		{`{"operation":"SendPortTestFrames","params":{"id":"0"},"body":{"count":-1}}`, "POST", "/ports/0/x/test-frames", `{"count":-1}`},
		{`{"operation":"ListModules"}`, "GET", "/modules", ""},
	}
	for _, c := range cases {
		var r reply
		if err := json.Unmarshal(d.handle(context.Background(), []byte(c.zmq)), &r); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want := strings.TrimSpace(rec.Body.String())
		got := string(r.Body)
		if want == "" {
			want = "null"
		}
		if r.Code != rec.Code || got != want {
			t.Errorf("%s: zmq %d %s, rest %d %s", c.zmq, r.Code, got, rec.Code, want)
		}
	}
}

// TestEveryOperationIsKnown: the table follows the spec.
func TestEveryOperationIsKnown(t *testing.T) {
	spec, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDispatcher(http.NotFoundHandler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			o := d.ops[op.OperationID]
			if o == nil || o.method != method || o.template != path {
				t.Errorf("%s (%s %s) is not dispatched", op.OperationID, method, path)
			}
		}
	}
	if n != len(d.ops) {
		t.Errorf("%d operations in the spec, %d in the table", n, len(d.ops))
	}
}

// TestRequestBuilding checks the HTTP request made from params: escaping,
// query formatting, body and content type.
func TestRequestBuilding(t *testing.T) {
	type seen struct {
		Method, URI, Path, Type, Body string
		Query                         map[string][]string
	}
	echoReq := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{r.Method, r.RequestURI, r.URL.Path, r.Header.Get("Content-Type"), string(b), r.URL.Query()})
	})
	d, err := newDispatcher(echoReq, nil)
	if err != nil {
		t.Fatal(err)
	}
	do := func(req string) seen {
		t.Helper()
		var r reply
		if err := json.Unmarshal(d.handle(context.Background(), []byte(req)), &r); err != nil || r.Code != 200 {
			t.Fatalf("%s: %d %s %v", req, r.Code, r.Body, err)
		}
		var s seen
		if err := json.Unmarshal(r.Body, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := do(`{"operation":"GetPort","params":{"id":"a/b c?"}}`)
	if s.Method != "GET" || s.URI != "/ports/a%2Fb%20c%3F" || s.Path != "/ports/a/b c?" || s.Body != "" || s.Type != "" {
		t.Errorf("escaped id: %+v", s)
	}
	s = do(`{"operation":"ListInterfaces","params":{"port_id":7,"x":[1,true,"a&b"],"n":null}}`)
	if s.Path != "/interfaces" || strings.Join(s.Query["port_id"], ",") != "7" ||
		strings.Join(s.Query["x"], ",") != "1,true,a&b" || s.Query["n"] != nil {
		t.Errorf("query: %+v", s)
	}
	s = do(`{"operation":"UpdatePort","params":{"id":"p1"},"body":{"kind":"bond"}}`)
	if s.Method != "PUT" || s.Path != "/ports/p1" || s.Type != "application/json" || s.Body != `{"kind":"bond"}` {
		t.Errorf("body: %+v", s)
	}
	s = do(`{"operation":"CreatePort","body":null}`)
	if s.Body != "" || s.Type != "" {
		t.Errorf("null body: %+v", s)
	}
	for _, bad := range []string{
		`{"operation":"GetPort","params":{"id":""}}`,
		`{"operation":"GetPort","params":{"id":null}}`,
		`{"operation":"GetPort","params":{"id":{"a":1}}}`,
		`{"operation":"ListPorts","params":{"kind":{"a":1}}}`,
		`{"operation":"ListPorts","params":{"kind":[[1]]}}`,
		`{"operation":"ListPorts","params":[]}`,
		`{"operation":7}`,
		`{"operation":"ListPorts"} {}`,
		`[]`,
		``,
	} {
		var r reply
		if err := json.Unmarshal(d.handle(context.Background(), []byte(bad)), &r); err != nil || r.Code != 400 {
			t.Errorf("%s: %d %s, want 400", bad, r.Code, r.Body)
		}
	}
}

func TestNonJSONBodies(t *testing.T) {
	for _, c := range []struct {
		ctype, body, want, enc string
	}{
		{"text/plain", "hello", `"hello"`, ""},
		{"application/vnd.tcpdump.pcap", "\xd4\xc3\xb2\xa1\xff", `"1MOyof8="`, "base64"},
		{"application/json", "not json", `"not json"`, ""},
	} {
		var r reply
		if err := json.Unmarshal(encodeReply(200, c.ctype, []byte(c.body)), &r); err != nil {
			t.Fatal(err)
		}
		if string(r.Body) != c.want || r.Encoding != c.enc || r.ContentType != c.ctype {
			t.Errorf("%s %q: %+v", c.ctype, c.body, r)
		}
	}
}

func TestHandlerPanicIsA500(t *testing.T) {
	d, err := newDispatcher(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), nil)
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	if err := json.Unmarshal(d.handle(context.Background(), []byte(`{"operation":"GetVersion"}`)), &r); err != nil || r.Code != 500 {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestCloseIsPromptWithAnIdleClient(t *testing.T) {
	ep := ipcEndpoint(t)
	s, done := start(t, newHandler(t), ep)
	c := dial(t, s.Addr())
	if code, _ := c.call(t, `{"operation":"GetVersion"}`); code != 200 {
		t.Fatalf("GetVersion: %d", code)
	}
	t0 := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > time.Second {
		t.Errorf("Close took %v", took)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Serve did not return after Close")
	}
	if _, err := os.Lstat(strings.TrimPrefix(ep, "ipc://")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left behind: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestServeEndsWithItsContext(t *testing.T) {
	s, err := New(newHandler(t), "tcp://127.0.0.1:0", nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	c := dial(t, s.Addr())
	if code, _ := c.call(t, `{"operation":"GetVersion"}`); code != 200 {
		t.Fatalf("GetVersion: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := s.Serve(context.Background()); err == nil {
		t.Error("second Serve succeeded")
	}
}

func TestStaleSocketFile(t *testing.T) {
	h := newHandler(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")

	// A stale socket file, nobody listening: removed and bound.
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	s, err := New(h, "ipc://"+path, nil, Limits{})
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	// A live one (ours): refused.
	if _, err := New(h, "ipc://"+path, nil, Limits{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("live socket: %v", err)
	}
	s.Close()

	// Not a socket: left alone.
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(h, "ipc://"+file, nil, Limits{}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file: %v", err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("regular file removed: %v", err)
	}

	for _, bad := range []string{"", "ipc://", "udp://127.0.0.1:1", "tcp://nohostport", "ipc://" + strings.Repeat("x", 200)} {
		if s, err := New(h, bad, nil, Limits{}); err == nil {
			s.Close()
			t.Errorf("New(%q) succeeded", bad)
		}
	}
}

func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		`{"operation":"GetVersion"}`,
		`{"operation":"ListPorts","params":{"kind":"bond"}}`,
		`{"operation":"GetPort","params":{"id":"0"}}`,
		`{"operation":"CreatePort","body":{"id":"b","kind":"bond","config":{"bond":{"mode":"lag_802_3_ad","ports":["2"]}}}}`,
		`{"operation":"UpdatePort","params":{"id":"0"},"body":{"kind":"dpdk","config":{}}}`,
		`{"operation":"DeletePort","params":{"id":"b"}}`,
		`{"operation":"ListInterfaces","params":{"port_id":["0",1,true]}}`,
		`{"operation":"CreateInterface","body":{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"00:10:94:00:00:01"}}]}}}`,
		`{"operation":"SendPortTestFrames","params":{"id":"0"},"body":{"count":1,"length":64}}`,
		`{"operation":"GetStack","params":{"id":"stack0"}}`,
		`{"operation":`,
		`null`,
		"",
	} {
		f.Add([]byte(seed))
	}
	d, err := newDispatcher(newHandler(f), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := d.handle(context.Background(), data)
		var r struct {
			Code *int            `json:"code"`
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(out, &r); err != nil || r.Code == nil || r.Body == nil {
			t.Fatalf("reply %q to %q is not {code, body}", out, data)
		}
		if *r.Code < 100 || *r.Code > 599 {
			t.Fatalf("reply %q to %q has code %d", out, data, *r.Code)
		}
		if *r.Code >= 400 {
			var e gen.Error
			if err := json.Unmarshal(r.Body, &e); err != nil || int(e.Code) != *r.Code || e.Message == "" {
				t.Fatalf("error reply %q to %q has no {code, message} body", out, data)
			}
		}
	})
}
