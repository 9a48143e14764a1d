/* demo.h - the hypervisor-shaped mmkit demo: shared types and the functions the files export.
 *
 * Files: machine.c (guest-physical arena, nodes, buddies, the provider chain, per-frame state,
 * the ASCII picture), paging.c (address spaces, demand paging and COW fork through mmkit_cow,
 * the software TLB in front of every access), reclaim.c (swap file, LRU reclaim, OOM and PSI),
 * workload.c (processes, workloads, scheduler, verification), main.c (options, report),
 * mmkit_impl.c (the one translation unit with MMKIT_IMPLEMENTATION). */
#ifndef DEMO_H
#define DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>
#include <mmkit/mmkit_tlb.h>
#include <mmkit/mmkit_pagetable.h>
#include <mmkit/mmkit_lru.h>
#include <mmkit/mmkit_oom.h>

/* mmkit_cow.h is used when it is there; without it demand paging goes through the page table
 * directly (paging.c) and fork copies every page eagerly; -DDEMO_HAVE_COW=0 forces that. */
#if !defined(DEMO_HAVE_COW) && defined(__has_include)
#if __has_include(<mmkit/mmkit_cow.h>)
#define DEMO_HAVE_COW 1
#endif
#endif
#ifndef DEMO_HAVE_COW
#define DEMO_HAVE_COW 0
#endif
#if DEMO_HAVE_COW
#include <mmkit/mmkit_cow.h>
#endif

#define DEMO_MAX_NODES 8u
#define DEMO_MAX_PROCS 64u
#define DEMO_SWAP_BUCKETS 256u
#define DEMO_PAGE 4096u
#define DEMO_NONE UINT32_MAX

/* What a frame is used for (the letters of the memory map). */
typedef enum frame_kind {
    FK_FREE = 0, /* '.' */
    FK_RESERVED, /* 'R' firmware range reserved at boot */
    FK_TABLE,    /* 'P' page-table page */
    FK_SLAB,     /* 'S' slab (the demo's own objects) */
    FK_USER,     /* 'U' guest data frame */
    FK_KERNEL,   /* 'K' other kernel frames (the zero frame, ...) */
    FK_COUNT
} frame_kind;

typedef struct frame_info {
    uint8_t kind;      /* frame_kind */
    uint8_t node;
    uint8_t in_lru;
    uint8_t pinned;    /* a device may write it (DMA): never evicted */
    uint32_t owner;    /* OOM consumer charged for it, DEMO_NONE: uncharged */
    uint32_t rpid;     /* reverse map: the process that mapped it last, DEMO_NONE */
    uint32_t pad2_;
    uint64_t rva;      /* ... at this virtual address */
} frame_info;

typedef struct node {
    mmkit_buddy buddy;
    mmkit_paddr base;
    uint64_t size;
    uint8_t *virt;     /* host address of base */
    void *meta;        /* buddy metadata (host memory) */
    uint64_t local_allocs, remote_allocs; /* frames handed out to requests from this node */
} node;

typedef enum workload_kind { WL_SCAN = 0, WL_RANDOM, WL_ZIPF, WL_SERVER, WL_WORKER, WL_LEAKER,
                             WL_COUNT } workload_kind;

typedef enum proc_state { PS_FREE = 0, PS_RUNNING, PS_WAITING, PS_EXITED, PS_KILLED } proc_state;

typedef enum fault_kind { FT_ZERO_MAP = 0, FT_ZERO_FILL, FT_SWAP_IN, FT_COPY, FT_REUSE,
                          FT_TABLE_COPY, FT_TABLE_TAKE, FT_SPURIOUS, FT_COUNT } fault_kind;

typedef struct swapent {
    struct swapent *next;
    uint64_t vpn;
    uint32_t slot;
    bool cached;       /* the page is back in memory and unchanged: the slot is its swap cache */
} swapent;

/* One address space: the page table and (with mmkit_cow) its COW space. Slab object. */
typedef struct space {
    mmkit_pagetable pt;
#if DEMO_HAVE_COW
    mmkit_cow_space cs;
    mmkit_cow_region regions[4];
#endif
    struct proc *owner;
} space;

typedef struct proc {
    uint32_t pid;
    char name[24];
    workload_kind wl;
    proc_state state;
    uint32_t consumer;          /* OOM consumer id */
    uint32_t asid;
    unsigned node;              /* home node (the vCPU it runs on) */
    uint32_t parent;            /* pid of the parent, DEMO_NONE */
    unsigned live_children;
    space *sp;
    mmkit_vaddr va_base;
    uint64_t npages;            /* region size in pages */
    uint64_t used_pages;        /* leaker: pages grown so far */
    uint64_t *stamp;            /* expected content of each page (0: never written: zeros) */
    double *zipf_cdf;           /* zipf: cumulative popularity */
    uint64_t pos;               /* scan position */
    uint64_t ops_done, ops_total;
    uint64_t rng;
    uint64_t wcount;            /* writes done (stamp generator) */
    uint64_t next_fork;         /* server: ops at which the next worker is forked */
    mmkit_paddr reserve;        /* a frame charged to this process, handed to the next fault */
    bool has_reserve;
    mmkit_paddr dma_pa;         /* random: a page pinned for a simulated NIC's DMA writes */
    bool dma_pinned;
    uint64_t dma_writes;
    swapent *swap[DEMO_SWAP_BUCKETS];
    uint64_t swapped;           /* pages swapped out (charged to it) */
    uint64_t swapcached;        /* pages in memory whose swap copy is still valid */
    uint64_t faults[FT_COUNT];
    uint64_t evicted, refaults, reads_checked, pages_verified;
    uint64_t peak_usage;
    char why[160];              /* kill reason */
} proc;

typedef struct options {
    uint64_t mem;               /* bytes of guest RAM */
    uint64_t swap;              /* bytes of swap */
    unsigned nodes;
    mmkit_lru_policy policy;
    const char *policy_name;
    unsigned workloads;         /* bit set of workload_kind */
    uint64_t seed;
    uint64_t ops;               /* operations per process */
    bool fork_share;            /* --fork-mode share */
    const char *csv;
    int progress;               /* -1 auto (tty), 0 off, 1 on */
    bool expect_oom;
    bool quiet;
    bool inject;                /* --inject-corruption: damage swapped pages (self-test) */
    unsigned psi_kill;          /* kill when PSI some avg10 >= this percent (0 = off) */
    unsigned tlb_sets, tlb_ways;
} options;

typedef struct sim {
    options opt;
    /* machine */
    uint8_t *arena_map;
    size_t arena_map_size;
    unsigned nnodes;
    node nodes[DEMO_MAX_NODES];
    unsigned cur_node;          /* the node of the vCPU running now */
    mmkit_frame_map fmap;
    void *fmap_mem;
    frame_info *frames;
    uint64_t nframes;
    mmkit_provider chain;       /* local node first, then the others: the bottom provider */
    mmkit_provider pt_prov;     /* page-table pages (uncharged) */
    mmkit_provider slab_prov;   /* slab pages (uncharged) */
    mmkit_provider user_prov;   /* guest data frames: the OOM wrapper, charged to `cur` */
    /* objects */
    mmkit_slab_cache proc_cache, space_cache, swapent_cache;
    /* paging */
#if DEMO_HAVE_COW
    mmkit_cow cow;
    void *cow_mem;
#endif
    mmkit_softtlb tlb[DEMO_MAX_NODES]; /* one vCPU per node; a process runs on its node's */
    void *tlb_mem[DEMO_MAX_NODES];
    uint64_t tlb_shootdowns, tlb_pages_invalidated, tlb_lookups, tlb_ipis;
    /* reclaim */
    int swap_fd;
    uint64_t swap_slots, swap_used, swap_peak, swap_writes, swap_reads;
    uint16_t *swap_refs;
    uint64_t swap_hint;
    mmkit_lru lru;
    void *lru_mem;
    mmkit_oom_lru_shrinker lru_sh; /* the OOM's LRU adapter: evicts through our callbacks */
    mmkit_oom_shrinker_desc lru_sdesc;
    mmkit_oom oom;
    void *oom_mem;
    uint64_t evict_bg, evict_direct, evict_clean_skips, evict_busy, evict_undone, evict_clean, aged_runs;
    bool in_direct;
    uint64_t level_events, level_max;
    uint64_t psi_some_peak, psi_full_peak;
    /* processes */
    proc *procs[DEMO_MAX_PROCS];
    uint32_t next_pid;
    proc *cur;
    unsigned kills;
    uint64_t checks_run;        /* rounds at which every check() ran */
    bool during_done;          /* the picture under pressure was printed */
    /* time */
    uint64_t vclock;            /* virtual ns: accesses, faults and swap I/O cost time */
    uint64_t ops_total;
    uint64_t round;
    uint64_t ns_fault, n_fault, ns_evict, n_evict, ns_fork, n_fork; /* wall time per mechanism */
    FILE *csv;
    int failed;                 /* a verification or check failed */
} sim;

/* machine.c */
int machine_init(sim *s);
void machine_fini(sim *s);
void *machine_virt(sim *s, mmkit_paddr pa);
frame_info *machine_frame(sim *s, mmkit_paddr pa, uint64_t *index);
void machine_picture(sim *s, FILE *f, const char *title);
uint64_t machine_free_frames(sim *s);
uint64_t machine_total_frames(sim *s);
int machine_check(sim *s, FILE *f);

/* paging.c */
int paging_init(sim *s);
void paging_fini(sim *s);
int space_new(sim *s, proc *p);
void space_free(sim *s, proc *p);
int space_fork(sim *s, proc *child, proc *parent);
/* Read (write = false) or write through the software TLB, faulting pages in as needed.
 * Returns 0, or -1 when the process was killed or could not get memory (p->state says). */
int vm_access(sim *s, proc *p, mmkit_vaddr va, bool write, uint8_t **host);
/* Drop the page at va of p (after its contents were saved). */
mmkit_status space_discard(sim *s, proc *p, mmkit_vaddr va);
/* The frame at pa may be evicted now (mapped once, not pinned, not the zero frame). */
bool paging_evictable(sim *s, mmkit_paddr pa);
bool paging_maps(sim *s, proc *p, mmkit_vaddr va, mmkit_paddr pa);
int paging_check(sim *s, FILE *f);
/* Pin the (resident) page at va for a device and give its frame; unpin it again. */
int space_pin(sim *s, proc *p, mmkit_vaddr va, mmkit_paddr *pa);
void space_unpin(sim *s, proc *p);
const char *paging_mode(sim *s);
uint64_t demo_now_ns(void);
void tlb_stats(sim *s, mmkit_softtlb_stats *sum); /* all vCPUs' TLBs added up */

/* reclaim.c */
int reclaim_init(sim *s);
void reclaim_fini(sim *s);
void reclaim_frame_mapped(sim *s, proc *p, mmkit_vaddr va, mmkit_paddr pa, bool dirty);
void reclaim_frame_dirty(sim *s, proc *p, mmkit_vaddr va, mmkit_paddr pa);
void swap_filled(sim *s, proc *p, mmkit_vaddr va);
void reclaim_frame_freed(sim *s, mmkit_paddr pa, uint64_t idx);
uint64_t reclaim_evict(sim *s, uint64_t nr);
void reclaim_tick(sim *s);
mmkit_status swap_fill(sim *s, proc *p, mmkit_vaddr va, void *dst, bool *found);
void swap_fork(sim *s, proc *child, proc *parent);
void swap_release_all(sim *s, proc *p);
int proc_consumer_add(sim *s, proc *p);
void proc_consumer_release(sim *s, proc *p);
int reclaim_check(sim *s, FILE *f);
void vclock_advance(sim *s, uint64_t ns);

/* workload.c */
int procs_start(sim *s);
int sched_run(sim *s);
void proc_teardown(sim *s, proc *p, proc_state st);
proc *proc_by_consumer(sim *s, uint32_t id);
proc *proc_by_pid(sim *s, uint32_t pid);
const char *workload_name(workload_kind k);
uint64_t demo_rand(uint64_t *state);

#endif
