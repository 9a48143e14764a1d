# mmkit_pagetable.h benchmark (included by bench/CMakeLists.txt).
mmkit_add_bench(bench_pagetable)
