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
//	opctl watch
//	opctl version
//
// Global flags (--server, --json, --timeout) may stand before the noun or
// after the verb. --json prints the JSON body the API returned, unchanged,
// for scripts; without it the output is aligned tables.
//
// Exit codes: 0 success; 1 the API answered with an error (printed as
// "opctl: <message> (HTTP <code>)") or something else failed; 2 bad flags or
// arguments (with usage), or openperfd could not be reached.
//
// Layout: each noun lives in its own file and is one entry of the nouns
// table (command.go); client.go turns responses into errors, format.go holds
// the table and number helpers. Analyzers and captures are not in the API
// yet; when they are, analyzers.go (analyzers, analyzer-results, rx-flows)
// and captures.go (captures, capture-results, with a pcap download verb) add
// their nouns to that table the same way, and watch.go gains rx rates per
// analyzer next to the per-port and per-generator rates it shows now.
package main
