package analyzer

import (
	"encoding/binary"

	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature"
	"github.com/openperfd/openperfd/packet/signature/spirent"
)

// FlowKey identifies a flow. Signed frames are keyed by port and stream id
// alone; unsigned frames by port, outermost VLAN id and the innermost IP
// header's addresses and protocol with the UDP/TCP ports after it (zero
// where a frame has no such header).
type FlowKey struct {
	Port     uint16
	Signed   bool
	StreamID uint32 // signed flows only
	HasVLAN  bool
	VLAN     uint16 // VLAN id of the outermost tag, if HasVLAN
	IP       uint8  // 4, 6 or 0 (no IP header)
	Proto    uint8  // IP protocol
	Src, Dst [16]byte
	SrcPort  uint16
	DstPort  uint16
}

// tupleKey builds an unsigned frame's key from its parsed layers.
func tupleKey(port uint16, l *protocol.Layers, frame []byte) FlowKey {
	vlan := -1
	if v := l.Index(protocol.KindVLAN, 1); v > 0 {
		vlan = int(l.Spans[v].Off)
	}
	ip := l.L3()
	if ip < 0 {
		return keyAt(port, frame, vlan, -1, false, -1, 0)
	}
	s := &l.Spans[ip]
	l4, proto := -1, uint8(0)
	if i := l.L4(); i > ip {
		switch sp := &l.Spans[i]; sp.Kind {
		case protocol.KindUDP:
			l4, proto = int(sp.Off), protocol.ProtoUDP
		case protocol.KindTCP:
			l4, proto = int(sp.Off), protocol.ProtoTCP
		}
	}
	return keyAt(port, frame, vlan, int(s.Off), s.Kind == protocol.KindIPv6, l4, proto)
}

// keyAt builds a key from header offsets in frame: vlan is the outermost
// tag's (its TCI), ip the IP header's (IPv6 if v6), l4 a UDP or TCP
// header's, whose protocol is proto; -1 for a header the frame lacks.
func keyAt(port uint16, frame []byte, vlan, ip int, v6 bool, l4 int, proto uint8) FlowKey {
	k := FlowKey{Port: port}
	if vlan >= 0 {
		k.HasVLAN = true
		k.VLAN = binary.BigEndian.Uint16(frame[vlan:]) & 0x0fff
	}
	if ip < 0 {
		return k
	}
	h := frame[ip:]
	if v6 {
		k.IP, k.Proto = 6, h[protocol.IPv6NextHeaderOff]
		k.Src = [16]byte(h[protocol.IPv6SrcOff:])
		k.Dst = [16]byte(h[protocol.IPv6DstOff:])
	} else {
		k.IP, k.Proto = 4, h[protocol.IPv4ProtocolOff]
		copy(k.Src[:4], h[protocol.IPv4SrcOff:])
		copy(k.Dst[:4], h[protocol.IPv4DstOff:])
	}
	if l4 >= 0 {
		k.Proto = proto
		k.SrcPort = binary.BigEndian.Uint16(frame[l4:])
		k.DstPort = binary.BigEndian.Uint16(frame[l4+2:])
	}
	return k
}

// summary accumulates min, max, total and the moments for a standard
// deviation of a series of values. The moments are sums of the values'
// distance from the first value (shift): no division per value, and no
// cancellation when the values are large and close together. The first
// moment is total less n shifts (exact in integers: wrapping products
// cancel), the second a float64 sum.
type summary struct {
	n        uint64
	min, max int64
	total    int64
	shift    int64
	sum2     float64
}

// sum1 is the sum of the values' distances from shift.
func (s *summary) sum1() float64 { return float64(s.total - int64(s.n)*s.shift) }

func (s *summary) add(x int64) {
	if s.n == 0 {
		s.min, s.max, s.shift = x, x, x
	}
	s.min = min(s.min, x)
	s.max = max(s.max, x)
	s.n++
	s.total += x
	d := float64(x - s.shift)
	s.sum2 += d * d
}

// sequence follows a flow's signature sequence numbers as OpenPerf (and
// Spirent test centers) classify them. The expected number is last+1:
//   - that one, or the first frame: in order, the run grows;
//   - ahead of it by d: in order too, d frames are counted dropped and a
//     new run starts;
//   - behind it, within the current run: a duplicate;
//   - behind it, further back: a frame counted dropped has come after all
//     (dropped decreases) and counts as reordered if less than the late
//     threshold back, else as late. last does not move.
type sequence struct {
	started                                                 bool
	last                                                    uint32
	dropped, duplicate, late, reordered, inOrder, runLength uint64
}

// update classifies seq. It returns the length of the run this frame
// ended (0 if none) for the run length digest.
func (s *sequence) update(seq, lateThreshold uint32) (endedRun uint64) {
	if !s.started || seq == s.last+1 {
		s.started = true
		s.inOrder++
		s.runLength++
		s.last = seq
		return 0
	}
	if ahead := seq - s.last - 1; ahead < 1<<31 {
		endedRun = s.runLength
		s.dropped += uint64(ahead)
		s.inOrder++
		s.runLength = 1
		s.last = seq
		return endedRun
	}
	back := s.last - seq // 0 for a repeat of the last frame
	if uint64(back) < s.runLength {
		s.duplicate++
		return 0
	}
	if s.dropped > 0 {
		s.dropped--
	}
	if back < lateThreshold {
		s.reordered++
	} else {
		s.late++
	}
	return 0
}

// flow is the state of one flow in one shard; the shard's mutex guards it.
type flow struct {
	key            FlowKey
	frames         uint64
	firstRx        uint64
	lastRx         uint64
	errIPv4        uint64
	errTCP, errUDP uint64

	length, interarrival summary
	latency, ipdv, rfc   summary
	lastLatency          int64
	hasLatency           bool
	seq                  sequence
	prbsBits, prbsFrames uint64
	prbsOctets           uint64
	dig                  *digests
	header               []byte // first frame's headers; read-only once set
}

// maxHeader bounds the header bytes a flow keeps.
const maxHeader = 128

// packet is what the burst loop has worked out about one frame.
type packet struct {
	frame      []byte
	payloadOff int // first byte after the headers
	bad        protocol.ChecksumErrors
	sig        signature.Signature // a Spirent one's timestamp in Unix ns (fromSpirent)
	signed     bool
	spirent    bool // the signature is a Spirent one (else our trailer)
	rx         uint64
}

// countFrame does what every flow counts: frames, receive times, checksum
// errors and, if asked, lengths. The overflow pseudo-flow gets only this.
func (f *flow) countFrame(p *packet, fc FlowCounters) {
	if f.frames == 0 {
		f.firstRx = p.rx
	} else {
		ia := int64(p.rx - f.lastRx)
		if fc&InterarrivalTime != 0 {
			f.interarrival.add(ia)
		}
		if f.dig != nil {
			f.dig.record(dInterarrival, ia)
		}
	}
	f.frames++
	f.lastRx = p.rx
	if p.bad != 0 {
		f.countErrors(p.bad)
	}
	if fc&FrameLength != 0 {
		f.length.add(int64(len(p.frame)) + fcsLen)
	}
	if f.dig != nil {
		f.dig.record(dFrameLength, int64(len(p.frame))+fcsLen)
	}
}

// fcsLen is added to every frame length: lengths count the FCS, as the
// generator's lengths and OpenPerf's analyzer do, though the port has
// stripped it, so a flow of 128-byte frames reports 128.
const fcsLen = 4

// countErrors counts a frame's checksum errors.
func (f *flow) countErrors(bad protocol.ChecksumErrors) {
	if bad&protocol.BadIPv4 != 0 {
		f.errIPv4++
	}
	if bad&protocol.BadTCP != 0 {
		f.errTCP++
	}
	if bad&protocol.BadUDP != 0 {
		f.errUDP++
	}
}

// update adds one frame to the flow.
func (f *flow) update(p *packet, cfg *Config, nd needs) {
	f.countFrame(p, cfg.FlowCounters)
	if p.signed {
		f.updateSigned(p, cfg, nd)
	}
}

// updateSigned adds what a signed frame's trailer tells: sequence,
// latency and jitter, PRBS errors, as cfg asks.
func (f *flow) updateSigned(p *packet, cfg *Config, nd needs) {
	f.updateSeqLatency(p.sig.Sequence, p.sig.Timestamp, p.rx, cfg, nd)
	if cfg.FlowCounters&PRBS != 0 && p.sig.PRBS() {
		f.checkPRBS(p.frame, p.payloadOff, p.spirent)
	}
}

// updateSeqLatency adds a signed frame's sequence number and, from its
// transmit time ts and receive time rx, its latency and the jitters it
// makes with the previous one, as cfg asks: IPDV (RFC 3393, signed, only
// between frames in sequence) and RFC 4689 jitter, the absolute
// difference of the latencies of two consecutive received frames (what
// OpenPerf's jitter_rfc is; not RFC 3550's smoothed estimate).
// Scalars, not a packet, and the common cases inline:
// the burst loop calls it for every signed frame.
func (f *flow) updateSeqLatency(seq uint32, ts, rx uint64, cfg *Config, nd needs) {
	inSequence := false
	if nd.sequence {
		if sq := &f.seq; sq.started && seq == sq.last+1 {
			sq.inOrder++
			sq.runLength++
			sq.last = seq
		} else if back := sq.last - seq; sq.started && back < 1<<31 && uint64(back) < sq.runLength {
			sq.duplicate++ // as update counts it, without the call
		} else if ended := sq.update(seq, cfg.LateThreshold); ended > 0 && f.dig != nil {
			f.dig.record(dRunLength, int64(ended))
		}
		inSequence = f.seq.runLength > 1
	}
	if !nd.latency {
		return
	}
	lat, fc := signature.Delta(rx, ts), cfg.FlowCounters
	if fc&Latency != 0 {
		f.latency.add(lat)
	}
	if f.dig != nil {
		f.dig.record(dLatency, lat)
	}
	if f.hasLatency && (fc&(JitterIPDV|JitterRFC) != 0 || f.dig != nil) {
		d := lat - f.lastLatency
		if inSequence {
			if fc&JitterIPDV != 0 {
				f.ipdv.add(d)
			}
			if f.dig != nil {
				f.dig.record(dJitterIPDV, d)
			}
		}
		j := abs(d)
		if fc&JitterRFC != 0 {
			f.rfc.add(j)
		}
		if f.dig != nil {
			f.dig.record(dJitterRFC, j)
		}
	}
	f.lastLatency, f.hasLatency = lat, true
}

// checkPRBS counts the PRBS bit errors of a frame's payload, from off to
// its signature: PRBS-23 synced on the payload as OpenPerf checks it
// (phase off: the payload's address modulo 4 in a buffer whose data
// starts 4-byte aligned) after a Spirent signature, PRBS-31 restarted per
// frame after our trailer.
func (f *flow) checkPRBS(frame []byte, off int, sp bool) {
	var bad int
	end := len(frame) - signature.Len
	if sp {
		end = len(frame) - spirent.Len
		if off >= end {
			return
		}
		bad = spirent.PRBS23BitErrors(frame[off:end], off)
	} else {
		if off >= end {
			return
		}
		var ok bool
		if bad, ok = signature.PRBS31Errors(frame[off:end]); !ok {
			return
		}
	}
	f.prbsOctets += uint64(end - off)
	if bad > 0 {
		f.prbsBits += uint64(bad)
		f.prbsFrames++
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
