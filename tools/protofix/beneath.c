/*
 * beneath.c - resolving paths beneath the proto root.
 *
 * Why this exists: protofix runs as root over a tree an unprivileged build
 * wrote.  A symlink anywhere in that tree (usr/lib -> /etc) or a directory
 * swapped for one while we walk must never make a chown or chmod land
 * outside the tree.  So a path is never resolved by the kernel's ordinary
 * lookup: openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS refuses both
 * ".." escapes and every symlink, in the middle or at the end.  Kernels
 * without openat2 (before 5.6) get a walk that opens one component at a
 * time with O_NOFOLLOW, which gives the same guarantee for normalized paths
 * (no "..": fb_path_normalize rejects it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "protofix.h"

static int no_openat2;

static int open_walk(int dirfd, const char *rel, int oflags)
{
	char buf[PATH_MAX], *comp, *save = NULL;
	int fd, next;

	if (strlen(rel) >= sizeof buf)
		return -ENAMETOOLONG;
	strcpy(buf, rel);
	fd = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		bool last = save == NULL || *save == '\0';
		int fl = last ? oflags : O_PATH | O_DIRECTORY;

		if (strcmp(comp, "..") == 0) {
			close(fd);
			return -EXDEV;
		}
		/* O_NOFOLLOW on every component: a symlink is an error, never a path. */
		next = openat(fd, comp, fl | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		close(fd);
		fd = next;
		if (last)
			return fd;
	}
	/* REL was "." or empty: reopen the directory itself with the caller's flags. */
	next = openat(fd, ".", oflags | O_CLOEXEC);
	close(fd);
	return next < 0 ? -errno : next;
}

int pf_open_beneath(int dirfd, const char *rel, int oflags)
{
	struct open_how how = {
		.flags = (unsigned)(oflags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (!no_openat2 && !pf_compat) {
		fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return -errno;
		no_openat2 = 1;
	}
	return open_walk(dirfd, rel, oflags);
}

/*
 * Open PATH as the kernel would resolve it, one component at a time, and
 * die if a symlink on the way belongs to someone other than root or the
 * caller: that user, not the admin, would choose where the proto root is
 * (~builder/rootfs -> /etc, and root's --fix rewrites /etc).
 */
static int open_trusted(const char *path)
{
	char buf[2 * PATH_MAX], link[PATH_MAX];
	int links = 0, fd;

	if (strlen(path) >= PATH_MAX)
		die("%s: cannot open the proto root: %s", path, strerror(ENAMETOOLONG));
	strcpy(buf, path);
	fd = open(buf[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die("%s: cannot open the proto root: %s", path, strerror(errno));
	char *rest = buf;
	for (;;) {
		while (*rest == '/')
			rest++;
		if (!*rest)
			return fd;
		char *end = strchr(rest, '/');
		if (end)
			*end = 0;
		struct stat st;
		int next = -1;
		if (fstatat(fd, rest, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
			if (st.st_uid != 0 && st.st_uid != geteuid())
				die("%s: the symbolic link %s on the way belongs to uid %u: "
				    "give the proto root's own path", path, rest, (unsigned)st.st_uid);
			ssize_t n = readlinkat(fd, rest, link, sizeof link - 1);
			if (n < 0 || ++links > 40)
				die("%s: cannot open the proto root: %s", path,
				    strerror(n < 0 ? errno : ELOOP));
			link[n] = 0;
			/* The link's target, then what followed it. */
			char tail[PATH_MAX];
			const char *after = end ? end + 1 : "";
			size_t ln = (size_t)n, la = strlen(after);
			if (ln + 1 + la + 1 > sizeof tail)
				die("%s: cannot open the proto root: %s", path, strerror(ENAMETOOLONG));
			memcpy(tail, link, ln);
			tail[ln] = '/';
			memcpy(tail + ln + 1, after, la + 1);
			strcpy(buf, tail);
			rest = buf;
			if (link[0] == '/') {
				next = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (next < 0)
					die("/: %s", strerror(errno));
				close(fd);
				fd = next;
			}
			continue;
		}
		next = openat(fd, rest, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			die("%s: cannot open the proto root: %s", path, strerror(errno));
		close(fd);
		fd = next;
		if (!end)
			return fd;
		rest = end + 1;
	}
}

int pf_open_root(const char *root, bool allow, uid_t *owner)
{
	struct stat st, slash;
	int fd;

	/*
	 * The root itself is the admin's choice, so symlinks in PROTO_ROOT are
	 * followed here, if they are root's or the caller's own (open_trusted);
	 * what matters is where it ends up: "/", or any path resolving to it
	 * ("/tmp/..", a symlink to "/"), would make this a tool that rewrites
	 * the running system's owners.
	 */
	fd = open_trusted(root);
	/* At the lowest free number, as a plain open(2) would have put it. */
	int low = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (low >= 0 && low < fd) {
		close(fd);
		fd = low;
	} else if (low >= 0) {
		close(low);
	}
	if (fstat(fd, &st) < 0 || stat("/", &slash) < 0)
		die("%s: stat: %s", root, strerror(errno));
	if (st.st_dev == slash.st_dev && st.st_ino == slash.st_ino && !allow)
		die("%s: refusing to work on the root directory (use --allow-root-dir)", root);
	*owner = st.st_uid;
	return fd;
}
