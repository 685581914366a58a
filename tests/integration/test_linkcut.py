#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""A link whose TCP connection is cut recovers, visibly.

The connection of a live session is destroyed under both nodes (ss -K, inside this test's
private network namespace). ZeroMQ reconnects, but a session is bound to its connection
(docs/protocol.md section 5): both nodes report EXIT within the expiry time, a new handshake
follows, both report ENTER again, and messages flow on the new session. No hang, no silent
half-alive link.
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, fail  # noqa: E402


def test_cut_link_is_reported_and_rebuilt(ctx):
    ss = shutil.which("ss")
    if not ss:
        fail("ss (iproute2) not found: cannot cut a TCP connection")
    a, b = Node(ctx, "left", groups=["g"]), Node(ctx, "right", groups=["g"])
    mt.wait_mesh([a, b], timeout=5.0)
    ma, mb = a.mark(), b.mark()
    t_cut = time.monotonic()
    r = subprocess.run([ss, "-K", "-t", "state", "established"], capture_output=True,
                       timeout=mt.T(10))
    check(r.returncode == 0, "ss -K failed: %r" % r.stderr[-200:])
    expired = mt.FAST_TIMERS["expired"] / 1000.0
    for n, other, m in ((a, b, ma), (b, a, mb)):
        n.wait_event("exit", other, timeout=expired + 3.0, start=m)
        n.wait_event("enter", other, timeout=10.0, start=m)
    print("  both ends reported the cut link and linked again %.1f s after the cut"
          % (time.monotonic() - t_cut))
    mark = b.mark()
    mid = a.shout("g", "after-the-cut")
    ev = b.wait_event("shout", a, timeout=5.0, start=mark, text="after-the-cut")
    check(ev.get("id") == mid, "the shout after the cut arrived with id %r" % ev.get("id"))
    mt.check_one_session_per_pair([a, b])


if __name__ == "__main__":
    mt.run([test_cut_link_is_reported_and_rebuilt])
