/*
 * stat.c - the stat family.  One core, fb_statx_core(): the real statx
 * (one system call, which also brings the birth time that detects inode
 * reuse), then the fake view from the live table (lock-free, no system
 * call).  Every entry point converts from struct statx.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fb.h"
#include "statfill.h"

/* Old glibc entry points: no longer declared by the headers. */
int __xstat(int ver, const char *path, struct stat *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);

static void stat_to_statx(const struct stat64 *st, struct statx *x)
{
	memset(x, 0, sizeof *x);
	x->stx_mask = STATX_BASIC_STATS;
	x->stx_dev_major = major(st->st_dev);
	x->stx_dev_minor = minor(st->st_dev);
	x->stx_ino = st->st_ino;
	x->stx_mode = (__u16)st->st_mode;
	x->stx_nlink = (__u32)st->st_nlink;
	x->stx_uid = st->st_uid;
	x->stx_gid = st->st_gid;
	x->stx_rdev_major = major(st->st_rdev);
	x->stx_rdev_minor = minor(st->st_rdev);
	x->stx_size = (__u64)st->st_size;
	x->stx_blksize = (__u32)st->st_blksize;
	x->stx_blocks = (__u64)st->st_blocks;
	x->stx_atime.tv_sec = st->st_atim.tv_sec;
	x->stx_atime.tv_nsec = (__u32)st->st_atim.tv_nsec;
	x->stx_mtime.tv_sec = st->st_mtim.tv_sec;
	x->stx_mtime.tv_nsec = (__u32)st->st_mtim.tv_nsec;
	x->stx_ctime.tv_sec = st->st_ctim.tv_sec;
	x->stx_ctime.tv_nsec = (__u32)st->st_ctim.tv_nsec;
}

int fb_sys_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	static int no_statx;
	FB_REAL(statx);
	if (real_statx && !no_statx) {
		if (real_statx(dirfd, path, flags, mask, stx) == 0) {
			if (__builtin_expect(fb_dev_bound(stx), 0))
				fb_dev_beneath(dirfd, path, flags, mask, stx);
			return 0;
		}
		/* Old kernels and some seccomp filters refuse statx itself. */
		if (errno != ENOSYS && errno != EPERM)
			return -errno;
		if (errno == ENOSYS)
			no_statx = 1;
	}
	FB_REAL(fstatat64);
	struct stat64 st;
	if (!real_fstatat64 || real_fstatat64(dirfd, path, &st, flags) < 0)
		return real_fstatat64 ? -errno : -ENOSYS;
	stat_to_statx(&st, stx);
	return 0;
}

int fb_statx_core(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	int rc = fb_sys_statx(dirfd, path, flags, mask | FB_STATX_MASK, stx);
	fb_memo_note(dirfd, path, flags, rc < 0 ? NULL : stx);
	if (rc < 0)
		return rc;
	struct fb_attr a;
	fb_view(fb_table(), stx, fb.unknown_is_real, &a);
	fb_view_apply_statx(stx, &a);
	return 0;
}

int fb_peek(uint64_t dev, uint64_t ino, uint32_t real_mode, struct fb_attr *a)
{
	struct fb_table *t = fb_table();
	if (!t)
		return 0;
	struct fb_ident id = { .dev = dev, .ino = ino, .real_mode = real_mode, .type_only = 1 };
	fb_ident_map(&id);	/* a build root's overlay: the layer's identity */
	int found;
	/* Not fb_table_get, which drops a record whose type disagrees: a
	 * lookup this weak must not write.  No buffer: no xattrs copied. */
	fb_table_get_xattrs(t, &id, a, &found, NULL, 0);
	return found;
}

/* TIMES: a time that does not fit a 32-bit time_t is EOVERFLOW, as
 * glibc's stat says; its older __xstat family passes such times on cut. */
static int stat_core(int dirfd, const char *path, struct stat *st, int flags, int times)
{
	struct statx x;
	int rc = fb_statx_core(dirfd, path, flags, FB_STATX_MASK, &x);
	if (rc == 0)
		FB_FILL_STAT(st, &x, times);
	return rc;
}

static int stat64_core(int dirfd, const char *path, struct stat64 *st, int flags, int times)
{
	struct statx x;
	int rc = fb_statx_core(dirfd, path, flags, FB_STATX_MASK, &x);
	if (rc == 0)
		FB_FILL_STAT(st, &x, times);
	return rc;
}

FB_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	FB_PROLOGUE(fstatat, dirfd, path, st, flags);
	return fb_ret(stat_core(dirfd, path, st, flags, 1));
}

FB_EXPORT int stat(const char *path, struct stat *st)
{
	FB_PROLOGUE(stat, path, st);
	return fb_ret(stat_core(AT_FDCWD, path, st, 0, 1));
}

FB_EXPORT int lstat(const char *path, struct stat *st)
{
	FB_PROLOGUE(lstat, path, st);
	return fb_ret(stat_core(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW, 1));
}

FB_EXPORT int fstat(int fd, struct stat *st)
{
	FB_PROLOGUE(fstat, fd, st);
	return fb_ret(stat_core(fd, "", st, AT_EMPTY_PATH, 1));
}

FB_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	FB_PROLOGUE(fstatat64, dirfd, path, st, flags);
	return fb_ret(stat64_core(dirfd, path, st, flags, 1));
}

FB_EXPORT int stat64(const char *path, struct stat64 *st)
{
	FB_PROLOGUE(stat64, path, st);
	return fb_ret(stat64_core(AT_FDCWD, path, st, 0, 1));
}

FB_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	FB_PROLOGUE(lstat64, path, st);
	return fb_ret(stat64_core(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW, 1));
}

FB_EXPORT int fstat64(int fd, struct stat64 *st)
{
	FB_PROLOGUE(fstat64, fd, st);
	return fb_ret(stat64_core(fd, "", st, AT_EMPTY_PATH, 1));
}

FB_EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	FB_PROLOGUE(statx, dirfd, path, flags, mask, stx);
	return fb_ret(fb_statx_core(dirfd, path, flags, mask, stx));
}

/* glibc before 2.33 compiled stat() into calls of these, with a version
 * argument; binaries built then still call them. */
FB_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	FB_PROLOGUE(__fxstatat, ver, dirfd, path, st, flags);
	return fb_ret(stat_core(dirfd, path, st, flags, 0));
}

FB_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	FB_PROLOGUE(__xstat, ver, path, st);
	return fb_ret(stat_core(AT_FDCWD, path, st, 0, 0));
}

FB_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	FB_PROLOGUE(__lxstat, ver, path, st);
	return fb_ret(stat_core(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW, 0));
}

FB_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	FB_PROLOGUE(__fxstat, ver, fd, st);
	return fb_ret(stat_core(fd, "", st, AT_EMPTY_PATH, 0));
}

FB_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	FB_PROLOGUE(__fxstatat64, ver, dirfd, path, st, flags);
	return fb_ret(stat64_core(dirfd, path, st, flags, 0));
}

FB_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	FB_PROLOGUE(__xstat64, ver, path, st);
	return fb_ret(stat64_core(AT_FDCWD, path, st, 0, 0));
}

FB_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	FB_PROLOGUE(__lxstat64, ver, path, st);
	return fb_ret(stat64_core(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW, 0));
}

FB_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	FB_PROLOGUE(__fxstat64, ver, fd, st);
	return fb_ret(stat64_core(fd, "", st, AT_EMPTY_PATH, 0));
}
