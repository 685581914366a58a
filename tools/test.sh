#!/bin/sh
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# tools/test.sh [BUILD_DIR]: runs the whole suite with ctest, then lists what each test
# checked: its own closing line (the Noise vector counts, check counts, passed/failed).
# Networked tests create their own private network namespaces; run as root.
set -u
build=${1:-build}
ctest --test-dir "$build" --output-on-failure -j2
status=$?
log="$build/Testing/Temporary/LastTest.log"
if [ -f "$log" ]; then
	echo "== what each test checked"
	grep -hE '^(vectors:|[A-Za-z0-9_]+: [0-9]+ (checks|passed|inputs)|fuzz_[a-z_]+: )' "$log" | sort -u
fi
exit $status
