package protocol

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket"

	"github.com/openperfd/openperfd/packet/checksum"
)

func TestVerifyRejectsACorruptedChecksumOfEachKind(t *testing.T) {
	frame := make([]byte, 100)
	cases := []struct {
		name    string
		stack   Stack
		corrupt int // offset of a byte to flip
		want    ChecksumErrors
	}{
		{"ipv4 header", ethIPv4UDP(), 14 + 8, BadIPv4},
		{"ipv4 source is in the udp pseudo-header too", ethIPv4UDP(), 14 + 12, BadIPv4 | BadUDP},
		{"udp payload", ethIPv4UDP(), 60, BadUDP},
		{"tcp over ipv6", Stack{Ethernet{}, IPv6{Src: ip6A}, TCP{}}, 99, BadTCP},
		{"udp over ipv6 destination", Stack{Ethernet{}, IPv6{Src: ip6A}, UDP{}}, 14 + 39, BadUDP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := c.stack.Build(frame)
			if err != nil || l.Verify(frame) != 0 {
				t.Fatalf("fresh frame: %v %b", err, l.Verify(frame))
			}
			frame[c.corrupt] ^= 0x10
			if got := l.Verify(frame); got != c.want {
				t.Fatalf("Verify %04b, want %04b", got, c.want)
			}
			frame[c.corrupt] ^= 0x10
		})
	}
}

func TestVerifyL4ChecksumPassesAbsentUDPChecksumOnlyOverIPv4(t *testing.T) {
	for _, s := range []Stack{ethIPv4UDP(), {Ethernet{}, IPv6{}, UDP{}}} {
		frame := make([]byte, 80)
		l, _ := s.Build(frame)
		ip, udp := l.Spans[1], l.Spans[2]
		put16(frame[udp.Off+6:], 0)
		got := VerifyL4Checksum(frame[ip.Off:], frame[udp.Off:udp.End], ProtoUDP)
		if want := ip.Kind == KindIPv4; got != want {
			t.Errorf("%v: zero UDP checksum verifies %v, want %v", ip.Kind, got, want)
		}
	}
	if VerifyL4Checksum(nil, make([]byte, 8), ProtoUDP) || VerifyL4Checksum([]byte{0x45}, make([]byte, 8), ProtoUDP) ||
		VerifyL4Checksum(make([]byte, 40), make([]byte, 20), 99) || VerifyIPv4Checksum([]byte{0x46, 0, 0}) {
		t.Error("short or unknown input verified")
	}
}

func TestUDPChecksumComputedAsZeroIsSentAsAllOnes(t *testing.T) {
	// Find a source port whose checksum comes out 0, then check the frame.
	frame := make([]byte, 60)
	for p := 0; p < 1<<16; p++ {
		s := Stack{Ethernet{}, IPv4{Src: ip4A, Dst: ip4B}, UDP{SrcPort: uint16(p)}}
		l, _ := s.Build(frame)
		put16(frame[40:], 0)
		ps := PseudoSumIPv4(ip4A, ip4B, ProtoUDP, 26)
		if checksum.Checksum(frame[34:], ps) != 0 {
			continue
		}
		l.UpdateChecksums(frame)
		if got := binary.BigEndian.Uint16(frame[40:]); got != 0xffff || l.Verify(frame) != 0 {
			t.Fatalf("port %d: checksum %#x", p, got)
		}
		return
	}
	t.Fatal("no port gives a zero checksum")
}

func TestPseudoHeaderSumsMatchTheirLayout(t *testing.T) {
	v4 := append(append(append(ip4A[:0:0], ip4A[:]...), ip4B[:]...), 0, ProtoTCP, 0x12, 0x34)
	if got, want := checksum.Fold(uint64(PseudoSumIPv4(ip4A, ip4B, ProtoTCP, 0x1234))), ^gopacket.FoldChecksum(gopacket.ComputeChecksum(v4, 0)); got != want {
		t.Errorf("IPv4 pseudo-header sum %#x, want %#x", got, want)
	}
	v6 := bytes.Join([][]byte{ip6A[:], ip6B[:], {0, 1, 0x12, 0x34, 0, 0, 0, ProtoUDP}}, nil)
	if got, want := checksum.Fold(uint64(PseudoSumIPv6(&ip6A, &ip6B, ProtoUDP, 0x11234))), ^gopacket.FoldChecksum(gopacket.ComputeChecksum(v6, 0)); got != want {
		t.Errorf("IPv6 pseudo-header sum %#x, want %#x", got, want)
	}
}
