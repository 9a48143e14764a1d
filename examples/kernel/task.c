/* task.c - tasks (slab objects holding their saved user registers), a round-robin scheduler
 * over the "run until trap" model of arch.h, the system calls of abi.h, and kernel_main: boot,
 * the three first tasks, the run, the report and the verdict. */
#include "kernel.h"

task *tasks[MAX_TASKS];
kconfig kcfg = {USER_BUDGET_FRAMES, SWAP_SLOTS, MMKIT_LRU_TWOLIST, "twolist"};

/* the value of word `key=` on the command line: true and *v (decimal) when present */
static bool opt_u64(const char *s, const char *key, uint64_t *v) {
    while (s && *s) {
        const char *a = s, *k = key;
        while (*k && *a == *k) a++, k++;
        if (!*k) {
            uint64_t x = 0;
            if (*a < '0' || *a > '9') return false;
            while (*a >= '0' && *a <= '9') x = x * 10u + (uint64_t)(*a++ - '0');
            *v = x;
            return true;
        }
        while (*s && *s != ' ') s++;
        while (*s == ' ') s++;
    }
    return false;
}

void kconfig_parse(const char *cmdline) {
    static const struct { const char *opt, *name; mmkit_lru_policy p; } pol[] = {
        {"lru=twolist", "twolist", MMKIT_LRU_TWOLIST}, {"lru=exact", "exact", MMKIT_LRU_EXACT},
        {"lru=fifo", "fifo", MMKIT_LRU_FIFO},          {"lru=clock", "clock", MMKIT_LRU_CLOCK},
        {"lru=sieve", "sieve", MMKIT_LRU_SIEVE},       {"lru=s3fifo", "s3fifo", MMKIT_LRU_S3FIFO}};
    uint64_t v;
    unsigned i;
    if (opt_u64(cmdline, "budget=", &v)) {
        if (v < 64 || v > 65536) kpanic("budget= must be 64..65536", v);
        kcfg.budget = v;
    }
    if (opt_u64(cmdline, "swap=", &v)) {
        if (v > SWAP_SLOTS_MAX) kpanic("swap= must be 0..4096", v);
        kcfg.swap_slots = v;
    }
    for (i = 0; i < sizeof pol / sizeof pol[0]; i++)
        if (kword(cmdline, pol[i].opt)) {
            kcfg.policy = pol[i].p;
            kcfg.policy_name = pol[i].name;
        }
}
task *current;
static uint32_t next_pid = 1;
uint64_t vm_user_entry(void);

/* what the report needs of a task after it is gone */
typedef struct outcome {
    char name[16];
    uint32_t pid, role;
    bool child, killed, exited, segv;
    uint64_t status;
    uint64_t zero_map, zero_fill, image, copy, reuse, table_copy, evicted, refaults, peak, syscalls;
    char why[160];
} outcome;
static outcome outcomes[32];
static unsigned noutcomes;

task *task_by_pid(uint32_t pid) {
    unsigned i;
    for (i = 0; i < MAX_TASKS; i++)
        if (tasks[i] && tasks[i]->pid == pid) return tasks[i];
    return NULL;
}

static void name_copy(char *dst, const char *src, size_t cap) {
    size_t n = 0;
    while (src[n] && n + 1 < cap) {
        dst[n] = src[n];
        n++;
    }
    dst[n] = 0;
}

static task *task_alloc(const char *name, uint32_t role, uint32_t parent) {
    unsigned i;
    void *obj;
    task *t;
    for (i = 0; i < MAX_TASKS && tasks[i]; i++) {
    }
    if (i == MAX_TASKS) return NULL;
    if (mmkit_slab_alloc(&mem.task_cache, MMKIT_ALLOC_ZERO, &obj) != MMKIT_OK) return NULL;
    t = obj;
    t->slot = i;
    t->pid = next_pid++;
    t->role = role;
    t->parent = parent;
    t->consumer = MMKIT_OOM_NONE;
    t->frame = (arch_frame *)(void *)((char *)t + ((sizeof(task) + 15u) & ~(size_t)15u));
    name_copy(t->name, name, sizeof t->name);
    if (vm_task_consumer(t) != 0) {
        mmkit_slab_free(&mem.task_cache, t);
        return NULL;
    }
    tasks[i] = t;
    return t;
}

static void record(task *t) {
    outcome *o;
    if (noutcomes >= sizeof outcomes / sizeof outcomes[0]) return;
    o = &outcomes[noutcomes++];
    name_copy(o->name, t->name, sizeof o->name);
    o->pid = t->pid;
    o->role = t->role;
    o->child = t->forked;
    o->killed = t->killed;
    o->exited = !t->killed;
    o->status = t->exit_status;
    o->segv = t->killed && t->exit_status == 139;
    o->zero_map = t->faults_zero_map;
    o->zero_fill = t->faults_zero_fill;
    o->image = t->faults_image;
    o->copy = t->faults_copy;
    o->reuse = t->faults_reuse;
    o->table_copy = t->faults_table_copy;
    o->evicted = t->evicted;
    o->refaults = t->refaults;
    o->peak = t->peak_usage;
    o->syscalls = t->syscalls;
    name_copy(o->why, t->why, sizeof o->why);
}

/* the slot and object go; the OOM consumer too once it holds nothing */
static void task_reap(task *t) {
    vm_consumer_retire(t->consumer);
    t->consumer = MMKIT_OOM_NONE;
    tasks[t->slot] = NULL;
    if (current == t) current = NULL;
    mmkit_slab_free(&mem.task_cache, t);
}

/* t ends (exit or kill): memory back now, the parent woken, the object reaped by wait() or,
 * for a task without a parent, at once (the running task: when its trap is done) */
static void task_end(task *t) {
    task *p = t->parent != NO_TASK ? tasks[t->parent] : NULL;
    bool reap = false;
    unsigned i;
    vm_task_release(t);
    vm_consumers_retry();
    t->state = T_ZOMBIE;
    record(t);
    for (i = 0; i < MAX_TASKS; i++) { /* children: zombies go, the others become orphans */
        task *c = tasks[i];
        if (!c || c == t || c->parent != t->slot) continue;
        c->parent = NO_TASK;
        if (c->state == T_ZOMBIE) {
            if (c == current) c->reap_later = true;
            else task_reap(c);
        }
    }
    if (p && p->state == T_WAITING && p->wait_for == t->pid) {
        arch_frame_set_ret(p->frame, t->exit_status);
        p->state = T_READY;
        reap = true;
    } else if (!p) {
        reap = true;
    }
    if (reap) {
        if (t == current) t->reap_later = true;
        else task_reap(t);
    }
}

void task_kill(task *t, const char *why) {
    t->killed = true;
    t->exit_status = WAIT_KILLED;
    name_copy(t->why, why, sizeof t->why);
    kprintf("  kill %s (pid %u): %s\n", t->name, t->pid, why);
    task_end(t);
}

static task *spawn(const char *name, uint32_t role) {
    task *t = task_alloc(name, role, NO_TASK);
    if (!t || space_create(t, true) != 0) kpanic("first tasks", role);
    arch_frame_init(t->frame, vm_user_entry(), USER_STACK_TOP, role);
    t->state = T_READY;
    return t;
}

/* ---- system calls ---- */

static void sys_write(task *t, uint64_t va, uint64_t len) {
    char buf[129];
    bool first = true;
    if (len > 4096) len = 4096;
    while (len) {
        size_t n = len > 128 ? 128 : (size_t)len;
        if (vm_copy_in(t, va, buf, n) != 0) {
            arch_frame_set_ret(t->frame, (uint64_t)-1);
            return;
        }
        buf[n] = 0;
        if (first) kprintf("  [%s] ", t->name);
        first = false;
        kputs(buf);
        va += n;
        len -= n;
    }
    arch_frame_set_ret(t->frame, 0);
}

static void sys_fork(task *t, uint64_t mode) {
    char name[16];
    task *c;
    ksnprintf(name, sizeof name, "%s.%s", t->name, mode == FORK_SHARE ? "share" : "copy");
    if (mode > FORK_SHARE || !(c = task_alloc(name, t->role, t->slot))) {
        arch_frame_set_ret(t->frame, (uint64_t)-1);
        return;
    }
    if (space_fork(c, t, (unsigned)mode) != 0) {
        task_reap(c);
        arch_frame_set_ret(t->frame, (uint64_t)-1);
        return;
    }
    arch_frame_copy(c->frame, t->frame);
    arch_frame_set_ret(c->frame, 0);
    arch_frame_set_ret(t->frame, c->pid);
    c->forked = true;
    c->state = T_READY;
    kprintf("  fork %s (pid %u) -> %s (pid %u), %s\n", t->name, t->pid, c->name, c->pid,
            mode == FORK_SHARE ? "MMKIT_COW_FORK_SHARE_TABLES" : "MMKIT_COW_FORK_COPY");
}

static void sys_wait(task *t, uint64_t pid) {
    task *c = task_by_pid((uint32_t)pid);
    if (!c || c->parent != t->slot) {
        arch_frame_set_ret(t->frame, (uint64_t)-1);
        return;
    }
    if (c->state == T_ZOMBIE) {
        arch_frame_set_ret(t->frame, c->exit_status);
        task_reap(c);
        return;
    }
    t->state = T_WAITING;
    t->wait_for = c->pid;
}

/* one trap of t; false: t does not run on in this slice */
static bool syscall(task *t) {
    uint64_t nr = arch_frame_syscall_nr(t->frame), a0 = arch_frame_arg(t->frame, 0),
             a1 = arch_frame_arg(t->frame, 1), old;
    t->syscalls++;
    arch_frame_syscall_done(t->frame);
    switch (nr) {
    case SYS_WRITE: sys_write(t, a0, a1); return true;
    case SYS_EXIT:
        t->exit_status = a0;
        task_end(t);
        return false;
    case SYS_FORK: sys_fork(t, a0); return false; /* the child may run next */
    case SYS_WAIT: sys_wait(t, a0); return t->state == T_READY;
    case SYS_SBRK:
        arch_frame_set_ret(t->frame, vm_sbrk(t, (int64_t)a0, &old) == 0 ? old : (uint64_t)-1);
        return true;
    case SYS_YIELD: arch_frame_set_ret(t->frame, 0); return false;
    case SYS_GETPID: arch_frame_set_ret(t->frame, t->pid); return true;
    default: arch_frame_set_ret(t->frame, (uint64_t)-1); return true;
    }
}

static void run_slice(task *t) {
    unsigned n;
    current = t;
    for (n = 0; n < SLICE_TRAPS && t->state == T_READY; n++) {
        arch_trap tr;
        bool go_on = true;
        space_activate(t);
        arch_run_user(t->frame, &tr);
        kst.traps++;
        switch (tr.kind) {
        case ARCH_TRAP_SYSCALL: go_on = syscall(t); break;
        case ARCH_TRAP_PAGE_FAULT: {
            int r = vm_fault(t, tr.addr, tr.access);
            if (r == -1) { /* t->why says what vm_fault refused */
                t->killed = true;
                t->exit_status = 139;
                kprintf("  kill %s (pid %u): %s (scause/vector 0x%lx)\n", t->name, t->pid, t->why,
                        tr.cause);
                task_end(t);
            }
            go_on = r == 0;
            break;
        }
        case ARCH_TRAP_TIMER:
            kst.timer_ticks++;
            go_on = false;
            break;
        default: {
            char why[96];
            ksnprintf(why, sizeof why, "unexpected trap, cause 0x%lx at 0x%lx", tr.cause, tr.addr);
            t->killed = true;
            t->exit_status = 132;
            name_copy(t->why, why, sizeof t->why);
            kprintf("FAIL %s: %s\n", t->name, why);
            task_end(t);
            go_on = false;
            break;
        }
        }
        vm_tick();
        if (!go_on || t->state != T_READY) break;
    }
    if (t->reap_later) task_reap(t);
    current = NULL;
}

static void schedule(void) {
    unsigned cursor = 0;
    for (;;) {
        unsigned k, i;
        task *next = NULL;
        bool waiting = false;
        for (k = 0; k < MAX_TASKS; k++) {
            i = (cursor + k) % MAX_TASKS;
            if (!tasks[i]) continue;
            if (tasks[i]->state == T_READY) {
                next = tasks[i];
                break;
            }
            if (tasks[i]->state == T_WAITING) waiting = true;
        }
        if (!next) {
            if (waiting) kprintf("FAIL every task waits: deadlock\n");
            return;
        }
        cursor = next->slot + 1;
        run_slice(next);
    }
}

/* ---- the verdict ---- */

static unsigned oks, checks;
static void check(const char *name, bool good, const char *detail) {
    checks++;
    if (good) {
        oks++;
        kprintf("ok %s: %s\n", name, detail);
    } else {
        kprintf("FAIL %s: %s\n", name, detail);
    }
}

static const outcome *find_outcome(uint32_t role, bool child, unsigned nth) {
    unsigned i;
    for (i = 0; i < noutcomes; i++)
        if (outcomes[i].role == role && outcomes[i].child == child && nth-- == 0) return &outcomes[i];
    return NULL;
}

void kernel_main(const arch_boot_info *boot) {
    char d[256];
    unsigned i;
    uint64_t live = 0, bfree = 0;
    mmkit_cow_stats cs;
    mmkit_lru_stats ls;
    const outcome *fk, *sw, *lk, *c0, *c1;
    bool tasks_ok = true, only_leaker = true;
    unsigned nsegv = 0;

    kprintf("mmkit hobby kernel: %s, %u-bit physical addresses, command line \"%s\"\n",
            boot->format == MMKIT_PAGETABLE_SV48 ? "Sv48" : boot->format == MMKIT_PAGETABLE_SV39 ? "Sv39"
            : boot->format == MMKIT_PAGETABLE_SV57 ? "Sv57" : boot->format == MMKIT_PAGETABLE_X86_64_5LEVEL
                ? "x86-64 5-level" : "x86-64 4-level",
            boot->phys_bits, boot->cmdline ? boot->cmdline : "");
    kconfig_parse(boot->cmdline);
    mem_init(boot);
    ksnprintf(d, sizeof d, "%lu frames in %lu RAM range(s), buddy + front, 4 slab caches",
              mem.nframes, (uint64_t)boot->ram_count);
    check("boot_memory", mem_check() == 0 && mem.nframes > 0, d);
    vm_init(boot);
    ksnprintf(d, sizeof d, "root loaded, kernel mapped with %lu KiB leaves", kst.kernel_map_leaf >> 10);
    check("paging_on", kst.kernel_map_leaf >= ((uint64_t)2 << 20), d);

    kprintf("tasks:\n");
    spawn("forker", ROLE_FORKER);
    spawn("swapper", ROLE_SWAPPER);
    spawn("leaker", ROLE_LEAKER);
    schedule();

    kprintf("report\n");
    for (i = 0; i < noutcomes; i++) {
        const outcome *o = &outcomes[i];
        kprintf("  %-14s pid %2u %s %3lu; faults zero-map %lu zero-fill %lu image %lu copy %lu "
                "reuse %lu table-copy %lu; evicted %lu refaults %lu; peak %lu frames\n",
                o->name, o->pid, o->killed ? "killed, status" : "exit status   ", o->status, o->zero_map,
                o->zero_fill, o->image, o->copy, o->reuse, o->table_copy, o->evicted, o->refaults, o->peak);
        if (o->killed) kprintf("      killed: %s\n", o->why);
    }
    vm_stats_report();
    mmkit_cow_stats_get(&cow, &cs);
    mmkit_lru_stats_get(&lru, &ls);

    fk = find_outcome(ROLE_FORKER, false, 0);
    sw = find_outcome(ROLE_SWAPPER, false, 0);
    lk = find_outcome(ROLE_LEAKER, false, 0);
    c0 = find_outcome(ROLE_FORKER, true, 0);
    c1 = find_outcome(ROLE_FORKER, true, 1);
    for (i = 0; i < noutcomes; i++) {
        const outcome *o = &outcomes[i];
        if (o->segv) {
            nsegv++;
            continue;
        }
        if (o->role != ROLE_LEAKER && (o->killed || o->status != 0)) tasks_ok = false;
        if (o->role != ROLE_LEAKER && o->killed) only_leaker = false;
    }
    ksnprintf(d, sizeof d, "forker, its 3 children, an orphaned grandchild and swapper exited with "
              "status 0 (%u tasks ended; %lu OOM consumer(s) outlived their task)", noutcomes,
              kst.consumers_deferred);
    check("tasks_exit", tasks_ok && fk && sw && c0 && c1 && find_outcome(ROLE_FORKER, true, 3) &&
              noutcomes == 10 && kst.consumers_deferred > 0, d);
    ksnprintf(d, sizeof d, "%u tasks killed by their own bad access (a write to text: EACCES, a read "
              "past the break, a read of a page given back by sbrk: ENOENT), %lu EACCES from "
              "mmkit_cow_fault; the parent saw status 139", nsegv,
              cs.eacces);
    check("protection_faults", nsegv == 3 && cs.eacces == 1 && kst.segv == 3 && cs.segv == 2 && fk && fk->status == 0, d);
    ksnprintf(d, sizeof d, "%lu zero-map and %lu zero-fill faults, %lu image fills", cs.zero_maps,
              cs.zero_fills, fk ? fk->image + (sw ? sw->image : 0) : 0);
    check("demand_zero", cs.zero_fills > 0 && cs.zero_maps > 0 && fk && fk->image > 0, d);
    ksnprintf(d, sizeof d, "%lu classic fork(s), child copied %lu pages on write, parent reused %lu",
              kst.forks_classic, c0 ? c0->copy : 0, fk ? fk->reuse : 0);
    check("cow_fork_classic", kst.forks_classic == 5 && c0 && c0->copy > 0 && c0->status == 0, d);
    ksnprintf(d, sizeof d, "%lu table-sharing fork(s), %lu leaf-table copies, child copied %lu pages",
              kst.forks_share, cs.table_copies, c1 ? c1->copy : 0);
    check("cow_fork_share_tables", kst.forks_share == 2 && cs.table_copies > 0 && c1 && c1->copy > 0 &&
              c1->status == 0, d);
    ksnprintf(d, sizeof d, "swapper: %lu pages evicted, %lu refaulted, checksums equal; %lu evictions in all",
              sw ? sw->evicted : 0, sw ? sw->refaults : 0, kst.evictions);
    check("swap_out_and_in", sw && sw->evicted > 0 && sw->refaults > 0 && sw->status == 0, d);
    ksnprintf(d, sizeof d, "%lu aging passes (mmkit_lru_age), %lu pages found young", kst.aging_passes, ls.aged);
    check("lru_aging", kst.aging_passes > 0 && ls.aged > 0, d);
    ksnprintf(d, sizeof d, "leaker killed (%s), nobody else",
              lk && lk->killed ? lk->why : "not killed");
    check("oom_kill", lk && lk->killed && only_leaker && kst.kills == 1, d);
    ksnprintf(d, sizeof d, "mmkit_{buddy,frame_map,slab,cow,lru,oom,pagetable}_check");
    check("checks", mem_check() == 0 && vm_check() == 0, d);
    {
        bool clean = vm_no_leaks(&live, &bfree);
        ksnprintf(d, sizeof d, "data frames held %lu, buddy free %lu (at boot %lu), swap slots used %lu",
                  live, bfree, mem.free_at_boot, kst.swap_used);
        check("no_leaks", clean, d);
    }
    kprintf("MMKIT-KERNEL: %s %u/%u\n", oks == checks ? "PASS" : "FAIL", oks, checks);
    arch_exit(oks == checks ? 0 : 1);
}
