#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""Discovery, sessions and liveness between real meshnode processes on lo.

Run: tests/integration/netns-run python3 test_discovery.py [MESHNODE]
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, start_nodes, wait_mesh  # noqa: E402

# Expiry must happen: the expiry timeout plus a margin for the heartbeat/timer granularity.
EXPIRY_MARGIN = 2.0


def peer_history(node, peer, start=0):
    """enter/exit events of node about peer, as a list of names."""
    return [e["event"] for e in node.select(
        lambda e: e.get("event") in ("enter", "exit") and e.get("peer") == peer.id, start)]


def test_three_nodes_discover(ctx):
    nodes = start_nodes(ctx, ["alpha", "bravo", "charlie"])
    t_ready = max(n.ready_event["_t"] for n in nodes)
    last = wait_mesh(nodes, timeout=2.0)   # counted from now, and now is after t_ready
    check(last - t_ready <= mt.T(2.0), "full mesh took %.2fs after the last ready (> 2s)"
          % (last - t_ready))
    print("  discovery: all 6 enters %.3fs after the 3rd node was ready" % max(0.0, last - t_ready))
    # enter events carry the name and the endpoint the peer announced in its ready line.
    for n in nodes:
        for o in nodes:
            if o is n:
                continue
            ev = n.wait_event("enter", o, 0)
            check(ev.get("name") == o.name, "%s: enter for %s has name %r"
                  % (n.name, o.name, ev.get("name")))
            # The IP, at least, is known to both sides (the port may be the peer's ROUTER
            # port from its beacon, or unknown to a responder that has not yet seen one).
            peer_ip = o.endpoint[len("tcp://"):].rsplit(":", 1)[0]
            check(str(ev.get("endpoint")).rsplit(":", 1)[0] == peer_ip,
                  "%s: enter endpoint %r for %s, which is on %s"
                  % (n.name, ev.get("endpoint"), o.name, peer_ip))
            check(len(n.select(lambda e: e.get("event") == "enter" and e.get("peer") == o.id)) == 1,
                  "%s: more than one enter for %s" % (n.name, o.name))
    table = mt.check_one_session_per_pair(nodes)
    for (a, b), p in table.items():
        check(p.get("name") == ctx.names[b], "/peers of %s names %s %r"
              % (ctx.names[a], ctx.names[b], p.get("name")))
    for n in nodes:
        n.quit_cleanly()


def test_simultaneous_start_one_session_x20(ctx):
    reps = 20
    for rep in range(reps):
        sub = ctx.path("rep%02d" % rep)
        os.mkdir(sub)
        port = ctx.new_port()
        # Fresh identities each time, so the ID order (who initiates) varies.
        a = Node(ctx, "sim-a", identity=os.path.join(sub, "a.id"), mcast_port=port,
                 wait_ready=False)
        b = Node(ctx, "sim-b", identity=os.path.join(sub, "b.id"), mcast_port=port,
                 wait_ready=False)
        a.wait_ready()
        b.wait_ready()
        check(a.id != b.id, "rep %d: both nodes have the same id" % rep)
        wait_mesh([a, b], timeout=5.0)
        mt.check_one_session_per_pair([a, b])
        for n, o in ((a, b), (b, a)):
            hist = peer_history(n, o)
            check(hist == ["enter"], "rep %d: %s saw %s for %s (expected one enter)"
                  % (rep, n.name, hist, o.name))
        a.send("/quit")
        b.send("/quit")
        for n in (a, b):
            check(n.wait_exit() == 0, "rep %d: %s exit code %s" % (rep, n.name, n.rc))
    print("  %d simultaneous starts, one session per pair each time" % reps)


def test_late_starter_is_answered(ctx):
    """docs/protocol.md section 2, answers. A node that starts after the others' start-up
    bursts cannot have heard their beacons; with the lowest ID it is the one to dial them all.
    With a 10 s beacon interval (fallback 30 s) it used to wait 8 to 12 s for their next
    periodic beacons; now each of them answers its first beacon with an early one. The bound
    (3 s) is generous: it only tells an answer (milliseconds) from the next periodic beacon."""
    timers = dict(mt.FAST_TIMERS, **{"beacon-interval": 10000})
    made = []
    for i in range(4):
        path = ctx.path("late-id%d.id" % i)
        n = Node(ctx, "idgen%d" % i, identity=path, timers=timers, mcast_port=ctx.new_port())
        made.append((n.id, path))
        n.quit_cleanly()
    made.sort()                      # by node ID: made[0] is the lowest
    port = ctx.new_port()
    early = [Node(ctx, name, identity=path, timers=timers, mcast_port=port, wait_ready=False)
             for name, (_, path) in zip(("early-a", "early-b", "early-c"), made[1:])]
    for n in early:
        n.wait_ready()
    wait_mesh(early, timeout=5.0)
    # The start-up bursts end 350 ms after a node starts; after that each node beacons
    # only on its 10 s schedule.
    t_bursts_over = max(n.started_at for n in early) + 0.5
    while time.monotonic() < t_bursts_over:
        time.sleep(0.05)
    marks = {n: n.mark() for n in early}
    late = Node(ctx, "late", identity=made[0][1], timers=timers, mcast_port=port)
    t_ready = late.ready_event["_t"]
    last = wait_mesh([late], others=early, timeout=3.0)
    wait_mesh(early, others=[late], timeout=3.0, start=marks)
    check(all(p.get("initiator") is True for p in late.peers()),
          "the late node, lowest ID, did not initiate every session: %s" % late.peers())
    mt.check_one_session_per_pair(early + [late])
    print("  late starter with the lowest ID: linked to all %d others %.3fs after its ready "
          "(beacon interval 10 s)" % (len(early), max(0.0, last - t_ready)))
    for n in early + [late]:
        n.quit_cleanly()


def test_sigkill_expires_then_restart_reenters(ctx):
    a, b, c = start_nodes(ctx, ["kilo", "lima", "mike"])
    wait_mesh([a, b, c], timeout=5.0)
    expired_ms = mt.FAST_TIMERS["expired"]
    marks = {n: n.mark() for n in (a, b)}
    t_kill = time.monotonic()
    c.kill(signal.SIGKILL)
    limit = expired_ms / 1000.0 + EXPIRY_MARGIN
    for n in (a, b):
        ev = n.wait_event("exit", c, timeout=limit + 1.0, start=marks[n])
        dt = ev["_t"] - t_kill
        check(dt <= mt.T(limit), "%s: exit for killed peer after %.2fs (> %.1fs)"
              % (n.name, dt, limit))
        check(isinstance(ev.get("reason"), str) and ev["reason"],
              "%s: exit event without a reason: %s" % (n.name, mt.describe(ev)))
        print("  %s: exit for SIGKILLed %s after %.2fs (expired=%dms)"
              % (n.name, c.name, dt, expired_ms))
    for n in (a, b):
        check([p["peer"] for p in n.peers()] == [o.id for o in (a, b) if o is not n],
              "%s: killed peer still listed in /peers" % n.name)

    c2 = c.respawn()
    check(c2.id == c.id, "restart with the same identity file gave another id (%s vs %s)"
          % (mt.short(c2.id), mt.short(c.id)))
    for n in (a, b):
        n.wait_event("enter", c2, timeout=5.0, start=marks[n])
        hist = peer_history(n, c2)
        check(hist == ["enter", "exit", "enter"],
              "%s: events for %s were %s (expected enter, exit, enter)" % (n.name, c.name, hist))
    wait_mesh([c2], others=[a, b], timeout=5.0)
    mt.check_one_session_per_pair([a, b, c2])


def test_restart_before_expiry_replaces_session(ctx):
    # The old session cannot expire during the test: the restarted node (new incarnation)
    # must replace it (docs/protocol.md section 4, "Accept" case 2: EXIT then ENTER).
    a, b, c = start_nodes(ctx, ["november", "oscar", "papa"], timers=mt.SLOW_EXPIRY)
    wait_mesh([a, b, c], timeout=5.0)
    marks = {n: n.mark() for n in (a, b)}
    c.kill(signal.SIGKILL)
    c2 = c.respawn()
    check(c2.id == c.id, "restart with the same identity file gave another id")
    # Who initiates may be the restarted node only after its 3 s fallback.
    for n in (a, b):
        n.wait_event("enter", c2, timeout=8.0, start=marks[n])
        hist = peer_history(n, c2, marks[n])
        check(hist == ["exit", "enter"],
              "%s: after %s restarted: %s (expected exit, enter)" % (n.name, c.name, hist))
    wait_mesh([c2], others=[a, b], timeout=8.0)
    mt.check_one_session_per_pair([a, b, c2])


def test_quit_reports_exit_at_once(ctx):
    # With a 30 s expiry, only the BYE of a clean stop can make the others report exit soon.
    timers = dict(mt.FAST_TIMERS, evasive=20000, expired=30000)
    a, b, c = start_nodes(ctx, ["quebec", "romeo", "sierra"], timers=timers)
    wait_mesh([a, b, c], timeout=5.0)
    marks = {n: n.mark() for n in (a, b)}
    t_quit = time.monotonic()
    c.quit_cleanly()
    for n in (a, b):
        ev = n.wait_event("exit", c, timeout=5.0, start=marks[n])
        print("  %s: exit for %s %.3fs after /quit (expired=30000ms)"
              % (n.name, c.name, ev["_t"] - t_quit))
        check(not n.select(lambda e: e.get("event") == "evasive" and e.get("peer") == c.id,
                           marks[n]), "%s: reported a cleanly stopped peer evasive" % n.name)


def test_sigterm_and_stdin_eof_stop_cleanly(ctx):
    timers = dict(mt.FAST_TIMERS, evasive=20000, expired=30000)
    a, b, c = start_nodes(ctx, ["tango", "uniform", "victor"], timers=timers)
    wait_mesh([a, b, c], timeout=5.0)
    mark = a.mark()
    b.kill(signal.SIGTERM)
    check(b.wait_exit() == 0, "SIGTERM: exit code %s (expected 0)" % b.rc)
    check(b.events[-1].get("event") == "stopped", "SIGTERM: last line is not stopped")
    a.wait_event("exit", b, timeout=5.0, start=mark)
    c.proc.stdin.close()     # EOF on stdin in --json mode is a clean stop
    check(c.wait_exit() == 0, "stdin EOF: exit code %s (expected 0)" % c.rc)
    check(c.events[-1].get("event") == "stopped", "stdin EOF: last line is not stopped")
    a.wait_event("exit", c, timeout=5.0, start=mark)


if __name__ == "__main__":
    mt.run([
        test_three_nodes_discover,
        test_simultaneous_start_one_session_x20,
        test_late_starter_is_answered,
        test_sigkill_expires_then_restart_reenters,
        test_restart_before_expiry_replaces_session,
        test_quit_reports_exit_at_once,
        test_sigterm_and_stdin_eof_stop_cleanly,
    ])
