/*
 * attr.c - reading and changing the attributes of one file, either on the
 * tree itself (root) or in the fakebuild store (--db).
 *
 * Every change is made through a descriptor the caller opened beneath the
 * root (O_PATH|O_NOFOLLOW): the inode is pinned, so a rename or a symlink
 * swapped in after the check cannot redirect the change to another file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "protofix.h"
#include "session.h"
#include "table.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452	/* Linux 6.6; one number on every architecture */
#endif

static void from_statx(const struct statx *sx, struct pf_attr *out)
{
	out->mode = sx->stx_mode;
	out->uid = sx->stx_uid;
	out->gid = sx->stx_gid;
	out->rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
	out->nlink = sx->stx_nlink;
	out->dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
	out->ino = sx->stx_ino;
	out->size = (off_t)sx->stx_size;
}

/*
 * --db: the file as a fakebuild session shows it.  A recorded inode shows
 * its record; any other shows root:root with its real mode, as inside
 * fakebuild (and fakeroot) every file a session did not chown is root's.
 */
static void overlay_fake(struct pf *pf, const struct statx *sx, struct pf_attr *out)
{
	struct fb_ident id = {
		.dev = makedev(sx->stx_dev_major, sx->stx_dev_minor),
		.ino = sx->stx_ino,
		.real_mode = sx->stx_mode,
		.nlink = sx->stx_nlink,
	};
	struct fb_attr a;

	if (sx->stx_mask & STATX_BTIME) {
		id.btime_sec = sx->stx_btime.tv_sec;
		id.btime_nsec = sx->stx_btime.tv_nsec;
	}
	if (!pf->table || fb_table_get(pf->table, &id, &a) != 1) {
		out->uid = 0;
		out->gid = 0;
		return;
	}
	out->mode = a.mode;
	out->uid = a.uid;
	out->gid = a.gid;
	out->rdev = a.rdev;
}

static int attr_statx(struct pf *pf, int dirfd, const char *name, int flags, struct pf_attr *out)
{
	struct statx sx;

	if (statx(dirfd, name, flags | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
		  STATX_BASIC_STATS | (pf->o.use_db ? STATX_BTIME : 0), &sx) < 0)
		return -errno;
	from_statx(&sx, out);
	if (pf->o.use_db)
		overlay_fake(pf, &sx, out);
	return 0;
}

int pf_attr_at(struct pf *pf, int dirfd, const char *name, struct pf_attr *out)
{
	if (strcmp(name, ".") == 0)
		return attr_statx(pf, dirfd, "", AT_EMPTY_PATH, out);
	return attr_statx(pf, dirfd, name, 0, out);
}

int pf_attr_fd(struct pf *pf, int fd, struct pf_attr *out)
{
	return attr_statx(pf, fd, "", AT_EMPTY_PATH, out);
}

static void hint(const struct pf *pf, const char *path, char *out, size_t outlen)
{
	if (strcmp(path, ".") == 0)
		snprintf(out, outlen, "%s", pf->root_abs);
	else
		snprintf(out, outlen, "%s/%s", pf->root_abs, path);
}

static int db_set(struct pf *pf, int fd, unsigned what, const struct fb_attr *a, const char *path)
{
	char h[PATH_MAX];

	if (!pf->table)
		return -ENODEV;
	hint(pf, path, h, sizeof h);
	return fb_table_set_at(pf->table, fd, "", AT_EMPTY_PATH, what, a, h);
}

int pf_set_owner(struct pf *pf, int fd, const struct pf_attr *cur, uid_t uid, gid_t gid,
		 const char *path)
{
	if (pf->o.use_db) {
		struct fb_attr a = { .uid = uid, .gid = gid };
		unsigned what = (uid != (uid_t)-1 ? FB_SET_UID : 0) | (gid != (gid_t)-1 ? FB_SET_GID : 0);

		return db_set(pf, fd, what, &a, path);
	}
	(void)cur;
	/*
	 * AT_EMPTY_PATH on the O_PATH descriptor: the inode we checked, never
	 * a name looked up again.  For a symlink this is lchown(2).
	 */
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

static int chmod_proc(int fd, mode_t perm)
{
	char p[64];

	/* /proc/self/fd/N is a magic link to the pinned inode, not a path lookup. */
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	return chmod(p, perm) < 0 ? -errno : 0;
}

int pf_set_mode(struct pf *pf, int fd, const struct pf_attr *cur, mode_t perm, const char *path)
{
	static int no_fchmodat2;

	if (S_ISLNK(cur->mode))
		return -ELOOP;	/* never: chmod would follow the link */
	if (pf->o.use_db) {
		struct fb_attr a = { .mode = (cur->mode & S_IFMT) | perm };

		return db_set(pf, fd, FB_SET_PERM, &a, path);
	}
	if (!no_fchmodat2 && !pf_compat) {
		if (syscall(SYS_fchmodat2, fd, "", perm, AT_EMPTY_PATH) == 0)
			return 0;
		if (errno != ENOSYS && errno != EINVAL)
			return -errno;
		no_fchmodat2 = 1;
	}
	return chmod_proc(fd, perm);
}

static int create_db_device(struct pf *pf, int dirfd, const char *name,
			    const struct fb_mentry *e, const char *path)
{
	/* As fakebuild's mknod: an empty regular file, the device recorded. */
	struct fb_attr a = {
		.mode = fb_mtype_to_ifmt(e->type) | (e->have & FB_MH_MODE ? e->perm : 0600),
		.rdev = makedev(e->dev_major, e->dev_minor),
	};
	char h[PATH_MAX];
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return -errno;
	if (!pf->table) {
		close(fd);
		return -ENODEV;
	}
	hint(pf, path, h, sizeof h);
	r = fb_table_set_at(pf->table, fd, "", AT_EMPTY_PATH, FB_SET_TYPE | FB_SET_PERM, &a, h);
	close(fd);
	return r;
}

int pf_create(struct pf *pf, int dirfd, const char *name, const struct fb_mentry *e,
	      const char *path)
{
	dev_t rdev = makedev(e->dev_major, e->dev_minor);
	int r;

	/*
	 * Created owner-only: the owner and the mode the manifest declares are
	 * applied next, like any other file, so no window shows a device or a
	 * directory with wider access than intended.
	 */
	switch (e->type) {
	case FB_M_DIR:
		r = mkdirat(dirfd, name, 0700);
		break;
	case FB_M_FIFO:
		r = mkfifoat(dirfd, name, 0600);
		break;
	case FB_M_CHAR:
	case FB_M_BLOCK:
		if (!(e->have & FB_MH_RDEV))
			return -EINVAL;
		if (pf->o.use_db)
			return create_db_device(pf, dirfd, name, e, path);
		r = mknodat(dirfd, name, fb_mtype_to_ifmt(e->type) | 0600, rdev);
		break;
	default:
		return -EOPNOTSUPP;
	}
	return r < 0 ? -errno : 0;
}

/* A device or fifo, owner-only: its owner and mode are applied next, like any file's. */
static int mknode(int dirfd, const char *name, const struct fb_mentry *e)
{
	int r = e->type == FB_M_FIFO
		? mkfifoat(dirfd, name, 0600)
		: mknodat(dirfd, name, fb_mtype_to_ifmt(e->type) | 0600,
			  makedev(e->dev_major, e->dev_minor));
	return r < 0 ? -errno : 0;
}

/* Is NAME in DIRFD still the placeholder CUR (the same empty regular file)? */
static bool still_placeholder(int dirfd, const char *name, const struct pf_attr *cur)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == cur->dev &&
	       st.st_ino == cur->ino && S_ISREG(st.st_mode) && st.st_size == 0;
}

int pf_make_node(struct pf *pf, int dirfd, const char *name, int fd, const struct fb_mentry *e,
		 const struct pf_attr *cur, const char *path)
{
	char tmp[64];
	int r = -EEXIST;

	if (pf->o.use_db) {
		/* The store's node is the placeholder itself, recorded as fakebuild's mknod does. */
		struct fb_attr a = {
			.mode = fb_mtype_to_ifmt(e->type) | (cur->mode & 07777),
			.rdev = e->type == FB_M_FIFO ? 0 : makedev(e->dev_major, e->dev_minor),
		};
		return db_set(pf, fd, FB_SET_TYPE | FB_SET_PERM, &a, path);
	}
	for (int i = 0; r == -EEXIST && i < 100; i++) {
		snprintf(tmp, sizeof tmp, ".protofix-node.%ld.%d", (long)getpid(), i);
		r = mknode(dirfd, tmp, e);
	}
	if (r < 0)
		return r;
	/*
	 * One step, so the name is never missing and nothing but the file
	 * checked is replaced: exchange, then look at what came out; if the
	 * build swapped something else in meanwhile, exchange back.
	 */
	if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
		if (!still_placeholder(dirfd, tmp, cur)) {
			r = renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) < 0 ? -errno : -ESTALE;
			if (r != -ESTALE)
				return r;	/* our node holds the name; the other file is at TMP */
		}
		unlinkat(dirfd, tmp, 0);
		return r == -ESTALE ? r : 0;
	}
	r = -errno;
	if (r == -EINVAL || r == -ENOSYS) {
		/* No RENAME_EXCHANGE on this file system: check, then replace. */
		r = still_placeholder(dirfd, name, cur) ? 0 : -ESTALE;
		if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
			r = -errno;
	}
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

ssize_t pf_xattr_get(int dirfd, const char *name, const char *xname, void *buf, size_t len)
{
	char p[PATH_MAX + 32];
	ssize_t n;

	/* The pinned directory, then one component, not followed: never a path out of the tree. */
	if (snprintf(p, sizeof p, "/proc/self/fd/%d/%s", dirfd, name) >= (int)sizeof p)
		return -ENAMETOOLONG;
	n = lgetxattr(p, xname, buf, len);
	return n < 0 ? -errno : n;
}

int pf_xattr_set(int fd, const char *xname, const void *val, size_t len)
{
	char p[64];

	/* /proc/self/fd/N is a magic link to the pinned inode, as for chmod. */
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	return setxattr(p, xname, val, len, 0) < 0 ? -errno : 0;
}
