package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

// rfc2544Poll is the time between progress reads (tests shorten it).
var rfc2544Poll = 500 * time.Millisecond

// rfc2544Flags are what the command's flags choose.
type rfc2544Flags struct {
	tx, rx        string
	sizes         []int
	imix          string
	tests         []string
	loss          float64
	trial         time.Duration
	resolution    float64
	lineRate      int64
	b2bTrials     int32
	latTrials     int32
	retries       int32
	id            string
	jsonOut, html string
}

func rfc2544Run(fs *pflag.FlagSet) runFunc {
	var f rfc2544Flags
	fs.StringVar(&f.tx, "tx", "", "port that sends (required)")
	fs.StringVar(&f.rx, "rx", "", "port that receives (required)")
	fs.IntSliceVar(&f.sizes, "sizes", nil, "frame lengths, FCS included (default 64,128,256,512,1024,1280,1518 unless only --imix is given)")
	fs.StringVar(&f.imix, "imix", "", "also test this IMIX profile (simple, tolly)")
	fs.StringSliceVar(&f.tests, "tests", nil, "tests to run (throughput,latency,frame_loss,back_to_back; default all)")
	fs.Float64Var(&f.loss, "loss", 0, "frame loss in percent a throughput trial may have and still pass")
	fs.DurationVar(&f.trial, "trial", 60*time.Second, "how long each trial sends")
	fs.Float64Var(&f.resolution, "resolution", 0.5, "throughput search resolution in percent of the line rate")
	fs.Int64Var(&f.lineRate, "line-rate", 0, "line rate in Mbps that 100% stands for (default the tx port's link speed)")
	fs.Int32Var(&f.b2bTrials, "b2b-trials", 50, "back-to-back searches to average (RFC 2544: 50)")
	fs.Int32Var(&f.latTrials, "latency-trials", 20, "latency trials at the throughput found to average (RFC 2544: 20)")
	fs.Int32Var(&f.retries, "retries", 0, "repeat a failing throughput or back-to-back trial up to this many times (one pass is a pass)")
	fs.StringVar(&f.id, "id", "", "run id (default: one the daemon makes)")
	fs.StringVar(&f.jsonOut, "json", "", "write the run (config, every trial, results) as JSON to `FILE`")
	fs.StringVar(&f.html, "html", "", "write a self-contained HTML report with plots to `FILE`")
	return func(ctx context.Context, a *app, _ []string) error {
		body, err := f.config()
		if err != nil {
			return err
		}
		return rfc2544Do(ctx, a, body, f)
	}
}

func (f *rfc2544Flags) config() (gen.Rfc2544Config, error) {
	if f.tx == "" || f.rx == "" {
		return gen.Rfc2544Config{}, usageErrorf("--tx and --rx are required")
	}
	c := gen.Rfc2544Config{TxPort: f.tx, RxPort: f.rx, LossTolerance: &f.loss, Resolution: &f.resolution,
		TrialDuration: ptrTo(f.trial.Seconds()), BackToBackTrials: &f.b2bTrials, LatencyTrials: &f.latTrials, Retries: &f.retries}
	if f.sizes != nil {
		s := make([]int32, len(f.sizes))
		for i, v := range f.sizes {
			s[i] = int32(v)
		}
		c.Sizes = &s
	}
	if f.imix != "" {
		c.Imix = &f.imix
	}
	if f.tests != nil {
		t := make([]gen.Rfc2544ConfigTests, len(f.tests))
		for i, v := range f.tests {
			t[i] = gen.Rfc2544ConfigTests(strings.TrimSpace(v))
		}
		c.Tests = &t
	}
	if f.lineRate != 0 {
		c.LineRateMbps = &f.lineRate
	}
	if f.id != "" {
		c.Id = &f.id
	}
	return c, nil
}

func ptrTo[T any](v T) *T { return &v }

// rfc2544Do starts the run, shows its progress until it ends, writes the
// files and prints a summary. Interrupted, it stops the run in the daemon.
func rfc2544Do(ctx context.Context, a *app, body gen.Rfc2544Config, f rfc2544Flags) error {
	cr, err := a.api.CreateRfc2544RunWithResponse(ctx, body)
	if err := a.check(cr, err); err != nil {
		return err
	}
	run := *cr.JSON201
	out := terminal(a.out)
	fmt.Fprintf(out, "rfc2544 run %s: %s -> %s, trials of %s\n", run.Id, body.TxPort, body.RxPort, f.trial)
	last := ""
	tick := time.NewTicker(rfc2544Poll)
	defer tick.Stop()
	for run.State == gen.Rfc2544RunStateRunning {
		select {
		case <-ctx.Done():
			// Stop it in the daemon: its generators and analyzers go too.
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			dr, err := a.api.DeleteRfc2544RunWithResponse(sctx, run.Id)
			cancel()
			if err := a.check(dr, err); err != nil {
				return fmt.Errorf("interrupted; stopping run %s: %w", run.Id, err)
			}
			return errors.New("interrupted; the run was stopped")
		case <-tick.C:
		}
		gr, err := a.api.GetRfc2544RunWithResponse(ctx, run.Id)
		if ctx.Err() != nil {
			continue
		}
		if err := a.check(gr, err); err != nil {
			return err
		}
		run = *gr.JSON200
		if line := rfc2544ProgressLine(run); line != last {
			fmt.Fprintln(out, line)
			last = line
		}
	}
	if f.jsonOut != "" {
		b, err := json.MarshalIndent(run, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if f.html != "" {
		page, err := rfc2544Report(run)
		if err != nil {
			return fmt.Errorf("html report: %w", err)
		}
		if err := os.WriteFile(f.html, page, 0o644); err != nil {
			return err
		}
	}
	if a.json {
		b, _ := json.Marshal(run)
		return a.raw(b)
	}
	rfc2544Summary(a, run)
	for _, p := range []string{f.jsonOut, f.html} {
		if p != "" {
			fmt.Fprintf(out, "wrote %s\n", p)
		}
	}
	if run.State != gen.Rfc2544RunStateDone {
		return fmt.Errorf("run %s %s: %s", run.Id, run.State, deref(run.Error))
	}
	return nil
}

// rfc2544ProgressLine says what the run is doing: the trial and the last result.
func rfc2544ProgressLine(r gen.Rfc2544Run) string {
	p := r.Progress
	if p.Frame == nil {
		return fmt.Sprintf("  %d trials", p.Trials)
	}
	line := fmt.Sprintf("  %-12s %-13s at %6.2f%%  (%d trials)", *p.Frame, deref(p.Test), *p.Percent, p.Trials)
	for _, s := range r.Results {
		if s.Frame == *p.Frame && s.Throughput != nil && len(s.Throughput.Trials) > 0 && deref(p.Test) == "throughput" {
			t := s.Throughput.Trials[len(s.Throughput.Trials)-1]
			line += fmt.Sprintf("  last: %.2f%% lost %.3f%%", t.Percent, t.LossPercent)
		}
	}
	return line
}

// rfc2544Summary prints a table: per size, throughput, latency (the
// trials' mean, min and max over all) and back-to-back (the searches'
// mean), with how many trials and searches each is of.
func rfc2544Summary(a *app, r gen.Rfc2544Run) {
	var rows [][]string
	for _, s := range r.Results {
		row := []string{s.Frame, "-", "-", "-", "-", "-", "-", "-", "-"}
		if t := s.Throughput; t != nil {
			row[1] = fmt.Sprintf("%.2f%%", t.Percent)
			row[2] = fmt.Sprintf("%.0f", t.FramesPerSecond)
			row[3] = fmt.Sprintf("%.1f", t.Mbps)
		}
		if l := s.Latency; l != nil {
			row[4] = fmt.Sprintf("%d/%d/%d", l.Min, l.Avg, l.Max)
			row[5] = fmt.Sprintf("%d", l.P99)
			row[6] = fmt.Sprint(max(deref(l.Trials), 1)) // a daemon without trials ran one
		}
		if b := s.BackToBack; b != nil {
			row[7] = fmt.Sprintf("%.0f", b.Frames)
			if b.Bursts != nil {
				row[8] = fmt.Sprint(len(*b.Bursts))
			}
		}
		rows = append(rows, row)
	}
	w := newTable(a.out)
	row(w, "FRAME", "THROUGHPUT", "FRAMES/S", "MBPS", "LATENCY MIN/AVG/MAX NS", "P99 NS", "LAT TRIALS", "BACK-TO-BACK", "B2B SEARCHES")
	for _, r := range rows {
		row(w, r...)
	}
	_ = w.Flush()
}
