#!/bin/sh
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# check_hostns.sh BIN...: every test binary that opens sockets refuses to run unless netns-run
# made the namespace it is in: exit 2, one line on stderr that says how to run it, nothing on
# stdout.
#
# The binaries are started in a namespace of this script's own with no interface up (unshare
# --net, lo left down), without netns-run's markers: to them that is "not netns-run's
# namespace", and if one ever stopped refusing, its packets would still have nowhere to go.
# This needs CAP_SYS_ADMIN, hence the net label.
failed=0
passed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "check_hostns: FAIL: $*"; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

[ $# -ge 1 ] || { echo "usage: check_hostns.sh BIN..." >&2; exit 1; }
for bin in "$@"; do
	name=$(basename "$bin")
	env -u MN_IN_NETNS -u MN_NETNS_ID -u MN_OUTER_NETNS \
		unshare --net -- "$bin" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = 2 ] && ok || bad "$name exited $rc outside netns-run, wanted 2 (stderr: $(head -c 300 "$tmp/err"))"
	[ "$(wc -l < "$tmp/err")" = 1 ] && ok || bad "$name printed $(wc -l < "$tmp/err") lines on stderr, wanted 1"
	grep -q "^$name: refusing to run outside a namespace made by netns-run" "$tmp/err" && ok ||
		bad "$name's line does not say why: $(head -c 300 "$tmp/err")"
	grep -q "tests/integration/netns-run" "$tmp/err" && ok || bad "$name's line does not say how to run it"
	[ ! -s "$tmp/out" ] && ok || bad "$name wrote to stdout: $(head -c 200 "$tmp/out")"
done
echo "check_hostns: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
