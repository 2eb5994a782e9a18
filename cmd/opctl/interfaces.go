package main

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

// interfaceColumns head the table of interfaces; interfaceRow is one line of it.
var interfaceColumns = []string{"ID", "PORT", "MAC", "IPV4", "IPV6", "RX FRAMES", "TX FRAMES"}

func interfaceRow(it gen.Interface) []string {
	s := deref(it.Stats)
	l := layersOf(it)
	return []string{str(it.Id), it.PortId, l.mac, l.ipv4, l.ipv6, count(s.RxPackets), count(s.TxPackets)}
}

// ifLayers is an interface's protocol stack as display strings.
type ifLayers struct{ mac, ipv4, ipv4gw, ipv6, ipv6gw, linkLocal string }

func layersOf(it gen.Interface) ifLayers {
	l := ifLayers{"-", "-", "-", "-", "-", "-"}
	for _, p := range it.Config.Protocols {
		switch {
		case p.Eth != nil:
			l.mac = p.Eth.MacAddress
		case p.Ipv4 != nil:
			l.ipv4 = string(p.Ipv4.Method)
			if s := p.Ipv4.Static; s != nil {
				l.ipv4 = cidr(s.Address, s.PrefixLength)
				l.ipv4gw = str(s.Gateway)
			} else if d := p.Ipv4.Dhcp; d != nil && d.Status != nil {
				st := &gen.AddressStatus{Address: d.Status.Address, PrefixLength: d.Status.PrefixLength}
				if d.Status.State != nil {
					state := string(*d.Status.State)
					st.State = &state
				}
				l.ipv4 = dynamic(l.ipv4, st)
				l.ipv4gw = str(d.Status.Gateway)
			} else if au := p.Ipv4.XAuto; au != nil && au.Status != nil {
				l.ipv4 = dynamic(l.ipv4, au.Status)
			}
		case p.Ipv6 != nil:
			l.ipv6 = string(p.Ipv6.Method)
			l.linkLocal = str(p.Ipv6.LinkLocalAddress)
			if s := p.Ipv6.Static; s != nil {
				l.ipv6 = cidr(s.Address, s.PrefixLength)
				l.ipv6gw = str(s.Gateway)
			} else if st := slaacStatus(p.Ipv6); st != nil {
				// SLAAC's address (auto and dhcp6); this status has no prefix length.
				switch {
				case st.Address != nil && *st.Address != "":
					l.ipv6 += " " + *st.Address
				case st.State != nil:
					l.ipv6 += " (" + string(*st.State) + ")"
				}
			}
		}
	}
	return l
}

func slaacStatus(p *gen.Ipv6ProtocolConfig) *gen.Ipv6DynamicAddressStatus {
	switch {
	case p.Auto != nil:
		return p.Auto.Status
	case p.Dhcp6 != nil:
		return p.Dhcp6.Status
	}
	return nil
}

func cidr(addr string, prefix int32) string { return addr + "/" + strconv.Itoa(int(prefix)) }

// dynamic shows what a dhcp/auto method obtained: "auto fd00::5/64".
func dynamic(method string, s *gen.AddressStatus) string {
	if s.Address == nil || *s.Address == "" {
		if s.State != nil {
			return method + " (" + *s.State + ")"
		}
		return method
	}
	return method + " " + cidr(*s.Address, deref(s.PrefixLength))
}

func interfaceFields(it gen.Interface) []field {
	l, s := layersOf(it), deref(it.Stats)
	return []field{
		{"id", str(it.Id)}, {"port", it.PortId}, {"mac", l.mac},
		{"ipv4", l.ipv4}, {"ipv4 gateway", l.ipv4gw},
		{"ipv6", l.ipv6}, {"ipv6 gateway", l.ipv6gw}, {"ipv6 link-local", l.linkLocal},
		{"rx filter", str(it.Config.RxFilter)}, {"tx filter", str(it.Config.TxFilter)},
		{"rx frames", count(s.RxPackets)}, {"rx bytes", count(s.RxBytes)}, {"rx errors", count(s.RxErrors)},
		{"tx frames", count(s.TxPackets)}, {"tx bytes", count(s.TxBytes)}, {"tx errors", count(s.TxErrors)},
	}
}

// interfaceFlags is the quick form of "interfaces create".
type interfaceFlags struct {
	id, port, mac, ipv4, gateway, ipv6, ipv6gw string
}

// interfaceFormFlags is the flag form of "interfaces create".
func interfaceFormFlags(fs *pflag.FlagSet) func(id string) (any, error) {
	var f interfaceFlags
	fs.StringVar(&f.port, "port", "", "port the interface sits on (required)")
	fs.StringVar(&f.mac, "mac", "", "MAC address (required)")
	fs.StringVar(&f.ipv4, "ipv4", "", "IPv4 address/prefix (10.0.0.1/24) or dhcp")
	fs.StringVar(&f.gateway, "gateway", "", "IPv4 default gateway")
	fs.StringVar(&f.ipv6, "ipv6", "", "IPv6 address/prefix (fd00::1/64), auto (SLAAC) or dhcp6")
	fs.StringVar(&f.ipv6gw, "ipv6-gateway", "", "IPv6 default gateway")
	return func(id string) (any, error) {
		f.id = id
		return f.build()
	}
}

// build turns the flags into an Interface, checking them first so that
// mistakes are usage errors rather than a 400 from the server.
func (f interfaceFlags) build() (gen.Interface, error) {
	if f.port == "" || f.mac == "" {
		return gen.Interface{}, usageErrorf("--port and --mac are required (or -f FILE)")
	}
	if _, err := net.ParseMAC(f.mac); err != nil {
		return gen.Interface{}, usageErrorf("--mac %q: not a MAC address", f.mac)
	}
	it := gen.Interface{Id: opt(f.id), PortId: f.port}
	protos := []gen.InterfaceProtocolConfig{{Eth: &gen.EthProtocolConfig{MacAddress: f.mac}}}
	switch f.ipv4 {
	case "":
		if f.gateway != "" {
			return it, usageErrorf("--gateway needs --ipv4")
		}
	case "dhcp":
		protos = append(protos, gen.InterfaceProtocolConfig{Ipv4: &gen.Ipv4ProtocolConfig{
			Method: gen.Ipv4ProtocolConfigMethodDhcp, Dhcp: &gen.Ipv4DhcpConfig{}}})
	default:
		p, err := parsePrefix("--ipv4", f.ipv4, netip.Addr.Is4)
		if err != nil {
			return it, err
		}
		protos = append(protos, gen.InterfaceProtocolConfig{Ipv4: &gen.Ipv4ProtocolConfig{
			Method: gen.Ipv4ProtocolConfigMethodStatic,
			Static: &gen.Ipv4StaticConfig{Address: p.Addr().String(), PrefixLength: int32(p.Bits()), Gateway: opt(f.gateway)}}})
	}
	switch f.ipv6 {
	case "":
		if f.ipv6gw != "" {
			return it, usageErrorf("--ipv6-gateway needs --ipv6")
		}
	case "auto":
		protos = append(protos, gen.InterfaceProtocolConfig{Ipv6: &gen.Ipv6ProtocolConfig{
			Method: gen.Ipv6ProtocolConfigMethodAuto, Auto: &gen.Ipv6AutoConfig{}}})
	case "dhcp6":
		protos = append(protos, gen.InterfaceProtocolConfig{Ipv6: &gen.Ipv6ProtocolConfig{
			Method: gen.Ipv6ProtocolConfigMethodDhcp6, Dhcp6: &gen.Ipv6Dhcp6Config{Stateless: true}}})
	default:
		p, err := parsePrefix("--ipv6", f.ipv6, func(a netip.Addr) bool { return a.Is6() && !a.Is4In6() })
		if err != nil {
			return it, err
		}
		protos = append(protos, gen.InterfaceProtocolConfig{Ipv6: &gen.Ipv6ProtocolConfig{
			Method: gen.Ipv6ProtocolConfigMethodStatic,
			Static: &gen.Ipv6StaticConfig{Address: p.Addr().String(), PrefixLength: int32(p.Bits()), Gateway: opt(f.ipv6gw)}}})
	}
	it.Config.Protocols = protos
	return it, nil
}

func parsePrefix(flag, s string, family func(netip.Addr) bool) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !family(p.Addr()) || p.Bits() == 0 {
		return p, usageErrorf("%s %q: want address/prefix-length", flag, s)
	}
	return p, nil
}
