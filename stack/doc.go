// Package stack hosts the emulated interfaces on gVisor's userspace TCP/IP
// stack: one NIC per interface, fed by the workers through a small link
// endpoint, transmitting through the interface's port.
//
// # Interfaces that share a MAC
//
// Several interfaces of one port may have the same MAC (OpenPerf allows
// it), as long as they have different addresses. The FIB entry of such a
// MAC holds all of them (fib.Shared), and a worker hands a received frame
// to the one it is for:
//
//   - unicast to the shared MAC: the sharer that holds the frame's IPv4
//     destination, ARP target protocol address, IPv6 destination, or for a
//     neighbour solicitation its target address; when none does (an
//     address nobody here has, a SLAAC or DHCP address, the derived
//     link-local address both have), every sharer gets the frame, as every
//     host on a segment would, and each stack keeps what is its own;
//   - ARP broadcasts go to the owner of the target address only, whatever
//     its MAC, and an ARP request for an address nobody on the port has is
//     dropped (with 100k interfaces, fanning every ARP out would cost more
//     than it answers); neighbour solicitations go by solicited-node group;
//     other broadcast and multicast frames go to every interface of the
//     port, sharers included.
//
// Sharers that both derive their IPv6 link-local address from the MAC
// both answer for it, with the same MAC: identical answers.
//
// A MAC with one interface, the common case, costs the worker what it did
// before sharing existed: one FIB read per burst, one lookup per run of
// frames to the same MAC, no allocation.
package stack

import _ "gvisor.dev/gvisor/pkg/tcpip/stack" // pinned: the go branch of gVisor
