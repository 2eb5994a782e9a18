package rfc2544

import (
	"context"
	"math"
	"slices"
	"time"
)

// TrialRecord is one trial as results show it.
type TrialRecord struct {
	Percent, FPS float64
	Tx, Rx       uint64
	LossPercent  float64
}

// ThroughputResult is the highest load that passed and the search's trials.
type ThroughputResult struct {
	Percent, FPS, Mbps float64
	Trials             []TrialRecord
}

// LatencyResult is the latency at a load over Trials trials: Frames
// their sum, Min and Max over all of them, Avg and the percentiles the
// mean of the trials' (RFC 2544 26.2 reports the average of the trials'
// latencies). PerTrial holds each trial's.
type LatencyResult struct {
	Percent float64
	LatencyStats
	Trials   int
	PerTrial []LatencyStats
}

// BackToBackResult is the mean longest loss-free burst at line rate over
// the searches; Bursts holds each search's longest burst, Trials every
// trial of them all.
type BackToBackResult struct {
	Frames, Seconds float64
	Bursts          []uint64
	Trials          []TrialRecord
}

// SizeResult is one frame size's (or mix's) results; a nil member is a
// test not run (yet).
type SizeResult struct {
	Frame            string
	FrameLength      float64
	LineRateFPS      float64
	Throughput       *ThroughputResult
	Latency          *LatencyResult
	FrameLoss        []TrialRecord
	BackToBack       *BackToBackResult
	throughputPassed bool
}

// Progress says where a run is.
type Progress struct {
	Frame, Test string
	Percent     float64
	Trials      int
}

// runner runs one config; it reports through publish, which copies.
type runner struct {
	cfg     Config
	frames  []frame
	t       Traffic
	results []SizeResult
	prog    Progress
	publish func(p Progress, rs []SizeResult)
	stream  uint32
}

// trial runs one load and records it. pct is the load in percent of the
// line rate; frames 0 means the trial duration's worth.
func (r *runner) trial(ctx context.Context, f *frame, test Test, pct float64, frames uint64, latency bool) (TrialRecord, *LatencyStats, error) {
	fps := f.lineFPS * pct / 100
	if frames == 0 {
		frames = uint64(math.Max(1, math.Round(fps*r.cfg.Trial.Seconds())))
	}
	r.prog.Frame, r.prog.Test, r.prog.Percent = f.label, string(test), pct
	r.publish(r.prog, r.results)
	r.stream++
	res, err := r.t.Run(ctx, Trial{TxPort: r.cfg.TxPort, RxPort: r.cfg.RxPort, Length: f.length, IMIX: f.imix,
		Rate: fps, Frames: frames, Latency: latency, StreamID: r.stream})
	if err != nil {
		return TrialRecord{}, nil, err
	}
	r.prog.Trials++
	rec := TrialRecord{Percent: pct, FPS: fps, Tx: res.Tx, Rx: res.Rx}
	if res.Tx > 0 && res.Rx < res.Tx {
		rec.LossPercent = float64(res.Tx-res.Rx) * 100 / float64(res.Tx)
	}
	if res.Tx == 0 {
		rec.LossPercent = 100 // nothing sent is no pass
	}
	return rec, res.Latency, nil
}

func (r *runner) run(ctx context.Context) error {
	for i := range r.frames {
		f := &r.frames[i]
		r.results = append(r.results, SizeResult{Frame: f.label, FrameLength: f.mean, LineRateFPS: f.lineFPS})
		for _, step := range []struct {
			test Test
			do   func(context.Context, *frame, *SizeResult) error
		}{{Throughput, r.throughput}, {Latency, r.latency}, {FrameLoss, r.frameLoss}, {BackToBack, r.backToBack}} {
			if !r.cfg.has(step.test) {
				continue
			}
			if err := step.do(ctx, f, &r.results[i]); err != nil {
				return err
			}
			r.publish(r.prog, r.results)
		}
	}
	return nil
}

// throughput searches the highest passing load: 100% first, then halving
// the interval between the highest pass and the lowest fail until they
// are Resolution apart.
func (r *runner) throughput(ctx context.Context, f *frame, sr *SizeResult) error {
	tp := &ThroughputResult{}
	sr.Throughput = tp
	pass := func(pct float64) (bool, error) {
		for range r.cfg.Retries + 1 {
			rec, _, err := r.trial(ctx, f, Throughput, pct, 0, false)
			if err != nil {
				return false, err
			}
			tp.Trials = append(tp.Trials, rec)
			r.publish(r.prog, r.results)
			if rec.LossPercent <= r.cfg.LossTolerance {
				return true, nil
			}
		}
		return false, nil
	}
	lo, hi := 0.0, 100.0
	ok, err := pass(100)
	if err != nil {
		return err
	}
	if ok {
		lo = 100
	}
	for hi-lo > r.cfg.Resolution {
		mid := (lo + hi) / 2
		ok, err := pass(mid)
		if err != nil {
			return err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	tp.Percent = lo
	tp.FPS = f.lineFPS * lo / 100
	tp.Mbps = tp.FPS * (f.mean + overhead) * 8 / 1e6
	sr.throughputPassed = lo > 0
	return nil
}

// latency measures at the throughput found (100% when throughput was not
// searched); RFC 2544 has no latency without a load that passes.
func (r *runner) latency(ctx context.Context, f *frame, sr *SizeResult) error {
	pct := 100.0
	if sr.Throughput != nil {
		if !sr.throughputPassed {
			return nil
		}
		pct = sr.Throughput.Percent
	}
	var per []LatencyStats
	for range r.cfg.LatencyTrials {
		_, st, err := r.trial(ctx, f, Latency, pct, 0, true)
		if err != nil {
			return err
		}
		// A trial whose frames all got lost has no latency to average.
		if st != nil {
			per = append(per, *st)
			sr.Latency = meanLatency(pct, per)
			r.publish(r.prog, r.results)
		}
	}
	return nil
}

// meanLatency combines trials' latencies: frames summed, min and max over
// all, the rest the mean of the trials' figures.
func meanLatency(pct float64, per []LatencyStats) *LatencyResult {
	l := &LatencyResult{Percent: pct, Trials: len(per), PerTrial: slices.Clone(per)}
	l.Min, l.Max = per[0].Min, per[0].Max
	var avg, p50, p90, p99, p999 float64
	for _, st := range per {
		l.Frames += st.Frames
		l.Min, l.Max = min(l.Min, st.Min), max(l.Max, st.Max)
		avg += float64(st.Avg)
		p50 += float64(st.P50)
		p90 += float64(st.P90)
		p99 += float64(st.P99)
		p999 += float64(st.P999)
	}
	n := float64(len(per))
	mean := func(sum float64) int64 { return int64(math.Round(sum / n)) }
	l.Avg, l.P50, l.P90, l.P99, l.P999 = mean(avg), mean(p50), mean(p90), mean(p99), mean(p999)
	return l
}

// frameLoss steps down from 100% by 10% until two trials in a row lose
// nothing (RFC 2544 26.3), or 10% is done.
func (r *runner) frameLoss(ctx context.Context, f *frame, sr *SizeResult) error {
	clean := 0
	for pct := 100; pct >= 10 && clean < 2; pct -= 10 {
		rec, _, err := r.trial(ctx, f, FrameLoss, float64(pct), 0, false)
		if err != nil {
			return err
		}
		sr.FrameLoss = append(sr.FrameLoss, rec)
		r.publish(r.prog, r.results)
		if rec.Rx >= rec.Tx && rec.Tx > 0 {
			clean++
		} else {
			clean = 0
		}
	}
	return nil
}

// backToBack searches the longest burst at line rate that loses nothing,
// up to a trial's duration of frames, and averages over the repeats.
func (r *runner) backToBack(ctx context.Context, f *frame, sr *SizeResult) error {
	bb := &BackToBackResult{}
	sr.BackToBack = bb
	maxN := uint64(math.Max(1, math.Round(f.lineFPS*r.cfg.Trial.Seconds())))
	pass := func(n uint64) (bool, error) {
		for range r.cfg.Retries + 1 {
			rec, _, err := r.trial(ctx, f, BackToBack, 100, n, false)
			if err != nil {
				return false, err
			}
			bb.Trials = append(bb.Trials, rec)
			r.publish(r.prog, r.results)
			if rec.Tx > 0 && rec.Rx >= rec.Tx {
				return true, nil
			}
		}
		return false, nil
	}
	sum := 0.0
	for range r.cfg.BackToBack {
		lo, hi := uint64(0), maxN
		ok, err := pass(maxN)
		if err != nil {
			return err
		}
		if ok {
			lo = maxN
		}
		for hi-lo > max(1, uint64(float64(hi)*r.cfg.Resolution/100)) {
			mid := lo + (hi-lo)/2
			ok, err := pass(mid)
			if err != nil {
				return err
			}
			if ok {
				lo = mid
			} else {
				hi = mid
			}
		}
		sum += float64(lo)
		bb.Bursts = append(bb.Bursts, lo)
	}
	bb.Frames = sum / float64(r.cfg.BackToBack)
	bb.Seconds = bb.Frames / f.lineFPS
	return nil
}

// States of a run, as the API spells them.
const (
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
	StateStopped = "stopped"
)

// View is a run as the API shows it.
type View struct {
	ID, State, Error  string
	Config            Config
	Progress          Progress
	Started, Finished time.Time
	Results           []SizeResult
}
