// Package uint128 is an unsigned 128-bit integer with as much arithmetic
// as the generator's modifier values need: addresses up to IPv6 read as
// numbers, and sequences stepping through them. Arithmetic wraps modulo
// 2^128. Values are plain structs: copy them freely.
package uint128

import "math/bits"

// Value is an unsigned 128-bit number: Hi<<64 | Lo.
type Value struct{ Hi, Lo uint64 }

// From64 returns v as a Value.
func From64(v uint64) Value { return Value{Lo: v} }

// FromBytes returns the number b holds big-endian (at most 16 bytes count:
// longer input keeps its last 16).
func FromBytes(b []byte) Value {
	var v Value
	for _, c := range b {
		v.Hi = v.Hi<<8 | v.Lo>>56
		v.Lo = v.Lo<<8 | uint64(c)
	}
	return v
}

// PutBytes writes the low len(b) bytes of v big-endian into b.
func (v Value) PutBytes(b []byte) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte(v.Lo)
		v.Lo = v.Lo>>8 | v.Hi<<56
		v.Hi >>= 8
	}
}

// BitLen is the number of significant bits of v.
func (v Value) BitLen() int {
	if v.Hi != 0 {
		return 64 + bits.Len64(v.Hi)
	}
	return bits.Len64(v.Lo)
}

// Add returns v+w.
func (v Value) Add(w Value) Value {
	lo, c := bits.Add64(v.Lo, w.Lo, 0)
	hi, _ := bits.Add64(v.Hi, w.Hi, c)
	return Value{hi, lo}
}

// Sub returns v-w.
func (v Value) Sub(w Value) Value {
	lo, b := bits.Sub64(v.Lo, w.Lo, 0)
	hi, _ := bits.Sub64(v.Hi, w.Hi, b)
	return Value{hi, lo}
}

// Less reports whether v < w.
func (v Value) Less(w Value) bool { return v.Hi < w.Hi || v.Hi == w.Hi && v.Lo < w.Lo }

// Div64 returns v/n; n must not be 0.
func (v Value) Div64(n uint64) Value {
	qh, r := v.Hi/n, v.Hi%n
	ql, _ := bits.Div64(r, v.Lo, n)
	return Value{qh, ql}
}
