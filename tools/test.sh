#!/bin/sh
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# tools/test.sh [BUILD_DIR]: runs the whole suite with ctest, then lists what each test
# checked: its own closing line (the Noise vector counts, check counts, passed/failed).
# Networked tests (ctest label "net") create their own private network namespaces, which needs
# root (CAP_SYS_ADMIN). Without it, this runs the others (`ctest -LE net`), says in one line
# what is missing, and fails: a suite that skipped half of itself has not passed.
set -u
build=${1:-build}
if [ ! -f "$build/CTestTestfile.cmake" ]; then
	echo "test: no build in '$build': run tools/setup.sh first" >&2
	exit 2
fi
netns_missing=""
if ! why=$(unshare --net --mount --propagation private -- true 2>&1); then
	netns_missing="test: cannot create a private network namespace (${why##*: }): the tests labelled 'net' need root with CAP_SYS_ADMIN; only 'ctest -LE net' was run, so this run FAILED"
	echo "$netns_missing" >&2
	ctest --test-dir "$build" --output-on-failure -j2 -LE net
else
	ctest --test-dir "$build" --output-on-failure -j2
fi
status=$?
log="$build/Testing/Temporary/LastTest.log"
if [ -f "$log" ]; then
	echo "== what each test checked"
	grep -hE '^(vectors:|[A-Za-z0-9_]+: [0-9]+ (checks|passed|inputs|files)|fuzz_[a-z_]+: )' "$log" | sort -u
fi
if [ -n "$netns_missing" ]; then
	echo "$netns_missing" >&2
	exit 1
fi
exit $status
