#!/bin/sh
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# tools/setup.sh: everything a fresh Debian 12 machine needs, then a build in ./build.
# Run as root (it installs packages with apt-get); safe to run again.
#   MESH_WERROR=ON   treat warnings as errors (CI sets it)
#   BUILD_DIR=dir    build somewhere else than ./build
#   CMAKE_ARGS=...   extra cmake arguments (e.g. -DMESH_SANITIZE=ON); with -DMESH_FUZZ=ON (a
#                    fuzzing build, tests/fuzz/README.md) clang and its libFuzzer and sanitizer
#                    runtimes are installed too, and used unless CC says otherwise
set -eu
cd "$(dirname "$0")/.."
# (The README lists exactly these; tests/check_readme.sh keeps the two equal. man-db and
# groff-base render the man pages in the tests; file is what cpack's .deb generator needs;
# tshark reads captures with the Wireshark dissector in test_dissector; librsvg2-bin's
# rsvg-convert renders meshsim's plots in the meshsim_plot test.)
pkgs="build-essential cmake pkg-config libsodium-dev libzmq3-dev libmsgpack-dev libedit-dev
      python3 iproute2 util-linux tcpdump tshark tmux nftables man-db groff-base file
      librsvg2-bin"
case " ${CMAKE_ARGS:-} " in
*" -DMESH_FUZZ=ON "*)
	# only a fuzzing build needs them (the README says so beside the list above)
	pkgs="$pkgs clang libclang-rt-dev"
	export CC="${CC:-clang}"
	;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: missing packages:$missing; run this script as root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $missing
fi
build=${BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESH_WERROR="${MESH_WERROR:-OFF}" ${CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
