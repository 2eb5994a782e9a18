package stack

import (
	"net/netip"
	"testing"

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
	for _, s := range [][]byte{arp, icmp, ns, {}, {1}, make([]byte, 14)} {
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
