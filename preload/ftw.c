/*
 * ftw.c - glibc's tree walkers, nftw and ftw and their *64 forms.  They
 * stat every entry through internal calls we cannot interpose and hand
 * the result to the caller's callback, so the walk runs with a
 * trampoline instead, which fixes the struct stat up and calls the
 * caller's function (walk.h).  Core: fb_walk_fake().  ftw is nftw without flags, with
 * ftw's type flags.
 *
 * A callback gets what a stat would say at that moment, not when glibc
 * stat'ed the entry: a walk that chowns or chmods entries in its callback
 * sees its changes on later entries, and FTW_DEPTH's directories (stat'ed
 * before their contents were walked) show what the walk did to them.
 *  - The entry's record is looked up by glibc's device and inode number,
 *    without a system call.  No record (the common case): owner 0:0, or
 *    the real one under -u, and the real mode, as stat would say.
 *  - A record is checked by a stat through the faked core, by the name
 *    glibc passes (from the working directory, which FTW_CHDIR moves),
 *    since only the birth time tells a record from a stale one (a reused
 *    inode).  If that name no longer leads to the inode, the walk raced a
 *    rename: the record is used as found.
 * The type flags need no change: a faked device is FTW_F, as a real one.
 *
 * Which walk a trampoline call belongs to.  Each thread keeps a small
 * stack of the walks it has running (a callback may start another), in
 * thread-local storage: no malloc, no lock.  A walk is known by glibc's
 * struct FTW, one pointer for all the callbacks of a walk: the first
 * callback after a walk starts is its own (nothing else runs in the
 * thread in between) and binds it; later ones look it up.  A callback
 * that longjmps out of an inner walk back into an outer one leaves no
 * wrong callback behind: the outer walk finds its own entry, and the
 * abandoned ones above it are dropped.  Walks abandoned at top level are
 * reclaimed when the next walk starts (see fb_walk_push).  Deeper than FB_WALKS,
 * a walk runs unwrapped: real owners, never a wrong callback.  (nftw
 * mallocs, so it is not for signal handlers; nothing here expects one.)
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fb.h"
#include "walk.h"

#define FB_WALKS 8

/* The flags nftw knew before glibc 2.3.3, which ignored any others. */
#define OLD_FLAGS (FTW_PHYS | FTW_MOUNT | FTW_CHDIR | FTW_DEPTH)

/* Is address A deeper in the stack than B?  (Stacks grow down but on hppa.) */
#ifdef __hppa__
#define DEEPER(a, b) ((uintptr_t)(a) > (uintptr_t)(b))
#else
#define DEEPER(a, b) ((uintptr_t)(a) < (uintptr_t)(b))
#endif


static __thread struct walk walks[FB_WALKS];
static __thread int nwalks;

int fb_walk_push(int is_ftw, int flags, fb_walk_cb cb)
{
	int n = nwalks;
	/*
	 * A walk's struct FTW lies in glibc's frame, above every call the
	 * walk makes: one deeper than this frame belongs to a walk that is no
	 * longer running (a longjmp left it).  A running walk (one whose
	 * callback got us here) is never deeper.
	 */
	const char here = 0;
	while (n > 0 && walks[n - 1].ftw && DEEPER(walks[n - 1].ftw, &here))
		n--;
	if (n >= FB_WALKS)
		return -1;
	walks[n].ftw = NULL;
	walks[n].is_ftw = is_ftw;
	walks[n].flags = flags;
	walks[n].cb = cb;
	nwalks = n + 1;
	return n;
}

void fb_walk_pop(int i)
{
	nwalks = i;
}

/* The walk a callback given W belongs to; NULL if none is (see above: cannot happen). */
struct walk *fb_walk_of(const struct FTW *w)
{
	int n = nwalks;
	if (n > 0 && !walks[n - 1].ftw) {
		walks[n - 1].ftw = w;
		return &walks[n - 1];
	}
	for (int i = n - 1; i >= 0; i--) {
		if (walks[i].ftw == w) {
			nwalks = i + 1;	/* the walks above were abandoned */
			return &walks[i];
		}
	}
	return NULL;
}

const char *fb_walk_name(const struct walk *k, const char *path, int flag, const struct FTW *w)
{
	if (!(k->flags & FTW_CHDIR))
		return path;
	/* glibc reports a directory after its contents before it leaves it. */
	if (flag == FTW_DP)
		return ".";
	const char *name = path + w->base;
	return *name ? name : ".";	/* "/" */
}

void fb_walk_fake(const char *name, struct fb_walk_ent *e)
{
	struct fb_attr a;
	struct fb_table *t = fb_table();
	e->whole = 0;
	/* A device glibc stat'ed may be the host's node bound over a
	 * placeholder (dev.c), which a stat by name reports instead. */
	if (S_ISCHR(e->mode) && t && fb_table_has_bound_devices(t) &&
	    fb_statx_core(AT_FDCWD, name, 0, FB_STATX_MASK, &e->x) == 0 && e->x.stx_ino != e->ino &&
	    fb_dev_seen_over(e->mode, e->rdev, &e->x)) {
		e->whole = 1;
		e->uid = e->x.stx_uid;
		e->gid = e->x.stx_gid;
		e->mode = e->x.stx_mode;
		return;
	}
	if (!fb_peek(e->dev, e->ino, e->mode, &a)) {
		if (!fb.unknown_is_real)
			e->uid = e->gid = 0;
		return;
	}
	struct statx x;
	int fl = S_ISLNK(e->mode) ? AT_SYMLINK_NOFOLLOW : 0;
	if (fb_statx_core(AT_FDCWD, name, fl, FB_STATX_MASK, &x) == 0 && x.stx_ino == e->ino &&
	    makedev(x.stx_dev_major, x.stx_dev_minor) == e->dev) {
		a.uid = x.stx_uid;
		a.gid = x.stx_gid;
		a.mode = x.stx_mode;
		a.rdev = makedev(x.stx_rdev_major, x.stx_rdev_minor);
	}
	e->uid = a.uid;
	e->gid = a.gid;
	e->mode = a.mode;
	e->rdev = a.rdev;
}

/* glibc's own mapping, ftw_arr. */
int fb_walk_ftw_flag(int flag)
{
	switch (flag) {
	case FTW_SL: return FTW_F;
	case FTW_DP: return FTW_D;
	case FTW_SLN: return FTW_NS;
	}
	return flag;
}

FB_WALK_TRAMPOLINE(tramp, struct stat, __nftw_func_t, __ftw_func_t)
FB_WALK_TRAMPOLINE(tramp64, struct stat64, __nftw64_func_t, __ftw64_func_t)

FB_WALK_NFTW(nftw, __nftw_func_t, tramp)
FB_WALK_NFTW(nftw64, __nftw64_func_t, tramp64)
FB_WALK_FTW(ftw, __ftw_func_t, nftw, tramp)
FB_WALK_FTW(ftw64, __ftw64_func_t, nftw64, tramp64)

/*
 * glibc 2.3.3 made nftw refuse unknown flags (EINVAL); binaries linked
 * before it call the old version, which ignored them.  Today's wrapper
 * answers today's version only, and the old version gets a wrapper that
 * keeps the old flags only, as the old nftw did, then walks the same way.
 */
#ifdef FB_VERSIONED
#ifdef __i386__
#define NFTW_OLD "GLIBC_2.1"
#else
#define NFTW_OLD "GLIBC_2.2.5"
#endif
FB_SYMVER(nftw, "GLIBC_2.3.3");
FB_SYMVER(nftw64, "GLIBC_2.3.3");
__asm__(".symver fb_nftw_old, nftw@" NFTW_OLD);
__asm__(".symver fb_nftw64_old, nftw64@" NFTW_OLD);

int fb_nftw_old(const char *path, __nftw_func_t fn, int nd, int flags);
int fb_nftw64_old(const char *path, __nftw64_func_t fn, int nd, int flags);

FB_EXPORT int fb_nftw_old(const char *path, __nftw_func_t fn, int nd, int flags)
{
	return nftw(path, fn, nd, flags & OLD_FLAGS);
}

FB_EXPORT int fb_nftw64_old(const char *path, __nftw64_func_t fn, int nd, int flags)
{
	return nftw64(path, fn, nd, flags & OLD_FLAGS);
}
#endif
