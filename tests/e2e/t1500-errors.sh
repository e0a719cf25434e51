#!/bin/bash
# t1500-errors: bad roots (exit 3), unreadable files and directories
# (exit 23), destination I/O errors (exit 11).
#
# The unreadable cases run shelter as an unprivileged user (uid/gid 65534)
# with setpriv, since root reads everything.
#
# In push and pull mode (lib.sh) the errors of the remote side come with
# its host name: one_error and err_from check which side spoke.
#
# Test bodies are &&-chained (as in git's test suite), so that a failing
# step fails the test whatever the harness does with `set -e`.
. "$(dirname "$0")/lib.sh"

# from HOST: ./err's "shelter: error: " lines from the side HOST names
# ("testhost: " when remote: E2E_SRC_HOST or E2E_DEST_HOST), without the
# prefix and HOST; for an empty HOST, only lines that name no host.
from() {
	if [ -n "$1" ]; then
		sed -n "s/^shelter: error: $1//p" err
	else
		sed -n "s/^shelter: error: //p" err | grep -v "^testhost: "
	fi
}

# err_from HOST REGEX: an error from the side HOST names matches REGEX
err_from() {
	from "$1" | grep -q -e "$2" || fail "no error from [${1:-local side}] matching [$2]: [$(cat err)]"
}

# one_error HOST WORD...: ./err is one line "shelter: error: HOST..." (see
# from) holding every WORD
one_error() {
	local w host=$1
	shift
	expect_eq 1 "$(wc -l <err)" "lines on stderr: [$(cat err)]" &&
	{ [ -n "$(from "$host")" ] || fail "no \"shelter: error: $host\" prefix: [$(cat err)]"; } &&
	for w in "$@"; do
		grep -qF -e "$w" err || fail "stderr does not name [$w]: [$(cat err)]" || return 1
	done
}

NOBODY=65534

# as_nobody EXPECTED_EXIT ARGS...: sh_run as uid/gid 65534
as_nobody() {
	local want=$1 got=0
	shift
	XDG_STATE_HOME=$T_ROOT/nobody-state \
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$SHELTER" "$@" >out 2>err || got=$?
	if [ "$got" != "$want" ]; then
		echo "(as uid $NOBODY) shelter $* exited $got, expected $want"
		echo "--- stdout"; cat out
		echo "--- stderr"; cat err
		return 1
	fi
}

# The scratch root is mode 0700 from mktemp: open it to the unprivileged user.
chmod 755 "$T_ROOT"
CAN_DROP=
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$SHELTER" --version >/dev/null 2>&1 &&
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups test -x "$T_ROOT"; then
	CAN_DROP=1
	# Its own run log directory (the run log of each pass, runlog.c).
	mkdir -p "$T_ROOT/nobody-state" && chown $NOBODY:$NOBODY "$T_ROOT/nobody-state"
	# Push and pull: an ssh client setup that uid 65534 can read; the
	# remote side runs as 65534 too (remote-wrap.sh).
	[ "$E2E_MODE" = local ] || sshd_client_for $NOBODY $NOBODY || CAN_DROP=
fi

# nobody_t TITLE BODY: t when we can run as the unprivileged user, else skip
nobody_t() {
	if [ -n "$CAN_DROP" ]; then
		t "$1" "chmod 755 . && $2"
	else
		skip "$1" 'needs root, setpriv, and uid 65534 able to reach the scratch dir and the binary'
	fi
}

# nest_t TITLE BODY: t, for the tests of SRC and DEST that nest; a skip in
# push and pull mode. shelter compares the two roots (after realpath) only
# when both are local: with one over ssh they are on two machines as far as
# it can know, and nothing can nest (that testhost is this machine is the
# test's doing).
nest_t() {
	if [ "$E2E_MODE" = local ]; then
		t "$1" "$2"
	else
		skip "$1" "$E2E_MODE: SRC and DEST on two hosts cannot nest; shelter checks only local roots"
	fi
}

t 'SRC missing: exit 3, the message names SRC, DEST not created' '
	sh_run 3 backup nosuch dst &&
	one_error "$E2E_SRC_HOST" nosuch "No such file or directory" &&
	[ ! -e dst ]
'

t 'SRC a file: exit 3, the message names SRC, DEST not created' '
	printf x >file &&
	sh_run 3 backup file dst &&
	one_error "$E2E_SRC_HOST" file &&
	[ ! -e dst ]
'

t 'SRC a symlink to a file: exit 3' '
	printf x >file && ln -s file link &&
	sh_run 3 backup link dst &&
	one_error "$E2E_SRC_HOST" link &&
	[ ! -e dst ]
'

t 'DEST an existing file: exit 3, the file untouched' '
	mkdir src && printf x >src/a && printf keep >dest &&
	sh_run 3 backup src dest &&
	one_error "$E2E_DEST_HOST" dest &&
	expect_eq keep "$(cat dest)" &&
	[ ! -e .shelter ]
'

t 'DEST a symlink to a file: exit 3, the file untouched' '
	mkdir src && printf x >src/a && printf keep >target && ln -s target dest &&
	sh_run 3 backup src dest &&
	one_error "$E2E_DEST_HOST" dest &&
	expect_eq keep "$(cat target)" && [ -L dest ]
'

nest_t 'DEST inside SRC: exit 3, nothing created' '
	mkdir -p src/sub && printf x >src/a &&
	listing src >before &&
	sh_run 3 backup src src/dst &&
	one_error "" src/dst &&
	sh_run 3 backup src src/sub/dst &&
	sh_run 3 backup src/ src/sub &&
	listing src >after &&
	diff -u before after
'

nest_t 'DEST the same as SRC: exit 3, nothing changed' '
	mkdir src && printf x >src/a &&
	listing src >before &&
	sh_run 3 backup src src &&
	sh_run 3 backup src ./src/ &&
	listing src >after &&
	diff -u before after
'

nest_t 'DEST inside SRC through a symlink (after realpath): exit 3' '
	mkdir -p src/sub && printf x >src/a && ln -s src alias &&
	listing src >before &&
	sh_run 3 backup src alias/dst &&
	sh_run 3 backup alias src/sub &&
	listing src >after &&
	diff -u before after
'

nest_t 'SRC inside DEST: exit 3, DEST unchanged' '
	mkdir -p dst/inner/src && printf x >dst/inner/src/a && printf y >dst/other &&
	listing dst >before &&
	sh_run 3 backup dst/inner/src dst &&
	one_error "" dst &&
	ln -s dst/inner/src alias &&
	sh_run 3 backup alias dst &&
	listing dst >after &&
	diff -u before after
'

t 'DEST parent missing: exit 3, nothing created' '
	mkdir src && printf x >src/a &&
	sh_run 3 backup src nope/dst &&
	one_error "$E2E_DEST_HOST" nope &&
	[ ! -e nope ] &&
	sh_run 3 backup src nope/deeper/dst &&
	[ ! -e nope ]
'

nobody_t 'unreadable file: reported with path and strerror, rest backed up, exit 23' '
	mkdir -p src/sub &&
	printf a >src/a && printf b >src/sub/b && printf s >src/secret && printf s2 >src/sub/secret2 &&
	chmod -R a+rX src && chmod 000 src/secret src/sub/secret2 &&
	mkdir dst && chown $NOBODY:$NOBODY dst &&
	as_nobody 23 backup src dst &&
	err_from "$E2E_SRC_HOST" "secret.*Permission denied" &&
	err_from "$E2E_SRC_HOST" "sub/secret2.*Permission denied" &&
	{ ! grep -v "^shelter: \\(error\\|warning\\): " err || fail "stderr lines without the shelter: prefix"; } &&
	expect_eq a "$(cat dst/a)" && expect_eq b "$(cat dst/sub/b)" &&
	[ ! -e dst/secret ] && [ ! -e dst/sub/secret2 ] &&
	no_temp_files dst
'

nobody_t 'unreadable file already in DEST: old copy kept, exit 23' '
	mkdir src && printf old >src/secret && printf a >src/a && chmod -R a+rX src &&
	mkdir dst && chown $NOBODY:$NOBODY dst &&
	as_nobody 0 backup src dst &&
	printf newer >src/secret && chmod 000 src/secret && printf a2 >src/a &&
	as_nobody 23 backup src dst &&
	err_from "$E2E_SRC_HOST" "secret.*Permission denied" &&
	expect_eq old "$(cat dst/secret)" "the old copy of the unreadable file" &&
	expect_eq a2 "$(cat dst/a)" &&
	no_temp_files dst
'

nobody_t 'unreadable directory: reported, nothing below it deleted in DEST, exit 23' '
	mkdir -p src/locked/deep src/open &&
	printf 1 >src/locked/f && printf 2 >src/locked/deep/g && ln -s f src/locked/l &&
	printf o >src/open/o && printf gone >src/open/gone &&
	chmod -R a+rX src &&
	mkdir dst && chown $NOBODY:$NOBODY dst &&
	as_nobody 0 backup src dst &&
	listing dst/locked -mindepth 1 >before &&
	chmod 000 src/locked &&
	rm src/open/gone && printf new >src/open/new &&
	as_nobody 23 backup src dst &&
	err_from "$E2E_SRC_HOST" "locked.*Permission denied" &&
	listing dst/locked -mindepth 1 >after &&
	diff -u before after &&
	expect_eq new "$(cat dst/open/new)" "other changes are done" &&
	[ ! -e dst/open/gone ] &&
	expect_eq "" "$(find dst/.shelter -path "*/tree/locked*" 2>/dev/null || :)" "nothing below locked/ moved to history"
'

nobody_t 'an unchanged file that became unreadable is not read (exit 0)' '
	mkdir src && printf a >src/a && printf b >src/b && chmod -R a+rX src &&
	mkdir dst && chown $NOBODY:$NOBODY dst &&
	as_nobody 0 backup src dst &&
	chmod 000 src/a &&
	as_nobody 0 backup src dst &&
	expect_eq "" "$(cat err)" stderr &&
	expect_eq a "$(cat dst/a)"
'

nobody_t 'DEST that cannot be created: exit 11' '
	mkdir src parent && printf a >src/a && chmod -R a+rX src && chmod 755 parent &&
	as_nobody 11 backup src parent/dst &&
	err_from "$E2E_DEST_HOST" "parent/dst" &&
	[ ! -e parent/dst ]
'

nobody_t 'DEST/.shelter not writable when history is needed: exit 11, nothing lost' '
	mkdir src && printf old >src/a && printf b >src/b && chmod -R a+rX src &&
	mkdir dst && chown $NOBODY:$NOBODY dst &&
	as_nobody 0 backup src dst &&
	mkdir -p dst/.shelter && chown root:root dst/.shelter && chmod 755 dst/.shelter &&
	printf new >src/a && rm src/b &&
	as_nobody 11 backup src dst &&
	err_from "$E2E_DEST_HOST" "\\.shelter" &&
	expect_eq old "$(cat dst/a)" "the old a, not kept in history, is still in place" &&
	expect_eq b "$(cat dst/b)" "b, not kept in history, is still in place"
'

nobody_t 'a DEST directory that cannot be written: reported, rest done, exit 23' '
	mkdir -p src/ro src/rw && printf x >src/ro/x && printf y >src/rw/y && chmod -R a+rX src &&
	mkdir dst && chown $NOBODY:$NOBODY dst &&
	as_nobody 0 backup src dst &&
	chown root:root dst/ro && chmod 755 dst/ro &&
	printf new >src/ro/new && printf y2 >src/rw/y && printf z >src/z &&
	as_nobody 23 backup src dst &&
	err_from "$E2E_DEST_HOST" "ro/new.*Permission denied" &&
	expect_eq y2 "$(cat dst/rw/y)" && expect_eq z "$(cat dst/z)" &&
	[ ! -e dst/ro/new ] &&
	no_temp_files dst
'

done_testing
