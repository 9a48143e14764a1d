/* riscv/platform.c - QEMU virt in M-mode: ns16550 UART at 0x10000000, the SiFive test device
 * at 0x100000 to exit, and the memory map from the devicetree blob QEMU passes in a1.
 *
 * The devicetree reader is small and refuses a malformed blob (every offset and length is
 * checked against the blob's size before it is used). It takes:
 *   - RAM: every (address, size) pair in the `reg` of nodes with device_type = "memory";
 *   - reservations: the /memreserve/ block, the blob itself, the firmware image;
 *   - devices: the first `reg` window of every other node whose parent has #size-cells > 0.
 * `reg` is decoded with the parent's #address-cells / #size-cells (defaults 2 and 1). */
#include "../fw.h"
#include "riscv_sbi.h" /* examples/common: the virt test device */

#define RV_UART 0x10000000u
#define FDT_MAGIC 0xd00dfeedu
#define FDT_MAX_SIZE (1u << 20)     /* QEMU's blob is a few KiB; refuse absurd sizes */
#define FDT_MAX_DEPTH 8
#define FDT_MAX_RSVMAP 16

void kputc(char c) {
    volatile uint8_t *uart = (volatile uint8_t *)(uintptr_t)RV_UART;
    unsigned spin = 100000; /* bounded: QEMU's UART is always ready */
    if (c == '\n') kputc('\r');
    while (!(uart[5] & 0x20) && --spin) {} /* LSR.THRE */
    uart[0] = (uint8_t)c;
}

static __attribute__((noreturn)) void rv_exit(unsigned fails) {
    rv_virt_test_exit(fails > 0x7f ? 0x7f : fails); /* QEMU exits with the failure count */
    for (;;) __asm__ volatile("wfi");
}

void rv_trap(uint64_t cause, uint64_t epc, uint64_t tval) __attribute__((noreturn));
void rv_trap(uint64_t cause, uint64_t epc, uint64_t tval) {
    kputs("FAIL trap: mcause=");
    kput_hex(cause);
    kputs(" mepc=");
    kput_hex(epc);
    kputs(" mtval=");
    kput_hex(tval);
    kputc('\n');
    kline("MMKIT-FIRMWARE: FAIL 1/1");
    rv_exit(0x7f);
}

/* ---- devicetree ------------------------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
/* one value of `cells` 32-bit cells (1 or 2) */
static uint64_t fdt_cells(const uint8_t *p, uint32_t cells) {
    return cells == 2 ? be64(p) : be32(p);
}
/* length of the NUL-terminated string at s, or max when there is no NUL in [s, s + max) */
static uint32_t fdt_strnlen(const uint8_t *s, uint32_t max) {
    uint32_t n = 0;
    while (n < max && s[n]) n++;
    return n;
}
static int fdt_streq(const uint8_t *s, const char *lit) {
    while (*lit && (char)*s == *lit) s++, lit++;
    return *lit == 0 && *s == 0;
}

typedef struct fdt_node {
    uint32_t ac, sc;          /* #address-cells / #size-cells for this node's children */
    const char *name;
    const uint8_t *reg;
    uint32_t reg_len;
    int memory;
} fdt_node;

/* Node n ended: record what its reg describes, decoded with its parent's cells. */
static const char *fdt_node_done(fw_platform *p, const fdt_node *n, const fdt_node *parent) {
    uint32_t tuple = (parent->ac + parent->sc) * 4u, off;
    if (!n->reg) return NULL;
    if (parent->ac < 1 || parent->ac > 2 || parent->sc > 2) return "#address-cells/#size-cells";
    if (n->reg_len % tuple) return "reg length is not a multiple of its tuple";
    for (off = 0; off + tuple <= n->reg_len; off += tuple) {
        uint64_t base = fdt_cells(n->reg + off, parent->ac);
        uint64_t size = parent->sc ? fdt_cells(n->reg + off + parent->ac * 4u, parent->sc) : 0;
        if (base + size < base) return "reg range wraps";
        if (n->memory) {
            if (size) fw_add_ram(p, base, size);
        } else {
            if (parent->sc) fw_add_dev(p, n->name, base, size);
            break; /* devices: the first window is enough for the table */
        }
    }
    return NULL;
}

/* Read the blob at b into p. NULL on success, else what was wrong with it. */
static const char *fdt_scan(fw_platform *p, const uint8_t *b, uint32_t *total_out) {
    uint32_t total, off_st, off_str, off_rsv, size_st, size_str, pos = 0, i;
    const uint8_t *st, *str;
    fdt_node lv[FDT_MAX_DEPTH + 1];
    unsigned d = 0;
    if (!b || ((uintptr_t)b & 7u)) return "blob pointer NULL or not 8-byte aligned";
    if (be32(b) != FDT_MAGIC) return "bad magic";
    total = be32(b + 4);
    if (total < 40 || total > FDT_MAX_SIZE) return "totalsize";
    off_st = be32(b + 8);
    off_str = be32(b + 12);
    off_rsv = be32(b + 16);
    size_str = be32(b + 32);
    size_st = be32(b + 36);
    if (be32(b + 20) < 17) return "version below 17";
    if ((uint64_t)off_st + size_st > total || (uint64_t)off_str + size_str > total ||
        (uint64_t)off_rsv + 16u > total || (off_st & 3u) || (off_rsv & 7u))
        return "a block lies outside the blob";
    *total_out = total;
    st = b + off_st;
    str = b + off_str;
    for (i = 0;; i++) { /* memory reservation block: (address, size) pairs up to (0, 0) */
        const uint8_t *e = b + off_rsv + 16u * i;
        if ((uint64_t)off_rsv + 16u * (i + 1u) > total || i == FDT_MAX_RSVMAP)
            return "memory reservation block not terminated";
        if (!be64(e) && !be64(e + 8)) break;
        fw_add_rsv(p, be64(e), be64(e + 8), "devicetree /memreserve/");
    }
    lv[0].ac = 2; /* the root's own reg (if any) would use the defaults */
    lv[0].sc = 1;
    for (;;) {
        uint32_t tok, len;
        if (size_st - pos < 4) return "structure block truncated";
        tok = be32(st + pos);
        pos += 4;
        switch (tok) {
        case 1: /* FDT_BEGIN_NODE */
            len = fdt_strnlen(st + pos, size_st - pos);
            if (len == size_st - pos) return "node name not terminated";
            if (++d > FDT_MAX_DEPTH) return "nodes nested too deeply";
            lv[d].ac = 2;
            lv[d].sc = 1;
            lv[d].name = (const char *)(st + pos);
            lv[d].reg = NULL;
            lv[d].reg_len = 0;
            lv[d].memory = 0;
            pos += (len + 4u) & ~3u;
            if (pos > size_st) return "structure block truncated";
            break;
        case 2: { /* FDT_END_NODE */
            const char *why;
            if (d == 0) return "unbalanced end of node";
            if ((why = fdt_node_done(p, &lv[d], &lv[d - 1])) != NULL) return why;
            d--;
            break;
        }
        case 3: { /* FDT_PROP: len, nameoff, value */
            const uint8_t *name, *val;
            uint32_t nameoff;
            if (size_st - pos < 8) return "property truncated";
            len = be32(st + pos);
            nameoff = be32(st + pos + 4);
            pos += 8;
            if (len > size_st - pos) return "property value outside the structure block";
            if (nameoff >= size_str || fdt_strnlen(str + nameoff, size_str - nameoff) ==
                                           size_str - nameoff)
                return "property name outside the strings block";
            if (d == 0) return "property outside a node";
            name = str + nameoff;
            val = st + pos;
            pos += len;
            pos = (pos + 3u) & ~3u; /* pos <= 1 MiB: cannot wrap */
            if (pos > size_st) return "structure block truncated";
            if (fdt_streq(name, "#address-cells") && len == 4) lv[d].ac = be32(val);
            else if (fdt_streq(name, "#size-cells") && len == 4) lv[d].sc = be32(val);
            else if (fdt_streq(name, "reg")) {
                lv[d].reg = val;
                lv[d].reg_len = len;
            } else if (fdt_streq(name, "device_type") && len == 7 && fdt_streq(val, "memory"))
                lv[d].memory = 1;
            break;
        }
        case 4: /* FDT_NOP */
            break;
        case 9: /* FDT_END */
            return d == 0 ? NULL : "blob ends inside a node";
        default:
            return "unknown structure token";
        }
    }
}

static fw_platform rv_plat;

void rv_main(uint64_t hart, const uint8_t *dtb) __attribute__((noreturn));
void rv_main(uint64_t hart, const uint8_t *dtb) {
    fw_platform *p = &rv_plat;
    uint32_t dtb_size = 0;
    const char *why;
    (void)hart;
    p->machine = "riscv64 qemu virt, M-mode (-bios none), hart 0";
    p->map_source = "the devicetree (a1)";
    p->addr_limit = UINT64_MAX; /* M-mode, no translation: every address is reachable */
    fw_add_rsv(p, (uintptr_t)__image_start, (uint64_t)(__image_end - __image_start),
               "firmware image");
    why = fdt_scan(p, dtb, &dtb_size);
    if (why) {
        kputs("FAIL devicetree at ");
        kput_hex((uintptr_t)dtb);
        kputs(" refused: ");
        kline(why);
        kline("MMKIT-FIRMWARE: FAIL 1/1");
        rv_exit(1);
    }
    fw_add_rsv(p, (uintptr_t)dtb, dtb_size, "devicetree blob");
    rv_exit(fw_main(p));
}
