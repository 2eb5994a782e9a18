package main

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

// portColumns head the table of ports; portRow is one line of it.
var portColumns = []string{"ID", "KIND", "LINK", "SPEED", "MAC", "RX FRAMES", "TX FRAMES", "RX BYTES", "TX BYTES"}

func portRow(p gen.Port) []string {
	st := p.Stats
	if st == nil {
		st = &gen.PortStats{}
	}
	link, speed := "-", "-"
	if p.Status != nil {
		link, speed = string(p.Status.Link), linkSpeed(p.Status.Speed)
	}
	return []string{str(p.Id), string(p.Kind), link, speed, portMAC(p),
		count(st.RxPackets), count(st.TxPackets), count(st.RxBytes), count(st.TxBytes)}
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
func bondFlags(fs *pflag.FlagSet) func(id string) (any, error) {
	mode := fs.String("mode", string(gen.PortConfigBondModeLag8023Ad), "bond mode")
	members := fs.StringSlice("members", nil, "member port ids of the bond, e.g. 2,3")
	return func(id string) (any, error) {
		if len(*members) == 0 {
			return nil, usageErrorf("nothing to create: give --members or -f FILE")
		}
		return gen.Port{Id: opt(id), Kind: gen.PortKindBond, Config: gen.PortConfig{Bond: &gen.PortConfigBond{
			Mode: gen.PortConfigBondMode(*mode), Ports: *members}}}, nil
	}
}
