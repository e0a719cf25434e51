#!/bin/bash
# t3400-restore-remote: `shelter restore` with DEST or TARGET remote, through
# the private sshd: the same three days of backups as t2300, restored over
# ssh to each day's state (bytes, modes, mtimes, targets), one path, in
# place with what it replaces kept, -n, a damaged kept copy, nothing to
# restore, a restricted server. Then `prune` and `verify` of a remote DEST.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

if ! sshd_start >"$T_ROOT/sshd-start.log" 2>&1; then
	skip 'remote restore' "no usable sshd: $(tail -1 "$T_ROOT/sshd-start.log")"
	done_testing
	exit
fi
. "$(dirname "$0")/restore-lib.sh"

# rr EXPECTED ARGS...: shelter restore with this test's ssh and binary
rr() {
	local want=$1
	shift
	sh_run "$want" restore -e "$SSH" --remote-cmd "$SHELTER" "$@"
}

t 'pull: host:DEST restored as it was after each day' '
	rr 0 --at "$T1" "testhost:$D" r1 && same_tree "$DAY1" r1 && no_temp_files r1 &&
	rr 0 --at "$T2" "testhost:$D" r2 && same_tree "$DAY2" r2 &&
	rr 0 "testhost:$D" r3 && same_tree "$DAY3" r3 &&
	expect_eq a "$(readlink r1/l)" "l on day one" &&
	expect_eq "" "$(ls -A r1 | grep shelter || :)" "no .shelter in a new TARGET" &&
	expect_eq "" "$(cat out err)" "a restore says nothing without -v"
'

t 'push: a local DEST restored into host:TARGET as it was after each day' '
	rr 0 --at "$T1" "$D" "testhost:$PWD/r1" && same_tree "$DAY1" r1 && no_temp_files r1 &&
	rr 0 --at "$T2" "$D" "testhost:$PWD/r2" && same_tree "$DAY2" r2 &&
	expect_eq "$(stat -c "%y %a" "$DAY1/b")" "$(stat -c "%y %a" r1/b)" "mtime (ns) and mode of b"
'

t 'one file, a deleted file, one directory, both ways' '
	rr 0 --at "$T1" -v "testhost:$D/a" r && expect_eq a "$(cat out)" "-v lists what was restored" &&
	expect_eq a "$(cd r && find . -type f -printf "%P\n")" && cmp "$DAY1/a" r/a &&
	rr 0 --at "$T2" "testhost:$D/d" r2 && same_tree "$DAY2/d" r2/d &&
	expect_eq "d d/e d/e/f" "$(cd r2 && find . -mindepth 1 -printf "%P\n" | sort | tr "\n" " " | sed "s/ \$//")" &&
	rr 0 --at "$T1" "$D/d/c" "testhost:$PWD/r3" && cmp "$DAY1/d/c" r3/d/c
'

t 'in place over ssh: refused without --in-place, then what it replaces is kept' '
	cp -a "$FIX/src" src && printf "edited since\n" >src/a && cp -a src before &&
	rr 3 --at "$T1" "$D/a" "testhost:$PWD/src" &&
	grep -q "testhost: TARGET .*src exists and is not empty" err && grep -q -- --in-place err &&
	same_tree before src &&
	rr 0 --at "$T1" --in-place "$D/a" "testhost:$PWD/src" &&
	cmp "$DAY1/a" src/a && expect_eq "$(stat -c %y "$DAY1/a")" "$(stat -c %y src/a)" &&
	cmp before/b src/b && cmp before/n src/n &&
	kept=$(find src/.shelter/history -path "*/tree/a") &&
	expect_eq "edited since" "$(cat "$kept")" "the replaced a is kept" &&
	rm -r src && cp -a before src &&
	rr 3 --at "$T1" "testhost:$D" src && grep -q "TARGET src exists and is not empty" err &&
	rr 0 --at "$T1" --in-place "testhost:$D" src &&
	for f in a b d/c d/e/f; do cmp "$DAY1/$f" "src/$f" || return 1; done &&
	cmp "$DAY3/n" src/n && p=$(ls src/.shelter/history) &&
	expect_eq "edited since" "$(cat "src/.shelter/history/$p/tree/a")" "the replaced a is kept"
'

t '-n over ssh lists and changes nothing' '
	rr 0 -n --at "$T1" "testhost:$D" r && [ ! -e r ] &&
	for p in a b d/ d/c d/e/ d/e/f; do grep -qx -- "$p" out || fail "-n does not list $p"; done &&
	rr 0 -n --at "$T1" "$D" "testhost:$PWD/r" && [ ! -e r ] && grep -qx a out
'

t 'nothing to restore: exit 3, no TARGET, the remote message' '
	rr 3 --at "$T0" "testhost:$D" r && [ ! -e r ] &&
	grep -q "testhost: .*nothing to restore" err &&
	rr 3 "testhost:$D/nothere" r && [ ! -e r ] &&
	rr 3 --at "$T0" "$D" "testhost:$PWD/r" && [ ! -e r ] && grep -q "nothing to restore" err
'

t 'a damaged kept copy over ssh: exit 23 naming it, nothing under its final name' '
	days >/dev/null &&
	sh_run 0 versions --json dst/a &&
	p=$(sed -n "s/.*\"pass\": \"\\([0-9T.Z]*\\)\".*/\\1/p" out | head -n 1) &&
	printf "a, day 0ne\n" >"dst/.shelter/history/$p/tree/a" &&
	rr 23 --at "$T1" "testhost:$PWD/dst" r &&
	grep -q "testhost: a: DEST/.shelter/history/$p/tree/a does not match the XXH3-128" err &&
	[ ! -e r/a ] && no_temp_files r && cmp day1/b r/b &&
	rr 23 --at "$T1" "$PWD/dst" "testhost:$PWD/r2" &&
	grep -q "^shelter: error: a: DEST/.shelter/history/$p/tree/a does not match" err &&
	[ ! -e r2/a ] && no_temp_files r2 && cmp day1/b r2/b
'

t 'a restricted server restores inside its directory only' '
	d=$T_ROOT/sshd &&
	ssh-keygen -q -t ed25519 -N "" -f "$d/key_jail" &&
	printf "command=\"%s --server --restrict %s\",restrict %s\n" "$SHELTER" "$FIX" \
		"$(cat "$d/key_jail.pub")" >>"$d/authorized_keys" &&
	J="$SSH -i $d/key_jail -o IdentitiesOnly=yes" &&
	sh_run 0 restore -e "$J" --at "$T1" testhost:dst r && same_tree "$DAY1" r &&
	sh_run 3 restore -e "$J" --at "$T1" testhost:../x r2 && [ ! -e r2 ] &&
	grep -q "testhost: DEST .*: not allowed on this server" err &&
	sh_run 3 restore -e "$J" --at "$T1" "testhost:dst/../../x" r2 && [ ! -e r2 ] &&
	sh_run 0 restore -e "$J" --at "$T1" testhost:/dst/a r3 && cmp "$DAY1/a" r3/a
'

# three_passes: dst backed up three times, a changed each time
three_passes() {
	mkdir src && echo one >src/a && echo same >src/b &&
	sh_run 0 backup src dst && echo two >src/a && sh_run 0 backup src dst &&
	echo three >src/a && sh_run 0 backup src dst &&
	expect_eq 3 "$(grep -c "	" dst/.shelter/passes)" "passes recorded"
}

t 'prune over ssh: -n lists and changes nothing, then the forgotten versions go' '
	three_passes && listing dst >before &&
	sh_run 0 prune -n --keep-last 1 -e "$SSH" --remote-cmd "$SHELTER" "testhost:$PWD/dst" &&
	grep -q "forget" out && listing dst >after && diff -u before after &&
	sh_run 0 prune -v --keep-last 1 -e "$SSH" --remote-cmd "$SHELTER" "testhost:$PWD/dst" &&
	grep -q "remove" out &&
	expect_eq 1 "$(grep -c "	" dst/.shelter/passes)" "passes kept" &&
	sh_run 0 versions dst/a && expect_eq 1 "$(wc -l <out)" "versions of a left" &&
	expect_eq three "$(cat dst/a)" &&
	sh_run 1 prune -e "$SSH" --remote-cmd "$SHELTER" "testhost:$PWD/dst" && grep -q "at least one" err
'

t 'prune over ssh: a read-only server refuses, a missing DEST is exit 3' '
	three_passes &&
	d=$T_ROOT/sshd && ssh-keygen -q -t ed25519 -N "" -f "$d/key_ro" &&
	printf "command=\"%s --server --read-only\",restrict %s\n" "$SHELTER" "$(cat "$d/key_ro.pub")" \
		>>"$d/authorized_keys" &&
	R="$SSH -i $d/key_ro -o IdentitiesOnly=yes" &&
	sh_run 3 prune -e "$R" --keep-last 1 "testhost:$PWD/dst" && grep -q "read-only" err &&
	expect_eq 3 "$(grep -c "	" dst/.shelter/passes)" "passes after a refused prune" &&
	sh_run 3 prune -e "$SSH" --remote-cmd "$SHELTER" --keep-last 1 "testhost:$PWD/none" &&
	grep -q "testhost: DEST .*none" err
'

t 'verify over ssh: sound, then a damaged mirror file named with both hashes, exit 16' '
	three_passes &&
	sh_run 0 verify -e "$SSH" --remote-cmd "$SHELTER" "testhost:$PWD/dst" &&
	grep -q "^verified 4 files, 19 bytes: 0 damaged, 0 missing, 0 without a record" out &&
	good=$(xxhsum -H2 dst/b | cut -d" " -f1) &&
	touch -r dst/b stamp && printf X | dd of=dst/b bs=1 seek=1 conv=notrunc status=none &&
	touch -r stamp dst/b && bad=$(xxhsum -H2 dst/b | cut -d" " -f1) &&
	sh_run 16 verify -e "$SSH" --remote-cmd "$SHELTER" "testhost:$PWD/dst" &&
	grep -qx "damaged: b: expected $good, got $bad" out &&
	sh_run 0 backup src dst && cmp src/b dst/b &&
	sh_run 0 verify -v -e "$SSH" --remote-cmd "$SHELTER" "testhost:$PWD/dst" && grep -qx "ok: b" out &&
	sh_run 1 verify --json -e "$SSH" "testhost:$PWD/dst" && grep -q "json is for a local DEST" err
'

done_testing
