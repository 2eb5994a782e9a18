package rest

import (
	"context"
	"fmt"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/stack/socket"
)

func socketJSON(st socket.Stats) gen.SocketStats {
	out := gen.SocketStats{
		Id: ptr(st.ID), Pid: ptr(st.PID), Sid: ptr(st.SID), IfIndex: ptr(st.IfIndex),
		Protocol: ptr(gen.SocketStatsProtocol(st.Protocol)), RxqBytes: ptr(st.RxqBytes), TxqBytes: ptr(st.TxqBytes),
		State: ptr(st.State), SendQueueLength: ptr(int32(0)),
		XRxDrops: ptr(int64(st.RxDrops)), XTxErrors: ptr(int64(st.TxErrors)),
	}
	if st.ProtocolID != 0 {
		out.ProtocolId = ptr(st.ProtocolID)
	}
	if st.InterfaceID != "" {
		out.XInterfaceId = ptr(st.InterfaceID)
	}
	if st.Local.IsValid() {
		out.LocalIpAddress, out.LocalPort = ptr(st.Local.Addr().String()), ptr(int32(st.Local.Port()))
	}
	if st.Remote.IsValid() {
		out.RemoteIpAddress, out.RemotePort = ptr(st.Remote.Addr().String()), ptr(int32(st.Remote.Port()))
	}
	return out
}

// ListSocketStats implements gen.StrictServerInterface.
func (h *Handlers) ListSocketStats(context.Context, gen.ListSocketStatsRequestObject) (gen.ListSocketStatsResponseObject, error) {
	out := gen.ListSocketStats200JSONResponse{}
	if h.svc.Sockets == nil {
		return out, nil
	}
	for _, st := range h.svc.Sockets.List() {
		out = append(out, socketJSON(st))
	}
	return out, nil
}

// GetSocketStats implements gen.StrictServerInterface.
func (h *Handlers) GetSocketStats(_ context.Context, req gen.GetSocketStatsRequestObject) (gen.GetSocketStatsResponseObject, error) {
	if h.svc.Sockets == nil {
		return nil, errNoSocket(req.Id)
	}
	st, err := h.svc.Sockets.Get(req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetSocketStats200JSONResponse(socketJSON(st)), nil
}

func errNoSocket(id string) error {
	return fmt.Errorf("socket %s: %w", id, packetio.ErrNotFound)
}
