#!/bin/sh
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# check_meshbench_args.sh MESHBENCH: a command line meshbench cannot carry out is refused with
# status 2 and a line naming what is wrong, before it makes a namespace or measures anything.
# Before this, "--only whispr" ran no part and exited 0, and "--runs 3x" was taken as 3.
# Every case here fails in argument parsing, so nothing is started and no namespace is needed.
bench=${1:?usage: check_meshbench_args.sh MESHBENCH}
failed=0
passed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "check_meshbench_args: FAIL: $*"; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# refused ARGS... PATTERN: exit 2, nothing on stdout, PATTERN on stderr
refused() {
	pat=$1
	shift
	"$bench" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = 2 ] && ok || bad "meshbench $* exited $rc, wanted 2"
	[ ! -s "$tmp/out" ] && ok || bad "meshbench $* wrote to stdout: $(head -c 200 "$tmp/out")"
	grep -q -- "$pat" "$tmp/err" && ok || bad "meshbench $*: stderr lacks '$pat': $(head -c 300 "$tmp/err")"
}
refused "unknown part 'whispr'" --only whispr
refused "unknown part ''" --only limits,
refused "unknown part 'nosuch'" --only limits,nosuch
refused "--runs: '3x' is not" --runs 3x --only nosuch
refused "--runs: '0' is not" --runs 0 --only nosuch
refused "--runs: '-1' is not" --runs -1 --only nosuch
refused "--shout-window: 'many' is not" --shout-window many --only nosuch
refused "--shout-window: '0' is not" --shout-window 0 --only nosuch
refused "unexpected argument 'extra'" --only nosuch extra

"$bench" --version >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && ok || bad "meshbench --version did not exit 0"
grep -q '^meshbench [0-9][0-9.]*$' "$tmp/out" && ok || bad "meshbench --version printed: $(cat "$tmp/out")"
"$bench" -V >"$tmp/out2" 2>&1
cmp -s "$tmp/out" "$tmp/out2" && ok || bad "meshbench -V differs from --version"

echo "check_meshbench_args: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
