package generator

import (
	"slices"
	"testing"

	"github.com/openperfd/openperfd/packet/signature"
)

func TestFillPayload(t *testing.T) {
	tests := []struct {
		f    Fill
		want []byte
	}{
		{Fill{Kind: FillConstant, Value: 0x1234}, []byte{0x12, 0x34, 0x12, 0x34, 0x12}},
		{Fill{Kind: FillIncrement, Value: 254}, []byte{254, 255, 0, 1, 2}},
		{Fill{Kind: FillDecrement, Value: 1}, []byte{1, 0, 255, 254, 253}},
		{Fill{Kind: FillZero}, []byte{0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		b := []byte{9, 9, 9, 9, 9}
		FillPayload(b, tc.f)
		if !slices.Equal(b, tc.want) {
			t.Errorf("fill %+v: %v, want %v", tc.f, b, tc.want)
		}
	}
}

func TestPRBS31(t *testing.T) {
	b := make([]byte, 4096)
	FillPayload(b, Fill{Kind: FillPRBS})
	if m, ok := PRBS31Errors(b); !ok || m != 0 {
		t.Fatalf("clean PRBS: %d mismatches, ok %v", m, ok)
	}
	if m, _ := PRBS31Errors(b[1001:]); m != 0 {
		t.Fatalf("PRBS from an arbitrary offset: %d mismatches", m)
	}
	b[2000] ^= 0x10
	if m, _ := PRBS31Errors(b); m == 0 || m > 3 {
		t.Fatalf("one flipped bit: %d mismatches, want 1..3", m)
	}
	ones := 0
	p := signature.NewPRBS31()
	for range 1 << 16 {
		ones += int(popcount(p.Byte()))
	}
	if ones < (1<<18)-5243 || ones > (1<<18)+5243 { // within 1%: the trinomial m-sequence drifts from the all-ones seed
		t.Errorf("PRBS unbalanced: %d ones in %d bits", ones, 1<<19)
	}
}

func popcount(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}
