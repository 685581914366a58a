#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""What a running meshnode maps: a node that reads its commands from a pipe (--json, or plain
lines) never loads the line editor, libedit, nor the terminal library it pulls in (libtinfo).
Those are for a person at a terminal; a node driven by a program, meshsim or a script would
carry them in its memory for nothing (docs/performance.md, "Idle RSS").
test_interactive shows the editor still loads, and works, on a terminal.

Run: tests/integration/netns-run python3 test_footprint.py [MESHNODE]
"""
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, fail  # noqa: E402

TERMINAL_LIBS = ("libedit", "libtinfo", "libncurses")


def mapped_libs(pid):
    """The file names of every library mapped into process pid."""
    names = set()
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and ".so" in parts[5]:
                names.add(os.path.basename(parts[5]))
    return names


def check_no_terminal_libs(pid, what):
    libs = mapped_libs(pid)
    check(any(n.startswith("libzmq") for n in libs),
          "%s: libzmq is not among its mapped libraries, so this check reads the wrong "
          "process: %s" % (what, sorted(libs)))
    loaded = sorted(n for n in libs if n.startswith(TERMINAL_LIBS))
    check(not loaded, "%s maps terminal libraries it never uses: %s" % (what, loaded))


def test_json_node_maps_no_line_editor(ctx):
    n = Node(ctx, "fp-json")
    check_no_terminal_libs(n.pid, "a --json node")
    n.quit_cleanly()


def test_plain_node_maps_no_line_editor(ctx):
    argv = [ctx.binary, "--iface", "lo", "--name", "fp-plain", "--identity",
            ctx.path("fp-plain.id"), "--mcast-port", str(ctx.mcast_port)]
    p = ctx.popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  stderr=subprocess.DEVNULL)
    # The banner says the node is up: its libraries are loaded by then.
    out = b""
    deadline = time.monotonic() + mt.T(10.0)
    while b"you are fp-plain" not in out:
        left = deadline - time.monotonic()
        if left <= 0 or p.poll() is not None:
            fail("no banner from the plain node (rc %s): %r" % (p.poll(), out[-400:]))
        r, _, _ = select.select([p.stdout], [], [], left)
        if r:
            out += os.read(p.stdout.fileno(), 4096)
    check_no_terminal_libs(p.pid, "a node reading plain lines from a pipe")
    p.stdin.close()               # end of input: the node stops
    try:
        rc = p.wait(timeout=mt.T(10.0))
    except subprocess.TimeoutExpired:
        fail("the plain node did not stop at the end of its input")
    check(rc == 0, "the plain node exited with %s at the end of its input" % rc)


if __name__ == "__main__":
    mt.run([test_json_node_maps_no_line_editor, test_plain_node_maps_no_line_editor])
