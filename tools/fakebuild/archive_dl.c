/*
 * archive_dl.c - libarchive, loaded when a build root needs it (see
 * archive_dl.h).
 */
#include <dlfcn.h>

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
