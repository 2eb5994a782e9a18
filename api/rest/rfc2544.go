package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/rfc2544"
	"github.com/openperfd/openperfd/packetio"
)

// Rfc2544Traffic runs RFC 2544 trials on the daemon's own generator and
// analyzer services (in-process, never over HTTP): each trial is an
// analyzer on the rx port and a generator on the tx port, both built from
// the API's JSON the way POST /packet/generators and /packet/analyzers
// build them, and both deleted when the trial ends.
type Rfc2544Traffic struct {
	Gens  *generator.Service
	Ans   *analyzer.Service
	Ports *packetio.Service
	// LinkSpeed is a port's link speed in Mbps (0: unknown).
	LinkSpeed func(portID string) int64
}

var _ rfc2544.Traffic = Rfc2544Traffic{}

// Trial timing: how often a trial looks at its generator and analyzer,
// how long the rx count must stand still once the generator is done, and
// how long frames may take to arrive at most (RFC 2544 waits 2 s).
const (
	trialPoll   = 10 * time.Millisecond
	trialStill  = 100 * time.Millisecond
	trialSettle = 2 * time.Second
)

// LineRate implements rfc2544.Traffic.
func (t Rfc2544Traffic) LineRate(portID string) (int64, error) {
	if _, err := t.Ports.Port(portID); err != nil {
		return 0, fmt.Errorf("port %s: %w", portID, err)
	}
	if t.LinkSpeed == nil {
		return 0, nil
	}
	return t.LinkSpeed(portID), nil
}

// IMIX implements rfc2544.Traffic.
func (t Rfc2544Traffic) IMIX(name string) ([]int, error) {
	if _, ok := generator.IMIXProfiles[name]; !ok {
		return nil, fmt.Errorf("%q is not a known IMIX profile (known: %s)", name, strings.Join(generator.IMIXProfileNames(), ", "))
	}
	return (&generator.IMIX{Profile: name}).Expand("imix")
}

// trialGenerator is a trial's generator in the API's form: eth/ipv4/udp
// from RFC 2544's benchmarking addresses (198.18.0.0/15, appendix C's UDP
// ports), one stream with a signature.
func trialGenerator(id string, tr rfc2544.Trial) (*gen.PacketGenerator, error) {
	length := fmt.Sprintf(`{"fixed": %d}`, tr.Length)
	if tr.IMIX != "" {
		b, _ := json.Marshal(tr.IMIX)
		length = fmt.Sprintf(`{"x_imix": {"profile": %s}}`, b)
	}
	rate := max(1, int64(tr.Rate+0.5))
	doc := fmt.Sprintf(`{"duration": {"frames": %d},
	  "load": {"burst_size": 1, "rate": {"period": "second", "value": %d}, "units": "frames"},
	  "traffic": [{"length": %s, "signature": {"stream_id": %d, "latency": "start_of_frame"},
	    "packet": {"protocols": [
	      {"ethernet": {"source": "02:00:00:00:25:44", "destination": "02:00:00:00:25:45"}},
	      {"ipv4": {"source": "198.18.0.1", "destination": "198.19.0.1"}},
	      {"udp": {"source": 49184, "destination": 7}}]}}]}`, tr.Frames, rate, length, tr.StreamID)
	var c gen.PacketGeneratorConfig
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		return nil, fmt.Errorf("rfc2544 trial generator: %w", err)
	}
	return &gen.PacketGenerator{Id: &id, TargetId: tr.TxPort, Config: c}, nil
}

func trialAnalyzer(id, port string) *gen.PacketAnalyzer {
	c := gen.PacketAnalyzerConfig{
		FlowCounters: []gen.PacketAnalyzerConfigFlowCounters{"frame_count", "latency"},
		FlowDigests:  &[]gen.PacketAnalyzerConfigFlowDigests{"latency"},
	}
	return &gen.PacketAnalyzer{Id: &id, SourceId: port, Config: c}
}

// Check implements rfc2544.Traffic.
func (t Rfc2544Traffic) Check(tr rfc2544.Trial) error {
	pg, err := trialGenerator("rfc2544-check", tr)
	if err != nil {
		return err
	}
	_, err = generatorSpec(pg, "")
	return flatten(err)
}

// Run implements rfc2544.Traffic.
func (t Rfc2544Traffic) Run(ctx context.Context, tr rfc2544.Trial) (rfc2544.TrialResult, error) {
	var res rfc2544.TrialResult
	tag := uuid.NewString()
	aid, gid := "rfc2544-rx-"+tag, "rfc2544-tx-"+tag
	asp, err := analyzerFromJSON(trialAnalyzer(aid, tr.RxPort), "")
	if err != nil {
		return res, flatten(err)
	}
	if _, err := t.Ans.Create([]analyzer.Spec{asp}); err != nil {
		return res, fmt.Errorf("rfc2544 analyzer on %s: %w", tr.RxPort, err)
	}
	defer func() {
		t.Ans.Stop([]string{aid})
		_ = t.Ans.Delete([]string{aid}, false)
	}()
	pg, err := trialGenerator(gid, tr)
	if err != nil {
		return res, err
	}
	gsp, err := generatorSpec(pg, "")
	if err != nil {
		return res, flatten(err)
	}
	if _, err := t.Gens.Create([]generator.Spec{gsp}); err != nil {
		return res, fmt.Errorf("rfc2544 generator on %s: %w", tr.TxPort, err)
	}
	defer func() {
		t.Gens.Stop([]string{gid})
		_ = t.Gens.Delete([]string{gid}, false)
	}()
	sctx, cancel := context.WithTimeout(ctx, startWait)
	ars, err := t.Ans.Start(sctx, []string{aid})
	if err == nil {
		var grs []generator.ResultView
		grs, err = t.Gens.Start(sctx, []string{gid})
		if err == nil {
			cancel()
			return t.measure(ctx, tr, gid, ars[0].ID, grs[0].ID)
		}
	}
	cancel()
	return res, fmt.Errorf("rfc2544 trial start: %w", err)
}

// measure waits for the generator to send its frames and for them to
// arrive, then reads the counts.
func (t Rfc2544Traffic) measure(ctx context.Context, tr rfc2544.Trial, gid, aResult, gResult string) (rfc2544.TrialResult, error) {
	var res rfc2544.TrialResult
	tick := time.NewTicker(trialPoll)
	defer tick.Stop()
	// A port that takes frames slower than asked (or not at all) must not
	// hold the run: past twice the trial's time plus a margin the
	// generator is stopped and what it sent counts.
	late := time.Now().Add(2*time.Duration(float64(tr.Frames)/tr.Rate*float64(time.Second)) + 5*time.Second)
	for {
		if time.Now().After(late) {
			t.Gens.Stop([]string{gid})
		}
		g, err := t.Gens.Result(gResult)
		if err != nil {
			return res, fmt.Errorf("rfc2544 generator result: %w", err)
		}
		if !g.Active {
			res.Tx = g.Counters.PacketsActual
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
	}
	flow := func() (analyzer.FlowResult, bool, error) {
		a, err := t.Ans.Result(aResult)
		if err != nil {
			return analyzer.FlowResult{}, false, fmt.Errorf("rfc2544 analyzer result: %w", err)
		}
		for _, f := range a.Results.Flows {
			if f.Key.Signed && f.Key.StreamID == tr.StreamID {
				return f, true, nil
			}
		}
		return analyzer.FlowResult{}, false, nil
	}
	settle := time.Now().Add(trialSettle)
	var last uint64
	still := time.Now()
	for time.Now().Before(settle) {
		f, _, err := flow()
		if err != nil {
			return res, err
		}
		n := f.Counters.FrameCount
		if n >= res.Tx {
			break
		}
		if n != last {
			last, still = n, time.Now()
		} else if time.Since(still) >= trialStill {
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
	}
	f, ok, err := flow()
	if err != nil || !ok {
		return res, err
	}
	res.Rx = f.Counters.FrameCount
	if l, d := f.Counters.Latency, f.Digests.Latency; tr.Latency && l != nil && l.Count > 0 {
		st := &rfc2544.LatencyStats{Frames: l.Count, Min: l.Min, Max: l.Max, Avg: l.Total / int64(l.Count)}
		if d != nil {
			st.P50, st.P90, st.P99, st.P999 = d.P50, d.P90, d.P99, d.P999
		}
		res.Latency = st
	}
	return res, nil
}

// rfc2544Service is the RFC 2544 service, or the 404 of a module not
// loaded.
func (h *Handlers) rfc2544Service() (*rfc2544.Service, error) {
	if h.svc.Rfc2544 == nil {
		return nil, &apiError{status: http.StatusNotFound, msg: "rfc2544 is not loaded (it needs the packet generator and analyzer)"}
	}
	return h.svc.Rfc2544, nil
}

func rfc2544FromJSON(in *gen.Rfc2544Config) (rfc2544.Config, error) {
	c := rfc2544.Config{ID: deref(in.Id), TxPort: in.TxPort, RxPort: in.RxPort, IMIX: deref(in.Imix), Opaque: *in}
	if err := checkID("id", c.ID); err != nil {
		return c, err
	}
	if in.Sizes != nil {
		c.Sizes = make([]int, len(*in.Sizes))
		for i, s := range *in.Sizes {
			c.Sizes[i] = int(s)
		}
	}
	if in.Tests != nil {
		for _, x := range *in.Tests {
			c.Tests = append(c.Tests, rfc2544.Test(x))
		}
	}
	if in.LossTolerance != nil {
		c.LossTolerance = *in.LossTolerance
	}
	if in.TrialDuration != nil {
		c.Trial = time.Duration(*in.TrialDuration * float64(time.Second))
	}
	if in.Resolution != nil {
		c.Resolution = *in.Resolution
	}
	if in.LineRateMbps != nil {
		c.LineRateMbps = *in.LineRateMbps
	}
	if in.BackToBackTrials != nil {
		c.BackToBack = int(*in.BackToBackTrials)
	}
	if in.Retries != nil {
		c.Retries = int(*in.Retries)
	}
	if in.LatencyTrials != nil {
		c.LatencyTrials = int(*in.LatencyTrials)
	}
	return c, nil
}

func rfc2544ConfigJSON(c rfc2544.Config) gen.Rfc2544Config {
	sizes := make([]int32, len(c.Sizes))
	for i, s := range c.Sizes {
		sizes[i] = int32(s)
	}
	tests := make([]gen.Rfc2544ConfigTests, len(c.Tests))
	for i, x := range c.Tests {
		tests[i] = gen.Rfc2544ConfigTests(x)
	}
	out := gen.Rfc2544Config{Id: &c.ID, TxPort: c.TxPort, RxPort: c.RxPort, Sizes: &sizes, Tests: &tests,
		LossTolerance: &c.LossTolerance, Resolution: &c.Resolution, LineRateMbps: &c.LineRateMbps,
		TrialDuration: ptr(c.Trial.Seconds()), BackToBackTrials: ptr(int32(c.BackToBack)), Retries: ptr(int32(c.Retries)),
		LatencyTrials: ptr(int32(c.LatencyTrials))}
	if c.IMIX != "" {
		out.Imix = &c.IMIX
	}
	return out
}

func trialsJSON(ts []rfc2544.TrialRecord) []gen.Rfc2544Trial {
	out := make([]gen.Rfc2544Trial, len(ts))
	for i, t := range ts {
		out[i] = gen.Rfc2544Trial{Percent: t.Percent, FramesPerSecond: t.FPS, TxFrames: sat64(t.Tx), RxFrames: sat64(t.Rx), LossPercent: t.LossPercent}
	}
	return out
}

func rfc2544ResultJSON(r rfc2544.SizeResult) gen.Rfc2544SizeResult {
	out := gen.Rfc2544SizeResult{Frame: r.Frame, FrameLength: r.FrameLength, LineRateFps: r.LineRateFPS}
	if tp := r.Throughput; tp != nil {
		out.Throughput = &gen.Rfc2544Throughput{Percent: tp.Percent, FramesPerSecond: tp.FPS, Mbps: tp.Mbps, Trials: trialsJSON(tp.Trials)}
	}
	if l := r.Latency; l != nil {
		out.Latency = ptr(latencyJSON(l.Percent, l.LatencyStats))
		out.Latency.Trials = ptr(int32(l.Trials))
		per := make([]gen.Rfc2544Latency, len(l.PerTrial))
		for i, st := range l.PerTrial {
			per[i] = latencyJSON(l.Percent, st)
		}
		out.Latency.PerTrial = &per
	}
	if r.FrameLoss != nil {
		out.FrameLoss = ptr(trialsJSON(r.FrameLoss))
	}
	if bb := r.BackToBack; bb != nil {
		bursts := make([]int64, len(bb.Bursts))
		for i, n := range bb.Bursts {
			bursts[i] = sat64(n)
		}
		out.BackToBack = &gen.Rfc2544BackToBack{Frames: bb.Frames, Seconds: bb.Seconds, Bursts: &bursts, Trials: trialsJSON(bb.Trials)}
	}
	return out
}

func latencyJSON(pct float64, l rfc2544.LatencyStats) gen.Rfc2544Latency {
	return gen.Rfc2544Latency{Percent: pct, Frames: sat64(l.Frames), Min: l.Min, Avg: l.Avg, Max: l.Max,
		P50: l.P50, P90: l.P90, P99: l.P99, P999: l.P999}
}

func rfc2544RunJSON(v rfc2544.View) gen.Rfc2544Run {
	out := gen.Rfc2544Run{Id: v.ID, State: gen.Rfc2544RunState(v.State), Config: rfc2544ConfigJSON(v.Config),
		Started: v.Started.UTC(), Results: mapSlice(v.Results, rfc2544ResultJSON)}
	p := v.Progress
	out.Progress.Trials = int32(p.Trials)
	if p.Frame != "" {
		out.Progress.Frame, out.Progress.Test, out.Progress.Percent = &p.Frame, &p.Test, &p.Percent
	}
	if !v.Finished.IsZero() {
		out.Finished = ptr(v.Finished.UTC())
	}
	if v.Error != "" {
		out.Error = &v.Error
	}
	return out
}

// ListRfc2544Runs implements gen.StrictServerInterface.
func (h *Handlers) ListRfc2544Runs(_ context.Context, _ gen.ListRfc2544RunsRequestObject) (gen.ListRfc2544RunsResponseObject, error) {
	svc, err := h.rfc2544Service()
	if err != nil {
		return nil, err
	}
	return gen.ListRfc2544Runs200JSONResponse(mapSlice(svc.List(), rfc2544RunJSON)), nil
}

// CreateRfc2544Run implements gen.StrictServerInterface.
func (h *Handlers) CreateRfc2544Run(_ context.Context, req gen.CreateRfc2544RunRequestObject) (gen.CreateRfc2544RunResponseObject, error) {
	svc, err := h.rfc2544Service()
	if err != nil {
		return nil, err
	}
	c, err := rfc2544FromJSON(req.Body)
	if err != nil {
		return nil, err
	}
	v, err := svc.Create(c)
	if err != nil {
		return nil, err
	}
	loc := "/x/rfc2544/" + v.ID
	return gen.CreateRfc2544Run201JSONResponse{Body: rfc2544RunJSON(v),
		Headers: gen.CreateRfc2544Run201ResponseHeaders{Location: &loc}}, nil
}

// GetRfc2544Run implements gen.StrictServerInterface.
func (h *Handlers) GetRfc2544Run(_ context.Context, req gen.GetRfc2544RunRequestObject) (gen.GetRfc2544RunResponseObject, error) {
	svc, err := h.rfc2544Service()
	if err != nil {
		return nil, err
	}
	v, err := svc.Get(req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetRfc2544Run200JSONResponse(rfc2544RunJSON(v)), nil
}

// DeleteRfc2544Run implements gen.StrictServerInterface.
func (h *Handlers) DeleteRfc2544Run(_ context.Context, req gen.DeleteRfc2544RunRequestObject) (gen.DeleteRfc2544RunResponseObject, error) {
	svc, err := h.rfc2544Service()
	if err != nil {
		return nil, err
	}
	if err := svc.Delete(req.Id); err != nil {
		return nil, err
	}
	return gen.DeleteRfc2544Run204Response{}, nil
}
