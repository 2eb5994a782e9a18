package analyzer

import (
	"runtime"
	"testing"
)

// A digest's percentiles are nearest-rank within its 1%, min and max are
// exact, its centroids hold every value in order, and signed digests keep
// negative values.
func TestDigestView(t *testing.T) {
	d := newDigests(DigestLatency|DigestJitterRFC, DefaultDigestMax, digestMapping(DefaultDigestDigits))
	for v := int64(1); v <= 1000; v++ {
		d.record(dLatency, v*1000)
		d.record(dJitterRFC, -v) // unsigned: counts as 0
	}
	d.record(dLatency, -5000)
	v := d[dLatency].view()
	within := func(got, want int64) bool { return got >= want*99/100 && got <= want*101/100 }
	if v.Count != 1001 || v.Min != -5000 || v.Max != 1_000_000 ||
		!within(v.P50, 500_000) || !within(v.P90, 900_000) || !within(v.P99, 990_000) || !within(v.P999, 1_000_000) {
		t.Fatalf("latency view %+v", *v)
	}
	var w uint64
	for i, c := range v.Centroids {
		w += c.Weight
		if i > 0 && c.Mean <= v.Centroids[i-1].Mean {
			t.Fatalf("centroids out of order at %d: %v", i, v.Centroids[i-1:i+1])
		}
	}
	if w != v.Count || v.Centroids[0].Mean > -4900 {
		t.Fatalf("centroid weights %d of %d, first %+v", w, v.Count, v.Centroids[0])
	}
	if r := d[dJitterRFC].view(); r.Min != 0 || r.Max != 0 || r.Count != 1000 {
		t.Fatalf("unsigned view %+v", *r)
	}
	if d[dFrameLength].view() != nil {
		t.Fatal("an unconfigured digest has a view")
	}
}

// A latency digest over five decades stays a few KB: the HDR histograms
// before took 28 KB each whatever they held.
func TestDigestMemory(t *testing.T) {
	const n = 2000
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	ds := make([]*digests, n)
	for i := range ds {
		ds[i] = newDigests(DigestLatency, DefaultDigestMax, digestMapping(DefaultDigestDigits))
		for v := int64(100); v < 10_000_000; v = v*21/20 + 1 {
			ds[i].record(dLatency, v)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if per := (m1.HeapAlloc - m0.HeapAlloc) / n; per > 10<<10 {
		t.Fatalf("%d bytes per digest, want under 10 KiB", per)
	} else {
		t.Logf("%d bytes per digest", per)
	}
	runtime.KeepAlive(ds)
}
