package main

import (
	"fmt"

	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/stack"
)

// targets resolves a generator's target id: a port id first, then an
// interface id (OpenPerf lets target_id be either).
type targets struct {
	ports *packetio.Service
	stack *stack.Stack
}

func (t targets) Target(id string) (generator.Target, error) {
	if p, err := t.ports.Port(id); err == nil {
		return generator.Target{PortID: p.Info.ID, MAC: p.Info.MAC}, nil
	} else if !packetio.IsNotFound(err) {
		return generator.Target{}, err
	}
	it, err := t.stack.Get(id)
	if err != nil {
		if stack.IsNotFound(err) {
			return generator.Target{}, fmt.Errorf("target %s: %w", id, generator.ErrNotFound)
		}
		return generator.Target{}, err
	}
	if _, err := t.ports.Port(it.PortID); err != nil {
		return generator.Target{}, fmt.Errorf("interface %s: port %s: %w", id, it.PortID, err)
	}
	return generator.Target{PortID: it.PortID, Interface: it.ID, MAC: it.Config.MAC}, nil
}
