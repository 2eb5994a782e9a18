package rest

import (
	"errors"
	"fmt"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packet/analyzer"
	"github.com/openperfd/openperfd/packet/capture"
	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/stack"
)

// maxFrameLen is the longest frame a generator may send, FCS included:
// what one single-segment buffer holds.
const maxFrameLen = memory.DefaultBufSize - 128 + generator.FCSLen

// Targets resolves a generator's target id: a port id first, then an
// interface id (OpenPerf lets target_id be either).
type Targets struct {
	Ports *packetio.Service
	Stack *stack.Stack
}

// Target implements generator.Targets.
func (t Targets) Target(id string) (generator.Target, error) {
	if p, err := t.Ports.Port(id); err == nil {
		return generator.Target{PortID: p.Info.ID, MAC: p.Info.MAC, MaxFrameLen: maxFrameLen}, nil
	} else if !packetio.IsNotFound(err) {
		return generator.Target{}, err
	}
	it, err := t.Stack.Get(id)
	if err != nil {
		if stack.IsNotFound(err) {
			return generator.Target{}, fmt.Errorf("target %s: %w", id, generator.ErrNotFound)
		}
		return generator.Target{}, err
	}
	if _, err := t.Ports.Port(it.PortID); err != nil {
		return generator.Target{}, fmt.Errorf("interface %s: port %s: %w", id, it.PortID, err)
	}
	return generator.Target{PortID: it.PortID, Interface: it.ID, MAC: it.Config.MAC, MaxFrameLen: maxFrameLen}, nil
}

// Source implements analyzer.Sources with the same lookup.
func (t Targets) Source(id string) (analyzer.Source, error) {
	tg, err := t.Target(id)
	if errors.Is(err, generator.ErrNotFound) {
		return analyzer.Source{}, fmt.Errorf("source %s: %w", id, analyzer.ErrNotFound)
	}
	if err != nil {
		return analyzer.Source{}, err
	}
	return analyzer.Source{PortID: tg.PortID, Interface: tg.Interface, MAC: tg.MAC}, nil
}

// CaptureSource implements capture.Sources with the same lookup.
type CaptureSource struct{ Targets }

// Source implements capture.Sources.
func (t CaptureSource) Source(id string) (capture.Source, error) {
	tg, err := t.Target(id)
	if errors.Is(err, generator.ErrNotFound) {
		return capture.Source{}, fmt.Errorf("source %s: %w", id, capture.ErrNotFound)
	}
	if err != nil {
		return capture.Source{}, err
	}
	return capture.Source{PortID: tg.PortID, Interface: tg.Interface, MAC: tg.MAC}, nil
}
