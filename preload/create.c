/*
 * create.c - who owns what a process makes.  The kernel gives a new inode
 * the creator's filesystem uid, and its filesystem gid or, in a directory
 * with the setgid bit, the directory's group (a new directory the setgid
 * bit as well; a new file loses a setgid bit it asked for when its creator
 * is not of that group and lacks CAP_FSETID).  On disk every new inode is
 * the real user's, which the view shows as root's: right for a fake root
 * in an ordinary directory, the common case, which costs nothing here but
 * two loads.  A creator with other ids (after setuid(1000), su, runuser,
 * setpriv), or a directory with a faked setgid bit (a table flag says
 * whether any has one), gets the new inode a record.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fb.h"

int fb_new_owner_matters(void)
{
	/* With -u a file without a record shows its real owner: one the
	 * session makes must have a record to be root's. */
	if (fb_fsuid() != 0 || fb_fsgid() != 0 || fb.unknown_is_real)
		return 1;
	struct fb_table *t = fb_table();
	return t && fb_table_has_setgid_dirs(t);
}

int fb_parent_statx(int dirfd, const char *path, struct statx *stx)
{
	char dir[PATH_MAX];
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	if (n == 0)	/* no slash: the directory is DIRFD itself */
		return dirfd == AT_FDCWD ? fb_sys_statx(AT_FDCWD, ".", 0, FB_STATX_MASK, stx)
					 : fb_sys_statx(dirfd, "", AT_EMPTY_PATH, FB_STATX_MASK, stx);
	if (n >= sizeof dir)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = 0;
	return fb_sys_statx(dirfd, dir, 0, FB_STATX_MASK, stx);
}

FB_EXPORT mode_t umask(mode_t mask)
{
	FB_REAL(umask);
	if (!real_umask)
		return 022;
	mode_t old = real_umask(mask);
	/* A vfork child's mask is not its parent's: then each asks again. */
	__atomic_store_n(&fb.umask, fb_in_vfork_child() ? -1 : (int)(mask & 0777), __ATOMIC_RELAXED);
	return old;
}

mode_t fb_owner_needs(mode_t type, mode_t mode)
{
	if (S_ISDIR(type))
		return S_IRWXU;
	return S_IRUSR | S_IWUSR | (mode & 0111 ? S_IXUSR : 0);
}

int fb_new_mode_odd(mode_t type, mode_t mode)
{
	mode_t need = fb_owner_needs(type, mode & ~fb_umask());
	return (!S_ISDIR(type) && (mode & (S_ISUID | S_ISGID))) ||
	       (mode & ~fb_umask() & need) != need;
}

mode_t fb_disk_mode(mode_t type, mode_t mode)
{
	return (mode & ~(mode_t)(S_ISUID | S_ISGID)) | fb_owner_needs(type, mode);
}

int fb_keep_usable(int fd, int dirfd, const char *path, struct statx *stx)
{
	mode_t type = stx->stx_mode & S_IFMT, need = fb_owner_needs(type, stx->stx_mode);
	if (S_ISLNK(type) || (stx->stx_mode & need) == need)
		return 0;
	FB_REAL(fchmodat);
	FB_REAL(fchmod);
	mode_t m = (stx->stx_mode & 07777) | need;
	int rc = fd >= 0 ? (real_fchmod ? real_fchmod(fd, m) : -1)
			 : (real_fchmodat ? real_fchmodat(dirfd, path, m, 0) : -1);
	if (rc == 0)
		stx->stx_mode = (__u16)(type | m);
	return rc == 0;
}

int fb_new_attr(int dirfd, const char *path, const struct statx *stx, mode_t type, mode_t asked,
		dev_t dev, struct fb_attr *a)
{
	/* The owner bits asked for, less what the umask took (the disk shows
	 * that, even where we kept read and write); group and other as the
	 * kernel applied them; the set-id and sticky bits asked for, which a
	 * umask never takes (set-id bits never go on disk), but for a
	 * directory those on disk: mkdir ignores set-id bits asked for. */
	mode_t disk = stx->stx_mode & 07777;
	mode_t special = S_ISDIR(type) ? disk & 07000 : asked & 07000;
	*a = (struct fb_attr){
		.uid = fb_fsuid(), .gid = fb_fsgid(), .rdev = dev,
		.mode = (uint32_t)(type | (asked & disk & S_IRWXU) | (disk & 077) | special),
	};
	int differs = a->uid != 0 || a->gid != 0 || (a->mode & 07777) != disk || fb.unknown_is_real;
	struct fb_table *t = fb_table();
	struct statx pstx;
	struct fb_attr pa;
	if (!t || !fb_table_has_setgid_dirs(t) || fb_parent_statx(dirfd, path, &pstx) < 0)
		return differs;
	fb_view(t, &pstx, fb.unknown_is_real, &pa);
	if (!S_ISDIR(pa.mode) || !(pa.mode & S_ISGID))
		return differs;
	a->gid = pa.gid;
	if (S_ISDIR(type))
		a->mode |= S_ISGID;
	else if ((asked & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) && !fb_may_keep_setgid(pa.gid))
		a->mode &= ~(uint32_t)S_ISGID;
	return 1;
}

/* ---- glibc's own creators: they open past the wrappers of open.c -------- */

/* Record what the regular file open on FD, just made at DIRFD/PATH with
 * mode MODE, needs: an owner other than root's, its directory's default
 * ACL, or a mode that denies its owner (kept usable on disk). */
void fb_record_created(int fd, int dirfd, const char *path, mode_t mode)
{
	int saved = errno;
	struct statx stx;
	struct fb_attr a;
	if (fd >= 0 && fb_sys_statx(fd, "", AT_EMPTY_PATH, FB_STATX_MASK, &stx) == 0) {
		int need = fb_new_attr(dirfd, path, &stx, S_IFREG, mode, 0, &a);
		need |= fb_keep_usable(fd, -1, NULL, &stx);
		int rc = fb_acl_defaults() ? fb_acl_inherit(dirfd, path, &stx, S_IFREG | mode, &a) : 0;
		if (rc == 0 && need)
			fb_record(&stx, &a, fd, "", 0, NULL);
	}
	errno = saved;
}

void fb_record_created_where(int fd, mode_t mode)
{
	int saved = errno;
	char where[PATH_MAX];
	if (fb_fd_path(fd, where, sizeof where) > 0) {
		fb_fd_opened(fd, AT_FDCWD, where);
		fb_record_created(fd, AT_FDCWD, where, mode);
	}
	errno = saved;
}

/* Is PATH a symbolic link?  (errno kept) */
static int is_link(const char *path)
{
	int saved = errno;
	struct statx stx;
	int rc = fb_sys_statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) == 0 &&
		 S_ISLNK(stx.stx_mode);
	errno = saved;
	return rc;
}

/* May a creation of glibc's own need a record: its owner, or a default
 * ACL of its directory? */
static int create_matters(void)
{
	return fb_new_owner_matters() || fb_acl_defaults();
}

/* May fopen's MODE create the file ("w", "a", "w+", "a+", with "x")? */
static int fopen_creates(const char *mode)
{
	return mode && (mode[0] == 'w' || mode[0] == 'a');
}

static int exists(const char *path)
{
	FB_REAL(faccessat);
	int saved = errno;
	int rc = real_faccessat && real_faccessat(AT_FDCWD, path, F_OK, 0) == 0;
	errno = saved;
	return rc;
}

/* fopen and freopen: only when the owner matters is the file looked for
 * first, to tell a file the call made from one it opened.  Mode "w"
 * truncates a file it opens, which loses a faked capability (open.c),
 * also freopen's of the stream's own file (no path). */
#define FOPEN_WRAPPER(fn, params, args)                                       \
	FB_EXPORT FILE *fn params                                             \
	{                                                                     \
		FB_REAL(fn);                                                  \
		if (!real_##fn) {                                             \
			errno = ENOSYS;                                       \
			return NULL;                                          \
		}                                                             \
		if (!fb_enter() || !fopen_creates(mode))                      \
			return real_##fn args;                                \
		int make = path && create_matters();                          \
		int existed = make && exists(path);                           \
		FILE *f = real_##fn args;                                     \
		if (f && make && !existed && is_link(path))                   \
			fb_record_created_where(fileno(f), 0666);             \
		else if (f && make && !existed)                               \
			fb_record_created(fileno(f), AT_FDCWD, path, 0666);   \
		else if (f && mode[0] == 'w')                                 \
			fb_xattr_truncated(AT_FDCWD, NULL, fileno(f));        \
		return f;                                                     \
	}

FOPEN_WRAPPER(fopen, (const char *path, const char *mode), (path, mode))
FOPEN_WRAPPER(fopen64, (const char *path, const char *mode), (path, mode))
FOPEN_WRAPPER(freopen, (const char *path, const char *mode, FILE *stream), (path, mode, stream))
FOPEN_WRAPPER(freopen64, (const char *path, const char *mode, FILE *stream), (path, mode, stream))

/* i386's fopen before glibc 2.1 returned the old libio's FILE: binaries
 * linked then keep reaching that version, not this wrapper. */
#if defined(FB_VERSIONED) && defined(__i386__)
FB_SYMVER(fopen, "GLIBC_2.1");
#endif

/* The mkstemp family: a new file at TEMPLATE, open on the result. */
#define MKSTEMP_WRAPPER(fn, params, args)                                     \
	FB_EXPORT int fn params                                               \
	{                                                                     \
		FB_REAL(fn);                                                  \
		if (!real_##fn)                                               \
			return fb_enosys(#fn);                                \
		if (!fb_enter() || !create_matters())                         \
			return real_##fn args;                                \
		int fd = real_##fn args;                                      \
		fb_record_created(fd, AT_FDCWD, template, S_IRUSR | S_IWUSR); \
		return fd;                                                    \
	}

MKSTEMP_WRAPPER(mkstemp, (char *template), (template))
MKSTEMP_WRAPPER(mkstemp64, (char *template), (template))
MKSTEMP_WRAPPER(mkostemp, (char *template, int flags), (template, flags))
MKSTEMP_WRAPPER(mkostemp64, (char *template, int flags), (template, flags))
MKSTEMP_WRAPPER(mkstemps, (char *template, int suffixlen), (template, suffixlen))
MKSTEMP_WRAPPER(mkstemps64, (char *template, int suffixlen), (template, suffixlen))
MKSTEMP_WRAPPER(mkostemps, (char *template, int suffixlen, int flags), (template, suffixlen, flags))
MKSTEMP_WRAPPER(mkostemps64, (char *template, int suffixlen, int flags),
		(template, suffixlen, flags))

FB_EXPORT char *mkdtemp(char *template)
{
	FB_REAL(mkdtemp);
	if (!real_mkdtemp) {
		errno = ENOSYS;
		return NULL;
	}
	if (!fb_enter() || !create_matters())
		return real_mkdtemp(template);
	char *d = real_mkdtemp(template);
	if (d) {
		int saved = errno;
		struct statx stx;
		struct fb_attr a;
		if (fb_sys_statx(AT_FDCWD, d, AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, &stx) == 0) {
			int need = fb_new_attr(AT_FDCWD, d, &stx, S_IFDIR, S_IRWXU, 0, &a);
			need |= fb_keep_usable(-1, AT_FDCWD, d, &stx);
			int rc = fb_acl_defaults()
					 ? fb_acl_inherit(AT_FDCWD, d, &stx, S_IFDIR | S_IRWXU, &a)
					 : 0;
			if (rc == 0 && need)
				fb_record(&stx, &a, AT_FDCWD, d, 0, NULL);
		}
		errno = saved;
	}
	return d;
}
