#!/bin/sh
# Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
# check_meshsim_args.sh MESHSIM MESHNODE: meshsim fails fast and says why (issue 16).
# - An output it could not write is refused before the run, with status 2 and a line naming
#   the option, the path and the reason. Before this, a --json or --plot into a missing
#   directory failed only after the whole run, and its figures were lost.
# - A failed run keeps its temp dir (node logs) without --keep and prints its path; a run
#   that passes removes it.
# - A run whose nodes have all died stops at once, saying so, instead of waiting out its
#   deadline (before this, a meshnode that could not start cost the whole --deadline).
# - --json - writes the report on stdout, and then nothing else goes there: the table moves
#   to stderr, so that stdout parses as JSON.
# Run through netns-run, like every meshsim test.
sim=${1:?usage: check_meshsim_args.sh MESHSIM MESHNODE}
node=${2:?usage: check_meshsim_args.sh MESHSIM MESHNODE}
failed=0
passed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "check_meshsim_args: FAIL: $*"; }
tmp=$(mktemp -d) || exit 1
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
mkdir "$tmp/ro" && chmod a-w "$tmp/ro"

# refused PATTERN ARGS...: exit 2 at once, PATTERN on stderr, no output file made
refused() {
	pat=$1
	shift
	"$sim" --meshnode "$node" -n 2 converge --seed 1 "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = 2 ] && ok || bad "meshsim $* exited $rc, wanted 2"
	grep -q -- "$pat" "$tmp/err" && ok || bad "meshsim $*: stderr lacks '$pat': $(head -c 300 "$tmp/err")"
}
refused "--json: cannot write '$tmp/nodir/r.json': No such file or directory" --json "$tmp/nodir/r.json"
refused "--plot: cannot write '$tmp/nodir/p.svg': No such file or directory" --plot "$tmp/nodir/p.svg"
refused "--json: cannot write '$tmp': Is a directory" --json "$tmp"
# root may write anywhere, so the read-only case holds only for others
if [ "$(id -u)" != 0 ]; then
	refused "--plot: cannot write '$tmp/ro/p.svg': Permission denied" --plot "$tmp/ro/p.svg"
fi
[ ! -e "$tmp/nodir" ] && ok || bad "a refused path was created"

# --capture and --keylog: refused at once when they cannot work or the key log is not private
refused "--capture records the packets of node processes" --capture "$tmp/c.pcap" --sim
refused "--keylog collects the key logs of node processes" --keylog "$tmp/k" --inproc
: >"$tmp/loose" && chmod 644 "$tmp/loose"
refused "--keylog $tmp/loose: readable or writable by others" --keylog "$tmp/loose"
ln -s "$tmp/loose" "$tmp/link"
refused "--keylog $tmp/link: is a symbolic link (refused)" --keylog "$tmp/link"
[ ! -e "$tmp/c.pcap" ] && [ ! -e "$tmp/k" ] && ok || bad "a refused --capture or --keylog made its file"

# a run that fails (the checker's own fault injection) keeps its files and says where
"$sim" --meshnode "$node" -n 4 broadcast --messages 20 --seed 7 --quiet \
	--inject-fault drop-delivery >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] && ok || bad "a failed run exited $rc, wanted 1"
kept=$(sed -n 's/^meshsim: files kept in \(.*\)$/\1/p' "$tmp/err")
[ -n "$kept" ] && [ -d "$kept" ] && [ -n "$(ls "$kept")" ] && ok ||
	bad "a failed run did not keep its files: $(tail -c 300 "$tmp/err")"
[ -n "$kept" ] && rm -rf "$kept"
# ... and a run that passes does not
"$sim" --meshnode "$node" -n 2 converge --seed 1 --quiet >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 0 ] && ok || bad "a passing run exited $rc: $(tail -c 300 "$tmp/err")"
grep -q "files kept" "$tmp/err" && bad "a passing run kept its files" || ok

# every node dies at once (a "meshnode" that exits): the run stops, says why, exits 1; the
# deadline is far beyond the timeout, so a run that waited for it is caught as status 124
printf '#!/bin/sh\nexit 3\n' >"$tmp/dies" && chmod +x "$tmp/dies"
timeout 30 "$sim" --meshnode "$tmp/dies" -n 3 converge --seed 1 --deadline 600 --quiet \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] && ok || bad "a run whose nodes all died exited $rc, wanted 1 (124: it waited)"
grep -q "every node has died" "$tmp/err" && ok ||
	bad "a run whose nodes all died did not say so: $(tail -c 300 "$tmp/err")"
kept=$(sed -n 's/^meshsim: files kept in \(.*\)$/\1/p' "$tmp/err")
[ -n "$kept" ] && rm -rf "$kept"

# --json -: stdout is the report alone, in process mode and in --sim
for mode in "" --sim; do
	"$sim" --meshnode "$node" -n 2 converge --seed 1 --quiet $mode --json - \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = 0 ] && ok || bad "--json - $mode exited $rc: $(tail -c 300 "$tmp/err")"
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ok"] is True' \
		"$tmp/out" && ok || bad "--json - $mode: stdout is not the report: $(head -c 300 "$tmp/out")"
	grep -q "converge" "$tmp/err" && ok || bad "--json - $mode: no table on stderr"
	[ ! -e ./- ] && ok || bad "--json - $mode wrote a file named '-'"
done

echo "check_meshsim_args: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
