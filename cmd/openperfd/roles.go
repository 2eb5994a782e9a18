package main

import (
	"fmt"
	"slices"

	"github.com/openperfd/openperfd/cmd/openperfd/config"
	"github.com/openperfd/openperfd/workers"
)

// workerRoles applies OpenPerf's --modules.packetio.dpdk.rx-worker-mask and
// tx-worker-mask to the worker CPUs and returns the workers to run (those
// the masks leave something to do) with their roles, or nil roles when no
// mask is given (every worker receives and transmits, openperfd's default).
//
// It follows OpenPerf's queue distribution (drivers/dpdk/queue_utils.cpp,
// topology_utils.cpp): the workers are those in either mask, a mask not
// given counting as all; a single worker does both; with one mask given,
// the workers outside it take the other direction; with both, each worker
// does what its CPU is in. Where OpenPerf would leave a direction without a
// worker (one mask covering all of them), the workers do both instead.
func workerRoles(cpus []int, rxMask, txMask string) ([]int, []workers.Role, error) {
	if rxMask == "" && txMask == "" {
		return cpus, nil, nil
	}
	rxSel, err := selected(rxMask)
	if err != nil {
		return nil, nil, fmt.Errorf("--modules.packetio.dpdk.rx-worker-mask: %w", err)
	}
	txSel, err := selected(txMask)
	if err != nil {
		return nil, nil, fmt.Errorf("--modules.packetio.dpdk.tx-worker-mask: %w", err)
	}
	var used []int
	for _, c := range cpus {
		if rxMask == "" || txMask == "" || rxSel[c] || txSel[c] {
			used = append(used, c)
		}
	}
	if len(used) == 0 {
		return nil, nil, fmt.Errorf("--modules.packetio.dpdk.rx-worker-mask %q and tx-worker-mask %q select none of the worker CPUs %v", rxMask, txMask, cpus)
	}
	roles := make([]workers.Role, len(used))
	for i, c := range used {
		switch {
		case len(used) == 1:
			roles[i] = workers.RoleBoth
		case rxMask != "" && txMask != "":
			if rxSel[c] {
				roles[i] |= workers.RoleRx
			}
			if txSel[c] {
				roles[i] |= workers.RoleTx
			}
		case rxMask != "": // only rx given: the rest transmit
			roles[i] = workers.RoleTx
			if rxSel[c] {
				roles[i] = workers.RoleRx
			}
		default: // only tx given: the rest receive
			roles[i] = workers.RoleRx
			if txSel[c] {
				roles[i] = workers.RoleTx
			}
		}
	}
	if !slices.ContainsFunc(roles, func(r workers.Role) bool { return r&workers.RoleRx != 0 }) ||
		!slices.ContainsFunc(roles, func(r workers.Role) bool { return r&workers.RoleTx != 0 }) {
		for i := range roles {
			roles[i] = workers.RoleBoth
		}
	}
	return used, roles, nil
}

// selected returns the CPUs a mask selects as a set; an empty set for ""
// (not given).
func selected(mask string) (map[int]bool, error) {
	set := map[int]bool{}
	if mask == "" {
		return set, nil
	}
	sel, err := config.CPUs(mask)
	if err != nil {
		return nil, err
	}
	for _, c := range sel {
		set[c] = true
	}
	return set, nil
}
