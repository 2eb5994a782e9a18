package generator

import "github.com/openperfd/openperfd/packet/signature"

// SignatureLen is the length of the signature trailer (packet/signature's
// format) at the end of every frame of a definition with a signature.
//
// The template's trailer area is zero; Definition.Write writes the trailer
// and folds its whole sum into the UDP/TCP (and tunnel) checksums with a
// single incremental protocol.Field update.
const SignatureLen = signature.Len

// Signature flags (packet/signature's), as a FrameSignature result carries
// them.
const (
	SigFlagEndOfFrame = signature.FlagEndOfFrame
	SigFlagPRBS       = signature.FlagPRBS
)

// FrameSignature decodes the trailer at the end of frame (without FCS).
func FrameSignature(frame []byte) (signature.Signature, bool) { return signature.FromFrame(frame) }

// trailerSum is the ones'-complement sum, not folded, of a trailer's
// words but its first: a's low three, the TimeWord's (summed once per
// burst into cs: timeSum) and the check's.
func trailerSum(a, cs uint64, h uint32) uint64 {
	return a>>32&0xffff + a&0xffffffff + cs + uint64(h>>16) + uint64(h&0xffff)
}

// timeSum is the TimeWord w's part of trailerSum (w's low byte is the
// check's, zero here and summed apart).
func timeSum(w uint64) uint64 { return w>>32 + w&0xffffffff }

// FillPayload writes fill f into b. Constant repeats the 16-bit value
// big-endian from b[0]; increment and decrement write the byte sequence
// Value, Value±1, ... modulo 256; PRBS writes PRBS-31 from the all-ones
// seed; FillZero zeroes.
func FillPayload(b []byte, f Fill) {
	switch f.Kind {
	case FillConstant:
		hi, lo := byte(f.Value>>8), byte(f.Value)
		for i := range b {
			if i&1 == 0 {
				b[i] = hi
			} else {
				b[i] = lo
			}
		}
	case FillIncrement:
		v := byte(f.Value)
		for i := range b {
			b[i] = v
			v++
		}
	case FillDecrement:
		v := byte(f.Value)
		for i := range b {
			b[i] = v
			v--
		}
	case FillPRBS:
		p := signature.NewPRBS31()
		p.Fill(b)
	default:
		clear(b)
	}
}

// PRBS31Errors checks that b is a stretch of the PRBS-31 sequence (see
// packet/signature.PRBS31Errors).
func PRBS31Errors(b []byte) (mismatches int, ok bool) { return signature.PRBS31Errors(b) }
