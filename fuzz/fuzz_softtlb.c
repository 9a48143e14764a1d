/* fuzz_softtlb.c - fuzz harness for the software TLB of mmkit_tlb.h.
 *
 * LLVMFuzzerTestOneInput decodes the input into a TLB geometry (1..16 sets x 1..4 ways, so
 * conflicts and evictions are frequent) and then 4-byte operations:
 *   map        put a 4 KiB / 2 MiB / 1 GiB translation (asid 0..3 or global) into a reference
 *              "page table" (a small dictionary va -> (pa, size, asid, global, flags)); whatever
 *              it overlaps for the same ASID (or globally) is removed from the table first
 *   unmap      remove one translation from the table
 *   lookup     mmkit_softtlb_lookup (never fills)
 *   translate  mmkit_softtlb_translate (fills from the walk callback on a miss)
 *   invalidate every form of mmkit_softtlb_invalidate and the INVLPG / INVPCID / SFENCE.VMA
 *              wrappers
 * The TLB's translate callback always walks the reference table. A model keeps what may still
 * legally be cached: every translation currently in the table, plus every translation that was
 * removed or replaced since the last invalidation covering it (the architectures allow stale
 * entries until the OS invalidates them). Every hit must be one of those translations, for that
 * ASID (or a global one), with the same frame, size and flags; a translate error must mean the
 * table has no translation for (va, asid). mmkit_softtlb_check() runs after every step and the
 * statistics are checked for consistency. Anything unexpected abort()s naming the operation.
 * Input format: byte 0 sets = 2^(b % 5), byte 1 ways = 1 + b % 4, then 4-byte operations
 * [op % 8, va slot (low 4 bits) and stride (high 4 bits), va offset, asid (bits 0-1) / size
 * (bits 2-3) / global (bit 5) / flags (bits 6-7)]. The committed seeds in corpus/softtlb/ are
 * such byte strings (deterministic pseudo-random operation mixes plus targeted scenarios).
 *
 * Build modes: libFuzzer (clang -fsanitize=fuzzer), AFL++ (afl-clang-fast -fsanitize=fuzzer),
 * replay (cc fuzz/fuzz_softtlb.c fuzz/replay_main.c; ctest runs it on corpus/softtlb).
 * FUZZ_TRACE=1 in the environment prints every operation to stderr.
 */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_tlb.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_softtlb"
#include "fuzz_common.h"

#define MAX_OPS 400
#define MAX_MAPS 24
#define MAX_STALE 48

typedef struct xlat {
    uint64_t va;      /* aligned to the size */
    unsigned shift;   /* 12, 21, 30 */
    uint32_t asid;
    bool global;
    uint64_t pa;
    uint32_t flags;
} xlat;

typedef struct model {
    xlat map[MAX_MAPS];
    unsigned nmaps;
    xlat stale[MAX_STALE];
    unsigned nstale;
    unsigned walks;
} model;

static bool covers(const xlat *x, uint64_t va) {
    return (va >> x->shift) == (x->va >> x->shift);
}
static bool visible(const xlat *x, uint32_t asid) { return x->global || x->asid == asid; }
static bool overlaps(const xlat *a, const xlat *b) {
    unsigned s = a->shift > b->shift ? a->shift : b->shift;
    return (a->va >> s) == (b->va >> s) && (a->global || b->global || a->asid == b->asid);
}

static mmkit_status walk(void *ctx, mmkit_vaddr va, uint32_t asid, mmkit_softtlb_walk *w) {
    model *m = (model *)ctx;
    unsigned i;
    m->walks++;
    for (i = 0; i < m->nmaps; i++) {
        const xlat *x = &m->map[i];
        if (covers(x, va) && visible(x, asid)) {
            w->pa = x->pa;
            w->page_shift = x->shift;
            w->flags = x->flags;
            w->global = x->global;
            return MMKIT_OK;
        }
    }
    return MMKIT_ENOENT;
}

static void drop_all_stale(model *m, mmkit_softtlb *t) {
    if (mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_ALL, 0, 0) != MMKIT_OK) FAIL("inv all");
    m->nstale = 0;
}
static void make_stale(model *m, mmkit_softtlb *t, const xlat *x) {
    if (m->nstale == MAX_STALE) drop_all_stale(m, t);
    m->stale[m->nstale++] = *x;
}
static void remove_map(model *m, mmkit_softtlb *t, unsigned i) {
    make_stale(m, t, &m->map[i]);
    m->map[i] = m->map[--m->nmaps];
}

/* May the TLB answer (va, asid) with this entry? */
static bool allowed_one(const xlat *x, uint64_t va, uint32_t asid, const mmkit_softtlb_entry *e) {
    return covers(x, va) && visible(x, asid) && x->pa == e->pa && x->shift == e->page_shift &&
           x->flags == e->flags && x->global == (e->global != 0);
}
static bool allowed(const model *m, uint64_t va, uint32_t asid, const mmkit_softtlb_entry *e) {
    unsigned i;
    for (i = 0; i < m->nmaps; i++)
        if (allowed_one(&m->map[i], va, asid, e)) return true;
    for (i = 0; i < m->nstale; i++)
        if (allowed_one(&m->stale[i], va, asid, e)) return true;
    return false;
}

/* Does invalidation `how` reach a cached copy of x? */
static bool inval_reaches(mmkit_softtlb_inval how, uint64_t va, uint32_t asid, const xlat *x) {
    switch (how) {
    case MMKIT_SOFTTLB_INV_VA_ASID: return covers(x, va) && !x->global && x->asid == asid;
    case MMKIT_SOFTTLB_INV_VA_ASID_GLOBAL: return covers(x, va) && (x->global || x->asid == asid);
    case MMKIT_SOFTTLB_INV_VA: return covers(x, va);
    case MMKIT_SOFTTLB_INV_ASID: return !x->global && x->asid == asid;
    case MMKIT_SOFTTLB_INV_ALL: return true;
    case MMKIT_SOFTTLB_INV_ALL_NONGLOBAL: return !x->global;
    }
    return false;
}
static void model_inval(model *m, mmkit_softtlb_inval how, uint64_t va, uint32_t asid) {
    unsigned i = 0;
    while (i < m->nstale) { /* bound: MAX_STALE */
        if (inval_reaches(how, va, asid, &m->stale[i])) m->stale[i] = m->stale[--m->nstale];
        else i++;
    }
}

static const uint64_t va_base[16] = {
    0x0, 0x1000, 0x5000, 0x200000, 0x3ff000, 0x40000000, 0x40201000, 0x7fffc0000000,
    0x7ffffffff000, 0x00007f0000000000, 0xffff800000000000u, 0xffff8000001ff000u,
    0xffffffffc0000000u, 0xfffffffffffff000u, 0x100000000000000u, 0x123456789000};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static model m;
    static const char *const op_names[8] = {"map", "unmap", "lookup", "translate", "translate",
                                            "invalidate", "instruction", "remap"};
    mmkit_softtlb_desc d;
    mmkit_softtlb tlb, *t = &tlb;
    mmkit_softtlb_stats s;
    size_t need = 0;
    void *mem;
    uint64_t hits = 0, misses = 0, seen_fills = 0;
    if (size < 2) return 0;
    fuzz_begin(data, size);
    memset(&m, 0, sizeof m);
    memset(&d, 0, sizeof d);
    d.sets = 1u << (u8() % 5);
    d.ways = 1u + u8() % 4;
    d.translate = walk;
    d.ctx = &m;
    EXPECT_ST(mmkit_softtlb_mem_size(&d, &need), MMKIT_OK, "mem_size");
    mem = malloc(need);
    if (!mem) return 0;
    d.mem = mem;
    d.mem_size = need;
    EXPECT_ST(mmkit_softtlb_init(t, &d), MMKIT_OK, "init");
    TRACE("tlb %u sets x %u ways\n", d.sets, d.ways);

    while (fuzz_left() >= 4 && fuzz_op < MAX_OPS) {
        uint8_t op[4];
        uint64_t va;
        uint32_t asid;
        op[0] = (uint8_t)u8();
        op[1] = (uint8_t)u8();
        op[2] = (uint8_t)u8();
        op[3] = (uint8_t)u8();
        va = va_base[op[1] & 15] + ((uint64_t)op[2] << 4) * ((op[1] >> 4) + 1u);
        asid = op[3] & 3u;
        fuzz_op++;
        fuzz_opname = op_names[op[0] % 8];
        TRACE("op #%u %s va %#llx asid %u (%02x %02x %02x %02x)\n", fuzz_op, fuzz_opname,
              (unsigned long long)va, asid, op[0], op[1], op[2], op[3]);
        switch (op[0] % 8) {
        case 0: { /* map */
            xlat x;
            unsigned i = 0;
            x.shift = 12u + 9u * ((op[3] >> 2) % 3u);
            x.va = va & ~(((uint64_t)1 << x.shift) - 1u);
            x.asid = asid;
            x.global = (op[3] & 0x20) != 0;
            x.pa = ((uint64_t)(op[2] ^ op[1]) << 30) | ((uint64_t)op[0] << x.shift);
            x.pa &= ~(((uint64_t)1 << x.shift) - 1u);
            x.flags = op[3] >> 6;
            while (i < m.nmaps) { /* bound: MAX_MAPS */
                if (overlaps(&m.map[i], &x)) remove_map(&m, t, i);
                else i++;
            }
            if (m.nmaps == MAX_MAPS) remove_map(&m, t, 0);
            m.map[m.nmaps++] = x;
            break;
        }
        case 1: /* unmap */
            if (m.nmaps) remove_map(&m, t, op[1] % m.nmaps);
            break;
        case 2: { /* lookup: never fills */
            unsigned walks = m.walks;
            const mmkit_softtlb_entry *e = mmkit_softtlb_lookup(t, va, asid);
            if (e) {
                hits++;
                if (!allowed(&m, va, asid, e)) FAIL("lookup hit is not a legal translation");
            } else {
                misses++;
            }
            if (m.walks != walks) FAIL("lookup walked");
            break;
        }
        case 3:
        case 4: { /* translate = lookup or fill */
            mmkit_paddr pa = 0;
            uint32_t flags = 0;
            unsigned walks = m.walks;
            mmkit_status st = mmkit_softtlb_translate(t, va, asid, &pa, &flags);
            mmkit_softtlb_entry e;
            if (m.walks == walks) hits++;
            else misses++;
            if (st == MMKIT_OK) {
                /* find the translation that explains pa */
                const mmkit_softtlb_entry *c = mmkit_softtlb_lookup(t, va, asid);
                hits++;
                if (!c) FAIL("translate result not cached afterwards");
                e = *c;
                if (pa != e.pa + (va & (((uint64_t)1 << e.page_shift) - 1u)) || flags != e.flags)
                    FAIL("translate pa/flags differ from the entry");
                if (!allowed(&m, va, asid, &e)) FAIL("translate: not a legal translation");
            } else if (st == MMKIT_ENOENT) {
                mmkit_softtlb_walk w;
                if (m.walks == walks) FAIL("ENOENT without a walk");
                if (walk(&m, va, asid, &w) == MMKIT_OK) FAIL("ENOENT but mapped");
                m.walks--;
            } else {
                FAIL("translate status");
            }
            break;
        }
        case 5: { /* generic invalidation */
            mmkit_softtlb_inval how = (mmkit_softtlb_inval)(op[3] % 6u);
            if (mmkit_softtlb_invalidate(t, how, va, asid) != MMKIT_OK) FAIL("invalidate");
            model_inval(&m, how, va, asid);
            break;
        }
        case 6: { /* instruction wrappers */
            unsigned which = (op[3] >> 2) % 9u;
            mmkit_status st;
            mmkit_softtlb_inval how;
            if (which == 0) {
                st = mmkit_softtlb_invlpg(t, va, asid);
                how = MMKIT_SOFTTLB_INV_VA_ASID_GLOBAL;
            } else if (which <= 4) {
                static const mmkit_softtlb_inval typ[4] = {
                    MMKIT_SOFTTLB_INV_VA_ASID, MMKIT_SOFTTLB_INV_ASID, MMKIT_SOFTTLB_INV_ALL,
                    MMKIT_SOFTTLB_INV_ALL_NONGLOBAL};
                st = mmkit_softtlb_invpcid(t, which - 1u, asid, va);
                how = typ[which - 1u];
            } else {
                bool rs1_x0 = ((which - 5u) & 1u) != 0, rs2_x0 = ((which - 5u) & 2u) != 0;
                st = mmkit_softtlb_sfence_vma(t, rs1_x0, va, rs2_x0, asid);
                how = rs1_x0 ? (rs2_x0 ? MMKIT_SOFTTLB_INV_ALL : MMKIT_SOFTTLB_INV_ASID)
                             : (rs2_x0 ? MMKIT_SOFTTLB_INV_VA : MMKIT_SOFTTLB_INV_VA_ASID);
            }
            if (st != MMKIT_OK) FAIL("wrapper");
            model_inval(&m, how, va, asid);
            if (mmkit_softtlb_invpcid(t, 4u + op[2], asid, va) != MMKIT_EINVAL)
                FAIL("invpcid bad type");
            break;
        }
        default: /* remap without invalidation, then invalidate properly half of the time */
            if (m.nmaps) {
                unsigned i = op[1] % m.nmaps;
                xlat old = m.map[i];
                make_stale(&m, t, &old);
                m.map[i].pa ^= (uint64_t)1 << 40;
                m.map[i].flags ^= 1u;
                if (op[3] & 1u) {
                    mmkit_softtlb_inval how = old.global ? MMKIT_SOFTTLB_INV_VA
                                                          : MMKIT_SOFTTLB_INV_VA_ASID;
                    if (mmkit_softtlb_invalidate(t, how, old.va, old.asid) != MMKIT_OK)
                        FAIL("invalidate after remap");
                    model_inval(&m, how, old.va, old.asid);
                }
            }
            break;
        }
        if (mmkit_softtlb_check(t) != MMKIT_OK) FAIL("check");
        EXPECT_ST(mmkit_softtlb_stats_get(t, &s), MMKIT_OK, "stats_get");
        if (s.entries[0] + s.entries[1] + s.entries[2] > (uint64_t)d.sets * d.ways)
            FAIL("more entries than slots");
        if (s.fills < seen_fills || s.fills > s.misses) FAIL("fill counter");
        seen_fills = s.fills;
        if (s.hits != hits || s.misses != misses) FAIL("hit/miss statistics");
    }
    free(mem);
    return 0;
}
