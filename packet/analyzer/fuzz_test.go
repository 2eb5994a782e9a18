package analyzer

import (
	"testing"

	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packetio"
)

// FuzzPush: arbitrary frame bytes, alone or after a valid signed frame of
// the same stream, with any word from the port on their checksums, with
// or without software checksum verification, never
// panic, each is counted once (or filtered), and the fast path gives what
// the general parser gives (on frames the port did not check); counting
// tunnels and what they carry never panics either.
func FuzzPush(f *testing.F) {
	p := compile(f, udpDef(128, 1, generator.FillPRBS))
	valid := make([]byte, p.MaxFrameLen())
	valid = valid[:p.Definitions[0].Write(valid, 0, 0, 0, 0)]
	f.Add(valid, uint16(0))
	f.Add(valid[:60], uint16(1))
	f.Add([]byte{}, uint16(2))
	f.Add(make([]byte, 13), uint16(3))
	f.Add(build(f, 100, protocol.Ethernet{}, protocol.VLAN{VID: 1}, protocol.IPv6{}, protocol.TCP{}), uint16(4))
	f.Add(build(f, 120, protocol.Ethernet{}, protocol.IPv4{}, protocol.IPv6{}, protocol.UDP{}), uint16(5))
	f.Add(build(f, 128, protocol.Ethernet{}, protocol.IPv4{}, protocol.UDP{DstPort: protocol.PortVXLAN}, protocol.Custom{Data: make([]byte, 8)},
		protocol.Ethernet{}, protocol.IPv6{}, protocol.TCP{}), uint16(2))
	short := append([]byte(nil), valid[:40]...)
	f.Add(append(short, valid[len(valid)-18:]...), uint16(6)) // a signature on a truncated frame
	for i, n := range []int{64, 128} {                        // Spirent signatures, runt and not
		sp := compile(f, spirentDef(n, 9)).Definitions[0]
		b := make([]byte, n)
		f.Add(b[:sp.Write(b, 0, 0, 1, 2)], uint16(8+2*i))
	}
	cfg := Config{
		ProtocolCounters: CountEthernet | CountIP | CountTransport,
		FlowCounters:     FrameLength | InterarrivalTime | JitterIPDV | JitterRFC | Latency | AdvancedSequencing | PRBS | Header,
		FlowDigests:      DigestLatency | DigestJitterRFC | DigestSequenceRunLength | DigestFrameLength,
		FlowLimit:        4,
	}
	mv := packetio.NewHeapMbuf(make([]byte, packetio.MbufHeadroom+len(valid)))
	mx := packetio.NewHeapMbuf(make([]byte, packetio.MbufHeadroom+65535-packetio.MbufHeadroom))
	f.Fuzz(func(t *testing.T, frame []byte, port uint16) {
		if len(frame) > 65535-packetio.MbufHeadroom {
			frame = frame[:65535-packetio.MbufHeadroom]
		}
		c := cfg
		if port&1 == 1 {
			c.Filter = dstPortFilter(port)
		}
		if port&2 == 2 { // the tunnel groups, and so the general path
			c.ProtocolCounters |= countTunnels
		}
		if port&4 == 4 {
			c.Checksums = ChecksumsSoftware
		}
		a := newStarted(t, c)
		mv.Reset()
		mv.SetLen(copy(mv.Room(), valid))
		mx.Reset()
		mx.SetLen(copy(mx.Room(), frame))
		// The port's checksum word from the port number's bits: any
		// word, true or not, is taken without harm.
		mx.SetRxChecksum(packetio.RxChecksum(port))
		a.Push(port, []*packetio.Mbuf{mv, mx, mx})
		r := a.Results()
		if got := r.Totals.FrameCount + r.FilteredFrames; got != 3 {
			t.Fatalf("counted %d + filtered %d of 3 frames", r.Totals.FrameCount, r.FilteredFrames)
		}
		diffPush(t, [][]byte{valid, frame, frame})
	})
}
