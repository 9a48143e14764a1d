/* test_multiboot.c - host test of the x86-64 kernel's Multiboot reader (multiboot.c): a valid
 * information structure as QEMU builds it is read exactly; every rule of multiboot.h refuses
 * its broken variant with the documented status; random corruptions never read outside the
 * window (the read callback checks, ASan in the sanitizer build) and, when accepted, give
 * sorted, disjoint, page-aligned RAM ranges and reserved ranges that touch RAM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MMKIT_IMPLEMENTATION /* mmkit_status_str */
#include "multiboot.h"

#define WIN_BASE 0x300000u          /* the window is physical [WIN_BASE, WIN_BASE + WIN_SIZE) */
#define WIN_SIZE 0x4000u
#define MBI_PA (WIN_BASE + 0x0)
#define MMAP_PA (WIN_BASE + 0x100)
#define CMD_PA (WIN_BASE + 0x800)
#define MODS_PA (WIN_BASE + 0x900)

static unsigned char win[WIN_SIZE];
static unsigned failures, checks;

#define CHECK(cond)                                                           \
    do {                                                                      \
        checks++;                                                             \
        if (!(cond)) {                                                        \
            failures++;                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                     \
    } while (0)

static const void *rd(void *ctx, uint64_t pa, uint64_t len) {
    (void)ctx;
    if (pa < WIN_BASE || len > WIN_SIZE || pa - WIN_BASE > WIN_SIZE - len) return NULL;
    return win + (pa - WIN_BASE);
}

static void w32(uint64_t pa, uint32_t v) { memcpy(win + (pa - WIN_BASE), &v, 4); }
static void w64(uint64_t pa, uint64_t v) { memcpy(win + (pa - WIN_BASE), &v, 8); }

static uint32_t nent;
static void entry(uint64_t base, uint64_t len, uint32_t type) {
    uint64_t at = MMAP_PA + 24u * nent++;
    w32(at, 20);
    w64(at + 4, base);
    w64(at + 12, len);
    w32(at + 20, type);
    w32(MBI_PA + 44, 24u * nent);
}

/* QEMU's map for -m 256M: low RAM, the BIOS hole, RAM from 1 MiB, reserved at the top */
static void build_valid(void) {
    memset(win, 0, sizeof win);
    nent = 0;
    w32(MBI_PA, 0x001 | 0x002 | 0x004 | 0x040 | 0x200);
    w32(MBI_PA + 4, 639);
    w32(MBI_PA + 8, 261120);
    w32(MBI_PA + 16, CMD_PA);
    w32(MBI_PA + 48, MMAP_PA);
    entry(0, 0x9fc00, 1);
    entry(0x9fc00, 0x400, 2);
    entry(0xf0000, 0x10000, 2);
    entry(0x100000, 0xfee0000, 1);
    entry(0xffe0000, 0x20000, 2);
    entry(0xfffc0000, 0x40000, 2);
    memcpy(win + (CMD_PA - WIN_BASE), "level=4 notimer", 16);
}

static mmkit_status parse(mb_info *m, const char **why) {
    return mb_parse(MB_BOOTLOADER_MAGIC, MBI_PA, rd, NULL, UINT64_MAX, m, why);
}

static void test_valid(void) {
    mb_info m;
    const char *why = NULL;
    build_valid();
    CHECK(parse(&m, &why) == MMKIT_OK);
    CHECK(m.ram_count == 2);
    CHECK(m.ram[0].base == 0 && m.ram[0].size == 0x9f000);          /* rounded inward */
    CHECK(m.ram[1].base == 0x100000 && m.ram[1].size == 0xfee0000);
    CHECK(m.mmap_entries == 6);
    CHECK(m.ram_bytes == 0x9f000 + 0xfee0000);
    CHECK(strcmp(m.cmdline, "level=4 notimer") == 0);
    /* [0,1M), the info (page 0x10000); the mmap and the command line are in the same page */
    CHECK(m.reserved_count == 2);
    CHECK(m.reserved[0].base == 0 && m.reserved[0].size == 0x100000);
    CHECK(m.reserved[1].base == WIN_BASE && m.reserved[1].size == 0x1000);
    /* the RAM limit clips and counts */
    CHECK(mb_parse(MB_BOOTLOADER_MAGIC, MBI_PA, rd, NULL, 0x8000000, &m, &why) == MMKIT_OK);
    CHECK(m.ram_count == 2 && m.ram[1].base + m.ram[1].size == 0x8000000);
    CHECK(m.ignored_bytes == 0xfee0000 + 0x100000 - 0x8000000);
    /* touching ranges merge; out of order entries are sorted */
    build_valid();
    nent = 0;
    entry(0x200000, 0x100000, 1);
    entry(0x100000, 0x100000, 1);
    entry(0x400000, 0x100000, 1);
    entry(0x300000, 0x100000, 1);
    CHECK(parse(&m, &why) == MMKIT_OK);
    CHECK(m.ram_count == 1 && m.ram[0].base == 0x100000 && m.ram[0].size == 0x400000);
    /* modules: reserved, start > end refused */
    build_valid();
    w32(MBI_PA, 0x004 | 0x008 | 0x040);
    w32(MBI_PA + 20, 1);
    w32(MBI_PA + 24, MODS_PA);
    w32(MODS_PA, 0x200000);
    w32(MODS_PA + 4, 0x200800);
    CHECK(parse(&m, &why) == MMKIT_OK && m.modules == 1);
    CHECK(m.reserved_count == 3 && m.reserved[2].base == 0x200000 && m.reserved[2].size == 0x1000);
    w32(MODS_PA + 4, 0x1ff000);
    CHECK(parse(&m, &why) == MMKIT_EINVAL && strstr(why, "mod_start") != NULL);
    /* the last entry ends exactly at mmap_length with a larger size field: accepted */
    build_valid();
    w32(MMAP_PA + 24 * 5, 24);
    w32(MBI_PA + 44, 24u * 6 + 4);
    CHECK(parse(&m, &why) == MMKIT_OK && m.mmap_entries == 6);
}

typedef struct bad_case {
    const char *name;
    void (*mutate)(void);
    mmkit_status want;
    const char *rule; /* a word of *why */
} bad_case;

static uint32_t magic_used = MB_BOOTLOADER_MAGIC;
static void m_magic(void) { magic_used = 0x1BADB002; }
static void m_unknown_flags(void) { w32(MBI_PA, 0x040 | 0x4000); }
static void m_no_mmap(void) { w32(MBI_PA, 0x001 | 0x004); }
static void m_len0(void) { w32(MBI_PA + 44, 0); }
static void m_len_huge(void) { w32(MBI_PA + 44, 0x10000); }
static void m_addr_out(void) { w32(MBI_PA + 48, WIN_BASE + WIN_SIZE - 8); }
static void m_size_small(void) { w32(MMAP_PA + 24, 16); }
static void m_size_big(void) { w32(MMAP_PA + 24 * 5, 200); }
static void m_partial(void) { w32(MBI_PA + 44, 24u * 6 + 2); }
static void m_wrap(void) { w64(MMAP_PA + 24 * 3 + 4, UINT64_MAX - 0x1000); }
static void m_overlap(void) {
    w64(MMAP_PA + 24 * 3 + 4, 0x50000); /* RAM from 320 KiB: overlaps the low range */
}
static void m_no_ram(void) {
    w32(MMAP_PA + 20, 2);
    w32(MMAP_PA + 24 * 3 + 20, 3);
}
static void m_cmd_unterminated(void) { memset(win + (CMD_PA - WIN_BASE), 'x', WIN_SIZE - (CMD_PA - WIN_BASE)); }
static void m_cmd_runs_out(void) { /* no NUL before the window's end */
    w32(MBI_PA + 16, WIN_BASE + WIN_SIZE - 10);
    memset(win + WIN_SIZE - 10, 'x', 10);
}
static void m_cmd_out(void) { w32(MBI_PA + 16, 0x100); }
static void m_mods_many(void) {
    w32(MBI_PA, 0x008 | 0x040);
    w32(MBI_PA + 20, 1000);
    w32(MBI_PA + 24, MODS_PA);
}
static void m_mods_out(void) {
    w32(MBI_PA, 0x008 | 0x040);
    w32(MBI_PA + 20, 2);
    w32(MBI_PA + 24, WIN_BASE + WIN_SIZE - 16);
}
static void m_too_many_ram(void) {
    unsigned i;
    nent = 0;
    for (i = 0; i < MB_MAX_RAM + 1; i++) entry(0x100000 + (uint64_t)i * 0x200000, 0x100000, 1);
}

static void test_refusals(void) {
    static const bad_case cases[] = {
        {"magic", m_magic, MMKIT_EINVAL, "magic"},
        {"unknown flags", m_unknown_flags, MMKIT_EINVAL, "flags"},
        {"no memory map", m_no_mmap, MMKIT_ENOENT, "memory map"},
        {"mmap_length 0", m_len0, MMKIT_EINVAL, "mmap_length"},
        {"mmap_length huge", m_len_huge, MMKIT_ERANGE, "mmap_length"},
        {"mmap_addr outside", m_addr_out, MMKIT_ERANGE, "mmap_addr"},
        {"entry size < 20", m_size_small, MMKIT_EINVAL, "entry size"},
        {"entry past the end", m_size_big, MMKIT_ERANGE, "past mmap_length"},
        {"partial entry", m_partial, MMKIT_EINVAL, "partial"},
        {"base + length wraps", m_wrap, MMKIT_EINVAL, "wraps"},
        {"overlapping RAM", m_overlap, MMKIT_EINVAL, "overlap"},
        {"no RAM", m_no_ram, MMKIT_ENOENT, "no usable RAM"},
        {"cmdline unterminated", m_cmd_unterminated, MMKIT_EINVAL, "no NUL"},
        {"cmdline runs out", m_cmd_runs_out, MMKIT_ERANGE, "cmdline"},
        {"cmdline outside", m_cmd_out, MMKIT_ERANGE, "cmdline"},
        {"too many modules", m_mods_many, MMKIT_ENOSPC, "mods_count"},
        {"module list outside", m_mods_out, MMKIT_ERANGE, "mods_addr"},
        {"too many RAM ranges", m_too_many_ram, MMKIT_ENOSPC, "too many RAM"},
    };
    size_t i;
    mb_info m;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;
        mmkit_status st;
        build_valid();
        magic_used = MB_BOOTLOADER_MAGIC;
        cases[i].mutate();
        st = mb_parse(magic_used, MBI_PA, rd, NULL, UINT64_MAX, &m, &why);
        if (st != cases[i].want || !why || !strstr(why, cases[i].rule)) {
            fprintf(stderr, "case '%s': got %s (%s), want %s with '%s'\n", cases[i].name,
                    mmkit_status_str(st), why ? why : "(null)", mmkit_status_str(cases[i].want),
                    cases[i].rule);
            failures++;
        }
        checks++;
    }
    /* a structure outside the window and a NULL callback */
    CHECK(mb_parse(MB_BOOTLOADER_MAGIC, WIN_BASE + WIN_SIZE - 40, rd, NULL, UINT64_MAX, &m, NULL) == MMKIT_ERANGE);
    CHECK(mb_parse(MB_BOOTLOADER_MAGIC, MBI_PA, NULL, NULL, UINT64_MAX, &m, NULL) == MMKIT_EINVAL);
}

/* random byte corruptions of the valid structure and map */
static void test_random(void) {
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    unsigned iter, accepted = 0;
    for (iter = 0; iter < 200000; iter++) {
        mb_info m;
        unsigned k, n;
        size_t i;
        build_valid();
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        n = 1 + (unsigned)(x % 4);
        for (k = 0; k < n; k++) {
            unsigned off;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            off = (unsigned)(x >> 8) % (0x100 + 24 * 6); /* the structure and the map */
            win[off] = (unsigned char)(x >> 40);
        }
        if (parse(&m, NULL) != MMKIT_OK) continue;
        accepted++;
        for (i = 0; i < m.ram_count; i++) {
            CHECK(m.ram[i].size > 0 && (m.ram[i].base & 0xfff) == 0 && (m.ram[i].size & 0xfff) == 0);
            if (i) CHECK(m.ram[i - 1].base + m.ram[i - 1].size < m.ram[i].base); /* merged if touching */
        }
        for (i = 0; i < m.reserved_count; i++) {
            size_t r;
            int touch = 0;
            for (r = 0; r < m.ram_count; r++)
                touch |= m.reserved[i].base < m.ram[r].base + m.ram[r].size &&
                         m.reserved[i].base + m.reserved[i].size > m.ram[r].base;
            CHECK(touch);
        }
        CHECK(m.cmdline[MB_CMDLINE_MAX - 1] == 0);
    }
    printf("random corruptions: %u of 200000 accepted, every accepted map well-formed\n", accepted);
    CHECK(accepted > 0 && accepted < 200000);
}

int main(void) {
    test_valid();
    test_refusals();
    test_random();
    printf("%u checks, %u failures\n", checks, failures);
    return failures ? 1 : 0;
}
