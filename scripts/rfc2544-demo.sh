#!/usr/bin/env bash
# rfc2544-demo.sh: start openperfd in test mode (ports 0 and 1 wired back
# to back), run a short `opctl rfc2544` from port 0 to port 1, write the
# JSON result and the HTML report, stop the daemon whatever happens.
#
# Port 1's receive side is policed (the x-test-rx-limit test hook, frames
# per second) so the path has a knee to find; RFC2544_LIMIT=0 turns it off.
# Environment: RFC2544_PORT (9000), RFC2544_LIMIT (20000), RFC2544_TRIAL
# (1s), RFC2544_SIZES (64,512,1518), RFC2544_REPORT
# (rfc2544-report.html; the JSON goes beside it), OPENPERFD, OPCTL.
set -u
cd "$(dirname "$0")/.." || exit 1

port=${RFC2544_PORT:-9000}
limit=${RFC2544_LIMIT:-20000}
trial=${RFC2544_TRIAL:-1s}
sizes=${RFC2544_SIZES:-64,512,1518}
report=${RFC2544_REPORT:-rfc2544-report.html}
openperfd=${OPENPERFD:-./bin/openperfd}
opctl=${OPCTL:-./bin/opctl}
name=rfc2544-demo
port_hint="make rfc2544-demo RFC2544_PORT=9100"
. scripts/testmode-daemon.sh

args=()
[ "$limit" = 0 ] || args+=(--modules.packetio.dpdk.x-test-rx-limit "1=$limit")
start_daemon "${args[@]}"

"$opctl" --server "$server" --timeout 30s rfc2544 --tx 0 --rx 1 --sizes "$sizes" --imix simple \
  --trial "$trial" --resolution 2 --retries 1 --b2b-trials 1 --latency-trials 1 --line-rate 100 \
  --json "${report%.html}.json" --html "$report"
