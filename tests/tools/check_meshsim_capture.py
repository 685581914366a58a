#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""meshsim --capture and --keylog: a broadcast run is captured in meshsim's own namespace, and
the Wireshark dissector (tools/wireshark/meshnode.lua) reads it. Without the key log every
packet that carries bytes dissects, nothing is malformed and no message text shows; with it, the
broadcast payloads (meshsim_msg_payload(): "s<sender>-<m> ...") appear decrypted. tshark missing
is a failure, not a skip. Run under netns-run. Usage: check_meshsim_capture.py MESHSIM LUA"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def tshark(pcap, lua, args):
    exe = shutil.which("tshark")
    if exe is None:
        fail("tshark is not installed (tools/setup.sh installs it)")
    r = subprocess.run([exe, "-n", "-r", pcap, "-X", "lua_script:" + lua,
                        "-o", "tcp.try_heuristic_first:TRUE"] + args,
                       capture_output=True, timeout=60)
    err = r.stderr.decode(errors="replace")
    if r.returncode != 0 or "Lua" in err or "error" in err.lower():
        fail("tshark %s failed (%d): %s" % (" ".join(args), r.returncode, err))
    return r.stdout.decode(errors="replace")


def main():
    meshsim, lua = sys.argv[1], sys.argv[2]
    messages = 5
    with tempfile.TemporaryDirectory(prefix="meshsim-capture-") as d:
        pcap, keylog = os.path.join(d, "run.pcap"), os.path.join(d, "run.keys")
        r = subprocess.run([meshsim, "-n", "3", "broadcast", "--messages", str(messages),
                            "--seed", "11", "--quiet", "--capture", pcap, "--keylog", keylog],
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            fail("meshsim failed (%d): %s" % (r.returncode, r.stderr.decode(errors="replace")))
        st = os.stat(keylog)
        if stat.S_IMODE(st.st_mode) != 0o600:
            fail("the key log is mode %o, not 600" % stat.S_IMODE(st.st_mode))
        with open(keylog) as f:
            sessions = sum(1 for l in f if l.startswith("MESHNODE_SESSION "))
        if sessions < 3:
            fail("%d MESHNODE_SESSION lines for 3 nodes" % sessions)

        # 1. without the key log
        total = tshark(pcap, lua, ["-T", "fields", "-e", "frame.number"]).split()
        if len(total) < 20:
            fail("only %d packets captured" % len(total))
        bad = tshark(pcap, lua, ["-Y", "_ws.malformed || meshnode.malformed || meshnode.zmtp.bad"
                                 " || _ws.expert.severity == error"])
        if bad.strip():
            fail("malformed packets:\n" + bad[:2000])
        # a segment that only starts a PDU is marked in the packet that completes it; the
        # 64-byte ZMTP greeting comes in pieces the heuristic may pass over before it matches
        undissected = tshark(pcap, lua, ["-Y", "(udp || (tcp.len > 0 && tcp.seq >= 64)) && "
                                         "!meshnode && !tcp.reassembled_in"])
        if undissected.strip():
            fail("packets with bytes that are not meshnode:\n" + undissected[:2000])
        plain = tshark(pcap, lua, ["-T", "fields", "-e", "meshnode.msg.text"])
        if plain.strip():
            fail("message text without the key log: %r" % plain[:200])

        # 2. with the key log: the broadcast payloads
        opt = ["-o", "meshnode.keylog:" + keylog]
        texts = tshark(pcap, lua, ["-T", "fields", "-e", "meshnode.msg.text"] + opt)
        found = set(m.group(0) for m in re.finditer(r"\bs[0-9]+-[0-9]+\b", texts))
        seen = set(int(t.split("-")[1]) for t in found)
        if seen != set(range(messages)):
            fail("broadcast messages decrypted with the key log: %s, not all %d"
                 % (sorted(found), messages))
        print("OK: %d packets, %d session keys, payloads decrypted: %s"
              % (len(total), sessions, " ".join(sorted(found))))


main()
