/*
 * store.h - the durable fake-ownership store: a gdbm file, loaded into the
 * live table when a session starts and written back when the last one
 * ends.  Included by db/session.c, tools/fakebuild (--check, --gc) and the
 * unit tests.  Never prints: errors go to `err`.
 *
 * Format: the key FB_STORE_META holds "fakebuild-db VERSION".  Records are
 * stored in chunks of up to FB_CHUNK_BYTES: key = "FBc" NUL and the chunk
 * number (u32); value = u32 record count, then per record its dev and ino
 * (2 x u64), struct fb_disk_rec, the path hint (hint_len bytes, NUL
 * included) and the xattr blob (xattr_len bytes); little endian.  A
 * record's three bytes after its version hold the permission bits the
 * file had on disk when recorded (zero in a database written before they
 * existed: such a record's mode is kept whatever the disk says).
 *
 * Why chunks: gdbm writes every stored value with its own system calls
 * (about 30 us a record measured here), which made a session's end cost
 * more than the build step it wrapped; a chunk costs the same.
 */
#ifndef FB_STORE_H
#define FB_STORE_H

#include <stdint.h>
#include "err.h"
#include "table.h"

#define FB_STORE_VERSION 1
#define FB_STORE_META "\0fakebuild"	/* 10 bytes, can never be an inode key */
#define FB_STORE_META_LEN 10
#define FB_CHUNK_BYTES (256 * 1024)

/* What one stored record says (for --check and --export). */
struct fb_store_rec {
	uint64_t dev, ino;
	int64_t btime_sec;
	uint32_t btime_nsec;
	uint32_t real_type;	/* as a live record's (table.h: FB_RT_PERM) */
	uint32_t uid, gid, mode;
	uint64_t rdev;
	const char *hint;	/* NUL-terminated, may be NULL */
	const void *xattrs;
	uint32_t xattr_len;
};

/* Load DB into T.  A missing DB is an empty store.  Returns the number of records, or -1. */
long fb_store_load(const char *db, struct fb_table *t, struct fb_err *err);
/* Does DB start as a gdbm file does?  1 also when it cannot be read (the open will say why). */
int fb_store_gdbm_magic(const char *db);

/* Write T to DB, its own database: a new file, synced, renamed over DB;
 * T is then clean until it changes again.  Returns 0 or -1. */
int fb_store_save(const char *db, struct fb_table *t, struct fb_err *err);
/* The same into FILE, a copy (fakebuild -s): T stays as dirty as it was,
 * so its own database is still saved at the session's end. */
int fb_store_save_copy(const char *file, struct fb_table *t, struct fb_err *err);

/* Visit every record of DB read-only; FN returns non-zero to stop.  Returns records visited or -1. */
typedef int (*fb_store_visit_fn)(const struct fb_store_rec *r, void *arg);
long fb_store_foreach(const char *db, fb_store_visit_fn fn, void *arg, struct fb_err *err);

/*
 * The same two with FLAGS.  FB_STORE_ANY_OWNER reads a database another
 * user owns, which the others refuse: root reading a build user's
 * database to apply it (protofix --from-db), never to write it.
 * FB_STORE_FRESH (load only): T is new, empty and used by nobody else
 * yet, so it is filled in bulk (fb_table_fill_begin, table_impl.h).
 */
enum { FB_STORE_ANY_OWNER = 1 << 0, FB_STORE_FRESH = 1 << 1 };
long fb_store_load_flags(const char *db, struct fb_table *t, unsigned flags, struct fb_err *err);
long fb_store_foreach_flags(const char *db, unsigned flags, fb_store_visit_fn fn, void *arg,
			    struct fb_err *err);

#endif
