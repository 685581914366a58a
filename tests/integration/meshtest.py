# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""meshtest: the harness for meshnode integration tests (Python 3 standard library only).

Every test script runs as `netns-run python3 test_x.py [MESHNODE]`: netns-run puts it in a
private network namespace whose only interface is lo, and this module refuses to do anything
unless it finds itself in such a namespace. Nodes are real `meshnode --json` processes; their
stdout (JSON lines) is parsed by a reader thread into an event list, their stderr goes to a
file whose tail is printed when a test fails.

Synchronisation is always "wait for a condition, with a deadline" (Node.wait_for and friends),
never a fixed sleep. Every wait fails fast if the node exits, and fails with a list of what was
seen when the deadline passes, so a missing or broken binary fails clearly instead of hanging.
Deadlines are correctness bounds, not speed targets; MESHTEST_TIME_SCALE (default 1) stretches
all of them for slow builds (sanitizers, loaded CI).

A test is a function taking a Ctx; run(tests) runs them, each with its own temporary directory
and multicast port, and prints "<script>: N passed, M failed". A test that asserts nothing is
reported as a failure.
"""

import base64
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

TIME_SCALE = float(os.environ.get("MESHTEST_TIME_SCALE", "1") or "1")
LOG_LEVEL = os.environ.get("MESHTEST_LOG_LEVEL", "info")
KEEP_TMP = os.environ.get("MESHTEST_KEEP", "") == "1"

# Small timers so that discovery and expiry take well under a second or a few seconds.
FAST_TIMERS = {"beacon-interval": 200, "heartbeat": 200, "evasive": 1000, "expired": 3000}
# For tests where a silent peer must NOT expire while the test runs.
SLOW_EXPIRY = {"beacon-interval": 200, "heartbeat": 200, "evasive": 20000, "expired": 60000}

MAX_PAYLOAD = 1048576


def T(seconds):
    """A deadline in seconds, scaled for slow builds."""
    return seconds * TIME_SCALE


class TestFailure(AssertionError):
    pass


_checks = 0


def check(cond, msg):
    """Every assertion goes through here, so that a test making none can be caught."""
    global _checks
    _checks += 1
    if not cond:
        raise TestFailure(msg() if callable(msg) else msg)


def fail(msg):
    raise TestFailure(msg)


def short(hexid):
    return (hexid or "?")[:8]


# --------------------------------------------------------------------------------------------
# Isolation


def _netns_id():
    return os.readlink("/proc/self/ns/net")


def _links():
    """Names of every interface in the current namespace."""
    out = subprocess.run(["ip", "-d", "-o", "link", "show"], capture_output=True, text=True,
                         timeout=10)
    if out.returncode != 0:
        fail("ip link show failed: " + out.stderr.strip())
    links = []
    for line in out.stdout.splitlines():
        parts = line.split(": ", 2)
        if len(parts) < 2:
            continue
        links.append(parts[1].split("@", 1)[0])
    return links


def require_netns():
    """Abort the whole script unless we run inside a namespace made by netns-run."""
    problems = []
    if os.environ.get("MN_IN_NETNS") != "1":
        problems.append("MN_IN_NETNS is not 1")
    elif os.environ.get("MN_NETNS_ID") != _netns_id():
        problems.append("MN_NETNS_ID (%s) is not this namespace (%s)"
                        % (os.environ.get("MN_NETNS_ID"), _netns_id()))
    else:
        # Only lo, plus what ns_lan creates (all named mt*), may exist here.
        for name in _links():
            if name != "lo" and not name.startswith("mt"):
                problems.append("foreign interface %r present" % name)
    if problems:
        sys.stderr.write("meshtest: refusing to run outside a private network namespace (%s).\n"
                         "meshtest: run tests as: tests/integration/netns-run python3 %s\n"
                         % ("; ".join(problems), sys.argv[0]))
        sys.exit(1)


# --------------------------------------------------------------------------------------------
# Processes

_libc = None


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies, so that a killed test
    never leaves nodes behind (prctl PR_SET_PDEATHSIG survives exec, also via ip netns exec)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def meshnode_binary():
    path = os.environ.get("MESHNODE", "")
    return os.path.abspath(path) if path else ""


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    text = data.decode("utf-8", "replace").splitlines()
    cut = text[-lines:]
    out = "\n".join("    | " + l[:300] for l in cut)
    if len(text) > lines:
        out = "    | ... (%d earlier lines)\n" % (len(text) - lines) + out
    return out or "    | (empty)"


def describe(ev, names=None):
    """One short line for an event, for failure messages (payloads truncated)."""
    names = names or {}
    e = dict(ev)
    parts = [str(e.pop("event", "?"))]
    for k in ("peer", "id"):
        v = e.pop(k, None)
        if v is None:
            continue
        if isinstance(v, str) and len(v) == 64:
            parts.append("%s=%s(%s)" % (k, short(v), names.get(v, "?")))
        else:
            parts.append("%s=%s" % (k, v))
    for k in ("text", "data"):
        v = e.pop(k, None)
        if v is not None:
            parts.append("%s=%r%s" % (k, v[:40], "...(%d bytes)" % len(v) if len(v) > 40 else ""))
    if "peers" in e:
        e["peers"] = ["%s:%s" % (short(p.get("peer")), p.get("name")) for p in e["peers"]]
    for k in sorted(e):
        if k.startswith("_"):
            continue
        parts.append("%s=%s" % (k, json.dumps(e[k])[:80]))
    return " ".join(parts)


class Node:
    """One meshnode process in --json mode.

    Events are dicts parsed from stdout, in arrival order, in self.events; each also carries
    "_t" (time.monotonic() at arrival) and "_i" (its index). Waits take `start`, an index into
    self.events, so a test can ask for an event that arrived after some point (mark())."""

    def __init__(self, ctx, name, *, groups=(), mesh_key=None, timers=None, identity=None,
                 iface="lo", prefix=(), extra=(), mcast_port=None, wait_ready=True,
                 ready_timeout=10.0):
        self.ctx = ctx
        self.name = name
        self.groups = list(groups)
        self.mesh_key = mesh_key
        self.timers = dict(FAST_TIMERS if timers is None else timers)
        self.identity = identity or os.path.join(ctx.dir, name + ".id")
        self.iface = iface
        self.prefix = list(prefix)
        self.extra = list(extra)
        self.mcast_port = ctx.mcast_port if mcast_port is None else mcast_port
        self.id = None
        self.endpoint = None
        self.ready_event = None
        self.events = []
        self.bad_lines = []
        self.callback_errors = []
        self.on_event = []          # callables(node, event), run on the reader thread
        self.cv = threading.Condition()
        self.eof = False
        self.rc = None
        self._wlock = threading.Lock()
        self.proc = None
        self.pid = None
        self.generation = ctx._next_generation(name)
        suffix = "" if self.generation == 0 else ".%d" % self.generation
        self.stderr_path = os.path.join(ctx.dir, name + suffix + ".stderr")

        binary = ctx.binary
        # iface: one, a list (each an --iface), or None: the node's default (every interface)
        ifaces = [] if iface is None else [iface] if isinstance(iface, str) else list(iface)
        self.argv = self.prefix + [binary, "--json"]
        for i in ifaces:
            self.argv += ["--iface", i]
        self.argv += ["--name", name, "--identity", self.identity,
                                   "--mcast-port", str(self.mcast_port),
                                   "--log-level", LOG_LEVEL]
        if mesh_key:
            self.argv += ["--mesh-key-file", mesh_key]
        for k, v in self.timers.items():
            self.argv += ["--" + k, str(v)]
        for g in self.groups:
            self.argv += ["--group", g]
        self.argv += self.extra

        ctx.nodes.append(self)
        self._stderr = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr, close_fds=True,
                                         preexec_fn=_die_with_parent)
        except OSError as e:
            self.proc = None
            self.eof = True
            fail("cannot start meshnode %r (%s): %s" % (name, " ".join(self.argv), e))
        self.pid = self.proc.pid
        self.started_at = time.monotonic()
        fl = fcntl.fcntl(self.proc.stdin.fileno(), fcntl.F_GETFL)
        fcntl.fcntl(self.proc.stdin.fileno(), fcntl.F_SETFL, fl | os.O_NONBLOCK)
        self.reader = threading.Thread(target=self._read, name="reader-" + name, daemon=True)
        self.reader.start()
        if wait_ready:
            self.wait_ready(ready_timeout)

    def __repr__(self):
        return "<Node %s %s pid=%s>" % (self.name, short(self.id), self.pid)

    # -- reading ---------------------------------------------------------------------------

    def _read(self):
        out = self.proc.stdout
        try:
            while True:
                raw = out.readline()
                if not raw:
                    break
                now = time.monotonic()
                ev = None
                try:
                    ev = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    pass
                if not isinstance(ev, dict) or not isinstance(ev.get("event"), str):
                    with self.cv:
                        self.bad_lines.append(raw[:200])
                        self.cv.notify_all()
                    continue
                with self.cv:
                    ev["_t"] = now
                    ev["_i"] = len(self.events)
                    self.events.append(ev)
                    self.cv.notify_all()
                for cb in list(self.on_event):
                    try:
                        cb(self, ev)
                    except Exception as e:  # reported by the runner
                        self.callback_errors.append("%s: %s" % (type(e).__name__, e))
        finally:
            with self.cv:
                self.eof = True
                self.cv.notify_all()

    def mark(self):
        """Index of the next event to arrive: pass as start= to wait for later events."""
        with self.cv:
            return len(self.events)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _dead_reason(self):
        rc = self.proc.poll() if self.proc else None
        return "meshnode %r exited (rc=%s)" % (self.name, rc)

    def wait_for(self, pred, timeout, start=0, what="matching event"):
        """First event at index >= start for which pred(event) is true. Raises TestFailure
        when the deadline passes or the node's stdout ends first."""
        deadline = time.monotonic() + T(timeout)
        i = start
        with self.cv:
            while True:
                while i < len(self.events):
                    ev = self.events[i]
                    i += 1
                    if pred(ev):
                        return ev
                if self.eof:
                    fail("%s: %s before %s (events: %s)"
                         % (self.name, self._dead_reason(), what, self.summary(start)))
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("%s: no %s within %.1fs (events since #%d: %s)"
                         % (self.name, what, T(timeout), start, self.summary(start)))
                self.cv.wait(min(left, 0.5))

    def collect(self, pred, count, timeout, start=0, what="events"):
        """Waits until `count` events at index >= start match pred; returns them. Fails when
        the deadline passes (reporting how many arrived)."""
        deadline = time.monotonic() + T(timeout)
        got = []
        i = start
        with self.cv:
            while True:
                while i < len(self.events) and len(got) < count:
                    ev = self.events[i]
                    i += 1
                    if pred(ev):
                        got.append(ev)
                if len(got) >= count:
                    return got
                if self.eof:
                    fail("%s: %s after %d of %d %s (events: %s)"
                         % (self.name, self._dead_reason(), len(got), count, what,
                            self.summary(start)))
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("%s: only %d of %d %s within %.1fs (events since #%d: %s)"
                         % (self.name, len(got), count, what, T(timeout), start,
                            self.summary(start)))
                self.cv.wait(min(left, 0.5))

    def select(self, pred, start=0):
        """Events seen so far (index >= start) matching pred; does not wait."""
        with self.cv:
            return [e for e in self.events[start:] if pred(e)]

    def wait_event(self, event, peer=None, timeout=5.0, start=0, **fields):
        """wait_for an event of type `event`, optionally from `peer` (Node or hex id) and with
        the given field values."""
        pid = peer.id if isinstance(peer, Node) else peer
        pname = peer.name if isinstance(peer, Node) else (short(pid) if pid else None)

        def pred(ev):
            if ev.get("event") != event:
                return False
            if pid is not None and ev.get("peer") != pid:
                return False
            return all(ev.get(k) == v for k, v in fields.items())
        what = "%r event" % event + (" for %s" % pname if pname else "") + \
            ("" if not fields else " with %s" % fields)
        return self.wait_for(pred, timeout, start, what)

    def wait_ready(self, timeout=10.0):
        ev = self.wait_event("ready", timeout=timeout)
        check(isinstance(ev.get("id"), str) and re.fullmatch(r"[0-9a-f]{64}", ev["id"]),
              "%s: ready event has no 64-hex-digit id: %s" % (self.name, describe(ev)))
        check(isinstance(ev.get("endpoint"), str) and ev["endpoint"].startswith("tcp://"),
              "%s: ready endpoint is not tcp://IP:PORT: %s" % (self.name, describe(ev)))
        check(ev.get("name") == self.name, "%s: ready event names %r" % (self.name, ev.get("name")))
        self.id = ev["id"]
        self.endpoint = ev["endpoint"]
        self.ready_event = ev
        self.ctx.names[self.id] = self.name
        return ev

    def summary(self, start=0, limit=30):
        evs = self.events[start:]
        names = self.ctx.names
        lines = [describe(e, names) for e in evs[-limit:]]
        if len(evs) > limit:
            lines.insert(0, "... %d earlier" % (len(evs) - limit))
        if not lines:
            return "none"
        return "\n      " + "\n      ".join(lines)

    # -- writing ---------------------------------------------------------------------------

    def send(self, line, timeout=10.0):
        """Writes one command line (or several, joined by newlines) to stdin, with a deadline:
        a node that stops reading its stdin fails the test instead of hanging it."""
        data = line if isinstance(line, bytes) else line.encode("utf-8")
        if not data.endswith(b"\n"):
            data += b"\n"
        deadline = time.monotonic() + T(timeout)
        if self.proc is None:
            fail("%s: not started" % self.name)
        fd = self.proc.stdin.fileno()
        view = memoryview(data)
        with self._wlock:
            while view:
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("%s: stdin not drained within %.1fs (%d of %d bytes written)"
                         % (self.name, T(timeout), len(data) - len(view), len(data)))
                _, w, _ = select.select([], [fd], [], min(left, 0.5))
                if not w:
                    if not self.alive():
                        fail("%s: %s while writing stdin" % (self.name, self._dead_reason()))
                    continue
                try:
                    n = os.write(fd, view[:1 << 16])
                except OSError as e:
                    if e.errno == errno.EAGAIN:
                        continue
                    if e.errno == errno.EPIPE:
                        fail("%s: stdin closed (%s)" % (self.name, self._dead_reason()))
                    raise
                view = view[n:]

    def command(self, cmd, reply, timeout=5.0, n=1):
        """Sends cmd and returns the first n events named `reply` after it (an "error" event
        in between fails the test)."""
        start = self.mark()
        self.send(cmd, timeout)
        got = self.collect(lambda e: e.get("event") in (reply, "error"), n, timeout, start,
                           "%r replies to %r" % (reply, cmd[:60]))
        for ev in got:
            if ev["event"] == "error":
                fail("%s: %r answered with error: %s" % (self.name, cmd[:60], ev.get("message")))
        return got if n > 1 else got[0]

    def peers(self, timeout=5.0):
        ev = self.command("/peers", "peers", timeout)
        check(isinstance(ev.get("peers"), list), "%s: /peers reply has no list: %s"
              % (self.name, describe(ev)))
        return ev["peers"]

    def stats(self, timeout=5.0):
        return self.command("/stats", "stats", timeout)

    def shout(self, group, text, timeout=10.0):
        """Returns the message id from the "sent" reply."""
        ev = self.command("/shout %s %s" % (group, text), "sent", timeout)
        check(ev.get("kind") == "shout" and ev.get("group") == group,
              "%s: unexpected reply to /shout: %s" % (self.name, describe(ev)))
        return ev["id"]

    def shout_many(self, group, texts, timeout=30.0):
        """Writes all shouts in one go and returns their message ids, in order."""
        start = self.mark()
        self.send("".join("/shout %s %s\n" % (group, t) for t in texts), timeout)
        got = self.collect(lambda e: e.get("event") in ("sent", "error"), len(texts), timeout,
                           start, "replies to %d shouts" % len(texts))
        errs = [e for e in got if e["event"] == "error"]
        check(not errs, lambda: "%s: shout refused: %s" % (self.name, errs[0].get("message")))
        return [e["id"] for e in got]

    def whisper(self, peer, text, timeout=10.0):
        pid = peer.id if isinstance(peer, Node) else peer
        ev = self.command("/msg %s %s" % (pid, text), "sent", timeout)
        check(ev.get("kind") == "whisper" and ev.get("peer") == pid,
              "%s: unexpected reply to /msg: %s" % (self.name, describe(ev)))
        return ev["id"]

    # -- ending ----------------------------------------------------------------------------

    def kill(self, sig=signal.SIGKILL):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, sig)
        if sig == signal.SIGKILL:
            self._reap(T(10))

    def _reap(self, timeout):
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.reader.join(T(10))
        return self.rc

    def wait_exit(self, timeout=10.0):
        """Waits for the process to exit by itself; returns its exit code (fails on timeout,
        after killing it)."""
        rc = self._reap(T(timeout))
        if rc is None:
            self.proc.kill()
            self._reap(T(10))
            fail("%s: did not exit within %.1fs" % (self.name, T(timeout)))
        return rc

    def stop(self, timeout=10.0):
        """Sends /quit and waits for exit; falls back to SIGKILL (and fails) after the
        deadline. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.send("/quit", timeout=2.0)
            except TestFailure:
                pass
        return self.wait_exit(timeout)

    def quit_cleanly(self, timeout=10.0):
        """/quit, and checks the contract: exit code 0 and {"event":"stopped"} as the last
        line."""
        rc = self.stop(timeout)
        check(rc == 0, "%s: exit code %s after /quit (expected 0)" % (self.name, rc))
        check(self.events and self.events[-1].get("event") == "stopped",
              lambda: "%s: last line is not {\"event\":\"stopped\"}: %s"
              % (self.name, self.summary(limit=3)))
        return rc

    def close(self):
        """Always-safe cleanup: kill if running, reap, close pipes."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.kill()
                except OSError:
                    pass
            try:
                self.rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            if self.reader.is_alive():
                self.reader.join(5)
        try:
            self._stderr.close()
        except OSError:
            pass

    def respawn(self, **overrides):
        """A new process with the same name, identity file and settings."""
        kw = dict(groups=self.groups, mesh_key=self.mesh_key, timers=self.timers,
                  identity=self.identity, iface=self.iface, prefix=self.prefix,
                  extra=self.extra, mcast_port=self.mcast_port)
        kw.update(overrides)
        return Node(self.ctx, self.name, **kw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def start_nodes(ctx, names, **kw):
    """Starts several nodes at once (all Popen before any read) and waits for each to be
    ready. Returns them in order."""
    nodes = [Node(ctx, n, wait_ready=False, **kw) for n in names]
    for n in nodes:
        n.wait_ready()
    return nodes


def wait_mesh(nodes, timeout=5.0, start=None, others=None):
    """Waits until every node has an "enter" for every other node (or for every node of
    `others`, if given). Returns the time the last of those enters arrived."""
    last = 0.0
    for n in nodes:
        for o in (others if others is not None else nodes):
            if o is n:
                continue
            ev = n.wait_event("enter", o, timeout, start=(start or {}).get(n, 0))
            last = max(last, ev["_t"])
    return last


def check_one_session_per_pair(nodes, expected_peers=None):
    """/peers on every node shows each other node exactly once, with a nonzero sid distinct
    from its other sids, and for every pair exactly one side says initiator=true;
    /stats sessions_live equals the number of peers."""
    table = {}
    for n in nodes:
        ps = n.peers()
        want = sorted(o.id for o in (expected_peers or {}).get(n, [o for o in nodes if o is not n]))
        got = sorted(p.get("peer") for p in ps)
        check(got == want, lambda: "%s: /peers shows %s, expected %s"
              % (n.name, [n.ctx.names.get(g, short(g)) for g in got],
                 [n.ctx.names.get(w, short(w)) for w in want]))
        sids = [p.get("sid") for p in ps]
        check(all(isinstance(s, int) and s > 0 for s in sids),
              "%s: /peers sids not positive integers: %s" % (n.name, sids))
        check(len(set(sids)) == len(sids), "%s: duplicate sids in /peers: %s" % (n.name, sids))
        for p in ps:
            check(isinstance(p.get("initiator"), bool),
                  "%s: /peers initiator not a bool: %s" % (n.name, p))
            table[(n.id, p["peer"])] = p
        st = n.stats()
        check(st.get("sessions_live") == len(want),
              "%s: /stats sessions_live=%s, expected %d" % (n.name, st.get("sessions_live"),
                                                            len(want)))
    for (a, b), p in table.items():
        q = table.get((b, a))
        if q is None:
            continue
        names = nodes[0].ctx.names
        check(p["initiator"] != q["initiator"],
              "pair %s/%s: initiator=%s on both sides (%s)"
              % (names.get(a, short(a)), names.get(b, short(b)), p["initiator"],
                 "two live sessions for one pair" if p["initiator"] else "nobody initiated?"))
    return table


# --------------------------------------------------------------------------------------------
# A LAN of network namespaces


class Lan:
    """k network namespaces mt-<pid>-<i>, each with one veth (mtv<i>n, 10.77.0.<i+1>/24)
    whose other end (mtv<i>h) is a port of the bridge mtbr0 in the current namespace (the
    private one netns-run made; nothing here touches the host's namespaces). The bridge has
    no address, so the current namespace itself is not on the LAN. Multicast: snooping off
    (the bridge floods every group to every port), MULTICAST flag on every link, and a
    224.0.0.0/4 route via the veth in each namespace."""

    BRIDGE = "mtbr0"

    def __init__(self, k, timeout=10.0):
        require_netns()
        self.k = k
        self.ns = ["mt-%d-%d" % (os.getpid(), i) for i in range(k)]
        self.addrs = ["10.77.0.%d" % (i + 1) for i in range(k)]
        self.dev = ["mtv%dn" % i for i in range(k)]
        self.host_dev = ["mtv%dh" % i for i in range(k)]
        self.created_ns = []
        self.created_bridge = False
        try:
            self._setup(timeout)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _ip(*args):
        r = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            fail("ip %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    def _setup(self, timeout):
        ip = self._ip
        ip("link", "add", self.BRIDGE, "type", "bridge", "mcast_snooping", "0",
           "stp_state", "0", "forward_delay", "0")
        self.created_bridge = True
        ip("link", "set", self.BRIDGE, "multicast", "on", "up")
        for i in range(self.k):
            ns, dev, hdev = self.ns[i], self.dev[i], self.host_dev[i]
            ip("netns", "add", ns)
            self.created_ns.append(ns)
            ip("link", "add", hdev, "type", "veth", "peer", "name", dev)
            ip("link", "set", dev, "netns", ns)
            ip("link", "set", hdev, "master", self.BRIDGE)
            ip("link", "set", hdev, "multicast", "on", "up")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", self.addrs[i] + "/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "multicast", "on", "up")
            ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev)
        # Wait until every link is up and every bridge port forwards.
        deadline = time.monotonic() + T(timeout)
        while True:
            pending = []
            for i in range(self.k):
                out = ip("-n", self.ns[i], "-o", "link", "show", self.dev[i])
                if "state UP" not in out:
                    pending.append(self.dev[i])
            br = ip("-d", "-o", "link", "show", "master", self.BRIDGE)
            for h in self.host_dev:
                line = [l for l in br.splitlines() if (" %s@" % h) in l or (" %s:" % h) in l]
                if not line or "state forwarding" not in line[0]:
                    pending.append(h)
            if not pending:
                return
            if time.monotonic() > deadline:
                fail("LAN links not ready within %.1fs: %s" % (T(timeout), pending))
            time.sleep(0.05)  # polling link state; not used as synchronisation of the test

    def prefix(self, i):
        """Command prefix that runs a program in namespace i."""
        return ["ip", "netns", "exec", self.ns[i]]

    def close(self):
        errors = []
        for ns in reversed(self.created_ns):
            r = subprocess.run(["ip", "netns", "del", ns], capture_output=True, text=True,
                               timeout=10)
            if r.returncode != 0:
                errors.append(r.stderr.strip())
        self.created_ns = []
        for h in self.host_dev:
            subprocess.run(["ip", "link", "del", h], capture_output=True, timeout=10)
        if self.created_bridge:
            subprocess.run(["ip", "link", "del", self.BRIDGE], capture_output=True, timeout=10)
            self.created_bridge = False
        if errors:
            sys.stderr.write("meshtest: netns cleanup: %s\n" % "; ".join(errors))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def ns_lan(k, timeout=10.0):
    """Context manager: a Lan of k namespaces, deleted on exit."""
    return Lan(k, timeout)


# --------------------------------------------------------------------------------------------
# Per-test context and the runner


class Ctx:
    """What one test owns: a temporary directory, a multicast port of its own, the nodes it
    started and the LANs and helper processes it made. Everything is torn down by close(),
    whatever happened."""

    _used_ports = set()

    def __init__(self, test_name, binary=None):
        require_netns()
        binary = binary or meshnode_binary()
        if not binary:
            fail("no meshnode binary: set MESHNODE")
        self.test_name = test_name
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="meshtest-%s-" % test_name)
        self.nodes = []
        self.lans = []
        self.procs = []        # other subprocess.Popen objects to kill at the end
        self.names = {}        # hex id -> node name, for readable messages
        self._gens = {}
        self.mcast_port = self.new_port()

    def new_port(self):
        """A multicast port no other test of this script used, so that a leftover node of an
        earlier test (or repetition) can never take part."""
        while True:
            p = random.randrange(20000, 60000)
            if p not in Ctx._used_ports:
                Ctx._used_ports.add(p)
                return p

    def _next_generation(self, name):
        g = self._gens.get(name, -1) + 1
        self._gens[name] = g
        return g

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def lan(self, k):
        l = Lan(k)
        self.lans.append(l)
        return l

    def popen(self, argv, **kw):
        kw.setdefault("preexec_fn", _die_with_parent)
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def run(self, argv, timeout=10.0, **kw):
        """Runs a short-lived program with a deadline; returns CompletedProcess."""
        try:
            return subprocess.run(argv, capture_output=True, timeout=T(timeout),
                                  preexec_fn=_die_with_parent, **kw)
        except subprocess.TimeoutExpired:
            fail("%s did not finish within %.1fs" % (" ".join(argv), T(timeout)))
        except OSError as e:
            fail("cannot run %s: %s" % (argv[0], e))

    def final_checks(self):
        """Contract checks over every node of a passed test: stdout was JSON lines only and
        no event callback raised."""
        for n in self.nodes:
            check(not n.bad_lines, lambda: "%s: stdout lines that are not JSON objects with "
                  "an \"event\": %r" % (n.name, n.bad_lines[:3]))
            check(not n.callback_errors, lambda: "%s: event callback failed: %s"
                  % (n.name, n.callback_errors[:3]))

    def dump(self):
        """What a failed test prints: per node, its exit code, last events and stderr."""
        for n in self.nodes:
            rc = n.proc.poll() if n.proc else None
            sys.stdout.write("  -- node %s (id %s, pid %s, %s)\n"
                             % (n.name, short(n.id), n.pid if n.proc else "-",
                                "running" if rc is None else "rc=%s" % rc))
            sys.stdout.write("     argv: %s\n" % " ".join(n.argv))
            sys.stdout.write("     last events: %s\n" % n.summary(limit=15))
            if n.bad_lines:
                sys.stdout.write("     non-JSON stdout: %r\n" % n.bad_lines[:3])
            sys.stdout.write("     stderr tail (%s):\n%s\n" % (n.stderr_path, tail(n.stderr_path)))

    def close(self, keep=False):
        for n in self.nodes:
            n.close()
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                except OSError:
                    pass
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
        for l in self.lans:
            l.close()
        if keep or KEEP_TMP:
            sys.stdout.write("  (files kept in %s)\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is not None:
            self.dump()
        self.close(keep=exc_type is not None)
        return False


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt()


def run(tests, script=None):
    """Runs each test function with its own Ctx, prints PASS/FAIL lines and the summary
    "<script>: N passed, M failed", and exits non-zero on any failure.

    Command line: [MESHNODE-PATH] [-k SUBSTRING]. The binary is MESHNODE from the
    environment, else the first argument."""
    global _checks
    script = script or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    args = sys.argv[1:]
    only = None
    if "-k" in args:
        i = args.index("-k")
        only = args[i + 1] if i + 1 < len(args) else ""
        del args[i:i + 2]
    binary = meshnode_binary() or (os.path.abspath(args[0]) if args else "")
    os.environ["MESHNODE"] = binary
    sys.stdout.reconfigure(line_buffering=True)

    require_netns()
    selected = [t for t in tests if only is None or only in t.__name__]
    if not binary or not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        print("FAIL: meshnode binary not found or not executable: %r "
              "(set MESHNODE or pass the path as the first argument)" % binary)
        print("%s: 0 passed, %d failed" % (script, len(selected)))
        sys.exit(1)
    # SIGTERM (ctest timeout) -> exception in the main thread -> cleanup runs.
    signal.signal(signal.SIGTERM, _on_sigterm)

    passed = failed = 0
    for t in selected:
        name = t.__name__
        ctx = Ctx(name, binary)
        before = _checks
        t0 = time.monotonic()
        ok = False
        try:
            t(ctx)
            ctx.final_checks()
            if _checks == before:
                fail("the test asserted nothing")
            ok = True
        except KeyboardInterrupt:
            print("FAIL %s: interrupted" % name)
            ctx.dump()
            ctx.close(keep=True)
            print("%s: %d passed, %d failed (interrupted)" % (script, passed, failed + 1))
            sys.exit(1)
        except Exception as e:
            print("FAIL %s (%.1fs): %s" % (name, time.monotonic() - t0,
                                          e if isinstance(e, TestFailure) else
                                          "%s: %s" % (type(e).__name__, e)))
            if not isinstance(e, TestFailure):
                traceback.print_exc(file=sys.stdout)
            else:
                tb = traceback.extract_tb(e.__traceback__)
                own = [f for f in tb if os.path.basename(f.filename).startswith("test_")]
                if own:
                    print("  at %s:%d" % (os.path.basename(own[-1].filename), own[-1].lineno))
            ctx.dump()
        finally:
            ctx.close(keep=not ok)
        if ok:
            passed += 1
            print("PASS %s (%.1fs, %d checks)" % (name, time.monotonic() - t0, _checks - before))
        else:
            failed += 1
    print("%s: %d passed, %d failed" % (script, passed, failed))
    sys.exit(1 if failed else 0)


# Small helpers shared by tests ------------------------------------------------------------


def payload_of(ev):
    """The message bytes of a shout/whisper event ("text" or base64 "data")."""
    if "text" in ev:
        return ev["text"].encode("utf-8")
    if "data" in ev:
        return base64.b64decode(ev["data"])
    return None


def sha256(b):
    return hashlib.sha256(b).hexdigest()
