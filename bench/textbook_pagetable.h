/* textbook_pagetable.h - the peer for bench_pagetable.c: an x86-64 4-level page table written
 * the way a textbook (or a first kernel) does it. Every page walks from the root: one
 * phys_to_virt per level, allocate missing tables on the way, write one PTE. Unmap walks from
 * the root per page, clears the PTE and hands the frame to a callback; empty tables are freed
 * by a separate sweep afterwards (like free_pgtables after zapping). Translate walks from the
 * root and decodes 1 GiB / 2 MiB / 4 KiB leaves. No gather, no validation: it is only a speed
 * reference. Uses the same mmkit_provider as mmkit (so both pay the same phys_to_virt). */
#ifndef TEXTBOOK_PAGETABLE_H
#define TEXTBOOK_PAGETABLE_H
#include <mmkit/mmkit_core.h>
#include <string.h>

#define TB_P 0x1u
#define TB_PS 0x80u
#define TB_ADDR 0x000ffffffffff000ull

typedef struct tb_pagetable {
    const mmkit_provider *p;
    uint64_t root;
} tb_pagetable;

static inline uint64_t *tb_table(const tb_pagetable *t, uint64_t pa) {
    return (uint64_t *)t->p->phys_to_virt(t->p->ctx, pa);
}

static int tb_init(tb_pagetable *t, const mmkit_provider *p) {
    t->p = p;
    if (p->alloc(p->ctx, 0, 0, &t->root) != MMKIT_OK) return -1;
    memset(tb_table(t, t->root), 0, 4096);
    return 0;
}

/* Map one 4 KiB page: walk from the root. */
static int tb_map_page(tb_pagetable *t, uint64_t va, uint64_t pa, uint64_t bits) {
    uint64_t *tab = tb_table(t, t->root);
    int level;
    for (level = 3; level > 0; level--) {
        uint64_t *e = &tab[(va >> (12 + 9 * level)) & 511];
        if (!(*e & TB_P)) {
            uint64_t n;
            if (t->p->alloc(t->p->ctx, 0, 0, &n) != MMKIT_OK) return -1;
            memset(tb_table(t, n), 0, 4096);
            *e = n | 0x7;
        }
        tab = tb_table(t, *e & TB_ADDR);
    }
    tab[(va >> 12) & 511] = pa | bits;
    return 0;
}

/* Unmap one 4 KiB page: walk from the root, clear, hand the frame back. */
static void tb_unmap_page(tb_pagetable *t, uint64_t va, void (*leaf)(void *, uint64_t),
                          void *ctx) {
    uint64_t *tab = tb_table(t, t->root);
    int level;
    for (level = 3; level > 0; level--) {
        uint64_t e = tab[(va >> (12 + 9 * level)) & 511];
        if (!(e & TB_P)) return;
        tab = tb_table(t, e & TB_ADDR);
    }
    {
        uint64_t *e = &tab[(va >> 12) & 511];
        if (*e & TB_P) {
            leaf(ctx, *e & TB_ADDR);
            *e = 0;
        }
    }
}

/* Free the tables under the root that hold no entry any more (two levels of sweep). */
static void tb_free_empty(tb_pagetable *t) {
    uint64_t *l3 = tb_table(t, t->root);
    unsigned a, b, c, i;
    for (a = 0; a < 512; a++) {
        uint64_t *l2;
        bool any2 = false;
        if (!(l3[a] & TB_P)) continue;
        l2 = tb_table(t, l3[a] & TB_ADDR);
        for (b = 0; b < 512; b++) {
            uint64_t *l1;
            bool any1 = false;
            if (!(l2[b] & TB_P) || (l2[b] & TB_PS)) { any2 = any2 || (l2[b] & TB_P); continue; }
            l1 = tb_table(t, l2[b] & TB_ADDR);
            for (c = 0; c < 512; c++) {
                uint64_t *l0;
                bool any0 = false;
                if (!(l1[c] & TB_P) || (l1[c] & TB_PS)) { any1 = any1 || (l1[c] & TB_P); continue; }
                l0 = tb_table(t, l1[c] & TB_ADDR);
                for (i = 0; i < 512 && !any0; i++) any0 = l0[i] != 0;
                if (any0) { any1 = true; continue; }
                t->p->free(t->p->ctx, l1[c] & TB_ADDR, 0);
                l1[c] = 0;
            }
            if (any1) { any2 = true; continue; }
            t->p->free(t->p->ctx, l2[b] & TB_ADDR, 0);
            l2[b] = 0;
        }
        if (any2) continue;
        t->p->free(t->p->ctx, l3[a] & TB_ADDR, 0);
        l3[a] = 0;
    }
}

/* Physical address of va, or ~0 when unmapped. */
static uint64_t tb_translate(const tb_pagetable *t, uint64_t va) {
    uint64_t *tab = tb_table(t, t->root);
    int level;
    for (level = 3; level >= 0; level--) {
        uint64_t e = tab[(va >> (12 + 9 * level)) & 511];
        if (!(e & TB_P)) return ~(uint64_t)0;
        if (level == 0 || (level <= 2 && (e & TB_PS))) {
            uint64_t mask = ((uint64_t)1 << (12 + 9 * level)) - 1;
            return ((e & TB_ADDR) & ~mask) | (va & mask);
        }
        tab = tb_table(t, e & TB_ADDR);
    }
    return ~(uint64_t)0;
}
#endif
