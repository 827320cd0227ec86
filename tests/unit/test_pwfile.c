/*
 * test_pwfile.c - passwd and group lines (db/pwfile.c), the parser both
 * fakebuild's check of --passwd/--group and the library's lookups use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pwfile.h"

static enum fb_pwline_status parse(const char *s, int kind, struct fb_pwline *l)
{
	return fb_pwline_parse(s, s + strlen(s), kind, l);
}

static void assert_field(const struct fb_pwline *l, int i, const char *want)
{
	assert_int_equal(l->len[i], strlen(want));
	assert_memory_equal(l->f[i], want, strlen(want));
}

static void test_passwd_entry(void **state)
{
	(void)state;
	struct fb_pwline l;
	assert_int_equal(parse("app:x:1234:100:App User,,,:/home/app:/bin/sh", FB_PW_PASSWD, &l),
			 FB_PWL_ENTRY);
	assert_field(&l, 0, "app");
	assert_field(&l, 1, "x");
	assert_int_equal(l.id[0], 1234);
	assert_int_equal(l.id[1], 100);
	assert_field(&l, 4, "App User,,,");
	assert_field(&l, 5, "/home/app");
	assert_field(&l, 6, "/bin/sh");
	/* Empty fields other than the name and ids are fine. */
	assert_int_equal(parse("nobody::65534:65534:::", FB_PW_PASSWD, &l), FB_PWL_ENTRY);
	assert_field(&l, 6, "");
	/* Leading white space is skipped, as glibc does. */
	assert_int_equal(parse("  \tapp:x:1:2:::", FB_PW_PASSWD, &l), FB_PWL_ENTRY);
	assert_field(&l, 0, "app");
	/* The largest id; (uid_t)-1 means "unchanged" to chown and is refused. */
	assert_int_equal(parse("big:x:4294967294:0:::", FB_PW_PASSWD, &l), FB_PWL_ENTRY);
	assert_int_equal(l.id[0], 4294967294u);
}

static void test_skipped_lines(void **state)
{
	(void)state;
	struct fb_pwline l;
	assert_int_equal(parse("", FB_PW_PASSWD, &l), FB_PWL_SKIP);
	assert_int_equal(parse("   \t", FB_PW_PASSWD, &l), FB_PWL_SKIP);
	assert_int_equal(parse("# a comment: with colons", FB_PW_PASSWD, &l), FB_PWL_SKIP);
	assert_int_equal(parse("  #indented", FB_PW_GROUP, &l), FB_PWL_SKIP);
	/* NIS compat lines: never matched by a files lookup. */
	assert_int_equal(parse("+::::::", FB_PW_PASSWD, &l), FB_PWL_SKIP);
	assert_int_equal(parse("-baduser", FB_PW_PASSWD, &l), FB_PWL_SKIP);
	assert_int_equal(parse("+:::", FB_PW_GROUP, &l), FB_PWL_SKIP);
}

static void test_malformed_lines(void **state)
{
	(void)state;
	struct fb_pwline l;
	assert_int_equal(parse("app:x:1:2", FB_PW_PASSWD, &l), FB_PWL_FIELDS);
	assert_int_equal(l.nfields, 4);
	assert_int_equal(parse("app:x:1:2:g:/h:/bin/sh:extra", FB_PW_PASSWD, &l), FB_PWL_FIELDS);
	assert_int_equal(l.nfields, 8);
	assert_int_equal(parse("app", FB_PW_GROUP, &l), FB_PWL_FIELDS);
	assert_int_equal(l.nfields, 1);
	assert_int_equal(parse(":x:1:2:::", FB_PW_PASSWD, &l), FB_PWL_NAME);
	assert_int_equal(parse("app:x:abc:2:::", FB_PW_PASSWD, &l), FB_PWL_ID);
	assert_int_equal(l.bad, 2);
	assert_int_equal(parse("app:x:1:-2:::", FB_PW_PASSWD, &l), FB_PWL_ID);
	assert_int_equal(l.bad, 3);
	assert_int_equal(parse("app:x::2:::", FB_PW_PASSWD, &l), FB_PWL_ID);
	assert_int_equal(parse("app:x: 1:2:::", FB_PW_PASSWD, &l), FB_PWL_ID);
	assert_int_equal(parse("app:x:4294967295:2:::", FB_PW_PASSWD, &l), FB_PWL_ID);
	assert_int_equal(parse("app:x:99999999999999999999:2:::", FB_PW_PASSWD, &l), FB_PWL_ID);
	assert_int_equal(parse("grp:x:1x:", FB_PW_GROUP, &l), FB_PWL_ID);
	assert_int_equal(l.bad, 2);
	const char nul[] = "app:x:1\0:2:::";
	assert_int_equal(fb_pwline_parse(nul, nul + sizeof nul - 1, FB_PW_PASSWD, &l), FB_PWL_NUL);
}

static void test_group_members(void **state)
{
	(void)state;
	struct fb_pwline l;
	assert_int_equal(parse("staff:x:50:app, backup,,  ,www-data", FB_PW_GROUP, &l), FB_PWL_ENTRY);
	assert_int_equal(l.id[0], 50);
	const char *want[] = { "app", "backup", "www-data" };
	const char *pos = NULL, *m;
	size_t n, i = 0;
	while (fb_pwline_member(&l, &pos, &m, &n)) {
		assert_true(i < 3);
		assert_int_equal(n, strlen(want[i]));
		assert_memory_equal(m, want[i], n);
		i++;
	}
	assert_int_equal(i, 3);
	assert_int_equal(parse("empty:x:51:", FB_PW_GROUP, &l), FB_PWL_ENTRY);
	pos = NULL;
	assert_int_equal(fb_pwline_member(&l, &pos, &m, &n), 0);
}

static void test_line_end(void **state)
{
	(void)state;
	const char text[] = "a:x:1:\nb:x:2:";
	const char *end = text + sizeof text - 1;
	const char *e = fb_pwline_end(text, end);
	assert_int_equal(e - text, 6);
	assert_ptr_equal(fb_pwline_end(e + 1, end), end);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passwd_entry),
		cmocka_unit_test(test_skipped_lines),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_group_members),
		cmocka_unit_test(test_line_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
