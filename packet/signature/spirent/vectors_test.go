package spirent

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"sync"
	"testing"
)

// vectors is testdata/vectors.json, made from OpenPerf's own code (see
// testdata/gen/README.md).
type vectors struct {
	Commit        string   `json:"openperf_commit"`
	ScrambleMasks []string `json:"scramble_masks"`
	Encode        []struct {
		vectorSig
		Bytes   hexBytes      `json:"bytes"`
		Decoded vectorDecoded `json:"decoded"`
	} `json:"encode"`
	Decode []struct {
		Kind  string   `json:"kind"`
		Bytes hexBytes `json:"bytes"`
		vectorDecoded
	} `json:"decode"`
	PRBSFill []struct {
		Seed     uint32   `json:"seed"`
		Phase    int      `json:"phase"`
		Length   int      `json:"length"`
		NextSeed uint32   `json:"next_seed"`
		Bytes    hexBytes `json:"bytes"`
	} `json:"prbs_fill"`
	PRBSVerify []struct {
		Phase     int      `json:"phase"`
		Bytes     hexBytes `json:"bytes"`
		BitErrors int      `json:"bit_errors"`
	} `json:"prbs_verify"`
}

type vectorSig struct {
	StreamID  uint32 `json:"stream_id"`
	Sequence  uint32 `json:"sequence"`
	Timestamp uint64 `json:"timestamp"`
	Flags     int    `json:"flags"`
}

// vectorDecoded is what OpenPerf made of 20 bytes: the CRC filter's
// verdict, the decoder's, and, when valid, the decoder's output (its flags
// include the status bit, 1<<2).
type vectorDecoded struct {
	CRCOK bool `json:"crc_ok"`
	Valid bool `json:"valid"`
	vectorSig
}

// accepted reports whether OpenPerf's receive path takes the signature.
func (v vectorDecoded) accepted() bool { return v.CRCOK && v.Valid }

func (v vectorDecoded) signature() Signature {
	return Signature{StreamID: v.StreamID, Sequence: v.Sequence, Timestamp: v.Timestamp, Flags: uint8(v.Flags &^ 4)}
}

type hexBytes []byte

func (h *hexBytes) UnmarshalText(text []byte) error {
	b, err := hex.DecodeString(string(text))
	*h = b
	return err
}

var loadVectors = sync.OnceValues(func() (*vectors, error) {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		return nil, err
	}
	var v vectors
	return &v, json.Unmarshal(raw, &v)
})

func mustVectors(t testing.TB) *vectors {
	t.Helper()
	v, err := loadVectors()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Encode) == 0 || len(v.Decode) == 0 || len(v.PRBSFill) == 0 || len(v.PRBSVerify) == 0 {
		t.Fatal("testdata/vectors.json has an empty section")
	}
	return v
}

func TestScrambleMasksMatchOpenPerf(t *testing.T) {
	v := mustVectors(t)
	if len(v.ScrambleMasks) != 256 {
		t.Fatalf("%d masks, want 256", len(v.ScrambleMasks))
	}
	for k, want := range v.ScrambleMasks {
		var b [16]byte
		m := masks[k]
		for i := range 8 {
			b[i], b[8+i] = byte(m[0]>>(56-8*i)), byte(m[1]>>(56-8*i))
		}
		if got := hex.EncodeToString(b[:]); got != want {
			t.Errorf("mask(%#02x) = %s, OpenPerf %s", k, got, want)
		}
	}
}

func TestEncodeMatchesOpenPerf(t *testing.T) {
	v := mustVectors(t)
	for _, c := range v.Encode {
		in := Signature{StreamID: c.StreamID, Sequence: c.Sequence, Timestamp: c.Timestamp, Flags: uint8(c.Flags)}
		b := bytes.Repeat([]byte{0xa5}, Len+2)
		Encode(b, in)
		if !bytes.Equal(b[:Len], c.Bytes) || b[Len] != 0xa5 {
			t.Errorf("Encode(%+v) = %x, OpenPerf %x", in, b, c.Bytes)
		}
		if !c.Decoded.accepted() {
			t.Errorf("OpenPerf rejects its own encoding of %+v", in)
		}
		got, ok := Decode(c.Bytes)
		if want := c.Decoded.signature(); !ok || got != want {
			t.Errorf("Decode(%x) = %+v, %v; OpenPerf %+v", []byte(c.Bytes), got, ok, want)
		}
	}
}

func TestDecodeMatchesOpenPerf(t *testing.T) {
	v := mustVectors(t)
	kinds := map[string][2]int{} // accepted, rejected
	for _, c := range v.Decode {
		got, ok := Decode(c.Bytes)
		if ok != c.accepted() {
			t.Errorf("%s %x: ok = %v, OpenPerf crc_ok %v valid %v", c.Kind, []byte(c.Bytes), ok, c.CRCOK, c.Valid)
			continue
		}
		if ok && got != c.signature() {
			t.Errorf("%s %x: Decode = %+v, OpenPerf %+v", c.Kind, []byte(c.Bytes), got, c.signature())
		}
		n := kinds[c.Kind]
		if ok {
			n[0]++
		} else {
			n[1]++
		}
		kinds[c.Kind] = n
	}
	t.Logf("OpenPerf %s; accepted/rejected by kind: %v", v.Commit, kinds)
}

func TestPRBS23FillMatchesOpenPerf(t *testing.T) {
	v := mustVectors(t)
	p := NewPRBS23(PRBS23Start)
	for i, c := range v.PRBSFill {
		if c.Seed != p.Seed() {
			t.Fatalf("fill %d starts at seed %#x, ours is at %#x", i, c.Seed, p.Seed())
		}
		b := make([]byte, c.Length)
		p.Fill(b, c.Phase)
		if !bytes.Equal(b, c.Bytes) {
			t.Errorf("fill %d (phase %d, %d bytes) = %x, OpenPerf %x", i, c.Phase, c.Length, b, []byte(c.Bytes))
		}
		if p.Seed() != c.NextSeed {
			t.Errorf("fill %d: next seed %#x, OpenPerf %#x", i, p.Seed(), c.NextSeed)
		}
	}
}

func TestPRBS23BitErrorsMatchOpenPerf(t *testing.T) {
	v := mustVectors(t)
	for _, c := range v.PRBSVerify {
		if got := PRBS23BitErrors(c.Bytes, c.Phase); got != c.BitErrors {
			t.Errorf("phase %d, %d bytes %x: %d bit errors, OpenPerf %d", c.Phase, len(c.Bytes), []byte(c.Bytes), got, c.BitErrors)
		}
	}
}
