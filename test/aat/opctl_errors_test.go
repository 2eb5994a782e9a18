package aat

import (
	"strings"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

// TestOpctlListsShowChecksumErrors sends UDP frames with a wrong checksum
// from port 0 to an analyzer on port 1 that verifies checksums in
// software: opctl's analyzer-results and rx-flows lists grow the error
// columns, with the JSON's figures; --wide adds the PRBS ones too.
func TestOpctlListsShowChecksumErrors(t *testing.T) {
	bin := opctlBuild(t)
	d := startDaemon(t, testMode)
	createAnalyzer(t, d, "an", "1", map[string]any{
		"protocol_counters": []string{"ethernet", "ip", "transport"},
		"flow_counters":     []string{"frame_count"},
		"x_checksums":       "software",
	})
	var ar gen.PacketAnalyzerResult
	mustJSON(t, d.expect("POST", "/packet/analyzers/an/start", nil, 201), &ar)
	def := udpDef(map[string]any{"fixed": 128}, "", nil, nil)
	def["packet"].(map[string]any)["protocols"].([]map[string]any)[2]["udp"] = map[string]any{"checksum": 1234}
	g := createGenerator(t, d, "0", genConfig(map[string]any{"frames": 1000}, 100000, def))
	d.expect("POST", "/packet/generators/"+g+"/start", nil, 201)
	eventually(t, "the analyzer counts 1000 frames", func() (bool, string) {
		n := analyzerResult(t, d, ar.Id).FlowCounters.FrameCount
		return n == 1000, commas(n)
	})
	res := analyzerResult(t, d, ar.Id)
	if e := res.FlowCounters.Errors; e.UdpChecksum == 0 {
		t.Fatalf("the analyzer counts no UDP checksum errors: %+v", e)
	}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := opctlRun(t, bin, append([]string{"--server", d.base}, args...)...)
		if code != 0 {
			t.Fatalf("opctl %v: exit %d\n%s%s", args, code, errOut, out)
		}
		return out
	}
	same := func(what string, row map[string]string, c gen.PacketAnalyzerFlowCounters) {
		t.Helper()
		e := c.Errors
		for col, want := range map[string]int64{"IPV4 CKSUM ERR": e.Ipv4Checksum, "TCP CKSUM ERR": e.TcpChecksum,
			"UDP CKSUM ERR": e.UdpChecksum, "FCS ERR": e.Fcs} {
			if got, ok := row[col]; !ok || num(t, got) != float64(want) {
				t.Errorf("%s: %s printed %q, the JSON has %d", what, col, got, want)
			}
		}
	}
	out := run("analyzer-results", "list", "--analyzer", "an")
	if strings.Contains(out, "PRBS") {
		t.Errorf("PRBS columns without PRBS errors:\n%s", out)
	}
	same("analyzer-results list", parseTable(t, out).by(t, "ID", ar.Id), res.FlowCounters)

	var flows []gen.RxFlow
	d.get("/packet/rx-flows?analyzer_id=an", &flows)
	tb := parseTable(t, run("rx-flows", "list", "--analyzer", "an"))
	if len(tb) != len(flows) || len(flows) == 0 {
		t.Fatalf("rx-flows list has %d rows, the JSON %d flows", len(tb), len(flows))
	}
	for i, f := range flows {
		same("rx-flows list "+f.Id, tb[i], f.Counters)
	}

	wide := parseTable(t, run("analyzer-results", "list", "--analyzer", "an", "--wide")).by(t, "ID", ar.Id)
	if wide["PRBS BIT ERR"] != "-" || wide["PRBS FRAME ERR"] != "-" {
		t.Errorf("--wide: PRBS cells %q %q, want - (no PRBS check)", wide["PRBS BIT ERR"], wide["PRBS FRAME ERR"])
	}
}
