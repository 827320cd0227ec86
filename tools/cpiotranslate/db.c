/*
 * db.c - --db DB --root DIR: each entry gets the owner, group, mode,
 * device and faked extended attributes that a fakebuild session shows
 * for the file DIR/NAME, straight from the database: no manifest (mtree
 * has no keyword for xattrs, so a manifest loses them), no preload.
 *
 * The file is found by its path under DIR (lstat), its record by the
 * inode's identity, as the preload finds it; a file without a record is
 * root's with its real mode, as in a session.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "cpiotranslate.h"
#include "dbview.h"
#include "view.h"
#include "xblob.h"

/* uid -> user name (or gid -> group name); NULL: the id has no name. */
struct idname {
	unsigned id;
	char *name;
	UT_hash_handle hh;
};

struct dbsrc {
	struct fb_dbview *view;
	struct fb_table *t;
	char *dbpath;			/* for messages */
	const char *root;
	int rootfd;
	const char *passwd, *group;	/* the names' files, or NULL: the host's */
	struct idname *users, *groups;
	struct fb_mentry ent;		/* the entry looked up last */
	char path[PATH_MAX];
	void *blob;			/* its faked xattrs (xblob.h) */
	size_t blen, bcap;
};

/* --- names ----------------------------------------------------------------- */

static void name_add(struct idname **map, unsigned id, const char *name)
{
	struct idname *n;

	HASH_FIND_INT(*map, &id, n);
	if (n)
		return;		/* the first line wins, as getpwuid answers */
	if (!(n = calloc(1, sizeof *n)) || (name && !(n->name = strdup(name))))
		die("out of memory");
	n->id = id;
	HASH_ADD_INT(*map, id, n);
}

static void read_names(struct dbsrc *d)
{
	FILE *f;

	if (d->passwd) {
		struct passwd pw, *res;
		char buf[4096];
		if (!(f = fopen(d->passwd, "re")))
			die("%s: %s", d->passwd, strerror(errno));
		while (fgetpwent_r(f, &pw, buf, sizeof buf, &res) == 0)
			name_add(&d->users, pw.pw_uid, pw.pw_name);
		fclose(f);
	}
	if (d->group) {
		struct group gr, *res;
		char buf[16384];
		if (!(f = fopen(d->group, "re")))
			die("%s: %s", d->group, strerror(errno));
		while (fgetgrent_r(f, &gr, buf, sizeof buf, &res) == 0)
			name_add(&d->groups, gr.gr_gid, gr.gr_name);
		fclose(f);
	}
}

/*
 * The name a session's tar writes for ID: from the files given, else the
 * host's database (asked once per id: NSS may be slow).
 */
static char *id_name(struct dbsrc *d, int group, unsigned id)
{
	struct idname **map = group ? &d->groups : &d->users, *n;
	char buf[16384];

	HASH_FIND_INT(*map, &id, n);
	if (n)
		return n->name;
	if ((group ? d->group : d->passwd) != NULL)
		return NULL;
	if (group) {
		struct group gr, *res = NULL;
		getgrgid_r(id, &gr, buf, sizeof buf, &res);
		name_add(map, id, res ? res->gr_name : NULL);
	} else {
		struct passwd pw, *res = NULL;
		getpwuid_r(id, &pw, buf, sizeof buf, &res);
		name_add(map, id, res ? res->pw_name : NULL);
	}
	HASH_FIND_INT(*map, &id, n);
	return n->name;
}

static void free_names(struct idname **map)
{
	struct idname *n, *t;

	HASH_ITER(hh, *map, n, t) {
		HASH_DEL(*map, n);
		free(n->name);
		free(n);
	}
}

/* --- the database and the tree ----------------------------------------------- */

void db_open(struct ct *ct, const char *db, const char *root, const char *passwd,
	     const char *group)
{
	struct dbsrc *d = calloc(1, sizeof *d);
	struct fb_err err;
	struct stat st;

	if (!d || !(d->dbpath = strdup(db)))
		die("out of memory");
	d->root = root;
	d->passwd = passwd;
	d->group = group;
	d->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->rootfd < 0 || fstat(d->rootfd, &st) < 0)
		die("%s: the tree (--root): %s", root, strerror(errno));
	read_names(d);
	/* Root may read a build user's database (its file only, see dbview.h). */
	if (fb_dbview_open(db, FB_DBVIEW_ANY_OWNER, &d->view, &err) < 0)
		die("%s", err.msg);
	d->t = fb_dbview_table(d->view);
	if (ct->verbose)
		warnx("%s: reading %s", db, fb_dbview_source(d->view));
	ct->db = d;
}

void db_close(struct ct *ct)
{
	struct dbsrc *d = ct->db;

	if (!d)
		return;
	fb_dbview_close(d->view);
	close(d->rootfd);
	free_names(&d->users);
	free_names(&d->groups);
	free(d->blob);
	free(d->dbpath);
	free(d);
	ct->db = NULL;
}

const char *db_root(const struct ct *ct)
{
	return ct->db->root;
}

/* The record of the inode STX describes, with its xattr blob; 0 when there is none. */
static int get_record(struct dbsrc *d, const struct statx *stx, struct fb_attr *a)
{
	struct fb_ident id;
	int found;
	long n;

	fb_ident_from_statx(&id, stx);
	for (;;) {
		n = fb_table_get_xattrs(d->t, &id, a, &found, d->blob, d->bcap);
		if (n <= (long)d->bcap)
			break;
		/* Longer than the buffer: again with room (it may have grown meanwhile). */
		free(d->blob);
		if (!(d->blob = malloc((size_t)n)))
			die("out of memory");
		d->bcap = (size_t)n;
	}
	d->blen = found ? (size_t)n : 0;
	return found;
}

const struct fb_mentry *db_lookup(struct ct *ct, const char *name, const char *key)
{
	struct dbsrc *d = ct->db;
	struct fb_mentry *e = &d->ent;
	struct statx stx;
	struct fb_attr a;

	if (statx(d->rootfd, key, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &stx) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return NULL;
		die("%s: %s/%s: %s", name, d->root, key, strerror(errno));
	}
	if (!get_record(d, &stx, &a))
		fb_view(NULL, &stx, 0, &a);	/* no record: root's, with the real mode */
	snprintf(d->path, sizeof d->path, "%s", key);
	memset(e, 0, sizeof *e);
	e->path = d->path;
	e->type = fb_mtype_of_ifmt(a.mode);
	e->have = FB_MH_UID | FB_MH_GID | FB_MH_MODE;
	e->uid = a.uid;
	e->gid = a.gid;
	e->perm = a.mode & 07777;
	e->uname = id_name(d, 0, a.uid);
	e->gname = id_name(d, 1, a.gid);
	if (S_ISCHR(a.mode) || S_ISBLK(a.mode)) {
		e->have |= FB_MH_RDEV;
		e->dev_major = major(a.rdev);
		e->dev_minor = minor(a.rdev);
	}
	e->file = d->dbpath;
	return e;
}

/* --- extended attributes ------------------------------------------------------ */

/*
 * A POSIX ACL in its xattr form (version 2, then tag, perm, id per entry)
 * as libarchive's ACL entries, so writers store it as tar and bsdtar do
 * (SCHILY.acl.access and .default).  0, or -1 when malformed.
 */
static int add_acl(struct archive_entry *e, int type, const unsigned char *v, size_t len)
{
	struct { uint16_t tag, perm; uint32_t id; } x;
	uint32_t version;

	if (len < 4 || (len - 4) % sizeof x)
		return -1;
	memcpy(&version, v, 4);
	if (version != 2)
		return -1;
	for (size_t off = 4; off < len; off += sizeof x) {
		int tag, id = -1;
		memcpy(&x, v + off, sizeof x);
		switch (x.tag) {
		case 0x01: tag = ARCHIVE_ENTRY_ACL_USER_OBJ; break;
		case 0x02: tag = ARCHIVE_ENTRY_ACL_USER; id = (int)x.id; break;
		case 0x04: tag = ARCHIVE_ENTRY_ACL_GROUP_OBJ; break;
		case 0x08: tag = ARCHIVE_ENTRY_ACL_GROUP; id = (int)x.id; break;
		case 0x10: tag = ARCHIVE_ENTRY_ACL_MASK; break;
		case 0x20: tag = ARCHIVE_ENTRY_ACL_OTHER; break;
		default: return -1;
		}
		/* rwx are the same bits in both. */
		if (archive_entry_acl_add_entry(e, type, x.perm & 7, tag, id, NULL) != ARCHIVE_OK)
			return -1;
	}
	return 0;
}

struct blob_ctx {
	struct ct *ct;
	struct archive_entry *e;
	const void *blob;
	size_t len;
	bool acls;		/* the output holds ACLs */
};

static void put_recorded(const char *n, size_t nl, void *arg)
{
	struct blob_ctx *c = arg;
	const void *v;
	size_t vl;
	char name[256 + 16];

	if (nl >= sizeof name)
		return;		/* longer than Linux allows (255): never recorded */
	memcpy(name, n, nl);
	name[nl] = '\0';
	if (fb_xblob_get(c->blob, c->len, name, &v, &vl) != 1)
		return;
	if (strcmp(name, FB_XATTR_ACL_ACCESS) == 0 || strcmp(name, FB_XATTR_ACL_DEFAULT) == 0) {
		if (!c->acls)
			return;
		int type = strcmp(name, FB_XATTR_ACL_ACCESS) == 0 ? ARCHIVE_ENTRY_ACL_TYPE_ACCESS
							 : ARCHIVE_ENTRY_ACL_TYPE_DEFAULT;
		if (add_acl(c->e, type, v, vl) < 0)
			warnx("%s: %s: the recorded ACL is malformed; left out",
			      archive_entry_pathname(c->e), name);
		return;
	}
	archive_entry_xattr_add_entry(c->e, name, v, vl);
}

static bool faked_name(const char *name)
{
	return fb_xattr_faked(name);
}

void db_xattrs(struct ct *ct, struct archive_entry *e)
{
	struct dbsrc *d = ct->db;
	/*
	 * In a session the faked namespaces show the recorded values only
	 * (the real ones, such as the build user's own ACLs, are hidden);
	 * everything else, user.* above all, is the real file's.
	 */
	drop_xattrs(e, faked_name);
	/*
	 * libarchive keeps an access ACL's owning-group entry in the mode's
	 * group bits (where POSIX has the mask), so ACLs go only where the
	 * output stores them, pax: elsewhere they would only change the mode.
	 */
	bool acls = ct->fmt->code == ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE ||
		    ct->fmt->code == ARCHIVE_FORMAT_TAR_PAX_RESTRICTED;
	if (acls)
		archive_entry_acl_clear(e);
	if (d->blen) {
		struct blob_ctx c = { ct, e, d->blob, d->blen, acls };
		if (fb_xblob_names(d->blob, d->blen, put_recorded, &c) < 0)
			warnx("%s: the recorded extended attributes are damaged; left out",
			      archive_entry_pathname(e));
	}
}

/* -n: a recorded attribute the archive lacks. */
static void missing_xattr(const char *n, size_t nl, void *arg)
{
	struct blob_ctx *c = arg;
	const char *xn;
	const void *xv;
	size_t xl;

	if (nl > 7 && memcmp(n, "system.", 7) == 0)
		return;		/* ACLs: compared by no one here */
	archive_entry_xattr_reset(c->e);
	while (archive_entry_xattr_next(c->e, &xn, &xv, &xl) == ARCHIVE_OK)
		if (strlen(xn) == nl && memcmp(xn, n, nl) == 0)
			return;
	diff(c->ct, "%s: xattr %.*s: in the database, not in archive",
	     archive_entry_pathname(c->e), (int)nl, n);
}

/* -n: the archive's attributes of the faked namespaces against the record (ACLs aside). */
void db_compare_xattrs(struct ct *ct, struct archive_entry *e, const char *name)
{
	struct dbsrc *d = ct->db;
	const char *xn;
	const void *xv, *rv;
	size_t xl, rl;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &xn, &xv, &xl) == ARCHIVE_OK) {
		if (!fb_xattr_faked(xn) || strncmp(xn, "system.", 7) == 0)
			continue;
		if (fb_xblob_get(d->blob, d->blen, xn, &rv, &rl) != 1)
			diff(ct, "%s: xattr %s: in archive, not in the database", name, xn);
		else if (rl != xl || memcmp(rv, xv, xl) != 0)
			diff(ct, "%s: xattr %s: differs from the database", name, xn);
	}
	struct blob_ctx c = { ct, e, d->blob, d->blen, false };
	if (d->blen)
		fb_xblob_names(d->blob, d->blen, missing_xattr, &c);
}
