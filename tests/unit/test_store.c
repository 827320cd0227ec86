/*
 * test_store.c - the gdbm store (db/store.c) and the session lifecycle
 * (db/session.c).  Every test runs in its own fresh temporary directory
 * (under $TMPDIR, else /tmp), removed afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gdbm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#include "session.h"
#include "store.h"
#include "table.h"
#include "table_impl.h"

static int setup(void **state)
{
	struct fx *f = fx_new("fbstore");
	if (!f)
		return -1;
	/* Session tables: small, the default is 4M records (sparse, but slow to fault in). */
	setenv("FAKEBUILD_CAPACITY", "4096", 1);
	*state = f;
	return 0;
}

static struct fb_table *new_table(struct fx *f, const char *path, uint64_t cap)
{
	struct fb_table *t = NULL;
	unlink(path);
	assert_int_equal(fb_table_create(path, cap, &t), 0);
	return own(f, t);
}

static void assert_attr(struct fb_table *t, const struct fb_ident *id, uint32_t uid, uint32_t gid,
			uint32_t mode)
{
	struct fb_attr a;
	assert_int_equal(fb_table_get(t, id, &a), 1);
	assert_int_equal(a.uid, uid);
	assert_int_equal(a.gid, gid);
	assert_int_equal(a.mode, mode);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static const char *with_suffix(const struct fx *f, const char *suffix)
{
	static char buf[4][4300];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s%s", f->db, suffix);
	return buf[i];
}

/* The whole content of PATH, malloc'd; *len its size. */
static unsigned char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	unsigned char *p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

/* Write a gdbm file PATH holding KEY -> VAL (KEY may be NULL: no record). */
static void gdbm_file(const char *path, const void *key, int klen, const char *val)
{
	GDBM_FILE g = gdbm_open(path, 0, GDBM_NEWDB | GDBM_NOLOCK, 0600, NULL);
	assert_non_null(g);
	datum k0 = { .dptr = (char *)"some key", .dsize = 8 };
	datum v0 = { .dptr = (char *)"some value", .dsize = 10 };
	assert_int_equal(gdbm_store(g, k0, v0, GDBM_REPLACE), 0);
	if (key) {
		datum k = { .dptr = (char *)key, .dsize = klen };
		datum v = { .dptr = (char *)val, .dsize = (int)strlen(val) };
		assert_int_equal(gdbm_store(g, k, v, GDBM_REPLACE), 0);
	}
	assert_int_equal(gdbm_close(g), 0);
}

/* Expect load of DB to fail with a message naming it and containing WHAT. */
static void assert_load_fails(struct fx *f, const char *what)
{
	struct fb_table *t = new_table(f, f->table, 256);
	struct fb_err err = { { 0 } };
	assert_int_equal(fb_store_load(f->db, t, &err), -1);
	if (!strstr(err.msg, f->db))
		fail_msg("message does not name %s: \"%s\"", f->db, err.msg);
	if (what && !strstr(err.msg, what))
		fail_msg("message lacks \"%s\": \"%s\"", what, err.msg);
	drop(f, t);
}

/* What fb_table_foreach sees of one record: the hint and xattr blob. */
struct extra {
	uint64_t ino;
	char hint[64];
	unsigned char xattrs[64];
	uint32_t xattr_len;
	int seen;
};

static int grab_extra(const struct fb_trec *r, const char *hint, const void *xattrs, void *arg)
{
	struct extra *e = arg;
	for (; e->ino; e++) {
		if (e->ino != r->ino)
			continue;
		e->seen++;
		snprintf(e->hint, sizeof e->hint, "%s", hint ? hint : "(none)");
		e->xattr_len = xattrs ? r->xattr_len : 0;
		if (xattrs && r->xattr_len <= sizeof e->xattrs)
			memcpy(e->xattrs, xattrs, r->xattr_len);
	}
	return 0;
}

static int count_recs(const struct fb_store_rec *r, void *arg)
{
	(void)r;
	(*(long *)arg)++;
	return 0;
}

struct find_rec {
	uint64_t ino;
	uint32_t uid, gid, mode;
	int found;
};

static int find_rec(const struct fb_store_rec *r, void *arg)
{
	struct find_rec *w = arg;
	if (r->ino == w->ino) {
		w->found = 1;
		w->uid = r->uid;
		w->gid = r->gid;
		w->mode = r->mode;
	}
	return 0;
}

/* The record of INO in the database DB, through fb_store_foreach. */
static struct find_rec db_rec(const char *db, uint64_t ino)
{
	struct find_rec w = { .ino = ino };
	struct fb_err err = { { 0 } };
	if (fb_store_foreach(db, find_rec, &w, &err) < 0)
		fail_msg("fb_store_foreach: %s", err.msg);
	return w;
}

/* ---- store -------------------------------------------------------------- */

/* Issue 4: a session holds a full distribution image, 2,000,000 records,
 * at the default capacity, and they survive a save and a load. */
static void test_two_million_records_round_trip(void **state)
{
	struct fx *f = *state;
	const uint32_t n = 2000000;
	struct fb_table *t = new_table(f, f->table, FB_TABLE_DEFAULT_CAPACITY);
	for (uint32_t i = 1; i <= n; i++) {
		struct fb_ident id = ident(8, i);
		struct fb_attr a = attr(i % 65536, i % 7, S_IFREG | 0644);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	assert_int_equal(fb_table_count(t), n);
	struct fb_err err = { { 0 } };
	assert_int_equal(fb_store_save(f->db, t, &err), 0);
	char other[4300];
	snprintf(other, sizeof other, "%s.2", f->table);
	struct fb_table *u = new_table(f, other, FB_TABLE_DEFAULT_CAPACITY);
	assert_int_equal(fb_store_load(f->db, u, &err), (long)n);
	assert_int_equal(fb_table_count(u), n);
	for (uint32_t i = 1; i <= n; i += 99991) {
		struct fb_ident id = ident(8, i);
		struct fb_attr a;
		assert_int_equal(fb_table_get(u, &id, &a), 1);
		assert_int_equal(a.uid, i % 65536);
		assert_int_equal(a.gid, i % 7);
	}
}

static void check_loaded_round_trip(struct fx *f, unsigned flags);

/* The round trip's xattr blobs, with NUL and high bytes. */
static const unsigned char blob1[] = { 's', 'e', 'c', 'u', 'r', 'i', 't', 'y', '.', 'c', 'a', 'p', 0,
				       0x01, 0x00, 0x00, 0x02, 0xff, 0x80, 0x00, 0x00 };
static const unsigned char blob2[] = { 'u', 's', 'e', 'r', '.', 'x', 0, 'v', 0xfe };

static void test_save_load_round_trip(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, f->table, 1024);
	/* Plain records, with and without path hints. */
	for (uint32_t i = 1; i <= 300; i++) {
		struct fb_ident id = ident(8, i);
		id.btime_sec = i % 3 ? 1700000000 + i : 0;
		id.btime_nsec = i % 3 ? i : 0;
		if (i % 5 == 0)
			id.real_mode = S_IFDIR | 0755;
		struct fb_attr a = attr(i, 1000 + i, (id.real_mode & S_IFMT) | (i & 07777));
		a.rdev = i % 7 == 0 ? i * 256 + 1 : 0;
		char hint[64];
		snprintf(hint, sizeof hint, "/tree/file-%u", i);
		assert_int_equal(fb_table_put(t, &id, &a, i % 2 ? hint : NULL), 0);
	}
	/* Records with xattr blobs, including NUL and high bytes. */
	struct fb_trec r1 = { .dev = 8, .ino = 1001, .real_type = S_IFREG, .uid = 0, .gid = 0,
			      .mode = S_IFREG | 0755, .btime_sec = 5, .btime_nsec = 6 };
	struct fb_trec r2 = { .dev = 8, .ino = 1002, .real_type = S_IFREG, .uid = 3, .gid = 4,
			      .mode = S_IFREG | 0600 };
	assert_int_equal(fb_table_load_rec(t, &r1, "/usr/bin/ping", blob1, sizeof blob1), 0);
	assert_int_equal(fb_table_load_rec(t, &r2, NULL, blob2, sizeof blob2), 0);
	assert_int_equal(fb_table_count(t), 302);

	struct fb_err err = { { 0 } };
	if (fb_store_save(f->db, t, &err) != 0)
		fail_msg("save: %s", err.msg);
	drop(f, t);
	char newname[64];
	snprintf(newname, sizeof newname, ".new.%ld", (long)getpid());
	assert_false(exists(with_suffix(f, newname)));

	/* Loaded record by record (a table others may use) and in bulk (a
	 * new session's table): the same records, hints and blobs. */
	for (int bulk = 0; bulk <= 1; bulk++)
		check_loaded_round_trip(f, bulk ? FB_STORE_FRESH : 0);
}

static void check_loaded_round_trip(struct fx *f, unsigned flags)
{
	struct fb_err err = { { 0 } };
	char fresh[4300];
	snprintf(fresh, sizeof fresh, "%s/fresh", f->dir);
	struct fb_table *t = new_table(f, fresh, 1024);
	long n = fb_store_load_flags(f->db, t, flags, &err);
	if (n != 302)
		fail_msg("load (flags %u) returned %ld: %s", flags, n, err.msg);
	assert_int_equal(fb_table_count(t), 302);
	for (uint32_t i = 1; i <= 300; i++) {
		struct fb_ident id = ident(8, i);
		id.btime_sec = i % 3 ? 1700000000 + i : 0;
		id.btime_nsec = i % 3 ? i : 0;
		if (i % 5 == 0)
			id.real_mode = S_IFDIR | 0755;
		struct fb_attr a;
		assert_int_equal(fb_table_get(t, &id, &a), 1);
		assert_int_equal(a.uid, i);
		assert_int_equal(a.gid, 1000 + i);
		assert_int_equal(a.mode, (id.real_mode & S_IFMT) | (i & 07777));
		assert_int_equal(a.rdev, i % 7 == 0 ? i * 256 + 1 : 0);
	}
	struct fb_ident x1 = ident(8, 1001), x2 = ident(8, 1002);
	x1.btime_sec = 5;
	x1.btime_nsec = 6;
	assert_attr(t, &x1, 0, 0, S_IFREG | 0755);
	assert_attr(t, &x2, 3, 4, S_IFREG | 0600);
	/* The disk's bits went with the records: a session's record shows a
	 * later change of them (fb_rec_mode); one without them does not. */
	struct fb_ident moved = ident(8, 1);
	moved.btime_sec = 1700000001;
	moved.btime_nsec = 1;
	moved.real_mode = S_IFREG | 0600;
	assert_attr(t, &moved, 1, 1001, S_IFREG | 0600);
	x2.real_mode = S_IFREG | 0700;
	assert_attr(t, &x2, 3, 4, S_IFREG | 0600);

	struct extra e[] = { { .ino = 1 }, { .ino = 2 }, { .ino = 299 }, { .ino = 1001 }, { .ino = 1002 }, { 0 } };
	assert_int_equal(fb_table_foreach(t, grab_extra, e), 0);
	for (int i = 0; e[i].ino; i++)
		if (e[i].seen != 1)
			fail_msg("record of inode %llu visited %d times by fb_table_foreach", (unsigned long long)e[i].ino, e[i].seen);
	assert_string_equal(e[0].hint, "/tree/file-1");
	assert_string_equal(e[1].hint, "(none)");
	assert_string_equal(e[2].hint, "/tree/file-299");
	assert_string_equal(e[3].hint, "/usr/bin/ping");
	assert_string_equal(e[4].hint, "(none)");
	assert_int_equal(e[0].xattr_len, 0);
	assert_int_equal(e[3].xattr_len, sizeof blob1);
	assert_memory_equal(e[3].xattrs, blob1, sizeof blob1);
	assert_int_equal(e[4].xattr_len, sizeof blob2);
	assert_memory_equal(e[4].xattrs, blob2, sizeof blob2);

	/* fb_store_foreach sees the same records. */
	long cnt = 0;
	assert_int_equal(fb_store_foreach(f->db, count_recs, &cnt, &err), 302);
	assert_int_equal(cnt, 302);

	/* The birth time survived: another one makes the record stale (last:
	 * a stale lookup drops the record). */
	struct fb_ident other = ident(8, 4);
	other.btime_sec = 1700000000 + 4;
	other.btime_nsec = 5;
	struct fb_attr a;
	assert_int_equal(fb_table_get(t, &other, &a), 0);
	other.btime_nsec = 4;
	assert_int_equal(fb_table_get(t, &other, &a), 0);	/* dropped by the stale lookup */
	/* Which takes the lock only if it is free: a bulk load let it go. */
	assert_int_equal(fb_table_count(t), 301);
	drop(f, t);
}

/*
 * Filling a new table in bulk looks up nothing before an insert: a key
 * met twice (two devices of the database found to be one) still makes
 * one record, the later, and the table is usable afterwards.
 */
static void test_bulk_fill_keeps_one_record_per_key(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, f->table, 256);
	struct fb_trec r = { .dev = 8, .ino = 77, .real_type = S_IFREG, .uid = 1, .gid = 2,
			     .mode = S_IFREG | 0644 };
	assert_int_equal(fb_table_fill_begin(t, 102), 0);
	assert_int_equal(fb_table_load_rec(t, &r, "/old/name", NULL, 0), 0);
	r.uid = 5;
	static const unsigned char blob[] = { 'u', 's', 'e', 'r', '.', 'x', 0, 'v' };
	assert_int_equal(fb_table_load_rec(t, &r, "/new/name", blob, sizeof blob), 0);
	for (uint32_t i = 1; i <= 100; i++) {
		struct fb_trec o = { .dev = 8, .ino = 1000 + i, .real_type = S_IFREG, .mode = S_IFREG | 0600 };
		assert_int_equal(fb_table_load_rec(t, &o, NULL, NULL, 0), 0);
	}
	fb_table_fill_end(t);
	assert_int_equal(fb_table_count(t), 101);
	struct fb_ident id = ident(8, 77);
	assert_attr(t, &id, 5, 2, S_IFREG | 0644);
	struct extra e[] = { { .ino = 77 }, { 0 } };
	assert_int_equal(fb_table_foreach(t, grab_extra, e), 0);
	assert_int_equal(e[0].seen, 1);
	assert_string_equal(e[0].hint, "/new/name");
	assert_int_equal(e[0].xattr_len, sizeof blob);
	/* The lock is free again: an ordinary update goes through. */
	struct fb_attr a = attr(9, 9, S_IFREG | 0600);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	assert_attr(t, &id, 9, 9, S_IFREG | 0600);
	drop(f, t);
}

/*
 * A writer killed between filling a record and publishing it leaves a live
 * record that the index does not point to: a save skips it, and it never
 * replaces the published record of its key.
 */
static void test_save_skips_unpublished_records(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, f->table, 256);
	for (uint32_t i = 1; i <= 40; i++) {
		struct fb_ident id = ident(3, i);
		struct fb_attr a = attr(i, i, S_IFREG | 0644);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	struct fb_ident gone = ident(3, 8);
	assert_int_equal(fb_table_del(t, &gone), 0);
	const struct fb_trec *seven = NULL;
	for (uint64_t i = 0; i < t->h->rec_next; i++)
		if (t->recs[i].live && t->recs[i].ino == 7)
			seven = &t->recs[i];
	assert_non_null(seven);
	/* Orphans: a newer record of inode 7, a record of inode 99. */
	uint64_t n = t->h->rec_next;
	t->recs[n] = *seven;
	t->recs[n].uid = 777;
	t->recs[n + 1] = *seven;
	t->recs[n + 1].ino = 99;
	t->h->rec_next = n + 2;

	struct fb_err err = { { 0 } };
	assert_int_equal(fb_store_save(f->db, t, &err), 0);
	long cnt = 0;
	assert_int_equal(fb_store_foreach(f->db, count_recs, &cnt, &err), 39);
	struct find_rec r7 = db_rec(f->db, 7);
	assert_true(r7.found);
	assert_int_equal(r7.uid, 7);
	assert_false(db_rec(f->db, 99).found);
	assert_false(db_rec(f->db, 8).found);
	assert_true(db_rec(f->db, 40).found);
	drop(f, t);
}

static void test_save_replaces_previous_database(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, f->table, 256);
	struct fb_ident a = ident(1, 1), b = ident(1, 2);
	struct fb_attr at = attr(1, 1, S_IFREG | 0644);
	assert_int_equal(fb_table_put(t, &a, &at, NULL), 0);
	assert_int_equal(fb_table_put(t, &b, &at, NULL), 0);
	struct fb_err err = { { 0 } };
	assert_int_equal(fb_store_save(f->db, t, &err), 0);
	assert_int_equal(fb_table_del(t, &a), 0);
	assert_int_equal(fb_store_save(f->db, t, &err), 0);
	assert_false(db_rec(f->db, 1).found);
	assert_true(db_rec(f->db, 2).found);
	drop(f, t);
}

static void test_load_missing_db_is_empty(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, f->table, 256);
	struct fb_err err = { { 0 } };
	assert_int_equal(fb_store_load(f->db, t, &err), 0);
	assert_int_equal(fb_table_count(t), 0);
	assert_false(exists(f->db));
	long cnt = 0;
	assert_int_equal(fb_store_foreach(f->db, count_recs, &cnt, &err), 0);
	drop(f, t);
}

static void test_load_corrupt_file_fails_naming_it(void **state)
{
	struct fx *f = *state;
	int fd = open(f->db, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	unsigned char junk[8192];
	srandom(12345);
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)random();
	assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
	close(fd);
	assert_load_fails(f, NULL);
}

static void test_load_empty_file_fails_naming_it(void **state)
{
	struct fx *f = *state;
	int fd = open(f->db, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_load_fails(f, "not a fakebuild database");
}

static void test_load_truncated_file_fails_and_leaves_it_unmodified(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, f->table, 8192);
	for (uint32_t i = 0; i < 5000; i++) {
		struct fb_ident id = ident(3, 10000 + i);
		struct fb_attr a = attr(i, i, S_IFREG | 0644);
		char hint[80];
		snprintf(hint, sizeof hint, "/a/rather/long/path/hint/to/fill/the/buckets/%u", i);
		assert_int_equal(fb_table_put(t, &id, &a, hint), 0);
	}
	struct fb_err err = { { 0 } };
	assert_int_equal(fb_store_save(f->db, t, &err), 0);
	drop(f, t);
	struct stat st;
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(truncate(f->db, st.st_size / 2), 0);

	size_t n0, n1;
	unsigned char *before = slurp(f->db, &n0);
	assert_int_equal(stat(f->db, &st), 0);
	struct timespec mtime = st.st_mtim;
	assert_load_fails(f, NULL);
	long cnt = 0;
	assert_int_equal(fb_store_foreach(f->db, count_recs, &cnt, &err), -1);
	assert_non_null(strstr(err.msg, f->db));
	unsigned char *after = slurp(f->db, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, mtime.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, mtime.tv_nsec);
	free(before);
	free(after);
}

static void test_load_gdbm_file_without_header_is_not_ours(void **state)
{
	struct fx *f = *state;
	gdbm_file(f->db, NULL, 0, NULL);
	assert_load_fails(f, "not a fakebuild database");
}

static void test_load_bad_header_record_is_not_ours(void **state)
{
	struct fx *f = *state;
	gdbm_file(f->db, FB_STORE_META, FB_STORE_META_LEN, "something else");
	assert_load_fails(f, "not a fakebuild database");
}

static void test_load_newer_format_version_says_newer(void **state)
{
	struct fx *f = *state;
	gdbm_file(f->db, FB_STORE_META, FB_STORE_META_LEN, "fakebuild-db 99");
	assert_load_fails(f, "newer");
}

/* ---- sessions ------------------------------------------------------------ */

static struct fb_session *join(const struct fx *f)
{
	struct fb_session *s = NULL;
	struct fb_err err = { { 0 } };
	if (fb_session_join(f->db, 0, &s, &err) != 0)
		fail_msg("join: %s", err.msg);
	assert_non_null(s);
	assert_non_null(fb_session_table(s));
	return s;
}

static void leave(struct fb_session *s)
{
	struct fb_err err = { { 0 } };
	if (fb_session_leave(s, &err) != 0)
		fail_msg("leave: %s", err.msg);
}

static void test_session_join_creates_live_table(void **state)
{
	struct fx *f = *state;
	struct fb_session *s = join(f);
	assert_true(exists(with_suffix(f, ".live")));
	assert_string_equal(fb_session_table_path(s), with_suffix(f, ".live"));
	assert_int_equal(fb_table_count(fb_session_table(s)), 0);
	leave(s);
}

static void test_session_last_leave_saves_and_removes_files(void **state)
{
	struct fx *f = *state;
	struct fb_session *s = join(f);
	struct fb_ident id = ident(2, 222);
	struct fb_attr a = attr(11, 22, S_IFREG | 0640);
	assert_int_equal(fb_table_put(fb_session_table(s), &id, &a, "/x"), 0);
	leave(s);
	assert_true(exists(f->db));
	assert_false(exists(with_suffix(f, ".live")));
	assert_false(exists(with_suffix(f, ".lock")));
	assert_false(exists(with_suffix(f, ".users")));
	struct find_rec r = db_rec(f->db, 222);
	assert_true(r.found);
	assert_int_equal(r.uid, 11);
	assert_int_equal(r.gid, 22);
	/* The next session starts from it. */
	s = join(f);
	assert_attr(fb_session_table(s), &id, 11, 22, S_IFREG | 0640);
	leave(s);
}

static void test_session_two_joins_share_table_and_last_leave_saves(void **state)
{
	struct fx *f = *state;
	struct fb_session *s1 = join(f), *s2 = join(f);
	struct fb_ident id = ident(2, 333);
	struct fb_attr a = attr(5, 6, S_IFREG | 0600);
	assert_int_equal(fb_table_put(fb_session_table(s1), &id, &a, NULL), 0);
	assert_attr(fb_session_table(s2), &id, 5, 6, S_IFREG | 0600);
	struct fb_ident id2 = ident(2, 334);
	assert_int_equal(fb_table_put(fb_session_table(s2), &id2, &a, NULL), 0);
	assert_attr(fb_session_table(s1), &id2, 5, 6, S_IFREG | 0600);

	leave(s1);
	assert_false(exists(f->db));	/* not the last: nothing saved */
	assert_true(exists(with_suffix(f, ".live")));
	leave(s2);
	assert_true(exists(f->db));
	assert_false(exists(with_suffix(f, ".live")));
	assert_true(db_rec(f->db, 333).found);
	assert_true(db_rec(f->db, 334).found);
}

/*
 * A change made before the second session joined must still be saved when
 * that second session is the last one to leave.
 */
static void test_session_change_before_second_join_saved_by_last_leave(void **state)
{
	struct fx *f = *state;
	struct fb_session *s1 = join(f);
	struct fb_ident id = ident(2, 444);
	struct fb_attr a = attr(7, 8, S_IFREG | 0600);
	assert_int_equal(fb_table_put(fb_session_table(s1), &id, &a, NULL), 0);
	struct fb_session *s2 = join(f);
	assert_attr(fb_session_table(s2), &id, 7, 8, S_IFREG | 0600);
	leave(s1);
	leave(s2);
	if (!db_rec(f->db, 444).found)
		fail_msg("the record put before the second join was lost: %s %s",
			 exists(f->db) ? "database lacks it" : "no database written",
			 exists(with_suffix(f, ".live")) ? "(live table kept)" : "(live table removed)");
}

static void test_session_leftover_live_table_is_merged(void **state)
{
	struct fx *f = *state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A session killed without leaving. */
		struct fb_session *s = NULL;
		struct fb_err err;
		if (fb_session_join(f->db, 0, &s, &err) != 0)
			_exit(2);
		struct fb_ident id = ident(2, 555);
		struct fb_attr a = attr(9, 10, S_IFREG | 0750);
		if (fb_table_put(fb_session_table(s), &id, &a, "/left/over") != 0)
			_exit(3);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(exists(with_suffix(f, ".live")));
	assert_false(db_rec(f->db, 555).found);

	struct fb_session *s = join(f);
	struct fb_ident id = ident(2, 555);
	assert_attr(fb_session_table(s), &id, 9, 10, S_IFREG | 0750);
	struct find_rec r = db_rec(f->db, 555);	/* merged into the database at join */
	assert_true(r.found);
	assert_int_equal(r.uid, 9);
	assert_int_equal(r.gid, 10);
	leave(s);
	assert_true(db_rec(f->db, 555).found);
	assert_false(exists(with_suffix(f, ".live")));
}

static void test_session_readonly_creates_nothing(void **state)
{
	struct fx *f = *state;
	struct fb_session *s = NULL;
	struct fb_err err = { { 0 } };
	assert_int_equal(fb_session_join(f->db, FB_SESSION_READONLY, &s, &err), 0);
	assert_null(fb_session_table(s));
	assert_false(exists(with_suffix(f, ".live")));
	assert_int_equal(fb_session_leave(s, &err), 0);
	assert_false(exists(f->db));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_two_million_records_round_trip),
		T(test_save_load_round_trip),
		T(test_bulk_fill_keeps_one_record_per_key),
	T(test_save_skips_unpublished_records),
		T(test_save_replaces_previous_database),
		T(test_load_missing_db_is_empty),
		T(test_load_corrupt_file_fails_naming_it),
		T(test_load_empty_file_fails_naming_it),
		T(test_load_truncated_file_fails_and_leaves_it_unmodified),
		T(test_load_gdbm_file_without_header_is_not_ours),
		T(test_load_bad_header_record_is_not_ours),
		T(test_load_newer_format_version_says_newer),
		T(test_session_join_creates_live_table),
		T(test_session_last_leave_saves_and_removes_files),
		T(test_session_two_joins_share_table_and_last_leave_saves),
		T(test_session_change_before_second_join_saved_by_last_leave),
		T(test_session_leftover_live_table_is_merged),
		T(test_session_readonly_creates_nothing),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
