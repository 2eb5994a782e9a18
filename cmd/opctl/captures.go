package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

func capturesNoun() noun {
	return noun{name: "captures", summary: "packet captures", verbs: []verb{
		{name: "list", maxArgs: 0, summary: "list captures", setup: capturesList},
		{name: "get", args: "ID", minArgs: 1, maxArgs: 1, summary: "show one capture", setup: capturesGet},
		{name: "create", maxArgs: 0, summary: "create a capture from -f FILE or the quick flags (--source ...)", setup: capturesCreate},
		{name: "delete", args: "ID...", minArgs: 1, maxArgs: -1, summary: "delete captures (and their results)", setup: capturesDelete},
		{name: "start", args: "ID...", minArgs: 1, maxArgs: -1, summary: "start captures (prints the new results)", setup: capturesStart},
		{name: "stop", args: "ID...", minArgs: 1, maxArgs: -1, summary: "stop captures", setup: capturesStop},
	}}
}

func captureResultsNoun() noun {
	return noun{name: "capture-results", summary: "packets held by capture runs", verbs: []verb{
		{name: "list", maxArgs: 0, summary: "list capture results", setup: captureResultsList},
		{name: "get", args: "ID", minArgs: 1, maxArgs: 1, summary: "show one capture result", setup: captureResultsGet},
		{name: "pcap", args: "ID", minArgs: 1, maxArgs: 1, summary: "save a result's packets as pcapng (-o FILE, - for stdout)", setup: captureResultsPcap},
		{name: "merge", args: "ID...", minArgs: 1, maxArgs: -1, summary: "save several results' packets, merged by time, as pcapng (-o FILE)", setup: captureResultsMerge},
	}}
}

func capturesList(fs *pflag.FlagSet) runFunc {
	source := fs.String("source", "", "only captures on this port or interface")
	return func(ctx context.Context, a *app, _ []string) error {
		r, err := a.api.ListPacketCapturesWithResponse(ctx, &gen.ListPacketCapturesParams{SourceId: opt(*source)})
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		list, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		return writeCaptures(a, list)
	}
}

func writeCaptures(a *app, list []gen.PacketCapture) error {
	tw := newTable(a.out)
	row(tw, "ID", "SOURCE", "DIRECTION", "ACTIVE", "BUFFER", "WRAP", "FILTER", "STOP AFTER")
	for _, c := range list {
		row(tw, str(c.Id), c.SourceId, captureDirection(c), yesNo(deref(c.Active)), count(c.Config.BufferSize),
			yesNo(deref(c.Config.BufferWrap)), str(c.Config.Filter), captureLimits(c.Config))
	}
	return tw.Flush()
}

func captureDirection(c gen.PacketCapture) string {
	if c.Direction == nil {
		return string(gen.PacketCaptureDirectionRx)
	}
	return string(*c.Direction)
}

// captureLimits formats what ends a capture: "1,000 packets, 5s", or "-".
func captureLimits(c gen.PacketCaptureConfig) string {
	s := ""
	if c.PacketCount != nil {
		s = count(*c.PacketCount) + " packets"
	}
	if c.Duration != nil {
		if s != "" {
			s += ", "
		}
		s += (time.Duration(*c.Duration) * time.Millisecond).String()
	}
	if s == "" {
		return "-"
	}
	return s
}

func capturesGet(fs *pflag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		r, err := a.api.GetPacketCaptureWithResponse(ctx, args[0])
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		c, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		cfg := c.Config
		packetSize := "whole packets"
		if cfg.PacketSize != nil {
			packetSize = count(int64(*cfg.PacketSize)) + " bytes"
		}
		return writeFields(a.out, []field{
			{"id", str(c.Id)}, {"source", c.SourceId}, {"direction", captureDirection(c)},
			{"active", yesNo(deref(c.Active))}, {"mode", string(cfg.Mode)},
			{"buffer size", count(cfg.BufferSize) + " bytes"}, {"buffer wrap", yesNo(deref(cfg.BufferWrap))},
			{"packet size", packetSize}, {"filter", str(cfg.Filter)},
			{"start trigger", str(cfg.StartTrigger)}, {"stop trigger", str(cfg.StopTrigger)},
			{"stop after", captureLimits(cfg)},
		})
	}
}

// quickCapture is the flag form of "captures create".
type quickCapture struct {
	id, source, filter string
	direction          string
	bufferSize, count  siValue
	packetSize         int32
	wrap               bool
	duration           time.Duration
	// which of the optional limits were given
	packetSizeGiven, countGiven, durationGiven bool
}

var captureQuickFlags = []string{"id", "source", "port", "direction", "buffer-size", "wrap", "packet-size", "filter", "count", "duration"}

func (q quickCapture) build() (gen.PacketCapture, error) {
	var c gen.PacketCapture
	switch {
	case q.source == "":
		return c, usageErrorf("--source (or --port) is required (or -f FILE)")
	case q.bufferSize < 4096:
		return c, usageErrorf("--buffer-size must be at least 4096")
	case q.packetSizeGiven && q.packetSize < 1:
		return c, usageErrorf("--packet-size must be positive")
	case q.countGiven && q.count < 1:
		return c, usageErrorf("--count must be positive")
	case q.durationGiven && q.duration < time.Millisecond:
		return c, usageErrorf("--duration must be at least 1ms")
	case !gen.PacketCaptureDirection(q.direction).Valid():
		return c, usageErrorf("--direction must be rx, tx or rx_and_tx")
	}
	cfg := gen.PacketCaptureConfig{Mode: gen.PacketCaptureConfigModeBuffer, BufferSize: int64(q.bufferSize), Filter: opt(q.filter)}
	if q.wrap {
		cfg.BufferWrap = &q.wrap
	}
	if q.packetSizeGiven {
		cfg.PacketSize = &q.packetSize
	}
	if q.countGiven {
		n := int64(q.count)
		cfg.PacketCount = &n
	}
	if q.durationGiven {
		ms := q.duration.Milliseconds()
		cfg.Duration = &ms
	}
	c = gen.PacketCapture{Id: opt(q.id), SourceId: q.source, Config: cfg}
	if q.direction != string(gen.PacketCaptureDirectionRx) {
		dir := gen.PacketCaptureDirection(q.direction)
		c.Direction = &dir
	}
	return c, nil
}

func capturesCreate(fs *pflag.FlagSet) runFunc {
	file := fs.StringP("file", "f", "", "capture JSON (OpenPerf's PacketCapture) to send as it is; - for stdin")
	q := quickCapture{bufferSize: 16 << 20, direction: string(gen.PacketCaptureDirectionRx)}
	fs.StringVar(&q.id, "id", "", "capture id (the server picks one when empty)")
	fs.StringVar(&q.source, "source", "", "port (or interface) whose packets to capture")
	fs.StringVar(&q.source, "port", "", "same as --source")
	fs.StringVar(&q.direction, "direction", q.direction, "rx (received), tx (sent) or rx_and_tx")
	fs.Var(&q.bufferSize, "buffer-size", "buffer size in bytes (16M, 1G)")
	fs.BoolVar(&q.wrap, "wrap", false, "overwrite the oldest packets when the buffer is full (else stop)")
	fs.Int32Var(&q.packetSize, "packet-size", 0, "keep at most this many bytes of each packet (default whole packets)")
	fs.StringVar(&q.filter, "filter", "", "BPF filter (tcpdump syntax) of the packets to capture")
	fs.Var(&q.count, "count", "stop after this many packets")
	fs.DurationVar(&q.duration, "duration", 0, "stop after this long (e.g. 5s, 100ms)")
	return func(ctx context.Context, a *app, _ []string) error {
		q.packetSizeGiven, q.countGiven, q.durationGiven = fs.Changed("packet-size"), fs.Changed("count"), fs.Changed("duration")
		body, err := quickOrFile(a, fs, *file, captureQuickFlags, func() (any, error) { return q.build() })
		if err != nil {
			return err
		}
		r, err := a.api.CreatePacketCaptureWithBodyWithResponse(ctx, "application/json", bytes.NewReader(body))
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		c, err := got(r.JSON201, r.Body)
		if err != nil {
			return err
		}
		return writeCaptures(a, []gen.PacketCapture{c})
	}
}

func capturesDelete(fs *pflag.FlagSet) runFunc {
	return eachID("deleted capture", func(ctx context.Context, a *app, id string) (response, error) {
		return a.api.DeletePacketCaptureWithResponse(ctx, id)
	})
}

func capturesStop(fs *pflag.FlagSet) runFunc {
	return eachID("stopped capture", func(ctx context.Context, a *app, id string) (response, error) {
		return a.api.StopPacketCaptureWithResponse(ctx, id)
	})
}

func capturesStart(fs *pflag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		var results []gen.PacketCaptureResult
		for _, id := range args {
			r, err := a.api.StartPacketCaptureWithResponse(ctx, id)
			if err := a.check(r, err); err != nil {
				return err
			}
			if a.json {
				if err := a.raw(r.Body); err != nil {
					return err
				}
				continue
			}
			res, err := got(r.JSON201, r.Body)
			if err != nil {
				return err
			}
			results = append(results, res)
		}
		if a.json {
			return nil
		}
		return writeCaptureResults(a, results)
	}
}

func captureResultsList(fs *pflag.FlagSet) runFunc {
	capture := fs.String("capture", "", "only results of this capture")
	source := fs.String("source", "", "only results on this port or interface")
	return func(ctx context.Context, a *app, _ []string) error {
		params := &gen.ListPacketCaptureResultsParams{CaptureId: opt(*capture), SourceId: opt(*source)}
		r, err := a.api.ListPacketCaptureResultsWithResponse(ctx, params)
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		results, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		return writeCaptureResults(a, results)
	}
}

func writeCaptureResults(a *app, results []gen.PacketCaptureResult) error {
	tw := newTable(a.out)
	row(tw, "ID", "CAPTURE", "STATE", "PACKETS", "BYTES")
	for _, r := range results {
		row(tw, r.Id, r.CaptureId, string(r.State), count(r.Packets), count(r.Bytes))
	}
	return tw.Flush()
}

func captureResultsGet(fs *pflag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		r, err := a.api.GetPacketCaptureResultWithResponse(ctx, args[0])
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		res, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		return writeFields(a.out, []field{
			{"id", res.Id}, {"capture", res.CaptureId}, {"state", string(res.State)},
			{"active", yesNo(deref(res.Active))}, {"packets", count(res.Packets)}, {"bytes", count(res.Bytes)},
		})
	}
}

// packetRange is the --first/--last pair of the pcap verbs.
type packetRange struct{ first, last *int64 }

func packetRangeFlags(fs *pflag.FlagSet) func() (packetRange, error) {
	first := fs.Int64("first", 0, "first packet to save (0 based)")
	last := fs.Int64("last", 0, "last packet to save (0 based, included; default the last one)")
	return func() (packetRange, error) {
		var r packetRange
		if fs.Changed("first") {
			r.first = first
		}
		if fs.Changed("last") {
			r.last = last
		}
		if *first < 0 || *last < 0 || (r.last != nil && *last < *first) {
			return r, usageErrorf("--first and --last must be packet numbers with --first <= --last")
		}
		return r, nil
	}
}

func captureResultsPcap(fs *pflag.FlagSet) runFunc {
	out := fs.StringP("output", "o", "", "file to write (- for stdout); default ID.pcapng")
	rng := packetRangeFlags(fs)
	return func(ctx context.Context, a *app, args []string) error {
		pr, err := rng()
		if err != nil {
			return err
		}
		path := *out
		if path == "" {
			path = args[0] + ".pcapng"
		}
		return a.download(path, func() (*http.Response, error) {
			return a.api.GetPacketCapturePcap(ctx, args[0], &gen.GetPacketCapturePcapParams{PacketStart: pr.first, PacketEnd: pr.last})
		})
	}
}

func captureResultsMerge(fs *pflag.FlagSet) runFunc {
	out := fs.StringP("output", "o", "", "file to write (- for stdout)")
	rng := packetRangeFlags(fs)
	return func(ctx context.Context, a *app, args []string) error {
		pr, err := rng()
		if err != nil {
			return err
		}
		if *out == "" {
			return usageErrorf("-o FILE is required")
		}
		body := gen.GetPacketCapturesPcapJSONRequestBody{Ids: args, PacketStart: pr.first, PacketEnd: pr.last}
		return a.download(*out, func() (*http.Response, error) {
			return a.api.GetPacketCapturesPcap(ctx, body)
		})
	}
}

// download streams the body of a 200 reply to path ("-": stdout). A file
// is written under a temporary name and renamed when complete, so a failed
// download leaves no partial file.
func (a *app) download(path string, call func() (*http.Response, error)) error {
	resp, err := call()
	if err != nil {
		return transportError(a.server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return replyError(resp.StatusCode, body)
	}
	if path == "-" {
		_, err := io.Copy(a.out, resp.Body)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	n, err := io.Copy(tmp, resp.Body)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	if a.json {
		return nil
	}
	fmt.Fprintf(a.out, "wrote %s bytes to %s\n", count(n), path)
	return nil
}
