/*
 * session.h - joining and leaving the fake-ownership store of a database.
 *
 * Included by tools/fakebuild and tools/protofix (--db).  A session attaches
 * the live table of database DB (creating it from the gdbm file when no
 * other session uses it) and, on leaving, writes the table back to the gdbm
 * file when it was the last session.  Never prints: errors go to `err`.
 */
#ifndef FB_SESSION_H
#define FB_SESSION_H

#include <sys/types.h>
#include "err.h"
#include "table.h"

struct fb_session;


enum {
	FB_SESSION_READONLY = 1 << 0,	/* --check/--export: never create or save */
};

/*
 * The database path: DB when non-NULL, else $FAKEBUILD_DB, else
 * $XDG_STATE_HOME/fakebuild/fakebuild.db ($HOME/.local/state when unset),
 * else, when that directory cannot be made or written, $TMPDIR/fakebuild-UID
 * (made here, mode 0700, and checked to be ours).
 * Returns 0, or -1 with err set.
 */
int fb_db_path(const char *db, char *out, size_t outlen, struct fb_err *err);
/* $TMPDIR/fakebuild-UID (else /tmp), made if need be, in DIR (LEN bytes):
 * where the default database, and a build root's cache of archive bases,
 * go when HOME cannot hold them.  It must be a directory of the user's
 * that nobody else may write.  0, or -1 with ERR naming WHAT it was for
 * and, when another user holds the name, what to do INSTEAD. */
int fb_tmp_dir(const char *what, const char *instead, char *dir, size_t len, struct fb_err *err);
/*
 * Whether directory DIR (the database's, a cache's) can be used or made:
 * its nearest existing ancestor is a directory we may write (no side
 * effect).  sbuild and buildds run builds with HOME=/nonexistent or
 * unwritable.
 */
int fb_dir_usable(const char *dir);
/*
 * A table file is sparse and every process maps it whole, so a file size
 * limit (ulimit -f) or an address space limit (ulimit -v) may refuse it:
 * which one RC (-EFBIG, -ENOMEM) says was, or NULL.
 */
const char *fb_limit_hit(int rc);

/* Join (or start) the session of database DB (a resolved path).  Returns 0 or -1 with err set. */
int fb_session_join(const char *db, unsigned flags, struct fb_session **out, struct fb_err *err);
struct fb_table *fb_session_table(struct fb_session *s);
const char *fb_session_table_path(const struct fb_session *s);
/* The database's path, as resolved when joining. */
const char *fb_session_db(const struct fb_session *s);

/* Keep the live table file when leaving even if last (processes of the session are still running). */
void fb_session_keep_table(struct fb_session *s);
/* The database's directory, if it was removed during the session (an
 * rm -rf of the build tree that held it), made again so that leaving
 * saves the session's records there: 1 when made, 0 when it is there, or
 * -1 with ERR set. */
int fb_session_remake_dir(struct fb_session *s, struct fb_err *err);

/* Leave; the last session out saves the table to the gdbm file.  Returns 0, 1 when the
 * table file stays because processes of a killed session still write to it, or -1
 * with err set. */
int fb_session_leave(struct fb_session *s, struct fb_err *err);

#endif
