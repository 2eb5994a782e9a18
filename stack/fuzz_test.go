package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// FuzzReceivedFrames feeds arbitrary frames through a port's demux into
// gVisor (both strategies' code paths share it): no panic on any input.
func FuzzReceivedFrames(f *testing.F) {
	arp := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 9, 0x08, 0x06,
		0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 9, 10, 7, 0, 9, 0, 0, 0, 0, 0, 0, 10, 7, 0, 1}
	icmp := []byte{2, 0, 0, 0, 7, 1, 2, 0, 0, 0, 0, 9, 0x08, 0x00,
		0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 7, 0, 9, 10, 7, 0, 1, 8, 0, 0xf7, 0xfe, 0, 1, 0, 0}
	ns := []byte{0x33, 0x33, 0xff, 0, 7, 1, 2, 0, 0, 0, 0, 9, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 58, 255}
	// A TCP SYN and a data segment to a closed port: through the
	// interface's GRO (TCP frames go there) and gVisor's reset.
	syn := []byte{2, 0, 0, 0, 7, 1, 2, 0, 0, 0, 0, 9, 0x08, 0x00,
		0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 7, 0, 9, 10, 7, 0, 1,
		0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0}
	seg := append(append([]byte(nil), syn...), make([]byte, 100)...)
	seg[14+3], seg[14+33] = 140, 0x18 // total length, PSH|ACK
	tcp6 := []byte{2, 0, 0, 0, 7, 1, 2, 0, 0, 0, 0, 9, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 20, 6, 64}
	tcp6 = append(tcp6, make([]byte, 32+20)...)
	for _, s := range [][]byte{arp, icmp, ns, syn, seg, tcp6, {}, {1}, make([]byte, 14)} {
		f.Add(s)
	}
	d := fake.New(1, 1, 256)
	s, err := New(d, nopDataplane{}, Options{Strategy: RxDirect})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	items := []*Interface{{ID: "a", PortID: "0", Config: Config{
		MAC:  [6]byte{2, 0, 0, 0, 7, 1},
		IPv4: &IPv4Config{Method: MethodStatic, Address: netip.MustParseAddr("10.7.0.1"), Prefix: 24},
		IPv6: &IPv6Config{Method: MethodStatic, Address: netip.MustParseAddr("fd00:7::1"), Prefix: 64},
	}}}
	if _, err := s.Create(items, func(int) string { return "" }); err != nil {
		f.Fatal(err)
	}
	sink := s.ports["0"].sink
	buf := make([]byte, 2048+packetio.MbufHeadroom)
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) > 2048 {
			frame = frame[:2048]
		}
		m := packetio.NewHeapMbuf(buf)
		copy(m.Room(), frame)
		m.SetLen(len(frame))
		sink.Push(0, []*packetio.Mbuf{m})
		s.ports["0"].tx.drain()
	})
}

// FuzzSharedMACDemux feeds arbitrary frames to a port where two
// interfaces share a MAC and an IPv4 auto interface holds a claim, so the
// demux by IP (pickSharer) and the ARP watch of claims (watchARP) parse
// them: no panic on any input, and pickSharer picks a sharer or nobody.
func FuzzSharedMACDemux(f *testing.F) {
	shared := [6]byte{0, 0, 0, 0, 0, 1}
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	a4, b4 := netip.MustParseAddr("10.8.0.1"), netip.MustParseAddr("10.8.0.2")
	f.Add(udpFrame(shared, a4))
	f.Add(udpFrame(shared, b4))
	f.Add(arpFrame(1, shared, [6]byte{2, 0, 0, 0, 8, 9}, netip.MustParseAddr("10.8.0.9"), b4))
	f.Add(arpFrame(2, shared, [6]byte{2, 0, 0, 0, 8, 9}, netip.MustParseAddr("169.254.7.7"), netip.IPv4Unspecified()))
	f.Add(arpFrame(1, bcast, [6]byte{2, 0, 0, 0, 8, 9}, netip.IPv4Unspecified(), netip.MustParseAddr("169.254.7.7")))
	ns := make([]byte, 86)
	copy(ns, shared[:])
	copy(ns[6:], []byte{2, 0, 0, 0, 8, 9, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 58, 255})
	copy(ns[38:54], netip.MustParseAddr("fd00:8::b").AsSlice())
	ns[54] = 135
	copy(ns[62:78], netip.MustParseAddr("fd00:8::a").AsSlice())
	f.Add(ns)
	f.Add(make([]byte, 14))

	tm := fastLL
	s, err := New(fake.New(1, 1, 256), nopDataplane{}, Options{Strategy: RxDirect, llTimings: &tm})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	items := []*Interface{
		{ID: "a", PortID: "0", Config: Config{MAC: shared, IPv4: &IPv4Config{Method: MethodStatic, Address: a4, Prefix: 24},
			IPv6: &IPv6Config{Method: MethodStatic, Address: netip.MustParseAddr("fd00:8::a"), Prefix: 64}}},
		{ID: "b", PortID: "0", Config: Config{MAC: shared, IPv4: &IPv4Config{Method: MethodStatic, Address: b4, Prefix: 24},
			IPv6: &IPv6Config{Method: MethodStatic, Address: netip.MustParseAddr("fd00:8::b"), Prefix: 64}}},
		{ID: "auto", PortID: "0", Config: Config{MAC: [6]byte{2, 0, 0, 0, 8, 3}, IPv4: &IPv4Config{Method: MethodAuto}}},
	}
	if _, err := s.Create(items, func(int) string { return "" }); err != nil {
		f.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, state, _ := items[2].AutoIPv4(); state == "bound" {
			break
		}
		if time.Now().After(deadline) {
			f.Fatal("the auto interface claimed nothing")
		}
	}
	sink := s.ports["0"].sink
	buf := make([]byte, 2048+packetio.MbufHeadroom)
	sharers := items[:2]
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) > 2048 {
			frame = frame[:2048]
		}
		if len(frame) >= 14 {
			if it := pickSharer(sharers, frame); it != nil && it != sharers[0] && it != sharers[1] {
				t.Fatalf("picked %v", it)
			}
		}
		m := packetio.NewHeapMbuf(buf)
		copy(m.Room(), frame)
		m.SetLen(len(frame))
		sink.Push(0, []*packetio.Mbuf{m})
		s.ports["0"].tx.drain()
	})
}
