/*
 * xblob.c - encoding of the faked extended attributes (see xblob.h).
 */
#include <string.h>

#include "xblob.h"

int fb_xattr_faked(const char *name)
{
	return strncmp(name, "security.", 9) == 0 || strncmp(name, "trusted.", 8) == 0 ||
	       strcmp(name, FB_XATTR_ACL_ACCESS) == 0 || strcmp(name, FB_XATTR_ACL_DEFAULT) == 0;
}

/* In the live table's arena, which 32-bit and 64-bit processes share:
 * packed, fixed widths, the same 6 bytes on every ABI. */
struct hdr {
	uint16_t nlen;
	uint32_t vlen;
} __attribute__((packed));
_Static_assert(sizeof(struct hdr) == 6, "xattr blob entry header: 6 bytes on every ABI");

/* Walk the blob: calls FN per entry; stops when FN returns non-zero.  -1 if damaged. */
static int walk(const void *blob, size_t len,
		int (*fn)(const char *n, size_t nl, const void *v, size_t vl, void *arg), void *arg)
{
	const unsigned char *p = blob, *end = p + len;
	while (p < end) {
		struct hdr h;
		if ((size_t)(end - p) < sizeof h)
			return -1;
		memcpy(&h, p, sizeof h);
		p += sizeof h;
		if ((size_t)(end - p) < (size_t)h.nlen + h.vlen)
			return -1;
		int rc = fn((const char *)p, h.nlen, p + h.nlen, h.vlen, arg);
		if (rc)
			return rc;
		p += h.nlen + h.vlen;
	}
	return 0;
}

struct get_ctx {
	const char *name;
	size_t nlen;
	const void *val;
	size_t vlen;
};

static int get_one(const char *n, size_t nl, const void *v, size_t vl, void *arg)
{
	struct get_ctx *c = arg;
	if (nl != c->nlen || memcmp(n, c->name, nl) != 0)
		return 0;
	c->val = v;
	c->vlen = vl;
	return 1;
}

int fb_xblob_get(const void *blob, size_t len, const char *name, const void **val, size_t *vlen)
{
	struct get_ctx c = { name, strlen(name), NULL, 0 };
	int rc = walk(blob, len, get_one, &c);
	if (rc == 1) {
		*val = c.val;
		*vlen = c.vlen;
	}
	return rc;
}

struct set_ctx {
	const char *name;
	size_t nlen;
	unsigned char *out;
	size_t cap, used;
	int overflow;
};

static void append(struct set_ctx *c, const char *n, size_t nl, const void *v, size_t vl)
{
	struct hdr h = { (uint16_t)nl, (uint32_t)vl };
	if (c->used + sizeof h + nl + vl > c->cap) {
		c->overflow = 1;
		return;
	}
	memcpy(c->out + c->used, &h, sizeof h);
	memcpy(c->out + c->used + sizeof h, n, nl);
	memcpy(c->out + c->used + sizeof h + nl, v, vl);
	c->used += sizeof h + nl + vl;
}

static int copy_other(const char *n, size_t nl, const void *v, size_t vl, void *arg)
{
	struct set_ctx *c = arg;
	if (!(nl == c->nlen && memcmp(n, c->name, nl) == 0))
		append(c, n, nl, v, vl);
	return 0;
}

long fb_xblob_set(const void *blob, size_t len, const char *name, const void *val, size_t vlen,
		  void *out, size_t cap)
{
	struct set_ctx c = { name, strlen(name), out, cap, 0, 0 };
	if (c.nlen > 0xffff || walk(blob, len, copy_other, &c) < 0)
		return -1;
	if (val)
		append(&c, name, c.nlen, val, vlen);
	return c.overflow ? -1 : (long)c.used;
}

struct names_ctx {
	fb_xblob_fn fn;
	void *arg;
};

static int name_one(const char *n, size_t nl, const void *v, size_t vl, void *arg)
{
	struct names_ctx *c = arg;
	(void)v;
	(void)vl;
	c->fn(n, nl, c->arg);
	return 0;
}

int fb_xblob_names(const void *blob, size_t len, fb_xblob_fn fn, void *arg)
{
	struct names_ctx c = { fn, arg };
	return walk(blob, len, name_one, &c);
}
