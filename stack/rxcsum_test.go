package stack

import (
	"encoding/binary"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	gvcsum "gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// csumFrame builds an Ethernet frame of an IP packet carrying seg (a
// transport header and payload) with every checksum right, computed with
// gVisor's code, not ours. ext are IPv6 extension headers put before seg
// (their next-header bytes are filled in); fragment marks IPv4 MF.
func csumFrame(v6 bool, proto uint8, seg []byte, ext []byte, fragment bool) []byte {
	src4, dst4 := tcpip.AddrFrom4([4]byte{10, 0, 0, 1}), tcpip.AddrFrom4([4]byte{10, 0, 0, 2})
	src6, dst6 := addrOf("fd00::1"), addrOf("fd00::2")
	seg = append([]byte(nil), seg...)
	var src, dst tcpip.Address
	if v6 {
		src, dst = src6, dst6
	} else {
		src, dst = src4, dst4
	}
	if off := ckOffset(proto); off >= 0 {
		seg[off], seg[off+1] = 0, 0
		var xsum uint16
		if proto != 1 && proto != 2 { // ICMPv4 and IGMP have no pseudo-header
			xsum = header.PseudoHeaderChecksum(tcpip.TransportProtocolNumber(proto), src, dst, uint16(len(seg)))
		}
		binary.BigEndian.PutUint16(seg[off:], ^gvcsum.Checksum(seg, xsum))
	}
	f := make([]byte, 14)
	if v6 {
		binary.BigEndian.PutUint16(f[12:], 0x86dd)
		ip := make([]byte, 40)
		next := proto
		if len(ext) > 0 {
			next = ext[0]
			ext = append([]byte(nil), ext...)
			ext[0] = proto
		}
		header.IPv6(ip).Encode(&header.IPv6Fields{PayloadLength: uint16(len(ext) + len(seg)), TransportProtocol: tcpip.TransportProtocolNumber(next), HopLimit: 64, SrcAddr: src, DstAddr: dst})
		return append(append(append(f, ip...), ext...), seg...)
	}
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := header.IPv4(make([]byte, 20))
	var flags uint8
	if fragment {
		flags = header.IPv4FlagMoreFragments
	}
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(20 + len(seg)), TTL: 64, Protocol: proto, SrcAddr: src, DstAddr: dst, Flags: flags})
	ip.SetChecksum(^ip.CalculateChecksum())
	return append(append(f, ip...), seg...)
}

// ckOffset is where a protocol's checksum sits in its header (-1: none).
func ckOffset(proto uint8) int {
	switch proto {
	case 6:
		return 16
	case 17:
		return 6
	case 1, 2, 58:
		return 2
	}
	return -1
}

// TestRxChecksumErrors checks the link's verification against frames
// gVisor's code made: right ones pass; a flipped payload bit fails with
// the protocol it hits; a wrong IPv4 header checksum fails as ipv4; what
// cannot or need not be verified passes.
func TestRxChecksumErrors(t *testing.T) {
	tcp := append([]byte{0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0}, "some data."...)
	udp := append([]byte{0x30, 0x39, 0, 53, 0, 17, 0, 0}, "a datagram"[:9]...)
	icmp := append([]byte{8, 0, 0, 0, 0, 1, 0, 1}, "ping!"...)
	igmp := []byte{0x16, 0, 0, 0, 224, 0, 0, 9}
	hbh := []byte{0, 0, 5, 2, 0, 0, 1, 0} // hop-by-hop: router alert, then padding
	for _, tc := range []struct {
		name   string
		v6     bool
		proto  uint8
		seg    []byte
		ext    []byte
		frag   bool
		flipIs int // what a flipped last payload byte fails as
	}{
		{"ipv4 tcp", false, 6, tcp, nil, false, ckTCP},
		{"ipv4 udp", false, 17, udp, nil, false, ckUDP},
		{"ipv4 icmp", false, 1, icmp, nil, false, ckICMPv4},
		{"ipv4 igmp", false, 2, igmp, nil, false, ckIGMP},
		{"ipv4 fragment", false, 17, udp, nil, true, ckOK},
		{"ipv6 tcp", true, 6, tcp, nil, false, ckTCP},
		{"ipv6 udp", true, 17, udp, nil, false, ckUDP},
		{"ipv6 icmpv6 after hop-by-hop", true, 58, icmp, hbh, false, ckICMPv6},
		{"ipv6 fragment", true, 17, udp, []byte{44, 0, 0, 0, 0, 0, 0, 1}, false, ckOK},
	} {
		f := csumFrame(tc.v6, tc.proto, tc.seg, tc.ext, tc.frag)
		if k := rxChecksumError(f); k != ckOK {
			t.Errorf("%s: right frame fails as %s", tc.name, ckProtocols[k])
		}
		bad := append([]byte(nil), f...)
		bad[len(bad)-1] ^= 0x10
		if k := rxChecksumError(bad); k != tc.flipIs {
			t.Errorf("%s: flipped payload bit fails as %q, want %q", tc.name, ckProtocols[k], ckProtocols[tc.flipIs])
		}
		if !tc.v6 {
			bad := append([]byte(nil), f...)
			bad[14+10] ^= 1
			if k := rxChecksumError(bad); k != ckIPv4 {
				t.Errorf("%s: wrong header checksum fails as %q", tc.name, ckProtocols[k])
			}
		}
	}
	// Over IPv4 a zero UDP checksum means none.
	f := csumFrame(false, 17, udp, nil, false)
	f[14+20+6], f[14+20+7], f[len(f)-1] = 0, 0, f[len(f)-1]^0x10
	if k := rxChecksumError(f); k != ckOK {
		t.Errorf("ipv4 udp without checksum fails as %s", ckProtocols[k])
	}
	// Lengths past the frame and short frames are gVisor's to judge.
	for _, f := range [][]byte{nil, make([]byte, 14), csumFrame(false, 6, tcp, nil, false)[:40], csumFrame(true, 6, tcp, nil, false)[:60]} {
		if k := rxChecksumError(f); k != ckOK {
			t.Errorf("short frame %x fails as %s", f, ckProtocols[k])
		}
	}
}

// TestBadChecksumsAreDroppedAndCounted pings an interface with a request
// whose ICMP checksum is wrong: no reply, one icmpv4 checksum error in
// the protocol counters, one receive error on the interface; then a right
// one is answered.
func TestBadChecksumsAreDroppedAndCounted(t *testing.T) {
	s := wiredStack(t)
	a := &Interface{ID: "a", PortID: "0", Config: Config{MAC: [6]byte{2, 0, 0, 0, 0, 1}, IPv4: v4cfg("10.9.0.1", 24)}}
	b := &Interface{ID: "b", PortID: "1", Config: Config{MAC: [6]byte{2, 0, 0, 0, 0, 2}, IPv4: v4cfg("10.9.0.2", 24)}}
	mustCreate(t, s, a, b)
	ib := mustGet(t, s, "b")
	// Resolve first, so that the frames below reach b as built.
	if n := pingN(t, s, "a", "10.9.0.2", 1); n != 1 {
		t.Fatalf("first ping: %d replies", n)
	}
	before := s.ProtocolCounters()["icmpv4"]
	errs := ib.stats.rxErrors.Load()
	f := csumFrame(false, 1, []byte{8, 0, 0, 0, 0, 7, 0, 1, 'x'}, nil, false)
	copy(f[0:6], ib.Config.MAC[:])
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 1})
	copy(f[14+12:14+20], []byte{10, 9, 0, 1, 10, 9, 0, 2})
	ip := header.IPv4(f[14:34])
	ip.SetChecksum(0)
	ip.SetChecksum(^ip.CalculateChecksum())
	f[len(f)-1] ^= 1 // the ICMP checksum no longer matches
	ib.link.deliver(f, nil)
	after := s.ProtocolCounters()["icmpv4"]
	if d := after.ChecksumErrors - before.ChecksumErrors; d != 1 {
		t.Errorf("icmpv4 checksum errors went up by %d, want 1", d)
	}
	if d := after.RxPackets - before.RxPackets; d != 0 {
		t.Errorf("icmpv4 received %d more packets, want the bad one dropped before gVisor", d)
	}
	if d := ib.stats.rxErrors.Load() - errs; d != 1 {
		t.Errorf("interface rx errors went up by %d, want 1", d)
	}
	if n := pingN(t, s, "a", "10.9.0.2", 2); n != 2 {
		t.Fatalf("pings after the bad one: %d replies, want 2", n)
	}
}

// FuzzRxChecksumError: the link's checksum verification on any frame,
// without a panic, and the same answer twice.
func FuzzRxChecksumError(f *testing.F) {
	tcp := []byte{0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0, 'd'}
	f.Add(csumFrame(false, 6, tcp, nil, false))
	f.Add(csumFrame(true, 6, tcp, nil, false))
	f.Add(csumFrame(true, 58, []byte{128, 0, 0, 0, 0, 1, 0, 1}, []byte{0, 0, 5, 2, 0, 0, 1, 0}, false))
	f.Add(csumFrame(false, 2, []byte{0x16, 0, 0, 0, 224, 0, 0, 9}, nil, false))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		if a, b := rxChecksumError(frame), rxChecksumError(frame); a != b || a < ckOK || a >= nCk {
			t.Fatalf("answers %d then %d", a, b)
		}
	})
}
