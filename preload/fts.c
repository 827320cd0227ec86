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

FB_FTS_WRAPPERS(fts_read, fts_children, FTS, FTSENT, fix)
FB_FTS_WRAPPERS(fts64_read, fts64_children, FTS64, FTSENT64, fix64)
