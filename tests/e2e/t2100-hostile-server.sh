#!/bin/bash
# t2100-hostile-server: a hostile server against the client.
#
# tests/e2e/hostile.py --serve stands in for the remote shelter: the client
# runs it as its -e command (`-e "python3 hostile.py --serve CASE ..."
# --remote-cmd x`, so it gets "fakehost x --server" as its last arguments)
# and it speaks the protocol on its stdin and stdout. In a pull it is the
# sender and lies in its listing and its file data (the client's receiver
# writes into case/dest); in a push it is the receiver and asks for what it
# should not have (the client's sender reads case/src).
#
# Each test checks the client's exit code (src/exitcode.h, man/shelter.1:
# 12 for malformed peer data), that its stderr holds the error as
# "shelter: error: ..." lines and nothing else, that nothing outside DEST
# changed (case/outside and everything else are snapshotted), that no
# .shelter-tmp-* file is left anywhere, and that no DATA frame hostile.py
# received carries TOPSECRET (a file next to SRC, reached only by escaping
# it). hostile.py writes its transcript to ./hostile.log, with "FAIL:" lines
# when one of its own checks failed.
#
# The comment above each group names the rsync CVE class it covers (see
# the "Hostile-peer test matrix" at the end of doc/protocol.md).
. "$(dirname "$0")/lib.sh"

HOSTILE="$TOP_SRCDIR/tests/e2e/hostile.py"
PAYLOAD=0123456789	# what hostile.py sends as file content

# The interpreter itself, resolved once (a pyenv shim costs most of a second a run).
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)}
if [ -z "$PYTHON" ]; then
	skip 'hostile servers' 'python3 not found'
	done_testing
	exit
fi

. "$(dirname "$0")/hostile-lib.sh"

# dest_empty: DEST has no entries (its .shelter aside).
dest_empty() {
	local e
	e=$(cd case/dest && find . -path ./.shelter -prune -o -mindepth 1 -printf '%P\n')
	[ -z "$e" ] || fail "DEST should be empty but has: $e"
}

# client WANT MODE CASE [ARGS...] [-- SHELTER-OPTIONS...]: run the client
# against hostile.py serving CASE, from inside case/. MODE is pull
# (fakehost:/srv/root -> dest) or push (src -> fakehost:/srv/root), or
# restore-pull (restore --in-place fakehost:/srv/root dest) or restore-push
# (restore src fakehost:/srv/root: src as a DEST without history). The
# client must exit WANT within 30 s; its output goes to ./out and ./err,
# the transcript to ./hostile.log. hostile.py's own checks must hold, and
# the client's stderr must be nothing but "shelter: error/warning:" lines.
client() {
	local want=$1 mode=$2 c=$3 got=0 cmd
	shift 3
	cmd="$PYTHON '$HOSTILE' --serve --log '$PWD/hostile.log' --no-data TOPSECRET $c"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		cmd="$cmd '$1'"
		shift
	done
	[ $# -gt 0 ] && shift
	: >hostile.log
	if [ "$mode" = restore-pull ]; then
		(cd case && HOSTILE_TIMEOUT=10 timeout 30 "$SHELTER" restore --in-place -e "$cmd" \
			--remote-cmd x "$@" fakehost:/srv/root dest) >out 2>err || got=$?
	elif [ "$mode" = restore-push ]; then
		(cd case && HOSTILE_TIMEOUT=10 timeout 30 "$SHELTER" restore -e "$cmd" --remote-cmd x \
			"$@" src fakehost:/srv/root) >out 2>err || got=$?
	elif [ "$mode" = pull ]; then
		(cd case && HOSTILE_TIMEOUT=10 timeout 30 "$SHELTER" backup --retries 0 -e "$cmd" --remote-cmd x \
			"$@" fakehost:/srv/root dest) >out 2>err || got=$?
	else
		(cd case && HOSTILE_TIMEOUT=10 timeout 30 "$SHELTER" backup --retries 0 -e "$cmd" --remote-cmd x \
			"$@" src fakehost:/srv/root) >out 2>err || got=$?
	fi
	if [ "$got" = 124 ]; then
		show; fail "the client did not end within 30 s"
	elif [ "$got" != "$want" ]; then
		show; fail "the client exited $got, expected $want$([ "$got" -le 128 ] ||
			echo " (or was killed by signal $((got - 128)))")"
	elif grep -q '^FAIL' hostile.log; then
		show; fail "a check of hostile.py failed"
	elif grep -qv '^shelter: \(error\|warning\): ' err; then
		show; fail "the client's stderr has lines other than errors and warnings"
	fi || return 1
	case $want in
	2 | 3 | 10 | 12 | 30)
		# An error that ends the pass is one line (per-file errors, 23, may be several).
		[ "$(grep -c '^shelter: error: ' err)" = 1 ] ||
			{ show; fail "the client should report one error line"; }
	esac
}

show() {
	echo "--- stdout"; cat out
	echo "--- stderr"; cat err
	echo "--- hostile.log"; cat hostile.log
}

# says TEXT...: each TEXT is on an error line of the client's stderr.
says() {
	local m
	for m in "$@"; do
		grep '^shelter: error: ' err | grep -qF -- "$m" || { show; fail "no error mentions \"$m\""; }
	done
}

# clean: nothing outside DEST changed, no temporary file anywhere under case/.
clean() {
	untouched && no_temp_files case
}

# refused CASE [ARGS]: a pull whose CASE is a protocol error: exit 12,
# "protocol error" on stderr, none of the hostile content in DEST, nothing
# written elsewhere. (Entries listed before the bad one may be created.)
refused() {
	client 12 pull "$@" && says "protocol error" && clean && dest_lacks_payload
}

# served_refused CASE [ARGS] [-- OPTIONS]: a push whose CASE is a protocol error.
served_refused() {
	client 12 push "$@" && says "protocol error" && clean
}

# never_sig: the client sent no signature (no REQ with has_sig, no SIG frame).
never_sig() {
	! grep -q '^< REQ .* sig=1\|^< SIG ' hostile.log || { show; fail "a signature was sent"; }
}

# ---- the harness itself --------------------------------------------------------------

t 'control: pull from a well-formed hostile.py writes DEST/file' '
	setup &&
	client 0 pull good-file "$PAYLOAD" &&
	[ "$(cat case/dest/file)" = "$PAYLOAD" ] && clean
'

t 'control: push to hostile.py sends SRC/file, and only it' '
	setup &&
	client 0 push req-paths file &&
	grep -q "^< DATA 10 bytes b.$PAYLOAD" hostile.log || { show; false; }
'

t 'control: hostile.py reports a START with the wrong role' '
	setup &&
	client 10 push good-file || true &&
	grep -q "^FAIL: the client.s START asks for role 2" hostile.log || { show; false; }
'

# ---- pull: listing paths (CVE-2024-12087: paths that leave DEST) -----------------------

t 'pull: ENTRY "../escape" is a protocol error'          'setup && refused path-dotdot && says "path component \"..\"" && dest_empty'
t 'pull: ENTRY "/abs" is a protocol error'               'setup && refused path-abs && says "absolute path" && dest_empty'
t 'pull: ENTRY "a/../../x" is a protocol error'          'setup && refused path-dotdot-inner && dest_empty'
t 'pull: ENTRY "a//b" (empty component) is a protocol error' 'setup && refused path-double-slash && says "empty path component" && dest_empty'
t 'pull: ENTRY "a/./b" is a protocol error'              'setup && refused path-dot && dest_empty'
t 'pull: ENTRY "a/" is a protocol error'                 'setup && refused path-trailing-slash && dest_empty'
t 'pull: ENTRY with an empty path is a protocol error'   'setup && refused path-empty && dest_empty'
t 'pull: ENTRY with a NUL byte is a protocol error'      'setup && refused path-nul && says "NUL byte" && dest_empty'
t 'pull: ENTRY with a 256-byte component is a protocol error' 'setup && refused path-long-name && dest_empty'
t 'pull: ENTRY of more than 4095 bytes is a protocol error'   'setup && refused path-too-long && dest_empty'
t 'pull: ENTRY ".shelter" is a protocol error'           'setup && refused path-shelter && dest_empty'

# ---- pull: listing order (CVE-2024-12087: duplicate, out-of-order, orphan entries) ------

t 'pull: a duplicate file entry is a protocol error'     'setup && refused duplicate-entry && says "is not after"'
t 'pull: a duplicate directory entry is a protocol error' 'setup && refused duplicate-dir'
t 'pull: a directory listed again after its contents is a protocol error' 'setup && refused dir-after-contents'
t 'pull: out-of-order entries are a protocol error'      'setup && refused out-of-order && dest_empty'
t 'pull: "a-b" before "a/z" is a protocol error'         'setup && refused out-of-order-subtree'
t 'pull: an entry whose parent was not listed is a protocol error' 'setup && refused orphan && says "no directory entry before it" && dest_empty'
t 'pull: an entry below a regular file is a protocol error' 'setup && refused parent-is-file'
t 'pull: a directory and a file below a regular file are a protocol error' 'setup && refused sibling-under-file'
t 'pull: ENTRY after END_LIST is a protocol error'       'setup && refused entry-after-end'
t 'pull: a second END_LIST is a protocol error'          'setup && refused end-list-twice'
t 'pull: END_LIST counting fewer entries than sent is a protocol error' 'setup && refused end-list-count-low'
t 'pull: END_LIST counting 2^63 entries is a protocol error' 'setup && refused end-list-count-high'
t 'pull: END_LIST with root mode bits beyond 07777 is a protocol error' 'setup && refused end-list-bad-mode'

# ---- pull: symlinks (CVE-2024-12088: absolute and climbing targets; CVE-2024-12087) ----

t 'pull: entries and data below a listed symlink to an absolute outside path are refused' '
	setup && refused through-symlink "$PWD/case/outside" &&
	[ ! -e case/outside/x ] && { [ ! -e case/dest/link ] || [ -L case/dest/link ]; }
'
t 'pull: entries below a listed symlink "../../outside" are refused' '
	setup && refused through-symlink ../../outside && [ ! -e case/outside/x ]
'
t 'pull: a directory and a file below a listed symlink are refused' '
	setup && refused symlink-then-dir "$PWD/case/outside" && [ ! -e case/outside/d ]
'
t 'pull: symlinks with absolute targets are created verbatim, never followed' '
	setup &&
	client 0 pull good-tree "$PWD/case/outside" &&
	[ "$(readlink case/dest/d/link)" = "$PWD/case/outside" ] &&
	[ "$(cat case/dest/d/f)" = "$PAYLOAD" ] && clean
'
t 'pull: DEST has link -> outside, the listing makes link a directory: written below DEST only' '
	setup && ln -s "$PWD/case/outside" case/dest/link &&
	client 0 pull through-symlink-dir &&
	[ -d case/dest/link ] && [ ! -L case/dest/link ] &&
	[ "$(cat case/dest/link/x)" = "$PAYLOAD" ] && clean
'
t 'pull: DEST has x -> an outside file, the listing makes x a file: the link is replaced' '
	setup && ln -s "$PWD/case/outside/sentinel" case/dest/x &&
	client 0 pull over-symlink-file &&
	[ ! -L case/dest/x ] && [ "$(cat case/dest/x)" = "$PAYLOAD" ] && clean
'

# ---- pull: the server names the basis (CVE-2024-12086: probing client files) -------------
# A signature is a digest of the receiver's file: it must only ever be of a
# regular file at the listed path beneath DEST, never of one reached
# through a symlink.

t 'pull: DEST has x -> outside/secret, the listing has file x: no signature of the secret' '
	setup && ln -s "$PWD/case/outside/secret" case/dest/x &&
	client 0 pull over-symlink-file && never_sig && clean
'
t 'pull: DEST has link -> outside, the listing has link/secret: no signature of the secret' '
	setup && ln -s "$PWD/case/outside" case/dest/link &&
	client 0 pull through-symlink-dir && never_sig && clean
'
t 'pull: a listed "../outside/secret" is refused before any request' '
	setup && refused path-dotdot && ! grep -q "^< REQ" hostile.log
'

# ---- pull: lengths and framing (CVE-2024-12084 class: lengths the peer chooses) ---------

t 'pull: a frame claiming 0xffffffff bytes is a protocol error' 'setup && refused huge-frame && says "limit" && dest_empty'
t 'pull: a frame claiming MAX_FRAME+1 bytes is a protocol error' 'setup && refused frame-over-limit && dest_empty'
t 'pull: an unknown frame type is a protocol error'     'setup && refused unknown-frame-type && dest_empty'
t 'pull: an ENTRY path claiming 0xffffffff bytes is a protocol error' 'setup && refused entry-str-huge && dest_empty'
t 'pull: an ENTRY sharing more bytes than the previous path has (or any in the first) is a protocol error' '
	setup && refused entry-shared-long first && says "shares 1 bytes with a previous path of 0" &&
	dest_empty && refused entry-shared-long && says "shares 2 bytes with a previous path of 1"
'
t 'pull: a symlink target claiming 0xffffffff bytes is a protocol error' 'setup && refused entry-target-huge && dest_empty'
t 'pull: an empty symlink target is a protocol error'  'setup && refused entry-empty-target && dest_empty'
t 'pull: a symlink target with a NUL byte is a protocol error' 'setup && refused entry-target-nul && dest_empty'
t 'pull: a symlink target of 4096 bytes is a protocol error' 'setup && refused entry-target-long && dest_empty'
t 'pull: an ENTRY of 2^64-1 bytes (negative as i64) is a protocol error' 'setup && refused entry-size-huge && dest_empty'
t 'pull: an ENTRY of unknown type is a protocol error'  'setup && refused entry-bad-type && dest_empty'
t 'pull: a MSG claiming 0xffffffff bytes of text is a protocol error' 'setup && refused msg-huge && dest_empty'
t 'pull: FILE announcing 2^64-1 bytes is a protocol error; no file' 'setup && refused file-size-huge && dest_empty'
t 'pull: a FILE reason claiming 0xffffffff bytes is a protocol error' 'setup && refused file-reason-huge && dest_empty'
t 'pull: FILE with an unknown status is a protocol error' 'setup && refused file-status-unknown && dest_empty'
t 'pull: FILE announcing 2^40 bytes, then 10: not installed' '
	setup && client 23 pull file-size-larger && says "does not match" && clean && dest_empty
'

# A peer that dies mid-frame or mid-file is a lost connection (exit 10).
t 'pull: a truncated frame then EOF: connection lost in the middle of a frame' '
	setup && client 10 pull truncated-frame && says "middle of a frame" && clean && dest_empty
'
t 'pull: EOF in the middle of a file: connection lost, no file, no temporary file' '
	setup && client 10 pull eof-mid-file && says "connection" && clean && dest_empty
'
t 'pull: EOF before END_LIST: connection lost' '
	setup && client 10 pull eof-mid-list && says "connection" && clean && [ ! -e case/dest/d/x ]
'

# ---- pull: replies ----------------------------------------------------------------------------

t 'pull: FILE with an id not matching the request is a protocol error' 'setup && refused bad-file-id && dest_empty'
t 'pull: 20 bytes of DATA for a FILE of 10 is a protocol error' 'setup && refused data-too-long && says "longer than" && dest_empty'
t 'pull: 10 + 1 bytes of DATA for a FILE of 10 is a protocol error' 'setup && refused data-too-long-split && dest_empty'
t 'pull: FILE_END with a wrong XXH3-128: not installed, exit 23' '
	setup && client 23 pull bad-hash && says "does not match" && clean && dest_empty
'
t 'pull: a file "changed while read" at every read: asked 4 times, not installed, exit 26' '
	setup && client 26 pull always-changing &&
	grep -q "file kept changing while it was read (4 reads)" err &&
	expect_eq 4 "$(grep -c "< REQ" hostile.log)" "requests for the file" &&
	clean && dest_empty
'
# ---- restore over ssh: a restore deletes nothing, serves only its plan ------------------------

t 'restore from a hostile server: a DELETE in its listing is a protocol error, nothing deleted' '
	setup && printf "keep me\n" >case/dest/victim &&
	client 12 restore-pull restore-delete && says "a restore deletes nothing" &&
	clean && expect_eq "keep me" "$(cat case/dest/victim)"
'
t 'restore to a hostile server: a REQ for a symlink, a missing or an outside path is refused' '
	setup_src_links &&
	client 12 restore-push restore-unlisted-req slink && says "did not list as a file" && clean &&
	client 12 restore-push restore-unlisted-req nothere && says "did not list as a file" && clean &&
	client 12 restore-push restore-unlisted-req ../secret && clean
'
t 'pull: fewer bytes than FILE announced: not installed' '
	setup && client 23 pull data-too-short && clean && dest_empty
'
t 'pull: DATA for a file not requested (before any FILE) is a protocol error' 'setup && refused data-before-file && dest_empty'
t 'pull: an empty DATA frame is a protocol error'       'setup && refused empty-data && dest_empty'
t 'pull: DATA after a FILE "vanished" is a protocol error' 'setup && refused data-after-vanished && dest_empty'
t 'pull: DATA after FILE_END is a protocol error' '
	setup && client 12 pull data-after-file-end && says "protocol error" && clean
'
t 'pull: FILE_END without FILE is a protocol error'     'setup && refused file-end-without-file && dest_empty'
t 'pull: a FILE nobody asked for is a protocol error'   'setup && refused unrequested-file'
t 'pull: a second FILE for an answered request is a protocol error' '
	setup && client 12 pull file-twice && says "protocol error" && clean
'
t 'pull: a delta for a file requested whole is a protocol error' 'setup && refused delta-for-whole && dest_empty'
t 'pull: a delta copying beyond the basis is a protocol error; x unchanged' '
	setup && printf "old\n" >case/dest/x &&
	client 12 pull delta-beyond-basis && says "protocol error" && clean && [ "$(cat case/dest/x)" = old ]
'
t 'pull: a delta producing more than announced is a protocol error; x unchanged' '
	setup && printf "old\n" >case/dest/x &&
	client 12 pull delta-too-long && clean && [ "$(cat case/dest/x)" = old ]
'
t 'pull: a delta that fails the XXH3-128 (a strong-sum collision): x asked again whole, installed, exit 0' '
	setup && printf "old content\n" >case/dest/x &&
	client 0 pull delta-bad-hash && clean &&
	expect_eq 2 "$(grep -c "< REQ" hostile.log)" "requests for x" &&
	expect_eq 0123456789 "$(cat case/dest/x)" "x"
'
t 'pull: a delta that fails the hash, then a whole file that fails it too: exit 23, x unchanged' '
	setup && printf "old content\n" >case/dest/x &&
	client 23 pull delta-bad-hash bad && says "does not match" && clean &&
	expect_eq 2 "$(grep -c "< REQ" hostile.log)" "requests for x" &&
	expect_eq "old content" "$(cat case/dest/x)" "x"
'
t 'pull: garbage as a delta is a protocol error; x unchanged' '
	setup && printf "old\n" >case/dest/x &&
	client 12 pull delta-garbage && clean && [ "$(cat case/dest/x)" = old ]
'
t 'pull: a truncated delta is a protocol error; x unchanged' '
	setup && printf "old\n" >case/dest/x &&
	client 12 pull delta-truncated && clean && [ "$(cat case/dest/x)" = old ]
'

# ---- pull: a bogus DONE or ERROR ----------------------------------------------------------------

t 'pull: DONE from the sender before the listing ended is a protocol error' 'setup && refused done-early'
t 'pull: DONE where a reply belongs is a protocol error' 'setup && refused done-before-reply && dest_empty'
t 'pull: a malformed DONE at the end is a protocol error' '
	setup && client 12 pull done-short && says "malformed DONE"
'
t 'pull: a DONE with an undocumented exit code (200) ends as a protocol error' '
	setup && client 12 pull done-code 200
'
t 'pull: an ERROR with an undocumented exit code (200) ends as a protocol error' '
	setup && client 12 pull error-code 200 && says "fakehost: sender gave up"
'

# A server that goes silent is a hang the idle limit ends, with one line.
t 'pull: a server silent after READY: --timeout ends the pass, exit 30, one line' '
	setup && client 30 pull srv-silent -- --timeout 1 && says "--timeout" && clean && dest_empty
'
t 'push: a server silent after READY: --timeout ends the pass, exit 30, one line' '
	setup && client 30 push srv-silent -- --timeout 1 && says "--timeout" && clean
'

# ---- pull: the handshake -------------------------------------------------------------------------

t 'pull: a login banner instead of HELLO: "does not speak shelter", exit 2' '
	setup && client 2 pull srv-banner && says "does not speak shelter" "Last login" && clean
'
t 'pull: HELLO with versions 3..5: "no protocol version in common", exit 2' '
	setup && client 2 pull srv-version && says "no protocol version in common" && clean
'
t 'pull: a listing where READY belongs is a protocol error' '
	setup && client 12 pull srv-no-ready && says "expected READY" && clean && dest_empty
'
t 'pull: the server'"'"'s ERROR instead of READY is named after the host, escapes replaced' '
	setup && client 3 pull srv-error && says "fakehost: DEST /x: gone" &&
	! grep -q "$(printf "\033")" err || { show; fail "an escape reached the terminal"; }
'
t 'pull: the server'"'"'s ERROR with a newline cannot forge a line of the client'"'"'s own' '
	setup && client 3 pull srv-error 3 newline &&
	! grep -q "^shelter: error: forged line" err || { show; fail "a forged line reached stderr"; }
'
t 'pull: an ERROR instead of READY with an undocumented exit code (200) ends as a protocol error' '
	setup && client 12 pull srv-error 200 && says "fakehost: DEST /x: gone"
'

# ---- push: requests outside SRC (CVE-2024-12086 class, the other way; CVE-2024-12087) -----------

# not_served PATH...: each REQ gets a FILE without content; the pass ends 24.
not_served() {
	client 24 push req-paths "$@" && clean &&
	! grep -q "^< FILE id=[0-9]* ok" hostile.log || { show; fail "a FILE with content was sent"; }
}

t 'push: REQ "../secret" is a protocol error, nothing sent' 'setup_src_links && served_refused req-paths ../secret'
t 'push: REQ "/etc/passwd" is a protocol error, nothing sent' 'setup_src_links && served_refused req-paths /etc/passwd'
t 'push: REQ "a//b" is a protocol error'                  'setup_src_links && served_refused req-paths dir//file'
t 'push: REQ through a symlinked directory (link/secret) is not served' 'setup_src_links && not_served link/secret'
t 'push: REQ through a relative symlinked directory (rel/secret) is not served' 'setup_src_links && not_served rel/secret'
t 'push: REQ of a symlink to an outside file is not served' 'setup_src_links && not_served slink'
t 'push: REQ of a FIFO is not served and does not block'  'setup_src_links && not_served fifo'
t 'push: REQ of a directory is not served'                'setup_src_links && not_served dir'
t 'push: REQ of a symlink entry is not served'            'setup_src_links && not_served link'
t 'push: REQ of a path never listed (missing) is not served' 'setup_src_links && not_served nonexistent'
t 'push: REQ of an excluded file is refused, nothing sent' '
	setup_src_links && printf "TOPSECRET-%s\n" $$ >case/src/private && snapshot >before &&
	served_refused req-paths private -- --exclude private && says "never listed"
'
t 'push: REQ below an excluded directory is refused, nothing sent' '
	setup_src_links && mkdir case/src/keys && printf "TOPSECRET-%s\n" $$ >case/src/keys/k &&
	snapshot >before &&
	served_refused req-paths keys/k -- --exclude keys/
'
t 'push: REQ below SRC/.shelter (never listed) is refused, nothing sent' '
	setup_src_links && mkdir case/src/.shelter && printf "TOPSECRET-%s\n" $$ >case/src/.shelter/k &&
	snapshot >before &&
	served_refused req-paths .shelter/k
'
t 'push: good and bad REQs mixed: only the good file is sent' '
	setup_src_links &&
	client 24 push req-paths file link/secret slink file && clean &&
	[ "$(grep -c "^< DATA 10 bytes" hostile.log)" = 2 ] || { show; false; }
'
t 'push: REQ ids out of order are a protocol error'     'setup_src_links && served_refused req-out-of-order file'
t 'push: the same REQ id twice is a protocol error'     'setup_src_links && served_refused req-repeat-id file'
t 'push: 2000 requests for one file at once are all answered, no hang' '
	setup_src_links && client 0 push req-flood file 2000 && clean &&
	[ "$(grep -c "^< FILE_END" hostile.log)" = 2000 ] || { show; false; }
'
t 'push: a second PLAN is a protocol error'             'setup_src_links && served_refused plan-twice'
t 'push: a sender'"'"'s frame (FILE) from the receiver is a protocol error' 'setup_src_links && served_refused recv-stray-frame'
t 'push: a malformed DONE from the receiver is a protocol error' 'setup_src_links && served_refused recv-done-short'
t 'push: a DONE with an undocumented exit code (200) ends as a protocol error' '
	setup_src_links && client 12 push recv-done-code 200
'

# ---- push: signatures (CVE-2024-12084: the peer's checksum lengths; CVE-2024-12085: compare
# ---- only what was computed) ----------------------------------------------------------------------

t 'push: strong length 64 (beyond the 32-byte digest), right size: protocol error' '
	setup_src_links && served_refused sig-lengths file 256 64 72730147 fit && says "header"
'
t 'push: strong length 64, sized for it: protocol error' '
	setup_src_links && served_refused sig-lengths file 256 64 72730147 claimed
'
t 'push: strong length 0xffffffff: protocol error' '
	setup_src_links && served_refused sig-lengths file 256 4294967295 72730147 claimed
'
t 'push: strong length 8 (fewer bytes than compared: CVE-2024-12085), right size: protocol error' '
	setup_src_links && served_refused sig-lengths file 256 8 72730147 fit
'
t 'push: strong length 8, sized for it: protocol error' '
	setup_src_links && served_refused sig-lengths file 256 8 72730147 claimed
'
t 'push: strong length 0: protocol error' '
	setup_src_links && served_refused sig-lengths file 256 0 72730147 claimed
'
t 'push: block length 0 (a division by zero waiting to happen), right size: protocol error' '
	setup_src_links && served_refused sig-lengths file 0 32 72730147 fit
'
t 'push: block length 0, one block: protocol error' '
	setup_src_links && served_refused sig-lengths file 0 32 72730147 claimed
'
t 'push: block length 1 (a block per byte): protocol error' '
	setup_src_links && served_refused sig-lengths file 1 32 72730147 claimed
'
t 'push: block length 0xffffffff: protocol error' '
	setup_src_links && served_refused sig-lengths file 4294967295 32 72730147 claimed
'
t 'push: an MD4 signature magic: protocol error'       'setup_src_links && served_refused sig-lengths file 256 32 72730136 fit'
t 'push: a signature with a wrong header is a protocol error' 'setup_src_links && served_refused sig-bad-header file'
t 'push: a signature one block short (truncated blob) is a protocol error' 'setup_src_links && served_refused sig-wrong-length file'
t 'push: a signature of the header alone is a protocol error' 'setup_src_links && served_refused sig-header-only file'
t 'push: a signature longer than its basis allows is a protocol error' 'setup_src_links && served_refused sig-too-long file'
t 'push: SIG_END not matching the bytes sent is a protocol error' 'setup_src_links && served_refused sig-end-mismatch file'
t 'push: SIG_END claiming 2^64-1 bytes is a protocol error' 'setup_src_links && served_refused sig-huge-sigend file'
t 'push: an empty SIG frame is a protocol error'        'setup_src_links && served_refused sig-empty-frame file'
t 'push: SIG without a REQ is a protocol error'         'setup_src_links && served_refused sig-without-req'
t 'push: block sums for a zero-byte basis are a protocol error' 'setup_src_links && served_refused sig-zero-basis-blocks file'
t 'push: REQ with a 2^62-byte basis is refused'         'setup_src_links && served_refused sig-huge-basis file'
t 'push: REQ with an INT64_MAX-byte basis: refused, promptly' 'setup_src_links && served_refused sig-max-basis file'
t 'push: EOF inside a signature: connection lost' '
	setup_src_links && client 10 push req-then-eof file && says "connection" && clean
'

# ---- push: a symlink planted between listing and read (CVE-2024-12747 class) -----------------
# Once the client has listed SRC, hostile.py replaces an entry of it by a
# symlink to case/outside and asks for what is now behind it.

t 'push: SRC/file becomes a symlink to outside/secret after the listing: not served' '
	setup_src_links &&
	client 24 push race-req "$PWD/case/src/file" "$PWD/case/outside/secret" file &&
	! grep -q "^< FILE id=[0-9]* ok" hostile.log || { show; fail "a FILE with content was sent"; }
'
t 'push: SRC/dir becomes a symlink to outside after the listing: dir/secret not served' '
	setup_src_links && printf "x" >case/src/dir/secret && snapshot >before &&
	client 24 push race-req "$PWD/case/src/dir" "$PWD/case/outside" dir/secret &&
	! grep -q "^< FILE id=[0-9]* ok" hostile.log || { show; fail "a FILE with content was sent"; }
'

# ---- pull: a symlink planted between listing and write (CVE-2024-12747 class) ----------------
# hostile.py lists "a" and "a/f"; once the client has scanned DEST and sent
# its REQ, hostile.py (standing in for a local attacker with write access
# to DEST) replaces DEST/a by a symlink to case/outside, then sends the
# data. Nothing may be created or removed in case/outside.

t 'pull: DEST/a (new) becomes a symlink to outside after the REQ: error, outside unchanged' '
	setup &&
	client 23 pull race-parent "$PWD/case/dest/a" "$PWD/case/outside" &&
	says "a/f" && clean && [ ! -e case/outside/f ] && [ -L case/dest/a ]
'
t 'pull: DEST/a with a/f as the delta basis becomes a symlink after the REQ: outside unchanged' '
	setup && mkdir case/dest/a && printf "old content\n" >case/dest/a/f &&
	printf "outside f\n" >case/outside/f && snapshot >before &&
	client 23 pull race-parent "$PWD/case/dest/a" "$PWD/case/outside" &&
	clean && [ "$(cat case/outside/f)" = "outside f" ]
'
# The receiver holds the directory it resolved (and checked) beneath DEST,
# not its name: when that directory is moved aside within DEST, the file
# follows it there, and the symlink planted at its old name is never used.
t 'pull: DEST/a moved aside within DEST, a symlink in its place: the write follows the directory' '
	setup && mkdir case/dest/a && printf "old content\n" >case/dest/a/f &&
	printf "outside f\n" >case/outside/f && snapshot >before &&
	client 0 pull race-parent "$PWD/case/dest/a" "$PWD/case/outside" "$PWD/case/dest/aside" &&
	clean && [ "$(cat case/outside/f)" = "outside f" ] && [ -L case/dest/a ] &&
	[ "$(cat case/dest/aside/f)" = "$PAYLOAD" ]
'
t 'pull: DEST/a becomes a symlink before a/old is deleted: outside/old stays' '
	setup && mkdir case/dest/a && printf "old\n" >case/dest/a/old &&
	printf "outside old\n" >case/outside/old && snapshot >before &&
	client 23 pull race-delete "$PWD/case/dest/a" "$PWD/case/outside" "$PWD/case/dest/aside" &&
	says "a/old" && clean && [ "$(cat case/outside/old)" = "outside old" ] &&
	[ "$(cat case/dest/aside/old)" = old ]
'
t 'pull: DEST/.shelter/history becomes a symlink before a deletion is kept: exit 11, outside unchanged' '
	setup && mkdir -p case/dest/.shelter/history && printf "old\n" >case/dest/old &&
	client 11 pull race-history "$PWD/case/dest/.shelter/history" "$PWD/case/outside" &&
	says "history" && clean && [ "$(cat case/dest/old)" = old ]
'
t 'pull: DEST/.shelter/history becomes a symlink before a changed file is kept: exit 11' '
	setup && mkdir -p case/dest/.shelter/history && printf "old\n" >case/dest/f &&
	client 11 pull race-history "$PWD/case/dest/.shelter/history" "$PWD/case/outside" &&
	says "history" && clean && [ "$(cat case/dest/f)" = old ]
'
t 'pull: DEST/.shelter becomes a symlink before a deletion is kept: exit 11, outside unchanged' '
	setup && mkdir -p case/dest/.shelter && printf "old\n" >case/dest/old &&
	client 11 pull race-history "$PWD/case/dest/.shelter" "$PWD/case/outside" &&
	says "history" && clean && [ "$(cat case/dest/old)" = old ]
'

done_testing
