/*
 * pwfile.h - one line of a passwd(5) or group(5) file, parsed where it
 * lies.  Included by preload/pwd.c (a session's name lookups through the
 * target's files) and tools/fakebuild/names.c (checking those files before
 * the session starts), so the lines the command accepts are exactly the
 * lines the library answers from.  libc only, no allocation, no system
 * call: linked into the preload library.
 */
#ifndef FB_PWFILE_H
#define FB_PWFILE_H

#include <stddef.h>

/* A file's kind is its number of fields. */
#define FB_PW_PASSWD 7	/* name:password:uid:gid:gecos:directory:shell */
#define FB_PW_GROUP 4	/* name:password:gid:member,member,... */

enum fb_pwline_status {
	FB_PWL_ENTRY,	/* an entry: the fields are set */
	FB_PWL_SKIP,	/* blank, a comment (#), or an NIS "+"/"-" line */
	FB_PWL_FIELDS,	/* not KIND fields: nfields says how many */
	FB_PWL_NAME,	/* an empty name */
	FB_PWL_ID,	/* field `bad` is not a decimal id below 4294967295 */
	FB_PWL_NUL,	/* a NUL byte */
};

struct fb_pwline {
	const char *f[FB_PW_PASSWD];	/* each field's first byte, not terminated */
	size_t len[FB_PW_PASSWD];
	unsigned id[2];			/* field 2 (uid or gid), field 3 (passwd's gid) */
	int nfields;
	int bad;
};

/*
 * Parse the line [P, END), without its newline, of a file whose lines
 * have KIND fields.  As glibc's files service reads them: leading white
 * space is skipped, blank and "#" lines are no entries, nor are the NIS
 * compat lines beginning with + or -, which a files lookup never matches.
 * Stricter than glibc where it guesses: a line must have exactly KIND
 * fields, a non-empty name and decimal ids.
 */
enum fb_pwline_status fb_pwline_parse(const char *p, const char *end, int kind,
				      struct fb_pwline *l);

/* The end of the line starting at P: its newline, or END. */
const char *fb_pwline_end(const char *p, const char *end);

/*
 * The group members of field 3 (L from a group line), one per call: the
 * next after *POS (start with *POS = NULL) in *M and *MLEN; 0 at the end.
 * Leading white space is skipped and empty members dropped, as glibc does.
 */
int fb_pwline_member(const struct fb_pwline *l, const char **pos, const char **m, size_t *mlen);

#endif
