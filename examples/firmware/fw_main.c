/* fw_main.c - the firmware proper, and the one translation unit that vendors mmkit.
 *
 * mmkit_buddy.h and mmkit_slab.h are compiled here with MMKIT_STATIC (every mmkit function is
 * static to this file, so the linker sees no mmkit symbol and the compiler drops what is not
 * used) and MMKIT_IMPLEMENTATION. The platform code hands over the memory map it found; this
 * file reserves what must not be handed out, builds a buddy over the rest, keeps the
 * firmware's device descriptors in a slab cache on that buddy, exercises both (with the
 * refusals a firmware relies on: double frees, foreign and misaligned addresses) and checks
 * every invariant. Each check prints `ok <name>` or `FAIL <name>: ...`; the verdict line is
 * `MMKIT-FIRMWARE: PASS n/n` or `MMKIT-FIRMWARE: FAIL f/n`.
 *
 * Physical = virtual: the firmware runs without paging (RISC-V M-mode, x86 32-bit protected
 * mode), so phys_to_virt is the identity below the platform's addr_limit. Frame 0 maps to the
 * NULL pointer, which every mmkit provider user reads as "cannot map": the x86 platform
 * reserves it (RISC-V virt has no RAM there). */
#define MMKIT_STATIC
#define MMKIT_IMPLEMENTATION
#define MMKIT_BUDDY_MAX_REGIONS 16 /* a firmware map has a handful of ranges: 16 * 24 B */
/* a small machine: slabs of the smallest order the waste rules allow (mmkit_slab.h
 * CONFIGURATION), so the 1016 descriptors of slab_packed span several slabs */
#define MMKIT_SLAB_SMALL_SHIFT 12
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>

#include "fw.h"

/* ---- checks ------------------------------------------------------------------------------ */

static unsigned fw_oks, fw_fails;

static bool fw_check(const char *name, bool cond, const char *what, uint64_t got, uint64_t want) {
    if (cond) {
        fw_oks++;
        kputs("ok ");
        kline(name);
        return true;
    }
    fw_fails++;
    kputs("FAIL ");
    kputs(name);
    kputs(": ");
    kputs(what);
    kputs(" (got ");
    kput_hex(got);
    kputs(", want ");
    kput_hex(want);
    kline(")");
    return false;
}

/* A status check: prints the status name on failure. */
static bool fw_check_st(const char *name, mmkit_status got, mmkit_status want) {
    if (got == want) return fw_check(name, true, "", 0, 0);
    kputs("  (");
    kputs(mmkit_status_str(got));
    kputs(" where ");
    kputs(mmkit_status_str(want));
    kline(" was wanted)");
    return fw_check(name, false, "status", (uint64_t)got, (uint64_t)want);
}

static void fw_range_line(const char *tag, uint64_t base, uint64_t size, const char *what) {
    kputs("  ");
    kputs(tag);
    kputc(' ');
    kput_hex(base);
    kputc('-');
    kput_hex(base + size);
    kputs(" (");
    kput_dec(size >> 10);
    kputs(" KiB)");
    if (what) {
        kputc(' ');
        kputs(what);
    }
    kputc('\n');
}

/* ---- memory ------------------------------------------------------------------------------- */

static void *fw_phys_to_virt(void *ctx, mmkit_paddr pa) {
    const fw_platform *p = (const fw_platform *)ctx;
    if (pa == 0 || pa >= p->addr_limit) return NULL;
    return (void *)(uintptr_t)pa;
}

static mmkit_buddy fw_buddy;
static mmkit_range fw_ram[FW_MAX_RAM], fw_rsv[FW_MAX_RSV];

/* true when [pa, pa + bytes) lies in RAM and touches no reserved range */
static bool fw_usable(const fw_platform *p, uint64_t pa, uint64_t bytes) {
    bool in_ram = false;
    size_t i;
    for (i = 0; i < p->ram_count; i++)
        if (pa >= p->ram[i].base && pa + bytes <= p->ram[i].base + p->ram[i].size) in_ram = true;
    for (i = 0; i < p->rsv_count; i++)
        if (pa < p->rsv[i].base + p->rsv[i].size && p->rsv[i].base < pa + bytes) return false;
    return in_ram;
}

/* First frame above all RAM (page aligned). */
static uint64_t fw_ram_end(const fw_platform *p) {
    uint64_t end = 0;
    size_t i;
    for (i = 0; i < p->ram_count; i++)
        if (p->ram[i].base + p->ram[i].size > end) end = p->ram[i].base + p->ram[i].size;
    return mmkit_align_up(end, MMKIT_PAGE_SIZE);
}

/* Frames allocated in the exercise, each stamped with its own address at both ends. */
#define FW_NFRAMES 64
static mmkit_paddr fw_frames[FW_NFRAMES];

static void fw_buddy_exercise(const fw_platform *p, uint64_t free0) {
    mmkit_buddy_stats s;
    mmkit_paddr dma = 0, log = 0;
    bool inside = true, intact = true, zeroed = true;
    size_t i;
    uint64_t j;
    mmkit_status st;

    /* 64 single frames at once (all or nothing), each stamped with its address */
    st = mmkit_buddy_alloc_bulk(&fw_buddy, 0, FW_NFRAMES, fw_frames);
    if (!fw_check_st("buddy_alloc_bulk", st, MMKIT_OK)) return;
    for (i = 0; i < FW_NFRAMES; i++) {
        uint64_t *v = (uint64_t *)fw_phys_to_virt((void *)(uintptr_t)p, fw_frames[i]);
        if (!fw_usable(p, fw_frames[i], MMKIT_PAGE_SIZE) || !v) {
            inside = false;
            continue;
        }
        v[0] = fw_frames[i];
        v[MMKIT_PAGE_SIZE / 8 - 1] = ~fw_frames[i];
    }
    /* a 64 KiB buffer for a DMA engine that sees 32 address bits, zeroed by the buddy */
    st = mmkit_buddy_alloc(&fw_buddy, 4, MMKIT_ALLOC_DMA32 | MMKIT_ALLOC_ZERO, &dma);
    fw_check_st("buddy_alloc_dma32", st, MMKIT_OK);
    if (st == MMKIT_OK) {
        const uint64_t *v = (const uint64_t *)(uintptr_t)dma;
        inside = inside && fw_usable(p, dma, 16 * MMKIT_PAGE_SIZE);
        fw_check("dma32_block", dma + 16 * MMKIT_PAGE_SIZE <= ((uint64_t)1 << 32) &&
                                    mmkit_is_aligned(dma, 16 * MMKIT_PAGE_SIZE),
                 "block below 4 GiB and 64 KiB aligned", dma, 0);
        for (j = 0; j < 16 * MMKIT_PAGE_SIZE / 8; j++) zeroed = zeroed && v[j] == 0;
        fw_check("dma32_zeroed", zeroed, "MMKIT_ALLOC_ZERO left a non-zero word", 0, 0);
    }
    /* exactly 5 frames for a boot log: no power-of-two rounding kept */
    st = mmkit_buddy_alloc_exact(&fw_buddy, 5, 0, &log);
    fw_check_st("buddy_alloc_exact", st, MMKIT_OK);
    if (st == MMKIT_OK) inside = inside && fw_usable(p, log, 5 * MMKIT_PAGE_SIZE);
    fw_check("allocations_in_free_ram", inside,
             "an allocation overlaps a reservation or leaves RAM", 0, 0);
    for (i = 0; i < FW_NFRAMES; i++) {
        const uint64_t *v = (const uint64_t *)(uintptr_t)fw_frames[i];
        intact = intact && v[0] == fw_frames[i] && v[MMKIT_PAGE_SIZE / 8 - 1] == ~fw_frames[i];
    }
    fw_check("frames_disjoint", intact, "a stamp was overwritten by another allocation", 0, 0);
    fw_check_st("buddy_check_busy", mmkit_buddy_check(&fw_buddy), MMKIT_OK);

    /* give everything back; then the refusals a firmware relies on */
    st = MMKIT_OK;
    for (i = 0; i < FW_NFRAMES && st == MMKIT_OK; i++)
        st = mmkit_buddy_free(&fw_buddy, fw_frames[i], 0);
    if (st == MMKIT_OK && dma) st = mmkit_buddy_free(&fw_buddy, dma, 4);
    if (st == MMKIT_OK && log) st = mmkit_buddy_free_range(&fw_buddy, log, 5);
    fw_check_st("buddy_free_all", st, MMKIT_OK);
    fw_check_st("refuse_double_free", mmkit_buddy_free(&fw_buddy, fw_frames[0], 0),
                MMKIT_EDOUBLE);
    fw_check_st("refuse_misaligned_free",
                mmkit_buddy_free(&fw_buddy, fw_frames[1] + 8, 0), MMKIT_EALIGN);
    fw_check_st("refuse_outside_ram", mmkit_buddy_free(&fw_buddy, fw_ram_end(p), 0),
                MMKIT_ERANGE);
    mmkit_buddy_stats_get(&fw_buddy, &s);
    fw_check("buddy_frames_back", s.free_frames == free0, "free frames after the frees",
             s.free_frames, free0);
}

/* Take every free frame, largest blocks first: the buddy must hand out exactly the frames it
 * counts as free, none of them in the image (checked against the linker's symbols, not the
 * platform's list) or a reservation, then refuse with ENOMEM; then everything goes back. */
#define FW_NDRAIN 512
static mmkit_paddr fw_drain_pa[FW_NDRAIN];
static unsigned char fw_drain_order[FW_NDRAIN];

static void fw_buddy_drain(const fw_platform *p, uint64_t free0) {
    uint64_t got = 0, img0 = (uintptr_t)__image_start, img1 = (uintptr_t)__image_end;
    mmkit_paddr pa;
    mmkit_buddy_stats s;
    size_t n = 0, i;
    bool clean = true;
    unsigned o;
    mmkit_status st = MMKIT_OK;
    mmkit_buddy_stats_get(&fw_buddy, &s);
    for (o = s.max_order + 1; o-- > 0 && n < FW_NDRAIN;) {
        while (n < FW_NDRAIN && mmkit_buddy_alloc(&fw_buddy, o, 0, &pa) == MMKIT_OK) {
            uint64_t bytes = mmkit_order_bytes(o);
            if (!fw_usable(p, pa, bytes) || (pa < img1 && img0 < pa + bytes)) clean = false;
            fw_drain_pa[n] = pa;
            fw_drain_order[n++] = (unsigned char)o;
            got += mmkit_order_frames(o);
        }
    }
    fw_check("buddy_drain", n < FW_NDRAIN && clean && got == free0,
             "frames handed out when draining (all outside the image and reservations)", got,
             free0);
    fw_check_st("buddy_empty_enomem", mmkit_buddy_alloc(&fw_buddy, 0, 0, &pa), MMKIT_ENOMEM);
    for (i = 0; i < n && st == MMKIT_OK; i++)
        st = mmkit_buddy_free(&fw_buddy, fw_drain_pa[i], fw_drain_order[i]);
    mmkit_buddy_stats_get(&fw_buddy, &s);
    fw_check("buddy_drain_back", st == MMKIT_OK && s.free_frames == free0,
             "free frames after giving the drain back", s.free_frames, free0);
}

/* ---- device descriptors in a slab cache ------------------------------------------------------ */

typedef struct fw_device {
    struct fw_device *next;
    const char *name;
    uint64_t base, size;
    uint32_t id, flags;
} fw_device;

static mmkit_slab_cache fw_devcache;
#define FW_NPOOL 1000 /* descriptors of a hot-plug storm: enough to need several slabs */
static fw_device *fw_pool[FW_NPOOL];

static void fw_slab_exercise(const fw_platform *p, uint64_t free0) {
    mmkit_slab_cache_desc d;
    mmkit_slab_stats s;
    mmkit_buddy_stats bs;
    fw_device *head = NULL, **tail = &head, *dv;
    uint64_t in_use = 0, want_slabs;
    bool inside = true, intact = true;
    size_t i, n = 0;
    mmkit_status st;

    MMKIT_MEMSET(&d, 0, sizeof d);
    d.name = "fw_device";
    d.size = sizeof(fw_device);
    d.provider = mmkit_buddy_provider(&fw_buddy);
    if (!fw_check_st("slab_init", mmkit_slab_init(&fw_devcache, &d), MMKIT_OK)) return;

    /* the device table: one descriptor per device the platform reported, in its order */
    for (i = 0; i < p->dev_count; i++) {
        void *o;
        if (mmkit_slab_alloc(&fw_devcache, MMKIT_ALLOC_ZERO, &o) != MMKIT_OK) break;
        dv = (fw_device *)o;
        dv->name = p->dev[i].name;
        dv->base = p->dev[i].base;
        dv->size = p->dev[i].size;
        dv->id = (uint32_t)i;
        *tail = dv;
        tail = &dv->next;
        n++;
    }
    fw_check("device_table", n == p->dev_count && n > 0, "descriptors made", n, p->dev_count);
    kputs("device table (");
    kput_dec(n);
    kputs(" descriptors");
    if (p->dev_dropped) {
        kputs(", ");
        kput_dec(p->dev_dropped);
        kputs(" more not kept");
    }
    kline("):");
    for (dv = head; dv; dv = dv->next) {
        kputs("  dev ");
        kput_dec(dv->id);
        kputc(' ');
        kputs(dv->name);
        kputc(' ');
        kput_hex(dv->base);
        if (dv->size) {
            kputc('+');
            kput_hex(dv->size);
        }
        kputc('\n');
    }

    /* a burst of descriptors: the cache grows slab by slab from the buddy */
    for (i = 0; i < FW_NPOOL; i++) {
        void *o = NULL;
        if ((st = mmkit_slab_alloc(&fw_devcache, 0, &o)) != MMKIT_OK) break;
        fw_pool[i] = (fw_device *)o;
        fw_pool[i]->id = (uint32_t)(1000u + i);
        fw_pool[i]->base = (uintptr_t)o;
        inside = inside && fw_usable(p, (uintptr_t)o, sizeof(fw_device));
    }
    if (!fw_check("slab_alloc_burst", i == FW_NPOOL, "descriptors allocated", i, FW_NPOOL)) return;
    for (i = 0; i < FW_NPOOL; i++)
        intact = intact && fw_pool[i]->id == 1000u + i && fw_pool[i]->base == (uintptr_t)fw_pool[i];
    for (dv = head; dv; dv = dv->next) inside = inside && fw_usable(p, (uintptr_t)dv, sizeof *dv);
    fw_check("objects_in_free_ram", inside, "an object outside free RAM", 0, 0);
    fw_check("objects_disjoint", intact, "a descriptor was overwritten by another", 0, 0);
    mmkit_slab_stats_get(&fw_devcache, &s);
    kputs("slab fw_device: ");
    kput_dec(s.slot_size);
    kputs("-byte slots, ");
    kput_dec(s.objs_per_slab);
    kputs(" per slab of ");
    kput_dec(s.slab_bytes >> 10);
    kputs(" KiB, ");
    kput_dec(s.slabs);
    kputs(" slabs, ");
    kput_dec(s.objects_active);
    kline(" objects in use");
    want_slabs = s.objs_per_slab
                     ? (FW_NPOOL + n + s.objs_per_slab - 1) / s.objs_per_slab /* 32-bit divide */
                     : 0;
    fw_check("slab_packed", s.slabs == want_slabs && s.slabs >= 2 &&
                                s.objects_active == FW_NPOOL + n,
             "slabs in use (partial slabs are filled first)", s.slabs, want_slabs);
    fw_check_st("slab_check_busy", mmkit_slab_check(&fw_devcache), MMKIT_OK);

    /* free the burst in an interleaved order, then the refusals */
    st = MMKIT_OK;
    for (i = 0; i < FW_NPOOL && st == MMKIT_OK; i += 2) st = mmkit_slab_free(&fw_devcache, fw_pool[i]);
    for (i = 1; i < FW_NPOOL && st == MMKIT_OK; i += 2) st = mmkit_slab_free(&fw_devcache, fw_pool[i]);
    fw_check_st("slab_free_burst", st, MMKIT_OK);
    fw_check_st("refuse_slab_double_free", mmkit_slab_free(&fw_devcache, fw_pool[0]),
                MMKIT_EDOUBLE);
    if (head)
        fw_check_st("refuse_interior_pointer",
                    mmkit_slab_free(&fw_devcache, (char *)head + sizeof(void *)), MMKIT_EALIGN);
    fw_check_st("refuse_foreign_pointer", mmkit_slab_free(&fw_devcache, &fw_buddy), MMKIT_EINVAL);
    fw_check_st("slab_check_table", mmkit_slab_check(&fw_devcache), MMKIT_OK);

    /* tear down: the table, then the cache; every frame goes back to the buddy */
    st = MMKIT_OK;
    while (head && st == MMKIT_OK) {
        dv = head;
        head = dv->next;
        st = mmkit_slab_free(&fw_devcache, dv);
    }
    if (st == MMKIT_OK) st = mmkit_slab_destroy(&fw_devcache, &in_use);
    fw_check_st("slab_destroy", st, MMKIT_OK);
    mmkit_buddy_stats_get(&fw_buddy, &bs);
    fw_check("slab_frames_back", bs.free_frames == free0 && in_use == 0,
             "buddy free frames after destroy", bs.free_frames, free0);
}

/* ---- the firmware --------------------------------------------------------------------------- */

static const char fw_main_text[] = "mmkit firmware: "; /* an address in .rodata */

unsigned fw_main(const fw_platform *p) {
    mmkit_buddy_desc d;
    mmkit_buddy_stats s;
    size_t i, need = 0, refused = 0;
    unsigned o;
    uint64_t total = 0;
    mmkit_status st;

    kputs(fw_main_text);
    kline(p->machine);
    kputs("memory map from ");
    kputs(p->map_source);
    kputs(": ");
    kput_dec(p->ram_count);
    kputs(" RAM range(s), ");
    kput_dec(p->rsv_count);
    kline(" reserved");
    for (i = 0; i < p->ram_count; i++) {
        fw_range_line("ram", p->ram[i].base, p->ram[i].size, NULL);
        fw_ram[i].base = p->ram[i].base;
        fw_ram[i].size = p->ram[i].size;
        total += p->ram[i].size;
    }
    for (i = 0; i < p->rsv_count; i++) {
        fw_range_line("reserved", p->rsv[i].base, p->rsv[i].size, p->rsv[i].what);
        fw_rsv[i].base = p->rsv[i].base;
        fw_rsv[i].size = p->rsv[i].size;
    }
    kputs("usable RAM: ");
    kput_dec(total >> 10);
    kline(" KiB");
    /* a reservation that did not fit the table would be handed out: refuse to go on */
    if (!fw_check("memory_map", p->ram_count > 0 && p->rsv_dropped == 0,
                  "RAM ranges / dropped reservations", p->ram_count, p->rsv_dropped))
        return fw_fails;

    MMKIT_MEMSET(&d, 0, sizeof d);
    d.ram = fw_ram;
    d.ram_count = p->ram_count;
    d.reserved = fw_rsv;
    d.reserved_count = p->rsv_count;
    d.phys_to_virt = fw_phys_to_virt; /* metadata is carved from the top of RAM */
    d.ctx = (void *)(uintptr_t)p;
    st = mmkit_buddy_mem_size(&d, &need);
    if (st == MMKIT_OK) st = mmkit_buddy_init(&fw_buddy, &d);
    if (!fw_check_st("buddy_init", st, MMKIT_OK)) return fw_fails;
    mmkit_buddy_stats_get(&fw_buddy, &s);
    kputs("buddy: ");
    kput_dec(s.total_frames);
    kputs(" frames, ");
    kput_dec(s.free_frames);
    kputs(" free, ");
    kput_dec(s.reserved_frames);
    kputs(" reserved (metadata ");
    kput_dec(need);
    kputs(" bytes carved from RAM), ");
    kput_dec(s.regions);
    kputs(" region(s), largest block order ");
    kput_dec((uint64_t)s.largest_free_order);
    kputc('\n');
    fw_check_st("buddy_check_init", mmkit_buddy_check(&fw_buddy), MMKIT_OK);
    /* every reservation that touches RAM must be taken: claiming its first frame is EBUSY */
    for (i = 0; i < p->rsv_count; i++) {
        mmkit_paddr f = mmkit_align_down(p->rsv[i].base, MMKIT_PAGE_SIZE);
        size_t k;
        bool ram = false;
        for (k = 0; k < p->ram_count; k++)
            if (f >= p->ram[k].base && f + MMKIT_PAGE_SIZE <= p->ram[k].base + p->ram[k].size)
                ram = true;
        if (ram && p->rsv[i].size && mmkit_buddy_claim(&fw_buddy, f, 1) != MMKIT_EBUSY) refused++;
    }
    /* whatever the platform listed: the frames this code, its data and its stack live in */
    {
        int on_stack = 0;
        mmkit_paddr img[3];
        img[0] = (uintptr_t)(const void *)fw_main_text;
        img[1] = (uintptr_t)&fw_buddy;
        img[2] = (uintptr_t)&on_stack;
        for (i = 0; i < 3; i++)
            if (mmkit_buddy_claim(&fw_buddy, mmkit_align_down(img[i], MMKIT_PAGE_SIZE), 1) !=
                MMKIT_EBUSY)
                refused++;
    }
    fw_check("reservations_held", refused == 0, "reservations whose first frame was free",
             refused, 0);

    fw_buddy_exercise(p, s.free_frames);
    fw_buddy_drain(p, s.free_frames);
    fw_slab_exercise(p, s.free_frames);
    fw_check_st("buddy_check_end", mmkit_buddy_check(&fw_buddy), MMKIT_OK);

    mmkit_buddy_stats_get(&fw_buddy, &s);
    kputs("buddyinfo:");
    for (o = 0; o <= s.max_order; o++) {
        kputc(' ');
        kput_dec(s.free_blocks[o]);
    }
    kputc('\n');
    kputs(fw_fails ? "MMKIT-FIRMWARE: FAIL " : "MMKIT-FIRMWARE: PASS ");
    kput_dec(fw_fails ? fw_fails : fw_oks);
    kputc('/');
    kput_dec(fw_oks + fw_fails);
    kputc('\n');
    return fw_fails;
}
