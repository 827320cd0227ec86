/*
 * test_escape.c - a file name on one line of text (db/escape.c), as
 * protofix's differences and fakebuild --changes write it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "escape.h"

static char *escaped(const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(fb_escape_put(f, name), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void assert_escaped(const char *name, const char *want)
{
	char *got = escaped(name);
	assert_string_equal(got, want);
	free(got);
}

static void test_plain_names_are_unchanged(void **state)
{
	(void)state;
	assert_escaped("", "");
	assert_escaped("/usr/bin/a b", "/usr/bin/a b");
	/* bytes above ASCII (UTF-8 names) are a reader's to show */
	assert_escaped("/caf\xc3\xa9", "/caf\xc3\xa9");
}

static void test_control_characters_and_backslash_are_octal(void **state)
{
	(void)state;
	assert_escaped("/a\nD etcpasswd", "/a\\012D etcpasswd");
	assert_escaped("\t\r\x1b\x7f", "\\011\\015\\033\\177");
	assert_escaped("a\\012", "a\\134012");
}

static void assert_quoted(const char *word, const char *want)
{
	char *got = fb_shell_quote(word);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_shell_quote(void **state)
{
	(void)state;
	assert_quoted("/home/u/.local/state/fakebuild/fakebuild.db", "/home/u/.local/state/fakebuild/fakebuild.db");
	assert_quoted("", "''");
	assert_quoted("/tmp/sp ace/db", "'/tmp/sp ace/db'");
	assert_quoted("it's", "'it'\\''s'");
	assert_quoted("$HOME;`x`\\n", "'$HOME;`x`\\n'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_names_are_unchanged),
		cmocka_unit_test(test_control_characters_and_backslash_are_octal),
		cmocka_unit_test(test_shell_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
