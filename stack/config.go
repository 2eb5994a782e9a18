package stack

import (
	"fmt"
	"net/netip"

	"github.com/openperfd/openperfd/packetio"
)

// Address configuration methods, as OpenPerf names them.
const (
	MethodStatic = "static"
	MethodDHCP   = "dhcp"
	MethodDHCP6  = "dhcp6"
	MethodAuto   = "auto"
)

// IPv4Config is an interface's IPv4 layer.
type IPv4Config struct {
	Method   string
	Address  netip.Addr // static
	Prefix   int        // static, 1..32
	Gateway  netip.Addr // optional; inside the subnet
	Hostname string     // dhcp
	ClientID string     // dhcp
}

// IPv6Config is an interface's IPv6 layer.
type IPv6Config struct {
	Method    string
	LinkLocal netip.Addr // optional; EUI-64 from the MAC when absent
	Address   netip.Addr // static
	Prefix    int        // static, 1..128
	Gateway   netip.Addr // optional
	Stateless bool       // dhcp6: only stateless is supported
}

// Config is what an interface is: its MAC and address layers. Field
// names in errors are the API's JSON paths, so a 400 names the field.
type Config struct {
	MAC      [6]byte
	IPv4     *IPv4Config
	IPv6     *IPv6Config
	RxFilter string
	TxFilter string
	// Where each layer came from in the request (e.g. "items[2].config.
	// protocols[1].ipv4"), so errors name the field; defaults apply when empty.
	MACField, IPv4Field, IPv6Field string
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func invalid(field, format string, a ...any) error {
	return fmt.Errorf("%s: %s: %w", field, fmt.Sprintf(format, a...), packetio.ErrInvalid)
}

// Validate checks a configuration on its own (not against other
// interfaces).
func (c *Config) Validate() error {
	macField := orDefault(c.MACField, "config.protocols[0].eth.mac_address")
	if c.MAC[0]&1 != 0 {
		return invalid(macField, "%s is a multicast or broadcast address", macString(c.MAC))
	}
	if c.MAC == [6]byte{} {
		return invalid(macField, "the all-zero address is not usable")
	}
	if v4 := c.IPv4; v4 != nil {
		f := orDefault(c.IPv4Field, "ipv4")
		switch v4.Method {
		case MethodStatic:
			if !v4.Address.Is4() {
				return invalid(f+".static.address", "an IPv4 address is required")
			}
			if v4.Prefix < 1 || v4.Prefix > 32 {
				return invalid(f+".static.prefix_length", "%d is outside 1..32", v4.Prefix)
			}
			if v4.Address.IsMulticast() || v4.Address.IsUnspecified() || v4.Address == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
				return invalid(f+".static.address", "%s cannot be an interface address", v4.Address)
			}
			if v4.Gateway.IsValid() {
				net := netip.PrefixFrom(v4.Address, v4.Prefix).Masked()
				if !v4.Gateway.Is4() || !net.Contains(v4.Gateway) {
					return invalid(f+".static.gateway", "%s is not in the interface's subnet %s", v4.Gateway, net)
				}
				if v4.Gateway == v4.Address {
					return invalid(f+".static.gateway", "the gateway cannot be the interface's own address")
				}
			}
		case MethodDHCP:
			// Each goes into one DHCP option, at most 255 bytes.
			if len(v4.Hostname) > 255 {
				return invalid(f+".dhcp.hostname", "%d bytes; at most 255", len(v4.Hostname))
			}
			if n := len(clientIDBytes(v4.ClientID)); n > 255 {
				return invalid(f+".dhcp.client", "%d bytes as an option; at most 255", n)
			}
		case MethodAuto:
		default:
			return invalid(f+".method", "%q: must be static, dhcp or auto", v4.Method)
		}
	}
	if v6 := c.IPv6; v6 != nil {
		f := orDefault(c.IPv6Field, "ipv6")
		if v6.LinkLocal.IsValid() && (!v6.LinkLocal.Is6() || !v6.LinkLocal.IsLinkLocalUnicast()) {
			return invalid(f+".link_local_address", "%s is not an IPv6 link-local address", v6.LinkLocal)
		}
		switch v6.Method {
		case MethodStatic:
			if !v6.Address.Is6() || v6.Address.Is4In6() {
				return invalid(f+".static.address", "an IPv6 address is required")
			}
			if v6.Prefix < 1 || v6.Prefix > 128 {
				return invalid(f+".static.prefix_length", "%d is outside 1..128", v6.Prefix)
			}
			if v6.Address.IsMulticast() || v6.Address.IsUnspecified() || v6.Address.IsLoopback() {
				return invalid(f+".static.address", "%s cannot be an interface address", v6.Address)
			}
			if v6.Gateway.IsValid() {
				net := netip.PrefixFrom(v6.Address, v6.Prefix).Masked()
				if !v6.Gateway.Is6() || (!net.Contains(v6.Gateway) && !v6.Gateway.IsLinkLocalUnicast()) {
					return invalid(f+".static.gateway", "%s is neither in %s nor link-local", v6.Gateway, net)
				}
			}
		case MethodDHCP6:
			if !v6.Stateless {
				return invalid(f+".dhcp6.stateless", "stateful DHCPv6 is not supported")
			}
		case MethodAuto:
		default:
			return invalid(f+".method", "%q: must be static, dhcp6 or auto", v6.Method)
		}
	}
	return nil
}

// clash reports an address c has in common with o, which has the same
// MAC on the same port, and the field of c that names it. Static IPv4
// and IPv6 addresses and configured link-local addresses count; the
// link-local addresses both derive from the shared MAC do not (see the
// package documentation).
func (c *Config) clash(o *Config) (field string, addr netip.Addr, ok bool) {
	if a, b := c.IPv4, o.IPv4; a != nil && b != nil && a.Method == MethodStatic && b.Method == MethodStatic && a.Address == b.Address {
		return orDefault(c.IPv4Field, "ipv4") + ".static.address", a.Address, true
	}
	a, b := c.IPv6, o.IPv6
	if a == nil || b == nil {
		return "", netip.Addr{}, false
	}
	if a.Method == MethodStatic && b.Method == MethodStatic && a.Address == b.Address {
		return orDefault(c.IPv6Field, "ipv6") + ".static.address", a.Address, true
	}
	if a.LinkLocal.IsValid() && a.LinkLocal == o.linkLocal() {
		return orDefault(c.IPv6Field, "ipv6") + ".link_local_address", a.LinkLocal, true
	}
	return "", netip.Addr{}, false
}

// linkLocal is the interface's IPv6 link-local address: the configured
// one, or the modified EUI-64 of the MAC (RFC 4291 appendix A).
func (c *Config) linkLocal() netip.Addr {
	if c.IPv6 != nil && c.IPv6.LinkLocal.IsValid() {
		return c.IPv6.LinkLocal
	}
	m := c.MAC
	return netip.AddrFrom16([16]byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0,
		m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]})
}

func macString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}
