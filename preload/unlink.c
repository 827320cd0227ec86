/*
 * unlink.c - unlink, rmdir, remove, rename, link.  Cores: unlink_core,
 * rename_core, link_core.  A record goes with the last name of its
 * inode, so a new file that gets the same inode number never inherits it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fb.h"

/* The inode at DIRFD/PATH, if the table has records at all (else skip the extra statx). */
static int peek(int dirfd, const char *path, struct statx *stx)
{
	struct fb_table *t = fb_table();
	if (!t || fb_table_count(t) == 0)
		return 0;
	return fb_sys_statx(dirfd, path, AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, stx) == 0;
}

static int last_name(const struct statx *stx)
{
	return S_ISDIR(stx->stx_mode) || stx->stx_nlink <= 1;
}

/* Does the table hold hints that a rename or unlink can make wrong? */
static int hints_at_stake(const struct statx *src)
{
	if (S_ISDIR(src->stx_mode))
		return 1;	/* the hints of everything beneath it */
	struct fb_ident id;
	struct fb_attr a;
	fb_ident_from_statx(&id, src);
	return fb_table_get(fb_table(), &id, &a);
}

/*
 * A name of a file that keeps others: if its record's hint is this name,
 * the hint must not outlive it (--gc would drop the record).  Whether
 * to drop it, and the name's hint into GONE.
 */
static int hint_goes(int dirfd, const char *path, const struct statx *stx, char gone[PATH_MAX])
{
	return !last_name(stx) && hints_at_stake(stx) && fb_path_hint(dirfd, path, gone, PATH_MAX) == 0;
}

static void close_held(int fd)
{
	if (fd < 0)
		return;
	fb_guard++;
	close(fd);
	fb_guard--;
}

/*
 * The last name of a file with a record, about to be removed (unlink, or
 * a rename over it): held by a descriptor, so that afterwards we can see
 * whether another process linked the file meanwhile, and GONE, the name's
 * path hint.  -1 when there is nothing to hold.
 */
static int hold_last_name(int dirfd, const char *path, const struct statx *stx, char gone[PATH_MAX])
{
	if (S_ISDIR(stx->stx_mode) || !last_name(stx) || !hints_at_stake(stx) ||
	    fb_path_hint(dirfd, path, gone, PATH_MAX) != 0)
		return -1;
	fb_guard++;
	int fd = openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	fb_guard--;
	return fd;
}

/*
 * After the removal: does the held file still have a name (a link made
 * meanwhile)?  Then it lives on with its record: STX is made to say so,
 * and the caller drops only the removed name's hint.  Closes HELD.
 */
static int linked_meanwhile(int held, struct statx *stx)
{
	if (held < 0)
		return 0;
	struct statx now;
	int alive = fb_sys_statx(held, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_NLINK | STATX_INO, &now) == 0 &&
		    now.stx_ino == stx->stx_ino && now.stx_dev_major == stx->stx_dev_major &&
		    now.stx_dev_minor == stx->stx_dev_minor && now.stx_nlink > 0;
	if (alive)
		stx->stx_nlink = now.stx_nlink + 1;
	close_held(held);
	return alive;
}

static int unlink_core(int dirfd, const char *path, int flags)
{
	FB_REAL(unlinkat);
	if (!real_unlinkat)
		return -ENOSYS;
	struct statx stx;
	fb_memo_drop();
	int have = peek(dirfd, path, &stx);
	char gone[PATH_MAX];
	int hinted = have && hint_goes(dirfd, path, &stx, gone);
	int held = have ? hold_last_name(dirfd, path, &stx, gone) : -1;
	if (real_unlinkat(dirfd, path, flags) < 0) {
		int e = errno;
		/* A device placeholder with the host's node bound over it (dev.c). */
		if (e != EBUSY || (flags & AT_REMOVEDIR) || fb_dev_unbind(dirfd, path, NULL) < 0) {
			close_held(held);
			return -e;
		}
		if (real_unlinkat(dirfd, path, flags) < 0) {
			e = errno;
			close_held(held);
			return -e;
		}
	}
	if (linked_meanwhile(held, &stx))
		hinted = 1;
	if (have && last_name(&stx))
		fb_forget(&stx);
	if (hinted) {
		struct fb_ident id;
		fb_ident_from_statx(&id, &stx);
		fb_table_drop_hint(fb_table(), &id, gone);
	}
	return 0;
}

FB_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	FB_PROLOGUE(unlinkat, dirfd, path, flags);
	return fb_ret(unlink_core(dirfd, path, flags));
}

FB_EXPORT int unlink(const char *path)
{
	FB_PROLOGUE(unlink, path);
	return fb_ret(unlink_core(AT_FDCWD, path, 0));
}

FB_EXPORT int rmdir(const char *path)
{
	FB_PROLOGUE(rmdir, path);
	return fb_ret(unlink_core(AT_FDCWD, path, AT_REMOVEDIR));
}

FB_EXPORT int remove(const char *path)
{
	FB_PROLOGUE(remove, path);
	int rc = unlink_core(AT_FDCWD, path, 0);
	if (rc == -EISDIR)
		rc = unlink_core(AT_FDCWD, path, AT_REMOVEDIR);
	return fb_ret(rc);
}

/*
 * Keep path hints true across a rename: the moved inode's (SRC, the same
 * inode after the rename), and for a directory every hint beneath it.
 * --gc and the remount recovery trust them.
 */
static void rehint(const struct statx *src, int newdir, const char *newpath, const char *from)
{
	char to[PATH_MAX];
	/* No path for the new name (too long): no hints, rather than the
	 * old ones, which --gc would take for files gone. */
	int known = fb_path_hint(newdir, newpath, to, sizeof to) == 0;
	struct fb_ident id;
	fb_ident_from_statx(&id, src);
	fb_table_set_hint(fb_table(), &id, known ? to : "");
	if (S_ISDIR(src->stx_mode))
		fb_table_move_hints(fb_table(), from, known ? to : NULL);
}

/*
 * The real rename failed with EBUSY: a device bound over its placeholder
 * (dev.c) at either name, a mount point to the kernel.  A bound target
 * is detached, as unlink does; a bound source is detached, its
 * placeholder renamed and the host's node bound again at the new name.
 * 0 or -errno.
 */
static int rename_bound(int olddir, const char *oldpath, int newdir, const char *newpath,
			unsigned flags)
{
	FB_REAL(renameat2);
	dev_t src_dev = 0, dst_dev = 0;
	if (flags & RENAME_EXCHANGE)
		return -EBUSY;
	int src = fb_dev_unbind(olddir, oldpath, &src_dev) == 0;
	int dst = fb_dev_unbind(newdir, newpath, &dst_dev) == 0;
	if (!src && !dst)
		return -EBUSY;
	if (real_renameat2(olddir, oldpath, newdir, newpath, flags) < 0) {
		int e = errno;
		if (src)
			fb_dev_bind(olddir, oldpath, S_IFCHR, src_dev);
		if (dst)
			fb_dev_bind(newdir, newpath, S_IFCHR, dst_dev);
		return -e;
	}
	if (src)
		fb_dev_bind(newdir, newpath, S_IFCHR, src_dev);
	return 0;
}

/*
 * RENAME_EXCHANGE: the two inodes swap names, and the hints of each (and,
 * for directories, of everything beneath) go with it.  Beneath two
 * directories the second set of hints is moved through a name no hint can
 * have, so that the first move does not take it along.
 */
static int exchange(int olddir, const char *oldpath, int newdir, const char *newpath,
		    unsigned flags)
{
	FB_REAL(renameat2);
	struct statx a, b;
	char pa[PATH_MAX], pb[PATH_MAX];
	int hints = peek(olddir, oldpath, &a) && peek(newdir, newpath, &b) &&
		    (hints_at_stake(&a) || hints_at_stake(&b)) &&
		    fb_path_hint(olddir, oldpath, pa, sizeof pa) == 0 &&
		    fb_path_hint(newdir, newpath, pb, sizeof pb) == 0;
	if (real_renameat2(olddir, oldpath, newdir, newpath, flags) < 0)
		return -errno;
	if (!hints)
		return 0;
	struct fb_table *t = fb_table();
	struct fb_ident ia, ib;
	fb_ident_from_statx(&ia, &a);
	fb_ident_from_statx(&ib, &b);
	fb_table_set_hint(t, &ia, pb);
	fb_table_set_hint(t, &ib, pa);
	if (S_ISDIR(a.stx_mode) || S_ISDIR(b.stx_mode)) {
		static const char aside[] = "\001exchange";
		fb_table_move_hints(t, pb, aside);
		fb_table_move_hints(t, pa, pb);
		fb_table_move_hints(t, aside, pa);
	}
	return 0;
}

static int rename_core(int olddir, const char *oldpath, int newdir, const char *newpath,
		       unsigned flags)
{
	FB_REAL(renameat2);
	if (!real_renameat2)
		return -ENOSYS;
	fb_memo_drop();	/* a stat remembered of either name is out of date */
	if (flags & RENAME_EXCHANGE)
		return exchange(olddir, oldpath, newdir, newpath, flags);
	/* With records in the table: the source, and the target it replaces. */
	struct statx src, dst;
	int have_src = peek(olddir, oldpath, &src);
	int have_dst = have_src && peek(newdir, newpath, &dst);
	char from[PATH_MAX], gone[PATH_MAX];
	int moved = have_src && hints_at_stake(&src) &&
		    fb_path_hint(olddir, oldpath, from, sizeof from) == 0;
	/* A replaced target that keeps other names: this name is the source's now. */
	int other = have_dst && !fb_same_inode(&src, &dst);
	int hinted = other && hint_goes(newdir, newpath, &dst, gone);
	int held = other ? hold_last_name(newdir, newpath, &dst, gone) : -1;
	if (real_renameat2(olddir, oldpath, newdir, newpath, flags) < 0) {
		int rc = errno == EBUSY ? rename_bound(olddir, oldpath, newdir, newpath, flags)
					: -errno;
		if (rc < 0) {
			close_held(held);
			return rc;
		}
	}
	if (moved)
		rehint(&src, newdir, newpath, from);
	/* The replaced target goes away, unless it was another name of the
	 * source, or has other names (another process may have linked it
	 * meanwhile). */
	if (linked_meanwhile(held, &dst))
		hinted = 1;
	if (other && last_name(&dst))
		fb_forget(&dst);
	if (hinted) {
		struct fb_ident id;
		fb_ident_from_statx(&id, &dst);
		fb_table_drop_hint(fb_table(), &id, gone);
	}
	return 0;
}

FB_EXPORT int renameat2(int olddir, const char *oldpath, int newdir, const char *newpath,
			unsigned flags)
{
	FB_PROLOGUE(renameat2, olddir, oldpath, newdir, newpath, flags);
	return fb_ret(rename_core(olddir, oldpath, newdir, newpath, flags));
}

FB_EXPORT int renameat(int olddir, const char *oldpath, int newdir, const char *newpath)
{
	FB_PROLOGUE(renameat, olddir, oldpath, newdir, newpath);
	return fb_ret(rename_core(olddir, oldpath, newdir, newpath, 0));
}

FB_EXPORT int rename(const char *oldpath, const char *newpath)
{
	FB_PROLOGUE(rename, oldpath, newpath);
	return fb_ret(rename_core(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0));
}

/*
 * A file linked from its descriptor (AT_EMPTY_PATH, or /proc/self/fd/N
 * with AT_SYMLINK_FOLLOW: how an O_TMPFILE file gets its name) had no
 * path: its record's hint is the new name.
 */
static void hint_linked(const char *oldpath, int newdir, const char *newpath, int flags)
{
	if (!((flags & AT_EMPTY_PATH) && !*oldpath) &&
	    !((flags & AT_SYMLINK_FOLLOW) && strncmp(oldpath, "/proc/", 6) == 0 && strstr(oldpath, "/fd/")))
		return;
	struct statx stx;
	char to[PATH_MAX];
	struct fb_ident id;
	struct fb_attr a;
	if (!peek(newdir, newpath, &stx))
		return;
	fb_ident_from_statx(&id, &stx);
	if (fb_table_get(fb_table(), &id, &a) && fb_path_hint(newdir, newpath, to, sizeof to) == 0)
		fb_table_set_hint(fb_table(), &id, to);
}

/* peek, following a symbolic link with AT_SYMLINK_FOLLOW (linkat's FLAGS). */
static int peek_flags(int dirfd, const char *path, int flags, struct statx *stx)
{
	struct fb_table *t = fb_table();
	int f = (flags & AT_EMPTY_PATH) | (flags & AT_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW);
	return t && fb_table_count(t) && fb_sys_statx(dirfd, path, f, FB_STATX_MASK, stx) == 0;
}

/*
 * In a build root, a hard link to a file of a lower layer is made on the
 * file's copy in the upper layer, and without overlayfs's index (which
 * unprivileged mounts lack) the new name shows that copy's own inode
 * number where the old one shows the lower file's: two identities for
 * one file.  The new one takes the record of the old (owner, mode,
 * xattrs), so that both names show what the file is; it lost a setuid
 * bit in --keep's archive.  A later change through one name reaches only
 * that name's identity (fakebuild(7)).
 */
static void link_overlay_record(const struct statx *old, int newdir, const char *newpath)
{
	struct statx now;
	if (fb_sys_statx(newdir, newpath, AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, &now) == 0 &&
	    !fb_same_inode(&now, old))
		fb_record_copy(old, &now, newdir, newpath);
}

/*
 * link, linkat: passed through, but for a link to a device bound over its
 * placeholder (dev.c), which the kernel refuses with EXDEV (a mount of
 * its own): the bind is detached, the placeholder linked, and the host's
 * node bound again at both names.  One inode and one record, as a hard
 * link to a real node has.
 */
static int link_core(int olddir, const char *oldpath, int newdir, const char *newpath, int flags)
{
	FB_REAL(linkat);
	if (!real_linkat)
		return -ENOSYS;
	struct statx old;
	int in_overlay = fb_devmap_count() && peek_flags(olddir, oldpath, flags, &old) &&
			 fb_devmap_is_overlay(makedev(old.stx_dev_major, old.stx_dev_minor));
	if (real_linkat(olddir, oldpath, newdir, newpath, flags) == 0) {
		hint_linked(oldpath, newdir, newpath, flags);
		if (in_overlay)
			link_overlay_record(&old, newdir, newpath);
		return 0;
	}
	int e = errno;
	dev_t rdev;
	char target[PATH_MAX];
	/* With AT_SYMLINK_FOLLOW, OLDPATH may be a symbolic link to the node. */
	if (e == EXDEV && (flags & AT_SYMLINK_FOLLOW) &&
	    fb_dev_link_target(olddir, oldpath, target) == 0) {
		olddir = AT_FDCWD;
		oldpath = target;
	}
	if (e != EXDEV || (flags & AT_EMPTY_PATH) || fb_dev_unbind(olddir, oldpath, &rdev) < 0)
		return -e;
	int rc = real_linkat(olddir, oldpath, newdir, newpath, flags & ~AT_SYMLINK_FOLLOW);
	e = errno;
	fb_dev_bind(olddir, oldpath, S_IFCHR, rdev);
	if (rc < 0)
		return -e;
	fb_dev_bind(newdir, newpath, S_IFCHR, rdev);
	return 0;
}

FB_EXPORT int linkat(int olddir, const char *oldpath, int newdir, const char *newpath, int flags)
{
	FB_PROLOGUE(linkat, olddir, oldpath, newdir, newpath, flags);
	return fb_ret(link_core(olddir, oldpath, newdir, newpath, flags));
}

FB_EXPORT int link(const char *oldpath, const char *newpath)
{
	FB_PROLOGUE(link, oldpath, newpath);
	return fb_ret(link_core(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0));
}
