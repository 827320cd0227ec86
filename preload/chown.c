/*
 * chown.c - the chown family.  Core: fchownat.  Ownership is never
 * changed on disk; the record gets it, as root would see it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fb.h"

/*
 * Any change of a build root's file that lives in a lower layer makes
 * overlayfs copy it up first, as real root's chown does: only then does
 * the change reach the upper layer (--upper, --keep, --changes), which
 * holds the files a root's records are kept for.  A session changes only
 * the record, not the file, so it has the kernel copy the file up with a
 * real chown to -1, -1, which changes nothing else (a file already in
 * the upper layer: nothing at all).  A file of several links becomes an
 * inode of its own (overlayfs breaks the link, as for real root): *STX is
 * then the new inode, which takes the old one's record (owner, mode,
 * xattrs), as it took its real attributes, and the other names keep
 * theirs.  0, or the copy-up's error (ENOSPC on a full upper, as real
 * root gets).  One test of the device elsewhere.
 */
int fb_copy_up(int dirfd, const char *path, int flags, struct statx *stx)
{
	if (__builtin_expect(!fb_devmap_is_overlay(makedev(stx->stx_dev_major, stx->stx_dev_minor)), 1))
		return 0;
	FB_REAL(fchownat);
	if (real_fchownat && real_fchownat(dirfd, path, (uid_t)-1, (gid_t)-1, flags) < 0)
		return errno == ENOSPC || errno == EDQUOT || errno == EROFS || errno == EIO ? -errno : 0;
	struct statx now;
	if (fb_sys_statx(dirfd, path, flags, FB_STATX_MASK, &now) < 0 || fb_same_inode(&now, stx))
		return 0;
	int rc = fb_record_copy(stx, &now, dirfd, path);
	if (rc < 0)
		return rc;
	*stx = now;
	fb_memo_drop();	/* a stat remembered of this name is the other inode's */
	return 0;
}

int fb_record_copy(const struct statx *from, const struct statx *to, int dirfd, const char *path)
{
	struct fb_table *t = fb_table();
	struct fb_ident old, id;
	fb_ident_from_statx(&old, from);
	fb_ident_from_statx(&id, to);
	struct fb_attr a;
	void *blob = NULL;
	size_t len = 0;
	int found = 0;
	int rc = t ? fb_record_blob(t, &old, &a, &blob, &len, &found) : 0;
	if (rc == 0 && found) {
		char hint[PATH_MAX];
		fb_guard++;
		int hinted = fb_path_hint(dirfd, path, hint, sizeof hint) == 0;
		fb_guard--;
		rc = fb_table_put_xattrs(t, &id, &a, blob, len, hinted ? hint : NULL);
	}
	free(blob);
	return rc;
}

/* chown_core's change of the file STX describes, made from its view now;
 * CHECKED: -EAGAIN if the record changed meanwhile (fb_record).  *SAME:
 * whether the owner, group and mode the file shows stay as they were. */
static int chown_from_view(int dirfd, const char *path, uid_t uid, gid_t gid, int flags,
			   struct statx *stx, int checked, int *same)
{
	struct fb_attr a;
	int known = fb_view(fb_table(), stx, fb.unknown_is_real, &a);
	const struct fb_attr before = a;
	int rc = fb_may_chown(a.uid, a.gid, uid, gid);
	if (rc < 0)
		return rc;
	const uint32_t mode = a.mode;
	if (uid != (uid_t)-1 || gid != (gid_t)-1) {
		rc = fb_copy_up(dirfd, path, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), stx);
		if (rc < 0)
			return rc;
	}
	const int keep_sgid = !(mode & S_ISGID) || fb_may_keep_setgid(a.gid);
	if (uid != (uid_t)-1)
		a.uid = uid;
	if (gid != (gid_t)-1)
		a.gid = gid;
	/* As the kernel's chown, even to -1, -1: setuid, setgid with group
	 * execute (or of a group the caller is not in) and a capability go. */
	a.mode = fb_chown_mode(a.mode, keep_sgid);
	*same = a.uid == before.uid && a.gid == before.gid && a.mode == before.mode;
	rc = fb_xattr_chown(stx, &a);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (uid == (uid_t)-1 && gid == (gid_t)-1 && a.mode == mode)
		return 0;
	return fb_record(stx, &a, dirfd, path, known, checked ? &before : NULL);
}

/*
 * The kernel's chown sets the file's ctime, even to the owner and group
 * the file has (gnulib's configure checks that it does, with a chown to
 * the file's own ids, and builds a chown of its own where it does not:
 * the binary then differs from a build outside the session).  Such a
 * chown changes no record: a real chown to -1, -1, which changes nothing
 * else on the files a session makes (their set-id bits and capabilities
 * are in records), gives the file its new ctime.  Not after a chown that
 * changed the record: on an overlay, the real chown would copy a lower
 * layer's file up and give it a new birth time, and its record would be
 * taken for a reused inode's.
 */
static void set_ctime(int dirfd, const char *path, int flags)
{
	FB_REAL(fchownat);
	int e = errno;
	/* One it may not change (read-only, another user's set-id file) keeps its ctime. */
	if (real_fchownat &&
	    real_fchownat(dirfd, path, (uid_t)-1, (gid_t)-1, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) < 0)
		fb_debug(1, "chown %s: ctime not set: %s", path, strerror(errno));
	errno = e;
}

static int chown_core(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	struct statx stx;
	int rc = 0;
	if ((flags & AT_EMPTY_PATH) || !fb_memo_take(dirfd, path, flags, &stx))
		rc = fb_sys_statx(dirfd, path, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH),
				  FB_STATX_MASK, &stx);
	if (rc < 0)
		return rc;
	/* As the kernel's, even to -1, -1, before any permission check. */
	int empty = (flags & AT_EMPTY_PATH) && !*path;
	if (fb_read_only(dirfd, path, empty ? dirfd : -1, flags & AT_SYMLINK_NOFOLLOW, &stx))
		return -EROFS;
	/* Again from a fresh view when another process changed the record
	 * in between (a chmod of the same file): both changes land. */
	int same = 0;
	for (int tries = 0;; tries++) {
		rc = chown_from_view(dirfd, path, uid, gid, flags, &stx, tries < FB_PUT_TRIES, &same);
		if (rc != -EAGAIN)
			break;
	}
	if (rc == 0 && same)
		set_ctime(dirfd, path, flags);
	return rc;
}

FB_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	FB_PROLOGUE(fchownat, dirfd, path, uid, gid, flags);
	return fb_ret(chown_core(dirfd, path, uid, gid, flags));
}

FB_EXPORT int chown(const char *path, uid_t uid, gid_t gid)
{
	FB_PROLOGUE(chown, path, uid, gid);
	return fb_ret(chown_core(AT_FDCWD, path, uid, gid, 0));
}

FB_EXPORT int lchown(const char *path, uid_t uid, gid_t gid)
{
	FB_PROLOGUE(lchown, path, uid, gid);
	return fb_ret(chown_core(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW));
}

FB_EXPORT int fchown(int fd, uid_t uid, gid_t gid)
{
	FB_PROLOGUE(fchown, fd, uid, gid);
	int rc = fb_io_fd(fd);
	return fb_ret(rc < 0 ? rc : chown_core(fd, "", uid, gid, AT_EMPTY_PATH));
}
