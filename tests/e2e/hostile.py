#!/usr/bin/env python3
"""hostile.py - play a hostile peer against shelter (doc/protocol.md).

    hostile.py [checks] CASE ROOT [ARG...]
    hostile.py --serve [--log FILE] [--no-data TEXT] CASE [ARG...] HOST CMD --server

The first form starts $SHELTER --server with pipes on its stdin and stdout,
performs CASE against it as a client (ROOT is the root named in START),
prints a transcript of every frame, and checks what the server did:

    --exit N          the server must exit with N ("nonzero": anything but 0)
    --msg TEXT        an error from the server (MSG kind 0 or ERROR) must
                      contain TEXT; repeatable
    --no-data TEXT    no DATA frame may contain TEXT
    --stderr-ok       the server may write to its stderr (by default it must
                      not: a server speaks only through the protocol)
    --exclude PAT     an exclude pattern for START; repeatable

Whatever the checks, the server must end the pass by itself: one killed by
a signal, or still running at the time limit (HOSTILE_TIMEOUT, 10 s; it is
then killed, and the CPU time it used tells a spin from a wait), fails. Exit status: 0 when
every check holds, 1 when one fails, 2 on a usage error.

The second form is a hostile *server*: the client runs it as its -e
command (`shelter backup -e "python3 hostile.py --serve CASE" --remote-cmd x
SRC host:/root`, so the last three arguments are the host, the remote
command and --server, and are ignored). It speaks the protocol on its own
stdin and stdout, answers the client's HELLO and START (the START's role
must be the one CASE plays: a sender case for a pull, a receiver case for a
push), performs CASE, and plays along until the client hangs up. The
transcript goes to FILE (default ./hostile.log), never to stdout (the
channel) or stderr (the client's terminal); it ends with "FAIL: ..." lines
when a check fails: --no-data, a START with the wrong role, or a client
still connected at the time limit. The test checks the client's exit
code, its stderr and the trees.

Python 3 standard library only.
"""

import ctypes
import ctypes.util
import math
import os
import queue
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

MAX_FRAME = 262144

HELLO, START, READY, ERROR, MSG = 1, 2, 3, 4, 5
ENTRY, END_LIST = 10, 11
REQ, SIG, SIG_END, PLAN = 20, 21, 22, 23
FILE, DATA, FILE_END = 30, 31, 32
DONE = 40
NOOP = 6
NAMES = {HELLO: "HELLO", START: "START", READY: "READY", ERROR: "ERROR", MSG: "MSG", NOOP: "NOOP",
         ENTRY: "ENTRY", END_LIST: "END_LIST", REQ: "REQ", SIG: "SIG", SIG_END: "SIG_END",
         PLAN: "PLAN", FILE: "FILE", DATA: "DATA", FILE_END: "FILE_END", DONE: "DONE"}

ROLE_SENDER, ROLE_RECEIVER = 1, 2

TIMEOUT = float(os.environ.get("HOSTILE_TIMEOUT", "10"))

EXCLUDES = []		# --exclude: the patterns a client case's START carries

# XXH3-128 (canonical) of the contents the cases send; checked against
# xxh128sum. Anything else goes through libxxhash when it can be loaded.
KNOWN_HASHES = {
    b"": "99aa06d3014798d86001c324468d497f",
    b"0123456789": "e353667619ec664b49655fc9692165fb",
    b"hello, shelter\n": "c406ff1b968dd19e25657e9aa0cd0a50",
}


def xxh128(data):
    if data in KNOWN_HASHES:
        return bytes.fromhex(KNOWN_HASHES[data])

    class H(ctypes.Structure):
        _fields_ = [("low", ctypes.c_uint64), ("high", ctypes.c_uint64)]

    lib = ctypes.CDLL(ctypes.util.find_library("xxhash") or "libxxhash.so.0")
    lib.XXH3_128bits.restype = H
    lib.XXH3_128bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    h = lib.XXH3_128bits(data, len(data))
    return h.high.to_bytes(8, "big") + h.low.to_bytes(8, "big")


# ---- encoders (doc/protocol.md) -----------------------------------------------

def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)
def i64(v): return struct.pack(">q", v)


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b


def frame(t, payload=b""):
    return u8(t) + u32(len(payload)) + payload


def hello(vmin=2, vmax=2, caps=0):
    return b"SHLT" + u16(vmin) + u16(vmax) + u64(caps)


def start(role, root, flags=0, verbosity=1, patterns=(), timeout=600):
    p = u8(role) + u32(flags) + u8(verbosity) + u32(timeout) + s(root) + u32(len(patterns))
    for pat in patterns:
        p += s(pat)
    return p


def entry(path, typ="f", size=0, mode=None, flags=0, mtime=1600000000, nsec=0, target=None,
          uid=0, gid=0, hash16=None, shared=0):
    """An ENTRY payload (doc/protocol.md, version 2) that shares nothing with the
    entry before it and sends every field (a valid way to send any entry); with
    SHARED, PATH is the rest after that many bytes of the previous path."""
    if mode is None:
        mode = {"f": 0o644, "d": 0o755, "l": 0o777}[typ]
    small = size < (1 << 32)
    p = u16(shared) + s(path) + u8(ord(typ)) + u8(flags) + u8(8 if small else 0)
    p += u16(mode) + u32(uid) + u32(gid) + (u32(size) if small else u64(size))
    p += i64(mtime) + u32(nsec)
    if typ == "l":
        p += s(target)
    if hash16 is not None:
        p += hash16
    return p


def file_ok(rid, size, encoding=0, mtime=1600000000, nsec=0, mode=0o644):
    return u32(rid) + u8(0) + u8(encoding) + u64(size) + i64(mtime) + u32(nsec) + u32(mode)


def file_status(rid, status, reason):
    return u32(rid) + u8(status) + s(reason)


def file_end(hash16, literal=0, matched=0, changed=0):
    return u8(changed) + hash16 + u64(literal) + u64(matched)


def done(code=0):
    return u8(code) + u64(0) * 11


def end_list(count, mode=0o755, uid=None, gid=None, mtime=1600000000, nsec=0):
    """END_LIST: the number of entries, then the root's own metadata."""
    uid = os.getuid() if uid is None else uid
    gid = os.getgid() if gid is None else gid
    return u64(count) + u32(mode) + u32(uid) + u32(gid) + i64(mtime) + u32(nsec)


def req(rid, path, basis=0, has_sig=0):
    return u32(rid) + s(path) + u64(basis) + u8(has_sig)


# ---- decoders ------------------------------------------------------------------

def dec_str(p, off):
    (n,) = struct.unpack_from(">I", p, off)
    return p[off + 4:off + 4 + n], off + 4 + n


def describe(t, p):
    name = NAMES.get(t, "type%d" % t)
    try:
        if t in (MSG, ERROR):
            text, _ = dec_str(p, 1)
            text = "".join(c if c >= " " else "\\x%02x" % ord(c)
                           for c in text.decode("utf-8", "replace"))
            return "%s %d %s" % (name, p[0], text)
        if t == REQ:
            rid, = struct.unpack_from(">I", p, 0)
            path, off = dec_str(p, 4)
            basis, has_sig = struct.unpack_from(">QB", p, off)
            return "REQ id=%d path=%r basis=%d sig=%d" % (rid, path, basis, has_sig)
        if t == FILE:
            rid, st = struct.unpack_from(">IB", p, 0)
            if st:
                reason, _ = dec_str(p, 5)
                return "FILE id=%d status=%d reason=%r" % (rid, st, reason)
            enc, size = struct.unpack_from(">BQ", p, 5)
            return "FILE id=%d ok enc=%d size=%d" % (rid, enc, size)
        if t == ENTRY:
            (shared,) = struct.unpack_from(">H", p, 0)
            path, off = dec_str(p, 2)
            return "ENTRY %d+%r %s" % (shared, path, chr(p[off]))
        if t == DATA:
            return "DATA %d bytes %r" % (len(p), p[:40])
        if t == DONE:
            return "DONE %d" % p[0]
    except (struct.error, IndexError):
        return "%s (malformed, %d bytes)" % (name, len(p))
    return "%s %d bytes" % (name, len(p))


# ---- the peer --------------------------------------------------------------------

class Peer:
    """The other side: shelter --server on pipes (client mode), or the
    shelter client on our own stdin/stdout (serve mode). A thread turns what
    it writes into frames."""

    def __init__(self, cwd, serve=False):
        self.serve = serve
        self.proc = None
        self.frames = queue.Queue()
        self.log = []
        self.got = []			# every (type, payload) received
        self.stderr = b""
        self.broken = False
        self.sent_done = False
        self.ended = False		# EOF (or a bad header) seen
        self.failures = []		# checks that failed during the case (serve mode)
        self.start_root = None		# the root the client's START named (serve mode)
        self.deadline = time.monotonic() + TIMEOUT
        if serve:
            self.rfd, self.wfd = 0, 1
        else:
            shelter = os.environ.get("SHELTER")
            if not shelter:
                sys.exit("hostile.py: SHELTER is not set")
            self.proc = subprocess.Popen([shelter, "--server"], cwd=cwd, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.rfd, self.wfd = self.proc.stdout.fileno(), self.proc.stdin.fileno()
            threading.Thread(target=self._read_err, daemon=True).start()
        threading.Thread(target=self._read, daemon=True).start()

    def _read_exact(self, n):
        out = b""
        while len(out) < n:
            try:
                b = os.read(self.rfd, n - len(out))
            except OSError:
                b = b""
            if not b:
                break
            out += b
        return out

    def _read(self):
        while True:
            h = self._read_exact(5)
            if len(h) < 5:
                self.frames.put(("eof", h))
                return
            t, n = struct.unpack(">BI", h)
            if n > MAX_FRAME:
                self.frames.put(("bad", h))
                return
            p = self._read_exact(n)
            if len(p) < n:
                self.frames.put(("eof", h + p))
                return
            self.frames.put((t, p))

    def _read_err(self):
        self.stderr = self.proc.stderr.read()

    def note(self, line):
        self.log.append(line)

    def fail(self, line):
        self.note("! " + line)
        self.failures.append(line)

    def send_raw(self, data, what=None):
        self.note("> " + (what or "raw %r" % data[:60]))
        if self.broken:
            return
        try:
            while data:
                k = os.write(self.wfd, data)
                data = data[k:]
        except (BrokenPipeError, ConnectionResetError):
            self.broken = True
            self.note("  (the %s closed its input)" % ("client" if self.serve else "server"))

    def send(self, t, payload=b""):
        if t == DONE:
            self.sent_done = True
        self.send_raw(frame(t, payload), describe(t, payload))

    def close(self):
        """End our half of the channel: EOF for the other side."""
        self.note("> close")
        if self.serve:
            # stdin and stdout are one socket: shut down its sending half.
            try:
                socket.socket(fileno=os.dup(self.wfd)).shutdown(socket.SHUT_WR)
            except OSError:
                pass
            try:
                os.close(self.wfd)
            except OSError:
                pass
            return
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def recv(self):
        """The next frame as (type, payload); ("eof", rest) at the end; None on timeout."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            f = self.frames.get(timeout=left)
        except queue.Empty:
            return None
        t, p = f
        if t in ("eof", "bad"):
            self.frames.put(f)	# the end stays the end for whoever reads next
            if self.ended:
                return f
            self.ended = True
        if t == "eof":
            self.note("< EOF" + (" after %d stray bytes" % len(p) if p else ""))
        elif t == "bad":
            self.note("< frame header claiming more than %d bytes: %r" % (MAX_FRAME, p))
        else:
            self.got.append(f)
            self.note("< " + describe(t, p))
        return f

    def expect(self, *types):
        """Read until a frame of one of TYPES; None when the other side ends or hangs first."""
        while True:
            f = self.recv()
            if f is None or f[0] in ("eof", "bad"):
                return None
            if f[0] in types:
                return f

    def drain(self):
        """Play along until the other side closes: answer REQ as vanished, DONE with DONE.
        True at EOF, False at the time limit."""
        while True:
            f = self.recv()
            if f is None:
                return False
            if f[0] in ("eof", "bad"):
                return True
            t, p = f
            if t == REQ:
                rid, = struct.unpack_from(">I", p, 0)
                self.send(FILE, file_status(rid, 1, "vanished"))
            elif t == DONE and not self.sent_done:
                self.send(DONE, done(0))
            elif t == READY:
                pass

    def cpu_seconds(self):
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def finish(self):
        """The server must end the pass by itself. Returns its exit code, or
        None when it was still running at the deadline (then it is killed).
        In serve mode: play along until the client hangs up; a client still
        connected at the deadline is a failure."""
        ended = self.drain()
        if self.serve:
            if not ended:
                self.fail("the client did not end the pass within %gs" % TIMEOUT)
            self.close()
            return 0
        left = max(0.1, self.deadline - time.monotonic())
        try:
            code = self.proc.wait(timeout=left)
        except subprocess.TimeoutExpired:
            cpu = self.cpu_seconds()
            self.note("! still running after %gs (%s CPU seconds used): killed" %
                      (TIMEOUT, "?" if cpu is None else "%.1f" % cpu))
            self.proc.kill()
            self.proc.wait()
            return None
        self.close()
        time.sleep(0.05)	# let the stderr thread finish
        return code

    def errors(self):
        """Texts of MSG kind 0 and ERROR frames."""
        out = []
        for t, p in self.got:
            if t in (MSG, ERROR):
                try:
                    text, _ = dec_str(p, 1)
                except struct.error:
                    continue
                if t == ERROR or p[0] == 0:
                    out.append(text.decode("utf-8", "replace"))
        return out


# ---- common openings ---------------------------------------------------------------

def handshake(peer, role, root, **kw):
    """HELLO both ways, START, READY. True when the server is ready.

    ROLE is the real shelter's role: the server's when hostile.py is the
    client, the client's when it serves (the client's START then names the
    other role, ours)."""
    if peer.serve:
        return serve_handshake(peer, ROLE_SENDER if role == ROLE_RECEIVER else ROLE_RECEIVER)
    kw.setdefault("patterns", EXCLUDES)
    peer.send(HELLO, hello())
    peer.send(START, start(role, root, **kw))
    if not peer.expect(HELLO):
        return False
    return peer.expect(READY) is not None


def serve_handshake(peer, ours, ready=True):
    """Serve mode: HELLO both ways, the client's START must name OURS (None: any); READY."""
    peer.send(HELLO, hello())
    if not peer.expect(HELLO):
        return False
    f = peer.expect(START)
    if not f:
        return False
    p = f[1]
    try:
        root, _ = dec_str(p, 10)	# u8 role, u32 flags, u8 verbosity, u32 timeout
        peer.start_root = root
        peer.note("  START role=%d root=%r" % (p[0], root))
    except (struct.error, IndexError):
        peer.fail("malformed START from the client")
        return False
    if ours is not None and p[0] != ours:
        peer.fail("the client's START asks for role %d, this case plays %d (pull for a sender "
                  "case, push for a receiver case)" % (p[0], ours))
        peer.close()
        return False
    if ready:
        peer.send(READY, u32(0))
    return True


def as_sender(peer, root, entries, end=True, **kw):
    """Server = receiver. Send the listing ENTRIES (payloads), then END_LIST."""
    if not handshake(peer, ROLE_RECEIVER, root, **kw):
        return False
    for e in entries:
        peer.send(ENTRY, e)
    if end:
        peer.send(END_LIST, end_list(len(entries)))
    return True


def one_file(peer, root, size=10, name="file"):
    """List one file; return its REQ id (or None)."""
    if not as_sender(peer, root, [entry(name, "f", size=size)]):
        return None
    f = peer.expect(REQ)
    if not f:
        return None
    return struct.unpack_from(">I", f[1], 0)[0]


# ---- cases: a hostile sender (the server receives) ------------------------------------

CASES = {}


def case(fn):
    CASES[fn.__name__.replace("_", "-")] = fn
    return fn


def bad_entry_path(path):
    def run(peer, root, args):
        as_sender(peer, root, [entry(path, "f", size=3)])
    return run


for _name, _path in [("path-dotdot", b"../escape"), ("path-abs", b"/abs"),
                     ("path-dotdot-inner", b"a/../../x"), ("path-double-slash", b"a//b"),
                     ("path-dot", b"a/./b"), ("path-empty", b""), ("path-nul", b"a\0b"),
                     ("path-long-name", b"n" * 256), ("path-trailing-slash", b"a/"),
                     ("path-too-long", b"/".join([b"p" * 200] * 21)),
                     ("path-shelter", b".shelter")]:
    CASES[_name] = bad_entry_path(_path)


@case
def good_file(peer, root, args):
    """Control: a well-formed pass that writes DEST/file."""
    content = (args[0] if args else "hello, shelter\n").encode()
    rid = one_file(peer, root, size=len(content))
    if rid is None:
        return
    peer.send(FILE, file_ok(rid, len(content)))
    if content:
        peer.send(DATA, content)
    peer.send(FILE_END, file_end(xxh128(content), literal=len(content)))


@case
def good_tree(peer, root, args):
    """Control: a directory, a file in it, a symlink to the outside (created, never followed)."""
    target = args[0] if args else "/tmp"
    content = b"0123456789"
    if not as_sender(peer, root, [entry("d", "d"), entry("d/f", "f", size=len(content)),
                                  entry("d/link", "l", target=target)]):
        return
    f = peer.expect(REQ)
    if f:
        rid = struct.unpack_from(">I", f[1], 0)[0]
        peer.send(FILE, file_ok(rid, len(content)))
        peer.send(DATA, content)
        peer.send(FILE_END, file_end(xxh128(content), literal=len(content)))


@case
def duplicate_entry(peer, root, args):
    as_sender(peer, root, [entry("x", "f", size=1), entry("x", "f", size=1)])


@case
def duplicate_dir(peer, root, args):
    as_sender(peer, root, [entry("d", "d"), entry("d", "d")])


@case
def out_of_order(peer, root, args):
    as_sender(peer, root, [entry("b", "f", size=1), entry("a", "f", size=1)])


@case
def out_of_order_subtree(peer, root, args):
    # "a-b" sorts after "a/z": a directory's contents come right after it.
    as_sender(peer, root, [entry("a", "d"), entry("a-b", "f"), entry("a/z", "f")])


@case
def orphan(peer, root, args):
    as_sender(peer, root, [entry("a/b", "f", size=1)])


@case
def parent_is_file(peer, root, args):
    as_sender(peer, root, [entry("a", "f", size=1), entry("a/b", "f", size=1)])


@case
def through_symlink(peer, root, args):
    """A symlink to the outside, then entries and file data below it."""
    target = args[0]
    if not as_sender(peer, root, [entry("link", "l", target=target),
                                  entry("link/x", "f", size=10)], end=False):
        return
    peer.send(END_LIST, end_list(2))
    f = peer.expect(REQ)
    if f:
        rid = struct.unpack_from(">I", f[1], 0)[0]
        peer.send(FILE, file_ok(rid, 10))
        peer.send(DATA, b"0123456789")
        peer.send(FILE_END, file_end(xxh128(b"0123456789"), literal=10))


@case
def through_symlink_dir(peer, root, args):
    """DEST already has link -> outside; the listing says link is a directory with a file."""
    content = b"0123456789"
    if not as_sender(peer, root, [entry("link", "d"), entry("link/x", "f", size=len(content))]):
        return
    f = peer.expect(REQ)
    if f:
        rid = struct.unpack_from(">I", f[1], 0)[0]
        peer.send(FILE, file_ok(rid, len(content)))
        peer.send(DATA, content)
        peer.send(FILE_END, file_end(xxh128(content), literal=len(content)))


@case
def over_symlink_file(peer, root, args):
    """DEST already has x -> a file outside; the listing says x is a regular file."""
    content = b"0123456789"
    rid = one_file(peer, root, size=len(content), name="x")
    if rid is None:
        return
    peer.send(FILE, file_ok(rid, len(content)))
    peer.send(DATA, content)
    peer.send(FILE_END, file_end(xxh128(content), literal=len(content)))


@case
def huge_frame(peer, root, args):
    if as_sender(peer, root, [], end=False):
        peer.send_raw(u8(ENTRY) + u32(0xffffffff) + b"x" * 64, "ENTRY header claiming 0xffffffff bytes")


@case
def frame_over_limit(peer, root, args):
    if as_sender(peer, root, [], end=False):
        peer.send_raw(u8(DATA) + u32(MAX_FRAME + 1) + b"x" * 64, "DATA header claiming MAX_FRAME+1")


@case
def truncated_frame(peer, root, args):
    if as_sender(peer, root, [], end=False):
        e = entry("x", "f", size=1)
        peer.send_raw(frame(ENTRY, e)[:-5], "ENTRY cut 5 bytes short")
        peer.close()


@case
def unknown_frame_type(peer, root, args):
    if as_sender(peer, root, [], end=False):
        peer.send(99, b"abc")


@case
def entry_after_end(peer, root, args):
    if as_sender(peer, root, [entry("a", "d")]):
        peer.send(ENTRY, entry("b", "d"))


@case
def end_list_twice(peer, root, args):
    if as_sender(peer, root, [entry("a", "d")]):
        peer.send(END_LIST, end_list(1))


@case
def bad_file_id(peer, root, args):
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE, file_ok(rid + 1, 10))
        peer.send(DATA, b"0123456789")
        peer.send(FILE_END, file_end(xxh128(b"0123456789"), literal=10))


@case
def data_too_long(peer, root, args):
    rid = one_file(peer, root)
    if rid is not None:
        content = b"01234567890123456789"
        peer.send(FILE, file_ok(rid, 10))
        peer.send(DATA, content)
        peer.send(FILE_END, file_end(xxh128(content), literal=20))


@case
def data_too_long_split(peer, root, args):
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE, file_ok(rid, 10))
        peer.send(DATA, b"0123456789")
        peer.send(DATA, b"0")
        peer.send(FILE_END, file_end(xxh128(b"01234567890"), literal=11))


@case
def data_too_short(peer, root, args):
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE, file_ok(rid, 10))
        peer.send(DATA, b"01234")
        peer.send(FILE_END, file_end(xxh128(b"01234"), literal=5))


@case
def bad_hash(peer, root, args):
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE, file_ok(rid, 10))
        peer.send(DATA, b"0123456789")
        peer.send(FILE_END, file_end(b"\x42" * 16, literal=10))


@case
def always_changing(peer, root, args):
    """Every read of 'file' ends "changed while read": the receiver asks again,
    4 reads in all (MAX_READS), then keeps nothing. Up to 10 requests are answered."""
    content = b"0123456789"
    rid = one_file(peer, root, size=len(content))
    for _ in range(10):
        if rid is None:
            return
        peer.send(FILE, file_ok(rid, len(content)))
        peer.send(DATA, content)
        peer.send(FILE_END, file_end(xxh128(content), literal=len(content), changed=1))
        f = peer.expect(REQ, DONE)
        if not f:
            return
        if f[0] == DONE:
            peer.send(DONE, done(0))
            return
        rid = struct.unpack_from(">I", f[1], 0)[0]


@case
def restore_delete(peer, root, args):
    """Serve a restore (role 4) whose listing asks to delete 'victim': a restore
    deletes nothing, so the client refuses it (exit 12)."""
    if not serve_handshake(peer, 4):
        return
    peer.send(ENTRY, entry("victim", "f", size=1, flags=2))
    peer.send(END_LIST, end_list(1))


@case
def restore_unlisted_req(peer, root, args):
    """Receive a restore pushed to us (role 2, flag 64) and ask for a path it did
    not list: the client's sender refuses (exit 12) and sends nothing of it."""
    if not serve_handshake(peer, ROLE_RECEIVER):
        return
    while True:
        f = peer.expect(ENTRY, END_LIST)
        if not f or f[0] == END_LIST:
            break
    peer.send(REQ, req(1, (args[0] if args else "secret").encode()))


@case
def data_before_file(peer, root, args):
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(DATA, b"0123456789")


@case
def empty_data(peer, root, args):
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE, file_ok(rid, 10))
        peer.send(DATA, b"")


@case
def unrequested_file(peer, root, args):
    if as_sender(peer, root, [entry("d", "d")], end=False):
        peer.send(FILE, file_ok(1, 10))


@case
def delta_for_whole(peer, root, args):
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE, file_ok(rid, 10, encoding=1))
        peer.send(DATA, b"rs\x026" + b"\x00" * 6)
        peer.send(FILE_END, file_end(xxh128(b"0123456789"), literal=10))


# librsync delta commands (prototab.h): RS_DELTA_MAGIC, then opcodes.
DELTA_MAGIC = u32(0x72730236)
OP_END, OP_LITERAL_N1, OP_COPY_N1_N2 = 0x00, 0x41, 0x46


def hostile_delta(peer, root, delta, size):
    """DEST has x (a basis); the listing changes x; answer its REQ with DELTA."""
    if not as_sender(peer, root, [entry("x", "f", size=size)]):
        return
    f = peer.expect(REQ)
    if not f:
        return
    rid = struct.unpack_from(">I", f[1], 0)[0]
    peer.send(FILE, file_ok(rid, size, encoding=1))
    peer.send(DATA, delta)
    peer.send(FILE_END, file_end(xxh128(b"0123456789"), literal=size))


@case
def delta_beyond_basis(peer, root, args):
    """A delta copying 1000 bytes from a basis of a few."""
    hostile_delta(peer, root, DELTA_MAGIC + u8(OP_COPY_N1_N2) + u8(0) + u16(1000) + u8(OP_END), 1000)


@case
def delta_too_long(peer, root, args):
    """A delta producing 20 bytes for a FILE announcing 10."""
    hostile_delta(peer, root, DELTA_MAGIC + u8(OP_LITERAL_N1) + u8(20) + b"0123456789" * 2 +
                  u8(OP_END), 10)


@case
def delta_garbage(peer, root, args):
    hostile_delta(peer, root, b"this is not a librsync delta", 10)


@case
def delta_truncated(peer, root, args):
    """A literal cut short, then FILE_END."""
    hostile_delta(peer, root, DELTA_MAGIC + u8(OP_LITERAL_N1) + u8(10) + b"01234", 10)


@case
def delta_bad_hash(peer, root, args):
    """DEST has x; the delta for x gives other bytes than FILE_END's hash
    (what a strong-sum collision would do). The receiver must ask for x
    again, whole (has_sig 0): answered with the right bytes, or with ARGS[0]
    "bad" with wrong ones again. A second REQ with a signature gets a wrong
    delta again."""
    right = b"0123456789"
    if not as_sender(peer, root, [entry("x", "f", size=len(right))]):
        return
    wrong_delta = DELTA_MAGIC + u8(OP_LITERAL_N1) + u8(10) + b"abcdefghij" + u8(OP_END)
    f = peer.expect(REQ)
    if not f:
        return
    peer.send(FILE, file_ok(struct.unpack_from(">I", f[1], 0)[0], 10, encoding=1))
    peer.send(DATA, wrong_delta)
    peer.send(FILE_END, file_end(xxh128(right), literal=10))
    f = peer.expect(REQ)
    if not f:
        return
    rid, has_sig = struct.unpack_from(">I", f[1], 0)[0], f[1][-1]
    if has_sig:
        peer.send(FILE, file_ok(rid, 10, encoding=1))
        peer.send(DATA, wrong_delta)
        peer.send(FILE_END, file_end(xxh128(right), literal=10))
    else:
        send_file(peer, rid, b"abcdefghij" if args and args[0] == "bad" else right,
                  hash16=xxh128(right))


@case
def file_end_without_file(peer, root, args):
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE_END, file_end(xxh128(b""), literal=0))


@case
def end_list_count_low(peer, root, args):
    if as_sender(peer, root, [entry("a", "d"), entry("b", "d")], end=False):
        peer.send(END_LIST, end_list(1))


@case
def end_list_count_high(peer, root, args):
    if as_sender(peer, root, [entry("a", "d")], end=False):
        peer.send(END_LIST, end_list(1 << 63))


@case
def end_list_bad_mode(peer, root, args):
    if as_sender(peer, root, [], end=False):
        peer.send(END_LIST, end_list(0, mode=0o40755))


@case
def end_list_bad_nsec(peer, root, args):
    if as_sender(peer, root, [], end=False):
        peer.send(END_LIST, end_list(0, nsec=1000000000))


@case
def end_list_short(peer, root, args):
    """The count alone, without the root's metadata."""
    if as_sender(peer, root, [], end=False):
        peer.send(END_LIST, u64(0))


@case
def done_early(peer, root, args):
    if as_sender(peer, root, [entry("a", "d")], end=False):
        peer.send(DONE, done(0))


@case
def error_with_escapes(peer, root, args):
    """An ERROR whose text holds a terminal escape: the server must not print it."""
    if as_sender(peer, root, [], end=False):
        peer.send(ERROR, u8(12) + s(b"sender failed \x1b]0;pwned\x07\x1b[2J"))


# ---- cases: a hostile sender, more (also served to a pulling client) ---------------------------

def first_req(peer):
    """The id of the next REQ (its SIG frames are skipped), or None."""
    f = peer.expect(REQ)
    if not f:
        return None
    rid = struct.unpack_from(">I", f[1], 0)[0]
    if f[1][-1]:			# has_sig: read up to its SIG_END
        if not peer.expect(SIG_END):
            return None
    return rid


def send_file(peer, rid, content, size=None, hash16=None, encoding=0):
    size = len(content) if size is None else size
    peer.send(FILE, file_ok(rid, size, encoding=encoding))
    if content:
        peer.send(DATA, content)
    peer.send(FILE_END, file_end(xxh128(content) if hash16 is None else hash16,
                                 literal=len(content)))


@case
def eof_mid_file(peer, root, args):
    """FILE announces 10 bytes, 5 arrive, then the connection ends."""
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE, file_ok(rid, 10))
        peer.send(DATA, b"01234")
        peer.close()


@case
def eof_mid_list(peer, root, args):
    """An ENTRY, then the connection ends before END_LIST."""
    if as_sender(peer, root, [entry("d", "d"), entry("d/x", "f", size=10)], end=False):
        first_req(peer)
        peer.close()


@case
def entry_str_huge(peer, root, args):
    """An ENTRY whose path claims 0xffffffff bytes (the frame holds 22)."""
    if as_sender(peer, root, [], end=False):
        peer.send(ENTRY, u16(0) + u32(0xffffffff) + b"x" * 16)


@case
def entry_shared_long(peer, root, args):
    """Version 2: after "d", an ENTRY that takes 2 bytes of the previous path (it
    has 1), then one that takes 1: a protocol error; a second run with ARGS
    "first" takes 1 byte in the listing's first ENTRY, which has no previous."""
    if not as_sender(peer, root, [], end=False):
        return
    if args and args[0] == "first":
        peer.send(ENTRY, entry("x", "d", shared=1))
        return
    peer.send(ENTRY, entry("d", "d"))
    peer.send(ENTRY, entry("/x", "f", size=1, shared=2))


@case
def entry_target_huge(peer, root, args):
    """A symlink ENTRY whose target claims 0xffffffff bytes."""
    if as_sender(peer, root, [], end=False):
        e = entry("l", "l", target="t")
        peer.send(ENTRY, e[:-5] + u32(0xffffffff) + b"t")


@case
def entry_target_nul(peer, root, args):
    """A symlink whose target holds a NUL byte."""
    if as_sender(peer, root, [], end=False):
        peer.send(ENTRY, entry("l", "l", target=b"/etc\0/passwd"))


@case
def entry_target_long(peer, root, args):
    """A symlink target of 4096 bytes (the limit is 4095)."""
    if as_sender(peer, root, [], end=False):
        peer.send(ENTRY, entry("l", "l", target=b"t" * 4096))


@case
def data_after_vanished(peer, root, args):
    """FILE "vanished" (no content follows), then DATA anyway."""
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE, file_status(rid, 1, "vanished"))
        peer.send(DATA, b"0123456789")
        peer.send(FILE_END, file_end(xxh128(b"0123456789"), literal=10))


@case
def entry_size_huge(peer, root, args):
    """An ENTRY of 2^64-1 bytes (a negative i64)."""
    if as_sender(peer, root, [], end=False):
        peer.send(ENTRY, entry("x", "f", size=(1 << 64) - 1))


@case
def entry_bad_type(peer, root, args):
    if as_sender(peer, root, [], end=False):
        e = entry("x", "f", size=1)
        peer.send(ENTRY, e.replace(b"x" + u8(ord("f")), b"x" + u8(ord("b")), 1))


@case
def entry_empty_target(peer, root, args):
    """A symlink with an empty target."""
    if as_sender(peer, root, [], end=False):
        e = entry("l", "l", target="t")
        peer.send(ENTRY, e[:-5] + u32(0))


@case
def file_size_huge(peer, root, args):
    """FILE announcing 2^64-1 bytes for a listed 10-byte file, then 10 bytes."""
    rid = one_file(peer, root)
    if rid is not None:
        send_file(peer, rid, b"0123456789", size=(1 << 64) - 1)


@case
def file_size_larger(peer, root, args):
    """FILE announcing 2^40 bytes, 10 sent, FILE_END with their hash."""
    rid = one_file(peer, root)
    if rid is not None:
        send_file(peer, rid, b"0123456789", size=1 << 40)


@case
def file_reason_huge(peer, root, args):
    """FILE status "vanished" with a reason claiming 0xffffffff bytes."""
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE, u32(rid) + u8(1) + u32(0xffffffff) + b"gone")


@case
def file_status_unknown(peer, root, args):
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(FILE, file_status(rid, 7, "what"))


@case
def file_twice(peer, root, args):
    """A well-formed reply, then a second FILE for the same id."""
    rid = one_file(peer, root)
    if rid is not None:
        send_file(peer, rid, b"0123456789")
        send_file(peer, rid, b"0123456789")


@case
def data_after_file_end(peer, root, args):
    """A well-formed reply, then one more DATA frame."""
    rid = one_file(peer, root)
    if rid is not None:
        send_file(peer, rid, b"0123456789")
        peer.send(DATA, b"0123456789")


@case
def data_wrong_size_hash_ok(peer, root, args):
    """The listing says 10 bytes; FILE says 5, 5 come with their own hash."""
    rid = one_file(peer, root)
    if rid is not None:
        send_file(peer, rid, b"01234")


@case
def msg_huge(peer, root, args):
    """A MSG whose text claims 0xffffffff bytes."""
    if as_sender(peer, root, [], end=False):
        peer.send(MSG, u8(0) + u32(0xffffffff) + b"text")


@case
def msg_unknown_kind(peer, root, args):
    """A MSG of kind 9, text with a terminal escape."""
    if as_sender(peer, root, [], end=False):
        peer.send(MSG, u8(9) + s(b"odd kind \x1b[2J"))
        peer.send(END_LIST, end_list(0))


@case
def done_before_reply(peer, root, args):
    """DONE where the reply to a request belongs."""
    rid = one_file(peer, root)
    if rid is not None:
        peer.send(DONE, done(0))


@case
def done_code(peer, root, args):
    """A well-formed pass, but the sender's DONE carries code ARGS[0]."""
    code = int(args[0]) if args else 200
    rid = one_file(peer, root)
    if rid is None:
        return
    send_file(peer, rid, b"0123456789")
    if peer.expect(DONE):
        peer.send(DONE, done(code))


@case
def done_short(peer, root, args):
    """A well-formed pass, but the sender's DONE is one byte."""
    rid = one_file(peer, root)
    if rid is None:
        return
    send_file(peer, rid, b"0123456789")
    if peer.expect(DONE):
        peer.send(DONE, u8(0))


@case
def error_code(peer, root, args):
    """ERROR with exit code ARGS[0] and a plain text."""
    code = int(args[0]) if args else 200
    if as_sender(peer, root, [], end=False):
        peer.send(ERROR, u8(code) + s(b"sender gave up"))


@case
def dir_after_contents(peer, root, args):
    """ "a", "a/x", then "a" again."""
    as_sender(peer, root, [entry("a", "d"), entry("a/x", "f", size=1), entry("a", "d")])


@case
def sibling_under_file(peer, root, args):
    """ "a" (file), "a/b" below it, listed as if "a" were a directory."""
    as_sender(peer, root, [entry("a", "f", size=1), entry("a/b", "d"), entry("a/b/c", "f")])


@case
def symlink_then_dir(peer, root, args):
    """ "l" a symlink to ARGS[0], then "l/d" a directory and "l/d/x" a file."""
    as_sender(peer, root, [entry("l", "l", target=args[0]), entry("l/d", "d"),
                           entry("l/d/x", "f", size=10)])


# ---- cases: a symlink planted between listing and write (CVE-2024-12747 class) ------------------
#
# The receiver has scanned DEST and asked for a file; then something with
# write access to DEST replaces a directory of the pass by a symlink to the
# outside. ARGS: the directory to replace (as hostile.py's cwd sees it),
# the symlink's target, and optionally where to move the directory aside
# (without it, the directory is removed).

def plant_symlink(peer, args):
    path, target = args[0], args[1]
    aside = args[2] if len(args) > 2 else None
    if aside:
        os.rename(path, aside)
    elif os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    os.symlink(target, path)
    peer.note("  (planted %s -> %s%s)" % (path, target, ", moved aside to " + aside if aside else ""))


@case
def race_parent(peer, root, args):
    """List "a" and "a/f"; after the REQ for "a/f", "a" becomes a symlink; send a/f."""
    if not as_sender(peer, root, [entry("a", "d"), entry("a/f", "f", size=10)]):
        return
    rid = first_req(peer)
    if rid is None:
        return
    plant_symlink(peer, args)
    send_file(peer, rid, b"0123456789")


def race_swap(peer, root, args, entries):
    """List ENTRIES (the last a 10-byte file), wait for its REQ, let the
    test's swap happen, then send its data and END_LIST."""
    if not as_sender(peer, root, entries, end=False):
        return
    rid = first_req(peer)
    if rid is None:
        return
    plant_symlink(peer, args)
    send_file(peer, rid, b"0123456789")
    peer.send(END_LIST, end_list(len(entries)))


@case
def race_delete(peer, root, args):
    """DEST has a/old; list "a" and "a/f" only; after the REQ for a/f, "a"
    becomes a symlink; then a/f's data and END_LIST (which deletes a/old)."""
    race_swap(peer, root, args, [entry("a", "d"), entry("a/f", "f", size=10)])


@case
def race_history(peer, root, args):
    """List "f" only; after its REQ, the swap (DEST/.shelter/history, say);
    then f's data and END_LIST. DEST's old f (a changed file) or its other
    entries (deletions) go to history after the swap."""
    race_swap(peer, root, args, [entry("f", "f", size=10)])



# ---- cases: the handshake ----------------------------------------------------------------

@case
def version_range(peer, root, args):
    """HELLO with versions ARGS[0]..ARGS[1] (default 3..5)."""
    lo, hi = (int(args[0]), int(args[1])) if len(args) == 2 else (3, 5)
    peer.send(HELLO, hello(lo, hi))
    peer.send(START, start(ROLE_RECEIVER, root))


@case
def version_empty_range(peer, root, args):
    peer.send(HELLO, hello(1, 0))
    peer.send(START, start(ROLE_RECEIVER, root))


@case
def banner(peer, root, args):
    """An ssh login banner where HELLO should be, the channel left open."""
    peer.send_raw(b"SSH-2.0-OpenSSH_9.6 banner\r\nWelcome to host\r\n", "an ssh banner")


@case
def banner_eof(peer, root, args):
    peer.send_raw(b"Welcome!\n", "a shell's greeting")
    peer.close()


@case
def bad_magic(peer, root, args):
    peer.send(HELLO, b"SHLX" + hello()[4:])
    peer.send(START, start(ROLE_RECEIVER, root))


@case
def start_first(peer, root, args):
    peer.send(START, start(ROLE_RECEIVER, root))


@case
def start_bad_role(peer, root, args):
    peer.send(HELLO, hello())
    peer.send(START, start(9, root))  # 3 sync, 4 restore, 5 prune, 6 verify (doc/protocol.md)


@case
def start_bad_flags(peer, root, args):
    peer.send(HELLO, hello())
    peer.send(START, start(ROLE_RECEIVER, root, flags=0x100))


@case
def start_huge_count(peer, root, args):
    peer.send(HELLO, hello())
    peer.send(START, u8(ROLE_RECEIVER) + u32(0) + u8(1) + s(root) + u32(0xffffffff) + s(b"x"))


@case
def eof_after_hello(peer, root, args):
    peer.send(HELLO, hello())
    peer.close()


# ---- cases: the handshake, as a server (serve mode only) -------------------------------------------

@case
def srv_banner(peer, root, args):
    """A login banner where the server's HELLO should be; the channel stays open."""
    peer.send_raw(b"Last login: Mon Jan  1 00:00:00 2024\r\nWelcome to host\r\n", "a login banner")
    peer.expect(DONE)


@case
def srv_silent(peer, root, args):
    """HELLO and READY, then nothing, the channel held open."""
    if serve_handshake(peer, None):
        peer.expect(DONE)


@case
def recv_stray_frame(peer, root, args):
    """A receiver sending a FILE frame (a sender's frame) after the listing."""
    if as_receiver(peer, root):
        peer.send(FILE, file_status(1, 1, "stray"))


@case
def srv_version(peer, root, args):
    """HELLO with versions 3..5."""
    peer.send(HELLO, hello(3, 5))


@case
def srv_no_ready(peer, root, args):
    """HELLO, then a listing where READY belongs."""
    if serve_handshake(peer, ROLE_SENDER, ready=False):
        peer.send(ENTRY, entry("x", "f", size=1))


@case
def srv_error(peer, root, args):
    """ERROR (code ARGS[0], default 3) instead of READY, its text with a
    terminal escape; with ARGS[1] "newline", a second line that looks like
    the client's own."""
    code = int(args[0]) if args else 3
    text = b"DEST /x: gone \x1b]0;pwned\x07"
    if len(args) > 1 and args[1] == "newline":
        text += b"\nshelter: error: forged line"
    if serve_handshake(peer, None, ready=False):
        peer.send(ERROR, u8(code) + s(text))



# ---- cases: a hostile receiver (the server sends) -----------------------------------------

def sig_block(basis):
    """The block length of doc/protocol.md: half the whole square root of the
    basis size, rounded down to a multiple of 128, at least 256."""
    return max(256, (math.isqrt(basis) // 2) & ~127)


def sig_strong(basis):
    """The strong sum length of doc/protocol.md (rs_sig_args' minimum)."""
    ln2 = lambda v: v.bit_length() - 1
    return 2 + (ln2(basis + (1 << 24)) + ln2(basis // sig_block(basis) + 1) + 7) // 8


def sig_blocksum(basis):
    """Bytes of one block's sums: the 4-byte weak sum and the strong sum."""
    return 4 + sig_strong(basis)


def sig_header(basis):
    """RS_RK_BLAKE2_SIG_MAGIC, block length, strong length."""
    return u32(0x72730147) + u32(sig_block(basis)) + u32(sig_strong(basis))


def as_receiver(peer, root):
    """Server = sender: handshake, then read its listing up to END_LIST."""
    if not handshake(peer, ROLE_SENDER, root):
        return False
    return peer.expect(END_LIST) is not None


@case
def req_paths(peer, root, args):
    """REQ each path in ARGS (whole files), read the replies, end the pass."""
    if as_receiver(peer, root):
        req_paths_after(peer, args)


@case
def req_out_of_order(peer, root, args):
    if as_receiver(peer, root):
        peer.send(REQ, req(5, args[0].encode()))


@case
def sig_bad_header(peer, root, args):
    """REQ with a signature for a 1000-byte basis whose header is wrong."""
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode(), basis=1000, has_sig=1))
        sig = u32(0x72730136) + u32(2048) + u32(32) + b"\0" * 36	# MD4 magic
        peer.send(SIG, sig)
        peer.send(SIG_END, u64(len(sig)))


@case
def sig_too_long(peer, root, args):
    """Far more signature bytes than a 1000-byte basis needs."""
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode(), basis=1000, has_sig=1))
        peer.send(SIG, b"\0" * 100000)
        peer.send(SIG_END, u64(100000))


@case
def sig_end_mismatch(peer, root, args):
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode(), basis=1000, has_sig=1))
        peer.send(SIG, b"\0" * 12)
        peer.send(SIG_END, u64(48))


@case
def sig_wrong_length(peer, root, args):
    """A well-formed header for the basis size, but one block short."""
    if as_receiver(peer, root):
        basis = 100000
        peer.send(REQ, req(1, args[0].encode(), basis=basis, has_sig=1))
        n = -(-basis // sig_block(basis)) - 1
        sig = sig_header(basis) + b"\x01" * (sig_blocksum(basis) * n)
        peer.send(SIG, sig)
        peer.send(SIG_END, u64(len(sig)))


@case
def sig_huge_basis(peer, root, args):
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode(), basis=1 << 62, has_sig=1))
        peer.send(SIG, b"\0" * 12)
        peer.send(SIG_END, u64(12))


@case
def sig_max_basis(peer, root, args):
    """basis size INT64_MAX, the largest REQ may carry."""
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode(), basis=(1 << 63) - 1, has_sig=1))
        peer.send(SIG, b"\0" * 12)
        peer.send(SIG_END, u64(12))


@case
def sig_huge_sigend(peer, root, args):
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode(), basis=1000, has_sig=1))
        peer.send(SIG_END, u64(0xffffffffffffffff))


@case
def req_then_eof(peer, root, args):
    """A REQ with has_sig, then EOF in the middle of the signature."""
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode(), basis=1000, has_sig=1))
        peer.send(SIG, b"\0" * 10)
        peer.close()


@case
def req_repeat_id(peer, root, args):
    """REQ 1, its reply, then REQ 1 again."""
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode()))
        if peer.expect(FILE_END):
            peer.send(REQ, req(1, args[0].encode()))


@case
def req_flood(peer, root, args):
    """ARGS[1] (default 2000) requests for ARGS[0] without waiting, then read every reply."""
    n = int(args[1]) if len(args) > 1 else 2000
    if not as_receiver(peer, root):
        return
    batch = b"".join(frame(REQ, req(i, args[0].encode())) for i in range(1, n + 1))
    peer.send_raw(batch, "%d REQs for %s" % (n, args[0]))
    for _ in range(n):
        f = peer.expect(FILE)
        if not f:
            return
        if f[1][4] == 0 and not peer.expect(FILE_END):
            return
    peer.send(DONE, done(0))


@case
def race_req(peer, root, args):
    """CVE-2024-12747 against a sender: once the listing is in, ARGS[0] (in
    SRC) is replaced by a symlink to ARGS[1]; then REQ each of ARGS[2:]."""
    if not as_receiver(peer, root):
        return
    plant_symlink(peer, args[:2])
    req_paths_after(peer, args[2:])


def req_paths_after(peer, paths):
    for i, p in enumerate(paths, 1):
        peer.send(REQ, req(i, p.encode()))
    for _ in paths:
        f = peer.expect(FILE)
        if not f:
            return
        if f[1][4] == 0 and not peer.expect(FILE_END):
            return
    peer.send(DONE, done(0))


@case
def sig_lengths(peer, root, args):
    """REQ ARGS[0] against a 1000-byte basis with a signature whose header
    says block length ARGS[1] and strong length ARGS[2] (magic ARGS[3] in
    hex, default BLAKE2). ARGS[4] "fit": as many bytes as the real header
    needs (the header is what's wrong); "claimed": as many as the claimed
    parameters would need (capped at 200000)."""
    path, block, strong = args[0].encode(), int(args[1]), int(args[2])
    magic = int(args[3], 16) if len(args) > 3 else 0x72730147
    size = args[4] if len(args) > 4 else "fit"
    basis = 1000
    if not as_receiver(peer, root):
        return
    if size == "fit":
        n = 12 + sig_blocksum(basis) * -(-basis // sig_block(basis))
    else:
        blocks = -(-basis // block) if block else 1
        n = min(200000, 12 + blocks * (4 + strong))
    sig = u32(magic) + u32(block) + u32(strong)
    sig += b"\x5a" * (n - len(sig))
    peer.send(REQ, req(1, path, basis=basis, has_sig=1))
    peer.send(SIG, sig)
    peer.send(SIG_END, u64(len(sig)))


@case
def sig_header_only(peer, root, args):
    """The right 12-byte header for a 1000-byte basis, no block sums, SIG_END 12."""
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode(), basis=1000, has_sig=1))
        peer.send(SIG, sig_header(1000))
        peer.send(SIG_END, u64(12))


@case
def sig_without_req(peer, root, args):
    """SIG and SIG_END with no REQ before them."""
    if as_receiver(peer, root):
        peer.send(SIG, sig_header(1000) + b"\0" * sig_blocksum(1000))
        peer.send(SIG_END, u64(12 + sig_blocksum(1000)))


@case
def sig_empty_frame(peer, root, args):
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode(), basis=1000, has_sig=1))
        peer.send(SIG, b"")


@case
def sig_zero_basis_blocks(peer, root, args):
    """basis size 0 with has_sig, but block sums after the header."""
    if as_receiver(peer, root):
        peer.send(REQ, req(1, args[0].encode(), basis=0, has_sig=1))
        peer.send(SIG, sig_header(0) + b"\0" * 36)
        peer.send(SIG_END, u64(48))


@case
def plan_twice(peer, root, args):
    if as_receiver(peer, root):
        peer.send(PLAN, u64(10) + u64(1))
        peer.send(PLAN, u64(10) + u64(1))


@case
def recv_done_short(peer, root, args):
    """The receiver's DONE, one byte long."""
    if as_receiver(peer, root):
        peer.send(DONE, u8(0))


@case
def recv_done_code(peer, root, args):
    """The receiver's DONE with code ARGS[0]."""
    if as_receiver(peer, root):
        peer.send(DONE, done(int(args[0])))



# ---- main ------------------------------------------------------------------------------------

def main(argv):
    exit_want = None
    msgs = []
    no_data = []
    stderr_ok = False
    serve = False
    log_file = "hostile.log"
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--stderr-ok":
            stderr_ok = True
            continue
        if opt == "--serve":
            serve = True
            continue
        if not argv:
            sys.exit("hostile.py: %s needs a value" % opt)
        val = argv.pop(0)
        if opt == "--exit":
            exit_want = val
        elif opt == "--msg":
            msgs.append(val)
        elif opt == "--no-data":
            no_data.append(val.encode())
        elif opt == "--log":
            log_file = val
        elif opt == "--exclude":
            EXCLUDES.append(val)
        else:
            print("hostile.py: unknown option %s" % opt, file=sys.stderr)
            return 2
    if serve and len(argv) >= 3 and argv[-1] == "--server":
        argv = argv[:-3]	# HOST CMD --server, from the client's command line
    if not argv or argv[0] not in CASES or (not serve and len(argv) < 2):
        print("usage: hostile.py [--exit N|nonzero] [--msg TEXT] [--no-data TEXT] [--stderr-ok] "
              "[--exclude PAT] CASE ROOT [ARG...]\n"
              "       hostile.py --serve [--log FILE] [--no-data TEXT] CASE [ARG...] HOST CMD "
              "--server\ncases: " + " ".join(sorted(CASES)), file=sys.stderr)
        return 2
    if serve:
        return serve_main(argv[0], argv[1:], log_file, no_data)
    name, root, args = argv[0], argv[1], argv[2:]

    peer = Peer(cwd=os.getcwd())
    CASES[name](peer, root.encode(), args)
    code = peer.finish()

    for line in peer.log:
        print(line)
    print("exit %s" % ("none (killed)" if code is None else code))
    if peer.stderr:
        print("stderr: %r" % peer.stderr[:2000])

    bad = []
    if code is None:
        bad.append("the server did not end the pass within %gs" % TIMEOUT)
    elif code < 0:
        bad.append("the server was killed by signal %d" % -code)
    elif exit_want == "nonzero" and code == 0:
        bad.append("the server exited 0")
    elif exit_want not in (None, "nonzero") and code != int(exit_want):
        bad.append("the server exited %d, expected %s" % (code, exit_want))
    errs = peer.errors()
    for m in msgs:
        if not any(m in e for e in errs):
            bad.append("no error message mentions %r" % m)
    bad += data_check(peer, no_data)
    if peer.stderr and not stderr_ok:
        bad.append("the server wrote to its stderr")
    for b in bad:
        print("FAIL: " + b)
    return 1 if bad else 0


def data_check(peer, no_data):
    """No DATA frame received carries any of NO_DATA."""
    bad = []
    for t, p in peer.got:
        if t == DATA:
            for d in no_data:
                if d in p:
                    bad.append("a DATA frame carries %r" % d)
    return bad


def serve_main(name, args, log_file, no_data):
    """Serve mode: the channel is our stdin/stdout; everything else goes to LOG_FILE."""
    peer = Peer(cwd=None, serve=True)
    try:
        CASES[name](peer, None, args)
        peer.finish()
    except Exception as e:		# a bug here must not look like the client's fault
        import traceback
        peer.fail("hostile.py raised %r" % e)
        peer.note(traceback.format_exc())
        peer.close()
    bad = peer.failures + data_check(peer, no_data)
    with open(log_file, "a") as f:
        f.write("# serve %s %s\n" % (name, " ".join(args)))
        for line in peer.log:
            f.write(line + "\n")
        for b in bad:
            f.write("FAIL: " + b + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
