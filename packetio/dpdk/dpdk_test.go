package dpdk

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/openperfd/openperfd/clock"
	"github.com/openperfd/openperfd/memory"
	"github.com/openperfd/openperfd/packetio"
)

// One EAL per process: TestMain starts it with a null port and one ring
// pair, every test shares the driver, and TestMain cleans up.
var (
	testDrv *Driver
	// testLcore runs functions on one locked OS thread registered with EAL,
	// as a worker would: only registered threads get a mempool cache, so
	// benchmarks measure what a worker pays.
	testLcore chan func()
)

// Port indexes: vdev ports come first, ring pairs after.
const (
	nullPort  = 0
	pcapPort  = 1 // reads pcapFrames frames from a file, once (timestamps_test.go)
	ringPortA = 2
	ringPortB = 3
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	prefix := fmt.Sprintf("opd_unit_%d", os.Getpid())
	dir, err := os.MkdirTemp("", "opd_dpdk_test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "dpdk test:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	pcapFile := filepath.Join(dir, "rx.pcap")
	if err := writePcap(pcapFile); err != nil {
		fmt.Fprintln(os.Stderr, "dpdk test:", err)
		return 1
	}
	args := []string{"--no-huge", "-m", "256", "--no-pci", "--no-telemetry",
		"--file-prefix", prefix, "-l", "0", "--log-level", "4", "--vdev=net_null0",
		"--vdev=net_pcap0,rx_pcap=" + pcapFile}
	if err := InitEAL(args, func(l string) { fmt.Fprintln(os.Stderr, "dpdk:", l) }); err != nil {
		fmt.Fprintln(os.Stderr, "dpdk test:", err)
		return 1
	}
	defer func() {
		if err := CleanupEAL(prefix); err != nil {
			fmt.Fprintln(os.Stderr, "dpdk test:", err)
		}
	}()
	d, err := Open(Options{Queues: 1, TestPortPairs: 1, ExpectPorts: 2, PoolBuffers: 16383, JumboBuffers: 255, RecycleBuffers: 255})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dpdk test:", err)
		return 1
	}
	defer d.Close()
	testDrv = d

	stop := make(chan struct{})
	ready := make(chan error)
	testLcore = make(chan func())
	go runLcore(ready, stop)
	if err := <-ready; err != nil {
		fmt.Fprintln(os.Stderr, "dpdk test:", err)
		return 1
	}
	defer func() { close(stop); <-ready }()
	return m.Run()
}

// runLcore is a worker-like thread: locked, pinned to the last CPU when
// there are two or more (CPU 0 is EAL's main lcore), registered with EAL.
// It exits while still locked, so the pinned thread dies with it.
func runLcore(ready chan<- error, stop <-chan struct{}) {
	runtime.LockOSThread()
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && set.Count() > 1 {
		last := -1
		for c := 0; c < 1024; c++ {
			if set.IsSet(c) {
				last = c
			}
		}
		var one unix.CPUSet
		one.Set(last)
		_ = unix.SchedSetaffinity(0, &one)
	}
	if _, err := RegisterThread(); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for {
		select {
		case f := <-testLcore:
			f()
		case <-stop:
			UnregisterThread()
			ready <- nil
			return
		}
	}
}

// onLcore runs f on the registered thread and waits for it.
func onLcore(f func()) {
	done := make(chan struct{})
	testLcore <- func() { defer close(done); f() }
	<-done
}

func portAt(t testing.TB, idx uint16) packetio.Port {
	t.Helper()
	for _, p := range testDrv.Ports() {
		if p.Info().Index == idx {
			return p
		}
	}
	t.Fatalf("no port with index %d", idx)
	return nil
}

func TestPortsAreTheVdevsThenTheRingPair(t *testing.T) {
	ports := testDrv.Ports()
	if len(ports) != 4 {
		t.Fatalf("%d ports, want 4 (net_null0, net_pcap0 and a ring pair)", len(ports))
	}
	if got := portAt(t, nullPort).Info().Driver; got != "net_null" {
		t.Errorf("port 0 driver %q, want net_null", got)
	}
	if got := portAt(t, pcapPort).Info().Driver; got != "net_pcap" {
		t.Errorf("port 1 driver %q, want net_pcap", got)
	}
	for _, idx := range []uint16{ringPortA, ringPortB} {
		info := portAt(t, idx).Info()
		if info.Driver != "net_ring" {
			t.Errorf("port %d driver %q, want net_ring", idx, info.Driver)
		}
		if info.ID != fmt.Sprint(idx) || info.RxQueues != 1 || info.TxQueues != 1 {
			t.Errorf("port %d: %+v, want id %d with 1 rx and 1 tx queue", idx, info, idx)
		}
		if info.MAC == [6]byte{} {
			t.Errorf("port %d has no MAC", idx)
		}
	}
}

// frame fills a test frame whose bytes say which port sent it and which
// packet of the burst it is.
func frame(from uint16, i, length int) []byte {
	f := make([]byte, length)
	for j := range f {
		f[j] = byte(j)
	}
	f[0], f[1], f[2] = 0xee, byte(from), byte(i)
	return f
}

// sendBurst allocates n packets of the given length in C memory, writes
// frame() into them and transmits them on from's queue 0.
func sendBurst(t *testing.T, from packetio.Port, n, length int) {
	t.Helper()
	b := testDrv.NewBurst()
	defer b.Free()
	pkts := b.Pkts[:n]
	if !testDrv.Pool().Alloc(pkts) {
		t.Fatal("pool alloc failed")
	}
	idx := from.Info().Index
	for i, m := range pkts {
		copy(m.Room(), frame(idx, i, length))
		m.SetLen(length)
	}
	if sent := from.TxBurst(0, pkts); sent != n {
		testDrv.Pool().Free(pkts[sent:])
		t.Fatalf("port %d took %d of %d packets", idx, sent, n)
	}
}

func TestRingPairDeliversWhatIsSent(t *testing.T) {
	for _, dir := range [][2]uint16{{ringPortA, ringPortB}, {ringPortB, ringPortA}} {
		from, to := portAt(t, dir[0]), portAt(t, dir[1])
		const n, length = 20, 100
		sendBurst(t, from, n, length)

		rx := testDrv.NewBurst()
		got := to.RxBurst(0, rx.Pkts, 0)
		if got != n {
			testDrv.Pool().Free(rx.Pkts[:got])
			rx.Free()
			t.Fatalf("%d -> %d: received %d packets, want %d", dir[0], dir[1], got, n)
		}
		for i, m := range rx.Pkts[:got] {
			if want := frame(dir[0], i, length); !bytes.Equal(m.Data(), want) {
				t.Errorf("%d -> %d: packet %d bytes differ: got % x..., want % x...", dir[0], dir[1], i, head(m.Data()), head(want))
			}
			if m.Len() != length {
				t.Errorf("%d -> %d: packet %d length %d, want %d", dir[0], dir[1], i, m.Len(), length)
			}
		}
		testDrv.Pool().Free(rx.Pkts[:got])
		if again := to.RxBurst(0, rx.Pkts, 0); again != 0 {
			testDrv.Pool().Free(rx.Pkts[:again])
			t.Errorf("%d -> %d: %d extra packets", dir[0], dir[1], again)
		}
		rx.Free()
	}
}

// TestRingRxStampsTheArrivalPort: Mbuf.Port() must say where a packet
// arrived. The ring PMD leaves mbuf.port as it was at alloc time
// (RTE_MBUF_PORT_INVALID), so op_rx_burst stamps it.
func TestRingRxStampsTheArrivalPort(t *testing.T) {
	from, to := portAt(t, ringPortA), portAt(t, ringPortB)
	sendBurst(t, from, 4, 64)
	rx := testDrv.NewBurst()
	defer rx.Free()
	got := to.RxBurst(0, rx.Pkts, 0)
	ports := make([]uint16, got)
	for i, m := range rx.Pkts[:got] {
		ports[i] = m.Port()
	}
	testDrv.Pool().Free(rx.Pkts[:got])
	if got != 4 {
		t.Fatalf("received %d packets, want 4", got)
	}
	for i, p := range ports {
		if p != ringPortB {
			t.Fatalf("packet %d: Mbuf.Port() = %d, want %d", i, p, ringPortB)
		}
	}
}

// A burst with frames records when the driver returned it, on the
// daemon's clock (packetio.RxTimes); an empty one leaves the time alone.
func TestRxBurstRecordsTheReceiveTime(t *testing.T) {
	from, to := portAt(t, ringPortA), portAt(t, ringPortB)
	rt := to.(packetio.RxTimes)
	rx := testDrv.NewBurst()
	defer rx.Free()
	for n := to.RxBurst(0, rx.Pkts, 0); n > 0; n = to.RxBurst(0, rx.Pkts, 0) {
		testDrv.Pool().Free(rx.Pkts[:n]) // what earlier tests left in the ring
	}
	sendBurst(t, from, 4, 64)
	before := clock.Now()
	got := to.RxBurst(0, rx.Pkts, 0)
	after := clock.Now()
	testDrv.Pool().Free(rx.Pkts[:got])
	if got != 4 {
		t.Fatalf("received %d packets, want 4", got)
	}
	at := rt.LastRxTime(0)
	if at < before || at > after {
		t.Fatalf("receive time %d outside the call's %d..%d", at, before, after)
	}
	if n := to.RxBurst(0, rx.Pkts, 0); n != 0 || rt.LastRxTime(0) != at {
		t.Fatalf("an empty burst (%d frames) moved the receive time from %d to %d", n, at, rt.LastRxTime(0))
	}
}

func head(b []byte) []byte { return b[:min(len(b), 8)] }

func TestNullPortStampsTheArrivalPort(t *testing.T) {
	p := portAt(t, nullPort)
	rx := testDrv.NewBurst()
	defer rx.Free()
	n := p.RxBurst(0, rx.Pkts, 0)
	defer testDrv.Pool().Free(rx.Pkts[:n])
	if n == 0 {
		t.Fatal("net_null0 received nothing")
	}
	for i, m := range rx.Pkts[:n] {
		if m.Port() != nullPort {
			t.Fatalf("packet %d: Port() = %d, want %d", i, m.Port(), nullPort)
		}
	}
}

func TestRingPortStatsCountBytes(t *testing.T) {
	a, b := portAt(t, ringPortA), portAt(t, ringPortB)
	a0, b0 := a.Stats(), b.Stats()
	const n, length = 7, 333
	sendBurst(t, a, n, length)
	rx := testDrv.NewBurst()
	defer rx.Free()
	got := b.RxBurst(0, rx.Pkts, 0)
	testDrv.Pool().Free(rx.Pkts[:got])
	if got != n {
		t.Fatalf("received %d, want %d", got, n)
	}
	a1, b1 := a.Stats(), b.Stats()
	if d := a1.TxPackets - a0.TxPackets; d != n {
		t.Errorf("tx packets +%d, want +%d", d, n)
	}
	if d := a1.TxBytes - a0.TxBytes; d != n*length {
		t.Errorf("tx bytes +%d, want +%d", d, n*length)
	}
	if d := b1.RxPackets - b0.RxPackets; d != n {
		t.Errorf("rx packets +%d, want +%d", d, n)
	}
	if d := b1.RxBytes - b0.RxBytes; d != n*length {
		t.Errorf("rx bytes +%d, want +%d", d, n*length)
	}
	if a1.RxErrors != 0 || a1.TxErrors != 0 || b1.RxErrors != 0 || b1.TxErrors != 0 {
		t.Errorf("errors: %+v %+v", a1, b1)
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	p := portAt(t, nullPort)
	pool := testDrv.Pool()
	rx := testDrv.NewBurst()
	defer rx.Free()
	tx := testDrv.NewBurst()
	defer tx.Free()
	var rxAllocs, txAllocs float64
	var rxGot, txSent int
	onLcore(func() {
		pending := 0
		rxAllocs = testing.AllocsPerRun(1000, func() {
			pending = p.RxBurst(0, rx.Pkts, pending)
			rxGot += pending
		})
		pool.Free(rx.Pkts[:pending])
		txAllocs = testing.AllocsPerRun(1000, func() {
			if !pool.Alloc(tx.Pkts) {
				return // counted below: nothing was sent
			}
			for _, m := range tx.Pkts {
				m.SetLen(64)
			}
			sent := p.TxBurst(0, tx.Pkts)
			pool.Free(tx.Pkts[sent:])
			txSent += sent
		})
	})
	if rxGot == 0 || txSent == 0 {
		t.Fatalf("the hot path moved nothing: received %d, sent %d", rxGot, txSent)
	}
	if rxAllocs != 0 {
		t.Errorf("RxBurst+Free: %v allocations per burst, want 0", rxAllocs)
	}
	if txAllocs != 0 {
		t.Errorf("Alloc+TxBurst: %v allocations per burst, want 0", txAllocs)
	}
	if used := pool.Stats().Used; used > int64(3*1024) {
		// Descriptors and ring slots may hold buffers; more means a leak.
		t.Errorf("%d buffers in use after the hot-path runs", used)
	}
}

// BenchmarkRxBurst is a worker's rx cost on net_null0: one RxBurst of BurstSize
// (the null PMD allocates and fills them) that also frees the previous
// burst, as the worker loop does: one cgo call per burst.
func BenchmarkRxBurst(b *testing.B) {
	p := portAt(b, nullPort)
	pool := testDrv.Pool()
	burst := testDrv.NewBurst()
	defer burst.Free()
	var pkts int
	onLcore(func() {
		b.ReportAllocs()
		b.ResetTimer()
		n := 0
		rx := burst.Pkts[:packetio.BurstSize]
		for i := 0; i < b.N; i++ {
			n = p.RxBurst(0, rx, n)
			pkts += n
		}
		b.StopTimer()
		pool.Free(rx[:n])
	})
	if pkts == 0 {
		b.Fatal("no packets received")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pkts), "ns/packet")
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds()/1e6, "Mpps")
}

// BenchmarkTxBurst is a worker's tx cost on net_null0 without building
// packets: one Alloc of BurstSize and one TxBurst (the null PMD frees them).
func BenchmarkTxBurst(b *testing.B) {
	p := portAt(b, nullPort)
	pool := testDrv.Pool()
	burst := testDrv.NewBurst()
	defer burst.Free()
	var pkts int
	allocFailed := false
	onLcore(func() {
		b.ReportAllocs()
		b.ResetTimer()
		tx := burst.Pkts[:packetio.BurstSize]
		for i := 0; i < b.N; i++ {
			if !pool.Alloc(tx) {
				allocFailed = true // not b.Fatal: this is not the benchmark's goroutine
				break
			}
			sent := p.TxBurst(0, tx)
			if sent < len(tx) {
				pool.Free(tx[sent:])
			}
			pkts += sent
		}
		b.StopTimer()
	})
	if allocFailed || pkts == 0 {
		b.Fatalf("nothing sent (pool alloc failed: %v)", allocFailed)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pkts), "ns/packet")
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds()/1e6, "Mpps")
}

// BenchmarkTxRefill is the generator's tx cost on net_null0 without
// building packets: one TxRefill per burst of BurstSize, which transmits the
// burst and allocates the next (raw) in the same cgo call.
func BenchmarkTxRefill(b *testing.B) {
	p := portAt(b, nullPort).(packetio.RefillPort)
	pool := testDrv.Pool()
	burst := testDrv.NewBurst()
	defer burst.Free()
	var pkts int
	onLcore(func() {
		b.ReportAllocs()
		_, spare := p.TxRefill(0, burst.Pkts, 0, 0, 0, packetio.BurstSize)
		n := 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for _, m := range burst.Pkts[:spare] {
				m.RearmTx(60, 0)
			}
			n = spare
			sent, avail := p.TxRefill(0, burst.Pkts, 0, n, 0, packetio.BurstSize)
			pkts += sent
			if sent < n {
				pool.Free(burst.Pkts[sent:n])
			}
			spare = avail
		}
		b.StopTimer()
		pool.Free(burst.Pkts[:spare])
	})
	if pkts == 0 {
		b.Fatal("nothing sent")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pkts), "ns/packet")
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds()/1e6, "Mpps")
}

// TxRefill moves spare buffers to the front, tops them up raw, and leaves
// everything where it was when the port did not take the whole burst.
func TestTxRefill(t *testing.T) {
	p := portAt(t, nullPort).(packetio.RefillPort)
	pool := testDrv.Pool()
	burst := testDrv.NewBurst()
	defer burst.Free()
	pkts := burst.Pkts
	onLcore(func() {
		sent, avail := p.TxRefill(0, pkts, 0, 0, 0, 8) // allocate only
		if sent != 0 || avail != 8 {
			t.Errorf("first refill: sent %d avail %d", sent, avail)
			return
		}
		for _, m := range pkts[:5] {
			m.RearmTx(60, 0)
		}
		spare := append([]*packetio.Mbuf(nil), pkts[5:8]...)
		sent, avail = p.TxRefill(0, pkts, 0, 5, 3, 10)
		if sent != 5 || avail != 10 {
			t.Errorf("refill: sent %d avail %d, want 5 and 10", sent, avail)
		}
		for i, m := range spare {
			if pkts[i] != m {
				t.Errorf("spare %d not moved to the front", i)
			}
		}
		pool.Free(pkts[:avail])
	})
}

// A recycle pool's buffer goes to a port with one reference and comes
// back to its owner (reference count 0, bytes as left) through the port's
// ordinary free; one given back while a port holds it returns to the free
// list once the port frees it; nobody allocates from the pool otherwise.
func TestRecyclePoolBuffersComeBackToTheirOwner(t *testing.T) {
	p := portAt(t, nullPort)
	rp := testDrv.RecyclePool()
	if rp == nil {
		t.Fatal("no recycle pool")
	}
	burst := testDrv.NewBurst()
	defer burst.Free()
	pkts := burst.Pkts[:8]
	onLcore(func() {
		if !rp.Take(pkts) {
			t.Error("take failed")
			return
		}
		if st := rp.Stats(); st.Used != 8 {
			t.Errorf("%d buffers in use after taking 8", st.Used)
		}
		for i, m := range pkts {
			if m.Refcnt() != 0 {
				t.Errorf("taken buffer %d has %d references, want 0", i, m.Refcnt())
			}
			b := m.RearmShared(60)
			*(*byte)(b) = byte(0xa0 + i)
			m.Lend()
		}
		if n := p.TxBurst(0, pkts[:4]); n != 4 {
			t.Errorf("sent %d of 4", n)
		}
		for i, m := range pkts[:4] {
			if m.Refcnt() != 0 || *(*byte)(m.DataPtr()) != byte(0xa0+i) || m.Len() != 60 {
				t.Errorf("buffer %d after the port's free: %d references, first byte %#x, length %d",
					i, m.Refcnt(), *(*byte)(m.DataPtr()), m.Len())
			}
		}
		// 4 held by "a port" (lent, not sent) when given back.
		rp.Give(pkts)
		if st := rp.Stats(); st.Used != 4 {
			t.Errorf("%d buffers in use after giving back 4 free and 4 held, want 4", st.Used)
		}
		testDrv.Pool().Free(pkts[4:]) // the port lets them go
		if st := rp.Stats(); st.Used != 0 {
			t.Errorf("%d buffers in use after the port freed them", st.Used)
		}
	})
}

// AddRef shares a buffer: the port's frees take references away and the
// buffer goes back to the pool with the last.
func TestAddRefSharesABuffer(t *testing.T) {
	p := portAt(t, nullPort)
	pool := testDrv.Pool().(packetio.RefPool)
	burst := testDrv.NewBurst()
	defer burst.Free()
	onLcore(func() {
		before := pool.Stats().Used
		if !pool.Alloc(burst.Pkts[:1]) {
			t.Error("alloc failed")
			return
		}
		m := burst.Pkts[0]
		m.RearmTx(60, 0)
		pool.AddRef(m, 9)
		for i := range 10 {
			burst.Pkts[i] = m
		}
		if sent := p.TxBurst(0, burst.Pkts[:9]); sent != 9 {
			t.Errorf("sent %d of 9", sent)
		}
		if m.Refcnt() != 1 || pool.Stats().Used != before+1 {
			t.Errorf("after 9 of 10 references: refcnt %d, used %d (was %d)", m.Refcnt(), pool.Stats().Used, before)
		}
		pool.Free(burst.Pkts[:1])
		if got := pool.Stats().Used; got != before {
			t.Errorf("used %d after the last reference, want %d", got, before)
		}
	})
}

// BenchmarkRxBurstEmpty is the fixed cost of one rx burst call: the cgo
// transition plus DPDK's dispatch, on a ring port with nothing waiting.
func BenchmarkRxBurstEmpty(b *testing.B) {
	p := portAt(b, ringPortB)
	burst := testDrv.NewBurst()
	defer burst.Free()
	onLcore(func() {
		b.ReportAllocs()
		b.ResetTimer()
		rx := burst.Pkts[:packetio.BurstSize]
		for i := 0; i < b.N; i++ {
			if p.RxBurst(0, rx, 0) != 0 {
				b.Fatal("ring port had packets waiting")
			}
		}
	})
}

// A jumbo buffer holds a 9216-byte frame in one segment, crosses the
// ring pair whole, and goes back to the jumbo pool through any Free
// (DPDK frees a buffer to the pool it came from).
func TestJumboPoolCarriesWholeFrames(t *testing.T) {
	jp := testDrv.JumboPool()
	if jp == nil {
		t.Fatal("no jumbo pool")
	}
	if ps := testDrv.Pools(); len(ps) != 3 || ps[1].Name != "openperfd_jumbo" || ps[1].Size != 255 || ps[2].Name != "openperfd_recycle" {
		t.Fatalf("pools %+v; want the 2 KiB pool, a jumbo pool of 255 and the recycle pool", ps)
	}
	from, to := portAt(t, ringPortA), portAt(t, ringPortB)
	const n, length = 8, memory.MaxJumboFrame
	b := testDrv.NewBurst()
	defer b.Free()
	pkts := b.Pkts[:n]
	if !jp.Alloc(pkts) {
		t.Fatal("jumbo alloc failed")
	}
	for i, m := range pkts {
		if len(m.Room()) < length {
			t.Fatalf("jumbo buffer room %d, want at least %d", len(m.Room()), length)
		}
		copy(m.Room(), frame(from.Info().Index, i, length))
		m.SetLen(length)
	}
	if sent := from.TxBurst(0, pkts); sent != n {
		jp.Free(pkts[sent:])
		t.Fatalf("sent %d of %d", sent, n)
	}
	rx := testDrv.NewBurst()
	defer rx.Free()
	got := to.RxBurst(0, rx.Pkts, 0)
	for i, m := range rx.Pkts[:got] {
		if want := frame(from.Info().Index, i, length); m.Len() != length || !bytes.Equal(m.Data(), want) {
			t.Errorf("packet %d: %d bytes (pkt_len %d), want %d whole", i, len(m.Data()), m.Len(), length)
		}
	}
	testDrv.Pool().Free(rx.Pkts[:got])
	if got != n {
		t.Fatalf("received %d of %d", got, n)
	}
	if st := jp.Stats(); st.Used != 0 {
		t.Errorf("jumbo pool: %d buffers still used after the free", st.Used)
	}
}
