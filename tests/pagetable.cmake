# mmkit_pagetable.h: unit tests (included by tests/CMakeLists.txt).
mmkit_add_cmocka_test(test_pagetable SOURCES test_pagetable.c)
mmkit_add_cmocka_test(test_pagetable_debug SOURCES test_pagetable.c DEFINITIONS MMKIT_DEBUG=1)
