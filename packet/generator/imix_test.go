package generator

import (
	"slices"
	"strings"
	"testing"
)

// A mix's cycle holds each length as often as its weight, interleaved:
// no run of one length is longer than its share makes unavoidable.
func TestIMIXInterleavesInProportion(t *testing.T) {
	got, err := (&IMIX{Profile: "simple"}).Expand("x")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{64, 576, 64, 64, 576, 64, 1518, 64, 576, 64, 576, 64}
	if len(got) != 12 {
		t.Fatalf("simple cycle %v, want 12 entries", got)
	}
	counts := map[int]int{}
	for _, v := range got {
		counts[v]++
	}
	if counts[64] != 7 || counts[576] != 4 || counts[1518] != 1 {
		t.Fatalf("simple cycle %v: counts %v, want 7/4/1", got, counts)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("simple cycle %v, want %v (deterministic)", got, want)
	}
	// Any window of 6 holds 64 three or four times (share 3.5).
	for i := range got {
		n := 0
		for j := range 6 {
			if got[(i+j)%len(got)] == 64 {
				n++
			}
		}
		if n < 3 || n > 4 {
			t.Fatalf("window at %d has %d frames of 64: %v", i, n, got)
		}
	}
}

func TestIMIXWeightsReduced(t *testing.T) {
	got, err := (&IMIX{Weights: []WeightedLength{{100, 30}, {200, 10}}}).Expand("x")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{100, 100, 200, 100}; !slices.Equal(got, want) {
		t.Fatalf("30:10 cycle %v, want %v", got, want)
	}
}

func TestIMIXGenome(t *testing.T) {
	got, err := (&IMIX{Genome: "aagd"}).Expand("x")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{64, 64, 1518, 512}; !slices.Equal(got, want) {
		t.Fatalf("genome cycle %v, want %v", got, want)
	}
}

func TestIMIXRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		m    IMIX
		msg  string
	}{
		{"none", IMIX{}, "exactly one"},
		{"two", IMIX{Profile: "simple", Genome: "a"}, "exactly one"},
		{"unknown profile", IMIX{Profile: "bogus"}, "x.profile: \"bogus\" is not a known IMIX profile"},
		{"bad letter", IMIX{Genome: "abz"}, "x.genome: letter 2"},
		{"empty weights", IMIX{Weights: []WeightedLength{}}, "x.weights: at least one"},
		{"zero weight", IMIX{Weights: []WeightedLength{{64, 0}}}, "x.weights[0].weight: 0 is below 1"},
		{"huge cycle", IMIX{Weights: []WeightedLength{{64, 4000}, {65, 3999}}}, "sum to 7999"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.m.Expand("x")
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err %v, want one containing %q", err, c.msg)
			}
		})
	}
}

// Length.expand checks a mix's lengths like any other list.
func TestLengthIMIXChecked(t *testing.T) {
	l := Length{IMIX: &IMIX{Weights: []WeightedLength{{64, 1}, {40, 1}}}}
	if _, err := l.expand("traffic[0].length", 64); err == nil || !strings.Contains(err.Error(), "traffic[0].length.x_imix (entry 1): 40 is shorter") {
		t.Fatalf("err %v", err)
	}
	l = Length{Fixed: 64, IMIX: &IMIX{Profile: "simple"}}
	if _, err := l.expand("p", 64); err == nil || !strings.Contains(err.Error(), "exactly one of fixed, list, sequence and x_imix") {
		t.Fatalf("err %v", err)
	}
}

// FuzzIMIXGenome: any string either parses to RFC 6985 sizes, one per
// letter, or is refused with an error; never a panic.
func FuzzIMIXGenome(f *testing.F) {
	for _, s := range []string{"a", "aaaaaaadddg", "abcdefghi", "z", "", "\x00", strings.Repeat("a", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, g string) {
		out, err := (&IMIX{Genome: g}).Expand("g")
		if err != nil {
			return
		}
		if len(out) != len(g) {
			t.Fatalf("%q gave %d lengths", g, len(out))
		}
		for _, v := range out {
			if v < 64 || v > 9000 {
				t.Fatalf("%q gave length %d", g, v)
			}
		}
	})
}
