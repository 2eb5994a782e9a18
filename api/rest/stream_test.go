package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// checkStreamedFlows pins what a streamed flow list answers: the very
// bytes encoding/json gives for the whole list (what the generated
// response wrote, so clients see no difference), pages that are slices of
// it, and a 400 naming a negative paging parameter.
func checkStreamedFlows[T any](t *testing.T, h http.Handler, path string, all []T) {
	t.Helper()
	var want bytes.Buffer
	if err := json.NewEncoder(&want).Encode(all); err != nil {
		t.Fatal(err)
	}
	rec := do(h, "GET", path, "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != want.String() {
		t.Fatalf("GET %s: %d %q\n%s\nwant\n%s", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body, &want)
	}
	n := len(all)
	for _, c := range []struct{ off, lim int }{{0, 1}, {1, 2}, {n - 1, 5}, {n, 1}, {n + 10, 1}, {2, 0}, {0, n}} {
		var page []T
		mustDecode(t, do(h, "GET", fmt.Sprintf("%s&x_offset=%d&x_limit=%d", path, c.off, c.lim), ""), &page)
		w := all[min(c.off, n):min(c.off+c.lim, n)]
		if len(page) != len(w) || !slices.EqualFunc(page, w, sameJSON) {
			t.Errorf("x_offset=%d x_limit=%d: %d items, want %d", c.off, c.lim, len(page), len(w))
		}
	}
	var rest []T
	mustDecode(t, do(h, "GET", path+"&x_offset=1", ""), &rest)
	if len(rest) != n-1 {
		t.Errorf("x_offset=1 alone: %d items, want %d", len(rest), n-1)
	}
	for _, q := range []string{"x_offset=-1", "x_limit=-2"} {
		rec := do(h, "GET", path+"&"+q, "")
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), strings.Split(q, "=")[0]) {
			t.Errorf("%s: %d %s, want a 400 naming it", q, rec.Code, rec.Body)
		}
	}
	if rec := do(h, "GET", path+"&x_limit=many", ""); rec.Code != 400 {
		t.Errorf("x_limit=many: %d %s, want 400", rec.Code, rec.Body)
	}
}

func sameJSON[T any](a, b T) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// An empty list is "[]", as encoding/json writes an empty slice.
func TestStreamedEmptyListIsAnEmptyArray(t *testing.T) {
	h := newTestServer(t)
	for _, p := range []string{"/packet/tx-flows", "/packet/rx-flows", "/packet/tx-flows?x_limit=0"} {
		rec := do(h, "GET", p, "")
		var v []gen.TxFlow
		if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "[]" || json.Unmarshal(rec.Body.Bytes(), &v) != nil {
			t.Errorf("GET %s: %d %q", p, rec.Code, rec.Body)
		}
	}
}

// rx-flows stream like tx-flows: the same bytes as the whole list, pages
// that are slices of it.
func TestRxFlowsStreamAndPage(t *testing.T) {
	h := newTestServer(t)
	if rec := do(h, "POST", "/packet/analyzers", `{"id":"a","source_id":"1","config":{"protocol_counters":["ethernet"],"flow_counters":["frame_count","latency"],"flow_digests":["latency"]}}`); rec.Code != 201 {
		t.Fatalf("create analyzer: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/analyzers/a/start", ""); rec.Code != 201 {
		t.Fatalf("start analyzer: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/generators", genBody(t, nil)); rec.Code != 201 {
		t.Fatalf("create generator: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/packet/generators/g/start", ""); rec.Code != 201 {
		t.Fatalf("start generator: %d %s", rec.Code, rec.Body)
	}
	var flows []gen.RxFlow
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mustDecode(t, do(h, "GET", "/packet/rx-flows?analyzer_id=a", ""), &flows)
		var frames int64
		for _, f := range flows {
			frames += f.Counters.FrameCount
		}
		if len(flows) == 12 && frames == 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rx flows with %d frames; want 12 and 1000", len(flows), frames)
		}
	}
	if rec := do(h, "POST", "/packet/analyzers/a/stop", ""); rec.Code != 204 {
		t.Fatalf("stop analyzer: %d %s", rec.Code, rec.Body)
	}
	mustDecode(t, do(h, "GET", "/packet/rx-flows?analyzer_id=a", ""), &flows)
	checkStreamedFlows(t, h, "/packet/rx-flows?analyzer_id=a", flows)
}
