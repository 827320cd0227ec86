/*
 * manifest.h - the packaging manifest: "who owns this path, with what mode".
 *
 * Included by db/manifest*.c, tools/cpiotranslate, tools/protofix and the
 * unit tests.  One in-memory model, filled by the readers of every format
 * (SVR4 prototype(4), IPS pkg(5), mtree(5) through libarchive, Linux
 * gen_init_cpio lists, fakebuild --export).  The library never prints and
 * never exits: errors and warnings are kept on the handle.
 */
#ifndef FB_MANIFEST_H
#define FB_MANIFEST_H

#include <stddef.h>
#include <sys/types.h>
#include <uthash.h>

enum fb_mtype {
	FB_M_FILE,
	FB_M_DIR,
	FB_M_SYMLINK,
	FB_M_HARDLINK,	/* another name of `target`; attributes copied from it */
	FB_M_CHAR,
	FB_M_BLOCK,
	FB_M_FIFO,
	FB_M_SOCKET,
};

/* Which optional fields of an entry are set. */
enum {
	FB_MH_UID = 1 << 0,	/* uid valid (resolved from uname if needed) */
	FB_MH_GID = 1 << 1,	/* gid valid */
	FB_MH_MODE = 1 << 2,	/* perm valid */
	FB_MH_RDEV = 1 << 3,	/* dev_major/dev_minor valid */
	FB_MH_TARGET = 1 << 4,	/* target valid */
};

struct fb_mentry {
	char *path;		/* normalized: "usr/bin/ls"; the root itself is "." */
	enum fb_mtype type;
	unsigned have;		/* FB_MH_* */
	uid_t uid;
	gid_t gid;
	char *uname;		/* NULL when the manifest gave a number */
	char *gname;
	mode_t perm;		/* 07777 bits only */
	unsigned dev_major, dev_minor;
	char *target;		/* symlink target (verbatim) or hardlink target (normalized) */
	const char *file;	/* where it was defined (owned by the manifest) */
	unsigned line;
	UT_hash_handle hh;
};

enum fb_mformat {
	FB_MF_AUTO,
	FB_MF_PROTOTYPE,	/* SVR4 prototype(4) */
	FB_MF_IPS,		/* IPS pkg(5) manifest */
	FB_MF_MTREE,		/* mtree(5), FreeBSD METALOG, fakebuild --export */
	FB_MF_CPIOLIST,		/* Linux usr/gen_init_cpio list */
};

struct fb_manifest;

/* Returns NULL only when out of memory. */
struct fb_manifest *fb_manifest_new(void);
void fb_manifest_free(struct fb_manifest *m);

/*
 * Names resolve through these files (the target system's) when set, the
 * host's passwd and group databases otherwise.  Either may be NULL.  Must
 * be called before the first load.  Returns 0, or -1 with the error set.
 */
int fb_manifest_set_names(struct fb_manifest *m, const char *passwd_file,
			  const char *group_file);

/*
 * Read FILE ("-" is stdin) into the model.  Later entries override earlier
 * ones (a warning is recorded).  Returns 0, or -1 with the error set
 * ("FILE:LINE: what was expected, what was found").
 */
int fb_manifest_load(struct fb_manifest *m, const char *file, enum fb_mformat fmt);

/*
 * The same with the text already in memory (LEN bytes; it need not end in
 * a NUL).  NAME is used in messages, and a prototype's !include is relative
 * to its directory.  Added for callers that hold the text, and the fuzzers.
 */
int fb_manifest_load_mem(struct fb_manifest *m, const char *name,
			 const void *buf, size_t len, enum fb_mformat fmt);

/* Parse a format name ("prototype", "ips", "mtree", "cpiolist", "auto"). */
int fb_manifest_format_parse(const char *name, enum fb_mformat *out);
const char *fb_manifest_format_name(enum fb_mformat fmt);

const char *fb_manifest_error(const struct fb_manifest *m);
size_t fb_manifest_nwarnings(const struct fb_manifest *m);
const char *fb_manifest_warning(const struct fb_manifest *m, size_t i);

/* Look up PATH (normalized first: "./usr/bin", "/usr/bin/" and "usr//bin" are one key). */
const struct fb_mentry *fb_manifest_find(const struct fb_manifest *m, const char *path);
size_t fb_manifest_count(const struct fb_manifest *m);

/*
 * Entries sorted by path (parents before children); the array is owned by
 * the manifest and valid until the next load or free.  Sets *n.
 */
const struct fb_mentry *const *fb_manifest_sorted(struct fb_manifest *m, size_t *n);

/*
 * Normalize PATH into OUT: strip leading "/" and "./", collapse "//" and
 * "/./", drop a trailing "/"; the root ("", "/", ".", "./") becomes ".".
 * Returns 0, -EINVAL for a ".." component, -ENAMETOOLONG if OUT is short.
 */
int fb_path_normalize(const char *path, char *out, size_t outlen);

/* "file", "dir", "symlink", "hardlink", "char", "block", "fifo", "socket" */
const char *fb_mtype_name(enum fb_mtype t);
/* The S_IFMT bits of a type (S_IFREG for FB_M_HARDLINK). */
mode_t fb_mtype_to_ifmt(enum fb_mtype t);
/* The type of a file whose st_mode is MODE (a regular file for FB_M_FILE). */
enum fb_mtype fb_mtype_of_ifmt(mode_t mode);

#endif
