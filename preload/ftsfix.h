/*
 * ftsfix.h - an entry of glibc's fts as a stat would show it (fts.c, and
 * time64.c for the 32-bit _TIME_BITS=64 entry points).
 */
#ifndef FB_FTSFIX_H
#define FB_FTSFIX_H

#include <fcntl.h>
#include <fts.h>
#include <sys/sysmacros.h>

#include "statfill.h"

static inline int fb_fts_has_stat(int info)
{
	switch (info) {
	case FTS_D: case FTS_DC: case FTS_DP: case FTS_F: case FTS_SL:
	case FTS_SLNONE: case FTS_DEFAULT: case FTS_DOT:
		return 1;
	}
	return 0;
}

/*
 * Re-stat one entry through the faked core (fts_accpath is valid from the
 * current directory).  A bound device's is the placeholder's, whole: its
 * times and size too.
 */
#define FB_FTS_FIX(p, statfield_t)                                                  \
	do {                                                                        \
		struct statx x;                                                     \
		statfield_t *st = (p)->fts_statp;                                   \
		int fl = S_ISLNK(st->st_mode) ? AT_SYMLINK_NOFOLLOW : 0;            \
		if (fb_statx_core(AT_FDCWD, (p)->fts_accpath, fl, FB_STATX_MASK, &x) < 0) \
			break;                                                      \
		if (x.stx_ino == st->st_ino) {                                      \
			st->st_dev = makedev(x.stx_dev_major, x.stx_dev_minor);     \
			st->st_uid = x.stx_uid;                                     \
			st->st_gid = x.stx_gid;                                     \
			st->st_mode = x.stx_mode;                                   \
			st->st_rdev = makedev(x.stx_rdev_major, x.stx_rdev_minor);   \
		} else if (fb_dev_seen_over(st->st_mode, st->st_rdev, &x)) {        \
			int rc = 0;                                                 \
			FB_FILL_STAT(st, &x, 0);                                    \
			(void)rc;                                                   \
		}                                                                   \
		/* fts's type for what it took for a file: a device placeholder */ \
		if ((p)->fts_info == FTS_F && !S_ISREG(st->st_mode))               \
			(p)->fts_info = FTS_DEFAULT;                                \
	} while (0)

/*
 * The wrappers of READ and CHILDREN, glibc's fts_read and fts_children
 * for FTS_T and FTSENT_T, each entry fixed with FIX.  Under FTS_NOSTAT
 * glibc never sets an entry's fts_statp (it is what malloc left there,
 * whatever fts_info says), and nothing is to be fixed.
 */
#define FB_FTS_WRAPPERS(read, children, FTS_T, FTSENT_T, fix)                       \
	FB_EXPORT FTSENT_T *read(FTS_T *f)                                          \
	{                                                                           \
		FB_REAL(read);                                                      \
		if (!real_##read) {                                                 \
			errno = ENOSYS;                                             \
			return NULL;                                                \
		}                                                                   \
		FTSENT_T *p = real_##read(f);                                       \
		if (p && !(f->fts_options & FTS_NOSTAT) && fb_enter()) {            \
			int e = errno;                                              \
			fix(p);                                                     \
			errno = e;                                                  \
		}                                                                   \
		return p;                                                           \
	}                                                                           \
	FB_EXPORT FTSENT_T *children(FTS_T *f, int opt)                             \
	{                                                                           \
		FB_REAL(children);                                                  \
		if (!real_##children) {                                             \
			errno = ENOSYS;                                             \
			return NULL;                                                \
		}                                                                   \
		FTSENT_T *p = real_##children(f, opt);                              \
		if (p && !(f->fts_options & FTS_NOSTAT) && fb_enter() &&            \
		    !(opt & FTS_NAMEONLY)) {                                        \
			int e = errno;                                              \
			for (FTSENT_T *q = p; q; q = q->fts_link)                   \
				fix(q);                                             \
			errno = e;                                                  \
		}                                                                   \
		return p;                                                           \
	}

#endif
