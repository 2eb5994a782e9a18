package aat

import (
	"fmt"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

const testMode = "--modules.packetio.dpdk.test-mode"

func portStats(t *testing.T, d *daemon, id string) gen.PortStats {
	t.Helper()
	var p gen.Port
	d.get("/ports/"+id, &p)
	if p.Stats == nil {
		t.Fatalf("port %s has no stats", id)
	}
	return *p.Stats
}

func TestTestModeGivesTwoWiredPortsWithSchemaCorrectJSON(t *testing.T) {
	d := startDaemon(t, testMode)
	var ports []gen.Port
	d.get("/ports", &ports) // the harness validates it against the spec
	if len(ports) != 2 {
		t.Fatalf("got %d ports, want 2", len(ports))
	}
	for i, p := range ports {
		if p.Id == nil || *p.Id != fmt.Sprint(i) {
			t.Errorf("port %d id %v, want %q (OpenPerf numbers ports by DPDK index)", i, p.Id, fmt.Sprint(i))
		}
		if p.Kind != gen.PortKindDpdk {
			t.Errorf("port %d kind %s", i, p.Kind)
		}
		if p.Status == nil || p.Status.Link != gen.PortStatusLinkUp {
			t.Errorf("port %d status %+v, want link up", i, p.Status)
		}
		if p.Config.Dpdk == nil || p.Config.Dpdk.Driver == nil || *p.Config.Dpdk.Driver != "net_ring" {
			t.Errorf("port %d config %+v, want driver net_ring", i, p.Config.Dpdk)
		}
		if mac := p.Config.Dpdk.MacAddress; mac == nil || *mac == "00:00:00:00:00:00" {
			t.Errorf("port %d has no MAC address", i)
		}
		// net_ring verifies no checksums: the list is there and empty.
		if o := p.Config.Dpdk.XRxChecksumOffload; o == nil || len(*o) != 0 {
			t.Errorf("port %d x_rx_checksum_offload %v, want []", i, o)
		}
		// net_ring has no rx interrupts: polled.
		if x := p.Config.Dpdk.XRxInterrupts; x == nil || *x {
			t.Errorf("port %d x_rx_interrupts %v, want false", i, x)
		}
	}
	var kindFiltered []gen.Port
	d.get("/ports?kind=bond", &kindFiltered)
	if len(kindFiltered) != 0 {
		t.Errorf("kind=bond listed %d ports", len(kindFiltered))
	}
	d.get("/ports?kind=dpdk", &kindFiltered)
	if len(kindFiltered) != 2 {
		t.Errorf("kind=dpdk listed %d ports, want 2", len(kindFiltered))
	}
}

func TestStatsMoveWhenFramesCrossAPortPair(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": 5000, "length": 128}, 202)
	eventually(t, "port 1 counts 5000 frames in", func() (bool, string) {
		s := portStats(t, d, "1")
		return s.RxPackets == 5000, fmt.Sprintf("%+v", s)
	})
	rx := portStats(t, d, "1")
	tx := portStats(t, d, "0")
	if rx.RxBytes != 5000*128 {
		t.Errorf("port 1 rx_bytes %d, want %d", rx.RxBytes, 5000*128)
	}
	if tx.TxPackets != 5000 || tx.TxBytes != 5000*128 {
		t.Errorf("port 0 tx %d packets %d bytes, want 5000 and %d", tx.TxPackets, tx.TxBytes, 5000*128)
	}
	if tx.RxPackets != 0 || rx.TxPackets != 0 {
		t.Errorf("traffic went the wrong way: port0 rx %d, port1 tx %d", tx.RxPackets, rx.TxPackets)
	}

	// And back the other way, with the default length of 64.
	d.expect("POST", "/ports/1/x/test-frames", map[string]any{"count": 7}, 202)
	eventually(t, "port 0 counts 7 frames in", func() (bool, string) {
		s := portStats(t, d, "0")
		return s.RxPackets == 7 && s.RxBytes == 7*64, fmt.Sprintf("%+v", s)
	})
}

func TestModulesListWhatWorks(t *testing.T) {
	d := startDaemon(t, testMode)
	var mods []gen.Module
	d.get("/modules", &mods)
	var ids []string
	for _, m := range mods {
		ids = append(ids, m.Id)
		if m.Linkage != gen.ModuleLinkageStatic {
			t.Errorf("module %s linkage %s", m.Id, m.Linkage)
		}
	}
	if fmt.Sprint(ids) != "[packetio packet-stack packet-generator packet-analyzer packet-capture tvlp]" {
		t.Fatalf("modules %v, want [packetio packet-stack packet-generator packet-analyzer packet-capture tvlp]", ids)
	}
	var m gen.Module
	d.get("/modules/packet-generator", &m)
	d.expect("GET", "/modules/packet-nope", nil, 404)
	var v gen.Version
	d.get("/version", &v)
	if v.Version == "" {
		t.Fatal("empty version")
	}
}

func TestBadRequestsGetClearErrors(t *testing.T) {
	d := startDaemon(t, testMode)
	cases := []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"unknown port", "GET", "/ports/nope", nil, 404},
		{"unknown path", "GET", "/no/such/path", nil, 404},
		{"delete unknown port", "DELETE", "/ports/nope", nil, 204},
		{"delete malformed port id", "DELETE", "/ports/No_Pe", nil, 404},
		{"wrong method on a port", "PATCH", "/ports/0", nil, 405},
		{"wrong method on the list", "DELETE", "/ports", nil, 405},
		{"wrong method on version", "POST", "/version", nil, 405},
		{"delete a DPDK port", "DELETE", "/ports/0", nil, 400},
		{"create a dpdk port", "POST", "/ports", map[string]any{"kind": "dpdk", "config": map[string]any{"dpdk": map[string]any{"link": map[string]any{"auto_negotiation": true}}}}, 400},
		{"create a host port", "POST", "/ports", map[string]any{"kind": "host", "config": map[string]any{}}, 400},
		{"bogus kind", "POST", "/ports", map[string]any{"kind": "bogus", "config": map[string]any{}}, 400},
		{"not JSON", "POST", "/ports", "{kind: bond", 400},
		{"empty body", "POST", "/ports", "", 400},
		{"bond without members", "POST", "/ports", map[string]any{"kind": "bond", "config": map[string]any{"bond": map[string]any{"mode": "lag_802_3_ad", "ports": []string{}}}}, 400},
		{"bond with unknown member", "POST", "/ports", map[string]any{"kind": "bond", "config": map[string]any{"bond": map[string]any{"mode": "lag_802_3_ad", "ports": []string{"9"}}}}, 400},
		{"bond with bad mode", "POST", "/ports", map[string]any{"kind": "bond", "config": map[string]any{"bond": map[string]any{"mode": "round_robin", "ports": []string{"0"}}}}, 400},
		{"kind filter bogus", "GET", "/ports?kind=bogus", nil, 200},
		{"update changes kind", "PUT", "/ports/0", map[string]any{"kind": "bond", "config": map[string]any{}}, 400},
		{"update fixed link without speed", "PUT", "/ports/0", map[string]any{"kind": "dpdk", "config": map[string]any{"dpdk": map[string]any{"link": map[string]any{"auto_negotiation": false}}}}, 400},
		{"update unknown port", "PUT", "/ports/nope", map[string]any{"kind": "dpdk", "config": map[string]any{}}, 404},
		{"test frames count 0", "POST", "/ports/0/x/test-frames", map[string]any{"count": 0}, 400},
		{"test frames too short", "POST", "/ports/0/x/test-frames", map[string]any{"count": 1, "length": 10}, 400},
		{"test frames bad MAC", "POST", "/ports/0/x/test-frames", map[string]any{"count": 1, "destination_mac": "zz"}, 400},
		{"test frames unknown port", "POST", "/ports/nope/x/test-frames", map[string]any{"count": 1}, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d.t = t
			d.expect(c.method, c.path, c.body, c.want)
		})
	}
	// Nothing above changed the ports.
	var ports []gen.Port
	d.t = t
	d.get("/ports", &ports)
	if len(ports) != 2 {
		t.Fatalf("after bad requests: %d ports", len(ports))
	}
}

func TestLinkSettingsCanBeUpdated(t *testing.T) {
	d := startDaemon(t, testMode)
	body := map[string]any{"kind": "dpdk", "config": map[string]any{"dpdk": map[string]any{
		"link":                  map[string]any{"auto_negotiation": false, "speed": 1000, "duplex": "full"},
		"x_rx_checksum_offload": []string{"ipv4"}}}} // reported, not set: ignored
	var p gen.Port
	out := d.expect("PUT", "/ports/0", body, 200)
	mustJSON(t, out, &p)
	l := p.Config.Dpdk.Link
	if l.AutoNegotiation || l.Speed == nil || *l.Speed != 1000 {
		t.Fatalf("link after PUT %+v", l)
	}
	if o := p.Config.Dpdk.XRxChecksumOffload; o == nil || len(*o) != 0 {
		t.Fatalf("x_rx_checksum_offload after PUT %v, want [] (net_ring has none)", o)
	}
	// The port still carries traffic after being reconfigured.
	d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": 100}, 202)
	eventually(t, "traffic after reconfiguration", func() (bool, string) {
		s := portStats(t, d, "1")
		return s.RxPackets == 100, fmt.Sprintf("%+v", s)
	})
}

func TestBondPortsAreCreatedAndDeleted(t *testing.T) {
	d := startDaemon(t, testMode, "--modules.packetio.dpdk.test-portpairs", "2")
	var ports []gen.Port
	d.get("/ports", &ports)
	if len(ports) != 4 {
		t.Fatalf("%d ports with 2 pairs, want 4", len(ports))
	}
	bond := map[string]any{"id": "bond0", "kind": "bond", "config": map[string]any{
		"bond": map[string]any{"mode": "lag_802_3_ad", "ports": []string{"2", "3"}}}}
	var b gen.Port
	mustJSON(t, d.expect("POST", "/ports", bond, 201), &b)
	if b.Id == nil || *b.Id != "bond0" || b.Kind != gen.PortKindBond || b.Config.Bond == nil || len(b.Config.Bond.Ports) != 2 {
		t.Fatalf("created %+v", b)
	}
	d.expect("POST", "/ports", bond, 400) // same id again
	var bonds []gen.Port
	d.get("/ports?kind=bond", &bonds)
	if len(bonds) != 1 {
		t.Fatalf("kind=bond lists %d", len(bonds))
	}
	// A bonded member cannot join a second bond.
	other := map[string]any{"kind": "bond", "config": map[string]any{"bond": map[string]any{"mode": "lag_802_3_ad", "ports": []string{"2"}}}}
	d.expect("POST", "/ports", other, 400)

	d.expect("DELETE", "/ports/bond0", nil, 204)
	d.expect("GET", "/ports/bond0", nil, 404)
	// The members are back in service.
	d.expect("POST", "/ports/2/x/test-frames", map[string]any{"count": 50}, 202)
	eventually(t, "member ports carry traffic again", func() (bool, string) {
		s := portStats(t, d, "3")
		return s.RxPackets >= 50, fmt.Sprintf("%+v", s)
	})
	// A bond without an id gets one.
	var auto gen.Port
	mustJSON(t, d.expect("POST", "/ports", other, 201), &auto)
	if auto.Id == nil || len(*auto.Id) < 8 {
		t.Fatalf("server-made id %v", auto.Id)
	}
}

func TestWorkersReportBusyAndIdleLoops(t *testing.T) {
	d := startDaemon(t, testMode)
	var ws []gen.Worker
	d.get("/x/workers", &ws)
	if len(ws) == 0 {
		t.Fatal("no workers listed")
	}
	if ws[0].RxQueues < 1 || ws[0].Lcore < 0 {
		t.Fatalf("worker 0 %+v: want rx queues and a registered lcore", ws[0])
	}
	d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": 20000}, 202)
	eventually(t, "workers count the traffic", func() (bool, string) {
		d.get("/x/workers", &ws)
		var rx, tx, busy, idle int64
		for _, w := range ws {
			rx, tx, busy, idle = rx+w.RxPackets, tx+w.TxPackets, busy+w.BusyLoops, idle+w.IdleLoops
		}
		return rx == 20000 && tx == 20000 && busy > 0 && idle > 0, fmt.Sprintf("%+v", ws)
	})
}
