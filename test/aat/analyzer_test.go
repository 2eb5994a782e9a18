package aat

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

func createAnalyzer(t *testing.T, d *daemon, id, source string, cfg map[string]any) {
	t.Helper()
	d.expect("POST", "/packet/analyzers", map[string]any{"id": id, "source_id": source, "config": cfg}, 201)
}

func analyzerResult(t *testing.T, d *daemon, id string) gen.PacketAnalyzerResult {
	t.Helper()
	var r gen.PacketAnalyzerResult
	d.get("/packet/analyzer-results/"+id, &r)
	return r
}

// Generator on port 0, analyzer on port 1 of the ring pair: what one sends
// the other counts, flow by flow, with latency from the signatures.
func TestAnalyzerCountsWhatTheGeneratorSends(t *testing.T) {
	d := startDaemon(t, testMode)
	createAnalyzer(t, d, "an", "1", map[string]any{
		"protocol_counters": []string{"ethernet", "ip", "transport"},
		"flow_counters": []string{"frame_count", "frame_length", "interarrival_time", "latency", "jitter_ipdv",
			"jitter_rfc", "advanced_sequencing", "prbs"},
		"flow_digests": []string{"latency", "jitter_ipdv"},
	})
	var ar gen.PacketAnalyzerResult
	mustJSON(t, d.expect("POST", "/packet/analyzers/an/start", nil, 201), &ar)

	def := udpDef(map[string]any{"fixed": 128}, "", []map[string]any{
		{"name": "source", "permute": false, "ipv4": map[string]any{"sequence": map[string]any{"count": 4, "start": "198.18.0.1"}}}}, nil)
	def["signature"] = map[string]any{"stream_id": 100, "latency": "start_of_frame", "fill": map[string]any{"prbs": true}}
	g := createGenerator(t, d, "0", genConfig(map[string]any{"frames": 20000}, 200000, def))
	gr := runToCompletion(t, d, g)
	if gr.FlowCounters.PacketsActual != 20000 {
		t.Fatalf("generator sent %d", gr.FlowCounters.PacketsActual)
	}
	eventually(t, "analyzer counts 20000 frames", func() (bool, string) {
		ar = analyzerResult(t, d, ar.Id)
		return ar.FlowCounters.FrameCount == 20000, fmt.Sprintf("%d frames", ar.FlowCounters.FrameCount)
	})
	d.expect("POST", "/packet/analyzers/an/stop", nil, 204)
	ar = analyzerResult(t, d, ar.Id)
	if ar.Active {
		t.Error("result active after stop")
	}
	pc := ar.ProtocolCounters
	if pc.Ethernet == nil || pc.Ethernet.Ip != 20000 || pc.Ip.Ipv4 != 20000 || pc.Transport.Udp != 20000 {
		t.Errorf("protocol counters %+v %+v %+v; want 20000 ip/ipv4/udp", pc.Ethernet, pc.Ip, pc.Transport)
	}
	var flows []gen.RxFlow
	d.get("/packet/rx-flows?analyzer_id=an", &flows)
	if len(flows) != 4 {
		t.Fatalf("%d rx flows, want 4", len(flows))
	}
	for i, f := range flows {
		c := f.Counters
		if f.XStreamId == nil || *f.XStreamId != int64(100+i) || c.FrameCount != 5000 {
			t.Errorf("flow %d: stream %v, %d frames; want stream %d, 5000 frames", i, f.XStreamId, c.FrameCount, 100+i)
		}
		if s := c.Sequence; s == nil || s.InOrder != 5000 || s.Dropped+s.Duplicate+s.Late+s.Reordered != 0 {
			t.Errorf("flow %d sequence %+v; want 5000 in order, nothing else", i, s)
		}
		// Latency is positive and plausible: the median under 10 ms (the
		// maximum can take a scheduling hiccup of a shared machine).
		if l := c.Latency; l == nil || *l.Summary.Min <= 0 || *l.Summary.Max >= 1_000_000_000 {
			t.Errorf("flow %d latency %+v; want 0 < latency < 1 s", i, l)
		}
		if dg := f.Digests.Latency; dg == nil || dg.Percentiles == nil || dg.Percentiles.P50 >= 10_000_000 {
			t.Errorf("flow %d latency digest %+v; want a median under 10 ms", i, dg)
		}
		if fl := c.FrameLength; fl == nil || *fl.Summary.Min != 128 || *fl.Summary.Max != 128 {
			t.Errorf("flow %d frame length %+v; want 128 octets (FCS included, as generated)", i, fl)
		}
		if p := c.Prbs; p == nil || p.BitErrors != 0 || p.Octets == 0 {
			t.Errorf("flow %d prbs %+v; want octets checked and no errors", i, p)
		}
		if c.Errors.Ipv4Checksum+c.Errors.UdpChecksum != 0 {
			t.Errorf("flow %d checksum errors %+v", i, c.Errors)
		}
		if dg := f.Digests.Latency; dg == nil || dg.Percentiles == nil || dg.Percentiles.P50 <= 0 ||
			dg.Percentiles.P50 > dg.Percentiles.P999 || len(dg.Centroids) == 0 {
			t.Errorf("flow %d latency digest %+v", i, dg)
		}
		var one gen.RxFlow
		d.get("/packet/rx-flows/"+f.Id, &one)
		if one.Counters.FrameCount != c.FrameCount {
			t.Errorf("GET rx-flow %s: %d frames, list says %d", f.Id, one.Counters.FrameCount, c.FrameCount)
		}
	}
	// Reset makes a new, empty result; the old one keeps its counts.
	mustJSON(t, d.expect("POST", "/packet/analyzers/an/start", nil, 201), &ar)
	var ar2 gen.PacketAnalyzerResult
	mustJSON(t, d.expect("POST", "/packet/analyzers/an/reset", nil, 201), &ar2)
	if ar2.Id == ar.Id || ar2.FlowCounters.FrameCount != 0 {
		t.Fatalf("reset gave %+v", ar2)
	}
	d.expect("DELETE", "/packet/analyzers/an", nil, 400)
	d.expect("POST", "/packet/analyzers/x/bulk-stop", map[string]any{"ids": []string{"an"}}, 204)
	d.expect("DELETE", "/packet/analyzers/an", nil, 204)
	d.expect("GET", "/packet/analyzer-results/"+ar.Id, nil, 404)
}

// A deliberate, exactly known loss: one signature stream alternates 64-
// and 128-byte frames, and the analyzer's filter keeps only the short
// ones, so every other sequence number never arrives.
func TestAnalyzerReportsExactlyTheFramesThatNeverArrived(t *testing.T) {
	d := startDaemon(t, testMode)
	createAnalyzer(t, d, "half", "1", map[string]any{
		"filter":            "len < 100",
		"protocol_counters": []string{},
		"flow_counters":     []string{"frame_count", "advanced_sequencing"},
	})
	d.expect("POST", "/packet/analyzers/half/start", nil, 201)
	def := udpDef(map[string]any{"list": []int{64, 128}}, "", nil, nil)
	def["signature"] = map[string]any{"stream_id": 9, "latency": "end_of_frame"}
	runToCompletion(t, d, createGenerator(t, d, "0", genConfig(map[string]any{"frames": 2000}, 100000, def)))
	var flows []gen.RxFlow
	eventually(t, "analyzer counts the 1000 short frames", func() (bool, string) {
		d.get("/packet/rx-flows?analyzer_id=half", &flows)
		return len(flows) == 1 && flows[0].Counters.FrameCount == 1000, fmt.Sprintf("%+v", flows)
	})
	s := flows[0].Counters.Sequence
	// Sequence numbers 0, 2, ..., 1998 arrive: 999 gaps of one frame (the
	// last odd one, 1999, has no successor to reveal it).
	if s.Dropped != 999 || s.InOrder != 1000 || s.Duplicate != 0 || s.Reordered != 0 || s.Late != 0 {
		t.Fatalf("sequence %+v; want 999 dropped, 1000 in order, nothing else", *s)
	}
}

func TestAnalyzerValidation(t *testing.T) {
	d := startDaemon(t, testMode)
	for _, tc := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"source_id": "nope", "config": map[string]any{"protocol_counters": []string{}, "flow_counters": []string{"frame_count"}}}, "source_id"},
		{map[string]any{"source_id": "1", "config": map[string]any{"filter": "udp port", "protocol_counters": []string{}, "flow_counters": []string{"frame_count"}}}, "config.filter"},
		{map[string]any{"source_id": "1", "config": map[string]any{"protocol_counters": []string{"tunnel", "bogus"}, "flow_counters": []string{"frame_count"}}}, "config.protocol_counters"},
	} {
		code, out := d.call("POST", "/packet/analyzers", tc.body)
		if code != 400 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: %d %s; want 400 naming %s", tc.body, code, out, tc.want)
		}
	}
}

// Who verifies checksums: by default the port (as OpenPerf), and the
// test-mode ring ports verify none, so the result says that nobody
// verified the frames' IPv4 and UDP checksums rather than showing a
// silent 0 errors; with x_checksums software the analyzer sums them and
// says so. The config shows the mode in use.
func TestAnalyzerSaysWhoVerifiedChecksums(t *testing.T) {
	d := startDaemon(t, testMode)
	createAnalyzer(t, d, "port", "1", map[string]any{"flow_counters": []string{"frame_count"}})
	createAnalyzer(t, d, "sw", "1", map[string]any{"flow_counters": []string{"frame_count"}, "x_checksums": "software"})
	d.expect("POST", "/packet/analyzers", map[string]any{"id": "bad", "source_id": "1",
		"config": map[string]any{"x_checksums": "hardware"}}, 400)
	var cfg gen.PacketAnalyzer
	d.get("/packet/analyzers/port", &cfg)
	if c := cfg.Config.XChecksums; c == nil || *c != "port" {
		t.Errorf("default x_checksums %v, want port", c)
	}
	results := map[string]string{}
	for _, id := range []string{"port", "sw"} {
		var ar gen.PacketAnalyzerResult
		mustJSON(t, d.expect("POST", "/packet/analyzers/"+id+"/start", nil, 201), &ar)
		results[id] = ar.Id
	}
	def := udpDef(map[string]any{"fixed": 128}, "", nil, nil)
	def["signature"] = map[string]any{"stream_id": 7, "latency": "start_of_frame"}
	g := createGenerator(t, d, "0", genConfig(map[string]any{"frames": 1000}, 100000, def))
	runToCompletion(t, d, g)
	for id, want := range map[string]gen.PacketAnalyzerChecksums{
		"port": {Mode: "port", Ipv4: gen.PacketAnalyzerChecksumsVerified{None: 1000}, Udp: gen.PacketAnalyzerChecksumsVerified{None: 1000}},
		"sw":   {Mode: "software", Ipv4: gen.PacketAnalyzerChecksumsVerified{Software: 1000}, Udp: gen.PacketAnalyzerChecksumsVerified{Software: 1000}},
	} {
		var ar gen.PacketAnalyzerResult
		eventually(t, id+" counts 1000 frames", func() (bool, string) {
			ar = analyzerResult(t, d, results[id])
			return ar.FlowCounters.FrameCount == 1000, fmt.Sprintf("%d frames", ar.FlowCounters.FrameCount)
		})
		if ar.XChecksums == nil || *ar.XChecksums != want {
			t.Errorf("analyzer %s: x_checksums %+v, want %+v", id, ar.XChecksums, want)
		}
		if e := ar.FlowCounters.Errors; e.Ipv4Checksum+e.UdpChecksum != 0 {
			t.Errorf("analyzer %s: checksum errors %+v", id, e)
		}
	}
}
