/*
 * mknod.c - mknod, mkfifo, mkdir and symlink.  Cores: mknod_core,
 * mkdir_core, symlink_core.
 *
 * A device node cannot be made without privilege, so it is an empty
 * regular file on disk and a record that says "character device 5,1".
 * Where the process may mount, a node of a small safe set (null, zero,
 * urandom, ...) also gets the host's node bound over it, so the build can
 * use it (dev.c).  FIFOs and sockets need no privilege and are made for
 * real.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fb.h"

int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev);
int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev);

/*
 * Record what DIRFD/PATH, just made, is: of TYPE, with mode ASKED, device
 * DEV.  INHERIT: its directory may have a default ACL, which then decides
 * the mode.  Recorded when ALWAYS, when its owner is not what a file
 * without a record shows (create.c), or when it inherits an ACL.
 */
static int record_new(int dirfd, const char *path, mode_t type, mode_t asked, dev_t dev,
		      int inherit, int always)
{
	struct statx stx;
	int rc = fb_sys_statx(dirfd, path, AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, &stx);
	if (rc < 0)
		return rc;
	struct fb_attr a;
	always |= fb_new_attr(dirfd, path, &stx, type, asked, dev, &a);
	always |= fb_keep_usable(-1, dirfd, path, &stx);
	rc = inherit ? fb_acl_inherit(dirfd, path, &stx, type | (asked & 07777), &a) : 0;
	if (rc != 0 || !always)
		return rc < 0 ? rc : 0;
	return fb_record(&stx, &a, dirfd, path, 0, NULL);
}

static int mknod_core(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	FB_REAL(mknodat);
	FB_REAL(unlinkat);
	if (!real_mknodat || !real_unlinkat)
		return -ENOSYS;
	mode_t type = mode & S_IFMT;
	int inherit = fb_acl_defaults();
	if (type != S_IFCHR && type != S_IFBLK) {
		/* A mode that denies its maker, or set-id bits: made usable and
		 * without them, the mode asked in a record (as open.c does). */
		int odd = fb_new_mode_odd(type ? type : S_IFREG, mode);
		if (real_mknodat(dirfd, path, odd ? fb_disk_mode(type, mode) : mode, dev) < 0)
			return -errno;
		/* Else made as asked: only its owner or a default ACL may need a record. */
		return odd || inherit || fb_new_owner_matters()
			       ? record_new(dirfd, path, type ? type : S_IFREG, mode, 0, inherit, odd)
			       : 0;
	}
	/* As glibc's own mknodat: the kernel takes a 32-bit device number. */
	if ((dev_t)(unsigned int)dev != dev)
		return -EINVAL;
	if (real_mknodat(dirfd, path, fb_disk_mode(S_IFREG, S_IFREG | (mode & 0777)), 0) < 0)
		return -errno;
	/* A device node needs CAP_MKNOD, which a process that gave up root
	 * lacks; asked where the name is free, as the kernel asks. */
	if (!fb_file_cap(CAP_MKNOD)) {
		real_unlinkat(dirfd, path, 0);
		return -EPERM;
	}
	int rc = record_new(dirfd, path, type, mode, dev, inherit, 1);
	if (rc < 0)
		real_unlinkat(dirfd, path, 0);	/* no half-made node */
	else
		fb_dev_bind(dirfd, path, type, dev);	/* usable, where we may mount */
	return rc;
}

FB_EXPORT int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	FB_PROLOGUE(mknodat, dirfd, path, mode, dev);
	return fb_ret(mknod_core(dirfd, path, mode, dev));
}

FB_EXPORT int mknod(const char *path, mode_t mode, dev_t dev)
{
	FB_PROLOGUE(mknod, path, mode, dev);
	return fb_ret(mknod_core(AT_FDCWD, path, mode, dev));
}

FB_EXPORT int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev)
{
	FB_PROLOGUE(__xmknod, ver, path, mode, dev);
	return fb_ret(mknod_core(AT_FDCWD, path, mode, *dev));
}

FB_EXPORT int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev)
{
	FB_PROLOGUE(__xmknodat, ver, dirfd, path, mode, dev);
	return fb_ret(mknod_core(dirfd, path, mode, *dev));
}

/* glibc makes FIFOs with its internal mknodat, past the wrappers above:
 * only these see one, for the default ACL it may inherit. */
FB_EXPORT int mkfifoat(int dirfd, const char *path, mode_t mode)
{
	FB_PROLOGUE(mkfifoat, dirfd, path, mode);
	return fb_ret(mknod_core(dirfd, path, S_IFIFO | (mode & 07777), 0));
}

FB_EXPORT int mkfifo(const char *path, mode_t mode)
{
	FB_PROLOGUE(mkfifo, path, mode);
	return fb_ret(mknod_core(AT_FDCWD, path, S_IFIFO | (mode & 07777), 0));
}

/*
 * A directory whose mode denies its owner write or search (mkdir -m 0555)
 * is made usable on disk and its mode kept in a record; root could write
 * into it, and so must the build.
 */
static int mkdir_core(int dirfd, const char *path, mode_t mode)
{
	FB_REAL(mkdirat);
	if (!real_mkdirat)
		return -ENOSYS;
	int inherit = fb_acl_defaults();
	if (!fb_new_mode_odd(S_IFDIR, mode) && !inherit && !fb_new_owner_matters())
		return real_mkdirat(dirfd, path, mode) < 0 ? -errno : 0;
	if (real_mkdirat(dirfd, path, fb_disk_mode(S_IFDIR, mode)) < 0)
		return -errno;
	return record_new(dirfd, path, S_IFDIR, mode, 0, inherit, (mode & S_IRWXU) != S_IRWXU);
}

FB_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
	FB_PROLOGUE(mkdirat, dirfd, path, mode);
	return fb_ret(mkdir_core(dirfd, path, mode));
}

FB_EXPORT int mkdir(const char *path, mode_t mode)
{
	FB_PROLOGUE(mkdir, path, mode);
	return fb_ret(mkdir_core(AT_FDCWD, path, mode));
}

/*
 * A Unix socket bound to a name is an inode made as mknod's S_IFSOCK is:
 * a record only for its owner (a setgid directory, a maker that gave up
 * root) or a default ACL.
 */
FB_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	FB_PROLOGUE(bind, fd, addr, len);
	const struct sockaddr_un *un = (const void *)addr;
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	if (real_bind(fd, addr, len) < 0)
		return -1;
	int inherit;
	if (!addr || addr->sa_family != AF_UNIX || len <= off || !un->sun_path[0] ||
	    (!(inherit = fb_acl_defaults()) && !fb_new_owner_matters()))
		return 0;	/* not a name in the file system, or nothing to record */
	char path[sizeof un->sun_path + 1];
	size_t n = len - off < sizeof un->sun_path ? len - off : sizeof un->sun_path;
	memcpy(path, un->sun_path, n);
	path[n] = 0;
	/* Bound: the call succeeded, whatever becomes of the record.  The
	 * kernel's unix_bind applies the umask before a default ACL masks
	 * the mode, where mknod and mkdir let the ACL take its place. */
	record_new(AT_FDCWD, path, S_IFSOCK, 0777 & ~fb_umask(), 0, inherit, 0);
	return fb_ret(0);
}

/* A symbolic link: a record only for its owner (create.c). */
static int symlink_core(const char *target, int dirfd, const char *path)
{
	FB_REAL(symlinkat);
	if (!real_symlinkat)
		return -ENOSYS;
	if (real_symlinkat(target, dirfd, path) < 0)
		return -errno;
	return record_new(dirfd, path, S_IFLNK, 0777, 0, 0, 0);
}

FB_EXPORT int symlinkat(const char *target, int dirfd, const char *path)
{
	FB_PROLOGUE(symlinkat, target, dirfd, path);
	if (!fb_new_owner_matters())
		return real_symlinkat(target, dirfd, path);
	return fb_ret(symlink_core(target, dirfd, path));
}

FB_EXPORT int symlink(const char *target, const char *path)
{
	FB_PROLOGUE(symlink, target, path);
	if (!fb_new_owner_matters())
		return real_symlink(target, path);
	return fb_ret(symlink_core(target, AT_FDCWD, path));
}
