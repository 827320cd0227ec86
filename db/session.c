/*
 * session.c - joining and leaving the store of a database (see session.h).
 *
 * Files beside the database DB:
 *   DB.lock   flock()ed exclusively while a session starts or ends, so
 *             those steps never interleave
 *   DB.users  every member session holds a shared flock on it; whoever
 *             can take it exclusively is alone
 *   DB.live   the live table, shared by all member sessions
 * The kernel drops flocks when a process dies, so a killed session never
 * wedges the next one.  A DB.live found with no member session is what a
 * killed session left: it holds every acknowledged change, so it is saved
 * into DB (merged) and used, never discarded.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "session.h"
#include "store.h"
#include "table_impl.h"

struct fb_session {
	char db[PATH_MAX];
	char live[PATH_MAX + 8];
	char lock[PATH_MAX + 8];
	char users[PATH_MAX + 8];
	int lockfd, usersfd;
	unsigned flags;
	int keep_table;
	struct fb_table *t;
};

/* DB's directory into DIR: 1, or 0 when it is / or there is none. */
static int db_dir(const char *db, char dir[PATH_MAX])
{
	snprintf(dir, PATH_MAX, "%s", db);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	return 1;
}

static int mkdirs(char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		int rc = mkdirs(dir);
		*slash = '/';
		if (rc < 0)
			return rc;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int fb_dir_usable(const char *dir)
{
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof p, "%s", dir) >= sizeof p)
		return 0;
	for (;;) {
		struct stat st;
		if (stat(p, &st) == 0)
			return S_ISDIR(st.st_mode) && access(p, W_OK | X_OK) == 0;
		if (errno != ENOENT)
			return 0;
		char *slash = strrchr(p, '/');
		if (!slash)
			return 0;
		if (slash == p)
			slash[1] = 0;
		else
			*slash = 0;
	}
}

/*
 * $TMPDIR/fakebuild-UID (else /tmp), a directory of our own with mode
 * 0700: the default database's when the state directory cannot be used,
 * and a build root's cache's when HOME cannot hold it.  In a shared /tmp
 * another user could have made that name first, so it must be a real
 * directory, ours, that nobody else may write.
 */
int fb_tmp_dir(const char *what, const char *instead, char *dir, size_t len, struct fb_err *err)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || *tmp != '/')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, len, "%s/fakebuild-%u", tmp, (unsigned)getuid()) >= len)
		return fb_err_set(err, "%s: path too long", tmp);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return fb_err_set(err, "%s: cannot create the %s directory (the one under $HOME "
				  "cannot be used either): %s", dir, what, strerror(errno));
	struct stat st;
	if (lstat(dir, &st) < 0)
		return fb_err_set(err, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022))
		return fb_err_set(err, "%s: not a directory of yours that only you may write: "
				  "refusing to keep the %s there (%s)", dir, what, instead);
	return 0;
}

static int tmp_db_path(char *out, size_t outlen, struct fb_err *err)
{
	char dir[PATH_MAX];
	if (fb_tmp_dir("database", "give -d FILE", dir, sizeof dir, err) < 0)
		return -1;
	if ((size_t)snprintf(out, outlen, "%s/fakebuild.db", dir) >= outlen)
		return fb_err_set(err, "database path too long");
	return 0;
}

int fb_db_path(const char *db, char *out, size_t outlen, struct fb_err *err)
{
	const char *env = getenv("FAKEBUILD_DB");
	int n;
	if (db && *db)
		n = snprintf(out, outlen, "%s", db);
	else if (env && *env)
		n = snprintf(out, outlen, "%s", env);
	else {
		const char *state = getenv("XDG_STATE_HOME");
		const char *home = getenv("HOME");
		char dir[PATH_MAX];
		struct stat st;
		if (state && *state == '/')
			n = snprintf(dir, sizeof dir, "%s/fakebuild", state);
		else if (home && *home == '/' && stat(home, &st) == 0 && S_ISDIR(st.st_mode))
			n = snprintf(dir, sizeof dir, "%s/.local/state/fakebuild", home);
		else
			n = -1;	/* not even root makes a HOME such as /nonexistent */
		if (n < 0 || (size_t)n >= sizeof dir || !fb_dir_usable(dir))
			return tmp_db_path(out, outlen, err);
		n = snprintf(out, outlen, "%s/fakebuild.db", dir);
	}
	if (n < 0 || (size_t)n >= outlen)
		return fb_err_set(err, "database path too long");
	/* Absolute, so that it means the same after the command changes directory. */
	if (out[0] != '/') {
		char cwd[PATH_MAX], rel[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			return fb_err_set(err, "%s: cannot make the database's name absolute: the "
					  "current directory: %s", out, strerror(errno));
		snprintf(rel, sizeof rel, "%s", out);
		if ((size_t)snprintf(out, outlen, "%s/%s", cwd, rel) >= outlen)
			return fb_err_set(err, "database path too long");
	}
	return 0;
}

/* Take DB.lock, making sure the file we locked is still the one at that name (a leaving session unlinks it). */
static int take_lock(struct fb_session *s, struct fb_err *err)
{
	for (;;) {
		int fd = open(s->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return fb_err_set(err, "%s: cannot create lock file: %s", s->lock, strerror(errno));
		if (flock(fd, LOCK_EX) < 0) {
			close(fd);
			return fb_err_set(err, "%s: flock: %s", s->lock, strerror(errno));
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(s->lock, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			s->lockfd = fd;
			return 0;
		}
		close(fd);
	}
}

static void drop_lock(struct fb_session *s)
{
	if (s->lockfd >= 0)
		close(s->lockfd);
	s->lockfd = -1;
}

static const char *table_why(int rc)
{
	switch (rc) {
	case -EPROTO: return "not a fakebuild live table (bad magic)";
	case -EPROTONOSUPPORT: return "live table of another fakebuild version";
	case -EBADMSG: return "live table header is damaged";
	default: return strerror(-rc);
	}
}

/* The layout version written in the table file LIVE (0: unreadable). */
static unsigned table_version(const char *live)
{
	struct { char magic[8]; uint32_t version; } h = { { 0 }, 0 };
	int fd = open(live, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ssize_t n = pread(fd, &h, sizeof h, 0);
	close(fd);
	return n == (ssize_t)sizeof h ? h.version : 0;
}

const char *fb_limit_hit(int rc)
{
	struct rlimit l;
	if (rc == -EFBIG && getrlimit(RLIMIT_FSIZE, &l) == 0 && l.rlim_cur != RLIM_INFINITY)
		return "the file size limit (ulimit -f)";
	if (rc == -ENOMEM && getrlimit(RLIMIT_AS, &l) == 0 && l.rlim_cur != RLIM_INFINITY)
		return "the address space limit (ulimit -v)";
	return NULL;
}

/* BYTES in BUF: "800 MiB" (the nearest), "808 KiB" (rounded up). */
static const char *size_name(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= 1u << 20)
		snprintf(buf, len, "%llu MiB", (unsigned long long)((bytes + (1u << 19)) >> 20));
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)((bytes + 1023) >> 10));
	return buf;
}

/* RUNNING: another session uses the table now (else a killed one left it). */
static int attach_leftover(struct fb_session *s, int running, struct fb_err *err)
{
	int rc = fb_table_attach(s->live, &s->t);
	const char *limit = fb_limit_hit(rc);
	struct stat st;
	char size[32];
	if (limit && stat(s->live, &st) == 0)
		return fb_err_set(err, "%s: cannot map the live table: %s: it is a sparse file of %s, "
				  "over %s: raise the limit%s", s->live, strerror(-rc),
				  size_name((uint64_t)st.st_size, size, sizeof size), limit,
				  running ? " (a session is running on it)" : "");
	if (rc == -EPROTONOSUPPORT)
		return fb_err_set(err, "%s: %s (table layout %u, this fakebuild reads layout %u): %s",
				  s->live, table_why(rc), table_version(s->live), FB_TABLE_VERSION,
				  running ? "a session of that version is running on this database; "
					    "let it end first, or use another database (-d)" :
					    "a killed session of that version left it; end it with that "
					    "version (it saves the changes), or move it away to start "
					    "from the database alone");
	if (rc < 0)
		return fb_err_set(err, "%s: %s (it may hold changes of a killed session: "
				  "move it away to start from %s alone)", s->live, table_why(rc), s->db);
	/* Nobody uses it: its records are checked before they go anywhere. */
	char why[160];
	if (!running && fb_table_verify(s->t, !(s->flags & FB_SESSION_READONLY), why, sizeof why) < 0) {
		fb_table_detach(s->t);
		s->t = NULL;
		return fb_err_set(err, "%s: damaged live table: %s (it may hold changes of a killed "
				  "session: move it away to start from %s alone)", s->live, why, s->db);
	}
	/* Whoever runs this session has not been told that it is full. */
	if (!(s->flags & FB_SESSION_READONLY))
		fb_table_unwarn_full(s->t);
	return 0;
}

static int create_table(struct fb_session *s, struct fb_err *err)
{
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof tmp, "%s.%ld", s->live, (long)getpid());
	unlink(tmp);
	uint64_t cap;
	const char *c = getenv("FAKEBUILD_CAPACITY");
	if (fb_table_capacity(c, &cap) < 0)
		return fb_err_set(err, "FAKEBUILD_CAPACITY=%s: expected " FB_TABLE_CAPACITY_RULE, c);
	int rc = fb_table_create(tmp, cap, &s->t);
	const char *limit = fb_limit_hit(rc);
	char size[32];
	if (limit)
		return fb_err_set(err, "%s: cannot create the live table: %s: it is a sparse file of "
				  "%s (for %llu records), over %s: raise the limit%s", tmp,
				  strerror(-rc), size_name(fb_table_file_bytes(cap), size, sizeof size),
				  (unsigned long long)cap, limit,
				  cap > FB_TABLE_MIN_CAPACITY ? " or set a smaller FAKEBUILD_CAPACITY" : "");
	if (rc < 0)
		return fb_err_set(err, "%s: cannot create the live table: %s", tmp, strerror(-rc));
	if (fb_store_load_flags(s->db, s->t, FB_STORE_FRESH, err) < 0) {
		fb_table_detach(s->t);
		s->t = NULL;
		unlink(tmp);
		return -1;
	}
	fb_table_mark_saved(s->t, fb_table_changes(s->t));
	if (rename(tmp, s->live) < 0) {
		int e = errno;
		fb_table_detach(s->t);
		s->t = NULL;
		unlink(tmp);
		return fb_err_set(err, "%s: %s", s->live, strerror(e));
	}
	/* Where this process opens it again for the writer lock (wlock.c). */
	if ((rc = fb_table_set_path(s->t, s->live)) < 0) {
		fb_table_detach(s->t);
		s->t = NULL;
		unlink(s->live);
		return fb_err_set(err, "%s: %s", s->live, strerror(-rc));
	}
	return 0;
}

/* Half-made files of sessions killed while creating a table or saving
 * (DB.live.PID, DB.new.PID, and DB.unrecorded.PID.new.PID of a root's
 * refused records, tools/fakebuild/walk.c): never renamed into place, so
 * never needed.  Only called alone and under DB.lock, when nobody can be
 * making one. */
static void remove_temporaries(struct fb_session *s)
{
	const char *pat[] = { "%s.live.*", "%s.new.*", "%s.unrecorded.*.new.*" };
	for (size_t i = 0; i < sizeof pat / sizeof pat[0]; i++) {
		char p[PATH_MAX + 16];
		glob_t g;
		snprintf(p, sizeof p, pat[i], s->db);
		if (glob(p, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g) == 0)
			for (size_t j = 0; j < g.gl_pathc; j++)
				unlink(g.gl_pathv[j]);
		globfree(&g);
	}
}

/* LIVE.static: the markers of static programs already warned about
 * (preload/exec.c); they belong to the table and go with it. */
static void remove_static_markers(const struct fb_session *s)
{
	char p[sizeof s->live + 16];
	glob_t g;
	snprintf(p, sizeof p, "%s.static/*", s->live);
	if (glob(p, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g) == 0)
		for (size_t j = 0; j < g.gl_pathc; j++)
			unlink(g.gl_pathv[j]);
	globfree(&g);
	snprintf(p, sizeof p, "%s.static", s->live);
	rmdir(p);
}

static int start(struct fb_session *s, struct fb_err *err)
{
	s->usersfd = open(s->users, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->usersfd < 0)
		return fb_err_set(err, "%s: %s", s->users, strerror(errno));
	int alone = flock(s->usersfd, LOCK_EX | LOCK_NB) == 0;
	if (flock(s->usersfd, LOCK_SH) < 0)
		return fb_err_set(err, "%s: flock: %s", s->users, strerror(errno));
	struct stat st;
	int have_live = lstat(s->live, &st) == 0;
	if (!alone) {
		if (!have_live)
			return fb_err_set(err, "%s: missing while another session is running", s->live);
		return attach_leftover(s, 1, err);
	}
	if (!(s->flags & FB_SESSION_READONLY))
		remove_temporaries(s);
	if (s->flags & FB_SESSION_READONLY) {
		/* --check/--export with nobody running: read the leftover table if any, create nothing. */
		return have_live ? attach_leftover(s, 0, err) : 0;
	}
	if (!have_live)
		return create_table(s, err);
	/* A killed session's table: merge it into the database first. */
	if (attach_leftover(s, 0, err) < 0)
		return -1;
	return fb_store_save(s->db, s->t, err);
}

int fb_session_join(const char *db, unsigned flags, struct fb_session **out, struct fb_err *err)
{
	struct fb_session *s = calloc(1, sizeof *s);
	if (!s)
		return fb_err_set(err, "out of memory");
	s->lockfd = s->usersfd = -1;
	s->flags = flags;
	if ((size_t)snprintf(s->db, sizeof s->db, "%s", db) >= sizeof s->db) {
		free(s);
		return fb_err_set(err, "%s: path too long", db);
	}
	snprintf(s->live, sizeof s->live, "%s.live", db);
	snprintf(s->lock, sizeof s->lock, "%s.lock", db);
	snprintf(s->users, sizeof s->users, "%s.users", db);

	/* Before touching anything beside it: a database of another user is refused. */
	struct stat st;
	if (lstat(db, &st) == 0 && st.st_uid != getuid()) {
		free(s);
		return fb_err_set(err, "%s: owned by uid %u, not by you (uid %u): refusing to use it",
				  db, (unsigned)st.st_uid, (unsigned)getuid());
	}
	char dir[PATH_MAX];
	if (db_dir(db, dir)) {
		int rc = mkdirs(dir);
		if (rc < 0) {
			free(s);
			return fb_err_set(err, "%s: cannot create the database directory: %s", dir, strerror(-rc));
		}
	}
	int rc = take_lock(s, err);
	if (rc == 0)
		rc = start(s, err);
	/* Refused (a damaged database, no room for the table): the users and
	 * lock files go, as at a session's end, unless another session uses
	 * them or a live table is left for the next one to merge. */
	if (rc < 0 && s->lockfd >= 0 && s->usersfd >= 0 && flock(s->usersfd, LOCK_UN) == 0 &&
	    flock(s->usersfd, LOCK_EX | LOCK_NB) == 0 && lstat(s->live, &st) < 0 && errno == ENOENT) {
		unlink(s->users);
		unlink(s->lock);
	}
	drop_lock(s);
	if (rc < 0) {
		if (s->usersfd >= 0)
			close(s->usersfd);
		fb_table_detach(s->t);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

struct fb_table *fb_session_table(struct fb_session *s)
{
	return s->t;
}

const char *fb_session_db(const struct fb_session *s)
{
	return s->db;
}

const char *fb_session_table_path(const struct fb_session *s)
{
	return s->live;
}

void fb_session_keep_table(struct fb_session *s)
{
	s->keep_table = 1;
}

int fb_session_remake_dir(struct fb_session *s, struct fb_err *err)
{
	char dir[PATH_MAX];
	struct stat st;
	if (!db_dir(s->db, dir) || stat(dir, &st) == 0 || errno != ENOENT)
		return 0;
	int rc = mkdirs(dir);
	if (rc < 0)
		return fb_err_set(err, "%s: removed during the session, and cannot be made again: %s",
				  dir, strerror(-rc));
	return 1;
}

int fb_session_leave(struct fb_session *s, struct fb_err *err)
{
	int rc = take_lock(s, err);
	if (rc == 0) {
		flock(s->usersfd, LOCK_UN);
		int last = flock(s->usersfd, LOCK_EX | LOCK_NB) == 0;
		if (last && !(s->flags & FB_SESSION_READONLY) && s->t) {
			if (fb_table_dirty(s->t))
				rc = fb_store_save(s->db, s->t, err);
			/* Only once the database holds everything does the table go.
			 * Processes still running keep writing to it, and the next
			 * session merges it: ours (keep_table), and a killed
			 * session's, which hold writer registrations; their changes
			 * would otherwise go into a file nobody reads. */
			if (rc == 0 && !s->keep_table && fb_table_other_writers(s->t))
				rc = 1;
			else if (rc == 0 && !s->keep_table) {
				unlink(s->live);
				remove_static_markers(s);
				unlink(s->users);
				unlink(s->lock);
			}
		} else if (last && (s->flags & FB_SESSION_READONLY)) {
			/* Read-only and alone: the join made these two and nothing
			 * else, unless a killed session's table waits to be merged. */
			struct stat st;
			if (lstat(s->live, &st) < 0 && errno == ENOENT) {
				unlink(s->users);
				unlink(s->lock);
			}
		}
	}
	if (s->usersfd >= 0)
		close(s->usersfd);
	drop_lock(s);
	fb_table_detach(s->t);
	free(s);
	return rc;
}
