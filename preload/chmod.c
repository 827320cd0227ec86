/*
 * chmod.c - the chmod family.  Core: chmod_core.  The record gets exactly
 * the mode asked for (setuid, setgid and sticky included); the file on
 * disk gets its permission bits but always keeps owner read and write
 * (and search, for directories), because we are not really root and must
 * still be able to use it, and never setuid/setgid bits of the real user.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fb.h"

static mode_t real_perm(mode_t want, mode_t real_mode)
{
	return (want & 0777) | fb_owner_needs(real_mode & S_IFMT, want);
}

/*
 * Devices of this process whose file system took the bits a real chmod
 * asked for (device number + 1; 0 is a free slot).  Most do; some ignore
 * them and keep bits of their own (vfat, WSL's drvfs, VirtualBox shared
 * folders), and a record must not take such bits as the disk's.
 */
static uint64_t chmod_took[8];

/*
 * Into STX (the file's statx before a real chmod to WANT succeeded), the
 * bits the disk has now, which the record keeps (fb_rec_mode).  The first
 * chmod on each device looks again; a device that took the bits is
 * trusted from then on, one that did not is looked at every time.
 */
static void disk_bits_after(int dirfd, const char *path, int fd, int flags, mode_t want,
			    struct statx *stx)
{
	const uint64_t key = (uint64_t)makedev(stx->stx_dev_major, stx->stx_dev_minor) + 1;
	const __u16 type = stx->stx_mode & S_IFMT;
	size_t i, n = sizeof chmod_took / sizeof chmod_took[0];
	stx->stx_mask |= STATX_MODE;	/* known now, whatever a memo said */
	for (i = 0; i < n; i++)
		if (__atomic_load_n(&chmod_took[i], __ATOMIC_RELAXED) == key) {
			stx->stx_mode = (__u16)(type | want);
			return;
		}
	struct statx now;
	int rc = fd >= 0 ? fb_sys_statx(fd, "", AT_EMPTY_PATH, FB_STATX_MASK, &now)
			 : fb_sys_statx(dirfd, path, flags & AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, &now);
	if (rc < 0 || now.stx_ino != stx->stx_ino || (now.stx_mode & S_IFMT) != type) {
		stx->stx_mode = (__u16)(type | want);	/* gone or replaced: nothing to learn */
		return;
	}
	stx->stx_mode = now.stx_mode;
	if ((now.stx_mode & 0777) != want)
		return;
	for (i = 0; i < n; i++) {
		uint64_t free_slot = 0;
		if (__atomic_compare_exchange_n(&chmod_took[i], &free_slot, key, 0, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED) || free_slot == key)
			return;
	}
}

/* FD >= 0: fchmod on FD (DIRFD/PATH unused).  NOW: the file's statx, if the caller just made it. */
int fb_chmod_core(int dirfd, const char *path, int fd, mode_t mode, int flags,
		  const struct statx *now)
{
	FB_REAL(fchmodat);
	FB_REAL(fchmod);
	struct statx stx;
	int rc = 0;
	if (now)
		stx = *now;
	else if (fd >= 0)
		rc = fb_sys_statx(fd, "", AT_EMPTY_PATH, FB_STATX_MASK, &stx);
	else if (!fb_memo_take(dirfd, path, flags, &stx))
		rc = fb_sys_statx(dirfd, path, flags & AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, &stx);
	if (rc < 0)
		return rc;
	if (S_ISLNK(stx.stx_mode))
		return -EOPNOTSUPP;	/* what the kernel says to lchmod */
	struct fb_attr a;
	int known = fb_view(fb_table(), &stx, fb.unknown_is_real, &a);
	/* As the kernel's: the owner or CAP_FOWNER; the setgid bit kept
	 * only by a member of the file's group or CAP_FSETID. */
	rc = fb_may_chmod(a.uid);
	if (rc < 0)
		return rc;
	if ((mode & S_ISGID) && !fb_may_keep_setgid(a.gid))
		mode &= ~(mode_t)S_ISGID;
	/* A lower layer's file is copied up first, also when nothing changes
	 * on disk; one of several links then is an inode of its own. */
	rc = fd >= 0 ? fb_copy_up(fd, "", AT_EMPTY_PATH, &stx)
		     : fb_copy_up(dirfd, path, flags & AT_SYMLINK_NOFOLLOW, &stx);
	if (rc < 0)
		return rc;
	mode_t want = real_perm(mode, stx.stx_mode);
	if ((stx.stx_mode & 07777) != want) {
		rc = fd >= 0 ? (real_fchmod ? real_fchmod(fd, want) : -1)
			     : (real_fchmodat ? real_fchmodat(dirfd, path, want, flags) : -1);
		/* A file we do not really own: root could, so the record says it did. */
		if (rc < 0 && errno != EPERM && errno != EACCES)
			return -errno;
		/* The record keeps the bits the disk has now: a later change
		 * of them is one made past the library (fb_rec_mode). */
		if (rc == 0)
			disk_bits_after(dirfd, path, fd, flags, want, &stx);
	}
	a.mode = (a.mode & S_IFMT) | (mode & 07777);
	rc = known ? fb_xattr_chmod(&stx, &a) : 0;
	if (rc != 0)
		return rc < 0 ? rc : 0;
	return fb_record(&stx, &a, fd >= 0 ? fd : dirfd, fd >= 0 ? "" : path, known);
}

FB_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	FB_PROLOGUE(fchmodat, dirfd, path, mode, flags);
	/* glibc's own takes AT_SYMLINK_NOFOLLOW alone (AT_EMPTY_PATH is
	 * fchmodat2's, through syscall(2): syscall.c). */
	if (flags & ~AT_SYMLINK_NOFOLLOW)
		return fb_ret(-EINVAL);
	return fb_ret(fb_chmod_core(dirfd, path, -1, mode, flags, NULL));
}

FB_EXPORT int chmod(const char *path, mode_t mode)
{
	FB_PROLOGUE(chmod, path, mode);
	return fb_ret(fb_chmod_core(AT_FDCWD, path, -1, mode, 0, NULL));
}

FB_EXPORT int lchmod(const char *path, mode_t mode)
{
	FB_PROLOGUE(lchmod, path, mode);
	return fb_ret(fb_chmod_core(AT_FDCWD, path, -1, mode, AT_SYMLINK_NOFOLLOW, NULL));
}

FB_EXPORT int fchmod(int fd, mode_t mode)
{
	FB_PROLOGUE(fchmod, fd, mode);
	return fb_ret(fb_chmod_core(AT_FDCWD, NULL, fd, mode, 0, NULL));
}
