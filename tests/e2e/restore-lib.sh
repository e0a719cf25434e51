# restore-lib.sh - the fixture t2300 (local restore) and t3400 (restore
# over ssh) share: three real backup passes ("days"); trees compare with
# lib.sh's same_tree.
# Sourced after lib.sh; sets T0..T2, D (the DEST), DAY1..DAY3 (the trees
# each pass saw).

now_iso() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }

# pass_iso PASS: a pass folder name (20261125T231539.657443141Z) as ISO 8601
pass_iso() {
	printf '%s\n' "$1" | sed -E 's/^(....)(..)(..)T(..)(..)(..)(\.[0-9]+Z)$/\1-\2-\3T\4:\5:\6\7/'
}

# days: three backups of src into dst; day1/, day2/, day3/ are copies of
# src as each pass saw it, T0 is before the first pass, T1 and T2 after the
# first and the second. Directories keep one mtime throughout (shelter does
# not version a directory's own metadata; doc/history.md says so).
days() {
	mkdir -p src/d/e &&
	printf 'a, day one\n' >src/a && printf 'b, day one\n' >src/b && chmod 0600 src/b &&
	printf 'c, day one\n' >src/d/c && printf 'f, day one\n' >src/d/e/f && chmod 0640 src/d/e/f &&
	ln -s a src/l &&
	touch -d @1700000001.100000001 src/a && touch -d @1700000002.200000002 src/b &&
	touch -d @1700000003.300000003 src/d/c && touch -d @1700000004.400000004 src/d/e/f &&
	touch -h -d @1700000005.500000005 src/l &&
	chmod 0750 src/d && touch -d @1700000009.900000009 src/d/e src/d &&
	T0=$(now_iso) && sleep 0.05 &&
	sh_run 0 backup src dst &&
	cp -a src day1 && T1=$(now_iso) &&
	printf 'a, day two, longer\n' >src/a && touch -d @1700086401.100000001 src/a &&
	rm src/d/c && rm src/l && ln -s d src/l && touch -h -d @1700086405.5 src/l &&
	printf 'n, day two\n' >src/n && touch -d @1700086406.6 src/n &&
	touch -d @1700000009.900000009 src/d &&
	sh_run 0 backup src dst &&
	cp -a src day2 && T2=$(now_iso) &&
	printf 'a, day three\n' >src/a && touch -d @1700172801.100000001 src/a &&
	printf 'b, day three\n' >src/b && touch -d @1700172802.2 src/b &&
	rm -r src/d &&
	sh_run 0 backup src dst &&
	cp -a src day3
}


# The three days, once: DEST's inodes must be the ones the passes made
# (their birth times count), so tests that only read it share it; tests
# that change DEST make their own.
FIX=$T_ROOT/fix
mkdir "$FIX"
if ! (cd "$FIX" && days >log 2>&1 && declare -p T0 T1 T2 >vars); then
	echo "Bail out! setting up three days of backups failed: $(tail -n 5 "$FIX/log" "$FIX/err" 2>/dev/null)"
	exit 1
fi
. "$FIX/vars"
D=$FIX/dst
DAY1=$FIX/day1 DAY2=$FIX/day2 DAY3=$FIX/day3
same_tree "$FIX/src" "$D" >/dev/null || { echo "Bail out! the mirror differs from SRC"; exit 1; }
