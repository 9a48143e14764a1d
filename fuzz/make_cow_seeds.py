#!/usr/bin/env python3
"""Write the seed corpus for fuzz_cow.c into fuzz/corpus/cow/.

    python3 fuzz/make_cow_seeds.py [OUTDIR]

Each seed is a small program in the byte format LLVMFuzzerTestOneInput decodes (see
fuzz_cow.c; this file mirrors it). The model in the harness decides what every call must
return, so the seeds are written for coverage: every operation, both fork modes, every
page-table format, ENOMEM injected into fork / fault / pin / protect / discard / remove.
Re-running the script rewrites the seed-*.bin files; other names are left alone.

Header (4 bytes): format (0 x86-64 4-level, 1 5-level, 2 Sv39, 3 Sv48, 4 Sv57), options
(bit0 gather, bit1 atomic, bit2 emulate the MMU's A/D, bit3 small region capacities, bit4 a
caller page next to the window, bit5 lock hooks), arena frames 96 + 8 * b, fill seed.
Operations (6 bytes): kind | user << 4 | variant << 5 | fill fails << 6 | inject ENOMEM << 7,
space | second space << 3 | hi << 6, page selector (2 bytes), length/prot/pin, extra.
"""
import os
import sys

SPACE_NEW, REGION_ADD, FORK, WRITE, READ, PROTECT, DISCARD, REMOVE = range(8)
PIN, UNPIN, DMA, EXIT, BAD, WRITE_RANGE, XACCESS, FIND = range(8, 16)

# prot indexes (fuzz_cow.c prots[]): 0 R, 1 RW, 2 RX, 3 RWX, 4 R|U, 5 RW|U, 6 RW|U, 7 RW
R, RW, RX, RWX, RU, RWU = 0, 1, 2, 3, 4, 5
COPY, SHARE = 0, 1


def header(fmt=0, gather=True, atomic=False, mmu=True, small_caps=False, kpage=False, lock=False,
           frames=255, seed=7):
    opts = (1 if gather else 0) | (2 if atomic else 0) | (4 if mmu else 0) | \
        (8 if small_caps else 0) | (16 if kpage else 0) | (32 if lock else 0)
    return bytes([fmt, opts, frames & 0xFF, seed & 0xFF])


def op(kind, s=0, s2=0, hi=0, page=0, region=None, b4=0, b5=0, user=False, variant=False,
       fill_fail=False, inject=False):
    b0 = kind | (16 if user else 0) | (32 if variant else 0) | (64 if fill_fail else 0) | \
        (128 if inject else 0)
    b1 = (s & 7) | ((s2 & 7) << 3) | ((hi & 3) << 6)
    if region is not None:  # page `page` of region `region` of the space
        b2, b3 = 0x80 | (region & 7), page & 0xFF
    else:
        b2, b3 = (page >> 8) & 0x7F, page & 0xFF
    return bytes([b0, b1, b2, b3, b4 & 0xFF, b5 & 0xFF])


def length_b4(n):
    """b4 (and the variant bit) for a length of n pages: 1 + b4 % 16, or 8 * b4 + 1."""
    if n <= 16:
        return n - 1, False
    assert (n - 1) % 8 == 0 and (n - 1) // 8 < 128, n  # b4 bit 7 + variant: whole leaf tables
    return (n - 1) // 8, True


def add(s, page, n, prot=RW, shared=False, fill=0, bad=0, badsel=0):
    """region_add of pages [page, page + n): n 1..16 or 8 k + 1 (k < 128), or n = 512 j from a
    512-page boundary (whole leaf tables; j 1..4, cut at the window's end)."""
    if n % 512 == 0 and page % 512 == 0 and 512 <= n <= 2048:
        b5 = prot | (8 if shared else 0) | ((fill & 3) << 4) | badsel
        return op(REGION_ADD, s, hi=bad, page=page, b4=0x80 | (n // 512 - 1), b5=b5,
                  variant=True)
    b4, variant = length_b4(n)
    b5 = prot | (8 if shared else 0) | ((fill & 3) << 4) | badsel
    return op(REGION_ADD, s, hi=bad, page=page, b4=b4, b5=b5, variant=variant)


def w(s, page, region=None, user=False, **k):
    return op(WRITE, s, page=page, region=region, user=user, **k)


def rd(s, page, region=None, **k):
    return op(READ, s, page=page, region=region, **k)


def fork(parent, child, mode=COPY, **k):
    return op(FORK, parent, s2=child, hi=mode, **k)


def protect(s, page, n, prot, **k):
    assert 1 <= n <= 32
    return op(PROTECT, s, page=page, b4=prot | (n - 1) << 3, **k)


def discard(s, page, n, **k):
    b4, variant = length_b4(n)
    return op(DISCARD, s, page=page, b4=b4, variant=variant, **k)


def remove(s, page, n, **k):
    b4, variant = length_b4(n)
    return op(REMOVE, s, page=page, b4=b4, variant=variant, **k)


def pin(s, page, write=True, **k):
    return op(PIN, s, hi=1 if write else 0, page=page, **k)


def unpin(k_):
    return op(UNPIN, 0, b4=k_)


def dma(k_):
    return op(DMA, 0, b4=k_)


def exit_(s):
    return op(EXIT, s, b5=1)


def resize(s, region, n, hi=0, b5=0, **k):
    """region_resize of region `region` (kind 15 with the variant bit): hi 0 to n pages, 1 grow
    by n, 2 shrink by n, 3 bad input (b5 bits 3-4); n = 8 k + 1 (k < 128) or 512 j (j 1..4)."""
    if n % 512 == 0 and 512 <= n <= 2048:
        b4 = 0x80 | (n // 512 - 1)
    else:
        assert (n - 1) % 8 == 0 and (n - 1) // 8 < 128, n
        b4 = (n - 1) // 8
    return op(FIND, s, hi=hi, region=region, page=0, b4=b4, b5=b5, variant=True, **k)


def once(s, page):
    """region_find + mapped_once of one page (kind 15 without the variant bit)."""
    return op(FIND, s, page=page)


SEEDS = {}

# classic and table-sharing fork: writes in every order, reads on both sides, exit
for mode, name in ((COPY, "classic"), (SHARE, "sharing")):
    SEEDS["fork-%s-basic" % name] = header() + b"".join([
        add(0, 0, 16, RW),
        w(0, 0), w(0, 1), w(0, 2), w(0, 3), rd(0, 4),
        fork(0, 1, mode),
        rd(1, 0), rd(1, 4), w(1, 0), rd(0, 0), w(0, 1), rd(1, 1), w(1, 5), rd(0, 5),
        exit_(1), w(0, 2), w(0, 3),
    ])
    SEEDS["fork-%s-chain-siblings" % name] = header(fmt=3) + b"".join([
        add(0, 500, 25, RW),  # across the first leaf-table boundary (page 512)
        w(0, 500), w(0, 511), w(0, 512), w(0, 520),
        fork(0, 1, mode), w(1, 511), fork(1, 2, mode), w(2, 512), fork(0, 3, mode ^ 1),
        rd(2, 500), rd(3, 511), w(0, 500), rd(1, 500), rd(2, 500), w(3, 520),
        exit_(1), rd(2, 511), w(2, 511), exit_(2), w(0, 511), exit_(3), w(0, 512),
    ])
    SEEDS["fork-%s-shared-region" % name] = header(fmt=0) + b"".join([
        add(0, 1024, 8, RW, shared=True), add(0, 0, 8, RW),
        w(0, 1024), w(0, 1025), rd(0, 1026), w(0, 0),
        fork(0, 1, mode), w(1, 1024), rd(0, 1024), w(0, 1025), rd(1, 1025), w(1, 1026),
        rd(0, 1026), discard(1, 1024, 1), rd(1, 1024), w(0, 1024), rd(1, 1024),
        protect(0, 1024, 2, R), w(1, 1025), rd(0, 1025), protect(0, 1024, 2, RW), w(0, 1025),
    ])
    SEEDS["fork-%s-pins" % name] = header(fmt=2, lock=True) + b"".join([
        add(0, 64, 16, RW),
        w(0, 64), pin(0, 64, True), w(0, 65), pin(0, 65, False), rd(0, 66), pin(0, 66, False),
        fork(0, 1, mode),
        dma(0), rd(0, 64), rd(1, 64), w(1, 64), w(0, 64), w(0, 65), rd(1, 65),
        protect(0, 64, 3, R), protect(0, 64, 3, RW), w(0, 64), dma(0),
        discard(0, 64, 1), dma(0), rd(0, 64), unpin(0), unpin(1), exit_(1), unpin(2),
    ])
    # CVE-2020-29374: a read pin (get_user_pages) in the child must not let it keep seeing
    # the parent's later writes, nor the parent reuse a frame the child still sees
    SEEDS["fork-%s-cve-2020-29374" % name] = header(fmt=1) + b"".join([
        add(0, 8, 4, RW), w(0, 8),
        fork(0, 1, mode), pin(1, 8, False), w(0, 8), rd(1, 8), w(0, 8), rd(1, 8),
        pin(0, 9, False), fork(0, 2, mode), w(2, 9), rd(0, 9), unpin(0), unpin(1),
        exit_(1), exit_(2), w(0, 8), w(0, 9),
    ])
    SEEDS["fork-%s-enomem" % name] = header(fmt=0, frames=40) + b"".join([
        add(0, 0, 16, RW), add(0, 600, 16, RW, shared=True),
        w(0, 0), w(0, 1), w(0, 600), pin(0, 2, True),
        fork(0, 1, mode, inject=True, b5=0), exit_(1),
        fork(0, 2, mode, inject=True, b5=1), w(2, 0, inject=True, b5=0),
        w(0, 1, inject=True, b5=1), pin(2, 1, True, inject=True, b5=0),
        protect(2, 0, 3, R, inject=True), discard(2, 600, 1, inject=True),
        remove(2, 0, 2, inject=True), rd(2, 3, inject=True),
        fork(2, 3, mode, inject=True, b5=2), w(3, 600, inject=True),
    ])
    SEEDS["fork-%s-kernel-page" % name] = header(fmt=0, kpage=True) + b"".join([
        add(0, 1536, 201, RW), w(0, 1536), w(0, 1700), w(0, 1791),
        fork(0, 1, mode), w(1, 1700), rd(0, 1700), rd(1, 1791), w(0, 1791), exit_(1),
    ])

# every format, both modes
for fmt in range(5):
    SEEDS["format%d-both-modes" % fmt] = header(fmt=fmt, atomic=fmt & 1 == 1) + b"".join([
        add(0, 100, 16, RW), add(0, 1100, 9 * 8 + 1, RWU),
        w(0, 100), w(0, 1100, user=True), w(0, 1130, user=True), rd(0, 101),
        fork(0, 1, COPY), fork(0, 2, SHARE), w(1, 100), w(2, 100), rd(0, 100),
        w(0, 1100, user=True), rd(1, 1100), rd(2, 1100), exit_(2), exit_(1), w(0, 101),
    ])

# table-sharing fork proper: regions of whole leaf tables (the largest private one is shared)
for fmt, name in ((0, "x86"), (3, "sv48")):
    SEEDS["share-tables-%s" % name] = header(fmt=fmt) + b"".join([
        add(0, 0, 1024, RW), add(0, 1536, 16, RW, shared=True),
        w(0, 0), w(0, 1), w(0, 600), rd(0, 2), w(0, 1536),
        fork(0, 1, SHARE), w(1, 0), rd(0, 0), w(0, 1), rd(1, 1), w(0, 601), rd(1, 601),
        w(1, 700), rd(0, 700), rd(1, 2), fork(1, 2, SHARE), w(2, 0), rd(1, 0), rd(0, 0),
        protect(1, 10, 4, R), discard(2, 600, 2), remove(0, 512, 8), rd(1, 600),
        exit_(1), w(0, 2), w(2, 3), exit_(0), w(2, 601),
    ])
    SEEDS["share-tables-enomem-%s" % name] = header(fmt=fmt, frames=2) + b"".join([
        add(0, 0, 512, RW), w(0, 0), w(0, 1), w(0, 300),
        fork(0, 1, SHARE, inject=True, b5=0), w(1, 0, inject=True, b5=0),
        w(0, 1, inject=True, b5=1), protect(1, 4, 2, R, inject=True),
        discard(0, 300, 1, inject=True), remove(1, 8, 2, inject=True),
        pin(1, 300, True, inject=True), fork(1, 2, SHARE, inject=True, b5=1), rd(2, 300),
    ])
SEEDS["share-tables-kernel-page-lock"] = header(fmt=0, kpage=True, lock=True) + b"".join([
    add(0, 1024, 512, RW), w(0, 1024), w(0, 1791),
    fork(0, 1, SHARE), w(1, 1024), rd(0, 1024), w(0, 1791), rd(1, 1791), exit_(1),
    pin(0, 1030, False), fork(0, 2, SHARE), w(2, 1030), rd(0, 1030), unpin(0),
])

# region_resize (brk) and mapped_once in both fork modes, on x86-64 and Sv48
for fmt, fname in ((0, "x86"), (3, "sv48")):
    for mode, name in ((COPY, "classic"), (SHARE, "sharing")):
        SEEDS["resize-%s-%s" % (name, fname)] = header(fmt=fmt) + b"".join([
            add(0, 0, 1024, RW), add(0, 1536, 16, RW),
            w(0, 0), w(0, 600), w(0, 1000), rd(0, 5), once(0, 0), once(0, 5), once(0, 1),
            fork(0, 1, mode), once(0, 0), once(1, 0), once(1, 600),
            resize(0, 0, 601, inject=True, b5=0),  # shrink into the second leaf table
            rd(1, 1000), once(1, 1000), once(1, 600), w(0, 600), rd(0, 700),
            resize(0, 0, 801, hi=1), w(0, 1300), rd(0, 1000), once(0, 1000),
            resize(0, 0, 512, hi=1),  # into the next region: EEXIST
            resize(0, 1, 9, hi=2), w(0, 1540), rd(0, 1545),
            resize(0, 0, 9, hi=3, b5=0 << 3), resize(0, 0, 9, hi=3, b5=1 << 3),
            resize(0, 0, 9, hi=3, b5=2 << 3), resize(0, 0, 9, hi=3, b5=3 << 3),
            resize(1, 0, 512, inject=True, b5=0),  # to a 2 MiB boundary: no table copy
            once(1, 0), once(0, 0), w(1, 0), once(1, 0), once(0, 0),
            exit_(1), once(0, 0), once(0, 600), w(0, 1300),
        ])

# munmap / MADV_DONTNEED across shared tables with both ends inside one: ENOMEM at the second
# edge table's copy must not have let go of the tables in between
for fmt, fname in ((0, "x86"), (3, "sv48")):
    SEEDS["share-remove-edges-enomem-%s" % fname] = header(fmt=fmt) + b"".join([
        add(0, 0, 1536, RW), w(0, 50), w(0, 600), w(0, 1100), w(0, 1400),
        fork(0, 1, SHARE), remove(1, 100, 1017, inject=True, b5=1), rd(1, 600), rd(1, 1100),
        fork(0, 2, SHARE), discard(2, 100, 1017, inject=True, b5=1), rd(2, 600), rd(2, 1400),
    ])

SEEDS["fill-callback"] = header(seed=3, lock=True) + b"".join([
    add(0, 200, 16, RW, fill=1), add(0, 300, 16, RW, shared=True, fill=2),
    rd(0, 200), rd(0, 201), rd(0, 202), rd(0, 203), w(0, 204), rd(0, 300), w(0, 301),
    rd(0, 205, fill_fail=True), w(0, 206, fill_fail=True), discard(0, 200, 4), rd(0, 200),
    fork(0, 1, COPY), rd(1, 207), rd(1, 300), w(1, 301), rd(0, 301), fork(0, 2, SHARE),
    rd(2, 208), discard(2, 200, 16), rd(2, 200),
])
SEEDS["protect-split-eacces"] = header(small_caps=True) + b"".join([
    add(0, 0, 16, RW), w(0, 0), w(0, 5),
    protect(0, 4, 4, R), w(0, 5), rd(0, 5), protect(0, 4, 2, RW), w(0, 5), protect(0, 20, 2, R),
    protect(0, 0, 1, RX), op(XACCESS, 0, hi=1, page=0), op(XACCESS, 0, hi=1, page=1),
    op(PROTECT, 0, hi=3, page=0, b4=1 | 3 << 3, b5=0x40), protect(0, 12, 8, RW),
])
SEEDS["remove-discard-enospc"] = header(small_caps=True) + b"".join([
    add(0, 0, 16, RW), add(0, 32, 16, R), add(0, 64, 16, RW, shared=True),
    w(0, 1), w(0, 2), rd(0, 33), w(0, 65),
    remove(0, 4, 2), remove(0, 8, 2), remove(0, 36, 2), discard(0, 0, 3), rd(0, 1),
    remove(0, 60, 8), op(REMOVE, 0, hi=3, b5=1), op(DISCARD, 0, hi=3, b5=0),
    op(REMOVE, 0, hi=3, b5=0), op(DISCARD, 0, hi=3, b5=1),
])
SEEDS["region-add-bad"] = header(small_caps=True) + b"".join([
    add(0, 0, 4, RW), add(0, 2, 4, RW), add(0, 10, 4, RW, bad=1, badsel=0x80),
    add(0, 10, 4, RW, bad=1, badsel=0xC0), add(0, 10, 4, RW, bad=1, badsel=0x40),
    add(0, 10, 4, RW, bad=1), add(0, 10, 4, RW, bad=2, badsel=0x80),
    add(0, 10, 4, RW, bad=2, badsel=0x40), add(0, 20, 2, R), add(0, 30, 2, RX),
    add(0, 40, 2, RW), op(FIND, 0, page=0), op(FIND, 0, page=8), op(FIND, 0, page=21),
])
SEEDS["bad-calls-user-exec"] = header(fmt=3) + b"".join([
    add(0, 0, 8, RWU), add(0, 16, 8, RW), add(0, 32, 8, RX),
    op(BAD, 0, page=0), op(BAD, 0, page=16), w(0, 0, user=True), w(0, 16, user=True),
    op(XACCESS, 0, page=16, user=True), op(XACCESS, 0, hi=1, page=32),
    op(XACCESS, 0, hi=1, page=0), op(UNPIN, 0, hi=3, b4=5), rd(0, 2000 % 1792),
])
SEEDS["write-range-exhaust"] = header(frames=0, mmu=False) + b"".join([
    add(0, 0, 8 * 20 + 1, RW), op(WRITE_RANGE, 0, page=0, b4=23),
    op(WRITE_RANGE, 0, page=24, b4=23), op(WRITE_RANGE, 0, page=48, b4=23),
    fork(0, 1, COPY), op(WRITE_RANGE, 1, page=0, b4=23), op(WRITE_RANGE, 0, page=0, b4=23),
    fork(0, 2, SHARE), op(WRITE_RANGE, 2, page=24, b4=23),
])
SEEDS["fork-errors"] = header(small_caps=True) + b"".join([
    add(0, 0, 4, RW), add(0, 8, 4, RW), add(0, 16, 4, RW), add(0, 24, 4, RW),
    fork(0, 0), fork(0, 1, COPY),  # child capacity 5 >= 4
    op(SPACE_NEW, 2), add(2, 0, 2, RW), fork(0, 2, SHARE),  # child not empty: EINVAL
    exit_(1), fork(4, 1), add(4, 0, 2), w(4, 0), fork(4, 1, SHARE), exit_(0), w(1, 0),
])
SEEDS["no-gather-dma"] = header(gather=False, mmu=False) + b"".join([
    add(0, 0, 16, RW), pin(0, 3, True), dma(0), rd(0, 3), fork(0, 1, SHARE), rd(1, 3),
    dma(0), rd(0, 3), rd(1, 3), w(1, 3), exit_(0), dma(0), unpin(0), rd(1, 3),
])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "cow")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, "seed-%s.bin" % name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
