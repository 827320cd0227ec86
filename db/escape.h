/*
 * escape.h - a file name on one line of text, for the tools that list or
 * name files: protofix's differences, fakebuild --changes, cpiotranslate's
 * messages.  The library itself never prints.
 *
 * A control character, DEL or a backslash is written as a backslash and
 * three octal digits (\012 for a newline, \134 for a backslash), every
 * other byte as it is: a name with a newline stays on its line, a reader
 * turns \ooo back into the byte, and a name holding "\012" itself can be
 * told from one holding a newline.
 */
#ifndef FB_ESCAPE_H
#define FB_ESCAPE_H

#include <stdio.h>

/* NAME, escaped, onto F: 0, or EOF on a write error. */
int fb_escape_put(FILE *f, const char *name);

/* WORD quoted for a POSIX shell, in a new string (NULL: no memory): as it
 * is when it holds only characters no shell treats specially, else in
 * single quotes, a ' as '\''.  For commands a message tells to run. */
char *fb_shell_quote(const char *word);

#endif
