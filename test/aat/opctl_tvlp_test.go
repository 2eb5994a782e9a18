package aat

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// TestOpctlTvlp drives a TVLP ramp with opctl on a test-mode daemon:
// create from the quick flags, list, get, a replay followed with --watch
// whose printed per-step numbers must be the REST JSON's, a stop, a
// Ctrl-C on a watched replay, and delete.
func TestOpctlTvlp(t *testing.T) {
	bin := opctlBuild(t)
	d := startDaemon(t, testMode)
	ok := func(args ...string) string {
		t.Helper()
		out, errOut, code := opctlRun(t, bin, append([]string{"--server", d.base}, args...)...)
		if code != 0 {
			t.Fatalf("opctl %v: exit %d\n%s%s", args, code, errOut, out)
		}
		return out
	}

	out := ok("tvlp", "create", "--id", "ramp", "--target", "0", "--rates", "100k,200k,300k", "--step", "1s", "--length", "128")
	if !regexp.MustCompile(`(?m)^ramp\s+ready\s+3\s+3 s\s`).MatchString(out) {
		t.Errorf("create printed:\n%s", out)
	}
	// The daemon's error names the flag that set the field it refuses.
	if _, errOut, code := opctlRun(t, bin, "--server", d.base, "tvlp", "create", "--id", "short", "--target", "0",
		"--rates", "1k", "--length", "20"); code != 1 || !strings.Contains(errOut, "(--length)") {
		t.Errorf("a 20-byte frame: exit %d, %q", code, errOut)
	}
	var c gen.TvlpConfiguration
	d.get("/tvlp/ramp", &c)
	for i, want := range []int64{100000, 200000, 300000} {
		st := c.Profile.Packet.Series[i]
		if st.TargetId != "0" || st.Length != int64(time.Second) || st.Config.Load.Rate.Value != want {
			t.Errorf("the daemon's step %d: %+v", i, st)
		}
	}
	if out := ok("tvlp", "list"); !regexp.MustCompile(`(?m)^ramp\s+ready\s+3\s+3 s`).MatchString(out) {
		t.Errorf("list:\n%s", out)
	}
	if out := ok("tvlp", "get", "ramp"); !regexp.MustCompile(`(?m)^2\s+0\s+1 s\s+300k frames/s\s+ethernet/ipv4/udp, length 128`).MatchString(out) {
		t.Errorf("get:\n%s", out)
	}

	// A replay at half the load, followed to its end.
	out = ok("tvlp", "start", "ramp", "--watch", "--load-scale", "0.5")
	m := regexp.MustCompile(`started tvlp ramp: result (\S+)\n`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "\nstep 1/3 on 0: ") {
		t.Fatalf("start --watch printed:\n%s", out)
	}
	var r gen.TvlpResult
	d.get("/tvlp-results/"+m[1], &r)
	t.Logf("start --watch:\n%s", out)
	checkStepTable(t, stepTable(t, out), r, []float64{50000, 100000, 150000})
	// results, by result id and by profile id, prints the same numbers.
	for _, id := range []string{m[1], "ramp"} {
		checkStepTable(t, parseTable(t, ok("tvlp", "results", id)), r, nil)
	}

	// A replay stopped by "tvlp stop", and one by Ctrl-C on its watch.
	ok("tvlp", "start", "ramp")
	if out := ok("tvlp", "stop", "ramp"); out != "stopped tvlp profile ramp\n" {
		t.Errorf("stop printed %q", out)
	}
	d.get("/tvlp/ramp", &c)
	if *c.State != "ready" {
		t.Errorf("after stop: state %s", *c.State)
	}
	interruptedWatch(t, bin, d)

	if out := ok("tvlp", "results"); len(parseTable(t, out)) != 3 {
		t.Errorf("results lists not 3 replays:\n%s", out)
	}
	ok("tvlp", "delete", "ramp")
	if code, _ := d.call("GET", "/tvlp/ramp", nil); code != 404 {
		t.Errorf("after delete: GET /tvlp/ramp %d", code)
	}
	if _, errOut, code := opctlRun(t, bin, "--server", d.base, "tvlp", "start", "ramp"); code != 1 || !strings.Contains(errOut, "(HTTP 404)") {
		t.Errorf("start of a deleted profile: exit %d, %q", code, errOut)
	}
}

// interruptedWatch starts a 3 s replay, sends SIGINT to "tvlp watch" on
// it after its first progress line and checks that it stopped the replay
// and printed what ran.
func interruptedWatch(t *testing.T, bin string, d *daemon) {
	t.Helper()
	d.expect("POST", "/tvlp/ramp/start", nil, 201)
	cmd := exec.Command(bin, "--server", d.base, "tvlp", "watch", "ramp")
	cmd.Env = append(os.Environ(), "OPCTL_SERVER=")
	var out syncBuffer
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "watch prints progress", func() (bool, string) { return strings.Contains(out.String(), "step "), out.String() })
	begin := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || errOut.Len() != 0 {
		t.Errorf("interrupted watch: exit %d (%v), stderr %q", code, err, errOut.String())
	}
	var c gen.TvlpConfiguration
	d.get("/tvlp/ramp", &c)
	if *c.State != "ready" || time.Since(begin) > 2*time.Second {
		t.Errorf("after Ctrl-C: state %s, %v later", *c.State, time.Since(begin))
	}
	printed := out.String()
	i := strings.Index(printed, "interrupted: stopped tvlp ramp; what ran:\n")
	if i < 0 {
		t.Fatalf("interrupted watch printed:\n%s", printed)
	}
	var results []gen.TvlpResult
	d.get("/tvlp-results", &results)
	checkStepTable(t, parseTable(t, printed[i+len("interrupted: stopped tvlp ramp; what ran:\n"):]), results[len(results)-1], nil)
}

// stepTable is the per-step table at the end of what "--watch" printed.
func stepTable(t *testing.T, out string) table {
	t.Helper()
	i := strings.LastIndex(out, "STEP ")
	if i < 0 {
		t.Fatalf("no step table in:\n%s", out)
	}
	return parseTable(t, out[i:])
}

// checkStepTable checks a printed per-step table against the result's
// JSON: packets and octets exactly, rates to the packet; with rates, each
// 1 s step sent its rate's packets (±2%: a step's packets are its window's;
// its rate, first to last packet, is the daemon's TVLP test's to check).
func checkStepTable(t *testing.T, tb table, r gen.TvlpResult, rates []float64) {
	t.Helper()
	steps := *r.XPacketSteps
	if len(tb) != len(steps)+1 {
		t.Fatalf("table has %d rows for %d steps: %v", len(tb), len(steps), tb)
	}
	check := func(row map[string]string, s gen.TvlpStepTotals) {
		t.Helper()
		if num(t, row["PACKETS"]) != float64(s.Packets) || num(t, row["OCTETS"]) != float64(s.Octets) ||
			abs(num(t, row["RATE"])-s.Rate) > 0.5 || row["GENERATOR"] != strOr(s.GeneratorId, "-") {
			t.Errorf("row %v, the JSON has %+v", row, s)
		}
	}
	for i, s := range steps {
		check(tb[i], s)
		if rates != nil && !within(float64(s.Packets), rates[i], 0.02) {
			t.Errorf("step %d: %d packets, want %.0f", i, s.Packets, rates[i])
		}
	}
	if tb[len(steps)]["STEP"] != "total" {
		t.Errorf("last row %v", tb[len(steps)])
	}
	check(tb[len(steps)], *r.XPacketTotal)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func strOr(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}
