/*
 * util.h - small libc-only helpers shared by db/, the tools and preload/.
 */
#ifndef FB_UTIL_H
#define FB_UTIL_H

#include <stdint.h>

/* A strong 64-bit mixer (splitmix64's finaliser). */
static inline uint64_t fb_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

#endif
