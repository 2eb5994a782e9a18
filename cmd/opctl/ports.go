package main

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

func (s *session) portsCmd() *cobra.Command {
	r := resource[gen.Port]{s: s, item: "port", table: writePorts, fields: portFields}
	return noun("ports", "DPDK ports and bonds",
		r.list("list ports with link state and counters", listPorts, filter{"kind", "only ports of this kind (dpdk, bond, host)"}),
		r.get("show one port", gen.ClientInterface.GetPort),
		r.create("create a bond (--members 2,3) or a port from -f FILE", gen.ClientInterface.CreatePortWithBody, bondFlags),
		r.each("delete", "delete ports (bonds)", "deleted", gen.ClientInterface.DeletePort),
	)
}

func listPorts(ctx context.Context, c gen.ClientInterface, f filters) (*http.Response, error) {
	return c.ListPorts(ctx, &gen.ListPortsParams{Kind: f["kind"]})
}

func writePorts(w io.Writer, ports []gen.Port) error {
	tw := newTable(w)
	row(tw, "ID", "KIND", "LINK", "SPEED", "MAC", "RX FRAMES", "TX FRAMES", "RX BYTES", "TX BYTES")
	for _, p := range ports {
		st := p.Stats
		if st == nil {
			st = &gen.PortStats{}
		}
		link, speed := "-", "-"
		if p.Status != nil {
			link, speed = string(p.Status.Link), linkSpeed(p.Status.Speed)
		}
		row(tw, str(p.Id), string(p.Kind), link, speed, portMAC(p),
			count(st.RxPackets), count(st.TxPackets), count(st.RxBytes), count(st.TxBytes))
	}
	return tw.Flush()
}

func portMAC(p gen.Port) string {
	if p.Config.Dpdk != nil {
		return str(p.Config.Dpdk.MacAddress)
	}
	return "-"
}

func portFields(p gen.Port) []field {
	f := []field{{"id", str(p.Id)}, {"kind", string(p.Kind)}}
	if d := p.Config.Dpdk; d != nil {
		f = append(f, field{"driver", str(d.Driver)}, field{"device", str(d.Device)},
			field{"interface", str(d.Interface)}, field{"mac", str(d.MacAddress)},
			field{"auto-negotiation", yesNo(d.Link.AutoNegotiation)})
	}
	if b := p.Config.Bond; b != nil {
		f = append(f, field{"bond mode", string(b.Mode)}, field{"members", strings.Join(b.Ports, ", ")})
	}
	if s := p.Status; s != nil {
		f = append(f, field{"link", string(s.Link)}, field{"speed", linkSpeed(s.Speed)}, field{"duplex", string(s.Duplex)})
	}
	if s := p.Stats; s != nil {
		f = append(f,
			field{"rx frames", count(s.RxPackets)}, field{"rx bytes", count(s.RxBytes)}, field{"rx errors", count(s.RxErrors)},
			field{"tx frames", count(s.TxPackets)}, field{"tx bytes", count(s.TxBytes)}, field{"tx errors", count(s.TxErrors)})
	}
	return f
}

// bondFlags is the flag form of "ports create": a bond of ports.
func bondFlags(fs *pflag.FlagSet) func() (any, error) {
	id := fs.String("id", "", "port id (the server picks one when empty)")
	mode := fs.String("mode", string(gen.PortConfigBondModeLag8023Ad), "bond mode")
	members := fs.StringSlice("members", nil, "member port ids of the bond, e.g. 2,3")
	return func() (any, error) {
		if len(*members) == 0 {
			return nil, usageErrorf("nothing to create: give --members or -f FILE")
		}
		return gen.Port{Id: opt(*id), Kind: gen.PortKindBond, Config: gen.PortConfig{Bond: &gen.PortConfigBond{
			Mode: gen.PortConfigBondMode(*mode), Ports: *members}}}, nil
	}
}
