package aat

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// raw sends one request with the given headers and returns the status
// and body; the harness's call would add a JSON Content-Type.
func raw(t *testing.T, c *http.Client, method, url, body string, header map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

const hardenGen = `{"id":"g1","target_id":"0","config":{"duration":{"frames":10},
  "load":{"rate":{"period":"second","value":1000},"units":"frames"},
  "traffic":[{"packet":{"protocols":[{"ethernet":{"source":"02:00:00:00:00:01","destination":"02:00:00:00:00:02"}},
    {"ipv4":{"source":"198.18.0.1","destination":"198.18.1.1"}},{"udp":{}}]},
   "length":{"fixed":128},"signature":{"stream_id":STREAM,"latency":"start_of_frame"}}]}}`

// TestNoWebPageCanDriveTheDaemon: a page rebinding its name to the
// daemon's address, or posting a form to it, is refused; OpenPerf's
// Swagger client and plain programs are not.
func TestNoWebPageCanDriveTheDaemon(t *testing.T) {
	d := startDaemon(t, "--modules.packetio.dpdk.test-mode")
	d.expect("POST", "/packet/generators", strings.Replace(hardenGen, "STREAM", "1", 1), 201)
	start := d.base + "/packet/generators/g1/start"

	if code, body := raw(t, nil, "GET", d.base+"/version", "", map[string]string{"Host": "rebound.example:9000"}); code != 421 {
		t.Errorf("GET /version with a rebound Host: %d %s, want 421", code, body)
	}
	if code, body := raw(t, nil, "POST", start, "", map[string]string{"Host": "rebound.example:9000",
		"Content-Type": "application/json"}); code != 421 {
		t.Errorf("POST start with a rebound Host: %d %s, want 421", code, body)
	}
	if code, body := raw(t, nil, "POST", start, "", map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"Origin": "http://attacker.example"}); code != 403 {
		t.Errorf("POST start from a foreign page: %d %s, want 403", code, body)
	}
	if code, body := raw(t, nil, "POST", start, "a=b", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); code != 415 {
		t.Errorf("POST start with a form body: %d %s, want 415", code, body)
	}
	if code, body := raw(t, nil, "POST", start, "", map[string]string{"Content-Type": "text/plain"}); code != 415 {
		t.Errorf("POST start typed text/plain: %d %s, want 415", code, body)
	}
	var g struct{ Active bool }
	d.get("/packet/generators/g1", &g)
	if g.Active {
		t.Fatal("a refused request started the generator")
	}
	// OpenPerf's Python client: JSON Content-Type, no body, Host localhost.
	if code, body := raw(t, nil, "POST", start, "", map[string]string{"Content-Type": "application/json",
		"Host": "localhost:" + strings.TrimPrefix(d.base, "http://127.0.0.1:")}); code != 201 {
		t.Errorf("POST start as OpenPerf's client sends it: %d %s, want 201", code, body)
	}
	// curl -X POST: neither body nor type; and the daemon's own origin.
	if code, body := raw(t, nil, "POST", d.base+"/packet/generators/g1/stop", "", map[string]string{"Origin": d.base}); code != 204 {
		t.Errorf("POST stop without body from the daemon's own origin: %d %s, want 204", code, body)
	}
}

// TestBodiesAreStrictAndBounded: one JSON value without duplicate keys,
// and no value that would overflow a counter or wrap an id.
func TestBodiesAreStrictAndBounded(t *testing.T) {
	d := startDaemon(t, "--modules.packetio.dpdk.test-mode")
	gen := strings.Replace(hardenGen, "STREAM", "1", 1)
	for _, tc := range []struct{ name, path, body, want string }{
		{"trailing garbage", "/packet/generators", gen + " garbage", "unexpected data after the JSON value"},
		{"two objects", "/packet/generators", gen + gen, "more than one JSON value"},
		{"duplicate key", "/packet/generators", strings.Replace(gen, `"id":"g1"`, `"id":"g1","id":"g2"`, 1), `duplicate key`},
		{"int64 rate", "/packet/generators", strings.Replace(gen, `"value":1000}`, `"value":9223372036854775807}`, 1), "config.load.rate.value"},
		{"stream ids that wrap", "/packet/generators", strings.Replace(strings.Replace(hardenGen, "STREAM", "4294967295", 1),
			`{"ipv4":{"source":"198.18.0.1","destination":"198.18.1.1"}}`,
			`{"ipv4":{"source":"198.18.0.1","destination":"198.18.1.1"},"modifiers":{"items":[{"name":"source","permute":false,"ipv4":{"sequence":{"count":3,"start":"198.18.0.1"}}}]}}`, 1),
			"stream_id"},
		{"two layers in one protocol entry", "/interfaces", `{"port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:0a"},
			"ipv4":{"method":"static","static":{"address":"10.0.0.1","prefix_length":24}}}]}}`, "exactly one of eth, ipv4, ipv6"},
	} {
		code, body := d.call("POST", tc.path, tc.body)
		if code != 400 || !strings.Contains(body2s(body), tc.want) {
			t.Errorf("%s: %d %s, want 400 naming %q", tc.name, code, body, tc.want)
		}
	}
	code, body := d.call("PUT", "/ports/0", `{"id":"0","kind":"dpdk","config":{"dpdk":{"link":{"auto_negotiation":false,"speed":1000000000000000000,"duplex":"full"}}}}`)
	if code != 400 || !strings.Contains(string(body), "config.dpdk.link.speed") {
		t.Errorf("link speed 1e18: %d %s, want 400", code, body)
	}
	var gens []any
	d.get("/packet/generators", &gens)
	if len(gens) != 0 {
		t.Errorf("refused bodies created %d generators", len(gens))
	}
}

func body2s(b []byte) string { return string(b) }

// TestStalledBodiesAreDropped: a client that sends half a body is cut off
// after the body idle timeout (10 s), and many of them do not wedge the
// daemon.
func TestStalledBodiesAreDropped(t *testing.T) {
	d := startDaemon(t, "--modules.packetio.dpdk.test-mode")
	addr := strings.TrimPrefix(d.base, "http://")
	var conns []net.Conn
	for range 200 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /interfaces HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"port_id\":", addr)
		conns = append(conns, c)
	}
	d.expect("GET", "/version", nil, 200) // still answers meanwhile
	start := time.Now()
	for i, c := range conns {
		_ = c.SetReadDeadline(start.Add(20 * time.Second))
		_, err := io.Copy(io.Discard, c) // the answer, if any, then EOF
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("connection %d with a stalled body still open after 20 s", i)
		}
	}
	if took := time.Since(start); took < 5*time.Second || took > 16*time.Second {
		t.Errorf("stalled bodies dropped after %v, want about 10 s", took)
	}
	d.expect("GET", "/version", nil, 200)
}

// TestSIGTERMDrainsRequestsInFlight: a stop waits for a running request
// (a 3 s ping) and exits 0.
func TestSIGTERMDrainsRequestsInFlight(t *testing.T) {
	d := startDaemon(t, "--modules.packetio.dpdk.test-mode")
	d.expect("POST", "/interfaces", `{"id":"a","port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:0a"}},
		{"ipv4":{"method":"static","static":{"address":"10.0.0.1","prefix_length":24}}}]}}`, 201)
	d.expect("POST", "/interfaces", `{"id":"b","port_id":"1","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:00:0b"}},
		{"ipv4":{"method":"static","static":{"address":"10.0.0.2","prefix_length":24}}}]}}`, 201)
	type answer struct {
		code int
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := http.Post(d.base+"/interfaces/a/x/ping", "application/json",
			strings.NewReader(`{"address":"10.0.0.2","count":4,"interval_ms":1000}`))
		if err != nil {
			done <- answer{err: err}
			return
		}
		resp.Body.Close()
		done <- answer{code: resp.StatusCode}
	}()
	time.Sleep(700 * time.Millisecond)
	code, took := d.stop()
	if code != 0 {
		t.Errorf("SIGTERM with a request in flight: exit %d after %v\n%s", code, took, tail(d.stderr.String(), 2000))
	}
	if a := <-done; a.err != nil || a.code != 200 {
		t.Errorf("the ping in flight got %d %v, want its 200", a.code, a.err)
	}
	if took > 8*time.Second {
		t.Errorf("stop took %v", took)
	}
}

// TestBeyondLoopbackNeedsTokenAndTLS: an API on 0.0.0.0 (or a ZeroMQ
// endpoint on tcp beyond loopback) starts only with a token and TLS, or
// with --modules.api.insecure; then the token is needed, over TLS, and
// opctl sends it.
func TestBeyondLoopbackNeedsTokenAndTLS(t *testing.T) {
	for _, args := range [][]string{
		{"--modules.api.address", "0.0.0.0"},
		{"--modules.zmq.endpoint", "tcp://0.0.0.0:" + strconv.Itoa(freePort(t))},
	} {
		d := launch(t, append([]string{"--modules.packetio.dpdk.no-init"}, args...)...)
		select {
		case <-d.waited:
			d.exited = true
		case <-time.After(20 * time.Second):
			t.Fatalf("%v: still running; want a start-up error", args)
		}
		out := d.stderr.String()
		if code := d.cmd.ProcessState.ExitCode(); code == 0 || !oneLine(out) || !strings.Contains(out, "--modules.api.insecure") {
			t.Errorf("%v: exit %d, stderr %q; want one line naming --modules.api.insecure", args, code, out)
		}
	}
	d := startDaemon(t, "--modules.packetio.dpdk.no-init", "--modules.api.address", "0.0.0.0", "--modules.api.insecure")
	d.expect("GET", "/version", nil, 200)

	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("t0ken-of-the-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := launch(t, "--modules.packetio.dpdk.no-init", "--modules.api.address", "0.0.0.0",
		"--modules.api.token-file", tokenFile, "--modules.api.tls-cert", certFile, "--modules.api.tls-key", keyFile)
	pem, _ := os.ReadFile(certFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := strings.Replace(s.base, "http://", "https://", 1)
	auth := map[string]string{"Authorization": "Bearer t0ken-of-the-test"}
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", base+"/version", nil)
		req.Header.Set("Authorization", auth["Authorization"])
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the TLS daemon did not answer /version with the token\n%s", s.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := raw(t, client, "GET", base+"/ports", "", nil); code != 401 {
		t.Errorf("GET /ports without the token: %d %s, want 401", code, body)
	}
	if code, body := raw(t, client, "GET", base+"/ports", "", auth); code != 200 {
		t.Errorf("GET /ports with the token: %d %s, want 200", code, body)
	}
	if _, err := http.Get(s.base + "/version"); err == nil {
		// Plain HTTP to a TLS port gets Go's 400 "client sent an HTTP
		// request to an HTTPS server", never the API.
		if code, _ := raw(t, nil, "GET", s.base+"/ports", "", auth); code == 200 {
			t.Error("the API answered plain HTTP on its TLS port")
		}
	}

	bin := opctlBuild(t)
	if _, errOut, code := opctlRun(t, bin, "--server", base, "--ca-file", certFile, "ports", "list"); code != 1 || !strings.Contains(errOut, "HTTP 401") {
		t.Errorf("opctl without the token: exit %d, %q; want 1 and HTTP 401", code, errOut)
	}
	if out, errOut, code := opctlRun(t, bin, "--server", base, "--ca-file", certFile, "--token-file", tokenFile, "ports", "list", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("opctl --token-file: exit %d, %q %q", code, out, errOut)
	}
	t.Setenv("OPCTL_TOKEN", "t0ken-of-the-test")
	if out, errOut, code := opctlRun(t, bin, "--server", base, "--ca-file", certFile, "ports", "list", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("opctl with OPCTL_TOKEN: exit %d, %q %q", code, out, errOut)
	}
	if code, took := s.stop(); code != 0 || took > 8*time.Second {
		t.Errorf("the TLS daemon stopped with %d after %v", code, took)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and localhost and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "openperfd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
