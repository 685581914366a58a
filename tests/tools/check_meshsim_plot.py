#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""check_meshsim_plot: meshsim's --plot tells the truth about each scenario (issue 16).

    check_meshsim_plot.py MESHSIM MESHNODE PLOT_CROWDED

Runs every scenario at small scale with --json and --plot, two at a time (meshsim builds its
own namespaces; run this itself through netns-run), and PLOT_CROWDED (plot_crowded.c: a
made-up run with 40 marks in a second, a title far too long and a long latency tail, which
must show as cut titles, unlabelled marks and a log scale), then checks each SVG against its
JSON report:

  xml      the SVG parses (xml.etree), its root is <svg> with a numeric width and height
  axis     the time axis, read from its tick labels as a reader would (the last tick is its
           end), reaches the last event of the run: the last sample, the last change of the
           sessions, every fault mark and the convergence time
  curve    the sessions line ends at the axis' end... of the data (its last point is the last
           count the run saw, so a run that re-converged ends at full mesh)
  marks    every mark of the report (cut, heal, kill, restart, stop, cont, ...) is drawn as a
           dashed line with a <title> naming it; the scenarios with faults have some
  labels   no two labels of marks overlap (by the same generous width estimate as meshsim),
           every label and title lies inside the picture
  ticks    the x tick labels do not overlap
  log      the latency chart says "log scale" exactly when the tail is long (max/p50 > 20 or
           p99/p50 > 10), and then its y ticks are decades
  png      rsvg-convert renders it: a PNG (its signature) whose IHDR size is the SVG's size

rsvg-convert (Debian: librsvg2-bin, installed by tools/setup.sh) is required: without it
this test fails, since a picture no renderer has drawn is not checked. With KEEP_PLOTS=1 in
the environment the SVGs, PNGs and reports are kept, and their directory printed.

Prints "check_meshsim_plot: N passed, M failed" and exits non-zero on any failure.
"""

import concurrent.futures
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

CHAR_EM = 0.62          # meshsim_report.c's estimate of a character's width, in em
FAST = ["--heartbeat", "200", "--evasive", "600", "--expired", "1500"]

# name, arguments, whether the run has fault marks
RUNS = [
    ("converge", ["-n", "3", "converge", "--seed", "41"], False),
    ("broadcast", ["-n", "3", "broadcast", "--messages", "30", "--seed", "42"], False),
    ("whisper_inproc", ["-n", "3", "whisper", "--inproc", "--messages", "30", "--seed", "43"],
     False),
    ("churn", ["-n", "3", "churn", "--churn-kills", "1", "--seed", "44"] + FAST, True),
    ("partition", ["--hosts", "2", "-n", "2", "partition", "--seed", "45"] + FAST, True),
    ("faults", ["--hosts", "2", "-n", "4", "faults", "--cuts", "2", "--kills", "1", "--stops",
                "1", "--partitions", "1", "--flaps", "1", "--readdrs", "1", "--seed", "46",
                "--ttl", "10000"] + FAST, True),
    ("attack", ["-n", "3", "attack", "--attacks", "garbage", "--attack-secs", "1", "--seed",
                "47"], True),
    ("sim_partition", ["-n", "8", "partition", "--sim", "--seed", "11"], True),
    ("sim_whisper", ["-n", "6", "whisper", "--sim", "--seed", "49", "--messages", "200",
                     "--rate", "100"], False),
]

checks = 0
failures = []


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def tag(e):
    return e.tag.rsplit("}", 1)[-1]


def text_extent(e):
    """x from, x to of a <text>, by meshsim's width estimate."""
    x = num(e.get("x")) or 0
    w = CHAR_EM * (num(e.get("font-size")) or 12) * len("".join(e.itertext()))
    anchor = e.get("text-anchor", "start")
    if anchor == "end":
        return x - w, x
    if anchor == "middle":
        return x - w / 2, x + w / 2
    return x, x + w


def last_event_s(r):
    t = [r.get("convergence_ms") or 0]
    t += [p[0] for p in r.get("sessions_curve") or []][-1:]
    t += [p[0] for p in r.get("sessions_steps") or []][-1:]
    t += [m["ms"] for m in r.get("marks") or []]
    return max(t) / 1000.0


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def check_svg(name, svg, r, faulty):
    try:
        root = ET.parse(svg).getroot()
    except (OSError, ET.ParseError) as e:
        check(False, "%s: not a well-formed SVG: %s" % (name, e))
        return
    check(tag(root) == "svg", "%s: root element is %s" % (name, tag(root)))
    W, H = num(root.get("width")), num(root.get("height"))
    if not check(W and H, "%s: svg width/height %r/%r" % (name, root.get("width"),
                                                          root.get("height"))):
        return
    els = list(root.iter())
    texts = [e for e in els if tag(e) == "text"]

    # axis: the sessions chart comes first; its x ticks are the first run of xtick labels
    xt = []
    for e in texts:
        if e.get("class") == "xtick":
            v = num(e.text)
            if xt and v is not None and v <= xt[-1][0]:
                break                        # the latency chart's ticks begin again at 0
            xt.append((v, e))
    check(len(xt) >= 2, "%s: %d time ticks" % (name, len(xt)))
    if len(xt) >= 2:
        end = xt[-1][0]
        last = last_event_s(r)
        check(end >= last - 1e-9, "%s: the time axis ends at %s s, before the last event at "
              "%.3f s" % (name, end, last))
        plots = [e for e in els if tag(e) == "rect" and e.get("class") == "plot"]
        if check(plots, "%s: no plot area" % name):
            right = num(plots[0].get("x")) + num(plots[0].get("width"))
            check(abs(num(xt[-1][1].get("x")) - right) < 0.2, "%s: the last time tick (%s) "
                  "is not at the axis' end" % (name, xt[-1][1].get("x")))
        # ticks: no two labels overprint
        ext = [text_extent(e) for _, e in xt]
        for a, b in zip(ext, ext[1:]):
            check(a[1] <= b[0], "%s: time tick labels overlap: %s %s" % (name, a, b))
        # curve: its last point is the last count the run saw, and where the run watched last
        line = [e for e in els if tag(e) == "polyline" and e.get("class") == "sessions"]
        steps = r.get("sessions_steps") or r.get("sessions_curve") or []
        if check(line, "%s: no sessions line" % name) and steps:
            pts = [tuple(map(float, p.split(","))) for p in line[0].get("points").split()]
            x0, w = num(plots[0].get("x")), num(plots[0].get("width"))
            watched = max(p[0] for p in (r.get("sessions_curve") or []) + steps) / 1000.0
            want_x = x0 + w * watched / end
            check(abs(pts[-1][0] - want_x) < 1.0, "%s: the sessions line ends at x %.1f, the "
                  "run's last sample or change is at x %.1f" % (name, pts[-1][0], want_x))
            full = [e for e in els if tag(e) == "line" and e.get("stroke") == "#2a7"]
            if full and steps[-1][1] == r.get("sessions_full"):
                check(abs(pts[-1][1] - num(full[0].get("y1"))) < 0.2, "%s: the run ended at "
                      "full mesh, the line does not" % name)

    # marks: one group per mark of the report, and its title names it
    groups = [e for e in els if tag(e) == "g" and e.get("class") == "mark"]
    titles = ["".join(t.itertext()) for g in groups for t in g if tag(t) == "title"]
    marks = r.get("marks")
    if check(isinstance(marks, list), "%s: the report has no marks" % name):
        if faulty:
            check(len(marks) > 0, "%s: a run with faults reported no marks" % name)
        for m in marks:
            check(any(t.startswith(m["what"] + " at ") for t in titles),
                  "%s: mark %r at %.0f ms not drawn" % (name, m["what"], m["ms"]))
    for g in groups:
        check(any(tag(c) == "line" and c.get("stroke-dasharray") for c in g),
              "%s: a mark without its dashed line" % name)

    # labels: marks' labels in a row never overlap; every text inside the picture
    rows = {}
    for e in texts:
        if e.get("class") == "marklabel":
            rows.setdefault(e.get("y"), []).append(text_extent(e))
    for y, ext in rows.items():
        ext.sort()
        for a, b in zip(ext, ext[1:]):
            check(a[1] <= b[0], "%s: mark labels overlap at y %s: %s %s" % (name, y, a, b))
    for e in texts:
        if e.get("transform"):
            continue                         # the rotated y label: checked by its position
        lo, hi = text_extent(e)
        y = num(e.get("y")) or 0
        check(lo >= 0 and hi <= W and 0 < y <= H, "%s: text %r runs off the picture (x %.0f "
              "to %.0f, y %.0f; the picture is %.0f x %.0f)" % (name, "".join(e.itertext()),
                                                               lo, hi, y, W, H))

    # log: the latency chart's scale follows the tail
    lat = r.get("latency_ms")
    ylabels = ["".join(e.itertext()) for e in texts if e.get("class") == "ylabel"]
    if lat and lat.get("samples"):
        p50, p99, mx = lat["p50"], lat["p99"], lat["max"]
        long_tail = mx > 0 if not p50 else (mx / p50 > 20 or p99 / p50 > 10)
        check(len(ylabels) == 2, "%s: %d y axis labels, expected 2" % (name, len(ylabels)))
        if len(ylabels) == 2:
            says = "log scale" in ylabels[1]
            check(says == long_tail, "%s: latency (p50 %s, p99 %s, max %s): 'log scale' %s"
                  % (name, p50, p99, mx, "missing" if long_tail else "where the tail is short"))
            if says:
                yt = [num(e.text) for e in texts if e.get("class") == "ytick"]
                dec = [v for v in yt if v and abs(math.log10(v) - round(math.log10(v))) < 1e-9]
                check(len(dec) >= 2, "%s: log scale without decade ticks: %s" % (name, yt))


def render(name, svg, png):
    W = H = None
    try:
        root = ET.parse(svg).getroot()
        W, H = num(root.get("width")), num(root.get("height"))
    except (OSError, ET.ParseError):
        pass
    p = subprocess.run(["rsvg-convert", "-o", png, svg], stderr=subprocess.PIPE, text=True)
    if not check(p.returncode == 0, "%s: rsvg-convert failed (%d): %s"
                 % (name, p.returncode, p.stderr.strip())):
        return
    if not check(os.path.exists(png), "%s: rsvg-convert wrote no %s" % (name, png)):
        return
    size = png_size(png)
    if check(size is not None, "%s: %s is not a PNG (signature or IHDR)" % (name, png)):
        check(W is not None and size == (int(W), int(H)), "%s: PNG is %s, the SVG %sx%s"
              % (name, size, W, H))


def run(meshsim, meshnode, tmp, name, args):
    report = os.path.join(tmp, name + ".json")
    svg = os.path.join(tmp, name + ".svg")
    argv = [meshsim, "--meshnode", meshnode] + args + ["--quiet", "--json", report,
                                                       "--plot", svg]
    try:
        p = subprocess.run(argv, timeout=120, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        return argv, p.returncode, p.stdout, report, svg
    except subprocess.TimeoutExpired:
        return argv, None, "timed out after 120 s", report, svg


def check_crowded(prog, tmp):
    p = subprocess.run([prog, tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not check(p.returncode == 0, "plot_crowded: exit status %d: %s" % (p.returncode, p.stdout)):
        return
    svg = os.path.join(tmp, "crowded.svg")
    with open(os.path.join(tmp, "crowded.json")) as f:
        r = json.load(f)
    check_svg("crowded", svg, r, True)
    render("crowded", svg, os.path.join(tmp, "crowded.png"))
    texts = ["".join(e.itertext()) for e in ET.parse(svg).getroot().iter()
             if tag(e) == "text"]
    check(any(t.startswith("a scenario whose name") and t.endswith("...") for t in texts),
          "crowded: the long subtitle was not cut short")
    check(any("too close to label" in t for t in texts),
          "crowded: 40 marks in a second, yet none left unlabelled")
    check(any("log scale" in t for t in texts), "crowded: a long tail without a log scale")


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    meshsim, meshnode, crowded = sys.argv[1:]
    if not shutil.which("rsvg-convert"):
        print("FAIL: rsvg-convert not found: install librsvg2-bin (tools/setup.sh does); "
              "the plots cannot be checked without a renderer", flush=True)
        print("check_meshsim_plot: 0 passed, 1 failed")
        return 1
    tmp = tempfile.mkdtemp(prefix="check-meshsim-plot-")
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            jobs = [(name, faulty, pool.submit(run, meshsim, meshnode, tmp, name, args))
                    for name, args, faulty in RUNS]
            for name, faulty, job in jobs:
                argv, rc, out, report, svg = job.result()
                print("check_meshsim_plot: %s: %s" % (name, " ".join(argv)), flush=True)
                if not check(rc == 0, "%s: exit status %s\n%s" % (name, rc, out)):
                    continue
                with open(report) as f:
                    r = json.load(f)
                check_svg(name, svg, r, faulty)
                render(name, svg, os.path.join(tmp, name + ".png"))
        check_crowded(crowded, tmp)
    finally:
        if os.environ.get("KEEP_PLOTS"):
            print("check_meshsim_plot: plots kept in " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("check_meshsim_plot: %d passed, %d failed" % (checks - len(failures), len(failures)),
          flush=True)
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
