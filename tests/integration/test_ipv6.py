#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""IPv6 (docs/usage.md, "IPv6"; protocol.md section 2, "IPv6"). Segments are bridges inside
the private namespace netns-run made, hosts namespaces with a veth into one (test_ifaces.py's
Segments): IPv6 multicast does not work on lo, so every node here is on a veth.

- nodes with only an IPv6 unique-local address beacon to ff02::7d7e from it, link over IPv6
  TCP, and carry a shout and a whisper; peers show as [fd78::N]:PORT;
- nodes with only link-local addresses link too, each dialling the other at the interface
  the beacon came in on ([fe80::...%v0]:PORT);
- a mixed segment: an IPv4-only node, a dual-stack one and an IPv6-only one. The dual-stack
  node links with both over one session each (heard at two addresses, it is one peer); the
  two single-family nodes never link, and the IPv4-only one does not dial the IPv6 beacon its
  peer passes it (pex_unreachable);
- two dual-stack hosts both on both segments (four addresses each) keep one session, and
  take none of the other addresses for a move;
- a dual-stack segment and an IPv6-only one joined by a routing host: the IPv6-only node is
  passed the dual-stack node's IPv6 beacon, which it can dial, never its IPv4 one;
- an address still tentative (duplicate address detection) when the node starts is waited
  for, not bound or sent from, and used at the next rescan;
- a fixed peer named [fd78::1]:PORT is dialled over IPv6 when multicast cannot reach it;
- an IPv6 address change (fd78::2 to fd78::12, deleted then added, as DHCP does) moves the
  node's link to its new address, every message accounted.

Run: tests/integration/netns-run python3 test_ipv6.py [MESHNODE]
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import check, fail, wait_mesh  # noqa: E402
import test_ifaces as ti  # noqa: E402

TIMERS = ti.TIMERS
ULA = "fd78::%d"


def v6_host(seg, name, last, v4=False, ula=True):
    """A host on segment 0 with the ULA fd78::last (if ula), its link-local address, and
    10.78.0.last only if v4. No duplicate address detection: the addresses are usable at once."""
    ns = seg.host(name, {0: last}, up=False, ipv6=True)
    if not v4:
        ti.ip("-n", ns, "addr", "flush", "dev", "v0")
    # a link-local address that is not tentative: the kernel makes it when the link comes up
    ti.ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.v0.accept_dad=0")
    if ula:
        ti.ip("-n", ns, "addr", "add", ULA % last + "/64", "dev", "v0", "nodad")
    seg.up(ns, 0)
    wait_v6(ns, ula)
    return ns


def v4_host(seg, name, last):
    """A host on segment 0 with 10.78.0.last and no IPv6 at all (not even link-local, which
    any host with IPv6 on gets, and which a node uses)."""
    return seg.host(name, {0: last})            # IPv6 off (test_ifaces.Segments)


def wait_v6(ns, ula):
    """Until v0 has a usable link-local address (and the ULA): no tentative one left."""
    deadline = time.monotonic() + mt.T(10)
    while True:
        out = ti.ip("-n", ns, "-6", "-o", "addr", "show", "dev", "v0")
        if "scope link" in out and "tentative" not in out and (not ula or "fd78::" in out):
            return
        if time.monotonic() > deadline:
            fail("%s: no usable IPv6 address on v0: %s" % (ns, out.strip()))
        time.sleep(0.05)  # polling address state, not synchronising the test


def node(ctx, seg, ns, name, **kw):
    # no --iface: the node's own choice of interfaces and addresses is what is tested
    return ti.node(ctx, seg, ns, name, None, **kw)


def peer_entry(n, other):
    for p in n.peers():
        if p.get("peer") == other.id:
            return p
    return None


def test_ula_only(ctx):
    seg = ti.segments(ctx)
    a = node(ctx, seg, v6_host(seg, "a", 1), "a6", groups=["g"])
    b = node(ctx, seg, v6_host(seg, "b", 2), "b6", groups=["g"])
    wait_mesh([a, b], timeout=10.0, others=None)
    for n, o, last in ((a, b, 2), (b, a, 1)):
        p = peer_entry(n, o)
        check(p is not None and p.get("endpoint", "").startswith("[fd78::%d]:" % last),
              "%s sees %s at %s, expected [fd78::%d]:PORT" % (n.name, o.name,
                                                              p and p.get("endpoint"), last))
    marks = {n: n.mark() for n in (a, b)}
    mid = a.shout("g", "over-ipv6")
    ev = b.wait_event("shout", a, timeout=5.0, start=marks[b], group="g")
    check(ev.get("id") == mid and ev.get("text") == "over-ipv6", "shout: %s" % mt.describe(ev))
    b.whisper(a, "back-over-ipv6")
    a.wait_event("whisper", b, timeout=5.0, start=marks[a], text="back-over-ipv6")
    for n in (a, b):
        live = n.stats().get("sessions_live")
        check(live == 1, "%s: %s live sessions, expected 1" % (n.name, live))
    for n in (a, b):
        n.quit_cleanly()


def test_link_local_only(ctx):
    seg = ti.segments(ctx)
    a = node(ctx, seg, v6_host(seg, "a", 1, ula=False), "a-ll", groups=["g"])
    b = node(ctx, seg, v6_host(seg, "b", 2, ula=False), "b-ll", groups=["g"])
    wait_mesh([a, b], timeout=10.0, others=None)
    for n, o in ((a, b), (b, a)):
        ep = (peer_entry(n, o) or {}).get("endpoint", "")
        check(ep.startswith("[fe80::") and "%v0]:" in ep,
              "%s sees %s at %r: expected a link-local address with its interface, "
              "[fe80::...%%v0]:PORT" % (n.name, o.name, ep))
    m = b.mark()
    a.whisper(b, "link-local")
    b.wait_event("whisper", a, timeout=5.0, start=m, text="link-local")
    for n in (a, b):
        n.quit_cleanly()


def test_mixed_families(ctx):
    seg = ti.segments(ctx)
    x = node(ctx, seg, v4_host(seg, "x", 1), "v4only", groups=["g"])
    y = node(ctx, seg, v6_host(seg, "y", 2, v4=True), "dual", groups=["g"])
    z = node(ctx, seg, v6_host(seg, "z", 3), "v6only", groups=["g"])
    wait_mesh([x, y], timeout=10.0, others=None)
    wait_mesh([y, z], timeout=10.0, others=None)
    # over 10 beacon intervals: the dual-stack node is one peer to each, with one session,
    # and x and z never link (no family in common)
    time.sleep(10 * TIMERS["beacon-interval"] / 1000.0)
    check(y.stats().get("sessions_live") == 2, "dual: %s live sessions, expected 2"
          % y.stats().get("sessions_live"))
    for n in (x, z):
        check(n.stats().get("sessions_live") == 1, "%s: %s live sessions, expected 1 (dual)"
              % (n.name, n.stats().get("sessions_live")))
    mt.check_one_session_per_pair([x, y, z], expected_peers={x: [y], y: [x, z], z: [y]})
    ep_x, ep_z = peer_entry(y, x).get("endpoint"), peer_entry(y, z).get("endpoint")
    check(ep_x.startswith("10.78.0.1:"), "dual sees v4only at %s" % ep_x)
    check(ep_z.startswith("[fd78::3]:"), "dual sees v6only at %s" % ep_z)
    # y passes z's beacon to x (z's is heard on y's segment, but x is not heard there over
    # IPv6): x has no IPv6 address and does not dial it
    sx = x.stats()
    print("  v4only: pex_unreachable %s, handshakes_failed %s" % (sx.get("pex_unreachable"),
                                                                 sx.get("handshakes_failed")))
    check(sx.get("handshakes_failed", 0) == 0, "v4only: failed handshakes %s"
          % sx.get("handshakes_failed"))
    check(sx.get("pex_unreachable", 0) >= 1, "v4only: v6only's beacon not passed to it, or "
          "not counted as unreachable: %s" % sx.get("pex_unreachable"))
    marks = {n: n.mark() for n in (x, y, z)}
    mid = y.shout("g", "to-both-families")
    for n in (x, z):
        ev = n.wait_event("shout", y, timeout=5.0, start=marks[n], group="g")
        check(ev.get("id") == mid, "%s: got %s" % (n.name, mt.describe(ev)))
    x.whisper(y, "from-v4")
    z.whisper(y, "from-v6")
    y.wait_event("whisper", x, timeout=5.0, start=marks[y], text="from-v4")
    y.wait_event("whisper", z, timeout=5.0, start=marks[y], text="from-v6")
    for n in (x, y, z):
        n.quit_cleanly()


def test_dual_stack_two_segments(ctx):
    """Two dual-stack hosts both on both segments hear each other at four addresses: one
    peer, one session, kept; none of the other three taken for a move (each would be a
    signature check, a dial, and a beacon passed on)."""
    seg = ti.segments(ctx)
    hosts = []
    for name, last in (("b", 10), ("z", 20)):
        ns = seg.host(name, {0: last, 1: last}, up=False, ipv6=True)
        for s_ in (0, 1):
            ti.ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.v%d.accept_dad=0" % s_)
            ti.ip("-n", ns, "addr", "add", "fd78:%d::%d/64" % (s_, last), "dev", "v%d" % s_,
                  "nodad")
            seg.up(ns, s_)
        hosts.append(ns)
    b = node(ctx, seg, hosts[0], "both-b")
    z = node(ctx, seg, hosts[1], "both-z")
    wait_mesh([b, z], timeout=10.0, others=None)
    ti.check_kept(b, z)
    for n in (b, z):
        check(n.stats().get("sessions_live") == 1, "%s: not one live session" % n.name)
    for n in (b, z):
        n.quit_cleanly()


def test_pex_across_families(ctx):
    """A dual-stack segment and an IPv6-only one, joined by a host on both that routes IPv6
    between them: the node there passes the dual-stack node's IPv6 beacon, not its IPv4 one,
    to the IPv6-only node, which can dial only that (protocol.md section 2, peer exchange)."""
    seg = ti.segments(ctx)
    hb = seg.host("b", {0: 10, 1: 10}, up=False, ipv6=True)
    ti.ip("netns", "exec", hb, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
    ti.ip("-n", hb, "addr", "flush", "dev", "v1")                  # IPv6 only on segment 1
    for s_ in (0, 1):
        ti.ip("netns", "exec", hb, "sysctl", "-qw", "net.ipv6.conf.v%d.accept_dad=0" % s_)
        ti.ip("-n", hb, "addr", "add", "fd78:%d::10/64" % s_, "dev", "v%d" % s_, "nodad")
        seg.up(hb, s_)
    hx = seg.host("x", {0: 1}, up=False, ipv6=True)                # dual-stack, segment 0
    ti.ip("netns", "exec", hx, "sysctl", "-qw", "net.ipv6.conf.v0.accept_dad=0")
    ti.ip("-n", hx, "addr", "add", "fd78:0::1/64", "dev", "v0", "nodad")
    seg.up(hx, 0)
    hy = seg.host("y", {1: 2}, up=False, ipv6=True)                # IPv6 only, segment 1
    ti.ip("-n", hy, "addr", "flush", "dev", "v1")
    ti.ip("netns", "exec", hy, "sysctl", "-qw", "net.ipv6.conf.v1.accept_dad=0")
    ti.ip("-n", hy, "addr", "add", "fd78:1::2/64", "dev", "v1", "nodad")
    seg.up(hy, 1)
    ti.ip("-n", hx, "-6", "route", "add", "fd78:1::/64", "via", "fd78:0::10")
    ti.ip("-n", hy, "-6", "route", "add", "fd78:0::/64", "via", "fd78:1::10")
    b = node(ctx, seg, hb, "joins")
    x = node(ctx, seg, hx, "dual")
    y = node(ctx, seg, hy, "v6only")
    wait_mesh([b, x, y], timeout=10.0, others=None)
    ep = (peer_entry(y, x) or {}).get("endpoint", "")
    check(ep.startswith("[fd78::1]:"), "v6only sees dual at %r" % ep)
    sy = y.stats()
    print("  v6only: pex_taken %s, pex_unreachable %s" % (sy.get("pex_taken"),
                                                          sy.get("pex_unreachable")))
    check(sy.get("pex_taken", 0) >= 1, "v6only took no passed-on beacon: %s" % sy)
    check(sy.get("pex_unreachable", 0) == 0, "v6only was passed dual's IPv4 beacon, which it "
          "cannot dial (%s times)" % sy.get("pex_unreachable"))
    for n in (b, x, y):
        n.quit_cleanly()


def test_tentative(ctx):
    """An address still in duplicate address detection when the node starts (as after
    boot or a new interface) cannot be bound or sent from: the node waits for it, quietly,
    and uses it at the next rescan."""
    seg = ti.segments(ctx)
    a = node(ctx, seg, v6_host(seg, "a", 1), "ready")
    # IPv4 too, or the node would find no usable address at all at its start, and exit
    hb = seg.host("b", {0: 2}, up=False, ipv6=True)
    ti.ip("-n", hb, "addr", "add", ULA % 2 + "/64", "dev", "v0")     # with DAD
    seg.up(hb, 0)
    b = node(ctx, seg, hb, "tentative")
    wait_mesh([a, b], timeout=10.0, others=None)
    # The two link over the link-local address, whose detection may end a rescan (2 s)
    # before the ULA's: the ULA is then taken at the next one. DAD ends within 2 s of the
    # link coming up, so two rescans and a margin are enough.
    deadline = time.monotonic() + mt.T(6)
    while True:
        with open(b.stderr_path, errors="replace") as f:
            log = f.read()
        if "beaconing on v0 (fd78::2)" in log or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # polling the node's log, not synchronising the test
    for bad in ("cannot send beacon", "cannot listen"):
        check(bad not in log, "tentative: %r in its log:\n%s" % (bad, log))
    check("beaconing on v0 (fd78::2)" in log, "tentative: never beaconed from fd78::2:\n%s" % log)
    for n in (a, b):
        n.quit_cleanly()


def test_fixed_peer_v6(ctx):
    seg = ti.segments(ctx)
    # different discovery ports: the two never hear each other's beacons
    a = node(ctx, seg, v6_host(seg, "a", 1), "fixed-a", groups=["g"], extra=["--port", "47100"],
             mcast_port=ctx.mcast_port)
    b = node(ctx, seg, v6_host(seg, "b", 2), "dialler", groups=["g"],
             extra=["--peer", "%s@[fd78::1]:47100" % a.id], mcast_port=ctx.new_port())
    wait_mesh([a, b], timeout=10.0, others=None)
    ep = (peer_entry(b, a) or {}).get("endpoint", "")
    check(ep == "[fd78::1]:47100", "dialler sees the fixed peer at %r" % ep)
    m = a.mark()
    b.whisper(a, "fixed-over-ipv6")
    a.wait_event("whisper", b, timeout=5.0, start=m, text="fixed-over-ipv6")
    for n in (a, b):
        n.quit_cleanly()


def test_address_change(ctx):
    seg = ti.segments(ctx)
    ha, hb = v6_host(seg, "a", 1), v6_host(seg, "b", 2)
    a = node(ctx, seg, ha, "stays")
    b = node(ctx, seg, hb, "moves")
    wait_mesh([a, b], timeout=10.0, others=None)
    start_a, start_b = a.mark(), b.mark()
    texts = ["v6-readdr-%03d" % i for i in range(20)]
    ids = []
    t0 = time.monotonic()
    for i, t in enumerate(texts):
        if i == 5:
            ti.ip("-n", hb, "addr", "del", ULA % 2 + "/64", "dev", "v0")
            ti.ip("-n", hb, "addr", "add", ULA % 12 + "/64", "dev", "v0", "nodad")
            t0 = time.monotonic()
        ids.append(b.whisper(a, t))
        time.sleep(0.1)  # pacing the sender over the change, not synchronising
    deadline = time.monotonic() + mt.T(15)
    while True:
        ep = (peer_entry(a, b) or {}).get("endpoint", "")
        if ep.startswith("[fd78::12]:"):
            break
        if time.monotonic() > deadline:
            fail("stays still sees moves at %r, not at fd78::12" % ep)
        time.sleep(0.1)  # polling the peer list, not synchronising the test
    print("  linked at the new address %.1f s after the change" % (time.monotonic() - t0))
    delivered, dropped = ti.account(b, a, ids, texts, start_a, start_b, timeout=20.0)
    print("  %d of %d delivered, %d reported dropped" % (delivered, len(texts), dropped))
    for n in (a, b):
        n.quit_cleanly()


if __name__ == "__main__":
    mt.run([test_ula_only, test_link_local_only, test_mixed_families,
            test_dual_stack_two_segments, test_pex_across_families, test_tentative,
            test_fixed_peer_v6, test_address_change])
