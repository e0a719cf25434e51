#!/bin/bash
# t3100-drill: the disaster drill. A tree lives through many days of work
# (edits, partial overwrites, renames, moves, deletions, a directory that
# comes and goes, a file that becomes a directory and back, a symlink
# retargeted, a mode changed with its content), backed up each day with
# retention applied; then SRC is deleted and every day retention kept is
# restored from DEST alone and compared with a copy of SRC taken that day:
# entries, types, modes, mtimes (ns), sizes, symlink targets and bytes.
# Locally with backup --keep-last, and over a real sshd (push: the rules
# travel in START, the server records the passes and prunes).
#
# Directories keep one mtime throughout: shelter does not version a
# directory's own metadata (doc/history.md), so the drill does not change it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

# work D: day D's changes to src/ (day 1 makes the tree).
work() {
	local d=$1 f
	if [ "$d" = 1 ]; then
		mkdir -p src/docs src/img src/code/lib src/deep/a/b &&
		for f in a b c d e; do printf '%s, day 1\n' $f >src/docs/$f.txt; done &&
		head -c 70000 /dev/urandom >src/img/photo.bin &&
		head -c 3000 /dev/urandom >src/img/icon.bin &&
		printf 'int main(void) { return 0; }\n' >src/code/main.c && chmod 0755 src/code/main.c &&
		printf 'lib v1\n' >src/code/lib/util.c &&
		printf 'deep\n' >src/deep/a/b/leaf && chmod 0600 src/docs/e.txt &&
		printf 'moving\n' >src/docs/moving-1.txt && printf 'flip, a file\n' >src/flip &&
		ln -s docs/a.txt src/latest || return 1
	fi
	# Every day: an appended journal, a partly overwritten binary, a new
	# note, and the note of five days ago deleted.
	printf 'entry of day %d\n' "$d" >>src/docs/a.txt &&
	dd if=/dev/urandom of=src/img/photo.bin bs=1000 count=2 seek=$((d % 60)) conv=notrunc status=none &&
	printf 'note of day %d\n' "$d" >"src/docs/note-$d" &&
	rm -f "src/docs/note-$((d - 5))" || return 1
	# A file renamed every other day, moved to another directory every sixth.
	f=$(find src -name 'moving-*') &&
	case $((d % 6)) in
	0) mv "$f" "src/code/moving-$d.txt" ;;
	2 | 4) mv "$f" "src/docs/moving-$d.txt" ;;
	esac &&
	case $((d % 5)) in
	0) rm -r src/deep ;;
	2) [ -d src/deep ] || { mkdir -p src/deep/a/b && printf 'deep, day %d\n' "$d" >src/deep/a/b/leaf; } ;;
	esac &&
	case $((d % 4)) in
	1) rm src/latest && ln -s "docs/$( [ $((d % 8)) = 1 ] && echo c || echo a).txt" src/latest ;;
	2) printf 'lib v%d, longer than before\n' "$d" >src/code/lib/util.c ;;
	esac &&
	if [ $((d % 7)) = 3 ]; then
		printf 'e, day %d\n' "$d" >src/docs/e.txt && chmod $([ $((d % 2)) = 1 ] && echo 0640 || echo 0600) src/docs/e.txt
	fi &&
	if [ $((d % 6)) = 4 ]; then
		if [ -d src/flip ]; then
			rm -r src/flip && printf 'flip, a file again on day %d\n' "$d" >src/flip
		else
			rm src/flip && mkdir src/flip && printf 'inside, day %d\n' "$d" >src/flip/in
		fi
	fi &&
	find src -type d -exec touch -d @1700000000.5 {} +
}

# restore_kept DEST FIRSTDAY: restore --at the end of each pass DEST's
# passes file lists (days FIRSTDAY, FIRSTDAY+1, ...) and compare with days/D.
restore_kept() {
	local dest=$1 d=$2 pass end code
	while IFS='	' read -r pass end code; do
		expect_eq 0 "$code" "exit code of day $d" &&
		"$SHELTER" restore --at "@$end" "$dest" "r$d" >out 2>err &&
		same_tree "days/$d" "r$d" || { cat err; fail "day $d"; return 1; }
		d=$((d + 1))
	done < <(tail -n +2 "$dest/.shelter/passes")
}

t 'local drill: 20 days with backup --keep-last 8, SRC deleted, the 8 kept days restored exactly' '
	mkdir days &&
	for d in $(seq 1 20); do
		work $d && sh_run 0 backup --keep-last 8 src dst && cp -a src days/$d || return 1
	done &&
	expect_eq 8 "$(tail -n +2 dst/.shelter/passes | wc -l)" "snapshots left" &&
	grep -q "^prune $PWD/dst: 8 of 9 snapshots kept, 1 forgotten" out &&
	rm -rf src &&
	restore_kept dst 13 &&
	sh_run 0 restore dst now && same_tree days/20 now &&
	first=$(sed -n 3p dst/.shelter/passes | cut -f1) &&
	for f in $(ls dst/.shelter/history); do
		[[ ! "$f" < "$first" ]] || fail "history folder $f is older than the second kept pass $first"
	done &&
	sh_run 0 restore --at "@$(sed -n 2p dst/.shelter/passes | cut -f2)" dst/docs/a.txt one &&
	expect_eq 13 "$(grep -c "^entry of day" one/docs/a.txt)" "the journal as it was on day 13"
'

t 'local drill: calendar rules prune the same history (prune --keep-daily 1 --keep-last 3)' '
	mkdir days &&
	for d in $(seq 1 10); do
		work $d && sh_run 0 backup src dst && cp -a src days/$d || return 1
	done &&
	sh_run 0 prune -v --keep-daily 1 --keep-last 3 dst &&
	grep -q "^prune dst: 3 of 10 snapshots kept, 7 forgotten" out &&
	rm -rf src && restore_kept dst 8
'

if ! sshd_start >"$T_ROOT/sshd-start.log" 2>&1; then
	skip 'push drill over sshd' "no usable sshd: $(tail -1 "$T_ROOT/sshd-start.log")"
else
	t 'push drill over sshd: the server records each pass and prunes by the rules START carries' '
		mkdir days &&
		for d in $(seq 1 8); do
			work $d && sh_run 0 backup -e "$SSH" --remote-cmd "$SHELTER" --keep-last 3 src "testhost:$PWD/dst" &&
			cp -a src days/$d || return 1
		done &&
		grep -q "prune $PWD/dst: 3 of 4 snapshots kept, 1 forgotten" out &&
		expect_eq 3 "$(tail -n +2 dst/.shelter/passes | wc -l)" "passes the server kept" &&
		rm -rf src && restore_kept dst 6
	'

	t 'pull drill over sshd: the local receiver prunes' '
		mkdir days &&
		for d in $(seq 1 6); do
			work $d && sh_run 0 backup -e "$SSH" --remote-cmd "$SHELTER" --keep-last 2 "testhost:$PWD/src" dst &&
			cp -a src days/$d || return 1
		done &&
		grep -q "^prune dst: 2 of 3 snapshots kept, 1 forgotten" out &&
		rm -rf src && restore_kept dst 5
	'
fi

done_testing
