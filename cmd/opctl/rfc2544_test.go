package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

func sampleRun(t *testing.T) gen.Rfc2544Run {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc2544-run.json")
	if err != nil {
		t.Fatal(err)
	}
	var r gen.Rfc2544Run
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// The report is one page with its three plots inline: no script, no
// stylesheet or image to fetch, so it opens offline.
func TestRfc2544ReportIsSelfContained(t *testing.T) {
	page, err := rfc2544Report(sampleRun(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	if n := strings.Count(s, "<svg"); n != 3 {
		t.Errorf("%d inline plots, want 3 (throughput, latency, frame loss)", n)
	}
	for _, title := range []string{"Throughput per frame size", "Latency at the throughput found", "Frame loss rate"} {
		if !strings.Contains(s, title) {
			t.Errorf("no plot titled %q", title)
		}
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).FindString(s); m != "" {
		t.Errorf("the page fetches something: %s", m)
	}
	if strings.Contains(s, "<script") {
		t.Error("the page has a script")
	}
	for _, want := range []string{"<td>imix:simple</td>", "<td>12.50</td>", "18601"} {
		if !strings.Contains(s, want) {
			t.Errorf("the results table lacks %q", want)
		}
	}
}

// Without latency or frame-loss results those plots are left out.
func TestRfc2544ReportOnlyPlotsWhatRan(t *testing.T) {
	r := sampleRun(t)
	for i := range r.Results {
		r.Results[i].Latency, r.Results[i].FrameLoss = nil, nil
	}
	page, err := rfc2544Report(r)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), "<svg"); n != 1 {
		t.Errorf("%d plots, want the throughput one only", n)
	}
}

func TestRfc2544FlagsNeedPorts(t *testing.T) {
	f := rfc2544Flags{tx: "0"}
	if _, err := f.config(); err == nil || !strings.Contains(err.Error(), "--tx and --rx") {
		t.Fatalf("err %v", err)
	}
}
