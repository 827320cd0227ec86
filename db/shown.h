/*
 * shown.h - a name as the tools' messages show it.  Included by tools/
 * (protofix, cpiotranslate); the library itself never prints.
 */
#ifndef FB_SHOWN_H
#define FB_SHOWN_H

#include <stddef.h>

/*
 * S with each control character and backslash written as \ooo, so that a
 * name holding a newline stays on its message's line and a name holding
 * "\012" itself can be told from it.  Like snprintf: at most OUTLEN bytes
 * with the NUL go to OUT; returns the length the whole takes.
 */
size_t fb_shown(char *out, size_t outlen, const char *s);

#endif
