/* mmkit_tlb.h rows of the API sweep (tests/test_api_sweep.c).
 * Instance rows take the gather, ASID allocator, PCID slots or soft TLB; init and mem_size
 * rows take the desc (and also check that a NULL instance or a NULL out pointer with a valid
 * desc is refused). A zeroed gather desc and a zeroed PCID desc are valid (all defaults), so
 * their init rows come in two: NULL desc -> EINVAL, zeroed desc -> OK. */

static uint64_t sweep_tlb_mem[512]; /* caller memory for the ASID and soft-TLB descs */

static mmkit_status sweep_tlb_walk(void *ctx, mmkit_vaddr va, uint32_t asid, mmkit_softtlb_walk *w) {
    (void)ctx;
    (void)asid;
    w->pa = va & ~(uint64_t)0xfff;
    w->page_shift = 12;
    return MMKIT_OK;
}
static mmkit_tlb_asid_desc sweep_tlb_asid_desc(void) {
    mmkit_tlb_asid_desc d;
    memset(&d, 0, sizeof d);
    d.asid_bits = 8;
    d.ncpus = 2;
    d.mem = sweep_tlb_mem;
    d.mem_size = sizeof sweep_tlb_mem;
    return d;
}
static mmkit_softtlb_desc sweep_softtlb_desc(void) {
    mmkit_softtlb_desc d;
    memset(&d, 0, sizeof d);
    d.sets = 16;
    d.ways = 2;
    d.translate = sweep_tlb_walk;
    d.mem = sweep_tlb_mem;
    d.mem_size = sizeof sweep_tlb_mem;
    return d;
}
static mmkit_provider sweep_tlb_free_only(void) {
    mmkit_provider p = sweep_provider(); /* never called: nothing is queued */
    return p;
}

/* ---- gather ---- */
static mmkit_status sweep_tlb_gather_init_null(void *p) { /* NULL desc; valid desc, NULL g */
    mmkit_tlb_gather g;
    mmkit_tlb_gather_desc d;
    memset(&d, 0, sizeof d);
    if (p) return MMKIT_EINVAL; /* this row asks only for the NULL form */
    if (mmkit_tlb_gather_init(NULL, &d) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_tlb_gather_init(&g, NULL);
}
static mmkit_status sweep_tlb_gather_init_zeroed(void *p) { /* a zeroed desc: the defaults */
    mmkit_tlb_gather g;
    mmkit_status st;
    if (!p) return MMKIT_OK; /* this row asks only for the zeroed form */
    st = mmkit_tlb_gather_init(&g, (const mmkit_tlb_gather_desc *)p);
    if (st == MMKIT_OK && mmkit_tlb_gather_check(&g) != MMKIT_OK) return MMKIT_ECORRUPT;
    return st;
}
static mmkit_status sweep_tlb_gather_range(void *p) {
    return mmkit_tlb_gather_range((mmkit_tlb_gather *)p, 0x1000, 0x1000, 12, true);
}
static mmkit_status sweep_tlb_gather_tables(void *p) {
    return mmkit_tlb_gather_tables((mmkit_tlb_gather *)p);
}
static mmkit_status sweep_tlb_gather_free_table(void *p) {
    static mmkit_provider prov;
    prov = sweep_tlb_free_only();
    return mmkit_tlb_gather_free_table((mmkit_tlb_gather *)p, &prov, 0x1000);
}
static mmkit_status sweep_tlb_gather_flush(void *p) {
    return mmkit_tlb_gather_flush((mmkit_tlb_gather *)p);
}
static mmkit_status sweep_tlb_gather_peek(void *p) {
    mmkit_tlb_flush f;
    return mmkit_tlb_gather_peek((const mmkit_tlb_gather *)p, &f);
}
static mmkit_status sweep_tlb_gather_stats_get(void *p) {
    mmkit_tlb_gather_stats s;
    return mmkit_tlb_gather_stats_get((const mmkit_tlb_gather *)p, &s);
}
static mmkit_status sweep_tlb_gather_check(void *p) {
    return mmkit_tlb_gather_check((const mmkit_tlb_gather *)p);
}

/* ---- ASID allocator ---- */
static mmkit_status sweep_tlb_asid_mem_size(void *p) {
    mmkit_tlb_asid_desc d = sweep_tlb_asid_desc();
    size_t n = 0;
    if (mmkit_tlb_asid_mem_size(&d, NULL) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_tlb_asid_mem_size((const mmkit_tlb_asid_desc *)p, &n);
}
static mmkit_status sweep_tlb_asid_init(void *p) {
    mmkit_tlb_asid a;
    mmkit_tlb_asid_desc d = sweep_tlb_asid_desc();
    if (mmkit_tlb_asid_init(NULL, &d) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_tlb_asid_init(&a, (const mmkit_tlb_asid_desc *)p);
}
static mmkit_status sweep_tlb_asid_switch(void *p) {
    mmkit_tlb_asid_result r;
    uint64_t ctx = 0;
    return mmkit_tlb_asid_switch((mmkit_tlb_asid *)p, 0, &ctx, &r);
}
static mmkit_status sweep_tlb_asid_stats_get(void *p) {
    mmkit_tlb_asid_stats s;
    return mmkit_tlb_asid_stats_get((const mmkit_tlb_asid *)p, &s);
}
static mmkit_status sweep_tlb_asid_check(void *p) {
    return mmkit_tlb_asid_check((const mmkit_tlb_asid *)p);
}

/* ---- PCID slots ---- */
static mmkit_status sweep_tlb_pcid_cpu_init_null(void *p) {
    mmkit_tlb_pcid_cpu c;
    mmkit_tlb_pcid_cpu_desc d;
    memset(&d, 0, sizeof d);
    if (p) return MMKIT_EINVAL;
    if (mmkit_tlb_pcid_cpu_init(NULL, &d) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_tlb_pcid_cpu_init(&c, NULL);
}
static mmkit_status sweep_tlb_pcid_cpu_init_zeroed(void *p) {
    mmkit_tlb_pcid_cpu c;
    mmkit_status st;
    if (!p) return MMKIT_OK;
    st = mmkit_tlb_pcid_cpu_init(&c, (const mmkit_tlb_pcid_cpu_desc *)p);
    if (st == MMKIT_OK && mmkit_tlb_pcid_check(&c) != MMKIT_OK) return MMKIT_ECORRUPT;
    return st;
}
static mmkit_status sweep_tlb_pcid_switch(void *p) {
    mmkit_tlb_pcid_result r;
    return mmkit_tlb_pcid_switch((mmkit_tlb_pcid_cpu *)p, 7, 1, &r);
}
static mmkit_status sweep_tlb_pcid_flushed(void *p) {
    return mmkit_tlb_pcid_flushed((mmkit_tlb_pcid_cpu *)p, 7, 1);
}
static mmkit_status sweep_tlb_pcid_stats_get(void *p) {
    mmkit_tlb_pcid_stats s;
    return mmkit_tlb_pcid_stats_get((const mmkit_tlb_pcid_cpu *)p, &s);
}
static mmkit_status sweep_tlb_pcid_check(void *p) {
    return mmkit_tlb_pcid_check((const mmkit_tlb_pcid_cpu *)p);
}

/* ---- software TLB ---- */
static mmkit_status sweep_softtlb_mem_size(void *p) {
    mmkit_softtlb_desc d = sweep_softtlb_desc();
    size_t n = 0;
    if (mmkit_softtlb_mem_size(&d, NULL) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_softtlb_mem_size((const mmkit_softtlb_desc *)p, &n);
}
static mmkit_status sweep_softtlb_init(void *p) {
    mmkit_softtlb t;
    mmkit_softtlb_desc d = sweep_softtlb_desc();
    if (mmkit_softtlb_init(NULL, &d) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_softtlb_init(&t, (const mmkit_softtlb_desc *)p);
}
static mmkit_status sweep_softtlb_lookup(void *p) { /* returns a value: NULL is the zero value */
    return mmkit_softtlb_lookup((mmkit_softtlb *)p, 0x1000, 0) ? MMKIT_OK : MMKIT_EINVAL;
}
static mmkit_status sweep_softtlb_translate(void *p) {
    mmkit_paddr pa = 0;
    uint32_t flags = 0;
    return mmkit_softtlb_translate((mmkit_softtlb *)p, 0x1000, 0, &pa, &flags);
}
static mmkit_status sweep_softtlb_invalidate(void *p) {
    return mmkit_softtlb_invalidate((mmkit_softtlb *)p, MMKIT_SOFTTLB_INV_ALL, 0, 0);
}
static mmkit_status sweep_softtlb_invlpg(void *p) {
    return mmkit_softtlb_invlpg((mmkit_softtlb *)p, 0x1000, 0);
}
static mmkit_status sweep_softtlb_invpcid(void *p) {
    return mmkit_softtlb_invpcid((mmkit_softtlb *)p, 1, 0, 0);
}
static mmkit_status sweep_softtlb_sfence_vma(void *p) {
    return mmkit_softtlb_sfence_vma((mmkit_softtlb *)p, false, 0x1000, false, 0);
}
static mmkit_status sweep_softtlb_stats_get(void *p) {
    mmkit_softtlb_stats s;
    return mmkit_softtlb_stats_get((const mmkit_softtlb *)p, &s);
}
static mmkit_status sweep_softtlb_check(void *p) {
    return mmkit_softtlb_check((const mmkit_softtlb *)p);
}

#define SWEEP_TLB(fn, type, expect) {"mmkit_" #fn, sizeof(type), sweep_##fn, expect, NULL}
static const sweep_case sweep_tlb[] = {
    {"mmkit_tlb_gather_init", sizeof(mmkit_tlb_gather_desc), sweep_tlb_gather_init_null,
     MMKIT_EINVAL, NULL},
    {"mmkit_tlb_gather_init", sizeof(mmkit_tlb_gather_desc), sweep_tlb_gather_init_zeroed,
     MMKIT_OK, NULL},
    SWEEP_TLB(tlb_gather_range, mmkit_tlb_gather, MMKIT_EINVAL),
    SWEEP_TLB(tlb_gather_tables, mmkit_tlb_gather, MMKIT_EINVAL),
    SWEEP_TLB(tlb_gather_free_table, mmkit_tlb_gather, MMKIT_EINVAL),
    SWEEP_TLB(tlb_gather_flush, mmkit_tlb_gather, MMKIT_EINVAL),
    SWEEP_TLB(tlb_gather_peek, mmkit_tlb_gather, MMKIT_EINVAL),
    SWEEP_TLB(tlb_gather_stats_get, mmkit_tlb_gather, MMKIT_EINVAL),
    SWEEP_TLB(tlb_gather_check, mmkit_tlb_gather, MMKIT_EINVAL),
    SWEEP_TLB(tlb_asid_mem_size, mmkit_tlb_asid_desc, MMKIT_EINVAL),
    SWEEP_TLB(tlb_asid_init, mmkit_tlb_asid_desc, MMKIT_EINVAL),
    SWEEP_TLB(tlb_asid_switch, mmkit_tlb_asid, MMKIT_EINVAL),
    SWEEP_TLB(tlb_asid_stats_get, mmkit_tlb_asid, MMKIT_EINVAL),
    SWEEP_TLB(tlb_asid_check, mmkit_tlb_asid, MMKIT_EINVAL),
    {"mmkit_tlb_pcid_cpu_init", sizeof(mmkit_tlb_pcid_cpu_desc), sweep_tlb_pcid_cpu_init_null,
     MMKIT_EINVAL, NULL},
    {"mmkit_tlb_pcid_cpu_init", sizeof(mmkit_tlb_pcid_cpu_desc), sweep_tlb_pcid_cpu_init_zeroed,
     MMKIT_OK, NULL},
    SWEEP_TLB(tlb_pcid_switch, mmkit_tlb_pcid_cpu, MMKIT_EINVAL),
    SWEEP_TLB(tlb_pcid_flushed, mmkit_tlb_pcid_cpu, MMKIT_EINVAL),
    SWEEP_TLB(tlb_pcid_stats_get, mmkit_tlb_pcid_cpu, MMKIT_EINVAL),
    SWEEP_TLB(tlb_pcid_check, mmkit_tlb_pcid_cpu, MMKIT_EINVAL),
    SWEEP_TLB(softtlb_mem_size, mmkit_softtlb_desc, MMKIT_EINVAL),
    SWEEP_TLB(softtlb_init, mmkit_softtlb_desc, MMKIT_EINVAL),
    SWEEP_TLB(softtlb_lookup, mmkit_softtlb, MMKIT_EINVAL),
    SWEEP_TLB(softtlb_translate, mmkit_softtlb, MMKIT_EINVAL),
    SWEEP_TLB(softtlb_invalidate, mmkit_softtlb, MMKIT_EINVAL),
    SWEEP_TLB(softtlb_invlpg, mmkit_softtlb, MMKIT_EINVAL),
    SWEEP_TLB(softtlb_invpcid, mmkit_softtlb, MMKIT_EINVAL),
    SWEEP_TLB(softtlb_sfence_vma, mmkit_softtlb, MMKIT_EINVAL),
    SWEEP_TLB(softtlb_stats_get, mmkit_softtlb, MMKIT_EINVAL),
    SWEEP_TLB(softtlb_check, mmkit_softtlb, MMKIT_EINVAL),
};
