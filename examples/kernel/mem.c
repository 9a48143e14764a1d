/* mem.c - physical memory: a frame map and a buddy over the firmware's RAM ranges (the image,
 * the firmware's reservations and the boot blob kept out), a per-CPU front in front of the
 * buddy for every order-0 frame, slab caches for the core's objects, and the user-frame budget
 * (the provider the OOM policy guards). */
#include "kernel.h"

kmem mem;

void *phys_to_virt(mmkit_paddr pa) { return (void *)(uintptr_t)pa; } /* identity map */

static void *p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    return phys_to_virt(pa);
}

frame_info *frame_of(mmkit_paddr pa, uint64_t *index) {
    uint64_t i;
    if (mmkit_frame_map_index(&mem.fmap, mmkit_paddr_to_pfn(pa), &i) != MMKIT_OK) return NULL;
    if (index) *index = i;
    return &mem.frames[i];
}

void *mem_boot_alloc(uint64_t bytes) {
    mmkit_paddr pa;
    uint64_t n = (bytes + PAGE - 1) / PAGE;
    mmkit_status st = mmkit_buddy_alloc_exact(&mem.buddy, n ? n : 1, MMKIT_ALLOC_ZERO, &pa);
    if (st != MMKIT_OK) kpanic("boot allocation", bytes);
    return phys_to_virt(pa);
}

/* ---- the user-frame budget: the front, refusing beyond kcfg.budget ---- */
static mmkit_status budget_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    uint64_t n = mmkit_order_frames(order);
    mmkit_status st;
    (void)ctx;
    if (mem.user_used + n > kcfg.budget) return MMKIT_ENOMEM;
    st = mmkit_buddy_cpu_alloc(&mem.front, order, flags & ~MMKIT_ALLOC_NORECLAIM, pa);
    if (st != MMKIT_OK) return st;
    mem.user_used += n;
    if (mem.user_used > mem.user_peak) mem.user_peak = mem.user_used;
    return MMKIT_OK;
}

static mmkit_status budget_free(void *ctx, mmkit_paddr pa, unsigned order) {
    mmkit_status st;
    (void)ctx;
    st = mmkit_buddy_cpu_free(&mem.front, pa, order);
    if (st == MMKIT_OK) mem.user_used -= mmkit_order_frames(order);
    return st;
}

static void cache(mmkit_slab_cache *c, const char *name, size_t size) {
    mmkit_slab_cache_desc d;
    mmkit_status st;
    memset(&d, 0, sizeof d);
    d.name = name;
    d.size = size;
    d.align = 16;
    d.provider = mem.kprov;
    if ((st = mmkit_slab_init(c, &d)) != MMKIT_OK) {
        kprintf("FAIL slab cache %s: %s\n", name, mmkit_status_str(st));
        kpanic("mmkit_slab_init", st);
    }
}

static void put_range(const char *what, const mmkit_range *r, const char *note) {
    kprintf("  %s 0x%lx-0x%lx (%lu KiB) %s\n", what, r->base, r->base + r->size, r->size >> 10, note);
}

void mem_init(const arch_boot_info *boot) {
    mmkit_range rsv[48];
    size_t nrsv = 0, i, bytes = 0;
    mmkit_frame_map_desc fd;
    mmkit_buddy_desc bd;
    mmkit_buddy_cpu_desc cd;
    mmkit_buddy_stats bs;
    mmkit_status st;
    uint64_t k;

    kprintf("memory map (%lu RAM range%s, %lu reserved)\n", (uint64_t)boot->ram_count,
            boot->ram_count == 1 ? "" : "s", (uint64_t)boot->reserved_count + 1);
    for (i = 0; i < boot->ram_count; i++) put_range("ram", &boot->ram[i], "");
    rsv[nrsv].base = boot->kernel_start;
    rsv[nrsv].size = boot->kernel_end - boot->kernel_start;
    put_range("reserved", &rsv[nrsv], "kernel image");
    nrsv++;
    if (boot->reserved_count >= sizeof rsv / sizeof rsv[0])
        kpanic("too many reserved ranges", boot->reserved_count);
    for (i = 0; i < boot->reserved_count; i++) {
        rsv[nrsv] = boot->reserved[i];
        put_range("reserved", &rsv[nrsv], "firmware / boot blob");
        nrsv++;
    }

    memset(&fd, 0, sizeof fd);
    fd.ram = boot->ram;
    fd.ram_count = boot->ram_count;
    fd.mem = mem.fmap_mem;
    fd.mem_size = sizeof mem.fmap_mem;
    if ((st = mmkit_frame_map_init(&mem.fmap, &fd)) != MMKIT_OK) kpanic("mmkit_frame_map_init", st);
    mem.nframes = mmkit_frame_map_count(&mem.fmap);

    memset(&bd, 0, sizeof bd);
    bd.ram = boot->ram;
    bd.ram_count = boot->ram_count;
    bd.reserved = rsv;
    bd.reserved_count = nrsv;
    bd.max_order = 14; /* 64 MiB blocks: mem_boot_alloc's per-frame tables for a few GiB */
    bd.mem = NULL; /* carved from RAM through phys_to_virt */
    bd.phys_to_virt = p2v;
    if ((st = mmkit_buddy_mem_size(&bd, &bytes)) != MMKIT_OK) kpanic("mmkit_buddy_mem_size", st);
    if ((st = mmkit_buddy_init(&mem.buddy, &bd)) != MMKIT_OK) {
        kprintf("FAIL mmkit_buddy_init: %s\n", mmkit_status_str(st));
        kpanic("mmkit_buddy_init", st);
    }
    memset(&cd, 0, sizeof cd);
    cd.buddy = &mem.buddy;
    cd.batch = 16;
    if ((st = mmkit_buddy_cpu_init(&mem.front, &cd)) != MMKIT_OK) kpanic("mmkit_buddy_cpu_init", st);
    mem.kprov = mmkit_buddy_cpu_provider(&mem.front);

    mem.frames = mem_boot_alloc(mem.nframes * sizeof(frame_info));
    for (k = 0; k < mem.nframes; k++) {
        mem.frames[k].owner = MMKIT_OOM_NONE;
        mem.frames[k].task = NO_TASK;
        mem.frames[k].slot = NO_TASK;
    }
    cache(&mem.task_cache, "task", (sizeof(task) + arch_frame_size() + 15u) & ~(size_t)15u);
    cache(&mem.space_cache, "space", sizeof(kspace));
    cache(&mem.region_cache, "regions", sizeof(mmkit_cow_region) * MAX_REGIONS);
    cache(&mem.swapent_cache, "swapent", sizeof(swapent));

    mem.budget_prov.alloc = budget_alloc;
    mem.budget_prov.free = budget_free;
    mem.budget_prov.phys_to_virt = p2v;
    mem.budget_prov.ctx = NULL;

    mmkit_buddy_stats_get(&mem.buddy, &bs);
    kprintf("buddy: %lu frames managed, %lu free, %lu reserved, metadata %lu bytes; front batch %u\n",
            bs.total_frames, bs.free_frames, bs.reserved_frames, bs.meta_bytes, cd.batch);
}

int mem_check(void) {
    mmkit_status st;
    int bad = 0;
    if ((st = mmkit_buddy_check(&mem.buddy)) != MMKIT_OK) {
        kprintf("  mmkit_buddy_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
    if ((st = mmkit_frame_map_check(&mem.fmap)) != MMKIT_OK) {
        kprintf("  mmkit_frame_map_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
    if ((st = mmkit_slab_check(&mem.task_cache)) != MMKIT_OK ||
        (st = mmkit_slab_check(&mem.space_cache)) != MMKIT_OK ||
        (st = mmkit_slab_check(&mem.region_cache)) != MMKIT_OK ||
        (st = mmkit_slab_check(&mem.swapent_cache)) != MMKIT_OK) {
        kprintf("  mmkit_slab_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
    return bad ? -1 : 0;
}
