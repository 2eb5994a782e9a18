#!/usr/bin/env bash
# scripts/pgo.sh (make pgo): remake cmd/openperfd/default.pgo, the CPU
# profile Go's profile-guided optimisation builds openperfd (and dpbench,
# through its symlink) with.
#
# The profile is of the data plane at work: dpbench's analyzer and
# generator rows on net_null, as make bench runs them, each for
# PGO_SECONDS on CPU $PGO_CPU, merged into one profile. dpbench runs the
# same packages (workers, packet/analyzer, packet/generator, packetio)
# as the daemon, so their hot call sites are the daemon's. With it the
# compiler inlines the analyzer's per-frame calls (Spirent signature
# decode, sequence and latency updates) into the burst loop: on this
# machine analyze-sig went from ~31 to ~36 Mpps and analyze-counters from
# ~46.5 to ~49 Mpps; the generator rows did not move.
#
# Profiles are matched to the code by function and line offset: after
# changing a hot function, remake the profile (a stale one still builds,
# but the changed function loses its optimisation).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
SECS=${PGO_SECONDS:-3}
CPU=${PGO_CPU:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Without the old profile: what is measured is the code, not last time's
# inlining decisions.
"$GO" build -pgo=off -o "$tmp/dpbench" ./bench/cmd/dpbench
rows=(
	"analyze-sig 68" "analyze-counters 68" "analyze-sig-sw 68" "analyze-counters-sw 68"
	"gentx 68" "gentx 1518" "gentx 9216"
)
for row in "${rows[@]}"; do
	read -r mode size <<<"$row"
	echo "pgo: profiling $mode ${size}B for ${SECS}s" >&2
	"$tmp/dpbench" -mode "$mode" -size "$size" -flows 1000 -seconds "$SECS" -cpu "$CPU" \
		-prefix "pgo_$$" -cpuprofile "$tmp/$mode-$size.prof" >"$tmp/$mode-$size.out" 2>&1 ||
		{ echo "pgo: dpbench $mode failed:" >&2; tail -20 "$tmp/$mode-$size.out" >&2; exit 1; }
done
"$GO" tool pprof -proto "$tmp"/*.prof >"$tmp/merged.pgo"
mv "$tmp/merged.pgo" cmd/openperfd/default.pgo
echo "pgo: wrote cmd/openperfd/default.pgo ($(wc -c <cmd/openperfd/default.pgo) bytes); commit it" >&2
