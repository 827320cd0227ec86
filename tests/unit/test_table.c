/*
 * test_table.c - the live fake-ownership table (db/table.c) and the fake
 * view of an inode (db/view.c).  Every test runs in its own fresh temporary
 * directory (under $TMPDIR, else /tmp), removed afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#include "table.h"
#include "table_impl.h"
#include "view.h"
#include "xblob.h"

/* ---- fixture: one temporary directory per test ------------------------- */

static int setup(void **state)
{
	struct fx *f = fx_new("fbtable");
	if (!f)
		return -1;
	*state = f;
	return 0;
}

static struct fb_table *new_table(struct fx *f, uint64_t cap)
{
	struct fb_table *t = NULL;
	assert_int_equal(fb_table_create(f->table, cap, &t), 0);
	assert_non_null(t);
	return own(f, t);
}

static void assert_attr(struct fb_table *t, const struct fb_ident *id, uint32_t uid, uint32_t gid,
			uint32_t mode)
{
	struct fb_attr a;
	memset(&a, 0xa5, sizeof a);
	assert_int_equal(fb_table_get(t, id, &a), 1);
	assert_int_equal(a.uid, uid);
	assert_int_equal(a.gid, gid);
	assert_int_equal(a.mode, mode);
}

static void assert_missing(struct fb_table *t, const struct fb_ident *id)
{
	struct fb_attr a;
	assert_int_equal(fb_table_get(t, id, &a), 0);
}

/* Overwrite SIZE bytes at OFF of the file PATH. */
static void patch_file(const char *path, off_t off, const void *p, size_t size)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, size, off), (ssize_t)size);
	close(fd);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait for PID; 1 when it exited with status 0. */
static int child_ok(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- create / attach ---------------------------------------------------- */

static void test_create_attach_round_trip(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 1024);
	struct fb_ident id = ident(7, 1000);
	struct fb_attr a = attr(10, 20, S_IFREG | 0755);
	a.rdev = makedev(1, 3);
	assert_int_equal(fb_table_put(t, &id, &a, "/x/y"), 0);

	/* A second mapping sees the record, and changes through either. */
	struct fb_table *t2 = NULL;
	assert_int_equal(fb_table_attach(f->table, &t2), 0);
	own(f, t2);
	struct fb_attr got;
	assert_int_equal(fb_table_get(t2, &id, &got), 1);
	assert_int_equal(got.uid, 10);
	assert_int_equal(got.gid, 20);
	assert_int_equal(got.mode, S_IFREG | 0755);
	assert_int_equal(got.rdev, makedev(1, 3));
	struct fb_ident id2 = ident(7, 1001);
	struct fb_attr b = attr(1, 2, S_IFDIR | 0700);
	assert_int_equal(fb_table_put(t2, &id2, &b, NULL), 0);
	assert_attr(t, &id2, 1, 2, S_IFDIR | 0700);
	assert_int_equal(fb_table_count(t), 2);
	drop(f, t2);
	drop(f, t);

	/* Nothing lives outside the file. */
	assert_int_equal(fb_table_attach(f->table, &t), 0);
	own(f, t);
	assert_attr(t, &id, 10, 20, S_IFREG | 0755);
	assert_attr(t, &id2, 1, 2, S_IFDIR | 0700);
	assert_int_equal(fb_table_count(t), 2);
	drop(f, t);

	/* create never overwrites an existing file. */
	assert_int_equal(fb_table_create(f->table, 1024, &t), -EEXIST);
}

static void test_create_rejects_bad_capacity(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = NULL;
	assert_int_equal(fb_table_create(f->table, 63, &t), -EINVAL);
	assert_null(t);
	assert_int_equal(access(f->table, F_OK), -1);
}

static void test_insert_and_lookup(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 1024);
	for (uint32_t i = 0; i < 500; i++) {
		struct fb_ident id = ident(3, 4096 + i * 7);
		struct fb_attr a = attr(i, i + 1, S_IFREG | (i & 07777));
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	assert_int_equal(fb_table_count(t), 500);
	for (uint32_t i = 0; i < 500; i++) {
		struct fb_ident id = ident(3, 4096 + i * 7);
		assert_attr(t, &id, i, i + 1, S_IFREG | (i & 07777));
	}
	/* The device is part of the key. */
	struct fb_ident other = ident(4, 4096);
	assert_missing(t, &other);
	drop(f, t);
}

static void test_update_replaces(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(1, 42);
	struct fb_attr a = attr(1, 1, S_IFREG | 0644);
	assert_int_equal(fb_table_put(t, &id, &a, "/a"), 0);
	uint64_t c0 = fb_table_changes(t);
	struct fb_attr b = attr(500, 600, S_IFREG | 04711);
	assert_int_equal(fb_table_put(t, &id, &b, "/b"), 0);
	assert_attr(t, &id, 500, 600, S_IFREG | 04711);
	assert_int_equal(fb_table_count(t), 1);
	assert_true(fb_table_changes(t) > c0);
	/* Replacing many times neither grows the table nor runs out of records
	 * (the replaced record goes back to the free list). */
	for (uint32_t i = 0; i < 1000; i++) {
		struct fb_attr c = attr(i, i, S_IFREG | 0600);
		assert_int_equal(fb_table_put(t, &id, &c, NULL), 0);
	}
	assert_attr(t, &id, 999, 999, S_IFREG | 0600);
	assert_int_equal(fb_table_count(t), 1);
	drop(f, t);
}

static void test_delete(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(1, 42), keep = ident(1, 43);
	struct fb_attr a = attr(5, 6, S_IFREG | 0644);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	assert_int_equal(fb_table_put(t, &keep, &a, NULL), 0);
	assert_int_equal(fb_table_del(t, &id), 0);
	assert_missing(t, &id);
	assert_attr(t, &keep, 5, 6, S_IFREG | 0644);
	assert_int_equal(fb_table_count(t), 1);
	/* Deleting again, or a key never stored, is not an error. */
	assert_int_equal(fb_table_del(t, &id), 0);
	struct fb_ident never = ident(9, 9);
	assert_int_equal(fb_table_del(t, &never), 0);
	assert_int_equal(fb_table_count(t), 1);
	/* And it can come back. */
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	assert_attr(t, &id, 5, 6, S_IFREG | 0644);
	drop(f, t);
}

/*
 * With capacity 64 the index has 128 slots.  colliding(dev, ino, i) is the
 * i-th inode number above INO whose home slot on DEV is INO's.
 */
static uint64_t colliding(uint64_t dev, uint64_t ino, uint64_t i)
{
	const uint64_t home = fb_table_slot_of(dev, ino, 127);
	for (uint64_t x = ino + 1;; x++)
		if (fb_table_slot_of(dev, x, 127) == home && i-- == 0)
			return x;
}

/* The inodes of one collision chain on device 2, in order (memoised). */
static uint64_t collide(uint64_t i)
{
	static uint64_t memo[6000], n;
	if (i >= sizeof memo / sizeof memo[0])
		abort();
	while (n <= i)
		memo[n] = n ? colliding(2, memo[n - 1], 0) : 5, n++;
	return memo[i];
}

#define COLLIDE(i) collide(i)

static void test_lookup_missing_key(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(1, 1);
	assert_missing(t, &id);	/* empty table */
	struct fb_attr a = attr(1, 1, S_IFREG);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	struct fb_ident other = ident(1, 2), same_slot = ident(1, colliding(1, 1, 0));
	assert_missing(t, &other);
	assert_missing(t, &same_slot);
	drop(f, t);
}


static void test_probing_past_collisions(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	for (uint32_t i = 0; i < 64; i++) {
		struct fb_ident id = ident(2, COLLIDE(i));
		struct fb_attr a = attr(i, 1000 + i, S_IFREG | 0600);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	for (uint32_t i = 0; i < 64; i++) {
		struct fb_ident id = ident(2, COLLIDE(i));
		assert_attr(t, &id, i, 1000 + i, S_IFREG | 0600);
	}
	assert_int_equal(fb_table_count(t), 64);
	drop(f, t);
}

static void test_delete_inside_collision_chain_keeps_later_keys(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	for (uint32_t i = 0; i < 20; i++) {
		struct fb_ident id = ident(2, COLLIDE(i));
		struct fb_attr a = attr(i, i, S_IFREG | 0600);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	for (uint32_t i = 0; i < 20; i += 2) {
		struct fb_ident id = ident(2, COLLIDE(i));
		assert_int_equal(fb_table_del(t, &id), 0);
	}
	for (uint32_t i = 0; i < 20; i++) {
		struct fb_ident id = ident(2, COLLIDE(i));
		if (i % 2)
			assert_attr(t, &id, i, i, S_IFREG | 0600);
		else
			assert_missing(t, &id);
	}
	/* Re-inserting a key behind tombstones must not create a duplicate. */
	struct fb_ident id = ident(2, COLLIDE(19));
	struct fb_attr a = attr(77, 77, S_IFREG | 0600);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	assert_int_equal(fb_table_count(t), 10);
	assert_int_equal(fb_table_del(t, &id), 0);
	assert_missing(t, &id);
	drop(f, t);
}

static void test_full_table_returns_enospc_and_keeps_records(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	for (uint32_t i = 0; i < 64; i++) {
		struct fb_ident id = ident(2, COLLIDE(i));
		struct fb_attr a = attr(i, i, S_IFREG | 0600);
		assert_int_equal(fb_table_put(t, &id, &a, "/some/path"), 0);
	}
	struct fb_ident extra = ident(2, COLLIDE(64)), other = ident(3, 77);
	struct fb_attr a = attr(9, 9, S_IFREG);
	assert_int_equal(fb_table_put(t, &extra, &a, NULL), -ENOSPC);
	assert_int_equal(fb_table_put(t, &other, &a, "/p"), -ENOSPC);
	assert_missing(t, &extra);
	assert_missing(t, &other);
	assert_int_equal(fb_table_count(t), 64);
	for (uint32_t i = 0; i < 64; i++) {
		struct fb_ident id = ident(2, COLLIDE(i));
		assert_attr(t, &id, i, i, S_IFREG | 0600);
	}
	/* A delete makes room again. */
	struct fb_ident first = ident(2, COLLIDE(0));
	assert_int_equal(fb_table_del(t, &first), 0);
	assert_int_equal(fb_table_put(t, &other, &a, NULL), 0);
	assert_attr(t, &other, 9, 9, S_IFREG);
	drop(f, t);
}

/* An update does not grow the table: it must work when the table is full. */
static void test_update_in_full_table_replaces(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	for (uint32_t i = 0; i < 64; i++) {
		struct fb_ident id = ident(2, COLLIDE(i));
		struct fb_attr a = attr(i, i, S_IFREG | 0600);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	for (uint32_t i = 0; i < 64; i++) {
		struct fb_ident id = ident(2, COLLIDE(i));
		struct fb_attr a = attr(i + 1, 2000 + i, S_IFREG | 0640);
		int rc = fb_table_put(t, &id, &a, NULL);
		if (rc != 0)
			fail_msg("replacing record %u of a full table: %d (%s)", i, rc, strerror(-rc));
	}
	for (uint32_t i = 0; i < 64; i++) {
		struct fb_ident id = ident(2, COLLIDE(i));
		assert_attr(t, &id, i + 1, 2000 + i, S_IFREG | 0640);
	}
	assert_int_equal(fb_table_count(t), 64);
	drop(f, t);
}

static void test_tombstones_trigger_rebuild_and_keep_live_records(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	uint64_t gen0 = t->h->gen;
	/* Live records, half of them in one collision chain. */
	for (uint32_t i = 0; i < 30; i++) {
		struct fb_ident id = ident(2, i % 2 ? COLLIDE(i) : 100000 + i);
		struct fb_attr a = attr(i, 2 * i, S_IFREG | 0640);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	/* Churn: every put/del pair leaves a tombstone. */
	for (uint32_t n = 0; n < 5000; n++) {
		struct fb_ident id = ident(n % 3 ? 2 : 5, n % 4 == 1 ? COLLIDE(100 + n) : 500000 + n);
		struct fb_attr a = attr(n, n, S_IFREG);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
		assert_attr(t, &id, n, n, S_IFREG);
		assert_int_equal(fb_table_del(t, &id), 0);
		assert_missing(t, &id);
	}
	assert_true(t->h->gen > gen0 + 10);	/* the index was rebuilt, repeatedly */
	assert_true(t->h->ntomb < t->h->nslots);
	assert_int_equal(fb_table_count(t), 30);
	for (uint32_t i = 0; i < 30; i++) {
		struct fb_ident id = ident(2, i % 2 ? COLLIDE(i) : 100000 + i);
		assert_attr(t, &id, i, 2 * i, S_IFREG | 0640);
	}
	drop(f, t);
}

/* ---- identity of an inode ---------------------------------------------- */

static void test_stale_record_different_btime_not_returned(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(1, 50);
	id.btime_sec = 1700000000;
	id.btime_nsec = 5;
	struct fb_attr a = attr(3, 3, S_IFREG | 0644);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	struct fb_ident reused = id;
	reused.btime_nsec = 6;
	assert_missing(t, &reused);
	reused = id;
	reused.btime_sec++;
	assert_missing(t, &reused);
	drop(f, t);
}

static void test_stale_record_different_file_type_not_returned(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(1, 51);
	struct fb_attr a = attr(3, 3, S_IFREG | 0644);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	struct fb_ident reused = id;
	reused.real_mode = S_IFDIR | 0755;
	assert_missing(t, &reused);
	/* The permission bits of the real inode are not part of its identity
	 * (the record stays; a change of them shows through its mode). */
	struct fb_ident chmodded = ident(1, 52);
	assert_int_equal(fb_table_put(t, &chmodded, &a, NULL), 0);
	chmodded.real_mode = S_IFREG | 0600;
	assert_attr(t, &chmodded, 3, 3, S_IFREG | 0600);
	assert_int_equal(fb_table_count(t), 1);	/* the stale one went, not this one */
	drop(f, t);
}

static void test_stale_record_is_replaced_by_put(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident old = ident(1, 60);
	old.btime_sec = 100;
	struct fb_attr a = attr(3, 3, S_IFREG | 0644);
	assert_int_equal(fb_table_put(t, &old, &a, NULL), 0);
	struct fb_ident now_ = old;
	now_.btime_sec = 200;
	struct fb_attr b = attr(4, 4, S_IFREG | 0600);
	assert_int_equal(fb_table_put(t, &now_, &b, NULL), 0);
	assert_attr(t, &now_, 4, 4, S_IFREG | 0600);
	assert_missing(t, &old);
	drop(f, t);
}

/*
 * A file deleted while a call about it runs, and its inode number reused
 * at once by another process's new file (ext4): the late call's ident is
 * the dead file's.  Its delete (an unlink's) and get (a stat's) must not
 * touch the new file's record.
 */
static void test_late_calls_about_a_dead_inode_keep_its_successors_record(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident dead = ident(1, 70);
	dead.btime_sec = 100;
	struct fb_ident born = dead;
	born.btime_sec = 200;
	struct fb_attr a = attr(7, 7, S_IFREG | 04755);
	assert_int_equal(fb_table_put(t, &born, &a, NULL), 0);
	assert_int_equal(fb_table_del(t, &dead), 0);
	assert_attr(t, &born, 7, 7, S_IFREG | 04755);
	assert_missing(t, &dead);
	assert_attr(t, &born, 7, 7, S_IFREG | 04755);
	assert_int_equal(fb_table_count(t), 1);
	/* Its own delete still drops it. */
	assert_int_equal(fb_table_del(t, &born), 0);
	assert_missing(t, &born);
	drop(f, t);
}

/*
 * A record born later than the file a chown names need not be a newer
 * file's: another file system can get the same device number (a loop
 * device or a partition numbered otherwise after a reboot), or the clock
 * was set back.  The put replaces it, as any stale record; refusing it
 * made every later chown of the file a silent no-op (helper 65).
 */
static void test_put_replaces_a_stale_record_born_later(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident other = ident(1, 12);
	other.btime_sec = 200;
	struct fb_ident mine = other;
	mine.btime_sec = 100;
	struct fb_attr a = attr(5, 5, S_IFREG | 0644), b = attr(7, 7, S_IFREG | 0644);
	assert_int_equal(fb_table_put(t, &other, &a, NULL), 0);
	assert_int_equal(fb_table_put(t, &mine, &b, NULL), 0);
	assert_attr(t, &mine, 7, 7, S_IFREG | 0644);
	assert_int_equal(fb_table_count(t), 1);
	drop(f, t);
}

static void test_record_without_btime_on_one_side_matches(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	/* Stored without a birth time, looked up with one. */
	struct fb_ident id = ident(1, 70);
	struct fb_attr a = attr(8, 9, S_IFREG | 0644);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	struct fb_ident with = id;
	with.btime_sec = 1700000000;
	with.btime_nsec = 123;
	assert_attr(t, &with, 8, 9, S_IFREG | 0644);
	/* Stored with one, looked up without. */
	struct fb_ident id2 = ident(1, 71);
	id2.btime_sec = 1700000000;
	id2.btime_nsec = 7;
	assert_int_equal(fb_table_put(t, &id2, &a, NULL), 0);
	struct fb_ident without = ident(1, 71);
	assert_attr(t, &without, 8, 9, S_IFREG | 0644);
	/* And exactly the same birth time matches too. */
	assert_attr(t, &id2, 8, 9, S_IFREG | 0644);
	drop(f, t);
}

/* ---- damaged files ------------------------------------------------------ */

static void made_table(struct fx *f)
{
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(1, 1);
	struct fb_attr a = attr(1, 1, S_IFREG);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	drop(f, t);
}

static void test_attach_rejects_bad_magic(void **state)
{
	struct fx *f = *state;
	made_table(f);
	patch_file(f->table, offsetof(struct fb_thdr, magic), "XBTABLE1", 8);
	struct fb_table *t = NULL;
	assert_int_equal(fb_table_attach(f->table, &t), -EPROTO);
	assert_null(t);
	/* Not a table at all. */
	char junk[4200];
	snprintf(junk, sizeof junk, "%s/junk", f->dir);
	int fd = open(junk, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	char zeros[8192] = { 0 };
	assert_int_equal(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
	close(fd);
	assert_int_equal(fb_table_attach(junk, &t), -EPROTO);
}

static void test_attach_rejects_newer_magic(void **state)
{
	struct fx *f = *state;
	made_table(f);
	patch_file(f->table, offsetof(struct fb_thdr, magic) + 7, "2", 1);
	struct fb_table *t = NULL;
	assert_int_equal(fb_table_attach(f->table, &t), -EPROTONOSUPPORT);
	assert_null(t);
}

static void test_attach_rejects_newer_version(void **state)
{
	struct fx *f = *state;
	made_table(f);
	uint32_t v = FB_TABLE_VERSION + 1;
	patch_file(f->table, offsetof(struct fb_thdr, version), &v, sizeof v);
	struct fb_table *t = NULL;
	assert_int_equal(fb_table_attach(f->table, &t), -EPROTONOSUPPORT);
	assert_null(t);
}

static void test_attach_rejects_damaged_header(void **state)
{
	struct fx *f = *state;
	static const size_t fields[] = {
		offsetof(struct fb_thdr, capacity), offsetof(struct fb_thdr, nslots),
		offsetof(struct fb_thdr, index_off), offsetof(struct fb_thdr, rec_off),
		offsetof(struct fb_thdr, arena_off), offsetof(struct fb_thdr, arena_size),
		offsetof(struct fb_thdr, file_size), offsetof(struct fb_thdr, geom_check),
		offsetof(struct fb_thdr, hdr_size),
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		unlink(f->table);
		made_table(f);
		uint64_t x;
		int fd = open(f->table, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &x, sizeof x, (off_t)fields[i]), (ssize_t)sizeof x);
		x ^= 1u << 12;	/* one bit, in the low word of the field */
		assert_int_equal(pwrite(fd, &x, sizeof x, (off_t)fields[i]), (ssize_t)sizeof x);
		close(fd);
		struct fb_table *t = NULL;
		int rc = fb_table_attach(f->table, &t);
		if (rc != -EBADMSG)
			fail_msg("header field at offset %zu flipped: attach returned %d, not -EBADMSG",
				 fields[i], rc);
		assert_null(t);
	}
	/* A file cut short of its geometry. */
	unlink(f->table);
	made_table(f);
	assert_int_equal(truncate(f->table, 8192), 0);
	struct fb_table *t = NULL;
	assert_int_equal(fb_table_attach(f->table, &t), -EBADMSG);
	assert_int_equal(truncate(f->table, 100), 0);
	assert_int_equal(fb_table_attach(f->table, &t), -EBADMSG);
}

/* ---- several processes --------------------------------------------------- */

/* 128 keys, one per slot of a 64-record table; each writer owns 64 of them. */
#define NKEYS 128
#define KEY(k) ident(9, 7000 + (uint64_t)(k))

/* Writers store uid == gid == v, mode and rdev derived from v. */
static struct fb_attr derived(uint32_t v)
{
	struct fb_attr a = attr(v, v, S_IFREG | (v & 07777));
	a.rdev = (uint64_t)v * 3 + 1;
	return a;
}

static int writer(const char *path, uint32_t seed, double until)
{
	struct fb_table *t;
	if (fb_table_attach(path, &t) < 0)
		return 2;
	/* A window of 16 live keys moves over the writer's 64: every step
	 * leaves a tombstone behind, so the index is rebuilt again and again. */
	uint32_t v = seed;
	for (uint32_t j = 0; now() < until; j++) {
		struct fb_ident id = KEY(seed * 64 + j % 64);
		struct fb_ident old = KEY(seed * 64 + (j + 48) % 64);
		v += 2;
		struct fb_attr a = derived(v);
		if (fb_table_put(t, &id, &a, NULL) < 0)
			return 4;
		if (fb_table_del(t, &old) < 0)
			return 3;
	}
	fb_table_detach(t);
	return 0;
}

static int reader(const char *path, double until)
{
	struct fb_table *t;
	if (fb_table_attach(path, &t) < 0)
		return 2;
	unsigned long seen = 0;
	while (now() < until) {
		for (int k = 0; k < NKEYS; k++) {
			struct fb_ident id = KEY(k);
			struct fb_attr a;
			memset(&a, 0xee, sizeof a);
			if (!fb_table_get(t, &id, &a))
				continue;
			struct fb_attr want = derived(a.uid);
			if (a.uid != a.gid || a.mode != want.mode || a.rdev != want.rdev) {
				fprintf(stderr, "torn record for key %d: uid %u gid %u mode %o rdev %llu\n",
					k, a.uid, a.gid, a.mode, (unsigned long long)a.rdev);
				return 5;
			}
			seen++;
		}
	}
	fb_table_detach(t);
	return seen > 0 ? 0 : 6;
}

static void test_concurrent_readers_see_consistent_records(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);	/* small: deletes force rebuilds */
	for (uint32_t k = 0; k < 16; k++) {
		struct fb_ident id = KEY(k);
		struct fb_attr a = derived(k);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	uint64_t gen0 = t->h->gen;
	double until = now() + 1.0;
	pid_t pid[4];
	for (int i = 0; i < 4; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0)
			_exit(i < 2 ? writer(f->table, (uint32_t)i, until) : reader(f->table, until));
	}
	int ok[4];
	for (int i = 0; i < 4; i++)
		ok[i] = child_ok(pid[i]);
	for (int i = 0; i < 4; i++)
		if (!ok[i])
			fail_msg("%s %d failed", i < 2 ? "writer" : "reader", i);
	assert_true(t->h->gen > gen0);	/* rebuilds happened under the readers */
	/* The table is still sound: count agrees with what get finds. */
	uint64_t found = 0;
	for (uint32_t k = 0; k < NKEYS; k++) {
		struct fb_ident id = KEY(k);
		struct fb_attr a;
		if (fb_table_get(t, &id, &a)) {
			assert_int_equal(a.uid, a.gid);
			found++;
		}
	}
	assert_int_equal(fb_table_count(t), found);
	drop(f, t);
}

static void test_killed_writer_does_not_wedge_next_writer(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 256);
	struct fb_ident id = ident(4, 400);
	struct fb_attr a = derived(1);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);

	/* Kill busy writers until one dies holding the lock. */
	int died_locked = 0;
	for (int tries = 0; tries < 200 && !died_locked; tries++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct fb_table *c;
			if (fb_table_attach(f->table, &c) < 0)
				_exit(2);
			for (uint32_t v = 2;; v++) {
				struct fb_attr b = derived(v);
				struct fb_ident other = ident(4, 400 + v % 50);
				fb_table_put(c, &id, &b, NULL);
				fb_table_put(c, &other, &b, NULL);
				fb_table_del(c, &other);
			}
		}
		usleep(20000 + (useconds_t)(tries % 5) * 3000);
		kill(pid, SIGKILL);
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st));
		died_locked = (__atomic_load_n(&t->h->lock, __ATOMIC_ACQUIRE) & FB_LOCK_OWNER) != 0;
	}
	assert_true(died_locked);

	/* The next writer takes the lock over (recovered) and carries on;
	 * if it waited for the dead forever, SIGALRM would end the tests. */
	alarm(60);
	struct fb_attr b = derived(12345);
	assert_int_equal(fb_table_put(t, &id, &b, NULL), 0);
	assert_attr(t, &id, 12345, 12345, b.mode);
	struct fb_ident fresh = ident(4, 99999);
	assert_int_equal(fb_table_put(t, &fresh, &b, NULL), 0);
	assert_attr(t, &fresh, 12345, 12345, b.mode);
	assert_int_equal(fb_table_del(t, &fresh), 0);
	assert_missing(t, &fresh);
	/* The counters were recounted: they agree with the index. */
	uint64_t live = 0;
	for (uint32_t v = 0; v < 50; v++) {
		struct fb_ident other = ident(4, 400 + v);
		struct fb_attr x;
		live += (uint64_t)fb_table_get(t, &other, &x);
	}
	assert_int_equal(fb_table_count(t), live);
	/* And another process can take the lock too (it was released). */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fb_table *c;
		if (fb_table_attach(f->table, &c) < 0)
			_exit(2);
		struct fb_attr z = derived(7);
		_exit(fb_table_put(c, &id, &z, NULL) == 0 ? 0 : 3);
	}
	assert_true(child_ok(pid));
	alarm(0);
	assert_attr(t, &id, 7, 7, derived(7).mode);
	drop(f, t);
}

/*
 * A child that takes the writer lock of F's table and stops (SIGSTOP)
 * holding it; SIGCONT makes it release the lock and exit 0.  Returns its
 * pid once it is stopped.  FORK_FIRST: it first writes (registering) and
 * forks a grandchild that sleeps, whose pid goes to *GRANDCHILD.
 */
static pid_t stopped_holder(struct fx *f, int fork_first, pid_t *grandchild)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		struct fb_table *c;
		if (fb_table_attach(f->table, &c) < 0)
			_exit(2);
		pid_t g = 0;
		if (fork_first) {
			struct fb_ident id = ident(6, 1);
			struct fb_attr a = derived(1);
			if (fb_table_put(c, &id, &a, NULL) < 0)
				_exit(3);
			g = fork();
			if (g == 0) {
				for (;;)
					pause();
			}
		}
		if (write(pfd[1], &g, sizeof g) != (ssize_t)sizeof g)
			_exit(4);
		int rec;
		if (fb_wlock(c, 0, &rec) < 0)
			_exit(5);
		raise(SIGSTOP);
		fb_wunlock(c);
		_exit(0);
	}
	close(pfd[1]);
	pid_t g = 0;
	assert_int_equal(read(pfd[0], &g, sizeof g), (ssize_t)sizeof g);
	close(pfd[0]);
	if (grandchild)
		*grandchild = g;
	int st;
	assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
	assert_true(WIFSTOPPED(st));
	return pid;
}

/* A child that writes one record to F's table; it fails (SIGALRM) after SECS. */
static pid_t put_child(struct fx *f, uint64_t ino, uint32_t v, unsigned secs)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(secs);
		struct fb_table *c;
		if (fb_table_attach(f->table, &c) < 0)
			_exit(2);
		struct fb_ident id = ident(6, ino);
		struct fb_attr a = derived(v);
		_exit(fb_table_put(c, &id, &a, NULL) == 0 ? 0 : 3);
	}
	return pid;
}

static void test_dead_holder_is_taken_over(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 256);
	struct fb_ident id = ident(6, 100);
	struct fb_attr a = derived(5);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	uint64_t changes = fb_table_changes(t);
	pid_t holder = stopped_holder(f, 0, NULL);
	uint32_t word = __atomic_load_n(&t->h->lock, __ATOMIC_ACQUIRE);
	assert_true((word & FB_LOCK_OWNER) != 0);
	kill(holder, SIGKILL);
	assert_int_equal(waitpid(holder, NULL, 0), holder);
	/* The word still names the dead holder; the next writer takes over. */
	assert_int_equal(__atomic_load_n(&t->h->lock, __ATOMIC_ACQUIRE) & FB_LOCK_OWNER,
			 word & FB_LOCK_OWNER);
	assert_true(child_ok(put_child(f, 100, 6, 10)));	/* no hang: SIGALRM fails it */
	assert_attr(t, &id, 6, 6, derived(6).mode);
	assert_int_equal(__atomic_load_n(&t->h->lock, __ATOMIC_ACQUIRE), 0);
	/* Recovery counts a change of its own: the table is saved. */
	assert_true(fb_table_changes(t) >= changes + 2);
	assert_int_equal(fb_table_count(t), 1);
	drop(f, t);
}

static void test_stopped_holder_is_waited_for(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 256);
	pid_t holder = stopped_holder(f, 0, NULL);
	/* Alive, so never taken over, however long it holds the lock. */
	pid_t w = put_child(f, 7, 7, 30);
	usleep(300000);	/* 30 liveness checks */
	int st;
	assert_int_equal(waitpid(w, &st, WNOHANG), 0);
	struct fb_ident id = ident(6, 7);
	assert_missing(t, &id);
	kill(holder, SIGCONT);
	assert_true(child_ok(holder));
	assert_true(child_ok(w));
	assert_attr(t, &id, 7, 7, derived(7).mode);
	drop(f, t);
}

/* A forked child does not keep its dead parent looking alive (atfork). */
static void test_forked_child_does_not_keep_dead_holder_alive(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 256);
	pid_t g = 0;
	pid_t holder = stopped_holder(f, 1, &g);
	assert_true(g > 0);
	kill(holder, SIGKILL);
	assert_int_equal(waitpid(holder, NULL, 0), holder);
	pid_t w = put_child(f, 8, 8, 10);
	int ok = child_ok(w);
	kill(g, SIGKILL);
	assert_true(ok);
	drop(f, t);
}

static void test_lock_fd_moves_and_stays_locked(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	assert_true(fb_table_lock_fd(t) >= 0);	/* the creator registers at once */
	struct fb_ident id = ident(6, 9);
	struct fb_attr a = derived(9);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	int fd = fb_table_lock_fd(t);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fb_table_move_lock_fd(t), 0);
	int moved = fb_table_lock_fd(t);
	assert_true(moved >= 0 && moved != fd);
	assert_int_equal(fcntl(fd, F_GETFD), -1);	/* the old number is free */
	/* Another process still sees this one alive: its byte is locked. */
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET,
		.l_start = FB_LOCK_LIVE_BASE + t->token, .l_len = 1,
	};
	int other = open(f->table, O_RDONLY);
	assert_true(other >= 0);
	assert_int_equal(fcntl(other, F_OFD_GETLK, &fl), 0);
	assert_int_equal(fl.l_type, F_RDLCK);
	close(other);
	drop(f, t);
}

/* A private table, unlinked once made (cpiotranslate --db), takes its
 * creator's writes: it registered through the descriptor that made it. */
static void test_creator_writes_a_table_whose_name_is_gone(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	assert_int_equal(unlink(f->table), 0);
	struct fb_ident id = ident(6, 12);
	struct fb_attr a = derived(12), got;
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	assert_int_equal(fb_table_get(t, &id, &got), 1);
	assert_int_equal(got.uid, a.uid);
	drop(f, t);
}

static void test_writer_holding_lock_gets_edeadlk_not_a_hang(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(6, 10);
	struct fb_attr a = derived(10);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	int rec;
	alarm(30);	/* waiting on itself would hang: SIGALRM fails the tests */
	assert_int_equal(fb_wlock(t, 0, &rec), 0);
	/* What a signal handler that interrupted this writer would do. */
	struct fb_attr b = derived(11);
	assert_int_equal(fb_table_put(t, &id, &b, NULL), -EDEADLK);
	assert_int_equal(fb_wlock(t, 1, &rec), -EBUSY);
	fb_wunlock(t);
	assert_int_equal(fb_table_put(t, &id, &b, NULL), 0);
	alarm(0);
	assert_attr(t, &id, 11, 11, b.mode);
	drop(f, t);
}

struct thr {
	struct fb_table *t;
	uint32_t base;
};

static void *thread_writer(void *arg)
{
	struct thr *w = arg;
	for (uint32_t i = 0; i < 500; i++) {
		struct fb_ident id = ident(8, w->base + i);
		struct fb_attr a = derived(w->base + i);
		if (fb_table_put(w->t, &id, &a, NULL) != 0)
			return (void *)1;
	}
	return NULL;
}

/* Threads share one token and registration; the word still excludes them. */
static void test_threads_and_processes_write_concurrently(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 8192);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fb_table *c;
		if (fb_table_attach(f->table, &c) < 0)
			_exit(2);
		for (uint32_t i = 0; i < 2000; i++) {
			struct fb_ident id = ident(8, 100000 + i);
			struct fb_attr a = derived(i);
			if (fb_table_put(c, &id, &a, NULL) != 0)
				_exit(3);
		}
		_exit(0);
	}
	pthread_t th[4];
	struct thr w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct thr){ t, (uint32_t)i * 1000 };
		assert_int_equal(pthread_create(&th[i], NULL, thread_writer, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *r;
		assert_int_equal(pthread_join(th[i], &r), 0);
		assert_null(r);
	}
	assert_true(child_ok(pid));
	assert_int_equal(fb_table_count(t), 4 * 500 + 2000);
	for (uint32_t i = 0; i < 4 * 1000; i += 1000)
		for (uint32_t k = 0; k < 500; k += 50) {
			struct fb_ident id = ident(8, i + k);
			assert_attr(t, &id, i + k, i + k, derived(i + k).mode);
		}
	assert_int_equal(__atomic_load_n(&t->h->lock, __ATOMIC_ACQUIRE), 0);
	drop(f, t);
}

static void test_attach_rejects_unknown_incompat_feature(void **state)
{
	struct fx *f = *state;
	made_table(f);
	uint32_t v = 1;
	patch_file(f->table, offsetof(struct fb_thdr, incompat), &v, sizeof v);
	struct fb_table *t = NULL;
	assert_int_equal(fb_table_attach(f->table, &t), -EPROTONOSUPPORT);
	assert_null(t);
}

/* ---- fb_view ------------------------------------------------------------ */

static struct statx fake_statx(uint64_t ino, uint32_t mode)
{
	struct statx stx;
	memset(&stx, 0, sizeof stx);
	stx.stx_mask = STATX_BASIC_STATS | STATX_BTIME;
	stx.stx_dev_major = 8;
	stx.stx_dev_minor = 1;
	stx.stx_ino = ino;
	stx.stx_mode = (__u16)mode;
	stx.stx_uid = 1234;
	stx.stx_gid = 5678;
	stx.stx_nlink = 1;
	stx.stx_btime.tv_sec = 1700000000;
	stx.stx_btime.tv_nsec = 42;
	stx.stx_rdev_major = 0;
	stx.stx_rdev_minor = 0;
	return stx;
}

static void test_view_unknown_file_is_root_owned_with_real_mode(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct statx stx = fake_statx(300, S_IFREG | 0751);
	struct fb_attr a;
	assert_int_equal(fb_view(t, &stx, 0, &a), 0);
	assert_int_equal(a.uid, 0);
	assert_int_equal(a.gid, 0);
	assert_int_equal(a.mode, S_IFREG | 0751);
	/* No table mapped: the same. */
	memset(&a, 0xff, sizeof a);
	assert_int_equal(fb_view(NULL, &stx, 0, &a), 0);
	assert_int_equal(a.uid, 0);
	assert_int_equal(a.gid, 0);
	assert_int_equal(a.mode, S_IFREG | 0751);
	/* A real device node keeps its rdev. */
	struct statx dev = fake_statx(301, S_IFCHR | 0666);
	dev.stx_rdev_major = 1;
	dev.stx_rdev_minor = 5;
	assert_int_equal(fb_view(t, &dev, 0, &a), 0);
	assert_int_equal(a.rdev, makedev(1, 5));
	drop(f, t);
}

static void test_view_unknown_is_real_gives_real_owner(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct statx stx = fake_statx(302, S_IFDIR | 0700);
	struct fb_attr a;
	assert_int_equal(fb_view(t, &stx, 1, &a), 0);
	assert_int_equal(a.uid, 1234);
	assert_int_equal(a.gid, 5678);
	assert_int_equal(a.mode, S_IFDIR | 0700);
	drop(f, t);
}

static void test_view_known_file_gives_its_record(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct statx stx = fake_statx(303, S_IFREG | 0644);
	struct fb_ident id;
	fb_ident_from_statx(&id, &stx);
	assert_int_equal(id.dev, makedev(8, 1));
	assert_int_equal(id.btime_sec, 1700000000);
	struct fb_attr want = attr(0, 0, S_IFCHR | 0600);
	want.rdev = makedev(4, 64);
	assert_int_equal(fb_table_put(t, &id, &want, NULL), 0);
	struct fb_attr a;
	assert_int_equal(fb_view(t, &stx, 1, &a), 1);
	assert_int_equal(a.uid, 0);
	assert_int_equal(a.mode, S_IFCHR | 0600);
	assert_int_equal(a.rdev, makedev(4, 64));
	fb_view_apply_statx(&stx, &a);
	assert_int_equal(stx.stx_uid, 0);
	assert_int_equal(stx.stx_mode, S_IFCHR | 0600);
	assert_int_equal(stx.stx_rdev_major, 4);
	assert_int_equal(stx.stx_rdev_minor, 64);
	/* Without STATX_BTIME the birth time is unknown, and it still matches. */
	struct statx nob = fake_statx(303, S_IFREG | 0644);
	nob.stx_mask &= ~(unsigned)STATX_BTIME;
	assert_int_equal(fb_view(t, &nob, 0, &a), 1);
	drop(f, t);
}

static void test_chown_mode_clears_setuid_and_setgid_only_when_group_executable(void **state)
{
	(void)state;
	assert_int_equal(fb_chown_mode(S_IFREG | 04755, 1), S_IFREG | 0755);
	assert_int_equal(fb_chown_mode(S_IFREG | 06755, 1), S_IFREG | 0755);
	assert_int_equal(fb_chown_mode(S_IFREG | 06745, 1), S_IFREG | 02745);	/* g-x: mandatory locking bit stays */
	assert_int_equal(fb_chown_mode(S_IFREG | 02745, 1), S_IFREG | 02745);
	assert_int_equal(fb_chown_mode(S_IFREG | 02745, 0), S_IFREG | 0745);	/* unless the caller could not keep it */
	assert_int_equal(fb_chown_mode(S_IFREG | 02710, 1), S_IFREG | 0710);
	assert_int_equal(fb_chown_mode(S_IFREG | 01755, 1), S_IFREG | 01755);
	/* Every other non-directory as a regular file (devices, FIFOs). */
	assert_int_equal(fb_chown_mode(S_IFCHR | 06755, 1), S_IFCHR | 0755);
	assert_int_equal(fb_chown_mode(S_IFIFO | 04755, 1), S_IFIFO | 0755);
	assert_int_equal(fb_chown_mode(S_IFDIR | 06755, 0), S_IFDIR | 06755);	/* a directory keeps both */
	assert_int_equal(fb_chown_mode(S_IFLNK | 0777, 1), S_IFLNK | 0777);
}

/*
 * The index grows with the records: a table of default capacity starts
 * with FB_INDEX_START slots, doubles as records come, and every record
 * stays findable across the rebuilds.  A small table's index stays within
 * the first 2 MiB of the file, beside the header (one page-table page for
 * a process that looks up a few files).
 */
static void test_index_grows_with_records_and_stays_near_header(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, FB_TABLE_DEFAULT_CAPACITY);
	assert_int_equal(t->h->active[t->h->gen & 1], FB_INDEX_START);
	const uint32_t n = 3 * FB_INDEX_START;
	for (uint32_t i = 0; i < n; i++) {
		struct fb_ident id = ident(7, 1000 + 37 * (uint64_t)i);
		struct fb_attr a = attr(i, i + 1, S_IFREG | 0644);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	uint64_t active = t->h->active[t->h->gen & 1];
	assert_true(active > FB_INDEX_START && (uint64_t)n * 4 <= active * 3 && active < t->h->nslots);
	for (uint32_t i = 0; i < n; i++) {
		struct fb_ident id = ident(7, 1000 + 37 * (uint64_t)i);
		assert_attr(t, &id, i, i + 1, S_IFREG | 0644);
	}
	assert_int_equal(fb_table_count(t), n);
	/* The active index holds them all, and every index word ever used
	 * (the other index's too) lies in the first 2 MiB. */
	const uint32_t *w = (const uint32_t *)(t->base + t->h->index_off);
	uint64_t last = 0, used = 0;
	for (uint64_t i = 0; i < 2 * t->h->nslots; i++) {
		if (w[i] == FB_SLOT_EMPTY)
			continue;
		last = i;
		used += i % 2 == (t->h->gen & 1);
	}
	assert_int_equal(used, n);
	assert_true(t->h->index_off + 4 * last < (2u << 20));
	drop(f, t);
}

/*
 * A tree's files have consecutive inode numbers.  They must not cluster
 * in the index: every record sits within a short run of its home slot
 * (a hash once kept blocks of 256 inodes together, which in a small index
 * made runs of hundreds of slots).
 */
static void test_consecutive_inodes_stay_near_home_slot(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, FB_TABLE_DEFAULT_CAPACITY);
	for (uint32_t i = 0; i < 12000; i++) {
		struct fb_ident id = ident(4, 2000000 + (uint64_t)i);
		struct fb_attr a = attr(0, 0, S_IFREG | 0644);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	const uint64_t g = t->h->gen & 1, n = t->h->active[g], mask = n - 1;
	uint64_t worst = 0, seen = 0;
	for (uint64_t s = 0; s < n; s++) {
		uint32_t v = t->index[2 * s + g];
		if (v == FB_SLOT_EMPTY || v == FB_SLOT_TOMB)
			continue;
		const struct fb_trec *r = &t->recs[v - 1];
		uint64_t d = (s - fb_table_slot_of(r->dev, r->ino, mask)) & mask;
		if (d > worst)
			worst = d;
		seen++;
	}
	assert_int_equal(seen, 12000);
	if (worst >= 64)
		fail_msg("a record sits %llu slots past its home slot", (unsigned long long)worst);
	drop(f, t);
}

/* A put that changes nothing writes nothing: no new record, no change. */
static void test_put_of_same_attributes_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(6, 42);
	struct fb_attr a = attr(0, 2, S_IFREG | 04755);
	assert_int_equal(fb_table_put(t, &id, &a, "/p/f"), 0);
	const uint64_t changes = fb_table_changes(t), used = t->h->rec_next;
	assert_int_equal(fb_table_put(t, &id, &a, "/p/f"), 0);
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	assert_int_equal(fb_table_changes(t), changes);
	assert_int_equal(t->h->rec_next, used);
	assert_attr(t, &id, 0, 2, S_IFREG | 04755);
	/* A real change still lands. */
	a.mode = S_IFREG | 0755;
	assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	assert_int_equal(fb_table_changes(t), changes + 1);
	assert_attr(t, &id, 0, 2, S_IFREG | 0755);
	/* So does a hint for a record that had none. */
	struct fb_ident bare = ident(6, 43);
	assert_int_equal(fb_table_put(t, &bare, &a, NULL), 0);
	const uint64_t c2 = fb_table_changes(t);
	assert_int_equal(fb_table_put(t, &bare, &a, "/p/g"), 0);
	assert_int_equal(fb_table_changes(t), c2 + 1);
	drop(f, t);
}

/*
 * A record keeps the permission bits its file had on disk.  Bits changed
 * since, past the library (an editor, git, a chmod outside a session),
 * show through; the faked type, set-id and sticky bits and owner stay.
 */
static void test_disk_bits_changed_past_the_library_show_through(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(6, 50);	/* S_IFREG | 0644 on disk */
	struct fb_attr a = attr(5, 6, S_IFREG | 04755);
	assert_int_equal(fb_table_put(t, &id, &a, "/p/f"), 0);
	assert_attr(t, &id, 5, 6, S_IFREG | 04755);
	struct fb_ident now = id;
	now.real_mode = S_IFREG | 0700;
	assert_attr(t, &now, 5, 6, S_IFREG | 04700);
	struct fb_attr b;
	int found;
	assert_int_equal(fb_table_get_xattrs(t, &now, &b, &found, NULL, 0), 0);
	assert_true(found);
	assert_int_equal(b.mode, S_IFREG | 04700);
	/* A lookup that knows only the type (a directory entry's) cannot tell. */
	now.type_only = 1;
	assert_attr(t, &now, 5, 6, S_IFREG | 04755);
	/* Nor can an update: it keeps the bits the record knew (0644). */
	a.uid = 7;
	assert_int_equal(fb_table_put(t, &now, &a, NULL), 0);
	now.type_only = 0;
	assert_attr(t, &now, 7, 6, S_IFREG | 04700);
	now.real_mode = S_IFREG | 0644;
	assert_attr(t, &now, 7, 6, S_IFREG | 04755);
	/* Recording the same attributes again takes the disk's new bits. */
	now.real_mode = S_IFREG | 0700;
	assert_int_equal(fb_table_put(t, &now, &a, NULL), 0);
	assert_attr(t, &now, 7, 6, S_IFREG | 04755);
	/* A faked device keeps its type and number. */
	struct fb_ident dev = ident(6, 51);
	struct fb_attr d = attr(0, 6, S_IFCHR | 0660);
	d.rdev = makedev(4, 1);
	assert_int_equal(fb_table_put(t, &dev, &d, NULL), 0);
	dev.real_mode = S_IFREG | 0600;
	assert_int_equal(fb_table_get(t, &dev, &b), 1);
	assert_int_equal(b.mode, S_IFCHR | 0600);
	assert_int_equal(b.rdev, makedev(4, 1));
	drop(f, t);
}

/* A record of an older version (no disk bits) keeps its mode; a loaded
 * record with them compares as one made in the session. */
static void test_loaded_records_keep_what_they_know_of_the_disk(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_trec old = { .dev = 5, .ino = 9, .real_type = S_IFREG, .mode = S_IFREG | 0640 };
	struct fb_trec new = { .dev = 5, .ino = 10, .real_type = S_IFREG | FB_RT_PERM | 0640,
			       .mode = S_IFREG | 0640 };
	assert_int_equal(fb_table_load_rec(t, &old, "/o", NULL, 0), 0);
	assert_int_equal(fb_table_load_rec(t, &new, "/n", NULL, 0), 0);
	struct fb_ident io = ident(5, 9), in = ident(5, 10);	/* now 0644 on disk */
	assert_attr(t, &io, 0, 0, S_IFREG | 0640);
	assert_attr(t, &in, 0, 0, S_IFREG | 0644);
	in.real_mode = S_IFREG | 0640;
	assert_attr(t, &in, 0, 0, S_IFREG | 0640);
	drop(f, t);
}

/* A change made from a view is written only if the record still shows
 * that view: another process's write in between makes it -EAGAIN. */
static void test_put_if_writes_only_over_what_was_read(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(6, 60);
	struct fb_attr none = attr(0, 0, S_IFREG | 0644), a = attr(1, 1, S_IFREG | 0644);
	/* No record expected: written; expected again: refused. */
	assert_int_equal(fb_table_put_if(t, &id, NULL, &a, NULL), 0);
	assert_int_equal(fb_table_put_if(t, &id, NULL, &none, NULL), -EAGAIN);
	assert_attr(t, &id, 1, 1, S_IFREG | 0644);
	/* Another process's chmod lands between our read (A) and our write. */
	struct fb_attr theirs = attr(1, 1, S_IFREG | 0700), ours = attr(2, 1, S_IFREG | 0644);
	assert_int_equal(fb_table_put(t, &id, &theirs, NULL), 0);
	const uint64_t changes = fb_table_changes(t);
	assert_int_equal(fb_table_put_if(t, &id, &a, &ours, NULL), -EAGAIN);
	assert_int_equal(fb_table_changes(t), changes);
	assert_attr(t, &id, 1, 1, S_IFREG | 0700);
	/* Made again from what is there now: both land. */
	ours.mode = theirs.mode;
	assert_int_equal(fb_table_put_if(t, &id, &theirs, &ours, NULL), 0);
	assert_attr(t, &id, 2, 1, S_IFREG | 0700);
	drop(f, t);
}

/* Listing xattrs skips the table until a record has carried a blob; then for good. */
static void test_has_xattrs_once_a_blob_was_stored(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(5, 1), other = ident(5, 2);
	struct fb_attr a = attr(0, 0, S_IFREG | 0644);
	assert_false(fb_table_has_xattrs(t));
	assert_int_equal(fb_table_put(t, &id, &a, "/f"), 0);
	assert_int_equal(fb_table_put_xattrs(t, &other, &a, NULL, 0, NULL), 0);
	assert_false(fb_table_has_xattrs(t));
	static const char blob[] = "trusted.t\0001";
	assert_int_equal(fb_table_put_xattrs(t, &id, &a, blob, sizeof blob, NULL), 0);
	assert_true(fb_table_has_xattrs(t));
	assert_int_equal(fb_table_del(t, &id), 0);
	assert_true(fb_table_has_xattrs(t));
	assert_false(fb_table_has_faked_types(t));
	drop(f, t);
}

static void test_has_faked_types_once_a_record_fakes_one(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(5, 1), dir = ident(5, 2);
	dir.real_mode = S_IFDIR | 0755;
	struct fb_attr reg = attr(0, 0, S_IFREG | 0644), d = attr(0, 0, S_IFDIR | 0700);
	assert_int_equal(fb_table_put(t, &id, &reg, NULL), 0);
	assert_int_equal(fb_table_put(t, &dir, &d, NULL), 0);
	assert_false(fb_table_has_faked_types(t));
	/* mknod: an empty regular file on disk, a device in the record. */
	struct fb_attr dev = attr(0, 0, S_IFCHR | 0644);
	dev.rdev = makedev(1, 3);
	assert_int_equal(fb_table_put(t, &id, &dev, NULL), 0);
	assert_true(fb_table_has_faked_types(t));
	assert_false(fb_table_has_xattrs(t));
	assert_int_equal(fb_table_del(t, &id), 0);
	assert_true(fb_table_has_faked_types(t));	/* never cleared */
	drop(f, t);
}

/* Loading a database with a device record sets the flag too. */
static void test_has_faked_types_after_load(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_trec r = { .dev = 5, .ino = 9, .real_type = S_IFREG, .mode = S_IFBLK | 0660,
			     .rdev = makedev(8, 0) };
	assert_int_equal(fb_table_load_rec(t, &r, "/b", NULL, 0), 0);
	assert_true(fb_table_has_faked_types(t));
	drop(f, t);
}

/* A blob (in BLOB, 256 bytes) holding one ACL, user::rwx, as NAME. */
static size_t acl_blob(const char *name, char *blob)
{
	static const char acl[] = "\2\0\0\0\1\0\7\0\377\377\377\377";
	long n = fb_xblob_set(NULL, 0, name, acl, sizeof acl - 1, blob, 256);
	assert_true(n > 0);
	return (size_t)n;
}

/* New files look for a default ACL to inherit only once some record has
 * carried one, stored by a session or loaded with a database. */
static void test_has_default_acls_once_one_was_stored(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	struct fb_ident id = ident(5, 1), dir = ident(5, 2);
	struct fb_attr a = attr(0, 0, S_IFREG | 0644);
	char blob[256];
	size_t n = acl_blob(FB_XATTR_ACL_ACCESS, blob);
	assert_int_equal(fb_table_put_xattrs(t, &id, &a, blob, n, NULL), 0);
	assert_true(fb_table_has_xattrs(t));
	assert_false(fb_table_has_default_acls(t));
	n = acl_blob(FB_XATTR_ACL_DEFAULT, blob);
	assert_int_equal(fb_table_put_xattrs(t, &dir, &a, blob, n, NULL), 0);
	assert_true(fb_table_has_default_acls(t));
	assert_int_equal(fb_table_del(t, &dir), 0);
	assert_true(fb_table_has_default_acls(t));	/* never cleared */
	drop(f, t);
}

static void test_has_default_acls_after_load(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 64);
	char blob[256];
	size_t n = acl_blob(FB_XATTR_ACL_DEFAULT, blob);
	struct fb_trec r = { .dev = 5, .ino = 9, .real_type = S_IFDIR, .mode = S_IFDIR | 0755 };
	assert_int_equal(fb_table_load_rec(t, &r, "/d", blob, (uint32_t)n), 0);
	assert_true(fb_table_has_default_acls(t));
	drop(f, t);
}

/* Is the page holding P mapped in this process?  (/proc/self/pagemap, bit 63.) */
static int mapped(const void *p)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	uint64_t e = 0;
	ssize_t n = pread(fd, &e, sizeof e, (off_t)((uintptr_t)p / 4096 * sizeof e));
	close(fd);
	return n == (ssize_t)sizeof e ? (int)(e >> 63) : -1;
}

/*
 * A process that writes many records maps the pages ahead of them a block
 * at a time, not a page fault at a time (about 15 us each on a VM): the
 * page after the last record written, and after the last path hint, is
 * already mapped when it lies in the block begun.
 */
static void test_bulk_writer_maps_pages_ahead(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, FB_TABLE_DEFAULT_CAPACITY);
	if (mapped(t->base) != 1)
		skip();	/* no /proc/self/pagemap */
	const uint64_t b = FB_POPULATE_BLOCK, room = 2 * 4096;
	for (uint32_t i = 0;; i++) {
		struct fb_ident id = ident(9, 5000 + (uint64_t)i);
		struct fb_attr a = attr(0, 0, S_IFREG | 0644);
		char hint[64];
		snprintf(hint, sizeof hint, "/tree/d%u/file-%u", i / 20, i);
		assert_int_equal(fb_table_put(t, &id, &a, hint), 0);
		/* Past the first block (begun by whoever wrote first), short of a block's end. */
		const uint64_t r = t->h->rec_next * sizeof(struct fb_trec), h = t->h->arena_next;
		if (r > b && r % b && r % b < b - room && h > b && h % b && h % b < b - room)
			break;
		assert_true(i < 100000);
	}
	const unsigned char *recs_end = (const unsigned char *)(t->recs + t->h->rec_next);
	assert_int_equal(mapped(recs_end + 4096), 1);
	assert_int_equal(mapped(t->arena + t->h->arena_next + 4096), 1);
	/* Only ahead within the block: the next block is left alone. */
	const uint64_t next = (t->h->rec_next * sizeof(struct fb_trec) / b + 1) * b;
	assert_int_equal(mapped((const unsigned char *)t->recs + next), 0);
	drop(f, t);
}

/* Readers look up fixed keys while a writer's inserts grow the index. */
static void test_readers_during_index_growth(void **state)
{
	struct fx *f = *state;
	struct fb_table *t = new_table(f, 1u << 20);
	for (uint32_t k = 0; k < NKEYS; k++) {
		struct fb_ident id = KEY(k);
		struct fb_attr a = derived(k);
		assert_int_equal(fb_table_put(t, &id, &a, NULL), 0);
	}
	uint64_t active0 = t->h->active[t->h->gen & 1];
	pid_t pid[3];
	for (int i = 0; i < 3; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0 && i > 0) {
			/* A reader: every fixed key, found and whole, all along. */
			struct fb_table *r;
			if (fb_table_attach(f->table, &r) < 0)
				_exit(2);
			for (int round = 0; round < 200; round++)
				for (uint32_t k = 0; k < NKEYS; k++) {
					struct fb_ident id = KEY(k);
					struct fb_attr a, want = derived(k);
					if (!fb_table_get(r, &id, &a))
						_exit(3);
					if (a.uid != want.uid || a.mode != want.mode)
						_exit(4);
				}
			_exit(0);
		}
		if (pid[i] == 0) {
			struct fb_table *w;
			if (fb_table_attach(f->table, &w) < 0)
				_exit(2);
			for (uint32_t j = 0; j < 8 * FB_INDEX_START; j++) {
				struct fb_ident id = ident(9, 5000000 + (uint64_t)j);
				struct fb_attr a = attr(j, j, S_IFREG);
				if (fb_table_put(w, &id, &a, NULL) < 0)
					_exit(5);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 3; i++)
		if (!child_ok(pid[i]))
			fail_msg("%s failed", i ? "reader" : "writer");
	assert_true(t->h->active[t->h->gen & 1] > active0);
	assert_int_equal(fb_table_count(t), NKEYS + 8 * FB_INDEX_START);
	drop(f, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_create_attach_round_trip),
		T(test_create_rejects_bad_capacity),
		T(test_insert_and_lookup),
		T(test_update_replaces),
		T(test_delete),
		T(test_lookup_missing_key),
		T(test_probing_past_collisions),
		T(test_delete_inside_collision_chain_keeps_later_keys),
		T(test_full_table_returns_enospc_and_keeps_records),
		T(test_update_in_full_table_replaces),
		T(test_tombstones_trigger_rebuild_and_keep_live_records),
		T(test_stale_record_different_btime_not_returned),
		T(test_late_calls_about_a_dead_inode_keep_its_successors_record),
		T(test_put_replaces_a_stale_record_born_later),
		T(test_stale_record_different_file_type_not_returned),
		T(test_stale_record_is_replaced_by_put),
		T(test_record_without_btime_on_one_side_matches),
		T(test_attach_rejects_bad_magic),
		T(test_attach_rejects_newer_magic),
		T(test_attach_rejects_newer_version),
		T(test_attach_rejects_damaged_header),
		T(test_concurrent_readers_see_consistent_records),
		T(test_index_grows_with_records_and_stays_near_header),
		T(test_readers_during_index_growth),
		T(test_put_of_same_attributes_writes_nothing),
		T(test_bulk_writer_maps_pages_ahead),
		T(test_has_xattrs_once_a_blob_was_stored),
		T(test_has_faked_types_once_a_record_fakes_one),
		T(test_has_faked_types_after_load),
		T(test_disk_bits_changed_past_the_library_show_through),
		T(test_loaded_records_keep_what_they_know_of_the_disk),
		T(test_put_if_writes_only_over_what_was_read),
		T(test_has_default_acls_once_one_was_stored),
		T(test_has_default_acls_after_load),
		T(test_consecutive_inodes_stay_near_home_slot),
		T(test_killed_writer_does_not_wedge_next_writer),
		T(test_dead_holder_is_taken_over),
		T(test_stopped_holder_is_waited_for),
		T(test_forked_child_does_not_keep_dead_holder_alive),
		T(test_lock_fd_moves_and_stays_locked),
		T(test_creator_writes_a_table_whose_name_is_gone),
		T(test_writer_holding_lock_gets_edeadlk_not_a_hang),
		T(test_threads_and_processes_write_concurrently),
		T(test_attach_rejects_unknown_incompat_feature),
		T(test_view_unknown_file_is_root_owned_with_real_mode),
		T(test_view_unknown_is_real_gives_real_owner),
		T(test_view_known_file_gives_its_record),
		T(test_chown_mode_clears_setuid_and_setgid_only_when_group_executable),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
