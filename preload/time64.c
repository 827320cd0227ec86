/*
 * time64.c - the stat family and tree walkers of 32-bit programs built
 * with a 64-bit time_t (_TIME_BITS=64, which gnulib's year2038 module
 * turns on: Debian 12's i386 coreutils, findutils and tar among them).
 * glibc 2.34 gives them other entry points, __stat64_time64,
 * __nftw64_time64, __fts64_read_time64 and their kin, with a struct stat
 * of 64-bit times, sizes and inode numbers, and __utimensat64 and its
 * kin.  This file is compiled with those types (the definitions below,
 * before any header), so its struct stat is theirs; on a 64-bit system
 * it adds nothing.  Cores: stat.c's, ftw.c's,
 * fts.c's and dev.c's.
 */
#define _FILE_OFFSET_BITS 64
#define _TIME_BITS 64
#include <fcntl.h>
#include <sys/stat.h>

#include "fb.h"
#include "ftsfix.h"
#include "statfill.h"
#include "settimes.h"
#include "walk.h"

#if __TIMESIZE == 32

int __stat64_time64(const char *path, struct stat *st);
int __lstat64_time64(const char *path, struct stat *st);
int __fstat64_time64(int fd, struct stat *st);
int __fstatat64_time64(int dirfd, const char *path, struct stat *st, int flags);

_Static_assert(sizeof(((struct stat *)0)->st_mtim.tv_sec) == 8, "a 64-bit time_t");
_Static_assert(sizeof(((struct stat *)0)->st_size) == 8, "a 64-bit off_t");

static int stat_t64_core(int dirfd, const char *path, struct stat *st, int flags)
{
	struct statx x;
	int rc = fb_statx_core(dirfd, path, flags, FB_STATX_MASK, &x);
	if (rc == 0)
		FB_FILL_STAT(st, &x, 1);
	return rc;
}

FB_EXPORT int __fstatat64_time64(int dirfd, const char *path, struct stat *st, int flags)
{
	FB_PROLOGUE(__fstatat64_time64, dirfd, path, st, flags);
	return fb_ret(stat_t64_core(dirfd, path, st, flags));
}

FB_EXPORT int __stat64_time64(const char *path, struct stat *st)
{
	FB_PROLOGUE(__stat64_time64, path, st);
	return fb_ret(stat_t64_core(AT_FDCWD, path, st, 0));
}

FB_EXPORT int __lstat64_time64(const char *path, struct stat *st)
{
	FB_PROLOGUE(__lstat64_time64, path, st);
	return fb_ret(stat_t64_core(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW));
}

FB_EXPORT int __fstat64_time64(int fd, struct stat *st)
{
	FB_PROLOGUE(__fstat64_time64, fd, st);
	return fb_ret(stat_t64_core(fd, "", st, AT_EMPTY_PATH));
}

/*
 * The tree walkers.  Their headers name them nftw and ftw here, callbacks
 * given this file's struct stat; the walk is ftw.c's (see there).
 */
int __nftw64_time64(const char *path, __nftw_func_t fn, int nd, int flags);
int __ftw64_time64(const char *path, __ftw_func_t fn, int nd);

FB_WALK_TRAMPOLINE(tramp_t64, struct stat, __nftw_func_t, __ftw_func_t)

FB_WALK_NFTW(__nftw64_time64, __nftw_func_t, tramp_t64)
FB_WALK_FTW(__ftw64_time64, __ftw_func_t, __nftw64_time64, tramp_t64)

/* fts: its headers name the entry points fts_read and fts_children here. */
FTSENT *__fts64_read_time64(FTS *f);
FTSENT *__fts64_children_time64(FTS *f, int opt);

static void fix_t64(FTSENT *p)
{
	if (p && p->fts_statp && fb_fts_has_stat(p->fts_info))
		FB_FTS_FIX(p, struct stat);
}

FB_FTS_WRAPPERS(__fts64_read_time64, __fts64_children_time64, FTS, FTSENT, fix_t64)

/* Setting times (utime.c): glibc 2.34's names for them here. */
int __utimensat64(int dirfd, const char *path, const struct timespec ts[2], int flags);
int __utimes64(const char *path, const struct timeval tv[2]);
int __lutimes64(const char *path, const struct timeval tv[2]);
int __utime64(const char *path, const struct utimbuf *b);
int __futimens64(int fd, const struct timespec ts[2]);
int __futimes64(int fd, const struct timeval tv[2]);

FB_UTIME_WRAPPERS(__utimensat64, __utimes64, __lutimes64, __utime64, __futimens64, __futimes64)

#endif
