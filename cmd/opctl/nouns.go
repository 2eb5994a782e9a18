package main

import (
	"github.com/spf13/cobra"

	"github.com/openperfd/openperfd/api/gen"
)

// api names the calls of the generated client in method expressions:
// api.GetPort is the call a verb makes, given the client when it runs.
type api = gen.ClientInterface

// nouns is every command opctl knows, in the order usage lists them. A
// resource's verbs come from the generic builder (resource.go), given the
// calls of the generated client; its file holds its views, its list
// filters and its create flags.
func (s *session) nouns() []*cobra.Command {
	ports := resource[gen.Port]{s: s, item: "port", columns: portColumns, row: portRow, fields: portFields}
	ifaces := resource[gen.Interface]{s: s, item: "interface", columns: interfaceColumns, row: interfaceRow, fields: interfaceFields}
	gens := resource[gen.PacketGenerator]{s: s, item: "generator", columns: generatorColumns, row: generatorRow, fields: generatorFields}
	genResults := resource[gen.PacketGeneratorResult]{s: s, item: "generator result", columns: resultColumns, row: resultRow, fields: resultFields}
	txFlows := resource[gen.TxFlow]{s: s, item: "tx flow", columns: txFlowColumns, row: txFlowRow}
	analyzers := resource[gen.PacketAnalyzer]{s: s, item: "analyzer", columns: analyzerColumns, row: analyzerRow, fields: analyzerFields}
	anaResults := resource[gen.PacketAnalyzerResult]{s: s, item: "analyzer result", columns: analyzerResultColumns, row: analyzerResultRow, fields: analyzerResultFields,
		extra: errorExtra(func(r gen.PacketAnalyzerResult) gen.PacketAnalyzerFlowCounters { return r.FlowCounters })}
	rxFlows := resource[gen.RxFlow]{s: s, item: "rx flow", columns: rxFlowColumns, row: rxFlowRow,
		extra: errorExtra(func(f gen.RxFlow) gen.PacketAnalyzerFlowCounters { return f.Counters })}
	captures := resource[gen.PacketCapture]{s: s, item: "capture", columns: captureColumns, row: captureRow, fields: captureFields}
	capResults := resource[gen.PacketCaptureResult]{s: s, item: "capture result", columns: captureResultColumns, row: captureResultRow, fields: captureResultFields}
	return []*cobra.Command{
		noun("ports", "DPDK ports and bonds",
			list(ports, "list ports with link state and counters", api.ListPorts,
				filter{"kind", "kind", "only ports of this kind (dpdk, bond, host)"}),
			ports.get("show one port", api.GetPort),
			ports.create("create a bond (--members 2,3) or a port from -f FILE", api.CreatePortWithBody, bondFlags),
			ports.each("delete", "delete ports (bonds)", "deleted", api.DeletePort)),
		noun("interfaces", "emulated hosts on ports",
			list(ifaces, "list interfaces with addresses and counters", api.ListInterfaces,
				filter{"port", "port_id", "only interfaces on this port"}, filter{"mac", "eth_mac_address", "only the interface with this MAC address"},
				filter{"ipv4", "ipv4_address", "only interfaces with this IPv4 address"}, filter{"ipv6", "ipv6_address", "only interfaces with this IPv6 address"}),
			ifaces.get("show one interface", api.GetInterface),
			ifaces.create("create an interface from flags or -f FILE", api.CreateInterfaceWithBody, interfaceFormFlags),
			ifaces.each("delete", "delete interfaces", "deleted", api.DeleteInterface)),

		noun("generators", "packet generators",
			list(gens, "list generators", api.ListPacketGenerators, filter{"target", "target_id", "only generators on this port or interface"}),
			gens.get("show one generator", api.GetPacketGenerator),
			gens.create("create a generator from -f FILE or the quick flags (--port ...)",
				api.CreatePacketGeneratorWithBody, quickGeneratorFlags),
			gens.each("delete", "delete generators", "deleted", api.DeletePacketGenerator),
			genResults.madeBy("start", "start generators (prints the new results)", api.StartPacketGenerator),
			gens.each("stop", "stop generators", "stopped", api.StopPacketGenerator)),
		noun("generator-results", "counters of generator runs",
			list(genResults, "list generator results", api.ListPacketGeneratorResults,
				filter{"generator", "generator_id", "only results of this generator"}, filter{"target", "target_id", "only results on this port or interface"}),
			genResults.get("show one result with its protocol counters", api.GetPacketGeneratorResult)),
		noun("tx-flows", "transmitted flows of generator results",
			list(txFlows, "list tx flows", api.ListTxFlows,
				filter{"generator", "generator_id", "only flows of this generator"}, filter{"target", "target_id", "only flows on this port or interface"})),

		noun("analyzers", "packet analyzers",
			list(analyzers, "list analyzers", api.ListPacketAnalyzers, filter{"source", "source_id", "only analyzers on this port or interface"}),
			analyzers.get("show one analyzer", api.GetPacketAnalyzer),
			analyzers.create("create an analyzer from -f FILE or the quick flags (--port ...)",
				api.CreatePacketAnalyzerWithBody, quickAnalyzerFlags),
			analyzers.each("delete", "delete analyzers (and their results)", "deleted", api.DeletePacketAnalyzer),
			anaResults.madeBy("start", "start analyzers (prints the new results)", api.StartPacketAnalyzer),
			analyzers.each("stop", "stop analyzers", "stopped", api.StopPacketAnalyzer),
			anaResults.madeBy("reset", "start a new result of running analyzers (prints it)", api.ResetPacketAnalyzer)),
		noun("analyzer-results", "counters of analyzer runs",
			list(anaResults, "list analyzer results", api.ListPacketAnalyzerResults,
				filter{"analyzer", "analyzer_id", "only results of this analyzer"}, filter{"source", "source_id", "only results on this port or interface"}),
			anaResults.get("show one result with its counters", api.GetPacketAnalyzerResult)),
		noun("rx-flows", "received flows of analyzer results",
			list(rxFlows, "list rx flows with loss and latency", api.ListRxFlows,
				filter{"analyzer", "analyzer_id", "only flows of this analyzer"}, filter{"source", "source_id", "only flows on this port or interface"})),

		noun("captures", "packet captures",
			list(captures, "list captures", api.ListPacketCaptures, filter{"source", "source_id", "only captures on this port or interface"}),
			captures.get("show one capture", api.GetPacketCapture),
			captures.create("create a capture from -f FILE or the quick flags (--source ...)",
				api.CreatePacketCaptureWithBody, quickCaptureFlags),
			captures.each("delete", "delete captures (and their results)", "deleted", api.DeletePacketCapture),
			capResults.madeBy("start", "start captures (prints the new results)", api.StartPacketCapture),
			captures.each("stop", "stop captures", "stopped", api.StopPacketCapture)),
		noun("capture-results", "packets held by capture runs",
			list(capResults, "list capture results", api.ListPacketCaptureResults,
				filter{"capture", "capture_id", "only results of this capture"}, filter{"source", "source_id", "only results on this port or interface"}),
			capResults.get("show one capture result", api.GetPacketCaptureResult),
			s.command("pcap ID", "save a result's packets as pcapng (-o FILE, - for stdout); a capture's ID for its newest result", oneID, captureResultsPcap),
			s.command("merge ID...", "save several results' packets, merged by time, as pcapng (-o FILE)", someIDs, captureResultsMerge)),

		s.tvlpNoun(),

		s.command("watch", "live frame rates per port, generator and analyzer (with loss and latency) until Ctrl-C"+
			" (a line per sample when not on a terminal)", noArgs, watchRun),
		s.command("demo", "send signed traffic from port 0 to port 1 (test mode wires them back to back), show live rates,"+
			" loss and latency, then a summary; cleans up after itself", noArgs, demoRun),
		s.command("rfc2544", "run an RFC 2544 benchmark in the daemon (--tx PORT --rx PORT): throughput, latency, frame loss,"+
			" back-to-back per frame size; progress, then a table, --json FILE and --html FILE", noArgs, rfc2544Run),
		s.command("version", "print opctl's version and the daemon's", noArgs, versionRun),
	}
}
