package protocol

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// frameOf builds s into n bytes and lets edit change it afterwards.
func frameOf(t testing.TB, n int, s Stack, edit func(b []byte)) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := s.Build(b); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(b)
	}
	return b
}

// ipv6Ext is an IPv6 frame with a hop-by-hop header (8 bytes), a fragment
// header (offset and M as given), then UDP.
func ipv6Ext(t testing.TB, fragField uint16) []byte {
	return frameOf(t, 100, Stack{
		Ethernet{},
		IPv6{NextHeader: ProtoHopByHop, Keep: KeepType},
		Custom{[]byte{ProtoFragment, 0, 1, 4, 0, 0, 0, 0}},
		Custom{binary.BigEndian.AppendUint16([]byte{ProtoUDP, 0}, fragField)},
		Custom{[]byte{0, 0, 0, 0}}, // fragment id
		UDP{},
	}, nil)
}

func TestParseDescribesEdgeFrames(t *testing.T) {
	type span struct {
		k      Kind
		off, n int
	}
	cases := []struct {
		name       string
		frame      []byte
		want       []span
		payloadOff int
		payloadEnd int
		truncated  bool
		err        error
	}{
		{name: "empty", frame: nil, err: ErrTruncated},
		{name: "13 bytes", frame: make([]byte, 13), err: ErrTruncated},
		{name: "unknown ethertype stops after ethernet",
			frame: frameOf(t, 60, Stack{Ethernet{EtherType: 0x88b5}}, nil),
			want:  []span{{KindEthernet, 0, 14}}, payloadOff: 14, payloadEnd: 60},
		{name: "vlan tag cut short",
			frame: frameOf(t, 60, Stack{Ethernet{}, VLAN{}, IPv4{}}, nil)[:16],
			want:  []span{{KindEthernet, 0, 14}}, payloadOff: 14, payloadEnd: 16, truncated: true, err: ErrTruncated},
		{name: "ethernet padding is not payload",
			frame: frameOf(t, 60, ethIPv4UDP(), func(b []byte) { binary.BigEndian.PutUint16(b[16:], 30) }),
			want:  []span{{KindEthernet, 0, 14}, {KindIPv4, 14, 20}, {KindUDP, 34, 8}}, payloadOff: 42, payloadEnd: 44},
		{name: "ipv4 claiming more than the frame",
			frame: frameOf(t, 60, ethIPv4UDP(), func(b []byte) { binary.BigEndian.PutUint16(b[16:], 1000) }),
			want:  []span{{KindEthernet, 0, 14}, {KindIPv4, 14, 20}, {KindUDP, 34, 8}}, payloadOff: 42, payloadEnd: 60, truncated: true},
		{name: "ipv4 header length under 20",
			frame: frameOf(t, 60, ethIPv4UDP(), func(b []byte) { b[14] = 0x44 }),
			want:  []span{{KindEthernet, 0, 14}}, payloadOff: 14, payloadEnd: 60, err: ErrMalformed},
		{name: "ipv4 total length under its header",
			frame: frameOf(t, 60, ethIPv4UDP(), func(b []byte) { binary.BigEndian.PutUint16(b[16:], 19) }),
			want:  []span{{KindEthernet, 0, 14}}, payloadOff: 14, payloadEnd: 60, err: ErrMalformed},
		{name: "ipv4 with options",
			frame: frameOf(t, 60, ethIPv4UDP(), func(b []byte) { b[14] = 0x46 }),
			want:  []span{{KindEthernet, 0, 14}, {KindIPv4, 14, 24}, {KindUDP, 38, 8}}, payloadOff: 46, payloadEnd: 60},
		{name: "ipv4 fragment has no l4",
			frame: frameOf(t, 60, ethIPv4UDP(), func(b []byte) { b[20] = 0x20 }),
			want:  []span{{KindEthernet, 0, 14}, {KindIPv4, 14, 20}}, payloadOff: 34, payloadEnd: 60},
		{name: "wrong ip version",
			frame: frameOf(t, 80, Stack{Ethernet{}, IPv6{}}, func(b []byte) { b[14] = 0x40 }),
			want:  []span{{KindEthernet, 0, 14}}, payloadOff: 14, payloadEnd: 80, err: ErrMalformed},
		{name: "tcp data offset under 5",
			frame: frameOf(t, 60, Stack{Ethernet{}, IPv4{}, TCP{}}, func(b []byte) { b[46] = 0x40 }),
			want:  []span{{KindEthernet, 0, 14}, {KindIPv4, 14, 20}}, payloadOff: 34, payloadEnd: 60, err: ErrMalformed},
		{name: "tcp options",
			frame: frameOf(t, 80, Stack{Ethernet{}, IPv4{}, TCP{DataOffset: 8}}, nil),
			want:  []span{{KindEthernet, 0, 14}, {KindIPv4, 14, 20}, {KindTCP, 34, 32}}, payloadOff: 66, payloadEnd: 80},
		{name: "ipv6 hop-by-hop and atomic fragment before udp",
			frame: ipv6Ext(t, 0),
			want: []span{{KindEthernet, 0, 14}, {KindIPv6, 14, 40}, {KindIPv6Ext, 54, 8}, {KindIPv6Ext, 62, 8},
				{KindUDP, 70, 8}}, payloadOff: 78, payloadEnd: 100},
		{name: "ipv6 later fragment has no l4",
			frame:      ipv6Ext(t, 8<<3),
			want:       []span{{KindEthernet, 0, 14}, {KindIPv6, 14, 40}, {KindIPv6Ext, 54, 8}, {KindIPv6Ext, 62, 8}},
			payloadOff: 70, payloadEnd: 100},
		{name: "mpls over something not ip",
			frame: frameOf(t, 60, Stack{Ethernet{}, MPLS{}, Custom{[]byte{0x10}}}, nil),
			want:  []span{{KindEthernet, 0, 14}, {KindMPLS, 14, 4}}, payloadOff: 18, payloadEnd: 60},
		{name: "ipv6 in ipv4 with icmpv6",
			frame:      frameOf(t, 100, Stack{Ethernet{}, IPv4{}, IPv6{NextHeader: ProtoICMPv6}}, nil),
			want:       []span{{KindEthernet, 0, 14}, {KindIPv4, 14, 20}, {KindIPv6, 34, 40}, {KindICMPv6, 74, 4}},
			payloadOff: 78, payloadEnd: 100},
		{name: "seventeen vlan tags",
			frame: frameOf(t, 100, slices.Repeat(Stack{VLAN{}}, 16), func(b []byte) {
				copy(b, frameOf(t, 100, append(Stack{Ethernet{}}, slices.Repeat(Stack{VLAN{}}, 15)...), nil)[:74])
				binary.BigEndian.PutUint16(b[72:], EtherTypeVLAN)
			}),
			payloadOff: 74, payloadEnd: 100, err: ErrTooManyLayers},
		{name: "over 65535 bytes", frame: make([]byte, 65536), err: ErrFrameTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Parse(c.frame)
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if c.err == ErrTooManyLayers {
				if l.N != MaxLayers {
					t.Fatalf("%d spans, want %d", l.N, MaxLayers)
				}
				c.want = nil
			} else {
				var got []span
				for _, s := range l.Headers() {
					got = append(got, span{s.Kind, int(s.Off), int(s.Len)})
				}
				if !slices.Equal(got, c.want) {
					t.Fatalf("spans %v, want %v", got, c.want)
				}
			}
			if int(l.PayloadOff) != c.payloadOff || int(l.PayloadEnd) != c.payloadEnd || l.Truncated != c.truncated {
				t.Fatalf("payload [%d, %d) truncated %v, want [%d, %d) %v", l.PayloadOff, l.PayloadEnd, l.Truncated,
					c.payloadOff, c.payloadEnd, c.truncated)
			}
		})
	}
}

func TestLayersFindsHeadersByKind(t *testing.T) {
	frame := make([]byte, 120)
	l, _ := tunnelStackFixed().Build(frame)
	if l.L3() != 5 || l.L4() != 6 || l.Index(KindIPv4, 0) != 1 || l.Index(KindIPv4, 2) != 5 || l.Index(KindTCP, 0) != -1 {
		t.Fatalf("L3 %d L4 %d", l.L3(), l.L4())
	}
	var none Layers
	if none.L3() != -1 || none.L4() != -1 || len(none.Payload(frame)) != 0 {
		t.Fatal("empty Layers")
	}
}

func tunnelStackFixed() Stack {
	return Stack{Ethernet{}, IPv4{}, UDP{DstPort: 4789}, Custom{make([]byte, 8)}, Ethernet{}, IPv4{}, UDP{}}
}
