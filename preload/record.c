/*
 * record.c - writing to the live table from the wrappers: fb_record()
 * (chown, chmod, mknod, ...) and fb_forget() (unlink, rename over).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fb.h"

int fb_path_hint(int dirfd, const char *path, char *buf, size_t len)
{
	FB_REAL(readlink);
	size_t dl;
	if (path && path[0] == '/') {
		dl = 0;
	} else if (dirfd == AT_FDCWD) {
		if (!getcwd(buf, len))
			return -errno;
		dl = strlen(buf);
	} else {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", dirfd);
		ssize_t n = real_readlink ? real_readlink(proc, buf, len - 1) : -1;
		if (n < 0 || buf[0] != '/')
			return -ENOENT;
		dl = (size_t)n;
	}
	size_t pl = path ? strlen(path) : 0;
	if (dl + 1 + pl + 1 > len)
		return -ENAMETOOLONG;
	if (pl) {
		if (dl && buf[dl - 1] != '/')
			buf[dl++] = '/';
		memcpy(buf + dl, path, pl);
		dl += pl;
	}
	buf[dl] = 0;
	return 0;
}

int fb_record(const struct statx *stx, const struct fb_attr *a, int dirfd, const char *path)
{
	struct fb_table *t = fb_table();
	if (!t)
		return -EIO;
	struct fb_ident id;
	fb_ident_from_statx(&id, stx);
	/* The path hint is only needed when the record is new. */
	struct fb_attr cur;
	char hint[PATH_MAX];
	const char *h = NULL;
	if (!fb_table_get(t, &id, &cur)) {
		fb_guard++;
		if (fb_path_hint(dirfd, path, hint, sizeof hint) == 0)
			h = hint;
		fb_guard--;
	}
	int rc = fb_table_put(t, &id, a, h);
	if (rc == -ENOSPC) {
		static int told;
		if (!__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
			fb_warn("the live table is full: ownership changes now fail with ENOSPC "
				"(start the session with a larger FAKEBUILD_CAPACITY)");
	}
	fb_debug(2, "record %llu:%llu uid=%u gid=%u mode=%o -> %d", (unsigned long long)id.dev,
		 (unsigned long long)id.ino, a->uid, a->gid, a->mode, rc);
	return rc;
}

void fb_forget(const struct statx *stx)
{
	struct fb_table *t = fb_table();
	if (!t)
		return;
	struct fb_ident id;
	fb_ident_from_statx(&id, stx);
	fb_table_del(t, &id);
}
