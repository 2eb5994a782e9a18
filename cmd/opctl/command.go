package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
)

// runFunc runs a verb with its positional arguments once flags are parsed.
type runFunc func(ctx context.Context, a *app, args []string) error

// verb is one action on a noun, e.g. the "list" of "ports list".
type verb struct {
	name    string
	args    string // positional arguments for the usage line, e.g. "ID"
	minArgs int
	maxArgs int // -1: no limit
	summary string
	// setup defines the verb's flags on fs and returns the function that
	// runs it; the flag values are read through the closure.
	setup func(fs *pflag.FlagSet) runFunc
}

// noun is a resource (or a standalone command when it has one verb named "").
type noun struct {
	name    string
	summary string
	verbs   []verb
}

// nouns is every command opctl knows, in the order usage lists them.
func nouns() []noun {
	return []noun{
		portsNoun(),
		interfacesNoun(),
		generatorsNoun(),
		generatorResultsNoun(),
		txFlowsNoun(),
		analyzersNoun(),
		analyzerResultsNoun(),
		rxFlowsNoun(),
		capturesNoun(),
		captureResultsNoun(),
		watchNoun(),
		demoNoun(),
		versionNoun(),
	}
}

func findNoun(name string) (noun, bool) {
	for _, n := range nouns() {
		if n.name == name {
			return n, true
		}
	}
	return noun{}, false
}

func (n noun) find(name string) (verb, bool) {
	for _, v := range n.verbs {
		if v.name == name {
			return v, true
		}
	}
	return verb{}, false
}

// standalone reports whether the noun is a command without verbs (watch).
func (n noun) standalone() bool { return len(n.verbs) == 1 && n.verbs[0].name == "" }

func (n noun) command(v verb) string {
	if v.name == "" {
		return "opctl " + n.name
	}
	return "opctl " + n.name + " " + v.name
}

// writeUsage prints the whole command list.
func writeUsage(w io.Writer, globals *pflag.FlagSet) {
	fmt.Fprintln(w, "Usage: opctl [global flags] <noun> <verb> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, n := range nouns() {
		for _, v := range n.verbs {
			line := strings.TrimSpace(n.name + " " + v.name + " " + v.args)
			fmt.Fprintf(tw, "  %s\t%s\n", line, v.summary)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Global flags:")
	fmt.Fprint(w, globals.FlagUsages())
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'opctl <noun> <verb> --help' for a command's flags.")
}

// writeNounUsage prints the verbs of one noun.
func writeNounUsage(w io.Writer, n noun) {
	fmt.Fprintf(w, "Usage: opctl %s <verb> [flags] [args]\n\n%s.\n\nVerbs:\n", n.name, n.summary)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range n.verbs {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(v.name+" "+v.args), v.summary)
	}
	tw.Flush()
}

// writeVerbUsage prints one command's synopsis and flags.
func writeVerbUsage(w io.Writer, n noun, v verb, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags] %s\n\n%s\n\nFlags:\n%s", n.command(v), v.args, v.summary, fs.FlagUsages())
}

// checkArgs enforces a verb's positional argument count.
func (v verb) checkArgs(args []string) error {
	switch {
	case len(args) < v.minArgs:
		return usageErrorf("missing %s", v.args)
	case v.maxArgs >= 0 && len(args) > v.maxArgs:
		return usageErrorf("unexpected argument %q", args[v.maxArgs])
	}
	return nil
}
