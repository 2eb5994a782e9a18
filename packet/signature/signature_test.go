package signature_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature"
)

func randomSignature(r *rand.Rand) signature.Signature {
	return signature.Signature{
		StreamID:  r.Uint32(),
		Sequence:  r.Uint32(),
		Timestamp: r.Uint64() & signature.TimestampMask,
		Flags:     uint8(r.IntN(4)),
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, signature.Len)
	for range 200000 {
		want := randomSignature(r)
		signature.Encode(b, want)
		got, ok := signature.Decode(b)
		if !ok || got != want {
			t.Fatalf("encoded %+v, decoded %+v ok=%v", want, got, ok)
		}
	}
}

func TestEncodeDropsUnknownFlagsAndHighTimestampBits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, signature.Len)
	for range 200000 {
		s := signature.Signature{StreamID: r.Uint32(), Sequence: r.Uint32(), Timestamp: r.Uint64(), Flags: uint8(r.Uint32())}
		signature.Encode(b, s)
		back, ok := signature.Decode(b)
		want := signature.Signature{StreamID: s.StreamID, Sequence: s.Sequence,
			Timestamp: s.Timestamp & signature.TimestampMask, Flags: s.Flags & 3}
		if !ok || back != want {
			t.Fatalf("%+v decodes as %+v ok=%v", s, back, ok)
		}
	}
}

func TestFramesFromGeneratorDecode(t *testing.T) {
	def := generator.TrafficDefinition{
		Headers:   []generator.HeaderDef{{Header: ethernet()}, {Header: ipv4()}, {Header: udp()}},
		Length:    generator.Length{List: []int{64, 128, 1518}},
		Signature: &generator.SignatureConfig{Format: generator.FormatOpenperfd, StreamID: 77, Latency: generator.LatencyEndOfFrame, Fill: generator.Fill{Kind: generator.FillPRBS}},
	}
	p, err := generator.Compile([]generator.TrafficDefinition{def}, generator.OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := p.NewWriter()
	buf := make([]byte, p.MaxFrameLen())
	for i := range 3000 {
		ts := uint64(i) * 1_000_003
		n, flow := w.Next(buf, ts)
		s, ok := signature.FromFrame(buf[:n])
		if !ok {
			t.Fatalf("frame %d: no signature", i)
		}
		want := signature.Signature{StreamID: 77 + uint32(flow), Sequence: uint32(i), Timestamp: ts,
			Flags: signature.FlagEndOfFrame | signature.FlagPRBS}
		if s != want {
			t.Fatalf("frame %d: got %+v, want %+v", i, s, want)
		}
	}
}

// Random bytes pass as a signature with probability 2^-30 (2^-24 with
// the marker forced).
func TestRandomTrailersRejected(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	b := make([]byte, signature.Len)
	ours := 0
	const n = 2_000_000
	for range n {
		for i := 0; i < signature.Len; i += 8 {
			v := r.Uint64()
			for j := i; j < min(i+8, signature.Len); j++ {
				b[j] = byte(v)
				v >>= 8
			}
		}
		if r.IntN(8) == 0 { // give the marker a fair chance so the check is exercised
			b[14] = signature.Marker | b[14]&3
		}
		if _, ok := signature.Decode(b); ok {
			ours++
		}
	}
	if ours > 2 {
		t.Fatalf("accepted %d of %d random trailers", ours, n)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := make([]byte, signature.Len)
	signature.Encode(good, signature.Signature{StreamID: 1, Sequence: 2, Timestamp: 3, Flags: signature.FlagPRBS})
	tests := []struct {
		name string
		mut  func([]byte) []byte
	}{
		{"short buffer", func(b []byte) []byte { return b[:signature.Len-1] }},
		{"wrong marker", func(b []byte) []byte { b[14] ^= 0x80; return b }},
		{"flipped stream bit", func(b []byte) []byte { b[0] ^= 1; return b }},
		{"flipped timestamp bit", func(b []byte) []byte { b[10] ^= 0x10; return b }},
		{"flipped flag", func(b []byte) []byte { b[14] ^= signature.FlagEndOfFrame; return b }},
		{"flipped check", func(b []byte) []byte { b[17] ^= 4; return b }},
		{"all zero", func(b []byte) []byte { clear(b); return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := signature.Decode(tt.mut(bytes.Clone(good))); ok {
				t.Fatal("decoded")
			}
		})
	}
	if _, ok := signature.FromFrame(good[:5]); ok {
		t.Fatal("FromFrame decoded a 5-byte frame")
	}
}

func TestDelta(t *testing.T) {
	tests := []struct {
		rx, tx uint64
		want   int64
	}{
		{1000, 400, 600},
		{400, 1000, -600},
		{5, signature.TimestampMask - 4, 10}, // the 48-bit clock wrapped between tx and rx
		{1<<50 + 700, 200, 500},              // bits above 48 do not count
		{signature.TimestampMask, 0, -1},     // tx one ns after rx, modulo 2^48
		{1 << 46, 0, 1 << 46},                // far but positive
		{0, 1<<47 + 1, 1<<47 - 1},            // wrapped the other way
	}
	for _, tt := range tests {
		if got := signature.Delta(tt.rx, tt.tx); got != tt.want {
			t.Errorf("Delta(%d, %d) = %d, want %d", tt.rx, tt.tx, got, tt.want)
		}
	}
}

func TestPRBSMatchesGenerator(t *testing.T) {
	ours, theirs := make([]byte, 4096), make([]byte, 4096)
	p := signature.NewPRBS31()
	p.Fill(ours)
	generator.FillPayload(theirs, generator.Fill{Kind: generator.FillPRBS})
	if !bytes.Equal(ours, theirs) {
		t.Fatal("PRBS-31 sequences differ")
	}
	r := rand.New(rand.NewPCG(7, 8))
	for n := range 200 {
		off := r.IntN(100)
		b := bytes.Clone(ours[off : off+n])
		for range r.IntN(4) {
			if len(b) > 0 {
				b[r.IntN(len(b))] ^= 1 << r.IntN(8)
			}
		}
		m1, ok1 := signature.PRBS31Errors(b)
		m2, ok2 := generator.PRBS31Errors(b)
		if m1 != m2 || ok1 != ok2 {
			t.Fatalf("len %d: PRBS31Errors = %d,%v; generator %d,%v", len(b), m1, ok1, m2, ok2)
		}
	}
	if m, ok := signature.PRBS31Errors(ours[1:1500]); !ok || m != 0 {
		t.Fatalf("clean stretch: %d mismatches ok=%v", m, ok)
	}
}

func TestNoAllocs(t *testing.T) {
	b := make([]byte, 1500)
	p := signature.NewPRBS31()
	p.Fill(b)
	s := signature.Signature{StreamID: 9, Sequence: 8, Timestamp: 7}
	if n := testing.AllocsPerRun(100, func() {
		signature.Encode(b[1482:], s)
		if _, ok := signature.FromFrame(b); !ok {
			t.Fatal("no signature")
		}
		signature.PRBS31Errors(b[:1482])
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestSignatureRoundTrip(t *testing.T) {
	b := make([]byte, signature.Len+1)
	for i := range 10000 {
		s := signature.Signature{StreamID: rand.Uint32(), Sequence: rand.Uint32(), Timestamp: rand.Uint64() & signature.TimestampMask, Flags: uint8(i & 3)}
		off := i & 1 // odd and even placement
		signature.Encode(b[off:], s)
		got, ok := signature.Decode(b[off:])
		if !ok || got != s {
			t.Fatalf("decode %+v %v, want %+v", got, ok, s)
		}
		// A flipped bit is rejected.
		bit := rand.IntN(signature.Len * 8)
		b[off+bit/8] ^= 1 << (bit % 8)
		if _, ok := signature.Decode(b[off:]); ok {
			t.Fatalf("flipped bit %d accepted", bit)
		}
	}
}

func TestRandomPayloadIsNotASignature(t *testing.T) {
	const samples = 1_000_000
	r := rand.New(rand.NewPCG(1, 2))
	var b [24]byte
	hits := 0
	for range samples {
		for i := 0; i < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], r.Uint64())
		}
		if _, ok := signature.Decode(b[:signature.Len]); ok {
			hits++
		}
	}
	// Must be below 1e-6 of the samples: i.e. none.
	if hits > 0 {
		t.Fatalf("%d of %d random trailers decoded as signatures", hits, samples)
	}
	if _, ok := signature.Decode(make([]byte, signature.Len)); ok {
		t.Fatal("all-zero trailer accepted")
	}
}

func BenchmarkEncode(b *testing.B) {
	var buf [signature.Len]byte
	s := signature.Signature{StreamID: 1}
	for i := 0; b.Loop(); i++ {
		s.Sequence = uint32(i)
		s.Timestamp = uint64(i)
		signature.Encode(buf[:], s)
	}
}

func BenchmarkDecode(b *testing.B) {
	buf := make([]byte, signature.Len)
	signature.Encode(buf, signature.Signature{StreamID: 1, Sequence: 2, Timestamp: 3})
	for b.Loop() {
		if _, ok := signature.Decode(buf); !ok {
			b.Fatal("no signature")
		}
	}
}

func BenchmarkPRBS31Errors1500(b *testing.B) {
	buf := make([]byte, 1500)
	p := signature.NewPRBS31()
	p.Fill(buf)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		signature.PRBS31Errors(buf)
	}
}

func ethernet() protocol.Ethernet {
	return protocol.Ethernet{Dst: [6]byte{2, 0, 0, 0, 0, 2}, Src: [6]byte{2, 0, 0, 0, 0, 1}}
}

func ipv4() protocol.IPv4 {
	return protocol.IPv4{TTL: 64, Src: [4]byte{10, 0, 0, 1}, Dst: [4]byte{10, 0, 0, 2}}
}

func udp() protocol.UDP { return protocol.UDP{SrcPort: 1000, DstPort: 2000} }
