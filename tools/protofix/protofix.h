/*
 * protofix.h - internal interface of protofix, the proto-area checker and
 * fixer.  Included by the .c files of tools/protofix only.
 *
 * The program is a privileged tool that walks a tree an unprivileged build
 * wrote, so every file system access goes through a descriptor resolved
 * beneath the proto root without following symlinks (beneath.c); nothing
 * here ever hands a path string to chown(2) or chmod(2).
 */
#ifndef PROTOFIX_H
#define PROTOFIX_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "manifest.h"

struct fb_dbview;
struct fb_session;
struct fb_table;
struct pf_except;

struct pf_opts {
	bool fix;		/* --fix (or --db without -n) */
	bool dry_run;		/* -n / --check */
	bool create;		/* --create: make missing dirs, devices, fifos */
	bool verbose;		/* -v: print each change */
	bool allow_root_dir;
	bool use_db;		/* --db: record in the fakebuild store instead */
	const char *db_file;	/* --db FILE, or NULL */
	const char *from_db;	/* --from-db DB: the tree against the database, no manifest */
};

/* The state of one run. */
struct pf {
	struct pf_opts o;
	struct fb_manifest *m;
	struct pf_except *exc;
	const char *root;	/* PROTO_ROOT as given, for messages and path hints */
	char *root_abs;		/* realpath of the root, for fakebuild path hints */
	int rootfd;		/* O_PATH|O_DIRECTORY descriptor of the root */
	uid_t root_owner;	/* owner of the root directory: the build user */
	struct fb_session *sess;	/* --db */
	struct fb_table *table;	/* --db */
	struct fb_dbview *view;	/* --from-db */
	struct fb_table *view_table;	/* --from-db */
	struct pf_hashset *ancestors;	/* directories with manifest entries beneath */
	struct pf_hashset *linked;	/* first names of hard-link groups: the group's size */
	struct pf_inode *inodes;	/* files of several names: the entry that named each first */
	unsigned long ndiff;	/* differences reported (and left) */
	unsigned long nchanged;	/* files changed (--fix) */
	unsigned long nfailed;	/* files a change failed on (--fix) */
	unsigned long nerr;	/* errors: unopenable paths, unknown names, ... */
	int closing[64];	/* descriptors done with, closed a batch at a time (walk.c) */
	int nclosing, closing_max;
};

/* What a file looks like: the real inode, or the fake view with --db. */
struct pf_attr {
	mode_t mode;		/* type | 07777 */
	uid_t uid;
	gid_t gid;
	dev_t rdev;
	nlink_t nlink;
	dev_t dev;
	ino_t ino;
	off_t size;		/* the real size: an empty file may be a placeholder */
};

/* The faked extended attributes a file should have (--from-db): an xblob.h blob. */
struct pf_xattrs {
	const void *blob;
	size_t len;
};

/* msg.c: diagnostics.  Only the program prints; stdout carries the differences. */
void pf_setprog(const char *argv0);
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);
/* "protofix: PATH: WHAT: strerror(-err)" and count an error. */
void pf_err(struct pf *pf, const char *path, const char *what, int err);
/* "PATH: TEXT" on stdout: one difference. */
__attribute__((format(printf, 3, 4))) void pf_diff(struct pf *pf, const char *path, const char *fmt, ...);
/* "PATH: TEXT" on stdout when -v: one change made. */
__attribute__((format(printf, 3, 4))) void pf_change(struct pf *pf, const char *path, const char *fmt, ...);

/*
 * PROTOFIX_COMPAT=1 in the environment: behave as on a kernel without
 * openat2 (5.6) and fchmodat2 (6.6), so the tests cover the fallbacks.
 */
extern bool pf_compat;

/* beneath.c: resolution beneath the root. */
/* Open REL (a normalized relative path, or ".") beneath DIRFD; -errno on failure. */
int pf_open_beneath(int dirfd, const char *rel, int oflags);
/* Open the root; dies when it is, or resolves to, "/" (unless ALLOW). */
int pf_open_root(const char *root, bool allow, uid_t *owner);

/* dirstack.c: a cache of open parent directories for sorted paths. */
struct pf_dirstack;
struct pf_dirstack *pf_dirstack_new(int rootfd);
void pf_dirstack_free(struct pf_dirstack *ds);
/* Descriptor of the directory DIR ("." for the root); -errno on failure. */
int pf_dirstack_get(struct pf_dirstack *ds, const char *dir);

/* hashset.c: a set of strings, each with a count (0 when added). */
struct pf_hashset;
unsigned long *pf_hashset_add(struct pf_hashset **set, const char *key, size_t len);
bool pf_hashset_has(struct pf_hashset *set, const char *key);
const unsigned long *pf_hashset_count(struct pf_hashset *set, const char *key);
void pf_hashset_free(struct pf_hashset **set);

/* except.c: the exception list (-e, repeatable): FILE's patterns added to X (NULL: a new list). */
struct pf_except *pf_except_load(struct pf_except *x, const char *file);
bool pf_except_match(const struct pf_except *x, const char *path);
void pf_except_free(struct pf_except *x);

/* attr.c: reading and changing attributes, on the tree or in the store. */
int pf_attr_at(struct pf *pf, int dirfd, const char *name, struct pf_attr *out);
int pf_attr_fd(struct pf *pf, int fd, struct pf_attr *out);
int pf_set_owner(struct pf *pf, int fd, const struct pf_attr *cur, uid_t uid, gid_t gid,
		 const char *path);
int pf_set_mode(struct pf *pf, int fd, const struct pf_attr *cur, mode_t perm, const char *path);
int pf_create(struct pf *pf, int dirfd, const char *name, const struct fb_mentry *e,
	      const char *path);
/*
 * The placeholder NAME in DIRFD (CUR: an empty regular file, as a session
 * makes a device) becomes the node E declares: made under a temporary
 * name, exchanged with it in one step, and kept only if what it replaced
 * is the file checked (else -ESTALE, nothing changed).  With --db, FD
 * (the placeholder, pinned) is recorded as the node instead.
 */
int pf_make_node(struct pf *pf, int dirfd, const char *name, int fd, const struct fb_mentry *e,
		 const struct pf_attr *cur, const char *path);
/* The value of attribute XNAME of NAME in DIRFD (never followed); length or -errno. */
ssize_t pf_xattr_get(int dirfd, const char *name, const char *xname, void *buf, size_t len);
/* Set XNAME on the pinned file FD (not a symlink); 0 or -errno. */
int pf_xattr_set(int fd, const char *xname, const void *val, size_t len);

/* walk.c: every manifest entry against the tree. */
void pf_walk_manifest(struct pf *pf);
/*
 * One entry against the tree: report, or with --fix apply.  X, when not
 * NULL, lists faked xattrs the file should carry (--from-db).  DS holds
 * the parent directories; entries come parents first.
 */
void pf_walk_entry(struct pf *pf, struct pf_dirstack *ds, const struct fb_mentry *e,
		   const struct pf_xattrs *x);
/* The first name of PATH's hard-link group in the manifest (PATH if none). */
const char *pf_link_first(const struct pf *pf, const char *path);
void pf_walk_begin(struct pf *pf);
void pf_walk_end(struct pf *pf);
/* fromdb.c: --from-db: every file of the tree against the database. */
void pf_walk_db(struct pf *pf);
void pf_fromdb_open(struct pf *pf);
void pf_fromdb_close(struct pf *pf);
/* extra.c: every file of the tree the manifest does not list. */
void pf_walk_extra(struct pf *pf);
/* The names of the directory FD (consumed), sorted; *ERR is 0 or -errno.  Free each .s, then the array. */
struct pf_name {
	char *s;
	unsigned char type;	/* d_type */
};
struct pf_name *pf_read_dir(int fd, size_t *n, int *err);

/* db.c: --db. */
void pf_db_open(struct pf *pf);
void pf_db_close(struct pf *pf);

/* The last component of PATH, and its directory ("." at the top; -ENAMETOOLONG). */
const char *pf_basename(const char *path);
int pf_dirname(const char *path, char *out, size_t outlen);

#endif
