#!/bin/bash
# t2700-sync-hostile: hostile peers in a sync session (doc/sync.md "The
# sync session on the wire"), both ways.
#
# Part A: tests/e2e/hostile_sync.py plays a sync client (START role 3)
# against `shelter --server` and sends what an honest client never would:
# HASHREQ, RENAME and PLANENT paths out of the root or into .shelter, ids
# out of order, unknown values, REQs in phase 3 for paths the listing never
# holds. Each case checks the server's exit code and its error (an ERROR or
# MSG frame), and that nothing changed anywhere under case/ (ROOT, its
# .shelter, the outside world next to it), no .shelter-tmp-* left.
#
# Part B: hostile_sync.py --serve plays the server a `shelter sync` client
# runs through -e, and lies: in its listing (SENTRY), its HASH replies, its
# RENAMED answers, its phase 3 listing (entries the client did not plan:
# deletions, content, context, another op) and its DONE. Each case checks
# the client's exit code (12, or 10 for EOF), one "shelter: error: ..."
# line, the local ROOT1 unchanged (content, inode, mtime: a file moved to
# history and back would show), no temporary files, no state file written
# (so the next honest pass decides the same), and hostile_sync.py's own
# checks (hostile.log "FAIL:" lines).
#
# A test marked "BUG:" asserts the correct behaviour of something shelter
# gets wrong today (see the comment above it).
. "$(dirname "$0")/lib.sh"

HS="$TOP_SRCDIR/tests/e2e/hostile_sync.py"
PAYLOAD=HOSTILE-PAYLOAD	# what a lying server sends as file content (hostile_sync.PAYLOAD)

PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)}
if [ -z "$PYTHON" ]; then
	skip 'hostile sync peers' 'python3 not found'
	done_testing
	exit
fi

# die TEXT: fail, and end the test body here (a loop in an && list would
# otherwise go on, and its status be only the last iteration's).
die() {
	fail "$@"
	exit 1
}

# snap: every entry under case/ (ROOT and its .shelter included) with type,
# mode, size, mtime, inode, link target, and the content of every file.
snap() {
	(cd case && find . -printf '%p %y %m %s %T@ %i %l\n' | LC_ALL=C sort &&
	 find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

# still: nothing under case/ changed since setup, no temporary file.
still() {
	snap >after &&
	{ diff -u before after || fail "something under case/ changed"; } &&
	no_temp_files case
}

# ---- part A: a hostile client against shelter --server --------------------------

# setup_a: case/root (the server's ROOT: files, a directory, .shelter/k,
# symlinks to the outside, an excluded-to-be x.key) and case/outside.
setup_a() {
	mkdir -p case/root/dir case/root/.shelter case/outside/dir &&
	printf 'TOPSECRET-outside\n' >case/outside/secret &&
	printf 'TOPSECRET-outside\n' >case/secret &&
	printf 'do not touch\n' >case/outside/sentinel &&
	printf 0123456789 >case/root/f &&
	printf 'gee\n' >case/root/g &&
	printf 'key\n' >case/root/x.key &&
	printf 'k\n' >case/root/.shelter/k &&
	ln -s ../outside case/root/link &&
	ln -s "$PWD/case/outside" case/root/alink &&
	ln -s ../outside/secret case/root/slink &&
	snap >before
}

# batch LINE...: hostile_sync.py --batch, from inside case/: each LINE is
# "[CHECKS] CASE [ARGS]" (shell words) run against ROOT = case/root by a
# fresh `shelter --server`; after each, nothing under case/ (ROOT and its
# .shelter included) may have changed and no .shelter-tmp-* may be left.
# One interpreter for many runs keeps the test fast; ./out has a line per
# run and the transcript of a failed one.
batch() {
	(cd case && "$PYTHON" -S "$HS" --batch . --root "$PWD/root" "$@") >out 2>&1 ||
		{ cat out; return 1; }
}

R='--exit 12 --msg "protocol error"'	# refused: a protocol error, exit 12

t 'A control: the listing of a sync peer (.shelter left out), a HASH of a file in ROOT' '
	setup_a &&
	batch "--exit 0 listing-only f g dir link slink x.key" \
		"--exit 0 hashreq-inside $PWD/case/root/f f" &&
	! grep -q "SENTRY b.\.shelter" out || fail ".shelter listed" &&
	still
'

t 'A: HASHREQ with a path out of the root or into .shelter is a protocol error' '
	setup_a &&
	batch "$R hashreq-path ../x" "$R hashreq-path ../secret" "$R hashreq-path /etc/passwd" \
		"$R hashreq-path $PWD/case/secret" "$R hashreq-path dir/../../secret" \
		"$R hashreq-path .shelter" "$R hashreq-path .shelter/k" "$R hashreq-path a//b" \
		"$R hashreq-path f/" "$R hashreq-path ." "$R hashreq-path \"\"" && still
'

t 'A: HASHREQ through a symlink to the outside is never followed nor hashed' '
	setup_a &&
	batch "--exit 0 hashreq-outside $PWD/case/outside/secret link/secret alink/secret slink \
		link/dir link alink"
'

t 'A: HASHREQ ids out of order, repeated, a bad what, trailing bytes' '
	setup_a &&
	batch "$R hashreq-out-of-order" "$R hashreq-repeat-id" "$R hashreq-bad-what" \
		"$R hashreq-trailing"
'

t 'A: RENAME from or to a path out of the root or into .shelter, ids out of order' '
	setup_a &&
	batch "$R rename-bad ../secret stolen" "$R rename-bad f ../f" "$R rename-bad f /tmp/f" \
		"$R rename-bad f .shelter/x" "$R rename-bad .shelter/k k" "$R rename-bad .shelter x" \
		"$R rename-bad f .shelter" "$R rename-out-of-order"
'

t 'A: RENAME through a symlinked directory or onto an entry fails (status 1 or 2), changes nothing' '
	setup_a &&
	batch "--exit 0 rename-refused f link/f" "--exit 0 rename-refused f alink/f" \
		"--exit 0 rename-refused link/secret stolen" "--exit 0 rename-refused link/sentinel dir/x" \
		"--exit 0 rename-refused f g" "--exit 0 rename-refused f dir" \
		"--exit 0 rename-refused f link" "--exit 0 rename-refused g slink" \
		"--exit 0 rename-refused dir f" "--exit 0 rename-refused missing h" && still
'

t 'A: PHASE with an unknown value or a bad length' '
	setup_a &&
	batch "$R phase-bad 04" "$R phase-bad ff" "$R phase-bad 0000" "$R phase-bad \"\""
'

t 'A: PLANENT out of order, duplicate, bad op or type, .shelter, too long; PLAN_END miscounts' '
	setup_a &&
	batch "$R plan-bad out-of-order" "$R plan-bad duplicate" "$R plan-bad bad-op-0" \
		"$R plan-bad bad-op-4" "$R plan-bad bad-type" "$R plan-bad shelter" \
		"$R plan-bad shelter-dir" "$R plan-bad dotdot" "$R plan-bad too-long" \
		"$R plan-bad name-too-long" "$R plan-bad trailing" \
		"$R plan-end-count 0" "$R plan-end-count 2"
'

# The sender of phase 3 serves what a backup's sender would: a path under
# ROOT that it does not exclude, planned or not (the plan limits what it
# lists, not what it may read: the client could as well plan any such path).
t 'A: phase 3, a REQ for an existing path outside the plan is served (as in a backup)' '
	setup_a &&
	batch "--exit 0 phase3-req-served f g $PWD/case/root/g" && still
'

t 'A: phase 3, a REQ for an excluded path, .shelter, out of the root or through a symlink' '
	setup_a &&
	batch "$R --exclude *.key phase3-req-refused f x.key" \
		"$R --exclude dir phase3-req-refused f dir/x" \
		"$R phase3-req-refused f .shelter/k" "$R phase3-req-refused f ../secret" \
		"$R phase3-req-refused f /etc/passwd" \
		"--exit 24 --no-data TOPSECRET phase3-req-unreadable f slink link/secret alink/secret"
'

t 'A: START role 3 to a --read-only server is refused (exit 3)' '
	setup_a &&
	batch "--server-opt --read-only --exit 3 --msg read-only start-role3 0" \
		"--server-opt --read-only --exit 3 --msg read-only start-role3 16"
'

t 'A: START role 3 with --restrict takes the root inside the restricted directory' '
	setup_a &&
	(cd case && "$PYTHON" -S "$HS" --batch . \
		"--server-opt --restrict=$PWD --exit 0 start-role3 /root 0 f g x.key" \
		"--server-opt --restrict=$PWD/root --exit 3 start-role3 ../outside 0" \
		"--server-opt --restrict=$PWD/root --exit 3 start-role3 link 16" \
		"--server-opt --restrict=$PWD/root --exit 3 start-role3 link/dir 16" \
		"--server-opt --restrict=$PWD/root --exit 3 start-role3 alink 16") >out 2>&1 ||
		{ cat out; false; } &&
	(cd case && "$PYTHON" -S "$HS" --server-opt --restrict="$PWD/root" --exit 0 \
		start-role3 /new 16) >out 2>&1 || { cat out; false; } &&
	[ -d case/root/new ] && [ ! -e /new ] || fail "/new was not created inside --restrict"
'

# The sync peer applies START's exclude patterns to its listing, to REQ
# (refused as "never listed") and to every path the client names in
# HASHREQ, RENAME and PLANENT (it once checked only .shelter there: a client
# learned the hash, size and times of an excluded file, and the phase 3
# sender listed it; doc/protocol.md: "Excluded paths are neither listed").
t 'HASHREQ and PLANENT for an excluded path are refused like a REQ' '
	setup_a &&
	batch "$R --exclude *.key hashreq-path x.key" "$R --exclude *.key plan-bad-path x.key"
'

# ---- part B: a hostile server against shelter sync ---------------------------------

# setup_b: ROOT1 = case/root, as the honest server (hostile_sync.base_tree)
# also holds keep and dir/inner; zzz only here; the server adds new.txt.
setup_b() {
	mkdir -p case/root/dir case/outside &&
	printf 'keep me\n' >case/root/keep &&
	printf 'keep me\n' >case/root/dir/inner &&
	printf 'zzz\n' >case/root/zzz &&
	chmod 644 case/root/keep case/root/dir/inner case/root/zzz && chmod 755 case/root/dir &&
	printf 'TOPSECRET-%s\n' "$$" >case/outside/secret &&
	snap >before
}

show() {
	echo "--- stdout"; cat out
	echo "--- stderr"; cat err
	echo "--- hostile.log"; cat hostile.log
}

# client WANT CASE [ARGS...] [-- SYNC-OPTIONS...]: shelter sync root
# fakehost:/srv/root against hostile_sync.py --serve CASE, from inside
# case/, with ./state as the state file. Exit WANT within 30 s; stderr only
# "shelter: error/warning:" lines, one error line for 10 and 12; no FAIL in
# hostile.log.
client() {
	local want=$1 c=$2 got=0 cmd st="$PWD/state"
	shift 2
	cmd="$PYTHON -S '$HS' --serve --log '$PWD/hostile.log' --no-data TOPSECRET srv-$c"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		cmd="$cmd '$1'"
		shift
	done
	[ $# -gt 0 ] && shift
	: >hostile.log
	(cd case && HOSTILE_TIMEOUT=10 timeout 30 "$SHELTER" sync --retries 0 --state "$st" -e "$cmd" \
		--remote-cmd x "$@" root fakehost:/srv/root) >out 2>err || got=$?
	if [ "$got" != "$want" ]; then
		show; fail "the client exited $got, expected $want"
	elif grep -q "^FAIL" hostile.log; then
		show; fail "a check of hostile_sync.py failed"
	elif grep -qv "^shelter: \(error\|warning\): " err; then
		show; fail "the client stderr has lines other than errors and warnings"
	fi || return 1
	case $want in
	10 | 12)
		[ "$(grep -c "^shelter: error: " err)" = 1 ] ||
			{ show; fail "the client should report one error line"; }
	esac
}

says() {
	grep "^shelter: error: " err | grep -qF -- "$1" || { show; fail "no error mentions \"$1\""; }
}

# b_refused CASE [ARGS] [-- OPTIONS]: exit 12, "protocol error", nothing
# changed under case/, no state file, no hostile content anywhere.
b_refused() {
	client 12 "$@" && says "protocol error" && still &&
	{ [ ! -e state ] || fail "the state file was written"; } &&
	{ ! grep -rq -- "$PAYLOAD" case || fail "hostile content in case/"; }
}

t 'B control: an honest server, new.txt comes over, the state is written' '
	setup_b &&
	client 0 honest &&
	[ "$(cat case/root/new.txt)" = "new file" ] && [ -s state ] &&
	[ "$(cat case/root/keep)" = "keep me" ] && no_temp_files case
'

t 'B control: a conflict on keep renames it on the server (RENAME, RENAMED), exit 7' '
	setup_b &&
	client 7 honest-conflict &&
	grep -q "^< RENAME id=1 b.keep. -> b.keep.conflict-fakehost-" hostile.log || { show; false; }
'

t 'B: SENTRY out of order, duplicate, orphan, under a file, ../, absolute, .shelter, a shared start longer than the previous path' '
	setup_b &&
	for c in out-of-order duplicate orphan parent-is-file dotdot absolute shelter sync-flag \
		shared-long shared-first; do
		b_refused listing $c || die "listing $c"
	done
'

t 'B: SENTRY for a path the client excludes' '
	setup_b && b_refused listing excluded -- --exclude "*.key" && says "excluded"
'

t 'B: END_LIST that does not count the SENTRYs' '
	setup_b && b_refused listing-count 3 && b_refused listing-count 5 &&
	b_refused listing-count 0
'

t 'B: EOF in the listing: connection lost (10), nothing written' '
	setup_b && client 10 eof-in-listing && still && [ ! -e state ]
'

t 'B: HASH out of order, wrong id, bad status, type or mode, trailing or missing bytes' '
	setup_b &&
	b_refused hash-out-of-order && b_refused hash-extra &&
	for c in wrong-id bad-status bad-type missing-with-type bad-mode trailing short; do
		b_refused hash $c || die "hash $c"
	done
'

# Phase 3: the client receives the plan it sent (new.txt, content). A
# client that applied whatever the server listed would delete keep (to
# history), write PAYLOAD into keep or ghost.txt, create ghostdir, ...
t 'B: phase 3, an ENTRY deleting a path the client did not plan: refused, keep stays put' '
	setup_b &&
	for c in delete-unplanned delete-unplanned-after delete-unplanned-dir; do
		b_refused phase3 $c || die "phase3 $c"
		[ ! -e case/root/.shelter ] || die "$c: something went to history"
	done &&
	says "not in the plan"
'

t 'B: phase 3, content, metadata or a symlink for a path the client did not plan' '
	setup_b &&
	for c in content-unplanned content-unplanned-new meta-unplanned symlink-unplanned; do
		b_refused phase3 $c || die "phase3 $c"
	done &&
	[ ! -e case/root/ghost.txt ] && [ -f case/root/keep ] && [ ! -L case/root/keep ]
'

t 'B: phase 3, a context entry that is not above the next plan item' '
	setup_b &&
	b_refused phase3 context-stray && b_refused phase3 context-stray-after &&
	[ ! -e case/root/ghostdir ] && [ ! -e case/root/zzzdir ]
'

t 'B: phase 3, the planned item with another op, or twice' '
	setup_b &&
	b_refused phase3 op-delete && b_refused phase3 op-meta && b_refused phase3 twice
'

# Phase 2: the client's sender serves its plan to the server's receiver.
# Like a backup's sender it serves a REQ for any path under ROOT1 it does
# not exclude (the plan limits its listing, not its reads), and refuses one
# for an excluded path, .shelter, or out of the root; one through a symlink
# out of ROOT1 gets no data (hostile_sync.py --no-data TOPSECRET).
t 'B: phase 2 (the client sends), REQs outside the plan: served under ROOT1, refused beyond' '
	setup_b && printf "new file\n" >case/root/new.txt && chmod 644 case/root/new.txt &&
	printf "key\n" >case/root/x.key && mkdir case/root/.shelter &&
	printf "TOPSECRET-history\n" >case/root/.shelter/k && ln -s ../outside case/root/link &&
	snap >before &&
	b_refused phase2-req x.key -- --exclude "*.key" && says "never listed" &&
	b_refused phase2-req .shelter/k && says "never listed" &&
	b_refused phase2-req ../outside/secret &&
	client 24 phase2-req link/secret && ! grep -q "^< DATA" hostile.log &&
	rm -f state && client 0 phase2-req keep &&
	grep -q "^< DATA 8 bytes b.keep me" hostile.log || { show; false; }
'

t 'B: RENAMED with a wrong id, a bad status, trailing bytes, a huge reason' '
	setup_b &&
	for c in wrong-id bad-status trailing reason-huge; do
		b_refused renamed-bad $c || die "renamed $c"
	done
'

# RENAMED status 2 (the name is taken) makes the client try the next
# conflict name; a server that says so every time must not keep it going.
t 'B: RENAMED "name taken" every time: the client gives up (bounded), keep stays' '
	setup_b &&
	client 23 renamed-bad taken && says "no free name" &&
	n=$(grep -c "^< RENAME id=" hostile.log) && [ "$n" -ge 2 ] && [ "$n" -le 101 ] ||
		{ show; fail "$n RENAMEs"; } &&
	expect_eq "keep me" "$(cat case/root/keep)" && no_temp_files case
'

t 'B: DONE of phase 3 with an undefined exit code: 12, no state' '
	setup_b &&
	client 12 phase3-done-code 200 && says "protocol error" &&
	[ ! -e state ] || fail "the state file was written"
'

# The state is saved before PHASE 0 (src/sync.c run()): the pass's work is
# done and both sides agree, so the final DONE's code cannot unsay it. What
# must hold: exit 12 (never 200), and the state matches the trees (the next
# honest pass finds nothing to do).
t 'B: the final DONE with an undefined exit code: 12, and the state still matches' '
	setup_b &&
	client 12 done-code 200 && says "protocol error" &&
	[ "$(cat case/root/new.txt)" = "new file" ] &&
	snap >before &&
	client 0 honest && still
'
# setup_b2: setup_b with the server's times (hostile_sync's 1600000000),
# then one honest pass: a state, so that the next pass can plan metadata.
setup_b2() {
	setup_b && touch -d @1600000000 case/root/keep case/root/dir/inner case/root/zzz &&
	client 0 honest && [ -s state ] && cp state state.before && snap >before
}

t 'B control: the server changed the mode of keep only: metadata comes over, not content' '
	setup_b2 &&
	client 0 meta-swap keep f &&
	grep -q "^< PLANENT op=2 type=.f. b.keep.$" hostile.log || { show; false; } &&
	expect_eq 600 "$(stat -c %a case/root/keep)" && expect_eq "keep me" "$(cat case/root/keep)" &&
	[ ! -e case/root/.shelter ] && no_temp_files case
'

t 'B: second pass, phase 3, a deletion after the planned item: refused, zzz not even in history' '
	setup_b2 && ino=$(stat -c %i case/root/zzz) &&
	client 12 meta-then-delete && says "not in the plan" && says "zzz" &&
	[ "$(stat -c %i case/root/zzz)" = "$ino" ] && [ "$(cat case/root/zzz)" = zzz ] &&
	[ ! -e case/root/.shelter ] || fail "zzz was touched" &&
	no_temp_files case && { cmp -s state state.before || fail "the state changed"; }
'

# Asked for metadata only (PLANENT op 2, after the server changed nothing
# but a mode), a server answers with an ENTRY (flag 8) of another type.
# Before c63e47a the client's receiver checked only the op (src/receiver.c
# in_plan) and replaced its file keep by a symlink to /etc/passwd, or its
# whole directory dir by a file of the server's content (the old one moved
# to history), exit 0. doc/sync.md: "metadata only: the receiver sets mode
# and mtime, no content moves".
t 'B: phase 3, a metadata-only item answered with another type is refused, nothing replaced' '
	setup_b2 &&
	for c in "keep l /etc/passwd" "keep d" "dir f" "dir l /"; do
		set -- $c
		client 12 meta-swap "$@" && says "protocol error" && still &&
		cmp -s state state.before || die "meta-swap $c"
		[ -f case/root/keep ] && [ -d case/root/dir ] && [ ! -e case/root/.shelter ] ||
			die "meta-swap $c: ROOT1 was changed"
	done
'
done_testing
