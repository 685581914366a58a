#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""meshnode's interactive mode (editline on a terminal), driven through a real pty.

The interactive node ("alice") runs on a pane of a private tmux server (its own socket in the
test's temporary directory, started with -D as a child of this script, so that it dies with
the test); keys go in with `tmux send-keys`, the screen comes back with `tmux capture-pane`,
and every byte the program writes to the pane is also kept in a file (`pipe-pane`), so that a
test can tell an escaped control character from one that reached the terminal. The peers are
ordinary --json nodes (meshtest.Node). Everything runs inside netns-run's private namespace.

Run: tests/integration/netns-run python3 test_interactive.py [MESHNODE]
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, fail  # noqa: E402

WIDTH, HEIGHT = 160, 50
FPR_RE = r"[a-z2-7]{4}(?:-[a-z2-7]{4}){7}"      # docs/crypto.md: 8 groups of 4 base32
SAS_RE = r"\d{5}(?: \d{5}){4}"                  # 5 groups of 5 decimal digits
# The local time, "HH:MM:SS ", that starts every line telling of something that happened.
TS = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d "
COMMANDS = ["/join", "/leave", "/shout", "/msg", "/peers", "/groups", "/whoami", "/verify",
            "/stats", "/help", "/quit"]
# Screen polling interval: how often we look, not how long we wait (that is the deadline).
POLL = 0.05


class Term:
    """One interactive meshnode on a tmux pane of WIDTH x HEIGHT."""

    def __init__(self, ctx, argv, name="alice", env_extra=None):
        if not shutil.which("tmux"):
            fail("tmux is not installed")
        self.ctx = ctx
        self.name = name
        self.sock = ctx.path("tmux.sock")
        self.raw_path = ctx.path(name + ".pty")
        self.server = None
        self.banner_fp = None
        conf = ctx.path("tmux.conf")
        with open(conf, "w") as f:
            # remain-on-exit keeps the pane (and its screen) after meshnode has exited.
            f.write("set -g history-limit 50000\n"
                    "set -g remain-on-exit on\n"
                    "set -g default-terminal screen\n"
                    "set -g status off\n")
        env = dict(os.environ)
        for k in ("TMUX", "TMUX_PANE", "NO_COLOR", "EDITRC", "INPUTRC"):
            env.pop(k, None)
        env["HOME"] = ctx.dir          # no ~/.editrc of the user's
        env["TERM"] = "screen"
        env.update(env_extra or {})
        self.env = env
        # -D: the server stays in the foreground as our child (ctx kills it, and so does our
        # death via PR_SET_PDEATHSIG), never a daemon that could outlive the test.
        with open(ctx.path("tmux.stderr"), "wb") as err:
            self.server = ctx.popen(["tmux", "-D", "-S", self.sock, "-f", conf],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, env=env)
        deadline = time.monotonic() + mt.T(5)
        while not os.path.exists(self.sock):
            if self.server.poll() is not None:
                fail("tmux server exited (rc=%s) before making its socket"
                     % self.server.returncode)
            if time.monotonic() > deadline:
                fail("tmux server made no socket within %.1fs" % mt.T(5))
            time.sleep(POLL)
        # meshnode runs under a shell that writes its exit code to a file. Under tmux -D the
        # pane's process was seen to stay an unreaped zombie now and then (pane_dead=1 with
        # no pane_dead_status), so tmux cannot be asked; the file also proves that meshnode
        # is gone, since sh has waited for it.
        self.status_path = ctx.path(name + ".status")
        wrapper = ['sh', '-c', 'f=$1; shift; "$@"; echo $? > "$f.tmp"; mv "$f.tmp" "$f"',
                   'sh', self.status_path] + list(argv)
        self.tmux("new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", str(HEIGHT),
                  *wrapper, ";",
                  "pipe-pane", "-o", "-t", name, "cat >> " + shlex.quote(self.raw_path))

    def tmux(self, *args, check_rc=True):
        r = subprocess.run(["tmux", "-S", self.sock] + list(args), capture_output=True,
                           env=self.env, timeout=mt.T(10))
        if check_rc and r.returncode != 0:
            fail("tmux %s: rc=%d: %s" % (" ".join(args[:3]), r.returncode,
                                         r.stderr.decode("utf-8", "replace").strip()))
        return r.stdout.decode("utf-8", "replace")

    # -- input --------------------------------------------------------------------------------

    def type(self, text):
        self.tmux("send-keys", "-t", self.name, "-l", "--", text)

    def keys(self, *keys):
        self.tmux("send-keys", "-t", self.name, *keys)

    def line(self, text):
        """Types text and Enter; returns the screen mark from before, for wait(start=)."""
        m = self.mark()
        self.type(text)
        self.keys("Enter")
        return m

    # -- output -------------------------------------------------------------------------------

    def lines(self, escapes=False):
        """The whole pane, scrollback included, wrapped lines joined, trailing blanks cut."""
        args = ["capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", self.name]
        if escapes:
            args.insert(1, "-e")
        out = [l.rstrip() for l in self.tmux(*args).split("\n")]
        while out and not out[-1]:
            out.pop()
        return out

    def text(self, start=0, escapes=False):
        return "\n".join(self.lines(escapes)[start:])

    def mark(self):
        """Index of the current last line (the prompt, which new output overwrites)."""
        return max(0, len(self.lines()) - 1)

    def raw(self):
        try:
            with open(self.raw_path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def screen_tail(self, n=25):
        ls = self.lines()
        return "\n".join("    | " + l for l in ls[-n:]) or "    | (empty)"

    def wait(self, pattern, timeout=10.0, start=0, what=None, flags=re.M):
        """First match of regex pattern in the screen text from line `start` on; fails with
        the screen when the deadline passes or meshnode exits first."""
        deadline = time.monotonic() + mt.T(timeout)
        rx = re.compile(pattern, flags)
        while True:
            m = rx.search(self.text(start))
            if m:
                return m
            dead, status = self.pane_state()
            if dead:
                m = rx.search(self.text(start))     # its last words may have come late
                if m:
                    return m
                fail("%s: meshnode exited (status %s) before %s; screen:\n%s"
                     % (self.name, status, what or repr(pattern), self.screen_tail()))
            if time.monotonic() > deadline:
                fail("%s: did not see %s on screen within %.1fs; screen:\n%s"
                     % (self.name, what or repr(pattern), mt.T(timeout), self.screen_tail()))
            time.sleep(POLL)

    def cursor_line(self):
        """The visible line the cursor is on: the edit line with its prompt."""
        y = int(self.tmux("display-message", "-p", "-t", self.name, "#{cursor_y}").strip())
        vis = self.tmux("capture-pane", "-p", "-t", self.name).split("\n")
        return vis[y].rstrip() if y < len(vis) else ""

    def wait_cursor_line(self, want, timeout=10.0, what=None):
        """Waits until the edit line (rstripped) equals want."""
        deadline = time.monotonic() + mt.T(timeout)
        while True:
            got = self.cursor_line()
            if got == want:
                return got
            if time.monotonic() > deadline:
                fail("%s: edit line is %r, expected %r (%s); screen:\n%s"
                     % (self.name, got, want, what or "", self.screen_tail()))
            time.sleep(POLL)

    def pane_state(self):
        """(dead, status): dead once the pane's program has gone; status is meshnode's exit
        code once the wrapper has written it (128+N: killed by signal N), else None."""
        out = self.tmux("display-message", "-p", "-t", self.name, "#{pane_dead}",
                        check_rc=False).strip()
        status = None
        try:
            with open(self.status_path) as f:
                status = int(f.read().strip())
        except (FileNotFoundError, ValueError):
            pass
        # No answer means the pane (or the server) is gone.
        return out in ("1", ""), status

    def wait_exit(self, timeout=10.0):
        """Waits until meshnode has exited and its pane is dead; returns its exit code."""
        deadline = time.monotonic() + mt.T(timeout)
        while True:
            dead, status = self.pane_state()
            if dead and status is not None:
                return status
            if time.monotonic() > deadline:
                fail("%s: meshnode %s %.1fs after /quit; screen:\n%s"
                     % (self.name, "still running" if status is None else
                        "exited (%d) but the pane is still open" % status,
                        mt.T(timeout), self.screen_tail()))
            time.sleep(POLL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Kills the tmux server (and so the pane); ctx would SIGKILL it anyway."""
        if self.server is None:
            return
        if self.server.poll() is None:
            self.tmux("kill-server", check_rc=False)
            try:
                self.server.wait(mt.T(10))
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(10)
        self.server = None


def alice_argv(ctx, name="alice", groups=()):
    # Log lines share the terminal ("~ info: ..."); warnings only, so that the screen holds
    # what the test reads.
    argv = [ctx.binary, "--iface", "lo", "--name", name,
            "--identity", ctx.path(name + ".id"), "--mcast-port", str(ctx.mcast_port),
            "--log-level", "warn"]
    for k, v in mt.FAST_TIMERS.items():
        argv += ["--" + k, str(v)]
    for g in groups:
        argv += ["--group", g]
    return argv


def start_alice(ctx, **kw):
    """Starts the interactive node and waits for its banner; the Term it returns has the
    fingerprint the banner showed in .banner_fp. Use it as a context manager."""
    term = Term(ctx, alice_argv(ctx, **kw))
    try:
        m = term.wait(r"^\* meshnode \S+: you are alice \((\S+)\) on tcp://127\.0\.0\.1:\d+$",
                      what="the banner")
        term.banner_fp = m.group(1)
        term.wait(r"^\* type /help for the commands", what="the help hint")
    except BaseException:
        term.close()
        raise
    return term


def expect_prompt(term, prompt, what):
    term.wait_cursor_line(prompt.rstrip(), what=what)


def check_recent(stamp, what):
    """stamp, "HH:MM:SS" at the start of a line already on screen, is the local time of a
    moment ago: not in the future, and at most a (scaled) 30 s old."""
    h, m, s = (int(x) for x in stamp.split(":"))
    now = time.localtime()
    age = (now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec - (h * 3600 + m * 60 + s)) % 86400
    check(age <= mt.T(30), "%s: time %s is not the local time of a moment ago (now %s)"
          % (what, stamp, time.strftime("%H:%M:%S", now)))


# --------------------------------------------------------------------------------------------


def test_without_libedit_plain_lines(ctx):
    """meshnode loads libedit itself, on a terminal (node/editlib.c). When it cannot (here a
    file that is no library comes first on LD_LIBRARY_PATH), it says why, once, and the
    terminal still works line by line."""
    stub = ctx.path("no-libedit")
    os.makedirs(stub)
    with open(os.path.join(stub, "libedit.so.2"), "w") as f:
        f.write("not a library\n")
    with Term(ctx, alice_argv(ctx), env_extra={"LD_LIBRARY_PATH": stub}) as term:
        term.wait(r"^error: no line editor: .*libedit\.so\.2", what="why there is no editor")
        term.wait(r"^error: cannot start the line editor; reading plain lines$",
                  what="the fallback to plain lines")
        m = term.line("/whoami")
        term.wait(r"^you are alice$", start=m, what="/whoami's answer to a plain line")
        check(len(re.findall(r"no line editor", term.text())) == 1,
              "the reason was not said exactly once:\n%s" % term.screen_tail())
        term.line("/quit")
        status = term.wait_exit()
        check(status == 0, "meshnode without libedit exited %s after /quit" % status)


def test_chat_with_a_json_peer(ctx):
    # alice's identity made beforehand by a --json node on a port nobody else uses, so that
    # we know which ID and fingerprint the interactive node must show for it.
    pre = Node(ctx, "alice", mcast_port=ctx.new_port())
    alice_id, alice_fp = pre.id, pre.ready_event["fingerprint"]
    check(re.fullmatch(FPR_RE, alice_fp), "ready fingerprint %r is not 8 groups of 4 base32"
          % alice_fp)
    pre.quit_cleanly()

    bob = Node(ctx, "bob", groups=["team"])
    bob_fp = bob.ready_event["fingerprint"]

    with start_alice(ctx) as term:
        banner_fp = term.banner_fp
        check(banner_fp == alice_fp, "banner fingerprint %r, but alice's identity has %r"
              % (banner_fp, alice_fp))
        expect_prompt(term, "> ", "prompt without a current group")

        # alice sees bob enter, with bob's fingerprint; bob sees alice.
        m = term.wait(r"^" + TS + r"\* bob entered \((\S+)\)$", what="'* bob entered (FP)'")
        check(m.group(1) == bob_fp, "enter line shows fingerprint %r for bob, bob's is %r"
              % (m.group(1), bob_fp))
        ev = bob.wait_event("enter", alice_id)
        check(ev.get("name") == "alice", "bob: enter names %r" % ev.get("name"))
        m = term.wait(r"^(%s)\* bob joined \[team\]$" % TS, what="'* bob joined [team]'")
        check_recent(m.group(1).strip(), "'* bob joined [team]'")

        # /join makes the group current (the prompt says so); bob sees the join.
        s = term.line("/join team")
        term.wait(r"^" + TS + r"\* you joined \[team\]$", start=s, what="'* you joined [team]'")
        expect_prompt(term, "[team]> ", "prompt after /join team")
        bob.wait_event("join", alice_id, group="team")

        # /shout reaches bob, and alice sees her own line.
        b0 = bob.mark()
        s = term.line("/shout team hello-from-tmux")
        ev = bob.wait_event("shout", alice_id, start=b0, group="team")
        check(ev.get("text") == "hello-from-tmux" and ev.get("name") == "alice",
              "bob got shout %s, expected text 'hello-from-tmux' from alice" % mt.describe(ev))
        term.wait(r"^" + TS + r"\[team\] alice: hello-from-tmux$", start=s,
                  what="alice's own shout line")

        # bob's shout shows up with bob's name.
        s = term.mark()
        bob.shout("team", "hi-alice")
        term.wait(r"^" + TS + r"\[team\] bob: hi-alice$", start=s, what="'[team] bob: hi-alice'")

        # A line without a command goes to the current group.
        b0 = bob.mark()
        s = term.line("plain line from tmux")
        ev = bob.wait_event("shout", alice_id, start=b0)
        check(ev.get("group") == "team" and ev.get("text") == "plain line from tmux",
              "plain text line: bob got %s, expected a shout to team with "
              "'plain line from tmux'" % mt.describe(ev))
        term.wait(r"^" + TS + r"\[team\] alice: plain line from tmux$", start=s,
                  what="the echo of it")

        # /msg whispers to bob alone.
        b0 = bob.mark()
        s = term.line("/msg bob psst-tmux")
        ev = bob.wait_event("whisper", alice_id, start=b0)
        check(ev.get("text") == "psst-tmux", "bob got whisper %s, expected 'psst-tmux'"
              % mt.describe(ev))
        term.wait(r"^" + TS + r"\(whisper to bob\) psst-tmux$", start=s,
                  what="'(whisper to bob) psst-tmux'")
        check(not bob.select(lambda e: e.get("event") == "shout" and
                             e.get("text", "").endswith("psst-tmux"), b0),
              "the whisper also arrived as a shout")

        s = term.mark()
        bob.whisper(alice_id, "back-at-you")
        term.wait(r"^" + TS + r"-> \(whisper\) bob: back-at-you$", start=s, what="bob's whisper")

        # /peers: a table with bob's row.
        s = term.line("/peers")
        term.wait(r"^NAME\s+FINGERPRINT\s+ENDPOINT\s+GROUPS\s+STATE$", start=s,
                  what="the /peers header")
        term.wait(r"^bob\s+%s\s+127\.0\.0\.1:\d+\s+team\s+live$" % re.escape(bob_fp), start=s,
                  what="bob's /peers row (bob, %s, 127.0.0.1:PORT, team, live)" % bob_fp)

        s = term.line("/groups")
        term.wait(r"^\[team\] \(current\)$", start=s, what="'[team] (current)' from /groups")

        # /whoami: the ID and fingerprint of alice's identity file.
        s = term.line("/whoami")
        m = term.wait(r"^you are alice\n\s+id:\s+(\S+)\n\s+fingerprint:\s+(\S+)\n"
                      r"\s+endpoint:\s+(\S+)$", start=s, what="the /whoami block")
        check(m.group(1) == alice_id, "/whoami id %r, expected %r" % (m.group(1), alice_id))
        check(re.fullmatch(FPR_RE, m.group(2)), "/whoami fingerprint %r is not "
              "xxxx-xxxx-... (8 groups of 4 base32)" % m.group(2))
        check(m.group(2) == alice_fp, "/whoami fingerprint %r, expected %r"
              % (m.group(2), alice_fp))
        check(re.fullmatch(r"tcp://127\.0\.0\.1:\d+", m.group(3)),
              "/whoami endpoint %r" % m.group(3))

        # /verify: alice's code for bob equals bob's code for alice.
        s = term.line("/verify bob")
        m = term.wait(r"^Security code of your link with bob \((\S+)\):\n\s+(.+)$", start=s,
                      what="the /verify block")
        check(m.group(1) == bob_fp, "/verify names fingerprint %r, bob's is %r"
              % (m.group(1), bob_fp))
        sas = m.group(2).strip()
        check(re.fullmatch(SAS_RE, sas), "/verify code %r is not 5 groups of 5 digits" % sas)
        ev = bob.command("/verify alice", "verify")
        check(ev.get("peer") == alice_id and ev.get("sas") == sas,
              "SAS differs: alice's /verify bob shows %r, bob's /verify alice says %r"
              % (sas, ev.get("sas")))
        term.wait(r"^their /verify for you must show the same code", start=s,
                  what="the /verify advice")

        # /help lists every command.
        s = term.line("/help")
        m = term.wait(r"^Any other line is sent to the current group\.$", start=s,
                      what="the end of /help")
        helptext = term.text(s)
        missing = [c for c in COMMANDS if not re.search(r"^%s\b" % re.escape(c), helptext,
                                                        re.M)]
        check(not missing, "/help does not list %s" % missing)

        # A failing command reports an error and keeps running.
        s = term.line("/msg nobody hi")
        term.wait(r"^error: no peer named 'nobody'$", start=s, what="the /msg nobody error")

        # /quit: exit code 0, and bob hears goodbye.
        b0 = bob.mark()
        term.line("/quit")
        status = term.wait_exit()
        check(status == 0, "interactive meshnode exit status %s after /quit (expected 0)"
              % status)
        ev = bob.wait_event("exit", alice_id, start=b0)
        check(ev.get("reason") == "bye", "bob: alice's exit reason %r, expected 'bye'"
              % ev.get("reason"))

    bob.quit_cleanly()


def test_tab_completion(ctx):
    bob = Node(ctx, "bob", groups=["team", "ops-42"])

    with start_alice(ctx) as term:
        term.wait(r"^" + TS + r"\* bob entered ", what="'* bob entered'")
        term.wait(r"^" + TS + r"\* bob joined \[ops-42\]$", what="'* bob joined [ops-42]'")
        ev = bob.wait_event("enter", None, name="alice")
        alice_id = ev["peer"]
        expect_prompt(term, "> ", "empty prompt")

        # A command name.
        term.type("/jo")
        term.keys("Tab")
        term.wait_cursor_line("> /join", what="'/jo' + Tab")
        term.type("team")
        term.keys("Enter")
        term.wait(r"^" + TS + r"\* you joined \[team\]$",
                  what="'* you joined [team]' (after /jo Tab team)")
        bob.wait_event("join", alice_id, group="team")

        # A group known in the mesh but not joined, after /join.
        term.type("/join op")
        term.keys("Tab")
        term.wait_cursor_line("[team]> /join ops-42", what="'/join op' + Tab")
        term.keys("Enter")
        term.wait(r"^" + TS + r"\* you joined \[ops-42\]$", what="'* you joined [ops-42]'")
        bob.wait_event("join", alice_id, group="ops-42")

        # A peer name after /msg.
        b0 = bob.mark()
        term.type("/msg b")
        term.keys("Tab")
        term.wait_cursor_line("[ops-42]> /msg bob", what="'/msg b' + Tab")
        term.type("completed")
        term.keys("Enter")
        ev = bob.wait_event("whisper", alice_id, start=b0)
        check(ev.get("text") == "completed", "bob got whisper %s after '/msg b' Tab "
              "'completed', expected text 'completed'" % mt.describe(ev))

        # One of our own groups after /shout.
        b0 = bob.mark()
        term.type("/shout t")
        term.keys("Tab")
        term.wait_cursor_line("[ops-42]> /shout team", what="'/shout t' + Tab")
        term.type("via-tab")
        term.keys("Enter")
        ev = bob.wait_event("shout", alice_id, start=b0)
        check(ev.get("group") == "team" and ev.get("text") == "via-tab",
              "bob got %s after '/shout t' Tab, expected a shout to team" % mt.describe(ev))

        term.line("/quit")
        check(term.wait_exit() == 0, "exit status after /quit is not 0")

    bob.quit_cleanly()


def test_ambiguous_peer_name(ctx):
    bob1 = Node(ctx, "bob", wait_ready=False)
    bob2 = Node(ctx, "bob", identity=ctx.path("bob2.id"), wait_ready=False)
    bob1.wait_ready()
    bob2.wait_ready()
    check(bob1.id != bob2.id, "both bobs have one ID")

    with start_alice(ctx) as term:
        for b in (bob1, bob2):
            term.wait(r"^" + TS + r"\* bob entered \(%s\)$"
                      % re.escape(b.ready_event["fingerprint"]),
                      what="'* bob entered' for %s" % mt.short(b.id))
        alice_id = bob1.wait_event("enter", None, name="alice")["peer"]
        bob2.wait_event("enter", alice_id)
        b1, b2 = bob1.mark(), bob2.mark()

        b1_fpr, b2_fpr = bob1.ready_event["fingerprint"], bob2.ready_event["fingerprint"]
        want = sorted("bob (%s...)" % f[:9] for f in (b1_fpr, b2_fpr))
        s = term.line("/msg bob x-ambiguous")
        m = term.wait(r"^error: ambiguous name 'bob': (.*)$", start=s,
                      what="\"error: ambiguous name 'bob': ...\" for /msg bob")
        got = sorted(m.group(1).split(", "))
        check(got == want, "/msg bob: candidates %s, expected %s" % (got, want))

        s = term.line("/verify bob")
        m = term.wait(r"^error: ambiguous name 'bob': (.*)$", start=s,
                      what="the ambiguous error for /verify bob")
        got = sorted(m.group(1).split(", "))
        check(got == want, "/verify bob: candidates %s, expected %s" % (got, want))

        # The start of the fingerprint the chat shows picks one, with or without its dash;
        # those whispers are also the barrier for "x-ambiguous went nowhere" (one sender's
        # messages arrive in order).
        for b, start, typed in ((bob1, b1, b1_fpr[:9]), (bob2, b2, b2_fpr[:9].replace("-", ""))):
            term.line("/msg %s after-%s" % (typed, b.id[:8]))
            ev = b.wait_event("whisper", alice_id, start=start)
            check(ev.get("text") == "after-%s" % b.id[:8],
                  "%s: first whisper after the ambiguous /msg is %s" % (mt.short(b.id),
                                                                       mt.describe(ev)))
        # and so does the start of the hex ID, which --json reports
        s = term.line("/verify %s" % bob2.id[:8])
        m = term.wait(r"^Security code of your link with bob \((\S+)\):\n\s+(.+)$", start=s,
                      what="/verify by ID prefix")
        check(m.group(1) == bob2.ready_event["fingerprint"],
              "/verify %s shows fingerprint %s, not the second bob's" % (bob2.id[:8], m.group(1)))
        ev = bob2.command("/verify alice", "verify")
        check(ev.get("sas") == m.group(2).strip(), "SAS: alice shows %r, bob #2 says %r"
              % (m.group(2).strip(), ev.get("sas")))

        # Once the second bob has left, the name is no longer ambiguous.
        s = term.mark()
        bob2.quit_cleanly()
        term.wait(r"^" + TS + r"\* bob left \(bye\)$", start=s, what="'* bob left (bye)'")
        b1 = bob1.mark()
        s = term.line("/msg bob only-one-left")
        ev = bob1.wait_event("whisper", alice_id, start=b1)
        check(ev.get("text") == "only-one-left", "bob #1 got %s after the other bob left"
              % mt.describe(ev))
        check(not re.search(r"^error:", term.text(s), re.M), "an error after /msg bob with "
              "one bob left:\n%s" % term.text(s))

        term.line("/quit")
        check(term.wait_exit() == 0, "exit status after /quit is not 0")

    bob1.quit_cleanly()


def test_peer_controlled_text_is_escaped(ctx):
    # Names with control characters are refused by the protocol (docs/protocol.md 3.1): the
    # program will not take one, and a peer cannot send one. Payloads can hold anything.
    refused = subprocess.run([mt.meshnode_binary(), "--json", "--iface", "lo", "--name",
                              "evil\x1b[31mred", "--identity", ctx.path("refused.id")],
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=mt.T(10))
    check(refused.returncode != 0, "a name holding ESC was accepted")
    check(b"control" in refused.stderr, "no reason given for refusing the name: %r"
          % refused.stderr[-200:])
    check(b"\x1b[31m" not in refused.stderr, "the refused name was echoed raw to stderr")
    evil_name = "evil"
    shown = "evil"

    with start_alice(ctx, groups=["team"]) as term:
        expect_prompt(term, "[team]> ", "prompt with --group team")
        evil = Node(ctx, evil_name, groups=["team"], identity=ctx.path("evil.id"))
        check(evil.name == evil_name, "the CLI changed the name")
        term.wait(r"^" + TS + r"\* %s entered \(" % re.escape(shown),
                  what="the enter line with the name in caret notation (%r)" % shown)
        alice_id = evil.wait_event("enter", None, name="alice")["peer"]
        term.wait(r"^" + TS + r"\* %s joined \[team\]$" % re.escape(shown),
                  what="the escaped join line")

        # Payloads: an escape sequence, a bell, DEL and a right-to-left override.
        s = term.mark()
        evil.shout("team", "\x1b[2Jwiped\x07\x7f\u202eevil")
        term.wait(r"^" + TS + r"\[team\] %s: \^\[\[2Jwiped\^G\^\?<U\+202E>evil$" % re.escape(shown),
                  start=s, what="the shout in caret notation, the RLO as <U+202E>")
        s = term.mark()
        evil.whisper(alice_id, "\x1b]0;title\x07psst")
        term.wait(r"^" + TS + r"-> \(whisper\) %s: \^\[\]0;title\^Gpsst$" % re.escape(shown),
                  start=s, what="the whisper in caret notation")

        s = term.line("/peers")
        term.wait(r"^%s\s+\S+\s+127\.0\.0\.1:\d+\s+team\s+live$" % re.escape(shown), start=s,
                  what="the escaped name in /peers")
        s = term.line("/verify %s" % evil.id[:8])
        term.wait(r"^Security code of your link with %s \(" % re.escape(shown), start=s,
                  what="the escaped name in /verify")
        term.wait(r"^Compare it with %s out of band" % re.escape(shown), start=s,
                  what="the escaped name in the /verify advice")

        # What reached the terminal: never the peer's raw bytes.
        s = term.line("/whoami")
        term.wait(r"^\s+fingerprint:", start=s, what="/whoami (a barrier for the raw log)")
        deadline = time.monotonic() + mt.T(5)
        while b"fingerprint:" not in term.raw().rsplit(b"/whoami", 1)[-1]:
            if time.monotonic() > deadline:
                fail("the pane's raw output log did not catch up within %.1fs" % mt.T(5))
            time.sleep(POLL)
        raw = term.raw()
        for bad in (b"\x1b[2Jwiped", b"\x1b]0;title", b"\x07psst",
                    b"wiped\x07", "\u202e".encode()):
            check(bad not in raw, "raw bytes %r from the peer reached the terminal" % bad)
        check(shown.encode() in raw, "%r never written to the terminal" % shown)
        # With -e, capture-pane writes the attributes back as SGR sequences: red (31) must not
        # follow "evil" anywhere, and the name's own colour must still be there.
        esc = term.text(escapes=True)
        check("\x1b[2J" not in esc, "the peer's payload reached the terminal as an escape")
        check(re.search(r"\x1b\[[0-9;]*m%s" % re.escape(shown), esc),
              "the escaped name is not coloured like a peer name")

        term.line("/quit")
        check(term.wait_exit() == 0, "exit status after /quit is not 0")
        ev = evil.wait_event("exit", alice_id)
        check(ev.get("reason") == "bye", "evil: alice's exit reason %r" % ev.get("reason"))
        evil.quit_cleanly()



def test_quoted_newline_does_not_end_the_line(ctx):
    """Ctrl-V then Ctrl-J (or Ctrl-M, Ctrl-D) puts nothing on the line and sends nothing: only
    Enter ends a line. The line used to count as finished whenever it ended in a newline."""
    zoe = Node(ctx, "zoe", groups=["team"])
    with start_alice(ctx, groups=["team"]) as term:
        expect_prompt(term, "[team]> ", "prompt with --group team")
        alice_id = zoe.wait_event("enter", None, name="alice")["peer"]
        zoe.wait_event("join", alice_id, group="team")
        z0 = zoe.mark()
        term.type("xyz")
        term.keys("C-v", "C-j")
        term.keys("C-v", "C-m")
        term.type("!")
        term.wait_cursor_line("[team]> xyz!", what="the edit line after C-v C-j, C-v C-m, '!'")
        term.keys("Enter")
        ev = zoe.wait_event("shout", alice_id, start=z0, group="team")
        check(ev.get("text") == "xyz!", "zoe's first shout is %s, expected 'xyz!'"
              % mt.describe(ev))
        # Ctrl-V Ctrl-D on an empty line is not Ctrl-D: the chat goes on.
        term.keys("C-v", "C-d")
        z0 = zoe.mark()
        term.line("still-here")
        ev = zoe.wait_event("shout", alice_id, start=z0, group="team")
        check(ev.get("text") == "still-here", "after C-v C-d zoe got %s" % mt.describe(ev))
        term.line("/quit")
        check(term.wait_exit() == 0, "exit status after /quit is not 0")
    zoe.quit_cleanly()


def test_suspend_and_resume(ctx):
    """Ctrl-Z stops the chat like any program, and after `fg` the line editor works at once:
    the terminal is back in character mode (Tab completes, keys are not echoed twice). It used
    to come back in line mode, dead to Tab until the next Enter."""
    zoe = Node(ctx, "zoe", groups=["team"])
    term = Term(ctx, ["env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i"], name="alice")
    with term:
        term.wait(r"^\$ ?$", what="the shell's prompt")
        term.line(" ".join(shlex.quote(a) for a in alice_argv(ctx, groups=["team"])))
        term.wait(r"^\* type /help for the commands", what="the help hint")
        expect_prompt(term, "[team]> ", "prompt with --group team")
        alice_id = zoe.wait_event("enter", None, name="alice")["peer"]
        zoe.wait_event("join", alice_id, group="team")

        s = term.mark()
        term.type("before ")
        term.keys("C-z")
        term.wait(r"Stopped", start=s, what="bash's note that the job stopped")
        term.wait_cursor_line("$", what="the shell's prompt after C-z")
        term.line("fg")
        expect_prompt(term, "[team]> before", "the edit line back after fg")
        tty = term.tmux("display-message", "-p", "-t", term.name, "#{pane_tty}").strip()
        flags = subprocess.run(["stty", "-F", tty, "-a"], capture_output=True,
                               text=True).stdout.split()
        check("-icanon" in flags and "-echo" in flags,
              "after fg the terminal is not in character mode: %s"
              % " ".join(f for f in flags if f.endswith("icanon") or f.endswith("echo")))
        # Tab works before any Enter: "/msg zo" completes at once.
        term.keys("C-u")
        term.type("/msg zo")
        term.keys("Tab")
        term.wait_cursor_line("[team]> /msg zoe", what="'/msg zo' + Tab after fg")
        z0 = zoe.mark()
        term.type("back")
        term.keys("Enter")
        ev = zoe.wait_event("whisper", alice_id, start=z0)
        check(ev.get("text") == "back", "after fg zoe got %s" % mt.describe(ev))
        term.line("/quit")
        term.wait_cursor_line("$", what="the shell's prompt after /quit")
    zoe.quit_cleanly()


if __name__ == "__main__":
    mt.run([
        test_without_libedit_plain_lines,
        test_chat_with_a_json_peer,
        test_tab_completion,
        test_ambiguous_peer_name,
        test_peer_controlled_text_is_escaped,
        test_quoted_newline_does_not_end_the_line,
        test_suspend_and_resume,
    ])
