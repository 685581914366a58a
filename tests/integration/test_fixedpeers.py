#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""Fixed peers (--peer, docs/usage.md "Fixed peers"; protocol section 4): a node that multicast
cannot reach is dialled by address, its identity still proven by the handshake.

The nodes here run on loopback with multicast ports of their own, so that no beacon of one
ever reaches the other: they can only meet through --peer.

Run: tests/integration/netns-run python3 test_fixedpeers.py [MESHNODE]
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check  # noqa: E402


def port_of(node):
    return int(node.endpoint.rsplit(":", 1)[1])


def apart(ctx, name, **kw):
    """A node whose beacons no other node of the test hears (a multicast port of its own)."""
    return Node(ctx, name, mcast_port=ctx.new_port(), **kw)


def linked_both_ways(a, b, timeout=5.0, start_a=0, start_b=0):
    a.wait_event("enter", b, timeout=timeout, start=start_a)
    b.wait_event("enter", a, timeout=timeout, start=start_b)


def test_fixed_peer_links_and_talks(ctx):
    b = apart(ctx, "far", groups=["ops"])
    a = apart(ctx, "near", groups=["ops"], extra=["--peer", "127.0.0.1:%d" % port_of(b)])
    linked_both_ways(a, b)
    # both ways, both kinds of message
    mark_a, mark_b = a.mark(), b.mark()
    a.whisper(b, "hello-far")
    b.whisper(a, "hello-near")
    b.wait_event("whisper", a, timeout=5.0, start=mark_b, text="hello-far")
    a.wait_event("whisper", b, timeout=5.0, start=mark_a, text="hello-near")
    b.shout("ops", "to-the-group")
    a.wait_event("shout", b, timeout=5.0, start=mark_a, group="ops", text="to-the-group")
    mt.check_one_session_per_pair([a, b])
    # the far node restarts on the same port: the near one dials it again by itself
    port = port_of(b)
    mark_a = a.mark()
    b.stop()
    b2 = b.respawn(extra=["--port", str(port)])
    a.wait_event("exit", b, timeout=10.0, start=mark_a)
    a.wait_event("enter", b2, timeout=10.0, start=mark_a)
    b2.wait_event("enter", a, timeout=10.0)
    for n in (a, b2):
        n.quit_cleanly()


def test_pinned_fixed_peer(ctx):
    b = apart(ctx, "pinned")
    other = apart(ctx, "someone-else")
    addr = "127.0.0.1:%d" % port_of(b)
    # pinned to another node's ID: whoever answers there is not it, so no link
    wrong = apart(ctx, "wrong-pin", extra=["--peer", "%s@%s" % (other.id, addr)])
    # pinned to the right one: linked
    right = apart(ctx, "right-pin", extra=["--peer", "%s@%s" % (b.id, addr)])
    linked_both_ways(right, b)
    # wait until the wrong pin has failed at least twice (its backoff is 0.25 s, then 0.5 s)
    deadline = mt.T(5.0)
    t0 = time.monotonic()
    st = {}
    while time.monotonic() - t0 < deadline:
        st = wrong.stats()
        if int(st.get("handshakes_failed", 0)) >= 2:
            break
        time.sleep(0.1)  # polling a counter; the outcome is checked below, not timed
    check(int(st.get("handshakes_failed", 0)) >= 2,
          "wrong-pin: %r handshakes failed in %.1fs, expected 2 or more" % (
              st.get("handshakes_failed"), deadline))
    check(not wrong.select(lambda ev: ev.get("event") == "enter"),
          "wrong-pin linked with someone: %s" % wrong.summary())
    check(not b.select(lambda ev: ev.get("event") == "enter" and ev.get("peer") == wrong.id),
          "pinned: linked with wrong-pin: %s" % b.summary())
    for n in (b, other, wrong, right):
        n.quit_cleanly()


def test_fixed_peer_also_discovered(ctx):
    """A fixed peer that multicast reaches too: one session, no churn between the two ways."""
    b = Node(ctx, "both-ways")
    a = Node(ctx, "dialler", extra=["--peer", "127.0.0.1:%d" % port_of(b)])
    linked_both_ways(a, b)
    mark_a, mark_b = a.mark(), b.mark()
    # a few heartbeats and beacon intervals: nothing more may happen between them
    time.sleep(mt.T(2.0))  # a quiet interval whose events are checked to be none
    for n, m, o in ((a, mark_a, b), (b, mark_b, a)):
        evs = n.select(lambda ev: ev.get("event") in ("enter", "exit") and ev.get("peer") == o.id,
                       start=m)
        check(not evs, "%s: enter/exit for %s after the link: %s" % (n.name, o.name, evs))
    mt.check_one_session_per_pair([a, b])
    for n in (a, b):
        n.quit_cleanly()


def test_peer_command(ctx):
    """/peer adds a fixed peer to a running node, with a JSON reply; a bad one is an error."""
    b = apart(ctx, "listener")
    a = apart(ctx, "commander")
    addr = "127.0.0.1:%d" % port_of(b)
    ev = a.command("/peer %s" % addr, "peer_added")
    check(ev.get("address") == addr, "commander: /peer replied %s" % mt.describe(ev))
    linked_both_ways(a, b)
    start = a.mark()
    a.send("/peer 127.0.0.1")
    ev = a.wait_event("error", timeout=5.0, start=start)
    check("HOST:PORT" in str(ev.get("message")), "commander: /peer without a port: %s"
          % mt.describe(ev))
    for n in (a, b):
        n.quit_cleanly()


def test_bad_peer_arguments(ctx):
    """Refused before anything starts, with the reason (exit status 2)."""
    bad = {
        "127.0.0.1": "is not HOST:PORT",
        "127.0.0.1:0": "port must be a number",
        "127.0.0.1:70000": "port must be a number",
        "::1:5000": "write an IPv6 address in brackets",
        "[::1]5000": "is not [IPV6]:PORT",
        "[::1:5000": "is not [IPV6]:PORT",
        "[]:5000": "is not HOST:PORT",
        "[10.0.0.1]:5000": "is not an IPv6 address",
        "[fe80::1]:5000": "a link-local address needs its interface",
        "[fe80::1%nosuch0]:5000": "is not an IPv6 address",
        "[ff02::1]:5000": "not an address a peer can have",
        "[::]:5000": "not an address a peer can have",
        "abc@127.0.0.1:5000": "is not a node ID",
        "224.0.0.1:5000": "not an address a peer can have",
        "127.1:5000": "not an IPv4 address",
        "2130706433:5000": "not an IPv4 address",
        "no-such-host.invalid:5000": "cannot resolve",
    }
    for arg, why in bad.items():
        r = ctx.run([ctx.binary, "--json", "--iface", "lo", "--identity",
                     ctx.path("bad.id"), "--peer", arg], timeout=10.0, text=True)
        check(r.returncode == 2 and why in r.stderr,
              "--peer %s: exit %d, stderr %r (expected 2 and %r)" % (arg, r.returncode,
                                                                     r.stderr.strip(), why))
    # --iface is repeatable now (docs/usage.md, "Interfaces"), within bounds; when none of
    # those named exists the node does not start
    too_many = []
    for i in range(17):
        too_many += ["--iface", "eth%d" % i]
    bad_ifaces = {
        ("--iface", ""): (2, "--iface must not be empty"),
        ("--iface-deny", ""): (2, "--iface-deny must not be empty"),
        tuple(too_many): (2, "at most 16 --iface options"),
        ("--iface", "nosuch0", "--iface", "nosuch1"): (1, "no interface 'nosuch0'"),
        ("--iface", "lo", "--iface-deny", "lo"): (1, "no interface"),
    }
    for args, (code, why) in bad_ifaces.items():
        r = ctx.run([ctx.binary, "--json", "--identity", ctx.path("bad.id")] + list(args),
                    timeout=10.0, text=True)
        check(r.returncode == code and why in r.stderr,
              "%s: exit %d, stderr %r (expected %d and %r)" % (" ".join(args)[:60],
                                                               r.returncode, r.stderr.strip(),
                                                               code, why))


if __name__ == "__main__":
    mt.run([test_fixed_peer_links_and_talks, test_pinned_fixed_peer,
            test_fixed_peer_also_discovered, test_peer_command, test_bad_peer_arguments])
