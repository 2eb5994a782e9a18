package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/openperfd/openperfd/api/gen"
)

func portsNoun() noun {
	return noun{name: "ports", summary: "DPDK ports and bonds", verbs: []verb{
		{name: "list", maxArgs: 0, summary: "list ports with link state and counters", setup: portsList},
		{name: "get", args: "ID", minArgs: 1, maxArgs: 1, summary: "show one port", setup: portsGet},
		{name: "create", maxArgs: 0, summary: "create a bond (--members 2,3) or a port from -f FILE", setup: portsCreate},
		{name: "delete", args: "ID...", minArgs: 1, maxArgs: -1, summary: "delete ports (bonds)", setup: portsDelete},
	}}
}

func portsList(fs *pflag.FlagSet) runFunc {
	kind := fs.String("kind", "", "only ports of this kind (dpdk, bond, host)")
	return func(ctx context.Context, a *app, _ []string) error {
		params := &gen.ListPortsParams{}
		if *kind != "" {
			params.Kind = kind
		}
		r, err := a.api.ListPortsWithResponse(ctx, params)
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		ports, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		return writePorts(a, ports)
	}
}

func writePorts(a *app, ports []gen.Port) error {
	tw := newTable(a.out)
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

func portsGet(fs *pflag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		r, err := a.api.GetPortWithResponse(ctx, args[0])
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		p, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		return writeFields(a.out, portFields(p))
	}
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

func portsCreate(fs *pflag.FlagSet) runFunc {
	file := fs.StringP("file", "f", "", "port JSON (OpenPerf's Port) to send as it is; - for stdin")
	id := fs.String("id", "", "port id (the server picks one when empty)")
	mode := fs.String("mode", string(gen.PortConfigBondModeLag8023Ad), "bond mode")
	members := fs.StringSlice("members", nil, "member port ids of the bond, e.g. 2,3")
	return func(ctx context.Context, a *app, _ []string) error {
		var body []byte
		switch {
		case *file != "" && len(*members) > 0:
			return usageErrorf("give either -f or --members, not both")
		case *file != "":
			b, err := a.readBody(*file)
			if err != nil {
				return err
			}
			body = b
		case len(*members) > 0:
			p := gen.Port{Kind: gen.PortKindBond, Config: gen.PortConfig{Bond: &gen.PortConfigBond{
				Mode: gen.PortConfigBondMode(*mode), Ports: *members}}}
			if *id != "" {
				p.Id = id
			}
			body, _ = json.Marshal(p)
		default:
			return usageErrorf("nothing to create: give --members or -f FILE")
		}
		r, err := a.api.CreatePortWithBodyWithResponse(ctx, "application/json", bytes.NewReader(body))
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		p, err := got(r.JSON201, r.Body)
		if err != nil {
			return err
		}
		return writePorts(a, []gen.Port{p})
	}
}

func portsDelete(fs *pflag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, args []string) error {
		for _, id := range args {
			r, err := a.api.DeletePortWithResponse(ctx, id)
			if err := a.check(r, err); err != nil {
				return err
			}
			if !a.json {
				fmt.Fprintf(a.out, "deleted port %s\n", id)
			}
		}
		return nil
	}
}
