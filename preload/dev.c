/*
 * dev.c - device nodes a build can use: the host's node bound over the
 * placeholder.  No entry point of its own; called by mknod.c (bind),
 * stat.c (look beneath the bind) and unlink.c (unbind).
 *
 * mknod makes a device node as an empty regular file with a record (see
 * mknod.c): an archive gets the device, but a program that uses the node
 * gets a file.  Inside a root being built that matters: maintainer scripts
 * write to /dev/null (a file that keeps what they wrote and returns it to
 * the next reader), read /dev/urandom (EOF: no salt for a password hash),
 * open /dev/ptmx (no pty).  Where the process may mount (a user namespace
 * that owns its mount namespace: a build root), a node of the safe set
 * below is made usable as bubblewrap and mmdebstrap's unshare mode do it:
 * the host's node is bind-mounted over the placeholder.  Anywhere else the
 * bind is refused and the placeholder stays what it was.  Only in a mount
 * namespace that ends with the session, though: real root on the host, a
 * container's root, or `unshare -U -r -m fakebuild ...` may mount as well,
 * but there the bind would outlive the session (and make the tree's rm
 * fail with EBUSY afterwards).
 *
 * The record stays on the placeholder and says what the archive must
 * contain.  So the file's identity, as every core sees it through
 * fb_sys_statx, is the placeholder's: a statx that lands on a character
 * device at the root of a mount looks beneath the mount (a clone of the
 * parent's mount without its submounts, open_tree(2)), and if a
 * placeholder there has a record for this very device, that placeholder
 * is the answer.  stat, chmod, chown, `tar --one-file-system` and
 * `rm --one-file-system` then see one file system and the recorded node;
 * open, read and write reach the real device.  Times set by name or
 * descriptor go to the placeholder (utime.c).  Removing the name detaches
 * the bind first (unlink would say EBUSY); renaming it or linking to it
 * moves the placeholder and binds the host's node again at the new names
 * (unlink.c).  Cost: two flag tests on the stat path; the rest only for a
 * device that is a mount root.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fb.h"

/* The new mount API (Linux 5.2); the same numbers on every architecture. */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

/*
 * The safe set: nodes that give a process nothing beyond what it has
 * outside (the null, zero and full sinks, the random sources, the process's
 * own controlling terminal).  ptmx too: a ptmx node opens the devpts
 * mounted at "pts" beside it, so the bound one behaves exactly as a real
 * node in the root would.  Not console (the host's console) and no block
 * device.
 */
static const struct {
	unsigned maj, min;
	const char *host;
} safe[] = {
	{ 1, 3, "/dev/null" }, { 1, 5, "/dev/zero" }, { 1, 7, "/dev/full" },
	{ 1, 8, "/dev/random" }, { 1, 9, "/dev/urandom" }, { 5, 0, "/dev/tty" },
	{ 5, 2, "/dev/ptmx" },
};

/* Set once the kernel refused to clone a mount: this process may not mount. */
static int no_mount;

static int real_statx_(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	FB_REAL(statx);
	return real_statx && real_statx(dirfd, path, flags, mask, stx) == 0 ? 0 : -1;
}

static void close_(int fd)
{
	fb_guard++;
	close(fd);
	fb_guard--;
}

/*
 * Do this process's mounts end with the session?  In a build root, yes
 * (FAKEBUILD_MNTNS is 0); elsewhere when its mount namespace is not the
 * one fakebuild started the session in (FAKEBUILD_MNTNS), but one that a
 * process of the session made.  Unknown counts as no.
 */
static int mounts_end_with_session(void)
{
	const char *v = getenv("FAKEBUILD_MNTNS");
	unsigned long long ino;
	struct statx stx;
	if (!v || fb_parse_ull(&v, &ino) < 0 || *v)
		return 0;
	return ino == 0 || (real_statx_(AT_FDCWD, "/proc/self/ns/mnt", 0, STATX_INO, &stx) == 0 &&
			    stx.stx_ino != ino);
}

/* A detached copy of the mount at DIRFD/PATH, without its submounts; -1 if refused. */
static int clone_tree(int dirfd, const char *path, int flags)
{
	if (no_mount)
		return -1;
	long fd = syscall(SYS_open_tree, dirfd, path, OPEN_TREE_CLONE | O_CLOEXEC | flags);
	if (fd < 0 && (errno == EPERM || errno == ENOSYS))
		no_mount = 1;
	return (int)fd;
}

void fb_dev_bind(int dirfd, const char *path, mode_t type, dev_t dev)
{
	if (type != S_IFCHR || no_mount)
		return;
	const char *node = NULL;
	for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
		if (major(dev) == safe[i].maj && minor(dev) == safe[i].min)
			node = safe[i].host;
	/* The source must be the real node.  In a chroot, /dev may hold
	 * placeholders (a MAKEDEV run there), or the very node being made:
	 * then the root's own, as its first process sees it. */
	char host[64];
	struct statx src;
	int found = 0;
	for (int i = 0; node && i < 2 && !found; i++) {
		snprintf(host, sizeof host, "%s%s", i ? "/proc/1/root" : "", node);
		found = real_statx_(AT_FDCWD, host, 0, STATX_TYPE, &src) == 0 && S_ISCHR(src.stx_mode) &&
			src.stx_rdev_major == major(dev) && src.stx_rdev_minor == minor(dev);
	}
	if (!found || !mounts_end_with_session())
		return;
	int tree = clone_tree(AT_FDCWD, host, 0);
	if (tree < 0)
		return;
	struct fb_table *t = fb_table();
	if (t)
		fb_table_note_bound_device(t);	/* before the node is there to be seen */
	if (syscall(SYS_move_mount, tree, "", dirfd, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		fb_debug(1, "mknod %s: cannot bind %s over it: %s", path, host, strerror(errno));
	else
		fb_debug(1, "mknod %s: %s bound over it", path, host);
	close_(tree);
}

/* Split PATH into its directory (in DIR, "." if none) and last name; 0, or -1 if PATH has none. */
static int split(const char *path, char *dir, size_t len, const char **name)
{
	const char *slash = strrchr(path, '/');
	*name = slash ? slash + 1 : path;
	if (!**name || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0)
		return -1;
	size_t dl = slash ? (size_t)(slash - path) : 0;
	if (slash && dl == 0)
		dl = 1;		/* "/null": the directory is "/" */
	if (dl + 1 > len)
		return -1;
	if (slash)
		memcpy(dir, path, dl);
	else
		dir[dl++] = '.';
	dir[dl] = 0;
	return 0;
}

int fb_dev_link_target(int dirfd, const char *path, char *out)
{
	struct statx l;
	if (real_statx_(dirfd, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &l) < 0 || !S_ISLNK(l.stx_mode))
		return -1;
	fb_guard++;
	int fd = openat(dirfd, path, O_PATH | O_CLOEXEC);
	fb_guard--;
	if (fd < 0)
		return -1;
	ssize_t n = fb_fd_path(fd, out, PATH_MAX);
	close_(fd);
	return n < 0 ? -1 : 0;
}

/*
 * The placeholder beneath the mount at DIRFD/PATH, if its record says
 * device STX: its statx in UNDER, and a descriptor of a clone of its
 * directory's mount, where it is *NAME; else -1.
 */
static int placeholder(int dirfd, const char *path, unsigned mask, const struct statx *stx,
		       struct statx *under, const char **name)
{
	char dir[PATH_MAX];
	if (!path || split(path, dir, sizeof dir, name) < 0)
		return -1;
	int tree = clone_tree(dirfd, dir, 0);
	if (tree < 0)
		return -1;
	struct fb_attr a;
	if (real_statx_(tree, *name, AT_SYMLINK_NOFOLLOW, mask, under) < 0 ||
	    !S_ISREG(under->stx_mode) || !fb_view(fb_table(), under, 0, &a) ||
	    (a.mode & S_IFMT) != (stx->stx_mode & S_IFMT) ||
	    a.rdev != makedev(stx->stx_rdev_major, stx->stx_rdev_minor)) {
		close_(tree);
		return -1;
	}
	return tree;
}

/* The placeholder beneath the mount at DIRFD/PATH, if its record says device STX. */
static int beneath(int dirfd, const char *path, unsigned mask, const struct statx *stx,
		   struct statx *under)
{
	const char *name;
	int tree = placeholder(dirfd, path, mask, stx, under, &name);
	if (tree < 0)
		return -1;
	close_(tree);
	return 0;
}

/* Called by fb_sys_statx for a device at the root of a mount (rare). */
void fb_dev_beneath(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	if ((flags & AT_EMPTY_PATH) && (!path || !*path))
		return;		/* a descriptor: it is the device itself */
	struct statx under;
	if (beneath(dirfd, path, mask, stx, &under) == 0) {
		*stx = under;
		return;
	}
	/* PATH may be a symbolic link to the bound node: then look beneath
	 * the name it leads to, which the kernel gives for a descriptor. */
	char target[PATH_MAX];
	if ((flags & AT_SYMLINK_NOFOLLOW) || fb_dev_link_target(dirfd, path, target) < 0)
		return;
	if (beneath(AT_FDCWD, target, mask, stx, &under) == 0)
		*stx = under;
}

int fb_dev_unbind(int dirfd, const char *path, dev_t *rdev)
{
	struct statx stx, under;
	if (real_statx_(dirfd, path, AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, &stx) < 0 ||
	    !fb_dev_bound(&stx) || beneath(dirfd, path, FB_STATX_MASK, &stx, &under) < 0)
		return -1;
	if (rdev)
		*rdev = makedev(stx.stx_rdev_major, stx.stx_rdev_minor);
	/* umount2 takes no directory descriptor: name the mount through /proc,
	 * or by PATH itself when that is absolute or relative to the cwd. */
	FB_REAL(umount2);
	if (!real_umount2)
		return -1;
	char proc[64];
	int fd = -1;
	const char *target = path;
	if (path[0] != '/' && dirfd != AT_FDCWD) {
		fb_guard++;
		fd = openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		fb_guard--;
		if (fd < 0)
			return -1;
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		target = proc;
	}
	int rc = real_umount2(target, MNT_DETACH);
	if (fd >= 0)
		close_(fd);
	fb_debug(1, "%s: bound device detached: %s", path, rc < 0 ? strerror(errno) : "ok");
	return rc;
}

/*
 * A bound device's times are its placeholder's, which stat shows.  The
 * host's node refuses explicit times (its owner is not mapped in the
 * namespace; real root could set them: `tar -xp` of an archive with a
 * /dev/null failed), takes "now" itself, and a bound ptmx, the root's own
 * devpts node, takes anything: none of that is right.  So a call that sets
 * the times of such a node, by name (FD -1; FLAGS as utimensat's) or
 * through descriptor FD, sets the placeholder's instead.  TS: the kernel's
 * 64-bit {seconds, nanoseconds} pairs, or NULL for now.  Returns 1 with
 * the call's result in *RC when it did; 0 when the file is no bound
 * device of ours, or no device was ever bound in the session (one load):
 * the caller makes the real call.
 */
int fb_dev_times(int dirfd, const char *path, int fd, int flags, const int64_t ts[4], int *rc)
{
	struct fb_table *t = fb_table();
	struct statx stx, under;
	char target[PATH_MAX];
	if (!t || !fb_table_has_bound_devices(t))
		return 0;
	if (fd >= 0) {
		if (real_statx_(fd, "", AT_EMPTY_PATH, FB_STATX_MASK, &stx) < 0 || !fb_dev_bound(&stx) ||
		    fb_fd_path(fd, target, sizeof target) < 0)
			return 0;
		dirfd = AT_FDCWD;
		path = target;
	} else {
		if (!path || !*path ||
		    real_statx_(dirfd, path, flags & AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, &stx) < 0 ||
		    !fb_dev_bound(&stx))
			return 0;
		/* Reached through a symbolic link: the name the link leads to. */
		if (!(flags & AT_SYMLINK_NOFOLLOW) && fb_dev_link_target(dirfd, path, target) == 0) {
			dirfd = AT_FDCWD;
			path = target;
		}
	}
	const char *name;
	int tree = placeholder(dirfd, path, FB_STATX_MASK, &stx, &under, &name);
	if (tree < 0)
		return 0;
#ifdef SYS_utimensat_time64
	long r = syscall(SYS_utimensat_time64, tree, name, ts, AT_SYMLINK_NOFOLLOW);
#else
	long r = syscall(SYS_utimensat, tree, name, ts, AT_SYMLINK_NOFOLLOW);
#endif
	*rc = r < 0 ? -errno : 0;
	close_(tree);
	fb_debug(1, "utimensat %s: the placeholder beneath the bound device: %s", path,
		 *rc < 0 ? strerror(-*rc) : "ok");
	return 1;
}
