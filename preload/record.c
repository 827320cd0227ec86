/*
 * record.c - writing to the live table from the wrappers: fb_record()
 * (chown, chmod, mknod, ...) and fb_forget() (unlink, rename over).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fb.h"

/* Whether fb_path_clean would leave P as it is, as almost every path is:
 * a strchr per component, not a copy of every byte. */
static int path_is_clean(const char *p)
{
	if (p[0] != '/')
		return 0;
	if (!p[1])
		return 1;
	for (const char *s = p; s; s = strchr(s + 1, '/')) {
		const char *c = s + 1;
		if (!c[0] || c[0] == '/')
			return 0;	/* "//" or a trailing "/" */
		if (c[0] == '.' && (!c[1] || c[1] == '/' || (c[1] == '.' && (!c[2] || c[2] == '/'))))
			return 0;	/* "." or ".." */
	}
	return 1;
}

/* Lexically clean an absolute path in place: no "//", "/./" or "x/.." (hints only). */
void fb_path_clean(char *p)
{
	if (path_is_clean(p))
		return;
	char *out = p, *in = p;
	while (*in) {
		while (*in == '/')
			in++;
		if (!*in)
			break;
		char *end = in;
		while (*end && *end != '/')
			end++;
		size_t n = (size_t)(end - in);
		if (n == 1 && in[0] == '.') {
			/* skip */
		} else if (n == 2 && in[0] == '.' && in[1] == '.') {
			while (out > p && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, n);
			out += n;
		}
		in = end;
	}
	if (out == p)
		*out++ = '/';
	*out = 0;
}

/*
 * The path of a directory descriptor (or of the working directory), for
 * hints.  Asking the kernel (readlink of /proc/self/fd/N, getcwd) costs
 * more than the chown it serves, and chown -R asks for the same directory
 * once per entry; so the process remembers its last answer while the
 * descriptor's stamp (fd.c) says it still names the same directory.
 *
 * One cache per process, behind a try-lock held only to read or fill it:
 * a thread (or a signal handler) that finds it busy asks the kernel.  The
 * first answer is not kept, so a process that records one file (install,
 * mknod) never touches the buffer's pages; see FB_BSS_LATE.
 */
static struct {
	int busy;
	int fd;
	unsigned misses;
	uint64_t stamp;
	size_t len;		/* 0: empty */
} dircache;
static char dircache_path[PATH_MAX] FB_BSS_LATE(2);

ssize_t fb_fd_path(int fd, char *buf, size_t len)
{
	FB_REAL(readlink);
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	ssize_t n = real_readlink ? real_readlink(proc, buf, len - 1) : -1;
	if (n <= 0 || buf[0] != '/')
		return -ENOENT;
	buf[n] = 0;
	return n;
}

static int dir_path(int dirfd, char *buf, size_t len, size_t *out)
{
	uint64_t gen = fb_fd_stamp(dirfd);
	if (fb_trylock(&dircache.busy)) {
		int hit = dircache.len && dircache.fd == dirfd && dircache.stamp == gen &&
			  dircache.len < len;
		if (hit) {
			memcpy(buf, dircache_path, dircache.len + 1);
			*out = dircache.len;
		}
		fb_unlock(&dircache.busy);
		if (hit)
			return 0;
	}
	size_t dl;
	if (dirfd == AT_FDCWD) {
		if (!getcwd(buf, len))
			return -errno;
		dl = strlen(buf);
	} else {
		ssize_t n = fb_fd_path(dirfd, buf, len);
		if (n < 0)
			return (int)n;
		dl = (size_t)n;
	}
	if (dl < sizeof dircache_path && fb_trylock(&dircache.busy)) {
		if (++dircache.misses > 1) {
			memcpy(dircache_path, buf, dl + 1);
			dircache.len = dl;
			dircache.fd = dirfd;
			dircache.stamp = gen;
		}
		fb_unlock(&dircache.busy);
	}
	*out = dl;
	return 0;
}

int fb_path_hint(int dirfd, const char *path, char *buf, size_t len)
{
	size_t dl = 0;
	/* A descriptor this process created a file with: its directory and name are known. */
	int odir;
	const char *oname;
	if (path && !*path && dirfd >= 0 && fb_fd_origin(dirfd, &odir, &oname)) {
		dirfd = odir;
		path = oname;
	}
	if (!(path && path[0] == '/')) {
		int rc = dir_path(dirfd, buf, len, &dl);
		if (rc < 0)
			return rc;
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
	fb_path_clean(buf);
	/* Inside a chroot: the path as the session's root sees it. */
	const char *pre;
	size_t n = fb_chroot_prefix(&pre);
	if (n) {
		size_t bl = strlen(buf);
		if (n + bl + 1 > len)
			return -ENAMETOOLONG;
		memmove(buf + n, buf, bl + 1);
		memcpy(buf, pre, n);
		if (bl == 1)
			buf[n] = 0;	/* the root itself: no trailing slash */
	}
	return 0;
}

int fb_record(const struct statx *stx, const struct fb_attr *a, int dirfd, const char *path,
	      int known, const struct fb_attr *before)
{
	struct fb_table *t = fb_table();
	if (!t)
		return -EIO;
	struct fb_ident id;
	fb_ident_from_statx(&id, stx);
	/* The path hint is only needed when the record is new. */
	char hint[PATH_MAX];
	const char *h = NULL;
	if (!known) {
		fb_guard++;
		if (fb_path_hint(dirfd, path, hint, sizeof hint) == 0)
			h = hint;
		fb_guard--;
	}
	int rc = before ? fb_table_put_if(t, &id, known ? before : NULL, a, h) : fb_table_put(t, &id, a, h);
	if (rc == -ENOSPC) {
		static int told;
		const char *file = getenv("FAKEBUILD_TABLE");
		if (__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
			;
		else if (fb_table_out_of_space(t))
			fb_warn("%s: No space left on device: the live table cannot grow, and ownership "
				"changes now fail with ENOSPC (what was recorded is kept)",
				file ? file : "the live table");
		else
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
