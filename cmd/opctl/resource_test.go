package main

import (
	"io"
	"net/http"
	"net/http/httptest"
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
				if f.Name == "help" {
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
	if lists != 10 {
		t.Errorf("%d list verbs, want 10", lists)
	}
}
