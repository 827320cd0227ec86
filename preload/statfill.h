/*
 * statfill.h - fill a struct stat (any of glibc's: stat, stat64, and on
 * 32-bit systems the 64-bit-time one of stat_time64.c) from a statx,
 * with EOVERFLOW where a field does not fit, as glibc's own conversion
 * gives: an inode number or a size too large for a 32-bit field, and
 * with TIMES, a time outside a 32-bit time_t.  Sets rc.
 */
#ifndef FB_STATFILL_H
#define FB_STATFILL_H

#include <stdint.h>
#include <string.h>
#include <sys/sysmacros.h>

#define FB_FILL_TIME(ts, xt, times)                                               \
	do {                                                                      \
		(ts).tv_sec = (__typeof__((ts).tv_sec))(xt).tv_sec;               \
		(ts).tv_nsec = (xt).tv_nsec;                                      \
		if ((times) && (int64_t)(ts).tv_sec != (xt).tv_sec)               \
			rc = -EOVERFLOW;                                          \
	} while (0)

#define FB_FILL_STAT(st, x, times)                                                \
	do {                                                                      \
		memset((st), 0, sizeof *(st));                                    \
		(st)->st_dev = makedev((x)->stx_dev_major, (x)->stx_dev_minor);   \
		(st)->st_ino = (__typeof__((st)->st_ino))(x)->stx_ino;            \
		(st)->st_mode = (x)->stx_mode;                                    \
		(st)->st_nlink = (x)->stx_nlink;                                  \
		(st)->st_uid = (x)->stx_uid;                                      \
		(st)->st_gid = (x)->stx_gid;                                      \
		(st)->st_rdev = makedev((x)->stx_rdev_major, (x)->stx_rdev_minor); \
		(st)->st_size = (__typeof__((st)->st_size))(x)->stx_size;         \
		(st)->st_blksize = (x)->stx_blksize;                              \
		(st)->st_blocks = (__typeof__((st)->st_blocks))(x)->stx_blocks;   \
		FB_FILL_TIME((st)->st_atim, (x)->stx_atime, times);               \
		FB_FILL_TIME((st)->st_mtim, (x)->stx_mtime, times);               \
		FB_FILL_TIME((st)->st_ctim, (x)->stx_ctime, times);               \
		if ((uint64_t)(st)->st_ino != (x)->stx_ino ||                     \
		    (uint64_t)(st)->st_size != (x)->stx_size)                      \
			rc = -EOVERFLOW;                                          \
	} while (0)

#endif
