#!/bin/sh
# Boot one firmware image under QEMU and judge its serial output and exit status.
#
#   sh run_firmware.sh WANT_STATUS EXPECTED_OKS TIMEOUT_SECONDS [-e REGEX]... -- QEMU [ARGS...]
#
# Passes when QEMU exits within the time limit with status WANT_STATUS (riscv virt's test
# device: 0 for pass; isa-debug-exit: (0 << 1) | 1 = 1 for pass), its output has exactly
# EXPECTED_OKS lines `ok <name>`, no line starting with `FAIL`, the verdict
# `MMKIT-FIRMWARE: PASS n/n` with n = EXPECTED_OKS, and a line matching every -e REGEX
# (grep -E; facts of the report such as the RAM range the machine was given).
# A missing QEMU is a failure, not a skip. Same approach as tests/boot/run_qemu.sh.
set -u
if [ $# -lt 5 ]; then
    echo "usage: $0 WANT_STATUS EXPECTED_OKS TIMEOUT [-e REGEX]... -- QEMU [ARGS...]" >&2
    exit 2
fi
want=$1 expected=$2 limit=$3
shift 3
patterns=$(mktemp)
log=$(mktemp)
trap 'rm -f "$patterns" "$log" "$log.txt"' EXIT INT TERM
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    if [ "$1" != "-e" ] || [ $# -lt 2 ]; then
        echo "usage: $0 WANT_STATUS EXPECTED_OKS TIMEOUT [-e REGEX]... -- QEMU [ARGS...]" >&2
        exit 2
    fi
    printf '%s\n' "$2" >>"$patterns"
    shift 2
done
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
    echo "usage: no QEMU command after --" >&2
    exit 2
fi
if ! command -v "$1" >/dev/null 2>&1; then
    echo "FAIL: $1 not found (Debian packages qemu-system-misc / qemu-system-x86;" \
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
verdict=$(grep '^MMKIT-FIRMWARE: ' "$log.txt" | tail -n 1)
echo "---- $oks ok, $fails FAIL (expected $expected ok); QEMU exit status $status" \
     "(expected $want); run took $(( (t1 - t0) / 1000000 )) ms"
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
if [ "$verdict" != "MMKIT-FIRMWARE: PASS $expected/$expected" ] || [ "$oks" -ne "$expected" ] ||
   [ "$fails" -ne 0 ]; then
    echo "FAIL: wanted the verdict 'MMKIT-FIRMWARE: PASS $expected/$expected', $expected ok" \
         "lines and no FAIL line; got '${verdict:-no verdict}'"
    bad=1
fi
if [ "$status" -ne "$want" ]; then
    echo "FAIL: QEMU exit status $status, wanted $want (the firmware's own verdict)"
    bad=1
fi
exit $bad
