package analyzer

import (
	"fmt"
	"time"

	"github.com/openperfd/openperfd/clock"
	"github.com/openperfd/openperfd/packetio"
)

// ErrInvalid marks a configuration the analyzer rejects (an
// packetio.ErrInvalid).
var ErrInvalid = packetio.New(packetio.ErrInvalid, "invalid analyzer config")

// ProtocolCounters is a set of protocol counter groups (OpenPerf's
// protocol_counters).
type ProtocolCounters uint8

// Protocol counter groups.
const (
	CountEthernet       ProtocolCounters = 1 << iota // "ethernet"
	CountIP                                          // "ip"
	CountTransport                                   // "transport"
	CountTunnel                                      // "tunnel"
	CountInnerEthernet                               // "inner_ethernet"
	CountInnerIP                                     // "inner_ip"
	CountInnerTransport                              // "inner_transport"

	// countTunnels are the groups that look inside tunnels.
	countTunnels = CountTunnel | CountInnerEthernet | CountInnerIP | CountInnerTransport
)

var protocolCounterNames = []string{"ethernet", "ip", "transport", "tunnel", "inner_ethernet", "inner_ip", "inner_transport"}

// FlowCounters is a set of per-flow results (OpenPerf's flow_counters).
type FlowCounters uint16

// Flow counters. Latency, jitter and sequencing need signatures; PRBS needs
// signatures with the PRBS flag.
const (
	FrameCount         FlowCounters = 1 << iota // "frame_count" (always on)
	FrameLength                                 // "frame_length"
	InterarrivalTime                            // "interarrival_time"
	JitterIPDV                                  // "jitter_ipdv"
	JitterRFC                                   // "jitter_rfc"
	Latency                                     // "latency"
	AdvancedSequencing                          // "advanced_sequencing"
	PRBS                                        // "prbs"
	Header                                      // "header"
)

var flowCounterNames = []string{"frame_count", "frame_length", "interarrival_time", "jitter_ipdv",
	"jitter_rfc", "latency", "advanced_sequencing", "prbs", "header"}

// FlowDigests is a set of per-flow digests (OpenPerf's flow_digests):
// DDSketch digests that give percentiles and centroids (digest.go).
type FlowDigests uint8

// Flow digests.
const (
	DigestFrameLength       FlowDigests = 1 << iota // "frame_length"
	DigestInterarrivalTime                          // "interarrival_time"
	DigestJitterIPDV                                // "jitter_ipdv"
	DigestJitterRFC                                 // "jitter_rfc"
	DigestLatency                                   // "latency"
	DigestSequenceRunLength                         // "sequence_run_length"
)

var flowDigestNames = []string{"frame_length", "interarrival_time", "jitter_ipdv", "jitter_rfc",
	"latency", "sequence_run_length"}

// ParseProtocolCounters turns OpenPerf protocol counter names into a set.
func ParseProtocolCounters(names []string) (ProtocolCounters, error) {
	return parseSet[ProtocolCounters](names, protocolCounterNames, "protocol counter")
}

// ParseFlowCounters turns OpenPerf flow counter names into a set.
func ParseFlowCounters(names []string) (FlowCounters, error) {
	return parseSet[FlowCounters](names, flowCounterNames, "flow counter")
}

// ParseFlowDigests turns OpenPerf flow digest names into a set.
func ParseFlowDigests(names []string) (FlowDigests, error) {
	return parseSet[FlowDigests](names, flowDigestNames, "flow digest")
}

// parseSet turns names from list into the set of their bits (bit i for
// list[i]).
func parseSet[S ~uint8 | ~uint16](names, list []string, what string) (S, error) {
	var set S
	for _, n := range names {
		i := indexOf(list, n)
		if i < 0 {
			return 0, fmt.Errorf("%w: unknown %s %q", ErrInvalid, what, n)
		}
		set |= 1 << i
	}
	return set, nil
}

// Names returns the set's OpenPerf names.
func (s ProtocolCounters) Names() []string { return names(uint64(s), protocolCounterNames) }

// Names returns the set's OpenPerf names.
func (s FlowCounters) Names() []string { return names(uint64(s), flowCounterNames) }

// Names returns the set's OpenPerf names.
func (s FlowDigests) Names() []string { return names(uint64(s), flowDigestNames) }

func indexOf(list []string, s string) int {
	for i, n := range list {
		if n == s {
			return i
		}
	}
	return -1
}

func names(set uint64, list []string) []string {
	out := []string{}
	for i, n := range list {
		if set&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Filter selects the frames an analyzer counts. *bpf.Filter (packet/bpf)
// implements it. Match runs on the workers, concurrently for different
// queues, and must not allocate.
type Filter interface {
	Match(frame []byte) bool
}

// DefaultFlowLimit bounds the flows an analyzer tracks when Config.FlowLimit
// is 0. Frames of further flows count in Results.OverflowFrames.
const DefaultFlowLimit = 1 << 16

// DefaultLateThreshold is how far back (in sequence numbers) an
// out-of-order frame counts as reordered rather than late, as in OpenPerf.
const DefaultLateThreshold = 1000

// DefaultDigestMax is the largest time (ns) a digest records; larger
// values (and smaller than its negative) count as this one, which bounds
// a digest's memory.
const DefaultDigestMax = int64(10 * time.Second)

// DefaultDigestDigits is the digests' precision in significant decimal
// digits: 2 keeps percentiles within 1% (relative accuracy 10^-digits),
// at about 8 bytes per 2% of value range a flow has seen.
const DefaultDigestDigits = 2

// Config is what an analyzer counts. The zero value counts frames per flow.
type Config struct {
	ProtocolCounters ProtocolCounters
	// FlowCounters are the per-flow results; FrameCount is always on.
	FlowCounters FlowCounters
	FlowDigests  FlowDigests
	// Filter, if set, drops frames it does not match before any counting.
	Filter Filter
	// FlowLimit bounds the tracked flows (0: DefaultFlowLimit).
	FlowLimit int
	// LateThreshold: see DefaultLateThreshold (0: that default).
	LateThreshold uint32
	// DigestMax and DigestDigits shape the time digests (0: defaults).
	// Memory per flow and time digest is about 8 * 2^digits' * log2(max)
	// bytes (28 KiB for the defaults); frame length and run length
	// digests are smaller.
	DigestMax    int64
	DigestDigits int
	// Clock returns the receive time in ns since the Unix epoch, read once
	// per burst; nil means the wall clock, the generator's timestamp clock.
	Clock func() uint64
	// Checksums says who verifies received checksums: the port
	// (ChecksumsPort, the zero value, as OpenPerf) or also the software
	// (ChecksumsSoftware). Results.Checksums says who did.
	Checksums ChecksumMode
	// LinkSpeedMbps is the source port's link speed: each frame of a
	// burst is taken as received at the burst's time plus the wire time
	// of the frames before it (their lengths + 24 bytes of preamble, FCS
	// and gap), as OpenPerf's timestamper does. 0: unknown, every frame
	// of a burst gets the burst's time.
	LinkSpeedMbps int64
}

// validate fills in defaults and checks the ranges.
func (c *Config) validate() error {
	c.FlowCounters |= FrameCount
	if c.ProtocolCounters>>7 != 0 || c.FlowCounters>>9 != 0 || c.FlowDigests>>6 != 0 {
		return fmt.Errorf("%w: unknown counter or digest bits", ErrInvalid)
	}
	if c.FlowLimit < 0 || c.FlowLimit > 1<<24 {
		return fmt.Errorf("%w: flow limit %d out of 0..%d", ErrInvalid, c.FlowLimit, 1<<24)
	}
	if c.FlowLimit == 0 {
		c.FlowLimit = DefaultFlowLimit
	}
	if c.LateThreshold == 0 {
		c.LateThreshold = DefaultLateThreshold
	}
	if c.LateThreshold >= 1<<31 {
		return fmt.Errorf("%w: late threshold %d too large", ErrInvalid, c.LateThreshold)
	}
	if c.DigestMax == 0 {
		c.DigestMax = DefaultDigestMax
	}
	if c.DigestMax < 1000 || c.DigestMax > 1<<48 {
		return fmt.Errorf("%w: digest max %d ns out of 1000..2^48", ErrInvalid, c.DigestMax)
	}
	if c.DigestDigits == 0 {
		c.DigestDigits = DefaultDigestDigits
	}
	if c.DigestDigits < 1 || c.DigestDigits > 4 {
		return fmt.Errorf("%w: digest digits %d out of 1..4", ErrInvalid, c.DigestDigits)
	}
	if c.Clock == nil {
		c.Clock = nowClock
	}
	if c.Checksums > ChecksumsSoftware {
		return fmt.Errorf("%w: checksum verification %d unknown", ErrInvalid, c.Checksums)
	}
	if c.LinkSpeedMbps < 0 {
		return fmt.Errorf("%w: link speed %d Mbps is negative", ErrInvalid, c.LinkSpeedMbps)
	}
	return nil
}

// nowClock is the default receive clock: the one the generator stamps
// signatures with, at one monotonic clock read (time.Now reads two).
func nowClock() uint64 { return uint64(clock.Now()) }

// needs are what the per-packet path must work out, derived from a Config.
type needs struct {
	signature bool // decode the trailer
	sequence  bool // track sequence state (reported, or for IPDV and run lengths)
	latency   bool // compute latency (reported, or for jitter)
	protocol  bool
	// tunnels: a tunnel or inner group is counted, so every frame takes the
	// general path, where tunnels are looked for (the fast path's UDP
	// frames include VXLAN, Geneve and MPLS in UDP).
	tunnels bool
}

func (c *Config) needs() needs {
	var n needs
	fc, fd := c.FlowCounters, c.FlowDigests
	n.sequence = fc&(AdvancedSequencing|JitterIPDV) != 0 || fd&(DigestSequenceRunLength|DigestJitterIPDV) != 0
	n.latency = fc&(Latency|JitterIPDV|JitterRFC) != 0 || fd&(DigestLatency|DigestJitterIPDV|DigestJitterRFC) != 0
	n.signature = n.sequence || n.latency || fc&PRBS != 0
	n.protocol = c.ProtocolCounters != 0
	n.tunnels = c.ProtocolCounters&countTunnels != 0
	return n
}
