#!/bin/bash
# t2300-restore: `shelter versions` and `shelter restore` on a DEST that
# real backup passes filled over three "days": the trees as they were at
# each time, one file, one directory, in place with what is replaced kept,
# -n, --at before the first backup, a damaged kept copy, a symlink planted
# in TARGET, bad --at values, JSON output, DEST/./PATH, a copied DEST.
#
# The times between passes are read from the real clock (date) and from
# the pass folders that `versions --json` names; the versions a pass keeps
# are told apart by those times, so no test needs to sleep for seconds.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/restore-lib.sh"

t 'versions: one line per version, kept ones then the current one' '
	sh_run 0 versions "$D/a" &&
	expect_eq 3 "$(wc -l <out)" "lines for a" &&
	expect_eq "changed changed current" "$(awk "{ printf \"%s \", \$2 }" out | sed "s/ \$//")" "events of a" &&
	{ head -n 1 out | grep -Eq "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +changed f +11 2023-11-14T22:13:21Z 0644 [0-9a-f]{32} a\$" ||
		fail "first line: $(head -n 1 out)"; } &&
	{ tail -n 1 out | grep -Eq "^- +current f +13 .* a\$" || fail "last line: $(tail -n 1 out)"; } &&
	sh_run 0 versions "$D" &&
	grep -Eq " deleted f +11 .* d/c\$" out && grep -Eq " deleted d +0 .* d\$" out &&
	grep -Eq " current l +1 .* l -> d\$" out && grep -Eq " changed l +1 .* l -> a\$" out &&
	expect_eq "a a a b b d d/c d/e d/e/f l l n" "$(awk "{ printf \"%s \", \$8 }" out | sed "s/ \$//")" "sorted by path" &&
	sh_run 3 versions "$D/nothere" && grep -q "no versions" err
'

t 'versions --json: valid JSON with the expected events, times and hashes' '
	sh_run 0 versions --json "$D" &&
	python3 -m json.tool out >/dev/null &&
	python3 - out <<-EOF
	import json, sys
	v = json.load(open(sys.argv[1]))
	ev = {}
	for o in v:
	    assert set(o) >= {"path", "event", "type", "size", "mtime", "mode", "hash", "kept_at", "pass"}, o
	    ev.setdefault(o["path"], []).append(o["event"])
	want = {"a": ["changed", "changed", "current"], "b": ["changed", "current"],
	        "d": ["deleted"], "d/c": ["deleted"], "d/e": ["deleted"], "d/e/f": ["deleted"],
	        "l": ["changed", "current"], "n": ["current"]}
	assert ev == want, ev
	a = [o for o in v if o["path"] == "a"]
	assert a[0]["mtime"] == "2023-11-14T22:13:21.100000001Z", a[0]
	assert a[0]["size"] == 11 and a[0]["mode"] == "0644", a[0]
	assert a[0]["kept_at"] < a[1]["kept_at"], a
	assert a[0]["pass"] < a[1]["pass"], a
	assert a[2]["kept_at"] is None and a[2]["pass"] is None
	assert all(len(o["hash"]) == 32 for o in a), a
	assert [o["target"] for o in v if o["path"] == "l"] == ["a", "d"]
	assert [o["mode"] for o in v if o["path"] == "d"] == ["0750"]
	assert [o["hash"] for o in v if o["type"] != "f"] == [None] * 4
	EOF
'

t 'restore the whole tree as it was after each day' '
	sh_run 0 restore --at "$T1" "$D" r1 && same_tree "$DAY1" r1 && no_temp_files r1 &&
	sh_run 0 restore --at "$T2" "$D" r2 && same_tree "$DAY2" r2 &&
	sh_run 0 restore "$D" r3 && same_tree "$DAY3" r3 &&
	expect_eq "$(stat -c "%y %a" "$DAY1/a")" "$(stat -c "%y %a" r1/a)" "mtime (ns) and mode of a" &&
	expect_eq "$(stat -c "%y %a" "$DAY1/b")" "$(stat -c "%y %a" r1/b)" "mtime (ns) and mode of b" &&
	expect_eq a "$(readlink r1/l)" "l on day one" && expect_eq d "$(readlink r2/l)" "l on day two" &&
	expect_eq "" "$(ls -A r1 | grep shelter || :)" "no .shelter in a new TARGET" &&
	expect_eq "" "$(cat out err)" "a restore says nothing without -v"
'

t 'restore at the times of the pass folders that versions --json names' '
	sh_run 0 versions --json "$D/a" &&
	set -- $(sed -n "s/.*\"pass\": \"\\([0-9T.Z]*\\)\".*/\\1/p" out) &&
	expect_eq 2 $# "passes that kept a" &&
	sh_run 0 restore --at "$(pass_iso "$1")" "$D" r1 && same_tree "$DAY1" r1 &&
	sh_run 0 restore --at "$(pass_iso "$2")" "$D" r2 && same_tree "$DAY2" r2
'

t 'restore one file, a deleted file, one directory' '
	sh_run 0 restore --at "$T1" -v "$D/a" r &&
	expect_eq a "$(cat out)" "-v lists what was restored" &&
	expect_eq a "$(cd r && find . -mindepth 1 -printf "%P\n")" "only a is restored" &&
	cmp "$DAY1/a" r/a && expect_eq "$(stat -c %y "$DAY1/a")" "$(stat -c %y r/a)" &&
	sh_run 0 restore --at "$T1" "$D/d/c" rc &&
	cmp "$DAY1/d/c" rc/d/c &&
	expect_eq "$(stat -c "%y %a" "$DAY1/d/c")" "$(stat -c "%y %a" rc/d/c)" &&
	expect_eq 750 "$(stat -c %a rc/d)" "the parent made for d/c has the mode d had" &&
	sh_run 0 restore --at "$T1" "$D/d" rd &&
	expect_eq d "$(ls -A rd)" "only d is in TARGET" &&
	same_tree "$DAY1/d" rd/d &&
	sh_run 0 restore --at "$T2" "$D/d/" rd2 && same_tree "$DAY2/d" rd2/d &&
	sh_run 3 restore "$D/d" rd3 && grep -q "nothing to restore" err && [ ! -e rd3 ]
'

t 'restore in place: refused without --in-place, then what it replaces is kept' '
	cp -a "$FIX/src" src && printf "edited since\n" >src/a && cp -a src before &&
	sh_run 3 restore --at "$T1" "$D/a" src &&
	grep -q "TARGET src exists and is not empty" err && grep -q -- --in-place err &&
	same_tree before src &&
	sh_run 0 restore --at "$T1" --in-place "$D/a" src &&
	cmp "$DAY1/a" src/a && expect_eq "$(stat -c %y "$DAY1/a")" "$(stat -c %y src/a)" &&
	cmp before/b src/b && cmp before/n src/n &&
	kept=$(find src/.shelter/history -path "*/tree/a") &&
	expect_eq "edited since" "$(cat "$kept")" "the replaced a is kept" &&
	idx=$(dirname "$(dirname "$kept")")/index &&
	expect_eq "shelter-history 1" "$(head -n 1 "$idx")" &&
	awk -F"\\t" "NR == 2 { print \$1, \$2, \$8 }" "$idx" | grep -qx "changed f a" &&
	sh_run 0 restore --at "$T1" --in-place "$D/a" src &&
	expect_eq 1 "$(find src/.shelter/history -path "*/tree/a" | wc -l)" "an unchanged file is left alone" &&
	sh_run 0 backup src dst2 && [ ! -e dst2/.shelter/history ] && [ ! -e dst2/.shelter/index ]
'

t 'restore in place of a whole tree: everything replaced is kept, nothing deleted' '
	cp -a "$FIX/src" src &&
	sh_run 0 restore --at "$T1" --in-place "$D" src &&
	for f in a b d/c d/e/f; do cmp "$DAY1/$f" "src/$f" || return 1; done &&
	expect_eq a "$(readlink src/l)" &&
	cmp "$DAY3/n" src/n &&
	p=$(ls src/.shelter/history) &&
	cmp "$DAY3/a" "src/.shelter/history/$p/tree/a" && cmp "$DAY3/b" "src/.shelter/history/$p/tree/b" &&
	expect_eq d "$(readlink "src/.shelter/history/$p/tree/l")" &&
	rm src/n && rm -r src/.shelter && same_tree "$DAY1" src
'

t '-n lists what would be restored and changes nothing' '
	sh_run 0 restore -n --at "$T1" "$D" r &&
	[ ! -e r ] &&
	printf "%s\n" a b d/ d/c d/e/ d/e/f "l -> a" >want && diff -u want out &&
	cp -a "$FIX/src" src && printf "edited\n" >src/a && listing src >before &&
	sh_run 0 restore -n --at "$T1" --in-place "$D" src &&
	listing src >after && diff -u before after &&
	printf "%s\n" a b d/ d/c d/e/ d/e/f "l -> a" >want && diff -u want out &&
	sh_run 0 restore -n "$D/a" src2 && expect_eq a "$(cat out)" && [ ! -e src2 ]
'

t '--at before the first backup: nothing to restore, exit 3, no TARGET' '
	sh_run 3 restore --at "$T0" "$D" r &&
	grep -q "nothing to restore" err && grep -q "did not exist at" err && [ ! -e r ] &&
	sh_run 3 restore --at "$T0" "$D/a" r && [ ! -e r ] &&
	sh_run 3 restore --at 2000-01-01 "$D" r &&
	sh_run 3 restore --at 1w "$D" r && [ ! -e r ] &&
	sh_run 0 restore --at 0s "$D" r && same_tree "$DAY3" r
'

t 'a damaged kept copy: error naming the path, nothing under its final name' '
	days >/dev/null &&
	sh_run 0 versions --json dst/a &&
	p=$(sed -n "s/.*\"pass\": \"\\([0-9T.Z]*\\)\".*/\\1/p" out | head -n 1) &&
	kept=dst/.shelter/history/$p/tree/a &&
	cmp day1/a "$kept" &&
	printf "a, day 0ne\n" >"$kept" &&
	sh_run 23 restore --at "$T1" dst r &&
	grep -q "error: a: DEST/.shelter/history/$p/tree/a does not match the XXH3-128" err &&
	[ ! -e r/a ] && no_temp_files r &&
	cmp day1/b r/b && same_tree day1/d r/d
'

t 'a symlink planted in TARGET is kept aside, never followed' '
	mkdir outside tgt && ln -s ../outside tgt/d && printf x >tgt/x &&
	mkdir -p tgt/a/in && printf y >tgt/a/in/y &&
	sh_run 0 restore -n --at "$T1" --in-place "$D" tgt &&
	printf "%s\n" a b d/ d/c d/e/ d/e/f "l -> a" >want && diff -u want out &&
	sh_run 0 restore --at "$T1" --in-place "$D" tgt &&
	cmp "$DAY1/a" tgt/a && expect_eq y "$(cat tgt/.shelter/history/*/tree/a/in/y)" "a directory in the way is kept" &&
	expect_eq "" "$(ls -A outside)" "nothing written outside TARGET" &&
	[ -d tgt/d ] && [ ! -L tgt/d ] && same_tree "$DAY1/d" tgt/d &&
	expect_eq ../outside "$(readlink tgt/.shelter/history/*/tree/d)" "the symlink is kept" &&
	mkdir tgt2 && ln -s ../outside tgt2/d &&
	sh_run 3 restore --at "$T1" "$D" tgt2 && expect_eq "" "$(ls -A outside)"
'

t 'bad --at values, --timeout, two remote paths are usage errors (exit 1)' '
	for w in yesterday 2026-13-01 2026-02-30 3x 12 2026-11-25T25:00 2026-11-25T14:00:00+25:00 ""; do
		sh_run 1 restore --at "$w" "$D" r || return 1
		grep -q "^shelter: --at .*: " err || { cat err; return 1; }
	done &&
	grep -q "empty time" err && [ ! -e r ] &&
	sh_run 1 restore --at 3x "$D" r && grep -q "unknown unit" err &&
	sh_run 1 restore host:dst host:r && grep -q "both DEST and TARGET are remote" err &&
	sh_run 1 restore --timeout x "$D" r && grep -q "timeout .x.: not a number of seconds" err &&
	sh_run 1 versions host:dst && grep -q "not supported yet" err &&
	sh_run 1 restore "$D" && grep -q "two paths" err &&
	sh_run 1 restore "$D/.shelter/history" r && grep -q "shelter.s own data" err
'

t 'missing DEST, DEST without history, TARGET inside DEST' '
	sh_run 3 versions nosuch && grep -q "DEST nosuch: No such file or directory" err &&
	sh_run 3 restore nosuch r && grep -q "DEST nosuch: No such file or directory" err &&
	mkdir src && printf one >src/one &&
	sh_run 0 backup src dst &&
	sh_run 0 versions dst && expect_eq 1 "$(wc -l <out)" && grep -q " current f .* one\$" out &&
	sh_run 0 versions dst/one && grep -q " current f .* one\$" out &&
	sh_run 3 versions dst/none && grep -q "dst/none: no versions: none is neither in" err &&
	sh_run 3 restore dst dst/inside && grep -q "one is inside the other" err && [ ! -e dst/inside ] &&
	sh_run 0 restore dst r && same_tree src r
'

t 'DEST/./PATH when the mirror holds another backup'"'"'s .shelter' '
	mkdir -p src/sub/.shelter/history && printf one >src/sub/f &&
	sh_run 0 backup src dst &&
	printf two >src/sub/f &&
	sh_run 0 backup src dst &&
	sh_run 0 versions dst/sub/f &&
	expect_eq current "$(awk "{ print \$2 }" out)" "dst/sub is taken for DEST: only the current f" &&
	sh_run 0 versions dst/./sub/f &&
	expect_eq "changed current" "$(awk "{ printf \"%s \", \$2 }" out | sed "s/ \$//")" "dst/./sub/f" &&
	sh_run 3 restore --at 1w dst/./sub/f r &&
	sh_run 0 versions --json dst/./sub/f &&
	p=$(sed -n "s/.*\"pass\": \"\([0-9T.Z]*\)\".*/\1/p" out) &&
	sh_run 0 restore --at "$(pass_iso "$p")" dst/./sub/f r && expect_eq one "$(cat r/sub/f)"
'

t 'a copied DEST: birth times are not trusted, with a warning (the known limit)' '
	cp -a "$D" copy &&
	sh_run 0 restore --at "$T1" copy r &&
	grep -q "warning: .*DEST was copied" err &&
	cmp "$DAY3/n" r/n &&
	rm r/n && same_tree "$DAY1" r
'

t 'odd names: escaped in text, surrogate-escaped in JSON, restored byte for byte' '
	mkdir src &&
	for n in "new$(printf "\\nline")" "quo\"te" "back\\\\slash" "$(printf "\\377\\376")" "é"; do
		printf "%s" "$n" >"src/$n" || return 1
	done &&
	sh_run 0 backup src dst &&
	for f in src/*; do printf more >>"$f" || return 1; done &&
	sh_run 0 backup src dst &&
	sh_run 0 versions --json dst &&
	python3 - out <<-EOF
	import json, os, sys
	names = sorted(os.fsencode(o["path"]) for o in json.load(open(sys.argv[1])) if o["event"] == "changed")
	want = sorted(os.listdir(b"src"))
	assert names == want, (names, want)
	EOF
	sh_run 0 versions dst && grep -q "new\\\\nline" out &&
	sh_run 0 restore --at "$(now_iso)" dst r && same_tree src r
'

done_testing
