/*
 * settimes.h - the wrappers of the calls that set a file's times, shared
 * with the 32-bit _TIME_BITS=64 entry points (time64.c), whose struct
 * timespec, timeval and utimbuf are another.  The real call comes first
 * and its answer stands, but for a device bound over its placeholder in
 * a build root, whose times are the placeholder's (dev.c:
 * fb_dev_utimes).  No cost beyond the call when it succeeds.
 */
#ifndef FB_SETTIMES_H
#define FB_SETTIMES_H

#include <errno.h>
#include <stdint.h>
#include <sys/time.h>
#include <utime.h>

/* Times as fb_dev_utimes takes them, in T; NULL for none (now). */
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
	t[0] = tv[0].tv_sec, t[1] = tv[0].tv_usec * 1000;
	t[2] = tv[1].tv_sec, t[3] = tv[1].tv_usec * 1000;
	return t;
}

static inline const int64_t *fb_ub_times(const struct utimbuf *b, int64_t t[4])
{
	if (!b)
		return NULL;
	t[0] = b->actime, t[1] = 0, t[2] = b->modtime, t[3] = 0;
	return t;
}

/* A wrapper of FN(ARGS): the real call, then on failure the fallback
 * FALLBACK(..., TIMES, errno) with the times converted by CONV. */
#define FB_SETTIMES(fn, params, args, conv, times, fallback, ...)                \
	FB_EXPORT int fn params                                                  \
	{                                                                        \
		FB_PROLOGUE(fn, FB_UNPAREN args);                                \
		if (real_##fn args == 0)                                         \
			return fb_ret(0);                                        \
		int64_t t[4];                                                    \
		return fb_ret(fallback(__VA_ARGS__, conv(times, t), errno));     \
	}
#define FB_UNPAREN(...) __VA_ARGS__

#define FB_UTIME_WRAPPERS(utimensat_, utimes_, lutimes_, utime_, futimens_, futimes_)    \
	FB_SETTIMES(utimensat_, (int dirfd, const char *path, const struct timespec ts[2], \
				 int flags),                                             \
		    (dirfd, path, ts, flags), fb_ts_times, ts, fb_dev_utimes, dirfd, path) \
	FB_SETTIMES(utimes_, (const char *path, const struct timeval tv[2]), (path, tv),  \
		    fb_tv_times, tv, fb_dev_utimes, AT_FDCWD, path)                      \
	FB_SETTIMES(lutimes_, (const char *path, const struct timeval tv[2]), (path, tv), \
		    fb_tv_times, tv, fb_dev_utimes, AT_FDCWD, path)                      \
	FB_SETTIMES(utime_, (const char *path, const struct utimbuf *b), (path, b),       \
		    fb_ub_times, b, fb_dev_utimes, AT_FDCWD, path)                       \
	FB_SETTIMES(futimens_, (int fd, const struct timespec ts[2]), (fd, ts),           \
		    fb_ts_times, ts, fb_dev_futimes, fd)                                 \
	FB_SETTIMES(futimes_, (int fd, const struct timeval tv[2]), (fd, tv),             \
		    fb_tv_times, tv, fb_dev_futimes, fd)

#endif
