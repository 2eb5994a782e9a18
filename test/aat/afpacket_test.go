package aat

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/api/gen"
)

// vethPeer is a veth pair whose one end (Host) stays in our namespace for
// openperfd's af_packet port and whose other end (Peer) lives in a network
// namespace made for the test. Everything is removed at cleanup.
type vethPeer struct {
	NS, Host, Peer string
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newVethPeer(t *testing.T) *vethPeer {
	t.Helper()
	requireRoot(t, "network namespaces")
	if _, err := exec.LookPath("ip"); err != nil {
		unmet(t, "iproute2 (ip) is missing")
	}
	id := os.Getpid() % 100000
	v := &vethPeer{NS: fmt.Sprintf("opd-aat-%d", id), Host: fmt.Sprintf("opdh%d", id), Peer: fmt.Sprintf("opdp%d", id)}
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", v.Host).Run()
		_ = exec.Command("ip", "netns", "del", v.NS).Run()
	})
	sh(t, "ip", "netns", "add", v.NS)
	sh(t, "ip", "link", "add", v.Host, "type", "veth", "peer", "name", v.Peer, "netns", v.NS)
	sh(t, "ip", "link", "set", v.Host, "up")
	sh(t, "ip", "netns", "exec", v.NS, "ip", "link", "set", v.Peer, "up")
	sh(t, "ip", "netns", "exec", v.NS, "ip", "addr", "add", "10.251.0.1/24", "dev", v.Peer)
	return v
}

// txChecksumOff turns off transmit checksum offload on the namespace's
// end (ethtool -K Peer tx off, without ethtool): otherwise the kernel
// sends TCP and UDP with the checksum left for the veth to finish, and
// an af_packet reader on the other end gets it unfinished.
func (v *vethPeer) txChecksumOff(t *testing.T) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		// The thread enters the namespace and is never unlocked, so Go
		// ends it rather than reuse it in the wrong namespace.
		runtime.LockOSThread()
		errc <- func() error {
			ns, err := os.Open("/var/run/netns/" + v.NS)
			if err != nil {
				return err
			}
			defer ns.Close()
			if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("setns: %w", err)
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			const ethtoolSTXCSUM = 0x17 // struct ethtool_value{cmd, data: 0}
			val := [2]uint32{ethtoolSTXCSUM, 0}
			var ifr struct { // struct ifreq with ifr_data
				name [unix.IFNAMSIZ]byte
				data unsafe.Pointer
				_    [16]byte
			}
			copy(ifr.name[:unix.IFNAMSIZ-1], v.Peer)
			ifr.data = unsafe.Pointer(&val)
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr))); e != 0 {
				return fmt.Errorf("SIOCETHTOOL ETHTOOL_STXCSUM %s: %w", v.Peer, e)
			}
			return nil
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("tx checksum offload off in %s: %v", v.NS, err)
	}
}

func (v *vethPeer) counter(t *testing.T, name string) int64 {
	t.Helper()
	out := sh(t, "ip", "netns", "exec", v.NS, "cat", "/sys/class/net/"+v.Peer+"/statistics/"+name)
	n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAfPacketPortTalksToTheKernel(t *testing.T) {
	v := newVethPeer(t)
	d := startDaemon(t, "-d", "--no-huge,--no-pci,--vdev=net_af_packet0,iface="+v.Host)
	var p gen.Port
	d.get("/ports/0", &p)
	if p.Config.Dpdk == nil || *p.Config.Dpdk.Driver != "net_af_packet" {
		t.Fatalf("port 0 config %+v, want driver net_af_packet", p.Config.Dpdk)
	}
	if p.Config.Dpdk.Interface == nil || *p.Config.Dpdk.Interface != v.Host {
		t.Errorf("port 0 interface %v, want %s", p.Config.Dpdk.Interface, v.Host)
	}

	// Out: our frames arrive at the kernel's end of the wire.
	before := v.counter(t, "rx_packets")
	d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": 200, "length": 100}, 202)
	eventually(t, "kernel peer receives 200 frames", func() (bool, string) {
		got := v.counter(t, "rx_packets") - before
		return got >= 200, fmt.Sprintf("%d frames", got)
	})

	// In: the kernel's ARP requests reach our port.
	_ = exec.Command("ip", "netns", "exec", v.NS, "ping", "-c", "3", "-i", "0.2", "-W", "1", "10.251.0.2").Run()
	eventually(t, "port counts frames from the kernel", func() (bool, string) {
		s := portStats(t, d, "0")
		return s.RxPackets >= 3 && s.RxBytes >= 3*42, fmt.Sprintf("%+v", s)
	})
}

// A kernel peer in a namespace pings (IPv4, IPv6, link-local) and arpings
// an interface on a port over the other end of its veth, through af_packet
// (with both ways frames reach the stack) and through af_xdp; and the
// interface pings the kernel.
func TestKernelPingsAndArpingsAnInterface(t *testing.T) {
	for _, c := range []struct{ pmd, strategy string }{
		{"af_packet", "direct"}, {"af_packet", "queued"}, {"af_xdp", "direct"},
	} {
		t.Run(c.pmd+"/"+c.strategy, func(t *testing.T) {
			v := newVethPeer(t)
			sh(t, "ip", "netns", "exec", v.NS, "ip", "-6", "addr", "add", "fd00:251::1/64", "dev", v.Peer, "nodad")
			d := startDaemon(t, "-d", "--no-huge,--no-pci,--vdev=net_"+c.pmd+"0,iface="+v.Host,
				"--modules.stack.rx-strategy", c.strategy)
			var p gen.Port
			d.get("/ports/0", &p)
			if p.Config.Dpdk == nil || *p.Config.Dpdk.Driver != "net_"+c.pmd {
				t.Fatalf("port 0 config %+v, want driver net_%s", p.Config.Dpdk, c.pmd)
			}
			d.expect("POST", "/interfaces", iface("k", "0", "02:00:00:00:0e:01",
				v4("10.251.0.2", 24, "10.251.0.1"), v6("fd00:251::2", 64)), 201)

			in := func(args ...string) string {
				t.Helper()
				return sh(t, append([]string{"ip", "netns", "exec", v.NS}, args...)...)
			}
			out := in("ping", "-c", "5", "-i", "0.2", "-W", "2", "10.251.0.2")
			if !strings.Contains(out, "5 received") {
				t.Fatalf("ping: %s", out)
			}
			out = in("arping", "-c", "3", "-w", "5", "-I", v.Peer, "10.251.0.2")
			if !strings.Contains(out, "Received 3 response") {
				t.Fatalf("arping: %s", out)
			}
			if !strings.Contains(strings.ToLower(out), "02:00:00:00:0e:01") {
				t.Errorf("arping answered by the wrong MAC: %s", out)
			}
			out = in("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "fd00:251::2")
			if !strings.Contains(out, "3 received") {
				t.Fatalf("ping -6: %s", out)
			}
			// Link-local, derived from the MAC by EUI-64.
			out = in("ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "fe80::ff:fe00:e01%"+v.Peer)
			if !strings.Contains(out, "2 received") {
				t.Fatalf("ping -6 link-local: %s", out)
			}
			// And the interface reaches the kernel.
			if r := ping(t, d, "k", "10.251.0.1", 3); r.Received != 3 {
				t.Fatalf("ping from the interface to the kernel: %+v", r)
			}
		})
	}
}

func TestSLAACGivesAnAutoInterfaceAnAddress(t *testing.T) {
	v := newVethPeer(t)
	if _, err := exec.LookPath("radvd"); err != nil {
		unmet(t, "radvd is missing")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "radvd.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`interface %s {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 4;
	prefix fd00:5aac::/64 { AdvOnLink on; AdvAutonomous on; };
};
`, v.Peer)), 0o600); err != nil {
		t.Fatal(err)
	}
	sh(t, "ip", "netns", "exec", v.NS, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	sh(t, "ip", "netns", "exec", v.NS, "ip", "-6", "addr", "add", "fd00:5aac::1/64", "dev", v.Peer, "nodad")
	radvd := exec.Command("ip", "netns", "exec", v.NS, "radvd", "-n", "-C", conf, "-p", filepath.Join(dir, "radvd.pid"), "-m", "stderr")
	if err := radvd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = radvd.Process.Kill(); _ = radvd.Wait() })

	d := startDaemon(t, "-d", "--no-huge,--no-pci,--vdev=net_af_packet0,iface="+v.Host)
	body := iface("auto", "0", "02:00:00:00:5a:01", map[string]any{"ipv6": map[string]any{"method": "auto"}})
	d.expect("POST", "/interfaces", body, 201)
	var addr string
	eventually(t, "SLAAC address from the router's prefix", func() (bool, string) {
		var it gen.Interface
		d.get("/interfaces/auto", &it)
		p := it.Config.Protocols[1].Ipv6
		if p == nil || p.Auto == nil || p.Auto.Status == nil || p.Auto.Status.Address == nil {
			return false, fmt.Sprintf("%+v", it.Config.Protocols)
		}
		addr = *p.Auto.Status.Address
		return strings.HasPrefix(addr, "fd00:5aac::"), addr
	})
	out := sh(t, "ip", "netns", "exec", v.NS, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", addr)
	if !strings.Contains(out, "3 received") {
		t.Fatalf("ping -6 %s: %s", addr, out)
	}
	var list []gen.Interface
	d.get("/interfaces?ipv6_address="+addr, &list)
	if len(list) != 1 {
		t.Errorf("ipv6_address filter finds %d interfaces for the SLAAC address", len(list))
	}
}
