/*
 * cpiotranslate.h - internal interface of the cpiotranslate tool.
 * Included only by the .c files of tools/cpiotranslate.
 */
#ifndef CPIOTRANSLATE_H
#define CPIOTRANSLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include "manifest.h"

#define PROG "cpiotranslate"
#define VERSION "0.1"

/* Exit statuses (documented in cpiotranslate.1). */
enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2 };

/* msg.c: every message goes through these two. */
#include <stdarg.h>
void vwarnx(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* libarchive's message for the last error on A, never NULL. */
const char *errstr(struct archive *a);
/* The same for a write error, with the system's reason when there is one. */
const char *werrstr(struct archive *a);
/* A file die() removes before exiting (the temporary output). */
void die_set_cleanup(const char *path);

/* cut.c: an output written in place (not -o's temporary) that an error cuts.
 * FD is OUT's, BLOCKS for an uncompressed tar, BLOCK libarchive's output block. */
void cut_init(int fd, struct archive *out, bool blocks, int64_t block);
/* An entry's header was written (BEGIN), or all of it (not BEGIN). */
void cut_entry(bool begin);
/* End the output with bytes no tar or cpio reader takes for a whole archive (once). */
void cut_output(void);

/* How an archive format stores the data of hard-linked files. */
enum link_conv {
	LINK_FIRST,	/* tar: data with the first name, later names are links */
	LINK_LAST,	/* cpio newc/crc: data with the last name, others empty */
	LINK_EVERY,	/* cpio odc/bin: every name carries the data */
};

/* format.c: the formats and filters we read and write. */
/* The largest uid or gid libarchive's ustar and v7 writers put in a
 * header: six octal digits (2^18 - 1), not the seven the field has room
 * for; its restricted pax writer adds an extended header past it. */
#define USTAR_ID_MAX 0777777u
struct outfmt {
	const char *name;	/* "newc", "ustar", ... */
	int code;		/* ARCHIVE_FORMAT_* written */
	int (*set)(struct archive *);
	uint64_t id_max;	/* largest uid/gid the headers hold */
	enum link_conv links;
	unsigned last_block;	/* pad an unfiltered archive to this */
};
const struct outfmt *outfmt_by_name(const char *name);
/* The writer for what the reader reported; NULL with *why set if none. */
const struct outfmt *outfmt_for_input(int read_code, const char **why);
const char *format_label(int read_code);
enum link_conv input_link_conv(int read_code);
int filter_by_name(const char *name);	/* ARCHIVE_FILTER_*, -1 if unknown */
const char *filter_names(void);
const char *format_names(void);

/* A hard-linked inode whose names are still arriving (newc input). */
struct linkgroup {
	struct { int64_t dev, ino; } key;
	unsigned seen;			/* names seen so far */
	unsigned nlink;
	bool kept;			/* some name was written or held */
	char *dataname;			/* name written with the data (tar output) */
	struct archive_entry **held;	/* names waiting for the data (tar output) */
	size_t nheld;
	UT_hash_handle hh;
};

/* A manifest entry found in the archive (for --add-missing and -v). */
struct seen {
	const struct fb_mentry *me;
	UT_hash_handle hh;
};

struct dbsrc;

struct ct {
	/* options */
	struct fb_manifest *m;		/* -m, or NULL with --db */
	struct dbsrc *db;		/* --db: the attributes come from the database */
	char **exc;			/* -e patterns, normalized */
	size_t nexc;
	bool strict, drop_unlisted, add_missing, check, verbose;
	const struct outfmt *want_fmt;	/* --format, or NULL: as read */
	int want_filter;		/* --filter, or -1: as read */

	/* the run */
	struct archive *in, *out;	/* out is NULL with --check */
	const char *out_name;		/* -o's file, or "stdout": for write errors */
	const struct outfmt *fmt;	/* what is written */
	int in_code;			/* ARCHIVE_FORMAT_* of the current entry */
	enum link_conv in_links;
	bool out_dead;			/* an error stopped the output */
	const char *prefix;		/* "./", "/" or "": how the input names paths */
	struct seen *seen;
	struct linkgroup *groups;
	char *prev;			/* last entry read, for error messages */

	/* counters for -v and the exit status */
	unsigned long entries, changed, unlisted, expected, dropped, added;
	uint64_t max_ino;		/* the input's largest inode number: added entries go above */
	unsigned long errors, diffs;
};

/* translate.c */
void translate_entry(struct ct *ct, struct archive_entry *e);
void translate_finish(struct ct *ct);
void write_entry(struct ct *ct, struct archive_entry *e, bool has_data);
/* Remove E's xattrs whose name DROP accepts; the others stay, in order. */
void drop_xattrs(struct archive_entry *e, bool (*drop)(const char *name));
void error(struct ct *ct, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A difference (-n): reported and counted. */
void diff(struct ct *ct, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* db.c: --db DB --root DIR. */
void db_open(struct ct *ct, const char *db, const char *root, const char *passwd,
	     const char *group);
void db_close(struct ct *ct);
const char *db_root(const struct ct *ct);
/*
 * The entry KEY (NAME normalized) as a session shows the file ROOT/KEY,
 * with its recorded xattrs kept for db_xattrs; NULL when there is no such
 * file.  Valid until the next lookup.
 */
const struct fb_mentry *db_lookup(struct ct *ct, const char *name, const char *key);
/* The xattrs and ACLs of E as the session shows the file looked up last. */
void db_xattrs(struct ct *ct, struct archive_entry *e);
void db_compare_xattrs(struct ct *ct, struct archive_entry *e, const char *name);

#endif
