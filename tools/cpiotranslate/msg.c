/* msg.c - "cpiotranslate: path: what: reason" on stderr, nothing else. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cpiotranslate.h"
#include "escape.h"

/* Read by the signal handler: volatile, so the store is not put off past the call. */
static const char *volatile cleanup_path;

/* Remove the temporary output, then die of SIG as we would have (the
 * handler was reset: the raised signal, held until we return, kills). */
static void on_signal(int sig)
{
	const char *p = cleanup_path;

	if (p)
		unlink(p);
	raise(sig);
}

void die_set_cleanup(const char *path)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGTERM };
	static bool handled;

	cleanup_path = path;
	if (!path || handled)
		return;
	handled = true;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND }, old;

		/* A signal the caller ignores (nohup, a background job) stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

/* The message escaped (escape.h): a name from the archive in it may hold
 * a newline or a terminal's escape sequence.  One write, whole: parallel
 * jobs share a log. */
void vwarnx(const char *fmt, va_list ap)
{
	int saved = errno;
	char *msg = NULL, *shown = NULL;
	size_t len = 0;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;	/* undefined after a failure */
	FILE *f = open_memstream(&shown, &len);
	int ok = f && fb_escape_put(f, msg ? msg : fmt) == 0;
	if (f && fclose(f) != 0)
		ok = 0;
	fprintf(stderr, PROG ": %s\n", ok ? shown : msg ? msg : fmt);
	free(shown);
	free(msg);
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
