/*
 * dirstack.c - descriptors of the directories along the current path.
 *
 * The manifest is walked in sorted order (parents before children), so the
 * directory of the next entry is almost always the current one or a child
 * of one we hold: keeping the chain open means each directory is resolved
 * once, not once per file.  Each step is resolved beneath its parent with
 * pf_open_beneath (no symlinks, no ".."), so a held descriptor is always a
 * directory that was inside the tree when it was opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "protofix.h"

struct level {
	int fd;
	size_t len;		/* length of the prefix of `path` this level is */
};

struct pf_dirstack {
	struct level *lv;
	size_t depth, cap;	/* lv[0] is the root */
	char *path;		/* the deepest directory held, "" for the root */
	size_t pathcap;
};

struct pf_dirstack *pf_dirstack_new(int rootfd)
{
	struct pf_dirstack *ds = calloc(1, sizeof *ds);

	if (!ds || !(ds->lv = malloc(16 * sizeof *ds->lv)) || !(ds->path = calloc(1, 256)))
		die("out of memory");
	ds->cap = 16;
	ds->pathcap = 256;
	ds->lv[0] = (struct level){ .fd = rootfd, .len = 0 };
	return ds;
}

static void pop_to(struct pf_dirstack *ds, size_t depth)
{
	while (ds->depth > depth)
		close(ds->lv[ds->depth--].fd);
	ds->path[ds->lv[depth].len] = '\0';
}

void pf_dirstack_free(struct pf_dirstack *ds)
{
	pop_to(ds, 0);
	free(ds->lv);
	free(ds->path);
	free(ds);
}

/* Deepest level whose path is DIR or a parent of DIR. */
static size_t common(const struct pf_dirstack *ds, const char *dir)
{
	size_t i;

	for (i = ds->depth; i > 0; i--) {
		size_t n = ds->lv[i].len;

		if (strncmp(dir, ds->path, n) == 0 && (dir[n] == '/' || dir[n] == '\0'))
			return i;
	}
	return 0;
}

static void push(struct pf_dirstack *ds, int fd, const char *dir)
{
	size_t len = strlen(dir);

	if (ds->depth + 1 == ds->cap) {
		ds->cap *= 2;
		if (!(ds->lv = realloc(ds->lv, ds->cap * sizeof *ds->lv)))
			die("out of memory");
	}
	if (len + 1 > ds->pathcap) {
		ds->pathcap = len + 1;
		if (!(ds->path = realloc(ds->path, ds->pathcap)))
			die("out of memory");
	}
	memcpy(ds->path, dir, len + 1);
	ds->lv[++ds->depth] = (struct level){ .fd = fd, .len = len };
}

int pf_dirstack_get(struct pf_dirstack *ds, const char *dir)
{
	size_t i;
	const char *rest;
	int fd;

	if (strcmp(dir, ".") == 0) {
		pop_to(ds, 0);
		return ds->lv[0].fd;
	}
	i = common(ds, dir);
	pop_to(ds, i);
	if (i > 0 && dir[ds->lv[i].len] == '\0')
		return ds->lv[i].fd;
	rest = dir + ds->lv[i].len + (i > 0);
	fd = pf_open_beneath(ds->lv[i].fd, rest, O_PATH | O_DIRECTORY);
	if (fd < 0)
		return fd;
	push(ds, fd, dir);
	return fd;
}
