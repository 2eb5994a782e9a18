package generator

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// TestRunningResultIsOneSnapshot reads a result and its tx flows while a
// goroutine sends as a worker would: every figure of one view must come
// from the same counters, so nothing shows as dropped and octets follow
// packets. Reading the counters afresh per figure showed the frames sent
// between two reads as octets dropped.
func TestRunningResultIsOneSnapshot(t *testing.T) {
	def := udpDef(nil, []Modifier{{Name: "source_port", Kind: KindField, List: vals(1, 2, 3)}}, TieZip)
	def.Length = Length{List: []int{64, 100, 300, 1000}}
	p, err := Compile([]TrafficDefinition{def}, OrderRoundRobin, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := fake.New(1, 1, 4096)
	var clk atomic.Int64
	clk.Store(int64(time.Second))
	now := func() int64 { return clk.Add(1000) } // 1 µs per reading
	src, err := NewSource(p, d.Pool(), Pacing{Rate: 1e9, Burst: 32}, now)
	if err != nil {
		t.Fatal(err)
	}
	r := &result{id: "r", genID: "g", prog: p, shards: []shard{{prog: p, src: src}}}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pkts := make([]*packetio.Mbuf, 32)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n := src.Pull(pkts)
			d.Pool().Free(pkts[:n])
			src.Sent(n, 0)
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for deadline := time.Now().Add(5 * time.Second); src.Counters().Actual == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the sender sent nothing in 5 s")
		}
		time.Sleep(time.Millisecond)
	}

	for i := 0; i < 3000; i++ {
		v := r.view(now, true).Counters
		if v.PacketsDropped != 0 || v.OctetsDropped != 0 {
			t.Fatalf("view %d: %d packets, %d octets dropped; nothing was", i, v.PacketsDropped, v.OctetsDropped)
		}
		if o := p.Octets(v.PacketsActual); v.OctetsActual != o {
			t.Fatalf("view %d: %d packets sent are %d octets, the view says %d", i, v.PacketsActual, o, v.OctetsActual)
		}
		if o := p.Octets(v.PacketsIntended); v.OctetsIntended != o {
			t.Fatalf("view %d: %d packets intended are %d octets, the view says %d", i, v.PacketsIntended, o, v.OctetsIntended)
		}
		fv := newFlowView(r)
		for g := range fv.len() {
			f := fv.flow(g)
			if f.Counters.PacketsDropped != 0 || f.Counters.OctetsDropped != 0 {
				t.Fatalf("flows %d: flow %s shows %d packets, %d octets dropped", i, f.ID, f.Counters.PacketsDropped, f.Counters.OctetsDropped)
			}
		}
	}
}
