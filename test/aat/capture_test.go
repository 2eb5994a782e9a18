package aat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file holds what the tests need to look at the frames openperfd puts
// on a wire: an AF_PACKET capture on the kernel end of a veth pair (inside
// the test's network namespace) and a classic pcap writer for tshark.

// wireFrame is one captured frame, as it was on the wire (VLAN tags the kernel
// took off are put back), without the FCS.
type wireFrame struct {
	TS   time.Time
	Data []byte
}

// capture reads every frame that arrives at one interface of a network
// namespace through an AF_PACKET raw socket the test opens itself.
type capture struct {
	t      *testing.T
	fd     int
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	frames []wireFrame
	err    error
}

// inNetns runs f on an OS thread moved into the named network namespace
// (ip netns add NAME). The thread goes back to our namespace afterwards; if
// that fails it is left locked, so the runtime ends it with the goroutine.
func inNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("setns back: %w", err)) // thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// startCapture opens the socket on v.Peer and reads until stopCapture.
// Frames the peer sends itself are not captured.
func startCapture(t *testing.T, v *vethPeer) *capture {
	t.Helper()
	c := &capture{t: t, fd: -1, stop: make(chan struct{}), done: make(chan struct{})}
	err := inNetns(v.NS, func() error {
		ifc, err := net.InterfaceByName(v.Peer)
		if err != nil {
			return err
		}
		// Protocol 0 receives nothing until bind, so no frame of another
		// interface slips in.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("AF_PACKET socket: %w", err)
		}
		c.fd = fd
		for _, o := range []struct{ level, opt, v int }{
			{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 64 << 20},
			{unix.SOL_PACKET, unix.PACKET_AUXDATA, 1},
			{unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1},
		} {
			if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
				return fmt.Errorf("setsockopt %d/%d: %w", o.level, o.opt, err)
			}
		}
		tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index})
	})
	if err != nil {
		if c.fd >= 0 {
			unix.Close(c.fd)
		}
		t.Fatalf("capture on %s in %s: %v", v.Peer, v.NS, err)
	}
	go c.run()
	t.Cleanup(func() { c.close() })
	return c
}

func (c *capture) run() {
	defer close(c.done)
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.TpacketAuxdata{}))))
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		n, oobn, flags, from, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		if sa, ok := from.(*unix.SockaddrLinklayer); ok && sa.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if flags&unix.MSG_TRUNC != 0 {
			c.mu.Lock()
			c.err = fmt.Errorf("a %d-byte buffer truncated a frame", len(buf))
			c.mu.Unlock()
			continue
		}
		c.add(withVLANTag(buf[:n], oob[:oobn]))
	}
}

func (c *capture) add(data []byte) {
	c.mu.Lock()
	c.frames = append(c.frames, wireFrame{TS: time.Now(), Data: data})
	c.mu.Unlock()
}

// withVLANTag copies the frame and puts back the outer VLAN tag the kernel
// moved into the packet's metadata on receive (it reports it in
// PACKET_AUXDATA), as libpcap does.
func withVLANTag(data, oob []byte) []byte {
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA ||
			len(m.Data) < int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
			continue
		}
		aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&m.Data[0]))
		if aux.Status&unix.TP_STATUS_VLAN_VALID == 0 || len(data) < 12 {
			continue
		}
		tpid := uint16(0x8100)
		if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && aux.Vlan_tpid != 0 {
			tpid = aux.Vlan_tpid
		}
		out := make([]byte, len(data)+4)
		copy(out, data[:12])
		binary.BigEndian.PutUint16(out[12:], tpid)
		binary.BigEndian.PutUint16(out[14:], aux.Vlan_tci)
		copy(out[16:], data[12:])
		return out
	}
	return append([]byte(nil), data...)
}

// count is how many frames so far satisfy match (all frames if match is nil).
func (c *capture) count(match func([]byte) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.frames {
		if match == nil || match(f.Data) {
			n++
		}
	}
	return n
}

// waitFor waits until n frames satisfy match, then a little longer for
// extra frames that should not come, and takes every frame captured so far
// (matching or not) out of the capture.
func (c *capture) waitFor(n int, match func([]byte) bool) []wireFrame {
	c.t.Helper()
	eventually(c.t, fmt.Sprintf("capture holds %d frames", n), func() (bool, string) {
		got := c.count(match)
		return got >= n, fmt.Sprintf("%d frames", got)
	})
	time.Sleep(100 * time.Millisecond)
	return c.take()
}

// take returns the frames captured so far and forgets them.
func (c *capture) take() []wireFrame {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		c.t.Fatalf("capture: %v", c.err)
	}
	f := c.frames
	c.frames = nil
	return f
}

// drops is what the kernel dropped for lack of socket buffer since the
// last call; a capture with drops proves nothing about the sender.
func (c *capture) drops() uint32 {
	c.t.Helper()
	st, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		c.t.Fatalf("PACKET_STATISTICS: %v", err)
	}
	return st.Drops
}

func (c *capture) close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	<-c.done
	unix.Close(c.fd)
}

// fromMAC matches frames with the given source MAC address.
func fromMAC(mac string) func([]byte) bool {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		panic(err)
	}
	return func(b []byte) bool { return len(b) >= 12 && string(b[6:12]) == string(hw) }
}

// framesMatching returns the frames that satisfy match.
func framesMatching(frames []wireFrame, match func([]byte) bool) []wireFrame {
	var out []wireFrame
	for _, f := range frames {
		if match(f.Data) {
			out = append(out, f)
		}
	}
	return out
}

// writePcap writes frames as a classic (libpcap 2.4, microsecond,
// Ethernet) capture file.
func writePcap(path string, frames []wireFrame) error {
	b := make([]byte, 24, 24+len(frames)*(16+128))
	binary.LittleEndian.PutUint32(b[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(b[4:], 2)
	binary.LittleEndian.PutUint16(b[6:], 4)
	// 8: thiszone, 12: sigfigs, both 0
	binary.LittleEndian.PutUint32(b[16:], 65535) // snaplen
	binary.LittleEndian.PutUint32(b[20:], 1)     // LINKTYPE_ETHERNET
	for _, f := range frames {
		var h [16]byte
		us := f.TS.UnixMicro()
		binary.LittleEndian.PutUint32(h[0:], uint32(us/1e6))
		binary.LittleEndian.PutUint32(h[4:], uint32(us%1e6))
		binary.LittleEndian.PutUint32(h[8:], uint32(len(f.Data)))
		binary.LittleEndian.PutUint32(h[12:], uint32(len(f.Data)))
		b = append(b, h[:]...)
		b = append(b, f.Data...)
	}
	return os.WriteFile(path, b, 0o644)
}

// TestCaptureSeesEveryTestFrame checks the capture itself against the
// test-frames endpoint: 2000 frames out of an af_packet port arrive at the
// kernel end of the veth exactly once each, in order, and tshark reads the
// pcap written from them.
func TestCaptureSeesEveryTestFrame(t *testing.T) {
	v := newVethPeer(t)
	d := startDaemon(t, "-d", "--no-huge,--no-pci,--vdev=net_af_packet0,iface="+v.Host)
	c := startCapture(t, v)
	hostMAC, err := net.InterfaceByName(v.Host)
	if err != nil {
		t.Fatal(err)
	}
	const n, length = 2000, 100
	d.expect("POST", "/ports/0/x/test-frames", map[string]any{"count": n, "length": length, "destination_mac": "02:00:00:00:00:99"}, 202)
	// The kernel sends from the host end too (IPv6 router solicitations,
	// MLD), so only frames of the test EtherType count.
	fromHost := fromMAC(hostMAC.HardwareAddr.String())
	mine := func(b []byte) bool { return fromHost(b) && len(b) >= 14 && binary.BigEndian.Uint16(b[12:]) == 0x88b5 }
	frames := framesMatching(c.waitFor(n, mine), mine)
	if len(frames) != n {
		t.Fatalf("captured %d frames, want %d", len(frames), n)
	}
	for i, f := range frames {
		b := f.Data
		if len(b) != length || binary.BigEndian.Uint16(b[12:]) != 0x88b5 || binary.BigEndian.Uint64(b[14:]) != uint64(i) {
			t.Fatalf("frame %d: %d bytes % x", i, len(b), b[:min(len(b), 24)])
		}
	}
	if d := c.drops(); d != 0 {
		t.Fatalf("capture dropped %d frames", d)
	}
	pcap := t.TempDir() + "/testframes.pcap"
	if err := writePcap(pcap, frames); err != nil {
		t.Fatal(err)
	}
	got := runTshark(t, pcap, "eth.type", "frame.len")
	if len(got) != n {
		t.Fatalf("tshark read %d frames, want %d", len(got), n)
	}
	for _, f := range got {
		if p := f.problems(); len(p) > 0 || f.Protocols != "eth:ethertype:data" || f.Fields["eth.type"] != "0x88b5" || f.Fields["frame.len"] != fmt.Sprint(length) {
			t.Fatalf("tshark frame %+v: problems %v", f, p)
		}
	}
}

// TestCaptureKeepsVLANTags sends tagged frames into the veth from our end
// with a raw socket and checks the capture gives them back byte for byte:
// the kernel strips the outer tag on receive and the capture must put it
// back (802.1Q and 802.1ad outer tags alike).
func TestCaptureKeepsVLANTags(t *testing.T) {
	v := newVethPeer(t)
	c := startCapture(t, v)
	ifc, err := net.InterfaceByName(v.Host)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
	mk := func(tags ...uint16) []byte {
		b := []byte{0x10, 0, 0, 0, 0, 2, 0x10, 0, 0, 0, 0, 0x77}
		for _, x := range tags {
			b = binary.BigEndian.AppendUint16(b, x)
		}
		b = binary.BigEndian.AppendUint16(b, 0x88b5)
		for len(b) < 80 {
			b = append(b, byte(len(b)))
		}
		return b
	}
	want := [][]byte{
		mk(),
		mk(0x8100, 0x2064),                 // 802.1Q, priority 1, id 100
		mk(0x88a8, 0x000a, 0x8100, 0x00c8), // QinQ: 802.1ad id 10, then 802.1Q id 200
		mk(0x8100, 0x0005, 0x8100, 0x0006), // two 802.1Q tags
	}
	for _, b := range want {
		if err := unix.Sendto(fd, b, 0, to); err != nil {
			t.Fatal(err)
		}
	}
	got := framesMatching(c.waitFor(len(want), fromMAC("10:00:00:00:00:77")), fromMAC("10:00:00:00:00:77"))
	if len(got) != len(want) {
		t.Fatalf("captured %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Data, want[i]) {
			t.Errorf("frame %d captured as\n% x\nwant\n% x", i, got[i].Data, want[i])
		}
	}
}
