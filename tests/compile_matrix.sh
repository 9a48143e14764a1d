#!/bin/sh
# Compile matrix for the mmkit headers.
#
#   sh tests/compile_matrix.sh [GROUP...]        (default: every group)
#
# Groups (ctest registers one test per group, named matrix_<group>):
#   gcc, clang      every include/mmkit/*.h alone and with MMKIT_IMPLEMENTATION, as C99 and C11
#                   (plus MMKIT_DEBUG=1 and NDEBUG variants of the implementation, C11)
#   gxx, clangxx    the same as C++11 and C++17
#   link            two translation units (one with MMKIT_IMPLEMENTATION, one calling
#                   mmkit_status_str) linked and run; C, C++ and mixed C/C++
#   static          MMKIT_STATIC + MMKIT_IMPLEMENTATION in two TUs linked together,
#                   -Wunused-function -Werror, no global mmkit_ symbols
#   freestanding    -ffreestanding -fno-builtin -nostdlib objects for x86-64 (gcc, clang;
#                   -mgeneral-regs-only, with the TLB backends), riscv64 (clang, with the TLB
#                   backends), i386 (clang, gcc -m32) and riscv32 (clang) whose only
#                   undefined symbols are memset/memcpy/memmove/memcmp
#   inline          as freestanding with gcc -fkeep-inline-functions: the static inline helpers
#                   are emitted too, so a helper needing libgcc (__udivdi3, __popcountdi2, ...)
#                   fails even before an implementation calls it
#
# Every compile uses -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror -O2 (the
# implementation also at -Os and -O3).
# A configuration is SKIPPED only when its compiler is missing. The last line of output is
# "N passed, M failed". Exit status: 0 all passed, 1 something failed, 77 everything skipped.
#
# Environment: MMKIT_GCC, MMKIT_CLANG, MMKIT_GXX, MMKIT_CLANGXX (compilers), MMKIT_NM (nm to
# use), MMKIT_MATRIX_WORKDIR (scratch dir, emptied first; default: a temporary dir, removed),
# MMKIT_SOURCE_DIR (repository root; default: the parent of this script's directory).
# Functions below are called indirectly through check(), which shellcheck cannot see.
# shellcheck disable=SC2317
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=${MMKIT_SOURCE_DIR:-$(cd "$here/.." && pwd)}
inc="$root/include"

GCC=${MMKIT_GCC:-gcc}
CLANG=${MMKIT_CLANG:-clang}
GXX=${MMKIT_GXX:-g++}
CLANGXX=${MMKIT_CLANGXX:-clang++}

WARN="-Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror"
CXXWARN=$WARN
# Freestanding: kernel-style code generation. -fno-pic and -fno-stack-protector keep
# _GLOBAL_OFFSET_TABLE_ / __stack_chk_fail (toolchain defaults, not mmkit's doing) out of nm -u.
FS="-ffreestanding -fno-builtin -nostdlib -O2 -std=c99 -fno-pic -fno-stack-protector"
ALLOWED_UNDEF='^(memset|memcpy|memmove|memcmp)$'

ALL_GROUPS="gcc clang gxx clangxx link static freestanding inline"

if [ -n "${MMKIT_MATRIX_WORKDIR:-}" ]; then
    work=$MMKIT_MATRIX_WORKDIR
    rm -rf "$work" && mkdir -p "$work" || exit 1
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/mmkit-matrix.XXXXXX") || exit 1
    trap 'rm -rf "$work"' EXIT
    trap 'exit 130' INT TERM
fi

headers=""
for h in "$inc"/mmkit/*.h; do
    [ -f "$h" ] && headers="$headers ${h##*/}"
done
if [ -z "$headers" ]; then
    echo "no headers found in $inc/mmkit" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

if [ -n "${MMKIT_NM:-}" ]; then
    NM=$MMKIT_NM
elif command -v llvm-nm >/dev/null 2>&1; then
    NM=llvm-nm # understands every target
else
    NM="nm"
fi

pass=0
fail=0
skipped=0
seq=0

have() { command -v "$1" >/dev/null 2>&1; }

# check DESCRIPTION COMMAND [ARG...]: run COMMAND with output captured; show it on failure.
check() {
    desc=$1
    shift
    seq=$((seq + 1))
    log="$work/log.$seq"
    if "$@" >"$log" 2>&1; then
        pass=$((pass + 1))
        echo "PASS     $desc"
    else
        fail=$((fail + 1))
        echo "FAIL     $desc"
        sed 's/^/       | /' "$log"
    fi
}

skip() {
    skipped=$((skipped + 1))
    echo "SKIPPED  $1 ($2)"
}

# run COMMAND [ARG...]: echo the command (shown when the configuration fails), then run it.
run() {
    echo "+ $*"
    "$@"
}

# new_base: sets $base to a fresh scratch path prefix (not in a subshell, so seq advances)
new_base() {
    seq=$((seq + 1))
    base="$work/f$seq"
}

# include_all: #include lines for every header
include_all() {
    for hh in $headers; do
        printf '#include <mmkit/%s>\n' "$hh"
    done
}

# ---- (a)+(b): each header alone and with the implementation ----------------------------------
# compile_header COMPILER EXT STD HEADER MODE [EXTRA_FLAG...]
#   MODE: alone | impl
compile_header() {
    cc=$1 ext=$2 std=$3 hdr=$4 mode=$5
    shift 5
    new_base
    src="$base.$ext"
    {
        if [ "$mode" = impl ]; then
            echo '#define MMKIT_IMPLEMENTATION'
            # twice: the include and implementation guards must make the second one a no-op
            printf '#include <mmkit/%s>\n#include <mmkit/%s>\n' "$hdr" "$hdr"
        else
            printf '#include <mmkit/%s>\n' "$hdr"
        fi
    } >"$src"
    if [ "$ext" = cpp ]; then w=$CXXWARN; else w=$WARN; fi
    # shellcheck disable=SC2086
    run "$cc" -std="$std" $w -O2 "$@" -I"$inc" -c "$src" -o "$src.o"
}

group_headers() { # group_headers COMPILER EXT "STD..."
    cc=$1 ext=$2 stds=$3
    if ! have "$cc"; then
        skip "$cc: all headers" "$cc not found"
        return
    fi
    for std in $stds; do
        for hdr in $headers; do
            check "$cc -std=$std $hdr alone" compile_header "$cc" "$ext" "$std" "$hdr" alone
            check "$cc -std=$std $hdr +IMPLEMENTATION" compile_header "$cc" "$ext" "$std" "$hdr" impl
        done
    done
    last_std=${stds##* }
    for hdr in $headers; do
        check "$cc -std=$last_std $hdr +IMPLEMENTATION -DMMKIT_DEBUG=1" \
            compile_header "$cc" "$ext" "$last_std" "$hdr" impl -DMMKIT_DEBUG=1
        check "$cc -std=$last_std $hdr +IMPLEMENTATION -DNDEBUG" \
            compile_header "$cc" "$ext" "$last_std" "$hdr" impl -DNDEBUG
        # firmware builds at -Os, release builds at -O3: other optimisers, other warnings
        for opt in -Os -O3; do
            check "$cc -std=$last_std $hdr +IMPLEMENTATION $opt" \
                compile_header "$cc" "$ext" "$last_std" "$hdr" impl "$opt"
        done
    done
}

# ---- (c): implementation in one TU, use in another -------------------------------------------
# link_two IMPL_CC IMPL_EXT IMPL_STD USER_CC USER_EXT USER_STD LINKER
link_two() {
    icc=$1 iext=$2 istd=$3 ucc=$4 uext=$5 ustd=$6 ld=$7
    new_base
    impl="$base.impl.$iext"
    user="$base.user.$uext"
    exe="$base.exe"
    {
        echo '#define MMKIT_IMPLEMENTATION'
        include_all
        include_all
    } >"$impl"
    {
        echo '#include <stdio.h>'
        echo '#include <string.h>'
        include_all
        cat <<'EOF'
int main(void) {
    const char *s = mmkit_status_str(MMKIT_OK);
    if (!s || strncmp(s, "MMKIT_OK", 8) != 0) {
        printf("unexpected mmkit_status_str(MMKIT_OK): %s\n", s ? s : "(null)");
        return 1;
    }
    printf("%s\n", s);
    return 0;
}
EOF
    } >"$user"
    if [ "$iext" = cpp ]; then iw=$CXXWARN; else iw=$WARN; fi
    if [ "$uext" = cpp ]; then uw=$CXXWARN; else uw=$WARN; fi
    # shellcheck disable=SC2086
    run "$icc" -std="$istd" $iw -O2 -I"$inc" -c "$impl" -o "$impl.o" &&
        run "$ucc" -std="$ustd" $uw -O2 -I"$inc" -c "$user" -o "$user.o" &&
        run "$ld" "$impl.o" "$user.o" -o "$exe" &&
        run "$exe"
}

group_link() {
    for combo in \
        "$GCC c c99 $GCC c c99 $GCC" \
        "$CLANG c c99 $CLANG c c99 $CLANG" \
        "$GXX cpp c++11 $GXX cpp c++11 $GXX" \
        "$CLANGXX cpp c++11 $CLANGXX cpp c++11 $CLANGXX" \
        "$GCC c c99 $GXX cpp c++11 $GXX" \
        "$GXX cpp c++11 $GCC c c99 $GXX" \
        "$CLANG c c11 $CLANGXX cpp c++17 $CLANGXX"; do
        # shellcheck disable=SC2086
        set -- $combo
        desc="two TUs: impl $1 -std=$3, user $4 -std=$6, linked by $7"
        missing=""
        for c in "$1" "$4" "$7"; do have "$c" || missing="$missing $c"; done
        if [ -n "$missing" ]; then
            skip "$desc" "not found:$missing"
            continue
        fi
        check "$desc" link_two "$@"
    done
}

# ---- (d): MMKIT_STATIC ------------------------------------------------------------------------
# static_two CC EXT STD: two TUs with private copies; one uses nothing (no unused warnings),
# the other calls mmkit_status_str; no global mmkit_ symbol may appear.
static_two() {
    cc=$1 ext=$2 std=$3
    new_base
    a="$base.a.$ext"
    b="$base.b.$ext"
    exe="$base.exe"
    {
        echo '#define MMKIT_STATIC'
        echo '#define MMKIT_IMPLEMENTATION'
        include_all
        echo 'int mmkit_matrix_tu_a(void);'
        echo 'int mmkit_matrix_tu_a(void) { return 1; }'
    } >"$a"
    {
        echo '#define MMKIT_STATIC'
        echo '#define MMKIT_IMPLEMENTATION'
        echo '#include <stdio.h>'
        include_all
        cat <<'EOF'
int mmkit_matrix_tu_a(void);
int main(void) {
    const char *s = mmkit_status_str(MMKIT_ENOMEM);
    if (!s || mmkit_matrix_tu_a() != 1) return 1;
    printf("%s\n", s);
    return 0;
}
EOF
    } >"$b"
    if [ "$ext" = cpp ]; then w=$CXXWARN; else w=$WARN; fi
    # shellcheck disable=SC2086
    run "$cc" -std="$std" $w -Wunused-function -O2 -I"$inc" -c "$a" -o "$a.o" &&
        run "$cc" -std="$std" $w -Wunused-function -O2 -I"$inc" -c "$b" -o "$b.o" &&
        run "$cc" "$a.o" "$b.o" -o "$exe" &&
        run "$exe" || return 1
    echo "+ $NM -g --defined-only (global mmkit_ symbols other than the test's own)"
    globals=$("$NM" -g --defined-only "$a.o" "$b.o" | awk 'NF >= 3 { print $3 }' |
        grep '^_*mmkit' | grep -v '^mmkit_matrix_tu_a$')
    if [ -n "$globals" ]; then
        echo "MMKIT_STATIC left global symbols:"
        echo "$globals"
        return 1
    fi
}

group_static() {
    for combo in "$GCC c c99" "$GCC c c11" "$CLANG c c99" "$CLANG c c11" \
        "$GXX cpp c++11" "$CLANGXX cpp c++11" "$CLANGXX cpp c++17"; do
        # shellcheck disable=SC2086
        set -- $combo
        desc="MMKIT_STATIC two TUs: $1 -std=$3 -Wunused-function"
        if ! have "$1"; then
            skip "$desc" "$1 not found"
            continue
        fi
        check "$desc" static_two "$@"
    done
}

# ---- (e): freestanding objects -----------------------------------------------------------------
# freestanding_obj DEFINES COMPILER FLAG...: one object with every implementation; checks nm -u.
freestanding_obj() {
    defs=$1
    shift
    new_base
    src="$base.c"
    {
        echo '#define MMKIT_IMPLEMENTATION'
        include_all
    } >"$src"
    # shellcheck disable=SC2086
    run "$@" $FS $WARN $defs -I"$inc" -c "$src" -o "$src.o" || return 1
    echo "+ $NM -u $src.o"
    undef=$("$NM" -u "$src.o" | awk '{ print $NF }') || return 1
    bad=$(printf '%s\n' "$undef" | grep -v '^$' | grep -Ev "$ALLOWED_UNDEF")
    echo "undefined symbols: $(printf '%s\n' "$undef" | tr '\n' ' ')"
    if [ -n "$bad" ]; then
        echo "not allowed in a freestanding object (only memset/memcpy/memmove/memcmp are):"
        echo "$bad"
        return 1
    fi
}

# gcc_m32_works: gcc -m32 can build a freestanding object (needs a 32-bit capable gcc)
gcc_m32_works() {
    new_base
    probe="$base.c"
    echo 'int mmkit_probe(void); int mmkit_probe(void) { return 0; }' >"$probe"
    "$GCC" -m32 -ffreestanding -c "$probe" -o "$probe.o" >/dev/null 2>&1
}

# freestanding_targets KEEP_INLINE: run every target (KEEP_INLINE=1: gcc only, with
# -fkeep-inline-functions, which clang does not support)
freestanding_targets() {
    keep=$1
    for defs in "" "-DMMKIT_DEBUG=1"; do
        dname=${defs:+ $defs}
        if [ "$keep" = 1 ]; then
            k=-fkeep-inline-functions
            dname="$dname $k"
        else
            k=""
        fi
        if have "$GCC"; then
            # the kernel flags a kernel author uses (no SSE) and the TLB backends' inline asm
            check "freestanding x86-64 $GCC$dname" freestanding_obj "$defs" "$GCC" -m64 -mno-red-zone \
                -mgeneral-regs-only -DMMKIT_TLB_X86_64_BACKENDS $k
            if gcc_m32_works; then
                check "freestanding i386 $GCC -m32$dname" freestanding_obj "$defs" "$GCC" -m32 $k
            else
                skip "freestanding i386 $GCC -m32$dname" "$GCC -m32 cannot compile"
            fi
        else
            skip "freestanding x86-64/i386 $GCC$dname" "$GCC not found"
        fi
        [ "$keep" = 1 ] && continue
        if have "$CLANG"; then
            check "freestanding x86-64 $CLANG$dname" freestanding_obj "$defs" \
                "$CLANG" --target=x86_64-unknown-none-elf -mno-red-zone -mgeneral-regs-only \
                -DMMKIT_TLB_X86_64_BACKENDS
            check "freestanding riscv64 $CLANG$dname" freestanding_obj "$defs" \
                "$CLANG" --target=riscv64-unknown-elf -march=rv64imac -mabi=lp64 -mcmodel=medany \
                -DMMKIT_TLB_RISCV_BACKENDS
            check "freestanding i386 $CLANG$dname" freestanding_obj "$defs" \
                "$CLANG" --target=i386-unknown-none-elf
            check "freestanding riscv32 $CLANG$dname" freestanding_obj "$defs" \
                "$CLANG" --target=riscv32-unknown-elf -march=rv32imac -mabi=ilp32
        else
            skip "freestanding x86-64/riscv64/i386/riscv32 $CLANG$dname" "$CLANG not found"
        fi
    done
}

# ---- main ---------------------------------------------------------------------------------------
groups=${*:-$ALL_GROUPS}
echo "mmkit compile matrix: headers:$headers"
echo "work dir: $work"
for g in $groups; do
    echo "== $g =="
    case $g in
    gcc) group_headers "$GCC" c "c99 c11" ;;
    clang) group_headers "$CLANG" c "c99 c11" ;;
    gxx) group_headers "$GXX" cpp "c++11 c++17" ;;
    clangxx) group_headers "$CLANGXX" cpp "c++11 c++17" ;;
    link) group_link ;;
    static) group_static ;;
    freestanding) freestanding_targets 0 ;;
    inline) freestanding_targets 1 ;;
    *)
        echo "unknown group '$g' (groups: $ALL_GROUPS)"
        fail=$((fail + 1))
        ;;
    esac
done

[ "$skipped" -gt 0 ] && echo "($skipped configurations SKIPPED)"
echo "$pass passed, $fail failed"
if [ "$fail" -gt 0 ]; then
    exit 1
fi
if [ "$pass" -eq 0 ] && [ "$skipped" -gt 0 ]; then
    exit 77
fi
exit 0
