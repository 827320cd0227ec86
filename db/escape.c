/* escape.c - a file name on one line of text (escape.h). */
#include <stdlib.h>
#include <string.h>

#include "escape.h"

int fb_escape_put(FILE *f, const char *name)
{
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		int r = *c < ' ' || *c == 0x7f || *c == '\\' ? fprintf(f, "\\%03o", *c) : putc(*c, f);
		if (r < 0)
			return EOF;
	}
	return 0;
}

char *fb_shell_quote(const char *word)
{
	static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:@%+=,-";
	size_t n = strlen(word);
	if (n && strspn(word, plain) == n)
		return strdup(word);
	size_t q = 0;
	for (const char *c = word; *c; c++)
		q += *c == '\'';
	char *out = malloc(n + 3 * q + 3), *o = out;
	if (!out)
		return NULL;
	*o++ = '\'';
	for (const char *c = word; *c; c++) {
		if (*c == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *c;
		}
	}
	*o++ = '\'';
	*o = 0;
	return out;
}
