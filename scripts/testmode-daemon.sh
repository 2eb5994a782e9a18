# testmode-daemon.sh, sourced by demo.sh and rfc2544-demo.sh: start a
# test-mode openperfd for a script and stop it whatever happens (the
# script's end, Ctrl-C, SIGTERM). The caller sets name (its messages'
# prefix), port, openperfd, opctl and port_hint (how to choose another port).

server=http://127.0.0.1:$port
pid=""
daemon_status=0

for b in "$openperfd" "$opctl"; do
  [ -x "$b" ] || { echo "$name: $b not found; run make build" >&2; exit 1; }
done
if "$opctl" --server "$server" --timeout 1s version >/dev/null 2>&1; then
  echo "$name: something already answers on $server; choose another port: $port_hint" >&2
  exit 1
fi
log=$(mktemp "${TMPDIR:-/tmp}/openperfd-$name.XXXXXX.log") || exit 1

# stop_daemon sends SIGTERM and waits (10 s, then SIGKILL); the daemon's
# exit status is left in daemon_status.
stop_daemon() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name: openperfd did not stop within 10 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  daemon_status=$?
  pid=""
}
trap stop_daemon EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# start_daemon ARGS... starts openperfd in test mode on port with ARGS
# added, in a session of its own (Ctrl-C on the terminal reaches opctl,
# which cleans up through the API, not the daemon), and waits up to 10 s
# for it to answer.
start_daemon() {
  setsid "$openperfd" --modules.packetio.dpdk.test-mode -p "$port" "$@" >"$log" 2>&1 &
  pid=$!
  local waited=0
  until "$opctl" --server "$server" --timeout 1s version >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null
      echo "$name: openperfd exited (status $?) before it answered on $server; its log ($log) ends:" >&2
      tail -n 20 "$log" >&2
      pid=""
      exit 1
    fi
    if [ "$waited" -ge 100 ]; then
      echo "$name: openperfd did not answer on $server within 10 s; its log ($log) ends:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}
