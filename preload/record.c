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

/*
 * The path /proc's LINK (a /proc/.../fd/N) gives, into BUF: its length,
 * or -ENOENT when it gives none: a file unlinked or never linked
 * (O_TMPFILE), which the kernel names "PATH (deleted)" (a file whose name
 * ends so has links left).
 */
static ssize_t fd_link(const char *link, char *buf, size_t len)
{
	FB_REAL(readlink);
	ssize_t n = real_readlink ? real_readlink(link, buf, len - 1) : -1;
	if (n <= 0 || buf[0] != '/')
		return -ENOENT;
	buf[n] = 0;
	static const char deleted[] = " (deleted)";
	struct statx stx;
	if ((size_t)n >= sizeof deleted - 1 && strcmp(buf + n - (sizeof deleted - 1), deleted) == 0 &&
	    (fb_sys_statx(AT_FDCWD, link, 0, STATX_NLINK, &stx) < 0 || stx.stx_nlink == 0))
		return -ENOENT;
	return n;
}

ssize_t fb_fd_path(int fd, char *buf, size_t len)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return fd_link(proc, buf, len);
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

/* Does PATH have a ".." after a name (which may be a symbolic link, so
 * that the ".." does not undo it)? */
static int dotdot_after_name(const char *path)
{
	for (const char *p = strstr(path, "/.."); p; p = strstr(p + 1, "/.."))
		if ((p[3] == '/' || !p[3]) && !(p - path >= 2 && p[-1] == '.' && p[-2] == '.' &&
						 (p - path == 2 || p[-3] == '/')))
			return 1;
	return 0;
}

/*
 * BUF, an absolute path with a ".." after a name that may be a symbolic
 * link, as the kernel finds it, where the text alone would say another.
 * The directory is resolved, not the last name (a chown -h of a link).
 * Such paths are rare; a path that cannot be resolved is left as it is.
 */
static void resolve_hint(char *buf, size_t len)
{
	char dir[PATH_MAX], real[PATH_MAX];
	size_t bl = strlen(buf);
	char *slash = strrchr(buf, '/');
	if (!slash || slash == buf || (size_t)(slash - buf) >= sizeof dir)
		return;
	memcpy(dir, buf, (size_t)(slash - buf));
	dir[slash - buf] = 0;
	fb_guard++;
	char *r = realpath(dir, real);
	fb_guard--;
	size_t rl = r ? strlen(real) : 0;
	if (!r || real[0] != '/' || rl + (bl - (size_t)(slash - buf)) + 1 > len)
		return;
	memmove(buf + rl, slash, bl - (size_t)(slash - buf) + 1);
	memcpy(buf, real, rl);
}

/*
 * BUF names a file through /proc/PID/fd/N, /proc/self/fd/N or
 * /proc/thread-self/fd/N (and maybe below it)?  Then the descriptor's
 * link, the file's own path, replaces that part.  -1 when it leads to no
 * path (the file was deleted, or its link cannot be read): no hint, as
 * the /proc name means nothing to another process.
 */
static int resolve_proc_fd(char *buf, size_t len)
{
	const char *p = buf;
	if (strncmp(p, "/proc/", 6) != 0)
		return 0;
	p += 6;
	if (strncmp(p, "self/", 5) == 0) {
		p += 5;
	} else if (strncmp(p, "thread-self/", 12) == 0) {
		p += 12;
	} else {
		const char *d = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == d || *p++ != '/')
			return 0;
	}
	if (strncmp(p, "fd/", 3) != 0 || !(p[3] >= '0' && p[3] <= '9'))
		return 0;
	p += 3;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p && *p != '/')
		return 0;
	char link[64], real[PATH_MAX];
	size_t ll = (size_t)(p - buf);
	if (ll >= sizeof link)
		return -1;
	memcpy(link, buf, ll);
	link[ll] = 0;
	ssize_t n = fd_link(link, real, sizeof real);
	size_t rest = strlen(p);
	if (n <= 0 || (size_t)n + rest + 1 > len)
		return -1;
	memmove(buf + n, p, rest + 1);
	memcpy(buf, real, (size_t)n);
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
	if (resolve_proc_fd(buf, len) < 0)
		return -ENOENT;
	if (path && dotdot_after_name(path))
		resolve_hint(buf, len);
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
		/* Once a session, not once a process: a make -j of short
		 * processes would repeat it for every one. */
		const char *file = getenv("FAKEBUILD_TABLE");
		if (!fb_table_first_full(t))
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
