package analyzer

import (
	"github.com/openperfd/openperfd/packet/signature"
	"github.com/openperfd/openperfd/packet/signature/spirent"
)

// The analyzer reads both signature formats, whatever the generator at
// the other end was told: the Spirent signature (OpenPerf's, TestCenter's
// and by default ours) and our own trailer (packet/signature, the
// generator's x_format openperfd). It tries the Spirent signature first:
// its cheap structural checks reject other frames' tails after a few
// instructions. A frame passes one by chance with probability 2^-40 and
// 1e-9 respectively. Both come out as a signature.Signature whose
// timestamp is in Unix ns (modulo 2^48), so latency and jitter are
// computed the same way for both.

// ethernetOverhead is what a frame occupies on the wire beyond its bytes
// without FCS: preamble (8), FCS (4) and inter-frame gap (12), as
// OpenPerf's timestamper counts it.
const ethernetOverhead = 24

// trailerSignature decodes our own trailer at the end of a fast-path frame.
func trailerSignature(frame []byte) (sig signature.Signature, signed bool) {
	ta, tx, tt := trailerWords(frame)
	if signature.Valid(ta, tx, tt) {
		return signature.Words(ta, tx), true
	}
	return sig, false
}

// signatureOf decodes the signature of any frame received at rx.
func (a *Analyzer) signatureOf(s *shard, frame []byte, rx uint64) (sig signature.Signature, signed, sp bool) {
	if s, ok := s.spirent.FromFrame(frame); ok {
		return a.fromSpirent(s, rx), true, true
	}
	sig, signed = signature.FromFrame(frame)
	return sig, signed, false
}

// fromSpirent converts a Spirent signature received at rx (Unix ns): its
// timestamp, 2.5 ns ticks since the year's start modulo 2^38, becomes the
// Unix ns nearest rx that it names (spirent.Unwrap: right for latencies
// under ~5.7 minutes either way).
func (a *Analyzer) fromSpirent(s spirent.Signature, rx uint64) signature.Signature {
	return signature.Signature{StreamID: s.StreamID, Sequence: s.Sequence, Timestamp: a.spirentTime(s.Timestamp, rx), Flags: s.Flags}
}

// spirentRef is rx (Unix ns) as Spirent ticks since the analyzer's epoch,
// the reference spirentTimeAt unwraps about.
func (a *Analyzer) spirentRef(rx uint64) uint64 { return spirent.TicksSince(int64(rx) - a.epoch) }

// spirentTimeAt is spirentTime about a reference from spirentRef.
func (a *Analyzer) spirentTimeAt(ticks, ref uint64) uint64 {
	return uint64(a.epoch + spirent.UnwrapAbout(ticks, ref))
}

// spirentTime is the Unix ns time that Spirent timestamp ticks, received
// at rx, name (see fromSpirent).
func (a *Analyzer) spirentTime(ticks, rx uint64) uint64 {
	return uint64(a.epoch + spirent.Unwrap(ticks, int64(rx)-a.epoch))
}
