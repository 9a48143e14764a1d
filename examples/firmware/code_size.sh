#!/bin/sh
# The code-size table of the README, and a check that mmkit needs nothing from outside.
#
#   sh code_size.sh LLVM_NM LLVM_SIZE OBJECT...
#
# OBJECT names are <tu>-<arch>-<opt>.o: fw_main (the firmware's vendoring TU, MMKIT_STATIC:
# only what the firmware calls) or mmkit_full (buddy + slab as shipped: every public function).
# Fails when a tool or an object is missing, or when an object needs a symbol from outside
# other than memset/memcpy/memmove/memcmp (and, for fw_main, the console helpers of
# examples/common/console.c and the linker script's __image_start/__image_end): a compiler-rt helper
# (__udivdi3, __atomic_*), assert or abort would not link in a freestanding image.
set -u
if [ $# -lt 3 ]; then
    echo "usage: $0 LLVM_NM LLVM_SIZE OBJECT..." >&2
    exit 2
fi
nm=$1 size=$2
shift 2
for tool in "$nm" "$size"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool not found (Debian package llvm; sh tests/run.sh installs it)"
        exit 1
    fi
done
status=0
echo "| TU | arch | opt | text | data | bss |"
echo "|----|------|-----|-----:|-----:|----:|"
for obj in "$@"; do
    if [ ! -f "$obj" ]; then
        echo "FAIL: $obj does not exist (build the target mmkit_firmware first)"
        status=1
        continue
    fi
    base=$(basename "$obj" .o)
    tu=${base%%-*}
    rest=${base#*-}
    arch=${rest%-*}
    opt=${rest##*-}
    row=$("$size" "$obj" | awk 'NR == 2 { print $1, $2, $3 }')
    set -- $row
    echo "| $tu | $arch | -$opt | $1 | $2 | $3 |"
    extra=$("$nm" -u "$obj" | awk '{ print $NF }' |
            grep -vx -e memset -e memcpy -e memmove -e memcmp \
                     -e kputs -e kput_hex -e kput_dec -e kline -e kputc \
                     -e __image_start -e __image_end || true)
    if [ "$tu" = mmkit_full ]; then
        extra=$("$nm" -u "$obj" | awk '{ print $NF }' |
                grep -vx -e memset -e memcpy -e memmove -e memcmp || true)
    fi
    if [ -n "$extra" ]; then
        echo "FAIL: $base needs symbols a freestanding image does not have:" $extra
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "ok: no object needs more than memset/memcpy/memmove/memcmp" \
                            "(+ the firmware's console helpers and image symbols)"
exit $status
