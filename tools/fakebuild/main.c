/*
 * fakebuild - run a command as fake root, with ownership recorded in a
 * shared live table and persisted in a gdbm database.
 *
 * The command runs in its own process group with libfakebuild.so preloaded
 * and the session in its environment.  fakebuild itself is never
 * preloaded: it owns the session's lifecycle (join, then leave, saving
 * when it is the last session on the database).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <dlfcn.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dbview.h"
#include "exe.h"
#include "fakebuild.h"
#include "root.h"
#include "store.h"

#ifndef FB_LIBFILE
#define FB_LIBFILE "/usr/local/lib/fakebuild/lib/libfakebuild.so"
#endif
#define FB_VERSION "0.1"

const char *progname = "fakebuild";

static void vwarn_(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn_(fmt, ap);
	va_end(ap);
	exit(1);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn_(fmt, ap);
	va_end(ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fakebuild [options] [--] [command [args...]]\n"
		"       fakebuild --root BASE [root options] [options] [--] [command [args...]]\n"
		"       fakebuild [-d FILE] --export [DIR] | --check | --gc | --db-path\n"
		"Run COMMAND (default: $SHELL) as fake root; ownership, modes and device\n"
		"nodes it sets are recorded in a database and seen by later sessions.\n"
		"\n"
		"  -d, --db FILE          the database (default: $FAKEBUILD_DB, else\n"
		"                         $XDG_STATE_HOME/fakebuild/fakebuild.db (XDG_STATE_HOME:\n"
		"                         ~/.local/state when unset), else\n"
		"                         $TMPDIR/fakebuild-UID/fakebuild.db if that is not writable)\n"
		"  -u, --unknown-is-real  files never changed in a session show their real\n"
		"                         owner instead of root\n"
		"  -i FILE                load the state saved in FILE first (a fakebuild database,\n"
		"                         or a save file of fakeroot -s)\n"
		"  -s FILE                save the state to FILE (a fakebuild database) at the end\n"
		"  -l, --lib LIB          the preload library to use (fakeroot's libfakeroot: ignored)\n"
		"  -f, --faked FILE, -b, --fd-base FD  fakeroot's daemon options: ignored\n"
		"      --kill             end processes of the command still running when it exits\n"
		"      --passwd FILE      user names and ids from FILE, not the host's\n"
		"      --group FILE       group names, ids and members from FILE, not the host's\n"
		"      --sysroot DIR      both from DIR/etc/passwd and DIR/etc/group\n"
		"\n"
		"Build roots (fakebuild(7), \"Build roots\"): run COMMAND in a root of its own,\n"
		"in new user, mount, pid, IPC, UTS and network namespaces:\n"
		"      --root BASE        the base: a directory, an archive (unpacked once into\n"
		"                         $XDG_CACHE_HOME/fakebuild), or / (the host's system\n"
		"                         directories, read-only, alone); again for layers on top\n"
		"      --bind SRC[:DST]   SRC writable at DST inside (default: the same path)\n"
		"      --ro-bind SRC[:DST]  the same, read-only\n"
		"      --overlay SRC[:DST]  SRC writable inside; the host copy does not change\n"
		"      --upper DIR        keep the root's changes in DIR (default: thrown away)\n"
		"      --keep FILE        write the changes as an archive FILE (.tar.zst, ...)\n"
		"      --changes FILE     list the changes (A, M, D and the path) in FILE, - stdout\n"
		"      --net              share the host's network\n"
		"      --limit NAME=VALUE[,...]  as, cpu, nproc, fsize, nofile (setrlimit);\n"
		"                         memory, pids, cpus (cgroup v2, when delegated)\n"
		"\n"
		"The database, without a command:\n"
		"      --export [DIR]     print the fake state of DIR (default .) as mtree(5)\n"
		"      --check            verify the database and report problems; change nothing\n"
		"      --gc               drop the records of files no longer at the path\n"
		"                         they were recorded under (deleted, or moved\n"
		"                         outside a session)\n"
		"      --db-path          print the database's path (from -d, $FAKEBUILD_DB or\n"
		"                         the default) and exit; it need not exist yet\n"
		"\n"
		"  -q, --quiet            no warnings about leftover processes\n"
		"  -h, --help             this help\n"
		"  -v, --version          the version\n"
		"\n"
		"Exit status: the command's; if signal N killed it, fakebuild ends by signal N\n"
		"(a shell shows 128+N); 126 if it cannot be executed, 127 if not found; 1 for\n"
		"fakebuild's own errors.\n");
}

/*
 * The preload library: -l, else beside our own binary (the build tree, or
 * an installation moved elsewhere: ../lib/fakebuild/lib/ from `make
 * install`, ../lib/TRIPLET/fakebuild/ as in Debian's packages), else where
 * it was installed (FB_LIBFILE).
 */
static void find_lib(const char *opt, char *out, size_t len)
{
	const char *dollar = opt ? strstr(opt, "/$LIB/") : NULL;
	if (dollar) {
		/* The loader's $LIB, expanded per process: the directory
		 * before it must exist, and this class's library in it. */
		char base[PATH_MAX], own[PATH_MAX + 64];
		snprintf(base, sizeof base, "%.*s", (int)(dollar - opt), opt);
		if (!realpath(*base ? base : "/", out))
			die("%s: %s: %s", opt, base, strerror(errno));
#ifdef FB_MULTIARCH
		snprintf(own, sizeof own, "%s/lib/%s/%s", out, FB_MULTIARCH, dollar + 6);
		if (access(own, R_OK) != 0)
			die("%s: %s: %s", opt, own, strerror(errno));
#else
		(void)own;
#endif
		if (strlen(out) + strlen(dollar) >= len)
			die("%s: path too long", opt);
		strcat(out, dollar);
		return;
	}
	if (opt) {
		if (!realpath(opt, out))
			die("%s: %s", opt, strerror(errno));
		/* The loader ignores a file that is no shared object, and
		 * skips a library of the other ELF class, with a message of
		 * its own in every program, which then runs unfaked. */
		unsigned char h[18] = { 0 };
		int fd = open(out, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("%s: %s", opt, strerror(errno));
		if (read(fd, h, sizeof h) != (ssize_t)sizeof h || memcmp(h, "\177ELF", 4) != 0 ||
		    h[16] + 256 * h[17] != 3 /* ET_DYN, little-endian */)
			die("%s: not a shared library (no ELF header of one)", opt);
		if (h[4] != (sizeof(void *) == 8 ? 2 : 1))
			warnx_("%s: a %d-bit library: %d-bit programs of the session, the shell among "
			       "them, run unfaked (give the %d-bit one: the other is found beside it)",
			       opt, sizeof(void *) == 8 ? 32 : 64, (int)sizeof(void *) * 8,
			       (int)sizeof(void *) * 8);
		close(fd);
		return;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			const char *rel[] = {
				"../lib/libfakebuild.so", "../lib/fakebuild/lib/libfakebuild.so",
#ifdef FB_MULTIARCH
				"../lib/" FB_MULTIARCH "/fakebuild/libfakebuild.so",
#endif
			};
			for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
				char cand[PATH_MAX + 64];
				snprintf(cand, sizeof cand, "%s/%s", self, rel[i]);
				if (access(cand, R_OK) == 0 && realpath(cand, out))
					return;
			}
		}
	}
	snprintf(out, len, "%s", FB_LIBFILE);
	if (access(out, R_OK) != 0)
		die("cannot find libfakebuild.so (looked beside %s and at %s): use -l LIB",
		    n > 0 ? self : "the fakebuild binary", FB_LIBFILE);
}

/*
 * With the library of the other ELF class installed too, preload a path
 * with the loader's $LIB in it: the loader expands it per process, so 32-bit
 * and 64-bit programs each get their own.  On Debian, $LIB is
 * lib/x86_64-linux-gnu for amd64, lib/i386-linux-gnu for the loader of
 * libc6:i386 and lib32 for that of libc6-i386.  Two layouts, recognised by
 * the end of LIB's path:
 *   BASE/lib/libfakebuild.so, with BASE/lib/TRIPLET/ and BASE/lib32/ beside
 *     (the build tree, `make install`): BASE/$LIB/libfakebuild.so;
 *   BASE/lib/TRIPLET/fakebuild/libfakebuild.so, each class's library in a
 *     package of its own (Debian's libfakebuild, Multi-Arch: same):
 *     BASE/$LIB/fakebuild/libfakebuild.so.
 */
static void multilib(char *lib, size_t len)
{
#if defined(FB_MULTIARCH) && defined(FB_MULTIARCH32)
	static const char *const layout[][2] = {	/* end of LIB's path, below $LIB */
		{ "/lib/libfakebuild.so", "libfakebuild.so" },
		{ "/lib/" FB_MULTIARCH "/fakebuild/libfakebuild.so", "fakebuild/libfakebuild.so" },
	};
	size_t n = strlen(lib);
	for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
		size_t end = strlen(layout[i][0]);
		if (n <= end || strcmp(lib + n - end, layout[i][0]) != 0)
			continue;
		int base = (int)(n - end);
		const char *sub = layout[i][1];
		char c64[PATH_MAX + 64], c32[PATH_MAX + 64];
		snprintf(c64, sizeof c64, "%.*s/lib/%s/%s", base, lib, FB_MULTIARCH, sub);
		snprintf(c32, sizeof c32, "%.*s/lib/%s/%s", base, lib, FB_MULTIARCH32, sub);
		/* BASE stays where it is: only the end of LIB is rewritten. */
		if (access(c64, R_OK) == 0 && access(c32, R_OK) == 0 &&
		    (size_t)base + sizeof "/$LIB/" + strlen(sub) <= len)
			snprintf(lib + base, len - (size_t)base, "/$LIB/%s", sub);
		return;
	}
#else
	(void)lib;
	(void)len;
#endif
}

/*
 * Does the overlay whose directory DIR is (on device DEV) key its files by
 * its own device?  It does when its layers are on one file system, or with
 * xino=on: then a file keeps its inode number across a copy-up.  With
 * layers on several and no xino, its other files show each layer's own
 * device, and its directories numbers made anew at each mount, which only
 * their birth times tell apart.  Told by the first entry of DIR that is not
 * a directory (none: no).
 */
static int overlay_keys_by_its_device(const char *dir, dev_t dev)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int yes = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_type != DT_DIR && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(st.st_mode)) {
			yes = st.st_dev == dev;
			break;
		}
	}
	closedir(d);
	return yes;
}

/*
 * A container's file system is an overlay: a file of a lower layer that
 * is changed is copied up, and gets a new birth time under the same
 * inode number, which a record would take for the number's reuse.  The
 * overlays at / and at the current directory that key their files by
 * their own device are named to the library as a build root's are
 * (FAKEBUILD_DEVMAP, db/view.h): there birth times are not compared, and a
 * change copies the file up first.  A build root's map, inherited, is kept.
 */
static void host_overlays(void)
{
	if (getenv("FAKEBUILD_DEVMAP"))
		return;
	static const char *const where[] = { "/", "." };
	char map[128] = "";
	size_t n = 0;
	dev_t seen = 0;
	for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
		struct statfs sf;
		struct stat st;
		if (statfs(where[i], &sf) < 0 || sf.f_type != OVERLAYFS_SUPER_MAGIC ||
		    stat(where[i], &st) < 0 || st.st_dev == seen || !overlay_keys_by_its_device(where[i], st.st_dev))
			continue;
		seen = st.st_dev;
		n += (size_t)snprintf(map + n, sizeof map - n, "%s%llu:0:%llu", n ? "," : "",
				      (unsigned long long)st.st_dev, (unsigned long long)st.st_dev);
	}
	if (n)
		setenv("FAKEBUILD_DEVMAP", map, 1);
}

void setup_env(const char *lib, const char *db, const char *table, int unknown_is_real)
{
	const char *old = getenv("LD_PRELOAD");
	char *pre;
	if (old && *old) {
		if (asprintf(&pre, "%s %s", lib, old) < 0)
			die("out of memory");
	} else if (!(pre = strdup(lib)))
		die("out of memory");
	setenv("LD_PRELOAD", pre, 1);
	free(pre);
	/* A 32-bit process maps the whole table into its 4 GiB: with a large
	 * FAKEBUILD_CAPACITY it cannot, and runs unfaked with a warning of
	 * its own (preload/init.c).  Say so once, up front. */
	struct stat tst;
	if (strstr(lib, "/$LIB/") && stat(table, &tst) == 0 && (uint64_t)tst.st_size > FB_TABLE_MAX_32BIT)
		warnx_("the live table is %llu MiB (FAKEBUILD_CAPACITY): a 32-bit program may not find "
		       "the room to map it, and then runs unfaked",
		       (unsigned long long)(tst.st_size >> 20));
	setenv("FAKEBUILD_LIB", lib, 1);
	setenv("FAKEBUILD_DB", db, 1);
	setenv("FAKEBUILD_TABLE", table, 1);
	unsetenv("FAKEBUILD_TABLE_FD");	/* an outer session's; pass_table sets ours */
	char key[32];
	snprintf(key, sizeof key, "fakebuild-%ld", (long)getpid());
	setenv("FAKEROOTKEY", key, 1);
	/* Kept when FAKEROOTKEY is not: the library gives FAKEROOTKEY back to
	 * a program that runs as root again (preload/exec.c). */
	setenv("FAKEBUILD_ROOTKEY", key, 1);
	/* The mount namespace the session starts in, where the library must
	 * not bind device nodes (preload/dev.c): its mounts outlive us. */
	struct stat mnt;
	char ns[32];
	if (stat("/proc/self/ns/mnt", &mnt) == 0) {
		snprintf(ns, sizeof ns, "%llu", (unsigned long long)mnt.st_ino);
		setenv("FAKEBUILD_MNTNS", ns, 1);
	} else {
		unsetenv("FAKEBUILD_MNTNS");
	}
	unsetenv("FAKEBUILD_IDS");
	unsetenv("FAKEBUILD_GROUPS");
	if (unknown_is_real)
		setenv("FAKEBUILD_UNKNOWN_IS_REAL", "1", 1);
	else
		unsetenv("FAKEBUILD_UNKNOWN_IS_REAL");
}

/*
 * execvp reports EACCES when some directory of PATH was unreadable even if
 * the command exists nowhere; the shell says "not found" then, and so do we.
 */
int exec_errno(const char *cmd, int e)
{
	if (e != EACCES || strchr(cmd, '/'))
		return e;
	const char *path = getenv("PATH");
	if (!path)
		return e;
	while (*path) {
		size_t n = strcspn(path, ":");
		char cand[PATH_MAX];
		snprintf(cand, sizeof cand, "%.*s/%s", (int)n, path, cmd);
		if (access(cand, F_OK) == 0)
			return e;
		path += n;
		if (*path == ':')
			path++;
	}
	return ENOENT;
}

/*
 * Is the program execvp(ARGV0) would run statically linked, or a Go
 * program?  Then the library does not fake it, and the session warns
 * (preload/exec.c).  Also qemu-user, static itself, for the library to
 * check the program it runs.
 */
static int static_cmd(const char *argv0)
{
	char path[PATH_MAX];
	if (fb_exec_search(argv0, getenv("PATH"), path, sizeof path) < 0)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int st = fb_elf_unfaked(fd) && (!fb_elf_is_loader(path) || fb_is_qemu_user(path));
	close(fd);
	return st;
}

/*
 * Exec a static command through the preload library's execvpe, as every
 * later exec of the session goes: it warns about it once per session.
 * The library is loaded only in the child, which is about to exec anyway.
 */
void exec_cmd(char **argv)
{
	const char *lib = getenv("FAKEBUILD_LIB");
	void *h = lib ? dlopen(lib, RTLD_NOW | RTLD_LOCAL) : NULL;
	int (*fb_execvpe)(const char *, char *const[], char *const[]) =
		h ? (int (*)(const char *, char *const[], char *const[]))dlsym(h, "execvpe") : NULL;
	if (fb_execvpe)
		fb_execvpe(argv[0], argv, environ);
	else
		execvp(argv[0], argv);
}

/* Where signals go: the command's process group (CHILD_PGID), or, when it
 * runs in the terminal's job with us (CHILD_PID), the command itself,
 * except those the terminal sent, which the whole job has had, unless the
 * command left the job's process group. */
static volatile sig_atomic_t child_pgid, child_pid;

static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	pid_t g;
	if (child_pgid > 0)
		kill(-child_pgid, sig);
	else if (child_pid <= 0)
		return;
	else if (si->si_code != SI_KERNEL)
		kill(child_pid, sig);
	else if ((g = getpgid(child_pid)) > 0 && g != getpgrp())
		kill(-g, sig);	/* it left the job's group (timeout(1) does): the terminal's missed it */
}

/* Reaps the children that ended (orphans of the session, see below):
 * does one remain? */
static int have_children(void)
{
	pid_t w;
	while ((w = waitpid(-1, NULL, WNOHANG)) > 0)
		;
	return w == 0;
}

/* Our children from before the command: what the shell that exec'd us had
 * started (Xvfb & exec fakebuild make) is none of the session's. */
static struct fb_proc *before;
static size_t nbefore;

static void note_children_before(void)
{
	if (!have_children())
		return;
	struct fb_proc *all;
	ssize_t n = fb_procs(&all);
	for (ssize_t i = 0; i < n; i++)
		if (all[i].ppid == getpid())
			all[nbefore++] = all[i];
	before = all;
}

static int was_before(const struct fb_proc *p)
{
	for (size_t i = 0; i < nbefore; i++)
		if (before[i].pid == p->pid && before[i].start == p->start)
			return 1;
	return 0;
}

/*
 * Processes of the session still running after the command exited: those
 * in the command's process group PGID, or, with PGID 0 (the command ran
 * in the terminal's job), our children and their descendants: as the
 * session's subreaper we inherit every process it orphaned, a daemon's
 * too.  Listed if REPORT, sent SIG if not 0; returns how many.
 */
static int leftovers(pid_t pgid, int report, int sig)
{
	/* The common case, nobody left, costs one system call. */
	if (pgid ? kill(-pgid, 0) < 0 && errno == ESRCH : !have_children())
		return 0;
	struct fb_proc *p;
	ssize_t n = fb_procs(&p);
	for (ssize_t i = 0; i < n; i++)
		p[i].ours = pgid ? p[i].pgrp == pgid : p[i].ppid == getpid() && !was_before(&p[i]);
	for (int more = !pgid; more;) {
		more = 0;
		for (ssize_t i = 0; i < n; i++)
			for (ssize_t j = 0; j < n && !p[i].ours; j++)
				if (p[j].ours && p[i].ppid == p[j].pid)
					p[i].ours = more = 1;
	}
	int left = 0;
	for (ssize_t i = 0; i < n; i++) {
		if (!p[i].ours || p[i].state == 'Z')
			continue;
		if (report)
			warnx_("still running after the command ended: pid %ld (%s)", (long)p[i].pid,
			       p[i].comm);
		if (sig)
			kill(p[i].pid, sig);
		left++;
	}
	free(p);
	return left;
}

/* --kill: SIGTERM to what is left (see leftovers), a second, then SIGKILL;
 * as subreaper, SIGKILL again to what that orphaned, until none is left. */
static void kill_left(pid_t pgid)
{
	if (pgid ? kill(-pgid, SIGTERM) < 0 : !leftovers(0, 0, SIGTERM))
		return;
	for (int i = 0; i < 50 && leftovers(pgid, 0, 0); i++)
		usleep(20000);
	if (pgid) {
		kill(-pgid, SIGKILL);
		return;
	}
	for (int i = 0; i < 100 && leftovers(0, 0, SIGKILL); i++)
		usleep(10000);
}

/*
 * A copy of FD at descriptor WANT or above (close-on-exec if CLOEXEC), or
 * under a lower ulimit -n the top free one: out of the way of programs
 * that expect small numbers.  -1 with errno set.
 */
int fb_dup_high(int fd, int want, int cloexec)
{
	const int cmd = cloexec ? F_DUPFD_CLOEXEC : F_DUPFD;
	int high = fcntl(fd, cmd, want);
	struct rlimit nofile;
	if (high < 0 && errno == EINVAL && getrlimit(RLIMIT_NOFILE, &nofile) == 0)
		for (rlim_t n = nofile.rlim_cur; high < 0 && n-- > (rlim_t)fd + 1;)
			high = fcntl(fd, cmd, (int)n);
	return high;
}

/*
 * Leave the live table open for the session on a high descriptor (900),
 * named with its identity in FAKEBUILD_TABLE_FD: every process then maps
 * it with fstat and mmap instead of opening it by name (see
 * preload/init.c), also one that has used up its descriptors by then.
 * Opened here, inherited by the command; the caller closes it once the
 * command runs.  Failing here only costs that speed.  Returns it or -1.
 */
int pass_table(void)
{
	const char *path = getenv("FAKEBUILD_TABLE");
	int fd = path ? open(path, O_RDWR | O_NOFOLLOW) : -1;
	if (fd < 0)
		return -1;
	int high = fb_dup_high(fd, 900, 0);
	close(fd);
	struct stat st;
	if (high < 0 || fstat(high, &st) < 0) {
		if (high >= 0)
			close(high);
		return -1;
	}
	char v[96];
	snprintf(v, sizeof v, "%d:%llu:%llu", high, (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("FAKEBUILD_TABLE_FD", v, 1);
	return high;
}

/*
 * Start ARGV, in a process group of its own if OWN_GROUP; an exec
 * failure's errno goes to PFD[1].  A dynamic command (the rule) is
 * started with vfork: the child shares our memory until it execs, so
 * neither process copies a page, and it makes only system calls
 * (execvp's search allocates nothing).  A static one goes through the
 * library's exec, with fork (exec_cmd).
 */
static pid_t start(char **argv, int own_group, const int pfd[2])
{
	int is_static = static_cmd(argv[0]);
	pid_t pid = is_static ? fork() : vfork();
	if (pid != 0)
		return pid;
	if (own_group)
		setpgid(0, 0);
	if (!fb_xfsz_ignored)
		signal(SIGXFSZ, SIG_DFL);
	close(pfd[0]);
	if (is_static)
		exec_cmd(argv);
	else
		execvp(argv[0], argv);
	int e = exec_errno(argv[0], errno);
	ssize_t w = write(pfd[1], &e, sizeof e);
	(void)w;
	_exit(127);
}

/* Is a standard descriptor our controlling terminal (we are a job of an
 * interactive shell, in the foreground or not)?  Then the command is run
 * in the job, not in a group of its own, so that the shell's job control
 * (^Z, fg, bg, also of a job started with &) and the other stages of a
 * pipeline work as without us. */
int fb_in_terminal_job(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (tcgetpgrp(fd) >= 0)
			return 1;
	return 0;
}

/*
 * Run ARGV; returns the shell-style exit status.  In a terminal's job the
 * command stays in the job (fb_in_terminal_job), and we find what it
 * leaves running as the subreaper of its orphans.  Elsewhere it runs in a
 * process group of its own, which we signal and look for leftovers in.
 */
static int run(char **argv, int do_kill, int quiet, int *left)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	int in_job = fb_in_terminal_job();
	if (in_job && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		in_job = 0;
	if (in_job)
		note_children_before();
	int table_fd = pass_table();
	pid_t pid = start(argv, !in_job, pfd);
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (table_fd >= 0)
		close(table_fd);
	if (in_job) {
		child_pid = pid;
	} else {
		setpgid(pid, pid);
		child_pgid = pid;
	}
	struct sigaction sa = { .sa_sigaction = forward, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		/* One that came in ignored (nohup's SIGHUP) stays ignored, as
		 * by the command, which inherited that; but SIGINT and SIGQUIT,
		 * which a script's background job comes with, are passed on
		 * (to a command that may have set its own). */
		struct sigaction old;
		if (sigs[i] == SIGINT || sigs[i] == SIGQUIT || sigaction(sigs[i], NULL, &old) < 0 ||
		    old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
	close(pfd[1]);
	int e = 0;
	ssize_t got = read(pfd[0], &e, sizeof e);
	close(pfd[0]);
	int status;
	pid_t w;
	/* Orphans of the session that end meanwhile are ours to reap. */
	while ((w = waitpid(in_job ? -1 : pid, &status, 0)) != pid)
		if (w < 0 && errno != EINTR)
			die("waitpid: %s", strerror(errno));
	child_pid = 0;
	if (got == (ssize_t)sizeof e) {
		warnx_("%s: %s", argv[0], strerror(e));
		return e == ENOENT ? 127 : 126;
	}
	pid_t pgid = in_job ? 0 : pid;
	if (do_kill) {
		kill_left(pgid);
	} else {
		/* A child that ends just after the command (rsync's receiver,
		 * a pipeline's last stage) is not left over: a moment for it. */
		for (int i = 0; i < 20 && leftovers(pgid, 0, 0); i++)
			usleep(5000);
		*left = leftovers(pgid, !quiet, 0);
	}
	if (WIFSIGNALED(status)) {
		*fb_command_signal = WTERMSIG(status);
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}

static int no_signal;
int *fb_command_signal = &no_signal;
int fb_xfsz_ignored;

/*
 * The exit status STATUS of a command that a signal killed: end by that
 * signal too, once everything is saved and removed, as the shell's
 * ^C of a loop (for p in ...; do fakebuild make; done) expects of every
 * command: bash goes on with a loop whose command exited 130, taking it
 * for one that handled the ^C, and stops it for one the ^C killed.  No
 * core dump of ours.  Returns STATUS when the command exited, or when
 * something after it failed and STATUS says that.
 */
int fb_end_like_command(int status)
{
	int sig = *fb_command_signal;
	if (!sig || status != 128 + sig)
		return status;
	fflush(NULL);
	/* No core file, nor one for a core_pattern pipe (systemd-coredump):
	 * the command's crash is no crash of ours. */
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0);
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	return status;	/* a signal whose default is not to end a process */
}

/* Is LIB fakeroot's own library (libfakeroot-sysv.so, ...)?  Its callers
 * name it with -l beside -f faked (its test suite does): both go unused. */
static int fakeroot_lib(const char *lib)
{
	const char *base = strrchr(lib, '/');
	return strncmp(base ? base + 1 : lib, "libfakeroot", 11) == 0;
}

/* Is the table FAKEBUILD_TABLE names one a process can join? */
static int session_table_usable(void)
{
	struct fb_table *t;
	if (fb_table_attach(getenv("FAKEBUILD_TABLE"), &t) < 0)
		return 0;
	fb_table_detach(t);
	return 1;
}

/*
 * Inside a session already: join it by running the command directly, as
 * fake root again, whatever ids the caller took (a build user running
 * dpkg-buildpackage -rfakebuild, as sbuild does with fakeroot): the
 * command starts with the ids, groups and capabilities of root.
 */
static int nested(char **argv)
{
	/* Set, not unset: the library's exec puts back what a program lacks. */
	setenv("FAKEBUILD_IDS", "0:0:0:0:0:0:0:0", 1);
	setenv("FAKEBUILD_GROUPS", "0", 1);
	if (!fb_xfsz_ignored)
		signal(SIGXFSZ, SIG_DFL);
	execvp(argv[0], argv);
	int e = exec_errno(argv[0], errno);
	warnx_("%s: %s", argv[0], strerror(e));
	return e == ENOENT ? 127 : 126;
}

/*
 * Never faked: run inside a session (--export, --gc and --check of its
 * database, a nested session), this program must see the disk, or it
 * takes a device's placeholder for a device, its record for stale, and
 * --gc drops it.  The preload library looks for this symbol (exported
 * by the link, GNUmakefile) and stays out of a process that has it.
 */
__attribute__((visibility("default"), used)) const int fakebuild_unfaked = 1;

/* May files be made beside DB (its lock, its live table)? */
static int dir_writable(const char *db)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", db);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	return access(slash ? dir : ".", W_OK | X_OK) == 0 || errno == ENOENT;
}

/*
 * --export of a database in a directory we may not write (a read-only
 * cache, another user's tree): no session can run on it, so its file
 * holds everything; read it into a private table, and write nothing.
 */
static int export_read_only(const char *db, const char *dir, int unknown_is_real)
{
	struct fb_err err = { { 0 } };
	struct fb_dbview *v;
	if (fb_dbview_open(db, FB_DBVIEW_UNFAKED, &v, &err) < 0)
		die("%s", err.msg);
	int status = fb_export(fb_dbview_table(v), dir, unknown_is_real);
	fb_dbview_close(v);
	return status;
}

/* The long name of the option OPTS gives value MODE. */
static const char *mode_name(const struct option *opts, int mode)
{
	for (; opts->name; opts++)
		if (opts->val == mode)
			return opts->name;
	return "?";
}

int main(int argc, char **argv)
{
	enum { OPT_KILL = 256, OPT_EXPORT, OPT_CHECK, OPT_GC, OPT_DBPATH, OPT_PASSWD, OPT_GROUP, OPT_SYSROOT, OPT_ROOT };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "unknown-is-real", no_argument, NULL, 'u' },
		{ "lib", required_argument, NULL, 'l' },
		{ "faked", required_argument, NULL, 'f' },
		{ "fd-base", required_argument, NULL, 'b' },
		{ "kill", no_argument, NULL, OPT_KILL },
		{ "export", no_argument, NULL, OPT_EXPORT },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "gc", no_argument, NULL, OPT_GC },
		{ "db-path", no_argument, NULL, OPT_DBPATH },
		{ "passwd", required_argument, NULL, OPT_PASSWD },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "bind", required_argument, NULL, OPT_ROOT },
		{ "ro-bind", required_argument, NULL, OPT_ROOT },
		{ "overlay", required_argument, NULL, OPT_ROOT },
		{ "upper", required_argument, NULL, OPT_ROOT },
		{ "keep", required_argument, NULL, OPT_ROOT },
		{ "changes", required_argument, NULL, OPT_ROOT },
		{ "net", no_argument, NULL, OPT_ROOT },
		{ "limit", required_argument, NULL, OPT_ROOT },
		{ NULL, 0, NULL, 0 },
	};
	/* A file of ours past ulimit -f (the live table, the database, a
	 * root's unpacked base or --keep archive) fails with EFBIG, which is
	 * reported and cleaned up after, instead of killing us half-way. */
	struct sigaction xfsz;
	fb_xfsz_ignored = sigaction(SIGXFSZ, NULL, &xfsz) == 0 && xfsz.sa_handler == SIG_IGN;
	signal(SIGXFSZ, SIG_IGN);
	static struct fb_root root;
	fb_root_init(&root);
	const char *dbopt = NULL, *libopt = NULL, *loadfile = NULL, *savefile = NULL;
	const char *passwd = NULL, *group = NULL, *sysroot = NULL;
	int unknown_is_real = 0, do_kill = 0, quiet = 0, mode = 0;
	int c, li = 0;
	/* '+': options end at the command's name, as for env(1). */
	while ((c = getopt_long(argc, argv, "+d:ul:i:s:f:b:qhv", opts, &li)) != -1) {
		switch (c) {
		case 'd': dbopt = optarg; break;
		case 'u': unknown_is_real = 1; break;
		case 'l':
			if (!fakeroot_lib(optarg))
				libopt = optarg;
			break;
		case 'i': loadfile = optarg; break;
		case 's': savefile = optarg; break;
		case 'f': case 'b': break;	/* fakeroot's daemon and its descriptors: no daemon */
		case 'q': quiet = 1; break;
		case OPT_KILL: do_kill = 1; break;
		case OPT_EXPORT: case OPT_CHECK: case OPT_GC: case OPT_DBPATH:
			if (mode && mode != c)
				die("--%s and --%s cannot be combined", mode_name(opts, mode), opts[li].name);
			mode = c;
			break;
		case OPT_PASSWD: passwd = optarg; break;
		case OPT_GROUP: group = optarg; break;
		case OPT_SYSROOT: sysroot = optarg; break;
		case OPT_ROOT: fb_root_option(&root, opts[li].name, optarg); break;
		case 'h': usage(stdout); return 0;
		case 'v': printf("fakebuild %s\n", FB_VERSION); return 0;
		default: usage(stderr); return 1;
		}
	}
	char *shell_argv[2];
	char **cmd = argv + optind;
	if (mode == 0 && optind >= argc) {
		const char *sh = getenv("SHELL");
		shell_argv[0] = (char *)(sh && *sh ? sh : "/bin/sh");
		shell_argv[1] = NULL;
		cmd = shell_argv;
	}
	if (mode != 0 && argc - optind > (mode == OPT_EXPORT)) {
		warnx_("%s: %s", mode == OPT_EXPORT ? "--export takes one directory" :
		       "--check, --gc and --db-path take no operand", argv[optind + (mode == OPT_EXPORT)]);
		usage(stderr);
		return 1;
	}
	if ((mode == OPT_CHECK || mode == OPT_DBPATH) && (loadfile || savefile))
		die("-i and -s do not apply to --%s", mode_name(opts, mode));
	int rooted = root.nlayers > 0;
	if (!rooted && (root.nm || root.upper || root.keep || root.changes || root.net || root.nlim))
		die("--bind, --ro-bind, --overlay, --upper, --keep, --changes, --net and --limit "
		    "need --root BASE");
	if (rooted && (mode != 0 || loadfile || savefile))
		die("--root cannot be combined with -i, -s, --export, --check, --gc or --db-path");
	if ((passwd || group || sysroot) && mode != 0)
		die("--passwd, --group and --sysroot apply to a command, not to --export, --check, --gc "
		    "or --db-path");
	/* Inside a root, names come from the root's own etc/passwd and etc/group. */
	if ((passwd || group || sysroot) && rooted)
		die("--passwd, --group and --sysroot name host files: inside --root the root's own "
		    "etc/passwd and etc/group are used");
	uint64_t cap;
	const char *capv = getenv("FAKEBUILD_CAPACITY");
	if (fb_table_capacity(capv, &cap) < 0)
		die("FAKEBUILD_CAPACITY=%s: expected " FB_TABLE_CAPACITY_RULE, capv);
	if (mode == 0)
		fb_names_setup(passwd, group, sysroot);
	if (!rooted && mode == 0 && getenv("FAKEBUILD_TABLE") && !dbopt && !loadfile && !savefile) {
		if (session_table_usable())
			return nested(cmd);
		/* A shell (tmux, screen) left from an ended session: its
		 * command would run unfaked, silently. */
		warnx_("warning: FAKEBUILD_TABLE=%s is no session's table any more (it ended); "
		       "starting a new session", getenv("FAKEBUILD_TABLE"));
	}

	struct fb_err err = { { 0 } };
	char db[PATH_MAX];
	if (fb_db_path(dbopt, db, sizeof db, &err) < 0)
		die("%s", err.msg);
	if (mode == OPT_CHECK)
		return fb_check(db);
	if (mode == OPT_DBPATH) {
		if (printf("%s\n", db) < 0 || fflush(stdout) != 0)
			die("standard output: %s", strerror(errno));
		return 0;
	}

	char lib[PATH_MAX];
	if (mode == 0) {
		find_lib(libopt, lib, sizeof lib);
		multilib(lib, sizeof lib);
	}
	if (rooted) {
		root.lib = lib;
		root.db = db;
		root.unknown_is_real = unknown_is_real;
		root.quiet = quiet;
		root.default_shell = cmd == shell_argv;
		int status = fb_root_run(&root, cmd);
		if (fb_root_interrupted && status == 128 + fb_root_interrupted)
			*fb_command_signal = fb_root_interrupted;	/* before the command ran */
		return fb_end_like_command(status);
	}
	if (mode == OPT_EXPORT && !dir_writable(db))
		return export_read_only(db, optind < argc ? argv[optind] : ".", unknown_is_real);
	struct fb_session *s;
	if (fb_session_join(db, 0, &s, &err) < 0)
		die("%s", err.msg);
	struct stat lst;
	if (loadfile && lstat(loadfile, &lst) < 0 && errno == ENOENT) {
		/* A script's first run, -i F -s F: fakeroot goes on too. */
		warnx_("%s: -i: no such file; nothing loaded", loadfile);
		loadfile = NULL;
	}
	int fr_save = loadfile && fb_is_fakeroot_save(loadfile);
	if (loadfile && (fr_save ? fb_load_fakeroot_save(loadfile, fb_session_table(s), &err)
				 : fb_store_load(loadfile, fb_session_table(s), &err)) < 0) {
		/* -i takes either: a file that is neither says so. */
		struct stat ist;
		if (!fr_save && stat(loadfile, &ist) == 0 && S_ISREG(ist.st_mode) && ist.st_size > 0 &&
		    !fb_store_gdbm_magic(loadfile))
			warnx_("%s: -i: neither a fakebuild database nor a save of fakeroot -s", loadfile);
		else
			warnx_("%s", err.msg);
		fb_session_leave(s, &err);
		return 1;
	}
	int status;
	if (mode == OPT_GC) {
		long kept = 0, unknown = 0;
		long n = fb_table_gc(fb_session_table(s), &kept, &unknown);
		if (n < 0) {
			warnx_("%s: --gc: %s", db, strerror((int)-n));
			status = 1;
		} else {
			printf("%ld records dropped (no file at their recorded path), %ld kept", n, kept);
			if (unknown)
				printf(", %ld kept without a path to check", unknown);
			printf("\n");
			status = 0;
		}
	} else if (mode == OPT_EXPORT) {
		status = fb_export(fb_session_table(s), optind < argc ? argv[optind] : ".", unknown_is_real);
	} else {
		host_overlays();
		setup_env(lib, db, fb_session_table_path(s), unknown_is_real);
		int left = 0;
		status = run(cmd, do_kill, quiet, &left);
		if (left)
			fb_session_keep_table(s);
	}
	if (savefile && fb_store_save_copy(savefile, fb_session_table(s), &err) < 0) {
		warnx_("%s", err.msg);
		status = status ? status : 1;
	}
	int remade = fb_session_remake_dir(s, &err);
	if (remade < 0)
		warnx_("%s", err.msg);
	else if (remade)
		warnx_("%s: its directory was removed during the session: made again, to save the "
		       "session's records", db);
	int left = fb_session_leave(s, &err);
	if (left < 0) {
		warnx_("%s", err.msg);
		status = status ? status : 1;
	} else if (left > 0 && !quiet) {
		warnx_("%s.live: processes of a killed session still write to it: it stays for the "
		       "next session to merge", db);
	}
	return fb_end_like_command(status);
}
