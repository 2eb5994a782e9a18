#!/usr/bin/env bash
# bench/run.sh (make bench): our data plane against dpdk-testpmd, the C
# reference, in the same run on the same machine: same DPDK, same vdev
# (net_null0), one forwarding lcore on the same CPU, 64-byte packets unless
# the row says otherwise. Only the ratios mean anything: absolute rates on
# this shared VM drift (see below). That is the whole rule: every
# throughput figure is a ratio against testpmd measured in the same run
# (generator vs txonly, analyzer vs rxonly, one lcore, net_null); the
# README's "speed, make bench" row has the latest ratios and the targets.
#
#   rxonly  testpmd --forward-mode=rxonly  vs dpbench -mode rxonly (worker + sink)
#   txonly  testpmd --forward-mode=txonly  vs dpbench -mode txonly (worker + TestFrames)
#   gentx   the same testpmd txonly figure vs dpbench -mode gentx (worker +
#           packet generator: eth/ipv4/udp, 1000 flows of a UDP source port
#           modifier, a signature in every packet)
#   gentx-nosig         the same without signatures
#   gentx-1flow-nosig   one flow (no modifier), no signatures
#   gentx-SIZE[-nosig]  gentx (1000 flows) at SIZE = 128, 512, 1518 bytes,
#           with and without signatures, against testpmd txonly run with
#           --txpkts=SIZE (its packets' data length; the generator's SIZE
#           is the frame on the wire, FCS included, so its packets carry
#           SIZE-4 bytes). The 64-byte rows use testpmd's default, 64.
#   gentx-9216          gentx (1000 flows, signatures) of 9216-byte frames
#           from the jumbo pool (9344-byte data room, one segment per
#           frame), against testpmd txonly --mbuf-size=9344 --txpkts=9212:
#           testpmd sends 9212 bytes from one segment once its mbufs are
#           that large (--mbuf-size must come first: --txpkts is checked
#           against the mbuf size when it is parsed). Its multi-segment
#           form (--txpkts=2048,2048,2048,2048,1020) sent about a third as
#           many packets in one short run on a busy machine, so the
#           one-segment figure is the harder yardstick.
#   analyze-counters    testpmd --forward-mode=rxonly (run right before) vs
#           dpbench -mode analyze-counters: the worker polls net_null0, as
#           testpmd does, into a packet/analyzer.Analyzer counting frames
#           per flow and the ethernet, ip and transport protocol counters;
#           checksums from the port's rx flags (the default, as OpenPerf:
#           net_null sets none, so none are verified)
#   analyze-sig         the same, analyzer counting frames per flow,
#           latency, advanced sequencing and IPDV jitter (signatures)
#   analyze-counters-sw, analyze-sig-sw  the same two with x_checksums
#           software: every IPv4 and UDP checksum summed in software
#   analyze-floor       the same traffic into the least an analyzer that
#           verifies checksums does (dpbench floor.go): check each frame
#           is IPv4/UDP, verify both checksums, count it by stream id.
#           No target: it shows how much of testpmd's rxonly rate is left
#           once every frame's bytes are read and summed in Go.
#   How the analyzer rows' traffic is made: before the run, off the
#   worker. net_null's rx takes buffers from the pool and sets their
#   length (64 bytes) without touching their data, so dpbench writes a
#   generator frame into every buffer of the pool once (eth/ipv4/udp,
#   64 bytes without FCS, 1000 flows of a UDP source port modifier, a
#   signature with stream id, sequence number and tx timestamp, valid
#   checksums) and frees them all: the pool is a ring of prebuilt frames
#   that net_null hands out again and again. The worker's work is what
#   testpmd's is (rx from net_null, free) plus the analyzer. Frames come
#   round with the same sequence numbers and old timestamps, so the
#   sequence results are duplicates/reorders and the latency grows; the
#   per-frame work is the same as for live traffic. The pool's per-lcore
#   cache hands the same buffers back burst after burst, so the analyzer
#   sees as many flows as a burst has frames (64) and the frames are
#   cache-hot: frames DMA'd by a NIC are colder.
#
# This machine's speed drifts by tens of percent within a minute, so every
# generator row gets its own testpmd txonly run right before it (same
# size), and its ratio is against that.
#
# Then frame latency on the real daemon with an idle API and under 32
# REST clients (bench/cmd/latbench; issue 14: p99.9 within 2x of idle),
# iperf3 TCP between two processes under the socket shim over the
# test-mode pair beside the kernel's over a veth pair (bench/cmd/shimbench;
# issue 20: goal 2 Gbit/s), idle CPU and the first frame after idle of two
# daemons over memif and over tap, each round beside the machine's bare
# epoll wake-up after the same idle (bench/cmd/idlebench; issue 17), and the per-burst cgo cost from the
# packetio/dpdk micro-benchmarks.
#
# The rows with targets (gentx, analyze-*) are measured BENCH_REPEAT times
# (default 5: single pairs here range over +-20%), testpmd and ours
# interleaved, and the table shows the pair
# with the median ratio; the other rows once.
#
# Environment: BENCH_SECONDS (per measurement, default 5), BENCH_LAT_SECONDS
# (each latency phase, default 10), BENCH_LAT_CLIENTS (default 32), BENCH_CPU (the
# forwarding/worker CPU, default 1; CPU 0 is EAL's main lcore),
# BENCH_TX_ONLY=1 (only the txonly and generator rows: no rxonly, no
# analyzer rows, no micro-benchmarks, fib or interfaces), BENCH_ROWS (an
# extended regular expression: only the throughput rows whose name
# matches it, e.g. 'analyze-.*', and nothing after the table), BENCH_IDLE_ROUNDS
# (idlebench rounds of 10 s idle per link, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
SECS=${BENCH_SECONDS:-5}
REPEATS=${BENCH_REPEAT:-5}
REPEAT=1
CPU=${BENCH_CPU:-1}
WARMUP=2 # testpmd reports to skip: the start-up interval and one warm-up second

if ! command -v dpdk-testpmd >/dev/null; then
	# Debian ships testpmd in dpdk-dev, not in the dpdk runtime package.
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "bench: installing dpdk-dev for dpdk-testpmd" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpdk-dev >/dev/null ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpdk-dev >/dev/null; }
	fi
	command -v dpdk-testpmd >/dev/null || { echo "bench: dpdk-testpmd not found (Debian package dpdk-dev)" >&2; exit 1; }
fi
if ! taskset -c "$CPU" true 2>/dev/null || [ "$CPU" = 0 ]; then
	echo "bench: CPU $CPU is not usable for the forwarding lcore (CPU 0 is the main lcore; set BENCH_CPU)" >&2
	exit 1
fi

# Where EAL keeps /<prefix>/ runtime files, as packetio/dpdk.RuntimeDir.
if [ -n "${RUNTIME_DIRECTORY:-}" ]; then rundir=$RUNTIME_DIRECTORY
elif [ "$(id -u)" = 0 ]; then rundir=/var/run/dpdk
else rundir=${XDG_RUNTIME_DIR:-/tmp}/dpdk; [ -n "${XDG_RUNTIME_DIR:-}" ] || rundir=/tmp/dpdk
fi

tmp=$(mktemp -d)
child=""
cleanup() {
	if [ -n "$child" ]; then
		kill -INT "$child" 2>/dev/null || true
		sleep 1
		kill -KILL "$child" 2>/dev/null || true
	fi
	rm -rf "$tmp" "$rundir"/tp_$$_* "$rundir"/dpbench_$$_*
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The run time, said up front: each measurement pair is a testpmd run
# and a dpbench run of SECS each plus about 7 s of start-up and warm-up.
LAT_SECS=${BENCH_LAT_SECONDS:-10}
# Each throughput row with its number of pairs, as measured below.
plan=(txonly:1 gentx:$REPEATS gentx-nosig:1 gentx-1flow-nosig:1 gentx-128:1 gentx-128-nosig:1
	gentx-512:1 gentx-512-nosig:1 gentx-1518:1 gentx-1518-nosig:1 gentx-9216:1)
rest=0
if [ "${BENCH_TX_ONLY:-0}" != 1 ]; then
	plan+=(rxonly:1 analyze-counters:$REPEATS analyze-sig:$REPEATS analyze-counters-sw:$REPEATS
		analyze-sig-sw:$REPEATS analyze-floor:$REPEATS)
	# latbench (two phases), the micro-benchmarks, fib and interfaces
	# (~2.5 min), unless BENCH_ROWS stops after the table.
	[ -n "${BENCH_ROWS:-}" ] || rest=$((2 * LAT_SECS + 160 + 30))
fi
npairs=0
for r in "${plan[@]}"; do
	if [ -z "${BENCH_ROWS:-}" ] || [[ ${r%:*} =~ ^(${BENCH_ROWS})$ ]]; then
		npairs=$((npairs + ${r#*:}))
	fi
done
est=$((npairs * (2 * SECS + 7) + rest))
echo "bench: about $((est / 60)) min $((est % 60)) s ($npairs testpmd/ours pairs of ${SECS} s each; BENCH_SECONDS, BENCH_REPEAT and BENCH_TX_ONLY=1 shorten it)" >&2

echo "bench: building dpbench" >&2
"$GO" build -o "$tmp/dpbench" ./bench/cmd/dpbench

# Both measuring functions run in this shell (not in $(...)), so the
# EXIT trap knows the child to stop, and leave their figure in $result.

# testpmd MODE: forward on net_null0 from one lcore on $CPU; result is the
# mean of its per-second rx (rxonly) or tx (txonly) pps, in Mpps, over
# $SECS reports after $WARMUP (the first report has no rate, the second
# covers the warm-up second). testpmd runs non-interactively: with
# --stats-period it never reads stdin. It is stopped with SIGINT once it
# has printed enough reports (so a slow start does not eat into the
# measurement), and timeout(1) kills it if it hangs.
# With a second argument SIZE, txonly sends SIZE-byte packets (--txpkts;
# over 2048 bytes with mbufs large enough for one segment).
testpmd_mpps() {
	local mode=$1 size=${2:-} field log=$tmp/testpmd_$1${2:-}.log want=$((SECS + WARMUP)) i
	local extra=()
	[ -n "$size" ] && extra=(--txpkts="$size")
	[ -n "$size" ] && [ "$size" -gt 2048 ] && extra=(--mbuf-size=$((size + 132)) --txpkts="$size")
	[ "$mode" = rxonly ] && field=Rx-pps || field=Tx-pps
	: >"$log"
	timeout -s INT -k 5 $((want + 20)) \
		dpdk-testpmd -l "0,$CPU" --no-huge -m 512 --no-pci --no-telemetry \
		--file-prefix "tp_$$_$mode$size" --vdev=net_null0 --log-level 4 -- \
		--forward-mode="$mode" --nb-cores=1 --total-num-mbufs=16383 \
		--stats-period=1 "${extra[@]}" </dev/null >"$log" 2>&1 &
	child=$!
	for ((i = 0; i < 10 * (want + 20); i++)); do
		kill -0 "$child" 2>/dev/null || break
		[ "$(grep -ac "$field:" "$log" || true)" -ge "$want" ] && break
		sleep 0.1
	done
	kill -INT "$child" 2>/dev/null || true
	wait "$child" || true
	child=""
	rm -rf "$rundir/tp_$$_$mode$size"
	local mpps k
	read -r mpps k < <(grep -ao "$field: *[0-9]*" "$log" | awk -v skip="$WARMUP" -v want="$want" '
		NR > skip && NR <= want { sum += $2; k++ }
		END { if (k >= 2) printf "%.2f %d\n", sum / k / 1e6, k; else print "" }') || true
	if [ -z "${mpps:-}" ]; then
		echo "bench: testpmd $mode gave too few $field reports; its output:" >&2
		tail -30 "$log" >&2
		return 1
	fi
	# testpmd refuses a --txpkts it cannot send ("give up") and sends
	# 64-byte packets instead: that figure must not pass for SIZE's.
	if [ -n "$size" ] && ! grep -aq "packet len=$size " "$log"; then
		echo "bench: testpmd did not take --txpkts=$size; its output:" >&2
		grep -a "give up\|packet len" "$log" >&2
		return 1
	fi
	echo "testpmd $mode ${size:-64}B: $mpps Mpps (mean of $k one-second reports after $WARMUP)"
	result=$mpps
}

# ours MODE [dpbench flags]: dpbench on the same vdev and CPU; result in Mpps.
ours_mpps() {
	local mode=$1 out=$tmp/ours_$1.out
	shift
	"$tmp/dpbench" -mode "$mode" "$@" -seconds "$SECS" -cpu "$CPU" -prefix "dpbench_$$_$mode" -v >"$out" &
	child=$!
	wait "$child" || { child=""; echo "bench: dpbench $mode failed" >&2; return 1; }
	child=""
	cat "$out"
	result=$(awk '/^ours / { for (i = 1; i <= NF; i++) if ($i == "Mpps") print $(i-1) }' "$out")
	[ -n "$result" ] || { echo "bench: no figure from dpbench $mode" >&2; return 1; }
}

declare -A tp ours
rows=()
# want ROW: whether BENCH_ROWS (if set) selects the row.
want() { [ -z "${BENCH_ROWS:-}" ] || [[ $1 =~ ^(${BENCH_ROWS})$ ]]; }
modes=(rxonly txonly)
[ "${BENCH_TX_ONLY:-0}" = 1 ] && modes=(txonly)
for mode in "${modes[@]}"; do
	want "$mode" || continue
	testpmd_mpps "$mode"
	tp[$mode]=$result
	ours_mpps "$mode"
	ours[$mode]=$result
	rows+=("$mode")
done
# The generator against a testpmd txonly run of the same packet size
# just before it. gen ROW SIZE FLOWS SIGNATURES [TESTPMD_SIZE (default SIZE)]
gen() {
	local r tsize=${5:-$2}
	want "$1" || return 0
	for ((r = 0; r < REPEAT; r++)); do
		if [ "$tsize" = 64 ]; then testpmd_mpps txonly; else testpmd_mpps txonly "$tsize"; fi
		local t=$result
		ours_mpps gentx -size "$2" -flows "$3" -signatures="$4"
		pair "$1" "$t" "$result"
	done
	median "$1"
}
# pair ROW TESTPMD OURS records one interleaved pair; median ROW keeps the
# pair whose ratio is the median of the ROW's pairs (REPEAT of them).
declare -A pairs
pair() { pairs[$1]+="$2 $3"$'\n'; }
median() {
	local t o
	read -r t o < <(printf '%s' "${pairs[$1]}" | awk 'NF == 2 { print $2 / $1, $1, $2 }' | sort -g |
		awk '{ l[NR] = $2 " " $3 } END { print l[int((NR + 1) / 2)] }')
	tp[$1]=$t
	ours[$1]=$o
	rows+=("$1")
	[ "$REPEAT" -gt 1 ] && echo "$1: pairs (testpmd ours): $(printf '%s' "${pairs[$1]}" | tr '\n' ';')"
	return 0
}
REPEAT=$REPEATS gen gentx 64 1000 true
gen gentx-nosig 64 1000 false
gen gentx-1flow-nosig 64 1 false
for size in 128 512 1518; do
	gen "gentx-$size" "$size" 1000 true
	gen "gentx-$size-nosig" "$size" 1000 false
done
gen gentx-9216 9216 1000 true 9212
# The analyzer against a testpmd rxonly run just before it. 68 bytes on
# the wire: 64-byte packets, as net_null's. ana ROW
ana() {
	local r
	want "$1" || return 0
	for ((r = 0; r < REPEAT; r++)); do
		testpmd_mpps rxonly
		local t=$result
		ours_mpps "$1" -size 68 -flows 1000 -signatures=true
		pair "$1" "$t" "$result"
	done
	median "$1"
}
if [ "${BENCH_TX_ONLY:-0}" != 1 ]; then
	REPEAT=$REPEATS ana analyze-counters
	REPEAT=$REPEATS ana analyze-sig
	REPEAT=$REPEATS ana analyze-counters-sw
	REPEAT=$REPEATS ana analyze-sig-sw
	REPEAT=$REPEATS ana analyze-floor
fi

echo
printf '%-18s %14s %12s %8s\n' mode "testpmd Mpps" "ours Mpps" ratio
for mode in "${rows[@]}"; do
	awk -v m="$mode" -v t="${tp[$mode]}" -v o="${ours[$mode]}" \
		'BEGIN { printf "%-18s %14.2f %12.2f %8.2f\n", m, t, o, o / t }'
done
echo "(net_null0, 64-byte packets unless the row says otherwise, one lcore on CPU $CPU, ${SECS} s each after warm-up;"
echo " ratio = ours / the testpmd txonly run at the same size just before (rxonly and analyze-*: rxonly); load average $(cut -d' ' -f1-3 /proc/loadavg):"
echo " anything else running on CPU $CPU skews the figures)"
[ "${BENCH_TX_ONLY:-0}" = 1 ] && exit 0
[ -n "${BENCH_ROWS:-}" ] && exit 0

echo
echo "frame latency, idle API vs ${BENCH_LAT_CLIENTS:-32} REST clients on GET /ports (real daemon, test mode; target p99.9 <= 2x idle):"
"$GO" build -o "$tmp/latbench" ./bench/cmd/latbench
"$tmp/latbench" -bin "${OPENPERFD_BIN:-bin/openperfd}" -seconds "${BENCH_LAT_SECONDS:-10}" -clients "${BENCH_LAT_CLIENTS:-32}"

echo
echo "unmodified programs: iperf3 TCP a -> b, both under the socket shim, test-mode pair; the kernel over a veth pair beside it:"
"$GO" build -o "$tmp/shimbench" ./bench/cmd/shimbench
"$tmp/shimbench" -bin "${OPENPERFD_BIN:-bin/openperfd}" -shim "${OPENPERFD_SHIM:-bin/libopenperfd-shim.so}" -seconds "${BENCH_SHIM_SECONDS:-3}"
echo
echo "idle daemons (issue 17: <= 0.2% of a core idle, first frame after 10 s idle within 200 us); each round beside the machine's bare wake-up just before it, the anchor:"
"$GO" build -o "$tmp/idlebench" ./bench/cmd/idlebench
idle_rounds=${BENCH_IDLE_ROUNDS:-3}
"$tmp/idlebench" -bin "${OPENPERFD_BIN:-bin/openperfd}" -link memif -rounds "$idle_rounds"
"$tmp/idlebench" -bin "${OPENPERFD_BIN:-bin/openperfd}" -link tap -rounds "$idle_rounds"
echo
echo "packetio/dpdk micro-benchmarks (bursts of 64 on net_null0, registered lcore):"
"$GO" test -run='^$' -bench=. -benchtime=2s ./packetio/dpdk/

echo
echo "fib: lookups per snapshot (target <= 50 ns at 100k entries, 0 allocs):"
"$GO" test -run='^$' -bench='Lookup|Checkpoint|InsertBatch' -benchmem -benchtime=1s ./fib/ | grep -E '^Benchmark'

echo
echo "interfaces: one bulk-create REST call on the real daemon, then one bulk-delete (targets: 100k in <= 10 s, <= 4 GB RSS):"
"$GO" build -o "$tmp/ifbench" ./bench/cmd/ifbench
"$tmp/ifbench" -bin "${OPENPERFD_BIN:-bin/openperfd}" -sizes "${BENCH_IFACES:-1000,10000,100000}"
