/*
 * init.c - session state, the lazy mapping of the live table, real symbol
 * lookup and diagnostics.  Nothing happens at load time: the environment
 * is read on the first wrapped call and the table mapped on the first
 * call that needs it, so a process that never stats costs nothing.
 */
#include <dlfcn.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fb.h"

__thread int fb_guard;
struct fb_state fb = { .active = -1 };

static struct fb_table *table;
/* 0 not tried, 1 mapping, 2 mapped, 3 failed */
static int table_state;

void fb_init(void)
{
	const char *t = getenv("FAKEBUILD_TABLE");
	const char *u = getenv("FAKEBUILD_UNKNOWN_IS_REAL");
	const char *d = getenv("FAKEBUILD_DEBUG");
	fb.unknown_is_real = u && *u == '1';
	fb.debug = d ? atoi(d) : 0;
	__atomic_store_n(&fb.active, t && *t ? 1 : 0, __ATOMIC_RELEASE);
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
	int fd;
	unsigned long long dev, ino;
	if (!v || sscanf(v, "%d:%llu:%llu", &fd, &dev, &ino) != 3 || fd < 0)
		return -ENOENT;
	return fb_table_attach_fd(fd, dev, ino, t);
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
	fb_guard++;
	const char *path = getenv("FAKEBUILD_TABLE");
	struct fb_table *t = NULL;
	int rc = inherited(&t);
	if (rc < 0)
		rc = path ? fb_table_attach(path, &t) : -ENOENT;
	fb_guard--;
	if (rc < 0) {
		fb_warn("cannot map the live table %s: %s; ownership changes will fail",
			path ? path : "(FAKEBUILD_TABLE unset)", strerror(-rc));
		__atomic_store_n(&table_state, 3, __ATOMIC_RELEASE);
		return NULL;
	}
	table = t;
	__atomic_store_n(&table_state, 2, __ATOMIC_RELEASE);
	return t;
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
