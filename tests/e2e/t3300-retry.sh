#!/bin/bash
# t3300-retry: a connection cut in the middle of a pass, through the real
# sshd, is retried (--retries, --retry-wait); files finished before the cut
# are not sent again, and the file that was cut resumes from what arrived
# (DEST/.shelter/partial/ as the delta basis), as --stats shows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

if ! sshd_start >"$T_ROOT/sshd-start.log" 2>&1; then
	skip 'retries' "no usable sshd: $(tail -1 "$T_ROOT/sshd-start.log")"
	done_testing
	exit
fi

MiB=1048576
BIG=$((48 * MiB))
CUT=$((20 * MiB))

# cutter DIRECTION: an -e command for this test's ssh that, the first time it
# runs, lets only CUT bytes through towards the receiver (push: what the
# client writes; pull: what the server writes), then ends; later runs pass
# everything. ./runs counts the connections. (A relay in Python, not head:
# ssh makes the descriptors it shares non-blocking, and head -c buffers.)
cutter() {
	cat >cut.py <<"EOF"
import errno, os, select, subprocess, sys
n, way, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
p = subprocess.Popen(cmd, stdin=subprocess.PIPE if way == "push" else 0,
                     stdout=subprocess.PIPE if way == "pull" else 1)
src = 0 if way == "push" else p.stdout.fileno()
dst = p.stdin.fileno() if way == "push" else 1
left = n
while left > 0:
    select.select([src], [], [])
    try:
        data = os.read(src, min(left, 65536))
    except OSError as e:
        if e.errno == errno.EAGAIN:
            continue
        raise
    if not data:
        break
    while data:
        select.select([], [dst], [])
        try:
            k = os.write(dst, data)
        except OSError as e:
            if e.errno == errno.EAGAIN:
                continue
            raise
        data = data[k:]
        left -= k
os.close(dst if way == "push" else src)
if way == "pull":
    p.kill()
p.wait()
sys.exit(255)
EOF
	cat >cut <<EOF
#!/bin/bash
echo x >>"$PWD/runs"
if [ "\$(wc -l <"$PWD/runs")" = 1 ]; then
	exec /usr/bin/python3 "$PWD/cut.py" $CUT $1 $SSH "\$@"
fi
exec $SSH "\$@"
EOF
	chmod +x cut
}

# tree: a00..a19 (before big in listing order), big (48 MiB), c00..c09 after
tree() {
	mkdir -p src &&
	for i in 00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19; do
		echo "a$i" >src/a$i
	done &&
	head -c $BIG /dev/urandom >src/big &&
	for i in 00 01 02 03 04 05 06 07 08 09; do echo "c$i" >src/c$i; done
}

# last NAME: the number on NAME's line in the last --stats block of ./out
last() {
	sed -n "s/^$1: \\([0-9][0-9]*\\)\\( .*\\)\\{0,1\\}\$/\\1/p" out | tail -n 1
}

expect_ge() { [ "$1" -ge "$2" ] || fail "$3: $1 < $2"; }
expect_le() { [ "$1" -le "$2" ] || fail "$3: $1 > $2"; }

# resumed TO-DEST-LINE: the retry's --stats: big and the c files went, big
# resumed from at least 10 MiB that had arrived, and the bytes towards DEST
# were at most what was left plus 1 MiB.
resumed() {
	local matched literal sent
	matched=$(last "Matched data") && literal=$(last "Literal data") &&
	sent=$(last "$1") &&
	expect_eq 11 "$(last "Number of regular files transferred")" "files sent by the retry" &&
	expect_eq $((BIG + 40)) $((matched + literal)) "matched + literal of the retry (big and ten 4-byte c files)" &&
	expect_ge "$matched" $((10 * MiB)) "bytes of big reused from the partial file" &&
	expect_le "$sent" $((BIG - matched + MiB)) "$1 of the retry"
}

t 'push: a connection cut mid-file is retried; the retry sends only the rest' '
	tree && cutter push &&
	sh_run 0 backup --stats --retry-wait 1 -e "$PWD/cut" --remote-cmd "$SHELTER" src "testhost:$PWD/dst" &&
	expect_eq 2 "$(wc -l <runs)" "connections" &&
	grep -q "retrying in 1 s (retry 1 of 2)" err &&
	resumed "Total bytes sent" &&
	check_same src dst &&
	[ ! -e dst/.shelter/partial ] && no_temp_files dst
'

t 'pull: a connection cut mid-file is retried; the retry sends only the rest' '
	tree && cutter pull &&
	sh_run 0 backup --stats --retry-wait 1 -e "$PWD/cut" --remote-cmd "$SHELTER" "testhost:$PWD/src" dst &&
	expect_eq 2 "$(wc -l <runs)" "connections" &&
	grep -q "retrying in 1 s (retry 1 of 2)" err &&
	resumed "Total bytes received" &&
	check_same src dst &&
	[ ! -e dst/.shelter/partial ] && no_temp_files dst
'

t '--retries 0: the cut pass fails with 10; the partial file waits for the next run' '
	tree && cutter push &&
	sh_run 10 backup --retries 0 -e "$PWD/cut" --remote-cmd "$SHELTER" src "testhost:$PWD/dst" &&
	expect_eq 1 "$(wc -l <runs)" "connections" &&
	! grep -q retrying err &&
	[ ! -e dst/big ] && cmp src/a19 dst/a19 &&
	expect_eq 1 "$(find dst/.shelter/partial -type f | wc -l)" "partial files" &&
	no_temp_files dst &&
	sh_run 0 backup --stats -e "$PWD/cut" --remote-cmd "$SHELTER" src "testhost:$PWD/dst" &&
	resumed "Total bytes sent" &&
	check_same src dst && [ ! -e dst/.shelter/partial ]
'

t 'a server that cannot be reached is not retried' '
	mkdir src && echo a >src/a &&
	t0=$(date +%s) &&
	sh_run 10 backup --retry-wait 30 -e "ssh -F /dev/null -o BatchMode=yes -p 1" src "127.0.0.1:$PWD/dst" &&
	t1=$(date +%s) &&
	[ $((t1 - t0)) -lt 20 ] || fail "took $((t1 - t0)) s" &&
	! grep -q retrying err
'

t 'sync: a connection cut mid-file is retried and the pair ends in step' '
	tree && mv src a && mkdir b && cutter push &&
	sh_run 0 sync --state st --retry-wait 1 -e "$PWD/cut" --remote-cmd "$SHELTER" a "testhost:$PWD/b" &&
	expect_eq 2 "$(wc -l <runs)" "connections" &&
	grep -q "retrying in 1 s (retry 1 of 2)" err &&
	check_same a b && no_temp_files b
'

t '--retries and --retry-wait: bad values are usage errors' '
	mkdir src &&
	sh_run 1 backup --retries 101 src dst && grep -q "retries .101.: not a number up to 100" err &&
	sh_run 1 backup --retry-wait x src dst && grep -q "retry-wait .x.: not a number of seconds" err &&
	sh_run 1 sync --retries -1 src dst && [ ! -e dst ]
'

done_testing
