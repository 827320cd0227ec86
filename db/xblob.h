/*
 * xblob.h - the faked extended attributes of one inode, as one blob kept
 * with its record: a sequence of [u16 name length][u32 value length]
 * [name][value].  Included by preload/xattr.c and the tests.  libc only,
 * pure functions.
 */
#ifndef FB_XBLOB_H
#define FB_XBLOB_H

#include <stddef.h>
#include <stdint.h>

#define FB_XATTR_ACL_ACCESS "system.posix_acl_access"
#define FB_XATTR_ACL_DEFAULT "system.posix_acl_default"

/*
 * Is NAME an attribute a session fakes (security.*, trusted.*, POSIX
 * ACLs)?  Those are recorded in the blob and shown from it alone; others
 * (user.*) are the file's real ones.
 */
int fb_xattr_faked(const char *name);

/* Find NAME: 1 and *val, *vlen set; 0 when absent; -1 for a damaged blob. */
int fb_xblob_get(const void *blob, size_t len, const char *name, const void **val, size_t *vlen);

/*
 * Write into OUT (capacity CAP) BLOB with NAME set to VAL (or removed when
 * VAL is NULL).  Returns the new length, or -1 when CAP is too small.
 */
long fb_xblob_set(const void *blob, size_t len, const char *name, const void *val, size_t vlen,
		  void *out, size_t cap);

/* Call FN for each name (NUL-terminated copies are not made: NAME, NLEN). */
typedef void (*fb_xblob_fn)(const char *name, size_t nlen, void *arg);
int fb_xblob_names(const void *blob, size_t len, fb_xblob_fn fn, void *arg);

#endif
