/* contract tests, round 4: the ASID allocator at its smallest (asid_bits 2: ASIDs 1..3, so
 * every third new mm rolls the generation over) and its desc limits. */
static void c4_tlb_asid_tiny(void **state) {
    mmkit_tlb_asid *a = (mmkit_tlb_asid *)calloc(1, sizeof *a);
    mmkit_tlb_asid_desc d;
    mmkit_tlb_asid_result r;
    mmkit_tlb_asid_stats s;
    uint64_t ctx[10], mem[64];
    size_t bytes;
    int i;
    (void)state;
    memset(&d, 0, sizeof d);
    d.asid_bits = 1, d.ncpus = 1;
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &bytes));
    d.asid_bits = 17;
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &bytes));
    d.asid_bits = 2, d.ncpus = 3; /* "1 .. 2^asid_bits - 2" */
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &bytes));
    d.ncpus = 0;
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &bytes));
    d.ncpus = 2;
    OK(mmkit_tlb_asid_mem_size(&d, &bytes));
    assert_true(bytes <= sizeof mem);
    d.mem = mem, d.mem_size = bytes;
    OK(mmkit_tlb_asid_init(a, &d));
    memset(ctx, 0, sizeof ctx);
    ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(a, 2, &ctx[0], &r)); /* cpu >= ncpus */
    ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(a, 0, NULL, &r));
    ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(a, 0, &ctx[0], NULL));
    for (i = 0; i < 300; i++) {
        int m = (i * 7) % 10;
        uint32_t cpu = (uint32_t)(i & 1);
        OK(mmkit_tlb_asid_switch(a, cpu, &ctx[m], &r));
        assert_true(r.asid >= 1 && r.asid <= 3); /* ASID 0 never handed out */
        OK(mmkit_tlb_asid_switch(a, cpu, &ctx[m], &r)); /* again at once: same ASID, no flush */
        assert_true(r.asid >= 1 && r.asid <= 3 && !r.flush);
    }
    OK(mmkit_tlb_asid_stats_get(a, &s));
    assert_true(s.rollovers > 0 && s.generation == 1 + s.rollovers);
    assert_true(s.allocations >= 300);
    OK(mmkit_tlb_asid_check(a));
    free(a);
}
#define CONTRACT4_TLB_TESTS cmocka_unit_test(c4_tlb_asid_tiny),
