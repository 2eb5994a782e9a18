package aat

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemo runs `opctl demo` against a daemon, then `make demo`'s script
// end to end (to completion, and interrupted).
func TestDemo(t *testing.T) {
	bin := opctlBuild(t)
	t.Run("opctl demo loses nothing", func(t *testing.T) { demoOpctlLosesNothing(t, bin) })
	t.Run("demo.sh runs and stops the daemon", func(t *testing.T) { demoScriptRunsAndStopsTheDaemon(t, bin) })
	t.Run("demo.sh stops the daemon on Ctrl-C", func(t *testing.T) { demoScriptStopsTheDaemonOnCtrlC(t, bin) })
}

// demoSummary reads "frames sent", "frames received" and "frames lost" from
// the demo's summary.
func demoSummary(t *testing.T, out string) (sent, received, lost int64) {
	t.Helper()
	num := func(name string) int64 {
		m := regexp.MustCompile(`(?m)^\s+` + name + `:\s+([\d,]+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("summary lacks %q:\n%s", name, out)
		}
		n, err := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return num("frames sent"), num("frames received"), num("frames lost")
}

func demoOpctlLosesNothing(t *testing.T, bin string) {
	d := startDaemon(t, testMode)
	out, errOut, code := opctlRun(t, bin, "--server", d.base, "demo", "--seconds", "2", "--rate", "100k")
	if code != 0 {
		t.Fatalf("opctl demo: exit %d\n%s%s", code, errOut, out)
	}
	if n := len(regexp.MustCompile(`(?m)^ +\d/2 s +\S+ +\S+ +\S+ +\S+  \| +[\d,]+ +[\d,]+ +[\d,]+ +0$`).FindAllString(out, -1)); n != 2 {
		t.Errorf("%d progress lines, want 2:\n%s", n, out)
	}
	sent, received, lost := demoSummary(t, out)
	// 2 s at 100k frames/s: about 200k frames, all of them received.
	if lost != 0 || received != sent || sent < 150000 || sent > 250000 {
		t.Errorf("sent %d, received %d, lost %d; want ~200k sent, all received, 0 lost:\n%s", sent, received, lost, out)
	}
	if !regexp.MustCompile(`(?m)^\s+latency:\s+min \S+  avg \S+  max \S+  p50 \S+  p99 \S+$`).MatchString(out) ||
		strings.Contains(out, "p99 -") {
		t.Errorf("summary lacks latency percentiles:\n%s", out)
	}
	// It deleted what it created.
	for _, path := range []string{"/packet/analyzers", "/packet/generators", "/packet/analyzer-results", "/packet/generator-results"} {
		var list []any
		d.get(path, &list)
		if len(list) != 0 {
			t.Errorf("GET %s after the demo: %v", path, list)
		}
	}
}

// demoScript is scripts/demo.sh with the test's binaries on a free port.
func demoScript(t *testing.T, bin, seconds string) (*exec.Cmd, int) {
	t.Helper()
	script, err := filepath.Abs("../../scripts/demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	daemon, err := filepath.Abs(binPath)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command(script)
	cmd.Env = append(os.Environ(), "DEMO_PORT="+strconv.Itoa(port), "DEMO_SECONDS="+seconds, "DEMO_RATE=100k",
		"OPENPERFD="+daemon, "OPCTL="+bin, "OPCTL_SERVER=")
	return cmd, port
}

// demoDaemons lists the pids of openperfd processes serving port.
func demoDaemons(t *testing.T, port int) []int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if filepath.Base(args[0]) != filepath.Base(binPath) {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-p" && args[i+1] == strconv.Itoa(port) {
				pid, _ := strconv.Atoi(filepath.Base(dir))
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// demoNoDaemonLeft fails if an openperfd on port outlives the script.
func demoNoDaemonLeft(t *testing.T, port int) {
	t.Helper()
	if pids := demoDaemons(t, port); len(pids) > 0 {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Errorf("openperfd left running after demo.sh: %v", pids)
	}
}

func demoScriptRunsAndStopsTheDaemon(t *testing.T, bin string) {
	cmd, port := demoScript(t, bin, "2")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("demo.sh: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	sent, received, lost := demoSummary(t, out.String())
	if lost != 0 || received != sent || sent == 0 {
		t.Errorf("sent %d, received %d, lost %d:\n%s", sent, received, lost, &out)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr: %s", &errOut)
	}
	t.Logf("demo.sh took %v", time.Since(start).Round(time.Millisecond))
	demoNoDaemonLeft(t, port)
}

// demoScriptStopsTheDaemonOnCtrlC sends SIGINT to the script's process
// group, as a terminal's Ctrl-C does, once the demo is under way.
func demoScriptStopsTheDaemonOnCtrlC(t *testing.T, bin string) {
	cmd, port := demoScript(t, bin, "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var out strings.Builder
	deadline := time.After(30 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo.sh ended before its first progress line:\n%s\nstderr:\n%s", &out, &errOut)
			}
			out.WriteString(l + "\n")
			if regexp.MustCompile(`^ +\d+/60 s `).MatchString(l) {
				break wait
			}
		case <-deadline:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("no progress line in 30 s:\n%s", &out)
		}
	}
	if len(demoDaemons(t, port)) != 1 {
		t.Errorf("no openperfd on port %d while the demo runs", port)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	done := make(chan error, 1)
	go func() {
		for l := range lines {
			out.WriteString(l + "\n")
		}
		done <- cmd.Wait()
	}()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("demo.sh still running 20 s after SIGINT:\n%s", &out)
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d (%v), want 130\n%s\nstderr:\n%s", code, err, &out, &errOut)
	}
	// What ran before Ctrl-C gets its summary, then the clean-up.
	if !regexp.MustCompile(`(?s)\ninterrupted after [\d.]+ s: stopping the generator\n\nsummary so far .*\n  frames sent: +[1-9].*` +
		`\ndeleted the demo's generator and analyzer\n$`).MatchString(out.String()) {
		t.Errorf("no summary so far and clean-up line:\n%s", &out)
	}
	demoNoDaemonLeft(t, port)
}
