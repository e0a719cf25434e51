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


# ---- a server confined by authorized_keys: --restrict and --read-only ----------

# forced_host NAME "SERVER OPTIONS": a host alias NAME whose key may only run
# `shelter --server OPTIONS` (a command="..." line in authorized_keys, as the
# man page documents); prints the ssh command line for -e.
forced_host() {
	local d=$T_ROOT/sshd
	ssh-keygen -q -t ed25519 -N "" -f "$d/key_$1" &&
	printf "command=\"%s --server %s\",restrict %s\n" "$SHELTER" "$2" "$(cat "$d/key_$1.pub")" \
		>>"$d/authorized_keys" &&
	sed -e "s/^Host testhost/Host $1/" -e "s|IdentityFile .*|IdentityFile $d/key_$1|" \
		"$d/ssh_config" >"$d/ssh_config_$1" &&
	echo "ssh -F $d/ssh_config_$1"
}
AREA=$T_ROOT/area
mkdir -p "$AREA/backups" "$T_ROOT/outside"
RSSH=$(forced_host restricted "--restrict $AREA")
ROSSH=$(forced_host readonly "--restrict $AREA --read-only")

t '--restrict: the client'"'"'s path is taken inside DIR, absolute or not' '
	mkdir src && echo a >src/a &&
	sh_run 0 backup -e "$RSSH" src restricted:backups/one &&
	check_same src "$AREA/backups/one" &&
	sh_run 0 backup -e "$RSSH" src restricted:/backups/two/ &&
	check_same src "$AREA/backups/two" &&
	sh_run 0 backup -e "$RSSH" "restricted:/backups/one" back &&
	check_same src back
'

t '--restrict: ".." and a symlink out of DIR are refused (exit 3), nothing written outside' '
	mkdir src && echo a >src/a &&
	before=$(listing "$T_ROOT/outside") &&
	sh_run 3 backup -e "$RSSH" src "restricted:../outside/x" &&
	grep -q "restricted: DEST ../outside/x: not allowed on this server" err &&
	sh_run 3 backup -e "$RSSH" src "restricted:backups/../../outside" &&
	ln -sfn "$T_ROOT/outside" "$AREA/link" &&
	sh_run 3 backup -e "$RSSH" src "restricted:link/x" &&
	grep -q "restricted: DEST link/x: .*symlink" err &&
	sh_run 3 backup -e "$RSSH" src "restricted:link" &&
	sh_run 3 backup -e "$RSSH" "restricted:link" back &&
	[ ! -e back/.shelter ] &&
	expect_eq "$before" "$(listing "$T_ROOT/outside")" "the outside directory"
'

t '--restrict: the client cannot widen it with its own command line' '
	mkdir src && echo a >src/a &&
	sh_run 3 backup -e "$RSSH" --remote-cmd "$SHELTER --server --restrict /" src "restricted:../outside" &&
	[ ! -e "$T_ROOT/outside/a" ]
'

t '--read-only: a push is refused (exit 3) and writes nothing; a pull works' '
	mkdir src && echo a >src/a &&
	sh_run 0 backup -e "$RSSH" src restricted:backups/ro &&
	before=$(listing "$AREA") &&
	echo b >src/a &&
	sh_run 3 backup -e "$ROSSH" src readonly:backups/ro &&
	grep -q "readonly: DEST backups/ro: this server is read-only" err &&
	sh_run 3 backup -e "$ROSSH" src readonly:backups/new &&
	expect_eq "$before" "$(listing "$AREA")" "the restricted area" &&
	sh_run 0 backup -e "$ROSSH" readonly:backups/ro back &&
	[ "$(cat back/a)" = a ]
'

t '--restrict and --read-only are server options: a usage error on the client side' '
	sh_run 1 backup --restrict /tmp a b && grep -q -- "--restrict is an option of the server side" err &&
	sh_run 1 backup --read-only a b && grep -q -- "--read-only is an option of the server side" err &&
	sh_run 1 --server --restrict relative/dir </dev/null && grep -q "give an absolute directory" err
'

t '--restrict naming a missing directory: exit 3 and the fix' '
	BAD=$(forced_host badarea "--restrict $T_ROOT/no-such-area") &&
	mkdir src && sh_run 3 backup -e "$BAD" src badarea:x &&
	grep -q "badarea: the server.s --restrict directory $T_ROOT/no-such-area: No such file or directory (fix the command in authorized_keys)" err
'

# ---- --timeout: a peer that stops answering ends the pass -------------------------

t '--timeout: a remote command that never answers: exit 30 after about SECONDS' '
	mkdir src && echo a >src/a &&
	t0=$(date +%s) &&
	sh_run 30 backup --timeout 2 -e "sh -c '"'"'exec sleep 60'"'"' x" src "somehost:$PWD/dst" &&
	t1=$(date +%s) &&
	[ $((t1 - t0)) -lt 20 ] || fail "took $((t1 - t0)) s" &&
	grep -q "no data to or from the other side for 2 seconds; giving up (--timeout)" err
'

t '--timeout: a server that stops mid-pass: the client exits 30, no temporary file left' '
	mkdir src && head -c 3000000 /dev/urandom >src/big &&
	printf "#!/bin/sh\nshift\n\"\$@\" | { head -c 300000; exec sleep 30 </dev/null >/dev/null 2>&1; }\n" >stall &&
	chmod +x stall &&
	t0=$(date +%s) &&
	sh_run 30 backup --retries 0 --timeout 2 -e "$PWD/stall" --remote-cmd "$SHELTER" "host:$PWD/src" dst &&
	t1=$(date +%s) &&
	[ $((t1 - t0)) -lt 20 ] || fail "took $((t1 - t0)) s" &&
	grep -q "giving up (--timeout)" err &&
	[ ! -e dst/big ] && no_temp_files dst
'

t '--timeout: a server whose client goes silent ends by itself with 30' '
	mkdir dst &&
	python3 - "$SHELTER" "$PWD/dst" <<"PY"
import struct, subprocess, sys, time
def frame(t, p): return struct.pack(">BI", t, len(p)) + p
def s(b): return struct.pack(">I", len(b)) + b
hello = b"SHLT" + struct.pack(">HHQ", 2, 2, 0)
start = struct.pack(">BIBI", 2, 0, 1, 2) + s(sys.argv[2].encode()) + struct.pack(">I", 0)
p = subprocess.Popen([sys.argv[1], "--server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.stdin.write(frame(1, hello) + frame(2, start)); p.stdin.flush()
t0 = time.time()
try:
    rc = p.wait(timeout=20)
except subprocess.TimeoutExpired:
    p.kill(); sys.exit("server still running after 20 s")
out = p.stdout.read()
if rc != 30: sys.exit("server exited %d, expected 30" % rc)
if b"giving up (--timeout)" not in out: sys.exit("no timeout message in %r" % out[-300:])
print("server gave up after %.1f s" % (time.time() - t0))
PY
'

t '--timeout takes whole seconds from 0 to 604800' '
	mkdir src && echo a >src/a &&
	sh_run 1 backup --timeout abc src dst && grep -q -- "--timeout .abc.: not a number of seconds" err &&
	sh_run 1 backup --timeout -1 src dst &&
	sh_run 1 backup --timeout 604801 src dst &&
	sh_run 1 backup --timeout "" src dst &&
	[ ! -e dst ] &&
	sh_run 0 backup --timeout 0 src dst && check_same src dst &&
	sh_run 0 backup --timeout 604800 -e "$SSH" --remote-cmd "$SHELTER" src "testhost:$PWD/dst2" &&
	check_same src dst2
'

done_testing
