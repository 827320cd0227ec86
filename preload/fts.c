/*
 * fts.c - glibc's fts stats files through internal calls we cannot
 * interpose, so the entries it returns are fixed up afterwards: each
 * entry's stat buffer is replaced by the faked one (ftsfix.h; the 32-bit
 * _TIME_BITS=64 entry points are in time64.c).
 */
#include <fcntl.h>
#include <fts.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fb.h"
#include "ftsfix.h"

static void fix(FTSENT *p)
{
	if (p && p->fts_statp && fb_fts_has_stat(p->fts_info))
		FB_FTS_FIX(p, struct stat);
}

static void fix64(FTSENT64 *p)
{
	if (p && p->fts_statp && fb_fts_has_stat(p->fts_info))
		FB_FTS_FIX(p, struct stat64);
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
