package generator

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/openperfd/openperfd/packet/protocol"
)

// result is one run of a generator: its shards on the workers and what
// it counts. Its program and shards never change after it starts.
type result struct {
	id, genID, targetID string
	prog                *Program
	shards              []shard // one per worker tx queue the run spreads over
	pacing              Pacing
	groups              []string     // protocol counter groups
	classes             []protoClass // per definition
	stopped             chan struct{}
}

// shard is the part of a run one source transmits: a block of the
// program's flows starting at global flow off (all of them when the run
// is not split).
type shard struct {
	prog *Program
	src  *Source
	off  int
}

// snapshot is each shard's counters, read once: every figure of one view
// comes from it, so they agree with each other while the run goes on.
type snapshot []Counters

func (r *result) snapshot() snapshot {
	sn := make(snapshot, len(r.shards))
	for i, sh := range r.shards {
		sn[i] = sh.src.Counters()
	}
	return sn
}

// sum adds the shards' counters up.
func (sn snapshot) sum() Counters {
	var c Counters
	for _, x := range sn {
		c.Actual += x.Actual
		c.Dropped += x.Dropped
		c.Intended += x.Intended
		if !x.First.IsZero() && (c.First.IsZero() || x.First.Before(c.First)) {
			c.First = x.First
		}
		if x.Last.After(c.Last) {
			c.Last = x.Last
		}
	}
	return c
}

// octets sums the shards' octets for the count pick takes from each
// shard's counters.
func (r *result) octets(sn snapshot, pick func(Counters) uint64) uint64 {
	var n uint64
	for i, sh := range r.shards {
		n = addSat(n, sh.prog.Octets(pick(sn[i])))
	}
	return n
}

// defPackets is DefinitionPackets over the shards (a split run has one
// definition).
func (r *result) defPackets(sn snapshot, pick func(Counters) uint64) []uint64 {
	out := make([]uint64, len(r.prog.Definitions))
	for si, sh := range r.shards {
		for i, n := range sh.prog.DefinitionPackets(pick(sn[si])) {
			out[i] += n
		}
	}
	return out
}

// flowCounts is AllFlowCounts over the shards, in global flow order.
func (r *result) flowCounts(sn snapshot, pick func(Counters) uint64) (packets, octets []uint64) {
	packets, octets = make([]uint64, r.prog.Flows()), make([]uint64, r.prog.Flows())
	for i, sh := range r.shards {
		p, o := sh.prog.AllFlowCounts(pick(sn[i]))
		copy(packets[sh.off:], p)
		copy(octets[sh.off:], o)
	}
	return packets, octets
}

func actual(c Counters) uint64   { return c.Actual }
func intended(c Counters) uint64 { return c.Intended }
func tried(c Counters) uint64    { return c.Actual + c.Dropped }

// FlowCounters are transmit counters; octets include the FCS.
type FlowCounters struct {
	PacketsActual, PacketsIntended, PacketsDropped uint64
	OctetsActual, OctetsIntended, OctetsDropped    uint64
	Errors                                         uint64
	First, Last                                    time.Time
}

// ProtocolCounts are the protocol counters of transmitted packets, by
// group ("ethernet", "ip", "transport") and counter name.
type ProtocolCounts map[string]map[string]uint64

// Remaining says what is left of a run: Unit "indefinite", "frames" or
// "seconds".
type Remaining struct {
	Unit  string
	Value uint64
}

// ResultView is a result as the API shows it.
type ResultView struct {
	ID, GeneratorID, TargetID string
	Active                    bool
	Counters                  FlowCounters
	Flows                     int
	Protocol                  ProtocolCounts
	Remaining                 Remaining
}

// view is what the API shows of r; now reads the clock, active says
// whether r is its generator's running run.
func (r *result) view(now func() int64, active bool) ResultView {
	sn := r.snapshot()
	c := sn.sum()
	p := r.prog
	fc := FlowCounters{
		PacketsActual: c.Actual, PacketsIntended: c.Intended, PacketsDropped: c.Dropped,
		OctetsActual: r.octets(sn, actual), OctetsIntended: r.octets(sn, intended),
		First: c.First, Last: c.Last,
	}
	fc.OctetsDropped = r.octets(sn, tried) - fc.OctetsActual
	v := ResultView{ID: r.id, GeneratorID: r.genID, TargetID: r.targetID, Active: active,
		Counters: fc, Flows: p.Flows(), Protocol: protocolCounts(r, sn)}
	switch {
	case r.pacing.Frames > 0:
		v.Remaining = Remaining{Unit: "frames", Value: r.pacing.Frames - min(r.pacing.Frames, c.Actual+c.Dropped)}
	case r.pacing.Duration > 0:
		left := r.pacing.Duration
		if !c.First.IsZero() {
			left -= time.Duration(now() - c.First.UnixNano())
		}
		if !active || left < 0 {
			left = 0
		}
		v.Remaining = Remaining{Unit: "seconds", Value: uint64(math.Ceil(left.Seconds()))}
	default:
		v.Remaining = Remaining{Unit: "indefinite"}
	}
	return v
}

// TxFlow is one flow of a result.
type TxFlow struct {
	ID, ResultID string
	StreamID     *uint32 // nil without signature
	Counters     FlowCounters
}

// FlowID names flow f of a result.
func FlowID(resultID string, f int) string { return resultID + "-" + strconv.Itoa(f) }

func parseFlowID(id string) (string, int, bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return "", 0, false
	}
	f, err := strconv.Atoi(id[i+1:])
	if err != nil || f < 0 || strconv.Itoa(f) != id[i+1:] {
		return "", 0, false
	}
	return id[:i], f, true
}

// protoClass is what one packet of a definition adds to the protocol
// counters.
type protoClass struct {
	eth, ip, transport string // counter names; "" adds nothing
	// tunnel and the inner groups: an IP header inside another is an IP
	// tunnel, the only one a definition's headers describe.
	tunnel, innerIP, innerTransport string
}

func classify(defs []TrafficDefinition) []protoClass {
	out := make([]protoClass, len(defs))
	for i := range defs {
		var c protoClass
		vlans := 0
		l3 := false
		for _, h := range defs[i].Headers {
			switch h.Header.Kind() {
			case protocol.KindVLAN:
				vlans++
			case protocol.KindMPLS:
				if c.eth == "" {
					c.eth = "mpls"
				}
			case protocol.KindIPv4, protocol.KindIPv6:
				ip, transport := &c.ip, &c.transport
				if l3 {
					if c.tunnel != "" || c.transport != "non_fragmented" {
						continue // deeper headers are not counted
					}
					c.tunnel, ip, transport = "ip", &c.innerIP, &c.innerTransport
				}
				l3 = true
				*ip = ipClass(h.Header)
				*transport = "non_fragmented"
				if v4, ok := h.Header.(protocol.IPv4); ok && (v4.Flags&protocol.IPv4MoreFragments != 0 || v4.FragOffset != 0) {
					*transport = "fragmented"
				}
			case protocol.KindUDP, protocol.KindTCP:
				t := &c.transport
				if c.tunnel != "" {
					t = &c.innerTransport
				}
				if l3 && *t == "non_fragmented" {
					*t = h.Header.Kind().String()
				}
			}
		}
		switch {
		case c.eth != "":
		case vlans == 1:
			c.eth = "vlan"
		case vlans > 1:
			c.eth = "qinq"
		case l3:
			c.eth = "ip"
		}
		out[i] = c
	}
	return out
}

func ipClass(h protocol.Header) string {
	if h.Kind() == protocol.KindIPv6 {
		return "ipv6"
	}
	return "ipv4"
}

var protocolGroups = map[string][]string{
	"ethernet":  {"ip", "timesync", "arp", "lldp", "nsh", "vlan", "qinq", "pppoe", "fcoe", "mpls"},
	"ip":        {"ipv4", "ipv6"},
	"transport": {"tcp", "udp", "fragmented", "sctp", "icmp", "non_fragmented", "igmp"},
	"tunnel": {"ip", "gre", "vxlan", "nvgre", "geneve", "grenat", "gtpc", "gtpu", "esp", "l2tp",
		"vxlan_gpe", "mpls_in_gre", "mpls_in_udp"},
	"inner_ethernet":  {"ip", "vlan", "qinq"},
	"inner_ip":        {"ipv4", "ipv6"},
	"inner_transport": {"tcp", "udp", "fragmented", "sctp", "icmp", "non_fragmented"},
}

func protocolCounts(r *result, sn snapshot) ProtocolCounts {
	out := ProtocolCounts{}
	if len(r.groups) == 0 {
		return out
	}
	per := r.defPackets(sn, actual)
	for _, grp := range r.groups {
		names, ok := protocolGroups[grp]
		if !ok {
			continue
		}
		m := make(map[string]uint64, len(names))
		for _, n := range names {
			m[n] = 0
		}
		for i, c := range r.classes {
			var name string
			switch grp {
			case "ethernet":
				name = c.eth
			case "ip":
				name = c.ip
			case "transport":
				name = c.transport
			case "tunnel":
				name = c.tunnel
			case "inner_ip":
				name = c.innerIP
			case "inner_transport":
				name = c.innerTransport
			}
			if name != "" {
				m[name] += per[i]
			}
		}
		out[grp] = m
	}
	return out
}

// ProtocolGroup reports whether name is an OpenPerf protocol counter group.
func ProtocolGroup(name string) bool {
	_, ok := protocolGroups[name]
	return ok
}
