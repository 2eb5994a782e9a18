package dpdk

import (
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/openperfd/openperfd/clock"
	"github.com/openperfd/openperfd/packetio"
)

// The pcap port reads pcapFrames frames from a file: net_pcap stamps each
// with its record's time in µs since the epoch and sets the rx timestamp
// flag, without offering the timestamp offload. Frame i holds i in its
// byte 14 and was recorded at pcapTime(i): in 2001, so that a stamp taken
// for a receive time would show.
const pcapFrames = 16

func pcapTime(i int) time.Time {
	return time.Unix(1_000_000_000, 0).Add(time.Duration(i) * 1234567 * time.Microsecond / 1000)
}

func writePcap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		f.Close()
		return err
	}
	for i := range pcapFrames {
		b := frame(pcapPort, i, 64)
		b[14] = byte(i)
		ci := gopacket.CaptureInfo{Timestamp: pcapTime(i), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// olFlags reads an mbuf's ol_flags, which packetio.Mbuf keeps to itself.
func olFlags(m *packetio.Mbuf) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(m), packetio.MbufOffOlFlags))
}

// A device clock converts in C, frame by frame, exactly as
// clock.Conversion.At says, across rates, bases either side of a tick and
// the counter's wrap.
func TestRxPathConvertsAsClockDoes(t *testing.T) {
	s, err := newRxStamps(1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.free()
	r := rand.New(rand.NewPCG(5, 6))
	convs := []clock.Conversion{
		{BaseTick: 0, Base: 0, Mult: 1000 << clock.ConversionShift},
		{BaseTick: 1 << 40, Base: 1_700_000_000_000_000_000, Mult: 1 << clock.ConversionShift},
		{BaseTick: 5, Base: -7, Mult: uint64(math.Round(0.8 * (1 << clock.ConversionShift)))},
		{BaseTick: math.MaxUint64 - 3, Base: 1 << 60, Mult: uint64(math.Round(2.5000017 * (1 << clock.ConversionShift)))},
	}
	for _, c := range convs {
		s.set(c)
		ticks := []uint64{c.BaseTick, c.BaseTick + 1, c.BaseTick - 1, c.BaseTick + 3, c.BaseTick - 3, 0, math.MaxUint64}
		for range 200 {
			ticks = append(ticks, c.BaseTick+uint64(r.Int64N(1<<42)-1<<41), r.Uint64())
		}
		for _, tick := range ticks {
			if got, want := s.at(tick), c.At(tick); got != want {
				t.Fatalf("%+v: tick %d converts to %d in C, %d in Go", c, tick, got, want)
			}
		}
	}
}

// A conversion published while the rx path reads is seen whole, the old
// one or the new one, never fields of both.
func TestRxPathSeesEachConversionWhole(t *testing.T) {
	s, err := newRxStamps(1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.free()
	a := clock.Conversion{BaseTick: 1000, Base: 1 << 50, Mult: 1 << clock.ConversionShift}
	b := clock.Conversion{BaseTick: 1 << 30, Base: 1 << 40, Mult: 3 << clock.ConversionShift}
	const tick = 1 << 20
	s.set(a)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				s.set(b)
			} else {
				s.set(a)
			}
		}
	}()
	for range 200_000 {
		if got := s.at(tick); got != a.At(tick) && got != b.At(tick) {
			close(stop)
			wg.Wait()
			t.Fatalf("read %d, neither conversion's (%d, %d)", got, a.At(tick), b.At(tick))
		}
	}
	close(stop)
	wg.Wait()
}

// receivePcap receives up to n of the pcap port's frames, with the
// port's times, and returns the frames' indexes (byte 14) and times;
// the buffers go back to the pool.
func receivePcap(t *testing.T, p *port, n int) (idx []int, frameTimes []int64, before, after int64) {
	t.Helper()
	rx := testDrv.NewBurst()
	defer rx.Free()
	before = clock.Now()
	got := p.RxBurst(0, rx.Pkts[:n], 0)
	after = clock.Now()
	defer testDrv.Pool().Free(rx.Pkts[:got])
	if got != n {
		t.Fatalf("the pcap port gave %d frames, want %d", got, n)
	}
	_, flag, err := registerRxTimestamps()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range rx.Pkts[:got] {
		if olFlags(m)&flag == 0 {
			t.Fatalf("frame %d carries no rx timestamp flag: net_pcap no longer stamps, and this test shows nothing", i)
		}
		idx = append(idx, int(m.Data()[14]))
	}
	if ft := p.RxFrameTimes(0); ft != nil {
		frameTimes = append(frameTimes, ft...)
	}
	return idx, frameTimes, before, after
}

// net_pcap stamps every frame but does not offer the timestamp offload:
// its stamps are ignored, the port says it uses software times, and its
// frames get the driver call's time (the rx path records no frame times).
func TestUnadvertisedStampsAreIgnored(t *testing.T) {
	p := portAt(t, pcapPort).(*port)
	if p.Info().RxHardwareTimes || p.stamps != nil || p.rxts != nil {
		t.Fatalf("net_pcap: hardware times %v, stamps %v; want software times", p.Info().RxHardwareTimes, p.stamps != nil)
	}
	var ok bool
	onLcore(func() {
		_, times, before, after := receivePcap(t, p, 4)
		if times != nil {
			t.Errorf("frame times %v on a port without the offload", times)
			return
		}
		if at := p.LastRxTime(0); at < before || at > after {
			t.Errorf("receive time %d outside the call's %d..%d", at, before, after)
			return
		}
		ok = true
	})
	if !ok {
		t.FailNow()
	}
	xs, err := p.XStats()
	if err != nil {
		t.Fatal(err)
	}
	if _, has := xs["x_rx_hw_timestamps"]; has {
		t.Error("x_rx_hw_timestamps on a port without receive timestamps")
	}
}

// With the path on (forced here: no device on this machine offers the
// offload), the rx path converts every frame's stamp with the published
// conversion into a time of its own: net_pcap's µs since the epoch, at
// 1000 ns a tick, are the frames' record times in Unix ns, clock.Now's
// scale.
func TestDeviceStampsBecomeFrameTimes(t *testing.T) {
	p := portAt(t, pcapPort).(*port)
	off, flag, err := registerRxTimestamps()
	if err != nil {
		t.Fatal(err)
	}
	s, err := newRxStamps(p.nrx, off, flag)
	if err != nil {
		t.Fatal(err)
	}
	s.set(clock.Conversion{BaseTick: 0, Base: 0, Mult: 1000 << clock.ConversionShift})
	testDrv.mu.Lock()
	p.stamps, p.rxts = s, s.qs
	testDrv.mu.Unlock()
	defer func() {
		testDrv.mu.Lock()
		p.stamps, p.rxts = nil, nil
		testDrv.mu.Unlock()
		s.free()
	}()
	if !p.Info().RxHardwareTimes {
		t.Fatal("a port with frame times on says it has software times")
	}
	var idx []int
	var times []int64
	onLcore(func() { idx, times, _, _ = receivePcap(t, p, 4) })
	if len(times) != len(idx) {
		t.Fatalf("%d frame times for %d frames", len(times), len(idx))
	}
	for i, k := range idx {
		if want := pcapTime(k).Truncate(time.Microsecond).UnixNano(); times[i] != want {
			t.Errorf("frame %d (pcap record %d): time %d, want its stamp %d", i, k, times[i], want)
		}
		if i > 0 && times[i] == times[i-1] {
			t.Errorf("frames %d and %d of one burst share a time", i-1, i)
		}
	}
	xs, err := p.XStats()
	if err != nil {
		t.Fatal(err)
	}
	if xs["x_rx_hw_timestamps"] != uint64(len(idx)) || xs["x_rx_sw_timestamps"] != 0 {
		t.Errorf("x_rx_hw_timestamps %d, x_rx_sw_timestamps %d; want %d and 0", xs["x_rx_hw_timestamps"], xs["x_rx_sw_timestamps"], len(idx))
	}
}

// A fitted clock is sampled again soon after its start, while its rate
// rests on a short baseline, then further and further apart, and at
// least every recalibrateEvery.
func TestDeviceClocksAreSampledSoonerWhileYoung(t *testing.T) {
	start := time.Unix(100, 0)
	for _, tt := range []struct {
		age, want time.Duration
	}{
		{0, firstRecalibration},
		{20 * time.Millisecond, firstRecalibration},
		{400 * time.Millisecond, 200 * time.Millisecond},
		{1500 * time.Millisecond, 750 * time.Millisecond},
		{time.Hour, recalibrateEvery},
	} {
		if got := sampleDelay(start, start.Add(tt.age)); got != tt.want {
			t.Errorf("at %v: next sample in %v, want %v", tt.age, got, tt.want)
		}
	}
}
