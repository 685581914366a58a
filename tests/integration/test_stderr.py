#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""A meshnode whose stderr nobody drains must not stall its node.

The node's log lines travel through a pipe to the program's main loop, so a full stderr can
block that loop at worst, never the node's event loop: the node still answers handshakes and
sends heartbeats, and its peers keep it as a live peer well past the expiry time.
"""
import fcntl
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check  # noqa: E402


def full_pipe():
    """A pipe whose buffer is already full; the write end is blocking again on return."""
    rd, wr = os.pipe()
    fl = fcntl.fcntl(wr, fcntl.F_GETFL)
    fcntl.fcntl(wr, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    chunk = b"x" * 65536
    while True:
        try:
            os.write(wr, chunk)
        except BlockingIOError:
            try:
                os.write(wr, b"x")
                continue
            except BlockingIOError:
                break
    fcntl.fcntl(wr, fcntl.F_SETFL, fl)
    return rd, wr


def test_undrained_stderr_does_not_stall_the_node(ctx):
    timers = dict(mt.FAST_TIMERS)
    peer = Node(ctx, "watcher", timers=timers)
    rd, wr = full_pipe()
    argv = [ctx.binary, "--json", "--iface", "lo", "--name", "stuck-stderr",
            "--identity", ctx.path("stuck.id"), "--mcast-port", str(ctx.mcast_port),
            "--log-level", "debug"]
    for k, v in timers.items():
        argv += ["--" + k, str(v)]
    stuck = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=wr, close_fds=True, preexec_fn=mt._die_with_parent)
    os.close(wr)
    try:
        ev = peer.wait_for(lambda e: e.get("event") == "enter" and
                           e.get("name") == "stuck-stderr", timeout=10.0,
                           what="enter of the node whose stderr is full")
        mark = peer.mark()
        # Stay linked through twice the expiry time: heartbeats must keep flowing.
        hold = 2 * timers["expired"] / 1000.0
        time.sleep(mt.T(hold))
        gone = peer.select(lambda e: e.get("event") == "exit" and e.get("peer") == ev["peer"],
                           mark)
        check(not gone, "the node with a full stderr was reported gone: %r" % gone[:1])
        live = [p for p in peer.peers() if p["peer"] == ev["peer"]]
        check(len(live) == 1, "the node with a full stderr is not a live peer any more")
        print("  linked and still live %.1f s later with its stderr full" % hold)
    finally:
        stuck.kill()
        stuck.wait()
        os.close(rd)


if __name__ == "__main__":
    mt.run([test_undrained_stderr_does_not_stall_the_node])
