package rest

import (
	"context"
	"slices"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/bpf"
	"github.com/openperfd/openperfd/packet/protocol"
)

// analyzerFromJSON turns an API analyzer into a service spec; where
// prefixes field names in errors.
func analyzerFromJSON(in *gen.PacketAnalyzer, where string) (analyzer.Spec, error) {
	c := withAnalyzerDefaults(in.Config)
	field, id, err := itemHead(where, in.Id, "source_id", in.SourceId)
	sp := analyzer.Spec{ID: id, SourceID: in.SourceId}
	if err != nil {
		return sp, err
	}
	names := func(n int, at func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	if sp.Config.ProtocolCounters, err = analyzer.ParseProtocolCounters(names(len(c.ProtocolCounters), func(i int) string { return string(c.ProtocolCounters[i]) })); err != nil {
		return sp, badRequest("%s: %v", field("config.protocol_counters"), err)
	}
	if sp.Config.FlowCounters, err = analyzer.ParseFlowCounters(names(len(c.FlowCounters), func(i int) string { return string(c.FlowCounters[i]) })); err != nil {
		return sp, badRequest("%s: %v", field("config.flow_counters"), err)
	}
	if c.FlowDigests != nil {
		d := *c.FlowDigests
		if sp.Config.FlowDigests, err = analyzer.ParseFlowDigests(names(len(d), func(i int) string { return string(d[i]) })); err != nil {
			return sp, badRequest("%s: %v", field("config.flow_digests"), err)
		}
	}
	if sp.Config.Checksums, err = analyzer.ParseChecksumMode(string(*c.XChecksums)); err != nil {
		return sp, badRequest("%s: %v", field("config.x_checksums"), err)
	}
	if c.Filter != nil && *c.Filter != "" {
		f, err := bpf.Compile(*c.Filter)
		if err != nil {
			return sp, badRequest("%s: %v", field("config.filter"), err)
		}
		sp.Config.Filter = f
	}
	sp.Opaque = c
	return sp, nil
}

// withAnalyzerDefaults fills a config the way OpenPerf's server does, so
// the analyzer shows what it really keeps: no protocol counters means
// ethernet, ip and transport; frame_count is always among the flow
// counters; the digest list is always there, maybe empty; and our
// checksum verification is shown (port unless asked otherwise).
func withAnalyzerDefaults(c gen.PacketAnalyzerConfig) gen.PacketAnalyzerConfig {
	if c.XChecksums == nil || *c.XChecksums == "" {
		c.XChecksums = ptr(gen.PacketAnalyzerConfigXChecksumsPort)
	}
	if len(c.ProtocolCounters) == 0 {
		c.ProtocolCounters = []gen.PacketAnalyzerConfigProtocolCounters{
			gen.PacketAnalyzerConfigProtocolCountersEthernet,
			gen.PacketAnalyzerConfigProtocolCountersIp,
			gen.PacketAnalyzerConfigProtocolCountersTransport,
		}
	}
	if !slices.Contains(c.FlowCounters, gen.PacketAnalyzerConfigFlowCountersFrameCount) {
		c.FlowCounters = append([]gen.PacketAnalyzerConfigFlowCounters{gen.PacketAnalyzerConfigFlowCountersFrameCount},
			c.FlowCounters...)
	}
	if c.FlowDigests == nil {
		c.FlowDigests = &[]gen.PacketAnalyzerConfigFlowDigests{}
	}
	return c
}

func analyzerToJSON(v analyzer.View) gen.PacketAnalyzer {
	out := gen.PacketAnalyzer{Id: &v.ID, SourceId: v.SourceID, Active: &v.Active}
	if c, ok := v.Opaque.(gen.PacketAnalyzerConfig); ok {
		out.Config = c
	}
	return out
}

func summaryJSON(s *analyzer.Summary, units gen.PacketAnalyzerFlowSummaryUnits) *gen.PacketAnalyzerFlowSummary {
	if s == nil {
		return nil
	}
	c := gen.PacketAnalyzerFlowSummaryCounters{Total: s.Total}
	if s.Count > 0 {
		mn, mx, sd := s.Min, s.Max, s.StdDev
		c.Min, c.Max, c.StdDev = &mn, &mx, &sd
	}
	return &gen.PacketAnalyzerFlowSummary{Summary: c, Units: units}
}

func flowCountersJSON(c *analyzer.Counters) gen.PacketAnalyzerFlowCounters {
	const ns, oct = gen.PacketAnalyzerFlowSummaryUnitsNanoseconds, gen.PacketAnalyzerFlowSummaryUnitsOctets
	out := gen.PacketAnalyzerFlowCounters{
		FrameCount: int64(c.FrameCount),
		Errors: gen.PacketAnalyzerFlowErrors{Fcs: int64(c.Errors.FCS), Ipv4Checksum: int64(c.Errors.IPv4Checksum),
			TcpChecksum: int64(c.Errors.TCPChecksum), UdpChecksum: int64(c.Errors.UDPChecksum)},
		FrameLength:  summaryJSON(c.FrameLength, oct),
		Interarrival: summaryJSON(c.Interarrival, ns),
		JitterIpdv:   summaryJSON(c.JitterIPDV, ns),
		JitterRfc:    summaryJSON(c.JitterRFC, ns),
		Latency:      summaryJSON(c.Latency, ns),
	}
	if !c.FirstRx.IsZero() {
		f, l := c.FirstRx.UTC(), c.LastRx.UTC()
		out.TimestampFirst, out.TimestampLast = &f, &l
	}
	if q := c.Sequence; q != nil {
		out.Sequence = &gen.PacketAnalyzerFlowSequence{Dropped: int64(q.Dropped), Duplicate: int64(q.Duplicate),
			Late: int64(q.Late), Reordered: int64(q.Reordered), InOrder: int64(q.InOrder), RunLength: int64(q.RunLength)}
	}
	if p := c.PRBS; p != nil {
		out.Prbs = &gen.PacketAnalyzerFlowPrbs{BitErrors: int64(p.BitErrors), Octets: int64(p.Octets), FrameErrors: ptr(int64(p.FrameErrors))}
	}
	if len(c.Header) > 0 {
		hs := flowHeadersJSON(c.Header)
		out.Headers = &hs
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func digestJSON(d *analyzer.Digest) *gen.PacketAnalyzerFlowDigestResult {
	if d == nil {
		return nil
	}
	out := &gen.PacketAnalyzerFlowDigestResult{Centroids: make([]gen.TDigestCentroid, len(d.Centroids))}
	for i, c := range d.Centroids {
		out.Centroids[i] = gen.TDigestCentroid{Mean: c.Mean, Weight: int64(c.Weight)}
	}
	if d.Count > 0 {
		out.Percentiles = &gen.DigestPercentiles{P50: d.P50, P90: d.P90, P99: d.P99, P999: d.P999}
	}
	return out
}

func digestsJSON(d *analyzer.Digests) gen.PacketAnalyzerFlowDigests {
	return gen.PacketAnalyzerFlowDigests{
		FrameLength: digestJSON(d.FrameLength), Interarrival: digestJSON(d.Interarrival),
		JitterIpdv: digestJSON(d.JitterIPDV), JitterRfc: digestJSON(d.JitterRFC),
		Latency: digestJSON(d.Latency), SequenceRunLength: digestJSON(d.SequenceRunLength),
	}
}

func analyzerResultJSON(r analyzer.ResultView) gen.PacketAnalyzerResult {
	res := &r.Results
	out := gen.PacketAnalyzerResult{Id: r.ID, AnalyzerId: &r.AnalyzerID, Active: res.Active,
		FlowCounters: flowCountersJSON(&res.Totals)}
	flows := make([]string, len(res.Flows))
	for i, f := range res.Flows {
		flows[i] = analyzer.FlowID(r.ID, f.Key)
	}
	out.Flows = &flows
	out.XChecksums = checksumsJSON(&res.Checksums)
	p := &res.Protocol
	// The config lists the groups; zero groups it did not ask for are left out.
	out.ProtocolCounters = gen.PacketAnalyzerProtocolCounters{
		Ethernet: &gen.PacketEthernetProtocolCounters{Ip: int64(p.Ethernet.IP), Timesync: int64(p.Ethernet.Timesync),
			Arp: int64(p.Ethernet.ARP), Lldp: int64(p.Ethernet.LLDP), Nsh: int64(p.Ethernet.NSH), Vlan: int64(p.Ethernet.VLAN),
			Qinq: int64(p.Ethernet.QinQ), Pppoe: int64(p.Ethernet.PPPoE), Fcoe: int64(p.Ethernet.FCoE), Mpls: int64(p.Ethernet.MPLS)},
		Ip: &gen.PacketIpProtocolCounters{Ipv4: int64(p.IP.IPv4), Ipv6: int64(p.IP.IPv6)},
		Transport: &gen.PacketTransportProtocolCounters{Tcp: int64(p.Transport.TCP), Udp: int64(p.Transport.UDP),
			Fragmented: int64(p.Transport.Fragmented), Sctp: int64(p.Transport.SCTP), Icmp: int64(p.Transport.ICMP),
			NonFragmented: int64(p.Transport.NonFragmented), Igmp: int64(p.Transport.IGMP)},
		Tunnel: tunnelJSON(&p.Tunnel),
		InnerEthernet: &gen.PacketInnerEthernetProtocolCounters{Ip: int64(p.InnerEthernet.Ether),
			Vlan: int64(p.InnerEthernet.VLAN), Qinq: int64(p.InnerEthernet.QinQ)},
		InnerIp: &gen.PacketInnerIpProtocolCounters{Ipv4: int64(p.InnerIP.IPv4), Ipv6: int64(p.InnerIP.IPv6)},
		InnerTransport: &gen.PacketInnerTransportProtocolCounters{Tcp: int64(p.InnerTransport.TCP),
			Udp: int64(p.InnerTransport.UDP), Fragmented: int64(p.InnerTransport.Fragmented),
			Sctp: int64(p.InnerTransport.SCTP), Icmp: int64(p.InnerTransport.ICMP),
			NonFragmented: int64(p.InnerTransport.NonFragmented + p.InnerTransport.IGMP)}, // DPDK's inner classes have no IGMP
	}
	return out
}

func tunnelJSON(t *analyzer.TunnelCounters) *gen.PacketTunnelProtocolCounters {
	c := func(k protocol.Tunnel) int64 { return int64(t[k]) }
	return &gen.PacketTunnelProtocolCounters{Ip: c(protocol.TunnelIP), Gre: c(protocol.TunnelGRE),
		Vxlan: c(protocol.TunnelVXLAN), Nvgre: c(protocol.TunnelNVGRE), Geneve: c(protocol.TunnelGeneve),
		Grenat: c(protocol.TunnelGRENAT), Gtpc: c(protocol.TunnelGTPC), Gtpu: c(protocol.TunnelGTPU),
		Esp: c(protocol.TunnelESP), L2tp: c(protocol.TunnelL2TP), VxlanGpe: c(protocol.TunnelVXLANGPE),
		MplsInGre: c(protocol.TunnelMPLSInGRE), MplsInUdp: c(protocol.TunnelMPLSInUDP)}
}

func trimProtocolCounters(out *gen.PacketAnalyzerResult, set analyzer.ProtocolCounters) {
	pc := &out.ProtocolCounters
	drop := func(c analyzer.ProtocolCounters, clear func()) {
		if set&c == 0 {
			clear()
		}
	}
	drop(analyzer.CountEthernet, func() { pc.Ethernet = nil })
	drop(analyzer.CountIP, func() { pc.Ip = nil })
	drop(analyzer.CountTransport, func() { pc.Transport = nil })
	drop(analyzer.CountTunnel, func() { pc.Tunnel = nil })
	drop(analyzer.CountInnerEthernet, func() { pc.InnerEthernet = nil })
	drop(analyzer.CountInnerIP, func() { pc.InnerIp = nil })
	drop(analyzer.CountInnerTransport, func() { pc.InnerTransport = nil })
}

// analyzerResultsJSON is analyzerResultTrimmed over svc.
func analyzerResultsJSON(svc *analyzer.Service) func(analyzer.ResultView) gen.PacketAnalyzerResult {
	return func(r analyzer.ResultView) gen.PacketAnalyzerResult { return analyzerResultTrimmed(svc, r) }
}

// analyzerResultTrimmed is a result with only the protocol counters its
// analyzer's config asks for.
func analyzerResultTrimmed(svc *analyzer.Service, r analyzer.ResultView) gen.PacketAnalyzerResult {
	out := analyzerResultJSON(r)
	if v, err := svc.Get(r.AnalyzerID); err == nil {
		if c, ok := v.Opaque.(gen.PacketAnalyzerConfig); ok {
			var names []string
			for _, n := range c.ProtocolCounters {
				names = append(names, string(n))
			}
			set, _ := analyzer.ParseProtocolCounters(names)
			trimProtocolCounters(&out, set)
		}
	}
	return out
}

func rxFlowJSON(f analyzer.RxFlow) gen.RxFlow {
	out := gen.RxFlow{Id: f.ID, AnalyzerResultId: f.ResultID, Counters: flowCountersJSON(&f.Flow.Counters),
		Digests: digestsJSON(&f.Flow.Digests)}
	if f.Flow.Key.Signed {
		out.StreamId = ptr(int64(f.Flow.Key.StreamID))
		out.XStreamId = out.StreamId
	}
	return out
}

// ResetPacketAnalyzer implements gen.StrictServerInterface: a running
// analyzer starts a new result.
func (h *Handlers) ResetPacketAnalyzer(_ context.Context, req gen.ResetPacketAnalyzerRequestObject) (gen.ResetPacketAnalyzerResponseObject, error) {
	if err := h.analyzers.ready(); err != nil {
		return nil, err
	}
	r, err := h.svc.Analyzers.Restart(req.Id)
	if err != nil {
		return nil, err
	}
	loc := h.analyzers.resultPath(r.ID)
	return gen.ResetPacketAnalyzer201JSONResponse{Body: h.analyzers.resultJSON(r),
		Headers: gen.ResetPacketAnalyzer201ResponseHeaders{Location: &loc}}, nil
}

// ListRxFlows implements gen.StrictServerInterface.
func (h *Handlers) ListRxFlows(_ context.Context, req gen.ListRxFlowsRequestObject) (gen.ListRxFlowsResponseObject, error) {
	p := req.Params
	return listOwn(h.analyzers.page(p.XOffset, p.XLimit, p.AnalyzerId, p.SourceId), gen.ListRxFlowsResponseObject(gen.ListRxFlows200JSONResponse{}),
		func(off, lim int) gen.ListRxFlowsResponseObject {
			// Streamed, one result at a time: the JSON of a result's flows
			// (with digests) is several times the flows themselves.
			return rxFlowStream{seq: skipTake(h.svc.Analyzers.RxFlowSeq(deref(p.AnalyzerId), deref(p.SourceId)), off, lim)}
		})
}

// GetRxFlow implements gen.StrictServerInterface.
func (h *Handlers) GetRxFlow(_ context.Context, req gen.GetRxFlowRequestObject) (gen.GetRxFlowResponseObject, error) {
	out, err := getOwn(h.analyzers.ready(), h.svc.Analyzers.RxFlow, req.Id, rxFlowJSON)
	return gen.GetRxFlow200JSONResponse(out), err
}

// checksumsJSON says who verified the result's checksums.
func checksumsJSON(c *analyzer.ChecksumResults) *gen.PacketAnalyzerChecksums {
	v := func(v analyzer.Verified) gen.PacketAnalyzerChecksumsVerified {
		return gen.PacketAnalyzerChecksumsVerified{Port: int64(v.Port), Software: int64(v.Software), None: int64(v.None)}
	}
	return &gen.PacketAnalyzerChecksums{Mode: gen.PacketAnalyzerChecksumsMode(c.Mode.String()),
		Ipv4: v(c.IPv4), Udp: v(c.UDP), Tcp: v(c.TCP)}
}
