package generator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature"
)

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0x02}
	ip4A = [4]byte{10, 0, 0, 1}
	ip4B = [4]byte{10, 0, 1, 1}
	ip6A = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	ip6B = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
)

func vals(xs ...uint64) []Value {
	out := make([]Value, len(xs))
	for i, x := range xs {
		out[i] = Uint(x)
	}
	return out
}

func udpDef(ipMods, udpMods []Modifier, tie Tie) TrafficDefinition {
	return TrafficDefinition{
		Headers: []HeaderDef{
			{Header: protocol.Ethernet{Dst: macB, Src: macA}},
			{Header: protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}, Modifiers: ipMods, Tie: tie},
			{Header: protocol.UDP{SrcPort: 1000, DstPort: 2000}, Modifiers: udpMods, Tie: tie},
		},
		Tie:    tie,
		Length: Length{Fixed: 128},
	}
}

const (
	offIPv4Src = protocol.EthernetLen + protocol.IPv4SrcOff
	offIPv4Dst = protocol.EthernetLen + protocol.IPv4DstOff
	offUDPSrc  = protocol.EthernetLen + protocol.IPv4Len + protocol.UDPSrcPortOff
	offUDPDst  = protocol.EthernetLen + protocol.IPv4Len + protocol.UDPDstPortOff
)

// flowFrames writes one packet of every flow of definition 0 (length index
// 0) and checks each parses with good checksums.
func flowFrames(t *testing.T, p *Program) [][]byte {
	t.Helper()
	d := &p.Definitions[0]
	var out [][]byte
	for f := 0; f < d.FlowCount; f++ {
		buf := make([]byte, p.MaxFrameLen())
		n := d.Write(buf, f, 0, uint32(f), 12345)
		frame := buf[:n]
		l, err := protocol.Parse(frame)
		if err != nil {
			t.Fatalf("flow %d: parse: %v", f, err)
		}
		if bad := l.Verify(frame); bad != 0 {
			t.Fatalf("flow %d: checksums fail: %v", f, bad)
		}
		out = append(out, frame)
	}
	return out
}

func u16(b []byte, off int) uint64 { return uint64(binary.BigEndian.Uint16(b[off:])) }

func u32(b []byte, off int) uint64 { return uint64(binary.BigEndian.Uint32(b[off:])) }

func TestModifierExpansion(t *testing.T) {
	type pair struct{ a, b uint64 }
	list := func(name string, xs ...uint64) Modifier { return Modifier{Name: name, List: vals(xs...)} }
	tests := []struct {
		name     string
		def      TrafficDefinition
		read     func([]byte) pair
		wantPair []pair
	}{
		{
			name: "zip of two equal lists advances in lockstep",
			def:  udpDef(nil, []Modifier{list("source_port", 1, 2, 3), list("destination_port", 7, 8, 9)}, TieZip),
			read: func(b []byte) pair { return pair{u16(b, offUDPSrc), u16(b, offUDPDst)} },
			wantPair: []pair{
				{1, 7}, {2, 8}, {3, 9},
			},
		},
		{
			name: "zip of lists of 2 and 3 yields LCM 6 tuples",
			def:  udpDef(nil, []Modifier{list("source_port", 1, 2), list("destination_port", 7, 8, 9)}, TieZip),
			read: func(b []byte) pair { return pair{u16(b, offUDPSrc), u16(b, offUDPDst)} },
			wantPair: []pair{
				{1, 7}, {2, 8}, {1, 9}, {2, 7}, {1, 8}, {2, 9},
			},
		},
		{
			name: "cartesian yields the product, last modifier fastest",
			def:  udpDef(nil, []Modifier{list("source_port", 1, 2), list("destination_port", 7, 8, 9)}, TieCartesian),
			read: func(b []byte) pair { return pair{u16(b, offUDPSrc), u16(b, offUDPDst)} },
			wantPair: []pair{
				{1, 7}, {1, 8}, {1, 9}, {2, 7}, {2, 8}, {2, 9},
			},
		},
		{
			name: "cartesian across headers combines each header's tuples",
			def: udpDef(
				[]Modifier{{Name: "source", Kind: KindIPv4, List: []Value{IPv4Addr(ip4A), IPv4Addr(ip4B)}}},
				[]Modifier{list("destination_port", 7, 8)}, TieCartesian),
			read: func(b []byte) pair { return pair{u32(b, offIPv4Src), u16(b, offUDPDst)} },
			wantPair: []pair{
				{0x0a000001, 7}, {0x0a000001, 8}, {0x0a000101, 7}, {0x0a000101, 8},
			},
		},
		{
			name: "ipv4 sequence with skip takes further values",
			def: udpDef([]Modifier{{Name: "destination", Kind: KindIPv4, Sequence: &ValueSequence{
				Count: 4, Start: IPv4Addr([4]byte{192, 168, 0, 254}),
				Skip: []Value{IPv4Addr([4]byte{192, 168, 1, 0})},
			}}}, nil, TieZip),
			read: func(b []byte) pair { return pair{u32(b, offIPv4Dst), 0} },
			wantPair: []pair{
				{0xc0a800fe, 0}, {0xc0a800ff, 0}, {0xc0a80101, 0}, {0xc0a80102, 0},
			},
		},
		{
			name: "field sequence with stop uses step (stop-start)/count",
			def: udpDef(nil, []Modifier{{Name: "source_port", Sequence: &ValueSequence{
				Count: 4, Start: Uint(100), Stop: &Value{Lo: 140},
			}}}, TieZip),
			read:     func(b []byte) pair { return pair{u16(b, offUDPSrc), 0} },
			wantPair: []pair{{100, 0}, {110, 0}, {120, 0}, {130, 0}},
		},
		{
			name: "sub-byte fields keep their neighbours: dscp and ttl",
			def: udpDef([]Modifier{
				{Name: "dscp", List: vals(46, 10)},
				{Name: "ttl", List: vals(1, 255)},
			}, nil, TieZip),
			read: func(b []byte) pair {
				return pair{u16(b, protocol.EthernetLen), u16(b, protocol.EthernetLen+8)}
			},
			wantPair: []pair{{0x4500 | 46<<2, 1<<8 | 17}, {0x4500 | 10<<2, 255<<8 | 17}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile([]TrafficDefinition{tc.def}, OrderRoundRobin, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Flows(); got != len(tc.wantPair) {
				t.Fatalf("flows = %d, want %d", got, len(tc.wantPair))
			}
			var got []pair
			for _, f := range flowFrames(t, p) {
				got = append(got, tc.read(f))
			}
			if !slices.Equal(got, tc.wantPair) {
				t.Errorf("values\n got %x\nwant %x", got, tc.wantPair)
			}
		})
	}
}

func TestAddressModifiersMACAndIPv6(t *testing.T) {
	def := TrafficDefinition{
		Headers: []HeaderDef{
			{Header: protocol.Ethernet{Dst: macB, Src: macA}, Modifiers: []Modifier{{
				Name: "source", Kind: KindMAC,
				Sequence: &ValueSequence{Count: 3, Start: MACAddr([6]byte{0, 0, 0, 0, 0, 0xff}), Skip: []Value{MACAddr([6]byte{0, 0, 0, 0, 1, 0})}},
			}}},
			{Header: protocol.IPv6{HopLimit: 64, Src: ip6A, Dst: ip6B}, Modifiers: []Modifier{{
				Name: "destination", Kind: KindIPv6, List: []Value{IPv6Addr(ip6A), IPv6Addr(ip6B), IPv6Addr([16]byte{0xfe, 0x80, 15: 9})},
			}}},
			{Header: protocol.TCP{SrcPort: 1, DstPort: 2}},
		},
		Length: Length{Fixed: 100},
	}
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	frames := flowFrames(t, p)
	wantMAC := [][6]byte{{0, 0, 0, 0, 0, 0xff}, {0, 0, 0, 0, 1, 1}, {0, 0, 0, 0, 1, 2}}
	wantIP := [][16]byte{ip6A, ip6B, {0xfe, 0x80, 15: 9}}
	for i, f := range frames {
		if [6]byte(f[6:12]) != wantMAC[i] {
			t.Errorf("flow %d: source mac %x, want %x", i, f[6:12], wantMAC[i])
		}
		if got := [16]byte(f[14+24 : 14+40]); got != wantIP[i] {
			t.Errorf("flow %d: ipv6 dst %x, want %x", i, got, wantIP[i])
		}
	}
}

func TestPermuteIsDeterministicPermutation(t *testing.T) {
	mk := func() TrafficDefinition {
		return udpDef(nil, []Modifier{{Name: "source_port", Permute: true,
			Sequence: &ValueSequence{Count: 1000, Start: Uint(1)}}}, TieZip)
	}
	ports := func() []uint64 {
		p, err := Compile([]TrafficDefinition{mk()}, OrderRoundRobin, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, f := range flowFrames(t, p) {
			out = append(out, u16(f, offUDPSrc))
		}
		return out
	}
	a, b := ports(), ports()
	if !slices.Equal(a, b) {
		t.Fatal("permutation differs between compiles")
	}
	sorted := slices.Sorted(slices.Values(a))
	for i, v := range sorted {
		if v != uint64(i+1) {
			t.Fatalf("not a permutation of 1..1000: sorted[%d] = %d", i, v)
		}
	}
	inPlace := 0
	for i, v := range a {
		if v == uint64(i+1) {
			inPlace++
		}
	}
	if inPlace > 20 {
		t.Errorf("%d of 1000 values unmoved: not shuffled", inPlace)
	}
}

func TestLengths(t *testing.T) {
	tests := []struct {
		name string
		l    Length
		want []int
	}{
		{"fixed", Length{Fixed: 64}, []int{64}},
		{"list keeps order and repeats", Length{List: []int{128, 64, 128}}, []int{128, 64, 128}},
		{"sequence step 1", Length{Sequence: &LengthSequence{Count: 3, Start: 64}}, []int{64, 65, 66}},
		{"sequence with stop and skip", Length{Sequence: &LengthSequence{Count: 4, Start: 64, Stop: 1064, Skip: []int{314}}}, []int{64, 564, 814, 1064}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def := udpDef(nil, nil, TieZip)
			def.Length = tc.l
			def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 7, Fill: Fill{Kind: FillPRBS}}
			p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
			if err != nil {
				t.Fatal(err)
			}
			d := &p.Definitions[0]
			if !slices.Equal(d.Lengths, tc.want) {
				t.Fatalf("lengths %v, want %v", d.Lengths, tc.want)
			}
			w := p.NewWriter()
			buf := make([]byte, p.MaxFrameLen())
			for i := range 2 * len(tc.want) {
				n, _ := w.Next(buf, 1)
				if n != tc.want[i%len(tc.want)]-FCSLen {
					t.Fatalf("packet %d: %d bytes, want %d", i, n, tc.want[i%len(tc.want)]-FCSLen)
				}
				l, err := protocol.Parse(buf[:n])
				if err != nil || l.Verify(buf[:n]) != 0 {
					t.Fatalf("packet %d: parse %v verify %v", i, err, l.Verify(buf[:n]))
				}
			}
		})
	}
}

func TestOrderInterleaving(t *testing.T) {
	oneFlow := func(w uint) TrafficDefinition { d := udpDef(nil, nil, TieZip); d.Weight = w; return d }
	twoFlows := func(w uint) TrafficDefinition {
		d := udpDef(nil, []Modifier{{Name: "source_port", List: vals(1, 2)}}, TieZip)
		d.Weight = w
		return d
	}
	type pkt struct{ def, flow int }
	tests := []struct {
		name  string
		defs  []TrafficDefinition
		order Order
		len   uint64
		want  []pkt
	}{
		{"round-robin weights 2 and 1", []TrafficDefinition{oneFlow(2), oneFlow(1)}, OrderRoundRobin, 3,
			[]pkt{{0, 0}, {0, 0}, {1, 0}, {0, 0}, {0, 0}, {1, 0}}},
		{"round-robin walks each definition's flows", []TrafficDefinition{twoFlows(1), oneFlow(1)}, OrderRoundRobin, 4,
			[]pkt{{0, 0}, {1, 0}, {0, 1}, {1, 0}, {0, 0}}},
		{"sequential sends weight cycles of a definition", []TrafficDefinition{twoFlows(2), oneFlow(1)}, OrderSequential, 5,
			[]pkt{{0, 0}, {0, 1}, {0, 0}, {0, 1}, {1, 0}, {0, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.defs, tc.order, 0)
			if err != nil {
				t.Fatal(err)
			}
			if p.Len() != tc.len {
				t.Errorf("Len = %d, want %d", p.Len(), tc.len)
			}
			c := p.NewCursor()
			var got []pkt
			for range tc.want {
				d, f, _ := c.Next()
				got = append(got, pkt{d, f})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("order\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// sigStacks are header stacks with modifiers on every kind of field a
// checksum covers, tunnels and odd offsets included.
func sigStacks() map[string][]HeaderDef {
	portMods := []Modifier{{Name: "source_port", List: vals(1, 0xffff, 0x8000)}, {Name: "destination_port", Permute: true, Sequence: &ValueSequence{Count: 5, Start: Uint(50)}}}
	return map[string][]HeaderDef{
		"eth/vlan/ipv4/udp": {
			{Header: protocol.Ethernet{Dst: macB, Src: macA}, Modifiers: []Modifier{{Name: "destination", Kind: KindMAC, List: []Value{MACAddr(macA), MACAddr(macB)}}}},
			{Header: protocol.VLAN{VID: 100}, Modifiers: []Modifier{{Name: "vlan_id", Sequence: &ValueSequence{Count: 3, Start: Uint(4093)}}, {Name: "priority", List: vals(7)}}},
			{Header: protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}, Modifiers: []Modifier{{Name: "source", Kind: KindIPv4, Sequence: &ValueSequence{Count: 4, Start: IPv4Addr([4]byte{10, 255, 255, 254})}}}},
			{Header: protocol.UDP{SrcPort: 9, DstPort: 9}, Modifiers: portMods},
		},
		"eth/qinq/ipv6/tcp": {
			{Header: protocol.Ethernet{Dst: macB, Src: macA}},
			{Header: protocol.VLAN{VID: 10}},
			{Header: protocol.VLAN{VID: 20}, Modifiers: []Modifier{{Name: "vlan_id", List: vals(1, 2)}}},
			{Header: protocol.IPv6{HopLimit: 9, Src: ip6A, Dst: ip6B}, Modifiers: []Modifier{{Name: "source", Kind: KindIPv6, Sequence: &ValueSequence{Count: 3, Start: IPv6Addr([16]byte{0xff, 15: 0xff})}}, {Name: "flow_label", List: vals(0xfffff, 1)}}},
			{Header: protocol.TCP{SrcPort: 1, DstPort: 2, Flags: protocol.TCPFlagSYN}, Modifiers: portMods},
		},
		"eth/mpls/ipv4/udp": {
			{Header: protocol.Ethernet{Dst: macB, Src: macA}},
			{Header: protocol.MPLS{Label: 16, TTL: 64}, Modifiers: []Modifier{{Name: "label", Sequence: &ValueSequence{Count: 3, Start: Uint(0xffffd)}}}},
			{Header: protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}, Modifiers: []Modifier{{Name: "ttl", List: vals(1, 2)}, {Name: "identification", List: vals(7, 0xffff)}}},
			{Header: protocol.UDP{SrcPort: 9, DstPort: 9}, Modifiers: portMods},
		},
		"eth/ipv4/udp/custom at odd offsets": {
			{Header: protocol.Ethernet{Dst: macB, Src: macA}},
			{Header: protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}},
			{Header: protocol.UDP{SrcPort: 9, DstPort: 9}},
			{Header: protocol.Custom{Data: []byte{1, 2, 3, 4, 5, 6, 7}}, Modifiers: []Modifier{
				{Name: "data", Offset: 1, List: vals(0xdeadbeef, 1, 0)},
				{Name: "data", Offset: 3, Kind: KindIPv4, Sequence: &ValueSequence{Count: 2, Start: Uint(0xfffffffe)}},
			}},
		},
		"eth/ipv4/ipv4/udp tunnel": {
			{Header: protocol.Ethernet{Dst: macB, Src: macA}},
			{Header: protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}},
			{Header: protocol.IPv4{TTL: 64, Src: ip4B, Dst: ip4A}, Modifiers: []Modifier{{Name: "destination", Kind: KindIPv4, List: []Value{IPv4Addr(ip4A), IPv4Addr([4]byte{255, 255, 255, 255})}}}},
			{Header: protocol.UDP{SrcPort: 9, DstPort: 9}, Modifiers: portMods},
		},
	}
}

// Every template of several stacks, after per-packet patching and
// signature, parses, verifies and carries the expected signature.
func TestPacketsParseVerifyAndCarrySignature(t *testing.T) {
	stacks := sigStacks()
	fills := []Fill{{Kind: FillZero}, {Kind: FillConstant, Value: 0xabcd}, {Kind: FillIncrement, Value: 250}, {Kind: FillDecrement, Value: 3}, {Kind: FillPRBS}}
	for name, hs := range stacks {
		for _, tie := range []Tie{TieZip, TieCartesian} {
			for fi, fill := range fills {
				def := TrafficDefinition{Headers: slices.Clone(hs), Tie: tie,
					Length:    Length{List: []int{64 + 60, 65 + 60, 1518, 127 + 60}},
					Signature: &SignatureConfig{Format: FormatOpenperfd, StreamID: 1000, Latency: Latency(fi & 1), Fill: fill}}
				for j := range def.Headers {
					def.Headers[j].Tie = tie
				}
				p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				d := &p.Definitions[0]
				hlen := 0
				for _, h := range hs {
					hlen += h.Header.Len()
				}
				for li := range d.Lengths {
					tf, tl := d.Template(li)
					if l, err := protocol.Parse(tf); err != nil || l.Verify(tf) != 0 || l.N == 0 || tl.N == 0 {
						t.Fatalf("%s: template %d: parse %v, verify %v", name, li, err, l.Verify(tf))
					}
				}
				w := p.NewWriter()
				buf := make([]byte, p.MaxFrameLen())
				for i := uint64(0); i < d.Cycle+3; i++ {
					ts := rand.Uint64()
					n, g := w.Next(buf, ts)
					frame := buf[:n]
					l, err := protocol.Parse(frame)
					if err != nil {
						t.Fatalf("%s %v: packet %d: parse: %v", name, tie, i, err)
					}
					if bad := l.Verify(frame); bad != 0 {
						t.Fatalf("%s %v fill %d: packet %d: checksums fail %v", name, tie, fi, i, bad)
					}
					sig, ok := FrameSignature(frame)
					want := signature.Signature{StreamID: 1000 + uint32(g), Sequence: w.Sequence(g) - 1, Timestamp: ts & signature.TimestampMask}
					if fi&1 == 1 {
						want.Flags |= signature.FlagEndOfFrame
					}
					if fill.Kind == FillPRBS {
						want.Flags |= signature.FlagPRBS
						if m, ok := PRBS31Errors(frame[hlen : n-SignatureLen]); ok && m != 0 {
							t.Fatalf("%s: prbs payload has %d mismatches", name, m)
						}
					}
					if !ok || sig != want {
						t.Fatalf("%s: packet %d: signature %+v %v, want %+v", name, i, sig, ok, want)
					}
				}
			}
		}
	}
}

func benchProgram(tb testing.TB) *Program {
	def := udpDef(
		[]Modifier{{Name: "source", Kind: KindIPv4, Sequence: &ValueSequence{Count: 256, Start: IPv4Addr(ip4A)}}},
		[]Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: 100, Start: Uint(1024)}}}, TieCartesian)
	def.Length = Length{List: []int{64, 512, 1518}}
	def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 1, Fill: Fill{Kind: FillPRBS}}
	p, err := Compile([]TrafficDefinition{def, udpDef(nil, nil, TieZip)}, OrderRoundRobin, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestPerPacketPathDoesNotAllocate(t *testing.T) {
	p := benchProgram(t)
	w := p.NewWriter()
	buf := make([]byte, p.MaxFrameLen())
	var sig [SignatureLen]byte
	if a := testing.AllocsPerRun(1000, func() { w.Next(buf, 1) }); a != 0 {
		t.Errorf("Writer.Next allocates %v", a)
	}
	if a := testing.AllocsPerRun(1000, func() { signature.Encode(sig[:], signature.Signature{Sequence: 1}) }); a != 0 {
		t.Errorf("signature.Encode allocates %v", a)
	}
	if a := testing.AllocsPerRun(1000, func() { signature.Decode(sig[:]) }); a != 0 {
		t.Errorf("signature.Decode allocates %v", a)
	}
}

func BenchmarkWriterNext(b *testing.B) {
	p := benchProgram(b)
	w := p.NewWriter()
	buf := make([]byte, p.MaxFrameLen())
	for i := 0; b.Loop(); i++ {
		w.Next(buf, uint64(i))
	}
}

func BenchmarkCompile65k(b *testing.B) {
	def := udpDef(
		[]Modifier{{Name: "source", Kind: KindIPv4, Sequence: &ValueSequence{Count: 256, Start: IPv4Addr(ip4A)}}},
		[]Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: 256, Start: Uint(1024)}}}, TieCartesian)
	for b.Loop() {
		if _, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrite64ByteSignature(b *testing.B) {
	def := udpDef(nil, []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: 100, Start: Uint(1024)}}}, TieZip)
	def.Length = Length{Fixed: 64}
	def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 1}
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		b.Fatal(err)
	}
	d := &p.Definitions[0]
	buf := make([]byte, p.MaxFrameLen())
	for i := 0; b.Loop(); i++ {
		d.Write(buf, i%100, 0, uint32(i), uint64(i))
	}
}

func TestSignatureFlowsAreLimitedPerDefinition(t *testing.T) {
	for _, tc := range []struct {
		a, b   uint32 // cartesian: a x b flows
		sig    bool
		wantOK bool
	}{
		{255, 257, true, true},  // 65535, the limit
		{256, 256, true, false}, // one past it
		{256, 256, false, true}, // without signatures only the flow limit counts
	} {
		def := udpDef(nil, []Modifier{{Name: "source_port", Sequence: &ValueSequence{Count: tc.a, Start: Uint(1)}},
			{Name: "destination_port", Sequence: &ValueSequence{Count: tc.b, Start: Uint(1)}}}, TieCartesian)
		if tc.sig {
			def.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 1}
		}
		_, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
		if (err == nil) != tc.wantOK {
			t.Errorf("%dx%d flows, signature %v: err %v, want ok %v", tc.a, tc.b, tc.sig, err, tc.wantOK)
		}
		if err != nil && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "traffic[0].signature")) {
			t.Errorf("%dx%d flows: %v does not name traffic[0].signature as invalid", tc.a, tc.b, err)
		}
	}
}

func TestHeadersLongerThanTheFrameAreCut(t *testing.T) {
	data := make([]byte, 446)
	for i := range data {
		data[i] = byte(i)
	}
	def := TrafficDefinition{Headers: []HeaderDef{{Header: protocol.Custom{Data: data}}}, Length: Length{Fixed: 128}}
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		t.Fatalf("a custom header longer than the frame: %v", err)
	}
	if p.MaxFrameLen() != 124 {
		t.Fatalf("MaxFrameLen %d, want 124", p.MaxFrameLen())
	}
	dst := make([]byte, 2048)
	n := p.Definitions[0].Write(dst, 0, 0, 0, 0)
	if n != 124 || !bytes.Equal(dst[:n], data[:124]) {
		t.Fatalf("frame %d bytes %x, want the first 124 header bytes", n, dst[:n])
	}

	// Cutting would lose a signature or a modified field: still refused.
	sig := def
	sig.Signature = &SignatureConfig{Format: FormatOpenperfd, StreamID: 1}
	mod := def
	mod.Headers = []HeaderDef{{Header: protocol.Ethernet{Dst: macB, Src: macA}, Modifiers: []Modifier{{Name: "ether_type", List: vals(0x0800, 0x86dd)}}},
		{Header: protocol.Custom{Data: data}}}
	for name, d := range map[string]TrafficDefinition{"signature": sig, "modifier": mod} {
		if _, err := Compile([]TrafficDefinition{d}, OrderRoundRobin, 0); err == nil || !strings.Contains(err.Error(), "length") {
			t.Errorf("%s on a frame shorter than its headers: %v, want a length error", name, err)
		}
	}
}
