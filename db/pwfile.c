/*
 * pwfile.c - passwd(5) and group(5) lines (see pwfile.h).
 */
#include <string.h>

#include "pwfile.h"

/* isspace() in the C locale, without the locale lookup. */
static int space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

const char *fb_pwline_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

/* A uid or gid: decimal digits only, below (uid_t)-1, which chown reads as "unchanged". */
static int parse_id(const char *s, size_t n, unsigned *out)
{
	unsigned long long v = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v >= 4294967295ull)
			return -1;
	}
	*out = (unsigned)v;
	return 0;
}

enum fb_pwline_status fb_pwline_parse(const char *p, const char *end, int kind,
				      struct fb_pwline *l)
{
	while (p < end && space(*p))
		p++;
	if (p == end || *p == '#')
		return FB_PWL_SKIP;
	if (memchr(p, '\0', (size_t)(end - p)))
		return FB_PWL_NUL;
	if (*p == '+' || *p == '-')
		return FB_PWL_SKIP;
	int n = 0;
	for (const char *s = p;; n++) {
		const char *c = memchr(s, ':', (size_t)(end - s));
		if (n < kind) {
			l->f[n] = s;
			l->len[n] = (size_t)((c ? c : end) - s);
		}
		if (!c)
			break;
		s = c + 1;
	}
	l->nfields = n + 1;
	if (l->nfields != kind)
		return FB_PWL_FIELDS;
	if (l->len[0] == 0)
		return FB_PWL_NAME;
	int nids = kind == FB_PW_PASSWD ? 2 : 1;
	for (int i = 0; i < nids; i++)
		if (parse_id(l->f[2 + i], l->len[2 + i], &l->id[i]) < 0) {
			l->bad = 2 + i;
			return FB_PWL_ID;
		}
	if (nids == 1)
		l->id[1] = 0;
	return FB_PWL_ENTRY;
}

int fb_pwline_member(const struct fb_pwline *l, const char **pos, const char **m, size_t *mlen)
{
	const char *end = l->f[3] + l->len[3];
	const char *s = *pos ? *pos : l->f[3];
	while (s < end) {
		while (s < end && space(*s))
			s++;
		const char *c = memchr(s, ',', (size_t)(end - s));
		const char *e = c ? c : end;
		*pos = c ? c + 1 : end;
		if (e > s) {
			*m = s;
			*mlen = (size_t)(e - s);
			return 1;
		}
		s = *pos;
	}
	*pos = end;
	return 0;
}
