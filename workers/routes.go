package workers

import (
	"fmt"

	"github.com/openperfd/openperfd/packetio"
)

// Role says which directions a worker serves. OpenPerf's
// --modules.packetio.dpdk.rx-worker-mask and tx-worker-mask split its
// workers this way; without them every worker does both.
type Role uint8

// Worker roles; a worker has at least one.
const (
	RoleRx   Role = 1 << iota // polls receive queues
	RoleTx                    // runs sources and transmits
	RoleBoth = RoleRx | RoleTx
)

// checkRoles validates Config.Roles against the worker count: nil means
// every worker does both; otherwise one role per worker, none empty, and
// at least one worker for each direction.
func checkRoles(roles []Role, n int) error {
	if roles == nil {
		return nil
	}
	if len(roles) != n {
		return fmt.Errorf("workers: %d roles for %d workers", len(roles), n)
	}
	var all Role
	for i, r := range roles {
		if r&RoleBoth == 0 || r&^RoleBoth != 0 {
			return fmt.Errorf("workers: worker %d has no valid role (%d)", i, r)
		}
		all |= r
	}
	if all != RoleBoth {
		return fmt.Errorf("workers: no worker serves %s", map[Role]string{RoleRx: "transmit", RoleTx: "receive"}[all])
	}
	return nil
}

// has reports whether worker i has role r.
func (w *Workers) has(i int, r Role) bool {
	return w.cfg.Roles == nil || w.cfg.Roles[i]&r != 0
}

// routesLocked maps every port id whose traffic the workers carry to the
// attached port that carries it: an attached port carries its own, and an
// attached bond that of its members, which are taken off the workers while
// bonded. So an interface, generator or analyzer on a bond member keeps
// its port id and its frames go in and out through the bond (OpenPerf
// leaves members polled and the bond idle; polling a member under a
// running DPDK bond would steal the bond's frames, so here the bond
// serves them). w.mu is held.
func (w *Workers) routesLocked() map[string]packetio.Port {
	r := make(map[string]packetio.Port, len(w.ports))
	for _, p := range w.ports {
		r[p.Info().ID] = p
	}
	for _, p := range w.ports {
		info := p.Info()
		if info.Bond == nil {
			continue
		}
		for _, m := range info.Bond.Members {
			if _, attached := r[m]; !attached {
				r[m] = p
			}
		}
	}
	return r
}

// carriedBy lists the ids whose traffic port p carries: its own first,
// then its bond members'.
func carriedBy(p packetio.Port, routes map[string]packetio.Port) []string {
	info := p.Info()
	ids := []string{info.ID}
	if info.Bond != nil {
		for _, m := range info.Bond.Members {
			if routes[m] == p {
				ids = append(ids, m)
			}
		}
	}
	return ids
}

// rxWorker picks the worker that polls receive queue q of port p. A bond's
// queue q stays with worker q whatever the roles: the bond's RxBurst also
// flushes its transmit queue q (LACP), which worker q owns.
func (w *Workers) rxWorker(info packetio.PortInfo, q int) int {
	nw := len(w.workers)
	if info.Kind == packetio.KindBond || w.cfg.Roles == nil {
		return q % nw
	}
	var rx []int
	for i := range w.workers {
		if w.has(i, RoleRx) {
			rx = append(rx, i)
		}
	}
	return rx[q%len(rx)]
}

// txWorkers lists the workers that may run a source on port p: worker i
// transmits on queue i, so only those with a queue, and of those the ones
// with the transmit role; when none has it (a port with fewer queues than
// workers), any with a queue, since roles are a preference and a source
// must run somewhere.
func (w *Workers) txWorkers(info packetio.PortInfo) []int {
	ntx := min(info.TxQueues, len(w.workers))
	var out, withQueue []int
	for i := range ntx {
		withQueue = append(withQueue, i)
		if w.has(i, RoleTx) {
			out = append(out, i)
		}
	}
	switch {
	case len(out) > 0:
		return out
	case len(withQueue) > 0:
		return withQueue
	}
	return []int{0} // a port without transmit queues: as before roles, worker 0

}
