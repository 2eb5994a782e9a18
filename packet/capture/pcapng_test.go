package capture

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/openperfd/openperfd/packetio"
)

func TestPcapngRoundTrip(t *testing.T) {
	clk := newClock(t0)
	c := mustNew(t, Config{Name: "port0-capture", BufferSize: 1 << 20, Direction: DirRxTx, Clock: clk.Now})
	mustStart(t, c)
	var frames [][]byte
	for i, n := range []int{60, 61, 62, 63, 64, 127, 1514, 9000} {
		f := udpFrame(t, n, 9, uint32(i))
		frames = append(frames, f)
		if i%2 == 0 {
			c.Push(3, []*packetio.Mbuf{mbuf(f)})
		} else {
			c.PushTx(3, []*packetio.Mbuf{mbuf(f)})
		}
		clk.Add(int64(1 + i*1111))
	}
	ps := readPcapng(t, export(t, All, c))
	if len(ps) != len(frames) {
		t.Fatalf("read %d packets, want %d", len(ps), len(frames))
	}
	ts := int64(t0)
	for i, p := range ps {
		if p.ts != ts || p.iface != 0 || p.capLen != len(frames[i]) || p.origLen != len(frames[i]) || !bytes.Equal(p.data, frames[i]) {
			t.Errorf("packet %d: ts %d iface %d caplen %d len %d, want ts %d and the frame", i, p.ts, p.iface, p.capLen, p.origLen, ts)
		}
		ts += int64(1 + i*1111)
	}
}

func TestMergeIsInTimestampOrder(t *testing.T) {
	clk := newClock(t0)
	a := mustNew(t, Config{Name: "a", BufferSize: 1 << 16, Clock: clk.Now})
	b := mustNew(t, Config{Name: "b", BufferSize: 1 << 16, Clock: clk.Now, PacketSize: 64})
	mustStart(t, a)
	mustStart(t, b)
	// a gets even timestamps' bursts, b odd ones, with a few runs on one side
	order := []int{0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1}
	for i, which := range order {
		pkts := burst(t, 3, 100, 9, uint32(10*i))
		if which == 0 {
			a.Push(0, pkts)
		} else {
			b.Push(1, pkts)
		}
		clk.Add(10)
	}
	ps := readPcapng(t, export(t, All, a, b))
	if len(ps) != 3*len(order) {
		t.Fatalf("merged %d packets, want %d", len(ps), 3*len(order))
	}
	for i, p := range ps {
		burst := i / 3
		if want := int64(t0 + 10*burst); p.ts != want {
			t.Fatalf("packet %d: ts %d, want %d", i, p.ts, want)
		}
		if p.iface != order[burst] {
			t.Fatalf("packet %d: interface %d, want %d", i, p.iface, order[burst])
		}
		if want := uint32(10*burst + i%3); seqOf(p.data) != want {
			t.Fatalf("packet %d: seq %d, want %d", i, seqOf(p.data), want)
		}
		if p.iface == 1 && p.capLen != 64 {
			t.Fatalf("packet %d of b not truncated", i)
		}
	}

	// a range counts positions in the merged stream, both ends included
	got := readPcapng(t, export(t, Range{Start: 4, End: 9}, a, b))
	if len(got) != 6 || got[0].ts != ps[4].ts || seqOf(got[5].data) != seqOf(ps[9].data) {
		t.Fatalf("range 4..9: %d packets", len(got))
	}
	if got := readPcapng(t, export(t, Range{Start: 1000, End: 2000}, a, b)); len(got) != 0 {
		t.Fatalf("range past the end: %d packets", len(got))
	}
}

func TestExportErrors(t *testing.T) {
	c := mustNew(t, Config{BufferSize: MinBufferSize})
	if _, err := WritePcapng(&bytes.Buffer{}, Range{Start: 2, End: 1}, c); !errors.Is(err, ErrInvalid) {
		t.Errorf("start > end: %v", err)
	}
	if _, err := WritePcapng(&bytes.Buffer{}, All); !errors.Is(err, ErrInvalid) {
		t.Errorf("no captures: %v", err)
	}
	if _, err := WritePcapng(&bytes.Buffer{}, All, c, nil); err == nil {
		t.Error("nil capture: no error")
	}
	boom := errors.New("boom")
	if _, err := c.WriteTo(failWriter{boom}); !errors.Is(err, boom) {
		t.Errorf("failing writer: %v", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// TestExportLargerThanAChunk crosses the cursor's chunk and output buffer
// sizes.
func TestExportLargerThanAChunk(t *testing.T) {
	c := mustNew(t, Config{BufferSize: 4 << 20})
	mustStart(t, c)
	for i := range 100 {
		c.Push(0, burst(t, 10, 1514, 9, uint32(10*i)))
	}
	for i := range 10 {
		c.Push(0, burst(t, 100, 64, 9, uint32(1000+100*i)))
	}
	if got := seqs(readPcapng(t, export(t, All, c))); !slices.Equal(got, run(0, 2000)) {
		t.Fatalf("exported %d packets, want 2000 in order", len(got))
	}
}

// TestReadersRaceFreeWhileCapturing pushes from two "workers" (rx and tx)
// while readers export and read results; run with -race.
func TestReadersRaceFreeWhileCapturing(t *testing.T) {
	c := mustNew(t, Config{BufferSize: 64 << 10, BufferWrap: true, Direction: DirRxTx})
	mustStart(t, c)
	rx, tx := burst(t, 32, 200, 9, 0), burst(t, 32, 100, 9, 1000)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	worker := func(push func(uint16, []*packetio.Mbuf), pkts []*packetio.Mbuf) {
		for {
			select {
			case <-stop:
				return
			default:
				push(0, pkts)
			}
		}
	}
	wg.Go(func() { worker(c.Push, rx) })
	wg.Go(func() { worker(c.PushTx, tx) })
	for range 20 {
		var b bytes.Buffer
		if _, err := c.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		ps := readPcapng(t, b.Bytes())
		for i := 1; i < len(ps); i++ {
			if ps[i].ts < ps[i-1].ts {
				t.Fatalf("export not in timestamp order at %d", i)
			}
		}
		if r := c.Results(); r.Bytes > 64<<10 {
			t.Fatalf("holds %d bytes", r.Bytes)
		}
	}
	close(stop)
	wg.Wait()
}

// requireTool returns a program's path; it skips the test when the program
// is missing, except under CI=true, where that is a failure.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI: %v", name, err)
	}
	t.Skipf("%s not installed", name)
	return ""
}

func TestTsharkReadsNanosecondExport(t *testing.T) {
	tshark := requireTool(t, "tshark")
	clk := newClock(t0)
	a := mustNew(t, Config{Name: "rx-cap", BufferSize: 1 << 16, Direction: DirRxTx, PacketSize: 100, Clock: clk.Now})
	b := mustNew(t, Config{Name: "other", BufferSize: 1 << 16, Clock: clk.Now})
	mustStart(t, a)
	mustStart(t, b)
	a.Push(0, []*packetio.Mbuf{mbuf(udpFrame(t, 60, 9, 0))})
	clk.Add(1)
	a.PushTx(0, []*packetio.Mbuf{mbuf(udpFrame(t, 300, 9, 1))})
	clk.Add(999_999_999)
	b.Push(1, []*packetio.Mbuf{mbuf(udpFrame(t, 1514, 9, 2))})

	path := filepath.Join(t.TempDir(), "capture.pcapng")
	if err := os.WriteFile(path, export(t, All, a, b), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-r", path, "-T", "fields", "-E", "separator=,",
		"-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len",
		"-e", "frame.interface_id", "-e", "frame.packet_flags_direction")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	if s := strings.TrimSpace(strings.ReplaceAll(stderr.String(), `Running as user "root" and group "root". This could be dangerous.`, "")); s != "" {
		t.Fatalf("tshark complained: %s", s)
	}
	want := []string{
		"1700000000.123456789,60,60,0,0x00000001",
		"1700000000.123456790,300,100,0,0x00000002",
		"1700000001.123456789,1514,1514,1,0x00000001",
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if !slices.Equal(got, want) {
		t.Fatalf("tshark read\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// frame.time_epoch has all nine digits: nanoseconds survived
	if frac := strings.SplitN(strings.SplitN(got[1], ",", 2)[0], ".", 2)[1]; len(frac) != 9 {
		t.Fatalf("tshark shows %s: not nanoseconds", strconv.Quote(frac))
	}
}
