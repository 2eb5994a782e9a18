package stack

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// PingResult is the outcome of Ping.
type PingResult struct {
	Sent, Received int
	RTTs           []time.Duration
}

// Ping sends count ICMP echo requests from an interface to dst (IPv4 or
// IPv6), one every interval, and waits up to timeout for each reply. It
// resolves the neighbour (ARP/ND) on the way, as any host would.
func (s *Stack) Ping(ctx context.Context, ifaceID string, dst netip.Addr, count int, interval, timeout time.Duration) (PingResult, error) {
	it, err := s.Get(ifaceID)
	if err != nil {
		return PingResult{}, err
	}
	var (
		trans     = icmp.ProtocolNumber4
		netProto  = ipv4.ProtocolNumber
		addr      tcpip.Address
		echoType  = byte(header.ICMPv4Echo)
		replyType = byte(header.ICMPv4EchoReply)
	)
	switch {
	case dst.Is4():
		if it.Config.IPv4 == nil {
			return PingResult{}, invalid("address", "interface %s has no IPv4 layer", ifaceID)
		}
		addr = tcpip.AddrFrom4(dst.As4())
	case dst.Is6():
		if it.Config.IPv6 == nil {
			return PingResult{}, invalid("address", "interface %s has no IPv6 layer", ifaceID)
		}
		trans, netProto = icmp.ProtocolNumber6, ipv6.ProtocolNumber
		addr = tcpip.AddrFrom16(dst.As16())
		echoType, replyType = byte(header.ICMPv6EchoRequest), byte(header.ICMPv6EchoReply)
	default:
		return PingResult{}, invalid("address", "not an IP address")
	}
	var wq waiter.Queue
	ep, e := it.gv.NewEndpoint(trans, netProto, &wq)
	if e != nil {
		return PingResult{}, fmt.Errorf("ping endpoint: %s", e)
	}
	defer ep.Close()
	if e := ep.Connect(tcpip.FullAddress{NIC: it.nic, Addr: addr}); e != nil {
		switch e.(type) {
		case *tcpip.ErrHostUnreachable, *tcpip.ErrNetworkUnreachable, *tcpip.ErrNoNet:
			return PingResult{}, invalid("address", "%s is not reachable from interface %s (no route; add a gateway or an address in that subnet)", dst, ifaceID)
		}
		return PingResult{}, fmt.Errorf("ping %s from %s: %s", dst, ifaceID, e)
	}
	entry, readable := waiter.NewChannelEntry(waiter.EventIn)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)

	var res PingResult
	for seq := 1; seq <= count; seq++ {
		if seq > 1 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(interval):
			}
		}
		msg := make([]byte, 8+16)
		msg[0] = echoType
		binary.BigEndian.PutUint16(msg[6:8], uint16(seq))
		sent := time.Now()
		binary.BigEndian.PutUint64(msg[8:16], uint64(sent.UnixNano()))
		if _, e := ep.Write(bytes.NewReader(msg), tcpip.WriteOptions{}); e != nil {
			if _, wouldBlock := e.(*tcpip.ErrWouldBlock); !wouldBlock {
				return res, fmt.Errorf("ping %s: send: %s", dst, e)
			}
			// No neighbour entry yet: the request waits for resolution.
		}
		res.Sent++
		deadline := time.NewTimer(timeout)
	wait:
		for {
			var buf bytes.Buffer
			if _, e := ep.Read(&buf, tcpip.ReadOptions{}); e == nil {
				b := buf.Bytes()
				if len(b) >= 8 && b[0] == replyType && binary.BigEndian.Uint16(b[6:8]) == uint16(seq) {
					res.Received++
					res.RTTs = append(res.RTTs, time.Since(sent))
					break wait
				}
				continue
			}
			select {
			case <-readable:
			case <-deadline.C:
				break wait
			case <-ctx.Done():
				deadline.Stop()
				return res, ctx.Err()
			}
		}
		deadline.Stop()
	}
	return res, nil
}
