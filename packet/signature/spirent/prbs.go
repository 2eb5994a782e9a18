package spirent

import (
	"encoding/binary"
	"math/bits"
)

// PRBS23 writes OpenPerf's PRBS payload fill: the ITU-T PRBS-23 sequence
// (x^23 + x^18 + 1, a[n] = a[n-23] ^ a[n-18]) inverted, most significant
// bit of each byte first. Unlike our own PRBS-31 fill (packet/signature),
// it is not restarted per frame: a transmit queue keeps one PRBS23 and each
// frame's fill carries on from the previous one's. An analyzer therefore
// cannot know where in the sequence a payload starts, and checks it by
// syncing on the payload itself (PRBS23BitErrors).
//
// Its state is its Seed: 32 bits of the (uninverted) sequence, the next
// ones to be written. A PRBS23 belongs to one goroutine.
type PRBS23 struct{ seed uint32 }

// PRBS23Start is the seed OpenPerf gives each transmit queue.
const PRBS23Start = 0xffffffff

// NewPRBS23 returns a generator at seed; OpenPerf starts at PRBS23Start.
func NewPRBS23(seed uint32) PRBS23 { return PRBS23{seed: seed} }

// Seed returns the generator's state, OpenPerf's seed.
func (p *PRBS23) Seed() uint32 { return p.seed }

// prbs23Next returns the 32 bits of the sequence that follow the 32 bits
// w (earliest bit in bit 31). Of w's bits, bit (22-k) is a[n+k-23] and
// bit (17-k) is a[n+k-18] for new bit k; the first 18 new bits need only
// w, and the rest need the first 14 of them, which x>>18 and x>>23 supply.
func prbs23Next(w uint32) uint32 {
	x := w<<9 ^ w<<14
	return x ^ x>>18 ^ x>>23
}

// advance returns the seed k bytes (0..4) further on from s.
func advance(s uint32, k uint) uint32 {
	if k == 0 {
		return s
	}
	return s<<(8*k) | prbs23Next(s)>>(32-8*k)
}

// Fill writes the next len(b) bytes of fill into b, as OpenPerf fills a
// payload (pga_fill_prbs) whose address is phase modulo 4, so that the
// frames match OpenPerf's byte for byte. It does not allocate.
//
// Within a payload the bytes are one stretch of the sequence. Between
// payloads they are not always: when a payload ends 1 or 3 bytes past a
// 4-byte address boundary, OpenPerf moves its seed on by 3 or 1 bytes
// respectively, so the next payload starts 2 bytes further on, or 2 bytes
// back. Analyzers sync per payload, so this costs nothing, but it is
// reproduced here for byte-identical frames. Payloads shorter than their
// unaligned head (phase 1 with under 3 bytes, and so on) make OpenPerf
// write past their end; Fill writes only b, but moves the seed as OpenPerf
// does.
func (p *PRBS23) Fill(b []byte, phase int) {
	s := p.seed
	i := int((4 - phase&3) & 3) // bytes before the first aligned word
	putHead(b, s, i)
	s = advance(s, uint(i))
	for ; i+4 <= len(b); i += 4 {
		binary.BigEndian.PutUint32(b[i:], ^s)
		s = prbs23Next(s)
	}
	if r := (len(b) - i) & 3; r != 0 {
		putHead(b[min(i, len(b)):], s, r)
		s = advance(s, uint(4-r))
	}
	p.seed = s
}

// putHead writes the first n (0..3) bytes of the inverted seed s into b,
// as far as b goes.
func putHead(b []byte, s uint32, n int) {
	for j := range min(n, len(b)) {
		b[j] = byte(^s >> (24 - 8*uint(j)))
	}
}

// PRBS23BitErrors counts bit errors in b, a PRBS23 fill from an unknown
// point of the sequence, the way OpenPerf's analyzer does
// (pga_verify_prbs), so the counts agree: it takes the first 4 bytes as
// correct and predicts from them; on a mismatch it re-syncs on each 32-bit
// word until two words in a row match, counting the differing bits as it
// goes; from there it counts the bits that differ from the sequence. A
// single flipped bit after sync counts once. Payloads shorter than 8 bytes
// are not checked (0).
//
// OpenPerf walks the payload in 32-bit words aligned in memory, so where
// the words fall, and with errors the count, depends on the payload's
// address: phase is that address modulo 4. In a DPDK mbuf (128-byte
// headroom) it is the length of the headers before the payload, mod 4.
// It does not allocate.
func PRBS23BitErrors(b []byte, phase int) int {
	if len(b) < 8 {
		return 0
	}
	seed := ^binary.BigEndian.Uint32(b)
	if k := uint(4-phase&3) & 3; k != 0 {
		// The unaligned head is taken as correct; predict from its end.
		seed = advance(seed, k)
		b = b[k:]
	}
	words := len(b) / 4
	errs, seed := prbs23Words(b[:4*words], seed)
	if r := uint(len(b) - 4*words); r > 0 {
		var tail uint32
		for _, x := range b[4*words:] {
			tail = tail<<8 | uint32(x)
		}
		errs += bits.OnesCount32(^seed>>(32-8*r) ^ tail)
	}
	return errs
}

// prbs23Words checks the whole words of b against the sequence predicted
// from expected (the uninverted bits of b's first word); it returns the bit
// errors and the prediction for the bits after b.
func prbs23Words(b []byte, expected uint32) (errs int, next uint32) {
	n := len(b) / 4
	word := func(i int) uint32 { return binary.BigEndian.Uint32(b[4*i:]) }
	i, matched := 0, 0
	// Sync: until two words in a row match, take each word as the truth.
	// The last word is never used to sync, and if sync is not reached it
	// is not checked (as in OpenPerf).
	for ; i+1 < n; i++ {
		e := bits.OnesCount32(word(i) ^ ^expected)
		errs += e
		if e == 0 {
			matched++
		} else {
			matched = 0
		}
		if matched > 1 {
			break
		}
		expected = prbs23Next(^word(i))
	}
	for i++; i < n; i++ {
		expected = prbs23Next(expected)
		errs += bits.OnesCount32(word(i) ^ ^expected)
	}
	return errs, prbs23Next(expected)
}
