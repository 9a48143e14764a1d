/* mmkit_oom.h - memory pressure, the reclaim chain and the out-of-memory policy on any frame
 * provider.                                                        MIT licence, see mmkit_core.h.
 *
 * What a kernel, a hypervisor (guest overcommit, ballooning) or a runtime needs when its frame
 * provider runs dry, as one library instance: watermarks (min/low/high) over the provider's
 * free frames with Linux's defaults and callbacks when a level is crossed either way; pressure
 * stall accounting in the spirit of Linux PSI ("some" and "full" over 10 s and 60 s windows on
 * the caller's clock) so that a policy can act on sustained pressure before memory is gone, as
 * systemd-oomd and Android's lmkd do; reclaim sources registered as shrinkers (count / scan,
 * a priority, a stop answer), with ready adapters for mmkit_slab caches and for an mmkit_lru
 * page cache (evict, write back dirty victims, unmap and free through the caller); victim
 * selection among registered consumers by
 * usage and an adjustment in [-1000, 1000] that stays exact at small totals; group budgets in
 * the spirit of cgroup v2 (min/low/high/max, hierarchical); overcommit accounting; and an OOM
 * provider wrapper whose alloc runs the whole chain (shrinkers by priority -> kill a victim
 * through a callback -> retry, bounded) and reports what it did.
 *
 * API AT A GLANCE
 *   instance
 *     mmkit_oom_mem_size(&desc, &bytes)            caller memory for the consumer/group/shrinker tables
 *     mmkit_oom_init(o, &desc)                     build an instance from a zero-initialised desc
 *     mmkit_oom_destroy(o)                         zero it; EBUSY while wrapper frames are out
 *   watermarks and levels
 *     mmkit_oom_wmark_defaults(&desc, &w)          the min/low/high init would derive (Linux's formula)
 *     mmkit_oom_wmark_set(o, &w)                   set min/low/high
 *     mmkit_oom_update(o)                          re-read free frames, fire level crossings
 *   pressure stall accounting
 *     mmkit_oom_stall_begin(o, id)                 consumer id starts waiting for memory
 *     mmkit_oom_stall_end(o, id)                   ... and stops
 *     mmkit_oom_psi_get(o, &psi)                   some/full: avg10, avg60, totals
 *     mmkit_oom_pressure_init(p, &pdesc)           the PSI trigger policy's state (zero desc = defaults)
 *     mmkit_oom_pressure_action(o, p, &decision)   call periodically: act now? and on whom
 *   reclaim
 *     mmkit_oom_shrinker_add(o, &sdesc, &id)       register a reclaim source
 *     mmkit_oom_shrinker_remove(o, id)             unregister it
 *     mmkit_oom_reclaim(o, frames, &freed)         run the shrinkers now (background reclaim)
 *     mmkit_oom_slab_shrinker(cache, prio, &sdesc) a shrinker desc over mmkit_slab_shrink
 *     mmkit_oom_lru_shrinker_init(sh, lru, &cb, prio, &sdesc)  a shrinker desc that reclaims
 *                                                  through an mmkit_lru policy
 *   consumers and victims
 *     mmkit_oom_consumer_add(o, &cdesc, &id)       register a process / VM / cache
 *     mmkit_oom_consumer_remove(o, id)             unregister (EBUSY while it holds frames)
 *     mmkit_oom_consumer_set_adj(o, id, adj)       adjustment in [-1000, 1000]; -1000 = never
 *     mmkit_oom_consumer_get(o, id, &info)         usage, score, state
 *     mmkit_oom_charge(o, id, frames)              charge usage that did not come through the wrapper
 *     mmkit_oom_uncharge(o, id, frames)            ... and give it back
 *     mmkit_oom_select(o, group, &id)              the victim the policy would pick now
 *     mmkit_oom_kill(o, id)                        kill through the kill hook, mark the consumer
 *   groups
 *     mmkit_oom_group_add(o, &gdesc, &id)          a budget: parent, min, low, high, max
 *     mmkit_oom_group_set(o, id, &gdesc)           change it (cycles refused)
 *     mmkit_oom_group_remove(o, id)                unregister (EBUSY while used)
 *     mmkit_oom_group_get(o, id, &info)            usage, effective protection, events
 *   overcommit
 *     mmkit_oom_commit(o, id, frames)              account a reservation (mmap) under the mode
 *     mmkit_oom_uncommit(o, id, frames)            release it
 *   the OOM provider wrapper
 *     mmkit_oom_provider(o, id)                    a provider that charges id and runs the chain
 *     mmkit_oom_alloc(o, id, order, flags, &pa, &rep)  the same alloc, with its report
 *     mmkit_oom_free(o, id, pa, order)             free through the wrapped provider, uncharge
 *     mmkit_oom_report_get(o, &rep)                the last wrapper alloc's report
 *   queries
 *     mmkit_oom_stats_get(o, &stats)               counters
 *     mmkit_oom_check(o)                           walk every invariant
 *
 * TYPES
 *   mmkit_oom_desc          how to build an instance (zero = defaults): the wrapped provider,
 *                           total frames and an optional free_frames hook, watermarks, clock,
 *                           event and kill hooks, table sizes + mem, overcommit, lock hooks
 *   mmkit_oom               an instance: caller-owned storage, fields internal
 *   mmkit_oom_wmarks        {min, low, high} in frames
 *   mmkit_oom_level         OK (free >= high), HIGH (below high), LOW (below low), MIN (below min)
 *   mmkit_oom_event         what the event hook is told: a level crossing or a group over high
 *   consumer                a charged user of memory (process, VM, cache), id = table index
 *   group                   a budget over consumers and child groups (cgroup v2 style)
 *   shrinker                a reclaim source: count(), scan(nr), a priority
 *   mmkit_oom_lru_callbacks writeback(idx) for dirty victims, release(idx) = unmap + free
 *   mmkit_oom_lru_shrinker  the LRU adapter's caller-owned state (the shrinker's ctx)
 *   mmkit_oom_report        what one wrapper alloc did (tries, reclaim, kills, stall time)
 *   mmkit_oom_psi           stall shares: some/full avg10/avg60 in 1/10000, totals in ns
 *   mmkit_oom_pressure      the PSI trigger's thresholds and state (caller-owned)
 *   mmkit_oom_pressure_decision  {act, reason, victim, psi} of one pressure_action call
 *   score                   1000 * usage + adj * T (T = the scope's total frames), see DESIGN
 *
 * USAGE
 *       #define MMKIT_IMPLEMENTATION            // in one .c file
 *       #include <mmkit/mmkit_buddy.h>
 *       #include <mmkit/mmkit_oom.h>
 *
 *       static mmkit_oom oom;  static uint64_t oom_mem[1024];
 *       mmkit_oom_desc d = {0};
 *       d.provider = mmkit_buddy_provider(&buddy);         // the provider being guarded
 *       mmkit_buddy_stats bs;  mmkit_buddy_stats_get(&buddy, &bs);
 *       d.total_frames = bs.total_frames;
 *       d.free_frames = my_buddy_free;  d.free_ctx = &buddy; // exact free count (optional)
 *       d.now = my_clock_ns;  d.kill = my_kill;  d.event = my_event;  d.hook_ctx = &sched;
 *       size_t need;  mmkit_oom_mem_size(&d, &need);      // 32 consumers, 8 groups, 8 shrinkers
 *       d.mem = oom_mem;  d.mem_size = sizeof oom_mem;      // >= need
 *       if (mmkit_oom_init(&oom, &d) != MMKIT_OK) panic();
 *       uint32_t pid;  mmkit_oom_consumer_desc c = {0};  c.name = "init";  c.group = MMKIT_OOM_NONE;
 *       mmkit_oom_consumer_add(&oom, &c, &pid);
 *       mmkit_provider p = mmkit_oom_provider(&oom, pid);   // what the process allocates from
 *       mmkit_paddr pa;  mmkit_provider_alloc(&p, 0, MMKIT_ALLOC_ZERO, &pa);  // charged to pid
 *       mmkit_provider_free(&p, pa, 0);                     // uncharged
 *
 * DESIGN
 *   Free frames. The instance must know the provider's free frames for watermarks. With
 *   desc.free_frames (a hook, e.g. returning the buddy's free_frames) the count is exact
 *   whoever allocates; without it the instance counts: free = desc.total_frames - frames
 *   handed out through this wrapper (right when the wrapper is the provider's only user).
 *   Watermarks (defaults, Linux mm/page_alloc.c, calculate_min_free_kbytes and
 *   __setup_per_zone_wmarks, for one zone holding all of desc.total_frames):
 *       min_free_kbytes = clamp(isqrt(16 * total_kbytes), 128, 262144)
 *       min   = min_free_kbytes in frames (kbytes * 1024 >> MMKIT_PAGE_SHIFT)
 *       delta = max(min / 4, total_frames * scale / 10000)     scale = watermark_scale_factor
 *       low   = min + delta,   high = min + 2 * delta           (default 10, range 1..3000)
 *   min/4 is sqrt(total_kbytes) kB and the scale term total_kbytes * scale / 10000 kB, so with
 *   the default scale min/4 wins below 1 GiB (10^6 kB): there low = min + min/4 and high =
 *   min + min/2 (the kernels before 4.6, which added the scale factor); above it the scale
 *   term does. Source checked: Linux mm/page_alloc.c (calculate_min_free_kbytes clamps to
 *   128..262144 kB since 5.x; 65536 before) and Documentation/admin-guide/sysctl/vm.rst.
 *   One deviation: when min > total / 4 (pools under 512 KiB, where the 128 KiB floor would
 *   be most of memory) min = total / 4. high is capped at total.
 *   Levels: OK free >= high; HIGH low <= free < high; LOW min <= free < low; MIN free < min.
 *   After every wrapper alloc/free, charge, set and mmkit_oom_update the level is recomputed;
 *   a change calls the event hook once with {MMKIT_OOM_EV_LEVEL, old, new, free} - so a drop
 *   from OK to MIN is one event, and so is the way back (both directions).
 *   A wrapper alloc without MMKIT_ALLOC_NORECLAIM that would leave free below min runs the
 *   reclaim chain first (as Linux's allocations below the min watermark enter direct reclaim);
 *   NORECLAIM allocations (those made by reclaim itself) may dip below min and never reclaim.
 *
 *   Pressure stalls (PSI). A consumer is stalled between mmkit_oom_stall_begin and
 *   mmkit_oom_stall_end (nesting counts; the caller reports waits such as refault I/O) and
 *   while a wrapper alloc on its behalf runs the reclaim chain (the uncharged provider's
 *   stalls count as "the system"). For a library with several consumers:
 *       some = time during which at least one stall is in progress (any consumer or system);
 *       full = time during which every live consumer (registered and not killed; at least one)
 *              is stalled at once - nobody makes progress.
 *   With one consumer full == some. Time is the desc.now(hook_ctx) clock in ns (no clock: all
 *   PSI figures stay 0). It is folded into buckets of desc.psi_bucket_ns (default 1 s) on every
 *   state change and every psi_get: avg10 / avg60 are the stall time in the last 10 / 60
 *   completed buckets divided by 10 / 60 bucket widths, in 1/10000 (10000 = 100%): a
 *   rectangular window, exact and hand-checkable, where Linux uses exponential averages over
 *   2 s samples. Buckets before init count as 0. A clock that goes backwards is held at its
 *   last value. Totals are exact ns.
 *
 *   The PSI trigger (mmkit_oom_pressure_action, for a caller that wants to act before memory
 *   is exhausted, as systemd-oomd / lmkd do). Call it periodically (e.g. every second, from a
 *   timer or the allocator's slow path); each call reads psi_get and says act / do not act:
 *       rising:  some_avg10 >= some_avg60 + some_rise   (default 50 = 0.5 percentage points)
 *       full:    full_avg10 >= full_limit               (default 1000 = 10%)
 *   holding on `sustain` consecutive calls at least 1 s apart (default 2), not before arm_ns
 *   after the first call (default 90 s) and not within cooldown_ns after an action (default
 *   60 s). Why these defaults: steady pressure, however high, has avg10 ~= avg60, so "some" is
 *   read as a trend, not a level: a workload whose normal refault stalls are 5% is not
 *   punished, while a leak that pushes the page cache out raises the 10 s window over the 60 s
 *   one as soon as refaults climb (the 10 s average follows within seconds, the 60 s one lags
 *   by 6x). 0.5 points is about one 5 ms stall per second more than the last minute's rate:
 *   above the noise of a bucketed 1 s clock, below what a doubling of a few refaults per
 *   second makes. Two consecutive seconds filter a single burst. "full" 10% (nobody made
 *   progress for a tenth of the last 10 s) is an absolute backstop, as oomd's limits are, for
 *   pressure that rose too slowly to show as a trend. arm_ns: the 60 s window must be full,
 *   and must not be the system's own start-up (working sets still being faulted in are a
 *   rising trend too; 60 s alone let 3 of bench_oom's 100 start-ups through). cooldown_ns = one
 *   60 s window: until the minute that held the last victim's damage has passed, the trend
 *   compares recovery (the page cache refilling) against that damage and misleads.
 *   On act, decision.victim is mmkit_oom_select(o, NONE) under the current adjustments (set
 *   them first, e.g. from each consumer's recent growth, as bench_oom does); the call kills
 *   nobody: the caller does, with mmkit_oom_kill. The trigger says WHEN; whom is the
 *   adjustment's business, and a growth-based adjustment mistakes a bursty process for a
 *   leak (bench_oom family 4).
 *
 *   Shrinkers. count(ctx) says how many frames scan could free now (0: skip it); scan(ctx, nr,
 *   priority) frees up to about nr and returns the frames it freed, or MMKIT_OOM_SHRINK_STOP
 *   ("cannot make progress now", e.g. a lock it would need is held: the chain goes on to the
 *   next). The chain runs shrinkers in ascending (priority, id) and stops as soon as the
 *   target is reached; nr passed is min(count, target - freed so far). The frames a shrinker
 *   reports are trusted (counted in stats); the watermarks read free frames again.
 *   mmkit_oom_slab_shrinker (needs mmkit_slab.h, included by this header) counts the frames of
 *   a cache's empty slabs and scans with mmkit_slab_shrink (all of them, whatever nr is).
 *   The LRU adapter (mmkit_oom_lru_shrinker_init) is a shrinker too; register it with a
 *   larger priority (MMKIT_OOM_PRIO_LRU) than the caches so that it runs after them. count =
 *   the policy's resident items (one frame each); scan(nr) evicts up to nr victims in the
 *   policy's order (mmkit_lru_evict: pinned / under-writeback items are skipped through the
 *   policy's can_evict), and for each: a dirty one goes to cb.writeback(idx) first (the frame
 *   is written out before reuse); then cb.release(idx) drops its mapping through the caller's
 *   gather and frees the frame, returning the frames freed. A writeback or release that fails
 *   puts the victim back (re-inserted, dirty if it was; it loses its place) and ends the scan:
 *   the frames freed so far, or MMKIT_OOM_SHRINK_STOP when none. Callbacks run without the
 *   instance lock, like every shrinker, and may allocate with MMKIT_ALLOC_NORECLAIM only.
 *
 *   Victims. Candidates: live (not killed) consumers with usage > 0 and adj != -1000 (-1000:
 *   never), inside the scope (the whole instance, or a group's subtree for a group OOM).
 *       score = 1000 * usage + adj * T        T = total_frames (global) or the group's max
 *   This is Linux's oom_badness (usage + adj * T / 1000) multiplied by 1000 and left
 *   undivided, so it is exact at any size: with T = 100 frames, adj +10 still adds 1 frame's
 *   worth (Linux's integer division turns every |adj| < 1000 / T into 0). Computed in int64.
 *   Protection tiers come first: a consumer whose group (or an ancestor up to the scope) has
 *   usage <= its effective min is never chosen; one at or below its effective low is chosen
 *   only when no unprotected candidate exists. Ties (equal tier and score): larger usage,
 *   then the lower id. Deterministic, no recursion. While a killed consumer still holds usage
 *   inside the scope, no second victim is chosen (the OOM waits for the first to release, as
 *   Linux waits on an OOM victim): the alloc returns ENOMEM instead of killing again.
 *   The kill hook kill(hook_ctx, id) must make the consumer release its memory (now, through
 *   mmkit_oom_free / mmkit_oom_uncharge, or later); MMKIT_OK marks it killed: excluded from
 *   victims and from "live" in PSI; it can still free and uncharge, then be removed.
 *
 *   Groups (cgroup v2 memory.min/low/high/max). A group has a parent (MMKIT_OOM_NONE = a top
 *   group), usage = frames charged by its consumers and its children, each frame charged
 *   exactly once to the consumer and once to each group on its path (check() proves the sums).
 *   max: a charge that would take a group on the path over max makes a group OOM: a victim is
 *   chosen inside that group's subtree and killed (no shrinkers: they are global), bounded as
 *   below; still over -> ENOMEM, nothing charged. high: a charge that leaves a group above high
 *   succeeds and signals throttling: MMKIT_OOM_EV_THROTTLE (the lowest such group) through the
 *   event hook and report.throttle_group; the caller slows the consumer down. Effective
 *   protection: emin(g) = min(g.min, emin(parent)), elow likewise (a child cannot be protected
 *   more than its parent; Linux also splits an overcommitted parent's protection in proportion,
 *   which this does not). 0 for high/max means no limit. Setting a parent that is the group
 *   itself or one of its descendants is a cycle -> EINVAL; re-parenting a group with usage
 *   -> EBUSY.
 *
 *   Overcommit (Linux vm.overcommit_memory, in frames). commit(id, n) accounts a promise:
 *     HEURISTIC (default): refuse a single request larger than total + swap frames;
 *     ALWAYS: never refuse;  NEVER: refuse when committed + n > commit limit, where the limit
 *     is desc.commit_limit or total * overcommit_ratio / 100 + swap (ratio default 50).
 *   Refusal: ENOMEM, nothing accounted. uncommit more than the consumer committed: EINVAL.
 *
 *   The wrapper's alloc (mmkit_oom_alloc, or alloc through mmkit_oom_provider):
 *     1. group budget: while a group on the path would go over max: group OOM (kill in it).
 *     2. loop, at most desc.max_retries + 1 provider attempts (default max_retries 4):
 *          try the wrapped provider (skipped while free would drop below min, unless NORECLAIM);
 *          OK -> charge, done.  NORECLAIM -> ENOMEM at once (reclaim never recurses).
 *          run the shrinkers (target: 2^order + (high - free)); any frames freed -> try again;
 *          none -> select and kill a victim; nobody to kill, or a victim still releasing ->
 *          ENOMEM.
 *   Every flag goes to the wrapped provider unchanged (ZERO, address limits): the wrapper
 *   adds no frames of its own, so a limit it cannot meet is the provider's ENOMEM, and the
 *   chain runs for it too (the issue's "passes through every flag"). Unknown flags: EINVAL.
 *   The report says: final status, provider tries, shrinker calls, frames reclaimed, kills
 *   and the last victim, group OOM and throttle group, stall ns, level after.
 *
 * LIMITS
 *   Tables sized by desc (max_consumers default 32, max_groups 8, max_shrinkers 8, each up to
 *   MMKIT_OOM_MAX_TABLE = 4096). Frames per count up to 2^48, except commitments (commit,
 *   uncommit, desc.commit_limit: up to 2^49, which total + swap can reach).
 *   psi_bucket_ns up to 3600 s.
 *   Group depth is bounded by max_groups (no cycles).
 *
 * BAD INPUT (returns a status and changes nothing)
 *   NULL or zeroed (never initialised, failed init, destroyed) instance -> EINVAL; functions
 *   returning a value return a zero value (mmkit_oom_provider: an empty provider).
 *   Unknown or removed consumer / group / shrinker id -> ENOENT; adj outside [-1000, 1000]
 *   -> EINVAL; group cycle -> EINVAL; uncharge more than was charged through charge(), free
 *   through the wrapper more than the consumer got from it, uncommit more than committed ->
 *   EINVAL; stall_end without stall_begin -> EINVAL; watermarks not min <= low <= high <=
 *   total -> EINVAL; unknown alloc flags or order > 47 -> EINVAL; a frame count over 2^48
 *   (charge, uncharge, reclaim, group limits, ...; commit: over 2^49) -> EINVAL; a full
 *   table -> ENOSPC; removing a consumer
 *   with usage, commitments or a stall in progress, or a group with members -> EBUSY.
 *   init: NULL desc, provider without alloc/free, total_frames 0 or > 2^48, swap_frames
 *   > 2^48, commit_limit > 2^49, an unknown overcommit mode, overcommit_ratio over 10000,
 *   table sizes over
 *   the maximum, a scale factor over 3000, bucket width over an hour, bad watermarks, lock
 *   hooks with only one set -> EINVAL; mem NULL -> EINVAL; too small -> ENOSPC; not 8-byte
 *   aligned -> EALIGN. Define MMKIT_LOG to hear which rule, e.g.
 *   "mmkit_oom_consumer_set_adj: adj: must be -1000..1000".
 *
 * COMPLEXITY (C consumers, G groups, S shrinkers, d = group depth <= G)
 *   alloc/free through the wrapper ........ O(d) plus, on the slow path, per round
 *                                           O(S^2) shrinker order + O(C * d) victim choice
 *   charge / uncharge / commit ............. O(d) (charge over max: + group OOM rounds)
 *   select / kill .......................... O(C * d) (each candidate's protection walks its
 *                                           group path, d = group depth)
 *   stall_begin / end / psi_get ............ O(1) amortised (at most 61 buckets per fold)
 *   consumer/group/shrinker add ............ O(table); group_set O(G * d) (cycle check)
 *   reclaim ................................ O(S^2) + the shrinkers
 *   check .................................. O(C * d + G * d + S)
 *   init ................................... O(table sizes) (the tables are cleared)
 *
 * THREADS AND IRQS
 *   Without lock hooks the caller serialises every call. With desc.lock every call takes it
 *   around the instance's state and releases it around every hook it calls (shrinkers, kill,
 *   event): those may call back into this instance (a kill hook freeing the victim's frames
 *   through mmkit_oom_free is the normal case), with or without lock hooks. Re-entering the
 *   CHAIN from a hook is not detected: a shrinker or kill hook that calls mmkit_oom_reclaim, or
 *   allocates through the wrapper without MMKIT_ALLOC_NORECLAIM, runs the chain again inside
 *   itself (the kill hook can be called again for the same victim before it is marked killed),
 *   nested as deep as the hooks keep doing so: inside hooks allocate with NORECLAIM only (it
 *   never reclaims) and do not call reclaim. The wrapped provider, free_frames and the
 *   clock are called with the lock held: they must not call into this instance. Ids stay
 *   valid until removed; a wrapper alloc re-checks its consumer after every hook.
 *   init and destroy must not run concurrently with anything on the instance.
 *
 * CONFIGURATION
 *   MMKIT_OOM_MAX_TABLE       largest table size (default 4096)
 *   MMKIT_OOM_DEFAULT_RETRIES provider attempts after the first (default 4)
 */
#ifndef MMKIT_OOM_H
#define MMKIT_OOM_H

#include "mmkit_core.h"
#include "mmkit_slab.h"
#include "mmkit_lru.h"

#ifndef MMKIT_OOM_MAX_TABLE
#define MMKIT_OOM_MAX_TABLE 4096u
#endif
#ifndef MMKIT_OOM_DEFAULT_RETRIES
#define MMKIT_OOM_DEFAULT_RETRIES 4u
#endif
#define MMKIT_OOM_NONE UINT32_MAX             /* no consumer / no group / top of the tree */
#define MMKIT_OOM_ADJ_NEVER (-1000)           /* this consumer is never chosen as a victim */
#define MMKIT_OOM_SHRINK_STOP UINT64_MAX      /* scan: cannot make progress now */
#define MMKIT_OOM_PRIO_CACHE 100u             /* default priority of the slab adapter */
#define MMKIT_OOM_PRIO_LRU 200u               /* default priority of the LRU adapter */
#define MMKIT_OOM_PSI_BUCKETS 60u             /* completed buckets kept: the 60 s window */
#define MMKIT_OOM_MAX_FRAMES ((uint64_t)1 << 48)

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---------------------------------------------------------------------------------- */

typedef struct mmkit_oom mmkit_oom;

typedef enum mmkit_oom_level {
    MMKIT_OOM_LEVEL_OK = 0, /* free >= high */
    MMKIT_OOM_LEVEL_HIGH,   /* low <= free < high */
    MMKIT_OOM_LEVEL_LOW,    /* min <= free < low: background reclaim should run */
    MMKIT_OOM_LEVEL_MIN     /* free < min: only NORECLAIM allocations proceed without reclaim */
} mmkit_oom_level;

typedef enum mmkit_oom_overcommit {
    MMKIT_OOM_OVERCOMMIT_HEURISTIC = 0, /* refuse only a single request > total + swap */
    MMKIT_OOM_OVERCOMMIT_ALWAYS,        /* never refuse */
    MMKIT_OOM_OVERCOMMIT_NEVER          /* refuse beyond the commit limit */
} mmkit_oom_overcommit;

typedef struct mmkit_oom_wmarks {
    uint64_t min, low, high; /* frames */
} mmkit_oom_wmarks;

typedef enum mmkit_oom_event_type {
    MMKIT_OOM_EV_LEVEL = 1, /* the level changed: old_level -> new_level */
    MMKIT_OOM_EV_THROTTLE   /* group `id` is above its high after a charge by `consumer` */
} mmkit_oom_event_type;

typedef struct mmkit_oom_event {
    mmkit_oom_event_type type;
    mmkit_oom_level old_level, new_level; /* LEVEL */
    uint64_t free_frames;                 /* LEVEL: free frames now */
    uint32_t id;                          /* THROTTLE: the group */
    uint32_t consumer;                    /* THROTTLE: who charged */
    uint64_t usage;                       /* THROTTLE: the group's usage */
} mmkit_oom_event;

/* A reclaim source. count and scan are required. */
typedef struct mmkit_oom_shrinker_desc {
    const char *name;                             /* kept by pointer; NULL = "" */
    uint64_t (*count)(void *ctx);                 /* frames scan could free now */
    uint64_t (*scan)(void *ctx, uint64_t nr, unsigned priority); /* freed, or SHRINK_STOP */
    void *ctx;
    unsigned priority;                            /* lower runs first */
} mmkit_oom_shrinker_desc;

/* What the LRU adapter calls for each victim (both required; ctx is theirs). */
typedef struct mmkit_oom_lru_callbacks {
    /* write dirty victim idx out; MMKIT_OK = clean now, anything else: keep it (scan ends) */
    mmkit_status (*writeback)(void *ctx, uint32_t idx);
    /* unmap idx's page through the caller's gather and free its frame(s); frames freed
     * (0 = could not now: it is put back and the scan ends) */
    uint64_t (*release)(void *ctx, uint32_t idx);
    void *ctx;
} mmkit_oom_lru_callbacks;

/* The LRU adapter's state, caller-owned (it is the shrinker's ctx; keep it alive while the
 * shrinker is registered). Counters are the caller's to read; the rest is internal. */
typedef struct mmkit_oom_lru_shrinker {
    mmkit_lru *lru;
    mmkit_oom_lru_callbacks cb;
    uint64_t evicted, written_back, released_frames, put_back;
    uint32_t magic;
} mmkit_oom_lru_shrinker;

typedef struct mmkit_oom_consumer_desc {
    const char *name; /* kept by pointer; NULL = "" */
    int adj;          /* -1000..1000; MMKIT_OOM_ADJ_NEVER = never a victim */
    uint32_t group;   /* a group id, or MMKIT_OOM_NONE (a zeroed desc means group 0!) */
    void *ctx;        /* the caller's, returned in consumer_get */
} mmkit_oom_consumer_desc;

typedef struct mmkit_oom_group_desc {
    const char *name;   /* kept by pointer */
    uint32_t parent;    /* a group id or MMKIT_OOM_NONE */
    uint64_t min, low;  /* protection (frames) */
    uint64_t high, max; /* throttle above high, OOM above max; 0 = no limit */
} mmkit_oom_group_desc;

typedef struct mmkit_oom_desc {
    mmkit_provider provider;           /* the provider being guarded: alloc and free required */
    uint64_t total_frames;             /* frames it manages (1..2^48): watermarks, T, overcommit */
    uint64_t (*free_frames)(void *ctx);/* optional exact free count; NULL = count the wrapper */
    void *free_ctx;
    mmkit_oom_wmarks wmark;            /* all 0 = derived (DESIGN) */
    unsigned wmark_scale;              /* watermark_scale_factor, 1..3000; 0 = 10 */
    uint64_t (*now)(void *ctx);        /* clock in ns for PSI; NULL = no PSI */
    uint64_t psi_bucket_ns;            /* 0 = 1 s; up to 3600 s */
    void (*event)(void *ctx, const mmkit_oom_event *ev);     /* optional */
    mmkit_status (*kill)(void *ctx, uint32_t consumer);      /* optional: no hook, no kills */
    void *hook_ctx;                    /* passed to now, event and kill */
    unsigned max_retries;              /* provider attempts after the first; 0 = default 4 */
    mmkit_oom_overcommit overcommit;
    unsigned overcommit_ratio;         /* percent for NEVER's limit; 0 = 50 */
    uint64_t swap_frames;              /* swap in frames (overcommit limits) */
    uint64_t commit_limit;             /* NEVER: explicit limit in frames; 0 = derived */
    uint32_t max_consumers;            /* 0 = 32 */
    uint32_t max_groups;               /* 0 = 8 */
    uint32_t max_shrinkers;            /* 0 = 8 */
    void *mem;                         /* >= mmkit_oom_mem_size() bytes, 8-byte aligned */
    size_t mem_size;
    mmkit_lock_hooks lock;             /* optional */
} mmkit_oom_desc;

typedef struct mmkit_oom_report {
    mmkit_status status;    /* what the alloc returned */
    uint32_t consumer;      /* who allocated (MMKIT_OOM_NONE: the uncharged provider) */
    unsigned order;
    unsigned tries;         /* calls of the wrapped provider's alloc */
    unsigned shrinker_calls;/* scan calls */
    uint64_t reclaimed;     /* frames the shrinkers reported */
    unsigned kills;         /* victims killed by this alloc (group OOM included) */
    uint32_t victim;        /* the last one, or MMKIT_OOM_NONE */
    uint32_t group_oom;     /* the group whose max caused a group OOM, or NONE */
    uint32_t throttle_group;/* a group left above high, or NONE */
    uint64_t stall_ns;      /* time spent in the chain (0 without a clock) */
    mmkit_oom_level level;  /* the level afterwards */
} mmkit_oom_report;

typedef struct mmkit_oom_psi {
    uint32_t some_avg10, some_avg60; /* 1/10000 of the window */
    uint32_t full_avg10, full_avg60;
    uint64_t some_total_ns, full_total_ns;
    uint32_t stalled;                /* stalls in progress (consumers + system) */
    uint32_t live;                   /* live consumers */
} mmkit_oom_psi;

/* Thresholds of the PSI trigger (zero = the defaults, see DESIGN). */
typedef struct mmkit_oom_pressure_desc {
    uint32_t some_rise;  /* act when some_avg10 >= some_avg60 + some_rise (1/10000); 0 = 50 */
    uint32_t full_limit; /* ... or when full_avg10 >= full_limit (1/10000); 0 = 1000 */
    uint32_t sustain;    /* consecutive calls >= 1 s apart the condition must hold; 0 = 2 */
    uint64_t arm_ns;     /* no action within this long of the first call; 0 = 90 s */
    uint64_t cooldown_ns; /* no action within this long of the last one; 0 = 60 s */
} mmkit_oom_pressure_desc;

/* The trigger's state, caller-owned; fields internal. */
typedef struct mmkit_oom_pressure {
    mmkit_oom_pressure_desc d;
    uint64_t first_ns, last_ns, quiet_until;
    uint32_t held, started, magic;
} mmkit_oom_pressure;

typedef enum mmkit_oom_pressure_reason {
    MMKIT_OOM_PRESSURE_NONE = 0,
    MMKIT_OOM_PRESSURE_RISING, /* some_avg10 over some_avg60 + some_rise, sustained */
    MMKIT_OOM_PRESSURE_FULL    /* full_avg10 over full_limit, sustained */
} mmkit_oom_pressure_reason;

typedef struct mmkit_oom_pressure_decision {
    bool act;                         /* kill decision.victim now */
    mmkit_oom_pressure_reason reason; /* why (NONE when !act) */
    uint32_t victim;                  /* mmkit_oom_select's choice; MMKIT_OOM_NONE: nobody */
    uint32_t held;                    /* consecutive calls the condition has held */
    mmkit_oom_psi psi;                /* what it read */
} mmkit_oom_pressure_decision;

typedef struct mmkit_oom_consumer_info {
    const char *name;
    void *ctx;
    int adj;
    uint32_t group;
    uint64_t usage;     /* frames charged (wrapper + charge()) */
    uint64_t wrapped;   /* of those, through the wrapper */
    uint64_t committed; /* overcommit accounting */
    int64_t score;      /* 1000 * usage + adj * total_frames */
    bool killed;
    unsigned stall_depth;
} mmkit_oom_consumer_info;

typedef struct mmkit_oom_group_info {
    const char *name;
    uint32_t parent;
    uint64_t usage, min, low, high, max;
    uint64_t emin, elow;           /* effective protection */
    uint32_t members, children;
    uint64_t high_events, max_events, oom_kills;
} mmkit_oom_group_info;

typedef struct mmkit_oom_stats {
    uint64_t total_frames, free_frames, wrapper_frames; /* wrapper_frames: out through it */
    mmkit_oom_wmarks wmark;
    mmkit_oom_level level;
    uint64_t level_events, throttle_events;
    uint64_t allocs, alloc_fails, slow_allocs;   /* slow: entered the chain */
    uint64_t reclaim_runs, shrinker_calls, reclaimed_frames;
    uint64_t kills, group_ooms;
    uint64_t committed, commit_limit;
    uint32_t consumers, groups, shrinkers;
} mmkit_oom_stats;

/* ---- instance ------------------------------------------------------------------------------ */

/* Validate desc as init does (mem aside) and say how many bytes desc.mem needs. O(1).
 * EINVAL for a bad desc or a NULL bytes. */
MMKIT_API mmkit_status mmkit_oom_mem_size(const mmkit_oom_desc *desc, size_t *bytes);
/* Build an instance. On failure *o is zeroed. O(table sizes). */
MMKIT_API mmkit_status mmkit_oom_init(mmkit_oom *o, const mmkit_oom_desc *desc);
/* Zero the instance. EBUSY (nothing changed) while frames handed out by the wrapper are out. */
MMKIT_API mmkit_status mmkit_oom_destroy(mmkit_oom *o);

/* ---- watermarks ---------------------------------------------------------------------------- */

/* The watermarks init derives from desc (total_frames, wmark_scale). EINVAL when desc is
 * NULL, total_frames is 0 or over 2^48, the scale is over 3000, or w is NULL. O(1). */
MMKIT_API mmkit_status mmkit_oom_wmark_defaults(const mmkit_oom_desc *desc, mmkit_oom_wmarks *w);
/* Set min <= low <= high <= total (else EINVAL); fires a level event if the level changes. */
MMKIT_API mmkit_status mmkit_oom_wmark_set(mmkit_oom *o, const mmkit_oom_wmarks *w);
/* Re-read free frames (the hook) and fire a level event when the level changed. O(1). */
MMKIT_API mmkit_status mmkit_oom_update(mmkit_oom *o);

/* ---- PSI ----------------------------------------------------------------------------------- */

/* Consumer id (or MMKIT_OOM_NONE: the system) starts / stops a stall. ENOENT unknown id;
 * end without begin EINVAL; depth over 65535 EINVAL. O(1) amortised. */
MMKIT_API mmkit_status mmkit_oom_stall_begin(mmkit_oom *o, uint32_t id);
MMKIT_API mmkit_status mmkit_oom_stall_end(mmkit_oom *o, uint32_t id);
/* Fold time up to now and report the windows. O(1) amortised. */
MMKIT_API mmkit_status mmkit_oom_psi_get(mmkit_oom *o, mmkit_oom_psi *psi);
/* Set up the PSI trigger's state with desc's thresholds (NULL or zeroed = defaults).
 * EINVAL: p NULL, some_rise or full_limit over 10000, arm_ns or cooldown_ns over 1 h. O(1). */
MMKIT_API mmkit_status mmkit_oom_pressure_init(mmkit_oom_pressure *p, const mmkit_oom_pressure_desc *desc);
/* One periodic check (see DESIGN "The PSI trigger"): fills *dec; dec->act says kill
 * dec->victim now (it kills nobody itself). An instance without a clock never acts.
 * EINVAL: o not initialised, p not set up by pressure_init, dec NULL. O(C * d) when the
 * condition holds (the victim choice), O(1) amortised otherwise. */
MMKIT_API mmkit_status mmkit_oom_pressure_action(mmkit_oom *o, mmkit_oom_pressure *p,
                                                 mmkit_oom_pressure_decision *dec);

/* ---- reclaim ------------------------------------------------------------------------------- */

/* Register a shrinker (count and scan required, else EINVAL); ENOSPC when the table is full. */
MMKIT_API mmkit_status mmkit_oom_shrinker_add(mmkit_oom *o, const mmkit_oom_shrinker_desc *d,
                                              uint32_t *id);
MMKIT_API mmkit_status mmkit_oom_shrinker_remove(mmkit_oom *o, uint32_t id);
/* Run the chain for `frames` (background reclaim, e.g. on a LOW event); *freed = frames the
 * shrinkers reported (may be NULL). frames 0 -> EINVAL. O(S^2) + the shrinkers. */
MMKIT_API mmkit_status mmkit_oom_reclaim(mmkit_oom *o, uint64_t frames, uint64_t *freed);
/* A shrinker desc over an mmkit_slab cache: count = frames of its empty slabs, scan =
 * mmkit_slab_shrink. The cache must outlive the registration. EINVAL for a NULL or zeroed
 * cache or a NULL d. O(1). */
MMKIT_API mmkit_status mmkit_oom_slab_shrinker(mmkit_slab_cache *cache, unsigned priority,
                                               mmkit_oom_shrinker_desc *d);
/* Fill *d with a shrinker that reclaims through lru (see DESIGN "The LRU adapter"); sh holds
 * its state and becomes d->ctx; register d with mmkit_oom_shrinker_add. EINVAL: sh, cb or d
 * NULL, lru not an initialised mmkit_lru, cb->writeback or cb->release NULL. O(1); the
 * shrinker's scan is O(nr) amortized plus the callbacks. */
MMKIT_API mmkit_status mmkit_oom_lru_shrinker_init(mmkit_oom_lru_shrinker *sh, mmkit_lru *lru,
                                                   const mmkit_oom_lru_callbacks *cb,
                                                   unsigned priority, mmkit_oom_shrinker_desc *d);

/* ---- consumers and victims ----------------------------------------------------------------- */

/* Register a consumer (adj checked, group must exist or be NONE). ENOSPC when full. O(C). */
MMKIT_API mmkit_status mmkit_oom_consumer_add(mmkit_oom *o, const mmkit_oom_consumer_desc *d,
                                              uint32_t *id);
/* Unregister; EBUSY while it has usage, commitments or a stall in progress (stall_begin
 * without stall_end). */
MMKIT_API mmkit_status mmkit_oom_consumer_remove(mmkit_oom *o, uint32_t id);
MMKIT_API mmkit_status mmkit_oom_consumer_set_adj(mmkit_oom *o, uint32_t id, int adj);
MMKIT_API mmkit_status mmkit_oom_consumer_get(const mmkit_oom *o, uint32_t id,
                                              mmkit_oom_consumer_info *info);
/* Charge frames that did not come through the wrapper (page cache, a balloon). Over a group's
 * max: group OOM (kill inside), then ENOMEM if still over. O(d). */
MMKIT_API mmkit_status mmkit_oom_charge(mmkit_oom *o, uint32_t id, uint64_t frames);
/* Give back charge()d frames; more than was charged through charge() -> EINVAL. O(d). */
MMKIT_API mmkit_status mmkit_oom_uncharge(mmkit_oom *o, uint32_t id, uint64_t frames);
/* The victim the policy picks in `group`'s subtree (MMKIT_OOM_NONE: everyone) now; ENOENT
 * when nobody qualifies (*id = MMKIT_OOM_NONE). O(C * d). */
MMKIT_API mmkit_status mmkit_oom_select(const mmkit_oom *o, uint32_t group, uint32_t *id);
/* Kill consumer id through the kill hook (EINVAL without one; the hook's failure is returned)
 * and mark it killed. Already killed -> EINVAL. O(1) + the hook. */
MMKIT_API mmkit_status mmkit_oom_kill(mmkit_oom *o, uint32_t id);

/* ---- groups -------------------------------------------------------------------------------- */

MMKIT_API mmkit_status mmkit_oom_group_add(mmkit_oom *o, const mmkit_oom_group_desc *d,
                                           uint32_t *id);
/* Change limits and parent. A cycle -> EINVAL; a new parent while used -> EBUSY. O(G * d). */
MMKIT_API mmkit_status mmkit_oom_group_set(mmkit_oom *o, uint32_t id, const mmkit_oom_group_desc *d);
/* EBUSY while it has usage, member consumers or child groups. */
MMKIT_API mmkit_status mmkit_oom_group_remove(mmkit_oom *o, uint32_t id);
MMKIT_API mmkit_status mmkit_oom_group_get(const mmkit_oom *o, uint32_t id,
                                           mmkit_oom_group_info *info);

/* ---- overcommit ---------------------------------------------------------------------------- */

/* Account a reservation of `frames` for consumer id (or NONE). ENOMEM when the mode refuses. */
MMKIT_API mmkit_status mmkit_oom_commit(mmkit_oom *o, uint32_t id, uint64_t frames);
MMKIT_API mmkit_status mmkit_oom_uncommit(mmkit_oom *o, uint32_t id, uint64_t frames);

/* ---- the wrapper --------------------------------------------------------------------------- */

/* A provider whose alloc is mmkit_oom_alloc(o, id, ...) and whose free is mmkit_oom_free(o,
 * id, ...); phys_to_virt is the wrapped provider's. id = MMKIT_OOM_NONE: uncharged (the
 * kernel's own frames). An empty provider for a bad o or an unknown id. O(1). */
MMKIT_API mmkit_provider mmkit_oom_provider(mmkit_oom *o, uint32_t id);
/* Allocate 2^order frames for id through the chain (DESIGN). rep may be NULL. */
MMKIT_API mmkit_status mmkit_oom_alloc(mmkit_oom *o, uint32_t id, unsigned order, uint32_t flags,
                                       mmkit_paddr *pa, mmkit_oom_report *rep);
/* Free through the wrapped provider and uncharge id; more than id got -> EINVAL; the
 * provider's refusal is returned and nothing is uncharged. */
MMKIT_API mmkit_status mmkit_oom_free(mmkit_oom *o, uint32_t id, mmkit_paddr pa, unsigned order);
MMKIT_API mmkit_status mmkit_oom_report_get(const mmkit_oom *o, mmkit_oom_report *rep);

/* ---- queries ------------------------------------------------------------------------------- */

MMKIT_API mmkit_status mmkit_oom_stats_get(const mmkit_oom *o, mmkit_oom_stats *s);
/* Every invariant: usage sums per group, wrapper frames, stall counts, tree without cycles,
 * table counts. OK / EINVAL / ECORRUPT. */
MMKIT_API mmkit_status mmkit_oom_check(const mmkit_oom *o);

/* ---- storage only; treat as opaque ---------------------------------------------------------- */

typedef struct mmkit__oom_cons {
    mmkit_oom *owner;     /* for the per-consumer provider's ctx */
    const char *name;
    void *ctx;
    uint64_t usage, wrapped, committed;
    int32_t adj;
    uint32_t group;
    uint16_t stall_depth;
    uint8_t used, killed;
} mmkit__oom_cons;

typedef struct mmkit__oom_group {
    const char *name;
    uint32_t parent;
    uint32_t members, children;
    uint64_t usage, min, low, high, max;
    uint64_t high_events, max_events, oom_kills;
    uint8_t used;
} mmkit__oom_group;

typedef struct mmkit__oom_shr {
    mmkit_oom_shrinker_desc d;
    uint64_t calls, freed;
    uint8_t used;
} mmkit__oom_shr;

struct mmkit_oom {
    uint32_t magic;
    mmkit_provider prov;
    uint64_t (*free_frames)(void *ctx);
    void *free_ctx;
    uint64_t total, out;          /* out: frames handed out by the wrapper */
    uint64_t root_out;            /* of those, to MMKIT_OOM_NONE */
    mmkit_oom_wmarks wm;
    mmkit_oom_level level;
    uint64_t (*now)(void *ctx);
    void (*event)(void *ctx, const mmkit_oom_event *ev);
    mmkit_status (*kill)(void *ctx, uint32_t consumer);
    void *hook_ctx;
    unsigned max_retries;
    mmkit_oom_overcommit overcommit;
    uint64_t swap, commit_limit, committed, root_committed;
    /* PSI */
    uint64_t psi_w, psi_cur_start, psi_last;
    uint64_t psi_some[MMKIT_OOM_PSI_BUCKETS + 1], psi_full[MMKIT_OOM_PSI_BUCKETS + 1];
    unsigned psi_head;
    uint64_t psi_some_total, psi_full_total;
    uint32_t nstalled;            /* consumers with depth > 0, + 1 while the system stalls */
    uint32_t nlive;
    uint16_t root_stall;
    /* tables (in desc.mem) */
    mmkit__oom_cons *cons;
    mmkit__oom_group *groups;
    mmkit__oom_shr *shr;
    uint32_t max_cons, max_groups, max_shr;
    uint32_t ncons, ngroups, nshr;
    mmkit_oom_report last;
    mmkit_oom_stats st;           /* counters (snapshot fields filled by stats_get) */
    mmkit_lock_hooks lock;
};

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_OOM_H */

/* ======================================================================================== */
#if defined(MMKIT_IMPLEMENTATION) && !defined(MMKIT_OOM_IMPL_DONE)
#define MMKIT_OOM_IMPL_DONE
#ifdef __cplusplus
extern "C" {
#endif

#define MMKIT__OOM_MAGIC 0x4f4f4d31u /* "OOM1" */

static bool mmkit__oom_live(const mmkit_oom *o) { return o && o->magic == MMKIT__OOM_MAGIC; }

/* a / b for 64-bit values without a libgcc helper on 32-bit targets (b != 0). O(64). */
static uint64_t mmkit__oom_div64(uint64_t a, uint64_t b) {
#if defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ >= 8
    return a / b;
#else
    uint64_t q = 0, r = 0;
    int i;
    if ((b >> 32) == 0 && (a >> 32) == 0) return (uint64_t)((uint32_t)a / (uint32_t)b);
    for (i = 63; i >= 0; i--) { /* bound: 64 bits */
        r = (r << 1) | ((a >> i) & 1u);
        if (r >= b) {
            r -= b;
            q |= (uint64_t)1 << i;
        }
    }
    return q;
#endif
}

/* floor(sqrt(x)) by the digit-by-digit method (shifts and adds only). O(32). */
static uint64_t mmkit__oom_isqrt(uint64_t x) {
    uint64_t r = 0, bit = (uint64_t)1 << 62;
    while (bit > x) bit >>= 2; /* bound: 32 steps */
    while (bit) {              /* bound: 32 steps */
        if (x >= r + bit) {
            x -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

static uintptr_t mmkit__oom_lock(const mmkit_oom *o) { return mmkit__lock(&o->lock); }
static void mmkit__oom_unlock(const mmkit_oom *o, uintptr_t s) { mmkit__unlock(&o->lock, s); }

/* ---- desc validation ---- */

#define MMKIT__OOM_DREFUSE(init, st, rule)                               \
    ((init) ? MMKIT__REFUSE((st), "mmkit_oom_init: " rule)               \
            : MMKIT__REFUSE((st), "mmkit_oom_mem_size: " rule))

static mmkit_status mmkit__oom_wm_derive(uint64_t total, unsigned scale, mmkit_oom_wmarks *w) {
    uint64_t kb = (total << MMKIT_PAGE_SHIFT) >> 10; /* total <= 2^48: no overflow */
    uint64_t minkb = mmkit__oom_isqrt(kb * 16u), min, delta, d2;
    if (minkb < 128u) minkb = 128u;
    if (minkb > 262144u) minkb = 262144u;
    min = (minkb << 10) >> MMKIT_PAGE_SHIFT;
    if (min > total / 4u) min = total / 4u; /* documented deviation for tiny pools */
    delta = min / 4u;
    d2 = mmkit__oom_div64(total * (uint64_t)(scale ? scale : 10u), 10000u);
    if (d2 > delta) delta = d2;
    w->min = min;
    w->low = min + delta;
    w->high = min + 2u * delta;
    if (w->high > total) w->high = total;
    if (w->low > w->high) w->low = w->high;
    return MMKIT_OK;
}

static bool mmkit__oom_wm_ok(const mmkit_oom_wmarks *w, uint64_t total) {
    return w->min <= w->low && w->low <= w->high && w->high <= total;
}

static mmkit_status mmkit__oom_validate(const mmkit_oom_desc *d, size_t *bytes, bool init) {
    uint64_t c, g, s;
    if (!d) return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL, "desc: must not be NULL");
    if (!d->provider.alloc || !d->provider.free)
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL, "desc.provider: alloc and free are required");
    if (d->total_frames == 0 || d->total_frames > MMKIT_OOM_MAX_FRAMES)
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL, "desc.total_frames: must be 1..2^48");
    if (d->wmark_scale > 3000u)
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL, "desc.wmark_scale: must be 0..3000");
    if ((d->wmark.min | d->wmark.low | d->wmark.high) != 0 &&
        !mmkit__oom_wm_ok(&d->wmark, d->total_frames))
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL,
                                  "desc.wmark: must be min <= low <= high <= total_frames");
    if (d->psi_bucket_ns > (uint64_t)3600u * 1000000000u)
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL, "desc.psi_bucket_ns: must be at most 3600 s");
    if ((unsigned)d->overcommit > (unsigned)MMKIT_OOM_OVERCOMMIT_NEVER)
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL, "desc.overcommit: unknown mode");
    if (d->overcommit_ratio > 10000u)
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL, "desc.overcommit_ratio: must be 0..10000");
    if (d->swap_frames > MMKIT_OOM_MAX_FRAMES || d->commit_limit > 2u * MMKIT_OOM_MAX_FRAMES)
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL, "desc.swap_frames: must be at most 2^48");
    if (d->max_retries > 64u)
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL, "desc.max_retries: must be 0..64");
    if (d->max_consumers > MMKIT_OOM_MAX_TABLE || d->max_groups > MMKIT_OOM_MAX_TABLE ||
        d->max_shrinkers > MMKIT_OOM_MAX_TABLE)
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL,
                                  "desc.max_consumers: tables must be at most MMKIT_OOM_MAX_TABLE");
    if (!mmkit_lock_hooks_valid(&d->lock))
        return MMKIT__OOM_DREFUSE(init, MMKIT_EINVAL,
                                  "desc.lock: set both acquire and release, or neither");
    c = d->max_consumers ? d->max_consumers : 32u;
    g = d->max_groups ? d->max_groups : 8u;
    s = d->max_shrinkers ? d->max_shrinkers : 8u;
    *bytes = (size_t)(c * sizeof(mmkit__oom_cons) + g * sizeof(mmkit__oom_group) +
                      s * sizeof(mmkit__oom_shr));
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_mem_size(const mmkit_oom_desc *desc, size_t *bytes) {
    size_t need = 0;
    mmkit_status st;
    if (!bytes) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_mem_size: bytes: must not be NULL");
    *bytes = 0;
    st = mmkit__oom_validate(desc, &need, false);
    if (st == MMKIT_OK) *bytes = need;
    return st;
}

MMKIT_API mmkit_status mmkit_oom_wmark_defaults(const mmkit_oom_desc *desc, mmkit_oom_wmarks *w) {
    if (!desc || !w) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_wmark_defaults: desc, w: must not be NULL");
    if (desc->total_frames == 0 || desc->total_frames > MMKIT_OOM_MAX_FRAMES)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_wmark_defaults: desc.total_frames: must be 1..2^48");
    if (desc->wmark_scale > 3000u)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_wmark_defaults: desc.wmark_scale: must be 0..3000");
    return mmkit__oom_wm_derive(desc->total_frames, desc->wmark_scale, w);
}

static uint64_t mmkit__oom_commit_limit(const mmkit_oom *o, unsigned ratio) {
    return mmkit__oom_div64(o->total * (uint64_t)ratio, 100u) + o->swap;
}

MMKIT_API mmkit_status mmkit_oom_init(mmkit_oom *o, const mmkit_oom_desc *desc) {
    size_t need = 0;
    mmkit_status st;
    unsigned char *m;
    uint32_t i;
    if (!o) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_init: o: must not be NULL");
    MMKIT_MEMSET(o, 0, sizeof *o);
    st = mmkit__oom_validate(desc, &need, true);
    if (st != MMKIT_OK) return st;
    if (!desc->mem) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_init: desc.mem: must not be NULL");
    if (desc->mem_size < need)
        return MMKIT__REFUSE(MMKIT_ENOSPC, "mmkit_oom_init: desc.mem_size: smaller than mmkit_oom_mem_size()");
    if (((uintptr_t)desc->mem & 7u) != 0)
        return MMKIT__REFUSE(MMKIT_EALIGN, "mmkit_oom_init: desc.mem: must be 8-byte aligned");
    MMKIT_MEMSET(desc->mem, 0, need);
    m = (unsigned char *)desc->mem;
    o->max_cons = desc->max_consumers ? desc->max_consumers : 32u;
    o->max_groups = desc->max_groups ? desc->max_groups : 8u;
    o->max_shr = desc->max_shrinkers ? desc->max_shrinkers : 8u;
    o->cons = (mmkit__oom_cons *)(void *)m;
    o->groups = (mmkit__oom_group *)(void *)(m + o->max_cons * sizeof(mmkit__oom_cons));
    o->shr = (mmkit__oom_shr *)(void *)(m + o->max_cons * sizeof(mmkit__oom_cons) +
                                        o->max_groups * sizeof(mmkit__oom_group));
    for (i = 0; i < o->max_cons; i++) o->cons[i].owner = o; /* bound: max_consumers */
    o->prov = desc->provider;
    o->free_frames = desc->free_frames;
    o->free_ctx = desc->free_ctx;
    o->total = desc->total_frames;
    if ((desc->wmark.min | desc->wmark.low | desc->wmark.high) != 0)
        o->wm = desc->wmark;
    else
        (void)mmkit__oom_wm_derive(o->total, desc->wmark_scale, &o->wm);
    o->now = desc->now;
    o->event = desc->event;
    o->kill = desc->kill;
    o->hook_ctx = desc->hook_ctx;
    o->max_retries = desc->max_retries ? desc->max_retries : MMKIT_OOM_DEFAULT_RETRIES;
    o->overcommit = desc->overcommit;
    o->swap = desc->swap_frames;
    o->commit_limit = desc->commit_limit
                          ? desc->commit_limit
                          : mmkit__oom_commit_limit(o, desc->overcommit_ratio ? desc->overcommit_ratio : 50u);
    o->psi_w = desc->psi_bucket_ns ? desc->psi_bucket_ns : 1000000000u;
    if (o->now) o->psi_cur_start = o->psi_last = o->now(o->hook_ctx);
    o->lock = desc->lock;
    o->last.consumer = o->last.victim = o->last.group_oom = o->last.throttle_group = MMKIT_OOM_NONE;
    o->magic = MMKIT__OOM_MAGIC;
    {
        uint64_t f = o->free_frames ? o->free_frames(o->free_ctx) : o->total;
        o->level = f < o->wm.min ? MMKIT_OOM_LEVEL_MIN
                   : f < o->wm.low ? MMKIT_OOM_LEVEL_LOW
                   : f < o->wm.high ? MMKIT_OOM_LEVEL_HIGH : MMKIT_OOM_LEVEL_OK;
    }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_destroy(mmkit_oom *o) {
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_destroy: o: not an initialised instance");
    if (o->out) return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_oom_destroy: o: wrapper frames are still out");
    MMKIT_MEMSET(o, 0, sizeof *o);
    return MMKIT_OK;
}

/* ---- levels and events (called with the lock held; hooks run with it released) ---- */

static uint64_t mmkit__oom_free_now(const mmkit_oom *o) {
    if (o->free_frames) return o->free_frames(o->free_ctx);
    return o->total > o->out ? o->total - o->out : 0;
}

static mmkit_oom_level mmkit__oom_level_of(const mmkit_oom *o, uint64_t f) {
    if (f < o->wm.min) return MMKIT_OOM_LEVEL_MIN;
    if (f < o->wm.low) return MMKIT_OOM_LEVEL_LOW;
    if (f < o->wm.high) return MMKIT_OOM_LEVEL_HIGH;
    return MMKIT_OOM_LEVEL_OK;
}

static void mmkit__oom_emit(mmkit_oom *o, uintptr_t *saved, const mmkit_oom_event *ev) {
    if (!o->event) return;
    mmkit__oom_unlock(o, *saved);
    o->event(o->hook_ctx, ev);
    *saved = mmkit__oom_lock(o);
}

static void mmkit__oom_level_update(mmkit_oom *o, uintptr_t *saved) {
    uint64_t f = mmkit__oom_free_now(o);
    mmkit_oom_level nl = mmkit__oom_level_of(o, f);
    mmkit_oom_event ev;
    if (nl == o->level) return;
    MMKIT_MEMSET(&ev, 0, sizeof ev);
    ev.type = MMKIT_OOM_EV_LEVEL;
    ev.old_level = o->level;
    ev.new_level = nl;
    ev.free_frames = f;
    ev.id = ev.consumer = MMKIT_OOM_NONE;
    o->level = nl;
    o->st.level_events++;
    mmkit__oom_emit(o, saved, &ev);
}

MMKIT_API mmkit_status mmkit_oom_wmark_set(mmkit_oom *o, const mmkit_oom_wmarks *w) {
    uintptr_t s;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_wmark_set: o: not an initialised instance");
    if (!w) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_wmark_set: w: must not be NULL");
    if (!mmkit__oom_wm_ok(w, o->total))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_wmark_set: w: must be min <= low <= high <= total_frames");
    s = mmkit__oom_lock(o);
    o->wm = *w;
    mmkit__oom_level_update(o, &s);
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_update(mmkit_oom *o) {
    uintptr_t s;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_update: o: not an initialised instance");
    s = mmkit__oom_lock(o);
    mmkit__oom_level_update(o, &s);
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

/* ---- PSI ---- */

/* Account the time from psi_last to now with the current state (lock held). */
static void mmkit__oom_psi_fold(mmkit_oom *o) {
    uint64_t now, w = o->psi_w;
    bool some, full;
    unsigned i;
    if (!o->now) return;
    now = o->now(o->hook_ctx);
    if (now < o->psi_last) now = o->psi_last; /* a clock going backwards is held */
    some = o->nstalled > 0;
    full = some && o->nlive > 0 && o->nstalled - (o->root_stall ? 1u : 0u) == o->nlive;
    if (some) o->psi_some_total += now - o->psi_last;
    if (full) o->psi_full_total += now - o->psi_last;
    if (now - o->psi_cur_start >= (uint64_t)(MMKIT_OOM_PSI_BUCKETS + 1u) * w) {
        /* a long gap: every bucket of the window saw the same state */
        uint64_t k = mmkit__oom_div64(now - o->psi_cur_start, w);
        for (i = 0; i <= MMKIT_OOM_PSI_BUCKETS; i++) { /* bound: 61 buckets */
            o->psi_some[i] = some ? w : 0;
            o->psi_full[i] = full ? w : 0;
        }
        o->psi_cur_start += k * w;
        o->psi_last = o->psi_cur_start;
        o->psi_some[o->psi_head] = o->psi_full[o->psi_head] = 0;
    }
    while (now >= o->psi_cur_start + w) { /* bound: at most 61 iterations after the jump */
        uint64_t end = o->psi_cur_start + w;
        if (some) o->psi_some[o->psi_head] += end - o->psi_last;
        if (full) o->psi_full[o->psi_head] += end - o->psi_last;
        o->psi_head = o->psi_head == MMKIT_OOM_PSI_BUCKETS ? 0u : o->psi_head + 1u;
        o->psi_some[o->psi_head] = o->psi_full[o->psi_head] = 0;
        o->psi_cur_start = end;
        o->psi_last = end;
    }
    if (some) o->psi_some[o->psi_head] += now - o->psi_last;
    if (full) o->psi_full[o->psi_head] += now - o->psi_last;
    o->psi_last = now;
}

static uint32_t mmkit__oom_psi_avg(const mmkit_oom *o, const uint64_t *b, unsigned n) {
    uint64_t sum = 0;
    unsigned i, idx = o->psi_head;
    for (i = 0; i < n; i++) { /* bound: n <= 60 */
        idx = idx == 0 ? MMKIT_OOM_PSI_BUCKETS : idx - 1u;
        sum += b[idx];
    }
    return (uint32_t)mmkit__oom_div64(sum * 10000u, o->psi_w * n);
}

static mmkit__oom_cons *mmkit__oom_cons_get(const mmkit_oom *o, uint32_t id) {
    if (id >= o->max_cons || !o->cons[id].used) return NULL;
    return &o->cons[id];
}

/* Begin (+1) or end (-1) a stall of c (NULL: the system). Lock held; checked by the caller. */
static void mmkit__oom_stall(mmkit_oom *o, mmkit__oom_cons *c, int dir) {
    mmkit__oom_psi_fold(o);
    if (c) {
        if (dir > 0) {
            if (c->stall_depth++ == 0 && !c->killed) o->nstalled++;
        } else if (--c->stall_depth == 0 && !c->killed) {
            o->nstalled--;
        }
    } else if (dir > 0) {
        if (o->root_stall++ == 0) o->nstalled++;
    } else if (--o->root_stall == 0) {
        o->nstalled--;
    }
}

static mmkit_status mmkit__oom_stall_call(mmkit_oom *o, uint32_t id, int dir, const char *fn_null,
                                          const char *fn_id, const char *fn_depth) {
    uintptr_t s;
    mmkit__oom_cons *c = NULL;
    uint16_t depth;
    (void)fn_null; (void)fn_id; (void)fn_depth;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, fn_null);
    s = mmkit__oom_lock(o);
    if (id != MMKIT_OOM_NONE) {
        c = mmkit__oom_cons_get(o, id);
        if (!c) {
            mmkit__oom_unlock(o, s);
            return MMKIT__REFUSE(MMKIT_ENOENT, fn_id);
        }
    }
    depth = c ? c->stall_depth : o->root_stall;
    if ((dir < 0 && depth == 0) || (dir > 0 && depth == UINT16_MAX)) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_EINVAL, fn_depth);
    }
    mmkit__oom_stall(o, c, dir);
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_stall_begin(mmkit_oom *o, uint32_t id) {
    return mmkit__oom_stall_call(o, id, 1, "mmkit_oom_stall_begin: o: not an initialised instance",
                                 "mmkit_oom_stall_begin: id: no such consumer",
                                 "mmkit_oom_stall_begin: id: nested more than 65535 deep");
}
MMKIT_API mmkit_status mmkit_oom_stall_end(mmkit_oom *o, uint32_t id) {
    return mmkit__oom_stall_call(o, id, -1, "mmkit_oom_stall_end: o: not an initialised instance",
                                 "mmkit_oom_stall_end: id: no such consumer",
                                 "mmkit_oom_stall_end: id: no stall in progress");
}

MMKIT_API mmkit_status mmkit_oom_psi_get(mmkit_oom *o, mmkit_oom_psi *psi) {
    uintptr_t s;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_psi_get: o: not an initialised instance");
    if (!psi) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_psi_get: psi: must not be NULL");
    s = mmkit__oom_lock(o);
    mmkit__oom_psi_fold(o);
    psi->some_avg10 = mmkit__oom_psi_avg(o, o->psi_some, 10u);
    psi->some_avg60 = mmkit__oom_psi_avg(o, o->psi_some, 60u);
    psi->full_avg10 = mmkit__oom_psi_avg(o, o->psi_full, 10u);
    psi->full_avg60 = mmkit__oom_psi_avg(o, o->psi_full, 60u);
    psi->some_total_ns = o->psi_some_total;
    psi->full_total_ns = o->psi_full_total;
    psi->stalled = o->nstalled;
    psi->live = o->nlive;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

/* ---- shrinkers ---- */

MMKIT_API mmkit_status mmkit_oom_shrinker_add(mmkit_oom *o, const mmkit_oom_shrinker_desc *d,
                                              uint32_t *id) {
    uintptr_t s;
    uint32_t i;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_shrinker_add: o: not an initialised instance");
    if (!d || !id) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_shrinker_add: d, id: must not be NULL");
    if (!d->count || !d->scan)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_shrinker_add: d.count, d.scan: are required");
    s = mmkit__oom_lock(o);
    for (i = 0; i < o->max_shr; i++) /* bound: max_shrinkers */
        if (!o->shr[i].used) break;
    if (i == o->max_shr) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOSPC, "mmkit_oom_shrinker_add: o: the shrinker table is full");
    }
    MMKIT_MEMSET(&o->shr[i], 0, sizeof o->shr[i]);
    o->shr[i].d = *d;
    o->shr[i].used = 1;
    o->nshr++;
    *id = i;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_shrinker_remove(mmkit_oom *o, uint32_t id) {
    uintptr_t s;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_shrinker_remove: o: not an initialised instance");
    s = mmkit__oom_lock(o);
    if (id >= o->max_shr || !o->shr[id].used) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_shrinker_remove: id: no such shrinker");
    }
    MMKIT_MEMSET(&o->shr[id], 0, sizeof o->shr[id]);
    o->nshr--;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

/* Run the shrinkers in ascending (priority, id) until target frames were reported. Lock held
 * on entry and exit, released around every hook. */
static uint64_t mmkit__oom_shrink(mmkit_oom *o, uintptr_t *saved, uint64_t target,
                                  mmkit_oom_report *rep) {
    uint64_t freed = 0;
    unsigned prev_prio = 0;
    uint32_t prev_id = 0, i, n;
    bool first = true;
    o->st.reclaim_runs++;
    for (n = 0; n < o->max_shr && freed < target; n++) { /* bound: max_shrinkers picks */
        uint32_t best = MMKIT_OOM_NONE;
        mmkit_oom_shrinker_desc d;
        uint64_t cnt, nr, got;
        for (i = 0; i < o->max_shr; i++) { /* bound: max_shrinkers */
            const mmkit__oom_shr *sh = &o->shr[i];
            if (!sh->used) continue;
            if (!first && (sh->d.priority < prev_prio || (sh->d.priority == prev_prio && i <= prev_id)))
                continue;
            if (best == MMKIT_OOM_NONE || sh->d.priority < o->shr[best].d.priority) best = i;
        }
        if (best == MMKIT_OOM_NONE) break;
        first = false;
        prev_prio = o->shr[best].d.priority;
        prev_id = best;
        d = o->shr[best].d;
        mmkit__oom_unlock(o, *saved);
        cnt = d.count(d.ctx);
        got = 0;
        if (cnt) {
            nr = target - freed < cnt ? target - freed : cnt;
            got = d.scan(d.ctx, nr, d.priority);
        }
        *saved = mmkit__oom_lock(o);
        if (!cnt) continue;
        if (rep) rep->shrinker_calls++;
        o->st.shrinker_calls++;
        if (o->shr[best].used) o->shr[best].calls++;
        if (got == MMKIT_OOM_SHRINK_STOP) continue;
        if (got > MMKIT_OOM_MAX_FRAMES) got = MMKIT_OOM_MAX_FRAMES;
        freed += got;
        if (o->shr[best].used) o->shr[best].freed += got;
    }
    o->st.reclaimed_frames += freed;
    if (rep) rep->reclaimed += freed;
    return freed;
}

MMKIT_API mmkit_status mmkit_oom_reclaim(mmkit_oom *o, uint64_t frames, uint64_t *freed) {
    uintptr_t s;
    uint64_t f;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_reclaim: o: not an initialised instance");
    if (frames == 0 || frames > MMKIT_OOM_MAX_FRAMES)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_reclaim: frames: must be 1..2^48");
    s = mmkit__oom_lock(o);
    f = mmkit__oom_shrink(o, &s, frames, NULL);
    mmkit__oom_level_update(o, &s);
    mmkit__oom_unlock(o, s);
    if (freed) *freed = f;
    return MMKIT_OK;
}

/* The slab adapter. */
static uint64_t mmkit__oom_slab_count(void *ctx) {
    mmkit_slab_stats ss;
    if (mmkit_slab_stats_get((const mmkit_slab_cache *)ctx, &ss) != MMKIT_OK) return 0;
    return ss.slabs_empty << ss.slab_order;
}
static uint64_t mmkit__oom_slab_scan(void *ctx, uint64_t nr, unsigned priority) {
    mmkit_slab_stats a, b;
    mmkit_slab_cache *c = (mmkit_slab_cache *)ctx;
    (void)nr;
    (void)priority;
    if (mmkit_slab_stats_get(c, &a) != MMKIT_OK) return MMKIT_OOM_SHRINK_STOP;
    if (mmkit_slab_shrink(c) != MMKIT_OK) return MMKIT_OOM_SHRINK_STOP;
    if (mmkit_slab_stats_get(c, &b) != MMKIT_OK) return MMKIT_OOM_SHRINK_STOP;
    return a.frames > b.frames ? a.frames - b.frames : 0;
}
MMKIT_API mmkit_status mmkit_oom_slab_shrinker(mmkit_slab_cache *cache, unsigned priority,
                                               mmkit_oom_shrinker_desc *d) {
    mmkit_slab_stats ss;
    if (!d) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_slab_shrinker: d: must not be NULL");
    if (mmkit_slab_stats_get(cache, &ss) != MMKIT_OK)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_slab_shrinker: cache: not an initialised cache");
    MMKIT_MEMSET(d, 0, sizeof *d);
    d->name = ss.name;
    d->count = mmkit__oom_slab_count;
    d->scan = mmkit__oom_slab_scan;
    d->ctx = cache;
    d->priority = priority;
    return MMKIT_OK;
}

/* The LRU adapter. */
#define MMKIT__OOM_LRU_MAGIC 0x4f4c5255u
static uint64_t mmkit__oom_lru_count(void *ctx) {
    mmkit_oom_lru_shrinker *sh = (mmkit_oom_lru_shrinker *)ctx;
    mmkit_lru_stats ls;
    if (!sh || sh->magic != MMKIT__OOM_LRU_MAGIC || mmkit_lru_stats_get(sh->lru, &ls) != MMKIT_OK) return 0;
    return ls.resident;
}
static uint64_t mmkit__oom_lru_scan(void *ctx, uint64_t nr, unsigned priority) {
    mmkit_oom_lru_shrinker *sh = (mmkit_oom_lru_shrinker *)ctx;
    uint64_t freed = 0, k;
    bool stopped = false;
    (void)priority;
    if (!sh || sh->magic != MMKIT__OOM_LRU_MAGIC) return MMKIT_OOM_SHRINK_STOP;
    for (k = 0; k < nr; k++) {
        mmkit_lru_victim v;
        uint64_t got;
        if (mmkit_lru_evict(sh->lru, &v) != MMKIT_OK) { stopped = true; break; } /* empty / all pinned */
        sh->evicted++;
        if (v.dirty) {
            if (sh->cb.writeback(sh->cb.ctx, v.index) != MMKIT_OK) {
                (void)mmkit_lru_insert(sh->lru, v.index, MMKIT_LRU_DIRTY);
                sh->put_back++;
                stopped = true;
                break;
            }
            sh->written_back++;
        }
        got = sh->cb.release(sh->cb.ctx, v.index);
        if (got == 0) {
            (void)mmkit_lru_insert(sh->lru, v.index, 0); /* written back: clean now */
            sh->put_back++;
            stopped = true;
            break;
        }
        sh->released_frames += got;
        freed += got;
        if (freed >= nr) break;
    }
    return freed == 0 && stopped ? MMKIT_OOM_SHRINK_STOP : freed;
}
MMKIT_API mmkit_status mmkit_oom_lru_shrinker_init(mmkit_oom_lru_shrinker *sh, mmkit_lru *lru,
                                                   const mmkit_oom_lru_callbacks *cb,
                                                   unsigned priority, mmkit_oom_shrinker_desc *d) {
    mmkit_lru_stats ls;
    if (!sh) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_lru_shrinker_init: sh: must not be NULL");
    if (!d) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_lru_shrinker_init: d: must not be NULL");
    if (!cb || !cb->writeback || !cb->release)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_lru_shrinker_init: cb: writeback and release required");
    if (mmkit_lru_stats_get(lru, &ls) != MMKIT_OK)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_lru_shrinker_init: lru: not an initialised instance");
    MMKIT_MEMSET(sh, 0, sizeof *sh);
    sh->lru = lru;
    sh->cb = *cb;
    sh->magic = MMKIT__OOM_LRU_MAGIC;
    MMKIT_MEMSET(d, 0, sizeof *d);
    d->name = "lru";
    d->count = mmkit__oom_lru_count;
    d->scan = mmkit__oom_lru_scan;
    d->ctx = sh;
    d->priority = priority;
    return MMKIT_OK;
}

/* ---- the PSI trigger ---- */
#define MMKIT__OOM_PRESSURE_MAGIC 0x50525331u
#define MMKIT__OOM_SEC 1000000000ull
MMKIT_API mmkit_status mmkit_oom_pressure_init(mmkit_oom_pressure *p, const mmkit_oom_pressure_desc *desc) {
    if (!p) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_pressure_init: p: must not be NULL");
    if (desc && (desc->some_rise > 10000u || desc->full_limit > 10000u))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_pressure_init: desc: some_rise and full_limit at most 10000");
    if (desc && (desc->arm_ns > 3600u * MMKIT__OOM_SEC || desc->cooldown_ns > 3600u * MMKIT__OOM_SEC))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_pressure_init: desc: arm_ns and cooldown_ns at most one hour");
    MMKIT_MEMSET(p, 0, sizeof *p);
    if (desc) p->d = *desc;
    if (!p->d.some_rise) p->d.some_rise = 50u;
    if (!p->d.cooldown_ns) p->d.cooldown_ns = 60u * MMKIT__OOM_SEC;
    if (!p->d.full_limit) p->d.full_limit = 1000u;
    if (!p->d.sustain) p->d.sustain = 2u;
    if (!p->d.arm_ns) p->d.arm_ns = 90u * MMKIT__OOM_SEC;
    p->magic = MMKIT__OOM_PRESSURE_MAGIC;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_pressure_action(mmkit_oom *o, mmkit_oom_pressure *p,
                                                 mmkit_oom_pressure_decision *dec) {
    uint64_t now;
    uintptr_t s;
    mmkit_oom_pressure_reason why = MMKIT_OOM_PRESSURE_NONE;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_pressure_action: o: not an initialised instance");
    if (!p || p->magic != MMKIT__OOM_PRESSURE_MAGIC)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_pressure_action: p: not set up by mmkit_oom_pressure_init");
    if (!dec) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_pressure_action: dec: must not be NULL");
    MMKIT_MEMSET(dec, 0, sizeof *dec);
    dec->victim = MMKIT_OOM_NONE;
    (void)mmkit_oom_psi_get(o, &dec->psi);
    s = mmkit__oom_lock(o);
    now = o->now ? o->now(o->hook_ctx) : 0;
    mmkit__oom_unlock(o, s);
    if (!o->now) return MMKIT_OK;
    if (!p->started) {
        p->started = 1;
        p->first_ns = now;
        p->last_ns = now - MMKIT__OOM_SEC;
    }
    if (now < p->last_ns + MMKIT__OOM_SEC) { /* within a second of the last counted call */
        dec->held = p->held;
        return MMKIT_OK;
    }
    p->last_ns = now;
    if (dec->psi.some_avg10 >= dec->psi.some_avg60 + p->d.some_rise) why = MMKIT_OOM_PRESSURE_RISING;
    else if (dec->psi.full_avg10 >= p->d.full_limit) why = MMKIT_OOM_PRESSURE_FULL;
    p->held = why != MMKIT_OOM_PRESSURE_NONE ? p->held + 1u : 0u;
    dec->held = p->held;
    if (why == MMKIT_OOM_PRESSURE_NONE || p->held < p->d.sustain) return MMKIT_OK;
    if (now - p->first_ns < p->d.arm_ns || now < p->quiet_until) return MMKIT_OK;
    if (mmkit_oom_select(o, MMKIT_OOM_NONE, &dec->victim) != MMKIT_OK) {
        dec->victim = MMKIT_OOM_NONE;
        return MMKIT_OK; /* nobody to kill: not an action */
    }
    dec->act = true;
    dec->reason = why;
    p->held = 0;
    p->quiet_until = now + p->d.cooldown_ns;
    return MMKIT_OK;
}

/* ---- groups ---- */

static mmkit__oom_group *mmkit__oom_group_get(const mmkit_oom *o, uint32_t id) {
    if (id >= o->max_groups || !o->groups[id].used) return NULL;
    return &o->groups[id];
}

/* true when `anc` is g or an ancestor of g. O(d). */
static bool mmkit__oom_group_under(const mmkit_oom *o, uint32_t g, uint32_t anc) {
    uint32_t steps = 0;
    while (g != MMKIT_OOM_NONE && steps++ <= o->max_groups) { /* bound: depth <= max_groups */
        if (g == anc) return true;
        g = o->groups[g].parent;
    }
    return false;
}

static void mmkit__oom_group_eff(const mmkit_oom *o, uint32_t g, uint64_t *emin, uint64_t *elow) {
    uint64_t mn = UINT64_MAX, lw = UINT64_MAX;
    uint32_t steps = 0;
    while (g != MMKIT_OOM_NONE && steps++ <= o->max_groups) { /* bound: depth */
        if (o->groups[g].min < mn) mn = o->groups[g].min;
        if (o->groups[g].low < lw) lw = o->groups[g].low;
        g = o->groups[g].parent;
    }
    *emin = mn == UINT64_MAX ? 0 : mn;
    *elow = lw == UINT64_MAX ? 0 : lw;
}

static mmkit_status mmkit__oom_group_desc_ok(const mmkit_oom *o, const mmkit_oom_group_desc *d,
                                             uint32_t self, const char **why) {
    if (d->parent != MMKIT_OOM_NONE && !mmkit__oom_group_get(o, d->parent)) {
        *why = "parent: no such group";
        return MMKIT_ENOENT;
    }
    if (d->min > MMKIT_OOM_MAX_FRAMES || d->low > MMKIT_OOM_MAX_FRAMES ||
        d->high > MMKIT_OOM_MAX_FRAMES || d->max > MMKIT_OOM_MAX_FRAMES) {
        *why = "limits: must be at most 2^48";
        return MMKIT_EINVAL;
    }
    if (self != MMKIT_OOM_NONE && d->parent != MMKIT_OOM_NONE &&
        mmkit__oom_group_under(o, d->parent, self)) {
        *why = "parent: the group itself or a descendant (a cycle)";
        return MMKIT_EINVAL;
    }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_group_add(mmkit_oom *o, const mmkit_oom_group_desc *d,
                                           uint32_t *id) {
    uintptr_t s;
    uint32_t i;
    const char *why = "";
    mmkit_status st;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_group_add: o: not an initialised instance");
    if (!d || !id) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_group_add: d, id: must not be NULL");
    s = mmkit__oom_lock(o);
    st = mmkit__oom_group_desc_ok(o, d, MMKIT_OOM_NONE, &why);
    if (st != MMKIT_OK) {
        mmkit__oom_unlock(o, s);
        (void)why;
        return st == MMKIT_ENOENT ? MMKIT__REFUSE(st, "mmkit_oom_group_add: d.parent: no such group")
                                  : MMKIT__REFUSE(st, "mmkit_oom_group_add: d: limits must be at most 2^48");
    }
    for (i = 0; i < o->max_groups; i++) /* bound: max_groups */
        if (!o->groups[i].used) break;
    if (i == o->max_groups) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOSPC, "mmkit_oom_group_add: o: the group table is full");
    }
    MMKIT_MEMSET(&o->groups[i], 0, sizeof o->groups[i]);
    o->groups[i].name = d->name ? d->name : "";
    o->groups[i].parent = d->parent;
    o->groups[i].min = d->min;
    o->groups[i].low = d->low;
    o->groups[i].high = d->high;
    o->groups[i].max = d->max;
    o->groups[i].used = 1;
    if (d->parent != MMKIT_OOM_NONE) o->groups[d->parent].children++;
    o->ngroups++;
    *id = i;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_group_set(mmkit_oom *o, uint32_t id, const mmkit_oom_group_desc *d) {
    uintptr_t s;
    const char *why = "";
    mmkit_status st;
    mmkit__oom_group *g;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_group_set: o: not an initialised instance");
    if (!d) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_group_set: d: must not be NULL");
    s = mmkit__oom_lock(o);
    g = mmkit__oom_group_get(o, id);
    if (!g) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_group_set: id: no such group");
    }
    st = mmkit__oom_group_desc_ok(o, d, id, &why);
    (void)why;
    if (st == MMKIT_ENOENT) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(st, "mmkit_oom_group_set: d.parent: no such group");
    }
    if (st != MMKIT_OK) {
        mmkit__oom_unlock(o, s);
        return d->parent != MMKIT_OOM_NONE && mmkit__oom_group_under(o, d->parent, id)
                   ? MMKIT__REFUSE(st, "mmkit_oom_group_set: d.parent: would make a cycle")
                   : MMKIT__REFUSE(st, "mmkit_oom_group_set: d: limits must be at most 2^48");
    }
    if (d->parent != g->parent && g->usage) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_oom_group_set: d.parent: the group has usage");
    }
    if (d->parent != g->parent) {
        if (g->parent != MMKIT_OOM_NONE) o->groups[g->parent].children--;
        if (d->parent != MMKIT_OOM_NONE) o->groups[d->parent].children++;
        g->parent = d->parent;
    }
    if (d->name) g->name = d->name;
    g->min = d->min;
    g->low = d->low;
    g->high = d->high;
    g->max = d->max;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_group_remove(mmkit_oom *o, uint32_t id) {
    uintptr_t s;
    mmkit__oom_group *g;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_group_remove: o: not an initialised instance");
    s = mmkit__oom_lock(o);
    g = mmkit__oom_group_get(o, id);
    if (!g) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_group_remove: id: no such group");
    }
    if (g->usage || g->members || g->children) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_oom_group_remove: id: has usage, members or children");
    }
    if (g->parent != MMKIT_OOM_NONE) o->groups[g->parent].children--;
    MMKIT_MEMSET(g, 0, sizeof *g);
    o->ngroups--;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_group_get(const mmkit_oom *o, uint32_t id,
                                           mmkit_oom_group_info *info) {
    uintptr_t s;
    const mmkit__oom_group *g;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_group_get: o: not an initialised instance");
    if (!info) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_group_get: info: must not be NULL");
    s = mmkit__oom_lock(o);
    g = mmkit__oom_group_get(o, id);
    if (!g) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_group_get: id: no such group");
    }
    info->name = g->name;
    info->parent = g->parent;
    info->usage = g->usage;
    info->min = g->min;
    info->low = g->low;
    info->high = g->high;
    info->max = g->max;
    mmkit__oom_group_eff(o, id, &info->emin, &info->elow);
    info->members = g->members;
    info->children = g->children;
    info->high_events = g->high_events;
    info->max_events = g->max_events;
    info->oom_kills = g->oom_kills;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

/* ---- consumers ---- */

static bool mmkit__oom_adj_ok(int adj) { return adj >= -1000 && adj <= 1000; }

MMKIT_API mmkit_status mmkit_oom_consumer_add(mmkit_oom *o, const mmkit_oom_consumer_desc *d,
                                              uint32_t *id) {
    uintptr_t s;
    uint32_t i;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_consumer_add: o: not an initialised instance");
    if (!d || !id) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_consumer_add: d, id: must not be NULL");
    if (!mmkit__oom_adj_ok(d->adj)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_consumer_add: d.adj: must be -1000..1000");
    s = mmkit__oom_lock(o);
    if (d->group != MMKIT_OOM_NONE && !mmkit__oom_group_get(o, d->group)) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_consumer_add: d.group: no such group");
    }
    for (i = 0; i < o->max_cons; i++) /* bound: max_consumers */
        if (!o->cons[i].used) break;
    if (i == o->max_cons) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOSPC, "mmkit_oom_consumer_add: o: the consumer table is full");
    }
    mmkit__oom_psi_fold(o); /* nlive changes */
    MMKIT_MEMSET(&o->cons[i], 0, sizeof o->cons[i]);
    o->cons[i].owner = o;
    o->cons[i].name = d->name ? d->name : "";
    o->cons[i].ctx = d->ctx;
    o->cons[i].adj = (int32_t)d->adj;
    o->cons[i].group = d->group;
    o->cons[i].used = 1;
    if (d->group != MMKIT_OOM_NONE) o->groups[d->group].members++;
    o->ncons++;
    o->nlive++;
    *id = i;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_consumer_remove(mmkit_oom *o, uint32_t id) {
    uintptr_t s;
    mmkit__oom_cons *c;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_consumer_remove: o: not an initialised instance");
    s = mmkit__oom_lock(o);
    c = mmkit__oom_cons_get(o, id);
    if (!c) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_consumer_remove: id: no such consumer");
    }
    if (c->usage || c->committed || c->stall_depth) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_oom_consumer_remove: id: holds usage, commitments or a stall");
    }
    mmkit__oom_psi_fold(o);
    if (!c->killed) o->nlive--;
    if (c->group != MMKIT_OOM_NONE) o->groups[c->group].members--;
    MMKIT_MEMSET(c, 0, sizeof *c);
    c->owner = o;
    o->ncons--;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_consumer_set_adj(mmkit_oom *o, uint32_t id, int adj) {
    uintptr_t s;
    mmkit__oom_cons *c;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_consumer_set_adj: o: not an initialised instance");
    if (!mmkit__oom_adj_ok(adj)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_consumer_set_adj: adj: must be -1000..1000");
    s = mmkit__oom_lock(o);
    c = mmkit__oom_cons_get(o, id);
    if (!c) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_consumer_set_adj: id: no such consumer");
    }
    c->adj = (int32_t)adj;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

static int64_t mmkit__oom_score(const mmkit__oom_cons *c, uint64_t t) {
    return (int64_t)c->usage * 1000 + (int64_t)c->adj * (int64_t)t;
}

MMKIT_API mmkit_status mmkit_oom_consumer_get(const mmkit_oom *o, uint32_t id,
                                              mmkit_oom_consumer_info *info) {
    uintptr_t s;
    const mmkit__oom_cons *c;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_consumer_get: o: not an initialised instance");
    if (!info) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_consumer_get: info: must not be NULL");
    s = mmkit__oom_lock(o);
    c = mmkit__oom_cons_get(o, id);
    if (!c) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_consumer_get: id: no such consumer");
    }
    info->name = c->name;
    info->ctx = c->ctx;
    info->adj = (int)c->adj;
    info->group = c->group;
    info->usage = c->usage;
    info->wrapped = c->wrapped;
    info->committed = c->committed;
    info->score = mmkit__oom_score(c, o->total);
    info->killed = c->killed != 0;
    info->stall_depth = c->stall_depth;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

/* ---- victims ---- */

/* Protection tier of c for an OOM in scope (a group or NONE): 0 unprotected, 1 within an
 * effective low, 2 within an effective min (never chosen). Groups from c's up to, but not
 * including, the scope count. */
static unsigned mmkit__oom_tier(const mmkit_oom *o, const mmkit__oom_cons *c, uint32_t scope) {
    uint32_t g = c->group, steps = 0;
    unsigned tier = 0;
    while (g != MMKIT_OOM_NONE && g != scope && steps++ <= o->max_groups) { /* bound: depth */
        uint64_t emin, elow;
        mmkit__oom_group_eff(o, g, &emin, &elow);
        if (o->groups[g].usage <= emin && emin) return 2u;
        if (o->groups[g].usage <= elow && elow) tier = 1u;
        g = o->groups[g].parent;
    }
    return tier;
}

static bool mmkit__oom_in_scope(const mmkit_oom *o, const mmkit__oom_cons *c, uint32_t scope) {
    return scope == MMKIT_OOM_NONE ||
           (c->group != MMKIT_OOM_NONE && mmkit__oom_group_under(o, c->group, scope));
}

/* A killed consumer in scope that still holds usage: the OOM waits for it. */
static bool mmkit__oom_pending(const mmkit_oom *o, uint32_t scope) {
    uint32_t i;
    for (i = 0; i < o->max_cons; i++) /* bound: max_consumers */
        if (o->cons[i].used && o->cons[i].killed && o->cons[i].usage &&
            mmkit__oom_in_scope(o, &o->cons[i], scope))
            return true;
    return false;
}

static uint32_t mmkit__oom_pick(const mmkit_oom *o, uint32_t scope) {
    uint32_t i, best = MMKIT_OOM_NONE;
    unsigned btier = 3;
    int64_t bscore = 0;
    uint64_t t = o->total;
    if (scope != MMKIT_OOM_NONE && o->groups[scope].max) t = o->groups[scope].max;
    for (i = 0; i < o->max_cons; i++) { /* bound: max_consumers */
        const mmkit__oom_cons *c = &o->cons[i];
        unsigned tier;
        int64_t sc;
        if (!c->used || c->killed || !c->usage || c->adj == MMKIT_OOM_ADJ_NEVER) continue;
        if (!mmkit__oom_in_scope(o, c, scope)) continue;
        tier = mmkit__oom_tier(o, c, scope);
        if (tier == 2u) continue;
        sc = mmkit__oom_score(c, t);
        if (best == MMKIT_OOM_NONE || tier < btier ||
            (tier == btier && (sc > bscore || (sc == bscore && c->usage > o->cons[best].usage)))) {
            best = i;
            btier = tier;
            bscore = sc;
        }
    }
    return best;
}

MMKIT_API mmkit_status mmkit_oom_select(const mmkit_oom *o, uint32_t group, uint32_t *id) {
    uintptr_t s;
    uint32_t v;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_select: o: not an initialised instance");
    if (!id) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_select: id: must not be NULL");
    s = mmkit__oom_lock(o);
    if (group != MMKIT_OOM_NONE && !mmkit__oom_group_get(o, group)) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_select: group: no such group");
    }
    v = mmkit__oom_pick(o, group);
    mmkit__oom_unlock(o, s);
    *id = v;
    return v == MMKIT_OOM_NONE ? MMKIT_ENOENT : MMKIT_OK;
}

/* Kill v through the hook (lock held, released around it). */
static mmkit_status mmkit__oom_do_kill(mmkit_oom *o, uintptr_t *saved, uint32_t v) {
    mmkit_status st;
    mmkit__oom_unlock(o, *saved);
    st = o->kill(o->hook_ctx, v);
    *saved = mmkit__oom_lock(o);
    if (st != MMKIT_OK) return st;
    if (!o->cons[v].used || o->cons[v].killed) return MMKIT_OK; /* removed / killed meanwhile */
    mmkit__oom_psi_fold(o);
    if (o->cons[v].stall_depth) o->nstalled--;
    o->cons[v].killed = 1;
    o->nlive--;
    o->st.kills++;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_kill(mmkit_oom *o, uint32_t id) {
    uintptr_t s;
    mmkit__oom_cons *c;
    mmkit_status st;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_kill: o: not an initialised instance");
    if (!o->kill) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_kill: o: no kill hook in the desc");
    s = mmkit__oom_lock(o);
    c = mmkit__oom_cons_get(o, id);
    if (!c) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_kill: id: no such consumer");
    }
    if (c->killed) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_kill: id: already killed");
    }
    st = mmkit__oom_do_kill(o, &s, id);
    mmkit__oom_unlock(o, s);
    return st;
}

/* ---- charging ---- */

/* The lowest group on c's path that n more frames would take over max, or NONE. */
static uint32_t mmkit__oom_over_max(const mmkit_oom *o, const mmkit__oom_cons *c, uint64_t n) {
    uint32_t g = c ? c->group : MMKIT_OOM_NONE, steps = 0;
    while (g != MMKIT_OOM_NONE && steps++ <= o->max_groups) { /* bound: depth */
        const mmkit__oom_group *gr = &o->groups[g];
        if (gr->max && gr->usage + n > gr->max) return g;
        g = gr->parent;
    }
    return MMKIT_OOM_NONE;
}

static void mmkit__oom_apply(mmkit_oom *o, mmkit__oom_cons *c, uint64_t n, bool add) {
    uint32_t g = c->group, steps = 0;
    if (add) c->usage += n;
    else c->usage -= n;
    while (g != MMKIT_OOM_NONE && steps++ <= o->max_groups) { /* bound: depth */
        if (add) o->groups[g].usage += n;
        else o->groups[g].usage -= n;
        g = o->groups[g].parent;
    }
}

/* After a charge: signal the lowest group on the path that is above high. */
static uint32_t mmkit__oom_throttle(mmkit_oom *o, uintptr_t *saved, uint32_t id) {
    uint32_t g = o->cons[id].group, steps = 0;
    while (g != MMKIT_OOM_NONE && steps++ <= o->max_groups) { /* bound: depth */
        mmkit__oom_group *gr = &o->groups[g];
        if (gr->high && gr->usage > gr->high) {
            mmkit_oom_event ev;
            MMKIT_MEMSET(&ev, 0, sizeof ev);
            ev.type = MMKIT_OOM_EV_THROTTLE;
            ev.id = g;
            ev.consumer = id;
            ev.usage = gr->usage;
            gr->high_events++;
            o->st.throttle_events++;
            mmkit__oom_emit(o, saved, &ev);
            return g;
        }
        g = gr->parent;
    }
    return MMKIT_OOM_NONE;
}

/* Make room for n frames of consumer id within every group's max (group OOM). Lock held.
 * MMKIT_OK: room now; ENOMEM: none; ENOENT: the consumer went away during a hook. */
static mmkit_status mmkit__oom_group_room(mmkit_oom *o, uintptr_t *saved, uint32_t id, uint64_t n,
                                          mmkit_oom_report *rep) {
    unsigned round;
    for (round = 0;; round++) { /* bound: max_retries + 1 rounds */
        mmkit__oom_cons *c = mmkit__oom_cons_get(o, id);
        uint32_t g, v;
        if (!c) return MMKIT_ENOENT;
        g = mmkit__oom_over_max(o, c, n);
        if (g == MMKIT_OOM_NONE) return MMKIT_OK;
        if (round == 0) {
            o->groups[g].max_events++;
            o->st.group_ooms++;
        }
        if (rep) rep->group_oom = g;
        if (round >= o->max_retries || !o->kill || mmkit__oom_pending(o, g)) return MMKIT_ENOMEM;
        v = mmkit__oom_pick(o, g);
        if (v == MMKIT_OOM_NONE) return MMKIT_ENOMEM;
        if (mmkit__oom_do_kill(o, saved, v) != MMKIT_OK) return MMKIT_ENOMEM;
        if (g < o->max_groups && o->groups[g].used) o->groups[g].oom_kills++;
        if (rep) {
            rep->kills++;
            rep->victim = v;
        }
    }
}

MMKIT_API mmkit_status mmkit_oom_charge(mmkit_oom *o, uint32_t id, uint64_t frames) {
    uintptr_t s;
    mmkit_status st;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_charge: o: not an initialised instance");
    if (frames > MMKIT_OOM_MAX_FRAMES) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_charge: frames: must be at most 2^48");
    s = mmkit__oom_lock(o);
    if (!mmkit__oom_cons_get(o, id)) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_charge: id: no such consumer");
    }
    if (o->cons[id].usage + frames > MMKIT_OOM_MAX_FRAMES) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_charge: frames: usage would pass 2^48");
    }
    st = mmkit__oom_group_room(o, &s, id, frames, NULL);
    if (st == MMKIT_OK) {
        mmkit__oom_apply(o, &o->cons[id], frames, true);
        (void)mmkit__oom_throttle(o, &s, id);
    }
    mmkit__oom_unlock(o, s);
    return st;
}

MMKIT_API mmkit_status mmkit_oom_uncharge(mmkit_oom *o, uint32_t id, uint64_t frames) {
    uintptr_t s;
    mmkit__oom_cons *c;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_uncharge: o: not an initialised instance");
    s = mmkit__oom_lock(o);
    c = mmkit__oom_cons_get(o, id);
    if (!c) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_uncharge: id: no such consumer");
    }
    if (frames > c->usage - c->wrapped) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_uncharge: frames: more than was charged");
    }
    mmkit__oom_apply(o, c, frames, false);
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

/* ---- overcommit ---- */

MMKIT_API mmkit_status mmkit_oom_commit(mmkit_oom *o, uint32_t id, uint64_t frames) {
    uintptr_t s;
    mmkit__oom_cons *c = NULL;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_commit: o: not an initialised instance");
    if (frames > MMKIT_OOM_MAX_FRAMES * 2u) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_commit: frames: must be at most 2^49");
    s = mmkit__oom_lock(o);
    if (id != MMKIT_OOM_NONE && !(c = mmkit__oom_cons_get(o, id))) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_commit: id: no such consumer");
    }
    if ((o->overcommit == MMKIT_OOM_OVERCOMMIT_HEURISTIC && frames > o->total + o->swap) ||
        (o->overcommit == MMKIT_OOM_OVERCOMMIT_NEVER && o->committed + frames > o->commit_limit) ||
        o->committed + frames > ((uint64_t)1 << 62)) {
        mmkit__oom_unlock(o, s);
        return MMKIT_ENOMEM; /* the policy said no: not bad input */
    }
    o->committed += frames;
    if (c) c->committed += frames;
    else o->root_committed += frames;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_uncommit(mmkit_oom *o, uint32_t id, uint64_t frames) {
    uintptr_t s;
    mmkit__oom_cons *c = NULL;
    uint64_t *have;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_uncommit: o: not an initialised instance");
    s = mmkit__oom_lock(o);
    if (id != MMKIT_OOM_NONE && !(c = mmkit__oom_cons_get(o, id))) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_uncommit: id: no such consumer");
    }
    have = c ? &c->committed : &o->root_committed;
    if (frames > *have) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_uncommit: frames: more than was committed");
    }
    *have -= frames;
    o->committed -= frames;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

/* ---- the wrapper ---- */

MMKIT_API mmkit_status mmkit_oom_alloc(mmkit_oom *o, uint32_t id, unsigned order, uint32_t flags,
                                       mmkit_paddr *pa, mmkit_oom_report *rep) {
    uintptr_t s;
    mmkit_oom_report r;
    mmkit_status st = MMKIT_ENOMEM;
    uint64_t n, t0 = 0;
    bool stalled = false, noreclaim = (flags & MMKIT_ALLOC_NORECLAIM) != 0;
    mmkit__oom_cons *c = NULL;
    unsigned attempt;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_alloc: o: not an initialised instance");
    if (!pa) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_alloc: pa: must not be NULL");
    if (flags & ~MMKIT_ALLOC_KNOWN_FLAGS) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_alloc: flags: unknown flags");
    if (order > 47u) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_alloc: order: must be 0..47");
    n = (uint64_t)1 << order;
    s = mmkit__oom_lock(o);
    if (id != MMKIT_OOM_NONE && !(c = mmkit__oom_cons_get(o, id))) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_alloc: id: no such consumer");
    }
    MMKIT_MEMSET(&r, 0, sizeof r);
    r.consumer = id;
    r.order = order;
    r.victim = r.group_oom = r.throttle_group = MMKIT_OOM_NONE;
    o->st.allocs++;
    if (c) {
        st = mmkit__oom_group_room(o, &s, id, n, &r);
        if (st != MMKIT_OK) {
            if (st == MMKIT_ENOENT) st = MMKIT_ENOMEM;
            goto done;
        }
    }
    for (attempt = 0;; attempt++) { /* bound: max_retries + 1 provider attempts */
        uint64_t f = mmkit__oom_free_now(o);
        bool below_min = f < n || f - n < o->wm.min;
        uint32_t v;
        if (id != MMKIT_OOM_NONE && !(c = mmkit__oom_cons_get(o, id))) {
            st = MMKIT_ENOMEM; /* the consumer was removed during a hook */
            break;
        }
        if (c && mmkit__oom_over_max(o, c, n) != MMKIT_OOM_NONE) {
            st = MMKIT_ENOMEM; /* someone else took the group's room during a hook */
            break;
        }
        if (!below_min || noreclaim) {
            r.tries++;
            st = o->prov.alloc(o->prov.ctx, order, flags, pa);
            if (st == MMKIT_OK) {
                o->out += n;
                if (c) {
                    mmkit__oom_apply(o, c, n, true);
                    c->wrapped += n;
                } else {
                    o->root_out += n;
                }
                break;
            }
        }
        if (noreclaim || attempt >= o->max_retries) {
            st = MMKIT_ENOMEM;
            break;
        }
        if (!stalled) {
            stalled = true;
            o->st.slow_allocs++;
            if (o->now) t0 = o->now(o->hook_ctx);
            mmkit__oom_stall(o, c, 1);
        }
        {
            uint64_t target = n + (f < o->wm.high ? o->wm.high - f : 0);
            if (mmkit__oom_shrink(o, &s, target, &r) > 0) continue;
        }
        if (!o->kill || mmkit__oom_pending(o, MMKIT_OOM_NONE)) {
            st = MMKIT_ENOMEM;
            break;
        }
        v = mmkit__oom_pick(o, MMKIT_OOM_NONE);
        if (v == MMKIT_OOM_NONE || mmkit__oom_do_kill(o, &s, v) != MMKIT_OK) {
            st = MMKIT_ENOMEM;
            break;
        }
        r.kills++;
        r.victim = v;
    }
    if (stalled) {
        c = id != MMKIT_OOM_NONE ? mmkit__oom_cons_get(o, id) : NULL;
        if (id == MMKIT_OOM_NONE || c) mmkit__oom_stall(o, c, -1);
        if (o->now) {
            uint64_t t1 = o->now(o->hook_ctx);
            r.stall_ns = t1 > t0 ? t1 - t0 : 0;
        }
    }
    if (st == MMKIT_OK && c) r.throttle_group = mmkit__oom_throttle(o, &s, id);
done:
    if (st != MMKIT_OK) o->st.alloc_fails++;
    mmkit__oom_level_update(o, &s);
    r.status = st;
    r.level = o->level;
    o->last = r;
    mmkit__oom_unlock(o, s);
    if (rep) *rep = r;
    return st;
}

MMKIT_API mmkit_status mmkit_oom_free(mmkit_oom *o, uint32_t id, mmkit_paddr pa, unsigned order) {
    uintptr_t s;
    mmkit__oom_cons *c = NULL;
    mmkit_status st;
    uint64_t n;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_free: o: not an initialised instance");
    if (order > 47u) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_free: order: must be 0..47");
    n = (uint64_t)1 << order;
    s = mmkit__oom_lock(o);
    if (id != MMKIT_OOM_NONE && !(c = mmkit__oom_cons_get(o, id))) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_oom_free: id: no such consumer");
    }
    if ((c && c->wrapped < n) || (!c && o->root_out < n)) {
        mmkit__oom_unlock(o, s);
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_free: order: more than this consumer got from the wrapper");
    }
    st = o->prov.free(o->prov.ctx, pa, order);
    if (st == MMKIT_OK) {
        o->out -= n;
        if (c) {
            c->wrapped -= n;
            mmkit__oom_apply(o, c, n, false);
        } else {
            o->root_out -= n;
        }
        mmkit__oom_level_update(o, &s);
    }
    mmkit__oom_unlock(o, s);
    return st;
}

static mmkit_status mmkit__oom_prov_alloc_root(void *ctx, unsigned order, uint32_t flags,
                                               mmkit_paddr *pa) {
    return mmkit_oom_alloc((mmkit_oom *)ctx, MMKIT_OOM_NONE, order, flags, pa, NULL);
}
static mmkit_status mmkit__oom_prov_free_root(void *ctx, mmkit_paddr pa, unsigned order) {
    return mmkit_oom_free((mmkit_oom *)ctx, MMKIT_OOM_NONE, pa, order);
}
static mmkit_status mmkit__oom_prov_alloc_cons(void *ctx, unsigned order, uint32_t flags,
                                               mmkit_paddr *pa) {
    mmkit__oom_cons *c = (mmkit__oom_cons *)ctx;
    return mmkit_oom_alloc(c->owner, (uint32_t)(c - c->owner->cons), order, flags, pa, NULL);
}
static mmkit_status mmkit__oom_prov_free_cons(void *ctx, mmkit_paddr pa, unsigned order) {
    mmkit__oom_cons *c = (mmkit__oom_cons *)ctx;
    return mmkit_oom_free(c->owner, (uint32_t)(c - c->owner->cons), pa, order);
}

static void *mmkit__oom_prov_p2v_root(void *ctx, mmkit_paddr pa) {
    const mmkit_oom *o = (const mmkit_oom *)ctx;
    return o->prov.phys_to_virt(o->prov.ctx, pa);
}
static void *mmkit__oom_prov_p2v_cons(void *ctx, mmkit_paddr pa) {
    const mmkit_oom *o = ((const mmkit__oom_cons *)ctx)->owner;
    return o->prov.phys_to_virt(o->prov.ctx, pa);
}

MMKIT_API mmkit_provider mmkit_oom_provider(mmkit_oom *o, uint32_t id) {
    mmkit_provider p;
    MMKIT_MEMSET(&p, 0, sizeof p);
    if (!mmkit__oom_live(o)) return p;
    if (id == MMKIT_OOM_NONE) {
        p.alloc = mmkit__oom_prov_alloc_root;
        p.free = mmkit__oom_prov_free_root;
        p.ctx = o;
    } else {
        uintptr_t s = mmkit__oom_lock(o);
        bool ok = mmkit__oom_cons_get(o, id) != NULL;
        mmkit__oom_unlock(o, s);
        if (!ok) return p;
        p.alloc = mmkit__oom_prov_alloc_cons;
        p.free = mmkit__oom_prov_free_cons;
        p.ctx = &o->cons[id];
    }
    if (o->prov.phys_to_virt)
        p.phys_to_virt = id == MMKIT_OOM_NONE ? mmkit__oom_prov_p2v_root : mmkit__oom_prov_p2v_cons;
    return p;
}

MMKIT_API mmkit_status mmkit_oom_report_get(const mmkit_oom *o, mmkit_oom_report *rep) {
    uintptr_t s;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_report_get: o: not an initialised instance");
    if (!rep) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_report_get: rep: must not be NULL");
    s = mmkit__oom_lock(o);
    *rep = o->last;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

/* ---- queries ---- */

MMKIT_API mmkit_status mmkit_oom_stats_get(const mmkit_oom *o, mmkit_oom_stats *st) {
    uintptr_t s;
    if (!mmkit__oom_live(o)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_stats_get: o: not an initialised instance");
    if (!st) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_oom_stats_get: s: must not be NULL");
    s = mmkit__oom_lock(o);
    *st = o->st;
    st->total_frames = o->total;
    st->free_frames = mmkit__oom_free_now(o);
    st->wrapper_frames = o->out;
    st->wmark = o->wm;
    st->level = o->level;
    st->committed = o->committed;
    st->commit_limit = o->commit_limit;
    st->consumers = o->ncons;
    st->groups = o->ngroups;
    st->shrinkers = o->nshr;
    mmkit__oom_unlock(o, s);
    return MMKIT_OK;
}

static mmkit_status mmkit__oom_check_locked(const mmkit_oom *o) {
    uint32_t i, n = 0, live = 0, stalled = 0, k;
    uint64_t wrapped = 0, committed = o->root_committed;
    if (!mmkit__oom_wm_ok(&o->wm, o->total)) return MMKIT_ECORRUPT;
    if (o->psi_head > MMKIT_OOM_PSI_BUCKETS) return MMKIT_ECORRUPT;
    for (i = 0; i < o->max_groups; i++) { /* bound: G; usage and tree */
        const mmkit__oom_group *g = &o->groups[i];
        uint64_t sum = 0;
        uint32_t members = 0, children = 0, p = i, steps = 0;
        if (!g->used) continue;
        n++;
        if (g->parent != MMKIT_OOM_NONE && (g->parent >= o->max_groups || !o->groups[g->parent].used))
            return MMKIT_ECORRUPT;
        while (p != MMKIT_OOM_NONE) { /* bound: max_groups + 1 steps, else a cycle */
            if (++steps > o->max_groups) return MMKIT_ECORRUPT;
            p = o->groups[p].parent;
        }
        for (k = 0; k < o->max_cons; k++) /* bound: C */
            if (o->cons[k].used && o->cons[k].group == i) {
                sum += o->cons[k].usage;
                members++;
            }
        for (k = 0; k < o->max_groups; k++) /* bound: G */
            if (o->groups[k].used && o->groups[k].parent == i) {
                sum += o->groups[k].usage;
                children++;
            }
        if (sum != g->usage || members != g->members || children != g->children) return MMKIT_ECORRUPT;
    }
    if (n != o->ngroups) return MMKIT_ECORRUPT;
    n = 0;
    for (i = 0; i < o->max_cons; i++) { /* bound: C */
        const mmkit__oom_cons *c = &o->cons[i];
        if (c->owner != o) return MMKIT_ECORRUPT;
        if (!c->used) continue;
        n++;
        if (c->wrapped > c->usage || !mmkit__oom_adj_ok((int)c->adj)) return MMKIT_ECORRUPT;
        if (c->group != MMKIT_OOM_NONE && (c->group >= o->max_groups || !o->groups[c->group].used))
            return MMKIT_ECORRUPT;
        wrapped += c->wrapped;
        committed += c->committed;
        if (!c->killed) {
            live++;
            if (c->stall_depth) stalled++;
        }
    }
    if (n != o->ncons || live != o->nlive) return MMKIT_ECORRUPT;
    if (stalled + (o->root_stall ? 1u : 0u) != o->nstalled) return MMKIT_ECORRUPT;
    if (wrapped + o->root_out != o->out || committed != o->committed) return MMKIT_ECORRUPT;
    n = 0;
    for (i = 0; i < o->max_shr; i++) /* bound: S */
        if (o->shr[i].used) {
            n++;
            if (!o->shr[i].d.count || !o->shr[i].d.scan) return MMKIT_ECORRUPT;
        }
    if (n != o->nshr) return MMKIT_ECORRUPT;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_oom_check(const mmkit_oom *o) {
    uintptr_t s;
    mmkit_status st;
    if (!mmkit__oom_live(o)) return MMKIT_EINVAL;
    s = mmkit__oom_lock(o);
    st = mmkit__oom_check_locked(o);
    mmkit__oom_unlock(o, s);
    return st;
}

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_IMPLEMENTATION */
