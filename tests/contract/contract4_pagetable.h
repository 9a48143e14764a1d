/* contract tests, round 4: mmkit_pagetable.h at the edges of the address space, for every
 * format: the last page of the lower half, the first and last of the upper half, addresses
 * non-canonical by one bit, ranges crossing the hole or wrapping past 2^64, 1 GiB and 2 MiB
 * leaves translated in the middle and split by one-page protect/unmap (counted through a
 * counting provider against "edges split at most 2 * (L - 1) leaves"), misaligned huge maps. */

typedef struct c4_count_prov {
    mmkit_provider inner;
    unsigned allocs, frees;
} c4_count_prov;
static mmkit_status c4_cp_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    c4_count_prov *c = (c4_count_prov *)ctx;
    c->allocs++;
    return mmkit_provider_alloc(&c->inner, order, flags, pa);
}
static mmkit_status c4_cp_free(void *ctx, mmkit_paddr pa, unsigned order) {
    c4_count_prov *c = (c4_count_prov *)ctx;
    c->frees++;
    return mmkit_provider_free(&c->inner, pa, order);
}
static void *c4_cp_virt(void *ctx, mmkit_paddr pa) {
    return mmkit_provider_virt(&((c4_count_prov *)ctx)->inner, pa);
}

static void c4_pt_address_space_edges(void **state) {
    static const struct { mmkit_pagetable_format f; unsigned vbits, levels; } fm[] = {
        {MMKIT_PAGETABLE_X86_64_4LEVEL, 48, 4}, {MMKIT_PAGETABLE_X86_64_5LEVEL, 57, 5},
        {MMKIT_PAGETABLE_SV39, 39, 3}, {MMKIT_PAGETABLE_SV48, 48, 4}, {MMKIT_PAGETABLE_SV57, 57, 5}};
    mmkit_buddy *b = (mmkit_buddy *)calloc(1, sizeof *b);
    mmkit_pagetable *pt = (mmkit_pagetable *)calloc(1, sizeof *pt);
    c4_count_prov cp;
    mmkit_pagetable_desc d;
    uint64_t free0, size;
    mmkit_paddr pa;
    uint32_t fl;
    size_t i;
    (void)state;
    arena_new(16 * MiB);
    buddy_over_arena(b, 16 * MiB, 0);
    free0 = c2_buddy_free(b);
    for (i = 0; i < sizeof fm / sizeof fm[0]; i++) {
        const uint64_t half = (uint64_t)1 << (fm[i].vbits - 1);
        const mmkit_vaddr low_last = half - 4096, up_first = (mmkit_vaddr)0 - half;
        const mmkit_vaddr top = UINT64_MAX - 4095, g1 = (uint64_t)1 << 30;
        unsigned a0;
        memset(&cp, 0, sizeof cp);
        cp.inner = mmkit_buddy_provider(b);
        memset(&d, 0, sizeof d);
        d.format = fm[i].f;
        d.phys_bits = 40;
        d.provider.alloc = c4_cp_alloc, d.provider.free = c4_cp_free;
        d.provider.phys_to_virt = c4_cp_virt, d.provider.ctx = &cp;
        OK(mmkit_pagetable_init(pt, &d));
        /* one page into an empty tree at each edge: exactly levels - 1 tables */
        a0 = cp.allocs;
        OK(mmkit_pagetable_map(pt, low_last, 0x5000, 4096, MMKIT_PTE_RW, NULL));
        assert_true(cp.allocs - a0 == fm[i].levels - 1);
        a0 = cp.allocs;
        OK(mmkit_pagetable_map(pt, up_first, 0x6000, 4096, MMKIT_PTE_READ, NULL));
        assert_true(cp.allocs - a0 == fm[i].levels - 1);
        OK(mmkit_pagetable_map(pt, top, 0x7000, 4096, MMKIT_PTE_READ, NULL));
        OK(mmkit_pagetable_translate(pt, low_last + 0xfff, &pa, &fl, &size));
        assert_true(pa == 0x5fff && size == 4096 && (fl & MMKIT_PTE_WRITE));
        OK(mmkit_pagetable_translate(pt, top + 0xfff, &pa, NULL, &size));
        assert_true(pa == 0x7fff);
        /* non-canonical by one bit, crossing the hole, wrapping past 2^64 */
        ST(MMKIT_EINVAL, mmkit_pagetable_map(pt, half, 0x8000, 4096, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(pt, up_first - 4096, 0x8000, 4096, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(pt, low_last, 0x8000, 8192, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(pt, top, 0x8000, 8192, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(pt, 0, 0x8000, UINT64_MAX - 4095, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(pt, 0x10000, 0x8000, 0, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EALIGN, mmkit_pagetable_map(pt, 0x10000, 0x8000, 100, MMKIT_PTE_RW, NULL));
        ST(MMKIT_ERANGE, mmkit_pagetable_map(pt, 0x10000, ((uint64_t)1 << 40) - 4096, 8192,
                                             MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_translate(pt, half, &pa, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_translate(pt, up_first - 1, &pa, NULL, NULL));
        ST(MMKIT_ENOENT, mmkit_pagetable_translate(pt, low_last - 4096, &pa, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_unmap(pt, low_last, 8192, NULL, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_protect(pt, half, 4096, MMKIT_PTE_READ, NULL));
        OK(mmkit_pagetable_check(pt));
        /* protect / unmap over holes: unmapped pages are skipped */
        OK(mmkit_pagetable_protect(pt, up_first, 64 * 4096, MMKIT_PTE_RW, NULL));
        OK(mmkit_pagetable_translate(pt, up_first, &pa, &fl, NULL));
        assert_true(pa == 0x6000 && (fl & MMKIT_PTE_WRITE));
        OK(mmkit_pagetable_unmap(pt, up_first, 1u << 21, NULL, NULL, NULL));
        ST(MMKIT_ENOENT, mmkit_pagetable_translate(pt, up_first, &pa, NULL, NULL));
        /* a 1 GiB leaf: translate in the middle, split by one page of protect and unmap */
        OK(mmkit_pagetable_map(pt, 4 * g1, 3 * g1, g1, MMKIT_PTE_RW, NULL));
        OK(mmkit_pagetable_translate(pt, 4 * g1 + 0x12345678, &pa, NULL, &size));
        assert_true(pa == 3 * g1 + 0x12345678 && size == g1);
        a0 = cp.allocs;
        OK(mmkit_pagetable_protect(pt, 4 * g1 + 0x20001000, 4096, MMKIT_PTE_READ, NULL));
        assert_true(cp.allocs - a0 <= 2 * (fm[i].levels - 1) && cp.allocs - a0 >= 2);
        OK(mmkit_pagetable_translate(pt, 4 * g1 + 0x20001000, &pa, &fl, &size));
        assert_true(pa == 3 * g1 + 0x20001000 && size == 4096 && !(fl & MMKIT_PTE_WRITE));
        OK(mmkit_pagetable_translate(pt, 4 * g1 + 0x20002000, &pa, &fl, &size));
        assert_true(pa == 3 * g1 + 0x20002000 && size == 4096 && (fl & MMKIT_PTE_WRITE));
        OK(mmkit_pagetable_translate(pt, 4 * g1 + 0x30000000, &pa, &fl, &size));
        assert_true(pa == 3 * g1 + 0x30000000 && size == (2u << 20) && (fl & MMKIT_PTE_WRITE));
        OK(mmkit_pagetable_unmap(pt, 4 * g1 + 0x3ff00000, 4096, NULL, NULL, NULL));
        ST(MMKIT_ENOENT, mmkit_pagetable_translate(pt, 4 * g1 + 0x3ff00000, &pa, NULL, NULL));
        OK(mmkit_pagetable_translate(pt, 4 * g1 + 0x3ff01000, &pa, NULL, NULL));
        assert_true(pa == 3 * g1 + 0x3ff01000);
        OK(mmkit_pagetable_check(pt));
        /* a 2 MiB-aligned va over a pa off by one page: 4 KiB leaves only */
        OK(mmkit_pagetable_map(pt, 16 * g1, 0x201000, 4u << 20, MMKIT_PTE_RW, NULL));
        OK(mmkit_pagetable_translate(pt, 16 * g1 + 0x100000, &pa, NULL, &size));
        assert_true(pa == 0x301000 && size == 4096);
        ST(MMKIT_EEXIST, mmkit_pagetable_map(pt, 16 * g1 + (4u << 20) - 4096, 0, 8192,
                                             MMKIT_PTE_RW, NULL));
        ST(MMKIT_ENOENT, mmkit_pagetable_translate(pt, 16 * g1 + (4u << 20), &pa, NULL, NULL));
        OK(mmkit_pagetable_check(pt));
        OK(mmkit_pagetable_destroy(pt, NULL, NULL));
        assert_true(cp.allocs == cp.frees);
        assert_true(c2_buddy_free(b) == free0);
    }
    OK(mmkit_buddy_check(b));
    free(b), free(pt);
    arena_free();
}

#define CONTRACT4_PAGETABLE_TESTS cmocka_unit_test(c4_pt_address_space_edges),
