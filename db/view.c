/*
 * view.c - the fake view of a real inode (see view.h).
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "view.h"

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
	id->nlink = stx->stx_nlink;
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
	stx->stx_uid = a->uid;
	stx->stx_gid = a->gid;
	stx->stx_mode = (__u16)a->mode;
	stx->stx_rdev_major = major(a->rdev);
	stx->stx_rdev_minor = minor(a->rdev);
}

uint32_t fb_chown_mode(uint32_t mode)
{
	if (!S_ISREG(mode))
		return mode;
	mode &= ~(uint32_t)S_ISUID;
	if (mode & S_IXGRP)
		mode &= ~(uint32_t)S_ISGID;
	return mode;
}
