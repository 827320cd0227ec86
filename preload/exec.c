/*
 * exec.c - the exec family and posix_spawn.  Core: exec_prepare(), run
 * before every exec of the session, which
 *   1. warns once per program per session when the program is statically
 *      linked: no LD_PRELOAD reaches it, so its chown/stat are real;
 *   2. puts the session back into an environment that lost it (env -i,
 *      clearenv, a hand-made envp), so the child is still fake root.
 *
 * glibc's execvp, execl, ... reach execve through internal calls we cannot
 * interpose, so every public entry point has its own wrapper; each is a
 * forward to the core plus the real call.
 *
 * This runs in every exec of a build, possibly in a vfork child or after
 * fork in a threaded program: no malloc, no locks, the stack only.  The
 * common case (an intact environment, a dynamic program) costs one open,
 * one or two preads and a close.
 */
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exe.h"
#include "fb.h"

extern char **environ;

/* The session's variables.  LD_PRELOAD first, FAKEBUILD_LIB second: the
 * library path the session preloads is FAKEBUILD_LIB's value. */
enum { V_PRELOAD, V_LIB, V_TABLE, V_IDS = 5, V_GROUPS = 6, V_KEY = 7, V_ROOTKEY = 13, V_NVARS = 14 };
static const char *const var_name[V_NVARS] = {
	"LD_PRELOAD", "FAKEBUILD_LIB", "FAKEBUILD_TABLE", "FAKEBUILD_DB",
	"FAKEBUILD_UNKNOWN_IS_REAL", "FAKEBUILD_IDS", "FAKEBUILD_GROUPS", "FAKEROOTKEY",
	"FAKEBUILD_PASSWD_FILE", "FAKEBUILD_GROUP_FILE", "FAKEBUILD_DEVMAP", "FAKEBUILD_CHROOT",
	"FAKEBUILD_MNTNS", "FAKEBUILD_ROOTKEY",
};
/* "FAKEROOTKEY=" and FAKEBUILD_ROOTKEY's value: what a program that runs
 * as root again gets, after one that gave root up had it taken away. */
static char key_entry[80];
/*
 * "NAME=value" as this process saw them at load time, and a hash of each:
 * pointers into the strings the kernel put on the stack, which a program
 * may overwrite later (perl's $0 and setproctitle() reuse the argument and
 * environment area for the process title).  saved_entry() hands one out
 * only while its hash still matches.  Copies would cost every process a
 * page of memory, and such a page fault costs more than the exec check.
 */
static const char *saved[V_NVARS];
static uint64_t saved_hash[V_NVARS];

static uint64_t entry_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* Which session variable ENTRY ("NAME=value") is; -1 if none.  Cheap reject first. */
static int var_index(const char *entry)
{
	if (entry[0] != 'F' && entry[0] != 'L')
		return -1;
	for (int i = 0; i < V_NVARS; i++) {
		size_t n = strlen(var_name[i]);
		if (strncmp(entry, var_name[i], n) == 0 && entry[n] == '=')
			return i;
	}
	return -1;
}

static const char *value(const char *entry)
{
	return strchr(entry, '=') + 1;
}

/*
 * Captured at load, not on first use: `env -i` clears the environment
 * before it calls anything we wrap.  One pass over environ, pointers only:
 * glibc never frees environment strings (setenv keeps old values alive).
 */
__attribute__((constructor)) static void capture(void)
{
	for (char **e = environ; e && *e; e++) {
		int i = var_index(*e);
		if (i >= 0 && !saved[i]) {
			saved[i] = *e;
			saved_hash[i] = entry_hash(*e);
		}
	}
	if (saved[V_ROOTKEY])
		snprintf(key_entry, sizeof key_entry, "FAKEROOTKEY=%s", value(saved[V_ROOTKEY]));
}

/* The entry of variable I saved at load, if it is intact; else NULL. */
static const char *saved_entry(int i)
{
	const char *e = saved[i];
	return e && entry_hash(e) == saved_hash[i] ? e : NULL;
}

/*
 * "NAME=value" of session variable I: for the ids, what this process set
 * them to; else the current environment's, else the one saved at load if
 * intact; NULL if there is neither.  environ itself,
 * not getenv: bash has a getenv of its own that returns the value of a
 * shell variable, which is not part of a "NAME=value" string.
 */
static const char *session_entry(int i)
{
	/* The ids this process set win over an environment it cleared. */
	const char *live = i == V_IDS ? fb_id_entry(0) : i == V_GROUPS ? fb_id_entry(1) : NULL;
	if (live)
		return live;
	size_t n = strlen(var_name[i]);
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, var_name[i], n) == 0 && (*e)[n] == '=')
			return *e;
	const char *e = saved_entry(i);
	return e || i != V_KEY || !key_entry[0] ? e : key_entry;
}

/* The library the session preloads (FAKEBUILD_LIB), or NULL. */
static const char *session_lib(void)
{
	const char *e = session_entry(V_LIB);
	return e ? value(e) : NULL;
}

/* In a session, and not our own code calling exec. */
static int session(void)
{
	return saved[V_TABLE] && !fb_guard;
}

/* ---- static programs ---------------------------------------------------- */

/*
 * First time this session execs this program (by inode)?  A marker file
 * per program in $FAKEBUILD_TABLE.static, made with O_EXCL, answers it
 * across processes; the session's end removes the directory.
 */
static int first_time(const struct stat *st)
{
	char p[PATH_MAX];
	const char *table = session_entry(V_TABLE);
	if (!table)
		return 1;
	int n = snprintf(p, sizeof p, "%s.static", value(table));
	if (n < 0 || (size_t)n + 40 > sizeof p)
		return 1;
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return 1;
	snprintf(p + n, sizeof p - (size_t)n, "/%llx-%llx", (unsigned long long)st->st_dev,
		 (unsigned long long)st->st_ino);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno != EEXIST;
	close(fd);
	return 1;
}

/* Warn if DIRFD/PATH (or FD, when >= 0) is a static or Go program.  Called with fb_guard held. */
static void check_static_fd(int fd, int dirfd, const char *path)
{
	struct stat st;
	int kind = fb_elf_unfaked(fd);
	if (!kind || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	char abs[PATH_MAX];
	if (fb_path_hint(dirfd, path, abs, sizeof abs) < 0)
		snprintf(abs, sizeof abs, "%s", path);
	if (fb_elf_is_loader(abs))
		return;
	const char *q = getenv("FAKEBUILD_QUIET");
	if (q && *q == '1')
		return;
	if (!first_time(&st))
		return;
	if (kind == FB_ELF_GO)
		fb_warn("warning: %s is a Go program, which makes its system calls without the C "
			"library; its file operations are not faked", abs);
	else
		fb_warn("warning: %s is statically linked; its file operations are not faked", abs);
}

/*
 * Programs this process already checked: make execs the same few
 * programs thousands of times, and the check (a PATH search, an open, two
 * preads) would cost more than their start-up.  Direct-mapped by a hash
 * of the name, the PATH searched and, for relative names, the directory.
 */
#define CHECKED_SLOTS 64
static uint64_t checked[CHECKED_SLOTS];

static uint64_t name_key(const char *file, const char *search, int dirfd)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = file; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	for (const char *p = search ? search : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	if (file[0] != '/')
		h = (h ^ fb_fd_stamp(dirfd) ^ (uint64_t)(unsigned)dirfd) * 0x100000001b3ull;
	return h | 1;	/* never 0, the empty slot */
}

/* 1 if KEY was checked before; remembers it either way. */
static int seen(uint64_t key)
{
	uint64_t *slot = &checked[key % CHECKED_SLOTS];
	if (__atomic_load_n(slot, __ATOMIC_RELAXED) == key)
		return 1;
	__atomic_store_n(slot, key, __ATOMIC_RELAXED);
	return 0;
}

static void check_static(int dirfd, const char *path, int flags)
{
	if (path[0] && seen(name_key(path, NULL, dirfd)))
		return;
	int oflags = O_RDONLY | O_CLOEXEC;
	if (flags & AT_SYMLINK_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	if (!path[0] && (flags & AT_EMPTY_PATH)) {
		check_static_fd(dirfd, dirfd, "");
		return;
	}
	int fd = openat(dirfd, path, oflags);
	if (fd < 0)
		return;		/* unreadable (mode 111) or missing: exec will say */
	check_static_fd(fd, dirfd, path);
	close(fd);
}

/* The program execvp(FILE) will run, as glibc searches PATH: first executable candidate. */
static void check_static_path(const char *file)
{
	if (strchr(file, '/')) {
		check_static(AT_FDCWD, file, 0);
		return;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	if (seen(name_key(file, path, AT_FDCWD)))
		return;
	char cand[PATH_MAX];
	if (fb_exec_search(file, path, cand, sizeof cand) == 0)
		check_static(AT_FDCWD, cand, 0);
}

/*
 * qemu-user (qemu-i386-static [options] program [args]), which runs
 * foreign programs here, is itself static and exempt; the program it is
 * given is checked instead: a static one is no more faked under qemu.
 * Its options that take a value are skipped (qemu's own list); anything
 * else unknown ends the search, unwarned.
 */
static const char *qemu_program(const char *runs, char *const argv[])
{
	if (!fb_is_qemu_user(runs) || !argv || !argv[0])
		return NULL;
	static const char *const valued[] = { "g", "L", "s", "cpu", "E", "U", "0", "r", "B", "R",
					      "d", "dfilter", "D", "p", "seed", "trace", "plugin" };
	static const char *const flags[] = { "singlestep", "one-insn-per-tb", "strace" };
	for (size_t i = 1; argv[i]; i++) {
		const char *a = argv[i];
		if (a[0] != '-')
			return a;
		if (strcmp(a, "--") == 0)
			return argv[i + 1];
		a += a[1] == '-' ? 2 : 1;
		int known = 0;
		for (size_t k = 0; !known && k < sizeof valued / sizeof *valued; k++)
			if (strcmp(a, valued[k]) == 0) {
				known = 1;
				if (!argv[++i])
					return NULL;
			}
		for (size_t k = 0; !known && k < sizeof flags / sizeof *flags; k++)
			known = strcmp(a, flags[k]) == 0;
		if (!known)
			return NULL;
	}
	return NULL;
}

static void check_static_argv(const char *runs, char *const argv[])
{
	const char *guest = qemu_program(runs, argv);
	if (guest && guest[0])
		check_static(AT_FDCWD, guest, 0);
}

/* ---- the table's descriptor ------------------------------------------------ */

/*
 * fakebuild leaves the live table open for the session on a descriptor
 * named in FAKEBUILD_TABLE_FD ("fd:dev:ino"), so that a process maps it
 * without opening it by name (init.c).  apt marks every descriptor above 2
 * close-on-exec before it runs dpkg (and others close what they do not
 * know): dpkg then had to find the table by name, which inside a chroot
 * names nothing.  So an exec keeps that one descriptor open, if it is
 * still the table (device and inode compared).  One fcntl per exec; an
 * fstat and a second fcntl only when the flag was set.  A descriptor
 * closed outright stays closed.
 */
static void keep_table_fd(void)
{
	static const char name[] = "FAKEBUILD_TABLE_FD=";
	const char *v = NULL;
	for (char **e = environ; e && *e && !v; e++)
		if (strncmp(*e, name, sizeof name - 1) == 0)
			v = *e + sizeof name - 1;
	unsigned long long x[3];
	if (!v || fb_parse_ulls(v, ':', x, 3) < 0 || x[0] > INT_MAX)
		return;
	int fd = (int)x[0];
	int fl = fcntl(fd, F_GETFD);
	struct stat64 st;	/* a 32-bit process's fstat fails on large inode numbers */
	if (fl < 0 || !(fl & FD_CLOEXEC) || fstat64(fd, &st) < 0 || st.st_dev != x[1] || st.st_ino != x[2])
		return;
	fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
}

/* ---- the session in the child's environment ----------------------------- */

/* How many entries fixed_env() may need for ENVP: envp's own, ours, the NULL. */
static size_t env_room(char *const envp[])
{
	size_t n = 0;
	if (session())
		while (envp && envp[n])
			n++;
	return n + V_NVARS + 1;
}

/* LD_PRELOAD value lacking our library? */
static int preload_lacks(const char *entry)
{
	const char *lib = session_lib();
	if (!lib || !*lib)
		return 0;
	const char *v = value(entry);
	size_t ll = strlen(lib);
	for (const char *p = v; (p = strstr(p, lib)); p += ll)
		if ((p == v || p[-1] == ' ' || p[-1] == ':') && (!p[ll] || p[ll] == ' ' || p[ll] == ':'))
			return 0;
	return 1;
}

/*
 * An exec with LD_TRACE_LOADED_OBJECTS set (ldd) runs no program: the
 * loader lists the libraries and exits.  The list must be the program's,
 * as outside a session: convert-usrmerge copies every library `ldd
 * /bin/cp` names into /usr, initramfs-tools and dracut copy them into the
 * image.  So such an exec gets LD_PRELOAD without our library (in PRE),
 * instead of having it put back.  Returns ENVP when nothing is to drop.
 */
static char *const *traced_env(char *const envp[], char **out, char *pre, size_t prelen)
{
	const char *lib = session_lib();
	size_t ll = lib ? strlen(lib) : 0;
	size_t n = 0;
	for (size_t i = 0; envp[i]; i++) {
		if (var_index(envp[i]) != V_PRELOAD || !ll) {
			out[n++] = envp[i];
			continue;
		}
		/* Copy the entry's words except LIB (separated by spaces or colons). */
		size_t o = (size_t)snprintf(pre, prelen, "LD_PRELOAD=");
		for (const char *p = value(envp[i]); *p;) {
			size_t w = strcspn(p, " :");
			if (w && !(w == ll && memcmp(p, lib, ll) == 0) && o + w + 2 <= prelen) {
				if (pre[o - 1] != '=')
					pre[o++] = ' ';
				memcpy(pre + o, p, w);
				o += w;
			}
			p += w;
			p += strspn(p, " :");
		}
		pre[o] = 0;
		if (pre[o - 1] != '=')
			out[n++] = pre;
	}
	out[n] = NULL;
	return out;
}

static int traced(char *const envp[])
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (envp[i][0] == 'L' && strncmp(envp[i], "LD_TRACE_LOADED_OBJECTS=", 24) == 0)
			return 1;
	return 0;
}

/* The entry this process's own id changes published for variable V
 * (FAKEBUILD_IDS or FAKEBUILD_GROUPS), if it made any; and whether ENTRY,
 * when given, is that. */
static const char *live_ids(int v, const char *entry)
{
	const char *live = v == V_IDS ? fb_id_entry(0) : v == V_GROUPS ? fb_id_entry(1) : NULL;
	return live && (!entry || strcmp(entry, live) == 0) ? live : NULL;
}

/* Is ENTRY, of variable V, ids this process no longer has?  bash execs
 * with its own copy of the environment, taken before it changed its ids:
 * the child would get back what its parent gave up (setpriv --euid=2
 * bash -c id, whose bash drops its effective id to the real one). */
static int stale_ids(int v, const char *entry)
{
	return (v == V_IDS || v == V_GROUPS) && live_ids(v, NULL) && !live_ids(v, entry);
}

/* Is the effective uid in IDS ("FAKEBUILD_IDS=r:e:..."; NULL: none, so
 * root's) other than 0? */
static int ids_not_root(const char *ids)
{
	unsigned long long r, e;
	const char *s = ids ? value(ids) : NULL;
	return s && fb_parse_ull(&s, &r) == 0 && *s++ == ':' && fb_parse_ull(&s, &e) == 0 && e != 0;
}

/*
 * ENVP with the session variables it lacks put back (the current
 * environment's value first: setuid() updates FAKEBUILD_IDS, else the
 * value at load), in OUT (env_room(envp) entries); PRE holds a rebuilt
 * LD_PRELOAD entry (PRELEN bytes).  RESET, when given, is the
 * FAKEBUILD_IDS entry the new program gets whatever ENVP says.  Returns
 * ENVP itself when intact.
 */
static char *const *fixed_env(char *const envp[], char **out, char *pre, size_t prelen,
			      const char *reset)
{
	if (!session())
		return envp;
	if (traced(envp))
		return traced_env(envp, out, pre, prelen);
	int have[V_NVARS] = { 0 }, drop[V_NVARS] = { 0 };
	const char *old_pre = NULL, *ids = NULL, *key = NULL;
	int missing = 0;
	for (size_t i = 0; envp && envp[i]; i++) {
		int v = var_index(envp[i]);
		if (v < 0)
			continue;
		have[v] = 1;
		if (v == V_PRELOAD && preload_lacks(envp[i])) {
			old_pre = envp[i];
			missing = 1;
		}
		if (v == V_IDS)
			ids = envp[i];
		if (v == V_KEY)
			key = envp[i];
		if (stale_ids(v, envp[i]) || (v == V_IDS && reset))
			drop[v] = missing = 1;	/* replaced below by the ids this process has */
	}
	/*
	 * FAKEROOTKEY tells a program it runs as fakeroot's root: one that
	 * starts as another user (a build user, as under sbuild) gets none of
	 * the session's, so that it may run fakeroot itself (whose own key is
	 * left alone); one that starts as root again gets it back.
	 */
	if (reset)
		ids = reset;
	else if (!have[V_IDS] || drop[V_IDS])
		ids = session_entry(V_IDS);
	const int not_root = ids_not_root(ids) &&
			     (!key || (key_entry[0] && strcmp(key, key_entry) == 0));
	for (int v = 0; v < V_NVARS; v++) {
		if (v == V_KEY && not_root) {
			drop[v] = have[v];
			missing |= have[v];
			have[v] = 1;	/* and not put back */
			continue;
		}
		if (drop[v])
			have[v] = 0;
		if (!have[v] && (session_entry(v) || (v == V_IDS && reset)))
			missing = 1;
	}
	if (!missing)
		return envp;
	size_t n = 0;
	for (size_t i = 0; envp && envp[i]; i++) {
		int v = var_index(envp[i]);
		if (envp[i] != old_pre && !(v >= 0 && drop[v]))
			out[n++] = envp[i];
	}
	for (int v = 0; v < V_NVARS; v++) {
		if (v == V_PRELOAD)
			continue;
		const char *e = have[v] ? NULL : v == V_IDS && reset ? reset : session_entry(v);
		if (e)
			out[n++] = (char *)e;
	}
	if (old_pre || !have[V_PRELOAD]) {
		const char *lib = session_lib(), *sp;
		if (lib && old_pre && *value(old_pre))
			snprintf(pre, prelen, "LD_PRELOAD=%s %s", lib, value(old_pre));
		else if (lib)
			snprintf(pre, prelen, "LD_PRELOAD=%s", lib);
		else if ((sp = saved_entry(V_PRELOAD)))
			snprintf(pre, prelen, "%s", sp);
		else
			pre = NULL;
		if (pre)
			out[n++] = pre;
	}
	out[n] = NULL;
	return out;
}

/* Bytes a rebuilt LD_PRELOAD entry for ENVP may need. */
static size_t pre_room(char *const envp[])
{
	size_t n = 16;
	const char *lib = session_entry(V_LIB), *sp = saved_entry(V_PRELOAD);
	if (lib)
		n += strlen(lib);
	if (sp)
		n += strlen(sp);
	for (size_t i = 0; envp && envp[i]; i++)
		if (var_index(envp[i]) == V_PRELOAD)
			n += strlen(envp[i]);
	return n;
}

/* Room for fixed_env(), on the caller's stack (exec and vfork children
 * must not malloc); RESET as fixed_env's. */
#define FIXED_ENV_IDS(envp, result, reset)                                          \
	char *fb_envbuf_[env_room(envp)];                                           \
	char fb_prebuf_[session() ? pre_room(envp) : 1];                            \
	char *const *result = fixed_env((envp), fb_envbuf_, fb_prebuf_, sizeof fb_prebuf_, (reset))
#define FIXED_ENV(envp, result) FIXED_ENV_IDS(envp, result, NULL)

/* ---- entry points --------------------------------------------------------- */

#define FB_REAL_OR_ENOSYS(fn)               \
	FB_REAL(fn);                        \
	if (!real_##fn)                     \
		return fb_enosys(#fn)

FB_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	FB_REAL_OR_ENOSYS(execve);
	if (!session())
		return real_execve(path, argv, envp);
	fb_guard++;
	check_static(AT_FDCWD, path, 0);
	check_static_argv(path, argv);
	keep_table_fd();
	fb_guard--;
	/* A program may hand us a different envp than ours. */
	FIXED_ENV(envp, env);
	return real_execve(path, argv, env);
}

FB_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	FB_REAL_OR_ENOSYS(execveat);
	if (!session())
		return real_execveat(dirfd, path, argv, envp, flags);
	fb_guard++;
	check_static(dirfd, path, flags);
	check_static_argv(path, argv);
	keep_table_fd();
	fb_guard--;
	FIXED_ENV(envp, env);
	return real_execveat(dirfd, path, argv, env, flags);
}

FB_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	FB_REAL_OR_ENOSYS(fexecve);
	if (!session())
		return real_fexecve(fd, argv, envp);
	fb_guard++;
	check_static_fd(fd, fd, "");
	keep_table_fd();
	fb_guard--;
	FIXED_ENV(envp, env);
	return real_fexecve(fd, argv, env);
}

FB_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

FB_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	FB_REAL_OR_ENOSYS(execvpe);
	if (!session())
		return real_execvpe(file, argv, envp);
	fb_guard++;
	check_static_path(file);
	check_static_argv(file, argv);
	keep_table_fd();
	fb_guard--;
	FIXED_ENV(envp, env);
	return real_execvpe(file, argv, env);
}

FB_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* The execl family: the variadic list into an argv on the stack. */
#define VA_ARGV(first, ap, argv)                                          \
	size_t argc_ = 1;                                                 \
	va_start(ap, first);                                              \
	while (va_arg(ap, char *))                                        \
		argc_++;                                                  \
	va_end(ap);                                                       \
	char *argv[argc_ + 1];                                            \
	argv[0] = (char *)(first);                                        \
	va_start(ap, first);                                              \
	for (size_t i_ = 1; i_ <= argc_; i_++)                            \
		argv[i_] = va_arg(ap, char *)

FB_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	VA_ARGV(arg, ap, argv);
	va_end(ap);
	return execve(path, argv, environ);
}

FB_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	VA_ARGV(arg, ap, argv);
	va_end(ap);
	return execvpe(file, argv, environ);
}

FB_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	VA_ARGV(arg, ap, argv);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

/*
 * The ids a child of posix_spawn gets, or NULL for this process's: with
 * POSIX_SPAWN_RESETIDS, glibc's child sets its effective ids to the real
 * ones by raw system calls before its exec.  In BUF.
 */
static const char *spawn_ids(const posix_spawnattr_t *attr, char *buf, size_t len)
{
	short flags;
	if (!attr || posix_spawnattr_getflags(attr, &flags) != 0 || !(flags & POSIX_SPAWN_RESETIDS))
		return NULL;
	return fb_id_reset_entry(buf, len);
}

/* posix_spawn returns an error number, not -1 and errno. */
FB_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	FB_REAL(posix_spawn);
	if (!real_posix_spawn)
		return ENOSYS;
	if (!session())
		return real_posix_spawn(pid, path, fa, attr, argv, envp);
	fb_guard++;
	check_static(AT_FDCWD, path, 0);
	check_static_argv(path, argv);
	keep_table_fd();
	char ids[FB_IDS_ENTRY_MAX];
	const char *reset = spawn_ids(attr, ids, sizeof ids);
	fb_guard--;
	FIXED_ENV_IDS(envp, env, reset);
	fb_spawn_before(fa);
	int rc = real_posix_spawn(pid, path, fa, attr, argv, env);
	fb_spawn_after(fa);
	return rc;
}

FB_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	FB_REAL(posix_spawnp);
	if (!real_posix_spawnp)
		return ENOSYS;
	if (!session())
		return real_posix_spawnp(pid, file, fa, attr, argv, envp);
	fb_guard++;
	check_static_path(file);
	check_static_argv(file, argv);
	keep_table_fd();
	char ids[FB_IDS_ENTRY_MAX];
	const char *reset = spawn_ids(attr, ids, sizeof ids);
	fb_guard--;
	FIXED_ENV_IDS(envp, env, reset);
	fb_spawn_before(fa);
	int rc = real_posix_spawnp(pid, file, fa, attr, argv, env);
	fb_spawn_after(fa);
	return rc;
}
