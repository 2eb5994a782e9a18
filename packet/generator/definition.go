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
	"math/bits"

	"github.com/openperfd/openperfd/errdefs"
	"github.com/openperfd/openperfd/packet/protocol"
)

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errdefs.New(errdefs.ErrInvalid, "generator: invalid traffic definition")

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

// Value is a modifier value: an unsigned 128-bit number. Addresses are
// their big-endian bytes read as a number.
type Value struct{ Hi, Lo uint64 }

// Uint returns an integer field value.
func Uint(v uint64) Value { return Value{Lo: v} }

// IPv4Addr returns the value of an IPv4 address.
func IPv4Addr(a [4]byte) Value { return valueOf(a[:]) }

// IPv6Addr returns the value of an IPv6 address.
func IPv6Addr(a [16]byte) Value { return valueOf(a[:]) }

// MACAddr returns the value of a MAC address.
func MACAddr(a [6]byte) Value { return valueOf(a[:]) }

func valueOf(b []byte) Value {
	var v Value
	for _, c := range b {
		v.Hi = v.Hi<<8 | v.Lo>>56
		v.Lo = v.Lo<<8 | uint64(c)
	}
	return v
}

// put writes the low len(b) bytes of v big-endian into b.
func (v Value) put(b []byte) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte(v.Lo)
		v.Lo = v.Lo>>8 | v.Hi<<56
		v.Hi >>= 8
	}
}

// bitLen is the number of significant bits of v.
func (v Value) bitLen() int {
	if v.Hi != 0 {
		return 64 + bits.Len64(v.Hi)
	}
	return bits.Len64(v.Lo)
}

func (v Value) add(w Value) Value {
	lo, c := bits.Add64(v.Lo, w.Lo, 0)
	hi, _ := bits.Add64(v.Hi, w.Hi, c)
	return Value{hi, lo}
}

func (v Value) sub(w Value) Value {
	lo, b := bits.Sub64(v.Lo, w.Lo, 0)
	hi, _ := bits.Sub64(v.Hi, w.Hi, b)
	return Value{hi, lo}
}

func (v Value) less(w Value) bool { return v.Hi < w.Hi || v.Hi == w.Hi && v.Lo < w.Lo }

// mul64 is v*n modulo 2^128.
func (v Value) mul64(n uint64) Value {
	hi, lo := bits.Mul64(v.Lo, n)
	return Value{hi + v.Hi*n, lo}
}

// div64 is v/n, n > 0.
func (v Value) div64(n uint64) Value {
	qh, r := v.Hi/n, v.Hi%n
	ql, _ := bits.Div64(r, v.Lo, n)
	return Value{qh, ql}
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
// of Fixed, List and Sequence is set.
type Length struct {
	Fixed    int
	List     []int
	Sequence *LengthSequence
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
	FillPRBS                      // PRBS-31 (x^31+x^28+1), restarted in every frame
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

// fieldSpec locates a modifiable field inside its header: a container of
// size bytes at off; bits > 0 means a sub-field of bits bits at shift within
// a 2- or 4-byte container; addr is the address kind it takes besides field
// values.
type fieldSpec struct {
	off, size   int
	bits, shift int
	addr        ValueKind // KindField: integers only
}

var fieldTable = map[protocol.Kind]map[string]fieldSpec{
	protocol.KindEthernet: {
		"destination": {off: 0, size: 6, addr: KindMAC},
		"source":      {off: 6, size: 6, addr: KindMAC},
		"ether_type":  {off: 12, size: 2},
	},
	protocol.KindVLAN: {
		"priority":      {off: 0, size: 2, bits: 3, shift: 13},
		"drop_eligible": {off: 0, size: 2, bits: 1, shift: 12},
		"vlan_id":       {off: 0, size: 2, bits: 12, shift: 0},
		"ether_type":    {off: 2, size: 2},
	},
	protocol.KindMPLS: {
		"label":           {off: 0, size: 4, bits: 20, shift: 12},
		"traffic_class":   {off: 0, size: 4, bits: 3, shift: 9},
		"bottom_of_stack": {off: 0, size: 4, bits: 1, shift: 8},
		"ttl":             {off: 0, size: 4, bits: 8, shift: 0},
	},
	protocol.KindIPv4: {
		"dscp":            {off: 0, size: 2, bits: 6, shift: 2},
		"ecn":             {off: 0, size: 2, bits: 2, shift: 0},
		"identification":  {off: 4, size: 2},
		"flags":           {off: 6, size: 2, bits: 3, shift: 13},
		"fragment_offset": {off: 6, size: 2, bits: 13, shift: 0},
		"ttl":             {off: 8, size: 2, bits: 8, shift: 8},
		"source":          {off: 12, size: 4, addr: KindIPv4},
		"destination":     {off: 16, size: 4, addr: KindIPv4},
	},
	protocol.KindIPv6: {
		"traffic_class": {off: 0, size: 4, bits: 8, shift: 20},
		"flow_label":    {off: 0, size: 4, bits: 20, shift: 0},
		"hop_limit":     {off: 6, size: 2, bits: 8, shift: 0},
		"source":        {off: 8, size: 16, addr: KindIPv6},
		"destination":   {off: 24, size: 16, addr: KindIPv6},
	},
	protocol.KindUDP: {
		"source_port":      {off: 0, size: 2},
		"destination_port": {off: 2, size: 2},
	},
	protocol.KindTCP: {
		"source_port":      {off: 0, size: 2},
		"destination_port": {off: 2, size: 2},
		"sequence_number":  {off: 4, size: 4},
		"ack_number":       {off: 8, size: 4},
		"flags":            {off: 12, size: 2, bits: 9, shift: 0},
		"window":           {off: 14, size: 2},
		"urgent_pointer":   {off: 18, size: 2},
	},
}

// FieldNames returns the modifiable field names of a header kind (custom:
// "data"). Length, checksum and header-length fields are derived by the
// builder and cannot be modified; nor can the IPv4 protocol and IPv6 next
// header, which the UDP/TCP pseudo-header checksum covers.
func FieldNames(k protocol.Kind) []string {
	if k == protocol.KindCustom {
		return []string{"data"}
	}
	var names []string
	for n := range fieldTable[k] {
		names = append(names, n)
	}
	return names
}

func protocolName(h protocol.Header) string {
	if h == nil {
		return "?"
	}
	switch h.Kind() {
	case protocol.KindEthernet:
		return "ethernet"
	case protocol.KindVLAN:
		return "vlan"
	case protocol.KindMPLS:
		return "mpls"
	case protocol.KindIPv4:
		return "ipv4"
	case protocol.KindIPv6:
		return "ipv6"
	case protocol.KindUDP:
		return "udp"
	case protocol.KindTCP:
		return "tcp"
	case protocol.KindCustom:
		return "custom"
	}
	return h.Kind().String()
}

// spec resolves the field a modifier of header h targets.
func (m *Modifier) spec(h protocol.Header) (fieldSpec, bool) {
	if c, ok := h.(protocol.Custom); ok || isCustomPtr(h) {
		if !ok {
			c = *h.(*protocol.Custom)
		}
		if m.Name != "data" {
			return fieldSpec{}, false
		}
		size := m.Kind.width()
		if size == 0 {
			size = 4
		}
		if m.Offset < 0 || m.Offset+size > len(c.Data) {
			return fieldSpec{off: -1}, false
		}
		return fieldSpec{off: m.Offset, size: size, addr: m.Kind}, true
	}
	s, ok := fieldTable[h.Kind()][m.Name]
	return s, ok
}

func isCustomPtr(h protocol.Header) bool { _, ok := h.(*protocol.Custom); return ok }

// valueBits is the width of the values a field takes.
func (s fieldSpec) valueBits() int {
	if s.bits > 0 {
		return s.bits
	}
	return s.size * 8
}

// Validate checks the definitions as a generator config's traffic list and
// returns the first error, a *ValidationError wrapping ErrInvalid.
func Validate(defs []TrafficDefinition) error {
	if len(defs) == 0 {
		return invalid("traffic", "at least one traffic definition is required")
	}
	for i := range defs {
		if err := defs[i].validate(i); err != nil {
			return err
		}
	}
	return nil
}

func (d *TrafficDefinition) validate(i int) error {
	p := fmt.Sprintf("traffic[%d]", i)
	if len(d.Headers) == 0 {
		return invalid(p+".packet.protocols", "at least one protocol is required")
	}
	if len(d.Headers) > protocol.MaxLayers {
		return invalid(p+".packet.protocols", "more than %d protocols", protocol.MaxLayers)
	}
	if d.Tie > TieCartesian {
		return invalid(p+".packet.modifier_tie", "unknown tie %d", d.Tie)
	}
	hlen := 0
	for j := range d.Headers {
		h := &d.Headers[j]
		hp := fmt.Sprintf("%s.packet.protocols[%d]", p, j)
		if h.Header == nil || protocol.Stack([]protocol.Header{h.Header}).HeaderLen() < 0 {
			return invalid(hp, "unknown or missing protocol header")
		}
		hlen += h.Header.Len()
		if h.Tie > TieCartesian {
			return invalid(hp+".modifiers.tie", "unknown tie %d", h.Tie)
		}
		for k := range h.Modifiers {
			mp := fmt.Sprintf("%s.modifiers.items[%d]", hp, k)
			if err := h.Modifiers[k].validate(mp, h.Header); err != nil {
				return err
			}
		}
	}
	if d.Signature != nil {
		if err := d.Signature.validate(p + ".signature"); err != nil {
			return err
		}
	}
	if _, err := d.Length.expand(p+".length", d.minLength(hlen)); err != nil {
		return err
	}
	return nil
}

// minLength is the shortest frame (FCS included) the definition can
// send. Frames carry every header and the signature, except that, as in
// OpenPerf, a definition with neither signature nor modifiers may be
// shorter than its headers: its frames are the headers cut at the length
// (a custom header longer than the frame, say). With a signature or a
// modifier the cut would drop what the frame must carry.
func (d *TrafficDefinition) minLength(hlen int) int {
	if d.Signature == nil && !d.modified() {
		return MinLength
	}
	sigLen := 0
	if d.Signature != nil {
		sigLen = SignatureLen
	}
	return max(MinLength, hlen+sigLen+FCSLen)
}

func (d *TrafficDefinition) modified() bool {
	for _, h := range d.Headers {
		if len(h.Modifiers) > 0 {
			return true
		}
	}
	return false
}

func (s *SignatureConfig) validate(p string) error {
	if s.Latency > LatencyEndOfFrame {
		return invalid(p+".latency", "unknown latency %d", s.Latency)
	}
	switch s.Fill.Kind {
	case FillZero, FillConstant, FillPRBS:
	case FillIncrement:
		if s.Fill.Value > 255 {
			return invalid(p+".fill.increment", "%d is not an octet", s.Fill.Value)
		}
	case FillDecrement:
		if s.Fill.Value > 255 {
			return invalid(p+".fill.decrement", "%d is not an octet", s.Fill.Value)
		}
	default:
		return invalid(p+".fill", "unknown fill %d", s.Fill.Kind)
	}
	return nil
}

func (m *Modifier) validate(p string, h protocol.Header) error {
	s, ok := m.spec(h)
	if !ok {
		if s.off < 0 {
			return invalid(p+".offset", "%d: field does not fit the custom data", m.Offset)
		}
		return invalid(p+".name", "%q is not a modifiable %s field", m.Name, protocolName(h))
	}
	if m.Kind > KindMAC {
		return invalid(p, "unknown modifier kind %d", m.Kind)
	}
	if m.Kind != KindField && m.Kind != s.addr {
		return invalid(p+"."+m.Kind.String(), "field %q does not take %s values", m.Name, m.Kind)
	}
	vp := p + "." + m.Kind.String()
	vb := s.valueBits()
	check := func(path string, v Value) error {
		if v.bitLen() > vb {
			return invalid(path, "value does not fit the %d-bit field %q", vb, m.Name)
		}
		return nil
	}
	switch {
	case m.List != nil && m.Sequence != nil:
		return invalid(vp, "only one of list and sequence may be set")
	case m.List != nil:
		if len(m.List) == 0 {
			return invalid(vp+".list", "at least one value is required")
		}
		if len(m.List) > MaxModifierValues {
			return invalid(vp+".list", "%d values is more than %d", len(m.List), MaxModifierValues)
		}
		for i, v := range m.List {
			if err := check(fmt.Sprintf("%s.list[%d]", vp, i), v); err != nil {
				return err
			}
		}
	case m.Sequence != nil:
		q := m.Sequence
		sp := vp + ".sequence"
		if q.Count == 0 {
			return invalid(sp+".count", "must be at least 1")
		}
		if err := check(sp+".start", q.Start); err != nil {
			return err
		}
		if q.Stop != nil {
			if err := check(sp+".stop", *q.Stop); err != nil {
				return err
			}
			if q.Stop.less(q.Start) {
				return invalid(sp+".stop", "is before start")
			}
		}
		if q.Count > MaxModifierValues {
			return invalid(sp+".count", "%d values is more than %d", q.Count, MaxModifierValues)
		}
		vals := m.Sequence.values()
		if len(vals) == 0 {
			return invalid(sp+".skip", "skips every value")
		}
		for _, v := range vals {
			if err := check(sp+".count", v); err != nil {
				return err
			}
		}
	default:
		return invalid(vp, "one of list and sequence is required")
	}
	return nil
}

// values expands the sequence (without permutation).
func (q *ValueSequence) values() []Value {
	step := Uint(1)
	if q.Stop != nil {
		step = q.Stop.sub(q.Start).div64(uint64(q.Count))
	}
	skip := make(map[Value]bool, len(q.Skip))
	for _, s := range q.Skip {
		skip[s] = true
	}
	out := make([]Value, 0, q.Count)
	v := q.Start
	// OpenPerf walks count+len(skip) steps, drops skipped values and takes
	// count; a skip list larger than the hits leaves the sequence short of
	// nothing, one smaller than the hits cannot happen.
	for n := 0; n < int(q.Count)+len(q.Skip) && len(out) < int(q.Count); n++ {
		if !skip[v] {
			out = append(out, v)
		}
		v = v.add(step)
	}
	return out
}

// values returns the modifier's values in transmit order (permuted if
// asked).
func (m *Modifier) values() []Value {
	var vals []Value
	if m.List != nil {
		vals = append([]Value(nil), m.List...)
	} else {
		vals = m.Sequence.values()
	}
	if m.Permute {
		permute(vals)
	}
	return vals
}

// permute shuffles vals with Fisher-Yates driven by a fixed-seed
// SplitMix64, so the permutation depends on the number of values only.
func permute(vals []Value) {
	x := uint64(0x6f70656e70657266) ^ uint64(len(vals))
	for i := len(vals) - 1; i > 0; i-- {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		hi, _ := bits.Mul64(z, uint64(i+1))
		vals[i], vals[hi] = vals[hi], vals[i]
	}
}

// expand returns the frame lengths, FCS included, each checked against
// minLen and the largest frame.
func (l *Length) expand(p string, minLen int) ([]int, error) {
	n := 0
	if l.Fixed != 0 {
		n++
	}
	if l.List != nil {
		n++
	}
	if l.Sequence != nil {
		n++
	}
	if n != 1 {
		return nil, invalid(p, "exactly one of fixed, list and sequence is required")
	}
	maxLen := protocol.MaxFrameLen + FCSLen
	check := func(path string, v int) error {
		if v < minLen {
			return invalid(path, "%d is shorter than %d (the minimum, or headers+signature+FCS)", v, minLen)
		}
		if v > maxLen {
			return invalid(path, "%d is longer than %d", v, maxLen)
		}
		return nil
	}
	switch {
	case l.Fixed != 0:
		if err := check(p+".fixed", l.Fixed); err != nil {
			return nil, err
		}
		return []int{l.Fixed}, nil
	case l.List != nil:
		if len(l.List) == 0 {
			return nil, invalid(p+".list", "at least one length is required")
		}
		for i, v := range l.List {
			if err := check(fmt.Sprintf("%s.list[%d]", p, i), v); err != nil {
				return nil, err
			}
		}
		return append([]int(nil), l.List...), nil
	}
	q := l.Sequence
	sp := p + ".sequence"
	if q.Count < 1 {
		return nil, invalid(sp+".count", "must be at least 1")
	}
	if q.Count > maxLen {
		return nil, invalid(sp+".count", "%d lengths is more than %d", q.Count, maxLen)
	}
	if err := check(sp+".start", q.Start); err != nil {
		return nil, err
	}
	step := 1
	if q.Stop != 0 {
		if err := check(sp+".stop", q.Stop); err != nil {
			return nil, err
		}
		if q.Stop < q.Start {
			return nil, invalid(sp+".stop", "%d is before start %d", q.Stop, q.Start)
		}
		step = (q.Stop - q.Start) / q.Count
	}
	skip := make(map[int]bool, len(q.Skip))
	for _, s := range q.Skip {
		skip[s] = true
	}
	out := make([]int, 0, q.Count)
	for v, n := q.Start, 0; n < q.Count+len(q.Skip) && len(out) < q.Count; n, v = n+1, v+step {
		if !skip[v] {
			if err := check(sp+".count", v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, invalid(sp+".skip", "skips every length")
	}
	return out, nil
}
