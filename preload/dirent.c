/*
 * dirent.c - the file type in directory entries (d_type).  A device made
 * by mknod in a session is an empty regular file on disk: the kernel says
 * DT_REG where stat says character device, and every program that trusts
 * d_type (GNU find -type, Python's DirEntry.is_file, ls) would disagree
 * with stat.  Every interface that hands out d_type fixes it: readdir,
 * readdir64, readdir_r, readdir64_r, getdents64, getdirentries{,64} and
 * syscall()'s getdents numbers, and the scandir family, whose filter sees
 * entries before the caller does.  Core: dtype_on().
 *
 * Cost.  Nothing while no record in the table fakes a file type (the
 * table's flag, fb_table_has_faked_types: a load).  Then only DT_REG
 * entries are looked at, since only a regular file on disk can be a faked
 * device, with one lock-free lookup of (the directory's device, d_ino).
 * The device comes from one fstat of the directory's descriptor, kept
 * per descriptor number while its stamp (fd.c) is unchanged (descriptors
 * fd.c does not follow, 1024 and up, pay that fstat per entry looked up).
 *
 * Mount points.  An entry's d_ino and d_type are those of the inode
 * under a mount point, on the directory's device: the directory mounted
 * over is DT_DIR and never looked up; a file bind-mounted over a regular
 * file is looked up as the file under it, which a stat would not show.
 *
 * Trust.  The lookup has neither birth time nor real type beyond d_type
 * (fb_peek): a record counts only if its real type is a regular file and
 * it is on the directory's device.  A stale one, left by a file deleted
 * outside a session whose inode number a new regular file now has, can
 * make that file's d_type say device.  It cannot mislead far: it tells a
 * type, never an owner or a mode, and only for an inode number that was
 * such a device; a program that goes on to stat the file gets the truth,
 * and that stat drops the stale record (fb_table_get checks the birth
 * time), so every readdir after it agrees.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fb.h"

/* May an entry of type TYPE need fixing?  The common answer costs a compare or two loads. */
static int suspect(unsigned char type)
{
	if (type != DT_REG || !fb_enter())
		return 0;
	int saved = errno;	/* the first call maps the table */
	struct fb_table *t = fb_table();
	errno = saved;
	return t && fb_table_has_faked_types(t);
}

#define DIRS 64u	/* directory descriptors remembered, by number */

static struct {
	int busy;	/* try-lock: a thread, or a handler, that finds it taken asks the kernel */
	int fd;		/* the descriptor + 1: 0 is an empty slot */
	uint64_t stamp;
	uint64_t dev;
} dirs[DIRS] FB_BSS_LATE(2);	/* late: only sessions with faked types touch it */

/* The device of the directory open on FD; 0 or -errno. */
static int dir_dev(int fd, uint64_t *dev)
{
	/* Taken before the fstat: a close in between changes it, so what is
	 * kept can never be matched to the next file of that number. */
	const uint64_t stamp = fb_fd_stamp(fd);
	const int remember = stamp != UINT64_MAX && fd >= 0;
	__typeof__(&dirs[0]) d = &dirs[(unsigned)fd % DIRS];
	if (remember && fb_trylock(&d->busy)) {
		int hit = d->fd == fd + 1 && d->stamp == stamp;
		if (hit)
			*dev = d->dev;
		fb_unlock(&d->busy);
		if (hit)
			return 0;
	}
	struct statx x;
	int rc = fb_sys_statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &x);
	if (rc < 0)
		return rc;
	*dev = makedev(x.stx_dev_major, x.stx_dev_minor);
	if (remember && fb_trylock(&d->busy)) {
		d->fd = fd + 1;
		d->stamp = stamp;
		d->dev = *dev;
		fb_unlock(&d->busy);
	}
	return 0;
}

/* The type stat would give entry INO of a directory on DEV, which the kernel says is regular. */
static unsigned char dtype_on(uint64_t dev, uint64_t ino)
{
	struct fb_attr a;
	if (fb_peek(dev, ino, S_IFREG, &a) && (a.mode & S_IFMT) != S_IFREG)
		return (unsigned char)IFTODT(a.mode);
	return DT_REG;
}

/* The same for an entry of the directory open on FD.  Keeps errno. */
static unsigned char dtype(int fd, uint64_t ino)
{
	int saved = errno;
	uint64_t dev;
	unsigned char t = dir_dev(fd, &dev) == 0 ? dtype_on(dev, ino) : DT_REG;
	errno = saved;
	return t;
}

FB_EXPORT struct dirent *readdir(DIR *d)
{
	FB_REAL(readdir);
	if (!real_readdir) {
		fb_enosys("readdir");
		return NULL;
	}
	struct dirent *e = real_readdir(d);
	if (e && suspect(e->d_type))
		e->d_type = dtype(dirfd(d), e->d_ino);
	return e;
}

FB_EXPORT struct dirent64 *readdir64(DIR *d)
{
	FB_REAL(readdir64);
	if (!real_readdir64) {
		fb_enosys("readdir64");
		return NULL;
	}
	struct dirent64 *e = real_readdir64(d);
	if (e && suspect(e->d_type))
		e->d_type = dtype(dirfd(d), e->d_ino);
	return e;
}

/* Deprecated by glibc, still called by old programs. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
FB_EXPORT int readdir_r(DIR *d, struct dirent *entry, struct dirent **result)
{
	FB_REAL(readdir_r);
	if (!real_readdir_r)
		return ENOSYS;
	int rc = real_readdir_r(d, entry, result);
	if (rc == 0 && *result && suspect((*result)->d_type))
		(*result)->d_type = dtype(dirfd(d), (*result)->d_ino);
	return rc;
}

FB_EXPORT int readdir64_r(DIR *d, struct dirent64 *entry, struct dirent64 **result)
{
	FB_REAL(readdir64_r);
	if (!real_readdir64_r)
		return ENOSYS;
	int rc = real_readdir64_r(d, entry, result);
	if (rc == 0 && *result && suspect((*result)->d_type))
		(*result)->d_type = dtype(dirfd(d), (*result)->d_ino);
	return rc;
}
#pragma GCC diagnostic pop

/* The kernel's old getdents record: d_type is its last byte. */
struct old_dirent {
	unsigned long d_ino, d_off;
	unsigned short d_reclen;
	char d_name[];
};

/* Where a record of a getdents-like buffer keeps what dtype needs. */
struct layout {
	size_t head;		/* bytes before the name, and its NUL, and d_type if last */
	size_t ino_at, ino_size, reclen_at;
	long type_at;		/* -1: the record's last byte */
};

/* getdents64: struct dirent64. */
static const struct layout dirent64_layout = {
	offsetof(struct dirent64, d_name) + 1, offsetof(struct dirent64, d_ino),
	sizeof(((struct dirent64 *)0)->d_ino), offsetof(struct dirent64, d_reclen),
	offsetof(struct dirent64, d_type),
};
/* getdents: the kernel's old record. */
static const struct layout old_layout = {
	offsetof(struct old_dirent, d_name) + 2, offsetof(struct old_dirent, d_ino),
	sizeof(unsigned long), offsetof(struct old_dirent, d_reclen), -1,
};
/* getdirentries: glibc's struct dirent (struct dirent64 on 64-bit ABIs). */
static const struct layout dirent_layout = {
	offsetof(struct dirent, d_name) + 1, offsetof(struct dirent, d_ino),
	sizeof(((struct dirent *)0)->d_ino), offsetof(struct dirent, d_reclen),
	offsetof(struct dirent, d_type),
};

/*
 * Fix the N bytes of records of layout L that directory FD gave in BUF.
 * The caller's buffer need not be aligned: fields are copied.
 */
static void fix_dents(int fd, void *buf, long n, const struct layout *l)
{
	unsigned char *p = buf;
	uint64_t dev = 0;
	int have_dev = 0;
	for (long off = 0; off < n;) {
		unsigned short reclen;
		memcpy(&reclen, p + off + l->reclen_at, sizeof reclen);
		if (reclen < l->head || reclen > n - off)
			break;
		unsigned char *type = p + off + (l->type_at < 0 ? (size_t)reclen - 1 : (size_t)l->type_at);
		if (suspect(*type)) {
			uint64_t ino = 0;
			if (l->ino_size == sizeof(uint32_t)) {
				uint32_t v;
				memcpy(&v, p + off + l->ino_at, sizeof v);
				ino = v;
			} else {
				memcpy(&ino, p + off + l->ino_at, sizeof ino);
			}
			int saved = errno;
			if (!have_dev)
				have_dev = dir_dev(fd, &dev) == 0 ? 1 : -1;
			if (have_dev > 0)
				*type = dtype_on(dev, ino);
			errno = saved;
		}
		off += reclen;
	}
}

FB_EXPORT ssize_t getdents64(int fd, void *buf, size_t n)
{
	FB_REAL(getdents64);
	if (!real_getdents64)
		return fb_enosys("getdents64");
	ssize_t r = real_getdents64(fd, buf, n);
	if (r > 0)
		fix_dents(fd, buf, r, &dirent64_layout);
	return r;
}

/* The old BSD interface: glibc's own records, read with getdents. */
FB_EXPORT ssize_t getdirentries(int fd, char *buf, size_t n, off_t *base)
{
	FB_REAL(getdirentries);
	if (!real_getdirentries)
		return fb_enosys("getdirentries");
	ssize_t r = real_getdirentries(fd, buf, n, base);
	if (r > 0)
		fix_dents(fd, buf, r, &dirent_layout);
	return r;
}

FB_EXPORT ssize_t getdirentries64(int fd, char *buf, size_t n, off64_t *base)
{
	FB_REAL(getdirentries64);
	if (!real_getdirentries64)
		return fb_enosys("getdirentries64");
	ssize_t r = real_getdirentries64(fd, buf, n, base);
	if (r > 0)
		fix_dents(fd, buf, r, &dirent64_layout);
	return r;
}

/* syscall(SYS_getdents64 or SYS_getdents, ...): the kernel's answer, fixed. */
long fb_getdents(long nr, int fd, void *buf, size_t n)
{
	FB_REAL(syscall);
	if (!real_syscall)
		return fb_enosys("syscall");
	long r = real_syscall(nr, fd, buf, n);
	if (r > 0)
		fix_dents(fd, buf, r, nr == SYS_getdents64 ? &dirent64_layout : &old_layout);
	return r;
}

/*
 * scandir and friends read the directory with glibc's internal readdir
 * and show each entry to the caller's filter, then copy the chosen ones.
 * They run with a filter of ours, which fixes the entry in place (it lies
 * in the stream's buffer, glibc's memory, writable; the const is only a
 * promise to the caller's filter), so the filter, the sort and the copies
 * all see the fixed type.  The directory's device is known beforehand: a
 * stat of the directory (only when the table fakes types at all).
 *
 * The filter finds its scandir on a per-thread stack, like ftw.c's walks.
 * A filter is always called from the same place in scandir, so a scandir
 * entry recorded deeper in the stack than the filter itself is one a
 * longjmp left: it is dropped, and the first one above is the caller's.
 * (scandir mallocs, so it is not for signal handlers, and the stack is
 * the thread's own.)
 */
#define FB_SCANS 8

#ifdef __hppa__
#define DEEPER(a, b) ((uintptr_t)(a) > (uintptr_t)(b))
#else
#define DEEPER(a, b) ((uintptr_t)(a) < (uintptr_t)(b))
#endif

typedef int (*filter_t)(const struct dirent *);
typedef int (*filter64_t)(const struct dirent64 *);

struct scan {
	const void *frame;	/* an address in the wrapper's stack frame */
	uint64_t dev;		/* the directory's */
	filter_t filter;	/* the caller's, or NULL */
	filter64_t filter64;
};

static __thread struct scan scans[FB_SCANS];
static __thread int nscans;

/* The scan a filter call at stack address HERE belongs to. */
static struct scan *scan_of(const void *here)
{
	int n = nscans;
	while (n > 0 && DEEPER(scans[n - 1].frame, here))
		n--;
	nscans = n;
	return n ? &scans[n - 1] : NULL;
}

static int pick(const struct dirent *e)
{
	const char here = 0;
	struct scan *s = scan_of(&here);
	if (!s)
		return 1;	/* cannot happen (see above); keep every entry */
	if (e->d_type == DT_REG) {
		int saved = errno;
		((struct dirent *)e)->d_type = dtype_on(s->dev, e->d_ino);
		errno = saved;
	}
	return s->filter ? s->filter(e) : 1;
}

static int pick64(const struct dirent64 *e)
{
	const char here = 0;
	struct scan *s = scan_of(&here);
	if (!s)
		return 1;
	if (e->d_type == DT_REG) {
		int saved = errno;
		((struct dirent64 *)e)->d_type = dtype_on(s->dev, e->d_ino);
		errno = saved;
	}
	return s->filter64 ? s->filter64(e) : 1;
}

/*
 * Push a scan of DIRFD/PATH at FRAME: its index, or -1 when its entries
 * need no fixing (no faked types, the stack full, the directory gone:
 * scandir then runs as it is, and reports that itself).
 */
static int scan_push(int dirfd, const char *path, const void *frame, filter_t f, filter64_t f64)
{
	if (!suspect(DT_REG))
		return -1;
	int n = nscans;
	while (n > 0 && DEEPER(scans[n - 1].frame, frame))
		n--;	/* left by a longjmp */
	if (n >= FB_SCANS)
		return -1;
	int saved = errno;
	struct statx x;
	int rc = fb_sys_statx(dirfd, path, 0, STATX_TYPE, &x);
	errno = saved;
	if (rc < 0)
		return -1;
	scans[n].frame = frame;
	scans[n].dev = makedev(x.stx_dev_major, x.stx_dev_minor);
	scans[n].filter = f;
	scans[n].filter64 = f64;
	nscans = n + 1;
	return n;
}

#define SCAN(call_wrapped, call_plain, dirfd, path, f, f64)                    \
	do {                                                                          \
		const char frame_ = 0;                                                \
		int i_ = scan_push((dirfd), (path), &frame_, (f), (f64));             \
		if (i_ < 0)                                                           \
			return (call_plain);                                          \
		int rc_ = (call_wrapped);                                             \
		nscans = i_;                                                          \
		return rc_;                                                           \
	} while (0)

FB_EXPORT int scandir(const char *path, struct dirent ***list, filter_t filter,
		      int (*cmp)(const struct dirent **, const struct dirent **))
{
	FB_REAL(scandir);
	if (!real_scandir)
		return fb_enosys("scandir");
	if (!fb_enter())
		return real_scandir(path, list, filter, cmp);
	SCAN(real_scandir(path, list, pick, cmp),
	     real_scandir(path, list, filter, cmp), AT_FDCWD, path, filter, NULL);
}

FB_EXPORT int scandir64(const char *path, struct dirent64 ***list, filter64_t filter,
			int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	FB_REAL(scandir64);
	if (!real_scandir64)
		return fb_enosys("scandir64");
	if (!fb_enter())
		return real_scandir64(path, list, filter, cmp);
	SCAN(real_scandir64(path, list, pick64, cmp),
	     real_scandir64(path, list, filter, cmp), AT_FDCWD, path, NULL, filter);
}

FB_EXPORT int scandirat(int dirfd, const char *path, struct dirent ***list, filter_t filter,
			int (*cmp)(const struct dirent **, const struct dirent **))
{
	FB_REAL(scandirat);
	if (!real_scandirat)
		return fb_enosys("scandirat");
	if (!fb_enter())
		return real_scandirat(dirfd, path, list, filter, cmp);
	SCAN(real_scandirat(dirfd, path, list, pick, cmp),
	     real_scandirat(dirfd, path, list, filter, cmp), dirfd, path, filter, NULL);
}

FB_EXPORT int scandirat64(int dirfd, const char *path, struct dirent64 ***list,
			  filter64_t filter,
			  int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	FB_REAL(scandirat64);
	if (!real_scandirat64)
		return fb_enosys("scandirat64");
	if (!fb_enter())
		return real_scandirat64(dirfd, path, list, filter, cmp);
	SCAN(real_scandirat64(dirfd, path, list, pick64, cmp),
	     real_scandirat64(dirfd, path, list, filter, cmp), dirfd, path, NULL, filter);
}

/*
 * i386's readdir64, readdir64_r and scandir64 before glibc 2.2 used
 * another struct dirent64 (a 32-bit d_ino): binaries linked then must keep
 * reaching glibc's old versions, unfaked, not these wrappers.
 */
#if defined(FB_VERSIONED) && defined(__i386__)
FB_SYMVER(readdir64, "GLIBC_2.2");
FB_SYMVER(readdir64_r, "GLIBC_2.2");
FB_SYMVER(scandir64, "GLIBC_2.2");
#endif
