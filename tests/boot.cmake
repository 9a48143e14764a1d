# Boot tests (label `boot`): small kernels that build their page tables with mmkit_pagetable,
# turn paging on under QEMU and check from inside what the MMU does (tests/boot/README.md).
#
#   ctest -L boot --output-on-failure
#
# The kernels are cross-compiled with clang and linked with ld.lld whatever CMAKE_C_COMPILER is,
# with the scaffolding and the freestanding C library of examples/common/ (cross.cmake,
# freestanding.h, x86_io.h, riscv_sbi.h). A missing tool makes the tests FAIL, never skip:
# sh tests/run.sh installs clang, lld, llvm, qemu-system-misc, qemu-system-x86 and opensbi.
#
#   boot_riscv64_sv39/sv48/sv57  one RISC-V S-mode kernel (OpenSBI, -machine virt), the mode
#                                chosen by -append
#   boot_x86_64_4level/5level    one Multiboot-1 ELF32 image: stage 1 (i386) builds the first
#                                tables with mmkit and enters long mode, stage 2 (x86-64,
#                                embedded flat binary) runs the checks; -append level=4|5

set(MMKIT_BOOT_DIR "${CMAKE_CURRENT_SOURCE_DIR}/boot")
set(MMKIT_BOOT_OUT "${CMAKE_CURRENT_BINARY_DIR}/boot")
set(MMKIT_BOOT_TIMEOUT 30)

# Number of `ok` lines each kernel must print (a check added to the kernels updates these).
set(MMKIT_BOOT_OKS_RISCV_SV39 34)    # common/pt_checks.c without leaf_512g + 8 cow_checks.c
set(MMKIT_BOOT_OKS_RISCV_SV48 35)    # ... with leaf_512g
set(MMKIT_BOOT_OKS_RISCV_SV57 35)
set(MMKIT_BOOT_OKS_X86 41)           # 3 stage-1 + 3 stage-2 set-up checks + the 26 common ones
                                     # + invpcid_flush + the 8 copy-on-write ones
# (the cow checks count 8 with MMKIT_COW_HAVE_SHARE_TABLES, 6 without)

set(boot_tests
  "boot_riscv64_sv39|${MMKIT_BOOT_OKS_RISCV_SV39}|riscv|sv39"
  "boot_riscv64_sv48|${MMKIT_BOOT_OKS_RISCV_SV48}|riscv|sv48"
  "boot_riscv64_sv57|${MMKIT_BOOT_OKS_RISCV_SV57}|riscv|sv57"
  "boot_x86_64_4level|${MMKIT_BOOT_OKS_X86}|x86|level=4"
  "boot_x86_64_5level|${MMKIT_BOOT_OKS_X86}|x86|level=5")
set(boot_names "")
foreach(entry IN LISTS boot_tests)
  string(REPLACE "|" ";" f "${entry}")
  list(GET f 0 name)
  list(APPEND boot_names ${name})
endforeach()

# the cross-build scaffolding and the freestanding C library shared with the examples
include("${PROJECT_SOURCE_DIR}/examples/common/cross.cmake")
mmkit_cross_tools("the boot kernels" TOOLS CLANG LLD OBJCOPY TESTS ${boot_names} LABEL boot)
if(NOT MMKIT_CROSS_OK)
  return()
endif()

file(GLOB boot_headers CONFIGURE_DEPENDS
     "${PROJECT_SOURCE_DIR}/include/mmkit/*.h" "${MMKIT_BOOT_DIR}/*/*.h")
list(APPEND boot_headers ${MMKIT_COMMON_HEADERS})

set(boot_flags_riscv ${MMKIT_CROSS_RISCV64} -O2)
set(boot_flags_x86_64 ${MMKIT_CROSS_X86_64} -mcmodel=kernel -O2)
set(boot_flags_i386 ${MMKIT_CROSS_I386} -O2)
set(boot_libc "${MMKIT_COMMON_DIR}/libc.c" "${MMKIT_COMMON_DIR}/console.c")

# mmkit_boot_objects(<out-var> <tag> <flags-var> <source>...): compile sources of tests/boot/
# (and the shared C library) into ${MMKIT_BOOT_OUT}/<tag>/ and return the object paths.
function(mmkit_boot_objects out tag flags_var)
  set(srcs "")
  foreach(src IN LISTS ARGN)
    list(APPEND srcs "${MMKIT_BOOT_DIR}/${src}")
  endforeach()
  mmkit_cross_objects(objs "${MMKIT_BOOT_OUT}/${tag}" FLAGS ${${flags_var}}
                      SOURCES ${srcs} ${boot_libc} DEPENDS ${boot_headers}
                      COMMENT "boot kernel (${tag})")
  set(${out} "${objs}" PARENT_SCOPE)
endfunction()

# ---- RISC-V: one S-mode kernel ----
mmkit_boot_objects(rv_objs riscv boot_flags_riscv
  riscv/start.S riscv/platform.c riscv/kernel.c common/boot_lib.c common/pt_checks.c
  common/cow_checks.c common/mmkit_impl.c)
set(rv_kernel "${MMKIT_BOOT_OUT}/boot_riscv64.elf")
mmkit_cross_link("${rv_kernel}" LDSCRIPT "${MMKIT_BOOT_DIR}/riscv/kernel.ld" OBJECTS ${rv_objs}
                 COMMENT "boot kernel: linking boot_riscv64.elf")

# ---- x86: stage 2 (x86-64 flat binary) embedded in stage 1 (Multiboot ELF32) ----
mmkit_boot_objects(s2_objs x86_64 boot_flags_x86_64
  x86/stage2_start.S x86/stage2.c common/boot_lib.c common/pt_checks.c
  common/cow_checks.c common/mmkit_impl.c)
set(s2_elf "${MMKIT_BOOT_OUT}/x86_stage2.elf")
set(s2_bin "${MMKIT_BOOT_OUT}/x86_stage2.bin")
mmkit_cross_link("${s2_elf}" LDSCRIPT "${MMKIT_BOOT_DIR}/x86/stage2.ld" OBJECTS ${s2_objs}
                 BINARY "${s2_bin}" COMMENT "boot kernel: linking x86 stage 2")
mmkit_boot_objects(s1_objs i386 boot_flags_i386
  x86/stage1_start.S x86/stage1.c common/boot_lib.c)
mmkit_cross_objects(blob_obj "${MMKIT_BOOT_OUT}/i386"
  FLAGS ${boot_flags_i386} "-DSTAGE2_BIN=\"${s2_bin}\""
  SOURCES "${MMKIT_BOOT_DIR}/x86/stage2_blob.S" DEPENDS "${s2_bin}"
  COMMENT "boot kernel (i386): embedding stage 2")
set(x86_kernel "${MMKIT_BOOT_OUT}/boot_x86.elf")
mmkit_cross_link("${x86_kernel}" LDSCRIPT "${MMKIT_BOOT_DIR}/x86/stage1.ld" LDFLAGS -m elf_i386
                 OBJECTS ${s1_objs} ${blob_obj} COMMENT "boot kernel: linking boot_x86.elf")

add_custom_target(mmkit_boot_kernels ALL DEPENDS "${rv_kernel}" "${x86_kernel}")

# ---- the tests ----
set(qemu_riscv qemu-system-riscv64 -machine virt -m 256M -bios default -nographic -monitor none
    -kernel "${rv_kernel}")
# -cpu max: NX, 1 GiB pages, SMEP, SMAP and LA57 under TCG; isa-debug-exit ends the run
set(qemu_x86 qemu-system-x86_64 -cpu max -m 256M -display none -serial stdio -monitor none
    -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "${x86_kernel}")
# QEMU's exit status on a pass: SBI SRST shutdown 0, isa-debug-exit (0 << 1) | 1
set(qemu_status_riscv 0)
set(qemu_status_x86 1)
foreach(entry IN LISTS boot_tests)
  string(REPLACE "|" ";" f "${entry}")
  list(GET f 0 name)
  list(GET f 1 oks)
  list(GET f 2 arch)
  list(GET f 3 append)
  add_test(NAME ${name}
           COMMAND sh "${MMKIT_BOOT_DIR}/run_qemu.sh" --status ${qemu_status_${arch}}
                   ${oks} ${MMKIT_BOOT_TIMEOUT} -- ${qemu_${arch}} -append ${append})
  set_tests_properties(${name} PROPERTIES LABELS boot TIMEOUT 60)
endforeach()
