#!/bin/bash
# t1700-protocol: hostile peers against `shelter --server`.
#
# tests/e2e/hostile.py speaks the protocol of doc/protocol.md on the
# server's stdin/stdout and plays a client that lies: a sender whose
# listing or file data is crafted (the server receives into case/dest), or
# a receiver whose requests reach outside SRC (the server sends from
# case/src). Each test checks the server's exit code and the error it
# reports (MSG/ERROR frames, decoded by hostile.py), that it wrote nothing
# outside DEST (case/outside and case/src are snapshotted), and that DEST
# holds no content it should not.
#
# Test bodies are &&-chained, as in the other scripts.
. "$(dirname "$0")/lib.sh"

HOSTILE="$TOP_SRCDIR/tests/e2e/hostile.py"
PAYLOAD=0123456789	# what hostile.py sends as file content

fail() { printf '%s\n' "$*"; return 1; }

. "$(dirname "$0")/hostile-lib.sh"

# dest_entries: the entries in DEST, not counting .shelter, one per line.
dest_entries() {
	(cd case/dest && find . -path ./.shelter -prune -o -mindepth 1 -printf '%P\n' | LC_ALL=C sort)
}

# dest_empty: DEST has no entries (its .shelter aside).
dest_empty() {
	local e
	e=$(dest_entries)
	[ -z "$e" ] || fail "DEST should be empty but has: $e"
}

# hostile [CHECKS] CASE ROOT [ARGS]: run hostile.py from inside case/ (the
# server's cwd); its transcript goes to ./out.
hostile() {
	(cd case && "$PYTHON" "$HOSTILE" "$@") >out 2>&1 || { cat out; return 1; }
}

# refused CASE [ARGS]: as a sender, CASE is refused as a protocol error
# (exit 12), DEST stays empty, nothing outside it changes.
refused() {
	local c=$1
	shift
	hostile --exit 12 --msg "protocol error" "$c" "$PWD/case/dest" "$@" &&
	untouched && dest_lacks_payload
}

# serve_refused [--exclude PAT]... CASE [ARGS]: as a receiver against the server's SRC.
serve_refused() {
	local opts=() c
	while [ "$1" = --exclude ]; do
		opts+=("$1" "$2")
		shift 2
	done
	c=$1
	shift
	hostile --exit 12 --msg "protocol error" --no-data TOPSECRET "${opts[@]}" "$c" "$PWD/case/src" "$@" &&
	untouched
}

# The interpreter itself, resolved once (a pyenv shim costs most of a second a run).
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)}
if [ -z "$PYTHON" ]; then
	skip 'hostile peers' 'python3 not found'
	done_testing
	exit
fi

# ---- the harness itself ---------------------------------------------------------

t 'control: a well-formed pass from hostile.py writes DEST/file' '
	setup &&
	hostile --exit 0 good-file "$PWD/case/dest" "$PAYLOAD" &&
	[ "$(cat case/dest/file)" = "$PAYLOAD" ] || fail "DEST/file: $(cat case/dest/file)" &&
	untouched && no_temp_files case/dest
'

t 'control: a directory, a file and an outside symlink are created, not followed' '
	setup &&
	hostile --exit 0 good-tree "$PWD/case/dest" "$PWD/case/outside" &&
	[ "$(cat case/dest/d/f)" = "$PAYLOAD" ] &&
	[ "$(readlink case/dest/d/link)" = "$PWD/case/outside" ] &&
	untouched
'

t 'control: a receiver gets a listed file' '
	setup &&
	hostile --exit 0 req-paths "$PWD/case/src" file &&
	grep -q "^< DATA 10 bytes b.$PAYLOAD" out || { cat out; fail "no DATA with the content"; }
'

# ---- a hostile sender: listing paths ---------------------------------------------

t 'ENTRY "../escape" is a protocol error'           'setup && refused path-dotdot && dest_empty'
t 'ENTRY "/abs" is a protocol error'                'setup && refused path-abs && dest_empty'
t 'ENTRY "a/../../x" is a protocol error'           'setup && refused path-dotdot-inner && dest_empty'
t 'ENTRY "a//b" is a protocol error'                'setup && refused path-double-slash && dest_empty'
t 'ENTRY "a/./b" is a protocol error'               'setup && refused path-dot && dest_empty'
t 'ENTRY "a/" is a protocol error'                  'setup && refused path-trailing-slash && dest_empty'
t 'ENTRY with an empty path is a protocol error'    'setup && refused path-empty && dest_empty'
t 'ENTRY with a NUL byte is a protocol error'       'setup && refused path-nul && dest_empty'
t 'ENTRY with a 256-byte component is a protocol error' 'setup && refused path-long-name && dest_empty'
t 'ENTRY of more than 4095 bytes is a protocol error'   'setup && refused path-too-long && dest_empty'
t 'ENTRY ".shelter" is a protocol error'            'setup && refused path-shelter && dest_empty'

# ---- a hostile sender: listing order ---------------------------------------------

t 'a duplicate file entry is a protocol error' '
	setup && refused duplicate-entry && grep -q "not after" out || { cat out; false; }
'
t 'a duplicate directory entry is a protocol error' 'setup && refused duplicate-dir'
t 'out-of-order entries are a protocol error' '
	setup && refused out-of-order && dest_empty
'
t 'an entry after a sibling that sorts later is a protocol error ("a-b" then "a/z")' '
	setup && refused out-of-order-subtree &&
	[ ! -e case/dest/a-b ] && [ ! -e case/dest/a/z ]
'
t 'an entry whose parent was not listed is a protocol error' '
	setup && refused orphan && dest_empty
'
t 'an entry below a regular file is a protocol error' '
	setup && refused parent-is-file
'

# ---- a hostile sender: symlinks ---------------------------------------------------

t 'entries and data below a listed symlink are refused; nothing is written through it' '
	setup && refused through-symlink "$PWD/case/outside" &&
	[ ! -e case/outside/x ] &&
	{ [ ! -e case/dest/link ] || [ -L case/dest/link ]; }
'

t 'DEST has link -> outside, the listing makes link a directory: written below DEST only' '
	setup && ln -s "$PWD/case/outside" case/dest/link &&
	hostile --exit 0 through-symlink-dir "$PWD/case/dest" &&
	untouched &&
	[ -d case/dest/link ] && [ ! -L case/dest/link ] &&
	[ "$(cat case/dest/link/x)" = "$PAYLOAD" ]
'

t 'DEST has x -> an outside file, the listing makes x a file: the link is replaced, not followed' '
	setup && ln -s "$PWD/case/outside/sentinel" case/dest/x &&
	hostile --exit 0 over-symlink-file "$PWD/case/dest" &&
	untouched &&
	[ ! -L case/dest/x ] && [ "$(cat case/dest/x)" = "$PAYLOAD" ]
'

t 'DEST has x hard-linked to an outside file: that file is not written' '
	setup && ln case/outside/sentinel case/dest/x &&
	snapshot >before &&
	hostile --exit 0 over-symlink-file "$PWD/case/dest" &&
	untouched &&
	[ "$(cat case/dest/x)" = "$PAYLOAD" ]
'

# ---- a hostile sender: framing ------------------------------------------------------

t 'a frame claiming 0xffffffff bytes is a protocol error' '
	setup && refused huge-frame && grep -q "limit" out || { cat out; false; }
'
t 'a frame claiming MAX_FRAME+1 bytes is a protocol error' 'setup && refused frame-over-limit'
t 'an unknown frame type is a protocol error' 'setup && refused unknown-frame-type'

# A peer that dies mid-frame is a lost connection (exit 10), not a liar.
t 'a truncated frame then EOF: connection lost in the middle of a frame' '
	setup &&
	hostile --exit 10 --msg "middle of a frame" truncated-frame "$PWD/case/dest" &&
	untouched && dest_empty
'

t 'ENTRY after END_LIST is a protocol error' 'setup && refused entry-after-end'
t 'a second END_LIST is a protocol error' 'setup && refused end-list-twice'
t 'DONE from the sender before the pass ended is a protocol error' 'setup && refused done-early'
t 'END_LIST counting fewer entries than sent is a protocol error' 'setup && refused end-list-count-low'
t 'END_LIST counting 2^63 entries is a protocol error' 'setup && refused end-list-count-high'
t 'END_LIST with root mode bits beyond 07777 is a protocol error' 'setup && refused end-list-bad-mode'
t 'END_LIST with root mtime nanoseconds >= 1e9 is a protocol error' 'setup && refused end-list-bad-nsec'
t 'END_LIST without the root metadata is a protocol error' 'setup && refused end-list-short'

# ---- a hostile sender: replies ---------------------------------------------------------

t 'FILE with an id not matching the request is a protocol error; no file' '
	setup && refused bad-file-id && dest_empty
'
t 'FILE announcing 10 bytes, then 20 bytes of DATA: protocol error; no file' '
	setup && refused data-too-long && dest_empty &&
	grep -q "longer than" out || { cat out; false; }
'
t 'FILE announcing 10 bytes, then 10 + 1 bytes of DATA: protocol error; no file' '
	setup && refused data-too-long-split && dest_empty
'
t 'FILE_END with a wrong XXH3-128: hash mismatch reported, file not installed' '
	setup &&
	hostile --exit 23 --msg "does not match" bad-hash "$PWD/case/dest" &&
	untouched && dest_lacks_payload && dest_empty
'
t 'fewer bytes than FILE announced: not installed' '
	setup &&
	hostile --exit nonzero data-too-short "$PWD/case/dest" &&
	untouched && no_temp_files case/dest && dest_empty
'
t 'DATA before FILE is a protocol error' 'setup && refused data-before-file && dest_empty'
t 'DATA after a FILE "vanished" is a protocol error' 'setup && refused data-after-vanished && dest_empty'
t 'a symlink target with a NUL byte is a protocol error' 'setup && refused entry-target-nul && dest_empty'
t 'a symlink target of 4096 bytes is a protocol error' 'setup && refused entry-target-long && dest_empty'
t 'an ENTRY path claiming 0xffffffff bytes is a protocol error' 'setup && refused entry-str-huge && dest_empty'
t 'an ENTRY sharing more bytes than the previous path has (or any in the first) is a protocol error' '
	setup &&
	hostile --exit 12 --msg "shares 1 bytes with a previous path of 0" entry-shared-long "$PWD/case/dest" first &&
	untouched && dest_empty &&
	hostile --exit 12 --msg "shares 2 bytes with a previous path of 1" entry-shared-long "$PWD/case/dest" &&
	untouched && dest_lacks_payload
'
t 'FILE announcing 2^64-1 bytes is a protocol error' 'setup && refused file-size-huge && dest_empty'
t 'EOF in the middle of a file: connection lost, no temporary file' '
	setup && hostile --exit 10 eof-mid-file "$PWD/case/dest" && untouched && no_temp_files case && dest_empty
'
t 'an empty DATA frame is a protocol error' 'setup && refused empty-data && dest_empty'
t 'FILE_END without FILE is a protocol error' 'setup && refused file-end-without-file'
t 'a FILE nobody asked for is a protocol error' 'setup && refused unrequested-file'
t 'a delta (encoding 1) for a file requested whole is a protocol error' '
	setup && refused delta-for-whole && dest_empty
'

# The receiver has DEST/x as a basis and asks for a delta; the delta lies.
t 'a delta copying beyond the basis is a protocol error; x unchanged' '
	setup && printf "old\n" >case/dest/x &&
	refused delta-beyond-basis && [ "$(cat case/dest/x)" = old ]
'
t 'a delta producing more than announced is a protocol error; x unchanged' '
	setup && printf "old\n" >case/dest/x &&
	refused delta-too-long && [ "$(cat case/dest/x)" = old ]
'
t 'garbage as a delta is a protocol error; x unchanged' '
	setup && printf "old\n" >case/dest/x &&
	refused delta-garbage && [ "$(cat case/dest/x)" = old ]
'
t 'a truncated delta is a protocol error; x unchanged' '
	setup && printf "old\n" >case/dest/x &&
	refused delta-truncated && [ "$(cat case/dest/x)" = old ]
'

t 'an ERROR from the peer ends the pass; the server prints nothing itself' '
	setup &&
	hostile --exit 12 error-with-escapes "$PWD/case/dest" &&
	untouched
'

# ---- the handshake ------------------------------------------------------------------------

t 'HELLO with versions 3..5: "no protocol version in common", exit 2' '
	setup &&
	hostile --exit 2 --msg "no protocol version in common" version-range "$PWD/case/dest" &&
	untouched && [ ! -e case/dest/.shelter ]
'
t 'a version 1 peer (before 2026-11-26, other signatures): "no protocol version in common (local 2..2, remote 1..1)"' '
	setup &&
	hostile --exit 2 --msg "no protocol version in common (local 2..2, remote 1..1)" version-range "$PWD/case/dest" 1 1 &&
	untouched
'
t 'HELLO with an empty version range (1..0) is malformed: exit 12, the reason named' '
	setup && hostile --exit 12 --msg "version range 1..0 is empty" version-empty-range "$PWD/case/dest"
'
t 'an ssh banner instead of HELLO: a clear error showing what was received' '
	setup &&
	hostile --exit 2 --msg "does not speak shelter" --msg "SSH-2.0" banner "$PWD/case/dest" &&
	untouched
'
t 'a shell greeting then EOF instead of HELLO: a clear error showing it' '
	setup &&
	hostile --exit 2 --msg "does not speak shelter" --msg "Welcome" banner-eof "$PWD/case/dest"
'
t 'HELLO with a bad magic: a clear error' '
	setup && hostile --exit 2 --msg "does not speak shelter" bad-magic "$PWD/case/dest"
'
t 'START before HELLO: a clear error' '
	setup && hostile --exit 2 --msg "does not speak shelter" start-first "$PWD/case/dest"
'
t 'START with an unknown role is a protocol error' '
	setup && hostile --exit 12 --msg "role" start-bad-role "$PWD/case/dest" &&
	[ ! -e case/dest/.shelter ]
'
t 'START with unknown flags is a protocol error' '
	setup && hostile --exit 12 --msg "flags" start-bad-flags "$PWD/case/dest"
'
t 'START claiming 0xffffffff exclude patterns is a protocol error' '
	setup && hostile --exit 12 --msg "protocol error" start-huge-count "$PWD/case/dest"
'
t 'EOF right after HELLO: the server ends' '
	setup && hostile --exit nonzero eof-after-hello "$PWD/case/dest" && untouched
'

# ---- a hostile receiver: requests outside SRC -----------------------------------------------

# not_served PATH...: each REQ gets a FILE without content (vanished or
# unreadable), never the secret.
not_served() {
	hostile --exit nonzero --no-data TOPSECRET req-paths "$PWD/case/src" "$@" &&
	untouched &&
	! grep -q "^< FILE id=[0-9]* ok" out || { cat out; fail "a FILE with content was sent"; }
}

t 'REQ "../outside/secret" is a protocol error, nothing sent' '
	setup_src_links && serve_refused req-paths ../outside/secret
'
t 'REQ "/etc/passwd" is a protocol error, nothing sent' '
	setup_src_links && serve_refused req-paths /etc/passwd
'
t 'REQ through a symlinked directory (link/secret) is not served' '
	setup_src_links && not_served link/secret
'
t 'REQ through a relative symlinked directory (rel/secret) is not served' '
	setup_src_links && not_served rel/secret
'
t 'REQ of a symlink to an outside file is not served' '
	setup_src_links && not_served slink
'
t 'REQ of a FIFO is not served and does not block' '
	setup_src_links && not_served fifo
'
t 'REQ of a directory is not served' '
	setup_src_links && not_served dir
'
t 'REQ of a missing path: FILE vanished' '
	setup_src_links && not_served nonexistent
'
t 'good and bad REQs mixed: only the good file is sent' '
	setup_src_links &&
	hostile --exit 24 --no-data TOPSECRET req-paths "$PWD/case/src" file link/secret slink file &&
	untouched &&
	[ "$(grep -c "^< DATA 10 bytes" out)" = 2 ] || { cat out; false; }
'
t 'REQ ids out of order are a protocol error' '
	setup_src_links && serve_refused req-out-of-order file
'

# ---- a hostile receiver: signatures ----------------------------------------------------------

t 'a signature with a wrong header is a protocol error' '
	setup_src_links && serve_refused sig-bad-header file && grep -q "header" out || { cat out; false; }
'
t 'a signature one block short is a protocol error' '
	setup_src_links && serve_refused sig-wrong-length file &&
	grep -q "expected" out || { cat out; false; }
'
t 'a signature longer than its basis allows is a protocol error' '
	setup_src_links && serve_refused sig-too-long file
'
t 'SIG_END not matching the bytes sent is a protocol error' '
	setup_src_links && serve_refused sig-end-mismatch file
'
t 'SIG_END claiming 2^64-1 bytes is a protocol error' '
	setup_src_links && serve_refused sig-huge-sigend file
'
t 'REQ with a 2^62-byte basis is refused' '
	setup_src_links && serve_refused sig-huge-basis file
'
t 'REQ with an INT64_MAX-byte basis: refused, promptly' '
	setup_src_links && serve_refused sig-max-basis file
'
t 'EOF inside a signature: the server ends' '
	setup_src_links &&
	hostile --exit nonzero --no-data TOPSECRET req-then-eof "$PWD/case/src" file && untouched
'

# ---- a hostile receiver: what the listing never holds (CVE-2024-12086 class) ----------------

t 'REQ of a file the START excludes is a protocol error, nothing sent' '
	setup_src_links && printf "TOPSECRET-%s\n" $$ >case/src/private && snapshot >before &&
	serve_refused --exclude private req-paths private && grep -q "never listed" out || { cat out; false; }
'
t 'REQ below a directory the START excludes is a protocol error, nothing sent' '
	setup_src_links && mkdir case/src/keys && printf "TOPSECRET-%s\n" $$ >case/src/keys/k &&
	snapshot >before &&
	serve_refused --exclude keys/ req-paths keys/k
'
t 'REQ below SRC/.shelter is a protocol error, nothing sent' '
	setup_src_links && mkdir case/src/.shelter && printf "TOPSECRET-%s\n" $$ >case/src/.shelter/k &&
	snapshot >before &&
	serve_refused req-paths .shelter/k
'

# ---- a hostile receiver: a symlink planted between listing and read (CVE-2024-12747 class) --

t 'SRC/file becomes a symlink to outside/secret after the listing: not served' '
	setup_src_links &&
	hostile --exit 24 --no-data TOPSECRET race-req "$PWD/case/src" "$PWD/case/src/file" \
		"$PWD/case/outside/secret" file &&
	! grep -q "^< FILE id=[0-9]* ok" out || { cat out; fail "a FILE with content was sent"; }
'
t 'SRC/dir becomes a symlink to outside after the listing: dir/secret not served' '
	setup_src_links && printf "x" >case/src/dir/secret &&
	hostile --exit 24 --no-data TOPSECRET race-req "$PWD/case/src" "$PWD/case/src/dir" \
		"$PWD/case/outside" dir/secret &&
	! grep -q "^< FILE id=[0-9]* ok" out || { cat out; fail "a FILE with content was sent"; }
'

# ---- exit codes the peer chooses ------------------------------------------------------------------

t 'a receiver'"'"'s DONE with an undocumented exit code (200): the server ends with 12' '
	setup_src_links && serve_refused recv-done-code 200
'
t 'a sender'"'"'s DONE with an undocumented exit code (200): the server ends with 12' '
	setup && hostile --exit 12 --msg "does not define" done-code "$PWD/case/dest" 200
'
t 'an ERROR with an undocumented exit code (200): the server ends with 12' '
	setup && hostile --exit 12 error-code "$PWD/case/dest" 200
'

# ---- a symlink planted between listing and write (CVE-2024-12747 class) ----------------------
# hostile.py lists "a" and "a/f"; once the server has scanned DEST and sent
# its REQ, hostile.py (standing in for a local attacker with write access
# to DEST) replaces case/dest/a by a symlink to case/outside, then sends
# the data. Nothing may appear in, or vanish from, case/outside.

t 'DEST/a (new) becomes a symlink to outside after the REQ: error, outside unchanged' '
	setup &&
	hostile --exit 23 --msg "a/f" race-parent "$PWD/case/dest" "$PWD/case/dest/a" "$PWD/case/outside" &&
	untouched && no_temp_files case && [ ! -e case/outside/f ] && [ -L case/dest/a ]
'
t 'DEST/a with a/f as the delta basis becomes a symlink after the REQ: outside unchanged' '
	setup && mkdir case/dest/a && printf "old content\n" >case/dest/a/f &&
	printf "outside f\n" >case/outside/f && snapshot >before &&
	hostile --exit 23 race-parent "$PWD/case/dest" "$PWD/case/dest/a" "$PWD/case/outside" &&
	untouched && no_temp_files case
'
# The server holds the directory it resolved beneath DEST, not its name:
# moved aside within DEST, the file follows it; the planted symlink is unused.
t 'DEST/a moved aside within DEST, a symlink in its place: the write follows the directory' '
	setup && mkdir case/dest/a && printf "old content\n" >case/dest/a/f &&
	printf "outside f\n" >case/outside/f && snapshot >before &&
	hostile --exit 0 race-parent "$PWD/case/dest" "$PWD/case/dest/a" "$PWD/case/outside" \
		"$PWD/case/dest/aside" &&
	untouched && no_temp_files case && [ "$(cat case/dest/aside/f)" = "$PAYLOAD" ]
'
t 'DEST/a becomes a symlink before a/old is deleted: outside/old stays' '
	setup && mkdir case/dest/a && printf "old\n" >case/dest/a/old &&
	printf "outside old\n" >case/outside/old && snapshot >before &&
	hostile --exit 23 --msg "a/old" race-delete "$PWD/case/dest" "$PWD/case/dest/a" \
		"$PWD/case/outside" "$PWD/case/dest/aside" &&
	untouched && no_temp_files case && [ "$(cat case/dest/aside/old)" = old ]
'
t 'DEST/.shelter/history becomes a symlink before a deletion is kept: exit 11, outside unchanged' '
	setup && mkdir -p case/dest/.shelter/history && printf "old\n" >case/dest/old &&
	hostile --exit 11 --msg "history" race-history "$PWD/case/dest" \
		"$PWD/case/dest/.shelter/history" "$PWD/case/outside" &&
	untouched && no_temp_files case && [ "$(cat case/dest/old)" = old ]
'
t 'DEST/.shelter/history becomes a symlink before a changed file is kept: exit 11' '
	setup && mkdir -p case/dest/.shelter/history && printf "old\n" >case/dest/f &&
	hostile --exit 11 --msg "history" race-history "$PWD/case/dest" \
		"$PWD/case/dest/.shelter/history" "$PWD/case/outside" &&
	untouched && no_temp_files case && [ "$(cat case/dest/f)" = old ]
'
t 'DEST/.shelter becomes a symlink before a deletion is kept: exit 11, outside unchanged' '
	setup && mkdir -p case/dest/.shelter && printf "old\n" >case/dest/old &&
	hostile --exit 11 --msg "history" race-history "$PWD/case/dest" \
		"$PWD/case/dest/.shelter" "$PWD/case/outside" &&
	untouched && no_temp_files case && [ "$(cat case/dest/old)" = old ]
'

done_testing
