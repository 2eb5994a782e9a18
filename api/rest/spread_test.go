package rest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// With two workers (two tx queues per port) one generator runs on both,
// each taking half of the flows, and the result still adds up exactly.
func TestOneGeneratorSpreadsOverTheWorkers(t *testing.T) {
	h, w := newTestServerWith(t, 2, 8192)
	if n := w.TxQueues("0"); n != 2 {
		t.Fatalf("TxQueues = %d, want 2", n)
	}
	if rec := do(h, "POST", "/packet/generators", genBody(t, map[string]any{"config.duration.frames": 1001})); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	before := w.Stats()
	rec := do(h, "POST", "/packet/generators/g/start", "")
	if rec.Code != 201 {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	var r gen.PacketGeneratorResult
	mustDecode(t, rec, &r)
	deadline := time.Now().Add(5 * time.Second)
	for r.Active && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		mustDecode(t, do(h, "GET", "/packet/generator-results/"+r.Id, ""), &r)
	}
	if r.Active || r.FlowCounters.PacketsActual != 1001 || r.FlowCounters.OctetsActual != 1001*128 {
		t.Fatalf("result %+v; want 1001 packets, 128 octets each", r.FlowCounters)
	}
	// Each worker sent its half (a shard can end before a look at the
	// workers' sources would see it, so count what they sent).
	for i, ws := range w.Stats() {
		if sent := ws.TxPackets - before[i].TxPackets; sent != 500 && sent != 501 {
			t.Errorf("worker %d sent %d packets, want 500 or 501", i, sent)
		}
	}
	var flows []gen.TxFlow
	if err := json.Unmarshal(do(h, "GET", "/packet/tx-flows", "").Body.Bytes(), &flows); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for i, f := range flows {
		sum += f.Counters.PacketsActual
		if *f.StreamId != int64(7+i) || f.Counters.PacketsActual < 83 || f.Counters.PacketsActual > 84 {
			t.Errorf("flow %d: stream %d, %d packets; want stream %d and 83 or 84", i, *f.StreamId, f.Counters.PacketsActual, 7+i)
		}
	}
	if len(flows) != 12 || sum != 1001 {
		t.Fatalf("%d flows with %d packets; want 12 and 1001", len(flows), sum)
	}
}
