/*
 * utime.c - utimensat, utimes, lutimes, utime, futimens and futimes:
 * glibc makes the others of its own utimensat, past the PLT, so each is
 * wrapped.  The
 * bodies are settimes.h's; see there and dev.c.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "fb.h"
#include "settimes.h"

FB_UTIME_WRAPPERS(utimensat, utimes, lutimes, utime, futimens, futimes)
