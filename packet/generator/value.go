package generator

import "github.com/openperfd/openperfd/packet/generator/uint128"

// Value is a modifier value: an unsigned 128-bit number. Addresses are
// their big-endian bytes read as a number.
type Value = uint128.Value

// Uint returns an integer field value.
func Uint(v uint64) Value { return uint128.From64(v) }

// IPv4Addr returns the value of an IPv4 address.
func IPv4Addr(a [4]byte) Value { return uint128.FromBytes(a[:]) }

// IPv6Addr returns the value of an IPv6 address.
func IPv6Addr(a [16]byte) Value { return uint128.FromBytes(a[:]) }

// MACAddr returns the value of a MAC address.
func MACAddr(a [6]byte) Value { return uint128.FromBytes(a[:]) }
