package aat

import (
	"fmt"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/signature/spirent"
)

// On the test-mode pair with a fixed 1 Gbps link, a generator sends 64
// frames of 128 bytes as fast as it can (one or two transmit bursts): the
// frames carry valid Spirent signatures (decoded from a capture) whose tx
// timestamps inside a burst step by a frame's wire time, (128 - 4 + 24)
// bytes at 8 ns, not 0; the analyzer's inter-arrival inside a receive
// burst is that wire time too.
func TestTimestampsSpreadOverABurstAtLinkSpeed(t *testing.T) {
	d := startDaemon(t, testMode)
	for _, p := range []string{"0", "1"} {
		d.expect("PUT", "/ports/"+p, map[string]any{"kind": "dpdk", "config": map[string]any{"dpdk": map[string]any{
			"link": map[string]any{"auto_negotiation": false, "speed": 1000, "duplex": "full"}}}}, 200)
	}
	const frames, length = 64, 128
	const wire = (length - 4 + 24) * 8 // ns
	createAnalyzer(t, d, "ts", "1", map[string]any{
		"protocol_counters": []string{},
		"flow_counters":     []string{"frame_count", "interarrival_time", "latency", "advanced_sequencing", "prbs"},
		"flow_digests":      []string{"interarrival_time"},
	})
	d.expect("POST", "/packet/analyzers/ts/start", nil, 201)
	d.expect("POST", "/packet/captures", map[string]any{"id": "tscap", "source_id": "1",
		"config": map[string]any{"mode": "buffer", "buffer_size": 1 << 20}}, 201)
	var cr gen.PacketCaptureResult
	mustJSON(t, d.expect("POST", "/packet/captures/tscap/start", nil, 201), &cr)

	def := udpDef(map[string]any{"fixed": length}, "", nil, nil)
	def["signature"] = map[string]any{"stream_id": 5, "latency": "start_of_frame", "fill": map[string]any{"prbs": true}}
	cfg := genConfig(map[string]any{"frames": frames}, 1_000_000_000, def)
	cfg["load"].(map[string]any)["burst_size"] = 64
	runToCompletion(t, d, createGenerator(t, d, "0", cfg))

	var flows []gen.RxFlow
	eventually(t, "analyzer counts the burst", func() (bool, string) {
		d.get("/packet/rx-flows?analyzer_id=ts", &flows)
		return len(flows) == 1 && flows[0].Counters.FrameCount == frames, fmt.Sprintf("%+v", flows)
	})
	c := flows[0].Counters
	if s := c.Sequence; s == nil || s.InOrder != frames {
		t.Errorf("sequence %+v, want %d in order", s, frames)
	}
	if p := c.Prbs; p == nil || p.BitErrors != 0 || p.Octets == 0 {
		t.Errorf("prbs %+v, want octets checked and no bit errors", p)
	}
	// Most gaps are inside a receive burst: the median is the wire time
	// (the digest is within 1%).
	dg := flows[0].Digests.Interarrival
	if dg == nil || dg.Percentiles == nil || dg.Percentiles.P50 < wire*98/100 || dg.Percentiles.P50 > wire*102/100 {
		t.Errorf("inter-arrival digest %+v, want a median of %d ns", dg, wire)
	}
	if ia := c.Interarrival; ia == nil || ia.Summary.Max == nil || *ia.Summary.Max == 0 {
		t.Errorf("inter-arrival %+v, want > 0", ia)
	}
	if l := c.Latency; l != nil && l.Summary.Min != nil {
		t.Logf("latency min %d max %d ns (a burst's wire time is %d ns)", *l.Summary.Min, *l.Summary.Max, frames*wire)
	}

	eventually(t, "capture holds the burst", func() (bool, string) {
		d.get("/packet/capture-results/"+cr.Id, &cr)
		return cr.Packets == frames, fmt.Sprintf("%+v", cr)
	})
	d.expect("POST", "/packet/captures/tscap/stop", nil, 204)
	_, r := capturePcap(t, d, cr.Id)
	var prev spirent.Signature
	steps := 0 // consecutive frames whose tx timestamps are one wire time apart
	for i := 0; ; i++ {
		data, _, err := r.ReadPacketData()
		if err != nil {
			if i != frames {
				t.Fatalf("pcap holds %d frames, want %d", i, frames)
			}
			break
		}
		sig, ok := spirent.FromFrame(data)
		if !ok || sig.StreamID != 5 || sig.Sequence != uint32(i) || !sig.PRBS() || sig.EndOfFrame() {
			t.Fatalf("frame %d: signature %+v (ok %v), want stream 5 sequence %d, PRBS, start of frame", i, sig, ok, i)
		}
		if e := spirent.PRBS23BitErrors(data[42:len(data)-spirent.Len], 42); e != 0 {
			t.Errorf("frame %d: %d PRBS-23 bit errors", i, e)
		}
		// wire ns is wire*2/5 ticks; truncation makes it 473 or 474.
		if i > 0 {
			if dt := spirent.DeltaTicks(sig.Timestamp, prev.Timestamp); dt == wire*2/5 || dt == wire*2/5+1 {
				steps++
			}
		}
		prev = sig
	}
	// One transmit burst of 64, or a first frame alone and then 63.
	if steps < frames-2 {
		t.Errorf("%d of %d consecutive tx timestamps one wire time (%d ns) apart, want at least %d", steps, frames-1, wire, frames-2)
	}
}
