/* selftest.c - the arch self-test: a kernel_main of its own (no examples/kernel core) that
 * proves this directory's implementation of arch.h with mmkit alone. Buddy over the Multiboot
 * memory map, a slab cache for tasks, 4- or 5-level tables built with mmkit (RAM R+W+NX, the
 * kernel text R+X and rodata R through mmkit_pagetable_protect, which splits the 2 MiB
 * leaves), CR3 switched; then ring-3 tasks (st_user.c) run until trap: demand paging and
 * COW fork in both modes through mmkit_cow on real #PF, registers preserved across traps,
 * and every protection the architecture must enforce: a supervisor page, a page outside
 * every region, the task's own text, INT n through a DPL-0 gate, port I/O, a non-canonical
 * jump, SMAP on a kernel read of a user page, CR0.WP on a kernel write to rodata, a task
 * that never traps preempted by the timer. Every check prints `ok <name>` or `FAIL <name>`;
 * the verdict `KX86-ARCH: PASS n/n` and arch_exit(0) end the run. */
#include "arch.h"
#include "abi.h"
#include "st_abi.h"
#include "x86.h"
#include "freestanding.h"

#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>
#include <mmkit/mmkit_cow.h>

#define PAGE 4096u
#define MAXT 16u
#define NONE 0xffffffffu
#define SLICE 32u
#define TRAP_LIMIT 200000u
#define NREG 6u
#define MB_RSV_MAX 24u

extern char __kernel_start[], __text_end[], __rodata_start[], __rodata_end[];

/* the console of the shared C library (examples/common/freestanding.h) is arch.c's */
void kputc(char c) { arch_putc(c); }

static unsigned oks, fails;
static bool check(const char *name, bool cond, const char *what) {
    if (cond) {
        oks++;
        kprintf("ok %s: %s\n", name, what);
    } else {
        fails++;
        kprintf("FAIL %s: %s\n", name, what);
    }
    return cond;
}

static __attribute__((noreturn)) void stop(const char *what, mmkit_status st) {
    kprintf("FAIL setup: %s: %s\n", what, mmkit_status_str(st));
    kprintf("KX86-ARCH: FAIL %lu/%lu\n", (uint64_t)fails + 1, (uint64_t)(oks + fails + 1));
    arch_exit(1);
}

/* ---- memory ---- */
static const arch_boot_info *B;
static mmkit_buddy buddy;
static mmkit_provider prov;
static mmkit_frame_map fmap;
static uint64_t fmap_mem[64];
static mmkit_cow cow;
static mmkit_slab_cache task_cache;
static mmkit_pagetable kpt;
static uint64_t flushes;
static bool page1g;

static void *p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    return (void *)(uintptr_t)pa;
}

static void flush_counted(void *ctx, const mmkit_tlb_flush *f) {
    flushes++;
    arch_tlb_flush_local(ctx, f);
}

/* the kernel's part of every tree: RAM R+W+NX (2 MiB / 1 GiB leaves), then text R+X and
 * rodata R (protect splits the leaves that hold them) */
static mmkit_status pt_new(mmkit_pagetable *pt) {
    mmkit_pagetable_desc d;
    mmkit_status st;
    size_t i;
    uint64_t k0 = (uint64_t)(uintptr_t)__kernel_start, t1 = (uint64_t)(uintptr_t)__text_end;
    uint64_t r0 = (uint64_t)(uintptr_t)__rodata_start, r1 = (uint64_t)(uintptr_t)__rodata_end;
    memset(&d, 0, sizeof d);
    d.format = B->format;
    d.provider = prov;
    d.phys_bits = B->phys_bits;
    d.direct_map = true;
    d.max_page_size = B->max_page_size; /* 2 MiB without CPUID 80000001h EDX[26] */
    if ((st = mmkit_pagetable_init(pt, &d)) != MMKIT_OK) return st;
    for (i = 0; i < B->ram_count && st == MMKIT_OK; i++)
        st = mmkit_pagetable_map(pt, B->ram[i].base, B->ram[i].base, B->ram[i].size,
                                 MMKIT_PTE_RW | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, NULL);
    if (st == MMKIT_OK)
        st = mmkit_pagetable_protect(pt, k0, t1 - k0, MMKIT_PTE_READ | MMKIT_PTE_EXEC, NULL);
    if (st == MMKIT_OK) st = mmkit_pagetable_protect(pt, r0, r1 - r0, MMKIT_PTE_READ, NULL);
    if (st != MMKIT_OK) mmkit_pagetable_destroy(pt, NULL, NULL);
    return st;
}

/* ---- tasks ---- */
typedef struct task {
    uint32_t slot, pid, role, parent;
    enum { T_FREE = 0, T_READY, T_ZOMBIE } state;
    char name[24];
    mmkit_pagetable pt;
    mmkit_cow_space cs;
    mmkit_cow_region regs[NREG];
    mmkit_tlb_gather g;
    mmkit_paddr rsvd_frame;     /* ST_RSVD: the frame behind the planted leaf, 0 = none */
    uint64_t rsvd_pte;          /* ... and the leaf as mmkit wrote it */
    arch_frame *frame;
} task;

typedef struct outcome {
    uint32_t role, pid;
    bool child, killed;
    uint64_t status;
    arch_trap trap;             /* the trap that ended it (killed) */
    mmkit_status fault_st;      /* mmkit_cow_fault's answer to it (page faults) */
    uint64_t zero_map, zero_fill, fill, copy, reuse, table_copy, timer, faults;
} outcome;

static task *tasks[MAXT];
static outcome outcomes[2 * MAXT], *live[MAXT];
static unsigned noutcomes;
static uint32_t next_pid = 1;
static uint64_t image_text, image_size, image_entry, traps;
static uint64_t forks[2], regcheck = NONE;
static mmkit_status rsvd_check_planted = MMKIT_OK, rsvd_check_restored = MMKIT_ECORRUPT;
static struct {
    bool done;
    long value;
    x86_probe_record rec;
    uint64_t va;
} probe;

static mmkit_status fill_image(void *ctx, mmkit_cow_space *s, mmkit_vaddr va, void *dst) {
    uint64_t off = va - USER_IMAGE_VA, n = PAGE;
    (void)ctx, (void)s;
    if (off >= arch_user_image_size) return MMKIT_ENOENT; /* bss past the stored bytes: zero */
    if (n > arch_user_image_size - off) n = arch_user_image_size - off;
    memcpy(dst, arch_user_image_load + off, (size_t)n);
    memset((char *)dst + n, 0, (size_t)(PAGE - n));
    return MMKIT_OK;
}

static task *task_new(uint32_t role, const char *name, uint32_t parent) {
    task *t = NULL;
    void *obj;
    mmkit_cow_space_desc sd;
    mmkit_tlb_gather_desc gd;
    uint32_t i, slot = NONE;
    size_t k;
    for (i = 0; i < MAXT && slot == NONE; i++)
        if (!tasks[i]) slot = i;
    if (slot == NONE || mmkit_slab_alloc(&task_cache, MMKIT_ALLOC_ZERO, &obj) != MMKIT_OK) return NULL;
    t = obj;
    t->frame = (arch_frame *)(void *)((char *)t + ((sizeof(task) + 15u) & ~(size_t)15u));
    t->slot = slot;
    t->pid = next_pid++;
    t->role = role;
    t->parent = parent;
    for (k = 0; name[k] && k < sizeof t->name - 1; k++) t->name[k] = name[k];
    if (pt_new(&t->pt) != MMKIT_OK) {
        mmkit_slab_free(&task_cache, t);
        return NULL;
    }
    memset(&sd, 0, sizeof sd);
    sd.pt = &t->pt;
    sd.regions = t->regs;
    sd.region_cap = NREG;
    memset(&gd, 0, sizeof gd);
    gd.backend.flush_local = flush_counted;
    gd.asid = (uint16_t)(slot + 1u);
    if (mmkit_cow_space_init(&t->cs, &cow, &sd) != MMKIT_OK || mmkit_tlb_gather_init(&t->g, &gd) != MMKIT_OK) {
        mmkit_pagetable_destroy(&t->pt, NULL, NULL);
        mmkit_slab_free(&task_cache, t);
        return NULL;
    }
    tasks[slot] = t;
    live[slot] = &outcomes[noutcomes++];
    live[slot]->role = role;
    live[slot]->pid = t->pid;
    live[slot]->child = parent != NONE;
    t->state = T_READY;
    return t;
}

static void region(task *t, uint64_t start, uint64_t len, uint32_t prot, mmkit_cow_fill_fn fill) {
    mmkit_cow_region r;
    mmkit_status st;
    memset(&r, 0, sizeof r);
    r.start = start;
    r.len = len;
    r.prot = prot | MMKIT_PTE_USER;
    r.kind = MMKIT_COW_PRIVATE;
    r.fill = fill;
    if ((st = mmkit_cow_region_add(&t->cs, &r)) != MMKIT_OK) stop("mmkit_cow_region_add", st);
}

static void spawn(uint32_t role, const char *name) {
    task *t = task_new(role, name, NONE);
    if (!t) stop("task_new", MMKIT_ENOMEM);
    region(t, USER_IMAGE_VA, image_text, MMKIT_PTE_READ | MMKIT_PTE_EXEC, fill_image);
    if (image_size > image_text)
        region(t, USER_IMAGE_VA + image_text, image_size - image_text, MMKIT_PTE_RW, fill_image);
    region(t, USER_HEAP_VA, (uint64_t)ST_HEAP_PAGES * PAGE, MMKIT_PTE_RW, NULL);
    region(t, USER_STACK_TOP - USER_STACK_MAX, USER_STACK_MAX, MMKIT_PTE_RW, NULL);
    arch_frame_init(t->frame, image_entry, USER_STACK_TOP, role);
    if (role == ST_RSVD) { /* a user page outside the regions, then its first reserved bit set */
        uint64_t bad;
        mmkit_status st = mmkit_buddy_alloc(&buddy, 0, MMKIT_ALLOC_ZERO, &t->rsvd_frame);
        if (st == MMKIT_OK)
            st = mmkit_pagetable_map(&t->pt, ST_RSVD_VA, t->rsvd_frame, PAGE,
                                     MMKIT_PTE_READ | MMKIT_PTE_USER | MMKIT_PTE_ACCESSED, NULL);
        if (st == MMKIT_OK) st = mmkit_pagetable_entry_get(&t->pt, ST_RSVD_VA, 0, &t->rsvd_pte);
        bad = t->rsvd_pte | (uint64_t)1 << (B->phys_bits < 52 ? B->phys_bits : 51u); /* above MAXPHYADDR */
        if (st == MMKIT_OK) st = mmkit_pagetable_entry_set(&t->pt, ST_RSVD_VA, 0, bad);
        if (st != MMKIT_OK) stop("planting the reserved-bit leaf", st);
        rsvd_check_planted = mmkit_pagetable_check(&t->pt);
        kprintf("  planted leaf 0x%lx at 0x%lx (was 0x%lx); mmkit_pagetable_check: %s\n", bad, (uint64_t)ST_RSVD_VA, t->rsvd_pte,
            mmkit_status_str(rsvd_check_planted));
    }
}

static void task_free(task *t) {
    tasks[t->slot] = NULL;
    mmkit_slab_free(&task_cache, t);
}

/* the task is done: its space goes (on the kernel's tables), a zombie until its parent waits */
static void task_end(task *t, uint64_t status, bool killed) {
    mmkit_status st;
    outcome *o = live[t->slot];
    o->status = status;
    o->killed = killed;
    arch_switch_root(&kpt, 0);
    if (t->rsvd_frame) { /* restore mmkit's leaf, then unmap it like any other */
        if ((st = mmkit_pagetable_entry_set(&t->pt, ST_RSVD_VA, 0, t->rsvd_pte)) != MMKIT_OK)
            stop("restoring the planted leaf", st);
        rsvd_check_restored = mmkit_pagetable_check(&t->pt);
        if ((st = mmkit_pagetable_unmap(&t->pt, ST_RSVD_VA, PAGE, NULL, NULL, &t->g)) != MMKIT_OK ||
            (st = mmkit_tlb_gather_flush(&t->g)) != MMKIT_OK || (st = mmkit_buddy_free(&buddy, t->rsvd_frame, 0)) != MMKIT_OK)
            stop("unmapping the planted leaf", st);
        t->rsvd_frame = 0;
    }
    if ((st = mmkit_cow_space_destroy(&t->cs, &t->g)) != MMKIT_OK) stop("mmkit_cow_space_destroy", st);
    if ((st = mmkit_tlb_gather_flush(&t->g)) != MMKIT_OK) stop("flush", st);
    if ((st = mmkit_pagetable_destroy(&t->pt, NULL, NULL)) != MMKIT_OK) stop("mmkit_pagetable_destroy", st);
    t->state = T_ZOMBIE;
    if (t->parent == NONE) task_free(t);
}

static void kill(task *t, const arch_trap *tr, mmkit_status st, const char *why) {
    outcome *o = live[t->slot];
    o->trap = *tr;
    o->fault_st = st;
    kprintf("  killed %s (pid %lu): %s, vector %lu error 0x%lx at 0x%lx\n", t->name, (uint64_t)t->pid, why,
        tr->cause >> 32, tr->cause & 0xffffffffu, tr->addr);
    task_end(t, 128, true);
}

/* copy a user string through the task's tables (faulting pages in as a read would) */
static bool copy_in(task *t, uint64_t va, char *buf, uint64_t len) {
    while (len) {
        mmkit_paddr pa;
        uint32_t flags = 0, what;
        uint64_t n = PAGE - (va & (PAGE - 1));
        if (n > len) n = len;
        if (mmkit_pagetable_translate(&t->pt, va, &pa, &flags, NULL) != MMKIT_OK) {
            if (mmkit_cow_fault(&t->cs, va, MMKIT_COW_READ | MMKIT_COW_USER, &what, &t->g) != MMKIT_OK ||
                mmkit_tlb_gather_flush(&t->g) != MMKIT_OK ||
                mmkit_pagetable_translate(&t->pt, va, &pa, &flags, NULL) != MMKIT_OK)
                return false;
        }
        if (!(flags & MMKIT_PTE_USER)) return false;
        memcpy(buf, (const void *)(uintptr_t)pa, (size_t)n);
        buf += n;
        va += n;
        len -= n;
    }
    return true;
}

/* true: go on running the task; false: its slice ends */
static bool syscall(task *t) {
    arch_frame *f = t->frame;
    uint64_t nr = arch_frame_syscall_nr(f), a0 = arch_frame_arg(f, 0), a1 = arch_frame_arg(f, 1);
    uint64_t ret = 0;
    uint32_t i;
    switch (nr) {
    case SYS_WRITE: {
        char buf[200];
        if (a1 >= sizeof buf || !copy_in(t, a0, buf, a1)) {
            ret = (uint64_t)-1;
            break;
        }
        buf[a1] = 0;
        kprintf("  [%s] %s", t->name, buf);
        ret = a1;
        break;
    }
    case SYS_EXIT: task_end(t, a0, false); return false;
    case SYS_FORK: {
        task *c;
        mmkit_status st;
        mmkit_cow_fork_mode mode = a0 == FORK_SHARE ? MMKIT_COW_FORK_SHARE_TABLES : MMKIT_COW_FORK_COPY;
        if (!(c = task_new(t->role, a0 == FORK_SHARE ? "fork.share" : "fork.copy", t->slot))) {
            ret = (uint64_t)-1;
            break;
        }
        if ((st = mmkit_cow_fork(&c->cs, &t->cs, mode, &t->g)) != MMKIT_OK) stop("mmkit_cow_fork", st);
        arch_frame_copy(c->frame, f);
        arch_frame_set_ret(c->frame, 0);
        arch_frame_syscall_done(c->frame);
        forks[mode == MMKIT_COW_FORK_SHARE_TABLES]++;
        kprintf("  fork %s (pid %lu) -> pid %lu, %s\n", t->name, (uint64_t)t->pid, (uint64_t)c->pid,
            mode == MMKIT_COW_FORK_COPY ? "MMKIT_COW_FORK_COPY" : "MMKIT_COW_FORK_SHARE_TABLES");
        ret = c->pid;
        break;
    }
    case SYS_WAIT:
        ret = (uint64_t)-1;
        for (i = 0; i < MAXT; i++) {
            task *c = tasks[i];
            if (!c || c->pid != a0 || c->parent != t->slot) continue;
            if (c->state != T_ZOMBIE) return false; /* blocked: the int $0x80 runs again later */
            ret = live[c->slot]->status;
            task_free(c);
            break;
        }
        break;
    case SYS_ST_REGCHECK: {
        const uint64_t got[14] = {f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp, f->r8,
                                  f->r9,  f->r10, f->r11, f->r12, f->r13, f->r14, f->r15};
        for (i = 0; i < 14; i++)
            if (got[i] != ST_PATTERN(i)) ret |= 1u << i;
        regcheck = ret;
        break;
    }
    case SYS_ST_PROBE:
        /* a ring-0 read of a user page (mapped, present): SMAP makes it #PF(P) */
        probe.va = a0;
        x86_probe_trap.count = 0;
        x86_probe_armed = true;
        probe.value = x86_probe_read8(a0);
        x86_probe_armed = false;
        probe.rec = x86_probe_trap;
        probe.done = true;
        break;
    case SYS_YIELD: arch_frame_syscall_done(f); return false;
    case SYS_GETPID: ret = t->pid; break;
    default: ret = (uint64_t)-1; break;
    }
    arch_frame_set_ret(f, ret);
    arch_frame_syscall_done(f);
    return true;
}

static void run_slice(task *t) {
    unsigned n;
    outcome *o = live[t->slot];
    arch_switch_root(&t->pt, (uint16_t)(t->slot + 1u));
    for (n = 0; n < SLICE && t->state == T_READY; n++) {
        arch_trap tr;
        uint32_t what = 0;
        mmkit_status st;
        if (++traps > TRAP_LIMIT) stop("trap limit (a task loops on a fault?)", MMKIT_EBUSY);
        arch_run_user(t->frame, &tr);
        switch (tr.kind) {
        case ARCH_TRAP_SYSCALL:
            if (!syscall(t)) return;
            break;
        case ARCH_TRAP_PAGE_FAULT:
            o->faults++;
            st = mmkit_cow_fault(&t->cs, tr.addr, tr.access, &what, &t->g);
            if (st != MMKIT_OK) {
                kill(t, &tr, st, mmkit_status_str(st));
                return;
            }
            if ((st = mmkit_tlb_gather_flush(&t->g)) != MMKIT_OK) stop("flush", st);
            o->zero_map += (what & MMKIT_COW_DID_ZERO_MAP) != 0;
            o->zero_fill += (what & MMKIT_COW_DID_ZERO_FILL) != 0;
            o->fill += (what & MMKIT_COW_DID_FILL) != 0;
            o->copy += (what & MMKIT_COW_DID_COPY) != 0;
            o->reuse += (what & MMKIT_COW_DID_REUSE) != 0;
            o->table_copy += (what & MMKIT_COW_DID_TABLE_COPY) != 0;
            break;
        case ARCH_TRAP_TIMER:
            if (++o->timer >= 3 && t->role == ST_SPIN) {
                kill(t, &tr, MMKIT_OK, "watchdog: 3 timer interrupts without a system call");
                return;
            }
            return; /* preempted: the next task */
        default: kill(t, &tr, MMKIT_OK, "unexpected trap"); return;
        }
    }
}

static void schedule(void) {
    for (;;) {
        bool any = false;
        uint32_t i;
        for (i = 0; i < MAXT; i++)
            if (tasks[i] && tasks[i]->state == T_READY) {
                any = true;
                run_slice(tasks[i]);
            }
        if (!any) return;
    }
}

static const outcome *find(uint32_t role, bool child, unsigned nth) {
    unsigned i;
    for (i = 0; i < noutcomes; i++)
        if (outcomes[i].role == role && outcomes[i].child == child && nth-- == 0) return &outcomes[i];
    return NULL;
}

/* killed by a page fault with exactly this error code and mmkit_cow_fault status */
static bool pf_kill(const outcome *o, uint64_t err, mmkit_status st) {
    return o && o->killed && o->trap.kind == ARCH_TRAP_PAGE_FAULT && (o->trap.cause >> 32) == VEC_PF &&
           (o->trap.cause & 0xffffffffu) == err && o->fault_st == st;
}
static bool gp_kill(const outcome *o, uint64_t err) {
    return o && o->killed && o->trap.kind == ARCH_TRAP_OTHER && (o->trap.cause >> 32) == VEC_GP &&
           (o->trap.cause & 0xffffffffu) == err;
}

static void setup_memory(const arch_boot_info *boot) {
    mmkit_frame_map_desc fd;
    mmkit_buddy_desc bd;
    mmkit_slab_cache_desc sd;
    mmkit_cow_desc cd;
    mmkit_range rsv[MB_RSV_MAX];
    size_t n = 0, i, bytes = 0;
    mmkit_paddr pa = 0;
    mmkit_status st;
    void *obj = NULL;
    rsv[n].base = boot->kernel_start;
    rsv[n++].size = boot->kernel_end - boot->kernel_start;
    for (i = 0; i < boot->reserved_count && n < MB_RSV_MAX; i++) rsv[n++] = boot->reserved[i];
    memset(&bd, 0, sizeof bd);
    bd.ram = boot->ram;
    bd.ram_count = boot->ram_count;
    bd.reserved = rsv;
    bd.reserved_count = n;
    bd.phys_to_virt = p2v; /* metadata carved from RAM */
    bd.max_order = 14;     /* 64 MiB blocks: the cow state of a few GiB (12 B/frame) is one */
    if ((st = mmkit_buddy_init(&buddy, &bd)) != MMKIT_OK) stop("mmkit_buddy_init", st);
    prov = mmkit_buddy_provider(&buddy);
    memset(&sd, 0, sizeof sd);
    sd.name = "task";
    sd.size = ((sizeof(task) + 15u) & ~(size_t)15u) + arch_frame_size();
    sd.align = 16;
    sd.provider = prov;
    if ((st = mmkit_slab_init(&task_cache, &sd)) != MMKIT_OK) stop("mmkit_slab_init", st);
    memset(&fd, 0, sizeof fd);
    fd.ram = boot->ram;
    fd.ram_count = boot->ram_count;
    fd.mem = fmap_mem;
    fd.mem_size = sizeof fmap_mem;
    if ((st = mmkit_frame_map_init(&fmap, &fd)) != MMKIT_OK) stop("mmkit_frame_map_init", st);
    memset(&cd, 0, sizeof cd);
    cd.provider = prov;
    cd.frames = &fmap;
    if ((st = mmkit_cow_mem_size(&cd, &bytes)) != MMKIT_OK) stop("mmkit_cow_mem_size", st);
    if ((st = mmkit_buddy_alloc_exact(&buddy, (bytes + PAGE - 1) / PAGE, MMKIT_ALLOC_ZERO, &pa)) != MMKIT_OK)
        stop("cow state", st);
    cd.mem = (void *)(uintptr_t)pa;
    cd.mem_size = bytes;
    if ((st = mmkit_cow_init(&cow, &cd)) != MMKIT_OK) stop("mmkit_cow_init", st);
    st = mmkit_slab_alloc(&task_cache, 0, &obj);
    if (st == MMKIT_OK) st = mmkit_slab_free(&task_cache, obj);
    kprintf("buddy over %lu RAM ranges (%lu reserved), %lu frames in the frame map, cow state %lu KiB\n",
        (uint64_t)boot->ram_count, (uint64_t)n, mmkit_frame_map_count(&fmap), (uint64_t)(bytes >> 10));
    check("buddy_slab", st == MMKIT_OK && mmkit_buddy_check(&buddy) == MMKIT_OK &&
              mmkit_slab_check(&task_cache) == MMKIT_OK && mmkit_cow_check(&cow) == MMKIT_OK,
          "mmkit_buddy over the memory map, a slab cache for tasks, mmkit_cow over the frame map");
}

/* the kernel's own tables: CR3 switched to them, and what the MMU must see */
static void setup_paging(void) {
    mmkit_status st;
    mmkit_paddr pa = 0;
    uint32_t fl_text = 0, fl_ro = 0, fl_data = 0;
    uint64_t leaf = 0, leaf_text = 0, cr3, k0 = B->kernel_start;
    uint64_t ro = (uint64_t)(uintptr_t)__rodata_start, data = (uint64_t)(uintptr_t)&kpt;
    bool ok;
    if ((st = pt_new(&kpt)) != MMKIT_OK) stop("the kernel's page table", st);
    cr3 = mmkit_pagetable_cr3(&kpt, 0, false);
    arch_switch_root(&kpt, 0);
    ok = (x86_read_cr3() & ~(uint64_t)0xfff) == (cr3 & ~(uint64_t)0xfff) &&
         mmkit_pagetable_translate(&kpt, k0, &pa, &fl_text, &leaf_text) == MMKIT_OK && pa == k0 &&
         mmkit_pagetable_translate(&kpt, ro, &pa, &fl_ro, NULL) == MMKIT_OK && pa == ro &&
         mmkit_pagetable_translate(&kpt, data, &pa, &fl_data, NULL) == MMKIT_OK && pa == data &&
         mmkit_pagetable_translate(&kpt, B->ram[B->ram_count - 1].base + B->ram[B->ram_count - 1].size - PAGE,
                                   &pa, NULL, &leaf) == MMKIT_OK &&
         (fl_text & (MMKIT_PTE_EXEC | MMKIT_PTE_WRITE)) == MMKIT_PTE_EXEC &&
         (fl_ro & (MMKIT_PTE_EXEC | MMKIT_PTE_WRITE)) == 0 &&
         (fl_data & (MMKIT_PTE_EXEC | MMKIT_PTE_WRITE)) == MMKIT_PTE_WRITE &&
         mmkit_pagetable_check(&kpt) == MMKIT_OK;
    kprintf("paging: CR3 0x%lx, text R+X in %lu KiB leaves, RAM's last page in a %lu KiB leaf\n", x86_read_cr3(),
        leaf_text >> 10, leaf >> 10);
    check("paging_on", ok, "mmkit's tables loaded; text R+X, rodata R, data R+W+NX (protect split the 2 MiB leaf)");
}

/* CR0.WP: a ring-0 store to a read-only page faults (#PF P|W, CR2 = the address) */
static void check_wp(void) {
    static const uint8_t ro_byte = 0x5a;
    uint64_t va = (uint64_t)(uintptr_t)&ro_byte;
    long r;
    x86_probe_trap.count = 0;
    x86_probe_armed = true;
    r = x86_probe_write8(va, 0xa5);
    x86_probe_armed = false;
    kprintf("  kernel store to rodata: %s, error 0x%lx, CR2 0x%lx\n", r == -1 ? "#PF" : "no fault",
        x86_probe_trap.error, x86_probe_trap.cr2);
    check("kernel_wp", r == -1 && x86_probe_trap.count == 1 && x86_probe_trap.vector == VEC_PF &&
              x86_probe_trap.error == 0x3 && x86_probe_trap.cr2 == va &&
              *(const volatile uint8_t *)&ro_byte == 0x5a && (x86_read_cr0() & X86_CR0_WP),
          "CR0.WP set: a supervisor store to a read-only page is #PF(P|W), the byte unchanged");
}

void kernel_main(const arch_boot_info *boot) {
    uint32_t r[4];
    bool smap, timer = true, inside = false;
    size_t i;
    uint64_t free_before, in_use = 1;
    mmkit_buddy_stats bs;
    mmkit_cow_stats cs;
    const outcome *o, *c0, *c1;
    const uint64_t *hdr = (const uint64_t *)(const void *)arch_user_image_load;
    B = boot;
    x86_cpuid(0x80000001u, 0, r);
    page1g = (r[3] >> 26) & 1u;
    smap = (x86_read_cr4() & X86_CR4_SMAP) != 0;
    if (kword(boot->cmdline, "notimer")) timer = false;
    kprintf("arch self-test: %s, MAXPHYADDR %lu, %s, %s\n",
        boot->format == MMKIT_PAGETABLE_X86_64_5LEVEL ? "5-level" : "4-level", (uint64_t)boot->phys_bits,
        smap ? "SMAP" : "no SMAP", timer ? "timer on" : "no timer");
    for (i = 0; i < boot->ram_count; i++)
        inside |= boot->ram[i].base <= boot->kernel_start &&
                  boot->kernel_end <= boot->ram[i].base + boot->ram[i].size;
    check("boot_info", boot->ram_count > 0 && inside && boot->max_page_size == (page1g ? 0 : (uint64_t)2 << 20) && boot->phys_bits >= 32 && boot->phys_bits <= 52 &&
              (boot->format == MMKIT_PAGETABLE_X86_64_5LEVEL) == ((x86_read_cr4() & X86_CR4_LA57) != 0),
          "the Multiboot map's RAM holds the kernel; format = CR4.LA57; MAXPHYADDR and leaf limit from CPUID");
    setup_memory(boot);
    setup_paging();
    check_wp();

    if (arch_user_image_va != USER_IMAGE_VA || arch_user_image_size < 32 || hdr[0] != USER_IMAGE_MAGIC ||
        hdr[1] == 0 || hdr[1] > hdr[2] || ((hdr[1] | hdr[2]) & (PAGE - 1)) || hdr[2] > USER_IMAGE_MAX ||
        hdr[3] < USER_IMAGE_VA || hdr[3] >= USER_IMAGE_VA + hdr[1])
        stop("bad user image header", MMKIT_EINVAL);
    image_text = hdr[1];
    image_size = hdr[2];
    image_entry = hdr[3];
    mmkit_buddy_stats_get(&buddy, &bs);
    free_before = bs.free_frames;

    kprintf("tasks:\n");
    spawn(ST_DEMAND, "demand");
    spawn(ST_FORK, "forker");
    spawn(ST_REGS, "regs");
    spawn(ST_KERNEL_READ, "kernel-read");
    spawn(ST_SEGV, "segv");
    spawn(ST_TEXT_WRITE, "text-write");
    spawn(ST_INT14, "int14");
    spawn(ST_PORT_IO, "port-io");
    spawn(ST_NONCANONICAL, "noncanonical");
    spawn(ST_SYSCALL_INSN, "syscall-insn");
    spawn(ST_RSVD, "reserved-bit");
    if (timer) spawn(ST_SPIN, "spin");
    schedule();
    kprintf("report: %lu traps, %lu gather flushes through arch_tlb_flush_local\n", traps, flushes);
    for (i = 0; i < noutcomes; i++) {
        o = &outcomes[i];
        kprintf("  role %lu pid %lu%s: %s %lu; faults %lu (zero-map %lu zero-fill %lu fill %lu copy %lu reuse %lu "
            "table-copy %lu), timer %lu\n",
            (uint64_t)o->role, (uint64_t)o->pid, o->child ? " (child)" : "", o->killed ? "killed" : "exit",
            o->status, o->faults, o->zero_map, o->zero_fill, o->fill, o->copy, o->reuse, o->table_copy, o->timer);
    }

    o = find(ST_DEMAND, false, 0);
    check("user_demand_paging", o && !o->killed && o->status == 0 && o->zero_map >= 16 && o->zero_fill >= 16 &&
              o->fill >= 1,
          "ring 3: reads of untouched pages see zero (ZERO_MAP), writes ZERO_FILL, text and data FILLed "
          "from the image");
    check("smap_probe", probe.done && (smap ? probe.value == -1 && probe.rec.count == 1 &&
                                                  probe.rec.vector == VEC_PF && probe.rec.error == 0x1 &&
                                                  probe.rec.cr2 == probe.va
                                            : probe.value == 3),
          smap ? "a ring-0 read of a user page is #PF(P) under SMAP, though the task set RFLAGS.AC"
               : "no SMAP: the ring-0 read of a user page returns its byte");
    o = find(ST_FORK, false, 0);
    c0 = find(ST_FORK, true, 0);
    c1 = find(ST_FORK, true, 1);
    check("user_fork_classic", forks[0] == 1 && c0 && !c0->killed && c0->status == 0 && c0->copy >= 32 && o &&
              !o->killed && o->status == 0 && o->reuse > 0,
          "MMKIT_COW_FORK_COPY: the child's stores break COW (copy), the parent keeps its data and reuses");
    check("user_fork_share", forks[1] == 1 && c1 && !c1->killed && c1->status == 0 && c1->copy >= 32 &&
              c1->table_copy + (o ? o->table_copy : 0) >= 1,
          "MMKIT_COW_FORK_SHARE_TABLES: a store copies the shared leaf table, then the page");
    o = find(ST_REGS, false, 0);
    check("user_regs_preserved", o && !o->killed && o->status == 0 && regcheck == 0,
          "14 patterned registers: in the frame at int $0x80 and unchanged after a #PF and the call");
    o = find(ST_SYSCALL_INSN, false, 0);
    check("user_syscall_insn", o && !o->killed && o->status == 0,
          "SYSCALL (LSTAR entry, own stack switch) reaches the same calls as int $0x80: getpid, write");
    o = find(ST_RSVD, false, 0);
    check("user_reserved_bit", o && o->killed && o->trap.kind == ARCH_TRAP_OTHER && (o->trap.cause >> 32) == VEC_PF &&
              /* U|RSVD, a read; the SDM also sets P (the entry is present), QEMU 7.2 TCG does not */
              ((o->trap.cause & 0xffffffffu) | 1u) == 0xd && rsvd_check_planted == MMKIT_ECORRUPT &&
              rsvd_check_restored == MMKIT_OK,
          "a leaf planted with a bit above MAXPHYADDR (entry_set; check() ECORRUPT until restored): "
          "#PF(U|RSVD), not a COW fault (ARCH_TRAP_OTHER): killed");
    check("user_kernel_page", pf_kill(find(ST_KERNEL_READ, false, 0), 0x5, MMKIT_ENOENT),
          "a ring-3 read of a supervisor page: #PF(P|U), outside every region: killed");
    check("user_segv", pf_kill(find(ST_SEGV, false, 0), 0x6, MMKIT_ENOENT),
          "a ring-3 store outside every region: #PF(W|U), mmkit_cow_fault ENOENT: killed");
    o = find(ST_TEXT_WRITE, false, 0);
    check("user_text_write", pf_kill(o, 0x7, MMKIT_EACCES) || pf_kill(o, 0x6, MMKIT_EACCES),
          "a ring-3 store to its own text: #PF(W|U), mmkit_cow_fault EACCES: killed");
    /* the SDM's error code names the gate as vector * 8 + 2 (IDT bit); QEMU 7.2 TCG reports
     * the gate's byte offset in the 16-byte IDT of long mode, vector * 16 + 2 */
    o = find(ST_INT14, false, 0);
    check("user_int14_gp", gp_kill(o, 14u * 8u + 2u) || gp_kill(o, 14u * 16u + 2u),
          "int $14 from ring 3: the gate's DPL is 0, #GP(IDT, vector 14): killed");
    check("user_port_io_gp", gp_kill(find(ST_PORT_IO, false, 0), 0),
          "outb from ring 3 (IOPL 0, no I/O bitmap): #GP(0): killed");
    check("user_noncanonical_gp", gp_kill(find(ST_NONCANONICAL, false, 0), 0),
          "a jump to a non-canonical address: #GP(0), not #PF: killed");
    if (timer) {
        o = find(ST_SPIN, false, 0);
        check("timer_preempts", o && o->killed && o->trap.kind == ARCH_TRAP_TIMER && o->timer >= 3,
              "a task that never traps is preempted by the PIT (ARCH_TRAP_TIMER) while the others finish");
    }
    check("tlb_backend", flushes > 0, "the gathers flushed through arch_tlb_flush_local (mmkit_tlb.h's backend)");
    mmkit_cow_stats_get(&cow, &cs);
    mmkit_buddy_stats_get(&buddy, &bs);
    for (i = 0; i < MAXT; i++)
        if (tasks[i]) in_use = 2; /* a zombie nobody waited for */
    if (in_use == 1) mmkit_slab_destroy(&task_cache, &in_use), in_use = in_use ? 3 : 0;
    mmkit_buddy_stats_get(&buddy, &bs);
    kprintf("teardown: cow frames live %lu, spaces %lu, buddy free %lu (before the tasks %lu), slab objects %lu\n",
        cs.frames_live, cs.spaces, bs.free_frames, free_before, in_use);
    check("teardown", cs.frames_live == 0 && cs.spaces == 0 && mmkit_cow_check(&cow) == MMKIT_OK &&
              mmkit_buddy_check(&buddy) == MMKIT_OK && in_use == 0 && bs.free_frames >= free_before,
          "every space destroyed, no data frame held, the buddy has every frame back");
    kprintf("KX86-ARCH: %s %lu/%lu\n", fails ? "FAIL" : "PASS", (uint64_t)(fails ? fails : oks), (uint64_t)(oks + fails));
    arch_exit(fails ? 1 : 0);
}
