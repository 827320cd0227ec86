/* msg.c - protofix's diagnostics: errors on stderr, differences on stdout. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "protofix.h"

static const char *prog = "protofix";

void pf_setprog(const char *argv0)
{
	const char *s = strrchr(argv0, '/');

	prog = s ? s + 1 : argv0;
}

static void vmsg(const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(2);
}

void warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	errno = saved;
}

void pf_err(struct pf *pf, const char *path, const char *what, int err)
{
	warn("%s: %s: %s", path, what, strerror(err < 0 ? -err : err));
	pf->nerr++;
}

/* One line per difference: PATH escaped (escape.h), so a name with a
 * newline stays on its line. */
static void vline(const char *path, const char *fmt, va_list ap)
{
	fb_escape_put(stdout, path);
	fputs(": ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
}

void pf_diff(struct pf *pf, const char *path, const char *fmt, ...)
{
	va_list ap;

	pf->ndiff++;
	va_start(ap, fmt);
	vline(path, fmt, ap);
	va_end(ap);
}

void pf_change(struct pf *pf, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (!pf->o.verbose)
		return;
	va_start(ap, fmt);
	vline(path, fmt, ap);
	va_end(ap);
}

const char *pf_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

int pf_dirname(const char *path, char *out, size_t outlen)
{
	const char *s = strrchr(path, '/');
	size_t n = s ? (size_t)(s - path) : 1;

	if (n + 1 > outlen)
		return -ENAMETOOLONG;	/* never "." instead: that is another directory */
	memcpy(out, s ? path : ".", n);
	out[n] = '\0';
	return 0;
}
