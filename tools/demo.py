#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""The README's demo: a small mesh on this machine, inside its own network namespace.

Starts four real meshnode processes (alice, bob, carol, dave) on the loopback interface of a
private network namespace (nothing reaches a real network), then shows, from each node's own
event stream:
  1. discovery: every node enters every other one (times measured);
  2. a group broadcast: alice, bob and dave join "lobby", alice shouts, only lobby members
     hear it;
  3. a direct message: carol whispers to bob alone;
  4. the short authentication string of one link, identical at both ends;
  5. alice's /status: each link's endpoint, age, round trip and traffic, like `wg show`.

Usage: tools/demo.py [path/to/meshnode]     (default: build/node/meshnode)
"""
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NETNS_RUN = os.path.join(ROOT, "tests", "integration", "netns-run")


def say(text):
    print(text, flush=True)


class Node:
    def __init__(self, binary, name, workdir, groups=()):
        self.name = name
        self.events = queue.Queue()
        self.backlog = []      # events read but not yet taken by a wait, in arrival order
        self.id = None
        args = [binary, "--json", "--iface", "lo", "--name", name,
                "--identity", os.path.join(workdir, name + ".id"),
                "--mcast-port", "47474", "--beacon-interval", "500",
                "--log-level", "warn"]
        for g in groups:
            args += ["--group", g]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=sys.stderr, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                say(f"[{self.name}] unparsable output: {line.strip()}")

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def wait(self, pred, timeout=10.0, what="an event"):
        """The first event, in arrival order, that pred accepts. The events it passes over
        stay for later waits: dave's join may come before bob's, and a wait for bob's must
        not throw dave's away."""
        for i, ev in enumerate(self.backlog):
            if pred(ev):
                del self.backlog[i]
                return ev
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"demo: {self.name} did not see {what} within {timeout} s")
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if pred(ev):
                return ev
            self.backlog.append(ev)

    def take_all(self):
        """Every event no wait has taken yet, in arrival order."""
        evs, self.backlog = self.backlog, []
        while True:
            try:
                evs.append(self.events.get_nowait())
            except queue.Empty:
                return evs

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.send("/quit")
                self.proc.wait(timeout=5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "node", "meshnode")
    binary = os.path.abspath(binary)
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"demo: no meshnode at {binary}; build first (tools/setup.sh)")
    if os.environ.get("MN_IN_NETNS") != "1":
        # Never on the real network: re-run inside a private namespace (loopback only).
        os.execv(NETNS_RUN, [NETNS_RUN, sys.executable, os.path.abspath(__file__), binary])

    workdir = tempfile.mkdtemp(prefix="meshnode-demo.")
    nodes = []
    try:
        say("== meshnode demo: 4 nodes in a private network namespace (loopback only)")
        t0 = time.monotonic()
        for name in ("alice", "bob", "carol", "dave"):
            nodes.append(Node(binary, name, workdir))
        alice, bob, carol, dave = nodes
        for n in nodes:
            ev = n.wait(lambda e: e["event"] == "ready", what="ready")
            n.id = ev["id"]
            say(f"[{n.name}] ready  id {ev['id'][:16]}...  fingerprint {ev['fingerprint']}"
                f"  listening on {ev['endpoint']}")

        say("\n== 1. discovery (UDP multicast beacons, then a Noise XX handshake per pair)")
        for n in nodes:
            others = {m.id: m.name for m in nodes if m is not n}
            while others:
                ev = n.wait(lambda e: e["event"] == "enter" and e["peer"] in others,
                            what="every peer enter")
                others.pop(ev["peer"])
                say(f"[{n.name}] enter: {ev['name']} at {ev['endpoint']}"
                    f"  (+{time.monotonic() - t0:.2f} s)")
        say(f"full mesh: 4 nodes, 6 authenticated links, {time.monotonic() - t0:.2f} s after start")

        say("\n== 2. group broadcast: alice, bob and dave join 'lobby'; carol does not")
        for n in (alice, bob, dave):
            n.send("/join lobby")
        for n in (bob, dave):
            n.wait(lambda e: e["event"] == "join" and e["peer"] == alice.id, what="alice's join")
        for m in (bob, dave):
            alice.wait(lambda e: e["event"] == "join" and e["peer"] == m.id,
                       what=f"{m.name}'s join")
        alice.send("/shout lobby hello, lobby!")
        for n in (bob, dave):
            ev = n.wait(lambda e: e["event"] == "shout", what="the shout")
            say(f"[{n.name}] shout in {ev['group']} from {ev['name']} (message {ev['id']}): "
                f"{ev['text']!r}")

        say("\n== 3. direct message: carol whispers to bob alone")
        carol.send("/msg bob hi bob, this is just for you")
        ev = bob.wait(lambda e: e["event"] == "whisper", what="the whisper")
        say(f"[bob]   whisper from {ev['name']} (message {ev['id']}): {ev['text']!r}")

        # carol was not in lobby and alice was not the whisper's target: check they heard nothing
        time.sleep(0.3)
        for n in (carol, alice, dave):
            for e in n.take_all():
                if e["event"] in ("shout", "whisper"):
                    raise SystemExit(f"demo: {n.name} received a {e['event']} meant for others")
        say("[carol] heard no shout (not in lobby); [alice] and [dave] heard no whisper "
            "(not the target)")

        say("\n== 4. out-of-band check of one link (compare these digits by voice)")
        alice.send("/verify bob")
        a = alice.wait(lambda e: e["event"] == "verify", what="verify")
        bob.send("/verify alice")
        b = bob.wait(lambda e: e["event"] == "verify", what="verify")
        say(f"[alice] link to bob:   {a['sas']}")
        say(f"[bob]   link to alice: {b['sas']}")
        if a["sas"] != b["sas"]:
            raise SystemExit("demo: the two ends disagree: the link is not what it seems")

        say("\n== 5. alice's /status: her links, like `wg show`")
        alice.send("/status")
        st = alice.wait(lambda e: e["event"] == "status", what="status")
        say(f"[alice] up {st['uptime_ms'] / 1000:.1f} s, {st['peer_count']} peers, "
            f"{st['tx_msgs']} messages sent, {st['rx_msgs']} received, "
            f"{st['tx_bytes']} B out, {st['rx_bytes']} B in")
        say("        peer   endpoint            session  last rx  rtt    msgs out/in  bytes out/in"
            "  queued  rekeys")
        for p in st["peers"]:
            rtt = f"{p['rtt_ms']} ms" if "rtt_ms" in p else "-"
            say(f"        {p['name']:<6} {p['endpoint']:<19} {p['session_age_ms'] / 1000:5.1f} s"
                f"  {p['last_rx_age_ms']:4d} ms  {rtt:<6} {p['tx_msgs']:4d} / {p['rx_msgs']:<4d}"
                f"  {p['tx_bytes']:5d} / {p['rx_bytes']:<5d} {p['queued_msgs']:6d}"
                f"  {p['rekeys']:6d}")
        if st["peer_count"] != 3:
            raise SystemExit("demo: alice's /status does not show her 3 links")

        say("\n== clean stop: the others see EXIT at once (BYE), not after a timeout")
        carol.stop()
        ev = alice.wait(lambda e: e["event"] == "exit", what="carol's exit")
        say(f"[alice] exit: {ev['name']} ({ev['reason']})")
        say("\ndemo finished: discovery, a group broadcast and a direct message all worked")
    finally:
        for n in nodes:
            n.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
