/*
 * chmod.c - the chmod family.  Core: chmod_core.  The record gets exactly
 * the mode asked for (setuid, setgid and sticky included); the file on
 * disk gets its permission bits but always keeps owner read and write
 * (and search, for directories), because we are not really root and must
 * still be able to use it, and never setuid/setgid bits of the real user.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fb.h"

static mode_t real_perm(mode_t want, mode_t real_mode)
{
	return (want & 0777) | fb_owner_needs(real_mode & S_IFMT, want);
}

/* File systems that keep exactly the permission bits a chmod sets. */
static int keeps_chmod_bits(long type)
{
	switch (type) {
	case EXT4_SUPER_MAGIC: case XFS_SUPER_MAGIC: case BTRFS_SUPER_MAGIC:
	case TMPFS_MAGIC: case RAMFS_MAGIC: case F2FS_SUPER_MAGIC:
	case OVERLAYFS_SUPER_MAGIC: case REISERFS_SUPER_MAGIC:
	case 0x2fc12fc1:	/* zfs */
	case 0xca451a4e:	/* bcachefs */
	case 0x3153464a:	/* jfs */
		return 1;
	}
	return 0;
}

/*
 * Devices of this process, each with what its file system does with a
 * chmod: device number + 1, with CHMOD_OWN_BITS set where it may keep
 * bits of its own (0 is a free slot).  vfat, exfat, WSL's drvfs,
 * VirtualBox shared folders and CIFS without unix extensions ignore all
 * or part of a chmod, and say so nowhere: after a chmod there the bits
 * are read back, as on any file system not known to keep them (FUSE
 * included); elsewhere they are the ones asked for.
 */
#define CHMOD_OWN_BITS (1ull << 63)
static uint64_t chmod_fs[8];

static int may_keep_own_bits(int dirfd, const char *path, int fd, const struct statx *stx)
{
	const uint64_t key = (uint64_t)makedev(stx->stx_dev_major, stx->stx_dev_minor) + 1;
	const size_t n = sizeof chmod_fs / sizeof chmod_fs[0];
	for (size_t i = 0; i < n; i++) {
		uint64_t v = __atomic_load_n(&chmod_fs[i], __ATOMIC_RELAXED);
		if ((v & ~CHMOD_OWN_BITS) == key)
			return !!(v & CHMOD_OWN_BITS);
	}
	struct statfs64 sf;
	int rc = fb_file_statfs(dirfd, path, fd, 0, &sf);
	if (rc < 0)
		return 1;	/* not remembered: asked again next time */
	uint64_t v = key | (keeps_chmod_bits((long)sf.f_type) ? 0 : CHMOD_OWN_BITS);
	for (size_t i = 0; i < n; i++) {
		uint64_t free_slot = 0;
		if (__atomic_compare_exchange_n(&chmod_fs[i], &free_slot, v, 0, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED) || (free_slot & ~CHMOD_OWN_BITS) == key)
			break;
	}
	return !!(v & CHMOD_OWN_BITS);
}

/*
 * Into STX (the file's statx before a real chmod to WANT succeeded), the
 * bits the disk has now, which the record keeps (fb_rec_mode).
 */
static void disk_bits_after(int dirfd, const char *path, int fd, int flags, mode_t want,
			    struct statx *stx)
{
	const __u16 type = stx->stx_mode & S_IFMT;
	stx->stx_mask |= STATX_MODE;	/* known now, whatever a memo said */
	stx->stx_mode = (__u16)(type | want);
	if (!may_keep_own_bits(dirfd, path, fd, stx))
		return;
	struct statx now;
	int rc = fd >= 0 ? fb_sys_statx(fd, "", AT_EMPTY_PATH, FB_STATX_MASK, &now)
			 : fb_sys_statx(dirfd, path, flags & AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, &now);
	if (rc == 0 && now.stx_ino == stx->stx_ino && (now.stx_mode & S_IFMT) == type)
		stx->stx_mode = now.stx_mode;	/* else gone or replaced: nothing to learn */
}

/*
 * Does the stat the program just made of the name (memo.c: STX) say the
 * disk has the bits a chmod to MODE sets?  Then the chmod would make no
 * real change, and the record would take those bits as the disk's; but
 * another process may have changed them since, and a chmod made after
 * its must win: the name is looked at again.  A stat saying the bits
 * differ leads to a real chmod, whose bits are the disk's anyway.
 */
static int already_set(const struct statx *stx, mode_t mode)
{
	return (stx->stx_mode & 07777) == real_perm(mode, stx->stx_mode);
}

/* fb_chmod_core's change of the file STX describes, made from its view
 * now; CHECKED: -EAGAIN if the record changed meanwhile (fb_record). */
static int chmod_from_view(int dirfd, const char *path, int fd, mode_t mode, int flags,
			   struct statx *stx, int checked)
{
	FB_REAL(fchmodat);
	FB_REAL(fchmod);
	struct fb_attr a;
	int known = fb_view(fb_table(), stx, fb.unknown_is_real, &a);
	const struct fb_attr before = a;
	/* As the kernel's: the owner or CAP_FOWNER; the setgid bit kept
	 * only by a member of the file's group or CAP_FSETID. */
	int rc = fb_may_chmod(a.uid);
	if (rc < 0)
		return rc;
	if ((mode & S_ISGID) && !fb_may_keep_setgid(a.gid))
		mode &= ~(mode_t)S_ISGID;
	/* A lower layer's file is copied up first, also when nothing changes
	 * on disk; one of several links then is an inode of its own. */
	rc = fd >= 0 ? fb_copy_up(fd, "", AT_EMPTY_PATH, stx)
		     : fb_copy_up(dirfd, path, flags & AT_SYMLINK_NOFOLLOW, stx);
	if (rc < 0)
		return rc;
	mode_t want = real_perm(mode, stx->stx_mode);
	/* A device's placeholder keeps its bits: the record has the mode.
	 * The name may lead to the node bound over it (dev.c), whose chmod
	 * would change another file (in a build root, devpts' ptmx). */
	int placeholder = known && (a.mode & S_IFMT) != (stx->stx_mode & S_IFMT);
	if ((stx->stx_mode & 07777) != want && !placeholder) {
		rc = fd >= 0 ? (real_fchmod ? real_fchmod(fd, want) : -1)
			     : (real_fchmodat ? real_fchmodat(dirfd, path, want, flags) : -1);
		/* A file we do not really own: root could, so the record says it did. */
		if (rc < 0 && errno != EPERM && errno != EACCES)
			return -errno;
		/* The record keeps the bits the disk has now: a later change
		 * of them is one made past the library (fb_rec_mode).  A stat
		 * this process remembered from before is out of date. */
		if (rc == 0) {
			disk_bits_after(dirfd, path, fd, flags, want, stx);
			fb_memo_drop();
		}
	}
	a.mode = (a.mode & S_IFMT) | (mode & 07777);
	rc = known ? fb_xattr_chmod(stx, &a) : 0;
	if (rc != 0)
		return rc < 0 ? rc : 0;
	return fb_record(stx, &a, fd >= 0 ? fd : dirfd, fd >= 0 ? "" : path, known,
			 checked ? &before : NULL);
}

/* FD >= 0: fchmod on FD (DIRFD/PATH unused).  NOW: the file's statx, if the caller just made it. */
int fb_chmod_core(int dirfd, const char *path, int fd, mode_t mode, int flags,
		  const struct statx *now)
{
	struct statx stx;
	int rc = 0;
	if (now)
		stx = *now;
	else if (fd >= 0)
		rc = fb_sys_statx(fd, "", AT_EMPTY_PATH, FB_STATX_MASK, &stx);
	else if (!fb_memo_take(dirfd, path, flags, &stx) || already_set(&stx, mode))
		rc = fb_sys_statx(dirfd, path, flags & AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, &stx);
	if (rc < 0)
		return rc;
	if (S_ISLNK(stx.stx_mode))
		return -EOPNOTSUPP;	/* what the kernel says to lchmod */
	/* As the kernel's, before any permission check: also a chmod whose
	 * bits the disk has already (set-id bits, which only the record
	 * holds), which makes no real chmod to fail.  A file just made is on
	 * a mount it could be made on. */
	if (!now && fb_read_only(dirfd, path ? path : "", fd, flags & AT_SYMLINK_NOFOLLOW, &stx))
		return -EROFS;
	/* Again from a fresh view when another process changed the record
	 * in between (a chown of the same file): both changes land. */
	for (int tries = 0;; tries++) {
		rc = chmod_from_view(dirfd, path, fd, mode, flags, &stx, tries < FB_PUT_TRIES);
		if (rc != -EAGAIN)
			return rc;
	}
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
	if (fd < 0)
		return fb_ret(-EBADF);	/* not a name: the core would take NULL for one */
	return fb_ret(fb_chmod_core(AT_FDCWD, NULL, fd, mode, 0, NULL));
}
