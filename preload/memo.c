/*
 * memo.c - the last stat a program made by name, for its chmod or chown
 * of the same name right after.
 *
 * chmod -R (and every fts walk that changes files) stats an entry, then
 * changes it by the same name.  The change must know the inode it acts
 * on, which costs a statx of its own: a third of chmod -R's system calls
 * under a session.  The program's stat has just said which inode the name
 * holds, so the change takes the answer from here instead.
 *
 * An answer is used at most once, only by the thread that asked, only for
 * the same directory descriptor (while its stamp, fd.c, is unchanged) and
 * the same name, and only if nothing in this process has removed or
 * replaced a name since (unlink, rmdir, rename: fb_memo_drop), nor waited
 * for a child, which may have (system("strip f") between the stat and
 * the chmod: the wait family, system and pclose below).  Another process
 * that replaces the name in between, unawaited, wins the same race it
 * would win against the program itself, whose stat decided what to change.
 *
 * Only a process that changes files in bulk pays for remembering: the
 * memo is kept from its FB_MEMO_AFTER-th chown or chmod on, so a process
 * that changes one or two files (install) never touches its page.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fb.h"

#define FB_MEMO_AFTER 4

static struct {
	int busy;		/* try-lock: a thread or a handler that finds it taken skips */
	unsigned changes;	/* chown and chmod calls by name, up to FB_MEMO_AFTER */
	unsigned drops;		/* names removed or replaced by this process */
} memo_ctl;

static struct {
	const void *thread;	/* &fb_guard of the thread that asked */
	int dirfd, nofollow;
	unsigned drops;
	uint64_t stamp;
	size_t len;		/* 0: empty */
	struct statx stx;
	char name[256];
} memo FB_BSS_LATE(1);

void fb_memo_note(int dirfd, const char *path, int flags, const struct statx *stx)
{
	if (__atomic_load_n(&memo_ctl.changes, __ATOMIC_RELAXED) < FB_MEMO_AFTER ||
	    (flags & AT_EMPTY_PATH) || !path || !*path || !fb_trylock(&memo_ctl.busy))
		return;
	size_t len = strlen(path);
	if (!stx || len >= sizeof memo.name) {
		memo.len = 0;	/* a failed or unrememberable stat replaces the last one too */
		fb_unlock(&memo_ctl.busy);
		return;
	}
	memo.thread = &fb_guard;
	memo.dirfd = dirfd;
	memo.nofollow = !!(flags & AT_SYMLINK_NOFOLLOW);
	memo.drops = __atomic_load_n(&memo_ctl.drops, __ATOMIC_ACQUIRE);
	memo.stamp = fb_fd_stamp(dirfd);
	memo.stx = *stx;
	memcpy(memo.name, path, len + 1);
	memo.len = len;
	fb_unlock(&memo_ctl.busy);
}

int fb_memo_take(int dirfd, const char *path, int flags, struct statx *stx)
{
	if (__atomic_load_n(&memo_ctl.changes, __ATOMIC_RELAXED) < FB_MEMO_AFTER) {
		__atomic_fetch_add(&memo_ctl.changes, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (!fb_trylock(&memo_ctl.busy))
		return 0;
	int hit = memo.len && memo.thread == &fb_guard && memo.dirfd == dirfd &&
		  memo.stamp == fb_fd_stamp(dirfd) &&
		  memo.drops == __atomic_load_n(&memo_ctl.drops, __ATOMIC_ACQUIRE) &&
		  strcmp(memo.name, path) == 0 &&
		  /* An lstat that found no symlink names what a stat would. */
		  (memo.nofollow == !!(flags & AT_SYMLINK_NOFOLLOW) ||
		   (memo.nofollow && !S_ISLNK(memo.stx.stx_mode)));
	/* The inode and its type, not its permission bits: a chmod since,
	 * by descriptor, by another name or by another process, changed
	 * them past the memo, so a record keeps the bits it knew. */
	if (hit) {
		*stx = memo.stx;
		stx->stx_mask &= ~(unsigned)STATX_MODE;
	}
	memo.len = 0;
	fb_unlock(&memo_ctl.busy);
	return hit;
}

void fb_memo_drop(void)
{
	__atomic_fetch_add(&memo_ctl.drops, 1, __ATOMIC_RELEASE);
}

/* ---- a child waited for may have replaced any name ------------------------ */

/* FN, then the memo ends.  system and pclose wait inside the C library,
 * past the wait wrappers. */
#define WAITS(T, fn, params, args)                     \
	FB_EXPORT T fn params                          \
	{                                              \
		FB_REAL(fn);                           \
		if (!real_##fn)                        \
			return fb_enosys(#fn);         \
		T r = real_##fn args;                  \
		fb_memo_drop();                        \
		return r;                              \
	}

WAITS(pid_t, waitpid, (pid_t pid, int *status, int options), (pid, status, options))
WAITS(pid_t, wait, (int *status), (status))
WAITS(pid_t, wait3, (int *status, int options, struct rusage *ru), (status, options, ru))
WAITS(pid_t, wait4, (pid_t pid, int *status, int options, struct rusage *ru),
      (pid, status, options, ru))
WAITS(int, waitid, (idtype_t idtype, id_t id, siginfo_t *info, int options),
      (idtype, id, info, options))
WAITS(int, system, (const char *command), (command))
WAITS(int, pclose, (FILE *stream), (stream))
