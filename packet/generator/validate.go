package generator

import (
	"fmt"
	"math/bits"

	"github.com/openperfd/openperfd/packet/protocol"
)

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
		sigLen = d.Signature.Len()
		if d.Signature.Format == FormatSpirent && len(d.Headers) > 0 && d.Headers[len(d.Headers)-1].Header.Kind() == protocol.KindUDP {
			// As in OpenPerf, a Spirent signature may cover the UDP
			// checksum that ends the headers: its cheater bytes then
			// keep that checksum right (template.signSpirent).
			sigLen -= 2
		}
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
		if v.BitLen() > vb {
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
			if q.Stop.Less(q.Start) {
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
		step = q.Stop.Sub(q.Start).Div64(uint64(q.Count))
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
		v = v.Add(step)
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
	if l.IMIX != nil {
		n++
	}
	if n != 1 {
		return nil, invalid(p, "exactly one of fixed, list, sequence and x_imix is required")
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
	case l.IMIX != nil:
		out, err := l.IMIX.Expand(p + ".x_imix")
		if err != nil {
			return nil, err
		}
		for i, v := range out {
			if err := check(fmt.Sprintf("%s.x_imix (entry %d)", p, i), v); err != nil {
				return nil, err
			}
		}
		return out, nil
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
