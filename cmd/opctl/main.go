package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

const defaultServer = "http://127.0.0.1:9000"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is opctl without the process around it: it parses args, runs the
// command and returns the exit code. Tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	server := getenv("OPCTL_SERVER")
	if server == "" {
		server = defaultServer
	}
	globals := pflag.NewFlagSet("opctl", pflag.ContinueOnError)
	globals.SetOutput(io.Discard)
	globals.StringVar(&server, "server", server, "openperfd REST API address (env OPCTL_SERVER)")
	jsonOut := globals.Bool("json", false, "print the JSON the API returned, unchanged")
	timeout := globals.Duration("timeout", 10*time.Second, "time limit of each request")
	tokenFile := globals.String("token-file", getenv("OPCTL_TOKEN_FILE"),
		"file holding the daemon's bearer token (env OPCTL_TOKEN_FILE; env OPCTL_TOKEN gives the token itself)")
	caFile := globals.String("ca-file", getenv("OPCTL_CA_FILE"), "PEM file of the CA that signed an https:// daemon's certificate (env OPCTL_CA_FILE)")
	help := globals.BoolP("help", "h", false, "show usage")
	globals.SetInterspersed(false)

	fail := func(err error, usage func(io.Writer)) int {
		fmt.Fprintf(stderr, "opctl: %v\n", err)
		if usage != nil {
			fmt.Fprintln(stderr)
			usage(stderr)
		}
		return exitUsage
	}
	usage := func(w io.Writer) { writeUsage(w, globals) }

	if err := globals.Parse(args); err != nil {
		return fail(err, usage)
	}
	rest := globals.Args()
	if *help || (len(rest) > 0 && rest[0] == "help") {
		usage(stdout)
		return exitOK
	}
	if len(rest) == 0 {
		return fail(errors.New("missing command"), usage)
	}
	n, ok := findNoun(rest[0])
	if !ok {
		return fail(fmt.Errorf("unknown command %q", rest[0]), usage)
	}
	v, args, code, done := pickVerb(n, rest[1:], stdout, fail)
	if done {
		return code
	}

	fs := pflag.NewFlagSet(n.command(v), pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runner := v.setup(fs)
	fs.AddFlagSet(globals)
	verbUsage := func(w io.Writer) { writeVerbUsage(w, n, v, fs) }
	if err := fs.Parse(args); err != nil {
		return fail(err, verbUsage)
	}
	if *help {
		verbUsage(stdout)
		return exitOK
	}
	if err := v.checkArgs(fs.Args()); err != nil {
		return fail(err, verbUsage)
	}
	base, err := serverURL(server)
	if err != nil {
		return fail(err, nil)
	}
	conn, err := connection(*tokenFile, getenv("OPCTL_TOKEN"), *caFile)
	if err != nil {
		return fail(err, nil)
	}
	conn.timeout = *timeout
	a, err := newApp(base, conn, *jsonOut, stdin, stdout)
	if err != nil {
		return fail(err, nil)
	}

	err = runner(ctx, a, fs.Args())
	var ue *usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		return fail(err, verbUsage)
	case errors.Is(err, errInterrupted):
	default:
		fmt.Fprintf(stderr, "opctl: %v\n", err)
	}
	return exitCode(err)
}

// pickVerb finds the verb of a noun in args. done is true when there is
// nothing to run (help was asked for, or the verb is missing or unknown).
func pickVerb(n noun, args []string, stdout io.Writer, fail func(error, func(io.Writer)) int) (v verb, rest []string, code int, done bool) {
	if n.standalone() {
		return n.verbs[0], args, 0, false
	}
	nounUsage := func(w io.Writer) { writeNounUsage(w, n) }
	if len(args) == 0 {
		return verb{}, nil, fail(fmt.Errorf("%s: missing verb", n.name), nounUsage), true
	}
	switch args[0] {
	case "help", "-h", "--help":
		nounUsage(stdout)
		return verb{}, nil, exitOK, true
	}
	v, ok := n.find(args[0])
	if !ok {
		return verb{}, nil, fail(fmt.Errorf("%s: unknown verb %q", n.name, args[0]), nounUsage), true
	}
	return v, args[1:], 0, false
}

// serverURL checks --server and adds http:// when no scheme is given.
func serverURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageErrorf("--server %q: want http://host:port", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}
