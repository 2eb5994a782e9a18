package checksum

import (
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
		if got, want := uint16(Sum(b, init)), naiveSum(b, init); got != want {
			t.Fatalf("%d bytes, initial %#x: Sum %#x, want %#x", n, init, got, want)
		}
		if got, want := Checksum(b, 0), gopacket.FoldChecksum(gopacket.ComputeChecksum(b, 0)); got != want {
			t.Fatalf("%d bytes: Checksum %#x, gopacket %#x", n, got, want)
		}
	}
}

func TestUpdateEqualsFullRecomputationAtAnyAlignment(t *testing.T) {
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
			got = Update32(c, SwapHalves(old), SwapHalves(nv))
		case wide:
			got = Update32(c, old, nv)
		case off%2 == 1:
			got = Update16(c, bits.ReverseBytes16(uint16(old)), bits.ReverseBytes16(uint16(nv)))
		default:
			got = Update16(c, uint16(old), uint16(nv))
		}
		binary.BigEndian.PutUint16(b[2:], 0)
		if want := Checksum(b, 0); got != want {
			t.Fatalf("field of %d bytes at %d, %#x -> %#x: adjusted %#x, recomputed %#x", size, off, old, nv, got, want)
		}
	}
}

// refFold is Fold by definition: s modulo 0xffff, with 0xffff for the
// nonzero multiples.
func refFold(s uint64) uint16 {
	if s == 0 {
		return 0
	}
	if r := s % 0xffff; r != 0 {
		return uint16(r)
	}
	return 0xffff
}

func TestFoldIsTheSumModulo0xffffOverTheWholeRange(t *testing.T) {
	edges := []uint64{0, 1, 0xfffe, 0xffff, 0x10000, 0x1fffe, 0xffffffff, 1 << 32, 1<<33 - 2, 1<<33 - 1,
		0xffff_fffe_ffff_ffff, 0xffff_ffff_0000_0000, 1<<64 - 2, 1<<64 - 1}
	r := rand.New(rand.NewPCG(5, 5))
	for range 1 << 20 {
		edges = append(edges, r.Uint64()>>r.IntN(64))
	}
	for _, s := range edges {
		if got, want := Fold(s), refFold(s); got != want {
			t.Fatalf("Fold(%#x) = %#x, want %#x", s, got, want)
		}
	}
}

func TestCombineIsFoldOfTheSum(t *testing.T) {
	for _, a := range []uint16{0, 1, 0x7fff, 0xfffe, 0xffff} {
		for b := range 1 << 16 {
			if got, want := Combine(a, uint16(b)), Fold(uint64(a)+uint64(b)); got != want {
				t.Fatalf("Combine(%#x, %#x) = %#x, want %#x", a, b, got, want)
			}
		}
	}
}
