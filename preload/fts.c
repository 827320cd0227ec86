/*
 * fts.c - glibc's fts stats files through internal calls we cannot
 * interpose, so the entries it returns are fixed up afterwards: each
 * entry's stat buffer is replaced by the faked one.
 */
#include <fcntl.h>
#include <fts.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fb.h"

static int has_stat(int info)
{
	switch (info) {
	case FTS_D: case FTS_DC: case FTS_DP: case FTS_F: case FTS_SL:
	case FTS_SLNONE: case FTS_DEFAULT: case FTS_DOT:
		return 1;
	}
	return 0;
}

/* fts saw the device bound over a placeholder, the faked stat the placeholder (dev.c). */
static int bound_dev(mode_t mode, dev_t rdev, const struct statx *x)
{
	return S_ISCHR(mode) && S_ISCHR(x->stx_mode) &&
	       rdev == makedev(x->stx_rdev_major, x->stx_rdev_minor);
}

/* Re-stat one entry through the faked core (fts_accpath is valid from the current directory). */
#define FIX_ENT(p, statfield_t)                                                     \
	do {                                                                        \
		struct statx x;                                                     \
		statfield_t *st = (p)->fts_statp;                                   \
		int fl = S_ISLNK(st->st_mode) ? AT_SYMLINK_NOFOLLOW : 0;            \
		if (fb_statx_core(AT_FDCWD, (p)->fts_accpath, fl, FB_STATX_MASK, &x) == 0 && \
		    (x.stx_ino == st->st_ino || bound_dev(st->st_mode, st->st_rdev, &x))) { \
			st->st_dev = makedev(x.stx_dev_major, x.stx_dev_minor);     \
			st->st_ino = x.stx_ino;                                     \
			st->st_uid = x.stx_uid;                                     \
			st->st_gid = x.stx_gid;                                     \
			st->st_mode = x.stx_mode;                                   \
			st->st_rdev = makedev(x.stx_rdev_major, x.stx_rdev_minor);   \
		}                                                                   \
	} while (0)

static void fix(FTSENT *p)
{
	if (p && p->fts_statp && has_stat(p->fts_info))
		FIX_ENT(p, struct stat);
}

static void fix64(FTSENT64 *p)
{
	if (p && p->fts_statp && has_stat(p->fts_info))
		FIX_ENT(p, struct stat64);
}

FB_EXPORT FTSENT *fts_read(FTS *f)
{
	FB_REAL(fts_read);
	if (!real_fts_read) {
		errno = ENOSYS;
		return NULL;
	}
	FTSENT *p = real_fts_read(f);
	if (p && fb_enter()) {
		int e = errno;
		fix(p);
		errno = e;
	}
	return p;
}

FB_EXPORT FTSENT *fts_children(FTS *f, int opt)
{
	FB_REAL(fts_children);
	if (!real_fts_children) {
		errno = ENOSYS;
		return NULL;
	}
	FTSENT *p = real_fts_children(f, opt);
	if (p && fb_enter() && !(opt & FTS_NAMEONLY)) {
		int e = errno;
		for (FTSENT *q = p; q; q = q->fts_link)
			fix(q);
		errno = e;
	}
	return p;
}

FB_EXPORT FTSENT64 *fts64_read(FTS64 *f)
{
	FB_REAL(fts64_read);
	if (!real_fts64_read) {
		errno = ENOSYS;
		return NULL;
	}
	FTSENT64 *p = real_fts64_read(f);
	if (p && fb_enter()) {
		int e = errno;
		fix64(p);
		errno = e;
	}
	return p;
}

FB_EXPORT FTSENT64 *fts64_children(FTS64 *f, int opt)
{
	FB_REAL(fts64_children);
	if (!real_fts64_children) {
		errno = ENOSYS;
		return NULL;
	}
	FTSENT64 *p = real_fts64_children(f, opt);
	if (p && fb_enter() && !(opt & FTS_NAMEONLY)) {
		int e = errno;
		for (FTSENT64 *q = p; q; q = q->fts_link)
			fix64(q);
		errno = e;
	}
	return p;
}
