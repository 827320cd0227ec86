/*
 * translate.c - one archive entry at a time: look it up in the manifest,
 * rewrite owner and mode, write it with its data.  Nothing but the
 * manifest, the set of manifest entries seen and the hard-link groups still
 * open is kept between entries, so memory does not grow with the archive.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cpiotranslate.h"

/* Holes of sparse files are written as zeros from here (format writers
 * that keep the sparse map skip them again). */
static const char zeros[64 * 1024];

void error(struct ct *ct, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	ct->errors++;
	/* An error means the output is wrong: stop writing it, make sure no
	 * trailer is added, and cut it so it cannot pass for a complete archive. */
	if (ct->out && !ct->out_dead) {
		archive_write_fail(ct->out);
		ct->out_dead = true;
		cut_output();
	}
}

void diff(struct ct *ct, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	ct->diffs++;
}

static const char *ae_type_name(mode_t ft)
{
	switch (ft) {
	case AE_IFREG: return "file";
	case AE_IFDIR: return "dir";
	case AE_IFLNK: return "symlink";
	case AE_IFCHR: return "char";
	case AE_IFBLK: return "block";
	case AE_IFIFO: return "fifo";
	case AE_IFSOCK: return "socket";
	default: return "unknown";
	}
}

static bool is_exception(const struct ct *ct, const char *key)
{
	for (size_t i = 0; i < ct->nexc; i++)
		if (fnmatch(ct->exc[i], key, 0) == 0)
			return true;
	return false;
}

static void mark_seen(struct ct *ct, const struct fb_mentry *me)
{
	struct seen *s;

	HASH_FIND_PTR(ct->seen, &me, s);
	if (s)
		return;
	s = malloc(sizeof *s);
	if (!s)
		die("out of memory");
	s->me = me;
	HASH_ADD_PTR(ct->seen, me, s);
}

/* Do two manifest entries give the same owner and mode? */
static bool same_attrs(const struct fb_mentry *a, const struct fb_mentry *b)
{
	unsigned h = FB_MH_UID | FB_MH_GID | FB_MH_MODE;

	return (a->have & h) == (b->have & h) &&
	       (!(a->have & FB_MH_UID) || a->uid == b->uid) &&
	       (!(a->have & FB_MH_GID) || a->gid == b->gid) &&
	       (!(a->have & FB_MH_MODE) || a->perm == b->perm);
}

static bool name_differs(const char *a, const char *b)
{
	return (a ? a : "")[0] != '\0' || (b ? b : "")[0] != '\0' ?
	       strcmp(a ? a : "", b ? b : "") != 0 : false;
}

void drop_xattrs(struct archive_entry *e, bool (*drop)(const char *name))
{
	struct { char *name; void *value; size_t size; } *keep = NULL;
	size_t n = 0, size;
	const char *name;
	const void *value;
	bool dropped = false;

	if (archive_entry_xattr_reset(e) == 0)
		return;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (drop(name)) {
			dropped = true;
			continue;
		}
		if (!(keep = realloc(keep, (n + 1) * sizeof *keep)) || !(keep[n].name = strdup(name)) ||
		    !(keep[n].value = malloc(size ? size : 1)))
			die("out of memory");
		memcpy(keep[n].value, value, size);
		keep[n++].size = size;
	}
	if (dropped)
		archive_entry_xattr_clear(e);
	for (size_t i = 0; i < n; i++) {
		if (dropped)
			archive_entry_xattr_add_entry(e, keep[i].name, keep[i].value, keep[i].size);
		free(keep[i].name);
		free(keep[i].value);
	}
	free(keep);
}

/*
 * Some writers (GNU tar --xattrs) also store the access ACL as the raw
 * xattr system.posix_acl_access: once the ACL changed, that copy is stale
 * and would undo the change on extraction.
 */
static bool raw_access_acl(const char *name)
{
	return strcmp(name, "system.posix_acl_access") == 0;
}

/*
 * PERM for an entry that may have an access ACL, as chmod(2) applies it:
 * with a mask entry, the group bits go to the mask and the owning group's
 * entry keeps its own, which libarchive holds in the mode's group bits.
 * The ACL is rebuilt (libarchive changes no entry in place), the default
 * ACL with it.  Returns the mode to set.
 */
static mode_t acl_chmod(struct archive_entry *e, mode_t perm)
{
	struct acl_ent { int type, perm, tag, id; char *name; } *v = NULL;
	size_t n = 0;
	bool mask = false;
	int type, eperm, tag, id;
	const char *name;

	if (archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) == 0)
		return perm;
	for (int t = ARCHIVE_ENTRY_ACL_TYPE_ACCESS; t <= ARCHIVE_ENTRY_ACL_TYPE_DEFAULT; t <<= 1) {
		archive_entry_acl_reset(e, t);
		while (archive_entry_acl_next(e, t, &type, &eperm, &tag, &id, &name) == ARCHIVE_OK) {
			if (!(v = realloc(v, (n + 1) * sizeof *v)))
				die("out of memory");
			v[n] = (struct acl_ent){ type, eperm, tag, id, name ? strdup(name) : NULL };
			if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && tag == ARCHIVE_ENTRY_ACL_MASK) {
				v[n].perm = (int)((perm >> 3) & 7);
				mask = true;
			}
			n++;
		}
	}
	if (mask) {
		perm = (perm & ~(mode_t)070) | (archive_entry_perm(e) & 070);
		archive_entry_acl_clear(e);
		for (size_t i = 0; i < n; i++)
			archive_entry_acl_add_entry(e, v[i].type, v[i].perm, v[i].tag, v[i].id, v[i].name);
		drop_xattrs(e, raw_access_acl);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return perm;
}

/* Owner and group are set with their names, or with the names cleared, so
 * an extractor that prefers names gets the same answer as one using ids. */
static bool apply(struct archive_entry *e, const struct fb_mentry *a)
{
	bool changed = false;

	if (a->have & FB_MH_UID) {
		changed |= archive_entry_uid(e) != (la_int64_t)a->uid ||
			   name_differs(archive_entry_uname(e), a->uname);
		archive_entry_set_uid(e, a->uid);
		archive_entry_set_uname(e, a->uname);
	}
	if (a->have & FB_MH_GID) {
		changed |= archive_entry_gid(e) != (la_int64_t)a->gid ||
			   name_differs(archive_entry_gname(e), a->gname);
		archive_entry_set_gid(e, a->gid);
		archive_entry_set_gname(e, a->gname);
	}
	if (a->have & FB_MH_MODE) {
		changed |= (archive_entry_perm(e) & 07777) != (a->perm & 07777);
		archive_entry_set_perm(e, acl_chmod(e, a->perm & 07777));
	}
	return changed;
}

static const struct fb_mentry implicit_root = {
	.path = (char *)".", .type = FB_M_DIR, .have = FB_MH_UID | FB_MH_GID,
};

static void compare(struct ct *ct, struct archive_entry *e, const char *name,
		    const struct fb_mentry *a)
{
	const char *an, *src = ct->db ? "in the database" : a == &implicit_root
				? "for the archive's root, which the manifest does not list" : "in manifest";

	if (a->have & FB_MH_UID) {
		if (archive_entry_uid(e) != (la_int64_t)a->uid)
			diff(ct, "%s: uid: %" PRId64 " in archive, %lu %s", name,
			     (int64_t)archive_entry_uid(e), (unsigned long)a->uid, src);
		an = archive_entry_uname(e);
		if (a->uname && an && *an && strcmp(an, a->uname) != 0)
			diff(ct, "%s: user: %s in archive, %s %s", name, an, a->uname, src);
	}
	if (a->have & FB_MH_GID) {
		if (archive_entry_gid(e) != (la_int64_t)a->gid)
			diff(ct, "%s: gid: %" PRId64 " in archive, %lu %s", name,
			     (int64_t)archive_entry_gid(e), (unsigned long)a->gid, src);
		an = archive_entry_gname(e);
		if (a->gname && an && *an && strcmp(an, a->gname) != 0)
			diff(ct, "%s: group: %s in archive, %s %s", name, an, a->gname, src);
	}
	if ((a->have & FB_MH_MODE) && (archive_entry_perm(e) & 07777) != (a->perm & 07777))
		diff(ct, "%s: mode: %04o in archive, %04o %s", name,
		     (unsigned)(archive_entry_perm(e) & 07777), (unsigned)(a->perm & 07777), src);
}

static void skip_data(struct ct *ct, const char *name)
{
	if (archive_read_data_skip(ct->in) < ARCHIVE_WARN)
		die("%s: truncated or corrupt archive: %s", name,
		    errstr(ct->in));
}

static void put(struct ct *ct, const char *name, const void *buf, size_t len)
{
	if (len && archive_write_data(ct->out, buf, len) < 0)
		die("%s: %s (writing %s)", ct->out_name, werrstr(ct->out), name);
}

static void put_zeros(struct ct *ct, const char *name, int64_t n)
{
	while (n > 0) {
		size_t k = n > (int64_t)sizeof zeros ? sizeof zeros : (size_t)n;
		put(ct, name, zeros, k);
		n -= (int64_t)k;
	}
}

/* Copy the data of the current entry, block by block as the reader hands
 * it out (no copy for uncompressed input); block offsets give the holes. */
static void copy_data(struct ct *ct, struct archive_entry *e, const char *name)
{
	const void *buf;
	size_t len;
	la_int64_t off, pos = 0;
	int r;

	while ((r = archive_read_data_block(ct->in, &buf, &len, &off)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			die("%s: truncated or corrupt archive: %s", name,
			    errstr(ct->in));
		if (off > pos)
			put_zeros(ct, name, off - pos);
		put(ct, name, buf, len);
		pos = off + (la_int64_t)len;
	}
	if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size_is_set(e) &&
	    archive_entry_size(e) > pos)
		put_zeros(ct, name, archive_entry_size(e) - pos);
}

static uint64_t id_limit(const struct ct *ct)
{
	/* Plain ustar entries stay plain ustar: no pax header for a big id. */
	if (ct->fmt->code == ARCHIVE_FORMAT_TAR_PAX_RESTRICTED &&
	    ct->in_code != ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE)
		return USTAR_ID_MAX;
	return ct->fmt->id_max;
}

/* Did the output itself fail (a full disk, a closed pipe), rather than the
 * format refuse an entry?  libarchive's own codes are EINVAL and EILSEQ. */
static bool write_failed(struct archive *a)
{
	int e = archive_errno(a);

	return e > 0 && e != EINVAL && e != EILSEQ;
}

/* Write E (header, then its data from the input if HAS_DATA). */
void write_entry(struct ct *ct, struct archive_entry *e, bool has_data)
{
	/* A copy: archive_write_header converts the entry's name, which can
	 * move the string archive_entry_pathname returned. */
	char *name = strdup(archive_entry_pathname(e) ? archive_entry_pathname(e) : "?");
	if (!name)
		die("out of memory");
	uint64_t max = id_limit(ct);
	int r;

	if ((uint64_t)archive_entry_uid(e) > max)
		error(ct, "%s: uid %" PRId64 " too large for the %s format (at most %" PRIu64 ")",
		      name, (int64_t)archive_entry_uid(e), ct->fmt->name, max);
	if ((uint64_t)archive_entry_gid(e) > max)
		error(ct, "%s: gid %" PRId64 " too large for the %s format (at most %" PRIu64 ")",
		      name, (int64_t)archive_entry_gid(e), ct->fmt->name, max);
	/* libarchive's GNU tar writer has six octal digits for each device number. */
	if (ct->fmt->code == ARCHIVE_FORMAT_TAR_GNUTAR &&
	    (archive_entry_filetype(e) == AE_IFCHR || archive_entry_filetype(e) == AE_IFBLK) &&
	    (archive_entry_rdevmajor(e) > 0777777 || archive_entry_rdevminor(e) > 0777777))
		error(ct, "%s: device %lu,%lu: the GNU tar writer holds numbers up to 262143; "
		      "write another tar format (--format pax)", name,
		      (unsigned long)archive_entry_rdevmajor(e), (unsigned long)archive_entry_rdevminor(e));
	if (ct->out_dead) {
		if (has_data)
			skip_data(ct, name);
		free(name);
		return;
	}
	/* Only the pax writers keep a sparse map: say so where the holes
	 * will be written out (Debian's tar writes GNU format). */
	if (has_data && archive_entry_sparse_count(e) > 0 &&
	    ct->fmt->code != ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE &&
	    ct->fmt->code != ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)
		warnx("%s: a sparse file: the %s writer cannot keep its holes, which are written "
		      "as zeros (--format pax keeps them)", name, ct->fmt->name);
	r = archive_write_header(ct->out, e);
	if (r == ARCHIVE_WARN) {
		warnx("%s: %s", name, errstr(ct->out));
	} else if (r == ARCHIVE_FAILED || (r == ARCHIVE_FATAL && !write_failed(ct->out))) {
		/* Some writers refuse an entry with FATAL: the bin writer a fifo. */
		error(ct, "%s: cannot write as %s: %s", name, ct->fmt->name,
		      errstr(ct->out));
	} else if (r != ARCHIVE_OK) {
		die("%s: %s (writing %s)", ct->out_name, werrstr(ct->out), name);
	}
	if (!ct->out_dead)
		cut_entry(true);
	if (has_data) {
		if (ct->out_dead)
			skip_data(ct, name);
		else
			copy_data(ct, e, name);
	}
	/* Its padding now, not with the next header: the end of an entry is where
	 * a cut output needs a header that is not one (cut.c). */
	if (!ct->out_dead) {
		if (archive_write_finish_entry(ct->out) != ARCHIVE_OK)
			die("%s: %s (writing %s)", ct->out_name, werrstr(ct->out), name);
		cut_entry(false);
	}
	free(name);
}

/* --- hard links of newc input ---------------------------------------------
 * libarchive presents a newc link group as the archive holds it: every name
 * but the last has size 0, the last carries the data.  Written as newc that
 * passes through unchanged; written as tar the names without data wait
 * (headers only) until the one with the data has been written first. */

static struct linkgroup *group_get(struct ct *ct, struct archive_entry *e)
{
	struct linkgroup *g, key;

	memset(&key, 0, sizeof key);
	key.key.dev = (int64_t)archive_entry_dev(e);
	key.key.ino = archive_entry_ino64(e);
	HASH_FIND(hh, ct->groups, &key.key, sizeof key.key, g);
	if (g)
		return g;
	g = calloc(1, sizeof *g);
	if (!g)
		die("out of memory");
	g->key = key.key;
	g->nlink = archive_entry_nlink(e);
	HASH_ADD(hh, ct->groups, key, sizeof g->key, g);
	return g;
}

static void group_free(struct ct *ct, struct linkgroup *g)
{
	HASH_DEL(ct->groups, g);
	for (size_t i = 0; i < g->nheld; i++)
		archive_entry_free(g->held[i]);
	free(g->held);
	free(g->dataname);
	free(g);
}

/* Write the names still waiting, as links to the one written with data
 * (or, when no name had data, the first of them as an empty file). */
static void group_flush(struct ct *ct, struct linkgroup *g)
{
	for (size_t i = 0; i < g->nheld; i++) {
		struct archive_entry *h = g->held[i];
		if (!g->dataname) {
			g->dataname = strdup(archive_entry_pathname(h));
			if (!g->dataname)
				die("out of memory");
			archive_entry_set_hardlink(h, NULL);
		} else {
			archive_entry_set_hardlink(h, g->dataname);
			archive_entry_set_size(h, 0);
		}
		write_entry(ct, h, false);
		archive_entry_free(h);
	}
	g->nheld = 0;
}

static void hold(struct linkgroup *g, struct archive_entry *e)
{
	struct archive_entry **n = realloc(g->held, (g->nheld + 1) * sizeof *n);

	if (!n || !(n[g->nheld] = archive_entry_clone(e)))
		die("out of memory");
	g->held = n;
	g->nheld++;
}

/* An entry of a newc link group (regular file, nlink > 1). */
static void write_newc_link(struct ct *ct, struct archive_entry *e, const char *name,
			    bool drop)
{
	struct linkgroup *g;
	bool data;

	/* newc to newc keeps the layout as it is: nothing to remember. */
	if (ct->fmt->links == LINK_LAST && !ct->drop_unlisted) {
		write_entry(ct, e, true);
		return;
	}
	g = group_get(ct, e);
	data = archive_entry_size(e) > 0 || g->seen + 1 >= g->nlink;

	g->seen++;
	if (drop && data && g->kept) {
		warnx("%s: kept although not in manifest: it carries the data of hard links in the output",
		      name);
		drop = false;
		ct->dropped--;
	}
	if (drop) {
		skip_data(ct, name);
	} else if (ct->fmt->links == LINK_LAST) {
		g->kept = true;
		write_entry(ct, e, true);
	} else if (ct->fmt->links == LINK_FIRST) {
		g->kept = true;
		if (g->dataname) {
			archive_entry_set_hardlink(e, g->dataname);
			archive_entry_set_size(e, 0);
			write_entry(ct, e, false);
			skip_data(ct, name);
		} else if (!data) {
			hold(g, e);
			skip_data(ct, name);
		} else {
			archive_entry_set_hardlink(e, NULL);
			g->dataname = strdup(name);
			if (!g->dataname)
				die("out of memory");
			write_entry(ct, e, true);
			group_flush(ct, g);
		}
	} else {
		error(ct, "%s: hard link: newc stores the data with the last name only, %s needs it with every name; "
		      "keep the input format (--format newc)", name, ct->fmt->name);
		skip_data(ct, name);
	}
	if (g->seen >= g->nlink) {
		group_flush(ct, g);
		group_free(ct, g);
	}
}

/* A type a session makes as an empty regular file on disk (mknod). */
/* "FILE:LINE" of a manifest entry, or FILE alone: mtree has no line numbers. */
static const char *where(const struct fb_mentry *me)
{
	static char buf[PATH_MAX + 16];

	if (me->line)
		snprintf(buf, sizeof buf, "%s:%u", me->file, me->line);
	else
		snprintf(buf, sizeof buf, "%s", me->file);
	return buf;
}

static bool placeholder_type(enum fb_mtype t)
{
	return t == FB_M_CHAR || t == FB_M_BLOCK || t == FB_M_FIFO;
}

/* "char 1,3", "fifo": what a placeholder stands for. */
static const char *node_name(const struct fb_mentry *me, char *buf, size_t len)
{
	if (me->type == FB_M_CHAR || me->type == FB_M_BLOCK) {
		if (me->have & FB_MH_RDEV)
			snprintf(buf, len, "%s %u,%u", fb_mtype_name(me->type), me->dev_major,
				 me->dev_minor);
		else
			snprintf(buf, len, "%s (no device numbers)", fb_mtype_name(me->type));
		return buf;
	}
	return fb_mtype_name(me->type);
}

/*
 * The archive's type of NAME differs from the source's.  A device or fifo
 * made in a session is an empty regular file on disk, so an archive made
 * outside the session holds one where the source says char, block or
 * fifo: that placeholder becomes the node (returns true).  Any other type
 * change is refused, and so is a placeholder whose device numbers are
 * unknown.  A tar hard link to a placeholder stays a link to it.
 *
 * With a manifest, "empty" is the archive's word: size 0, and not a name
 * of a newc link group, whose names but the last have size 0 whatever
 * the data.  With --db the record says it: the file on disk is regular
 * and the session shows a node, so the archive gets the node, as the
 * session's own tar would write it, and any data is left out.
 */
static bool resolve_type(struct ct *ct, struct archive_entry *e, const char *name,
			 const struct fb_mentry *me)
{
	mode_t ft = archive_entry_filetype(e);
	char what[64];

	if (ft == AE_IFREG && placeholder_type(me->type) && archive_entry_hardlink(e))
		return false;
	if (ft == AE_IFREG && placeholder_type(me->type) &&
	    (ct->db || (archive_entry_size(e) == 0 &&
			!(ct->in_links == LINK_LAST && archive_entry_nlink(e) > 1)))) {
		node_name(me, what, sizeof what);
		if (ct->check) {
			diff(ct, "%s: placeholder: empty file in archive, %s in %s", name, what,
			     ct->db ? "the database" : "manifest");
			return false;
		}
		if (me->type != FB_M_FIFO && !(me->have & FB_MH_RDEV)) {
			error(ct, "%s: placeholder for a %s: the manifest gives no device numbers (%s)",
			      name, fb_mtype_name(me->type), where(me));
			return false;
		}
		archive_entry_set_filetype(e, fb_mtype_to_ifmt(me->type));
		archive_entry_set_size(e, 0);
		if (me->type != FB_M_FIFO) {
			archive_entry_set_rdevmajor(e, me->dev_major);
			archive_entry_set_rdevminor(e, me->dev_minor);
		}
		return true;
	}
	if (ct->db) {
		error(ct, "%s: type: %s in archive, %s in %s (does the archive match the tree?)",
		      name, ae_type_name(ft), fb_mtype_name(me->type), db_root(ct));
		return false;
	}
	if (ct->check)
		diff(ct, "%s: type: %s in archive, %s in manifest", name,
		     ae_type_name(ft), fb_mtype_name(me->type));
	else
		error(ct, "%s: type: %s in archive, %s in manifest (the type is never changed)",
		      name, ae_type_name(ft), fb_mtype_name(me->type));
	return false;
}

/* The manifest's entry for NAME (KEY normalized), and in *ATTR the one whose attributes apply. */
static const struct fb_mentry *manifest_lookup(struct ct *ct, const char *name, const char *key,
					       const char *hl, mode_t ft,
					       const struct fb_mentry **attr)
{
	const struct fb_mentry *me = key ? fb_manifest_find(ct->m, key) : NULL;

	/* All names of one inode get the attributes of the name it links to. */
	*attr = me;
	if (hl && ft != AE_IFDIR) {
		const struct fb_mentry *tm = fb_manifest_find(ct->m, hl);
		if (tm && tm != me) {
			if (me && !same_attrs(me, tm))
				warnx("%s: hard link to %s: the manifest gives them different owners or modes; using %s's",
				      name, hl, hl);
			*attr = tm;
		} else if (!tm && me && !ct->drop_unlisted) {
			/* (With --drop-unlisted the name linked to is gone
			 * and this one stands alone: its own entry applies.) */
			warnx("%s: hard link to %s, which is not in the manifest: owner and mode left as they are",
			      name, hl);
			*attr = NULL;
		}
	}
	return me;
}

void translate_entry(struct ct *ct, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	const char *hl = archive_entry_hardlink(e);
	mode_t ft = archive_entry_filetype(e);
	const struct fb_mentry *me = NULL, *attr;
	char key[PATH_MAX];
	bool drop = false, normal;

	ct->entries++;
	if (!name)
		die("entry %lu after %s: no path name", ct->entries, ct->prev ? ct->prev : "the start");
	if ((uint64_t)archive_entry_ino64(e) > ct->max_ino)
		ct->max_ino = (uint64_t)archive_entry_ino64(e);
	/* How added entries are named: like the input's (GNU cpio drops the
	 * "./" that find printed, tar keeps it).  "." itself says nothing. */
	if (!ct->prefix && strcmp(name, ".") != 0 && strcmp(name, "./") != 0)
		ct->prefix = strncmp(name, "./", 2) == 0 ? "./" : name[0] == '/' ? "/" : "";
	normal = fb_path_normalize(name, key, sizeof key) == 0;
	if (!normal)
		snprintf(key, sizeof key, "%s", name);

	/* --db: every name of an inode is that inode, so no hard link logic. */
	if (ct->db)
		attr = me = normal ? db_lookup(ct, name, key) : NULL;
	else
		me = manifest_lookup(ct, name, normal ? key : NULL, hl, ft, &attr);
	/* The archive's root ("." of find . | cpio), which gen_init_cpio
	 * lists and IPS manifests never name: root's, its mode as it is. */
	if (!me && !ct->db && normal && ft == AE_IFDIR && strcmp(key, ".") == 0)
		attr = me = &implicit_root;

	if (me) {
		if (!ct->db)
			mark_seen(ct, me);
	} else {
		const char *where = ct->db ? "not in the tree" : "not in manifest";
		ct->unlisted++;
		if (is_exception(ct, key))
			ct->expected++;
		else if (ct->check)
			diff(ct, "%s: %s", name, where);
		else if (ct->strict)
			error(ct, "%s: %s", name, where);
		else
			warnx("%s: %s", name, where);
		drop = ct->drop_unlisted;
	}

	bool converted = false;
	if (me && ft && ft != fb_mtype_to_ifmt(me->type)) {
		converted = resolve_type(ct, e, name, me);
		ft = archive_entry_filetype(e);
	}

	if (ct->check) {
		if (attr)
			compare(ct, e, name, attr);
		if (attr && ct->db)
			db_compare_xattrs(ct, e, name);
		skip_data(ct, name);
		return;
	}
	if (attr && (apply(e, attr) | converted))
		ct->changed++;
	if (attr && ct->db)
		db_xattrs(ct, e);
	if (drop)
		ct->dropped++;

	if (converted) {
		/* A node has no data: whatever the placeholder held stays out. */
		if (!drop)
			write_entry(ct, e, false);
		skip_data(ct, name);
		return;
	}
	if (ct->in_links == LINK_LAST && ft == AE_IFREG && archive_entry_nlink(e) > 1) {
		write_newc_link(ct, e, name, drop);
		return;
	}
	if (hl && ct->drop_unlisted && !drop && ct->in_links == LINK_FIRST && !ct->db &&
	    !fb_manifest_find(ct->m, hl)) {
		error(ct, "%s: hard link to %s, which --drop-unlisted removed", name, hl);
	}
	if (drop) {
		skip_data(ct, name);
		return;
	}
	if (hl && ct->in_links == LINK_FIRST && ct->fmt->links != LINK_FIRST) {
		error(ct, "%s: hard link to %s: tar stores it without data, %s cannot; "
		      "keep a tar format", name, hl, ct->fmt->name);
		skip_data(ct, name);
		return;
	}
	write_entry(ct, e, true);
}

/* --- the end of the input: open link groups, manifest entries not seen --- */

static bool addable(enum fb_mtype t)
{
	return t == FB_M_DIR || t == FB_M_SYMLINK || t == FB_M_CHAR ||
	       t == FB_M_BLOCK || t == FB_M_FIFO;
}

static void add_entry(struct ct *ct, const struct fb_mentry *me, const char *name)
{
	struct archive_entry *e = archive_entry_new();
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	mode_t perm;

	if (!e)
		die("out of memory");
	if (me->type == FB_M_SYMLINK && !(me->have & FB_MH_TARGET)) {
		error(ct, "%s: cannot add: the manifest gives no symlink target (%s)",
		      name, where(me));
		archive_entry_free(e);
		return;
	}
	if ((me->type == FB_M_CHAR || me->type == FB_M_BLOCK) && !(me->have & FB_MH_RDEV)) {
		error(ct, "%s: cannot add: the manifest gives no device numbers (%s)",
		      name, where(me));
		archive_entry_free(e);
		return;
	}
	perm = me->type == FB_M_DIR ? 0755 : me->type == FB_M_SYMLINK ? 0777 : 0644;
	archive_entry_copy_pathname(e, name);
	archive_entry_set_filetype(e, fb_mtype_to_ifmt(me->type));
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_nlink(e, me->type == FB_M_DIR ? 2 : 1);
	/* An inode number of its own: cpio readers take names that share
	 * one (0, unset) for hard links of each other. */
	archive_entry_set_ino64(e, (la_int64_t)++ct->max_ino);
	archive_entry_set_mtime(e, sde ? (time_t)strtoll(sde, NULL, 10) : 0, 0);
	archive_entry_set_size(e, 0);
	if (me->type == FB_M_SYMLINK)
		archive_entry_copy_symlink(e, me->target);
	if (me->have & FB_MH_RDEV) {
		archive_entry_set_rdevmajor(e, me->dev_major);
		archive_entry_set_rdevminor(e, me->dev_minor);
	}
	apply(e, me);
	write_entry(ct, e, false);
	archive_entry_free(e);
	ct->added++;
}

void translate_finish(struct ct *ct)
{
	struct linkgroup *g, *gt;
	const struct fb_mentry *const *all;
	size_t n, missing = 0;
	char name[PATH_MAX + 2];

	HASH_ITER(hh, ct->groups, g, gt) {
		if (!ct->check)
			group_flush(ct, g);
		group_free(ct, g);
	}
	if (!ct->prefix)
		ct->prefix = "./";
	if (ct->db) {
		if (ct->verbose)
			warnx("%lu entries: %lu changed, %lu not in the tree (%lu expected), %lu dropped",
			      ct->entries, ct->changed, ct->unlisted, ct->expected, ct->dropped);
		return;
	}
	all = fb_manifest_sorted(ct->m, &n);
	for (size_t i = 0; i < n; i++) {
		const struct fb_mentry *me = all[i];
		struct seen *s;

		HASH_FIND_PTR(ct->seen, &me, s);
		if (s)
			continue;
		missing++;
		if (strcmp(me->path, ".") == 0) {
			if (*ct->prefix != '.' && !ct->check)
				continue;	/* no name for the root in this archive */
			snprintf(name, sizeof name, ".");
		} else {
			snprintf(name, sizeof name, "%s%s", ct->prefix, me->path);
		}
		if (ct->check) {
			diff(ct, "%s: not in archive (%s in manifest)", name, fb_mtype_name(me->type));
		} else if (ct->add_missing && addable(me->type)) {
			add_entry(ct, me, name);
		} else {
			if (ct->verbose)
				warnx("%s: not in archive (%s in manifest)%s", name,
				      fb_mtype_name(me->type),
				      ct->add_missing ? ": cannot add this type" : "");
		}
	}
	if (ct->verbose)
		warnx("%lu entries: %lu changed, %lu not in manifest (%lu expected), %lu dropped; "
		      "%zu manifest entries not in archive, %lu added",
		      ct->entries, ct->changed, ct->unlisted, ct->expected, ct->dropped,
		      missing, ct->added);
}
