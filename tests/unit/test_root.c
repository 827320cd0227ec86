/*
 * test_root.c - the pieces of db/ that build roots add: the device map of
 * a root's overlays (db/view.c) and seeding a root's private table from
 * the user's (db/table_copy.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "fixture.h"

#include "table.h"
#include "view.h"
#include "xblob.h"

static int setup(void **state)
{
	struct fx *f = fx_new("fbroot");
	if (!f)
		return -1;
	*state = f;
	return 0;
}

static int teardown_map(void **state)
{
	fb_devmap_set(NULL);
	return teardown(state);
}

static struct statx stx(uint64_t dev, uint64_t ino, int64_t btime)
{
	struct statx x;
	memset(&x, 0, sizeof x);
	x.stx_mask = STATX_BASIC_STATS | STATX_BTIME;
	x.stx_dev_major = major(dev);
	x.stx_dev_minor = minor(dev);
	x.stx_ino = ino;
	x.stx_mode = S_IFREG | 0644;
	x.stx_btime.tv_sec = btime;
	return x;
}

/* ---- the device map ------------------------------------------------------ */

static void test_devmap_samefs_keys_overlay_files_by_the_device_under_it(void **state)
{
	(void)state;
	uint64_t ovl = makedev(0, 45), disk = makedev(254, 0);
	char spec[64];
	snprintf(spec, sizeof spec, "%llu:0:%llu", (unsigned long long)ovl, (unsigned long long)disk);
	assert_int_equal(fb_devmap_set(spec), 0);
	struct statx x = stx(ovl, 1234, 99);
	struct fb_ident id;
	fb_ident_from_statx(&id, &x);
	assert_int_equal(id.dev, disk);
	assert_int_equal(id.ino, 1234);
	/* a copy-up gives a new birth time: not compared there */
	assert_int_equal(id.btime_sec, 0);
	/* any other device is left alone, birth time included */
	x = stx(makedev(8, 1), 1234, 99);
	fb_ident_from_statx(&id, &x);
	assert_int_equal(id.dev, makedev(8, 1));
	assert_int_equal(id.btime_sec, 99);
}

static void test_devmap_xino_takes_the_layer_from_the_high_bits(void **state)
{
	(void)state;
	uint64_t ovl = makedev(0, 45), tmpfs = makedev(0, 39), disk = makedev(254, 0),
		 other = makedev(0, 42);
	char spec[128];
	/* three filesystems: xino uses the top three bits, fsid in the top two */
	snprintf(spec, sizeof spec, "%llu:62:%llu:%llu:%llu", (unsigned long long)ovl,
		 (unsigned long long)tmpfs, (unsigned long long)disk, (unsigned long long)other);
	assert_int_equal(fb_devmap_set(spec), 0);
	struct fb_ident id;
	struct statx x = stx(ovl, (1ull << 62) | 11026423, 5);	/* fsid 1 */
	fb_ident_from_statx(&id, &x);
	assert_int_equal(id.dev, disk);
	assert_int_equal(id.ino, 11026423);
	x = stx(ovl, (2ull << 62) | 4, 5);			/* fsid 2 */
	fb_ident_from_statx(&id, &x);
	assert_int_equal(id.dev, other);
	assert_int_equal(id.ino, 4);
	x = stx(ovl, 8, 5);					/* the upper layer */
	fb_ident_from_statx(&id, &x);
	assert_int_equal(id.dev, tmpfs);
	assert_int_equal(id.ino, 8);
	/* the reserved bit: a number the kernel could not map stays as it is */
	x = stx(ovl, (1ull << 61) | 8, 5);
	fb_ident_from_statx(&id, &x);
	assert_int_equal(id.dev, ovl);
	assert_int_equal(id.ino, (1ull << 61) | 8);
}

static void test_devmap_rejects_malformed_specs_and_clears(void **state)
{
	(void)state;
	assert_int_equal(fb_devmap_set("1:0:2"), 0);
	const char *bad[] = { "x", "1", "1:0", "1:0:", "1:64:2", "1:0:2,", "1:0:2;3:0:4", "1:0:2:3:4:5:6:7:8:9:10" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(fb_devmap_set(bad[i]), -EINVAL);
		struct statx x = stx(1, 7, 3);
		struct fb_ident id;
		fb_ident_from_statx(&id, &x);
		assert_int_equal(id.dev, 1);	/* a bad map maps nothing */
	}
	assert_int_equal(fb_devmap_set("1:0:2,3:0:4"), 0);
	assert_int_equal(fb_devmap_set(""), 0);
	struct statx x = stx(3, 7, 3);
	struct fb_ident id;
	fb_ident_from_statx(&id, &x);
	assert_int_equal(id.dev, 3);
}

/* A record made before a copy-up is found after it, through the map. */
static void test_devmap_record_survives_copy_up(void **state)
{
	struct fx *f = *state;
	struct fb_table *t;
	assert_int_equal(fb_table_create(f->table, 1024, &t), 0);
	own(f, t);
	uint64_t ovl = makedev(0, 45), disk = makedev(254, 0);
	/* recorded at unpack time, on the disk, with the lower file's birth time */
	struct fb_ident lower = { .dev = disk, .ino = 500, .btime_sec = 100, .real_mode = S_IFREG | 0644 };
	struct fb_attr a = { .uid = 0, .gid = 42, .mode = S_IFREG | 0640 };
	assert_int_equal(fb_table_put(t, &lower, &a, "/cache/etc/shadow"), 0);
	char spec[64];
	snprintf(spec, sizeof spec, "%llu:0:%llu", (unsigned long long)ovl, (unsigned long long)disk);
	assert_int_equal(fb_devmap_set(spec), 0);
	/* seen through the overlay after a copy-up: its number, a new birth time */
	struct statx x = stx(ovl, 500, 200);
	struct fb_attr got;
	assert_int_equal(fb_view(t, &x, 0, &got), 1);
	assert_int_equal(got.gid, 42);
	assert_int_equal(got.mode, S_IFREG | 0640);
	fb_devmap_set(NULL);
	/* the same numbers on a device of no overlay: the birth time differs */
	x = stx(disk, 500, 200);
	assert_int_equal(fb_view(t, &x, 0, &got), 0);
}

/* ---- seeding a root's table ---------------------------------------------- */

static void test_copy_under_takes_only_records_of_the_trees_shown(void **state)
{
	struct fx *f = *state;
	char p2[4300];
	snprintf(p2, sizeof p2, "%s/table2", f->dir);
	struct fb_table *user, *root;
	assert_int_equal(fb_table_create(f->table, 1024, &user), 0);
	own(f, user);
	assert_int_equal(fb_table_create(p2, 1024, &root), 0);
	own(f, root);
	struct fb_attr a = { .uid = 5, .gid = 6, .mode = S_IFREG | 04755 };
	const char *hints[] = { "/src/tree/a", "/src/tree", "/src/treeish/b", "/home/u/secret", NULL };
	for (int i = 0; i < 5; i++) {
		struct fb_ident id = { .dev = 9, .ino = 100 + (uint64_t)i, .real_mode = S_IFREG | 0644 };
		assert_int_equal(fb_table_put(user, &id, &a, hints[i]), 0);
	}
	/* an xattr blob goes along */
	unsigned char blob[64];
	long bl = fb_xblob_set(NULL, 0, "security.capability", "cap", 3, blob, sizeof blob);
	assert_true(bl > 0);
	struct fb_ident cap = { .dev = 9, .ino = 200, .real_mode = S_IFREG | 0644 };
	assert_int_equal(fb_table_put_xattrs(user, &cap, &a, blob, (size_t)bl, "/src/tree/cap"), 0);

	const char *dirs[] = { "/src/tree", "/opt" };
	assert_int_equal(fb_table_copy_under(root, user, dirs, 2), 3);
	struct fb_attr got;
	for (int i = 0; i < 5; i++) {
		struct fb_ident id = { .dev = 9, .ino = 100 + (uint64_t)i, .real_mode = S_IFREG | 0644 };
		assert_int_equal(fb_table_get(root, &id, &got), i < 2);
	}
	int found;
	unsigned char buf[64];
	assert_int_equal(fb_table_get_xattrs(root, &cap, &got, &found, buf, sizeof buf), bl);
	assert_int_equal(found, 1);
	assert_int_equal(got.mode, S_IFREG | 04755);
	/* "/" is every record with a hint */
	const char *all[] = { "/" };
	assert_int_equal(fb_table_copy_under(root, user, all, 1), 5);
	assert_int_equal(fb_table_copy_under(root, root, all, 1), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown_map)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_devmap_samefs_keys_overlay_files_by_the_device_under_it),
		T(test_devmap_xino_takes_the_layer_from_the_high_bits),
		T(test_devmap_rejects_malformed_specs_and_clears),
		T(test_devmap_record_survives_copy_up),
		T(test_copy_under_takes_only_records_of_the_trees_shown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
