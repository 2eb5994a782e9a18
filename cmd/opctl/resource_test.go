package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/pflag"
)

// Every filter flag of every list verb is sent as the query parameter
// named after it (--target as target_id, --mac as eth_mac_address).
func TestListFiltersAreSentAsQueryParameters(t *testing.T) {
	var mu sync.Mutex
	var query map[string][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		query = r.URL.Query()
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "[]")
	}))
	defer srv.Close()
	lists := 0
	for _, n := range newSession(func(string) string { return "" }).root().Commands() {
		for _, v := range n.Commands() {
			if v.Name() != "list" {
				continue
			}
			lists++
			v.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
				if f.Name == "help" || f.Name == "wide" { // wide is no filter: a view
					return
				}
				_, errOut, code := opctl(t, nil, "--server", srv.URL, n.Name(), "list", "--"+f.Name, "x1")
				mu.Lock()
				defer mu.Unlock()
				if code != 0 || len(query) != 1 {
					t.Errorf("%s list --%s x1: code %d, %s, query %v", n.Name(), f.Name, code, errOut, query)
					return
				}
				for param, values := range query {
					if !strings.Contains(param, f.Name) || len(values) != 1 || values[0] != "x1" {
						t.Errorf("%s list --%s x1: query %v", n.Name(), f.Name, query)
					}
				}
			})
		}
	}
	if lists != 11 {
		t.Errorf("%d list verbs, want 11", lists)
	}
}

// An API error about a field a quick flag filled in names the flag too;
// a body from -f is the user's own JSON, named as it is.
func TestCreateErrorsNameTheQuickFlag(t *testing.T) {
	for _, tc := range []struct {
		item, msg, want string
	}{
		{"generator", "invalid request: config.traffic[0].length.fixed: number must be at least 64",
			"invalid request: config.traffic[0].length.fixed (--length): number must be at least 64"},
		{"generator", `id: "g1" already exists: in use`, `id (--id): "g1" already exists: in use`},
		{"generator", `target_id: "7" is neither a port nor an interface`, `target_id (--port): "7" is neither a port nor an interface`},
		{"analyzer", `source_id: "7" is neither a port nor an interface`, `source_id (--port): "7" is neither a port nor an interface`},
		{"interface", "config.protocols[2].ipv6.static.gateway: not in the subnet", "config.protocols[2].ipv6.static.gateway (--ipv6-gateway): not in the subnet"},
		{"generator", "generator g1 is running", "generator g1 is running"},
		{"capture", `items[0].id: "c" already exists`, `items[0].id: "c" already exists`}, // not a field of the quick form
	} {
		err := nameFlags(&apiError{code: 400, message: tc.msg}, tc.item)
		if err.(*apiError).message != tc.want {
			t.Errorf("%s %q:\n got %q\nwant %q", tc.item, tc.msg, err.(*apiError).message, tc.want)
		}
	}
	var fromFile = `{"target_id": "0", "config": {}}`
	_, url := newFakeAPI(t, map[string]reply{"POST /packet/generators": {400, `{"code":400,"message":"target_id: \"0\" is no good"}`}})
	dir := t.TempDir()
	path := filepath.Join(dir, "g.json")
	os.WriteFile(path, []byte(fromFile), 0o644)
	if _, errOut, _ := opctl(t, nil, "--server", url, "generators", "create", "-f", path); errOut != "opctl: target_id: \"0\" is no good (HTTP 400)\n" {
		t.Errorf("from -f: %q", errOut)
	}
	if _, errOut, _ := opctl(t, nil, "--server", url, "generators", "create", "--port", "0", "--stream-id", "1"); errOut != "opctl: target_id (--port): \"0\" is no good (HTTP 400)\n" {
		t.Errorf("from flags: %q", errOut)
	}
}
