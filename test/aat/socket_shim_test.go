package aat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/openperfd/openperfd/api/gen"
)

// shimLib returns the LD_PRELOAD shim: OPENPERFD_SHIM (make aat sets
// it), else one built from stack/socket/shim with gcc for this test run.
func shimLib(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OPENPERFD_SHIM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("OPENPERFD_SHIM: %v", err)
		}
		return p
	}
	srcs, _ := filepath.Glob("../../stack/socket/shim/*.c")
	out := filepath.Join(t.TempDir(), "libopenperfd-shim.so")
	return buildC(t, out, append([]string{"-O2", "-Wall", "-Werror", "-fPIC", "-shared", "-fvisibility=hidden"}, srcs...), "-ldl", "-lpthread")
}

// buildC compiles a C program or library with gcc.
func buildC(t *testing.T, out string, args []string, libs ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		unmet(t, "gcc not installed")
	}
	cmd := exec.Command("gcc", append(append(args, "-o", out), libs...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, b)
	}
	return out
}

// shimEnv is the environment of a program run under the shim against d.
// OpenPerf's variable names are used on purpose: the shim takes both.
func shimEnv(lib string, d *daemon, extra ...string) []string {
	env := append(os.Environ(), "LD_PRELOAD="+lib, "OP_PREFIX="+d.prefix)
	return append(env, extra...)
}

// shimPair starts a test-mode daemon with interface a on port 0 and b on
// port 1, one subnet, IPv4 and IPv6.
func shimPair(t *testing.T) *daemon {
	d := startDaemon(t, testMode)
	d.expect("POST", "/interfaces", iface("a", "0", "02:00:00:00:5a:01", v4("10.55.0.1", 24, ""), v6("fd00:55::1", 64)), 201)
	d.expect("POST", "/interfaces", iface("b", "1", "02:00:00:00:5b:01", v4("10.55.0.2", 24, ""), v6("fd00:55::2", 64)), 201)
	return d
}

func portRx(t *testing.T, d *daemon, id string) int64 {
	var p gen.Port
	d.get("/ports/"+id, &p)
	return p.Stats.RxPackets
}

func TestShimPingFromInterfaceAToB(t *testing.T) {
	lib := shimLib(t)
	pingBin, err := exec.LookPath("ping")
	if err != nil {
		unmet(t, "ping (iputils-ping) not installed")
	}
	// A copy: /usr/bin/ping has file capabilities, and the loader ignores
	// LD_PRELOAD for such programs run by other users (OpenPerf's tests
	// copy it the same way). ping tries an ICMP datagram socket first.
	myPing := filepath.Join(t.TempDir(), "ping")
	b, err := os.ReadFile(pingBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(myPing, b, 0o755); err != nil {
		t.Fatal(err)
	}
	d := shimPair(t)
	for _, c := range []struct {
		name, family, dst string
		nobody            bool // as an unprivileged user (uid 65534), via setpriv
	}{
		{"ipv4", "-4", "10.55.0.2", false},
		{"ipv6", "-6", "fd00:55::2", false},
		{"ipv4 unprivileged", "-4", "10.55.0.2", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			argv := []string{myPing, c.family, "-n", "-c", "3", "-i", "0.2", "-W", "2", c.dst}
			lib := lib
			if c.nobody {
				requireRoot(t, "switching to an unprivileged user")
				setpriv, err := exec.LookPath("setpriv")
				if err != nil {
					unmet(t, "setpriv (util-linux) not installed")
				}
				// The test's temp dirs are root's alone: copies where uid
				// 65534 can read them.
				dir, err := os.MkdirTemp("", "shim-nobody")
				if err != nil {
					t.Fatal(err)
				}
				defer os.RemoveAll(dir)
				_ = os.Chmod(dir, 0o755)
				for _, f := range [][2]string{{lib, "shim.so"}, {myPing, "ping"}} {
					b, err := os.ReadFile(f[0])
					if err != nil || os.WriteFile(filepath.Join(dir, f[1]), b, 0o755) != nil {
						t.Fatalf("copy %s: %v", f[0], err)
					}
				}
				lib = filepath.Join(dir, "shim.so")
				argv[0] = filepath.Join(dir, "ping")
				argv = append([]string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}, argv...)
			}
			rx1, bRx := portRx(t, d, "1"), ifaceRx(t, d, "b")
			// A capture on port 1 keeps the echo requests that arrive.
			capID := "ping" + strings.ReplaceAll(c.name, " ", "-")
			d.expect("POST", "/packet/captures", map[string]any{"id": capID, "source_id": "1",
				"config": map[string]any{"mode": "buffer", "buffer_size": 1 << 20, "filter": "icmp or icmp6"}}, 201)
			var cr gen.PacketCaptureResult
			mustJSON(t, d.expect("POST", "/packet/captures/"+capID+"/start", nil, 201), &cr)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Env = shimEnv(lib, d, "OP_BINDTODEVICE=a")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("ping under the shim: %v\n%s\ndaemon:\n%s", err, out, tail(d.stderr.String(), 2000))
			}
			if !strings.Contains(string(out), "3 packets transmitted, 3 received") {
				t.Fatalf("ping: %s", out)
			}
			// The TTL / hop limit comes as the control message ping asked for.
			if !strings.Contains(string(out), "ttl=64") {
				t.Errorf("ping shows no ttl=64: %s", out)
			}
			// The requests crossed the ring pair: port 1 received them (and
			// the neighbour resolution), interface b too.
			if got := portRx(t, d, "1") - rx1; got < 3 {
				t.Errorf("port 1 received %d frames during the ping, want >= 3", got)
			}
			if got := ifaceRx(t, d, "b") - bRx; got < 3 {
				t.Errorf("interface b received %d frames, want >= 3", got)
			}
			d.expect("POST", "/packet/captures/"+capID+"/stop", nil, 204)
			if n := echoRequestsTo(t, d, cr.Id, c.dst); n != 3 {
				t.Errorf("capture on port 1 holds %d echo requests to %s, want 3", n, c.dst)
			}
		})
	}
}

// udppeer builds stack/socket/shim/testdata/udppeer.c: a Go program cannot be
// shimmed (it makes its own syscalls), a C one can.
func udppeer(t *testing.T) string {
	return buildC(t, filepath.Join(t.TempDir(), "udppeer"), []string{"-O2", "-Wall", "../../stack/socket/shim/testdata/udppeer.c"})
}

// ownGroup makes cmd lead a process group of its own, so killGroup ends
// the children it forks too (nginx's workers, forkexec's child): a child
// left running would keep the test's pipes open and its Wait waiting.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
}

// killGroup kills cmd's process group and reaps cmd.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
}

// startShimmed starts a program under the shim and waits for "ready".
func startShimmed(t *testing.T, env []string, bin string, args ...string) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killGroup(cmd) })
	r := bufio.NewReader(stdout)
	ready := make(chan string, 1)
	go func() {
		line, _ := r.ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "ready" {
			t.Fatalf("%s %v: %q, stderr: %s", bin, args, line, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s %v: not ready in 10 s; stderr: %s", bin, args, stderr.String())
	}
	return cmd, r, stdin
}

func TestShimUDPBetweenTwoShimmedProcesses(t *testing.T) {
	lib, peer := shimLib(t), udppeer(t)
	d := shimPair(t)
	for i, c := range []struct{ name, mode, server, local string }{
		{"ipv4", "server", "10.55.0.2", "10.55.0.1"},    // waits with poll
		{"ipv6", "eserver", "fd00:55::2", "fd00:55::1"}, // waits with epoll
	} {
		t.Run(c.name, func(t *testing.T) {
			port := fmt.Sprint(5000 + i)
			// The server binds b's address; the client has no device and
			// is placed on a, the interface with a route to b that is not b.
			srv, srvOut, _ := startShimmed(t, shimEnv(lib, d), peer, c.mode, c.server, port, "20")
			rx1 := portRx(t, d, "1")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cli := exec.CommandContext(ctx, peer, "client", c.server, port, "20")
			cli.Env = shimEnv(lib, d)
			out, err := cli.CombinedOutput()
			if err != nil {
				t.Fatalf("client: %v\n%s", err, out)
			}
			if want := "local " + c.local + "\nok\n"; string(out) != want {
				t.Fatalf("client said %q, want %q", out, want)
			}
			line, _ := srvOut.ReadString('\n')
			if strings.TrimSpace(line) != "ok" {
				t.Fatalf("server said %q", line)
			}
			if err := srv.Wait(); err != nil {
				t.Fatalf("server: %v", err)
			}
			if got := portRx(t, d, "1") - rx1; got < 20 {
				t.Errorf("port 1 received %d frames, want >= 20 datagrams", got)
			}
		})
	}
}

func TestShimSocketsListedAndGoneWhenTheProcessDies(t *testing.T) {
	lib, peer := shimLib(t), udppeer(t)
	d := shimPair(t)
	fdsBefore := daemonFDs(t, d)
	hold, _, _ := startShimmed(t, shimEnv(lib, d), peer, "hold", "10.55.0.1", "6000")
	var socks []gen.SocketStats
	d.get("/sockets", &socks)
	if len(socks) != 1 {
		t.Fatalf("/sockets: %d sockets, want 1: %+v", len(socks), socks)
	}
	s := socks[0]
	want := fmt.Sprintf("%d-", hold.Process.Pid)
	if s.Id == nil || !regexp.MustCompile(`^\d+-\d+$`).MatchString(*s.Id) || !strings.HasPrefix(*s.Id, want) {
		t.Fatalf("socket id %v, want %s<sid>", s.Id, want)
	}
	if *s.Pid != int32(hold.Process.Pid) || *s.Protocol != gen.SocketStatsProtocolUdp || *s.LocalIpAddress != "10.55.0.1" ||
		*s.LocalPort != 6000 || *s.XInterfaceId != "a" || *s.State != "bound" {
		t.Fatalf("socket: %s", mustJSONString(s))
	}
	var one gen.SocketStats
	d.get("/sockets/"+*s.Id, &one)
	if *one.Id != *s.Id {
		t.Fatalf("GET /sockets/%s: %s", *s.Id, mustJSONString(one))
	}
	d.expect("GET", "/sockets/1-999999", nil, 404)
	// kill -9: no close, no exit handler; the daemon sees the control
	// connection drop and closes the socket.
	_ = hold.Process.Kill()
	_ = hold.Wait()
	noSocketsLeft(t, d, "the dead process's socket leaves /sockets")
	// Its memfd, eventfds and control connection are closed too.
	eventually(t, "the daemon's fds back to their count before", func() (bool, string) {
		n := daemonFDs(t, d)
		return n <= fdsBefore, fmt.Sprintf("%d fds, %d before", n, fdsBefore)
	})
	// The port is free again: a new process binds it.
	startShimmed(t, shimEnv(lib, d), peer, "hold", "10.55.0.1", "6000")
}

// socat, an unmodified Debian tool, on both ends: a one-datagram echo
// server on b and a client sending from a.
func TestShimSocatUDPEcho(t *testing.T) {
	lib := shimLib(t)
	if _, err := exec.LookPath("socat"); err != nil {
		unmet(t, "socat not installed")
	}
	d := shimPair(t)
	for _, c := range []struct{ name, server, client string }{
		{"ipv4", "UDP4-RECVFROM:7100,bind=10.55.0.2", "UDP4:10.55.0.2:7100"},
		{"ipv6", "UDP6-RECVFROM:7101,bind=[fd00:55::2]", "UDP6:[fd00:55::2]:7101"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			srv := exec.CommandContext(ctx, "socat", "-T", "5", c.server, "SYSTEM:cat")
			srv.Env = shimEnv(lib, d)
			var srvOut syncBuffer
			srv.Stdout, srv.Stderr = &srvOut, &srvOut
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
			eventually(t, "socat's server socket in /sockets", func() (bool, string) {
				var socks []gen.SocketStats
				d.get("/sockets", &socks)
				for _, s := range socks {
					if s.LocalPort != nil && *s.LocalPort >= 7100 && *s.LocalPort <= 7101 {
						return true, ""
					}
				}
				return false, mustJSONString(socks)
			})
			rx1 := portRx(t, d, "1")
			// stdin stays open until the echo is back: socat gives up
			// waiting half a second after its stdin ends.
			cli, in, out := startPiped(t, shimEnv(lib, d, "OP_BINDTODEVICE=a"), "socat", "-T", "5", "-", c.client)
			if _, err := io.WriteString(in, "hello through the shim\n"); err != nil {
				t.Fatal(err)
			}
			line := readLine(t, out, 10*time.Second)
			in.Close()
			if line != "hello through the shim\n" {
				t.Fatalf("socat client got %q; server: %s", line, srvOut.String())
			}
			if err := cli.Wait(); err != nil {
				t.Fatalf("socat client: %v", err)
			}
			if got := portRx(t, d, "1") - rx1; got < 1 {
				t.Errorf("port 1 received %d frames, want the datagram", got)
			}
		})
	}
}

// daemonFDs counts the daemon's open file descriptors.
func daemonFDs(t *testing.T, d *daemon) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// startPiped starts a program with its stdin and stdout on pipes.
func startPiped(t *testing.T, env []string, bin string, args ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	in, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, in, bufio.NewReader(stdout)
}

// readLine reads one line, failing the test after timeout.
func readLine(t *testing.T, r *bufio.Reader, timeout time.Duration) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		line, _ := r.ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		return line
	case <-time.After(timeout):
		t.Fatalf("no line in %v", timeout)
		return ""
	}
}

// A sender faster than the stack fills its transmit ring, sleeps until
// the daemon makes room (the space eventfd) and finishes; the datagrams
// the stack could carry arrive.
func TestShimSenderWaitsForRoomAndFinishes(t *testing.T) {
	lib, peer := shimLib(t), udppeer(t)
	d := shimPair(t)
	_, sinkOut, _ := startShimmed(t, shimEnv(lib, d), peer, "sink", "10.55.0.2", "7300", "30000")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	blast := exec.CommandContext(ctx, peer, "blast", "10.55.0.2", "7300", "30000")
	blast.Env = shimEnv(lib, d, "OP_BINDTODEVICE=a")
	out, err := blast.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "sent 30000 ") {
		t.Fatalf("blast: %v %s", err, out)
	}
	line := readLine(t, sinkOut, 15*time.Second)
	var got int
	if _, err := fmt.Sscanf(line, "received %d", &got); err != nil || got < 1000 {
		t.Fatalf("sink: %q", line)
	}
	t.Logf("%s%s", out, line)
}

// A non-blocking datagram sender that finds its transmit ring full
// (EAGAIN) sees its fd not writable, as a kernel socket with a full send
// buffer, until the daemon makes room: then poll says writable and it
// finishes.
func TestShimDatagramFdWritableOnlyWithRoom(t *testing.T) {
	lib, peer := shimLib(t), udppeer(t)
	d := shimPair(t)
	startShimmed(t, shimEnv(lib, d), peer, "sink", "10.55.0.2", "7301", "30000")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	blast := exec.CommandContext(ctx, peer, "nblast", "10.55.0.2", "7301", "30000")
	blast.Env = shimEnv(lib, d, "OP_BINDTODEVICE=a")
	out, err := blast.CombinedOutput()
	var sent, eagain, unwritable int
	if _, serr := fmt.Sscanf(string(out), "sent %d eagain %d unwritable %d", &sent, &eagain, &unwritable); err != nil || serr != nil || sent != 30000 {
		t.Fatalf("nblast: %v %s", err, out)
	}
	if eagain == 0 || unwritable == 0 {
		t.Fatalf("nblast: %s: want the ring full at times and the fd then not writable", out)
	}
	t.Logf("%s", out)
}

// A program blocked in a shim call when the daemon goes (stopped, or
// killed with -9) gets an error instead of waiting for good.
func TestShimBlockedCallFailsWhenTheDaemonGoes(t *testing.T) {
	lib, peer := shimLib(t), udppeer(t)
	for _, kill := range []bool{false, true} {
		t.Run(map[bool]string{false: "SIGTERM", true: "SIGKILL"}[kill], func(t *testing.T) {
			d := shimPair(t)
			w, out, _ := startShimmed(t, shimEnv(lib, d), peer, "wait", "10.55.0.2", "7400")
			if kill {
				_ = d.cmd.Process.Kill()
				<-d.waited
				d.exited = true
				// What a killed daemon leaves for the next one with its prefix.
				defer os.Remove(filepath.Join("/tmp/.com.spirent.openperf", "server."+d.prefix))
			} else if code, _ := d.stop(); code != 0 {
				t.Fatalf("openperfd exited %d", code)
			}
			if line := readLine(t, out, 10*time.Second); line != "recv: Network is down\n" {
				t.Fatalf("blocked recv: %q", line)
			}
			_ = w.Wait()
		})
	}
}

// OpenPerf's dataplane tests start ping with only LD_PRELOAD and
// OP_BINDTODEVICE in its environment, against a daemon started without a
// prefix: the shim and the daemon then meet at OpenPerf's unprefixed
// control socket.
func TestShimInOpenPerfsSlot(t *testing.T) {
	lib := shimLib(t)
	pingBin, err := exec.LookPath("ping")
	if err != nil {
		unmet(t, "ping (iputils-ping) not installed")
	}
	port := freePort(t)
	d := &daemon{t: t, base: "http://127.0.0.1:" + strconv.Itoa(port), stderr: &syncBuffer{}, waited: make(chan error, 1)}
	// No -P: the daemon makes its own DPDK prefix and takes the
	// unprefixed control socket.
	d.cmd = exec.Command(binPath, "-p", strconv.Itoa(port), testMode, "-l", "info")
	d.cmd.Stdout, d.cmd.Stderr = d.stderr, d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.waited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if !d.exited {
			if code, _ := d.stop(); code != 0 {
				t.Errorf("openperfd exited %d", code)
			}
		}
	})
	eventually(t, "openperfd answers", func() (bool, string) {
		resp, err := http.Get(d.base + "/version")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	want := `"path":"` + filepath.Join("/tmp/.com.spirent.openperf", "server") + `"`
	if !strings.Contains(d.stderr.String(), want) {
		t.Fatalf("the socket server is not on OpenPerf's unprefixed path (another live instance holds it?); log:\n%s", tail(d.stderr.String(), 2000))
	}
	d.expect("POST", "/interfaces", iface("client-v4", "0", "02:00:00:00:6a:01", v4("10.66.0.1", 24, "")), 201)
	d.expect("POST", "/interfaces", iface("server-v4", "1", "02:00:00:00:6b:01", v4("10.66.0.2", 24, "")), 201)
	myPing := filepath.Join(t.TempDir(), "ping")
	b, err := os.ReadFile(pingBin)
	if err != nil || os.WriteFile(myPing, b, 0o755) != nil {
		t.Fatalf("copy ping: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, myPing, "-c", "2", "-i", "0.2", "10.66.0.2")
	cmd.Env = []string{"LD_PRELOAD=" + lib, "OP_BINDTODEVICE=client-v4"} // nothing else, as OpenPerf's spec
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
}

// tcppeer builds stack/socket/shim/testdata/tcppeer.c.
func tcppeer(t *testing.T) string {
	return buildC(t, filepath.Join(t.TempDir(), "tcppeer"), []string{"-O2", "-Wall", "../../stack/socket/shim/testdata/tcppeer.c"}, "-lpthread")
}

// A refused connect fails with ECONNREFUSED; a connect blocked on a host
// that never answers does not hold the process's other socket calls (the
// daemon answers connect at once and reports through the socket's fd).
func TestShimTCPConnectRefusedAndBlockedConnectHoldsNothing(t *testing.T) {
	lib, peer := shimLib(t), tcppeer(t)
	d := shimPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli := exec.CommandContext(ctx, peer, "async", "10.55.0.2", "7260", "10.55.0.99")
	cli.Env = shimEnv(lib, d)
	out, err := cli.CombinedOutput()
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("tcppeer async: %v %q", err, out)
	}
	noSocketsLeft(t, d, "the process's sockets leave /sockets")
}

// A TCP exchange between two shimmed processes: a non-blocking accept
// (EAGAIN, then poll) and connect (EINPROGRESS, poll, SO_ERROR), 3 MB in
// non-blocking writev calls larger than what the rings take at once (on
// EAGAIN the client polls for POLLOUT: the fd turns writable when the
// daemon makes room), shutdown(SHUT_WR) read as EOF on each side.
func TestShimTCPExchange(t *testing.T) {
	lib, peer := shimLib(t), tcppeer(t)
	d := shimPair(t)
	for i, c := range []struct{ name, server string }{{"ipv4", "10.55.0.2"}, {"ipv6", "fd00:55::2"}} {
		t.Run(c.name, func(t *testing.T) {
			port := fmt.Sprint(7200 + i)
			srv, srvOut, _ := startShimmed(t, shimEnv(lib, d), peer, "server", c.server, port)
			rx1 := portRx(t, d, "1")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cli := exec.CommandContext(ctx, peer, "client", c.server, port, "3000000")
			cli.Env = shimEnv(lib, d)
			out, err := cli.CombinedOutput()
			if err != nil || string(out) != "got 3000000\nok\n" {
				t.Fatalf("client: %v %q", err, out)
			}
			if line := readLine(t, srvOut, 10*time.Second); line != "ok 3000000\n" {
				t.Fatalf("server said %q", line)
			}
			if err := srv.Wait(); err != nil {
				t.Fatalf("server: %v", err)
			}
			// 3 MB in segments of at most 1460 bytes crossed port 1.
			if got := portRx(t, d, "1") - rx1; got < 3000000/1500 {
				t.Errorf("port 1 received %d frames, want >= %d", got, 3000000/1500)
			}
		})
	}
}

// A process killed with a listener and both ends of a connection open
// leaves nothing behind: /sockets empty, the daemon's fds as before.
func TestShimTCPKilledProcessLeavesNothing(t *testing.T) {
	lib, peer := shimLib(t), tcppeer(t)
	d := shimPair(t)
	fdsBefore := daemonFDs(t, d)
	p, _, _ := startShimmed(t, shimEnv(lib, d), peer, "pair", "10.55.0.2", "10.55.0.1", "7250")
	var socks []gen.SocketStats
	d.get("/sockets", &socks)
	if len(socks) != 3 {
		t.Fatalf("/sockets: %d sockets, want 3: %s", len(socks), mustJSONString(socks))
	}
	for _, s := range socks {
		if *s.Protocol != gen.SocketStatsProtocolTcp {
			t.Fatalf("socket: %s", mustJSONString(s))
		}
	}
	_ = p.Process.Kill()
	_ = p.Wait()
	noSocketsLeft(t, d, "the dead process's sockets leave /sockets")
	eventually(t, "the daemon's fds back to their count before", func() (bool, string) {
		n := daemonFDs(t, d)
		return n <= fdsBefore, fmt.Sprintf("%d fds, %d before", n, fdsBefore)
	})
}

// curl under the shim fetches a page from nginx under the shim: two
// unmodified Debian programs over TCP from interface a to b. nginx runs
// as it does by default, a master and forked workers: the workers accept
// on the master's listener (control calls on inherited sockets), and when
// the master is stopped every socket leaves the daemon. sendfile is off:
// the shim does not intercept it.
func TestShimCurlFromNginx(t *testing.T) {
	lib := shimLib(t)
	if _, err := exec.LookPath("curl"); err != nil {
		unmet(t, "curl not installed")
	}
	d := shimPair(t)
	ng, page, srvOut := startShimmedNginx(t, lib, d, "10.55.0.2", nil)
	rx1 := portRx(t, d, "1")
	for i := 0; i < 4; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		cli := exec.CommandContext(ctx, "curl", "-sS", "--max-time", "10", "http://10.55.0.2:8080/index.html")
		cli.Env = shimEnv(lib, d)
		var stderr syncBuffer
		cli.Stderr = &stderr
		out, err := cli.Output()
		cancel()
		if err != nil || string(out) != page {
			t.Fatalf("curl #%d: %v, %d bytes (want %d); curl: %s; nginx: %s", i, err, len(out), len(page), stderr.String(), srvOut.String())
		}
	}
	if got := portRx(t, d, "1") - rx1; got < 10 {
		t.Errorf("port 1 received %d frames, want the requests", got)
	}
	// The master and its two workers hold the listener: stopping the
	// master (it stops its workers) leaves nothing in the daemon.
	if err := ng.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ng.Wait(); err != nil {
		t.Errorf("nginx master: %v\n%s", err, srvOut.String())
	}
	noSocketsLeft(t, d, "no sockets once nginx stopped")
}

// A kernel peer reaches a shimmed nginx: openperfd, not in test mode,
// has an af_packet port on the host end of a veth pair whose other end
// is in a network namespace; nginx (master and workers) listens on the
// port's interface, and the namespace's plain curl and ping reach it.
func TestShimNginxServesAKernelPeer(t *testing.T) {
	lib := shimLib(t)
	if _, err := exec.LookPath("curl"); err != nil {
		unmet(t, "curl not installed")
	}
	v := newVethPeer(t)
	// The kernel leaves a TCP checksum to the veth's "hardware", which
	// af_packet hands on unfinished: the namespace's end computes it.
	v.txChecksumOff(t)
	d := startDaemon(t, "-d", "--no-huge,--no-pci,--vdev=net_af_packet0,iface="+v.Host)
	d.expect("POST", "/interfaces", iface("k", "0", "02:00:00:00:0e:02", v4("10.251.0.2", 24, "10.251.0.1")), 201)
	if out := sh(t, "ip", "netns", "exec", v.NS, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.251.0.2"); !strings.Contains(out, "3 received") {
		t.Fatalf("ping from the namespace: %s", out)
	}
	ng, page, srvOut := startShimmedNginx(t, lib, d, "10.251.0.2", []string{"OPENPERFD_BINDTODEVICE=k"})
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		cli := exec.CommandContext(ctx, "ip", "netns", "exec", v.NS, "curl", "-sS", "--max-time", "10", "http://10.251.0.2:8080/index.html")
		var stderr syncBuffer
		cli.Stderr = &stderr
		out, err := cli.Output()
		cancel()
		if err != nil || string(out) != page {
			t.Fatalf("kernel curl #%d: %v, %d bytes (want %d); curl: %s; nginx: %s", i, err, len(out), len(page), stderr.String(), srvOut.String())
		}
	}
	if err := ng.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ng.Wait(); err != nil {
		t.Errorf("nginx master: %v\n%s", err, srvOut.String())
	}
	noSocketsLeft(t, d, "no sockets once nginx stopped")
}

// startShimmedNginx runs nginx under the shim with a master and two
// workers (its default shape), serving a 2 MB page on addr:8080, with
// env added to the shim's (nil: none). It returns the master, the page
// and what nginx prints.
func startShimmedNginx(t *testing.T, lib string, d *daemon, addr string, env []string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	ng, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			unmet(t, "nginx not installed (nginx-light)")
		}
		ng = "/usr/sbin/nginx"
	}
	dir := t.TempDir()
	page := strings.Repeat("a page served through the shim\n", 64000) // 2 MB: more than the rings hold, so nginx waits for room
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	user := "" // as root, the workers would be nobody, who cannot read the test's directory
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`daemon off;
%[3]s
master_process on;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server { listen %[2]s:8080; root %[1]s; }
}
`, dir, addr, user)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(ng, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	srv.Env = shimEnv(lib, d, env...)
	out := startShimmedServer(t, lib, d, 8080, srv)
	return srv, page, out
}

// forkexec builds stack/socket/shim/testdata/forkexec.c.
func forkexec(t *testing.T) string {
	return buildC(t, filepath.Join(t.TempDir(), "forkexec"), []string{"-O2", "-Wall", "../../stack/socket/shim/testdata/forkexec.c"})
}

// A forked child makes control calls on its parent's socket, holds it
// after the parent closed its fd, makes a socket of its own (listed with
// its pid), and, killed with -9, leaves nothing in the daemon.
func TestShimForkedChildHoldsTheSocket(t *testing.T) {
	lib, fe := shimLib(t), forkexec(t)
	d := shimPair(t)
	fdsBefore := daemonFDs(t, d)
	parent, out, _ := startShimmed(t, shimEnv(lib, d), fe, "fork", "10.55.0.1", "6100")
	line := strings.TrimSpace(readLine(t, out, 5*time.Second))
	var pid, port int
	if _, err := fmt.Sscanf(line, "%d port %d", &pid, &port); err != nil || port != 6100 {
		t.Fatalf("the child's report: %q", line)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	// The parent's socket, held by the child alone now, and the child's
	// own socket, shown with the child's pid.
	var socks []gen.SocketStats
	d.get("/sockets", &socks)
	if len(socks) != 2 || *socks[0].State != "bound" || *socks[0].LocalPort != 6100 || int(*socks[1].Pid) != pid {
		t.Fatalf("after the parent's close, /sockets: %s (child %d)", mustJSONString(socks), pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	noSocketsLeft(t, d, "the killed child's socket leaves /sockets")
	// The child's memfd, eventfds and control connection are closed;
	// the parent's connection goes with the parent.
	_ = parent.Process.Kill()
	_ = parent.Wait()
	eventually(t, "the daemon's fds back to their count before", func() (bool, string) {
		n := daemonFDs(t, d)
		return n <= fdsBefore, fmt.Sprintf("%d fds, %d before", n, fdsBefore)
	})
}

// A forking TCP server (accept, fork, the parent closes its copy at once,
// the child answers): the parent's close does not end the child's
// connection, and when all is done nothing is left in the daemon.
func TestShimForkingServerParentClosesChildAnswers(t *testing.T) {
	lib, fe := shimLib(t), forkexec(t)
	d := shimPair(t)
	srv, out, _ := startShimmed(t, shimEnv(lib, d), fe, "fserve", "10.55.0.2", "6102", "3")
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cli := exec.CommandContext(ctx, fe, "fget", "10.55.0.2", "6102")
		cli.Env = shimEnv(lib, d, "OP_BINDTODEVICE=a")
		got, err := cli.CombinedOutput()
		cancel()
		if err != nil || !strings.HasPrefix(string(got), "hello from ") {
			t.Fatalf("client #%d: %v %q", i, err, got)
		}
	}
	if line := strings.TrimSpace(readLine(t, out, 10*time.Second)); line != "served 3" {
		t.Fatalf("server: %q", line)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("server: %v", err)
	}
	noSocketsLeft(t, d, "no sockets once the server and its children ended")
}

// A shim socket does not survive exec (as in OpenPerf, whose shim keeps
// nothing across it): in the new image an fd without FD_CLOEXEC is a
// plain eventfd that fails socket calls cleanly (forkexec checks it), one
// with FD_CLOEXEC is gone, and the daemon has let the old socket go.
func TestShimSocketAfterExec(t *testing.T) {
	lib, fe := shimLib(t), forkexec(t)
	d := shimPair(t)
	cmd, out, _ := startShimmed(t, shimEnv(lib, d), fe, "exec", "10.55.0.1", "6101")
	if line := strings.TrimSpace(readLine(t, out, 5*time.Second)); line != "after ok" {
		t.Fatalf("after exec: %q", line)
	}
	var socks []gen.SocketStats
	d.get("/sockets", &socks)
	if len(socks) != 1 || int(*socks[0].Pid) != cmd.Process.Pid || *socks[0].LocalPort != 6101 {
		t.Fatalf("after exec, /sockets: %s", mustJSONString(socks))
	}
}

// iperf3 TCP between two shimmed processes, client on a, server on b,
// for two seconds; the bytes it reports arrived, and the figure is logged.
func TestShimIperf3TCP(t *testing.T) {
	out := runShimmedIperf3(t, 5211)
	var res struct {
		End struct {
			SumReceived struct {
				Bytes         int64   `json:"bytes"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("iperf3 JSON: %v\n%s", err, out)
	}
	if res.End.SumReceived.Bytes < 1<<20 {
		t.Fatalf("iperf3: %d bytes received, want >= 1 MiB\n%s", res.End.SumReceived.Bytes, out)
	}
	t.Logf("iperf3 TCP a->b under the shim: %d bytes, %.2f Gbit/s", res.End.SumReceived.Bytes, res.End.SumReceived.BitsPerSecond/1e9)
}

// startShimmedServer starts srv under the shim (its own Env if set, else
// shimEnv's; killed at the test's end)
// and waits for its listener on port to show in /sockets. The buffer
// holds what it prints.
func startShimmedServer(t *testing.T, lib string, d *daemon, port int, srv *exec.Cmd) *syncBuffer {
	t.Helper()
	if srv.Env == nil {
		srv.Env = shimEnv(lib, d)
	}
	out := &syncBuffer{}
	srv.Stdout, srv.Stderr = out, out
	ownGroup(srv)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killGroup(srv) })
	name := filepath.Base(srv.Path)
	eventually(t, name+"'s listener in /sockets", func() (bool, string) {
		var socks []gen.SocketStats
		d.get("/sockets", &socks)
		for _, s := range socks {
			if s.LocalPort != nil && int(*s.LocalPort) == port {
				return true, ""
			}
		}
		return false, mustJSONString(socks) + out.String()
	})
	return out
}

// echoRequestsTo counts the ICMP or ICMPv6 echo requests to dst in a
// capture result's pcapng.
func echoRequestsTo(t *testing.T, d *daemon, resultID, dst string) int {
	t.Helper()
	_, r := capturePcap(t, d, resultID)
	want := net.ParseIP(dst)
	n := 0
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && ip.DstIP.Equal(want) {
			if e, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok && e.TypeCode.Type() == layers.ICMPv4TypeEchoRequest {
				n++
			}
		}
		if ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok && ip.DstIP.Equal(want) {
			if e, ok := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok && e.TypeCode.Type() == layers.ICMPv6TypeEchoRequest {
				n++
			}
		}
	}
	return n
}

// TestShimIperf3UDP: iperf3's UDP test between two shimmed processes, a
// to b at 50 Mbit/s for 2 s: the server receives the datagrams and
// reports (almost) none lost.
func TestShimIperf3UDP(t *testing.T) {
	out := runShimmedIperf3(t, 5213, "-u", "-b", "50M")
	var res struct {
		End struct {
			Sum struct {
				Packets     int64   `json:"packets"`
				LostPackets int64   `json:"lost_packets"`
				LostPercent float64 `json:"lost_percent"`
				JitterMs    float64 `json:"jitter_ms"`
			} `json:"sum"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("iperf3 JSON: %v\n%s", err, out)
	}
	s := res.End.Sum
	if s.Packets < 1000 || s.LostPercent > 5 {
		t.Fatalf("iperf3 -u: %d datagrams, %d lost (%.2f%%), want >= 1000 with <= 5%% lost\n%s", s.Packets, s.LostPackets, s.LostPercent, out)
	}
	t.Logf("iperf3 UDP a->b under the shim: %d datagrams, %d lost (%.2f%%), jitter %.3f ms", s.Packets, s.LostPackets, s.LostPercent, s.JitterMs)
}

// noSocketsLeft waits until the daemon lists no shim socket; what says
// what should have closed them.
func noSocketsLeft(t *testing.T, d *daemon, what string) {
	t.Helper()
	eventually(t, what, func() (bool, string) {
		var now []gen.SocketStats
		d.get("/sockets", &now)
		return len(now) == 0, mustJSONString(now)
	})
}

// runShimmedIperf3 runs an iperf3 server (one test) under the shim on
// interface b and a client under the shim on a, with the client's extra
// arguments, for 2 s; it returns the client's JSON report, after the
// server has ended cleanly.
func runShimmedIperf3(t *testing.T, port int, clientArgs ...string) []byte {
	t.Helper()
	lib := shimLib(t)
	if _, err := exec.LookPath("iperf3"); err != nil {
		unmet(t, "iperf3 not installed")
	}
	d := shimPair(t)
	p := strconv.Itoa(port)
	srv := exec.Command("iperf3", "-s", "-1", "-B", "10.55.0.2", "-p", p)
	srvOut := startShimmedServer(t, lib, d, port, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"-c", "10.55.0.2", "-p", p, "-t", "2", "-J"}, clientArgs...)
	cli := exec.CommandContext(ctx, "iperf3", args...)
	cli.Env = shimEnv(lib, d)
	out, err := cli.Output()
	if err != nil {
		t.Fatalf("iperf3 %v: %v\n%s\nserver: %s", clientArgs, err, out, srvOut.String())
	}
	if err := srv.Wait(); err != nil {
		t.Errorf("iperf3 server: %v\n%s", err, srvOut.String())
	}
	return out
}
