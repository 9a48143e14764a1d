# mmkit_slab.h: unit tests (plain and MMKIT_DEBUG=1), the multi-threaded stress test (plain and
# under ThreadSanitizer).
mmkit_add_cmocka_test(test_slab SOURCES test_slab.c)
mmkit_add_cmocka_test(test_slab_debug SOURCES test_slab.c DEFINITIONS MMKIT_DEBUG=1)
if(EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/test_slab_threads.c")
  mmkit_add_cmocka_test(test_slab_threads SOURCES test_slab_threads.c LIBRARIES Threads::Threads)
  mmkit_add_tsan_test(test_slab_threads_tsan SOURCES test_slab_threads.c)
endif()

# The fuzz corpus replayed with MMKIT_DEBUG=1 as well (poisoning, red zones, exact double frees);
# the plain replay is registered by fuzz/CMakeLists.txt.
add_executable(fuzz_slab_replay_debug ../fuzz/fuzz_slab.c ../fuzz/replay_main.c)
mmkit_setup_target(fuzz_slab_replay_debug)
target_compile_definitions(fuzz_slab_replay_debug PRIVATE MMKIT_DEBUG=1)
add_test(NAME fuzz_slab_corpus_debug
         COMMAND fuzz_slab_replay_debug "${PROJECT_SOURCE_DIR}/fuzz/corpus/slab")
set_tests_properties(fuzz_slab_corpus_debug PROPERTIES LABELS fuzz TIMEOUT ${MMKIT_TEST_TIMEOUT})
if(MMKIT_SANITIZER_ENV)
  set_tests_properties(fuzz_slab_corpus_debug PROPERTIES ENVIRONMENT "${MMKIT_SANITIZER_ENV}")
endif()
