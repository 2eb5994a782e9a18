// Package spirent reads and writes the Spirent signature: the 20 bytes
// that OpenPerf and Spirent TestCenter put at the end of a test frame
// (just before the FCS) with a stream id, a sequence number, a 38-bit
// transmit timestamp in 2.5 ns ticks and two flags (timestamp of the
// frame's first or last bit; PRBS payload), scrambled and protected by a
// CRC. See Len for the layout, Ticks and Unwrap for the timestamps, and
// PRBS23 for the payload fill the PRBS flag announces.
//
// The format is OpenPerf's (src/lib/spirent_pga), bit for bit: the tests
// check Encode, Decode and the PRBS fill and bit-error count against
// vectors made by compiling OpenPerf's own code (testdata/gen/README.md).
// The implementation is ours.
//
// # Beside our own trailer
//
// Package packet/signature keeps openperfd's own 18-byte trailer (48-bit
// nanosecond timestamps, PRBS-31 fill restarted per frame). The two formats
// sit side by side: each is a leaf package with the same shape (a Signature
// value, Encode/Decode on a byte slice, FromFrame on the frame's tail, the
// same two flag bits), and the generator and the analyzer pick one per port
// or per traffic definition from configuration. A generator must use this
// one to be read by OpenPerf or TestCenter analyzers, and an analyzer must
// use it to read their generators; our own trailer is for openperfd on both
// ends. What differs for callers:
//
//   - timestamps are 2.5 ns ticks since the start of the UTC year, modulo
//     2^38 (wrapping every ~11.45 minutes) instead of nanoseconds modulo
//     2^48: convert with Ticks, Unwrap and Latency;
//   - the PRBS fill is PRBS-23 continued from frame to frame on a transmit
//     queue (PRBS23), not PRBS-31 restarted per frame;
//   - the signature is 20 bytes, so minimum frames have 2 bytes less room
//     for headers, and on runt IPv4/UDP frames it overlaps the UDP checksum
//     (OpenPerf then writes a checksum "cheater" into bytes 18..19; Encode
//     leaves them zero).
//
// # What an analyzer can detect
//
// Decode accepts exactly what OpenPerf's receive path accepts: the CRC-16
// over the 16 scrambled bytes, the scramble key against the sequence's low
// byte (8 bits) and the enhanced-detection copy of the sequence's top 16
// bits. A frame without a signature, whose last 20 bytes are random,
// passes all three with probability 2^-40 (about 1 in 1.1e12 frames, or one
// false signature every ~15 hours at 20 Mpps). Payload that is not random
// (constant or counting fill in a frame of another tool) is no more likely
// to pass: all-zero and all-one tails fail, as the tests show. Errors in a
// real signature are caught by the CRC: every single-bit error, and every
// burst of up to 16 bits, in bytes 0..17; bytes 18..19 are not covered (they
// carry nothing). A corrupted signature with a CRC that happens to fit
// still fails the structural checks if the damage touches the key, the
// sequence or the enhanced-detection bytes, but not if it only touches the
// stream id, timestamp or flags.
//
// Once decoded, sequence numbers give loss, duplicates and reordering per
// stream; timestamps give latency (Latency, valid across a wrap up to ~5.7
// minutes) and jitter; the PRBS flag says the payload can be checked for
// bit errors (PRBS23BitErrors).
//
// Everything here is allocation-free and safe for concurrent use, except
// that a PRBS23 value belongs to one goroutine.
package spirent
