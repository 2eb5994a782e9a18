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
name=demo
port_hint="make demo DEMO_PORT=9100"
. scripts/testmode-daemon.sh
start_daemon

"$opctl" --server "$server" demo --seconds "$seconds" --rate "$rate"
status=$?

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
