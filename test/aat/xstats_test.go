package aat

import (
	"fmt"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

// Ports show the driver's extended counters (x_xstats, DPDK xstats by
// name) and the tx refusal counters, in GET /ports and /ports/{id}: on
// net_ring test ports the generic xstats follow the frames sent.
func TestPortsShowExtendedStats(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": 300, "length": 64}, 202)
	eventually(t, "port 1's xstats count 300 frames in", func() (bool, string) {
		s := portStats(t, d, "1")
		if s.XXstats == nil {
			return false, "no x_xstats"
		}
		return (*s.XXstats)["rx_good_packets"] == 300, fmt.Sprintf("%v", *s.XXstats)
	})
	tx := portStats(t, d, "0")
	if tx.XXstats == nil || (*tx.XXstats)["tx_good_packets"] != 300 || (*tx.XXstats)["tx_q0_packets"] != 300 {
		t.Errorf("port 0 x_xstats %v; want tx_good_packets and tx_q0_packets 300", tx.XXstats)
	}
	if tx.XTxBackpressure == nil || tx.XTxOverrunDrops == nil {
		t.Errorf("port 0 stats without x_tx_backpressure or x_tx_overrun_drops: %+v", tx)
	}
	var ports []gen.Port
	d.get("/ports", &ports)
	for _, p := range ports {
		if p.Stats == nil || p.Stats.XXstats == nil || len(*p.Stats.XXstats) == 0 {
			t.Errorf("GET /ports: port %s has no x_xstats", *p.Id)
		}
	}
}
