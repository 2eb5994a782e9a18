// Over 600 lines: every analyzer behaviour (sequencing, latency, flows, protocol counters, checksums, filters, lifecycle) through one Push harness.

package analyzer

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packetio"
)

func seqRange(from, to uint32) []uint32 {
	var s []uint32
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func without(s []uint32, drop ...uint32) []uint32 {
	return slices.DeleteFunc(slices.Clone(s), func(x uint32) bool { return slices.Contains(drop, x) })
}

func TestSequenceClassification(t *testing.T) {
	clean := seqRange(0, 100)
	swapped := slices.Clone(clean)
	swapped[10], swapped[11] = swapped[11], swapped[10]
	swapped[50], swapped[52] = swapped[52], swapped[50]
	dup := slices.Insert(slices.Clone(clean), 21, 20) // 20 twice in a row
	dup = slices.Insert(dup, 41, 35)                  // 35 again, within the run
	late := append(without(clean, 5), 5)              // 5 arrives 94 frames late
	tests := []struct {
		name      string
		seqs      []uint32
		late      uint32 // threshold; 0: default
		want      Sequence
		wantFrame uint64
	}{
		{"clean stream", clean, 0, Sequence{InOrder: 100, RunLength: 100}, 100},
		{"three dropped", without(clean, 5, 6, 70), 0, Sequence{Dropped: 3, InOrder: 97, RunLength: 29}, 97},
		{"tail dropped is not seen", seqRange(0, 90), 0, Sequence{InOrder: 90, RunLength: 90}, 90},
		{"duplicates", dup, 0, Sequence{Duplicate: 2, InOrder: 100, RunLength: 100}, 102},
		// 10,11 swapped: 11 skips 10 (dropped 1), 10 comes back (reordered).
		// 50,52 swapped: 52 skips 2, 51 and 50 come back, both reordered.
		{"two swaps", swapped, 0, Sequence{Reordered: 3, InOrder: 97, RunLength: 48}, 100},
		{"reordered within threshold", late, 0, Sequence{Reordered: 1, InOrder: 99, RunLength: 94}, 100},
		{"late beyond threshold", late, 50, Sequence{Late: 1, InOrder: 99, RunLength: 94}, 100},
		{"sequence wraps", []uint32{0xfffffffe, 0xffffffff, 0, 1}, 0, Sequence{InOrder: 4, RunLength: 4}, 4},
	}
	p := compile(t, udpDef(128, 100, generator.FillZero))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &testClock{}
			a := newStarted(t, Config{FlowCounters: AdvancedSequencing, Clock: c.read, LateThreshold: tt.late})
			sendSeq(t, newPusher(a, 0), c, &p.Definitions[0], 0, tt.seqs, func(int) uint64 { return 0 })
			r := a.Results()
			if len(r.Flows) != 1 {
				t.Fatalf("%d flows, want 1", len(r.Flows))
			}
			f := r.Flows[0]
			if f.Counters.FrameCount != tt.wantFrame || *f.Counters.Sequence != tt.want {
				t.Fatalf("frames %d sequence %+v, want %d %+v", f.Counters.FrameCount, *f.Counters.Sequence, tt.wantFrame, tt.want)
			}
			if *r.Totals.Sequence != tt.want {
				t.Fatalf("totals %+v, want %+v", *r.Totals.Sequence, tt.want)
			}
		})
	}
}

func TestLatencyJitterInterarrival(t *testing.T) {
	p := compile(t, udpDef(128, 7, generator.FillZero))
	c := &testClock{now: 1 << 50} // bits above 48 must not matter
	a := newStarted(t, Config{
		FlowCounters: Latency | JitterIPDV | JitterRFC | InterarrivalTime | FrameLength | AdvancedSequencing,
		FlowDigests:  DigestLatency | DigestJitterRFC | DigestJitterIPDV,
		Clock:        c.read,
	})
	lats := []uint64{100, 150, 130, 200}
	sendSeq(t, newPusher(a, 3), c, &p.Definitions[0], 0, seqRange(0, 4), func(i int) uint64 { return lats[i] })
	f := flowByStream(t, a.Results(), 7)
	got := f.Counters
	check := func(name string, s *Summary, want Summary) {
		t.Helper()
		if s == nil || *s != want {
			t.Errorf("%s = %+v, want %+v", name, s, want)
		}
	}
	// Sample std dev of 100,150,130,200: sqrt(5300/3) = 42.03.
	check("latency", got.Latency, Summary{Count: 4, Min: 100, Max: 200, Total: 580, StdDev: 42})
	check("ipdv", got.JitterIPDV, Summary{Count: 3, Min: -20, Max: 70, Total: 100, StdDev: 47})
	// RFC 4689: |50|, |-20|, |70|; sample std dev sqrt(3800/3 / 2) = 25.17.
	check("rfc jitter", got.JitterRFC, Summary{Count: 3, Min: 20, Max: 70, Total: 140, StdDev: 25})
	check("interarrival", got.Interarrival, Summary{Count: 3, Min: 1000, Max: 1000, Total: 3000})
	check("frame length", got.FrameLength, Summary{Count: 4, Min: 128, Max: 128, Total: 512})
	if f.Key.Port != 3 {
		t.Errorf("port %d, want 3", f.Key.Port)
	}
	d := f.Digests.Latency
	// Percentiles within the digests' 1%; min and max exact.
	if d == nil || d.Count != 4 || d.P50 < 129 || d.P50 > 131 || d.P999 < 198 || d.P999 > 200 || d.Min != 100 || d.Max != 200 {
		t.Errorf("latency digest %+v", d)
	}
	// Signed, as the ipdv summary: 50, -20, 70.
	if d := f.Digests.JitterIPDV; d == nil || d.Count != 3 || d.Min != -20 || d.Max != 70 || len(d.Centroids) != 3 || d.Centroids[0].Mean > -19 {
		t.Errorf("ipdv digest %+v", d)
	}
	if f.Digests.FrameLength != nil {
		t.Error("frame length digest not configured but present")
	}
}

func TestLatencyAcrossTimestampWrap(t *testing.T) {
	p := compile(t, udpDef(64, 1, generator.FillZero))
	c := &testClock{now: 1<<48 - 2500} // tx before the 48-bit wrap, rx after it
	a := newStarted(t, Config{FlowCounters: Latency, Clock: c.read})
	sendSeq(t, newPusher(a, 0), c, &p.Definitions[0], 0, seqRange(0, 5), func(int) uint64 { return 1500 })
	if l := flowByStream(t, a.Results(), 1).Counters.Latency; l.Min != 1500 || l.Max != 1500 {
		t.Fatalf("latency %+v, want 1500", l)
	}
}

func TestFlowsPerStreamAndFrameCounts(t *testing.T) {
	p := compile(t, udpDef(128, 500, generator.FillZero, 1, 2, 3), udpDef(256, 900, generator.FillZero))
	a := newStarted(t, Config{FlowCounters: FrameLength | AdvancedSequencing, ProtocolCounters: CountEthernet | CountIP | CountTransport})
	pu := newPusher(a, 1)
	w := p.NewWriter()
	buf := make([]byte, p.MaxFrameLen())
	const n = 1000
	for range n {
		k, _ := w.Next(buf, 0)
		pu.add(buf[:k])
	}
	pu.flush()
	r := a.Results()
	want := map[uint32]uint64{}
	for g := range p.Flows() {
		pk, _ := p.FlowCounts(n, g)
		d := &p.Definitions[p.Definition(g)]
		want[d.StreamID(g-d.FlowOffset)] = pk
	}
	if len(r.Flows) != len(want) {
		t.Fatalf("%d flows, want %d", len(r.Flows), len(want))
	}
	for _, f := range r.Flows {
		if f.Counters.FrameCount != want[f.Key.StreamID] || f.Counters.Sequence.Dropped != 0 ||
			f.Counters.Sequence.InOrder != f.Counters.FrameCount {
			t.Errorf("stream %d: %d frames %+v, want %d in order", f.Key.StreamID, f.Counters.FrameCount, *f.Counters.Sequence, want[f.Key.StreamID])
		}
	}
	if r.Totals.FrameCount != n || r.Protocol.Ethernet.IP != n || r.Protocol.IP.IPv4 != n || r.Protocol.Transport.UDP != n {
		t.Fatalf("totals %d, protocol %+v", r.Totals.FrameCount, r.Protocol)
	}
	if want := p.Octets(n); uint64(r.Totals.FrameLength.Total) != want {
		t.Fatalf("octets %d, generator sent %d", r.Totals.FrameLength.Total, want)
	}
}

func build(t testing.TB, length int, hs ...protocol.Header) []byte {
	t.Helper()
	frame := make([]byte, length)
	if _, err := protocol.Stack(hs).Build(frame); err != nil {
		t.Fatal(err)
	}
	return frame
}

func TestProtocolCounters(t *testing.T) {
	eth := protocol.Ethernet{Dst: macB, Src: macA}
	ip4 := protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}
	ip6 := protocol.IPv6{HopLimit: 64, Src: [16]byte{0x20, 1, 15: 1}, Dst: [16]byte{0x20, 1, 15: 2}}
	udp := protocol.UDP{SrcPort: 1, DstPort: 2}
	tcp := protocol.TCP{SrcPort: 1, DstPort: 2}
	frag := ip4
	frag.Flags = protocol.IPv4MoreFragments
	sctp := ip4
	sctp.Protocol, sctp.Keep = 132, protocol.KeepType
	arp := eth
	arp.EtherType, arp.Keep = protocol.EtherTypeARP, protocol.KeepType
	lldp := eth
	lldp.EtherType, lldp.Keep = 0x88cc, protocol.KeepType
	frames := []struct {
		frame []byte
		times int
	}{
		{build(t, 64, eth, ip4, udp), 5},
		{build(t, 80, eth, ip4, tcp), 4},
		{build(t, 90, eth, ip6, udp), 3},
		{build(t, 64, eth, protocol.VLAN{VID: 10}, ip4, udp), 2},
		{build(t, 64, eth, protocol.VLAN{VID: 10}, protocol.VLAN{VID: 20}, ip4, udp), 1},
		{build(t, 64, eth, frag), 2},
		{build(t, 64, eth, sctp), 1},
		{build(t, 64, arp), 3},
		{build(t, 64, lldp), 1},
	}
	a := newStarted(t, Config{ProtocolCounters: CountEthernet | CountIP | CountTransport})
	pu := newPusher(a, 0)
	for _, f := range frames {
		for range f.times {
			pu.add(f.frame)
		}
	}
	pu.flush()
	got := a.Results().Protocol
	want := ProtocolResults{
		Ethernet:  EthernetCounters{IP: 15, VLAN: 2, QinQ: 1, ARP: 3, LLDP: 1},
		IP:        IPCounters{IPv4: 15, IPv6: 3},
		Transport: TransportCounters{UDP: 11, TCP: 4, Fragmented: 2, SCTP: 1},
	}
	if got != want {
		t.Fatalf("protocol counters\n got %+v\nwant %+v", got, want)
	}
	// Only the groups asked for.
	b := newStarted(t, Config{ProtocolCounters: CountIP})
	pb := newPusher(b, 0)
	pb.add(frames[0].frame)
	pb.flush()
	if got := b.Results().Protocol; got != (ProtocolResults{IP: IPCounters{IPv4: 1}}) {
		t.Fatalf("ip only: %+v", got)
	}
}

func TestChecksumErrors(t *testing.T) {
	eth := protocol.Ethernet{Dst: macB, Src: macA}
	ip4 := protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}
	good := build(t, 128, eth, ip4, protocol.UDP{SrcPort: 1, DstPort: 2})
	tcp := build(t, 128, eth, ip4, protocol.TCP{SrcPort: 1, DstPort: 2})
	corrupt := func(f []byte, off int) []byte { g := slices.Clone(f); g[off] ^= 0x40; return g }
	for _, filter := range []Filter{nil, matchAll{}} { // the fast path, then the general one
		for _, mode := range []ChecksumMode{ChecksumsSoftware, ChecksumsPort} {
			a := newStarted(t, Config{Checksums: mode, Filter: filter})
			pu := newPusher(a, 0)
			for range 10 {
				pu.add(good)
			}
			for range 3 {
				pu.add(corrupt(good, 14+8)) // TTL: IPv4 header checksum fails
			}
			for range 4 {
				pu.add(corrupt(good, 100)) // payload: UDP checksum fails
			}
			for range 2 {
				pu.add(corrupt(tcp, 100))
			}
			pu.add(tcp)
			pu.flush()
			r := a.Results()
			want := Errors{IPv4Checksum: 3, UDPChecksum: 4, TCPChecksum: 2}
			wantChecks := ChecksumResults{Mode: mode, IPv4: Verified{Software: 20}, UDP: Verified{Software: 17}, TCP: Verified{Software: 3}}
			if mode == ChecksumsPort {
				// The test port checks nothing: nothing is verified, and
				// the results say so.
				want = Errors{}
				wantChecks = ChecksumResults{Mode: mode, IPv4: Verified{None: 20}, UDP: Verified{None: 17}, TCP: Verified{None: 3}}
			}
			if r.Totals.Errors != want || r.Totals.FrameCount != 20 {
				t.Errorf("filter %v checksums %v: errors %+v over %d frames, want %+v over 20", filter, mode, r.Totals.Errors, r.Totals.FrameCount, want)
			}
			if r.Checksums != wantChecks {
				t.Errorf("filter %v checksums %v: verified %+v, want %+v", filter, mode, r.Checksums, wantChecks)
			}
		}
	}
}

// matchAll is a filter that matches every frame, which sends every frame
// down the general path.
type matchAll struct{}

func (matchAll) Match([]byte) bool { return true }

// TestPortCheckedChecksums: where the port checked a checksum (rx
// checksum offload), its word counts, not the bytes'; where it did not,
// the analyzer sums them with software verification on, and leaves them
// unverified (and says so) without.
func TestPortCheckedChecksums(t *testing.T) {
	eth := protocol.Ethernet{Dst: macB, Src: macA}
	ip4 := protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}
	udp := build(t, 128, eth, ip4, protocol.UDP{SrcPort: 1, DstPort: 2})
	tcp := build(t, 128, eth, ip4, protocol.TCP{SrcPort: 1, DstPort: 2})
	udp6 := build(t, 128, eth, protocol.IPv6{HopLimit: 64}, protocol.UDP{SrcPort: 1, DstPort: 2})
	noSum := slices.Clone(udp) // IPv4 UDP without a checksum
	noSum[14+20+6], noSum[14+20+7] = 0, 0
	corrupt := func(f []byte, off int) []byte { g := slices.Clone(f); g[off] ^= 0x40; return g }
	const (
		ipBad, ipGood, ipNone = packetio.RxIPChecksumBad, packetio.RxIPChecksumGood, packetio.RxIPChecksumMask
		l4Bad, l4Good, l4None = packetio.RxL4ChecksumBad, packetio.RxL4ChecksumGood, packetio.RxL4ChecksumMask
	)
	for _, c := range []struct {
		name     string
		frame    []byte
		ck       packetio.RxChecksum
		want     Errors // with software verification
		portOnly bool   // without it, no errors (the port did not check the broken one)
	}{
		{"good bytes, port says IPv4 bad", udp, ipBad | l4Good, Errors{IPv4Checksum: 1}, false},
		{"good bytes, port says UDP bad", udp, ipGood | l4Bad, Errors{UDPChecksum: 1}, false},
		{"good bytes, port says TCP bad", tcp, l4Bad, Errors{TCPChecksum: 1}, false},
		{"good bytes, port says IPv6 UDP bad", udp6, l4Bad, Errors{UDPChecksum: 1}, false},
		{"bad TTL, port says good", corrupt(udp, 14+8), ipGood | l4Good, Errors{}, false},
		{"bad TTL, port verified integrity", corrupt(udp, 14+8), ipNone | l4None, Errors{}, false},
		{"bad TTL, port did not check", corrupt(udp, 14+8), 0, Errors{IPv4Checksum: 1}, true},
		{"bad TTL, port checked UDP only", corrupt(udp, 14+8), l4Good, Errors{IPv4Checksum: 1}, true},
		{"bad payload, port says good", corrupt(udp, 100), ipGood | l4Good, Errors{}, false},
		{"bad payload, port checked IPv4 only", corrupt(udp, 100), ipGood, Errors{UDPChecksum: 1}, true},
		{"bad TCP payload, port says good", corrupt(tcp, 100), l4Good, Errors{}, false},
		{"no UDP checksum, port says bad", noSum, l4Bad, Errors{}, false},
	} {
		for _, mode := range []ChecksumMode{ChecksumsSoftware, ChecksumsPort} {
			a := newStarted(t, Config{Checksums: mode})
			pu := newPusher(a, 0)
			pu.addChecked(c.frame, c.ck)
			pu.flush()
			want := c.want
			if mode == ChecksumsPort && c.portOnly {
				want = Errors{}
			}
			if r := a.Results(); r.Totals.Errors != want || r.Totals.FrameCount != 1 {
				t.Errorf("%s, checksums %v: errors %+v over %d frames, want %+v over 1", c.name, mode, r.Totals.Errors, r.Totals.FrameCount, want)
			}
		}
	}
}

// Results say who verified each checksum: the port where its flags say
// good or bad, the software where it did not and software verification
// is on, nobody otherwise; frames without the checksum are not counted.
func TestChecksumResultsSayWhoVerified(t *testing.T) {
	eth := protocol.Ethernet{Dst: macB, Src: macA}
	ip4 := protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}
	udp := build(t, 128, eth, ip4, protocol.UDP{SrcPort: 1, DstPort: 2})
	tcp6 := build(t, 128, eth, protocol.IPv6{HopLimit: 64}, protocol.TCP{SrcPort: 1, DstPort: 2})
	noSum := slices.Clone(udp)
	noSum[14+20+6], noSum[14+20+7] = 0, 0
	for _, mode := range []ChecksumMode{ChecksumsSoftware, ChecksumsPort} {
		a := newStarted(t, Config{Checksums: mode})
		pu := newPusher(a, 0)
		pu.addChecked(udp, packetio.RxIPChecksumGood|packetio.RxL4ChecksumGood)
		pu.addChecked(udp, packetio.RxIPChecksumGood) // the port did not check UDP
		pu.addChecked(udp, 0)
		pu.addChecked(tcp6, packetio.RxL4ChecksumBad)
		pu.addChecked(tcp6, 0)
		pu.addChecked(noSum, 0)
		pu.flush()
		sw := func(n uint64) Verified { // n frames the port did not check
			if mode == ChecksumsSoftware {
				return Verified{Software: n}
			}
			return Verified{None: n}
		}
		want := ChecksumResults{Mode: mode,
			IPv4: Verified{Port: 2, Software: sw(2).Software, None: sw(2).None},
			UDP:  Verified{Port: 1, Software: sw(2).Software, None: sw(2).None},
			TCP:  Verified{Port: 1, Software: sw(1).Software, None: sw(1).None},
		}
		if got := a.Results().Checksums; got != want {
			t.Errorf("checksums %v: %+v, want %+v", mode, got, want)
		}
	}
}

func TestUnsignedFlowsByTuple(t *testing.T) {
	p := compile(t, udpDef(128, 0, generator.FillZero, 10, 11, 12))
	a := newStarted(t, Config{FlowCounters: AdvancedSequencing | Latency | Header})
	pu := newPusher(a, 2)
	w := p.NewWriter()
	buf := make([]byte, p.MaxFrameLen())
	for range 30 {
		n, _ := w.Next(buf, 0)
		pu.add(buf[:n])
	}
	// The same tuple in a VLAN is another flow.
	vlan := build(t, 128, protocol.Ethernet{Dst: macB, Src: macA}, protocol.VLAN{VID: 42},
		protocol.IPv4{TTL: 64, Src: ip4A, Dst: ip4B}, protocol.UDP{SrcPort: 10, DstPort: 2000})
	pu.add(vlan)
	pu.flush()
	r := a.Results()
	if len(r.Flows) != 4 {
		t.Fatalf("%d flows, want 4: %+v", len(r.Flows), r.Flows)
	}
	for i, f := range r.Flows[:3] {
		k := f.Key
		want := FlowKey{Port: 2, IP: 4, Proto: protocol.ProtoUDP, SrcPort: uint16(10 + i), DstPort: 2000}
		copy(want.Src[:], ip4A[:])
		copy(want.Dst[:], ip4B[:])
		if k != want || f.Counters.FrameCount != 10 {
			t.Errorf("flow %d: key %+v frames %d, want %+v 10", i, k, f.Counters.FrameCount, want)
		}
		if f.Counters.Sequence.InOrder != 0 || f.Counters.Latency.Count != 0 {
			t.Errorf("unsigned flow has signature results: %+v %+v", f.Counters.Sequence, f.Counters.Latency)
		}
		if len(f.Counters.Header) != 42 {
			t.Errorf("header %d bytes, want 42", len(f.Counters.Header))
		}
	}
	if k := r.Flows[3].Key; !k.HasVLAN || k.VLAN != 42 || k.SrcPort != 10 || r.Flows[3].Counters.FrameCount != 1 {
		t.Errorf("vlan flow %+v", r.Flows[3])
	}
}

func TestFlowLimitOverflow(t *testing.T) {
	p := compile(t, udpDef(100, 1, generator.FillZero, 1, 2, 3, 4, 5))
	a := newStarted(t, Config{FlowLimit: 2, FlowCounters: FrameLength})
	pu := newPusher(a, 0)
	w := p.NewWriter()
	buf := make([]byte, p.MaxFrameLen())
	for range 50 {
		n, _ := w.Next(buf, 0)
		pu.add(buf[:n])
	}
	pu.flush()
	r := a.Results()
	if len(r.Flows) != 2 || r.OverflowFrames != 30 || r.Totals.FrameCount != 50 || r.Totals.FrameLength.Count != 50 {
		t.Fatalf("%d flows, %d overflow, %d total", len(r.Flows), r.OverflowFrames, r.Totals.FrameCount)
	}
	a.Reset()
	pu.add(buf[:96])
	pu.flush()
	if r := a.Results(); len(r.Flows) != 1 || r.OverflowFrames != 0 {
		t.Fatalf("after reset: %d flows, %d overflow", len(r.Flows), r.OverflowFrames)
	}
}

type portFilter uint16

func (f portFilter) Match(frame []byte) bool {
	return len(frame) >= 38 && binary.BigEndian.Uint16(frame[34:]) == uint16(f)
}

type dstPortFilter uint16

func (f dstPortFilter) Match(frame []byte) bool {
	return len(frame) >= 38 && binary.BigEndian.Uint16(frame[36:]) == uint16(f)
}

func TestFilter(t *testing.T) {
	p := compile(t, udpDef(100, 1, generator.FillZero, 7, 8))
	a := newStarted(t, Config{Filter: portFilter(8)})
	pu := newPusher(a, 0)
	w := p.NewWriter()
	buf := make([]byte, p.MaxFrameLen())
	for range 10 {
		n, _ := w.Next(buf, 0)
		pu.add(buf[:n])
	}
	pu.flush()
	r := a.Results()
	if len(r.Flows) != 1 || r.Flows[0].Key.StreamID != 2 || r.Totals.FrameCount != 5 || r.FilteredFrames != 5 {
		t.Fatalf("%d flows, %d frames, %d filtered", len(r.Flows), r.Totals.FrameCount, r.FilteredFrames)
	}
}

func TestPRBSErrors(t *testing.T) {
	p := compile(t, udpDef(1000, 3, generator.FillPRBS))
	a := newStarted(t, Config{FlowCounters: PRBS, Checksums: ChecksumsSoftware})
	pu := newPusher(a, 0)
	buf := make([]byte, p.MaxFrameLen())
	d := &p.Definitions[0]
	for i := range 10 {
		n := d.Write(buf, 0, 0, uint32(i), 0)
		if i == 4 || i == 7 {
			buf[500] ^= 0x08 // one bit, far from the payload's edges: breaks 3 checks
		}
		pu.add(buf[:n])
	}
	pu.flush()
	f := flowByStream(t, a.Results(), 3)
	payload := uint64(996 - 42 - 18)
	want := PRBSResult{BitErrors: 6, FrameErrors: 2, Octets: 10 * payload}
	if *f.Counters.PRBS != want {
		t.Fatalf("prbs %+v, want %+v", *f.Counters.PRBS, want)
	}
	if f.Counters.Errors.UDPChecksum != 2 {
		t.Fatalf("udp checksum errors %d, want 2", f.Counters.Errors.UDPChecksum)
	}
}

func TestLifecycle(t *testing.T) {
	p := compile(t, udpDef(64, 1, generator.FillZero))
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	pu := newPusher(a, 0)
	buf := make([]byte, p.MaxFrameLen())
	send := func(k int) {
		for range k {
			n := p.Definitions[0].Write(buf, 0, 0, 0, 0)
			pu.add(buf[:n])
		}
		pu.flush()
	}
	send(3)
	if r := a.Results(); r.Active || r.Totals.FrameCount != 0 {
		t.Fatalf("stopped analyzer counted: %+v", r)
	}
	a.Start()
	send(4)
	if r := a.Results(); !r.Active || r.Totals.FrameCount != 4 {
		t.Fatalf("running: active %v frames %d", r.Active, r.Totals.FrameCount)
	}
	a.Stop()
	send(5)
	if r := a.Results(); r.Active || r.Totals.FrameCount != 4 || len(r.Flows) != 1 {
		t.Fatalf("after stop: active %v frames %d", r.Active, r.Totals.FrameCount)
	}
	a.Start() // a new result
	send(2)
	if r := a.Results(); r.Totals.FrameCount != 2 {
		t.Fatalf("restart: frames %d, want 2", r.Totals.FrameCount)
	}
	a.Reset()
	if r := a.Results(); !r.Active || r.Totals.FrameCount != 0 || len(r.Flows) != 0 {
		t.Fatalf("after reset: %+v", r)
	}
}

func TestConfigNames(t *testing.T) {
	fc, err := ParseFlowCounters([]string{"frame_count", "latency", "advanced_sequencing", "header"})
	if err != nil || fc != FrameCount|Latency|AdvancedSequencing|Header {
		t.Fatalf("%v %v", fc, err)
	}
	if got := fc.Names(); !slices.Equal(got, []string{"frame_count", "latency", "advanced_sequencing", "header"}) {
		t.Fatalf("names %v", got)
	}
	if _, err := ParseFlowCounters([]string{"latency", "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bogus flow counter: %v", err)
	}
	if _, err := ParseProtocolCounters([]string{"tunnel", "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bogus protocol counter: %v", err)
	}
	if pc, err := ParseProtocolCounters([]string{"inner_transport", "tunnel"}); err != nil || pc != CountInnerTransport|CountTunnel {
		t.Fatalf("%v %v", pc, err)
	}
	if pc, err := ParseProtocolCounters([]string{"transport", "ethernet"}); err != nil || pc != CountEthernet|CountTransport {
		t.Fatalf("%v %v", pc, err)
	}
	if fd, err := ParseFlowDigests([]string{"sequence_run_length", "latency"}); err != nil || fd != DigestSequenceRunLength|DigestLatency {
		t.Fatalf("%v %v", fd, err)
	}
	for _, cfg := range []Config{{FlowLimit: -1}, {DigestDigits: 9}, {DigestMax: 10}, {FlowCounters: 1 << 12}} {
		if _, err := New(cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

func TestSequenceRunLengthDigest(t *testing.T) {
	p := compile(t, udpDef(64, 1, generator.FillZero))
	c := &testClock{}
	a := newStarted(t, Config{FlowDigests: DigestSequenceRunLength, Clock: c.read})
	// Runs of 10, 5, then 20 still going: two ended runs recorded.
	seqs := append(append(seqRange(0, 10), seqRange(11, 16)...), seqRange(17, 37)...)
	sendSeq(t, newPusher(a, 0), c, &p.Definitions[0], 0, seqs, func(int) uint64 { return 0 })
	d := flowByStream(t, a.Results(), 1).Digests.SequenceRunLength
	if d == nil || d.Count != 2 || d.Min != 5 || d.Max != 10 {
		t.Fatalf("run length digest %+v", d)
	}
}

// A flow split over two lanes (two workers) merges into one result.
func TestFlowSplitAcrossLanesMerges(t *testing.T) {
	p := compile(t, udpDef(64, 1, generator.FillZero))
	c := &testClock{}
	a := newStarted(t, Config{FlowCounters: Latency | AdvancedSequencing, FlowDigests: DigestLatency, Clock: c.read})
	sendSeq(t, newPusher(a, 0), c, &p.Definitions[0], 0, seqRange(0, 10), func(int) uint64 { return 100 })
	sendSeq(t, newPusher(a, 0), c, &p.Definitions[0], 0, seqRange(10, 20), func(int) uint64 { return 300 })
	r := a.Results()
	if len(r.Flows) != 1 {
		t.Fatalf("%d flows", len(r.Flows))
	}
	f := r.Flows[0]
	if l := f.Counters.Latency; *l != (Summary{Count: 20, Min: 100, Max: 300, Total: 4000, StdDev: 103}) {
		t.Fatalf("merged latency %+v", *l)
	}
	if f.Counters.FrameCount != 20 || f.Digests.Latency.Count != 20 || f.Counters.Sequence.InOrder != 20 {
		t.Fatalf("merged %+v / digest %d", f.Counters, f.Digests.Latency.Count)
	}
}

func TestNoAllocationsPerBurst(t *testing.T) {
	p := compile(t, udpDef(128, 1, generator.FillPRBS, 1, 2, 3, 4), udpDef(128, 0, generator.FillZero, 5, 6))
	c := &testClock{}
	a := newStarted(t, Config{
		ProtocolCounters: CountEthernet | CountIP | CountTransport,
		FlowCounters:     FrameLength | InterarrivalTime | JitterIPDV | JitterRFC | Latency | AdvancedSequencing | PRBS | Header,
		FlowDigests:      DigestFrameLength | DigestInterarrivalTime | DigestJitterIPDV | DigestJitterRFC | DigestLatency | DigestSequenceRunLength,
		Filter:           dstPortFilter(2000),
		Clock:            c.read,
	})
	burst := make([]*packetio.Mbuf, packetio.BurstSize)
	w := p.NewWriter()
	for i := range burst {
		b := make([]byte, packetio.MbufHeadroom+p.MaxFrameLen())
		m := packetio.NewHeapMbuf(b)
		n, _ := w.Next(m.Room(), 0)
		m.SetLen(n)
		burst[i] = m
	}
	a.Push(0, burst) // warm-up: flows and lane made
	if n := testing.AllocsPerRun(200, func() {
		c.now += 1000
		a.Push(0, burst)
	}); n != 0 {
		t.Fatalf("%v allocations per burst", n)
	}
	if r := a.Results(); r.Totals.FrameCount != 202*packetio.BurstSize { // AllocsPerRun runs once more to warm up
		t.Fatalf("frames %d", r.Totals.FrameCount)
	}
}

// Workers push concurrently on their own lanes while a reader polls.
func TestConcurrentPushAndResults(t *testing.T) {
	p := compile(t, udpDef(128, 1, generator.FillZero, 1, 2, 3, 4))
	a := newStarted(t, Config{FlowCounters: Latency | AdvancedSequencing | JitterRFC, FlowDigests: DigestLatency})
	const workers, frames = 2, 20000
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pu := newPusher(a, uint16(wk))
			w := p.NewWriter()
			buf := make([]byte, p.MaxFrameLen())
			for range frames {
				n, _ := w.Next(buf, nowClock())
				pu.add(buf[:n])
			}
			pu.flush()
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			r := a.Results()
			if r.Totals.FrameCount == workers*frames {
				return
			}
		}
	}()
	wg.Wait()
	<-done
	a.Stop()
	r := a.Results()
	if len(r.Flows) != workers*4 {
		t.Fatalf("%d flows", len(r.Flows))
	}
	for _, f := range r.Flows {
		s := f.Counters.Sequence
		if f.Counters.FrameCount != frames/4 || s.InOrder != frames/4 || s.Dropped+s.Duplicate+s.Reordered+s.Late != 0 {
			t.Fatalf("flow %+v: %d frames %+v", f.Key, f.Counters.FrameCount, *s)
		}
	}
}

// TestSignedFlowCache: interleaved streams beyond the signed-flow cache's
// size, on two ports, each keep their own flow, and Reset leaves no stale
// cache entry behind.
func TestSignedFlowCache(t *testing.T) {
	const streams = 3*sigCacheSize + 7
	ports := make([]uint64, streams)
	for i := range ports {
		ports[i] = uint64(1000 + i)
	}
	p := compile(t, udpDef(64, 1, generator.FillZero, ports...))
	a := newStarted(t, Config{FlowCounters: AdvancedSequencing})
	send := func(rounds int) {
		w := p.NewWriter()
		buf := make([]byte, p.MaxFrameLen())
		pus := []*pusher{newPusher(a, 1), newPusher(a, 2)}
		for range rounds * streams {
			k, _ := w.Next(buf, 0)
			for _, pu := range pus {
				pu.add(buf[:k])
			}
		}
		for _, pu := range pus {
			pu.flush()
		}
	}
	check := func(frames uint64) {
		t.Helper()
		r := a.Results()
		if len(r.Flows) != 2*streams {
			t.Fatalf("%d flows, want %d", len(r.Flows), 2*streams)
		}
		for _, f := range r.Flows {
			if f.Counters.FrameCount != frames || f.Counters.Sequence.InOrder != frames {
				t.Fatalf("port %d stream %d: %d frames %+v, want %d in order", f.Key.Port, f.Key.StreamID,
					f.Counters.FrameCount, *f.Counters.Sequence, frames)
			}
		}
	}
	send(3)
	check(3)
	a.Reset()
	send(1)
	check(1)
}

// TestInlineSequenceMatchesUpdate feeds random sequence numbers, mostly
// near the last (in order, gaps, repeats, late frames), through a flow's
// inline cases and through sequence.update alone: the counts must agree.
func TestInlineSequenceMatchesUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cfg := Config{LateThreshold: 1000}
	for round := range 200 {
		var f flow
		var ref sequence
		seq := r.Uint32()
		for range 500 {
			switch d := r.IntN(10); {
			case d < 5:
				seq++
			case d < 7:
				seq -= uint32(r.IntN(8)) // a repeat or an earlier frame
			case d < 9:
				seq += uint32(r.IntN(2000))
			default:
				seq -= uint32(r.IntN(3000))
			}
			f.updateSeqLatency(seq, 0, 0, &cfg, needs{sequence: true})
			ref.update(seq, cfg.LateThreshold)
		}
		if f.seq != ref {
			t.Fatalf("round %d: inline %+v, update %+v", round, f.seq, ref)
		}
	}
}
