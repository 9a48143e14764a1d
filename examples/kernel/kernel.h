/* kernel.h - the portable hobby-kernel core's internal declarations (the .c files of examples/kernel).
 * The architecture sees only arch.h; the user programs only abi.h.
 *
 * Files: klib.c (kputc on arch_putc, kpanic; the rest of the C library is
 * examples/common/freestanding.h's), mem.c (the buddy over the firmware's map,
 * its per-CPU front, the frame map, slab caches, the user-frame budget), vm.c (address spaces,
 * the kernel's identity map, faults through mmkit_cow, fork, the in-memory swap area, LRU
 * reclaim, the OOM policy), task.c (tasks, the scheduler, system calls, the report and
 * kernel_main), mmkit_impl.c (the one translation unit with MMKIT_IMPLEMENTATION). */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include "arch.h"
#include "abi.h"
#include "freestanding.h"

#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>
#include <mmkit/mmkit_cow.h>
#include <mmkit/mmkit_lru.h>
#include <mmkit/mmkit_oom.h>

#define PAGE 4096u
#define MAX_TASKS 16u            /* task slots; asid = slot + 1 */
#define MAX_REGIONS 4u           /* per space: text, data, heap, stack */
#define SWAP_BUCKETS 64u         /* per task: swapped-out pages by VA */
#define NO_TASK 0xffffffffu

/* Sizes of the memory experiment (a small machine so that pressure comes quickly). */
#define USER_BUDGET_FRAMES 256u  /* default: frames user pages may use at once (the budget) */
#define SWAP_SLOTS 1024u         /* default: pages of the in-memory swap area */
#define SWAP_SLOTS_MAX 4096u

/* Boot options (the command line, words separated by spaces):
 *   budget=N   user-frame budget, 64..65536 (default 256)
 *   swap=N     swap slots, 0..4096 (default 1024)
 *   lru=NAME   twolist (default), exact, fifo, clock, sieve, s3fifo */
typedef struct kconfig {
    uint64_t budget, swap_slots;
    mmkit_lru_policy policy;
    const char *policy_name;
} kconfig;
extern kconfig kcfg;
void kconfig_parse(const char *cmdline);
#define AGE_EVERY 8u             /* an aging pass over every space each AGE_EVERY traps */
#define SLICE_TRAPS 16u          /* a task runs at most this many traps before the next one */

/* ---- klib.c (kputc on arch_putc, kpanic); the console, kprintf, ksnprintf, kword and the
 * memory functions are examples/common/freestanding.h's ---- */
__attribute__((noreturn)) void kpanic(const char *what, uint64_t v);

/* ---- the per-frame state the core keeps (one entry per RAM frame, frame-map index) ---- */
#define FI_USER   0x1u           /* a user data frame (charged to owner) */
#define FI_LRU    0x2u           /* on the LRU */
typedef struct frame_info {
    uint32_t flags;
    uint32_t owner;              /* OOM consumer charged for it */
    uint32_t task;               /* reverse map hint: slot of the task that mapped it last */
    uint32_t slot;               /* swap slot written by writeback, or NO_TASK */
    uint64_t va;                 /* ... at this VA */
} frame_info;

/* ---- mem.c ---- */
typedef struct kmem {
    mmkit_buddy buddy;
    mmkit_buddy_cpu front;       /* every kernel and user frame comes through it */
    mmkit_provider kprov;        /* the front as a provider: page tables, slabs (uncharged) */
    mmkit_frame_map fmap;        /* dense index of every RAM frame */
    uint64_t fmap_mem[32];
    frame_info *frames;
    uint64_t nframes;
    uint64_t free_at_boot;       /* buddy free frames once the core's own state was allocated */
    mmkit_slab_cache task_cache, space_cache, region_cache, swapent_cache;
    uint64_t user_used;          /* frames of the budget in use */
    uint64_t user_peak;
    mmkit_provider budget_prov;  /* the front, refusing past kcfg.budget: what OOM guards */
} kmem;
extern kmem mem;

void mem_init(const arch_boot_info *boot);
void *phys_to_virt(mmkit_paddr pa);
frame_info *frame_of(mmkit_paddr pa, uint64_t *index);
/* n contiguous frames for the core's own tables (never freed); zeroed */
void *mem_boot_alloc(uint64_t bytes);
int mem_check(void);

/* ---- tasks (task.c) ---- */
typedef enum task_state { T_FREE = 0, T_READY, T_WAITING, T_ZOMBIE } task_state;

typedef struct swapent {
    struct swapent *next;
    uint64_t vpn;
    uint32_t slot;
} swapent;

typedef struct kspace {
    mmkit_pagetable pt;
    mmkit_cow_space cs;
    mmkit_cow_region *regions;   /* MAX_REGIONS, from the region cache */
    struct task *owner;
} kspace;

typedef struct task {
    uint32_t slot, pid;
    char name[16];
    task_state state;
    bool killed;
    bool forked;                 /* made by fork() */
    bool reap_later;             /* ended while running: reaped when its trap is done */
    uint32_t parent;             /* slot of the parent, NO_TASK */
    uint32_t wait_for;           /* T_WAITING: the child's pid */
    uint64_t exit_status;
    uint32_t role;
    uint32_t consumer;           /* OOM consumer id */
    kspace *sp;
    uint64_t brk;
    mmkit_paddr reserve;         /* a charged frame for the next fault */
    bool has_reserve;
    swapent *swap[SWAP_BUCKETS];
    uint64_t swapped;            /* pages in swap, charged to it */
    uint64_t faults_zero_map, faults_zero_fill, faults_fill, faults_copy, faults_reuse,
        faults_table_copy, faults_table_take, faults_spurious, faults_image;
    uint64_t evicted, refaults, syscalls, peak_usage;
    char why[160];               /* why it was killed */
    arch_frame *frame;           /* saved user registers (after the struct, same object) */
} task;

extern task *tasks[MAX_TASKS];
extern task *current;

/* ---- vm.c ---- */
typedef struct kstats {
    uint64_t forks_classic, forks_share, evictions, refaults, swap_writes, swap_reads,
        aging_passes, kills, segv, user_faults, traps, kernel_map_leaf, consumers_deferred,
        timer_ticks;
    uint64_t swap_used, swap_peak;
} kstats;
extern kstats kst;

void vm_init(const arch_boot_info *boot);
/* a new address space for t with the kernel map; regions: the image (+ heap, stack) */
int space_create(task *t, bool with_regions);
void space_destroy(task *t);
int space_fork(task *child, task *parent, unsigned mode);
void space_activate(task *t);           /* NULL: the kernel's own tables */
/* a user page fault of current at va: 0 resolved (run again), -1 kill the task (SEGV) */
int vm_fault(task *t, uint64_t va, uint32_t access);
/* copy len bytes from t's va into buf, faulting pages in as needed; 0 or -1 */
int vm_copy_in(task *t, uint64_t va, void *buf, size_t len);
int vm_sbrk(task *t, int64_t incr, uint64_t *old);
void vm_tick(void);                     /* aging, background reclaim */
int vm_task_consumer(task *t);          /* register t with the OOM policy */
void vm_task_release(task *t);          /* everything t holds goes back */
void vm_consumer_retire(uint32_t id);   /* remove t's OOM consumer now, or once it holds nothing */
unsigned vm_consumers_retry(void);      /* retired consumers still waiting */
void vm_stats_report(void);
int vm_check(void);
bool vm_no_leaks(uint64_t *frames_live, uint64_t *buddy_free);
extern mmkit_cow cow;
extern mmkit_lru lru;
extern mmkit_oom oom;
extern mmkit_oom_lru_shrinker lru_sh;

/* ---- task.c ---- */
void task_kill(task *t, const char *why);   /* from the OOM kill hook */
task *task_by_pid(uint32_t pid);

#endif
