#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""check_man: the man pages in docs/man say what the programs and the header do.

    MN_MESHNODE=PATH MN_MESHSIM=PATH MN_MESHBENCH=PATH \
    check_man.py --source DIR --version V --cc CC --include DIR

For each program page (meshnode.1, meshsim.1, meshbench.1): every option that `PROG --help`
prints appears in the page, and every option the page names is one that --help prints
(save the few options of other commands a page quotes, listed in FOREIGN). Only --help is
run: no program opens a socket here. For meshnode.3: every function node/meshnode.h declares
is in its SYNOPSIS and described below it; every meshnode_*, MESHNODE_* and MESH_* name the
page uses exists in the header; every config field, event type and error code is named; and
its EXAMPLE compiles against the header as installed. For every page: it renders with
`man --warnings -l` (MANWIDTH=80, LC_ALL=C.UTF-8) with nothing on stderr, its .TH carries the
project's version, and README.md names it; every docs/man file README.md names exists.
Without the programs (MESHNODE_BUILD_TOOLS=OFF, so none of MN_MESHNODE, MN_MESHSIM,
MN_MESHBENCH is set) the option checks are skipped, and the output says so; with only some
of them set, the test fails.
Prints "check_man: N checks, M failures".
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

PROGRAMS = ("meshnode", "meshsim", "meshbench")
# Options of other commands that a page may quote in an example, with the command.
FOREIGN = {
    "meshnode.1": {"--net": "unshare(1)", "-c": "sh(1)"},
}

checks = 0
failures = 0


def check(cond, what, detail=""):
    global checks, failures
    checks += 1
    if not cond:
        failures += 1
        print("check_man: FAIL: %s%s" % (what, ("\n" + detail) if detail else ""), flush=True)
    return cond


def roff_text(src):
    """The page's text with comments, font escapes and roff's dashes turned into plain text."""
    lines = [l for l in src.splitlines() if not l.startswith('.\\"')]
    text = "\n".join(lines)
    text = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", text)    # \fB \fI \fR \fP \f(CW \f[B]
    text = text.replace("\\-", "-").replace("\\%", "").replace("\\&", "").replace("\\e", "\\")
    return text


def sections(src):
    """{section name: roff source of the section} of a page."""
    out = {}
    name = None
    for line in src.splitlines():
        m = re.match(r'^\.SH\s+"?([^"]*)"?\s*$', line)
        if m:
            name = m.group(1).strip()
            out[name] = ""
        elif name:
            out[name] += line + "\n"
    return out


OPTION = re.compile(r"(?<![\w-])(--[a-zA-Z][a-zA-Z0-9-]*|-[a-zA-Z])(?![\w-])")


def help_options(prog):
    r = subprocess.run([prog, "--help"], capture_output=True, text=True, timeout=30)
    name = os.path.basename(prog)
    if not check(r.returncode == 0 and r.stdout, "%s --help exits 0 and prints the help" % name,
                 "exit %d, stderr: %s" % (r.returncode, r.stderr)):
        return None
    return set(OPTION.findall(r.stdout))


def check_program_page(page, src, prog):
    name = os.path.basename(page)
    want = help_options(prog)
    if want is None:
        return
    got = set(OPTION.findall(roff_text(src)))
    foreign = FOREIGN.get(name, {})
    missing = sorted(want - got)
    extra = sorted(got - want - set(foreign))
    check(not missing, "%s: every option of %s --help is in the page" % (name, prog),
          "not in the page: %s" % " ".join(missing))
    check(not extra, "%s: every option the page names is in %s --help" % (name, prog),
          "not in --help: %s" % " ".join(extra))
    for opt, owner in sorted(foreign.items()):
        check(opt not in want and opt in got,
              "%s: %s is quoted as an option of %s, and is not one of %s's own"
              % (name, opt, owner, os.path.basename(prog)))
    check(sections(src).get("OPTIONS"), "%s has an OPTIONS section" % name)
    if not missing and not extra:
        print("check_man: %s: the same %d options as %s --help" % (name, len(want), prog),
              flush=True)


def c_without_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_facts(source):
    hdr = c_without_comments(open(os.path.join(source, "node", "meshnode.h"),
                                  encoding="utf-8").read())
    err = c_without_comments(open(os.path.join(source, "mesh", "mesh_err.h"),
                                  encoding="utf-8").read())
    # The installed header carries enum mesh_err but not mesh_strerror(): only the enum counts.
    enum_err = re.search(r"enum mesh_err\s*{[^}]*}", err).group(0)
    functions = set(re.findall(r"\b(meshnode_[a-z_0-9]+)\s*\(", hdr))
    tags = set(re.findall(r"\b(?:struct|enum)\s+(meshnode_[a-z_0-9]+)", hdr))
    constants = set(re.findall(r"\b(MESH(?:NODE)?_[A-Z0-9_]+)\b", hdr + enum_err))
    errors = set(re.findall(r"\b(MESH_[A-Z0-9_]+)\s*=", enum_err))
    events = set(re.findall(r"\b(MESHNODE_EV_[A-Z_]+)\b", hdr))
    cfg = re.search(r"struct meshnode_config\s*{(.*?)};", hdr, flags=re.S).group(1)
    fields = set(re.findall(r"(\w+)\s*;", cfg)) | set(re.findall(r"\(\s*\*\s*(\w+)\s*\)", cfg))
    return functions, tags, constants, errors, events, fields


def check_library_page(page, src, source, cc, include):
    name = os.path.basename(page)
    functions, tags, constants, errors, events, fields = header_facts(source)
    check(len(functions) >= 20, "node/meshnode.h declares the API", str(sorted(functions)))
    text = roff_text(src)
    secs = {k: roff_text(v) for k, v in sections(src).items()}
    synopsis = secs.get("SYNOPSIS", "")
    rest = "\n".join(v for k, v in secs.items() if k not in ("NAME", "SYNOPSIS"))
    for f in sorted(functions):
        check(re.search(r"\b%s\(" % f, synopsis),
              "%s: the SYNOPSIS declares %s()" % (name, f))
        check(re.search(r"\b%s\b" % f, rest), "%s: %s() is described" % (name, f))
    # A name after "::" is a CMake target (meshnode::meshnode_static), not C.
    used = set(re.findall(r"(?<![\w:])(meshnode_[a-z0-9_]+)", text))
    unknown = sorted(used - functions - tags)
    check(not unknown, "%s names only functions and types that node/meshnode.h declares" % name,
          "no such function or type: %s" % " ".join(unknown))
    used = set(re.findall(r"(?<![\w:])(MESH(?:NODE)?_[A-Z0-9_]+)", text))
    unknown = sorted(used - constants)
    check(not unknown, "%s names only constants that the installed header has" % name,
          "no such constant: %s" % " ".join(unknown))
    for what, names in (("error code", errors), ("event type", events), ("config field", fields)):
        missing = sorted(n for n in names if not re.search(r"\b%s\b" % n, rest))
        check(not missing, "%s: every %s is described" % (name, what),
              "missing: %s" % " ".join(missing))
    print("check_man: %s: %d functions, %d error codes, %d event types, %d config fields"
          % (name, len(functions), len(errors), len(events), len(fields)), flush=True)
    example = secs.get("EXAMPLE", "")
    m = re.search(r"^\.EX\n(.*?)^\.EE", example, flags=re.S | re.M)
    if check(m, "%s has an EXAMPLE in .EX/.EE" % name):
        with tempfile.TemporaryDirectory(prefix="check_man.") as tmp:
            prog = os.path.join(tmp, "example.c")
            with open(prog, "w") as f:
                f.write(m.group(1))
            r = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                                "-fsyntax-only", "-I" + include, prog],
                               capture_output=True, text=True, timeout=120)
            check(r.returncode == 0, "%s: the EXAMPLE compiles against <meshnode/meshnode.h>"
                  % name, r.stdout + r.stderr)


def check_render(page, version):
    name = os.path.basename(page)
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    try:
        r = subprocess.run(["man", "--warnings", "-l", page], env=env, capture_output=True,
                           text=True, timeout=60)
    except OSError as e:
        check(False, "%s: run man (Debian: man-db, groff-base)" % name, str(e))
        return
    check(r.returncode == 0 and r.stderr == "",
          "%s renders with man --warnings and no message" % name,
          "exit %d, stderr:\n%s" % (r.returncode, r.stderr))
    check(len(r.stdout) > 500, "%s renders to text (%d chars)" % (name, len(r.stdout)))
    src = open(page, encoding="utf-8").read()
    th = re.search(r'^\.TH\s+(\S+)\s+(\d)\s+(\S+)\s+"([^"]*)"', src, flags=re.M)
    if check(th, "%s has a .TH line with a source field" % name):
        check(th.group(4) == "meshnode " + version,
              "%s: .TH says meshnode %s" % (name, version), th.group(0))
        check(th.group(1).lower() + "." + th.group(2) == name,
              "%s: .TH names the page and its section" % name, th.group(0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--cc", required=True)
    ap.add_argument("--include", required=True, help="where <meshnode/meshnode.h> is")
    a = ap.parse_args()
    progs = {p: os.environ.get("MN_" + p.upper()) for p in PROGRAMS}
    no_tools = not any(progs.values())
    mandir = os.path.join(a.source, "docs", "man")
    pages = sorted(os.path.join(mandir, f) for f in os.listdir(mandir))
    names = [os.path.basename(p) for p in pages]
    check(names == ["meshbench.1", "meshnode.1", "meshnode.3", "meshsim.1"],
          "docs/man holds the four pages", str(names))
    readme = open(os.path.join(a.source, "README.md"), encoding="utf-8").read()
    for n in names:
        base, sec = n.rsplit(".", 1)
        check("%s(%s)" % (base, sec) in readme, "README.md names %s(%s)" % (base, sec))
    for path in sorted(set(re.findall(r"docs/man/[\w.]+", readme))):
        check(os.path.isfile(os.path.join(a.source, path)),
              "README.md names %s, which exists" % path)

    for page in pages:
        check_render(page, a.version)
        src = open(page, encoding="utf-8").read()
        n = os.path.basename(page)
        if n == "meshnode.3":
            check_library_page(page, src, a.source, a.cc, a.include)
            continue
        base = n.rsplit(".", 1)[0]
        if no_tools:
            print("check_man: %s: options NOT checked: MESHNODE_BUILD_TOOLS is OFF, so there is "
                  "no %s to ask for --help" % (n, base), flush=True)
            continue
        if check(progs.get(base), "%s: MN_%s names the program" % (n, base.upper())):
            check_program_page(page, src, progs[base])
    print("check_man: %d checks, %d failures" % (checks, failures))
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
