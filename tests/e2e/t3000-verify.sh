#!/bin/bash
# t3000-verify: the mirror index (DEST/.shelter/mirror.index) that a backup
# pass writes, `shelter verify`, and self-heal (doc/history.md "Mirror
# index", "Self-heal", "verify"). Damage is made the way a disk or a
# person would make it: a byte flipped in place with the mtime put back,
# a file removed, an index cut short. Hashes are checked against xxhsum -H2.
# push/t3000-verify.sh and pull/t3000-verify.sh run the passes over sshd
# (push: the server writes the index); verify itself always runs locally.
. "$(dirname "$0")/lib.sh"

V=${SHELTER_E2E_REAL:-$SHELTER}	# verify reads a local DEST
TAB=$'\t'

command -v xxhsum >/dev/null 2>&1 || { echo "1..0 # SKIP xxhsum is not installed"; exit 0; }
xxh() { xxhsum -H2 <"$1" | cut -d' ' -f1; }

# verify EXPECTED_EXIT ARGS...: like sh_run, for verify (out, err).
verify() {
	local want=$1 got=0
	shift
	"$V" verify "$@" >out 2>err || got=$?
	[ "$got" = "$want" ] && return 0
	echo "shelter verify $* exited $got, expected $want"
	echo "--- stdout"; cat out; echo "--- stderr"; cat err
	return 1
}

# flip FILE [OFFSET]: change one byte in place, mtime put back (ctime moves).
flip() {
	local b
	b=$(od -An -tu1 -j "${2:-0}" -N1 "$1" | tr -d ' ')
	touch -r "$1" ref.$$ &&
	printf "\\$(printf %o $(((b + 1) % 256)))" | dd of="$1" bs=1 seek="${2:-0}" conv=notrunc 2>/dev/null &&
	touch -r ref.$$ "$1" && rm ref.$$
}

# index_ok DEST: mirror.index has header, one record per regular file of
# the mirror (size, mtime, inode, ctime as stat says, XXH3-128 as xxhsum
# says, flag -), and an end line with the count. Plain names only.
index_ok() {
	local ix=$1/.shelter/mirror.index n
	[ -f "$ix" ] || { echo "no $ix"; return 1; }
	expect_eq "shelter-mirror-index 1" "$(head -1 "$ix")" "header" || return 1
	(cd "$1" && find . -path ./.shelter -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
		while IFS= read -r p; do
			printf '%s\t%s\t%s\t%s\t%s\t-\t%s\n' "$(stat -c %s "$p")" "$(stat -c %.9Y "$p")" \
				"$(stat -c %i "$p")" "$(stat -c %.9Z "$p")" "$(xxh "$p")" "$p"
		done) >want.ix
	sed '1d;$d' "$ix" | LC_ALL=C sort -t "$TAB" -k7 >got.ix
	diff want.ix got.ix || { echo "mirror index of $1 is not the mirror"; return 1; }
	n=$(wc -l <want.ix)
	tail -1 "$ix" | grep -Eq "^end${TAB}$n${TAB}[0-9a-f]{32}\$" ||
		{ echo "bad end line: $(tail -1 "$ix") (want $n records)"; return 1; }
}

tree() {
	mkdir -p src/docs/deep src/img &&
	printf 'alpha\n' >src/a && printf 'report, version 1\n' >src/docs/report.txt &&
	head -c 200000 /dev/urandom >src/img/big.bin && printf 'x\n' >src/docs/deep/x &&
	: >src/empty && ln -s a src/link
}

t 'a backup writes the mirror index: every regular file, stat fields and XXH3-128' '
	tree && sh_run 0 backup src dst && index_ok dst &&
	verify 0 dst && grep -qx "verified 5 files, 200026 bytes: 0 damaged, 0 missing, 0 without a record" out
'

t 'the index follows edits, deletions, renames, type changes, -c and --no-history' '
	tree && sh_run 0 backup src dst &&
	printf "report, version 2, longer\n" >src/docs/report.txt && rm src/a &&
	mv src/docs/deep src/docs/moved && rm src/link && mkdir src/link && printf "in\n" >src/link/f &&
	rm -r src/img && printf "img is a file now\n" >src/img &&
	sh_run 0 backup src dst && index_ok dst && verify 0 dst &&
	printf "v3\n" >src/docs/report.txt && sh_run 0 backup -c src dst && index_ok dst &&
	printf "v4\n" >src/docs/report.txt && sh_run 0 backup --no-history src dst && index_ok dst &&
	cp -p dst/.shelter/mirror.index before && chmod 600 src/docs/report.txt &&
	sh_run 0 backup -n src dst && cmp before dst/.shelter/mirror.index &&
	sh_run 0 backup src dst && index_ok dst && verify 0 dst
'

t 'a pass with nothing to do leaves the index alone; a chmod only updates the ctime of its record' '
	tree && sh_run 0 backup src dst && ix=dst/.shelter/mirror.index &&
	before=$(stat -c "%i %.9Y" $ix) && sh_run 0 backup src dst &&
	expect_eq "$before" "$(stat -c "%i %.9Y" $ix)" "the index after a pass with nothing to do" &&
	expect_eq "lock mirror.index passes" "$(ls -A dst/.shelter | tr "\n" " " | sed "s/ \$//")" "DEST/.shelter (passes: retention)" &&
	chmod 600 src/docs/report.txt && sh_run 0 backup -i src dst &&
	expect_eq ".f...p..... docs/report.txt" "$(grep "^[>c.*][fdL]" out || true)" &&
	index_ok dst && verify 0 dst &&
	sh_run 0 backup src dst && ! grep -q "mirror index" err
'

t 'a flipped byte (mtime put back): verify names it and both hashes, exit 16, and flags it' '
	tree && sh_run 0 backup src dst && good=$(xxh src/docs/report.txt) &&
	flip dst/docs/report.txt 3 && bad=$(xxh dst/docs/report.txt) &&
	verify 16 dst &&
	grep -qx "damaged: docs/report.txt: expected $good, got $bad" out &&
	grep -qx "verified 5 files, 200026 bytes: 1 damaged, 0 missing, 0 without a record" out &&
	grep -q "${TAB}damaged${TAB}docs/report.txt\$" dst/.shelter/mirror.index &&
	verify 16 --json dst &&
	/usr/bin/python3 -c "
import json, sys
j = json.load(open(\"out\"))
assert j[\"damaged\"] == [{\"path\": \"docs/report.txt\", \"expected\": \"$good\", \"got\": \"$bad\"}], j
assert j[\"missing\"] == [] and j[\"files\"] == 5 and j[\"exit\"] == 16 and j[\"index\"] == \"ok\", j
"
'

t 'the next plain backup sends exactly the damaged file again, keeps no version of it; verify 0' '
	tree && sh_run 0 backup src dst && flip dst/img/big.bin 100000 && verify 16 dst &&
	sh_run 0 backup -i --stats src dst &&
	expect_eq ">fc........ img/big.bin" "$(grep "^[>c.*][fdL]" out || true)" "itemized changes" &&
	expect_eq 1 "$(stat_num "Number of regular files transferred")" &&
	grep -q "img/big.bin in DEST was found damaged by shelter verify" err &&
	cmp src/img/big.bin dst/img/big.bin && check_same src dst &&
	! ls dst/.shelter/history/*/tree/img/big.bin 2>/dev/null &&
	index_ok dst && verify 0 dst &&
	sh_run 0 backup -i src dst && expect_eq "" "$(grep "^[>c.*][fdL]" out || true)" "a second pass"
'

t 'self-heal without verify: a file written in place behind the mtime is sent again' '
	tree && sh_run 0 backup src dst && flip dst/a &&
	sh_run 0 backup -i src dst &&
	expect_eq ">fc........ a" "$(grep "^[>c.*][fdL]" out || true)" "itemized changes" &&
	grep -q "a in DEST does not match its mirror index record" err &&
	cmp src/a dst/a && index_ok dst && verify 0 dst
'

t 'a missing mirror file is "missing", exit 16; the next backup brings it back' '
	tree && sh_run 0 backup src dst && rm dst/docs/deep/x &&
	verify 16 dst && grep -qx "missing: docs/deep/x" out &&
	grep -q ": 0 damaged, 1 missing, 0 without a record" out &&
	sh_run 0 backup src dst && cmp src/docs/deep/x dst/docs/deep/x && verify 0 dst
'

t 'a file added to DEST by hand has no record: reported, exit 0' '
	tree && sh_run 0 backup src dst && printf "stray\n" >dst/docs/stray &&
	verify 0 dst && grep -qx "no record: docs/stray" out &&
	grep -q ": 0 damaged, 0 missing, 1 without a record" out
'

t 'a damaged history version is named with its path under .shelter, exit 16' '
	tree && sh_run 0 backup src dst && printf "report, version 2\n" >src/docs/report.txt &&
	sh_run 0 backup src dst && kept=$(cd dst && ls .shelter/history/*/tree/docs/report.txt) &&
	verify 0 dst && grep -q "verified 6 files" out &&
	good=$(xxh "dst/$kept") && flip "dst/$kept" && bad=$(xxh "dst/$kept") &&
	verify 16 dst && grep -qx "damaged: $kept: expected $good, got $bad" out
'

t 'a damaged, cut or missing mirror index: verify exit 16 naming it; the next backup rewrites it' '
	tree && sh_run 0 backup src dst && ix=dst/.shelter/mirror.index && cp $ix good.ix &&
	for how in cut flip header tail hashes missing; do
		cp good.ix $ix &&
		case $how in
		cut) head -c 150 good.ix >$ix ;;
		flip) sed "2s/\\t-\\t/\\tX\\t/" good.ix >$ix ;;
		header) sed "1s/1\$/7/" good.ix >$ix ;;
		tail) echo junk >>$ix ;;
		hashes) sed -E "/^[0-9]/s/\t[0-9a-f]{32}\t/\t00000000000000000000000000000000\t/" good.ix >$ix &&
			! cmp -s good.ix $ix ;;
		missing) rm $ix ;;
		esac || return 1
		{ verify 16 dst && grep -q "DEST/.shelter/mirror.index" err; } ||
			{ fail "verify, index $how"; return 1; }
		grep -q "the mirror cannot be verified" err || { fail "message, index $how"; return 1; }
		sh_run 0 backup src dst || { fail "backup, index $how"; return 1; }
		[ $how = missing ] || grep -q "mirror.index" err || { fail "no warning, index $how"; return 1; }
		{ index_ok dst && verify 0 dst; } || { fail "after the backup, index $how"; return 1; }
	done &&
	sed "s/\\t-\\t/\\tdamaged\\t/" good.ix >$ix && verify 16 dst &&
	grep -q "checksum does not match" err
'

t 'names with tab, newline, backslash and non-UTF-8 bytes are escaped and verified' '
	mkdir src && printf 1 >"src/t${TAB}ab" && printf 2 >"src/n"$'"'"'\n'"'"'"l" &&
	printf 3 >"src/b\\s" && printf 4 >src/$'"'"'\xff\xfe'"'"' &&
	sh_run 0 backup src dst &&
	grep -q "${TAB}t\\\\tab\$" dst/.shelter/mirror.index &&
	grep -q "${TAB}n\\\\nl\$" dst/.shelter/mirror.index &&
	grep -q "${TAB}b\\\\\\\\s\$" dst/.shelter/mirror.index &&
	verify 0 dst && grep -q "verified 4 files" out &&
	flip "dst/t${TAB}ab" && verify 16 dst && grep -q "^damaged: t\\\\tab: " out
'

t 'a pass killed mid-way leaves the old index; verify does not call replaced files damaged' '
	tree && sh_run 0 backup src dst &&
	for i in $(seq 1 40); do head -c 300000 /dev/urandom >src/img/n$i; done &&
	printf "alpha, new\n" >src/a &&
	{ "$SHELTER" backup src dst >/dev/null 2>&1 & pid=$!; } &&
	{ sleep 0.3; kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; } &&
	verify 0 dst && ! grep -q "^damaged" out &&
	sh_run 0 backup src dst && check_same src dst && index_ok dst && verify 0 dst
'

t 'verify: --json of a remote DEST, no DEST, a file as DEST, usage' '
	verify 1 --json testhost:/tmp/x && grep -q "json is for a local DEST" err &&
	verify 3 nothere && grep -q "nothere" err &&
	: >f && verify 3 f &&
	verify 1 && verify 1 a b && verify 1 --bogus x &&
	"$V" verify --help | grep -q "shelter verify \[-v\] \[--json\] DEST"
'

t 'completions offer verify and its options (bash, fish), --help and the man page list them' '
	bc() { bash -c ". \"\$1\"; shift; COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\$# - 1)); _shelter
		printf \"%s\\n\" \"\${COMPREPLY[@]}\"" x "$TOP_SRCDIR/completions/shelter" "$@"; } &&
	expect_eq "verify" "$(bc shelter veri)" &&
	expect_eq "$(printf -- "--help\n--json\n--remote-cmd\n--rsh\n--run-log\n--timeout\n--verbose")" "$(bc shelter verify -- | sort)" &&
	expect_eq "--json" "$(bc shelter verify --j)" &&
	mkdir dirA && expect_eq "dirA" "$(bc shelter verify di)" &&
	if command -v fish >/dev/null; then
		expect_eq "--json" "$(fish -c "source $TOP_SRCDIR/completions/shelter.fish; complete -C \"shelter verify --j\"" | cut -f1)"
	fi &&
	grep -q "verify:re-hash" "$TOP_SRCDIR/completions/_shelter" &&
	"$V" --help | grep -q "^verify: 16 " &&
	grep -q "^.fBverify.fR .*json.*DEST" "$TOP_SRCDIR/man/shelter.1"
'

t 'sync writes no mirror index' '
	mkdir r1 r2 && printf a >r1/a && sh_run 0 sync --state=st r1 r2 &&
	[ ! -e r1/.shelter/mirror.index ] && [ ! -e r2/.shelter/mirror.index ]
'

done_testing
