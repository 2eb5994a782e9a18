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

	"github.com/spf13/cobra"
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
	root := newSession(getenv).root()
	// A nil slice would make cobra read os.Args instead.
	root.SetArgs(append([]string{}, args...))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		report(stderr, cmd, err)
	}
	return exitCode(err)
}

// report prints a failed command's error: one "opctl: ..." line, and for
// a usage error what to type instead, or the usage.
func report(w io.Writer, cmd *cobra.Command, err error) {
	var se *setupError
	var ue *usageError
	switch {
	case errors.Is(err, errInterrupted):
		return
	case errors.As(err, &se):
		fmt.Fprintf(w, "opctl: %v\n", err)
	case errors.As(err, &ue) && len(ue.suggestions) > 0:
		fmt.Fprintf(w, "opctl: %v\n\nDid you mean this?\n", err)
		for _, s := range ue.suggestions {
			fmt.Fprintf(w, "\t%s\n", s)
		}
		fmt.Fprintf(w, "\nRun '%s --help' for usage.\n", cmd.CommandPath())
	case errors.As(err, &ue):
		fmt.Fprintf(w, "opctl: %v\n\n%s", err, cmd.UsageString())
	default:
		fmt.Fprintf(w, "opctl: %v\n", err)
	}
}

// serverURL checks --server and adds http:// when no scheme is given.
func serverURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--server %q: want http://host:port", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}
