#!/bin/sh
# Timed fuzzing campaign for one mmkit harness.
#
#   sh fuzz/campaign.sh [libfuzzer|afl] SECONDS [HARNESS]
#
#   libfuzzer  clang -fsanitize=fuzzer,address,undefined
#   afl        afl-clang-fast -fsanitize=fuzzer with AFL_USE_ASAN/AFL_USE_UBSAN, afl-fuzz -V SECONDS
#   HARNESS    module name; fuzz/fuzz_<HARNESS>.c and fuzz/corpus/<HARNESS> (default: buddy)
#
# The committed corpus is only read (as seeds). Everything the campaign produces - binaries,
# new inputs, crashes, logs - goes to fuzz/scratch/<engine>-<HARNESS>/ (git-ignored, wiped at
# the start of each run; override with MMKIT_FUZZ_SCRATCH). At the end it prints executions
# and coverage, and exits 1 if a crash or sanitizer report was found.
#
# To add interesting new inputs to the committed corpus afterwards (libFuzzer):
#   fuzz/scratch/libfuzzer-buddy/fuzz_buddy -merge=1 fuzz/corpus/buddy fuzz/scratch/libfuzzer-buddy/corpus
set -eu

usage() {
    echo "usage: $0 [libfuzzer|afl] SECONDS [HARNESS]" >&2
    exit 2
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
engine=$1
seconds=$2
name=${3:-buddy}
case $engine in libfuzzer | afl) ;; *) usage ;; esac
case $seconds in '' | *[!0-9]*) usage ;; esac
[ "$seconds" -gt 0 ] || usage

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
harness="$here/fuzz_$name.c"
corpus="$here/corpus/$name"
scratch=${MMKIT_FUZZ_SCRATCH:-$here/scratch/$engine-$name}

[ -f "$harness" ] || {
    echo "no harness $harness" >&2
    exit 2
}

rm -rf "$scratch"
mkdir -p "$scratch"
bin="$scratch/fuzz_$name"
CFLAGS_COMMON="-g -O1 -fno-omit-frame-pointer -I$root/include"

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "$1 not found; Debian: apt-get install $2" >&2
        exit 2
    }
}

# Seeds: the committed corpus, or a single empty input when there is none yet.
seeds="$scratch/seeds"
mkdir -p "$seeds"
if [ -d "$corpus" ] && [ -n "$(ls -A "$corpus" 2>/dev/null)" ]; then
    cp -R "$corpus"/. "$seeds"/
else
    echo "note: $corpus is empty or missing; starting from an empty input"
    : >"$seeds/empty"
fi
# a zero-length seed makes afl-fuzz refuse to start
find "$seeds" -type f -size 0 -exec sh -c 'printf "\0" > "$1"' sh {} \;

status=0
if [ "$engine" = libfuzzer ]; then
    need clang "clang libclang-rt-dev"
    echo "building $bin (libFuzzer + ASan + UBSan)"
    # shellcheck disable=SC2086
    clang $CFLAGS_COMMON -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        "$harness" -o "$bin"
    mkdir -p "$scratch/corpus" "$scratch/artifacts"
    log="$scratch/libfuzzer.log"
    echo "running libFuzzer for ${seconds}s; log: $log"
    # New inputs go to the first (scratch) directory; the seeds directory is only read.
    "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
        -artifact_prefix="$scratch/artifacts/" "$scratch/corpus" "$seeds" >"$log" 2>&1 || status=$?
    echo "---- libFuzzer summary ----"
    grep -E '^#[0-9]+' "$log" | grep -E 'cov:' | tail -n 1 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)' "$log" || true
    echo "new corpus entries: $(find "$scratch/corpus" -type f | wc -l) in $scratch/corpus"
    crashes=$(find "$scratch/artifacts" -type f | wc -l)
    if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        echo "---- FAILURE (exit $status) ----"
        grep -E -A 30 '==ERROR|runtime error|deadly signal|ERROR: libFuzzer' "$log" | head -n 60 || true
        echo "artifacts:"
        find "$scratch/artifacts" -type f | sed 's/^/  /'
        echo "reproduce: $bin <artifact>"
        exit 1
    fi
else
    need afl-clang-fast afl++
    need afl-fuzz afl++
    echo "building $bin (afl-clang-fast -fsanitize=fuzzer, AFL_USE_ASAN=1, AFL_USE_UBSAN=1)"
    # shellcheck disable=SC2086
    AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 \
        afl-clang-fast $CFLAGS_COMMON -fsanitize=fuzzer "$harness" -o "$bin"
    out="$scratch/afl-out"
    log="$scratch/afl.log"
    echo "running afl-fuzz for ${seconds}s; log: $log"
    # Non-interactive, container-friendly settings. -V stops after SECONDS.
    AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
        AFL_NO_AFFINITY=1 \
        afl-fuzz -i "$seeds" -o "$out" -V "$seconds" -m none -t 1000 -- "$bin" >"$log" 2>&1 ||
        status=$?
    stats="$out/default/fuzzer_stats"
    echo "---- afl summary ----"
    if [ -f "$stats" ]; then
        grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|bitmap_cvg|edges_found|total_edges|saved_crashes|unique_crashes|saved_hangs|unique_hangs)[[:space:]]*:' "$stats" || true
    else
        echo "no $stats; afl-fuzz output:"
        tail -n 40 "$log"
        exit 1
    fi
    # afl-fuzz has exited by now: -d makes afl-whatsup count the finished ("dead") instance
    if command -v afl-whatsup >/dev/null 2>&1; then
        TERM=dumb afl-whatsup -s -d "$out" 2>/dev/null | grep -Ei 'run time|execs|crashes' || true
    fi
    # afl-fuzz's own closing line (with colour codes removed)
    grep -a 'Statistics:' "$log" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g' || true
    crashes=$(find "$out/default/crashes" -type f ! -name README.txt 2>/dev/null | wc -l)
    if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        echo "---- FAILURE (afl-fuzz exit $status, $crashes crashes) ----"
        [ "$status" -ne 0 ] && tail -n 40 "$log"
        find "$out/default/crashes" -type f ! -name README.txt 2>/dev/null | sed 's/^/  /'
        echo "reproduce: $bin <crash file>"
        exit 1
    fi
fi
echo "campaign finished without crashes; scratch: $scratch"
