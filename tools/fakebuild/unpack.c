/*
 * unpack.c - an archive base, unpacked once into the cache:
 *
 *   $XDG_CACHE_HOME/fakebuild/roots/KEY/root        the tree, owned by the user
 *   $XDG_CACHE_HOME/fakebuild/roots/KEY/records.db  its owners, modes, devices
 *                                                   and xattrs (a fakebuild database)
 *   $XDG_CACHE_HOME/fakebuild/roots/KEY/source      what it was made from
 *
 * KEY names the archive's path, device, inode, size and change times: a
 * changed archive is unpacked anew (the old entry stays until removed).
 * The entry is made under a temporary name and renamed into place when
 * complete, so an interrupted or failed unpack leaves no entry; the
 * watcher removes the temporary directory if fakebuild is killed.
 *
 * Files are written the way a fakebuild session writes them: owned by the
 * user, the owner able to read and write (and search directories), no real
 * setuid or setgid bits, device nodes as empty regular files; what the
 * archive says goes into the records.  Only entries that differ from what
 * a file without a record shows (uid 0, gid 0, its real mode) get one.
 * A hard-linked file that gets one is unpacked as a copy per name
 * (unshare), since a copy-up would part its names anyway.
 * OCI whiteouts (.wh.NAME, .wh..wh..opq, what --keep writes) become
 * overlayfs whiteouts and opaque directories, so a kept layer stacks on
 * its base.  libarchive reads every format and compression it knows and
 * extracts (archive_write_disk, with its symlink and ".." protections).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/openat2.h>


#include "archive_dl.h"
#include "fakebuild.h"
#include "root.h"
#include "store.h"
#include "util.h"
#include "view.h"
#include "xblob.h"

static void cache_key(const char *archive, const struct stat *st, char *out, size_t len)
{
	uint64_t h = 0x6a09e667f3bcc908ull;
	for (const char *p = archive; *p; p++)
		h = fb_mix64(h ^ (unsigned char)*p);
	const uint64_t f[] = { st->st_dev, st->st_ino, (uint64_t)st->st_size,
			       (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec,
			       (uint64_t)st->st_ctim.tv_sec, (uint64_t)st->st_ctim.tv_nsec };
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		h = fb_mix64(h ^ f[i]);
	snprintf(out, len, "%016llx", (unsigned long long)h);
}

int fb_looks_like_root(int dirfd)
{
	static const char *const names[] = { "usr", "bin", "etc" };
	int denied = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct stat st;
		if (fstatat(dirfd, names[i], &st, 0) < 0)
			denied |= errno == EACCES;
		else if (S_ISDIR(st.st_mode))
			return 1;
	}
	return denied ? -EACCES : 0;
}

/* The entry of L's archive: KEY into ENTRY. */
static int entry_of(struct fb_root *r, struct fb_layer *l, char *entry, size_t len, char *key, size_t klen)
{
	struct stat st;
	if (stat(l->archive, &st) < 0)
		die("--root %s: %s", l->opt, strerror(errno));
	cache_key(l->archive, &st, key, klen);
	return snprintf(entry, len, "%s/roots/%s", r->cache, key) >= (int)len ? -1 : 0;
}

/*
 * The stamp of a tree: its device, inode and birth time.  The records name
 * the tree's files by theirs, so an entry whose root/ is not the one it was
 * made with (a copy: new inodes) would show wrong owners.
 */
static void stamp(const struct statx *x, char *out, size_t len)
{
	snprintf(out, len, "%x:%x:%llx:%llx.%x", x->stx_dev_major, x->stx_dev_minor,
		 (unsigned long long)x->stx_ino,
		 x->stx_mask & STATX_BTIME ? (unsigned long long)x->stx_btime.tv_sec : 0ull,
		 x->stx_mask & STATX_BTIME ? x->stx_btime.tv_nsec : 0u);
}

/*
 * Is ENTRY whole, made here and unchanged?  Its tree, its records and the
 * symlink "made" (the tree's stamp) are renamed into place together; one
 * missing (an interrupted rm -rf) or a stamp not the tree's says it is
 * damaged.  1 whole (FD its tree's, DEV its device), 0 no entry, -1
 * damaged (WHY says how).  A stat and a readlink more than opening it.
 */
/* WHY of an entry whole but for its stamp: made before there were stamps. */
static const char no_stamp[] = "no stamp \"made\" in it";

static int check_entry(const char *entry, int *fd, dev_t *dev, const char **why)
{
	char p[4300], want[96], have[96];
	snprintf(p, sizeof p, "%s/root", entry);
	*fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		*why = errno == ENOENT ? "no root directory in it" : "cannot open its root directory";
		return errno == ENOENT && access(entry, F_OK) < 0 && errno == ENOENT ? 0 : -1;
	}
	struct statx x;
	if (statx(*fd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &x) < 0) {
		*why = "cannot stat its root directory";
		goto bad;
	}
	*dev = makedev(x.stx_dev_major, x.stx_dev_minor);
	snprintf(p, sizeof p, "%s/records.db", entry);
	if (access(p, F_OK) < 0) {
		*why = "no records.db in it";
		goto bad;
	}
	stamp(&x, want, sizeof want);
	snprintf(p, sizeof p, "%s/made", entry);
	ssize_t n = readlink(p, have, sizeof have - 1);
	if (n < 0) {
		*why = no_stamp;
		goto bad;
	}
	have[n] = 0;
	if (strcmp(have, want) != 0) {
		*why = "its root directory is not the one it was made with: copied?";
		goto bad;
	}
	return 1;
bad:
	close(*fd);
	*fd = -1;
	return -1;
}

static int use_entry(struct fb_layer *l, const char *entry, const char **why)
{
	int rc = check_entry(entry, &l->fd, &l->dev, why);
	if (rc > 0 && (snprintf(l->path, sizeof l->path, "%s/root", entry) >= (int)sizeof l->path ||
		       snprintf(l->records, sizeof l->records, "%s/records.db", entry) >= (int)sizeof l->records))
		die("--root %s: cache path too long", l->opt);
	return rc;
}

int fb_unpack_cached(struct fb_root *r, struct fb_layer *l)
{
	char entry[4200], key[32];
	const char *why;
	if (entry_of(r, l, entry, sizeof entry, key, sizeof key) < 0)
		die("--root %s: cache path too long", l->opt);
	int rc = use_entry(l, entry, &why);
	if (rc < 0 && why == no_stamp)
		warnx_("warning: --root %s: its cache entry %s was made by an older fakebuild (%s): "
		       "it is made anew, once", l->opt, entry, why);
	else if (rc < 0)
		warnx_("warning: --root %s: its cache entry %s is damaged (%s): it is made anew",
		       l->opt, entry, why);
	return rc > 0;
}

/*
 * Rename TMP, a new entry, to ENTRY.  Where ENTRY exists, another
 * fakebuild made it meanwhile (it is used, TMP removed), or it is the
 * damaged one fb_unpack_cached found: exchanged with TMP, which the
 * caller removes.  Only an entry found damaged, under the cache's lock,
 * is ever replaced: never a whole one that another root uses.  The plain
 * rename needs no lock: it fails where an entry is.
 */
static int put_entry(const char *roots, const char *tmp, const char *entry)
{
	if (rename(tmp, entry) == 0)
		return 0;
	if (errno != EEXIST && errno != ENOTEMPTY)
		return -errno;
	char p[4300];
	snprintf(p, sizeof p, "%s/.lock", roots);
	int lock = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600), rc = -EEXIST;
	/* Where flock fails otherwise (ENOLCK), two replacers at once could
	 * exchange each other's whole entry: rare, and better than none. */
	while (lock >= 0 && flock(lock, LOCK_EX) < 0 && errno == EINTR) {
		if (fb_root_interrupted) {
			close(lock);
			return -EINTR;
		}
	}
	for (int i = 0; i < 10 && rc == -EEXIST; i++) {
		int fd;
		dev_t dev;
		const char *why;
		int whole = check_entry(entry, &fd, &dev, &why);
		if (whole > 0) {
			close(fd);
			rc = 0;	/* another's: TMP goes */
		} else if (whole == 0) {
			rc = rename(tmp, entry) == 0 ? 0 : errno == ENOTEMPTY ? -EEXIST : -errno;
		} else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, entry, RENAME_EXCHANGE) == 0) {
			rc = 0;	/* TMP is the damaged one now */
		} else if (errno == EINVAL || errno == ENOSYS) {
			/* A filesystem that cannot exchange: no one uses a damaged entry. */
			int r = fb_remove_tree(AT_FDCWD, entry);
			rc = r < 0 ? r : -EEXIST;
		} else {
			rc = -errno;
		}
	}
	if (lock >= 0)
		close(lock);
	return rc;
}

/* ---- one entry ----------------------------------------------------------- */

static int faked_xattr(const char *name)
{
	return strncmp(name, "security.", 9) == 0 || strncmp(name, "trusted.", 8) == 0 ||
	       strncmp(name, "system.", 7) == 0;
}

struct unpack {
	const char *archive, *opt;
	char final_root[4300];	/* the tree's path once renamed into place (for hints) */
	int rootfd;		/* the tree being written */
	struct fb_table *t;
	long records;
	unsigned char blob[65536];
};

/* "./a/b" and "/a/b" -> "a/b"; "." and "./" -> "". */
static const char *relative(const char *p)
{
	for (;;) {
		if (p[0] == '/')
			p++;
		else if (p[0] == '.' && (p[1] == '/' || p[1] == 0))
			p += 1;
		else
			return p;
	}
}

/* An OCI whiteout entry: make the overlayfs form.  1 handled, 0 not one, -1 error. */
static int whiteout(struct unpack *u, const char *rel)
{
	const char *base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	if (strncmp(base, ".wh.", 4) != 0)
		return 0;
	char dir[4096];
	snprintf(dir, sizeof dir, "%.*s", (int)(base - rel), rel);
	if (!dir[0])
		snprintf(dir, sizeof dir, ".");
	int dfd = openat(u->rootfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		warnx_("--root %s: %s: %s", u->opt, rel, strerror(errno));
		return -1;
	}
	int rc;
	if (strcmp(base, ".wh..wh..opq") == 0)
		rc = fsetxattr(dfd, "user.overlay.opaque", "y", 1, 0);
	else
		rc = mknodat(dfd, base + 4, S_IFCHR | 0000, makedev(0, 0));
	int e = errno;
	close(dfd);
	if (rc < 0) {
		warnx_("--root %s: %s: cannot make the whiteout: %s", u->opt, rel, strerror(e));
		return -1;
	}
	return 1;
}

/*
 * Turn ENTRY into what is written to disk, and its fake attributes into
 * A and the xattr blob (returned length).  -1 if the blob overflows.
 */
static long prepare(struct unpack *u, struct archive_entry *e, struct fb_attr *a)
{
	mode_t mode = archive_entry_mode(e);
	a->uid = (uint32_t)archive_entry_uid(e);
	a->gid = (uint32_t)archive_entry_gid(e);
	a->mode = mode;
	a->rdev = 0;
	mode_t type = mode & S_IFMT;
	if (type == S_IFCHR || type == S_IFBLK) {
		a->rdev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, 0);
		type = S_IFREG;
	}
	mode_t perm = (mode & 0777) | 0600 | (type == S_IFDIR ? 0100 : 0);
	archive_entry_set_perm(e, perm);

	/* Keep user.* xattrs on disk (but never overlayfs' own); fake the rest. */
	long blen = 0;
	const char *name;
	const void *val;
	size_t vlen;
	struct {
		char *name;
		void *val;
		size_t len;
	} keep[64];
	int nkeep = 0;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &vlen) == ARCHIVE_OK) {
		if (faked_xattr(name)) {
			unsigned char tmp[sizeof u->blob];
			long n = fb_xblob_set(u->blob, (size_t)blen, name, val, vlen, tmp, sizeof tmp);
			if (n < 0)
				return -1;
			memcpy(u->blob, tmp, (size_t)n);
			blen = n;
		} else if (strncmp(name, "user.overlay.", 13) != 0 && nkeep < 64) {
			keep[nkeep].name = strdup(name);
			keep[nkeep].val = malloc(vlen ? vlen : 1);
			if (keep[nkeep].name && keep[nkeep].val) {
				memcpy(keep[nkeep].val, val, vlen);
				keep[nkeep++].len = vlen;
			}
		}
	}
	archive_entry_xattr_clear(e);
	for (int i = 0; i < nkeep; i++) {
		archive_entry_xattr_add_entry(e, keep[i].name, keep[i].val, keep[i].len);
		free(keep[i].name);
		free(keep[i].val);
	}
	/* Owner and group on disk are the user's (the writer never chowns
	 * without ARCHIVE_EXTRACT_OWNER); setuid bits never reach the disk. */
	return blen;
}

/* Do the fake attributes A (and BLEN bytes of faked xattrs) of what E
 * writes differ from what a file without a record shows? */
static int needs_record(const struct fb_attr *a, long blen, struct archive_entry *e)
{
	return a->uid != 0 || a->gid != 0 || a->mode != archive_entry_mode(e) || blen != 0;
}

/*
 * A tar hard link's entry has no file type (a cpio one has): REL, just
 * written as a link, takes its file's, faked (a device's, from the record
 * of the name it links to) or real, into A and E.
 */
static int link_type(struct unpack *u, const char *rel, struct fb_attr *a, struct archive_entry *e)
{
	struct statx x;
	if (statx(u->rootfd, rel, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &x) < 0) {
		warnx_("--root %s: %s: %s", u->opt, rel, strerror(errno));
		return -1;
	}
	struct fb_ident id;
	struct fb_attr its;
	fb_ident_from_statx(&id, &x);
	if (fb_table_get(u->t, &id, &its)) {
		a->mode |= its.mode & S_IFMT;
		a->rdev = its.rdev;
	} else {
		a->mode |= x.stx_mode & S_IFMT;
	}
	archive_entry_set_filetype(e, x.stx_mode & S_IFMT);
	return 0;
}

/* The record of REL, if its fake attributes differ from what no record shows. */
static int record(struct unpack *u, const char *rel, const struct fb_attr *a, long blen,
		  struct archive_entry *e)
{
	if (!needs_record(a, blen, e))
		return 0;
	struct statx x;
	if (statx(u->rootfd, rel[0] ? rel : ".", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &x) < 0) {
		warnx_("--root %s: %s: %s", u->opt, rel, strerror(errno));
		return -1;
	}
	/* The bits the disk has once the writer has set the modes it puts
	 * off to the end (a directory's), as prepare asked for them. */
	x.stx_mode = (__u16)((x.stx_mode & S_IFMT) | (archive_entry_mode(e) & 0777));
	struct fb_ident id;
	fb_ident_from_statx(&id, &x);
	char hint[8400];
	snprintf(hint, sizeof hint, "%s%s%s", u->final_root, rel[0] ? "/" : "", rel);
	int rc = fb_table_put_xattrs(u->t, &id, a, blen ? u->blob : NULL, (size_t)blen, hint);
	if (rc < 0) {
		warnx_("--root %s: %s: cannot record its owner: %s", u->opt, rel, strerror(-rc));
		return -1;
	}
	u->records++;
	return 0;
}

/*
 * The entry's data: 0, -1 when the archive could not be read, -2 when the
 * file was not written.  The disk writer says ARCHIVE_WARN when write(2)
 * fails (a full disk) or the data overruns the entry: anything but OK
 * leaves a short file, which must never be cached as the base.
 */
static int copy_data(struct archive *in, struct archive *out)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	for (;;) {
		int rc = archive_read_data_block(in, &buf, &size, &off);
		if (rc == ARCHIVE_EOF)
			return 0;
		if (rc < ARCHIVE_WARN)
			return -1;
		if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
			return -2;
	}
}

/* The user.* xattrs of IN (the only real ones in the tree) onto OUT. */
static int copy_xattrs(int in, int out)
{
	char names[65536], val[65536];
	ssize_t n = flistxattr(in, names, sizeof names);
	if (n < 0)
		return errno == ENOTSUP ? 0 : -1;
	for (char *p = names; p < names + n; p += strlen(p) + 1) {
		ssize_t vl = fgetxattr(in, p, val, sizeof val);
		if (vl < 0 || fsetxattr(out, p, val, (size_t)vl, 0) < 0)
			return -1;
	}
	return 0;
}

/*
 * REL, just written as a hard link, becomes a copy of its file, for a
 * name whose file has a record.  overlayfs in a user namespace copies a
 * hard-linked lower file up as a new inode (it ignores index=on), so once
 * the build changed one name, a shared record would be lost for that name
 * and kept for the others, which real root would not have changed: a
 * setuid or non-root file of the base showing 0:0 and its real mode.  As
 * copies, each name keeps its own record, and a change to one changes
 * only it, as a copy-up as root does; only the link count differs.  The
 * directory is reached from within the tree, never through a symlink.
 */
static int unshare(struct unpack *u, const char *rel)
{
	char dir[4096], tmp[4200];
	const char *base = strrchr(rel, '/');
	snprintf(dir, sizeof dir, "%.*s", base ? (int)(base - rel) : 1, base ? rel : ".");
	base = base ? base + 1 : rel;
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int dfd = (int)syscall(SYS_openat2, u->rootfd, dir, &how, sizeof how), in = -1, out = -1;
	struct stat st;
	int ok = dfd >= 0 && (in = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0 &&
		 fstat(in, &st) == 0 && S_ISREG(st.st_mode);
	for (int i = 0; ok && out < 0 && i < 100; i++) {
		snprintf(tmp, sizeof tmp, ".%.200s.fakebuild-%d-%d", base, (int)getpid(), i);
		out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		ok = out >= 0 || errno == EEXIST;
	}
	ok = ok && out >= 0;
	for (ssize_t n = 1; ok && n > 0;) {
		n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		ok = n >= 0;
	}
	const struct timespec times[2] = { st.st_atim, st.st_mtim };
	ok = ok && copy_xattrs(in, out) == 0 && fchmod(out, st.st_mode & 07777) == 0 &&
	     futimens(out, times) == 0 && renameat(dfd, tmp, dfd, base) == 0;
	int e = errno;
	if (!ok && out >= 0)
		unlinkat(dfd, tmp, 0);
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	if (dfd >= 0)
		close(dfd);
	if (!ok)
		warnx_("--root %s: %s: cannot make a copy of the hard link: %s", u->opt, rel, strerror(e));
	return ok ? 0 : -1;
}

/*
 * A name (an entry's, a hard link's target) the tree cannot hold: longer
 * than PATH_MAX, which every call on it here would refuse, and which a
 * copy would cut to a wrong name.  Named by its start and its end.
 */
static int too_long(struct unpack *u, const char *rel)
{
	size_t n = strlen(rel);
	while (n && rel[n - 1] == '/')
		n--;	/* a directory's slash is not kept */
	if (n < PATH_MAX)
		return 0;
	warnx_("--root %s: %.60s...%s: name too long (%zu bytes, at most %d)", u->opt, rel,
	       rel + n - 60, n, PATH_MAX - 1);
	return 1;
}

/* Unpack the archive into the current directory (the new tree). */
static int extract(struct unpack *u)
{
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	if (!in || !out)
		return warnx_("out of memory"), -1;
	archive_read_support_filter_all(in);
	archive_read_support_format_all(in);
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
				       ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
				       ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	int ret = -1, n = 0;
	char why[512];
	if (archive_read_open_filename(in, u->archive, 65536) != ARCHIVE_OK) {
		warnx_("--root %s: not an archive fakebuild can read: %s", u->opt,
		       fb_archive_read_why(in, why, sizeof why));
		goto out;
	}
	for (;;) {
		if (fb_root_interrupted) {
			warnx_("--root %s: interrupted while unpacking it", u->opt);
			goto out;
		}
		struct archive_entry *e;
		int rc = archive_read_next_header(in, &e);
		if (rc == ARCHIVE_EOF)
			break;
		/* RETRY: a damaged header, skipped by libarchive, with no entry to use. */
		const char *name = rc >= ARCHIVE_WARN && rc != ARCHIVE_RETRY ? archive_entry_pathname(e) : NULL;
		if (!name) {
			/* No message: a format libarchive knows, cut short (a cpio
			 * at or in a header); a message: one it cannot read. */
			const char *msg = archive_error_string(in);
			if (n == 0 && msg && *msg)
				warnx_("--root %s: not an archive fakebuild can read: %s", u->opt,
				       fb_archive_read_why(in, why, sizeof why));
			else if (n == 0)
				warnx_("--root %s: truncated or corrupt archive, in its first header: %s",
				       u->opt, fb_archive_read_why(in, why, sizeof why));
			else
				warnx_("--root %s: truncated or corrupt archive, after %d entries: %s",
				       u->opt, n, fb_archive_read_why(in, why, sizeof why));
			goto out;
		}
		/* libarchive reads any text of "name keyword=value" lines as
		 * mtree(5), a listing without the files: no root. */
		if (n == 0 && (archive_format(in) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_MTREE) {
			warnx_("--root %s: not an archive fakebuild can read: it reads as an mtree "
			       "listing, which holds no files", u->opt);
			goto out;
		}
		n++;
		char rel[PATH_MAX];
		if (too_long(u, relative(name)))
			goto out;
		snprintf(rel, sizeof rel, "%s", relative(name));
		size_t rl = strlen(rel);
		while (rl && rel[rl - 1] == '/')
			rel[--rl] = 0;
		int wo = rel[0] ? whiteout(u, rel) : 0;
		if (wo < 0)
			goto out;
		if (wo)
			continue;
		struct fb_attr a;
		long blen = prepare(u, e, &a);
		if (blen < 0) {
			warnx_("--root %s: %s: too many extended attributes", u->opt, rel);
			goto out;
		}
		archive_entry_set_pathname(e, rel[0] ? rel : ".");
		const char *hl = archive_entry_hardlink(e);
		char hlrel[PATH_MAX];
		if (hl && too_long(u, relative(hl)))
			goto out;
		if (hl) {
			snprintf(hlrel, sizeof hlrel, "%s", relative(hl));
			archive_entry_set_hardlink(e, hlrel);
		}
		rc = archive_write_header(out, e);
		/* Not the header's warning for the data's failure, which may have no message. */
		archive_clear_error(in);
		int data = 0;
		if (rc >= ARCHIVE_WARN && archive_entry_size(e) > 0)
			data = copy_data(in, out);
		if (data == -1) {
			warnx_("--root %s: truncated or corrupt archive, at %s: %s", u->opt, rel[0] ? rel : ".",
			       fb_archive_read_why(in, why, sizeof why));
			goto out;
		}
		if (rc >= ARCHIVE_WARN && data == 0)
			rc = archive_write_finish_entry(out);
		if (rc < ARCHIVE_WARN || data < 0) {
			warnx_("--root %s: %s: cannot write it into the cache: %s", u->opt, rel[0] ? rel : ".",
			       fb_archive_why(out, why, sizeof why));
			goto out;
		}
		if (hl && !(a.mode & S_IFMT) && link_type(u, rel, &a, e) < 0)
			goto out;
		/* Written whole (a cpio link may bring the data), then unshared. */
		if (hl && needs_record(&a, blen, e) && unshare(u, rel) < 0)
			goto out;
		if (record(u, rel, &a, blen, e) < 0)
			goto out;
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		warnx_("--root %s: %s", u->opt, fb_archive_why(out, why, sizeof why));
		goto out;
	}
	ret = 0;
out:
	archive_read_free(in);
	archive_write_free(out);
	return ret;
}

int fb_unpack(struct fb_root *r, struct fb_layer *l, int w)
{
	char entry[4200], key[32], roots[4200], tmp[4300];
	if (entry_of(r, l, entry, sizeof entry, key, sizeof key) < 0)
		die("--root %s: cache path too long", l->opt);
	/* libarchive would say only "Failed to open": the reason, first. */
	int fd = open(l->archive, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		warnx_("--root %s: %s", l->opt, strerror(errno));
		return -1;
	}
	close(fd);
	snprintf(roots, sizeof roots, "%s/roots", r->cache);
	if (mkdir(roots, 0700) < 0 && errno != EEXIST)
		die("%s: %s", roots, strerror(errno));
	snprintf(tmp, sizeof tmp, "%s/.tmp-%s-XXXXXX", roots, key);
	if (!mkdtemp(tmp))
		die("%s: %s", roots, strerror(errno));
	fb_watch_add(w, tmp);
	if (!r->quiet)
		warnx_("unpacking %s into the cache (once)", l->archive);

	fb_archive_load();
	struct unpack *u = calloc(1, sizeof *u);
	if (!u)
		die("out of memory");
	u->archive = l->archive;
	u->opt = l->opt;
	snprintf(u->final_root, sizeof u->final_root, "%s/root", entry);
	char p[4400];
	snprintf(p, sizeof p, "%s/root", tmp);
	/* The directories the archive has no entry for (its "./", a parent it
	 * leaves out) are 0755 whoever unpacks it first, under any umask:
	 * libarchive makes a parent by the umask it finds. */
	mode_t um = umask(022);
	int ok = mkdir(p, 0755) == 0;
	u->rootfd = ok ? open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	snprintf(p, sizeof p, "%s/table", tmp);
	int rc = u->rootfd >= 0 ? fb_table_create(p, FB_TABLE_DEFAULT_CAPACITY, &u->t) : -errno;
	const char *limit = fb_limit_hit(rc);
	if (limit)
		warnx_("%s: cannot create its table: %s: over %s", tmp, strerror(-rc), limit);
	else if (rc < 0)
		warnx_("%s: %s", tmp, strerror(-rc));
	ok = ok && rc == 0;
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ok && fchdir(u->rootfd) < 0)
		ok = 0;
	if (ok)
		ok = extract(u) == 0;
	/* The base must be a root before it is kept (root.c checks again
	 * for a directory base); a layer above it need not be one. */
	if (ok && l == &r->layer[0] && fb_looks_like_root(u->rootfd) <= 0) {
		warnx_("--root %s: not a root: no usr, bin or etc directory in it", l->opt);
		ok = 0;
	}
	if (cwd >= 0) {
		if (fchdir(cwd) < 0)
			ok = 0;
		close(cwd);
	}
	umask(um);
	if (ok) {
		struct fb_err err = { { 0 } };
		snprintf(p, sizeof p, "%s/records.db", tmp);
		if (fb_store_save(p, u->t, &err) < 0) {
			warnx_("%s", err.msg);
			ok = 0;
		}
		snprintf(p, sizeof p, "%s/source", tmp);
		FILE *f = fopen(p, "we");
		if (f) {
			fprintf(f, "%s\n%ld records\n", l->archive, u->records);
			fclose(f);
		}
		/* Last: the tree's stamp, that check_entry compares. */
		struct statx x;
		char st[96];
		snprintf(p, sizeof p, "%s/made", tmp);
		if (ok && (statx(u->rootfd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &x) < 0 ||
			   (stamp(&x, st, sizeof st), symlink(st, p) < 0))) {
			warnx_("%s: %s", p, strerror(errno));
			ok = 0;
		}
	}
	if (u->t)
		fb_table_detach(u->t);
	snprintf(p, sizeof p, "%s/table", tmp);
	unlink(p);
	if (u->rootfd >= 0)
		close(u->rootfd);
	free(u);
	rc = ok ? put_entry(roots, tmp, entry) : 0;
	if (rc < 0) {
		warnx_("%s: %s", entry, strerror(-rc));
		ok = 0;
	}
	/* Gone if renamed; else another's is used, or the damaged one it replaced. */
	fb_remove_tree(AT_FDCWD, tmp);
	if (!ok) {
		warnx_("--root %s: nothing was cached", l->opt);
		return -1;
	}
	const char *why;
	if (use_entry(l, entry, &why) <= 0) {
		warnx_("--root %s: its cache entry %s: %s", l->opt, entry, why);
		return -1;
	}
	return 0;
}
