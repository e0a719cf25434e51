#!/bin/bash
# t2900-prune: retention. A year of daily passes, written straight into
# DEST/.shelter (pass folders, indexes, kept files, passes) with known
# times, so each rule's survivors are known to the day; then real backups
# with --keep-*, -n, the lock, a damaged history, bad arguments, and a
# history made before DEST/.shelter/passes existed. After each prune,
# restore --at every kept snapshot must still give that day's state.
. "$(dirname "$0")/lib.sh"

TZ=UTC
export TZ

# fake_year DEST: 365 daily passes of 2025, each at 02:00:00Z, ending 30 s
# later. daily holds "day D" after pass D (the version pass D wrote is kept
# by pass D+1, at 02:00:10); gone exists until pass 180 deletes it;
# dir/stay never changes. Kept files carry no hash ("-"), as history
# writes when it could not hash; their inodes are born now, so readers
# ignore birth times (with a warning) and go by the index alone.
fake_year() {
	/usr/bin/python3 - "$1" <<'PY'
import os, sys, calendar
dest = sys.argv[1]
base = calendar.timegm((2025, 1, 1, 2, 0, 0))
def name(t):
    import time
    return time.strftime('%Y%m%dT%H%M%S', time.gmtime(t)) + '.000000000Z'
def put(path, text, mtime, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)
    os.utime(path, (mtime, mtime))
put(dest + '/daily', 'day 364\n', base + 364 * 86400 + 20)
put(dest + '/dir/stay', 'stay\n', base - 86400)
os.makedirs(dest + '/.shelter/history', exist_ok=True)
passes = ['shelter-passes 1\n']
for d in range(365):
    start = base + d * 86400
    passes.append('%s\t%d.000000000\t0\n' % (name(start), start + 30))
    if d == 0:
        continue
    folder = '%s/.shelter/history/%s' % (dest, name(start))
    text = 'day %d\n' % (d - 1)
    mtime = start - 86400 + 20
    recs = ['changed\tf\t%d\t%d.000000000\t0644\t-\t%d.000000000\tdaily\n' % (len(text), mtime, start + 10)]
    put(folder + '/tree/daily', text, mtime)
    if d == 180:
        recs.append('deleted\tf\t5\t%d.000000000\t0600\t-\t%d.000000000\tgone\n' % (base - 86400, start + 11))
        put(folder + '/tree/gone', 'gone\n', base - 86400, 0o600)
    with open(folder + '/index', 'w') as f:
        f.write('shelter-history 1\n' + ''.join(recs))
with open(dest + '/.shelter/passes', 'w') as f:
    f.write(''.join(passes))
PY
}

# fingerprint DIR: every entry below DIR (.shelter too) with its metadata
# and inode, and every file's sha256: what must not change. (lib.sh's
# listing hashes one file per process; a faked year has a thousand.)
fingerprint() {
	(cd "$1" && find . -printf '%P %y %m %T@ %s %i\n' | LC_ALL=C sort &&
	find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

# day_of PASS: the day of 2025 (0..364) a pass folder name stands for
day_of() {
	echo $(( ($(date -u -d "${1:0:4}-${1:4:2}-${1:6:2}" +%s) - $(date -u -d 2025-01-01 +%s)) / 86400 ))
}

# kept_days DEST: the days whose snapshots DEST/.shelter/passes still lists
kept_days() {
	tail -n +2 "$1/.shelter/passes" | while IFS="	" read -r pass end code; do
		day_of "$pass"
	done | tr "\n" " " | sed "s/ \$//"
}

# check_days DEST DAYS...: restore --at each day's snapshot (its end time)
# gives that day's state exactly.
check_days() {
	local dest=$1 d t
	shift
	for d in "$@"; do
		t=$(( $(date -u -d 2025-01-01T02:00:30 +%s) + d * 86400 ))
		rm -rf r && "$SHELTER" restore --at "@$t" "$dest" r >out 2>err ||
			{ cat err; fail "restore of day $d failed"; }
		expect_eq "day $d" "$(cat r/daily)" "daily on day $d" &&
		expect_eq "$(date -u -d @$((t - 30 - 86400 + 20 + 86400)) +%s)" "$(stat -c %Y r/daily)" "mtime of daily on day $d" &&
		expect_eq stay "$(cat r/dir/stay)" &&
		if [ "$d" -lt 180 ]; then
			expect_eq gone "$(cat r/gone)" "gone on day $d" &&
			expect_eq 600 "$(stat -c %a r/gone)" "mode of gone"
		else
			[ ! -e r/gone ] || fail "gone restored on day $d"
		fi || return 1
	done
}

# 2025-12-25..31 (daily), Dec 21 and 14 (ISO weeks 51, 50; Dec 29-31 are
# week 1 of 2026, Dec 22-28 week 52), the last day of Jan..Nov (monthly).
YEAR_KEPT="30 58 89 119 150 180 211 242 272 303 333 347 354 358 359 360 361 362 363 364"

t 'a year of daily passes: --keep-daily 7 --keep-weekly 4 --keep-monthly 12' '
	fake_year dst &&
	sh_run 0 prune --keep-daily 7 --keep-weekly 4 --keep-monthly 12 dst &&
	expect_eq "$YEAR_KEPT" "$(kept_days dst)" "snapshots left in passes" &&
	expect_eq 345 "$(grep -c "^forget " out)" "forget lines" &&
	grep -q "^prune dst: 20 of 365 snapshots kept, 345 forgotten; 345 versions (2653 bytes) removed from 345 pass folders, 344 of them emptied and deleted\$" out &&
	sh_run 0 versions dst/daily &&
	expect_eq 20 "$(wc -l <out)" "versions of daily: 19 kept, 1 current" &&
	for d in $YEAR_KEPT; do
		[ "$d" = 364 ] && continue
		grep -q "changed f .* daily\$" out || return 1
		f=$(find dst/.shelter/history -path "*/tree/daily" -exec grep -lx "day $d" {} +) &&
		[ -n "$f" ] || fail "the version of day $d is gone"
	done &&
	expect_eq 20 "$(ls dst/.shelter/history | wc -l)" "folders: one per kept day but the last, and day 180 (gone)" &&
	expect_eq 0 "$(ls -a dst/.shelter/history | grep -c "^\.prune-")" "no leftovers" &&
	sh_run 0 versions dst/gone && grep -q "deleted f .* gone\$" out &&
	check_days dst $YEAR_KEPT
'

t '--keep-within counts from the newest snapshot, not from now; -v gives reasons' '
	fake_year dst &&
	sh_run 0 prune -v --keep-within 10d dst &&
	expect_eq "355 356 357 358 359 360 361 362 363 364" "$(kept_days dst)" &&
	grep -q "^keep    2025-12-31T02:00:30Z  20251231T020000.000000000Z  (within,newest)\$" out &&
	grep -q "^keep    2025-12-22T02:00:30Z  20251222T020000.000000000Z  (within)\$" out &&
	grep -q "^forget 2025-12-21T02:00:30Z  20251221T020000.000000000Z\$" out &&
	grep -q "^remove 20251222T020000.000000000Z/daily (changed, 8 bytes)\$" out &&
	check_days dst 355 360 364 &&
	sh_run 0 restore --at 2025-12-21T03:00:00Z dst r2 &&
	expect_eq "day 355" "$(cat r2/daily)" "a forgotten day (354) gives the next kept version"
'

t '-n lists what would go and changes nothing; a second prune finds nothing' '
	fake_year dst &&
	before=$(fingerprint dst) &&
	sh_run 0 prune -n --keep-last 2 dst &&
	expect_eq 363 "$(grep -c "^would forget " out)" &&
	grep -q "^prune dst: dry run: 2 of 365 snapshots kept, 363 forgotten; 364 versions (2799 bytes) would be removed from 363 pass folders\$" out &&
	expect_eq "$before" "$(fingerprint dst)" "DEST after -n" &&
	sh_run 0 prune --keep-last 2 dst &&
	expect_eq "363 364" "$(kept_days dst)" &&
	check_days dst 363 364 &&
	after=$(fingerprint dst) &&
	sh_run 0 prune --keep-last 2 dst &&
	grep -q "2 of 2 snapshots kept, 0 forgotten; 0 versions (0 bytes) removed" out &&
	expect_eq "$after" "$(fingerprint dst)" "DEST after a prune with nothing to do"
'

# gone (deleted by pass 180) is in none of the kept states: it goes too.
t 'a history without passes: each pass folder is a snapshot (the state before it)' '
	fake_year dst && rm dst/.shelter/passes &&
	sh_run 0 prune --keep-last 3 dst &&
	grep -q "3 of 364 snapshots kept, 361 forgotten" out &&
	expect_eq "20251229T020000.000000000Z 20251230T020000.000000000Z 20251231T020000.000000000Z" \
		"$(ls dst/.shelter/history | tr "\n" " " | sed "s/ \$//")" &&
	check_days dst 361 362 363 364
'

t 'bad arguments are usage errors (exit 1) and change nothing' '
	fake_year dst && before=$(fingerprint dst) &&
	sh_run 1 prune dst && grep -q "give at least one of --keep-last" err &&
	sh_run 1 prune --keep-last 0 dst && grep -q -- "--keep-last .0.: give a whole number from 1" err &&
	sh_run 1 prune --keep-daily x dst && grep -q -- "--keep-daily .x.: give a whole number" err &&
	sh_run 1 prune --keep-weekly -3 dst &&
	sh_run 1 prune --keep-within 3 dst && grep -q -- "--keep-within .3.: give a duration" err &&
	sh_run 1 prune --keep-within 3y dst && grep -q -- "--keep-within .3y." err &&
	sh_run 1 prune --keep-within 0d dst &&
	sh_run 1 prune --keep-last 1 dst dst && grep -q "prune needs one path: DEST" err &&
	sh_run 1 prune --keep-last 1 --timeout x host:/srv/dst && grep -q "timeout .x.: not a number" err &&
	sh_run 1 prune --bogus dst &&
	sh_run 3 prune --keep-last 1 nosuch && grep -q "DEST nosuch: No such file or directory" err &&
	mkdir src &&
	sh_run 1 sync --keep-last 1 src dst && grep -q "options of shelter backup and shelter prune, not of sync" err &&
	expect_eq "$before" "$(fingerprint dst)"
'

t 'a damaged history or a held lock: nothing is pruned (exit 11, exit 8)' '
	fake_year dst &&
	f=$(ls dst/.shelter/history | sed -n 5p) &&
	printf "changed\tf\tbad\n" >>"dst/.shelter/history/$f/index" &&
	: >dst/.shelter/lock && before=$(fingerprint dst) &&
	sh_run 11 prune --keep-last 1 dst &&
	grep -q "$f/index, line 3: malformed record" err && grep -q "nothing was pruned" err &&
	expect_eq "$before" "$(fingerprint dst)" &&
	sed -i "\$d" "dst/.shelter/history/$f/index" &&
	sed -i "1s/ 1\$/ 2/" dst/.shelter/passes && before=$(fingerprint dst) &&
	sh_run 11 prune --keep-last 1 dst && grep -q "passes: not a version 1 passes file; nothing was pruned" err &&
	expect_eq "$before" "$(fingerprint dst)" &&
	sed -i "1s/ 2\$/ 1/" dst/.shelter/passes &&
	( exec 9>dst/.shelter/lock && flock 9 &&
	  sh_run 8 prune --keep-last 1 dst && grep -q "another prune of this DEST is running" err ) &&
	sh_run 0 prune --keep-last 1 dst && expect_eq 364 "$(kept_days dst)"
'

t 'a prune interrupted after renaming a folder away is finished by the next' '
	fake_year dst &&
	f=$(ls dst/.shelter/history | sed -n 3p) &&
	mv "dst/.shelter/history/$f" "dst/.shelter/history/.prune-$f" &&
	sh_run 0 versions dst/daily && expect_eq 364 "$(wc -l <out)" "the renamed folder is out of sight" &&
	sh_run 0 prune --keep-last 5 dst &&
	[ ! -e "dst/.shelter/history/.prune-$f" ] && check_days dst 360 364
'

t 'a malformed line in passes is warned about, kept, and not a snapshot' '
	fake_year dst &&
	sed -i "3s/.*/garbage line/" dst/.shelter/passes &&
	sh_run 0 prune --keep-last 2 dst &&
	grep -q "passes, line 3: malformed (kept, not a snapshot)" err &&
	grep -q "2 of 364 snapshots kept, 362 forgotten" out &&
	expect_eq "garbage line" "$(sed -n 2p dst/.shelter/passes)" &&
	expect_eq 4 "$(wc -l <dst/.shelter/passes)" "header, the kept garbage, two passes" &&
	check_days dst 363 364
'

# Killed at any moment, prune leaves a history every reader takes and that
# restores every day the policy keeps; the next prune finishes the job.
t 'a prune killed at any moment: the kept days still restore; the next prune finishes' '
	fake_year dst &&
	for delay in 0.01 0.03 0.06 0.1 0.15; do
		timeout -s KILL $delay "$SHELTER" prune --keep-daily 7 --keep-weekly 4 --keep-monthly 12 dst >/dev/null 2>&1 || :
		sh_run 0 versions dst >/dev/null &&
		check_days dst 30 211 347 358 364 || return 1
	done &&
	sh_run 0 prune --keep-daily 7 --keep-weekly 4 --keep-monthly 12 dst &&
	expect_eq "$YEAR_KEPT" "$(kept_days dst)" &&
	expect_eq 20 "$(ls dst/.shelter/history | wc -l)" &&
	expect_eq "" "$(find dst/.shelter -name ".prune-*" -o -name "*.tmp")" "leftovers" &&
	check_days dst $YEAR_KEPT
'

# Real passes: SRC as each saw it is copied to snap.N; the snapshot's time
# is its passes line's end.
t 'backup --keep-last applies retention after each real pass; kept states restore exactly' '
	mkdir -p src/d && printf one >src/a && printf keep >src/d/k && printf x >src/x && chmod 0640 src/x &&
	for i in 1 2 3 4 5; do
		printf "a, pass %s" $i >src/a && touch -d "@$((1700000000 + i))" src/a &&
		case $i in 3) rm src/x ;; 4) mkdir src/new && printf n >src/new/f ;; 5) rm -r src/d ;; esac &&
		sh_run 0 backup --keep-last 3 src dst || return 1
		rm -rf snap.$i && cp -a src snap.$i || return 1
	done &&
	expect_eq 3 "$(tail -n +2 dst/.shelter/passes | wc -l)" "passes lines" &&
	grep -q "^prune $PWD/dst: 3 of 4 snapshots kept, 1 forgotten" out &&
	n=3 && tail -n +2 dst/.shelter/passes | while IFS="	" read -r pass end code; do
		expect_eq 0 "$code" && rm -rf r && "$SHELTER" restore --at "@$end" dst r 2>err &&
		check_same snap.$n r || return 1
		n=$((n + 1))
	done &&
	sh_run 0 versions dst/a && expect_eq 3 "$(wc -l <out)" "a: the versions of passes 3 and 4, and the current one" &&
	sh_run 0 backup -n --keep-last 1 src dst && grep -q "would forget" out &&
	expect_eq 3 "$(tail -n +2 dst/.shelter/passes | wc -l)" "a dry-run backup prunes nothing"
'

# --keep-daily 2 over three passes of one day keeps the newest (daily) and
# the oldest (a calendar rule short of days): the middle one goes, and with
# it the version only it saw, from the folder of pass 3, which keeps the
# other version it holds. Its emptied tree directories go too.
t 'real passes: a pass folder partly pruned, its emptied tree directories removed' '
	mkdir -p src/a/x src/c/y && printf f1 >src/a/x/f && printf b1 >src/c/y/b &&
	mkdir s && sh_run 0 backup src dst && cp -a src s/1 &&
	printf b2 >src/c/y/b && sh_run 0 backup src dst && cp -a src s/2 &&
	printf b3 >src/c/y/b && printf f3 >src/a/x/f && sh_run 0 backup src dst && cp -a src s/3 &&
	ends=$(tail -n +2 dst/.shelter/passes | cut -f2) &&
	if [ "$(date -u -d "@$(echo "$ends" | head -n 1)" +%F)" != "$(date -u -d "@$(echo "$ends" | tail -n 1)" +%F)" ]; then
		echo "# the passes straddle midnight; nothing to check"; exit 0
	fi &&
	p3=$(tail -n 1 dst/.shelter/passes | cut -f1) &&
	sh_run 0 prune -v --keep-daily 2 dst &&
	grep -q "(daily,newest)" out && grep -q "(oldest)" out &&
	grep -q "^remove $p3/c/y/b (changed, 2 bytes)\$" out &&
	expect_eq 1 "$(grep -c "^remove " out)" &&
	expect_eq "a" "$(ls "dst/.shelter/history/$p3/tree")" "the emptied c/y and c are gone" &&
	expect_eq f1 "$(cat "dst/.shelter/history/$p3/tree/a/x/f")" &&
	expect_eq 2 "$(wc -l <"dst/.shelter/history/$p3/index")" "header and the f record" &&
	n=0 && tail -n +2 dst/.shelter/passes | while IFS="	" read -r pass end code; do
		n=$((n + 1)); [ $n = 2 ] && n=3
		rm -rf r && "$SHELTER" restore --at "@$end" dst r 2>err && check_same s/$n r || return 1
	done
'

t 'a dry-run backup records no pass; --no-history still does' '
	mkdir src && printf a >src/a &&
	sh_run 0 backup -n src dst && [ ! -e dst ] &&
	sh_run 0 backup --no-history src dst &&
	expect_eq "shelter-passes 1" "$(head -n 1 dst/.shelter/passes)" &&
	tail -n +2 dst/.shelter/passes | grep -qE "^[0-9]{8}T[0-9]{6}\.[0-9]{9}Z	[0-9]+\.[0-9]{9}	0\$"
'

done_testing
