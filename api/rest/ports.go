package rest

import (
	"context"
	"fmt"
	"net"

	"github.com/openperfd/openperfd/api/gen"
	"github.com/openperfd/openperfd/packetio"
)

// portJSON renders a port as the API shows it.
func portJSON(v packetio.PortView) gen.Port {
	id := v.Info.ID
	status := gen.PortStatus{Link: gen.PortStatusLinkUnknown, Duplex: gen.PortStatusDuplexUnknown, Speed: v.Link.SpeedMbps}
	if v.Link.Known {
		status.Link = gen.PortStatusLinkDown
		if v.Link.Up {
			status.Link = gen.PortStatusLinkUp
		}
		switch v.Link.Duplex {
		case packetio.DuplexFull:
			status.Duplex = gen.PortStatusDuplexFull
		case packetio.DuplexHalf:
			status.Duplex = gen.PortStatusDuplexHalf
		}
	}
	st := v.Stats
	stats := gen.PortStats{
		RxPackets: int64(st.RxPackets), TxPackets: int64(st.TxPackets),
		RxBytes: int64(st.RxBytes), TxBytes: int64(st.TxBytes),
		RxErrors: int64(st.RxErrors), TxErrors: int64(st.TxErrors),
	}
	bp, drops := int64(st.TxBackpressure), int64(st.TxOverrunDrops)
	stats.XTxBackpressure, stats.XTxOverrunDrops = &bp, &drops
	if st.RxProtocols != nil && st.TxProtocols != nil {
		stats.XProtocols = &struct {
			Rx gen.PortProtocolCounters `json:"rx"`
			Tx gen.PortProtocolCounters `json:"tx"`
		}{protocolCounters(st.RxProtocols), protocolCounters(st.TxProtocols)}
	}
	if st.XStats != nil {
		x := make(map[string]int64, len(st.XStats))
		for k, n := range st.XStats {
			x[k] = int64(n)
		}
		stats.XXstats = &x
	}
	link := gen.PortConfigDpdkLink{AutoNegotiation: v.Info.Link.AutoNegotiation}
	switch {
	case v.Link.Known && v.Link.Fixed && link.AutoNegotiation:
		// As OpenPerf: a link the driver does not negotiate reports its
		// actual speed and duplex as the configuration, unless the user
		// set one.
		speed, duplex := v.Link.SpeedMbps, gen.PortConfigDpdkLinkDuplexFull
		if v.Link.Duplex == packetio.DuplexHalf {
			duplex = gen.PortConfigDpdkLinkDuplexHalf
		}
		link = gen.PortConfigDpdkLink{AutoNegotiation: false, Speed: &speed, Duplex: &duplex}
	case !link.AutoNegotiation:
		speed := v.Info.Link.SpeedMbps
		duplex := gen.PortConfigDpdkLinkDuplex(v.Info.Link.Duplex)
		link.Speed, link.Duplex = &speed, &duplex
	}
	mac := net.HardwareAddr(v.Info.MAC[:]).String()
	dev, drv, iface := v.Info.Device, v.Info.Driver, v.Info.Interface
	cfg := gen.PortConfig{Dpdk: &gen.PortConfigDpdk{Device: &dev, Driver: &drv, MacAddress: &mac, Link: link}}
	if iface != "" {
		cfg.Dpdk.Interface = &iface
	}
	// Always present, so an empty list says "summed in software".
	offload := make([]gen.PortConfigDpdkXRxChecksumOffload, len(v.Info.RxChecksums))
	for i, c := range v.Info.RxChecksums {
		offload[i] = gen.PortConfigDpdkXRxChecksumOffload(c)
	}
	cfg.Dpdk.XRxChecksumOffload = &offload
	intr := v.Info.RxInterrupts
	cfg.Dpdk.XRxInterrupts = &intr
	scatter, mtu := v.Info.RxScatter, int32(v.Info.MTU)
	cfg.Dpdk.XRxScatter, cfg.Dpdk.XMtu = &scatter, &mtu
	stamps := gen.PortConfigDpdkXRxTimestampsSoftware
	if v.Info.RxHardwareTimes {
		stamps = gen.PortConfigDpdkXRxTimestampsHardware
	}
	cfg.Dpdk.XRxTimestamps = &stamps
	kind := gen.PortKind(v.Info.Kind)
	if v.Info.Bond != nil {
		cfg.Bond = &gen.PortConfigBond{Mode: gen.PortConfigBondMode(v.Info.Bond.Mode), Ports: v.Info.Bond.Members}
	}
	return gen.Port{Id: &id, Kind: kind, Config: cfg, Status: &status, Stats: &stats}
}

// ListPorts implements gen.StrictServerInterface.
func (h *Handlers) ListPorts(_ context.Context, req gen.ListPortsRequestObject) (gen.ListPortsResponseObject, error) {
	var kind packetio.Kind
	if req.Params.Kind != nil {
		kind = packetio.Kind(*req.Params.Kind)
		switch kind {
		case packetio.KindDPDK, packetio.KindHost, packetio.KindBond:
		default:
			// As OpenPerf: a kind no port has (or "") matches nothing.
			return gen.ListPorts200JSONResponse{}, nil
		}
	}
	views, err := h.svc.Ports.Ports(kind)
	if err != nil {
		return nil, err
	}
	out := make(gen.ListPorts200JSONResponse, 0, len(views))
	for _, v := range views {
		out = append(out, portJSON(v))
	}
	return out, nil
}

// GetPort implements gen.StrictServerInterface.
func (h *Handlers) GetPort(_ context.Context, req gen.GetPortRequestObject) (gen.GetPortResponseObject, error) {
	v, err := h.svc.Ports.Port(req.Id)
	if err != nil {
		return nil, err
	}
	return gen.GetPort200JSONResponse(portJSON(v)), nil
}

// CreatePort implements gen.StrictServerInterface: only bonds can be made.
func (h *Handlers) CreatePort(_ context.Context, req gen.CreatePortRequestObject) (gen.CreatePortResponseObject, error) {
	if req.Body == nil {
		return nil, badRequest("request body: a port object is required")
	}
	p := req.Body
	if p.Id != nil {
		if err := checkID("id", *p.Id); err != nil {
			return nil, err
		}
	}
	if p.Kind != gen.PortKindBond {
		return nil, badRequest("kind: %q ports are discovered, not created; only bond ports can be created", p.Kind)
	}
	if p.Config.Bond == nil {
		return nil, badRequest("config.bond: required for a bond port")
	}
	id := ""
	if p.Id != nil {
		id = *p.Id
	}
	v, err := h.svc.Ports.CreateBond(id, packetio.BondConfig{
		Mode: packetio.BondMode(p.Config.Bond.Mode), Members: p.Config.Bond.Ports,
	})
	if err != nil {
		return nil, err
	}
	return gen.CreatePort201JSONResponse(portJSON(v)), nil
}

// UpdatePort implements gen.StrictServerInterface: the link settings of a
// port can change; what it is cannot.
func (h *Handlers) UpdatePort(_ context.Context, req gen.UpdatePortRequestObject) (gen.UpdatePortResponseObject, error) {
	cur, err := h.svc.Ports.Port(req.Id)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, badRequest("request body: a port object is required")
	}
	p := req.Body
	if p.Id != nil && *p.Id != req.Id {
		return nil, badRequest("id: %q does not match the path's id %q", *p.Id, req.Id)
	}
	if string(p.Kind) != string(cur.Info.Kind) {
		return nil, badRequest("kind: a %s port cannot become %s", cur.Info.Kind, p.Kind)
	}
	if p.Config.Bond != nil {
		if cur.Info.Bond == nil || !sameMembers(cur.Info.Bond.Members, p.Config.Bond.Ports) {
			return nil, badRequest("config.bond: bond members cannot be changed; delete and create the bond")
		}
	}
	if p.Config.Dpdk == nil {
		return gen.UpdatePort200JSONResponse(portJSON(cur)), nil
	}
	l := p.Config.Dpdk.Link
	cfg := packetio.LinkConfig{AutoNegotiation: l.AutoNegotiation}
	if !l.AutoNegotiation {
		if l.Speed == nil {
			return nil, badRequest("config.dpdk.link.speed: required when auto_negotiation is false")
		}
		if !linkSpeeds[*l.Speed] {
			return nil, badRequest("config.dpdk.link.speed: %d Mbps is not a link speed; DPDK knows %s", *l.Speed, linkSpeedList)
		}
		cfg.SpeedMbps = *l.Speed
		cfg.Duplex = packetio.DuplexFull
		if l.Duplex != nil {
			cfg.Duplex = packetio.Duplex(*l.Duplex)
		}
	}
	v, err := h.svc.Ports.UpdateLink(req.Id, cfg)
	if err != nil {
		return nil, err
	}
	return gen.UpdatePort200JSONResponse(portJSON(v)), nil
}

// linkSpeeds are the fixed link speeds, in Mbps, DPDK 22.11 can ask of a
// port (RTE_ETH_SPEED_NUM_*): what OpenPerf accepts, and 200G.
var linkSpeeds = map[int64]bool{10: true, 100: true, 1000: true, 2500: true, 5000: true, 10000: true,
	20000: true, 25000: true, 40000: true, 50000: true, 56000: true, 100000: true, 200000: true}

const linkSpeedList = "10, 100, 1000, 2500, 5000, 10000, 20000, 25000, 40000, 50000, 56000, 100000 and 200000"

func sameMembers(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// DeletePort implements gen.StrictServerInterface: bonds only.
func (h *Handlers) DeletePort(_ context.Context, req gen.DeletePortRequestObject) (gen.DeletePortResponseObject, error) {
	// An unknown port is already gone: 204, as in OpenPerf.
	if err := h.svc.Ports.DeleteBond(req.Id); err != nil && !packetio.IsNotFound(err) {
		return nil, err
	}
	return gen.DeletePort204Response{}, nil
}

// SendPortTestFrames implements gen.StrictServerInterface.
func (h *Handlers) SendPortTestFrames(_ context.Context, req gen.SendPortTestFramesRequestObject) (gen.SendPortTestFramesResponseObject, error) {
	if _, err := h.svc.Ports.Port(req.Id); err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, badRequest("request body: {\"count\": N} is required")
	}
	length := 64
	if req.Body.Length != nil {
		length = int(*req.Body.Length)
	}
	dst := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	if req.Body.DestinationMac != nil {
		hw, err := net.ParseMAC(*req.Body.DestinationMac)
		if err != nil || len(hw) != 6 {
			return nil, badRequest("destination_mac: %q is not a MAC address", *req.Body.DestinationMac)
		}
		copy(dst[:], hw)
	}
	job, err := h.svc.Ports.SendTestFrames(req.Id, req.Body.Count, length, dst)
	if err != nil {
		return nil, fmt.Errorf("port %s: %w", req.Id, err)
	}
	queued := req.Body.Count
	return gen.SendPortTestFrames202JSONResponse{Id: &job.ID, Queued: &queued}, nil
}

func protocolCounters(c *packetio.ProtocolCounts) gen.PortProtocolCounters {
	return gen.PortProtocolCounters{
		Vlan: int64(c.VLAN), Arp: int64(c.ARP), Ipv4: int64(c.IPv4), Ipv6: int64(c.IPv6), OtherL3: int64(c.OtherL3),
		Udp: int64(c.UDP), Tcp: int64(c.TCP), Icmp: int64(c.ICMP), Icmpv6: int64(c.ICMPv6), OtherL4: int64(c.OtherL4),
	}
}
