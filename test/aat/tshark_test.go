package aat

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/openperfd/openperfd/packet/generator"
	"github.com/openperfd/openperfd/packet/signature/spirent"
)

// requireTool fails (CI) or skips when a program the test needs is missing.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	unmet(t, "%s is missing (package %s)", name, pkg)
	return ""
}

// tsharkFields are always extracted; extra fields come after them.
var tsharkFields = []string{
	"frame.number", "frame.protocols", "_ws.malformed", "_ws.expert.severity", "_ws.expert.message",
	"ip.checksum.status", "udp.checksum.status", "tcp.checksum.status",
}

// tsharkFrame is what tshark made of one frame.
type tsharkFrame struct {
	Number    int
	Protocols string
	Malformed bool
	Errors    []string          // expert items of severity error or worse
	Checksums map[string]string // checksum status field -> value; "1" is good
	Fields    map[string]string // the extra fields; several occurrences joined by '|'
}

// piError is Wireshark's PI_ERROR expert severity (epan/proto.h); bad
// checksums and malformed packets are reported at this level.
const piError = 0x00800000

// problems lists why a frame is not clean: malformed, an expert error, or
// a checksum that is present but not verified good.
func (f tsharkFrame) problems() []string {
	var p []string
	if f.Malformed {
		p = append(p, "malformed")
	}
	p = append(p, f.Errors...)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range f.Checksums {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range strings.Split(f.Checksums[k], "|") {
			if v != "1" {
				p = append(p, fmt.Sprintf("%s=%s (1 is good, 0 bad, 2 unverified)", k, v))
			}
		}
	}
	return p
}

// runTshark decodes a pcap with checksum validation on and returns one
// tsharkFrame per frame. UDP and TCP port 3357, OpenPerf's default, is
// also the AX4000 port; that dissector is off so payloads decode as data,
// and so is TAPA's, whose heuristic claims some PRBS-23 payloads over UDP.
func runTshark(t *testing.T, pcap string, extra ...string) []tsharkFrame {
	t.Helper()
	bin := requireTool(t, "tshark", "tshark")
	args := []string{"-r", pcap, "-n", "--disable-protocol", "ax4000", "--disable-protocol", "tapa",
		"-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-o", "tcp.analyze_sequence_numbers:FALSE",
		"-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "quote=n"}
	for _, f := range append(slices.Clone(tsharkFields), extra...) {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user preferences
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	frames, err := parseTsharkFields(stdout.String(), extra)
	if err != nil {
		t.Fatalf("tshark output: %v\nstderr: %s", err, stderr.String())
	}
	return frames
}

func parseTsharkFields(out string, extra []string) ([]tsharkFrame, error) {
	var frames []tsharkFrame
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) != len(tsharkFields)+len(extra) {
			return nil, fmt.Errorf("%d columns, want %d: %q", len(col), len(tsharkFields)+len(extra), line)
		}
		n, err := strconv.Atoi(col[0])
		if err != nil {
			return nil, fmt.Errorf("frame number %q", col[0])
		}
		f := tsharkFrame{Number: n, Protocols: col[1], Malformed: col[2] != "" || strings.Contains(col[1], "_ws.malformed"),
			Checksums: map[string]string{}, Fields: map[string]string{}}
		var sev []string
		if col[3] != "" {
			sev = strings.Split(col[3], "|")
		}
		msg := strings.Split(col[4], "|")
		for i, s := range sev {
			v, err := strconv.ParseInt(s, 0, 64)
			if err != nil {
				return nil, fmt.Errorf("frame %d: expert severity %q", n, s)
			}
			if v >= piError {
				m := col[4] // messages and severities do not line up if a message has a '|'
				if len(msg) == len(sev) {
					m = msg[i]
				}
				f.Errors = append(f.Errors, m)
			}
		}
		for i, name := range tsharkFields[5:8] {
			if v := col[5+i]; v != "" {
				f.Checksums[name] = v
			}
		}
		for i, name := range extra {
			f.Fields[name] = col[len(tsharkFields)+i]
		}
		frames = append(frames, f)
	}
	return frames, nil
}

// checkedFrame builds a frame with gopacket, checksums computed.
func checkedFrame(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTsharkCheckCatchesBadFrames proves the tshark check below is not
// vacuous: frames built by gopacket pass, and each kind of damage the
// generator could do (bad IPv4, UDP or TCP checksum, a truncated frame) is
// reported. It needs no daemon.
func TestTsharkCheckCatchesBadFrames(t *testing.T) {
	requireTool(t, "tshark", "tshark")
	src, dst := net.HardwareAddr{0x10, 0, 0, 0, 0, 1}, net.HardwareAddr{0x10, 0, 0, 0, 0, 2}
	payload := gopacket.Payload(bytes.Repeat([]byte{0xa5}, 40))

	ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{198, 18, 0, 1}, DstIP: net.IP{198, 18, 1, 1}}
	udp4 := &layers.UDP{SrcPort: 3357, DstPort: 3357}
	_ = udp4.SetNetworkLayerForChecksum(ip4)
	ipv4udp := checkedFrame(t, &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv4}, ip4, udp4, payload)

	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::2")}
	tcp6 := &layers.TCP{SrcPort: 3357, DstPort: 3357, DataOffset: 5, Window: 1024, ACK: true}
	_ = tcp6.SetNetworkLayerForChecksum(ip6)
	ipv6tcp := checkedFrame(t, &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv6}, ip6, tcp6, payload)

	ip4v := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{198, 18, 0, 1}, DstIP: net.IP{198, 18, 1, 1}}
	tcp4 := &layers.TCP{SrcPort: 3357, DstPort: 3357, DataOffset: 5, Window: 1024, ACK: true, PSH: true}
	_ = tcp4.SetNetworkLayerForChecksum(ip4v)
	vlanipv4tcp := checkedFrame(t, &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4}, ip4v, tcp4, payload)

	corrupt := func(b []byte, off int) []byte {
		c := slices.Clone(b)
		c[off] ^= 0x01
		return c
	}
	cases := []struct {
		name  string
		data  []byte
		stack string
		bad   string // a substring of one reported problem; "" for a clean frame
	}{
		{"good eth/ipv4/udp", ipv4udp, "eth:ethertype:ip:udp:data", ""},
		{"good eth/ipv6/tcp", ipv6tcp, "eth:ethertype:ipv6:tcp:data", ""},
		{"good eth/vlan/ipv4/tcp", vlanipv4tcp, "eth:ethertype:vlan:ethertype:ip:tcp:data", ""},
		{"bad ipv4 header checksum", corrupt(ipv4udp, 14+10), "", "ip.checksum.status=0"},
		{"bad udp checksum", corrupt(ipv4udp, 14+20+6), "", "udp.checksum.status=0"},
		{"bad tcp checksum over ipv6", corrupt(ipv6tcp, 14+40+16), "", "tcp.checksum.status=0"},
		{"bad payload byte under a udp checksum", corrupt(ipv4udp, len(ipv4udp)-1), "", "udp.checksum.status=0"},
		{"bad tcp checksum behind a vlan tag", corrupt(vlanipv4tcp, 18+20+17), "", "tcp.checksum.status=0"},
		{"truncated ipv4", ipv4udp[:14+20+4], "", "malformed"},
	}
	var frames []wireFrame
	for _, c := range cases {
		frames = append(frames, wireFrame{TS: time.Now(), Data: c.data})
	}
	pcap := filepath.Join(t.TempDir(), "selftest.pcap")
	if err := writePcap(pcap, frames); err != nil {
		t.Fatal(err)
	}
	got := runTshark(t, pcap)
	if len(got) != len(cases) {
		t.Fatalf("tshark decoded %d frames of %d", len(got), len(cases))
	}
	for i, c := range cases {
		p := got[i].problems()
		switch {
		case c.bad == "" && len(p) > 0:
			t.Errorf("%s: reported %v", c.name, p)
		case c.bad != "" && !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, c.bad) }):
			t.Errorf("%s: problems %v do not include %q", c.name, p, c.bad)
		}
		if c.stack != "" && got[i].Protocols != c.stack {
			t.Errorf("%s: decoded as %s, want %s", c.name, got[i].Protocols, c.stack)
		}
		if c.bad != "" && c.bad != "malformed" && len(got[i].Errors) == 0 {
			t.Errorf("%s: tshark raised no expert error: %+v", c.name, got[i])
		}
	}
}

// stackCase is one header combination the generator must get right.
type stackCase struct {
	name      string
	protocols []map[string]any
	tie       string         // modifier_tie of the packet
	length    map[string]any // TrafficLength
	fill      map[string]any // signature fill
	stack     string         // tshark's frame.protocols
	headers   int            // header bytes before the fill
	flows     int            // flows the modifiers make
	distinct  map[string]int // tshark field -> number of distinct values
	constant  map[string]string
	counters  [3]string // the ethernet, ip and transport protocol counters that count every frame
}

func genMod(name, kind string, v any) map[string]any {
	return map[string]any{"name": name, "permute": false, kind: v}
}

func genSeq(count int, start any) map[string]any {
	return map[string]any{"sequence": map[string]any{"count": count, "start": start}}
}

func genList(v ...any) map[string]any { return map[string]any{"list": v} }

func genHdr(kind string, fields map[string]any, tie string, mods ...map[string]any) map[string]any {
	if fields == nil {
		fields = map[string]any{}
	}
	h := map[string]any{kind: fields}
	if len(mods) > 0 {
		m := map[string]any{"items": mods}
		if tie != "" {
			m["tie"] = tie
		}
		h["modifiers"] = m
	}
	return h
}

func genEth(src string) map[string]any {
	return genHdr("ethernet", map[string]any{"source": src, "destination": "10:00:00:00:00:02"}, "")
}

var stackCases = []stackCase{
	{
		name: "eth/ipv4/udp",
		protocols: []map[string]any{genEth("10:00:00:00:01:01"),
			genHdr("ipv4", map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}, "", genMod("source", "ipv4", genSeq(10, "198.18.0.1"))),
			genHdr("udp", nil, "", genMod("source", "field", genList(1024, 2048, 4096)))},
		tie:    "cartesian",
		length: map[string]any{"list": []int{64, 128, 512, 1518}},
		fill:   map[string]any{"prbs": true},
		stack:  "eth:ethertype:ip:udp:data", headers: 14 + 20 + 8, flows: 30,
		distinct: map[string]int{"ip.src": 10, "udp.srcport": 3, "frame.len": 4},
		constant: map[string]string{"ip.dst": "198.18.1.1", "udp.dstport": "3357", "ip.ttl": "64", "ip.proto": "17"},
		counters: [3]string{"ip", "ipv4", "udp"},
	},
	{
		name: "eth/ipv4/tcp",
		protocols: []map[string]any{genEth("10:00:00:00:01:02"),
			genHdr("ipv4", map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}, "", genMod("destination", "ipv4", genList("198.18.1.1", "198.18.1.2"))),
			genHdr("tcp", nil, "", genMod("destination", "field", genSeq(5, 40000)))},
		tie:    "zip",
		length: map[string]any{"sequence": map[string]any{"count": 5, "start": 100}},
		fill:   map[string]any{"increment": 7},
		stack:  "eth:ethertype:ip:tcp:data", headers: 14 + 20 + 20, flows: 10,
		distinct: map[string]int{"ip.dst": 2, "tcp.dstport": 5, "frame.len": 5},
		constant: map[string]string{"ip.src": "198.18.0.1", "tcp.srcport": "3357", "ip.ttl": "64", "ip.proto": "6"},
		counters: [3]string{"ip", "ipv4", "tcp"},
	},
	{
		name: "eth/ipv6/udp",
		protocols: []map[string]any{genEth("10:00:00:00:01:03"),
			genHdr("ipv6", map[string]any{"source": "fd00::1", "destination": "fd00::1:1"}, "", genMod("source", "ipv6", genSeq(8, "fd00::1"))),
			genHdr("udp", nil, "", genMod("destination", "field", genSeq(4, 5000)))},
		tie:    "cartesian",
		length: map[string]any{"fixed": 200},
		fill:   map[string]any{"prbs": true},
		stack:  "eth:ethertype:ipv6:udp:data", headers: 14 + 40 + 8, flows: 32,
		distinct: map[string]int{"ipv6.src": 8, "udp.dstport": 4},
		constant: map[string]string{"ipv6.dst": "fd00::1:1", "ipv6.hlim": "64", "ipv6.nxt": "17", "frame.len": "196"},
		counters: [3]string{"ip", "ipv6", "udp"},
	},
	{
		name: "eth/ipv6/tcp",
		protocols: []map[string]any{genEth("10:00:00:00:01:04"),
			genHdr("ipv6", map[string]any{"source": "fd00::1", "destination": "fd00::1:1"}, "", genMod("destination", "ipv6", genList("fd00::1:1", "fd00::1:2", "fd00::1:3"))),
			genHdr("tcp", nil, "", genMod("source", "field", genList(1000, 2000)))},
		tie:    "cartesian",
		length: map[string]any{"list": []int{128, 256}},
		fill:   map[string]any{"constant": 0xabcd},
		stack:  "eth:ethertype:ipv6:tcp:data", headers: 14 + 40 + 20, flows: 6,
		distinct: map[string]int{"ipv6.dst": 3, "tcp.srcport": 2, "frame.len": 2},
		constant: map[string]string{"ipv6.src": "fd00::1", "ipv6.hlim": "64", "ipv6.nxt": "6", "tcp.dstport": "3357"},
		counters: [3]string{"ip", "ipv6", "tcp"},
	},
	{
		name: "eth/vlan/ipv4/udp",
		protocols: []map[string]any{genEth("10:00:00:00:01:05"),
			genHdr("vlan", map[string]any{"id": 100}, "", genMod("id", "field", genSeq(5, 100))),
			genHdr("ipv4", map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}, "", genMod("source", "ipv4", genSeq(3, "198.18.0.1"))),
			genHdr("udp", nil, "")},
		tie:    "cartesian",
		length: map[string]any{"fixed": 128},
		fill:   map[string]any{"prbs": true},
		stack:  "eth:ethertype:vlan:ethertype:ip:udp:data", headers: 14 + 4 + 20 + 8, flows: 15,
		distinct: map[string]int{"vlan.id": 5, "ip.src": 3},
		constant: map[string]string{"eth.type": "0x8100", "vlan.etype": "0x0800", "frame.len": "124", "udp.srcport": "3357"},
		counters: [3]string{"vlan", "ipv4", "udp"},
	},
	{
		name: "eth/vlan/vlan/ipv6/tcp (QinQ)",
		protocols: []map[string]any{genEth("10:00:00:00:01:06"),
			genHdr("vlan", map[string]any{"id": 10}, ""),
			genHdr("vlan", map[string]any{"id": 200}, "", genMod("id", "field", genSeq(3, 200))),
			genHdr("ipv6", map[string]any{"source": "fd00::1", "destination": "fd00::1:1"}, "", genMod("source", "ipv6", genSeq(2, "fd00::10"))),
			genHdr("tcp", nil, "")},
		tie:    "cartesian",
		length: map[string]any{"fixed": 256},
		fill:   map[string]any{"decrement": 200},
		// tshark calls an 802.1ad outer tag ieee8021ad.
		stack: "eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ipv6:tcp:data", headers: 14 + 8 + 40 + 20, flows: 6,
		distinct: map[string]int{"vlan.id": 3, "ipv6.src": 2},
		constant: map[string]string{"eth.type": "0x88a8", "ieee8021ad.id": "10", "vlan.etype": "0x86dd", "frame.len": "252", "ipv6.nxt": "6"},
		counters: [3]string{"qinq", "ipv6", "tcp"},
	},
	{
		name: "eth/mpls/ipv4/udp",
		protocols: []map[string]any{genEth("10:00:00:00:01:07"),
			genHdr("mpls", map[string]any{"label": 16}, "", genMod("label", "field", genSeq(4, 16))),
			genHdr("ipv4", map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}, ""),
			genHdr("udp", nil, "", genMod("source", "field", genSeq(4, 2000)))},
		tie:    "zip",
		length: map[string]any{"fixed": 128},
		fill:   map[string]any{"prbs": true},
		stack:  "eth:ethertype:mpls:ip:udp:data", headers: 14 + 4 + 20 + 8, flows: 4,
		distinct: map[string]int{"mpls.label": 4, "udp.srcport": 4},
		constant: map[string]string{"eth.type": "0x8847", "mpls.bottom": "1", "ip.src": "198.18.0.1"},
		counters: [3]string{"mpls", "ipv4", "udp"},
	},
	{
		name: "eth/ipv4/custom",
		protocols: []map[string]any{genEth("10:00:00:00:01:08"),
			genHdr("ipv4", map[string]any{"source": "198.18.0.1", "destination": "198.18.1.1"}, "", genMod("destination", "ipv4", genSeq(7, "198.18.1.1"))),
			genHdr("custom", map[string]any{"data": base64.StdEncoding.EncodeToString([]byte("openperfd custom payload")), "layer": "payload"}, "")},
		length: map[string]any{"fixed": 128},
		fill:   map[string]any{"prbs": true},
		stack:  "eth:ethertype:ip:data", headers: 14 + 20 + 24, flows: 7,
		distinct: map[string]int{"ip.dst": 7},
		constant: map[string]string{"ip.proto": "254", "ip.ttl": "64", "frame.len": "124"},
		counters: [3]string{"ip", "ipv4", "non_fragmented"},
	},
}

// TestTsharkDecodesEveryHeaderStack sends 1000 frames of each header
// combination (with signatures and modifiers) out of an af_packet port,
// captures them on the kernel end of the veth, and has tshark decode them
// with checksum validation: no malformed frame, no bad checksum, the
// expected protocol stack, the modified fields taking their values. The
// signatures decode too, each flow counting its sequence numbers from 0.
func TestTsharkDecodesEveryHeaderStack(t *testing.T) {
	requireTool(t, "tshark", "tshark")
	v := newVethPeer(t)
	d := startDaemon(t, "-d", "--no-huge,--no-pci,--vdev=net_af_packet0,iface="+v.Host)
	c := startCapture(t, v)

	const perCase = 1000
	var all []wireFrame
	start := make([]int, len(stackCases)) // index of each case's first frame in all
	for i, sc := range stackCases {
		sid := 1000 * (i + 1)
		def := map[string]any{
			"packet":    map[string]any{"protocols": sc.protocols},
			"length":    sc.length,
			"signature": map[string]any{"stream_id": sid, "latency": "start_of_frame", "fill": sc.fill},
		}
		if sc.tie != "" {
			def["packet"].(map[string]any)["modifier_tie"] = sc.tie
		}
		config := genConfig(map[string]any{"frames": perCase}, 20000, def)
		config["protocol_counters"] = []string{"ethernet", "ip", "transport"}
		g := createGenerator(t, d, "0", config)
		res := runToCompletion(t, d, g)
		if res.FlowCounters.PacketsActual != perCase {
			t.Errorf("%s: packets_actual %d, want %d", sc.name, res.FlowCounters.PacketsActual, perCase)
		}
		for j, m := range []map[string]int64{res.Protocols.Ethernet, res.Protocols.IP, res.Protocols.Transport} {
			for k, n := range m {
				if want := map[bool]int64{true: perCase}[k == sc.counters[j]]; n != want {
					t.Errorf("%s: protocol counter %s = %d, want %d", sc.name, k, n, want)
				}
			}
			if _, ok := m[sc.counters[j]]; !ok {
				t.Errorf("%s: no protocol counter %s in %v", sc.name, sc.counters[j], m)
			}
		}
		src := sc.protocols[0]["ethernet"].(map[string]any)["source"].(string)
		got := framesMatching(c.waitFor(perCase, fromMAC(src)), fromMAC(src))
		if len(got) != perCase {
			t.Fatalf("%s: captured %d frames, want %d", sc.name, len(got), perCase)
		}
		checkSignatures(t, sc, got, sid)
		start[i] = len(all)
		all = append(all, got...)
		d.expect("DELETE", "/packet/generators/"+g, nil, 204)
	}
	if n := c.drops(); n != 0 {
		t.Fatalf("the capture socket dropped %d frames", n)
	}

	pcap := filepath.Join(t.TempDir(), "stacks.pcap")
	if err := writePcap(pcap, all); err != nil {
		t.Fatal(err)
	}
	extra := []string{"ip.src", "ip.dst", "ip.ttl", "ip.proto", "ipv6.src", "ipv6.dst", "ipv6.hlim", "ipv6.nxt",
		"udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "eth.type", "vlan.id", "vlan.etype", "ieee8021ad.id",
		"mpls.label", "mpls.bottom", "frame.len"}
	decoded := runTshark(t, pcap, extra...)
	if len(decoded) != len(all) {
		t.Fatalf("tshark decoded %d frames of %d", len(decoded), len(all))
	}
	failed := false
	for i, sc := range stackCases {
		frames := decoded[start[i] : start[i]+perCase]
		t.Run(sc.name, func(t *testing.T) {
			// The checksums tshark must have verified: a check that never
			// ran finds nothing wrong.
			var sums []string
			for layer, field := range map[string]string{"ip": "ip.checksum.status", "udp": "udp.checksum.status", "tcp": "tcp.checksum.status"} {
				if slices.Contains(strings.Split(sc.stack, ":"), layer) {
					sums = append(sums, field)
				}
			}
			bad := 0
			distinct := map[string]map[string]int{}
			for _, f := range frames {
				for _, k := range sums {
					if f.Checksums[k] == "" {
						if bad++; bad <= 5 {
							t.Errorf("frame %d: no %s", f.Number, k)
						}
					}
				}
				if p := f.problems(); len(p) > 0 {
					if bad++; bad <= 5 {
						t.Errorf("frame %d: %v", f.Number, p)
					}
				}
				if f.Protocols != sc.stack {
					if bad++; bad <= 5 {
						t.Errorf("frame %d decodes as %s, want %s", f.Number, f.Protocols, sc.stack)
					}
				}
				for k, want := range sc.constant {
					if got := f.Fields[k]; got != want && !strings.HasPrefix(got, want+"|") {
						if bad++; bad <= 5 {
							t.Errorf("frame %d: %s = %q, want %q", f.Number, k, got, want)
						}
					}
				}
				for k := range sc.distinct {
					if distinct[k] == nil {
						distinct[k] = map[string]int{}
					}
					vals := strings.Split(f.Fields[k], "|")
					distinct[k][vals[len(vals)-1]]++ // the innermost occurrence (QinQ: inner tag)
				}
			}
			if bad > 0 {
				t.Errorf("%d problems in %d frames", bad, len(frames))
			}
			for k, want := range sc.distinct {
				if len(distinct[k]) != want {
					t.Errorf("%s takes %d distinct values, want %d: %v", k, len(distinct[k]), want, distinct[k])
				}
			}
			failed = failed || t.Failed()
		})
	}
	if failed {
		keep := filepath.Join(os.TempDir(), fmt.Sprintf("openperfd-aat-stacks-%d.pcap", os.Getpid()))
		if b, err := os.ReadFile(pcap); err == nil && os.WriteFile(keep, b, 0o644) == nil {
			t.Logf("capture kept in %s", keep)
		}
	}
}

// checkSignatures checks every frame carries a valid Spirent signature
// (the generator's default) whose stream id is one of the definition's
// flows, that each flow's sequence numbers run 0, 1, 2, ... in capture
// order, and that the fill between the headers and the signature is
// PRBS-23 where asked for.
func checkSignatures(t *testing.T, sc stackCase, frames []wireFrame, firstStream int) {
	t.Helper()
	next := map[uint32]uint32{}
	bad := 0
	for i, f := range frames {
		sig, ok := generator.FrameSpirent(f.Data)
		switch {
		case !ok:
			bad++
			if bad <= 3 {
				t.Errorf("%s: frame %d (%d bytes) has no valid signature: % x", sc.name, i, len(f.Data), f.Data[max(0, len(f.Data)-generator.SpirentLen):])
			}
			continue
		case sig.StreamID < uint32(firstStream) || sig.StreamID >= uint32(firstStream+sc.flows):
			bad++
			if bad <= 3 {
				t.Errorf("%s: frame %d stream id %d, want %d..%d", sc.name, i, sig.StreamID, firstStream, firstStream+sc.flows-1)
			}
		case sig.Sequence != next[sig.StreamID]:
			bad++
			if bad <= 3 {
				t.Errorf("%s: frame %d of stream %d has sequence %d, want %d", sc.name, i, sig.StreamID, sig.Sequence, next[sig.StreamID])
			}
		}
		next[sig.StreamID] = sig.Sequence + 1
		if sc.fill["prbs"] == true {
			if sig.Flags&generator.SigFlagPRBS == 0 {
				bad++
				if bad <= 3 {
					t.Errorf("%s: frame %d signature lacks the PRBS flag", sc.name, i)
				}
			}
			end := len(f.Data) - generator.SpirentLen // a runt frame's signature covers its UDP checksum
			if n := spirent.PRBS23BitErrors(f.Data[min(sc.headers, end):end], sc.headers); n != 0 {
				bad++
				if bad <= 3 {
					t.Errorf("%s: frame %d: %d PRBS-23 bit errors in the fill", sc.name, i, n)
				}
			}
		}
	}
	if len(next) != sc.flows {
		t.Errorf("%s: %d stream ids seen, want %d (one per flow)", sc.name, len(next), sc.flows)
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d frames with bad signatures", sc.name, bad, len(frames))
	}
}
