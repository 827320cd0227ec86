/*
 * unlink.c - unlink, rmdir, remove, rename.  Cores: unlink_core,
 * rename_core.  A record goes with the last name of its inode, so a new
 * file that gets the same inode number never inherits it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
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

static int unlink_core(int dirfd, const char *path, int flags)
{
	FB_REAL(unlinkat);
	if (!real_unlinkat)
		return -ENOSYS;
	struct statx stx;
	fb_memo_drop();
	int have = peek(dirfd, path, &stx);
	if (real_unlinkat(dirfd, path, flags) < 0) {
		int e = errno;
		/* A device placeholder with the host's node bound over it (dev.c). */
		if (e != EBUSY || (flags & AT_REMOVEDIR) || fb_dev_unbind(dirfd, path) < 0)
			return -e;
		if (real_unlinkat(dirfd, path, flags) < 0)
			return -errno;
	}
	if (have && last_name(&stx))
		fb_forget(&stx);
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
	if (fb_path_hint(newdir, newpath, to, sizeof to) < 0)
		return;
	struct fb_ident id;
	fb_ident_from_statx(&id, src);
	fb_table_set_hint(fb_table(), &id, to);
	if (S_ISDIR(src->stx_mode))
		fb_table_move_hints(fb_table(), from, to);
}

/* Does the table hold hints that this rename can make wrong? */
static int hints_at_stake(const struct statx *src)
{
	if (S_ISDIR(src->stx_mode))
		return 1;	/* the hints of everything beneath it */
	struct fb_ident id;
	struct fb_attr a;
	fb_ident_from_statx(&id, src);
	return fb_table_get(fb_table(), &id, &a);
}

static int rename_core(int olddir, const char *oldpath, int newdir, const char *newpath,
		       unsigned flags)
{
	FB_REAL(renameat2);
	if (!real_renameat2)
		return -ENOSYS;
	/* With records in the table: the source, and the target it replaces. */
	struct statx src, dst;
	fb_memo_drop();
	int have_src = !(flags & RENAME_EXCHANGE) && peek(olddir, oldpath, &src);
	int have_dst = have_src && peek(newdir, newpath, &dst);
	char from[PATH_MAX];
	int moved = have_src && hints_at_stake(&src) &&
		    fb_path_hint(olddir, oldpath, from, sizeof from) == 0;
	if (real_renameat2(olddir, oldpath, newdir, newpath, flags) < 0)
		return -errno;
	if (moved)
		rehint(&src, newdir, newpath, from);
	/* The replaced target goes away, unless it was another name of the source. */
	if (have_dst && !fb_same_inode(&src, &dst) && last_name(&dst))
		fb_forget(&dst);
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
