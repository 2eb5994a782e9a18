package capture

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/openperfd/openperfd/clock"
	"github.com/openperfd/openperfd/packet/bpf"
	"github.com/openperfd/openperfd/packetio"
)

// Errors the API layer maps to status codes by their class.
var (
	// ErrInvalid marks a configuration New rejects (an
	// packetio.ErrInvalid).
	ErrInvalid = packetio.New(packetio.ErrInvalid, "invalid capture configuration")
	// ErrActive marks an operation that needs a stopped capture (an
	// packetio.ErrInUse).
	ErrActive = packetio.New(packetio.ErrInUse, "capture is active")
)

// Buffer size limits, in bytes of packet data. The minimum and the default
// are OpenPerf's; the maximum keeps offsets in 32 bits.
const (
	MinBufferSize     = 4096
	DefaultBufferSize = 16 << 20
	MaxBufferSize     = 1 << 31
)

// MaxPacketSize is the largest packet the capture stores whole: a single
// DPDK segment holds at most 65535 bytes.
const MaxPacketSize = 65535

// Direction says which packets of the source a capture takes.
type Direction uint8

// Directions, as OpenPerf's API names them. The zero value means DirRx.
const (
	DirRx   Direction = 1
	DirTx   Direction = 2
	DirRxTx Direction = DirRx | DirTx
)

// String returns the API name: rx, tx or rx_and_tx.
func (d Direction) String() string {
	switch d {
	case DirRx:
		return "rx"
	case DirTx:
		return "tx"
	case DirRxTx:
		return "rx_and_tx"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

// ParseDirection turns an API name into a Direction; "" is rx.
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "", "rx":
		return DirRx, nil
	case "tx":
		return DirTx, nil
	case "rx_and_tx":
		return DirRxTx, nil
	}
	return 0, fmt.Errorf("%w: direction %q (want rx, tx or rx_and_tx)", ErrInvalid, s)
}

// State is where a capture is in its life.
type State uint32

// States. A capture with a start trigger is armed between Start and the
// first packet that matches the trigger; without one Start makes it
// running at once.
const (
	StateStopped State = iota
	StateArmed
	StateRunning
)

// String returns the API name: stopped, armed or running.
func (s State) String() string {
	switch s {
	case StateStopped:
		return "stopped"
	case StateArmed:
		return "armed"
	case StateRunning:
		return "running"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// Config is a buffer-mode capture's configuration (OpenPerf's
// PacketCaptureConfig with the filters compiled). Live mode, where packets
// stream to a client as they arrive, is not implemented: a capture only
// buffers, and the buffer is read with Export.
type Config struct {
	// Name labels the capture's interface in pcapng output (if_name);
	// optional, typically the capture or source id.
	Name string
	// Direction selects which of Push (rx) and PushTx (tx) are captured.
	Direction Direction
	// BufferSize is how many bytes of packet data the capture holds
	// (MinBufferSize..MaxBufferSize; 0 means DefaultBufferSize). A record
	// of 24 bytes per packet comes on top; see New.
	BufferSize int64
	// BufferWrap: when the buffer is full, overwrite the oldest packets
	// (true) or stop the capture (false).
	BufferWrap bool
	// PacketSize truncates each stored packet to this many bytes; the
	// packet's original length is kept. 0 means no truncation.
	PacketSize int
	// Filter selects the packets to store; nil stores all.
	Filter *bpf.Filter
	// StartTrigger, when set, arms the capture on Start: it starts running
	// with the first packet that matches (that packet included).
	StartTrigger *bpf.Filter
	// StopTrigger, when set, stops the capture after the first packet
	// that matches (that packet stored if the filter passes it).
	StopTrigger *bpf.Filter
	// PacketCount stops the capture once it has stored this many packets;
	// 0 means no limit.
	PacketCount int64
	// Duration stops the capture this long after it started running; 0
	// means no limit. Checked per burst and whenever the state is read.
	Duration time.Duration
	// Clock returns the time in nanoseconds since the Unix epoch; called
	// once per burst. nil means wall-clock time that advances with the
	// monotonic clock (see Now).
	Clock func() int64
}

// validate checks c and fills in defaults.
func (c *Config) validate() error {
	if c.Direction == 0 {
		c.Direction = DirRx
	}
	if c.Direction&^DirRxTx != 0 {
		return fmt.Errorf("%w: direction %d", ErrInvalid, c.Direction)
	}
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	// The maximum is New's to check: OpenPerf accepts any size when a
	// capture is created and refuses it when it starts.
	if c.BufferSize < MinBufferSize {
		return fmt.Errorf("%w: buffer size %d not in %d..%d", ErrInvalid, c.BufferSize, MinBufferSize, int64(MaxBufferSize))
	}
	if c.PacketSize < 0 {
		return fmt.Errorf("%w: packet size %d is negative", ErrInvalid, c.PacketSize)
	}
	if c.PacketCount < 0 {
		return fmt.Errorf("%w: packet count %d is negative", ErrInvalid, c.PacketCount)
	}
	if c.Duration < 0 {
		return fmt.Errorf("%w: duration %v is negative", ErrInvalid, c.Duration)
	}
	if c.Clock == nil {
		c.Clock = clock.Now // shared with the generator's signatures and the analyzer
	}
	return nil
}

// snapLen is the most bytes stored of one packet.
func (c *Config) snapLen() int {
	n := MaxPacketSize
	if c.PacketSize > 0 {
		n = min(n, c.PacketSize)
	}
	return min(n, int(c.BufferSize))
}

// recordCount sizes the record ring so that the data ring, not the
// records, fills first whenever stored packets are at least 64 bytes
// (a minimum Ethernet frame) or, with truncation below that, at least
// PacketSize bytes (16 at the least).
func (c *Config) recordCount() int {
	per := 64
	if s := c.snapLen(); s < per {
		per = max(s, 16)
	}
	return int((c.BufferSize + int64(per) - 1) / int64(per))
}

// Footprint is the memory New allocates for c (after validation): the
// data ring and a record per recordCount. A budget reserves it when the
// capture starts.
func (c *Config) Footprint() int64 {
	return c.BufferSize + int64(c.recordCount())*int64(unsafe.Sizeof(record{}))
}
