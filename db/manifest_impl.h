/*
 * manifest_impl.h - private to db/manifest*.c: the handle, the reader's
 * cursor and the helpers every format reader shares.  Nothing outside db/
 * includes this; the contract with the tools is db/manifest.h.
 */
#ifndef FB_MANIFEST_IMPL_H
#define FB_MANIFEST_IMPL_H

#include "manifest.h"

/*
 * An entry as stored.  `e` comes first: the hash holds &e and we get back
 * with a cast.  `own` is what the manifest said itself, as opposed to what
 * a hard link copied from its target; only `own` bits take part in the
 * hard link conflict check, so a later load may change the target.
 */
struct fb_mpriv {
	struct fb_mentry e;
	unsigned own;
};

/* name -> id, read from a passwd or group file given to set_names. */
struct fb_idmap {
	char *name;
	unsigned id;
	UT_hash_handle hh;
};

struct fb_manifest {
	struct fb_mentry *tab;		/* uthash head, keyed by e.path */
	char *err;
	char **warn;
	size_t nwarn;
	char **files;			/* every file name an entry points to */
	size_t nfiles;
	const struct fb_mentry **sorted;	/* cache, dropped by each load */
	struct fb_idmap *users, *groups;
	char *passwd_file, *group_file;	/* NULL: the host's databases */
	int loaded;
};

/* The reader's cursor: the manifest being filled (a temporary) and where. */
struct fb_mctx {
	struct fb_manifest *m;		/* the temporary of this load */
	struct fb_manifest *names;	/* whose passwd/group tables to use */
	const char *file;		/* owned by m */
	unsigned line;			/* 0: no line numbers (mtree) */
	const char *entry;		/* with line 0: the entry being read */
};

#define FB_MF_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* "FILE:LINE: msg" as the handle's error; always returns -1. */
int fb_mf_error(struct fb_mctx *c, const char *fmt, ...) FB_MF_PRINTF(2, 3);
/* The same text appended to the handle's warnings. */
void fb_mf_warn(struct fb_mctx *c, const char *fmt, ...) FB_MF_PRINTF(2, 3);
/* Set the handle's error without a location; returns -1. */
int fb_mf_seterr(struct fb_manifest *m, const char *fmt, ...) FB_MF_PRINTF(2, 3);

/* Keep NAME for the life of the manifest; NULL when out of memory. */
const char *fb_mf_intern_file(struct fb_manifest *m, const char *name);

/*
 * Read FILE ("-" is stdin) whole, NUL-terminated.  A file holding a NUL
 * byte is refused: none of the formats is binary.  When REGULAR_ONLY, a
 * FILE that is not a regular file is refused (for !include, so a manifest
 * can not make us block on a fifo or read /dev/zero forever).
 */
int fb_mf_read_all(struct fb_mctx *c, const char *file, int regular_only,
		   char **buf, size_t *len);

/* A new entry for PATH (normalized; errors name the line), not yet added. */
struct fb_mentry *fb_mf_entry_new(struct fb_mctx *c, const char *path,
				  enum fb_mtype type);
void fb_mf_entry_free(struct fb_mentry *e);
/* Add E to the temporary; a previous entry of that path is replaced with a warning. */
void fb_mf_add(struct fb_mctx *c, struct fb_mentry *e);

/* Field setters: each checks its text and reports "expected X, found Y". */
int fb_mf_set_owner(struct fb_mctx *c, struct fb_mentry *e, const char *s);
int fb_mf_set_group(struct fb_mctx *c, struct fb_mentry *e, const char *s);
int fb_mf_set_mode(struct fb_mctx *c, struct fb_mentry *e, const char *s);
int fb_mf_set_rdev(struct fb_mctx *c, struct fb_mentry *e, const char *maj,
		   const char *min);
/* Symlink target, kept verbatim. */
int fb_mf_set_symlink(struct fb_mctx *c, struct fb_mentry *e, const char *t);
/*
 * Hard link target: absolute ("/usr/bin/a") or, when RELATIVE_TO_LINK,
 * relative to the link's directory as ln(1) would read it; else relative
 * to the manifest's root.  ".." is resolved here, never past the root.
 */
int fb_mf_set_hardlink(struct fb_mctx *c, struct fb_mentry *e, const char *t,
		       int relative_to_link);

/* Parse an unsigned decimal number; 0 or -1. */
int fb_mf_parse_uint(const char *s, unsigned long max, unsigned long *out);
/* Parse an octal mode up to 07777; 0, -EINVAL (not octal) or -ERANGE. */
int fb_mf_parse_mode(const char *s, unsigned long *out);

/* (uid_t)-1 means "no change" to chown(2): never a real owner. */
#define FB_ID_MAX 4294967294UL

/* Next whitespace-separated token of *P, NUL-terminated in place; NULL at the end. */
char *fb_mf_token(char **p);
/* The next line of *P (NUL-terminated in place), counting c->line; NULL at the end. */
char *fb_mf_next_line(struct fb_mctx *c, char **p);

/* The readers: BUF is NUL-terminated, writable, LEN bytes. */
int fb_mf_parse_prototype(struct fb_mctx *c, char *buf, size_t len);
int fb_mf_parse_ips(struct fb_mctx *c, char *buf, size_t len);
int fb_mf_parse_mtree(struct fb_mctx *c, char *buf, size_t len);
int fb_mf_parse_cpiolist(struct fb_mctx *c, char *buf, size_t len);

#endif
