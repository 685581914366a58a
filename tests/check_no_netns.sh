#!/bin/sh
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# check_no_netns.sh SOURCE_DIR: on a machine that refuses network namespaces (not root, or a
# container without CAP_SYS_ADMIN), netns-run (and so the demo) and tools/test.sh say what is
# missing in one clear line and fail, and tools/test.sh still runs the tests that need no
# namespace. The refusal is made here by dropping CAP_SYS_ADMIN with setpriv (util-linux); a
# caller that is not root is refused anyway.
set -u
src=${1:?usage: check_no_netns.sh SOURCE_DIR}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "check_no_netns: FAIL: $*"; }

nocap() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin -- "$@"
	else
		"$@"
	fi
}

# netns-run: exit 1, nothing run, one line on stderr naming what is missing
nocap "$src/tests/integration/netns-run" touch "$tmp/ran" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] && ok || bad "netns-run exited $rc, wanted 1"
[ ! -e "$tmp/ran" ] && ok || bad "netns-run ran its command without a namespace"
[ "$(wc -l < "$tmp/err")" = 1 ] && ok || bad "netns-run printed $(wc -l < "$tmp/err") lines, wanted 1"
grep -q "cannot create a private network namespace.*CAP_SYS_ADMIN" "$tmp/err" && ok ||
	bad "netns-run's line does not say what is missing: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] && ok || bad "netns-run wrote to stdout"

# tools/test.sh over a build directory of two tests, one labelled net: runs the other, says
# why it did not run the first, fails
mkdir "$tmp/build"
cat > "$tmp/build/CTestTestfile.cmake" <<EOT
add_test(plain touch "$tmp/plain-ran")
add_test(networked touch "$tmp/net-ran")
set_tests_properties(networked PROPERTIES LABELS net)
EOT
nocap sh "$src/tools/test.sh" "$tmp/build" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] && ok || bad "tools/test.sh exited $rc, wanted 1"
[ -e "$tmp/plain-ran" ] && ok || bad "tools/test.sh did not run the test that needs no namespace"
[ ! -e "$tmp/net-ran" ] && ok || bad "tools/test.sh ran a 'net' test without a namespace"
grep -q "cannot create a private network namespace.*CAP_SYS_ADMIN.*FAILED" "$tmp/err" && ok ||
	bad "tools/test.sh does not say what is missing: $(cat "$tmp/err")"

echo "check_no_netns: $passed passed, $failed failed"
[ "$failed" = 0 ]
