package analyzer

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"unsafe"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/protocol"
)

// fastCfg counts everything the fast path could get wrong.
var fastCfg = Config{
	ProtocolCounters: CountEthernet | CountIP | CountTransport,
	FlowCounters:     FrameLength | Latency | AdvancedSequencing | PRBS | Header,
}

// diffPush pushes frames through the fast path and through the general
// parser alone, and fails if any result differs.
func diffPush(t testing.TB, frames [][]byte) {
	t.Helper()
	for _, mode := range []ChecksumMode{ChecksumsPort, ChecksumsSoftware} {
		cfg := fastCfg
		cfg.Checksums = mode
		fast := newStarted(t, cfg)
		general := newStarted(t, cfg)
		general.generalOnly = true
		c := &testClock{now: 1 << 40}
		fast.cfg.Clock, general.cfg.Clock = c.read, c.read
		pf, pg := newPusher(fast, 3), newPusher(general, 3)
		for _, f := range frames {
			pf.add(f)
			pg.add(f)
		}
		pf.flush()
		pg.flush()
		rf, rg := fast.Results(), general.Results()
		if !reflect.DeepEqual(rf, rg) {
			t.Fatalf("checksums %v: fast path and general parser differ:\nfast    %+v\ngeneral %+v", mode, rf, rg)
		}
	}
}

// fastFrames are frames on both sides of every check classify makes.
func fastFrames(t testing.TB) [][]byte {
	eth := protocol.Ethernet{Dst: macB, Src: macA}
	ip4 := protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}
	ip6 := protocol.IPv6{HopLimit: 64, Src: [16]byte{0x20, 1, 15: 1}, Dst: [16]byte{0x20, 1, 15: 2}}
	udp := protocol.UDP{SrcPort: 1, DstPort: 2}
	tcp := protocol.TCP{SrcPort: 3, DstPort: 4}
	vlan := protocol.VLAN{VID: 7}
	var out [][]byte
	add := func(n int, hs ...protocol.Header) []byte {
		f := build(t, n, hs...)
		out = append(out, f)
		return f
	}
	for _, n := range []int{60, 61, 64, 65, 67, 128, 1514} {
		add(n, eth, ip4, udp)
		add(n, eth, ip4, tcp)
		add(n, eth, vlan, ip4, udp)
		add(n, eth, vlan, ip4, tcp)
		if n >= 62 {
			add(n, eth, ip6, udp)
		}
		if n >= 128 {
			add(n, eth, ip6, tcp)
			add(n, eth, vlan, ip6, tcp)
			add(n, eth, protocol.VLAN{VID: 1}, protocol.VLAN{VID: 2}, ip6, udp) // QinQ: general
			add(n, eth, ip4, ip6, udp)                                          // IP in IP: general
		}
	}
	// Signed frames of the generator, odd and even lengths.
	for _, n := range []int{64, 65, 100, 129} {
		p := compile(t, udpDef(n+4, 9, generator.FillPRBS, 5, 6))
		for k := range 4 {
			b := make([]byte, p.MaxFrameLen())
			out = append(out, b[:p.Definitions[0].Write(b, k%2, 0, uint32(k), 1<<40-500)])
		}
	}
	// Signed frames of the other shapes, one stream each, so that the
	// damaged copies below meet the layout their stream's flow keeps.
	for i, hs := range [][]protocol.Header{
		{eth, ip4, tcp}, {eth, vlan, ip4, udp}, {eth, vlan, ip4, tcp}, {eth, ip6, udp}, {eth, ip6, tcp}, {eth, vlan, ip6, tcp},
	} {
		var defs []generator.HeaderDef
		for _, h := range hs {
			defs = append(defs, generator.HeaderDef{Header: h})
		}
		for _, n := range []int{110, 131} {
			p := compile(t, generator.TrafficDefinition{Headers: defs, Length: generator.Length{Fixed: n + 4},
				Signature: &generator.SignatureConfig{Format: generator.FormatOpenperfd, StreamID: uint32(100 + i)}})
			for k := range 2 {
				b := make([]byte, p.MaxFrameLen())
				out = append(out, b[:p.Definitions[0].Write(b, 0, 0, uint32(k), 1<<40-500)])
			}
		}
	}
	// Damaged copies: every byte of the headers and the signature changed in
	// turn, and cuts and padding.
	base := len(out)
	for _, f := range out[:base] {
		for i := 0; i < min(len(f), 64); i++ {
			g := append([]byte(nil), f...)
			g[i] ^= 0x5a
			out = append(out, g)
		}
		out = append(out, f[:len(f)-1], f[:len(f)/2], append(append([]byte(nil), f...), 0, 0, 0))
	}
	zero := build(t, 64, eth, ip4, udp) // IPv4 UDP without checksum
	zero[protocol.EthernetLen+protocol.IPv4Len+6], zero[protocol.EthernetLen+protocol.IPv4Len+7] = 0, 0
	out = append(out, zero)
	frag := ip4
	frag.Flags = protocol.IPv4MoreFragments
	add(64, eth, frag, udp)
	frag.Flags, frag.FragOffset = 0, 3
	add(64, eth, frag, udp)
	return out
}

func TestFastPathMatchesGeneral(t *testing.T) {
	frames := fastFrames(t)
	for i, f := range frames {
		diffPush(t, [][]byte{f})
		if t.Failed() {
			t.Fatalf("frame %d: % x", i, f)
		}
	}
	diffPush(t, frames) // all at once: interleaved flows, one burst after another
}

func TestFastPathTakesCommonFrames(t *testing.T) {
	eth := protocol.Ethernet{Dst: macB, Src: macA}
	ip4 := protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}
	ip6 := protocol.IPv6{HopLimit: 64}
	for _, hs := range [][]protocol.Header{
		{eth, ip4, protocol.UDP{}}, {eth, ip4, protocol.TCP{}}, {eth, ip6, protocol.UDP{}},
		{eth, protocol.VLAN{VID: 3}, ip6, protocol.TCP{}},
	} {
		var fi fastInfo
		f := build(t, 128, hs...)
		if bad, ok := classify(f, 0, true, &fi); !ok || bad != 0 {
			t.Errorf("%v: classify = %v, %v; want the fast path, no errors", hs, bad, ok)
		}
	}
}

// TestChecksumFold checks the fast sums against the reference on random
// data of every length, at even offsets into the buffer.
func TestChecksumFold(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		for _, off := range []int{0, 2, 34} {
			b := make([]byte, off+n)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			if n%7 == 0 {
				for i := range b {
					b[i] = 0xff // long carries
				}
			}
			got := l4Sum(unsafe.Pointer(unsafe.SliceData(b)), uintptr(off), uintptr(n), 0, 0)
			want := uint16(checksum.Sum(b[off:], uint32(n))) // l4Sum adds the length
			// l4Sum sums little-endian words: the byte-swapped sum.
			if want = uint16(want>>8 | want<<8); uint16(got) != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
				t.Fatalf("n=%d off=%d: l4Sum %#x, reference (swapped) %#x", n, off, got, want)
			}
		}
	}
}

// TestIPv4HeaderSum checks the header sum with carries against the
// reference, on random headers and on all-ones ones (every add carries).
func TestIPv4HeaderSum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 10000 {
		var h [20]byte
		for j := range h {
			h[j] = byte(r.Uint32())
			if i%5 == 0 {
				h[j] |= 0xf0 + byte(i%16)
			}
		}
		p := unsafe.Pointer(&h[0])
		got := checksum.Fold(ipv4HeaderSum(load64(p, 0), load64(p, 8), uint64(load32(p, 16))))
		want := uint16(checksum.Sum(h[:], 0))
		if want = want>>8 | want<<8; got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
			t.Fatalf("header %x: sum %#x, reference (swapped) %#x", h, got, want)
		}
	}
}
