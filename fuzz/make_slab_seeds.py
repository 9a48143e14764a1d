#!/usr/bin/env python3
"""Write the seed corpus for fuzz_slab.c into fuzz/corpus/slab/.

    python3 fuzz/make_slab_seeds.py [OUTDIR]

Each seed is a small program in the byte format LLVMFuzzerTestOneInput decodes (see
fuzz_slab.c; this file mirrors it). The model in the harness decides what every call must
return, so the seeds are written for coverage, not for particular results. Re-running the
script rewrites the seed-*.bin files; inputs found by fuzzing (other names) are left alone.

Format: cfg (bit 0: 0 buddy, 1 tiny provider), then per cache (3): u16 v, u8 o
  v: bit 15 set -> size 8 * (1 + (v & 0x3ff)), else 1 + v % 6000; bits 13-14: spare slabs
  o: bits 0-2 alignment (0, 0, 16, 64, 8, 32, 128, 4096), bit 3 colour, bit 4 ctor/dtor,
     bits 5-7 magazine size - 1
then u8 kmalloc spare, then operations: opcode byte (value % 8) and its arguments.
"""
import os
import struct
import sys

ALIGN = {0: 0, 16: 2, 64: 3, 8: 4, 32: 5, 128: 6, 4096: 7}


def u8(v):
    return bytes([v & 0xFF])


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def cache(size, align=0, colour=False, ctor=False, mag=4, spare=0):
    if size % 8 == 0 and 8 <= size <= 8192 and size > 5999:
        v = 0x8000 | (size // 8 - 1)
    else:
        v = (size - 1) % 6000
    v |= (spare & 3) << 13
    o = ALIGN[align] | (8 if colour else 0) | (16 if ctor else 0) | (((mag - 1) & 7) << 5)
    return u16(v) + u8(o)


def header(tiny=False, caches=((64,), (700,), (3000,)), kspare=0):
    out = u8(1 if tiny else 0)
    for c in caches:
        out += cache(*c)
    return out + u8(kspare)


# ---- operations (opcode values mod 8) ------------------------------------------------------

def alloc(k, via=0, zero=False):
    return u8(0) + u8(k | (via << 2) | (0x20 if zero else 0))


def free(k, j=0, via=0):
    return u8(2) + u8(k | (via << 2)) + u8(j)


def bulk_alloc(k, n):
    return u8(3) + u8(k | (n << 2))


def bulk_free(k, n):
    return u8(3) + u8(0x80 | k | (n << 2))


def shrink(k):
    return u8(4) + u8(k | (0 << 2))


def reserve(k, n):
    return u8(4) + u8(k | (1 << 2)) + u8(n)


def unreserve(k):
    return u8(4) + u8(k | (1 << 2) | (7 << 5))


def flush(k, f=0):
    return u8(4) + u8(k | (2 << 2) | (f << 5))


def kflush(f=0, shrink_too=True):
    return u8(4) + u8((3 << 2) | (f << 5) | (0x40 if shrink_too else 0))


def provider_fail(on):
    return u8(4) + u8((4 << 2) | ((1 if on else 0) << 5))


def kmalloc(kind, b, via=0, zero=False, align_log=None):
    a = kind | (via << 2) | (0x20 if zero else 0) | (0x40 if align_log is not None else 0)
    out = u8(5) + u8(a) + u16(b)
    if align_log is not None:
        out += u8(align_log)
    return out


def kfree(j=0, via=0):
    return u8(6) + u8(via) + u8(j)


def krealloc(j, kind, b, zero=False):
    return u8(6) + u8(3 | (kind << 2) | (4 if zero else 0)) + u8(j) + u16(b)


def bad(kind, b=0, extra=b"\x05\x00\x07\x00\x09\x00"):
    return u8(7) + u8(kind) + u8(b) + extra


def churn(k, n, via=0):
    out = b""
    for i in range(n):
        out += alloc(k, via)
    for i in range(n):
        out += free(k, i * 7, via)
    return out


SEEDS = {}
SEEDS["basic"] = header() + churn(0, 20) + churn(1, 10) + churn(2, 6)
SEEDS["fronts"] = header(caches=((96, 64, False, False, 2),) * 3) + churn(0, 40, 1) + churn(0, 40, 2) + flush(0) + flush(0, 1) + shrink(0)
SEEDS["cross-front"] = header(caches=((40, 0, False, False, 1), (200,), (1500,))) + b"".join(alloc(0, 1) for _ in range(30)) + b"".join(free(0, 0, 2) for _ in range(30)) + flush(0, 1) + shrink(0)
SEEDS["ctor"] = header(caches=((64, 0, False, True), (1000, 0, False, True), (5000, 64, True, True))) + churn(0, 15) + churn(1, 8, 1) + churn(2, 5, 2) + shrink(0) + shrink(1) + shrink(2)
SEEDS["colour"] = header(caches=((180, 0, True), (333, 16, True), (2000, 64, True))) + churn(0, 50) + churn(1, 30) + churn(2, 10)
SEEDS["align"] = header(caches=((72, 4096), (100, 128), (24, 64))) + churn(0, 6) + churn(1, 20) + churn(2, 20)
SEEDS["tiny-sizes"] = header(caches=((1,), (7,), (9,))) + churn(0, 30) + churn(1, 30) + churn(2, 30)
SEEDS["big-objects"] = header(caches=((6000,), (8192, 0, False, False, 2), (4096, 4096))) + churn(0, 8) + churn(1, 8) + churn(2, 8)
SEEDS["offslab-1360"] = header(caches=((1360,), (513,), (4000,))) + churn(0, 20) + churn(1, 20) + churn(2, 10) + shrink(0) + shrink(1)
SEEDS["bulk"] = header() + bulk_alloc(0, 16) + bulk_alloc(1, 12) + bulk_alloc(2, 5) + bulk_free(0, 10) + bulk_free(1, 12) + bulk_free(2, 3) + shrink(0)
SEEDS["reserve"] = header(tiny=True) + reserve(1, 40) + provider_fail(True) + churn(1, 30) + provider_fail(False) + unreserve(1) + shrink(1)
SEEDS["reserve-fail"] = header(tiny=True) + provider_fail(True) + reserve(0, 10) + alloc(0) + provider_fail(False) + reserve(0, 10) + alloc(0)
SEEDS["tiny-exhaust"] = header(tiny=True, caches=((4000,), (16000,), (60000,))) + b"".join(alloc(i % 3) for i in range(120))
SEEDS["tiny-fail"] = header(tiny=True) + provider_fail(True) + alloc(0) + alloc(1, 1) + kmalloc(1, 100) + kmalloc(3, 20000) + provider_fail(False) + alloc(0)
SEEDS["spare"] = header(caches=((64, 0, False, False, 4, 3), (256, 0, False, False, 4, 2), (3000, 0, False, False, 4, 1))) + churn(0, 60) + churn(1, 40) + shrink(0) + shrink(1) + shrink(2)
SEEDS["kmalloc-classes"] = header() + b"".join(kmalloc(2, s) for s in (1, 8, 9, 16, 17, 24, 25, 33, 48, 49, 96, 97, 192, 193, 384, 385, 768, 769, 1536, 1537, 3072, 3073, 6144, 6145, 8192)) + b"".join(kfree(0) for _ in range(25))
SEEDS["kmalloc-large"] = header() + kmalloc(3, 1) + kmalloc(3, 20000) + kmalloc(3, 60000) + kfree(0) + kfree(0) + kfree(0)
SEEDS["kmalloc-zero"] = header() + kmalloc(0, 0, zero=True) + kmalloc(1, 700, zero=True) + kmalloc(3, 100, zero=True) + kfree(0) + kfree(0) + kfree(0)
SEEDS["kmalloc-aligned"] = header() + b"".join(kmalloc(2, s, align_log=a) for s, a in ((1, 12), (100, 6), (5000, 12), (8200, 10), (64, 3), (30, 9))) + b"".join(kfree(0) for _ in range(6))
SEEDS["kmalloc-fronts"] = header() + b"".join(kmalloc(1, 50 + i * 37, via=1 + i % 2) for i in range(40)) + b"".join(kfree(i, 1 + i % 2) for i in range(40)) + kflush(0) + kflush(1)
SEEDS["krealloc"] = header() + kmalloc(1, 50) + krealloc(0, 1, 60) + krealloc(0, 2, 3000) + krealloc(0, 3, 100) + krealloc(0, 0, 5) + kfree(0)
SEEDS["krealloc-zero"] = header() + kmalloc(1, 10) + krealloc(0, 2, 5000, zero=True) + kfree(0)
SEEDS["bad-null"] = header() + alloc(0) + bad(0) + bad(0, 1) + bad(0, 2)
SEEDS["bad-foreign"] = header() + alloc(0) + bad(1, 0) + bad(1, 1) + bad(1, 2)
SEEDS["bad-interior"] = header() + alloc(0) + alloc(1) + alloc(2) + bad(2, 0, b"\x00\x05") + bad(2, 1, b"\x00\x11") + bad(2, 2, b"\x00\x07")
SEEDS["bad-other-cache"] = header() + alloc(0) + alloc(1) + alloc(2) + bad(3, 0) + bad(3, 1) + bad(3, 2)
SEEDS["bad-kinterior"] = header() + kmalloc(1, 100) + kmalloc(3, 30000) + bad(4, 0, b"\x03") + bad(4, 1, b"\x09")
SEEDS["double-free"] = header() + alloc(0) + alloc(0) + bad(5, 0) + bad(5, 0)
SEEDS["shrink-all"] = header() + churn(0, 100) + churn(1, 50) + shrink(0) + shrink(1) + kflush(0) + kflush(1)
SEEDS["tiny-basic"] = header(tiny=True) + churn(0, 20, 1) + churn(1, 20, 2) + kmalloc(2, 4000) + kmalloc(0, 10) + kfree(0) + kfree(0)
SEEDS["mixed-long"] = header(caches=((48, 0, True, False, 3), (900, 64, False, True, 8), (2500, 0, True, False, 2))) + b"".join(
    alloc(i % 3, i % 3) + kmalloc(i % 4, i * 97) + (free(i % 3, i) if i % 2 else kfree(i, i % 3)) for i in range(60)) + shrink(0) + kflush(0)
SEEDS["depot-overflow"] = header(caches=((32, 0, False, False, 1),) * 3) + b"".join(alloc(0, 0) for _ in range(60)) + b"".join(free(0, 0, 1) for _ in range(60)) + flush(0, 0)
SEEDS["cpu-zero"] = header() + alloc(0, 1, True) + alloc(1, 2, True) + free(0, 0, 1) + alloc(0, 1, True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "slab")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, "seed-%s.bin" % name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
