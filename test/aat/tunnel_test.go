package aat

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

// vxlanDef is an Ethernet/IPv4/UDP definition to the VXLAN port whose
// payload is a VXLAN header and an inner Ethernet/IPv4/UDP packet.
func vxlanDef() map[string]any {
	inner := []byte{
		0x08, 0, 0, 0, 0, 0, 1, 0, // VXLAN, VNI 1
		0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, // inner Ethernet
		0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 168, 0, 1, 192, 168, 0, 2, // inner IPv4, 28 bytes
		0x13, 0x88, 0x13, 0x89, 0, 8, 0, 0, // inner UDP
	}
	return map[string]any{"length": map[string]any{"fixed": 128}, "packet": map[string]any{"protocols": []map[string]any{
		{"ethernet": map[string]any{"source": "10:00:00:00:00:01", "destination": "10:00:00:00:00:02"}},
		{"ipv4": map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}},
		{"udp": map[string]any{"source": 5000, "destination": 4789}},
		{"custom": map[string]any{"data": base64.StdEncoding.EncodeToString(inner), "layer": "payload"}},
	}}}
}

// An analyzer counts the VXLAN tunnel of what the generator sends, and
// the Ethernet, IPv4 and UDP headers inside it.
func TestAnalyzerCountsTunnelsAndWhatTheyCarry(t *testing.T) {
	d := startDaemon(t, testMode)
	createAnalyzer(t, d, "tun", "1", map[string]any{
		"protocol_counters": []string{"ethernet", "ip", "transport", "tunnel", "inner_ethernet", "inner_ip", "inner_transport"},
		"flow_counters":     []string{"frame_count"},
	})
	var ar gen.PacketAnalyzerResult
	mustJSON(t, d.expect("POST", "/packet/analyzers/tun/start", nil, 201), &ar)
	g := createGenerator(t, d, "0", genConfig(map[string]any{"frames": 1000}, 100000, vxlanDef()))
	if r := runToCompletion(t, d, g); r.FlowCounters.PacketsActual != 1000 {
		t.Fatalf("generator sent %d", r.FlowCounters.PacketsActual)
	}
	eventually(t, "analyzer counts 1000 frames", func() (bool, string) {
		ar = analyzerResult(t, d, ar.Id)
		return ar.FlowCounters.FrameCount == 1000, fmt.Sprintf("%d frames", ar.FlowCounters.FrameCount)
	})
	pc := ar.ProtocolCounters
	if pc.Tunnel == nil || pc.InnerEthernet == nil || pc.InnerIp == nil || pc.InnerTransport == nil {
		t.Fatalf("protocol counters %+v: tunnel or inner groups missing", pc)
	}
	if pc.Tunnel.Vxlan != 1000 || pc.Tunnel.Gre+pc.Tunnel.Geneve+pc.Tunnel.MplsInUdp+pc.Tunnel.Ip != 0 {
		t.Errorf("tunnel %+v; want 1000 vxlan", *pc.Tunnel)
	}
	if pc.InnerEthernet.Ip != 1000 || pc.InnerIp.Ipv4 != 1000 || pc.InnerTransport.Udp != 1000 {
		t.Errorf("inner %+v %+v %+v; want 1000 ethernet/ipv4/udp", *pc.InnerEthernet, *pc.InnerIp, *pc.InnerTransport)
	}
	if pc.Ethernet.Ip != 1000 || pc.Ip.Ipv4 != 1000 || pc.Transport.Udp != 1000 {
		t.Errorf("outer %+v %+v %+v; want 1000 ethernet/ipv4/udp", *pc.Ethernet, *pc.Ip, *pc.Transport)
	}
}

// A flow's `header` counter is the first frame's headers, each decoded as
// its protocol as OpenPerf shows them; a tunnel's outer UDP header is the
// last (what it carries is payload to a flow).
func TestAnalyzerFlowHeadersAreDecodedPerProtocol(t *testing.T) {
	d := startDaemon(t, testMode)
	createAnalyzer(t, d, "hdr", "1", map[string]any{"protocol_counters": []string{}, "flow_counters": []string{"frame_count", "header"}})
	d.expect("POST", "/packet/analyzers/hdr/start", nil, 201)
	tcp6 := map[string]any{"length": map[string]any{"fixed": 128}, "packet": map[string]any{"protocols": []map[string]any{
		{"ethernet": map[string]any{"source": "10:00:00:00:00:01", "destination": "10:00:00:00:00:02"}},
		{"ipv6": map[string]any{"source": "2001:db8::1", "destination": "2001:db8::2", "hop_limit": 32}},
		{"tcp": map[string]any{"source": 80, "destination": 8080, "flags": []string{"syn"}}},
	}}}
	g := createGenerator(t, d, "0", genConfig(map[string]any{"frames": 30}, 10000, udpDef(map[string]any{"fixed": 128}, "", nil, nil), tcp6, vxlanDef()))
	runToCompletion(t, d, g)
	var flows []gen.RxFlow
	eventually(t, "three flows of 10 frames", func() (bool, string) {
		d.get("/packet/rx-flows?analyzer_id=hdr", &flows)
		n := 0
		for _, f := range flows {
			n += int(f.Counters.FrameCount)
		}
		return len(flows) == 3 && n == 30, fmt.Sprintf("%d flows, %d frames", len(flows), n)
	})
	var seen []string
	for _, f := range flows {
		hs := f.Counters.Headers
		if hs == nil || len(*hs) != 3 {
			t.Fatalf("flow %s headers %+v; want 3", f.Id, hs)
		}
		h := *hs
		if e := h[0].Ethernet; e == nil || *e.Source != "10:00:00:00:00:01" || *e.Destination != "10:00:00:00:00:02" {
			t.Errorf("flow %s ethernet %+v", f.Id, h[0])
		}
		switch {
		case h[1].Ipv4 != nil && h[2].Udp != nil && *h[2].Udp.Destination == 4789:
			seen = append(seen, "vxlan")
			if *h[1].Ipv4.Source != "198.18.0.1" || *h[2].Udp.Source != 5000 || h[2].Udp.Checksum != nil {
				t.Errorf("vxlan flow %+v %+v", *h[1].Ipv4, *h[2].Udp)
			}
		case h[1].Ipv4 != nil && h[2].Udp != nil:
			seen = append(seen, "udp")
			if *h[1].Ipv4.Destination != "198.18.1.1" || *h[1].Ipv4.Protocol != 17 || h[1].Ipv4.TotalLength != nil {
				t.Errorf("udp flow %+v", *h[1].Ipv4)
			}
		case h[1].Ipv6 != nil && h[2].Tcp != nil:
			seen = append(seen, "tcp6")
			if *h[1].Ipv6.Destination != "2001:db8::2" || *h[1].Ipv6.HopLimit != 32 || *h[2].Tcp.Destination != 8080 ||
				len(*h[2].Tcp.Flags) != 1 || (*h[2].Tcp.Flags)[0] != "syn" {
				t.Errorf("tcp flow %+v %+v", *h[1].Ipv6, *h[2].Tcp)
			}
		default:
			t.Errorf("flow %s headers %+v", f.Id, h)
		}
	}
	if len(seen) != 3 || seen[0] == seen[1] || seen[1] == seen[2] || seen[0] == seen[2] {
		t.Errorf("flows seen %v; want udp, tcp6 and vxlan", seen)
	}
}
