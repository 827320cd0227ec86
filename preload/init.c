/*
 * init.c - session state, the lazy mapping of the live table, real symbol
 * lookup and diagnostics.  Nothing happens at load time: the environment
 * is read on the first wrapped call and the table mapped on the first
 * call that needs it, so a process that never stats costs nothing.
 */
#include <dlfcn.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fb.h"

__thread int fb_guard;
struct fb_state fb = { .active = -1, .umask = -1 };

static struct fb_table *table;
/* 0 not tried, 1 mapping, 2 mapped, 3 failed */
static int table_state;

/* Defined by the fakebuild program alone (tools/fakebuild/main.c). */
extern const int fakebuild_unfaked __attribute__((weak));

/* Whose memory this is, known at load: a vfork child's first wrapped
 * call may come before its parent's. */
__attribute__((constructor)) static void own_pid(void)
{
	fb.pid = getpid();
}

/* A fork child's memory is its own.  (Not a pthread_atfork handler: its
 * registration would cost every process, not only those that fork.) */
FB_EXPORT pid_t fork(void)
{
	FB_REAL(fork);
	if (!real_fork) {
		errno = ENOSYS;
		return -1;
	}
	pid_t pid = real_fork();
	if (pid == 0)
		__atomic_store_n(&fb.pid, getpid(), __ATOMIC_RELAXED);
	return pid;
}

/* The umask, asked of the kernel (umask(2) cannot only read it); kept
 * unless this is a vfork child, whose umask is not its memory's. */
mode_t fb_umask_read(void)
{
	FB_REAL(umask);
	if (!real_umask)
		return 022;
	mode_t um = real_umask(022);
	real_umask(um);
	if (!fb_in_vfork_child())
		__atomic_store_n(&fb.umask, (int)(um & 0777), __ATOMIC_RELAXED);
	return um & 0777;
}

void fb_init(void)
{
	const char *t = getenv("FAKEBUILD_TABLE");
	const char *u = getenv("FAKEBUILD_UNKNOWN_IS_REAL");
	const char *d = getenv("FAKEBUILD_DEBUG");
	const char *m = getenv("FAKEBUILD_DEVMAP");
	fb.unknown_is_real = u && *u == '1';
	/* The umask, for fb_new_mode_odd: read here, on the process's first
	 * wrapped call (single-threaded, as a rule), not on a file's creation,
	 * where another thread could create one in between; umask() keeps it. */
	fb_umask_read();
	fb.debug = d ? atoi(d) : 0;
	/* A build root's overlays (db/view.h), before anything is looked up. */
	if (m && fb_devmap_set(m) < 0)
		fb_warn("FAKEBUILD_DEVMAP=%s: not understood; files of the root's overlays "
			"will not show their recorded owners", m);
	/* fakebuild itself, run inside a session, sees the disk. */
	int self = &fakebuild_unfaked != NULL;
	__atomic_store_n(&fb.active, t && *t && !self ? 1 : 0, __ATOMIC_RELEASE);
}

/*
 * One unsigned decimal number at *SP, advancing past it; -1 if there is
 * none or it overflows.  Not strtoull or sscanf: the pages of their code
 * are page faults a process that never calls them would not pay.
 */
int fb_parse_ull(const char **sp, unsigned long long *out)
{
	const char *s = *sp;
	unsigned long long v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (~0ull - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*sp = s;
	return 0;
}

/* Exactly N numbers separated by SEP, nothing else; -1 otherwise. */
int fb_parse_ulls(const char *s, char sep, unsigned long long *v, int n)
{
	for (int i = 0; i < n; i++) {
		if (i > 0 && *s++ != sep)
			return -1;
		if (fb_parse_ull(&s, &v[i]) < 0)
			return -1;
	}
	return *s ? -1 : 0;
}

/*
 * The descriptor fakebuild leaves open on the table for the session
 * (FAKEBUILD_TABLE_FD=fd:dev:ino): mapping it costs two system calls
 * where opening by name costs four.  A program that closed it, or reused
 * the number, gets the table by name instead.
 */
static int inherited(struct fb_table **t)
{
	const char *v = getenv("FAKEBUILD_TABLE_FD");
	unsigned long long x[3];	/* fd, dev, ino */
	if (!v || fb_parse_ulls(v, ':', x, 3) < 0 || x[0] > INT_MAX)
		return -ENOENT;
	return fb_table_attach_fd((int)x[0], x[1], x[2], t);
}

/* Is there an address space limit (ulimit -v) for the table to fit under? */
static int address_space_limited(void)
{
	struct rlimit as;
	return getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY;
}

struct fb_table *fb_table(void)
{
	int st = __atomic_load_n(&table_state, __ATOMIC_ACQUIRE);
	if (__builtin_expect(st == 2, 1))
		return table;
	if (st == 3)
		return NULL;
	int zero = 0;
	if (!__atomic_compare_exchange_n(&table_state, &zero, 1, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		/* Another thread maps it.  If that "thread" is us (a signal
		 * handler interrupted the mapping), waiting would deadlock. */
		if (fb_guard)
			return NULL;
		while ((st = __atomic_load_n(&table_state, __ATOMIC_ACQUIRE)) == 1)
			sched_yield();
		return st == 2 ? table : NULL;
	}
	/* Mapping it is no failure of the caller's call: its errno is kept. */
	int saved = errno;
	fb_guard++;
	const char *path = getenv("FAKEBUILD_TABLE");
	struct fb_table *t = NULL;
	int rc = inherited(&t);
	/* The writer lock opens the table by name (db/wlock.c). */
	if (rc == 0 && path && fb_table_set_path(t, path) < 0) {
		fb_table_detach(t);
		rc = -ENOMEM;
	} else if (rc < 0)
		rc = path ? fb_table_attach(path, &t) : -ENOENT;
	fb_guard--;
	if (rc < 0) {
		const char *why = strerror(-rc);
		if (rc == -EPROTONOSUPPORT)
			why = "its layout is of another fakebuild version than this library "
			      "(a session of another version?)";
		else if (sizeof(void *) == 4 && (rc == -ENOMEM || rc == -EFBIG))
			why = "it is too large for a 32-bit process (lower FAKEBUILD_CAPACITY)";
		else if (rc == -ENOMEM && address_space_limited())
			why = "Cannot allocate memory (every process maps the whole table: an "
			      "address space limit, ulimit -v, must leave room for it, or the "
			      "session must start with a smaller FAKEBUILD_CAPACITY)";
		fb_warn("cannot map the live table %s: %s; ownership changes will fail",
			path ? path : "(FAKEBUILD_TABLE unset)", why);
		__atomic_store_n(&table_state, 3, __ATOMIC_RELEASE);
		errno = saved;
		return NULL;
	}
	table = t;
	__atomic_store_n(&table_state, 2, __ATOMIC_RELEASE);
	errno = saved;
	return t;
}

struct fb_table *fb_table_mapped(void)
{
	return __atomic_load_n(&table_state, __ATOMIC_ACQUIRE) == 2 ? table : NULL;
}

void *fb_real_sym(const char *name)
{
	fb_guard++;
	void *p = dlsym(RTLD_NEXT, name);
	fb_guard--;
	if (!p)
		fb_warn("%s: no such function in the C library; failing with ENOSYS", name);
	return p;
}

int fb_enosys(const char *name)
{
	(void)name;
	errno = ENOSYS;
	return -1;
}

/* Diagnostics go straight to fd 2 with write(2): async-signal-safe, no stdio state. */
static void emit(const char *prefix, const char *fmt, va_list ap)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "fakebuild: %s", prefix);
	if (n < 0)
		return;
	int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof buf - 2)
		len = sizeof buf - 2;
	buf[len++] = '\n';
	fb_guard++;
	ssize_t w = write(2, buf, len);
	(void)w;
	fb_guard--;
}

void fb_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

void fb_debug(int level, const char *fmt, ...)
{
	if (fb.debug < level)
		return;
	va_list ap;
	va_start(ap, fmt);
	char pfx[32];
	snprintf(pfx, sizeof pfx, "[%d] ", (int)getpid());
	emit(pfx, fmt, ap);
	va_end(ap);
}
