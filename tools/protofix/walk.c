/*
 * walk.c - every manifest entry against the tree: report, and with --fix
 * apply owner, group, then mode.
 *
 * Reads go through the cached parent descriptors (dirstack.c).  A change is
 * made on a descriptor resolved again from the root at the moment of the
 * change (openat2, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS): whatever a
 * concurrent writer did to the directories since we read them, the inode we
 * change was beneath the root, reached without a symlink, when we opened it,
 * and it is the inode we checked (same device, inode and type) or we leave it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <uthash.h>
#include "protofix.h"
#include "xblob.h"

/* A regular file of several names, by inode: the entry that named it first. */
struct pf_inode {
	struct {
		dev_t dev;
		ino_t ino;
	} key;
	/* What the entry that named it first asks: a copy, since --from-db
	 * makes its entries one at a time (fromdb.c). */
	unsigned have;
	uid_t uid;
	gid_t gid;
	mode_t perm;
	char *path;
	UT_hash_handle hh;
};

/* What one entry needs. */
struct need {
	bool uid, gid, mode, xattrs;
};

static const char *ifmt_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "char";
	case S_IFBLK: return "block";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	}
	return "unknown";
}

static void fmt_id(char *out, size_t len, const char *name, unsigned id)
{
	if (name)
		snprintf(out, len, "%s(%u)", name, id);
	else
		snprintf(out, len, "%u", id);
}

static bool names_resolved(struct pf *pf, const struct fb_mentry *e)
{
	bool ok = true;

	/* A name the passwd/group files do not know: never guess a number. */
	if (e->uname && !(e->have & FB_MH_UID)) {
		warn("%s: owner: unknown user '%s' (%s:%u)", e->path, e->uname, e->file, e->line);
		pf->nerr++;
		ok = false;
	}
	if (e->gname && !(e->have & FB_MH_GID)) {
		warn("%s: group: unknown group '%s' (%s:%u)", e->path, e->gname, e->file, e->line);
		pf->nerr++;
		ok = false;
	}
	return ok;
}

static bool creatable(enum fb_mtype t)
{
	return t == FB_M_DIR || t == FB_M_CHAR || t == FB_M_BLOCK || t == FB_M_FIFO;
}

/* Open the parent of PATH from the root: creation is a change too. */
static int open_parent(struct pf *pf, const char *path)
{
	char dir[PATH_MAX];
	int r = pf_dirname(path, dir, sizeof dir);

	return r < 0 ? r : pf_open_beneath(pf->rootfd, dir, O_PATH | O_DIRECTORY);
}

/* ENTRY is missing: create it (--fix --create) and read it back, or report it. */
static bool missing(struct pf *pf, const struct fb_mentry *e, struct pf_attr *cur)
{
	const char *name = pf_basename(e->path);
	int dfd, r;

	if (!pf->o.fix || pf->o.dry_run || !pf->o.create || !creatable(e->type)) {
		pf_diff(pf, e->path, "missing");
		return false;
	}
	dfd = open_parent(pf, e->path);
	if (dfd < 0) {
		pf_err(pf, e->path, "open parent directory", dfd);
		pf->nfailed++;
		return false;
	}
	r = pf_create(pf, dfd, name, e, e->path);
	if (r == 0)
		r = pf_attr_at(pf, dfd, name, cur);
	close(dfd);
	if (r < 0) {
		pf_err(pf, e->path, "create", r);
		pf->nfailed++;
		return false;
	}
	pf_change(pf, e->path, "created %s", fb_mtype_name(e->type));
	return true;
}

/*
 * The parent of E's path could not be opened without following a link
 * (ELOOP, ENOTDIR): find the first of its directories that is a symbolic
 * link or no directory at all.  That is a difference of the tree, E is
 * missing there, and nothing is ever created beneath it: reported, true.
 * False when no such component is found (the tree changed meanwhile).
 */
static bool bad_parent(struct pf *pf, const struct fb_mentry *e)
{
	char prefix[PATH_MAX];
	const char *s;

	for (s = strchr(e->path, '/'); s; s = strchr(s + 1, '/')) {
		size_t n = (size_t)(s - e->path);
		struct stat st;
		int fd;

		if (n >= sizeof prefix)
			return false;
		memcpy(prefix, e->path, n);
		prefix[n] = '\0';
		/* Its own parents were directories: O_PATH|O_NOFOLLOW opens it as it is. */
		fd = pf_open_beneath(pf->rootfd, prefix, O_PATH);
		if (fd < 0)
			return false;
		if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
			close(fd);
			continue;
		}
		close(fd);
		pf_diff(pf, e->path, "missing, %s is %s%s", prefix,
			S_ISLNK(st.st_mode) ? "a symlink" : "not a directory",
			pf->o.fix && !pf->o.dry_run && pf->o.create ? " (nothing is created beneath it)" : "");
		return true;
	}
	return false;
}

static bool node_type(enum fb_mtype t)
{
	return t == FB_M_CHAR || t == FB_M_BLOCK || t == FB_M_FIFO;
}

/* "char 1,3", "fifo": the node a placeholder stands for. */
static const char *node_name(const struct fb_mentry *e, char *buf, size_t len)
{
	if (e->type == FB_M_FIFO)
		return "fifo";
	if (!(e->have & FB_MH_RDEV))
		snprintf(buf, len, "%s (no device numbers)", fb_mtype_name(e->type));
	else
		snprintf(buf, len, "%s %u,%u", fb_mtype_name(e->type), e->dev_major, e->dev_minor);
	return buf;
}

/*
 * CUR is an empty regular file where E declares a device or a fifo: what
 * a fakebuild session makes for mknod.  Reported as such; with --fix
 * --create, or --from-db --fix (where nothing else is created: a file
 * gone since the walk saw it stays gone), made the node, and CUR read
 * again: true, go on with owner and mode.  *FD, the placeholder opened
 * for the fix, is closed when the name now holds another inode.
 */
static bool placeholder(struct pf *pf, const struct fb_mentry *e, int *fd, struct pf_attr *cur)
{
	char what[64];
	int dfd, r;

	node_name(e, what, sizeof what);
	if (!pf->o.fix || pf->o.dry_run || !(pf->o.create || pf->o.from_db) ||
	    (e->type != FB_M_FIFO && !(e->have & FB_MH_RDEV))) {
		pf_diff(pf, e->path, "placeholder file for %s", what);
		return false;
	}
	dfd = open_parent(pf, e->path);
	if (dfd < 0) {
		pf_err(pf, e->path, "open parent directory", dfd);
		pf->nfailed++;
		return false;
	}
	r = pf_make_node(pf, dfd, pf_basename(e->path), *fd, e, cur, e->path);
	if (!pf->o.use_db && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	if (r == 0)
		r = *fd >= 0 ? pf_attr_fd(pf, *fd, cur) : pf_attr_at(pf, dfd, pf_basename(e->path), cur);
	close(dfd);
	if (r == -ESTALE) {
		warn("%s: replaced while being checked: not touched", e->path);
		pf->nfailed++;
		return false;
	}
	if (r < 0) {
		pf_err(pf, e->path, "make the node", r);
		pf->nfailed++;
		return false;
	}
	pf_change(pf, e->path, "placeholder file -> %s", what);
	return true;
}

/* --- extended attributes (--from-db) ------------------------------------------ */

enum xop { X_COUNT, X_REPORT, X_APPLY };

struct xwalk {
	struct pf *pf;
	const struct fb_mentry *e;
	const struct pf_xattrs *x;
	int dirfd, fd;
	const char *name;
	enum xop op;
	unsigned ndiff, nfail;
	char *buf;
	size_t cap;
};

/* One recorded attribute against the file. */
static void xattr_one(const char *n, size_t nl, void *arg)
{
	struct xwalk *w = arg;
	char xname[256 + 16];
	const void *want;
	size_t wl;
	ssize_t got;

	if (nl >= sizeof xname)
		return;
	memcpy(xname, n, nl);
	xname[nl] = '\0';
	if (fb_xblob_get(w->x->blob, w->x->len, xname, &want, &wl) != 1)
		return;
	if (w->cap < wl + 1) {
		free(w->buf);
		if (!(w->buf = malloc(wl + 1)))
			die("out of memory");
		w->cap = wl + 1;
	}
	/* One byte more than wanted: a longer value is a different one. */
	got = pf_xattr_get(w->dirfd, w->name, xname, w->buf, wl + 1);
	if (got == (ssize_t)wl && memcmp(w->buf, want, wl) == 0)
		return;
	if (got < 0 && got != -ENODATA && got != -ERANGE && got != -ENOTSUP) {
		pf_err(w->pf, w->e->path, xname, (int)got);
		return;
	}
	w->ndiff++;
	if (w->op == X_REPORT) {
		pf_diff(w->pf, w->e->path, "xattr %s %s", xname, got == -ENODATA || got == -ENOTSUP
			? "missing" : "differs");
	} else if (w->op == X_APPLY) {
		int r = pf_xattr_set(w->fd, xname, want, wl);
		if (r < 0) {
			pf_err(w->pf, w->e->path, xname, r);
			w->nfail++;
		} else {
			pf_change(w->pf, w->e->path, "xattr %s set", xname);
		}
	}
}

/* The recorded attributes of E that NAME in DIRFD lacks: counted, reported or set on FD. */
static unsigned xattrs(struct pf *pf, const struct fb_mentry *e, const struct pf_xattrs *x,
		       int dirfd, const char *name, int fd, enum xop op, unsigned *nfail)
{
	struct xwalk w = { pf, e, x, dirfd, fd, name, op, 0, 0, NULL, 0 };

	if (x && x->len && fb_xblob_names(x->blob, x->len, xattr_one, &w) < 0)
		pf_err(pf, e->path, "recorded xattrs", -EBADMSG);
	free(w.buf);
	if (nfail)
		*nfail = w.nfail;
	return w.ndiff;
}

static void check_symlink(struct pf *pf, const struct fb_mentry *e, int dirfd, const char *name)
{
	char buf[PATH_MAX];
	ssize_t n;

	if (!(e->have & FB_MH_TARGET))
		return;
	n = readlinkat(dirfd, name, buf, sizeof buf - 1);
	if (n < 0) {
		pf_err(pf, e->path, "readlink", -errno);
		return;
	}
	buf[n] = '\0';
	if (strcmp(buf, e->target) != 0)
		pf_diff(pf, e->path, "symlink target %s != %s", buf, e->target);
}

static void check_hardlink(struct pf *pf, const struct fb_mentry *e, const struct pf_attr *cur)
{
	struct stat st;
	int fd;

	if (!(e->have & FB_MH_TARGET))
		return;
	fd = pf_open_beneath(pf->rootfd, e->target, O_PATH);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != cur->dev || st.st_ino != cur->ino)
		pf_diff(pf, e->path, "not a hard link to %s", e->target);
	if (fd >= 0)
		close(fd);
}

static void check_device(struct pf *pf, const struct fb_mentry *e, const struct pf_attr *cur)
{
	if (!(e->have & FB_MH_RDEV) || (e->type != FB_M_CHAR && e->type != FB_M_BLOCK))
		return;
	if (major(cur->rdev) != e->dev_major || minor(cur->rdev) != e->dev_minor)
		pf_diff(pf, e->path, "device %u,%u != %u,%u", major(cur->rdev), minor(cur->rdev),
			e->dev_major, e->dev_minor);
}

static struct need compare(const struct fb_mentry *e, const struct pf_attr *cur)
{
	struct need n = {
		.uid = (e->have & FB_MH_UID) && cur->uid != e->uid,
		.gid = (e->have & FB_MH_GID) && cur->gid != e->gid,
		.mode = (e->have & FB_MH_MODE) && !S_ISLNK(cur->mode) &&
			(cur->mode & 07777) != e->perm,
	};
	return n;
}

static void report(struct pf *pf, const struct fb_mentry *e, const struct pf_attr *cur, struct need n)
{
	char want[64];

	if (n.uid) {
		fmt_id(want, sizeof want, e->uname, e->uid);
		pf_diff(pf, e->path, "owner %u != %s", (unsigned)cur->uid, want);
	}
	if (n.gid) {
		fmt_id(want, sizeof want, e->gname, e->gid);
		pf_diff(pf, e->path, "group %u != %s", (unsigned)cur->gid, want);
	}
	if (n.mode)
		pf_diff(pf, e->path, "mode %04o != %04o", (unsigned)(cur->mode & 07777), (unsigned)e->perm);
}

/*
 * The first name of the hard-link group PATH belongs to in the manifest:
 * the target its link entries lead to (a link may name another link).
 */
const char *pf_link_first(const struct pf *pf, const char *path)
{
	for (int hops = 0; hops < 64; hops++) {
		const struct fb_mentry *e = fb_manifest_find(pf->m, path);
		if (!e || e->type != FB_M_HARDLINK || !(e->have & FB_MH_TARGET))
			break;
		path = e->target;
	}
	return path;
}

/*
 * Two entries of the manifest, not declared links of each other, that are
 * one file in the tree (hard links) with different owners or modes: it
 * cannot have both.  Reported once per pair; with --fix the first entry's
 * stand.  Returns whether E is such a second entry.
 */
static bool conflicting_link(struct pf *pf, const struct fb_mentry *e, const struct pf_attr *cur)
{
	if (!S_ISREG(cur->mode) || cur->nlink < 2 || e->type != FB_M_FILE)
		return false;
	struct pf_inode probe = { 0 }, *found;
	probe.key.dev = cur->dev;
	probe.key.ino = cur->ino;
	HASH_FIND(hh, pf->inodes, &probe.key, sizeof probe.key, found);
	if (!found) {
		struct pf_inode *n = calloc(1, sizeof *n);
		if (!n)
			die("out of memory");
		n->key = probe.key;
		n->have = e->have;
		n->uid = e->uid;
		n->gid = e->gid;
		n->perm = e->perm;
		if (!(n->path = strdup(e->path)))
			die("out of memory");
		HASH_ADD(hh, pf->inodes, key, sizeof n->key, n);
		return false;
	}
	const struct pf_inode *f = found;
	const unsigned both = e->have & f->have;
	if (!((both & FB_MH_UID) && e->uid != f->uid) && !((both & FB_MH_GID) && e->gid != f->gid) &&
	    !((both & FB_MH_MODE) && e->perm != f->perm))
		return false;
	pf_diff(pf, e->path, "one file with %s (hard links), which the manifest gives another owner "
		"or mode", f->path);
	return true;
}

/*
 * A regular file with other names may be a hard link to a file outside the
 * tree (/etc/shadow where fs.protected_hardlinks is off; with it on, any
 * file of root's that the build user may write): changing its mode would
 * change that file.  Only touch it when the manifest declares every name
 * it has (no more links than its group declares), or it belongs to the
 * build user (the owner of the proto root).  That it already belongs to
 * the owner the manifest asks for proves nothing: a root-owned file linked
 * in as usr/bin/su would become setuid root, and so would one linked in as
 * a declared pair su and newgrp.
 */
static bool foreign_link(struct pf *pf, const struct fb_mentry *e, const struct pf_attr *now)
{
	if (pf->o.use_db || S_ISDIR(now->mode) || now->nlink < 2)
		return false;
	const unsigned long *names = pf_hashset_count(pf->linked, pf_link_first(pf, e->path));
	if (names && now->nlink <= *names)
		return false;
	if (now->uid == pf->root_owner)
		return false;
	warn("%s: has %lu names and belongs to uid %u: not touched (a hard link to a file outside the tree?)",
	     e->path, (unsigned long)now->nlink, (unsigned)now->uid);
	return true;
}

static int apply_owner(struct pf *pf, int fd, const struct fb_mentry *e,
		       const struct pf_attr *now, struct need n)
{
	char want[64];
	int r = pf_set_owner(pf, fd, now, n.uid ? e->uid : (uid_t)-1, n.gid ? e->gid : (gid_t)-1,
			     e->path);

	if (r < 0) {
		pf_err(pf, e->path, "chown", r);
		return r;
	}
	if (n.uid) {
		fmt_id(want, sizeof want, e->uname, e->uid);
		pf_change(pf, e->path, "owner %u -> %s", (unsigned)now->uid, want);
	}
	if (n.gid) {
		fmt_id(want, sizeof want, e->gname, e->gid);
		pf_change(pf, e->path, "group %u -> %s", (unsigned)now->gid, want);
	}
	return 0;
}

/*
 * The mode to set after the owner changed, or -1: the declared mode when it
 * differs; and because chown(2) clears setuid and setgid, any set-id mode
 * the file should keep, declared or (no mode in the manifest) its own.
 */
static int mode_to_set(const struct pf *pf, const struct fb_mentry *e,
		       const struct pf_attr *now, struct need n)
{
	mode_t want = (e->have & FB_MH_MODE) ? e->perm : now->mode & 07777;

	if (S_ISLNK(now->mode))
		return -1;
	if (n.mode)
		return (int)want;
	if ((n.uid || n.gid) && !pf->o.use_db && (want & 06000))
		return (int)want;
	return -1;
}

/*
 * Done with the file descriptor FD.  A fix opens one descriptor per file,
 * so their close(2) calls were a fifth of the system calls of --fix;
 * they are closed a batch at a time, mostly consecutive numbers, one
 * close_range(2) per run.
 */
static int fdcmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void close_pending(struct pf *pf)
{
	int *v = pf->closing, n = pf->nclosing;

	qsort(v, (size_t)n, sizeof *v, fdcmp);
	for (int i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && v[j] == v[j - 1] + 1; j++)
			;
		if (j - i == 1 || close_range((unsigned)v[i], (unsigned)v[j - 1], 0) < 0)
			for (int k = i; k < j; k++)
				close(v[k]);
	}
	pf->nclosing = 0;
}

static void close_later(struct pf *pf, int fd)
{
	if (pf->nclosing >= pf->closing_max)
		close_pending(pf);
	pf->closing[pf->nclosing++] = fd;
}

/* Reopen the checked file from the root; -errno, or -ESTALE if it was replaced. */
static int reopen(struct pf *pf, const struct fb_mentry *e, const struct pf_attr *cur,
		  struct pf_attr *now)
{
	int fd = strcmp(e->path, ".") == 0 ? dup(pf->rootfd)
					   : pf_open_beneath(pf->rootfd, e->path, O_PATH);
	int r;

	if (fd < 0)
		return fd == -1 ? -errno : fd;
	r = pf_attr_fd(pf, fd, now);
	if (r == 0 && (now->dev != cur->dev || now->ino != cur->ino ||
		       (now->mode & S_IFMT) != (cur->mode & S_IFMT)))
		r = -ESTALE;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/*
 * Apply N to the file.  FD >= 0 is the file, opened from the root when it
 * was checked (CUR came from it); else it is reopened from the root now.
 * Takes FD.
 */
static void apply(struct pf *pf, const struct fb_mentry *e, const struct pf_attr *cur, struct need n,
		  int fd, const struct pf_xattrs *x, int dirfd, const char *name)
{
	struct pf_attr now = *cur;
	int mode, r = 0;

	if (fd < 0)
		fd = reopen(pf, e, cur, &now);
	if (fd == -ESTALE)
		warn("%s: replaced while being checked: not touched", e->path);
	else if (fd < 0)
		pf_err(pf, e->path, "open", fd);
	if (fd < 0 || foreign_link(pf, e, &now)) {
		pf->nfailed++;
		if (fd >= 0)
			close_later(pf, fd);
		return;
	}
	if (n.uid || n.gid)
		r = apply_owner(pf, fd, e, &now, n);
	/* Mode last: chown(2) cleared the setuid and setgid bits. */
	mode = r == 0 ? mode_to_set(pf, e, &now, n) : -1;
	if (mode >= 0) {
		r = pf_set_mode(pf, fd, &now, (mode_t)mode, e->path);
		if (r < 0)
			pf_err(pf, e->path, "chmod", r);
		else if (n.mode)
			pf_change(pf, e->path, "mode %04o -> %04o", (unsigned)(now.mode & 07777),
				  (unsigned)mode);
	}
	/* Attributes last: chown(2) removes security.capability. */
	if (r == 0 && n.xattrs) {
		unsigned failed = 0;
		if (S_ISLNK(now.mode)) {
			pf_err(pf, e->path, "xattrs of a symbolic link are not set", -EOPNOTSUPP);
			failed = 1;
		} else {
			xattrs(pf, e, x, dirfd, name, fd, X_APPLY, &failed);
		}
		if (failed)
			r = -EIO;
	}
	close_later(pf, fd);
	if (r < 0)
		pf->nfailed++;
	else
		pf->nchanged++;
}

void pf_walk_entry(struct pf *pf, struct pf_dirstack *ds, const struct fb_mentry *e,
		   const struct pf_xattrs *x)
{
	char dir[PATH_MAX];
	const char *name = strcmp(e->path, ".") == 0 ? "." : pf_basename(e->path);
	struct pf_attr cur;
	struct need n;
	bool created = false;
	int dfd, r;

	r = pf_dirname(e->path, dir, sizeof dir);
	dfd = r < 0 ? r : pf_dirstack_get(ds, dir);
	/* A symlink or a file where a parent directory should be: never followed. */
	if ((dfd == -ELOOP || dfd == -ENOTDIR) && bad_parent(pf, e))
		return;
	/*
	 * Fixing: open the file from the root once and check what that
	 * descriptor names, so the inode compared is the inode changed, with
	 * no second lookup (nor its system calls) in between.
	 */
	int fd = -1;
	if (dfd >= 0 && pf->o.fix && !pf->o.dry_run) {
		fd = strcmp(e->path, ".") == 0 ? dup(pf->rootfd)
					       : pf_open_beneath(pf->rootfd, e->path, O_PATH);
		r = fd < 0 ? (fd == -1 ? -errno : fd) : pf_attr_fd(pf, fd, &cur);
		if (r < 0 && fd >= 0) {
			close(fd);
			fd = -1;
		}
	} else {
		r = dfd < 0 ? dfd : pf_attr_at(pf, dfd, name, &cur);
	}
	if (r == -ENOENT && !(created = missing(pf, e, &cur)))
		return;
	if (r < 0 && r != -ENOENT) {
		pf_err(pf, e->path, dfd < 0 ? "open parent directory" : "stat", r);
		return;
	}
	if ((cur.mode & S_IFMT) != fb_mtype_to_ifmt(e->type)) {
		bool empty_file = S_ISREG(cur.mode) && cur.size == 0 && node_type(e->type);
		if (!empty_file)
			pf_diff(pf, e->path, "type %s != %s", ifmt_name(cur.mode), fb_mtype_name(e->type));
		if (!empty_file || !(created = placeholder(pf, e, &fd, &cur))) {
			if (fd >= 0)
				close_later(pf, fd);
			return;
		}
	}
	if (e->type == FB_M_SYMLINK)
		check_symlink(pf, e, dfd < 0 ? pf->rootfd : dfd, name);
	if (e->type == FB_M_HARDLINK)
		check_hardlink(pf, e, &cur);
	check_device(pf, e, &cur);
	if (conflicting_link(pf, e, &cur)) {
		if (fd >= 0)
			close_later(pf, fd);
		return;
	}
	bool named = names_resolved(pf, e);
	n = compare(e, &cur);
	if (x && dfd >= 0)
		n.xattrs = xattrs(pf, e, x, dfd, name, -1, X_COUNT, NULL) > 0;
	if (!named || (!n.uid && !n.gid && !n.mode && !n.xattrs)) {
		if (named)
			pf->nchanged += created;
		if (fd >= 0)
			close_later(pf, fd);
		return;
	}
	if (!pf->o.fix || pf->o.dry_run) {
		report(pf, e, &cur, n);
		if (n.xattrs)
			xattrs(pf, e, x, dfd, name, -1, X_REPORT, NULL);
	} else {
		apply(pf, e, &cur, n, fd, x, dfd, name);
	}
}

void pf_walk_begin(struct pf *pf)
{
	/* The batch takes at most an eighth of the descriptors allowed. */
	struct rlimit rl;
	const int most = (int)(sizeof pf->closing / sizeof pf->closing[0]);
	pf->closing_max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur / 8 < (rlim_t)most
				  ? (int)(rl.rlim_cur / 8) : most;
}

void pf_walk_end(struct pf *pf)
{
	close_pending(pf);
	struct pf_inode *i, *tmp;
	HASH_ITER(hh, pf->inodes, i, tmp) {
		HASH_DEL(pf->inodes, i);
		free(i->path);
		free(i);
	}
}

void pf_walk_manifest(struct pf *pf)
{
	struct pf_dirstack *ds = pf_dirstack_new(pf->rootfd);
	const struct fb_mentry *const *v;
	size_t i, n;

	pf_walk_begin(pf);
	v = fb_manifest_sorted(pf->m, &n);
	for (i = 0; i < n; i++)
		pf_walk_entry(pf, ds, v[i], NULL);
	pf_walk_end(pf);
	pf_dirstack_free(ds);
}
