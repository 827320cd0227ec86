/*
 * fuzz.c - libFuzzer target of one manifest reader, FUZZ_FORMAT (built by
 * tests/fuzz/run once per format with -DFUZZ_FORMAT=FB_MF_...); each input
 * is loaded twice (the second load, auto-detected, merges over the first,
 * exercising overrides and hard link checks).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Fixed names (the fixtures') so a run does not depend on the host. */
	const char *src = getenv("FB_SRCDIR");
	char pw[4096], gr[4096];
	struct fb_manifest *m = fb_manifest_new();
	size_t n;

	if (m == NULL)
		return 0;
	snprintf(pw, sizeof(pw), "%s/tests/unit/fixtures/manifest/passwd", src ? src : ".");
	snprintf(gr, sizeof(gr), "%s/tests/unit/fixtures/manifest/group", src ? src : ".");
	if (fb_manifest_set_names(m, pw, gr) == 0 &&
	    fb_manifest_load_mem(m, "fuzz", data, size, FUZZ_FORMAT) == 0) {
		fb_manifest_load_mem(m, "fuzz2", data, size, FB_MF_AUTO);
		fb_manifest_sorted(m, &n);
	}
	(void)fb_manifest_error(m);
	fb_manifest_free(m);
	return 0;
}
