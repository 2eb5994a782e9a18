package main

import (
	"testing"

	"github.com/openperfd/openperfd/packetio"
)

// TestFloorSinkVerifies: the floor row only means something if its sink
// does verify: good frames of the bench's traffic pass, a damaged header
// or datagram is counted, and frames of other sizes sum right.
func TestFloorSinkVerifies(t *testing.T) {
	for _, size := range []int{64, 65, 67, 128, 1518} {
		prog, err := generatorProgram(genConfig{size: size + 4, flows: 3, signatures: true})
		if err != nil {
			t.Fatal(err)
		}
		w := prog.NewWriter()
		frame := func(damage int) *packetio.Mbuf {
			m := packetio.NewHeapMbuf(make([]byte, packetio.MbufHeadroom+2048))
			n, _ := w.Next(m.Room(), 1<<40)
			m.SetLen(n)
			if damage > 0 {
				m.Data()[damage] ^= 0x40
			}
			return m
		}
		var f floorSink
		// Good, a changed TTL (IPv4 header only), a changed payload byte
		// (UDP only).
		f.Push(0, []*packetio.Mbuf{frame(0), frame(0), frame(22), frame(size - 20)})
		if got := f.report(); got != "floor: 4 frames, ipv4/udp checksum errors 1/1, others 0" {
			t.Errorf("%d bytes: %s", size, got)
		}
	}
}
