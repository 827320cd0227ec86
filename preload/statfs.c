/*
 * statfs.c - what a file's file system or mount does, asked once per
 * file system (or mount) a process changes files on: the statfs of a
 * file (fb_file_statfs), and whether its mount is read-only
 * (fb_read_only).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fb.h"

int fb_file_statfs(int dirfd, const char *path, int fd, int nofollow, struct statfs64 *sf)
{
	if (fd >= 0)
		return fstatfs64(fd, sf);
	if (fd == AT_FDCWD)	/* AT_EMPTY_PATH of the working directory */
		return statfs64(".", sf);
	if (!nofollow && (path[0] == '/' || dirfd == AT_FDCWD))
		return statfs64(path, sf);
	fb_guard++;	/* past the wrappers: nothing of ours to track */
	int o = openat(dirfd, path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	int rc = o >= 0 ? fstatfs64(o, sf) : -1;
	if (o >= 0)
		close(o);
	fb_guard--;
	return rc;
}

/*
 * Mounts of this process, each with whether it is read-only: the mount
 * id (statx's, + 1) in the low bits, MOUNT_RO set for a read-only one; 0
 * is a free slot.  A process that changes files changes them on a few
 * mounts.  No id (a kernel before 5.8; qemu-user, which sets the mask
 * bit but leaves the id 0): asked every time.
 */
#define MOUNT_RO (1ull << 63)
static uint64_t mounts[8];

int fb_read_only(int dirfd, const char *path, int fd, int nofollow, const struct statx *stx)
{
	const uint64_t key = (stx->stx_mask & STATX_MNT_ID) && stx->stx_mnt_id ? stx->stx_mnt_id + 1 : 0;
	const size_t n = sizeof mounts / sizeof mounts[0];
	for (size_t i = 0; key && i < n; i++) {
		uint64_t v = __atomic_load_n(&mounts[i], __ATOMIC_RELAXED);
		if ((v & ~MOUNT_RO) == key)
			return !!(v & MOUNT_RO);
	}
	int e = errno;
	struct statfs64 sf;
	int rc = fb_file_statfs(dirfd, path, fd, nofollow, &sf);
	errno = e;
	if (rc < 0)
		return 0;	/* the change itself will say what is wrong */
	uint64_t v = key | ((sf.f_flags & ST_RDONLY) ? MOUNT_RO : 0);
	for (size_t i = 0; key && i < n; i++) {
		uint64_t free_slot = 0;
		if (__atomic_compare_exchange_n(&mounts[i], &free_slot, v, 0, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED) || (free_slot & ~MOUNT_RO) == key)
			break;
	}
	return !!(v & MOUNT_RO);
}
