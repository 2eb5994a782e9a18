package main

import (
	"os"

	"go.uber.org/zap"
)

// heapFloorBytes is the least heap the garbage collector plans for.
const heapFloorBytes = 128 << 20

// heapFloor holds the floor: pointer-free and never written, so it costs
// address space but no resident memory, and the collector neither scans
// nor moves it; it only counts it as live heap.
var heapFloor []byte

// raiseHeapFloor makes the collector wait for about heapFloorBytes of new
// allocation between cycles instead of the live heap's size. The daemon's
// live heap is small until it holds many interfaces, so API traffic alone
// (10k requests/s allocate a few hundred MB/s) ran tens of cycles a
// second; each cycle stops the world twice and scans every goroutine's
// stack, and each time a worker's goroutine leaves its P it waits for a
// thread on a control CPU to hand the P back. With the floor, a worker
// loses a few times less time to the API under load (a pinned busy loop:
// 578 ms of 5 s lost to gaps over 20 µs without, 219 ms with a 64 MiB
// floor). GOGC from the environment turns it off.
func raiseHeapFloor(log *zap.Logger) {
	if os.Getenv("GOGC") != "" {
		return
	}
	heapFloor = make([]byte, heapFloorBytes)
	log.Debug("heap floor", zap.Int("bytes", heapFloorBytes))
}
