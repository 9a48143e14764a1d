/* The x86-64 stage 2 flat binary, placed at 0x400000 by stage1.ld. */
    .section .stage2, "ax"
    .incbin STAGE2_BIN
