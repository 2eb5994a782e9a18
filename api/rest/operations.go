package rest

import (
	"context"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/capture"
	"github.com/openperfd/openperfd/packet/generator"
)

// The operations every resource with a lifecycle has, bound to the
// generic helpers of resources.go: the methods only name the operation
// and its response types. Each resource's own operations (toggle,
// learning, reset, flows, pcap) are in its file.

// newGeneratorKind is the generators to the generic handlers.
func newGeneratorKind(svc *generator.Service) *kind[generator.Spec, generator.View, generator.ResultView, gen.PacketGenerator, gen.PacketGeneratorResult] {
	return &kind[generator.Spec, generator.View, generator.ResultView, gen.PacketGenerator, gen.PacketGeneratorResult]{
		noun: "generator", svc: lifecycleOf[generator.Spec, generator.View, generator.ResultView](svc),
		fromJSON: generatorSpec, toJSON: generatorToJSON, resultJSON: resultToJSON,
		id: func(v generator.View) string { return v.ID }, resultID: func(r generator.ResultView) string { return r.ID }}
}

// newAnalyzerKind is the analyzers to the generic handlers.
func newAnalyzerKind(svc *analyzer.Service) *kind[analyzer.Spec, analyzer.View, analyzer.ResultView, gen.PacketAnalyzer, gen.PacketAnalyzerResult] {
	return &kind[analyzer.Spec, analyzer.View, analyzer.ResultView, gen.PacketAnalyzer, gen.PacketAnalyzerResult]{
		noun: "analyzer", svc: lifecycleOf[analyzer.Spec, analyzer.View, analyzer.ResultView](svc),
		fromJSON: analyzerFromJSON, toJSON: analyzerToJSON, resultJSON: analyzerResultsJSON(svc),
		id: func(v analyzer.View) string { return v.ID }, resultID: func(r analyzer.ResultView) string { return r.ID }}
}

// newCaptureKind is the captures to the generic handlers.
func newCaptureKind(svc *capture.Service) *kind[capture.Spec, capture.View, capture.ResultView, gen.PacketCapture, gen.PacketCaptureResult] {
	return &kind[capture.Spec, capture.View, capture.ResultView, gen.PacketCapture, gen.PacketCaptureResult]{
		noun: "capture", svc: lifecycleOf[capture.Spec, capture.View, capture.ResultView](svc),
		fromJSON: captureFromJSON, toJSON: captureToJSON, resultJSON: captureResultJSON,
		id: func(v capture.View) string { return v.ID }, resultID: func(r capture.ResultView) string { return r.ID }}
}

// List.

// ListPacketGenerators implements gen.StrictServerInterface.
func (h *Handlers) ListPacketGenerators(_ context.Context, req gen.ListPacketGeneratorsRequestObject) (gen.ListPacketGeneratorsResponseObject, error) {
	out, err := h.generators.list(req.Params.TargetId)
	return gen.ListPacketGenerators200JSONResponse(out), err
}

// ListPacketAnalyzers implements gen.StrictServerInterface.
func (h *Handlers) ListPacketAnalyzers(_ context.Context, req gen.ListPacketAnalyzersRequestObject) (gen.ListPacketAnalyzersResponseObject, error) {
	out, err := h.analyzers.list(req.Params.SourceId)
	return gen.ListPacketAnalyzers200JSONResponse(out), err
}

// ListPacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) ListPacketCaptures(_ context.Context, req gen.ListPacketCapturesRequestObject) (gen.ListPacketCapturesResponseObject, error) {
	out, err := h.captures.list(req.Params.SourceId)
	return gen.ListPacketCaptures200JSONResponse(out), err
}

// Create one.

// CreatePacketGenerator implements gen.StrictServerInterface.
func (h *Handlers) CreatePacketGenerator(_ context.Context, req gen.CreatePacketGeneratorRequestObject) (gen.CreatePacketGeneratorResponseObject, error) {
	out, loc, err := h.generators.createOne(req.Body)
	return gen.CreatePacketGenerator201JSONResponse{Body: out, Headers: gen.CreatePacketGenerator201ResponseHeaders{Location: &loc}}, err
}

// CreatePacketAnalyzer implements gen.StrictServerInterface.
func (h *Handlers) CreatePacketAnalyzer(_ context.Context, req gen.CreatePacketAnalyzerRequestObject) (gen.CreatePacketAnalyzerResponseObject, error) {
	out, loc, err := h.analyzers.createOne(req.Body)
	return gen.CreatePacketAnalyzer201JSONResponse{Body: out, Headers: gen.CreatePacketAnalyzer201ResponseHeaders{Location: &loc}}, err
}

// CreatePacketCapture implements gen.StrictServerInterface.
func (h *Handlers) CreatePacketCapture(_ context.Context, req gen.CreatePacketCaptureRequestObject) (gen.CreatePacketCaptureResponseObject, error) {
	out, loc, err := h.captures.createOne(req.Body)
	return gen.CreatePacketCapture201JSONResponse{Body: out, Headers: gen.CreatePacketCapture201ResponseHeaders{Location: &loc}}, err
}

// Bulk create.

// BulkCreatePacketGenerators implements gen.StrictServerInterface.
func (h *Handlers) BulkCreatePacketGenerators(_ context.Context, req gen.BulkCreatePacketGeneratorsRequestObject) (gen.BulkCreatePacketGeneratorsResponseObject, error) {
	out, err := h.generators.create(req.Body.Items, true)
	return gen.BulkCreatePacketGenerators200JSONResponse{Items: out}, err
}

// BulkCreatePacketAnalyzers implements gen.StrictServerInterface.
func (h *Handlers) BulkCreatePacketAnalyzers(_ context.Context, req gen.BulkCreatePacketAnalyzersRequestObject) (gen.BulkCreatePacketAnalyzersResponseObject, error) {
	out, err := h.analyzers.create(req.Body.Items, true)
	return gen.BulkCreatePacketAnalyzers200JSONResponse{Items: out}, err
}

// BulkCreatePacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkCreatePacketCaptures(_ context.Context, req gen.BulkCreatePacketCapturesRequestObject) (gen.BulkCreatePacketCapturesResponseObject, error) {
	out, err := h.captures.create(req.Body.Items, true)
	return gen.BulkCreatePacketCaptures200JSONResponse{Items: out}, err
}

// Delete all.

// DeletePacketGenerators implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketGenerators(context.Context, gen.DeletePacketGeneratorsRequestObject) (gen.DeletePacketGeneratorsResponseObject, error) {
	return gen.DeletePacketGenerators204Response{}, h.generators.deleteAll()
}

// DeletePacketAnalyzers implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketAnalyzers(context.Context, gen.DeletePacketAnalyzersRequestObject) (gen.DeletePacketAnalyzersResponseObject, error) {
	return gen.DeletePacketAnalyzers204Response{}, h.analyzers.deleteAll()
}

// DeletePacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCaptures(context.Context, gen.DeletePacketCapturesRequestObject) (gen.DeletePacketCapturesResponseObject, error) {
	return gen.DeletePacketCaptures204Response{}, h.captures.deleteAll()
}

// Get.

// GetPacketGenerator implements gen.StrictServerInterface.
func (h *Handlers) GetPacketGenerator(_ context.Context, req gen.GetPacketGeneratorRequestObject) (gen.GetPacketGeneratorResponseObject, error) {
	out, err := h.generators.get(req.Id)
	return gen.GetPacketGenerator200JSONResponse(out), err
}

// GetPacketAnalyzer implements gen.StrictServerInterface.
func (h *Handlers) GetPacketAnalyzer(_ context.Context, req gen.GetPacketAnalyzerRequestObject) (gen.GetPacketAnalyzerResponseObject, error) {
	out, err := h.analyzers.get(req.Id)
	return gen.GetPacketAnalyzer200JSONResponse(out), err
}

// GetPacketCapture implements gen.StrictServerInterface.
func (h *Handlers) GetPacketCapture(_ context.Context, req gen.GetPacketCaptureRequestObject) (gen.GetPacketCaptureResponseObject, error) {
	out, err := h.captures.get(req.Id)
	return gen.GetPacketCapture200JSONResponse(out), err
}

// Delete one.

// DeletePacketGenerator implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketGenerator(_ context.Context, req gen.DeletePacketGeneratorRequestObject) (gen.DeletePacketGeneratorResponseObject, error) {
	return gen.DeletePacketGenerator204Response{}, h.generators.deleteOne(req.Id)
}

// DeletePacketAnalyzer implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketAnalyzer(_ context.Context, req gen.DeletePacketAnalyzerRequestObject) (gen.DeletePacketAnalyzerResponseObject, error) {
	return gen.DeletePacketAnalyzer204Response{}, h.analyzers.deleteOne(req.Id)
}

// DeletePacketCapture implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCapture(_ context.Context, req gen.DeletePacketCaptureRequestObject) (gen.DeletePacketCaptureResponseObject, error) {
	return gen.DeletePacketCapture204Response{}, h.captures.deleteOne(req.Id)
}

// Bulk delete.

// BulkDeletePacketGenerators implements gen.StrictServerInterface.
func (h *Handlers) BulkDeletePacketGenerators(_ context.Context, req gen.BulkDeletePacketGeneratorsRequestObject) (gen.BulkDeletePacketGeneratorsResponseObject, error) {
	return gen.BulkDeletePacketGenerators204Response{}, h.generators.deleteMany(req.Body.Ids)
}

// BulkDeletePacketAnalyzers implements gen.StrictServerInterface.
func (h *Handlers) BulkDeletePacketAnalyzers(_ context.Context, req gen.BulkDeletePacketAnalyzersRequestObject) (gen.BulkDeletePacketAnalyzersResponseObject, error) {
	return gen.BulkDeletePacketAnalyzers204Response{}, h.analyzers.deleteMany(req.Body.Ids)
}

// BulkDeletePacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkDeletePacketCaptures(_ context.Context, req gen.BulkDeletePacketCapturesRequestObject) (gen.BulkDeletePacketCapturesResponseObject, error) {
	return gen.BulkDeletePacketCaptures204Response{}, h.captures.deleteMany(req.Body.Ids)
}

// Start one.

// StartPacketGenerator implements gen.StrictServerInterface.
func (h *Handlers) StartPacketGenerator(ctx context.Context, req gen.StartPacketGeneratorRequestObject) (gen.StartPacketGeneratorResponseObject, error) {
	out, loc, err := h.generators.startOne(ctx, req.Id)
	return gen.StartPacketGenerator201JSONResponse{Body: out, Headers: gen.StartPacketGenerator201ResponseHeaders{Location: &loc}}, err
}

// StartPacketAnalyzer implements gen.StrictServerInterface.
func (h *Handlers) StartPacketAnalyzer(ctx context.Context, req gen.StartPacketAnalyzerRequestObject) (gen.StartPacketAnalyzerResponseObject, error) {
	out, loc, err := h.analyzers.startOne(ctx, req.Id)
	return gen.StartPacketAnalyzer201JSONResponse{Body: out, Headers: gen.StartPacketAnalyzer201ResponseHeaders{Location: &loc}}, err
}

// StartPacketCapture implements gen.StrictServerInterface.
func (h *Handlers) StartPacketCapture(ctx context.Context, req gen.StartPacketCaptureRequestObject) (gen.StartPacketCaptureResponseObject, error) {
	out, loc, err := h.captures.startOne(ctx, req.Id)
	return gen.StartPacketCapture201JSONResponse{Body: out, Headers: gen.StartPacketCapture201ResponseHeaders{Location: &loc}}, err
}

// Stop one.

// StopPacketGenerator implements gen.StrictServerInterface.
func (h *Handlers) StopPacketGenerator(_ context.Context, req gen.StopPacketGeneratorRequestObject) (gen.StopPacketGeneratorResponseObject, error) {
	return gen.StopPacketGenerator204Response{}, h.generators.stopOne(req.Id)
}

// StopPacketAnalyzer implements gen.StrictServerInterface.
func (h *Handlers) StopPacketAnalyzer(_ context.Context, req gen.StopPacketAnalyzerRequestObject) (gen.StopPacketAnalyzerResponseObject, error) {
	return gen.StopPacketAnalyzer204Response{}, h.analyzers.stopOne(req.Id)
}

// StopPacketCapture implements gen.StrictServerInterface.
func (h *Handlers) StopPacketCapture(_ context.Context, req gen.StopPacketCaptureRequestObject) (gen.StopPacketCaptureResponseObject, error) {
	return gen.StopPacketCapture204Response{}, h.captures.stopOne(req.Id)
}

// Bulk start.

// BulkStartPacketGenerators implements gen.StrictServerInterface.
func (h *Handlers) BulkStartPacketGenerators(ctx context.Context, req gen.BulkStartPacketGeneratorsRequestObject) (gen.BulkStartPacketGeneratorsResponseObject, error) {
	out, err := h.generators.startMany(ctx, req.Body.Ids)
	return gen.BulkStartPacketGenerators200JSONResponse{Items: out}, err
}

// BulkStartPacketAnalyzers implements gen.StrictServerInterface.
func (h *Handlers) BulkStartPacketAnalyzers(ctx context.Context, req gen.BulkStartPacketAnalyzersRequestObject) (gen.BulkStartPacketAnalyzersResponseObject, error) {
	out, err := h.analyzers.startMany(ctx, req.Body.Ids)
	return gen.BulkStartPacketAnalyzers200JSONResponse{Items: out}, err
}

// BulkStartPacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkStartPacketCaptures(ctx context.Context, req gen.BulkStartPacketCapturesRequestObject) (gen.BulkStartPacketCapturesResponseObject, error) {
	out, err := h.captures.startMany(ctx, req.Body.Ids)
	return gen.BulkStartPacketCaptures200JSONResponse{Items: out}, err
}

// Bulk stop.

// BulkStopPacketGenerators implements gen.StrictServerInterface.
func (h *Handlers) BulkStopPacketGenerators(_ context.Context, req gen.BulkStopPacketGeneratorsRequestObject) (gen.BulkStopPacketGeneratorsResponseObject, error) {
	return gen.BulkStopPacketGenerators204Response{}, h.generators.stopMany(req.Body.Ids)
}

// BulkStopPacketAnalyzers implements gen.StrictServerInterface.
func (h *Handlers) BulkStopPacketAnalyzers(_ context.Context, req gen.BulkStopPacketAnalyzersRequestObject) (gen.BulkStopPacketAnalyzersResponseObject, error) {
	return gen.BulkStopPacketAnalyzers204Response{}, h.analyzers.stopMany(req.Body.Ids)
}

// BulkStopPacketCaptures implements gen.StrictServerInterface.
func (h *Handlers) BulkStopPacketCaptures(_ context.Context, req gen.BulkStopPacketCapturesRequestObject) (gen.BulkStopPacketCapturesResponseObject, error) {
	return gen.BulkStopPacketCaptures204Response{}, h.captures.stopMany(req.Body.Ids)
}

// List results.

// ListPacketGeneratorResults implements gen.StrictServerInterface.
func (h *Handlers) ListPacketGeneratorResults(_ context.Context, req gen.ListPacketGeneratorResultsRequestObject) (gen.ListPacketGeneratorResultsResponseObject, error) {
	out, err := h.generators.results(req.Params.GeneratorId, req.Params.TargetId)
	return gen.ListPacketGeneratorResults200JSONResponse(out), err
}

// ListPacketAnalyzerResults implements gen.StrictServerInterface.
func (h *Handlers) ListPacketAnalyzerResults(_ context.Context, req gen.ListPacketAnalyzerResultsRequestObject) (gen.ListPacketAnalyzerResultsResponseObject, error) {
	out, err := h.analyzers.results(req.Params.AnalyzerId, req.Params.SourceId)
	return gen.ListPacketAnalyzerResults200JSONResponse(out), err
}

// ListPacketCaptureResults implements gen.StrictServerInterface.
func (h *Handlers) ListPacketCaptureResults(_ context.Context, req gen.ListPacketCaptureResultsRequestObject) (gen.ListPacketCaptureResultsResponseObject, error) {
	out, err := h.captures.results(req.Params.CaptureId, req.Params.SourceId)
	return gen.ListPacketCaptureResults200JSONResponse(out), err
}

// Delete all results.

// DeletePacketGeneratorResults implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketGeneratorResults(context.Context, gen.DeletePacketGeneratorResultsRequestObject) (gen.DeletePacketGeneratorResultsResponseObject, error) {
	return gen.DeletePacketGeneratorResults204Response{}, h.generators.deleteResults()
}

// DeletePacketAnalyzerResults implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketAnalyzerResults(context.Context, gen.DeletePacketAnalyzerResultsRequestObject) (gen.DeletePacketAnalyzerResultsResponseObject, error) {
	return gen.DeletePacketAnalyzerResults204Response{}, h.analyzers.deleteResults()
}

// DeletePacketCaptureResults implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCaptureResults(context.Context, gen.DeletePacketCaptureResultsRequestObject) (gen.DeletePacketCaptureResultsResponseObject, error) {
	return gen.DeletePacketCaptureResults204Response{}, h.captures.deleteResults()
}

// Get a result.

// GetPacketGeneratorResult implements gen.StrictServerInterface.
func (h *Handlers) GetPacketGeneratorResult(_ context.Context, req gen.GetPacketGeneratorResultRequestObject) (gen.GetPacketGeneratorResultResponseObject, error) {
	out, err := h.generators.result(req.Id)
	return gen.GetPacketGeneratorResult200JSONResponse(out), err
}

// GetPacketAnalyzerResult implements gen.StrictServerInterface.
func (h *Handlers) GetPacketAnalyzerResult(_ context.Context, req gen.GetPacketAnalyzerResultRequestObject) (gen.GetPacketAnalyzerResultResponseObject, error) {
	out, err := h.analyzers.result(req.Id)
	return gen.GetPacketAnalyzerResult200JSONResponse(out), err
}

// GetPacketCaptureResult implements gen.StrictServerInterface.
func (h *Handlers) GetPacketCaptureResult(_ context.Context, req gen.GetPacketCaptureResultRequestObject) (gen.GetPacketCaptureResultResponseObject, error) {
	out, err := h.captures.result(req.Id)
	return gen.GetPacketCaptureResult200JSONResponse(out), err
}

// Delete a result.

// DeletePacketGeneratorResult implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketGeneratorResult(_ context.Context, req gen.DeletePacketGeneratorResultRequestObject) (gen.DeletePacketGeneratorResultResponseObject, error) {
	return gen.DeletePacketGeneratorResult204Response{}, h.generators.deleteResult(req.Id)
}

// DeletePacketAnalyzerResult implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketAnalyzerResult(_ context.Context, req gen.DeletePacketAnalyzerResultRequestObject) (gen.DeletePacketAnalyzerResultResponseObject, error) {
	return gen.DeletePacketAnalyzerResult204Response{}, h.analyzers.deleteResult(req.Id)
}

// DeletePacketCaptureResult implements gen.StrictServerInterface.
func (h *Handlers) DeletePacketCaptureResult(_ context.Context, req gen.DeletePacketCaptureResultRequestObject) (gen.DeletePacketCaptureResultResponseObject, error) {
	return gen.DeletePacketCaptureResult204Response{}, h.captures.deleteResult(req.Id)
}
