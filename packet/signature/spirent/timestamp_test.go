package spirent

import (
	"testing"
	"time"
)

func TestTimestampUnits(t *testing.T) {
	if WrapPeriod != 687194767360*time.Nanosecond {
		t.Errorf("WrapPeriod = %v, want 687.19476736s", WrapPeriod)
	}
	cases := []struct {
		ns    int64
		ticks uint64
	}{
		{0, 0}, {2, 0}, {3, 1}, {5, 2}, {7, 2}, {8, 3},
		{int64(WrapPeriod), 0},                 // wraps
		{int64(WrapPeriod) - 2, TimestampMask}, // 2.5 ns before the wrap
		{int64(WrapPeriod) + 10, 4},
	}
	for _, c := range cases {
		if got := Ticks(c.ns); got != c.ticks {
			t.Errorf("Ticks(%d) = %d, want %d", c.ns, got, c.ticks)
		}
	}
	if got := Nanos(3); got != 7 { // 7.5 ns, rounded toward zero
		t.Errorf("Nanos(3) = %d, want 7", got)
	}
}

func TestEpochIsStartOfUTCYear(t *testing.T) {
	loc := time.FixedZone("UTC+10", 10*3600)
	// 1 January 2026, 05:00 in UTC+10 is still 2025 in UTC.
	got := Epoch(time.Date(2026, 1, 1, 5, 0, 0, 0, loc))
	if want := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Epoch = %v, want %v", got, want)
	}
}

func TestDeltaTicksAcrossWrap(t *testing.T) {
	cases := []struct {
		a, b uint64
		want int64
	}{
		{10, 3, 7},
		{3, 10, -7},
		{2, TimestampMask - 1, 4}, // a is 4 ticks after b, across the wrap
		{TimestampMask - 1, 2, -4},
		{1 << 37, 0, -1 << 37}, // exactly half a wrap: taken as behind
	}
	for _, c := range cases {
		if got := DeltaTicks(c.a, c.b); got != c.want {
			t.Errorf("DeltaTicks(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestLatencyAcrossWrap(t *testing.T) {
	wrap := int64(WrapPeriod)
	cases := []struct {
		name   string
		tx, rx int64 // ns since the epoch
		want   int64
	}{
		{"plain", 1_000_000, 1_010_000, 10_000},
		{"tx before a wrap, rx after", 5*wrap - 1000, 5*wrap + 4000, 5000},
		{"late in the year", 3e16, 3e16 + 123_457, 123_457},
		{"rx clock behind tx", 7 * wrap, 7*wrap - 500, -500},
	}
	for _, c := range cases {
		ticks := Ticks(c.tx)
		got := Latency(c.rx, ticks)
		// Ticks truncate tx to 2.5 ns, so the latency may read up to 2.5 ns
		// long.
		if d := got - c.want; d < 0 || d > 3 {
			t.Errorf("%s: Latency = %d ns, want %d", c.name, got, c.want)
		}
		if u := Unwrap(ticks, c.rx); u > c.tx || c.tx-u > 3 {
			t.Errorf("%s: Unwrap = %d, want ~%d", c.name, u, c.tx)
		}
	}
}
