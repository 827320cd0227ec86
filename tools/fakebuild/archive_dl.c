/*
 * archive_dl.c - libarchive, loaded when a build root needs it (see
 * archive_dl.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* This file sees libarchive's own names: call it through fb_ar only.
 * fakebuild is not linked with libarchive (GNUmakefile), so a direct call
 * does not link. */
#define FB_ARCHIVE_DL_IMPL
#include "archive_dl.h"
#include "fakebuild.h"

struct fb_archive_api fb_ar;

void fb_archive_load(void)
{
	static void *h;
	if (h)
		return;
	/* The library's ABI name (libarchive 3), then the development link. */
	h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		h = dlopen("libarchive.so", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		die("cannot load libarchive, needed for archives of build roots: %s", dlerror());
#define FB_ARCHIVE_SYM(f)                                                       \
	if (!(fb_ar.f = (__typeof__(fb_ar.f))dlsym(h, #f)))                    \
		die("libarchive has no %s: it is too old (3.2 or later is needed)", #f);
	FB_ARCHIVE_FUNCS(FB_ARCHIVE_SYM)
#undef FB_ARCHIVE_SYM
}

/* Does libarchive know NAME's extension?  Asked of a scratch archive: a
 * name it does not know leaves the archive asked in its fatal state. */
static int knows_ext(const char *name)
{
	struct archive *a = fb_ar.archive_write_new();
	int ok = a && fb_ar.archive_write_set_format_filter_by_ext(a, name) == ARCHIVE_OK;
	fb_ar.archive_write_free(a);
	return ok;
}

/*
 * libarchive's archive_write_set_format_filter_by_ext knows .tar.gz but,
 * before 3.7, not .tar.zst (Debian 12 has 3.6.2).  For a name it does not
 * know, a compression suffix gives the filter and the name without it the
 * format; the single suffixes .tzst, .txz, .tbz2 and .tbz are tar.
 */
int fb_archive_write_set_by_name(struct archive *a, const char *name)
{
	if (knows_ext(name))
		return fb_ar.archive_write_set_format_filter_by_ext(a, name);
	static const struct { const char *suffix, *tar, *filter; } known[] = {
		{ ".tzst", ".tar", "zstd" }, { ".txz", ".tar", "xz" }, { ".tbz2", ".tar", "bzip2" },
		{ ".tbz", ".tar", "bzip2" }, { ".zst", NULL, "zstd" }, { ".xz", NULL, "xz" },
		{ ".gz", NULL, "gzip" }, { ".bz2", NULL, "bzip2" }, { ".lz4", NULL, "lz4" },
		{ ".lzma", NULL, "lzma" }, { ".lz", NULL, "lzip" }, { ".lzo", NULL, "lzop" },
		{ ".Z", NULL, "compress" },
	};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		size_t sl = strlen(known[i].suffix);
		if (n <= sl || strcmp(name + n - sl, known[i].suffix) != 0)
			continue;
		char rest[4096];
		if (known[i].tar)
			snprintf(rest, sizeof rest, "%s", known[i].tar);
		else if (snprintf(rest, sizeof rest, "%.*s", (int)(n - sl), name) >= (int)sizeof rest)
			break;
		if (knows_ext(rest) && fb_ar.archive_write_set_format_filter_by_ext(a, rest) == ARCHIVE_OK) {
			int r = fb_ar.archive_write_add_filter_by_name(a, known[i].filter);
			/* WARN: done by an external program (lzop), which works. */
			return r == ARCHIVE_WARN ? ARCHIVE_OK : r;
		}
		break;
	}
	return ARCHIVE_FATAL;
}

const char *fb_archive_why(struct archive *a, char *buf, size_t len)
{
	const char *s = a ? fb_ar.archive_error_string(a) : NULL;
	int e = a ? fb_ar.archive_errno(a) : ENOMEM;
	if (!s)
		s = e > 0 ? "" : "error";
	if (e > 0 && !strstr(s, strerror(e)))
		snprintf(buf, len, "%s%s%s", s, *s ? ": " : "", strerror(e));
	else
		snprintf(buf, len, "%s", s);
	return buf;
}

const char *fb_archive_read_why(struct archive *a, char *buf, size_t len)
{
	const char *s = fb_ar.archive_error_string(a);
	int e = fb_ar.archive_errno(a);
	if (!s || !*s)
		return "unexpected end of data";
	if (e > 0 && e != EILSEQ && e != EINVAL && !strstr(s, strerror(e)))
		snprintf(buf, len, "%s: %s", s, strerror(e));
	else
		snprintf(buf, len, "%s", s);
	return buf;
}
