/* machine.c - guest-physical memory: an mmap'ed arena split into nodes, one buddy per node,
 * a fallback provider chain (the local node first), per-frame state over an mmkit_frame_map,
 * and the ASCII picture of physical memory. */
#define _DEFAULT_SOURCE
#include "demo.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Guest-physical layout: node n starts at 1 MiB + n * 4 GiB, so there are holes between the
 * nodes (the frame map numbers the RAM frames densely across them). Node 0 keeps its first
 * 64 KiB reserved, like firmware tables. */
#define NODE_STRIDE ((uint64_t)1 << 32)
#define NODE_BASE ((uint64_t)1 << 20)
#define FW_RESERVED ((uint64_t)64 << 10)

void *machine_virt(sim *s, mmkit_paddr pa) {
    uint64_t n = pa / NODE_STRIDE;
    node *nd;
    if (n >= s->nnodes) return NULL;
    nd = &s->nodes[n];
    if (pa < nd->base || pa - nd->base >= nd->size) return NULL;
    return nd->virt + (size_t)(pa - nd->base);
}

static void *p2v(void *ctx, mmkit_paddr pa) { return machine_virt((sim *)ctx, pa); }

frame_info *machine_frame(sim *s, mmkit_paddr pa, uint64_t *index) {
    uint64_t i;
    if (mmkit_frame_map_index(&s->fmap, mmkit_paddr_to_pfn(pa), &i) != MMKIT_OK) return NULL;
    if (index) *index = i;
    return &s->frames[i];
}

static void tag(sim *s, mmkit_paddr pa, unsigned order, frame_kind k, unsigned nd) {
    uint64_t n = mmkit_order_frames(order), j, i;
    if (mmkit_frame_map_index(&s->fmap, mmkit_paddr_to_pfn(pa), &i) != MMKIT_OK) return;
    for (j = 0; j < n && i + j < s->nframes; j++) {
        frame_info *f = &s->frames[i + j];
        f->kind = (uint8_t)k;
        f->node = (uint8_t)nd;
        f->owner = DEMO_NONE;
        f->rpid = DEMO_NONE;
        f->rva = 0;
        f->in_lru = 0;
    }
}

/* The chain: the current vCPU's node first, then the others in order of distance (n+1, n+2,
 * ... wrapping), as a NUMA kernel's zonelist falls back. */
static mmkit_status chain_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    sim *s = ctx;
    unsigned k;
    mmkit_status st = MMKIT_ENOMEM;
    for (k = 0; k < s->nnodes; k++) {
        unsigned n = (s->cur_node + k) % s->nnodes;
        st = mmkit_buddy_alloc(&s->nodes[n].buddy, order, flags & ~MMKIT_ALLOC_NORECLAIM, pa);
        if (st == MMKIT_OK) {
            if (k == 0) s->nodes[s->cur_node].local_allocs += mmkit_order_frames(order);
            else s->nodes[s->cur_node].remote_allocs += mmkit_order_frames(order);
            tag(s, *pa, order, FK_KERNEL, n);
            return MMKIT_OK;
        }
        if (st != MMKIT_ENOMEM) return st;
    }
    return st;
}

static mmkit_status chain_free(void *ctx, mmkit_paddr pa, unsigned order) {
    sim *s = ctx;
    uint64_t n = pa / NODE_STRIDE;
    mmkit_status st;
    if (n >= s->nnodes) return MMKIT_ERANGE;
    st = mmkit_buddy_free(&s->nodes[n].buddy, pa, order);
    if (st == MMKIT_OK) tag(s, pa, order, FK_FREE, (unsigned)n);
    return st;
}

static mmkit_status typed_alloc(sim *s, frame_kind k, unsigned order, uint32_t flags,
                                mmkit_paddr *pa) {
    mmkit_status st = chain_alloc(s, order, flags, pa);
    if (st == MMKIT_OK) {
        uint64_t i, j;
        if (mmkit_frame_map_index(&s->fmap, mmkit_paddr_to_pfn(*pa), &i) == MMKIT_OK)
            for (j = 0; j < mmkit_order_frames(order); j++) s->frames[i + j].kind = (uint8_t)k;
    }
    return st;
}
static mmkit_status pt_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    return typed_alloc(ctx, FK_TABLE, order, flags, pa);
}
static mmkit_status slab_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    return typed_alloc(ctx, FK_SLAB, order, flags, pa);
}

uint64_t machine_free_frames(sim *s) {
    uint64_t f = 0;
    unsigned n;
    for (n = 0; n < s->nnodes; n++) {
        mmkit_buddy_stats st;
        if (mmkit_buddy_stats_get(&s->nodes[n].buddy, &st) == MMKIT_OK) f += st.free_frames;
    }
    return f;
}

uint64_t machine_total_frames(sim *s) { return s->nframes; }

int machine_init(sim *s) {
    uint64_t per = s->opt.mem / s->nnodes, total, align = (uint64_t)4 << 20;
    mmkit_range ram[DEMO_MAX_NODES];
    mmkit_frame_map_desc fd;
    size_t bytes;
    unsigned n;
    uint8_t *base;
    mmkit_status st;

    per &= ~(uint64_t)((256u << 10) - 1); /* 256 KiB granules keep slab blocks aligned */
    if (per < ((uint64_t)1 << 20)) {
        fprintf(stderr, "demo: --mem must give every node at least 1 MiB\n");
        return -1;
    }
    total = per * s->nnodes;
    s->arena_map_size = (size_t)(total + align);
    s->arena_map = mmap(NULL, s->arena_map_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->arena_map == MAP_FAILED) {
        s->arena_map = NULL;
        perror("demo: mmap");
        return -1;
    }
    base = (uint8_t *)(((uintptr_t)s->arena_map + (align - 1)) & ~(uintptr_t)(align - 1));
    for (n = 0; n < s->nnodes; n++) {
        node *nd = &s->nodes[n];
        mmkit_buddy_desc d;
        mmkit_range rsv = {NODE_BASE, FW_RESERVED};
        nd->base = NODE_BASE + n * NODE_STRIDE;
        nd->size = per;
        nd->virt = base + (size_t)(n * per);
        ram[n].base = nd->base;
        ram[n].size = nd->size;
        memset(&d, 0, sizeof d);
        d.ram = &ram[n];
        d.ram_count = 1;
        if (n == 0) {
            d.reserved = &rsv;
            d.reserved_count = 1;
        }
        d.phys_to_virt = p2v;
        d.ctx = s;
        if ((st = mmkit_buddy_mem_size(&d, &bytes)) != MMKIT_OK) goto fail;
        nd->meta = calloc(1, bytes ? bytes : 8);
        if (!nd->meta) return -1;
        d.mem = nd->meta;
        d.mem_size = bytes;
        if ((st = mmkit_buddy_init(&nd->buddy, &d)) != MMKIT_OK) goto fail;
    }
    memset(&fd, 0, sizeof fd);
    fd.ram = ram;
    fd.ram_count = s->nnodes;
    if ((st = mmkit_frame_map_mem_size(&fd, &bytes)) != MMKIT_OK) goto fail;
    s->fmap_mem = calloc(1, bytes);
    if (!s->fmap_mem) return -1;
    fd.mem = s->fmap_mem;
    fd.mem_size = bytes;
    if ((st = mmkit_frame_map_init(&s->fmap, &fd)) != MMKIT_OK) goto fail;
    s->nframes = mmkit_frame_map_count(&s->fmap);
    s->frames = calloc((size_t)s->nframes, sizeof *s->frames);
    if (!s->frames) return -1;
    {
        uint64_t i, j;
        for (i = 0; i < s->nframes; i++) {
            mmkit_pfn pfn;
            mmkit_frame_map_pfn(&s->fmap, i, &pfn);
            s->frames[i].kind = FK_FREE;
            s->frames[i].node = (uint8_t)(mmkit_pfn_to_paddr(pfn) / NODE_STRIDE);
            s->frames[i].owner = DEMO_NONE;
            s->frames[i].rpid = DEMO_NONE;
        }
        mmkit_frame_map_index(&s->fmap, mmkit_paddr_to_pfn(NODE_BASE), &i);
        for (j = 0; j < FW_RESERVED / DEMO_PAGE; j++) s->frames[i + j].kind = FK_RESERVED;
    }
    s->chain.alloc = chain_alloc;
    s->chain.free = chain_free;
    s->chain.phys_to_virt = p2v;
    s->chain.ctx = s;
    s->pt_prov = s->chain;
    s->pt_prov.alloc = pt_alloc;
    s->slab_prov = s->chain;
    s->slab_prov.alloc = slab_alloc;
    return 0;
fail:
    fprintf(stderr, "demo: machine setup: %s\n", mmkit_status_str(st));
    return -1;
}

void machine_fini(sim *s) {
    unsigned n;
    for (n = 0; n < s->nnodes; n++) free(s->nodes[n].meta);
    free(s->frames);
    free(s->fmap_mem);
    if (s->arena_map) munmap(s->arena_map, s->arena_map_size);
}

static const char kind_char[FK_COUNT] = {'.', 'R', 'P', 'S', 'U', 'K'};

/* Per node: buddyinfo (free blocks per order) and a map of its frames, each character one
 * cell of frames: '.' all free, the letter of the most common use, lower case when fewer than
 * half of the cell's frames are in use. */
void machine_picture(sim *s, FILE *f, const char *title) {
    enum { COLS = 64, ROWS = 4 };
    unsigned n;
    fprintf(f, "\n== physical memory %s ==\n", title);
    for (n = 0; n < s->nnodes; n++) {
        node *nd = &s->nodes[n];
        mmkit_buddy_stats st;
        uint64_t first, frames = nd->size / DEMO_PAGE, cell, c, cells;
        unsigned o;
        mmkit_buddy_stats_get(&nd->buddy, &st);
        fprintf(f, "node %u  guest-physical [%#llx, %#llx)  free %llu of %llu frames\n", n,
                (unsigned long long)nd->base, (unsigned long long)(nd->base + nd->size),
                (unsigned long long)st.free_frames, (unsigned long long)st.total_frames);
        fprintf(f, "  order     ");
        for (o = 0; o <= st.max_order; o++) fprintf(f, "%5u", o);
        fprintf(f, "\n  free blks ");
        for (o = 0; o <= st.max_order; o++)
            fprintf(f, "%5llu", (unsigned long long)st.free_blocks[o]);
        fprintf(f, "\n");
        if (mmkit_frame_map_index(&s->fmap, mmkit_paddr_to_pfn(nd->base), &first) != MMKIT_OK)
            continue;
        cell = (frames + COLS * ROWS - 1) / (COLS * ROWS);
        if (cell == 0) cell = 1;
        cells = (frames + cell - 1) / cell;
        fprintf(f, "  map (one character = %llu frames = %llu KiB)\n",
                (unsigned long long)cell, (unsigned long long)(cell * 4));
        for (c = 0; c < cells; c++) {
            unsigned cnt[FK_COUNT] = {0}, used = 0, best = 0, k;
            uint64_t j, len = 0;
            char ch;
            if (c % COLS == 0) fprintf(f, "  |");
            for (j = c * cell; j < (c + 1) * cell && j < frames; j++, len++)
                cnt[s->frames[first + j].kind]++;
            for (k = 1; k < FK_COUNT; k++) {
                used += cnt[k];
                if (cnt[k] > cnt[best] || best == 0) best = cnt[k] ? k : best;
            }
            if (used == 0) ch = '.';
            else {
                ch = kind_char[best];
                if (used * 2 < len) ch = (char)(ch - 'A' + 'a');
            }
            fputc(ch, f);
            if (c % COLS == COLS - 1 || c + 1 == cells) fprintf(f, "|\n");
        }
    }
    fprintf(f, "  legend: U guest data  P page tables  S slab objects  K kernel (zero frame)  "
               "R reserved  . free\n");
}

/* Buddy invariants per node, and the demo's own frame tags against the buddies' counts. */
int machine_check(sim *s, FILE *f) {
    unsigned n;
    uint64_t tagged_free = 0, i;
    int bad = 0;
    mmkit_status st;
    for (n = 0; n < s->nnodes; n++) {
        mmkit_buddy_stats bs;
        if ((st = mmkit_buddy_check(&s->nodes[n].buddy)) != MMKIT_OK) {
            fprintf(f, "CHECK FAILED: mmkit_buddy_check(node %u): %s\n", n, mmkit_status_str(st));
            bad = 1;
        }
        /* with MMKIT_DEBUG=1 free frames are poisoned: a write after free quarantines them */
        if (mmkit_buddy_stats_get(&s->nodes[n].buddy, &bs) == MMKIT_OK && bs.quarantined_frames) {
            fprintf(f, "CHECK FAILED: node %u: %llu frames written after they were freed\n", n,
                    (unsigned long long)bs.quarantined_frames);
            bad = 1;
        }
    }
    if ((st = mmkit_frame_map_check(&s->fmap)) != MMKIT_OK) {
        fprintf(f, "CHECK FAILED: mmkit_frame_map_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
    for (i = 0; i < s->nframes; i++) tagged_free += s->frames[i].kind == FK_FREE;
    if (tagged_free != machine_free_frames(s)) {
        fprintf(f, "CHECK FAILED: %llu frames tagged free, the buddies have %llu\n",
                (unsigned long long)tagged_free, (unsigned long long)machine_free_frames(s));
        bad = 1;
    }
    return bad ? -1 : 0;
}
