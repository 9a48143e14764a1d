/* user.c - the hobby kernels' user programs: one image, linked at USER_IMAGE_VA by user.ld,
 * entered at user_start(role) in U-mode / ring 3. Each task checks its own results and says so
 * with its exit status (0 = every check passed); the kernel's verdict reads those statuses.
 * Compiled freestanding for the architecture, with "user_arch.h" for user_syscall(), and
 * linked with examples/common/libc.c (the memory functions the compiler may call). */
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "user_arch.h"

#define PAGE 4096u
#define WORDS (PAGE / 8u)

static uint64_t sys(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
    return user_syscall(nr, a0, a1, a2);
}

/* a + b + "\n" in one write (the kernel prefixes every write with the task's name) */
static void say(const char *a, const char *b) {
    char buf[128];
    size_t n = 0;
    while (*a && n < sizeof buf - 2) buf[n++] = *a++;
    while (*b && n < sizeof buf - 2) buf[n++] = *b++;
    buf[n++] = '\n';
    sys(SYS_WRITE, (uint64_t)(uintptr_t)buf, n, 0);
}

/* "text<number>\n" in one write */
static void put_num(const char *s, uint64_t v) {
    char buf[96];
    char dig[24];
    size_t n = 0, k = 0;
    while (*s && n < sizeof buf - 26) buf[n++] = *s++;
    do {
        dig[k++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (k) buf[n++] = dig[--k];
    buf[n++] = '\n';
    sys(SYS_WRITE, (uint64_t)(uintptr_t)buf, n, 0);
}

static __attribute__((noreturn)) void user_exit(uint64_t status) {
    sys(SYS_EXIT, status, 0, 0);
    for (;;) {
    }
}

static uint64_t *sbrk_pages(uint64_t pages) {
    uint64_t old = sys(SYS_SBRK, pages * PAGE, 0, 0);
    return old == (uint64_t)-1 ? NULL : (uint64_t *)(uintptr_t)old;
}

static uint64_t mix(uint64_t page, uint64_t word, uint64_t tag) {
    uint64_t x = (page << 32) ^ (word << 3) ^ (tag * 0x9e3779b97f4a7c15ull);
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 32);
}

static void fill(uint64_t *base, uint64_t from, uint64_t to, uint64_t tag) {
    for (uint64_t i = from; i < to; i++)
        for (uint64_t k = 0; k < WORDS; k++) base[i * WORDS + k] = mix(i, k, tag);
}

/* pages [from, to) hold tag's pattern: the number of wrong words */
static uint64_t verify(const uint64_t *base, uint64_t from, uint64_t to, uint64_t tag) {
    uint64_t bad = 0;
    for (uint64_t i = from; i < to; i++)
        for (uint64_t k = 0; k < WORDS; k++) bad += base[i * WORDS + k] != mix(i, k, tag);
    return bad;
}

/* ---- forker: both fork modes; a COW child's writes are invisible to the parent and the
 * parent's writes after the fork invisible to the child ---- */
static volatile uint64_t data_word = 0xda7a0001u; /* .data: copied on write like the heap */
static uint64_t bss_words[64];                    /* .bss: demand-zero through the image */

#define FORK_PAGES 48u
/* The heap is reserved 2 MiB at a time (only touched pages cost a frame): a table-sharing fork
 * shares only the leaf tables lying wholly inside the largest private region, so a heap
 * smaller than one table's 2 MiB would be forked classically. */
#define FORK_RESERVE 512u
static uint64_t forker(void) {
    uint64_t *heap = sbrk_pages(FORK_RESERVE), failures = 0;
    static const char *names[2] = {"classic", "share-tables"};
    if (!heap) return 100;
    for (uint64_t k = 0; k < 64; k++) failures += bss_words[k] != 0;
    for (uint64_t i = 0; i < FORK_PAGES; i++) /* untouched heap reads as zeros (the zero frame) */
        for (uint64_t k = 0; k < WORDS; k += 64) failures += heap[i * WORDS + k] != 0;
    for (unsigned mode = 0; mode < 2; mode++) {
        uint64_t before = 0x100u + mode, after = 0x200u + mode, child_tag = 0x300u + mode;
        uint64_t pid, st, bad;
        fill(heap, 0, FORK_PAGES, before);
        data_word = 0xda7a0100u + mode;
        bss_words[mode] = 0x5a5a0000u + mode;
        pid = sys(SYS_FORK, mode, 0, 0);
        if (pid == (uint64_t)-1) return 101;
        if (pid == 0) { /* the child */
            uint64_t cbad = verify(heap, 0, FORK_PAGES, before);   /* the pre-fork contents */
            cbad += data_word != 0xda7a0100u + mode;
            cbad += bss_words[mode] != 0x5a5a0000u + mode;
            fill(heap, 16, 32, child_tag);                          /* COW breaks */
            cbad += verify(heap, 16, 32, child_tag);
            data_word = 0xc41du;
            if (cbad) put_num("child: wrong words: ", cbad);
            else put_num("child: saw the pre-fork data, its writes are its own; fork mode ", mode);
            user_exit(cbad ? 1 : 0);
        }
        fill(heap, 0, 16, after);           /* the parent writes after the fork */
        st = sys(SYS_WAIT, pid, 0, 0);
        bad = verify(heap, 0, 16, after) + verify(heap, 16, FORK_PAGES, before);
        bad += data_word != 0xda7a0100u + mode;
        if (st != 0) put_num("child failed, status ", st);
        if (bad) put_num("parent: wrong words after the child's writes: ", bad);
        else {
            say(names[mode], " fork: the child's writes are invisible to the parent");
        }
        failures += bad + (st != 0);
    }
    /* an orphan: a child writes 8 pages (its own copies), forks a grandchild and exits without
     * waiting; the grandchild outlives it and still reads those pages */
    {
        uint64_t pid = sys(SYS_FORK, FORK_CLASSIC, 0, 0), st;
        if (pid == (uint64_t)-1) return 102;
        if (pid == 0) {
            uint64_t g;
            fill(heap, 0, 8, 0x400u);
            g = sys(SYS_FORK, FORK_SHARE, 0, 0);
            if (g == (uint64_t)-1) user_exit(1);
            if (g == 0) {
                uint64_t gbad;
                for (unsigned y = 0; y < 4; y++) sys(SYS_YIELD, 0, 0, 0); /* its parent exits */
                gbad = verify(heap, 0, 8, 0x400u) + verify(heap, 8, 16, 0x201u) +
                       verify(heap, 16, FORK_PAGES, 0x101u);
                if (gbad) put_num("orphan: wrong words: ", gbad);
                else say("orphan: its exited parent's pages are intact", "");
                user_exit(gbad ? 1 : 0);
            }
            user_exit(0);
        }
        st = sys(SYS_WAIT, pid, 0, 0);
        failures += st != 0;
    }
    /* protection: a child that writes its own text, one that reads past the heap break and
     * one that reads a page it gave back with a negative sbrk (mmkit_cow_region_resize) are
     * killed by the kernel (status 139); the parent goes on */
    for (unsigned k = 0; k < 3; k++) {
        uint64_t pid = sys(SYS_FORK, FORK_CLASSIC, 0, 0), st;
        if (pid == (uint64_t)-1) return 103;
        if (pid == 0) {
            if (k == 0) {
                *(volatile uint64_t *)(uintptr_t)(USER_IMAGE_VA + 64) = 1;
            } else if (k == 1) {
                (void)*(volatile uint64_t *)(uintptr_t)(sys(SYS_SBRK, 0, 0, 0) + 4 * PAGE);
            } else {
                volatile uint64_t *p = sbrk_pages(2);
                if (!p) user_exit(104);
                p[0] = 7;
                p[PAGE / 8] = 8; /* the second page, then gave both back */
                if (sys(SYS_SBRK, (uint64_t)-(int64_t)(2 * PAGE), 0, 0) != (uint64_t)(uintptr_t)p + 2 * PAGE)
                    user_exit(105);
                if (sys(SYS_SBRK, 0, 0, 0) != (uint64_t)(uintptr_t)p) user_exit(106);
                (void)p[PAGE / 8];
            }
            user_exit(0); /* not reached */
        }
        st = sys(SYS_WAIT, pid, 0, 0);
        if (st != 139) put_num("a bad access was not stopped; child status ", st);
        failures += st != 139;
    }
    say("the three bad accesses were stopped (status 139)", "");
    return failures ? 1 : 0;
}

/* ---- swapper: more pages than the memory budget, checksummed across passes ---- */
#define SWAP_PAGES 320u
static uint64_t swapper(void) {
    uint64_t *heap = sbrk_pages(SWAP_PAGES), sum0 = 0, bad = 0;
    if (!heap) return 100;
    for (uint64_t i = 0; i < SWAP_PAGES; i++) {
        fill(heap, i, i + 1, 0x5e1fu);
        for (uint64_t k = 0; k < WORDS; k++) sum0 += heap[i * WORDS + k] * (k + 1);
        if (i % 16 == 15) sys(SYS_YIELD, 0, 0, 0);
    }
    for (unsigned pass = 0; pass < 3; pass++) {
        uint64_t sum = 0;
        for (uint64_t i = 0; i < SWAP_PAGES; i++) {
            bad += verify(heap, i, i + 1, 0x5e1fu);
            for (uint64_t k = 0; k < WORDS; k++) sum += heap[i * WORDS + k] * (k + 1);
            if (i % 32 == 31) sys(SYS_YIELD, 0, 0, 0);
        }
        bad += sum != sum0;
    }
    if (bad) put_num("checksum mismatch, wrong words: ", bad);
    else put_num("3 passes over its pages, checksums equal: ", sum0 & 0xffffffffu);
    return bad ? 1 : 0;
}

/* ---- leaker: grows and touches its heap until the OOM killer ends it ---- */
static uint64_t leaker(void) {
    for (uint64_t round = 0;; round++) {
        uint64_t *p = sbrk_pages(16);
        if (!p) return 2; /* the heap limit: the killer never came */
        for (uint64_t i = 0; i < 16; i++) p[i * WORDS] = round * 16 + i + 1;
        sys(SYS_YIELD, 0, 0, 0);
    }
}

__attribute__((section(".text.entry"), noreturn, used)) void user_start(uint64_t role);
void user_start(uint64_t role) {
    uint64_t st = 99;
    if (role == ROLE_FORKER) st = forker();
    else if (role == ROLE_SWAPPER) st = swapper();
    else if (role == ROLE_LEAKER) st = leaker();
    user_exit(st);
}
