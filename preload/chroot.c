/*
 * chroot.c - chroot.  Core: the wrapper itself (one entry point).
 *
 * Three things a session must keep across chroot(2), found by building
 * roots from packages (tools/fakebuild/ROOTS-FROM-PACKAGES.md):
 *
 * 1. The library must load in programs started in the new root.  Inside a
 *    build root it is preloaded as /proc/1/fd/N/$LIB/libfakebuild.so (a
 *    tmpfs held by the root's pid 1, in no tree: tools/fakebuild/ns.c), so
 *    the new root needs /proc mounted.  mmdebstrap, schroot and pbuilder
 *    mount it before they chroot; debootstrap's first chroots come before
 *    it mounts one, and `dpkg --root` never does.  So when the new root has
 *    a /proc directory with nothing mounted on it and the library is
 *    reached through /proc, this process first enters a mount namespace of
 *    its own (every mount a slave: nothing goes back out) and mounts a proc
 *    there.  The chrooted process and its children see it; the tool that
 *    chrooted does not: nothing is created in the new root, and the tool's
 *    own cleanup (rm --one-file-system, tar of the root, umount) never
 *    meets a mount it did not make.  The namespace ends with the last
 *    process in it.  The cost of that choice: a mount the chrooted process
 *    makes is not seen outside either (debootstrap's `chroot ROOT mount -t
 *    proc proc /proc`, after which it looks at ROOT/proc from outside only
 *    to decide whether to mount sysfs the same way).  Where that is not
 *    possible (no /proc directory, a process with threads, no right to
 *    mount), the session says once that programs started there run
 *    without it.
 * 2. Path hints (record.c) name files as the session's root sees them:
 *    the new root's path, as seen from there, is kept in FAKEBUILD_CHROOT
 *    (inherited, and put back by exec.c like the other session
 *    variables) and put in front of every hint made inside.  Without it,
 *    `fakebuild --gc` took the hint /etc/shadow of a root's file for the
 *    host's and dropped the record.
 * 3. Remembered directory paths and the last stat name other files now
 *    (fd.c, memo.c).
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "fb.h"

/* FAKEBUILD_CHROOT of this process: 0 not read yet, 1 none, 2 in prefix[]. */
static int prefix_state;
static size_t prefix_len;
/* Late: only processes in a chroot touch it (see FB_BSS_LATE). */
static char prefix[PATH_MAX] FB_BSS_LATE(4);

static void prefix_set(const char *p)
{
	size_t n = p ? strlen(p) : 0;
	/* "/" (or nothing) adds nothing; a prefix too long to hold is dropped:
	 * hints only, which then name the file as the chroot sees it. */
	if (n <= 1 || n >= sizeof prefix || p[0] != '/') {
		__atomic_store_n(&prefix_state, 1, __ATOMIC_RELEASE);
		return;
	}
	memcpy(prefix, p, n + 1);
	prefix_len = n;
	__atomic_store_n(&prefix_state, 2, __ATOMIC_RELEASE);
}

size_t fb_chroot_prefix(const char **p)
{
	int st = __atomic_load_n(&prefix_state, __ATOMIC_ACQUIRE);
	if (st == 0) {
		prefix_set(getenv("FAKEBUILD_CHROOT"));
		st = __atomic_load_n(&prefix_state, __ATOMIC_ACQUIRE);
	}
	if (st != 2)
		return 0;
	*p = prefix;
	return prefix_len;
}

/* The directory of the library the session preloads, or NULL. */
static const char *lib_dir(char *dir, size_t len)
{
	const char *lib = getenv("FAKEBUILD_LIB");
	if (!lib || !*lib)
		return NULL;
	const char *end = strstr(lib, "/$LIB/");
	if (!end)
		end = strrchr(lib, '/');
	size_t n = end ? (size_t)(end - lib) : 0;
	if (n == 0 || n >= len)
		return NULL;
	memcpy(dir, lib, n);
	dir[n] = 0;
	return dir;
}

/*
 * Before chroot(ROOT) (ROOT absolute, resolved): if the library is reached
 * through /proc and ROOT has a /proc directory with no proc on it, give
 * this process a mount namespace of its own with a proc there.  Called
 * with fb_guard held.  Returns 0, or -1 when ROOT is left as it is.
 */
static int proc_for(const char *root)
{
	char dir[PATH_MAX], p[PATH_MAX];
	if (!lib_dir(dir, sizeof dir) || strncmp(dir, "/proc/", 6) != 0)
		return 0;	/* not a build root's library: nothing to do here */
	if (snprintf(p, sizeof p, "%s/proc", strcmp(root, "/") ? root : "") >= (int)sizeof p)
		return -1;
	/* The 64-bit forms: a 32-bit process gets EOVERFLOW for large inode
	 * and block numbers from the others. */
	struct stat64 st;
	struct statfs64 sf;
	/* A symbolic link would be followed here, in the old root: not the
	 * new root's /proc. */
	if (lstat64(p, &st) < 0 || !S_ISDIR(st.st_mode) || statfs64(p, &sf) < 0)
		return -1;
	if (sf.f_type == PROC_SUPER_MAGIC)
		return 0;
	/* EINVAL with threads (they share our root), EPERM outside a user
	 * namespace that owns our mounts. */
	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	/* Slaves: the outside's later mounts still reach us, ours never reach
	 * it.  If "/" is not a mount (a chroot in a chroot) we cannot know
	 * where a mount would propagate, so we make none. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return -1;
	if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -1;
	fb_debug(1, "chroot %s: mounted a proc of its own on %s", root, p);
	return 0;
}

/* After chroot: can programs started here load the library?  Say it once if not. */
static void check_reachable(const char *path)
{
	static int warned;
	char dir[PATH_MAX];
	if (__atomic_load_n(&warned, __ATOMIC_RELAXED) || !lib_dir(dir, sizeof dir))
		return;
	if (access(dir, X_OK) == 0)
		return;
	warned = 1;
	struct stat64 st;
	if (strncmp(dir, "/proc/", 6) == 0 && (stat64("/proc", &st) < 0 || !S_ISDIR(st.st_mode)))
		fb_warn("chroot %s: programs started in it run without fakebuild: it has no /proc "
			"directory to reach %s through", path, dir);
	else if (strncmp(dir, "/proc/", 6) == 0)
		fb_warn("chroot %s: programs started in it run without fakebuild: %s is not "
			"reachable there and no proc could be mounted for it (a process with threads?)",
			path, dir);
	else
		fb_warn("chroot %s: programs started in it run without fakebuild: %s is not "
			"reachable there", path, dir);
}

FB_EXPORT int chroot(const char *path)
{
	FB_PROLOGUE(chroot, path);
	char abs[PATH_MAX], next[PATH_MAX];
	fb_guard++;
	int known = realpath(path, abs) != NULL;
	if (known)
		proc_for(abs);
	fb_guard--;
	int rc = real_chroot(path) < 0 ? -errno : 0;
	/* The root it has already changes nothing: GNU chroot calls chroot(2)
	 * for `chroot --userspec=U:G / cmd`, a common way to drop to a user. */
	struct stat64 here, root;
	if (rc == -EPERM && stat64(path, &here) == 0 && stat64("/", &root) == 0 &&
	    here.st_dev == root.st_dev && here.st_ino == root.st_ino)
		return fb_ret(0);
	/* Only a build root's user namespace gives the right to chroot. */
	if (rc == -EPERM)
		fb_warn("chroot %s: not permitted: a session chroots only in a build root of its "
			"own (fakebuild --root / [--net] ..., see fakebuild(1))", path);
	if (rc < 0)
		return fb_ret(rc);
	fb_fd_rooted();
	fb_memo_drop();
	fb_guard++;
	const char *old = NULL;
	size_t ol = fb_chroot_prefix(&old);
	if (known && ol + strlen(abs) < sizeof next) {
		snprintf(next, sizeof next, "%.*s%s", (int)ol, ol ? old : "", strcmp(abs, "/") ? abs : "");
		if (!next[0])
			snprintf(next, sizeof next, "/");
		/* Before exec.c hands it to the children: the environment. */
		setenv("FAKEBUILD_CHROOT", next, 1);
		prefix_set(next);
	}
	check_reachable(path);
	fb_guard--;
	return fb_ret(0);
}
