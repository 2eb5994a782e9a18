package aat

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packet/protocol"
	"github.com/openperfd/openperfd/packet/signature/spirent"
)

// TestTapPortJumboFramesArriveWhole: a port that scatters received frames
// over several buffers (net_tap, as NICs) is set up with rx scatter, and a
// frame longer than one 2 KiB buffer reaches the analyzer whole:
// the kernel's side of the tap sends frames of 9216, 4000 and 2100 bytes
// (FCS included) and one of 1000, each with a PRBS-23 payload and a
// Spirent signature at its end. The analyzer finds the signature (the
// frame's last bytes), checks every payload bit (no PRBS errors over all
// the octets) and counts the lengths; the port's x_xstats count the
// frames copied out of chains.
func TestTapPortJumboFramesArriveWhole(t *testing.T) {
	ns, tap := tapNamespace(t, "jumbo", "opdj")

	d := startDaemon(t, "-d", "--no-huge,--no-pci,--vdev=net_tap0,iface="+tap)
	var port gen.Port
	d.get("/ports/0", &port)
	if got := port.Config.Dpdk.XRxScatter; got == nil || !*got {
		t.Fatalf("GET /ports/0 x_rx_scatter = %v, want true", got)
	}
	moveTap(t, tap, ns, "mtu", "9198")

	createAnalyzer(t, d, "jumbo", "0", map[string]any{
		"flow_counters": []string{"frame_count", "frame_length", "prbs", "advanced_sequencing"},
		"filter":        "udp port 7777",
	})
	var ar gen.PacketAnalyzerResult
	mustJSON(t, d.expect("POST", "/packet/analyzers/jumbo/start", nil, 201), &ar)

	eth := protocol.Ethernet{Dst: [6]byte{0x02, 0, 0, 0, 0x7b, 2}, Src: [6]byte{0x02, 0, 0, 0, 0x7b, 1}}
	ip4 := protocol.IPv4{TTL: 64, Src: [4]byte{10, 253, 0, 1}, Dst: [4]byte{10, 253, 0, 2}}
	stack := protocol.Stack{eth, ip4, protocol.UDP{SrcPort: 1, DstPort: 7777}}
	hdr := protocol.EthernetLen + protocol.IPv4Len + protocol.UDPLen
	prbs := spirent.NewPRBS23(spirent.PRBS23Start)
	lengths := []int{9216, 4000, 2100, 1000} // FCS included, as the analyzer counts
	var lines []string
	var octets int64
	for i, l := range lengths {
		f := make([]byte, l-4)
		// The payload first: BuildHeaders sets the lengths and checksums over it.
		prbs.Fill(f[hdr:len(f)-spirent.Len], hdr)
		spirent.ToFrame(f, spirent.Signature{StreamID: 4242, Sequence: uint32(i), Flags: spirent.FlagPRBS})
		if _, err := stack.BuildHeaders(f); err != nil {
			t.Fatal(err)
		}
		octets += int64(len(f) - spirent.Len - hdr)
		lines = append(lines, hex.EncodeToString(f))
	}
	file := filepath.Join(t.TempDir(), "frames")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFrames(t, ns, tap, "OPD_WRITE_FILE="+file)
	eventually(t, "analyzer counts 4 frames", func() (bool, string) {
		r := analyzerResult(t, d, ar.Id)
		return r.FlowCounters.FrameCount == 4, fmt.Sprintf("%d frames", r.FlowCounters.FrameCount)
	})
	var flows []gen.RxFlow
	d.get("/packet/rx-flows?analyzer_id=jumbo", &flows)
	if len(flows) != 1 || flows[0].StreamId == nil || *flows[0].StreamId != 4242 {
		t.Fatalf("rx flows %+v, want one signed flow of stream 4242", flows)
	}
	c := flows[0].Counters
	if c.FrameCount != 4 {
		t.Errorf("flow frames %d, want 4", c.FrameCount)
	}
	if c.FrameLength == nil || c.FrameLength.Summary.Max == nil || *c.FrameLength.Summary.Max != 9216 ||
		*c.FrameLength.Summary.Min != 1000 || c.FrameLength.Summary.Total != 9216+4000+2100+1000 {
		t.Errorf("frame lengths %+v, want min 1000, max 9216, total 16316", c.FrameLength)
	}
	if c.Prbs == nil || c.Prbs.BitErrors != 0 || c.Prbs.Octets != octets {
		t.Errorf("prbs %+v, want 0 bit errors over %d octets", c.Prbs, octets)
	}
	if s := c.Sequence; s == nil || s.InOrder != 4 || s.Dropped != 0 {
		t.Errorf("sequence %+v, want 4 in order, none dropped", s)
	}
	var st gen.Port
	d.get("/ports/0", &st)
	x := st.Stats.XXstats
	if x == nil || (*x)["x_rx_linearized"] != 3 || (*x)["x_rx_chain_drops"] != 0 {
		t.Errorf("x_xstats x_rx_linearized/x_rx_chain_drops = %v, want 3/0", x)
	}
}
