# mmkit_slab.h: unit tests (plain and MMKIT_DEBUG=1), the multi-threaded stress test (plain and
# under ThreadSanitizer).
mmkit_add_cmocka_test(test_slab SOURCES test_slab.c)
mmkit_add_cmocka_test(test_slab_debug SOURCES test_slab.c DEFINITIONS MMKIT_DEBUG=1)
if(EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/test_slab_threads.c")
  mmkit_add_cmocka_test(test_slab_threads SOURCES test_slab_threads.c LIBRARIES Threads::Threads)
  mmkit_add_tsan_test(test_slab_threads_tsan SOURCES test_slab_threads.c)
endif()
