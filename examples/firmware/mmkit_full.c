/* mmkit_full.c - not part of the image: the code-size reference for the README.
 *
 * buddy + slab compiled exactly as shipped (MMKIT_IMPLEMENTATION without MMKIT_STATIC), so
 * every public function is emitted and kept: the size of the whole of both modules. The
 * firmware's own TU (fw_main.c, MMKIT_STATIC) keeps only what it calls. The code-size test
 * also checks that this object needs nothing from outside but memset/memcpy/memmove/memcmp
 * (no libgcc/compiler-rt helper such as __udivdi3 on i386, no assert, no abort). */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>
