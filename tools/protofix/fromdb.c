/*
 * fromdb.c - --from-db DB: the tree against what a fakebuild session shows
 * of it, file by file, with no manifest: the database is the manifest.
 *
 * Every file of the tree is an entry: a file with a record should have
 * the record's owner, group, mode, type (a placeholder becomes its device
 * or fifo) and faked extended attributes (security.capability, trusted.*,
 * ACLs: the ones mtree cannot carry); a file without one should be
 * root:root with its own mode, as a session shows it.  The entries go
 * through the manifest walk's own checks and fixes (walk.c), parents
 * first, so everything said there about safety holds here.  The database
 * is the build user's word, like a manifest the build wrote; hard-linked
 * files that are not the build user's own are not touched (walk.c).
 *
 * --fix makes a real device node in a placeholder's place: a new inode,
 * with no record, while the database still holds the placeholder's.  A
 * device node with no record is therefore looked up by its path among
 * the placeholders' records, and one of its own type and numbers stands
 * for it: a second run finds nothing to do, instead of taking the node
 * for root's and undoing the group the first run gave it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <uthash.h>
#include "dbview.h"
#include "protofix.h"
#include "view.h"

/* A placeholder's record, by its path hint (absolute). */
struct placeholder {
	UT_hash_handle hh;
	struct fb_attr a;
	void *xattrs;
	size_t xlen;
	char hint[];
};

static struct placeholder *placeholders;

static int add_placeholder(const char *hint, const struct fb_attr *a, const void *xattrs,
			   size_t xlen, void *arg)
{
	(void)arg;
	struct placeholder *p;
	size_t n = strlen(hint) + 1;

	HASH_FIND_STR(placeholders, hint, p);
	if (p)
		return 0;	/* two records, one path: a stale one; either is the build's word */
	if (!(p = malloc(sizeof *p + n)) || (xlen && !(p->xattrs = malloc(xlen))))
		die("out of memory");
	memcpy(p->hint, hint, n);
	p->a = *a;
	p->xlen = xlen;
	if (xlen)
		memcpy(p->xattrs, xattrs, xlen);
	else
		p->xattrs = NULL;
	HASH_ADD_STR(placeholders, hint, p);
	return 0;
}

/* The placeholder record the real node STX at PATH (in the tree) replaced, or NULL. */
static const struct placeholder *replaced(const struct pf *pf, const char *path,
					  const struct statx *stx)
{
	char h[PATH_MAX];
	struct placeholder *p;

	if (!placeholders || (!S_ISCHR(stx->stx_mode) && !S_ISBLK(stx->stx_mode)) ||
	    snprintf(h, sizeof h, "%s/%s", pf->root_abs, path) >= (int)sizeof h)
		return NULL;
	HASH_FIND_STR(placeholders, h, p);
	if (!p || (p->a.mode & S_IFMT) != (stx->stx_mode & S_IFMT) ||
	    p->a.rdev != makedev(stx->stx_rdev_major, stx->stx_rdev_minor))
		return NULL;
	return p;
}

struct scan {
	struct pf *pf;
	struct pf_dirstack *ds;
	void *blob;
	size_t cap;
	char path[PATH_MAX];
};

void pf_fromdb_open(struct pf *pf)
{
	struct fb_err err;

	/* Root reads the build user's database: the gdbm file, never their live table. */
	if (fb_dbview_open(pf->o.from_db, FB_DBVIEW_ANY_OWNER, &pf->view, &err) < 0)
		die("%s", err.msg);
	pf->view_table = fb_dbview_table(pf->view);
	int r = fb_table_foreach_placeholder(pf->view_table, add_placeholder, NULL);
	if (r < 0)
		die("%s: %s", pf->o.from_db, strerror(-r));
}

void pf_fromdb_close(struct pf *pf)
{
	struct placeholder *p, *tmp;

	HASH_ITER(hh, placeholders, p, tmp) {
		HASH_DEL(placeholders, p);
		free(p->xattrs);
		free(p);
	}
	fb_dbview_close(pf->view);
	pf->view = NULL;
	pf->view_table = NULL;
}

/* The entry the database makes of NAME in DIRFD (PATH in the tree); the file's real type in *REAL. */
static int visit(struct scan *s, int dirfd, const char *name, mode_t *real)
{
	struct statx stx;
	struct fb_ident id;
	struct fb_attr a;
	int found;
	long n;

	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &stx) < 0)
		return -errno;
	*real = stx.stx_mode;
	fb_ident_from_statx(&id, &stx);
	while ((n = fb_table_get_xattrs(s->pf->view_table, &id, &a, &found, s->blob, s->cap)) >
	       (long)s->cap) {
		free(s->blob);
		if (!(s->blob = malloc((size_t)n)))
			die("out of memory");
		s->cap = (size_t)n;
	}
	struct pf_xattrs x = { s->blob, found && n > 0 ? (size_t)n : 0 };
	const struct placeholder *ph = found ? NULL : replaced(s->pf, s->path, &stx);
	if (ph) {
		a = ph->a;
		x = (struct pf_xattrs){ ph->xattrs, ph->xlen };
	} else if (!found) {
		fb_view(NULL, &stx, 0, &a);	/* no record: root's, with the real mode */
	}
	struct fb_mentry e = {
		.path = s->path,
		.type = fb_mtype_of_ifmt(a.mode),
		.have = FB_MH_UID | FB_MH_GID | FB_MH_MODE,
		.uid = a.uid,
		.gid = a.gid,
		.perm = a.mode & 07777,
		.file = s->pf->o.from_db,
	};
	if (S_ISCHR(a.mode) || S_ISBLK(a.mode)) {
		e.have |= FB_MH_RDEV;
		e.dev_major = major(a.rdev);
		e.dev_minor = minor(a.rdev);
	}
	pf_walk_entry(s->pf, s->ds, &e, &x);
	return 0;
}

/* The directory FD (consumed), PATH its path in the tree ("" for the root). */
static void scan_dir(struct scan *s, int fd, size_t len)
{
	int keep = dup(fd);	/* fdopendir takes FD; the children are opened beneath KEEP */
	struct pf_name *v;
	size_t i, n;
	int err;

	if (keep < 0)
		die("dup: %s", strerror(errno));
	v = pf_read_dir(fd, &n, &err);
	if (err)
		pf_err(s->pf, len ? s->path : ".", "read directory", err);
	for (i = 0; i < n; i++) {
		size_t nl = strlen(v[i].s), clen = len ? len + 1 + nl : nl;
		mode_t real = 0;
		int r;

		if (clen >= sizeof s->path) {
			pf_err(s->pf, s->path, v[i].s, -ENAMETOOLONG);
			free(v[i].s);
			continue;
		}
		if (len)
			s->path[len] = '/';
		memcpy(s->path + (len ? len + 1 : 0), v[i].s, nl + 1);
		if (!pf_except_match(s->pf->exc, s->path)) {
			r = visit(s, keep, v[i].s, &real);
			if (r < 0 && r != -ENOENT)
				pf_err(s->pf, s->path, "stat", r);
			/* Entered without following a link: a directory swapped for one is an error. */
			if (r == 0 && S_ISDIR(real)) {
				int cfd = openat(keep, v[i].s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (cfd < 0)
					pf_err(s->pf, s->path, "open", -errno);
				else
					scan_dir(s, cfd, clen);
			}
		}
		s->path[len] = '\0';
		free(v[i].s);
	}
	free(v);
	close(keep);
}

void pf_walk_db(struct pf *pf)
{
	struct scan s = { .pf = pf };
	mode_t real;
	int fd, r;

	s.ds = pf_dirstack_new(pf->rootfd);
	pf_walk_begin(pf);
	strcpy(s.path, ".");
	r = visit(&s, pf->rootfd, ".", &real);
	if (r < 0)
		pf_err(pf, pf->root, "stat", r);
	s.path[0] = '\0';
	fd = pf_open_beneath(pf->rootfd, ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		pf_err(pf, pf->root, "open", fd);
	else
		scan_dir(&s, fd, 0);
	pf_walk_end(pf);
	pf_dirstack_free(s.ds);
	free(s.blob);
}
