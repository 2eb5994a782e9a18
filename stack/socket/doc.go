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
// TCP, the next increment, fits the same shape: stream records that the
// shim may consume in part (an offset kept in the client), an EOF flag on
// a record for a peer's FIN and an in-band FIN record for shutdown(SHUT_WR)
// (so it cannot overtake queued data), a room flag and eventfd for the rx
// direction (a stream must not drop: the rx pump reads with a
// tcpip.LimitedWriter no larger than the ring's free space and waits for
// room), listen/accept as control requests whose reply carries a new
// socket's fds like OP_SOCKET's, and the listening socket's rx eventfd
// written on each pending connection (the shim clears it before it asks
// for one, so no arrival is missed).
package socket
