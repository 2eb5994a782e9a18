// Package noports is a packetio.Driver without ports or buffers, for a
// daemon started without packet I/O (OpenPerf's
// --modules.packetio.dpdk.no-init, or an empty --modules.packetio.cpu-mask):
// DPDK is not initialised, /ports is empty, and everything that needs a
// port answers as it does for an unknown one. It is safe for concurrent use
// (it has no state).
package noports

import (
	"fmt"

	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packetio"
)

// Driver is a driver with no ports.
type Driver struct{}

var _ packetio.Driver = Driver{}

// Ports implements packetio.Driver: there are none.
func (Driver) Ports() []packetio.Port { return nil }

// Pool implements packetio.Driver with a pool that has no buffers.
func (Driver) Pool() packetio.Pool { return emptyPool{} }

// Pools implements packetio.Driver: there are none. The list is empty, not
// nil, because the API shows it as a JSON array, which may not be null.
func (Driver) Pools() []memory.PoolStats { return []memory.PoolStats{} }

// NewBurst implements packetio.Driver; the array is Go memory, which
// nothing hands to C since there are no ports.
func (Driver) NewBurst() packetio.Burst {
	return packetio.NewBurstFrom(make([]*packetio.Mbuf, packetio.TxBurstSize), nil)
}

// Stop implements packetio.Driver: no port exists.
func (Driver) Stop(id string) error { return notFound(id) }

// Start implements packetio.Driver: no port exists.
func (Driver) Start(id string) error { return notFound(id) }

// ConfigureLink implements packetio.Driver: no port exists.
func (Driver) ConfigureLink(id string, _ packetio.LinkConfig) error { return notFound(id) }

// CreateBond implements packetio.Driver: there is nothing to bond.
func (Driver) CreateBond(id string, _ packetio.BondConfig) (packetio.Port, error) {
	return nil, fmt.Errorf("bond %s: packet I/O is not initialised: %w", id, packetio.ErrInvalid)
}

// DeleteBond implements packetio.Driver: no port exists.
func (Driver) DeleteBond(id string) error { return notFound(id) }

// Close implements packetio.Driver.
func (Driver) Close() error { return nil }

func notFound(id string) error {
	return fmt.Errorf("port %s: packet I/O is not initialised: %w", id, packetio.ErrNotFound)
}

// emptyPool never has a buffer to give.
type emptyPool struct{}

func (emptyPool) Alloc([]*packetio.Mbuf) bool { return false }
func (emptyPool) Free([]*packetio.Mbuf)       {}
func (emptyPool) Stats() memory.PoolStats     { return memory.PoolStats{Name: "none"} }
