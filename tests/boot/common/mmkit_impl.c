/* mmkit_impl.c - the one translation unit of each 64-bit boot kernel that holds mmkit's
 * function bodies (every other file includes the headers for the declarations only). */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_pagetable.h>
#include <mmkit/mmkit_cow.h>
