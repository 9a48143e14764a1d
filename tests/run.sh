#!/bin/sh
# The single test command:  sh tests/run.sh
#
#  1. installs missing build/test packages (Debian, as root; otherwise names them and stops)
#  2. `cmake --workflow --preset default`: gcc Debug build; unit tests (incl. TSan), README
#     example, examples, fuzz corpus replay, compile matrix, consume (packaging) tests
#  3. `cmake --workflow --preset asan`: clang with ASan+UBSan; unit tests, README example,
#     examples, fuzz corpus replay
# Stops at the first failure with a non-zero exit status.
#
# Parallelism: CMAKE_BUILD_PARALLEL_LEVEL / CTEST_PARALLEL_LEVEL (default: number of CPUs).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

sh tests/ensure_packages.sh \
    cmake make gcc g++ libc6-dev gcc-multilib clang lld llvm binutils \
    libcmocka-dev pkg-config afl++ @clang-rt \
    qemu-system-misc qemu-system-x86 opensbi

jobs=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$jobs}
CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-$jobs}
export CMAKE_BUILD_PARALLEL_LEVEL CTEST_PARALLEL_LEVEL

start=$(date +%s)
for preset in default asan; do
    echo "==== cmake --workflow --preset $preset ===="
    t0=$(date +%s)
    cmake --workflow --preset "$preset"
    echo "==== $preset: passed in $(($(date +%s) - t0))s ===="
done
echo "==== all passed in $(($(date +%s) - start))s ===="
