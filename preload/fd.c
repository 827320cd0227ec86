/*
 * fd.c - what a descriptor number names, for path hints (record.c).
 *
 * Each descriptor slot has a generation, bumped when the descriptor is
 * closed or replaced (close, closedir, dup2, dup3); close_range and closefrom bump
 * an epoch that covers every slot; chdir and fchdir bump the working
 * directory's, and chroot (chroot.c) both.  A path remembered with a descriptor's stamp is valid
 * while the stamp is unchanged.  Files created through open(O_CREAT) have
 * their directory descriptor and name remembered, so fchown(fd) on them
 * needs no readlink of /proc/self/fd.  All of this only feeds hints:
 * a wrong guess never changes what a file looks like, only where --gc and
 * remount recovery look for it.  The stamps also guard the last stat a
 * chown or chmod may reuse (memo.c).
 *
 * One descriptor is the library's own: the one whose lock tells other
 * writers that this process lives (db/wlock.c).  Closing it would let
 * them take the table's writer lock from under a writer of this process,
 * so close, close_range and closefrom leave it open (a program that closes
 * "everything" never opened it), and dup2 or dup3 onto its number move it
 * elsewhere first.  It is close-on-exec: nothing else ever sees it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <linux/close_range.h>
#include <string.h>
#include <unistd.h>
#include <linux/limits.h>

#include "fb.h"

#define SLOTS 1024u	/* descriptors beyond this are simply not remembered */

static uint32_t epoch, cwd_gen;

/* One slot per descriptor, its generation beside what it names: a process
 * that opens and closes a few descriptors touches one page of this. */
static struct {
	uint32_t gen;
	int dirfd;
	uint64_t stamp, dirstamp;
	char name[NAME_MAX + 1];
} slot[SLOTS] FB_BSS_LATE(1);

uint64_t fb_fd_stamp(int fd)
{
	uint64_t e = (uint64_t)__atomic_load_n(&epoch, __ATOMIC_ACQUIRE) << 32;
	if (fd == AT_FDCWD)
		return e | __atomic_load_n(&cwd_gen, __ATOMIC_ACQUIRE);
	if (fd < 0 || (unsigned)fd >= SLOTS)
		return UINT64_MAX;	/* never matches: not remembered */
	return e | __atomic_load_n(&slot[fd].gen, __ATOMIC_ACQUIRE);
}

static void retire(int fd)
{
	if (fd >= 0 && (unsigned)fd < SLOTS)
		__atomic_fetch_add(&slot[fd].gen, 1, __ATOMIC_RELEASE);
}

void fb_fd_opened(int fd, int dirfd, const char *name)
{
	if (fd < 0 || (unsigned)fd >= SLOTS)
		return;
	size_t n = strlen(name);
	if (n >= sizeof slot[fd].name)
		return;
	/* A new descriptor: whatever was remembered for the number is stale. */
	retire(fd);
	memcpy(slot[fd].name, name, n + 1);
	slot[fd].dirfd = dirfd;
	slot[fd].dirstamp = fb_fd_stamp(dirfd);
	slot[fd].stamp = fb_fd_stamp(fd);
}

int fb_fd_origin(int fd, int *dirfd, const char **name)
{
	/* A slot never filled has no name; its zero stamps would match a
	 * descriptor number never closed (stdin's, with dirfd 0). */
	if (fd < 0 || (unsigned)fd >= SLOTS || !slot[fd].name[0] || slot[fd].stamp != fb_fd_stamp(fd) ||
	    slot[fd].dirstamp != fb_fd_stamp(slot[fd].dirfd))
		return 0;
	*dirfd = slot[fd].dirfd;
	*name = slot[fd].name;
	return 1;
}

/* The writer lock's descriptor, or -1 (no table mapped, or never written). */
static int lock_fd(void)
{
	return fb_table_lock_fd(fb_table_mapped());
}

FB_EXPORT int close(int fd)
{
	FB_REAL(close);
	if (fd >= 0 && fd == lock_fd())
		return 0;
	retire(fd);
	return real_close ? real_close(fd) : fb_enosys("close");
}

/* A directory stream's descriptor is closed inside libc, past close(). */
FB_EXPORT int closedir(DIR *d)
{
	FB_REAL(closedir);
	retire(dirfd(d));
	return real_closedir ? real_closedir(d) : fb_enosys("closedir");
}

FB_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	FB_REAL(close_range);
	if (!real_close_range)
		return fb_enosys("close_range");
	__atomic_fetch_add(&epoch, 1, __ATOMIC_RELEASE);
	int keep = lock_fd();
	if (keep < 0 || (unsigned)keep < first || (unsigned)keep > last || (flags & CLOSE_RANGE_CLOEXEC))
		return real_close_range(first, last, flags);
	/* Around it.  CLOSE_RANGE_UNSHARE unshares at the first call; the second is then a no-op for it. */
	int rc = 0;
	if ((unsigned)keep > first)
		rc = real_close_range(first, (unsigned)keep - 1, flags);
	if (rc == 0 && (unsigned)keep < last)
		rc = real_close_range((unsigned)keep + 1, last, flags);
	return rc;
}

FB_EXPORT void closefrom(int low)
{
	FB_REAL(closefrom);
	FB_REAL(close_range);
	__atomic_fetch_add(&epoch, 1, __ATOMIC_RELEASE);
	int keep = lock_fd();
	if (keep >= 0 && keep >= low && real_close_range) {
		if (keep > low && real_close_range((unsigned)low, (unsigned)keep - 1, 0) < 0)
			for (int fd = low < 0 ? 0 : low; fd < keep; fd++)
				close(fd);
		low = keep + 1;
	}
	if (real_closefrom)
		real_closefrom(low);
}

/* A program taking the lock descriptor's number gets it: ours moves first. */
static void make_room(int new)
{
	if (new >= 0 && new == lock_fd())
		fb_table_move_lock_fd(fb_table_mapped());
}

FB_EXPORT int dup2(int old, int new)
{
	FB_REAL(dup2);
	if (old != new)
		make_room(new);
	retire(new);
	return real_dup2 ? real_dup2(old, new) : fb_enosys("dup2");
}

FB_EXPORT int dup3(int old, int new, int flags)
{
	FB_REAL(dup3);
	if (old != new)
		make_room(new);
	retire(new);
	return real_dup3 ? real_dup3(old, new, flags) : fb_enosys("dup3");
}

FB_EXPORT int chdir(const char *path)
{
	FB_REAL(chdir);
	__atomic_fetch_add(&cwd_gen, 1, __ATOMIC_RELEASE);
	return real_chdir ? real_chdir(path) : fb_enosys("chdir");
}

FB_EXPORT int fchdir(int fd)
{
	FB_REAL(fchdir);
	__atomic_fetch_add(&cwd_gen, 1, __ATOMIC_RELEASE);
	return real_fchdir ? real_fchdir(fd) : fb_enosys("fchdir");
}

/* chroot (chroot.c): every absolute name now means another file. */
int fb_io_fd(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	return fl & O_PATH ? -EBADF : 0;
}

void fb_fd_rooted(void)
{
	__atomic_fetch_add(&cwd_gen, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&epoch, 1, __ATOMIC_RELEASE);
}
