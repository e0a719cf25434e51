#!/usr/bin/env python3
"""hostile_sync.py - a hostile peer for shelter's sync session (doc/sync.md).

    hostile_sync.py [checks] CASE ROOT [ARG...]
    hostile_sync.py --serve [--log FILE] [--no-data TEXT] CASE [ARG...] HOST CMD --server
    hostile_sync.py --batch DIR [--root ROOT] LINE...

The frame builders, the Peer (pipes to `$SHELTER --server`, or our own
stdin/stdout in serve mode) and the checks come from hostile.py; this file
adds the sync frames (SENTRY, HASHREQ/HASH, PHASE, RENAME/RENAMED,
PLANENT/PLAN_END) and the cases.

Client mode plays a sync client (START role 3) against `$SHELTER --server`
(t2700 part A). Checks, as in hostile.py: --exit N|nonzero, --msg TEXT
(repeatable: an ERROR or MSG kind 0 from the server contains it),
--no-data TEXT, --stderr-ok, --exclude PAT (in START), and
--server-opt OPT (repeatable: appended to `$SHELTER --server`, for
--read-only and --restrict=DIR). A case may add its own checks ("FAIL:"
lines), for instance that a HASH is not the hash of a file outside ROOT.

Serve mode plays the sync server a client runs through -e (t2700 part B):
`shelter sync -e "python3 hostile_sync.py --serve CASE" --remote-cmd x
ROOT1 host:/root`. It plays an honest server over a virtual tree (given by
the case) and lies where the case says. The transcript goes to the --log
file, with "FAIL:" lines when one of its own checks failed.

--batch runs many client-mode cases in one interpreter (each LINE is the
first form's arguments as shell words, ROOT put in after CASE), checking
after each that nothing below DIR changed; see batch().

Python 3 standard library only.
"""

import os
import struct
import subprocess
import sys

sys.dont_write_bytecode = True		# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402
from hostile import (u8, u32, u64, i64, s, dec_str, xxh128, entry, end_list, req,  # noqa: E402
                     file_ok, file_end, done, ENTRY, END_LIST, REQ, PLAN, FILE, DATA, FILE_END,
                     DONE)

SENTRY, HASHREQ, HASH_END, HASH, PHASE = 12, 13, 14, 15, 16
RENAME, RENAME_END, RENAMED = 17, 18, 19
PLANENT, PLAN_END = 24, 25
ROLE_SYNC = 3
OPT_CREATE_ROOT = 16
F_DELETE, F_CONTEXT, F_META = 2, 4, 8
OP_CONTENT, OP_META, OP_DELETE = 1, 2, 3

hostile.NAMES.update({SENTRY: "SENTRY", HASHREQ: "HASHREQ", HASH_END: "HASH_END", HASH: "HASH",
                      PHASE: "PHASE", RENAME: "RENAME", RENAME_END: "RENAME_END",
                      RENAMED: "RENAMED", PLANENT: "PLANENT", PLAN_END: "PLAN_END"})

# XXH3-128 of the contents part B serves (xxh128sum), so that no case needs
# ctypes and libxxhash just to start.
hostile.KNOWN_HASHES.update({
    b"keep me\n": "89b90b46e4ae3c7803134d701ebc23b8",
    b"new file\n": "c2cbf057e201c1b49645a3a4cf499c17",
    b"HOSTILE-PAYLOAD\n": "c8a3e3839e47964cdeb3784bba259225",
    b"other\n": "35990363c134d662563c50e44f34e4b9",
    b"TOPSECRET-outside\n": "26dafc04f14ee48f041e020d2696391e",	# t2700's case/outside/secret
})

SERVER_OPTS = []	# --server-opt: appended to `$SHELTER --server`
CASES = {}


class _Subprocess:
    """hostile.Peer starts [$SHELTER, --server]; this adds SERVER_OPTS."""
    PIPE = subprocess.PIPE
    TimeoutExpired = subprocess.TimeoutExpired

    @staticmethod
    def Popen(argv, **kw):
        return subprocess.Popen(list(argv) + SERVER_OPTS, **kw)


hostile.subprocess = _Subprocess

_describe = hostile.describe


def describe(t, p):
    """hostile.describe, plus the sync frames."""
    try:
        if t in (SENTRY, ENTRY):
            (shared,) = struct.unpack_from(">H", p, 0)
            path, off = dec_str(p, 2)
            return "%s %d+%r %s flags=%d" % (hostile.NAMES[t], shared, path, chr(p[off]),
                                            p[off + 1])
        if t == HASHREQ:
            rid, what = struct.unpack_from(">IB", p, 0)
            path, _ = dec_str(p, 5)
            return "HASHREQ id=%d what=%d path=%r" % (rid, what, path)
        if t == HASH:
            rid, st, typ = struct.unpack_from(">IBB", p, 0)
            return "HASH id=%d status=%d type=%r hash=%s" % (rid, st, chr(typ) if typ else "",
                                                             p[10:26].hex())
        if t == PHASE:
            return "PHASE %s" % (p[0] if len(p) == 1 else p)
        if t == RENAME:
            rid, = struct.unpack_from(">I", p, 0)
            a, off = dec_str(p, 4)
            b, _ = dec_str(p, off)
            return "RENAME id=%d %r -> %r" % (rid, a, b)
        if t == RENAMED:
            rid, st = struct.unpack_from(">IB", p, 0)
            why, _ = dec_str(p, 5)
            return "RENAMED id=%d status=%d %r" % (rid, st, why)
        if t == PLANENT:
            op, typ = struct.unpack_from(">BB", p, 0)
            path, _ = dec_str(p, 2)
            return "PLANENT op=%d type=%r %r" % (op, chr(typ), path[:80])
        if t == PLAN_END:
            return "PLAN_END %d" % struct.unpack_from(">Q", p, 0)
    except (struct.error, IndexError):
        return "%s (malformed, %d bytes)" % (hostile.NAMES.get(t, t), len(p))
    return _describe(t, p)


hostile.describe = describe


# ---- sync frames ---------------------------------------------------------------

def hashreq(rid, path, what=0):
    return u32(rid) + u8(what) + s(path)


def hash_reply(rid, status=0, typ="f", mode=0o644, h=b"\0" * 16, size=0, mtime=1600000000,
               ino=1, ctime=1600000000):
    t = 0 if typ is None else ord(typ)
    return (u32(rid) + u8(status) + u8(t) + u32(mode) + h + u64(size) + i64(mtime) + u32(0) +
            u64(ino) + i64(ctime) + u32(0))


def sentry(path, typ="f", size=0, mode=None, target=None, ino=1, flags=0, shared=0):
    """ENTRY without a hash, then the rest of the key (version 2, doc/sync.md):
    u64 inode, i64 ctime s, u32 ctime ns; its size and mtime are the entry's."""
    return (entry(path, typ, size=size, mode=mode, target=target, flags=flags,
                  uid=os.getuid(), gid=os.getgid(), shared=shared) +
            u64(ino) + i64(1600000000) + u32(0))


def rename(rid, a, b):
    return u32(rid) + s(a) + s(b)


def renamed(rid, status=0, why=""):
    return u32(rid) + u8(status) + s(why)


def planent(op, typ, path):
    return u8(op) + u8(ord(typ)) + s(path)


def decode_hash(p):
    rid, st, typ, mode = struct.unpack_from(">IBBI", p, 0)
    return {"id": rid, "status": st, "type": chr(typ) if typ else None, "mode": mode,
            "hash": p[10:26]}


def case(fn):
    CASES[fn.__name__.replace("_", "-")] = fn
    return fn


# ---- part A: a hostile client against `shelter --server` -------------------------------

def sync_start(peer, root, flags=0):
    """HELLO, START role 3, READY; then read the server's listing. The listed
    paths, or None when the server ended first."""
    if not hostile.handshake(peer, ROLE_SYNC, root, flags=flags):
        return None
    paths = []
    while True:
        f = peer.expect(SENTRY, END_LIST)
        if not f:
            return None
        if f[0] == END_LIST:
            return paths
        # Version 2: the start of the previous path, then the rest.
        (shared,) = struct.unpack_from(">H", f[1], 0)
        paths.append((paths[-1][:shared] if paths else b"") + dec_str(f[1], 2)[0])


def finish_session(peer):
    """PHASE 0: the server answers DONE and ends."""
    peer.send(PHASE, u8(0))
    peer.expect(DONE)


def ask_hashes(peer, paths, what=0):
    """One honest HASHREQ round; the HASH replies, decoded (None on failure)."""
    for i, p in enumerate(paths):
        peer.send(HASHREQ, hashreq(i + 1, p, what))
    peer.send(HASH_END)
    out = []
    while True:
        f = peer.expect(HASH, HASH_END)
        if not f:
            return None
        if f[0] == HASH_END:
            return out
        out.append(decode_hash(f[1]))


@case
def listing_only(peer, root, args):
    """Control: the listing, PHASE 0, DONE 0. ARGS: paths that must be listed."""
    got = sync_start(peer, root)
    if got is None:
        return peer.fail("no listing")
    for a in args:
        if a.encode() not in got:
            peer.fail("the listing lacks %s" % a)
    finish_session(peer)


@case
def hashreq_path(peer, root, args):
    """HASHREQ for ARGS[0], a path the server must refuse; if it answers anyway,
    the session is ended (PHASE 0) so that the checks say what happened."""
    if sync_start(peer, root) is not None:
        peer.send(HASHREQ, hashreq(1, args[0].encode()))
        peer.send(HASH_END)
        if peer.expect(HASH_END):
            finish_session(peer)


@case
def hashreq_outside(peer, root, args):
    """HASHREQ for ARGS[1:], paths through symlinks to outside ROOT (valid on the
    wire): one below a symlink must come back missing or unreadable, a
    symlink itself as a symlink; never with the hash of ARGS[0] (a file
    outside ROOT), never as a regular file."""
    with open(args[0], "rb") as f:
        secret = xxh128(f.read())
    paths = args[1:]
    if sync_start(peer, root) is None:
        return peer.fail("no listing")
    got = ask_hashes(peer, paths)
    if got is None or len(got) != len(paths):
        return peer.fail("not one HASH per HASHREQ")
    for p, h in zip(paths, got):
        peer.note("  %s: status %d type %r" % (p, h["status"], h["type"]))
        if "/" in p and h["status"] not in (1, 2):
            peer.fail("%s, through a symlink, is not missing or unreadable" % p)
        if "/" not in p and h["type"] != "l":
            peer.fail("%s, a symlink, is not reported as one" % p)
        if h["hash"] == secret:
            peer.fail("the HASH of %s is the hash of the file outside ROOT" % p)
        if h["status"] == 0 and h["type"] == "f":
            peer.fail("%s was followed to a regular file" % p)
        if h["hash"] != b"\0" * 16:
            peer.fail("the HASH of %s carries a hash" % p)
    finish_session(peer)


@case
def hashreq_inside(peer, root, args):
    """Control for hashreq-outside: ARGS[0] is a file under ROOT, ARGS[1] its path."""
    with open(args[0], "rb") as f:
        want = xxh128(f.read())
    if sync_start(peer, root) is None:
        return peer.fail("no listing")
    got = ask_hashes(peer, [args[1]])
    if not got or got[0]["status"] != 0 or got[0]["hash"] != want:
        peer.fail("the HASH of %s is not its content's" % args[1])
    finish_session(peer)


@case
def hashreq_out_of_order(peer, root, args):
    if sync_start(peer, root) is not None:
        peer.send(HASHREQ, hashreq(2, b"f"))
        peer.send(HASH_END)


@case
def hashreq_repeat_id(peer, root, args):
    if sync_start(peer, root) is not None:
        peer.send(HASHREQ, hashreq(1, b"f"))
        peer.send(HASHREQ, hashreq(1, b"f"))
        peer.send(HASH_END)


@case
def hashreq_bad_what(peer, root, args):
    if sync_start(peer, root) is not None:
        peer.send(HASHREQ, hashreq(1, b"f", what=2))
        peer.send(HASH_END)


@case
def hashreq_trailing(peer, root, args):
    if sync_start(peer, root) is not None:
        peer.send(HASHREQ, hashreq(1, b"f") + b"\0")
        peer.send(HASH_END)


@case
def rename_bad(peer, root, args):
    """PHASE 1, RENAME ARGS[0] -> ARGS[1]: a path the wire rules or .shelter forbid."""
    if sync_start(peer, root) is not None:
        peer.send(PHASE, u8(1))
        peer.send(RENAME, rename(1, args[0].encode(), args[1].encode()))
        peer.send(RENAME_END)


@case
def rename_refused(peer, root, args):
    """PHASE 1, RENAME ARGS[0] -> ARGS[1], valid paths the server must not carry
    out (through a symlink, onto an existing entry): RENAMED status 1 (failed)
    or 2 (the new name exists)."""
    if sync_start(peer, root) is None:
        return peer.fail("no listing")
    peer.send(PHASE, u8(1))
    peer.send(RENAME, rename(1, args[0].encode(), args[1].encode()))
    peer.send(RENAME_END)
    f = peer.expect(RENAMED)
    if not f:
        return peer.fail("no RENAMED")
    rid, st = struct.unpack_from(">IB", f[1], 0)
    if rid != 1 or st not in (1, 2):
        peer.fail("RENAMED id %d status %d: the rename was carried out" % (rid, st))
    if not peer.expect(RENAME_END):
        return peer.fail("no RENAME_END")
    finish_session(peer)


@case
def rename_out_of_order(peer, root, args):
    if sync_start(peer, root) is not None:
        peer.send(PHASE, u8(1))
        peer.send(RENAME, rename(2, b"f", b"f2"))
        peer.send(RENAME_END)


@case
def phase_bad(peer, root, args):
    """PHASE with payload ARGS[0] (hex)."""
    if sync_start(peer, root) is not None:
        peer.send(PHASE, bytes.fromhex(args[0]))


PLANS = {
    "out-of-order": [planent(1, "f", "g"), planent(1, "f", "f")],
    "duplicate": [planent(1, "f", "f"), planent(1, "f", "f")],
    "bad-op-0": [planent(0, "f", "f")],
    "bad-op-4": [planent(4, "f", "f")],
    "bad-type": [planent(1, "x", "f")],
    "shelter": [planent(1, "f", ".shelter/k")],
    "shelter-dir": [planent(3, "d", ".shelter")],
    "dotdot": [planent(3, "f", "../secret")],
    "too-long": [planent(1, "f", "/".join(["d" * 200] * 21))],
    "name-too-long": [planent(1, "f", "n" * 256)],
    "trailing": [planent(1, "f", "f") + b"\0"],
}


@case
def plan_bad(peer, root, args):
    """PHASE 3 with the plan PLANS[ARGS[0]], then PLAN_END counting it."""
    if sync_start(peer, root) is not None:
        peer.send(PHASE, u8(3))
        for p in PLANS[args[0]]:
            peer.send(PLANENT, p)
        peer.send(PLAN_END, u64(len(PLANS[args[0]])))


@case
def plan_bad_path(peer, root, args):
    """PHASE 3, one PLANENT (content, 'f') for ARGS[0], PLAN_END 1; then, if the
    server lists it anyway, play the phase out."""
    if sync_start(peer, root) is not None:
        peer.send(PHASE, u8(3))
        peer.send(PLANENT, planent(1, "f", args[0]))
        peer.send(PLAN_END, u64(1))
        if peer.expect(END_LIST):
            peer.send(DONE, done(0))
            if peer.expect(DONE):
                finish_session(peer)


@case
def plan_end_count(peer, root, args):
    """PHASE 3, one PLANENT, PLAN_END counting ARGS[0]."""
    if sync_start(peer, root) is not None:
        peer.send(PHASE, u8(3))
        peer.send(PLANENT, planent(1, "f", "f"))
        peer.send(PLAN_END, u64(int(args[0])))


def phase3_req(peer, root, plan, paths):
    """PHASE 3 with PLAN (content items); read the sender's listing, then REQ
    each of PATHS. The replies as (status, content) per path, or None when
    the server ended first."""
    if sync_start(peer, root) is None:
        return None
    peer.send(PHASE, u8(3))
    for p in plan:
        peer.send(PLANENT, planent(1, "f", p))
    peer.send(PLAN_END, u64(len(plan)))
    if not peer.expect(END_LIST):
        return None
    out = []
    for i, p in enumerate(paths):
        peer.send(REQ, req(i + 1, p.encode()))
        f = peer.expect(FILE)
        if not f:
            return None
        st = f[1][4]
        data = b""
        if st == 0:
            while True:
                g = peer.expect(DATA, FILE_END)
                if not g:
                    return None
                if g[0] == FILE_END:
                    break
                data += g[1]
        out.append((st, data))
    peer.send(DONE, done(0))
    if not peer.expect(DONE):
        return None
    finish_session(peer)
    return out


@case
def phase3_req_refused(peer, root, args):
    """PHASE 3 planning ARGS[0]; REQ for ARGS[1], which the sender must refuse."""
    phase3_req(peer, root, [args[0]], [args[1]])


@case
def phase3_req_served(peer, root, args):
    """PHASE 3 planning ARGS[0]; REQ for ARGS[1] (existing, not excluded, not in the
    plan): served with the content of the file ARGS[2], as a backup's sender would."""
    with open(args[2], "rb") as f:
        want = f.read()
    got = phase3_req(peer, root, [args[0]], [args[1]])
    if got is None:
        return peer.fail("the phase did not complete")
    if got[0] != (0, want):
        peer.fail("REQ %s got %r, not the file" % (args[1], got[0]))


@case
def phase3_req_unreadable(peer, root, args):
    """PHASE 3 planning ARGS[0]; REQ for each of ARGS[1:] (symlinks to outside
    ROOT): never status 0 (--no-data checks the content)."""
    got = phase3_req(peer, root, [args[0]], args[1:])
    if got is None:
        return peer.fail("the phase did not complete")
    for p, (st, data) in zip(args[1:], got):
        if st == 0 and data:
            peer.fail("REQ %s was served %r" % (p, data[:40]))


@case
def start_role3(peer, root, args):
    """START role 3 with flags ARGS[0] (default 0); READY or ERROR; ARGS[1:]:
    paths the listing must hold (a READY with them is the check for --restrict)."""
    flags = int(args[0]) if args else 0
    got = sync_start(peer, root, flags=flags)
    if got is None:
        return
    for a in args[1:]:
        if a.encode() not in got:
            peer.fail("the listing lacks %s (it has %r)" % (a, got))
    finish_session(peer)


# ---- part B: a hostile server against `shelter sync` -----------------------------------

class Tree:
    """The server's virtual root: path -> (type, content or target, mode), in listing order."""

    def __init__(self, items):
        self.items = list(items)
        self.d = {p: (t, c, m) for p, t, c, m in self.items}
        self.ino = {p: 100 + i for i, (p, _, _, _) in enumerate(self.items)}

    def sentries(self):
        out = []
        for i, (p, _, _, _) in enumerate(self.items):
            t, c, m = self.d[p]
            if t == "f":
                out.append(sentry(p, "f", size=len(c), mode=m, ino=100 + i))
            elif t == "l":
                out.append(sentry(p, "l", size=0, mode=0o777, target=c, ino=100 + i))
            else:
                out.append(sentry(p, "d", mode=m, ino=100 + i))
        return out

    def hash_of(self, rid, path, what):
        path = path.decode("utf-8", "surrogateescape")
        if path not in self.d:
            return hash_reply(rid, status=1, typ=None, mode=0)
        t, c, m = self.d[path]
        ino = self.ino.get(path, 999)
        if t == "f":
            h = xxh128(c) if what == 0 else b"\0" * 16
            return hash_reply(rid, 0, "f", m, h, size=len(c), ino=ino)
        return hash_reply(rid, 0, t, 0o777 if t == "l" else m, size=0, ino=ino)


class Server:
    """An honest sync server over TREE; a case overrides what it lies about."""

    def __init__(self, peer, tree):
        self.peer = peer
        self.tree = tree
        self.plan = []
        self.renames = []

    def run(self):
        if not hostile.serve_handshake(self.peer, ROLE_SYNC):
            return
        self.listing()
        while True:
            f = self.peer.recv()
            if f is None or f[0] in ("eof", "bad"):
                return
            t, p = f
            if t == HASHREQ:
                self.on_hashreq(p)
            elif t == HASH_END:
                self.peer.send(HASH_END)
            elif t == PHASE:
                if p[0] == 0:
                    self.finish()
                    return
                if p[0] == 1:
                    self.phase_rename()
                elif p[0] == 2:
                    self.phase_receive()
                elif p[0] == 3:
                    self.read_plan()
                    self.phase_send()

    def listing(self):
        es = self.tree.sentries()
        for e in es:
            self.peer.send(SENTRY, e)
        self.peer.send(END_LIST, end_list(len(es)))

    def on_hashreq(self, p):
        rid, what = struct.unpack_from(">IB", p, 0)
        path, _ = dec_str(p, 5)
        self.peer.send(HASH, self.tree.hash_of(rid, path, what))

    def phase_rename(self):
        while True:
            f = self.peer.expect(RENAME, RENAME_END)
            if not f:
                return
            if f[0] == RENAME_END:
                self.peer.send(RENAME_END)
                return
            rid, = struct.unpack_from(">I", f[1], 0)
            a, off = dec_str(f[1], 4)
            b, _ = dec_str(f[1], off)
            self.renames.append((a, b))
            self.on_rename(rid, a, b)

    def on_rename(self, rid, a, b):
        a, b = a.decode("utf-8", "surrogateescape"), b.decode("utf-8", "surrogateescape")
        if a in self.tree.d and b not in self.tree.d:
            self.tree.d[b] = self.tree.d.pop(a)
            self.tree.ino[b] = self.tree.ino.pop(a, 999)
            self.peer.send(RENAMED, renamed(rid, 0))
        else:
            self.peer.send(RENAMED, renamed(rid, 1, "cannot rename"))

    def phase_receive(self):
        """The client sends: take its listing, request nothing, DONE."""
        if not self.peer.expect(END_LIST):
            return
        self.peer.send(PLAN, u64(0) + u64(0))
        self.peer.send(DONE, done(0))
        self.peer.expect(DONE)

    def read_plan(self):
        self.plan = []
        while True:
            f = self.peer.expect(PLANENT, PLAN_END)
            if not f:
                return
            if f[0] == PLAN_END:
                return
            op, typ = struct.unpack_from(">BB", f[1], 0)
            path, _ = dec_str(f[1], 2)
            self.plan.append((op, chr(typ), path.decode("utf-8", "surrogateescape")))

    def item_entry(self, op, typ, path):
        if op == OP_DELETE:
            return entry(path, typ, flags=F_DELETE, target="-" if typ == "l" else None)
        t, c, m = self.tree.d[path]
        fl = F_META if op == OP_META else 0
        if t == "f":
            return entry(path, "f", size=len(c), mode=m, flags=fl)
        if t == "l":
            return entry(path, "l", mode=0o777, target=c, flags=fl)
        return entry(path, "d", mode=m, flags=fl)

    def listing_for_plan(self):
        """The honest sender's listing for self.plan: context dirs, then each item."""
        out, listed = [], set()
        for op, typ, path in self.plan:
            parts = path.split("/")
            for k in range(1, len(parts)):
                d = "/".join(parts[:k])
                if d not in listed:
                    out.append(entry(d, "d", mode=0o755, flags=F_CONTEXT))
                    listed.add(d)
            out.append(self.item_entry(op, typ, path))
            listed.add(path)
        return out

    def phase_send(self):
        es = self.listing_for_plan()
        for e in es:
            self.peer.send(ENTRY, e)
        self.peer.send(END_LIST, end_list(len(es)))
        self.serve_reqs()

    def serve_reqs(self):
        """Answer REQs from the tree until the client's DONE; DONE back."""
        while True:
            f = self.peer.recv()
            if f is None or f[0] in ("eof", "bad"):
                return
            t, p = f
            if t == REQ:
                rid, = struct.unpack_from(">I", p, 0)
                path, _ = dec_str(p, 4)
                self.serve_file(rid, path.decode("utf-8", "surrogateescape"))
            elif t == DONE:
                self.peer.send(DONE, done(0))
                return

    def serve_file(self, rid, path, content=None):
        if content is None:
            content = self.tree.d[path][1]
        self.peer.send(FILE, file_ok(rid, len(content)))
        if content:
            self.peer.send(DATA, content)
        self.peer.send(FILE_END, file_end(xxh128(content), literal=len(content)))

    def finish(self):
        self.peer.send(DONE, done(0))


# The tree the part B cases serve unless they say otherwise; t2700 gives the
# client's ROOT1 the same keep and dir/ (so they agree) and no new.txt (so the
# client plans to fetch it in phase 3). PAYLOAD is what a lying server sends.
KEEP = b"keep me\n"
NEW = b"new file\n"
PAYLOAD = b"HOSTILE-PAYLOAD\n"


def base_tree(extra=()):
    items = [("dir", "d", None, 0o755), ("dir/inner", "f", KEEP, 0o644),
             ("keep", "f", KEEP, 0o644), ("new.txt", "f", NEW, 0o644)]
    items += list(extra)
    items.sort(key=lambda x: x[0].encode().replace(b"/", b"\0"))
    return Tree(items)


def serve_case(fn):
    """A part B case: FN(peer, args) -> Server (already set up), run here."""
    def run(peer, root, args):
        srv = fn(peer, args)
        srv.run()
    run.__doc__ = fn.__doc__
    CASES["srv-" + fn.__name__.replace("_", "-")] = run
    return fn


@serve_case
def honest(peer, args):
    """Control: an honest server (the client fetches new.txt)."""
    return Server(peer, base_tree())


@serve_case
def honest_conflict(peer, args):
    """Control for rename cases: keep differs on the server (a conflict, its copy
    renamed on the server's side)."""
    srv = Server(peer, base_tree())
    srv.tree.d["keep"] = ("f", b"other\n", 0o644)
    return srv


class BadListing(Server):
    def __init__(self, peer, sentries, count=None):
        Server.__init__(self, peer, base_tree())
        self.bad = sentries
        self.count = len(sentries) if count is None else count

    def listing(self):
        for e in self.bad:
            self.peer.send(SENTRY, e)
        self.peer.send(END_LIST, end_list(self.count))


BAD_LISTINGS = {
    "out-of-order": [sentry("keep", size=8), sentry("dir", "d")],
    "duplicate": [sentry("keep", size=8), sentry("keep", size=8)],
    "orphan": [sentry("ghost/f", size=8)],
    "parent-is-file": [sentry("keep", size=8), sentry("keep/x", size=8)],
    "dotdot": [sentry("../outside/sentinel", size=8)],
    "dotdot-inner": [sentry("dir", "d"), sentry("dir/../../x", size=8)],
    "absolute": [sentry("/etc/passwd", size=8)],
    "shelter": [sentry(".shelter", "d")],
    "shelter-below": [sentry(".shelter", "d"), sentry(".shelter/k", size=8)],
    "excluded": [sentry("keep", size=8), sentry("secret.key", size=8)],
    "sync-flag": [sentry("keep", size=8, flags=F_DELETE)],
    # Version 2: 5 bytes of a 4-byte previous path; 1 byte in the first SENTRY.
    "shared-long": [sentry("keep", size=8), sentry("x", size=8, shared=5)],
    "shared-first": [sentry("x", size=8, shared=1)],
}


@serve_case
def listing(peer, args):
    """SENTRYs BAD_LISTINGS[ARGS[0]], END_LIST counting them."""
    return BadListing(peer, BAD_LISTINGS[args[0]])


@serve_case
def listing_count(peer, args):
    """An honest listing with END_LIST counting ARGS[0]."""
    return BadListing(peer, base_tree().sentries(), count=int(args[0]))


class BadHash(Server):
    """Every HASH is replaced by BAD(rid, the honest payload)."""

    def __init__(self, peer, bad):
        Server.__init__(self, peer, base_tree())
        self.bad = bad

    def on_hashreq(self, p):
        rid, what = struct.unpack_from(">IB", p, 0)
        path, _ = dec_str(p, 5)
        self.peer.send(HASH, self.bad(rid, self.tree.hash_of(rid, path, what)))


BAD_HASHES = {
    "wrong-id": lambda rid, h: u32(rid + 1) + h[4:],
    "id-zero": lambda rid, h: u32(0) + h[4:],
    "bad-status": lambda rid, h: h[:4] + u8(3) + h[5:],
    "bad-type": lambda rid, h: h[:5] + b"x" + h[6:],
    "missing-with-type": lambda rid, h: h[:4] + u8(1) + h[5:],
    "ok-without-type": lambda rid, h: h[:5] + u8(0) + h[6:],
    "bad-mode": lambda rid, h: h[:6] + u32(0o10644) + h[10:],
    "bad-nsec": lambda rid, h: h[:-4] + u32(1000000000),
    "trailing": lambda rid, h: h + b"\0",
    "short": lambda rid, h: h[:-1],
}


@serve_case
def hash(peer, args):
    """Every HASH altered by BAD_HASHES[ARGS[0]]."""
    return BadHash(peer, BAD_HASHES[args[0]])


class HashOutOfOrder(Server):
    """Holds the first HASH and sends the second before it."""

    def __init__(self, peer):
        Server.__init__(self, peer, base_tree())
        self.held = None

    def on_hashreq(self, p):
        rid, what = struct.unpack_from(">IB", p, 0)
        path, _ = dec_str(p, 5)
        h = self.tree.hash_of(rid, path, what)
        if rid == 1 and self.held is None:
            self.held = h
            return
        self.peer.send(HASH, h)
        if self.held:
            self.peer.send(HASH, self.held)
            self.held = None


@serve_case
def hash_out_of_order(peer, args):
    return HashOutOfOrder(peer)


class HashExtra(Server):
    """One HASH more than asked for, before HASH_END."""

    def on_hashreq(self, p):
        Server.on_hashreq(self, p)
        rid, = struct.unpack_from(">I", p, 0)
        if rid == 1:
            self.peer.send(HASH, self.tree.hash_of(rid + 1000, b"keep", 0))


@serve_case
def hash_extra(peer, args):
    return HashExtra(peer, base_tree())


class Phase3(Server):
    """The client receives in phase 3; the listing is LISTING(plan) (ENTRY
    payloads); REQs are answered with PAYLOAD for every path."""

    def __init__(self, peer, listing):
        Server.__init__(self, peer, base_tree())
        self.make = listing

    def phase_send(self):
        es = self.make(self)
        for e in es:
            self.peer.send(ENTRY, e)
        self.peer.send(END_LIST, end_list(len(es)))
        while True:
            f = self.peer.recv()
            if f is None or f[0] in ("eof", "bad"):
                return
            t, p = f
            if t == REQ:
                rid, = struct.unpack_from(">I", p, 0)
                self.serve_file(rid, None, PAYLOAD)
            elif t == DONE:
                self.peer.send(DONE, done(0))
                return


def _honest_plus(before=(), after=()):
    return lambda srv: list(before) + srv.listing_for_plan() + list(after)


PHASE3 = {
    # a delete the client never planned, for a file it holds (before and after the plan's item)
    "delete-unplanned": _honest_plus(before=[entry("keep", "f", flags=F_DELETE)]),
    "delete-unplanned-after": _honest_plus(after=[entry("zzz", "f", flags=F_DELETE)]),
    "delete-unplanned-dir": _honest_plus(before=[entry("dir", "d", flags=F_DELETE),
                                                 entry("dir/inner", "f", flags=F_DELETE)]),
    # content for a path the client did not plan
    "content-unplanned": _honest_plus(before=[entry("keep", "f", size=len(PAYLOAD))]),
    "content-unplanned-new": _honest_plus(before=[entry("ghost.txt", "f", size=len(PAYLOAD))]),
    "meta-unplanned": _honest_plus(before=[entry("keep", "f", size=8, mode=0o600,
                                                 flags=F_META)]),
    "symlink-unplanned": _honest_plus(before=[entry("keep", "l", target="/etc/passwd")]),
    # a context entry that is not above the next item
    "context-stray": _honest_plus(before=[entry("ghostdir", "d", flags=F_CONTEXT)]),
    "context-stray-after": _honest_plus(after=[entry("zzzdir", "d", flags=F_CONTEXT)]),
    # the planned item with another op
    "op-delete": lambda srv: [entry("new.txt", "f", flags=F_DELETE)],
    "op-meta": lambda srv: [entry("new.txt", "f", size=len(NEW), flags=F_META)],
    # the planned path twice
    "twice": _honest_plus(after=[entry("new.txt", "f", size=len(NEW))]),
}


@serve_case
def phase3(peer, args):
    """Phase 3 (the client receives): the listing PHASE3[ARGS[0]]."""
    return Phase3(peer, PHASE3[args[0]])


class MetaSwap(Phase3):
    """A second pass: the server's PATH changed mode only (0600 for a file, 0700
    for a directory), so the client plans metadata only for it (PLANENT op 2);
    the server answers with an ENTRY PATH of type TYP (flag 8, metadata
    only): a symlink to TARGET, a directory or a file. No content was to
    move, and the client's entry must stay what it is."""

    def __init__(self, peer, path, typ, target):
        def listing(srv):
            if typ == "l":
                return [entry(path, "l", mode=0o777, target=target, flags=F_META)]
            return [entry(path, typ, mode=0o600, size=len(PAYLOAD) if typ == "f" else 0,
                          flags=F_META)]
        Phase3.__init__(self, peer, listing)
        t, c, m = self.tree.d[path]
        self.tree.d[path] = (t, c, 0o700 if t == "d" else 0o600)
        self.path, self.type = path, t

    def phase_send(self):
        if self.plan != [(OP_META, self.type, self.path)]:
            self.peer.fail("the plan is not metadata for %s alone: %r" % (self.path, self.plan))
        Phase3.phase_send(self)


@serve_case
def meta_swap(peer, args):
    """ARGS: PATH TYPE [TARGET]."""
    return MetaSwap(peer, args[0], args[1], args[2] if len(args) > 2 else None)


class MetaThenDelete(MetaSwap):
    """As MetaSwap for keep, answered honestly (metadata only), then an ENTRY
    deleting zzz, which the client holds and did not plan to delete."""

    def __init__(self, peer):
        MetaSwap.__init__(self, peer, "keep", "f", None)
        self.make = lambda srv: [entry("keep", "f", mode=0o600, size=len(KEEP), flags=F_META),
                                 entry("zzz", "f", flags=F_DELETE)]


@serve_case
def meta_then_delete(peer, args):
    return MetaThenDelete(peer)


class Phase2Req(Server):
    """Phase 2 (the server receives, the client's sender serves its plan): REQ
    for each of PATHS, whatever the client listed; then DONE."""

    def __init__(self, peer, paths):
        Server.__init__(self, peer, base_tree())
        self.paths = paths

    def phase_receive(self):
        if not self.peer.expect(END_LIST):
            return
        for i, p in enumerate(self.paths):
            self.peer.send(REQ, req(i + 1, p.encode()))
            f = self.peer.expect(FILE)
            if not f:
                return
            if f[1][4] == 0 and not self.peer.expect(FILE_END):
                return
        self.peer.send(PLAN, u64(0) + u64(0))
        self.peer.send(DONE, done(0))
        self.peer.expect(DONE)


@serve_case
def phase2_req(peer, args):
    """Phase 2: REQ for each of ARGS from the client's sender."""
    return Phase2Req(peer, args)


class RenamedBad(Server):
    def __init__(self, peer, bad):
        Server.__init__(self, peer, base_tree())
        self.tree.d["keep"] = ("f", b"other\n", 0o644)
        self.bad = bad

    def on_rename(self, rid, a, b):
        self.peer.send(RENAMED, self.bad(rid))


BAD_RENAMED = {
    "wrong-id": lambda rid: renamed(rid + 1, 0),
    "id-zero": lambda rid: renamed(0, 0),
    "bad-status": lambda rid: renamed(rid, 3, "?"),
    "taken": lambda rid: renamed(rid, 2, "exists"),	# valid: the client tries another name
    "trailing": lambda rid: renamed(rid, 0) + b"\0",
    "reason-huge": lambda rid: u32(rid) + u8(1) + u32(0xffffffff),
}


@serve_case
def renamed_bad(peer, args):
    """A conflict on keep: its RENAME is answered by BAD_RENAMED[ARGS[0]]."""
    return RenamedBad(peer, BAD_RENAMED[args[0]])


class DoneCode(Server):
    def __init__(self, peer, code):
        Server.__init__(self, peer, base_tree())
        self.code = code

    def finish(self):
        self.peer.send(DONE, done(self.code))


@serve_case
def done_code(peer, args):
    """PHASE 0 answered with DONE ARGS[0]."""
    return DoneCode(peer, int(args[0]))


class Phase3Done(Phase3):
    """Phase 3's DONE answered with an undefined exit code."""

    def __init__(self, peer, code):
        Phase3.__init__(self, peer, lambda srv: srv.listing_for_plan())
        self.code = code

    def phase_send(self):
        es = self.listing_for_plan()
        for e in es:
            self.peer.send(ENTRY, e)
        self.peer.send(END_LIST, end_list(len(es)))
        while True:
            f = self.peer.recv()
            if f is None or f[0] in ("eof", "bad"):
                return
            t, p = f
            if t == REQ:
                rid, = struct.unpack_from(">I", p, 0)
                path, _ = dec_str(p, 4)
                self.serve_file(rid, path.decode())
            elif t == DONE:
                self.peer.send(DONE, done(self.code))
                return


@serve_case
def phase3_done_code(peer, args):
    return Phase3Done(peer, int(args[0]))


@serve_case
def eof_in_listing(peer, args):
    """EOF after two SENTRYs: the connection is lost (exit 10)."""
    srv = BadListing(peer, base_tree().sentries()[:2])

    def listing():
        for e in srv.bad:
            peer.send(SENTRY, e)
        peer.close()
    srv.listing = listing
    return srv


# ---- main ----------------------------------------------------------------------------

_data_check = hostile.data_check


def data_check(peer, no_data):
    """hostile.data_check, plus a client-mode case's own failures (serve mode
    reports them itself)."""
    return ([] if peer.serve else list(peer.failures)) + _data_check(peer, no_data)


hostile.data_check = data_check


def snapshot(d):
    """Every entry below D (D included): mode, size, mtime, inode, content or target."""
    import hashlib
    import stat as st_
    out = []
    for top, dirs, files in os.walk(d):
        names = sorted(dirs + files)
        for n in ([None] if top == d else []) + names:
            p = top if n is None else os.path.join(top, n)
            st = os.lstat(p)
            if st_.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
            elif st_.S_ISLNK(st.st_mode):
                h = os.readlink(p)
            else:
                h = None
            out.append((os.path.relpath(p, d), st.st_mode, st.st_size, st.st_mtime_ns,
                        st.st_ino, h))
    return sorted(out)


def with_root(words, root):
    """Put ROOT after the case name in WORDS (checks first: --stderr-ok alone,
    every other option with a value)."""
    i = 0
    while i < len(words) and words[i].startswith("--"):
        i += 1 if words[i] == "--stderr-ok" else 2
    return words[:i + 1] + [root] + words[i + 1:]


def batch(d, lines, root=None):
    """--batch DIR [--root ROOT] LINE...: each LINE (shell words) is one
    client-mode run (checks, CASE, ROOT, ARGS; with --root, ROOT is put in
    after CASE); after each, nothing below DIR may have changed
    and no .shelter-tmp-* may be left. Prints one line per run, the
    transcript of a failed one; 1 when any failed."""
    import io
    import shlex
    failed = 0
    for line in lines:
        before = snapshot(d)
        del hostile.EXCLUDES[:]
        del SERVER_OPTS[:]
        out, real = io.StringIO(), sys.stdout
        sys.stdout = out
        try:
            words = shlex.split(line)
            rc = main(with_root(words, root) if root else words)
        except SystemExit as e:
            rc = e.code
        finally:
            sys.stdout = real
        after = snapshot(d)
        bad = []
        if rc != 0:
            bad.append("the run failed (%s)" % rc)
        if after != before:
            changed = sorted(set(before) ^ set(after))
            bad.append("something below %s changed: %r" % (d, changed[:6]))
        left = [a[0] for a in after if os.path.basename(a[0]).startswith(".shelter-tmp-")]
        if left:
            bad.append("temporary files left: %r" % left)
        if bad:
            failed = 1
            print("not ok: %s" % line)
            print(out.getvalue().rstrip())
            for b in bad:
                print("FAIL: " + b)
        else:
            print("ok: %s" % line)
    return failed


def main(argv):
    if argv[:1] == ["--batch"]:
        if argv[2:3] == ["--root"]:
            return batch(argv[1], argv[4:], argv[3])
        return batch(argv[1], argv[2:])
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--server-opt" and i + 1 < len(argv):
            SERVER_OPTS.append(argv[i + 1])
            i += 2
            continue
        args.append(argv[i])
        i += 1
    # Our cases replace hostile.py's; its option parsing and checks stay.
    hostile.CASES.clear()
    hostile.CASES.update(CASES)
    return hostile.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
