package aat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func TestSIGTERMExitsCleanlyAndRemovesTheRuntimeDir(t *testing.T) {
	requireRoot(t, "the EAL runtime dir under /var/run/dpdk")
	d := startDaemon(t, testMode)
	dir := filepath.Join("/var/run/dpdk", d.prefix)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("EAL runtime dir %s missing while running: %v", dir, err)
	}
	// Interfaces and traffic in flight must not stop a clean exit.
	items := []any{}
	for i := 0; i < 200; i++ {
		items = append(items, iface(fmt.Sprintf("s%d", i), fmt.Sprint(i%2), fmt.Sprintf("02:00:00:00:f0:%02x", i), v4(fmt.Sprintf("10.40.0.%d", i+1), 24, ""), v6(fmt.Sprintf("fd00:40::%x", i+1), 64)))
	}
	d.expect("POST", "/interfaces/x/bulk-create", map[string]any{"items": items}, 200)
	d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": 50_000_000}, 202)
	code, took := d.stop()
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, d.stderr)
	}
	if took > 5*time.Second {
		t.Fatalf("shutdown took %s, want < 5 s", took)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("runtime dir %s left behind (%v)", dir, err)
	}
	t.Logf("shutdown took %s", took)
}

// runFail runs openperfd expecting a quick non-zero exit and returns
// stderr, where the one-line error goes (logs go to stdout).
func runFail(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	var stderr, stdout strings.Builder
	cmd.Stderr = &stderr
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("openperfd %q hung instead of failing", args)
	}
	if cmd.ProcessState.ExitCode() == 0 {
		t.Fatalf("openperfd %q exited 0, want failure\n%s%s", args, stdout.String(), stderr.String())
	}
	return stderr.String()
}

func TestBadStartupInputFailsFastWithOneLine(t *testing.T) {
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badYAML, []byte("core:\n  log:\n    level: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badRes := filepath.Join(dir, "badres.yaml")
	if err := os.WriteFile(badRes, []byte("resources:\n  /ports/b:\n    kind: bond\n    config:\n      bond:\n        mode: lag_802_3_ad\n        ports: [\"7\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad EAL option", []string{testMode, "-d", "--no-such-option"}, "no-such-option"},
		{"EAL help would exit", []string{testMode, "-d", "--help"}, "--help"},
		{"unknown flag", []string{"--no-such-flag"}, "no-such-flag"},
		{"bad port", []string{"-p", "70000"}, "70000"},
		{"bad config value", []string{"-c", badYAML}, "loud"}, // unknown keys only warn, as OpenPerf skips them
		{"missing config file", []string{"-c", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"bad resource", []string{testMode, "-c", badRes, "-P", uniquePrefix()}, "/ports/b"},
		{"vdev with a bad key makes no port", []string{"-d", "--no-huge,--no-pci,--vdev=net_null0,bogus_key=1", "-P", uniquePrefix()}, "port"},
		{"port-ids naming a missing port", []string{testMode, "--modules.packetio.dpdk.port-ids", "port9=x", "-P", uniquePrefix()}, "9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-p", fmt.Sprint(freePort(t))}, c.args...)
			out := runFail(t, args...)
			if !oneLine(out) {
				t.Errorf("want one line of error, got:\n%s", out)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("error %q does not mention %q", out, c.want)
			}
		})
	}
}

func TestAPIPortInUseFailsFast(t *testing.T) {
	d := startDaemon(t, testMode)
	port := strings.TrimPrefix(d.base, "http://127.0.0.1:")
	out := runFail(t, testMode, "-p", port, "-P", uniquePrefix())
	if !oneLine(out) || !strings.Contains(out, port) {
		t.Fatalf("want a one-line error naming port %s, got:\n%s", port, out)
	}
}

func TestConfigFileResourcesExistWhenVersionFirstAnswers(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "openperfd.yaml")
	yaml := `core:
  log:
    level: warning
modules:
  packetio:
    dpdk:
      test-mode: true
      test-portpairs: 2
      port-ids:
        port0: port-a
        port1: port-b
resources:
  /ports/port-bond:
    kind: bond
    config:
      bond:
        mode: lag_802_3_ad
        ports: ["2", "3"]
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "-c", cfg)
	// startDaemon returned on the first 200 from /version.
	var p gen.Port
	d.get("/ports/port-bond", &p)
	if p.Kind != gen.PortKindBond {
		t.Fatalf("port-bond kind %s", p.Kind)
	}
	d.get("/ports/port-a", &p)
	d.get("/ports/port-b", &p)
	d.expect("GET", "/ports/0", nil, 404)
}

func TestNullVdevGivesAPort(t *testing.T) {
	d := startDaemon(t, "-d", "--no-huge,--no-pci,--vdev=net_null0,--vdev=net_null1")
	var ports []gen.Port
	d.get("/ports", &ports)
	if len(ports) != 2 {
		t.Fatalf("%d ports, want 2", len(ports))
	}
	for _, p := range ports {
		if p.Config.Dpdk == nil || *p.Config.Dpdk.Driver != "net_null" {
			t.Errorf("port %v: driver %v", p.Id, p.Config.Dpdk)
		}
	}
	// net_null transmits into the void; the port still counts it.
	d.expect("POST", "/ports/1/x/test-frames", map[string]any{"count": 1000}, 202)
	eventually(t, "null port counts transmitted frames", func() (bool, string) {
		s := portStats(t, d, "1")
		return s.TxPackets == 1000, fmt.Sprintf("%+v", s)
	})
}

func TestIdleDaemonDoesNotHoldACore(t *testing.T) {
	d := startDaemon(t, testMode)
	pid := d.cmd.Process.Pid
	before := cpuTicks(t, pid)
	time.Sleep(3 * time.Second)
	used := float64(cpuTicks(t, pid)-before) / 100 / 3 // USER_HZ is 100
	t.Logf("idle CPU over 3 s: %.1f%% of one core", used*100)
	if used > 0.25 {
		t.Fatalf("idle daemon used %.0f%% of a core; workers must back off", used*100)
	}
	resp, err := http.Get(d.base + "/version")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// cpuTicks reads utime+stime of a process from /proc.
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var u, k int64
	fmt.Sscan(fields[11], &u)
	fmt.Sscan(fields[12], &k)
	return u + k
}
