package spirent

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		in   Signature
		want Signature // what Decode returns: timestamp and flags reduced
	}{
		{"zero", Signature{}, Signature{}},
		{"all ones", Signature{0xffffffff, 0xffffffff, TimestampMask, 3}, Signature{0xffffffff, 0xffffffff, TimestampMask, 3}},
		{"timestamp wraps at 2^38", Signature{1, 2, 1<<38 + 5, 0}, Signature{1, 2, 5, 0}},
		{"high timestamp bits dropped", Signature{1, 2, ^uint64(0), 0}, Signature{1, 2, TimestampMask, 0}},
		{"unknown flags dropped", Signature{1, 2, 3, 0xff}, Signature{1, 2, 3, 3}},
		{"end of frame", Signature{7, 8, 9, FlagEndOfFrame}, Signature{7, 8, 9, FlagEndOfFrame}},
		{"prbs", Signature{7, 8, 9, FlagPRBS}, Signature{7, 8, 9, FlagPRBS}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b [Len]byte
			Encode(b[:], c.in)
			got, ok := Decode(b[:])
			if !ok || got != c.want {
				t.Fatalf("Decode(Encode(%+v)) = %+v, %v; want %+v", c.in, got, ok, c.want)
			}
			if b[18] != 0 || b[19] != 0 {
				t.Errorf("cheater = %x, want 0", b[18:])
			}
		})
	}
}

func TestFrameTail(t *testing.T) {
	frame := bytes.Repeat([]byte{0x55}, 64)
	s := Signature{StreamID: 3, Sequence: 4, Timestamp: 5, Flags: FlagPRBS}
	if !ToFrame(frame, s) {
		t.Fatal("ToFrame refused a 64-byte frame")
	}
	if !bytes.Equal(frame[:64-Len], bytes.Repeat([]byte{0x55}, 64-Len)) {
		t.Error("ToFrame wrote before the last Len bytes")
	}
	if got, ok := FromFrame(frame); !ok || got != s {
		t.Errorf("FromFrame = %+v, %v; want %+v", got, ok, s)
	}
	short := make([]byte, Len-1)
	if ToFrame(short, s) {
		t.Error("ToFrame accepted a frame shorter than Len")
	}
	if _, ok := FromFrame(short); ok {
		t.Error("FromFrame accepted a frame shorter than Len")
	}
	if _, ok := Decode(short); ok {
		t.Error("Decode accepted fewer than Len bytes")
	}
}

func TestDecodeRejectsEverySingleBitError(t *testing.T) {
	var b [Len]byte
	Encode(b[:], Signature{StreamID: 0xdeadbeef, Sequence: 0x01020304, Timestamp: 0x123456789, Flags: 3})
	for bit := range 18 * 8 { // the cheater bytes carry nothing
		c := b
		c[bit/8] ^= 0x80 >> (bit % 8)
		if s, ok := Decode(c[:]); ok {
			t.Errorf("bit %d flipped: decoded %+v", bit, s)
		}
	}
}

func TestRandomPayloadIsNotASignature(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var b [Len]byte
	for range 1 << 20 { // expect none: the false-positive rate is 2^-40
		binary.LittleEndian.PutUint64(b[0:], r.Uint64())
		binary.LittleEndian.PutUint64(b[8:], r.Uint64())
		binary.LittleEndian.PutUint32(b[16:], r.Uint32())
		if s, ok := Decode(b[:]); ok {
			t.Fatalf("random %x decoded as %+v", b, s)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	var b [Len]byte
	payload := make([]byte, 1500)
	p := NewPRBS23(PRBS23Start)
	s := Signature{StreamID: 1, Sequence: 2, Timestamp: 3}
	for name, f := range map[string]func(){
		"Encode":          func() { Encode(b[:], s); s.Sequence++ },
		"Decode":          func() { s, _ = Decode(b[:]) },
		"Fill":            func() { p.Fill(payload, 2) },
		"PRBS23BitErrors": func() { _ = PRBS23BitErrors(payload, 2) },
		"Latency":         func() { _ = Latency(123456789, 42) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run", name, n)
		}
	}
}

// FuzzDecode checks that Decode never panics, that a Decoder agrees with
// it, that whatever it accepts
// re-encodes to the same 18 bytes (the format has no redundancy Decode
// ignores), and that the input read as a Signature survives Encode then
// Decode.
func FuzzDecode(f *testing.F) {
	if v, err := loadVectors(); err == nil {
		for i, c := range v.Encode {
			if i%8 == 0 {
				f.Add([]byte(c.Bytes))
			}
		}
		for i, c := range v.Decode {
			if i%16 == 0 {
				f.Add([]byte(c.Bytes))
			}
		}
	}
	f.Add([]byte{})
	f.Add(make([]byte, Len))
	f.Add(bytes.Repeat([]byte{0xff}, Len+3))
	var dec Decoder // kept across inputs: its caches fill as a receiver's do
	f.Fuzz(func(t *testing.T, data []byte) {
		s, ok := Decode(data)
		if ds, dok := dec.Decode(data); ds != s || dok != ok {
			t.Fatalf("Decoder.Decode(%x) = %+v %v, Decode %+v %v", data, ds, dok, s, ok)
		}
		if ok {
			var b [Len]byte
			Encode(b[:], s)
			if !bytes.Equal(b[:18], data[:18]) {
				t.Fatalf("Decode(%x) = %+v, which encodes to %x", data, s, b)
			}
		}
		if len(data) < 17 {
			return
		}
		in := Signature{
			StreamID:  binary.BigEndian.Uint32(data[0:]),
			Sequence:  binary.BigEndian.Uint32(data[4:]),
			Timestamp: binary.BigEndian.Uint64(data[8:]),
			Flags:     data[16],
		}
		var b [Len]byte
		Encode(b[:], in)
		want := in
		want.Timestamp &= TimestampMask
		want.Flags &= flagsKnown
		if got, ok := Decode(b[:]); !ok || got != want {
			t.Fatalf("Decode(Encode(%+v)) = %+v, %v", in, got, ok)
		}
	})
}

var sinkSig Signature

func BenchmarkEncode(b *testing.B) {
	var buf [Len]byte
	s := Signature{StreamID: 0xc0ffee, Timestamp: 0x123456789, Flags: FlagEndOfFrame}
	for b.Loop() {
		Encode(buf[:], s)
		s.Sequence++
	}
}

func BenchmarkDecode(b *testing.B) {
	const n = 256 // distinct signatures, so the mask and CRC tables are exercised
	bufs := make([]byte, n*Len)
	for i := range n {
		Encode(bufs[i*Len:], Signature{StreamID: 0xc0ffee, Sequence: uint32(i), Timestamp: uint64(i) << 20})
	}
	i := 0
	for b.Loop() {
		s, ok := Decode(bufs[i*Len : (i+1)*Len])
		if !ok {
			b.Fatal("not decoded")
		}
		sinkSig = s
		i = (i + 1) % n
	}
}

func BenchmarkDecodeNoSignature(b *testing.B) {
	const n = 256
	bufs := make([]byte, n*Len)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range bufs {
		bufs[i] = byte(r.Uint32())
	}
	i := 0
	for b.Loop() {
		sinkSig, _ = Decode(bufs[i*Len : (i+1)*Len])
		i = (i + 1) % n
	}
}

// BenchmarkDecodeSame has the shape of packet/signature's BenchmarkDecode
// (one buffer, decoded again and again), for comparison.
func BenchmarkDecodeSame(b *testing.B) {
	buf := make([]byte, Len)
	Encode(buf, Signature{StreamID: 1, Sequence: 2, Timestamp: 3})
	for b.Loop() {
		if _, ok := Decode(buf); !ok {
			b.Fatal("no signature")
		}
	}
}

// Words gives what Encode writes, for random signatures.
func TestWordsIsEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	var b [Len]byte
	for range 1 << 16 {
		s := Signature{StreamID: rng.Uint32(), Sequence: rng.Uint32(), Timestamp: rng.Uint64(), Flags: uint8(rng.UintN(256))}
		Encode(b[:], s)
		hi, lo, crc := Words(s, StreamCRC(s.StreamID))
		if binary.BigEndian.Uint64(b[0:]) != hi || binary.BigEndian.Uint64(b[8:]) != lo || binary.BigEndian.Uint16(b[16:]) != crc {
			t.Fatalf("%+v: Words %016x %016x %04x, Encode %x", s, hi, lo, crc, b)
		}
	}
}

// An Encoder gives what Encode writes, for runs of consecutive sequence
// numbers and timestamps across its cache boundaries (every 256 sequence
// numbers, every 2^16 ticks, at 2^32 and at the 38-bit wrap) and for
// random ones, for several streams and flags.
func TestEncoderIsEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	var b [Len]byte
	for _, flags := range []uint8{0, FlagEndOfFrame, FlagPRBS | FlagEndOfFrame} {
		const streams = 7
		base := rng.Uint32()
		e := NewEncoder(base, streams, flags)
		check := func(i int, seq uint32, ts uint64) {
			t.Helper()
			if !e.Fresh(i, seq, ts) {
				e.Refill(i, seq, ts)
			}
			hi, lo, crc := e.Words(i, seq, ts)
			s := Signature{StreamID: base + uint32(i), Sequence: seq, Timestamp: ts, Flags: flags}
			Encode(b[:], s)
			if binary.BigEndian.Uint64(b[0:]) != hi || binary.BigEndian.Uint64(b[8:]) != lo || binary.BigEndian.Uint16(b[16:]) != crc {
				t.Fatalf("%+v: Encoder %016x %016x %04x, Encode %x", s, hi, lo, crc, b)
			}
		}
		for _, start := range []struct {
			seq uint32
			ts  uint64
		}{{0, 0}, {250, 1<<16 - 300}, {1<<32 - 300, 1<<32 - 5000}, {rng.Uint32(), TimestampMask - 3000}, {rng.Uint32(), rng.Uint64()}} {
			seqs := [streams]uint32{}
			for i := range seqs {
				seqs[i] = start.seq + uint32(i)*100
			}
			ts := start.ts
			for k := range 20000 {
				i := k % streams
				check(i, seqs[i], ts)
				seqs[i]++
				ts += 27
			}
		}
		for range 1 << 14 {
			check(rng.IntN(streams), rng.Uint32(), rng.Uint64())
		}
	}
}

// A Decoder accepts exactly what Decode accepts, with the same fields:
// for runs of signatures of a few streams (its caches hit), for random
// signatures (they miss), for signatures with one bit flipped anywhere,
// and for random bytes that pass the cheap checks (the key and the
// enhanced-detection bytes made right, the CRC left random).
func TestDecoderIsDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	var d Decoder
	var b [Len]byte
	check := func(what string) {
		t.Helper()
		want, wok := Decode(b[:])
		got, gok := d.Decode(b[:])
		if got != want || gok != wok {
			t.Fatalf("%s %x: Decoder %+v %v, Decode %+v %v", what, b, got, gok, want, wok)
		}
	}
	seqs := [5]uint32{0, 250, 1<<32 - 100, rng.Uint32(), rng.Uint32()}
	ts := uint64(1<<32 - 5000)
	accepted := 0
	for k := range 50000 {
		i := k % len(seqs)
		Encode(b[:], Signature{StreamID: 100 + uint32(i), Sequence: seqs[i], Timestamp: ts, Flags: uint8(k / 1000 % 4)})
		seqs[i]++
		ts += 27
		check("run")
		if k%7 == 0 {
			bit := rng.IntN(8 * 18)
			b[bit/8] ^= 1 << (bit % 8)
			check("flipped")
		}
	}
	for range 1 << 16 {
		Encode(b[:], Signature{StreamID: rng.Uint32(), Sequence: rng.Uint32(), Timestamp: rng.Uint64(), Flags: uint8(rng.UintN(4))})
		check("random")
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		// Make the cheap checks pass: byte 10 the key's complement and
		// bytes 5..6 the complement of 7..8, before scrambling.
		m := &masks[b[0]]
		hi, lo := binary.BigEndian.Uint64(b[0:])^m[0], binary.BigEndian.Uint64(b[8:])^m[1]
		lo = lo&^(0xff<<40) | uint64(^b[0])<<40
		seqHi := uint16(hi)<<8 | uint16(lo>>56)
		hi = hi&^(0xffff<<8) | uint64(^seqHi)<<8
		binary.BigEndian.PutUint64(b[0:], hi^m[0])
		binary.BigEndian.PutUint64(b[8:], lo^m[1])
		check("random bytes")
		if _, ok := Decode(b[:]); ok {
			accepted++
		}
	}
	t.Logf("random bytes past the cheap checks accepted: %d of %d (expect ~1 in 65536)", accepted, 1<<16)
}

func BenchmarkDecodeRun(b *testing.B) {
	var sigs [64][Len]byte
	for i := range sigs {
		Encode(sigs[i][:], Signature{StreamID: uint32(i % 8), Sequence: uint32(i / 8), Timestamp: 1 << 33, Flags: FlagPRBS})
	}
	b.Run("Decode", func(b *testing.B) {
		var n uint32
		for i := range b.N {
			s, _ := Decode(sigs[i&63][:])
			n += s.Sequence
		}
		_ = n
	})
	b.Run("Decoder", func(b *testing.B) {
		var d Decoder
		var n uint32
		for i := range b.N {
			s, _ := d.Decode(sigs[i&63][:])
			n += s.Sequence
		}
		_ = n
	})
}
