/*
 * root.h - build roots: fakebuild --root BASE [options] [--] [command].
 * Shared by main.c (options) and the files that make a root:
 *   root.c    the parent: options, checks, the cache, the session, the end
 *   ns.c      pid 1 of the new namespaces: mounts, pivot_root, the command
 *   unpack.c  an archive base, unpacked once into the cache with its owners
 *   walk.c    after the build: records merged back, --keep, --changes
 *   watch.c   the watcher that removes what is on disk if we are killed
 *   limit.c   --limit: setrlimit and cgroup v2
 * See README (tools/fakebuild) for the design and fakebuild(7) for what
 * is and is not isolated.
 */
#ifndef FB_ROOT_H
#define FB_ROOT_H

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "session.h"

#define FB_ROOT_LAYERS 8	/* --root given this many times at most */
#define FB_ROOT_MOUNTS 64	/* --bind, --ro-bind and --overlay together */
#define FB_ROOT_LIMITS 8
#define FB_MSG_FDS (2 * FB_ROOT_MOUNTS + 4)	/* descriptors in one message at most */

enum fb_mount_kind { FB_BIND, FB_RO_BIND, FB_OVERLAY };

struct fb_mount {
	enum fb_mount_kind kind;
	const char *opt;	/* the option as given, for messages */
	char src[4096];		/* absolute, resolved */
	char dst[4096];		/* absolute path inside the root */
	int fd;			/* O_PATH of src, opened before the namespaces */
	int is_dir;
	dev_t dev;
	/* --overlay: its scratch directory (pid 1), its upper (fakebuild, after setup) */
	int scratch_fd;
	int upper_fd;
	dev_t ovl_dev;		/* the overlay's own device, once mounted */
	int ovl_fd;		/* O_PATH of the mounted overlay (parent, after setup) */
};

struct fb_layer {
	const char *opt;	/* as given */
	char path[4096];	/* the directory used as a layer (an archive: its cache entry) */
	char archive[4096];	/* the archive, if the base was one */
	char records[4096];	/* the records of a cache entry (gdbm), else "" */
	int fd;			/* O_PATH of the directory */
	int lock;		/* a directory base, open and flock'ed shared while the root runs */
	dev_t dev;
};

struct fb_limit {
	int resource;		/* RLIMIT_*, or -1 for a cgroup limit */
	const char *name;	/* as written: as, cpu, nproc, fsize, nofile, memory, cpus, pids */
	uint64_t value;		/* cpus: in thousandths of a CPU */
};

/* --limit's cgroup v2 part (limit.c): the cgroups fakebuild made, to undo. */
struct fb_cgroup {
	char dir[4096];		/* fakebuild's own cgroup C; the build's is C/fakebuild-PID-build */
	unsigned need;		/* the controllers the limits use (limit.c's bits) */
	unsigned enabled;	/* those fakebuild enabled in C's cgroup.subtree_control */
	int wanted;		/* a cgroup limit was asked for */
	int is_root;		/* C is the hierarchy's root: no rule against processes there */
	int moved;		/* fakebuild (and its watcher) moved into C/fakebuild-PID */
	int made;		/* C/fakebuild-PID-build made */
	pid_t owner;		/* fakebuild's pid: the PID of those names */
};

struct fb_root {
	/* options */
	struct fb_layer layer[FB_ROOT_LAYERS];	/* bottom first */
	int nlayers;
	int host;		/* --root /: the host's system directories, read-only */
	struct fb_mount m[FB_ROOT_MOUNTS];
	int nm;
	const char *upper;	/* --upper DIR */
	const char *keep;	/* --keep FILE */
	const char *changes;	/* --changes FILE */
	int net;		/* --net */
	struct fb_limit lim[FB_ROOT_LIMITS];
	int nlim;
	struct fb_cgroup cg;

	/* from the plain session */
	const char *lib;	/* the preload library, maybe with $LIB */
	const char *db;
	int unknown_is_real, quiet;
	int default_shell;	/* no command was given: $SHELL (else /bin/sh inside) */

	/* set up by root.c */
	char cache[4096];	/* $XDG_CACHE_HOME/fakebuild */
	int scratch_fd;		/* pid 1: the namespace's scratch tmpfs */
	char upper_path[4096];	/* --upper DIR, absolute */
	int upper_create;	/* made by us: removed if the root never starts */
	int upper_fd;		/* the root overlay's upper (scratch or --upper) */
	int upper_lock;		/* --upper, open and flock'ed while the root runs */
	char work_path[4200];	/* --upper's work directory (temporary, beside it) */
	int work_fd;
	int skel_fd;		/* mount points missing from the base (a lowest layer) */
	int lib_fd[2];		/* the 64- and 32-bit library files (or -1) */
	char lib_rel[2][256];	/* their paths inside the library tmpfs */
	char cwd[4096];		/* the working directory, tried inside the root */
	int in_job;		/* run in a terminal's job (fb_in_terminal_job) */
	unsigned long long ignored;	/* bit N: signal N was ignored when we started (nohup) */
	dev_t ovl_dev;		/* the root overlay's device, once mounted */
	int ovl_fd;		/* O_PATH of the root overlay (parent, after setup) */
	char devmap[1024];	/* FAKEBUILD_DEVMAP for the build */
	struct fb_dirnote *dirs_before;	/* --changes: the directories' records before the build */
};

/* root.c */
/* R must be zeroed (static) storage. */
void fb_root_init(struct fb_root *r);
/* One of the root options of main.c (OPT is its long name); dies on a bad value. */
void fb_root_option(struct fb_root *r, const char *opt, const char *arg);
/* Run CMD in the root; returns fakebuild's exit status. */
int fb_root_run(struct fb_root *r, char **cmd);
/* S into the kernel control file PATH (/proc, cgroupfs) with one write(2), as
 * those files take it: 0, or -errno (-EIO for a short write). */
int fb_put_file(const char *path, const char *s);

/* ns.c: the child side.  Runs as pid 1 of the new namespaces; never returns. */
__attribute__((noreturn)) void fb_ns_main(struct fb_root *r, int sock, char **cmd);
/* Messages on the socket between fakebuild and pid 1 (SOCK_SEQPACKET). */
enum fb_ns_msg {
	FB_MSG_MAPS = 1,	/* parent: uid_map and gid_map are written */
	FB_MSG_READY,		/* child: the root is built; table and overlay fds follow */
	FB_MSG_GO,		/* parent: the table is seeded; run the command */
};
int fb_msg_send(int sock, int type, const void *data, size_t len, const int *fds, int nfds);
/* Receive one message: its type (0 when the peer is gone, -1 on error). */
int fb_msg_recv(int sock, void *data, size_t *len, int *fds, int *nfds);

/* unpack.c: is the archive of L in the cache already?  1 and L set up, else 0. */
int fb_unpack_cached(struct fb_root *r, struct fb_layer *l);
/* Unpack it there (the watcher W removes what is half done if we die).  0, or -1 after printing why. */
int fb_unpack(struct fb_root *r, struct fb_layer *l, int w);
/* Is DIRFD the top of a root (usr, bin or etc in it)?  1, 0, or -EACCES if we may not look. */
int fb_looks_like_root(int dirfd);

/* walk.c */
/* Copy the records of the changed files into the root's table, keyed as the overlay shows them. */
int fb_walk_seed_upper(struct fb_root *r, struct fb_table *rt, struct fb_table *ut);
/* --changes: note the directories' records of RT before the build.  0 or -errno. */
int fb_walk_note_dirs(struct fb_root *r, struct fb_table *rt);
/* After the build: records of kept files into the user's table (U), --keep, --changes. */
int fb_walk_finish(struct fb_root *r, struct fb_table *rt, struct fb_table *ut, const char *db, int status,
		   int watch);
/* The signal (INT, TERM, HUP, QUIT) that came after the root's pid 1 had
 * ended, while its trees were walked; 0 if none.  The walk stops, and
 * nothing half-written is left (root.c). */
extern volatile sig_atomic_t fb_root_interrupted;
/* rm -rf of DIRFD/NAME, making directories writable as needed; 0 or -errno. */
int fb_remove_tree(int dirfd, const char *name);

/* watch.c: fork the watcher; returns the pipe to it. */
int fb_watch_start(void);
void fb_watch_add(int w, const char *path);	/* remove PATH if we die */
void fb_watch_pid(int w, pid_t pid);		/* ...once this process is gone */
void fb_watch_cgroup(int w, const char *spec);	/* undo the cgroups (fb_limit_undo) if we die */
void fb_watch_done(int w);			/* we cleaned up ourselves */
pid_t fb_watch_process(void);			/* the watcher's pid, 0 when none runs */

/* limit.c */
void fb_limit_parse(struct fb_root *r, const char *arg);
/* Before anything is made: cgroup limits need a delegated subtree; dies naming what is missing. */
void fb_limit_check(struct fb_root *r);
/* Before the clone: the build's cgroup, with its limits; starts the watcher (*W) if
 * none runs.  0, or -1 after printing why (what was made is removed). */
int fb_limit_cgroup(struct fb_root *r, int *w);
/* Move pid 1 (PID), still waiting for its ids, into the build's cgroup.  0 or -1 after printing. */
int fb_limit_enter(struct fb_root *r, pid_t pid);
/* When pid 1 is gone (or never was): remove the cgroups, undo the rest.  Again: no-op. */
void fb_limit_release(struct fb_root *r);
/* The watcher's fb_limit_release, from what fb_watch_cgroup told it. */
void fb_limit_undo(const char *spec);
/* In the command's process, before exec: setrlimit.  0 or -1 after printing why. */
int fb_limit_apply(const struct fb_root *r);

#endif
