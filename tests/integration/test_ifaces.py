#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""Nodes on several interfaces (docs/usage.md, "Interfaces"). Two segments, each a bridge,
inside the private namespace netns-run made; hosts are namespaces with one veth per segment
they are on. No router joins the segments: only a host on both reaches both.

- a host on both segments, started without --iface, beacons and listens on both, and links
  with a node on each; two hosts that are both on both segments hear each other twice and
  keep exactly one session, never taking the second address for a move;
- interfaces that change while the node runs: an interface that comes up is used within a
  rescan, a flap keeps the link and loses no message, and an address change moves the node's
  links to its new address, every message accounted.

Run: tests/integration/netns-run python3 test_ifaces.py [MESHNODE]
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, fail, wait_mesh  # noqa: E402

TIMERS = {"beacon-interval": 200, "heartbeat": 200, "evasive": 1000, "expired": 3000}
RESCAN_S = 2.0          # IFACES_RESCAN_MS in mesh/mesh_impl.h


def ip(*args):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        fail("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


class Segments:
    """Bridges if-<pid>-<s> for segments 0 and 1 (10.78.<s>.0/24) and host namespaces, each
    with a veth into the segments it is given. Everything is deleted by close()."""

    def __init__(self):
        mt.require_netns()
        self.tag = "%d" % (os.getpid() % 100000)
        self.bridges = []
        self.ns = []
        self.host_devs = []
        for s in range(2):
            br = "ifbr%s%d" % (self.tag, s)
            ip("link", "add", br, "type", "bridge", "mcast_snooping", "0", "stp_state", "0",
               "forward_delay", "0")
            self.bridges.append(br)
            ip("link", "set", br, "multicast", "on", "up")

    def host(self, name, addrs, up=True, ipv6=False):
        """A namespace with a veth v<s> into segment s at 10.78.s.<addrs[s]>, for each s in
        addrs (a dict); the veth is left down when up is False. IPv6 is off on the veths
        unless ipv6 (test_ipv6.py): the IPv4 cases here are not to change as link-local
        addresses come and the node beacons from them too. Returns the namespace."""
        ns = "if-%s-%s" % (self.tag, name)
        ip("netns", "add", ns)
        self.ns.append(ns)
        ip("-n", ns, "link", "set", "lo", "up")
        for s, last in addrs.items():
            dev, hdev = "v%d" % s, "h%s%s%d" % (self.tag, name, s)
            ip("link", "add", hdev, "type", "veth", "peer", "name", dev)
            self.host_devs.append(hdev)
            ip("link", "set", dev, "netns", ns)
            ip("link", "set", hdev, "master", self.bridges[s])
            ip("link", "set", hdev, "multicast", "on", "up")
            ip("-n", ns, "addr", "add", "10.78.%d.%d/24" % (s, last), "dev", dev)
            ip("-n", ns, "link", "set", dev, "multicast", "on")
            if not ipv6:
                ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % dev)
            if up:
                self.up(ns, s)
        return ns

    def up(self, ns, s):
        dev = "v%d" % s
        ip("-n", ns, "link", "set", dev, "up")
        # beacons leave by the route of 224.0.0.0/4 only when the socket names no interface;
        # ours name theirs (IP_MULTICAST_IF), so no route is needed. Wait for the carrier.
        deadline = time.monotonic() + mt.T(10)
        while "state UP" not in ip("-n", ns, "-o", "link", "show", dev):
            if time.monotonic() > deadline:
                fail("%s %s not up" % (ns, dev))
            time.sleep(0.05)  # polling link state, not synchronising the test

    def down(self, ns, s):
        ip("-n", ns, "link", "set", "v%d" % s, "down")

    def readdr(self, ns, s, old, new):
        # as a DHCP client does; the other order would take the new one with the old, which
        # it is a secondary address of (promote_secondaries is off by default)
        ip("-n", ns, "addr", "del", "10.78.%d.%d/24" % (s, old), "dev", "v%d" % s)
        ip("-n", ns, "addr", "add", "10.78.%d.%d/24" % (s, new), "dev", "v%d" % s)

    def prefix(self, ns):
        return ["ip", "netns", "exec", ns]

    def close(self):
        for ns in reversed(self.ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        for h in self.host_devs:
            subprocess.run(["ip", "link", "del", h], capture_output=True, timeout=10)
        for br in self.bridges:
            subprocess.run(["ip", "link", "del", br], capture_output=True, timeout=10)
        self.ns, self.host_devs, self.bridges = [], [], []


def segments(ctx):
    seg = Segments()
    ctx.lans.append(seg)       # closed with the context, whatever happens
    return seg


def node(ctx, seg, ns, name, iface=None, **kw):
    return Node(ctx, name, iface=iface, prefix=seg.prefix(ns), timers=TIMERS, **kw)


def live_sessions(n):
    return n.stats().get("sessions_live")


def test_two_segments(ctx):
    seg = segments(ctx)
    hb = seg.host("b", {0: 10, 1: 10})        # on both segments, default interfaces
    hz = seg.host("z", {0: 20, 1: 20})        # on both too
    hx = seg.host("x", {0: 1})                # segment 0 only
    hy = seg.host("y", {1: 1})                # segment 1 only
    b = node(ctx, seg, hb, "bridge", groups=["g"])
    z = node(ctx, seg, hz, "twice", groups=["g"])
    x = node(ctx, seg, hx, "left", "v0", groups=["g"])
    y = node(ctx, seg, hy, "right", "v1", groups=["g"])
    wait_mesh([b, z, x], timeout=10.0, others=None)
    wait_mesh([b, z, y], timeout=10.0, others=None)
    for n in (b, z):
        st = n.stats()
        check(st.get("sessions_live") == 3, "%s: %s live sessions, expected 3 (x, y and the "
              "other host on both)" % (n.name, st.get("sessions_live")))
    # x and y have no route to each other: each has its two peers on its segment
    for n in (x, y):
        check(live_sessions(n) == 2, "%s: %s live sessions, expected 2" % (n.name,
              live_sessions(n)))
    mt.check_one_session_per_pair([b, z, x, y], expected_peers={b: [z, x, y], z: [b, x, y],
                                                                 x: [b, z], y: [b, z]})
    # the two hosts on both segments hear each other at two addresses: one session, kept
    check_kept(b, z)
    # messages go both ways across the node on both segments
    marks = {n: n.mark() for n in (b, z, x, y)}
    mid = b.shout("g", "to-both-segments")
    for n in (z, x, y):
        ev = n.wait_event("shout", b, timeout=5.0, start=marks[n], group="g")
        check(ev.get("id") == mid, "%s: got %s" % (n.name, mt.describe(ev)))
    x.whisper(b, "from-left")
    y.whisper(b, "from-right")
    b.wait_event("whisper", x, timeout=5.0, start=marks[b], text="from-left")
    b.wait_event("whisper", y, timeout=5.0, start=marks[b], text="from-right")
    for n in (b, z, x, y):
        n.quit_cleanly()


def check_kept(*nodes):
    """Nodes that hear each other at several addresses keep their sessions: over 10 beacon
    intervals once settled, no handshake, no EXIT, and at most 2 beacons checked and 2
    passed on by each (a beacon at another address taken for a move is checked, and passed
    on, each time it is heard)."""
    keys = ("handshakes_done", "beacons_verified", "pex_tx")
    time.sleep(5 * TIMERS["beacon-interval"] / 1000.0)   # peer exchange's first rounds end
    before = [[n.stats().get(k) for k in keys] for n in nodes]
    mark = [n.mark() for n in nodes]
    time.sleep(10 * TIMERS["beacon-interval"] / 1000.0)  # 10 beacons on each interface
    after = [[n.stats().get(k) for k in keys] for n in nodes]
    for n, b0, a0 in zip(nodes, before, after):
        print("  %s over 10 beacon intervals: %s" % (n.name, ", ".join(
            "%s +%d" % (k, a - o) for k, o, a in zip(keys, b0, a0))))
        check(a0[0] == b0[0], "%s: handshakes went on: %s" % (n.name, a0[0] - b0[0]))
        check(a0[1] - b0[1] <= 2, "%s: %d beacons checked: another address of a peer taken "
              "for moves" % (n.name, a0[1] - b0[1]))
        check(a0[2] - b0[2] <= 2, "%s: %d beacons passed on meanwhile" % (n.name,
                                                                          a0[2] - b0[2]))
    for n, m0 in zip(nodes, mark):
        gone = n.select(lambda e: e.get("event") == "exit", m0)
        check(not gone, "%s: EXIT while nothing changed: %s" % (n.name, gone[:2]))


def wait_linked(a, b, timeout, start=0):
    """Waits until a has a live session with b (its ENTER after start)."""
    a.wait_event("enter", b, timeout=timeout, start=start)


def account(sender, receiver, ids, texts, start_r, start_s, timeout):
    """Every message sent is delivered exactly once and in order, or reported DROPPED to its
    sender: nothing else."""
    deadline = time.monotonic() + mt.T(timeout)
    while True:
        got = [e for e in receiver.select(lambda e: e.get("event") == "whisper", start_r)
               if e.get("peer") == sender.id]
        dropped = {e.get("id") for e in sender.select(lambda e: e.get("event") == "dropped",
                                                      start_s)}
        seen = [e.get("text") for e in got]
        if len(seen) + len(dropped & set(ids)) >= len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # polling the event lists the reader threads fill
    check(len(seen) == len(set(seen)), "delivered twice: %s"
          % [t for t in seen if seen.count(t) > 1][:3])
    order = [texts.index(t) for t in seen if t in texts]
    check(order == sorted(order), "delivered out of order: %s" % order[:20])
    delivered = set(seen)
    lost = [t for i, t in zip(ids, texts) if t not in delivered and i not in dropped]
    check(not lost, "%d messages neither delivered nor reported: %s" % (len(lost), lost[:5]))
    return len(delivered), len(dropped & set(ids))


def test_interfaces_change(ctx):
    seg = segments(ctx)
    hb = seg.host("b", {0: 10, 1: 10}, up=False)     # both interfaces down at first
    hx = seg.host("x", {0: 1})
    hy = seg.host("y", {1: 1})
    seg.up(hb, 0)
    b = node(ctx, seg, hb, "roamer")
    x = node(ctx, seg, hx, "left", "v0")
    y = node(ctx, seg, hy, "right", "v1")
    wait_mesh([b, x], timeout=10.0, others=None)
    # an interface that comes up is beaconed on at the next rescan, and y links
    t0 = time.monotonic()
    mark_y = y.mark()
    seg.up(hb, 1)
    wait_linked(y, b, timeout=RESCAN_S + 5.0, start=mark_y)
    print("  interface up: linked over it %.2fs later (rescan every %.0fs)"
          % (time.monotonic() - t0, RESCAN_S))
    # a flap of 0.5 s, shorter than evasive: the link stays, and what was sent meanwhile
    # arrives once, in order
    mark_x, mark_b = x.mark(), b.mark()
    seg.down(hb, 0)
    texts = ["flap-%03d" % i for i in range(20)]
    ids = [x.whisper(b, t) for t in texts]
    time.sleep(0.5)  # the length of the flap itself
    seg.up(hb, 0)
    got, dropped = account(x, b, ids, texts, mark_b, mark_x, timeout=15.0)
    print("  flap: %d delivered, %d reported dropped, of %d" % (got, dropped, len(texts)))
    check(got == len(texts), "a flap shorter than evasive lost messages: %d of %d delivered"
          % (got, len(texts)))
    exits = b.select(lambda e: e.get("event") == "exit" and e.get("peer") == x.id, mark_b)
    check(not exits, "the link through the flapped interface was dropped: %s" % exits[:1])
    # an address change: x relinks to the new address; every message accounted
    mark_x, mark_b = x.mark(), b.mark()
    t0 = time.monotonic()
    seg.readdr(hb, 0, 10, 11)
    texts = ["move-%03d" % i for i in range(20)]
    ids = []
    for t in texts:
        ids.append(x.whisper(b, t))
        time.sleep(0.1)  # spread over 2 s: before, during and after the rescan sees it
    got, dropped = account(x, b, ids, texts, mark_b, mark_x, timeout=30.0)
    print("  address change: %d delivered, %d reported dropped, of %d" % (got, dropped,
                                                                          len(texts)))
    deadline = time.monotonic() + mt.T(15.0)
    while True:
        ps = [p for p in x.peers() if p.get("peer") == b.id]
        if ps and str(ps[0].get("endpoint", "")).startswith("10.78.0.11:"):
            break
        check(time.monotonic() < deadline, "x never linked to b's new address: %s" % ps)
        time.sleep(0.2)  # polling /peers
    print("  address change: x linked to the new address %.2fs after it" %
          (time.monotonic() - t0))
    mark_b = b.mark()
    x.whisper(b, "after-the-move")
    b.wait_event("whisper", x, timeout=5.0, start=mark_b, text="after-the-move")
    for n in (b, x, y):
        n.quit_cleanly()


if __name__ == "__main__":
    mt.run([test_two_segments, test_interfaces_change])
