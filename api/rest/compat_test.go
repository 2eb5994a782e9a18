package rest

import (
	"strings"
	"testing"
)

// OpenPerf's server treats an empty bulk list as nothing to do, and its
// clients send them; each is a success here too, never a 400 or a 500.
func TestEmptyBulkListsDoNothing(t *testing.T) {
	h := newTestServer(t)
	for _, tc := range []struct {
		path string
		body string
		want int
	}{
		{"/interfaces/x/bulk-create", `{"items":[]}`, 200},
		{"/interfaces/x/bulk-delete", `{"ids":[]}`, 204},
		{"/interfaces/x/bulk-delete", `{}`, 204},
		{"/packet/generators/x/bulk-create", `{"items":[]}`, 200},
		{"/packet/generators/x/bulk-delete", `{"ids":[]}`, 204},
		{"/packet/generators/x/bulk-start", `{"ids":[]}`, 200},
		{"/packet/generators/x/bulk-stop", `{}`, 204},
		{"/packet/analyzers/x/bulk-create", `{"items":[]}`, 200},
		{"/packet/analyzers/x/bulk-delete", `{}`, 204},
		{"/packet/analyzers/x/bulk-start", `{"ids":[]}`, 200},
		{"/packet/analyzers/x/bulk-stop", `{"ids":[]}`, 204},
		{"/packet/captures/x/bulk-create", `{"items":[]}`, 200},
		{"/packet/captures/x/bulk-delete", `{"ids":[]}`, 204},
		{"/packet/captures/x/bulk-start", `{}`, 200},
		{"/packet/captures/x/bulk-stop", `{"ids":[]}`, 204},
		{"/packet/captures/x/merge", `{"ids":[]}`, 200},
		{"/packet/captures/x/merge", `{"ids":["Bad_Id"]}`, 404},
	} {
		rec := do(h, "POST", tc.path, tc.body)
		if rec.Code != tc.want {
			t.Errorf("POST %s %s: %d %s, want %d", tc.path, tc.body, rec.Code, rec.Body, tc.want)
		}
		if tc.want == 200 && !strings.HasSuffix(tc.path, "merge") && !strings.Contains(rec.Body.String(), `"items":[]`) {
			t.Errorf("POST %s %s: %s, want an empty items list", tc.path, tc.body, rec.Body)
		}
	}
}
