package rest

import (
	"context"
	"io"
	"math"
	"time"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/bpf"
	"github.com/openperfd/openperfd/packet/capture"
)

func captureFromJSON(in *gen.PacketCapture, where string) (capture.Spec, error) {
	field, id, err := itemHead(where, in.Id, "source_id", in.SourceId)
	sp := capture.Spec{ID: id, SourceID: in.SourceId}
	if err != nil {
		return sp, err
	}
	c := in.Config
	if c.Mode == gen.PacketCaptureConfigModeLive {
		return sp, badRequest("%s: live captures are not supported (use buffer)", field("config.mode"))
	}
	cfg := capture.Config{BufferSize: c.BufferSize, Direction: capture.DirRx}
	if in.Direction != nil {
		d, err := capture.ParseDirection(string(*in.Direction))
		if err != nil {
			return sp, badRequest("%s: %v", field("direction"), err)
		}
		cfg.Direction = d
	}
	cfg.BufferWrap = in.Config.BufferWrap != nil && *in.Config.BufferWrap
	if c.PacketSize != nil {
		cfg.PacketSize = int(*c.PacketSize)
	}
	if c.PacketCount != nil {
		cfg.PacketCount = *c.PacketCount
	}
	if c.Duration != nil {
		if *c.Duration > math.MaxInt64/int64(time.Millisecond) {
			return sp, badRequest("%s: too long", field("config.duration"))
		}
		cfg.Duration = time.Duration(*c.Duration) * time.Millisecond
	}
	for _, f := range []struct {
		expr *string
		dst  **bpf.Filter
		name string
	}{{c.Filter, &cfg.Filter, "filter"}, {c.StartTrigger, &cfg.StartTrigger, "start_trigger"}, {c.StopTrigger, &cfg.StopTrigger, "stop_trigger"}} {
		if f.expr == nil || *f.expr == "" {
			continue
		}
		flt, err := bpf.Compile(*f.expr)
		if err != nil {
			return sp, badRequest("%s: %v", field("config."+f.name), err)
		}
		*f.dst = flt
	}
	sp.Config = cfg
	sp.Opaque = c
	return sp, nil
}

func captureToJSON(v capture.View) gen.PacketCapture {
	out := gen.PacketCapture{Id: &v.ID, SourceId: v.SourceID, Active: &v.Active}
	d := gen.PacketCaptureDirection(v.Direction.String())
	out.Direction = &d
	if c, ok := v.Opaque.(gen.PacketCaptureConfig); ok {
		out.Config = c
	}
	return out
}

func captureResultJSON(r capture.ResultView) gen.PacketCaptureResult {
	st := r.Results.State
	active := st != capture.StateStopped
	return gen.PacketCaptureResult{Id: r.ID, CaptureId: r.CaptureID, Active: &active,
		State: gen.PacketCaptureResultState(st.String()), Packets: int64(r.Results.Packets), Bytes: int64(r.Results.Bytes)}
}

func pcapRange(start, end *int64) capture.Range {
	r := capture.All
	if start != nil {
		r.Start = uint64(*start)
	}
	if end != nil {
		r.End = uint64(*end)
	}
	return r
}

// pcapStream writes the results' packets through a pipe, so a large
// buffer streams to the client instead of being copied first.
func pcapStream(svc *capture.Service, r capture.Range, ids ...string) (io.Reader, error) {
	if err := svc.CheckRange(r, ids...); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(svc.Pcap(pw, r, ids...)) }()
	return pr, nil
}

// GetPacketCapturePcap implements gen.StrictServerInterface.
func (h *Handlers) GetPacketCapturePcap(_ context.Context, req gen.GetPacketCapturePcapRequestObject) (gen.GetPacketCapturePcapResponseObject, error) {
	if err := h.captures.ready(); err != nil {
		return nil, err
	}
	body, err := pcapStream(h.svc.Captures, pcapRange(req.Params.PacketStart, req.Params.PacketEnd), req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetPacketCapturePcap200ApplicationxPcapngResponse{Body: body}, nil
}

// GetPacketCapturesPcap implements gen.StrictServerInterface.
func (h *Handlers) GetPacketCapturesPcap(_ context.Context, req gen.GetPacketCapturesPcapRequestObject) (gen.GetPacketCapturesPcapResponseObject, error) {
	if err := h.captures.ready(); err != nil {
		return nil, err
	}
	if err := checkIDs("ids", req.Body.Ids); err != nil {
		return nil, err
	}
	body, err := pcapStream(h.svc.Captures, pcapRange(req.Body.PacketStart, req.Body.PacketEnd), req.Body.Ids...)
	if err != nil {
		return nil, err
	}
	return gen.GetPacketCapturesPcap200ApplicationxPcapngResponse{Body: body}, nil
}
