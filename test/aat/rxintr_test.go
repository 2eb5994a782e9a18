package aat

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

func workerStats(t *testing.T, d *daemon) []gen.Worker {
	t.Helper()
	var ws []gen.Worker
	d.get("/x/workers", &ws)
	if len(ws) == 0 {
		t.Fatal("no workers in /x/workers")
	}
	return ws
}

// portReadyLine is the daemon's "port ready" log line for port id.
func portReadyLine(d *daemon, id string) string {
	for _, l := range strings.Split(d.stderr.String(), "\n") {
		if strings.Contains(l, `"msg":"port ready"`) && strings.Contains(l, `"id":"`+id+`"`) {
			return l
		}
	}
	return ""
}

// A tap port has rx queue interrupts: an idle worker then sleeps in its
// interrupt wait (interrupt_sleeps grows, back-off sleeps stop) and a
// frame from the kernel side still arrives. With
// --modules.packetio.dpdk.no-rx-interrupts the worker backs off by
// sleeping and polling instead. The tap interface is moved into a
// namespace the test makes, so nothing reaches the host's own stack.
func TestRxInterruptsOnATapPort(t *testing.T) {
	requireRoot(t, "tap ports and network namespaces")
	if _, err := exec.LookPath("ip"); err != nil {
		unmet(t, "iproute2 (ip) is missing")
	}
	for i, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("interrupts=%v", on), func(t *testing.T) {
			id := os.Getpid() % 100000
			iface := fmt.Sprintf("opdri%d_%d", id, i)
			ns := fmt.Sprintf("opd-rxi-%d-%d", id, i)
			t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
			args := []string{"-l", "info", "-d", "-m256m,--no-huge,--no-pci,--vdev=net_tap0,iface=" + iface}
			if !on {
				args = append(args, "--modules.packetio.dpdk.no-rx-interrupts")
			}
			d := startDaemon(t, args...)
			sh(t, "ip", "netns", "add", ns)
			sh(t, "ip", "link", "set", iface, "netns", ns)
			// A quiet link: no IPv6 autoconfiguration, no multicast reports.
			sh(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
			sh(t, "ip", "-n", ns, "link", "set", iface, "multicast", "off")
			sh(t, "ip", "-n", ns, "link", "set", iface, "up")
			sh(t, "ip", "-n", ns, "addr", "add", "10.252.0.1/24", "dev", iface)

			line := portReadyLine(d, "0")
			if want := fmt.Sprintf(`"rx_interrupts":%v`, on); !strings.Contains(line, want) {
				t.Errorf("port ready log line %q, want %s", line, want)
			}
			if ws := workerStats(t, d); ws[0].RxInterrupts != on {
				t.Errorf("worker rx_interrupts %v, want %v", ws[0].RxInterrupts, on)
			}
			time.Sleep(500 * time.Millisecond) // idle long enough to wait for interrupts
			before := workerStats(t, d)[0]
			time.Sleep(1500 * time.Millisecond)
			after := workerStats(t, d)[0]
			intr, sleeps := after.InterruptSleeps-before.InterruptSleeps, after.IdleSleeps-before.IdleSleeps
			// A wait lasts up to 10 s: the window may hold none that began.
			t.Logf("in 1.5 s idle: %d interrupt waits began (%d in all), %d back-off sleeps, %d idle loops", intr, after.InterruptSleeps, sleeps, after.IdleLoops-before.IdleLoops)
			if on && (after.InterruptSleeps == 0 || sleeps > 20) {
				t.Errorf("with interrupts: %d interrupt waits and %d back-off sleeps in 1.5 s idle; want waits and (almost) no sleeps", intr, sleeps)
			}
			if !on && (intr != 0 || sleeps < 20) {
				t.Errorf("without interrupts: %d interrupt waits and %d back-off sleeps in 1.5 s idle; want no waits, many sleeps", intr, sleeps)
			}

			// The kernel's ARP requests for 10.252.0.2 wake the worker.
			var p0 gen.Port
			d.get("/ports/0", &p0)
			if x := p0.Config.Dpdk.XRxInterrupts; x == nil || *x != on {
				t.Errorf("GET /ports/0 config.dpdk.x_rx_interrupts %v, want %v", x, on)
			}
			// No reply comes (nothing answers 10.252.0.2): only the frames count.
			_ = exec.Command("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", "10.252.0.2").Run()
			eventually(t, "the kernel's frames at the port", func() (bool, string) {
				var p gen.Port
				d.get("/ports/0", &p)
				return p.Stats.RxPackets > p0.Stats.RxPackets, fmt.Sprintf("%+v", p.Stats)
			})
		})
	}
}

// idleWaits checks that d's worker sleeps in interrupt waits while idle:
// once idle for a while (it backs off for 100 ms first), a wait under way
// (one lasts up to 10 s) or new ones, and (almost) no back-off sleeps.
func idleWaits(t *testing.T, d *daemon, what string) {
	t.Helper()
	eventually(t, what+": an interrupt wait", func() (bool, string) {
		w := workerStats(t, d)[0]
		return w.InterruptSleeps > 0, fmt.Sprintf("%+v", w)
	})
	time.Sleep(300 * time.Millisecond)
	before := workerStats(t, d)[0]
	time.Sleep(1500 * time.Millisecond)
	after := workerStats(t, d)[0]
	if n := after.IdleSleeps - before.IdleSleeps; n > 20 {
		t.Errorf("%s: %d back-off sleeps in 1.5 s idle, want (almost) none while waiting for an interrupt; %+v", what, n, after)
	}
}

// Two daemons joined by memif (one the server of a socket in a temp dir,
// the other its client), rx interrupts asked for. DPDK 22.11's memif
// driver offers none through ethdev; openperfd sleeps on the rings' own
// event fds (packetio/dpdk/memif.c). Both idle workers wait for
// interrupts; a generator on one sends 600 000 signed frames at 200 000
// frames/s and the other's analyzer counts every one in order (the
// receiver goes from its wait to polling without losing a frame); both
// wait again once idle, and frames sent one by one further apart than
// the worker idles before it waits arrive too, each through a wait. Then the server restarts: the client's worker
// arms the new connection's ring, and a frame after idle arrives.
func TestMemifGeneratorToAnalyzerWithRxInterrupts(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "memif.sock")
	eal := "-m256m,--no-huge,--no-pci,--vdev=net_memif0,socket=" + sock + ",role="
	tx := startDaemon(t, "-l", "info", "-d", eal+"server")
	rx := startDaemon(t, "-l", "info", "-d", eal+"client")
	linkUp := func(d *daemon) {
		t.Helper()
		eventually(t, "memif link up", func() (bool, string) {
			var p gen.Port
			d.get("/ports/0", &p)
			return p.Status.Link == gen.PortStatusLinkUp, fmt.Sprintf("%+v", p.Status)
		})
	}
	for _, d := range []*daemon{tx, rx} {
		linkUp(d)
		if ws := workerStats(t, d); !ws[0].RxInterrupts {
			t.Errorf("worker rx_interrupts false with interrupts asked for")
		}
		var p gen.Port
		d.get("/ports/0", &p)
		if x := p.Config.Dpdk.XRxInterrupts; x == nil || !*x {
			t.Errorf("GET /ports/0 config.dpdk.x_rx_interrupts %v, want true", x)
		}
	}
	t.Logf("memif port: %s", portReadyLine(rx, "0"))
	idleWaits(t, tx, "server")
	idleWaits(t, rx, "client")

	createAnalyzer(t, rx, "mi", "0", map[string]any{
		"protocol_counters": []string{"ethernet"}, "flow_counters": []string{"frame_count", "advanced_sequencing"}})
	var ar gen.PacketAnalyzerResult
	mustJSON(t, rx.expect("POST", "/packet/analyzers/mi/start", nil, 201), &ar)
	const frames = 600000
	g := createGenerator(t, tx, "0", genConfig(map[string]any{"frames": frames}, 200000, sigDef("10:00:00:00:00:01", 7)))
	gr := runToCompletion(t, tx, g)
	if gr.FlowCounters.PacketsActual != frames {
		t.Fatalf("generator sent %d frames, want %d", gr.FlowCounters.PacketsActual, frames)
	}
	eventually(t, "the analyzer counts every frame", func() (bool, string) {
		ar = analyzerResult(t, rx, ar.Id)
		return ar.FlowCounters.FrameCount == frames, fmt.Sprintf("%d frames", ar.FlowCounters.FrameCount)
	})
	var flows []gen.RxFlow
	rx.get("/packet/rx-flows?analyzer_id=mi", &flows)
	if len(flows) != 1 {
		t.Fatalf("%d rx flows, want 1", len(flows))
	}
	if s := flows[0].Counters.Sequence; s == nil || s.InOrder != frames || s.Dropped+s.Duplicate+s.Late+s.Reordered != 0 {
		t.Errorf("sequence %+v; want %d in order and nothing lost", s, frames)
	}
	idleWaits(t, rx, "client after the traffic")

	// Frames 250 ms apart, longer than a worker idles before it waits
	// (100 ms): each ends an interrupt wait, which receives it before it
	// returns to the worker's loop (the next rx burst hands it out). Every
	// one arrives, in order, once.
	rx.expect("POST", "/packet/analyzers/mi/stop", nil, 204)
	createAnalyzer(t, rx, "slow", "0", map[string]any{
		"protocol_counters": []string{"ethernet"}, "flow_counters": []string{"frame_count", "advanced_sequencing"}})
	var slow gen.PacketAnalyzerResult
	mustJSON(t, rx.expect("POST", "/packet/analyzers/slow/start", nil, 201), &slow)
	time.Sleep(300 * time.Millisecond) // the start's plan change woke it; waiting again
	waitsBefore := workerStats(t, rx)[0].InterruptSleeps
	const slowFrames = 12
	runToCompletion(t, tx, createGenerator(t, tx, "0", genConfig(map[string]any{"frames": slowFrames}, 4, sigDef("10:00:00:00:00:01", 9))))
	eventually(t, "the analyzer counts every slow frame", func() (bool, string) {
		n := analyzerResult(t, rx, slow.Id).FlowCounters.FrameCount
		return n == slowFrames, fmt.Sprintf("%d frames", n)
	})
	if w := workerStats(t, rx)[0]; w.InterruptSleeps-waitsBefore < slowFrames-2 {
		t.Errorf("%d interrupt waits for %d frames 250 ms apart, want one per frame; %+v", w.InterruptSleeps-waitsBefore, slowFrames, w)
	}
	rx.get("/packet/rx-flows?analyzer_id=slow", &flows)
	if len(flows) != 1 {
		t.Fatalf("%d rx flows of the slow frames, want 1", len(flows))
	}
	if s := flows[0].Counters.Sequence; s == nil || s.InOrder != slowFrames || s.Dropped+s.Duplicate+s.Late+s.Reordered != 0 {
		t.Errorf("slow frames' sequence %+v; want %d in order and nothing lost", s, slowFrames)
	}

	// The client goes and a new one comes (DPDK's memif client does not
	// reconnect by itself, its server accepts anew): a new connection, a
	// new ring and event fd, which the server's worker finds by itself
	// within a second or two (its analyzer is set up before, so no plan
	// change wakes it). The analyzer then counts frames the new client
	// sends after both were idle.
	createAnalyzer(t, tx, "back", "0", map[string]any{
		"protocol_counters": []string{"ethernet"}, "flow_counters": []string{"frame_count"}})
	var back gen.PacketAnalyzerResult
	mustJSON(t, tx.expect("POST", "/packet/analyzers/back/start", nil, 201), &back)
	time.Sleep(300 * time.Millisecond) // the start's plan change woke it; waiting again
	waiting, waits := time.Now(), workerStats(t, tx)[0].InterruptSleeps
	rx.stop()
	rx = startDaemon(t, "-l", "info", "-d", eal+"client")
	linkUp(rx)
	linkUp(tx)
	// A new wait, on the new ring, well before the one under way would
	// have ended by itself (10 s).
	for workerStats(t, tx)[0].InterruptSleeps == waits {
		if time.Since(waiting) > 8*time.Second {
			t.Fatalf("the server's worker did not wait on the new connection's ring within %v: %+v", time.Since(waiting), workerStats(t, tx)[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the server's worker waits on the new ring %v after its last wait began", time.Since(waiting).Round(time.Millisecond))
	idleWaits(t, tx, "server after the client's return")
	idleWaits(t, rx, "the new client")
	g = createGenerator(t, rx, "0", genConfig(map[string]any{"frames": 10}, 1000, sigDef("10:00:00:00:00:02", 8)))
	start := time.Now()
	runToCompletion(t, rx, g)
	eventually(t, "the server's analyzer counts the new client's frames", func() (bool, string) {
		n := analyzerResult(t, tx, back.Id).FlowCounters.FrameCount
		return n == 10, fmt.Sprintf("%d frames, want 10", n)
	})
	// Before the worker's wait of 10 s ends by itself.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("10 frames after the reconnection took %v to arrive", d)
	}
}
