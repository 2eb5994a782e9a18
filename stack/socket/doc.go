// Package socket serves the LD_PRELOAD shim (stack/socket/shim): programs'
// socket calls arrive over a unix control connection per process, their
// datagrams over per-socket SPSC rings in shared memory with eventfd
// wake-ups, and go out on the stack's emulated interfaces. It plays
// OpenPerf's socket module.
//
// Who runs what: one goroutine per client connection (client.serve)
// handles its control requests in order; per socket, a tx pump (tx ring
// -> gVisor endpoint, asleep on the tx eventfd) starts with the socket
// and an rx pump (endpoint -> rx ring, asleep on the endpoint's waiter
// queue) with its attachment to an interface. Nothing the client writes
// in shared memory is trusted: indexes and lengths are checked (ring.go),
// and a bad one closes the socket.
//
// Wake-ups: a producer writes the consumer's eventfd only when, after
// publishing, it finds the consumer had caught up; a producer that finds
// the ring full sets a waiting flag, looks again, then sleeps on the
// space eventfd the consumer writes when it sees the flag. Both are
// store-then-load on sequentially consistent atomics (Go's sync/atomic,
// C's __ATOMIC_SEQ_CST), so one side always sees the other.
//
// TCP (stream.go) uses the same shape: stream records that the shim may
// consume in part (an offset kept in the client), a record of no bytes
// flagged EOF for a peer's FIN (rx) and for shutdown(SHUT_WR) (tx, in band
// so it cannot overtake queued data), an rx pump that reads no more than
// the ring has room for (a stream must not drop), and connect/accept
// answered at once: a stream's state word in shared memory and a write to
// the socket's eventfd tell the shim when a connection is made or fails,
// or, for a listener, while connections wait (the shim clears the eventfd
// before it asks for one, so no arrival is missed).
package socket
