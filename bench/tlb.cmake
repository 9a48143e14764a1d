# mmkit_tlb.h benchmarks (included by bench/CMakeLists.txt).
mmkit_add_bench(bench_tlb)
