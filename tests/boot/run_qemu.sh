#!/bin/sh
# Run one freestanding image under QEMU and judge its serial output: the boot-test kernels
# (tests/boot.cmake) and the firmware example (examples/firmware/CMakeLists.txt).
#
#   sh tests/boot/run_qemu.sh [OPTION]... EXPECTED_OKS TIMEOUT_SECONDS [OPTION]... [--] \
#       QEMU_PROGRAM [QEMU_ARGS...]
#
#   --verdict WORD   the verdict line's prefix (default MMKIT-BOOT; the firmware: MMKIT-FIRMWARE)
#   --status N       QEMU's exit status must be N (riscv virt's test device / SBI SRST: 0 for
#                    pass; isa-debug-exit: (0 << 1) | 1 = 1 for pass); not checked without it
#   -e REGEX         some output line must match REGEX (grep -E; facts of the report such as
#                    the RAM range the machine was given); may be repeated
#
# Passes when QEMU finishes within the time limit and its output has exactly EXPECTED_OKS lines
# `ok <name>`, no line starting with `FAIL`, the verdict `WORD: PASS n/n` with n = EXPECTED_OKS,
# a line for every -e REGEX and the --status exit status. A missing QEMU is a failure, not a
# skip: these tests must run in CI.
set -u
usage() {
    echo "usage: $0 [--verdict WORD] [--status N] [-e REGEX]... EXPECTED_OKS TIMEOUT_SECONDS" \
         "[--] QEMU_PROGRAM [QEMU_ARGS...]" >&2
    exit 2
}
word=MMKIT-BOOT want= expected= limit=
patterns=$(mktemp)
log=$(mktemp)
trap 'rm -f "$patterns" "$log" "$log.txt"' EXIT INT TERM
# options and the two numbers in any order; the first other word (or the one after --) is QEMU
while [ $# -gt 0 ]; do
    case $1 in
    --verdict|--status|-e)
        [ $# -ge 2 ] || usage
        case $1 in
        --verdict) word=$2 ;;
        --status) want=$2 ;;
        -e) printf '%s\n' "$2" >>"$patterns" ;;
        esac
        shift 2 ;;
    --) shift; break ;;
    *)
        if [ -z "$expected" ]; then expected=$1
        elif [ -z "$limit" ]; then limit=$1
        else break
        fi
        shift ;;
    esac
done
[ -n "$limit" ] && [ $# -gt 0 ] || usage
if ! command -v "$1" >/dev/null 2>&1; then
    echo "FAIL: $1 not found (Debian packages qemu-system-misc / qemu-system-x86, opensbi;" \
         "sh tests/run.sh installs them)"
    exit 1
fi
t0=$(date +%s%N)
timeout -k 5 "$limit" "$@" </dev/null >"$log" 2>&1
status=$?
t1=$(date +%s%N)
tr -d '\r' <"$log" >"$log.txt"
cat "$log.txt"

oks=$(grep -c '^ok ' "$log.txt")
fails=$(grep -c '^FAIL' "$log.txt")
verdict=$(grep "^$word: " "$log.txt" | tail -n 1)
echo "---- $oks ok, $fails FAIL (expected $expected ok); QEMU exit status $status" \
     "(expected ${want:-any}); run took $(( (t1 - t0) / 1000000 )) ms"
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "FAIL: QEMU did not finish within ${limit} s"
    exit 1
fi
bad=0
while IFS= read -r re; do
    if ! grep -Eq -- "$re" "$log.txt"; then
        echo "FAIL: no line of the report matches '$re'"
        bad=1
    fi
done <"$patterns"
if [ "$verdict" != "$word: PASS $expected/$expected" ] || [ "$oks" -ne "$expected" ] ||
   [ "$fails" -ne 0 ]; then
    echo "FAIL: wanted the verdict '$word: PASS $expected/$expected', $expected ok lines" \
         "and no FAIL line; got '${verdict:-no verdict}'"
    bad=1
fi
if [ -n "$want" ] && [ "$status" -ne "$want" ]; then
    echo "FAIL: QEMU exit status $status, wanted $want (the image's own verdict)"
    bad=1
fi
exit $bad
