/*
 * store.c - the gdbm-backed durable store (see store.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <gdbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "store.h"
#include "table_impl.h"
#include "util.h"

/* The value of a record, as stored (host byte order is checked by the meta record). */
struct fb_disk_rec {
	uint8_t version;
	/* The permission bits the file had on disk when recorded (FB_RT_PERM
	 * in table.h): perm[0] 1, then the bits, low byte first.  All zero
	 * in a record of an older fakebuild, which reads them as padding. */
	uint8_t perm[3];
	uint32_t btime_nsec;
	int64_t btime_sec;
	uint32_t real_type, uid, gid, mode;
	uint64_t rdev;
	uint32_t hint_len, xattr_len;
};

struct fb_disk_key {
	uint64_t dev, ino;
};

static const char meta_prefix[] = "fakebuild-db ";

/* gdbm's reason, and the system's where gdbm's is a failed call ("File
 * write error: No space left on device").  The tools are single-threaded. */
static const char *gdbm_why(void)
{
	static char buf[256];
	int e = errno;
	if (gdbm_check_syserr(gdbm_errno) && e) {
		snprintf(buf, sizeof buf, "%s: %s", gdbm_strerror(gdbm_errno), strerror(e));
		return buf;
	}
	return gdbm_strerror(gdbm_errno);
}

/* Does DB start with one of gdbm's magic numbers (0x13579aXX, either byte order)? */
int fb_store_gdbm_magic(const char *db)
{
	unsigned char m[4];
	FILE *f = fopen(db, "rbe");
	if (!f)
		return 1;	/* let gdbm_open say why */
	size_t n = fread(m, 1, 4, f);
	fclose(f);
	if (n != 4)
		return 0;
	return (m[0] == 0x13 && m[1] == 0x57 && m[2] == 0x9a) ||
	       (m[3] == 0x13 && m[2] == 0x57 && m[1] == 0x9a);
}

/*
 * Open DB for reading.  *out is NULL and 0 returned when DB does not
 * exist.  Checks that it is a gdbm file, ours, of a version we know, and
 * owned by us.
 */
static int open_read(const char *db, unsigned flags, GDBM_FILE *out, struct fb_err *err)
{
	*out = NULL;
	struct stat st;
	if (lstat(db, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return fb_err_set(err, "%s: %s", db, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return fb_err_set(err, "%s: not a regular file", db);
	if (st.st_uid != getuid() && !(flags & FB_STORE_ANY_OWNER))
		return fb_err_set(err, "%s: owned by uid %u, not by you (uid %u): refusing to use it",
				  db, (unsigned)st.st_uid, (unsigned)getuid());
	if (st.st_size == 0)
		return fb_err_set(err, "%s: empty file: not a fakebuild database", db);
	if (!fb_store_gdbm_magic(db))
		return fb_err_set(err, "%s: not a gdbm database (so not a fakebuild database)", db);
	/*
	 * Another user's file may be cut short under us while we read it:
	 * without gdbm's mmap that is a read error, not a SIGBUS.
	 */
	int mmap_flag = st.st_uid != getuid() ? GDBM_NOMMAP : 0;
	GDBM_FILE f = gdbm_open(db, 0, GDBM_READER | GDBM_NOLOCK | GDBM_CLOEXEC | mmap_flag, 0, NULL);
	if (!f) {
		if (gdbm_errno == GDBM_BAD_MAGIC_NUMBER || gdbm_errno == GDBM_EMPTY_DATABASE)
			return fb_err_set(err, "%s: not a gdbm database (so not a fakebuild database)", db);
		if (gdbm_errno == GDBM_FILE_OPEN_ERROR)	/* unreadable, not damaged */
			return fb_err_set(err, "%s: cannot open it: %s", db, strerror(errno));
		return fb_err_set(err, "%s: corrupt or truncated database: %s", db, gdbm_why());
	}
	datum k = { .dptr = (char *)FB_STORE_META, .dsize = FB_STORE_META_LEN };
	if (!gdbm_exists(f, k)) {
		gdbm_close(f);
		return fb_err_set(err, "%s: a gdbm file but not a fakebuild database, or a damaged one "
				  "(no header record)", db);
	}
	datum v = gdbm_fetch(f, k);
	if (!v.dptr) {
		gdbm_close(f);
		return fb_err_set(err, "%s: corrupt database: %s", db, gdbm_why());
	}
	int ok = (size_t)v.dsize > strlen(meta_prefix) && (size_t)v.dsize < 32 &&
		 memcmp(v.dptr, meta_prefix, strlen(meta_prefix)) == 0;
	int version = 0;
	if (ok) {
		char buf[32];
		memcpy(buf, v.dptr, (size_t)v.dsize);
		buf[v.dsize] = 0;
		version = atoi(buf + strlen(meta_prefix));
	}
	free(v.dptr);
	if (!ok || version < 1) {
		gdbm_close(f);
		return fb_err_set(err, "%s: not a fakebuild database (bad header record)", db);
	}
	if (version > FB_STORE_VERSION) {
		gdbm_close(f);
		return fb_err_set(err, "%s: database format version %d is newer than this fakebuild (%d): upgrade fakebuild",
				  db, version, FB_STORE_VERSION);
	}
	*out = f;
	return 0;
}

struct fb_chunk_key {
	char tag[4];		/* "FBc" */
	uint32_t n;
};

/* Decode one record at *p (END bounds it) into R; advances *p.  0 or -1. */
static int decode_rec(const char *db, const char **p, const char *end, struct fb_store_rec *r,
		      struct fb_err *err)
{
	struct fb_disk_key dk;
	struct fb_disk_rec d;
	if ((size_t)(end - *p) < sizeof dk + sizeof d)
		return fb_err_set(err, "%s: corrupt database: chunk cut short", db);
	memcpy(&dk, *p, sizeof dk);
	memcpy(&d, *p + sizeof dk, sizeof d);
	const char *data = *p + sizeof dk + sizeof d;
	if (d.version != 1)
		return fb_err_set(err, "%s: corrupt database: record version %u", db, d.version);
	if ((uint64_t)d.hint_len + d.xattr_len > (uint64_t)(end - data) ||
	    (d.hint_len && data[d.hint_len - 1] != 0))
		return fb_err_set(err, "%s: corrupt database: bad record lengths", db);
	/* A file type no file has: a session would take the record for a
	 * stale one, drop it and save the database without it. */
	if (!fb_file_type_ok(d.real_type & S_IFMT) || !fb_file_type_ok(d.mode & S_IFMT))
		return fb_err_set(err, "%s: corrupt database: the record of inode %llu has an "
				  "impossible file type", db, (unsigned long long)dk.ino);
	r->dev = dk.dev;
	r->ino = dk.ino;
	r->btime_sec = d.btime_sec;
	r->btime_nsec = d.btime_nsec;
	r->real_type = d.real_type & S_IFMT;
	if (d.perm[0] == 1)
		r->real_type |= FB_RT_PERM | ((d.perm[1] | (uint32_t)d.perm[2] << 8) & 0777);
	r->uid = d.uid;
	r->gid = d.gid;
	r->mode = d.mode;
	r->rdev = d.rdev;
	r->hint = d.hint_len ? data : NULL;
	r->xattrs = d.xattr_len ? data + d.hint_len : NULL;
	r->xattr_len = d.xattr_len;
	*p = data + d.hint_len + d.xattr_len;
	return 0;
}

/* Visit the records of one chunk; 0, 1 (FN stopped) or -1. */
static int decode_chunk(const char *db, datum k, datum v, fb_store_visit_fn fn, void *arg,
			long *n, struct fb_err *err)
{
	struct fb_chunk_key ck;
	uint32_t count;
	if (k.dsize != sizeof ck || memcmp(k.dptr, "FBc", 4) != 0)
		return fb_err_set(err, "%s: corrupt database: unexpected key of %d bytes", db, k.dsize);
	if ((size_t)v.dsize < sizeof count)
		return fb_err_set(err, "%s: corrupt database: empty chunk", db);
	memcpy(&count, v.dptr, sizeof count);
	const char *p = v.dptr + sizeof count, *end = v.dptr + v.dsize;
	for (uint32_t i = 0; i < count; i++) {
		struct fb_store_rec r;
		if (decode_rec(db, &p, end, &r, err) < 0)
			return -1;
		++*n;
		if (fn(&r, arg))
			return 1;
	}
	if (p != end)
		return fb_err_set(err, "%s: corrupt database: %ld stray bytes in a chunk", db, (long)(end - p));
	return 0;
}

long fb_store_foreach_flags(const char *db, unsigned flags, fb_store_visit_fn fn, void *arg,
			    struct fb_err *err)
{
	GDBM_FILE f;
	if (open_read(db, flags, &f, err) < 0)
		return -1;
	if (!f)
		return 0;
	long n = 0;
	int rc = 0;
	datum k = gdbm_firstkey(f);
	while (k.dptr) {
		if (!(k.dsize == FB_STORE_META_LEN && memcmp(k.dptr, FB_STORE_META, FB_STORE_META_LEN) == 0)) {
			datum v = gdbm_fetch(f, k);
			if (!v.dptr)
				rc = fb_err_set(err, "%s: corrupt database: %s", db, gdbm_why());
			else
				rc = decode_chunk(db, k, v, fn, arg, &n, err);
			free(v.dptr);
		}
		datum next = rc ? (datum){ 0 } : gdbm_nextkey(f, k);
		free(k.dptr);
		k = next;
	}
	if (rc == 0 && gdbm_errno != GDBM_ITEM_NOT_FOUND && gdbm_errno != GDBM_NO_ERROR)
		rc = fb_err_set(err, "%s: corrupt or truncated database: %s", db, gdbm_why());
	gdbm_close(f);
	return rc < 0 ? -1 : n;
}

long fb_store_foreach(const char *db, fb_store_visit_fn fn, void *arg, struct fb_err *err)
{
	return fb_store_foreach_flags(db, 0, fn, arg, err);
}

/*
 * Device numbers change when the same tree is seen through another mount
 * or after a reboot.  Before loading, one pass finds every device of the
 * database and checks a few of its records through their path hints: a
 * hint that leads to the same inode (number, type, birth time) on another
 * device maps the old device to the new one for all its records.
 */
#define MAX_DEVS 256
#define SAMPLES_PER_DEV 8

struct devmap {
	uint64_t from, to;
	int tries, decided;
};

struct remap_ctx {
	struct devmap m[MAX_DEVS];
	int n;
};

static struct devmap *dev_slot(struct remap_ctx *c, uint64_t dev)
{
	for (int i = 0; i < c->n; i++)
		if (c->m[i].from == dev)
			return &c->m[i];
	if (c->n == MAX_DEVS)
		return NULL;
	c->m[c->n] = (struct devmap){ .from = dev, .to = dev };
	return &c->m[c->n++];
}

static int sample(const struct fb_store_rec *r, void *arg)
{
	struct devmap *d = dev_slot(arg, r->dev);
	if (!d || d->decided || d->tries >= SAMPLES_PER_DEV || !r->hint || r->hint[0] != '/')
		return 0;
	d->tries++;
	struct statx x;
	if (statx(AT_FDCWD, r->hint, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &x) < 0 ||
	    x.stx_ino != r->ino || (x.stx_mode & S_IFMT) != fb_rt_type(r->real_type))
		return 0;
	if ((x.stx_mask & STATX_BTIME) && (r->btime_sec || r->btime_nsec) &&
	    (x.stx_btime.tv_sec != r->btime_sec || x.stx_btime.tv_nsec != r->btime_nsec))
		return 0;
	d->to = makedev(x.stx_dev_major, x.stx_dev_minor);
	d->decided = 1;
	return 0;
}

static uint64_t mapped_dev(const struct remap_ctx *c, uint64_t dev)
{
	for (int i = 0; i < c->n; i++)
		if (c->m[i].from == dev)
			return c->m[i].to;
	return dev;
}

struct load_ctx {
	struct fb_table *t;
	const char *db;
	struct fb_err *err;
	int rc;
	struct remap_ctx remap;
};

/* Why a record could not go into T: a full table is not a full disk. */
static const char *load_why(const struct fb_table *t, int rc)
{
	static char buf[160];
	if (rc != -ENOSPC || fb_table_out_of_space(t))
		return strerror(-rc);
	snprintf(buf, sizeof buf, "the live table is full: it holds %llu records "
		 "(set FAKEBUILD_CAPACITY higher)", (unsigned long long)t->h->capacity);
	return buf;
}

static int load_one(const struct fb_store_rec *s, void *arg)
{
	struct load_ctx *c = arg;
	struct fb_trec r = {
		.dev = mapped_dev(&c->remap, s->dev), .ino = s->ino,
		.btime_sec = s->btime_sec, .btime_nsec = s->btime_nsec,
		.real_type = s->real_type,
		.uid = s->uid, .gid = s->gid, .mode = s->mode, .rdev = s->rdev,
	};
	int rc = fb_table_load_rec(c->t, &r, s->hint, s->xattrs, s->xattr_len);
	if (rc < 0) {
		c->rc = fb_err_set(c->err, "%s: cannot load into the live table: %s", c->db,
				   load_why(c->t, rc));
		return 1;
	}
	return 0;
}

long fb_store_load_flags(const char *db, struct fb_table *t, unsigned flags, struct fb_err *err)
{
	struct load_ctx c;
	memset(&c, 0, sizeof c);
	c.t = t;
	c.db = db;
	c.err = err;
	long expect = fb_store_foreach_flags(db, flags, sample, &c.remap, err);
	if (expect < 0)
		return -1;
	if (flags & FB_STORE_FRESH) {
		int rc = fb_table_fill_begin(t, (uint64_t)expect);
		if (rc < 0)
			return fb_err_set(err, "%s: cannot load into the live table: %s", db, load_why(t, rc));
	}
	long n = fb_store_foreach_flags(db, flags, load_one, &c, err);
	if (flags & FB_STORE_FRESH)
		fb_table_fill_end(t);
	return c.rc < 0 ? -1 : n;
}

long fb_store_load(const char *db, struct fb_table *t, struct fb_err *err)
{
	return fb_store_load_flags(db, t, 0, err);
}

struct save_ctx {
	GDBM_FILE f;
	char *buf;
	size_t used, cap;
	uint32_t count, chunk;
	int failed;
};

static int flush_chunk(struct save_ctx *c)
{
	if (!c->count)
		return 0;
	memcpy(c->buf, &c->count, sizeof c->count);
	struct fb_chunk_key ck = { "FBc", c->chunk++ };
	datum k = { .dptr = (char *)&ck, .dsize = sizeof ck };
	datum v = { .dptr = c->buf, .dsize = (int)c->used };
	if (gdbm_store(c->f, k, v, GDBM_REPLACE) != 0)
		return c->failed = EIO;
	c->used = sizeof c->count;
	c->count = 0;
	return 0;
}

static int save_one(const struct fb_trec *r, const char *hint, const void *xattrs, void *arg)
{
	struct save_ctx *c = arg;
	uint32_t hl = hint ? (uint32_t)strlen(hint) + 1 : 0;
	uint32_t xl = xattrs ? r->xattr_len : 0;
	size_t need = sizeof(struct fb_disk_key) + sizeof(struct fb_disk_rec) + hl + xl;
	if (c->count && c->used + need > FB_CHUNK_BYTES && flush_chunk(c))
		return 1;
	if (c->used + need > c->cap) {
		size_t cap = c->used + need > FB_CHUNK_BYTES ? c->used + need : FB_CHUNK_BYTES;
		char *nb = realloc(c->buf, cap);
		if (!nb)
			return c->failed = ENOMEM;
		c->buf = nb;
		c->cap = cap;
	}
	struct fb_disk_key dk = { r->dev, r->ino };
	struct fb_disk_rec d = {
		.version = 1, .btime_nsec = r->btime_nsec, .btime_sec = r->btime_sec,
		.real_type = fb_rt_type(r->real_type), .uid = r->uid, .gid = r->gid, .mode = r->mode,
		.rdev = r->rdev, .hint_len = hl, .xattr_len = xl,
	};
	if (r->real_type & FB_RT_PERM) {
		d.perm[0] = 1;
		d.perm[1] = (uint8_t)(r->real_type & 0xff);
		d.perm[2] = (uint8_t)(r->real_type >> 8 & 0x01);
	}
	char *p = c->buf + c->used;
	memcpy(p, &dk, sizeof dk);
	memcpy(p + sizeof dk, &d, sizeof d);
	if (hl)
		memcpy(p + sizeof dk + sizeof d, hint, hl);
	if (xl)
		memcpy(p + sizeof dk + sizeof d + hl, xattrs, xl);
	c->used += need;
	c->count++;
	return 0;
}

static int save(const char *db, struct fb_table *t, int own, struct fb_err *err);

int fb_store_save(const char *db, struct fb_table *t, struct fb_err *err)
{
	return save(db, t, 1, err);
}

int fb_store_save_copy(const char *file, struct fb_table *t, struct fb_err *err)
{
	return save(file, t, 0, err);
}

/* OWN: DB is T's own database, which now holds everything T does. */
static int save(const char *db, struct fb_table *t, int own, struct fb_err *err)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.new.%ld", db, (long)getpid()) >= sizeof tmp)
		return fb_err_set(err, "%s: path too long", db);
	unlink(tmp);
	GDBM_FILE f = gdbm_open(tmp, 0, GDBM_NEWDB | GDBM_NOLOCK | GDBM_NOMMAP | GDBM_CLOEXEC, 0600, NULL);
	if (!f) {
		const char *why = gdbm_why();
		unlink(tmp);	/* gdbm may have made it before it failed */
		return fb_err_set(err, "%s: cannot save the database: cannot create %s: %s", db, tmp, why);
	}
	char meta[32];
	int ml = snprintf(meta, sizeof meta, "%s%d", meta_prefix, FB_STORE_VERSION);
	datum mk = { .dptr = (char *)FB_STORE_META, .dsize = FB_STORE_META_LEN };
	datum mv = { .dptr = meta, .dsize = ml };
	struct save_ctx c = { .f = f, .used = sizeof(uint32_t) };
	/* Taken before the copy: changes made during it keep the table dirty. */
	uint64_t changes = fb_table_changes(t);
	int rc = gdbm_store(f, mk, mv, GDBM_REPLACE) == 0 ? 0 : -1;
	if (rc == 0 && !(c.buf = malloc(c.cap = FB_CHUNK_BYTES)))
		c.failed = ENOMEM;
	else if (rc == 0) {
		/* A chunk is filled once, front to back: map the part the
		 * records will use with one call, not a fault per page. */
		uint64_t need = fb_table_count(t) * (sizeof(struct fb_disk_key) + sizeof(struct fb_disk_rec)) +
				t->h->arena_next;
		fb_populate(c.buf, need < FB_CHUNK_BYTES ? (size_t)need : FB_CHUNK_BYTES);
	}
	if (rc == 0 && !c.failed) {
		rc = fb_table_foreach(t, save_one, &c);
		if (rc < 0 && !c.failed)
			c.failed = -rc;	/* the table's lock or memory, not gdbm */
	}
	if (rc == 0 && !c.failed)
		flush_chunk(&c);
	free(c.buf);
	if (c.failed)
		rc = -1;
	/* Synced before the rename: the old file is replaced only by a complete one. */
	if (rc == 0 && gdbm_sync(f) != 0)
		rc = -1;
	const char *why = rc ? (c.failed && c.failed != EIO ? strerror(c.failed) : gdbm_why()) : NULL;
	if (gdbm_close(f) != 0 && rc == 0) {
		rc = -1;
		why = gdbm_why();
	}
	if (rc == 0 && rename(tmp, db) < 0) {
		rc = -1;
		why = strerror(errno);
	}
	if (rc != 0) {
		unlink(tmp);
		return fb_err_set(err, "%s: cannot save the database: %s", db, why ? why : "error");
	}
	if (own)
		fb_table_mark_saved(t, changes);
	return 0;
}
