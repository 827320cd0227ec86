/*
 * walk.c - what a build root leaves: records merged back into the user's
 * database, --keep, --changes; and the removal of scratch directories.
 *
 * All of it runs in fakebuild, outside the namespaces, after pid 1 and
 * with it every process of the build are gone: nothing the build runs can
 * race these walks.  A changed tree is walked on the host (the upper
 * directory, or a writable --bind source, through descriptors opened
 * before the build), and the same path is looked up in the overlay as the
 * build saw it (its mount, held open by a descriptor; the namespace and
 * whatever the build mounted on top are gone).  Each file then has two
 * identities: the real inode (what plain fakebuild sessions will look up)
 * and the one the build's records are keyed by (db/view.h's map of the
 * overlay: the lower inode for a file copied up).
 *
 * Trust: the build could write any record into the root's table.  Only
 * records of files found in a kept tree are copied to the user's table,
 * re-keyed to those files' real inodes: a build cannot forge the owner of
 * a file it was not given to change.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <uthash.h>

#include "archive_dl.h"
#include "escape.h"
#include "fakebuild.h"
#include "root.h"
#include "store.h"
#include "view.h"
#include "xblob.h"

#define FB_VIEW_STATX_MASK (STATX_BASIC_STATS | STATX_BTIME)

int fb_remove_tree(int at, const char *name)
{
	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM && errno != EACCES)
		return -errno;
	/* Overlayfs leaves its work directory mode 000; a build may leave
	 * others so: make each writable before emptying it.  If that fails,
	 * the open or the unlinks below say why. */
	if (fchmodat(at, name, 0700, 0) < 0)
		errno = 0;
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		int r = fb_remove_tree(dirfd(d), e->d_name);
		if (r < 0 && rc == 0)
			rc = r;
	}
	closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* ---- walking a changed tree ----------------------------------------------- */

enum walk_mode { W_SEED, W_MERGE, W_KEEP, W_CHANGES };

struct hardlink {
	uint64_t dev, ino;
	char *path;
	UT_hash_handle hh;
};

struct walker {
	enum walk_mode mode;
	struct fb_table *rt, *ut;	/* the root's table, the user's */
	dev_t ovl_dev;			/* the overlay seen through ovl descriptors */
	const int *lower;		/* --changes: the layers under it (top first) */
	int nlower;
	struct archive *a;		/* --keep */
	const char *out;		/* the name of --keep's or --changes' file */
	struct hardlink *links;
	FILE *list;			/* --changes */
	struct fb_dirnote *dirs_before;	/* --changes: fb_walk_note_dirs */
	char host[8192];		/* the host path of the directory walked */
	char inside[8192];		/* its path inside the root, "" for / */
	size_t base;			/* --changes: where the walked tree starts in inside[] */
	int failed;
	long unrecorded;		/* merge: records the user's table refused */
	const char *db;			/* merge: the user's database */
	struct fb_table *spill;		/* merge: the refused records, kept */
	int spill_err;			/* why one could not be kept */
	char spill_tmp[PATH_MAX + 48];	/* the spill table's file */
	unsigned char blob[65536];
};

static const char *opaque_name = "user.overlay.opaque";

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory FD, sorted (an archive's order should not depend on the disk's). */
static char **names_of(int fd, size_t *n)
{
	int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return NULL;
	}
	size_t cap = 64, k = 0;
	char **v = malloc(cap * sizeof *v);
	struct dirent *e;
	while (v && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (k == cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof *v);
			if (!nv)
				break;
			v = nv;
		}
		v[k++] = strdup(e->d_name);
	}
	closedir(d);
	if (v)
		qsort(v, k, sizeof *v, by_name);
	*n = k;
	return v;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A whiteout (the character device 0,0), as fstat shows it. */
static int whiteout_st(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Is the directory open (O_PATH) on FD opaque, hiding what the layers
 * below hold there? */
static int opaque_dir(int fd)
{
	char v[8];
	int d = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ssize_t n = d >= 0 ? fgetxattr(d, opaque_name, v, sizeof v) : -1;
	if (d >= 0)
		close(d);
	return n == 1 && v[0] == 'y';
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * REL as the lower layers show it, merged as overlayfs merges them: in
 * FDS (room for w->nlower), O_PATH descriptors of REL in each layer that
 * lends it something, top first.  Returns how many: 0 when no layer shows
 * REL (none has it, a higher one has a whiteout, or a non-directory on
 * its way).  Only a directory is lent by more than one layer: by each
 * down to the first that is opaque there, or that has anything else.
 */
static int lower_stack(const struct walker *w, const char *rel, int *fds)
{
	int n = 0;
	for (int i = 0; i < w->nlower; i++)
		if ((fds[n] = openat(w->lower[i], ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) >= 0)
			n++;
	char comp[NAME_MAX + 1];
	for (const char *p = rel; *p && n > 0;) {
		size_t len = strcspn(p, "/");
		if (len > NAME_MAX) {
			close_all(fds, n);
			return 0;
		}
		memcpy(comp, p, len);
		comp[len] = 0;
		p += len;
		p += strspn(p, "/");
		int next[FB_ROOT_LAYERS], m = 0;
		for (int i = 0; i < n; i++) {
			int fd = openat(fds[i], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			struct stat st;
			if (fd < 0)
				continue;
			if (fstat(fd, &st) < 0 || whiteout_st(&st) || (m > 0 && !S_ISDIR(st.st_mode))) {
				close(fd);	/* gone here, and in every layer below */
				break;
			}
			next[m++] = fd;
			if (!S_ISDIR(st.st_mode) || opaque_dir(fd))
				break;
		}
		close_all(fds, n);
		memcpy(fds, next, (size_t)m * sizeof *fds);
		n = m;
		struct stat st;
		if (n > 0 && *p && (fstat(fds[0], &st) < 0 || !S_ISDIR(st.st_mode))) {
			close_all(fds, n);	/* a path through a file */
			return 0;
		}
	}
	return n;
}

/* Open REL as the lower layers show it: an O_PATH descriptor of the top
 * layer's file, or -1 when they do not show it. */
static int lower_open(const struct walker *w, const char *rel)
{
	int fds[FB_ROOT_LAYERS];
	int n = lower_stack(w, rel, fds);
	if (n > 1)
		close_all(fds + 1, n - 1);
	return n > 0 ? fds[0] : -1;
}

/* REL's file in the lower layers (a whiteout there: none): 0 with *X set, or -1. */
static int lower_statx(const struct walker *w, const char *rel, struct statx *x)
{
	int fd = lower_open(w, rel);
	if (fd < 0)
		return -1;
	int rc = statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, FB_VIEW_STATX_MASK, x);
	close(fd);
	return rc;
}

static int is_whiteout(const struct statx *x)
{
	return S_ISCHR(x->stx_mode) && x->stx_rdev_major == 0 && x->stx_rdev_minor == 0;
}

static void join(char *out, size_t len, const char *dir, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* The fake attributes of the file the build saw as VIEW (its statx), and its blob. */
static long view_of(struct walker *w, const struct statx *view, struct fb_attr *a, int *found)
{
	struct fb_ident id;
	fb_ident_from_statx(&id, view);
	long n = fb_table_get_xattrs(w->rt, &id, a, found, w->blob, sizeof w->blob);
	if (!*found) {
		fb_view(NULL, view, 0, a);
		return 0;
	}
	return n > (long)sizeof w->blob ? -1 : n;
}

/* --changes: a directory's record before the build, keyed as the table keys it. */
struct fb_dirnote {
	uint64_t key[2];	/* dev, ino */
	struct fb_attr a;
	UT_hash_handle hh;
};

static int note_dir(uint64_t dev, uint64_t ino, const struct fb_attr *a, void *arg)
{
	struct fb_dirnote **notes = arg, *n = malloc(sizeof *n);
	if (!n)
		return -ENOMEM;
	n->key[0] = dev;
	n->key[1] = ino;
	n->a = *a;
	HASH_ADD(hh, *notes, key, sizeof n->key, n);
	return 0;
}

int fb_walk_note_dirs(struct fb_root *r, struct fb_table *rt)
{
	return fb_table_foreach_dir(rt, note_dir, &r->dirs_before);
}

static void free_dir_notes(struct fb_root *r)
{
	struct fb_dirnote *n, *t;
	HASH_ITER(hh, r->dirs_before, n, t) {
		HASH_DEL(r->dirs_before, n);
		free(n);
	}
}

/*
 * --changes: a directory is in the upper layer for its children's sake
 * too; it changed when the owner, group or mode the build sees now
 * (VIEW, through the overlay; NULL: it cannot be seen) differ from those
 * LO, the lower layer's directory, had before the build: noted then, or
 * its default view.  On disk neither tells: a chown or a set-id bit
 * never reaches the disk.
 */
static int dir_changed(struct walker *w, const struct statx *lo, const struct statx *view)
{
	if (!view)
		return 1;
	struct fb_attr was, now;
	struct fb_dirnote *n;
	uint64_t key[2] = { makedev(lo->stx_dev_major, lo->stx_dev_minor), lo->stx_ino };
	HASH_FIND(hh, w->dirs_before, key, sizeof key, n);
	if (n)
		was = n->a;
	else
		fb_view(NULL, lo, 0, &was);
	int found;
	view_of(w, view, &now, &found);
	return was.uid != now.uid || was.gid != now.gid || (was.mode & 07777) != (now.mode & 07777);
}

/*
 * A record the user's table refused (full), kept in a table of its own
 * next to the database, saved as a database by keep_spilled: the build's
 * files are there, and their owners are not lost with the root's table.
 * The table's file is DB.new.PID...: a session's start removes it if
 * fakebuild dies before it is saved.
 */
static void spill(struct walker *w, const struct fb_ident *id, const struct fb_attr *a, size_t blen,
		  const char *hint)
{
	if (!w->db || w->spill_err)
		return;
	if (!w->spill) {
		if ((size_t)snprintf(w->spill_tmp, sizeof w->spill_tmp, "%s.new.%ld.unrecorded", w->db,
				     (long)getpid()) >= sizeof w->spill_tmp) {
			w->spill_err = ENAMETOOLONG;
			return;
		}
		/* No more than the root's table holds can be refused. */
		uint64_t cap = fb_table_count(w->rt) + FB_TABLE_MIN_CAPACITY;
		unlink(w->spill_tmp);
		int rc = fb_table_create(w->spill_tmp, cap < FB_TABLE_MAX_CAPACITY ? cap : FB_TABLE_MAX_CAPACITY,
					 &w->spill);
		if (rc < 0) {
			unlink(w->spill_tmp);
			w->spill_err = -rc;
			return;
		}
	}
	int rc = blen ? fb_table_put_xattrs(w->spill, id, a, w->blob, blen, hint) : fb_table_put(w->spill, id, a, hint);
	if (rc < 0)
		w->spill_err = -rc;
}

/* Where the refused records are saved: DB.unrecorded.PID, or with .N if a
 * file of an earlier run has that name.  0, or -1 if none is free. */
static int spill_name(const struct walker *w, char *out, size_t len)
{
	for (int n = 0; n < 1000; n++) {
		int l = n ? snprintf(out, len, "%s.unrecorded.%ld.%d", w->db, (long)getpid(), n)
			  : snprintf(out, len, "%s.unrecorded.%ld", w->db, (long)getpid());
		if (l < 0 || (size_t)l >= len)
			return -1;
		struct stat st;
		if (lstat(out, &st) < 0 && errno == ENOENT)
			return 0;
	}
	return -1;
}

/* After the merge: the refused records saved as a database the user can load with -i. */
static void keep_spilled(struct walker *w)
{
	if (!w->unrecorded || !w->db)
		return;	/* without a database, spill kept nothing */
	char out[PATH_MAX + 64], why_buf[PATH_MAX + 160];
	struct fb_err err = { 0 };
	const char *why = NULL;
	if (w->spill_err) {
		snprintf(why_buf, sizeof why_buf, "%s: %s", w->spill_tmp, strerror(w->spill_err));
		why = why_buf;
	}
	if (!why && w->spill && spill_name(w, out, sizeof out) < 0)
		why = "no free name for the file that would keep them";
	if (!why && w->spill && fb_store_save_copy(out, w->spill, &err) < 0)
		why = err.msg;
	if (w->spill) {
		fb_table_detach(w->spill);
		unlink(w->spill_tmp);
	}
	if (why) {
		warnx_("the owners of those %ld files are lost: %s", w->unrecorded, why);
		return;
	}
	/* A command to paste: the paths quoted for a shell. */
	char *qdb = fb_shell_quote(w->db), *qout = fb_shell_quote(out);
	warnx_("the owners of those %ld files are kept in %s; load them in a new session with room "
	       "for them (a larger FAKEBUILD_CAPACITY): fakebuild -d %s -i %s true",
	       w->unrecorded, out, qdb ? qdb : w->db, qout ? qout : out);
	free(qdb);
	free(qout);
}

static void merge(struct walker *w, const char *name, const struct statx *real, const struct statx *view)
{
	struct fb_attr a;
	int found;
	long blen = view_of(w, view, &a, &found);
	if (!found)
		return;
	struct fb_ident id;
	fb_ident_from_statx(&id, real);
	char hint[8400];
	join(hint, sizeof hint, w->host, name);
	int rc = blen > 0 ? fb_table_put_xattrs(w->ut, &id, &a, w->blob, (size_t)blen, hint)
			  : fb_table_put(w->ut, &id, &a, hint);
	if (rc < 0) {
		/* The first names the cause; a full table or disk refuses the rest too. */
		if (!w->unrecorded++)
			warnx_("%s: cannot record its owner in your database: %s", hint, strerror(-rc));
		w->failed = 1;
		spill(w, &id, &a, blen > 0 ? (size_t)blen : 0, hint);
	}
}

/* A reused --upper: its records, from the user's table, keyed as the overlay shows the files. */
static void seed_one(struct walker *w, const char *name, const struct statx *real, const struct statx *view)
{
	struct fb_ident id, vid;
	fb_ident_from_statx(&id, real);
	fb_ident_from_statx(&vid, view);
	if (id.dev == vid.dev && id.ino == vid.ino)
		return;		/* the same key: seeded by path already */
	struct fb_attr a;
	int found;
	long blen = fb_table_get_xattrs(w->ut, &id, &a, &found, w->blob, sizeof w->blob);
	if (!found || blen > (long)sizeof w->blob)
		return;
	char hint[8400];
	join(hint, sizeof hint, w->host, name);
	fb_table_put_xattrs(w->rt, &vid, &a, blen > 0 ? w->blob : NULL, blen > 0 ? (size_t)blen : 0, hint);
}

/* One line of --changes: what, the path inside the root escaped
 * (escape.h: a name with a newline must not make a line of its own). */
static void list(struct walker *w, char what, const char *name, int dir)
{
	fprintf(w->list, "%c ", what);
	fb_escape_put(w->list, w->inside);
	putc('/', w->list);
	fb_escape_put(w->list, name);
	fputs(dir ? "/\n" : "\n", w->list);
}

/* --changes of an opaque directory REL (removed, then made again): what
 * the lower layers showed there and the upper (UP) does not, as deleted. */
static void list_hidden(struct walker *w, const char *rel, int up)
{
	int lo[FB_ROOT_LAYERS];
	int nlo = lower_stack(w, rel, lo);
	size_t n = 0;
	char **names = NULL;
	for (int i = 0; i < nlo; i++) {	/* every layer's names, sorted, each once */
		size_t k = 0;
		char **v = names_of(lo[i], &k);
		char **all = v ? realloc(names, (n + k) * sizeof *names) : NULL;
		if (!all) {
			if (v)
				free_names(v, k);
			continue;
		}
		names = all;
		memcpy(names + n, v, k * sizeof *v);
		n += k;
		free(v);
	}
	if (names)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		struct stat st, in_up;
		int top = 0;	/* the highest layer that has the name shows it */
		while (top < nlo && fstatat(lo[top], names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			top++;
		if (top == nlo || whiteout_st(&st) || fstatat(up, names[i], &in_up, AT_SYMLINK_NOFOLLOW) == 0)
			continue;	/* gone already, or still there */
		list(w, 'D', names[i], S_ISDIR(st.st_mode));
	}
	if (names)
		free_names(names, n);
	close_all(lo, nlo);
}

/* The xattrs of a record's blob, into an archive entry. */
struct blob_ctx {
	struct archive_entry *e;
	const void *blob;
	size_t len;
};

static void blob_xattr(const char *name, size_t nlen, void *arg)
{
	struct blob_ctx *c = arg;
	char n[512];
	const void *val;
	size_t vlen;
	if (nlen >= sizeof n)
		return;
	memcpy(n, name, nlen);
	n[nlen] = 0;
	if (fb_xblob_get(c->blob, c->len, n, &val, &vlen) == 1)
		archive_entry_xattr_add_entry(c->e, n, val, vlen);
}

static void blob_xattrs(struct archive_entry *e, const void *blob, size_t len)
{
	struct blob_ctx c = { e, blob, len };
	fb_xblob_names(blob, len, blob_xattr, &c);
}

static int keep_one(struct walker *w, int dirfd, const char *name, const struct statx *real,
		    const struct statx *view)
{
	char path[8400];
	snprintf(path, sizeof path, ".%s/%s", w->inside, name);
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return -1;
	if (is_whiteout(real)) {
		char wh[8400];
		snprintf(wh, sizeof wh, ".%s/.wh.%s", w->inside, name);
		archive_entry_set_pathname(e, wh);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, 0);
		int rc = archive_write_header(w->a, e);
		archive_entry_free(e);
		return rc < ARCHIVE_WARN ? -1 : 0;
	}
	struct fb_attr a;
	int found;
	long blen = view_of(w, view ? view : real, &a, &found);
	if (blen < 0)
		blen = 0;
	archive_entry_set_pathname(e, path);
	archive_entry_set_uid(e, a.uid);
	archive_entry_set_gid(e, a.gid);
	archive_entry_set_mode(e, a.mode);
	archive_entry_set_mtime(e, real->stx_mtime.tv_sec, real->stx_mtime.tv_nsec);
	if (S_ISCHR(a.mode) || S_ISBLK(a.mode))
		archive_entry_set_rdev(e, a.rdev);
	if (blen > 0)
		blob_xattrs(e, w->blob, (size_t)blen);
	int fd = -1;
	if (S_ISREG(real->stx_mode) && !S_ISCHR(a.mode) && !S_ISBLK(a.mode)) {
		if (real->stx_nlink > 1) {
			struct hardlink *h, key = { .dev = makedev(real->stx_dev_major, real->stx_dev_minor),
						    .ino = real->stx_ino };
			HASH_FIND(hh, w->links, &key.dev, 2 * sizeof(uint64_t), h);
			if (h) {
				archive_entry_set_hardlink(e, h->path);
				archive_entry_set_size(e, 0);
				goto write;
			}
			h = calloc(1, sizeof *h);
			if (h && (h->path = strdup(path))) {
				h->dev = key.dev;
				h->ino = key.ino;
				HASH_ADD(hh, w->links, dev, 2 * sizeof(uint64_t), h);
			}
		}
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			warnx_("--keep %s: %s: %s", w->out, path + 1, strerror(errno));
			archive_entry_free(e);
			return -1;
		}
		archive_entry_set_size(e, (la_int64_t)real->stx_size);
	} else if (S_ISLNK(real->stx_mode)) {
		char target[4096];
		ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
		if (n < 0) {
			archive_entry_free(e);
			return -1;
		}
		target[n] = 0;
		archive_entry_set_symlink(e, target);
	} else {
		archive_entry_set_size(e, 0);
	}
	/* user.* xattrs are real; overlayfs' own are not the build's. */
	char names[65536];
	ssize_t nl = S_ISLNK(real->stx_mode) ? 0 : (fd >= 0 ? flistxattr(fd, names, sizeof names) : 0);
	for (ssize_t off = 0; off < nl; off += (ssize_t)strlen(names + off) + 1) {
		const char *xn = names + off;
		if (strncmp(xn, "user.", 5) != 0 || strncmp(xn, "user.overlay.", 13) == 0)
			continue;
		char v[65536];
		ssize_t vl = fgetxattr(fd, xn, v, sizeof v);
		if (vl >= 0)
			archive_entry_xattr_add_entry(e, xn, v, (size_t)vl);
	}
write:;
	int rc = archive_write_header(w->a, e);
	for (la_int64_t left = archive_entry_size(e); rc >= ARCHIVE_WARN && fd >= 0 && left > 0;) {
		if (fb_root_interrupted) {
			close(fd);
			archive_entry_free(e);
			return -1;	/* keep() says why */
		}
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0) {
			rc = ARCHIVE_FATAL;
			break;
		}
		if (archive_write_data(w->a, buf, (size_t)n) < 0)
			rc = ARCHIVE_FATAL;
		left -= n;
	}
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	if (rc < ARCHIVE_WARN) {
		char why[512];
		warnx_("--keep %s: %s: %s", w->out, path + 1, fb_archive_why(w->a, why, sizeof why));
		return -1;
	}
	return 0;
}

/*
 * --keep and --changes name files by their path in the root: one longer
 * than PATH_MAX would be cut (inside[] holds twice that), could not be
 * looked up in the lower layers, and an unpack refuses it.  The walk
 * fails, naming it.  (The merge and the seeding use paths as hints only.)
 */
static int too_long(struct walker *w, const char *name)
{
	if (w->mode != W_KEEP && w->mode != W_CHANGES)
		return 0;
	size_t il = strlen(w->inside), n = il + 1 + strlen(name);
	if (n < PATH_MAX)
		return 0;
	warnx_("%s %s: %.60s.../%s: name too long (%zu bytes, at most %d)",
	       w->mode == W_KEEP ? "--keep" : "--changes", w->out, w->inside, name, n, PATH_MAX - 1);
	w->failed = 1;
	return 1;
}

struct hinted {
	char **v;
	size_t n, cap;
};

static int add_hint(const char *hint, void *arg)
{
	struct hinted *h = arg;
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;
		char **v = realloc(h->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		h->v = v, h->cap = cap;
	}
	if (!(h->v[h->n] = strdup(hint)))
		return -ENOMEM;
	h->n++;
	return 0;
}

/*
 * Directory NAME of a bound tree, another user's, that fakebuild may
 * search but not list (mode 0711), nor may the build: the files in it
 * the build recorded are found by the names their records hold (the
 * root's table's path hints, paths inside the root).  0, or -1 if
 * some could not be looked for.
 */
static int merge_hinted(struct walker *w, int up, const char *name)
{
	char dir[8400], path[8400];
	join(dir, sizeof dir, w->inside, name);
	struct hinted h = { 0 };
	int rc = fb_table_foreach_hint_under(w->rt, dir, add_hint, &h);
	for (size_t i = 0; i < h.n; i++) {
		struct statx real;
		join(path, sizeof path, name, h.v[i] + strlen(dir) + 1);
		if (statx(up, path, AT_SYMLINK_NOFOLLOW, FB_VIEW_STATX_MASK, &real) == 0)
			merge(w, path, &real, &real);
		free(h.v[i]);
	}
	free(h.v);
	return rc < 0 ? -1 : 0;
}

/*
 * Directory NAME in UP (its statx REAL) cannot be opened (errno E).  The merge
 * loses what the build recorded in it, unless the build could not enter
 * it either: the build runs with our uid, gid and groups (the kernel
 * checks them as ours), plus capabilities over the inodes whose uid and
 * gid are both mapped into its namespace, that is ours (map_ids), which
 * let it read even a directory of mode 000.  A directory we may not
 * search and it had no capability over holds no record of the build's.
 * One of a bound tree (BOUND) we may search but not list: merge_hinted.
 */
static void unreadable(struct walker *w, int up, const char *name, const struct statx *real, int e,
		       int bound)
{
	int capable = real->stx_uid == getuid() && real->stx_gid == getgid();
	if (w->mode == W_MERGE && e == EACCES && !capable && faccessat(up, name, X_OK, AT_EACCESS) < 0) {
		warnx_("%s/%s: cannot read: %s; nor could the build, which recorded nothing there",
		       w->host, name, strerror(e));
		return;
	}
	if (w->mode == W_MERGE && e == EACCES && !capable && bound && merge_hinted(w, up, name) == 0)
		return;	/* searched, not listed, as the build could */
	if (w->mode == W_MERGE && e == EACCES && capable)
		warnx_("%s/%s: cannot read: %s; the build, root of its namespace, could: what it "
		       "recorded there is lost", w->host, name, strerror(e));
	else
		warnx_("%s/%s: cannot read: %s", w->host, name, strerror(e));
	w->failed = 1;
}

/*
 * Walk directory UP (the host's side: an upper directory or a --bind
 * source) with OVL (the same directory in the overlay, or -1: the same
 * files).
 */
static void walk_dir(struct walker *w, int up, int ovl)
{
	size_t n = 0;
	char **names = names_of(up, &n);
	if (!names) {
		warnx_("%s: cannot read: %s", w->host[0] ? w->host : "/", strerror(errno));
		w->failed = 1;
		return;
	}
	for (size_t i = 0; i < n && !(w->failed && w->mode == W_KEEP); i++) {
		if (fb_root_interrupted) {
			w->failed = 1;
			break;
		}
		const char *name = names[i];
		if (too_long(w, name))
			continue;
		struct statx real, view;
		if (statx(up, name, AT_SYMLINK_NOFOLLOW, FB_VIEW_STATX_MASK, &real) < 0)
			continue;
		const struct statx *vp = &real;
		int have_view = 1;
		if (ovl >= 0) {
			have_view = statx(ovl, name, AT_SYMLINK_NOFOLLOW, FB_VIEW_STATX_MASK, &view) == 0 &&
				    makedev(view.stx_dev_major, view.stx_dev_minor) == w->ovl_dev;
			vp = have_view ? &view : NULL;
		}
		int dir = S_ISDIR(real.stx_mode);
		char rel[8400];	/* relative to the top of the walk, for the lower layers */
		const char *in = w->inside + w->base;
		snprintf(rel, sizeof rel, "%s%s%s", in[0] ? in + 1 : "", in[0] ? "/" : "", name);
		switch (w->mode) {
		case W_SEED:
			if (have_view && !is_whiteout(&real))
				seed_one(w, name, &real, vp);
			break;
		case W_MERGE:
			if (have_view && !is_whiteout(&real))
				merge(w, name, &real, vp);
			break;
		case W_KEEP:
			if (keep_one(w, up, name, &real, vp) < 0)
				w->failed = 1;
			break;
		case W_CHANGES: {
			struct statx lo;
			int was = lower_statx(w, rel, &lo) == 0;
			if (is_whiteout(&real))
				list(w, 'D', name, was && S_ISDIR(lo.stx_mode));
			else if (!was)
				list(w, 'A', name, dir);
			else if (!dir || !S_ISDIR(lo.stx_mode) || dir_changed(w, &lo, have_view ? vp : NULL))
				list(w, 'M', name, dir);
			break;
		}
		}
		if (!dir)
			continue;
		int sub = openat(up, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int sub_errno = errno;	/* the overlay's lookup below may change errno */
		int osub = -1;
		if (ovl >= 0 && have_view) {
			/* In the overlay, never across a mount (there are none left, but
			 * the check is cheap): a bind of another tree must not lend its
			 * records to this one. */
			osub = openat(ovl, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat st;
			if (osub >= 0 && (fstat(osub, &st) < 0 || st.st_dev != w->ovl_dev)) {
				close(osub);	/* not the overlay: the walk stays in it */
				osub = -1;
			}
		}
		if (sub < 0) {
			unreadable(w, up, name, &real, sub_errno, ovl < 0);
		} else {
			if (w->mode == W_CHANGES) {
				char v[8];
				if (fgetxattr(sub, opaque_name, v, sizeof v) == 1 && v[0] == 'y') {
					size_t il = strlen(w->inside);
					snprintf(w->inside + il, sizeof w->inside - il, "/%s", name);
					list_hidden(w, rel, sub);
					w->inside[il] = 0;
				}
			}
			if (w->mode == W_KEEP) {
				char v[8];
				ssize_t vl = fgetxattr(sub, opaque_name, v, sizeof v);
				if (vl == 1 && v[0] == 'y') {
					char opq[8400];
					snprintf(opq, sizeof opq, ".%s/%s/.wh..wh..opq", w->inside, name);
					struct archive_entry *e = archive_entry_new();
					archive_entry_set_pathname(e, opq);
					archive_entry_set_filetype(e, AE_IFREG);
					archive_entry_set_perm(e, 0644);
					archive_entry_set_size(e, 0);
					if (archive_write_header(w->a, e) < ARCHIVE_WARN)
						w->failed = 1;
					archive_entry_free(e);
				}
			}
			size_t hl = strlen(w->host), il = strlen(w->inside);
			snprintf(w->host + hl, sizeof w->host - hl, "/%s", name);
			snprintf(w->inside + il, sizeof w->inside - il, "/%s", name);
			walk_dir(w, sub, osub);
			w->host[hl] = 0;
			w->inside[il] = 0;
			close(sub);
		}
		if (osub >= 0)
			close(osub);
	}
	free_names(names, n);
}

/* ---- the entry points ------------------------------------------------------ */

static int open_dir(int pathfd)
{
	return openat(pathfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int fb_walk_seed_upper(struct fb_root *r, struct fb_table *rt, struct fb_table *ut)
{
	struct walker *w = calloc(1, sizeof *w);
	if (!w)
		return -1;
	*w = (struct walker){ .mode = W_SEED, .rt = rt, .ut = ut, .ovl_dev = r->ovl_dev };
	snprintf(w->host, sizeof w->host, "%s", r->upper_path);
	int up = open_dir(r->upper_fd);
	if (up >= 0) {
		walk_dir(w, up, r->ovl_fd);
		close(up);
	}
	free(w);
	return 0;
}

/* Records of the files in the kept trees, into the user's table. */
static void merge_kept(struct fb_root *r, struct walker *w)
{
	w->mode = W_MERGE;
	if (r->upper_path[0]) {
		int up = open_dir(r->upper_fd);
		snprintf(w->host, sizeof w->host, "%s", r->upper_path);
		w->ovl_dev = r->ovl_dev;
		if (up >= 0) {
			walk_dir(w, up, r->ovl_fd);
			close(up);
		}
	}
	for (int i = 0; i < r->nm; i++) {
		struct fb_mount *m = &r->m[i];
		if (m->kind != FB_BIND)
			continue;
		if (!m->is_dir) {
			/* One file: its own record (the walk takes a directory). */
			struct statx x;
			if (statx(m->fd, "", AT_EMPTY_PATH, FB_VIEW_STATX_MASK, &x) == 0) {
				char *slash = strrchr(m->src, '/');
				snprintf(w->host, sizeof w->host, "%.*s", (int)(slash - m->src), m->src);
				merge(w, slash + 1, &x, &x);
			}
			continue;
		}
		int d = open_dir(m->fd);
		snprintf(w->host, sizeof w->host, "%s", strcmp(m->src, "/") ? m->src : "");
		snprintf(w->inside, sizeof w->inside, "%s", strcmp(m->dst, "/") ? m->dst : "");
		if (d >= 0) {
			walk_dir(w, d, -1);
			close(d);
		}
	}
	if (w->unrecorded > 1)
		warnx_("... and %ld more files whose owners could not be recorded in your database",
		       w->unrecorded - 1);
}

static void changes(struct fb_root *r, struct walker *w, FILE *f)
{
	w->mode = W_CHANGES;
	w->list = f;
	if (!r->host) {
		int lower[FB_ROOT_LAYERS];
		for (int i = 0; i < r->nlayers; i++)
			lower[i] = r->layer[r->nlayers - 1 - i].fd;
		w->lower = lower;
		w->nlower = r->nlayers;
		w->inside[0] = 0;
		w->base = 0;
		w->ovl_dev = r->ovl_dev;
		int up = open_dir(r->upper_fd);
		if (up >= 0) {
			walk_dir(w, up, r->ovl_fd);
			close(up);
		}
	}
	for (int i = 0; i < r->nm; i++) {
		struct fb_mount *m = &r->m[i];
		if (m->kind != FB_OVERLAY)
			continue;
		w->lower = &m->fd;
		w->nlower = 1;
		w->ovl_dev = m->ovl_dev;
		snprintf(w->inside, sizeof w->inside, "%s", m->dst);
		w->base = strlen(w->inside);
		int up = open_dir(m->upper_fd);
		/* The directory itself, when its own mode or owner changed. */
		struct statx src, now;
		if (up >= 0 && statx(m->fd, "", AT_EMPTY_PATH, FB_VIEW_STATX_MASK, &src) == 0 &&
		    statx(m->ovl_fd, "", AT_EMPTY_PATH, FB_VIEW_STATX_MASK, &now) == 0 &&
		    dir_changed(w, &src, &now)) {
			fputs("M ", w->list);
			fb_escape_put(w->list, m->dst);
			fputs("/\n", w->list);
		}
		if (up >= 0) {
			walk_dir(w, up, m->ovl_fd);
			close(up);
		}
	}
	w->lower = NULL;
	w->nlower = 0;
}

/*
 * The temporary name of output file OUT (--keep, --changes), in TMP (LEN
 * bytes): renamed into place once complete, and told to the watcher
 * WATCH, which removes it if fakebuild is killed before that.  Absolute,
 * for the watcher.
 */
static void temp_name(const char *out, int watch, char *tmp, size_t len)
{
	char cwd[4096];
	if (out[0] != '/' && getcwd(cwd, sizeof cwd))
		snprintf(tmp, len, "%s/%s.tmp.%d", cwd, out, (int)getpid());
	else
		snprintf(tmp, len, "%s.tmp.%d", out, (int)getpid());
	fb_watch_add(watch, tmp);
}

/* The signal that stopped a walk, for a message. */
static const char *interrupted_by(void)
{
	switch (fb_root_interrupted) {
	case SIGINT: return "interrupted (SIGINT)";
	case SIGTERM: return "interrupted (SIGTERM)";
	case SIGHUP: return "interrupted (SIGHUP)";
	default: return "interrupted (SIGQUIT)";
	}
}

static int keep(struct fb_root *r, struct walker *w, int watch)
{
	char tmp[8400];
	temp_name(r->keep, watch, tmp, sizeof tmp);
	w->mode = W_KEEP;
	w->out = r->keep;
	w->a = archive_write_new();
	if (!w->a || fb_archive_write_set_by_name(w->a, r->keep) != ARCHIVE_OK ||
	    archive_write_open_filename(w->a, tmp) != ARCHIVE_OK) {
		char why[512];
		warnx_("--keep %s: %s", r->keep, fb_archive_why(w->a, why, sizeof why));
		archive_write_free(w->a);
		return -1;
	}
	if (!r->host) {
		w->inside[0] = 0;
		w->ovl_dev = r->ovl_dev;
		int up = open_dir(r->upper_fd);
		if (up >= 0) {
			walk_dir(w, up, r->ovl_fd);
			close(up);
		}
	}
	/* An --overlay's directory is not part of the base: what it holds at
	 * the end goes into the layer whole (not as changes to SRC, which
	 * the layer will not be stacked on), read through the overlay. */
	for (int i = 0; i < r->nm && !w->failed; i++) {
		struct fb_mount *m = &r->m[i];
		if (m->kind != FB_OVERLAY)
			continue;
		/* The directory itself first, with its recorded owner and mode:
		 * as a layer, it is not the root's 0755 directory of root's. */
		struct statx top;
		const char *slash = strrchr(m->dst, '/');
		if (slash && slash[1] && statx(m->ovl_fd, "", AT_EMPTY_PATH, FB_VIEW_STATX_MASK, &top) == 0) {
			snprintf(w->inside, sizeof w->inside, "%.*s", (int)(slash - m->dst), m->dst);
			if (keep_one(w, m->ovl_fd, slash + 1, &top, NULL) < 0)
				w->failed = 1;
		}
		snprintf(w->inside, sizeof w->inside, "%s", m->dst);
		int d = openat(m->ovl_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d >= 0) {
			walk_dir(w, d, -1);
			close(d);
		}
	}
	int rc = archive_write_close(w->a) == ARCHIVE_OK ? 0 : -1;
	char why[512];
	if (rc < 0 && !w->failed)
		warnx_("--keep %s: %s", r->keep, fb_archive_why(w->a, why, sizeof why));
	archive_write_free(w->a);
	struct hardlink *h, *t;
	HASH_ITER(hh, w->links, h, t) {
		HASH_DEL(w->links, h);
		free(h->path);
		free(h);
	}
	if (rc == 0 && !w->failed && !fb_root_interrupted && rename(tmp, r->keep) == 0)
		return 0;
	if (fb_root_interrupted)
		warnx_("--keep %s: not written: %s", r->keep, interrupted_by());
	else if (rc == 0 && !w->failed)
		warnx_("--keep %s: %s", r->keep, strerror(errno));
	unlink(tmp);
	return -1;
}

/* --changes into FILE, or standard output for "-": a file is written
 * under a temporary name and renamed into place whole.  0 or -1. */
static int write_changes(struct fb_root *r, struct walker *w, int watch)
{
	int out = strcmp(r->changes, "-") != 0;
	char tmp[8400];
	if (out)
		temp_name(r->changes, watch, tmp, sizeof tmp);
	FILE *f = out ? fopen(tmp, "we") : stdout;
	if (!f) {
		warnx_("--changes %s: %s", r->changes, strerror(errno));
		return -1;
	}
	w->failed = 0;
	w->out = r->changes;
	w->dirs_before = r->dirs_before;
	changes(r, w, f);
	int bad = (out ? fclose(f) : fflush(f)) != 0;
	const char *why = fb_root_interrupted ? interrupted_by() : w->failed ? "incomplete" : strerror(errno);
	if (!bad && !w->failed && !fb_root_interrupted && (!out || rename(tmp, r->changes) == 0))
		return 0;
	if (!bad && !w->failed && !fb_root_interrupted)
		why = strerror(errno);	/* the rename's */
	warnx_("--changes %s: %s%s", r->changes, out ? "not written: " : "", why);
	if (out)
		unlink(tmp);
	return -1;
}

int fb_walk_finish(struct fb_root *r, struct fb_table *rt, struct fb_table *ut, const char *db, int status,
		   int watch)
{
	struct walker *w = calloc(1, sizeof *w);
	if (!w)
		return -1;
	w->rt = rt;
	w->ut = ut;
	w->db = db;
	int rc = 0;
	if (ut) {
		merge_kept(r, w);
		keep_spilled(w);
	}
	if (w->failed)
		rc = -1;
	if (r->changes && write_changes(r, w, watch) < 0)
		rc = -1;
	if (r->keep && status != 0) {
		warnx_("--keep %s: not written: the command failed (exit status %d)", r->keep, status);
	} else if (r->keep && fb_root_interrupted) {
		warnx_("--keep %s: not written: %s", r->keep, interrupted_by());
		rc = -1;
	} else if (r->keep) {
		w->failed = 0;
		if (keep(r, w, watch) < 0)
			rc = -1;
	}
	free_dir_notes(r);
	free(w);
	return rc;
}
