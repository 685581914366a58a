#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""What an eavesdropper on the LAN sees: capture every packet on lo (inside the private
namespace) while two nodes discover each other, shout and whisper, then check that no name,
group, payload (or mesh key) appears anywhere in the capture file.

Run: tests/integration/netns-run python3 test_capture.py [MESHNODE]
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import check, start_nodes, wait_mesh  # noqa: E402

NAMES = ["zebra-secret-name-4711", "okapi-secret-name-4712"]
GROUP = "g-canary-group"
SHOUT = "payload-canary-1234"
WHISPER = "whisper-canary-5678"
# Sent in the clear by the test itself: proves that the capture would show a plaintext string.
CONTROL = b"control-canary-9999"


class Capture:
    def __init__(self, ctx, iface="lo", buffer_kib=None):
        self.path = ctx.path("capture.pcap")
        self.err_path = ctx.path("tcpdump.stderr")
        self.err = open(self.err_path, "wb")
        # -Z root: tcpdump would otherwise drop to its own user, which cannot write in our
        # 0700 temporary directory. -s 0: whole packets. -U and --immediate-mode: hand every
        # packet over and write it at once; without immediate mode, packets still in the
        # capture ring when SIGINT arrives are counted "received by filter" but never written.
        # buffer_kib: tcpdump's -B. Its ring has one slot of the snapshot length (256 KiB) per
        # packet, so the default 2 MiB holds 8 packets, and a burst can lose some.
        extra = ["-B", str(buffer_kib)] if buffer_kib else []
        self.proc = ctx.popen(["tcpdump", "-i", iface, "-w", self.path, "-U", "--immediate-mode",
                               "-s", "0", "-n", "-Z", "root"] + extra, stdout=subprocess.DEVNULL,
                              stderr=self.err)
        deadline = time.monotonic() + mt.T(10)
        while b"listening on" not in open(self.err_path, "rb").read():
            if self.proc.poll() is not None:
                mt.fail("tcpdump exited (rc=%s): %s" % (self.proc.returncode, mt.tail(self.err_path)))
            if time.monotonic() > deadline:
                mt.fail("tcpdump not listening within 10s: %s" % mt.tail(self.err_path))
            time.sleep(0.02)  # polls tcpdump's stderr for its "listening on" line

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(mt.T(10))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            mt.fail("tcpdump did not stop on SIGINT")
        self.err.close()
        return open(self.path, "rb").read()

    def dropped(self):
        """Packets the kernel dropped before tcpdump read them (its summary on stop)."""
        m = re.search(r"(\d+) packets? dropped by kernel", open(self.err_path).read())
        return int(m.group(1)) if m else 0


def send_control(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(CONTROL, ("127.0.0.1", port))
    s.close()


def decoded_lines(ctx, path):
    r = ctx.run(["tcpdump", "-r", path, "-nn"], timeout=30)
    check(r.returncode == 0, "tcpdump -r failed: %s" % r.stderr.decode(errors="replace"))
    return r.stdout.decode(errors="replace").splitlines()


def exchange_and_check(ctx, mesh_key=None):
    cap = Capture(ctx)
    a, b = start_nodes(ctx, NAMES, groups=[GROUP], mesh_key=mesh_key)
    wait_mesh([a, b], timeout=5.0)
    ma, mb = a.mark(), b.mark()
    a.shout(GROUP, SHOUT)
    ev = b.wait_event("shout", a, timeout=5.0, start=mb, group=GROUP)
    check(ev.get("text") == SHOUT, "shout arrived altered: %s" % mt.describe(ev))
    b.whisper(a, WHISPER)
    ev = a.wait_event("whisper", b, timeout=5.0, start=ma)
    check(ev.get("text") == WHISPER, "whisper arrived altered: %s" % mt.describe(ev))
    # A join after the session is up travels in a JOIN message, not only in the handshake.
    a.command("/join " + GROUP + "-late", "joined")
    b.wait_event("join", a, timeout=5.0, start=mb, group=GROUP + "-late")
    ports = [int(n.endpoint.rsplit(":", 1)[1]) for n in (a, b)]
    send_control(a.mcast_port)
    for n in (a, b):
        n.quit_cleanly()
    pcap = cap.stop()

    # The capture is real: it holds the control string, the beacons and the TCP links.
    check(len(pcap) > 1024, "capture is only %d bytes" % len(pcap))
    check(CONTROL in pcap, "the capture does not even show the test's own plaintext datagram")
    lines = decoded_lines(ctx, cap.path)
    udp = [l for l in lines if re.search(r"\.%d: UDP" % a.mcast_port, l)]
    tcp = [l for l in lines if any(re.search(r"\.%d[ :]" % p, l) for p in ports)
           and " Flags " in l]
    check(len(udp) >= 2, "only %d beacon packets to port %d in the capture" % (len(udp), a.mcast_port))
    check(len(tcp) > 10, "only %d TCP packets to/from the nodes' ports %s in the capture"
          % (len(tcp), ports))
    print("  capture: %d bytes, %d packets, %d beacons, %d TCP packets on the links"
          % (len(pcap), len(lines), len(udp), len(tcp)))

    # Names, groups and payloads, also case-folded and without their last character (a
    # truncated leak), must not appear anywhere in the file.
    low = pcap.lower()
    for s in NAMES + [GROUP, SHOUT, WHISPER]:
        check(s.encode() not in pcap, "%r appears in the capture" % s)
        check(s[:-1].lower().encode() not in low, "%r (case-folded, truncated) appears in the "
              "capture" % s[:-1])
    if mesh_key:
        hexkey = open(mesh_key, "rb").read().strip().decode()
        check(hexkey.lower().encode() not in low, "the mesh key (hex) appears in the capture")
        check(bytes.fromhex(hexkey) not in pcap, "the mesh key (raw bytes) appears in the capture")


def test_open_mesh_capture_shows_no_plaintext(ctx):
    exchange_and_check(ctx)


def test_closed_mesh_capture_shows_no_plaintext(ctx):
    key = ctx.path("mesh.key")
    r = ctx.run([ctx.binary, "--gen-mesh-key", key])
    check(r.returncode == 0, "--gen-mesh-key failed: %s" % r.stderr.decode(errors="replace"))
    exchange_and_check(ctx, mesh_key=key)


if __name__ == "__main__":
    mt.run([
        test_open_mesh_capture_shows_no_plaintext,
        test_closed_mesh_capture_shows_no_plaintext,
    ])
