package main

import (
	"strings"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

// Canned bodies, as openperfd sends them (an analyzer on port 1 after 5000
// signed frames in 4 flows).
const (
	analyzerBody = `{"active":false,"config":{"flow_counters":["frame_count","frame_length","latency","jitter_ipdv","advanced_sequencing"],` +
		`"flow_digests":["latency"],"protocol_counters":["ethernet","ip","transport"]},"id":"a1","source_id":"1"}`
	flowCountersBody = `{"errors":{"fcs":0,"ipv4_checksum":0,"tcp_checksum":0,"udp_checksum":0},"frame_count":5000,` +
		`"frame_length":{"summary":{"max":128,"min":128,"std_dev":0,"total":640000},"units":"octets"},` +
		`"latency":{"summary":{"max":78200,"min":586,"std_dev":4430,"total":12550000},"units":"nanoseconds"},` +
		`"sequence":{"dropped":2,"duplicate":0,"in_order":4997,"late":0,"reordered":1,"run_length":1250},` +
		`"timestamp_first":"2026-11-22T08:06:59.017681516Z","timestamp_last":"2026-11-22T08:06:59.067624035Z"}`
	analyzerResultBody = `{"active":true,"analyzer_id":"a1","flow_counters":` + flowCountersBody + `,` +
		`"flows":["r1-s1-1","r1-s1-2"],"id":"r1","protocol_counters":{"ethernet":{"arp":0,"fcoe":0,"ip":5000,"lldp":0,"mpls":0,"nsh":0,"pppoe":0,"qinq":0,"timesync":0,"vlan":0},` +
		`"ip":{"ipv4":5000,"ipv6":0},"transport":{"fragmented":0,"icmp":0,"igmp":0,"non_fragmented":0,"sctp":0,"tcp":0,"udp":5000}}}`
	rxFlowsBody = `[{"analyzer_result_id":"r1","counters":` + flowCountersBody + `,"digests":{"latency":{"centroids":[{"mean":600,"weight":4950},{"mean":19000,"weight":50}],` +
		`"percentiles":{"p50":2400,"p90":3100,"p99":19200,"p99_9":40000}}},"id":"r1-s1-7","x_stream_id":7},` +
		`{"analyzer_result_id":"r1","counters":{"errors":{"fcs":0,"ipv4_checksum":0,"tcp_checksum":0,"udp_checksum":0},"frame_count":3},"digests":{},` +
		`"id":"r1-u0000000000110000000000000000000000000000000000000000000000000000000000000000000000"}]`
)

func TestAnalyzersCreateQuickForm(t *testing.T) {
	f, url := newFakeAPI(t, map[string]reply{"POST /packet/analyzers": {201, analyzerBody}})
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--port", "1"}, `{"source_id": "1", "config": {"protocol_counters": ["ethernet", "ip", "transport"],
			"flow_counters": ["frame_count", "frame_length"]}}`},
		{[]string{"--id", "a1", "--source", "1", "--filter", "udp", "--latency"}, `{"id": "a1", "source_id": "1", "config": {
			"filter": "udp", "protocol_counters": ["ethernet", "ip", "transport"],
			"flow_counters": ["frame_count", "frame_length", "latency", "jitter_ipdv", "advanced_sequencing"],
			"flow_digests": ["latency"]}}`},
	} {
		out, errOut, code := opctl(t, nil, append([]string{"--server", url, "analyzers", "create"}, tc.flags...)...)
		if code != 0 {
			t.Fatalf("%v: code %d: %s", tc.flags, code, errOut)
		}
		jsonEqual(t, f.body("POST /packet/analyzers"), tc.want)
		if !strings.Contains(out, "a1  1       no      -       frame_count,frame_length,latency,jitter_ipdv,advanced_sequencing  latency") {
			t.Errorf("%v: output:\n%s", tc.flags, out)
		}
	}
}

func TestAnalyzerVerbs(t *testing.T) {
	_, url := newFakeAPI(t, map[string]reply{
		"GET /packet/analyzers":            {200, "[" + analyzerBody + "]"},
		"GET /packet/analyzers/a1":         {200, analyzerBody},
		"POST /packet/analyzers/a1/start":  {201, analyzerResultBody},
		"POST /packet/analyzers/a2/start":  {201, analyzerResultBody},
		"POST /packet/analyzers/a1/reset":  {201, analyzerResultBody},
		"POST /packet/analyzers/a1/stop":   {204, ""},
		"POST /packet/analyzers/a2/stop":   {204, ""},
		"DELETE /packet/analyzers/a1":      {204, ""},
		"GET /packet/analyzer-results":     {200, "[" + analyzerResultBody + "]"},
		"GET /packet/analyzer-results/r1":  {200, analyzerResultBody},
		"GET /packet/rx-flows":             {200, rxFlowsBody},
		"POST /packet/analyzers/busy/stop": {404, `{"code":404,"message":"analyzer busy: not found"}`},
	})
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"analyzers", "list"}, []string{"ID  SOURCE  ACTIVE  FILTER  FLOW COUNTERS", "a1  1       no"}},
		{[]string{"analyzers", "get", "a1"}, []string{"protocol counters:  ethernet,ip,transport", "flow digests:       latency"}},
		{[]string{"analyzers", "start", "a1", "a2"}, []string{
			"ID  ANALYZER  ACTIVE  FRAMES  FLOWS  DROPPED  LOSS   DUPLICATE  LATE  REORDERED  LATENCY MIN  AVG     MAX\n" +
				"r1  a1        yes     5,000   2      2        0.04%  0          0     1          586ns        2.51µs  78.2µs\n" +
				"r1  a1        yes     5,000   2      2        0.04%  0          0     1          586ns        2.51µs  78.2µs\n"}},
		{[]string{"analyzers", "reset", "a1"}, []string{"r1  a1        yes     5,000"}},
		{[]string{"analyzers", "stop", "a1", "a2"}, []string{"stopped analyzer a1\nstopped analyzer a2\n"}},
		{[]string{"analyzers", "delete", "a1"}, []string{"deleted analyzer a1\n"}},
		{[]string{"analyzer-results", "list"}, []string{"r1  a1        yes     5,000   2      2        0.04%  0          0     1 "}},
		{[]string{"analyzer-results", "get", "r1"}, []string{
			"frames:        5,000",
			"sequence:      in order 4,997, dropped 2 (loss 0.04%), duplicate 0, late 0, reordered 1, run length 1,250",
			"latency:       min 586ns, avg 2.51µs, max 78.2µs, std dev 4.43µs",
			"frame length:  min 128, avg 128, max 128, std dev 0",
			"transport:     udp=5,000"}},
		// The flow ids lose their result prefix; a long one is cut in the middle.
		{[]string{"rx-flows", "list"}, []string{
			"FLOW                  STREAM  FRAMES  DROPPED  LOSS   DUPLICATE  LATE  REORDERED  LATENCY MIN  AVG     MAX     P99\n" +
				"s1-7                  7       5,000   2        0.04%  0          0     1          586ns        2.51µs  78.2µs  19.2µs\n" +
				"u00000000001…0000000  -       3       -        -      -          -     -          -            -       -       -\n"}},
	} {
		out, errOut, code := opctl(t, nil, append([]string{"--server", url}, tc.args...)...)
		if code != 0 {
			t.Errorf("%v: code %d, stderr %q", tc.args, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--json", "rx-flows", "list"}, rxFlowsBody},
		{[]string{"analyzer-results", "get", "r1", "--json"}, analyzerResultBody},
		{[]string{"--json", "analyzers", "start", "a1"}, analyzerResultBody},
		{[]string{"--json", "analyzers", "stop", "a1"}, ""},
	} {
		want := tc.want
		if want != "" {
			want += "\n"
		}
		if out, _, code := opctl(t, nil, append([]string{"--server", url}, tc.args...)...); code != 0 || out != want {
			t.Errorf("%v: code %d, %q", tc.args, code, out)
		}
	}
	if _, errOut, code := opctl(t, nil, "--server", url, "analyzers", "stop", "busy"); code != 1 || errOut != "opctl: analyzer busy: not found (HTTP 404)\n" {
		t.Errorf("stop busy: code %d, %q", code, errOut)
	}
}

func TestAnalyzersCreateUsageErrors(t *testing.T) {
	_, url := newFakeAPI(t, nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"analyzers", "create"}, "--port (or --source) is required"},
		{[]string{"analyzers", "create", "-f", "x.json", "--latency"}, "give either -f or the quick flags (--latency)"},
		{[]string{"analyzers", "start"}, "missing ID..."},
		{[]string{"rx-flows", "list", "--generator", "g"}, "unknown flag: --generator"},
	} {
		out, errOut, code := opctl(t, nil, append([]string{"--server", url}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestNanosKeepsThreeSignificantDigits(t *testing.T) {
	for ns, want := range map[int64]string{0: "0ns", 381: "381ns", 999: "999ns", 1000: "1.00µs", 12345: "12.3µs",
		123456: "123µs", 7093481: "7.09ms", 2_500_000_000: "2.50s", 120_000_000_000: "120s", -76400: "-76.4µs"} {
		if got := nanos(ns); got != want {
			t.Errorf("nanos(%d) = %q, want %q", ns, got, want)
		}
	}
}

// Two streams merged into one (the same stream id from two generators):
// the sequence shows duplicates and late frames, none dropped, and the
// table says so rather than "0 dropped, 0 reordered" alone.
func TestSequenceCellsShowEveryCounterAndTheLossShare(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    gen.PacketAnalyzerFlowCounters
		want []string
	}{
		{"no sequencing", gen.PacketAnalyzerFlowCounters{FrameCount: 10}, []string{"-", "-", "-", "-", "-"}},
		{"merged streams", gen.PacketAnalyzerFlowCounters{FrameCount: 100000, Sequence: &gen.PacketAnalyzerFlowSequence{
			Duplicate: 60108, Late: 39892}}, []string{"0", "0%", "60,108", "39,892", "0"}},
		// 900 received once, 100 never: 10% of the 1,000 sent.
		{"losses", gen.PacketAnalyzerFlowCounters{FrameCount: 905, Sequence: &gen.PacketAnalyzerFlowSequence{
			Dropped: 100, Duplicate: 5, Late: 3, Reordered: 2}}, []string{"100", "10%", "5", "3", "2"}},
	} {
		if got := sequenceCells(tc.c); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Error columns appear when a counter is not zero (checksums and PRBS
// apart), and all of them with --wide; their figures are the JSON's.
func TestListsShowErrorColumnsWhenNonZeroOrWide(t *testing.T) {
	withErrors := strings.Replace(flowCountersBody, `"errors":{"fcs":0,"ipv4_checksum":0,"tcp_checksum":0,"udp_checksum":0}`,
		`"errors":{"fcs":0,"ipv4_checksum":3,"tcp_checksum":0,"udp_checksum":1234},"prbs":{"bit_errors":7,"frame_errors":2,"octets":100}`, 1)
	if withErrors == flowCountersBody {
		t.Fatal("the canned counters changed; update this test")
	}
	bad := strings.Replace(analyzerResultBody, flowCountersBody, withErrors, 1)
	badFlows := strings.Replace(rxFlowsBody, flowCountersBody, withErrors, 1)
	for _, tc := range []struct {
		name, results, flows string
		wide                 bool
		want, lacks          []string
	}{
		{"all zero", analyzerResultBody, rxFlowsBody, false, nil, []string{"CKSUM", "PRBS"}},
		{"all zero, wide", analyzerResultBody, rxFlowsBody, true,
			[]string{"IPV4 CKSUM ERR  TCP CKSUM ERR  UDP CKSUM ERR  FCS ERR  PRBS BIT ERR  PRBS FRAME ERR", "0               0              0              0        -             -"}, nil},
		{"errors", bad, badFlows, false,
			[]string{"IPV4 CKSUM ERR  TCP CKSUM ERR  UDP CKSUM ERR  FCS ERR  PRBS BIT ERR  PRBS FRAME ERR", "3               0              1,234          0        7             2"}, nil},
	} {
		_, url := newFakeAPI(t, map[string]reply{
			"GET /packet/analyzer-results": {200, "[" + tc.results + "]"},
			"GET /packet/rx-flows":         {200, tc.flows},
		})
		for _, noun := range []string{"analyzer-results", "rx-flows"} {
			args := []string{"--server", url, noun, "list"}
			if tc.wide {
				args = append(args, "--wide")
			}
			out, errOut, code := opctl(t, nil, args...)
			if code != 0 {
				t.Fatalf("%s %s: code %d, stderr %q", tc.name, noun, code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s %s: output lacks %q:\n%s", tc.name, noun, w, out)
				}
			}
			for _, w := range tc.lacks {
				if strings.Contains(out, w) {
					t.Errorf("%s %s: output has %q:\n%s", tc.name, noun, w, out)
				}
			}
		}
	}
}
