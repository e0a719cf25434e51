# lib.sh - a tiny TAP harness for shelter's end-to-end tests, in the manner
# of git's test-lib: each test is a titled block run in a subshell with
# `set -e`; the script gets a scratch directory and prints TAP for
# automake's tap-driver.
#
#   . "$(dirname "$0")/lib.sh"
#   t 'mirror keeps modes' '
#       mkdir src && ... && check_same src dst
#   '
#   done_testing
#
# SHELTER is the binary under test (make check sets it); TOP_SRCDIR the
# source tree.
#
# SHELTER_E2E_MODE runs a script's passes three ways: local (the default),
# push or pull. In push and pull mode a private sshd is started (sshd.sh)
# and SHELTER becomes remote-wrap.sh, which turns `backup SRC DEST` into
# `backup -e SSH --remote-cmd BINARY SRC testhost:/abs/DEST` (push) or
# `... testhost:/abs/SRC DEST` (pull). testhost is this machine, so the
# tests look at both trees as they are. tests/e2e/push/ and pull/ hold the
# scripts that make check runs in those modes. For the few assertions that
# differ by mode: E2E_MODE; E2E_SRC_HOST and E2E_DEST_HOST, "testhost: "
# when that side is remote (the remote side's messages start with it), else
# empty; STAT_TO_DEST and STAT_TO_SRC, the --stats lines that count the
# bytes that went towards DEST (the files' data) and back towards SRC: the
# client's "Total bytes sent" and "Total bytes received", swapped in a pull,
# where the client receives.

set -u
T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SHELTER:=$(cd "$T_LIB_DIR/../.." && pwd)/src/shelter}"
: "${TOP_SRCDIR:=$(cd "$T_LIB_DIR/../.." && pwd)}"
export SHELTER TOP_SRCDIR
LC_ALL=C
export LC_ALL
E2E_MODE=${SHELTER_E2E_MODE:-local}

T_COUNT=0
T_FAILED=0
T_NAME=$(basename "$0" .sh)
T_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/shelter-$T_NAME${E2E_MODE#local}.XXXXXX")
trap 'rm -rf "$T_ROOT"' EXIT
# Every pass appends to the run log and sync keeps state under
# $XDG_STATE_HOME: the scratch root's, never the user's home.
XDG_STATE_HOME=$T_ROOT/state
export XDG_STATE_HOME

# t TITLE BODY: run BODY in a fresh directory under the scratch root.
t() {
	T_COUNT=$((T_COUNT + 1))
	local dir="$T_ROOT/$T_COUNT" out
	mkdir -p "$dir"
	# Not inside an `if`: bash would ignore set -e in the body there.
	out=$(cd "$dir" && (set -eE
		trap 'echo "failed (exit $?): $BASH_COMMAND"' ERR
		eval "$2") 2>&1)
	if [ $? = 0 ]; then
		echo "ok $T_COUNT - $1"
	else
		T_FAILED=$((T_FAILED + 1))
		echo "not ok $T_COUNT - $1"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
}

# skip TITLE REASON
skip() {
	T_COUNT=$((T_COUNT + 1))
	echo "ok $T_COUNT - $1 # SKIP $2"
}

done_testing() {
	echo "1..$T_COUNT"
	[ "$T_FAILED" -eq 0 ]
}

# sh_run EXPECTED_EXIT ARGS...: run shelter, fail unless it exits EXPECTED_EXIT.
# Its stdout and stderr are kept in ./out and ./err.
sh_run() {
	local want=$1 got=0
	shift
	"$SHELTER" "$@" >out 2>err || got=$?
	if [ "$got" != "$want" ]; then
		echo "shelter $* exited $got, expected $want"
		echo "--- stdout"; cat out
		echo "--- stderr"; cat err
		return 1
	fi
}

fail() { printf '%s\n' "$*"; return 1; }

# expect_eq WANT GOT [WHAT]
expect_eq() {
	[ "$1" = "$2" ] && return 0
	printf 'expected%s: [%s]\n  actual: [%s]\n' "${3:+ ($3)}" "$1" "$2"
	return 1
}

# stat_num NAME [FILE]: the number on the --stats line "NAME: N ..." in FILE (./out)
stat_num() {
	local n
	n=$(sed -n "s/^$1: \\([0-9][0-9]*\\)\\( .*\\)\\{0,1\\}\$/\\1/p" "${2:-out}")
	[ -n "$n" ] || { echo "no \"$1\" line in --stats output:" >&2; cat "${2:-out}" >&2; return 1; }
	printf '%s\n' "$n"
}

# listing DIR [FIND-OPTIONS]: DIR and every entry below it (.shelter too)
# with its metadata and content hash: a fingerprint to show that nothing
# changed. (-mindepth 1 leaves DIR itself out.)
listing() {
	local d=$1
	shift
	(cd "$d" && find . "$@" -printf '%P\0%y %m %u:%g %T@ %s %i\0' |
		while IFS= read -r -d '' p && IFS= read -r -d '' meta; do
			case "$meta" in
			f*) h=$(sha256sum <"$p" | cut -c1-16) ;;
			l*) h=$(readlink -- "$p") ;;
			*) h=- ;;
			esac
			printf '%q %s %s\n' "$p" "$meta" "$h"
		done | LC_ALL=C sort)
}

# tree_manifest DIR: one line per entry below DIR (not DIR/.shelter), sorted:
# path (escaped), type, mode, mtime in ns, size (not for directories), and
# the sha256 of a file's content or a symlink's target. One process, so a
# tree of thousands of files takes a moment, not minutes.
tree_manifest() {
	python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = os.fsencode(sys.argv[1])
out = []
for top, dirs, files in os.walk(root):
    rel_top = os.path.relpath(top, root)
    if rel_top == b'.':
        dirs[:] = [d for d in dirs if d != b'.shelter']
        files = [f for f in files if f != b'.shelter']
    for name in sorted(dirs) + sorted(files):
        p = os.path.join(top, name)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        kind = stat.S_IFMT(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            t, size, h = 'd', '-', '-'
        elif stat.S_ISLNK(st.st_mode):
            t, size, h = 'l', st.st_size, os.readlink(p).hex()
        elif stat.S_ISREG(st.st_mode):
            with open(p, 'rb') as f:
                h = hashlib.sha256(f.read()).hexdigest()[:32]
            t, size = 'f', st.st_size
        else:
            t, size, h = 'special-%o' % kind, '-', '-'
        out.append('%r %s %o %d %s %s' % (rel, t, stat.S_IMODE(st.st_mode), st.st_mtime_ns, size, h))
for line in sorted(out):
    print(line)
PY
}

# check_same SRC DEST: same entries, types, modes, mtimes (ns), sizes, content.
check_same() {
	[ -d "$1" ] || { echo "check_same: $1 is not a directory"; return 1; }
	[ -d "$2" ] || { echo "check_same: $2 is not a directory"; return 1; }
	tree_manifest "$1" >"$T_ROOT/m1.$$"
	tree_manifest "$2" >"$T_ROOT/m2.$$"
	if ! diff -u "$T_ROOT/m1.$$" "$T_ROOT/m2.$$"; then
		echo "trees $1 and $2 differ"
		return 1
	fi
}

# manifest DIR: every entry below DIR but .shelter: path, type, mode, mtime
# (ns), size and symlink target, then the sha256 of every file. Cheaper
# than tree_manifest (no python), so scripts that compare many trees stay fast.
manifest() {
	(cd "$1" && find . -mindepth 1 -path ./.shelter -prune -o \
		-type d -printf '%P %y %m %T@\n' -o -printf '%P %y %m %T@ %s %l\n' | LC_ALL=C sort &&
	find . -path ./.shelter -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

# same_tree A B: same entries, types, modes, mtimes (ns), sizes, targets, content
same_tree() {
	manifest "$1" >"$T_ROOT/mf1.$$" && manifest "$2" >"$T_ROOT/mf2.$$" &&
	diff -u "$T_ROOT/mf1.$$" "$T_ROOT/mf2.$$" || fail "trees $1 and $2 differ"
}

# no_temp_files DIR: no leftover temporary files anywhere below DIR.
no_temp_files() {
	local left
	left=$(find "$1" -name '.shelter-tmp-*' | head -5)
	[ -z "$left" ] || { echo "temporary files left: $left"; return 1; }
}

# ---- push and pull modes ----------------------------------------------------
E2E_SRC_HOST= E2E_DEST_HOST=
STAT_TO_DEST='Total bytes sent' STAT_TO_SRC='Total bytes received'
case "$E2E_MODE" in
local) ;;
push | pull)
	. "$T_LIB_DIR/sshd.sh"
	if ! sshd_start mux >"$T_ROOT/sshd-start.log" 2>&1; then
		echo "1..0 # SKIP $E2E_MODE mode: no usable sshd: $(tail -1 "$T_ROOT/sshd-start.log")"
		exit 0
	fi
	if [ "$E2E_MODE" = push ]; then
		E2E_DEST_HOST='testhost: '
	else
		E2E_SRC_HOST='testhost: '
		STAT_TO_DEST='Total bytes received' STAT_TO_SRC='Total bytes sent'
	fi
	SHELTER_E2E_REAL=$SHELTER SHELTER_E2E_SSH=$SSH SHELTER_E2E_ROOT=$T_ROOT
	SHELTER_E2E_MODE=$E2E_MODE SHELTER=$T_LIB_DIR/remote-wrap.sh
	# The long options that take a value, for remote-wrap.sh to skip them.
	SHELTER_E2E_VALUE_OPTS=$("$SHELTER_E2E_REAL" --help 2>/dev/null |
		sed -n 's/^ *\(-., \)\{0,1\}\(--[a-z-]*\)=.*/\2/p' | tr '\n' ' ')
	export SHELTER SHELTER_E2E_REAL SHELTER_E2E_SSH SHELTER_E2E_ROOT SHELTER_E2E_MODE \
		SHELTER_E2E_VALUE_OPTS
	;;
*)
	echo "Bail out! SHELTER_E2E_MODE=$E2E_MODE: expected local, push or pull"
	exit 1
	;;
esac
