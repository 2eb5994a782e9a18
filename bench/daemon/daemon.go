// Package daemon starts an openperfd for the benchmarks in bench/cmd and
// talks JSON to its REST API: one way to start, wait for and stop the
// daemon, and one request helper, for latbench, ifbench and idlebench.
package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Daemon is a running openperfd.
type Daemon struct {
	Cmd  *exec.Cmd
	Base string       // http://127.0.0.1:<port>
	HTTP *http.Client // the client Do uses
}

// Start runs bin on a free loopback port with warnings-only logs, no
// ZeroMQ endpoint and args, its stderr on ours, and waits up to 20 s for
// it to answer /version. client is the HTTP client for Do (nil: one with
// a 10-minute timeout, for bulk requests).
func Start(bin string, client *http.Client, args ...string) (*Daemon, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pick a port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	all := append([]string{"-p", strconv.Itoa(port), "-l", "warning", "--modules.zmq.endpoint", "none"}, args...)
	d := &Daemon{Cmd: exec.Command(bin, all...), Base: fmt.Sprintf("http://127.0.0.1:%d", port), HTTP: client}
	d.Cmd.Stderr = os.Stderr
	if err := d.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	for range 400 {
		if err := d.Do("GET", "/version", nil, 200, nil); err == nil {
			return d, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.Stop()
	return nil, errors.New("daemon did not answer /version in 20 s")
}

// Stop stops the daemon with SIGTERM and waits for it.
func (d *Daemon) Stop() {
	_ = d.Cmd.Process.Signal(syscall.SIGTERM)
	_ = d.Cmd.Wait()
}

// Pid is the daemon's process id.
func (d *Daemon) Pid() int { return d.Cmd.Process.Pid }

// Do sends body (if not nil) as JSON, wants status want and decodes the
// answer into out (when not nil).
func (d *Daemon) Do(method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.Base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %.300s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}
