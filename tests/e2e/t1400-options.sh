#!/bin/bash
# t1400-options: -n, -i codes, -v, -vv, -q, --stats, --progress, --help,
# --version, usage errors.
#
# Test bodies are &&-chained (as in git's test suite), so that a failing
# step fails the test whatever the harness does with `set -e`.
. "$(dirname "$0")/lib.sh"

# itemized: ./out without a line for the top directory itself (whether the
# top directory gets an itemize line is not specified), sorted
itemized() { grep -Ev '^.{11} \.?/?$' out | LC_ALL=C sort; }

# scenario: pass 1 of src into dst, then one change of each kind in src.
# want_i holds the -i lines (sorted) the spec asks for.
scenario() {
	mkdir -p src/deldir src/dm &&
	for f in keep mt sz sz2 pm own grp del; do printf "%s-content" "$f" >"src/$f" || return 1; done &&
	printf f >src/deldir/f &&
	ln -s t src/l && ln -s x src/l2 &&
	touch -d @1500000000 src/* src/deldir/f && touch -h -d @1500000000 src/l src/l2 &&
	touch -d @1500000000 src/deldir src/dm &&
	sh_run 0 backup src dst &&
	printf a >src/a &&
	mkdir src/d && printf f >src/d/f &&
	ln -s t src/nl &&
	rm src/del && rm -r src/deldir &&
	touch -d @1600000000.5 src/mt &&
	printf more >>src/sz &&
	printf more >>src/sz2 && touch -d @1500000000 src/sz2 &&
	chmod 0600 src/pm &&
	chown 12345 src/own &&
	chgrp 23456 src/grp &&
	rm src/l && ln -s t2 src/l && touch -h -d @1500000000 src/l &&
	chmod 0700 src/dm && touch -d @1600000000 src/dm &&
	printf "%s\n" \
		">f+++++++++ a" \
		"cd+++++++++ d/" \
		">f+++++++++ d/f" \
		"cL+++++++++ nl -> t" \
		"*deleting   del" \
		"*deleting   deldir/" \
		">f..t...... mt" \
		">f.st...... sz" \
		">f.s....... sz2" \
		".f...p..... pm" \
		".f....o.... own" \
		".f.....g... grp" \
		"cLc........ l -> t2" \
		".d..tp..... dm/" | LC_ALL=C sort >want_i
}

t '-i prints the spec code for each kind of change' '
	scenario &&
	sh_run 0 backup -i src dst &&
	itemized | grep -vx "\\*deleting   deldir/f" >got_i &&
	diff -u want_i got_i &&
	check_same src dst
'

t '-i codes of a first pass into an empty DEST' '
	mkdir -p src/d/e && printf x >src/a && : >src/d/e/f && ln -s "a b" src/l &&
	sh_run 0 backup -i src dst &&
	printf "%s\n" ">f+++++++++ a" "cd+++++++++ d/" "cd+++++++++ d/e/" ">f+++++++++ d/e/f" \
		"cL+++++++++ l -> a b" | LC_ALL=C sort >want_i &&
	itemized >got_i &&
	diff -u want_i got_i
'

t '-i: a directory whose mtime alone changed shows .d..t......' '
	mkdir -p src/dt src/dm && touch -d @1500000000 src/dt src/dm &&
	sh_run 0 backup src dst &&
	touch -d @1600000000.25 src/dt &&
	chmod 0700 src/dm &&
	sh_run 0 backup -i src dst &&
	printf "%s\n" ".d...p..... dm/" ".d..t...... dt/" >want_i &&
	itemized >got_i &&
	diff -u want_i got_i &&
	check_same src dst
'

t '--itemize-changes (long form) is -i' '
	mkdir src && printf x >src/a &&
	sh_run 0 backup --itemize-changes src dst &&
	expect_eq ">f+++++++++ a" "$(itemized)"
'

t '-n changes nothing in an existing DEST and prints the -i lines of the real pass' '
	scenario &&
	listing dst -mindepth 1 >before &&
	sh_run 0 backup -n -i src dst &&
	cp out dry_out &&
	listing dst -mindepth 1 >after &&
	diff -u before after &&
	expect_eq "" "$(find dst/.shelter -mindepth 2 2>/dev/null || :)" "history after -n" &&
	grep -qx ">f+++++++++ a" out && grep -qx "\\*deleting   del" out && grep -qx ">f.st...... sz" out &&
	sh_run 0 backup -i src dst &&
	diff -u dry_out out
'

t '--dry-run into a missing DEST creates nothing, lists every entry' '
	mkdir -p src/d && printf x >src/a && printf y >src/d/b && ln -s a src/l &&
	sh_run 0 backup --dry-run -i src dst &&
	[ ! -e dst ] && [ ! -L dst ] &&
	printf "%s\n" ">f+++++++++ a" "cd+++++++++ d/" ">f+++++++++ d/b" "cL+++++++++ l -> a" | LC_ALL=C sort >want_i &&
	itemized >got_i &&
	diff -u want_i got_i
'

t '-n -c changes nothing either' '
	mkdir src && printf abc >src/a && touch -d @1500000000 src/a &&
	sh_run 0 backup src dst &&
	printf xyz >src/a && touch -d @1500000000 src/a &&
	listing dst -mindepth 1 >before &&
	sh_run 0 backup -n -c -i src dst &&
	listing dst -mindepth 1 >after &&
	diff -u before after &&
	expect_eq ">fc........ a" "$(itemized)"
'

t '-v prints the changed paths (and "deleting PATH")' '
	scenario &&
	sh_run 0 backup -v src dst &&
	grep -qx a out && grep -qx d/f out && grep -qx mt out && grep -qx sz out &&
	grep -qx "deleting del" out &&
	grep -Eqx "deleting deldir/?" out &&
	grep -Eqx "d/?" out &&
	grep -Eqx "nl( -> t)?" out &&
	{ ! grep -Eq "^keep$|^l2( |$)" out || fail "-v listed an unchanged path"; } &&
	check_same src dst
'

t '-v on an unchanged tree lists no path' '
	mkdir -p src/d && printf x >src/a && printf y >src/d/b &&
	sh_run 0 backup src dst &&
	sh_run 0 backup -v src dst &&
	{ ! grep -Eq "^(a|d/?|d/b)$" out || { cat out; fail "-v listed an unchanged path"; }; }
'

t '-n -v prints the same lines as -v' '
	scenario &&
	sh_run 0 backup -n -v src dst && cp out dry_out &&
	grep -qx "deleting del" dry_out && grep -qx sz dry_out &&
	sh_run 0 backup -v src dst &&
	diff -u dry_out out
'

t '-vv adds detail to -v' '
	mkdir src && head -c 300000 /dev/urandom >src/big && printf x >src/gone &&
	sh_run 0 backup src dst && cp -a dst dst2 &&
	printf more >>src/big && rm src/gone && printf n >src/new &&
	sh_run 0 backup -v src dst && cat out err >v_all &&
	sh_run 0 backup -vv src dst2 && cat out err >vv_all &&
	[ "$(wc -l <vv_all)" -gt "$(wc -l <v_all)" ] ||
		{ echo "--- -v:"; cat v_all; echo "--- -vv:"; cat vv_all; fail "-vv printed no more than -v"; }
'

t 'without -v or -i a successful pass prints nothing' '
	scenario &&
	sh_run 0 backup src dst &&
	expect_eq "" "$(cat out)" stdout &&
	expect_eq "" "$(cat err)" stderr
'

t '-q prints nothing on success, errors still' '
	scenario &&
	sh_run 0 backup -q src dst &&
	expect_eq "" "$(cat out)" stdout &&
	expect_eq "" "$(cat err)" stderr &&
	check_same src dst &&
	sh_run 3 backup --quiet nosuch dst &&
	grep -q "nosuch" err
'

t '--stats prints the ten lines, in order, with the right numbers' '
	mkdir -p src/sub src/sub2 dst &&
	head -c 100 /dev/urandom >src/f1 && head -c 200 /dev/urandom >src/f2 && : >src/f3 &&
	head -c 50 /dev/urandom >src/sub/f4 && ln -s f1 src/l &&
	sh_run 0 backup --stats src dst &&
	tail -n 10 out | sed "s/[0-9][0-9]*/N/g" >shape &&
	printf "%s\n" "Number of files: N (reg: N, dir: N, link: N)" \
		"Number of created files: N" "Number of deleted files: N" \
		"Number of regular files transferred: N" "Total file size: N bytes" \
		"Total transferred file size: N bytes" "Literal data: N bytes" "Matched data: N bytes" \
		"Total bytes sent: N" "Total bytes received: N" >want_shape &&
	diff -u want_shape shape &&
	line=$(grep "^Number of files: " out) &&
	{ [ "$line" = "Number of files: 7 (reg: 4, dir: 2, link: 1)" ] ||
	  [ "$line" = "Number of files: 8 (reg: 4, dir: 3, link: 1)" ] || fail "bad [$line]"; } &&
	expect_eq 7 "$(stat_num "Number of created files")" &&
	expect_eq 0 "$(stat_num "Number of deleted files")" &&
	expect_eq 4 "$(stat_num "Number of regular files transferred")" &&
	expect_eq 350 "$(stat_num "Total file size")" &&
	expect_eq 350 "$(stat_num "Total transferred file size")" &&
	expect_eq 350 "$(stat_num "Literal data")" &&
	expect_eq 0 "$(stat_num "Matched data")" &&
	[ "$(stat_num "$STAT_TO_DEST")" -gt 350 ] &&
	[ "$(stat_num "$STAT_TO_SRC")" -gt 0 ] &&
	printf 0123456789 >>src/f1 && rm src/f2 && rmdir src/sub2 && head -c 30 /dev/urandom >src/f5 &&
	sh_run 0 backup --stats src dst &&
	line=$(grep "^Number of files: " out) &&
	{ [ "$line" = "Number of files: 6 (reg: 4, dir: 1, link: 1)" ] ||
	  [ "$line" = "Number of files: 7 (reg: 4, dir: 2, link: 1)" ] || fail "bad [$line]"; } &&
	expect_eq 1 "$(stat_num "Number of created files")" &&
	expect_eq 2 "$(stat_num "Number of deleted files")" &&
	expect_eq 2 "$(stat_num "Number of regular files transferred")" &&
	expect_eq 190 "$(stat_num "Total file size")" &&
	expect_eq 140 "$(stat_num "Total transferred file size")" &&
	expect_eq 140 $(( $(stat_num "Literal data") + $(stat_num "Matched data") )) "Literal + Matched"
'

t '--stats numbers are plain decimal (no thousands separators)' '
	mkdir src && head -c 4194304 /dev/urandom >src/big &&
	sh_run 0 backup --stats src dst &&
	grep -qx "Total file size: 4194304 bytes" out &&
	grep -qx "Literal data: 4194304 bytes" out ||
	{ cat out; fail "stats of a 4 MiB file"; }
'

t '--stats goes to stdout with -i lines before it' '
	mkdir src && printf x >src/a &&
	sh_run 0 backup -i --stats src dst &&
	expect_eq ">f+++++++++ a" "$(head -n 1 out)" "first stdout line" &&
	grep -q "^Number of files: " out &&
	{ ! grep -q "^Number of files" err || fail "stats on stderr"; }
'

t '--progress prints nothing when stderr is not a terminal' '
	mkdir src && head -c 1000000 /dev/urandom >src/a &&
	sh_run 0 backup --progress src dst &&
	expect_eq "" "$(cat err)" stderr &&
	expect_eq "" "$(cat out)" stdout &&
	cmp src/a dst/a
'

if command -v script >/dev/null 2>&1; then
t '--progress prints progress when stderr is a terminal' '
	mkdir src && head -c 5000000 /dev/urandom >src/a &&
	script -qec "\"$SHELTER\" backup --progress src dst" /dev/null >tty_out </dev/null &&
	cmp src/a dst/a &&
	grep -q "[0-9]" tty_out || { od -c tty_out | head; fail "no progress on a terminal"; }
'
else
	skip '--progress prints progress when stderr is a terminal' 'script(1) not installed'
fi

t '--help and -h: exit 0, every option mentioned' '
	for h in --help -h; do
		sh_run 0 $h || return 1
		for o in backup --dry-run -n --checksum -c --itemize-changes -i --verbose -v \
			--quiet -q --exclude --exclude-from --no-history --stats --progress \
			--help -h --version -V; do
			grep -Eq -e "(^|[^-[:alnum:]])$o([^-[:alnum:]]|$)" out || fail "$h does not mention $o" || return 1
		done
		expect_eq "" "$(cat err)" "stderr of $h" || return 1
	done
'

t '--version and -V: exit 0, shelter, protocol, librsync and xxHash versions' '
	for v in --version -V; do
		sh_run 0 $v || return 1
		head -n 1 out | grep -q "^shelter 0\\.1" || fail "$v: first line [$(head -n 1 out)]" || return 1
		head -n 1 out | grep -q "(protocol 2;" || fail "$v: protocol [$(head -n 1 out)]" || return 1
		grep -qi "librsync [0-9]" out && grep -qi "xxhash [0-9]" out || fail "$v: [$(cat out)]" || return 1
		{ ! grep -qi "librsync librsync" out || fail "$v names librsync twice: [$(cat out)]"; } || return 1
	done
'

t 'an unknown option exits 1 with a message, changes nothing' '
	mkdir src && printf x >src/a &&
	sh_run 1 backup --bogus src dst &&
	grep -q -e "--bogus" err &&
	[ ! -e dst ] &&
	sh_run 1 backup -Z src dst &&
	grep -q -e "Z" err &&
	[ ! -e dst ] &&
	sh_run 1 --bogus &&
	expect_eq "" "$(cat out)" "stdout of a usage error"
'

t 'a wrong number of arguments exits 1 with a usage message' '
	mkdir src && printf x >src/a && mkdir dst2 &&
	sh_run 1 backup && grep -qi -e "usage\\|--help" err &&
	sh_run 1 backup src && grep -qi -e "usage\\|--help" err &&
	sh_run 1 backup src dst dst2 && grep -qi -e "usage\\|--help" err &&
	[ ! -e dst ] &&
	expect_eq "" "$(ls -A dst2)" "dst2 untouched"
'

t 'an unknown command exits 1' '
	mkdir src && printf x >src/a &&
	sh_run 1 frobnicate src dst &&
	grep -q frobnicate err &&
	[ ! -e dst ] &&
	sh_run 1 &&
	test -s err
'

t '--exclude-from with a missing file exits 1 naming the file' '
	mkdir src && printf x >src/a &&
	sh_run 1 backup --exclude-from=no-such-list src dst &&
	grep -q "no-such-list" err &&
	grep -q "No such file or directory" err &&
	[ ! -e dst ]
'

done_testing
