package rest

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/generator"
)

func sortedStrings(s []string) []string { sort.Strings(s); return s }

// generatorMessage makes a generator validation error name the JSON
// field: the generator names fields of the config from the config down.
func generatorMessage(err error) (string, bool) {
	var ve *generator.ValidationError
	if !errors.As(err, &ve) {
		return "", false
	}
	path := ve.Path
	for _, p := range []string{"traffic", "order", "load", "duration"} {
		if strings.HasPrefix(path, p) {
			path = "config." + path
		}
	}
	return path + ": " + ve.Msg, true
}

// generatorSpec is generatorFromJSON keeping the config (without the flow
// count, which the generator works out) for Get.
func generatorSpec(in *gen.PacketGenerator, where string) (generator.Spec, error) {
	sp, err := generatorFromJSON(in, where)
	if err != nil {
		return sp, err
	}
	cfg := in.Config
	cfg.FlowCount = nil
	sp.Opaque = cfg
	return sp, nil
}

func generatorToJSON(v generator.View) gen.PacketGenerator {
	out := gen.PacketGenerator{Id: &v.ID, TargetId: v.TargetID, Active: &v.Active}
	l := gen.PacketGeneratorLearning(v.Learning)
	out.Learning = &l
	if c, ok := v.Opaque.(gen.PacketGeneratorConfig); ok {
		out.Config = c
	}
	fc := int64(v.Flows)
	out.Config.FlowCount = &fc
	return out
}

// sat64 is a counter as the API's int64: one past its end stays at the
// end instead of turning negative.
func sat64(u uint64) int64 {
	if u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

func countersToJSON(c generator.FlowCounters) gen.PacketGeneratorFlowCounters {
	out := gen.PacketGeneratorFlowCounters{
		Errors: sat64(c.Errors), OctetsActual: sat64(c.OctetsActual), OctetsIntended: sat64(c.OctetsIntended),
		PacketsActual: sat64(c.PacketsActual), PacketsIntended: sat64(c.PacketsIntended),
	}
	pd, od := sat64(c.PacketsDropped), sat64(c.OctetsDropped)
	out.PacketsDropped, out.OctetsDropped = &pd, &od
	if !c.First.IsZero() {
		f, l := c.First.UTC(), c.Last.UTC()
		out.TimestampFirst, out.TimestampLast = &f, &l
	}
	return out
}

// decodeInto fills a generated struct from a name -> value map via JSON,
// so the counter names stay in one place (the spec).
func decodeInto(m map[string]uint64, v any) {
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, v)
}

// protocolGroup is the named group of p as T, or nil when the config did
// not ask for it.
func protocolGroup[T any](p generator.ProtocolCounts, name string) *T {
	m, ok := p[name]
	if !ok {
		return nil
	}
	v := new(T)
	decodeInto(m, v)
	return v
}

func resultToJSON(r generator.ResultView) gen.PacketGeneratorResult {
	out := gen.PacketGeneratorResult{Id: r.ID, GeneratorId: &r.GeneratorID, Active: r.Active,
		FlowCounters: countersToJSON(r.Counters), Flows: make([]string, r.Flows)}
	for i := range out.Flows {
		out.Flows[i] = generator.FlowID(r.ID, i)
	}
	p := r.Protocol
	out.ProtocolCounters = gen.PacketGeneratorProtocolCounters{
		Ethernet:       protocolGroup[gen.PacketEthernetProtocolCounters](p, "ethernet"),
		Ip:             protocolGroup[gen.PacketIpProtocolCounters](p, "ip"),
		Transport:      protocolGroup[gen.PacketTransportProtocolCounters](p, "transport"),
		Tunnel:         protocolGroup[gen.PacketTunnelProtocolCounters](p, "tunnel"),
		InnerEthernet:  protocolGroup[gen.PacketInnerEthernetProtocolCounters](p, "inner_ethernet"),
		InnerIp:        protocolGroup[gen.PacketInnerIpProtocolCounters](p, "inner_ip"),
		InnerTransport: protocolGroup[gen.PacketInnerTransportProtocolCounters](p, "inner_transport"),
	}
	rem := gen.TrafficDurationRemainder{Unit: gen.TrafficDurationRemainderUnit(r.Remaining.Unit)}
	if r.Remaining.Unit != "indefinite" {
		v := int64(r.Remaining.Value)
		rem.Value = &v
	}
	out.Remaining = &rem
	return out
}

func txFlowToJSON(f generator.TxFlow) gen.TxFlow {
	out := gen.TxFlow{Id: f.ID, GeneratorResultId: f.ResultID, Counters: countersToJSON(f.Counters)}
	if f.StreamID != nil {
		s := int64(*f.StreamID)
		out.StreamId = &s
	}
	return out
}

// TogglePacketGenerators implements gen.StrictServerInterface.
func (h *Handlers) TogglePacketGenerators(ctx context.Context, req gen.TogglePacketGeneratorsRequestObject) (gen.TogglePacketGeneratorsResponseObject, error) {
	if err := h.generators.ready(); err != nil {
		return nil, err
	}
	svc := h.svc.Generators
	if req.Body.Replace == req.Body.With {
		return nil, badRequest("with: must differ from replace")
	}
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	r, err := svc.Toggle(ctx, req.Body.Replace, req.Body.With)
	if err != nil {
		return nil, err
	}
	loc := h.generators.resultPath(r.ID)
	return gen.TogglePacketGenerators201JSONResponse{Body: resultToJSON(r),
		Headers: gen.TogglePacketGenerators201ResponseHeaders{Location: &loc}}, nil
}

// GetPacketGeneratorLearningResults implements gen.StrictServerInterface.
func (h *Handlers) GetPacketGeneratorLearningResults(_ context.Context, req gen.GetPacketGeneratorLearningResultsRequestObject) (gen.GetPacketGeneratorLearningResultsResponseObject, error) {
	out, err := getOwn(h.generators.ready(), h.svc.Generators.Learning, req.Id, learningJSON)
	return gen.GetPacketGeneratorLearningResults200JSONResponse(out), err
}

// learningJSON is a generator's learning as the API shows it.
func learningJSON(v generator.LearningView) gen.PacketGeneratorLearningResults {
	out := gen.PacketGeneratorLearningResults{ResolvedState: gen.PacketGeneratorLearningResultsResolvedState(v.State)}
	if len(v.IPv4) > 0 {
		l := make([]gen.PacketGeneratorLearningResultIpv4, len(v.IPv4))
		for i, n := range v.IPv4 {
			l[i].IpAddress = n.Addr.String()
			if n.NextHop.IsValid() && n.NextHop != n.Addr {
				// OpenPerf lists the address ARP resolved: the next hop.
				l[i].IpAddress = n.NextHop.String()
			}
			if n.MAC != nil {
				s := net.HardwareAddr(n.MAC[:]).String()
				l[i].MacAddress = &s
			}
		}
		out.Ipv4 = &l
	}
	if len(v.IPv6) > 0 {
		l := make([]gen.PacketGeneratorLearningResultIpv6, len(v.IPv6))
		for i, n := range v.IPv6 {
			l[i].IpAddress = n.Addr.String()
			if n.NextHop.IsValid() {
				s := n.NextHop.String()
				l[i].NextHopAddress = &s
			}
			if n.MAC != nil {
				s := net.HardwareAddr(n.MAC[:]).String()
				l[i].MacAddress = &s
			}
		}
		out.Ipv6 = &l
	}
	return out
}

func (h *Handlers) learningControl(id, op string) error {
	if err := h.generators.ready(); err != nil {
		return err
	}
	return h.svc.Generators.LearningControl(id, op)
}

// RetryPacketGeneratorLearning implements gen.StrictServerInterface.
func (h *Handlers) RetryPacketGeneratorLearning(_ context.Context, req gen.RetryPacketGeneratorLearningRequestObject) (gen.RetryPacketGeneratorLearningResponseObject, error) {
	if err := h.learningControl(req.Id, "retry"); err != nil {
		return nil, err
	}
	return gen.RetryPacketGeneratorLearning204Response{}, nil
}

// StartPacketGeneratorLearning implements gen.StrictServerInterface.
func (h *Handlers) StartPacketGeneratorLearning(_ context.Context, req gen.StartPacketGeneratorLearningRequestObject) (gen.StartPacketGeneratorLearningResponseObject, error) {
	if err := h.learningControl(req.Id, "start"); err != nil {
		return nil, err
	}
	return gen.StartPacketGeneratorLearning204Response{}, nil
}

// StopPacketGeneratorLearning implements gen.StrictServerInterface.
func (h *Handlers) StopPacketGeneratorLearning(_ context.Context, req gen.StopPacketGeneratorLearningRequestObject) (gen.StopPacketGeneratorLearningResponseObject, error) {
	if err := h.learningControl(req.Id, "stop"); err != nil {
		return nil, err
	}
	return gen.StopPacketGeneratorLearning204Response{}, nil
}

// ListTxFlows implements gen.StrictServerInterface.
func (h *Handlers) ListTxFlows(_ context.Context, req gen.ListTxFlowsRequestObject) (gen.ListTxFlowsResponseObject, error) {
	p := req.Params
	return listOwn(h.generators.page(p.XOffset, p.XLimit, p.GeneratorId, p.TargetId), gen.ListTxFlowsResponseObject(gen.ListTxFlows200JSONResponse{}),
		func(off, lim int) gen.ListTxFlowsResponseObject {
			// Streamed: one generator of 4M flows made a 1.6 GB slice (7.9 GB RSS).
			list := h.svc.Generators.TxFlowList(deref(p.GeneratorId), deref(p.TargetId))
			return txFlowStream{list: list, offset: off, limit: lim}
		})
}

// GetTxFlow implements gen.StrictServerInterface.
func (h *Handlers) GetTxFlow(_ context.Context, req gen.GetTxFlowRequestObject) (gen.GetTxFlowResponseObject, error) {
	out, err := getOwn(h.generators.ready(), h.svc.Generators.TxFlow, req.Id, txFlowToJSON)
	return gen.GetTxFlow200JSONResponse(out), err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func itoa(i int) string { return strconv.Itoa(i) }
