#!/bin/bash
# t1300-history: DEST/.shelter/history/<PASS>/{index,tree/} after replacing
# and deleting; escaping; no folder for a pass that keeps nothing;
# --no-history.
#
# Test bodies are &&-chained (as in git's test suite), so that a failing
# step fails the test whatever the harness does with `set -e`.
. "$(dirname "$0")/lib.sh"

# passes DEST: the pass folder names under DEST/.shelter/history, sorted
passes() {
	[ -d "$1/.shelter/history" ] || return 0
	(cd "$1/.shelter/history" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort)
}

# only_pass DEST: the name of the one pass folder, failing unless exactly one
only_pass() {
	local p n
	p=$(passes "$1") && n=$(printf '%s' "$p" | grep -c '') &&
	{ [ "$n" = 1 ] || { echo "expected 1 history folder, found $n: $p" >&2; return 1; }; } &&
	printf '%s\n' "$p"
}

# record INDEX PATHFIELD: the index record whose path field is PATHFIELD
record() {
	awk -F'\t' -v p="$2" 'NR > 1 && $8 == p' "$1"
}

# field N RECORD
field() { printf '%s\n' "$2" | cut -f"$1"; }

# check_record INDEX PATHFIELD EVENT TYPE SIZE MTIME MODE HASH [TARGET]
# (EVENT..HASH may be * to skip a field); also checks kept_at's format and
# the number of fields.
check_record() {
	local idx=$1 p=$2 r n i want got
	r=$(record "$idx" "$p")
	[ -n "$r" ] || { echo "no record for [$p] in $idx:"; cat -A "$idx"; return 1; }
	[ "$(printf '%s\n' "$r" | wc -l)" = 1 ] || { echo "several records for [$p]:"; printf '%s\n' "$r"; return 1; }
	n=$(printf '%s\n' "$r" | awk -F'\t' '{print NF}')
	shift 2
	i=1
	for want in "$1" "$2" "$3" "$4" "$5" "$6"; do
		got=$(field $i "$r")
		if [ "$want" != '*' ] && [ "$want" != "$got" ]; then
			echo "record for [$p], field $i: expected [$want], got [$got]"
			printf '%s\n' "$r" | cat -A
			return 1
		fi
		i=$((i + 1))
	done
	field 7 "$r" | grep -Eqx '[0-9]+\.[0-9]{9}' || { echo "bad kept_at in: $r"; return 1; }
	field 4 "$r" | grep -Eqx '[0-9]+\.[0-9]{9}' || { echo "bad mtime in: $r"; return 1; }
	if [ $# -ge 7 ]; then
		expect_eq 9 "$n" "field count of a symlink record" &&
		expect_eq "$7" "$(field 9 "$r")" "target of [$p]"
	else
		expect_eq 8 "$n" "field count of the record for [$p]"
	fi
}

if command -v xxhsum >/dev/null 2>&1; then
	# xxh FILE: XXH3-128 of FILE, 32 lowercase hex digits
	xxh() { xxhsum -H2 <"$1" | cut -d' ' -f1; }
	HAVE_XXHSUM=1
else
	xxh() { echo '*'; }
	HAVE_XXHSUM=
fi

NL=$'\n'
TAB=$'\t'
BS='\'
NONUTF=$'\xff\xfe'
C01=$'\x01c'
DEL=$'d\x7f'

# setup: pass 1 of src (a, b, d/c, d/e/, l) into dst; old versions saved in old/
setup() {
	mkdir -p src/d/e old &&
	printf "version one of a\n" >src/a && chmod 0640 src/a &&
	head -c 50000 /dev/urandom >src/b && chmod 0600 src/b &&
	: >src/empty && chmod 0644 src/empty &&
	printf C >src/d/c && chmod 0644 src/d/c && chmod 0755 src/d src/d/e &&
	ln -s "../some target" src/l &&
	touch -d @1500000001.100000001 src/a &&
	touch -d @1500000002.200000002 src/b &&
	touch -d @1500000003.300000003 src/empty &&
	touch -d @1500000004.400000004 src/d/c &&
	touch -h -d @1500000005.500000005 src/l &&
	cp -a src/a src/b src/empty old/ && cp -a src/d old/d &&
	sh_run 0 backup src dst &&
	check_same src dst
}

t 'replaced and deleted files are kept under history/<PASS>/tree/<path>' '
	setup &&
	ino_a=$(stat -c %i dst/a) && ino_b=$(stat -c %i dst/b) && ino_c=$(stat -c %i dst/d/c) &&
	printf "version two\n" >src/a && rm src/b && rm -r src/d &&
	sh_run 0 backup src dst &&
	check_same src dst &&
	p=$(only_pass dst) &&
	tree=dst/.shelter/history/$p/tree &&
	cmp old/a "$tree/a" && cmp old/b "$tree/b" && cmp old/d/c "$tree/d/c" &&
	expect_eq "$ino_a" "$(stat -c %i "$tree/a")" "tree/a is the old inode (a hard link, not a copy)" &&
	expect_eq "$ino_b" "$(stat -c %i "$tree/b")" "tree/b is the old inode (a rename, not a copy)" &&
	expect_eq "$ino_c" "$(stat -c %i "$tree/d/c")" "tree/d/c is the old inode" &&
	expect_eq "$(printf "a\nb\nd/c")" "$(cd "$tree" && find . -type f -printf "%P\n" | LC_ALL=C sort)" "files in tree/" &&
	expect_eq "version two" "$(cat dst/a)"
'

t 'the pass folder is named by the UTC start time, YYYYMMDDTHHMMSS.NNNNNNNNNZ' '
	setup &&
	printf "version two\n" >src/a &&
	before=$(date -u +%Y%m%dT%H%M%S) &&
	sh_run 0 backup src dst &&
	after=$(date -u +%Y%m%dT%H%M%S) &&
	p=$(only_pass dst) &&
	{ printf "%s\n" "$p" | grep -Eqx "[0-9]{8}T[0-9]{6}\\.[0-9]{9}Z" || fail "bad folder name [$p]"; } &&
	s=${p%%.*} &&
	{ [[ ! "$s" < "$before" ]] && [[ ! "$s" > "$after" ]] || fail "folder $p not within $before..$after"; }
'

t 'index: header, then one record per kept entry with the right fields' '
	setup &&
	start=$(date +%s) &&
	printf "version two\n" >src/a && rm src/b src/empty src/l && rm -r src/d &&
	sh_run 0 backup src dst &&
	end=$(date +%s) &&
	idx=dst/.shelter/history/$(only_pass dst)/index &&
	expect_eq "shelter-history 1" "$(head -n 1 "$idx")" "first line" &&
	expect_eq "" "$(tail -c 1 "$idx" | tr -d "\\n")" "index ends with LF" &&
	check_record "$idx" a changed f 17 1500000001.100000001 0640 "$(xxh old/a)" &&
	check_record "$idx" b deleted f 50000 1500000002.200000002 0600 "$(xxh old/b)" &&
	check_record "$idx" empty deleted f 0 1500000003.300000003 0644 "$(xxh old/empty)" &&
	check_record "$idx" d/c deleted f 1 1500000004.400000004 0644 "$(xxh old/d/c)" &&
	check_record "$idx" d deleted d "*" "*" 0755 - &&
	check_record "$idx" d/e deleted d "*" "*" 0755 - &&
	check_record "$idx" l deleted l 14 1500000005.500000005 0777 - "../some target" &&
	expect_eq 8 "$(wc -l <"$idx")" "lines in the index (header + 7 records)" &&
	kept=$(awk -F"\\t" "NR > 1 { print \$7 }" "$idx" | cut -d. -f1 | sort -n) &&
	{ [ "$(echo "$kept" | head -n 1)" -ge "$start" ] && [ "$(echo "$kept" | tail -n 1)" -le "$end" ] ||
		fail "kept_at not within the pass ($start..$end): $kept"; }
'

if [ -n "$HAVE_XXHSUM" ]; then
t 'index hashes are XXH3-128 of the kept content (xxhsum -H2)' '
	mkdir src &&
	head -c 3000000 /dev/urandom >src/big && : >src/empty && printf "hi\\n" >src/hi &&
	sh_run 0 backup src dst &&
	cp src/big src/empty src/hi . &&
	printf x >>src/big && printf x >src/empty && rm src/hi &&
	sh_run 0 backup src dst &&
	idx=dst/.shelter/history/$(only_pass dst)/index &&
	expect_eq "$(xxh big)" "$(field 6 "$(record "$idx" big)")" "hash of big" &&
	expect_eq 99aa06d3014798d86001c324468d497f "$(field 6 "$(record "$idx" empty)")" "hash of the empty file" &&
	expect_eq f4d0497cf9394caab34d1a3ab2bece70 "$(field 6 "$(record "$idx" hi)")" "hash of \"hi\\n\"" &&
	expect_eq "$(xxh hi)" "$(field 6 "$(record "$idx" hi)")" "hash of hi (xxhsum)"
'
else
	skip 'index hashes are XXH3-128 of the kept content (xxhsum -H2)' 'xxhsum not installed (Debian package xxhash)'
fi

t 'index paths and targets are escaped (\n \t \\ \xHH), other bytes verbatim' '
	mkdir src &&
	for n in "new${NL}line" "tab${TAB}name" "back${BS}slash" "$C01" "$DEL" "$NONUTF" "plain é"; do
		printf "%s" "$n" >"src/$n" || return 1
	done &&
	mkdir "src/dir${NL}x" && printf in >"src/dir${NL}x/in${TAB}side" &&
	ln -s "to${NL}there${TAB}${BS}" src/lnk &&
	sh_run 0 backup src dst &&
	rm -r src/* &&
	sh_run 0 backup src dst &&
	idx=dst/.shelter/history/$(only_pass dst)/index &&
	expect_eq 11 "$(wc -l <"$idx")" "index lines (header + 10 records, no raw newline)" &&
	awk -F"\\t" "NR > 1 { print \$8 }" "$idx" | LC_ALL=C sort >got &&
	printf "%s\\n" "new${BS}nline" "tab${BS}tname" "back${BS}${BS}slash" "${BS}x01c" "d${BS}x7f" \
		"$NONUTF" "plain é" "dir${BS}nx" "dir${BS}nx/in${BS}tside" lnk | LC_ALL=C sort >want &&
	diff -u want got &&
	expect_eq "to${BS}nthere${BS}t${BS}${BS}" "$(field 9 "$(record "$idx" lnk)")" "escaped symlink target" &&
	expect_eq "new${NL}line" "$(cat "dst/.shelter/history/$(only_pass dst)/tree/new${NL}line")" "tree/ uses the raw name"
'

t 'a pass that keeps nothing creates no history folder' '
	setup &&
	expect_eq "" "$(passes dst)" "history after the first pass" &&
	sh_run 0 backup src dst &&
	expect_eq "" "$(passes dst)" "history after a no-op pass" &&
	printf new >src/new && mkdir src/newdir && ln -s x src/newlink &&
	sh_run 0 backup src dst &&
	expect_eq "" "$(passes dst)" "history after a pass that only adds" &&
	printf changed >src/a &&
	sh_run 0 backup src dst &&
	p=$(only_pass dst) &&
	sh_run 0 backup src dst &&
	expect_eq "$p" "$(passes dst)" "history after another no-op pass"
'

t 'two passes make two history folders that sort by time' '
	mkdir src && printf v1 >src/f && printf w1 >src/g &&
	sh_run 0 backup src dst &&
	printf v2 >src/f &&
	sh_run 0 backup src dst &&
	sleep 1 &&
	printf v3 >src/f && rm src/g &&
	sh_run 0 backup src dst &&
	expect_eq 2 "$(passes dst | wc -l)" "history folders" &&
	first=$(passes dst | head -n 1) && second=$(passes dst | tail -n 1) &&
	[[ "$first" < "$second" ]] &&
	expect_eq v1 "$(cat "dst/.shelter/history/$first/tree/f")" "f in the first folder" &&
	expect_eq v2 "$(cat "dst/.shelter/history/$second/tree/f")" "f in the second folder" &&
	expect_eq w1 "$(cat "dst/.shelter/history/$second/tree/g")" "g in the second folder" &&
	[ ! -e "dst/.shelter/history/$first/tree/g" ] &&
	expect_eq v3 "$(cat dst/f)" &&
	check_same src dst
'

t '--no-history: replaced and deleted files are simply gone' '
	setup &&
	printf "version two\n" >src/a && rm src/b && rm -r src/d && rm src/l &&
	sh_run 0 backup --no-history src dst &&
	check_same src dst &&
	expect_eq "" "$(passes dst)" "history folders" &&
	expect_eq "" "$(find dst/.shelter -name a -o -name b -o -name c -o -name l 2>/dev/null || :)" "kept files" &&
	printf "version three\n" >src/a &&
	sh_run 0 backup src dst &&
	p=$(only_pass dst) &&
	printf "version four\n" >src/a && rm src/empty &&
	sh_run 0 backup --no-history src dst &&
	expect_eq "$p" "$(passes dst)" "--no-history leaves earlier history alone" &&
	expect_eq "version two" "$(cat "dst/.shelter/history/$p/tree/a")" &&
	check_same src dst
'

t 'a directory replaced by a file: renamed whole, every entry recorded' '
	mkdir -p src/y/b && printf A >src/y/a && printf C >src/y/b/c &&
	chmod 0755 src/y src/y/b && chmod 0644 src/y/a src/y/b/c &&
	sh_run 0 backup src dst &&
	cp -a src/y oldy &&
	rm -r src/y && printf file >src/y &&
	sh_run 0 backup src dst &&
	check_same src dst &&
	p=$(only_pass dst) && idx=dst/.shelter/history/$p/index &&
	check_record "$idx" y "*" d "*" "*" 0755 - &&
	check_record "$idx" y/a "*" f 1 "*" 0644 "$(xxh oldy/a)" &&
	check_record "$idx" y/b "*" d "*" "*" 0755 - &&
	check_record "$idx" y/b/c "*" f 1 "*" 0644 "$(xxh oldy/b/c)" &&
	cmp oldy/a "dst/.shelter/history/$p/tree/y/a" &&
	cmp oldy/b/c "dst/.shelter/history/$p/tree/y/b/c"
'

t 'the mirror after many history moves equals SRC' '
	mkdir -p src/keep src/x/y src/z &&
	for i in $(seq 20); do head -c $((i * 100)) /dev/urandom >src/keep/f$i && printf "%s" "$i" >src/x/y/g$i || return 1; done &&
	printf z >src/z/z && ln -s keep src/lk &&
	sh_run 0 backup src dst &&
	for i in $(seq 1 2 20); do printf changed >>src/keep/f$i || return 1; done &&
	rm src/x/y/g1 src/x/y/g2 && rm -r src/z && printf nowfile >src/z && rm src/lk && mkdir src/lk &&
	sh_run 0 backup src dst &&
	check_same src dst &&
	no_temp_files dst &&
	p=$(only_pass dst) &&
	expect_eq 10 "$(find "dst/.shelter/history/$p/tree/keep" -type f | wc -l)" "kept versions of keep/f*" &&
	sh_run 0 backup -i src dst &&
	expect_eq "" "$(cat out)" "pass after the history moves"
'

done_testing
