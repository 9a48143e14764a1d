#!/bin/sh
# Boot one firmware image under QEMU and judge its serial output and exit status.
#
#   sh run_firmware.sh WANT_STATUS EXPECTED_OKS TIMEOUT_SECONDS [-e REGEX]... -- QEMU [ARGS...]
#
# The one runner is tests/boot/run_qemu.sh (the boot tests use it too); this keeps the
# firmware's command line: the verdict MMKIT-FIRMWARE, QEMU's exit status WANT_STATUS (riscv
# virt's test device: 0 for pass; isa-debug-exit: (0 << 1) | 1 = 1 for pass), exactly
# EXPECTED_OKS `ok` lines, no `FAIL` line, and a line matching every -e REGEX.
if [ $# -lt 5 ]; then
    echo "usage: $0 WANT_STATUS EXPECTED_OKS TIMEOUT [-e REGEX]... -- QEMU [ARGS...]" >&2
    exit 2
fi
want=$1
shift
exec sh "$(dirname "$0")/../../tests/boot/run_qemu.sh" --verdict MMKIT-FIRMWARE --status "$want" "$@"
