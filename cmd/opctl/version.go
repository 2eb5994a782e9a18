package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"
)

// version is opctl's own version; the build may set it with
// -ldflags "-X main.version=...". Without that it comes from the module
// and VCS data Go records in the binary.
var version = ""

func versionRun(fs *pflag.FlagSet) runFunc {
	return func(ctx context.Context, a *app, _ []string) error {
		if !a.json {
			fmt.Fprintf(a.out, "opctl      %s\n", clientVersion())
		}
		r, err := a.api.GetVersionWithResponse(ctx)
		if err := a.check(r, err); err != nil {
			return err
		}
		if a.json {
			return a.raw(r.Body)
		}
		v, err := got(r.JSON200, r.Body)
		if err != nil {
			return err
		}
		var details []string
		for _, d := range []struct{ name, value string }{
			{"commit", v.SourceCommit}, {"build", v.BuildNumber}, {"built", v.BuildTime},
		} {
			if d.value != "" && d.value != "unknown" {
				details = append(details, d.name+" "+d.value)
			}
		}
		line := "openperfd  " + v.Version
		if len(details) > 0 {
			line += " (" + strings.Join(details, ", ") + ")"
		}
		fmt.Fprintf(a.out, "%s at %s\n", line, a.server)
		return nil
	}
}

// clientVersion is version, or what the binary's build info says.
func clientVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range info.Settings {
		if v == "(devel)" && s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " commit " + s.Value[:12]
		}
	}
	return v
}
