package rest

import (
	"strings"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

func TestRfc2544RefusalsNameWhatIsWrong(t *testing.T) {
	h := newTestServer(t)
	for _, c := range []struct{ body, msg string }{
		{`{"rx_port": "1"}`, "tx_port"},
		{`{"tx_port": "9", "rx_port": "1"}`, "tx_port: port 9"},
		{`{"tx_port": "0", "rx_port": "1", "sizes": [63]}`, "sizes"},
		{`{"tx_port": "0", "rx_port": "1", "imix": "bogus"}`, `imix: \"bogus\" is not a known IMIX profile (known: simple, tolly)`},
		{`{"tx_port": "0", "rx_port": "1", "tests": ["speed"]}`, "tests"},
		{`{"tx_port": "0", "rx_port": "1", "trial_duration": 0}`, "trial_duration"},
		{`{"tx_port": "0", "rx_port": "1", "loss_tolerance": 101}`, "loss_tolerance"},
	} {
		rec := do(h, "POST", "/x/rfc2544", c.body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.msg) {
			t.Errorf("%s: %d %s, want 400 naming %q", c.body, rec.Code, rec.Body, c.msg)
		}
	}
	// As everywhere, an id that could name nothing is a 404.
	if rec := do(h, "POST", "/x/rfc2544", `{"tx_port": "0", "rx_port": "1", "id": "Bad_Id"}`); rec.Code != 404 {
		t.Errorf("bad id: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/x/rfc2544/nope", ""); rec.Code != 404 {
		t.Errorf("get unknown: %d", rec.Code)
	}
	if rec := do(h, "DELETE", "/x/rfc2544/nope", ""); rec.Code != 404 {
		t.Errorf("delete unknown: %d", rec.Code)
	}
}

// A short run over the fake driver's wired pair loses nothing, so every
// size's throughput is 100%; the trials' generators and analyzers are
// gone afterwards.
func TestRfc2544RunsOverTheFakeDriver(t *testing.T) {
	h := newTestServer(t)
	rec := do(h, "POST", "/x/rfc2544", `{"id": "r", "tx_port": "0", "rx_port": "1", "sizes": [64], "imix": "simple",
		"tests": ["throughput", "latency"], "trial_duration": 0.1, "line_rate_mbps": 10}`)
	if rec.Code != 201 || rec.Header().Get("Location") != "/x/rfc2544/r" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/x/rfc2544", `{"tx_port": "0", "rx_port": "1"}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "run r is running") {
		t.Errorf("second run: %d %s", rec.Code, rec.Body)
	}
	var r gen.Rfc2544Run
	deadline := time.Now().Add(20 * time.Second)
	for {
		mustDecode(t, do(h, "GET", "/x/rfc2544/r", ""), &r)
		if r.State != gen.Rfc2544RunStateRunning || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.State != gen.Rfc2544RunStateDone {
		t.Fatalf("run %s: %v", r.State, r.Error)
	}
	if len(r.Results) != 2 || r.Results[1].Frame != "imix:simple" {
		t.Fatalf("results %+v", r.Results)
	}
	for _, s := range r.Results {
		if s.Throughput == nil || s.Throughput.Percent != 100 || len(s.Throughput.Trials) != 1 {
			t.Errorf("%s: throughput %+v", s.Frame, s.Throughput)
		}
		if tr := s.Throughput.Trials[0]; tr.TxFrames == 0 || tr.RxFrames != tr.TxFrames {
			t.Errorf("%s: trial %+v", s.Frame, tr)
		}
		if s.Latency == nil || s.Latency.Frames == 0 || s.Latency.Min > s.Latency.Max {
			t.Errorf("%s: latency %+v", s.Frame, s.Latency)
		}
	}
	var gens []gen.PacketGenerator
	mustDecode(t, do(h, "GET", "/packet/generators", ""), &gens)
	var ans []gen.PacketAnalyzer
	mustDecode(t, do(h, "GET", "/packet/analyzers", ""), &ans)
	if len(gens) != 0 || len(ans) != 0 {
		t.Errorf("trials left %d generators and %d analyzers", len(gens), len(ans))
	}
	if rec := do(h, "DELETE", "/x/rfc2544/r", ""); rec.Code != 204 {
		t.Errorf("delete: %d %s", rec.Code, rec.Body)
	}
}

// x_imix reaches the generator: a named profile is accepted and an
// unknown one is a 400 naming the field.
func TestGeneratorXImix(t *testing.T) {
	h := newTestServer(t)
	body := func(imix string) string {
		return `{"target_id": "0", "config": {"duration": {"continuous": true}, "load": {"rate": {"period": "second", "value": 1000}, "units": "frames"},
		  "traffic": [{"length": {"x_imix": ` + imix + `}, "packet": {"protocols": [{"ethernet": {"destination": "02:00:00:00:00:02"}}, {"ipv4": {}}, {"udp": {}}]}}]}}`
	}
	if rec := do(h, "POST", "/packet/generators", body(`{"profile": "simple"}`)); rec.Code != 201 {
		t.Errorf("simple: %d %s", rec.Code, rec.Body)
	}
	for imix, msg := range map[string]string{
		`{"profile": "nope"}`:                        `config.traffic[0].length.x_imix.profile: \"nope\" is not a known IMIX profile`,
		`{"genome": "aaz"}`:                          "x_imix.genome: letter 2",
		`{"weights": [{"length": 64, "weight": 0}]}`: "weight",
		`{"profile": "simple", "genome": "a"}`:       "exactly one of profile, genome and weights",
	} {
		if rec := do(h, "POST", "/packet/generators", body(imix)); rec.Code != 400 || !strings.Contains(rec.Body.String(), msg) {
			t.Errorf("%s: %d %s, want 400 with %q", imix, rec.Code, rec.Body, msg)
		}
	}
}

// FuzzRfc2544Bodies: whatever a client posts to /x/rfc2544, the answer is
// never a 500, and a run that starts stops and goes on DELETE.
func FuzzRfc2544Bodies(f *testing.F) {
	for _, s := range []string{
		`{"tx_port": "0", "rx_port": "1"}`,
		`{"id": "r", "tx_port": "0", "rx_port": "1", "sizes": [64, 9216], "imix": "tolly", "tests": ["latency"], "trial_duration": 0.1}`,
		`{"tx_port": "0", "rx_port": "1", "line_rate_mbps": 9223372036854775807, "resolution": 0.01, "loss_tolerance": 100}`,
		`{"tx_port": "0", "rx_port": "1", "trial_duration": 1e308, "retries": 10, "back_to_back_trials": 50}`,
		`{"tx_port": "", "rx_port": "1", "sizes": []}`, `{}`, `[]`, `null`, `{"tx_port": 0}`,
	} {
		f.Add(s)
	}
	h := newTestServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		rec := do(h, "POST", "/x/rfc2544", body)
		if rec.Code >= 500 {
			t.Fatalf("POST %q: %d %s", body, rec.Code, rec.Body)
		}
		if rec.Code == 201 {
			var r gen.Rfc2544Run
			mustDecode(t, rec, &r)
			if rec := do(h, "DELETE", "/x/rfc2544/"+r.Id, ""); rec.Code != 204 {
				t.Fatalf("DELETE %s: %d %s", r.Id, rec.Code, rec.Body)
			}
		}
	})
}
