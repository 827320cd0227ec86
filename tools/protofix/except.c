/*
 * except.c - the exception list (-e): files expected in the proto area but
 * not in the manifest.  One path or shell glob per line, "#" starts a
 * comment.  A pattern that matches a directory covers everything beneath it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "protofix.h"

struct pf_except {
	size_t n;
	char **pat;
};

static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t");
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static void add(struct pf_except *x, const char *file, unsigned line, const char *pat)
{
	char norm[PATH_MAX];
	int r = fb_path_normalize(pat, norm, sizeof norm);

	if (r < 0)
		die("%s:%u: expected a path or a glob beneath the root, found '%s'", file, line, pat);
	x->pat = realloc(x->pat, (x->n + 1) * sizeof *x->pat);
	if (!x->pat || !(x->pat[x->n] = strdup(norm)))
		die("out of memory");
	x->n++;
}

struct pf_except *pf_except_load(struct pf_except *x, const char *file)
{
	if (!x)
		x = calloc(1, sizeof *x);
	FILE *f = fopen(file, "r");
	char *buf = NULL, *s, *hash;
	size_t cap = 0;
	unsigned line = 0;

	if (!x)
		die("out of memory");
	if (!f)
		die("%s: cannot open the exception list: %s", file, strerror(errno));
	while (getline(&buf, &cap, f) >= 0) {
		line++;
		if ((hash = strchr(buf, '#')))
			*hash = '\0';
		s = trim(buf);
		if (*s)
			add(x, file, line, s);
	}
	if (ferror(f))
		die("%s: read: %s", file, strerror(errno));
	free(buf);
	fclose(f);
	return x;
}

bool pf_except_match(const struct pf_except *x, const char *path)
{
	size_t i;

	if (!x)
		return false;
	for (i = 0; i < x->n; i++)
		if (fnmatch(x->pat[i], path, FNM_PATHNAME) == 0)
			return true;
	return false;
}

void pf_except_free(struct pf_except *x)
{
	size_t i;

	if (!x)
		return;
	for (i = 0; i < x->n; i++)
		free(x->pat[i]);
	free(x->pat);
	free(x);
}
