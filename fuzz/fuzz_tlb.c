/* fuzz_tlb.c - fuzz harness for the invalidation gather of mmkit_tlb.h.
 *
 * LLVMFuzzerTestOneInput decodes the input into a gather (ceiling 1..64 or the default, an
 * ASID) and then 4-byte operations run on the gather and on a reference model written from
 * the gather's DESIGN text (one straightforward function per operation, no fast paths):
 *   range       mmkit_tlb_gather_range with a va from a few clusters (low addresses, a
 *               continuation of the last range, the top of the address space, unaligned
 *               offsets), a size of 0..n pages (sometimes unaligned or wrapping past 2^64), a
 *               page shift (mostly 12 / 21 / 30, sometimes invalid) and a global bit
 *   tables      mmkit_tlb_gather_tables
 *   free_table  mmkit_tlb_gather_free_table (a provider that counts what it is given back;
 *               sometimes unaligned -> EINVAL; a full queue flushes early)
 *   flush       mmkit_tlb_gather_flush: the flush the backend sees must be the model's, and
 *               every queued table must be freed after it
 * After every operation the gather's peek must equal the model's (scope, ranges, page count,
 * global, tables), its statuses must be the model's and mmkit_tlb_gather_check() must pass.
 * This is what keeps the inline fast path of mmkit_tlb_gather_range() identical to the full
 * path: both are compared with the same model on every input.
 * Input format: byte 0 ceiling (0 = default, else 1 + b % 64), byte 1 asid, then 4-byte
 * operations [op, va selector, size selector, shift / global bits].
 *
 * Build modes: libFuzzer (clang -fsanitize=fuzzer), AFL++ (afl-clang-fast -fsanitize=fuzzer),
 * replay (cc fuzz/fuzz_tlb.c fuzz/replay_main.c; corpus in corpus/tlb).
 * FUZZ_TRACE=1 in the environment prints every operation to stderr.
 */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_tlb.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_tlb"
#include "fuzz_common.h"

#define MAX_OPS 600

/* ---- the model ------------------------------------------------------------------------------ */
typedef struct model {
    uint32_t ceiling;
    uint32_t nranges, ntables;
    mmkit_tlb_range range[MMKIT_TLB_GATHER_RANGES];
    uint64_t npages;
    bool escalated, global, tables;
} model;

static void model_range(model *m, mmkit_vaddr va, uint64_t size, unsigned shift, bool global,
                        mmkit_status *st) {
    uint64_t mask, first, last, pages;
    *st = MMKIT_OK;
    if (size == 0) return;
    if (global) m->global = true;
    if (shift < 12 || shift > 48 || size - 1u > UINT64_MAX - va) { /* invalid: escalate */
        m->escalated = true;
        m->nranges = 0;
        *st = MMKIT_EINVAL;
        return;
    }
    mask = ((uint64_t)1 << shift) - 1u;
    first = va & ~mask;
    last = (va + (size - 1u)) | mask;
    if (!m->escalated && m->nranges > 0 && m->range[m->nranges - 1u].page_shift == shift) {
        mmkit_tlb_range *r = &m->range[m->nranges - 1u];
        uint64_t rlast = r->va + (r->size - 1u);
        if ((first <= rlast || first - 1u == rlast) && (r->va <= last || r->va - 1u == last)) {
            m->npages -= r->size >> shift; /* union with the last range */
            if (r->va < first) first = r->va;
            if (rlast > last) last = rlast;
            m->nranges--;
        }
    }
    pages = ((last - first) >> shift) + 1u;
    m->npages = m->npages > UINT64_MAX - pages ? UINT64_MAX : m->npages + pages;
    if (m->escalated) return;
    if (m->npages > m->ceiling || m->nranges == MMKIT_TLB_GATHER_RANGES || last - first + 1u == 0) {
        m->escalated = true;
        m->nranges = 0;
        return;
    }
    m->range[m->nranges].va = first;
    m->range[m->nranges].size = last - first + 1u;
    m->range[m->nranges].page_shift = shift;
    m->nranges++;
}

static mmkit_tlb_flush model_peek(const model *m, uint32_t asid) {
    mmkit_tlb_flush f;
    memset(&f, 0, sizeof f);
    f.asid = asid;
    f.global = m->global;
    f.tables = m->tables || m->ntables > 0;
    f.npages = m->npages;
    if (m->escalated || (m->nranges == 0 && f.tables))
        f.scope = m->global ? MMKIT_TLB_SCOPE_ALL : MMKIT_TLB_SCOPE_ASID;
    else if (m->nranges > 0) {
        f.scope = MMKIT_TLB_SCOPE_RANGES;
        f.nranges = m->nranges;
        f.ranges = m->range;
    }
    return f;
}

static void model_reset(model *m) {
    m->nranges = m->ntables = 0;
    m->npages = 0;
    m->escalated = m->global = m->tables = false;
}

/* ---- backend and provider that record what they see ------------------------------------------- */
static struct {
    unsigned flushes;
    mmkit_tlb_flush f;
    mmkit_tlb_range range[MMKIT_TLB_GATHER_RANGES];
    unsigned tables_at_flush; /* tables freed before the flush callback ran (must be 0) */
    unsigned freed;           /* tables freed so far */
} seen;

static void backend_flush(void *ctx, const mmkit_tlb_flush *f) {
    (void)ctx;
    seen.flushes++;
    seen.f = *f;
    if (f->nranges) memcpy(seen.range, f->ranges, f->nranges * sizeof *f->ranges);
    seen.f.ranges = seen.range;
    seen.tables_at_flush = seen.freed;
}
static mmkit_status prov_free(void *ctx, mmkit_paddr pa, unsigned order) {
    (void)ctx;
    CHECK(order == 0 && (pa & 0xfffu) == 0, "free of pa %llx order %u",
          (unsigned long long)pa, order);
    seen.freed++;
    return MMKIT_OK;
}

static void same_flush(const mmkit_tlb_flush *a, const mmkit_tlb_flush *b, const char *what) {
    uint32_t i;
    CHECK(a->scope == b->scope, "%s: scope %d, model %d", what, a->scope, b->scope);
    CHECK(a->asid == b->asid && a->global == b->global && a->tables == b->tables,
          "%s: asid %u/%u global %d/%d tables %d/%d", what, a->asid, b->asid, a->global,
          b->global, a->tables, b->tables);
    CHECK(a->npages == b->npages, "%s: npages %llu, model %llu", what,
          (unsigned long long)a->npages, (unsigned long long)b->npages);
    CHECK(a->nranges == b->nranges, "%s: %u ranges, model %u", what, a->nranges, b->nranges);
    for (i = 0; i < a->nranges; i++)
        CHECK(a->ranges[i].va == b->ranges[i].va && a->ranges[i].size == b->ranges[i].size &&
                  a->ranges[i].page_shift == b->ranges[i].page_shift,
              "%s: range %u [%llx +%llx s%u], model [%llx +%llx s%u]", what, i,
              (unsigned long long)a->ranges[i].va, (unsigned long long)a->ranges[i].size,
              a->ranges[i].page_shift, (unsigned long long)b->ranges[i].va,
              (unsigned long long)b->ranges[i].size, b->ranges[i].page_shift);
}

static const unsigned shifts[8] = {12, 12, 12, 12, 21, 21, 30, 0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mmkit_tlb_gather g;
    mmkit_tlb_gather_desc d;
    mmkit_provider prov;
    model m;
    unsigned b0, ops = 0;
    mmkit_vaddr last_end = 0;
    fuzz_begin(data, size);
    memset(&d, 0, sizeof d);
    memset(&prov, 0, sizeof prov);
    memset(&m, 0, sizeof m);
    memset(&seen, 0, sizeof seen);
    prov.free = prov_free;
    b0 = u8();
    d.ceiling = b0 ? 1u + b0 % 64u : 0u;
    d.asid = u8();
    d.backend.flush_local = backend_flush;
    EXPECT_ST(mmkit_tlb_gather_init(&g, &d), MMKIT_OK, "init");
    m.ceiling = d.ceiling ? d.ceiling : MMKIT_TLB_DEFAULT_CEILING;
    while (more() && ops++ < MAX_OPS) {
        unsigned op = u8(), vs = u8(), ss = u8(), bits = u8();
        mmkit_tlb_flush f, mf;
        mmkit_status st, mst;
        fuzz_op++;
        switch (op % 8u) {
        case 0: case 1: case 2: case 3: case 4: { /* range */
            unsigned shift = shifts[bits & 7u];
            bool global = (bits & 8u) != 0;
            uint64_t psize, va, len;
            if (shift == 0) shift = (bits >> 4) & 1u ? 11u : 49u + (bits >> 5); /* invalid */
            psize = shift < 64 ? (uint64_t)1 << (shift > 48 ? 48 : shift) : 0;
            switch (vs >> 5) {
            case 0: case 1: case 2: va = last_end; break;               /* continue the run */
            case 3: va = (uint64_t)(vs & 31u) * psize; break;           /* low pages */
            case 4: va = last_end + (uint64_t)(vs & 7u) * psize; break; /* near the run */
            case 5: va = UINT64_MAX - (uint64_t)(vs & 7u) * psize + 1u; break; /* top */
            case 6: va = last_end - (uint64_t)(vs & 7u) * psize; break; /* overlapping */
            default: va = (uint64_t)u16() << 12 | (vs & 31u) * 0x123u; break; /* unaligned */
            }
            len = (uint64_t)(ss & 15u) * psize;
            if (ss & 0x10u) len += (ss >> 5) * 0x321u;                  /* unaligned size */
            if ((ss & 0xe0u) == 0xe0u) len = UINT64_MAX - (uint64_t)(ss & 3u); /* wraps */
            fuzz_opname = "range";
            TRACE("op %u: range va %llx size %llx shift %u global %d\n", fuzz_op,
                  (unsigned long long)va, (unsigned long long)len, shift, global);
            model_range(&m, va, len, shift, global, &mst);
            st = mmkit_tlb_gather_range(&g, va, len, shift, global);
            EXPECT_ST(st, mst, "mmkit_tlb_gather_range");
            if (st == MMKIT_OK && len) last_end = va + len;
            break;
        }
        case 5:
            fuzz_opname = "tables";
            TRACE("op %u: tables\n", fuzz_op);
            EXPECT_ST(mmkit_tlb_gather_tables(&g), MMKIT_OK, "mmkit_tlb_gather_tables");
            m.tables = true;
            break;
        case 6: { /* free_table */
            mmkit_paddr pa = (mmkit_paddr)(vs | ss << 8) << 12;
            bool bad = (bits & 0xf0u) == 0xf0u;
            fuzz_opname = "free_table";
            TRACE("op %u: free_table%s\n", fuzz_op, bad ? " (unaligned)" : "");
            if (bad) {
                EXPECT_ST(mmkit_tlb_gather_free_table(&g, &prov, pa | 8u), MMKIT_EINVAL,
                          "free_table of an unaligned pa");
                break;
            }
            if (m.ntables == MMKIT_TLB_GATHER_TABLES) { /* early flush first */
                unsigned before = seen.freed, flushes = seen.flushes;
                mf = model_peek(&m, d.asid);
                EXPECT_ST(mmkit_tlb_gather_free_table(&g, &prov, pa), MMKIT_OK, "free_table");
                CHECK(seen.flushes == flushes + 1u, "a full queue did not flush early");
                same_flush(&seen.f, &mf, "early flush");
                CHECK(seen.tables_at_flush == before && seen.freed == before + m.ntables,
                      "early flush freed %u tables before, %u after (queued %u)",
                      seen.tables_at_flush - before, seen.freed - before, m.ntables);
                model_reset(&m);
            } else {
                EXPECT_ST(mmkit_tlb_gather_free_table(&g, &prov, pa), MMKIT_OK, "free_table");
            }
            m.ntables++;
            m.tables = true;
            break;
        }
        default: { /* flush */
            unsigned before = seen.freed, flushes = seen.flushes;
            fuzz_opname = "flush";
            TRACE("op %u: flush\n", fuzz_op);
            mf = model_peek(&m, d.asid);
            EXPECT_ST(mmkit_tlb_gather_flush(&g), MMKIT_OK, "mmkit_tlb_gather_flush");
            if (mf.scope == MMKIT_TLB_SCOPE_NONE) {
                CHECK(seen.flushes == flushes, "an empty gather called the backend");
            } else {
                CHECK(seen.flushes == flushes + 1u, "the backend was not called");
                same_flush(&seen.f, &mf, "flush");
                CHECK(seen.tables_at_flush == before, "a table was freed before the flush");
            }
            CHECK(seen.freed == before + m.ntables, "flush freed %u of %u tables",
                  seen.freed - before, m.ntables);
            model_reset(&m);
            break;
        }
        }
        (void)mmkit_tlb_gather_peek(&g, &f);
        mf = model_peek(&m, d.asid);
        same_flush(&f, &mf, "peek");
        EXPECT_ST(mmkit_tlb_gather_check(&g), MMKIT_OK, "mmkit_tlb_gather_check");
    }
    fuzz_opname = "teardown";
    {
        unsigned before = seen.freed;
        EXPECT_ST(mmkit_tlb_gather_flush(&g), MMKIT_OK, "final flush");
        CHECK(seen.freed == before + m.ntables, "final flush freed %u of %u tables",
              seen.freed - before, m.ntables);
    }
    return 0;
}
