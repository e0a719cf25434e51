#!/bin/bash
# t1200-delta: changed files travel as librsync deltas; -c; new files whole.
#
# Test bodies are &&-chained (as in git's test suite), so that a failing
# step fails the test whatever the harness does with `set -e`.
. "$(dirname "$0")/lib.sh"

# expect_ge A B WHAT / expect_le A B WHAT: numeric comparisons with a message
expect_ge() { [ "$1" -ge "$2" ] || fail "$3: $1 < $2"; }
expect_le() { [ "$1" -le "$2" ] || fail "$3: $1 > $2"; }

# poke FILE OFFSET BYTES: overwrite BYTES random bytes at OFFSET, in place
poke() {
	head -c "$3" /dev/urandom | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

MiB4=4194304

# big_pass: src/big (4 MiB random) mirrored into dst; keeps a copy in ./orig
big_pass() {
	mkdir -p src &&
	head -c $MiB4 /dev/urandom >src/big &&
	cp -p src/big orig &&
	sh_run 0 backup src dst &&
	cmp src/big dst/big
}

# delta_ok SIZE: the --stats in ./out show a delta that reused > 90% of the
# new SIZE and sent at most 5% of it as literal data; the file was sent.
# (STAT_TO_DEST: the client's bytes sent, or received in a pull; lib.sh)
delta_ok() {
	local matched literal sent
	matched=$(stat_num "Matched data") &&
	literal=$(stat_num "Literal data") &&
	sent=$(stat_num "$STAT_TO_DEST") &&
	expect_eq 1 "$(stat_num "Number of regular files transferred")" "files transferred" &&
	expect_ge "$matched" $(($1 * 9 / 10)) "Matched data vs 90% of $1" &&
	expect_le "$literal" $(($1 / 20)) "Literal data vs 5% of $1" &&
	expect_le "$sent" $(($1 / 10)) "$STAT_TO_DEST vs 10% of $1" &&
	expect_eq "$1" $((matched + literal)) "Matched + Literal = new size"
}

t 'a 4 MiB file changed in a few places travels as a small delta' '
	big_pass &&
	poke src/big 100 50 && poke src/big 2000000 10 && poke src/big 4000000 200 &&
	sh_run 0 backup --stats src dst &&
	cmp src/big dst/big &&
	delta_ok $MiB4 &&
	check_same src dst &&
	no_temp_files dst
'

t 'appending to a 4 MiB file: delta, content exact' '
	big_pass &&
	head -c 100000 /dev/urandom >>src/big &&
	sh_run 0 backup --stats src dst &&
	cmp src/big dst/big &&
	delta_ok $((MiB4 + 100000)) &&
	check_same src dst
'

t 'truncating a 4 MiB file to 3 MiB: delta, content exact' '
	big_pass &&
	truncate -s 3145728 src/big &&
	sh_run 0 backup --stats src dst &&
	cmp src/big dst/big &&
	delta_ok 3145728 &&
	check_same src dst
'

t 'inserting 1000 bytes in the middle of a 4 MiB file: delta, content exact' '
	big_pass &&
	{ head -c 2000000 orig && head -c 1000 /dev/urandom && tail -c +2000001 orig; } >src/big &&
	[ "$(stat -c %s src/big)" -eq $((MiB4 + 1000)) ] &&
	sh_run 0 backup --stats src dst &&
	cmp src/big dst/big &&
	delta_ok $((MiB4 + 1000)) &&
	check_same src dst
'

t 'deleting 1000 bytes in the middle of a 4 MiB file: delta, content exact' '
	big_pass &&
	{ head -c 2000000 orig && tail -c +2001001 orig; } >src/big &&
	sh_run 0 backup --stats src dst &&
	cmp src/big dst/big &&
	delta_ok $((MiB4 - 1000)) &&
	check_same src dst
'

t 'a new file is sent whole (Matched data: 0)' '
	big_pass &&
	head -c 1048576 /dev/urandom >src/new &&
	sh_run 0 backup --stats src dst &&
	cmp src/new dst/new &&
	expect_eq 0 "$(stat_num "Matched data")" "Matched data" &&
	expect_eq 1048576 "$(stat_num "Literal data")" "Literal data" &&
	expect_eq 1 "$(stat_num "Number of regular files transferred")" &&
	expect_eq 1048576 "$(stat_num "Total transferred file size")" &&
	expect_ge "$(stat_num "$STAT_TO_DEST")" 1048576 "$STAT_TO_DEST" &&
	check_same src dst
'

t 'a file whose content was replaced wholesale is still exact' '
	big_pass &&
	head -c 3000000 /dev/urandom >src/big &&
	sh_run 0 backup --stats src dst &&
	cmp src/big dst/big &&
	expect_eq 3000000 $(( $(stat_num "Matched data") + $(stat_num "Literal data") )) "Matched + Literal" &&
	check_same src dst
'

t 'an empty file grows, a full file empties, all 256 byte values kept' '
	mkdir src &&
	: >src/grows && head -c 70000 /dev/urandom >src/empties &&
	sh_run 0 backup src dst &&
	python3 -c "import sys; sys.stdout.buffer.write(bytes(range(256)) * 300)" >src/grows &&
	expect_eq 76800 "$(stat -c %s src/grows)" &&
	: >src/empties &&
	sh_run 0 backup src dst &&
	cmp src/grows dst/grows &&
	[ ! -s dst/empties ] &&
	check_same src dst
'

t '-c detects a same-size, same-mtime change that a plain pass misses' '
	big_pass &&
	touch -r src/big ref &&
	poke src/big 1234567 16 &&
	touch -r ref src/big &&
	! cmp -s src/big orig &&
	expect_eq "$(stat -c "%s %.9Y" orig)" "$(stat -c "%s %.9Y" src/big)" "size and mtime restored" &&
	sh_run 0 backup -i src dst &&
	expect_eq "" "$(cat out)" "-i of the plain pass" &&
	cmp orig dst/big &&
	sh_run 0 backup -c -i --stats src dst &&
	cmp src/big dst/big &&
	grep -qx ">fc........ big" out &&
	expect_eq 1 "$(stat_num "Number of regular files transferred")" &&
	expect_ge "$(stat_num "Matched data")" $((MiB4 * 9 / 10)) "Matched data of the -c pass" &&
	check_same src dst
'

t '--checksum (long form) over an unchanged tree transfers nothing' '
	big_pass &&
	printf small >src/small &&
	sh_run 0 backup src dst &&
	sh_run 0 backup --checksum -i --stats src dst &&
	expect_eq "" "$(grep -v "^[A-Z]" out || :)" "-i lines" &&
	expect_eq 0 "$(stat_num "Number of regular files transferred")" &&
	expect_eq 0 "$(stat_num "Literal data")"
'

t 'many small changed files are all exact' '
	mkdir src &&
	for i in $(seq 50); do head -c $((i * 997)) /dev/urandom >src/f$i || return 1; done &&
	sh_run 0 backup src dst &&
	for i in $(seq 50); do poke src/f$i $((i * 13)) 7 || return 1; done &&
	touch -d @1600000000 src/f* &&
	sh_run 0 backup --stats src dst &&
	expect_eq 50 "$(stat_num "Number of regular files transferred")" &&
	check_same src dst &&
	no_temp_files dst
'

done_testing
