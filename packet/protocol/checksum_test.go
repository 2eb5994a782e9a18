package protocol

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/gopacket/gopacket"
)

// naiveSum is RFC 1071 word by word.
func naiveSum(b []byte, initial uint32) uint16 {
	s := uint64(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

func TestSumMatchesRFC1071WordByWordAndGopacket(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for n := range 300 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if n%7 == 0 { // long runs of ones exercise the carries
			for i := range b {
				b[i] = 0xff
			}
		}
		init := r.Uint32() >> r.IntN(32)
		if got, want := Fold(Sum(b, init)), naiveSum(b, init); got != want {
			t.Fatalf("%d bytes, initial %#x: Sum %#x, want %#x", n, init, got, want)
		}
		if got, want := Checksum(b, 0), gopacket.FoldChecksum(gopacket.ComputeChecksum(b, 0)); got != want {
			t.Fatalf("%d bytes: Checksum %#x, gopacket %#x", n, got, want)
		}
	}
}

func TestChecksumAdjustEqualsFullRecomputationAtAnyAlignment(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for it := range 2000 {
		b := make([]byte, 8+r.IntN(64))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if it%10 == 0 { // data summing to 0xffff: a checksum of 0
			clear(b)
			b[0], b[1] = 0xff, 0xff
		}
		binary.BigEndian.PutUint16(b[2:], 0)
		binary.BigEndian.PutUint16(b[2:], Checksum(b, 0))
		wide := it%2 == 0
		size := 2
		if wide {
			size = 4
		}
		off := 4 + r.IntN(len(b)-4-size+1)
		old := uint32(binary.BigEndian.Uint16(b[off:]))
		nv := r.Uint32() & 0xffff
		if wide {
			old, nv = binary.BigEndian.Uint32(b[off:]), r.Uint32()
			binary.BigEndian.PutUint32(b[off:], nv)
		} else {
			binary.BigEndian.PutUint16(b[off:], uint16(nv))
		}
		c := binary.BigEndian.Uint16(b[2:])
		var got uint16
		switch {
		case wide && off%2 == 1:
			got = ChecksumAdjust32(c, SwapHalves(old), SwapHalves(nv))
		case wide:
			got = ChecksumAdjust32(c, old, nv)
		case off%2 == 1:
			got = ChecksumAdjust16(c, bits.ReverseBytes16(uint16(old)), bits.ReverseBytes16(uint16(nv)))
		default:
			got = ChecksumAdjust16(c, uint16(old), uint16(nv))
		}
		binary.BigEndian.PutUint16(b[2:], 0)
		if want := Checksum(b, 0); got != want {
			t.Fatalf("field of %d bytes at %d, %#x -> %#x: adjusted %#x, recomputed %#x", size, off, old, nv, got, want)
		}
	}
}

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
		if Checksum(frame[34:], ps) != 0 {
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
	if got, want := Fold(PseudoSumIPv4(ip4A, ip4B, ProtoTCP, 0x1234)), naiveSum(v4, 0); got != want {
		t.Errorf("IPv4 pseudo-header sum %#x, want %#x", got, want)
	}
	v6 := bytes.Join([][]byte{ip6A[:], ip6B[:], {0, 1, 0x12, 0x34, 0, 0, 0, ProtoUDP}}, nil)
	if got, want := Fold(PseudoSumIPv6(&ip6A, &ip6B, ProtoUDP, 0x11234)), naiveSum(v6, 0); got != want {
		t.Errorf("IPv6 pseudo-header sum %#x, want %#x", got, want)
	}
}
