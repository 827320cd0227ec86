/*
 * store.h - the durable fake-ownership store: a gdbm file, loaded into the
 * live table when a session starts and written back when the last one
 * ends.  Included by db/session.c, tools/fakebuild (--check, --gc) and the
 * unit tests.  Never prints: errors go to `err`.
 *
 * Format: one gdbm record per inode, key = dev and ino (2 x u64, little
 * endian), value = struct fb_disk_rec, then the path hint (hint_len
 * bytes), then the xattr blob (xattr_len bytes).  The key FB_STORE_META
 * holds "fakebuild-db VERSION".
 */
#ifndef FB_STORE_H
#define FB_STORE_H

#include <stdint.h>
#include "err.h"
#include "table.h"

#define FB_STORE_VERSION 1
#define FB_STORE_META "\0fakebuild"	/* 10 bytes, can never be an inode key */
#define FB_STORE_META_LEN 10

/* What one stored record says (for --check and --export). */
struct fb_store_rec {
	uint64_t dev, ino;
	int64_t btime_sec;
	uint32_t btime_nsec, real_type;
	uint32_t uid, gid, mode;
	uint64_t rdev;
	const char *hint;	/* NUL-terminated, may be NULL */
	const void *xattrs;
	uint32_t xattr_len;
};

/* Load DB into T.  A missing DB is an empty store.  Returns the number of records, or -1. */
long fb_store_load(const char *db, struct fb_table *t, struct fb_err *err);

/* Write T to DB: a new file, synced, renamed over DB.  Returns 0 or -1. */
int fb_store_save(const char *db, struct fb_table *t, struct fb_err *err);

/* Visit every record of DB read-only; FN returns non-zero to stop.  Returns records visited or -1. */
typedef int (*fb_store_visit_fn)(const struct fb_store_rec *r, void *arg);
long fb_store_foreach(const char *db, fb_store_visit_fn fn, void *arg, struct fb_err *err);

#endif
