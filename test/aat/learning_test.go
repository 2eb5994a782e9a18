package aat

import (
	"fmt"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
)

// learnGen is a generator on an interface whose ethernet header has no
// addresses: the source is the interface's MAC, the destination is learnt.
func learnGen(id, target string, frames int, ip map[string]any, mods ...map[string]any) map[string]any {
	ipProto := map[string]any{"ipv4": ip}
	if len(mods) > 0 {
		ipProto["modifiers"] = map[string]any{"items": mods}
	}
	return map[string]any{"id": id, "target_id": target, "config": map[string]any{
		"duration": map[string]any{"frames": frames},
		"load":     map[string]any{"burst_size": 16, "rate": map[string]any{"period": "second", "value": 100000}, "units": "frames"},
		"traffic": []any{map[string]any{
			"packet": map[string]any{"protocols": []any{
				map[string]any{"ethernet": map[string]any{}}, ipProto, map[string]any{"udp": map[string]any{}},
			}},
			"length": map[string]any{"fixed": 100},
		}},
	}}
}

func ifaceRx(t *testing.T, d *daemon, id string) int64 {
	var it gen.Interface
	d.get("/interfaces/"+id, &it)
	return it.Stats.RxPackets
}

func learning(t *testing.T, d *daemon, id string) gen.PacketGeneratorLearningResults {
	var l gen.PacketGeneratorLearningResults
	d.get("/packet/generators/"+id+"/learning", &l)
	return l
}

func TestGeneratorOnAnInterfaceLearnsDestinationMACs(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/interfaces", iface("src", "0", "02:00:00:00:1a:01", v4("10.77.0.1", 24, "10.77.0.254")), 201)
	for i, mac := range []string{"02:00:00:00:1b:01", "02:00:00:00:1b:02", "02:00:00:00:1b:03"} {
		d.expect("POST", "/interfaces", iface(fmt.Sprintf("dst%d", i), "1", mac, v4(fmt.Sprintf("10.77.0.%d", 10+i), 24, "")), 201)
	}
	d.expect("POST", "/interfaces", iface("gw", "1", "02:00:00:00:1c:01", v4("10.77.0.254", 24, "")), 201)

	// One destination on the subnet: ARP finds its MAC.
	d.expect("POST", "/packet/generators", learnGen("one", "src", 300,
		map[string]any{"destination": "10.77.0.10"}), 201)
	eventually(t, "learning resolves 10.77.0.10", func() (bool, string) {
		l := learning(t, d, "one")
		return l.ResolvedState == "resolved", fmt.Sprintf("%+v", l)
	})
	l := learning(t, d, "one")
	if l.Ipv4 == nil || len(*l.Ipv4) != 1 || (*l.Ipv4)[0].MacAddress == nil || *(*l.Ipv4)[0].MacAddress != "02:00:00:00:1b:01" {
		t.Fatalf("learning results %+v; want 10.77.0.10 at 02:00:00:00:1b:01", l)
	}
	before := ifaceRx(t, d, "dst0")
	d.expect("POST", "/packet/generators/one/start", nil, 201)
	eventually(t, "dst0 receives the 300 frames", func() (bool, string) {
		n := ifaceRx(t, d, "dst0") - before
		return n >= 300, fmt.Sprintf("%d frames", n)
	})

	// Three destinations by a modifier: every flow gets its own MAC.
	d.expect("POST", "/packet/generators", learnGen("three", "src", 300,
		map[string]any{"destination": "10.77.0.10"},
		map[string]any{"name": "destination", "permute": false, "ipv4": map[string]any{"list": []string{"10.77.0.10", "10.77.0.11", "10.77.0.12"}}}), 201)
	var before3 [3]int64
	for i := range before3 {
		before3[i] = ifaceRx(t, d, fmt.Sprintf("dst%d", i))
	}
	d.expect("POST", "/packet/generators/three/start", nil, 201) // waits for learning
	eventually(t, "each destination receives its 100 frames", func() (bool, string) {
		var got [3]int64
		ok := true
		for i := range got {
			got[i] = ifaceRx(t, d, fmt.Sprintf("dst%d", i)) - before3[i]
			ok = ok && got[i] >= 100
		}
		return ok, fmt.Sprintf("%v", got)
	})

	// Off the subnet: the gateway's MAC.
	d.expect("POST", "/packet/generators", learnGen("far", "src", 50, map[string]any{"destination": "192.0.2.7"}), 201)
	eventually(t, "learning resolves the gateway", func() (bool, string) {
		l := learning(t, d, "far")
		return l.ResolvedState == "resolved", fmt.Sprintf("%+v", l)
	})
	l = learning(t, d, "far")
	if (*l.Ipv4)[0].IpAddress != "10.77.0.254" || *(*l.Ipv4)[0].MacAddress != "02:00:00:00:1c:01" {
		t.Fatalf("off-subnet learning %+v; want the gateway 10.77.0.254 at 02:00:00:00:1c:01", *l.Ipv4)
	}

	// Nobody answers: timed_out, and start says why.
	d.expect("POST", "/packet/generators", learnGen("lost", "src", 50, map[string]any{"destination": "10.77.0.99"}), 201)
	if s := learning(t, d, "lost").ResolvedState; s != "resolving" {
		t.Errorf("learning right after create is %q, want resolving", s)
	}
	eventually(t, "learning times out", func() (bool, string) {
		l := learning(t, d, "lost")
		return l.ResolvedState == "timed_out", fmt.Sprintf("%+v", l)
	})
	d.expect("POST", "/packet/generators/lost/start", nil, 400)
	d.expect("POST", "/packet/generators/lost/learning/retry", nil, 204)
	if s := learning(t, d, "lost").ResolvedState; s != "resolving" {
		t.Errorf("learning after retry is %q, want resolving", s)
	}
	d.expect("POST", "/packet/generators/lost/learning/stop", nil, 204)
	if s := learning(t, d, "lost").ResolvedState; s != "unresolved" {
		t.Errorf("learning after stop is %q, want unresolved", s)
	}
	// Learning again from scratch works on an idle generator.
	d.expect("POST", "/packet/generators/one/learning/start", nil, 204)
	eventually(t, "learning resolves again", func() (bool, string) {
		l := learning(t, d, "one")
		return l.ResolvedState == "resolved", fmt.Sprintf("%+v", l)
	})
}

func TestGeneratorLearnsIPv6NextHopsWithND(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/interfaces", iface("src6", "0", "02:00:00:00:2a:01", v6("fd00:77::1", 64)), 201)
	d.expect("POST", "/interfaces", iface("dst6", "1", "02:00:00:00:2b:01", v6("fd00:77::2", 64)), 201)
	g := learnGen("v6", "src6", 200, nil)
	traffic := g["config"].(map[string]any)["traffic"].([]any)[0].(map[string]any)
	traffic["packet"].(map[string]any)["protocols"].([]any)[1] = map[string]any{"ipv6": map[string]any{"destination": "fd00:77::2"}}
	d.expect("POST", "/packet/generators", g, 201)
	eventually(t, "ND resolves fd00:77::2", func() (bool, string) {
		l := learning(t, d, "v6")
		return l.ResolvedState == "resolved", fmt.Sprintf("%+v", l)
	})
	l := learning(t, d, "v6")
	if l.Ipv6 == nil || len(*l.Ipv6) != 1 || *(*l.Ipv6)[0].MacAddress != "02:00:00:00:2b:01" || *(*l.Ipv6)[0].NextHopAddress != "fd00:77::2" {
		t.Fatalf("learning %+v", l)
	}
	before := ifaceRx(t, d, "dst6")
	d.expect("POST", "/packet/generators/v6/start", nil, 201)
	eventually(t, "dst6 receives the 200 frames", func() (bool, string) {
		n := ifaceRx(t, d, "dst6") - before
		return n >= 200, fmt.Sprintf("%d frames", n)
	})
}

// The IP destination modified together with a UDP port, every combination:
// each flow still goes to the MAC its own destination resolves to.
func TestGeneratorLearnsPerFlowWithOtherModifiers(t *testing.T) {
	d := startDaemon(t, testMode)
	d.expect("POST", "/interfaces", iface("src", "0", "02:00:00:00:2a:01", v4("10.78.0.1", 24, "")), 201)
	for i, mac := range []string{"02:00:00:00:2b:01", "02:00:00:00:2b:02"} {
		d.expect("POST", "/interfaces", iface(fmt.Sprintf("dst%d", i), "1", mac, v4(fmt.Sprintf("10.78.0.%d", 10+i), 24, "")), 201)
	}
	cfg := learnGen("mix", "src", 600, map[string]any{"destination": "10.78.0.10"},
		map[string]any{"name": "destination", "permute": false, "ipv4": map[string]any{"list": []string{"10.78.0.10", "10.78.0.11"}}})
	traffic := cfg["config"].(map[string]any)["traffic"].([]any)[0].(map[string]any)
	packet := traffic["packet"].(map[string]any)
	packet["modifier_tie"] = "cartesian"
	packet["protocols"].([]any)[2] = map[string]any{"udp": map[string]any{}, "modifiers": map[string]any{"items": []any{
		map[string]any{"name": "destination", "permute": false, "field": map[string]any{"list": []int{1000, 1001, 1002}}}}}}
	var g gen.PacketGenerator
	mustJSON(t, d.expect("POST", "/packet/generators", cfg, 201), &g)
	if len(g.Config.Traffic) != 1 {
		t.Fatalf("created %+v", g)
	}
	var before [2]int64
	for i := range before {
		before[i] = ifaceRx(t, d, fmt.Sprintf("dst%d", i))
	}
	d.expect("POST", "/packet/generators/mix/start", nil, 201) // waits for learning
	eventually(t, "each destination receives its 300 frames", func() (bool, string) {
		var got [2]int64
		ok := true
		for i := range got {
			got[i] = ifaceRx(t, d, fmt.Sprintf("dst%d", i)) - before[i]
			ok = ok && got[i] >= 300
		}
		return ok, fmt.Sprintf("%v", got)
	})
}
