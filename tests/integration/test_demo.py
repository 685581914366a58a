#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""tools/demo.py, the README's first command, end to end, and the one rule its waits follow.

- test_demo_wait_keeps_what_it_passes_over: the demo waits for one event at a time. Before
  this test, a wait threw away every event it passed over, so when dave's join reached alice
  before bob's, the wait for bob's took it away and the wait for dave's failed after 10 s
  ("alice did not see dave's join"): the README's demo failed in 2 of 4 runs on this machine.
  Deterministic here: the events are queued in that order by hand, no process is started.
- test_demo_runs: the demo itself, once, with the meshnode under test: exit status 0, and
  each of its steps said what it should.

Run: tests/integration/netns-run python3 test_demo.py [MESHNODE]
"""
import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import check  # noqa: E402

DEMO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                     "tools", "demo.py"))


def load_demo():
    spec = importlib.util.spec_from_file_location("demo", DEMO)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_demo_wait_keeps_what_it_passes_over(ctx):
    demo = load_demo()
    alice = demo.Node.__new__(demo.Node)       # no process: only its event queue
    alice.name = "alice"
    alice.events = demo.queue.Queue()
    alice.backlog = []
    for ev in ({"event": "enter", "peer": "b"}, {"event": "join", "peer": "d"},
               {"event": "join", "peer": "b"}, {"event": "shout", "peer": "d"}):
        alice.events.put(ev)
    for who in ("b", "d"):
        try:
            ev = alice.wait(lambda e, w=who: e["event"] == "join" and e["peer"] == w,
                            timeout=0.5, what="%s's join" % who)
        except SystemExit as e:
            ev = None
            check(False, "a wait lost an event it passed over: %s" % e)
        check(ev == {"event": "join", "peer": who}, "the wait for %s's join gave %r" % (who, ev))
    rest = alice.take_all()
    check(rest == [{"event": "enter", "peer": "b"}, {"event": "shout", "peer": "d"}],
          "the events no wait took, in arrival order: %r" % rest)


def test_demo_runs(ctx):
    r = ctx.run([sys.executable, DEMO, ctx.binary], timeout=90.0)
    out = r.stdout.decode(errors="replace")
    check(r.returncode == 0, "the demo exited %d:\n%s\n%s" % (
        r.returncode, out[-2000:], r.stderr.decode(errors="replace")[-1000:]))
    for want in ("full mesh: 4 nodes, 6 authenticated links",
                 "[bob] shout in lobby from alice", "[dave] shout in lobby from alice",
                 "[bob]   whisper from carol", "[carol] heard no shout",
                 "== 5. alice's /status", "[alice] exit: carol",
                 "demo finished: discovery, a group broadcast and a direct message all worked"):
        check(want in out, "the demo's output lacks %r:\n%s" % (want, out[-2000:]))


if __name__ == "__main__":
    mt.run([
        test_demo_wait_keeps_what_it_passes_over,
        test_demo_runs,
    ])
