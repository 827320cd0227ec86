/*
 * dbview.c - a database as a session shows it, read only (see dbview.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbview.h"
#include "session.h"
#include "store.h"

struct fb_dbview {
	struct fb_session *sess;	/* a read-only join, when it gave a live table */
	struct fb_table *own;		/* else the private table */
	const char *source;
};

/* What a table must hold to take a database's records: their number,
 * and the bytes their hints and xattr blobs take in its arena. */
struct need {
	uint64_t recs, bytes;
};

static int count_one(const struct fb_store_rec *r, void *arg)
{
	struct need *n = arg;
	n->recs++;
	n->bytes += (r->hint ? strlen(r->hint) + 1 + 8 : 0) + (r->xattr_len ? r->xattr_len + 8 : 0);
	return 0;
}

/*
 * The gdbm file DB loaded into a table of our own.  The table's file is
 * unlinked as soon as it is mapped: nobody else can find it, and it goes
 * away with the mapping, whatever ends the process.
 */
static int load_private(struct fb_dbview *v, const char *db, unsigned store_flags,
			struct fb_err *err)
{
	struct need n = { 0, 0 };
	if (fb_store_foreach_flags(db, store_flags, count_one, &n, err) < 0)
		return -1;
	const char *dir = getenv("TMPDIR");
	if (!dir || *dir != '/')
		dir = "/tmp";
	char path[PATH_MAX];
	static unsigned serial;
	snprintf(path, sizeof path, "%s/.fakebuild-view.%ld.%u", dir, (long)getpid(), serial++);
	/* Room for what the file holds; a stale record found later only leaves. */
	int rc = fb_table_create(path, fb_table_capacity_for(n.recs, n.bytes) + 64, &v->own);
	if (rc < 0)
		return fb_err_set(err, "%s: cannot make a table to read %s into: %s", path, db,
				  strerror(-rc));
	unlink(path);
	if (fb_store_load_flags(db, v->own, store_flags | FB_STORE_FRESH, err) < 0)
		return -1;
	v->source = "the database file";
	return 0;
}

/* Whether the library is mapped: its name in /proc/self/maps. */
int fb_preloaded(void)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, "/libfakebuild.so") != NULL;
	fclose(f);
	return found;
}

int fb_refuse_in_session(const char *db, struct fb_err *err)
{
	if (!fb_preloaded())
		return 0;
	return fb_err_set(err, "%s: run outside fakebuild: inside a session, stat shows the fake "
			  "state instead of the files on disk the records are found by", db);
}

/* DB.live beside DB: a session is running on DB, or one was killed.  Its owner in *UID. */
static int has_live(const char *db, uid_t *uid)
{
	char live[PATH_MAX + 8];
	struct stat st;
	snprintf(live, sizeof live, "%s.live", db);
	if (lstat(live, &st) < 0)
		return 0;
	if (uid)
		*uid = st.st_uid;
	return 1;
}

int fb_dbview_open(const char *db, unsigned flags, struct fb_dbview **out, struct fb_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	if (!(flags & FB_DBVIEW_UNFAKED) && fb_refuse_in_session(db, err) < 0)
		return -1;
	if (fb_db_path(db, path, sizeof path, err) < 0)
		return -1;
	uid_t owner, live_owner;
	int exists = lstat(path, &st) == 0;
	if (!exists && errno != ENOENT)
		return fb_err_set(err, "%s: %s", path, strerror(errno));
	int live = has_live(path, &live_owner);
	if (!exists && !live)
		return fb_err_set(err, "%s: no such fakebuild database", path);
	if (exists && !S_ISREG(st.st_mode))
		return fb_err_set(err, "%s: not a regular file, so not a fakebuild database", path);
	/* A database a session has not saved yet is its live table's owner's. */
	owner = exists ? st.st_uid : live_owner;
	int mine = owner == getuid();
	if (!mine && !(flags & FB_DBVIEW_ANY_OWNER))
		return fb_err_set(err, "%s: owned by uid %u, not by you (uid %u): refusing to use it",
				  path, (unsigned)owner, (unsigned)getuid());
	if (!mine && live)
		return fb_err_set(err, "%s.live: a fakebuild session of uid %u is using %s, or one was "
				  "killed: its changes are not in the database yet; let it end (after a "
				  "killed one, `fakebuild -d %s true` as uid %u saves them)",
				  path, (unsigned)live_owner, path, path, (unsigned)live_owner);
	struct fb_dbview *v = calloc(1, sizeof *v);
	if (!v)
		return fb_err_set(err, "out of memory");
	int rc = 0;
	/*
	 * A running session's live table, or the one a killed session left,
	 * holds what the file does not yet.  Only then join: a join with no
	 * table would hold DB.users, and a session starting meanwhile would
	 * take us for a session whose table is missing.
	 */
	if (mine && live) {
		rc = fb_session_join(path, FB_SESSION_READONLY, &v->sess, err);
		if (rc == 0 && fb_session_table(v->sess)) {
			v->source = "the live table of a running session";
			*out = v;
			return 0;
		}
		if (rc == 0)
			fb_session_leave(v->sess, err);
		v->sess = NULL;
	}
	if (rc == 0)
		rc = load_private(v, path, mine ? 0 : FB_STORE_ANY_OWNER, err);
	if (rc < 0) {
		fb_dbview_close(v);
		return -1;
	}
	*out = v;
	return 0;
}

struct fb_table *fb_dbview_table(struct fb_dbview *v)
{
	return v->own ? v->own : fb_session_table(v->sess);
}

const char *fb_dbview_source(const struct fb_dbview *v)
{
	return v->source;
}

void fb_dbview_close(struct fb_dbview *v)
{
	struct fb_err err;
	if (!v)
		return;
	fb_table_detach(v->own);
	/* Read only: leaving never saves, so it cannot fail in a way that matters here. */
	if (v->sess)
		fb_session_leave(v->sess, &err);
	free(v);
}
