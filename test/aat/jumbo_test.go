package aat

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

// jumboMax is the longest frame, FCS included, the daemon sends.
const jumboMax = 9216

// Generator of 9216-byte frames with signatures on port 0, analyzer and
// capture on port 1 of the ring pair: every frame is counted, its
// signature read at the end of the frame (sequence, latency, PRBS fill)
// and the capture holds it whole.
func TestJumboFramesReachTheAnalyzerAndTheCaptureWhole(t *testing.T) {
	d := startDaemon(t, testMode)
	createAnalyzer(t, d, "an", "1", map[string]any{
		"protocol_counters": []string{"ethernet", "ip", "transport"},
		"flow_counters":     []string{"frame_count", "frame_length", "latency", "advanced_sequencing", "prbs"},
	})
	var ar gen.PacketAnalyzerResult
	mustJSON(t, d.expect("POST", "/packet/analyzers/an/start", nil, 201), &ar)
	// 8 MiB holds ~900 jumbo frames; without wrap the capture stops when full.
	d.expect("POST", "/packet/captures", map[string]any{"id": "cap", "source_id": "1",
		"config": map[string]any{"mode": "buffer", "buffer_size": 8 << 20}}, 201)
	var cr gen.PacketCaptureResult
	mustJSON(t, d.expect("POST", "/packet/captures/cap/start", nil, 201), &cr)

	const frames = 2000
	def := udpDef(map[string]any{"fixed": jumboMax}, "", nil, nil)
	def["signature"] = map[string]any{"stream_id": 7, "latency": "start_of_frame", "fill": map[string]any{"prbs": true}}
	gr := runToCompletion(t, d, createGenerator(t, d, "0", genConfig(map[string]any{"frames": frames}, 20000, def)))
	if gr.FlowCounters.PacketsActual != frames {
		t.Fatalf("generator sent %d jumbo frames, want %d", gr.FlowCounters.PacketsActual, frames)
	}
	if want := int64(frames * jumboMax); gr.FlowCounters.OctetsActual != want {
		t.Errorf("generator sent %d octets, want %d", gr.FlowCounters.OctetsActual, want)
	}
	eventually(t, "analyzer counts every jumbo frame", func() (bool, string) {
		ar = analyzerResult(t, d, ar.Id)
		return ar.FlowCounters.FrameCount == frames, fmt.Sprintf("%d frames", ar.FlowCounters.FrameCount)
	})
	d.expect("POST", "/packet/analyzers/an/stop", nil, 204)
	ar = analyzerResult(t, d, ar.Id)
	if pc := ar.ProtocolCounters; pc.Transport == nil || pc.Transport.Udp != frames {
		t.Errorf("protocol counters %+v; want %d UDP", pc.Transport, frames)
	}
	var flows []gen.RxFlow
	d.get("/packet/rx-flows?analyzer_id=an", &flows)
	if len(flows) != 1 {
		t.Fatalf("%d rx flows, want 1", len(flows))
	}
	f := flows[0]
	c := f.Counters
	if f.XStreamId == nil || *f.XStreamId != 7 || c.FrameCount != frames {
		t.Errorf("flow: stream %v, %d frames; want stream 7 (signature read), %d frames", f.XStreamId, c.FrameCount, frames)
	}
	if fl := c.FrameLength; fl == nil || *fl.Summary.Min != jumboMax || *fl.Summary.Max != jumboMax {
		t.Errorf("frame length %+v; want %d octets", fl, jumboMax)
	}
	if l := c.Latency; l == nil || *l.Summary.Min <= 0 || *l.Summary.Max >= 1_000_000_000 {
		t.Errorf("latency %+v; want 0 < latency < 1 s", l)
	}
	if s := c.Sequence; s == nil || s.InOrder != frames {
		t.Errorf("sequence %+v; want %d in order", s, frames)
	}
	if p := c.Prbs; p == nil || p.BitErrors != 0 || p.FrameErrors != nil && *p.FrameErrors != 0 || p.Octets < frames*8000 {
		t.Errorf("prbs %+v; want the jumbo payloads checked, without errors", p)
	}

	eventually(t, "capture holds jumbo frames", func() (bool, string) {
		d.get("/packet/capture-results/"+cr.Id, &cr)
		return cr.Packets > 0 && cr.State == "stopped", fmt.Sprintf("%+v", cr)
	})
	_, r := capturePcap(t, d, cr.Id)
	n := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if len(data) != jumboMax-4 || ci.CaptureLength != jumboMax-4 || ci.Length != jumboMax-4 {
			t.Fatalf("captured frame %d: %d bytes (captured %d of %d); want %d, whole", n, len(data), ci.CaptureLength, ci.Length, jumboMax-4)
		}
		n++
	}
	if n == 0 || int64(n) != cr.Packets {
		t.Errorf("pcap holds %d frames, result says %d", n, cr.Packets)
	}
}

// Lists and sequences of lengths cross 2 KiB: every length arrives as
// sent, the short ones through the same jumbo buffers.
func TestJumboListAndSequenceLengths(t *testing.T) {
	d := startDaemon(t, testMode)
	createAnalyzer(t, d, "an", "1", map[string]any{
		"protocol_counters": []string{"ethernet"},
		"flow_counters":     []string{"frame_count", "frame_length", "latency"},
	})
	var ar gen.PacketAnalyzerResult
	mustJSON(t, d.expect("POST", "/packet/analyzers/an/start", nil, 201), &ar)
	list := udpDef(map[string]any{"list": []int{64, 1518, 2053, 4096, jumboMax}}, "", nil, nil)
	list["signature"] = map[string]any{"stream_id": 1, "latency": "start_of_frame"}
	// Step 1 up to the limit.
	seq := udpDef(map[string]any{"sequence": map[string]any{"start": jumboMax - 4, "count": 5}}, "", nil, nil)
	seq["signature"] = map[string]any{"stream_id": 2, "latency": "start_of_frame"}
	gr := runToCompletion(t, d, createGenerator(t, d, "0", genConfig(map[string]any{"frames": 1000}, 20000, list, seq)))
	if gr.FlowCounters.PacketsActual != 1000 {
		t.Fatalf("generator sent %d frames, want 1000", gr.FlowCounters.PacketsActual)
	}
	eventually(t, "analyzer counts every frame", func() (bool, string) {
		ar = analyzerResult(t, d, ar.Id)
		return ar.FlowCounters.FrameCount == 1000, fmt.Sprintf("%d frames", ar.FlowCounters.FrameCount)
	})
	var flows []gen.RxFlow
	d.get("/packet/rx-flows?analyzer_id=an", &flows)
	want := map[int64][2]int64{1: {64, jumboMax}, 2: {jumboMax - 4, jumboMax}}
	if len(flows) != 2 {
		t.Fatalf("%d rx flows, want 2", len(flows))
	}
	for _, f := range flows {
		if f.XStreamId == nil {
			t.Fatalf("flow without a stream id: %+v", f)
		}
		w := want[*f.XStreamId]
		fl := f.Counters.FrameLength
		if fl == nil || *fl.Summary.Min != w[0] || *fl.Summary.Max != w[1] {
			t.Errorf("stream %d frame length %+v; want %d..%d", *f.XStreamId, fl, w[0], w[1])
		}
		if l := f.Counters.Latency; l == nil || *l.Summary.Min <= 0 {
			t.Errorf("stream %d latency %+v; want positive", *f.XStreamId, l)
		}
	}
}

// 9216 bytes is the limit: one more is a 400 that names the field, the
// length and the limit.
func TestJumboLengthLimit(t *testing.T) {
	d := startDaemon(t, testMode)
	createGenerator(t, d, "0", genConfig(map[string]any{"frames": 1}, 1000, udpDef(map[string]any{"fixed": jumboMax}, "", nil, nil)))
	for name, length := range map[string]map[string]any{
		"fixed":    {"fixed": jumboMax + 1},
		"list":     {"list": []int{64, jumboMax + 1}},
		"sequence": {"sequence": map[string]any{"start": jumboMax - 1, "count": 3}},
	} {
		body := d.expect("POST", "/packet/generators", map[string]any{"target_id": "0",
			"config": genConfig(map[string]any{"frames": 1}, 1000, udpDef(length, "", nil, nil))}, 400)
		msg := string(body)
		if !strings.Contains(msg, "9217") || !strings.Contains(msg, "9216") || !strings.Contains(msg, "length") {
			t.Errorf("%s length 9217: %s; want the length, the 9216 limit and the field named", name, msg)
		}
	}
}

// Without a jumbo pool frames stop at what a 2 KiB buffer holds.
func TestNoJumboPoolKeepsThe2KiBLimit(t *testing.T) {
	d := startDaemon(t, testMode, "--modules.packetio.dpdk.jumbo-buffers=0")
	createGenerator(t, d, "0", genConfig(map[string]any{"frames": 1}, 1000, udpDef(map[string]any{"fixed": 2052}, "", nil, nil)))
	body := d.expect("POST", "/packet/generators", map[string]any{"target_id": "0",
		"config": genConfig(map[string]any{"frames": 1}, 1000, udpDef(map[string]any{"fixed": 2053}, "", nil, nil))}, 400)
	if !strings.Contains(string(body), "2052") {
		t.Errorf("2053 without jumbo buffers: %s; want the 2052 limit named", body)
	}
}

// The test-frames endpoint sends frames up to 9216 bytes (without FCS,
// its own counting) from the jumbo pool; a capture holds them whole.
func TestJumboTestFramesAreCapturedWhole(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/packet/captures", map[string]any{"id": "cap", "source_id": "1",
		"config": map[string]any{"mode": "buffer", "buffer_size": 4 << 20}}, 201)
	var cr gen.PacketCaptureResult
	mustJSON(t, d.expect("POST", "/packet/captures/cap/start", nil, 201), &cr)
	const n = 50
	d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": n, "length": jumboMax}, 202)
	eventually(t, "capture holds the test frames", func() (bool, string) {
		d.get("/packet/capture-results/"+cr.Id, &cr)
		return cr.Packets == n, fmt.Sprintf("%+v", cr)
	})
	d.expect("POST", "/packet/captures/cap/stop", nil, 204)
	_, r := capturePcap(t, d, cr.Id)
	k := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if len(data) != jumboMax || ci.Length != jumboMax {
			t.Fatalf("captured test frame %d: %d of %d bytes, want %d whole", k, len(data), ci.Length, jumboMax)
		}
		k++
	}
	if k != n {
		t.Errorf("pcap holds %d frames, want %d", k, n)
	}
	body := d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": 1, "length": jumboMax + 1}, 400)
	if !strings.Contains(string(body), "length") || !strings.Contains(string(body), "9216") {
		t.Errorf("test frames of 9217 bytes: %s; want the field and the limit named", body)
	}
}
