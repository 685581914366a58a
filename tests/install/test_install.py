#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""test_install: the library installs like a real one, and outside programs can use it.

Run by ctest (entry `install`) inside a private network namespace (netns-run), because it
runs the programs it builds. With the build's own settings in the environment (see
tests/install/CMakeLists.txt), it:
  1. installs the build into a temporary prefix and checks the exact list of installed files;
  2. checks libmeshnode.so: its SONAME, and that it exports exactly the functions the
     installed header declares, each under the version MESHNODE_1; and that the static
     library defines no other global symbol;
  3. compiles the installed header alone, as C and as C++, and the header's "Typical use"
     lines as a program, as C and as C++; renders every installed man page (meshnode(3), and
     with the programs meshnode(1), meshsim(1), meshbench(1)) with `man --warnings -l`;
  4. builds docs/example.c against the installed copy: with `pkg-config --cflags --libs
     meshnode`, as a CMake project with find_package(meshnode) (shared, static, and as C++),
     and as a CMake project that pulls in the source tree with add_subdirectory();
  5. makes the Debian package with `cpack -G DEB`, lists its contents and dependencies, and
     extracts it;
  6. runs every example build against the extracted package's meshnode (each must hear a
     whisper and three shouts: tests/integration/test_example.py), runs the installed meshsim
     with no --meshnode (it must find the installed meshnode).
Prints "test_install: N passed, M failed".
"""
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ["MN_SOURCE_DIR"]
BUILD = os.environ["MN_BUILD_DIR"]
LIBDIR = os.environ["MN_INSTALL_LIBDIR"]
CC = os.environ["MN_C_COMPILER"]
CXX = os.environ["MN_CXX_COMPILER"]
SANITIZE = os.environ.get("MN_SANITIZE", "OFF") in ("ON", "1", "TRUE")
VERSION = os.environ["MN_VERSION"]
TOOLS = os.environ.get("MN_BUILD_TOOLS", "ON") in ("ON", "1", "TRUE")
SAN_FLAGS = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"] if SANITIZE else []

passed = 0
failed = 0
log_lines = []


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("test_install: FAIL: %s%s" % (what, ("\n" + detail) if detail else ""), flush=True)
    return cond


def run(cmd, what, env=None, cwd=None, timeout=600):
    """Runs cmd; a failure is counted and shown; returns the CompletedProcess (or None)."""
    print("test_install: $ %s" % " ".join(shlex.quote(c) for c in cmd), flush=True)
    try:
        r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        check(False, what, str(e))
        return None
    ok = check(r.returncode == 0, what, "exit %d\n--- stdout\n%s\n--- stderr\n%s"
               % (r.returncode, r.stdout[-4000:], r.stderr[-4000:]))
    return r if ok else None


def installed_files(root):
    out = set()                           # symlinks to files are among the files
    for d, _, files in os.walk(root):
        for f in files:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def expected_files():
    so = "%s/libmeshnode.so" % LIBDIR
    want = {
        so, so + ".1", so + "." + VERSION, "%s/libmeshnode.a" % LIBDIR,
        "include/meshnode/meshnode.h",
        "%s/pkgconfig/meshnode.pc" % LIBDIR,
        "%s/cmake/meshnode/meshnodeConfig.cmake" % LIBDIR,
        "%s/cmake/meshnode/meshnodeConfigVersion.cmake" % LIBDIR,
        "%s/cmake/meshnode/meshnodeTargets.cmake" % LIBDIR,
    }
    for doc in ("README.md", "LICENSE", "protocol.md", "crypto.md", "usage.md", "meshsim.md",
                "performance.md", "example.c"):
        want.add("share/doc/meshnode/" + doc)
    want.add("share/man/man3/meshnode.3")
    want.add("share/meshnode/wireshark/meshnode.lua")
    if TOOLS:
        for prog in ("meshnode", "meshsim", "meshbench"):
            want.add("bin/" + prog)
            want.add("share/man/man1/%s.1" % prog)
    return want


def check_file_list(root, what):
    got = installed_files(root)
    # one per build type: meshnodeTargets-relwithdebinfo.cmake, -debug.cmake, ...
    per_config = {f for f in got
                  if re.fullmatch(r"%s/cmake/meshnode/meshnodeTargets-[a-z]+\.cmake"
                                  % re.escape(LIBDIR), f)}
    check(len(per_config) == 1, "%s: one meshnodeTargets-<config>.cmake" % what, str(per_config))
    got -= per_config
    want = expected_files()
    check(got == want, "%s: the installed files are exactly the expected ones" % what,
          "missing: %s\nunexpected: %s" % (sorted(want - got), sorted(got - want)))
    return got


def declared_functions(header):
    text = open(header, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return set(re.findall(r"\b(meshnode_[a-z_0-9]+)\s*\(", text))


def check_symbols(prefix):
    lib = os.path.join(prefix, LIBDIR, "libmeshnode.so." + VERSION)
    r = run(["objdump", "-p", lib], "objdump -p libmeshnode.so")
    if r:
        sonames = re.findall(r"^\s*SONAME\s+(\S+)", r.stdout, flags=re.M)
        check(sonames == ["libmeshnode.so.1"], "SONAME is libmeshnode.so.1", str(sonames))
    declared = declared_functions(os.path.join(prefix, "include/meshnode/meshnode.h"))
    check(len(declared) >= 20, "the header declares the API", str(sorted(declared)))
    r = run(["nm", "-D", "--defined-only", lib], "nm -D libmeshnode.so")
    exported = set()
    if r:
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) != 3:
                continue
            _, kind, sym = parts
            if kind == "A" and sym == "MESHNODE_1":
                continue              # the version node itself
            name, _, version = sym.partition("@@")
            check(version == "MESHNODE_1", "%s exported under version MESHNODE_1" % sym)
            exported.add(name)
        check(exported == declared,
              "libmeshnode.so exports exactly the functions of meshnode.h",
              "exported but not declared: %s\ndeclared but not exported: %s"
              % (sorted(exported - declared), sorted(declared - exported)))
        print("test_install: libmeshnode.so exports %d symbols: %s"
              % (len(exported), " ".join(sorted(exported))), flush=True)
    r = run(["nm", "-g", "--defined-only", os.path.join(prefix, LIBDIR, "libmeshnode.a")],
            "nm libmeshnode.a")
    if r:
        defined = {l.split()[2] for l in r.stdout.splitlines() if len(l.split()) == 3}
        check(defined == declared, "libmeshnode.a defines exactly the functions of meshnode.h",
              "other globals: %s\nmissing: %s" % (sorted(defined - declared),
                                                 sorted(declared - defined)))


def typical_use(header):
    """The lines under 'Typical use' in the header's opening comment, as program text."""
    lines = open(header, encoding="utf-8").read().splitlines()
    start = next(i for i, l in enumerate(lines) if "Typical use" in l) + 1
    body = []
    for l in lines[start:]:
        if l.strip() == "*/":
            break
        body.append(re.sub(r"^ \*     ?", "", l))
    return ("#include <meshnode/meshnode.h>\n#include <stdio.h>\n\nint main(void)\n{\n"
            + "\n".join("\t" + b for b in body) + "\n\treturn 0;\n}\n")


def check_compiles(prefix, tmp):
    inc = "-I" + os.path.join(prefix, "include")
    libs = ["-L" + os.path.join(prefix, LIBDIR), "-lmeshnode"]
    alone = os.path.join(tmp, "alone.c")
    with open(alone, "w") as f:
        f.write("#include <meshnode/meshnode.h>\nint main(void) { return MESH_OK; }\n")
    strict = ["-Wall", "-Wextra", "-Wpedantic", "-Werror"]
    run([CC, "-std=c99", *strict, inc, "-c", alone, "-o", os.path.join(tmp, "alone.o")],
        "the installed header compiles alone as C99")
    run([CXX, "-x", "c++", "-std=c++11", *strict, inc, "-c", alone, "-o",
         os.path.join(tmp, "alone_cxx.o")], "the installed header compiles alone as C++11")
    snippet = os.path.join(tmp, "typical_use.c")
    with open(snippet, "w") as f:
        f.write(typical_use(os.path.join(prefix, "include/meshnode/meshnode.h")))
    run([CC, "-std=c11", *strict, *SAN_FLAGS, inc, snippet, *libs, "-o",
         os.path.join(tmp, "typical_use")], "the header's Typical use compiles and links as C")
    run([CXX, "-x", "c++", "-std=c++11", *strict, *SAN_FLAGS, inc, snippet, "-x", "none",
         *libs, "-o", os.path.join(tmp, "typical_use_cxx")],
        "the header's Typical use compiles and links as C++")


def check_man(prefix):
    """Every installed man page renders without a warning, as `man` shows it to a user."""
    pages = sorted(glob.glob(os.path.join(prefix, "share", "man", "man[1-8]", "*.[1-8]")))
    check(len(pages) == (4 if TOOLS else 1), "%d man pages installed" % (4 if TOOLS else 1),
          str(pages))
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    for page in pages:
        name = os.path.relpath(page, prefix)
        r = run(["man", "--warnings", "-l", page], "man --warnings -l %s" % name, env=env)
        if r:
            check(r.stderr == "", "%s renders without a warning" % name, r.stderr)
            check(len(r.stdout) > 500, "%s renders to text (%d chars)" % (name, len(r.stdout)))


def build_examples(prefix, tmp):
    """Returns {label: path} of the example programs built against the installed copy."""
    example = os.path.join(SRC, "docs", "example.c")
    built = {}
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, LIBDIR, "pkgconfig"))
    r = run(["pkg-config", "--cflags", "--libs", "meshnode"], "pkg-config --cflags --libs meshnode",
            env=env)
    if r:
        flags = shlex.split(r.stdout)
        check(any(f.startswith("-I") and os.path.realpath(f[2:]) ==
                  os.path.realpath(os.path.join(prefix, "include")) for f in flags),
              "pkg-config names the installed include directory", r.stdout)
        out = os.path.join(tmp, "example_pc")
        if run([CC, "-Wall", "-Werror", *SAN_FLAGS, example, *flags, "-o", out],
               "example.c built with pkg-config"):
            built["pkg-config"] = out
        r2 = run(["pkg-config", "--modversion", "meshnode"], "pkg-config --modversion", env=env)
        if r2:
            check(r2.stdout.strip() == VERSION, "pkg-config version is %s" % VERSION, r2.stdout)

    consumer = os.path.join(tmp, "consumer")
    cfg = ["cmake", "-S", os.path.join(SRC, "tests", "install", "consumer"), "-B", consumer,
           "-DCMAKE_PREFIX_PATH=" + prefix, "-DEXAMPLE_SOURCE=" + example,
           "-DCMAKE_C_COMPILER=" + CC, "-DCMAKE_CXX_COMPILER=" + CXX]
    if SANITIZE:
        cfg += ["-DCMAKE_C_FLAGS=" + " ".join(SAN_FLAGS), "-DCMAKE_CXX_FLAGS=" + " ".join(SAN_FLAGS),
                "-DCMAKE_EXE_LINKER_FLAGS=" + " ".join(SAN_FLAGS)]
    if run(cfg, "configure a CMake project with find_package(meshnode)") and \
            run(["cmake", "--build", consumer, "-j2"], "build it"):
        built["cmake shared"] = os.path.join(consumer, "example_cmake")
        built["cmake static"] = os.path.join(consumer, "example_cmake_static")
        built["cmake c++"] = os.path.join(consumer, "example_cxx")
        r = run(["ldd", built["cmake static"]], "ldd the static example")
        if r:
            check("libmeshnode" not in r.stdout, "the static example needs no libmeshnode.so",
                  r.stdout)

    subdir = os.path.join(tmp, "subdir")
    cfg = ["cmake", "-S", os.path.join(SRC, "tests", "install", "subdir"), "-B", subdir,
           "-DMESHNODE_SOURCE=" + SRC, "-DCMAKE_C_COMPILER=" + CC, "-DCMAKE_BUILD_TYPE=Release"]
    r = run(cfg, "configure a CMake project with add_subdirectory(meshnode)")
    if r:
        check("libedit" not in r.stdout, "add_subdirectory builds no programs (no libedit needed)",
              r.stdout[-2000:])
        if run(["cmake", "--build", subdir, "-j2"], "build it", timeout=900):
            built["add_subdirectory"] = os.path.join(subdir, "example_subdir")
            r = run(["ctest", "--test-dir", subdir, "-N"], "ctest -N in the parent project")
            if r:
                check("Total Tests: 0" in r.stdout, "add_subdirectory adds no tests", r.stdout)
    return built


def make_deb(tmp):
    """Returns the root of the extracted .deb (or None)."""
    pkgdir = os.path.join(tmp, "pkg")
    if not run(["cpack", "-G", "DEB", "-B", pkgdir], "cpack -G DEB", cwd=BUILD):
        return None
    debs = glob.glob(os.path.join(pkgdir, "*.deb"))
    if not check(len(debs) == 1, "cpack made one .deb", str(debs)):
        return None
    deb = debs[0]
    r = run(["dpkg-deb", "-c", deb], "dpkg-deb -c")
    if r:
        print("test_install: contents of %s:\n%s" % (os.path.basename(deb), r.stdout), flush=True)
    r = run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends"], "dpkg-deb -f")
    if r:
        check("Package: meshnode" in r.stdout and ("Version: " + VERSION) in r.stdout,
              "the package is meshnode %s" % VERSION, r.stdout)
        for lib in ("libsodium", "libzmq", "libmsgpackc", "libedit2"):
            check(lib in r.stdout, "the package depends on %s" % lib, r.stdout)
    root = os.path.join(tmp, "deb")
    if not run(["dpkg-deb", "-x", deb, root], "dpkg-deb -x"):
        return None
    check_file_list(os.path.join(root, "usr"), "the .deb")
    return root


def run_example(label, program, meshnode, env):
    env = dict(env, EXAMPLE=program, MESHNODE=meshnode)
    r = run([sys.executable, os.path.join(SRC, "tests", "integration", "test_example.py")],
            "the example built with %s hears the mesh" % label, env=env, timeout=300)
    if r:
        check("2 passed, 0 failed" in r.stdout, "test_example passed for %s" % label, r.stdout)


def main():
    if os.environ.get("MN_IN_NETNS") != "1":
        print("test_install: runs programs; start it through tests/integration/netns-run")
        return 1
    tmp = tempfile.mkdtemp(prefix="meshnode-install.")
    try:
        prefix = os.path.join(tmp, "prefix")
        if run(["cmake", "--install", BUILD, "--prefix", prefix], "cmake --install"):
            check_file_list(prefix, "cmake --install")
            check_symbols(prefix)
            check_compiles(prefix, tmp)
            check_man(prefix)
        examples = build_examples(prefix, tmp)
        check(len(examples) == 5, "five example builds", str(sorted(examples)))
        root = make_deb(tmp) if TOOLS else None
        if TOOLS:
            meshnode = os.path.join(root, "usr", "bin", "meshnode") if root else None
            if check(meshnode and os.access(meshnode, os.X_OK), "the .deb has bin/meshnode"):
                r = run([meshnode, "--version"], "the extracted meshnode runs")
                if r:
                    check(VERSION in r.stdout + r.stderr, "it says its version",
                          r.stdout + r.stderr)
            for label, program in sorted(examples.items()):
                env = dict(os.environ)
                if label == "pkg-config":
                    # the one build with no RUNPATH to the prefix (CMake adds one), as a
                    # program built against a copy in /usr would have none
                    env["LD_LIBRARY_PATH"] = os.path.join(prefix, LIBDIR)
                run_example(label, program, meshnode or os.path.join(prefix, "bin", "meshnode"),
                            env)
            # meshsim with no --meshnode: the only meshnode it can find is the installed one
            r = run([os.path.join(prefix, "bin", "meshsim"), "-n", "2", "converge", "--seed", "1"],
                    "the installed meshsim finds the installed meshnode", timeout=300)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("test_install: %d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
