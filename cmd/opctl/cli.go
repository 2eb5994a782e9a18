package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() {
	// Keep the verbs in the order they are added (list, get, create,
	// delete, ...), the order in which one uses them.
	cobra.EnableCommandSorting = false
}

// session is one run of opctl: the global flags, which cobra fills in
// before any command runs, and the environment they default from.
type session struct {
	getenv    func(string) string
	server    string
	json      bool
	timeout   time.Duration
	tokenFile string
	caFile    string
}

func newSession(getenv func(string) string) *session { return &session{getenv: getenv} }

// root is the opctl command with every noun under it.
func (s *session) root() *cobra.Command {
	server := s.getenv("OPCTL_SERVER")
	if server == "" {
		server = defaultServer
	}
	root := &cobra.Command{
		Use:   "opctl",
		Short: "command-line client of openperfd",
		Args:  unknownSubcommand("unknown command %q"),
		RunE:  func(*cobra.Command, []string) error { return usageErrorf("missing command") },
		// run reports errors itself: one line, then suggestions or usage.
		SilenceErrors: true,
		SilenceUsage:  true,
		// Let global flags stand before the noun as well as after the verb.
		TraverseChildren:           true,
		SuggestionsMinimumDistance: 2,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&s.server, "server", server, "openperfd REST API address (env OPCTL_SERVER)")
	pf.BoolVar(&s.json, "json", false, "print the JSON the API returned, unchanged")
	pf.DurationVar(&s.timeout, "timeout", 10*time.Second, "time limit of each request")
	pf.StringVar(&s.tokenFile, "token-file", s.getenv("OPCTL_TOKEN_FILE"),
		"file holding the daemon's bearer token (env OPCTL_TOKEN_FILE; env OPCTL_TOKEN gives the token itself)")
	pf.StringVar(&s.caFile, "ca-file", s.getenv("OPCTL_CA_FILE"),
		"PEM file of the CA that signed an https:// daemon's certificate (env OPCTL_CA_FILE)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	root.SetUsageTemplate(usageTemplate)
	root.SetHelpTemplate(`{{.UsageString}}`)
	root.AddCommand(s.nouns()...)
	return root
}

// app connects the command about to run to the daemon; nothing is sent
// yet, so a bad setting fails before any request.
func (s *session) app(cmd *cobra.Command) (*app, error) {
	base, err := serverURL(s.server)
	if err != nil {
		return nil, &setupError{err}
	}
	c, err := connection(s.tokenFile, s.getenv("OPCTL_TOKEN"), s.caFile)
	if err != nil {
		return nil, &setupError{err}
	}
	c.timeout = s.timeout
	a, err := newApp(base, c, s.json, cmd.InOrStdin(), cmd.OutOrStdout())
	if err != nil {
		return nil, &setupError{err}
	}
	return a, nil
}

// runFunc runs a command with its positional arguments once flags are
// parsed.
type runFunc func(ctx context.Context, a *app, args []string) error

// command makes a command that talks to the daemon. use is its name and
// positional arguments ("get ID"); define adds its flags to fs and
// returns what it runs, reading the flag values through its closure.
func (s *session) command(use, short string, args cobra.PositionalArgs, define func(fs *pflag.FlagSet) runFunc) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: args}
	run := define(c.Flags())
	c.RunE = func(cmd *cobra.Command, args []string) error {
		a, err := s.app(cmd)
		if err != nil {
			return err
		}
		return run(cmd.Context(), a, args)
	}
	return c
}

// noun groups the verbs of one resource: "opctl ports list".
func noun(name, short string, verbs ...*cobra.Command) *cobra.Command {
	unknown := unknownSubcommand(name + ": unknown verb %q")
	c := &cobra.Command{
		Use:   name,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usageErrorf("%s: missing verb", name)
			case args[0] == "help": // "opctl ports help", as "opctl help ports"
				return cmd.Help()
			}
			return unknown(cmd, args)
		},
	}
	c.AddCommand(verbs...)
	return c
}

// unknownSubcommand rejects what is left when no subcommand matched the
// first argument, suggesting the names that are close to it.
func unknownSubcommand(format string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		return &usageError{msg: fmt.Sprintf(format, args[0]), suggestions: cmd.SuggestionsFor(args[0])}
	}
}

// Positional arguments of a command; the messages name them as the
// command's Use does ("get ID": "missing ID").
var (
	noArgs  = positional(0, 0)
	oneID   = positional(1, 1)
	someIDs = positional(1, -1)
)

// positional checks that there are min to max arguments (max -1: no
// limit).
func positional(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usageErrorf("missing %s", strings.TrimSpace(strings.TrimPrefix(cmd.Use, cmd.Name())))
		case max >= 0 && len(args) > max:
			return usageErrorf("unexpected argument %q", args[max])
		}
		return nil
	}
}

// usageTemplate is the usage (and help) of every command: the root lists
// every noun's verbs, a noun its verbs, any other command its flags.
const usageTemplate = `{{if not .HasParent -}}
Usage: opctl [global flags] <noun> <verb> [flags] [args]

Commands:
{{range .Commands}}{{if .IsAvailableCommand}}{{if .HasAvailableSubCommands}}{{$noun := .Name}}{{range .Commands}}{{if .IsAvailableCommand}}  {{rpad (printf "%s %s" $noun .Use) 30}}{{.Short}}
{{end}}{{end}}{{else}}  {{rpad .Use 30}}{{.Short}}
{{end}}{{end}}{{end}}
Global flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}

Run 'opctl <noun> <verb> --help' for a command's flags.
{{else if .HasAvailableSubCommands -}}
Usage: {{.CommandPath}} <verb> [flags] [args]

{{.Short}}.

Verbs:
{{range .Commands}}{{if .IsAvailableCommand}}  {{rpad .Use 14}}{{.Short}}
{{end}}{{end}}{{else -}}
Usage: {{.UseLine}}

{{or .Long .Short | trimTrailingWhitespaces}}
{{if .HasAvailableLocalFlags}}
Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}
{{end}}{{if .HasAvailableInheritedFlags}}
Global flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}
{{end}}{{end}}`
