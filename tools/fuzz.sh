#!/bin/sh
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# tools/fuzz.sh [BUILD_DIR [SECONDS [TARGET...]]]: runs each libFuzzer target of a fuzzing build
# (-DMESH_FUZZ=ON, tests/fuzz/README.md; default build-fuzz) for SECONDS (default 30) on its
# corpus in tests/fuzz/corpus/, one after the other, and prints per target the inputs run, the
# rate and the coverage (libFuzzer's edges "cov" and features "ft"). New inputs go to a scratch
# directory, never into the tree. Exits 1 if any target crashed, leaked, hung or broke one of
# its checks; the input that did it is kept and printed, with the command that replays it.
# No target opens a socket (tests/fuzz/nosocket.c), so this needs no network namespace.
set -u
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
secs=${2:-30}
[ $# -gt 2 ] && shift 2 || set --
targets=${*:-"fuzz_wire fuzz_reasm fuzz_handshake fuzz_engine fuzz_keyfile fuzz_commands fuzz_meshsim_json"}

for t in $targets; do
	if [ ! -x "$build/tests/fuzz/$t" ]; then
		echo "fuzz: no $build/tests/fuzz/$t: build with -DMESH_FUZZ=ON first (tests/fuzz/README.md)" >&2
		exit 2
	fi
done
scratch=$(mktemp -d "${TMPDIR:-/tmp}/meshnode-fuzz.XXXXXX")
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
failed=""
printf '%-20s %10s %9s %6s %7s  %s\n' target inputs inputs/s cov ft result
for t in $targets; do
	mkdir -p "$scratch/$t"
	rm -f "$artifacts/$t-"*
	log="$scratch/$t.log"
	# -timeout: one input may take 10 s at most; leaks count (ASan's LeakSanitizer)
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	"$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
		"$scratch/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(echo "$done_line" | sed -n 's/.*exec\/s: *\([0-9]*\).*/\1/p')
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	if [ "$rc" = 0 ]; then
		result=ok
	else
		result="FAILED (exit $rc)"
		failed="$failed $t"
	fi
	printf '%-20s %10s %9s %6s %7s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$result"
	if [ "$rc" != 0 ]; then
		echo "---- $t: the end of libFuzzer's report"
		grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED|RELOAD)' "$log" | tail -n 60
		for a in "$artifacts/$t-"*; do
			[ -f "$a" ] || continue
			echo "---- input kept in $a; replay it with:"
			echo "     $build/tests/fuzz/${t}_replay 0 $a"
			echo "     (once fixed, copy it to tests/fuzz/corpus/$t/ as a regression)"
		done
	fi
done
rm -rf "$scratch"
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed" >&2
	exit 1
fi
echo "fuzz: every target ran ${secs} s without a failure"
