/*
 * export.c - fakebuild --export [DIR]: the fake state of a tree as a
 * path-keyed mtree(5) manifest, like FreeBSD's METALOG:
 *   ./usr/bin/su type=file uid=0 gid=0 mode=4755
 * Directories come before their contents; names in byte order.
 */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fakebuild.h"
#include "view.h"

static int by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* mtree(5) escapes: octal for anything but printable non-space ASCII, and backslash. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch <= ' ' || ch >= 0x7f || ch == '\\' || ch == '#' || ch == '=')
			fprintf(f, "\\%03o", ch);
		else
			fputc(ch, f);
	}
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

int fb_export(struct fb_table *t, const char *dir, int unknown_is_real)
{
	char *paths[] = { (char *)dir, NULL };
	FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, by_name);
	if (!fts) {
		warnx_("%s: %s", dir, strerror(errno));
		return 1;
	}
	size_t rootlen = strlen(dir);
	while (rootlen > 1 && dir[rootlen - 1] == '/')
		rootlen--;
	int status = 0;
	FTSENT *e;
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
		fputc('.', stdout);
		if (e->fts_level > 0)
			put_escaped(stdout, e->fts_path + rootlen);
		printf(" type=%s uid=%u gid=%u mode=%04o", type_name(a.mode), a.uid, a.gid, a.mode & 07777);
		if (S_ISCHR(a.mode) || S_ISBLK(a.mode))
			printf(" device=linux,%u,%u", major(a.rdev), minor(a.rdev));
		if (S_ISLNK(a.mode)) {
			char target[4096];
			ssize_t n = readlink(e->fts_accpath, target, sizeof target - 1);
			if (n >= 0) {
				target[n] = 0;
				fputs(" link=", stdout);
				put_escaped(stdout, target);
			}
		}
		fputc('\n', stdout);
	}
	if (errno && errno != ENOENT) {
		/* fts_read returns NULL with errno set on failure, 0 at the end. */
	}
	fts_close(fts);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warnx_("standard output: %s", strerror(errno));
		status = 1;
	}
	return status;
}
