#!/bin/bash
# t1100-kinds: odd names, deep trees, hard links, special files, .shelter at
# the top of SRC and DEST, entries changing kind between passes.
# (E2E_SRC_HOST: "testhost: " in pull mode, where the sender is remote;
# see lib.sh.)
#
# Test bodies are &&-chained (as in git's test suite), so that a failing
# step fails the test whatever the harness does with `set -e`.
. "$(dirname "$0")/lib.sh"

# hist_path DEST PATH: the newest kept version of PATH in DEST's history.
hist_path() {
	local p found=
	for p in "$1"/.shelter/history/*/tree/"$2"; do
		[ -e "$p" ] || [ -L "$p" ] || continue
		found=$p
	done
	[ -n "$found" ] || { echo "no history entry for $2 in $1" >&2; return 1; }
	printf '%s\n' "$found"
}

# run_to EXPECTED ARGS...: sh_run under a 60 s timeout (for passes that
# could block on a FIFO); a hang shows up as exit 124.
run_to() {
	local want=$1
	shift
	printf '#!/bin/sh\nexec timeout 60 "%s" "$@"\n' "$SHELTER" >"$T_ROOT/shelter-timeout" &&
	chmod +x "$T_ROOT/shelter-timeout" &&
	SHELTER="$T_ROOT/shelter-timeout" sh_run "$want" "$@"
}

NL=$'\n'
TAB=$'\t'
BS='\'
NONUTF=$'\xff\xfe'
CTL=$'\x01ctl\x7f'
QUOTE="it's \"quoted\""
LONG=$(printf 'L%.0s' $(seq 255))
LONGD=$(printf 'D%.0s' $(seq 250))

# odd_tree DIR: one file (and some dirs) per kind of odd name.
odd_tree() {
	mkdir -p "$1" &&
	(
		cd "$1" &&
		printf 1 >"with space" &&
		printf 2 >"  leading and trailing  " &&
		printf 3 >"new${NL}line" &&
		printf 4 >"tab${TAB}name" &&
		printf 5 >"back${BS}slash" &&
		printf 6 >"bytes${NONUTF}here" &&
		printf 7 >"$NONUTF" &&
		printf 8 >"$CTL" &&
		printf 9 >"$QUOTE" &&
		printf 10 >./-rf &&
		printf 11 >./--help &&
		printf 12 >./- &&
		printf 13 >"glob*?[ab]" &&
		printf 14 >"colon:host" &&
		printf 15 >"utf8 é 日本" &&
		printf 16 >.hidden &&
		printf 17 >"trailing${NL}" &&
		mkdir "dir${NL}with${TAB}odd" ./-dir "dir${NONUTF}" &&
		printf 18 >"dir${NL}with${TAB}odd/in${BS}side" &&
		printf 19 >./-dir/--x &&
		ln -s "target${NL}with${TAB}odd${NONUTF}" "link${NL}odd" &&
		touch -d @1500000000.123456789 "new${NL}line" "$NONUTF" "dir${NONUTF}"
	)
}

t 'names with spaces, newlines, tabs, backslashes, quotes, controls are mirrored' '
	odd_tree src &&
	sh_run 0 backup src dst &&
	check_same src dst &&
	expect_eq 3 "$(cat "dst/new${NL}line")" "file with a newline" &&
	expect_eq 4 "$(cat "dst/tab${TAB}name")" "file with a tab" &&
	expect_eq 5 "$(cat "dst/back${BS}slash")" "file with a backslash" &&
	expect_eq 8 "$(cat "dst/$CTL")" "file with control bytes" &&
	expect_eq 17 "$(cat "dst/trailing${NL}")" "file ending in a newline" &&
	expect_eq "target${NL}with${TAB}odd${NONUTF}" "$(readlink "dst/link${NL}odd")" "odd symlink target" &&
	no_temp_files dst
'

t 'non-UTF-8 bytes in names round-trip' '
	odd_tree src &&
	sh_run 0 backup src dst &&
	expect_eq 6 "$(cat "dst/bytes${NONUTF}here")" &&
	expect_eq 7 "$(cat "dst/$NONUTF")" &&
	[ -d "dst/dir${NONUTF}" ] &&
	expect_eq 1500000000.123456789 "$(stat -c %.9Y "dst/$NONUTF")" "mtime of the non-UTF-8 name" &&
	[ "$(find dst -name "*${NONUTF}*" | wc -l)" -eq 3 ] ||
		fail "expected 3 entries with \\xff\\xfe in DEST"
'

t 'names with leading dashes and glob characters are files, not options or patterns' '
	odd_tree src &&
	sh_run 0 backup src dst &&
	expect_eq 10 "$(cat ./dst/-rf)" &&
	expect_eq 11 "$(cat ./dst/--help)" &&
	expect_eq 12 "$(cat ./dst/-)" &&
	expect_eq 19 "$(cat ./dst/-dir/--x)" &&
	expect_eq 13 "$(cat "dst/glob*?[ab]")" &&
	expect_eq 9 "$(cat "dst/$QUOTE")"
'

t 'odd names: second pass is a no-op, then changes and deletions apply' '
	odd_tree src &&
	sh_run 0 backup src dst &&
	sh_run 0 backup -i src dst &&
	expect_eq "" "$(cat out)" "-i of the second pass" &&
	rm "src/new${NL}line" "src/$NONUTF" ./src/-rf "src/link${NL}odd" &&
	rm -r "src/dir${NL}with${TAB}odd" &&
	printf changed >"src/tab${TAB}name" &&
	printf changed-too >"src/back${BS}slash" &&
	sh_run 0 backup src dst &&
	check_same src dst &&
	[ ! -e "dst/new${NL}line" ] && [ ! -e "dst/$NONUTF" ] && [ ! -e ./dst/-rf ] &&
	expect_eq changed "$(cat "dst/tab${TAB}name")" &&
	expect_eq 3 "$(cat "$(hist_path dst "new${NL}line")")" "old newline file kept in history"
'

t '255-byte names (files, dirs, symlinks) are mirrored' '
	mkdir -p "src/$LONG" &&
	printf long >"src/$LONG/$LONG" &&
	printf long2 >"src/${LONG%L}x" &&
	ln -s "$LONG" "src/${LONG%L}l" &&
	sh_run 0 backup src dst &&
	expect_eq long "$(cat "dst/$LONG/$LONG")" &&
	expect_eq "$LONG" "$(readlink "dst/${LONG%L}l")" &&
	check_same src dst &&
	rm -r "src/$LONG" &&
	sh_run 0 backup src dst &&
	check_same src dst
'

t 'deep nesting: 200 levels, and 12 levels of 250-byte names' '
	p=src && for i in $(seq 200); do p=$p/d; done &&
	mkdir -p "$p" && printf bottom >"$p/f" &&
	q=src && for i in $(seq 12); do q=$q/$LONGD; done &&
	mkdir -p "$q" && printf longbottom >"$q/f" &&
	sh_run 0 backup src dst &&
	expect_eq bottom "$(cat "dst/${p#src/}/f")" &&
	expect_eq longbottom "$(cd "dst/$LONGD/$LONGD/$LONGD/$LONGD/$LONGD/$LONGD" && cat "$LONGD/$LONGD/$LONGD/$LONGD/$LONGD/$LONGD/f")" &&
	check_same src dst &&
	rm -r src/d/d/d &&
	sh_run 0 backup src dst &&
	check_same src dst
'

t 'hard links are copied as separate ordinary files' '
	mkdir -p src/sub &&
	head -c 5000 /dev/urandom >src/a &&
	ln src/a src/b && ln src/a src/sub/c &&
	sh_run 0 backup src dst &&
	for f in a b sub/c; do
		{ [ -f "dst/$f" ] && [ ! -L "dst/$f" ]; } || fail "dst/$f is not a regular file" || return 1
		cmp src/a "dst/$f" && expect_eq 1 "$(stat -c %h "dst/$f")" "link count of dst/$f" || return 1
	done &&
	[ "$(stat -c %i dst/a)" != "$(stat -c %i dst/b)" ] &&
	[ "$(stat -c %i dst/a)" != "$(stat -c %i dst/sub/c)" ] &&
	check_same src dst &&
	sh_run 0 backup -i src dst &&
	expect_eq "" "$(cat out)" "second pass over hard links" &&
	printf more >>src/b &&
	sh_run 0 backup src dst &&
	cmp src/b dst/a && cmp src/b dst/b && cmp src/b dst/sub/c &&
	for f in a b sub/c; do
		expect_eq 1 "$(stat -c %h "dst/$f")" "link count of dst/$f after an update" || return 1
	done
'

t 'a FIFO is skipped with "skipping special file", exit 0' '
	mkdir -p src/sub && printf ok >src/file &&
	mkfifo src/fifo src/sub/fifo2 &&
	run_to 0 backup src dst &&
	grep -q "skipping special file.*fifo" err &&
	grep -q "skipping special file.*sub/fifo2" err &&
	grep -q "^shelter: warning: ${E2E_SRC_HOST}skipping special file" err &&
	[ ! -e dst/fifo ] && [ ! -L dst/fifo ] && [ ! -e dst/sub/fifo2 ] &&
	expect_eq ok "$(cat dst/file)" &&
	[ -d dst/sub ] &&
	run_to 0 backup src dst &&
	[ ! -e dst/fifo ]
'

t 'a unix socket is skipped with "skipping special file", exit 0' '
	mkdir src && printf ok >src/file &&
	python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" src/sock &&
	[ -S src/sock ] &&
	run_to 0 backup src dst &&
	grep -q "^shelter: warning: ${E2E_SRC_HOST}skipping special file.*sock" err &&
	[ ! -e dst/sock ] && [ ! -L dst/sock ] &&
	expect_eq ok "$(cat dst/file)"
'

if mknod "$T_ROOT/cdev-probe" c 1 3 2>/dev/null; then
rm -f "$T_ROOT/cdev-probe"
t 'a device node is skipped with "skipping special file", exit 0' '
	mkdir src && printf ok >src/file &&
	mknod src/null c 1 3 && mknod src/blk b 7 200 &&
	run_to 0 backup src dst &&
	grep -q "^shelter: warning: ${E2E_SRC_HOST}skipping special file.*null" err &&
	grep -q "skipping special file.*blk" err &&
	[ ! -e dst/null ] && [ ! -e dst/blk ] &&
	expect_eq ok "$(cat dst/file)"
'
else
	skip 'a device node is skipped with "skipping special file", exit 0' 'mknod not permitted'
fi

t 'a top-level SRC/.shelter is not backed up; SRC/sub/.shelter is' '
	mkdir -p src/.shelter/history/x src/sub/.shelter/deeper src/sub2 &&
	printf top >src/.shelter/file &&
	printf fake >src/.shelter/history/x/index &&
	printf sub >src/sub/.shelter/file &&
	printf deeper >src/sub/.shelter/deeper/f &&
	printf plain >src/sub2/.shelter &&
	printf data >src/data &&
	sh_run 0 backup -i src dst &&
	[ ! -e dst/.shelter/file ] &&
	[ ! -e dst/.shelter/history/x ] &&
	expect_eq sub "$(cat dst/sub/.shelter/file)" &&
	expect_eq deeper "$(cat dst/sub/.shelter/deeper/f)" &&
	expect_eq plain "$(cat dst/sub2/.shelter)" &&
	expect_eq data "$(cat dst/data)" &&
	{ ! grep -E " \\.shelter(/|$)" out || fail "top-level .shelter itemized"; } &&
	grep -qx "cd+++++++++ sub/.shelter/" out &&
	grep -qx ">f+++++++++ sub/.shelter/file" out &&
	printf changed >src/.shelter/file && printf new >src/.shelter/new &&
	sh_run 0 backup -i src dst &&
	expect_eq "" "$(cat out)" "a change inside SRC/.shelter is not a change" &&
	check_same src dst
'

t 'a top-level SRC/.shelter that is a file is not sent either' '
	mkdir src && printf data >src/data && printf notmeta >src/.shelter &&
	sh_run 0 backup src dst &&
	{ [ ! -e dst/.shelter ] || [ -d dst/.shelter ]; } || fail "DEST/.shelter replaced by the SRC file" &&
	printf changed >src/data &&
	sh_run 0 backup src dst &&
	expect_eq changed "$(cat dst/data)" &&
	[ -d dst/.shelter/history ] &&
	expect_eq data "$(cat "$(hist_path dst data)")" "history still works"
'

t 'DEST/.shelter is never deleted, listed or changed; DEST/sub/.shelter is ordinary' '
	mkdir -p src/sub && printf a >src/a && printf b >src/sub/b &&
	mkdir -p dst/.shelter/history/19700101T000000.000000000Z/tree dst/.shelter/mine dst/sub/.shelter &&
	printf "shelter-history 1\n" >dst/.shelter/history/19700101T000000.000000000Z/index &&
	printf keep >dst/.shelter/mine/f &&
	printf gone >dst/sub/.shelter/f &&
	(cd dst/.shelter && find . -type f -printf "%m %T@ %s %P\n" | sort) >before &&
	sh_run 0 backup -i src dst &&
	(cd dst/.shelter && find . -type f -printf "%m %T@ %s %P\n" | sort) >after &&
	expect_eq "" "$(comm -23 before after)" "files of DEST/.shelter changed or gone" &&
	expect_eq keep "$(cat dst/.shelter/mine/f)" "DEST/.shelter/mine/f" &&
	{ ! grep -E " \\.shelter(/|$)" out || fail "DEST/.shelter itemized"; } &&
	grep -qx "\\*deleting   sub/.shelter/" out &&
	[ ! -e dst/sub/.shelter ] &&
	check_same src dst
'

t 'a file replaced by a directory (old file kept in history)' '
	mkdir src && printf oldfile >src/x && printf y >src/y &&
	sh_run 0 backup src dst &&
	rm src/x && mkdir src/x && printf inner >src/x/inner && mkdir src/x/sub &&
	sh_run 0 backup src dst &&
	[ -d dst/x ] && [ ! -L dst/x ] &&
	expect_eq inner "$(cat dst/x/inner)" &&
	check_same src dst &&
	h=$(hist_path dst x) && [ -f "$h" ] && expect_eq oldfile "$(cat "$h")" "history of x"
'

t 'a directory replaced by a file (old directory kept whole in history)' '
	mkdir -p src/y/b && printf A >src/y/a && printf C >src/y/b/c &&
	sh_run 0 backup src dst &&
	rm -r src/y && printf nowafile >src/y &&
	sh_run 0 backup src dst &&
	[ -f dst/y ] && expect_eq nowafile "$(cat dst/y)" &&
	check_same src dst &&
	h=$(hist_path dst y) && [ -d "$h" ] &&
	expect_eq A "$(cat "$h/a")" && expect_eq C "$(cat "$h/b/c")"
'

t 'a directory replaced by a symlink (old directory kept in history)' '
	mkdir -p src/z/deep src/elsewhere && printf Z >src/z/deep/f && printf E >src/elsewhere/e &&
	sh_run 0 backup src dst &&
	rm -r src/z && ln -s elsewhere src/z &&
	sh_run 0 backup src dst &&
	[ -L dst/z ] && expect_eq elsewhere "$(readlink dst/z)" &&
	check_same src dst &&
	h=$(hist_path dst z) && expect_eq Z "$(cat "$h/deep/f")"
'

t 'a file replaced by a symlink and a symlink by a file' '
	mkdir src && printf F >src/f && ln -s f src/l &&
	sh_run 0 backup src dst &&
	rm src/f src/l && ln -s l src/f && printf L >src/l &&
	sh_run 0 backup src dst &&
	[ -L dst/f ] && expect_eq l "$(readlink dst/f)" &&
	[ -f dst/l ] && [ ! -L dst/l ] && expect_eq L "$(cat dst/l)" &&
	check_same src dst &&
	expect_eq F "$(cat "$(hist_path dst f)")" &&
	h=$(hist_path dst l) && [ -L "$h" ] && expect_eq f "$(readlink "$h")"
'

t 'a symlink replaced by a directory: nothing is written through the old link' '
	mkdir src outside && printf o >outside/keep &&
	ln -s "$PWD/outside" src/s && ln -s ../outside src/r &&
	sh_run 0 backup src dst &&
	rm src/s src/r && mkdir src/s src/r &&
	printf via-s >src/s/keep && printf new >src/s/new && printf via-r >src/r/keep &&
	sh_run 0 backup src dst &&
	expect_eq o "$(cat outside/keep)" "outside/keep untouched" &&
	expect_eq "keep" "$(ls -A outside)" "nothing created in outside/" &&
	[ -d dst/s ] && [ ! -L dst/s ] && [ -d dst/r ] && [ ! -L dst/r ] &&
	check_same src dst
'

t 'a symlink already in DEST where SRC has a directory is not followed' '
	mkdir -p src/sub outside && printf in >src/sub/f && printf o >outside/f &&
	mkdir dst && ln -s "$PWD/outside" dst/sub &&
	sh_run 0 backup src dst &&
	expect_eq o "$(cat outside/f)" "outside/f untouched" &&
	expect_eq f "$(ls -A outside)" "nothing created in outside/" &&
	[ -d dst/sub ] && [ ! -L dst/sub ] &&
	check_same src dst
'

t 'leftover .shelter-tmp-* files in DEST are removed by the next pass' '
	mkdir -p src/sub && printf a >src/a && printf b >src/sub/b &&
	sh_run 0 backup src dst &&
	printf junk >dst/.shelter-tmp-0123456789abcdef &&
	printf junk >dst/sub/.shelter-tmp-fedcba9876543210 &&
	sh_run 0 backup src dst &&
	no_temp_files dst &&
	check_same src dst
'

done_testing
