package uint128

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

func toBig(v Value) *big.Int {
	b := new(big.Int).SetUint64(v.Hi)
	return b.Lsh(b, 64).Or(b, new(big.Int).SetUint64(v.Lo))
}

func TestArithmeticMatchesBigIntModulo2To128(t *testing.T) {
	mod := new(big.Int).Lsh(big.NewInt(1), 128)
	r := rand.New(rand.NewPCG(1, 1))
	for range 20000 {
		v := Value{r.Uint64() >> r.IntN(65), r.Uint64()}
		w := Value{r.Uint64() >> r.IntN(65), r.Uint64()}
		n := r.Uint64()>>r.IntN(64) | 1
		bv, bw := toBig(v), toBig(w)
		if got, want := toBig(v.Add(w)), new(big.Int).Mod(new(big.Int).Add(bv, bw), mod); got.Cmp(want) != 0 {
			t.Fatalf("%v + %v = %v, want %v", v, w, got, want)
		}
		if got, want := toBig(v.Sub(w)), new(big.Int).Mod(new(big.Int).Sub(bv, bw), mod); got.Cmp(want) != 0 {
			t.Fatalf("%v - %v = %v, want %v", v, w, got, want)
		}
		if got, want := toBig(v.Div64(n)), new(big.Int).Quo(bv, new(big.Int).SetUint64(n)); got.Cmp(want) != 0 {
			t.Fatalf("%v / %d = %v, want %v", v, n, got, want)
		}
		if got, want := v.Less(w), bv.Cmp(bw) < 0; got != want {
			t.Fatalf("%v < %v: %v", v, w, got)
		}
		if got, want := v.BitLen(), bv.BitLen(); got != want {
			t.Fatalf("BitLen(%v) = %d, want %d", v, got, want)
		}
	}
}

func TestBytesRoundTrip(t *testing.T) {
	b := []byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}
	v := FromBytes(b)
	if v != (Value{0xfe80 << 48, 9}) {
		t.Fatalf("FromBytes: %#x", v)
	}
	out := make([]byte, 16)
	v.PutBytes(out)
	if string(out) != string(b) {
		t.Fatalf("PutBytes: % x", out)
	}
	mac := make([]byte, 6)
	FromBytes([]byte{1, 2, 3, 4, 5, 6}).PutBytes(mac)
	if string(mac) != "\x01\x02\x03\x04\x05\x06" {
		t.Fatalf("6 bytes: % x", mac)
	}
}
