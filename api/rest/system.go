package rest

import (
	"context"
	"fmt"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// moduleInfo describes a module; a module is listed exactly when it works,
// because OpenPerf clients read the list to learn what they may use.
type moduleInfo struct {
	id, description string
	version         int32
}

func (h *Handlers) modules() []gen.Module {
	list := []moduleInfo{
		{"packetio", "Packet I/O: DPDK ports, pinned workers and buffer pools", 1},
	}
	if h.svc.Stack != nil {
		list = append(list, moduleInfo{"packet-stack", "Emulated interfaces on a userspace TCP/IP stack (gVisor)", 1})
	}
	if h.svc.Generators != nil {
		list = append(list, moduleInfo{"packet-generator", "Packet generator: templated traffic with modifiers, signatures and pacing", 1})
	}
	if h.svc.Analyzers != nil {
		list = append(list, moduleInfo{"packet-analyzer", "Packet analyzer: protocol and flow counters, sequencing, latency and jitter from signatures", 1})
	}
	if h.svc.Captures != nil {
		list = append(list, moduleInfo{"packet-capture", "Packet capture into buffers, served as pcapng", 1})
	}
	if h.svc.Tvlp != nil {
		list = append(list, moduleInfo{"tvlp", "Time-varying load profiles: packet generator steps replayed on time", 1})
	}
	var built *time.Time
	if t, err := time.Parse(time.RFC3339, h.build.BuildTime); err == nil {
		built = &t
	}
	out := make([]gen.Module, 0, len(list))
	for _, m := range list {
		bn, sc := h.build.BuildNumber, h.build.SourceCommit
		out = append(out, gen.Module{
			Id: m.id, Description: m.description, Linkage: gen.ModuleLinkageStatic,
			Version: gen.ModuleVersion{Version: m.version, BuildNumber: &bn, BuildDate: built, SourceCommit: &sc},
		})
	}
	return out
}

// GetVersion implements gen.StrictServerInterface.
func (h *Handlers) GetVersion(context.Context, gen.GetVersionRequestObject) (gen.GetVersionResponseObject, error) {
	b := h.build
	return gen.GetVersion200JSONResponse{Version: b.Version, BuildNumber: b.BuildNumber,
		BuildTime: b.BuildTime, SourceCommit: b.SourceCommit}, nil
}

// ListModules implements gen.StrictServerInterface.
func (h *Handlers) ListModules(context.Context, gen.ListModulesRequestObject) (gen.ListModulesResponseObject, error) {
	return gen.ListModules200JSONResponse(h.modules()), nil
}

// GetModule implements gen.StrictServerInterface.
func (h *Handlers) GetModule(_ context.Context, req gen.GetModuleRequestObject) (gen.GetModuleResponseObject, error) {
	for _, m := range h.modules() {
		if m.Id == req.Id {
			return gen.GetModule200JSONResponse(m), nil
		}
	}
	return gen.GetModule404JSONResponse{NotFoundJSONResponse: gen.NotFoundJSONResponse{
		Code: 404, Message: fmt.Sprintf("module %s not found", req.Id)}}, nil
}

// ListWorkers implements gen.StrictServerInterface.
func (h *Handlers) ListWorkers(context.Context, gen.ListWorkersRequestObject) (gen.ListWorkersResponseObject, error) {
	out := gen.ListWorkers200JSONResponse{}
	if h.svc.Workers == nil {
		return out, nil
	}
	for _, w := range h.svc.Workers.Stats() {
		out = append(out, gen.Worker{
			Id: int32(w.ID), Cpu: int32(w.CPU), Lcore: int32(w.Lcore),
			BusyLoops: int64(w.BusyLoops), IdleLoops: int64(w.IdleLoops), IdleSleeps: int64(w.IdleSleeps),
			RxInterrupts: w.RxInterrupts, InterruptSleeps: int64(w.IntrSleeps),
			RxPackets: int64(w.RxPackets), TxPackets: int64(w.TxPackets), TxDropped: int64(w.TxDropped),
			RxQueues: int32(w.RxQueues), Sources: int32(w.Sources),
		})
	}
	return out, nil
}
