package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// Canned TVLP bodies: a profile of three 1 s steps and a result of its
// replay, as openperfd sends them.
const (
	tvlpStepBody = `{"target_id":"0","length":1000000000,"config":{"duration":{"continuous":true},"load":{"burst_size":32,"rate":{"period":"second","value":%d},"units":"frames"},` +
		`"traffic":[{"length":{"fixed":128},"packet":{"protocols":[{"ethernet":{}},{"ipv4":{}},{"udp":{}}]}}]}}`
	tvlpResultBody = `{"id":"tr1","tvlp_id":"ramp","x_packet_steps":[` +
		`{"step":0,"generator_id":"tvlp-tr1-0","packets":100000,"octets":12800000,"rate":100000.4,"timestamp_first":"2026-12-05T08:00:00.000001Z","timestamp_last":"2026-12-05T08:00:00.999991Z"},` +
		`{"step":1,"generator_id":"tvlp-tr1-1","packets":200000,"octets":25600000,"rate":199999.6}],` +
		`"x_packet_total":{"packets":300000,"octets":38400000,"rate":150000}}`
)

func tvlpProfileBody(state string, offset int64) string {
	steps := fmt.Sprintf(tvlpStepBody, 100000) + "," + fmt.Sprintf(tvlpStepBody, 200000) + "," + fmt.Sprintf(tvlpStepBody, 300000)
	return fmt.Sprintf(`{"id":"ramp","state":%q,"time":{"length":3000000000,"offset":%d,"start":"2026-12-05T08:00:00Z"},"profile":{"packet":{"series":[%s]}}}`, state, offset, steps)
}

func TestTvlpCreateFromQuickFlagsMakesOneContinuousStepPerRate(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{"POST /tvlp": {201, tvlpProfileBody("ready", 0)}})
	out, errOut, code := opctl(t, nil, "--server", url, "tvlp", "create", "--id", "ramp", "--target", "0",
		"--rates", "100k,200k,300k", "--step", "1s", "--length", "256")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	if !regexp.MustCompile(`(?m)^ramp\s+ready\s+3\s+3 s\s`).MatchString(out) {
		t.Errorf("output:\n%s", out)
	}
	var c gen.TvlpConfiguration
	if err := json.Unmarshal(f.body("POST /tvlp"), &c); err != nil {
		t.Fatal(err)
	}
	steps := c.Profile.Packet.Series
	if str(c.Id) != "ramp" || len(steps) != 3 {
		t.Fatalf("sent %s", f.body("POST /tvlp"))
	}
	for i, want := range []int64{100000, 200000, 300000} {
		st := steps[i]
		if st.TargetId != "0" || st.Length != int64(time.Second) || st.Config.Load.Rate.Value != want ||
			!deref(st.Config.Duration.Continuous) || *st.Config.Traffic[0].Length.Fixed != 256 {
			t.Errorf("step %d: %+v", i, st)
		}
	}
}

func TestTvlpCreateRefusesBadQuickFlags(t *testing.T) {
	_, url := newFakeAPI(t, nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rates", "1k"}, "--target is required"},
		{[]string{"--target", "0"}, "--rates is required"},
		{[]string{"--target", "0", "--rates", "1k,fast"}, `--rates: "fast"`},
		{[]string{"--target", "0", "--rates", "1k", "--step", "0s"}, "--step must be positive"},
		{[]string{"--target", "0", "--rates", "1k", "-f", "x.yaml"}, "give either -f or the quick flags"},
	} {
		_, errOut, code := opctl(t, nil, append([]string{"--server", url, "tvlp", "create"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: code %d, stderr %q", tc.args, code, errOut)
		}
	}
}

func TestTvlpCreateSendsAYAMLFileAsJSON(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{"POST /tvlp": {201, tvlpProfileBody("ready", 0)}})
	file := filepath.Join(t.TempDir(), "ramp.yaml")
	yml := "id: ramp\nprofile:\n  packet:\n    series:\n      - target_id: \"0\"\n        length: 1000000000\n" +
		"        config: {duration: {continuous: true}, load: {rate: {period: second, value: 1000}, units: frames}, traffic: []}\n"
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := opctl(t, nil, "--server", url, "tvlp", "create", "-f", file); code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	want := `{"id":"ramp","profile":{"packet":{"series":[{"config":{"duration":{"continuous":true},"load":{"rate":{"period":"second","value":1000},"units":"frames"},"traffic":[]},"length":1000000000,"target_id":"0"}]}}}`
	if got := string(f.body("POST /tvlp")); got != want {
		t.Errorf("sent\n%s\nwant\n%s", got, want)
	}
	if err := os.WriteFile(file, []byte("id: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := opctl(t, nil, "--server", url, "tvlp", "create", "-f", file); code != 2 || !strings.Contains(errOut, "neither JSON nor YAML") {
		t.Errorf("bad YAML: code %d, stderr %q", code, errOut)
	}
}

func TestTvlpStartSendsScalesAndStartTime(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{"POST /tvlp/ramp/start": {201, tvlpResultBody}})
	out, errOut, code := opctl(t, nil, "--server", url, "tvlp", "start", "ramp", "--load-scale", "0.5", "--time-scale", "2",
		"--start-time", "2026-12-05T09:00:00Z")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	if got, want := string(f.body("POST /tvlp/ramp/start")), `{"packet":{"load_scale":0.5,"time_scale":2},"start_time":"2026-12-05T09:00:00Z"}`; got != want {
		t.Errorf("sent %s, want %s", got, want)
	}
	if !regexp.MustCompile(`(?m)^tr1\s+ramp\s+2\s+300,000\s+38,400,000\s+150,000$`).MatchString(out) {
		t.Errorf("output:\n%s", out)
	}
	if _, _, code := opctl(t, nil, "--server", url, "tvlp", "start", "ramp"); code != 0 || string(f.body("POST /tvlp/ramp/start")) != "{}" {
		t.Errorf("no flags: code %d, sent %s", code, f.body("POST /tvlp/ramp/start"))
	}
	for _, bad := range [][]string{{"--load-scale", "0"}, {"--time-scale", "-1"}, {"--start-time", "soon"}} {
		if _, errOut, code := opctl(t, nil, append([]string{"--server", url, "tvlp", "start", "ramp"}, bad...)...); code != 2 {
			t.Errorf("%v: code %d, stderr %q", bad, code, errOut)
		}
	}
}

func TestParseStartTimeTakesADelayFromNow(t *testing.T) {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	got, err := parseStartTime("90s", now)
	if err != nil || !got.Equal(now.Add(90*time.Second)) {
		t.Errorf("got %v, %v", got, err)
	}
}

func TestTvlpResultsPrintsEveryStepAndTheTotal(t *testing.T) {
	_, url := newFakeAPI(t, map[string]reply{
		"GET /tvlp-results/tr1":  {200, tvlpResultBody},
		"GET /tvlp-results/ramp": {404, `{"code":404,"message":"tvlp result ramp not found"}`},
		"GET /tvlp-results":      {200, "[" + tvlpResultBody + "]"},
	})
	want := "" +
		"STEP   GENERATOR   PACKETS  OCTETS      RATE     FIRST            LAST\n" +
		"0      tvlp-tr1-0  100,000  12,800,000  100,000  08:00:00.000001  08:00:00.999991\n" +
		"1      tvlp-tr1-1  200,000  25,600,000  200,000  -                -\n" +
		"total  -           300,000  38,400,000  150,000  -                -\n"
	for _, id := range []string{"tr1", "ramp"} { // a result's id, or its profile's
		out, errOut, code := opctl(t, nil, "--server", url, "tvlp", "results", id)
		if code != 0 || out != want {
			t.Errorf("results %s: code %d, stderr %q, got:\n%s\nwant:\n%s", id, code, errOut, out, want)
		}
	}
	out, _, code := opctl(t, nil, "--server", url, "tvlp", "results")
	if code != 0 || !regexp.MustCompile(`(?m)^tr1\s+ramp\s+2\s+300,000`).MatchString(out) {
		t.Errorf("results: code %d:\n%s", code, out)
	}
	_, errOut, code := opctl(t, nil, "--server", url, "tvlp", "results", "nope")
	if code != 1 || !strings.Contains(errOut, "nope") {
		t.Errorf("unknown id: code %d, stderr %q", code, errOut)
	}
}

// tvlpRunAPI is a daemon whose profile "ramp" runs for a given number of
// reads, then is ready; it records the calls made.
type tvlpRunAPI struct {
	mu       sync.Mutex
	reads    int
	runReads int
	calls    []string
	onRead   func(n int)
}

func (d *tvlpRunAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	d.mu.Lock()
	key := r.Method + " " + r.URL.Path
	d.calls = append(d.calls, key)
	var status int
	var body string
	switch key {
	case "POST /tvlp/ramp/start":
		status, body = 201, `{"id":"tr1","tvlp_id":"ramp","x_packet_total":{"packets":0,"octets":0,"rate":0}}`
	case "GET /tvlp/ramp":
		d.reads++
		state, offset := "running", int64(d.reads)*700_000_000
		if d.reads > d.runReads {
			state = "ready"
		}
		status, body = 200, tvlpProfileBody(state, offset)
	case "GET /tvlp-results/tr1":
		status, body = 200, tvlpResultBody
	case "GET /tvlp-results":
		status, body = 200, "["+tvlpResultBody+"]"
	case "POST /tvlp/ramp/stop":
		status = 204
		d.runReads = 0
	default:
		status, body = 404, `{"code":404,"message":"no route"}`
	}
	n, hook := d.reads, d.onRead
	d.mu.Unlock()
	if body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
	if hook != nil && key == "GET /tvlp/ramp" {
		hook(n)
	}
}

func TestTvlpStartWatchShowsStepsThenTheResults(t *testing.T) {
	defer func(p time.Duration) { tvlpPoll = p }(tvlpPoll)
	tvlpPoll = 10 * time.Millisecond
	d := &tvlpRunAPI{runReads: 2}
	srv := httptest.NewServer(d)
	defer srv.Close()
	out, errOut, code := opctl(t, nil, "--server", srv.URL, "tvlp", "start", "ramp", "--watch")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"started tvlp ramp: result tr1\n",
		"step 1/3 on 0: 0.3 s left in the step, 2.3 s in all; 300,000 packets sent",
		"step 2/3 on 0: 0.6 s left in the step, 1.6 s in all",
		"\ntotal  -           300,000  38,400,000  150,000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(fmt.Sprint(d.calls), "stop") {
		t.Errorf("stopped a replay that ended: %v", d.calls)
	}
}

func TestTvlpWatchInterruptedStopsTheReplayAndPrintsWhatRan(t *testing.T) {
	d, out, errOut, code := interruptedTvlp(t, "tvlp", "watch", "ramp")
	if code != exitInterrupted || errOut.Len() != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut.String())
	}
	if !strings.Contains(out.String(), "interrupted: stopped tvlp ramp; what ran:\nSTEP ") || !strings.Contains(out.String(), "\ntotal ") {
		t.Errorf("output:\n%s", out.String())
	}
	if !strings.Contains(fmt.Sprint(d.calls), "POST /tvlp/ramp/stop") {
		t.Errorf("did not stop: %v", d.calls)
	}
}

func TestTvlpStepAtScalesTheStepsToTheReplayLength(t *testing.T) {
	steps := []gen.TvlpPacketStep{{Length: 1e9}, {Length: 2e9}}
	for _, tc := range []struct {
		length, offset int64
		step           int
		left           int64
	}{
		{3e9, 0, 0, 1e9}, {3e9, 1.5e9, 1, 1.5e9}, {6e9, 1.5e9, 0, 0.5e9}, {6e9, 6e9, 2, 0}, {0, 0, 2, 0},
	} {
		step, left := tvlpStepAt(steps, tc.length, tc.offset)
		if step != tc.step || left != tc.left {
			t.Errorf("length %d offset %d: step %d left %d, want %d %d", tc.length, tc.offset, step, left, tc.step, tc.left)
		}
	}
}

// A profile file is outside input: any bytes give JSON or an error,
// never a panic; JSON passes unchanged.
func FuzzYAMLToJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"ramp"}`, "id: ramp\nprofile: {packet: {series: []}}\n", "- 1\n- 2.5\n- .nan\n", "? [a]\n: b\n",
		"t: 2026-12-05T08:00:00Z\n", "a: &x 1\nb: *x\n", "", "null", "1: one\n", "{",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := yamlToJSON(b)
		if err != nil {
			return
		}
		if !json.Valid(j) {
			t.Fatalf("%q became invalid JSON %q", b, j)
		}
		if json.Valid(b) && !bytes.Equal(j, b) {
			t.Fatalf("JSON %q changed to %q", b, j)
		}
	})
}

// An API error about a field of a quick ramp names the flag that set it,
// whichever step it is in.
func TestTvlpCreateErrorsNameTheQuickFlag(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"profile.packet.series[2].config.traffic[0].length.fixed: number must be at least 64",
			"profile.packet.series[2].config.traffic[0].length.fixed (--length): number must be at least 64"},
		{"profile.packet.series[0].target_id: required", "profile.packet.series[0].target_id (--target): required"},
		{"profile.packet.series[1].config.load.rate.value: must be positive", "profile.packet.series[1].config.load.rate.value (--rates): must be positive"},
		{"id: tvlp configuration ramp already exists", "id (--id): tvlp configuration ramp already exists"},
	} {
		_, url := newFakeAPI(t, map[string]reply{"POST /tvlp": {400, `{"code":400,"message":"` + tc.msg + `"}`}})
		_, errOut, code := opctl(t, nil, "--server", url, "tvlp", "create", "--target", "0", "--rates", "1k,2k,3k")
		if code != 1 || errOut != "opctl: "+tc.want+" (HTTP 400)\n" {
			t.Errorf("code %d, stderr %q, want %q", code, errOut, tc.want)
		}
	}
}

func TestTvlpWatchInterruptedWithKeepLeavesTheReplayRunning(t *testing.T) {
	d, out, errOut, code := interruptedTvlp(t, "tvlp", "start", "ramp", "--watch", "--keep")
	if code != exitInterrupted || !strings.Contains(out.String(), "interrupted: tvlp ramp keeps running (opctl tvlp stop ramp)\nSTEP ") {
		t.Errorf("code %d, stderr %q, output:\n%s", code, errOut.String(), out.String())
	}
	if strings.Contains(fmt.Sprint(d.calls), "stop") {
		t.Errorf("stopped the replay: %v", d.calls)
	}
}

// interruptedTvlp runs opctl with args against a replay that runs on,
// interrupted (as by Ctrl-C, not on a terminal) after its second read.
func interruptedTvlp(t *testing.T, args ...string) (d *tvlpRunAPI, out, errOut *bytes.Buffer, code int) {
	t.Helper()
	defer func(p time.Duration) { tvlpPoll = p }(tvlpPoll)
	tvlpPoll = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d = &tvlpRunAPI{runReads: 1000, onRead: func(n int) {
		if n == 2 {
			cancel()
		}
	}}
	srv := httptest.NewServer(d)
	defer srv.Close()
	out, errOut = &bytes.Buffer{}, &bytes.Buffer{}
	code = run(ctx, append([]string{"--server", srv.URL}, args...), strings.NewReader(""), out, errOut, func(string) string { return "" })
	return d, out, errOut, code
}
