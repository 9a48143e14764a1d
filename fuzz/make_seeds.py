#!/usr/bin/env python3
"""Write the seed corpus for fuzz_buddy.c into fuzz/corpus/buddy/.

    python3 fuzz/make_seeds.py [OUTDIR]

Each seed is a small, readable program in the byte format LLVMFuzzerTestOneInput decodes
(see the decoder in fuzz_buddy.c; this file mirrors it). The seeds only have to reach the
interesting code paths - the model in the harness decides what every call must return - so
they are written for coverage, not for particular results. Re-running the script rewrites the
seed-*.bin files; inputs found by fuzzing (other names) are left alone.
"""
import os
import struct
import sys

# ---- header ------------------------------------------------------------------------------

PLACE = {"zero": 0, "4g": 1, "odd": 2, "top": 3}
META = {"caller": 0, "short": 2, "carve": 3}
SPECIAL = {"maxorder0": 0, "maxorder19": 1, "giant": 2, "giantmerge": 3, "ramoverflow": 4,
           "rsvoverflow": 5, "ramnull": 6}
LOCK = {"lock": 0, "nolock": 4, "lockonly": 6, "unlockonly": 7}


def u8(v):
    return bytes([v & 0xFF])


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u64(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def header(backed=False, place="zero", meta="caller", max_order=10, ranges=(), rsvs=(),
           special=None, cache=None, short_by=0):
    """ranges: list of (gap, size_frames, unaligned_bits); rsvs: list of (kind, off, ln, rb);
    cache: None or (batch, high, lock)."""
    nram = len(ranges)
    nrsv = len(rsvs)
    assert 1 <= nram <= 6 and 0 <= nrsv <= 4 and 1 <= max_order <= 12
    cfg0 = (1 if backed else 0) | (PLACE[place] << 1) | (META[meta] << 3)
    if special is not None:
        cfg0 |= 7 << 5
    cfg1 = (max_order - 1) + 12 * short_by  # short_by (0..20) tunes how short a "short" buffer is
    assert cfg1 < 256
    cfg2 = None
    for c in range(256):  # nram = 1 + c % 6, nrsv = (c / 6) % 5
        if 1 + c % 6 == nram and (c // 6) % 5 == nrsv:
            cfg2 = c
            break
    out = u8(cfg0) + u8(cfg1) + u8(cfg2)
    if special is not None:
        out += u8(SPECIAL[special] if special in SPECIAL else 7)
    if cache is None:
        out += u8(0) + u8(0) + u8(0)
    else:
        batch, high, lock = cache  # batch = c1 % 40, high = (c2 & 0x80) ? c2 % 300 : c2 % 80
        assert high < 80 or 0x80 <= high <= 0xFF
        out += u8(1 | (LOCK[lock] << 1)) + u8(batch) + u8(high)
    for gap, size, ub in ranges:
        # gap: 0 = adjacent (merged), else 1 + (g >> 2) % 48 frames; 'overlap' = start inside the
        # previous range (EEXIST)
        if gap == "overlap":
            g = 0xFF
        elif gap == 0:
            g = 0
        else:
            g = 1 | ((gap - 1) << 2)
        # size class: v >> 13 picks the cap (8, 8, 64, 64, 64, 512, 512, 4096), then
        # 1 + (v & 0x1fff) % cap frames
        if size <= 8:
            v = (0 << 13) | (size - 1)
        elif size <= 64:
            v = (2 << 13) | (size - 1)
        elif size <= 512:
            v = (5 << 13) | (size - 1)
        else:
            v = (7 << 13) | (size - 1)
        out += u8(g) + u16(v) + u8(ub)
    for kind, off, ln, rb in rsvs:
        out += u8(kind) + u16(off) + u16(ln) + u8(rb)
    return out


# ---- operations ----------------------------------------------------------------------------

def flags(zero=False, noreclaim=False, limit=None, bits=0, unknown=False):
    """limit: None, 'dma', 'dma32', 'near' (12 + bits % range around the memory), 'bits'."""
    fb = (1 if zero else 0) | (2 if noreclaim else 0)
    sel = {None: 0, "dma": 4, "dma32": 5, "near": 6, "bits": 7}[limit]
    fb |= sel << 2
    if unknown:
        fb |= 7 << 5
    out = u8(fb)
    if sel in (6, 7):
        out += u8(bits)
    return out


def op_alloc(order, provider=False, **fl):
    return u8(0) + u8(order | (0x80 if provider else 0)) + flags(**fl)


def op_window(order, align, mode, x=0, length=1, extra=(), **fl):
    """mode 0: everything; 1-4: [x, x+len) frames (+0x08 low+, 0x10 high-, 0x20 high+ with
    one extra byte each); 5: [x, top); 6: low > high; 7: low == high."""
    return u8(2) + u8(order) + u8(align) + u8(mode) + u16(x) + u16(length) + \
        b"".join(u8(e) for e in extra) + flags(**fl)


def op_free(idx, via_cache=False, provider=False):
    return u8(3) + u16(idx) + u8((1 if via_cache else 0) | (2 if provider else 0))


def op_bad_free(kind, sel=0, x=0, addr=None):
    out = u8(5) + u8(kind) + u8(sel) + u16(x)
    if kind == 3 and sel & 0x80:
        out += u64(addr or 0)
    return out


def op_exact(n, **fl):
    nb = n if n < 0x40 else 0x8000 | n
    return u8(6) + u16(nb) + flags(**fl)


def op_claim(mode, x=0, nb=0):
    return u8(7) + u8(mode) + u16(x) + u8(nb)


def op_bulk(n, **fl):
    return u8(9) + u8(n) + flags(**fl)


def op_hot_add(kind, szb=8, ub=0, mb=0, x=0):
    """kind 0-2 in a hole, 3 hole start (may overlap), 4 overlap a region, 5 adjacent, 6 less
    than a frame, 7 anywhere (with ub 0xFF: more than 2^36 frames); mb % 8: 0-4 caller meta,
    5 too small, 6/7 carve."""
    return u8(10) + u8(kind) + u8(szb) + u8(ub) + u8(mb) + u16(x)


def op_cache_alloc(ob=0xC0, fl=None):
    out = u8(11) + u8(ob)
    if ob & 0x20:
        out += fl if fl is not None else flags()
    return out


def op_cache_free(kind, x=0):
    return u8(12) + u8(kind) + u16(x)


def op_cache_ctl(sel=0, batch=0, high=0):
    out = u8(13) + u8(sel)
    if sel & 1:
        out += u8(batch) + u8(high)
    return out


def op_stats(x=0):
    return u8(14) + u16(x)


def op_free_rsv(i, sel=0):
    return u8(15) + u8(i) + u8(sel)


# ---- the seeds ------------------------------------------------------------------------------

def seeds():
    S = {}
    two_ranges = [(0, 64, 0), (5, 40, 0)]
    six = [(3, 8, 0), (0, 60, 0), (9, 100, 1), (2, 33, 2), (17, 300, 4), (1, 5, 3)]

    S["basic-alloc-free"] = header(max_order=4, ranges=[(0, 64, 0)]) + b"".join(
        [op_alloc(0), op_alloc(2), op_alloc(4), op_alloc(1, provider=True), op_free(0),
         op_free(1, provider=True), op_alloc(3), op_stats(), op_free(0), op_alloc(5)])
    S["backed-zero"] = header(backed=True, max_order=6, ranges=[(0, 200, 0), (4, 30, 0)]) + \
        b"".join([op_alloc(0, zero=True), op_alloc(3, zero=True), op_alloc(6, zero=True),
                  op_free(1), op_alloc(2, zero=True), op_bulk(5, zero=True), op_stats(7)])
    S["limits-4g"] = header(place="4g", max_order=8, ranges=[(0, 500, 0), (10, 500, 0),
                                                             (1, 20, 0)]) + b"".join(
        [op_alloc(0, limit="dma32"), op_alloc(4, limit="dma32"), op_alloc(0, limit="dma"),
         op_alloc(2, limit="near", bits=9), op_alloc(1, limit="bits", bits=31),
         op_alloc(0, limit="bits", bits=5), op_exact(7, limit="dma32"),
         op_bulk(12, limit="near", bits=8), op_free(2), op_alloc(8, limit="dma32")])
    S["windows"] = header(max_order=5, ranges=[(0, 128, 0), (8, 64, 0)]) + b"".join(
        [op_window(0, 0, 0), op_window(2, 1, 1, x=10, length=40),
         op_window(1, 0, 2, x=3, length=20),
         op_window(0, 0, 0x18 | 3, x=100, length=50, extra=(9, 200)),
         op_window(3, 3, 5, x=60), op_window(0, 0, 6, x=5), op_window(0, 0, 7, x=5),
         op_window(2, 2, 4, x=140, length=20, zero=False, limit="near", bits=3),
         op_window(6, 6, 0), op_window(0, 252, 0), op_window(0, 8, 0), op_window(0, 3, 0),
         op_window(1, 4, 1, x=20, length=90), op_claim(0, x=64, nb=1), op_window(0, 5, 0),
         op_window(4, 4, 0x20 | 1, x=64, length=64, extra=(3,))])
    S["bad-frees"] = header(max_order=4, ranges=[(0, 32, 0), (6, 32, 0)],
                            rsvs=[(0, 3, 2, 0)]) + b"".join(
        [op_alloc(2), op_alloc(0), op_alloc(3), op_exact(5),
         op_bad_free(0, sel=1), op_bad_free(0, sel=9), op_bad_free(1, sel=1, x=77),
         op_bad_free(1, sel=2), op_free(0), op_bad_free(2, x=0), op_bad_free(3, sel=0, x=3),
         op_bad_free(3, sel=0x80, addr=0x123456789000), op_bad_free(3, sel=0x40, x=9),
         op_bad_free(4, sel=3, x=40), op_bad_free(5, sel=0, x=1), op_bad_free(6, sel=0),
         op_bad_free(7, sel=0), op_bad_free(7, sel=1, x=0x50), op_bad_free(7, sel=2),
         op_bad_free(7, sel=3), op_bad_free(7, sel=4), op_bad_free(7, sel=8 | 0x20),
         op_stats()])
    S["exact-range"] = header(backed=True, max_order=6, ranges=[(0, 128, 0)]) + b"".join(
        [op_exact(1), op_exact(3, zero=True), op_exact(5), op_exact(33), op_exact(64),
         op_exact(0), op_exact(65), op_free(1), op_free(0), op_exact(17, zero=True),
         op_bad_free(7, sel=8 | 0x10)])
    S["claims"] = header(max_order=5, ranges=[(0, 100, 0), (0, 40, 0), (3, 50, 0)],
                         rsvs=[(0, 20, 4, 0)]) + b"".join(
        [op_claim(0, x=5, nb=3), op_claim(1, x=0, nb=0x81), op_claim(1, x=0x301, nb=7),
         op_claim(2, x=0), op_claim(3, x=21, nb=9), op_claim(4, x=3, nb=1), op_claim(4, x=3),
         op_claim(5, x=1, nb=5), op_free(0), op_claim(0, x=70, nb=40), op_free(1)])
    S["bulk"] = header(max_order=3, ranges=[(0, 40, 0), (2, 9, 0)]) + b"".join(
        [op_bulk(10), op_bulk(0), op_bulk(30), op_bulk(3, unknown=True), op_bulk(47),
         op_free(5), op_bulk(2, limit="dma"), op_free(0)])
    S["hot-add"] = header(backed=True, max_order=5, ranges=[(0, 60, 0), (20, 30, 0)]) + \
        b"".join([op_hot_add(0, szb=10, x=70), op_hot_add(1, szb=20, mb=6, x=200),
                  op_hot_add(4, x=5), op_hot_add(5, szb=6, x=1), op_hot_add(6, ub=3, x=90),
                  op_hot_add(2, szb=0x85, ub=1, mb=5, x=120), op_hot_add(7, szb=3, mb=7, x=61),
                  op_hot_add(3, szb=2, ub=2, mb=6, x=95), op_hot_add(7, ub=0xFF),
                  op_alloc(5), op_alloc(0),
                  op_stats(), op_bulk(20)])
    many = b"".join(op_hot_add(0, szb=0, x=40 + 2 * i) for i in range(66))
    S["hot-add-64-regions"] = header(max_order=2, ranges=[(0, 8, 0)]) + many + op_stats() + \
        op_alloc(0) + op_bulk(9)
    S["cache"] = header(max_order=4, ranges=[(0, 80, 0)], cache=(8, 16, "lock")) + b"".join(
        [op_cache_alloc(), op_cache_alloc(), op_cache_alloc(0xC0 | 0x10), op_cache_free(0),
         op_cache_free(1, x=1), op_cache_alloc(0x02 | 3), op_cache_alloc(0x20, flags(
             limit="near", bits=4)), op_cache_free(5), op_cache_free(6 | 0, x=0),
         op_cache_free(6, x=2), op_cache_free(7, x=3), op_cache_free(7, x=4),
         op_cache_free(7, x=5 | 0x40), op_cache_ctl(0), op_cache_alloc(),
         op_cache_ctl(1 | (4 << 1), batch=4, high=4), op_cache_alloc(), op_cache_free(2),
         op_cache_ctl(1 | (6 << 1), batch=3, high=9), op_cache_ctl(1, batch=39, high=20),
         op_bulk(40), op_free(0, via_cache=True), op_stats()])
    S["cache-highwater"] = header(max_order=3, ranges=[(0, 64, 0)], cache=(4, 8, "nolock")) + \
        b"".join([op_bulk(30)] + [op_cache_free(0, x=i) for i in range(20)] +
                 [op_cache_alloc() for _ in range(12)] + [op_cache_ctl(0)])
    S["cache-backed-zero"] = header(backed=True, max_order=4, ranges=[(0, 40, 0)],
                                    cache=(5, 0x85, "lock")) + b"".join(
        [op_cache_alloc(0x20, flags(zero=True)), op_cache_alloc(), op_cache_alloc(0x20,
                                                                                  flags(zero=True)),
         op_cache_free(0), op_cache_alloc(0x20, flags(zero=True)), op_cache_ctl(0)])
    S["cache-bad-config"] = header(max_order=3, ranges=[(0, 30, 0)],
                                   cache=(200, 10, "lock")) + b"".join(
        [op_cache_ctl(1 | (7 << 1), batch=3, high=3), op_cache_ctl(1, batch=0, high=0),
         op_cache_alloc()])
    S["reservations"] = header(max_order=6, ranges=six, rsvs=[(0, 10, 5, 0), (2, 0x102, 3, 1),
                                                              (4, 0x300, 0, 2),
                                                              (5, 0x100, 1, 0)]) + b"".join(
        [op_free_rsv(0), op_free_rsv(1, sel=0x80), op_free_rsv(2, sel=1), op_free_rsv(3),
         op_free_rsv(0), op_alloc(6), op_stats()])
    S["reservations-overlap"] = header(max_order=5, ranges=[(0, 100, 0)],
                                       rsvs=[(0, 30, 10, 0), (6, 3, 20, 0), (6, 1, 3, 6),
                                             (1, 50, 1, 0xFF)]) + b"".join(
        [op_free_rsv(1), op_free_rsv(0), op_free_rsv(2, sel=0x80), op_bad_free(6)])
    S["init-eexist"] = header(max_order=4, ranges=[(0, 30, 0), ("overlap", 20, 0)]) + op_alloc(0)
    S["init-rsv-outside"] = header(max_order=4, ranges=[(0, 30, 0)],
                                   rsvs=[(0xFF, 0, 1, 0)]) + op_alloc(0)
    S["init-short-meta"] = header(max_order=7, meta="short", ranges=two_ranges, short_by=5) + \
        op_alloc(0)
    S["init-carve"] = header(backed=True, meta="carve", max_order=5, ranges=[(0, 100, 0),
                                                                           (9, 200, 0)],
                             rsvs=[(3, 0x100, 2, 0)]) + b"".join(
        [op_alloc(0), op_alloc(5, zero=True), op_exact(9), op_stats(), op_bad_free(6)])
    S["init-carve-unbacked"] = header(meta="carve", ranges=two_ranges) + op_alloc(0)
    S["init-carve-whole-ram"] = header(backed=True, meta="carve", max_order=12,
                                       ranges=[(0, 1, 0)]) + op_alloc(0)
    S["init-carve-nomem"] = header(backed=True, meta="carve", max_order=3, ranges=[(0, 1, 0)],
                                   rsvs=[(0, 0, 0, 0)]) + op_alloc(0)
    for name in ("maxorder0", "maxorder19", "giant", "giantmerge", "ramoverflow",
                 "rsvoverflow", "ramnull"):
        S["init-special-" + name] = header(max_order=3, ranges=[(0, 16, 0)],
                                           rsvs=[(0, 2, 2, 0)], special=name) + \
            op_alloc(1) + op_alloc(0)
    S["unaligned-ranges"] = header(place="odd", max_order=6, ranges=[(0, 50, 1), (0, 50, 2),
                                                                     (0, 50, 3), (4, 50, 4),
                                                                     (0, 1, 1), (2, 70, 7)],
                                   rsvs=[(0, 7, 3, 3), (3, 0x100, 1, 2)]) + b"".join(
        [op_alloc(0), op_alloc(6), op_claim(5, x=2, nb=4), op_bulk(40), op_stats(3)])
    S["top-of-space"] = header(place="top", max_order=8, ranges=[(0, 300, 0), (5, 64, 0)],
                               rsvs=[(3, 0x100, 1, 0)]) + b"".join(
        [op_alloc(8), op_alloc(0, limit="dma32"), op_window(0, 0, 5, x=100),
         op_window(1, 1, 0x20 | 1, x=290, length=200, extra=(255,)), op_hot_add(0, szb=4, x=380),
         op_bad_free(3, sel=0x20, x=5), op_bad_free(3, sel=0, x=0), op_free_rsv(0)])
    S["small-maxorder"] = header(max_order=1, ranges=[(1, 60, 0), (1, 7, 0)]) + b"".join(
        [op_alloc(1), op_alloc(0), op_alloc(2), op_exact(2), op_exact(3), op_bulk(11),
         op_window(1, 1, 0), op_free(2)])
    S["mixed-long"] = header(backed=True, place="4g", max_order=7,
                             ranges=[(2, 120, 0), (6, 300, 1), (0, 40, 0)],
                             rsvs=[(2, 0x100, 3, 0), (0, 9, 2, 1)], cache=(6, 20, "lock")) + \
        b"".join([op_alloc(i % 8, zero=bool(i & 1)) for i in range(10)] +
                 [op_bulk(7), op_cache_alloc(), op_cache_alloc(), op_exact(13, zero=True),
                  op_claim(0, x=300, nb=6), op_free(3), op_free(1, via_cache=True),
                  op_window(2, 2, 1, x=50, length=100), op_hot_add(0, szb=12, x=500),
                  op_cache_free(0, x=2), op_bad_free(2, x=1), op_free_rsv(0),
                  op_alloc(0, limit="dma32"), op_cache_ctl(0), op_stats()])
    return S


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "buddy")
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):
        if f.startswith("seed-") and f.endswith(".bin"):
            os.remove(os.path.join(outdir, f))
    s = seeds()
    for name, data in sorted(s.items()):
        with open(os.path.join(outdir, "seed-%s.bin" % name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(s), outdir))


if __name__ == "__main__":
    main()
