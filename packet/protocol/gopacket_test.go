package protocol

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/openperfd/openperfd/packet/checksum"
)

// Random header values. Ports avoid the ones gopacket decodes further (DNS,
// VXLAN, ...), so that a random payload stays a payload.

func randMAC(r *rand.Rand) (m [6]byte) {
	binary.LittleEndian.PutUint32(m[:], r.Uint32())
	binary.LittleEndian.PutUint16(m[4:], uint16(r.Uint32()))
	return m
}

func randIP4(r *rand.Rand) (a [4]byte) {
	binary.LittleEndian.PutUint32(a[:], r.Uint32())
	return a
}

func randIP6(r *rand.Rand) (a [16]byte) {
	binary.LittleEndian.PutUint64(a[:], r.Uint64())
	binary.LittleEndian.PutUint64(a[8:], r.Uint64())
	return a
}

func randPort(r *rand.Rand) uint16 {
	for {
		p := uint16(r.Uint32())
		if layers.UDPPort(p).LayerType() == gopacket.LayerTypePayload {
			return p
		}
	}
}

func randEthernet(r *rand.Rand) Header {
	return Ethernet{Dst: randMAC(r), Src: randMAC(r), EtherType: uint16(r.Uint32())}
}

func randVLAN(r *rand.Rand) Header {
	return VLAN{PCP: uint8(r.IntN(8)), DEI: r.IntN(2) == 1, VID: uint16(r.IntN(4096)), EtherType: uint16(r.Uint32())}
}

func randMPLS(r *rand.Rand) Header {
	return MPLS{Label: uint32(r.IntN(1 << 20)), TC: uint8(r.IntN(8)), BottomOfStack: r.IntN(2) == 1, TTL: uint8(r.Uint32())}
}

// randIPv4 never sets more-fragments or an offset: gopacket (rightly)
// decodes no L4 header in a fragment.
func randIPv4(r *rand.Rand) Header {
	return IPv4{DSCP: uint8(r.IntN(64)), ECN: uint8(r.IntN(4)), TotalLength: uint16(r.Uint32()),
		ID: uint16(r.Uint32()), Flags: uint8(r.IntN(4)) << 1, TTL: uint8(r.Uint32()),
		Protocol: uint8(r.Uint32()), Checksum: uint16(r.Uint32()), Src: randIP4(r), Dst: randIP4(r)}
}

func randIPv6(r *rand.Rand) Header {
	return IPv6{TrafficClass: uint8(r.Uint32()), FlowLabel: uint32(r.IntN(1 << 20)),
		PayloadLength: uint16(r.Uint32()), NextHeader: uint8(r.Uint32()), HopLimit: uint8(r.Uint32()),
		Src: randIP6(r), Dst: randIP6(r)}
}

func randUDP(r *rand.Rand) Header {
	return UDP{SrcPort: randPort(r), DstPort: randPort(r), Length: uint16(r.Uint32()), Checksum: uint16(r.Uint32())}
}

func randTCP(r *rand.Rand) Header {
	return TCP{SrcPort: uint16(r.Uint32()), DstPort: uint16(r.Uint32()), Seq: r.Uint32(), Ack: r.Uint32(),
		Reserved: uint8(r.IntN(8)), Flags: uint16(r.IntN(1 << 9)), Window: uint16(r.Uint32()),
		Checksum: uint16(r.Uint32()), Urgent: uint16(r.Uint32())}
}

// wantNextType restates the derivation rule for the type field of s[i].
func wantNextType(s Stack, i int, given uint16) uint16 {
	if i+1 >= len(s) {
		return given
	}
	switch s[i+1].Kind() {
	case KindVLAN:
		if s[i].Kind() != KindVLAN && i+2 < len(s) && s[i+2].Kind() == KindVLAN {
			return 0x88a8
		}
		return 0x8100
	case KindMPLS:
		return 0x8847
	case KindIPv4:
		return 0x0800
	case KindIPv6:
		return 0x86dd
	}
	return given
}

func wantProto(s Stack, i int, given uint8) uint8 {
	if i+1 < len(s) {
		switch s[i+1].Kind() {
		case KindUDP:
			return 17
		case KindTCP:
			return 6
		case KindIPv4:
			return 4
		case KindIPv6:
			return 41
		}
	}
	return given
}

var gopacketType = map[Kind]gopacket.LayerType{
	KindEthernet: layers.LayerTypeEthernet, KindVLAN: layers.LayerTypeDot1Q, KindMPLS: layers.LayerTypeMPLS,
	KindIPv4: layers.LayerTypeIPv4, KindIPv6: layers.LayerTypeIPv6, KindUDP: layers.LayerTypeUDP,
	KindTCP: layers.LayerTypeTCP, KindICMP: layers.LayerTypeICMPv4, KindICMPv6: layers.LayerTypeICMPv6,
}

// decoded is a frame as gopacket sees it: its layers by offset, checksums
// verified.
type decoded struct {
	pkt   gopacket.Packet
	byOff map[int]gopacket.Layer
	offs  []int // offset of each of pkt.Layers()
}

// decodeWithGopacket decodes frame, fails on any decode error, points every
// L4 layer at the IP layer before it and fails on any checksum that is not
// both valid and exactly the recomputed value.
func decodeWithGopacket(t *testing.T, frame []byte) decoded {
	t.Helper()
	d := decoded{pkt: gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default), byOff: map[int]gopacket.Layer{}}
	if el := d.pkt.ErrorLayer(); el != nil {
		t.Fatalf("gopacket: %v\n%x", el.Error(), frame)
	}
	off := 0
	var ip gopacket.NetworkLayer
	for _, gl := range d.pkt.Layers() {
		if _, dup := d.byOff[off]; !dup {
			d.byOff[off] = gl
		}
		d.offs = append(d.offs, off)
		off += len(gl.LayerContents())
		switch v := gl.(type) {
		case *layers.IPv4:
			ip = v
		case *layers.IPv6:
			ip = v
		case *layers.UDP:
			v.SetNetworkLayerForChecksum(ip)
		case *layers.TCP:
			v.SetNetworkLayerForChecksum(ip)
		case *layers.ICMPv6:
			v.SetNetworkLayerForChecksum(ip)
		}
		if c, ok := gl.(gopacket.LayerWithChecksum); ok {
			err, res := c.VerifyChecksum()
			if err != nil || !res.Valid || res.Correct != res.Actual {
				t.Fatalf("%v checksum at %d: err %v, %+v\n%x", gl.LayerType(), off-len(gl.LayerContents()), err, res, frame)
			}
		}
	}
	return d
}

// checkFields compares every field of every non-custom header of s, as
// built into frame at the offsets l reports, with gopacket's decoding.
func checkFields(t *testing.T, frame []byte, s Stack, l Layers, d decoded) {
	t.Helper()
	if int(l.N) != len(s) {
		t.Fatalf("built %d spans for %d headers", l.N, len(s))
	}
	n := len(frame)
	for i, h := range s {
		sp := l.Spans[i]
		if h.Kind() == KindCustom {
			if !bytes.Equal(frame[sp.Off:sp.Off+sp.Len], h.(Custom).Data) {
				t.Fatalf("custom %d: bytes differ", i)
			}
			continue
		}
		gl, ok := d.byOff[int(sp.Off)]
		if !ok || gl.LayerType() != gopacketType[sp.Kind] || len(gl.LayerContents()) != int(sp.Len) {
			t.Fatalf("header %d (%v at %d, %d bytes): gopacket has %v", i, sp.Kind, sp.Off, sp.Len, gl)
		}
		eq := func(field string, got, want any) {
			t.Helper()
			if got != want {
				t.Fatalf("header %d %v.%s = %v, want %v\n%x", i, sp.Kind, field, got, want, frame)
			}
		}
		switch h := h.(type) {
		case Ethernet:
			g := gl.(*layers.Ethernet)
			eq("Dst", string(g.DstMAC), string(h.Dst[:]))
			eq("Src", string(g.SrcMAC), string(h.Src[:]))
			eq("EtherType", uint16(g.EthernetType), wantNextType(s, i, h.EtherType))
		case VLAN:
			g := gl.(*layers.Dot1Q)
			eq("PCP", g.Priority, h.PCP)
			eq("DEI", g.DropEligible, h.DEI)
			eq("VID", g.VLANIdentifier, h.VID)
			eq("EtherType", uint16(g.Type), wantNextType(s, i, h.EtherType))
		case MPLS:
			g := gl.(*layers.MPLS)
			eq("Label", g.Label, h.Label)
			eq("TC", g.TrafficClass, h.TC)
			eq("BottomOfStack", g.StackBottom, i+1 == len(s) || s[i+1].Kind() != KindMPLS)
			eq("TTL", g.TTL, h.TTL)
		case IPv4:
			g := gl.(*layers.IPv4)
			eq("Version", g.Version, uint8(4))
			eq("IHL", g.IHL, uint8(5))
			eq("DSCP", g.TOS>>2, h.DSCP)
			eq("ECN", g.TOS&3, h.ECN)
			eq("TotalLength", g.Length, uint16(n-int(sp.Off)))
			eq("ID", g.Id, h.ID)
			eq("Flags", uint8(g.Flags), h.Flags)
			eq("FragOffset", g.FragOffset, h.FragOffset)
			eq("TTL", g.TTL, h.TTL)
			eq("Protocol", uint8(g.Protocol), wantProto(s, i, h.Protocol))
			eq("Src", g.SrcIP.String(), net.IP(h.Src[:]).String())
			eq("Dst", g.DstIP.String(), net.IP(h.Dst[:]).String())
		case IPv6:
			g := gl.(*layers.IPv6)
			eq("Version", g.Version, uint8(6))
			eq("TrafficClass", g.TrafficClass, h.TrafficClass)
			eq("FlowLabel", g.FlowLabel, h.FlowLabel)
			eq("PayloadLength", g.Length, uint16(n-int(sp.Off)-40))
			eq("NextHeader", uint8(g.NextHeader), wantProto(s, i, h.NextHeader))
			eq("HopLimit", g.HopLimit, h.HopLimit)
			eq("Src", g.SrcIP.String(), net.IP(h.Src[:]).String())
			eq("Dst", g.DstIP.String(), net.IP(h.Dst[:]).String())
		case UDP:
			g := gl.(*layers.UDP)
			eq("SrcPort", uint16(g.SrcPort), h.SrcPort)
			eq("DstPort", uint16(g.DstPort), h.DstPort)
			eq("Length", g.Length, uint16(n-int(sp.Off)))
		case TCP:
			g := gl.(*layers.TCP)
			eq("SrcPort", uint16(g.SrcPort), h.SrcPort)
			eq("DstPort", uint16(g.DstPort), h.DstPort)
			eq("Seq", g.Seq, h.Seq)
			eq("Ack", g.Ack, h.Ack)
			eq("DataOffset", g.DataOffset, uint8(5))
			eq("Reserved", frame[int(sp.Off)+12]>>1&7, h.Reserved)
			flags := []bool{g.FIN, g.SYN, g.RST, g.PSH, g.ACK, g.URG, g.ECE, g.CWR, g.NS}
			for b, set := range flags {
				eq("Flags bit", set, h.Flags&(1<<b) != 0)
			}
			eq("Window", g.Window, h.Window)
			eq("Urgent", g.Urgent, h.Urgent)
		default:
			t.Fatalf("header %d: unexpected type %T", i, h)
		}
	}
}

// checkParseMatchesGopacket parses frame with Parse and requires every span
// to sit where gopacket has a layer of the same type and length, the
// payload to start where gopacket's next layer does, and all checksums to
// verify.
func checkParseMatchesGopacket(t *testing.T, frame []byte, d decoded) Layers {
	t.Helper()
	l, err := Parse(frame)
	if err != nil {
		t.Fatalf("Parse: %v\n%x", err, frame)
	}
	for i, sp := range l.Headers() {
		gl, ok := d.byOff[int(sp.Off)]
		if !ok || gl.LayerType() != gopacketType[sp.Kind] || len(gl.LayerContents()) != int(sp.Len) {
			t.Fatalf("parsed span %d %+v: gopacket has %v there", i, sp, gl)
		}
	}
	want := len(frame)
	for _, off := range d.offs {
		if off >= int(l.PayloadOff) {
			want = off
			break
		}
	}
	if int(l.PayloadOff) != want {
		t.Fatalf("PayloadOff %d, gopacket's next layer at %d", l.PayloadOff, want)
	}
	if bad := l.Verify(frame); bad != 0 {
		t.Fatalf("Verify: %b", bad)
	}
	return l
}

type combo struct {
	name string
	hdrs []func(*rand.Rand) Header
}

// combos: every L2 (eth, vlan, qinq, two MPLS labels) with every L3 and L4.
func combos() []combo {
	l2 := []combo{
		{"eth", []func(*rand.Rand) Header{randEthernet}},
		{"eth+vlan", []func(*rand.Rand) Header{randEthernet, randVLAN}},
		{"eth+qinq", []func(*rand.Rand) Header{randEthernet, randVLAN, randVLAN}},
		{"eth+mpls2", []func(*rand.Rand) Header{randEthernet, randMPLS, randMPLS}},
	}
	var out []combo
	for _, a := range l2 {
		for _, b := range []combo{{"ipv4", []func(*rand.Rand) Header{randIPv4}}, {"ipv6", []func(*rand.Rand) Header{randIPv6}}} {
			for _, c := range []combo{{"udp", []func(*rand.Rand) Header{randUDP}}, {"tcp", []func(*rand.Rand) Header{randTCP}}} {
				h := append(append(append([]func(*rand.Rand) Header{}, a.hdrs...), b.hdrs...), c.hdrs...)
				out = append(out, combo{a.name + "+" + b.name + "+" + c.name, h})
			}
		}
	}
	return out
}

func (c combo) stack(r *rand.Rand) Stack {
	s := make(Stack, len(c.hdrs))
	for i, f := range c.hdrs {
		s[i] = f(r)
	}
	return s
}

// randFrame returns a frame length from 60 to 1518, at least hl.
func randFrame(r *rand.Rand, hl int) []byte {
	return make([]byte, max(60+r.IntN(1518-60+1), hl))
}

func TestBuiltFramesDecodeInGopacketWithEveryFieldAndChecksum(t *testing.T) {
	for _, c := range combos() {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(c.name))))
			for it := range 300 {
				s := c.stack(r)
				frame := randFrame(r, s.HeaderLen())
				var l Layers
				var err error
				if it%2 == 0 { // random payload written first, headers after
					for i := range frame {
						frame[i] = byte(r.Uint32())
					}
					l, err = s.BuildHeaders(frame)
				} else {
					l, err = s.Build(frame)
				}
				if err != nil {
					t.Fatalf("build: %v", err)
				}
				d := decodeWithGopacket(t, frame)
				checkFields(t, frame, s, l, d)
				p := checkParseMatchesGopacket(t, frame, d)
				for i := range l.N {
					b, q := l.Spans[i], p.Spans[i]
					if b.Kind != q.Kind || b.Off != q.Off || b.Len != q.Len || b.End != q.End {
						t.Fatalf("span %d: built %+v, parsed %+v", i, b, q)
					}
				}
				if p.N != l.N || p.PayloadOff != l.PayloadOff || p.PayloadEnd != l.PayloadEnd {
					t.Fatalf("parsed %+v, built %+v", p, l)
				}
			}
		})
	}
}

// Custom headers carry what the builders do not model: ARP, ICMP echo, a
// VXLAN tunnel (whose outer UDP checksum covers the inner packet).
func TestCustomHeadersCarryRawProtocolsGopacketDecodes(t *testing.T) {
	arp := func(r *rand.Rand) []byte {
		b := []byte{0, 1, 8, 0, 6, 4, 0, 1}
		b = binary.BigEndian.AppendUint16(b[:6], uint16(1+r.IntN(2)))
		m, a, m2, a2 := randMAC(r), randIP4(r), randMAC(r), randIP4(r)
		return append(append(append(append(b, m[:]...), a[:]...), m2[:]...), a2[:]...)
	}
	echo := func(r *rand.Rand, typ byte) []byte {
		b := []byte{typ, 0, 0, 0}
		return binary.BigEndian.AppendUint32(b, r.Uint32()) // id, seq
	}
	cases := []struct {
		name  string
		stack func(r *rand.Rand) Stack
		fix   func(frame []byte, l Layers) // fills checksums the builder cannot know
		check func(t *testing.T, d decoded, s Stack)
	}{
		{
			name: "eth+custom(arp)",
			stack: func(r *rand.Rand) Stack {
				e := randEthernet(r).(Ethernet)
				e.EtherType = EtherTypeARP
				return Stack{e, Custom{arp(r)}}
			},
			check: func(t *testing.T, d decoded, s Stack) {
				g, ok := d.byOff[14].(*layers.ARP)
				data := s[1].(Custom).Data
				if !ok || !bytes.Equal(g.SourceHwAddress, data[8:14]) || !bytes.Equal(g.DstProtAddress, data[24:28]) ||
					g.Operation != binary.BigEndian.Uint16(data[6:]) {
					t.Fatalf("ARP: %+v", d.byOff[14])
				}
			},
		},
		{
			name: "eth+vlan+ipv4+custom(icmp echo)",
			stack: func(r *rand.Rand) Stack {
				ip := randIPv4(r).(IPv4)
				ip.Protocol = ProtoICMP
				return Stack{randEthernet(r), randVLAN(r), ip, Custom{echo(r, 8)}}
			},
			fix: func(frame []byte, l Layers) {
				o := l.Spans[3].Off
				put16(frame[o+2:], checksum.Checksum(frame[o:], 0))
			},
			check: func(t *testing.T, d decoded, s Stack) {
				g, ok := d.byOff[38].(*layers.ICMPv4)
				if !ok || g.Id != binary.BigEndian.Uint16(s[3].(Custom).Data[4:]) {
					t.Fatalf("ICMPv4: %+v", d.byOff[38])
				}
			},
		},
		{
			name: "eth+ipv6+custom(icmpv6 echo)",
			stack: func(r *rand.Rand) Stack {
				ip := randIPv6(r).(IPv6)
				ip.NextHeader = ProtoICMPv6
				return Stack{randEthernet(r), ip, Custom{echo(r, 128)}}
			},
			fix: func(frame []byte, l Layers) {
				ip, o := l.Spans[1].Off, int(l.Spans[2].Off)
				ps := PseudoSumIPv6((*[16]byte)(frame[ip+8:]), (*[16]byte)(frame[ip+24:]), ProtoICMPv6, len(frame)-o)
				put16(frame[o+2:], checksum.Checksum(frame[o:], ps))
			},
			check: func(t *testing.T, d decoded, s Stack) {
				if _, ok := d.byOff[54].(*layers.ICMPv6); !ok {
					t.Fatalf("ICMPv6: %+v", d.byOff[54])
				}
			},
		},
		{
			name:  "eth+ipv4+udp+custom(vxlan)+eth+ipv4+udp",
			stack: tunnelStack,
			check: func(t *testing.T, d decoded, s Stack) {
				if _, ok := d.byOff[42].(*layers.VXLAN); !ok {
					t.Fatalf("VXLAN: %+v", d.byOff[42])
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(2, uint64(len(c.name))))
			for range 300 {
				s := c.stack(r)
				frame := randFrame(r, s.HeaderLen())
				l, err := s.Build(frame)
				if err != nil {
					t.Fatal(err)
				}
				if c.fix != nil {
					c.fix(frame, l)
					for i, h := range s { // the checksum is part of the custom bytes
						if h, ok := h.(Custom); ok {
							copy(h.Data, frame[l.Spans[i].Off:])
						}
					}
				}
				d := decodeWithGopacket(t, frame)
				checkFields(t, frame, s, l, d)
				c.check(t, d, s)
				checkParseMatchesGopacket(t, frame, d)
			}
		})
	}
}

// tunnelStack is Ethernet/IPv4/UDP to the VXLAN port, a VXLAN header, and
// an inner Ethernet/IPv4/UDP.
func tunnelStack(r *rand.Rand) Stack {
	vni := binary.BigEndian.AppendUint32([]byte{8, 0, 0, 0}, uint32(r.IntN(1<<24))<<8)
	outer := randUDP(r).(UDP)
	outer.DstPort = 4789
	return Stack{randEthernet(r), randIPv4(r), outer, Custom{vni}, randEthernet(r), randIPv4(r), randUDP(r)}
}
