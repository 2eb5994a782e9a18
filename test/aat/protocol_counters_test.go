package aat

import (
	"fmt"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

// TestPortProtocolCounters: with --modules.packetio.dpdk.x-protocol-counters
// the test-mode ports count their frames by protocol: 1000 IPv4/UDP
// frames from a generator on port 0 are tx udp/ipv4 on port 0 and rx
// udp/ipv4 on port 1, and 500 VLAN-tagged IPv6/TCP frames are counted as
// vlan, ipv6 and tcp. Without the flag ports have no x_protocols.
func TestPortProtocolCounters(t *testing.T) {
	plain := startDaemon(t, testMode)
	var p gen.Port
	plain.get("/ports/0", &p)
	if p.Stats.XProtocols != nil {
		t.Fatalf("x_protocols without the flag: %+v", p.Stats.XProtocols)
	}
	plain.stop()

	d := startDaemon(t, testMode, "--modules.packetio.dpdk.x-protocol-counters")
	runToCompletion(t, d, createGenerator(t, d, "0", genConfig(map[string]any{"frames": 1000}, 100000,
		udpDef(map[string]any{"fixed": 128}, "", nil, nil))))
	tagged := map[string]any{"length": map[string]any{"fixed": 200}, "packet": map[string]any{"protocols": []map[string]any{
		{"ethernet": map[string]any{"source": "10:00:00:00:00:01", "destination": "10:00:00:00:00:02"}},
		{"vlan": map[string]any{"id": 42}},
		{"ipv6": map[string]any{"source": "2001:db8::1", "destination": "2001:db8::2"}},
		{"tcp": map[string]any{}}}}}
	runToCompletion(t, d, createGenerator(t, d, "0", genConfig(map[string]any{"frames": 500}, 100000, tagged)))
	want := gen.PortProtocolCounters{Ipv4: 1000, Udp: 1000, Vlan: 500, Ipv6: 500, Tcp: 500}
	eventually(t, "port 1 counts the frames by protocol", func() (bool, string) {
		d.get("/ports/1", &p)
		x := p.Stats.XProtocols
		if x == nil {
			return false, "no x_protocols"
		}
		return x.Rx == want, fmt.Sprintf("rx %+v", x.Rx)
	})
	if p.Stats.XProtocols.Tx != (gen.PortProtocolCounters{}) {
		t.Errorf("port 1 tx %+v, want nothing", p.Stats.XProtocols.Tx)
	}
	d.get("/ports/0", &p)
	if x := p.Stats.XProtocols; x == nil || x.Tx != want || x.Rx != (gen.PortProtocolCounters{}) {
		t.Errorf("port 0 x_protocols %+v, want tx %+v and no rx", x, want)
	}
}
