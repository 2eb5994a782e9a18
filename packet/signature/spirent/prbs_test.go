package spirent

import "testing"

func TestPRBS23IsTheSequence(t *testing.T) {
	// Bit by bit from the recurrence, against the word-wise generator. The
	// seed is the first 32 bits as given; the recurrence holds after it.
	p := NewPRBS23(PRBS23Start)
	b := make([]byte, 64)
	p.Fill(b, 0)
	var a []byte
	for _, x := range b {
		for j := 7; j >= 0; j-- {
			a = append(a, ^x>>j&1)
		}
	}
	for n := 32; n < len(a); n++ {
		if a[n] != a[n-23]^a[n-18] {
			t.Fatalf("bit %d breaks a[n] = a[n-23] ^ a[n-18]", n)
		}
	}
}

func TestPRBS23BitErrors(t *testing.T) {
	for phase := range 4 {
		p := NewPRBS23(0x12345678)
		b := make([]byte, 200)
		p.Fill(b, phase)
		if n := PRBS23BitErrors(b, phase); n != 0 {
			t.Errorf("phase %d: clean fill has %d bit errors", phase, n)
		}
		b[100] ^= 0x10
		if n := PRBS23BitErrors(b, phase); n != 1 {
			t.Errorf("phase %d: one flipped bit counts %d", phase, n)
		}
	}
	if n := PRBS23BitErrors([]byte{1, 2, 3, 4, 5, 6, 7}, 0); n != 0 {
		t.Errorf("7-byte payload: %d bit errors, want 0 (not checked)", n)
	}
}

func BenchmarkPRBS23Fill1500(b *testing.B) {
	p := NewPRBS23(PRBS23Start)
	buf := make([]byte, 1500)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		p.Fill(buf, 2)
	}
}

func BenchmarkPRBS23BitErrors1500(b *testing.B) {
	p := NewPRBS23(PRBS23Start)
	buf := make([]byte, 1500)
	p.Fill(buf, 2)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if PRBS23BitErrors(buf, 2) != 0 {
			b.Fatal("errors")
		}
	}
}
