package dpdk

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"go.uber.org/zap"

	"github.com/openperfd/openperfd/clock"
)

// NIC receive timestamps: a port whose device offers them
// (RTE_ETH_RX_OFFLOAD_TIMESTAMP) and whose clock can be read
// (rte_eth_read_clock) has them turned on at configure; at each start the
// driver fits its clock onto ours from samples a few ms apart, then, off
// the workers, refits after each new sample over a window of them, the
// samples further and further apart up to recalibrateEvery (timestamps.c
// has the rx side).
const (
	// startSamples samples startSpacing apart make the first line: 20 ms
	// of a port's start. Its rate, from so short a baseline, is the
	// least sure; the next refits lengthen the baseline to seconds.
	startSamples = 5
	startSpacing = 5 * time.Millisecond
	// recalibrateEvery is how often the clocks of ports with timestamps
	// are sampled again: the line's error grows with the time since its
	// anchor, by the rate's error (ppm) times that time. Right after a
	// start, while the baseline is short and the rate least sure, they
	// are sampled sooner: after half the time since the start, at least
	// firstRecalibration (sampleDelay).
	recalibrateEvery   = time.Second
	firstRecalibration = 50 * time.Millisecond
	// calibrationWindow is how many samples a refit spans (15 s).
	calibrationWindow = 16
	// sampleTries is how many reads of a device clock one sample takes,
	// keeping the one most tightly bracketed by CLOCK_MONOTONIC.
	sampleTries = 8
	// warnAfterFailures is how many refits in a row may fail (a sample
	// interrupted, a read error) before it is worth a warning.
	warnAfterFailures = 10
)

// rxStamps is a port's use of its device's receive timestamps. clk and qs
// are C memory: clk is written under Driver.mu (op_tsclock_set) and read
// by the rx path under its sequence count; each qs entry is written by the
// worker polling its queue, its counters read atomically. cal and
// failures are guarded by Driver.mu.
type rxStamps struct {
	clk      *C.struct_op_tsclock
	qs       []C.struct_op_rxts
	cal      *clock.Calibrator
	failures int
	// start is when the line was first fitted, next when the clock is
	// due to be sampled again.
	start, next time.Time
}

// sampleDelay is how long after a sample at now the next one of a clock
// fitted since start is due: half its age, between firstRecalibration
// and recalibrateEvery, so that the baseline (and with it the rate's
// accuracy) grows geometrically at first.
func sampleDelay(start, now time.Time) time.Duration {
	return min(recalibrateEvery, max(firstRecalibration, now.Sub(start)/2))
}

// registerRxTimestamps returns the mbuf dynamic field (offset) and flag
// of rx timestamps, registering them if no driver has yet.
func registerRxTimestamps() (off int64, flag uint64, err error) {
	var o C.int64_t
	var f C.uint64_t
	if rc := C.op_ts_register(&o, &f); rc != 0 {
		return 0, 0, fmt.Errorf("register the rx timestamp mbuf field: %s", C.GoString(C.op_strerror(-rc)))
	}
	return int64(o), uint64(f), nil
}

// newRxStamps makes the C side of a port's timestamps for nrx rx queues;
// the stamps are where off and flag say.
func newRxStamps(nrx int, off int64, flag uint64) (*rxStamps, error) {
	clk := C.op_tsclock_new(C.int64_t(off), C.uint64_t(flag))
	if clk == nil {
		return nil, errors.New("rx timestamps: out of memory")
	}
	qs := C.op_rxts_new(clk, C.unsigned(nrx))
	if qs == nil {
		C.free(unsafe.Pointer(clk))
		return nil, errors.New("rx timestamps: out of memory")
	}
	return &rxStamps{clk: clk, qs: unsafe.Slice(qs, nrx)}, nil
}

func (s *rxStamps) free() {
	C.free(unsafe.Pointer(&s.qs[0]))
	C.free(unsafe.Pointer(s.clk))
	s.qs, s.clk = nil, nil
}

// set publishes c, whose Base is on clock.Now's scale, to the rx queues.
func (s *rxStamps) set(c clock.Conversion) {
	C.op_tsclock_set(s.clk, C.uint64_t(c.BaseTick), C.int64_t(c.Base), C.uint64_t(c.Mult))
}

// at converts tick as the rx path does, with the conversion in force.
func (s *rxStamps) at(tick uint64) int64 { return int64(C.op_ts_convert(s.clk, C.uint64_t(tick))) }

// counts sums the rx queues' frames given their device's time (hw) and
// those that kept their burst's (sw).
func (s *rxStamps) counts() (hw, sw uint64) {
	for i := range s.qs {
		hw += atomic.LoadUint64((*uint64)(unsafe.Pointer(&s.qs[i].hw)))
		sw += atomic.LoadUint64((*uint64)(unsafe.Pointer(&s.qs[i].sw)))
	}
	return hw, sw
}

// sampleClock reads the port's device clock between two CLOCK_MONOTONIC
// reads.
func (p *port) sampleClock() (clock.Sample, error) {
	var tick C.uint64_t
	var before, after C.int64_t
	if rc := C.op_ts_sample(C.uint16_t(p.idx), sampleTries, &tick, &before, &after); rc != 0 {
		return clock.Sample{}, fmt.Errorf("port %s: read the device clock: %s", p.id, C.GoString(C.op_strerror(-rc)))
	}
	return clock.Sample{Tick: uint64(tick), Before: int64(before), After: int64(after)}, nil
}

// publish hands the rx queues a conversion onto CLOCK_MONOTONIC, moved
// onto clock.Now's scale, so that the rx path writes times the sinks use
// as they are.
func (p *port) publish(c clock.Conversion) {
	c.Base = clock.FromMonotonic(c.Base)
	p.stamps.set(c)
}

// calibrate fits a port's device clock from scratch (it may have been
// reset by the start) and turns its timestamps on for the rx path; with
// an error they stay off and frames get software times. d.mu is held.
func (d *Driver) calibrate(p *port) error {
	p.rxts = nil
	cal := clock.NewCalibrator(calibrationWindow)
	var conv clock.Conversion
	fitted := false
	var lastErr error
	for i := range startSamples {
		if i > 0 {
			time.Sleep(startSpacing)
		}
		s, err := p.sampleClock()
		if err != nil {
			return err
		}
		c, _, err := cal.Add(s)
		if err != nil {
			lastErr = err
			continue
		}
		conv, fitted = c, true
	}
	if !fitted {
		return fmt.Errorf("port %s: fit the device clock: %w", p.id, lastErr)
	}
	p.publish(conv)
	now := time.Now()
	p.stamps.cal, p.stamps.failures = cal, 0
	p.stamps.start, p.stamps.next = now, now.Add(sampleDelay(now, now))
	p.rxts = p.stamps.qs
	d.startClocks()
	d.log.Info("port uses its NIC's receive timestamps", zap.String("port", p.id),
		zap.Float64("ns_per_tick", conv.Rate()))
	return nil
}

// recalibrate adds a sample of a port's device clock and publishes the
// refitted conversion. d.mu is held.
func (d *Driver) recalibrate(p *port) {
	now := time.Now()
	p.stamps.next = now.Add(sampleDelay(p.stamps.start, now))
	s, err := p.sampleClock()
	var conv clock.Conversion
	stepped := false
	if err == nil {
		conv, stepped, err = p.stamps.cal.Add(s)
	}
	if err != nil {
		p.stamps.failures++
		if p.stamps.failures == warnAfterFailures {
			d.log.Warn("NIC clock not recalibrated for a while: receive times drift", zap.String("port", p.id),
				zap.Int("failures", p.stamps.failures), zap.Error(err))
		}
		return
	}
	p.stamps.failures = 0
	if stepped {
		d.log.Warn("NIC clock stepped: conversion restarted", zap.String("port", p.id))
	}
	p.publish(conv)
}

// startClocks starts the goroutine that recalibrates device clocks, once,
// and has it look at the ports' due times again. d.mu is held.
func (d *Driver) startClocks() {
	if d.clocksStop == nil {
		d.clocksStop, d.clocksDone, d.clocksWake = make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
		go d.runClocks(d.clocksStop, d.clocksDone, d.clocksWake)
	}
	select {
	case d.clocksWake <- struct{}{}:
	default:
	}
}

// runClocks samples, until stop closes, the device clocks of started
// ports that use their timestamps, each when it is due (sampleDelay),
// sleeping in between. It runs only in a daemon with such a port.
func (d *Driver) runClocks(stop <-chan struct{}, done chan<- struct{}, wake <-chan struct{}) {
	defer close(done)
	t := time.NewTimer(recalibrateEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-wake:
		case <-t.C:
		}
		d.mu.Lock()
		now := time.Now()
		wait := recalibrateEvery
		for _, p := range d.ports {
			if !p.started || p.rxts == nil {
				continue
			}
			if !now.Before(p.stamps.next) {
				d.recalibrate(p)
			}
			wait = min(wait, p.stamps.next.Sub(now))
		}
		d.mu.Unlock()
		t.Reset(max(wait, 0))
	}
}

// stopClocks stops runClocks and waits for it; d.mu is not held.
func (d *Driver) stopClocks() {
	d.mu.Lock()
	stop, done := d.clocksStop, d.clocksDone
	d.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}
