/* escape.c - a file name on one line of text (escape.h). */
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
