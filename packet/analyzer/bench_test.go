package analyzer

import (
	"testing"
	"unsafe"

	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/signature"
	"github.com/openperfd/openperfd/packetio"
)

// benchPush pushes bursts of 64-byte signed frames of 16 flows, with
// sequence numbers advancing, and reports Mpps. ck is what the port says
// it checked of every frame's checksums (0: nothing).
func benchPush(b *testing.B, cfg Config, ck packetio.RxChecksum) {
	benchPushDef(b, udpDef(64, 1, generator.FillZero, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), cfg, ck)
}

// benchPushDef is benchPush with frames of def.
func benchPushDef(b *testing.B, def generator.TrafficDefinition, cfg Config, ck packetio.RxChecksum) {
	benchPushBursts(b, def, cfg, ck, 64)
}

// benchPushBursts is benchPushDef over bursts distinct bursts: 1 repeats
// one burst, so every frame after the first burst is a duplicate, as in
// make bench's analyzer rows (net_null hands out the same buffers).
func benchPushBursts(b *testing.B, def generator.TrafficDefinition, cfg Config, ck packetio.RxChecksum, bursts int) {
	p := compile(b, def)
	c := &testClock{now: 1 << 40}
	cfg.Clock = c.read
	a, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	a.Start()
	w := p.NewWriter()
	all := make([][]*packetio.Mbuf, bursts)
	for i := range all {
		all[i] = make([]*packetio.Mbuf, packetio.BurstSize)
		for j := range all[i] {
			m := packetio.NewHeapMbuf(make([]byte, packetio.MbufHeadroom+p.MaxFrameLen()))
			n, _ := w.Next(m.Room(), c.now-5000)
			m.SetLen(n)
			m.SetRxChecksum(ck)
			all[i][j] = m
		}
	}
	burst := make([]*packetio.Mbuf, packetio.BurstSize) // one array: one lane, as a worker
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		copy(burst, all[i%bursts])
		c.now += 1000
		a.Push(0, burst)
	}
	b.StopTimer()
	pkts := float64(b.N) * packetio.BurstSize
	b.ReportMetric(pkts/b.Elapsed().Seconds()/1e6, "Mpps")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/pkts, "ns/pkt")
}

func BenchmarkPushCountersOnly(b *testing.B) {
	benchPush(b, Config{ProtocolCounters: CountEthernet | CountIP | CountTransport}, 0)
}

// BenchmarkPushCountersOnlyPortChecked is BenchmarkPushCountersOnly on a
// port that verified the checksums (rx checksum offload).
func BenchmarkPushCountersOnlyPortChecked(b *testing.B) {
	benchPush(b, Config{ProtocolCounters: CountEthernet | CountIP | CountTransport},
		packetio.RxIPChecksumGood|packetio.RxL4ChecksumGood)
}

func BenchmarkPushSequenceLatency(b *testing.B) {
	benchPush(b, Config{FlowCounters: AdvancedSequencing | Latency}, 0)
}

// BenchmarkPushSequenceLatencySpirent is BenchmarkPushSequenceLatency on
// frames with Spirent signatures (the generator's default; 64-byte runts).
func BenchmarkPushSequenceLatencySpirent(b *testing.B) {
	def := udpDef(64, 1, generator.FillZero, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
	def.Signature.Format = generator.FormatSpirent
	benchPushDef(b, def, Config{FlowCounters: AdvancedSequencing | Latency, LinkSpeedMbps: 10_000}, 0)
}

// BenchmarkPushSigJitterSpirent is what make bench's analyze-sig row
// asks (dpbench): sequence, latency and IPDV jitter of Spirent frames.
func BenchmarkPushSigJitterSpirent(b *testing.B) {
	def := udpDef(64, 1, generator.FillZero, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
	def.Signature.Format = generator.FormatSpirent
	benchPushDef(b, def, Config{FlowCounters: FrameCount | AdvancedSequencing | Latency | JitterIPDV, LinkSpeedMbps: 10_000}, 0)
}

// BenchmarkPushSigJitterSpirentRepeated is BenchmarkPushSigJitterSpirent
// on one burst again and again: duplicates, as make bench's traffic.
func BenchmarkPushSigJitterSpirentRepeated(b *testing.B) {
	def := udpDef(64, 1, generator.FillZero, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
	def.Signature.Format = generator.FormatSpirent
	benchPushBursts(b, def, Config{FlowCounters: FrameCount | AdvancedSequencing | Latency | JitterIPDV, LinkSpeedMbps: 10_000}, 0, 1)
}

func BenchmarkPushAllCounters(b *testing.B) {
	benchPush(b, Config{
		ProtocolCounters: CountEthernet | CountIP | CountTransport,
		FlowCounters:     FrameLength | InterarrivalTime | JitterIPDV | JitterRFC | Latency | AdvancedSequencing,
	}, 0)
}

func BenchmarkPushSequenceLatencyDigests(b *testing.B) {
	benchPush(b, Config{FlowCounters: AdvancedSequencing | Latency | JitterRFC, FlowDigests: DigestLatency | DigestJitterRFC}, 0)
}

// partsFrames are 32 signed 64-byte frames of 16 flows, for the per-part
// benchmarks below (the fast path's pieces, apart).
func partsFrames(b *testing.B) [][]byte {
	p := compile(b, udpDef(68, 1, generator.FillZero, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))
	w := p.NewWriter()
	out := make([][]byte, 32)
	for i := range out {
		buf := make([]byte, 2048)
		n, _ := w.Next(buf, 12345)
		out[i] = buf[:n]
	}
	return out
}

func BenchmarkPartClassify(b *testing.B) {
	fr := partsFrames(b)
	var fi fastInfo
	var x int
	for i := range b.N {
		bad, ok := classify(fr[i&31], 0, true, &fi)
		if ok {
			x += int(bad) + int(fi.pay)
		}
	}
	_ = x
}

func BenchmarkPartSignature(b *testing.B) {
	fr := partsFrames(b)
	var x uint32
	for i := range b.N {
		s, ok := signature.FromFrame(fr[i&31])
		if ok {
			x += s.Sequence
		}
	}
	_ = x
}

func BenchmarkPartL4Sum(b *testing.B) {
	fr := partsFrames(b)
	var x uint32
	for i := range b.N {
		f := fr[i&31]
		x += l4Sum(unsafe.Pointer(unsafe.SliceData(f)), 34, uintptr(len(f)-34), 0, 17)
	}
	_ = x
}

// BenchmarkPushSigJitterSpirentSoftware is BenchmarkPushSigJitterSpirent
// with every checksum verified in software (make bench's analyze-sig-sw).
func BenchmarkPushSigJitterSpirentSoftware(b *testing.B) {
	def := udpDef(64, 1, generator.FillZero, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
	def.Signature.Format = generator.FormatSpirent
	benchPushDef(b, def, Config{FlowCounters: FrameCount | AdvancedSequencing | Latency | JitterIPDV, LinkSpeedMbps: 10_000,
		Checksums: ChecksumsSoftware}, 0)
}
