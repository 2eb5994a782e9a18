// Package capture stores packets from the data plane in memory and writes
// them out as pcapng, after OpenPerf's packet capture module
// (api/schema/v1/modules/packet/capture.yaml).
//
// A Capture is a packetio.Sink for received packets (Push) and offers
// PushTx for packets about to be transmitted, so that rx, tx and rx_and_tx
// captures work once the workers call them. It copies what it keeps into a
// buffer allocated by New: a byte ring for packet data and a ring of
// fixed-size records (timestamp, lengths, port, direction). Nothing is
// allocated per packet or per burst. Each burst gets one timestamp, in
// nanoseconds, from Config.Clock.
//
// Configuration follows OpenPerf's buffer mode: buffer size, wrap (overwrite
// the oldest packets, or stop when full), packet size (truncate, keeping the
// original length), a BPF filter (package packet/bpf), start and stop
// triggers, and stop conditions on packet count and duration. Start, Stop,
// Reset, State and Results control and observe a capture; WritePcapng
// exports one capture or merges several in timestamp order.
//
// Not implemented: live mode (packets streamed to a client while they
// arrive) and OpenPerf's file mode; only buffer mode exists. The REST API
// and the daemon wiring (which sinks a capture is attached to) live
// elsewhere.
//
// Locking is one mutex per burst per capture; Capture's documentation says
// why.
package capture
