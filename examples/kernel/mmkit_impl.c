/* mmkit_impl.c - the one translation unit of the hobby kernel that holds mmkit's function
 * bodies (every other file includes the headers for the declarations only). */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>
#include <mmkit/mmkit_pagetable.h>
#include <mmkit/mmkit_tlb.h>
#include <mmkit/mmkit_cow.h>
#include <mmkit/mmkit_lru.h>
#include <mmkit/mmkit_oom.h>
