/*
 * spawn.c - the files posix_spawn's file actions open.  The C library
 * opens them itself, in the child, past every wrapper: a file such an
 * action creates would get its mode on disk as asked (a set-id bit, or
 * none for its owner) and no record, and one it truncates would keep a
 * faked capability.  So posix_spawn_file_actions_addopen is wrapped: an
 * action that may create a file needing a record gets the mode that
 * keeps its owner able to use it (as open.c's creations do), and every
 * creating or truncating action is noted against its actions object;
 * exec.c's posix_spawn asks, before and after the spawn, which files
 * those actions made or truncated (spawn_before, spawn_after), and
 * records or drops what open would have.  Core: none; a list under a
 * mutex, only for actions that create or truncate.
 *
 * An action after a change of directory in the same object
 * (addchdir_np, addfchdir_np) with a relative path opens where we cannot
 * tell: it is passed through as it came.
 */
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fb.h"

struct action {
	struct action *next;
	const posix_spawn_file_actions_t *fa;
	int chdir;		/* a change of directory, not an open */
	int flags;
	mode_t mode;
	int existed;		/* set by fb_spawn_before */
	char path[];
};

static struct action *actions;
static pthread_mutex_t actions_lock = PTHREAD_MUTEX_INITIALIZER;

static void note(const posix_spawn_file_actions_t *fa, int chdir, const char *path, int flags, mode_t mode)
{
	size_t n = path ? strlen(path) + 1 : 1;
	struct action *a = malloc(sizeof *a + n);
	if (!a)
		return;
	*a = (struct action){ .fa = fa, .chdir = chdir, .flags = flags, .mode = mode };
	memcpy(a->path, path ? path : "", n);
	pthread_mutex_lock(&actions_lock);
	struct action **end = &actions;
	while (*end)
		end = &(*end)->next;
	*end = a;
	pthread_mutex_unlock(&actions_lock);
}

/* Forget FA's actions (it is destroyed, or made anew). */
static void forget(const posix_spawn_file_actions_t *fa)
{
	pthread_mutex_lock(&actions_lock);
	for (struct action **p = &actions; *p;) {
		struct action *a = *p;
		if (a->fa == fa) {
			*p = a->next;
			free(a);
		} else {
			p = &a->next;
		}
	}
	pthread_mutex_unlock(&actions_lock);
}

/* Has FA a change of directory noted? */
static int moves(const posix_spawn_file_actions_t *fa)
{
	int found = 0;
	pthread_mutex_lock(&actions_lock);
	for (struct action *a = actions; a && !found; a = a->next)
		found = a->fa == fa && a->chdir;
	pthread_mutex_unlock(&actions_lock);
	return found;
}

FB_EXPORT int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path,
					       int flags, mode_t mode)
{
	FB_REAL(posix_spawn_file_actions_addopen);
	if (!real_posix_spawn_file_actions_addopen)
		return ENOSYS;
	const int creates = (flags & O_CREAT) != 0, truncates = (flags & (O_TRUNC | O_PATH)) == O_TRUNC;
	if (!fb_enter() || !(creates || truncates) || (path[0] != '/' && moves(fa)))
		return real_posix_spawn_file_actions_addopen(fa, fd, path, flags, mode);
	const int record = creates && fb_open_needs_record(flags, mode);
	int rc = real_posix_spawn_file_actions_addopen(fa, fd, path, flags,
						       record ? fb_disk_mode(S_IFREG, mode) : mode);
	if (rc == 0 && (record || truncates))
		note(fa, 0, path, record ? flags : flags & ~O_CREAT, mode);
	return rc;
}

#define CHDIR_WRAPPER(fn, type, arg)                                      \
	FB_EXPORT int fn(posix_spawn_file_actions_t *fa, type arg)        \
	{                                                                 \
		FB_REAL(fn);                                              \
		if (!real_##fn)                                           \
			return ENOSYS;                                    \
		int rc = real_##fn(fa, arg);                              \
		if (rc == 0 && fb_enter())                                \
			note(fa, 1, NULL, 0, 0);                          \
		return rc;                                                \
	}

CHDIR_WRAPPER(posix_spawn_file_actions_addchdir_np, const char *, path)
CHDIR_WRAPPER(posix_spawn_file_actions_addfchdir_np, int, fd)

/* A new or destroyed actions object: its notes go. */
#define FORGET_WRAPPER(fn)                                                \
	FB_EXPORT int fn(posix_spawn_file_actions_t *fa)                  \
	{                                                                 \
		FB_REAL(fn);                                              \
		if (!real_##fn)                                           \
			return ENOSYS;                                    \
		if (__atomic_load_n(&actions, __ATOMIC_RELAXED))          \
			forget(fa);                                       \
		return real_##fn(fa);                                     \
	}

FORGET_WRAPPER(posix_spawn_file_actions_init)
FORGET_WRAPPER(posix_spawn_file_actions_destroy)

void fb_spawn_before(const posix_spawn_file_actions_t *fa)
{
	if (!fa || !__atomic_load_n(&actions, __ATOMIC_RELAXED))
		return;
	int saved = errno;
	pthread_mutex_lock(&actions_lock);
	for (struct action *a = actions; a; a = a->next) {
		struct statx x;
		if (a->fa == fa && !a->chdir)
			a->existed = fb_sys_statx(AT_FDCWD, a->path, 0, STATX_TYPE, &x) == 0;
	}
	pthread_mutex_unlock(&actions_lock);
	errno = saved;
}

void fb_spawn_after(const posix_spawn_file_actions_t *fa)
{
	if (!fa || !__atomic_load_n(&actions, __ATOMIC_RELAXED))
		return;
	int saved = errno;
	pthread_mutex_lock(&actions_lock);
	for (struct action *a = actions; a; a = a->next) {
		if (a->fa != fa || a->chdir)
			continue;
		if (a->existed) {
			if (a->flags & O_TRUNC)
				fb_xattr_truncated(AT_FDCWD, a->path, -1);
			continue;
		}
		if (!(a->flags & O_CREAT))
			continue;
		fb_guard++;
		int fd = open(a->path, O_PATH | O_CLOEXEC | (a->flags & O_NOFOLLOW));
		fb_guard--;
		if (fd < 0)
			continue;	/* not made, or gone already */
		fb_record_created(fd, AT_FDCWD, a->path, a->mode);
		fb_guard++;
		close(fd);
		fb_guard--;
	}
	pthread_mutex_unlock(&actions_lock);
	errno = saved;
}
