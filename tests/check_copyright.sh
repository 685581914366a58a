#!/bin/sh
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# check_copyright.sh SOURCE_DIR: every source file of ours (C, headers, Python, shell, Lua, CMake,
# man pages) carries the copyright line in its first two lines, and LICENSE is there. Vendored test data
# (tests/crypto/vectors) keeps its own origin and licence, named in its SOURCES file.
set -u
src=${1:?usage: check_copyright.sh SOURCE_DIR}
cd "$src" || exit 2
line='Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT'
bad=0 n=0
[ -f LICENSE ] || { echo "check_copyright: LICENSE missing"; bad=$((bad + 1)); }
for f in $(find .ci crypto mesh node tools tests docs CMakeLists.txt -type f \
	\( -name '*.c' -o -name '*.h' -o -name '*.cpp' -o -name '*.py' -o -name '*.sh' \
	   -o -name CMakeLists.txt -o -name '*.cmake' -o -name '*.in' -o -name run -o -name netns-run \
	   -o -name '*.[1-8]' -o -name '*.lua' \) \
	-not -path './tests/crypto/vectors/*' | sort); do
	n=$((n + 1))
	head -2 "$f" | grep -qF "$line" || { echo "check_copyright: no copyright line in $f"; bad=$((bad + 1)); }
done
echo "check_copyright: $n files, $bad without the line"
[ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
