package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

// loadString formats a load: "1.00M frames/s".
func loadString(l gen.TrafficLoad) string {
	period := map[gen.TrafficLoadRatePeriod]string{"second": "s", "minute": "min", "hour": "h"}[l.Rate.Period]
	if period == "" {
		period = string(l.Rate.Period)
	}
	return fmt.Sprintf("%s %s/%s", si(float64(l.Rate.Value)), l.Units, period)
}

// durationString formats a duration: "1,000 frames", "10 seconds", "continuous".
func durationString(d gen.TrafficDuration) string {
	switch {
	case d.Frames != nil:
		return count(*d.Frames) + " frames"
	case d.Time != nil:
		return count(d.Time.Value) + " " + string(d.Time.Units)
	default:
		return "continuous"
	}
}

func generatorFields(g gen.PacketGenerator) []field {
	c := g.Config
	f := []field{
		{"id", str(g.Id)}, {"target", g.TargetId}, {"active", yesNo(deref(g.Active))},
		{"learning", str((*string)(g.Learning))}, {"load", loadString(c.Load)},
		{"duration", durationString(c.Duration)},
	}
	if c.Load.BurstSize != nil {
		f = append(f, field{"burst size", count(int64(*c.Load.BurstSize))})
	}
	if c.FlowCount != nil {
		f = append(f, field{"flows", count(*c.FlowCount)})
	}
	if c.Order != nil {
		f = append(f, field{"order", string(*c.Order)})
	}
	if c.ProtocolCounters != nil {
		var names []string
		for _, p := range *c.ProtocolCounters {
			names = append(names, string(p))
		}
		f = append(f, field{"protocol counters", strings.Join(names, ", ")})
	}
	for i, t := range c.Traffic {
		f = append(f, field{fmt.Sprintf("traffic[%d]", i), trafficString(t)})
	}
	return f
}

// trafficString summarises a definition: "ethernet/ipv4/udp, length 128, stream 1".
func trafficString(t gen.TrafficDefinition) string {
	var layers []string
	for _, p := range t.Packet.Protocols {
		layers = append(layers, protocolName(p))
	}
	s := strings.Join(layers, "/")
	switch l := t.Length; {
	case l.Fixed != nil:
		s += fmt.Sprintf(", length %d", *l.Fixed)
	case l.List != nil:
		s += fmt.Sprintf(", lengths %v", *l.List)
	case l.Sequence != nil:
		s += fmt.Sprintf(", %d lengths from %d", l.Sequence.Count, l.Sequence.Start)
	}
	if t.Signature != nil {
		s += fmt.Sprintf(", stream %d", t.Signature.StreamId)
	}
	if t.Weight != nil {
		s += fmt.Sprintf(", weight %d", *t.Weight)
	}
	return s
}

func protocolName(p gen.TrafficProtocol) string {
	switch {
	case p.Ethernet != nil:
		return "ethernet"
	case p.Vlan != nil:
		return "vlan"
	case p.Mpls != nil:
		return "mpls"
	case p.Ipv4 != nil:
		return "ipv4"
	case p.Ipv6 != nil:
		return "ipv6"
	case p.Udp != nil:
		return "udp"
	case p.Tcp != nil:
		return "tcp"
	case p.Custom != nil:
		return "custom"
	}
	return "?"
}

// quickGenerator is the flag form of "generators create": one
// ethernet/ipv4/udp definition whose source address takes flows values,
// with a signature in every frame.
type quickGenerator struct {
	id, port                     string
	rate                         siValue
	frames, seconds              int64
	length, burst                int32
	srcMAC, dstMAC, srcIP, dstIP string
	flows, streamID              int64
}

// quickGeneratorFlags is the flag form of "generators create".
func quickGeneratorFlags(fs *pflag.FlagSet) func(id string) (any, error) {
	q := quickGenerator{rate: 1000000}
	fs.StringVar(&q.port, "port", "", "port (or interface) to transmit on")
	fs.Var(&q.rate, "rate", "frames per second (1000000, 1M, 10k)")
	fs.Int64Var(&q.frames, "frames", 0, "stop after this many frames")
	fs.Int64Var(&q.seconds, "seconds", 0, "stop after this many seconds (neither: continuous)")
	frameFlags(fs, &q)
	fs.Int64Var(&q.streamID, "stream-id", 1, "signature stream id of the first flow (default: the first after those the daemon's generators use)")
	given := fs.Lookup("stream-id")
	given.DefValue = "0" // the usage explains the default; pflag prints none for "0"
	return func(id string) (any, error) {
		q.id = id
		g, err := q.build()
		if err != nil || given.Changed {
			return g, err
		}
		return freshStreams{&g}, nil
	}
}

// freshStreams is a generator of the quick form whose signature stream
// ids are still to be chosen: the first after every id the daemon's
// generators sign with, so that two quick generators' flows stay apart in
// rx-flows (with one stream id they would merge into one sequence of
// duplicates and late frames). Two opctl running at once may still pick
// the same ids; --stream-id settles it.
type freshStreams struct{ g *gen.PacketGenerator }

// finish implements finisher.
func (f freshStreams) finish(ctx context.Context, a *app) (any, error) {
	r, err := a.api.ListPacketGeneratorsWithResponse(ctx, &gen.ListPacketGeneratorsParams{})
	if err := a.check(r, err); err != nil {
		return nil, fmt.Errorf("choose signature stream ids (or give --stream-id): %w", err)
	}
	gens, err := got(r.JSON200, r.Body)
	if err != nil {
		return nil, err
	}
	first := nextStreamID(gens)
	for i := range f.g.Config.Traffic {
		if sg := f.g.Config.Traffic[i].Signature; sg != nil {
			sg.StreamId = first
		}
	}
	return f.g, nil
}

// nextStreamID is the stream id after the last any of gens signs with. A
// definition's flows sign with its stream id counting up; a generator's
// flow count bounds each definition's, so no id in use is given again.
func nextStreamID(gens []gen.PacketGenerator) int64 {
	next := int64(1)
	for _, g := range gens {
		flows := max(deref(g.Config.FlowCount), 1)
		for _, t := range g.Config.Traffic {
			if t.Signature != nil {
				next = max(next, t.Signature.StreamId+flows)
			}
		}
	}
	return next
}

// build checks the quick flags and makes the generator.
func (q quickGenerator) build() (gen.PacketGenerator, error) {
	var g gen.PacketGenerator
	switch {
	case q.port == "":
		return g, usageErrorf("--port is required (or -f FILE)")
	case q.frames != 0 && q.seconds != 0:
		return g, usageErrorf("give --frames or --seconds, not both")
	case q.frames < 0 || q.seconds < 0 || q.rate <= 0 || q.flows < 1 || q.burst < 1:
		return g, usageErrorf("--rate, --frames, --seconds, --flows and --burst must be positive")
	}
	for _, m := range []struct{ flag, v string }{{"--src-mac", q.srcMAC}, {"--dst-mac", q.dstMAC}} {
		if _, err := net.ParseMAC(m.v); err != nil {
			return g, usageErrorf("%s %q: not a MAC address", m.flag, m.v)
		}
	}
	for _, ip := range []struct{ flag, v string }{{"--src-ip", q.srcIP}, {"--dst-ip", q.dstIP}} {
		if a, err := netip.ParseAddr(ip.v); err != nil || !a.Is4() {
			return g, usageErrorf("%s %q: not an IPv4 address", ip.flag, ip.v)
		}
	}
	var d gen.TrafficDuration
	switch {
	case q.frames > 0:
		d.Frames = &q.frames
	case q.seconds > 0:
		d.Time = &gen.TrafficDurationTime{Units: gen.TrafficDurationTimeUnitsSeconds, Value: q.seconds}
	default:
		continuous := true
		d.Continuous = &continuous
	}
	ipv4 := gen.TrafficProtocol{Ipv4: &gen.PacketProtocolIpv4{Source: &q.srcIP, Destination: &q.dstIP}}
	if q.flows > 1 {
		ipv4.Modifiers = &gen.TrafficProtocolModifiers{Items: []gen.TrafficProtocolModifier{{
			Name: "source",
			Ipv4: &gen.TrafficProtocolAddressModifier{Sequence: &gen.TrafficProtocolAddressSequence{Count: q.flows, Start: q.srcIP}},
		}}}
	}
	counters := []gen.PacketGeneratorConfigProtocolCounters{
		gen.PacketGeneratorConfigProtocolCountersEthernet,
		gen.PacketGeneratorConfigProtocolCountersIp,
		gen.PacketGeneratorConfigProtocolCountersTransport,
	}
	g = gen.PacketGenerator{
		Id:       opt(q.id),
		TargetId: q.port,
		Config: gen.PacketGeneratorConfig{
			Duration:         d,
			Load:             gen.TrafficLoad{BurstSize: &q.burst, Units: gen.TrafficLoadUnitsFrames, Rate: gen.TrafficLoadRate{Period: gen.TrafficLoadRatePeriodSecond, Value: int64(q.rate)}},
			ProtocolCounters: &counters,
			Traffic: []gen.TrafficDefinition{{
				Length:    gen.TrafficLength{Fixed: &q.length},
				Signature: &gen.SpirentSignature{StreamId: q.streamID, Latency: gen.SpirentSignatureLatencyStartOfFrame},
				Packet: gen.TrafficPacketTemplate{Protocols: []gen.TrafficProtocol{
					{Ethernet: &gen.PacketProtocolEthernet{Source: &q.srcMAC, Destination: &q.dstMAC}},
					ipv4,
					{Udp: &gen.PacketProtocolUdp{}},
				}},
			}},
		},
	}
	return g, nil
}

// generatorColumns head the table of generators; generatorRow is one line of it.
var generatorColumns = []string{"ID", "TARGET", "ACTIVE", "RATE", "DURATION", "FLOWS", "LEARNING"}

func generatorRow(g gen.PacketGenerator) []string {
	flows := "-"
	if g.Config.FlowCount != nil {
		flows = count(*g.Config.FlowCount)
	}
	return []string{str(g.Id), g.TargetId, yesNo(deref(g.Active)), loadString(g.Config.Load),
		durationString(g.Config.Duration), flows, str((*string)(g.Learning))}
}

// frameFlags declares the flags that shape a quick generator's frames
// (generators create and tvlp create share them).
func frameFlags(fs *pflag.FlagSet, q *quickGenerator) {
	fs.Int32Var(&q.length, "length", 128, "frame length in bytes, FCS included")
	fs.Int32Var(&q.burst, "burst", 32, "frames handed to the port at once")
	fs.StringVar(&q.srcMAC, "src-mac", "02:00:00:00:00:01", "source MAC address")
	fs.StringVar(&q.dstMAC, "dst-mac", "02:00:00:00:00:02", "destination MAC address")
	fs.StringVar(&q.srcIP, "src-ip", "198.18.0.1", "first source IPv4 address")
	fs.StringVar(&q.dstIP, "dst-ip", "198.18.1.1", "destination IPv4 address")
	fs.Int64Var(&q.flows, "flows", 1, "flows: source addresses counting up from --src-ip")
}
