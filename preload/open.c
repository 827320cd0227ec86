/*
 * open.c - creating files whose mode denies their owner read or write
 * (open(f, O_CREAT|O_WRONLY, 0444), as cp -p and tar -x do).  Root could
 * still write them later; we could not.  Such files are created with
 * owner read and write on disk and their mode kept in a record.  Every
 * other open passes straight through, unless a directory may have a faked
 * default ACL (xattr.c), then a file this call creates inherits it, or a
 * new file's owner is not root's (create.c), then it gets a record.
 * Core: openat_core.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fb.h"

int fb_open_needs_record(int flags, mode_t mode)
{
	return ((flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE) &&
	       (fb_new_mode_odd(S_IFREG, mode) || fb_acl_defaults() || fb_new_owner_matters());
}

/* An unnamed file (O_TMPFILE in directory DIRFD/PATH): a record as
 * openat_core gives a named one (its directory is PATH itself). */
static int tmpfile_core(int dirfd, const char *path, int flags, mode_t mode)
{
	FB_REAL(openat);
	if (!real_openat)
		return -ENOSYS;
	int fd = real_openat(dirfd, path, flags, fb_disk_mode(S_IFREG, mode));
	if (fd < 0)
		return -errno;
	char in[PATH_MAX];
	if (snprintf(in, sizeof in, "%s/.", path) < (int)sizeof in)
		fb_record_created(fd, dirfd, in, mode);
	return fd;
}

/*
 * Is DIRFD/PATH a symbolic link to nothing?  O_CREAT through it creates
 * the link's target, where O_EXCL says EEXIST, as for any link.
 */
static int dangling(int dirfd, const char *path, int flags)
{
	struct statx stx;
	return !(flags & O_NOFOLLOW) &&
	       fb_sys_statx(dirfd, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) == 0 &&
	       S_ISLNK(stx.stx_mode) && fb_sys_statx(dirfd, path, 0, STATX_TYPE, &stx) == -ENOENT;
}

/*
 * The kernel refused O_CREAT on DIRFD/PATH (EACCES): it may be its check
 * for a file already there in a sticky directory others may write, which
 * lets the open through only when the file is the opener's or the
 * directory owner's (may_create_in_sticky; for device nodes always, for
 * regular files and FIFOs as fs.protected_* say).  A device node a build
 * root bound in (dev.c) is the host's, owned by nobody the root maps, so
 * the kernel refuses root too.  Decided again with the owners the session
 * sees: then the file exists, and the open without O_CREAT is the one
 * asked.  -EACCES where real root would get it.
 */
static int sticky_retry(int dirfd, const char *path, int flags, mode_t mode)
{
	FB_REAL(openat);
	FB_REAL(statx);
	struct statx node, dir;
	/* The node the kernel opens: the bound one, not the placeholder
	 * beneath it that fb_sys_statx reports. */
	if ((flags & O_EXCL) || !real_openat || !real_statx ||
	    real_statx(dirfd, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &node) < 0 ||
	    !(S_ISCHR(node.stx_mode) || S_ISBLK(node.stx_mode)))
		return -EACCES;
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(parent, sizeof parent, ".");
	else if ((size_t)(slash - path) >= sizeof parent)
		return -EACCES;
	else
		snprintf(parent, sizeof parent, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (fb_statx_core(dirfd, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &node) < 0 ||
	    fb_statx_core(dirfd, parent, 0, STATX_BASIC_STATS, &dir) < 0 || !(dir.stx_mode & S_ISVTX) ||
	    (node.stx_uid != dir.stx_uid && node.stx_uid != fb_fsuid()))
		return -EACCES;
	int fd = real_openat(dirfd, path, flags & ~O_CREAT, mode);
	return fd < 0 ? -errno : fd;
}

static int openat_core(int dirfd, const char *path, int flags, mode_t mode)
{
	FB_REAL(openat);
	if (!real_openat)
		return -ENOSYS;
	/* Only a file this call creates gets the record: find out with O_EXCL. */
	int fd = real_openat(dirfd, path, flags | O_EXCL, fb_disk_mode(S_IFREG, mode));
	if (fd < 0) {
		if (errno != EEXIST || (flags & O_EXCL))
			return -errno;
		int made = dangling(dirfd, path, flags);
		fd = real_openat(dirfd, path, flags, made ? fb_disk_mode(S_IFREG, mode) : mode);
		if (fd < 0)
			return errno == EACCES && !made ? sticky_retry(dirfd, path, flags, mode) : -errno;
		if (made)
			fb_record_created_where(fd, mode);
		else if (flags & O_TRUNC)
			fb_xattr_truncated(AT_FDCWD, NULL, fd);
		return fd;
	}
	fb_fd_opened(fd, dirfd, path);
	fb_record_created(fd, dirfd, path, mode);
	return fd;
}

static int create_core(int dirfd, const char *path, int flags, mode_t mode)
{
	if ((flags & __O_TMPFILE) == __O_TMPFILE)
		return tmpfile_core(dirfd, path, flags, mode);
	return openat_core(dirfd, path, flags, mode);
}

/* A created file's descriptor: remember where, for its path hint.  An
 * O_CREAT the kernel refused in a sticky directory is decided again.  A
 * truncated file loses a faked capability.  SAVED: the caller's errno,
 * for a retry that succeeds. */
static int track_(int fd, int dirfd, const char *path, int flags, mode_t mode, int saved)
{
	if (fd < 0 && errno == EACCES && (flags & O_CREAT))
		return fb_ret_(sticky_retry(dirfd, path, flags, mode), saved);
	if (fd >= 0 && (flags & O_CREAT))
		fb_fd_opened(fd, dirfd, path);
	if (fd >= 0 && (flags & (O_TRUNC | O_PATH)) == O_TRUNC)
		fb_xattr_truncated(AT_FDCWD, NULL, fd);
	return fd;
}
#define track(fd, dirfd, path, flags, mode) track_((fd), (dirfd), (path), (flags), (mode), fb_saved_errno_)

#define OPEN_MODE(flags, mode)                                \
	do {                                                  \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {      \
			va_list ap;                           \
			va_start(ap, flags);                  \
			mode = va_arg(ap, mode_t);            \
			va_end(ap);                           \
		}                                             \
	} while (0)

FB_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	FB_PROLOGUE(openat, dirfd, path, flags, mode);
	if (!fb_open_needs_record(flags, mode))
		return track(real_openat(dirfd, path, flags, mode), dirfd, path, flags, mode);
	return fb_ret(create_core(dirfd, path, flags, mode));
}

FB_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	FB_PROLOGUE(openat64, dirfd, path, flags, mode);
	if (!fb_open_needs_record(flags, mode))
		return track(real_openat64(dirfd, path, flags, mode), dirfd, path, flags, mode);
	return fb_ret(create_core(dirfd, path, flags, mode));
}

FB_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	FB_PROLOGUE(open, path, flags, mode);
	if (!fb_open_needs_record(flags, mode))
		return track(real_open(path, flags, mode), AT_FDCWD, path, flags, mode);
	return fb_ret(create_core(AT_FDCWD, path, flags, mode));
}

FB_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	FB_PROLOGUE(open64, path, flags, mode);
	if (!fb_open_needs_record(flags, mode))
		return track(real_open64(path, flags, mode), AT_FDCWD, path, flags, mode);
	return fb_ret(create_core(AT_FDCWD, path, flags, mode));
}

/*
 * _FORTIFY_SOURCE's entry points, for flags not known at compile time and
 * no mode: never a file to create (glibc aborts on O_CREAT there), but an
 * O_TRUNC that takes a faked capability.
 */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

FB_EXPORT int __open_2(const char *path, int flags)
{
	FB_PROLOGUE(__open_2, path, flags);
	return track(real___open_2(path, flags), AT_FDCWD, path, flags, 0);
}

FB_EXPORT int __open64_2(const char *path, int flags)
{
	FB_PROLOGUE(__open64_2, path, flags);
	return track(real___open64_2(path, flags), AT_FDCWD, path, flags, 0);
}

FB_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	FB_PROLOGUE(__openat_2, dirfd, path, flags);
	return track(real___openat_2(dirfd, path, flags), dirfd, path, flags, 0);
}

FB_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	FB_PROLOGUE(__openat64_2, dirfd, path, flags);
	return track(real___openat64_2(dirfd, path, flags), dirfd, path, flags, 0);
}

FB_EXPORT int creat(const char *path, mode_t mode)
{
	FB_PROLOGUE(creat, path, mode);
	if (!fb_open_needs_record(O_CREAT, mode))
		return track(real_creat(path, mode), AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	return fb_ret(openat_core(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode));
}

FB_EXPORT int creat64(const char *path, mode_t mode)
{
	FB_PROLOGUE(creat64, path, mode);
	if (!fb_open_needs_record(O_CREAT, mode))
		return track(real_creat64(path, mode), AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	return fb_ret(openat_core(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode));
}

/* Is the file at PATH, or FD, a device, FIFO or socket a session made, a
 * regular file on disk that the kernel would truncate?  It refuses a
 * node of that type (EINVAL). */
static int faked_node(const char *path, int fd)
{
	struct fb_table *t = fb_table();
	struct statx x;
	return t && fb_table_has_faked_types(t) &&
	       (fd >= 0 ? fb_statx_core(fd, "", AT_EMPTY_PATH, STATX_TYPE, &x)
			: fb_statx_core(AT_FDCWD, path, 0, STATX_TYPE, &x)) == 0 &&
	       !S_ISREG(x.stx_mode) && !S_ISDIR(x.stx_mode);
}

/* The truncate family: the real call, then a faked capability goes. */
#define TRUNCATE_WRAPPER(fn, type, target, off, path, fd)        \
	FB_EXPORT int fn(type target, off length)                \
	{                                                        \
		FB_PROLOGUE(fn, target, length);                 \
		if (faked_node(path, fd))                        \
			return fb_ret(-EINVAL);                  \
		if (real_##fn(target, length) < 0)               \
			return -1;                               \
		fb_xattr_truncated(AT_FDCWD, path, fd);          \
		return fb_ret(0);                                \
	}

TRUNCATE_WRAPPER(truncate, const char *, path, off_t, path, -1)
TRUNCATE_WRAPPER(truncate64, const char *, path, off64_t, path, -1)
TRUNCATE_WRAPPER(ftruncate, int, fd, off_t, NULL, fd)
TRUNCATE_WRAPPER(ftruncate64, int, fd, off64_t, NULL, fd)
