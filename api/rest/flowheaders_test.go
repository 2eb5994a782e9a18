package rest

import (
	"encoding/json"
	"testing"

	"github.com/openperfd/openperfd/packet/protocol"
)

// headerBytes builds a frame of stack and keeps the headers Parse finds,
// as an analyzer flow stores them, or (whole) all stack's bytes.
func headerBytes(t *testing.T, s protocol.Stack, whole bool) []byte {
	t.Helper()
	b := make([]byte, 128)
	l, err := s.Build(b)
	if err != nil {
		t.Fatal(err)
	}
	l.UpdateChecksums(b)
	if whole {
		return b[:l.PayloadOff]
	}
	p, _ := protocol.Parse(b)
	return b[:p.PayloadOff]
}

func TestFlowHeadersDecodeEachProtocolAsOpenPerf(t *testing.T) {
	eth := protocol.Ethernet{Dst: [6]byte{0x10, 0, 0, 0, 0, 2}, Src: [6]byte{0x10, 0, 0, 0, 0, 1}}
	ip4 := protocol.IPv4{Version: 4, TTL: 64, ID: 7, DSCP: 10, ECN: 1, Flags: protocol.IPv4DontFragment,
		Src: [4]byte{198, 18, 0, 1}, Dst: [4]byte{198, 18, 1, 1}}
	ip6 := protocol.IPv6{Version: 6, HopLimit: 255, TrafficClass: 3, FlowLabel: 0x12345,
		Src: [16]byte{0x20, 1, 0x0d, 0xb8, 15: 1}, Dst: [16]byte{0x20, 1, 0x0d, 0xb8, 15: 2}}
	for _, c := range []struct {
		name  string
		stack protocol.Stack
		want  string
	}{
		{"ethernet ipv4 udp", protocol.Stack{eth, ip4, protocol.UDP{SrcPort: 3357, DstPort: 3358}},
			`[{"ethernet":{"destination":"10:00:00:00:00:02","ether_type":2048,"source":"10:00:00:00:00:01"}},` +
				`{"ipv4":{"destination":"198.18.1.1","dscp":10,"ecn":"ect_1","flags":["dont_fragment"],"fragment_offset":0,` +
				`"header_length":20,"identification":7,"protocol":17,"source":"198.18.0.1","time_to_live":64,"version":4}},` +
				`{"udp":{"destination":3358,"source":3357}}]`},
		{"vlan ipv6 tcp", protocol.Stack{eth, protocol.VLAN{VID: 100, PCP: 5}, ip6,
			protocol.TCP{SrcPort: 80, DstPort: 1024, Seq: 1, Ack: 2, Flags: protocol.TCPFlagSYN | protocol.TCPFlagACK, Window: 512}},
			`[{"ethernet":{"destination":"10:00:00:00:00:02","ether_type":33024,"source":"10:00:00:00:00:01"}},` +
				`{"vlan":{"drop_eligible":false,"ether_type":34525,"id":100,"priority":"voice"}},` +
				`{"ipv6":{"destination":"2001:db8::2","flow_label":74565,"hop_limit":255,"next_header":6,"source":"2001:db8::1","traffic_class":3,"version":6}},` +
				`{"tcp":{"ack":2,"data_offset":20,"destination":1024,"flags":["ack","syn"],"reserved":0,"sequence":1,"source":80,"urgent_pointer":0,"window":512}}]`},
		// OpenPerf's header stops at the outer UDP header: what a tunnel
		// carries is payload to a flow.
		{"vxlan", protocol.Stack{eth, ip4, protocol.UDP{SrcPort: 5000, DstPort: protocol.PortVXLAN},
			protocol.Custom{Data: []byte{8, 0, 0, 0, 0, 0, 1, 0}}, eth, ip4, protocol.UDP{}},
			`[{"ethernet":{"destination":"10:00:00:00:00:02","ether_type":2048,"source":"10:00:00:00:00:01"}},` +
				`{"ipv4":{"destination":"198.18.1.1","dscp":10,"ecn":"ect_1","flags":["dont_fragment"],"fragment_offset":0,` +
				`"header_length":20,"identification":7,"protocol":17,"source":"198.18.0.1","time_to_live":64,"version":4}},` +
				`{"udp":{"destination":4789,"source":5000}}]`},
		{"mpls and an unknown rest", protocol.Stack{eth, protocol.MPLS{Label: 16, TTL: 9}, protocol.Custom{Data: []byte{0x10, 1, 2}}},
			`[{"ethernet":{"destination":"10:00:00:00:00:02","ether_type":34887,"source":"10:00:00:00:00:01"}},` +
				`{"mpls":{"bottom_of_stack":true,"label":16,"traffic_class":0,"ttl":9}},{"unknown":"EAEC"}]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Parse stops at the MPLS case's custom bytes: keep them, as the rest.
			b := headerBytes(t, c.stack, c.name == "mpls and an unknown rest")
			got, err := json.Marshal(flowHeadersJSON(b))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("headers\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestFlowHeadersOfShortOrStrangeBytes(t *testing.T) {
	for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, 14), append(make([]byte, 12), 0x08, 0, 0x45)} {
		hs := flowHeadersJSON(b)
		if len(b) > 0 && len(hs) == 0 {
			t.Errorf("% x: no headers", b)
		}
	}
}

// FuzzFlowHeaders feeds flowHeadersJSON arbitrary stored headers: it must
// not panic, and every byte shows up in some header.
func FuzzFlowHeaders(f *testing.F) {
	eth := protocol.Ethernet{}
	for _, s := range []protocol.Stack{{eth, protocol.IPv4{}, protocol.UDP{}}, {eth, protocol.VLAN{}, protocol.IPv6{}, protocol.TCP{}},
		{eth, protocol.MPLS{}, protocol.IPv4{}, protocol.IPv6{}, protocol.TCP{DataOffset: 6}}} {
		b := make([]byte, 128)
		l, err := s.Build(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:l.PayloadOff])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		hs := flowHeadersJSON(b)
		if len(b) > 0 && len(hs) == 0 {
			t.Fatalf("% x: no headers", b)
		}
	})
}
