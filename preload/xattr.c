/*
 * xattr.c - extended attributes.  The namespaces an unprivileged user
 * cannot write (security.*, trusted.*, the POSIX ACLs in system.*) are
 * faked: kept with the inode's record, so they persist and go with it.
 * user.* and everything else go to the real file.
 *
 * Setting system.posix_acl_access changes the mode as the kernel does: a
 * minimal ACL (owner, group, other) is a chmod and is not stored; a full
 * one is stored and its mask becomes the group bits.  cp -a sets the mode
 * of what it copies this way.  A chmod rewrites a stored ACL in turn
 * (fb_xattr_chmod), and what is created in a directory with a faked
 * default ACL inherits it (fb_acl_inherit, called by open.c and mknod.c).
 *
 * Entry points come in three kinds (path, l-path, fd); one core per
 * operation takes a `struct xt` naming the target.
 */
#include <endian.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <linux/magic.h>
#include <linux/limits.h>

#include <linux/capability.h>

#include "fb.h"
#include "xblob.h"

#define FB_XATTR_CAPS "security.capability"

enum xkind { XK_PATH, XK_LPATH, XK_FD };

struct xt {
	enum xkind kind;
	const char *path;
	int fd;
};


/* Real root's setxattr and removexattr fail with EROFS on a read-only
 * mount, before anything else is looked at. */
static int xt_read_only(const struct xt *x, const struct statx *stx)
{
	return fb_read_only(AT_FDCWD, x->kind == XK_FD ? "" : x->path, x->kind == XK_FD ? x->fd : -1,
			    x->kind == XK_LPATH, stx);
}

static int xt_statx(const struct xt *x, struct statx *stx)
{
	int rc;
	switch (x->kind) {
	case XK_FD:
		rc = fb_io_fd(x->fd);
		return rc < 0 ? rc : fb_sys_statx(x->fd, "", AT_EMPTY_PATH, FB_STATX_MASK, stx);
	case XK_LPATH: return fb_sys_statx(AT_FDCWD, x->path, AT_SYMLINK_NOFOLLOW, FB_STATX_MASK, stx);
	default: return fb_sys_statx(AT_FDCWD, x->path, 0, FB_STATX_MASK, stx);
	}
}

/*
 * ID's record in T: its attributes in *a, its blob in *blob (malloc'd, or
 * NULL when empty) and whether there is a record in *known.  0 or -errno.
 */
int fb_record_blob(struct fb_table *t, const struct fb_ident *id, struct fb_attr *a,
		   void **blob, size_t *len, int *known)
{
	*blob = NULL;
	*len = 0;
	size_t cap = 0;
	for (;;) {
		long n = fb_table_get_xattrs(t, id, a, known, *blob, cap);
		if (!*known || n == 0)
			return 0;
		if ((size_t)n <= cap) {
			*len = (size_t)n;
			return 0;
		}
		/* Grown since we looked: try again with room for it. */
		free(*blob);
		cap = (size_t)n;
		if (!(*blob = malloc(cap)))
			return -ENOMEM;
	}
}

/*
 * The inode's record: attributes (the fake view when there is no record),
 * its blob in *blob (malloc'd, or NULL when empty) and whether there is a
 * record in *known.  0 or -errno.
 */
static int load(const struct xt *x, struct statx *stx, struct fb_attr *a, void **blob, size_t *len,
		int *known)
{
	int rc = xt_statx(x, stx);
	if (rc < 0)
		return rc;
	struct fb_table *t = fb_table();
	if (!t)
		return -EIO;
	struct fb_ident id;
	fb_ident_from_statx(&id, stx);
	rc = fb_record_blob(t, &id, a, blob, len, known);
	if (rc == 0 && !*known)
		fb_view(NULL, stx, fb.unknown_is_real, a);	/* the view of a file without a record */
	return rc;
}

/* system.posix_acl_access or _default: an ACL, not a plain value. */
static int is_acl_name(const char *name)
{
	return strncmp(name, "system.posix_acl_", 17) == 0;
}

/*
 * May this process set or remove NAME on a file of A's owner?  As the
 * kernel's cap_inode_setxattr and posix_acl checks: a file capability
 * needs CAP_SETFCAP, any other security.* or trusted.* name
 * CAP_SYS_ADMIN, an ACL the owner or CAP_FOWNER.  0 or -EPERM.
 */
static int may_change(const char *name, const struct fb_attr *a)
{
	if (strcmp(name, FB_XATTR_CAPS) == 0)
		return fb_file_cap(CAP_SETFCAP) ? 0 : -EPERM;
	if (strncmp(name, "security.", 9) == 0 || strncmp(name, "trusted.", 8) == 0)
		return fb_file_cap(CAP_SYS_ADMIN) ? 0 : -EPERM;
	if (is_acl_name(name))
		return fb_may_chmod(a->uid);
	return 0;
}

/* Write the record; KNOWN: it exists, so it has its path hint already. */
static int store(const struct xt *x, const struct statx *stx, const struct fb_attr *a,
		 const void *blob, size_t len, int known)
{
	struct statx now = *stx;
	int rc = x->kind == XK_FD ? fb_copy_up(x->fd, "", AT_EMPTY_PATH, &now)
				  : fb_copy_up(AT_FDCWD, x->path,
					       x->kind == XK_LPATH ? AT_SYMLINK_NOFOLLOW : 0, &now);
	if (rc < 0)
		return rc;
	struct fb_ident id;
	fb_ident_from_statx(&id, &now);
	char hint[PATH_MAX];
	const char *h = NULL;
	if (!known && fb_path_hint(x->kind == XK_FD ? x->fd : AT_FDCWD,
				   x->kind == XK_FD ? "" : x->path, hint, sizeof hint) == 0)
		h = hint;
	return fb_table_put_xattrs(fb_table(), &id, a, blob, len, h);
}

/* A POSIX ACL xattr: a u32 version (2), then these entries. */
struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};
enum { ACL_USER_OBJ = 0x01, ACL_USER = 0x02, ACL_GROUP_OBJ = 0x04, ACL_GROUP = 0x08,
       ACL_MASK = 0x10, ACL_OTHER = 0x20 };

/* The mode bits a POSIX ACL xattr implies; -EINVAL if malformed. *minimal when it is only owner/group/other. */
static int acl_mode(const void *val, size_t size, mode_t *perm, int *minimal)
{
	struct acl_entry e;
	uint32_t version;
	if (size < 4 || (size - 4) % sizeof e || !val)
		return -EINVAL;
	memcpy(&version, val, 4);
	if (version != 2)
		return -EOPNOTSUPP;
	/* The kernel's posix_acl_valid: each entry in its place (owner, named
	 * users, owning group, named groups, mask, other), read, write and
	 * execute bits only, named ids that exist, a mask where there are
	 * named entries. */
	enum { AT_UOBJ, AT_USER, AT_GROUP, AT_OTHER, AT_DONE } at = AT_UOBJ;
	int user = 0, group = 0, other = 0, mask = -1, named = 0;
	for (size_t off = 4; off < size; off += sizeof e) {
		memcpy(&e, (const char *)val + off, sizeof e);
		uint16_t tag = le16toh(e.tag), p = le16toh(e.perm);
		int undefined = le32toh(e.id) == UINT32_MAX;
		if (p & ~7)
			return -EINVAL;
		if (tag == ACL_USER_OBJ && at == AT_UOBJ)
			user = p, at = AT_USER;
		else if (tag == ACL_USER && at == AT_USER && !undefined)
			named = 1;
		else if (tag == ACL_GROUP_OBJ && at == AT_USER)
			group = p, at = AT_GROUP;
		else if (tag == ACL_GROUP && at == AT_GROUP && !undefined)
			named = 1;
		else if (tag == ACL_MASK && at == AT_GROUP)
			mask = p, at = AT_OTHER;
		else if (tag == ACL_OTHER && (at == AT_OTHER || (at == AT_GROUP && !named)))
			other = p, at = AT_DONE;
		else
			return -EINVAL;
	}
	if (at != AT_DONE)
		return -EINVAL;
	*minimal = mask < 0;
	*perm = (mode_t)(user << 6 | (mask >= 0 ? mask : group) << 3 | other);
	return 0;
}

/* NOW: the file's statx, if nothing changed it since. */
static int acl_chmod(const struct xt *x, uint32_t mode, const struct statx *now)
{
	if (x->kind == XK_FD)
		return fb_chmod_core(AT_FDCWD, NULL, x->fd, mode & 07777, 0, now);
	return fb_chmod_core(AT_FDCWD, x->path, -1, mode & 07777, 0, now);
}

/*
 * The kernel's checks of a name before any handler sees it: 1 to 255
 * bytes (ERANGE), and something after the prefix (EINVAL).
 */
static int bad_name(const char *name)
{
	size_t n = strnlen(name, XATTR_NAME_MAX + 1);
	if (n == 0 || n > XATTR_NAME_MAX)
		return -ERANGE;
	if (strcmp(name, "security.") == 0 || strcmp(name, "trusted.") == 0)
		return -EINVAL;
	return 0;
}

/*
 * user.* names exist on regular files and directories only: the kernel
 * refuses to set or remove them on a device (EPERM), which a faked one is
 * not on disk.  1 when X is a faked device node.  Reading needs no check:
 * refused here, a placeholder has none, and the real call says ENODATA.
 */
static int user_on_device(const struct xt *x, const char *name)
{
	struct statx stx;
	struct fb_attr a;
	struct fb_table *t;
	if (strncmp(name, "user.", 5) != 0 || !(t = fb_table()) || xt_statx(x, &stx) < 0 ||
	    !S_ISREG(stx.stx_mode))
		return 0;
	return fb_view(t, &stx, fb.unknown_is_real, &a) && (S_ISCHR(a.mode) || S_ISBLK(a.mode));
}

/*
 * A file capability as the kernel's cap_convert_nscap takes it: a
 * revision 2 value of its size, or revision 3 (with a root id) of its
 * size, else EINVAL; revision 3 whose root id is root's is what a reader
 * in the initial namespace is shown as revision 2 (cap_inode_getsecurity),
 * so it is stored so.  *V and *SIZE may be changed to BUF.
 */
static int cap_value(const void **v, size_t *size, unsigned char buf[XATTR_CAPS_SZ_2])
{
	uint32_t magic;
	if (!*v || *size < sizeof magic)
		return -EINVAL;
	memcpy(&magic, *v, sizeof magic);
	magic = le32toh(magic);
	uint32_t rev = magic & VFS_CAP_REVISION_MASK;
	if (!((*size == XATTR_CAPS_SZ_2 && rev == VFS_CAP_REVISION_2) ||
	      (*size == XATTR_CAPS_SZ_3 && rev == VFS_CAP_REVISION_3)))
		return -EINVAL;
	if (rev == VFS_CAP_REVISION_3) {
		uint32_t rootid;
		memcpy(&rootid, (const unsigned char *)*v + XATTR_CAPS_SZ_2, sizeof rootid);
		if (le32toh(rootid) == UINT32_MAX)
			return -EINVAL;	/* no such user */
		if (le32toh(rootid) == 0) {
			memcpy(buf, *v, XATTR_CAPS_SZ_2);
			magic = htole32(VFS_CAP_REVISION_2 | (magic & VFS_CAP_FLAGS_EFFECTIVE));
			memcpy(buf, &magic, sizeof magic);
			*v = buf;
			*size = XATTR_CAPS_SZ_2;
		}
	}
	return 0;
}

static int set_core(const struct xt *x, const char *name, const void *val, size_t size, int flags)
{
	/* As the kernel's setxattr: flags it does not know are refused, and
	 * no value at all is an empty one ("empty EA, do not remove"). */
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	int bad = bad_name(name);
	if (bad < 0)
		return bad;
	if (!val && size)
		return -EFAULT;
	if (!val)
		val = "";
	if (size > XATTR_SIZE_MAX)
		return -E2BIG;
	unsigned char capbuf[XATTR_CAPS_SZ_2];
	if (strcmp(name, FB_XATTR_CAPS) == 0 && (bad = cap_value(&val, &size, capbuf)) < 0)
		return bad;
	struct statx stx;
	struct fb_attr a;
	void *blob;
	size_t len;
	int known;
	int rc = load(x, &stx, &a, &blob, &len, &known);
	if (rc < 0)
		return rc;
	if ((rc = xt_read_only(x, &stx) ? -EROFS : may_change(name, &a)) < 0) {
		free(blob);
		return rc;
	}
	int is_acl = is_acl_name(name);
	const void *old;
	size_t oldlen;
	int exists = fb_xblob_get(blob, len, name, &old, &oldlen) == 1;
	/* An ACL of no entries, the header alone, removes the ACL (the
	 * kernel's posix_acl_from_xattr gives none); there may be none.  Any
	 * other is checked as the kernel does, before it looks at the file. */
	int no_acl = is_acl && size == 4 && val && !memcmp(val, "\2\0\0\0", 4);
	mode_t perm = 0;
	int minimal = 1;
	if (is_acl && S_ISLNK(stx.stx_mode))
		rc = -EOPNOTSUPP;
	else if (is_acl && !no_acl)
		rc = acl_mode(val, size, &perm, &minimal);
	if (rc == 0 && strcmp(name, FB_XATTR_ACL_DEFAULT) == 0 && !S_ISDIR(stx.stx_mode))
		rc = no_acl ? 1 : -EACCES;	/* no default ACL on a file: nothing to do */
	else if (rc == 0 && (flags & XATTR_CREATE) && exists)
		rc = -EEXIST;
	else if (rc == 0 && (flags & XATTR_REPLACE) && !exists)
		rc = -ENODATA;
	if (rc == 1 || (rc == 0 && no_acl && !exists)) {
		free(blob);
		return 0;
	}
	int keep = 1;
	if (rc == 0 && no_acl) {
		keep = 0;
	} else if (rc == 0 && strcmp(name, FB_XATTR_ACL_ACCESS) == 0) {
		a.mode = (a.mode & ~(uint32_t)0777) | perm;
		keep = !minimal;
		/* A minimal ACL where none is stored is just a chmod (cp -a does one per file). */
		if (rc == 0 && minimal && !exists) {
			free(blob);
			return acl_chmod(x, a.mode, &stx);
		}
	}
	void *nb = NULL;
	long nl = 0;
	if (rc == 0) {
		size_t cap = len + strlen(name) + size + 16;
		if (!(nb = malloc(cap)))
			rc = -ENOMEM;
		else if ((nl = fb_xblob_set(blob, len, name, keep ? val : NULL, size, nb, cap)) < 0)
			rc = -EIO;
	}
	if (rc == 0)
		rc = store(x, &stx, &a, nb, (size_t)nl, known);
	/* The ACL's permission bits reach the disk as a chmod would put them. */
	if (rc == 0 && keep && strcmp(name, FB_XATTR_ACL_ACCESS) == 0)
		rc = acl_chmod(x, a.mode, NULL);
	free(blob);
	free(nb);
	return rc;
}

static ssize_t get_core(const struct xt *x, const char *name, void *value, size_t size)
{
	struct statx stx;
	struct fb_attr a;
	void *blob;
	size_t len;
	int known;
	int rc = bad_name(name);
	if (rc == 0)
		rc = load(x, &stx, &a, &blob, &len, &known);
	if (rc < 0)
		return rc;
	const void *v;
	size_t vl;
	ssize_t n;
	if (fb_xblob_get(blob, len, name, &v, &vl) != 1)
		n = -ENODATA;
	else if (size == 0)
		n = (ssize_t)vl;
	else if (vl > size)
		n = -ERANGE;
	else {
		memcpy(value, v, vl);
		n = (ssize_t)vl;
	}
	free(blob);
	return n;
}

static int remove_core(const struct xt *x, const char *name)
{
	struct statx stx;
	struct fb_attr a;
	void *blob;
	size_t len;
	int known;
	int rc = bad_name(name);
	if (rc == 0)
		rc = load(x, &stx, &a, &blob, &len, &known);
	if (rc < 0)
		return rc;
	const void *v;
	size_t vl;
	void *nb = NULL;
	if ((rc = xt_read_only(x, &stx) ? -EROFS : may_change(name, &a)) < 0) {
		free(blob);
		return rc;
	}
	long nl = 0;
	if (fb_xblob_get(blob, len, name, &v, &vl) != 1) {
		free(blob);
		return is_acl_name(name) ? 0 : -ENODATA;	/* no ACL to remove is no error to the kernel */
	}
	if (!(nb = malloc(len ? len : 1)))
		rc = -ENOMEM;
	else if ((nl = fb_xblob_set(blob, len, name, NULL, 0, nb, len)) < 0)
		rc = -EIO;
	if (rc == 0)
		rc = store(x, &stx, &a, nb, (size_t)nl, known);
	free(blob);
	free(nb);
	return rc;
}

/*
 * The faked xattr NAME of STX's record, for a change that keeps it in step:
 * 1 with the table in *T, the record's identity in *ID, its attributes in
 * *OLD, its blob in *BLOB (malloc'd, *LEN bytes) and the value at *V (*VL
 * bytes, inside *BLOB); 0 when there is none; -errno.  Free while no
 * record has ever had a faked xattr.
 */
static int record_xattr(const struct statx *stx, const char *name, struct fb_table **t,
			struct fb_ident *id, struct fb_attr *old, void **blob, size_t *len,
			const void **v, size_t *vl)
{
	*t = fb_table();
	*blob = NULL;
	if (!*t || !fb_table_has_xattrs(*t))
		return 0;
	fb_ident_from_statx(id, stx);
	int known;
	int rc = fb_record_blob(*t, id, old, blob, len, &known);
	if (rc == 0 && known && fb_xblob_get(*blob, *len, name, v, vl) == 1)
		return 1;
	free(*blob);
	*blob = NULL;
	return rc;
}

/*
 * The kernel removes security.capability when it changes a file's owner
 * or its data (ATTR_KILL_PRIV), by root too: STX's record without a faked
 * one, with attributes A (NULL: the record's own).  1 when written, 0 when
 * there is none, or -errno.  Free while no record has ever had a faked
 * xattr.
 */
static int drop_caps(const struct statx *stx, const struct fb_attr *a)
{
	struct fb_table *t;
	struct fb_ident id;
	struct fb_attr old;
	void *blob, *nb = NULL;
	size_t len, vl;
	const void *v;
	int rc = record_xattr(stx, FB_XATTR_CAPS, &t, &id, &old, &blob, &len, &v, &vl);
	if (rc <= 0)
		return rc;
	long nl = -1;
	if (!(nb = malloc(len)))
		rc = -ENOMEM;
	else if ((nl = fb_xblob_set(blob, len, FB_XATTR_CAPS, NULL, 0, nb, len)) < 0)
		rc = -EIO;
	else if ((rc = fb_table_put_xattrs(t, &id, a ? a : &old, nb, (size_t)nl, NULL)) == 0)
		rc = 1;
	free(blob);
	free(nb);
	return rc;
}

/*
 * A chown of a file that is not a directory drops a faked capability:
 * record A for STX without it and return 1.  0 when there is none (the
 * caller records A itself), or -errno.
 */
int fb_xattr_chown(const struct statx *stx, const struct fb_attr *a)
{
	return S_ISDIR(stx->stx_mode) ? 0 : drop_caps(stx, a);
}

/*
 * So does a truncation, even to the size the file has (open with O_TRUNC,
 * truncate, ftruncate): of FD's file, or else of DIRFD/PATH (links
 * followed), which the caller just truncated.  A write drops it in the
 * kernel too; writes are not interposed, so that is not faked
 * (fakebuild(7)).  Costs one flag test while no record has ever had a
 * faked xattr; errno is kept.
 */
void fb_xattr_truncated(int dirfd, const char *path, int fd)
{
	struct fb_table *t = fb_table();
	if (!t || !fb_table_has_xattrs(t))
		return;
	int saved = errno;
	struct statx stx;
	int rc = fd >= 0 ? fb_sys_statx(fd, "", AT_EMPTY_PATH, FB_STATX_MASK, &stx)
			 : fb_sys_statx(dirfd, path, 0, FB_STATX_MASK, &stx);
	if (rc == 0 && S_ISREG(stx.stx_mode))
		drop_caps(&stx, NULL);
	errno = saved;
}

/* One class of the ACL entry at OFF in VAL and the bits of *MODE at SHIFT:
 * see acl_apply_mode. */
static void acl_class(void *val, size_t off, mode_t *mode, int shift, int masq)
{
	struct acl_entry e;
	memcpy(&e, (char *)val + off, sizeof e);
	uint16_t bits = (uint16_t)(*mode >> shift & 7);
	e.perm = masq ? (uint16_t)(e.perm & bits) : bits;
	*mode = (*mode & ~((mode_t)7 << shift)) | (mode_t)e.perm << shift;
	memcpy((char *)val + off, &e, sizeof e);
}

/*
 * The ACL VAL (SIZE bytes, checked by acl_mode) and *MODE, made to agree
 * as the kernel does for the owner, the group class (the mask entry when
 * there is one, else the owning group's) and other.  MASQ 0, at a chmod
 * (posix_acl_chmod): the entries take MODE's bits.  MASQ 1, at a creation
 * (posix_acl_create_masq): each is masked by MODE's bits and MODE by it.
 * Returns whether the ACL says more than a mode (named entries, a mask).
 */
static int acl_apply_mode(void *val, size_t size, mode_t *mode, int masq)
{
	struct acl_entry e;
	size_t group = 0, mask = 0;
	int more = 0;
	for (size_t off = 4; off + sizeof e <= size; off += sizeof e) {
		memcpy(&e, (char *)val + off, sizeof e);
		switch (e.tag) {
		case ACL_USER_OBJ: acl_class(val, off, mode, 6, masq); break;
		case ACL_OTHER: acl_class(val, off, mode, 0, masq); break;
		case ACL_GROUP_OBJ: group = off; break;
		case ACL_MASK: mask = off; more = 1; break;
		default: more = 1; break;
		}
	}
	if (mask || group)
		acl_class(val, mask ? mask : group, mode, 3, masq);
	return more;
}

/*
 * The kernel keeps a file's access ACL and its mode in step: a chmod
 * rewrites the ACL's owner, group-class and other entries.  When STX's
 * record has a faked access ACL, record A (the chmod's result) with the
 * ACL so rewritten and return 1; 0 when there is none (the caller records
 * A itself), or -errno.  Free while no record has ever had a faked xattr.
 */
int fb_xattr_chmod(const struct statx *stx, const struct fb_attr *a)
{
	struct fb_table *t;
	struct fb_ident id;
	struct fb_attr old;
	void *blob, *nb = NULL;
	size_t len, vl;
	const void *v;
	mode_t perm;
	int minimal;
	int rc = record_xattr(stx, FB_XATTR_ACL_ACCESS, &t, &id, &old, &blob, &len, &v, &vl);
	if (rc <= 0 || acl_mode(v, vl, &perm, &minimal) < 0) {
		free(blob);
		return rc < 0 ? rc : 0;
	}
	if (!(nb = malloc(len)))
		rc = -ENOMEM;
	else {
		memcpy(nb, blob, len);
		mode_t m = a->mode;
		acl_apply_mode((char *)nb + ((const char *)v - (const char *)blob), vl, &m, 0);
		if ((rc = fb_table_put_xattrs(t, &id, a, nb, len, NULL)) == 0)
			rc = 1;
	}
	free(blob);
	free(nb);
	return rc;
}

/* ---- default ACLs: what a new file inherits ------------------------------ */

/* May a directory have a faked default ACL?  One flag of the table: free
 * until some record has carried one. */
int fb_acl_defaults(void)
{
	struct fb_table *t = fb_table();
	return t && fb_table_has_default_acls(t);
}

/*
 * What the kernel's posix_acl_create gives a new inode whose directory has
 * a default ACL.  STX is the inode this process just made at DIRFD/PATH,
 * MODE what the call asked for (file type and permissions, before the
 * umask, which a default ACL replaces).  The inode gets MODE masked by the
 * directory's default ACL, that ACL so masked as its access ACL unless it
 * is then only owner, group and other, and, if it is a directory, the
 * default ACL itself.  A gives the owner, group and device; its mode is
 * set here.  Records the inode and returns 1; 0 when the directory has no
 * faked default ACL (nothing done); -errno.
 */
int fb_acl_inherit(int dirfd, const char *path, const struct statx *stx, mode_t mode,
		   struct fb_attr *a)
{
	struct statx pstx;
	if (fb_parent_statx(dirfd, path, &pstx) < 0)
		return 0;
	struct fb_table *t;
	struct fb_ident id;
	struct fb_attr dir;
	void *blob, *acl = NULL, *one = NULL, *two = NULL;
	size_t len, vl;
	const void *v;
	mode_t perm;
	int minimal;
	int rc = record_xattr(&pstx, FB_XATTR_ACL_DEFAULT, &t, &id, &dir, &blob, &len, &v, &vl);
	if (rc <= 0 || acl_mode(v, vl, &perm, &minimal) < 0) {
		free(blob);
		return rc < 0 ? rc : 0;
	}
	size_t cap = 2 * (vl + sizeof FB_XATTR_ACL_DEFAULT + 16);
	if (!(acl = malloc(vl)) || !(one = malloc(cap)) || !(two = malloc(cap))) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(acl, v, vl);
	/* The permissions asked for; the set-id and sticky bits as the new
	 * inode's attributes have them (a setgid directory's, none asked of
	 * mkdir). */
	mode_t m = (mode & 0777) | (a->mode & 07000);
	/* Its access ACL, unless only owner, group and other remain (the mode
	 * says it all), and a directory's default ACL: in the order
	 * listxattr(2) then gives them, the access ACL first as tmpfs lists
	 * them, but on ext2/3/4 the default ACL, which the kernel sets first
	 * (ext4_init_acl) and mke2fs -d copies in that order. */
	const char *names[2];
	const void *vals[2];
	int k = 0;
	if (acl_apply_mode(acl, vl, &m, 1))
		names[k] = FB_XATTR_ACL_ACCESS, vals[k++] = acl;
	if (S_ISDIR(mode))
		names[k] = FB_XATTR_ACL_DEFAULT, vals[k++] = v;
	struct statfs64 sf;
	if (k == 2 && fb_file_statfs(dirfd, path, -1, 1, &sf) == 0 && sf.f_type == EXT4_SUPER_MAGIC) {
		names[0] = FB_XATTR_ACL_DEFAULT, vals[0] = v;
		names[1] = FB_XATTR_ACL_ACCESS, vals[1] = acl;
	}
	void *bufs[2] = {one, two};
	long n = 0;
	for (int i = 0; i < k && n >= 0; i++)
		n = fb_xblob_set(i ? bufs[0] : NULL, (size_t)n, names[i], vals[i], vl, bufs[i], cap);
	if (n < 0) {
		rc = -EIO;
		goto out;
	}
	a->mode = (uint32_t)((a->mode & S_IFMT) | m);
	char hint[PATH_MAX];
	const char *h = fb_path_hint(dirfd, path, hint, sizeof hint) == 0 ? hint : NULL;
	fb_ident_from_statx(&id, stx);
	rc = fb_table_put_xattrs(t, &id, a, k ? bufs[k - 1] : NULL, (size_t)n, h);
	if (rc == 0)
		rc = 1;
out:
	free(blob);
	free(acl);
	free(one);
	free(two);
	return rc;
}

/* ---- listxattr: the real names, then the faked ones --------------------- */

static ssize_t real_list(const struct xt *x, char *buf, size_t size)
{
	FB_REAL(listxattr);
	FB_REAL(llistxattr);
	FB_REAL(flistxattr);
	ssize_t n;
	switch (x->kind) {
	case XK_FD: n = real_flistxattr ? real_flistxattr(x->fd, buf, size) : -1; break;
	case XK_LPATH: n = real_llistxattr ? real_llistxattr(x->path, buf, size) : -1; break;
	default: n = real_listxattr ? real_listxattr(x->path, buf, size) : -1; break;
	}
	if (n < 0 && (errno == ENOTSUP || errno == ENOSYS))
		return 0;	/* no real xattrs here: the faked ones still are */
	return n < 0 ? -errno : n;
}

struct names {
	char *buf;
	size_t used, cap;
	int overflow;
};

static int listed(const struct names *l, const char *n, size_t nl)
{
	for (size_t off = 0; off < l->used;) {
		size_t k = strlen(l->buf + off);
		if (k == nl && memcmp(l->buf + off, n, nl) == 0)
			return 1;
		off += k + 1;
	}
	return 0;
}

static void add_name(const char *n, size_t nl, void *arg)
{
	struct names *l = arg;
	if (listed(l, n, nl))
		return;
	if (l->used + nl + 1 > l->cap) {
		l->overflow = 1;
		return;
	}
	memcpy(l->buf + l->used, n, nl);
	l->buf[l->used + nl] = 0;
	l->used += nl + 1;
}

static ssize_t list_core(const struct xt *x, char *list, size_t size)
{
	/* No record has ever had faked xattrs: the list is the real one (cp -a asks per file). */
	struct fb_table *t = fb_table();
	if (t && !fb_table_has_xattrs(t))
		return real_list(x, list, size);
	struct statx stx;
	struct fb_attr a;
	void *blob;
	size_t len;
	int known;
	int rc = load(x, &stx, &a, &blob, &len, &known);
	if (rc < 0)
		return rc;
	ssize_t rn = real_list(x, NULL, 0);
	struct names l = { NULL, 0, 0, 0 };
	if (rn >= 0) {
		l.cap = (size_t)rn + len + 1;
		if (!(l.buf = malloc(l.cap)))
			rn = -ENOMEM;
	}
	if (rn > 0) {
		rn = real_list(x, l.buf, (size_t)rn);
		if (rn >= 0)
			l.used = (size_t)rn;
		else if (rn == -ERANGE)
			rn = -EAGAIN;	/* grew meanwhile: the caller retries below */
	}
	if (rn >= 0)
		fb_xblob_names(blob, len, add_name, &l);
	ssize_t out;
	if (rn < 0)
		out = rn;
	else if (l.overflow)
		out = -EIO;
	else if (size == 0)
		out = (ssize_t)l.used;
	else if (l.used > size)
		out = -ERANGE;
	else {
		memcpy(list, l.buf, l.used);
		out = (ssize_t)l.used;
	}
	free(l.buf);
	free(blob);
	return out;
}

static ssize_t ret_ssize(ssize_t rc, int saved)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	errno = saved;
	return rc;
}

/* ---- entry points -------------------------------------------------------- */

#define SET_ENTRY(fn, kind, T, arg)                                                      \
	FB_EXPORT int fn(T arg, const char *name, const void *value, size_t size, int flags) \
	{                                                                                \
		FB_PROLOGUE(fn, arg, name, value, size, flags);                          \
		struct xt x = XT_##kind(arg);                                            \
		if (!fb_xattr_faked(name))                                               \
			return user_on_device(&x, name)                                  \
				       ? fb_ret(-EPERM)                                  \
				       : real_##fn(arg, name, value, size, flags);       \
		return fb_ret(set_core(&x, name, value, size, flags));                   \
	}
#define GET_ENTRY(fn, kind, T, arg)                                                      \
	FB_EXPORT ssize_t fn(T arg, const char *name, void *value, size_t size)           \
	{                                                                                \
		FB_REAL(fn);                                                             \
		if (!real_##fn)                                                          \
			return fb_enosys(#fn);                                           \
		if (!fb_enter() || !fb_xattr_faked(name))                                \
			return real_##fn(arg, name, value, size);                        \
		int saved = errno;                                                       \
		struct xt x = XT_##kind(arg);                                            \
		return ret_ssize(get_core(&x, name, value, size), saved);                \
	}
#define LIST_ENTRY(fn, kind, T, arg)                                                     \
	FB_EXPORT ssize_t fn(T arg, char *list, size_t size)                             \
	{                                                                                \
		FB_REAL(fn);                                                             \
		if (!real_##fn)                                                          \
			return fb_enosys(#fn);                                           \
		if (!fb_enter())                                                         \
			return real_##fn(arg, list, size);                               \
		int saved = errno;                                                       \
		struct xt x = XT_##kind(arg);                                            \
		ssize_t n;                                                               \
		while ((n = list_core(&x, list, size)) == -EAGAIN)                       \
			;                                                                \
		return ret_ssize(n, saved);                                              \
	}
#define REMOVE_ENTRY(fn, kind, T, arg)                                                   \
	FB_EXPORT int fn(T arg, const char *name)                                        \
	{                                                                                \
		FB_PROLOGUE(fn, arg, name);                                              \
		struct xt x = XT_##kind(arg);                                            \
		if (!fb_xattr_faked(name))                                               \
			return user_on_device(&x, name) ? fb_ret(-EPERM) : real_##fn(arg, name); \
		return fb_ret(remove_core(&x, name));                                    \
	}

#define XT_PATH(p) { XK_PATH, (p), -1 }
#define XT_LPATH(p) { XK_LPATH, (p), -1 }
#define XT_FD(f) { XK_FD, NULL, (f) }

SET_ENTRY(setxattr, PATH, const char *, path)
SET_ENTRY(lsetxattr, LPATH, const char *, path)
SET_ENTRY(fsetxattr, FD, int, fd)
GET_ENTRY(getxattr, PATH, const char *, path)
GET_ENTRY(lgetxattr, LPATH, const char *, path)
GET_ENTRY(fgetxattr, FD, int, fd)
LIST_ENTRY(listxattr, PATH, const char *, path)
LIST_ENTRY(llistxattr, LPATH, const char *, path)
LIST_ENTRY(flistxattr, FD, int, fd)
REMOVE_ENTRY(removexattr, PATH, const char *, path)
REMOVE_ENTRY(lremovexattr, LPATH, const char *, path)
REMOVE_ENTRY(fremovexattr, FD, int, fd)
