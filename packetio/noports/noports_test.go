package noports

import (
	"testing"

	"github.com/openperfd/openperfd/packetio"
)

func TestNoPortsDriverHasNothingAndSaysNotFound(t *testing.T) {
	var d Driver
	if len(d.Ports()) != 0 || d.Pools() == nil || len(d.Pools()) != 0 {
		t.Fatal("a driver without ports lists some, or pools as nil (the API would show null)")
	}
	if d.Pool().Alloc(make([]*packetio.Mbuf, 1)) {
		t.Fatal("the empty pool handed out a buffer")
	}
	if b := d.NewBurst(); len(b.Pkts) != packetio.TxBurstSize {
		t.Fatalf("burst of %d", len(b.Pkts))
	}
	for name, err := range map[string]error{
		"stop": d.Stop("port0"), "start": d.Start("port0"), "link": d.ConfigureLink("port0", packetio.LinkConfig{}),
		"delete bond": d.DeleteBond("b"),
	} {
		if !packetio.IsNotFound(err) {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
	if _, err := d.CreateBond("b", packetio.BondConfig{}); !packetio.IsInvalid(err) {
		t.Errorf("create bond: %v, want invalid", err)
	}
}
