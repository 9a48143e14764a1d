#!/bin/sh
# Make sure the Debian packages the build and tests need are installed.
#
#   sh tests/ensure_packages.sh PACKAGE...
#
# PACKAGE is a Debian package name, or @clang-rt for "libclang-rt-<N>-dev matching the installed
# clang" (sanitizer and libFuzzer runtimes for clang). Presence is detected cheaply (command -v
# for tools, dpkg-query for libraries), so a machine that has everything never runs apt.
# Missing packages are installed with apt-get (one `apt-get update`, then
# `apt-get install -y --no-install-recommends`) when running as root; otherwise the script
# names them and exits 1.
set -eu

# probe PACKAGE: exit 0 when the package (or what we need from it) is present.
probe() {
    case $1 in
    cmake) command -v cmake ;;
    gcc) command -v gcc ;;
    g++) command -v g++ ;;
    clang) command -v clang && command -v clang++ ;;
    lld) command -v ld.lld ;;
    llvm) command -v llvm-nm ;;
    pkg-config) command -v pkg-config ;;
    afl++) command -v afl-clang-fast && command -v afl-fuzz ;;
    make) command -v make ;;
    qemu-system-misc) command -v qemu-system-riscv64 ;;
    qemu-system-x86) command -v qemu-system-x86_64 ;;
    ninja-build) command -v ninja ;;
    binutils) command -v nm && command -v objdump ;;
    lcov) command -v lcov && command -v genhtml ;;
    gcovr) command -v gcovr ;;
    libcmocka-dev)
        if command -v dpkg-query >/dev/null 2>&1; then
            dpkg_installed libcmocka-dev
        else
            pkg-config --exists cmocka 2>/dev/null
        fi
        ;;
    *)
        # libraries and multilib: ask dpkg; without dpkg we cannot tell, assume present
        if command -v dpkg-query >/dev/null 2>&1; then
            dpkg_installed "$1"
        else
            true
        fi
        ;;
    esac
}

dpkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# clang_rt_package: name of the runtime package matching the installed clang
clang_rt_package() {
    major=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
    if [ -n "$major" ]; then
        echo "libclang-rt-$major-dev"
    else
        echo "libclang-rt-dev"
    fi
}

# multilib packages only exist on amd64
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)

missing=""
want_rt=0
for p in "$@"; do
    case $p in
    @clang-rt)
        want_rt=1
        continue
        ;;
    gcc-multilib)
        case $arch in amd64 | x86_64) ;; *) continue ;; esac
        ;;
    esac
    probe "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ "$want_rt" = 1 ] && command -v clang >/dev/null 2>&1; then
    rt=$(clang_rt_package)
    probe "$rt" >/dev/null 2>&1 || missing="$missing $rt"
    want_rt=0
fi

if [ -z "$missing" ] && [ "$want_rt" = 0 ]; then
    exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    [ "$want_rt" = 1 ] && missing="$missing libclang-rt-<clang major version>-dev"
    echo "mmkit: missing packages:$missing" >&2
    if command -v apt-get >/dev/null 2>&1; then
        echo "mmkit: install them as root:  apt-get install --no-install-recommends$missing" >&2
        echo "mmkit: (or run this script as root, which installs them itself)" >&2
    else
        echo "mmkit: this is not a Debian-like system; install the equivalents by hand" >&2
    fi
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "mmkit: installing:$missing"
apt-get update -q
available=""
for p in $missing; do
    if apt-cache show "$p" >/dev/null 2>&1; then
        available="$available $p"
    else
        echo "mmkit: warning: apt knows no package '$p'; skipping it" >&2
    fi
done
if [ -n "$available" ]; then
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $available
fi
if [ "$want_rt" = 1 ]; then
    # clang was just installed: now we know which runtime package matches it
    rt=$(clang_rt_package)
    if ! probe "$rt" >/dev/null 2>&1; then
        if apt-cache show "$rt" >/dev/null 2>&1; then
            apt-get install -y -q --no-install-recommends "$rt"
        else
            echo "mmkit: note: no package $rt; assuming clang ships its runtimes itself" >&2
        fi
    fi
fi
