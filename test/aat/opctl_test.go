package aat

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// opctlBuild builds cmd/opctl into a temporary directory.
func opctlBuild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "opctl")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/openperfd/openperfd/cmd/opctl")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build opctl: %v\n%s", err, out)
	}
	return bin
}

// opctlRun runs the opctl binary and returns its output and exit code.
func opctlRun(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "OPCTL_SERVER=")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("opctl %v: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// TestOpctl runs the opctl binary against a real daemon and against none.
func TestOpctl(t *testing.T) {
	bin := opctlBuild(t)
	t.Run("drives the daemon", func(t *testing.T) { opctlDrivesTheDaemon(t, bin) })
	t.Run("without a daemon", func(t *testing.T) { opctlWithoutDaemon(t, bin) })
}

// opctlDrivesTheDaemon creates an interface and a generator with opctl,
// runs 1000 frames and reads the count back as JSON, as a script would.
func opctlDrivesTheDaemon(t *testing.T, bin string) {
	d := startDaemon(t, "--modules.packetio.dpdk.test-mode")
	ok := func(args ...string) string {
		t.Helper()
		out, errOut, code := opctlRun(t, bin, append([]string{"--server", d.base}, args...)...)
		if code != 0 {
			t.Fatalf("opctl %v: exit %d\n%s%s", args, code, errOut, out)
		}
		return out
	}

	out := ok("ports", "list")
	if !regexp.MustCompile(`(?m)^ID\s+KIND\s+LINK`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^0\s+dpdk\s+up`).MatchString(out) || !regexp.MustCompile(`(?m)^1\s+dpdk\s+up`).MatchString(out) {
		t.Errorf("ports list:\n%s", out)
	}

	ok("interfaces", "create", "--id", "a", "--port", "0", "--mac", "02:00:00:00:00:0a",
		"--ipv4", "10.0.0.1/24", "--gateway", "10.0.0.254", "--ipv6", "fd00::1/64")
	var iface struct {
		PortID string `json:"port_id"`
		Config struct {
			Protocols []map[string]json.RawMessage `json:"protocols"`
		} `json:"config"`
	}
	d.get("/interfaces/a", &iface)
	if iface.PortID != "0" || len(iface.Config.Protocols) != 3 ||
		!strings.Contains(string(iface.Config.Protocols[1]["ipv4"]), `"gateway":"10.0.0.254"`) {
		t.Errorf("interface a as the daemon has it: %+v", iface)
	}

	out = ok("generators", "create", "--id", "g1", "--port", "0", "--rate", "100k", "--frames", "1000", "--flows", "4")
	if !regexp.MustCompile(`(?m)^g1\s+0\s+no\s+100k frames/s\s+1,000 frames\s+4\b`).MatchString(out) {
		t.Errorf("generators create:\n%s", out)
	}
	ok("generators", "start", "g1")

	var results []struct {
		GeneratorID  string `json:"generator_id"`
		Active       bool   `json:"active"`
		FlowCounters struct {
			PacketsActual int64 `json:"packets_actual"`
		} `json:"flow_counters"`
	}
	eventually(t, "the run sends 1000 frames", func() (bool, string) {
		out := ok("generator-results", "list", "--json", "--generator", "g1")
		if err := json.Unmarshal([]byte(out), &results); err != nil {
			t.Fatalf("generator-results list --json is not JSON: %v\n%s", err, out)
		}
		return len(results) == 1 && !results[0].Active && results[0].FlowCounters.PacketsActual == 1000, out
	})

	if out := ok("tx-flows", "list", "--generator", "g1"); strings.Count(out, "\n") != 5 {
		t.Errorf("tx-flows list: want a header and 4 flows:\n%s", out)
	}
	var port struct {
		Stats struct {
			RxPackets int64 `json:"rx_packets"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(ok("ports", "get", "1", "--json")), &port); err != nil || port.Stats.RxPackets < 1000 {
		t.Errorf("port 1 after the run: %+v, %v", port, err)
	}
	if out := ok("watch", "--count", "1", "--interval", "100ms"); !regexp.MustCompile(`^# /s: .*\n\d\d:\d\d:\d\d port 0 tx \S+/s rx \S+/s \| port 1 .*generator g1 tx 0/s, 1,000 frames\n$`).MatchString(out) {
		t.Errorf("watch line: %q", out)
	}

	_, errOut, code := opctlRun(t, bin, "--server", d.base, "interfaces", "get", "nope")
	if code != 1 || errOut != "opctl: interface nope: not found (HTTP 404)\n" {
		t.Errorf("missing interface: exit %d, %q", code, errOut)
	}
	ok("generators", "delete", "g1")
	ok("interfaces", "delete", "a")
}

// opctlWithoutDaemon: opctl names the address it tried and exits 2.
func opctlWithoutDaemon(t *testing.T, bin string) {
	server := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	for _, args := range [][]string{{"ports", "list"}, {"version"}, {"--json", "generator-results", "list"}} {
		_, errOut, code := opctlRun(t, bin, append([]string{"--server", server}, args...)...)
		want := "opctl: cannot reach openperfd at " + server + ": connection refused; is it running? (make run)\n"
		if code != 2 || errOut != want {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", args, code, errOut, want)
		}
	}
}
