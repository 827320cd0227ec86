/*
 * escape.h - a file name on one line of text, for the tools that list
 * names one per line: protofix's differences, fakebuild --changes.
 *
 * A control character, DEL or a backslash is written as a backslash and
 * three octal digits (\012 for a newline, \134 for a backslash), every
 * other byte as it is: a name with a newline stays on its line, and a
 * reader turns \ooo back into the byte.
 */
#ifndef FB_ESCAPE_H
#define FB_ESCAPE_H

#include <stdio.h>

/* NAME, escaped, onto F: 0, or EOF on a write error. */
int fb_escape_put(FILE *f, const char *name);

#endif
