/* RISC-V boot test: the page-table checks of common/pt_checks.c in the mode named on the
 * command line (-append sv39|sv48|sv57), then power off. */
/* mmkit_tlb.h's ready-made flush backend (mmkit_tlb_riscv_flush_local); defined before
 * anything includes the header */
#define MMKIT_TLB_RISCV_BACKENDS
#include "platform.h"
#include "../common/boot_lib.h"
#include "../common/pt_checks.h"


void rv_main(uint64_t hartid, const void *dtb);
void rv_main(uint64_t hartid, const void *dtb) {
    static const struct { const char *name; mmkit_pagetable_format format; } modes[] = {
        {"sv39", MMKIT_PAGETABLE_SV39}, {"sv48", MMKIT_PAGETABLE_SV48}, {"sv57", MMKIT_PAGETABLE_SV57}};
    const char *args = rv_bootargs(dtb);
    boot_platform p = {0};
    bool found = false;
    kputs("mmkit boot test: riscv64, hart ");
    kput_dec(hartid);
    kputs(", command line \"");
    kputs(args);
    kline("\"");
    for (unsigned i = 0; i < 3; i++) {
        if (kword(args, modes[i].name)) {
            p.format = modes[i].format;
            found = true;
        }
    }
    if (!found) {
        boot_fail("mode", "no sv39/sv48/sv57 on the command line", 0, 0);
    } else {
        p.phys_bits = 56;
        p.ram_1g_base = 0x80000000u;
        p.asid = 1;                   /* QEMU implements all 16 ASID bits */
        pt_boot_image_sections(&p);
        p.flush_local = mmkit_tlb_riscv_flush_local;
        pt_boot_run(&p);
    }
    rv_poweroff(!boot_finish());
}
