#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""Nodes on a small LAN: three network namespaces joined by veth pairs to a bridge (all
inside the private namespace netns-run made), one node per namespace, each on its own
address. This exercises multicast and TCP between hosts instead of over one loopback.

Run: tests/integration/netns-run python3 test_lan.py [MESHNODE]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, wait_mesh  # noqa: E402


def lan_nodes(ctx, lan, names, **kw):
    nodes = [Node(ctx, names[i], iface=lan.addrs[i], prefix=lan.prefix(i), wait_ready=False, **kw)
             for i in range(len(names))]
    for n in nodes:
        n.wait_ready()
    return nodes


def test_three_hosts_discover(ctx):
    lan = ctx.lan(3)
    nodes = lan_nodes(ctx, lan, ["host-one", "host-two", "host-three"], groups=["lan"])
    for i, n in enumerate(nodes):
        check(n.endpoint.startswith("tcp://%s:" % lan.addrs[i]),
              "%s: bound to %s, expected an endpoint on %s" % (n.name, n.endpoint, lan.addrs[i]))
    t_ready = max(n.ready_event["_t"] for n in nodes)
    last = wait_mesh(nodes, timeout=5.0)
    check(last - t_ready <= mt.T(5.0), "LAN mesh took %.2fs after the last ready (> 5s)"
          % (last - t_ready))
    print("  LAN discovery: all 6 enters %.3fs after the 3rd node was ready"
          % max(0.0, last - t_ready))
    for n in nodes:
        for j, o in enumerate(nodes):
            if o is n:
                continue
            ev = n.wait_event("enter", o, 0)
            check(str(ev.get("endpoint")).startswith(lan.addrs[j] + ":"),
                  "%s: enter for %s with endpoint %r, expected %s:PORT"
                  % (n.name, o.name, ev.get("endpoint"), lan.addrs[j]))
    mt.check_one_session_per_pair(nodes)
    # Messages cross hosts too.
    mark = {n: n.mark() for n in nodes}
    msg_id = nodes[0].shout("lan", "across-the-bridge")
    for n in nodes[1:]:
        ev = n.wait_event("shout", nodes[0], timeout=5.0, start=mark[n], group="lan")
        check(ev.get("text") == "across-the-bridge" and ev.get("id") == msg_id,
              "%s: got %s" % (n.name, mt.describe(ev)))
    for n in nodes:
        n.quit_cleanly()


if __name__ == "__main__":
    mt.run([test_three_hosts_discover])
