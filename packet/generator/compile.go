package generator

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature"
)

// MaxSignatureFlows bounds the flows of one definition with signatures,
// as OpenPerf does: each flow takes its own stream id (StreamID + flow),
// and 64k-1 keeps a definition's ids from running into the next's.
const MaxSignatureFlows = 1<<16 - 1

// DefaultFlowLimit is the flow limit Compile applies when given none.
const DefaultFlowLimit = 1 << 22

// Compile validates and expands the definitions. flowLimit bounds the
// total number of flows (<= 0: DefaultFlowLimit); exceeding it is an error
// wrapping ErrInvalid.
func Compile(defs []TrafficDefinition, order Order, flowLimit int) (*Program, error) {
	if err := Validate(defs); err != nil {
		return nil, err
	}
	if order > OrderSequential {
		return nil, invalid("order", "unknown order %d", order)
	}
	if flowLimit <= 0 {
		flowLimit = DefaultFlowLimit
	}
	p := &Program{Definitions: make([]Definition, len(defs)), Order: order}
	// Count first, so an oversized config fails before anything is built.
	counts := make([]int, len(defs))
	total := 0
	for i := range defs {
		c := flowCount(&defs[i], flowLimit+1)
		counts[i] = c
		total += c
		if c > flowLimit || total > flowLimit {
			return nil, invalid("flow_count", "traffic needs more than %d flows, the limit", flowLimit)
		}
		if defs[i].Signature != nil && c > MaxSignatureFlows {
			return nil, invalid(fmt.Sprintf("traffic[%d].signature", i),
				"%d flows with signatures is more than %d, the limit of one definition", c, MaxSignatureFlows)
		}
		// Flow f signs with StreamID+f in 32 bits: past 2^32-1 the ids
		// would wrap to 0 and collide with other flows'.
		if sg := defs[i].Signature; sg != nil && uint64(sg.StreamID)+uint64(c)-1 > math.MaxUint32 {
			return nil, invalid(fmt.Sprintf("traffic[%d].signature.stream_id", i),
				"%d with %d flows would run past %d, the largest stream id", sg.StreamID, c, uint64(math.MaxUint32))
		}
	}
	for i := range defs {
		if err := compileDef(&p.Definitions[i], &defs[i], i, counts[i]); err != nil {
			return nil, err
		}
		p.Definitions[i].FlowOffset = p.flows
		p.flows += counts[i]
		for _, t := range p.Definitions[i].tmpls {
			p.maxFrame = max(p.maxFrame, len(t.frame))
		}
	}
	return p, nil
}

// tieCount combines member counts by tie, saturating at limit.
func tieCount(tie Tie, counts []int, limit int) int {
	n := uint64(1)
	for _, c := range counts {
		if tie == TieCartesian {
			n = mulSat(n, uint64(c))
		} else {
			n = lcmSat(n, uint64(c))
		}
		if n > uint64(limit) {
			return limit
		}
	}
	return int(n)
}

// modifierCounts are the value counts of the header's tied modifiers (all
// but the per-flow ones).
func modifierCounts(h *HeaderDef) []int {
	c := make([]int, 0, len(h.Modifiers))
	for k := range h.Modifiers {
		m := &h.Modifiers[k]
		switch {
		case m.PerFlow:
		case m.List != nil:
			c = append(c, len(m.List))
		default:
			c = append(c, len(m.Sequence.values()))
		}
	}
	return c
}

func flowCount(d *TrafficDefinition, limit int) int {
	hc := make([]int, len(d.Headers))
	for j := range d.Headers {
		hc[j] = tieCount(d.Headers[j].Tie, modifierCounts(&d.Headers[j]), limit)
	}
	return tieCount(d.Tie, hc, limit)
}

// split maps a combined index to member indexes: zip takes i mod count,
// cartesian is mixed radix with the last member fastest.
func split(tie Tie, i int, counts []int, out []int) {
	if tie == TieZip {
		for k, c := range counts {
			out[k] = i % c
		}
		return
	}
	for k := len(counts) - 1; k >= 0; k-- {
		out[k] = i % counts[k]
		i /= counts[k]
	}
}

// mod is one expanded modifier: where it writes and its values.
type mod struct {
	off  int // absolute offset of its container
	spec fieldSpec
	vals []Value
}

// apply writes value v of the modifier into frame.
func (m *mod) apply(frame []byte, v Value) {
	b := frame[m.off : m.off+m.spec.size]
	if m.spec.bits == 0 {
		v.PutBytes(b)
		return
	}
	mask := uint32(1)<<m.spec.bits - 1
	if m.spec.size == 2 {
		w := uint32(binary.BigEndian.Uint16(b))
		w = w&^(mask<<m.spec.shift) | (uint32(v.Lo)&mask)<<m.spec.shift
		binary.BigEndian.PutUint16(b, uint16(w))
		return
	}
	w := binary.BigEndian.Uint32(b)
	w = w&^(mask<<m.spec.shift) | (uint32(v.Lo)&mask)<<m.spec.shift
	binary.BigEndian.PutUint32(b, w)
}

func compileDef(cd *Definition, d *TrafficDefinition, i, flows int) error {
	p := fmt.Sprintf("traffic[%d]", i)
	stack := make(protocol.Stack, len(d.Headers))
	for j := range d.Headers {
		stack[j] = d.Headers[j].Header
	}
	hlen := stack.HeaderLen()
	sigLen := 0
	if d.Signature != nil {
		sigLen = d.Signature.Len()
		cd.spirent = d.Signature.Format == FormatSpirent
		sc := *d.Signature
		cd.Signature = &sc
		if d.Signature.Latency == LatencyEndOfFrame {
			cd.flags |= signature.FlagEndOfFrame
		}
		if d.Signature.Fill.Kind == FillPRBS {
			cd.flags |= signature.FlagPRBS
		}
	}
	lengths, err := d.Length.expand(p+".length", d.minLength(hlen))
	if err != nil {
		return err
	}
	cd.Lengths = lengths
	cd.FlowCount = flows
	cd.Weight = max(1, int(min(d.Weight, math.MaxInt32)))
	cd.Cycle = lcmSat(uint64(flows), uint64(len(lengths)))

	// Templates, one per distinct length.
	byLen := map[int]int{}
	cd.lenTmpl = make([]int, len(lengths))
	for k, l := range lengths {
		ti, ok := byLen[l]
		if !ok {
			ti = len(cd.tmpls)
			byLen[l] = ti
			frame := make([]byte, max(l-FCSLen, hlen), (max(l-FCSLen, hlen)+63)&^63) // zero padding for copyBlocks
			layers, err := stack.Build(frame)
			if err != nil {
				return invalid(fmt.Sprintf("%s.length", p), "length %d: %v", l, err)
			}
			if n := l - FCSLen; n < hlen {
				// Headers cut at the frame's length (minLength allows it
				// only without signature and modifiers, so nothing is
				// patched past the cut); the copy keeps copyBlocks within
				// the frame's own blocks.
				cut := make([]byte, n, (n+63)&^63)
				copy(cut, frame)
				frame = cut
			}
			so := len(frame) - sigLen
			if d.Signature != nil {
				pay := frame[min(int(layers.PayloadOff), so):so]
				if cd.spirent && d.Signature.Fill.Kind == FillPRBS {
					fillSpirentPRBS(pay, int(layers.PayloadOff))
				} else {
					FillPayload(pay, d.Signature.Fill)
				}
				layers.UpdateChecksums(frame)
			}
			t := template{frame: frame, head: &frame[:1][0], layers: layers, sigCsumWord: -1}
			if d.Signature != nil {
				if t.sig, err = layers.Field(so, 2); err != nil {
					return invalid(p+".signature", "length %d: %v", l, err)
				}
				t.sigCsum, t.sigOdd, t.sigUDP, t.sigRefs = t.sig.Single()
				t.sigSingle = t.sigRefs == 1 && t.sigCsum > 0
				// A runt IPv4/UDP frame: the signature starts on the UDP
				// checksum (minLength allows no other overlap).
				t.sigCheat = cd.spirent && t.sigSingle && t.sigUDP && so >= t.sigCsum && so < t.sigCsum+2
				if so < int(layers.PayloadOff) && !t.sigCheat {
					return invalid(p+".signature", "length %d: the signature would overlap the headers", l)
				}
			}
			cd.tmpls = append(cd.tmpls, t)
		}
		cd.lenTmpl[k] = ti
	}

	// Modifiers and the words they touch.
	var mods []mod
	modIdx := make([][]int, len(d.Headers)) // header -> indexes into mods, of the tied modifiers
	var perFlow []int                       // indexes into mods of the per-flow modifiers
	hcounts := make([]int, len(d.Headers))
	off := 0
	for j := range d.Headers {
		h := &d.Headers[j]
		for k := range h.Modifiers {
			m := &h.Modifiers[k]
			s, _ := m.spec(h.Header)
			if m.PerFlow {
				perFlow = append(perFlow, len(mods))
			} else {
				modIdx[j] = append(modIdx[j], len(mods))
			}
			mods = append(mods, mod{off: off + s.off, spec: s, vals: m.values()})
		}
		off += h.Header.Len()
	}
	touched := map[int]bool{} // even offsets of touched 16-bit words
	for _, m := range mods {
		for b := m.off; b < m.off+m.spec.size; b++ {
			touched[b&^1] = true
		}
	}
	for w := 0; w < hlen+1; w += 2 {
		if !touched[w] {
			continue
		}
		if touched[w+2] {
			cd.slots = append(cd.slots, slot{w, 4})
			w += 2
		} else {
			cd.slots = append(cd.slots, slot{w, 2})
		}
	}
	base := cd.tmpls[0].frame
	for ti := range cd.tmpls {
		t := &cd.tmpls[ti]
		for _, s := range cd.slots {
			if s.off+s.size > len(t.frame) {
				return invalid(p+".packet.protocols", "modified field at offset %d runs past the frame", s.off)
			}
			// The untouched bytes of a word must not depend on the length.
			for b := s.off; b < s.off+s.size; b++ {
				if t.frame[b] != base[b] {
					return invalid(p+".packet.protocols", "modified field at offset %d shares a word with a length-dependent field", s.off)
				}
			}
			f, err := t.layers.Field(s.off, s.size)
			if err != nil {
				return invalid(p+".packet.protocols", "modified field at offset %d: %v", s.off, err)
			}
			t.fields = append(t.fields, f)
		}
	}

	// Per-flow words.
	ns := len(cd.slots)
	if ns == 0 {
		return nil
	}
	cd.values = make([]uint32, flows*ns)
	for j := range d.Headers {
		hcounts[j] = tieCount(d.Headers[j].Tie, modifierCounts(&d.Headers[j]), math.MaxInt)
	}
	mcounts := make([][]int, len(d.Headers))
	midx := make([][]int, len(d.Headers))
	for j := range d.Headers {
		for _, k := range modIdx[j] {
			mcounts[j] = append(mcounts[j], len(mods[k].vals))
		}
		midx[j] = make([]int, len(modIdx[j]))
	}
	hidx := make([]int, len(d.Headers))
	scratch := make([]byte, len(base))
	for f := 0; f < flows; f++ {
		copy(scratch, base)
		split(d.Tie, f, hcounts, hidx)
		for j := range d.Headers {
			if len(modIdx[j]) == 0 {
				continue
			}
			split(d.Headers[j].Tie, hidx[j], mcounts[j], midx[j])
			for x, k := range modIdx[j] {
				mods[k].apply(scratch, mods[k].vals[midx[j][x]])
			}
		}
		for _, k := range perFlow {
			mods[k].apply(scratch, mods[k].vals[f%len(mods[k].vals)])
		}
		row := cd.values[f*ns : f*ns+ns]
		for s, sl := range cd.slots {
			if sl.size == 2 {
				row[s] = uint32(binary.BigEndian.Uint16(scratch[sl.off:]))
			} else {
				row[s] = binary.BigEndian.Uint32(scratch[sl.off:])
			}
		}
	}
	cd.precompute()
	return nil
}

// precompute works out every flow's words in every template (template.words
// and patch) when they fit patchBudget, by setting the fields as Write
// would.
func (cd *Definition) precompute() {
	words := make([][]uint16, len(cd.tmpls))
	total := 0
	for ti := range cd.tmpls {
		t := &cd.tmpls[ti]
		var offs []int
		for _, sl := range cd.slots {
			offs = append(offs, sl.off)
			if sl.size == 4 {
				offs = append(offs, sl.off+2)
			}
		}
		for i := range t.fields {
			offs = t.fields[i].Checksums(offs)
		}
		slices.Sort(offs)
		offs = slices.Compact(offs)
		for _, o := range offs {
			words[ti] = append(words[ti], uint16(o))
		}
		total += len(offs) * cd.FlowCount
		if total > patchBudget {
			return
		}
	}
	for ti := range cd.tmpls {
		t := &cd.tmpls[ti]
		nw := len(words[ti])
		end := int(words[ti][nw-1]) + 2
		scratch := make([]byte, end)
		patch := make([]uint16, nw*cd.FlowCount)
		for f := 0; f < cd.FlowCount; f++ {
			copy(scratch, t.frame[:end])
			cd.setFlow(t, scratch, f)
			row := patch[f*nw : f*nw+nw]
			for i, o := range words[ti] {
				row[i] = binary.BigEndian.Uint16(scratch[o:])
			}
		}
		t.words, t.patch = words[ti], patch
		t.sigCsumWord = -1
		for i, o := range t.words {
			if t.sigSingle && int(o) == t.sigCsum {
				t.sigCsumWord = i
			}
		}
	}
}
