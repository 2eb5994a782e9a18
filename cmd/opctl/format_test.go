package main

import (
	"testing"
)

func TestCountUsesThousandsSeparators(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {123456, "123,456"}, {1234567, "1,234,567"},
		{-1234567, "-1,234,567"}, {9223372036854775807, "9,223,372,036,854,775,807"},
	} {
		if got := count(tc.n); got != tc.want {
			t.Errorf("count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestSIKeepsThreeSignificantDigits(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.4, "0"}, {1, "1"}, {999, "999"}, {999.6, "1.00k"}, {1000, "1.00k"}, {12345, "12.3k"},
		{99960, "100k"}, {999999, "1.00M"}, {1e6, "1.00M"}, {14.88e6, "14.9M"}, {10e9, "10.0G"}, {-1, "-"},
	} {
		if got := si(tc.v); got != tc.want {
			t.Errorf("si(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestSIValueFlagTakesSuffixes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1000000", 1000000, true}, {"1M", 1000000, true}, {"2.5M", 2500000, true}, {"10k", 10000, true},
		{"1G", 1000000000, true}, {"1.5", 0, false}, {"fast", 0, false}, {"", 0, false}, {"1.0000005M", 0, false},
	} {
		var v siValue
		err := v.Set(tc.in)
		if (err == nil) != tc.ok || (tc.ok && int64(v) != tc.want) {
			t.Errorf("Set(%q) = %d, %v; want %d, ok=%v", tc.in, v, err, tc.want, tc.ok)
		}
	}
}

func TestLinkSpeed(t *testing.T) {
	for mbps, want := range map[int64]string{0: "-", 100: "100 Mbps", 2500: "2500 Mbps", 10000: "10 Gbps", 100000: "100 Gbps"} {
		if got := linkSpeed(mbps); got != want {
			t.Errorf("linkSpeed(%d) = %q, want %q", mbps, got, want)
		}
	}
}

func TestPercentKeepsThreeSignificantDigits(t *testing.T) {
	for _, tc := range []struct {
		n, total int64
		want     string
	}{
		{0, 0, "-"}, {0, 100, "0%"}, {2, 5002, "0.04%"}, {39892, 100000, "39.9%"}, {1, 3, "33.3%"},
		{100, 100, "100%"}, {1, 1e9, "<0.001%"}, {123, 1e6, "0.0123%"},
	} {
		if got := percent(tc.n, tc.total); got != tc.want {
			t.Errorf("percent(%d, %d) = %q, want %q", tc.n, tc.total, got, tc.want)
		}
	}
}
