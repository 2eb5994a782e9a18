package aat

import (
	"fmt"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// overload is a generator asking port 0 for far more than it can take.
func overload(id string) map[string]any {
	return map[string]any{"id": id, "target_id": "0", "config": map[string]any{
		"duration": map[string]any{"time": map[string]any{"value": 1, "units": "seconds"}},
		"load":     map[string]any{"burst_size": 32, "rate": map[string]any{"period": "second", "value": 500000000}, "units": "frames"},
		"traffic": []any{map[string]any{
			"packet": map[string]any{"protocols": []any{
				map[string]any{"ethernet": map[string]any{"source": "02:00:00:00:00:01", "destination": "02:00:00:00:00:02"}},
				map[string]any{"ipv4": map[string]any{"source": "198.18.0.1", "destination": "198.18.0.2"}},
				map[string]any{"udp": map[string]any{}},
			}},
			"length": map[string]any{"fixed": 64},
		}},
	}}
}

func finishedResult(t *testing.T, d *daemon, id string) gen.PacketGeneratorResult {
	t.Helper()
	var r gen.PacketGeneratorResult
	eventually(t, "result "+id+" finishes", func() (bool, string) {
		d.get("/packet/generator-results/"+id, &r)
		return !r.Active, fmt.Sprintf("%+v", r.FlowCounters)
	})
	return r
}

// A rate above what the port takes is reported as intended vs actual (and
// dropped, with drop-tx-overruns), never as if it had been sent.
func TestOverloadIsReportedNotHidden(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("drop-tx-overruns=%v", drop), func(t *testing.T) {
			args := []string{testMode}
			if drop {
				args = append(args, "--modules.packetio.dpdk.drop-tx-overruns")
			}
			d := startDaemon(t, args...)
			d.expect("POST", "/packet/generators", overload("over"), 201)
			before := portStats(t, d, "1").RxPackets
			var r gen.PacketGeneratorResult
			mustJSON(t, d.expect("POST", "/packet/generators/over/start", nil, 201), &r)
			time.Sleep(time.Second)
			r = finishedResult(t, d, r.Id)
			c := r.FlowCounters
			dropped := *c.PacketsDropped
			t.Logf("intended %d actual %d dropped %d", c.PacketsIntended, c.PacketsActual, dropped)
			if c.PacketsIntended < 450_000_000 || c.PacketsActual >= c.PacketsIntended || c.PacketsActual == 0 {
				t.Fatalf("counters %+v: want ~500M intended and fewer actually sent", c)
			}
			// The ring pair never refuses for long (the same worker drains
			// port 1), so drops need not happen even with the option on;
			// without it there must be none.
			if !drop && dropped != 0 {
				t.Fatalf("dropped %d without drop-tx-overruns", dropped)
			}
			if c.PacketsActual+dropped > c.PacketsIntended {
				t.Fatalf("actual %d + dropped %d exceed intended %d", c.PacketsActual, dropped, c.PacketsIntended)
			}
			eventually(t, "port 1 receives exactly what was sent", func() (bool, string) {
				got := portStats(t, d, "1").RxPackets - before
				return got == c.PacketsActual, fmt.Sprintf("port 1 got %d, result says %d", got, c.PacketsActual)
			})
		})
	}
}
