package capture

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// checkRing verifies the ring against what was put: the records held are
// the newest (wrap) or the first (no wrap) ones, in order, with their
// bytes intact and their data regions disjoint and inside the buffer.
func checkRing(t *testing.T, r *ring, put [][]byte) {
	t.Helper()
	if int(r.first)+r.n > len(put) {
		t.Fatalf("ring holds [%d, %d) of %d put", r.first, int(r.first)+r.n, len(put))
	}
	var sum uint64
	var prev *record
	var spans [][2]int // data regions [off, off+footprint)
	for seq := r.first; seq < r.next(); seq++ {
		rec := r.get(seq)
		want := put[seq]
		got := r.bytesOf(rec)
		if string(got) != string(want) || rec.ts != int64(seq) {
			t.Fatalf("seq %d: %d bytes ts %d, want %d bytes ts %d", seq, len(got), rec.ts, len(want), seq)
		}
		if end := int(rec.off) + footprint(len(got)); end > len(r.data) {
			t.Fatalf("seq %d ends at %d, past the buffer", seq, end)
		}
		spans = append(spans, [2]int{int(rec.off), int(rec.off) + footprint(len(got))})
		sum += uint64(len(got))
		if prev != nil && !(prev.off+uint32(footprint(int(prev.capLen))) <= rec.off || rec.off == 0) {
			t.Fatalf("seq %d at %d does not follow seq %d at %d+%d", seq, rec.off, seq-1, prev.off, prev.capLen)
		}
		prev = rec
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	for i := 1; i < len(spans); i++ {
		if spans[i][0] < spans[i-1][1] {
			t.Fatalf("records overlap: %v and %v", spans[i-1], spans[i])
		}
	}
	if sum != r.bytes {
		t.Fatalf("bytes %d, records sum to %d", r.bytes, sum)
	}
}

func TestRingMatchesModel(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		for seed := range uint64(20) {
			rng := rand.New(rand.NewPCG(seed, 7))
			size := 64 + rng.IntN(4096)
			r := newRing(size, 1+rng.IntN(64))
			var put [][]byte
			cleared := uint64(0) // sequence number after the last clear
			for step := 0; step < 2000; step++ {
				b := make([]byte, rng.IntN(min(size, 300)+1))
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				if !r.put(b, int64(len(put)), uint32(len(b)), DirRx, wrap) {
					if wrap {
						t.Fatalf("wrap ring refused %d bytes", len(b))
					}
					break // full
				}
				put = append(put, b)
				checkRing(t, &r, put)
				if r.next() != uint64(len(put)) {
					t.Fatalf("ring ends at %d, %d put", r.next(), len(put))
				}
				if !wrap && r.first != cleared {
					t.Fatal("no-wrap ring evicted")
				}
				if wrap && r.first > cleared && r.n < len(r.recs) {
					// evicting frees no more than it must: at most one
					// packet's room is free, and one is left at the end
					held := 0
					for seq := r.first; seq < r.next(); seq++ {
						held += footprint(int(r.get(seq).capLen))
					}
					if held < size-3*301 {
						t.Fatalf("wrap ring holds %d of %d bytes", held, size)
					}
				}
				if rng.IntN(500) == 0 {
					r.clear()
					cleared = r.first
				}
			}
		}
	}
}
