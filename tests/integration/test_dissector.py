#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""The Wireshark dissector (tools/wireshark/meshnode.lua) and the key log (--keylog).

Inside the private namespace: tcpdump captures lo while three meshnode processes (alice
writing a key log, all rekeying every 300 ms) link, shout, whisper and stop; then tshark
reads the file with the dissector:
  - without the key log, every beacon and every TCP byte on the nodes' links is dissected
    (the ZMTP units add up to every TCP payload byte), nothing is malformed, and the texts
    sent appear nowhere;
  - with alice's key log, the shout (before and after a rekey), the whispers (one in a long
    ZMTP frame) appear decrypted, and every DATA frame to one of alice's sessions opens.
A closed mesh does the same with sealed beacons, which the key log's beacon key opens. The
pure-Lua ChaCha20/Poly1305 is checked against RFC 8439's vectors first. tshark missing is a
failure, not a skip: tools/setup.sh installs it.

Run: tests/integration/netns-run python3 test_dissector.py [MESHNODE]
"""
import os
import random
import re
import shutil
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import check, start_nodes, wait_mesh  # noqa: E402
from test_capture import Capture  # noqa: E402

LUA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "tools", "wireshark", "meshnode.lua"))
GROUP = "g-dissect"
SHOUT = "shout-dissector-canary-4711"
SHOUT2 = "after-rekey-canary-4712"
WHISPER = "whisper-dissector-canary-4713"
# over 255 bytes: its ZMTP frame takes the 8-byte size form
LONG = "long-whisper-canary-" + "x" * 400
TEXTS = [SHOUT, SHOUT2, WHISPER, LONG]
REKEY = ["--rekey-interval", "300"]


def tshark(ctx, args, timeout=120.0):
    exe = shutil.which("tshark")
    check(exe is not None, "tshark is not installed (tools/setup.sh installs it)")
    r = ctx.run([exe, "-n", "-o", "tcp.try_heuristic_first:TRUE", "-X", "lua_script:" + LUA]
                + args, timeout=timeout)
    err = "\n".join(l for l in r.stderr.decode(errors="replace").splitlines()
                    if "Running as user" not in l and l.strip())
    check(r.returncode == 0, "tshark %s failed (%d): %s" % (" ".join(args), r.returncode, err))
    check("Lua" not in err and "error" not in err.lower(), "tshark complained: %s" % err)
    return r.stdout.decode(errors="replace")


def fields(ctx, pcap, names, extra=()):
    """One dict per packet: field name -> list of values (occurrences in order)."""
    args = ["-r", pcap, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
            "-E", "separator=\t"] + list(extra)
    for n in names:
        args += ["-e", n]
    rows = []
    for line in tshark(ctx, args).splitlines():
        cols = line.split("\t")
        cols += [""] * (len(names) - len(cols))
        rows.append({n: (c.split("|") if c else []) for n, c in zip(names, cols)})
    return rows


def empty_pcap(ctx):
    path = ctx.path("empty.pcap")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    return path


def test_lua_crypto_vectors(ctx):
    out = tshark(ctx, ["-r", empty_pcap(ctx), "-X", "lua_script1:selftest"])
    m = re.search(r"selftest: (\d+) passed, (\d+) failed", out)
    check(m is not None, "the dissector's selftest printed nothing: %r" % out[-500:])
    check(int(m.group(2)) == 0 and int(m.group(1)) >= 9, "selftest: %s" % out.strip())


def node_port(n):
    return int(n.endpoint.rsplit(":", 1)[1])


def session_lines(path):
    with open(path) as f:
        return [l.split() for l in f if l.startswith("MESHNODE_SESSION ")]


def run_mesh(ctx, mesh_key=None):
    """The capture, alice's key log and the nodes' TCP ports, from a capture that lost no
    packet: every byte of the links must be in it. A run whose capture lost some (the kernel
    dropped them before tcpdump read them: the machine, not the dissector) is run again."""
    for attempt in range(3):
        got = run_mesh_once(ctx, mesh_key, attempt)
        if got:
            return got
    mt.fail("tcpdump lost packets in 3 runs")


def run_mesh_once(ctx, mesh_key, attempt):
    keylog = ctx.path("alice%d.keylog" % attempt)
    cap = Capture(ctx, buffer_kib=65536)
    a = mt.Node(ctx, "alice", groups=[GROUP], mesh_key=mesh_key, wait_ready=False,
                extra=REKEY + ["--keylog", keylog])
    b, c = [mt.Node(ctx, n, groups=[GROUP], mesh_key=mesh_key, wait_ready=False, extra=REKEY)
            for n in ("bob", "carol")]
    for n in (a, b, c):
        n.wait_ready()
    check(oct(os.stat(keylog).st_mode & 0o777) == "0o600", "the key log is not mode 0600")
    wait_mesh([a, b, c], timeout=10.0)
    mb, mc, ma = b.mark(), c.mark(), a.mark()
    a.shout(GROUP, SHOUT)
    for n, m in ((b, mb), (c, mc)):
        ev = n.wait_event("shout", a, timeout=5.0, start=m, group=GROUP)
        check(ev.get("text") == SHOUT, "shout arrived altered: %s" % mt.describe(ev))
    b.whisper(a, WHISPER)
    a.wait_event("whisper", b, timeout=5.0, start=ma)
    # the sessions rekey every 300 ms: wait until both of alice's have new keys logged
    deadline = time.monotonic() + mt.T(10)
    while len(session_lines(keylog)) < 6:
        check(time.monotonic() < deadline, "alice logged only %d session keys in 10 s"
              % len(session_lines(keylog)))
        time.sleep(0.05)  # polls the key log for rekeys
    mb = b.mark()
    a.shout(GROUP, SHOUT2)
    b.wait_event("shout", a, timeout=5.0, start=mb, group=GROUP)
    a.whisper(b, LONG)
    b.wait_event("whisper", a, timeout=5.0, start=mb)
    ports = [node_port(n) for n in (a, b, c)]
    for n in (a, b, c):
        n.quit_cleanly()
    cap.stop()
    if cap.dropped():
        print("  tcpdump lost %d packets: running the mesh again" % cap.dropped())
        return None
    return cap.path, keylog, ports, a.mcast_port


FIELDS = ["frame.number", "frame.protocols", "udp.dstport", "tcp.srcport", "tcp.dstport",
          "tcp.len", "meshnode.zmtp.length", "meshnode.frame", "meshnode.receiver_sid",
          "meshnode.decrypted", "meshnode.msg", "meshnode.msg.text", "meshnode.beacon.sealed",
          "meshnode.beacon.node_id"]


def check_dissected(rows, ports, mcast_port, sealed):
    beacons = [r for r in rows if r["udp.dstport"] == [str(mcast_port)]]
    check(len(beacons) >= 3, "only %d beacons in the capture" % len(beacons))
    for r in beacons:
        check("meshnode" in r["frame.protocols"][0].split(":"),
              "beacon in packet %s not dissected: %s" % (r["frame.number"], r["frame.protocols"]))
        check(r["meshnode.beacon.sealed"] == [("1" if sealed else "0")],
              "beacon in packet %s: sealed=%s" % (r["frame.number"], r["meshnode.beacon.sealed"]))
    tcp_bytes = zmtp_bytes = 0
    links = 0
    for r in rows:
        if not r["tcp.srcport"]:
            continue
        if int(r["tcp.srcport"][0]) not in ports and int(r["tcp.dstport"][0]) not in ports:
            continue
        links += 1
        tcp_bytes += int(r["tcp.len"][0]) if r["tcp.len"] else 0
        zmtp_bytes += sum(int(x) for x in r["meshnode.zmtp.length"])
    check(links > 20, "only %d TCP packets on the nodes' ports" % links)
    check(tcp_bytes > 1000 and zmtp_bytes == tcp_bytes,
          "ZMTP greetings and frames cover %d of the %d TCP payload bytes on the links"
          % (zmtp_bytes, tcp_bytes))
    frames = sum(len(r["meshnode.frame"]) for r in rows)
    hellos = sum(r["meshnode.frame"].count("1") for r in rows)
    check(hellos >= 3 and frames > 3 * hellos, "%d frames, %d HELLOs dissected" % (frames, hellos))
    print("  dissected: %d beacons, %d TCP packets (%d payload bytes) on the links, %d frames"
          % (len(beacons), links, tcp_bytes, frames))


def check_capture(ctx, pcap, keylog, ports, mcast_port, sealed):
    # 1. no key log: everything dissected, nothing malformed, no plaintext
    rows = fields(ctx, pcap, FIELDS)
    check_dissected(rows, ports, mcast_port, sealed)
    bad = tshark(ctx, ["-r", pcap, "-Y", "_ws.malformed || meshnode.malformed || "
                       "meshnode.zmtp.bad || _ws.expert.severity == error"])
    check(bad.strip() == "", "malformed or undissected packets:\n%s" % bad[:2000])
    plain = tshark(ctx, ["-r", pcap, "-V"])
    check("meshnode frame: DATA" in plain, "no DATA frame in tshark -V")
    for t in TEXTS:
        check(t[:20] not in plain, "%r appears without the key log" % t[:20])
    if sealed:
        check(not any(r["meshnode.beacon.node_id"] for r in rows),
              "a sealed beacon shows a node ID without the key log")

    # 2. alice's key log: her sessions' frames open, and the texts appear
    opt = ["-o", "meshnode.keylog:" + keylog]
    rows = fields(ctx, pcap, FIELDS, opt)
    check_dissected(rows, ports, mcast_port, sealed)
    ours = set()
    for l in session_lines(keylog):
        ours.add(int(l[1], 16))
        ours.add(int(l[2], 16))
    opened = missed = other = 0
    texts = []
    for r in rows:
        sids, dec = r["meshnode.receiver_sid"], r["meshnode.decrypted"]
        check(len(sids) == len(dec), "packet %s: %d DATA frames, %d decryption marks"
              % (r["frame.number"], len(sids), len(dec)))
        for s, d in zip(sids, dec):
            if int(s, 16) in ours:
                opened += d == "1"
                missed += d != "1"
            else:
                other += 1
        texts += r["meshnode.msg.text"]
    check(missed == 0 and opened > 20, "%d DATA frames of alice's sessions opened, %d did not"
          % (opened, missed))
    check(other > 0, "no DATA frame between bob and carol (which alice cannot open)")
    for t in TEXTS:
        check(t in texts, "%r not decrypted with the key log" % t[:30])
    msgs = set(m for r in rows for m in r["meshnode.msg"])
    for want, name in (("1", "ACCEPT"), ("3", "HEARTBEAT"), ("7", "SHOUT"), ("8", "WHISPER"),
                       ("9", "ACK"), ("12", "REKEY"), ("13", "REKEY_REPLY"), ("4", "BYE")):
        check(want in msgs, "no %s decrypted" % name)
    if sealed:
        opened_b = [r for r in rows if r["udp.dstport"] == [str(mcast_port)]]
        check(all(r["meshnode.beacon.node_id"] for r in opened_b),
              "a sealed beacon did not open with the key log's beacon key")
    shown = tshark(ctx, ["-r", pcap, "-V", "-Y", "meshnode.msg.text == \"%s\"" % SHOUT] + opt)
    check("Payload text: " + SHOUT in shown and "Message: SHOUT" in shown,
          "tshark -V does not show the shout's text")
    print("  with the key log: %d DATA frames opened, %d of other sessions; texts: %d"
          % (opened, other, len(texts)))


def payload_spans(data):
    """(offset, length) of each UDP or TCP payload of an Ethernet pcap (what tcpdump -i lo
    writes), in file order."""
    check(struct.unpack("<I", data[:4])[0] == 0xa1b2c3d4 and
          struct.unpack("<I", data[20:24])[0] == 1, "not a little-endian Ethernet pcap")
    spans, pos = [], 24
    while pos + 16 <= len(data):
        incl = struct.unpack("<I", data[pos + 8:pos + 12])[0]
        pkt = pos + 16
        if incl >= 34 and data[pkt + 12:pkt + 14] == b"\x08\x00":
            ip = pkt + 14
            ihl = (data[ip] & 15) * 4
            total = struct.unpack(">H", data[ip + 2:ip + 4])[0]
            l4 = ip + ihl
            if data[ip + 9] == 17:
                body = l4 + 8
            elif data[ip + 9] == 6:
                body = l4 + (data[l4 + 12] >> 4) * 4
            else:
                body = None
            end = min(ip + total, pkt + incl)
            if body is not None and end > body:
                spans.append((body, end - body))
        pos = pkt + incl
    return spans


def fuzz_capture(ctx, pcap, keylog, rounds=8):
    """The hostile twin: payload bytes of the capture flipped at random (headers left alone,
    so the bytes reach the dissector), read with the key log: tshark must not fail, and no Lua
    error may show; the flips must show as malformed frames or frames that do not open."""
    data = open(pcap, "rb").read()
    spans = payload_spans(data)
    check(len(spans) > 50, "only %d payloads found in the capture" % len(spans))
    rng = random.Random(4711)
    noticed = 0
    for i in range(rounds):
        buf = bytearray(data)
        for off, n in rng.sample(spans, min(len(spans), 40)):
            for _ in range(rng.randint(1, 3)):
                buf[off + rng.randrange(n)] ^= 1 << rng.randrange(8)
        path = ctx.path("fuzz%d.pcap" % i)
        with open(path, "wb") as f:
            f.write(buf)
        out = tshark(ctx, ["-r", path, "-V", "-o", "meshnode.keylog:" + keylog])
        check("Lua Error" not in out and "lua_error" not in out,
              "round %d: a Lua error while dissecting flipped bytes: %s"
              % (i, out[out.find("Lua Error"):][:300]))
        noticed += out.count("Malformed meshnode") + out.count("Decrypted: False")
    check(noticed > rounds, "the flipped bytes went unnoticed (%d)" % noticed)
    print("  %d rounds of flipped payload bytes: %d malformed or unopened frames, no Lua error"
          % (rounds, noticed))


def test_open_mesh(ctx):
    pcap, keylog, ports, mport = run_mesh(ctx)
    check_capture(ctx, pcap, keylog, ports, mport, sealed=False)
    fuzz_capture(ctx, pcap, keylog)


def test_closed_mesh(ctx):
    key = ctx.path("mesh.key")
    r = ctx.run([ctx.binary, "--gen-mesh-key", key])
    check(r.returncode == 0, "--gen-mesh-key failed: %s" % r.stderr.decode(errors="replace"))
    pcap, keylog, ports, mport = run_mesh(ctx, mesh_key=key)
    with open(keylog) as f:
        check(sum(l.startswith("MESHNODE_BEACON ") for l in f) == 1,
              "the key log has not exactly one beacon key")
    check_capture(ctx, pcap, keylog, ports, mport, sealed=True)


if __name__ == "__main__":
    mt.run([
        test_lua_crypto_vectors,
        test_open_mesh,
        test_closed_mesh,
    ])
