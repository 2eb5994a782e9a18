package rest

import (
	"strings"
	"testing"
)

func TestCaptureValidationNamesTheField(t *testing.T) {
	h := newTestServer(t)
	for _, tc := range []struct{ body, want string }{
		{`{"source_id":"9","config":{"mode":"buffer","buffer_size":65536}}`, "source_id"},
		{`{"source_id":"1","config":{"mode":"buffer","buffer_size":100}}`, "buffer_size"},
		{`{"source_id":"1","config":{"mode":"live","buffer_size":65536}}`, "config.mode"},
		{`{"source_id":"1","config":{"mode":"buffer","buffer_size":65536,"start_trigger":"tcp and"}}`, "config.start_trigger"},
		{`{"source_id":"1","direction":"both","config":{"mode":"buffer","buffer_size":65536}}`, "direction"},
	} {
		rec := do(h, "POST", "/packet/captures", tc.body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s; want 400 naming %s", tc.body, rec.Code, rec.Body, tc.want)
		}
	}
}

func FuzzCaptureBodies(f *testing.F) {
	for _, s := range []string{
		`{"id":"c","source_id":"1","config":{"mode":"buffer","buffer_size":65536,"buffer_wrap":true,"packet_size":64,"filter":"udp","duration":1000,"packet_count":10}}`,
		`{"items":[{"source_id":"0","config":{"mode":"buffer","buffer_size":4096}}]}`,
		`{"ids":["c"],"packet_start":1,"packet_end":0}`, `{"ids":["c"]}`, `{}`, `[]`, `null`,
		// Strict JSON: one value, no duplicate keys; bounded numbers.
		`{"id":"a"} x`, `{"id":"a"}{"id":"b"}`, `{"id":"a","id":"b"}`, `{"\u0069d":"a","id":"b"}`, `[1,2] [3]`, `{"a":1e400}`, `{"a":-9223372036854775809}`,
	} {
		f.Add(s)
	}
	h := newTestServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/packet/captures", "/packet/captures/x/bulk-create", "/packet/captures/x/bulk-start",
			"/packet/captures/x/bulk-stop", "/packet/captures/x/bulk-delete", "/packet/captures/x/merge"} {
			if rec := do(h, "POST", path, body); rec.Code >= 500 {
				t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
			}
		}
		do(h, "POST", "/packet/captures/x/bulk-stop", `{"ids":["c"]}`)
		do(h, "DELETE", "/packet/captures", "")
		do(h, "DELETE", "/packet/capture-results", "")
	})
}

// TestEveryCaptureDirectionStopsAndRestarts runs each direction of capture
// through start, stop, a second start (which takes the first run off the
// workers), stop and delete, on the real workers: a tx tap the workers
// could not find to remove once made stop answer 500.
func TestEveryCaptureDirectionStopsAndRestarts(t *testing.T) {
	h := newTestServer(t)
	for _, dir := range []string{"rx", "tx", "rx_and_tx"} {
		id := "c-" + strings.ReplaceAll(dir, "_", "-")
		steps := []struct {
			method, path string
			want         int
		}{
			{"POST", "/packet/captures/" + id + "/start", 201},
			{"POST", "/packet/captures/" + id + "/stop", 204},
			{"POST", "/packet/captures/" + id + "/start", 201},
			{"POST", "/packet/captures/" + id + "/start", 400}, // already running
			{"POST", "/packet/captures/" + id + "/stop", 204},
			{"DELETE", "/packet/captures/" + id, 204},
		}
		if rec := do(h, "POST", "/packet/captures", `{"id":"`+id+`","source_id":"0","direction":"`+dir+`",`+
			`"config":{"mode":"buffer","buffer_size":65536}}`); rec.Code != 201 {
			t.Fatalf("%s: create: %d %s", dir, rec.Code, rec.Body)
		}
		for _, s := range steps {
			if rec := do(h, s.method, s.path, ""); rec.Code != s.want {
				t.Errorf("%s: %s %s: %d %s, want %d", dir, s.method, s.path, rec.Code, rec.Body, s.want)
			}
		}
	}
}
