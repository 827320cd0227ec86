/*
 * test_manifest.c - the packaging manifest readers (db/manifest*.c).
 * Fixtures: $FB_SRCDIR/tests/unit/fixtures/manifest, else the same path
 * relative to the current directory (tests/run runs from the top).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "manifest.h"

static char fixdir[4096];

static const char *fx(const char *name)
{
	static char buf[4][4352];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", fixdir, name);
	return buf[i];
}

static int setup_dir(void **state)
{
	const char *src = getenv("FB_SRCDIR");

	(void)state;
	snprintf(fixdir, sizeof(fixdir), "%s%stests/unit/fixtures/manifest",
		 src ? src : "", src ? "/" : "");
	return 0;
}

/* A manifest resolving names through the fixture passwd and group. */
static struct fb_manifest *named(void)
{
	struct fb_manifest *m = fb_manifest_new();

	assert_non_null(m);
	assert_int_equal(fb_manifest_set_names(m, fx("passwd"), fx("group")), 0);
	return m;
}

static struct fb_manifest *loaded(const char *fixture)
{
	struct fb_manifest *m = named();

	if (fb_manifest_load(m, fx(fixture), FB_MF_AUTO) != 0)
		fail_msg("%s: %s", fixture, fb_manifest_error(m));
	return m;
}

/* Load FIXTURE, expect failure, and check the message contains WANT. */
static void expect_error(const char *fixture, enum fb_mformat fmt, const char *want)
{
	struct fb_manifest *m = named();

	assert_int_equal(fb_manifest_load(m, fx(fixture), fmt), -1);
	if (strstr(fb_manifest_error(m), want) == NULL)
		fail_msg("error '%s' lacks '%s'", fb_manifest_error(m), want);
	assert_int_equal(fb_manifest_count(m), 0);
	fb_manifest_free(m);
}

static void expect_mem_error(const char *name, const char *text, const char *want)
{
	struct fb_manifest *m = named();

	assert_int_equal(fb_manifest_load_mem(m, name, text, strlen(text), FB_MF_AUTO), -1);
	if (strstr(fb_manifest_error(m), want) == NULL)
		fail_msg("error '%s' lacks '%s'", fb_manifest_error(m), want);
	fb_manifest_free(m);
}

static const struct fb_mentry *must_find(const struct fb_manifest *m, const char *path)
{
	const struct fb_mentry *e = fb_manifest_find(m, path);

	if (e == NULL)
		fail_msg("'%s' not in the manifest", path);
	return e;
}

/* --- paths ------------------------------------------------------------------ */

static void norm_is(const char *in, const char *want)
{
	char out[64];

	assert_int_equal(fb_path_normalize(in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_path_normalize_strips_and_collapses(void **state)
{
	(void)state;
	norm_is("/usr/bin/", "usr/bin");
	norm_is("./usr/bin", "usr/bin");
	norm_is("usr//bin", "usr/bin");
	norm_is("usr/./bin/.", "usr/bin");
	norm_is(".hidden/..x", ".hidden/..x");
	norm_is("", ".");
	norm_is("/", ".");
	norm_is(".", ".");
	norm_is("./", ".");
}

static void test_path_normalize_rejects_dotdot(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(fb_path_normalize("usr/../etc", out, sizeof(out)), -EINVAL);
	assert_int_equal(fb_path_normalize("..", out, sizeof(out)), -EINVAL);
	assert_int_equal(fb_path_normalize("/a/b/..", out, sizeof(out)), -EINVAL);
}

static void test_path_normalize_reports_short_buffer(void **state)
{
	char out[4];

	(void)state;
	assert_int_equal(fb_path_normalize("usr/bin", out, sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(fb_path_normalize("/", out, 1), -ENAMETOOLONG);
	assert_int_equal(fb_path_normalize("abc", out, sizeof(out)), 0);
}

static void test_path_with_dotdot_in_manifest_is_error(void **state)
{
	(void)state;
	expect_mem_error("dd.proto", "d none /usr 0755 root sys\nf none /usr/../etc/x 0644 root bin\n",
			 "dd.proto:2: bad path '/usr/../etc/x': '..' is not allowed");
}

static void test_find_normalizes_the_key(void **state)
{
	struct fb_manifest *m = loaded("tree.proto");

	(void)state;
	assert_ptr_equal(must_find(m, "usr/bin"), fb_manifest_find(m, "/usr/bin/"));
	assert_ptr_equal(must_find(m, "usr/bin"), fb_manifest_find(m, "./usr//bin"));
	assert_null(fb_manifest_find(m, "usr/../usr"));
	assert_null(fb_manifest_find(m, "usr/lib"));
	fb_manifest_free(m);
}

/* --- one tree in five formats ----------------------------------------------- */

/* Symlink modes and owners mean nothing on Linux; formats differ there. */
static void same_entry(const struct fb_mentry *a, const struct fb_mentry *b)
{
	unsigned mask = FB_MH_UID | FB_MH_GID | FB_MH_MODE | FB_MH_RDEV | FB_MH_TARGET;

	assert_string_equal(a->path, b->path);
	assert_int_equal(a->type, b->type);
	if (a->type == FB_M_SYMLINK) {
		assert_string_equal(a->target, b->target);
		return;
	}
	if ((a->have & mask) != (b->have & mask))
		fail_msg("%s: have %#x vs %#x", a->path, a->have, b->have);
	if (a->have & FB_MH_UID)
		assert_int_equal(a->uid, b->uid);
	if (a->have & FB_MH_GID)
		assert_int_equal(a->gid, b->gid);
	if (a->have & FB_MH_MODE)
		assert_int_equal(a->perm, b->perm);
	if (a->have & FB_MH_RDEV) {
		assert_int_equal(a->dev_major, b->dev_major);
		assert_int_equal(a->dev_minor, b->dev_minor);
	}
	if (a->have & FB_MH_TARGET)
		assert_string_equal(a->target, b->target);
}

/* Every entry of SUB is in REF and the same; with FULL, the sizes agree too. */
static void same_model(struct fb_manifest *ref, struct fb_manifest *sub, int full)
{
	size_t n;
	const struct fb_mentry *const *v = fb_manifest_sorted(sub, &n);

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		same_entry(must_find(ref, v[i]->path), v[i]);
	if (full)
		assert_int_equal(fb_manifest_count(ref), fb_manifest_count(sub));
}

static void test_equivalent_tree_in_all_formats(void **state)
{
	static const char *const others[] = { "tree.mtree", "tree.export", "tree.cpio" };
	struct fb_manifest *ref = loaded("tree.proto"), *m;
	const struct fb_mentry *e;

	(void)state;
	assert_int_equal(fb_manifest_count(ref), 8);
	e = must_find(ref, "usr/bin/su");
	assert_int_equal(e->perm, 04755);
	e = must_find(ref, "usr/bin/newgrp");
	assert_int_equal(e->type, FB_M_HARDLINK);
	assert_string_equal(e->target, "usr/bin/su");
	assert_int_equal(e->perm, 04755);
	e = must_find(ref, "dev/null");
	assert_int_equal(e->type, FB_M_CHAR);
	assert_int_equal(e->dev_major, 1);
	assert_int_equal(e->dev_minor, 3);
	for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++) {
		m = loaded(others[i]);
		same_model(ref, m, 1);
		fb_manifest_free(m);
	}
	/* IPS has no device or fifo actions: the rest must agree. */
	m = loaded("tree.ips");
	same_model(ref, m, 0);
	assert_int_equal(fb_manifest_count(m), 6);
	fb_manifest_free(m);
	fb_manifest_free(ref);
}

static void test_auto_detection_matches_explicit_format(void **state)
{
	static const struct { const char *file; enum fb_mformat fmt; } t[] = {
		{ "tree.proto", FB_MF_PROTOTYPE }, { "tree.ips", FB_MF_IPS },
		{ "tree.mtree", FB_MF_MTREE }, { "tree.export", FB_MF_MTREE },
		{ "tree.cpio", FB_MF_CPIOLIST },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		struct fb_manifest *a = loaded(t[i].file), *b = named();

		if (fb_manifest_load(b, fx(t[i].file), t[i].fmt) != 0)
			fail_msg("%s: %s", t[i].file, fb_manifest_error(b));
		same_model(a, b, 1);
		fb_manifest_free(a);
		fb_manifest_free(b);
	}
}

static void test_undetectable_format_is_error(void **state)
{
	(void)state;
	expect_mem_error("junk", "# comment\n\t# indented comment\nhello world\n",
			 "junk:3: can't tell the format from 'hello world'");
}

static void test_format_names_round_trip(void **state)
{
	enum fb_mformat f;

	(void)state;
	for (int i = FB_MF_AUTO; i <= FB_MF_CPIOLIST; i++) {
		assert_int_equal(fb_manifest_format_parse(fb_manifest_format_name(i), &f), 0);
		assert_int_equal(f, i);
	}
	assert_int_equal(fb_manifest_format_parse("tar", &f), -1);
	assert_string_equal(fb_mtype_name(FB_M_FIFO), "fifo");
	assert_int_equal(fb_mtype_to_ifmt(FB_M_HARDLINK), S_IFREG);
	assert_int_equal(fb_mtype_to_ifmt(FB_M_BLOCK), S_IFBLK);
}

static void test_empty_manifest_loads_nothing(void **state)
{
	struct fb_manifest *m = named();

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "empty", "# nothing\n\n", 11, FB_MF_AUTO), 0);
	assert_int_equal(fb_manifest_load_mem(m, "empty.mtree", "#mtree\n", 7, FB_MF_MTREE), 0);
	assert_int_equal(fb_manifest_count(m), 0);
	fb_manifest_free(m);
}

/* --- prototype -------------------------------------------------------------- */

static void test_prototype_default_param_and_include(void **state)
{
	struct fb_manifest *m = loaded("include_main.proto");
	const struct fb_mentry *e;

	(void)state;
	e = must_find(m, "opt/app");	/* !default 0750 builder staff */
	assert_int_equal(e->have & (FB_MH_UID | FB_MH_GID | FB_MH_MODE),
			 FB_MH_UID | FB_MH_GID | FB_MH_MODE);
	assert_int_equal(e->perm, 0750);
	assert_int_equal(e->uid, 1234);
	assert_string_equal(e->uname, "builder");
	assert_int_equal(e->gid, 50);
	e = must_find(m, "opt/app/bin");	/* "? root ?" */
	assert_int_equal(e->have & (FB_MH_UID | FB_MH_GID | FB_MH_MODE), FB_MH_UID);
	e = must_find(m, "opt/app/bin/tool");	/* from inc/sub.proto */
	assert_int_equal(e->perm, 0755);
	assert_int_equal(e->gid, 2);
	assert_non_null(strstr(e->file, "inc/sub.proto"));
	assert_int_equal(e->line, 2);
	e = must_find(m, "opt/app/bin/tool2");	/* from inc/more.proto */
	assert_int_equal(e->type, FB_M_HARDLINK);
	assert_string_equal(e->target, "opt/app/bin/tool");
	assert_int_equal(e->perm, 0755);
	e = must_find(m, "opt/app/bin/t");
	assert_string_equal(e->target, "tool");
	must_find(m, "$UNDEFINED/x");	/* unknown parameters stay as written */
	fb_manifest_free(m);
}

static void test_prototype_include_loop_is_error(void **state)
{
	(void)state;
	expect_error("loop_a.proto", FB_MF_AUTO, "loop_b.proto:2: !include 'loop_a.proto': include loop");
}

static void test_prototype_include_depth_is_limited(void **state)
{
	char dir[] = "/tmp/fbmf.XXXXXX", path[64];
	struct fb_manifest *m = named();
	FILE *f;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 20; i++) {	/* d0 includes d1 ... includes d19 */
		snprintf(path, sizeof(path), "%s/d%d", dir, i);
		assert_non_null(f = fopen(path, "w"));
		fprintf(f, "d none /d%d 0755 root root\n!include d%d\n", i, i + 1);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/d0", dir);
	assert_int_equal(fb_manifest_load(m, path, FB_MF_AUTO), -1);
	if (strstr(fb_manifest_error(m), "d15:2: !include 'd16': expected at most 16 levels") == NULL)
		fail_msg("%s", fb_manifest_error(m));
	assert_int_equal(fb_manifest_count(m), 0);
	for (i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "%s/d%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
	fb_manifest_free(m);
}

static void test_prototype_bad_mode_names_file_and_line(void **state)
{
	(void)state;
	expect_error("bad_mode.proto", FB_MF_AUTO, "bad_mode.proto:3: bad mode '08x5': expected octal");
}

static void test_prototype_unknown_type_is_error(void **state)
{
	(void)state;
	expect_error("unknown_type.proto", FB_MF_PROTOTYPE,
		     "unknown_type.proto:2: unknown file type 'z': expected one of b c d e f i l p s v x");
}

static void test_prototype_missing_fields_is_error(void **state)
{
	(void)state;
	expect_error("missing_fields.proto", FB_MF_AUTO,
		     "missing_fields.proto:2: expected 'ftype class path', found 2 fields");
	expect_mem_error("m.proto", "f none /x 0644 root\n",
			 "m.proto:1: 'x': expected 'mode owner group', found 2 fields");
	expect_mem_error("m.proto", "c none /dev/x\n",
			 "m.proto:1: 'dev/x': expected 'major minor' for a device");
	expect_mem_error("m.proto", "s none /bin/sh\n", "m.proto:1: 'bin/sh': expected path=target");
	expect_mem_error("t.proto", "f none /x 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n",
			 "t.proto:1: unexpected '14': expected at most 16 fields");
}

static void test_prototype_hardlink_target_relative_to_link(void **state)
{
	struct fb_manifest *m = named();
	const char *t = "f none /usr/lib/x 0555 root bin\nl none /usr/bin/x=../lib/x\n"
			"l none /usr/bin/y=/usr/lib/x\n";
	const struct fb_mentry *e;

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "h.proto", t, strlen(t), FB_MF_AUTO), 0);
	e = must_find(m, "usr/bin/x");
	assert_string_equal(e->target, "usr/lib/x");
	assert_int_equal(e->perm, 0555);
	assert_string_equal(must_find(m, "usr/bin/y")->target, "usr/lib/x");
	fb_manifest_free(m);
	expect_mem_error("h.proto", "l none /x=../../y\n", "h.proto:1: hard link 'x': bad target '../../y'");
}

static void test_prototype_ignores_info_files_and_part_numbers(void **state)
{
	struct fb_manifest *m = named();
	const char *t = "i pkginfo\ni depend=./depend\n1 d none /usr 0755 root sys\n";

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "p.proto", t, strlen(t), FB_MF_AUTO), 0);
	assert_int_equal(fb_manifest_count(m), 1);
	must_find(m, "usr");
	fb_manifest_free(m);
}

/* --- IPS -------------------------------------------------------------------- */

static void test_ips_quotes_and_continuations(void **state)
{
	struct fb_manifest *m = loaded("quoting.ips");
	const struct fb_mentry *e;

	(void)state;
	assert_int_equal(fb_manifest_count(m), 3);
	e = must_find(m, "usr/share/my file");
	assert_int_equal(e->perm, 0444);
	assert_int_equal(e->gid, 2);
	assert_int_equal(e->line, 1);
	must_find(m, "usr/share/it's");
	assert_string_equal(must_find(m, "usr/lib/libx.so")->target, "libx.so.1");
	fb_manifest_free(m);
}

static void test_ips_unterminated_quote_is_error(void **state)
{
	(void)state;
	expect_error("unterminated.ips", FB_MF_AUTO,
		     "unterminated.ips:2: unterminated quote in the value of 'path'");
}

static void test_ips_missing_path_is_error(void **state)
{
	(void)state;
	expect_error("missing_path.ips", FB_MF_IPS, "missing_path.ips:2: dir action: expected path=");
	expect_mem_error("l.ips", "link path=a\n", "l.ips:1: link action: expected target=");
	expect_mem_error("e.ips", "dir path= owner=root\n",
			 "e.ips:1: dir action: expected a path after path=, found an empty value");
	expect_mem_error("u.ips", "dir path=a\nfrobnicate path=b x=y\n",
			 "u.ips:2: unknown action 'frobnicate'");
	/* An unknown action first is no format to tell (before: taken for
	 * an mtree path, then "not an mtree manifest", no line). */
	expect_mem_error("f.p5m", "frob path=usr owner=root\n",
			 "f.p5m:1: can't tell the format from 'frob path=usr owner=root'");
	/* A backslash that says the last action goes on, at the end of the
	 * file (before: accepted as it stood). */
	expect_mem_error("b.ips", "dir path=a\nfile path=b mode=4755 \\",
			 "b.ips:2: the file ends where a backslash says the action from line 2 goes on");
	expect_mem_error("c.ips", "file path=b \\\nmode=4755 \\\n",
			 "c.ips:3: the file ends where a backslash says the action from line 1 goes on");
	/* One value each: a repeated path= or mode= is a mistake, not "the last wins". */
	expect_mem_error("d.ips", "file path=a path=b mode=0644\n",
			 "d.ips:1: file action: path= given twice ('a' and 'b')");
	expect_mem_error("m.ips", "dir path=a mode=0755 mode=0700\n",
			 "m.ips:1: dir action: mode= given twice");
	expect_mem_error("k.ips", "dir path=a =foo\n", "k.ips:1: dir action: '=foo' has no attribute name");
}

/* --- mtree ------------------------------------------------------------------ */

static void test_mtree_reader_warning_is_error(void **state)
{
	(void)state;
	expect_error("bad_keyword.mtree", FB_MF_AUTO, "bad_keyword.mtree: entry './usr/x': Unrecognized key bogus=1");
	expect_mem_error("t.mtree", "./x type=hlink link=./y\n", "t.mtree: entry './x': ");
	expect_mem_error("s.mtree", "./x type=link\n",
			 "s.mtree: entry './x': expected link= for type=link");
}

static void test_mtree_absent_keywords_stay_unset(void **state)
{
	struct fb_manifest *m = loaded("absent.mtree");
	const struct fb_mentry *e;

	(void)state;
	e = must_find(m, "usr");
	assert_int_equal(e->have, 0);
	e = must_find(m, "usr/x");
	assert_int_equal(e->have, FB_MH_UID);
	assert_string_equal(e->uname, "root");
	e = must_find(m, "usr/y");	/* present and zero */
	assert_int_equal(e->have, FB_MH_UID | FB_MH_GID | FB_MH_MODE);
	assert_int_equal(e->perm, 0);
	fb_manifest_free(m);
}

/* A device without device= has no numbers, as in the other formats; libarchive reads 0,0. */
static void test_mtree_device_without_numbers_has_none(void **state)
{
	struct fb_manifest *m = named();
	const char *t = "#mtree\n./dev/tty type=char mode=0666\n"
			"./dev/null type=char mode=0666 device=native,1,3\n"
			"./dev/zero type=block mode=0666 device=0\n";
	const struct fb_mentry *e;

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "d.mtree", t, strlen(t), FB_MF_AUTO), 0);
	e = must_find(m, "dev/tty");
	assert_int_equal(e->have & FB_MH_RDEV, 0);
	e = must_find(m, "dev/null");
	assert_int_equal(e->have & FB_MH_RDEV, FB_MH_RDEV);
	assert_int_equal(e->dev_major, 1);
	assert_int_equal(e->dev_minor, 3);
	e = must_find(m, "dev/zero");	/* given, and 0,0 */
	assert_int_equal(e->have & FB_MH_RDEV, FB_MH_RDEV);
	assert_int_equal(e->dev_major, 0);
	fb_manifest_free(m);
}

/* CRLF line ends are taken, as the other formats take them (libarchive
 * refused them: "Can't parse line 3" for line 2, counting our own line). */
static void test_mtree_crlf_and_line_numbers(void **state)
{
	struct fb_manifest *m = named();
	const char *t = "#mtree\r\n./dev type=dir mode=0755\r\n"
			"./dev/tty type=char mode=0666 device=native,5,0\r\n";

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "crlf.mtree", t, strlen(t), FB_MF_AUTO), 0);
	assert_int_equal(must_find(m, "dev")->perm, 0755);
	assert_int_equal(must_find(m, "dev/tty")->dev_major, 5);
	fb_manifest_free(m);
	/* The line the user wrote: a continued line counts as two. */
	expect_mem_error("a.mtree", "#mtree\n./a type=dir \\\n  mode=0755\n/bogus x\n",
			 "a.mtree:4: libarchive's mtree reader can't parse this line");
	expect_mem_error("b.mtree", "#mtree\r\n./a type=file\r\n/bogus\r\n", "b.mtree:3: ");
	expect_mem_error("c.mtree", "#mtree\n./a type=file\r\r\n", "c.mtree:2: ");
}

/* A last line without its newline (or with a CR alone) was dropped by
 * libarchive, silently; a line ending in an escaped backslash ("\\\\")
 * was taken for a continued one, and the next error named the wrong
 * line; a device number too large read as none (helper-51). */
static void test_mtree_last_line_backslashes_and_huge_devices(void **state)
{
	struct fb_manifest *m = named();
	const char *t = "#mtree\n./a type=file uid=8";
	const char *cr = "#mtree\r\n./b type=file uid=9\r";

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "a.mtree", t, strlen(t), FB_MF_AUTO), 0);
	assert_int_equal(must_find(m, "a")->uid, 8);
	fb_manifest_free(m);
	m = named();
	assert_int_equal(fb_manifest_load_mem(m, "b.mtree", cr, strlen(cr), FB_MF_AUTO), 0);
	assert_int_equal(must_find(m, "b")->uid, 9);
	fb_manifest_free(m);
	expect_mem_error("c.mtree", "#mtree\n./a\\\\\n/usr/b type=file\n", "c.mtree:3: ");
	expect_mem_error("d.mtree", "#mtree\n./c type=char device=99999999999999999999\n", "d.mtree");
}

/* libarchive reads "12abc" as a number: the manifest reader refuses it, naming the line. */
static void test_mtree_numbers_are_checked(void **state)
{
	struct fb_manifest *m = named();
	const char *ok = "#mtree\n/set uid=0 gid=4294967294\n./x type=file \\\n  mode=07777\n"
			 "# uid=bad in a comment\n./uid=bad type=file uid=4294967294 mode=0\n";

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "ok.mtree", ok, strlen(ok), FB_MF_AUTO), 0);
	assert_int_equal(must_find(m, "x")->perm, 07777);
	assert_int_equal(must_find(m, "uid=bad")->uid, 4294967294U);
	fb_manifest_free(m);
	expect_mem_error("a.mtree", "#mtree\n./usr type=dir uid=daemon\n",
			 "a.mtree:2: uid=daemon: expected a decimal number from 0 to 4294967294");
	expect_mem_error("b.mtree", "./usr type=dir uid=12abc\n", "b.mtree:1: uid=12abc: expected");
	expect_mem_error("c.mtree", "#mtree\n./usr type=dir \\\n gid=-1\n", "c.mtree:3: gid=-1: expected");
	expect_mem_error("d.mtree", "./usr type=dir uid=99999999999\n", "d.mtree:1: uid=99999999999");
	expect_mem_error("e.mtree", "/set mode=07777777\n./usr type=dir\n",
			 "e.mtree:1: mode=07777777: expected an octal mode from 0 to 7777");
	expect_mem_error("f.mtree", "./usr type=dir mode=0855\n", "f.mtree:1: mode=0855");
	expect_mem_error("g.mtree", "./usr type=dir mode=\n", "g.mtree:1: mode=: expected");
}

static void test_mtree_unknown_name_with_number_keeps_number(void **state)
{
	struct fb_manifest *m = named();
	const char *t = "./x type=file uname=nosuchuser uid=77 gid=5 mode=0644\n";
	const struct fb_mentry *e;

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "n.mtree", t, strlen(t), FB_MF_AUTO), 0);
	e = must_find(m, "x");
	assert_int_equal(e->uid, 77);
	assert_string_equal(e->uname, "nosuchuser");
	assert_int_equal(fb_manifest_nwarnings(m), 1);
	fb_manifest_free(m);
}

/* What fakebuild --export writes: the header, every device number Linux allows, hard links. */
static void test_mtree_export_form(void **state)
{
	struct fb_manifest *m = named();
	const char *t =
		"#mtree 2.0\n"
		". type=dir uid=0 gid=0 mode=0755\n"
		"./dev type=dir uid=0 gid=0 mode=0755\n"
		"./dev/nvme0n1p1 type=block uid=0 gid=6 mode=0660 device=native,259,1\n"
		"./dev/c type=char uid=0 gid=0 mode=0600 device=native,166,300\n"
		"./dev/max type=block uid=0 gid=0 mode=0600 device=native,4095,1048575\n"
		"./dev/old type=char uid=0 gid=0 mode=0666 device=linux,1,3\n"
		"./bin/su type=file uid=0 gid=0 mode=4755\n"
		"./bin/newgrp type=file uid=0 gid=0 mode=4755 link=./bin/su\n"
		"./run/s\\040p\\303\\251 type=socket uid=0 gid=0 mode=0755\n";
	const struct fb_mentry *e;

	(void)state;
	if (fb_manifest_load_mem(m, "x.mtree", t, strlen(t), FB_MF_AUTO) != 0)
		fail_msg("%s", fb_manifest_error(m));
	e = must_find(m, "dev/nvme0n1p1");
	assert_int_equal(e->type, FB_M_BLOCK);
	assert_true(e->have & FB_MH_RDEV);
	assert_int_equal(e->dev_major, 259);
	assert_int_equal(e->dev_minor, 1);
	e = must_find(m, "dev/c");
	assert_int_equal(e->dev_major, 166);
	assert_int_equal(e->dev_minor, 300);
	e = must_find(m, "dev/max");
	assert_int_equal(e->dev_major, 4095);
	assert_int_equal(e->dev_minor, 1048575);
	e = must_find(m, "dev/old");	/* an export of before: linux,MAJ,MIN */
	assert_int_equal(e->dev_major, 1);
	assert_int_equal(e->dev_minor, 3);
	e = must_find(m, "bin/newgrp");
	assert_int_equal(e->type, FB_M_HARDLINK);
	assert_string_equal(e->target, "bin/su");
	assert_int_equal(e->perm, 04755);
	e = must_find(m, "run/s p\303\251");
	assert_int_equal(e->type, FB_M_SOCKET);
	assert_int_equal(e->perm, 0755);
	fb_manifest_free(m);
}

/* libarchive's "linux" format is 8-bit: an old export's large number is refused, by name. */
static void test_mtree_linux_device_format_is_8_bit(void **state)
{
	(void)state;
	expect_mem_error("o.mtree", "./dev/nvme type=block device=linux,259,1\n",
			 "o.mtree: entry './dev/nvme': ");
	/* Only the socket type's warning is taken: another unknown type stays an error. */
	expect_mem_error("p.mtree", "./x type=pipe\n", "p.mtree: entry './x': Unrecognized file type");
}

/* --- gen_init_cpio ---------------------------------------------------------- */

static void test_cpiolist_missing_fields_is_error(void **state)
{
	(void)state;
	expect_error("missing_fields.cpio", FB_MF_AUTO,
		     "missing_fields.cpio:2: expected 'dir <name> <mode> <uid> <gid>', found 3 fields");
}

static void test_cpiolist_unknown_type_is_error(void **state)
{
	(void)state;
	expect_error("bad_type.cpio", FB_MF_CPIOLIST, "bad_type.cpio:2: unknown type 'blob'");
	expect_mem_error("d.cpio", "nod /dev/x 0600 0 0 x 1 2\n",
			 "d.cpio:1: bad device type 'x': expected b or c");
	expect_mem_error("h.cpio", "file /a src 0644 0 0 /b /a\n",
			 "h.cpio:1: hard link '/a': expected another name than the file's own");
}

static void test_cpiolist_socket_and_block_device(void **state)
{
	struct fb_manifest *m = named();
	const char *t = "sock /run/s 0777 0 0\nnod /dev/sda 0660 0 6 b 8 0\n";
	const struct fb_mentry *e;

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "s.cpio", t, strlen(t), FB_MF_AUTO), 0);
	assert_int_equal(must_find(m, "run/s")->type, FB_M_SOCKET);
	e = must_find(m, "dev/sda");
	assert_int_equal(e->type, FB_M_BLOCK);
	assert_int_equal(e->dev_major, 8);
	assert_int_equal(e->gid, 6);
	fb_manifest_free(m);
	/* Linux's limits: a 12-bit major, a 20-bit minor. */
	m = named();
	t = "nod /dev/a 0660 0 6 c 4095 1048575\n";
	assert_int_equal(fb_manifest_load_mem(m, "l.cpio", t, strlen(t), FB_MF_AUTO), 0);
	assert_int_equal(must_find(m, "dev/a")->dev_minor, 1048575);
	fb_manifest_free(m);
	expect_mem_error("b.cpio", "nod /dev/a 0660 0 6 c 4096 2\n",
			 "b.cpio:1: bad major '4096': expected a decimal number from 0 to 4095");
	expect_mem_error("c.cpio", "nod /dev/a 0660 0 6 c 1 1048576\n",
			 "c.cpio:1: bad minor '1048576': expected a decimal number from 0 to 1048575");
	expect_mem_error("d.proto", "c none /dev/x 99999 2 0600 root root\n",
			 "d.proto:1: bad major '99999'");
	/* mtree too (before, device=native,65535,7 was taken as it was). */
	expect_mem_error("e.mtree", "#mtree\n./x type=char mode=0600 device=native,65535,7\n",
			 "bad major '65535'");
	expect_mem_error("f.mtree", "#mtree\n./x type=block mode=0600 device=native,1,2000000\n",
			 "bad minor '2000000'");
}

/* --- names ------------------------------------------------------------------ */

static void test_unknown_user_names_file_and_line(void **state)
{
	(void)state;
	expect_error("unknown_user.proto", FB_MF_AUTO,
		     "unknown_user.proto:2: unknown user 'nosuchuser': not in ");
}

static void test_names_resolve_through_passwd_and_group_files(void **state)
{
	struct fb_manifest *m = named(), *host = fb_manifest_new();
	const char *t = "f none /x 0644 builder staff\n";
	const struct fb_mentry *e;

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "n.proto", t, strlen(t), FB_MF_AUTO), 0);
	e = must_find(m, "x");
	assert_int_equal(e->uid, 1234);
	assert_int_equal(e->gid, 50);
	assert_string_equal(e->gname, "staff");
	fb_manifest_free(m);
	/* The host has root; numbers are taken as they are. */
	t = "f none /y 0644 root 4242\n";
	assert_int_equal(fb_manifest_load_mem(host, "h.proto", t, strlen(t), FB_MF_AUTO), 0);
	e = must_find(host, "y");
	assert_int_equal(e->have & (FB_MH_UID | FB_MH_GID), FB_MH_UID | FB_MH_GID);
	assert_int_equal(e->uid, 0);
	assert_int_equal(e->gid, 4242);
	assert_null(e->gname);
	fb_manifest_free(host);
}

static void test_set_names_after_load_is_error(void **state)
{
	struct fb_manifest *m = loaded("tree.cpio");

	(void)state;
	assert_int_equal(fb_manifest_set_names(m, NULL, NULL), -1);
	assert_non_null(strstr(fb_manifest_error(m), "before the first load"));
	fb_manifest_free(m);
	m = fb_manifest_new();
	assert_int_equal(fb_manifest_set_names(m, fx("no-such-passwd"), NULL), -1);
	assert_non_null(strstr(fb_manifest_error(m), "no-such-passwd"));
	fb_manifest_free(m);
}

/* --- loading as a whole ----------------------------------------------------- */

static void test_override_records_warning(void **state)
{
	struct fb_manifest *m = loaded("tree.proto");
	const char *t = "dir /usr 0700 0 0\ndir /usr 0711 0 0\n";

	(void)state;
	assert_int_equal(fb_manifest_nwarnings(m), 0);
	assert_int_equal(fb_manifest_load_mem(m, "o.cpio", t, strlen(t), FB_MF_AUTO), 0);
	assert_int_equal(must_find(m, "usr")->perm, 0711);
	assert_int_equal(fb_manifest_count(m), 8);
	assert_int_equal(fb_manifest_nwarnings(m), 2);
	assert_non_null(strstr(fb_manifest_warning(m, 0), "o.cpio:2: 'usr' overrides the entry of o.cpio:1"));
	assert_non_null(strstr(fb_manifest_warning(m, 1), "tree.proto:4"));
	assert_null(fb_manifest_warning(m, 2));
	fb_manifest_free(m);
}

static void test_failed_load_keeps_previous_manifest(void **state)
{
	struct fb_manifest *m = loaded("tree.proto");

	(void)state;
	assert_int_equal(fb_manifest_load(m, fx("bad_mode.proto"), FB_MF_AUTO), -1);
	assert_int_equal(fb_manifest_count(m), 8);
	assert_null(fb_manifest_find(m, "usr/bin/x"));
	assert_int_equal(must_find(m, "usr")->gid, 3);	/* line 2 of the bad file did not land */
	assert_int_equal(fb_manifest_load(m, fx("no-such-file"), FB_MF_AUTO), -1);
	assert_non_null(strstr(fb_manifest_error(m), "no-such-file"));
	assert_int_equal(fb_manifest_count(m), 8);
	fb_manifest_free(m);
}

static void test_hardlink_conflict_is_error(void **state)
{
	(void)state;
	expect_mem_error("c.mtree", "./a type=file mode=0755\n./b type=file mode=0644 link=./a\n",
			 "c.mtree: hard link 'b': owner, group or mode differ from 'a'");
	expect_mem_error("c.ips", "file path=a mode=0755\nhardlink path=b target=a mode=0700\n",
			 "c.ips:2: hard link 'b': owner, group or mode differ");
}

static void test_hardlink_conflict_across_loads_keeps_manifest(void **state)
{
	struct fb_manifest *m = loaded("tree.export");	/* newgrp says mode=04755 itself */
	const char *t = "f none /usr/bin/su 0755 root root\n";

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "x.proto", t, strlen(t), FB_MF_AUTO), -1);
	assert_non_null(strstr(fb_manifest_error(m), "hard link 'usr/bin/newgrp'"));
	assert_int_equal(must_find(m, "usr/bin/su")->perm, 04755);
	fb_manifest_free(m);
}

static void test_hardlink_follows_its_target_across_loads(void **state)
{
	struct fb_manifest *m = loaded("tree.ips");	/* newgrp has no attributes of its own */
	const char *t = "file path=usr/bin/su owner=bin group=bin mode=0711\n";
	const struct fb_mentry *e;

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "y.ips", t, strlen(t), FB_MF_AUTO), 0);
	e = must_find(m, "usr/bin/newgrp");
	assert_int_equal(e->perm, 0711);
	assert_int_equal(e->uid, 2);
	assert_string_equal(e->uname, "bin");
	fb_manifest_free(m);
}

static void test_hardlink_missing_target_warns(void **state)
{
	struct fb_manifest *m = named();
	const char *t = "hardlink path=usr/bin/b target=a\n";

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "w.ips", t, strlen(t), FB_MF_AUTO), 0);
	assert_int_equal(fb_manifest_nwarnings(m), 1);
	assert_non_null(strstr(fb_manifest_warning(m, 0), "target 'usr/bin/a' is not in the manifest"));
	assert_int_equal(must_find(m, "usr/bin/b")->have, FB_MH_TARGET);
	fb_manifest_free(m);
}

static void test_hardlink_to_directory_is_error(void **state)
{
	(void)state;
	expect_mem_error("d.ips", "dir path=a\nhardlink path=b target=a\n",
			 "hard link 'b': target 'a' is a directory");
}

static void test_nul_byte_is_error(void **state)
{
	struct fb_manifest *m = named();

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "z", "dir /a 0755 0 0\n\0x", 18, FB_MF_AUTO), -1);
	assert_non_null(strstr(fb_manifest_error(m), "z:2: unexpected NUL byte"));
	fb_manifest_free(m);
	/* Read from a file: the file is named too. */
	char path[] = "/tmp/fbnul.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "dir /a 0755 0 0\n\0x", 18), 18);
	close(fd);
	m = named();
	assert_int_equal(fb_manifest_load(m, path, FB_MF_AUTO), -1);
	char want[64];
	snprintf(want, sizeof want, "%s:2: unexpected NUL byte", path);
	if (strstr(fb_manifest_error(m), want) == NULL)
		fail_msg("error '%s' lacks '%s'", fb_manifest_error(m), want);
	fb_manifest_free(m);
	unlink(path);
}

static void test_sorted_puts_parents_first(void **state)
{
	struct fb_manifest *m = named();
	const char *t = "dir /a-b 0755 0 0\ndir /a/b 0755 0 0\ndir /a 0755 0 0\n"
			"dir / 0755 0 0\ndir /-x 0755 0 0\ndir /a/b/c 0755 0 0\n";
	static const char *const want[] = { ".", "-x", "a", "a/b", "a/b/c", "a-b" };
	const struct fb_mentry *const *v;
	size_t n;

	(void)state;
	assert_int_equal(fb_manifest_load_mem(m, "s.cpio", t, strlen(t), FB_MF_AUTO), 0);
	v = fb_manifest_sorted(m, &n);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i]->path, want[i]);
	fb_manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_normalize_strips_and_collapses),
		cmocka_unit_test(test_path_normalize_rejects_dotdot),
		cmocka_unit_test(test_path_normalize_reports_short_buffer),
		cmocka_unit_test(test_path_with_dotdot_in_manifest_is_error),
		cmocka_unit_test(test_find_normalizes_the_key),
		cmocka_unit_test(test_equivalent_tree_in_all_formats),
		cmocka_unit_test(test_auto_detection_matches_explicit_format),
		cmocka_unit_test(test_undetectable_format_is_error),
		cmocka_unit_test(test_format_names_round_trip),
		cmocka_unit_test(test_empty_manifest_loads_nothing),
		cmocka_unit_test(test_prototype_default_param_and_include),
		cmocka_unit_test(test_prototype_include_loop_is_error),
		cmocka_unit_test(test_prototype_include_depth_is_limited),
		cmocka_unit_test(test_prototype_bad_mode_names_file_and_line),
		cmocka_unit_test(test_prototype_unknown_type_is_error),
		cmocka_unit_test(test_prototype_missing_fields_is_error),
		cmocka_unit_test(test_prototype_hardlink_target_relative_to_link),
		cmocka_unit_test(test_prototype_ignores_info_files_and_part_numbers),
		cmocka_unit_test(test_ips_quotes_and_continuations),
		cmocka_unit_test(test_ips_unterminated_quote_is_error),
		cmocka_unit_test(test_ips_missing_path_is_error),
		cmocka_unit_test(test_mtree_reader_warning_is_error),
		cmocka_unit_test(test_mtree_absent_keywords_stay_unset),
		cmocka_unit_test(test_mtree_device_without_numbers_has_none),
		cmocka_unit_test(test_mtree_crlf_and_line_numbers),
		cmocka_unit_test(test_mtree_last_line_backslashes_and_huge_devices),
		cmocka_unit_test(test_mtree_numbers_are_checked),
		cmocka_unit_test(test_mtree_unknown_name_with_number_keeps_number),
		cmocka_unit_test(test_mtree_export_form),
		cmocka_unit_test(test_mtree_linux_device_format_is_8_bit),
		cmocka_unit_test(test_cpiolist_missing_fields_is_error),
		cmocka_unit_test(test_cpiolist_unknown_type_is_error),
		cmocka_unit_test(test_cpiolist_socket_and_block_device),
		cmocka_unit_test(test_unknown_user_names_file_and_line),
		cmocka_unit_test(test_names_resolve_through_passwd_and_group_files),
		cmocka_unit_test(test_set_names_after_load_is_error),
		cmocka_unit_test(test_override_records_warning),
		cmocka_unit_test(test_failed_load_keeps_previous_manifest),
		cmocka_unit_test(test_hardlink_conflict_is_error),
		cmocka_unit_test(test_hardlink_conflict_across_loads_keeps_manifest),
		cmocka_unit_test(test_hardlink_follows_its_target_across_loads),
		cmocka_unit_test(test_hardlink_missing_target_warns),
		cmocka_unit_test(test_hardlink_to_directory_is_error),
		cmocka_unit_test(test_nul_byte_is_error),
		cmocka_unit_test(test_sorted_puts_parents_first),
	};

	return cmocka_run_group_tests_name("manifest", tests, setup_dir, NULL);
}
