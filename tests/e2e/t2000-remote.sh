#!/bin/bash
# t2000-remote.sh - push and pull backups through a real sshd on 127.0.0.1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

if ! sshd_start >"$T_ROOT/sshd-start.log" 2>&1; then
	skip 'remote backups' "no usable sshd: $(tail -1 "$T_ROOT/sshd-start.log")"
	done_testing
	exit
fi

# sh_remote EXPECTED_EXIT ARGS...: shelter with the test's ssh and binary.
sh_remote() {
	local want=$1
	shift
	sh_run "$want" -e "$SSH" --remote-cmd "$SHELTER" "$@"
}

# mixed_tree DIR: files of several sizes and modes, an empty dir, symlinks, odd names.
mixed_tree() {
	mkdir -p "$1/docs/empty" "$1/bin" &&
	echo "report" >"$1/docs/report.txt" &&
	: >"$1/docs/empty-file" &&
	printf 'x' >"$1/docs/name with spaces" &&
	printf 'y' >"$1/docs/$(printf 'new\nline')" &&
	printf 'z' >"$1/$(printf 'bad\377byte')" &&
	head -c 300000 /dev/urandom >"$1/bin/blob" &&
	chmod 0750 "$1/bin" && chmod 0600 "$1/docs/report.txt" &&
	ln -s ../docs/report.txt "$1/bin/link" &&
	ln -s /nonexistent "$1/dangling" &&
	touch -h -d @1600000000.123456789 "$1/bin/link" &&
	touch -d @1500000000.987654321 "$1/docs/report.txt" "$1/docs"
}

t 'push: DEST on the remote side mirrors SRC exactly, a second pass does nothing' '
	mixed_tree src &&
	sh_remote 0 backup src "testhost:$PWD/dst" &&
	check_same src dst &&
	sh_remote 0 backup -i src "testhost:$PWD/dst" &&
	[ ! -s out ] || fail "second pass itemized: $(cat out)"
'

t 'push: a changed file goes as a delta, the old version is kept remotely' '
	mkdir src && head -c 2000000 /dev/urandom >src/big && echo old >src/gone &&
	sh_remote 0 backup src "testhost:$PWD/dst" &&
	cp src/big old-big &&
	printf "EDIT" | dd of=src/big bs=1 seek=1000000 conv=notrunc status=none &&
	rm src/gone &&
	sh_remote 0 backup --stats src "testhost:$PWD/dst" &&
	check_same src dst &&
	matched=$(stat_num "Matched data") && [ "$matched" -gt 1900000 ] &&
	cmp old-big dst/.shelter/history/*/tree/big &&
	[ "$(cat dst/.shelter/history/*/tree/gone)" = old ]
'

t 'pull: the local DEST mirrors the remote SRC; deletions are kept in local history' '
	mixed_tree src &&
	sh_remote 0 backup "testhost:$PWD/src" dst &&
	check_same src dst &&
	echo changed >src/docs/report.txt && rm src/bin/blob &&
	sh_remote 0 backup -i "testhost:$PWD/src" dst &&
	check_same src dst &&
	grep -q "^\*deleting   bin/blob$" out &&
	[ -f dst/.shelter/history/*/tree/bin/blob ] &&
	[ "$(cat dst/.shelter/history/*/tree/docs/report.txt)" = report ]
'

t 'pull: a changed file goes as a delta' '
	mkdir src && head -c 2000000 /dev/urandom >src/big &&
	sh_remote 0 backup "testhost:$PWD/src" dst &&
	printf "EDIT" | dd of=src/big bs=1 seek=5 conv=notrunc status=none &&
	sh_remote 0 backup --stats "testhost:$PWD/src" dst &&
	cmp src/big dst/big &&
	[ "$(stat_num "Matched data")" -gt 1900000 ] &&
	[ "$(stat_num "Literal data")" -lt 100000 ]
'

t 'the remote side'"'"'s warnings are printed with its host name' '
	mkdir src && echo a >src/a && mkfifo src/fifo &&
	sh_remote 0 backup "testhost:$PWD/src" dst &&
	grep -q "^shelter: warning: testhost: skipping special file fifo$" err
'

t 'push with -n changes nothing on the remote side but itemizes' '
	mkdir src && echo a >src/a &&
	sh_remote 0 backup -n -i src "testhost:$PWD/dst" &&
	[ ! -e dst ] && grep -q "^>f+++++++++ a$" out
'

t 'push with --exclude: excluded paths are neither sent nor deleted' '
	mkdir -p src dst && echo a >src/a && echo o >src/x.o && echo keep >dst/y.o &&
	sh_remote 0 backup --exclude "*.o" src "testhost:$PWD/dst" &&
	[ ! -e dst/x.o ] && [ "$(cat dst/y.o)" = keep ] && [ "$(cat dst/a)" = a ]
'

t 'shelter missing on the remote side: exit 10 and a hint about --remote-cmd' '
	mkdir src &&
	sh_run 10 backup -e "$SSH" --remote-cmd /nonexistent/shelter src "testhost:$PWD/dst" &&
	grep -q "not installed on testhost" err && grep -q -- "--remote-cmd" err
'

t 'ssh cannot connect: exit 10, ssh'"'"'s own message shown' '
	mkdir src &&
	sh_run 10 backup -e "ssh -F /dev/null -o BatchMode=yes -p 1" src "127.0.0.1:$PWD/dst" &&
	grep -q "^ssh: connect to host 127.0.0.1 port 1" err &&
	grep -q "ssh could not connect to 127.0.0.1" err
'

t 'a missing remote SRC: exit 3, the message names the host and the path' '
	sh_remote 3 backup "testhost:$PWD/nope" dst &&
	grep -q "testhost: SRC $PWD/nope: No such file or directory" err &&
	[ ! -e dst/.shelter ]
'

t 'both SRC and DEST remote is a usage error (exit 1)' '
	sh_run 1 backup a:b c:d && grep -q "one side must be local" err
'

t 'an -e command with an unbalanced quote: exit 10, a clear error' '
	mkdir src && sh_run 10 backup -e "ssh '"'"'oops" src "testhost:$PWD/dst" &&
	grep -q "unbalanced quote" err
'

t '--rsh (long form) and an ssh option on the -e line work' '
	mkdir src && echo a >src/a &&
	sh_run 0 backup --rsh "$SSH -o Compression=no" --remote-cmd "$SHELTER" src "testhost:$PWD/dst" &&
	check_same src dst
'

t './a:b and dir/a:b are local paths, not hosts' '
	mkdir -p src "a:b" && echo a >src/f &&
	sh_run 0 backup src ./a:b && [ -f "a:b/f" ] &&
	mkdir d && sh_run 0 backup src d/x:y && [ -f "d/x:y/f" ]
'

done_testing
