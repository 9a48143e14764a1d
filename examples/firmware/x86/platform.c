/* x86/platform.c - PC under QEMU, 32-bit protected mode without paging: COM1 at 0x3f8,
 * isa-debug-exit at 0xf4 to exit, and the memory map from the Multiboot-1 information.
 *
 * The Multiboot map is read with bounds checks (the magic in EAX, the info flags, a map length
 * below 64 KiB, every entry's size field inside the map and at least 20 bytes) and copied into
 * the fw_platform before anything allocates, so the information block needs no reservation.
 * Usable (type 1) RAM is clipped below 4 GiB: without paging a 32-bit CPU reaches nothing
 * above. Frame 0 is reserved: identity-mapped, its address is the NULL pointer. The other
 * entry types go into the device table as firmware regions. */
#include "../fw.h"
/* port I/O, COM1 output and isa-debug-exit: examples/common, shared with the boot tests and
 * the x86-64 kernel */
#include "x86_io.h"

#define MB_MAGIC 0x2BADB002u
#define MB_INFO_MMAP (1u << 6)
#define MB_MMAP_MAX (64u * 1024u)

void kputc(char c) {
    if (c == '\n') x86_serial_putc('\r');
    x86_serial_putc(c);
}

static __attribute__((noreturn)) void x86_exit(unsigned fails) {
    x86_qemu_exit(fails > 0x7f ? 0x7f : fails); /* pass: status 1; n failures: 2n + 1 */
    for (;;) __asm__ volatile("cli; hlt");
}

static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v); /* entries are packed: 64-bit fields sit at 4-byte offsets */
    return v;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p + 4) << 32 | rd32(p); }

static const char *mb_type_name(uint32_t t) {
    switch (t) {
    case 2: return "e820-reserved";
    case 3: return "e820-acpi-reclaimable";
    case 4: return "e820-acpi-nvs";
    case 5: return "e820-bad-memory";
    default: return "e820-unknown-type";
    }
}

/* Read the Multiboot memory map into p. NULL on success, else what was wrong. */
static const char *mb_scan(fw_platform *p, uint32_t magic, uint32_t info) {
    const uint8_t *mbi = (const uint8_t *)(uintptr_t)info, *map;
    uint32_t len, addr, off = 0, above4g = 0;
    if (magic != MB_MAGIC) return "EAX is not the Multiboot-1 magic";
    if (!info || info > 0xffffffffu - 52u) return "information block address";
    if (!(rd32(mbi) & MB_INFO_MMAP)) return "no memory map (flags bit 6 clear)";
    len = rd32(mbi + 44);
    addr = rd32(mbi + 48);
    if (!addr || len > MB_MMAP_MAX || addr > 0xffffffffu - len) return "map address or length";
    map = (const uint8_t *)(uintptr_t)addr;
    while (off < len) {
        uint32_t size, type;
        uint64_t base, bytes;
        if (len - off < 4) return "entry size field outside the map";
        size = rd32(map + off);
        if (size < 20 || size > len - off - 4) return "entry outside the map";
        base = rd64(map + off + 4);
        bytes = rd64(map + off + 12);
        type = rd32(map + off + 20);
        off += size + 4;
        if (base + bytes < base) return "entry wraps";
        if (type != 1) {
            fw_add_dev(p, mb_type_name(type), base, bytes);
            continue;
        }
        if (base >= p->addr_limit) {
            above4g++;
            continue;
        }
        if (bytes > p->addr_limit - base) bytes = p->addr_limit - base;
        if (bytes) fw_add_ram(p, base, bytes);
    }
    if (above4g) {
        kputs("note: ");
        kput_dec(above4g);
        kline(" RAM range(s) above 4 GiB not used (no paging)");
    }
    return NULL;
}

static fw_platform x86_plat;

void x86_main(uint32_t magic, uint32_t info) __attribute__((noreturn));
void x86_main(uint32_t magic, uint32_t info) {
    fw_platform *p = &x86_plat;
    const char *why;
    p->machine = "x86 (i686, 32-bit protected mode, no paging), Multiboot-1 under QEMU";
    p->map_source = "the Multiboot memory map";
    p->addr_limit = (uint64_t)1 << 32;
    fw_add_dev(p, "com1-16550", X86_COM1, 8);
    fw_add_dev(p, "isa-debug-exit", X86_DEBUG_EXIT, 4);
    why = mb_scan(p, magic, info);
    if (why) {
        kputs("FAIL multiboot information refused: ");
        kline(why);
        kline("MMKIT-FIRMWARE: FAIL 1/1");
        x86_exit(1);
    }
    fw_add_rsv(p, 0, 4096, "frame 0 (the NULL pointer; real-mode IVT)");
    fw_add_rsv(p, (uintptr_t)__image_start, (uint64_t)(__image_end - __image_start),
               "firmware image");
    x86_exit(fw_main(p));
}
