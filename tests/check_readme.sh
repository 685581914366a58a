#!/bin/sh
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# check_readme.sh SOURCE_DIR: the README's promises hold: its package list is exactly what
# tools/setup.sh installs, its two commands are there verbatim, and .ci/run runs the test
# command exactly as the README writes it.
set -u
src=${1:?usage: check_readme.sh SOURCE_DIR}
cd "$src" || exit 2
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "check_readme: FAIL: $*"; }
words() { tr -s ' \n\t' '\n\n\n' | grep -v '^$' | sort; }

setup=$(sed -n '/^pkgs="/,/"$/p' tools/setup.sh | sed 's/^pkgs="//; s/"$//' | words)
readme=$(sed -n '/^<!-- packages:/,/^$/p' README.md | grep -v '^<!--' | tr -d '`' | words)
[ -n "$setup" ] && ok || bad "no package list found in tools/setup.sh"
[ "$setup" = "$readme" ] && ok ||
	bad "README packages differ from tools/setup.sh: setup.sh has [$(echo $setup)], README [$(echo $readme)]"
grep -qxF '   tools/setup.sh && tools/demo.py' README.md && ok || bad "README lacks the demo command"
grep -qxF '   tools/setup.sh && tools/test.sh' README.md && ok || bad "README lacks the test command"
grep -qF "sh -c 'tools/setup.sh && tools/test.sh'" .ci/run && ok ||
	bad ".ci/run does not run the README's test command"
echo "check_readme: $passed passed, $failed failed"
[ "$failed" = 0 ]
