package aat

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/protocol"
)

// TestTapPortChecksumOffload: on a port whose PMD verifies checksums on
// receipt (net_tap offers IPv4, UDP and TCP rx checksum offload), the
// daemon turns the offload on and the analyzer counts checksum errors
// from the port's per-packet flags: frames with good and with broken
// checksums come in from the kernel's side of the tap and are counted
// right. The tap's kernel end is moved into a network namespace made for
// the test, from which a helper process writes the frames.
func TestTapPortChecksumOffload(t *testing.T) {
	ns, tap := tapNamespace(t, "tap", "opdt")

	d := startDaemon(t, "-l", "info", "-d", "--no-huge,--no-pci,--vdev=net_tap0,iface="+tap)
	eventually(t, "the port ready log names the offloads", func() (bool, string) {
		for _, l := range strings.Split(d.stderr.String(), "\n") {
			if strings.Contains(l, "port ready") {
				return strings.Contains(l, `"rx_checksum_offload":["ipv4","udp","tcp"]`), l
			}
		}
		return false, "no port ready line"
	})
	var port gen.Port
	d.get("/ports/0", &port)
	if got := port.Config.Dpdk.XRxChecksumOffload; got == nil || fmt.Sprint(*got) != "[ipv4 udp tcp]" {
		t.Fatalf("GET /ports/0 x_rx_checksum_offload = %v, want [ipv4 udp tcp]", got)
	}
	moveTap(t, tap, ns)

	createAnalyzer(t, d, "an", "0", map[string]any{
		"protocol_counters": []string{"ethernet", "ip", "transport"},
		"flow_counters":     []string{"frame_count"},
		"filter":            "port 7777",
	})
	var ar gen.PacketAnalyzerResult
	mustJSON(t, d.expect("POST", "/packet/analyzers/an/start", nil, 201), &ar)

	eth := protocol.Ethernet{Dst: [6]byte{0x02, 0, 0, 0, 0x7a, 2}, Src: [6]byte{0x02, 0, 0, 0, 0x7a, 1}}
	ip4 := protocol.IPv4{TTL: 64, Src: [4]byte{10, 252, 0, 1}, Dst: [4]byte{10, 252, 0, 2}}
	build := func(l4 protocol.Header) []byte {
		f := make([]byte, 100)
		if _, err := (protocol.Stack{eth, ip4, l4}).Build(f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	udp, tcp := build(protocol.UDP{SrcPort: 1, DstPort: 7777}), build(protocol.TCP{SrcPort: 1, DstPort: 7777})
	corrupt := func(f []byte, off int) []byte { g := append([]byte(nil), f...); g[off] ^= 0x40; return g }
	var frames []string
	add := func(f []byte, n int) {
		for range n {
			frames = append(frames, hex.EncodeToString(f))
		}
	}
	add(udp, 10)
	add(tcp, 5)
	add(corrupt(udp, 14+8), 3) // TTL: the IPv4 header checksum fails
	add(corrupt(udp, 90), 4)   // payload: the UDP checksum fails
	add(corrupt(tcp, 90), 2)
	writeFrames(t, ns, tap, "OPD_WRITE_FRAMES="+strings.Join(frames, ","))
	eventually(t, "analyzer counts 24 frames", func() (bool, string) {
		r := analyzerResult(t, d, ar.Id)
		return r.FlowCounters.FrameCount == 24, fmt.Sprintf("%d frames", r.FlowCounters.FrameCount)
	})
	e := analyzerResult(t, d, ar.Id).FlowCounters.Errors
	if e.Ipv4Checksum != 3 || e.UdpChecksum != 4 || e.TcpChecksum != 2 {
		t.Errorf("checksum errors ipv4 %d udp %d tcp %d, want 3, 4, 2", e.Ipv4Checksum, e.UdpChecksum, e.TcpChecksum)
	}
	// The default verification is the port's, and the port verified all.
	v := func(n int64) gen.PacketAnalyzerChecksumsVerified { return gen.PacketAnalyzerChecksumsVerified{Port: n} }
	want := gen.PacketAnalyzerChecksums{Mode: "port", Ipv4: v(24), Udp: v(17), Tcp: v(7)}
	if got := analyzerResult(t, d, ar.Id).XChecksums; got == nil || *got != want {
		t.Errorf("x_checksums %+v, want %+v", got, want)
	}
}

// tapNamespace makes a network namespace for a tap test (deleted at the
// end) and names the tap, kind telling tests apart: the daemon creates the
// tap in this namespace, moveTap then moves it there. IPv6 is off in ns:
// the kernel would send frames of its own on the tap.
func tapNamespace(t *testing.T, kind, tapPrefix string) (ns, tap string) {
	t.Helper()
	requireRoot(t, "tap devices and network namespaces")
	requireTool(t, "ip", "iproute2")
	id := os.Getpid() % 100000
	ns, tap = fmt.Sprintf("opd-%s-%d", kind, id), fmt.Sprintf("%s%d", tapPrefix, id)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	sh(t, "ip", "netns", "add", ns)
	sh(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
	return ns, tap
}

// moveTap moves the daemon's tap into ns and sets it up there, with the
// extra ip-link settings given (e.g. "mtu", "9198").
func moveTap(t *testing.T, tap, ns string, settings ...string) {
	t.Helper()
	sh(t, "ip", "link", "set", tap, "netns", ns)
	sh(t, append(append([]string{"ip", "netns", "exec", ns, "ip", "link", "set", tap}, settings...), "up")...)
}

// writeFrames runs TestHelperWriteFrames in ns to write frames into the
// tap; env names them (OPD_WRITE_FRAMES or OPD_WRITE_FILE).
func writeFrames(t *testing.T, ns, tap string, env ...string) {
	t.Helper()
	helper := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestHelperWriteFrames$")
	helper.Env = append(append(os.Environ(), "OPD_WRITE_IFACE="+tap), env...)
	if out, err := helper.CombinedOutput(); err != nil {
		t.Fatalf("writing frames into the tap: %v\n%s", err, out)
	}
}

// TestHelperWriteFrames is the tap tests' helper process, run in the
// test's network namespace: it writes the hex frames of OPD_WRITE_FRAMES
// (comma-separated), or of the file OPD_WRITE_FILE (one per line; frames
// too long for the environment), to interface OPD_WRITE_IFACE through a
// packet socket. Without those variables it does nothing.
func TestHelperWriteFrames(t *testing.T) {
	name, list := os.Getenv("OPD_WRITE_IFACE"), os.Getenv("OPD_WRITE_FRAMES")
	if name == "" {
		return
	}
	if file := os.Getenv("OPD_WRITE_FILE"); file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		list = strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", ",")
	}
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, 0) // send only: no protocol
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Ifindex: ifc.Index}); err != nil {
		t.Fatal(err)
	}
	for _, h := range strings.Split(list, ",") {
		f, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := syscall.Write(fd, f); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}
