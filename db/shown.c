/* shown.c - a name as messages show it (see shown.h). */
#include <stdio.h>
#include "shown.h"

size_t fb_shown(char *out, size_t outlen, const char *s)
{
	size_t n = 0;

	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char esc[5];
		size_t k = 1;

		if (*c < ' ' || *c == 0x7f || *c == '\\')
			k = (size_t)snprintf(esc, sizeof esc, "\\%03o", *c);
		else
			esc[0] = (char)*c;
		for (size_t i = 0; i < k; i++, n++)
			if (n + 1 < outlen)
				out[n] = esc[i];
	}
	if (outlen)
		out[n < outlen ? n : outlen - 1] = '\0';
	return n;
}
