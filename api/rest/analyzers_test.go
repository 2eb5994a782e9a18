package rest

import (
	"strings"
	"testing"
)

func TestAnalyzerValidationNamesTheField(t *testing.T) {
	h := newTestServer(t)
	for _, tc := range []struct{ body, want string }{
		{`{"source_id":"9","config":{"protocol_counters":[],"flow_counters":["frame_count"]}}`, "source_id"},
		{`{"source_id":"1","config":{"filter":"ip and","protocol_counters":[],"flow_counters":["frame_count"]}}`, "config.filter"},
		{`{"source_id":"1","config":{"protocol_counters":["inner_ip","bogus"],"flow_counters":["frame_count"]}}`, "config.protocol_counters"},
		{`{"source_id":"1","config":{"protocol_counters":[],"flow_counters":["bogus"]}}`, "flow_counters"},
	} {
		rec := do(h, "POST", "/packet/analyzers", tc.body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s; want 400 naming %s", tc.body, rec.Code, rec.Body, tc.want)
		}
	}
	if rec := do(h, "POST", "/packet/analyzers", `{"id":"a b","source_id":"1","config":{}}`); rec.Code != 404 || !strings.Contains(rec.Body.String(), "id") {
		t.Errorf("malformed id: %d %s; want OpenPerf's 404 naming id", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/analyzers", `{"id":"a","source_id":"1","config":{"protocol_counters":["ethernet"],"flow_counters":["frame_count","latency"],"flow_digests":["latency"]}}`); rec.Code != 201 {
		t.Fatalf("valid analyzer: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/analyzers/a/reset", ""); rec.Code != 400 {
		t.Fatalf("reset of a stopped analyzer: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/packet/rx-flows/nope-s1-2", ""); rec.Code != 404 {
		t.Fatalf("unknown rx flow: %d", rec.Code)
	}
}

func FuzzAnalyzerBodies(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","source_id":"1","config":{"filter":"udp","protocol_counters":["ethernet","ip","transport"],"flow_counters":["frame_count","latency","advanced_sequencing"],"flow_digests":["latency"]}}`,
		`{"items":[{"source_id":"0","config":{"protocol_counters":[],"flow_counters":["frame_count"]}}]}`,
		`{"ids":["a"]}`, `{}`, `[]`, `null`, `{"source_id":"1","config":{"filter":"((("}}`,
		`{"source_id":"1","config":{}}`, `{"id":"UPPER","source_id":"1","config":{}}`, `{"items":[]}`, `{"ids":["Bad_Id"]}`,
		// Strict JSON: one value, no duplicate keys; bounded numbers.
		`{"id":"a"} x`, `{"id":"a"}{"id":"b"}`, `{"id":"a","id":"b"}`, `{"\u0069d":"a","id":"b"}`, `[1,2] [3]`, `{"a":1e400}`, `{"a":-9223372036854775809}`,
	} {
		f.Add(s)
	}
	h := newTestServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/packet/analyzers", "/packet/analyzers/x/bulk-create",
			"/packet/analyzers/x/bulk-start", "/packet/analyzers/x/bulk-stop", "/packet/analyzers/x/bulk-delete"} {
			if rec := do(h, "POST", path, body); rec.Code >= 500 {
				t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
			}
		}
		do(h, "POST", "/packet/analyzers/x/bulk-stop", `{"ids":["a"]}`)
		do(h, "DELETE", "/packet/analyzers", "")
		do(h, "DELETE", "/packet/analyzer-results", "")
	})
}
