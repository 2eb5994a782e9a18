package main

import (
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

// captureColumns head the table of captures; captureRow is one line of it.
var captureColumns = []string{"ID", "SOURCE", "DIRECTION", "ACTIVE", "BUFFER", "WRAP", "FILTER", "STOP AFTER"}

func captureRow(c gen.PacketCapture) []string {
	return []string{str(c.Id), c.SourceId, captureDirection(c), yesNo(deref(c.Active)), count(c.Config.BufferSize),
		yesNo(deref(c.Config.BufferWrap)), str(c.Config.Filter), captureLimits(c.Config)}
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

func captureFields(c gen.PacketCapture) []field {
	cfg := c.Config
	packetSize := "whole packets"
	if cfg.PacketSize != nil {
		packetSize = count(int64(*cfg.PacketSize)) + " bytes"
	}
	return []field{
		{"id", str(c.Id)}, {"source", c.SourceId}, {"direction", captureDirection(c)},
		{"active", yesNo(deref(c.Active))}, {"mode", string(cfg.Mode)},
		{"buffer size", count(cfg.BufferSize) + " bytes"}, {"buffer wrap", yesNo(deref(cfg.BufferWrap))},
		{"packet size", packetSize}, {"filter", str(cfg.Filter)},
		{"start trigger", str(cfg.StartTrigger)}, {"stop trigger", str(cfg.StopTrigger)},
		{"stop after", captureLimits(cfg)},
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

// quickCaptureFlags is the flag form of "captures create".
func quickCaptureFlags(fs *pflag.FlagSet) func(id string) (any, error) {
	q := quickCapture{bufferSize: 16 << 20, direction: string(gen.PacketCaptureDirectionRx)}
	fs.StringVar(&q.source, "source", "", "port (or interface) whose packets to capture")
	fs.StringVar(&q.source, "port", "", "same as --source")
	fs.StringVar(&q.direction, "direction", q.direction, "rx (received), tx (sent) or rx_and_tx")
	fs.Var(&q.bufferSize, "buffer-size", "buffer size in bytes (16M, 1G)")
	fs.BoolVar(&q.wrap, "wrap", false, "overwrite the oldest packets when the buffer is full (else stop)")
	fs.Int32Var(&q.packetSize, "packet-size", 0, "keep at most this many bytes of each packet (default whole packets)")
	fs.StringVar(&q.filter, "filter", "", "BPF filter (tcpdump syntax) of the packets to capture")
	fs.Var(&q.count, "count", "stop after this many packets")
	fs.DurationVar(&q.duration, "duration", 0, "stop after this long (e.g. 5s, 100ms)")
	return func(id string) (any, error) {
		q.id = id
		q.packetSizeGiven, q.countGiven, q.durationGiven = fs.Changed("packet-size"), fs.Changed("count"), fs.Changed("duration")
		return q.build()
	}
}

// captureResultColumns head the table of capture results; captureResultRow is one line of it.
var captureResultColumns = []string{"ID", "CAPTURE", "STATE", "PACKETS", "BYTES"}

func captureResultRow(r gen.PacketCaptureResult) []string {
	return []string{r.Id, r.CaptureId, string(r.State), count(r.Packets), count(r.Bytes)}
}

func captureResultFields(r gen.PacketCaptureResult) []field {
	return []field{
		{"id", r.Id}, {"capture", r.CaptureId}, {"state", string(r.State)},
		{"active", yesNo(deref(r.Active))}, {"packets", count(r.Packets)}, {"bytes", count(r.Bytes)},
	}
}

// packetRange is the --first/--last pair of the pcap verbs.
type packetRange struct{ first, last *int64 }

// pcapCall asks for the pcapng of the verb's arguments.
type pcapCall func(ctx context.Context, a *app, args []string, r packetRange) (*http.Response, error)

// savePcap makes the run of a verb that saves pcapng: -o FILE (named
// after the arguments when defaultPath is given, else required) and the
// packet range.
func savePcap(output string, defaultPath func(args []string) string, call pcapCall) func(fs *pflag.FlagSet) runFunc {
	return func(fs *pflag.FlagSet) runFunc {
		out := fs.StringP("output", "o", "", output)
		first := fs.Int64("first", 0, "first packet to save (0 based)")
		last := fs.Int64("last", 0, "last packet to save (0 based, included; default the last one)")
		return func(ctx context.Context, a *app, args []string) error {
			var r packetRange
			if fs.Changed("first") {
				r.first = first
			}
			if fs.Changed("last") {
				r.last = last
			}
			if *first < 0 || *last < 0 || (r.last != nil && *last < *first) {
				return usageErrorf("--first and --last must be packet numbers with --first <= --last")
			}
			path := *out
			switch {
			case path != "":
			case defaultPath != nil:
				path = defaultPath(args)
			default:
				return usageErrorf("-o FILE is required")
			}
			return a.download(path, func() (*http.Response, error) { return call(ctx, a, args, r) })
		}
	}
}

// captureResultsPcap saves one result's packets. ID may also be a
// capture's, for its newest result: result ids are the server's UUIDs,
// which nobody types, and a capture's id is what the user chose.
var captureResultsPcap = savePcap("file to write (- for stdout); default ID.pcapng",
	func(args []string) string { return args[0] + ".pcapng" },
	func(ctx context.Context, a *app, args []string, r packetRange) (*http.Response, error) {
		params := &gen.GetPacketCapturePcapParams{PacketStart: r.first, PacketEnd: r.last}
		resp, err := a.api.GetPacketCapturePcap(ctx, args[0], params)
		if err != nil || resp.StatusCode != http.StatusNotFound {
			return resp, err
		}
		id, ok, err := newestCaptureResult(ctx, a, args[0])
		if err != nil || !ok {
			return resp, err // the 404 of the result id
		}
		resp.Body.Close()
		return a.api.GetPacketCapturePcap(ctx, id, params)
	})

// newestCaptureResult is the id of the last result of capture capID; ok
// is false when it has none (or there is no such capture).
func newestCaptureResult(ctx context.Context, a *app, capID string) (id string, ok bool, err error) {
	r, err := a.api.ListPacketCaptureResultsWithResponse(ctx, &gen.ListPacketCaptureResultsParams{CaptureId: &capID})
	if err != nil {
		return "", false, err
	}
	if r.JSON200 == nil || len(*r.JSON200) == 0 {
		return "", false, nil
	}
	results := *r.JSON200
	return results[len(results)-1].Id, true, nil
}

// captureResultsMerge saves several results' packets merged by time.
var captureResultsMerge = savePcap("file to write (- for stdout)", nil,
	func(ctx context.Context, a *app, args []string, r packetRange) (*http.Response, error) {
		return a.api.GetPacketCapturesPcap(ctx, gen.GetPacketCapturesPcapJSONRequestBody{Ids: args, PacketStart: r.first, PacketEnd: r.last})
	})

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
