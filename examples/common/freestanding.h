/* freestanding.h - the small C library every freestanding image QEMU runs links (the boot-test
 * kernels of tests/boot, the firmware example, the two hobby kernels, their user programs).
 * One copy of each piece; examples/common/README.md says why they live here.
 *
 *   libc.c      memset memcpy memmove memcmp: the compiler emits calls to them for struct
 *               copies and zeroing even with -ffreestanding, and mmkit's MMKIT_MEMSET /
 *               MMKIT_MEMCPY default to __builtin_memset / __builtin_memcpy, which may become
 *               calls. Needs nothing else (the user images link it alone).
 *   console.c   kputs kline kput_hex kput_dec kstrlen kword kutoa, on the image's kputc()
 *   kprintf.c   kprintf ksnprintf (the hobby kernels; on console.c)
 *
 * All of it compiles for riscv64, x86-64 and i386 with 32-bit division only (no __udivdi3 on
 * i386). The images are compiled with -ffreestanding, which implies -fno-builtin: clang then
 * does not recognise the loops of libc.c as memset/memcpy idioms and turn them back into calls
 * to themselves. Not thread-safe (ksnprintf has one static sink); none of the images runs
 * two harts or prints from an interrupt while printing. */
#ifndef MMKIT_EXAMPLES_FREESTANDING_H
#define MMKIT_EXAMPLES_FREESTANDING_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* libc.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* The image provides the console: one character out ('\n' as the device wants it). */
void kputc(char c);

/* console.c */
void kputs(const char *s);
void kline(const char *s);              /* s + '\n' */
void kput_hex(uint64_t v);              /* 0x-prefixed, no leading zeros */
void kput_dec(uint64_t v);
size_t kstrlen(const char *s);
/* Whether the space-separated list s (a command line; NULL = empty) has the word w. */
bool kword(const char *s, const char *w);
/* v's digits in base 2..16, least significant first, into buf; returns how many (1..64). */
unsigned kutoa(char buf[64], uint64_t v, unsigned base);

/* kprintf.c: %s %c %d %u %x %p and %%, with a width, '-' (left) and '0' (zero pad); `l`
 * (any number of them) takes an int64_t / uint64_t. ksnprintf always terminates (size > 0). */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
