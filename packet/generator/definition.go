// Package generator compiles traffic definitions into packet templates and a
// transmit order, and writes packets from them.
//
// A TrafficDefinition is an ordered header stack (protocol.Header values),
// modifiers that vary header fields, frame lengths, an optional signature
// and a weight. Compile expands every definition once: each combination of
// modifier values is a flow; each distinct frame length gets one fully built
// template frame (headers, fill, checksums); each flow keeps only the few
// 16/32-bit words its modifiers change. Writing a packet is then: copy the
// template of the packet's length, set those words through protocol.Field
// (incremental checksum updates), and write the signature trailer.
//
// Semantics follow OpenPerf:
//   - modifiers of one header combine by that header's Tie and the headers
//     of a definition by the definition's Tie. Zip advances all members in
//     lockstep and yields LCM(member counts) tuples (member j takes value
//     i mod count_j); cartesian yields the product, the last member varying
//     fastest (nested loops in order).
//   - a sequence yields Count values start, start+step, ... with step 1, or
//     (stop-start)/Count when Stop is set (OpenPerf's integer step), values
//     in Skip left out and further values taken instead.
//   - Permute reorders a modifier's values by a fixed-seed pseudo-random
//     permutation: deterministic, the same values each run.
//   - lengths are frame lengths including the 4-byte FCS (minimum 64);
//     templates are built 4 bytes shorter. Packet k of a definition uses
//     flow k mod flows and length k mod lengths, so a definition repeats
//     after LCM(flows, lengths) packets.
//   - round-robin order sends weight packets of each definition in turn;
//     sequential order sends weight × LCM(flows, lengths) packets of one
//     definition before moving to the next.
//   - a signature's stream id for flow i of a definition is StreamID + i
//     (the schema's "first stream id" semantics).
package generator

import (
	"fmt"

	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packetio"
)

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = packetio.New(packetio.ErrInvalid, "generator: invalid traffic definition")

// ValidationError names the offending field by its path in the API JSON
// (e.g. traffic[0].packet.protocols[2].modifiers.items[0].field.sequence.count).
type ValidationError struct {
	Path string
	Msg  string
}

func (e *ValidationError) Error() string { return "generator: " + e.Path + ": " + e.Msg }

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(path, format string, args ...any) error {
	return &ValidationError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Tie tells how several modifiers (or headers) are combined.
type Tie uint8

const (
	TieZip       Tie = iota // lockstep, LCM of the counts (OpenPerf default)
	TieCartesian            // every combination, last member fastest
)

func (t Tie) String() string {
	if t == TieCartesian {
		return "cartesian"
	}
	return "zip"
}

// Order tells how packets of several definitions interleave.
type Order uint8

const (
	OrderRoundRobin Order = iota
	OrderSequential
)

func (o Order) String() string {
	if o == OrderSequential {
		return "sequential"
	}
	return "round-robin"
}

// ValueKind is the kind of a modifier's values, as OpenPerf's field, ipv4,
// ipv6 and mac modifiers.
type ValueKind uint8

const (
	KindField ValueKind = iota // integer field value
	KindIPv4
	KindIPv6
	KindMAC
)

func (k ValueKind) String() string {
	switch k {
	case KindIPv4:
		return "ipv4"
	case KindIPv6:
		return "ipv6"
	case KindMAC:
		return "mac"
	}
	return "field"
}

func (k ValueKind) width() int { // bytes of an address kind
	switch k {
	case KindIPv4:
		return 4
	case KindIPv6:
		return 16
	case KindMAC:
		return 6
	}
	return 0
}

// ValueSequence is a modifier sequence: Count values from Start.
type ValueSequence struct {
	Count uint32
	Start Value
	Stop  *Value // optional: step becomes (Stop-Start)/Count
	Skip  []Value
}

// Modifier varies one field of a header over a list or a sequence of values.
type Modifier struct {
	// Name is the field: e.g. "source"/"destination" (ethernet, ipv4,
	// ipv6), "source_port"/"destination_port" (udp, tcp), "vlan_id",
	// "label", "ttl"; "data" for custom. See FieldNames.
	Name string
	// Offset is the byte offset into a custom header's data.
	Offset int
	// Permute shuffles the values with a fixed-seed permutation.
	Permute bool
	// Kind is the value kind: field, ipv4, ipv6 or mac.
	Kind ValueKind
	// Exactly one of List and Sequence is set.
	List     []Value
	Sequence *ValueSequence
	// PerFlow gives flow f of the definition value f mod len(List),
	// outside the ties: it adds no flows. Learning sets it, so that each
	// flow takes the MAC its own IP destination resolves to whatever else
	// the definition modifies; the API never does.
	PerFlow bool
}

// HeaderDef is one protocol of a definition: a header value (protocol.Ethernet,
// protocol.IPv4, ..., protocol.Custom) and the modifiers of its fields.
type HeaderDef struct {
	Header    protocol.Header
	Modifiers []Modifier
	Tie       Tie // how this header's modifiers combine
}

// LengthSequence is Count frame lengths from Start, step 1 or
// (Stop-Start)/Count if Stop is set, lengths in Skip left out.
type LengthSequence struct {
	Count int
	Start int
	Stop  int // 0: none
	Skip  []int
}

// Length gives the frame lengths of a definition, FCS included. Exactly one
// of Fixed, List, Sequence and IMIX is set.
type Length struct {
	Fixed    int
	List     []int
	Sequence *LengthSequence
	IMIX     *IMIX // openperfd extension: weighted lengths, interleaved
}

// Latency says which end of the frame the signature timestamp refers to.
type Latency uint8

const (
	LatencyStartOfFrame Latency = iota
	LatencyEndOfFrame
)

// FillKind selects the payload fill.
type FillKind uint8

const (
	FillZero      FillKind = iota // no fill: zero bytes
	FillConstant                  // Value repeated as a big-endian 16-bit word
	FillIncrement                 // bytes Value, Value+1, ... (Value 0..255)
	FillDecrement                 // bytes Value, Value-1, ... (Value 0..255)
	FillPRBS                      // PRBS-23 as OpenPerf writes it (Spirent signatures), or PRBS-31 restarted in every frame (our trailer)
)

// SignatureFormat selects the wire format of a definition's signature.
type SignatureFormat uint8

const (
	// FormatSpirent is the 20-byte Spirent signature as OpenPerf and
	// TestCenter write it (packet/signature/spirent): the default.
	FormatSpirent SignatureFormat = iota
	// FormatOpenperfd is openperfd's own 18-byte trailer
	// (packet/signature), kept for 64-byte frames with headers that
	// leave no room for 20 bytes; its timestamp is one per burst.
	FormatOpenperfd
)

// Fill is the payload fill of a signature definition.
type Fill struct {
	Kind  FillKind
	Value uint16
}

// SignatureConfig asks for a signature trailer in every packet.
type SignatureConfig struct {
	StreamID uint32 // stream id of the definition's first flow
	Latency  Latency
	Fill     Fill
	Format   SignatureFormat
}

// Len returns the length of the signature in its format.
func (c *SignatureConfig) Len() int {
	if c.Format == FormatOpenperfd {
		return SignatureLen
	}
	return SpirentLen
}

// TrafficDefinition is one entry of a generator's traffic list.
type TrafficDefinition struct {
	Headers   []HeaderDef
	Tie       Tie // how the headers' modifier tuples combine (modifier_tie)
	Length    Length
	Signature *SignatureConfig
	Weight    uint // 0 means 1
}

// MinLength is the shortest frame length a definition may ask for (FCS
// included).
const MinLength = 64

// MaxModifierValues bounds the values of one modifier.
const MaxModifierValues = 1 << 24

// FCSLen is the length of the frame check sequence the NIC appends.
const FCSLen = 4
