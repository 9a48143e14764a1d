# examples/common/cross.cmake - the cross-build scaffolding of every freestanding image QEMU
# runs: the boot-test kernels (tests/boot.cmake), the firmware example and the two hobby
# kernels (examples/*/CMakeLists.txt). Included by each of them.
#
# Why here: examples/common/ is the one place for what these images share (this file, the
# freestanding C library, the x86 and RISC-V helpers, bad_dtb.sh; see its README.md). The boot
# tests take from it too, the way the firmware already took x86.h and run_qemu.sh from
# tests/boot/: the pieces are example-grade code a reader copies into a kernel of their own.
#
# The images are cross-compiled with clang and linked with ld.lld whatever CMAKE_C_COMPILER is
# (clang is a cross compiler out of the box). A missing tool makes the tests FAIL, never skip:
# sh tests/run.sh installs clang, lld, llvm, qemu-system-misc, qemu-system-x86 and opensbi.
#
#   mmkit_cross_tools(<what> TOOLS <VAR>...  TESTS <test>... LABEL <label> [HINT <text>]
#                     [REQUIRE <path>...])
#       finds the tools (VAR is CLANG, LLD, OBJCOPY, NM or SIZE; the paths are in MMKIT_CLANG,
#       MMKIT_LLD, ...) and sets MMKIT_CROSS_OK in the caller. When one is missing (or a
#       REQUIRE path does not exist) it warns once and registers each TESTS name as a test that
#       prints the missing pieces and fails; the caller then returns().
#   mmkit_cross_objects(<out-var> <obj-dir> FLAGS <flag>... SOURCES <abs-source>...
#                       [DEPENDS <file>...] [COMMENT <what>] [STEM] [NAME_SUFFIX <suffix>])
#       one clang -c per source into <obj-dir>/<name><suffix>.o, <name> the source's file name
#       (with STEM: without its extension); DEPENDS adds files every object depends on (the
#       headers). The sources of one <obj-dir> must have different file names.
#   mmkit_cross_link(<elf> LDSCRIPT <script> OBJECTS <obj>... [LDFLAGS <flag>...]
#                    [BINARY <bin>] [ELF32 <elf32>] [COMMENT <what>])
#       ld.lld -T <script> -nostdlib -static <LDFLAGS> -o <elf> <obj>...; with BINARY also
#       objcopy -O binary into <bin> (a flat image to embed), with ELF32 objcopy of the x86-64
#       ELF into an ELF32 <elf32> (QEMU's Multiboot loader takes no ELF64). The rule's output
#       is <bin>, <elf32> or else <elf>.
#
#   MMKIT_CROSS_CFLAGS         freestanding C11, the project's warnings, -Werror with
#                              MMKIT_WERROR, -I include/ and -I examples/common/; no -O
#   MMKIT_CROSS_RISCV64        + riscv64 (rv64imac: no floating point, sstatus.FS stays off)
#   MMKIT_CROSS_X86_64         + x86-64 without SSE or a red zone (add -mcmodel=...)
#   MMKIT_CROSS_I386           + i686 without SSE (32-bit protected mode)
#   MMKIT_COMMON_DIR           this directory
#   MMKIT_COMMON_HEADERS       its headers and assembler includes (for DEPENDS)

set(MMKIT_COMMON_DIR "${CMAKE_CURRENT_LIST_DIR}")
file(GLOB MMKIT_COMMON_HEADERS CONFIGURE_DEPENDS "${MMKIT_COMMON_DIR}/*.h" "${MMKIT_COMMON_DIR}/*.inc")

set(MMKIT_CROSS_CFLAGS -ffreestanding -nostdlib -fno-pic -fno-stack-protector -fno-builtin
    -g -std=c11 -Wall -Wextra -Wpedantic -Wconversion -Wshadow
    -I "${PROJECT_SOURCE_DIR}/include" -I "${MMKIT_COMMON_DIR}")
if(MMKIT_WERROR)
  list(APPEND MMKIT_CROSS_CFLAGS -Werror)
endif()
set(MMKIT_CROSS_RISCV64 --target=riscv64-unknown-elf -march=rv64imac -mabi=lp64 -mcmodel=medany
    -mno-relax ${MMKIT_CROSS_CFLAGS})
# -mgeneral-regs-only: none of the images enables SSE, and clang turns struct copies into SSE
# moves at -O2 without it. -mno-red-zone: traps in ring 0 push onto the interrupted stack.
set(MMKIT_CROSS_X86_64 --target=x86_64-unknown-none-elf -mno-red-zone -mgeneral-regs-only
    -fno-pie ${MMKIT_CROSS_CFLAGS})
set(MMKIT_CROSS_I386 --target=i386-unknown-none-elf -march=i686 -mgeneral-regs-only -fno-pie
    ${MMKIT_CROSS_CFLAGS})

# tool variable -> program names, first found wins
set(MMKIT_CROSS_NAMES_CLANG clang)
set(MMKIT_CROSS_NAMES_LLD ld.lld)
set(MMKIT_CROSS_NAMES_OBJCOPY llvm-objcopy objcopy)
set(MMKIT_CROSS_NAMES_NM llvm-nm)
set(MMKIT_CROSS_NAMES_SIZE llvm-size)

function(mmkit_cross_tools what)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "LABEL;HINT" "TOOLS;TESTS;REQUIRE")
  set(missing "")
  foreach(tool IN LISTS arg_TOOLS)
    find_program(MMKIT_${tool} NAMES ${MMKIT_CROSS_NAMES_${tool}})
    if(NOT MMKIT_${tool})
      list(GET MMKIT_CROSS_NAMES_${tool} 0 name)
      list(APPEND missing "${name}")
    endif()
  endforeach()
  foreach(path IN LISTS arg_REQUIRE)
    if(NOT EXISTS "${path}")
      file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}" "${path}")
      list(APPEND missing "${rel}")
    endif()
  endforeach()
  if(missing STREQUAL "")
    set(MMKIT_CROSS_OK TRUE PARENT_SCOPE)
    return()
  endif()
  if(NOT arg_HINT)
    set(arg_HINT "Debian: apt-get install clang lld llvm, or run sh tests/run.sh as root")
  endif()
  string(REPLACE ";" ", " missing "${missing}")
  message(WARNING "mmkit, ${what}: not found: ${missing}; the tests will fail (${arg_HINT})")
  foreach(name IN LISTS arg_TESTS)
    add_test(NAME ${name} COMMAND sh -c
             "echo 'FAIL: cannot build ${what}, missing: ${missing}'; exit 1")
    set_tests_properties(${name} PROPERTIES LABELS ${arg_LABEL})
  endforeach()
  set(MMKIT_CROSS_OK FALSE PARENT_SCOPE)
endfunction()

function(mmkit_cross_objects out dir)
  cmake_parse_arguments(PARSE_ARGV 2 arg "STEM" "COMMENT;NAME_SUFFIX" "FLAGS;SOURCES;DEPENDS")
  set(part NAME)
  if(arg_STEM)
    set(part NAME_WE)
  endif()
  set(objs "")
  foreach(src IN LISTS arg_SOURCES)
    get_filename_component(base "${src}" ${part})
    set(obj "${dir}/${base}${arg_NAME_SUFFIX}.o")
    add_custom_command(
      OUTPUT "${obj}"
      COMMAND "${CMAKE_COMMAND}" -E make_directory "${dir}"
      COMMAND "${MMKIT_CLANG}" ${arg_FLAGS} -c "${src}" -o "${obj}"
      DEPENDS "${src}" ${arg_DEPENDS}
      COMMENT "${arg_COMMENT}: ${base}"
      VERBATIM)
    list(APPEND objs "${obj}")
  endforeach()
  set(${out} "${objs}" PARENT_SCOPE)
endfunction()

function(mmkit_cross_link elf)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "LDSCRIPT;BINARY;ELF32;COMMENT" "OBJECTS;LDFLAGS")
  set(output "${elf}")
  set(extra "")
  if(arg_BINARY)
    set(output "${arg_BINARY}")
    set(extra COMMAND "${MMKIT_OBJCOPY}" -O binary "${elf}" "${arg_BINARY}")
  elseif(arg_ELF32)
    set(output "${arg_ELF32}")
    set(extra COMMAND "${MMKIT_OBJCOPY}" -I elf64-x86-64 -O elf32-i386 "${elf}" "${arg_ELF32}")
  endif()
  add_custom_command(
    OUTPUT "${output}"
    COMMAND "${MMKIT_LLD}" ${arg_LDFLAGS} -T "${arg_LDSCRIPT}" -nostdlib -static -o "${elf}"
            ${arg_OBJECTS}
    ${extra}
    DEPENDS ${arg_OBJECTS} "${arg_LDSCRIPT}"
    COMMENT "${arg_COMMENT}"
    VERBATIM)
endfunction()
