// Package protocol writes and reads the packet headers that the generator and
// the analyzer deal in: Ethernet, 802.1Q/802.1ad VLAN tags, MPLS labels, IPv4,
// IPv6, UDP and TCP, plus raw bytes (Custom).
//
// Building: a Stack is an ordered list of header values. Stack.Build writes
// them into a caller-provided frame, derives the next-protocol fields (unless
// a header says Keep), fills every length field from the frame length, and
// computes the IPv4 header checksum and the UDP/TCP checksums over the
// payload. It returns Layers: the kind and byte offset of every header, so a
// caller can patch fields of a prebuilt template per packet. Layers.Field
// works out once which checksums cover a field; Field.SetUint32 then writes
// it and updates them all with RFC 1624 arithmetic in a few nanoseconds.
// packet/checksum's Update16/32, Sum and Checksum are the primitives underneath.
//
// Parsing: Parse walks a received frame without allocating and returns the
// same Layers description; Layers.Verify checks the IPv4 and L4 checksums.
// Parse never panics, whatever the input.
//
// Nothing here allocates on the per-packet path, and nothing here is safe for
// concurrent writes to the same frame; a Stack and a Layers value may be read
// by many goroutines at once.
package protocol
