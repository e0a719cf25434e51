#!/usr/bin/env python3
"""helper.py - the python side of bench/run (python3 standard library only).

  gen-tree DIR SEED N MIN MAX [BIG_N BIG_SIZE]
        a deterministic tree: N files of MIN..MAX bytes spread over a
        5-level directory tree (fan-out 4), plus BIG_N files of BIG_SIZE
        bytes at the top; random content and mtimes from SEED
  gen-delta OLD_DIR NEW_DIR SEED SIZE
        OLD_DIR/big.bin of SIZE random bytes, and NEW_DIR/big.bin: the same
        with 100 scattered 4 KiB overwrites and 3 inserted 1 KiB runs
  mutate A B SEED ROUND PERCENT NDEL NADD EXPECTED
        for a synced pair: change PERCENT % of the files on each side
        (different files), delete NDEL on A, add NADD on B; write the
        manifest both sides must have after one two-way pass to EXPECTED
  manifest DIR OUT          the manifest of DIR (with content hashes) to OUT
  check EXPECTED DIR [hash] DIR against a manifest: exit 1 and show the
                            first differences if they differ (sizes, modes,
                            mtimes in seconds; content too with "hash")
  warm DIR...               read every file and stat every entry (page cache);
                            for stat:DIR only stat
  relay OUT CMD...          run CMD (the real ssh) on pipes, copy our stdin to
                            its stdin and its stdout to ours, and append
                            "UP DOWN" byte counts to OUT when it ends
  report RESULTS ROWS HEADER   the Markdown report of a run

Manifests leave out the top-level .shelter and rdiff-backup-data.
"""
import hashlib
import os
import random
import signal
import stat
import statistics
import subprocess
import sys
import threading

SKIP_TOP = {b'.shelter', b'rdiff-backup-data'}
MTIME_BASE = 1_600_000_000


# ---- workloads -------------------------------------------------------------

def tree_dirs(depth=5, fanout=4):
    """Relative directory paths of a DEPTH-level tree, shallow first."""
    dirs, level = [], ['']
    for _ in range(depth):
        nxt = []
        for d in level:
            for i in range(fanout):
                nxt.append(os.path.join(d, 'd%d' % i))
        dirs.extend(nxt)
        level = nxt
    return dirs


def write_random(path, rnd, size, mtime_ns):
    with open(path, 'wb') as f:
        left = size
        while left > 0:
            n = min(left, 1 << 20)
            f.write(rnd.randbytes(n))
            left -= n
    os.utime(path, ns=(mtime_ns, mtime_ns))


def rand_mtime(rnd, base=MTIME_BASE):
    return (base + rnd.randrange(10 ** 8)) * 10 ** 9 + rnd.randrange(10 ** 9)


def gen_tree(root, seed, n, smin, smax, big_n=0, big_size=0):
    rnd = random.Random('tree-%s' % seed)
    dirs = tree_dirs()
    for d in dirs:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for i in range(n):
        d = rnd.choice(dirs)
        write_random(os.path.join(root, d, 'f%06d.dat' % i), rnd,
                     rnd.randint(smin, smax), rand_mtime(rnd))
    for i in range(big_n):
        write_random(os.path.join(root, 'big%d.bin' % i), rnd, big_size,
                     rand_mtime(rnd))
    # Directory mtimes last: creating files changed them.
    for d in reversed(dirs):
        t = rand_mtime(rnd)
        os.utime(os.path.join(root, d), ns=(t, t))


def gen_delta(old_dir, new_dir, seed, size):
    rnd = random.Random('delta-%s' % seed)
    os.makedirs(old_dir, exist_ok=True)
    os.makedirs(new_dir, exist_ok=True)
    # randbytes(n) goes through an n*8-bit integer: past 256 MiB that is
    # more bits than a C int counts, so the content is made in pieces.
    data = bytearray()
    while len(data) < size:
        data += rnd.randbytes(min(1 << 26, size - len(data)))
    t = rand_mtime(rnd)
    with open(os.path.join(old_dir, 'big.bin'), 'wb') as f:
        f.write(data)
    os.utime(os.path.join(old_dir, 'big.bin'), ns=(t, t))
    for _ in range(100):
        off = rnd.randrange(0, size - 4096)
        data[off:off + 4096] = rnd.randbytes(4096)
    for off in sorted((rnd.randrange(0, size) for _ in range(3)), reverse=True):
        data[off:off] = rnd.randbytes(1024)
    with open(os.path.join(new_dir, 'big.bin'), 'wb') as f:
        f.write(data)
    t += 3600 * 10 ** 9
    os.utime(os.path.join(new_dir, 'big.bin'), ns=(t, t))


def list_files(root):
    """Sorted relative paths (str) of the regular files below ROOT."""
    out = []
    for top, dirs, files in os.walk(root):
        if top == root:
            dirs[:] = [d for d in dirs if not d.startswith('.')]
            files = [f for f in files if not f.startswith('.')]
        rel = os.path.relpath(top, root)
        for f in files:
            out.append(os.path.normpath(os.path.join(rel, f)))
    return sorted(out)


def mutate(a, b, seed, rnd_round, percent, ndel, nadd, expected):
    rnd = random.Random('mutate-%s-%s' % (seed, rnd_round))
    files = list_files(a)
    if files != list_files(b):
        sys.exit('mutate: %s and %s are not in step' % (a, b))
    k = max(1, len(files) * percent // 100)
    rnd.shuffle(files)
    change_a = files[:k]
    change_b = files[k:2 * k]
    delete_a = files[2 * k:2 * k + ndel]
    when = (MTIME_BASE + 10 ** 8 + rnd_round * 1000) * 10 ** 9
    for i, p in enumerate(change_a):
        write_random(os.path.join(a, p), rnd, rnd.randint(1024, 32 * 1024), when + i)
    for i, p in enumerate(change_b):
        write_random(os.path.join(b, p), rnd, rnd.randint(1024, 32 * 1024), when + i)
    for p in delete_a:
        os.unlink(os.path.join(a, p))
    dirs = tree_dirs()
    added = []
    for i in range(nadd):
        p = os.path.join(rnd.choice(dirs), 'new-r%d-%04d.dat' % (rnd_round, i))
        write_random(os.path.join(b, p), rnd, rnd.randint(1024, 32 * 1024), when + i)
        added.append(p)
    ma = manifest_dict(a.encode(), True)
    mb = manifest_dict(b.encode(), True)
    exp = dict(ma)
    for p in change_b + added:
        key = repr(p.encode())
        exp[key] = mb[key]
    with open(expected, 'w') as f:
        for key in sorted(exp):
            f.write(exp[key] + '\n')


# ---- manifests -------------------------------------------------------------

def manifest_dict(root, with_hash):
    """{repr(relpath): line}: type, mode, size, mtime (s), content hash."""
    out = {}
    stack = [b'']
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as it:
            for e in it:
                if not rel_dir and e.name in SKIP_TOP:
                    continue
                rel = os.path.join(rel_dir, e.name) if rel_dir else e.name
                st = e.stat(follow_symlinks=False)
                mode = '%o' % stat.S_IMODE(st.st_mode)
                if stat.S_ISDIR(st.st_mode):
                    line = 'd %s - - -' % mode
                    stack.append(rel)
                elif stat.S_ISREG(st.st_mode):
                    h = '-'
                    if with_hash:
                        m = hashlib.md5()
                        with open(e.path, 'rb') as f:
                            while True:
                                blk = f.read(1 << 20)
                                if not blk:
                                    break
                                m.update(blk)
                        h = m.hexdigest()
                    line = 'f %s %d %d %s' % (mode, st.st_size, int(st.st_mtime), h)
                elif stat.S_ISLNK(st.st_mode):
                    line = 'l - - - %s' % os.readlink(e.path).hex()
                else:
                    line = 'special-%o - - - -' % stat.S_IFMT(st.st_mode)
                key = repr(rel)
                out[key] = '%s %s' % (key, line)
    return out


def write_manifest(root, out):
    m = manifest_dict(root.encode(), True)
    with open(out, 'w') as f:
        for key in sorted(m):
            f.write(m[key] + '\n')


def check(expected, root, with_hash):
    def strip(line):
        return line if with_hash else line.rsplit(' ', 1)[0]
    want = {}
    with open(expected) as f:
        for line in f:
            line = line.rstrip('\n')
            want[line.split(' ', 1)[0]] = strip(line)
    if not os.path.isdir(root):
        print('%s is missing' % root, file=sys.stderr)
        sys.exit(1)
    got = {k: strip(v) for k, v in manifest_dict(root.encode(), with_hash).items()}
    bad = []
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            bad.append('  want %s\n   got %s' % (want.get(k, '(missing) ' + k),
                                                 got.get(k, '(absent) ' + k)))
    if bad:
        print('%s differs from %s in %d entries:' % (root, expected, len(bad)),
              file=sys.stderr)
        print('\n'.join(bad[:10]), file=sys.stderr)
        sys.exit(1)


def warm(roots):
    for root in roots:
        read = not root.startswith('stat:')
        if not read:
            root = root[5:]
        for top, dirs, files in os.walk(root):
            for f in files:
                p = os.path.join(top, f)
                try:
                    st = os.lstat(p)
                    if read and stat.S_ISREG(st.st_mode):
                        with open(p, 'rb') as fh:
                            while fh.read(1 << 20):
                                pass
                except OSError:
                    pass


# ---- the byte-counting relay -----------------------------------------------

def relay(out, cmd):
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         bufsize=0)
    counts = [0, 0]

    def pump(src, dst, i, close):
        try:
            while True:
                b = os.read(src, 1 << 17)
                if not b:
                    break
                v = memoryview(b)
                while v:
                    v = v[os.write(dst, v):]
                counts[i] += len(b)
        except OSError:
            pass
        finally:
            try:
                close()
            except OSError:
                pass

    def forward(signum, frame):
        p.send_signal(signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, forward)
    # bench/run waits for this marker to go: some tools do not wait for
    # their rsh command to end before they exit.
    marker = '%s.running.%d' % (out, os.getpid())
    open(marker, 'w').close()
    up = threading.Thread(target=pump, daemon=True,
                          args=(0, p.stdin.fileno(), 0, p.stdin.close))
    down = threading.Thread(target=pump, daemon=True,
                            args=(p.stdout.fileno(), 1, 1, lambda: os.close(1)))
    up.start()
    down.start()
    rc = p.wait()
    down.join()
    up.join(0.2)
    with open(out, 'a') as f:
        f.write('%d %d\n' % (counts[0], counts[1]))
    os.unlink(marker)
    os._exit(rc if rc >= 0 else 128 - rc)


# ---- the report ------------------------------------------------------------

def read_runs(res, key):
    """Medians of KEY's timed runs: wall, cpu, rss_client, rss_remote, other."""
    path = os.path.join(res, key)
    if not os.path.exists(path):
        return None
    rows = [list(map(float, line.split())) for line in open(path) if line.strip()]
    if not rows:
        return None
    col = lambda i: statistics.median(r[i] for r in rows)
    return {
        'n': len(rows),
        'wall': col(0),
        'cpu': statistics.median(r[1] + r[2] for r in rows),
        'rss_c': col(3) / 1024,
        'rss_r': col(4) / 1024,
        'rss': statistics.median(max(r[3], r[4]) for r in rows) / 1024,
        'other': col(5),
    }


def read_wire(res, key):
    path = os.path.join(res, key + '.wire')
    if not os.path.exists(path):
        return None
    up, down = map(int, open(path).read().split())
    return up, down


def fmt_bytes(n):
    for unit, div in (('GiB', 1 << 30), ('MiB', 1 << 20), ('KiB', 1 << 10)):
        if n >= div:
            return '%.1f %s' % (n / div, unit)
    return '%d B' % n


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt_ratio(r):
    return '—' if r is None else '%.2f×' % r


def report(res, rows_file, header_file):
    with open(header_file) as f:
        print(f.read().rstrip('\n'))
    print()
    print('| workload | where | peer | shelter wall s | peer wall s | wall ratio '
          '| CPU s shelter / peer (ratio) | peak RSS MiB shelter / peer (ratio) '
          '| wire up/down shelter | wire up/down peer | wire ratio '
          '| other CPU s shelter / peer | target | met? |')
    print('|' + '---|' * 14)
    failed = 0
    for line in open(rows_file):
        line = line.rstrip('\n')
        if not line:
            continue
        wl, where, skey, pkey, plabel, target, base = line.split('\t')
        fail = [k for k in (skey, pkey, base) if k != '-' and
                os.path.exists(os.path.join(res, k + '.fail'))]
        na = os.path.exists(os.path.join(res, skey + '.na'))
        s, p = read_runs(res, skey), read_runs(res, pkey)
        b = read_runs(res, base) if base != '-' else None
        sw, pw = read_wire(res, skey), read_wire(res, pkey)
        cells = [wl, where, plabel]
        NA = 'n/a (shelter sync not built yet)'
        if base != '-' and s and p and b:
            s_wall, p_wall = s['wall'] - b['wall'], p['wall'] - b['wall']
        else:
            s_wall, p_wall = (s['wall'] if s else None), (p['wall'] if p else None)
        wr = ratio(s_wall, p_wall)
        cells.append(NA if na else ('%.2f' % s_wall if s_wall is not None else 'FAIL'))
        cells.append('%.2f' % p_wall if p_wall is not None else 'FAIL')
        cells.append('n/a' if na else fmt_ratio(wr))
        cr = ratio(s and s['cpu'], p and p['cpu'])
        cells.append('%s / %s (%s)' % ('n/a' if na else ('%.2f' % s['cpu'] if s else 'FAIL'),
                                       '%.2f' % p['cpu'] if p else 'FAIL',
                                       'n/a' if na else fmt_ratio(cr)))

        def rss(x):
            if not x:
                return 'FAIL'
            if where == 'local':
                return '%.1f' % x['rss_c']
            return '%.1f+%.1f' % (x['rss_c'], x['rss_r'])
        rr = ratio(s and s['rss'], p and p['rss'])
        cells.append('%s / %s (%s)' % ('n/a' if na else rss(s), rss(p),
                                       'n/a' if na else fmt_ratio(rr)))
        wire_r = None
        if where == 'local' or base != '-':
            cells += ['—', '—', '—']
        else:
            def w(x):
                return 'FAIL' if x is None else '%s / %s' % (fmt_bytes(x[0]), fmt_bytes(x[1]))
            wire_r = ratio(sw and sum(sw), pw and sum(pw))
            cells += ['n/a' if na else w(sw), w(pw), 'n/a' if na else fmt_ratio(wire_r)]
        cells.append('%s / %s' % ('n/a' if na else ('%.2f' % s['other'] if s else '?'),
                                  '%.2f' % p['other'] if p else '?'))
        cells.append(target.replace('wall<=', 'wall ≤').replace('wire<=', 'wire ≤')
                     .replace('rss<=', 'RSS ≤').replace('wire<', 'wire <')
                     .replace(',', ', ') if target != '-' else '—')
        met = '—'
        if fail:
            met = 'FAIL'
            failed += 1
        elif na:
            met = 'n/a'
        elif target != '-':
            ok = True
            vals = {'wall': wr, 'wire': wire_r, 'rss': rr, 'cpu': cr}
            for t in target.split(','):
                if '<=' in t:
                    k, lim = t.split('<=')
                    v = vals[k]
                    ok = ok and v is not None and v <= float(lim)
                else:
                    k, lim = t.split('<')
                    v = vals[k]
                    ok = ok and v is not None and v < float(lim)
            met = 'yes' if ok else 'NO'
        cells.append(met)
        print('| ' + ' | '.join(cells) + ' |')
    return failed


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    cmd, args = a[0], a[1:]
    if cmd == 'gen-tree':
        root, seed, n, smin, smax = args[0], args[1], *map(int, args[2:5])
        big_n, big_size = (int(args[5]), int(args[6])) if len(args) > 5 else (0, 0)
        gen_tree(root, seed, n, smin, smax, big_n, big_size)
    elif cmd == 'gen-delta':
        gen_delta(args[0], args[1], args[2], int(args[3]))
    elif cmd == 'mutate':
        mutate(args[0], args[1], args[2], int(args[3]), int(args[4]), int(args[5]),
               int(args[6]), args[7])
    elif cmd == 'manifest':
        write_manifest(args[0], args[1])
    elif cmd == 'check':
        check(args[0], args[1], len(args) > 2 and args[2] == 'hash')
    elif cmd == 'warm':
        warm(args)
    elif cmd == 'relay':
        relay(args[0], args[1:])
    elif cmd == 'report':
        sys.exit(1 if report(*args) else 0)
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
