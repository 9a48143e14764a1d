/* test_fdt.c - host test of the riscv64 kernel's devicetree reader (fdt.c): a well-formed blob
 * built here is read exactly; each malformation is refused with its reason; random damage to
 * the blob is accepted or refused but never read outside it (run under ASan in the sanitizer
 * build: the blob is a heap block of exactly totalsize bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdt.h"

static int failures;
#define CHECK(c)                                                            \
    do {                                                                    \
        if (!(c)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

/* ---- a tiny blob writer ---- */
typedef struct blob {
    uint8_t st[4096], str[1024];
    uint32_t nst, nstr;
    uint64_t rsv[8][2];
    unsigned nrsv;
} blob;

static void w32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static void tok(blob *b, uint32_t t) {
    w32(b->st + b->nst, t);
    b->nst += 4;
}
static void node(blob *b, const char *name) {
    size_t n = strlen(name) + 1;
    tok(b, 1);
    memset(b->st + b->nst, 0, (n + 3) & ~(size_t)3);
    memcpy(b->st + b->nst, name, n);
    b->nst += (uint32_t)((n + 3) & ~(size_t)3);
}
static uint32_t strname(blob *b, const char *name) {
    uint32_t off = 0;
    while (off < b->nstr) { /* reuse an existing string */
        if (strcmp((const char *)b->str + off, name) == 0) return off;
        off += (uint32_t)strlen((const char *)b->str + off) + 1;
    }
    memcpy(b->str + b->nstr, name, strlen(name) + 1);
    b->nstr += (uint32_t)strlen(name) + 1;
    return off;
}
static void prop(blob *b, const char *name, const void *val, uint32_t len) {
    tok(b, 3);
    w32(b->st + b->nst, len);
    w32(b->st + b->nst + 4, strname(b, name));
    b->nst += 8;
    memset(b->st + b->nst, 0, (len + 3) & ~3u);
    if (len) memcpy(b->st + b->nst, val, len);
    b->nst += (len + 3) & ~3u;
}
static void prop_u32(blob *b, const char *name, uint32_t v) {
    uint8_t x[4];
    w32(x, v);
    prop(b, name, x, 4);
}
/* reg with 2 address cells and 2 size cells */
static void prop_reg(blob *b, uint64_t base, uint64_t size) {
    uint8_t x[16];
    w32(x, (uint32_t)(base >> 32));
    w32(x + 4, (uint32_t)base);
    w32(x + 8, (uint32_t)(size >> 32));
    w32(x + 12, (uint32_t)size);
    prop(b, "reg", x, 16);
}
static void end_node(blob *b) { tok(b, 2); }

/* header | rsvmap | struct | strings, in a heap block of exactly totalsize bytes */
static uint8_t *finish(const blob *b, uint32_t *size) {
    uint32_t off_rsv = 40, off_st = off_rsv + 16u * (b->nrsv + 1), off_str = off_st + b->nst;
    uint32_t total = off_str + b->nstr;
    uint8_t *h = malloc(total);
    unsigned i;
    memset(h, 0, total);
    w32(h, 0xd00dfeedu);
    w32(h + 4, total);
    w32(h + 8, off_st);
    w32(h + 12, off_str);
    w32(h + 16, off_rsv);
    w32(h + 20, 17);
    w32(h + 24, 16);
    w32(h + 32, b->nstr);
    w32(h + 36, b->nst);
    for (i = 0; i < b->nrsv; i++) {
        w32(h + off_rsv + 16 * i, (uint32_t)(b->rsv[i][0] >> 32));
        w32(h + off_rsv + 16 * i + 4, (uint32_t)b->rsv[i][0]);
        w32(h + off_rsv + 16 * i + 8, (uint32_t)(b->rsv[i][1] >> 32));
        w32(h + off_rsv + 16 * i + 12, (uint32_t)b->rsv[i][1]);
    }
    memcpy(h + off_st, b->st, b->nst);
    memcpy(h + off_str, b->str, b->nstr);
    *size = total;
    return h;
}

/* the well-formed machine: 256 MiB at 2 GiB, a reserved region, a reservation, bootargs */
static void good(blob *b) {
    static const char args[] = "sv39 quiet";
    memset(b, 0, sizeof *b);
    b->rsv[0][0] = 0x8fe00000u;
    b->rsv[0][1] = 0x2000u;
    b->nrsv = 1;
    node(b, "");
    prop_u32(b, "#address-cells", 2);
    prop_u32(b, "#size-cells", 2);
    node(b, "chosen");
    prop(b, "bootargs", args, sizeof args);
    end_node(b);
    node(b, "memory@80000000");
    prop(b, "device_type", "memory", 7);
    prop_reg(b, 0x80000000u, 0x10000000u);
    end_node(b);
    node(b, "reserved-memory");
    prop_u32(b, "#address-cells", 2);
    prop_u32(b, "#size-cells", 2);
    node(b, "mmode_resv0@80000000");
    prop_reg(b, 0x80000000u, 0x80000u);
    prop(b, "no-map", NULL, 0);
    end_node(b);
    end_node(b);
    node(b, "soc");
    prop_reg(b, 0x10000000u, 0x100u); /* not memory: ignored */
    end_node(b);
    end_node(b);
    tok(b, 9);
}

/* info points into the blob (names, bootargs): it lives until the next parse */
static uint8_t *last_blob;
static const char *parse(const blob *b, fdt_info *info) {
    uint32_t size;
    free(last_blob);
    last_blob = finish(b, &size);
    return fdt_parse(last_blob, info);
}

static int refused(const char *why, const char *want) {
    if (why && strcmp(why, want) == 0) return 1;
    fprintf(stderr, "  wanted \"%s\", got \"%s\"\n", want, why ? why : "(accepted)");
    return 0;
}

/* the header word at off of the good blob replaced by v */
static const char *header_poke(uint32_t off, uint32_t v) {
    blob b;
    fdt_info info;
    uint32_t size;
    uint8_t *h;
    const char *why;
    good(&b);
    h = finish(&b, &size);
    w32(h + off, v);
    why = fdt_parse(h, &info);
    free(h);
    return why;
}

int main(void) {
    blob b;
    fdt_info info;
    uint32_t size, k;
    uint8_t *h;

    /* well formed */
    good(&b);
    CHECK(parse(&b, &info) == NULL);
    CHECK(info.ram_count == 1 && info.ram[0].base == 0x80000000u && info.ram[0].size == 0x10000000u);
    CHECK(info.reserved_count == 2);
    CHECK(info.reserved[0].base == 0x8fe00000u && info.reserved[0].size == 0x2000u);
    CHECK(info.reserved[1].base == 0x80000000u && info.reserved[1].size == 0x80000u);
    CHECK(strcmp(info.reserved_name[1], "mmode_resv0@80000000") == 0);
    CHECK(strcmp(info.bootargs, "sv39 quiet") == 0);

    /* 1+1 cells, a node found by device_type alone, two tuples in one reg */
    memset(&b, 0, sizeof b);
    node(&b, "");
    prop_u32(&b, "#address-cells", 1);
    prop_u32(&b, "#size-cells", 1);
    node(&b, "ram");
    {
        uint8_t x[16];
        w32(x, 0x1000u);
        w32(x + 4, 0x3000u);
        w32(x + 8, 0x100000u);
        w32(x + 12, 0x200000u);
        prop(&b, "reg", x, 16);
    }
    prop(&b, "device_type", "memory", 7);
    end_node(&b);
    end_node(&b);
    tok(&b, 9);
    CHECK(parse(&b, &info) == NULL);
    CHECK(info.ram_count == 2 && info.ram[1].base == 0x100000u && info.ram[1].size == 0x200000u);
    CHECK(info.bootargs[0] == 0 && info.reserved_count == 0);

    /* header */
    CHECK(refused(fdt_parse(NULL, &info), "no blob (a1 = 0)"));
    {
        uint64_t buf[8] = {0};
        CHECK(refused(fdt_parse((const uint8_t *)buf + 4, &info), "blob not 8-byte aligned"));
    }
    CHECK(refused(header_poke(0, 0xdeadbeefu), "bad magic"));
    CHECK(refused(header_poke(4, 39), "totalsize out of range"));
    CHECK(refused(header_poke(4, FDT_MAX_SIZE + 1), "totalsize out of range"));
    CHECK(refused(header_poke(20, 16), "unsupported version"));
    CHECK(refused(header_poke(24, 18), "unsupported version"));
    CHECK(refused(header_poke(8, 0x7ffffff0u), "structure block outside the blob"));
    CHECK(refused(header_poke(36, 0x7ffffff0u), "structure block outside the blob"));
    CHECK(refused(header_poke(8, 58), "structure block outside the blob")); /* misaligned */
    CHECK(refused(header_poke(12, 0x7ffffff0u), "strings block outside the blob"));
    CHECK(refused(header_poke(32, 0x7ffffff0u), "strings block outside the blob"));
    CHECK(refused(header_poke(16, 44), "reservation block outside the blob"));

    /* reservation block */
    good(&b);
    b.rsv[0][0] = ~(uint64_t)0xfff;
    b.rsv[0][1] = 0x2000;
    CHECK(refused(parse(&b, &info), "reservation wraps"));
    good(&b);
    h = finish(&b, &size);
    w32(h + 16, (size - 8) & ~7u); /* the terminator would run past the end */
    CHECK(refused(fdt_parse(h, &info), "reservation block not terminated"));
    free(h);

    /* structure */
    good(&b);
    h = finish(&b, &size);
    w32(h + 32, 3); /* strings block cut inside the first name */
    CHECK(refused(fdt_parse(h, &info), "property name runs past the strings block"));
    free(h);
    good(&b);
    b.nst -= 4; /* no FDT_END */
    CHECK(refused(parse(&b, &info), "structure block ends without FDT_END"));
    good(&b);
    w32(b.st + 16, 0x7f000000u); /* the root's first property: name offset */
    CHECK(refused(parse(&b, &info), "property name outside the strings block"));
    good(&b);
    w32(b.st + 12, 0x7f000000u); /* ... its length */
    CHECK(refused(parse(&b, &info), "property value runs past the structure block"));
    good(&b);
    w32(b.st + 8, 7); /* a token that does not exist */
    CHECK(refused(parse(&b, &info), "unknown token in the structure block"));
    memset(&b, 0, sizeof b);
    node(&b, "");
    end_node(&b);
    end_node(&b);
    tok(&b, 9);
    CHECK(refused(parse(&b, &info), "FDT_END_NODE without a node"));
    memset(&b, 0, sizeof b);
    node(&b, "");
    tok(&b, 9);
    CHECK(refused(parse(&b, &info), "FDT_END inside a node"));
    memset(&b, 0, sizeof b);
    prop_u32(&b, "#size-cells", 1);
    CHECK(refused(parse(&b, &info), "property outside every node"));
    memset(&b, 0, sizeof b);
    node(&b, "");
    end_node(&b);
    node(&b, "");
    end_node(&b);
    tok(&b, 9);
    CHECK(refused(parse(&b, &info), "a second root node"));
    memset(&b, 0, sizeof b);
    for (k = 0; k < 17; k++) node(&b, "n");
    CHECK(refused(parse(&b, &info), "nodes nested too deep"));
    memset(&b, 0, sizeof b);
    tok(&b, 1);
    memset(b.st + 4, 'x', 8); /* a node name without its NUL */
    b.nst = 12;
    CHECK(refused(parse(&b, &info), "node name runs past the structure block"));
    memset(&b, 0, sizeof b);
    node(&b, "");
    end_node(&b);
    tok(&b, 9);
    CHECK(refused(parse(&b, &info), "no memory node"));

    /* reg and cells */
    good(&b);
    w32(b.st + 12, 12); /* #address-cells of the root is 12 bytes long */
    CHECK(parse(&b, &info) != NULL);
    good(&b);
    w32(b.st + 20, 3); /* #address-cells = 3 */
    CHECK(refused(parse(&b, &info), "#address-cells or #size-cells is not 1 or 2"));
    memset(&b, 0, sizeof b);
    node(&b, "");
    prop(&b, "#address-cells", "\0\0\0\2\0", 5);
    end_node(&b);
    tok(&b, 9);
    CHECK(refused(parse(&b, &info), "#address-cells or #size-cells is not one cell"));
    memset(&b, 0, sizeof b);
    node(&b, "");
    node(&b, "memory@0");
    prop(&b, "reg", "\0\0\0\0\0\0\0\0\0\0\0\1", 12); /* 2+1 cells: 12 bytes is one tuple */
    end_node(&b);
    node(&b, "memory@1");
    prop(&b, "reg", "\0\0\0\0\0\0\0\0\0\0\0\1\0\0", 14);
    end_node(&b);
    end_node(&b);
    tok(&b, 9);
    CHECK(refused(parse(&b, &info), "reg length is not a multiple of its tuple"));
    memset(&b, 0, sizeof b);
    node(&b, "");
    prop_u32(&b, "#size-cells", 2);
    node(&b, "memory@0");
    prop_reg(&b, ~(uint64_t)0xfff, 0x2000);
    end_node(&b);
    end_node(&b);
    tok(&b, 9);
    CHECK(refused(parse(&b, &info), "reg range wraps"));
    memset(&b, 0, sizeof b);
    node(&b, "");
    prop_u32(&b, "#size-cells", 2);
    for (k = 0; k <= FDT_MAX_RAM; k++) {
        node(&b, "memory");
        prop_reg(&b, (uint64_t)(k + 1) << 30, 1u << 20);
        end_node(&b);
    }
    end_node(&b);
    tok(&b, 9);
    CHECK(refused(parse(&b, &info), "too many memory ranges"));
    memset(&b, 0, sizeof b);
    node(&b, "");
    node(&b, "chosen");
    prop(&b, "bootargs", "abc", 3);
    end_node(&b);
    end_node(&b);
    tok(&b, 9);
    CHECK(refused(parse(&b, &info), "bootargs not NUL-terminated"));

    /* random damage: accepted or refused, never a read outside the blob (ASan) */
    {
        uint64_t rng = 0x2545f4914f6cdd1dull;
        unsigned n, accepted = 0;
        good(&b);
        for (n = 0; n < 20000; n++) {
            unsigned flips = 1 + n % 4, j;
            h = finish(&b, &size);
            for (j = 0; j < flips; j++) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                h[rng % size] ^= (uint8_t)(1u << (rng >> 32) % 8);
            }
            if (fdt_parse(h, &info) == NULL) {
                accepted++;
                for (j = 0; j < info.ram_count; j++) CHECK(info.ram[j].base + info.ram[j].size > info.ram[j].base);
                CHECK(info.ram_count >= 1 && info.ram_count <= FDT_MAX_RAM);
            }
            free(h);
        }
        printf("random damage: %u of 20000 damaged blobs accepted (well formed after the flips)\n",
               accepted);
    }
    free(last_blob);
    if (failures) {
        printf("test_fdt: %d FAILED\n", failures);
        return 1;
    }
    printf("test_fdt: all checks passed\n");
    return 0;
}
