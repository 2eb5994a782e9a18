// Package signature is the codec of the signature trailer: the bytes at
// the very end of a generated frame (before the FCS the NIC appends) that
// carry a stream id, a per-flow sequence number and a transmit timestamp,
// so that an analyzer can measure loss, order, latency and jitter. The
// generator encodes with it and the analyzer decodes with it; nothing else
// knows the wire format. It also checks the PRBS-31 payload fill that a
// signature may announce.
//
// Signature is the content, whatever the wire format. openperfd.go holds
// our own format (Len bytes, Encode, Decode and the word-level pieces the
// per-packet paths use); another format sits beside it in a file of its
// own, with its own length, encoder and decoder of the same Signature.
//
// Everything here is allocation-free and safe for concurrent use: the
// functions keep no state, and a PRBS31 value belongs to its caller.
package signature

// Signature is the content of a signature trailer.
type Signature struct {
	StreamID  uint32
	Sequence  uint32
	Timestamp uint64 // ns; only the low 48 bits are carried
	Flags     uint8  // FlagEndOfFrame, FlagPRBS
}

// Flags of a signature.
const (
	FlagEndOfFrame = 1 << 0 // the timestamp is of the frame's end (else its start)
	FlagPRBS       = 1 << 1 // the payload before the trailer is PRBS-31 fill
	flagsKnown     = FlagEndOfFrame | FlagPRBS
)

// TimestampMask keeps the 48 bits of a timestamp a signature carries.
const TimestampMask = 1<<48 - 1

// EndOfFrame reports whether the timestamp is of the frame's last bit.
func (s Signature) EndOfFrame() bool { return s.Flags&FlagEndOfFrame != 0 }

// PRBS reports whether the payload before the trailer is PRBS-31 fill.
func (s Signature) PRBS() bool { return s.Flags&FlagPRBS != 0 }

// Delta returns rx - tx for two timestamps taken modulo 2^48 (only their
// low 48 bits count), as a signed 48-bit value: a transmit time up to 2^47
// ns (~39 hours) after the receive time (clocks out of step) gives a
// negative result rather than a huge one.
func Delta(rx, tx uint64) int64 {
	return int64((rx-tx)<<16) >> 16
}
