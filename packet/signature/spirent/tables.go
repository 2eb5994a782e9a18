package spirent

import "encoding/binary"

// masks[k] is the 128-bit scramble mask for key k, as two big-endian words
// (bytes 0..7, bytes 8..15). Both reader and writer index it per packet, so
// it is built once (4 KiB) rather than run as an LFSR 128 steps each time.
var masks [256][2]uint64

// crcPos[i][x] is the CRC contribution of byte value x at position i of the
// 16 signature bytes. The CRC is linear in its input, so the CRC of 16
// bytes is crcBase XOR the 16 contributions: 16 independent table loads
// instead of a chain of 16 dependent ones (8 KiB of tables).
var (
	crcPos  [16][256]uint16
	crcBase uint16 // the CRC of 16 zero bytes, including init and final complement
)

// seqCRC[i][x] is the CRC contribution of sequence number byte x (i = 0
// the most significant) together with what that byte decides elsewhere:
// bytes 0 and 1 with their complements in the enhanced-detection bytes,
// byte 3 with the scramble mask its complement keys (the mask is XORed
// into every byte, so its contribution is linear too). A writer that
// knows its fields looks up 4 tables for the sequence number instead of
// 6, and none for the mask (see Words).
var seqCRC [4][256]uint16

const crcPoly = 0x1021 // x^16 + x^12 + x^5 + 1

func init() {
	initMasks()
	initCRC()
	initLowSeq()
}

// initMasks runs the scramble LFSR, a[n] = a[n-2]^a[n-3]^a[n-7]^a[n-8],
// from each 8-bit key for 128 bits.
func initMasks() {
	var buf [16]byte
	for k := range 256 {
		var a [128]byte
		for n := range 8 {
			a[n] = byte(k>>(7-n)) & 1
		}
		for n := 8; n < 128; n++ {
			a[n] = a[n-2] ^ a[n-3] ^ a[n-7] ^ a[n-8]
		}
		for i := range buf {
			buf[i] = 0
			for j := range 8 {
				buf[i] = buf[i]<<1 | a[8*i+j]
			}
		}
		masks[k] = [2]uint64{binary.BigEndian.Uint64(buf[0:]), binary.BigEndian.Uint64(buf[8:])}
	}
}

// crcByte feeds one byte, most significant bit first, into a CRC register.
func crcByte(c uint16, x byte) uint16 {
	c ^= uint16(x) << 8
	for range 8 {
		if c&0x8000 != 0 {
			c = c<<1 ^ crcPoly
		} else {
			c <<= 1
		}
	}
	return c
}

func initCRC() {
	// A byte at position i is followed by 15-i zero bytes; feeding it into
	// a zero register and then the zeros gives its contribution.
	for x := range 256 {
		c := crcByte(0, byte(x))
		for i := 15; i >= 0; i-- {
			crcPos[i][x] = c
			c = crcByte(c, 0)
		}
	}
	c := uint16(0xffff)
	for range 16 {
		c = crcByte(c, 0)
	}
	crcBase = ^c
	for x := range 256 {
		b := byte(x)
		m := &masks[^b]
		seqCRC[0][x] = crcPos[7][b] ^ crcPos[5][^b]
		seqCRC[1][x] = crcPos[8][b] ^ crcPos[6][^b]
		seqCRC[2][x] = crcPos[9][b]
		seqCRC[3][x] = crcPos[10][b] ^ crcLinear(m[0], m[1])
	}
}

// crcLinear is the linear part of the CRC of hi and lo: crc16 without
// crcBase.
func crcLinear(hi, lo uint64) uint16 { return crc16(hi, lo) ^ crcBase }

// crc16 is the signature CRC of the 16 bytes hi (0..7) and lo (8..15).
func crc16(hi, lo uint64) uint16 {
	return crcBase ^
		crcPos[0][byte(hi>>56)] ^ crcPos[1][byte(hi>>48)] ^ crcPos[2][byte(hi>>40)] ^ crcPos[3][byte(hi>>32)] ^
		crcPos[4][byte(hi>>24)] ^ crcPos[5][byte(hi>>16)] ^ crcPos[6][byte(hi>>8)] ^ crcPos[7][byte(hi)] ^
		crcPos[8][byte(lo>>56)] ^ crcPos[9][byte(lo>>48)] ^ crcPos[10][byte(lo>>40)] ^ crcPos[11][byte(lo>>32)] ^
		crcPos[12][byte(lo>>24)] ^ crcPos[13][byte(lo>>16)] ^ crcPos[14][byte(lo>>8)] ^ crcPos[15][byte(lo)]
}
