#!/bin/sh
# Line and branch coverage of the mmkit headers by the tests:
#
#   sh tests/coverage.sh
#
# Builds the `coverage` preset (gcc --coverage), runs its tests (unit tests, README example,
# examples, fuzz corpus replay), and prints line and branch coverage restricted to
# include/mmkit/*.h. HTML report: build/coverage/coverage-html/index.html.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

sh tests/ensure_packages.sh cmake make gcc libc6-dev libcmocka-dev pkg-config lcov

jobs=$(nproc 2>/dev/null || echo 2)
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$jobs}
CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-$jobs}
export CMAKE_BUILD_PARALLEL_LEVEL CTEST_PARALLEL_LEVEL

bdir="$root/build/coverage"
rc="--rc lcov_branch_coverage=1"

cmake --preset coverage
cmake --build --preset coverage
# counters from earlier runs would inflate the numbers
lcov --quiet --zerocounters --directory "$bdir"
ctest --preset coverage

# (Debian's lcov 1.16 prints harmless "Subroutine ... redefined" perl warnings; hide them)
# shellcheck disable=SC2086
if ! lcov --quiet $rc --capture --directory "$bdir" --output-file "$bdir/coverage-all.info" \
    2>"$bdir/lcov-capture.err"; then
    cat "$bdir/lcov-capture.err" >&2
    exit 1
fi
grep -v 'Subroutine .* redefined' "$bdir/lcov-capture.err" >&2 || true
# shellcheck disable=SC2086
lcov --quiet $rc --extract "$bdir/coverage-all.info" "*/include/mmkit/*.h" \
    --output-file "$bdir/coverage-mmkit.info"
if command -v genhtml >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    genhtml --quiet $rc --output-directory "$bdir/coverage-html" "$bdir/coverage-mmkit.info" ||
        echo "(genhtml failed; the summary below is still valid)"
fi

echo "==== coverage of include/mmkit/*.h ===="
# shellcheck disable=SC2086
lcov $rc --list "$bdir/coverage-mmkit.info" || true
# shellcheck disable=SC2086
lcov $rc --summary "$bdir/coverage-mmkit.info" 2>&1 | grep -E 'lines|functions|branches'
echo "HTML report: $bdir/coverage-html/index.html"
