#!/bin/sh
# Run one boot-test kernel under QEMU and judge its serial output.
#
#   sh tests/boot/run_qemu.sh EXPECTED_OKS TIMEOUT_SECONDS QEMU_PROGRAM [QEMU_ARGS...]
#
# Passes when QEMU finishes within the time limit and its output has exactly EXPECTED_OKS lines
# `ok <name>`, no line starting with `FAIL`, and the verdict `MMKIT-BOOT: PASS n/n` with
# n = EXPECTED_OKS. A missing QEMU is a failure, not a skip: these tests must run in CI.
set -u
if [ $# -lt 3 ]; then
    echo "usage: $0 EXPECTED_OKS TIMEOUT_SECONDS QEMU_PROGRAM [QEMU_ARGS...]" >&2
    exit 2
fi
expected=$1
limit=$2
shift 2
if ! command -v "$1" >/dev/null 2>&1; then
    echo "FAIL: $1 not found (Debian packages qemu-system-misc / qemu-system-x86, opensbi;" \
         "sh tests/run.sh installs them)"
    exit 1
fi
log=$(mktemp)
trap 'rm -f "$log" "$log.txt"' EXIT INT TERM
t0=$(date +%s%N)
timeout -k 5 "$limit" "$@" </dev/null >"$log" 2>&1
status=$?
t1=$(date +%s%N)
tr -d '\r' <"$log" >"$log.txt"
cat "$log.txt"

oks=$(grep -c '^ok ' "$log.txt")
fails=$(grep -c '^FAIL' "$log.txt")
verdict=$(grep '^MMKIT-BOOT: ' "$log.txt" | tail -n 1)
echo "---- $oks ok, $fails FAIL (expected $expected ok); QEMU exit status $status;" \
     "boot took $(( (t1 - t0) / 1000000 )) ms"
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "FAIL: QEMU did not finish within ${limit} s"
    exit 1
fi
if [ "$verdict" != "MMKIT-BOOT: PASS $expected/$expected" ] || [ "$oks" -ne "$expected" ] ||
   [ "$fails" -ne 0 ]; then
    echo "FAIL: wanted the verdict 'MMKIT-BOOT: PASS $expected/$expected', $expected ok lines" \
         "and no FAIL line; got '${verdict:-no verdict}'"
    exit 1
fi
exit 0
