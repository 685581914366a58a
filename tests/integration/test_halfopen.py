#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""Connections that never become a session do not hold a node's descriptors (issue 14).

Anyone on the LAN can open TCP connections to a node's ROUTER. Two kinds are tried here, N of
each, against a live node (docs/protocol.md sections 3 and 7):
- silent: the TCP connection is made and nothing is ever sent. The ROUTER closes it once the
  ZMTP greeting has not completed within its handshake interval (2 s).
- idle: the ZMTP greeting and READY are sent (as a DEALER with the NULL mechanism), then
  nothing, and the ROUTER's heartbeats are never answered. The ROUTER closes it once a
  heartbeat goes unanswered for its heartbeat timeout.
In both cases the node's descriptor count returns to where it was within the bound (plus
margin), and a legitimate node that starts during the attack links and whispers within 2 s.
Before/after figures (descriptors, VmRSS) are printed.
"""
import os
import resource
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check  # noqa: E402

N = 2000
HANDSHAKE_S = 2.0        # ZMQ_HANDSHAKE_IVL on the ROUTER (docs/protocol.md section 3)
IDLE_S = 2.0 + 6.0       # ZMQ_HEARTBEAT_IVL + ZMQ_HEARTBEAT_TIMEOUT on the ROUTER

# ZMTP 3.0 greeting: signature, version 3.0, mechanism NULL, as-server 0, filler
GREETING = (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") +
            b"\x00" + b"\x00" * 31)
_READY_BODY = (b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER")
READY = b"\x04" + bytes([len(_READY_BODY)]) + _READY_BODY


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, need))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def figures(pid):
    return "%d fds, VmRSS %d KiB" % (fds(pid), rss_kib(pid))


def host_port(endpoint):
    host, port = endpoint[len("tcp://"):].rsplit(":", 1)
    return host, int(port)


def hold(host, port, n, greet):
    """The attacker, run as a child process (meshtest polls its nodes with select(), which
    cannot take descriptors past 1024): opens n connections, says "open", and holds them
    until its stdin closes."""
    raise_fd_limit(n + 64)
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=mt.T(5))
        if greet:
            s.sendall(GREETING + READY)
        socks.append(s)
    sys.stdout.write("open\n")
    sys.stdout.flush()
    sys.stdin.read()


def open_conns(ctx, endpoint, n, greet):
    host, port = host_port(endpoint)
    p = ctx.popen([sys.executable, os.path.abspath(__file__), "--hold", host, str(port), str(n),
                   "1" if greet else "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = p.stdout.readline()
    check(line == b"open\n", "the attacker could not open its connections (rc %s)" % p.poll())
    return p


def wait_fds_at_most(pid, limit, timeout):
    deadline = time.monotonic() + mt.T(timeout)
    while True:
        n = fds(pid)
        if n <= limit or time.monotonic() > deadline:
            return n
        time.sleep(0.1)


def attack(ctx, greet, held_s):
    a = Node(ctx, "victim", timers=mt.SLOW_EXPIRY)
    time.sleep(0.2)
    base = fds(a.pid)
    print("  before: %s" % figures(a.pid))
    t0 = time.monotonic()
    attacker = open_conns(ctx, a.endpoint, N, greet)
    try:
        print("  %d %s connections open after %.1f s: %s"
              % (N, "idle" if greet else "silent", time.monotonic() - t0, figures(a.pid)))
        # a legitimate node linking during the attack
        m = a.mark()
        t_start = time.monotonic()
        b = Node(ctx, "peer", timers=mt.SLOW_EXPIRY)
        a.wait_event("enter", b, timeout=2.0, start=m)
        b.wait_event("enter", a, timeout=2.0)
        mb = a.mark()
        b.whisper(a.id, "through the flood")
        a.wait_event("whisper", b, timeout=2.0, start=mb, text="through the flood")
        print("  a node started during the attack linked and whispered in %.2f s"
              % (time.monotonic() - t_start))
        # the attacker's connections are closed by the victim; the legitimate one stays
        left = wait_fds_at_most(a.pid, base + 16, held_s + 5.0)
        print("  %.1f s after the attack began: %s" % (time.monotonic() - t0, figures(a.pid)))
        check(left <= base + 16, "the victim still holds %d descriptors (%d before the "
              "attack) %.1f s after it began" % (left, base, time.monotonic() - t0))
        mw = a.mark()
        b.whisper(a.id, "after the flood")
        a.wait_event("whisper", b, timeout=2.0, start=mw, text="after the flood")
        check(not a.select(lambda ev: ev.get("event") == "exit", start=m),
              "the legitimate peer's session ended during the attack")
    finally:
        attacker.stdin.close()
        attacker.wait(mt.T(10))


def test_silent_connections_are_closed(ctx):
    attack(ctx, False, HANDSHAKE_S)


def test_idle_connections_are_closed(ctx):
    attack(ctx, True, IDLE_S)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--hold"]:
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1")
        sys.exit(0)
    mt.run([test_silent_connections_are_closed, test_idle_connections_are_closed])
