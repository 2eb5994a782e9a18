package aat

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openperfd/openperfd/api/gen"
)

// walkthroughDoc is the README whose walk-through the test runs: the
// commands come from it, so the doc and the test cannot drift apart.
const walkthroughDoc = "../../cmd/opctl/README.md"

// TestOpctlWalkthrough runs the opctl walk-through of cmd/opctl/README.md,
// line by line, against a fresh test-mode daemon, and checks every figure
// each table prints against the REST JSON. A line the test has no check
// for fails it: a new line in the doc needs its check here.
func TestOpctlWalkthrough(t *testing.T) {
	bin := opctlBuild(t)
	d := startDaemon(t, testMode)
	w := &walk{t: t, d: d, bin: bin, dir: t.TempDir()}
	lines := walkthroughLines(t)
	if len(lines) < 10 {
		t.Fatalf("%s: %d opctl lines in the walk-through; is the ```sh block under '## Walk-through' gone?", walkthroughDoc, len(lines))
	}
	for _, line := range lines {
		w.step(line)
		if t.Failed() {
			t.Fatalf("stopped after %q", line)
		}
	}
}

// walkthroughLines are the bin/opctl lines of the first sh block under
// "## Walk-through", without their comments.
func walkthroughLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(walkthroughDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Walk-through\n")
	if !ok {
		t.Fatalf("%s has no '## Walk-through' section", walkthroughDoc)
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatalf("%s: no ```sh block in the walk-through", walkthroughDoc)
	}
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(commentRE.ReplaceAllString(l, "")); l == "" {
			continue
		}
		if !strings.HasPrefix(l, "bin/opctl ") {
			t.Fatalf("%s: walk-through line %q is not a bin/opctl command", walkthroughDoc, l)
		}
		lines = append(lines, l)
	}
	return lines
}

// commentRE is a shell comment after a command (no line has a # inside
// quotes).
var commentRE = regexp.MustCompile(`\s+#.*$`)

// walk is the state of one run of the walk-through.
type walk struct {
	t        *testing.T
	d        *daemon
	bin, dir string
}

// step runs one line and checks what it printed.
func (w *walk) step(line string) {
	t := w.t
	args := strings.Fields(strings.TrimPrefix(line, "bin/opctl "))
	for _, a := range args {
		if strings.ContainsAny(a, `'"$*?<>|;&`+"`") {
			t.Fatalf("%q: the test splits at spaces only; %q needs a shell", line, a)
		}
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(w.bin, args...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "OPCTL_SERVER="+w.d.base)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s%s", line, err, errOut.String(), out.String())
	}
	t.Logf("$ %s   (%v)\n%s", line, time.Since(start).Round(time.Millisecond), out.String())
	// "noun verb ...", or a command of its own ("watch ...").
	n := 2
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		n = 1
	}
	verb := strings.Join(args[:n], " ")
	check, ok := walkChecks[verb]
	if !ok {
		t.Fatalf("%q: no check for %q; add one to walkChecks", line, verb)
	}
	check(w, args[n:], out.String())
}

// walkChecks check the output of each command of the walk-through, by
// noun and verb, given the arguments after them.
var walkChecks = map[string]func(w *walk, args []string, out string){
	"ports list":             (*walk).portsList,
	"interfaces create":      (*walk).interfacesList,
	"interfaces list":        (*walk).interfacesList,
	"analyzers create":       (*walk).analyzersCreate,
	"analyzers start":        (*walk).analyzersStart,
	"analyzers stop":         func(w *walk, args []string, out string) { w.said(out, "stopped analyzer "+args[0]) },
	"captures create":        (*walk).capturesCreate,
	"captures start":         (*walk).capturesStart,
	"generators create":      (*walk).generatorsCreate,
	"generators start":       (*walk).generatorsStart,
	"generator-results list": (*walk).generatorResults,
	"tx-flows list":          (*walk).txFlows,
	"analyzer-results list":  (*walk).analyzerResults,
	"rx-flows list":          (*walk).rxFlows,
	"capture-results list":   (*walk).captureResults,
	"capture-results pcap":   (*walk).capturePcap,
	"watch":                  (*walk).watch,
	"generators delete":      func(w *walk, args []string, out string) { w.deleted(out, "generator", "/packet/generators/", args) },
	"analyzers delete":       func(w *walk, args []string, out string) { w.deleted(out, "analyzer", "/packet/analyzers/", args) },
	"captures delete":        func(w *walk, args []string, out string) { w.deleted(out, "capture", "/packet/captures/", args) },
	"interfaces delete":      func(w *walk, args []string, out string) { w.deleted(out, "interface", "/interfaces/", args) },
}

// flag is the value of --name in args ("" if absent).
func flag(args []string, name string) string {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func (w *walk) said(out, want string) {
	if strings.TrimSpace(out) != want {
		w.t.Errorf("printed %q, want %q", out, want)
	}
}

func (w *walk) deleted(out, item, path string, ids []string) {
	w.said(out, "deleted "+item+" "+ids[0])
	if code, body := w.d.call("GET", path+ids[0], nil); code != 404 {
		w.t.Errorf("GET %s%s after the delete: %d %s", path, ids[0], code, body)
	}
}

// table is a printed table: its rows as cells by column name.
type table []map[string]string

// parseTable reads a table opctl printed: columns start where their
// heads do (tabwriter pads to the left), in characters, not bytes.
func parseTable(t *testing.T, out string) table {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	head := []rune(lines[0])
	var starts []int
	var names []string
	for i := 0; i < len(head); i++ {
		if head[i] != ' ' && (i == 0 || (head[i-1] == ' ' && i >= 2 && head[i-2] == ' ')) {
			starts = append(starts, i)
			end := i
			for end < len(head) && !(head[end] == ' ' && (end+1 >= len(head) || head[end+1] == ' ')) {
				end++
			}
			names = append(names, string(head[i:end]))
		}
	}
	var tb table
	for _, l := range lines[1:] {
		r := []rune(l)
		row := map[string]string{}
		for i, s := range starts {
			e := len(r)
			if i+1 < len(starts) {
				e = min(starts[i+1], len(r))
			}
			if s < len(r) {
				row[names[i]] = strings.TrimSpace(string(r[s:e]))
			}
		}
		tb = append(tb, row)
	}
	return tb
}

// by returns the row whose column col is v.
func (tb table) by(t *testing.T, col, v string) map[string]string {
	t.Helper()
	for _, r := range tb {
		if r[col] == v {
			return r
		}
	}
	t.Fatalf("no row with %s %q in %v", col, v, tb)
	return nil
}

// num reads a printed number: "1,000", "1.63µs" (in ns), "39.9%", "-"
// (NaN).
func num(t *testing.T, s string) float64 {
	t.Helper()
	if s == "-" {
		return math.NaN()
	}
	scale := 1.0
	for _, u := range []struct {
		suffix string
		scale  float64
	}{{"ns", 1}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"%", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, scale = strings.TrimSuffix(s, u.suffix), u.scale
			break
		}
	}
	if s == "<0.001" {
		return 0.0005
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil {
		t.Fatalf("%q is not a number opctl prints", s)
	}
	return v * scale
}

// same checks a printed figure against the JSON's: equal, or within the
// rounding of three significant digits (0.5%) when rounded is set.
func (w *walk) same(what, printed string, want float64, rounded bool) {
	w.t.Helper()
	got := num(w.t, printed)
	ok := got == want || (math.IsNaN(got) && math.IsNaN(want))
	if rounded && !ok {
		ok = math.Abs(got-want) <= 0.005*math.Abs(want)+0.5
	}
	if !ok {
		w.t.Errorf("%s: printed %q, the JSON has %v", what, printed, want)
	}
}

// opt is *p as a figure, NaN for nil.
func opt(p *int64) float64 {
	if p == nil {
		return math.NaN()
	}
	return float64(*p)
}

func (w *walk) portsList(_ []string, out string) {
	var ports []gen.Port
	w.d.get("/ports", &ports)
	tb := parseTable(w.t, out)
	if len(tb) != len(ports) {
		w.t.Errorf("%d ports printed, the JSON has %d", len(tb), len(ports))
	}
	for _, p := range ports {
		r, s := tb.by(w.t, "ID", *p.Id), p.Stats
		w.same("port "+*p.Id+" rx frames", r["RX FRAMES"], float64(s.RxPackets), false)
		w.same("port "+*p.Id+" tx frames", r["TX FRAMES"], float64(s.TxPackets), false)
		w.same("port "+*p.Id+" rx bytes", r["RX BYTES"], float64(s.RxBytes), false)
		w.same("port "+*p.Id+" tx bytes", r["TX BYTES"], float64(s.TxBytes), false)
	}
}

// interfacesList checks the rows of interfaces; the stack may send (ND,
// MLD) while the command runs, so frame counts only need to be no more
// than the JSON's read after.
func (w *walk) interfacesList(args []string, out string) {
	for _, r := range parseTable(w.t, out) {
		var it gen.Interface
		w.d.get("/interfaces/"+r["ID"], &it)
		if r["PORT"] != it.PortId {
			w.t.Errorf("interface %s: port %q, the JSON has %q", r["ID"], r["PORT"], it.PortId)
		}
		if mac := it.Config.Protocols[0].Eth.MacAddress; r["MAC"] != mac {
			w.t.Errorf("interface %s: MAC %q, the JSON has %q", r["ID"], r["MAC"], mac)
		}
		if id := flag(args, "id"); id != "" && (r["ID"] != id || r["IPV4"] != flag(args, "ipv4") || r["IPV6"] != flag(args, "ipv6")) {
			w.t.Errorf("created %v, printed %v", args, r)
		}
		s := *it.Stats
		if num(w.t, r["RX FRAMES"]) > float64(s.RxPackets) || num(w.t, r["TX FRAMES"]) > float64(s.TxPackets) {
			w.t.Errorf("interface %s: frames %s/%s, more than the JSON's %d/%d", r["ID"], r["RX FRAMES"], r["TX FRAMES"], s.RxPackets, s.TxPackets)
		}
	}
}

func (w *walk) analyzersCreate(args []string, out string) {
	r := parseTable(w.t, out).by(w.t, "ID", flag(args, "id"))
	var an gen.PacketAnalyzer
	w.d.get("/packet/analyzers/"+r["ID"], &an)
	var fc []string
	for _, c := range an.Config.FlowCounters {
		fc = append(fc, string(c))
	}
	if r["SOURCE"] != an.SourceId || r["ACTIVE"] != "no" || r["FLOW COUNTERS"] != strings.Join(fc, ",") {
		w.t.Errorf("printed %v, the JSON has %+v", r, an)
	}
}

// analyzersStart checks the printed result is the analyzer's, running.
func (w *walk) analyzersStart(args []string, out string) {
	r := parseTable(w.t, out)[0]
	var res gen.PacketAnalyzerResult
	w.d.get("/packet/analyzer-results/"+r["ID"], &res)
	if *res.AnalyzerId != args[0] || !res.Active || r["ANALYZER"] != args[0] || r["ACTIVE"] != "yes" {
		w.t.Errorf("printed %v, the JSON has %+v", r, res)
	}
}

func (w *walk) capturesCreate(args []string, out string) {
	r := parseTable(w.t, out).by(w.t, "ID", flag(args, "id"))
	var c gen.PacketCapture
	w.d.get("/packet/captures/"+r["ID"], &c)
	if r["SOURCE"] != c.SourceId || r["FILTER"] != *c.Config.Filter || r["STOP AFTER"] != fmt.Sprintf("%s packets", commas(*c.Config.PacketCount)) {
		w.t.Errorf("printed %v, the JSON has %+v", r, c)
	}
}

func (w *walk) capturesStart(args []string, out string) {
	r := parseTable(w.t, out)[0]
	var res gen.PacketCaptureResult
	w.d.get("/packet/capture-results/"+r["ID"], &res)
	if res.CaptureId != args[0] || r["CAPTURE"] != args[0] {
		w.t.Errorf("printed %v, the JSON has %+v", r, res)
	}
}

func (w *walk) generatorsCreate(args []string, out string) {
	r := parseTable(w.t, out).by(w.t, "ID", flag(args, "id"))
	var g gen.PacketGenerator
	w.d.get("/packet/generators/"+r["ID"], &g)
	w.same("flows", r["FLOWS"], float64(*g.Config.FlowCount), false)
	if r["TARGET"] != g.TargetId || r["DURATION"] != commas(*g.Config.Duration.Frames)+" frames" {
		w.t.Errorf("printed %v, the JSON has %+v", r, g)
	}
}

// generatorsStart checks the printed result and waits until the run is
// over and the analyzers have every frame: what a reader does by reading
// the next line.
func (w *walk) generatorsStart(args []string, out string) {
	r := parseTable(w.t, out)[0]
	var res gen.PacketGeneratorResult
	eventually(w.t, "the generator's run ends", func() (bool, string) {
		w.d.get("/packet/generator-results/"+r["ID"], &res)
		return !res.Active, fmt.Sprintf("%+v", res.FlowCounters)
	})
	if *res.GeneratorId != args[0] || r["GENERATOR"] != args[0] {
		w.t.Errorf("printed %v, the JSON has %+v", r, res)
	}
	eventually(w.t, "the analyzers have every frame", func() (bool, string) {
		var results []gen.PacketAnalyzerResult
		w.d.get("/packet/analyzer-results", &results)
		for _, a := range results {
			if a.Active && a.FlowCounters.FrameCount < res.FlowCounters.PacketsActual {
				return false, fmt.Sprintf("%s has %d of %d", *a.AnalyzerId, a.FlowCounters.FrameCount, res.FlowCounters.PacketsActual)
			}
		}
		return true, ""
	})
}

func (w *walk) generatorResults(args []string, out string) {
	var results []gen.PacketGeneratorResult
	w.d.get("/packet/generator-results?generator_id="+flag(args, "generator"), &results)
	tb := parseTable(w.t, out)
	if len(tb) != len(results) {
		w.t.Fatalf("%d results printed, the JSON has %d", len(tb), len(results))
	}
	for _, res := range results {
		r, c := tb.by(w.t, "ID", res.Id), res.FlowCounters
		w.same("frames", r["FRAMES"], float64(c.PacketsActual), false)
		w.same("intended", r["INTENDED"], float64(c.PacketsIntended), false)
		w.same("octets", r["OCTETS"], float64(c.OctetsActual), false)
		w.same("dropped", r["DROPPED"], float64(*c.PacketsDropped), false)
		w.same("errors", r["ERRORS"], float64(c.Errors), false)
		if r["ACTIVE"] != "no" || c.PacketsActual != c.PacketsIntended {
			w.t.Errorf("result %s: %v; want the whole run, over", res.Id, r)
		}
	}
}

func (w *walk) txFlows(args []string, out string) {
	var flows []gen.TxFlow
	w.d.get("/packet/tx-flows?generator_id="+flag(args, "generator"), &flows)
	tb := parseTable(w.t, out)
	if len(tb) != len(flows) {
		w.t.Fatalf("%d flows printed, the JSON has %d", len(tb), len(flows))
	}
	for _, f := range flows {
		r := tb.by(w.t, "ID", f.Id)
		w.same(f.Id+" stream", r["STREAM"], opt(f.StreamId), false)
		w.same(f.Id+" frames", r["FRAMES"], float64(f.Counters.PacketsActual), false)
		w.same(f.Id+" octets", r["OCTETS"], float64(f.Counters.OctetsActual), false)
		w.same(f.Id+" dropped", r["DROPPED"], opt(f.Counters.PacketsDropped), false)
	}
}

// sequenceSame checks the sequence and latency columns of a row against
// flow counters.
func (w *walk) sequenceSame(what string, r map[string]string, c gen.PacketAnalyzerFlowCounters) {
	w.t.Helper()
	w.same(what+" frames", r["FRAMES"], float64(c.FrameCount), false)
	s := c.Sequence
	if s == nil {
		w.t.Fatalf("%s: no sequence counters in the JSON", what)
	}
	w.same(what+" dropped", r["DROPPED"], float64(s.Dropped), false)
	w.same(what+" duplicate", r["DUPLICATE"], float64(s.Duplicate), false)
	w.same(what+" late", r["LATE"], float64(s.Late), false)
	w.same(what+" reordered", r["REORDERED"], float64(s.Reordered), false)
	w.same(what+" loss", r["LOSS"], 100*float64(s.Dropped)/float64(c.FrameCount-s.Duplicate+s.Dropped), true)
	l := c.Latency.Summary
	w.same(what+" latency min", r["LATENCY MIN"], opt(l.Min), true)
	w.same(what+" latency avg", r["AVG"], float64(l.Total/c.FrameCount), true)
	w.same(what+" latency max", r["MAX"], opt(l.Max), true)
}

func (w *walk) analyzerResults(args []string, out string) {
	var results []gen.PacketAnalyzerResult
	w.d.get("/packet/analyzer-results?analyzer_id="+flag(args, "analyzer"), &results)
	tb := parseTable(w.t, out)
	if len(tb) != len(results) || len(results) != 1 {
		w.t.Fatalf("%d results printed, the JSON has %d; want 1", len(tb), len(results))
	}
	res := results[0]
	r := tb.by(w.t, "ID", res.Id)
	w.same("flows", r["FLOWS"], float64(len(*res.Flows)), false)
	w.sequenceSame("result", r, res.FlowCounters)
	// Started before the generator: it has every frame, none lost.
	var gens []gen.PacketGeneratorResult
	w.d.get("/packet/generator-results", &gens)
	if c := res.FlowCounters; len(gens) != 1 || c.FrameCount != gens[0].FlowCounters.PacketsActual || c.Sequence.Dropped != 0 {
		w.t.Errorf("the analyzer has %d frames (%d dropped); the generator sent %+v", c.FrameCount, c.Sequence.Dropped, gens)
	}
}

func (w *walk) rxFlows(args []string, out string) {
	var flows []gen.RxFlow
	w.d.get("/packet/rx-flows?analyzer_id="+flag(args, "analyzer"), &flows)
	tb := parseTable(w.t, out)
	if len(tb) != len(flows) {
		w.t.Fatalf("%d flows printed, the JSON has %d", len(tb), len(flows))
	}
	var tx []gen.TxFlow
	w.d.get("/packet/tx-flows", &tx)
	sent := map[int64]int64{}
	for _, f := range tx {
		sent[*f.StreamId] += f.Counters.PacketsActual
	}
	for _, f := range flows {
		if f.StreamId == nil || f.XStreamId == nil || *f.StreamId != *f.XStreamId {
			w.t.Fatalf("rx flow %s: stream_id %v, x_stream_id %v; want both, equal", f.Id, f.StreamId, f.XStreamId)
		}
		id := strconv.FormatInt(*f.StreamId, 10)
		r := tb.by(w.t, "STREAM", id)
		w.sequenceSame("stream "+id, r, f.Counters)
		w.same("stream "+id+" p99", r["P99"], float64(f.Digests.Latency.Percentiles.P99), true)
		// Each stream is one flow of the generator: nothing merged.
		if f.Counters.FrameCount != sent[*f.StreamId] || f.Counters.Sequence.Duplicate != 0 {
			w.t.Errorf("stream %s: %d frames (%d duplicate), its tx flow sent %d", id, f.Counters.FrameCount, f.Counters.Sequence.Duplicate, sent[*f.StreamId])
		}
	}
}

func (w *walk) captureResults(args []string, out string) {
	var results []gen.PacketCaptureResult
	w.d.get("/packet/capture-results?capture_id="+flag(args, "capture"), &results)
	tb := parseTable(w.t, out)
	if len(tb) != len(results) || len(results) == 0 {
		w.t.Fatalf("%d results printed, the JSON has %d", len(tb), len(results))
	}
	for _, res := range results {
		r := tb.by(w.t, "ID", res.Id)
		w.same("packets", r["PACKETS"], float64(res.Packets), false)
		w.same("bytes", r["BYTES"], float64(res.Bytes), false)
		if r["STATE"] != string(res.State) {
			w.t.Errorf("state %q, the JSON has %q", r["STATE"], res.State)
		}
	}
}

// capturePcap checks the file is the newest result's pcapng, as the API
// serves it.
func (w *walk) capturePcap(args []string, out string) {
	var results []gen.PacketCaptureResult
	w.d.get("/packet/capture-results?capture_id="+args[0], &results)
	code, want := w.d.call("GET", "/packet/capture-results/"+results[len(results)-1].Id+"/pcap", nil)
	file := filepath.Join(w.dir, flagShort(args, "o"))
	got, err := os.ReadFile(file)
	if code != 200 || err != nil || !bytes.Equal(got, want) || !bytes.HasPrefix(got, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		w.t.Errorf("%s: %d bytes (%v); the API's pcap: %d, %d bytes", file, len(got), err, code, len(want))
	}
	w.said(out, fmt.Sprintf("wrote %s bytes to %s", commas(int64(len(got))), flagShort(args, "o")))
}

// flagShort is the value of -name in args.
func flagShort(args []string, name string) string {
	for i, a := range args {
		if a == "-"+name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// watch checks the totals each line prints (nothing runs: the rates are
// 0) against the JSON.
func (w *walk) watch(args []string, out string) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if n, _ := strconv.Atoi(flag(args, "count")); len(lines) != n+1 || !strings.HasPrefix(lines[0], "# /s: ") {
		w.t.Fatalf("want a legend and %s lines:\n%s", flag(args, "count"), out)
	}
	var gens []gen.PacketGeneratorResult
	w.d.get("/packet/generator-results", &gens)
	var anas []gen.PacketAnalyzerResult
	w.d.get("/packet/analyzer-results", &anas)
	for _, l := range lines[1:] {
		for _, g := range gens {
			if want := fmt.Sprintf("generator %s tx 0/s, %s frames", *g.GeneratorId, commas(g.FlowCounters.PacketsActual)); !strings.Contains(l, want) {
				w.t.Errorf("line %q lacks %q", l, want)
			}
		}
		for _, a := range anas {
			c := a.FlowCounters
			want := fmt.Sprintf("analyzer %s rx 0/s, %s frames, dropped %s (loss 0%%)", *a.AnalyzerId, commas(c.FrameCount), commas(c.Sequence.Dropped))
			if !strings.Contains(l, want) {
				w.t.Errorf("line %q lacks %q", l, want)
			}
		}
	}
}

// commas writes n with thousands separators, as opctl does.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
