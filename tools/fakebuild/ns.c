/*
 * ns.c - pid 1 of a build root: builds the root in the new namespaces,
 * then runs the command and reaps until it ends.
 *
 * The order of steps follows bubblewrap's (bubblewrap.c), adapted to a
 * root that is an overlay:
 *   1. wait until fakebuild has written uid_map and gid_map (0 -> the user,
 *      setgroups denied); die with fakebuild (PR_SET_PDEATHSIG)
 *   2. make every mount a slave, so nothing we mount reaches the host
 *   3. open again, here, every path fakebuild checked (the kernel neither
 *      mounts on nor from a descriptor of the host's mount namespace), and
 *      make sure each is still the file fakebuild saw
 *   4. a scratch tmpfs (uppers, work directories, mount points), and in
 *      it a private tmpfs for the library and the live table, detached
 *   5. the new root: an overlay of the layers (or a tmpfs holding the
 *      host's system directories read-only), then /proc, /dev, /tmp, /run
 *      and the user's mounts, each resolved inside the new root
 *   6. pivot_root into it and detach the old root: nothing of the host is
 *      reachable by path any more
 *   7. hand fakebuild the table and the overlays; wait for it to seed
 *   8. fork the command; forward signals to it; when it ends, end the rest
 * After step 3 no host path is looked up by name but the system
 * directories of --root / and /dev's few devices.
 *
 * The build sees this process as /proc/1 and, being the same user, may
 * ptrace it: it stays dumpable so that /proc/1/fd/N (the library and the
 * table) can be opened.  So by the time the command starts it holds
 * nothing the build does not have, and talks to fakebuild no more:
 * fakebuild trusts only what it got before the command started, and the
 * exit status.
 */
#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <pwd.h>

#include "fakebuild.h"
#include "root.h"
#include "table.h"
#include "view.h"

extern char **environ;

/* Errors during setup: pid 1 says why and ends; fakebuild sees it end
 * before the root was ready, cleans up and exits 1.  _exit: no atexit
 * handlers or stdio buffers of the parent run twice. */
__attribute__((format(printf, 1, 2), noreturn))
static void ns_die(const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	dprintf(2, "%s: %s\n", progname, buf);
	_exit(1);
}

static const char *fdp(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
	return buf;
}

/* ---- messages ------------------------------------------------------------ */

int fb_msg_send(int sock, int type, const void *data, size_t len, const int *fds, int nfds)
{
	unsigned char buf[4096];
	if (len + 1 > sizeof buf)
		return -EMSGSIZE;
	buf[0] = (unsigned char)type;
	if (len)
		memcpy(buf + 1, data, len);
	struct iovec iov = { buf, len + 1 };
	union {
		char b[CMSG_SPACE(sizeof(int) * FB_MSG_FDS)];
		struct cmsghdr align;
	} c;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds > 0) {
		if (nfds > FB_MSG_FDS)
			return -EMSGSIZE;
		memset(&c, 0, sizeof c);
		mh.msg_control = c.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	ssize_t n;
	while ((n = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n < 0 ? -errno : 0;
}

int fb_msg_recv(int sock, void *data, size_t *len, int *fds, int *nfds)
{
	unsigned char buf[4096];
	struct iovec iov = { buf, sizeof buf };
	union {
		char b[CMSG_SPACE(sizeof(int) * FB_MSG_FDS)];
		struct cmsghdr align;
	} c;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b,
			     .msg_controllen = sizeof c.b };
	ssize_t n;
	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return n < 0 ? -1 : 0;
	int got = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + sizeof(int) * (size_t)i, sizeof fd);
			if (fds && nfds && got < *nfds)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (nfds)
		*nfds = got;
	if (len) {
		size_t l = (size_t)n - 1 < *len ? (size_t)n - 1 : *len;
		if (l)
			memcpy(data, buf + 1, l);
		*len = l;
	}
	return buf[0];
}

/* ---- resolving and mounting inside the new root --------------------------- */

static long openat2_(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = { .flags = flags, .resolve = resolve };
	return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/*
 * An O_PATH descriptor of PATH (absolute, inside the root ROOT), symlinks
 * resolved as the root sees them, never outside it.  What is missing is
 * created when CREATE (directories, and the last component as a file
 * when FILE), but only on a tmpfs of ours (the root of --root /, /tmp,
 * /run, /dev): nothing is ever created in an overlay, whose mount points
 * come from the skeleton layer.  -errno on failure.
 */
static int resolve(int root, const char *path, int create, int file)
{
	while (*path == '/')
		path++;
	if (!*path)
		return (int)openat2_(root, ".", O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT);
	long fd = openat2_(root, path, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd >= 0 ? (int)fd : -errno;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s", path);
	size_t n = strlen(p);
	for (size_t i = 0; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		long t = openat2_(root, p, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		if (t < 0 && errno == ENOENT) {
			char *slash = strrchr(p, '/');
			int parent = slash ? (*slash = 0, resolve(root, p, 0, 0)) : dup(root);
			if (slash)
				*slash = '/';
			if (parent < 0)
				return parent;
			const char *leaf = slash ? slash + 1 : p;
			struct statfs sf;
			int rc;
			if (fstatfs(parent, &sf) < 0 || sf.f_type != TMPFS_MAGIC) {
				close(parent);
				return -ENOENT;
			}
			if (c == 0 && file) {
				int f = openat(parent, leaf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
				rc = f < 0 ? -errno : (close(f), 0);
			} else {
				rc = mkdirat(parent, leaf, 0755) < 0 && errno != EEXIST ? -errno : 0;
			}
			close(parent);
			if (rc < 0)
				return rc;
			t = openat2_(root, p, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		}
		if (t < 0)
			return -errno;
		p[i] = c;
		if (c == 0)
			return (int)t;
		close((int)t);
	}
	return -ENOENT;
}

/*
 * PATH inside ROOT is a symbolic link whose target is missing: its target,
 * made as a file where resolve() may create (our tmpfs: /run, /tmp).  One
 * level only.  An O_PATH descriptor, or -errno.
 */
static int resolve_link_target(int root, const char *path, int create)
{
	while (*path == '/')
		path++;
	long l = openat2_(root, path, O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (l < 0)
		return -errno;
	char target[PATH_MAX], full[PATH_MAX + 4096];
	ssize_t n = readlinkat((int)l, "", target, sizeof target - 1);
	close((int)l);
	if (n <= 0)
		return -ENOENT;
	target[n] = 0;
	if (target[0] == '/') {
		snprintf(full, sizeof full, "%s", target);
	} else {
		const char *slash = strrchr(path, '/');
		snprintf(full, sizeof full, "/%.*s%s", slash ? (int)(slash - path + 1) : 0, path, target);
	}
	return resolve(root, full, create, 1);
}

/* The mount flags a read-only remount must keep: a user namespace may not
 * clear nosuid, nodev, noexec or the atime flags of a mount it did not make. */
static unsigned long kept_flags(int fd)
{
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		return 0;
	return sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME);
}

/* Bind SRCFD onto DST inside ROOT (read-only when RO). */
static void bind_into(int root, int srcfd, const char *dst, int is_dir, int ro, int create,
		      const char *what)
{
	int d = resolve(root, dst, create, !is_dir);
	if (d < 0)
		ns_die("%s: cannot mount on %s inside the root: %s%s", what, dst, strerror(-d),
		       d == -ENOENT ? " (no such directory there)" : d == -EROFS ?
		       " (it is in a read-only part of the root)" : "");
	char a[32], b[32];
	if (mount(fdp(srcfd, a, sizeof a), fdp(d, b, sizeof b), NULL, MS_BIND | MS_REC, NULL) < 0)
		ns_die("%s: cannot bind-mount it on %s: %s", what, dst, strerror(errno));
	close(d);
	if (!ro)
		return;
	/* The descriptor names what was covered; look the path up again to
	 * reach the new mount. */
	d = resolve(root, dst, 0, 0);
	if (d < 0)
		ns_die("%s: %s vanished after mounting: %s", what, dst, strerror(-d));
	if (mount(NULL, fdp(d, b, sizeof b), NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | kept_flags(d), NULL) < 0)
		ns_die("%s: cannot make %s read-only: %s", what, dst, strerror(errno));
	close(d);
}

static void mount_fs(int root, const char *dst, const char *type, unsigned long flags,
		     const char *opts, int create)
{
	int d = resolve(root, dst, create, 0);
	if (d < 0)
		ns_die("cannot mount %s on %s inside the root: %s", type, dst, strerror(-d));
	char b[32];
	if (mount(type, fdp(d, b, sizeof b), type, flags, opts) < 0)
		ns_die("cannot mount %s on %s inside the root: %s", type, dst, strerror(errno));
	close(d);
}

/*
 * /sys, read-only, as the roots of sbuild and mmdebstrap have it: build
 * systems and test suites read the CPUs and devices there.  The kernel
 * mounts sysfs for a user namespace only in a network namespace of its
 * own (not with --net) and only while a sysfs is fully visible (the
 * host's, here, before pivot_root); where it refuses, /sys stays an
 * empty directory, as in a chroot nobody mounted it in.
 */
static void mount_sys(int root)
{
	int d = resolve(root, "/sys", 1, 0);
	if (d < 0)
		return;
	char b[32];
	const char *dbg = getenv("FAKEBUILD_DEBUG");
	if (mount("sysfs", fdp(d, b, sizeof b), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0 && dbg && atoi(dbg) > 0)
		fprintf(stderr, "fakebuild: --root: no /sys: %s\n", strerror(errno));
	close(d);
}

/* ---- the library and the table -------------------------------------------- */

/*
 * A tmpfs of our own holding copies of the library (both ELF classes) and
 * the live table, detached from every tree: the build reaches it only as
 * /proc/1/fd/N/..., which works in the root and in any chroot of it that
 * has /proc mounted, and writes nothing into the root or the base.
 * Copies, not bind mounts: a detached tree loses its submounts, and a
 * bind of the host's library directory would let ".." walk out of it.
 * Detached alone, its ".." stays at its own top.
 */
static int make_runtime(struct fb_root *r, int *table_fd)
{
	char mp[64];
	snprintf(mp, sizeof mp, "/proc/self/fd/%d/rt", r->scratch_fd);
	if (mount("tmpfs", mp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		ns_die("cannot mount a tmpfs for the library and the table: %s", strerror(errno));
	int rt = openat(r->scratch_fd, "rt", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rt < 0)
		ns_die("cannot open the runtime tmpfs: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		if (r->lib_fd[i] < 0)
			continue;
		char p[300];
		snprintf(p, sizeof p, "%s", r->lib_rel[i]);
		for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
			*s = 0;
			if (mkdirat(rt, p, 0755) < 0 && errno != EEXIST)
				ns_die("runtime tmpfs: mkdir %s: %s", p, strerror(errno));
			*s = '/';
		}
		int out = openat(rt, p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
		struct stat st;
		if (out < 0 || fstat(r->lib_fd[i], &st) < 0)
			ns_die("runtime tmpfs: %s: %s", p, strerror(errno));
		off_t off = 0;
		while (off < st.st_size) {
			ssize_t n = sendfile(out, r->lib_fd[i], &off, (size_t)(st.st_size - off));
			if (n <= 0) {
				const char *limit = n < 0 ? fb_limit_hit(-errno) : NULL;
				ns_die("cannot copy the library into the root: %s%s%s", n < 0 ? strerror(errno) : "short",
				       limit ? ": over " : "", limit ? limit : "");
			}
		}
		close(out);
	}
	/* The loader of libc6-i386 (amd64's multilib, what qemu-i386-static
	 * runs a 32-bit program with) expands $LIB to lib32, that of
	 * libc6:i386 to lib/TRIPLET (main.c: multilib). */
	if (r->lib_fd[1] >= 0) {
		char dir[300];
		snprintf(dir, sizeof dir, "%s", r->lib_rel[1]);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		if (symlinkat(dir, rt, "lib32") < 0)
			ns_die("runtime tmpfs: symlink lib32: %s", strerror(errno));
	}
	char tp[64];
	snprintf(tp, sizeof tp, "/proc/self/fd/%d/table", rt);
	uint64_t cap;
	const char *c = getenv("FAKEBUILD_CAPACITY");
	if (fb_table_capacity(c, &cap) < 0)
		ns_die("FAKEBUILD_CAPACITY=%s: expected " FB_TABLE_CAPACITY_RULE, c);
	struct fb_table *t;
	int rc = fb_table_create(tp, cap, &t);
	const char *limit = fb_limit_hit(rc);
	if (limit)
		ns_die("cannot create the root's live table: %s: over %s: raise the limit%s", strerror(-rc), limit,
		       cap > FB_TABLE_MIN_CAPACITY ? " or set a smaller FAKEBUILD_CAPACITY" : "");
	if (rc < 0)
		ns_die("cannot create the root's live table: %s", strerror(-rc));
	fb_table_detach(t);
	*table_fd = openat(rt, "table", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (*table_fd < 0)
		ns_die("cannot open the root's live table: %s", strerror(errno));
	if (umount2(mp, MNT_DETACH) < 0)
		ns_die("cannot detach the runtime tmpfs: %s", strerror(errno));
	return rt;
}

/* ---- the root ------------------------------------------------------------ */

/*
 * The filesystems under an overlay, in the order the kernel numbers them
 * (fs/overlayfs: the upper layer's is fsid 0, then each new one among the
 * lower layers from the top): DEVS[fsid].  Returns how many.
 */
static int layer_devs(dev_t upper, const dev_t *lower, int n, dev_t *devs)
{
	int k = 0;
	devs[k++] = upper;
	for (int i = 0; i < n; i++) {
		int j;
		for (j = 0; j < k && devs[j] != lower[i]; j++)
			;
		if (j == k && k < FB_DEVMAP_LAYERS)
			devs[k++] = lower[i];
	}
	return k;
}

/*
 * The FAKEBUILD_DEVMAP entry of an overlay (db/view.h): one filesystem
 * under it keys files by that device; with several, xino=on puts the
 * fsid in the top ilog2(numfs - 1) + 2 bits of st_ino, the lowest of
 * them reserved (fs/overlayfs/inode.c, ovl_map_dev_ino).
 */
static void devmap_add(char *map, size_t len, dev_t ovl, const dev_t *devs, int numfs)
{
	unsigned shift = 0;
	if (numfs > 1) {
		unsigned lg = 0;
		while ((1u << (lg + 1)) <= (unsigned)(numfs - 1))
			lg++;
		shift = 63 - lg;
	}
	size_t n = strlen(map);
	n += (size_t)snprintf(map + n, len - n, "%s%llu:%u", n ? "," : "", (unsigned long long)ovl, shift);
	for (int i = 0; i < numfs && n < len; i++)
		n += (size_t)snprintf(map + n, len - n, ":%llu", (unsigned long long)devs[i]);
}

static dev_t fd_dev(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_dev : 0;
}

static int mkdir_open(int dirfd, const char *name, mode_t mode);

/* The name of FD's file system type, for a message (BUF: room for a number). */
static const char *fs_name(int fd, char *buf, size_t len)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} known[] = {
		{ EXT4_SUPER_MAGIC, "ext4" },	{ XFS_SUPER_MAGIC, "xfs" },
		{ BTRFS_SUPER_MAGIC, "btrfs" }, { TMPFS_MAGIC, "tmpfs" },
		{ OVERLAYFS_SUPER_MAGIC, "overlayfs" }, { 0x65735546, "FUSE" },
		{ NFS_SUPER_MAGIC, "NFS" },	{ 0xff534d42, "CIFS" },
		{ SMB2_SUPER_MAGIC, "SMB" },	{ V9FS_MAGIC, "9p" },
		{ MSDOS_SUPER_MAGIC, "FAT" },	{ 0x5346544e, "NTFS" },
		{ SQUASHFS_MAGIC, "squashfs" }, { 0x2fc12fc1, "ZFS" },
	};
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return "an unknown file system";
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if ((unsigned long)sf.f_type == known[i].magic) {
			snprintf(buf, len, "%s", known[i].name);
			return buf;
		}
	snprintf(buf, len, "file system type 0x%lx", (unsigned long)sf.f_type);
	return buf;
}

/*
 * The kernel refused our overlay with EPERM or EINVAL: is it overlayfs in
 * a user namespace at all (a kernel before 5.11, or one that forbids it),
 * or these directories?  An overlay of empty directories on SCRATCH (our
 * tmpfs) tells.
 */
static int overlays_work(int scratch)
{
	int d = mkdir_open(scratch, "probe", 0755);
	if (d < 0)
		return 0;
	char t[32], o[256], m[64];
	close(mkdir_open(d, "l", 0755));
	close(mkdir_open(d, "u", 0755));
	close(mkdir_open(d, "w", 0755));
	close(mkdir_open(d, "m", 0755));
	const char *p = fdp(d, t, sizeof t);
	snprintf(o, sizeof o, "lowerdir=%s/l,upperdir=%s/u,workdir=%s/w,userxattr", p, p, p);
	snprintf(m, sizeof m, "%s/m", p);
	int ok = mount("overlay", m, "overlay", 0, o) == 0;
	if (ok)
		umount2(m, MNT_DETACH);
	close(d);
	return ok;
}

/*
 * Mount an overlay of LOWER (top first) with UPPER and WORK on TARGET (a
 * path); DEVS gets its filesystems by fsid.  Returns how many.  SCRATCH:
 * our tmpfs, to tell why the kernel refused.
 */
static int mount_overlay(const char *target, const int *lower, int nlower, int upper, int work,
			 const char *what, dev_t *devs, int scratch)
{
	dev_t ld[FB_ROOT_LAYERS + 2];
	char o[4096];
	size_t n = (size_t)snprintf(o, sizeof o, "lowerdir=");
	for (int i = 0; i < nlower; i++) {
		n += (size_t)snprintf(o + n, sizeof o - n, "%s/proc/self/fd/%d", i ? ":" : "", lower[i]);
		ld[i] = fd_dev(lower[i]);
	}
	int numfs = layer_devs(fd_dev(upper), ld, nlower, devs);
	snprintf(o + n, sizeof o - n, ",upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d,userxattr%s",
		 upper, work, numfs > 1 ? ",xino=on" : "");
	/* Test hook (documented in tests/e2e/t_root.sh): another type name
	 * stands for a kernel without overlayfs. */
	const char *type = getenv("FAKEBUILD_TEST_OVERLAYFS");
	if (!type || !*type)
		type = "overlay";
	if (mount("overlay", target, type, MS_NOSUID | MS_NODEV, o) < 0) {
		int e = errno;
		if (e == ENODEV)
			ns_die("%s: overlayfs is not available in this kernel (as root: modprobe overlay; "
			       "it is in every Debian kernel)", what);
		struct statfs sf;
		if (e == EINVAL && fstatfs(upper, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC)
			ns_die("%s: the kernel refused the overlay mount (%s): the upper directory is "
			       "on an overlayfs, which overlayfs cannot write to (put --upper on "
			       "another file system)", what, strerror(e));
		if (e == ELOOP)
			ns_die("%s: the kernel refused the overlay mount (%s): the upper directory and a "
			       "lower one overlap, one inside the other (put --upper outside the base and "
			       "outside fakebuild's cache)", what, strerror(e));
		if ((e == EPERM || e == EINVAL) && !overlays_work(scratch))
			ns_die("%s: the kernel refused an overlayfs mount in a user namespace (%s): "
			       "Linux 5.11 or later is needed, with overlayfs allowed for unprivileged users",
			       what, strerror(e));
		if (e == EPERM || e == EINVAL) {
			char un[64], ln[64];
			ns_die("%s: the kernel refused the overlay mount (%s), though it mounts others: "
			       "its upper directory is on %s, the top lower one on %s; overlayfs needs an "
			       "upper file system with extended attributes and whiteouts (ext4, xfs, btrfs, "
			       "tmpfs; not FUSE, NFS or CIFS)", what, strerror(e),
			       fs_name(upper, un, sizeof un), fs_name(lower[0], ln, sizeof ln));
		}
		ns_die("%s: cannot mount the overlay: %s", what, strerror(e));
	}
	return numfs;
}

/* A minimal /dev: a few host devices bound on files of a fresh tmpfs, a
 * private devpts, and /dev/shm for the new IPC namespace. */
static void make_dev(int root)
{
	mount_fs(root, "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755", 1);
	int dev = resolve(root, "/dev", 0, 0);
	if (dev < 0)
		ns_die("/dev: %s", strerror(-dev));
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		char host[32], p[32];
		snprintf(host, sizeof host, "/dev/%s", nodes[i]);
		int src = open(host, O_PATH | O_CLOEXEC);
		if (src < 0)
			ns_die("%s: %s", host, strerror(errno));
		snprintf(p, sizeof p, "/dev/%s", nodes[i]);
		bind_into(root, src, p, 0, 0, 1, host);
		close(src);
	}
	if (isatty(0)) {
		char *tty = ttyname(0);
		int src = tty ? open(tty, O_PATH | O_CLOEXEC) : -1;
		if (src >= 0) {
			bind_into(root, src, "/dev/console", 0, 0, 1, tty);
			close(src);
		}
	}
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0 ||
	    fchmodat(dev, "shm", 01777, 0) < 0)
		ns_die("/dev: %s", strerror(errno));
	mount_fs(root, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620", 0);
	static const char *const links[][2] = {
		{ "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
	};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlinkat(links[i][0], dev, links[i][1]) < 0)
			ns_die("/dev/%s: %s", links[i][1], strerror(errno));
	close(dev);
}

/* --root /: the host's system directories, read-only, on a tmpfs of ours. */
static void host_system(int root)
{
	static const char *const dirs[] = { "usr", "etc", "opt", "var/lib" };
	static const char *const maybe_links[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char host[64];
		snprintf(host, sizeof host, "/%s", dirs[i]);
		int fd = open(host, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		bind_into(root, fd, host, 1, 1, 1, host);
		close(fd);
	}
	for (size_t i = 0; i < sizeof maybe_links / sizeof maybe_links[0]; i++) {
		char host[64], target[PATH_MAX];
		snprintf(host, sizeof host, "/%s", maybe_links[i]);
		ssize_t n = readlink(host, target, sizeof target - 1);
		if (n > 0) {
			target[n] = 0;
			if (symlinkat(target, root, maybe_links[i]) < 0)
				ns_die("%s: %s", host, strerror(errno));
			continue;
		}
		int fd = open(host, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		bind_into(root, fd, host, 1, 1, 1, host);
		close(fd);
	}
	mount_fs(root, "/var/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 1);
}

struct built {
	int root;		/* the new root (before pivot: its mount) */
	int ovl_fd[FB_ROOT_MOUNTS + 1];	/* [0]: the root overlay (or -1); then each --overlay */
	uint64_t ovl_dev[FB_ROOT_MOUNTS + 1];
	int novl;
	char devmap[1024];
};

static void build_root(struct fb_root *r, struct built *b)
{
	char target[64];
	snprintf(target, sizeof target, "/proc/self/fd/%d/root", r->scratch_fd);
	b->devmap[0] = 0;
	b->novl = 1;
	b->ovl_fd[0] = -1;
	b->ovl_dev[0] = 0;
	if (r->host) {
		if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
			ns_die("cannot mount the root's tmpfs: %s", strerror(errno));
		b->root = openat(r->scratch_fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (b->root < 0)
			ns_die("cannot open the root: %s", strerror(errno));
		host_system(b->root);
	} else {
		int lower[FB_ROOT_LAYERS + 1], n = 0;
		for (int i = r->nlayers - 1; i >= 0; i--)
			lower[n++] = r->layer[i].fd;
		lower[n++] = r->skel_fd;
		dev_t devs[FB_DEVMAP_LAYERS];
		int numfs = mount_overlay(target, lower, n, r->upper_fd, r->work_fd, "--root", devs,
					  r->scratch_fd);
		b->ovl_fd[0] = openat(r->scratch_fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (b->ovl_fd[0] < 0)
			ns_die("cannot open the root overlay: %s", strerror(errno));
		b->ovl_dev[0] = fd_dev(b->ovl_fd[0]);
		devmap_add(b->devmap, sizeof b->devmap, b->ovl_dev[0], devs, numfs);
		b->root = dup(b->ovl_fd[0]);
		if (b->root < 0)
			ns_die("dup: %s", strerror(errno));
		fcntl(b->root, F_SETFD, FD_CLOEXEC);
	}
	int create = 1;	/* on our tmpfs only (resolve) */
	mount_fs(b->root, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, create);
	mount_sys(b->root);
	make_dev(b->root);
	mount_fs(b->root, "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", create);
	int run = resolve(b->root, "/run", create, 0);
	if (run >= 0) {
		close(run);
		mount_fs(b->root, "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0);
	}
	if (r->net && !r->host) {
		/* Sharing the host's network includes its name servers, so
		 * apt and the rest resolve names as on the host: the host's
		 * file, read-only, on the base's.  A base without one shows
		 * the skeleton's; one whose resolv.conf is a link into /run
		 * (systemd-resolved, resolvconf) gets the file made on our
		 * tmpfs there. */
		struct stat st;
		int rc = resolve(b->root, "/etc/resolv.conf", create, 1);
		if (rc == -ENOENT)
			rc = resolve_link_target(b->root, "/etc/resolv.conf", create);
		int host = open("/etc/resolv.conf", O_PATH | O_CLOEXEC);
		if (rc >= 0 && fstat(rc, &st) == 0 && S_ISREG(st.st_mode) && host >= 0)
			bind_into(b->root, host, "/etc/resolv.conf", 0, 1, 0, "/etc/resolv.conf");
		if (rc >= 0)
			close(rc);
		if (host >= 0)
			close(host);
	}
	for (int i = 0; i < r->nm; i++) {
		struct fb_mount *m = &r->m[i];
		if (m->kind != FB_OVERLAY) {
			char what[4200];	/* "--bind SRC": messages name both */
			snprintf(what, sizeof what, "%s %s", m->opt, m->src);
			bind_into(b->root, m->fd, m->dst, m->is_dir, m->kind == FB_RO_BIND, create, what);
			continue;
		}
		int d = resolve(b->root, m->dst, create, 0);
		if (d < 0)
			ns_die("%s: cannot mount on %s inside the root: %s", m->opt, m->dst, strerror(-d));
		int up = openat(m->scratch_fd, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC);
		int wk = openat(m->scratch_fd, "work", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0 || wk < 0)
			ns_die("%s: its scratch directory: %s", m->opt, strerror(errno));
		char t[32];
		dev_t devs[FB_DEVMAP_LAYERS];
		int numfs = mount_overlay(fdp(d, t, sizeof t), &m->fd, 1, up, wk, m->opt, devs, r->scratch_fd);
		close(d);	/* it names the covered directory: look the path up again */
		int fd = resolve(b->root, m->dst, 0, 0);
		if (fd < 0)
			ns_die("%s: %s vanished after mounting: %s", m->opt, m->dst, strerror(-fd));
		b->ovl_fd[b->novl] = fd;
		b->ovl_dev[b->novl++] = fd_dev(fd);
		devmap_add(b->devmap, sizeof b->devmap, fd_dev(fd), devs, numfs);
		close(up);
		close(wk);
	}
}

/* Into the new root; the old one detached, so no path leads back to the host. */
static void pivot(int root)
{
	if (fchdir(root) < 0)
		ns_die("chdir into the new root: %s", strerror(errno));
	/* pivot_root(".", "."): the old root ends up stacked on the new one,
	 * and is detached right after (as runc and LXC do). */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		ns_die("pivot_root: %s", strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		ns_die("cannot detach the old root: %s", strerror(errno));
	if (chdir("/") < 0)
		ns_die("chdir /: %s", strerror(errno));
}

/*
 * Close every descriptor fakebuild opened (they are all close-on-exec)
 * but KEEP: this process stays visible to the build as /proc/1, and a
 * descriptor of a host directory there would be a way out.  Descriptors
 * the user handed fakebuild (not close-on-exec) go to the command.
 */
static void close_ours(const int *keep, int nkeep)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		ns_die("/proc/self/fd: %s", strerror(errno));
	int self = dirfd(d);
	int fds[1024], n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < (int)(sizeof fds / sizeof fds[0])) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || fd < 3 || fd == self)
			continue;
		int k;
		for (k = 0; k < nkeep && keep[k] != fd; k++)
			;
		int fl = fcntl((int)fd, F_GETFD);
		if (k == nkeep && fl >= 0 && (fl & FD_CLOEXEC))
			fds[n++] = (int)fd;
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* Bring the loopback interface up in the new network namespace. */
static void loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		ns_die("loopback: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		ns_die("loopback: %s", strerror(errno));
	close(s);
}

/*
 * Refuse TIOCSTI and TIOCLINUX: the build shares the user's terminal, and
 * on kernels that still allow pushing input into it, it could type a
 * command into the shell that started fakebuild.  (bubblewrap's
 * --new-session solves it with setsid, which would take the terminal
 * from an interactive shell in the root.)
 */
static void no_tty_injection(void)
{
	/* The low word of the request is compared (little endian; the
	 * request is an unsigned int). */
#if defined(__x86_64__)
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 2),
		/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 54 /* i386 ioctl */, 3, 6),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 5),
		/* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 3),
		/* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 2, 0),
		/* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 1, 0),
		/* 10 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 11 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
#elif defined(__aarch64__)
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
#endif
#if defined(__x86_64__) || defined(__aarch64__)
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	/* Without no_new_privs: we hold CAP_SYS_ADMIN in our user namespace. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		warnx_("warning: cannot refuse TIOCSTI to the build: %s", strerror(errno));
#endif
}

/* ---- the command ------------------------------------------------------- */

static volatile sig_atomic_t cmd_pid;

/* To the command's process group, or to the command if it has none of its
 * own: in a terminal's job (fb_in_terminal_job) we are in the job with
 * it, and one the terminal sent has reached it already, unless it made a
 * process group of its own (timeout(1) does): then to that group. */
static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (cmd_pid <= 0)
		return;
	if (si->si_code == SI_KERNEL) {
		pid_t g = getpgid(cmd_pid);
		if (g > 0 && g != getpgrp())
			kill(-g, sig);
	} else if (kill(-cmd_pid, sig) < 0) {
		kill(cmd_pid, sig);
	}
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* SIG as fakebuild found it: ignored (nohup), or the default. */
static void as_found(const struct fb_root *r, int sig)
{
	signal(sig, r->ignored & 1ull << sig ? SIG_IGN : SIG_DFL);
}

/* DIR's entry in the colon-separated LIST, or NULL. */
static char *path_entry(char *list, const char *dir)
{
	size_t dl = strlen(dir);
	for (char *p = list; *p; p += strcspn(p, ":"), p += *p == ':')
		if (strncmp(p, dir, dl) == 0 && (p[dl] == ':' || !p[dl]))
			return p;
	return NULL;
}

/*
 * The command runs as root in its root, and root's tools live in the sbin
 * directories: dpkg refuses to install without them in PATH ("root's PATH
 * should usually contain /usr/local/sbin, /usr/sbin and /sbin"), and
 * useradd, chroot or debootstrap are not found.  A user's PATH often
 * lacks them, so each missing one goes in before its bin directory (or
 * at the end), as in root's PATH on Debian.
 */
static void sbin_path(void)
{
	const char *old = getenv("PATH");
	if (!old)
		return;	/* execvp's default then, which the shell replaces anyway */
	char path[8192];
	snprintf(path, sizeof path, "%s", old);
	static const char *const sbin[][2] = {
		{ "/usr/local/sbin", "/usr/local/bin" }, { "/usr/sbin", "/usr/bin" }, { "/sbin", "/bin" },
	};
	for (size_t i = 0; i < sizeof sbin / sizeof sbin[0]; i++) {
		const char *dir = sbin[i][0], *bin = sbin[i][1];
		size_t dl = strlen(dir), pl = strlen(path);
		if (path_entry(path, dir) || pl + dl + 2 > sizeof path)
			continue;
		/* Before the first BIN entry, else at the end. */
		char *at = path_entry(path, bin);
		if (at) {
			memmove(at + dl + 1, at, strlen(at) + 1);
			memcpy(at, dir, dl);
			at[dl] = ':';
		} else {
			snprintf(path + pl, sizeof path - pl, "%s%s", pl ? ":" : "", dir);
		}
	}
	setenv("PATH", path, 1);
}

/* Does the root show PATH as a directory? */
static int shown_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The user's home is not in the root (unless bound): HOME, USER and
 * LOGNAME then name root's, whom the command runs as, from the root's own
 * /etc/passwd, with HOME / where that home is missing, as login(1) does
 * (ccache, git and pip write under HOME), and XDG_*_HOME that name no
 * directory of the root are unset: programs use their defaults under the
 * new HOME.  XDG_RUNTIME_DIR, the host's /run/user/UID, is unset unless
 * the root shows it.
 */
static void root_home(void)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	if (run && !shown_dir(run))
		unsetenv("XDG_RUNTIME_DIR");
	const char *home = getenv("HOME");
	if (!home || shown_dir(home))
		return;
	static const char *const xdg[] = { "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
					   "XDG_STATE_HOME" };
	for (size_t i = 0; i < sizeof xdg / sizeof xdg[0]; i++) {
		const char *v = getenv(xdg[i]);
		if (v && !shown_dir(v))
			unsetenv(xdg[i]);
	}
	char dir[PATH_MAX] = "/", name[256] = "root";
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	while (f && (pw = fgetpwent(f)))
		if (pw->pw_uid == 0) {
			if (shown_dir(pw->pw_dir))
				snprintf(dir, sizeof dir, "%s", pw->pw_dir);
			snprintf(name, sizeof name, "%s", pw->pw_name);
			break;
		}
	if (f)
		fclose(f);
	setenv("HOME", dir, 1);
	if (getenv("USER"))
		setenv("USER", name, 1);
	if (getenv("LOGNAME"))
		setenv("LOGNAME", name, 1);
}

/* In the command's process: its environment, limits and the exec. */
__attribute__((noreturn))
static void command(struct fb_root *r, char **cmd, int rt)
{
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		as_found(r, forwarded[i]);
	as_found(r, SIGTTOU);
	as_found(r, SIGTTIN);
	as_found(r, SIGXFSZ);
	if (!r->in_job)
		setpgid(0, 0);
	if ((!r->cwd[0] || chdir(r->cwd) < 0) && chdir("/") < 0)
		warnx_("chdir /: %s", strerror(errno));
	const char *tmp = getenv("TMPDIR");
	if (tmp && access(tmp, W_OK | X_OK) < 0)
		setenv("TMPDIR", "/tmp", 1);	/* the host's is not in the root */
	root_home();
	sbin_path();

	char lib[400], table[64];
	if (r->lib_fd[1] >= 0)
		snprintf(lib, sizeof lib, "/proc/1/fd/%d/$LIB/libfakebuild.so", rt);
	else
		snprintf(lib, sizeof lib, "/proc/1/fd/%d/%s", rt, r->lib_rel[0]);
	snprintf(table, sizeof table, "/proc/1/fd/%d/table", rt);
	setup_env(lib, "", table, r->unknown_is_real);
	unsetenv("FAKEBUILD_DB");	/* the user's database is not in the root */
	unsetenv("FAKEBUILD_CHROOT");	/* the root is the build's "/" */
	setenv("FAKEBUILD_MNTNS", "0", 1);	/* the root's mounts end with it: binds anywhere */
	setenv("FAKEBUILD_DEVMAP", r->devmap, 1);
	if (!r->devmap[0])
		unsetenv("FAKEBUILD_DEVMAP");
	if (r->default_shell && access(cmd[0], X_OK) < 0)
		cmd[0] = (char *)"/bin/sh";	/* the user's $SHELL is not in this root */
	if (fb_limit_apply(r) < 0)
		_exit(1);
	no_tty_injection();
	pass_table();
	exec_cmd(cmd);
	int e = exec_errno(cmd[0], errno);
	warnx_("%s: %s", cmd[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* Is process PID already dying of a signal: one pending that it neither
 * blocks, ignores nor catches, whose default ends it?  (The SIGTERM that
 * ended the command reaches its group at once, but each of them dies
 * when next scheduled.) */
static int dying(long pid)
{
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	unsigned long long pnd = 0, blk = 0, ign = 0, cgt = 0, v;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "SigPnd: %llx", &v) == 1 || sscanf(line, "ShdPnd: %llx", &v) == 1)
			pnd |= v;
		else if (sscanf(line, "SigBlk: %llx", &v) == 1)
			blk = v;
		else if (sscanf(line, "SigIgn: %llx", &v) == 1)
			ign = v;
		else if (sscanf(line, "SigCgt: %llx", &v) == 1)
			cgt = v;
	}
	fclose(f);
	const unsigned long long harmless = 1ull << (SIGCHLD - 1) | 1ull << (SIGCONT - 1) |
					    1ull << (SIGURG - 1) | 1ull << (SIGWINCH - 1) |
					    1ull << (SIGSTOP - 1) | 1ull << (SIGTSTP - 1) |
					    1ull << (SIGTTIN - 1) | 1ull << (SIGTTOU - 1);
	return (pnd & ~blk & ~ign & ~cgt & ~harmless) != 0 || (pnd & 1ull << (SIGKILL - 1));
}

/* Processes of the namespace still running, besides us; REPORT: name them. */
static int leftovers(int report)
{
	if (kill(-1, 0) < 0 && errno == ESRCH)
		return 0;	/* the common case: nobody */
	struct fb_proc *p;
	ssize_t n = fb_procs(&p);
	if (n < 0)
		return 1;	/* no /proc to tell: kill them all */
	int left = 0;
	for (ssize_t i = 0; i < n; i++) {
		if (p[i].pid <= 1 || p[i].state == 'Z' || dying(p[i].pid))
			continue;
		if (report)
			warnx_("ended, still running when the command exited: %s (pid %ld in the root)",
			       p[i].comm, (long)p[i].pid);
		left++;
	}
	free(p);
	return left;
}

/*
 * pid 1: reap every process of the namespace (daemons are reparented to
 * us); when the command ends, end the rest and exit with its status.  The
 * kernel kills whatever is left when we exit: nothing outlives the build.
 */
__attribute__((noreturn))
static void init_loop(struct fb_root *r, pid_t cmd)
{
	int status = 0, code = 1;
	for (;;) {
		pid_t p = wait(&status);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			_exit(1);
		if (p == cmd)
			break;
	}
	code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		*fb_command_signal = WTERMSIG(status);	/* fakebuild's, shared */
	cmd_pid = 0;
	/* A process that ends just after the command (one the same SIGTERM
	 * is killing, a pipeline's last stage) is not left over: a moment
	 * for it, as fakebuild gives a plain session's. */
	for (int i = 0; i < 20 && leftovers(0); i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		usleep(5000);
	}
	if (leftovers(!r->quiet)) {
		kill(-1, SIGKILL);
		while (wait(NULL) > 0 || errno == EINTR)
			;
	}
	_exit(code);
}

/*
 * A descriptor opened before the namespaces names a mount of the host's
 * mount namespace, and the kernel mounts neither on nor from those: open
 * the same path again here, in our namespace, before we mount anything,
 * and make sure it is still the same file.
 */
static int reopen(const char *path, int old, int dir)
{
	int fd = open(path, O_PATH | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	struct stat a, b;
	if (fd >= 0 && old < 0)
		return fd;	/* made by fakebuild after the clone (--upper) */
	if (fd < 0 || fstat(fd, &a) < 0 || fstat(old, &b) < 0)
		ns_die("%s: %s", path, strerror(errno));
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		ns_die("%s: replaced while the root was being made", path);
	close(old);
	return fd;
}

static void reopen_all(struct fb_root *r)
{
	for (int i = 0; i < r->nlayers; i++)
		if (r->layer[i].fd >= 0)
			r->layer[i].fd = reopen(r->layer[i].path, r->layer[i].fd, 1);
	for (int i = 0; i < r->nm; i++)
		r->m[i].fd = reopen(r->m[i].src, r->m[i].fd, r->m[i].is_dir);
	if (r->upper_path[0]) {
		r->upper_fd = reopen(r->upper_path, -1, 1);
		r->work_fd = reopen(r->work_path, -1, 1);
	}
}

static int mkdir_open(int dirfd, const char *name, mode_t mode)
{
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		ns_die("scratch: %s: %s", name, strerror(errno));
	if (fchmodat(dirfd, name, mode, 0) < 0)
		ns_die("scratch: %s: %s", name, strerror(errno));
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		ns_die("scratch: %s: %s", name, strerror(errno));
	return fd;
}

/*
 * DST (absolute) as a path in the root with its symbolic links followed as
 * the layers hold them, the topmost that has a name first, into P without
 * the leading slash: on a merged-/usr base /lib/x is usr/lib/x, where the
 * mount point must go (the base's /lib symlink hides the skeleton's lib).
 * 0, or -1 for a loop or a path too long.
 */
static int root_path(const struct fb_root *r, const char *dst, char *p, size_t size)
{
	char cur[4096], out[4096], link[4096], next[8300];
	snprintf(cur, sizeof cur, "%s", dst);
	for (int hops = 0; hops < 40; hops++) {
		size_t ol = 0;
		int followed = 0;
		out[0] = 0;
		for (const char *s = cur; *s && !followed;) {
			while (*s == '/')
				s++;
			if (!*s)
				break;
			const char *e = strchrnul(s, '/');
			size_t n = (size_t)(e - s);
			if (n == 1 && s[0] == '.') {
				s = e;
				continue;
			}
			if (n == 2 && s[0] == '.' && s[1] == '.') {
				char *sl = strrchr(out, '/');
				ol = sl ? (size_t)(sl - out) : 0;
				out[ol] = 0;
				s = e;
				continue;
			}
			if (ol + n + 2 >= sizeof out)
				return -1;
			if (ol)
				out[ol++] = '/';
			memcpy(out + ol, s, n);
			ol += n;
			out[ol] = 0;
			for (int i = r->nlayers - 1; i >= 0; i--) {
				struct stat st;
				if (r->layer[i].fd < 0 ||
				    fstatat(r->layer[i].fd, out, &st, AT_SYMLINK_NOFOLLOW) < 0)
					continue;
				if (S_ISLNK(st.st_mode)) {
					ssize_t k = readlinkat(r->layer[i].fd, out, link, sizeof link - 1);
					if (k < 0)
						return -1;
					link[k] = 0;
					char *sl = strrchr(out, '/');
					if (link[0] == '/')
						snprintf(next, sizeof next, "%s%s", link, e);
					else
						snprintf(next, sizeof next, "/%.*s/%s%s",
							 sl ? (int)(sl - out) : 0, out, link, e);
					if (strlen(next) >= sizeof cur)
						return -1;
					memcpy(cur, next, strlen(next) + 1);
					followed = 1;
				}
				break;
			}
			s = e;
		}
		if (!followed) {
			snprintf(p, size, "%s", out);
			return 0;
		}
	}
	return -1;
}

/* Mount points of the root that its base may lack, in a lowest layer. */
static void skeleton(struct fb_root *r)
{
	r->skel_fd = mkdir_open(r->scratch_fd, "skel", 0755);
	/* With --net, a file for the host's resolv.conf where the base has none. */
	const char *fixed[] = { "/proc", "/dev", "/tmp", "/sys", "/run", "/etc/resolv.conf" };
	int nfixed = r->net ? 6 : 5;
	for (int i = 0; i < r->nm + nfixed; i++) {
		const char *dst = i < nfixed ? fixed[i] : r->m[i - nfixed].dst;
		int file = i < nfixed ? i == 5 : !r->m[i - nfixed].is_dir;
		char p[4096];
		if (i < nfixed || root_path(r, dst, p, sizeof p) < 0)
			snprintf(p, sizeof p, "%s", dst + 1);
		for (char *c = p;; c++) {
			if (*c != '/' && *c)
				continue;
			char was = *c;
			*c = 0;
			if (was == 0 && file) {
				int fd = openat(r->skel_fd, p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
				if (fd >= 0)
					close(fd);
			} else if (mkdirat(r->skel_fd, p, 0755) < 0 && errno != EEXIST) {
				break;	/* a file where a directory should be: the mount says why */
			}
			if (!was)
				break;
			*c = was;
		}
	}
}

/*
 * The scratch space of the root: a tmpfs in our mount namespace (on the
 * host's /tmp, which nothing here looks up by name any more), holding the
 * overlays' upper and work directories, the skeleton and the mount points.
 * It vanishes with the namespace, also when fakebuild is killed: nothing
 * is left on disk.  Its cost is memory for what the build writes into the
 * root itself (--upper DIR puts that on disk instead).
 */
static void make_scratch(struct fb_root *r)
{
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
		ns_die("cannot mount the scratch tmpfs on /tmp: %s", strerror(errno));
	r->scratch_fd = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->scratch_fd < 0)
		ns_die("the scratch tmpfs: %s", strerror(errno));
	close(mkdir_open(r->scratch_fd, "rt", 0755));
	close(mkdir_open(r->scratch_fd, "root", 0755));
	for (int i = 0; i < r->nm; i++) {
		struct fb_mount *m = &r->m[i];
		if (m->kind != FB_OVERLAY)
			continue;
		char name[32];
		struct stat st;
		snprintf(name, sizeof name, "o%d", i);
		m->scratch_fd = mkdir_open(r->scratch_fd, name, 0755);
		fstat(m->fd, &st);
		close(mkdir_open(m->scratch_fd, "upper", st.st_mode & 07777));
		close(mkdir_open(m->scratch_fd, "work", 0755));
	}
	if (r->host)
		return;
	skeleton(r);
	if (r->upper_fd < 0) {
		/* The overlay's root directory is the upper one: give it the base's mode. */
		struct stat top;
		fstat(r->layer[r->nlayers - 1].fd, &top);
		r->upper_fd = mkdir_open(r->scratch_fd, "upper", top.st_mode & 07777);
		r->work_fd = mkdir_open(r->scratch_fd, "work", 0755);
	}
}

void fb_ns_main(struct fb_root *r, int sock, char **cmd)
{
	/* If fakebuild is killed, so are we, and with us the namespace. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* fakebuild's handlers came with the clone: until ours below, a
	 * signal fakebuild passes on ends the root's setup, also one that
	 * came before this reset (its handler only noted it). */
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		as_found(r, forwarded[i]);
	if (fb_root_interrupted)
		raise(fb_root_interrupted);
	int t = fb_msg_recv(sock, NULL, NULL, NULL, NULL);
	if (t != FB_MSG_MAPS)
		_exit(1);	/* fakebuild is gone, or could not map our ids */
	/* A process group of our own, unless in a terminal's job (whose
	 * signals reach the command directly, not through us). */
	if (!r->in_job)
		setpgid(0, 0);
	signal(SIGTTOU, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	if (!r->net)
		loopback_up();
	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		ns_die("cannot make the mounts private: %s", strerror(errno));
	reopen_all(r);
	make_scratch(r);
	int table_fd;
	int rt = make_runtime(r, &table_fd);
	struct built b;
	build_root(r, &b);
	pivot(b.root);

	/* For fakebuild: the table, then each overlay and its upper directory. */
	int fds[FB_MSG_FDS], nfds = 0;
	fds[nfds++] = table_fd;
	if (b.ovl_fd[0] >= 0) {
		fds[nfds++] = b.ovl_fd[0];
		fds[nfds++] = r->upper_fd;
	}
	for (int i = 0, k = 1; i < r->nm; i++) {
		if (r->m[i].kind != FB_OVERLAY)
			continue;
		fds[nfds++] = b.ovl_fd[k++];
		fds[nfds++] = openat(r->m[i].scratch_fd, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	size_t len = sizeof b.ovl_dev[0] * (size_t)b.novl;
	unsigned char msg[sizeof b.ovl_dev + sizeof b.devmap];
	memcpy(msg, b.ovl_dev, len);
	memcpy(msg + len, b.devmap, strlen(b.devmap) + 1);
	if (fb_msg_send(sock, FB_MSG_READY, msg, len + strlen(b.devmap) + 1, fds, nfds) < 0)
		_exit(1);
	snprintf(r->devmap, sizeof r->devmap, "%s", b.devmap);
	if (fb_msg_recv(sock, NULL, NULL, NULL, NULL) != FB_MSG_GO)
		_exit(1);

	/* The library tmpfs at a number above what builds use: the build
	 * names it as /proc/1/fd/N. */
	int hi = fb_dup_high(rt, 800, 1);
	if (hi < 0)
		ns_die("dup: %s", strerror(errno));
	int keep[] = { hi, table_fd };
	close(sock);
	close_ours(keep, 2);

	struct sigaction sa = { .sa_sigaction = forward, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		if (!(r->ignored & 1ull << forwarded[i]))
			sigaction(forwarded[i], &sa, NULL);
	pid_t pid = fork();
	if (pid < 0)
		ns_die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(table_fd);
		command(r, cmd, hi);
	}
	if (!r->in_job)
		setpgid(pid, pid);
	cmd_pid = pid;
	init_loop(r, pid);
}
