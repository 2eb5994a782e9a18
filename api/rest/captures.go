package rest

import (
	"context"
	"errors"
	"io"
	"math"
	"time"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/bpf"
	"github.com/openperfd/openperfd/packet/capture"
)

func (h *Handlers) captures() (*capture.Service, error) {
	if h.svc.Captures == nil {
		return nil, &apiError{status: 404, msg: "the packet capture module is not loaded"}
	}
	return h.svc.Captures, nil
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

func (h *Handlers) createCaptures(items []gen.PacketCapture, bulk bool) ([]gen.PacketCapture, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	specs := make([]capture.Spec, len(items))
	for i := range items {
		where := ""
		if bulk {
			where = "items[" + itoa(i) + "]"
		}
		if specs[i], err = captureFromJSON(&items[i], where); err != nil {
			return nil, err
		}
	}
	views, err := svc.Create(specs)
	if err != nil {
		return nil, err
	}
	out := make([]gen.PacketCapture, len(views))
	for i, v := range views {
		out[i] = captureToJSON(v)
	}
	return out, nil
}

// ListPacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) ListPacketCaptures(_ context.Context, req gen.ListPacketCapturesRequestObject) (gen.ListPacketCapturesResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	if emptyFilter(req.Params.SourceId) {
		return gen.ListPacketCaptures200JSONResponse{}, nil
	}
	out := gen.ListPacketCaptures200JSONResponse{}
	for _, v := range svc.List(deref(req.Params.SourceId)) {
		out = append(out, captureToJSON(v))
	}
	return out, nil
}

// CreatePacketCapture implements gen.StrictServerInterface.
func (h *Handlers) CreatePacketCapture(_ context.Context, req gen.CreatePacketCaptureRequestObject) (gen.CreatePacketCaptureResponseObject, error) {
	out, err := h.createCaptures([]gen.PacketCapture{*req.Body}, false)
	if err != nil {
		return nil, err
	}
	loc := "/packet/captures/" + *out[0].Id
	return gen.CreatePacketCapture201JSONResponse{Body: out[0], Headers: gen.CreatePacketCapture201ResponseHeaders{Location: &loc}}, nil
}

// BulkCreatePacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkCreatePacketCaptures(_ context.Context, req gen.BulkCreatePacketCapturesRequestObject) (gen.BulkCreatePacketCapturesResponseObject, error) {
	out, err := h.createCaptures(req.Body.Items, true)
	if err != nil {
		return nil, err
	}
	return gen.BulkCreatePacketCaptures200JSONResponse{Items: out}, nil
}

// DeletePacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCaptures(context.Context, gen.DeletePacketCapturesRequestObject) (gen.DeletePacketCapturesResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	svc.DeleteAll()
	return gen.DeletePacketCaptures204Response{}, nil
}

// GetPacketCapture implements gen.StrictServerInterface.
func (h *Handlers) GetPacketCapture(_ context.Context, req gen.GetPacketCaptureRequestObject) (gen.GetPacketCaptureResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	v, err := svc.Get(req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetPacketCapture200JSONResponse(captureToJSON(v)), nil
}

// DeletePacketCapture implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCapture(_ context.Context, req gen.DeletePacketCaptureRequestObject) (gen.DeletePacketCaptureResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	if err := svc.Delete([]string{req.Id}, true); err != nil {
		return nil, err
	}
	return gen.DeletePacketCapture204Response{}, nil
}

// BulkDeletePacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkDeletePacketCaptures(_ context.Context, req gen.BulkDeletePacketCapturesRequestObject) (gen.BulkDeletePacketCapturesResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	if err := checkIDs("ids", req.Body.Ids); err != nil {
		return nil, err
	}
	_ = svc.Delete(req.Body.Ids, false)
	return gen.BulkDeletePacketCaptures204Response{}, nil
}

// StartPacketCapture implements gen.StrictServerInterface.
func (h *Handlers) StartPacketCapture(_ context.Context, req gen.StartPacketCaptureRequestObject) (gen.StartPacketCaptureResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	rs, err := svc.Start([]string{req.Id})
	if err != nil {
		return nil, err
	}
	loc := "/packet/capture-results/" + rs[0].ID
	return gen.StartPacketCapture201JSONResponse{Body: captureResultJSON(rs[0]),
		Headers: gen.StartPacketCapture201ResponseHeaders{Location: &loc}}, nil
}

// StopPacketCapture implements gen.StrictServerInterface.
func (h *Handlers) StopPacketCapture(_ context.Context, req gen.StopPacketCaptureRequestObject) (gen.StopPacketCaptureResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	// Stopping what does not exist leaves it stopped: 204, as in OpenPerf.
	if err := svc.StopOne(req.Id); err != nil && !errors.Is(err, capture.ErrNotFound) {
		return nil, err
	}
	return gen.StopPacketCapture204Response{}, nil
}

// BulkStartPacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkStartPacketCaptures(_ context.Context, req gen.BulkStartPacketCapturesRequestObject) (gen.BulkStartPacketCapturesResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	if err := checkIDs("ids", req.Body.Ids); err != nil {
		return nil, err
	}
	rs, err := svc.Start(req.Body.Ids)
	if err != nil {
		return nil, err
	}
	out := gen.BulkStartPacketCaptures200JSONResponse{Items: make([]gen.PacketCaptureResult, len(rs))}
	for i, r := range rs {
		out.Items[i] = captureResultJSON(r)
	}
	return out, nil
}

// BulkStopPacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkStopPacketCaptures(_ context.Context, req gen.BulkStopPacketCapturesRequestObject) (gen.BulkStopPacketCapturesResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	if err := checkIDs("ids", req.Body.Ids); err != nil {
		return nil, err
	}
	svc.Stop(req.Body.Ids)
	return gen.BulkStopPacketCaptures204Response{}, nil
}

// ListPacketCaptureResults implements gen.StrictServerInterface.
func (h *Handlers) ListPacketCaptureResults(_ context.Context, req gen.ListPacketCaptureResultsRequestObject) (gen.ListPacketCaptureResultsResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	if emptyFilter(req.Params.CaptureId, req.Params.SourceId) {
		return gen.ListPacketCaptureResults200JSONResponse{}, nil
	}
	out := gen.ListPacketCaptureResults200JSONResponse{}
	for _, r := range svc.Results(deref(req.Params.CaptureId), deref(req.Params.SourceId)) {
		out = append(out, captureResultJSON(r))
	}
	return out, nil
}

// DeletePacketCaptureResults implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCaptureResults(context.Context, gen.DeletePacketCaptureResultsRequestObject) (gen.DeletePacketCaptureResultsResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	svc.DeleteResults()
	return gen.DeletePacketCaptureResults204Response{}, nil
}

// GetPacketCaptureResult implements gen.StrictServerInterface.
func (h *Handlers) GetPacketCaptureResult(_ context.Context, req gen.GetPacketCaptureResultRequestObject) (gen.GetPacketCaptureResultResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	r, err := svc.Result(req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetPacketCaptureResult200JSONResponse(captureResultJSON(r)), nil
}

// DeletePacketCaptureResult implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCaptureResult(_ context.Context, req gen.DeletePacketCaptureResultRequestObject) (gen.DeletePacketCaptureResultResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	if err := svc.DeleteResult(req.Id); err != nil {
		return nil, err
	}
	return gen.DeletePacketCaptureResult204Response{}, nil
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
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	body, err := pcapStream(svc, pcapRange(req.Params.PacketStart, req.Params.PacketEnd), req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetPacketCapturePcap200ApplicationxPcapngResponse{Body: body}, nil
}

// GetPacketCapturesPcap implements gen.StrictServerInterface.
func (h *Handlers) GetPacketCapturesPcap(_ context.Context, req gen.GetPacketCapturesPcapRequestObject) (gen.GetPacketCapturesPcapResponseObject, error) {
	svc, err := h.captures()
	if err != nil {
		return nil, err
	}
	if err := checkIDs("ids", req.Body.Ids); err != nil {
		return nil, err
	}
	body, err := pcapStream(svc, pcapRange(req.Body.PacketStart, req.Body.PacketEnd), req.Body.Ids...)
	if err != nil {
		return nil, err
	}
	return gen.GetPacketCapturesPcap200ApplicationxPcapngResponse{Body: body}, nil
}
