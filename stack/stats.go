package stack

import (
	"reflect"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// ProtocolStats are one protocol's counters, as OpenPerf reports them.
type ProtocolStats struct {
	TxPackets, RxPackets, ForwardedPackets, DroppedPackets    uint64
	ChecksumErrors, LengthErrors, MemoryErrors, RoutingErrors uint64
	ProtocolErrors, OptionErrors, MiscErrors, CacheHits       uint64
}

// Protocols are the protocols OpenPerf reports, in its order.
var Protocols = []string{"arp", "ipv4", "ipv4_frag", "icmpv4", "igmp", "nd", "ipv6", "ipv6_frag", "icmpv6", "mld", "udp", "tcp"}

// ProtocolCounters maps each of Protocols to its counters. gVisor keeps IP
// counters for IPv4 and IPv6 together; rx and tx packets are split by
// family here, and the shared error counters are reported under ipv4.
func (s *Stack) ProtocolCounters() map[string]ProtocolStats {
	s.mu.Lock()
	shards := append([]*shard(nil), s.shards...)
	s.mu.Unlock()
	out := make(map[string]ProtocolStats, len(Protocols))
	for _, p := range Protocols {
		out[p] = ProtocolStats{}
	}
	for _, sh := range shards {
		for p, c := range shardCounters(sh.gv.Stats()) {
			out[p] = out[p].add(c)
		}
	}
	for k := ckOK + 1; k < nCk; k++ {
		p := ckProtocols[k]
		out[p] = out[p].add(ProtocolStats{ChecksumErrors: s.ckErrs[k].Load()})
	}
	v4, v6 := s.family.v4.snapshot(), s.family.v6.snapshot()
	out["ipv4"] = out["ipv4"].add(ProtocolStats{RxPackets: v4.rx, TxPackets: v4.tx})
	out["ipv6"] = out["ipv6"].add(ProtocolStats{RxPackets: v6.rx, TxPackets: v6.tx})
	return out
}

func (a ProtocolStats) add(b ProtocolStats) ProtocolStats {
	return ProtocolStats{
		TxPackets: a.TxPackets + b.TxPackets, RxPackets: a.RxPackets + b.RxPackets,
		ForwardedPackets: a.ForwardedPackets + b.ForwardedPackets, DroppedPackets: a.DroppedPackets + b.DroppedPackets,
		ChecksumErrors: a.ChecksumErrors + b.ChecksumErrors, LengthErrors: a.LengthErrors + b.LengthErrors,
		MemoryErrors: a.MemoryErrors + b.MemoryErrors, RoutingErrors: a.RoutingErrors + b.RoutingErrors,
		ProtocolErrors: a.ProtocolErrors + b.ProtocolErrors, OptionErrors: a.OptionErrors + b.OptionErrors,
		MiscErrors: a.MiscErrors + b.MiscErrors, CacheHits: a.CacheHits + b.CacheHits,
	}
}

// shardCounters maps one gVisor stack's counters to OpenPerf's protocols.
func shardCounters(st tcpip.Stats) map[string]ProtocolStats {
	out := map[string]ProtocolStats{}

	a := st.ARP
	out["arp"] = ProtocolStats{
		RxPackets:      a.PacketsReceived.Value(),
		TxPackets:      a.OutgoingRequestsSent.Value() + a.OutgoingRepliesSent.Value(),
		DroppedPackets: a.OutgoingRequestsDropped.Value() + a.OutgoingRepliesDropped.Value() + a.DisabledPacketsReceived.Value(),
		LengthErrors:   a.MalformedPacketsReceived.Value(),
		RoutingErrors:  a.RequestsReceivedUnknownTargetAddress.Value(),
		MiscErrors:     a.OutgoingRequestInterfaceHasNoLocalAddressErrors.Value() + a.OutgoingRequestBadLocalAddressErrors.Value(),
	}

	ip := st.IP
	out["ipv4"] = ProtocolStats{
		DroppedPackets: ip.DisabledPacketsReceived.Value() + ip.IPTablesInputDropped.Value() + ip.IPTablesOutputDropped.Value(),
		LengthErrors:   ip.MalformedPacketsReceived.Value(),
		RoutingErrors:  ip.InvalidDestinationAddressesReceived.Value() + ip.InvalidSourceAddressesReceived.Value(),
		OptionErrors:   ip.OptionUnknownReceived.Value(),
		MiscErrors:     ip.OutgoingPacketErrors.Value(),
	}
	out["ipv4_frag"] = ProtocolStats{LengthErrors: ip.MalformedFragmentsReceived.Value()}

	i4 := st.ICMP.V4
	out["icmpv4"] = ProtocolStats{
		RxPackets:      sumCounters(i4.PacketsReceived),
		TxPackets:      sumCounters(i4.PacketsSent) - i4.PacketsSent.Dropped.Value() - i4.PacketsSent.RateLimited.Value(),
		DroppedPackets: i4.PacketsSent.Dropped.Value() + i4.PacketsSent.RateLimited.Value(),
		LengthErrors:   i4.PacketsReceived.Invalid.Value(),
	}
	i6 := st.ICMP.V6
	rx6, tx6 := i6.PacketsReceived.ICMPv6PacketStats, i6.PacketsSent.ICMPv6PacketStats
	nd := func(p tcpip.ICMPv6PacketStats) uint64 {
		return p.RouterSolicit.Value() + p.RouterAdvert.Value() + p.NeighborSolicit.Value() + p.NeighborAdvert.Value() + p.RedirectMsg.Value()
	}
	mld := func(p tcpip.ICMPv6PacketStats) uint64 {
		return p.MulticastListenerQuery.Value() + p.MulticastListenerReport.Value() + p.MulticastListenerReportV2.Value() + p.MulticastListenerDone.Value()
	}
	out["nd"] = ProtocolStats{RxPackets: nd(rx6), TxPackets: nd(tx6)}
	out["mld"] = ProtocolStats{RxPackets: mld(rx6), TxPackets: mld(tx6)}
	out["icmpv6"] = ProtocolStats{
		RxPackets:      sumCounters(rx6) - nd(rx6) - mld(rx6),
		TxPackets:      sumCounters(tx6) - nd(tx6) - mld(tx6),
		DroppedPackets: i6.PacketsSent.Dropped.Value() + i6.PacketsSent.RateLimited.Value(),
		LengthErrors:   i6.PacketsReceived.Invalid.Value(),
		ProtocolErrors: i6.PacketsReceived.Unrecognized.Value(),
	}
	out["igmp"] = ProtocolStats{
		RxPackets: sumCounters(st.IGMP.PacketsReceived), TxPackets: sumCounters(st.IGMP.PacketsSent),
	}
	u := st.UDP
	out["udp"] = ProtocolStats{
		RxPackets: u.PacketsReceived.Value(), TxPackets: u.PacketsSent.Value(),
		DroppedPackets: u.UnknownPortErrors.Value() + u.ReceiveBufferErrors.Value(),
		ChecksumErrors: u.ChecksumErrors.Value(), LengthErrors: u.MalformedPacketsReceived.Value(),
		MemoryErrors: u.ReceiveBufferErrors.Value(), MiscErrors: u.PacketSendErrors.Value(),
	}
	t := st.TCP
	out["tcp"] = ProtocolStats{
		RxPackets: t.ValidSegmentsReceived.Value(), TxPackets: t.SegmentsSent.Value(),
		DroppedPackets: t.InvalidSegmentsReceived.Value(),
		ChecksumErrors: t.ChecksumErrors.Value(), MiscErrors: t.SegmentSendErrors.Value(),
		ProtocolErrors: t.ResetsReceived.Value(),
	}
	return out
}

// sumCounters adds every *tcpip.StatCounter in a stats struct, recursing
// into embedded structs, so new gVisor counters are not missed.
func sumCounters(v any) uint64 {
	var sum uint64
	var walk func(reflect.Value)
	walk = func(rv reflect.Value) {
		switch rv.Kind() {
		case reflect.Pointer:
			if c, ok := rv.Interface().(*tcpip.StatCounter); ok && c != nil {
				sum += c.Value()
			}
		case reflect.Struct:
			for i := 0; i < rv.NumField(); i++ {
				if rv.Type().Field(i).IsExported() {
					walk(rv.Field(i))
				}
			}
		}
	}
	walk(reflect.ValueOf(v))
	return sum
}
