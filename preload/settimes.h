/*
 * settimes.h - the wrappers of the calls that set a file's times, shared
 * with the 32-bit _TIME_BITS=64 entry points (time64.c), whose struct
 * timespec, timeval and utimbuf are another.  The real call, but for a
 * device bound over its placeholder in a build root, whose times are the
 * placeholder's (dev.c: fb_dev_times).  The cost: one load, and one
 * statx once a device has been bound in the session (a build root).
 */
#ifndef FB_SETTIMES_H
#define FB_SETTIMES_H

#include <errno.h>
#include <stdint.h>
#include <sys/time.h>
#include <utime.h>

/* Times as fb_dev_times takes them, in T; NULL for none (now). */
static inline const int64_t *fb_ts_times(const struct timespec *ts, int64_t t[4])
{
	if (!ts)
		return NULL;
	t[0] = ts[0].tv_sec, t[1] = ts[0].tv_nsec, t[2] = ts[1].tv_sec, t[3] = ts[1].tv_nsec;
	return t;
}

static inline const int64_t *fb_tv_times(const struct timeval *tv, int64_t t[4])
{
	if (!tv)
		return NULL;
	t[0] = tv[0].tv_sec, t[1] = (int64_t)tv[0].tv_usec * 1000;
	t[2] = tv[1].tv_sec, t[3] = (int64_t)tv[1].tv_usec * 1000;
	return t;
}

static inline const int64_t *fb_ub_times(const struct utimbuf *b, int64_t t[4])
{
	if (!b)
		return NULL;
	t[0] = b->actime, t[1] = 0, t[2] = b->modtime, t[3] = 0;
	return t;
}

/* A wrapper of FN(ARGS): the times, converted by CONV, of a bound device
 * (dev.c) go to its placeholder, fb_dev_times(WHERE..., TIMES); all else
 * is the real call. */
#define FB_SETTIMES(fn, params, args, conv, times, ...)                              \
	FB_EXPORT int fn params                                                      \
	{                                                                            \
		FB_PROLOGUE(fn, FB_UNPAREN args);                                    \
		int64_t t[4];                                                        \
		int rc;                                                              \
		if (fb_dev_times(__VA_ARGS__, conv(times, t), &rc))                  \
			return fb_ret(rc);                                           \
		return real_##fn args == 0 ? fb_ret(0) : fb_ret(-errno);             \
	}
#define FB_UNPAREN(...) __VA_ARGS__

#define FB_UTIME_WRAPPERS(utimensat_, utimes_, lutimes_, utime_, futimens_, futimes_)    \
	FB_SETTIMES(utimensat_, (int dirfd, const char *path, const struct timespec ts[2], \
				 int flags),                                             \
		    (dirfd, path, ts, flags), fb_ts_times, ts, dirfd, path, -1, flags)   \
	FB_SETTIMES(utimes_, (const char *path, const struct timeval tv[2]), (path, tv),  \
		    fb_tv_times, tv, AT_FDCWD, path, -1, 0)                              \
	FB_SETTIMES(lutimes_, (const char *path, const struct timeval tv[2]), (path, tv), \
		    fb_tv_times, tv, AT_FDCWD, path, -1, AT_SYMLINK_NOFOLLOW)            \
	FB_SETTIMES(utime_, (const char *path, const struct utimbuf *b), (path, b),       \
		    fb_ub_times, b, AT_FDCWD, path, -1, 0)                               \
	FB_SETTIMES(futimens_, (int fd, const struct timespec ts[2]), (fd, ts),           \
		    fb_ts_times, ts, AT_FDCWD, NULL, fd, 0)                              \
	FB_SETTIMES(futimes_, (int fd, const struct timeval tv[2]), (fd, tv),             \
		    fb_tv_times, tv, AT_FDCWD, NULL, fd, 0)

#endif
