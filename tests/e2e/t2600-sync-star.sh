#!/bin/bash
# t2600-sync-star.sh - three replicas, A, B and C, kept in step through a hub
# H, each pair with its own state file (sync X H, X the ROOT1). Several
# rounds of seeded random edits on all four: creations, modifications,
# deletions, renames (a delete and a create to a sync), mode changes, and
# some concurrent edits of one path on two replicas (modified on both,
# modified and deleted, modified and re-moded, created on both).
#
# After each round's edits, A, B and C are synced with H in turn, then once
# more each, and then:
#   - the four trees are alike (content, mode, file mtimes, directory modes);
#   - a path edited by one replica only has that edit (its content, mode and
#     mtime), a path deleted (or renamed away) and edited nowhere else is
#     gone, a path nobody touched is as it was;
#   - a path edited concurrently into different versions holds one of them
#     and every other one is a conflict copy of it: the conflict copies of
#     each path are exactly the versions that lost, so an extra one is a
#     false conflict and a missing one a lost edit;
#   - the second sweep has nothing to resolve (exit 0, no conflict).
# The expected versions are tracked in Python across the rounds. Two fixed
# cases follow the rounds: one file edited on all three replicas at once
# (two conflict copies on the hub), and the same new file made on two
# replicas at different times (all four must end alike, mtimes too).
#
# Environment:
#   STAR_ROUNDS  rounds (default 5; 4 in push and pull mode)
#   STAR_SEED    seed of the edits (default: random, printed)
. "$(dirname "$0")/lib.sh"

: "${STAR_ROUNDS:=$([ "${SHELTER_E2E_MODE:-local}" = local ] && echo 5 || echo 4)}"
: "${STAR_SEED:=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"

if ! command -v python3 >/dev/null 2>&1; then
	skip 'three replicas through a hub' 'needs python3'
	done_testing
	exit
fi

# python3 may be a slow shim (pyenv's takes a second to start): call the
# interpreter itself.
if py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -x "$py" ]; then
	PATH=$(dirname "$py"):$PATH
fi

W=$T_ROOT/w		# shared by all the tests of this file
mkdir -p "$W"
PY=$T_ROOT/star.py
echo "# STAR_SEED=$STAR_SEED STAR_ROUNDS=$STAR_ROUNDS"

cat >"$PY" <<'EOF'
import os, sys, stat, pickle, hashlib, random, re

REPLICAS = ['A', 'B', 'C', 'H']
DIRS = ['d0', 'd0/sub', 'd1', 'd2', 'd3']
CONFLICT_RE = re.compile(r'^(.*)\.conflict-.+-[0-9]{8}-[0-9]{6}(\.[^./]+)?$')
MODES = [0o644, 0o600, 0o755, 0o640]

def walk(root):
    """{relpath: (kind, content, mode, mtime_ns)}, not .shelter; directory mtimes left out."""
    out = {}
    def rec(d, rel):
        for name in sorted(os.listdir(d)):
            r = name if not rel else rel + '/' + name
            if r == '.shelter':
                continue
            p = os.path.join(d, name)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                out[r] = ('d', None, stat.S_IMODE(st.st_mode), None)
                rec(p, r)
            elif stat.S_ISREG(st.st_mode):
                with open(p, 'rb') as f:
                    h = hashlib.sha256(f.read()).hexdigest()[:24]
                out[r] = ('f', h, stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                out[r] = ('?', None, None, None)
    rec(root, '')
    return out

def load(w):
    with open(w + '/model.pkl', 'rb') as f:
        return pickle.load(f)

def save(w, m):
    with open(w + '/model.pkl', 'wb') as f:
        pickle.dump(m, f)

def wfile(path, data, mtime, mode):
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)
    os.utime(path, ns=(mtime, mtime))

def h(data):
    return hashlib.sha256(data).hexdigest()[:24]

def init(w, seed):
    rnd = random.Random(seed)
    m = {'cur': {}, 'copies': {}, 'pending': {}, 'mtime': 1600000000 * 10**9,
         'serial': 0, 'round': 0}
    a = w + '/A'
    for d in DIRS:
        os.makedirs(a + '/' + d, exist_ok=True)
    for i in range(60):
        p = '%s/f%02d%s' % (rnd.choice(DIRS), i, rnd.choice(['', '.txt', '.tar.gz']))
        data = rnd.randbytes(rnd.choice([0, 20, 500, 3000]))
        m['mtime'] += 1000
        mode = rnd.choice(MODES)
        wfile(a + '/' + p, data, m['mtime'], mode)
        m['cur'][p] = (h(data), mode, m['mtime'])
    for r in 'BCH':
        os.mkdir(w + '/' + r)
    save(w, m)

def edit(w, rnd_round, seed):
    """One round of edits on all four replicas (they are alike now)."""
    m = load(w)
    rnd = random.Random(seed * 1000 + int(rnd_round))
    m['round'] = int(rnd_round)
    pending = {}           # path -> [(replica, op, version or None)]
    touched = {r: set() for r in REPLICAS}
    log = []

    def nt():
        m['mtime'] += 1000
        return m['mtime']

    def fresh():
        m['serial'] += 1
        return '%s/n%d_%d%s' % (rnd.choice(DIRS), m['round'], m['serial'],
                                rnd.choice(['', '.txt', '.c']))

    def op(r, kind, p, sizes=(0, 30, 700, 4000)):
        """Do edit KIND to P on replica R; record what it leaves there."""
        root = w + '/' + r
        full = root + '/' + p
        v = None
        if kind in ('modify', 'create'):
            data = rnd.randbytes(rnd.choice(sizes)) if kind == 'create' \
                else rnd.randbytes(rnd.choice([31, 700, 4000]))
            mode = m['cur'][p][1] if p in m['cur'] else rnd.choice(MODES)
            mt = nt()
            wfile(full, data, mt, mode)
            v = (h(data), mode, mt)
        elif kind == 'chmod':
            hh, mode, mt = m['cur'][p]
            mode = rnd.choice([x for x in MODES if x != mode])
            os.chmod(full, mode)
            v = (hh, mode, mt)
        elif kind == 'delete':
            os.unlink(full)
        elif kind == 'rename':
            q = fresh()
            os.rename(full, root + '/' + q)
            pending.setdefault(p, []).append((r, 'delete', None))
            pending.setdefault(q, []).append((r, 'create', m['cur'][p]))
            touched[r].update((p, q))
            log.append('%s: rename %s -> %s' % (r, p, q))
            return
        pending.setdefault(p, []).append((r, kind, v))
        touched[r].add(p)
        log.append('%s: %s %s' % (r, kind, p))

    base = sorted(m['cur'])
    # concurrent edits: two replicas on one path. Not on a path that has a
    # conflict copy already: a second conflict in the same second as the
    # first would need the same copy name (see the three-replica test below).
    for kinds in (('modify', 'modify'), ('modify', 'delete'), ('modify', 'chmod'),
                  ('modify', 'modify')):
        p = rnd.choice([x for x in base if x not in pending and x not in m['copies']])
        r1, r2 = rnd.sample(REPLICAS, 2)
        op(r1, kinds[0], p)
        op(r2, kinds[1], p)
    # created on two replicas with different content (never empty: the same
    # content made twice is the test after the rounds)
    p = fresh()
    r1, r2 = rnd.sample(REPLICAS, 2)
    op(r1, 'create', p, (30, 700, 4000))
    op(r2, 'create', p, (30, 700, 4000))
    # single edits on every replica
    for r in REPLICAS:
        for _ in range(rnd.randint(4, 8)):
            kind = rnd.choice(['modify', 'modify', 'create', 'delete', 'rename', 'chmod'])
            if kind == 'create':
                op(r, 'create', fresh())
                continue
            cands = [x for x in base if x not in pending]
            if not cands:
                continue
            op(r, kind, rnd.choice(cands))
    m['pending'] = pending
    save(w, m)
    print('round %s: %d edits on %d paths' % (rnd_round, sum(len(v) for v in pending.values()),
                                              len(pending)))

def check(w):
    """After the round's sweeps: the four replicas alike and as the model says."""
    m = load(w)
    trees = {r: walk(w + '/' + r) for r in REPLICAS}
    bad = []
    t = trees['A']
    for r in 'BCH':
        for p in sorted(set(t) | set(trees[r])):
            if t.get(p) != trees[r].get(p):
                bad.append('A and %s differ at %s: %s / %s' % (r, p, t.get(p), trees[r].get(p)))
    files = {p: v for p, v in t.items() if v[0] != 'd'}
    copies = {}
    for p in list(files):
        mm = CONFLICT_RE.match(p)
        if mm:
            copies.setdefault(mm.group(1) + (mm.group(2) or ''), []).append(files.pop(p)[1:3])
    cur, pending, want_copies = m['cur'], m['pending'], m['copies']
    new_cur = {}
    for p in sorted(set(cur) | set(pending) | set(files)):
        have = files.get(p)
        hv = have[1:] if have else None
        if p not in pending:
            if p not in cur:
                bad.append('%s: %s, a path nobody made (a deleted file back?)' % (p, hv))
            elif hv != cur[p]:
                bad.append('%s: nobody touched it this round, but it is %s, was %s'
                           % (p, hv, cur[p]))
        else:
            ops = pending[p]
            vers = []
            for (_, _, v) in ops:
                if v is not None and v[:2] not in [x[:2] for x in vers]:
                    vers.append(v)
            desc = ', '.join('%s %s' % (r, k) for (r, k, _) in ops)
            if not vers:
                if have:
                    bad.append('%s: deleted (%s), but it is still there' % (p, desc))
            elif len(vers) == 1:
                if hv != vers[0]:
                    bad.append('%s: %s, expected the edit %s (%s)'
                               % (p, hv, vers[0], desc) +
                               (' -- A LOST EDIT' if not have or hv[0] != vers[0][0] else ''))
            else:
                # Concurrent versions. The same content with different modes is
                # adopted, ROOT1's mode winning (doc/sync.md: "adopted ... where
                # modes differ, side 1's go to side 2"); different contents are a
                # conflict: one under the name, each other one as a conflict copy.
                if not have or hv[:2] not in [v[:2] for v in vers]:
                    bad.append('%s: %s, expected one of the concurrent versions %s (%s)'
                               % (p, hv, vers, desc))
                else:
                    for c in sorted({v[0] for v in vers} - {hv[0]}):
                        want_copies.setdefault(p, []).append(
                            (c, tuple(sorted(v[1] for v in vers if v[0] == c))))
        if have:
            new_cur[p] = hv
    for p in sorted(set(copies) | set(want_copies)):
        got, want = sorted(copies.get(p, [])), sorted(want_copies.get(p, []))
        # each wanted copy: (content, the modes it may have)
        extra, missing = list(got), []
        for (c, modes) in want:
            hit = [x for x in extra if x[0] == c and x[1] in modes]
            if hit:
                extra.remove(hit[0])
            else:
                missing.append((c, [oct(x) for x in modes]))
        if extra or missing:
            bad.append('conflict copies of %s: %d, expected %d%s%s%s' % (
                p, len(got), len(want),
                ' (this round: %s)' % ', '.join('%s %s %s' % (r, k, v and (v[0], oct(v[1])))
                                                for (r, k, v) in pending[p]) if p in pending else '',
                '; FALSE CONFLICT (unexpected copies %s)' % extra if extra else '',
                '; LOST EDIT (versions with no copy %s)' % missing if missing else ''))
    for b in bad[:40]:
        print(b)
    m['cur'], m['pending'], m['copies'] = new_cur, {}, want_copies
    save(w, m)
    n_copies = sum(len(v) for v in want_copies.values())
    print('%d files, %d conflict copies' % (len(new_cur), n_copies), file=sys.stderr)
    return 1 if bad else 0

def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == 'init': init(a[0], int(a[1]))
    elif cmd == 'edit': edit(a[0], a[1], int(a[2]))
    elif cmd == 'check': sys.exit(check(a[0]))
    else: sys.exit('unknown command ' + cmd)

main()
EOF

# check_four_alike X Y: trees X and Y alike but for directory mtimes
check_four_alike() {
	tree_manifest "$1" | sed "s/^\(.* d [0-7]*\) [0-9]* /\1 /" >"$T_ROOT/s1.$$"
	tree_manifest "$2" | sed "s/^\(.* d [0-7]*\) [0-9]* /\1 /" >"$T_ROOT/s2.$$"
	diff -u "$T_ROOT/s1.$$" "$T_ROOT/s2.$$" || { echo "trees $1 and $2 differ"; return 1; }
}

# hs EXIT X [OPTIONS]: a pass of the pair X H with its own state file
hs() {
	local want=$1 x=$2 got=0
	shift 2
	(cd "$W" && "$SHELTER" sync --state "$W/st-$x" --max-delete 100 "$@" "$W/$x" "$W/H") \
		>"$W/out" 2>"$W/err" || got=$?
	case " $want " in
	*" $got "*) ;;
	*) echo "sync $x H exited $got, expected $want"; cat "$W/out" "$W/err"; return 1 ;;
	esac
	if [ "$got" = 7 ]; then
		echo "sync $x H: $(grep -c conflict "$W/err") conflicts" >>"$W/info"
	fi
}

# sweep: A, B, C with H in turn (conflicts allowed), then once more each
# (nothing left to resolve)
sweep() {
	hs "0 7" A && hs "0 7" B && hs "0 7" C &&
		hs 0 A && hs 0 B && hs 0 C
}

t 'three replicas and a hub, first passes: all four alike' '
	python3 "$PY" init "$W" "$STAR_SEED"
	sweep
	python3 "$PY" check "$W"
'

r=1
while [ $r -le "$STAR_ROUNDS" ]; do
	: >"$W/info"
	t "round $r: edits on all four, some concurrent; two sweeps converge with every edit" \
		"python3 \"\$PY\" edit \"\$W\" $r \"\$STAR_SEED\" >>\"\$W/info\" && sweep && python3 \"\$PY\" check \"\$W\" 2>>\"\$W/info\""
	sed 's/^/#   /' "$W/info"
	r=$((r + 1))
done

# Two conflicts on one path within the same second want the same conflict
# copy name, NAME.conflict-HOST-YYYYMMDD-HHMMSS.EXT; the second gets
# ...-HHMMSS-2.EXT (this once failed with "File exists", exit 23). Through a
# hub that is three replicas editing one file: B's pass makes H's copy of A's
# version a conflict copy, C's pass, a moment later, wants the same name for
# B's. The two passes start at the start of a second; if they still fall in
# two seconds (a slow machine), the test passes without showing it.
t 'three replicas edit one file concurrently: two conflict copies, every version kept' '
	mkdir a b c h
	printf "the base\n" >a/f.txt
	sh_run 0 sync --state "$PWD/st-a" a h
	sh_run 0 sync --state "$PWD/st-b" b h
	sh_run 0 sync --state "$PWD/st-c" c h
	printf "from a\n" >a/f.txt; printf "from b\n" >b/f.txt; printf "from c\n" >c/f.txt
	sh_run 0 sync --state "$PWD/st-a" a h
	# B and C at the start of a second, so that both passes start in it
	t=$EPOCHREALTIME; w=$((1020000 - 10#${t#*.}))
	sleep "$(printf "%d.%06d" $((w / 1000000)) $((w % 1000000)))"
	sh_run 7 sync --state "$PWD/st-b" b h
	sh_run 7 sync --state "$PWD/st-c" c h
	for x in a b c; do sh_run 0 sync --state "$PWD/st-$x" $x h; done
	for x in a b c; do check_four_alike $x h; done
	expect_eq "from c" "$(cat h/f.txt)"
	expect_eq "from a
from b" "$(cat h/f.conflict-*.txt | sort)"
	expect_eq 2 "$(ls h | grep -c conflict)"
'

# The same content made on two replicas with different mtimes is adopted
# pair by pair, side 1's mtime going to side 2; a file's mtime that changed
# since the last pass is a change of its own side (compared with that side's
# record, never with the other side's clock), so the other pairs carry it
# too and all four end alike. (It once was not: a kept its own mtime for good,
# and a plain touch was never carried.)
t 'the same new file made on two replicas at different times: all four end alike' '
	mkdir a b c h
	printf "the base\n" >a/base
	for x in a b c; do sh_run 0 sync --state "$PWD/st-$x" $x h; done
	printf "same\n" >a/n; touch -d @1600000000 a/n
	printf "same\n" >b/n; touch -d @1600000100 b/n
	for x in a b c a b c; do sh_run 0 sync --state "$PWD/st-$x" $x h; done
	for x in a b c; do check_four_alike $x h; done
'

t 'a last pass of each pair has nothing to do' '
	for x in A B C; do
		hs 0 "$x" -v
		[ ! -s "$W/out" ] || { echo "sync $x H -v:"; cat "$W/out"; false; }
	done
'

done_testing
