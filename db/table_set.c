/*
 * table_set.c - read-modify-write of one file's record, for the tools
 * (protofix --db, fakebuild --gc).  Not linked into the preload library: it calls statx,
 * which the library interposes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <stdlib.h>
#include <sys/sysmacros.h>

#include "table_impl.h"
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

/* ---- garbage collection ---------------------------------------------- */

struct gc_ctx {
	struct { uint64_t dev, ino; } *drop;
	size_t n, cap;
	long kept, unknown;
	int nomem;
};

/*
 * Does the record's path hint still lead to its inode?  1 yes, 0 no (no
 * such name, or another file has it), -1 cannot tell: a name we may not
 * look up (a directory without search permission), an I/O error, a stale
 * NFS handle, a path too long.  Only a name that is not there, or is
 * another file's, proves anything.
 */
static int still_there(const struct fb_trec *r, const char *hint)
{
	struct statx x;
	if (statx(AT_FDCWD, hint, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &x) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (makedev(x.stx_dev_major, x.stx_dev_minor) != r->dev || x.stx_ino != r->ino ||
	    (x.stx_mode & S_IFMT) != fb_rt_type(r->real_type))
		return 0;
	if ((x.stx_mask & STATX_BTIME) && (r->btime_sec || r->btime_nsec))
		return x.stx_btime.tv_sec == r->btime_sec && x.stx_btime.tv_nsec == r->btime_nsec;
	return 1;
}

static int gc_visit(const struct fb_trec *r, const char *hint, const void *xattrs, void *arg)
{
	struct gc_ctx *c = arg;
	(void)xattrs;
	if (!hint || hint[0] != '/') {
		c->unknown++;
		return 0;
	}
	int there = still_there(r, hint);
	if (there) {
		if (there > 0)
			c->kept++;
		else
			c->unknown++;
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		void *p = realloc(c->drop, cap * sizeof *c->drop);
		if (!p) {
			c->nomem = 1;
			return 1;
		}
		c->drop = p;
		c->cap = cap;
	}
	c->drop[c->n].dev = r->dev;
	c->drop[c->n].ino = r->ino;
	c->n++;
	return 0;
}

long fb_table_gc(struct fb_table *t, long *kept, long *unknown)
{
	struct gc_ctx c = { 0 };
	int rc = fb_table_foreach(t, gc_visit, &c);
	long dropped = 0;
	for (size_t i = 0; rc == 0 && i < c.n; i++)
		if (fb_table_drop_key(t, c.drop[i].dev, c.drop[i].ino) > 0)
			dropped++;
	free(c.drop);
	if (c.nomem)
		return -ENOMEM;
	if (rc < 0)
		return rc;
	*kept = c.kept;
	*unknown = c.unknown;
	return dropped;
}
