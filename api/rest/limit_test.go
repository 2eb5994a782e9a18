package rest

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOversizedBodiesAre413 sends a bulk-create over the body limit, with
// and without a Content-Length: both are refused whole with a 413, and
// a body under the limit still works.
func TestOversizedBodiesAre413(t *testing.T) {
	old := MaxBodyBytes
	MaxBodyBytes = 4 << 10
	defer func() { MaxBodyBytes = old }()
	h := newTestServer(t)

	item := func(i int) string {
		return fmt.Sprintf(`{"id":"i%d","port_id":"0","config":{"protocols":[{"eth":{"mac_address":"02:00:00:00:%02x:%02x"}}]}}`, i, i>>8, byte(i))
	}
	bulk := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = item(i)
		}
		return `{"items":[` + strings.Join(items, ",") + `]}`
	}
	big := bulk(100)
	if len(big) <= 4<<10 {
		t.Fatalf("the big body is only %d bytes", len(big))
	}
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(body) // hides the length
		}
		req := httptest.NewRequest("POST", "/interfaces/x/bulk-create", body)
		req.Header.Set("Content-Type", "application/json")
		if chunked {
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 413 || !strings.Contains(rec.Body.String(), "over the limit of 4096 bytes") {
			t.Errorf("chunked %v: %d %s, want 413 naming the limit", chunked, rec.Code, rec.Body)
		}
	}
	if rec := do(h, "GET", "/interfaces", ""); strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Fatalf("after refused bodies: %s", rec.Body)
	}
	if rec := do(h, "POST", "/interfaces/x/bulk-create", bulk(10)); rec.Code != 200 {
		t.Fatalf("a body under the limit: %d %s", rec.Code, rec.Body)
	}
}
