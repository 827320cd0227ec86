/*
 * table_set.c - read-modify-write of one file's record, for the tools
 * (protofix --db).  Not linked into the preload library: it calls statx,
 * which the library interposes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "table.h"
#include "view.h"

int fb_table_set_at(struct fb_table *t, int dirfd, const char *name, int atflags,
		    unsigned what, const struct fb_attr *a, const char *path_hint)
{
	struct statx stx;
	if (statx(dirfd, name, atflags, STATX_BASIC_STATS | STATX_BTIME, &stx) < 0)
		return -errno;
	struct fb_attr cur;
	fb_view(t, &stx, 0, &cur);
	if (what & FB_SET_UID)
		cur.uid = a->uid;
	if (what & FB_SET_GID)
		cur.gid = a->gid;
	if (what & FB_SET_TYPE) {
		cur.mode = (cur.mode & 07777) | (a->mode & S_IFMT);
		cur.rdev = a->rdev;
	}
	if (what & FB_SET_PERM)
		cur.mode = (cur.mode & S_IFMT) | (a->mode & 07777);
	struct fb_ident id;
	fb_ident_from_statx(&id, &stx);
	return fb_table_put(t, &id, &cur, path_hint);
}
