package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

// The daemon's error messages are outside input to opctl: naming the
// flag never panics and only ever inserts " (--flag)" once.
func FuzzNameFlags(f *testing.F) {
	for _, s := range []string{
		"invalid request: config.traffic[0].length.fixed: number must be at least 64",
		`id: "g1" already exists: in use`, `items[1].id: "a" already exists`, "config.protocols[7].ipv4.static.gateway",
		"", ":", "id", "(id)", "config.traffic[0].packet.protocols[1].modifiers.items[0].ipv4.sequence.count: too many",
	} {
		for _, item := range []string{"generator", "analyzer", "capture", "interface", "port"} {
			f.Add(item, s)
		}
	}
	f.Fuzz(func(t *testing.T, item, msg string) {
		err := nameFlags(&apiError{code: 400, message: msg}, item)
		got := err.(*apiError).message
		if got == msg {
			return
		}
		i := strings.Index(got, " (--")
		j := strings.Index(got[i+1:], ")")
		if i < 0 || j < 0 || got[:i]+got[i+1+j+1:] != msg {
			t.Fatalf("%q became %q", msg, got)
		}
	})
}

// Latency digests come from the daemon: any bins, negative or NaN ones
// included, give a quantile or nil, never a panic, and an interval is
// never negative.
func FuzzLatencyBins(f *testing.F) {
	f.Add(`[{"digests":{"latency":{"centroids":[{"mean":1000,"weight":3},{"mean":2000,"weight":1}]}}}]`,
		`[{"digests":{"latency":{"centroids":[{"mean":1000,"weight":1}]}}}]`, 0.99)
	f.Add(`[{"digests":{"latency":{"centroids":[{"mean":-5,"weight":-3},{"mean":1e300,"weight":9223372036854775807}]}}}]`, `[]`, 0.5)
	f.Add(`[{"digests":{}}]`, `null`, 1.0)
	f.Fuzz(func(t *testing.T, cur, prev string, p float64) {
		var a, b []gen.RxFlow
		if json.Unmarshal([]byte(cur), &a) != nil || json.Unmarshal([]byte(prev), &b) != nil || !(p > 0 && p <= 1) {
			return
		}
		iv := binsOf(a).since(binsOf(b))
		for v, n := range iv {
			if n <= 0 {
				t.Fatalf("bin %v has %d frames", v, n)
			}
		}
		_ = iv.quantile(p)
		_ = binsOf(a).quantile(p)
		_ = latencyPercentile(a, p)
	})
}
