/*
 * db.c - --db: the manifest's ownership goes into the fakebuild store
 * instead of the tree, for a user who cannot chown.  Later fakebuild
 * sessions on the same database (tar, cpio, dpkg-deb) see it.
 */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include "dbview.h"
#include "protofix.h"
#include "session.h"

void pf_db_open(struct pf *pf)
{
	char path[PATH_MAX];
	struct fb_err err;
	/* A check only reads: never create or save the database for it. */
	unsigned flags = pf->o.fix && !pf->o.dry_run ? 0 : FB_SESSION_READONLY;

	if (fb_db_path(pf->o.db_file, path, sizeof path, &err) < 0 ||
	    fb_refuse_in_session(path, &err) < 0)
		die("%s", err.msg);
	/* A check of a database that does not exist: no records, and nothing
	 * made for it (its directory, its lock). */
	char live[PATH_MAX + 8];
	snprintf(live, sizeof live, "%s.live", path);
	if (flags && access(path, F_OK) != 0 && access(live, F_OK) != 0)
		return;
	if (fb_session_join(path, flags, &pf->sess, &err) < 0)
		die("%s", err.msg);
	pf->table = fb_session_table(pf->sess);
	/*
	 * A read-only join maps a live table only while a session runs; with
	 * none, the records are in the gdbm file alone.  Join for real to load
	 * them: the last one out saves only when the table changed, and a check
	 * changes nothing.  No database file: no records, nothing to load.
	 */
	if (!pf->table && flags && access(path, F_OK) == 0) {
		pf_db_close(pf);
		if (fb_session_join(path, 0, &pf->sess, &err) < 0)
			die("%s", err.msg);
		pf->table = fb_session_table(pf->sess);
	}
}

void pf_db_close(struct pf *pf)
{
	struct fb_err err;

	if (!pf->sess)
		return;
	/* The last session out writes the table back to the gdbm file. */
	if (fb_session_leave(pf->sess, &err) < 0) {
		warn("%s", err.msg);
		pf->nerr++;
	}
	pf->sess = NULL;
	pf->table = NULL;
}
