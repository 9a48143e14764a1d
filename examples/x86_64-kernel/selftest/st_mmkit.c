/* st_mmkit.c - the one translation unit of the arch self-test with mmkit's function bodies. */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>
#include <mmkit/mmkit_pagetable.h>
#include <mmkit/mmkit_tlb.h>
#include <mmkit/mmkit_cow.h>
