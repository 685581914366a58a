#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""The trace (docs/usage.md, "Trace"): `meshnode --trace FILE` writes one JSON line per frame
in and out and per decision, with a reason code for every drop, and never a key, a payload, a
name or a group; at --log-level debug the log shows each drop and decision, and every log line
carries its time.

Run: tests/integration/netns-run python3 test_trace.py [MESHNODE]
"""
import json
import os
import re
import socket
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, wait_mesh  # noqa: E402

GROUP = "g-trace-group-4711"
SHOUT = "trace-shout-payload-1234"
WHISPER = "trace-whisper-payload-5678"
NAMES = ["trace-alice-9151", "trace-bob-9152"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")
# counter names a DROP may give as its reason (docs/usage.md, "Counters")
DROP_REASONS = {
    "beacons_bad", "beacons_stale", "beacons_foreign", "beacons_limited", "beacons_version",
    "frames_bad", "frames_unknown_sid", "frames_auth_failed", "frames_replayed",
    "hellos_limited", "handshakes_failed", "sessions_rejected", "msgs_bad", "msgs_unknown_type",
    "msgs_dup", "fragments_dropped", "msgs_refused", "rekey_replies_stale", "pex_bad",
    "pex_unreachable", "conns_closed_source", "conns_closed_total",
    "conns_closed_unauth_timeout", "partials_evicted",
}


def read_trace(path):
    recs = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            try:
                r = json.loads(line)
            except ValueError:
                mt.fail("%s line %d is not JSON: %r" % (path, i + 1, line[:200]))
            check(isinstance(r, dict) and r.get("ev") in ("in", "out", "drop", "decision")
                  and isinstance(r.get("ts"), str) and isinstance(r.get("ms"), int),
                  "%s line %d lacks ts, ms or ev: %r" % (path, i + 1, line[:200]))
            recs.append(r)
    return recs


def test_trace_file(ctx):
    tr = [ctx.path(n + ".trace") for n in NAMES]
    a, b = [Node(ctx, n, groups=[GROUP], wait_ready=False,
                 extra=["--trace", t] + (["--log-level", "debug", "--receipts"] if i == 0
                                         else []))
            for i, (n, t) in enumerate(zip(NAMES, tr))]
    a.wait_ready()
    b.wait_ready()
    wait_mesh([a, b])
    sid = a.shout(GROUP, SHOUT)
    b.wait_event("shout", a, text=SHOUT)
    wid = a.whisper(b.id, WHISPER)
    b.wait_event("whisper", a, text=WHISPER)
    a.wait_event("delivered", b, id=wid)      # b's ACK went out before anyone stops

    # a malformed beacon from a stranger: dropped, with its reason and source in the trace
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    s.sendto(b"\x93\xa8meshnode\x02\xc4\x01x", ("239.192.7.7", ctx.mcast_port))
    s.close()
    st = b.stats()
    deadline = 50
    while st.get("beacons_bad", 0) < 1 and deadline:
        mt.time.sleep(0.1)
        st = b.stats()
        deadline -= 1
    check(st.get("beacons_bad", 0) >= 1, "b counted no bad beacon: %s" % st)
    for n in (a, b):
        n.quit_cleanly()

    for path in tr:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        check(mode == 0o600, "%s has mode %o, not 0600" % (path, mode))
        raw = open(path, "rb").read()
        for secret in [SHOUT, WHISPER, GROUP] + NAMES:
            check(secret.encode() not in raw, "%s holds %r" % (path, secret))
    ta, tb = read_trace(tr[0]), read_trace(tr[1])

    # every DATA frame a sent to b is b's IN record of it: same session, same counter
    def frames(recs, ev):
        return {(r.get("rx_sid"), r["counter"]): r for r in recs
                if r["ev"] == ev and r.get("what") == "data"}
    out_a, in_b = frames(ta, "out"), frames(tb, "in")
    check(out_a, "a traced no DATA frame out")
    missing = [k for k in out_a if k not in in_b]
    # the last frames (BYE, at the quit) may reach b after b stopped reading
    late = [k for k in missing if out_a[k].get("msg") not in ("bye", "heartbeat", "ack")]
    check(not late, "frames a sent and b never traced: %s" % late[:5])
    for k, r in out_a.items():
        if k in in_b:
            check(in_b[k].get("msg") == r.get("msg") and in_b[k].get("bytes") == r.get("bytes"),
                  "frame %s: a sent %s, b took %s" % (k, r, in_b[k]))
    shouts = [r for r in ta if r["ev"] == "out" and r.get("msg") == "shout"]
    check(len(shouts) == 1 and shouts[0].get("msg_id") == sid and
          shouts[0].get("peer") == b.id, "a's shout out: %s (id %s)" % (shouts, sid))
    acks = [r.get("msg_id", 0) for r in tb if r["ev"] == "out" and r.get("msg") == "ack"]
    check(acks and max(acks) == wid, "b's ACKs name no message of a's: %s" % acks)
    got = [r for r in tb if r["ev"] == "in" and r.get("msg") == "whisper"]
    check(len(got) == 1 and got[0].get("peer") == a.id, "b's whisper in: %s" % got)

    # the handshake's decisions, on both sides
    da = [r["what"] for r in ta if r["ev"] == "decision"]
    db = [r["what"] for r in tb if r["ev"] == "decision"]
    check("live" in da and "live" in db and "enter" in da and "enter" in db,
          "decisions: a %s, b %s" % (da[:10], db[:10]))
    check(("dial" in da) != ("dial" in db) and ("answer" in da) != ("answer" in db),
          "one side dials, the other answers: a %s, b %s" % (da[:10], db[:10]))

    # the stranger's beacon: a DROP with a counter's name as its reason
    drops = [r for r in tb if r["ev"] == "drop"]
    check(all(r.get("reason") in DROP_REASONS for r in drops),
          "drop reasons: %s" % sorted({r.get("reason") for r in drops}))
    bad = [r for r in drops if r.get("reason") == "beacons_bad"]
    check(len(bad) == st["beacons_bad"] and all(r.get("addr") == "127.0.0.1" and
                                                r.get("what") == "beacon" for r in bad),
          "beacons_bad %d, traced %s" % (st["beacons_bad"], bad))

    # the debug log: times on every line, and the decisions
    err = open(a.stderr_path, encoding="utf-8", errors="replace").read().splitlines()
    check(err and all(ISO.match(line) for line in err),
          "log lines without a time: %s" % [x for x in err if not ISO.match(x)][:3])
    check(any("debug: trace: live" in line for line in err), "no decision in a's debug log")
    for secret in [SHOUT, WHISPER]:
        check(not any(secret in line for line in err), "a's log holds %r" % secret)


def test_trace_path_refused(ctx):
    """A trace path that cannot be written stops the node at once, saying why; a symbolic
    link is never followed."""
    target = ctx.path("elsewhere")
    link = ctx.path("trace-link")
    os.symlink(target, link)
    for path in (ctx.path("no-such-dir", "t"), link):
        r = ctx.run([ctx.binary, "--json", "--iface", "lo", "--name", "x", "--identity",
                     ctx.path("x.id"), "--trace", path], timeout=10.0, input="", text=True)
        check(r.returncode == 1 and "--trace" in r.stderr,
              "--trace %s: exit %s, %r" % (path, r.returncode, r.stderr[-300:]))
    check(not os.path.exists(target), "the link was followed")


if __name__ == "__main__":
    mt.run([test_trace_file, test_trace_path_refused])
