/*
 * fixture.h - the cmocka fixture shared by test_table.c and test_store.c:
 * one fresh temporary directory per test (under $TMPDIR, else /tmp),
 * removed afterwards, and the tables a test maps, detached by teardown
 * even when an assertion ended the test.  Include after cmocka.h.
 */
#ifndef FB_TEST_FIXTURE_H
#define FB_TEST_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table.h"

struct fx {
	struct fb_table *tables[8];
	int ntables;
	char dir[4096];
	char table[4200];	/* dir/table */
	char db[4200];		/* dir/fb.db */
};

static inline int fx_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A new fixture in a directory named PREFIX.XXXXXX; NULL on failure. */
static inline struct fx *fx_new(const char *prefix)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof f->dir, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
	if (!mkdtemp(f->dir)) {
		free(f);
		return NULL;
	}
	snprintf(f->table, sizeof f->table, "%s/table", f->dir);
	snprintf(f->db, sizeof f->db, "%s/fb.db", f->dir);
	return f;
}

static inline int teardown(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < f->ntables; i++)
		fb_table_detach(f->tables[i]);
	nftw(f->dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* The fixture detaches what a test still holds when an assertion ends it. */
static inline struct fb_table *own(struct fx *f, struct fb_table *t)
{
	assert_true(f->ntables < (int)(sizeof f->tables / sizeof f->tables[0]));
	f->tables[f->ntables++] = t;
	return t;
}

static inline void drop(struct fx *f, struct fb_table *t)
{
	for (int i = 0; i < f->ntables; i++)
		if (f->tables[i] == t) {
			f->tables[i] = f->tables[--f->ntables];
			break;
		}
	fb_table_detach(t);
}

static inline struct fb_ident ident(uint64_t dev, uint64_t ino)
{
	struct fb_ident id = { .dev = dev, .ino = ino, .real_mode = S_IFREG | 0644, .nlink = 1 };
	return id;
}

static inline struct fb_attr attr(uint32_t uid, uint32_t gid, uint32_t mode)
{
	struct fb_attr a = { .uid = uid, .gid = gid, .mode = mode };
	return a;
}

#endif
