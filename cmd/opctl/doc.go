// Command opctl is the command-line client of openperfd. It speaks the REST
// API through the client generated from api/openapi.yaml (api/gen), so it
// follows the spec and nothing else.
//
// Commands are noun verb pairs:
//
//	opctl ports list|get|create|delete
//	opctl interfaces list|get|create|delete
//	opctl generators list|get|create|delete|start|stop
//	opctl generator-results list|get
//	opctl tx-flows list
//	opctl analyzers list|get|create|delete|start|stop|reset
//	opctl analyzer-results list|get
//	opctl rx-flows list
//	opctl captures list|get|create|delete|start|stop
//	opctl capture-results list|get|pcap|merge
//	opctl watch
//	opctl demo
//	opctl version
//	opctl completion bash|zsh|fish
//
// Global flags (--server, --json, --timeout) may stand before the noun or
// after the verb. --json prints the JSON body the API returned, unchanged,
// for scripts; without it the output is aligned tables.
//
// Exit codes: 0 success; 1 the API answered with an error (printed as
// "opctl: <message> (HTTP <code>)") or something else failed; 2 bad flags or
// arguments (with usage, or with the names meant when a command is
// mistyped), or openperfd could not be reached.
//
// Layout: opctl runs on cobra (help, shell completion with "opctl
// completion bash|zsh|fish", suggestions for a mistyped command); cli.go
// makes the root, the nouns and their arguments. resource.go is the one
// generic builder of a resource's verbs (list, get, create, delete, stop,
// start) from calls of the generated client; nouns.go is the table of
// every noun and its verbs. Each resource's file holds only what is its
// own: its table columns, its detail fields, its create flags (ports.go,
// interfaces.go, generators.go, results.go for generator-results and
// tx-flows, analyzers.go for analyzers, analyzer-results and rx-flows,
// captures.go for captures and capture-results, whose pcap and merge verbs
// stream the pcapng to a file). client.go turns replies into errors,
// format.go holds the table and number helpers; flagfields.go names the
// quick flag beside a body field the API finds fault with. watch.go shows
// live rates per port, generator and analyzer; demo.go runs a generator
// into an analyzer across a test-mode port pair and reports loss and
// latency; latency.go reads an interval's latency percentiles from the
// difference of two readings of the flows' digests.
package main
