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

// captureKind is the captures to the generic handlers.
type captureKind = kind[capture.Spec, capture.View, capture.ResultView, gen.PacketCapture, gen.PacketCaptureResult]

func newCaptureKind(svc *capture.Service) *captureKind {
	k := &captureKind{module: "packet capture", path: "/packet/captures/", resultPath: "/packet/capture-results/",
		fromJSON: captureFromJSON, toJSON: captureToJSON, resultJSON: captureResultJSON,
		id: func(v capture.View) string { return v.ID }, resultID: func(r capture.ResultView) string { return r.ID }}
	if svc != nil {
		k.svc = svc
	}
	return k
}

func captureFromJSON(in *gen.PacketCapture, where string) (capture.Spec, error) {
	field := func(f string) string {
		if where == "" {
			return f
		}
		return where + "." + f
	}
	sp := capture.Spec{SourceID: in.SourceId}
	if in.Id != nil {
		if err := checkID(field("id"), *in.Id); err != nil {
			return sp, err
		}
		sp.ID = *in.Id
	}
	if in.SourceId == "" {
		return sp, badRequest("%s: required", field("source_id"))
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

// ListPacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) ListPacketCaptures(_ context.Context, req gen.ListPacketCapturesRequestObject) (gen.ListPacketCapturesResponseObject, error) {
	out, err := h.captures.list(req.Params.SourceId)
	return gen.ListPacketCaptures200JSONResponse(out), err
}

// CreatePacketCapture implements gen.StrictServerInterface.
func (h *Handlers) CreatePacketCapture(_ context.Context, req gen.CreatePacketCaptureRequestObject) (gen.CreatePacketCaptureResponseObject, error) {
	out, loc, err := h.captures.createOne(req.Body)
	return gen.CreatePacketCapture201JSONResponse{Body: out, Headers: gen.CreatePacketCapture201ResponseHeaders{Location: &loc}}, err
}

// BulkCreatePacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkCreatePacketCaptures(_ context.Context, req gen.BulkCreatePacketCapturesRequestObject) (gen.BulkCreatePacketCapturesResponseObject, error) {
	out, err := h.captures.create(req.Body.Items, true)
	return gen.BulkCreatePacketCaptures200JSONResponse{Items: out}, err
}

// DeletePacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCaptures(context.Context, gen.DeletePacketCapturesRequestObject) (gen.DeletePacketCapturesResponseObject, error) {
	return gen.DeletePacketCaptures204Response{}, h.captures.deleteAll()
}

// GetPacketCapture implements gen.StrictServerInterface.
func (h *Handlers) GetPacketCapture(_ context.Context, req gen.GetPacketCaptureRequestObject) (gen.GetPacketCaptureResponseObject, error) {
	out, err := h.captures.get(req.Id)
	return gen.GetPacketCapture200JSONResponse(out), err
}

// DeletePacketCapture implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCapture(_ context.Context, req gen.DeletePacketCaptureRequestObject) (gen.DeletePacketCaptureResponseObject, error) {
	return gen.DeletePacketCapture204Response{}, h.captures.deleteOne(req.Id)
}

// BulkDeletePacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkDeletePacketCaptures(_ context.Context, req gen.BulkDeletePacketCapturesRequestObject) (gen.BulkDeletePacketCapturesResponseObject, error) {
	return gen.BulkDeletePacketCaptures204Response{}, h.captures.deleteMany(req.Body.Ids)
}

// StartPacketCapture implements gen.StrictServerInterface.
func (h *Handlers) StartPacketCapture(ctx context.Context, req gen.StartPacketCaptureRequestObject) (gen.StartPacketCaptureResponseObject, error) {
	out, loc, err := h.captures.startOne(ctx, req.Id)
	return gen.StartPacketCapture201JSONResponse{Body: out, Headers: gen.StartPacketCapture201ResponseHeaders{Location: &loc}}, err
}

// StopPacketCapture implements gen.StrictServerInterface.
func (h *Handlers) StopPacketCapture(_ context.Context, req gen.StopPacketCaptureRequestObject) (gen.StopPacketCaptureResponseObject, error) {
	return gen.StopPacketCapture204Response{}, h.captures.stopOne(req.Id)
}

// BulkStartPacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkStartPacketCaptures(ctx context.Context, req gen.BulkStartPacketCapturesRequestObject) (gen.BulkStartPacketCapturesResponseObject, error) {
	out, err := h.captures.startMany(ctx, req.Body.Ids)
	return gen.BulkStartPacketCaptures200JSONResponse{Items: out}, err
}

// BulkStopPacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkStopPacketCaptures(_ context.Context, req gen.BulkStopPacketCapturesRequestObject) (gen.BulkStopPacketCapturesResponseObject, error) {
	return gen.BulkStopPacketCaptures204Response{}, h.captures.stopMany(req.Body.Ids)
}

// ListPacketCaptureResults implements gen.StrictServerInterface.
func (h *Handlers) ListPacketCaptureResults(_ context.Context, req gen.ListPacketCaptureResultsRequestObject) (gen.ListPacketCaptureResultsResponseObject, error) {
	out, err := h.captures.results(req.Params.CaptureId, req.Params.SourceId)
	return gen.ListPacketCaptureResults200JSONResponse(out), err
}

// DeletePacketCaptureResults implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCaptureResults(context.Context, gen.DeletePacketCaptureResultsRequestObject) (gen.DeletePacketCaptureResultsResponseObject, error) {
	return gen.DeletePacketCaptureResults204Response{}, h.captures.deleteResults()
}

// GetPacketCaptureResult implements gen.StrictServerInterface.
func (h *Handlers) GetPacketCaptureResult(_ context.Context, req gen.GetPacketCaptureResultRequestObject) (gen.GetPacketCaptureResultResponseObject, error) {
	out, err := h.captures.result(req.Id)
	return gen.GetPacketCaptureResult200JSONResponse(out), err
}

// DeletePacketCaptureResult implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCaptureResult(_ context.Context, req gen.DeletePacketCaptureResultRequestObject) (gen.DeletePacketCaptureResultResponseObject, error) {
	return gen.DeletePacketCaptureResult204Response{}, h.captures.deleteResult(req.Id)
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
	if _, err := h.captures.service(); err != nil {
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
	if _, err := h.captures.service(); err != nil {
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
