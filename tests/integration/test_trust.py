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
    check(ev.get("peer") == bob.id and ev.get("fingerprint") == bob.ready_event["fingerprint"],
          "shared_id alarm: %s" % mt.describe(ev))
    # From the alarm on, alice's view of bob's ID stays put for 6 s (it flapped several
    # times a second before).
    since = ev["_i"]
    time.sleep(6.0)
    flaps = alice.select(lambda e: e.get("event") in ("enter", "exit") and
                         e.get("peer") == bob.id, since)
    check(not flaps, "alice: %d enter/exit about bob after the alarm" % len(flaps))
    check(len(alarms(alice, "shared_id")) == 1, "alice: the alarm repeated within 30 s")
    print("  copied identity: both copies warned, alice warned and steady for 6 s")


if __name__ == "__main__":
    mt.run([
        test_copied_identity,
    ])
