package main

import (
	"strings"
	"testing"
)

func TestMistypedCommandSuggestsTheOneMeantInsteadOfTheUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"prots", "list"}, "opctl: unknown command \"prots\"\n\nDid you mean this?\n\tports\n\nRun 'opctl --help' for usage.\n"},
		{[]string{"generators", "creat"}, "opctl: generators: unknown verb \"creat\"\n\nDid you mean this?\n\tcreate\n\nRun 'opctl generators --help' for usage.\n"},
	} {
		out, errOut, code := opctl(t, nil, tc.args...)
		if code != 2 || out != "" || errOut != tc.want {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestNounHelpListsItsVerbs(t *testing.T) {
	out, errOut, code := opctl(t, nil, "captures", "help")
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: opctl captures <verb>") || !strings.Contains(out, "  start ID...") {
		t.Errorf("code %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

func TestCompletionScriptsForEachShell(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, errOut, code := opctl(t, nil, "completion", shell)
		if code != 0 || errOut != "" || !strings.Contains(out, "opctl") || len(out) < 1000 {
			t.Errorf("%s: code %d, stderr %q, %d bytes", shell, code, errOut, len(out))
		}
	}
}
