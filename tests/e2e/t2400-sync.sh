#!/bin/bash
# t2400-sync.sh - shelter sync: the decision table of doc/sync.md, one test
# per row, conflicts, the first pass, the safety limits, the lock and the
# state file. make check runs it locally, and through the test sshd with
# ROOT2 remote (push/) and with ROOT1 remote (pull/).
. "$(dirname "$0")/lib.sh"

# sy EXIT [OPTIONS] ROOT1 ROOT2: a sync pass with this test's own state file.
sy() {
	local want=$1
	shift
	sh_run "$want" sync --state "$PWD/state" "$@"
}

# check_same a b, except directory mtimes, which a sync does not carry.
check_synced() {
	tree_manifest "$1" | sed "s/^\(.* d [0-7]*\) [0-9]* /\1 /" >"$T_ROOT/s1.$$"
	tree_manifest "$2" | sed "s/^\(.* d [0-7]*\) [0-9]* /\1 /" >"$T_ROOT/s2.$$"
	diff -u "$T_ROOT/s1.$$" "$T_ROOT/s2.$$" || { echo "trees $1 and $2 differ"; return 1; }
}

# pair: a and b, synced once: f (text), d/g, a symlink, an empty directory.
pair() {
	mkdir -p a/d a/empty b
	printf 'first version\n' >a/f.txt
	printf 'gee\n' >a/d/g
	ln -s f.txt a/link
	sy 0 a b
	check_synced a b
}

# history_has ROOT PATH CONTENT: some pass under ROOT/.shelter/history kept PATH with CONTENT.
history_has() {
	local f
	for f in "$1"/.shelter/history/*/tree/"$2"; do
		[ -f "$f" ] && [ "$(cat "$f")" = "$3" ] && return 0
	done
	echo "no version of $2 with content [$3] in $1/.shelter/history:"
	find "$1/.shelter" -type f 2>/dev/null
	return 1
}

# one_conflict_copy DIR STEM EXT: the only conflict copy of STEM.EXT in DIR.
one_conflict_copy() {
	local c
	c=$(cd "$1" && ls -d "$2".conflict-*-????????-??????"$3" 2>/dev/null)
	[ "$(printf '%s\n' "$c" | grep -c .)" = 1 ] || { echo "conflict copies of $2$3 in $1: [$c]"; return 1; }
	printf '%s\n' "$c"
}

t 'first pass: a union, both sides end up alike, nothing kept as history' '
	mkdir -p a/d a/e b/x
	printf one >a/f1; printf two >a/d/f2; ln -s f1 a/ln; chmod 640 a/f1
	printf bee >b/x/g; printf same >a/s; printf same >b/s
	touch -d "2020-01-02 03:04:05.123456789" a/f1 b/x/g
	sy 0 a b
	check_synced a b
	expect_eq 640 "$(stat -c %a b/f1)"
	expect_eq "2020-01-02 03:04:05.123456789" "$(stat -c %y b/f1 | cut -c1-29)"
	expect_eq bee "$(cat a/x/g)"
	[ ! -e a/.shelter ] && [ ! -e b/.shelter ]
	[ -s state ]
'

t 'a second pass with nothing changed changes nothing and says nothing with -v' '
	pair
	listing a >before.a; listing b >before.b
	sy 0 -v a b
	expect_eq "" "$(cat out)"
	listing a >after.a; listing b >after.b
	diff before.a after.a && diff before.b after.b
'

t 'created on one side: copied to the other (both directions)' '
	pair
	printf new1 >a/d/n1; mkdir b/nd; printf new2 >b/nd/n2; ln -s nowhere b/nl
	sy 0 --stats a b
	check_synced a b
	expect_eq new2 "$(cat a/nd/n2)"
	expect_eq nowhere "$(readlink a/nl)"
	grep -q "^Copied to ROOT1: 3, to ROOT2: 1$" out
'

t 'modified on one side: updated, the old version kept as history there' '
	pair
	printf "second version, longer\n" >b/f.txt
	sy 0 --stats -v a b
	check_synced a b
	expect_eq "second version, longer" "$(cat a/f.txt)"
	history_has a f.txt "first version"
	grep -q "^< f.txt$" out
	grep -q "^Copied to ROOT1: 1, to ROOT2: 0$" out
'

t 'deleted on one side, unchanged on the other: deleted there, kept as history' '
	pair
	rm a/d/g
	sy 0 -v a b
	[ ! -e b/d/g ]
	check_synced a b
	history_has b d/g gee
	grep -q "^>del d/g$" out
'

t 'a deleted directory goes with its contents' '
	pair
	rm -r b/d
	sy 0 a b
	[ ! -e a/d ]
	check_synced a b
	history_has a d/g gee
'

t 'modified on both to the same content: adopted, nothing sent, no history' '
	pair
	printf "both agree\n" >a/f.txt; printf "both agree\n" >b/f.txt
	touch -d "2021-05-05" b/f.txt
	sy 0 --stats a b
	grep -q "^Copied to ROOT1: 0, to ROOT2: 0$" out
	[ ! -e a/.shelter ] && [ ! -e b/.shelter ]
	sy 0 --stats a b
	grep -q "^Copied to ROOT1: 0, to ROOT2: 0$" out
'

t 'modified on both differently: a conflict, both versions on both sides, exit 7' '
	pair
	printf "from one\n" >a/f.txt; printf "from two, different\n" >b/f.txt
	sy 7 --stats a b
	expect_eq "from one" "$(cat a/f.txt)"
	expect_eq "from one" "$(cat b/f.txt)"
	c=$(one_conflict_copy a f .txt)
	expect_eq "from two, different" "$(cat "a/$c")"
	expect_eq "from two, different" "$(cat "b/$c")"
	check_synced a b
	grep -q "conflict: f.txt changed on both sides; ROOT2.s version is kept as $c on both" err
	grep -q "^Conflicts: 1$" out
	sy 0 a b
'

t 'created on both sides with different content: a conflict' '
	mkdir a b
	printf "a side\n" >a/new.tar.gz; printf "b side!\n" >b/new.tar.gz
	sy 7 a b
	c=$(one_conflict_copy b new.tar .gz)
	expect_eq "b side!" "$(cat "a/$c")"
	expect_eq "a side" "$(cat b/new.tar.gz)"
	check_synced a b
'

t 'modified on one side, deleted on the other: the modified file comes back' '
	pair
	printf "edited\n" >a/d/g; rm b/d/g
	sy 0 a b
	expect_eq edited "$(cat b/d/g)"
	check_synced a b
	pair2=; printf "edited again\n" >b/f.txt; rm a/f.txt
	sy 0 a b
	expect_eq "edited again" "$(cat a/f.txt)"
'

t 'a directory deleted on one side while a file in it changed on the other comes back' '
	pair
	rm -r a/d; printf "changed in b\n" >b/d/g
	sy 0 a b
	expect_eq "changed in b" "$(cat a/d/g)"
	check_synced a b
'

t 'a file on one side, a directory on the other: a conflict, the file renamed' '
	pair
	printf "changed file\n" >a/f.txt
	rm b/f.txt; mkdir b/f.txt; printf inner >b/f.txt/in
	sy 7 a b
	[ -d a/f.txt ] && [ -d b/f.txt ]
	expect_eq inner "$(cat a/f.txt/in)"
	c=$(one_conflict_copy b f .txt)
	expect_eq "changed file" "$(cat "b/$c")"
	check_synced a b
'

t 'mode-only changes and symlink target changes propagate' '
	pair
	chmod 600 a/f.txt; chmod 700 b/d
	ln -sfn d/g b/link
	sy 0 a b
	expect_eq 600 "$(stat -c %a b/f.txt)"
	expect_eq 700 "$(stat -c %a a/d)"
	expect_eq d/g "$(readlink a/link)"
	check_synced a b
'

t 'deleted on both: forgotten; a new file of that name later is a creation' '
	pair
	rm a/d/g b/d/g
	sy 0 a b
	printf again >b/d/g
	sy 0 a b
	expect_eq again "$(cat a/d/g)"
'

t 'an emptied root stops the pass before anything changes (exit 3)' '
	pair
	listing b >before
	rm -r a/d a/f.txt a/link a/empty
	sy 3 a b
	grep -q "ROOT1 [^ ]*a is empty, but the last pass left 5 entries in it" err
	listing b >after
	diff before after
'

t 'a missing root stops the pass (exit 3) once there is state' '
	pair
	listing a >before
	rm -r b
	sy 3 a b
	grep -q "ROOT2 [^ ]*b could not be opened (see above), but the last pass synced it" err
	listing a >after
	diff before after
'

t '--max-delete: more deletions than allowed stop the pass (exit 25); more room lets it run' '
	mkdir a b; for i in 1 2 3 4 5; do printf $i >a/f$i; done
	sy 0 a b
	rm a/f1 a/f2 a/f3
	listing b >before
	sy 25 a b
	grep -q "would delete 3 of the 5 files in ROOT2 [^ ]*b, more than --max-delete 50%" err
	listing b >after
	diff before after
	sy 0 --max-delete 60 a b
	[ ! -e b/f1 ] && [ -e b/f4 ]
'

t '--exclude: excluded paths are never copied or deleted, and keep their directory' '
	pair
	printf junk >a/d/x.tmp; printf keep >b/d/y.tmp
	sy 0 --exclude "*.tmp" a b
	[ ! -e b/d/x.tmp ] && [ ! -e a/d/y.tmp ]
	rm -r a/d
	sy 0 -v --exclude "*.tmp" a b
	expect_eq keep "$(cat b/d/y.tmp)"
	[ ! -e b/d/g ]
'

t '--prefer ROOT2, newer, older and ROOT1 settle a conflict; the loser is history' '
	pair
	printf "one wins?\n" >a/f.txt; printf "two wins\n" >b/f.txt
	sy 0 --prefer ROOT2 a b
	expect_eq "two wins" "$(cat a/f.txt)"
	history_has a f.txt "one wins?"
	! ls a | grep -q conflict
	printf "older\n" >a/f.txt; touch -d "2001-01-01" a/f.txt
	printf "newer!\n" >b/f.txt; touch -d "2002-01-01" b/f.txt
	sy 0 --prefer newer a b
	expect_eq "newer!" "$(cat a/f.txt)"
	check_synced a b
	printf "old one\n" >a/f.txt; touch -d "2003-01-01" a/f.txt
	printf "new one!\n" >b/f.txt; touch -d "2004-01-01" b/f.txt
	sy 0 --prefer older a b
	expect_eq "old one" "$(cat b/f.txt)"
	history_has b f.txt "new one!"
	printf "one says\n" >a/f.txt; printf "two says!\n" >b/f.txt
	sy 0 --prefer ROOT1 a b
	expect_eq "one says" "$(cat b/f.txt)"
	history_has b f.txt "two says!"
	! ls a b | grep -q conflict
	check_synced a b
'

t 'a conflict copy never begets another conflict copy' '
	pair
	printf x1 >a/f.txt; printf x2 >b/f.txt
	sy 7 a b
	c=$(one_conflict_copy a f .txt)
	printf "edit in a\n" >"a/$c"; printf "edit in b, other\n" >"b/$c"
	sy 0 a b
	expect_eq "edit in a" "$(cat "b/$c")"
	[ "$(ls a | grep -c conflict)" = 1 ]
	history_has b "$c" "edit in b, other"
'

t 'shelter conflicts lists the conflict copies still present (exit 7), none: exit 0' '
	pair
	printf x1 >a/f.txt; printf x2 >b/f.txt
	sy 7 a b
	c=$(one_conflict_copy a f .txt)
	sh_run 7 conflicts a
	expect_eq "$c" "$(cat out)"
	rm "a/$c" "b/$c"
	sy 0 a b
	sh_run 0 conflicts a
	expect_eq "" "$(cat out)"
'

t '-n shows the plan and changes nothing, not even the state' '
	pair
	printf new >a/n; rm b/d/g
	cp state state.before
	listing a >before.a; listing b >before.b
	sy 0 -n a b
	grep -q "^> n$" out
	grep -q "^<del d/g$" out
	listing a >after.a; listing b >after.b
	diff before.a after.a && diff before.b after.b
	cmp state state.before
'

t 'a damaged, truncated or foreign state file is an error naming it (exit 9); --resync starts over' '
	pair
	cp state good
	size=$(stat -c %s state)
	printf X | dd of=state bs=1 seek=$((size - 20)) conv=notrunc 2>/dev/null
	sy 9 a b
	grep -q "state file $PWD/state: its checksum does not match.*--resync" err
	cp good state
	printf X | dd of=state bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
	sy 9 a b
	grep -q "state file $PWD/state: .*--resync" err
	head -c 50 good >state
	sy 9 a b
	printf "not a state file at all, just text...................." >state
	sy 9 a b
	grep -q "not a shelter sync state file" err
	cp good state; mkdir c
	sy 9 a c
	grep -q "it belongs to the pair" err
	rm b/f.txt
	sy 0 --resync a b
	expect_eq "first version" "$(cat b/f.txt)"
'

t 'a second pass on the same pair exits 8 at once; --lock-wait waits for the first' '
	pair
	flock state.lock sleep 2 &
	sleep 0.3
	sy 8 a b
	grep -q "another sync of this pair is running" err
	sy 0 --lock-wait 10 a b
	wait
'

t 'a local pair moves whole files; with a remote root a changed file goes as a delta' '
	mkdir a b
	head -c 300000 /dev/urandom >a/big
	sy 0 a b
	# Changed on the far side: the client receives it, and its receiver says how.
	if [ "$E2E_MODE" = pull ]; then edit=a; else edit=b; fi
	printf EDIT | dd of=$edit/big bs=1 seek=1000 conv=notrunc status=none
	sy 0 -vv a b
	check_synced a b
	if [ "$E2E_MODE" = local ]; then
		grep -q "^big: whole file, 300000 literal and 0 matched bytes" out err
	else
		grep -q "^big: delta, " out err
	fi
'

t 'option errors: --prefer, --max-delete and sync options given to backup' '
	mkdir a b
	sh_run 1 sync --prefer biggest a b
	grep -q "prefer .biggest.: give newer, older, ROOT1 or ROOT2" err
	sh_run 1 sync --max-delete 101 a b
	sh_run 1 backup --resync a b
	grep -q "resync is an option of shelter sync" err
	sh_run 1 sync a
	if [ "$E2E_MODE" = local ]; then
		# Nesting is checked for two local roots only, as for backup (shelter(1)).
		sh_run 3 sync a a/x
		grep -q "ROOT1 a and ROOT2 a/x are the same directory or one holds the other" err
		[ ! -e a/x ]
	fi
'

t 'the default state file lives under $XDG_STATE_HOME/shelter' '
	mkdir a b xdg; printf 1 >a/f; printf 2 >a/k
	XDG_STATE_HOME=$PWD/xdg sh_run 0 sync a b
	ls xdg/shelter/sync-*.state
	rm b/f
	XDG_STATE_HOME=$PWD/xdg sh_run 0 sync a b
	[ ! -e a/f ]
'

t 'bash and fish complete the sync command and its options' '
	bc() { bash -c ". \"\$1\"; shift; COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\$# - 1)); _shelter
		printf \"%s\n\" \"\${COMPREPLY[@]}\"" x "$TOP_SRCDIR/completions/shelter" "$@"; }
	expect_eq sync "$(bc shelter sy)"
	expect_eq "$(printf "newer\nolder\nROOT1\nROOT2")" "$(bc shelter sync --prefer "")"
	expect_eq "--max-delete" "$(bc shelter sync --max-d)"
	expect_eq "" "$(bc shelter backup --max-d)"
	if command -v fish >/dev/null; then
		expect_eq "--lock-wait" "$(fish -c "source $TOP_SRCDIR/completions/shelter.fish; complete -C \"shelter sync --lock-w\"" | cut -f1)"
	fi
'

done_testing
