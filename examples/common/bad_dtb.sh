#!/bin/sh
# A riscv64 image booted on QEMU's virt machine must refuse a malformed devicetree, not build a
# buddy from it: the firmware example (M-mode, -bios none) and the hobby kernel (S-mode under
# OpenSBI, -bios default) run this one script with their own options.
#
#   sh bad_dtb.sh [--bios default|none] [--mem SIZE] [--verdict WORD] [--never REGEX]
#                 [--refused REGEX] QEMU_RISCV64 IMAGE TIMEOUT_SECONDS
#
#   --bios      QEMU's -bios (default: none)      --mem      QEMU's -m (default: 128M)
#   --verdict   the image's verdict word: the unchanged blob must give `WORD: PASS n/n`
#               (default: MMKIT-FIRMWARE)
#   --never     a line a refused boot must not print (the first allocator check; repeatable)
#   --refused   a line a refused boot must print as well (its verdict; repeatable)
#
# Dumps the blob QEMU builds for `-machine virt -m SIZE` (dumpdtb), boots the image once with
# the blob unchanged (must pass: the corruptions below are then the only difference), then once
# per corruption, passed with -dtb. QEMU and OpenSBI (libfdt) reject blobs whose header or
# structure they cannot parse, so the corruptions are those only the image's own reader sees:
#   nameoff      the first property's name offset far outside the strings block
#   reg_length   the memory node's reg is 12 bytes: not a whole (address, size) tuple of 16
#                (the word it frees becomes an FDT_NOP, so the structure stays well formed)
#   reg_wraps    the memory node's base is 2^64 - 4 KiB: base + size wraps
# Each must end with `FAIL devicetree ... refused: <reason>`, every --refused line, no --never
# line and QEMU exit status 1.
set -u
usage() {
    echo "usage: $0 [--bios B] [--mem SIZE] [--verdict WORD] [--never REGEX]..." \
         "[--refused REGEX]... QEMU_RISCV64 IMAGE TIMEOUT_SECONDS" >&2
    exit 2
}
bios=none mem=128M word=MMKIT-FIRMWARE never= refused=
nl='
'
while [ $# -gt 0 ]; do
    case $1 in
    --bios|--mem|--verdict|--never|--refused)
        [ $# -ge 2 ] || usage
        case $1 in
        --bios) bios=$2 ;;
        --mem) mem=$2 ;;
        --verdict) word=$2 ;;
        --never) never="$never$2$nl" ;;
        --refused) refused="$refused$2$nl" ;;
        esac
        shift 2 ;;
    --*) usage ;;
    *) break ;;
    esac
done
[ $# -eq 3 ] || usage
qemu=$1 image=$2 limit=$3
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "FAIL: $qemu not found (Debian packages qemu-system-misc, opensbi; sh tests/run.sh installs them)"
    exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
"$qemu" -machine virt,dumpdtb="$dir/virt.dtb" -bios none -m "$mem" -nographic >/dev/null 2>&1
if [ ! -s "$dir/virt.dtb" ]; then
    echo "FAIL: $qemu could not dump its devicetree"
    exit 1
fi

# u32 OFFSET FILE: big-endian 32-bit word at OFFSET
u32() { od -An -tu1 -j"$1" -N4 "$2" | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'; }
# put OFFSET 'octal-escaped bytes' FILE
put() { printf "$2" | dd of="$3" bs=1 seek="$1" conv=notrunc status=none; }

blob=$dir/virt.dtb
struct=$(u32 8 "$blob")
# the memory node: its name, then properties (token 3, len, nameoff, value padded to 4)
name=$(grep -obUa 'memory@80000000' "$blob" | head -n 1 | cut -d: -f1)
if [ -z "$name" ]; then
    echo "FAIL: no memory@80000000 node in QEMU's devicetree"
    exit 1
fi
pos=$(( (name + 16 + 3) / 4 * 4 ))   # "memory@80000000" + NUL = 16 bytes
reg=""
for _ in 1 2 3 4; do
    [ "$(u32 "$pos" "$blob")" -eq 3 ] || break
    len=$(u32 $((pos + 4)) "$blob")
    if [ "$len" -eq 16 ]; then reg=$pos; break; fi
    pos=$(( pos + 12 + (len + 3) / 4 * 4 ))
done
if [ -z "$reg" ]; then
    echo "FAIL: the memory node has no 16-byte reg property (layout changed?)"
    exit 1
fi

# refused_ok OUT: every --refused line is there and no --never line
refused_ok() {
    printf '%s' "$never" | while IFS= read -r re; do
        ! grep -Eq -- "$re" "$1" || exit 1
    done || return 1
    printf '%s' "$refused" | while IFS= read -r re; do
        grep -Eq -- "$re" "$1" || exit 1
    done
}

status=0
# boot NAME WANT_STATUS WANT_REGEX: a refused blob must stop the image before the buddy
boot() {
    out=$dir/$1.out
    timeout -k 5 "$limit" "$qemu" -machine virt -bios "$bios" -m "$mem" -nographic -monitor none \
        -dtb "$dir/$1.dtb" -kernel "$image" </dev/null >"$dir/$1.raw" 2>&1
    st=$?
    tr -d '\r' <"$dir/$1.raw" >"$out"
    line=$(grep -E "$3" "$out" | head -n 1)
    if [ -n "$line" ] && [ "$st" -eq "$2" ] && { [ "$2" -eq 0 ] || refused_ok "$out"; }; then
        echo "ok $1: $line (QEMU exit status $st)"
    else
        echo "FAIL $1: wanted a line matching '$3' and QEMU exit status $2, got $st; output:"
        sed 's/^/    /' "$out"
        status=1
    fi
}
cp "$blob" "$dir/unchanged.dtb"
cp "$blob" "$dir/nameoff.dtb";    put $((struct + 16)) '\177\000\000\000' "$dir/nameoff.dtb"
cp "$blob" "$dir/reg_length.dtb"; put $((reg + 4)) '\000\000\000\014' "$dir/reg_length.dtb"
put $((reg + 24)) '\000\000\000\004' "$dir/reg_length.dtb"   # the freed word: FDT_NOP
cp "$blob" "$dir/reg_wraps.dtb";  put $((reg + 12)) '\377\377\377\377\377\377\360\000' "$dir/reg_wraps.dtb"
boot unchanged 0 "^$word: PASS [0-9]+/"
boot nameoff 1 'refused: property name outside the strings block$'
boot reg_length 1 'refused: reg length is not a multiple of its tuple$'
boot reg_wraps 1 'refused: reg range wraps$'
exit $status
