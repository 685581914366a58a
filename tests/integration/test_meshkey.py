#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""Closed meshes: nodes with a mesh key talk only to nodes with the same key; key files are
checked before use.

Run: tests/integration/netns-run python3 test_meshkey.py [MESHNODE]
"""
import os
import re
import stat
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, start_nodes, wait_mesh  # noqa: E402

BEACON_MS = mt.FAST_TIMERS["beacon-interval"]


def gen_key(ctx, name):
    path = ctx.path(name)
    r = ctx.run([ctx.binary, "--gen-mesh-key", path])
    check(r.returncode == 0, "--gen-mesh-key %s: exit code %d, stderr: %s"
          % (path, r.returncode, r.stderr.decode(errors="replace")[-500:]))
    check(os.path.isfile(path), "--gen-mesh-key did not create %s" % path)
    return path


def foreign_count(node):
    st = node.stats()
    for k in ("beacons_foreign", "beacons_bad"):
        check(isinstance(st.get(k), int), "%s: /stats has no integer %s: %s"
              % (node.name, k, mt.describe(st)))
    return st["beacons_foreign"] + st["beacons_bad"]


def wait_foreign_beacons(node, want, timeout):
    """Polls /stats until node has dropped `want` foreign or bad beacons."""
    deadline = time.monotonic() + mt.T(timeout)
    while True:
        got = foreign_count(node)
        if got >= want:
            return got
        if time.monotonic() > deadline:
            mt.fail("%s: only %d foreign/bad beacons counted within %.1fs (want %d)"
                    % (node.name, got, mt.T(timeout), want))
        # Ask again when the next beacon round is due. This paces a poll of a counter; it
        # is not what the test waits for.
        time.sleep(BEACON_MS / 1000.0)


def test_gen_mesh_key(ctx):
    a = gen_key(ctx, "a.key")
    b = gen_key(ctx, "b.key")
    for p in (a, b):
        mode = stat.S_IMODE(os.stat(p).st_mode)
        check(mode == 0o600, "%s has mode %o, expected 600" % (p, mode))
        text = open(p, "rb").read().decode("ascii", "replace").strip()
        check(re.fullmatch(r"[0-9a-fA-F]{64}", text) is not None,
              "%s does not hold 64 hex digits (%d bytes)" % (p, len(text)))
    check(open(a, "rb").read() != open(b, "rb").read(), "two generated keys are equal")


def test_closed_meshes_are_separate(ctx):
    ka = gen_key(ctx, "a.key")
    kb = gen_key(ctx, "b.key")
    a1, a2 = start_nodes(ctx, ["a-one", "a-two"], mesh_key=ka)
    b1, b2 = start_nodes(ctx, ["b-one", "b-two"], mesh_key=kb)
    n1, n2 = start_nodes(ctx, ["open-one", "open-two"])
    A, B, N = [a1, a2], [b1, b2], [n1, n2]
    # Each mesh forms on its own (positive controls: every kind of node works).
    for mesh in (A, B, N):
        wait_mesh(mesh, timeout=5.0)
    # Three seconds' worth of beacons from each of the 4 outsiders must have been heard and
    # dropped by each A node before we conclude that nobody crossed.
    rounds = 3000 // BEACON_MS
    for n in A:
        got = wait_foreign_beacons(n, 4 * rounds, timeout=15.0)
        print("  %s: %d foreign/bad beacons dropped" % (n.name, got))
    for n in B + N:
        check(foreign_count(n) > 0, "%s: no foreign/bad beacon counted" % n.name)
    every = A + B + N
    for n in every:
        mine = next(m for m in (A, B, N) if n in m)
        strangers = {o.id for o in every if o not in mine}
        crossed = n.select(lambda e: e.get("peer") in strangers)
        check(not crossed, lambda: "%s (%s mesh) has events about other meshes: %s"
              % (n.name, "A" if n in A else "B" if n in B else "open",
                 [mt.describe(e, ctx.names) for e in crossed[:5]]))
    mt.check_one_session_per_pair(A)
    mt.check_one_session_per_pair(B)
    mt.check_one_session_per_pair(N)


def refused(ctx, keyfile, label):
    """Starts a node with keyfile and expects exit code 3 and a message naming the file."""
    n = Node(ctx, "refused-" + label, mesh_key=keyfile, wait_ready=False)
    rc = n.wait_exit(timeout=10.0)
    err = open(n.stderr_path, "rb").read().decode("utf-8", "replace")
    out = " ".join(str(e.get("message", "")) for e in n.events)
    check(rc == 3, "%s key file: exit code %s (expected 3)" % (label, rc))
    check(keyfile in err or keyfile in out,
          "%s key file: no message naming %s (stderr: %r, stdout: %r)"
          % (label, keyfile, err[-300:], out[-300:]))
    check(not n.select(lambda e: e.get("event") == "ready"), "%s key file: node became ready"
          % label)


def test_key_file_mode_0644_refused(ctx):
    k = gen_key(ctx, "loose.key")
    os.chmod(k, 0o644)
    refused(ctx, k, "0644")


def test_key_file_mode_0640_refused(ctx):
    k = gen_key(ctx, "group.key")
    os.chmod(k, 0o640)
    refused(ctx, k, "0640")


def test_malformed_key_file_refused(ctx):
    for label, content in (("short", b"ab" * 31 + b"c\n"), ("nonhex", b"zz" + b"ab" * 31 + b"\n"),
                           ("empty", b"")):
        p = ctx.path(label + ".key")
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, content)
        os.close(fd)
        refused(ctx, p, label)


if __name__ == "__main__":
    mt.run([
        test_gen_mesh_key,
        test_closed_meshes_are_separate,
        test_key_file_mode_0644_refused,
        test_key_file_mode_0640_refused,
        test_malformed_key_file_refused,
    ])
