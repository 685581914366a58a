#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""check_labels BUILD_DIR: every ctest entry that enters a network namespace carries the label
"net", so that `ctest -LE net` runs exactly the tests a machine without CAP_SYS_ADMIN can run.

A test enters a namespace through tests/integration/netns-run, or by being one of the programs
that make their own (meshsim, meshbench); a test without the label must do neither.
Prints "check_labels: N checks, M failures".
"""
import json
import os
import subprocess
import sys

# check_hostns.sh makes a namespace of its own with unshare, to start binaries that must refuse.
NEEDS_NETNS = ("netns-run", "meshsim", "meshbench", "check_hostns.sh")
# These start meshbench only with command lines it refuses before it makes a namespace.
NO_NETNS = ("check_meshbench_args.sh",)


def main():
    build = sys.argv[1]
    out = subprocess.run(["ctest", "--test-dir", build, "--show-only=json-v1"],
                         check=True, capture_output=True, text=True).stdout
    tests = json.loads(out)["tests"]
    checks = failures = 0
    for t in tests:
        labels = []
        for p in t.get("properties", []):
            if p["name"] == "LABELS":
                labels = p["value"]
        args = [os.path.basename(a) for a in t.get("command", [])]
        needs = any(a in NEEDS_NETNS for a in args) and not any(a in NO_NETNS for a in args)
        checks += 1
        if needs and "net" not in labels:
            failures += 1
            print("check_labels: %s enters a network namespace but has no label 'net'" % t["name"])
        if not needs and "net" in labels:
            failures += 1
            print("check_labels: %s is labelled 'net' but enters no namespace" % t["name"])
    if checks < 10:
        failures += 1
        print("check_labels: only %d tests listed: is %s the build directory?" % (checks, build))
    print("check_labels: %d checks, %d failures" % (checks, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
