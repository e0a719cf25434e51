# hostile-lib.sh - what t1700 (hostile clients) and t2100 (hostile servers)
# share: a case/ folder with an outside world to guard, and the checks that
# it stayed untouched. Sourced after lib.sh.

# setup: case/{dest,src,outside}, TOPSECRET beside SRC and outside; a
# snapshot of all but case/dest.
setup() {
	mkdir -p case/dest case/src/dir case/outside/dir &&
	printf 'do not touch\n' >case/outside/sentinel &&
	printf 'TOPSECRET-%s\n' "$$" >case/outside/secret &&
	printf 'TOPSECRET-%s\n' "$$" >case/secret &&
	printf '%s' "$PAYLOAD" >case/src/file &&
	snapshot >before
}

# setup_src_links: setup, plus symlinks out of SRC (absolute, relative, to
# the secret file) and a FIFO in it, for requests that must not be served.
setup_src_links() {
	setup &&
	ln -s "$PWD/case/outside" case/src/link &&
	ln -s ../outside case/src/rel &&
	ln -s "$PWD/case/outside/secret" case/src/slink &&
	mkfifo case/src/fifo &&
	snapshot >before
}

# snapshot: every entry under case/ but case/dest, with type, mode, size,
# mtime, link target and content hash. Any write outside DEST changes it.
snapshot() {
	(cd case && find . -path ./dest -prune -o -printf '%p %y %m %s %T@ %l\n' | LC_ALL=C sort &&
	 find . -path ./dest -prune -o -type f -exec sha256sum {} + | LC_ALL=C sort)
}

# untouched: nothing outside DEST changed since setup.
untouched() {
	snapshot >after &&
	diff -u before after >diff.out || { cat diff.out; fail "something outside DEST changed"; }
}

# dest_lacks_payload: no file in DEST (history included) holds the content
# the hostile peer sent, and no temporary file is left.
dest_lacks_payload() {
	local hit
	hit=$(grep -rl -- "$PAYLOAD" case/dest 2>/dev/null | head -3)
	[ -z "$hit" ] || fail "DEST holds the hostile content: $hit"
	no_temp_files case/dest
}
