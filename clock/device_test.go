package clock

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// rateMult is a rate of ns per tick as Conversion.Mult.
func rateMult(r float64) uint64 { return uint64(math.Round(r * (1 << ConversionShift))) }

func TestConversionAtIsFixedPointTruncatedTowardBase(t *testing.T) {
	const base, bt = int64(1_700_000_000_000_000_000), uint64(1 << 40)
	tests := []struct {
		name string
		rate float64
		tick uint64
		want int64
	}{
		{"at the base", 1, bt, base},
		{"1 ns per tick, after", 1, bt + 5, base + 5},
		{"1 ns per tick, before", 1, bt - 5, base - 5},
		{"2.5 ns per tick, after", 2.5, bt + 4, base + 10},
		{"2.5 ns per tick, before", 2.5, bt - 4, base - 10},
		{"fractions truncate after", 1.5, bt + 3, base + 4},
		{"fractions truncate before, symmetric", 1.5, bt - 3, base - 4},
		{"an hour of a 1 GHz clock", 1, bt + 3_600_000_000_000, base + 3_600_000_000_000},
		{"microsecond ticks (net_pcap's)", 1000, bt + 1_234_567, base + 1_234_567_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Conversion{BaseTick: bt, Base: base, Mult: rateMult(tt.rate)}
			if got := c.At(tt.tick); got != tt.want {
				t.Fatalf("At(%d) = %d, want %d", tt.tick, got, tt.want)
			}
		})
	}
	// A base just after the counter wrapped: a tick just before it is
	// 10 ticks earlier, not 2^64 later.
	c := Conversion{BaseTick: 5, Base: base, Mult: rateMult(1)}
	if got := c.At(math.MaxUint64 - 4); got != base-10 {
		t.Fatalf("across the wrap: %d, want %d", got, base-10)
	}
}

// device is a simulated NIC clock: at CLOCK_MONOTONIC ns m it reads
// origin + (m - m0) * ticksPerNs.
type device struct {
	origin     uint64
	m0         int64
	ticksPerNs float64
}

func (d device) tick(mono int64) uint64 {
	return d.origin + uint64(math.Round(float64(mono-d.m0)*d.ticksPerNs))
}

// sample reads the device at mono, bracketed by reads gap ns wide that
// do not sit symmetrically around it (as real reads do not).
func (d device) sample(r *rand.Rand, mono, gap int64) Sample {
	before := mono - r.Int64N(gap+1)
	return Sample{Tick: d.tick(mono), Before: before, After: before + gap}
}

// A 1.25 GHz clock 30 ppm fast, read through 400 ns brackets: the fit's
// rate is the device's, and its conversion puts every sample's tick
// within a bracket of when it was read.
func TestFitRecoversADriftingClock(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	d := device{origin: 7e15, m0: 5e12, ticksPerNs: 1.25 * (1 + 30e-6)}
	var samples []Sample
	var reads []int64
	for i := range 8 {
		m := d.m0 + int64(i)*int64(time.Second) + r.Int64N(1000)
		reads = append(reads, m)
		samples = append(samples, d.sample(r, m, 400))
	}
	c, err := Fit(samples)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 / d.ticksPerNs; math.Abs(c.Rate()-want)/want > 1e-7 { // 0.1 ppm: ±200 ns over 7 s is 3e-8
		t.Fatalf("rate %.12f ns per tick, want %.12f", c.Rate(), want)
	}
	if c.BaseTick != samples[7].Tick {
		t.Fatalf("anchored at tick %d, want the last sample's %d", c.BaseTick, samples[7].Tick)
	}
	for i, s := range samples {
		if off := c.At(s.Tick) - reads[i]; off < -400 || off > 400 {
			t.Errorf("sample %d converts %d ns off when it was read", i, off)
		}
	}
}

func TestFitRefusesWhatIsNoClock(t *testing.T) {
	at := func(tick uint64, mono int64) Sample { return Sample{Tick: tick, Before: mono, After: mono + 100} }
	tests := []struct {
		name    string
		samples []Sample
	}{
		{"no sample", nil},
		{"one sample", []Sample{at(1, 1)}},
		{"a clock that stands still", []Sample{at(5, 0), at(5, 1e6), at(5, 2e6)}},
		{"a clock that runs backwards", []Sample{at(5e6, 0), at(4e6, 1e6), at(3e6, 2e6)}},
		{"a clock far too slow", []Sample{at(1, 0), at(2, 1e9)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := Fit(tt.samples); err == nil {
				t.Fatalf("fitted %+v, want an error", c)
			}
		})
	}
	if _, err := Fit([]Sample{at(1, 1)}); !errors.Is(err, ErrFewSamples) {
		t.Fatalf("one sample: %v, want ErrFewSamples", err)
	}
}

// A calibrator fed a sample a second keeps the conversion within a few
// ns of the device over a minute, though the first line comes from
// samples 5 ms apart; a reset of the device's clock is one step, after
// which conversions are right again at once.
func TestCalibratorFollowsTheClockAndItsSteps(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	d := device{origin: 1 << 50, m0: 1e12, ticksPerNs: 1 / 0.999_98} // 20 ppm slow
	c := NewCalibrator(8)
	m := d.m0
	var conv Conversion
	for i := range 4 { // the start: samples 5 ms apart
		var err error
		conv, _, err = c.Add(d.sample(r, m, 300))
		if i == 0 && !errors.Is(err, ErrFewSamples) {
			t.Fatalf("first sample: %v, want ErrFewSamples", err)
		}
		if i > 0 && err != nil {
			t.Fatal(err)
		}
		m += 5 * int64(time.Millisecond)
	}
	for i := range 60 {
		m += int64(time.Second) + r.Int64N(int64(time.Millisecond))
		var stepped bool
		var err error
		conv, stepped, err = c.Add(d.sample(r, m, 300))
		if err != nil || stepped {
			t.Fatalf("second %d: stepped %v, %v", i, stepped, err)
		}
		// Half a second after the sample, before the next one.
		half := m + int64(time.Second/2)
		tol := int64(300)
		if i < 2 {
			tol = 20_000 // the rate from the first 15 ms, then 1 s, of samples
		}
		if off := conv.At(d.tick(half)) - half; off < -tol || off > tol {
			t.Fatalf("second %d: a frame half a second later converts %d ns off (tolerance %d)", i, off, tol)
		}
	}
	// The device restarts its clock from zero.
	d.origin, d.m0 = 0, m
	m += int64(time.Second)
	conv, stepped, err := c.Add(d.sample(r, m, 300))
	if err != nil || !stepped {
		t.Fatalf("after a reset: stepped %v, %v; want a step", stepped, err)
	}
	if off := conv.At(d.tick(m)) - m; off < -300 || off > 300 {
		t.Fatalf("after a reset, the step's own sample converts %d ns off", off)
	}
	m += int64(time.Second)
	if conv, stepped, err = c.Add(d.sample(r, m, 300)); err != nil || stepped {
		t.Fatalf("a second after the reset: stepped %v, %v", stepped, err)
	}
	if off := conv.At(d.tick(m+int64(time.Second/2))) - (m + int64(time.Second/2)); off < -500 || off > 500 {
		t.Fatalf("a second after the reset, conversions are %d ns off", off)
	}
}

// A sample whose bracket is wider than MaxSampleGap is dropped and the
// conversion in force stays.
func TestCalibratorDropsWideSamples(t *testing.T) {
	c := NewCalibrator(4)
	d := device{origin: 0, m0: 0, ticksPerNs: 1}
	c.Add(Sample{Tick: d.tick(0), Before: 0, After: 100})
	before, _, err := c.Add(Sample{Tick: d.tick(1e6), Before: 1e6, After: 1e6 + 100})
	if err != nil {
		t.Fatal(err)
	}
	wide := int64(MaxSampleGap) + 1
	got, stepped, err := c.Add(Sample{Tick: d.tick(2e6) + 1e6, Before: 2e6, After: 2e6 + wide})
	if err == nil || stepped || got != before {
		t.Fatalf("a wide sample: %+v, stepped %v, %v; want the last conversion and an error", got, stepped, err)
	}
}
