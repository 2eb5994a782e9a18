package stack

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// udpFrame is a minimal Ethernet/IPv4/UDP frame from 02:00:00:00:00:99
// (10.9.0.99) to dst (dstIP).
func udpFrame(dst [6]byte, dstIP netip.Addr) []byte {
	f := make([]byte, 60)
	copy(f[0:6], dst[:])
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 0x99})
	f[12], f[13] = 0x08, 0x00
	ip := f[14:]
	ip[0], ip[3], ip[8], ip[9] = 0x45, 46-14+14, 64, 17
	copy(ip[12:16], []byte{10, 9, 0, 99})
	a := dstIP.As4()
	copy(ip[16:20], a[:])
	return f
}

// benchBurst makes a burst of 32 heap mbufs holding frame.
func benchBurst(frame []byte) []*packetio.Mbuf {
	burst := make([]*packetio.Mbuf, 32)
	for i := range burst {
		m := packetio.NewHeapMbuf(make([]byte, 256+packetio.MbufHeadroom))
		copy(m.Room(), frame)
		m.SetLen(len(frame))
		burst[i] = m
	}
	return burst
}

// BenchmarkPushUnicast is a worker's rx demux for a burst of 32 unicast
// frames to one interface among n on the port, each with its own MAC
// (the common case). The interfaces' rx filter ("arp") rejects the
// frames, so what is measured is the FIB lookup, the demux and the
// filter, not gVisor.
func BenchmarkPushUnicast(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("interfaces=%d", n), func(b *testing.B) {
			d := fake.New(1, 1, 64)
			s, err := New(d, nopDataplane{}, Options{Strategy: RxDirect})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			items := bulkItems(2 * n) // half on port 0
			for _, it := range items {
				it.Config.RxFilter = "arp"
			}
			if _, err := s.Create(items, func(i int) string { return fmt.Sprintf("items[%d]", i) }); err != nil {
				b.Fatal(err)
			}
			target := items[0]
			burst := benchBurst(udpFrame(target.Config.MAC, target.Config.IPv4.Address))
			sink := s.ports["0"].sink
			b.ReportAllocs()
			for b.Loop() {
				sink.Push(0, burst)
			}
			if got := target.Stats().RxPackets; got != 0 {
				b.Fatalf("the filter let %d frames through", got)
			}
		})
	}
}
