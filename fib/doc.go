// Package fib is the per-port forwarding table: which emulated interface a
// destination MAC belongs to, plus the port-level sinks, published as
// read-only snapshots that workers read without locks.
package fib
