/*
 * util.h - small libc-only helpers shared by db/, the tools and preload/.
 */
#ifndef FB_UTIL_H
#define FB_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14; older kernels refuse it, harmlessly */
#endif

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

/*
 * Map the writable memory [P, P + N) with one call instead of a page fault
 * per page (about 15 us each on a VM).  A kernel that refuses leaves the
 * faults to happen as before (0).  In a file mapping the pages get their
 * blocks now: where a store would raise SIGBUS (a full file system, a
 * quota) the kernel says EFAULT, returned as -ENOSPC.
 */
static inline int fb_populate(void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
	if (madvise((void *)a, (uintptr_t)p + n - a, MADV_POPULATE_WRITE) < 0 && errno == EFAULT)
		return -ENOSPC;
	return 0;
}

#endif
