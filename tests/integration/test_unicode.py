#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""Non-ASCII text in the interactive chat (docs/usage.md, "Locale and non-ASCII text").

The chat runs on a tmux pane (test_interactive.Term) under an explicit locale, given with
`env LC_ALL=...` in front of meshnode; its peers are --json nodes. Under C.UTF-8:
- what is typed (a plain line to the current group, /shout, /msg) reaches the peers byte for
  byte, and line editing works on characters, not bytes;
- Tab completes non-ASCII peer and group names, never erasing what was typed, and never
  stopping in the middle of a character when two names share a first byte;
- the /peers table counts columns, so a CJK name (two columns a character) keeps it aligned;
- what peers send is shown as it is, except control characters and invisible or
  bidirectional format characters, which are shown as <U+XXXX> and never reach the terminal.
Under LC_ALL=C (a terminal that is not UTF-8) everything written to the pane is ASCII, with
non-ASCII characters shown as <U+XXXX>, typed ASCII still goes through, and completion leaves
what was typed alone. JSON mode ignores the locale: it must stay byte-exact.

Run: tests/integration/netns-run python3 test_unicode.py [MESHNODE]
"""
import os
import re
import sys
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshtest as mt  # noqa: E402
from meshtest import Node, check, fail  # noqa: E402
import test_interactive as ti  # noqa: E402

UTF8 = "C.UTF-8"       # shipped with Debian's libc-bin, so always there
# tmux itself (server and the clients we run) and the --json peers run under a UTF-8 locale
# too: the peers' output must not depend on it, and tmux must pass non-ASCII keys and screen
# text through unchanged.
os.environ["LC_ALL"] = UTF8

# The issue's text: Latin with diacritics, an em dash, CJK and an emoji outside the BMP.
TEXT = "h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \U0001f389"   # héllo wörld — 日本語 🎉
TEXT_ASCII = "h<U+00E9>llo w<U+00F6>rld <U+2014> <U+65E5><U+672C><U+8A9E> <U+1F389>"
# The issue's peer: a capital, a diacritic, a blank and an emoji, so /msg needs it quoted.
ROCKET = "Zo\u00eb \U0001f680"                                          # Zoë 🚀


def start_chat(ctx, locale, name="alice", groups=()):
    """The interactive node under LC_ALL=locale, after its banner and help hint."""
    argv = ["env", "LC_ALL=" + locale] + ti.alice_argv(ctx, name=name, groups=groups)
    term = ti.Term(ctx, argv, name=name)
    try:
        term.wait(r"^\* meshnode \S+: you are %s \(" % re.escape(name), what="the banner")
        term.wait(r"^\* type /help for the commands", what="the help hint")
    except BaseException:
        term.close()
        raise
    return term


def width(s):
    """Terminal columns of s, as wcwidth() counts them for these scripts."""
    w = 0
    for c in s:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return w


def wait_raw(term, needle):
    """Waits until the pane's raw output log holds needle (bytes); returns the log."""
    deadline = time.monotonic() + mt.T(5)
    while True:
        raw = term.raw()
        if needle in raw:
            return raw
        if time.monotonic() > deadline:
            fail("the pane's raw output never held %r within %.1fs" % (needle, mt.T(5)))
        time.sleep(ti.POLL)


# --------------------------------------------------------------------------------------------


def test_issue_example(ctx):
    """The issue's own case: type TEXT to a peer named "Zoë 🚀", its name completed by Tab."""
    rocket = Node(ctx, ROCKET, groups=["team"])

    with start_chat(ctx, UTF8, groups=["team"]) as term:
        ti.expect_prompt(term, "[team]> ", "prompt with --group team")
        term.wait(r"^" + ti.TS + r"\* %s entered \(" % re.escape(ROCKET),
                  what="'* Zoë 🚀 entered'")
        term.wait(r"^" + ti.TS + r"\* %s joined \[team\]$" % re.escape(ROCKET),
                  what="'* Zoë 🚀 joined [team]'")
        alice_id = rocket.wait_event("enter", None, name="alice")["peer"]
        rocket.wait_event("join", alice_id, group="team")

        # "/msg Zo" Tab: the name holds a blank, so it comes back in double quotes, whole.
        r0 = rocket.mark()
        s = term.mark()
        term.type("/msg Zo")
        term.keys("Tab")
        term.wait_cursor_line('[team]> /msg "%s"' % ROCKET, what="'/msg Zo' + Tab")
        term.type(TEXT)
        term.wait_cursor_line('[team]> /msg "%s" %s' % (ROCKET, TEXT),
                              what="the typed whisper on the edit line")
        term.keys("Enter")
        ev = rocket.wait_event("whisper", alice_id, start=r0)
        check(mt.payload_of(ev) == TEXT.encode("utf-8"),
              "Zoë 🚀 got whisper %s, expected the bytes %r" % (mt.describe(ev), TEXT.encode()))
        term.wait(r"^" + ti.TS + r"\(whisper to %s\) %s$" % (re.escape(ROCKET), re.escape(TEXT)),
                  start=s, what="alice's own whisper")

        # The same text as a plain line to the group: byte for byte too.
        r0 = rocket.mark()
        term.line(TEXT)
        ev = rocket.wait_event("shout", alice_id, start=r0, group="team")
        check(mt.payload_of(ev) == TEXT.encode("utf-8"),
              "Zoë 🚀 got shout %s, expected the bytes %r" % (mt.describe(ev), TEXT.encode()))

        # And back: what Zoë 🚀 sends is shown as it is, under its name.
        s = term.mark()
        rocket.whisper(alice_id, TEXT)
        term.wait(r"^" + ti.TS + r"-> \(whisper\) %s: %s$" % (re.escape(ROCKET), re.escape(TEXT)),
                  start=s, what="Zoë 🚀's whisper")

        term.line("/quit")
        check(term.wait_exit() == 0, "exit status after /quit is not 0")
    rocket.quit_cleanly()


def test_typed_utf8_reaches_peers(ctx):
    zoe = Node(ctx, "zo\u00eb", groups=["team"])

    with start_chat(ctx, UTF8, groups=["team"]) as term:
        ti.expect_prompt(term, "[team]> ", "prompt with --group team")
        term.wait(r"^" + ti.TS + r"\* zo\u00eb entered \(",
                  what="'* zoë entered' (the name as it is)")
        term.wait(r"^" + ti.TS + r"\* zo\u00eb joined \[team\]$", what="'* zoë joined [team]'")
        alice_id = zoe.wait_event("enter", None, name="alice")["peer"]
        zoe.wait_event("join", alice_id, group="team")

        # A plain line to the current group: on the edit line as typed, then byte-exact.
        z0 = zoe.mark()
        s = term.mark()
        term.type(TEXT)
        term.wait_cursor_line("[team]> " + TEXT, what="the typed line on the edit line")
        term.keys("Enter")
        ev = zoe.wait_event("shout", alice_id, start=z0, group="team")
        check(mt.payload_of(ev) == TEXT.encode(), "zoë got shout %s, expected %r"
              % (mt.describe(ev), TEXT))
        term.wait(r"^" + ti.TS + r"\[team\] alice: %s$" % re.escape(TEXT), start=s,
                  what="alice's own shout")

        # A group with a non-ASCII name, typed; /shout to it, its name completed by Tab.
        zoe.command("/join caf\u00e9", "joined")
        term.wait(r"^" + ti.TS + r"\* zo\u00eb joined \[caf\u00e9\]$",
                  what="'* zoë joined [café]'")
        s = term.line("/join caf\u00e9")
        term.wait(r"^" + ti.TS + r"\* you joined \[caf\u00e9\]$", start=s,
                  what="'* you joined [café]'")
        ti.expect_prompt(term, "[caf\u00e9]> ", "prompt after /join café")
        zoe.wait_event("join", alice_id, group="caf\u00e9")
        z0 = zoe.mark()
        term.type("/shout ca")
        term.keys("Tab")
        term.wait_cursor_line("[caf\u00e9]> /shout caf\u00e9", what="'/shout ca' + Tab")
        term.type(TEXT)
        term.keys("Enter")
        ev = zoe.wait_event("shout", alice_id, start=z0, group="caf\u00e9")
        check(mt.payload_of(ev) == TEXT.encode(), "zoë got %s in café, expected %r"
              % (mt.describe(ev), TEXT))

        # /msg with the peer's name completed (the issue's case), then the same text.
        z0 = zoe.mark()
        s = term.mark()
        term.type("/msg zo")
        term.keys("Tab")
        term.wait_cursor_line("[caf\u00e9]> /msg zo\u00eb", what="'/msg zo' + Tab")
        term.type(TEXT)
        term.keys("Enter")
        ev = zoe.wait_event("whisper", alice_id, start=z0)
        check(mt.payload_of(ev) == TEXT.encode(), "zoë got whisper %s, expected %r"
              % (mt.describe(ev), TEXT))
        term.wait(r"^" + ti.TS + r"\(whisper to zo\u00eb\) %s$" % re.escape(TEXT), start=s,
                  what="alice's own whisper")

        # Editing moves and deletes whole characters: "ñandú", two Lefts, BSpace (the "n"),
        # then "ñ": "ñañdú".
        z0 = zoe.mark()
        term.type("/msg zo\u00eb \u00f1and\u00fa")
        term.keys("Left", "Left", "BSpace")
        term.type("\u00f1")
        term.wait_cursor_line("[caf\u00e9]> /msg zo\u00eb \u00f1a\u00f1d\u00fa",
                              what="the edit line after Left, Left, BSpace, ñ")
        term.keys("Enter")
        ev = zoe.wait_event("whisper", alice_id, start=z0)
        check(ev.get("text") == "\u00f1a\u00f1d\u00fa", "after editing, zoë got %s, expected "
              "'ñañdú'" % mt.describe(ev))
        # History gives the line back as it was typed.
        term.keys("Up")
        term.wait_cursor_line("[caf\u00e9]> /msg zo\u00eb \u00f1a\u00f1d\u00fa",
                              what="the edit line after Up")
        term.keys("C-u")

        # What zoë sends is shown as it is.
        s = term.mark()
        zoe.shout("team", TEXT)
        term.wait(r"^" + ti.TS + r"\[team\] zo\u00eb: %s$" % re.escape(TEXT), start=s,
                  what="zoë's shout")
        zoe.whisper(alice_id, TEXT + " (whisper)")
        term.wait(r"^" + ti.TS + r"-> \(whisper\) zo\u00eb: %s \(whisper\)$" % re.escape(TEXT),
                  start=s, what="zoë's whisper")
        wait_raw(term, (TEXT + " (whisper)").encode())

        term.line("/quit")
        check(term.wait_exit() == 0, "exit status after /quit is not 0")
    zoe.quit_cleanly()


def test_completion_of_non_ascii_names(ctx):
    zoe = Node(ctx, "zo\u00eb")
    nihon = Node(ctx, "\u65e5\u672c\u8a9e\u3055\u3093")        # 日本語さん

    with start_chat(ctx, UTF8) as term:
        ti.expect_prompt(term, "> ", "empty prompt")
        term.wait(r"^" + ti.TS + r"\* zo\u00eb entered \(", what="'* zoë entered'")
        term.wait(r"^" + ti.TS + r"\* \u65e5\u672c\u8a9e\u3055\u3093 entered \(",
                  what="'* 日本語さん entered'")
        alice_id = zoe.wait_event("enter", None, name="alice")["peer"]
        nihon.wait_event("enter", alice_id)

        # One match: "/msg zo" Tab gives the whole name (and the blank after it).
        z0 = zoe.mark()
        term.type("/msg zo")
        term.keys("Tab")
        term.wait_cursor_line("> /msg zo\u00eb", what="'/msg zo' + Tab")
        term.type("hi-zoe")
        term.keys("Enter")
        ev = zoe.wait_event("whisper", alice_id, start=z0)
        check(ev.get("text") == "hi-zoe", "zoë got %s after '/msg zo' Tab 'hi-zoe'"
              % mt.describe(ev))

        # A typed prefix that is itself non-ASCII.
        n0 = nihon.mark()
        term.type("/msg \u65e5\u672c")
        term.keys("Tab")
        term.wait_cursor_line("> /msg \u65e5\u672c\u8a9e\u3055\u3093", what="'/msg 日本' + Tab")
        term.type(TEXT)
        term.keys("Enter")
        ev = nihon.wait_event("whisper", alice_id, start=n0)
        check(mt.payload_of(ev) == TEXT.encode(), "日本語さん got %s, expected %r"
              % (mt.describe(ev), TEXT))

        # "zoë" and "zoé" share the first byte of their third character (0xc3): Tab may add
        # only whole characters, so "zo" stays, and a second Tab lists both; then "é" Tab
        # completes "zoé".
        zoe2 = Node(ctx, "zo\u00e9")
        term.wait(r"^" + ti.TS + r"\* zo\u00e9 entered \(", what="'* zoé entered'")
        zoe2.wait_event("enter", alice_id)
        z0 = zoe2.mark()
        s = term.mark()
        term.type("/msg zo")
        term.keys("Tab")
        term.keys("Tab")
        term.wait(r"^zo\u00e9\s+zo\u00eb$", start=s, what="the list of 'zoé' and 'zoë'")
        term.wait_cursor_line("> /msg zo", what="the edit line after the list")
        term.type("\u00e9")
        term.keys("Tab")
        term.wait_cursor_line("> /msg zo\u00e9", what="'/msg zo' Tab 'é' Tab")
        term.type("hi-zoe2")
        term.keys("Enter")
        ev = zoe2.wait_event("whisper", alice_id, start=z0)
        check(ev.get("text") == "hi-zoe2", "zoé got %s" % mt.describe(ev))

        # /peers: the columns line up in terminal columns, whatever the names are made of.
        s = term.line("/peers")
        term.wait(r"^\u65e5\u672c\u8a9e\u3055\u3093\s+%s" % ti.FPR_RE, start=s,
                  what="the /peers row of 日本語さん")
        lines = term.lines()[s:]
        head = [l for l in lines if l.startswith("NAME")]
        check(head, "no /peers header")
        col = width(head[0][:head[0].index("FINGERPRINT")])
        rows = [l for l in lines if re.search(ti.FPR_RE, l)]
        check(len(rows) == 3, "expected 3 /peers rows, got %r" % rows)
        for r in rows:
            m = re.search(ti.FPR_RE, r)
            check(width(r[:m.start()]) == col, "/peers row %r: the fingerprint starts at column "
                  "%d, the header's at %d" % (r, width(r[:m.start()]), col))

        term.keys("C-d")
        check(term.wait_exit() == 0, "exit status after Ctrl-D is not 0")
    for n in (zoe, zoe2, nihon):
        n.quit_cleanly()


# Characters that must never reach the terminal as they are, and how they are shown instead.
HIDDEN = [("\u202e", "<U+202E>"),     # RIGHT-TO-LEFT OVERRIDE
          ("\u2066", "<U+2066>"),     # LEFT-TO-RIGHT ISOLATE
          ("\u061c", "<U+061C>"),     # ARABIC LETTER MARK
          ("\u200b", "<U+200B>"),     # ZERO WIDTH SPACE
          ("\u2060", "<U+2060>"),     # WORD JOINER
          ("\u00ad", "<U+00AD>"),     # SOFT HYPHEN
          ("\ufeff", "<U+FEFF>"),     # ZERO WIDTH NO-BREAK SPACE (BOM)
          ("\ufff9", "<U+FFF9>"),     # INTERLINEAR ANNOTATION ANCHOR
          ("\u3164", "<U+3164>"),     # HANGUL FILLER
          ("\U000e0041", "<U+E0041>"),  # TAG LATIN CAPITAL LETTER A
          ("\u2028", "<U+2028>"),     # LINE SEPARATOR
          ("\u0085", "<U+0085>"),     # NEXT LINE (C1)
          ("\u009b", "<U+009B>")]     # CONTROL SEQUENCE INTRODUCER (C1)


def test_hidden_characters_are_shown_escaped(ctx):
    evil_name = "ab\u202ecd"
    with start_chat(ctx, UTF8, groups=["team"]) as term:
        ti.expect_prompt(term, "[team]> ", "prompt with --group team")
        evil = Node(ctx, evil_name, groups=["team"], identity=ctx.path("evil.id"))
        watcher = Node(ctx, "watcher", groups=["team"])
        term.wait(r"^" + ti.TS + r"\* ab<U\+202E>cd entered \(", what="the name with <U+202E>")
        term.wait(r"^" + ti.TS + r"\* ab<U\+202E>cd joined \[team\]$", what="the escaped join line")
        term.wait(r"^" + ti.TS + r"\* watcher joined \[team\]$", what="'* watcher joined [team]'")
        alice_id = evil.wait_event("enter", None, name="alice")["peer"]
        watcher.wait_event("enter", evil.id)

        hostile = "x".join(c for c, _ in HIDDEN) + "x"
        shown = "x".join(e for _, e in HIDDEN) + "x"
        w0 = watcher.mark()
        s = term.mark()
        evil.shout("team", hostile)
        term.wait(r"^" + ti.TS + r"\[team\] ab<U\+202E>cd: %s$" % re.escape(shown), start=s,
                  what="the hostile shout with every hidden character as <U+XXXX>")
        # JSON mode is lossless, whatever the locale.
        ev = watcher.wait_event("shout", evil.id, start=w0, group="team")
        check(mt.payload_of(ev) == hostile.encode(), "the --json watcher got %s, expected the "
              "hostile text unchanged" % mt.describe(ev))

        # Printable text around joiners and variation selectors stays as it is: a heart with
        # VS16, a ZWJ emoji sequence, e + combining acute, Hebrew letters, Persian with ZWNJ.
        legit = ("\u2764\ufe0f \U0001f469\u200d\U0001f4bb e\u0301 \u05e2\u05d1\u05e8\u05d9\u05ea "
                 "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645")
        evil.whisper(alice_id, "legit: " + legit)
        raw = wait_raw(term, ("legit: " + legit).encode())

        # Completion does not offer a name it could not show as it is; what was typed stays.
        term.type("/msg ab")
        term.keys("Tab")
        term.type("X")
        term.wait_cursor_line("[team]> /msg abX", what="'/msg ab' Tab 'X'")
        term.keys("C-u")
        term.wait_cursor_line("[team]>", what="the edit line emptied by C-u")

        s = term.line("/peers")
        term.wait(r"^ab<U\+202E>cd\s+\S+\s+127\.0\.0\.1:\d+\s+team\s+live$", start=s,
                  what="the escaped name in /peers")
        s = term.line("/whoami")
        term.wait(r"^\s+fingerprint:", start=s, what="/whoami (a barrier for the raw log)")
        raw = wait_raw(term, b"fingerprint:")
        for c, e in HIDDEN:
            check(c.encode() not in raw, "%s reached the terminal raw" % e)

        term.line("/quit")
        check(term.wait_exit() == 0, "exit status after /quit is not 0")
    evil.quit_cleanly()
    watcher.quit_cleanly()


def test_c_locale(ctx):
    zoe = Node(ctx, "zo\u00eb", groups=["team"])

    with start_chat(ctx, "C", groups=["team"]) as term:
        term.wait(r"^\* your locale is not UTF-8", what="the notice about the locale")
        ti.expect_prompt(term, "[team]> ", "prompt with --group team")
        term.wait(r"^" + ti.TS + r"\* zo<U\+00EB> entered \(", what="'* zo<U+00EB> entered'")
        term.wait(r"^" + ti.TS + r"\* zo<U\+00EB> joined \[team\]$",
                  what="'* zo<U+00EB> joined [team]'")
        alice_id = zoe.wait_event("enter", None, name="alice")["peer"]
        zoe.wait_event("join", alice_id, group="team")

        # Received UTF-8: every non-ASCII character as <U+XXXX>, controls too.
        s = term.mark()
        zoe.shout("team", TEXT)
        term.wait(r"^" + ti.TS + r"\[team\] zo<U\+00EB>: %s$" % re.escape(TEXT_ASCII), start=s,
                  what="zoë's shout in ASCII")
        zoe.whisper(alice_id, "a\u202eb\u00adc")
        term.wait(r"^" + ti.TS + r"-> \(whisper\) zo<U\+00EB>: a<U\+202E>b<U\+00AD>c$", start=s,
                  what="zoë's whisper in ASCII")

        # Typed ASCII goes through, also around characters this terminal cannot type.
        z0 = zoe.mark()
        term.line("plain ascii, then h\u00e9llo")
        ev = zoe.wait_event("shout", alice_id, start=z0, group="team")
        got = ev.get("text", "")
        check("".join(c for c in got if ord(c) < 128) == "plain ascii, then hllo",
              "zoë got %s, expected the ASCII of 'plain ascii, then héllo'" % mt.describe(ev))
        term.wait(r"^" + ti.TS + r"\[team\] alice: plain ascii, then h", start=s,
                  what="alice's own shout")

        # A name that cannot be shown as it is is not completed, and what was typed stays.
        term.type("/msg zo")
        term.keys("Tab")
        term.type("X")
        term.wait_cursor_line("[team]> /msg zoX", what="'/msg zo' Tab 'X'")
        term.keys("C-u")
        term.wait_cursor_line("[team]>", what="the edit line emptied by C-u")

        # An ID prefix still names the peer.
        z0 = zoe.mark()
        term.line("/msg %s by-id" % zoe.id[:8])
        ev = zoe.wait_event("whisper", alice_id, start=z0)
        check(ev.get("text") == "by-id", "zoë got %s" % mt.describe(ev))

        s = term.line("/peers")
        term.wait(r"^zo<U\+00EB>\s+\S+\s+127\.0\.0\.1:\d+\s+team\s+live$", start=s,
                  what="the escaped name in /peers")
        s = term.line("/whoami")
        term.wait(r"^\s+fingerprint:", start=s, what="/whoami (a barrier for the raw log)")
        raw = wait_raw(term, b"fingerprint:")
        high = sorted(set(b for b in raw if b >= 0x80))
        check(not high, "bytes above 0x7f reached a terminal whose locale is C: %s"
              % " ".join("%02x" % b for b in high[:16]))

        term.line("/quit")
        check(term.wait_exit() == 0, "exit status after /quit is not 0")
    zoe.quit_cleanly()


if __name__ == "__main__":
    mt.run([
        test_issue_example,
        test_typed_utf8_reaches_peers,
        test_completion_of_non_ascii_names,
        test_hidden_characters_are_shown_escaped,
        test_c_locale,
    ])
