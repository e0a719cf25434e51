#!/usr/bin/env python3
"""make-seeds.py - write the seed corpora of the fuzz targets.

    python3 tests/fuzz/make-seeds.py [DIR]

Writes DIR/<target>/<name> (DIR defaults to tests/fuzz/corpus next to this
script), replacing what is there. Each seed is a small valid input in the
layout its target reads (see the comment at the top of each fuzz_*.c), so
the fuzzer starts from inputs that get past the first checks. The files
are committed; run this again after changing a layout.

Python 3 standard library only.
"""

import os
import shutil
import struct
import sys

# ---- the wire (doc/protocol.md) ------------------------------------------

HELLO, START, READY, ERROR, MSG, NOOP = 1, 2, 3, 4, 5, 6
ENTRY, END_LIST = 10, 11
REQ, SIG, SIG_END, PLAN = 20, 21, 22, 23
FILE, DATA, FILE_END = 30, 31, 32
DONE = 40


def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)
def i64(v): return struct.pack(">q", v)
def s(b): return u32(len(b)) + b


def frame(t, payload=b""):
    return u8(t) + u32(len(payload)) + payload


def hello():
    return b"SHLT" + u16(2) + u16(2) + u64(0)


def start(role=2, flags=0x8, verbosity=1, timeout=600, root=b"/srv/backup",
          patterns=(b"*.o", b"/tmp/")):
    out = u8(role) + u32(flags) + u8(verbosity) + u32(timeout) + s(root) + u32(len(patterns))
    for p in patterns:
        out += s(p)
    return out


def entry(path, kind=b"f", flags=0, mode=0o644, size=0, target=None, hash_=None):
    # Version 2, as a listing's first entry: nothing shared, every field sent.
    small = size < (1 << 32)
    out = u16(0) + s(path) + kind + u8(flags) + u8(8 if small else 0) + u16(mode)
    out += u32(1000) + u32(1000) + (u32(size) if small else u64(size))
    out += i64(1700000000) + u32(123456789)
    if kind == b"l":
        out += s(target)
    if hash_ is not None:
        out += hash_
    return out


def end_list(count):
    return u64(count) + u32(0o755) + u32(0) + u32(0) + i64(1700000000) + u32(0)


def req(rid, path, basis=0, has_sig=0):
    return u32(rid) + s(path) + u64(basis) + u8(has_sig)


def file_ok(rid, size, encoding=0):
    return u32(rid) + u8(0) + u8(encoding) + u64(size) + i64(1700000000) + u32(5) + u32(0o644)


def file_status(rid, status, reason):
    return u32(rid) + u8(status) + s(reason)


def file_end(literal, matched, changed=0):
    return u8(changed) + bytes(range(16)) + u64(literal) + u64(matched)


def done(code=0, stats=(3, 2, 1, 0, 1, 0, 1, 10, 10, 10, 0)):
    return u8(code) + b"".join(u64(v) for v in stats)


def msg(kind, text):
    return u8(kind) + s(text)


# ---- librsync's formats (its doc/format.md) ----------------------------------

SIG_MAGIC = 0x72730147      # RS_RK_BLAKE2_SIG_MAGIC
DELTA_MAGIC = 0x72730236    # RS_DELTA_MAGIC


def sig_header(block=256, strong=6):
    # doc/protocol.md's shape for a basis of 300 bytes: block 256, strong 6
    return u32(SIG_MAGIC) + u32(block) + u32(strong)


def literal(data):
    if 1 <= len(data) <= 64:
        return u8(len(data)) + data
    return u8(0x41) + u8(len(data)) + data if len(data) < 256 else u8(0x42) + u16(len(data)) + data


def copy(pos, length):
    return u8(0x45) + u8(pos) + u8(length)          # COPY_N1_N1


def copy_wide(pos, length):
    return u8(0x54) + u64(pos) + u64(length)         # COPY_N8_N8


# ---- the seeds -----------------------------------------------------------------

def frame_seeds():
    listing = (frame(ENTRY, entry(b"docs", b"d", mode=0o755)) +
               frame(ENTRY, entry(b"docs/a file.txt", size=5)) +
               frame(ENTRY, entry(b"docs/empty", b"d", flags=1, mode=0o700)) +
               frame(ENTRY, entry(b"latest", b"l", mode=0o777, target=b"docs/a file.txt")) +
               frame(END_LIST, end_list(4)))
    requests = (frame(REQ, req(1, b"docs/a file.txt")) +
                frame(REQ, req(2, b"big.raw", basis=300, has_sig=1)) +
                frame(SIG, sig_header() + bytes(20)) +
                frame(SIG_END, u64(32)) +
                frame(PLAN, u64(305) + u64(2)) +
                frame(DONE, done()))
    replies = (frame(FILE, file_ok(1, 5)) + frame(DATA, b"hello") + frame(FILE_END, file_end(5, 0)) +
               frame(FILE, file_status(2, 1, b"vanished")) +
               frame(FILE, file_ok(3, 10, encoding=1)) + frame(DATA, u32(DELTA_MAGIC) + b"\x00") +
               frame(FILE_END, file_end(0, 10)) +
               frame(MSG, msg(1, b"docs/x: Permission denied\n\x1b[31m")) +
               frame(ERROR, msg(12, b"protocol error")) +
               frame(DONE, done(0, (0,) * 11)))
    handshake = frame(HELLO, hello()) + frame(START, start()) + frame(READY, u32(0)) + frame(NOOP)
    hashed = frame(ENTRY, entry(b"f", size=3, hash_=bytes(range(100, 116))))
    # Control byte: bits 0-1 piece sizes, bit 2 ENTRY with hash, bit 3 block
    # at the end, bits 4-5 both set: through the channel.
    return {
        "handshake": b"\x00" + handshake,
        "listing": b"\x00" + listing,
        "listing-hash": b"\x04" + hashed,
        "requests": b"\x00" + requests,
        "replies": b"\x00" + replies,
        "chan-bytes": b"\x30" + handshake + listing,
        "chan-small-pieces-block": b"\x39" + requests,
        "chan-large-pieces": b"\x33" + replies,
        "chan-cut-short": b"\x32" + frame(MSG, msg(2, b"output"))[:-3],
        "chan-too-long": b"\x31" + frame(DATA, b"x") + u8(DATA) + u32(262145) + b"x" * 8,
        "chan-empty-frames": b"\x3e" + frame(READY, u32(1)) + frame(NOOP) + frame(ENTRY) + frame(DATA),
    }


def entry_seeds():
    return {
        "file": entry(b"a.txt", size=12),
        "file-hash": entry(b"dir/sub/file", size=1 << 40, hash_=bytes(16)),
        "dir": entry(b"dir", b"d", mode=0o2755),
        "dir-unread": entry(b"dir/locked", b"d", flags=1, mode=0),
        "symlink": entry(b"link", b"l", mode=0o777, target=b"../outside/../x"),
        "deep": entry(b"/".join([b"d" * 200] * 20), b"d"),
        # After fuzz_entry's previous entry ("d0/d1/f012345.dat", 0755, 1000,
        # 100): 6 bytes shared, mode, uid and gid as before, a u32 size.
        "after-previous": u16(6) + s(b"f012346.dat") + b"f" + u8(0) + u8(0xf) + u32(12) +
                          i64(1700000000) + u32(5),
    }


def path_seeds():
    return {
        "one": b"a",
        "nested": b"a/b/c.txt",
        "order": b"a\x00a/b\x00a.b",
        "slash-sorts-low": b"x/y\x00x-y\x00x",
        "dots": b".hidden/..x\x00.../a\x00a/.b",
        "long-name": b"n" * 255 + b"/" + b"m" * 255,
    }


def rsx_seeds():
    body = bytes((i * 37) & 0xff for i in range(20))   # two blocks of 4 + 6 bytes
    text = b"The quick brown fox jumps over the lazy dog. " * 20
    return {
        # 0: u64 basis size, signature
        "sig-empty-basis": u8(0) + u64(0) + sig_header(),
        "sig-two-blocks": u8(0) + u64(300) + sig_header() + body,
        "sig-bad-header": u8(0) + u64(300) + sig_header(block=1) + body,
        # 1: basis size low byte, u16 blocks, sums, new file
        "sums": u8(1) + u8(10) + u16(2) + body + text[:300],
        # 2: seed, flags (bit 0 splice), u16 basis length, basis, new file
        "round-trip": u8(2) + u8(7) + u8(0) + u16(600) + text[:600] + b"appended",
        "round-trip-splice": u8(2) + u8(9) + u8(0x21) + u16(900) + text[:900] + b"INSERTED",
        # 3: seed, flags (bit 7 shrunk basis, bit 6 grown), u16 basis length, delta
        "delta": u8(3) + u8(1) + u8(0) + u16(512) + u32(DELTA_MAGIC) + literal(b"head ") +
                 copy(16, 200) + literal(b"x" * 100) + copy_wide(300, 212) + b"\x00",
        "delta-shrunk-basis": u8(3) + u8(2) + u8(0x90) + u16(100) + u32(DELTA_MAGIC) +
                              copy(50, 60) + b"\x00",
        "delta-grown-basis": u8(3) + u8(4) + u8(0x48) + u16(100) + u32(DELTA_MAGIC) +
                             copy(0, 92) + copy(90, 2) + b"\x00",
        "delta-trailing": u8(3) + u8(3) + u8(0) + u16(64) + u32(DELTA_MAGIC) + literal(b"a") +
                          b"\x00" + b"after the end",
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    for target, seeds in (("frame", frame_seeds()), ("entry", entry_seeds()),
                          ("path", path_seeds()), ("rsx", rsx_seeds())):
        d = os.path.join(top, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
