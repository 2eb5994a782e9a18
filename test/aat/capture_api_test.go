package aat

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/openperfd/openperfd/api/gen"
)

// expectedFrame is what the generator sends for an eth/ipv4/udp
// definition without a signature: OpenPerf's defaults (TTL 64, ports
// 3357) and a zero payload, built independently with gopacket.
func expectedFrame(t *testing.T, src string, length int) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: mustMAC("10:00:00:00:00:01"), DstMAC: mustMAC("10:00:00:00:00:02"), EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP("198.18.1.1").To4()}
	udp := &layers.UDP{SrcPort: 3357, DstPort: 3357}
	_ = udp.SetNetworkLayerForChecksum(ip)
	payload := make([]byte, length-4-14-20-8)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// capturePcap downloads a capture result's pcapng and opens it.
func capturePcap(t *testing.T, d *daemon, resultID string) ([]byte, *pcapgo.NgReader) {
	t.Helper()
	code, pcap := d.call("GET", "/packet/capture-results/"+resultID+"/pcap", nil)
	if code != 200 {
		t.Fatalf("pcap: %d %s", code, pcap)
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(pcap), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("read pcapng: %v", err)
	}
	return pcap, r
}

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Generator on port 0, capture on port 1: the capture holds the frames
// byte for byte, and its pcapng (ns timestamps) reads cleanly in tshark.
func TestCaptureHoldsTheGeneratedFramesByteForByte(t *testing.T) {
	tshark := requireTool(t, "tshark", "tshark")
	d := startDaemon(t, testMode)
	d.expect("POST", "/packet/captures", map[string]any{"id": "cap", "source_id": "1",
		"config": map[string]any{"mode": "buffer", "buffer_size": 1 << 20}}, 201)
	var cr gen.PacketCaptureResult
	mustJSON(t, d.expect("POST", "/packet/captures/cap/start", nil, 201), &cr)
	if cr.State != "running" {
		t.Fatalf("started capture is %s", cr.State)
	}
	srcs := []string{"198.18.0.1", "198.18.0.2", "198.18.0.3"}
	def := udpDef(map[string]any{"fixed": 100}, "", []map[string]any{
		{"name": "source", "permute": false, "ipv4": map[string]any{"list": srcs}}}, nil)
	runToCompletion(t, d, createGenerator(t, d, "0", genConfig(map[string]any{"frames": 300}, 100000, def)))
	eventually(t, "capture holds 300 frames", func() (bool, string) {
		d.get("/packet/capture-results/"+cr.Id, &cr)
		return cr.Packets == 300, fmt.Sprintf("%+v", cr)
	})
	d.expect("POST", "/packet/captures/cap/stop", nil, 204)
	d.get("/packet/capture-results/"+cr.Id, &cr)
	if cr.State != "stopped" || cr.Bytes != 300*96 {
		t.Fatalf("stopped result %+v; want 300 packets of 96 bytes", cr)
	}

	pcap, r := capturePcap(t, d, cr.Id)
	want := make([][]byte, len(srcs))
	for i, s := range srcs {
		want[i] = expectedFrame(t, s, 100)
	}
	n, subMicro := 0, false
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if !bytes.Equal(data, want[n%3]) {
			t.Fatalf("frame %d differs:\n got %x\nwant %x", n, data, want[n%3])
		}
		if ci.Timestamp.Nanosecond()%1000 != 0 {
			subMicro = true
		}
		n++
	}
	if n != 300 {
		t.Fatalf("pcap holds %d frames, want 300", n)
	}
	if !subMicro {
		t.Error("no timestamp has sub-microsecond digits: not nanosecond resolution")
	}
	file := filepath.Join(t.TempDir(), "cap.pcapng")
	if err := os.WriteFile(file, pcap, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-r", file, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-T", "fields", "-e", "frame.time_epoch", "-e", "_ws.malformed", "-e", "_ws.expert.severity")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 300 {
		t.Fatalf("tshark printed %d lines, want 300:\n%s", len(lines), out)
	}
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) < 1 || len(f[0]) < len("1700000000.123456789") || strings.TrimSpace(strings.Join(f[1:], "")) != "" {
			t.Fatalf("tshark line %q: want a ns timestamp and no malformed/expert fields", l)
		}
	}
	// A range of the merge endpoint: frames 10..19 of the one result.
	code, part := d.call("POST", "/packet/captures/x/merge", map[string]any{"ids": []string{cr.Id}, "packet_start": 10, "packet_end": 19})
	if code != 200 {
		t.Fatalf("merge: %d %s", code, part)
	}
	r, err = pcapgo.NewNgReader(bytes.NewReader(part), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 20; i++ {
		data, _, err := r.ReadPacketData()
		if err != nil || !bytes.Equal(data, want[i%3]) {
			t.Fatalf("merged frame %d: %v", i, err)
		}
	}
	if _, _, err := r.ReadPacketData(); err == nil {
		t.Fatal("merge returned more than the 10 frames asked for")
	}
	d.expect("GET", "/packet/capture-results/"+cr.Id+"/pcap?packet_start=5&packet_end=2", nil, 400)
	d.expect("GET", "/packet/capture-results/nope/pcap", nil, 404)
	// The sending side: a tx capture on port 0 holds the same frames.
	d.expect("POST", "/packet/captures", map[string]any{"id": "txcap", "source_id": "0", "direction": "tx",
		"config": map[string]any{"mode": "buffer", "buffer_size": 1 << 20}}, 201)
	var tr gen.PacketCaptureResult
	mustJSON(t, d.expect("POST", "/packet/captures/txcap/start", nil, 201), &tr)
	runToCompletion(t, d, createGenerator(t, d, "0", genConfig(map[string]any{"frames": 30}, 100000, def)))
	eventually(t, "tx capture holds 30 frames", func() (bool, string) {
		d.get("/packet/capture-results/"+tr.Id, &tr)
		return tr.Packets == 30, fmt.Sprintf("%+v", tr)
	})
	code, pcap = d.call("GET", "/packet/capture-results/"+tr.Id+"/pcap", nil)
	if code != 200 {
		t.Fatalf("tx pcap: %d", code)
	}
	r, err = pcapgo.NewNgReader(bytes.NewReader(pcap), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		data, _, err := r.ReadPacketData()
		if err != nil || !bytes.Equal(data, want[i%3]) {
			t.Fatalf("tx frame %d: %v\n got %x\nwant %x", i, err, data, want[i%3])
		}
	}
	// Stopping and restarting take the tx tap off the workers and back.
	d.expect("POST", "/packet/captures/txcap/stop", nil, 204)
	d.expect("POST", "/packet/captures/txcap/start", nil, 201)
	d.expect("DELETE", "/packet/captures/txcap", nil, 400) // running
	d.expect("POST", "/packet/captures/txcap/stop", nil, 204)
	d.expect("DELETE", "/packet/captures/txcap", nil, 204)
	d.expect("POST", "/packet/captures", map[string]any{"source_id": "1",
		"config": map[string]any{"mode": "buffer", "buffer_size": 1 << 20, "filter": "udp port"}}, 400)
}
