#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""Groups, shouts and whispers between real nodes: delivery to exactly the members, once and
in order; large payloads and the payload limit; messages sent the moment a session comes up;
and a stalled peer that must not hold up the others.

Negative checks ("X did not receive Y") use a barrier instead of a wait: the sender whispers
to X afterwards, and since one sender's messages arrive in the order sent (docs/protocol.md
section 6), anything wrongly sent to X before the barrier would have arrived before it.

Run: tests/integration/netns-run python3 test_messaging.py [MESHNODE]
"""
import os
import random
import signal
import string
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, start_nodes, wait_mesh  # noqa: E402


def shouts(node, start=0, sender=None, group=None):
    return node.select(lambda e: e.get("event") == "shout"
                       and (sender is None or e.get("peer") == sender.id)
                       and (group is None or e.get("group") == group), start)


def barrier(sender, receivers, tag):
    """sender whispers a marker to each receiver and waits until each has it."""
    marks = {r: r.mark() for r in receivers}
    for r in receivers:
        sender.whisper(r, "barrier-%s-%s" % (tag, r.name))
    for r in receivers:
        r.wait_event("whisper", sender, timeout=5.0, start=marks[r],
                     text="barrier-%s-%s" % (tag, r.name))


def check_stream(receiver, sender, got, texts, ids, what):
    """got: the shout events receiver has from sender; they must be exactly texts, with the
    ids the sender was given, in order, once each."""
    gt = [e.get("text") for e in got]
    gi = [e.get("id") for e in got]
    check(len(got) == len(texts), "%s: %s got %d of %s's %d messages"
          % (what, receiver.name, len(got), sender.name, len(texts)))
    check(gt == texts, lambda: "%s: %s got %s's messages out of order or altered: first "
          "difference at #%d" % (what, receiver.name, sender.name,
                                 next(i for i, (x, y) in enumerate(zip(gt, texts)) if x != y)))
    check(all(b > a for a, b in zip(gi, gi[1:])), "%s: %s: ids from %s not increasing: %s"
          % (what, receiver.name, sender.name, gi[:50]))
    check(gi == ids, "%s: %s: ids from %s differ from the sender's sent ids"
          % (what, receiver.name, sender.name))
    check(all(e.get("name") == sender.name for e in got), "%s: wrong sender name" % what)


def test_group_shouts_exactly_once_in_order(ctx):
    t1, t2, t3 = start_nodes(ctx, ["team-1", "team-2", "team-3"], groups=["team"])
    o1, = start_nodes(ctx, ["other-1"], groups=["other"])
    n1, = start_nodes(ctx, ["loner"])
    team, everyone = [t1, t2, t3], [t1, t2, t3, o1, n1]
    wait_mesh(everyone, timeout=5.0)
    marks = {n: n.mark() for n in everyone}
    sent = {}
    for t in team:
        texts = ["msg-%s-%02d" % (t.name, k) for k in range(1, 21)]
        sent[t] = (texts, t.shout_many("team", texts))
    for r in team:
        for s in team:
            if s is r:
                continue
            texts, ids = sent[s]
            got = r.collect(lambda e, s=s: e.get("event") == "shout" and e.get("peer") == s.id,
                            20, 10.0, marks[r], "shouts from %s" % s.name)
            check(all(e.get("group") == "team" for e in got), "shout with a wrong group")
            # Nothing more arrives from s once the barrier (below) is through.
            barrier(s, [r], "team")
            check_stream(r, s, shouts(r, marks[r], s), texts, ids, "team")
    for t in team:
        barrier(t, [o1, n1], "outsiders")
    for n in (o1, n1):
        got = shouts(n, marks[n])
        check(not got, lambda: "non-member %s received %d shouts: %s"
              % (n.name, len(got), mt.describe(got[0], ctx.names)))


def test_whisper_reaches_only_its_target(ctx):
    a, b, c = start_nodes(ctx, ["wa", "wb", "wc"])
    wait_mesh([a, b, c], timeout=5.0)
    marks = {n: n.mark() for n in (a, b, c)}
    wid = a.whisper(b, "for-b-only")
    ev = b.wait_event("whisper", a, timeout=5.0, start=marks[b], text="for-b-only")
    check(ev.get("id") == wid and ev.get("name") == a.name, "whisper event: %s" % mt.describe(ev))
    # By name and by hex prefix too (cli.md: NAME-or-HEXID-or-HEXPREFIX).
    a.command("/msg wb by-name", "sent")
    b.wait_event("whisper", a, timeout=5.0, start=marks[b], text="by-name")
    a.command("/msg %s by-prefix" % b.id[:8], "sent")
    b.wait_event("whisper", a, timeout=5.0, start=marks[b], text="by-prefix")
    barrier(a, [c], "w")
    check(not c.select(lambda e: e.get("event") == "whisper" and e.get("peer") == a.id
                       and not e.get("text", "").startswith("barrier"), marks[c]),
          "a whisper for wb reached wc")
    check(not a.select(lambda e: e.get("event") == "whisper", marks[a]),
          "the sender received its own whisper")
    # A whisper to nobody is an error reply, not a crash.
    m = a.mark()
    a.send("/msg no-such-peer hello")
    ev = a.wait_for(lambda e: e.get("event") in ("error", "sent"), 5.0, m, "reply to /msg")
    check(ev["event"] == "error", "whisper to an unknown peer: %s" % mt.describe(ev))
    check(a.alive(), "node died after a whisper to an unknown peer")


def test_leave_stops_delivery(ctx):
    t1, t2, t3 = start_nodes(ctx, ["lv-1", "lv-2", "lv-3"], groups=["team"])
    wait_mesh([t1, t2, t3], timeout=5.0)
    marks = {n: n.mark() for n in (t1, t2, t3)}
    # Positive control: t3 gets team shouts while it is a member.
    t1.shout("team", "before-leave")
    t3.wait_event("shout", t1, timeout=5.0, start=marks[t3], text="before-leave")
    ev = t3.command("/leave team", "left")
    check(ev.get("group") == "team", "/leave reply: %s" % mt.describe(ev))
    for n in (t1, t2):
        n.wait_event("leave", t3, timeout=5.0, start=marks[n], group="team")
    ids = t1.shout_many("team", ["after-leave-%d" % k for k in range(5)])
    got = t2.collect(lambda e: e.get("event") == "shout" and e.get("peer") == t1.id
                     and e.get("text", "").startswith("after-leave"), 5, 5.0, marks[t2])
    check([e["id"] for e in got] == ids, "t2 got the after-leave shouts altered")
    barrier(t1, [t3], "leave")
    late = t3.select(lambda e: e.get("event") == "shout" and e.get("text", "").startswith(
        "after-leave"), marks[t3])
    check(not late, "%s received %d shouts after leaving" % (t3.name, len(late)))
    check("team" not in t3.command("/groups", "groups").get("groups", []),
          "/groups still lists team after /leave")


def test_late_joiner_learns_groups(ctx):
    t1, t2 = start_nodes(ctx, ["early-1", "early-2"], groups=["team"])
    o1, = start_nodes(ctx, ["early-other"], groups=["other"])
    wait_mesh([t1, t2, o1], timeout=5.0)
    marks = {n: n.mark() for n in (t1, t2, o1)}
    late = Node(ctx, "latecomer", groups=["team"])
    wait_mesh([late], others=[t1, t2, o1], timeout=5.0)
    # Right after enter, the groups of the existing peers are known (hello payload).
    ps = {p["peer"]: p for p in late.peers()}
    for n, g in ((t1, "team"), (t2, "team"), (o1, "other")):
        check(n.id in ps, "%s: /peers lacks %s" % (late.name, n.name))
        check(g in ps[n.id].get("groups", []), "%s: /peers shows groups %s for %s, expected %r"
              % (late.name, ps[n.id].get("groups"), n.name, g))
        check(not (set(ps[n.id].get("groups", [])) - {g}), "%s: extra groups for %s: %s"
              % (late.name, n.name, ps[n.id].get("groups")))
    for n in (t1, t2, o1):
        n.wait_event("enter", late, timeout=5.0, start=marks[n])
        pl = {p["peer"]: p for p in n.peers()}
        check("team" in pl.get(late.id, {}).get("groups", []),
              "%s: /peers does not show the latecomer in team" % n.name)
    ml = late.mark()
    mid = t1.shout("team", "welcome-late")
    ev = late.wait_event("shout", t1, timeout=5.0, start=ml, text="welcome-late")
    check(ev.get("id") == mid and ev.get("group") == "team", "shout: %s" % mt.describe(ev))
    # A join after the session is up is announced with a join event.
    t2.command("/join extra", "joined")
    late.wait_event("join", t2, timeout=5.0, start=ml, group="extra")
    check("extra" in {p["peer"]: p for p in late.peers()}[t2.id].get("groups", []),
          "/peers does not show the new group after a join event")


def random_text(n, seed):
    rng = random.Random(seed)
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def test_one_mib_shout_and_the_limit(ctx):
    nodes = start_nodes(ctx, ["big-src", "big-1", "big-2", "big-3", "big-4"], groups=["team"])
    src, members = nodes[0], nodes[1:]
    wait_mesh(nodes, timeout=5.0)
    marks = {n: n.mark() for n in members}
    text = random_text(mt.MAX_PAYLOAD, 1)
    check(len(text.encode()) == 1048576, "test payload is not 1 MiB")
    digest = mt.sha256(text.encode())
    mid = src.shout("team", text, timeout=30.0)
    for m in members:
        ev = m.wait_event("shout", src, timeout=30.0, start=marks[m], id=mid)
        body = mt.payload_of(ev)
        check(body is not None and len(body) == 1048576,
              "%s: 1 MiB shout arrived with %s bytes" % (m.name, None if body is None else len(body)))
        check(mt.sha256(body) == digest, "%s: 1 MiB shout arrived altered" % m.name)
    # One byte more is refused with an error reply that names the limit.
    m0 = src.mark()
    src.send("/shout team " + random_text(mt.MAX_PAYLOAD + 1, 2), timeout=30.0)
    ev = src.wait_for(lambda e: e.get("event") in ("error", "sent"), 30.0, m0,
                      "reply to the 1048577-byte shout")
    check(ev["event"] == "error", "1048577-byte shout was accepted: %s" % mt.describe(ev))
    msg = str(ev.get("message", ""))
    check(any(s in msg.lower() for s in ("1048576", "1 mib", "mib", "limit", "too large",
                                         "too long", "too big", "exceed")),
          "error for the oversize shout does not mention the limit: %r" % msg)
    check(src.alive(), "node died on an oversize shout")
    for m in members:
        barrier(src, [m], "big")
        over = m.select(lambda e: e.get("event") == "shout" and e.get("id") != mid, marks[m])
        check(not over, "%s received %d unexpected shouts (the oversize one?)" % (m.name, len(over)))


def test_simultaneous_start_immediate_shouts(ctx):
    n_msgs, reps = 50, 5
    for rep in range(reps):
        sub = ctx.path("rep%d" % rep)
        os.mkdir(sub)
        port = ctx.new_port()
        a = Node(ctx, "imm-a", groups=["g"], identity=os.path.join(sub, "a.id"),
                 mcast_port=port, wait_ready=False)
        b = Node(ctx, "imm-b", groups=["g"], identity=os.path.join(sub, "b.id"),
                 mcast_port=port, wait_ready=False)
        texts = {a: ["imm-a-%d-%02d" % (rep, k) for k in range(n_msgs)],
                 b: ["imm-b-%d-%02d" % (rep, k) for k in range(n_msgs)]}
        fired = {}

        # Shout from the reader thread the moment "enter" for the other arrives.
        # (Small writes only: a callback that blocks on stdin would stop the reader.)
        def on_enter(node, ev):
            if ev.get("event") == "enter" and node not in fired:
                fired[node] = ev["_i"]
                node.send("".join("/shout g %s\n" % t for t in texts[node]))
        for n in (a, b):
            n.on_event.append(on_enter)
        a.wait_ready()
        b.wait_ready()
        for r, s in ((a, b), (b, a)):
            r.wait_event("enter", s, timeout=5.0)
            got = r.collect(lambda e, s=s: e.get("event") == "shout" and e.get("peer") == s.id,
                            n_msgs, 10.0, 0, "shouts from %s" % s.name)
            replies = s.collect(lambda e: e.get("event") in ("sent", "error"), n_msgs, 10.0, 0,
                                "sent replies")
            check(all(e["event"] == "sent" for e in replies), "rep %d: %s: a shout was refused"
                  % (rep, s.name))
            sent_ids = [e["id"] for e in replies]
            barrier(s, [r], "imm")
            check_stream(r, s, shouts(r, 0, s), texts[s], sent_ids, "rep %d" % rep)
        for n in (a, b):
            check(not n.select(lambda e: e.get("event") in ("dropped", "error", "exit")),
                  "rep %d: %s reported dropped/error/exit" % (rep, n.name))
            n.on_event.clear()
        a.send("/quit")
        b.send("/quit")
        for n in (a, b):
            check(n.wait_exit() == 0, "rep %d: %s exit code %s" % (rep, n.name, n.rc))


def test_stalled_peer_does_not_block_others(ctx):
    # A SIGSTOPped member stops reading and acknowledging. What can pile up in front of it is
    # bounded by the node's queue, which also holds every message sent and not yet
    # acknowledged (1024 messages / 16 MiB: the window, docs/protocol.md section 6). We send
    # 4000, so messages for it must be dropped ("send queue full"), each reported by a
    # DROPPED event. The two running members must still get every message of
    # each other. The test paces the senders in batches that the running peers take in
    # before the next one, so only the stopped peer's backlog grows. Its expiry is pushed far
    # out so that it stays a member for the whole test.
    n_msgs, batch, size = 4000, 250, 16 * 1024
    s1, s2, st = start_nodes(ctx, ["run-1", "run-2", "stopped"], groups=["team"],
                             timers=mt.SLOW_EXPIRY)
    wait_mesh([s1, s2, st], timeout=5.0)
    marks = {n: n.mark() for n in (s1, s2)}
    texts = {}
    for s in (s1, s2):
        heads = ["%s-%05d-" % (s.name, k) for k in range(n_msgs)]
        texts[s] = [h + "x" * (size - len(h)) for h in heads]
    pairs = ((s1, s2), (s2, s1))
    os.kill(st.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        for b in range(0, n_msgs, batch):
            for s in (s1, s2):
                s.send("".join("/shout team %s\n" % t for t in texts[s][b:b + batch]), 30.0)
            for r, s in pairs:
                r.collect(lambda e, s=s: e.get("event") == "shout" and e.get("peer") == s.id,
                          b + batch, 30.0, marks[r], "shouts from %s" % s.name)
        ids = {}
        for s in (s1, s2):
            got = s.collect(lambda e: e.get("event") in ("sent", "error"), n_msgs, 30.0,
                            marks[s], "sent replies")
            check(all(e["event"] == "sent" for e in got), "%s: a shout was refused: %s"
                  % (s.name, [mt.describe(e) for e in got if e["event"] != "sent"][:1]))
            ids[s] = [e["id"] for e in got]
        for r, s in pairs:
            check_stream(r, s, shouts(r, marks[r], s), texts[s], ids[s], "stalled")
        print("  %d x %d KiB shouts each way in %.1fs with one member stopped"
              % (n_msgs, size // 1024, time.monotonic() - t0))
        for s in (s1, s2):
            first = s.wait_event("dropped", timeout=30.0, start=marks[s])
            dropped = s.select(lambda e: e.get("event") == "dropped", marks[s])
            wrong = [e for e in dropped if e.get("peer") != st.id]
            check(not wrong, "%s: dropped events for running peers: %s"
                  % (s.name, [mt.describe(e, ctx.names) for e in wrong[:3]]))
            check(set(e.get("id") for e in dropped) <= set(ids[s]),
                  "%s: dropped events name ids it never sent" % s.name)
            check(all(e.get("group") == "team" for e in dropped),
                  "%s: dropped shout without its group: %s" % (s.name, mt.describe(first)))
            print("  %s: %d dropped events, all for %s (first reason: %r)"
                  % (s.name, len(dropped), st.name, first.get("reason")))
    finally:
        if st.alive():
            os.kill(st.pid, signal.SIGCONT)
    for n in (s1, s2, st):
        check(n.alive(), "%s died" % n.name)


def test_ttl_and_receipts(ctx):
    # --receipts: a delivered line per peer that took a message. /ttl sets the time-to-live
    # of the next messages: a whisper to a SIGSTOPped peer is sent (TCP takes it) but never
    # acknowledged, so when its 400 ms are up the sender hears "not confirmed in time" with
    # maybe_delivered true; and indeed the peer shows it once it runs again, exactly once.
    # The peer's expiry is far out, so the link itself stays up throughout.
    a = Node(ctx, "ttl-a", extra=["--receipts"], timers=mt.SLOW_EXPIRY)
    b = Node(ctx, "ttl-b", timers=mt.SLOW_EXPIRY)
    wait_mesh([a, b], timeout=5.0)
    ma, mb = a.mark(), b.mark()
    check(a.command("/ttl", "ttl").get("ms") == 0, "the default /ttl is not 0 (--ttl)")
    wid = a.whisper(b, "with-receipt")
    b.wait_event("whisper", a, timeout=5.0, start=mb, text="with-receipt")
    ev = a.wait_event("delivered", b, timeout=5.0, start=ma, id=wid)
    check(ev.get("name") == b.name and "group" not in ev, "delivered: %s" % mt.describe(ev))
    check(a.command("/ttl 400", "ttl").get("ms") == 400, "/ttl 400 not taken")
    m = a.mark()
    a.send("/ttl 600001")
    ev = a.wait_for(lambda e: e.get("event") in ("error", "ttl"), 5.0, m, "reply to /ttl")
    check(ev["event"] == "error", "/ttl 600001 was accepted: %s" % mt.describe(ev))
    os.kill(b.pid, signal.SIGSTOP)
    try:
        wid = a.whisper(b, "to-a-stopped-peer")
        ev = a.wait_event("dropped", b, timeout=5.0, start=ma, id=wid)
        check(ev.get("reason") == "not confirmed in time" and ev.get("maybe_delivered") is True,
              "dropped: %s" % mt.describe(ev))
    finally:
        os.kill(b.pid, signal.SIGCONT)
    b.wait_event("whisper", a, timeout=5.0, start=mb, text="to-a-stopped-peer")
    check(a.command("/ttl 0", "ttl").get("ms") == 0, "/ttl 0 not taken")
    wid2 = a.whisper(b, "after")
    a.wait_event("delivered", b, timeout=5.0, start=ma, id=wid2)
    got = b.select(lambda e: e.get("event") == "whisper" and e.get("peer") == a.id, mb)
    check([e.get("text") for e in got] == ["with-receipt", "to-a-stopped-peer", "after"],
          "b's whispers: %s" % [e.get("text") for e in got])
    check(not a.select(lambda e: e.get("event") == "delivered" and e.get("id") == wid, ma),
          "a message reported dropped was also reported delivered")


def test_whisper_waits_for_an_away_peer(ctx):
    # A peer that left (here: SIGKILLed, its exit seen) can still be whispered to by its whole
    # ID: the message waits for it (docs/protocol.md section 6, "Delivery") and reaches its
    # next run, with a receipt. Both ways round: the sender the lower ID (it checked the
    # peer's beacons and dials it) and the higher (it never checked them; the peer dials it).
    # An ID the node never met is an error, not a wait.
    for sender_lower in (True, False):
        x = Node(ctx, "away-x", extra=["--receipts"])
        y = Node(ctx, "away-y", extra=["--receipts"])
        wait_mesh([x, y], timeout=5.0)
        lo, hi = sorted([x, y], key=lambda n: n.id)
        a, b = (lo, hi) if sender_lower else (hi, lo)
        ma = a.mark()
        b.kill()
        a.wait_event("exit", b, timeout=10.0, start=ma)
        wid = a.whisper(b.id, "while-you-were-away")
        b2 = b.respawn()
        b2.wait_event("whisper", a, timeout=10.0, text="while-you-were-away")
        a.wait_event("delivered", b2, timeout=5.0, start=ma, id=wid)
        check(not a.select(lambda e: e.get("event") == "dropped", ma), "a message was dropped")
        m = a.mark()
        a.send("/msg %s nobody" % ("ab" * 32))
        ev = a.wait_for(lambda e: e.get("event") in ("error", "sent"), 5.0, m, "reply to /msg")
        check(ev["event"] == "error", "a whisper to an unknown ID: %s" % mt.describe(ev))
        for n in (a, b2):
            n.quit_cleanly()


if __name__ == "__main__":
    mt.run([
        test_group_shouts_exactly_once_in_order,
        test_whisper_reaches_only_its_target,
        test_leave_stops_delivery,
        test_late_joiner_learns_groups,
        test_one_mib_shout_and_the_limit,
        test_simultaneous_start_immediate_shouts,
        test_stalled_peer_does_not_block_others,
        test_ttl_and_receipts,
        test_whisper_waits_for_an_away_peer,
    ])
