/*
 * view.h - what a file looks like from inside a session: the fake
 * attributes of a real inode.  Included by preload/ and tools/fakebuild.
 * libc only, no system calls: the caller does the real statx.
 */
#ifndef FB_VIEW_H
#define FB_VIEW_H

#include <sys/stat.h>
#include "table.h"

void fb_ident_from_statx(struct fb_ident *id, const struct statx *stx);

/*
 * Overlays of a build root (fakebuild --root).  overlayfs reports a device
 * of its own, new at every mount, so its files are keyed by the device of
 * the layer the inode number comes from: the one filesystem under every
 * layer (SHIFT 0), or, when the layers span filesystems and the overlay
 * was mounted with xino=on, layer fsid INO >> SHIFT with the inode number
 * in the bits below (bit SHIFT - 1 set: a number the kernel could not map;
 * left alone).  Birth time is not compared there: a copy-up gives the file
 * a new one (see fakebuild(7), "Build roots").
 *
 * SPEC is "OVL:SHIFT:DEV0[:DEV1...]" entries joined by ',', in decimal
 * (the value of FAKEBUILD_DEVMAP).  Replaces the map; an empty SPEC
 * clears it.  0, or -EINVAL and the map cleared.  Not thread-safe: set it
 * before any lookup (preload/init.c, once per process).
 */
#define FB_DEVMAP_MAX 16	/* overlays */
#define FB_DEVMAP_LAYERS 8	/* filesystems under one overlay */
int fb_devmap_set(const char *spec);
/* Is DEV (makedev form) the device of one of those overlays? */
int fb_devmap_is_overlay(uint64_t dev);
/* How many overlays the device map knows: 0 outside a build root. */
unsigned fb_devmap_count(void);
/* ID (its dev and ino as the kernel reported them) keyed as above; what
 * fb_ident_from_statx does, for an identity made another way (readdir). */
void fb_ident_map(struct fb_ident *id);

/*
 * The fake attributes of the inode STX describes: its record when the
 * table holds a valid one (returns 1), else uid 0 and gid 0 (the real ones
 * when UNKNOWN_IS_REAL) with the real mode and rdev (returns 0).  T may be
 * NULL (no table mapped).
 */
int fb_view(struct fb_table *t, const struct statx *stx, int unknown_is_real, struct fb_attr *out);

/* Overwrite the owner, mode and device fields of STX with A. */
void fb_view_apply_statx(struct statx *stx, const struct fb_attr *a);

/*
 * chown's effect on a mode, as the kernel's (6.2 on): anything but a
 * directory loses setuid, and setgid when it is group-executable or when
 * the caller could not keep it (KEEP_SGID: it is in the file's group or
 * has CAP_FSETID).
 */
uint32_t fb_chown_mode(uint32_t mode, int keep_sgid);

#endif
