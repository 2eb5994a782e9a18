package rest

import (
	"testing"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packetio"
)

// A port says where its frames' receive times come from: its NIC's
// stamps (hardware) or the driver call's time (software).
func TestPortSaysWhichReceiveTimesItUses(t *testing.T) {
	for _, tt := range []struct {
		hw   bool
		want gen.PortConfigDpdkXRxTimestamps
	}{{false, gen.PortConfigDpdkXRxTimestampsSoftware}, {true, gen.PortConfigDpdkXRxTimestampsHardware}} {
		p := portJSON(packetio.PortView{Info: packetio.PortInfo{ID: "0", Kind: packetio.KindDPDK, RxHardwareTimes: tt.hw}})
		if got := p.Config.Dpdk.XRxTimestamps; got == nil || *got != tt.want {
			t.Errorf("hardware times %v: x_rx_timestamps %v, want %s", tt.hw, got, tt.want)
		}
	}
}
