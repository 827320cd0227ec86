/*
 * syscall.c - syscall(2) with the numbers we fake.  Programs that bypass
 * libc's wrappers (Go-style runtimes linked dynamically, Python's
 * ctypes, fchmodat2 which glibc 2.36 lacks) still reach the fake view:
 * each faked number forwards to this library's own public function,
 * which is the interposed one (we are first in the lookup order).  Every
 * other number goes to the real syscall() with the six arguments as given.
 *
 * Only numbers whose argument layout equals the libc function's are
 * forwarded: the struct stat numbers only where the kernel's struct is
 * glibc's (x86_64's stat, i386's stat64; not i386's old stat), the 16-bit
 * id calls of 32-bit ABIs never.
 */
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fb.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452	/* Linux 6.6; the same number on every architecture */
#endif

int capget(void *hdr, void *data);
int capset(void *hdr, void *data);

/* fchmodat2: fchmodat with working flags (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH). */
static long fchmodat2_(int dirfd, const char *path, mode_t mode, int flags)
{
	if ((flags & AT_EMPTY_PATH) && path && !path[0]) {
		if (dirfd == AT_FDCWD)
			return chmod(".", mode);
		/* fchmod refuses an O_PATH descriptor, which the kernel takes
		 * here: name it through /proc, as glibc's fchmodat does. */
		int fl = fcntl(dirfd, F_GETFL);
		if (fl < 0 || !(fl & O_PATH))
			return fchmod(dirfd, mode);
		char proc[40];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", dirfd);
		return fchmodat(AT_FDCWD, proc, mode, 0);
	}
	return fchmodat(dirfd, path, mode, flags & AT_SYMLINK_NOFOLLOW);
}

#if defined(__i386__)
#include <stddef.h>
#include <string.h>
/* The kernel's struct stat64 (arch/x86/include/uapi/asm/stat.h). */
_Static_assert(sizeof(struct stat64) == 96 && offsetof(struct stat64, st_uid) == 24 &&
		       offsetof(struct stat64, st_size) == 44 && offsetof(struct stat64, st_ino) == 88,
	       "glibc's struct stat64 is the kernel's");

/* A device number as the kernel's new_encode_dev gives it. */
static unsigned long long kdev(uint32_t major, uint32_t minor)
{
	return (minor & 0xffu) | (major << 8) | ((minor & ~0xffu) << 12);
}

/*
 * The stat64 numbers' answer, filled from the faked statx as the kernel's
 * cp_new_stat64 fills it: times and the old 32-bit inode field cut to 32
 * bits, never EOVERFLOW (which glibc's stat64 gives for a time past 2038).
 */
static long kstat64(int dirfd, const char *path, int flags, struct stat64 *st)
{
	struct statx x;
	if (statx(dirfd, path, flags, STATX_BASIC_STATS, &x) != 0)
		return -1;
	memset(st, 0, sizeof *st);
	st->st_dev = kdev(x.stx_dev_major, x.stx_dev_minor);
	st->__st_ino = (__ino_t)x.stx_ino;
	st->st_ino = x.stx_ino;
	st->st_mode = x.stx_mode;
	st->st_nlink = x.stx_nlink;
	st->st_uid = x.stx_uid;
	st->st_gid = x.stx_gid;
	st->st_rdev = kdev(x.stx_rdev_major, x.stx_rdev_minor);
	st->st_size = (off64_t)x.stx_size;
	st->st_blksize = (blksize_t)x.stx_blksize;
	st->st_blocks = (blkcnt64_t)x.stx_blocks;
	st->st_atim.tv_sec = (time_t)x.stx_atime.tv_sec;
	st->st_atim.tv_nsec = x.stx_atime.tv_nsec;
	st->st_mtim.tv_sec = (time_t)x.stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = x.stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = (time_t)x.stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = x.stx_ctime.tv_nsec;
	return 0;
}
#endif

/*
 * The id calls' numbers.  32-bit ABIs have 32-bit id calls beside the old
 * 16-bit ones: we fake the 32-bit ones and leave the 16-bit ones to the
 * kernel.
 */
#ifdef SYS_getuid32
#define ID(name) SYS_##name##32
#else
#define ID(name) SYS_##name
#endif

/* A faked number: forward it and return 1 with its result in RET; else 0. */
static int faked(long n, const long a[6], long *ret)
{
#define P(i) ((void *)a[i])
#define S(i) ((const char *)a[i])
#define I(i) ((int)a[i])
#define U(i) ((unsigned)a[i])
	switch (n) {
	case SYS_statx: *ret = statx(I(0), S(1), I(2), U(3), P(4)); return 1;
#if defined(__x86_64__)
	case SYS_newfstatat: *ret = fstatat(I(0), S(1), P(2), I(3)); return 1;
	case SYS_fstat: *ret = fstat(I(0), P(1)); return 1;
	case SYS_stat: *ret = stat(S(0), P(1)); return 1;
	case SYS_lstat: *ret = lstat(S(0), P(1)); return 1;
#endif
#if defined(__i386__)
	/* i386's struct stat64 is the kernel's; a 64-bit length comes in two
	 * registers, low first. */
	case SYS_fstatat64: *ret = kstat64(I(0), S(1), I(3), P(2)); return 1;
	case SYS_stat64: *ret = kstat64(AT_FDCWD, S(0), 0, P(1)); return 1;
	case SYS_lstat64: *ret = kstat64(AT_FDCWD, S(0), AT_SYMLINK_NOFOLLOW, P(1)); return 1;
	case SYS_fstat64: *ret = kstat64(I(0), "", AT_EMPTY_PATH, P(1)); return 1;
	case SYS_truncate64: *ret = truncate64(S(0), (off64_t)((uint64_t)U(2) << 32 | U(1))); return 1;
	case SYS_ftruncate64: *ret = ftruncate64(I(0), (off64_t)((uint64_t)U(2) << 32 | U(1))); return 1;
#endif
	case SYS_fchownat: *ret = fchownat(I(0), S(1), U(2), U(3), I(4)); return 1;
	case SYS_fchmodat: *ret = fchmodat(I(0), S(1), U(2), 0); return 1;
	case SYS_fchmodat2: *ret = fchmodat2_(I(0), S(1), U(2), I(3)); return 1;
	case SYS_fchmod: *ret = fchmod(I(0), U(1)); return 1;
	case SYS_mknodat: *ret = mknodat(I(0), S(1), U(2), (dev_t)U(3)); return 1;
	case SYS_mkdirat: *ret = mkdirat(I(0), S(1), U(2)); return 1;
	case SYS_unlinkat: *ret = unlinkat(I(0), S(1), I(2)); return 1;
	case SYS_renameat2: *ret = renameat2(I(0), S(1), I(2), S(3), U(4)); return 1;
#ifdef SYS_renameat
	case SYS_renameat: *ret = renameat(I(0), S(1), I(2), S(3)); return 1;
#endif
#ifdef SYS_chmod
	case SYS_chmod: *ret = chmod(S(0), U(1)); return 1;
	case SYS_mknod: *ret = mknod(S(0), U(1), (dev_t)U(2)); return 1;
	case SYS_mkdir: *ret = mkdir(S(0), U(1)); return 1;
	case SYS_unlink: *ret = unlink(S(0)); return 1;
	case SYS_rmdir: *ret = rmdir(S(0)); return 1;
	case SYS_rename: *ret = rename(S(0), S(1)); return 1;
#endif
#if defined(SYS_getuid32) || defined(SYS_chown)
	case ID(chown): *ret = chown(S(0), U(1), U(2)); return 1;
	case ID(lchown): *ret = lchown(S(0), U(1), U(2)); return 1;
#endif
	case ID(fchown): *ret = fchown(I(0), U(1), U(2)); return 1;
	case ID(getuid): *ret = getuid(); return 1;
	case ID(geteuid): *ret = geteuid(); return 1;
	case ID(getgid): *ret = getgid(); return 1;
	case ID(getegid): *ret = getegid(); return 1;
	case ID(getresuid): *ret = getresuid(P(0), P(1), P(2)); return 1;
	case ID(getresgid): *ret = getresgid(P(0), P(1), P(2)); return 1;
	case ID(setuid): *ret = setuid(U(0)); return 1;
	case ID(setgid): *ret = setgid(U(0)); return 1;
	case ID(setreuid): *ret = setreuid(U(0), U(1)); return 1;
	case ID(setregid): *ret = setregid(U(0), U(1)); return 1;
	case ID(setresuid): *ret = setresuid(U(0), U(1), U(2)); return 1;
	case ID(setresgid): *ret = setresgid(U(0), U(1), U(2)); return 1;
	case ID(setfsuid): *ret = setfsuid(U(0)); return 1;
	case ID(setfsgid): *ret = setfsgid(U(0)); return 1;
	case ID(getgroups): *ret = getgroups(I(0), P(1)); return 1;
	case ID(setgroups): *ret = setgroups((size_t)U(0), P(1)); return 1;
	case SYS_capget: *ret = capget(P(0), P(1)); return 1;
	case SYS_capset: *ret = capset(P(0), P(1)); return 1;
	case SYS_getdents64: *ret = fb_getdents(n, I(0), P(1), (size_t)a[2]); return 1;
#ifdef SYS_getdents
	case SYS_getdents: *ret = fb_getdents(n, I(0), P(1), (size_t)a[2]); return 1;
#endif
	/* The session's environment goes with the program (exec.c). */
	case SYS_execve: *ret = execve(S(0), P(1), P(2)); return 1;
	case SYS_execveat: *ret = execveat(I(0), S(1), P(2), P(3), I(4)); return 1;
	/* Off_t in one register, as the library's own truncate takes it (open.c). */
	case SYS_truncate: *ret = truncate(S(0), (off_t)a[1]); return 1;
	case SYS_ftruncate: *ret = ftruncate(I(0), (off_t)a[1]); return 1;
	/* Not faked, but its descriptor's stamp must move (fd.c, dirent.c). */
	case SYS_close: *ret = close(I(0)); return 1;
	/* What is queued on an io_uring reaches the kernel past every wrapper
	 * here: no ring, as where io_uring is disabled.  libuv (Node.js) asks
	 * for one through syscall() and then does the same work with the
	 * calls this library fakes. */
	case SYS_io_uring_setup: errno = ENOSYS; *ret = -1; return 1;
	default: return 0;
	}
#undef P
#undef S
#undef I
#undef U
}

FB_EXPORT long syscall(long number, ...)
{
	long a[6];
	va_list ap;
	/* The kernel takes six register arguments; so does every syscall() caller's ABI. */
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	FB_REAL(syscall);
	if (!real_syscall)
		return fb_enosys("syscall");
	long ret;
	if (fb_enter() && faked(number, a, &ret))
		return ret;
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
