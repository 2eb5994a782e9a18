package rest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/stack"
)

// interfaceFromJSON turns an API interface into the stack's, naming the
// offending field (prefixed by where, e.g. "items[2]") in any error.
func interfaceFromJSON(in *gen.Interface, where string) (*stack.Interface, error) {
	field := func(f string) string {
		if where == "" {
			return f
		}
		return where + "." + f
	}
	out := &stack.Interface{PortID: in.PortId}
	if in.Id != nil {
		if err := checkID(field("id"), *in.Id); err != nil {
			return nil, err
		}
		out.ID = *in.Id
	}
	if in.PortId == "" {
		return nil, badRequest("%s: required", field("port_id"))
	}
	protos := in.Config.Protocols
	if len(protos) == 0 || protos[0].Eth == nil {
		return nil, badRequest("%s: the first protocol must be eth", field("config.protocols[0]"))
	}
	if protos[0].Ipv4 != nil || protos[0].Ipv6 != nil {
		// One entry is one layer; a second member would be dropped unseen.
		return nil, badRequest("%s: exactly one of eth, ipv4, ipv6 must be set", field("config.protocols[0]"))
	}
	c := &out.Config
	mac, err := net.ParseMAC(protos[0].Eth.MacAddress)
	if err != nil || len(mac) != 6 {
		return nil, badRequest("%s: %q is not a MAC address", field("config.protocols[0].eth.mac_address"), protos[0].Eth.MacAddress)
	}
	copy(c.MAC[:], mac)
	c.MACField = field("config.protocols[0].eth.mac_address")
	for i, p := range protos[1:] {
		f := field(fmt.Sprintf("config.protocols[%d]", i+1))
		set := 0
		for _, x := range []bool{p.Eth != nil, p.Ipv4 != nil, p.Ipv6 != nil} {
			if x {
				set++
			}
		}
		if set != 1 {
			return nil, badRequest("%s: exactly one of eth, ipv4, ipv6 must be set", f)
		}
		switch {
		case p.Eth != nil:
			return nil, badRequest("%s.eth: only the first protocol may be eth", f)
		case p.Ipv4 != nil:
			if c.IPv4 != nil {
				return nil, badRequest("%s.ipv4: given twice", f)
			}
			v4, err := ipv4FromJSON(p.Ipv4, f+".ipv4")
			if err != nil {
				return nil, err
			}
			c.IPv4, c.IPv4Field = v4, f+".ipv4"
		case p.Ipv6 != nil:
			if c.IPv6 != nil {
				return nil, badRequest("%s.ipv6: given twice", f)
			}
			v6, err := ipv6FromJSON(p.Ipv6, f+".ipv6")
			if err != nil {
				return nil, err
			}
			c.IPv6, c.IPv6Field = v6, f+".ipv6"
		}
	}
	if in.Config.RxFilter != nil {
		c.RxFilter = *in.Config.RxFilter
	}
	if in.Config.TxFilter != nil {
		c.TxFilter = *in.Config.TxFilter
	}
	return out, nil
}

func parseAddr(s, field string, want6 bool) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is6() != want6 {
		fam := "IPv4"
		if want6 {
			fam = "IPv6"
		}
		return netip.Addr{}, badRequest("%s: %q is not an %s address", field, s, fam)
	}
	return a, nil
}

func ipv4FromJSON(p *gen.Ipv4ProtocolConfig, f string) (*stack.IPv4Config, error) {
	v4 := &stack.IPv4Config{Method: string(p.Method)}
	switch p.Method {
	case gen.Ipv4ProtocolConfigMethodStatic:
		if p.Static == nil {
			return nil, badRequest("%s.static: required when method is static", f)
		}
		var err error
		if v4.Address, err = parseAddr(p.Static.Address, f+".static.address", false); err != nil {
			return nil, err
		}
		v4.Prefix = int(p.Static.PrefixLength)
		if p.Static.Gateway != nil {
			if v4.Gateway, err = parseAddr(*p.Static.Gateway, f+".static.gateway", false); err != nil {
				return nil, err
			}
		}
	case gen.Ipv4ProtocolConfigMethodDhcp:
		if p.Dhcp != nil {
			if p.Dhcp.Hostname != nil {
				v4.Hostname = *p.Dhcp.Hostname
			}
			if p.Dhcp.Client != nil {
				v4.ClientID = *p.Dhcp.Client
			}
		}
	}
	return v4, nil
}

func ipv6FromJSON(p *gen.Ipv6ProtocolConfig, f string) (*stack.IPv6Config, error) {
	v6 := &stack.IPv6Config{Method: string(p.Method), Stateless: true}
	var err error
	if p.LinkLocalAddress != nil {
		if v6.LinkLocal, err = parseAddr(*p.LinkLocalAddress, f+".link_local_address", true); err != nil {
			return nil, err
		}
	}
	switch p.Method {
	case gen.Ipv6ProtocolConfigMethodStatic:
		if p.Static == nil {
			return nil, badRequest("%s.static: required when method is static", f)
		}
		if v6.Address, err = parseAddr(p.Static.Address, f+".static.address", true); err != nil {
			return nil, err
		}
		v6.Prefix = int(p.Static.PrefixLength)
		if p.Static.Gateway != nil {
			if v6.Gateway, err = parseAddr(*p.Static.Gateway, f+".static.gateway", true); err != nil {
				return nil, err
			}
		}
	case gen.Ipv6ProtocolConfigMethodDhcp6:
		if p.Dhcp6 != nil {
			v6.Stateless = p.Dhcp6.Stateless
		}
	}
	return v6, nil
}

// interfaceJSON renders an interface as the API shows it.
func interfaceJSON(it *stack.Interface) gen.Interface {
	c := &it.Config
	id := it.ID
	protos := []gen.InterfaceProtocolConfig{{Eth: &gen.EthProtocolConfig{MacAddress: net.HardwareAddr(c.MAC[:]).String()}}}
	if v4 := c.IPv4; v4 != nil {
		p := &gen.Ipv4ProtocolConfig{Method: gen.Ipv4ProtocolConfigMethod(v4.Method)}
		switch v4.Method {
		case stack.MethodStatic:
			p.Static = &gen.Ipv4StaticConfig{Address: v4.Address.String(), PrefixLength: int32(v4.Prefix)}
			if v4.Gateway.IsValid() {
				gw := v4.Gateway.String()
				p.Static.Gateway = &gw
			}
		case stack.MethodDHCP:
			p.Dhcp = &gen.Ipv4DhcpConfig{Status: dhcp4Status(it)}
			if v4.Hostname != "" {
				p.Dhcp.Hostname = &v4.Hostname
			}
			if v4.ClientID != "" {
				p.Dhcp.Client = &v4.ClientID
			}
		case stack.MethodAuto:
			p.XAuto = &gen.Ipv4AutoConfig{Status: autoIPv4Status(it)}
		}
		protos = append(protos, gen.InterfaceProtocolConfig{Ipv4: p})
	}
	if v6 := c.IPv6; v6 != nil {
		ll := it.LinkLocal().String()
		p := &gen.Ipv6ProtocolConfig{Method: gen.Ipv6ProtocolConfigMethod(v6.Method), LinkLocalAddress: &ll}
		switch v6.Method {
		case stack.MethodStatic:
			p.Static = &gen.Ipv6StaticConfig{Address: v6.Address.String(), PrefixLength: int32(v6.Prefix)}
			if v6.Gateway.IsValid() {
				gw := v6.Gateway.String()
				p.Static.Gateway = &gw
			}
		case stack.MethodDHCP6:
			p.Dhcp6 = &gen.Ipv6Dhcp6Config{Stateless: v6.Stateless, Status: slaacStatus(it), XInformation: dhcp6Information(it)}
		case stack.MethodAuto:
			p.Auto = &gen.Ipv6AutoConfig{Status: slaacStatus(it)}
		}
		protos = append(protos, gen.InterfaceProtocolConfig{Ipv6: p})
	}
	cfg := gen.InterfaceConfig{Protocols: protos}
	if c.RxFilter != "" {
		cfg.RxFilter = &c.RxFilter
	}
	if c.TxFilter != "" {
		cfg.TxFilter = &c.TxFilter
	}
	st := it.Stats()
	stats := gen.InterfaceStats{
		RxPackets: int64(st.RxPackets), TxPackets: int64(st.TxPackets),
		RxBytes: int64(st.RxBytes), TxBytes: int64(st.TxBytes),
		RxErrors: int64(st.RxErrors), TxErrors: int64(st.TxErrors),
	}
	return gen.Interface{Id: &id, PortId: it.PortID, Config: cfg, Stats: &stats}
}

// dhcp4Status reports the DHCPv4 client's state and lease, as OpenPerf's
// Ipv4DhcpConfig.status.
func dhcp4Status(it *stack.Interface) *gen.Ipv4DhcpStatus {
	st, _ := it.DHCP4()
	state := gen.Ipv4DhcpStatusState(st.State)
	if !state.Valid() {
		state = gen.Ipv4DhcpStatusStateNone
	}
	out := &gen.Ipv4DhcpStatus{State: &state}
	if st.Address.IsValid() {
		a, l := st.Address.String(), int32(st.Prefix)
		out.Address, out.PrefixLength = &a, &l
	}
	if st.Gateway.IsValid() {
		gw := st.Gateway.String()
		out.Gateway = &gw
	}
	return out
}

// slaacStatus reports a dhcp6 interface's SLAAC address as OpenPerf does
// (Ipv6DynamicAddressStatus): preferred with scope 0 once it has one
// (addresses skip duplicate detection here), invalid before.
func slaacStatus(it *stack.Interface) *gen.Ipv6DynamicAddressStatus {
	state := gen.Ipv6DynamicAddressStatusStateInvalid
	st := &gen.Ipv6DynamicAddressStatus{State: &state}
	if p, ok := it.AutoAddress(); ok {
		state = gen.Ipv6DynamicAddressStatusStatePreferred
		a, scope := p.Addr().String(), int32(0)
		st.Address, st.Scope = &a, &scope
	}
	return st
}

// dhcp6Information reports what stateless DHCPv6 obtained.
func dhcp6Information(it *stack.Interface) *gen.Dhcp6Information {
	info, ok := it.DHCP6()
	if !ok {
		return nil
	}
	state := gen.Dhcp6InformationState(info.State)
	refresh, reqs, reps := int64(info.Refresh/time.Second), int64(info.Requests), int64(info.Replies)
	out := &gen.Dhcp6Information{State: &state, Requests: &reqs, Replies: &reps}
	if info.Server != "" {
		out.ServerDuid, out.RefreshTime = &info.Server, &refresh
		dns := make([]string, len(info.DNS))
		for i, a := range info.DNS {
			dns[i] = a.String()
		}
		domains := append([]string{}, info.Domains...)
		out.DnsServers, out.DomainSearch = &dns, &domains
	}
	return out
}

// autoIPv4Status reports the link-local address IPv4 auto claimed, if
// any (x_auto: OpenPerf has no field for it).
func autoIPv4Status(it *stack.Interface) *gen.AddressStatus {
	p, state, _ := it.AutoIPv4()
	st := &gen.AddressStatus{State: &state}
	if p.IsValid() {
		a := p.Addr().String()
		l := int32(p.Bits())
		st.Address, st.PrefixLength = &a, &l
	}
	return st
}

func (h *Handlers) stack() (*stack.Stack, error) {
	if h.svc.Stack == nil {
		return nil, errNotYet
	}
	return h.svc.Stack, nil
}

// ListInterfaces implements gen.StrictServerInterface.
func (h *Handlers) ListInterfaces(_ context.Context, req gen.ListInterfacesRequestObject) (gen.ListInterfacesResponseObject, error) {
	s, err := h.stack()
	if err != nil {
		return nil, err
	}
	f, ok := interfaceFilter(req.Params)
	if !ok {
		// As OpenPerf: a filter value that no interface can have (empty,
		// or not an address) matches nothing; it is not a bad request.
		return gen.ListInterfaces200JSONResponse{}, nil
	}
	list := s.List(f)
	out := make(gen.ListInterfaces200JSONResponse, 0, len(list))
	for _, it := range list {
		out = append(out, interfaceJSON(it))
	}
	return out, nil
}

// interfaceFilter reads the list filters; ok is false when a given value
// cannot match any interface.
func interfaceFilter(q gen.ListInterfacesParams) (f stack.Filter, ok bool) {
	if q.PortId != nil {
		if *q.PortId == "" {
			return f, false
		}
		f.PortID = *q.PortId
	}
	if q.EthMacAddress != nil {
		mac, err := net.ParseMAC(*q.EthMacAddress)
		if err != nil || len(mac) != 6 {
			return f, false
		}
		var m [6]byte
		copy(m[:], mac)
		f.MAC = &m
	}
	if q.Ipv4Address != nil {
		a, err := netip.ParseAddr(*q.Ipv4Address)
		if err != nil || !a.Is4() {
			return f, false
		}
		f.IPv4 = a
	}
	if q.Ipv6Address != nil {
		a, err := netip.ParseAddr(*q.Ipv6Address)
		if err != nil || !a.Is6() || a.Is4In6() {
			return f, false
		}
		f.IPv6 = a
	}
	return f, true
}

// CreateInterface implements gen.StrictServerInterface.
func (h *Handlers) CreateInterface(_ context.Context, req gen.CreateInterfaceRequestObject) (gen.CreateInterfaceResponseObject, error) {
	s, err := h.stack()
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, badRequest("request body: an interface object is required")
	}
	it, err := interfaceFromJSON(req.Body, "")
	if err != nil {
		return nil, err
	}
	made, err := s.Create([]*stack.Interface{it}, func(int) string { return "" })
	if err != nil {
		return nil, err
	}
	return gen.CreateInterface201JSONResponse(interfaceJSON(made[0])), nil
}

// GetInterface implements gen.StrictServerInterface.
func (h *Handlers) GetInterface(_ context.Context, req gen.GetInterfaceRequestObject) (gen.GetInterfaceResponseObject, error) {
	s, err := h.stack()
	if err != nil {
		return nil, err
	}
	it, err := s.Get(req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetInterface200JSONResponse(interfaceJSON(it)), nil
}

// DeleteInterface implements gen.StrictServerInterface.
func (h *Handlers) DeleteInterface(_ context.Context, req gen.DeleteInterfaceRequestObject) (gen.DeleteInterfaceResponseObject, error) {
	s, err := h.stack()
	if err != nil {
		return nil, err
	}
	// Deleting what is not there succeeds, as in OpenPerf: the caller
	// wanted it gone and it is.
	s.Delete([]string{req.Id})
	return gen.DeleteInterface204Response{}, nil
}

// BulkCreateInterfaces implements gen.StrictServerInterface: all or nothing.
func (h *Handlers) BulkCreateInterfaces(_ context.Context, req gen.BulkCreateInterfacesRequestObject) (gen.BulkCreateInterfacesResponseObject, error) {
	s, err := h.stack()
	if err != nil {
		return nil, err
	}
	if req.Body == nil || len(req.Body.Items) == 0 {
		return gen.BulkCreateInterfaces200JSONResponse{Items: []gen.Interface{}}, nil
	}
	items := make([]*stack.Interface, len(req.Body.Items))
	for i := range req.Body.Items {
		if items[i], err = interfaceFromJSON(&req.Body.Items[i], fmt.Sprintf("items[%d]", i)); err != nil {
			return nil, err
		}
	}
	made, err := s.Create(items, func(i int) string { return fmt.Sprintf("items[%d]", i) })
	if err != nil {
		return nil, err
	}
	out := gen.BulkCreateInterfaces200JSONResponse{Items: make([]gen.Interface, len(made))}
	for i, it := range made {
		out.Items[i] = interfaceJSON(it)
	}
	return out, nil
}

// BulkDeleteInterfaces implements gen.StrictServerInterface; unknown ids
// are ignored.
func (h *Handlers) BulkDeleteInterfaces(_ context.Context, req gen.BulkDeleteInterfacesRequestObject) (gen.BulkDeleteInterfacesResponseObject, error) {
	s, err := h.stack()
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return gen.BulkDeleteInterfaces204Response{}, nil
	}
	if err := checkIDs("ids", req.Body.Ids); err != nil {
		return nil, err
	}
	s.Delete(req.Body.Ids)
	return gen.BulkDeleteInterfaces204Response{}, nil
}

// PingFromInterface implements gen.StrictServerInterface.
func (h *Handlers) PingFromInterface(ctx context.Context, req gen.PingFromInterfaceRequestObject) (gen.PingFromInterfaceResponseObject, error) {
	s, err := h.stack()
	if err != nil {
		return nil, err
	}
	if _, err := s.Get(req.Id); err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, badRequest("request body: {\"address\": ...} is required")
	}
	dst, err := netip.ParseAddr(req.Body.Address)
	if err != nil || dst.Zone() != "" {
		return nil, badRequest("address: %q is not an IP address", req.Body.Address)
	}
	count, interval, timeout := 3, 100*time.Millisecond, time.Second
	if b := req.Body; b.Count != nil {
		count = int(*b.Count)
	}
	if b := req.Body; b.IntervalMs != nil {
		interval = time.Duration(*b.IntervalMs) * time.Millisecond
	}
	if b := req.Body; b.TimeoutMs != nil {
		timeout = time.Duration(*b.TimeoutMs) * time.Millisecond
	}
	res, err := s.Ping(ctx, req.Id, dst.Unmap(), count, interval, timeout)
	if err != nil {
		return nil, err
	}
	out := gen.PingFromInterface200JSONResponse{Sent: int32(res.Sent), Received: int32(res.Received)}
	if len(res.RTTs) > 0 {
		lo, hi, sum := res.RTTs[0], res.RTTs[0], time.Duration(0)
		for _, r := range res.RTTs {
			lo, hi, sum = min(lo, r), max(hi, r), sum+r
		}
		mn, avg, mx := lo.Microseconds(), (sum / time.Duration(len(res.RTTs))).Microseconds(), hi.Microseconds()
		out.RttMinUs, out.RttAvgUs, out.RttMaxUs = &mn, &avg, &mx
	}
	return out, nil
}
