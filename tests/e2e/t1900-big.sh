#!/bin/bash
# t1900-big: the acceptance scenario. A tree of 1,000+ entries of every kind
# (files from 0 B to 1 MiB, a 100 MiB file, empty files and directories,
# symlinks, hard links, names with spaces, newlines and non-UTF-8 bytes) is
# mirrored exactly; after edits of every sort a second pass is exact again,
# carries the changes mostly as matched data (deltas), and keeps every
# replaced and deleted version in history with a correct index.
#
# Environment: DATA_SEED (default 1900) seeds the generated tree.
. "$(dirname "$0")/lib.sh"

: "${DATA_SEED:=1900}"

if ! command -v python3 >/dev/null 2>&1; then
	skip 'big tree' 'needs python3'
	done_testing
	exit
fi

W=$T_ROOT/w		# shared by all the tests of this file
mkdir -p "$W"
PY=$T_ROOT/big.py

cat >"$PY" <<'EOF'
import os, sys, stat, pickle, hashlib, random, subprocess, shutil

MiB = 1 << 20
OLD_T = 1600000000 * 10**9
NEW_T = 1700000000 * 10**9

sys.path.insert(0, os.path.join(os.environ['TOP_SRCDIR'], 'tests', 'e2e'))
from trees import sha, walk, show, unescape

def J(*parts):
    return b'/'.join(p if isinstance(p, bytes) else p.encode() for p in parts)

# Names that are hard for a tool (bytes: some are not UTF-8)
ODD = [b'with space', b' leading space', b'trailing space ', b'two  spaces',
       b'new\nline', b'\nstarts with newline', b'tab\there', b'latin1-\xe9t\xe9',
       b'bad-utf8-\xff\xfe\x80', b'utf8-\xc3\xa9\xe4\xb8\xad', b'back\\slash',
       b'-leading-dash', b'star*ques?[brk]', b'.hidden', b'quote"\'s', b'dollar$HOME',
       b'semi;colon', b'pct%s%n', b'x' * 255, b'ctrl\x01\x1f\x7f', b'CR\rhere',
       b'colon:file', b'#hash', b'~tilde', b'=eq']

def wfile(path, data, mtime, mode=None):
    with open(path, 'wb') as f:
        f.write(data)
    if mode is not None:
        os.chmod(path, mode)
    os.utime(path, ns=(mtime, mtime))

def size_for(rnd):
    r = rnd.random()
    if r < 0.10:
        return 0
    if r < 0.55:
        return rnd.randint(1, 4095)
    if r < 0.92:
        return rnd.randint(4096, 65535)
    if r < 0.99:
        return rnd.randint(65536, MiB - 1)
    return MiB

def gen(src, seed):
    rnd = random.Random(seed)
    src = os.fsencode(src)
    os.makedirs(src)
    # directories: a few levels, odd names too, some left empty
    dirs = [src]
    for i in range(40):
        parent = rnd.choice(dirs[:max(1, len(dirs))])
        name = b'd%02d' % i if i % 5 else ODD[i // 5 % len(ODD)] + b'-dir'
        p = J(parent, name)
        os.mkdir(p)
        dirs.append(p)
    os.makedirs(J(src, 'deep/.shelter/x'))      # a deeper .shelter is data
    dirs.append(J(src, 'deep/.shelter/x'))
    for i in range(6):
        os.makedirs(J(src, 'empty', b'e%d' % i))
    n = 0
    modes = [0o644, 0o644, 0o644, 0o600, 0o755, 0o640, 0o444, 0o711]
    for i in range(1000):
        d = rnd.choice(dirs)
        name = b'f%04d' % i
        if i % 40 == 0:
            name = ODD[i // 40 % len(ODD)]
            if len(name) > 250:
                name = name[:250] + b'%04d' % i
        wfile(J(d, name), rnd.randbytes(size_for(rnd)), OLD_T + i * 1000003 + i,
              rnd.choice(modes))
        n += 1
    for name in ODD:       # all odd names once more, in their own folder
        os.makedirs(J(src, 'odd'), exist_ok=True)
        wfile(J(src, 'odd', name), rnd.randbytes(rnd.randint(0, 3000)), OLD_T + n)
        n += 1
    os.mkdir(J(src, 'big'))
    wfile(J(src, 'big/hundred.bin'), rnd.randbytes(100 * MiB), OLD_T + 7)
    wfile(J(src, 'big/one-mib'), rnd.randbytes(MiB), OLD_T + 8)
    # hard links: each name is copied as a separate file
    os.mkdir(J(src, 'hl'))
    for i in range(12):
        a = J(src, 'hl', b'h%02d' % i)
        wfile(a, rnd.randbytes(rnd.randint(0, 20000)), OLD_T + 900 + i)
        os.link(a, J(src, 'hl', b'h%02d-link' % i))
        if i % 3 == 0:
            os.link(a, J(rnd.choice(dirs), b'hl-far-%02d' % i))
    # symlinks: relative, absolute, dangling, to dirs, odd targets
    os.mkdir(J(src, 'links'))
    targets = [b'../hl/h00', b'../big', b'/etc/passwd', b'dangling/nowhere',
               b'../odd/new\nline', b'../odd/bad-utf8-\xff\xfe\x80', b'with space',
               b'.', b'..', b'../links', b'y' * 1000, b'a/../../b']
    for i in range(40):
        p = J(src, 'links', b'l%02d' % i if i % 7 else ODD[i // 7] + b'-link')
        os.symlink(targets[i % len(targets)], p)
        os.utime(p, ns=(OLD_T + 2000 + i, OLD_T + 2000 + i), follow_symlinks=False)
    # directory mtimes last, deepest first
    for p in sorted(walk(src), key=lambda x: -x.count(b'/')):
        q = J(src, p)
        if os.path.isdir(q) and not os.path.islink(q):
            os.utime(q, ns=(OLD_T + 5000, OLD_T + 5000))
    os.utime(src, ns=(OLD_T + 5000, OLD_T + 5000))

def writable(path, fn):
    st = os.lstat(path)
    os.chmod(path, st.st_mode | 0o200)
    fn()
    os.chmod(path, stat.S_IMODE(st.st_mode))

def edit(src, seed):
    rnd = random.Random(seed + 1)
    src = os.fsencode(src)
    m = walk(src)
    files = sorted(p for p, s in m.items() if s[0] == 'f' and not p.startswith(b'big/')
                   and not p.startswith(b'hl'))
    rnd.shuffle(files)
    t = NEW_T
    def touch(p):
        nonlocal t
        t += 1000001
        os.utime(J(src, p), ns=(t, t))
    # the 100 MiB file: a few 4 KiB spots, same size
    p = J(src, 'big/hundred.bin')
    with open(p, 'r+b') as f:
        for k in range(5):
            f.seek(rnd.randrange(0, 100 * MiB - 4096))
            f.write(rnd.randbytes(4096))
    touch(b'big/hundred.bin')
    # in place: same size, a few bytes here and there
    for q in [x for x in files if m[x][2] > 0][:60]:
        def poke():
            with open(J(src, q), 'r+b') as f:
                for k in range(rnd.randint(1, 3)):
                    f.seek(rnd.randrange(0, m[q][2]))
                    f.write(rnd.randbytes(rnd.randint(1, 200)))
        writable(J(src, q), poke)
        touch(q)
    files = files[60:]
    # appends
    for q in files[:30]:
        def app():
            with open(J(src, q), 'ab') as f:
                f.write(rnd.randbytes(rnd.randint(1, 10000)))
        writable(J(src, q), app)
        touch(q)
    files = files[30:]
    # metadata only: mtime, mode
    for q in files[:3]:
        touch(q)
    for q in files[3:6]:
        os.chmod(J(src, q), 0o600)
    files = files[6:]
    # deletions: files, symlinks, a whole folder, an empty folder
    for q in files[:40]:
        os.unlink(J(src, q))
    files = files[40:]
    for i in (1, 2, 3, 8, 9):
        os.unlink(J(src, 'links', b'l%02d' % i))
    shutil.rmtree(J(src, 'odd'))
    os.rmdir(J(src, 'empty/e3'))
    # a hard-linked file edited in place: every name changes
    with open(J(src, 'hl/h01'), 'ab') as f:
        f.write(b'more')
    touch(b'hl/h01')
    # a file becomes a folder, a folder becomes a symlink, a symlink a file
    q = files[0]
    os.unlink(J(src, q))
    os.mkdir(J(src, q))
    wfile(J(src, q, 'inside'), rnd.randbytes(100), NEW_T)
    shutil.rmtree(J(src, 'empty/e4'))
    os.symlink(b'../hl', J(src, 'empty/e4'))
    os.unlink(J(src, 'links/l04'))
    wfile(J(src, 'links/l04'), b'now a file', NEW_T + 4)
    os.unlink(J(src, 'links/l05'))
    os.symlink(b'changed target', J(src, 'links/l05'))
    # additions, odd names too
    os.makedirs(J(src, 'new/sub/sub2'))
    for i in range(50):
        d = J(src, 'new') if i % 2 else J(src, 'new/sub/sub2')
        name = ODD[i % len(ODD)] if i < len(ODD) else b'n%02d' % i
        if len(name) > 250:
            name = name[:250]
        wfile(J(d, name), rnd.randbytes(rnd.randint(0, 20000)), NEW_T + 100 + i)
    os.mkdir(J(src, 'new/empty'))

def load(p):
    with open(p, 'rb') as f:
        return pickle.load(f)

def count(root):
    m = walk(root)
    kinds = [s[0] for s in m.values()]
    print('%d entries: %d files (%d empty), %d dirs, %d symlinks, %d bytes' % (
        len(m), kinds.count('f'), sum(1 for s in m.values() if s[0] == 'f' and s[2] == 0),
        kinds.count('d'), kinds.count('l'), sum(s[2] for s in m.values())))

def xxh128(path):
    if not shutil.which('xxhsum'):
        return None
    with open(path, 'rb') as f:
        r = subprocess.run(['xxhsum', '-H2', '-'], stdin=f, capture_output=True, check=True)
    return r.stdout.split()[0].decode()

def history(oldp, newp, dest, passes_before):
    """Every replaced or deleted file and symlink of the old state is under
    history/<the new pass>/tree/<path>, and the new pass's index has a
    correct record for each file it kept."""
    old, new = load(oldp), load(newp)
    hroot = os.path.join(os.fsencode(dest), b'.shelter', b'history')
    before = set(passes_before.encode().split()) if passes_before else set()
    passes = sorted(set(os.listdir(hroot)) - before) if os.path.isdir(hroot) else []
    bad = []
    if len(passes) != 1:
        print('expected one new pass folder in history, found %s' % [show(p) for p in passes])
        return 1
    pas = passes[0]
    tree = walk(os.path.join(hroot, pas, b'tree'), False)
    want = 0
    for p, (k, h, size) in sorted(old.items()):
        if k == 'd' or new.get(p, (None, None))[:2] == (k, h):
            continue
        # a content change or a deletion (or the path changed kind)
        want += 1
        t = tree.get(p)
        if t is None:
            bad.append('old %s %s is not in history/%s/tree' % (k, show(p), show(pas)))
        elif t[:2] != (k, h):
            bad.append('history/%s/tree/%s holds %s %s, the old version was %s %s'
                       % (show(pas), show(p), t[0], show(t[1]) if t[0] == 'l' else t[1],
                          k, show(h) if k == 'l' else h))
    for p, (k, h, _) in tree.items():
        if k != 'd' and old.get(p, (None, None))[:2] != (k, h):
            bad.append('history/%s/tree/%s: %s is no old version' % (show(pas), show(p), k))
    # the index
    with open(os.path.join(hroot, pas, b'index'), 'rb') as f:
        data = f.read()
    lines = data.split(b'\n')
    if lines[0] != b'shelter-history 1' or lines[-1] != b'':
        bad.append('index: bad first line %s or no final newline' % show(lines[0]))
    recs = {}
    for ln in lines[1:-1]:
        fs = ln.split(b'\t')
        if len(fs) not in (8, 9) or fs[0] not in (b'changed', b'deleted'):
            bad.append('index: malformed record %s' % show(ln))
            continue
        recs[unescape(fs[7])] = fs
    nx = 0
    for p, (k, h, size) in sorted(tree.items()):
        r = recs.get(p)
        if r is None:
            if k != 'd':
                bad.append('history/%s/tree/%s has no index record' % (show(pas), show(p)))
            continue
        if r[1] != k.encode():
            bad.append('index record of %s: type %s, kept %s' % (show(p), show(r[1]), k))
        if k == 'f':
            if r[2] != str(size).encode():
                bad.append('index record of %s: size %s, kept %d' % (show(p), show(r[2]), size))
            x = xxh128(os.path.join(hroot, pas, b'tree', p))
            if x is not None:
                nx += 1
                if r[5].decode() != x:
                    bad.append('index record of %s: hash %s, kept file has %s'
                               % (show(p), show(r[5]), x))
        if k == 'l' and (len(r) != 9 or unescape(r[8]) != h):
            bad.append('index record of symlink %s: target %s, kept %s'
                       % (show(p), show(r[8]) if len(r) == 9 else 'none', show(h)))
    for p, r in recs.items():
        if p not in tree and r[1] != b'd':
            bad.append('index records %s, which is not in tree/' % show(p))
    print('%d replaced or deleted versions, %d kept, %d index records (%d hashes checked)'
          % (want, sum(1 for s in tree.values() if s[0] != 'd'), len(recs), nx))
    for b in bad[:50]:
        print(b)
    return 1 if bad else 0

def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == 'gen': gen(a[0], int(a[1]))
    elif cmd == 'edit': edit(a[0], int(a[1]))
    elif cmd == 'snap':
        with open(a[1], 'wb') as f:
            pickle.dump(walk(a[0]), f)
    elif cmd == 'count': count(a[0])
    elif cmd == 'history': sys.exit(history(*a))
    else: sys.exit('unknown command ' + cmd)

main()
EOF

t 'generate a tree of 1,000+ entries of every kind' '
	python3 "$PY" gen "$W/src" "$DATA_SEED"
	python3 "$PY" count "$W/src" >"$W/count1"
	n=$(cut -d" " -f1 "$W/count1")
	[ "$n" -ge 1000 ]
'
sed 's/^/# SRC: /' "$W/count1"

t 'pass 1 mirrors it exactly' '
	sh_run 0 backup --stats "$W/src" "$W/dst"
	cp out "$W/stats1"
	check_same "$W/src" "$W/dst"
	no_temp_files "$W/dst"
	[ ! -e "$W/dst/.shelter/history" ] || [ -z "$(ls "$W/dst/.shelter/history")" ]
'
echo "# pass 1 --stats:"
sed 's/^/#   /' "$W/stats1"

t 'edits: in place (the 100 MiB file too), appends, deletions, additions' '
	python3 "$PY" snap "$W/dst" "$W/old.pkl"
	python3 "$PY" edit "$W/src" "$DATA_SEED"
	python3 "$PY" snap "$W/src" "$W/new.pkl"
	python3 "$PY" count "$W/src" >"$W/count2"
'
sed 's/^/# SRC: /' "$W/count2"

t 'pass 2 mirrors the edits exactly' '
	ls -A "$W/dst/.shelter/history" 2>/dev/null >"$W/passes_before" || :
	sh_run 0 backup --stats "$W/src" "$W/dst"
	cp out "$W/stats2"
	check_same "$W/src" "$W/dst"
	no_temp_files "$W/dst"
'
echo "# pass 2 --stats:"
sed 's/^/#   /' "$W/stats2"

t 'pass 2 sent deltas: matched data is most of the transferred size' '
	total=$(stat_num "Total transferred file size" "$W/stats2")
	lit=$(stat_num "Literal data" "$W/stats2")
	match=$(stat_num "Matched data" "$W/stats2")
	sent=$(stat_num "Total bytes sent" "$W/stats2")
	echo "transferred $total, literal $lit, matched $match, sent $sent"
	[ "$total" -ge $((100 * 1024 * 1024)) ]	# the 100 MiB file went
	[ $((match * 10)) -ge $((total * 9)) ]		# matched >= 90%
	[ $((lit * 10)) -le "$total" ]			# literal <= 10%
	[ $((sent * 5)) -le "$total" ]			# the wire saw the delta
'

t 'history holds every replaced and deleted version, with its index record' '
	python3 "$PY" history "$W/old.pkl" "$W/new.pkl" "$W/dst" "$(cat "$W/passes_before")" >"$W/hist"
'
sed 's/^/# /' "$W/hist"

t 'pass 3 without changes transfers nothing and keeps nothing' '
	ls -A "$W/dst/.shelter/history" >before 2>/dev/null || :
	sh_run 0 backup --stats "$W/src" "$W/dst"
	grep -qx "Number of regular files transferred: 0" out
	ls -A "$W/dst/.shelter/history" >after 2>/dev/null || :
	cmp before after
	check_same "$W/src" "$W/dst"
'

done_testing
