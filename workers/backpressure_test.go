package workers

import (
	"testing"

	"github.com/openperfd/openperfd/packetio"
	"github.com/openperfd/openperfd/packetio/fake"
)

// endless is a source that always has a burst of 64-byte frames.
type endless struct{ pool packetio.Pool }

func (s *endless) Pull(pkts []*packetio.Mbuf) int {
	n := min(len(pkts), 32)
	if !s.pool.Alloc(pkts[:n]) {
		return 0
	}
	for _, m := range pkts[:n] {
		m.SetLen(64)
	}
	return n
}
func (*endless) Sent(int, int) {}
func (*endless) Detached()     {}

// Frames a full tx queue refuses are counted on the port, retried or
// dropped: with nobody draining the peer (port 1 is not attached) port
// 0's queue fills and every later burst is refused.
func TestTxBackpressureIsCountedPerPort(t *testing.T) {
	for _, drop := range []bool{false, true} {
		d := fake.New(1, 1, 8192)
		w := startWorkers(t, d, 1, drop)
		w.AttachPort(portByID(d, "0"))
		src := &endless{pool: d.Pool()}
		if err := w.AddSource("0", src); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "refusals", func() bool { r, _ := w.TxRefused("0"); return r > 1000 })
		w.RemoveSource(src)
		refused, dropped := w.TxRefused("0")
		if st := w.Stats()[0]; st.TxDropped != dropped {
			t.Errorf("drop=%v: port counts %d dropped, worker %d", drop, dropped, st.TxDropped)
		}
		if drop && dropped != refused {
			t.Errorf("drop-tx-overruns: %d refused but %d dropped; every refused frame is dropped", refused, dropped)
		}
		if !drop && dropped != 0 {
			t.Errorf("retrying: %d dropped", dropped)
		}
		if r, _ := w.TxRefused("1"); r != 0 {
			t.Errorf("port 1 has %d refusals, it sent nothing", r)
		}
	}
}
