/* user_blob.S - the user programs' flat image (examples/kernel/user/, linked at USER_IMAGE_VA
 * by user.ld, objcopy -O binary) embedded page-aligned in the kernel image, so the core can map
 * its pages straight from here. USER_BIN is the binary's path (set by CMakeLists.txt). */
    .section .user_image, "a"
    .balign 4096
    .global arch_user_image_load
arch_user_image_load:
    .incbin USER_BIN
arch_user_image_load_end:
    .balign 4096

    .section .rodata
    .balign 8
    .global arch_user_image_size    /* arch_user_image_va: arch.c, from abi.h's USER_IMAGE_VA */
arch_user_image_size:
    .quad   arch_user_image_load_end - arch_user_image_load
