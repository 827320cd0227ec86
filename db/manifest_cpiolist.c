/*
 * manifest_cpiolist.c - Linux usr/gen_init_cpio lists:
 *
 *	file <name> <location> <mode> <uid> <gid> [<hard links>...]
 *	dir <name> <mode> <uid> <gid>
 *	nod <name> <mode> <uid> <gid> <b|c> <major> <minor>
 *	slink <name> <target> <mode> <uid> <gid>
 *	pipe <name> <mode> <uid> <gid>
 *	sock <name> <mode> <uid> <gid>
 *
 * '#' starts a comment line.  Hard links named on a file line are root
 * relative, as in the cpio archive gen_init_cpio writes.
 */
#include <stdlib.h>
#include <string.h>

#include "manifest_impl.h"

#define CPIO_MAXTOK 64

struct kind {
	const char *word;
	enum fb_mtype type;
	int nfields;		/* after the keyword, hard links not counted */
	const char *usage;
};

static const struct kind kinds[] = {
	{ "file", FB_M_FILE, 5, "file <name> <location> <mode> <uid> <gid> [<hard links>]" },
	{ "dir", FB_M_DIR, 4, "dir <name> <mode> <uid> <gid>" },
	{ "nod", FB_M_CHAR, 7, "nod <name> <mode> <uid> <gid> <dev_type> <maj> <min>" },
	{ "slink", FB_M_SYMLINK, 5, "slink <name> <target> <mode> <uid> <gid>" },
	{ "pipe", FB_M_FIFO, 4, "pipe <name> <mode> <uid> <gid>" },
	{ "sock", FB_M_SOCKET, 4, "sock <name> <mode> <uid> <gid>" },
};

/* mode uid gid at A. */
static int attrs(struct fb_mctx *c, struct fb_mentry *e, char **a)
{
	if (fb_mf_set_mode(c, e, a[0]) < 0 || fb_mf_set_owner(c, e, a[1]) < 0 ||
	    fb_mf_set_group(c, e, a[2]) < 0)
		return -1;
	return 0;
}

static int device(struct fb_mctx *c, struct fb_mentry *e, char **t)
{
	if (strcmp(t[0], "b") == 0)
		e->type = FB_M_BLOCK;
	else if (strcmp(t[0], "c") != 0)
		return fb_mf_error(c, "bad device type '%s': expected b or c", t[0]);
	return fb_mf_set_rdev(c, e, t[1], t[2]);
}

/*
 * Each extra name of a file line: a hard link to the first one.  FILE is
 * a copy of the file's path: adding a link of the same name would free the
 * file's entry, so that is refused, not followed.
 */
static int hardlinks(struct fb_mctx *c, const char *file, char **t, int n)
{
	for (int i = 0; i < n; i++) {
		struct fb_mentry *e = fb_mf_entry_new(c, t[i], FB_M_HARDLINK);

		if (e == NULL)
			return -1;
		if (strcmp(e->path, file) == 0) {
			fb_mf_entry_free(e);
			return fb_mf_error(c, "hard link '%s': expected another name than "
					   "the file's own", t[i]);
		}
		if (fb_mf_set_hardlink(c, e, file, 0) < 0) {
			fb_mf_entry_free(e);
			return -1;
		}
		fb_mf_add(c, e);
	}
	return 0;
}

static int fill(struct fb_mctx *c, const struct kind *k, struct fb_mentry *e, char **t)
{
	switch (k->type) {
	case FB_M_FILE:
		return attrs(c, e, t + 2);
	case FB_M_CHAR:
		return attrs(c, e, t + 1) < 0 ? -1 : device(c, e, t + 4);
	case FB_M_SYMLINK:
		return fb_mf_set_symlink(c, e, t[1]) < 0 ? -1 : attrs(c, e, t + 2);
	default:
		return attrs(c, e, t + 1);
	}
}

static int line_entry(struct fb_mctx *c, char **t, int n)
{
	const struct kind *k = NULL;
	struct fb_mentry *e;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
		if (strcmp(t[0], kinds[i].word) == 0)
			k = &kinds[i];
	if (k == NULL)
		return fb_mf_error(c, "unknown type '%s': expected file, dir, nod, slink, "
				   "pipe or sock", t[0]);
	if (n - 1 < k->nfields || (n - 1 > k->nfields && k->type != FB_M_FILE))
		return fb_mf_error(c, "expected '%s', found %d field%s after '%s'", k->usage,
				   n - 1, n == 2 ? "" : "s", t[0]);
	if ((e = fb_mf_entry_new(c, t[1], k->type)) == NULL)
		return -1;
	if (fill(c, k, e, t + 1) < 0) {
		fb_mf_entry_free(e);
		return -1;
	}
	if (k->type == FB_M_FILE && n - 1 > k->nfields) {
		char *file = strdup(e->path);
		int rc;

		fb_mf_add(c, e);
		if (file == NULL)
			return fb_mf_error(c, "out of memory");
		rc = hardlinks(c, file, t + 1 + k->nfields, n - 1 - k->nfields);
		free(file);
		return rc;
	}
	fb_mf_add(c, e);
	return 0;
}

int fb_mf_parse_cpiolist(struct fb_mctx *c, char *buf, size_t len)
{
	char *p = buf, *line, *t[CPIO_MAXTOK], *w;
	int n;

	(void)len;
	while ((line = fb_mf_next_line(c, &p)) != NULL) {
		n = 0;
		while ((w = fb_mf_token(&line)) != NULL && n < CPIO_MAXTOK)
			t[n++] = w;
		if (w != NULL)
			return fb_mf_error(c, "expected at most %d fields", CPIO_MAXTOK);
		if (n == 0 || t[0][0] == '#')
			continue;
		if (line_entry(c, t, n) < 0)
			return -1;
	}
	return 0;
}
