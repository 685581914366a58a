#!/usr/bin/env bash
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# idlecost.sh BUILD [N [WARM [SECS]]]: a measurement, not part of the product or of the tests
# (docs/performance.md, "An idle loop sleeps until its next deadline"). Starts N meshnode
# processes of the build tree BUILD on lo (default 1), waits WARM s (default 5) for them to
# link, then prints what they cost over SECS s (default 10), per node per second: CPU (utime
# + stime of /proc/PID/stat) and context switches (every thread's, from
# /proc/PID/task/*/status). With PERF=1 it prints `perf stat` of the N processes instead.
# It starts nodes, so it runs only inside netns-run's namespace:
#
#   tests/integration/netns-run $PWD/docs/experiments/idlecost.sh $PWD/build 8
set -euo pipefail

[[ -n "${MN_OUTER_NETNS:-}" && $(readlink /proc/self/ns/net) != "$MN_OUTER_NETNS" ]] ||
	{ echo "idlecost.sh: run me through tests/integration/netns-run" >&2; exit 2; }
B=$1; N=${2:-1}; WARM=${3:-5}; SECS=${4:-10}
d=$(mktemp -d /tmp/idlecost.XXXXXX)
pids=()
for i in $(seq 1 "$N"); do
	mkfifo "$d/in$i"
	"$B/node/meshnode" --json --iface lo --name "n$i" --identity "$d/id$i" \
		< "$d/in$i" > "$d/out$i" 2> "$d/err$i" &
	pids+=($!)
	eval "exec $((10 + i))>\"\$d/in$i\""   # held open: the node stops at its EOF
done
sleep "$WARM"
snap() {
	local cpu=0 cs=0 p f s
	for p in "${pids[@]}"; do
		read -r -a f < "/proc/$p/stat"
		cpu=$((cpu + f[13] + f[14]))
		for s in /proc/"$p"/task/*/status; do
			cs=$((cs + $(awk '/ctxt_switches/ { n += $2 } END { print n }' "$s")))
		done
	done
	echo "$cpu $cs"
}
if [[ "${PERF:-0}" == 1 ]]; then
	perf stat -e task-clock,context-switches,raw_syscalls:sys_enter \
		-p "$(IFS=,; echo "${pids[*]}")" -- sleep "$SECS" 2>&1 | grep -E 'clock|switches|sys_enter'
else
	read -r c0 s0 < <(snap)
	sleep "$SECS"
	read -r c1 s1 < <(snap)
	hz=$(getconf CLK_TCK)
	echo "nodes $N, node 1 saw $(grep -c '"event":"enter"' "$d/out1" || true) peers; per node" \
	     "per second: CPU $(echo "scale=2; ($c1 - $c0) * 1000 / $hz / $N / $SECS" | bc) ms," \
	     "context switches $(echo "scale=1; ($s1 - $s0) / $N / $SECS" | bc)"
fi
for i in $(seq 1 "$N"); do eval "exec $((10 + i))>&-"; done
wait
rm -rf "$d"
