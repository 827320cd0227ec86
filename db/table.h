/*
 * table.h - the live fake-ownership table: an open-addressed hash table in
 * a file mapped MAP_SHARED by every process of a session.
 *
 * Included by preload/ (lookups on every stat, updates on chown/chmod/...),
 * db/store.c and db/session.c (load from and save to gdbm), tools/fakebuild
 * (--export, --check) and tools/protofix (--db).  libc only: this code is
 * linked into the preload library.  Never prints; returns 0 or -errno.
 *
 * Readers take no lock: every record is published once and never modified
 * in place (an update writes a new record and swaps the index slot), and a
 * per-record sequence number detects reuse of a freed record under a
 * reader's feet.  Writers serialise on a futex word in the file that
 * 32-bit and 64-bit processes share, and that a killed holder cannot
 * wedge (db/wlock.c).
 */
#ifndef FB_TABLE_H
#define FB_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct fb_table;

/* The fake attributes of an inode. */
struct fb_attr {
	uint32_t uid, gid;
	uint32_t mode;		/* st_mode as faked: file type | 07777 */
	uint64_t rdev;		/* faked device number (makedev form) */
};

/* Identity of a real inode, from statx. */
struct fb_ident {
	uint64_t dev, ino;
	int64_t btime_sec;	/* 0/0: the filesystem reports no birth time */
	uint32_t btime_nsec;
	uint32_t real_mode;	/* real st_mode: its type detects inode reuse */
	uint32_t nlink;
	/* real_mode's permission bits are not known to be the disk's now (a
	 * directory entry's d_type, a stat remembered from earlier): none to
	 * compare with a record's; an update keeps those the record has. */
	uint32_t type_only;
};

/*
 * A record's real_type: the S_IFMT type of the real inode, and, with
 * FB_RT_PERM, the permission bits (0777) it had on disk when recorded.
 * A file whose bits on disk are no longer those was changed by something
 * the library did not see (an editor, git, a chmod outside any session):
 * its faked mode then takes the disk's permission bits and keeps its own
 * type and set-id and sticky bits (fb_rec_mode).  Records of older
 * versions have no FB_RT_PERM and keep their mode whatever the disk says.
 */
#define FB_RT_PERM 0x10000u

static inline uint32_t fb_rt_type(uint32_t real_type)
{
	return real_type & S_IFMT;
}

/* The mode a record of mode MODE and real_type RT shows for ID's file. */
static inline uint32_t fb_rec_mode(uint32_t mode, uint32_t rt, const struct fb_ident *id)
{
	if (!(rt & FB_RT_PERM) || id->type_only || !((rt ^ id->real_mode) & 0777))
		return mode;
	return (mode & ~0777u) | (id->real_mode & 0777);
}

/* Default capacity (records) of a new table; the file is sparse. */
#define FB_TABLE_DEFAULT_CAPACITY (4u << 20)
#define FB_TABLE_MIN_CAPACITY 64u
#define FB_TABLE_MAX_CAPACITY 0xfffffff0u
#define FB_TABLE_CAPACITY_RULE "a number of records from 64 to 4294967280"
/* The largest table a 32-bit process can be counted on to map: 2 GiB of
 * its 4 GiB address space (about ten million records). */
#define FB_TABLE_MAX_32BIT ((uint64_t)2 << 30)

/* FAKEBUILD_CAPACITY's value V (NULL or empty: the default) into *CAP;
 * -EINVAL if it is not FB_TABLE_CAPACITY_RULE. */
int fb_table_capacity(const char *v, uint64_t *cap);

/* The size of a new table's file (sparse), which every process of its
 * session maps whole: it counts against ulimit -f and ulimit -v. */
uint64_t fb_table_file_bytes(uint64_t capacity);
/* The capacity of a table with room for RECS records whose path hints and
 * xattr blobs take BYTES (each one's length, its hint's NUL included, plus
 * 8 for alignment): the arena grows with the capacity only. */
uint64_t fb_table_capacity_for(uint64_t recs, uint64_t bytes);
int fb_table_create(const char *path, uint64_t capacity, struct fb_table **out);
/* Map an existing table file; -EPROTO bad magic, -EPROTONOSUPPORT another layout version, -EBADMSG damaged header. */
int fb_table_attach(const char *path, struct fb_table **out);
/* The same on an open descriptor; DEV/INO (when not 0) must be its file, else -ESTALE. */
int fb_table_attach_fd(int fd, uint64_t dev, uint64_t ino, struct fb_table **out);
void fb_table_detach(struct fb_table *t);

/* 1 and *out filled when a valid record exists; 0 when none (or stale). */
int fb_table_get(struct fb_table *t, const struct fb_ident *id, struct fb_attr *out);
/* Insert or replace; -ENOSPC when the table is full. */
int fb_table_put(struct fb_table *t, const struct fb_ident *id, const struct fb_attr *a,
		 const char *path_hint);
/*
 * The faked extended attributes (see xblob.h) of ID's record: copies the
 * blob into BUF when it fits in LEN; returns its length (0: none).  *FOUND
 * says whether a record exists, and *A gets its attributes then.
 */
long fb_table_get_xattrs(struct fb_table *t, const struct fb_ident *id, struct fb_attr *a,
			 int *found, void *buf, size_t len);
/*
 * fb_table_put, only if ID's record still shows what a change was made
 * from: BEFORE, as fb_table_get gave it (NULL: no record).  Else -EAGAIN
 * and nothing written: another process changed the record in between,
 * and the change is made again from what it did (a chown and a chmod of
 * one file at once both land, as for real root).
 */
int fb_table_put_if(struct fb_table *t, const struct fb_ident *id, const struct fb_attr *before,
		    const struct fb_attr *a, const char *path_hint);
/* Insert or replace ID's record with attributes A and xattr blob BLOB. */
int fb_table_put_xattrs(struct fb_table *t, const struct fb_ident *id, const struct fb_attr *a,
			const void *blob, size_t len, const char *path_hint);

/* Has any record ever carried an xattr blob?  If not, none has one now. */
int fb_table_has_xattrs(struct fb_table *t);
/* Has any record ever carried a default ACL?  If not, none has one now. */
int fb_table_has_default_acls(struct fb_table *t);
/* Has any record ever been a directory with the setgid bit?  If not, no
 * directory's new files take its group. */
int fb_table_has_setgid_dirs(struct fb_table *t);
/* Has any record ever faked a file type its inode does not have (a device,
 * FIFO or socket that is a regular file on disk)?  If not, none does now. */
int fb_table_has_faked_types(struct fb_table *t);
/* Has any record ever been a regular file with the set-user-ID or
 * set-group-ID bit?  If not, no program a session runs is one. */
int fb_table_has_setid(struct fb_table *t);
/* Has a process of the session bound a device node over its placeholder
 * (preload/dev.c)?  If not, no name of the session leads to one.  Noted
 * by the binder; not kept in the database (binds end with the root). */
int fb_table_has_bound_devices(struct fb_table *t);
void fb_table_note_bound_device(struct fb_table *t);
/* Whether the file system refused this process's mapping a new block of T (ENOSPC). */
int fb_table_out_of_space(const struct fb_table *t);
/* 1 for the first caller in the table's life (of any process): who warns that it is full. */
int fb_table_first_full(struct fb_table *t);
/* A new session on a kept table: its first full-table failure warns again. */
void fb_table_unwarn_full(struct fb_table *t);

/*
 * The writer lock's registration (db/wlock.c): before its first write a
 * process opens the table file again by PATH (fb_table_attach and
 * fb_table_create set it; after fb_table_attach_fd or a rename, the caller
 * does) and keeps that descriptor, close-on-exec, for as long as it lives:
 * its lock tells other writers this process is alive.  0 or -ENOMEM.
 */
int fb_table_set_path(struct fb_table *t, const char *path);
/* That descriptor (-1: none yet).  Code closing descriptors on a program's
 * behalf leaves it open (the preload library's close family). */
int fb_table_lock_fd(struct fb_table *t);
/* Move it to another number (a dup2 or dup3 onto it is coming); 0 or -errno. */
int fb_table_move_lock_fd(struct fb_table *t);

/* Drop the record of ID, if any. */
int fb_table_del(struct fb_table *t, const struct fb_ident *id);

/* Set the path hint of ID's record (rename).  0 or -errno; no record is fine. */
int fb_table_set_hint(struct fb_table *t, const struct fb_ident *id, const char *hint);
/*
 * ID's record's path hint is HINT, a name just removed while the file
 * keeps others: the record keeps no hint (--gc keeps it) rather than one
 * that leads nowhere.  0 or -errno; another hint, or no record, is fine.
 */
int fb_table_drop_hint(struct fb_table *t, const struct fb_ident *id, const char *hint);
/* Rewrite every hint under directory FROM to lie under TO (a directory was
 * renamed); TO NULL (its new path is unknown): those hints are dropped. */
int fb_table_move_hints(struct fb_table *t, const char *from, const char *to);
/* Drop the record of (dev, ino) whatever its state: 1 dropped, 0 none, -errno. */
int fb_table_drop_key(struct fb_table *t, uint64_t dev, uint64_t ino);

/* Number of live records, and a counter bumped by every change. */
/* Whether TYPE (an S_IFMT value) is a type a file can have. */
static inline int fb_file_type_ok(uint32_t type)
{
	switch (type) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return 1;
	}
	return 0;
}

/*
 * Check T's index and records (ranges, types, places in the index); 0, or
 * -1 with the first fault in WHY.  LOCKED: under the writer lock, which
 * first repairs a write a killed process left half done (a table nobody
 * uses); else without it, skipping records being written (--check).
 */
int fb_table_verify(struct fb_table *t, int locked, char *why, size_t len);
/* Whether a process other than this one is registered as a writer of T
 * (wlock.c); 0 when it cannot tell. */
int fb_table_other_writers(struct fb_table *t);
uint64_t fb_table_count(struct fb_table *t);
uint64_t fb_table_changes(struct fb_table *t);
/* Changed since it was loaded from or saved to the database (by any session)? */
int fb_table_dirty(struct fb_table *t);
/* Record that the database now holds the table as of CHANGES. */
void fb_table_mark_saved(struct fb_table *t, uint64_t changes);

/* What fb_table_set_at changes. */
enum {
	FB_SET_UID = 1 << 0,
	FB_SET_GID = 1 << 1,
	FB_SET_PERM = 1 << 2,	/* the 07777 bits */
	FB_SET_TYPE = 1 << 3,	/* the file type and rdev (a faked device node) */
};

/*
 * Read-modify-write the record of the file DIRFD/NAME (statx with ATFLAGS,
 * e.g. AT_SYMLINK_NOFOLLOW or AT_EMPTY_PATH): the fields named by WHAT come
 * from A, the others from the current fake view.  PATH_HINT is the absolute
 * path, kept to re-find the inode after a remount (may be NULL).
 */
int fb_table_set_at(struct fb_table *t, int dirfd, const char *name, int atflags,
		    unsigned what, const struct fb_attr *a, const char *path_hint);

/*
 * Copy into DST every record of SRC whose path hint lies in one of the N
 * directories DIRS (absolute, without a trailing slash; "/" is every
 * path): the private table of a build root is seeded with the records of
 * the trees it shows, and nothing of the user's other trees, not even
 * their names (tools/fakebuild/root.c).  Records without a hint are not
 * copied.  Returns the number copied or -errno.  Tools only.
 */
long fb_table_copy_under(struct fb_table *dst, struct fb_table *src, const char *const *dirs,
			 size_t n);

/*
 * Call FN for each record of a faked device node whose inode on disk is
 * a placeholder (a regular file) and which has a path hint, with its
 * attributes and faked xattr blob (XLEN bytes, or NULL).  A root-run tool
 * that made the real node in a placeholder's place (protofix --fix) finds
 * by it what that node, a new inode with no record, stands for.  FN
 * returns 0 to go on.  Returns FN's first other value, 0, or -errno.
 * Tools only.
 */
typedef int (*fb_table_placeholder_fn)(const char *hint, const struct fb_attr *a,
				       const void *xattrs, size_t xlen, void *arg);
int fb_table_foreach_placeholder(struct fb_table *t, fb_table_placeholder_fn fn, void *arg);

/*
 * Call FN for each record of a directory (a directory on disk too), with
 * its key and attributes: a build root's --changes keeps those from
 * before the build, to tell which directories the build changed (on disk
 * their owner and set-id bits never change).  FN returns 0 to go on.
 * Returns FN's first other value, 0, or -errno.  Tools only.
 */
typedef int (*fb_table_dir_fn)(uint64_t dev, uint64_t ino, const struct fb_attr *a, void *arg);
int fb_table_foreach_dir(struct fb_table *t, fb_table_dir_fn fn, void *arg);

/*
 * Call FN with each path hint that lies beneath directory DIR (DIR/...):
 * a build root's merge finds so the files of a directory it may search but
 * not list (another user's, mode 0711).  FN returns 0 to go on; it may
 * not use T.  Returns FN's first other value, 0, or -errno.  Tools only.
 */
typedef int (*fb_table_hint_fn)(const char *hint, void *arg);
int fb_table_foreach_hint_under(struct fb_table *t, const char *dir, fb_table_hint_fn fn, void *arg);

/*
 * Drop the records whose path hint no longer leads to their inode (the
 * file is gone).  Records without a hint are kept and counted in
 * *unknown.  Returns the number dropped or -errno.  Tools only.
 */
long fb_table_gc(struct fb_table *t, long *kept, long *unknown);

#endif
