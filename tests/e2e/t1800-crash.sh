#!/bin/bash
# t1800-crash: SIGKILL at many moments of a pass, alternately the client
# (the sender) and the forked server (the receiver, which writes DEST).
#
# Wherever the kill lands, every file under its final name must hold its
# old or its new content, history kept before the pass must be intact and
# whatever the killed pass moved into history must be an old version; one
# re-run must then finish the job exactly, leaving no temporary file and
# every replaced or deleted version in history.
#
# Environment:
#   CRASH_POINTS  number of kill points (default 12)
#   CRASH_SEED    seed of the kill-point jitter (default: random, printed)
#   DATA_SEED     seed of the generated tree (default 1800)
. "$(dirname "$0")/lib.sh"

: "${CRASH_POINTS:=12}"
: "${CRASH_SEED:=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
: "${DATA_SEED:=1800}"

if ! command -v python3 >/dev/null 2>&1 || ! command -v pgrep >/dev/null 2>&1; then
	skip 'crash campaign' 'needs python3 and pgrep'
	done_testing
	exit
fi

W=$T_ROOT/w		# shared by all the tests of this file
mkdir -p "$W"
PY=$T_ROOT/crash.py

# ---- the Python half: tree generation, manifests, checks -----------------
cat >"$PY" <<'EOF'
import os, sys, stat, pickle, hashlib, random, re

MiB = 1 << 20
TMP_RE = re.compile(rb'^\.shelter-tmp-[0-9a-f]{16}$')

sys.path.insert(0, os.path.join(os.environ['TOP_SRCDIR'], 'tests', 'e2e'))
from trees import sha, walk, show, unescape

def wfile(path, data, mtime):
    with open(path, 'wb') as f:
        f.write(data)
    os.utime(path, ns=(mtime, mtime))

OLD_T = 1600000000 * 10**9    # mtimes of the first generation
MID_T = 1650000000 * 10**9    # files changed before pass 1
NEW_T = 1700000000 * 10**9    # files changed for pass 2

def gen(src, seed):
    """Generation 0 of SRC."""
    rnd = random.Random(seed)
    os.makedirs(src)
    os.mkdir(src + '/big')
    for i in range(4):
        wfile('%s/big/b%d' % (src, i), rnd.randbytes(24 * MiB), OLD_T + i)
    for d in range(10):
        dd = '%s/d%02d' % (src, d)
        os.mkdir(dd)
        for k in range(20):
            n = rnd.choice([0, 1, 100, 1000, 4096, 8000, 20000])
            wfile('%s/f%02d' % (dd, k), rnd.randbytes(n), OLD_T + 1000 + d * 100 + k)
    os.makedirs(src + '/deep/a/b/c')
    wfile(src + '/deep/a/b/c/leaf', rnd.randbytes(3000), OLD_T + 5)
    os.mkdir(src + '/gone')               # deleted whole in pass 2
    for k in range(5):
        wfile('%s/gone/g%d' % (src, k), rnd.randbytes(5000), OLD_T + 50 + k)
    os.mkdir(src + '/swap')
    wfile(src + '/swap/fd', rnd.randbytes(7000), OLD_T + 60)   # file -> dir
    os.mkdir(src + '/swap/df')                                  # dir -> file
    for k in range(3):
        wfile('%s/swap/df/x%d' % (src, k), rnd.randbytes(6000), OLD_T + 61 + k)
    os.symlink('d00/f00', src + '/link-keep')
    os.symlink('d01/f01', src + '/link-change')
    os.symlink('gone/g0', src + '/link-gone')
    os.mkdir(src + '/emptydir')

def mutate1(src, seed):
    """Small changes before pass 1, so that pass 1 leaves history behind."""
    rnd = random.Random(seed + 1)
    for d, k in [(0, 1), (0, 2), (3, 3), (9, 19)]:
        p = '%s/d%02d/f%02d' % (src, d, k)
        wfile(p, rnd.randbytes(2000), MID_T + d * 100 + k)
    os.unlink(src + '/d05/f05')
    os.unlink(src + '/d05/f06')

def poke(path, rnd, spots, size):
    with open(path, 'r+b') as f:
        for _ in range(spots):
            f.seek(rnd.randrange(0, size - 4096))
            f.write(rnd.randbytes(4096))

def mutate2(src, seed):
    """The changes pass 2 carries over (the one that gets killed)."""
    rnd = random.Random(seed + 2)
    # the large files: scattered edits, so deltas are used
    for i in range(4):
        p = '%s/big/b%d' % (src, i)
        poke(p, rnd, 8, 24 * MiB)
        if i == 1:
            with open(p, 'ab') as f:
                f.write(rnd.randbytes(MiB))
        if i == 2:   # an insertion in the middle shifts everything after it
            with open(p, 'rb') as f:
                data = f.read()
            data = data[:10 * MiB] + rnd.randbytes(10000) + data[10 * MiB:]
            with open(p, 'wb') as f:
                f.write(data)
        os.utime(p, ns=(NEW_T + i, NEW_T + i))
    # a new large file, sent whole
    wfile(src + '/big/b4', rnd.randbytes(8 * MiB), NEW_T + 4)
    # small files: modified, deleted, added
    for d in range(10):
        for k in range(20):
            p = '%s/d%02d/f%02d' % (src, d, k)
            if not os.path.exists(p):
                continue
            r = rnd.random()
            if r < 0.25:
                n = os.path.getsize(p)
                wfile(p, rnd.randbytes(n if n and rnd.random() < 0.5 else n + 100),
                      NEW_T + 1000 + d * 100 + k)
            elif r < 0.35:
                os.unlink(p)
        for k in range(20, 24):
            wfile('%s/d%02d/f%02d' % (src, d, k), rnd.randbytes(rnd.choice([0, 10, 5000])),
                  NEW_T + 1000 + d * 100 + k)
    os.makedirs(src + '/newdir/sub')
    for k in range(10):
        wfile('%s/newdir/sub/n%d' % (src, k), rnd.randbytes(3000), NEW_T + 200 + k)
    # a directory deleted whole, a file replaced by a directory and back
    for k in range(5):
        os.unlink('%s/gone/g%d' % (src, k))
    os.rmdir(src + '/gone')
    os.unlink(src + '/swap/fd')
    os.mkdir(src + '/swap/fd')
    wfile(src + '/swap/fd/inside', rnd.randbytes(4000), NEW_T + 300)
    for k in range(3):
        os.unlink('%s/swap/df/x%d' % (src, k))
    os.rmdir(src + '/swap/df')
    wfile(src + '/swap/df', rnd.randbytes(9000), NEW_T + 301)
    wfile(src + '/deep/a/b/c/leaf', rnd.randbytes(3001), NEW_T + 5)
    os.unlink(src + '/link-change')
    os.symlink('d02/f02', src + '/link-change')
    os.unlink(src + '/link-gone')
    os.rmdir(src + '/emptydir')
    os.mkdir(src + '/emptydir2')

def index_paths(path):
    """Paths recorded in a history index (a last line without LF counts)."""
    try:
        with open(path, 'rb') as f:
            lines = f.read().split(b'\n')
    except FileNotFoundError:
        return None
    recs = {}
    for ln in lines[1:]:
        fs = ln.split(b'\t')
        if len(fs) >= 8:
            recs[unescape(fs[7])] = fs
    return recs

def load(p):
    with open(p, 'rb') as f:
        return pickle.load(f)

def states(old, new, p):
    return [s for s in (old.get(p), new.get(p)) if s is not None]

def check_crash(oldp, newp, prehistp, recordedp, dest):
    """(a) mirror: old or new content; (b) history: nothing lost, only old versions."""
    old, new, prehist, recorded = load(oldp), load(newp), load(prehistp), load(recordedp)
    bad = []
    cur = walk(dest)
    n_old = n_new = n_tmp = 0
    for p, (k, h, _) in sorted(cur.items()):
        base = p.rsplit(b'/', 1)[-1]
        if k == 'f' and TMP_RE.match(base):
            n_tmp += 1
            continue
        st = states(old, new, p)
        if not st:
            bad.append('(a) %s: a %s that is neither in the old nor in the new state'
                       % (show(p), {'f': 'file', 'd': 'dir', 'l': 'symlink'}.get(k, k)))
            continue
        if not any(s[0] == k and s[1] == h for s in st):
            want = ', '.join(sorted({'%s %s' % (s[0], s[1] if s[0] != 'l' else show(s[1]))
                                     for s in st}))
            have = h if k != 'l' else show(h)
            bad.append('(a) %s: has %s %s, expected one of: %s' % (show(p), k, have, want))
            continue
        if k == 'f':
            o, n = old.get(p), new.get(p)
            if n and n[:2] == (k, h) and not (o and o[:2] == (k, h)):
                n_new += 1
            elif o and o[:2] == (k, h) and not (n and n[:2] == (k, h)):
                n_old += 1
    for p in sorted(old):
        if old[p][0] == 'f' and new.get(p, ('',))[0] == 'f' and p not in cur:
            bad.append('(a) %s: missing, but it is a file in both the old and the new state'
                       % show(p))
    # (b) history
    hroot = os.path.join(dest, '.shelter', 'history')
    hist = walk(hroot, False) if os.path.isdir(hroot) else {}
    for p, s in sorted(prehist.items()):
        if p not in hist:
            bad.append('(b) history/%s (from before the pass) is gone' % show(p))
        elif hist[p][:2] != s[:2]:
            bad.append('(b) history/%s (from before the pass) changed: %s -> %s'
                       % (show(p), s[1], hist[p][1]))
    oldpasses = {p.split(b'/')[0] for p in prehist}
    n_hist = 0
    for p, (k, h, size) in sorted(hist.items()):
        parts = p.split(b'/')
        if parts[0] in oldpasses:
            continue
        if len(parts) == 1 or (len(parts) == 2 and parts[1] in (b'tree', b'index')):
            continue
        if parts[1] != b'tree':
            bad.append('(b) history/%s: unexpected file in a pass folder' % show(p))
            continue
        rel = b'/'.join(parts[2:])
        o = old.get(rel)
        if k == 'd':
            if not o or o[0] != 'd':
                bad.append('(b) history/%s: a directory, but %s was no directory'
                           % (show(p), show(rel)))
            continue
        if not o or o[:2] != (k, h):
            bad.append('(b) history/%s: %s %s is not the old version of %s (%s)'
                       % (show(p), k, h if k != 'l' else show(h), show(rel),
                          'none' if not o else '%s %s' % (o[0], o[1])))
            continue
        n_hist += 1
        recs = index_paths(os.path.join(hroot, os.fsdecode(parts[0]), 'index'))
        if recs is None or rel not in recs:
            # only what an uninterrupted pass records (test 3 checks the rest)
            if rel in recorded:
                bad.append('(b) history/%s: no record in history/%s/index (a record is '
                           'appended before its file is moved)' % (show(p), show(parts[0])))
        elif recs[rel][1] != k.encode() or (k == 'f' and recs[rel][2] != str(size).encode()):
            bad.append('(b) history/%s: index record says type %s size %s, file is %s %d'
                       % (show(p), show(recs[rel][1]), show(recs[rel][2]), k, size))
    print('files: %d new, %d old, %d temporary; %d moved to history'
          % (n_new, n_old, n_tmp, n_hist))
    for b in bad:
        print(b)
    return 1 if bad else 0

def check_history(oldp, newp, prehistp, dest):
    """(c) every replaced or deleted version is somewhere in history tree/."""
    old, new, prehist = load(oldp), load(newp), load(prehistp)
    hroot = os.path.join(dest, '.shelter', 'history')
    hist = walk(hroot, False) if os.path.isdir(hroot) else {}
    have = {}
    for p, (k, h, _) in hist.items():
        parts = p.split(b'/')
        if len(parts) > 2 and parts[1] == b'tree':
            have.setdefault(b'/'.join(parts[2:]), set()).add((k, h))
    allh = {(k, h) for (k, h, _) in hist.values()}
    bad = []
    n = 0
    for p, (k, h, _) in sorted(old.items()):
        if k == 'd' or new.get(p, (None, None))[:2] == (k, h):
            continue
        n += 1
        if (k, h) in have.get(p, ()):
            continue
        where = ' (the content is elsewhere in history)' if (k, h) in allh else ''
        what = 'file' if k == 'f' else 'symlink -> ' + show(h)
        bad.append('(c) old %s %s %s is not under history/*/tree/%s%s'
                   % (what, show(p), h if k == 'f' else '', show(p), where))
    for p, s in sorted(prehist.items()):
        if hist.get(p, (None, None))[:2] != s[:2]:
            bad.append('(c) history/%s (from before the pass) is gone or changed' % show(p))
    print('%d replaced or deleted versions checked' % n)
    for b in bad:
        print(b)
    return 1 if bad else 0

def index_check(dest, recordedp):
    """Every file or symlink kept in a tree/ has its record in the pass's index;
    save the set of recorded paths to RECORDEDP."""
    hroot = os.path.join(dest, '.shelter', 'history')
    hist = walk(hroot, False) if os.path.isdir(hroot) else {}
    bad = []
    recorded = set()
    for pas in sorted({p.split(b'/')[0] for p in hist}):
        recs = index_paths(os.path.join(hroot, os.fsdecode(pas), 'index')) or {}
        recorded |= set(recs)
        for p, (k, h, size) in sorted(hist.items()):
            parts = p.split(b'/')
            if parts[0] != pas or len(parts) < 3 or parts[1] != b'tree' or k == 'd':
                continue
            rel = b'/'.join(parts[2:])
            if rel not in recs:
                bad.append('history/%s: no record in history/%s/index'
                           % (show(p), show(pas)))
            elif recs[rel][1] != k.encode() or (k == 'f' and recs[rel][2] != str(size).encode()):
                bad.append('history/%s: index record says type %s size %s, file is %s %d'
                           % (show(p), show(recs[rel][1]), show(recs[rel][2]), k, size))
    with open(recordedp, 'wb') as f:
        pickle.dump(recorded, f)
    for b in bad:
        print(b)
    return 1 if bad else 0

def killpoints(seed, dur_us, n):
    """N points spread over the duration: one uniformly random point per slice."""
    rnd = random.Random(seed)
    for i in range(n):
        print(int(dur_us * (i + rnd.random()) / n))

def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == 'gen': gen(a[0], int(a[1]))
    elif cmd == 'mutate1': mutate1(a[0], int(a[1]))
    elif cmd == 'mutate2': mutate2(a[0], int(a[1]))
    elif cmd == 'snap':
        with open(a[1], 'wb') as f:
            pickle.dump(walk(a[0]), f)
    elif cmd == 'snaphist':
        h = os.path.join(a[0], '.shelter', 'history')
        with open(a[1], 'wb') as f:
            pickle.dump(walk(h, False) if os.path.isdir(h) else {}, f)
    elif cmd == 'check-crash': sys.exit(check_crash(*a))
    elif cmd == 'check-history': sys.exit(check_history(*a))
    elif cmd == 'index-check': sys.exit(index_check(*a))
    elif cmd == 'killpoints': killpoints(int(a[0]), int(a[1]), int(a[2]))
    else: sys.exit('unknown command ' + cmd)

main()
EOF

# ---- shell helpers ---------------------------------------------------------
# Process creation is slow on some machines (10+ ms): the helpers below that
# run in loops fork nothing.

# now_us: set NOW to the wall clock in microseconds
now_us() { local t=$EPOCHREALTIME; NOW=$((10#${t/./})); }

# fmt_s US: microseconds as seconds with two decimals
fmt_s() { printf '%d.%02d' $(($1 / 1000000)) $(($1 % 1000000 / 10000)); }

# alive PID: the process exists and is not a zombie
alive() {
	local st
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# wait_gone PID SECONDS: wait for a process that is not our child to end
wait_gone() {
	local i=0
	while alive "$1"; do
		i=$((i + 1))
		[ $i -le $(($2 * 20)) ] || return 1
		sleep 0.05
	done
}

# child_of PID: set SPID to a child of PID (the forked server), or empty
child_of() {
	local c
	SPID=
	for c in /proc/[0-9]*/stat; do
		{ read -r c <"$c"; } 2>/dev/null || continue
		set -- "$1" ${c##*) }
		if [ "$3" = "$1" ]; then
			SPID=${c%% *}
			return 0
		fi
	done
	return 1
}

# restore DIR: DIR becomes the post-pass-1 state (mirror and .shelter)
restore() {
	rm -rf "$1"
	cp -a "$W/pristine" "$1"
}

# ---- setup -----------------------------------------------------------------

t 'setup: generate SRC, pass 0 and pass 1 (the old state, with history)' '
	python3 "$PY" gen "$W/src" "$DATA_SEED"
	"$SHELTER" backup "$W/src" "$W/pristine"
	python3 "$PY" mutate1 "$W/src" "$DATA_SEED"
	"$SHELTER" backup "$W/src" "$W/pristine"
	check_same "$W/src" "$W/pristine"
	ls "$W/pristine/.shelter/history" | grep -q .
	python3 "$PY" snap "$W/pristine" "$W/old.pkl"
	python3 "$PY" snaphist "$W/pristine" "$W/prehist.pkl"
	python3 "$PY" mutate2 "$W/src" "$DATA_SEED"
	python3 "$PY" snap "$W/src" "$W/new.pkl"
'

t 'an uninterrupted pass 2 is exact and keeps every old version' '
	restore "$W/scratch"
	now_us; t0=$NOW
	"$SHELTER" backup --stats "$W/src" "$W/scratch" >"$W/stats"
	now_us; echo $((NOW - t0)) >"$W/dur_us"
	check_same "$W/src" "$W/scratch"
	check_same "$W/src" "$W/scratch"
	no_temp_files "$W/scratch"
	python3 "$PY" check-history "$W/old.pkl" "$W/new.pkl" "$W/prehist.pkl" "$W/scratch"
	grep -q "^Matched data: [1-9]" "$W/stats"
	# the duration: the faster of this run and one more (page cache warm)
	restore "$W/scratch2"
	now_us; t0=$NOW
	"$SHELTER" backup "$W/src" "$W/scratch2"
	now_us
	[ $((NOW - t0)) -ge $(cat "$W/dur_us") ] || echo $((NOW - t0)) >"$W/dur_us"
	rm -rf "$W/scratch2"
'
DUR_US=$(cat "$W/dur_us" 2>/dev/null || echo 2000000)
echo "# uninterrupted pass 2: $(fmt_s "$DUR_US")s; $CRASH_POINTS kill points, CRASH_SEED=$CRASH_SEED"
sed 's/^/#   /' "$W/stats" 2>/dev/null

t 'the history index has a record for every file and symlink kept in tree/' '
	python3 "$PY" index-check "$W/scratch" "$W/recorded.pkl"
'
[ -f "$W/recorded.pkl" ] || python3 "$PY" index-check "$W/scratch" "$W/recorded.pkl" >/dev/null
rm -rf "$W/scratch"

# ---- the campaign ------------------------------------------------------------

# crash_run POINT_US WHO: restore DEST, start pass 2, kill -9 WHO (client or
# server) POINT_US after the start, wait for both processes, check.
crash_run() {
	local at=$1 who=$2 d=$W/dest t0 rem cpid spid= rc=0 i bad=
	restore "$d"
	now_us; t0=$NOW
	"$SHELTER" backup --retries 0 "$W/src" "$d" >"$W/run.out" 2>"$W/run.err" &
	cpid=$!
	# the server is the client's only child
	while [ -z "$spid" ] && alive "$cpid"; do
		child_of "$cpid" && spid=$SPID
	done
	now_us
	rem=$((t0 + at - NOW))
	[ $rem -le 0 ] || sleep "$(printf '%d.%06d' $((rem / 1000000)) $((rem % 1000000)))"
	now_us
	if [ "$who" = client ]; then
		kill -9 "$cpid" 2>/dev/null || echo "(the client had already exited)" >>"$W/info"
		wait "$cpid" 2>/dev/null || rc=$?
		if [ -n "$spid" ] && ! wait_gone "$spid" 60; then
			kill -9 "$spid"
			echo "the server (pid $spid) was still running 60 s after the client was killed"
			return 1
		fi
		echo "killed the client at $(fmt_s $((NOW - t0)))s; client status $rc" >>"$W/info"
	else
		if [ -n "$spid" ]; then
			kill -9 "$spid" 2>/dev/null || echo "(the server had already exited)" >>"$W/info"
		else
			echo "(no server found: the client had already exited)" >>"$W/info"
		fi
		i=0
		while alive "$cpid"; do
			i=$((i + 1))
			if [ $i -gt 1200 ]; then
				kill -9 "$cpid"
				echo "the client was still running 60 s after the server was killed"
				return 1
			fi
			sleep 0.05
		done
		wait "$cpid" || rc=$?
		echo "killed the server at $(fmt_s $((NOW - t0)))s; client exit code $rc" \
			"($(head -c 200 "$W/run.err" | tr "\n" " "))" >>"$W/info"
		case $rc in
		0|10) ;;
		*) bad=1	# reported now, the checks below still run
		   echo "the client exited $rc after its server was killed, expected 10" \
			"(connection lost), or 0 if the pass was over; its stderr:"
		   cat "$W/run.err" ;;
		esac
	fi
	# (a) and (b): the state the kill left
	python3 "$PY" check-crash "$W/old.pkl" "$W/new.pkl" "$W/prehist.pkl" \
		"$W/recorded.pkl" "$d" >"$W/check" || { bad=1; tail -n +2 "$W/check"; }
	head -1 "$W/check" >>"$W/info"
	# the mirror index the kill left still vouches for nothing it has not seen
	# (t3000-verify; doc/history.md "Mirror index")
	"$SHELTER" verify "$d" >"$W/verify.out" 2>&1 || {
		bad=1; echo "verify after the kill exited $?:"; cat "$W/verify.out"; }
	# (c): one re-run finishes the job
	"$SHELTER" backup "$W/src" "$d" >"$W/rerun.out" 2>"$W/rerun.err" || {
		echo "re-run exited $?"; cat "$W/rerun.err"; return 1; }
	check_same "$W/src" "$d" >"$W/check" || { bad=1; cat "$W/check"; }
	python3 "$PY" check-history "$W/old.pkl" "$W/new.pkl" "$W/prehist.pkl" "$d" >"$W/check" || {
		bad=1; cat "$W/check"; }
	no_temp_files "$d" || bad=1
	"$SHELTER" verify "$d" >"$W/verify.out" 2>&1 &&
		grep -q ": 0 damaged, 0 missing, 0 without a record\$" "$W/verify.out" || {
		bad=1; echo "verify after the re-run:"; cat "$W/verify.out"; }
	[ -z "$bad" ]
}

i=0
for at in $(python3 "$PY" killpoints "$CRASH_SEED" "$DUR_US" "$CRASH_POINTS"); do
	if [ $((i % 2)) -eq 0 ]; then who=client; else who=server; fi
	: >"$W/info"
	t "kill $who at $(fmt_s "$at")s" "crash_run $at $who"
	sed 's/^/#   /' "$W/info"
	i=$((i + 1))
done

done_testing
