/*
 * root.c - fakebuild --root: the parent's side of a build root.
 *
 * fakebuild stays outside the namespaces, as the parent of pid 1 (ns.c):
 *   1. check every option and open every path the user named (a
 *      descriptor each, so that nothing is looked up by name again)
 *   2. archive bases: make sure user namespaces and overlayfs work, then
 *      unpack once into the cache (unpack.c)
 *   3. join the user's session (the database of plain fakebuild) when
 *      the root shows any tree it may hold records of
 *   4. clone pid 1 in new user, mount, pid, IPC, UTS and network
 *      namespaces, and map uid and gid 0 inside to the user (setgroups
 *      denied: nothing can drop the groups the user has)
 *   5. when pid 1 has built the root, seed the root's own table: records
 *      are a trust boundary, the build only ever sees a table of its own
 *   6. wait, forwarding signals; then merge back what the user keeps
 *      (walk.c), leave the session
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "archive_dl.h"
#include "fakebuild.h"
#include "root.h"
#include "store.h"
#include "view.h"

/* R is zeroed static storage: no memset, whose half a megabyte of page
 * faults every plain session would pay. */
void fb_root_init(struct fb_root *r)
{
	r->scratch_fd = r->upper_fd = r->work_fd = r->skel_fd = r->upper_lock = -1;
	r->lib_fd[0] = r->lib_fd[1] = -1;
	r->ovl_fd = -1;
}

/* SRC[:DST], DST absolute: split at the last ":/". */
static void split_mount(struct fb_mount *m, const char *arg)
{
	const char *colon = NULL;
	for (const char *p = arg; (p = strstr(p, ":/")); p++)
		colon = p;
	size_t sl = colon ? (size_t)(colon - arg) : strlen(arg);
	if (sl == 0 || sl >= sizeof m->src)
		die("%s %s: expected SOURCE[:DESTINATION]", m->opt, arg);
	memcpy(m->src, arg, sl);
	m->src[sl] = 0;
	if (colon)
		snprintf(m->dst, sizeof m->dst, "%s", colon + 1);
}

void fb_root_option(struct fb_root *r, const char *opt, const char *arg)
{
	if (strcmp(opt, "root") == 0) {
		if (r->nlayers == FB_ROOT_LAYERS)
			die("--root: at most %d layers", FB_ROOT_LAYERS);
		r->layer[r->nlayers].opt = arg;
		r->layer[r->nlayers].fd = r->layer[r->nlayers].lock = -1;
		r->nlayers++;
	} else if (strcmp(opt, "bind") == 0 || strcmp(opt, "ro-bind") == 0 || strcmp(opt, "overlay") == 0) {
		if (r->nm == FB_ROOT_MOUNTS)
			die("--%s: at most %d mounts", opt, FB_ROOT_MOUNTS);
		struct fb_mount *m = &r->m[r->nm++];
		m->kind = opt[0] == 'b' ? FB_BIND : opt[0] == 'r' ? FB_RO_BIND : FB_OVERLAY;
		m->opt = opt[0] == 'b' ? "--bind" : opt[0] == 'r' ? "--ro-bind" : "--overlay";
		m->fd = m->scratch_fd = m->ovl_fd = m->upper_fd = -1;
		split_mount(m, arg);
	} else if (strcmp(opt, "upper") == 0) {
		r->upper = arg;
	} else if (strcmp(opt, "keep") == 0) {
		r->keep = arg;
	} else if (strcmp(opt, "changes") == 0) {
		r->changes = arg;
	} else if (strcmp(opt, "net") == 0) {
		r->net = 1;
	} else if (strcmp(opt, "limit") == 0) {
		fb_limit_parse(r, arg);
	}
}

/* ---- checking the options ----------------------------------------------- */

/* PATH made absolute and clean (no "." or ".." components, no doubled or trailing slash). */
static void clean_abs(const char *what, const char *path, char *out, size_t len)
{
	if (path[0] != '/')
		die("%s: %s: the destination must be an absolute path", what, path);
	size_t n = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t l = strcspn(p, "/");
		if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			die("%s: %s: the destination may not contain . or ..", what, path);
		if (n + l + 2 > len)
			die("%s: %s: path too long", what, path);
		out[n++] = '/';
		memcpy(out + n, p, l);
		n += l;
		p += l;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = 0;
}

/* Is PATH DIR or below it? */
static int is_under(const char *path, const char *dir)
{
	size_t l = strlen(dir);
	if (l == 1)
		return 1;
	return strncmp(path, dir, l) == 0 && (path[l] == '/' || path[l] == 0);
}

/*
 * Only the user's uid and gid are mapped inside (map_ids): a file of
 * another owner stays read-only there even to fake root, and overlayfs
 * cannot copy up one of another group (the copy's group cannot be set:
 * EOVERFLOW, "Value too large for defined data type"), so the build
 * cannot change it.  Said of the top directory of a tree that overlayfs
 * shows (a base directory, an --overlay source), whose files are most
 * often like it; a walk of the whole tree would cost every root's start.
 * Said even with -q, which silences leftover processes only.
 */
static void warn_unmapped(const char *opt, const char *src, const struct stat *st)
{
	if (st->st_uid != getuid())
		warnx_("warning: %s %s is owned by uid %u: its files are read-only inside the root, "
		       "even to fake root (give %s)", opt, src, (unsigned)st->st_uid,
		       strcmp(opt, "--root") == 0 ? "an archive of it, or a copy you own" : "a copy you own");
	else if (st->st_gid != getgid())
		warnx_("warning: %s %s has group %u, not yours (%u): its files of that group cannot be "
		       "changed inside the root, even by fake root (overlayfs cannot copy them up: "
		       "\"Value too large for defined data type\"); give a copy of your group",
		       opt, src, (unsigned)st->st_gid, (unsigned)getgid());
}

/*
 * Directories in use by a running root are flock'ed: its --upper
 * exclusively, its directory layers shared.  Of the parents of PATH (an
 * absolute path; PATH itself the caller locks), the first held as LOCK
 * (LOCK_EX: by any root; LOCK_SH: as an upper) forbids, into BUSY: 1
 * then, else 0.
 */
static int in_use_above(const char *path, int lock, char *busy, size_t len)
{
	snprintf(busy, len, "%s", path);
	for (;;) {
		char *slash = strrchr(busy, '/');
		if (!slash || slash == busy)
			return 0;
		*slash = 0;
		int fd = open(busy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int held = fd >= 0 && flock(fd, lock | LOCK_NB) < 0 && errno == EWOULDBLOCK;
		if (fd >= 0)
			close(fd);
		if (held)
			return 1;
	}
}

static void check_layers(struct fb_root *r)
{
	for (int i = 0; i < r->nlayers; i++) {
		struct fb_layer *l = &r->layer[i];
		struct stat st;
		if (!realpath(l->opt, l->path) || stat(l->path, &st) < 0)
			die("--root %s: %s", l->opt, strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			if (strcmp(l->path, "/") == 0) {
				if (r->nlayers > 1)
					die("--root /: the host's system directories take no other layer, "
					    "above or below (give a directory or an archive as the base)");
				r->host = 1;
				continue;
			}
			l->fd = open(l->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (l->fd < 0)
				die("--root %s: %s", l->opt, strerror(errno));
			/* A layer changing underneath is undefined for overlayfs:
			 * not the --upper of a running root, nor inside one; and
			 * none may take it as its upper while we run. */
			char busy[4096];
			l->lock = open(l->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			int held = l->lock >= 0 && flock(l->lock, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
			if (held || in_use_above(l->path, LOCK_SH, busy, sizeof busy))
				die("--root %s: %s is the --upper of a running fakebuild root; a layer must "
				    "not change while a root uses it", l->opt, held ? l->path : busy);
			l->dev = st.st_dev;
			warn_unmapped("--root", l->opt, &st);
		} else if (S_ISREG(st.st_mode) && st.st_size == 0) {
			die("--root %s: an empty file, not an archive", l->opt);
		} else if (S_ISREG(st.st_mode)) {
			snprintf(l->archive, sizeof l->archive, "%s", l->path);
			l->path[0] = 0;	/* its cache entry, found or made by fb_unpack */
		} else {
			die("--root %s: neither a directory nor an archive", l->opt);
		}
	}
	if (r->host && (r->upper || r->keep))
		die("--root /: the host's system directories are read-only inside the root, so there "
		    "is nothing to keep: --upper and --keep need a base that is a directory or an "
		    "archive (use --bind for what the build should write)");
}

static void check_mounts(struct fb_root *r)
{
	for (int i = 0; i < r->nm; i++) {
		struct fb_mount *m = &r->m[i];
		char given[4096];
		snprintf(given, sizeof given, "%s", m->src);
		struct stat st;
		if (!realpath(given, m->src) || stat(m->src, &st) < 0) {
			if (!m->dst[0] && strchr(given, ':'))
				die("%s %s: %s (the destination after ':' must be an absolute path)",
				    m->opt, given, strerror(errno));
			die("%s %s: %s", m->opt, given, strerror(errno));
		}
		m->is_dir = S_ISDIR(st.st_mode);
		m->dev = st.st_dev;
		if (m->kind == FB_OVERLAY && !m->is_dir)
			die("%s %s: not a directory", m->opt, given);
		if (m->kind == FB_OVERLAY)
			warn_unmapped(m->opt, given, &st);
		if (m->kind != FB_RO_BIND && strcmp(m->src, "/") == 0)
			die("%s /: refusing to make the host's / writable inside the root "
			    "(use --ro-bind for a read-only view)", m->opt);
		char dst[4096];
		snprintf(dst, sizeof dst, "%s", m->dst[0] ? m->dst : m->src);
		clean_abs(m->opt, dst, m->dst, sizeof m->dst);
		if (strcmp(m->dst, "/") == 0)
			die("%s %s: cannot mount over the root itself (use --root)", m->opt, given);
		if (is_under(m->dst, "/proc"))
			die("%s %s: cannot mount on %s: the root's own /proc must stay there "
			    "(the library and fakebuild read it)", m->opt, given, m->dst);
		m->fd = open(m->src, O_PATH | O_CLOEXEC);
		if (m->fd < 0)
			die("%s %s: %s", m->opt, given, strerror(errno));
	}
}

static void check_outputs(struct fb_root *r)
{
	if (r->upper) {
		/* Made after the namespaces are known to work: an error before
		 * that leaves nothing behind. */
		struct stat st;
		if (stat(r->upper, &st) < 0) {
			char dir[4096], abs[PATH_MAX];
			snprintf(dir, sizeof dir, "%s", r->upper);
			char *slash = strrchr(dir, '/');
			const char *base = slash ? slash + 1 : dir;
			const char *parent = slash ? (slash == dir ? "/" : (*slash = 0, dir)) : ".";
			if (errno != ENOENT || !*base || !realpath(parent, abs) ||
			    snprintf(r->upper_path, sizeof r->upper_path, "%s/%s", strcmp(abs, "/") ? abs : "",
				     base) >= (int)sizeof r->upper_path)
				die("--upper %s: %s", r->upper, strerror(errno));
			r->upper_create = 1;
		} else if (!realpath(r->upper, r->upper_path)) {
			die("--upper %s: %s", r->upper, strerror(errno));
		} else if (!S_ISDIR(st.st_mode)) {
			die("--upper %s: not a directory", r->upper);
		} else if (st.st_uid != getuid()) {
			die("--upper %s: owned by uid %u, not by you", r->upper, (unsigned)st.st_uid);
		}
		for (int i = 0; i < r->nlayers; i++)
			if (r->layer[i].fd >= 0 && (is_under(r->upper_path, r->layer[i].path) ||
						    is_under(r->layer[i].path, r->upper_path)))
				die("--upper %s: overlaps the base %s", r->upper, r->layer[i].opt);
		/* Written behind overlayfs's back, an upper in use is undefined. */
		for (int i = 0; i < r->nm; i++) {
			if (r->m[i].kind == FB_RO_BIND)
				continue;
			if (is_under(r->m[i].src, r->upper_path))
				die("--upper %s: %s %s is the upper directory or inside it, and would "
				    "change it behind overlayfs", r->upper, r->m[i].opt, r->m[i].src);
			if (is_under(r->upper_path, r->m[i].src))
				die("--upper %s: it is inside %s %s, through which the build would "
				    "change it behind overlayfs (put it beside, or use --ro-bind)",
				    r->upper, r->m[i].opt, r->m[i].src);
		}
		/* Its work directory, which overlayfs wants on the same
		 * filesystem and not inside it: beside it, made with it. */
		char parent[4096];
		snprintf(parent, sizeof parent, "%s", r->upper_path);
		*strrchr(parent, '/') = 0;
		snprintf(r->work_path, sizeof r->work_path, "%s/.fakebuild-work.%d", parent, (int)getpid());
	}
	if (r->keep) {
		fb_archive_load();
		struct archive *a = archive_write_new();
		int ok = a && fb_archive_write_set_by_name(a, r->keep) == ARCHIVE_OK;
		archive_write_free(a);
		if (!ok)
			die("--keep %s: not a name of an archive fakebuild can write "
			    "(.tar, .tar.gz, .tgz, .tar.xz, .tar.zst, .tar.bz2, .cpio, ...)", r->keep);
	}
	const char *outs[] = { r->keep, r->changes };
	for (const char *const *o = outs; o < outs + 2; o++) {
		if (!*o || strcmp(*o, "-") == 0)
			continue;
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", *o);
		char *slash = strrchr(dir, '/');
		const char *d = slash ? (slash == dir ? "/" : (*slash = 0, dir)) : ".";
		if (access(d, W_OK | X_OK) < 0)
			die("%s %s: cannot write in %s: %s", *o == r->keep ? "--keep" : "--changes", *o, d,
			    strerror(errno));
	}
}

/* The library, both ELF classes, as descriptors: pid 1 copies them into the root. */
static void open_lib(struct fb_root *r)
{
	const char *dollar = strstr(r->lib, "/$LIB/");
#if defined(FB_MULTIARCH) && defined(FB_MULTIARCH32)
	if (dollar) {
		const char *ma[2] = { FB_MULTIARCH, FB_MULTIARCH32 };
		for (int i = 0; i < 2; i++) {
			char p[PATH_MAX + 64];
			snprintf(r->lib_rel[i], sizeof r->lib_rel[i], "lib/%s/libfakebuild.so", ma[i]);
			snprintf(p, sizeof p, "%.*s/%s", (int)(dollar - r->lib), r->lib, r->lib_rel[i]);
			r->lib_fd[i] = open(p, O_RDONLY | O_CLOEXEC);
			if (r->lib_fd[i] < 0)
				die("%s: %s", p, strerror(errno));
		}
		return;
	}
#endif
	if (dollar)
		die("%s: cannot tell the library's classes apart: use -l LIB", r->lib);
	snprintf(r->lib_rel[0], sizeof r->lib_rel[0], "libfakebuild.so");
	r->lib_fd[0] = open(r->lib, O_RDONLY | O_CLOEXEC);
	if (r->lib_fd[0] < 0)
		die("%s: %s", r->lib, strerror(errno));
}

static void mkdirs(const char *what, char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0)
		return;
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdirs(what, dir);
		*slash = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		die("%s %s: %s", what, dir, strerror(errno));
}

static void cache_dir(struct fb_root *r)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	struct stat st;
	int n = -1;
	if (x && *x == '/')
		n = snprintf(r->cache, sizeof r->cache, "%s/fakebuild", x);
	else if (home && *home == '/' && stat(home, &st) == 0 && S_ISDIR(st.st_mode))
		n = snprintf(r->cache, sizeof r->cache, "%s/.cache/fakebuild", home);
	if (n < 0 || (size_t)n >= sizeof r->cache || !fb_dir_usable(r->cache)) {
		/* A HOME such as sbuild's /nonexistent, or one not ours to
		 * write: beside the default database's fallback, as the
		 * database itself goes there. */
		struct fb_err err = { { 0 } };
		char dir[sizeof r->cache - 16];
		if (fb_tmp_dir("cache", "set XDG_CACHE_HOME", dir, sizeof dir, &err) < 0)
			die("--root: no cache directory for archive bases: %s", err.msg);
		snprintf(r->cache, sizeof r->cache, "%s/cache", dir);
	}
	mkdirs("cache", r->cache);
}

/* ---- namespaces --------------------------------------------------------- */

static long read_sysctl(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/* Why the kernel refused a user namespace, in terms of what to change. */
__attribute__((noreturn)) static void userns_refused(int e)
{
	if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
		die("--root: user namespaces are disabled: user.max_user_namespaces is 0 "
		    "(as root: sysctl -w user.max_user_namespaces=10000)");
	if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		die("--root: unprivileged user namespaces are disabled: "
		    "kernel.unprivileged_userns_clone is 0 "
		    "(as root: sysctl -w kernel.unprivileged_userns_clone=1)");
	if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
		die("--root: AppArmor restricts unprivileged user namespaces: "
		    "kernel.apparmor_restrict_unprivileged_userns is 1 (as root: set it to 0, "
		    "or give fakebuild an AppArmor profile that allows userns)");
	if (e == ENOSPC || e == EUSERS)
		die("--root: cannot create a user namespace: the limit is reached "
		    "(user.max_user_namespaces is %ld, or namespaces are nested too deep)",
		    read_sysctl("/proc/sys/user/max_user_namespaces"));
	if (e == EINVAL)
		die("--root: cannot create a user namespace: this kernel has no user namespaces "
		    "(CONFIG_USER_NS)");
	die("--root: cannot create a user namespace: %s (a seccomp filter or security "
	    "module of this container may forbid them)", strerror(e));
}

int fb_put_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(s);
	ssize_t n = write(fd, s, len);
	int e = n < 0 ? errno : (size_t)n != len ? EIO : 0;
	close(fd);
	return -e;
}

/* Write TEXT to /proc/PID/NAME (uid_map, gid_map, setgroups): 0, or errno. */
static int proc_write(pid_t pid, const char *name, const char *text)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/%s", (int)pid, name);
	return -fb_put_file(p, text);
}

static void write_file(pid_t pid, const char *name, const char *text)
{
	int e = proc_write(pid, name, text);
	if (e) {
		kill(pid, SIGKILL);
		die("--root: cannot write %s of the new user namespace: %s", name, strerror(e));
	}
}

/* uid and gid 0 inside are the user; no other id exists there. */
static void map_ids(pid_t pid)
{
	char m[64];
	snprintf(m, sizeof m, "0 %u 1\n", (unsigned)getuid());
	write_file(pid, "uid_map", m);
	/* Required before gid_map without privilege; it also keeps the build
	 * from dropping a supplementary group that denies it access. */
	write_file(pid, "setgroups", "deny\n");
	snprintf(m, sizeof m, "0 %u 1\n", (unsigned)getgid());
	write_file(pid, "gid_map", m);
}

#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)

/*
 * Before unpacking an archive into the cache (the one slow step that
 * writes): can we make a user namespace and mount overlayfs in it?  A
 * child tries, on tmpfs, and reports the errno that stopped it.
 */
static void probe(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int step = 0, e = 0;
		char m[64];
		/* Our ids, read before the namespace: in it, unmapped, they read 65534. */
		const uid_t uid = getuid();
		const gid_t gid = getgid();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
			e = errno;
			goto out;
		}
		step = 1;
		int r = proc_write(getpid(), "setgroups", "deny");
		if (r != 0 && r != ENOENT)
			e = r;	/* absent before Linux 3.19: nothing to deny */
		snprintf(m, sizeof m, "0 %u 1", (unsigned)uid);
		if ((r = proc_write(getpid(), "uid_map", m)) != 0) {
			e = r;
			goto out;
		}
		snprintf(m, sizeof m, "0 %u 1", (unsigned)gid);
		if ((r = proc_write(getpid(), "gid_map", m)) != 0) {
			e = r;
			goto out;
		}
		step = 2;
		const char *type = getenv("FAKEBUILD_TEST_OVERLAYFS");
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", "/tmp", "tmpfs", 0, NULL) < 0 ||
		    mkdir("/tmp/l", 0755) < 0 || mkdir("/tmp/u", 0755) < 0 || mkdir("/tmp/w", 0755) < 0 ||
		    mkdir("/tmp/m", 0755) < 0) {
			e = errno;
			goto out;
		}
		step = 3;
		if (mount("overlay", "/tmp/m", type && *type ? type : "overlay", 0,
			  "lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w,userxattr") < 0)
			e = errno;
	out:;
		int msg[2] = { step, e };
		ssize_t w = write(p[1], msg, sizeof msg);
		(void)w;
		_exit(0);
	}
	close(p[1]);
	int msg[2] = { 0, 0 };
	ssize_t n = read(p[0], msg, sizeof msg);
	close(p[0]);
	waitpid(pid, NULL, 0);
	if (n != (ssize_t)sizeof msg)
		die("--root: the namespace probe died");
	if (msg[1] == 0)
		return;
	if (msg[0] == 0)
		userns_refused(msg[1]);
	if (msg[0] < 3) {
		if (msg[1] == EPERM &&
		    read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
			userns_refused(EPERM);
		die("--root: a user namespace works, but %s in it does not: %s",
		    msg[0] == 1 ? "mapping our user and group ids" : "mounting", strerror(msg[1]));
	}
	if (msg[1] == ENODEV)
		die("--root: overlayfs is not available in this kernel (as root: modprobe overlay)");
	die("--root: the kernel refused an overlayfs mount in a user namespace (%s): "
	    "Linux 5.11 or later is needed, with overlayfs allowed for unprivileged users",
	    strerror(msg[1]));
}

/* ---- on disk -------------------------------------------------------------- */

/*
 * --upper DIR (made now if missing) and its work directory beside it,
 * which the watcher removes if we are killed.  (Everything else of a
 * root is in a tmpfs of its namespace.)
 */
static int upper_dirs(struct fb_root *r, int w)
{
	if (r->upper_create && mkdir(r->upper_path, 0755) < 0) {
		r->upper_create = 0;	/* not ours to remove */
		if (errno != EEXIST) {
			warnx_("--upper %s: %s", r->upper, strerror(errno));
			r->work_path[0] = 0;	/* not made: nothing to remove */
			return -1;
		}
	}
	/* One root at a time: overlayfs on an upper in use by another mount
	 * is undefined, and each root has a work directory of its own, so
	 * overlayfs cannot tell.  The lock goes with fakebuild, killed or not. */
	r->upper_lock = open(r->upper_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->upper_lock < 0 || flock(r->upper_lock, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		warnx_("--upper %s: %s", r->upper,
		       e == EWOULDBLOCK ? "in use by another fakebuild root (one at a time), as its "
					  "--upper or a layer"
					: strerror(e));
		r->work_path[0] = 0;	/* not made: nothing to remove */
		if (e == EWOULDBLOCK)
			r->upper_create = 0;	/* made by us, but the root holding it uses it */
		return -1;
	}
	/* Nor inside a directory a running root uses (its upper or a layer). */
	char busy[4096];
	if (in_use_above(r->upper_path, LOCK_EX, busy, sizeof busy)) {
		warnx_("--upper %s: inside %s, which a running fakebuild root uses as its --upper or "
		       "a layer", r->upper, busy);
		r->work_path[0] = 0;
		return -1;
	}
	fb_watch_add(w, r->work_path);
	if (mkdir(r->work_path, 0700) < 0) {
		warnx_("--upper %s: cannot make a work directory beside it: %s: %s", r->upper,
		       r->work_path, strerror(errno));
		r->work_path[0] = 0;
		return -1;
	}
	r->upper_fd = open(r->upper_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->upper_fd < 0) {
		warnx_("--upper %s: %s", r->upper, strerror(errno));
		return -1;
	}
	return 0;
}

/* A root that never started leaves no --upper it made: the directory goes
 * (rmdir: only while still empty, as nothing was built in it). */
static void remove_new_upper(struct fb_root *r)
{
	if (r->upper_create && rmdir(r->upper_path) < 0 && errno != ENOENT && errno != ENOTEMPTY)
		warnx_("--upper %s: cannot remove it: %s", r->upper, strerror(errno));
}

static void remove_work(struct fb_root *r)
{
	if (!r->work_path[0])
		return;
	int rc = fb_remove_tree(AT_FDCWD, r->work_path);
	if (rc < 0)
		warnx_("%s: cannot remove: %s", r->work_path, strerror(-rc));
}

/* ---- seeding the root's table ------------------------------------------- */

/* The trees the root shows whose records the user's table may hold. */
static void seed(struct fb_root *r, struct fb_table *rt, struct fb_table *ut)
{
	const char *dirs[FB_ROOT_LAYERS + FB_ROOT_MOUNTS + 12];
	size_t n = 0;
	if (r->host) {
		static const char *const sys[] = { "/usr", "/etc", "/opt", "/var/lib", "/bin", "/sbin",
						   "/lib", "/lib32", "/lib64", "/libx32" };
		for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
			dirs[n++] = sys[i];
	}
	for (int i = 0; i < r->nlayers; i++)
		if (!r->layer[i].records[0] && r->layer[i].fd >= 0)
			dirs[n++] = r->layer[i].path;
	for (int i = 0; i < r->nm; i++)
		dirs[n++] = r->m[i].src;
	if (r->upper_path[0])
		dirs[n++] = r->upper_path;
	long c = n && ut ? fb_table_copy_under(rt, ut, dirs, n) : 0;
	if (c < 0)
		die("--root: cannot seed the root's table: %s", strerror((int)-c));
	struct fb_err err = { { 0 } };
	for (int i = 0; i < r->nlayers; i++)
		if (r->layer[i].records[0] && fb_store_load(r->layer[i].records, rt, &err) < 0)
			die("--root %s: %s", r->layer[i].opt, err.msg);
}

/* ---- running ----------------------------------------------------------- */

static volatile sig_atomic_t child_pid;

static volatile sig_atomic_t signalled;

/* The command runs (pid 1 has been told to start it). */
static volatile sig_atomic_t started;

/* pid 1 is in the terminal's job with us (r->in_job). */
static volatile sig_atomic_t in_job;

/* INT, TERM, HUP, QUIT go to the root's pid 1, which passes them on; a
 * second one ends the root at once, for a command that ignores them.
 * Before the root runs or after it has ended, one is noted: it stops the
 * unpack of a base, or what comes after the root.  In a terminal's job,
 * one the terminal sent has reached pid 1 already (which passes it to a
 * command that left the job's process group) and is not counted; outside
 * one (the standard descriptors redirected), it reached only us. */
volatile sig_atomic_t fb_root_interrupted;

static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (child_pid <= 0)
		fb_root_interrupted = sig;
	else if (started && in_job && si->si_code == SI_KERNEL)
		return;	/* the command had it: ^C in a REPL is no reason to end the root */
	else if (signalled++)
		kill(child_pid, SIGKILL);
	else
		kill(child_pid, sig);
}

/*
 * Does the root show anything the user's database may hold records of?
 * Not a root made only of cached archives: it then starts without
 * touching the database at all.
 */
static int needs_user_db(const struct fb_root *r)
{
	if (r->host || r->nm || r->upper)
		return 1;
	for (int i = 0; i < r->nlayers; i++)
		if (!r->layer[i].records[0] && !r->layer[i].archive[0])
			return 1;
	return 0;
}

/*
 * Every path inside the root is resolved with openat2(2) and RESOLVE_IN_ROOT
 * (Linux 5.6); a seccomp filter of a container (or valgrind) may answer
 * ENOSYS for it even on a newer kernel.  Say so before anything is made.
 */
static void check_openat2(void)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
	if (fd >= 0) {
		close((int)fd);
		return;
	}
	if (errno == ENOSYS)
		die("--root: the kernel has no openat2(2) (Linux 5.6 or later is needed; "
		    "a seccomp filter of this container may also refuse it)");
}

int fb_root_run(struct fb_root *r, char **cmd)
{
	if (getenv("FAKEBUILD_TABLE"))
		die("--root: cannot run inside a fakebuild session (leave it first)");
	check_openat2();
	check_layers(r);
	check_mounts(r);
	check_outputs(r);
	fb_limit_check(r);
	open_lib(r);
	if (!getcwd(r->cwd, sizeof r->cwd))
		r->cwd[0] = 0;
	r->in_job = fb_in_terminal_job();
	in_job = r->in_job;
	/* Caught from here on: an unpack stops at the next entry, and once
	 * the root runs they go to its pid 1.  One that came in ignored stays
	 * ignored, here and in the root (nohup's SIGHUP), but for SIGINT and
	 * SIGQUIT, which a script's background job comes with (as
	 * fakebuild-pkgbuild runs us): the script's kill -INT must stop the
	 * build, and the command gets their defaults. */
	for (int sig = 1; sig < 64; sig++) {
		struct sigaction old;
		if (sig != SIGINT && sig != SIGQUIT && sig != SIGXFSZ && sigaction(sig, NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			r->ignored |= 1ull << sig;
	}
	if (fb_xfsz_ignored)	/* we ignore it since main() */
		r->ignored |= 1ull << SIGXFSZ;
	struct sigaction sa = { .sa_sigaction = forward, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (!(r->ignored & 1ull << sigs[i]))
			sigaction(sigs[i], &sa, NULL);

	/* Archives: checked that namespaces work before the slow part that writes. */
	int w = -1;
	for (int i = 0; i < r->nlayers; i++) {
		struct fb_layer *l = &r->layer[i];
		if (!l->archive[0])
			continue;
		if (!r->cache[0])
			cache_dir(r);
		if (fb_unpack_cached(r, l))
			continue;
		if (w < 0) {
			probe();
			w = fb_watch_start();
		}
		if (fb_unpack(r, l, w) < 0) {
			fb_watch_done(w);
			return fb_root_interrupted ? 128 + fb_root_interrupted : 1;
		}
	}
	if (fb_root_interrupted) {
		fb_watch_done(w);
		return 128 + fb_root_interrupted;
	}
	int like = r->host ? 1 : fb_looks_like_root(r->layer[0].fd);
	if (like < 0)
		die("--root %s: %s", r->layer[0].opt, strerror(-like));
	if (!like)
		die("--root %s: not a root: no usr, bin or etc directory in it", r->layer[0].opt);
	/* --limit memory, pids, cpus: the build's cgroup, once nothing is left to refuse. */
	if (fb_limit_cgroup(r, &w) < 0) {
		fb_watch_done(w);
		return 1;
	}

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %s", strerror(errno));
	/* Where pid 1 says what signal killed the command, if one did
	 * (its exit status cannot). */
	int *sig = mmap(NULL, sizeof *sig, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sig != MAP_FAILED)
		fb_command_signal = sig;
	fflush(NULL);
	unsigned long flags = NS_FLAGS | (r->net ? 0 : CLONE_NEWNET) | SIGCHLD;
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		int e = errno;
		fb_limit_release(r);
		fb_watch_done(w);
		userns_refused(e);
	}
	if (pid == 0) {
		close(sv[0]);
		fb_ns_main(r, sv[1], cmd);
	}
	close(sv[1]);
	/* The namespaces exist: now the database, if the root needs it. */
	struct fb_err err = { { 0 } };
	struct fb_session *s = NULL;
	int entered = fb_limit_enter(r, pid) == 0;	/* before it runs anything */
	int ok = entered && (!needs_user_db(r) || fb_session_join(r->db, 0, &s, &err) == 0);
	if (!ok && entered)
		warnx_("%s", err.msg);
	/* Scratch directories beside --upper, and the temporaries of --keep
	 * and --changes: the watcher removes them if we are killed. */
	if (ok && w < 0 && (r->upper || r->keep || (r->changes && strcmp(r->changes, "-") != 0)))
		w = fb_watch_start();
	if (ok && r->upper)
		ok = upper_dirs(r, w) == 0;
	if (!ok) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		remove_work(r);
		remove_new_upper(r);
		fb_limit_release(r);
		fb_watch_done(w);
		if (s)
			fb_session_leave(s, &err);
		return 1;
	}
	fb_watch_pid(w, pid);
	child_pid = pid;
	if (fb_root_interrupted)	/* while the root was being made */
		kill(pid, fb_root_interrupted);
	map_ids(pid);
	fb_msg_send(sv[0], FB_MSG_MAPS, NULL, 0, NULL, 0);

	/* The root is built: its table, and each overlay with its upper directory. */
	int fds[FB_MSG_FDS], nfds = FB_MSG_FDS;
	unsigned char msg[4096];
	size_t len = sizeof msg;
	struct fb_table *rt = NULL;
	uint64_t seeded = 0;	/* the root table's changes before the build */
	int rt_fd = -1;
	int status = 1, ready = fb_msg_recv(sv[0], msg, &len, fds, &nfds) == FB_MSG_READY;
	if (ready) {
		int k = 0, nov = 0;
		rt_fd = fds[k++];
		int rc = fb_table_attach_fd(rt_fd, 0, 0, &rt);
		if (rc < 0)
			die("--root: cannot map the root's table: %s", strerror(-rc));
		/* Kept open until detach: the table's file has no name we can
		 * reach, so the writer lock registers through /proc/self/fd of
		 * this descriptor (db/wlock.c). */
		if (!r->host) {
			r->ovl_fd = fds[k++];
			if (r->upper_fd >= 0)
				close(r->upper_fd);
			r->upper_fd = fds[k++];
		}
		for (int i = 0; i < r->nm; i++) {
			if (r->m[i].kind != FB_OVERLAY)
				continue;
			r->m[i].ovl_fd = fds[k++];
			r->m[i].upper_fd = fds[k++];
			nov++;
		}
		/* the devices: the root overlay's (0 for --root /), then each --overlay's */
		uint64_t devs[FB_ROOT_MOUNTS + 1];
		size_t dl = sizeof devs[0] * (size_t)(nov + 1);
		if (k != nfds || len <= dl)
			die("--root: pid 1 sent a malformed message");
		memcpy(devs, msg, dl);
		msg[len - 1] = 0;
		snprintf(r->devmap, sizeof r->devmap, "%s", (char *)msg + dl);
		r->ovl_dev = (dev_t)devs[0];
		for (int i = 0, j = 1; i < r->nm; i++)
			if (r->m[i].kind == FB_OVERLAY)
				r->m[i].ovl_dev = (dev_t)devs[j++];
		if (fb_devmap_set(r->devmap) < 0)
			die("--root: bad device map %s", r->devmap);
		seed(r, rt, s ? fb_session_table(s) : NULL);
		if (r->upper)
			fb_walk_seed_upper(r, rt, fb_session_table(s));
		seeded = fb_table_changes(rt);
		int nd = r->changes ? fb_walk_note_dirs(r, rt) : 0;
		if (nd < 0)
			die("--changes %s: %s", r->changes, strerror(-nd));
		started = 1;
		fb_msg_send(sv[0], FB_MSG_GO, NULL, 0, NULL, 0);
	}
	close(sv[0]);
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	child_pid = 0;
	status = WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
	if (!ready)	/* pid 1 said why, unless it was interrupted */
		status = fb_root_interrupted ? 128 + fb_root_interrupted : 1;
	/* The kept trees' records go to the user's table by a walk of every
	 * kept tree (20,000 files: about 40 ms); a build that recorded
	 * nothing left only the seeded copies of the user's own records. */
	else if (fb_walk_finish(r, rt, s && fb_table_changes(rt) != seeded ? fb_session_table(s) : NULL,
				s ? fb_session_db(s) : NULL, status, w) < 0 && status == 0)
		status = fb_root_interrupted ? 128 + fb_root_interrupted : 1;
	if (rt)
		fb_table_detach(rt);
	if (rt_fd >= 0)
		close(rt_fd);
	remove_work(r);
	if (!ready)
		remove_new_upper(r);
	fb_limit_release(r);
	fb_watch_done(w);
	if (s && fb_session_leave(s, &err) < 0) {
		warnx_("%s", err.msg);
		status = status ? status : 1;
	}
	return status;
}
