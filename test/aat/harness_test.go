// Package aat holds the acceptance tests: each starts the real openperfd
// binary on test ports and talks to it over HTTP, as a user would.
package aat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/openperfd/openperfd/api/gen"
)

var (
	binPath string
	router  routers.Router
)

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "aat setup:", err)
		os.Exit(1)
	}
	if code >= 0 {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// setup finds or builds the binary and loads the spec for response checks.
func setup() (int, error) {
	binPath = os.Getenv("OPENPERFD_BIN")
	if binPath == "" {
		dir, err := os.MkdirTemp("", "aat-bin")
		if err != nil {
			return 1, err
		}
		binPath = filepath.Join(dir, "openperfd")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/openperfd/openperfd/cmd/openperfd")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return 1, fmt.Errorf("build openperfd: %w", err)
		}
	}
	if _, err := os.Stat(binPath); err != nil {
		return 1, fmt.Errorf("openperfd binary: %w", err)
	}
	spec, err := gen.GetSwagger()
	if err != nil {
		return 1, err
	}
	spec.Servers = nil
	router, err = gorillamux.NewRouter(spec)
	if err != nil {
		return 1, err
	}
	openapi3.SchemaErrorDetailsDisabled = true
	return -1, nil
}

// requireRoot fails (CI) or skips (local non-root) tests that need root.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	unmet(t, "%s needs root", why)
}

// unmet ends a test whose prerequisite is missing: a failure under
// CI=true (CI must run every test), a skip on a developer's machine.
func unmet(t *testing.T, format string, a ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format+" (CI must not skip; make deps installs what the tests need)", a...)
	}
	t.Skipf(format, a...)
}

// daemon is one running openperfd.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	prefix string
	stderr *syncBuffer
	waited chan error
	exited bool
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var prefixSeq struct {
	sync.Mutex
	n int
}

func uniquePrefix() string {
	prefixSeq.Lock()
	defer prefixSeq.Unlock()
	prefixSeq.n++
	return fmt.Sprintf("aat%d_%d", os.Getpid(), prefixSeq.n)
}

// startDaemon runs openperfd with args plus a free API port and a unique
// prefix, and waits until /version answers 200.
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := launch(t, args...)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(d.base + "/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d
			}
		}
		select {
		case err := <-d.waited:
			d.exited = true
			t.Fatalf("openperfd exited before /version answered: %v\nstderr:\n%s", err, d.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("openperfd did not answer /version in 20 s\nstderr:\n%s", d.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// launch starts openperfd without waiting for it.
func launch(t *testing.T, args ...string) *daemon {
	t.Helper()
	port := freePort(t)
	d := &daemon{t: t, base: "http://127.0.0.1:" + strconv.Itoa(port), prefix: uniquePrefix(),
		stderr: &syncBuffer{}, waited: make(chan error, 1)}
	full := append([]string{"-p", strconv.Itoa(port), "-P", d.prefix, "-l", "warning"}, args...)
	d.cmd = exec.Command(binPath, full...)
	d.cmd.Stderr = d.stderr
	d.cmd.Stdout = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.waited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if !d.exited {
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.waited:
				// A daemon that panics while stopping, or stops badly,
				// fails the test that ran it.
				if code := d.cmd.ProcessState.ExitCode(); code != 0 {
					// -1 is a death by signal: name it (%v of the state).
					t.Errorf("openperfd exited %d (%v) on SIGTERM\nstderr (tail):\n%s", code, d.cmd.ProcessState, tail(d.stderr.String(), 3000))
				}
			case <-time.After(10 * time.Second):
				_ = d.cmd.Process.Kill()
				<-d.waited
				t.Errorf("openperfd did not exit within 10 s of SIGTERM")
			}
			d.exited = true
		}
		// A handler panic answers 500 and the daemon lives on: still a bug.
		if out := d.stderr.String(); strings.Contains(out, `"msg":"handler panic"`) {
			t.Errorf("a request made openperfd panic:\n%s", tail(out, 3000))
		}
		_ = os.RemoveAll(filepath.Join("/var/run/dpdk", d.prefix))
	})
	return d
}

// stop sends SIGTERM and returns the exit code and how long it took.
func (d *daemon) stop() (int, time.Duration) {
	d.t.Helper()
	start := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.waited:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.waited
		d.exited = true
		d.t.Fatalf("openperfd did not exit within 10 s of SIGTERM\n%s", d.stderr)
	}
	d.exited = true
	return d.cmd.ProcessState.ExitCode(), time.Since(start)
}

// call makes a request and checks the response against the spec.
func (d *daemon) call(method, path string, body any) (int, []byte) {
	d.t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			d.t.Fatal(err)
		}
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, d.base+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	d.checkResponse(req, raw, resp, out)
	return resp.StatusCode, out
}

// checkResponse validates every documented response against the spec and
// every error against the {"code","message"} shape.
func (d *daemon) checkResponse(req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	d.t.Helper()
	if resp.StatusCode >= 400 && len(body) > 0 {
		var e struct {
			Code    *int    `json:"code"`
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Code == nil || e.Message == nil || *e.Code != resp.StatusCode || *e.Message == "" {
			d.t.Errorf("%s %s: error body %q is not {code: %d, message}", req.Method, req.URL.Path, body, resp.StatusCode)
		}
	}
	vreq, _ := http.NewRequest(req.Method, req.URL.String(), bytes.NewReader(reqBody))
	vreq.Header = req.Header
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		return // unknown path or method: nothing to check against
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		d.t.Errorf("%s %s -> %d does not match the spec: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
}

// get decodes a 200 response into v.
func (d *daemon) get(path string, v any) {
	d.t.Helper()
	code, body := d.call("GET", path, nil)
	if code != 200 {
		d.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
}

// expect checks a status code.
func (d *daemon) expect(method, path string, body any, want int) []byte {
	d.t.Helper()
	code, out := d.call(method, path, body)
	if code != want {
		d.t.Fatalf("%s %s: got %d, want %d: %s", method, path, code, want, out)
	}
	return out
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after 10 s; last: %s", what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func oneLine(s string) bool {
	return strings.Count(strings.TrimSpace(s), "\n") == 0
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
