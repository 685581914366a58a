#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""check_meshsim: runs meshsim once and checks its exit status and JSON report.

    check_meshsim.py --expect ok|drop|duplicate|usage -- MESHSIM [ARGS...]

meshsim is run with --json into a temporary file (and --quiet); its own stdout and stderr are
passed through, so a failure shows meshsim's summary table and violations. What is checked:

  ok         exit status 0, and a report whose figures agree with each other: ok is true, the
             mesh converged, every expected delivery arrived exactly once and in order
             (deliveries == deliveries_expected, losses == duplicates == order_violations ==
             misdeliveries == 0), no violation is listed, per-node usage is there (including
             the RSS at full mesh: positive, mean <= max), plus what the scenario adds
             (latency figures, churn cycles, partition timings, and for churn and faults an
             account whose outcomes add up, with no loss, unanswered delivery, contradiction
             or duplicate). Sizes are only checked for being there and consistent, never
             against a bound.
  drop       (--inject-fault drop-delivery) exit status 1, ok false, exactly one loss, and
             the violation list names it: the checker catches a lost delivery.
  duplicate  (--inject-fault duplicate-delivery) exit status 1, ok false, one duplicate,
             named in the violations.
  usage      exit status 2 and no report: meshsim refused the arguments.
  split      (--subnets S --fixed-peers none, a test aid) exit status 1, the mesh not full,
             and the sessions formed exactly those inside each subnet, every one of them:
             beacons do not cross the router, so without fixed peers no node of one subnet
             may link with a node of another (a leak would add sessions beyond that count).

With --subnets, the report must also name the subnets and the fixed-peer mode.

Prints "check_meshsim: N passed, M failed" and exits non-zero on any failure.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

checks = 0
failures = []


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def main():
    args = sys.argv[1:]
    if len(args) < 4 or args[0] != "--expect" or args[2] != "--":
        sys.stderr.write(__doc__)
        return 2
    expect, cmd = args[1], args[3:]
    tmp = tempfile.mkdtemp(prefix="check-meshsim-")
    report = os.path.join(tmp, "report.json")
    plot = os.path.join(tmp, "plot.svg")
    # --keep, so that a failed run can show what its nodes logged (see finish())
    argv = cmd + ["--quiet", "--keep", "--json", report, "--plot", plot]
    print("check_meshsim: running " + " ".join(argv), flush=True)
    global kept
    try:
        proc = subprocess.run(argv, timeout=600, stderr=subprocess.PIPE, text=True)
    except subprocess.TimeoutExpired:
        check(False, "meshsim did not finish within 600 s")
        return finish(tmp)
    rc = proc.returncode
    for line in proc.stderr.splitlines():
        m = re.search(r"files kept in (\S+)", line)
        if m:
            kept = m.group(1)
        else:
            sys.stderr.write(line + "\n")

    if expect == "usage":
        check(rc == 2, "exit status %d, expected 2 (usage error)" % rc)
        check(not os.path.exists(report), "a usage error must not write a report")
        return finish(tmp)

    if expect == "split":
        check_split(r_or_none(report), rc)
        return finish(tmp)

    want_rc = 0 if expect == "ok" else 1
    check(rc == want_rc, "exit status %d, expected %d" % (rc, want_rc))
    try:
        with open(report) as f:
            r = json.load(f)
    except (OSError, ValueError) as e:
        check(False, "no readable JSON report: %s" % e)
        return finish(tmp)

    n = r.get("n")
    for key in ("meshsim", "scenario", "n", "hosts", "seed", "inproc", "converged",
                "convergence_ms", "sessions_curve", "messages", "deliveries_expected",
                "deliveries", "losses", "duplicates", "order_violations", "latency_ms",
                "throughput_per_s", "nodes", "churn", "partition", "violations", "ok",
                "rss_full_kb_mean", "rss_full_kb_max", "rss_full_settle_ms"):
        check(key in r, "report lacks %r" % key)
    check(isinstance(n, int) and n >= 1, "n is %r" % n)
    check(r.get("deliveries", -1) + r.get("losses", -1) == r.get("deliveries_expected"),
          "deliveries %s + losses %s != deliveries_expected %s"
          % (r.get("deliveries"), r.get("losses"), r.get("deliveries_expected")))
    # --sim: engines sharing one process and a virtual clock have no CPU or memory of
    # their own, and the report must say so rather than invent figures
    sim = r.get("sim") is True
    want_nodes = 0 if sim else n
    check(isinstance(r.get("nodes"), list) and len(r["nodes"]) == want_nodes,
          "nodes has %s entries, expected %s" % (len(r.get("nodes") or []), want_nodes))
    if sim:
        for key in ("cpu_to_converge_s", "rss_full_kb_mean", "rss_full_kb_max"):
            check(r.get(key) is None, "--sim: %s is %r, expected null" % (key, r.get(key)))
    for node in r.get("nodes") or []:
        check(node.get("cpu_s", -1) >= 0 and node.get("max_rss_kb", 0) > 0,
              "implausible usage for %s: %s" % (node.get("name"), node))
    check_plot(plot, r)
    want_sub = int(cmd[cmd.index("--subnets") + 1]) if "--subnets" in cmd else 0
    check(r.get("subnets") == want_sub, "subnets is %r, expected %d" % (r.get("subnets"), want_sub))
    # with --fixed-peers one, only node 0 names anyone: a full mesh is peer exchange's work
    want_fp = cmd[cmd.index("--fixed-peers") + 1] if "--fixed-peers" in cmd else "all"
    check(r.get("fixed_peers") == (want_fp if want_sub else None),
          "fixed_peers is %r" % r.get("fixed_peers"))

    if expect == "ok":
        check(r.get("ok") is True, "ok is %r" % r.get("ok"))
        check(r.get("violations") == [], "violations: %s" % r.get("violations"))
        check(r.get("converged") is True and r.get("convergence_ms", -1) >= 0,
              "converged %r in %r ms" % (r.get("converged"), r.get("convergence_ms")))
        full = n * (n - 1)
        conv = r.get("convergence_ms") or 0
        cpu = r.get("cpu_to_converge_s")
        check(sim or (isinstance(cpu, (int, float)) and cpu > 0),
              "cpu_to_converge_s is %r" % cpu)
        for node in r.get("nodes") or []:
            st, rd, fl = node.get("start_ms"), node.get("ready_ms"), node.get("full_ms")
            check(isinstance(st, (int, float)) and isinstance(rd, (int, float)) and
                  isinstance(fl, (int, float)) and 0 <= st <= rd <= fl <= conv + 1,
                  "implausible start/ready/full times for %s: %s" % (node.get("name"), node))
        steps = [c for _, c in r.get("sessions_steps") or []]
        check(steps and max(steps) == full, "sessions never reached %d: %s" % (full, steps[-5:]))
        for key in ("losses", "duplicates", "order_violations", "misdeliveries",
                    "payload_errors", "send_failures", "spurious_exits"):
            check(r.get(key) == 0, "%s is %r" % (key, r.get(key)))
        check(r.get("deliveries") == r.get("deliveries_expected"),
              "deliveries %r != expected %r" % (r.get("deliveries"),
                                                r.get("deliveries_expected")))
        if not sim:
            check_rss_full(r, "--rss-settle" in cmd)
        sc = r.get("scenario")
        if sc in ("broadcast", "whisper", "churn", "faults", "attack"):
            check(r.get("messages", 0) > 0 and r.get("deliveries_expected", 0) > 0,
                  "no messages checked: %s sent, %s expected"
                  % (r.get("messages"), r.get("deliveries_expected")))
            lat = r.get("latency_ms") or {}
            check(0 <= lat.get("p50", -1) <= lat.get("p95", -1) <= lat.get("p99", -1)
                  <= lat.get("max", -1), "latency percentiles out of order: %s" % lat)
            check(r.get("throughput_per_s", 0) > 0, "throughput %r" % r.get("throughput_per_s"))
        if sc == "broadcast":
            check(r.get("deliveries_expected") == r.get("messages") * (n - 1),
                  "broadcast: expected %s deliveries for %s messages to %d members"
                  % (r.get("deliveries_expected"), r.get("messages"), n - 1))
        if sc == "whisper":
            check(r.get("deliveries_expected") == r.get("messages"),
                  "whisper: expected %s deliveries for %s messages"
                  % (r.get("deliveries_expected"), r.get("messages")))
        if sc == "churn":
            c = r.get("churn") or {}
            cycles = c.get("cycles") or []
            check(c.get("kills", 0) >= 1 and len(cycles) == c.get("kills"),
                  "churn: %s kills, %d cycles" % (c.get("kills"), len(cycles)))
            for cy in cycles:
                check(cy.get("reconverge_ms") is not None, "churn: cycle did not re-converge: %s"
                      % cy)
            check(c.get("reenters_seen", 0) >= c.get("kills", 0) * (n - 1),
                  "churn: %s re-enters for %s kills of %d survivors"
                  % (c.get("reenters_seen"), c.get("kills"), n - 1))
        if sc in ("churn", "faults", "attack") and not sim:   # --sim: simnet's checks
            check_account(r, cmd)
        if sc == "attack":
            check_attack(r, cmd)
        if sc == "partition":
            p = r.get("partition") or {}
            check(p.get("detect_ms") is not None and p.get("reconverge_ms") is not None,
                  "partition timings missing: %s" % p)
    else:
        kind = "loss" if expect == "drop" else "duplicate"
        key = "losses" if expect == "drop" else "duplicates"
        check(r.get("ok") is False, "ok is %r with an injected fault" % r.get("ok"))
        check(r.get(key) == 1, "%s is %r, expected exactly 1 (the injected fault)"
              % (key, r.get(key)))
        viol = r.get("violations") or []
        check(any(v.startswith(kind) for v in viol),
              "no %r violation listed: %s" % (kind, viol))
    return finish(tmp)


def r_or_none(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        check(False, "no readable JSON report: %s" % e)
        return None


def subnet_of(hosts, subnets, h):
    """meshsim_net_subnet_of(): contiguous blocks, the first hosts % subnets one larger."""
    base, extra = divmod(hosts, subnets)
    if h < extra * (base + 1):
        return h // (base + 1)
    return extra + (h - extra * (base + 1)) // base


def check_split(r, rc):
    """--fixed-peers none: full mesh inside each subnet, and not one session across."""
    check(rc == 1, "exit status %d, expected 1 (the mesh must stay split)" % rc)
    if r is None:
        return
    n, hosts, subnets = r.get("n"), r.get("hosts"), r.get("subnets")
    check(r.get("fixed_peers") == "none", "fixed_peers is %r" % r.get("fixed_peers"))
    shape = (isinstance(subnets, int) and subnets >= 2 and isinstance(hosts, int) and
             hosts >= subnets and isinstance(n, int))
    check(shape, "subnets %r, hosts %r, n %r" % (subnets, hosts, n))
    if not shape:
        return
    per = [0] * subnets
    for i in range(n):                       # node i is on host i mod hosts
        per[subnet_of(hosts, subnets, i % hosts)] += 1
    inside = sum(k * (k - 1) for k in per)
    steps = [c for _, c in r.get("sessions_steps") or []]
    check(r.get("ok") is False and r.get("converged") is False,
          "ok %r, converged %r: a full mesh without fixed peers means multicast crossed "
          "the router" % (r.get("ok"), r.get("converged")))
    check(steps and max(steps) == inside and steps[-1] == inside,
          "sessions peaked at %s and ended at %s, expected exactly %d (the pairs inside each "
          "subnet, nodes per subnet %s): more is a leak across the router, fewer a subnet "
          "that did not mesh" % (max(steps) if steps else None, steps[-1] if steps else None,
                                 inside, per))
    viol = r.get("violations") or []
    check(len(viol) == 1 and viol[0].startswith("no full mesh"),
          "expected only the missing full mesh as violation: %s" % viol)


ROW = ("messages", "pairs", "delivered", "maybe", "reported", "gone", "lost", "unanswered",
       "bad", "duplicates")


def check_account(r, cmd):
    """churn, faults: every accepted message accounted per recipient, and nothing wrong."""
    a = r.get("account")
    if not check(isinstance(a, dict), "no account in the report: %r" % a):
        return
    total, by = a.get("total") or {}, a.get("by_fault") or {}
    for key in ROW:
        check(total.get(key) == sum((row or {}).get(key, 0) for row in by.values()),
              "account: total %s %r is not the sum over the faults" % (key, total.get(key)))
    outcomes = sum(total.get(k, 0) for k in ("delivered", "maybe", "reported", "gone", "lost",
                                             "unanswered", "bad"))
    check(total.get("pairs") == outcomes,
          "account: %r pairs but %r outcomes" % (total.get("pairs"), outcomes))
    check(total.get("messages", 0) > 0 and total.get("pairs", 0) > 0,
          "account: nothing accounted: %s" % total)
    for key in ("lost", "unanswered", "bad", "duplicates"):
        check(total.get(key) == 0, "account: %s is %r" % (key, total.get(key)))
    check(a.get("order_violations") == 0, "account: order_violations %r"
          % a.get("order_violations"))
    check(a.get("receipts") is ("--no-receipts" not in cmd),
          "account: receipts is %r" % a.get("receipts"))
    if r.get("scenario") == "faults":
        f = a.get("faults") or {}
        for kind, opt in (("cut", "--cuts"), ("kill", "--kills"), ("stop", "--stops"),
                          ("partition", "--partitions"), ("flap", "--flaps"),
                          ("readdr", "--readdrs")):
            if opt in cmd:
                want = int(cmd[cmd.index(opt) + 1])
                check(f.get(kind) == want, "faults: %r %s injected, asked for %d"
                      % (f.get(kind), kind, want))


ATTACKS = ("conn-flood", "beacon-flood", "hello-flood", "partial-hold", "garbage", "mitm")
# attackers on the path of the links: they may delay whatever they carry, so the fresh node's
# times are reported, not bounded (docs/meshsim.md, "Attack")
ON_PATH = ("mitm",)


def check_attack(r, cmd):
    """attack: the baseline, then every attack asked for, each with the victim's figures, a
    fresh node that linked and whispered within the bound, and no message lost."""
    at = r.get("attack")
    if not check(isinstance(at, dict), "no attack object in the report: %r" % at):
        return
    want = ATTACKS
    if "--attacks" in cmd:
        asked = cmd[cmd.index("--attacks") + 1].split(",")
        want = tuple(a for a in ATTACKS if a in asked)
    rows = at.get("attacks") or []
    check([a.get("name") for a in rows] == ["baseline"] + list(want),
          "attack: ran %s, expected baseline then %s" % ([a.get("name") for a in rows], want))
    bound = at.get("link_bound_ms")
    check(isinstance(at.get("victim"), str) and at.get("victim"), "attack: no victim named")
    check(isinstance(at.get("victim_nofile"), int) and at["victim_nofile"] > 0,
          "attack: victim_nofile %r" % at.get("victim_nofile"))
    by = (r.get("account") or {}).get("by_fault") or {}
    for a in rows:
        name = a.get("name")
        link, whisper = a.get("link_ms"), a.get("whisper_ms")
        top = float("inf") if name in ON_PATH else bound
        # null: never, which only an attacker on the path may cause
        check((name in ON_PATH and link is None) or
              (isinstance(link, (int, float)) and 0 <= link <= top),
              "attack %s: link_ms %r, bound %r" % (name, link, bound))
        check((name in ON_PATH and whisper is None) or
              (isinstance(whisper, (int, float)) and 0 <= whisper <= top),
              "attack %s: whisper_ms %r, bound %r" % (name, whisper, bound))
        check(a.get("breach") is False, "attack %s: breach %r (%s)"
              % (name, a.get("breach"), a.get("what")))
        check(a.get("victim_alive") is True and a.get("attacker_ok") is True,
              "attack %s: victim_alive %r, attacker_ok %r (%s)" % (name, a.get("victim_alive"),
                                                                   a.get("attacker_ok"),
                                                                   a.get("what")))
        check(0 < a.get("fds_before", 0) <= a.get("fds_peak", 0) and
              0 < a.get("rss_kb_before", 0) <= a.get("rss_kb_peak", 0),
              "attack %s: implausible fds or RSS: %s" % (name, a))
        check((a.get("account") or {}).get("lost") == 0, "attack %s: lost %r"
              % (name, (a.get("account") or {}).get("lost")))
        if name != "baseline":
            check(a.get("samples", 0) > 0 and a.get("secs", 0) > 0,
                  "attack %s: %r samples in %r s" % (name, a.get("samples"), a.get("secs")))
            check((a.get("account") or {}) == by.get(name),
                  "attack %s: its account %s is not the report's %s"
                  % (name, a.get("account"), by.get(name)))
        if name == "mitm":
            # the load went through it: messages sent meanwhile, and DATA both ways
            check(((a.get("account") or {}).get("messages") or 0) > 0,
                  "attack mitm: no message was sent while it was on the path: %s" % a)
            check("0 accepted (a FINISH, 0 of which checked); 0 frames with plaintext"
                  in (a.get("what") or ""),
                  "attack mitm: %s" % a.get("what"))
        if name == "conn-flood":
            # the attacker's connections reached the victim: not a bound, a sign it ran
            check(a.get("fds_peak", 0) > a.get("fds_before", 0),
                  "attack conn-flood: the victim's fds never rose: %s" % a)


def check_rss_full(r, settle_given):
    """RSS at full mesh: measured for every node of a converged run, and consistent."""
    mean, top = r.get("rss_full_kb_mean"), r.get("rss_full_kb_max")
    check(isinstance(mean, int) and isinstance(top, int) and 0 < mean <= top,
          "rss_full_kb_mean %r, rss_full_kb_max %r" % (mean, top))
    settle = r.get("rss_full_settle_ms")
    check(isinstance(settle, int) and settle > 0, "rss_full_settle_ms %r" % settle)
    hb = (r.get("timers_ms") or {}).get("heartbeat")
    if not settle_given and isinstance(hb, int):
        check(settle == 2 * hb, "rss_full_settle_ms %r is not two heartbeats (%r)" % (settle, hb))
    per = [node.get("rss_full_kb") for node in r.get("nodes") or []]
    check(per and all(isinstance(v, int) and v > 0 for v in per),
          "per-node rss_full_kb: %s" % per[:5])
    if per and all(isinstance(v, int) for v in per):
        check(max(per) == top, "rss_full_kb_max %r is not the largest node's %r" % (top, max(per)))


def check_plot(path, r):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        check(False, "--plot did not write a well-formed SVG: %s" % e)
        return
    check(root.tag.endswith("svg"), "plot root element is %s" % root.tag)
    lines = [e for e in root.iter() if e.tag.endswith("polyline")]
    want = 2 if (r.get("latency_ms") or {}).get("samples") else 1
    check(len(lines) >= want, "plot has %d curves, expected %d" % (len(lines), want))


kept = None


def finish(tmp):
    if kept and os.path.isdir(kept):
        if failures:
            # what each node logged: the only trace of a rare failure in a CI run
            for name in sorted(os.listdir(kept)):
                if name.endswith(".stderr"):
                    path = os.path.join(kept, name)
                    with open(path, errors="replace") as f:
                        lines = f.readlines()
                    sys.stdout.write("-- %s (last %d of %d lines)\n"
                                     % (name, min(40, len(lines)), len(lines)))
                    sys.stdout.write("".join(lines[-40:]))
        shutil.rmtree(kept, ignore_errors=True)
    for f in ("report.json", "plot.svg"):
        try:
            os.unlink(os.path.join(tmp, f))
        except OSError:
            pass
    os.rmdir(tmp)
    print("check_meshsim: %d passed, %d failed" % (checks - len(failures), len(failures)),
          flush=True)
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
