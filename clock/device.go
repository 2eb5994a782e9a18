package clock

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// A device's clock (a NIC's, whose ticks stamp received frames) counts in
// units and from an origin of its own. It is put on our scale by a
// straight line fitted through samples, each a read of the device's clock
// between two reads of CLOCK_MONOTONIC; refitting now and then, over a
// window of samples seconds apart, follows the drift of its crystal
// against the host's.

// Sample is one read of a device's clock, Tick, taken between two reads
// of CLOCK_MONOTONIC, Before and After (ns). The device's read happened
// somewhere between them: the midpoint is the best guess, off by up to
// half the gap.
type Sample struct {
	Tick          uint64
	Before, After int64
}

func (s Sample) mid() int64 { return s.Before + (s.After-s.Before)/2 }

// ConversionShift is the binary point of Conversion.Mult.
const ConversionShift = 32

// Conversion maps a device clock's ticks onto a clock in ns: tick t is
// Base + (t - BaseTick) * Mult / 2^ConversionShift, the difference taken
// as signed 64 bits (a tick a little before BaseTick is a little before
// Base), the product's magnitude in 128 bits, shifted, and signed again.
// Fixed point so that the rx path converts a tick with one
// multiplication and a shift, with no division and no float; the burst
// helper in packetio/dpdk computes exactly At's result.
type Conversion struct {
	BaseTick uint64
	Base     int64  // ns at BaseTick
	Mult     uint64 // ns per tick, times 2^ConversionShift
}

// At converts tick.
func (c Conversion) At(tick uint64) int64 {
	d := int64(tick - c.BaseTick)
	mag := uint64(d)
	if d < 0 {
		mag = -mag
	}
	hi, lo := bits.Mul64(mag, c.Mult)
	v := int64(hi<<(64-ConversionShift) | lo>>ConversionShift)
	if d < 0 {
		v = -v
	}
	return c.Base + v
}

// Rate is the device clock's ns per tick.
func (c Conversion) Rate() float64 { return float64(c.Mult) / (1 << ConversionShift) }

// A device clock whose rate falls outside these bounds (ns per tick) is
// taken for a broken read: 2^-10 ns is a 1 THz clock, 2^20 ns a 1 kHz
// one, and Mult stays far below 2^64.
const (
	minRate = 1.0 / (1 << 10)
	maxRate = 1 << 20
)

// ErrFewSamples is Fit's (and Calibrator.Add's) error while there are not
// yet two samples to draw a line through.
var ErrFewSamples = errors.New("device clock: fewer than two samples")

// Fit draws the line through samples that is closest to their midpoints
// (least squares of ns on ticks) and returns it anchored at the last
// sample's tick. It needs two samples or more, with ticks that move
// forward at a plausible rate.
func Fit(samples []Sample) (Conversion, error) {
	if len(samples) < 2 {
		return Conversion{}, ErrFewSamples
	}
	// Relative to the first sample, so that float64 keeps every ns: a
	// minute of a 1 GHz clock is 6e10 ticks, well inside 2^53.
	t0, m0 := samples[0].Tick, samples[0].mid()
	n := float64(len(samples))
	var sx, sy float64
	for _, s := range samples {
		sx += float64(int64(s.Tick - t0))
		sy += float64(s.mid() - m0)
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for _, s := range samples {
		dx, dy := float64(int64(s.Tick-t0))-mx, float64(s.mid()-m0)-my
		sxx += dx * dx
		sxy += dx * dy
	}
	if sxx == 0 {
		return Conversion{}, fmt.Errorf("device clock: %d samples read tick %d: the clock does not count", len(samples), t0)
	}
	rate := sxy / sxx
	if !(rate >= minRate && rate <= maxRate) { // also NaN
		return Conversion{}, fmt.Errorf("device clock: %g ns per tick over %d samples: not a clock", rate, len(samples))
	}
	last := samples[len(samples)-1].Tick
	at := my + rate*(float64(int64(last-t0))-mx)
	return Conversion{BaseTick: last, Base: m0 + int64(math.Round(at)), Mult: uint64(math.Round(rate * (1 << ConversionShift)))}, nil
}

// Calibrator keeps a device clock's Conversion current: each sample added
// refits the line over the last few (a longer baseline pins the rate
// better), anchored at the newest. Not safe for concurrent use.
type Calibrator struct {
	window []Sample
	keep   int
	last   Conversion
	fitted bool
}

// NewCalibrator returns a calibrator that fits over the last keep samples
// (at least 2).
func NewCalibrator(keep int) *Calibrator {
	keep = max(keep, 2)
	return &Calibrator{keep: keep, window: make([]Sample, 0, keep)}
}

// MaxSampleGap is the widest a sample's bracket may be: a wider one was
// interrupted (the thread preempted, a page fault) and says little about
// when the device read its clock.
const MaxSampleGap = 50 * time.Microsecond

// MaxJump is how far a sample may lie off the current line before the
// device's clock is taken to have been reset or stepped: the window then
// starts again from that sample, at the rate the line had. Drift alone
// moves a sample by a few µs a second (tens of ppm at most); a first line
// fitted over a few ms may be off by tens of µs a second after.
const MaxJump = time.Millisecond

// Add adds a sample and returns the conversion to use from now on;
// stepped says the sample lay more than MaxJump off the line before (the
// window restarted from it). Errors: ErrFewSamples until two samples are
// in; a sample wider than MaxSampleGap, or a fit that fails, leaves the
// last conversion in force and returns it with the error.
func (c *Calibrator) Add(s Sample) (conv Conversion, stepped bool, err error) {
	if gap := s.After - s.Before; gap < 0 || gap > int64(MaxSampleGap) {
		return c.last, false, fmt.Errorf("device clock: a sample took %v (over %v): dropped", time.Duration(gap), MaxSampleGap)
	}
	if c.fitted {
		if off := c.last.At(s.Tick) - s.mid(); off > int64(MaxJump) || off < -int64(MaxJump) {
			c.window = append(c.window[:0], s)
			c.last = Conversion{BaseTick: s.Tick, Base: s.mid(), Mult: c.last.Mult}
			return c.last, true, nil
		}
	}
	if len(c.window) == c.keep {
		copy(c.window, c.window[1:])
		c.window = c.window[:c.keep-1]
	}
	c.window = append(c.window, s)
	conv, err = Fit(c.window)
	if err != nil {
		return c.last, false, err
	}
	c.last, c.fitted = conv, true
	return conv, false, nil
}
