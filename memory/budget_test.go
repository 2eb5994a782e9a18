package memory

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestBudgetReservesUpToItsLimitAndNamesItself(t *testing.T) {
	b := NewBudget(100 << 20)
	if err := b.Reserve("capture a", 60<<20); err != nil {
		t.Fatal(err)
	}
	err := b.Reserve("capture b", 50<<20)
	if !errors.Is(err, ErrOverBudget) || !strings.Contains(err.Error(), BudgetFlag) ||
		!strings.Contains(err.Error(), "capture b needs 50.0 MiB") || !strings.Contains(err.Error(), "40.0 MiB of the 100.0 MiB") {
		t.Fatalf("over budget: %v", err)
	}
	if b.Used() != 60<<20 {
		t.Fatalf("a refusal changed the budget: used %d", b.Used())
	}
	// A holder may shrink or grow what it holds; growing counts only the
	// difference.
	if err := b.Reserve("capture a", 100<<20); err != nil {
		t.Fatal(err)
	}
	if err := b.Reserve("capture a", 10<<20); err != nil || b.Used() != 10<<20 {
		t.Fatalf("shrink: %v, used %d", err, b.Used())
	}
	b.Release("capture a")
	b.Release("never held")
	if b.Used() != 0 {
		t.Fatalf("after release: used %d", b.Used())
	}
	var nilBudget *Budget
	if err := nilBudget.Reserve("x", 1<<62); err != nil {
		t.Fatalf("nil budget refused: %v", err)
	}
	nilBudget.Release("x")
}

func TestBudgetIsConsistentUnderConcurrency(t *testing.T) {
	b := NewBudget(1000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for i := range 100 {
		wg.Go(func() {
			if b.Reserve(string(rune('A'+i)), 30) == nil {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != 33 || b.Used() != 990 {
		t.Fatalf("granted %d, used %d; want 33 and 990", granted, b.Used())
	}
}

func TestDefaultBudgetAndMemTotal(t *testing.T) {
	if got := DefaultBudget(24<<30, 4<<30); got != 10<<30 {
		t.Fatalf("DefaultBudget = %d", got)
	}
	if got := DefaultBudget(1<<30, 2<<30); got != 0 {
		t.Fatalf("pools larger than the machine: %d", got)
	}
	n, err := parseMemTotal(strings.NewReader("MemFree: 1 kB\nMemTotal:       24522916 kB\n"))
	if err != nil || n != 24522916<<10 {
		t.Fatalf("parse: %d %v", n, err)
	}
	if _, err := parseMemTotal(strings.NewReader("nothing\n")); err == nil {
		t.Fatal("no MemTotal: no error")
	}
	if n, err := MemTotal(); err != nil || n <= 0 {
		t.Fatalf("MemTotal: %d %v", n, err)
	}
	for s, want := range map[Size]string{100: "100 B", 2 << 30: "2.0 GiB", 1536: "1.5 KiB", 1 << 40: "1.0 TiB"} {
		if s.String() != want {
			t.Errorf("Size(%d) = %q, want %q", int64(s), s, want)
		}
	}
}
