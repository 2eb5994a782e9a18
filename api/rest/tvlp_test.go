package rest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// tvlpBody is a profile of steps on port 0, one per rate, each length ns
// long, with the generator config of genBody (continuous).
func tvlpBody(t testing.TB, id string, length int64, rates ...int) string {
	t.Helper()
	var steps []string
	for _, r := range rates {
		var g map[string]any
		body := genBody(t, map[string]any{"config.duration": map[string]any{"continuous": true}, "config.load.rate.value": r})
		if err := json.Unmarshal([]byte(body), &g); err != nil {
			t.Fatal(err)
		}
		c, _ := json.Marshal(g["config"])
		steps = append(steps, fmt.Sprintf(`{"target_id":"0","length":%d,"config":%s}`, length, c))
	}
	return fmt.Sprintf(`{"id":%q,"profile":{"packet":{"series":[%s]}}}`, id, strings.Join(steps, ","))
}

func TestTvlpRefusalsNameWhatIsWrong(t *testing.T) {
	h := newTestServer(t)
	good := tvlpBody(t, "p", 1e9, 1000)
	stepWith := func(tweak string) string {
		return strings.Replace(good, `"target_id":"0","length":1000000000`, tweak, 1)
	}
	for _, tc := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"block", `{"profile":{"block":{"series":[{"resource_id":"b","length":1,"config":{}}]}}}`, 400, "profile.block: not supported"},
		{"cpu", `{"profile":{"cpu":{"series":[]}}}`, 400, "profile.cpu: not supported"},
		{"memory", `{"profile":{"memory":{"series":[]}}}`, 400, "profile.memory: not supported"},
		{"network", `{"profile":{"network":{"series":[]}}}`, 400, "profile.network: not supported"},
		{"no entries", `{"profile":{}}`, 400, "profile: no profile entries found"},
		{"empty series", `{"profile":{"packet":{"series":[]}}}`, 400, "profile: no profile entries found"},
		{"zero length", stepWith(`"target_id":"0","length":0`), 400, "profile.packet.series[0].length: 0 ns: must be positive"},
		{"no target", stepWith(`"target_id":"","length":1`), 400, "profile.packet.series[0].target_id: required"},
		{"bad config", strings.Replace(good, `"continuous":true`, `"continuous":true,"frames":5`, 1), 400, "profile.packet.series[0].config.duration: exactly one"},
		{"bad id", strings.Replace(good, `"id":"p"`, `"id":"P!"`, 1), 404, "not a valid identifier"},
	} {
		rec := do(h, "POST", "/tvlp", tc.body)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, rec.Code, rec.Body, tc.code, tc.want)
		}
	}
	if rec := do(h, "POST", "/tvlp", good); rec.Code != 201 || rec.Header().Get("Location") != "/tvlp/p" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/tvlp", good); rec.Code != 400 || !strings.Contains(rec.Body.String(), "already exists") {
		t.Errorf("duplicate: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"packet":{"load_scale":0}}`, "packet.load_scale: 0: must be a number above 0"},
		{`{"packet":{"time_scale":-1}}`, "packet.time_scale: -1: must be a number above 0"},
		{`{"start_time":"yesterday"}`, "start_time"},
	} {
		if rec := do(h, "POST", "/tvlp/p/start", tc.body); rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("start %s: %d %s, want 400 with %q", tc.body, rec.Code, rec.Body, tc.want)
		}
	}
	for _, path := range []string{"/tvlp/nope", "/tvlp-results/nope"} {
		if rec := do(h, "GET", path, ""); rec.Code != 404 {
			t.Errorf("GET %s: %d", path, rec.Code)
		}
		if rec := do(h, "DELETE", path, ""); rec.Code != 404 {
			t.Errorf("DELETE %s: %d", path, rec.Code)
		}
	}
	for _, op := range []string{"start", "stop"} {
		if rec := do(h, "POST", "/tvlp/nope/"+op, ""); rec.Code != 404 {
			t.Errorf("%s unknown: %d", op, rec.Code)
		}
	}
	if rec := do(h, "PUT", "/tvlp/p", good); rec.Code != 405 || rec.Header().Get("Allow") != "DELETE, GET" {
		t.Errorf("PUT: %d allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestTvlpReplaysOverTheFakeDriver(t *testing.T) {
	h := newTestServer(t)
	if rec := do(h, "POST", "/tvlp", tvlpBody(t, "p", 100e6, 1000, 2000, 3000)); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var c gen.TvlpConfiguration
	mustDecode(t, do(h, "GET", "/tvlp/p", ""), &c)
	if *c.State != "ready" || c.Time.Length != 300e6 || len(c.Profile.Packet.Series) != 3 {
		t.Fatalf("profile %+v", c)
	}
	rec := do(h, "POST", "/tvlp/p/start", `{"packet":{"load_scale":2,"time_scale":0.5}}`)
	if rec.Code != 201 || !strings.HasPrefix(rec.Header().Get("Location"), "/tvlp-results/") {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	var r gen.TvlpResult
	mustDecode(t, rec, &r)
	if r.TvlpId != "p" {
		t.Fatalf("result %+v", r)
	}
	mustDecode(t, do(h, "GET", "/tvlp/p", ""), &c)
	if *c.State != "running" || c.Time.Length != 150e6 || c.Time.Start == nil {
		t.Fatalf("running profile %+v", c)
	}
	if rec := do(h, "POST", "/tvlp/p/start", ""); rec.Code != 400 {
		t.Errorf("start twice: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "DELETE", "/tvlp/p", ""); rec.Code != 400 {
		t.Errorf("delete running: %d %s", rec.Code, rec.Body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mustDecode(t, do(h, "GET", "/tvlp/p", ""), &c)
		if *c.State == "ready" || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if *c.State != "ready" {
		t.Fatalf("state %s after the profile's length", *c.State)
	}
	mustDecode(t, do(h, "GET", "/tvlp-results/"+r.Id, ""), &r)
	if r.Packet == nil || len(*r.Packet) != 3 || len(*r.XPacketSteps) != 3 {
		t.Fatalf("result %+v", r)
	}
	var sum int64
	for i, st := range *r.XPacketSteps {
		if *st.Step != int32(i) || st.Packets == 0 {
			t.Errorf("step %d: %+v", i, st)
		}
		if (*r.Packet)[i].FlowCounters.PacketsActual != st.Packets {
			t.Errorf("step %d: generator result %d packets, totals %d", i, (*r.Packet)[i].FlowCounters.PacketsActual, st.Packets)
		}
		sum += st.Packets
	}
	if r.XPacketTotal.Packets != sum {
		t.Errorf("total %d, steps add up to %d", r.XPacketTotal.Packets, sum)
	}
	var gens []gen.PacketGenerator
	mustDecode(t, do(h, "GET", "/packet/generators", ""), &gens)
	if len(gens) != 0 {
		t.Errorf("the steps' generators are left: %d", len(gens))
	}
	if rec := do(h, "DELETE", "/tvlp-results/"+r.Id, ""); rec.Code != 204 {
		t.Errorf("delete result: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "DELETE", "/tvlp/p", ""); rec.Code != 204 {
		t.Errorf("delete: %d %s", rec.Code, rec.Body)
	}
}

// FuzzTvlpBodies: whatever a client posts to the TVLP paths, the answer
// is never a 500, and whatever got made is stopped and deleted cleanly.
func FuzzTvlpBodies(f *testing.F) {
	f.Add(tvlpBody(f, "p", 1e6, 1000, 2000))
	f.Add(tvlpBody(f, "p", 0, 1000))
	f.Add(tvlpBody(f, "p", -1, 1000))
	f.Add(tvlpBody(f, "p", 1<<62, 1000))
	f.Add(`{"profile":{"cpu":{"series":[{"length":1,"config":{}}]}}}`)
	f.Add(`{"profile":{"packet":{"series":[{"target_id":"nope","length":1,"config":{}}]}}}`)
	f.Add(`{"packet":{"load_scale":1e308,"time_scale":1e-308}}`)
	f.Add(`{"start_time":"2030-01-01T00:00:00Z","packet":{"load_scale":0.5}}`)
	f.Add(`{"start_time":"1970-01-01T00:00:00Z"}`)
	for _, s := range []string{`{}`, `[]`, `null`, `{"profile":{}}`, `{"profile":{"packet":{"series":[]}}}`} {
		f.Add(s)
	}
	h := newTestServer(f)
	do(h, "POST", "/tvlp", tvlpBody(f, "fixed", 1e6, 1000))
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []struct{ method, path string }{
			{"POST", "/tvlp"}, {"POST", "/tvlp/p/start"}, {"POST", "/tvlp/fixed/start"},
		} {
			rec := do(h, target.method, target.path, body)
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", target.method, target.path, body, rec.Code, rec.Body)
			}
		}
		for _, id := range []string{"p", "fixed"} {
			if rec := do(h, "POST", "/tvlp/"+id+"/stop", ""); rec.Code >= 500 {
				t.Fatalf("stop %s: %d %s", id, rec.Code, rec.Body)
			}
		}
		do(h, "DELETE", "/tvlp/p", "")
	})
}
