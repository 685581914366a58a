#!/usr/bin/env python3
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
"""check_vectors.py TEST_NOISE VECTOR_DIR: the vector files and how test_noise reads them.

1. vectors/SOURCES names every file in the directory, and each file has the sha256 it names.
2. `test_noise --vectors FILE` passes on each listed file and runs XX and XXpsk3 vectors.
3. From cacophony.txt's *_25519_ChaChaPoly_BLAKE2b vectors it derives files, in a temporary
   directory, that test_noise must handle as documented:
   - without handshake_hash: passes, and says how many vectors ran without it;
   - named by noise-c's older `name` field: passes, and says how many;
   - with no Noise_XX or Noise_XXpsk3 vector: fails, and says so;
   - with one transport ciphertext byte changed: fails on that message;
   - a file that does not exist: fails.
Prints "check_vectors: N passed, M failed".
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

SUITE = "_25519_ChaChaPoly_BLAKE2b"
XX = "Noise_XX" + SUITE
XXPSK3 = "Noise_XXpsk3" + SUITE
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (": " + detail.strip()[-2000:] if detail else ""))
    return ok


def sources(vdir):
    """The paragraphs of SOURCES as dicts."""
    entries, cur = [], {}
    with open(os.path.join(vdir, "SOURCES"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            if not line.strip():
                if cur:
                    entries.append(cur)
                cur = {}
                continue
            m = re.match(r"^(\w+):\s*(.*)$", line)
            if m:
                cur[m.group(1)] = m.group(2).strip()
    if cur:
        entries.append(cur)
    return entries


def run(test_noise, path):
    r = subprocess.run([test_noise, "--vectors", path], capture_output=True, text=True,
                       timeout=300)
    return r.returncode, r.stdout + r.stderr


def counts(out):
    m = re.search(r"XX=(\d+) XXpsk3=(\d+) other=(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def write(tmp, name, vectors):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"vectors": vectors}, f, indent=1)
    return path


def main():
    test_noise, vdir = sys.argv[1], sys.argv[2]
    entries = sources(vdir)
    listed = [e.get("file") for e in entries]
    on_disk = sorted(f for f in os.listdir(vdir) if f != "SOURCES")
    check(sorted(listed) == on_disk, "SOURCES lists exactly the files in vectors/",
          "listed %s, on disk %s" % (listed, on_disk))
    for e in entries:
        name = e.get("file", "?")
        check(all(e.get(k) for k in ("sha256", "origin", "licence")),
              "SOURCES gives %s a sha256, an origin and a licence" % name)
        path = os.path.join(vdir, name)
        if not os.path.exists(path):
            check(False, "%s exists" % name)
            continue
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        check(digest == e.get("sha256"), "%s has the sha256 SOURCES names" % name, digest)
        rc, out = run(test_noise, path)
        xx, xxpsk3, _ = counts(out)
        check(rc == 0 and xx > 0 and xxpsk3 > 0,
              "test_noise --vectors %s passes with XX and XXpsk3 vectors run" % name, out)

    with open(os.path.join(vdir, "cacophony.txt"), encoding="utf-8") as f:
        ours = [v for v in json.load(f)["vectors"] if v["protocol_name"].endswith(SUITE)]
    # the vectors test_noise runs (fallback ones it cannot: their e is a pre-message)
    runnable = [v for v in ours if "fallback" not in v["protocol_name"]]
    with tempfile.TemporaryDirectory(prefix="check_vectors.") as tmp:
        no_hash = [{k: x for k, x in v.items() if k != "handshake_hash"} for v in runnable]
        rc, out = run(test_noise, write(tmp, "no_hash.txt", no_hash))
        m = re.search(r"(\d+) passed without handshake_hash", out)
        check(rc == 0 and m and int(m.group(1)) == len(runnable),
              "a file without handshake_hash is checked (%d vectors) and says so"
              % len(runnable), out)

        named = [{("name" if k == "protocol_name" else k): x for k, x in v.items()}
                 for v in runnable]
        rc, out = run(test_noise, write(tmp, "name_field.txt", named))
        m = re.search(r"(\d+) passed named by noise-c's older `name` field", out)
        check(rc == 0 and m and int(m.group(1)) == len(runnable) and counts(out)[0] > 0,
              "a file using noise-c's `name` field is read, not skipped", out)

        no_xx = [v for v in runnable if v["protocol_name"] not in (XX, XXPSK3)]
        rc, out = run(test_noise, write(tmp, "no_xx.txt", no_xx))
        check(rc != 0 and "no Noise_XX or Noise_XXpsk3 vector ran" in out and len(no_xx) > 0,
              "a file with no XX or XXpsk3 vector fails (%d other vectors in it)" % len(no_xx),
              out)

        xx = json.loads(json.dumps([v for v in runnable if v["protocol_name"] == XX][0]))
        last = xx["messages"][-1]
        ct = bytearray.fromhex(last["ciphertext"])
        ct[0] ^= 1
        last["ciphertext"] = ct.hex()
        rc, out = run(test_noise, write(tmp, "tampered.txt", [xx]))
        i = len(xx["messages"]) - 1
        check(rc != 0 and ("message %d: noise_transport_seal differs" % i) in out
              and ("message %d: noise_transport_open differs" % i) in out,
              "a changed transport ciphertext fails through seal and open", out)

        rc, out = run(test_noise, os.path.join(tmp, "absent.txt"))
        check(rc != 0 and "cannot read" in out, "a missing vector file fails", out)

    print("check_vectors: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
