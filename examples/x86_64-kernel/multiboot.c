/* multiboot.c - see multiboot.h. */
#include "multiboot.h"

#define MB_PAGE 4096u
#define MB_FLAG_MEM 0x001u
#define MB_FLAG_CMDLINE 0x004u
#define MB_FLAG_MODS 0x008u
#define MB_FLAG_MMAP 0x040u
#define MB_FLAGS_KNOWN 0x1fffu          /* bits 0-12 are defined by the specification */
#define MB_INFO_BYTES 88u               /* up to and including the APM/VBE fields */
#define MB_LOW_RESERVED 0x100000u

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static mmkit_status refuse(const char **why, mmkit_status st, const char *rule) {
    if (why) *why = rule;
    return st;
}

static int touches_ram(const mb_info *m, uint64_t b, uint64_t e) {
    size_t i;
    for (i = 0; i < m->ram_count; i++)
        if (b < m->ram[i].base + m->ram[i].size && e > m->ram[i].base) return 1;
    return 0;
}

/* [pa, pa + len) rounded outward to pages; kept when it touches RAM (checked at the end) */
static mmkit_status add_reserved(mb_info *m, uint64_t pa, uint64_t len, const char **why) {
    size_t i;
    uint64_t b = pa & ~(uint64_t)(MB_PAGE - 1), e;
    if (len == 0) return MMKIT_OK;
    if (pa + len < pa || pa + len > UINT64_MAX - MB_PAGE)
        return refuse(why, MMKIT_EINVAL, "reserved range wraps past 2^64");
    e = (pa + len + MB_PAGE - 1) & ~(uint64_t)(MB_PAGE - 1);
    for (i = 0; i < m->reserved_count; i++) /* already covered (QEMU puts the info and the map */
        if (m->reserved[i].base <= b && e <= m->reserved[i].base + m->reserved[i].size) /* in one page) */
            return MMKIT_OK;
    if (m->reserved_count == MB_MAX_RESERVED) return refuse(why, MMKIT_ENOSPC, "too many reserved ranges");
    m->reserved[m->reserved_count].base = b;
    m->reserved[m->reserved_count].size = e - b;
    m->reserved_count++;
    return MMKIT_OK;
}

static mmkit_status add_ram(mb_info *m, uint64_t base, uint64_t len, uint64_t limit, const char **why) {
    uint64_t b = (base + MB_PAGE - 1) & ~(uint64_t)(MB_PAGE - 1), e = (base + len) & ~(uint64_t)(MB_PAGE - 1);
    size_t i, k;
    if (base > UINT64_MAX - MB_PAGE) return MMKIT_OK; /* no whole page in it */
    if (e <= b) return MMKIT_OK;
    if (e > limit) {
        uint64_t cut = b > limit ? b : limit;
        m->ignored_bytes += e - cut;
        e = cut;
        if (e <= b) return MMKIT_OK;
    }
    /* sorted insertion; an overlap is garbage, touching ranges merge */
    for (i = 0; i < m->ram_count && m->ram[i].base < b; i++) {}
    if (i > 0 && m->ram[i - 1].base + m->ram[i - 1].size > b)
        return refuse(why, MMKIT_EINVAL, "memory map: RAM ranges overlap");
    if (i < m->ram_count && m->ram[i].base < e)
        return refuse(why, MMKIT_EINVAL, "memory map: RAM ranges overlap");
    if (i > 0 && m->ram[i - 1].base + m->ram[i - 1].size == b) {
        m->ram[i - 1].size += e - b;
        if (i < m->ram_count && m->ram[i].base == e) { /* bridges two ranges */
            m->ram[i - 1].size += m->ram[i].size;
            for (k = i; k + 1 < m->ram_count; k++) m->ram[k] = m->ram[k + 1];
            m->ram_count--;
        }
    } else if (i < m->ram_count && m->ram[i].base == e) {
        m->ram[i].base = b;
        m->ram[i].size += e - b;
    } else {
        if (m->ram_count == MB_MAX_RAM) return refuse(why, MMKIT_ENOSPC, "memory map: too many RAM ranges");
        for (k = m->ram_count; k > i; k--) m->ram[k] = m->ram[k - 1];
        m->ram[i].base = b;
        m->ram[i].size = e - b;
        m->ram_count++;
    }
    m->ram_bytes += e - b;
    return MMKIT_OK;
}

mmkit_status mb_parse(uint32_t magic, uint64_t mbi_pa, mb_read_fn rd, void *ctx,
                      uint64_t ram_limit, mb_info *out, const char **why) {
    const uint8_t *mbi, *mm;
    uint32_t flags, len, off;
    mmkit_status st;
    size_t i, k;
    if (why) *why = "";
    if (!out || !rd) return refuse(why, MMKIT_EINVAL, "NULL argument");
    for (i = 0; i < sizeof *out; i++) ((unsigned char *)out)[i] = 0;
    if (magic != MB_BOOTLOADER_MAGIC) return refuse(why, MMKIT_EINVAL, "EAX is not the Multiboot-1 magic");
    if (!(mbi = rd(ctx, mbi_pa, MB_INFO_BYTES)))
        return refuse(why, MMKIT_ERANGE, "information structure outside readable memory");
    flags = rd32(mbi);
    out->flags = flags;
    if (flags & ~MB_FLAGS_KNOWN) return refuse(why, MMKIT_EINVAL, "flags: bits the specification does not define");
    if (!(flags & MB_FLAG_MMAP)) return refuse(why, MMKIT_ENOENT, "flags: no memory map (bit 6)");
    len = rd32(mbi + 44);
    if (len == 0) return refuse(why, MMKIT_EINVAL, "mmap_length: 0");
    if (len > MB_MMAP_MAX_BYTES) return refuse(why, MMKIT_ERANGE, "mmap_length: larger than MB_MMAP_MAX_BYTES");
    if (!(mm = rd(ctx, rd32(mbi + 48), len))) return refuse(why, MMKIT_ERANGE, "mmap_addr: outside readable memory");
    for (off = 0; off < len;) {
        uint32_t size, type;
        uint64_t base, rlen;
        if (len - off < 4) return refuse(why, MMKIT_EINVAL, "memory map: a partial entry at the end");
        size = rd32(mm + off);
        if (size < 20) return refuse(why, MMKIT_EINVAL, "memory map: entry size below 20 bytes");
        if (size > len - off - 4) return refuse(why, MMKIT_ERANGE, "memory map: an entry runs past mmap_length");
        base = rd64(mm + off + 4);
        rlen = rd64(mm + off + 12);
        type = rd32(mm + off + 20);
        if (base + rlen < base) return refuse(why, MMKIT_EINVAL, "memory map: base + length wraps past 2^64");
        out->mmap_entries++;
        if (type == 1 && (st = add_ram(out, base, rlen, ram_limit, why)) != MMKIT_OK) return st;
        off += size + 4;
    }
    if (out->ram_count == 0) return refuse(why, MMKIT_ENOENT, "memory map: no usable RAM");

    if ((st = add_reserved(out, 0, MB_LOW_RESERVED, why)) != MMKIT_OK ||
        (st = add_reserved(out, mbi_pa, MB_INFO_BYTES, why)) != MMKIT_OK ||
        (st = add_reserved(out, rd32(mbi + 48), len, why)) != MMKIT_OK)
        return st;
    if (flags & MB_FLAG_CMDLINE) {
        uint64_t pa = rd32(mbi + 16);
        for (i = 0;; i++) {
            const char *c;
            if (i == MB_CMDLINE_SCAN) return refuse(why, MMKIT_EINVAL, "cmdline: no NUL in its first 4 KiB");
            if (!(c = rd(ctx, pa + i, 1))) return refuse(why, MMKIT_ERANGE, "cmdline: outside readable memory");
            if (*c == 0) break;
            if (i < MB_CMDLINE_MAX - 1) out->cmdline[i] = *c;
        }
        if ((st = add_reserved(out, pa, i + 1, why)) != MMKIT_OK) return st;
    }
    if (flags & MB_FLAG_MODS) {
        uint32_t n = rd32(mbi + 20);
        const uint8_t *mods;
        if (n > MB_MAX_MODULES) return refuse(why, MMKIT_ENOSPC, "mods_count: more modules than MB_MAX_MODULES");
        if (n && !(mods = rd(ctx, rd32(mbi + 24), (uint64_t)n * 16u)))
            return refuse(why, MMKIT_ERANGE, "mods_addr: outside readable memory");
        if (n && (st = add_reserved(out, rd32(mbi + 24), (uint64_t)n * 16u, why)) != MMKIT_OK) return st;
        for (k = 0; k < n; k++) {
            uint32_t s = rd32(mods + 16 * k), e = rd32(mods + 16 * k + 4);
            if (s > e) return refuse(why, MMKIT_EINVAL, "module: mod_start > mod_end");
            if ((st = add_reserved(out, s, e - s, why)) != MMKIT_OK) return st;
        }
        out->modules = n;
    }
    /* keep the reserved ranges that touch RAM */
    for (i = k = 0; i < out->reserved_count; i++)
        if (touches_ram(out, out->reserved[i].base, out->reserved[i].base + out->reserved[i].size))
            out->reserved[k++] = out->reserved[i];
    out->reserved_count = k;
    return MMKIT_OK;
}
