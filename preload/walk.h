/*
 * walk.h - the trampoline of glibc's tree walkers (ftw.c), shared with the
 * 32-bit _TIME_BITS=64 entry points (ftw_time64.c), whose struct stat is
 * another.  ftw.c keeps each thread's stack of running walks.
 */
#ifndef FB_WALK_H
#define FB_WALK_H

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>

#include "statfill.h"

/* The caller's callback, of whichever type its walk has. */
typedef void (*fb_walk_cb)(void);

struct walk {
	const struct FTW *ftw;	/* glibc's, from the walk's first callback; NULL before */
	int is_ftw;		/* the caller's callback is ftw's: three arguments */
	int flags;		/* the walk's FTW_* flags */
	fb_walk_cb cb;
};

/* An entry as glibc stat'ed it, then as a stat would show it now; WHOLE:
 * all of it is X (a bound device's placeholder, dev.c). */
struct fb_walk_ent {
	uint64_t dev, ino, rdev;
	uint32_t mode, uid, gid;
	int whole;
	struct statx x;
};

/* Start a walk: its index, or -1 when the stack is full. */
int fb_walk_push(int is_ftw, int flags, fb_walk_cb cb);
/* A walk started at index I has ended. */
void fb_walk_pop(int i);
/* The walk a callback given W belongs to; NULL if none is. */
struct walk *fb_walk_of(const struct FTW *w);
/* The name of entry PATH from the working directory, at a callback of type FLAG. */
const char *fb_walk_name(const struct walk *k, const char *path, int flag, const struct FTW *w);
/* E as a stat of NAME would show it now. */
void fb_walk_fake(const char *name, struct fb_walk_ent *e);
/* ftw's type flag for nftw's FLAG. */
int fb_walk_ftw_flag(int flag);

/*
 * The trampoline NAME for callbacks given a STAT_T, of type NFTW_FN or
 * FTW_FN.  Only FTW_NS comes without a stat (an FTW_SLN has the link's,
 * which ftw reports as FTW_NS).  The caller's errno is kept: an FTW_NS
 * or FTW_DNR callback may read it.
 */
#define FB_WALK_TRAMPOLINE(name, stat_t, nftw_fn, ftw_fn)                             \
	static int name(const char *path, const stat_t *st, int flag, struct FTW *w)  \
	{                                                                             \
		struct walk *k = fb_walk_of(w);                                       \
		if (!k) {                                                             \
			errno = ENOTRECOVERABLE;                                      \
			return -1;                                                    \
		}                                                                     \
		stat_t fixed;                                                         \
		if (flag != FTW_NS) {                                                 \
			int saved = errno;                                            \
			fixed = *st;                                                  \
			struct fb_walk_ent e = { .dev = fixed.st_dev, .ino = fixed.st_ino, \
						 .rdev = fixed.st_rdev, .mode = fixed.st_mode, \
						 .uid = fixed.st_uid, .gid = fixed.st_gid }; \
			fb_walk_fake(fb_walk_name(k, path, flag, w), &e);             \
			fixed.st_uid = e.uid;                                         \
			fixed.st_gid = e.gid;                                         \
			fixed.st_mode = e.mode;                                       \
			fixed.st_rdev = e.rdev;                                       \
			if (e.whole) {                                                \
				int rc = 0;                                           \
				FB_FILL_STAT(&fixed, &e.x, 0);                        \
				(void)rc;                                             \
			}                                                             \
			st = &fixed;                                                  \
			errno = saved;                                                \
		}                                                                     \
		if (k->is_ftw)                                                        \
			return ((ftw_fn)k->cb)(path, st, fb_walk_ftw_flag(flag));     \
		return ((nftw_fn)k->cb)(path, st, flag, w);                           \
	}

/*
 * The wrappers: NFTW, glibc's nftw for callbacks of type NFTW_FN, and FTW,
 * its ftw for FTW_FN, which runs as NFTW without flags (glibc's ftw is
 * just that, with its own type flags, which TRAMPOLINE gives), so that
 * its callbacks too get the struct FTW that names their walk.  Deeper
 * than the stack of walks, a walk runs unwrapped.
 */
#define FB_WALK_NFTW(nftw, nftw_fn, trampoline)                                       \
	FB_EXPORT int nftw(const char *path, nftw_fn fn, int nd, int flags)           \
	{                                                                             \
		FB_REAL(nftw);                                                        \
		if (!real_##nftw)                                                     \
			return fb_enosys(#nftw);                                      \
		int i_;                                                               \
		if (!fb_enter() || (i_ = fb_walk_push(0, flags, (fb_walk_cb)fn)) < 0) \
			return real_##nftw(path, fn, nd, flags);                      \
		int rc_ = real_##nftw(path, trampoline, nd, flags);                   \
		fb_walk_pop(i_);                                                      \
		return rc_;                                                           \
	}

#define FB_WALK_FTW(ftw, ftw_fn, nftw, trampoline)                                    \
	FB_EXPORT int ftw(const char *path, ftw_fn fn, int nd)                        \
	{                                                                             \
		FB_REAL(ftw);                                                         \
		FB_REAL(nftw);                                                        \
		if (!real_##ftw)                                                      \
			return fb_enosys(#ftw);                                       \
		int i_;                                                               \
		if (!fb_enter() || !real_##nftw ||                                    \
		    (i_ = fb_walk_push(1, 0, (fb_walk_cb)fn)) < 0)                    \
			return real_##ftw(path, fn, nd);                              \
		int rc_ = real_##nftw(path, trampoline, nd, 0);                       \
		fb_walk_pop(i_);                                                      \
		return rc_;                                                           \
	}

#endif
