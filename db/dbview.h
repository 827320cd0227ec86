/*
 * dbview.h - a fakebuild database as a session shows it, for the tools
 * that only read one: cpiotranslate --db and protofix --from-db.  Never
 * prints: errors go to `err`.
 *
 * The records come from the live table of a session running on the
 * database, when its owner asks (what a running build just did is seen,
 * as `fakebuild --export` sees it), else from the gdbm file, loaded into
 * a private table nobody else maps, which goes away with the view.  The
 * database is never changed or saved.  The table is the ordinary one, so
 * fb_view, fb_table_get and fb_table_get_xattrs answer as in a session.
 */
#ifndef FB_DBVIEW_H
#define FB_DBVIEW_H

#include "err.h"
#include "table.h"

struct fb_dbview;

enum {
	/*
	 * Another user's database may be read (root applying a build user's
	 * database): the gdbm file only, read without a join, so nothing is
	 * created beside it and that user's shared table is never mapped;
	 * refused while a live table beside it holds changes not yet saved.
	 */
	FB_DBVIEW_ANY_OWNER = 1 << 0,
	/*
	 * The caller is the fakebuild program, where the library, though
	 * preloaded, fakes nothing (preload/init.c): stat sees the disk.
	 */
	FB_DBVIEW_UNFAKED = 1 << 1,
};

/*
 * Open DB (a path; relative to the working directory).  A DB that does
 * not exist, is not a fakebuild database or is damaged is an error naming
 * it.  Returns 0, or -1 with err set.
 */
int fb_dbview_open(const char *db, unsigned flags, struct fb_dbview **out, struct fb_err *err);
struct fb_table *fb_dbview_table(struct fb_dbview *v);
/*
 * Is fakebuild's preload library in this process (run in a session)?
 * Then stat shows the fake state, and records would be looked up by a
 * faked type: a tool that reads or writes a database by the files on
 * disk refuses to run (fb_refuse_in_session: -1 with err naming DB).
 */
int fb_preloaded(void);
int fb_refuse_in_session(const char *db, struct fb_err *err);
/* "the live table of a running session" or "the database file": for -v. */
const char *fb_dbview_source(const struct fb_dbview *v);
void fb_dbview_close(struct fb_dbview *v);

#endif
