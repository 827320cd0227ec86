/*
 * export.c - fakebuild --export [DIR]: the fake state of a tree as a
 * path-keyed mtree(5) manifest, like FreeBSD's METALOG:
 *   #mtree 2.0
 *   ./usr/bin/su type=file uid=0 gid=0 mode=4755
 * Directories come before their contents; names in byte order.
 *
 * Written for every reader that matters to read it back the same:
 * fakebuild-manifest(5) (cpiotranslate -m, protofix -m, through
 * libarchive's mtree reader), bsdtar and FreeBSD's mtree(8).
 * - Devices are "device=native,MAJ,MIN": libarchive's "linux" format is
 *   the old 8-bit major and minor (259,1 is refused), while "native" is
 *   packed with the reading host's makedev, which holds every number
 *   Linux allows (12-bit major, 20-bit minor); libarchive's own mtree
 *   writer and FreeBSD's mtree write the same.
 * - The second and later names of a regular file are "type=file
 *   link=./FIRST", the manifest's hard link (fakebuild-manifest(5));
 *   mtree has no hard link type libarchive reads.
 * - Names are escaped as libarchive's mtree writer does, and also the
 *   glob characters "*?[" that FreeBSD's mtree would take for a pattern.
 */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <uthash.h>

#include "fakebuild.h"
#include "view.h"

/* The first name seen of a regular file with several names. */
struct inode {
	struct { uint64_t dev, ino; } key;
	char *path;		/* as printed: "./usr/bin/su", escaped */
	UT_hash_handle hh;
};

static int by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* mtree(5) escapes: octal for anything but printable non-space ASCII, "\", "#", "=" and globs. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch <= ' ' || ch >= 0x7f || strchr("\\#=*?[", ch))
			fprintf(f, "\\%03o", ch);
		else
			fputc(ch, f);
	}
}

/* The path as printed, in a string (for the hard links that name it). */
static char *escaped(const char *rel)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die("out of memory");
	fputc('.', f);
	put_escaped(f, rel);
	if (fclose(f) != 0)
		die("out of memory");
	return buf;
}

static const char *type_name(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "dir";
	case S_IFLNK: return "link";
	case S_IFCHR: return "char";
	case S_IFBLK: return "block";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	default: return "file";
	}
}

/*
 * The name an earlier line gave the inode of STX (a regular file with
 * other names), or NULL: this is its first name here, now remembered.
 */
static const char *first_name(struct inode **seen, const struct statx *stx, const char *rel)
{
	struct inode *i, key;
	memset(&key, 0, sizeof key);
	key.key.dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	key.key.ino = stx->stx_ino;
	HASH_FIND(hh, *seen, &key.key, sizeof key.key, i);
	if (i)
		return i->path;
	if (!(i = calloc(1, sizeof *i)))
		die("out of memory");
	i->key = key.key;
	i->path = escaped(rel);
	HASH_ADD(hh, *seen, key, sizeof i->key, i);
	return NULL;
}

int fb_export(struct fb_table *t, const char *dir, int unknown_is_real)
{
	/* A DIR that is not there prints nothing, not a header and an error. */
	struct stat st;
	if (lstat(dir, &st) < 0) {
		warnx_("%s: %s", dir, strerror(errno));
		return 1;
	}
	char *paths[] = { (char *)dir, NULL };
	FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, by_name);
	if (!fts) {
		warnx_("%s: %s", dir, strerror(errno));
		return 1;
	}
	size_t rootlen = strlen(dir);
	while (rootlen > 1 && dir[rootlen - 1] == '/')
		rootlen--;
	struct inode *seen = NULL, *i, *tmp;
	int status = 0;
	FTSENT *e;
	/* The signature libarchive's reader bids on; FreeBSD's METALOG has it too. */
	fputs("#mtree 2.0\n", stdout);
	while ((e = fts_read(fts))) {
		if (e->fts_info == FTS_DP)
			continue;
		if (e->fts_info == FTS_ERR || e->fts_info == FTS_DNR || e->fts_info == FTS_NS) {
			warnx_("%s: %s", e->fts_path, strerror(e->fts_errno));
			status = 1;
			continue;
		}
		struct statx stx;
		if (statx(AT_FDCWD, e->fts_accpath, AT_SYMLINK_NOFOLLOW,
			  STATX_BASIC_STATS | STATX_BTIME, &stx) < 0) {
			warnx_("%s: %s", e->fts_path, strerror(errno));
			status = 1;
			continue;
		}
		struct fb_attr a;
		fb_view(t, &stx, unknown_is_real, &a);
		const char *rel = e->fts_level > 0 ? e->fts_path + rootlen : "";
		const char *first = S_ISREG(a.mode) && S_ISREG(stx.stx_mode) && stx.stx_nlink > 1
					    ? first_name(&seen, &stx, rel) : NULL;
		fputc('.', stdout);
		put_escaped(stdout, rel);
		printf(" type=%s uid=%u gid=%u mode=%04o", type_name(a.mode), a.uid, a.gid, a.mode & 07777);
		if (S_ISCHR(a.mode) || S_ISBLK(a.mode))
			printf(" device=native,%u,%u", major(a.rdev), minor(a.rdev));
		if (first)
			printf(" link=%s", first);
		if (S_ISLNK(a.mode)) {
			char target[4096];
			ssize_t n = readlink(e->fts_accpath, target, sizeof target - 1);
			if (n < 0) {
				warnx_("%s: readlink: %s", e->fts_path, strerror(errno));
				status = 1;
			} else {
				target[n] = 0;
				fputs(" link=", stdout);
				put_escaped(stdout, target);
			}
		}
		fputc('\n', stdout);
	}
	if (errno) {
		/* fts_read returns NULL with errno set on failure, 0 at the end. */
		warnx_("%s: %s", dir, strerror(errno));
		status = 1;
	}
	fts_close(fts);
	HASH_ITER(hh, seen, i, tmp) {
		HASH_DEL(seen, i);
		free(i->path);
		free(i);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warnx_("standard output: %s", strerror(errno));
		status = 1;
	}
	return status;
}
