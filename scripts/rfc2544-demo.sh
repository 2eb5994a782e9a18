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
server=http://127.0.0.1:$port
pid=""

for b in "$openperfd" "$opctl"; do
  [ -x "$b" ] || { echo "rfc2544-demo: $b not found; run make build" >&2; exit 1; }
done
if "$opctl" --server "$server" --timeout 1s version >/dev/null 2>&1; then
  echo "rfc2544-demo: something already answers on $server; choose another port: make rfc2544-demo RFC2544_PORT=9100" >&2
  exit 1
fi
log=$(mktemp "${TMPDIR:-/tmp}/openperfd-rfc2544.XXXXXX.log") || exit 1

stop_daemon() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
}
trap stop_daemon EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

args=(--modules.packetio.dpdk.test-mode -p "$port")
[ "$limit" = 0 ] || args+=(--modules.packetio.dpdk.x-test-rx-limit "1=$limit")
# Its own session: Ctrl-C reaches opctl (which stops the run), not the daemon.
setsid "$openperfd" "${args[@]}" >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  "$opctl" --server "$server" --timeout 1s version >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "rfc2544-demo: openperfd exited; its log ($log) ends:" >&2; tail -n 20 "$log" >&2; pid=""; exit 1; }
  sleep 0.1
done

"$opctl" --server "$server" --timeout 30s rfc2544 --tx 0 --rx 1 --sizes "$sizes" --imix simple \
  --trial "$trial" --resolution 2 --retries 1 --b2b-trials 1 --latency-trials 1 --line-rate 100 \
  --json "${report%.html}.json" --html "$report"
