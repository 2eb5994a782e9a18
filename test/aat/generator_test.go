// Over 600 lines: the generator cases on the real binary share their traffic definitions and flow checks.

package aat

import (
	"fmt"
	"math"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/openperfd/openperfd/packet/generator"
)

// The generator's JSON, decoded by the tests themselves (the harness has
// already checked it against the spec).

type genCounters struct {
	PacketsActual   int64      `json:"packets_actual"`
	PacketsIntended int64      `json:"packets_intended"`
	PacketsDropped  int64      `json:"packets_dropped"`
	OctetsActual    int64      `json:"octets_actual"`
	OctetsIntended  int64      `json:"octets_intended"`
	OctetsDropped   int64      `json:"octets_dropped"`
	Errors          int64      `json:"errors"`
	TimestampFirst  *time.Time `json:"timestamp_first"`
	TimestampLast   *time.Time `json:"timestamp_last"`
}

type genResult struct {
	ID           string      `json:"id"`
	GeneratorID  string      `json:"generator_id"`
	Active       bool        `json:"active"`
	FlowCounters genCounters `json:"flow_counters"`
	Flows        []string    `json:"flows"`
	Protocols    struct {
		Ethernet  map[string]int64 `json:"ethernet"`
		IP        map[string]int64 `json:"ip"`
		Transport map[string]int64 `json:"transport"`
	} `json:"protocol_counters"`
	Remaining *struct {
		Unit  string `json:"unit"`
		Value *int64 `json:"value"`
	} `json:"remaining"`
}

type genInfo struct {
	ID       string `json:"id"`
	TargetID string `json:"target_id"`
	Active   bool   `json:"active"`
	Learning string `json:"learning"`
}

type txFlow struct {
	ID                string `json:"id"`
	GeneratorResultID string `json:"generator_result_id"`
	StreamID          *int64 `json:"stream_id"`
	Counters          struct {
		PacketsActual int64 `json:"packets_actual"`
		OctetsActual  int64 `json:"octets_actual"`
	} `json:"counters"`
}

// genConfig is a PacketGeneratorConfig: duration, a rate in frames per
// second with bursts of 32, and the traffic definitions.
func genConfig(duration map[string]any, fps int, traffic ...map[string]any) map[string]any {
	return map[string]any{
		"duration": duration,
		"load": map[string]any{"burst_size": 32, "units": "frames",
			"rate": map[string]any{"period": "second", "value": fps}},
		"traffic": traffic,
	}
}

// udpDef is an Ethernet/IPv4/UDP definition with the given length and
// optional modifiers on the IPv4 and UDP headers.
func udpDef(length map[string]any, tie string, ipMods, udpMods []map[string]any) map[string]any {
	ip := map[string]any{"ipv4": map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}}
	if len(ipMods) > 0 {
		ip["modifiers"] = map[string]any{"items": ipMods}
	}
	udp := map[string]any{"udp": map[string]any{}}
	if len(udpMods) > 0 {
		udp["modifiers"] = map[string]any{"items": udpMods}
	}
	packet := map[string]any{"protocols": []map[string]any{
		{"ethernet": map[string]any{"source": "10:00:00:00:00:01", "destination": "10:00:00:00:00:02"}}, ip, udp}}
	if tie != "" {
		packet["modifier_tie"] = tie
	}
	return map[string]any{"packet": packet, "length": length}
}

// createGenerator posts a generator for target and returns its id.
func createGenerator(t *testing.T, d *daemon, target string, config map[string]any) string {
	t.Helper()
	var g genInfo
	mustJSON(t, d.expect("POST", "/packet/generators", map[string]any{"target_id": target, "config": config}, 201), &g)
	if g.ID == "" || g.TargetID != target || g.Active {
		t.Fatalf("created generator %+v", g)
	}
	return g.ID
}

func startGenerator(t *testing.T, d *daemon, id string) genResult {
	t.Helper()
	var r genResult
	mustJSON(t, d.expect("POST", "/packet/generators/"+id+"/start", nil, 201), &r)
	if r.ID == "" || r.GeneratorID != id {
		t.Fatalf("start %s: result %+v", id, r)
	}
	return r
}

// runToCompletion starts a generator with a finite duration and returns
// its result once it is no longer active.
func runToCompletion(t *testing.T, d *daemon, id string) genResult {
	t.Helper()
	r := startGenerator(t, d, id)
	eventually(t, "generator "+id+" finishes", func() (bool, string) {
		d.get("/packet/generator-results/"+r.ID, &r)
		return !r.Active, fmt.Sprintf("%+v", r.FlowCounters)
	})
	var g genInfo
	d.get("/packet/generators/"+id, &g)
	if g.Active {
		t.Errorf("generator %s still active after its result finished", id)
	}
	return r
}

// TestGeneratorSendsExactlyTheFramesAsked runs a 10000-frame generator on
// port 0 of the ring pair and counts at port 1.
func TestGeneratorSendsExactlyTheFramesAsked(t *testing.T) {
	d := startDaemon(t, testMode)
	lengths := []int{64, 128, 256, 1024, 1518}
	const frames = 10000
	before := portStats(t, d, "1")
	config := genConfig(map[string]any{"frames": frames}, 100000, udpDef(map[string]any{"list": lengths}, "", nil, nil))
	config["protocol_counters"] = []string{"ethernet", "ip", "transport"}
	id := createGenerator(t, d, "0", config)
	res := runToCompletion(t, d, id)

	// Packet k uses length k mod 5, so each length goes 2000 times.
	var apiOctets int64
	for _, l := range lengths {
		apiOctets += int64(l) * frames / int64(len(lengths))
	}
	fc := res.FlowCounters
	if fc.PacketsActual != frames || fc.PacketsIntended != frames || fc.PacketsDropped != 0 || fc.Errors != 0 {
		t.Errorf("flow counters %+v, want %d actual and intended, none dropped", fc, frames)
	}
	// The result counts frame lengths as the API gives them: with the FCS.
	if fc.OctetsActual != apiOctets || fc.OctetsIntended != apiOctets {
		t.Errorf("octets actual %d intended %d, want %d (the sum of the configured lengths)", fc.OctetsActual, fc.OctetsIntended, apiOctets)
	}
	if fc.TimestampFirst == nil || fc.TimestampLast == nil || fc.TimestampLast.Before(*fc.TimestampFirst) {
		t.Errorf("timestamps first %v last %v", fc.TimestampFirst, fc.TimestampLast)
	}
	// Every frame is Ethernet carrying IPv4 carrying UDP, and nothing else.
	pc := res.Protocols
	for _, c := range []struct {
		name   string
		m      map[string]int64
		counts string
	}{{"ethernet", pc.Ethernet, "ip"}, {"ip", pc.IP, "ipv4"}, {"transport", pc.Transport, "udp"}} {
		for k, n := range c.m {
			if want := map[bool]int64{true: frames}[k == c.counts]; n != want {
				t.Errorf("protocol_counters.%s.%s = %d, want %d", c.name, k, n, want)
			}
		}
		if _, ok := c.m[c.counts]; !ok {
			t.Errorf("protocol_counters.%s has no %s: %v", c.name, c.counts, c.m)
		}
	}
	if res.Remaining != nil && res.Remaining.Unit == "frames" && res.Remaining.Value != nil && *res.Remaining.Value != 0 {
		t.Errorf("finished result has %d frames remaining", *res.Remaining.Value)
	}

	// Port counters count the mbuf, which DPDK's net_ring (like every PMD)
	// fills without the 4-byte FCS: rx_bytes grows by the configured
	// lengths minus 4 each.
	wireBytes := apiOctets - 4*frames
	var after = before
	eventually(t, "port 1 counts every frame", func() (bool, string) {
		after = portStats(t, d, "1")
		return after.RxPackets-before.RxPackets >= frames, fmt.Sprintf("%d frames", after.RxPackets-before.RxPackets)
	})
	time.Sleep(100 * time.Millisecond) // nothing more may come
	after = portStats(t, d, "1")
	if got := after.RxPackets - before.RxPackets; got != frames {
		t.Errorf("port 1 received %d frames, want exactly %d", got, frames)
	}
	if got := after.RxBytes - before.RxBytes; got != wireBytes {
		t.Errorf("port 1 received %d bytes, want %d (the configured lengths less the 4-byte FCS each)", got, wireBytes)
	}
	tx := portStats(t, d, "0")
	if tx.TxPackets != frames || tx.TxBytes != wireBytes {
		t.Errorf("port 0 sent %d frames %d bytes, want %d and %d", tx.TxPackets, tx.TxBytes, frames, wireBytes)
	}

	// The stored result and the generator agree afterwards.
	var list []genResult
	d.get("/packet/generator-results?generator_id="+id, &list)
	if len(list) != 1 || list[0].ID != res.ID || list[0].FlowCounters.PacketsActual != frames {
		t.Errorf("generator-results for %s: %+v", id, list)
	}
	var gens []genInfo
	d.get("/packet/generators", &gens)
	if len(gens) != 1 || gens[0].ID != id || gens[0].Active {
		t.Errorf("generators: %+v", gens)
	}

	// Started again, it sends the same frames again into a new result.
	res2 := runToCompletion(t, d, id)
	if res2.ID == res.ID || res2.FlowCounters.PacketsActual != frames {
		t.Errorf("second run: result %s (first %s), %d frames", res2.ID, res.ID, res2.FlowCounters.PacketsActual)
	}
	eventually(t, "port 1 counts the second run", func() (bool, string) {
		s := portStats(t, d, "1")
		return s.RxPackets-before.RxPackets == 2*frames && s.RxBytes-before.RxBytes == 2*wireBytes,
			fmt.Sprintf("%d frames %d bytes", s.RxPackets-before.RxPackets, s.RxBytes-before.RxBytes)
	})
	d.expect("DELETE", "/packet/generators/"+id, nil, 204)
	d.expect("GET", "/packet/generators/"+id, nil, 404)
}

// rxSample is a port's rx_packets at the midpoint of the GET that read it,
// which is off by up to half its round trip: on a loaded machine a round
// trip of 40 ms alone moves a 2 s rate by 1%, so a slow sample is taken
// again.
func rxSample(t *testing.T, d *daemon, port string) (int64, time.Time) {
	t.Helper()
	var n int64
	var at time.Time
	for try := 0; try < 20; try++ {
		t0 := time.Now()
		s := portStats(t, d, port)
		rtt := time.Since(t0)
		n, at = s.RxPackets, t0.Add(rtt/2)
		if rtt < 4*time.Millisecond {
			break
		}
	}
	return n, at
}

// TestGeneratorRateIsAccurate measures the rate at port 1 of the ring pair
// over 2 s of a continuous generator, and counts a 2 s time duration.
func TestGeneratorRateIsAccurate(t *testing.T) {
	for _, tc := range []struct {
		name          string
		units         string
		value, length int
		fps           int // the frame rate that means
	}{
		{"10000 frames/s", "frames", 10000, 64, 10000},
		{"1000000 frames/s", "frames", 1000000, 64, 1000000},
		// An octet rate counts whole frames, FCS included: 128-byte frames
		// at 12.8 MB/s are 100 kpps.
		{"12800000 octets/s", "octets", 12800000, 128, 100000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fps := tc.fps
			d := startDaemon(t, testMode)
			def := udpDef(map[string]any{"fixed": tc.length}, "", nil, nil)
			config := func(duration map[string]any) map[string]any {
				c := genConfig(duration, tc.value, def)
				c["load"].(map[string]any)["units"] = tc.units
				return c
			}
			id := createGenerator(t, d, "0", config(map[string]any{"continuous": true}))
			r := startGenerator(t, d, id)
			time.Sleep(200 * time.Millisecond) // past the start
			n0, t0 := rxSample(t, d, "1")
			time.Sleep(2 * time.Second)
			n1, t1 := rxSample(t, d, "1")
			d.expect("POST", "/packet/generators/"+id+"/stop", nil, 204)
			rate := float64(n1-n0) / t1.Sub(t0).Seconds()
			t.Logf("port 1: %d frames in %v: %.1f frames/s", n1-n0, t1.Sub(t0), rate)
			if math.Abs(rate-float64(fps)) > 0.01*float64(fps) {
				t.Errorf("port 1 received %.0f frames/s, want %d ±1%%", rate, fps)
			}
			d.get("/packet/generator-results/"+r.ID, &r)
			if r.Active {
				t.Errorf("result still active after stop")
			}
			fc := r.FlowCounters
			if fc.PacketsDropped != 0 || fc.PacketsActual == 0 {
				t.Errorf("continuous run: %+v", fc)
			}
			sentBefore := fc.PacketsActual
			d.expect("DELETE", "/packet/generators/"+id, nil, 204)

			// A 2 s time duration sends rate × 2 frames.
			id = createGenerator(t, d, "0", config(map[string]any{"time": map[string]any{"value": 2, "units": "seconds"}}))
			begin := time.Now()
			r = runToCompletion(t, d, id)
			took := time.Since(begin)
			t.Logf("2 s duration: %d frames (intended %d), done after %v", r.FlowCounters.PacketsActual, r.FlowCounters.PacketsIntended, took)
			want := 2 * float64(fps)
			if got := float64(r.FlowCounters.PacketsActual); math.Abs(got-want) > 0.01*want {
				t.Errorf("2 s at %d fps sent %.0f frames, want %.0f ±1%%", fps, got, want)
			}
			// What was intended is the schedule: frame k is due k/rate after
			// the start, so 2 s hold exactly rate × 2 of them (OpenPerf
			// turns a time duration into rate × time frames:
			// max_transmit_count in source_transmogrify.cpp).
			if r.FlowCounters.PacketsIntended != int64(want) {
				t.Errorf("2 s at %d fps: packets_intended %d, want exactly %.0f", fps, r.FlowCounters.PacketsIntended, want)
			}
			if took < 1900*time.Millisecond || took > 4*time.Second {
				t.Errorf("a 2 s generator ran for %v", took)
			}
			if f, l := r.FlowCounters.TimestampFirst, r.FlowCounters.TimestampLast; f == nil || l == nil {
				t.Errorf("no first and last timestamps: %+v", r.FlowCounters)
			} else if span := l.Sub(*f); span < 1980*time.Millisecond || span > 2020*time.Millisecond {
				t.Errorf("first to last frame %v, want 2 s ±1%%", span)
			}
			// Port 1 got exactly what both runs say they sent.
			eventually(t, "port 1 counts what the results say was sent", func() (bool, string) {
				got := portStats(t, d, "1").RxPackets
				return got == sentBefore+r.FlowCounters.PacketsActual, fmt.Sprintf("port 1 %d, results %d + %d", got, sentBefore, r.FlowCounters.PacketsActual)
			})
		})
	}
}

// udpTuple is what the modifier test looks at in a frame.
type udpTuple struct {
	Src, Dst string
	SrcPort  uint16
}

func decodeUDP(b []byte) (udpTuple, bool) {
	p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true, Lazy: true})
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip == nil || udp == nil {
		return udpTuple{}, false
	}
	return udpTuple{ip.SrcIP.String(), ip.DstIP.String(), uint16(udp.SrcPort)}, true
}

// TestModifiersMakeTheExpectedFlows captures the generator's frames on the
// kernel end of a veth pair and counts the distinct header tuples: each
// combination the modifiers make is one flow with its own signature stream,
// sent its share of the frames, and listed once in tx-flows.
func TestModifiersMakeTheExpectedFlows(t *testing.T) {
	v := newVethPeer(t)
	d := startDaemon(t, "-d", "--no-huge,--no-pci,--vdev=net_af_packet0,iface="+v.Host)
	c := startCapture(t, v)

	ips := func(n int) []map[string]any {
		return []map[string]any{genMod("source", "ipv4", genSeq(n, "198.18.0.1"))}
	}
	ports := func(p ...any) []map[string]any {
		return []map[string]any{genMod("source", "field", genList(p...))}
	}
	ip := func(i int) string { return net.IPv4(198, 18, 0, byte(1+i)).String() }
	fixed := map[string]any{"fixed": 128}
	const frames = 1200
	type tc struct {
		name string
		defs []map[string]any
		want map[udpTuple]int // every tuple that must appear, how often; nothing else may
		// permuted: the tuples do not first appear in address order
		permuted bool
	}
	cases := []tc{
		{name: "cartesian of 4 source addresses and 3 source ports", defs: []map[string]any{udpDef(fixed, "cartesian", ips(4), ports(1001, 1002, 1003))}},
		{name: "zip of 4 source addresses and 4 source ports", defs: []map[string]any{udpDef(fixed, "zip", ips(4), ports(1001, 1002, 1003, 1004))}},
		// OpenPerf zips to the LCM of the counts: address i mod 4 with port i mod 2.
		{name: "zip of 4 source addresses and 2 source ports", defs: []map[string]any{udpDef(fixed, "zip", ips(4), ports(1001, 1002))}},
		{name: "cartesian of source and destination in one header", defs: []map[string]any{func() map[string]any {
			d := udpDef(fixed, "", []map[string]any{
				genMod("source", "ipv4", genSeq(2, "198.18.0.1")), genMod("destination", "ipv4", genList("198.18.1.1", "198.18.1.2", "198.18.1.3"))}, nil)
			d["packet"].(map[string]any)["protocols"].([]map[string]any)[1]["modifiers"].(map[string]any)["tie"] = "cartesian"
			return d
		}()}},
		{name: "permuted sequence of 6 source addresses", permuted: true, defs: []map[string]any{func() map[string]any {
			m := genMod("source", "ipv4", genSeq(6, "198.18.0.1"))
			m["permute"] = true
			return udpDef(fixed, "", []map[string]any{m}, nil)
		}()}},
		{name: "two definitions weighted 1 and 3", defs: []map[string]any{udpDef(fixed, "", nil, nil), func() map[string]any {
			d := udpDef(fixed, "", nil, nil)
			d["packet"].(map[string]any)["protocols"].([]map[string]any)[1]["ipv4"].(map[string]any)["destination"] = "198.18.1.9"
			d["weight"] = 3
			return d
		}()}},
	}
	share := func(n int) int { return frames / n }
	for i := range cases {
		cases[i].want = map[udpTuple]int{}
	}
	for a := range 4 {
		for p := range 3 {
			cases[0].want[udpTuple{ip(a), "198.18.1.1", uint16(1001 + p)}] = share(12)
		}
		cases[1].want[udpTuple{ip(a), "198.18.1.1", uint16(1001 + a)}] = share(4)
		cases[2].want[udpTuple{ip(a), "198.18.1.1", uint16(1001 + a%2)}] = share(4)
	}
	for a := range 2 {
		for b := range 3 {
			cases[3].want[udpTuple{ip(a), fmt.Sprintf("198.18.1.%d", 1+b), 3357}] = share(6)
		}
	}
	for a := range 6 {
		cases[4].want[udpTuple{ip(a), "198.18.1.1", 3357}] = share(6)
	}
	cases[5].want[udpTuple{ip(0), "198.18.1.1", 3357}] = frames / 4
	cases[5].want[udpTuple{ip(0), "198.18.1.9", 3357}] = frames * 3 / 4

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d.t, c.t = t, t
			for i, def := range tc.defs {
				def["signature"] = map[string]any{"stream_id": 500 + 100*i, "latency": "end_of_frame"}
			}
			id := createGenerator(t, d, "0", genConfig(map[string]any{"frames": frames}, 20000, tc.defs...))
			res := runToCompletion(t, d, id)
			if res.FlowCounters.PacketsActual != frames {
				t.Errorf("packets_actual %d, want %d", res.FlowCounters.PacketsActual, frames)
			}
			got := map[udpTuple]int{}
			stream := map[udpTuple]uint32{} // each tuple is one flow: one stream id
			tuple := map[uint32]udpTuple{}
			var order []string // source addresses in order of first appearance
			bad := 0
			frameErr := func(format string, args ...any) { // the first few per-frame errors
				t.Helper()
				if bad++; bad <= 5 {
					t.Errorf(format, args...)
				}
			}
			for _, f := range framesMatching(c.waitFor(frames, fromMAC("10:00:00:00:00:01")), fromMAC("10:00:00:00:00:01")) {
				u, ok := decodeUDP(f.Data)
				if !ok {
					t.Fatalf("not an IPv4/UDP frame: % x", f.Data)
				}
				sig, ok := generator.FrameSpirent(f.Data)
				if !ok {
					t.Fatalf("frame without a signature: % x", f.Data)
				}
				if s, seen := stream[u]; seen && s != sig.StreamID {
					frameErr("tuple %v sent with stream ids %d and %d", u, s, sig.StreamID)
				}
				if o, seen := tuple[sig.StreamID]; seen && o != u {
					frameErr("stream %d carries tuples %v and %v", sig.StreamID, o, u)
				}
				if sig.Sequence != uint32(got[u]) || sig.Flags&generator.SigFlagEndOfFrame == 0 {
					frameErr("tuple %v frame %d: signature %+v", u, got[u], sig)
				}
				stream[u], tuple[sig.StreamID] = sig.StreamID, u
				if got[u] == 0 {
					order = append(order, u.Src)
				}
				got[u]++
			}
			if bad > 5 {
				t.Errorf("... %d frames were wrong", bad)
			}
			for u, n := range got {
				if tc.want[u] != n {
					t.Errorf("tuple %v sent %d times, want %d", u, n, tc.want[u])
				}
			}
			for u, n := range tc.want {
				if got[u] == 0 {
					t.Errorf("tuple %v never sent, want %d times", u, n)
				}
			}
			if tc.permuted && slices.IsSortedFunc(order, func(a, b string) int {
				return int(net.ParseIP(a).To4()[3]) - int(net.ParseIP(b).To4()[3])
			}) {
				t.Errorf("permute: the addresses came in order %v", order)
			}

			// One tx flow per combination, each counting what the wire saw.
			var flows []txFlow
			d.get("/packet/tx-flows?generator_id="+id, &flows)
			if len(flows) != len(tc.want) || len(res.Flows) != len(tc.want) {
				t.Errorf("%d tx-flows, result lists %d flows; want %d", len(flows), len(res.Flows), len(tc.want))
			}
			var sum int64
			for _, f := range flows {
				sum += f.Counters.PacketsActual
				if f.GeneratorResultID != res.ID {
					t.Errorf("tx-flow %+v: want result %s", f, res.ID)
				}
				if !slices.Contains(res.Flows, f.ID) {
					t.Errorf("tx-flow %s is not in the result's flows", f.ID)
				}
				if f.StreamID == nil {
					t.Errorf("tx-flow %s has no stream id", f.ID)
					continue
				}
				u, ok := tuple[uint32(*f.StreamID)]
				if !ok || f.Counters.PacketsActual != int64(got[u]) || f.Counters.OctetsActual != 128*f.Counters.PacketsActual {
					t.Errorf("tx-flow %s (stream %d, tuple %v) counters %+v; the wire saw %d frames of 128 bytes", f.ID, *f.StreamID, u, f.Counters, got[u])
				}
				delete(tuple, uint32(*f.StreamID)) // a second flow with the stream fails above
				var one txFlow
				d.get("/packet/tx-flows/"+f.ID, &one)
				if one.ID != f.ID || one.Counters != f.Counters {
					t.Errorf("GET tx-flows/%s: %+v, listed as %+v", f.ID, one, f)
				}
			}
			if sum != frames {
				t.Errorf("tx-flows sum to %d frames, want %d", sum, frames)
			}
			var onPort []txFlow
			d.get("/packet/tx-flows?target_id=0", &onPort)
			if len(onPort) != len(flows) {
				t.Errorf("tx-flows?target_id=0 lists %d flows, want %d", len(onPort), len(flows))
			}
			d.get("/packet/tx-flows?target_id=1", &onPort)
			if len(onPort) != 0 {
				t.Errorf("tx-flows?target_id=1 lists %d flows, want none", len(onPort))
			}
			d.expect("DELETE", "/packet/generators/"+id, nil, 204)
		})
	}
	d.t, c.t = t, t
	if n := c.drops(); n != 0 {
		t.Fatalf("the capture socket dropped %d frames; counts above prove nothing", n)
	}
}

// sigDef is an Ethernet/IPv4/UDP definition with one flow and a signature.
func sigDef(srcMAC string, stream int) map[string]any {
	return map[string]any{
		"packet": map[string]any{"protocols": []map[string]any{
			{"ethernet": map[string]any{"source": srcMAC, "destination": "10:00:00:00:00:02"}},
			{"ipv4": map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}},
			{"udp": map[string]any{}}}},
		"length":    map[string]any{"fixed": 128},
		"signature": map[string]any{"stream_id": stream, "latency": "start_of_frame"},
	}
}

// TestToggleContinuesSignatureSequences swaps a running generator for an
// idle one with the same stream and checks on the wire that the stream's
// sequence numbers run on without a gap or a repeat across the swap.
func TestToggleContinuesSignatureSequences(t *testing.T) {
	v := newVethPeer(t)
	d := startDaemon(t, "-d", "--no-huge,--no-pci,--vdev=net_af_packet0,iface="+v.Host)
	c := startCapture(t, v)
	const macA, macB = "10:00:00:00:0a:01", "10:00:00:00:0b:01"
	a := createGenerator(t, d, "0", genConfig(map[string]any{"continuous": true}, 10000, sigDef(macA, 7)))
	b := createGenerator(t, d, "0", genConfig(map[string]any{"continuous": true}, 10000, sigDef(macB, 7)))
	ra := startGenerator(t, d, a)
	time.Sleep(300 * time.Millisecond)
	var rb genResult
	mustJSON(t, d.expect("POST", "/packet/generators/x/toggle", map[string]any{"replace": a, "with": b}, 201), &rb)
	if rb.GeneratorID != b || !rb.Active {
		t.Fatalf("toggle result %+v, want an active result of %s", rb, b)
	}
	var ga, gb genInfo
	d.get("/packet/generators/"+a, &ga)
	d.get("/packet/generators/"+b, &gb)
	if ga.Active || !gb.Active {
		t.Fatalf("after toggle: %s active %v, %s active %v", a, ga.Active, b, gb.Active)
	}
	time.Sleep(300 * time.Millisecond)
	d.expect("POST", "/packet/generators/"+b+"/stop", nil, 204)
	d.get("/packet/generator-results/"+ra.ID, &ra)
	d.get("/packet/generator-results/"+rb.ID, &rb)
	sent := ra.FlowCounters.PacketsActual + rb.FlowCounters.PacketsActual
	if ra.FlowCounters.PacketsActual < 1000 || rb.FlowCounters.PacketsActual < 1000 {
		t.Fatalf("results %+v and %+v: want ~3000 frames each", ra.FlowCounters, rb.FlowCounters)
	}
	isGen := func(f []byte) bool { return fromMAC(macA)(f) || fromMAC(macB)(f) }
	frames := framesMatching(c.waitFor(int(sent), isGen), isGen)
	if int64(len(frames)) != sent {
		t.Fatalf("captured %d frames, the results say %d were sent", len(frames), sent)
	}
	switched := false
	for i, f := range frames {
		sig, ok := generator.FrameSpirent(f.Data)
		if !ok || sig.StreamID != 7 || sig.Sequence != uint32(i) {
			t.Fatalf("frame %d: signature %+v (ok %v), want stream 7 sequence %d", i, sig, ok, i)
		}
		fromB := fromMAC(macB)(f.Data)
		if switched && !fromB {
			t.Fatalf("frame %d comes from %s after %s had taken over", i, a, b)
		}
		if fromB && !switched {
			switched = true
			if int64(i) != ra.FlowCounters.PacketsActual {
				t.Errorf("%s took over at frame %d; %s says it sent %d", b, i, a, ra.FlowCounters.PacketsActual)
			}
		}
	}
	if c.drops() != 0 {
		t.Fatal("the capture dropped frames")
	}
}

// TestBulkOperationsActOnEveryGenerator starts, stops and deletes
// generators on both ports of the ring pair in bulk.
func TestBulkOperationsActOnEveryGenerator(t *testing.T) {
	d := startDaemon(t, testMode)
	mk := func(id, port string) map[string]any {
		return map[string]any{"id": id, "target_id": port,
			"config": genConfig(map[string]any{"continuous": true}, 10000, udpDef(map[string]any{"fixed": 100}, "", nil, nil))}
	}
	var created struct {
		Items []genInfo `json:"items"`
	}
	mustJSON(t, d.expect("POST", "/packet/generators/x/bulk-create", map[string]any{"items": []any{mk("g0", "0"), mk("g1", "1")}}, 200), &created)
	if len(created.Items) != 2 || created.Items[0].ID != "g0" || created.Items[1].ID != "g1" {
		t.Fatalf("bulk-create: %+v", created)
	}
	// All or nothing: a bad second item creates neither.
	bad := mk("g3", "0")
	bad["config"].(map[string]any)["traffic"] = []any{}
	d.expect("POST", "/packet/generators/x/bulk-create", map[string]any{"items": []any{mk("g2", "0"), bad}}, 400)
	d.expect("GET", "/packet/generators/g2", nil, 404)

	var started struct {
		Items []genResult `json:"items"`
	}
	mustJSON(t, d.expect("POST", "/packet/generators/x/bulk-start", map[string]any{"ids": []string{"g0", "g1"}}, 200), &started)
	if len(started.Items) != 2 || !started.Items[0].Active || !started.Items[1].Active {
		t.Fatalf("bulk-start: %+v", started)
	}
	b0, b1 := portStats(t, d, "0").RxPackets, portStats(t, d, "1").RxPackets
	eventually(t, "traffic both ways", func() (bool, string) {
		r0, r1 := portStats(t, d, "0").RxPackets-b0, portStats(t, d, "1").RxPackets-b1
		return r0 >= 1000 && r1 >= 1000, fmt.Sprintf("port 0 got %d, port 1 got %d", r0, r1)
	})
	// An active generator cannot be deleted; a bulk delete passes it over.
	d.expect("DELETE", "/packet/generators/g0", nil, 400)
	d.expect("POST", "/packet/generators/x/bulk-delete", map[string]any{"ids": []string{"g0", "nope"}}, 204)
	d.expect("GET", "/packet/generators/g0", nil, 200)

	d.expect("POST", "/packet/generators/x/bulk-stop", map[string]any{"ids": []string{"g0", "g1"}}, 204)
	var results []genResult
	d.get("/packet/generator-results", &results)
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	for _, r := range results {
		if r.Active || r.FlowCounters.PacketsActual < 1000 {
			t.Errorf("result after bulk-stop: %+v", r)
		}
	}
	// Stopped means stopped: the counters stay put.
	s0, s1 := portStats(t, d, "0").RxPackets, portStats(t, d, "1").RxPackets
	time.Sleep(100 * time.Millisecond)
	if n0, n1 := portStats(t, d, "0").RxPackets, portStats(t, d, "1").RxPackets; n0 != s0 || n1 != s1 {
		t.Errorf("traffic after bulk-stop: port 0 %d -> %d, port 1 %d -> %d", s0, n0, s1, n1)
	}
	d.expect("POST", "/packet/generators/x/bulk-delete", map[string]any{"ids": []string{"g0", "g1"}}, 204)
	var left []genInfo
	d.get("/packet/generators", &left)
	d.get("/packet/generator-results", &results)
	if len(left) != 0 || len(results) != 0 {
		t.Errorf("after bulk-delete: %d generators, %d results", len(left), len(results))
	}
}
