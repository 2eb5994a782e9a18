package dpdk

import (
	"testing"

	"github.com/openperfd/openperfd/packetio"
)

// A ring port's extended counters follow what it sends: ethdev derives
// the generic ones (tx_good_packets, per-queue tx_q0_packets) from the
// driver's stats.
func TestRingPortXStatsCountWhatItSends(t *testing.T) {
	from, to := portAt(t, ringPortA), portAt(t, ringPortB)
	x0, err := from.(packetio.XStatsReader).XStats()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tx_good_packets", "rx_good_packets", "tx_q0_packets"} {
		if _, ok := x0[name]; !ok {
			t.Errorf("xstats have no %s: %v", name, x0)
		}
	}
	sendBurst(t, from, 10, 64)
	rx := testDrv.NewBurst()
	defer rx.Free()
	got := to.RxBurst(0, rx.Pkts, 0)
	testDrv.Pool().Free(rx.Pkts[:got])

	x1, err := from.(packetio.XStatsReader).XStats()
	if err != nil {
		t.Fatal(err)
	}
	if d := x1["tx_good_packets"] - x0["tx_good_packets"]; d != 10 {
		t.Errorf("tx_good_packets went up by %d, want 10", d)
	}
}
