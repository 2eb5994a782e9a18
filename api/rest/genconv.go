package rest

import (
	"fmt"
	"time"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/generator"
)

// The fastest rates a generator may ask for. A 400 Gbit/s port sends at
// most 595 million 64-byte frames (50 GB) a second; these leave room for
// any port to come while keeping the intended counters far from int64's
// end: at the frame limit packets_intended would wrap after 29 years, and
// the octet counters saturate rather than wrap.
const (
	maxFrameRate = 1e10 // frames a second
	maxOctetRate = 1e12 // octets a second
)

// ratePeriods are the seconds in each rate period, in every spelling
// OpenPerf's server accepts.
var ratePeriods = map[gen.TrafficLoadRatePeriod]float64{
	gen.TrafficLoadRatePeriodMillisecond: 0.001, gen.TrafficLoadRatePeriodMilliseconds: 0.001,
	gen.TrafficLoadRatePeriodSecond: 1, gen.TrafficLoadRatePeriodSeconds: 1,
	gen.TrafficLoadRatePeriodMinute: 60, gen.TrafficLoadRatePeriodMinutes: 60,
	gen.TrafficLoadRatePeriodHour: 3600, gen.TrafficLoadRatePeriodHours: 3600,
}

// durationUnits are the time units a duration may take, in every
// spelling OpenPerf's server accepts (the same words as rate periods).
var durationUnits = map[gen.TrafficDurationTimeUnits]time.Duration{
	gen.TrafficDurationTimeUnitsMillisecond: time.Millisecond, gen.TrafficDurationTimeUnitsMilliseconds: time.Millisecond,
	gen.TrafficDurationTimeUnitsSecond: time.Second, gen.TrafficDurationTimeUnitsSeconds: time.Second,
	gen.TrafficDurationTimeUnitsMinute: time.Minute, gen.TrafficDurationTimeUnitsMinutes: time.Minute,
	gen.TrafficDurationTimeUnitsHour: time.Hour, gen.TrafficDurationTimeUnitsHours: time.Hour,
}

// generatorFromJSON turns an API generator into a service spec. where
// prefixes the field names in errors ("items[2]" for bulk requests).
func generatorFromJSON(in *gen.PacketGenerator, where string) (generator.Spec, error) {
	field, id, err := itemHead(where, in.Id, "target_id", in.TargetId)
	sp := generator.Spec{ID: id, TargetID: in.TargetId}
	if err != nil {
		return sp, err
	}
	c := &in.Config
	cf := func(f string) string { return field("config." + f) }

	// Duration: exactly one of continuous, frames, time.
	n := 0
	if c.Duration.Continuous != nil && *c.Duration.Continuous {
		n++
	}
	if c.Duration.Frames != nil {
		n++
		sp.Frames = uint64(*c.Duration.Frames)
	}
	if t := c.Duration.Time; t != nil {
		n++
		unit, ok := durationUnits[t.Units]
		if !ok {
			return sp, badRequest("%s: %q is not a unit of time", cf("duration.time.units"), t.Units)
		}
		if t.Value > int64(1<<62)/int64(unit) {
			return sp, badRequest("%s: too long", cf("duration.time.value"))
		}
		sp.Duration = time.Duration(t.Value) * unit
	}
	if n != 1 {
		return sp, badRequest("%s: exactly one of continuous (true), frames and time must be set", cf("duration"))
	}

	// Load.
	l := c.Load
	if l.Rate.Value < 1 {
		return sp, badRequest("%s: must be at least 1", cf("load.rate.value"))
	}
	per, ok := ratePeriods[l.Rate.Period]
	if !ok {
		return sp, badRequest("%s: %q is not a period", cf("load.rate.period"), l.Rate.Period)
	}
	sp.Rate = float64(l.Rate.Value) / per
	sp.RateOctets = l.Units == gen.TrafficLoadUnitsOctets
	limit, unit := maxFrameRate, "frames"
	if sp.RateOctets {
		limit, unit = maxOctetRate, "octets"
	}
	if sp.Rate > limit {
		return sp, badRequest("%s: %d per %s is %.3g %s a second, over the limit of %.0e (about 17 times the line rate of a 400 Gbit/s port)",
			cf("load.rate.value"), l.Rate.Value, l.Rate.Period, sp.Rate, unit, limit)
	}
	sp.Burst = 1
	if l.BurstSize != nil {
		sp.Burst = int(*l.BurstSize)
	}
	if sp.Burst < 1 {
		return sp, badRequest("%s: must be at least 1", cf("load.burst_size"))
	}
	if c.Order != nil && *c.Order == gen.PacketGeneratorConfigOrderSequential {
		sp.Order = generator.OrderSequential
	}
	if c.ProtocolCounters != nil {
		for i, pc := range *c.ProtocolCounters {
			if !generator.ProtocolGroup(string(pc)) {
				return sp, badRequest("%s: unknown protocol counter %q", cf(fmt.Sprintf("protocol_counters[%d]", i)), pc)
			}
			sp.Counters = append(sp.Counters, string(pc))
		}
	}
	if len(c.Traffic) == 0 {
		return sp, badRequest("%s: at least one traffic definition is required", cf("traffic"))
	}
	for i := range c.Traffic {
		d, eth, err := trafficFromJSON(&c.Traffic[i], cf(fmt.Sprintf("traffic[%d]", i)))
		if err != nil {
			return sp, err
		}
		for _, e := range eth {
			e.Def = i
			sp.Ethernet = append(sp.Ethernet, e)
		}
		sp.Traffic = append(sp.Traffic, d)
	}
	return sp, nil
}

func trafficFromJSON(t *gen.TrafficDefinition, path string) (generator.TrafficDefinition, []generator.EthernetDefault, error) {
	var d generator.TrafficDefinition
	var eth []generator.EthernetDefault
	if t.Weight != nil {
		if *t.Weight < 1 {
			return d, nil, badRequest("%s.weight: must be at least 1", path)
		}
		d.Weight = uint(*t.Weight)
	}
	if t.Packet.ModifierTie != nil && *t.Packet.ModifierTie == gen.TrafficPacketTemplateModifierTieCartesian {
		d.Tie = generator.TieCartesian
	}
	protos := t.Packet.Protocols
	if len(protos) == 0 {
		return d, nil, badRequest("%s.packet.protocols: at least one protocol is required", path)
	}
	for j := range protos {
		pp := fmt.Sprintf("%s.packet.protocols[%d]", path, j)
		var next *gen.TrafficProtocol
		if j+1 < len(protos) {
			next = &protos[j+1]
		}
		h, def, err := headerFromJSON(&protos[j], next, pp)
		if err != nil {
			return d, nil, err
		}
		if def != nil {
			def.Header = j
			eth = append(eth, *def)
		}
		hd := generator.HeaderDef{Header: h}
		if m := protos[j].Modifiers; m != nil {
			if m.Tie != nil && *m.Tie == gen.TrafficProtocolModifiersTieCartesian {
				hd.Tie = generator.TieCartesian
			}
			if len(m.Items) == 0 {
				return d, nil, badRequest("%s.modifiers.items: at least one modifier is required", pp)
			}
			for k := range m.Items {
				mod, err := modifierFromJSON(&m.Items[k], h.Kind(), fmt.Sprintf("%s.modifiers.items[%d]", pp, k))
				if err != nil {
					return d, nil, err
				}
				hd.Modifiers = append(hd.Modifiers, mod)
			}
		}
		d.Headers = append(d.Headers, hd)
	}
	ln := t.Length
	lp := path + ".length"
	set := 0
	if ln.Fixed != nil {
		set++
		d.Length.Fixed = int(*ln.Fixed)
	}
	if ln.List != nil {
		set++
		for _, v := range *ln.List {
			d.Length.List = append(d.Length.List, int(v))
		}
	}
	if q := ln.Sequence; q != nil {
		set++
		s := &generator.LengthSequence{Count: int(q.Count), Start: int(q.Start)}
		if q.Stop != nil {
			s.Stop = int(*q.Stop)
		}
		if q.Skip != nil {
			for _, v := range *q.Skip {
				s.Skip = append(s.Skip, int(v))
			}
		}
		d.Length.Sequence = s
	}
	if m := ln.XImix; m != nil {
		set++
		d.Length.IMIX = imixFromJSON(m)
	}
	if set != 1 {
		return d, nil, badRequest("%s: exactly one of fixed, list, sequence and x_imix must be set", lp)
	}
	if sg := t.Signature; sg != nil {
		if sg.StreamId < 0 || sg.StreamId > 0xffffffff {
			return d, nil, badRequest("%s.signature.stream_id: %d is not a 32-bit stream id", path, sg.StreamId)
		}
		sc := &generator.SignatureConfig{StreamID: uint32(sg.StreamId)}
		if sg.Latency == gen.SpirentSignatureLatencyEndOfFrame {
			sc.Latency = generator.LatencyEndOfFrame
		}
		if sg.XFormat != nil && *sg.XFormat == gen.SpirentSignatureXFormatOpenperfd {
			sc.Format = generator.FormatOpenperfd
		}
		if f := sg.Fill; f != nil {
			n := 0
			if f.Constant != nil {
				n++
				sc.Fill = generator.Fill{Kind: generator.FillConstant, Value: uint16(*f.Constant)}
			}
			if f.Increment != nil {
				n++
				sc.Fill = generator.Fill{Kind: generator.FillIncrement, Value: uint16(*f.Increment)}
			}
			if f.Decrement != nil {
				n++
				sc.Fill = generator.Fill{Kind: generator.FillDecrement, Value: uint16(*f.Decrement)}
			}
			if f.Prbs != nil && *f.Prbs {
				n++
				sc.Fill = generator.Fill{Kind: generator.FillPRBS}
			}
			if n > 1 {
				return d, nil, badRequest("%s.signature.fill: at most one of constant, increment, decrement and prbs may be set", path)
			}
		}
		d.Signature = sc
	}
	return d, eth, nil
}

// imixFromJSON is the x_imix extension of a traffic length; the generator
// checks it (exactly one form, known profile, RFC 6985 letters).
func imixFromJSON(m *gen.TrafficLengthImix) *generator.IMIX {
	out := &generator.IMIX{Profile: deref(m.Profile), Genome: deref(m.Genome)}
	if m.Weights != nil {
		out.Weights = make([]generator.WeightedLength, 0, len(*m.Weights))
		for _, w := range *m.Weights {
			out.Weights = append(out.Weights, generator.WeightedLength{Length: int(w.Length), Weight: int(w.Weight)})
		}
	}
	return out
}
