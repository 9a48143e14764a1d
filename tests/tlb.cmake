# mmkit_tlb.h: gather, ASID allocators, software TLB (included by tests/CMakeLists.txt).
mmkit_add_cmocka_test(test_tlb SOURCES test_tlb.c)
mmkit_add_cmocka_test(test_tlb_debug SOURCES test_tlb.c DEFINITIONS MMKIT_DEBUG=1)
