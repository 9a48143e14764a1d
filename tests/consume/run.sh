#!/bin/sh
# Packaging tests: consume mmkit the three supported ways.
#
#   sh tests/consume/run.sh find_package|add_subdirectory|pkgconfig|all
#
#   find_package      install mmkit to a temporary prefix; a CMake project finds it with
#                     find_package(mmkit CONFIG REQUIRED) and links mmkit::mmkit
#   add_subdirectory  a CMake project vendors the source tree; `cmake --install` of that project
#                     must install nothing of mmkit's
#   pkgconfig         install mmkit to a temporary prefix; `pkg-config --cflags mmkit` must be
#                     -I<prefix>/include and `pkg-config --libs mmkit` empty; compile with them
#
# Each way builds tests/consume/consumer.c, runs it and checks that it prints MMKIT_OK.
# Environment: MMKIT_CMAKE (cmake to use), CC, CMAKE_GENERATOR (passed on to cmake),
# MMKIT_CONSUME_WORKDIR (scratch dir, emptied first; default: a temporary dir, removed).
# Exit status: 0 passed, 1 failed, 77 skipped (pkg-config missing).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CMAKE=${MMKIT_CMAKE:-cmake}
CC=${CC:-cc}

if [ $# -ne 1 ]; then
    echo "usage: $0 find_package|add_subdirectory|pkgconfig|all" >&2
    exit 2
fi
way=$1

if [ -n "${MMKIT_CONSUME_WORKDIR:-}" ]; then
    work=$MMKIT_CONSUME_WORKDIR
    rm -rf "$work"
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/mmkit-consume.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    trap 'exit 130' INT TERM
fi
work=$(cd "$work" && pwd)

say() { echo "[consume $way] $*"; }
die() {
    echo "[consume $way] FAILED: $*" >&2
    exit 1
}
run() {
    echo "+ $*"
    "$@"
}

# check_output EXE: runs the consumer and checks what it printed.
check_output() {
    out=$("$1") || die "$1 exited with status $?"
    echo "consumer printed: $out"
    case $out in
    MMKIT_OK*) ;;
    *) die "expected output starting with MMKIT_OK, got: $out" ;;
    esac
}

# install_mmkit PREFIX: configure mmkit alone (no developer targets) and install it to PREFIX,
# deliberately with a different CMAKE_INSTALL_PREFIX so that --prefix must be honoured.
install_mmkit() {
    prefix=$1
    run "$CMAKE" -S "$root" -B "$work/mmkit-build" \
        -DCMAKE_INSTALL_PREFIX="$work/wrong-prefix" \
        -DMMKIT_BUILD_TESTS=OFF -DMMKIT_BUILD_FUZZ=OFF \
        -DMMKIT_BUILD_BENCH=OFF -DMMKIT_BUILD_EXAMPLES=OFF
    run "$CMAKE" --build "$work/mmkit-build"
    run "$CMAKE" --install "$work/mmkit-build" --prefix "$prefix"
    [ ! -e "$work/wrong-prefix" ] || die "install wrote to CMAKE_INSTALL_PREFIX despite --prefix"
    # every header of the source tree, and nothing else, under include/mmkit
    expected=$(cd "$root/include/mmkit" && ls ./*.h | sort)
    got=$(cd "$prefix/include/mmkit" && ls ./* | sort) || die "no $prefix/include/mmkit"
    [ "$expected" = "$got" ] || die "installed headers differ: expected [$expected] got [$got]"
    say "installed:"
    (cd "$prefix" && find . -type f | sort | sed 's/^/    /')
}

way_find_package() {
    prefix="$work/prefix"
    install_mmkit "$prefix"
    run "$CMAKE" -S "$here/find_package" -B "$work/consumer-build" -DCMAKE_PREFIX_PATH="$prefix"
    # the package must have come from our prefix, not from a system-wide install
    dir=$(sed -n 's/^mmkit_DIR:PATH=//p' "$work/consumer-build/CMakeCache.txt")
    case $dir in
    "$prefix"/*) say "mmkit_DIR=$dir" ;;
    *) die "find_package found mmkit in '$dir', not under $prefix" ;;
    esac
    run "$CMAKE" --build "$work/consumer-build"
    check_output "$work/consumer-build/consumer"
}

way_add_subdirectory() {
    run "$CMAKE" -S "$here/add_subdirectory" -B "$work/consumer-build" \
        -DMMKIT_DIR_UNDER_TEST="$root"
    run "$CMAKE" --build "$work/consumer-build"
    check_output "$work/consumer-build/consumer"
    prefix="$work/prefix"
    run "$CMAKE" --install "$work/consumer-build" --prefix "$prefix"
    files=$(cd "$prefix" && find . -type f -o -type l | sort)
    say "installed: $files"
    [ "$files" = "./bin/consumer" ] ||
        die "expected only ./bin/consumer to be installed, got: $files"
}

way_pkgconfig() {
    if ! command -v pkg-config >/dev/null 2>&1; then
        echo "SKIPPED: pkg-config not found (Debian: apt-get install pkg-config)"
        exit 77
    fi
    prefix="$work/prefix"
    install_mmkit "$prefix"
    pcdir=""
    for d in "$prefix/share/pkgconfig" "$prefix/lib/pkgconfig"; do
        [ -f "$d/mmkit.pc" ] && pcdir=$d
    done
    [ -n "$pcdir" ] || die "mmkit.pc not installed under share/pkgconfig or lib/pkgconfig"
    say "$pcdir/mmkit.pc:"
    sed 's/^/    /' "$pcdir/mmkit.pc"
    if grep -q '^Libs' "$pcdir/mmkit.pc"; then
        die "mmkit.pc has a Libs line; mmkit is header-only"
    fi
    PKG_CONFIG_PATH=$pcdir
    export PKG_CONFIG_PATH
    run pkg-config --exists --print-errors mmkit || die "pkg-config cannot find mmkit"
    version=$(pkg-config --modversion mmkit)
    cflags=$(pkg-config --cflags mmkit)
    libs=$(pkg-config --libs mmkit)
    say "modversion='$version' cflags='$cflags' libs='$libs'"
    # strip trailing blanks pkg-config may add
    cflags=$(echo "$cflags" | sed 's/[[:space:]]*$//')
    libs=$(echo "$libs" | sed 's/[[:space:]]*$//')
    [ "$cflags" = "-I$prefix/include" ] || die "cflags '$cflags' != '-I$prefix/include'"
    [ -z "$libs" ] || die "libs should be empty, got '$libs'"
    [ -n "$version" ] || die "empty modversion"
    # shellcheck disable=SC2086
    run "$CC" $cflags "$here/consumer.c" -o "$work/consumer" $libs
    check_output "$work/consumer"
}

case $way in
find_package | add_subdirectory | pkgconfig)
    "way_$way"
    ;;
all)
    for w in find_package add_subdirectory pkgconfig; do
        MMKIT_CONSUME_WORKDIR="$work/$w" sh "$0" "$w" || exit 1
    done
    ;;
*)
    echo "unknown way '$way' (find_package, add_subdirectory, pkgconfig, all)" >&2
    exit 2
    ;;
esac
say "PASSED"
