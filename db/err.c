#include <stdarg.h>
#include <stdio.h>

#include "err.h"

/* Always returns -1, so callers can `return fb_err_set(...)`. */
int fb_err_set(struct fb_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}
