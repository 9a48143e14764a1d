/* mmkit_impl.c - the one translation unit that compiles the mmkit function bodies. */
#define MMKIT_IMPLEMENTATION
#include "demo.h"
