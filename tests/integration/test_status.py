#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""/status in --json mode (docs/usage.md, "Status"), between four real nodes: after shouts and
whispers, each node's count of messages sent to and received from each peer is what was sent,
bytes moved both ways, a round trip was timed and is plausible, and nothing is queued at rest.

Run: tests/integration/netns-run python3 test_status.py [MESHNODE]
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import check, start_nodes, wait_mesh  # noqa: E402

FIELDS = ("peer", "name", "endpoint", "sid", "initiator", "session_age_ms", "handshake_age_ms",
          "last_rx_age_ms", "rtt_samples", "tx_bytes", "rx_bytes", "tx_msgs", "rx_msgs",
          "queued_msgs", "queued_bytes", "unacked_msgs", "rekeys")


def status(node):
    ev = node.command("/status", "status")
    for k in ("uptime_ms", "peer_count", "sessions", "tx_bytes", "rx_bytes", "tx_msgs",
              "rx_msgs"):
        check(isinstance(ev.get(k), int), "%s: /status has no %s: %s" % (node.name, k,
                                                                        mt.describe(ev)))
    check(isinstance(ev.get("peers"), list), "%s: /status has no peers list" % node.name)
    for p in ev["peers"]:
        for k in FIELDS:
            check(k in p, "%s: /status peer %s has no %s" % (node.name, p.get("name"), k))
    return ev


def by_peer(ev):
    return {p["peer"]: p for p in ev["peers"]}


def test_status_counts(ctx):
    a, b, c, d = nodes = start_nodes(ctx, ["st-a", "st-b", "st-c", "st-d"], groups=["team"])
    wait_mesh(nodes, timeout=10.0)
    for n in nodes:
        for o in nodes:
            if o is not n:
                n.wait_event("join", o, timeout=5.0, group="team")
    # what is sent: a -> team 3 shouts; a -> b 2 whispers; c -> a 1 whisper
    sent = {(x, y): 0 for x in nodes for y in nodes if x is not y}
    marks = {n: n.mark() for n in nodes}
    for i in range(3):
        a.shout("team", "status-shout-%d" % i)
        for o in (b, c, d):
            sent[(a, o)] += 1
    for i in range(2):
        a.whisper(b, "status-whisper-%d" % i)
    sent[(a, b)] += 2
    c.whisper(a, "status-back")
    sent[(c, a)] += 1
    for (x, y), k in sent.items():
        if k:
            y.collect(lambda e, x=x: e.get("event") in ("shout", "whisper")
                      and e.get("peer") == x.id, k, 10.0, marks[y],
                      "%s's %d messages at %s" % (x.name, k, y.name))

    # at rest: every message sent and acknowledged; polled with a deadline, not a sleep
    for n in nodes:
        deadline = time.monotonic() + mt.T(10.0)
        while True:
            ev = status(n)
            if all(p["queued_msgs"] == 0 and p["unacked_msgs"] == 0 for p in ev["peers"]):
                break
            check(time.monotonic() < deadline, "%s: still sending at rest: %s"
                  % (n.name, mt.describe(ev)))
            time.sleep(0.05)

    for n in nodes:
        ev = status(n)
        check(ev["peer_count"] == 3, "%s: peer_count %s" % (n.name, ev["peer_count"]))
        ps = by_peer(ev)
        check(len(ps) == 3, "%s: /status lists %d peers" % (n.name, len(ps)))
        tx = rx = 0
        for o in nodes:
            if o is n:
                continue
            p = ps.get(o.id)
            check(p is not None, "%s: /status lacks %s" % (n.name, o.name))
            check(p["name"] == o.name, "%s: /status names %s %r" % (n.name, o.name, p["name"]))
            check(p["tx_msgs"] == sent[(n, o)], "%s: %d messages sent to %s, /status says %d"
                  % (n.name, sent[(n, o)], o.name, p["tx_msgs"]))
            check(p["rx_msgs"] == sent[(o, n)], "%s: %d messages from %s, /status says %d"
                  % (n.name, sent[(o, n)], o.name, p["rx_msgs"]))
            # ACCEPT and the JOINs go under the session's keys both ways
            check(p["tx_bytes"] > 0 and p["rx_bytes"] > 0, "%s: no bytes with %s: %s"
                  % (n.name, o.name, p))
            check(p["rtt_samples"] >= 1 and "rtt_ms" in p and "rtt_last_ms" in p,
                  "%s: no round trip timed with %s" % (n.name, o.name))
            check(0 <= p["rtt_ms"] < 2000 and 0 <= p["rtt_last_ms"] < 2000,
                  "%s: implausible round trip with %s: %s ms" % (n.name, o.name, p["rtt_ms"]))
            check(p["queued_msgs"] == 0 and p["queued_bytes"] == 0,
                  "%s: queued at rest for %s: %s" % (n.name, o.name, p))
            check(p["handshake_age_ms"] <= p["session_age_ms"] and
                  p["last_rx_age_ms"] <= p["session_age_ms"], "%s: ages with %s out of order: %s"
                  % (n.name, o.name, p))
            tx += sent[(n, o)]
            rx += sent[(o, n)]
        # totals count every session since the start: at least the live ones
        check(ev["tx_msgs"] >= tx and ev["rx_msgs"] >= rx, "%s: totals %d/%d below %d/%d"
              % (n.name, ev["tx_msgs"], ev["rx_msgs"], tx, rx))
        check(ev["uptime_ms"] > 0 and ev["sessions"] >= 3, "%s: totals %s" % (n.name, ev))
    for n in nodes:
        n.quit_cleanly()


if __name__ == "__main__":
    mt.run([test_status_counts])
