/*
 * fb.h - internals of libfakebuild.so, included by every file in preload/.
 *
 * Every wrapper starts with the same audited prologue, FB_PROLOGUE:
 *   1. resolve the real symbol once (dlsym RTLD_NEXT); missing: ENOSYS and
 *      a one-line diagnostic, never a NULL call;
 *   2. pass straight through when no session is active (the library was
 *      loaded outside fakebuild) or when our own code is running libc
 *      (fb_guard: e.g. the open() inside mapping the table);
 *   3. otherwise fake.  Cores return 0 or -errno; fb_ret() turns that into
 *      the libc convention and restores the caller's errno on success.
 * No wrapper allocates on the stat path or takes a lock there.
 */
#ifndef FB_PRELOAD_H
#define FB_PRELOAD_H

#include <errno.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "table.h"
#include "view.h"

#define FB_EXPORT __attribute__((visibility("default")))

/*
 * A few functions exist in glibc in two versions: today's default, and an
 * old one kept for binaries linked long ago (nftw before 2.3.3 ignored
 * unknown flags; i386's readdir64 before 2.2 had another struct dirent64).
 * A wrapper without a version would answer references to both, and hand
 * an old binary today's behaviour.  Where the versions are known (x86_64
 * and i386, see libfakebuild.map), FB_SYMVER binds wrapper FN to glibc's
 * default version VER only; an old reference then reaches its own wrapper,
 * or glibc directly.  Elsewhere wrappers stay unversioned.
 */
#if (defined(__x86_64__) && defined(__LP64__)) || defined(__i386__)
#define FB_VERSIONED 1
#define FB_SYMVER(fn, ver) __asm__(".symver " #fn ", " #fn "@@@" ver)
#endif

/*
 * Page faults are most of what the library costs a short-lived process,
 * so its zero-initialised state is laid out by use: every small variable
 * first, sharing the page the dynamic loader already writes (GOT, .data),
 * then arrays in the order given here, FB_BSS_LATE(1) before (2).  A
 * process pays only for the parts of the arrays it touches.  The order
 * comes from linking with --sort-section=name (GNUmakefile).
 */
#define FB_BSS_LATE(n) __attribute__((section(".bss.zlate" #n)))

/* Non-zero while the library's own code calls libc: wrappers pass through. */
extern __thread int fb_guard;

/*
 * A try-lock for the library's small per-process caches (record.c's
 * directory path, memo.c's last stat): a thread, or a signal handler that
 * interrupted the holder, that finds it taken does without the cache.
 */
static inline int fb_trylock(int *busy)
{
	return !__atomic_exchange_n(busy, 1, __ATOMIC_ACQUIRE);
}

static inline void fb_unlock(int *busy)
{
	__atomic_store_n(busy, 0, __ATOMIC_RELEASE);
}

struct fb_state {
	int active;		/* a session is set up (FAKEBUILD_TABLE) */
	int umask;		/* the process's umask, as last set (create.c); -1: ask */
	pid_t pid;		/* the process this memory is of (a vfork child's is its parent's) */
	int unknown_is_real;	/* -u: files without a record show their real owner */
	int debug;		/* FAKEBUILD_DEBUG level */
};
extern struct fb_state fb;

/* Read the environment once; cheap and safe at any time. */
void fb_init(void);
/* Is this a child of vfork(2), running in its parent's memory?  (Or a
 * child made past our fork wrapper, by _Fork or clone: then the answer is
 * taken as yes, which costs such a child nothing.) */
static inline int fb_in_vfork_child(void)
{
	return getpid() != __atomic_load_n(&fb.pid, __ATOMIC_RELAXED);
}

/* Decimal parsing without stdio (init.c). */
int fb_parse_ull(const char **sp, unsigned long long *out);
int fb_parse_ulls(const char *s, char sep, unsigned long long *v, int n);

/* The mapped live table, mapping it on first use; NULL when unavailable. */
struct fb_table *fb_table(void);
/* The live table if this process has mapped it already, else NULL (no mapping). */
struct fb_table *fb_table_mapped(void);

void *fb_real_sym(const char *name);
int fb_enosys(const char *name);

__attribute__((format(printf, 2, 3)))
void fb_debug(int level, const char *fmt, ...);
__attribute__((format(printf, 1, 2)))
void fb_warn(const char *fmt, ...);

static inline int fb_enter(void)
{
	if (__builtin_expect(fb.active < 0, 0))
		fb_init();
	return fb.active > 0 && !fb_guard;
}

#define FB_REAL(fn)                                                   \
	static __typeof__(&fn) real_##fn;                             \
	if (__builtin_expect(!real_##fn, 0))                          \
		real_##fn = (__typeof__(&fn))fb_real_sym(#fn)

/* The prologue of an int-returning wrapper whose real function is FN. */
#define FB_PROLOGUE(fn, ...)                                          \
	FB_REAL(fn);                                                  \
	if (!real_##fn)                                               \
		return fb_enosys(#fn);                                \
	if (!fb_enter())                                              \
		return real_##fn(__VA_ARGS__);                        \
	int fb_saved_errno_ = errno

/* Return a core's result: -errno sets errno, success restores it. */
#define fb_ret(rc) fb_ret_((rc), fb_saved_errno_)
static inline int fb_ret_(int rc, int saved)
{
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	errno = saved;
	return rc;
}

/* ---- cores shared between families (0 or -errno) ---------------------- */

#define FB_STATX_MASK (STATX_BASIC_STATS | STATX_BTIME)

/* The real statx (falls back to fstatat where statx is missing or filtered). */
/* Do A and B describe one inode? */
static inline int fb_same_inode(const struct statx *a, const struct statx *b)
{
	return a->stx_ino == b->stx_ino && a->stx_dev_major == b->stx_dev_major &&
	       a->stx_dev_minor == b->stx_dev_minor;
}

/* ID's record in T: attributes in *A, its xattr blob in *BLOB (malloc'd, or
 * NULL when empty), whether there is one in *KNOWN.  0 or -errno (xattr.c). */
int fb_record_blob(struct fb_table *t, const struct fb_ident *id, struct fb_attr *a, void **blob,
		   size_t *len, int *known);
/*
 * statfs.c: the statfs of the file FD (AT_FDCWD: the working directory),
 * else DIRFD/PATH (its symbolic link itself if NOFOLLOW); is the mount of that file, whose statx STX is,
 * read-only?  (Asked once per mount and process.)
 */
struct statfs64;
int fb_file_statfs(int dirfd, const char *path, int fd, int nofollow, struct statfs64 *sf);
int fb_read_only(int dirfd, const char *path, int fd, int nofollow, const struct statx *stx);
/* Have overlayfs copy a build root's file up before its record changes (chown.c). */
int fb_copy_up(int dirfd, const char *path, int flags, struct statx *stx);
/* FROM's record (owner, mode, xattrs), if it has one, becomes TO's too, the
 * inode DIRFD/PATH names (its hint).  0 or -errno. */
int fb_record_copy(const struct statx *from, const struct statx *to, int dirfd, const char *path);
int fb_sys_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx);
/* The faked statx: real statx, then the fake view applied. */
int fb_statx_core(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx);

/*
 * The record of inode (DEV, INO) if its real file type is REAL_MODE's: 1
 * and *A, else 0.  No system call and no write, and no birth-time check:
 * for what glibc's walkers and directory entries tell of a file, which
 * has no birth time.  Each caller says what such a record may decide.
 */
int fb_peek(uint64_t dev, uint64_t ino, uint32_t real_mode, struct fb_attr *a);

void fb_path_clean(char *p);
/* Absolute path of DIRFD/PATH for a record's path hint; 0 or -errno. */
int fb_path_hint(int dirfd, const char *path, char *buf, size_t len);
/* The path the kernel has for descriptor FD (/proc/self/fd), NUL-terminated
 * in BUF: its length, or -ENOENT (no /proc, or no path). */
ssize_t fb_fd_path(int fd, char *buf, size_t len);

/*
 * Record A for the inode STX describes (KNOWN: it has a record already);
 * 0 or -errno.  BEFORE (not NULL): what the view showed when A was made
 * from it; -EAGAIN if another process changed the record since, and the
 * caller makes A again (fb_table_put_if).
 */
int fb_record(const struct statx *stx, const struct fb_attr *a, int dirfd, const char *path,
	      int known, const struct fb_attr *before);
/* How many times a chown or chmod is made again from a fresh view before
 * it is recorded unchecked (a record changed that often meanwhile). */
#define FB_PUT_TRIES 100

/*
 * Descriptor stamps (fd.c): a value that changes whenever descriptor FD
 * (AT_FDCWD: the working directory) may come to name another file, so a
 * path remembered for it can be trusted while the stamp is unchanged.
 */
uint64_t fb_fd_stamp(int fd);
/* After chroot: every remembered path is stale. */
void fb_fd_rooted(void);
/*
 * The path of this process's root as the session's root sees it (chroot.c,
 * FAKEBUILD_CHROOT): its length and *P, or 0 when it is the session's root.
 */
size_t fb_chroot_prefix(const char **p);
/* Remember that FD was opened as DIRFD/NAME (open with O_CREAT). */
void fb_fd_opened(int fd, int dirfd, const char *name);
/* The remembered DIRFD and NAME of FD, if still valid: 1, else 0. */
int fb_fd_origin(int fd, int *dirfd, const char **name);
/*
 * 0 if FD is open for I/O; -EBADF if it is not open, or opened with
 * O_PATH: the kernel's fchown and f*xattr refuse such a descriptor
 * (fchownat with AT_EMPTY_PATH, and fstat, take it).
 */
int fb_io_fd(int fd);

/*
 * The last stat by name, for a chown or chmod of the same name right after
 * (memo.c).  note: after every stat by name (STX NULL: it failed);
 * take: 1 and the raw statx if DIRFD/PATH/FLAGS may use it, once; drop:
 * a name may now hold another inode (unlink, rmdir, rename).
 */
void fb_memo_note(int dirfd, const char *path, int flags, const struct statx *stx);
int fb_memo_take(int dirfd, const char *path, int flags, struct statx *stx);
void fb_memo_drop(void);

/* Drop the record of an inode that is going away (unlink, rename over). */
void fb_forget(const struct statx *stx);
/* xattr.c: a chown's record without the faked capability; 1 when written. */
int fb_xattr_chown(const struct statx *stx, const struct fb_attr *a);
/* xattr.c: a truncated file's record without the faked capability. */
void fb_xattr_truncated(int dirfd, const char *path, int fd);
/* xattr.c: a chmod's record with its faked access ACL in step; 1 when written. */
int fb_xattr_chmod(const struct statx *stx, const struct fb_attr *a);
/* xattr.c: may a directory have a faked default ACL (a table flag)? */
int fb_acl_defaults(void);
/* xattr.c: a new inode inherits its directory's faked default ACL; 1 when recorded. */
int fb_acl_inherit(int dirfd, const char *path, const struct statx *stx, mode_t mode,
		   struct fb_attr *a);

/* chmod as root sees it: exact mode recorded, owner rw kept on disk (chmod.c).
 * FD >= 0 acts on FD, else on DIRFD/PATH with FLAGS.  NOW: the file's real
 * statx (FB_STATX_MASK) when the caller has just made it, else NULL. */
int fb_chmod_core(int dirfd, const char *path, int fd, mode_t mode, int flags,
		  const struct statx *now);

/* syscall(NR, FD, BUF, N) for NR getdents64 or getdents, with d_type fixed (dirent.c). */
long fb_getdents(long nr, int fd, void *buf, size_t n);

/*
 * Device nodes bound over their placeholders (dev.c).  fb_dev_bound: STX
 * (a real statx) is a character device at the root of a mount, the one
 * case where fb_sys_statx looks beneath (fb_dev_beneath).  fb_dev_bind:
 * after mknod, bind the host's node over the placeholder where allowed.
 * fb_dev_unbind: detach such a bind so its name can go (its device in
 * *RDEV, if not NULL); 0 or -1.
 * fb_dev_times: if DIRFD/PATH (or FD >= 0) is such a bind, set times TS
 * (4 values or NULL) on its placeholder: 1 with the result in *RC, else 0.
 */
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif
static inline int fb_dev_bound(const struct statx *stx)
{
	return (stx->stx_attributes & STATX_ATTR_MOUNT_ROOT) && S_ISCHR(stx->stx_mode);
}
/* A stat made past the library (glibc's walkers') of MODE and RDEV saw the
 * host's node bound over a placeholder, where the faked stat X, of
 * another inode, saw the placeholder (fb_dev_beneath). */
static inline int fb_dev_seen_over(mode_t mode, dev_t rdev, const struct statx *x)
{
	return S_ISCHR(mode) && S_ISCHR(x->stx_mode) &&
	       rdev == makedev(x->stx_rdev_major, x->stx_rdev_minor);
}
void fb_dev_bind(int dirfd, const char *path, mode_t type, dev_t dev);
void fb_dev_beneath(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx);
int fb_dev_unbind(int dirfd, const char *path, dev_t *rdev);
int fb_dev_times(int dirfd, const char *path, int fd, int flags, const int64_t ts[4], int *rc);
/* Where the symbolic link DIRFD/PATH leads, absolute, into OUT (PATH_MAX); 0, or -1 if none. */
int fb_dev_link_target(int dirfd, const char *path, char *out);

/* Fake identity (id.c). */
/* "FAKEBUILD_IDS=..." (GROUPS: "FAKEBUILD_GROUPS=...") as this process
 * last set them (its exec of a set-id program included), or NULL if its
 * ids are those its environment gave it. */
const char *fb_id_entry(int groups);
/* "FAKEBUILD_IDS=..." with the effective, saved and filesystem ids set to
 * the real ones (POSIX_SPAWN_RESETIDS), in BUF of LEN bytes. */
#define FB_IDS_ENTRY_MAX 160
const char *fb_id_reset_entry(char *buf, size_t len);
uid_t fb_fsuid(void);
gid_t fb_fsgid(void);
/* Has this process capability C, for a call on a file?  (Root that never
 * changed its ids: yes, without reading the bounding set.) */
int fb_file_cap(int c);
/* May this process keep the setgid bit on a file of group G? */
int fb_may_keep_setgid(gid_t g);
/* May it chown a file of OWNER:GROUP to UID:GID (-1: unchanged), or chmod
 * one of OWNER, as the kernel decides?  0 or -EPERM. */
int fb_may_chown(uid_t owner, gid_t group, uid_t uid, gid_t gid);
int fb_may_chmod(uid_t owner);

/*
 * Who owns what a process makes (create.c).  fb_new_owner_matters: may a
 * new inode need a record for its owner (a creator that is not root:root,
 * or a table with setgid directories)?  fb_new_attr: A for the inode STX
 * this process just made at DIRFD/PATH, of TYPE with mode ASKED and device
 * DEV, as the kernel would own it; 1 when that differs from the view of a
 * file without a record.  fb_parent_statx: the directory holding
 * DIRFD/PATH's last component.
 */
int fb_new_owner_matters(void);
/*
 * What the kernel makes of a new inode's mode, and what the disk must get
 * instead.  fb_new_mode_odd: would TYPE with mode MODE (before the umask)
 * deny its maker use of it on disk, where root could still use it, or
 * carry set-id bits, which never go on disk?  fb_disk_mode: the mode to
 * make it with then (owner read and write, search for a directory; no
 * set-id bits).  fb_keep_usable: after the fact, give the inode STX (open
 * on FD, else at DIRFD/PATH) back the owner bits a umask took; 1 if it
 * did (the inode then needs a record).  fb_umask: the umask.
 */
int fb_new_mode_odd(mode_t type, mode_t mode);
/* What the maker must keep of an inode of TYPE and mode MODE on disk to
 * use it as root may: read and write; search, a directory; execute, a
 * file that anyone may execute (root may run it then). */
mode_t fb_owner_needs(mode_t type, mode_t mode);
mode_t fb_disk_mode(mode_t type, mode_t mode);
int fb_keep_usable(int fd, int dirfd, const char *path, struct statx *stx);
mode_t fb_umask_read(void);
static inline mode_t fb_umask(void)
{
	int m = __atomic_load_n(&fb.umask, __ATOMIC_RELAXED);
	if (__builtin_expect(m < 0, 0))
		return fb_umask_read();
	return (mode_t)m;
}
int fb_new_attr(int dirfd, const char *path, const struct statx *stx, mode_t type, mode_t asked,
		dev_t dev, struct fb_attr *a);
int fb_parent_statx(int dirfd, const char *path, struct statx *stx);
/* A regular file just made, open on FD, at DIRFD/PATH with mode MODE: its
 * record, if its owner, its directory's default ACL or its mode needs one.
 * Keeps errno. */
void fb_record_created(int fd, int dirfd, const char *path, mode_t mode);
/* Does a file an open with FLAGS and MODE may create need a record (open.c)?
 * Yes if its mode (after the umask) denies the owner or has set-id bits,
 * if its directory may have a default ACL to inherit, or if its owner may
 * not be root's; an O_TMPFILE file as well. */
int fb_open_needs_record(int flags, mode_t mode);
/* The same for a file made through a symbolic link: its own directory,
 * found from FD, decides a setgid group or a default ACL. */
void fb_record_created_where(int fd, mode_t mode);

/* Around a posix_spawn with file actions FA (spawn.c): note which files
 * its noted actions will find, then record or drop what they made or
 * truncated.  Keep errno. */
void fb_spawn_before(const posix_spawn_file_actions_t *fa);
void fb_spawn_after(const posix_spawn_file_actions_t *fa);

/* getgrouplist through the session's group file, or the host's (pwd.c). */
int fb_getgrouplist(const char *user, gid_t group, gid_t *list, int *n);

#endif
