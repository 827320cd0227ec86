/*
 * pwd.c - user and group names through the target's files.  With
 * `fakebuild --passwd FILE --group FILE` (or --sysroot DIR), the session's
 * FAKEBUILD_PASSWD_FILE and FAKEBUILD_GROUP_FILE name them, and every
 * passwd lookup (getpwnam getpwuid getpwent, the _r forms) or group lookup
 * (getgrnam getgrgid getgrent, the _r forms, getgrouplist, initgroups in
 * id.c) answers from them instead of the host's NSS: `chown app:app`,
 * `tar`, `ls -l` and `id` then use the names of the tree being built.
 * Without the variable, or outside a session, each call goes straight to
 * libc.
 *
 * One core per file (`struct names`): the file's contents are read into
 * memory and read again only when its identity (inode, size, mtime, ctime)
 * changes, checked with one statx per lookup, so a user that a build adds
 * to the target's passwd (useradd in a maintainer script) is found by the
 * next lookup.  Lines are parsed where they lie (db/pwfile.c, the parser
 * fakebuild checks the files with) and copied into the caller's buffer:
 * nothing is allocated per call.  The entry points follow glibc's
 * conventions, which t_names.sh compares against glibc itself: errno 0
 * after a lookup that found or did not find an entry, ERANGE (the entry
 * not consumed by getXXent_r) for a short buffer, ENOENT from getXXent_r
 * at the end; the non-_r forms return static storage that the next call
 * of the same function overwrites.
 */
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fb.h"
#include "pwfile.h"

struct names {
	pthread_mutex_t lock;	/* everything below, and the static results */
	char *text;		/* the file's contents when last read */
	size_t len;
	struct statx seen;	/* their identity; stx_mask 0: nothing read */
	unsigned gen;		/* counts re-reads */
	/* getXXent's position: the next line at `off` of generation `ent_gen`,
	 * after `ent_no` entries. */
	size_t off, ent_no;
	unsigned ent_gen;
};

/*
 * Only a process answering from a file touches these: they live after the
 * library's arrays (FB_BSS_LATE), so that every other process, which reads
 * just `state` and `path`, keeps to the one data page it has always used.
 * The mutexes start as all zero bytes, which is PTHREAD_MUTEX_INITIALIZER.
 */
static struct names users FB_BSS_LATE(3), groups FB_BSS_LATE(3);

enum { USERS, GROUPS };
static const char var_name[2][24] = { "FAKEBUILD_PASSWD_FILE", "FAKEBUILD_GROUP_FILE" };
/* 0 variable not read yet, 1 the host's databases, 2 the file at path[i]. */
static int state[2];
static const char *path[2];

static int which(const struct names *n)
{
	return n == &users ? USERS : GROUPS;
}

static int kind(const struct names *n)
{
	return n == &users ? FB_PW_PASSWD : FB_PW_GROUP;
}

/*
 * A fork while another thread holds a lock would leave the child's copy
 * locked forever: hold both across fork (always users before groups; no
 * code path holds both otherwise).
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&users.lock);
	pthread_mutex_lock(&groups.lock);
}

static void fork_done(void)
{
	pthread_mutex_unlock(&groups.lock);
	pthread_mutex_unlock(&users.lock);
}

/* Does this process answer N's lookups from a file?  Reads the variable once. */
static int from_file(struct names *n)
{
	int i = which(n);
	int s = __atomic_load_n(&state[i], __ATOMIC_ACQUIRE);
	if (__builtin_expect(s != 0, 1))
		return s == 2;
	static int atfork_done;
	const char *p = getenv(var_name[i]);
	/* fakebuild sets absolute paths; a relative one would change with chdir. */
	path[i] = p && p[0] == '/' ? p : NULL;
	s = path[i] ? 2 : 1;
	if (s == 2 && !__atomic_exchange_n(&atfork_done, 1, __ATOMIC_ACQ_REL))
		pthread_atfork(fork_prepare, fork_done, fork_done);
	__atomic_store_n(&state[i], s, __ATOMIC_RELEASE);
	return s == 2;
}

static int same_file(const struct statx *a, const struct statx *b)
{
	return a->stx_ino == b->stx_ino && a->stx_dev_major == b->stx_dev_major &&
	       a->stx_dev_minor == b->stx_dev_minor && a->stx_size == b->stx_size &&
	       a->stx_mtime.tv_sec == b->stx_mtime.tv_sec &&
	       a->stx_mtime.tv_nsec == b->stx_mtime.tv_nsec &&
	       a->stx_ctime.tv_sec == b->stx_ctime.tv_sec &&
	       a->stx_ctime.tv_nsec == b->stx_ctime.tv_nsec;
}

/* The whole of FD into a new buffer (NUL-terminated); 0 or -errno. */
static int slurp(int fd, size_t hint, char **out, size_t *outlen)
{
	size_t cap = hint + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 == cap) {	/* grew while we read */
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * Read N's file again (FOUND: the statx by name found it).  A file that
 * cannot be read has no entries, as glibc finds none in a missing
 * /etc/passwd.  0 or -ENOMEM.
 */
static int reread(struct names *n, int found)
{
	struct statx now;
	char *text = NULL;
	size_t len = 0;
	memset(&now, 0, sizeof now);
	int fd = found ? open(path[which(n)], O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		/* The identity of what we read: a file replaced after this
		 * statx differs from it, and is read at the next lookup. */
		int rc = fb_sys_statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &now);
		if (rc == 0)
			rc = slurp(fd, now.stx_size < (1u << 30) ? (size_t)now.stx_size : 0, &text, &len);
		close(fd);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			memset(&now, 0, sizeof now);
	}
	free(n->text);
	n->text = text;
	n->len = text ? len : 0;
	n->seen = now;	/* stx_mask 0 when unread: try again next time */
	n->gen++;
	return 0;
}

/*
 * Bring N's text up to date with the file: one statx when it has not
 * changed.  Locked; 0 or -ENOMEM; errno unchanged.
 */
static int refresh(struct names *n)
{
	int saved = errno;
	struct statx now;
	int rc = fb_sys_statx(AT_FDCWD, path[which(n)], 0, STATX_BASIC_STATS, &now);
	if (rc < 0 || !n->seen.stx_mask || !same_file(&now, &n->seen)) {
		fb_guard++;	/* our own open, read and close go straight to libc */
		rc = reread(n, rc == 0);
		fb_guard--;
	} else {
		rc = 0;
	}
	errno = saved;
	return rc;
}

/* The next entry of N at *OFF, advancing past its line; 0 at the end.  Locked. */
static int next_entry(const struct names *n, size_t *off, struct fb_pwline *l)
{
	const char *end = n->text + n->len;
	while (*off < n->len) {
		const char *p = n->text + *off;
		const char *e = fb_pwline_end(p, end);
		*off = (size_t)(e - n->text) + (e < end);
		if (fb_pwline_parse(p, e, kind(n), l) == FB_PWL_ENTRY)
			return 1;
	}
	return 0;
}

/* ---- copying an entry out ------------------------------------------------ */

/*
 * Where a result goes: the caller's buffer (the _r forms), or a static one
 * that grows to fit (getpwnam and the other non-_r forms).
 */
struct out {
	void *res;		/* struct passwd or struct group */
	char **buf;
	size_t *len;
	int grow;
};

/* Room for NEED bytes at *o->buf: 0, -ERANGE (caller's buffer) or -ENOMEM. */
static int room(struct out *o, size_t need)
{
	if (need <= *o->len)
		return 0;
	if (!o->grow)
		return -ERANGE;
	char *nb = realloc(*o->buf, need);
	if (!nb)
		return -ENOMEM;
	*o->buf = nb;
	*o->len = need;
	return 0;
}

static char *put(char **p, const char *s, size_t n)
{
	char *d = *p;
	memcpy(d, s, n);
	d[n] = 0;
	*p += n + 1;
	return d;
}

static int fill_passwd(const struct fb_pwline *l, struct out *o)
{
	static const int str[] = { 0, 1, 4, 5, 6 };
	size_t need = 0;
	for (int i = 0; i < 5; i++)
		need += l->len[str[i]] + 1;
	int rc = room(o, need);
	if (rc < 0)
		return rc;
	struct passwd *pw = o->res;
	char *p = *o->buf;
	pw->pw_name = put(&p, l->f[0], l->len[0]);
	pw->pw_passwd = put(&p, l->f[1], l->len[1]);
	pw->pw_uid = l->id[0];
	pw->pw_gid = l->id[1];
	pw->pw_gecos = put(&p, l->f[4], l->len[4]);
	pw->pw_dir = put(&p, l->f[5], l->len[5]);
	pw->pw_shell = put(&p, l->f[6], l->len[6]);
	return 0;
}

/* A group: the member pointers first (aligned), then the strings. */
static int fill_group(const struct fb_pwline *l, struct out *o)
{
	size_t nmem = 0, strs = l->len[0] + 1 + l->len[1] + 1;
	const char *pos = NULL, *m;
	size_t mlen;
	while (fb_pwline_member(l, &pos, &m, &mlen)) {
		nmem++;
		strs += mlen + 1;
	}
	size_t vec = (nmem + 1) * sizeof(char *);
	/* Alignment padding depends on where the buffer is: at most this much. */
	int rc = room(o, alignof(char *) - 1 + vec + strs);
	if (rc == -ERANGE) {
		size_t pad = -(uintptr_t)*o->buf & (alignof(char *) - 1);
		rc = room(o, pad + vec + strs);
	}
	if (rc < 0)
		return rc;
	char *base = *o->buf + (-(uintptr_t)*o->buf & (alignof(char *) - 1));
	char **mem = (char **)(void *)base;
	char *p = base + vec;
	struct group *gr = o->res;
	gr->gr_name = put(&p, l->f[0], l->len[0]);
	gr->gr_passwd = put(&p, l->f[1], l->len[1]);
	gr->gr_gid = l->id[0];
	size_t i = 0;
	pos = NULL;
	while (fb_pwline_member(l, &pos, &m, &mlen))
		mem[i++] = put(&p, m, mlen);
	mem[i] = NULL;
	gr->gr_mem = mem;
	return 0;
}

static int fill(const struct names *n, const struct fb_pwline *l, struct out *o)
{
	return kind(n) == FB_PW_PASSWD ? fill_passwd(l, o) : fill_group(l, o);
}

/* ---- the cores ------------------------------------------------------------- */

/*
 * The first entry of N named NAME (NULL: with id ID) into O: 1 found,
 * 0 not found, -ERANGE or -ENOMEM.
 */
static int lookup(struct names *n, const char *name, unsigned id, struct out *o)
{
	int by_id = name == NULL;
	pthread_mutex_lock(&n->lock);
	int rc = refresh(n);
	size_t off = 0, nlen = by_id ? 0 : strlen(name);
	struct fb_pwline l;
	while (rc == 0 && next_entry(n, &off, &l)) {
		if (by_id ? l.id[0] == id : l.len[0] == nlen && memcmp(l.f[0], name, nlen) == 0) {
			rc = fill(n, &l, o);
			rc = rc < 0 ? rc : 1;
			break;
		}
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}

/* getXXent: the next entry into O, 1; 0 at the end; -ERANGE (not consumed) or -ENOMEM. */
static int next(struct names *n, struct out *o)
{
	pthread_mutex_lock(&n->lock);
	int rc = refresh(n);
	if (rc == 0 && n->ent_gen != n->gen) {
		/* The file changed since the last call: go on after as many
		 * entries in the new contents. */
		struct fb_pwline l;
		size_t off = 0;
		for (size_t i = 0; i < n->ent_no && next_entry(n, &off, &l); i++)
			;
		n->off = off;
		n->ent_gen = n->gen;
	}
	size_t off = n->off;
	struct fb_pwline l;
	if (rc == 0 && next_entry(n, &off, &l)) {
		rc = fill(n, &l, o);
		if (rc == 0) {
			n->off = off;
			n->ent_no++;
			rc = 1;
		}
	} else if (rc == 0) {
		n->off = n->len;
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}

static void rewind_ent(struct names *n)
{
	pthread_mutex_lock(&n->lock);
	n->off = n->ent_no = 0;
	n->ent_gen = n->gen;
	pthread_mutex_unlock(&n->lock);
}

/* The _r convention: 0 and *RESULT set or NULL (errno 0), else the error number. */
static int ret_r(int rc, void *res, void **result)
{
	*result = rc == 1 ? res : NULL;
	int e = rc < 0 ? -rc : 0;
	errno = e;
	return e;
}

/* The static-storage convention: the entry, or NULL with errno 0 (none) or ENOMEM. */
static void *ret_static(int rc, void *res)
{
	errno = rc < 0 ? -rc : 0;
	return rc == 1 ? res : NULL;
}

static int is_member(const struct fb_pwline *l, const char *user, size_t ulen)
{
	const char *pos = NULL, *m;
	size_t mlen;
	while (fb_pwline_member(l, &pos, &m, &mlen))
		if (mlen == ulen && memcmp(m, user, ulen) == 0)
			return 1;
	return 0;
}

/*
 * getgrouplist from the group file, as glibc's: GROUP first, then every
 * other group listing USER, in file order (a gid on two lines twice, as
 * glibc's files service gives it); the first *NGROUPS into LIST, the
 * count into *NGROUPS, -1 if they did not all fit.
 */
static int grouplist(const char *user, gid_t group, gid_t *list, int *ngroups)
{
	pthread_mutex_lock(&groups.lock);
	if (refresh(&groups) < 0) {
		pthread_mutex_unlock(&groups.lock);
		errno = ENOMEM;
		return -1;
	}
	if (*ngroups > 0)
		list[0] = group;
	int total = 1;
	size_t off = 0, ulen = strlen(user);
	struct fb_pwline l;
	while (next_entry(&groups, &off, &l)) {
		if (l.id[0] == group || !is_member(&l, user, ulen))
			continue;
		if (total < *ngroups)
			list[total] = l.id[0];
		total++;
	}
	pthread_mutex_unlock(&groups.lock);
	int rc = total > *ngroups ? -1 : total;
	*ngroups = total;
	return rc;
}

/* For initgroups (id.c): the target's groups of USER, or the host's. */
int fb_getgrouplist(const char *user, gid_t group, gid_t *list, int *n)
{
	if (from_file(&groups))
		return grouplist(user, group, list, n);
	fb_guard++;
	int rc = getgrouplist(user, group, list, n);
	fb_guard--;
	return rc;
}

/* ---- entry points ---------------------------------------------------------- */

/*
 * Answer from N's file in a session that has one; otherwise the real
 * function, resolved only then (a process without the variable pays one
 * getenv and nothing else).  FAIL is what a missing real function returns.
 */
#define NAMES_PROLOGUE(fn, n, fail, ...)                                          \
	if (!fb_enter() || !from_file(n)) {                                       \
		FB_REAL(fn);                                                      \
		if (!real_##fn) {                                                 \
			errno = ENOSYS;                                           \
			return fail;                                              \
		}                                                                 \
		return real_##fn(__VA_ARGS__);                                    \
	}

/* The static result of a non-_r function, with its growing buffer. */
#define STATIC_OUT(type, o)                                                       \
	static type res_ FB_BSS_LATE(3);                                          \
	static char *buf_ FB_BSS_LATE(3);                                         \
	static size_t len_ FB_BSS_LATE(3);                                        \
	struct out o = { &res_, &buf_, &len_, 1 }

FB_EXPORT struct passwd *getpwnam(const char *name)
{
	NAMES_PROLOGUE(getpwnam, &users, NULL, name);
	STATIC_OUT(struct passwd, o);
	return ret_static(lookup(&users, name, 0, &o), o.res);
}

FB_EXPORT struct passwd *getpwuid(uid_t uid)
{
	NAMES_PROLOGUE(getpwuid, &users, NULL, uid);
	STATIC_OUT(struct passwd, o);
	return ret_static(lookup(&users, NULL, uid, &o), o.res);
}

FB_EXPORT int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
			 struct passwd **result)
{
	NAMES_PROLOGUE(getpwnam_r, &users, ENOSYS, name, pw, buf, len, result);
	struct out o = { pw, &buf, &len, 0 };
	return ret_r(lookup(&users, name, 0, &o), pw, (void **)result);
}

FB_EXPORT int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
			 struct passwd **result)
{
	NAMES_PROLOGUE(getpwuid_r, &users, ENOSYS, uid, pw, buf, len, result);
	struct out o = { pw, &buf, &len, 0 };
	return ret_r(lookup(&users, NULL, uid, &o), pw, (void **)result);
}

FB_EXPORT struct group *getgrnam(const char *name)
{
	NAMES_PROLOGUE(getgrnam, &groups, NULL, name);
	STATIC_OUT(struct group, o);
	return ret_static(lookup(&groups, name, 0, &o), o.res);
}

FB_EXPORT struct group *getgrgid(gid_t gid)
{
	NAMES_PROLOGUE(getgrgid, &groups, NULL, gid);
	STATIC_OUT(struct group, o);
	return ret_static(lookup(&groups, NULL, gid, &o), o.res);
}

FB_EXPORT int getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
			 struct group **result)
{
	NAMES_PROLOGUE(getgrnam_r, &groups, ENOSYS, name, gr, buf, len, result);
	struct out o = { gr, &buf, &len, 0 };
	return ret_r(lookup(&groups, name, 0, &o), gr, (void **)result);
}

FB_EXPORT int getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
			 struct group **result)
{
	NAMES_PROLOGUE(getgrgid_r, &groups, ENOSYS, gid, gr, buf, len, result);
	struct out o = { gr, &buf, &len, 0 };
	return ret_r(lookup(&groups, NULL, gid, &o), gr, (void **)result);
}

/* getXXent: errno is left alone except on failure, as glibc's files service does. */
FB_EXPORT struct passwd *getpwent(void)
{
	NAMES_PROLOGUE(getpwent, &users, NULL);
	STATIC_OUT(struct passwd, o);
	int rc = next(&users, &o);
	if (rc < 0)
		errno = -rc;
	return rc == 1 ? o.res : NULL;
}

FB_EXPORT int getpwent_r(struct passwd *pw, char *buf, size_t len, struct passwd **result)
{
	NAMES_PROLOGUE(getpwent_r, &users, ENOSYS, pw, buf, len, result);
	struct out o = { pw, &buf, &len, 0 };
	int rc = next(&users, &o);
	*result = rc == 1 ? pw : NULL;
	if (rc < 0)
		errno = -rc;
	return rc == 1 ? 0 : rc == 0 ? ENOENT : -rc;
}

FB_EXPORT struct group *getgrent(void)
{
	NAMES_PROLOGUE(getgrent, &groups, NULL);
	STATIC_OUT(struct group, o);
	int rc = next(&groups, &o);
	if (rc < 0)
		errno = -rc;
	return rc == 1 ? o.res : NULL;
}

FB_EXPORT int getgrent_r(struct group *gr, char *buf, size_t len, struct group **result)
{
	NAMES_PROLOGUE(getgrent_r, &groups, ENOSYS, gr, buf, len, result);
	struct out o = { gr, &buf, &len, 0 };
	int rc = next(&groups, &o);
	*result = rc == 1 ? gr : NULL;
	if (rc < 0)
		errno = -rc;
	return rc == 1 ? 0 : rc == 0 ? ENOENT : -rc;
}

#define SETENT(fn, n)                                                             \
	FB_EXPORT void fn(void)                                                   \
	{                                                                         \
		if (!fb_enter() || !from_file(n)) {                               \
			FB_REAL(fn);                                              \
			if (real_##fn)                                            \
				real_##fn();                                      \
			return;                                                   \
		}                                                                 \
		rewind_ent(n);                                                    \
	}

SETENT(setpwent, &users)
SETENT(endpwent, &users)
SETENT(setgrent, &groups)
SETENT(endgrent, &groups)

FB_EXPORT int getgrouplist(const char *user, gid_t group, gid_t *list, int *ngroups)
{
	NAMES_PROLOGUE(getgrouplist, &groups, -1, user, group, list, ngroups);
	int saved = errno;
	int rc = grouplist(user, group, list, ngroups);
	if (errno != ENOMEM)
		errno = saved;
	return rc;
}
