/*
 * table_copy.c - seeding one live table from another (see table.h).
 * Through the same bulk interface as the durable store (table_impl.h):
 * a consistent walk of SRC under its lock, each record inserted into DST
 * as the store loads one.
 */
#include <errno.h>
#include <string.h>

#include "table_impl.h"

struct copy_ctx {
	struct fb_table *dst;
	const char *const *dirs;
	size_t n;
	long copied;
	int rc;
};

/* Is HINT DIR itself or below it? */
static int under(const char *hint, const char *dir)
{
	size_t l = strlen(dir);
	if (l == 1 && dir[0] == '/')
		return hint[0] == '/';
	return strncmp(hint, dir, l) == 0 && (hint[l] == '/' || hint[l] == 0);
}

static int copy_one(const struct fb_trec *r, const char *hint, const void *xattrs, void *arg)
{
	struct copy_ctx *c = arg;
	if (!hint)
		return 0;
	size_t i;
	for (i = 0; i < c->n && !under(hint, c->dirs[i]); i++)
		;
	if (i == c->n)
		return 0;
	int rc = fb_table_load_rec(c->dst, r, hint, xattrs, xattrs ? r->xattr_len : 0);
	if (rc < 0) {
		c->rc = rc;
		return 1;
	}
	c->copied++;
	return 0;
}

long fb_table_copy_under(struct fb_table *dst, struct fb_table *src, const char *const *dirs,
			 size_t n)
{
	if (dst == src)
		return -EINVAL;
	struct copy_ctx c = { .dst = dst, .dirs = dirs, .n = n };
	int rc = fb_table_foreach(src, copy_one, &c);
	if (c.rc < 0)
		return c.rc;
	if (rc < 0)
		return rc;
	return c.copied;
}

struct dirs {
	fb_table_dir_fn fn;
	void *arg;
};

static int visit_dir(const struct fb_trec *r, const char *hint, const void *xattrs, void *arg)
{
	(void)hint;
	(void)xattrs;
	const struct dirs *d = arg;
	if (fb_rt_type(r->real_type) != S_IFDIR)
		return 0;
	struct fb_attr a = { .uid = r->uid, .gid = r->gid, .mode = r->mode, .rdev = r->rdev };
	return d->fn(r->dev, r->ino, &a, d->arg);
}

int fb_table_foreach_dir(struct fb_table *t, fb_table_dir_fn fn, void *arg)
{
	struct dirs d = { fn, arg };
	return fb_table_foreach(t, visit_dir, &d);
}
