/* multiboot.h - a bounds-checked reader of the Multiboot-1 information (the boot loader's
 * memory map, command line and modules) that refuses a malformed structure instead of
 * trusting it. Portable C99 over a read callback, so the same code runs in the kernel (the
 * callback is the identity map) and in a host test that feeds it broken inputs
 * (test_multiboot.c).
 *
 * What is checked: the magic; the flags (unknown bits refused, the memory map (bit 6)
 * required); that every structure the information points to lies where the callback can read
 * it (mmap_addr + mmap_length, the command line, the module list); mmap_length (0 or more
 * than MB_MMAP_MAX_BYTES refused); every entry's size field (at least 20 bytes, no entry
 * running past mmap_length); base + length overflowing 2^64; more entries or RAM ranges than
 * fit; overlapping RAM ranges; a command line without its NUL in its first 4 KiB; modules
 * with start > end. RAM ranges (type 1) are rounded inward to pages, sorted and merged where
 * they touch, and clipped at ram_limit (what lies above is counted in ignored_bytes).
 * Reserved ranges: [0, 1 MiB) (BIOS, EBDA, legacy holes), the information itself, the memory
 * map array, the command line, the module list and the modules, rounded outward to pages (one
 * already covered by an earlier range is not repeated) and kept only where they touch RAM
 * (mmkit_buddy's rule).
 */
#ifndef KX86_MULTIBOOT_H
#define KX86_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>
#include <mmkit/mmkit_core.h>

#define MB_BOOTLOADER_MAGIC 0x2BADB002u
#define MB_MMAP_MAX_BYTES 8192u        /* 341 entries of 24 bytes: far more than any e820 */
#define MB_MAX_RAM 32u
#define MB_MAX_RESERVED 20u
#define MB_MAX_MODULES 8u
#define MB_CMDLINE_MAX 256u            /* kept (longer ones are cut; unterminated refused) */
#define MB_CMDLINE_SCAN 4096u

/* Returns a pointer to len readable bytes at physical address pa, or NULL when any of them is
 * outside what the caller allows. */
typedef const void *(*mb_read_fn)(void *ctx, uint64_t pa, uint64_t len);

typedef struct mb_info {
    mmkit_range ram[MB_MAX_RAM];
    size_t ram_count;
    mmkit_range reserved[MB_MAX_RESERVED];
    size_t reserved_count;
    char cmdline[MB_CMDLINE_MAX];
    uint32_t flags;
    uint32_t mmap_entries;             /* entries read (all types) */
    uint64_t ram_bytes;                /* total of ram[] */
    uint64_t ignored_bytes;            /* RAM above ram_limit, not in ram[] */
    uint32_t modules;
} mb_info;

/* Parse the information at mbi_pa. MMKIT_OK and *out filled, or an error with *why (may be
 * NULL) naming the rule: EINVAL (bad magic, unknown flags, bad entry size, overflow, overlap,
 * unterminated command line, module start > end), ENOENT (no memory map, no RAM at all),
 * ERANGE (something outside the readable window, mmap_length too large), ENOSPC (more entries,
 * ranges or modules than fit). *out is zeroed first. O(entries * MB_MAX_RAM). */
mmkit_status mb_parse(uint32_t magic, uint64_t mbi_pa, mb_read_fn rd, void *ctx,
                      uint64_t ram_limit, mb_info *out, const char **why);

#endif
