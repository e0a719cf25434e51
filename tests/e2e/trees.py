"""trees.py - what the crash and big-tree tests both need from a tree:
content hashes and a walk that never follows symlinks."""
import hashlib
import os
import stat


def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()

def walk(root, skip_top_shelter=True):
    """{relpath(bytes): (kind, sha256|target|None, size)} below root."""
    out = {}
    def rec(d, rel):
        with os.scandir(d) as it:
            ents = sorted(it, key=lambda e: e.name)
        for e in ents:
            r = e.name if not rel else rel + b'/' + e.name
            if skip_top_shelter and r == b'.shelter':
                continue
            st = os.lstat(e.path)
            if stat.S_ISLNK(st.st_mode):
                out[r] = ('l', os.readlink(e.path), 0)
            elif stat.S_ISDIR(st.st_mode):
                out[r] = ('d', None, 0)
                rec(e.path, r)
            elif stat.S_ISREG(st.st_mode):
                out[r] = ('f', sha(e.path), st.st_size)
            else:
                out[r] = ('o', None, 0)
    rec(os.fsencode(root), b'')
    return out

def show(p):
    return repr(p)[2:-1]

def unescape(s):
    """Undo the history index escaping (doc/history.md)."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == 0x5c and i + 1 < len(s):
            n = s[i + 1]
            if n == 0x5c:
                out.append(0x5c); i += 2; continue
            if n == ord('t'):
                out.append(9); i += 2; continue
            if n == ord('n'):
                out.append(10); i += 2; continue
            if n == ord('x') and i + 3 < len(s):
                out.append(int(s[i + 2:i + 4], 16)); i += 4; continue
        out.append(c); i += 1
    return bytes(out)
