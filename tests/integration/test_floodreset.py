#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""A peer that fills its connection and then resets it does not crash the node (issue 14).

Found by a HELLO flood: 100 connections each send 600 Noise HELLOs at once, more than the
ROUTER's receive pipe holds (ZMQ_RCVHWM 256), so libzmq stops reading them; then all are
reset (RST). libzmq 4.3.4 marks such a connection as failed while its pipe drains, and a
ZMTP heartbeat timer firing in that window asserts (`!_io_error`, stream_engine_base.cpp:331,
libzmq issues 4364 and 3937) and aborts the whole process. A legitimate peer does the same
when it is killed with frames unread. The node must live through three such rounds, keep the
link of a peer that was linked before, and whisper over it afterwards.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check  # noqa: E402
import test_halfopen as ho  # noqa: E402

CONNS = 100
HELLOS = 600
ROUNDS = 3


def hello():
    """HELLO = [1, initiator_sid, noise message 1 (-> e, 32 bytes)], as one ZMTP frame."""
    sid = struct.unpack(">I", os.urandom(4))[0] | 1
    body = b"\x93\x01\xce" + struct.pack(">I", sid) + b"\xc4\x20" + os.urandom(32)
    return b"\x00" + bytes([len(body)]) + body


def test_reset_with_a_full_pipe(ctx):
    a = Node(ctx, "victim", timers=mt.SLOW_EXPIRY)
    b = Node(ctx, "peer", timers=mt.SLOW_EXPIRY)
    a.wait_event("enter", b)
    m = a.mark()
    host, port = ho.host_port(a.endpoint)
    ho.raise_fd_limit(CONNS + 64)
    print("  before: %s" % ho.figures(a.pid))
    for r in range(ROUNDS):
        socks = []
        for _ in range(CONNS):
            s = socket.create_connection((host, port), timeout=mt.T(5))
            # the greeting first, on its own: zmq reads it before it answers with its own
            s.sendall(ho.GREETING + ho.READY)
            s.sendall(b"".join(hello() for _ in range(HELLOS)))
            socks.append(s)
        time.sleep(0.2)
        for s in socks:
            # SO_LINGER 0: close() resets the connection
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        # the heartbeat interval was 2 s: a timer fires within it
        time.sleep(mt.T(4.0))
        check(a.proc.poll() is None, "the node died in round %d (rc %s)" % (r + 1, a.proc.poll()))
        print("  round %d: %d connections of %d HELLOs reset; the node lives, %s"
              % (r + 1, CONNS, HELLOS, ho.figures(a.pid)))
    mw = a.mark()
    b.whisper(a.id, "after the resets")
    a.wait_event("whisper", b, start=mw, text="after the resets")
    check(not a.select(lambda ev: ev.get("event") == "exit", start=m),
          "the linked peer's session ended during the attack")


if __name__ == "__main__":
    mt.run([test_reset_with_a_full_pipe])
