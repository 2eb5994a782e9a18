package rest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestHostAllowedAcceptsIPsLocalhostAndKnownNamesOnly(t *testing.T) {
	names := map[string]bool{"daemon-host": true, "lab.example": true}
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"127.0.0.1:9000", true}, {"[::1]:9000", true}, {"10.1.2.3", true}, {"[fe80::1%25eth0]:9000", true},
		{"localhost:9000", true}, {"LOCALHOST.", true}, {"api.localhost:9000", true},
		{"daemon-host:9000", true}, {"Lab.Example.:9000", true}, {"", true},
		{"evil.example:9000", false}, {"localhost.evil.example", false}, {"daemon-host.evil.example", false},
		{"127.0.0.1.nip.io:9000", false},
	} {
		if got := hostAllowed(tc.host, names); got != tc.want {
			t.Errorf("hostAllowed(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
	if !hostAllowed("anything.example", map[string]bool{"*": true}) {
		t.Error(`"*" must allow any host`)
	}
}

// serveGuarded serves the test API on loopback behind g and returns its
// address.
func serveGuarded(t *testing.T, g Guard) string {
	t.Helper()
	h := NewHandlers(BuildInfo{Version: "test"}, testServices(t))
	s, err := New(zap.NewNop(), h)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l, g) }()
	t.Cleanup(func() {
		_ = s.Shutdown(t.Context())
		<-done
	})
	return l.Addr().String()
}

func TestGuardRefusesForeignHostsOriginsAndMissingTokens(t *testing.T) {
	addr := serveGuarded(t, Guard{Hosts: []string{"daemon-host"}, Token: "s3cret"})
	base := "http://" + addr
	for _, tc := range []struct {
		name, method, path, host string
		header                   map[string]string
		want                     int
	}{
		{"token and IP host", "GET", "/version", "", map[string]string{"Authorization": "Bearer s3cret"}, 200},
		{"scheme is case-blind", "GET", "/version", "", map[string]string{"Authorization": "bearer s3cret"}, 200},
		{"no token", "GET", "/version", "", nil, 401},
		{"wrong token", "GET", "/version", "", map[string]string{"Authorization": "Bearer s3cre"}, 401},
		{"basic auth is no bearer", "GET", "/version", "", map[string]string{"Authorization": "Basic czNjcmV0"}, 401},
		{"rebound name", "GET", "/version", "evil.example:9000", map[string]string{"Authorization": "Bearer s3cret"}, 421},
		{"known name", "GET", "/version", "daemon-host:9000", map[string]string{"Authorization": "Bearer s3cret"}, 200},
		{"foreign origin", "POST", "/packet/generators/x/bulk-start", "", map[string]string{"Authorization": "Bearer s3cret",
			"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"}, 403},
		{"null origin", "GET", "/version", "", map[string]string{"Authorization": "Bearer s3cret", "Origin": "null"}, 403},
		{"https origin for http", "GET", "/version", "", map[string]string{"Authorization": "Bearer s3cret", "Origin": "https://" + addr}, 403},
		{"own origin", "GET", "/version", "", map[string]string{"Authorization": "Bearer s3cret", "Origin": "http://" + addr}, 200},
		{"cross-site fetch", "GET", "/version", "", map[string]string{"Authorization": "Bearer s3cret", "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-origin fetch", "GET", "/version", "", map[string]string{"Authorization": "Bearer s3cret", "Sec-Fetch-Site": "same-origin"}, 200},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		if tc.host != "" {
			req.Host = tc.host
		}
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
		if tc.want >= 400 && !strings.Contains(string(body), fmt.Sprintf(`"code":%d`, tc.want)) {
			t.Errorf("%s: body %s is not the API's error", tc.name, body)
		}
		if tc.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
}

func TestHalfSentBodyIsDroppedAfterTheIdleTimeout(t *testing.T) {
	old := bodyIdleTimeout
	bodyIdleTimeout = 300 * time.Millisecond
	t.Cleanup(func() { bodyIdleTimeout = old })
	addr := serveGuarded(t, Guard{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /interfaces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"port_id\":")
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		_, err = c.Read(make([]byte, 1))
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the connection of a stalled body was still open after 5 s")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the stalled body was dropped after %v", took)
	}
}

func TestSlowHandlersAreNotCutByTheDeadlines(t *testing.T) {
	old := bodyIdleTimeout
	bodyIdleTimeout = 100 * time.Millisecond
	t.Cleanup(func() { bodyIdleTimeout = old })
	addr := serveGuarded(t, Guard{})
	// Two requests on one kept-alive connection, the second after the
	// first's deadlines have passed.
	for i := range 2 {
		req, _ := http.NewRequest("POST", "http://"+addr+"/interfaces", strings.NewReader(`{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:0a"}}]}}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
