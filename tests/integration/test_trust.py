#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""Trust between real meshnode processes on lo: alarms, remembered peers, verified marks,
strict mode (docs/usage.md, "Alarms" and "Remembered peers").

Run: tests/integration/netns-run python3 test_trust.py [MESHNODE]
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, wait_mesh  # noqa: E402


def alarms(node, kind, start=0):
    return node.select(lambda e: e.get("event") == "alarm" and e.get("kind") == kind, start)


def test_copied_identity(ctx):
    """Two nodes run with one identity file: both are told, a third node is told and keeps
    one link instead of showing the two leaving and entering in turn."""
    alice = Node(ctx, "alice")
    bob = Node(ctx, "bob")
    wait_mesh([alice, bob], timeout=5.0)
    copy = ctx.path("bob-copy.id")
    shutil.copyfile(bob.identity, copy)
    os.chmod(copy, 0o600)
    twin = Node(ctx, "bob", identity=copy)
    check(twin.id == bob.id, "the copy has another ID")

    for n in (bob, twin):
        ev = n.wait_for(lambda e: e.get("event") == "alarm" and e.get("kind") == "own_id",
                        timeout=mt.T(10.0), what="alarm own_id at %s" % n.name)
        check(ev.get("peer") == bob.id, "own_id alarm names %s" % ev.get("peer"))
        check("identity file was copied" in ev.get("text", ""),
              "own_id alarm text: %r" % ev.get("text"))
    ev = alice.wait_for(lambda e: e.get("event") == "alarm" and e.get("kind") == "shared_id",
                        timeout=mt.T(10.0), what="alarm shared_id at alice")
    check(ev.get("peer") == bob.id and ev.get("fingerprint") == bob.ready_event["fingerprint"]
          and ev.get("name") == "bob", "shared_id alarm: %s" % mt.describe(ev))
    check(" bob (" in ev.get("text", ""), "shared_id alarm text: %r" % ev.get("text"))
    # From the alarm on, alice's view of bob's ID stays put for 6 s (it flapped several
    # times a second before).
    since = ev["_i"]
    time.sleep(6.0)
    flaps = alice.select(lambda e: e.get("event") in ("enter", "exit") and
                         e.get("peer") == bob.id, since)
    check(not flaps, "alice: %d enter/exit about bob after the alarm" % len(flaps))
    check(len(alarms(alice, "shared_id")) == 1, "alice: the alarm repeated within 30 s")
    print("  copied identity: both copies warned, alice warned and steady for 6 s")


def known_file(node):
    return node.identity + ".known_peers"


def test_impostor_takes_a_verified_name(ctx):
    """alice verifies bob; a node with another key calls itself bob: alice is told, and its
    messages carry no mark while bob's do. The store survives alice's restart, and so does
    the alarm for a verified peer coming back with another key."""
    alice = Node(ctx, "alice")
    bob = Node(ctx, "bob")
    wait_mesh([alice, bob], timeout=5.0)
    ev = alice.command("/trust bob", "trust")
    check(ev.get("peer") == bob.id and ev.get("verified") is True, "/trust bob: %s"
          % mt.describe(ev))
    mode = os.stat(known_file(alice)).st_mode & 0o777
    check(mode == 0o600, "known peers file mode %o" % mode)
    check(bob.id in open(known_file(alice)).read(), "bob's ID is not in alice's known peers")
    peers = alice.peers()
    check([p.get("verified") for p in peers if p["peer"] == bob.id] == [True],
          "/peers does not mark bob verified: %s" % peers)
    b0 = alice.mark()
    bob.whisper(alice, "from-the-real-bob")
    ev = alice.wait_event("whisper", bob, start=b0, text="from-the-real-bob")
    check(ev.get("verified") is True, "bob's whisper carries no verified mark")

    mallory = Node(ctx, "bob", identity=ctx.path("mallory.id"))
    check(mallory.id != bob.id, "mallory has bob's key")
    ev = alice.wait_for(lambda e: e.get("event") == "alarm" and e.get("kind") == "name_taken",
                        timeout=mt.T(10.0), start=b0, what="alarm name_taken at alice")
    check(ev.get("peer") == mallory.id and ev.get("other") == bob.id and
          ev.get("other_verified") is True, "name_taken alarm: %s" % mt.describe(ev))
    check("Names are only labels" in ev.get("text", ""), "alarm text: %r" % ev.get("text"))
    m0 = alice.mark()
    mallory.whisper(alice, "trust-me")
    ev = alice.wait_event("whisper", mallory, start=m0, text="trust-me")
    check("verified" not in ev, "mallory's whisper carries a verified mark: %s" % mt.describe(ev))

    # alice restarts: she still knows bob as verified, and is told again when a third key
    # (a verified peer "coming back" with another ID) uses bob's name.
    mallory.quit_cleanly()
    alice.quit_cleanly()
    alice2 = alice.respawn()
    ev = alice2.wait_event("enter", bob, timeout=mt.T(10.0))
    check(ev.get("verified") is True, "after a restart bob's enter has no mark: %s"
          % mt.describe(ev))
    bob.quit_cleanly()
    eve = Node(ctx, "bob", identity=ctx.path("eve.id"))
    ev = alice2.wait_for(lambda e: e.get("event") == "alarm" and e.get("kind") == "name_taken"
                         and e.get("peer") == eve.id, timeout=mt.T(10.0),
                         what="alarm name_taken after the restart")
    check(ev.get("other") == bob.id and ev.get("other_verified") is True,
          "after the restart: %s" % mt.describe(ev))
    print("  impostor: alarm with the verified key named, no mark on its messages, "
          "remembered across a restart")


def test_verified_peer_renamed(ctx):
    alice = Node(ctx, "alice")
    bob = Node(ctx, "bob")
    wait_mesh([alice, bob], timeout=5.0)
    alice.command("/trust %s" % bob.id, "trust")
    bob.quit_cleanly()
    robert = Node(ctx, "robert", identity=bob.identity)
    ev = alice.wait_for(lambda e: e.get("event") == "alarm" and
                        e.get("kind") == "verified_renamed", timeout=mt.T(10.0),
                        what="alarm verified_renamed")
    check(ev.get("peer") == robert.id and ev.get("other_name") == "bob" and
          ev.get("name") == "robert", "verified_renamed: %s" % mt.describe(ev))
    ev = alice.command("/untrust robert", "trust")
    check(ev.get("verified") is False, "/untrust: %s" % mt.describe(ev))
    check([p.get("verified") for p in alice.peers()] == [False], "still marked after /untrust")


def test_known_only_and_allow_list(ctx):
    alice = Node(ctx, "alice")
    bob = Node(ctx, "bob")
    wait_mesh([alice, bob], timeout=5.0)
    alice.quit_cleanly()          # alice now remembers bob
    alice2 = alice.respawn(extra=["--known-only"])
    carol = Node(ctx, "carol")
    allowed = ctx.path("dave.allow")
    with open(allowed, "w") as f:
        f.write("# dave links only with bob\n%s  bob\n" % bob.id)
    dave = Node(ctx, "dave", extra=["--allow", allowed])
    alice2.wait_event("enter", bob, timeout=mt.T(10.0))
    carol.wait_event("enter", bob, timeout=mt.T(10.0))
    dave.wait_event("enter", bob, timeout=mt.T(10.0))
    time.sleep(3.0)   # a few beacon intervals and fallbacks (FAST_TIMERS)
    for a, b in ((alice2, carol), (carol, alice2), (dave, carol), (carol, dave),
                 (dave, alice2), (alice2, dave)):
        got = a.select(lambda e: e.get("event") == "enter" and e.get("peer") == b.id)
        check(not got, "%s linked with %s" % (a.name, b.name))
    print("  known-only and allow list: strangers never linked, listed peers did")


def test_corrupt_store_is_refused(ctx):
    ident = ctx.path("frank.id")
    frank = Node(ctx, "frank", identity=ident)
    grace = Node(ctx, "grace")
    wait_mesh([frank, grace], timeout=5.0)
    frank.quit_cleanly()
    path = ident + ".known_peers"
    check(grace.id in open(path).read(), "frank did not remember grace")
    with open(path, "a") as f:
        f.write("this is not a peer\n")
    before = open(path, "rb").read()
    again = Node(ctx, "frank", identity=ident, wait_ready=False)
    rc = again.wait_exit()
    check(rc == 3, "a corrupt known peers file: exit code %s (expected 3)" % rc)
    err = open(again.stderr_path).read()
    check(path in err and "line" in err, "the error does not name the file and line: %r" % err)
    check(open(path, "rb").read() == before, "the corrupt file was changed")


def error_after(node, cmd, timeout=5.0):
    start = node.mark()
    node.send(cmd)
    return node.wait_for(lambda e: e.get("event") in ("error", "sent", "verify", "trust"),
                         timeout=mt.T(timeout), start=start, what="a reply to %r" % cmd)


def test_an_away_name_is_not_a_prefix(ctx):
    """Found by review: while a peer was away, its name, read as a fingerprint prefix, could
    name whoever made a key whose fingerprint starts that way (4 characters: seconds of
    work). Here carol plays that key: eve's name is the start of carol's fingerprint."""
    alice = Node(ctx, "alice")
    carol = Node(ctx, "carol")
    word = carol.ready_event["fingerprint"][:4]
    eve = Node(ctx, word, identity=ctx.path("eve.id"))
    wait_mesh([alice, carol, eve], timeout=5.0)
    eve.quit_cleanly()
    alice.wait_event("exit", eve, timeout=mt.T(5.0))
    ev = error_after(alice, "/msg %s the door code is 4711" % word)
    check(ev.get("event") == "error" and "is not linked now" in ev.get("message", ""),
          "/msg %s while eve is away: %s" % (word, mt.describe(ev)))
    check(eve.ready_event["fingerprint"][:9] in ev.get("message", ""),
          "the error does not name eve's fingerprint: %s" % ev.get("message"))
    ev = error_after(alice, "/trust %s" % word)
    check(ev.get("event") == "error", "/trust %s while eve is away: %s" % (word, mt.describe(ev)))
    # a short prefix names no one; 8 characters name carol
    ev = error_after(alice, "/msg %s hi" % carol.ready_event["fingerprint"][:6])
    check(ev.get("event") == "error", "a 5-character prefix named a peer: %s" % mt.describe(ev))
    ev = error_after(alice, "/msg %s hi" % carol.ready_event["fingerprint"][:9])
    check(ev.get("event") == "sent" and ev.get("peer") == carol.id,
          "an 8-character prefix: %s" % mt.describe(ev))
    time.sleep(0.5)
    check(not carol.select(lambda e: e.get("event") == "whisper" and
                           "4711" in e.get("text", "")), "carol got the door code")


def test_name_alarms_are_limited(ctx):
    """Found by review: one alarm per fresh key that takes a known name let a flood of keys
    called "bob" bury the chat. Now one a minute per name; "Bob" and "bob " are that name."""
    alice = Node(ctx, "alice")
    bob = Node(ctx, "bob")
    wait_mesh([alice, bob], timeout=5.0)
    bob.quit_cleanly()
    start = alice.mark()
    fakes = [Node(ctx, name, identity=ctx.path("fake%d.id" % i))
             for i, name in enumerate(("bob", "Bob", "bob "))]
    for f in fakes:
        alice.wait_event("enter", f, timeout=mt.T(10.0), start=start)
    time.sleep(1.0)
    got = alarms(alice, "name_taken", start)
    check(len(got) == 1, "alice: %d name_taken alarms for 3 keys in a minute (expected 1): %s"
          % (len(got), [mt.describe(e) for e in got]))
    check(got and got[0].get("other") == bob.id, "the alarm names %s" % got)


if __name__ == "__main__":
    mt.run([
        test_copied_identity,
        test_impostor_takes_a_verified_name,
        test_verified_peer_renamed,
        test_known_only_and_allow_list,
        test_corrupt_store_is_refused,
        test_an_away_name_is_not_a_prefix,
        test_name_alarms_are_limited,
    ])
