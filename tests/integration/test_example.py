#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""docs/example.c, the embedding example, against a real --json meshnode.

The example takes no port option, so both it and the peer use the default discovery group
and port (239.192.7.7:47474). That is safe only because netns-run gives this script a
private namespace whose one interface is lo; it also means only one test here may run
nodes at a time, which the runner does anyway (tests run one after another).

Run: EXAMPLE=build/docs/example tests/integration/netns-run python3 test_example.py [MESHNODE]
"""
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, fail  # noqa: E402

DEFAULT_MCAST_PORT = 47474


def example_binary():
    path = os.environ.get("EXAMPLE", "")
    if not path:
        fail("no example binary: set EXAMPLE to the path of docs/example")
    path = os.path.abspath(path)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        fail("EXAMPLE=%r is not an executable file" % path)
    return path


class Output:
    """The example's stdout as raw byte lines, collected by a reader thread."""

    def __init__(self, proc):
        self.proc = proc
        self.lines = []
        self.eof = False
        self.cv = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for raw in iter(self.proc.stdout.readline, b""):
                with self.cv:
                    self.lines.append(raw.rstrip(b"\n"))
                    self.cv.notify_all()
        finally:
            with self.cv:
                self.eof = True
                self.cv.notify_all()

    def shown(self, start=0):
        return "\n".join("    | %r" % l for l in self.lines[start:]) or "    | (nothing)"

    def wait(self, pattern, timeout=10.0, start=0, what=None):
        """First line at index >= start matching the bytes regex; returns (index, match)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + mt.T(timeout)
        i = start
        with self.cv:
            while True:
                while i < len(self.lines):
                    m = rx.fullmatch(self.lines[i])
                    i += 1
                    if m:
                        return i - 1, m
                if self.eof:
                    fail("example: stdout ended (rc=%s) before %s; its stdout:\n%s"
                         % (self.proc.poll(), what or pattern, self.shown()))
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("example: no %s within %.1fs; its stdout:\n%s"
                         % (what or pattern, mt.T(timeout), self.shown()))
                self.cv.wait(min(left, 0.5))


def test_example_hears_enter_join_whisper_and_three_shouts(ctx):
    binary = example_binary()
    group = "demo"
    env = dict(os.environ, EXAMPLE_IDENTITY=ctx.path("example.id"))
    err_path = ctx.path("example.stderr")
    with open(err_path, "wb") as err:
        proc = ctx.popen([binary, "lo", group, "3"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=err, env=env)
    out = Output(proc)
    try:
        _, m = out.wait(rb"example ([0-9a-f]{64}) listening, in group demo",
                        what="the 'example ID listening, in group demo' line")
        ex_id = m.group(1).decode()
        ctx.names[ex_id] = "example"

        # The peer keeps the default port too. Its peers must not expire while the example
        # runs with the default (1 s) heartbeat, hence the slow expiry.
        peer = Node(ctx, "peer", groups=[group], timers=mt.SLOW_EXPIRY,
                    mcast_port=DEFAULT_MCAST_PORT)
        ev = peer.wait_event("enter", ex_id, timeout=10.0)
        check(ev.get("name") == "example", "peer: the example entered as %r" % ev.get("name"))
        peer.wait_event("join", ex_id, group=group, timeout=10.0)
        out.wait(rb"enter peer", timeout=10.0, what="'enter peer'")
        out.wait(rb"join peer demo", timeout=10.0, what="'join peer demo'")

        # The whisper goes first: the example stops at its third shout, and one sender's
        # messages arrive in order.
        peer.whisper(ex_id, "just-for-you")
        shouts = ["first-shout", "second \x1b[31mred\x1b[0m", "third caf\u00e9"]
        peer.shout_many(group, shouts)
        expected_shouts = [b"shout demo peer: first-shout",
                           b"shout demo peer: second \\x1b[31mred\\x1b[0m",
                           b"shout demo peer: third caf\\xc3\\xa9"]

        # It stops by itself after the third shout, saying goodbye.
        try:
            rc = proc.wait(mt.T(10))
        except subprocess.TimeoutExpired:
            fail("example still running 10s after the third shout; its stdout:\n%s"
                 % out.shown())
        out.thread.join(mt.T(5))
        check(rc == 0, "example exit code %s, expected 0; stderr:\n%s"
              % (rc, mt.tail(err_path)))
        ev = peer.wait_event("exit", ex_id, timeout=5.0)
        check(ev.get("reason") == "bye", "peer: the example's exit reason %r, expected 'bye'"
              % ev.get("reason"))

        # Peer-chosen bytes are printed as \xNN: nothing but printable ASCII comes out.
        raw = b"\n".join(out.lines)
        check(b"\x1b" not in raw, lambda: "a raw ESC byte reached the example's stdout:\n%s"
              % out.shown())
        check(all(0x20 <= c < 0x7f or c == 0x0a for c in raw),
              lambda: "bytes outside printable ASCII on the example's stdout:\n%s" % out.shown())
        # Every event, once, in order: enter, join, the whisper, the three shouts.
        want = [b"example %s listening, in group demo" % ex_id.encode(),
                b"enter peer", b"join peer demo", b"whisper peer: just-for-you"] + expected_shouts
        check(out.lines == want, lambda: "example stdout:\n%s\nexpected:\n%s"
              % (out.shown(), "\n".join("    | %r" % l for l in want)))
        peer.quit_cleanly()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_example_usage(ctx):
    # Opens no socket: a usage error comes before the node is made.
    r = ctx.run([example_binary(), "lo"])
    check(r.returncode == 2, "example with one argument: exit code %s, expected 2"
          % r.returncode)
    check(b"usage:" in r.stderr and r.stdout == b"",
          "example with one argument: stdout %r, stderr %r" % (r.stdout, r.stderr))


if __name__ == "__main__":
    mt.run([
        test_example_hears_enter_join_whisper_and_three_shouts,
        test_example_usage,
    ])
