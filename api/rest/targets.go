package rest

import (
	"fmt"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/resource"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/stack"
)

// maxFrameLen is the longest frame a generator may send, FCS included,
// without a jumbo pool: what one single-segment 2 KiB buffer holds.
const maxFrameLen = memory.DefaultBufSize - packetio.MbufHeadroom + generator.FCSLen

// Endpoints resolves the endpoint id of a generator (its target), an
// analyzer or a capture (their source): a port id first, then an
// interface id (OpenPerf lets either be named).
type Endpoints struct {
	Ports *packetio.Service
	Stack *stack.Stack
	// MaxFrameLen is the longest frame, FCS included, a generator may
	// send: memory.MaxJumboFrame with a jumbo pool; 0 for what a 2 KiB
	// buffer holds.
	MaxFrameLen int
}

var _ resource.Endpoints = Endpoints{}

// Endpoint implements resource.Endpoints.
func (e Endpoints) Endpoint(id string) (resource.Endpoint, error) {
	limit := e.maxFrameLen()
	if p, err := e.Ports.Port(id); err == nil {
		return resource.Endpoint{PortID: p.Info.ID, MAC: p.Info.MAC, MaxFrameLen: limit}, nil
	} else if !packetio.IsNotFound(err) {
		return resource.Endpoint{}, err
	}
	it, err := e.Stack.Get(id)
	if err != nil {
		return resource.Endpoint{}, err // packetio.ErrNotFound for an unknown id
	}
	if _, err := e.Ports.Port(it.PortID); err != nil {
		return resource.Endpoint{}, fmt.Errorf("interface %s: port %s: %w", id, it.PortID, err)
	}
	return resource.Endpoint{PortID: it.PortID, Interface: it.ID, MAC: it.Config.MAC, MaxFrameLen: limit}, nil
}

func (e Endpoints) maxFrameLen() int {
	if e.MaxFrameLen > 0 {
		return e.MaxFrameLen
	}
	return maxFrameLen
}
