#!/bin/bash
# bench/ssh-compare.sh - shelter against rsync over the same ssh to 127.0.0.1:
# an initial copy of 20,000 small files and a pass with nothing to do,
# interleaved (shelter, rsync, shelter, rsync, ...), median of ROUNDS runs.
# Not part of `make check`. Needs rsync (apt-get install rsync) and the
# packages of scripts/quickstart.sh. Run from the top of a built tree:
#   bash bench/ssh-compare.sh            (FILES=20000 ROUNDS=3 by default)
set -u
cd "$(dirname "$0")/.."
SHELTER=$(pwd)/src/shelter
FILES=${FILES:-20000}
ROUNDS=${ROUNDS:-3}
command -v rsync >/dev/null || { echo "bench: install rsync first (apt-get install rsync)"; exit 1; }
T_ROOT=$(mktemp -d /tmp/shelter-bench.XXXXXX)
. tests/e2e/sshd.sh
sshd_start >/dev/null || { echo "bench: cannot start sshd"; exit 1; }

python3 - "$T_ROOT/src" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
for i in range(n):
    d = os.path.join(root, 'd%d' % (i % 10), 'e%d' % (i // 10 % 10), 'f%d' % (i // 100 % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'file%d.dat' % i), 'wb') as f:
        f.write(rnd.randbytes(rnd.randint(1024, 32 * 1024)))
PY

now() { date +%s.%N; }
# timed NAME CMD...: wall seconds of CMD appended to $T_ROOT/NAME
timed() {
	local name=$1 t0 t1
	shift
	t0=$(now)
	"$@" >/dev/null 2>&1 || echo "bench: $name failed" >&2
	t1=$(now)
	awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }' >>"$T_ROOT/$name"
}
median() { sort -n "$T_ROOT/$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for r in $(seq "$ROUNDS"); do
	rm -rf "$T_ROOT/d1" "$T_ROOT/d2"; sync; sleep 2
	timed shelter_first "$SHELTER" backup -e "$SSH" --remote-cmd "$SHELTER" "$T_ROOT/src" "testhost:$T_ROOT/d1"
	sync; sleep 2
	timed rsync_first rsync -a --delete -e "$SSH" "$T_ROOT/src/" "testhost:$T_ROOT/d2/"
	timed shelter_nochange "$SHELTER" backup -e "$SSH" --remote-cmd "$SHELTER" "$T_ROOT/src" "testhost:$T_ROOT/d1"
	timed rsync_nochange rsync -a --delete -e "$SSH" "$T_ROOT/src/" "testhost:$T_ROOT/d2/"
	timed ssh_true $SSH testhost true
done
sf=$(median shelter_first); rf=$(median rsync_first)
sn=$(median shelter_nochange); rn=$(median rsync_nochange); st=$(median ssh_true)
printf '| pass (%d files, ssh to 127.0.0.1, median of %d) | shelter s | rsync s | shelter/rsync |\n' "$FILES" "$ROUNDS"
printf '|---|---|---|---|\n'
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
printf '| first copy | %s | %s | %s |\n' "$(calc "$sf")" "$(calc "$rf")" "$(calc "$sf / $rf")"
printf '| nothing changed | %s | %s | %s |\n' "$(calc "$sn")" "$(calc "$rn")" "$(calc "$sn / $rn")"
printf '| nothing changed, above `ssh host true` (%s s) | %s | %s | %s |\n' "$(calc "$st")" \
	"$(calc "$sn - $st")" "$(calc "$rn - $st")" "$(calc "($sn - $st) / ($rn - $st)")"
