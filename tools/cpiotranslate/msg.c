/* msg.c - "cpiotranslate: path: what: reason" on stderr, nothing else. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cpiotranslate.h"

static const char *cleanup_path;

void die_set_cleanup(const char *path)
{
	cleanup_path = path;
}

void vwarnx(const char *fmt, va_list ap)
{
	int saved = errno;

	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	errno = saved;
}

void warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	/* Never leave a half-written -o file behind, nor an output that passes for whole. */
	if (cleanup_path)
		unlink(cleanup_path);
	cut_output();
	exit(EXIT_DATA);
}

const char *errstr(struct archive *a)
{
	const char *s = archive_error_string(a);

	/* libarchive leaves the message empty for some short reads. */
	return s && *s ? s : "unexpected end of data";
}

/*
 * libarchive's fd writer says only "Write error" and keeps the reason
 * (ENOSPC, EPIPE, EIO, ...) in archive_errno: add it.  Its own codes for
 * format and usage errors (EILSEQ, EINVAL: archive_private.h) are not
 * the system's and add nothing.
 */
const char *werrstr(struct archive *a)
{
	static char buf[1024];
	const char *s = errstr(a);
	int e = archive_errno(a);

	if (e <= 0 || e == EILSEQ || e == EINVAL ||
	    strstr(s, strerror(e)))
		return s;
	snprintf(buf, sizeof buf, "%s: %s", s, strerror(e));
	return buf;
}
