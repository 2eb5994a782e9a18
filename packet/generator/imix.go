package generator

import (
	"fmt"
	"sort"
	"strings"
)

// IMIX is a mix of frame lengths sent by one traffic definition: either a
// named profile, an RFC 6985 genome, or explicit weighted lengths; exactly
// one is set. It expands to a list of lengths that repeats (packet k uses
// entry k mod len), with the lengths interleaved in their proportions
// rather than sent in runs, so every stretch of traffic has about the mix.
type IMIX struct {
	Profile string
	Genome  string
	Weights []WeightedLength
}

// WeightedLength is Weight frames of Length octets (FCS included) in each
// cycle of a mix.
type WeightedLength struct {
	Length, Weight int
}

// IMIXProfiles are the mixes known by name. "simple" is the common 7:4:1
// mix of 64, 576 and 1518 octet frames; "tolly" is the Tolly Group's
// 55/5/17/23 % mix of 64, 78, 576 and 1518. Other mixes are spelled out
// with weights or an RFC 6985 genome.
var IMIXProfiles = map[string][]WeightedLength{
	"simple": {{64, 7}, {576, 4}, {1518, 1}},
	"tolly":  {{64, 55}, {78, 5}, {576, 17}, {1518, 23}},
}

// IMIXProfileNames returns the profile names, sorted.
func IMIXProfileNames() []string {
	out := make([]string, 0, len(IMIXProfiles))
	for k := range IMIXProfiles {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// genomeSizes are RFC 6985's letters for frame sizes ("z", the MTU, is
// left out: the path's MTU is not something a generator knows).
var genomeSizes = map[byte]int{'a': 64, 'b': 128, 'c': 256, 'd': 512, 'e': 1024,
	'f': 1280, 'g': 1518, 'h': 2112, 'i': 9000}

// maxIMIXCycle bounds one cycle of a mix: each entry of the cycle is a
// slot of the definition's length list.
const maxIMIXCycle = 4096

// Expand returns one cycle of the mix's lengths, interleaved; p names the
// field in errors.
func (m *IMIX) Expand(p string) ([]int, error) {
	set := 0
	for _, b := range []bool{m.Profile != "", m.Genome != "", m.Weights != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return nil, invalid(p, "exactly one of profile, genome and weights is required")
	}
	switch {
	case m.Profile != "":
		w, ok := IMIXProfiles[m.Profile]
		if !ok {
			return nil, invalid(p+".profile", "%q is not a known IMIX profile (known: %s)", m.Profile, strings.Join(IMIXProfileNames(), ", "))
		}
		return interleave(w), nil
	case m.Genome != "":
		return parseGenome(p+".genome", m.Genome)
	}
	if len(m.Weights) == 0 {
		return nil, invalid(p+".weights", "at least one weighted length is required")
	}
	for i, w := range m.Weights {
		if w.Weight < 1 {
			return nil, invalid(fmt.Sprintf("%s.weights[%d].weight", p, i), "%d is below 1", w.Weight)
		}
		if w.Weight > maxIMIXCycle {
			return nil, invalid(fmt.Sprintf("%s.weights[%d].weight", p, i), "%d is above %d", w.Weight, maxIMIXCycle)
		}
	}
	ws := reduce(m.Weights)
	total := 0
	for _, w := range ws {
		total += w.Weight
	}
	if total > maxIMIXCycle {
		return nil, invalid(p+".weights", "the weights (divided by their common divisor) sum to %d, more than %d", total, maxIMIXCycle)
	}
	return interleave(ws), nil
}

// parseGenome reads an RFC 6985 IMIX genome: one letter per frame, in
// sending order, the string repeating.
func parseGenome(p, g string) ([]int, error) {
	if len(g) > maxIMIXCycle {
		return nil, invalid(p, "%d letters is more than %d", len(g), maxIMIXCycle)
	}
	out := make([]int, 0, len(g))
	for i := 0; i < len(g); i++ {
		n, ok := genomeSizes[g[i]]
		if !ok {
			return nil, invalid(p, "letter %d (%q) is not one of RFC 6985's sizes a..i", i, g[i:i+1])
		}
		out = append(out, n)
	}
	return out, nil
}

// reduce divides the weights by their greatest common divisor, so 70:40:10
// cycles as 7:4:1.
func reduce(ws []WeightedLength) []WeightedLength {
	g := 0
	for _, w := range ws {
		g = int(gcd(uint64(g), uint64(w.Weight)))
	}
	out := make([]WeightedLength, len(ws))
	for i, w := range ws {
		out[i] = WeightedLength{w.Length, w.Weight / g}
	}
	return out
}

// interleave spreads the weighted lengths over one cycle by smooth
// weighted round-robin: each slot goes to the entry with the most credit
// (ties to the first), which then pays the total. Any window of the cycle
// holds each length within one frame of its share.
func interleave(ws []WeightedLength) []int {
	total := 0
	for _, w := range ws {
		total += w.Weight
	}
	credit := make([]int, len(ws))
	out := make([]int, 0, total)
	for range total {
		best := 0
		for i, w := range ws {
			credit[i] += w.Weight
			if credit[i] > credit[best] {
				best = i
			}
		}
		credit[best] -= total
		out = append(out, ws[best].Length)
	}
	return out
}
