#!/bin/sh
# Check a linked firmware image and print its size.
#
#   sh check_image.sh LLVM_NM LLVM_SIZE IMAGE VENDOR_OBJECT
#
# Fails when IMAGE has an undefined symbol (the image must be complete: no libc, no
# compiler-rt), when it exports an mmkit symbol (MMKIT_STATIC must keep mmkit inside its one
# translation unit), or when it lacks _start or one of memset/memcpy/memmove/memcmp. Prints
# llvm-size of the image and of the vendoring object, and the bytes of the mmkit functions the
# image keeps out of line (the rest is inlined into the firmware's functions).
set -u
if [ $# -ne 4 ]; then
    echo "usage: $0 LLVM_NM LLVM_SIZE IMAGE VENDOR_OBJECT" >&2
    exit 2
fi
nm=$1 size=$2 image=$3 obj=$4
for tool in "$nm" "$size"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool not found (Debian package llvm; sh tests/run.sh installs it)"
        exit 1
    fi
done
for f in "$image" "$obj"; do
    if [ ! -f "$f" ]; then
        echo "FAIL: $f does not exist (build the target mmkit_firmware first)"
        exit 1
    fi
done
status=0
undef=$("$nm" -u "$image") || { echo "FAIL: $nm cannot read $image"; exit 1; }
if [ -n "$undef" ]; then
    echo "FAIL: $image has undefined symbols:"
    echo "$undef"
    status=1
else
    echo "ok: no undefined symbols in $(basename "$image")"
fi
globals=$("$nm" -g --defined-only "$image" | awk '{ print $NF }')
exported=$(printf '%s\n' "$globals" | grep '^mmkit' || true)
if [ -n "$exported" ]; then
    echo "FAIL: mmkit symbols are global (MMKIT_STATIC did not apply):"
    echo "$exported"
    status=1
else
    echo "ok: no global mmkit symbol (MMKIT_STATIC)"
fi
for sym in _start memset memcpy memmove memcmp; do
    if ! printf '%s\n' "$globals" | grep -qx "$sym"; then
        echo "FAIL: $image does not define $sym"
        status=1
    fi
done
"$size" "$image" "$obj"
"$nm" -S --radix=d --defined-only "$image" | awk '
    NF == 4 && $4 ~ /^mmkit/ && $3 ~ /^[tT]$/ { n++; bytes += $2 + 0 }
    END { printf "mmkit functions kept out of line in the image: %d, %d bytes\n", n, bytes }'
exit $status
