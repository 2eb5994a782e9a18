package dpdk

import (
	"testing"
	"time"

	"github.com/openperfd/openperfd/packetio"
)

// Ring and null ports have no rx interrupts (the test driver does not ask
// for them either); Arm must refuse such queues rather than let a worker
// sleep on a queue that never signals.
func TestPortsWithoutRxInterruptsSayItAndRefuseToArm(t *testing.T) {
	for _, idx := range []uint16{nullPort, ringPortA} {
		if portAt(t, idx).Info().RxInterrupts {
			t.Errorf("port %d reports rx interrupts", idx)
		}
	}
	onLcore(func() {
		w, err := testDrv.NewRxWaiter()
		if err != nil {
			t.Errorf("NewRxWaiter: %v", err)
			return
		}
		defer w.Close()
		if err := w.Arm([]packetio.RxQueue{{Port: portAt(t, ringPortA), Queue: 0}}); err == nil {
			t.Error("Arm of a ring queue succeeded")
		}
	})
}

// Wake ends a Wait under way at once, and one made before a Wait ends it
// as it starts: the control side's pokes must never wait for a timeout.
func TestWakeEndsAWait(t *testing.T) {
	onLcore(func() {
		w, err := testDrv.NewRxWaiter()
		if err != nil {
			t.Errorf("NewRxWaiter: %v", err)
			return
		}
		defer w.Close()

		w.Wake()
		start := time.Now()
		w.Wait(5 * time.Second)
		if d := time.Since(start); d > time.Second {
			t.Errorf("Wait after Wake took %v", d)
		}

		go func() {
			time.Sleep(50 * time.Millisecond)
			w.Wake()
		}()
		start = time.Now()
		w.Wait(5 * time.Second)
		if d := time.Since(start); d < 40*time.Millisecond || d > time.Second {
			t.Errorf("Wait woken after 50 ms took %v", d)
		}

		start = time.Now()
		w.Wait(30 * time.Millisecond) // drained: only the timeout ends it
		if d := time.Since(start); d < 25*time.Millisecond {
			t.Errorf("Wait with nothing pending returned after %v", d)
		}
	})
}
