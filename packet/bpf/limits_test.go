package bpf

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowFilter is n "port" terms: libpcap's optimizer takes superlinear
// time on them (150 terms ~0.2 s, 300 ~2 s on this machine).
func slowFilter(n int) string {
	terms := make([]string, n)
	for i := range terms {
		terms[i] = fmt.Sprintf("port %d", i+1)
	}
	return strings.Join(terms, " or ")
}

var roomy = Limits{Deadline: time.Minute, MaxInstructions: 1 << 20}

func timeCompiles(t *testing.T, exprs ...string) time.Duration {
	t.Helper()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(exprs))
	for i, e := range exprs {
		wg.Go(func() { _, errs[i] = CompileWith(e, roomy) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return time.Since(start)
}

// Compiles of different filters run at once: as many slow filters as
// there are CPUs finish in about the time of one, not one after another
// (a global lock made four 10 s filters block every filter for 40 s).
func TestSlowFiltersCompileInParallel(t *testing.T) {
	n := min(runtime.NumCPU(), 4)
	if n < 2 {
		t.Skip("needs 2 CPUs")
	}
	expr := slowFilter(170)
	exprs := make([]string, n)
	for i := range exprs {
		exprs[i] = expr
	}
	// They are inside libpcap at the same time, whatever the load.
	peakInC.Store(0)
	timeCompiles(t, exprs...)
	if p := peakInC.Load(); p < int32(n) {
		t.Fatalf("at most %d of %d compiles were in libpcap at once", p, n)
	}
	// How long they take together is not asserted: timings belong in
	// benchmarks, and other test binaries share this machine's CPUs.
	t.Logf("%d filters together %v, one %v", n, timeCompiles(t, exprs...), timeCompiles(t, expr))
}

func TestFilterTooLongOrTooBigIsTooCostly(t *testing.T) {
	cases := []struct {
		name string
		expr string
		lim  Limits
	}{
		{"expression over MaxLen", strings.Repeat("udp or ", MaxLen/7) + "udp", DefaultLimits},
		{"expression over its limit", "udp port 53", Limits{MaxLen: 5, Deadline: time.Second}},
		{"program over MaxInstructions", slowFilter(40), Limits{Deadline: time.Minute, MaxInstructions: 64}},
		{"default instruction limit", slowFilter(300), Limits{MaxLen: 1 << 16, Deadline: time.Minute, MaxInstructions: DefaultLimits.MaxInstructions}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CompileWith(c.expr, c.lim)
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrTooCostly) {
				t.Fatalf("%v, want ErrInvalid and ErrTooCostly", err)
			}
		})
	}
	if _, err := CompileWith(slowFilter(10), DefaultLimits); err != nil {
		t.Fatalf("10 terms: %v", err)
	}
}

// A compile past its deadline is refused at the deadline; compiles that
// callers gave up on hold at most cap(longSlots) threads, later callers
// are refused at their deadline rather than queued behind them, short
// filters compile at once all the while, and once the slow ones finish
// long filters compile again.
func TestDeadlineAndAbandonedCompilesAreBounded(t *testing.T) {
	lim := Limits{Deadline: 50 * time.Millisecond, MaxInstructions: 1 << 20}
	expr := slowFilter(220)
	var wg sync.WaitGroup
	for i := range 3 * cap(longSlots) {
		wg.Go(func() {
			start := time.Now()
			_, err := CompileWith(expr+fmt.Sprintf(" or port %d", 1000+i), lim)
			if !errors.Is(err, ErrTooCostly) || !errors.Is(err, ErrInvalid) {
				t.Errorf("slow filter: %v, want ErrTooCostly", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("refused after %v, deadline %v", d, lim.Deadline)
			}
		})
	}
	wg.Wait()
	if n := len(longSlots); n == 0 || n > cap(longSlots) {
		t.Fatalf("%d compiles outstanding, want some and at most %d", n, cap(longSlots))
	}
	start := time.Now()
	if f, err := Compile("udp port 53"); err != nil || !f.Match(udpFrame) {
		t.Fatalf("short filter beside the slow ones: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a short filter took %v beside abandoned slow ones", d)
	}
	for deadline := time.Now().Add(time.Minute); len(longSlots) > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d abandoned compiles still running after a minute", len(longSlots))
		}
	}
	if _, err := CompileWith(slowFilter(30), DefaultLimits); err != nil {
		t.Fatalf("a long filter after the slow ones: %v", err)
	}
}
