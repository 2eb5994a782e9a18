package rest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/tvlp"
	"github.com/openperfd/openperfd/packetio"
)

// TvlpGenerators is the packet generator service as a TVLP replay uses
// it: step configurations are the API's PacketGeneratorConfig, turned
// into generators the way POST /packet/generators does.
type TvlpGenerators struct{ Svc *generator.Service }

var _ tvlp.Generators = TvlpGenerators{}

// flatten keeps a generator error's wording (the field it names) but
// makes it a plain 400 the replay can wrap with its step: the API's own
// errors carry their message outside the error chain.
func flatten(err error) error {
	if err == nil {
		return nil
	}
	st, _ := statusOf(err)
	if st == http.StatusInternalServerError {
		return err
	}
	return packetio.New(packetio.ErrInvalid, message(err))
}

func stepGenerator(id, target string, config any) (*gen.PacketGenerator, error) {
	c, ok := config.(gen.PacketGeneratorConfig)
	if !ok {
		return nil, fmt.Errorf("tvlp step config is %T, not a PacketGeneratorConfig", config)
	}
	pg := &gen.PacketGenerator{TargetId: target, Config: c}
	if id != "" {
		pg.Id = &id
	}
	return pg, nil
}

// Check implements tvlp.Generators.
func (g TvlpGenerators) Check(target string, config any) error {
	pg, err := stepGenerator("", target, config)
	if err != nil {
		return err
	}
	_, err = generatorSpec(pg, "")
	return flatten(err)
}

// Create implements tvlp.Generators: OpenPerf's load scale multiplies the
// rate and the burst size (a burst of at least 1).
func (g TvlpGenerators) Create(id, target string, config any, loadScale float64, from, to time.Time) error {
	c, ok := config.(gen.PacketGeneratorConfig)
	if !ok {
		return fmt.Errorf("tvlp step config is %T, not a PacketGeneratorConfig", config)
	}
	if loadScale != 1 {
		// Copy what is scaled: the profile keeps its own config.
		load := c.Load
		load.Rate.Value = int64(math.Min(float64(load.Rate.Value)*loadScale, math.MaxInt64/2))
		if load.Rate.Value < 1 {
			return packetio.New(packetio.ErrInvalid, fmt.Sprintf("config.load.rate.value: %d x load_scale %v is below 1", c.Load.Rate.Value, loadScale))
		}
		if b := load.BurstSize; b != nil {
			nb := int32(max(1, math.Min(float64(*b)*loadScale, math.MaxInt32)))
			load.BurstSize = &nb
		}
		c.Load = load
	}
	pg, err := stepGenerator(id, target, c)
	if err != nil {
		return err
	}
	sp, err := generatorSpec(pg, "")
	if err != nil {
		return flatten(err)
	}
	sp.StartAt, sp.StopAt = from, to
	_, err = g.Svc.Create([]generator.Spec{sp})
	return flatten(single(err))
}

// Start implements tvlp.Generators.
func (g TvlpGenerators) Start(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
	defer cancel()
	_, err := g.Svc.Start(ctx, []string{id})
	return flatten(err)
}

// Stop implements tvlp.Generators.
func (g TvlpGenerators) Stop(id string) { g.Svc.Stop([]string{id}) }

// Result implements tvlp.Generators.
func (g TvlpGenerators) Result(id string) (tvlp.StepResult, bool) {
	rs := g.Svc.Results(id, "")
	if len(rs) == 0 {
		return tvlp.StepResult{}, false
	}
	r := rs[len(rs)-1]
	c := r.Counters
	return tvlp.StepResult{Packets: c.PacketsActual, Octets: c.OctetsActual,
		First: c.First, Last: c.Last, Opaque: resultToJSON(r)}, true
}

// Delete implements tvlp.Generators.
func (g TvlpGenerators) Delete(id string) { _ = g.Svc.Delete([]string{id}, false) }

// tvlpService is the TVLP service, or the 404 of a module not loaded.
func (h *Handlers) tvlpService() (*tvlp.Service, error) {
	if h.svc.Tvlp == nil {
		return nil, &apiError{status: http.StatusNotFound, msg: "the tvlp module is not loaded (it needs the packet generator)"}
	}
	return h.svc.Tvlp, nil
}

// tvlpFromJSON turns a TvlpConfiguration into a spec. The read-only
// fields (state, time, error) are ignored, as OpenPerf ignores them.
func tvlpFromJSON(in *gen.TvlpConfiguration) (tvlp.Spec, error) {
	sp := tvlp.Spec{ID: deref(in.Id)}
	if err := checkID("id", sp.ID); err != nil {
		return sp, err
	}
	if sp.ID == "" {
		sp.ID = uuid.NewString()
	}
	p := in.Profile
	for _, u := range []struct {
		name string
		set  bool
	}{{"block", p.Block != nil}, {"cpu", p.Cpu != nil}, {"memory", p.Memory != nil}, {"network", p.Network != nil}} {
		if u.set {
			return sp, badRequest("profile.%s: not supported: openperfd has no %s generator module; only profile.packet series replay", u.name, u.name)
		}
	}
	if p.Packet == nil {
		return sp, nil // the service names the missing entries
	}
	for _, st := range p.Packet.Series {
		sp.Packet = append(sp.Packet, tvlp.Step{TargetID: st.TargetId, Length: time.Duration(st.Length), Config: st.Config})
	}
	return sp, nil
}

func tvlpToJSON(v tvlp.View) gen.TvlpConfiguration {
	state := gen.TvlpConfigurationState(v.State)
	out := gen.TvlpConfiguration{Id: &v.ID, State: &state, Time: &gen.TvlpTime{Length: int64(v.Length)}}
	if v.State == tvlp.StateCountdown || v.State == tvlp.StateRunning {
		start := v.Start.UTC()
		out.Time.Start = &start
	}
	if v.State == tvlp.StateRunning {
		off := int64(v.Offset)
		out.Time.Offset = &off
	}
	if v.Error != "" {
		out.Error = &v.Error
	}
	series := make([]gen.TvlpPacketStep, len(v.Spec.Packet))
	for i, st := range v.Spec.Packet {
		c, _ := st.Config.(gen.PacketGeneratorConfig)
		series[i] = gen.TvlpPacketStep{TargetId: st.TargetID, Length: int64(st.Length), Config: c}
	}
	out.Profile.Packet = &gen.TvlpPacketSeries{Series: series}
	return out
}

func stepTotalsJSON(r tvlp.StepResult) gen.TvlpStepTotals {
	out := gen.TvlpStepTotals{Packets: sat64(r.Packets), Octets: sat64(r.Octets), Rate: r.Rate()}
	if !r.First.IsZero() {
		f, l := r.First.UTC(), r.Last.UTC()
		out.TimestampFirst, out.TimestampLast = &f, &l
	}
	return out
}

func tvlpResultJSON(r tvlp.ResultView) gen.TvlpResult {
	packet := make([]gen.PacketGeneratorResult, 0, len(r.Steps))
	steps := make([]gen.TvlpStepTotals, 0, len(r.Steps))
	for _, st := range r.Steps {
		if pr, ok := st.Opaque.(gen.PacketGeneratorResult); ok {
			packet = append(packet, pr)
		}
		t := stepTotalsJSON(st.StepResult)
		i, id := int32(st.Index), st.GeneratorID
		t.Step, t.GeneratorId = &i, &id
		steps = append(steps, t)
	}
	total := stepTotalsJSON(r.Total)
	return gen.TvlpResult{Id: r.ID, TvlpId: r.TvlpID, Packet: &packet, XPacketSteps: &steps, XPacketTotal: &total}
}

// startConfigFromJSON reads the optional start body; scales are > 0.
func startConfigFromJSON(in *gen.TvlpStartConfiguration) (tvlp.StartConfig, error) {
	var sc tvlp.StartConfig
	if in == nil {
		return sc, nil
	}
	if in.StartTime != nil {
		sc.StartTime = *in.StartTime
	}
	if p := in.Packet; p != nil {
		for _, f := range []struct {
			name string
			v    *float64
			dst  *float64
		}{{"load_scale", p.LoadScale, &sc.LoadScale}, {"time_scale", p.TimeScale, &sc.TimeScale}} {
			if f.v == nil {
				continue
			}
			if !(*f.v > 0) || math.IsInf(*f.v, 0) {
				return sc, badRequest("packet.%s: %v: must be a number above 0", f.name, *f.v)
			}
			*f.dst = *f.v
		}
	}
	return sc, nil
}

// ListTvlpConfigurations implements gen.StrictServerInterface.
func (h *Handlers) ListTvlpConfigurations(_ context.Context, _ gen.ListTvlpConfigurationsRequestObject) (gen.ListTvlpConfigurationsResponseObject, error) {
	svc, err := h.tvlpService()
	if err != nil {
		return nil, err
	}
	return gen.ListTvlpConfigurations200JSONResponse(mapSlice(svc.List(), tvlpToJSON)), nil
}

// CreateTvlpConfiguration implements gen.StrictServerInterface.
func (h *Handlers) CreateTvlpConfiguration(_ context.Context, req gen.CreateTvlpConfigurationRequestObject) (gen.CreateTvlpConfigurationResponseObject, error) {
	svc, err := h.tvlpService()
	if err != nil {
		return nil, err
	}
	sp, err := tvlpFromJSON(req.Body)
	if err != nil {
		return nil, err
	}
	v, err := svc.Create(sp)
	if err != nil {
		return nil, err
	}
	loc := "/tvlp/" + v.ID
	return gen.CreateTvlpConfiguration201JSONResponse{Body: tvlpToJSON(v),
		Headers: gen.CreateTvlpConfiguration201ResponseHeaders{Location: &loc}}, nil
}

// GetTvlpConfiguration implements gen.StrictServerInterface.
func (h *Handlers) GetTvlpConfiguration(_ context.Context, req gen.GetTvlpConfigurationRequestObject) (gen.GetTvlpConfigurationResponseObject, error) {
	svc, err := h.tvlpService()
	if err != nil {
		return nil, err
	}
	v, err := svc.Get(req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetTvlpConfiguration200JSONResponse(tvlpToJSON(v)), nil
}

// DeleteTvlpConfiguration implements gen.StrictServerInterface.
func (h *Handlers) DeleteTvlpConfiguration(_ context.Context, req gen.DeleteTvlpConfigurationRequestObject) (gen.DeleteTvlpConfigurationResponseObject, error) {
	svc, err := h.tvlpService()
	if err != nil {
		return nil, err
	}
	if err := svc.Delete(req.Id); err != nil {
		return nil, err
	}
	return gen.DeleteTvlpConfiguration204Response{}, nil
}

// StartTvlpConfiguration implements gen.StrictServerInterface.
func (h *Handlers) StartTvlpConfiguration(_ context.Context, req gen.StartTvlpConfigurationRequestObject) (gen.StartTvlpConfigurationResponseObject, error) {
	svc, err := h.tvlpService()
	if err != nil {
		return nil, err
	}
	sc, err := startConfigFromJSON(req.Body)
	if err != nil {
		return nil, err
	}
	r, err := svc.Start(req.Id, sc)
	if err != nil {
		return nil, err
	}
	loc := "/tvlp-results/" + r.ID
	return gen.StartTvlpConfiguration201JSONResponse{Body: tvlpResultJSON(r),
		Headers: gen.StartTvlpConfiguration201ResponseHeaders{Location: &loc}}, nil
}

// StopTvlpConfiguration implements gen.StrictServerInterface.
func (h *Handlers) StopTvlpConfiguration(_ context.Context, req gen.StopTvlpConfigurationRequestObject) (gen.StopTvlpConfigurationResponseObject, error) {
	svc, err := h.tvlpService()
	if err != nil {
		return nil, err
	}
	if err := svc.Stop(req.Id); err != nil {
		return nil, err
	}
	return gen.StopTvlpConfiguration204Response{}, nil
}

// ListTvlpResults implements gen.StrictServerInterface.
func (h *Handlers) ListTvlpResults(_ context.Context, _ gen.ListTvlpResultsRequestObject) (gen.ListTvlpResultsResponseObject, error) {
	svc, err := h.tvlpService()
	if err != nil {
		return nil, err
	}
	return gen.ListTvlpResults200JSONResponse(mapSlice(svc.Results(), tvlpResultJSON)), nil
}

// GetTvlpResult implements gen.StrictServerInterface.
func (h *Handlers) GetTvlpResult(_ context.Context, req gen.GetTvlpResultRequestObject) (gen.GetTvlpResultResponseObject, error) {
	svc, err := h.tvlpService()
	if err != nil {
		return nil, err
	}
	r, err := svc.Result(req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetTvlpResult200JSONResponse(tvlpResultJSON(r)), nil
}

// DeleteTvlpResult implements gen.StrictServerInterface.
func (h *Handlers) DeleteTvlpResult(_ context.Context, req gen.DeleteTvlpResultRequestObject) (gen.DeleteTvlpResultResponseObject, error) {
	svc, err := h.tvlpService()
	if err != nil {
		return nil, err
	}
	if err := svc.DeleteResult(req.Id); err != nil {
		return nil, err
	}
	return gen.DeleteTvlpResult204Response{}, nil
}
