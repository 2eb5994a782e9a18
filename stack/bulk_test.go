package stack

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// nopDataplane stands in for the workers where no traffic flows.
type nopDataplane struct{}

func (nopDataplane) AddSink(string, packetio.Sink)           {}
func (nopDataplane) RemoveSink(string, packetio.Sink)        {}
func (nopDataplane) AddSource(string, packetio.Source) error { return nil }
func (nopDataplane) RemoveSource(packetio.Source)            {}
func (nopDataplane) Synchronize()                            {}
func (nopDataplane) Wake()                                   {}

func bulkItems(n int) []*Interface {
	items := make([]*Interface, n)
	for i := range items {
		items[i] = &Interface{ID: fmt.Sprintf("i%d", i), PortID: fmt.Sprint(i % 2), Config: Config{
			MAC:  [6]byte{0x02, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)},
			IPv4: &IPv4Config{Method: MethodStatic, Address: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), Prefix: 8},
		}}
	}
	return items
}

func TestBulkCreateScales(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	d := fake.New(1, 1, 64)
	s, err := New(d, nopDataplane{}, Options{Strategy: RxDirect})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, n := range bulkSizes() {
		t0 := time.Now()
		if _, err := s.Create(bulkItems(n), func(i int) string { return fmt.Sprintf("items[%d]", i) }); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d interfaces: %s", n, time.Since(t0))
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("i%d", i)
		}
		s.Delete(ids)
	}
}

// bulkSizes are the scale test's sizes; OPENPERFD_BULK=20000 profiles more.
func bulkSizes() []int {
	if n, err := strconv.Atoi(os.Getenv("OPENPERFD_BULK")); err == nil && n > 0 {
		return []int{n}
	}
	return []int{1000, 5000}
}
