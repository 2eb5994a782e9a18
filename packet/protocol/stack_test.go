package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

var (
	macA = [6]byte{2, 0, 0, 0, 0, 1}
	macB = [6]byte{2, 0, 0, 0, 0, 2}
	ip4A = [4]byte{198, 18, 0, 1}
	ip4B = [4]byte{198, 18, 0, 2}
	ip6A = [16]byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	ip6B = [16]byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}
)

func ethIPv4UDP() Stack {
	return Stack{
		Ethernet{Dst: macB, Src: macA},
		IPv4{TTL: 64, Src: ip4A, Dst: ip4B},
		UDP{SrcPort: 3357, DstPort: 3357},
	}
}

type bogus struct{}

func (bogus) Kind() Kind { return KindCustom }
func (bogus) Len() int   { return 4 }

func TestBuildRejectsWhatCannotBeAFrame(t *testing.T) {
	many := make(Stack, MaxLayers+1)
	for i := range many {
		many[i] = Custom{}
	}
	cases := []struct {
		name  string
		stack Stack
		n     int
		want  error
	}{
		{"frame under 60 bytes", ethIPv4UDP(), 59, ErrFrameTooShort},
		{"headers longer than the frame", Stack{Ethernet{}, Custom{make([]byte, 47)}}, 60, ErrFrameTooShort},
		{"frame over 65535 bytes", ethIPv4UDP(), 65536, ErrFrameTooLong},
		{"more than 16 headers", many, 60, ErrTooManyLayers},
		{"a header type of its own", Stack{Ethernet{}, bogus{}}, 60, ErrUnknownHeader},
		{"a nil header", Stack{Ethernet{}, nil}, 60, ErrUnknownHeader},
		{"a nil pointer header", Stack{Ethernet{}, (*IPv4)(nil)}, 60, ErrUnknownHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frame := make([]byte, c.n)
			if _, err := c.stack.Build(frame); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if !bytes.Equal(frame, make([]byte, c.n)) {
				t.Fatal("a failed Build wrote into the frame")
			}
		})
	}
}

func TestBuildAcceptsTheLongestFrameAndHeadersFillingIt(t *testing.T) {
	for _, n := range []int{60, 1518, 9018, 65535} {
		frame := make([]byte, n)
		if _, err := ethIPv4UDP().Build(frame); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		l, err := Parse(frame)
		if err != nil || l.Verify(frame) != 0 || int(l.PayloadEnd) != n {
			t.Fatalf("%d bytes: parse %v, %+v", n, err, l)
		}
	}
	s := Stack{Ethernet{}, Custom{make([]byte, 46)}}
	if l, err := s.Build(make([]byte, 60)); err != nil || l.PayloadOff != 60 {
		t.Fatalf("headers filling the frame: %v %+v", err, l)
	}
}

func TestBuildTakesHeadersByPointerLikeByValue(t *testing.T) {
	byVal, byPtr := make([]byte, 100), make([]byte, 100)
	v := Stack{Ethernet{Dst: macB}, VLAN{VID: 7}, MPLS{Label: 9}, IPv6{Src: ip6A}, TCP{Seq: 5}}
	p := Stack{&Ethernet{Dst: macB}, &VLAN{VID: 7}, &MPLS{Label: 9}, &IPv6{Src: ip6A}, &TCP{Seq: 5}}
	lv, err1 := v.Build(byVal)
	lp, err2 := p.Build(byPtr)
	if err1 != nil || err2 != nil || lv != lp || !bytes.Equal(byVal, byPtr) {
		t.Fatalf("by value %v %x\nby pointer %v %x", err1, byVal, err2, byPtr)
	}
}

func TestBuildWritesFieldsMarkedKeepAsGiven(t *testing.T) {
	frame := make([]byte, 100)
	s := Stack{
		Ethernet{EtherType: 0x9100, Keep: KeepType},
		VLAN{EtherType: 0x1234, Keep: KeepType},
		MPLS{Label: 1, BottomOfStack: false, Keep: KeepType},
		IPv4{TotalLength: 7, Protocol: 99, Checksum: 0xbeef, Keep: KeepType | KeepLength | KeepChecksum},
		UDP{Length: 3, Checksum: 0, Keep: KeepLength | KeepChecksum},
	}
	l, err := s.Build(frame)
	if err != nil {
		t.Fatal(err)
	}
	at := func(i, off int) uint16 { return binary.BigEndian.Uint16(frame[int(l.Spans[i].Off)+off:]) }
	checks := []struct {
		name      string
		got, want uint16
	}{
		{"Ethernet EtherType", at(0, 12), 0x9100},
		{"VLAN EtherType", at(1, 2), 0x1234},
		{"MPLS S bit", at(2, 2) & 0x100, 0},
		{"IPv4 total length", at(3, 2), 7},
		{"IPv4 protocol", uint16(frame[l.Spans[3].Off+9]), 99},
		{"IPv4 checksum", at(3, 10), 0xbeef},
		{"UDP length", at(4, 4), 3},
		{"UDP checksum", at(4, 6), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestBuildDerivesTypesOnlyFromHeadersItKnows(t *testing.T) {
	frame := make([]byte, 60)
	s := Stack{
		Ethernet{EtherType: 0x88b5},
		Custom{[]byte{1, 2}},
	}
	if _, err := s.Build(frame); err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint16(frame[12:]); got != 0x88b5 {
		t.Fatalf("EtherType before a custom header %#x, want the given 0x88b5", got)
	}
	s = Stack{Ethernet{}, IPv4{Protocol: 253}}
	if _, err := s.Build(frame); err != nil {
		t.Fatal(err)
	}
	if frame[23] != 253 || binary.BigEndian.Uint16(frame[16:]) != 46 || !VerifyIPv4Checksum(frame[14:]) {
		t.Fatalf("last IPv4: protocol %d length %d", frame[23], binary.BigEndian.Uint16(frame[16:]))
	}
}

func TestBuildTagsOnlyTheOutermostOfStackedVLANsAsServiceTag(t *testing.T) {
	frame := make([]byte, 80)
	s := Stack{Ethernet{}, VLAN{VID: 1}, VLAN{VID: 2}, VLAN{VID: 3}, IPv4{}}
	if _, err := s.Build(frame); err != nil {
		t.Fatal(err)
	}
	got := []uint16{binary.BigEndian.Uint16(frame[12:]), binary.BigEndian.Uint16(frame[16:]),
		binary.BigEndian.Uint16(frame[20:]), binary.BigEndian.Uint16(frame[24:])}
	want := []uint16{0x88a8, 0x8100, 0x8100, 0x0800}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("types %#x, want %#x", got, want)
		}
	}
}

func TestBuildHeadersLeavesThePayloadForTheCaller(t *testing.T) {
	frame := bytes.Repeat([]byte{0xa5}, 60)
	l, err := ethIPv4UDP().BuildHeaders(frame)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(l.Payload(frame), bytes.Repeat([]byte{0xa5}, 18)) || l.Verify(frame) != 0 {
		t.Fatalf("payload %x verify %b", l.Payload(frame), l.Verify(frame))
	}
	copy(l.Payload(frame), "later payload")
	if l.Verify(frame) != BadUDP {
		t.Fatal("a payload written after the build must need UpdateChecksums")
	}
	l.UpdateChecksums(frame)
	if l.Verify(frame) != 0 {
		t.Fatal("UpdateChecksums left a bad checksum")
	}
}

func TestBuildAndParseDoNotAllocate(t *testing.T) {
	stacks := map[string]Stack{
		"eth+ipv4+udp":                  ethIPv4UDP(),
		"eth+qinq+ipv6+tcp":             {Ethernet{}, VLAN{}, VLAN{}, IPv6{Src: ip6A}, TCP{}},
		"eth+mpls2+ipv4+tcp by pointer": {&Ethernet{}, &MPLS{}, &MPLS{}, &IPv4{}, &TCP{}},
		"vxlan tunnel": {Ethernet{}, IPv4{}, UDP{DstPort: 4789}, Custom{make([]byte, 8)},
			Ethernet{}, IPv6{}, UDP{}},
	}
	frame := make([]byte, 256)
	for name, s := range stacks {
		var l Layers
		if n := testing.AllocsPerRun(100, func() { l, _ = s.Build(frame) }); n != 0 {
			t.Errorf("%s: Build allocates %v times", name, n)
		}
		if n := testing.AllocsPerRun(100, func() { l, _ = Parse(frame) }); n != 0 {
			t.Errorf("%s: Parse allocates %v times", name, n)
		}
		if n := testing.AllocsPerRun(100, func() {
			l.SetUint32(frame, int(l.PayloadOff), 42)
			l.SetBytes(frame, int(l.Spans[0].Off), macA[:])
			_ = l.Verify(frame)
		}); n != 0 {
			t.Errorf("%s: patching allocates %v times", name, n)
		}
	}
}
