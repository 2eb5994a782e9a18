#!/usr/bin/env bash
# demo.sh: start openperfd in test mode (ports 0 and 1 wired back to back),
# run `opctl demo` against it, stop the daemon and exit with opctl's status.
# The daemon is stopped whatever happens: opctl failing, Ctrl-C, SIGTERM.
#
# Environment: DEMO_PORT (REST port, 9000), DEMO_SECONDS (10), DEMO_RATE
# (frames/s, 1M), OPENPERFD and OPCTL (the binaries, ./bin/...).
set -u
cd "$(dirname "$0")/.." || exit 1

port=${DEMO_PORT:-9000}
seconds=${DEMO_SECONDS:-10}
rate=${DEMO_RATE:-1M}
openperfd=${OPENPERFD:-./bin/openperfd}
opctl=${OPCTL:-./bin/opctl}
server=http://127.0.0.1:$port
pid=""

for b in "$openperfd" "$opctl"; do
  [ -x "$b" ] || { echo "demo: $b not found; run make build" >&2; exit 1; }
done
log=$(mktemp "${TMPDIR:-/tmp}/openperfd-demo.XXXXXX.log") || exit 1

# stop_daemon sends SIGTERM and waits (10 s, then SIGKILL).
stop_daemon() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "demo: openperfd did not stop within 10 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  daemon_status=$?
  pid=""
}
trap stop_daemon EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

if "$opctl" --server "$server" --timeout 1s version >/dev/null 2>&1; then
  echo "demo: something already answers on $server; choose another port: make demo DEMO_PORT=9100" >&2
  exit 1
fi

# Its own session: Ctrl-C on the terminal reaches opctl (which then cleans
# up through the API), not the daemon; the EXIT trap stops the daemon.
setsid "$openperfd" --modules.packetio.dpdk.test-mode -p "$port" >"$log" 2>&1 &
pid=$!

waited=0
until "$opctl" --server "$server" --timeout 1s version >/dev/null 2>&1; do
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    echo "demo: openperfd exited (status $?) before it answered on $server; its log ($log) ends:" >&2
    tail -n 20 "$log" >&2
    pid=""
    exit 1
  fi
  if [ "$waited" -ge 100 ]; then
    echo "demo: openperfd did not answer on $server within 10 s; its log ($log) ends:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  sleep 0.1
  waited=$((waited + 1))
done

"$opctl" --server "$server" demo --seconds "$seconds" --rate "$rate"
status=$?

daemon_status=0
stop_daemon
if [ "$daemon_status" -ne 0 ]; then
  echo "demo: openperfd exited with status $daemon_status; its log is $log" >&2
  [ "$status" -ne 0 ] || status=1
elif [ "$status" -eq 0 ] || [ "$status" -eq 130 ]; then
  rm -f "$log"
else
  echo "demo: the daemon's log is $log" >&2
fi
exit "$status"
