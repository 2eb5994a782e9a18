package socket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// ringPair is both ends of one ring over the same memory, as daemon and
// client see it.
func ringPair(size int) (prod, cons *ring, mem []byte) {
	mem = make([]byte, offData+size)
	data := mem[offData:]
	return newRing(mem, offRxHead, offRxTail, data, true), newRing(mem, offRxHead, offRxTail, data, false), mem
}

func TestRingCarriesRecordsAcrossTheWrap(t *testing.T) {
	prod, cons, _ := ringPair(4096)
	buf := make([]byte, maxDgram)
	var addr [28]byte
	for i := range 500 { // ~ 30 times round the ring
		payload := bytes.Repeat([]byte{byte(i)}, 1+i%200)
		from := sockaddr(2, mustAddrPort("10.0.0.1:99"))
		ok, notify, err := prod.push(from, payload, 0)
		if !ok || err != nil {
			t.Fatalf("push %d: ok=%v err=%v", i, ok, err)
		}
		if !notify {
			t.Fatalf("push %d onto an empty ring asked for no wake-up", i)
		}
		n, alen, err := cons.pop(buf, &addr)
		if err != nil || n != len(payload) || !bytes.Equal(buf[:n], payload) || !bytes.Equal(addr[:alen], from) {
			t.Fatalf("pop %d: n=%d alen=%d err=%v", i, n, alen, err)
		}
		if !cons.empty() {
			t.Fatalf("ring not empty after pop %d", i)
		}
	}
}

func TestRingFullDropsAndBusyConsumerGetsNoWakeUp(t *testing.T) {
	prod, cons, _ := ringPair(4096)
	payload := make([]byte, 1000) // 1040 bytes a record: 3 fit in 4096
	var notifies, stored int
	for range 5 {
		ok, notify, err := prod.push(nil, payload, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			stored++
		}
		if notify {
			notifies++
		}
	}
	if stored != 3 || notifies != 1 {
		t.Fatalf("stored %d (want 3), wake-ups %d (want 1: only the first found the consumer caught up)", stored, notifies)
	}
	if q := prod.queued(true); q != 3*1040 {
		t.Fatalf("queued %d", q)
	}
	buf := make([]byte, maxDgram)
	var addr [28]byte
	for range 3 {
		if n, _, err := cons.pop(buf, &addr); n != 1000 || err != nil {
			t.Fatalf("pop: %d %v", n, err)
		}
	}
	if n, _, err := cons.pop(buf, &addr); n >= 0 || err != nil {
		t.Fatalf("pop of an empty ring: %d %v", n, err)
	}
}

func TestRingRefusesWhatAHostileClientWrites(t *testing.T) {
	buf := make([]byte, maxDgram)
	var addr [28]byte
	for _, c := range []struct {
		name string
		mess func(mem []byte)
	}{
		{"head beyond the ring", func(mem []byte) { binary.NativeEndian.PutUint64(mem[offRxHead:], 1<<40) }},
		{"head inside a header", func(mem []byte) { binary.NativeEndian.PutUint64(mem[offRxHead:], 8) }},
		{"length beyond what was published", func(mem []byte) {
			binary.NativeEndian.PutUint64(mem[offRxHead:], 48)
			binary.NativeEndian.PutUint32(mem[offData:], 4000)
		}},
		{"huge length", func(mem []byte) {
			binary.NativeEndian.PutUint64(mem[offRxHead:], 48)
			binary.NativeEndian.PutUint32(mem[offData:], 0xffffffff)
		}},
		{"address too long", func(mem []byte) {
			binary.NativeEndian.PutUint64(mem[offRxHead:], 48)
			binary.NativeEndian.PutUint32(mem[offData:], 8)
			binary.NativeEndian.PutUint16(mem[offData+4:], 200)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, cons, mem := ringPair(4096)
			c.mess(mem)
			if _, _, err := cons.pop(buf, &addr); !errors.Is(err, errCorrupt) {
				t.Fatalf("pop: %v, want errCorrupt", err)
			}
		})
	}
	t.Run("consumer index beyond the producer's", func(t *testing.T) {
		prod, _, mem := ringPair(4096)
		binary.NativeEndian.PutUint64(mem[offRxTail:], 1<<30)
		if _, _, err := prod.push(nil, []byte("x"), 0); !errors.Is(err, errCorrupt) {
			t.Fatalf("push: %v, want errCorrupt", err)
		}
	})
}

func TestRingPopAllocatesNothing(t *testing.T) {
	prod, cons, _ := ringPair(1 << 16)
	buf := make([]byte, maxDgram)
	payload := make([]byte, 512)
	var addr [28]byte
	allocs := testing.AllocsPerRun(1000, func() {
		_, _, _ = prod.push(nil, payload, 0)
		_, _, _ = cons.pop(buf, &addr)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per push+pop", allocs)
	}
}

func BenchmarkRingPushPop(b *testing.B) {
	for _, size := range []int{64, 1472} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			prod, cons, _ := ringPair(1 << 18)
			buf := make([]byte, maxDgram)
			payload := make([]byte, size)
			var addr [28]byte
			b.SetBytes(int64(size))
			for b.Loop() {
				_, _, _ = prod.push(nil, payload, 0)
				_, _, _ = cons.pop(buf, &addr)
			}
		})
	}
}

// A stream's EOF record (no bytes, flagEOF) comes out with its flag, and
// free says how much the producer may push.
func TestRingEOFRecordAndFree(t *testing.T) {
	prod, cons, _ := ringPair(4096)
	if f := prod.free(); f != 4096 {
		t.Fatalf("free on an empty ring: %d", f)
	}
	if ok, _, err := prod.push(nil, make([]byte, 1000), 0); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if f := prod.free(); f != 4096-align8(recordHdr+1000) {
		t.Fatalf("free after 1000 bytes: %d", f)
	}
	if ok, _, err := prod.push(nil, nil, flagEOF); !ok || err != nil {
		t.Fatal(ok, err)
	}
	buf := make([]byte, maxDgram)
	var addr [28]byte
	if n, _, flags, err := cons.popFlags(buf, &addr); n != 1000 || flags != 0 || err != nil {
		t.Fatalf("data record: %d %#x %v", n, flags, err)
	}
	if n, alen, flags, err := cons.popFlags(buf, &addr); n != 0 || alen != 0 || flags != flagEOF || err != nil {
		t.Fatalf("EOF record: %d %d %#x %v", n, alen, flags, err)
	}
	if n, _, _, _ := cons.popFlags(buf, &addr); n >= 0 {
		t.Fatalf("after EOF: %d", n)
	}
}
