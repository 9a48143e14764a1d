# bench_slab: mmkit_slab vs glibc malloc, jemalloc, mimalloc and tcmalloc (the peers run in child
# processes with LD_PRELOAD; missing peers are reported as such). bench/slab_callgrind.sh
# counts instructions per alloc+free pair.
mmkit_add_bench(bench_slab)
target_link_libraries(bench_slab PRIVATE ${CMAKE_DL_LIBS})
