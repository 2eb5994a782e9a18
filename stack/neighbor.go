package stack

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"gvisor.dev/gvisor/pkg/tcpip"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
)

// errNeighborLayout says the pinned gVisor no longer has the fields
// shrinkNeighborCaches reaches for; TestNeighborCachesShrink fails on it,
// so a gVisor upgrade that moves them is noticed.
var errNeighborLayout = errors.New("gVisor's neighbour cache is not where this version expects it")

// shrinkNeighborCaches swaps the neighbour-cache maps of NIC id for empty
// ones and returns how many it swapped.
//
// gVisor makes every NIC's ARP and NDP caches with room for 512 entries
// (stack.NeighborCacheSize) up front: about 39 KB per NIC, over 80% of an
// emulated interface's memory. An emulated host talks to a handful of
// neighbours, so an empty map that grows on demand holds the same
// entries; the 512 limit is enforced by a counter, not by the map's size.
// gVisor exports no option for this, hence reflection into its unexported
// fields (gvisor.dev/gvisor is pinned in go.mod). Caches that already hold
// entries are left alone. Call it on a disabled NIC that nothing else
// can reach yet; the cache's own lock is still taken, so the swap is
// ordered before any later use.
func shrinkNeighborCaches(gv *gvstack.Stack, id tcpip.NICID) (int, error) {
	nic, e := gv.GetNICByID(id)
	if e != nil {
		return 0, fmt.Errorf("NIC %d: %s", id, e)
	}
	resolvers := reflect.ValueOf(nic).Elem().FieldByName("linkAddrResolvers")
	if resolvers.Kind() != reflect.Map {
		return 0, errNeighborLayout
	}
	n := 0
	for it := resolvers.MapRange(); it.Next(); {
		lr := it.Value()
		if lr.Kind() != reflect.Pointer || lr.IsNil() || lr.Elem().Kind() != reflect.Struct {
			return n, errNeighborLayout
		}
		neigh := lr.Elem().FieldByName("neigh")
		if neigh.Kind() != reflect.Struct {
			return n, errNeighborLayout
		}
		mu := neigh.FieldByName("mu")
		if mu.Kind() != reflect.Struct || !mu.CanAddr() {
			return n, errNeighborLayout
		}
		cache := mu.FieldByName("cache")
		if cache.Kind() != reflect.Map {
			return n, errNeighborLayout
		}
		// NewAt lifts the read-only flag reflect puts on unexported fields.
		lock, ok := reflect.NewAt(mu.Type(), unsafe.Pointer(mu.UnsafeAddr())).Interface().(sync.Locker)
		if !ok {
			return n, errNeighborLayout
		}
		w := reflect.NewAt(cache.Type(), unsafe.Pointer(cache.UnsafeAddr())).Elem()
		lock.Lock()
		if w.Len() == 0 {
			w.Set(reflect.MakeMap(cache.Type()))
			n++
		}
		lock.Unlock()
	}
	return n, nil
}
