// Package stack hosts the emulated interfaces on gVisor's userspace TCP/IP
// stack: one NIC per interface, fed by the workers through a small link
// endpoint, transmitting through the interface's port.
package stack

import _ "gvisor.dev/gvisor/pkg/tcpip/stack" // pinned: the go branch of gVisor
