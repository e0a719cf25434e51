#!/bin/bash
# t3200-changing: a file written to while it is read (a database, a log) is
# read again, up to four reads in all; one that keeps changing is reported
# with exit 26 and never lands as a copy: DEST keeps its previous version,
# the history gains nothing, the next pass copies it once it is still.
. "$(dirname "$0")/lib.sh"

MiB32=33554432

# scribble FILE: keep overwriting one byte of FILE at a random offset, in
# the background, until stop_scribble (or the end of the test body).
# Returns once FILE has changed.
scribble() {
	local before i=0
	before=$(stat -c %y "$1")
	(while :; do
		printf x | dd of="$1" bs=1 seek=$((RANDOM * 1000)) conv=notrunc status=none
	done) >/dev/null 2>&1 &
	SCRIBBLER=$!
	trap 'kill $SCRIBBLER 2>/dev/null || true' EXIT
	while [ "$(stat -c %y "$1")" = "$before" ]; do
		i=$((i + 1))
		[ $i -lt 500 ] || fail "the writer did not start" || return 1
		sleep 0.01
	done
}
stop_scribble() {
	kill "$SCRIBBLER" && { wait "$SCRIBBLER" || true; }
}

# after_first_read FILE: once FILE is first read, overwrite 5 bytes of it,
# once. Returns when the watch is set up.
after_first_read() {
	(inotifywait -e access "$1" 2>watch.log >/dev/null &&
		printf CHANGED | dd of="$1" bs=1 seek=1000 conv=notrunc status=none &&
		touch changed.done) >/dev/null 2>&1 &
	local i=0
	until grep -q "Watches established" watch.log 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 500 ] || fail "inotifywait did not start" || return 1
		sleep 0.01
	done
}

t 'a file that keeps changing: exit 26, the previous version stays, nothing kept' '
	mkdir src &&
	head -c $MiB32 /dev/urandom >src/live &&
	echo one >src/other &&
	sh_run 0 backup src dst &&
	cp -p dst/live orig &&
	echo two >src/other &&
	scribble src/live &&
	sh_run 26 backup src dst &&
	stop_scribble &&
	grep -q "live kept changing while it was read (4 reads); the previous version stays" err &&
	cmp orig dst/live &&
	expect_eq "$(stat -c %Y.%s orig)" "$(stat -c %Y.%s dst/live)" "mtime and size of the kept copy" &&
	expect_eq two "$(cat dst/other)" "the rest of the pass" &&
	! grep -q "	live$" dst/.shelter/history/*/index &&
	no_temp_files dst &&
	sh_run 0 backup src dst &&
	check_same src dst &&
	grep -q "	live$" dst/.shelter/history/*/index
'

t 'a file that keeps changing on its first copy: not in DEST at all' '
	mkdir src &&
	head -c $MiB32 /dev/urandom >src/live &&
	scribble src/live &&
	sh_run 26 backup src dst &&
	stop_scribble &&
	[ ! -e dst/live ] &&
	no_temp_files dst &&
	sh_run 0 backup src dst &&
	check_same src dst
'

t 'a file changed during its first read only is read again and copied (exit 0)' '
	mkdir src &&
	head -c $MiB32 /dev/urandom >src/live &&
	after_first_read src/live &&
	sh_run 0 backup -vv src dst &&
	[ -e changed.done ] &&
	grep -q "live changed while it was read; reading it again" out &&
	check_same src dst &&
	no_temp_files dst
'

t 'sync: a file that keeps changing is not recorded; the next pass brings it' '
	mkdir a b &&
	head -c $MiB32 /dev/urandom >a/live &&
	echo x >b/y &&
	scribble a/live &&
	sh_run 26 sync --state=st a b &&
	stop_scribble &&
	grep -q "live kept changing while it was read" err &&
	[ ! -e b/live ] && [ -e a/y ] &&
	no_temp_files b &&
	sh_run 0 sync --state=st a b &&
	cmp a/live b/live
'

done_testing
