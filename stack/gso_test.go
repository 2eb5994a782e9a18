package stack

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/stack/gro"

	"github.com/openperfd/openperfd/packet/checksum"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// TestBulkTCPIsSegmentedByTheLink sends 4 MiB over TCP from an interface
// on port 0 to one on port 1 of the fake pair, over IPv4 and IPv6: the
// receiver's gVisor verifies every frame's IP and TCP checksums and
// TCP their sequence, so the data arriving intact says the link cut its
// large packets right; the sender's link must have cut some.
func TestBulkTCPIsSegmentedByTheLink(t *testing.T) {
	s := wiredStack(t)
	a := &Interface{ID: "a", PortID: "0", Config: Config{MAC: [6]byte{2, 0, 0, 0, 0, 1}, IPv4: v4cfg("10.9.0.1", 24), IPv6: v6cfg("fd00:9::1")}}
	b := &Interface{ID: "b", PortID: "1", Config: Config{MAC: [6]byte{2, 0, 0, 0, 0, 2}, IPv4: v4cfg("10.9.0.2", 24), IPv6: v6cfg("fd00:9::2")}}
	mustCreate(t, s, a, b)
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	for _, tc := range []struct {
		name     string
		src, dst string
		proto    tcpip.NetworkProtocolNumber
	}{
		{"ipv4", "10.9.0.1", "10.9.0.2", header.IPv4ProtocolNumber},
		{"ipv6", "fd00:9::1", "fd00:9::2", header.IPv6ProtocolNumber},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ia, ib := mustGet(t, s, "a"), mustGet(t, s, "b")
			gva, nica := ia.GVisor()
			gvb, nicb := ib.GVisor()
			before := ia.link.gsoPackets.Load()
			ln, err := gonet.ListenTCP(gvb, tcpip.FullAddress{NIC: nicb, Addr: addrOf(tc.dst), Port: 5001}, tc.proto)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			got := make(chan []byte, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- nil
					return
				}
				defer c.Close()
				_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
				b, _ := io.ReadAll(c)
				got <- b
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := gonet.DialTCPWithBind(ctx, gva, tcpip.FullAddress{NIC: nica, Addr: addrOf(tc.src)},
				tcpip.FullAddress{NIC: nica, Addr: addrOf(tc.dst), Port: 5001}, tc.proto)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			if _, err := c.Write(data); err != nil {
				t.Fatalf("write: %v", err)
			}
			c.Close()
			segs0 := gvb.Stats().TCP.ValidSegmentsReceived.Value()
			if b := <-got; !bytes.Equal(b, data) {
				t.Fatalf("received %d bytes, want the %d sent, intact", len(b), len(data))
			}
			if n := ia.link.gsoPackets.Load() - before; n == 0 {
				t.Fatal("the link segmented no packet: gVisor did not use offload")
			}
			// Both ends are in one gVisor stack: its segments are the
			// data's, after GRO, and the ACKs. Unmerged, the data alone
			// would be over 2900 full-sized segments.
			if segs := gvb.Stats().TCP.ValidSegmentsReceived.Value() - segs0; segs > 1500 {
				t.Errorf("TCP received %d segments for %d bytes: the receiver's GRO merged few", segs, len(data))
			}
		})
	}
}

func mustGet(t *testing.T, s *Stack, id string) *Interface {
	t.Helper()
	it, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func addrOf(s string) tcpip.Address {
	a := netip.MustParseAddr(s)
	if a.Is4() {
		return tcpip.AddrFrom4(a.As4())
	}
	return tcpip.AddrFrom16(a.As16())
}

// gsoPacket builds what gVisor's TCP hands a link that segments: one
// packet of payload behind Ethernet, IP and TCP headers (with a
// timestamp option), marked for offload at mss.
func gsoPacket(v6 bool, payload []byte, mss int, flags header.TCPFlags) *gvstack.PacketBuffer {
	pkt := gvstack.NewPacketBuffer(gvstack.PacketBufferOptions{ReserveHeaderBytes: 14 + 40 + 32, Payload: buffer.MakeWithData(payload)})
	tcp := header.TCP(pkt.TransportHeader().Push(32))
	tcp.Encode(&header.TCPFields{SrcPort: 40000, DstPort: 5201, SeqNum: 0xfffff000, AckNum: 77, DataOffset: 32, Flags: flags, WindowSize: 4000})
	copy(tcp[20:], []byte{1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 9})
	src4, dst4 := tcpip.AddrFrom4([4]byte{10, 0, 0, 1}), tcpip.AddrFrom4([4]byte{10, 0, 0, 2})
	src6, dst6 := addrOf("fd00::1"), addrOf("fd00::2")
	if v6 {
		ip := header.IPv6(pkt.NetworkHeader().Push(header.IPv6MinimumSize))
		ip.Encode(&header.IPv6Fields{PayloadLength: uint16(32 + len(payload)), TransportProtocol: header.TCPProtocolNumber, HopLimit: 64, SrcAddr: src6, DstAddr: dst6})
		pkt.NetworkProtocolNumber = header.IPv6ProtocolNumber
		pkt.GSOOptions = gvstack.GSO{Type: gvstack.GSOTCPv6, NeedsCsum: true, CsumOffset: header.TCPChecksumOffset, MSS: uint16(mss), L3HdrLen: header.IPv6MinimumSize}
	} else {
		ip := header.IPv4(pkt.NetworkHeader().Push(header.IPv4MinimumSize))
		ip.Encode(&header.IPv4Fields{TotalLength: uint16(20 + 32 + len(payload)), ID: 0xfffe, Flags: header.IPv4FlagDontFragment, TTL: 64, Protocol: uint8(header.TCPProtocolNumber), SrcAddr: src4, DstAddr: dst4})
		ip.SetChecksum(^ip.CalculateChecksum())
		pkt.NetworkProtocolNumber = header.IPv4ProtocolNumber
		pkt.GSOOptions = gvstack.GSO{Type: gvstack.GSOTCPv4, NeedsCsum: true, CsumOffset: header.TCPChecksumOffset, MSS: uint16(mss), L3HdrLen: header.IPv4MinimumSize}
	}
	pkt.GSOOptions.MaxSize = gvstack.GVisorGSOMaxSize
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{SrcAddr: "\x02\x00\x00\x00\x00\x01", DstAddr: "\x02\x00\x00\x00\x00\x02", Type: pkt.NetworkProtocolNumber})
	return pkt
}

// TestWriteGSOFrames cuts large packets and checks every frame as a
// receiver would: IP and TCP checksums (gVisor's header code, not ours),
// lengths, consecutive sequence numbers and IPv4 ids, PSH and FIN on the
// last frame only, CWR on the first only, the payload intact in order;
// then gVisor's GRO must merge the frames back into one packet.
func TestWriteGSOFrames(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, size := range []int{0, 1, 999, 1000, 1001, 4321, 60000} {
			payload := make([]byte, size)
			for i := range payload {
				payload[i] = byte(i * 13)
			}
			const mss = 1000
			pool := fake.NewPool(256, 2048)
			l := &link{tx: newTxQueue(pool, 256, nil), stats: &ifaceStats{}, fam: &familyCounters{}}
			pkt := gsoPacket(v6, payload, mss, header.TCPFlagAck|header.TCPFlagPsh|header.TCPFlagFin|header.TCPFlagCwr)
			sent, ok := l.writeGSO(pkt)
			pkt.DecRef()
			want := max(1, (size+mss-1)/mss)
			if !ok || sent != want {
				t.Fatalf("v6=%v size %d: sent %d (ok %v), want %d frames", v6, size, sent, ok, want)
			}
			var got []byte
			g := new(gro.GRO)
			g.Init(true)
			cd := &countingDispatcher{}
			g.Dispatcher = cd
			for i := range sent {
				m := <-l.tx.ch
				f := append([]byte(nil), m.Data()...)
				pool.Free([]*packetio.Mbuf{m})
				var tcp header.TCP
				var src, dst tcpip.Address
				var seg int
				if v6 {
					ip := header.IPv6(f[14:])
					seg = int(ip.PayloadLength()) - 32
					tcp, src, dst = header.TCP(ip.Payload()), ip.SourceAddress(), ip.DestinationAddress()
				} else {
					ip := header.IPv4(f[14:])
					if !ip.IsChecksumValid() || ip.ID() != uint16(0xfffe+i) {
						t.Fatalf("v6=%v size %d frame %d: IPv4 checksum valid %v, id %#x", v6, size, i, ip.IsChecksumValid(), ip.ID())
					}
					seg = int(ip.TotalLength()) - 20 - 32
					tcp, src, dst = header.TCP(ip.Payload()), ip.SourceAddress(), ip.DestinationAddress()
				}
				if seg != min(mss, size-i*mss) {
					t.Fatalf("v6=%v size %d frame %d: %d payload bytes", v6, size, i, seg)
				}
				data := tcp[32 : 32+seg]
				if !tcp.IsChecksumValid(src, dst, checksum.Checksum(data, 0)^0xffff, uint16(seg)) {
					t.Fatalf("v6=%v size %d frame %d: bad TCP checksum", v6, size, i)
				}
				if s := tcp.SequenceNumber(); s != 0xfffff000+uint32(i*mss) {
					t.Fatalf("v6=%v size %d frame %d: seq %#x", v6, size, i, s)
				}
				last, first := i == sent-1, i == 0
				fl := tcp.Flags()
				if fl&header.TCPFlagPsh != 0 != last || fl&header.TCPFlagFin != 0 != last || fl&header.TCPFlagCwr != 0 != first || fl&header.TCPFlagAck == 0 {
					t.Fatalf("v6=%v size %d frame %d of %d: flags %v", v6, size, i, sent, fl)
				}
				got = append(got, data...)
				if i > 0 && !last { // GRO's input: the middle frames, without CWR, PSH or FIN
					rx := gvstack.NewPacketBuffer(gvstack.PacketBufferOptions{Payload: buffer.MakeWithData(f)})
					if !isTCP(f) || rxChecksumError(f) != ckOK || !groReady(rx, f, "\x02\x00\x00\x00\x00\x02") {
						t.Fatalf("v6=%v size %d frame %d: not a TCP frame with valid checksums to the receive path", v6, size, i)
					}
					g.Enqueue(rx)
					rx.DecRef()
				}
			}
			g.Flush()
			if !bytes.Equal(got, payload) {
				t.Fatalf("v6=%v size %d: payload not intact", v6, size)
			}
			if sent > 3 && cd.n != 1 {
				t.Errorf("v6=%v size %d: GRO delivered the %d middle frames as %d packets (%v), want 1", v6, size, sent-2, cd.n, cd.sizes)
			}
		}
	}
}

// countingDispatcher counts what GRO hands up, and the packets' sizes.
type countingDispatcher struct {
	n     int
	sizes []int
}

func (c *countingDispatcher) DeliverNetworkPacket(_ tcpip.NetworkProtocolNumber, pkt *gvstack.PacketBuffer) {
	c.n++
	c.sizes = append(c.sizes, pkt.Data().Size())
}

func (c *countingDispatcher) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *gvstack.PacketBuffer) {}
