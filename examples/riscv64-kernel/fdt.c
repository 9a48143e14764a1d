/* fdt.c - see fdt.h. The checks follow the Devicetree Specification v0.4, chapter 5 (the
 * flattened format): header fields, block placement and alignment, tokens, NUL-terminated
 * names inside their block, property values inside the structure block, #address-cells and
 * #size-cells of the parent for reg, tuples that do not wrap. No recursion: the node depth is
 * a counter with a bounded stack of cell sizes. */
#include "fdt.h"

#define TOK_BEGIN 1u
#define TOK_END_NODE 2u
#define TOK_PROP 3u
#define TOK_NOP 4u
#define TOK_END 9u
#define MAX_DEPTH 16

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool str_eq(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

static bool starts_with(const char *s, const char *prefix) {
    while (*prefix && *s == *prefix) s++, prefix++;
    return *prefix == 0;
}

/* the length of the NUL-terminated string at p, which must end before lim; -1 if it does not */
static long str_in(const uint8_t *p, const uint8_t *lim) {
    const uint8_t *q = p;
    while (q < lim && *q) q++;
    return q < lim ? (long)(q - p) : -1;
}

/* one reg property with the parent's cell sizes into ranges[] */
static const char *reg_ranges(const uint8_t *v, uint32_t len, uint32_t ac, uint32_t sc,
                              mmkit_range *r, size_t *n, size_t cap, const char **names,
                              const char *name) {
    uint32_t tuple, off;
    if (ac < 1 || ac > 2 || sc < 1 || sc > 2) return "#address-cells or #size-cells is not 1 or 2";
    tuple = (ac + sc) * 4u;
    if (len == 0 || len % tuple) return "reg length is not a multiple of its tuple";
    for (off = 0; off < len; off += tuple) {
        uint64_t base = be32(v + off), size = be32(v + off + ac * 4u);
        if (ac == 2) base = base << 32 | be32(v + off + 4);
        if (sc == 2) size = size << 32 | be32(v + off + ac * 4u + 4);
        if (size == 0) continue;
        if (base + size < base) return "reg range wraps";
        if (*n >= cap) return "too many memory ranges";
        r[*n].base = base;
        r[*n].size = size;
        if (names) names[*n] = name;
        (*n)++;
    }
    return NULL;
}

const char *fdt_parse(const void *blob, fdt_info *out) {
    const uint8_t *h = blob, *st, *strs;
    uint32_t total, off_st, size_st, off_str, size_str, off_rsv, ver, lastcomp, off = 0;
    uint32_t ac[MAX_DEPTH + 1], sc[MAX_DEPTH + 1];
    int depth = 0;
    bool ended = false, in_resv = false, seen_root = false;
    /* the node being read at depth 1 or 2: its kind and its reg */
    bool is_memory = false, is_chosen = false;
    const uint8_t *reg = NULL;
    uint32_t reg_len = 0;
    const char *node_name = "";
    const char *why;

    out->ram_count = out->reserved_count = 0;
    out->bootargs = "";
    if (!h) return "no blob (a1 = 0)";
    if ((uintptr_t)h & 7u) return "blob not 8-byte aligned";
    if (be32(h) != 0xd00dfeedu) return "bad magic";
    total = be32(h + 4);
    off_st = be32(h + 8);
    off_str = be32(h + 12);
    off_rsv = be32(h + 16);
    ver = be32(h + 20);
    lastcomp = be32(h + 24);
    size_str = be32(h + 32);
    size_st = be32(h + 36);
    if (total < 40 || total > FDT_MAX_SIZE) return "totalsize out of range";
    if (ver < 17 || lastcomp > 17) return "unsupported version";
    if (off_st > total || size_st > total - off_st || (off_st & 3u) || (size_st & 3u))
        return "structure block outside the blob";
    if (off_str > total || size_str > total - off_str) return "strings block outside the blob";
    if (off_rsv < 40 || off_rsv > total || (off_rsv & 7u)) return "reservation block outside the blob";
    out->totalsize = total;

    /* the memory reservation block: (address, size) pairs up to (0, 0) */
    for (;;) {
        uint64_t a, s;
        if (off_rsv + 16u > total || off_rsv + 16u < off_rsv) return "reservation block not terminated";
        a = (uint64_t)be32(h + off_rsv) << 32 | be32(h + off_rsv + 4);
        s = (uint64_t)be32(h + off_rsv + 8) << 32 | be32(h + off_rsv + 12);
        off_rsv += 16;
        if (a == 0 && s == 0) break;
        if (a + s < a) return "reservation wraps";
        if (out->reserved_count >= FDT_MAX_RESERVED) return "too many reservations";
        out->reserved[out->reserved_count].base = a;
        out->reserved_name[out->reserved_count] = "reservation block";
        out->reserved[out->reserved_count++].size = s;
    }

    /* depth: the root node is 1, /memory, /chosen and /reserved-memory 2, the reserved
     * regions 3; a node at depth d reads its reg with its parent's cells ac[d - 1], sc[d - 1] */
    st = h + off_st;
    strs = h + off_str;
    ac[0] = ac[1] = 2;
    sc[0] = sc[1] = 1;
    while (!ended) {
        uint32_t tok;
        if (off + 4u > size_st) return "structure block ends without FDT_END";
        tok = be32(st + off);
        off += 4;
        switch (tok) {
        case TOK_BEGIN: {
            long n = str_in(st + off, st + size_st);
            const char *name = (const char *)st + off;
            if (n < 0) return "node name runs past the structure block";
            if (depth == 0 && seen_root) return "a second root node";
            if (depth >= MAX_DEPTH) return "nodes nested too deep";
            seen_root = true;
            depth++;
            ac[depth] = 2;
            sc[depth] = 1;
            if (depth == 2) {
                is_memory = str_eq(name, "memory") || starts_with(name, "memory@");
                is_chosen = str_eq(name, "chosen");
                in_resv = str_eq(name, "reserved-memory");
            }
            if (depth == 2 || (depth == 3 && in_resv)) {
                reg = NULL;
                reg_len = 0;
                node_name = name;
            }
            off += ((uint32_t)n + 1u + 3u) & ~3u;
            if (off > size_st) return "node name runs past the structure block";
            break;
        }
        case TOK_END_NODE:
            if (depth == 0) return "FDT_END_NODE without a node";
            if (reg && depth == 2 && is_memory) {
                why = reg_ranges(reg, reg_len, ac[1], sc[1], out->ram, &out->ram_count, FDT_MAX_RAM,
                                 NULL, NULL);
                if (why) return why;
            } else if (reg && depth == 3 && in_resv) {
                why = reg_ranges(reg, reg_len, ac[2], sc[2], out->reserved, &out->reserved_count,
                                 FDT_MAX_RESERVED, out->reserved_name, node_name);
                if (why) return why;
            }
            if (depth == 2 || depth == 3) reg = NULL;
            if (depth == 2) is_memory = is_chosen = in_resv = false;
            depth--;
            break;
        case TOK_PROP: {
            uint32_t len, nameoff;
            long n;
            const char *pname;
            const uint8_t *val;
            if (depth == 0) return "property outside every node";
            if (off + 8u > size_st) return "property header runs past the structure block";
            len = be32(st + off);
            nameoff = be32(st + off + 4);
            if (len > size_st - off - 8u) return "property value runs past the structure block";
            if (nameoff >= size_str) return "property name outside the strings block";
            n = str_in(strs + nameoff, strs + size_str);
            if (n < 0) return "property name runs past the strings block";
            pname = (const char *)strs + nameoff;
            val = st + off + 8;
            if (str_eq(pname, "#address-cells") || str_eq(pname, "#size-cells")) {
                if (len != 4) return "#address-cells or #size-cells is not one cell";
                if (pname[1] == 'a') ac[depth] = be32(val);
                else sc[depth] = be32(val);
            } else if (str_eq(pname, "reg") && (depth == 2 || (depth == 3 && in_resv))) {
                reg = val;
                reg_len = len;
            } else if (depth == 2 && str_eq(pname, "device_type") && len == 7 &&
                       str_eq((const char *)val, "memory")) {
                is_memory = true;
            } else if (depth == 2 && is_chosen && str_eq(pname, "bootargs")) {
                if (len == 0 || val[len - 1] != 0) return "bootargs not NUL-terminated";
                out->bootargs = (const char *)val;
            }
            off += 8u + ((len + 3u) & ~3u);
            if (off > size_st) return "property value runs past the structure block";
            break;
        }
        case TOK_NOP: break;
        case TOK_END:
            if (depth != 0 || !seen_root) return "FDT_END inside a node";
            ended = true;
            break;
        default: return "unknown token in the structure block";
        }
    }
    if (out->ram_count == 0) return "no memory node";
    return NULL;
}
