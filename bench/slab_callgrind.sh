#!/bin/sh
# Instructions per alloc+free pair on the hot path, counted exactly by callgrind.
#
#   sh bench/slab_callgrind.sh [path/to/bench_slab]     (default: build it with cc -O2)
#
# For every allocator and size, bench_slab --callgrind runs only the tight alloc+free loop
# (the function tight_loop_<allocator>; callgrind counts it and everything it calls). Each is
# run with 100,000 and 200,000 pairs and the difference is divided by 100,000, so one-time
# costs (first slab, magazine fill, the peers' initialisation) cancel out.
# "harness" is the loop with a dummy allocator: subtract it to get the allocator alone.
# Needs valgrind; peers that are not installed are reported as such.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$bin" ]; then
    bin="$work/bench_slab"
    ${CC:-cc} -O2 -I"$here/../include" "$here/bench_slab.c" -o "$bin" -ldl
fi
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }

# count WHO SIZE PAIRS [PRELOAD]: instructions in tight_loop_* for that run
count() {
    out="$work/cg.$1.$2.$3"
    LD_PRELOAD=${4:-} valgrind --tool=callgrind --toggle-collect='tight_loop_*' \
        --callgrind-out-file="$out" "$bin" --callgrind "$1" "$2" "$3" >/dev/null 2>&1 || return 1
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out"
}

printf '| allocator | %s |\n|---|--:|--:|--:|\n' "64 B | 256 B | 1024 B"
for who in harness kmalloc cache glibc jemalloc mimalloc tcmalloc; do
    case $who in
    jemalloc) lib=libjemalloc.so.2 ;;
    mimalloc) lib=libmimalloc.so.2 ;;
    tcmalloc) lib=libtcmalloc_minimal.so.4 ;;
    *) lib= ;;
    esac
    row="| $who |"
    for size in 64 256 1024; do
        if a=$(count "$who" "$size" 100000 "$lib") && b=$(count "$who" "$size" 200000 "$lib") &&
            [ -n "$a" ] && [ -n "$b" ]; then
            row="$row $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (b - a) / 100000 }') |"
        else
            row="$row n/a |"
        fi
    done
    echo "$row"
done
