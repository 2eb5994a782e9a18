package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/openperfd/openperfd/api/gen"
)

// tvlpNoun is "opctl tvlp": time-varying load profiles, their replays and
// the replays' results.
func (s *session) tvlpNoun() *cobra.Command {
	profiles := resource[gen.TvlpConfiguration]{s: s, item: "tvlp profile", columns: tvlpColumns, row: tvlpRow, fields: tvlpFields}
	return noun("tvlp", "time-varying load profiles: packet rate ramps replayed step by step",
		s.command("list", "list profiles with their state and progress", noArgs, func(*pflag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, _ []string) error {
				resp, err := a.api.ListTvlpConfigurations(ctx)
				return show(a, resp, err, profiles.table(a.out))
			}
		}),
		s.command("get ID", "show one profile and its steps", oneID, func(*pflag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, args []string) error {
				resp, err := a.api.GetTvlpConfiguration(ctx, args[0])
				return show(a, resp, err, func(c gen.TvlpConfiguration) error { return tvlpShow(a, c) })
			}
		}),
		s.command("create", "create a profile from -f FILE (JSON or YAML) or a packet ramp from the quick flags (--target ...)",
			noArgs, func(fs *pflag.FlagSet) runFunc { return tvlpCreate(fs, profiles) }),
		profiles.each("delete", "delete profiles (not running)", "deleted", api.DeleteTvlpConfiguration),
		s.command("start ID", "replay a profile (prints its new result); --watch follows it to the end", oneID, tvlpStart),
		profiles.each("stop", "stop replays (their traffic stops before the reply)", "stopped", api.StopTvlpConfiguration),
		s.command("watch ID", "follow a replay: current step, time left, packets sent; then its per-step results", oneID, tvlpWatch),
		s.command("results [ID]", "list replay results; with ID (a result's or a profile's, for its newest) the per-step table",
			positional(0, 1), tvlpResults),
		s.command("delete-result ID...", "delete replay results", someIDs, func(*pflag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, ids []string) error {
				for _, id := range ids {
					if _, err := a.reply(a.api.DeleteTvlpResult(ctx, id)); err != nil {
						return err
					}
					if !a.json {
						fmt.Fprintf(a.out, "deleted tvlp result %s\n", id)
					}
				}
				return nil
			}
		}),
	)
}

// tvlpColumns head the table of profiles; tvlpRow is one line of it.
var tvlpColumns = []string{"ID", "STATE", "STEPS", "LENGTH", "START", "DONE"}

func tvlpRow(c gen.TvlpConfiguration) []string {
	start, done := "-", "-"
	length := int64(0)
	if c.Time != nil {
		length = c.Time.Length
		if c.Time.Start != nil {
			start = c.Time.Start.UTC().Format(time.RFC3339)
		}
		if c.Time.Offset != nil && length > 0 {
			done = percentOf(100 * float64(min(*c.Time.Offset, length)) / float64(length))
		}
	}
	return []string{str(c.Id), str((*string)(c.State)), count(int64(len(tvlpSteps(c)))), seconds(length), start, done}
}

// tvlpSteps is the profile's packet series (nil when it has none).
func tvlpSteps(c gen.TvlpConfiguration) []gen.TvlpPacketStep {
	if c.Profile.Packet == nil {
		return nil
	}
	return c.Profile.Packet.Series
}

// seconds formats a length in ns as seconds: "1 s", "2.5 s".
func seconds(ns int64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", float64(ns)/1e9), "0"), ".") + " s"
}

func tvlpFields(c gen.TvlpConfiguration) []field {
	r := tvlpRow(c)
	f := []field{{"id", r[0]}, {"state", r[1]}, {"steps", r[2]}, {"length", r[3]}, {"start", r[4]}, {"done", r[5]}}
	if c.Error != nil {
		f = append(f, field{"error", *c.Error})
	}
	return f
}

// tvlpShow prints a profile's fields, then its steps as a table.
func tvlpShow(a *app, c gen.TvlpConfiguration) error {
	if err := writeFields(a.out, tvlpFields(c)); err != nil {
		return err
	}
	fmt.Fprintln(a.out)
	tw := newTable(a.out)
	row(tw, "STEP", "TARGET", "LENGTH", "RATE", "TRAFFIC")
	for i, st := range tvlpSteps(c) {
		var traffic []string
		for _, t := range st.Config.Traffic {
			traffic = append(traffic, trafficString(t))
		}
		row(tw, fmt.Sprint(i), st.TargetId, seconds(st.Length), loadString(st.Config.Load), strings.Join(traffic, "; "))
	}
	return tw.Flush()
}

// tvlpQuick is the flag form of "tvlp create": a packet ramp, one step of
// --step per rate of --rates, each a quick generator (generators create's
// flags) sending continuously on --target.
type tvlpQuick struct {
	q     quickGenerator
	rates []string
	step  time.Duration
}

func tvlpQuickFlags(fs *pflag.FlagSet) *tvlpQuick {
	t := &tvlpQuick{}
	q := &t.q
	fs.StringVar(&q.port, "target", "", "port (or interface) every step transmits on")
	fs.StringSliceVar(&t.rates, "rates", nil, "frames per second of each step, in order (100k,200k,300k)")
	fs.DurationVar(&t.step, "step", time.Second, "length of each step")
	frameFlags(fs, q)
	fs.Int64Var(&q.streamID, "stream-id", 1, "signature stream id of the first flow")
	return t
}

// build checks the quick flags and makes the profile.
func (t *tvlpQuick) build(id string) (gen.TvlpConfiguration, error) {
	var c gen.TvlpConfiguration
	switch {
	case t.q.port == "":
		return c, usageErrorf("--target is required (or -f FILE)")
	case len(t.rates) == 0:
		return c, usageErrorf("--rates is required (or -f FILE)")
	case t.step <= 0:
		return c, usageErrorf("--step must be positive")
	}
	series := make([]gen.TvlpPacketStep, 0, len(t.rates))
	for _, r := range t.rates {
		var rate siValue
		if err := rate.Set(strings.TrimSpace(r)); err != nil {
			return c, usageErrorf("--rates: %v", err)
		}
		q := t.q
		q.rate = rate
		g, err := q.build()
		if err != nil {
			return c, err
		}
		series = append(series, gen.TvlpPacketStep{TargetId: q.port, Length: t.step.Nanoseconds(), Config: g.Config})
	}
	return gen.TvlpConfiguration{Id: opt(id), Profile: gen.TvlpProfile{Packet: &gen.TvlpPacketSeries{Series: series}}}, nil
}

func tvlpCreate(fs *pflag.FlagSet, profiles resource[gen.TvlpConfiguration]) runFunc {
	file := fs.StringP("file", "f", "", "profile as JSON or YAML (OpenPerf's TvlpConfiguration) to send; - for stdin")
	quick := pflag.NewFlagSet("quick", pflag.ContinueOnError)
	id := quick.String("id", "", "profile id (the server picks one when empty)")
	t := tvlpQuickFlags(quick)
	fs.AddFlagSet(quick)
	return func(ctx context.Context, a *app, _ []string) error {
		var body []byte
		var err error
		if *file != "" {
			body, err = a.readProfile(*file, quick)
		} else {
			var c gen.TvlpConfiguration
			if c, err = t.build(*id); err == nil {
				body, err = json.Marshal(c)
			}
		}
		if err != nil {
			return err
		}
		resp, err := a.api.CreateTvlpConfigurationWithBody(ctx, "application/json", bytes.NewReader(body))
		err = show(a, resp, err, func(c gen.TvlpConfiguration) error { return profiles.table(a.out)([]gen.TvlpConfiguration{c}) })
		if *file == "" {
			err = nameFlags(err, profiles.item)
		}
		return err
	}
}

// readProfile reads -f FILE (JSON or YAML) as JSON; no quick flag may
// go with it.
func (a *app) readProfile(file string, quick *pflag.FlagSet) ([]byte, error) {
	if err := fileOrQuick(quick); err != nil {
		return nil, err
	}
	b, err := a.readFile(file)
	if err != nil {
		return nil, err
	}
	j, err := yamlToJSON(b)
	if err != nil {
		return nil, usageErrorf("%s: %v", file, err)
	}
	return j, nil
}

// yamlToJSON converts a YAML document (JSON is YAML) to JSON. Maps must
// have string keys, as JSON objects do; the document must be one value.
func yamlToJSON(b []byte) ([]byte, error) {
	if json.Valid(b) {
		return b, nil
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("neither JSON nor YAML: %w", err)
	}
	v, err := jsonValue(v, "")
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// jsonValue checks that a decoded YAML value has a JSON form: mapping keys
// are strings (YAML allows any), numbers are finite.
func jsonValue(v any, path string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e, err := jsonValue(e, path+"."+k)
			if err != nil {
				return nil, err
			}
			x[k] = e
		}
		return x, nil
	case map[any]any:
		return nil, fmt.Errorf("%s: a mapping key is not a string", strings.TrimPrefix(path, "."))
	case []any:
		for i, e := range x {
			e, err := jsonValue(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			x[i] = e
		}
		return x, nil
	case float64:
		if x != x || x > 1.7e308 || x < -1.7e308 {
			return nil, fmt.Errorf("%s: %v is no JSON number", strings.TrimPrefix(path, "."), x)
		}
		return x, nil
	case time.Time:
		// YAML reads an unquoted timestamp as one; JSON has only its text.
		return x.Format(time.RFC3339Nano), nil
	}
	return v, nil
}
