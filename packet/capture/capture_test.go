package capture

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
)

func TestNewRejectsBadConfigs(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"buffer below minimum", Config{BufferSize: MinBufferSize - 1}},
		{"buffer above maximum", Config{BufferSize: MaxBufferSize + 1}},
		{"negative buffer", Config{BufferSize: -1}},
		{"negative packet size", Config{PacketSize: -1}},
		{"negative packet count", Config{PacketCount: -1}},
		{"negative duration", Config{Duration: -time.Second}},
		{"unknown direction", Config{Direction: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); !errors.Is(err, ErrInvalid) {
				t.Fatalf("New: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestDefaultsAreOpenPerfs(t *testing.T) {
	c := mustNew(t, Config{})
	cfg := c.Config()
	if cfg.BufferSize != DefaultBufferSize || cfg.Direction != DirRx || cfg.BufferWrap || c.State() != StateStopped {
		t.Fatalf("defaults: %+v, state %v", cfg, c.State())
	}
}

func TestParseDirectionRoundTrips(t *testing.T) {
	for _, d := range []Direction{DirRx, DirTx, DirRxTx} {
		got, err := ParseDirection(d.String())
		if err != nil || got != d {
			t.Errorf("%v: %v %v", d, got, err)
		}
	}
	if _, err := ParseDirection("sideways"); !errors.Is(err, ErrInvalid) {
		t.Errorf("sideways: %v", err)
	}
}

func TestStoppedCaptureTakesNothing(t *testing.T) {
	c := mustNew(t, Config{BufferSize: 1 << 16})
	c.Push(0, burst(t, 8, 64, 9, 0))
	if r := c.Results(); r.Packets != 0 || r.State != StateStopped {
		t.Fatalf("results %+v", r)
	}
}

func TestCountsPacketsAndBytes(t *testing.T) {
	clk := newClock(t0)
	c := mustNew(t, Config{BufferSize: 1 << 16, Clock: clk.Now})
	mustStart(t, c)
	for i := range 3 {
		c.Push(0, burst(t, 10, 100, 9, uint32(10*i)))
		clk.Add(1000)
	}
	c.Push(0, nil) // an empty burst is nothing
	r := c.Results()
	want := Results{State: StateRunning, Packets: 30, Bytes: 3000, StartTime: t0}
	if r != want {
		t.Fatalf("results %+v, want %+v", r, want)
	}
	c.Stop()
	c.Stop() // idempotent
	if r := c.Results(); r.State != StateStopped || r.Packets != 30 || r.StopTime != t0+3000 {
		t.Fatalf("after stop: %+v", r)
	}
	ps := readPcapng(t, export(t, All, c))
	if !slices.Equal(seqs(ps), run(0, 30)) {
		t.Fatalf("exported %v", seqs(ps))
	}
	for i, p := range ps {
		if want := t0 + int64(i/10)*1000; p.ts != want {
			t.Fatalf("packet %d: ts %d, want %d (one timestamp per burst)", i, p.ts, want)
		}
	}
}

func TestDirectionSelectsPushAndPushTx(t *testing.T) {
	tests := []struct {
		dir    Direction
		rx, tx bool
	}{
		{DirRx, true, false},
		{DirTx, false, true},
		{DirRxTx, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.dir.String(), func(t *testing.T) {
			c := mustNew(t, Config{BufferSize: 1 << 16, Direction: tt.dir})
			mustStart(t, c)
			c.Push(1, burst(t, 3, 64, 9, 0))
			c.PushTx(1, burst(t, 5, 64, 9, 100))
			want := 0
			if tt.rx {
				want += 3
			}
			if tt.tx {
				want += 5
			}
			if r := c.Results(); r.Packets != uint64(want) {
				t.Fatalf("%d packets, want %d", r.Packets, want)
			}
		})
	}
}

func TestPacketSizeTruncatesAndKeepsOriginalLength(t *testing.T) {
	c := mustNew(t, Config{BufferSize: 1 << 16, PacketSize: 64})
	mustStart(t, c)
	frames := []int{60, 64, 65, 200, 1514}
	for _, n := range frames {
		c.Push(0, []*packetio.Mbuf{mbuf(udpFrame(t, n, 9, uint32(n)))})
	}
	r := c.Results()
	if r.Packets != 5 || r.Bytes != 60+64*4 {
		t.Fatalf("results %+v, want 5 packets, %d bytes", r, 60+64*4)
	}
	for i, p := range readPcapng(t, export(t, All, c)) {
		if p.origLen != frames[i] || p.capLen != min(frames[i], 64) || len(p.data) != p.capLen {
			t.Errorf("packet %d: caplen %d len %d, want %d %d", i, p.capLen, p.origLen, min(frames[i], 64), frames[i])
		}
		if seqOf(p.data) != uint32(frames[i]) {
			t.Errorf("packet %d: wrong bytes", i)
		}
	}
}

func TestWrapKeepsTheNewestPackets(t *testing.T) {
	c := mustNew(t, Config{BufferSize: MinBufferSize, BufferWrap: true})
	mustStart(t, c)
	for i := range 20 {
		c.Push(0, burst(t, 10, 100, 9, uint32(10*i)))
	}
	r := c.Results()
	// 40 frames of 100 bytes fit in 4096 bytes; when the ring wraps, the
	// 96 bytes at its end stay unused and one packet may be lost to them.
	if r.State != StateRunning || r.Packets < 39 || r.Packets > 40 || r.Bytes != 100*r.Packets {
		t.Fatalf("results %+v", r)
	}
	got := seqs(readPcapng(t, export(t, All, c)))
	if want := run(200-uint32(r.Packets), uint32(r.Packets)); !slices.Equal(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
}

func TestNoWrapStopsWhenFull(t *testing.T) {
	c := mustNew(t, Config{BufferSize: MinBufferSize})
	mustStart(t, c)
	for i := range 10 {
		c.Push(0, burst(t, 7, 100, 9, uint32(7*i)))
	}
	r := c.Results()
	if r.State != StateStopped || r.Packets != 40 || r.Bytes != 4000 {
		t.Fatalf("results %+v, want stopped with the first 40 packets", r)
	}
	if got := seqs(readPcapng(t, export(t, All, c))); !slices.Equal(got, run(0, 40)) {
		t.Fatalf("kept %v", got)
	}
}

func TestRecordsCanFillBeforeBytes(t *testing.T) {
	// PacketSize 16 sizes the records for 16-byte packets; 1-byte frames
	// run out of records first, and a full buffer is a full buffer.
	c := mustNew(t, Config{BufferSize: MinBufferSize, PacketSize: 16})
	mustStart(t, c)
	one := []*packetio.Mbuf{mbuf([]byte{0xab})}
	for range MinBufferSize {
		c.Push(0, one)
	}
	if r := c.Results(); r.State != StateStopped || r.Packets != MinBufferSize/16 {
		t.Fatalf("results %+v, want %d packets", r, MinBufferSize/16)
	}
}

func TestPacketCountStops(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		c := mustNew(t, Config{BufferSize: 1 << 16, PacketCount: 25, BufferWrap: wrap})
		mustStart(t, c)
		for i := range 5 {
			c.Push(0, burst(t, 10, 64, 9, uint32(10*i)))
		}
		r := c.Results()
		if r.State != StateStopped || r.Packets != 25 {
			t.Fatalf("wrap %v: results %+v, want stopped after 25", wrap, r)
		}
		if got := seqs(readPcapng(t, export(t, All, c))); !slices.Equal(got, run(0, 25)) {
			t.Fatalf("wrap %v: kept %v", wrap, got)
		}
	}
}

func TestDurationStopsOnPushAndOnRead(t *testing.T) {
	clk := newClock(t0)
	cfg := Config{BufferSize: 1 << 16, Duration: time.Millisecond, Clock: clk.Now}
	pushed := mustNew(t, cfg)
	idle := mustNew(t, cfg)
	mustStart(t, pushed)
	mustStart(t, idle)

	clk.Add(int64(time.Millisecond) - 1)
	pushed.Push(0, burst(t, 4, 64, 9, 0)) // in time
	if pushed.State() != StateRunning || idle.State() != StateRunning {
		t.Fatal("stopped before the duration was over")
	}
	clk.Add(1)
	pushed.Push(0, burst(t, 4, 64, 9, 4)) // too late: dropped, and the capture stops
	if r := pushed.Results(); r.State != StateStopped || r.Packets != 4 || r.StopTime != t0+int64(time.Millisecond) {
		t.Fatalf("pushed: %+v", r)
	}
	if st := idle.State(); st != StateStopped {
		t.Fatalf("idle capture is %v after its duration", st)
	}
	if r := idle.Results(); r.StopTime != t0+int64(time.Millisecond) {
		t.Fatalf("idle stop time %d", r.StopTime)
	}
}

func TestFilterDropsWhatItRejects(t *testing.T) {
	c := mustNew(t, Config{BufferSize: 1 << 16, Filter: mustCompile(t, "udp dst port 53")})
	mustStart(t, c)
	var pkts []*packetio.Mbuf
	for i := range 40 {
		port := uint16(9)
		if i%3 == 0 {
			port = 53
		}
		pkts = append(pkts, mbuf(udpFrame(t, 80, port, uint32(i))))
	}
	c.Push(0, pkts[:32])
	c.Push(0, pkts[32:])
	var want []uint32
	for i := uint32(0); i < 40; i += 3 {
		want = append(want, i)
	}
	if got := seqs(readPcapng(t, export(t, All, c))); !slices.Equal(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
}

func TestLongSlicesAreTakenInChunks(t *testing.T) {
	c := mustNew(t, Config{BufferSize: 1 << 20, Filter: mustCompile(t, "udp")})
	mustStart(t, c)
	c.Push(0, burst(t, 3*chunk+5, 64, 9, 0))
	if got := seqs(readPcapng(t, export(t, All, c))); !slices.Equal(got, run(0, 3*chunk+5)) {
		t.Fatalf("kept %d packets", len(got))
	}
}

func TestTriggersArmStartAndStop(t *testing.T) {
	c := mustNew(t, Config{
		BufferSize:   1 << 16,
		StartTrigger: mustCompile(t, "udp dst port 7"),
		StopTrigger:  mustCompile(t, "udp dst port 8"),
		Filter:       mustCompile(t, "not udp dst port 99"),
	})
	mustStart(t, c)
	if st := c.State(); st != StateArmed {
		t.Fatalf("state %v, want armed", st)
	}
	c.Push(0, burst(t, 5, 64, 9, 0)) // no trigger: nothing stored
	if r := c.Results(); r.State != StateArmed || r.Packets != 0 {
		t.Fatalf("armed: %+v", r)
	}
	ports := []uint16{9, 8, 7, 9, 99, 9, 9}
	var pkts []*packetio.Mbuf
	for i, p := range ports {
		pkts = append(pkts, mbuf(udpFrame(t, 64, p, uint32(10+i))))
	}
	c.Push(0, pkts[:4]) // starts at seq 12; the stop packet before it does not count
	if st := c.State(); st != StateRunning {
		t.Fatalf("state %v after the start trigger", st)
	}
	c.Push(0, pkts[4:])
	c.Push(0, []*packetio.Mbuf{mbuf(udpFrame(t, 64, 9, 20)), mbuf(udpFrame(t, 64, 8, 21)), mbuf(udpFrame(t, 64, 9, 22))})
	if st := c.State(); st != StateStopped {
		t.Fatalf("state %v after the stop trigger", st)
	}
	want := []uint32{12, 13, 15, 16, 20, 21} // 14 is port 99, filtered out; 22 follows the stop
	if got := seqs(readPcapng(t, export(t, All, c))); !slices.Equal(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
}

func TestStartStopReset(t *testing.T) {
	c := mustNew(t, Config{BufferSize: 1 << 16})
	mustStart(t, c)
	if err := c.Start(); !errors.Is(err, ErrActive) {
		t.Fatalf("second Start: %v, want ErrActive", err)
	}
	c.Push(0, burst(t, 4, 64, 9, 0))
	c.Stop()
	c.Push(0, burst(t, 4, 64, 9, 4)) // stopped: ignored
	if r := c.Results(); r.Packets != 4 || !slices.Equal(seqs(readPcapng(t, export(t, All, c))), run(0, 4)) {
		t.Fatalf("after stop: %+v", r)
	}
	mustStart(t, c) // a new capture: the old packets go
	c.Push(0, burst(t, 2, 64, 9, 100))
	if got := seqs(readPcapng(t, export(t, All, c))); !slices.Equal(got, run(100, 2)) {
		t.Fatalf("after restart: %v", got)
	}
	c.Reset()
	if r := c.Results(); r != (Results{}) || c.Active() {
		t.Fatalf("after reset: %+v", r)
	}
	if got := readPcapng(t, export(t, All, c)); len(got) != 0 {
		t.Fatalf("reset capture exports %d packets", len(got))
	}
}

func TestOddMbufs(t *testing.T) {
	c := mustNew(t, Config{BufferSize: MinBufferSize, BufferWrap: true})
	mustStart(t, c)
	empty := mbuf(nil)
	huge := mbuf(make([]byte, 9000))         // bigger than the whole buffer: truncated to it
	c.Push(0, []*packetio.Mbuf{empty, huge}) // huge needs the whole buffer
	ps := readPcapng(t, export(t, All, c))
	if len(ps) != 1 || ps[0].capLen != MinBufferSize || ps[0].origLen != 9000 {
		t.Fatalf("got %d packets: %+v", len(ps), ps)
	}
	c.Push(0, []*packetio.Mbuf{empty})
	ps = readPcapng(t, export(t, All, c))
	if len(ps) != 1 || ps[0].capLen != 0 || ps[0].origLen != 0 {
		t.Fatalf("got %d packets: %+v", len(ps), ps)
	}
}
