#!/bin/bash
# t1600-exclude: --exclude / --exclude-from patterns; excluded paths are
# neither sent nor deleted from DEST.
#
# Test bodies are &&-chained (as in git's test suite), so that a failing
# step fails the test whatever the harness does with `set -e`.
. "$(dirname "$0")/lib.sh"

# mkfiles PATH...: create each PATH (parents too) holding its own name;
# a PATH ending in / is a directory.
mkfiles() {
	local p
	for p in "$@"; do
		case "$p" in
		*/) mkdir -p "$p" ;;
		*) mkdir -p "$(dirname "$p")" && printf '%s' "$p" >"$p" ;;
		esac || return 1
	done
}

# entries DIR: every path below DIR but DIR/.shelter, dirs with a trailing /, sorted
entries() {
	(cd "$1" && find . -path ./.shelter -prune -o -mindepth 1 \( -type d -printf '%P/\n' -o -printf '%P\n' \) | LC_ALL=C sort)
}

# expect_entries DIR PATH...: DIR holds exactly PATH... (dirs with a trailing /)
expect_entries() {
	local d=$1
	shift
	printf '%s\n' "$@" | LC_ALL=C sort >"$T_ROOT/want.$$" &&
	entries "$d" >"$T_ROOT/got.$$" &&
	diff -u "$T_ROOT/want.$$" "$T_ROOT/got.$$"
}

t '* matches any run of characters but /' '
	mkfiles src/a.o src/a.c src/sub/b.o src/sub/b.c src/x.od src/o &&
	sh_run 0 backup --exclude="*.o" src dst &&
	expect_entries dst a.c sub/ sub/b.c x.od o &&
	mkfiles src2/src/x.tmp src2/src/a/y.tmp src2/x.tmp &&
	sh_run 0 backup --exclude="src/*.tmp" src2 dst2 &&
	expect_entries dst2 src/ src/a/ src/a/y.tmp x.tmp
'

t '** matches any run of characters including /' '
	mkfiles src/src/x.tmp src/src/a/b/y.tmp src/other/src/q.tmp src/x.tmp src/lib/x.tmp src/src/keep &&
	sh_run 0 backup --exclude="src/**.tmp" src dst &&
	expect_entries dst src/ src/a/ src/a/b/ src/keep other/ other/src/ x.tmp lib/ lib/x.tmp
'

t '? matches exactly one character but /' '
	mkfiles src/file1.txt src/fileA.txt src/file10.txt src/file.txt src/d/file2.txt &&
	sh_run 0 backup --exclude="file?.txt" src dst &&
	expect_entries dst file10.txt file.txt d/
'

t '[...] classes, ranges, [!...] and [^...] negation' '
	mkfiles src/log1 src/log7 src/loga src/log10 &&
	sh_run 0 backup --exclude="log[0-9]" src dst &&
	expect_entries dst loga log10 &&
	mkfiles src2/ax src2/bx src2/dx src2/zx &&
	sh_run 0 backup --exclude="[!a-c]x" src2 dst2 &&
	expect_entries dst2 ax bx &&
	sh_run 0 backup --exclude="[^a-c]x" src2 dst3 &&
	expect_entries dst3 ax bx &&
	sh_run 0 backup --exclude="[ab]x" src2 dst4 &&
	expect_entries dst4 dx zx
'

t '\ makes the next character literal' '
	mkfiles "src/*star" src/xstar "src/q?" src/qq &&
	sh_run 0 backup --exclude="\\*star" --exclude="q\\?" src dst &&
	expect_entries dst xstar qq
'

t 'a leading / anchors the pattern at the top' '
	mkfiles src/build/out src/sub/build/out src/sub/x src/x src/a/sub/x &&
	sh_run 0 backup --exclude=/build --exclude=/sub/x src dst &&
	expect_entries dst sub/ sub/build/ sub/build/out x a/ a/sub/ a/sub/x
'

t 'a trailing / matches directories only' '
	mkfiles src/cache/f src/sub/cache/g src/other/cache &&
	sh_run 0 backup --exclude=cache/ src dst &&
	expect_entries dst sub/ other/ other/cache
'

t 'an unanchored pattern with a / matches the path and its tails' '
	mkfiles src/a/b src/x/a/b src/xa/b src/a/c &&
	sh_run 0 backup --exclude=a/b src dst &&
	expect_entries dst a/ a/c x/ x/a/ xa/ xa/b
'

t 'an excluded directory excludes everything below it' '
	mkfiles src/node_modules/p/q/r src/node_modules/x src/app/node_modules/y src/app/main.js &&
	sh_run 0 backup --exclude=node_modules/ src dst &&
	expect_entries dst app/ app/main.js
'

t 'several --exclude options add up' '
	mkfiles src/a.o src/b.tmp src/c.c src/d/e.o src/d/f.log src/d/g.c &&
	sh_run 0 backup --exclude="*.o" --exclude="*.tmp" --exclude="f.log" src dst &&
	expect_entries dst c.c d/ d/g.c
'

t '--exclude-from: one pattern a line, # and ; comments and blank lines ignored' '
	mkfiles src/a.o src/b.tmp src/c.c "src/#x" src/";y" src/keep src/cr.txt &&
	printf "%s\\n" "# a comment" "" "*.o" "; another comment" "" "*.tmp" >list &&
	printf "cr.txt\\r\\n" >>list &&
	sh_run 0 backup --exclude-from=list src dst &&
	expect_entries dst c.c "#x" ";y" keep
'

t '--exclude-from=- reads patterns from stdin; --exclude adds to it' '
	mkfiles src/a.o src/b.tmp src/c.c &&
	printf "*.o\\n" | sh_run 0 backup --exclude-from=- --exclude="*.tmp" src dst &&
	expect_entries dst c.c
'

t 'an excluded path is neither copied nor deleted from DEST' '
	mkfiles src/a.c src/new.o src/sub/b.c &&
	mkfiles dst/keep.o dst/sub/keep2.o dst/a.c &&
	sh_run 0 backup -i --exclude="*.o" src dst &&
	expect_entries dst a.c keep.o sub/ sub/b.c sub/keep2.o &&
	expect_eq dst/keep.o "$(cat dst/keep.o)" &&
	{ ! grep -q "\\.o$" out || fail "-i listed an excluded path: $(cat out)"; }
'

t 'an excluded file survives when its directory is deleted in SRC' '
	mkfiles src/d/a.c src/d/b.o src/d/e/c.c src/d/e/f.o src/top.c &&
	sh_run 0 backup src dst &&
	rm -r src/d &&
	sh_run 0 backup --exclude="*.o" src dst &&
	expect_entries dst top.c d/ d/b.o d/e/ d/e/f.o &&
	expect_eq src/d/b.o "$(cat dst/d/b.o)" &&
	[ -n "$(find dst/.shelter/history -path "*/tree/d/a.c")" ]
'

t 'an excluded directory already in DEST is left alone' '
	mkfiles src/a src/cache/new &&
	mkfiles dst/cache/old dst/cache/deep/x dst/a &&
	sh_run 0 backup --exclude=/cache/ src dst &&
	expect_entries dst a cache/ cache/old cache/deep/ cache/deep/x &&
	expect_eq "" "$(find dst/.shelter -path "*/tree/cache*" 2>/dev/null || :)" "excluded entries moved to history"
'

t 'excluding a path that SRC no longer has keeps it, a later pass without the pattern removes it' '
	mkfiles src/a src/b.log &&
	sh_run 0 backup src dst &&
	rm src/b.log &&
	sh_run 0 backup --exclude="*.log" src dst &&
	expect_entries dst a b.log &&
	sh_run 0 backup src dst &&
	expect_entries dst a
'

t 'patterns match names with spaces and other odd bytes' '
	mkfiles "src/my file 1" "src/my file 2" "src/keep me" "src/tab	x" &&
	sh_run 0 backup --exclude="my file*" --exclude="tab?x" src dst &&
	expect_entries dst "keep me"
'

done_testing
