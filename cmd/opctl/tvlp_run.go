package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

// tvlpPoll is the time between progress reads of a replay (tests shorten
// it).
var tvlpPoll = time.Second

// tvlpStart is "tvlp start ID": the replay with its scales and start
// time; with --watch, its progress until it ends and then its results.
func tvlpStart(fs *pflag.FlagSet) runFunc {
	var loadScale, timeScale float64
	var startTime string
	var watch, keep bool
	fs.Float64Var(&loadScale, "load-scale", 1, "multiply each step's rate and burst size by this (> 0)")
	fs.Float64Var(&timeScale, "time-scale", 1, "multiply each step's length by this (> 0)")
	fs.StringVar(&startTime, "start-time", "", "when to start: RFC 3339 time, or a delay from now (30s); default at once")
	fs.BoolVar(&watch, "watch", false, "follow the replay to its end, then print its per-step results")
	fs.BoolVar(&keep, "keep", false, "with --watch: Ctrl-C leaves the replay running (default: asks on a terminal, else stops it)")
	return func(ctx context.Context, a *app, args []string) error {
		body, err := tvlpStartBody(fs, loadScale, timeScale, startTime, time.Now())
		if err != nil {
			return err
		}
		r, err := a.api.StartTvlpConfigurationWithResponse(ctx, args[0], body)
		if err := a.check(r, err); err != nil {
			return err
		}
		res, err := got(r.JSON201, r.Body)
		if err != nil {
			return err
		}
		if !watch {
			if a.json {
				return a.raw(r.Body)
			}
			return tvlpResultTable(a.out, []gen.TvlpResult{res})
		}
		if !a.json {
			fmt.Fprintf(a.out, "started tvlp %s: result %s\n", args[0], res.Id)
		}
		return tvlpFollow(ctx, a, args[0], res.Id, keep)
	}
}

// tvlpStartBody is the start request the flags ask for; flags left at
// their defaults are left out, so the daemon's defaults apply.
func tvlpStartBody(fs *pflag.FlagSet, loadScale, timeScale float64, startTime string, now time.Time) (gen.TvlpStartConfiguration, error) {
	var b gen.TvlpStartConfiguration
	var series gen.TvlpStartSeriesConfiguration
	if fs.Changed("load-scale") {
		if !(loadScale > 0) || math.IsInf(loadScale, 0) {
			return b, usageErrorf("--load-scale must be positive")
		}
		series.LoadScale = &loadScale
	}
	if fs.Changed("time-scale") {
		if !(timeScale > 0) || math.IsInf(timeScale, 0) {
			return b, usageErrorf("--time-scale must be positive")
		}
		series.TimeScale = &timeScale
	}
	if series.LoadScale != nil || series.TimeScale != nil {
		b.Packet = &series
	}
	if startTime != "" {
		t, err := parseStartTime(startTime, now)
		if err != nil {
			return b, err
		}
		b.StartTime = &t
	}
	return b, nil
}

// parseStartTime reads --start-time: an RFC 3339 time or a delay from now.
func parseStartTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, usageErrorf("--start-time %q: want an RFC 3339 time (2026-12-05T09:00:00Z) or a delay (30s)", s)
	}
	return now.Add(d).UTC(), nil
}

// tvlpWatch is "tvlp watch ID": the replay of profile ID under way.
func tvlpWatch(fs *pflag.FlagSet) runFunc {
	keep := fs.Bool("keep", false, "Ctrl-C leaves the replay running (default: asks on a terminal, else stops it)")
	return func(ctx context.Context, a *app, args []string) error {
		res, err := newestTvlpResult(ctx, a, args[0])
		if err != nil {
			return err
		}
		return tvlpFollow(ctx, a, args[0], res.Id, *keep)
	}
}

// tvlpFollow prints a line per poll while profile id counts down or
// runs, then the per-step results of its result rid. Ctrl-C stops the
// replay (unless keep) and prints what ran.
func tvlpFollow(ctx context.Context, a *app, id, rid string, keep bool) error {
	tick := time.NewTicker(tvlpPoll)
	defer tick.Stop()
	sent := int64(-1) // no reading yet: the first line has no rate
	var last time.Time
	interrupted := false
	for !interrupted {
		c, err := tvlpGet(ctx, a, id)
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		if err != nil {
			return err
		}
		state := deref(c.State)
		if state != gen.TvlpConfigurationState("running") && state != gen.TvlpConfigurationState("countdown") {
			if state == gen.TvlpConfigurationState("error") {
				return fmt.Errorf("tvlp %s: %s", id, str(c.Error))
			}
			break
		}
		res, err := tvlpGetResult(ctx, a, rid)
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		if err != nil {
			return err
		}
		now := time.Now()
		total := deref(res.XPacketTotal).Packets
		rate := math.NaN()
		if sent >= 0 {
			rate = float64(total-sent) / now.Sub(last).Seconds()
		}
		sent, last = total, now
		if !a.json {
			fmt.Fprintln(a.out, tvlpProgress(c, total, rate, now))
		}
		select {
		case <-ctx.Done():
			interrupted = true
		case <-tick.C:
		}
	}
	// Reads and the stop after Ctrl-C need a context of their own.
	bg, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if interrupted {
		if keep || !a.askStop(id) {
			fmt.Fprintf(a.out, "interrupted: tvlp %s keeps running (opctl tvlp stop %s)\n", id, id)
		} else {
			if _, err := a.reply(a.api.StopTvlpConfiguration(bg, id)); err != nil {
				return fmt.Errorf("interrupted; stopping tvlp %s: %w", id, err)
			}
			fmt.Fprintf(a.out, "interrupted: stopped tvlp %s; what ran:\n", id)
		}
	}
	res, err := tvlpGetResult(bg, a, rid)
	if err != nil {
		return err
	}
	if a.json {
		b, err := a.reply(a.api.GetTvlpResult(bg, rid))
		if err != nil {
			return err
		}
		if err := a.raw(b); err != nil {
			return err
		}
	} else if err := tvlpStepTable(a.out, res); err != nil {
		return err
	}
	if interrupted {
		return errInterrupted
	}
	return nil
}

// askStop asks whether to stop replay id after Ctrl-C when opctl runs on
// a terminal; elsewhere (a script) the answer is yes, so that no replay
// outlives an interrupted client unasked.
func (a *app) askStop(id string) bool {
	in, ok := a.in.(*os.File)
	if !ok || !a.tty || !isTerminal(in) {
		return true
	}
	// The first Ctrl-C was caught; let a second one end opctl at the
	// prompt (leaving the replay running) instead of being swallowed.
	signal.Reset(os.Interrupt)
	fmt.Fprintf(a.out, "\nstop tvlp %s? [Y/n] (Ctrl-C: leave it running) ", id)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "", "y", "yes":
		return true
	}
	return false
}

// tvlpProgress is one line of a replay's progress: the step under way
// and the time left in it and in all, and the packets sent so far.
func tvlpProgress(c gen.TvlpConfiguration, sent int64, rate float64, now time.Time) string {
	t := deref(c.Time)
	if deref(c.State) == gen.TvlpConfigurationState("countdown") && t.Start != nil {
		return fmt.Sprintf("countdown: starts in %s", seconds(max(t.Start.Sub(now).Nanoseconds(), 0)))
	}
	steps := tvlpSteps(c)
	step, stepLeft := tvlpStepAt(steps, t.Length, deref(t.Offset))
	left := max(t.Length-deref(t.Offset), 0)
	// Past the end the last step is still winding down.
	step = min(step, len(steps)-1)
	where := "-"
	if step >= 0 {
		where = fmt.Sprintf("%d/%d on %s", step+1, len(steps), steps[step].TargetId)
	}
	line := fmt.Sprintf("step %s: %s left in the step, %s in all; %s packets sent", where, seconds(stepLeft), seconds(left), count(sent))
	if !math.IsNaN(rate) {
		line += fmt.Sprintf(", %s/s", si(rate))
	}
	return line
}

// tvlpStepAt is the step under way at offset ns into a replay of length
// ns (the steps' lengths scaled by its time scale), and the time left in
// it. Past the end it returns len(steps).
func tvlpStepAt(steps []gen.TvlpPacketStep, length, offset int64) (int, int64) {
	var sum int64
	for _, s := range steps {
		sum += s.Length
	}
	if sum <= 0 {
		return len(steps), 0
	}
	scale := float64(length) / float64(sum)
	end := 0.0
	for i, s := range steps {
		end += float64(s.Length) * scale
		if float64(offset) < end {
			return i, int64(end - float64(offset))
		}
	}
	return len(steps), 0
}

func tvlpGet(ctx context.Context, a *app, id string) (gen.TvlpConfiguration, error) {
	r, err := a.api.GetTvlpConfigurationWithResponse(ctx, id)
	if err := a.check(r, err); err != nil {
		return gen.TvlpConfiguration{}, err
	}
	return got(r.JSON200, r.Body)
}

func tvlpGetResult(ctx context.Context, a *app, id string) (gen.TvlpResult, error) {
	r, err := a.api.GetTvlpResultWithResponse(ctx, id)
	if err := a.check(r, err); err != nil {
		return gen.TvlpResult{}, err
	}
	return got(r.JSON200, r.Body)
}

// newestTvlpResult is result id, or else the newest result of profile
// id (results are listed in the order they were made).
func newestTvlpResult(ctx context.Context, a *app, id string) (gen.TvlpResult, error) {
	res, err := tvlpGetResult(ctx, a, id)
	var ae *apiError
	if err == nil || !errors.As(err, &ae) || ae.code != http.StatusNotFound {
		return res, err
	}
	r, lerr := a.api.ListTvlpResultsWithResponse(ctx)
	if lerr := a.check(r, lerr); lerr != nil {
		return res, lerr
	}
	all, lerr := got(r.JSON200, r.Body)
	if lerr != nil {
		return res, lerr
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].TvlpId == id {
			return all[i], nil
		}
	}
	return res, fmt.Errorf("no tvlp result or profile with results %s: %w", id, err)
}

// tvlpResults is "tvlp results [ID]".
func tvlpResults(*pflag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		if len(args) == 0 {
			resp, err := a.api.ListTvlpResults(ctx)
			return show(a, resp, err, func(rs []gen.TvlpResult) error { return tvlpResultTable(a.out, rs) })
		}
		res, err := newestTvlpResult(ctx, a, args[0])
		if err != nil {
			return err
		}
		if a.json {
			b, err := a.reply(a.api.GetTvlpResult(ctx, res.Id))
			if err != nil {
				return err
			}
			return a.raw(b)
		}
		return tvlpStepTable(a.out, res)
	}
}

// tvlpResultTable prints results a line each, with their totals.
func tvlpResultTable(w io.Writer, rs []gen.TvlpResult) error {
	tw := newTable(w)
	row(tw, "ID", "PROFILE", "STEPS", "PACKETS", "OCTETS", "RATE")
	for _, r := range rs {
		t := deref(r.XPacketTotal)
		row(tw, r.Id, r.TvlpId, count(int64(len(deref(r.XPacketSteps)))), count(t.Packets), count(t.Octets), rateString(t.Rate))
	}
	return tw.Flush()
}

// tvlpStepTable prints a result's steps (x_packet_steps) a line each and
// their total (x_packet_total).
func tvlpStepTable(w io.Writer, r gen.TvlpResult) error {
	tw := newTable(w)
	row(tw, "STEP", "GENERATOR", "PACKETS", "OCTETS", "RATE", "FIRST", "LAST")
	line := func(name string, s gen.TvlpStepTotals) {
		row(tw, name, str(s.GeneratorId), count(s.Packets), count(s.Octets), rateString(s.Rate),
			clockTime(s.TimestampFirst), clockTime(s.TimestampLast))
	}
	for i, s := range deref(r.XPacketSteps) {
		name := fmt.Sprint(i)
		if s.Step != nil {
			name = fmt.Sprint(*s.Step)
		}
		line(name, s)
	}
	line("total", deref(r.XPacketTotal))
	return tw.Flush()
}

// rateString formats packets per second, rounded to whole packets.
func rateString(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
		return "-"
	}
	return count(int64(math.Round(r)))
}

// clockTime formats a packet time as a UTC time of day with µs.
func clockTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("15:04:05.000000")
}
