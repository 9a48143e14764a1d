/* user_blob.S - the user programs' flat image (user.bin, linked at USER_IMAGE_VA by
 * examples/kernel/user/user.ld) inside the kernel image, page aligned. */
    .section .user, "a"
    .balign 4096
    .global arch_user_image_load
arch_user_image_load:
    .incbin USER_BIN
    .global arch_user_image_end
arch_user_image_end:
    .balign 4096

    .section .rodata
    .balign 8
    .global arch_user_image_size
arch_user_image_size:
    .quad   arch_user_image_end - arch_user_image_load
