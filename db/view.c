/*
 * view.c - the fake view of a real inode (see view.h).
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "view.h"

struct devmap {
	uint64_t ovl;
	unsigned shift, n;
	uint64_t dev[FB_DEVMAP_LAYERS];
};
static unsigned ndevmap;
static struct devmap devmap[FB_DEVMAP_MAX];

/* One decimal number at *SP, then SEP or the end; -1 if there is none. */
static int number(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*sp = s;
	return 0;
}

/* Fill the entries from SPEC: their number, or -EINVAL. */
static int parse(const char *spec)
{
	unsigned n = 0;
	const char *s = spec;
	for (;;) {
		if (n == FB_DEVMAP_MAX)
			return -EINVAL;
		struct devmap *m = &devmap[n];
		uint64_t shift;
		if (number(&s, &m->ovl) < 0 || *s++ != ':' || number(&s, &shift) < 0 || shift > 63 ||
		    *s++ != ':')
			return -EINVAL;
		m->shift = (unsigned)shift;
		m->n = 0;
		do {
			if (m->n == FB_DEVMAP_LAYERS || number(&s, &m->dev[m->n]) < 0)
				return -EINVAL;
			m->n++;
		} while (*s == ':' && s++);
		n++;
		if (!*s)
			break;
		if (*s++ != ',')
			return -EINVAL;
	}
	return (int)n;
}

int fb_devmap_set(const char *spec)
{
	/* The count is stored last: a thread that sees it sees the entries
	 * (two threads starting at once write the same values). */
	if (!spec || !*spec) {
		__atomic_store_n(&ndevmap, 0, __ATOMIC_RELEASE);
		return 0;
	}
	int rc = parse(spec);
	__atomic_store_n(&ndevmap, rc < 0 ? 0 : (unsigned)rc, __ATOMIC_RELEASE);
	return rc < 0 ? rc : 0;
}

unsigned fb_devmap_count(void)
{
	return __atomic_load_n(&ndevmap, __ATOMIC_ACQUIRE);
}

/* ID is a file of an overlay of the map: key it by the layer's device. */
int fb_devmap_is_overlay(uint64_t dev)
{
	const unsigned n = __atomic_load_n(&ndevmap, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++)
		if (devmap[i].ovl == dev)
			return 1;
	return 0;
}

static void devmap_apply(struct fb_ident *id)
{
	for (unsigned i = 0; i < ndevmap; i++) {
		const struct devmap *m = &devmap[i];
		if (m->ovl != id->dev)
			continue;
		if (m->shift == 0) {
			id->dev = m->dev[0];
		} else {
			uint64_t fsid = id->ino >> m->shift;
			uint64_t low = id->ino & ((1ull << m->shift) - 1);
			if (fsid >= m->n || low >> (m->shift - 1))
				return;	/* not a number the kernel mapped */
			id->dev = m->dev[fsid];
			id->ino = low;
		}
		/* Copy-up gives a file a new birth time under the same number,
		 * and the lower layers are read-only: nothing reuses an inode
		 * number there behind our back. */
		id->btime_sec = 0;
		id->btime_nsec = 0;
		return;
	}
}

void fb_ident_from_statx(struct fb_ident *id, const struct statx *stx)
{
	id->dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	id->ino = stx->stx_ino;
	if (stx->stx_mask & STATX_BTIME) {
		id->btime_sec = stx->stx_btime.tv_sec;
		id->btime_nsec = stx->stx_btime.tv_nsec;
	} else {
		id->btime_sec = 0;
		id->btime_nsec = 0;
	}
	id->real_mode = stx->stx_mode;
	id->type_only = !(stx->stx_mask & STATX_MODE);	/* a remembered stat (memo.c) */
	id->nlink = stx->stx_nlink;
	fb_ident_map(id);
}

void fb_ident_map(struct fb_ident *id)
{
	/* One load and a branch per stat when no build root is set up. */
	if (__builtin_expect(__atomic_load_n(&ndevmap, __ATOMIC_RELAXED) != 0, 0))
		devmap_apply(id);
}

int fb_view(struct fb_table *t, const struct statx *stx, int unknown_is_real, struct fb_attr *out)
{
	if (t) {
		struct fb_ident id;
		fb_ident_from_statx(&id, stx);
		if (fb_table_get(t, &id, out))
			return 1;
	}
	out->uid = unknown_is_real ? stx->stx_uid : 0;
	out->gid = unknown_is_real ? stx->stx_gid : 0;
	out->mode = stx->stx_mode;
	out->rdev = makedev(stx->stx_rdev_major, stx->stx_rdev_minor);
	return 0;
}

void fb_view_apply_statx(struct statx *stx, const struct fb_attr *a)
{
	/* A faked device is a regular file on disk, which a build may have
	 * written to (echo > /dev/null); a device node has no size. */
	if ((S_ISCHR(a->mode) || S_ISBLK(a->mode)) && S_ISREG(stx->stx_mode)) {
		stx->stx_size = 0;
		stx->stx_blocks = 0;
	}
	stx->stx_uid = a->uid;
	stx->stx_gid = a->gid;
	stx->stx_mode = (__u16)a->mode;
	stx->stx_rdev_major = major(a->rdev);
	stx->stx_rdev_minor = minor(a->rdev);
}

uint32_t fb_chown_mode(uint32_t mode, int keep_sgid)
{
	if (S_ISDIR(mode))
		return mode;
	mode &= ~(uint32_t)S_ISUID;
	if ((mode & S_IXGRP) || !keep_sgid)
		mode &= ~(uint32_t)S_ISGID;
	return mode;
}
