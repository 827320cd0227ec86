/*
 * id.c - the fake identity: every process of a session is root until it
 * says otherwise.  The state lives in the process and in the environment
 * (FAKEBUILD_IDS, FAKEBUILD_GROUPS), so children inherit it across exec;
 * setuid(1000) is seen by that process and its children.
 *
 * The setters follow the kernel's rules for a process with (fake)
 * CAP_SETUID / CAP_SETGID, and for one without, after it dropped root;
 * the capabilities themselves are faked below.
 */
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fb.h"

struct ids {
	uid_t r, e, s, fs;
};

static struct ids uids, gids;
/* Supplementary groups: a few in place, the kernel's maximum only when
 * a program sets that many (see FB_BSS_LATE). */
static gid_t few_groups[32];
static gid_t many_groups[NGROUPS_MAX > 65536 ? 65536 : NGROUPS_MAX] FB_BSS_LATE(2);
static gid_t *groups = few_groups;
static int ngroups = -1;
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;

#define MAX_GROUPS (sizeof many_groups / sizeof many_groups[0])
static void settle(void);

/*
 * Capabilities, kept as the kernel keeps them for a process that changes
 * its ids (capabilities(7), "Effect of user ID changes on capabilities"):
 * root has all of them; dropping every id to non-zero clears them unless
 * the process asked to keep them (PR_SET_KEEPCAPS: the kernel's own flag,
 * read back with prctl), and an effective id leaving 0 clears the
 * effective set, which capset may raise again to the permitted one.  The
 * privileged id calls need CAP_SETUID or CAP_SETGID, not an effective uid
 * of 0: setpriv(1) drops the uid first and sets the gid with the
 * CAP_SETGID it kept.  A program starts with what its ids give it, as
 * after exec: all for root, none else (file capabilities aside).
 */
#define CAPS_ALL ((UINT64_C(1) << (CAP_LAST_CAP + 1)) - 1)
#define HAS_CAP(c) (caps_load(), has_cap(c))
/* The capability that sets the user ids (GID 0) or the group ids. */
#define SET_CAP(gid) ((gid) ? CAP_SETGID : CAP_SETUID)
static uint64_t cap_eff, cap_perm, cap_inh;
static int caps_loaded;

static int has_cap(int c)
{
	return (int)((cap_eff >> c) & 1);
}

/*
 * "All" is the bounding set, as for a real root: a container may have
 * dropped some.  Read on first use only (a prctl per capability), from
 * the ids load() found.  Locked or not: the result is the same.
 */
static void caps_load(void)
{
	settle();
	if (__atomic_load_n(&caps_loaded, __ATOMIC_ACQUIRE))
		return;
	uint64_t bset = 0;
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			bset |= UINT64_C(1) << c;
	pthread_mutex_lock(&id_lock);
	if (!caps_loaded) {
		cap_perm = uids.r == 0 || uids.e == 0 ? bset : 0;
		cap_eff = uids.e == 0 ? cap_perm : 0;
		__atomic_store_n(&caps_loaded, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&id_lock);
}

/* Room for N groups in `groups`, keeping its contents.  Locked. */
static void groups_room(size_t n)
{
	if (n > sizeof few_groups / sizeof few_groups[0] && groups == few_groups) {
		memcpy(many_groups, few_groups, sizeof few_groups);
		groups = many_groups;
	}
}

/*
 * The entries last published, "FAKEBUILD_IDS=..." and
 * "FAKEBUILD_GROUPS=...": exec.c puts them in a new program's environment
 * in place of what it has (su -, runuser -l: clearenv, then setuid's ids
 * must still hold; bash execs with its own copy of the environment, taken
 * before it changed its ids).  Empty while this process has the ids its
 * environment gave it: it changed none, and its exec changed none.
 */
static char ids_entry[FB_IDS_ENTRY_MAX];
static char groups_entry[4096 + 32] FB_BSS_LATE(2);

/*
 * A child of vfork(2) runs in its parent's memory until it execs or
 * exits, and may change its ids in between (a launcher's setuid before
 * its exec): they would become the parent's.  The child's first change
 * keeps the parent's state here (keep_parent), and the parent takes it
 * back on its next use of its ids (settle).  The child's changes stay out
 * of the environment, also its parent's: its exec takes them from
 * ids_entry (exec.c).
 */
static int parent_kept;	/* here, not in the late pages of `parent`, which settle() would touch */
static struct {
	struct ids u, g;
	uint64_t eff, perm, inh;
	int caps_loaded, ngroups;
	gid_t *groups;
	char ids_entry[sizeof ids_entry];
	char groups_entry[sizeof groups_entry];
} parent FB_BSS_LATE(2);
static gid_t parent_groups[MAX_GROUPS] FB_BSS_LATE(2);

/* Before a change of the state: in a vfork child, keep the parent's.  Locked. */
static void keep_parent(void)
{
	if (parent_kept || !fb_in_vfork_child())
		return;
	parent.u = uids, parent.g = gids;
	parent.eff = cap_eff, parent.perm = cap_perm, parent.inh = cap_inh;
	parent.caps_loaded = caps_loaded, parent.ngroups = ngroups, parent.groups = groups;
	memcpy(parent_groups, groups, (size_t)(ngroups > 0 ? ngroups : 0) * sizeof *groups);
	memcpy(parent.ids_entry, ids_entry, sizeof ids_entry);
	memcpy(parent.groups_entry, groups_entry, sizeof groups_entry);
	__atomic_store_n(&parent_kept, 1, __ATOMIC_RELEASE);
}

/* In the parent of a vfork child that changed the state: take it back. */
static void settle(void)
{
	if (__builtin_expect(!__atomic_load_n(&parent_kept, __ATOMIC_ACQUIRE), 1) || fb_in_vfork_child())
		return;
	pthread_mutex_lock(&id_lock);
	if (parent_kept) {
		uids = parent.u, gids = parent.g;
		cap_eff = parent.eff, cap_perm = parent.perm, cap_inh = parent.inh;
		caps_loaded = parent.caps_loaded, ngroups = parent.ngroups, groups = parent.groups;
		memcpy(groups, parent_groups, (size_t)(ngroups > 0 ? ngroups : 0) * sizeof *groups);
		memcpy(ids_entry, parent.ids_entry, sizeof ids_entry);
		memcpy(groups_entry, parent.groups_entry, sizeof groups_entry);
		__atomic_store_n(&parent_kept, 0, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&id_lock);
}

/* "FAKEBUILD_IDS=" and the ids U and G, in BUF of LEN bytes. */
static void entry_of(char *buf, size_t len, const struct ids *u, const struct ids *g)
{
	snprintf(buf, len, "FAKEBUILD_IDS=%u:%u:%u:%u:%u:%u:%u:%u", u->r, u->e, u->s, u->fs,
		 g->r, g->e, g->s, g->fs);
}

/* "FAKEBUILD_IDS=" and this process's ids.  Locked. */
static void entry(char *buf, size_t len)
{
	entry_of(buf, len, &uids, &gids);
}

/*
 * What execve(2) did to the ids in FAKEBUILD_IDS, those of the process
 * that ran this program (execve(2), credentials(7)): a set-user-ID or
 * set-group-ID program makes its owner or group, as its record says, the
 * effective id; then the saved and filesystem ids become the effective
 * ones.  The program is /proc/self/exe, for a script its interpreter,
 * whose bits are the ones the kernel honours.  Not on a nosuid mount, or
 * under no_new_privs, as the kernel.  A table that never held such a
 * program costs nothing here.
 */
static int setid_program(struct statx *x)
{
	struct fb_table *t = fb_table();
	struct statfs64 sf;
	return t && fb_table_has_setid(t) &&
	       fb_statx_core(AT_FDCWD, "/proc/self/exe", 0, FB_STATX_MASK, x) == 0 &&
	       S_ISREG(x->stx_mode) && (x->stx_mode & (S_ISUID | S_ISGID)) &&
	       prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 && statfs64("/proc/self/exe", &sf) == 0 &&
	       !(sf.f_flags & ST_NOSUID);
}

/* Locked; X from setid_program when it said yes, else NULL. */
static void exec_ids(const struct statx *x)
{
	if (x && (x->stx_mode & S_ISUID))
		uids.e = x->stx_uid;
	/* Without group execute, S_ISGID marks mandatory locking, not a set-group-ID program. */
	if (x && (x->stx_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		gids.e = x->stx_gid;
	uids.s = uids.fs = uids.e;
	gids.s = gids.fs = gids.e;
}

static void load(void)
{
	settle();
	if (__atomic_load_n(&ngroups, __ATOMIC_ACQUIRE) >= 0)
		return;
	/* Outside the lock: the stat may call back into this file. */
	struct statx prog;
	const int setid = setid_program(&prog);
	pthread_mutex_lock(&id_lock);
	if (ngroups < 0) {
		const char *s = getenv("FAKEBUILD_IDS");
		unsigned long long v[8] = { 0 };
		if (!s || fb_parse_ulls(s, ':', v, 8) < 0)
			memset(v, 0, sizeof v);
		for (int i = 0; i < 8; i++)
			if (v[i] > UINT_MAX)
				v[i] = 0;
		uids = (struct ids){ (uid_t)v[0], (uid_t)v[1], (uid_t)v[2], (uid_t)v[3] };
		gids = (struct ids){ (gid_t)v[4], (gid_t)v[5], (gid_t)v[6], (gid_t)v[7] };
		const struct ids u0 = uids, g0 = gids;
		exec_ids(setid ? &prog : NULL);
		if (memcmp(&u0, &uids, sizeof u0) || memcmp(&g0, &gids, sizeof g0))
			entry(ids_entry, sizeof ids_entry);
		size_t n = 0;
		const char *g = getenv("FAKEBUILD_GROUPS");
		if (!g)
			groups[n++] = 0;
		unsigned long long x;
		while (g && n < MAX_GROUPS && fb_parse_ull(&g, &x) == 0 && x <= UINT_MAX) {
			groups_room(n + 1);
			groups[n++] = (gid_t)x;
			if (*g == ',')
				g++;
		}
		__atomic_store_n(&ngroups, (int)n, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&id_lock);
}

/* Publish the state to the environment for children (not a vfork
 * child's: see keep_parent).  Locked. */
static void save(void)
{
	entry(ids_entry, sizeof ids_entry);
	if (parent_kept)
		return;
	fb_guard++;
	setenv("FAKEBUILD_IDS", ids_entry + sizeof "FAKEBUILD_IDS=" - 1, 1);
	fb_guard--;
}

static void save_groups(void)
{
	static const char pfx[] = "FAKEBUILD_GROUPS=";
	const size_t n = sizeof pfx - 1;
	char *buf = groups_entry + n;
	const size_t cap = sizeof groups_entry - n;
	size_t off = 0;
	memcpy(groups_entry, pfx, n);
	buf[0] = 0;
	for (int i = 0; i < ngroups && off + 12 < cap; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%s%u", i ? "," : "", groups[i]);
	if (parent_kept)
		return;
	fb_guard++;
	setenv("FAKEBUILD_GROUPS", buf, 1);
	fb_guard--;
}

const char *fb_id_reset_entry(char *buf, size_t len)
{
	load();
	pthread_mutex_lock(&id_lock);
	const struct ids u = { uids.r, uids.r, uids.r, uids.r }, g = { gids.r, gids.r, gids.r, gids.r };
	pthread_mutex_unlock(&id_lock);
	entry_of(buf, len, &u, &g);
	return buf;
}

const char *fb_id_entry(int groups_too)
{
	/* A set-id program that never asked for its ids has them from its
	 * exec all the same, and passes them on (a wrapper that execs);
	 * not once it cleared its environment (env -i), which held them and
	 * the table: then the ids it was started with are passed on. */
	if (getenv("FAKEBUILD_TABLE"))
		load();
	const char *e = groups_too ? groups_entry : ids_entry;
	return e[0] ? e : NULL;
}

uid_t fb_fsuid(void)
{
	load();
	return uids.fs;
}

gid_t fb_fsgid(void)
{
	load();
	return gids.fs;
}

#define GETTER(type, name, set, field)          \
	FB_EXPORT type name(void)               \
	{                                       \
		FB_REAL(name);                  \
		if (!fb_enter())                \
			return real_##name ? real_##name() : (type)-1; \
		load();                         \
		return set.field;               \
	}

GETTER(uid_t, getuid, uids, r)
GETTER(uid_t, geteuid, uids, e)
GETTER(gid_t, getgid, gids, r)
GETTER(gid_t, getegid, gids, e)

FB_EXPORT int getresuid(uid_t *r, uid_t *e, uid_t *s)
{
	FB_PROLOGUE(getresuid, r, e, s);
	load();
	*r = uids.r, *e = uids.e, *s = uids.s;
	return fb_ret(0);
}

FB_EXPORT int getresgid(gid_t *r, gid_t *e, gid_t *s)
{
	FB_PROLOGUE(getresgid, r, e, s);
	load();
	*r = gids.r, *e = gids.e, *s = gids.s;
	return fb_ret(0);
}

/*
 * setres[ug]id as the kernel does it: with (fake) privilege any value;
 * without, each new value must be one of the current real, effective or
 * saved ids.  -1 leaves a field alone; fs follows the effective id.
 */
static int setres(struct ids *x, uid_t r, uid_t e, uid_t s, int privileged)
{
	const uid_t none = (uid_t)-1;
	uid_t v[3] = { r, e, s };
	if (!privileged)
		for (int i = 0; i < 3; i++)
			if (v[i] != none && v[i] != x->r && v[i] != x->e && v[i] != x->s)
				return -EPERM;
	if (r != none)
		x->r = r;
	if (e != none)
		x->e = e;
	if (s != none)
		x->s = s;
	x->fs = x->e;
	return 0;
}

/* What a change of the uids from OLD to uids does to the capabilities.  Locked. */
static void caps_after_setuid(const struct ids *old)
{
	int keep = prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 1;
	if ((old->r == 0 || old->e == 0 || old->s == 0) && uids.r && uids.e && uids.s && !keep)
		cap_perm = cap_eff = 0;
	if (old->e == 0 && uids.e != 0)
		cap_eff = 0;
	else if (old->e != 0 && uids.e == 0)
		cap_eff = cap_perm;
}

static int set_ids(int gid, uid_t r, uid_t e, uid_t s)
{
	load();
	caps_load();
	pthread_mutex_lock(&id_lock);
	keep_parent();
	const struct ids old = uids;
	int rc = setres(gid ? &gids : &uids, r, e, s, has_cap(SET_CAP(gid)));
	if (rc == 0) {
		if (!gid)
			caps_after_setuid(&old);
		save();
	}
	pthread_mutex_unlock(&id_lock);
	return rc;
}

FB_EXPORT int setresuid(uid_t r, uid_t e, uid_t s)
{
	FB_PROLOGUE(setresuid, r, e, s);
	return fb_ret(set_ids(0, r, e, s));
}

FB_EXPORT int setresgid(gid_t r, gid_t e, gid_t s)
{
	FB_PROLOGUE(setresgid, r, e, s);
	return fb_ret(set_ids(1, r, e, s));
}

/* setuid(x): privileged sets all three; otherwise only the effective id. */
FB_EXPORT int setuid(uid_t u)
{
	FB_PROLOGUE(setuid, u);
	load();
	return fb_ret(HAS_CAP(SET_CAP(0)) ? set_ids(0, u, u, u) : set_ids(0, (uid_t)-1, u, (uid_t)-1));
}

FB_EXPORT int setgid(gid_t g)
{
	FB_PROLOGUE(setgid, g);
	load();
	return fb_ret(HAS_CAP(SET_CAP(1)) ? set_ids(1, g, g, g) : set_ids(1, (gid_t)-1, g, (gid_t)-1));
}

FB_EXPORT int seteuid(uid_t u)
{
	FB_PROLOGUE(seteuid, u);
	return fb_ret(set_ids(0, (uid_t)-1, u, (uid_t)-1));
}

FB_EXPORT int setegid(gid_t g)
{
	FB_PROLOGUE(setegid, g);
	return fb_ret(set_ids(1, (gid_t)-1, g, (gid_t)-1));
}

/* setreuid: a changed real id (or effective != old real) also sets saved = effective. */
static int setre(int gid, uid_t r, uid_t e)
{
	load();
	struct ids *x = gid ? &gids : &uids;
	uid_t s = (uid_t)-1;
	if (r != (uid_t)-1 || (e != (uid_t)-1 && e != x->r))
		s = e != (uid_t)-1 ? e : x->e;
	return set_ids(gid, r, e, s);
}

FB_EXPORT int setreuid(uid_t r, uid_t e)
{
	FB_PROLOGUE(setreuid, r, e);
	return fb_ret(setre(0, r, e));
}

FB_EXPORT int setregid(gid_t r, gid_t e)
{
	FB_PROLOGUE(setregid, r, e);
	return fb_ret(setre(1, r, e));
}

/* setfs[ug]id returns the previous value and never fails visibly. */
static int setfs(int gid, uid_t v)
{
	load();
	caps_load();
	pthread_mutex_lock(&id_lock);
	keep_parent();
	struct ids *x = gid ? &gids : &uids;
	uid_t old = x->fs;
	if (v != (uid_t)-1 && (has_cap(SET_CAP(gid)) || v == x->r || v == x->e || v == x->s)) {
		x->fs = v;
		save();
	}
	pthread_mutex_unlock(&id_lock);
	return (int)old;
}

FB_EXPORT int setfsuid(uid_t u)
{
	FB_REAL(setfsuid);
	if (!fb_enter())
		return real_setfsuid ? real_setfsuid(u) : -1;
	return setfs(0, u);
}

FB_EXPORT int setfsgid(gid_t g)
{
	FB_REAL(setfsgid);
	if (!fb_enter())
		return real_setfsgid ? real_setfsgid(g) : -1;
	return setfs(1, g);
}

FB_EXPORT int getgroups(int size, gid_t list[])
{
	FB_PROLOGUE(getgroups, size, list);
	load();
	if (size == 0)
		return fb_ret(ngroups);
	if (size < ngroups)
		return fb_ret(-EINVAL);
	memcpy(list, groups, (size_t)ngroups * sizeof *list);
	return fb_ret(ngroups);
}

static int gid_cmp(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return (x > y) - (x < y);
}

/* The kernel keeps the list sorted (groups_sort), and getgroups shows it so. */
static int set_groups(size_t n, const gid_t *list)
{
	load();
	if (!HAS_CAP(CAP_SETGID))
		return -EPERM;
	if (n > MAX_GROUPS)
		return -EINVAL;
	pthread_mutex_lock(&id_lock);
	keep_parent();
	groups_room(n);
	memcpy(groups, list, n * sizeof *list);
	qsort(groups, n, sizeof *groups, gid_cmp);
	ngroups = (int)n;
	save_groups();
	pthread_mutex_unlock(&id_lock);
	return 0;
}

FB_EXPORT int setgroups(size_t n, const gid_t *list)
{
	FB_PROLOGUE(setgroups, n, list);
	return fb_ret(set_groups(n, list));
}

FB_EXPORT int initgroups(const char *user, gid_t group)
{
	FB_PROLOGUE(initgroups, user, group);
	gid_t list[256];
	int n = (int)(sizeof list / sizeof list[0]);
	if (fb_getgrouplist(user, group, list, &n) < 0)
		n = (int)(sizeof list / sizeof list[0]);
	return fb_ret(set_groups((size_t)n, list));
}

/*
 * capget and capset of this process see and change the capabilities
 * above; the kernel's stay as they are.  Another process's go to the
 * kernel.  The header's version is checked as the kernel checks it (an
 * unknown one is answered with the one it knows, and EINVAL).  glibc
 * exports both but only libcap's header declares them.
 */
static int cap_words(cap_user_header_t hdr)
{
	switch (hdr->version) {
	case _LINUX_CAPABILITY_VERSION_1:
		return _LINUX_CAPABILITY_U32S_1;
	case _LINUX_CAPABILITY_VERSION_2:
	case _LINUX_CAPABILITY_VERSION_3:
		return _LINUX_CAPABILITY_U32S_3;
	}
	hdr->version = _LINUX_CAPABILITY_VERSION_3;
	return -EINVAL;
}

static int is_self(cap_user_header_t hdr)
{
	return hdr->pid == 0 || hdr->pid == getpid();
}

int capget(cap_user_header_t hdr, cap_user_data_t data);
FB_EXPORT int capget(cap_user_header_t hdr, cap_user_data_t data)
{
	FB_PROLOGUE(capget, hdr, data);
	if (!is_self(hdr))
		return fb_ret(real_capget(hdr, data) < 0 ? -errno : 0);
	int n = cap_words(hdr);
	if (!data)
		return fb_ret(0);	/* a probe: the kernel answers an unknown version so too */
	if (n < 0)
		return fb_ret(n);
	load();
	caps_load();
	pthread_mutex_lock(&id_lock);
	for (int i = 0; i < n; i++) {
		data[i].effective = (uint32_t)(cap_eff >> (32 * i));
		data[i].permitted = (uint32_t)(cap_perm >> (32 * i));
		data[i].inheritable = (uint32_t)(cap_inh >> (32 * i));
	}
	pthread_mutex_unlock(&id_lock);
	return fb_ret(0);
}

int capset(cap_user_header_t hdr, const cap_user_data_t data);
FB_EXPORT int capset(cap_user_header_t hdr, const cap_user_data_t data)
{
	FB_PROLOGUE(capset, hdr, data);
	int n = cap_words(hdr);
	if (n < 0)
		return fb_ret(n);
	if (!is_self(hdr))
		return fb_ret(-EPERM);
	uint64_t e = 0, p = 0, in = 0;
	for (int i = 0; i < n; i++) {
		e |= (uint64_t)data[i].effective << (32 * i);
		p |= (uint64_t)data[i].permitted << (32 * i);
		in |= (uint64_t)data[i].inheritable << (32 * i);
	}
	load();
	caps_load();
	pthread_mutex_lock(&id_lock);
	keep_parent();
	/* Never more than it has; effective within permitted. */
	int rc = (p & ~cap_perm) || (e & ~p) ? -EPERM : 0;
	if (rc == 0) {
		cap_eff = e & CAPS_ALL;
		cap_perm = p & CAPS_ALL;
		cap_inh = in & CAPS_ALL;
	}
	pthread_mutex_unlock(&id_lock);
	return fb_ret(rc);
}

/*
 * Capability C for the file calls below, without reading the bounding set
 * (a system call per capability) in every process that chowns: until a
 * process changes its ids or capabilities (which load them), it has all
 * of them if its effective uid is 0, else none.
 */
int fb_file_cap(int c)
{
	settle();
	if (__atomic_load_n(&caps_loaded, __ATOMIC_ACQUIRE))
		return has_cap(c);
	load();
	return uids.e == 0;
}

static int in_group(gid_t g)
{
	settle();
	pthread_mutex_lock(&id_lock);
	int in = gids.fs == g;
	for (int i = 0; !in && i < ngroups; i++)
		in = groups[i] == g;
	pthread_mutex_unlock(&id_lock);
	return in;
}

/*
 * May a process keep the setgid bit on a file of group G (the kernel's
 * in_group_or_capable: G is its fsgid or a supplementary group, or it has
 * CAP_FSETID)?
 */
int fb_may_keep_setgid(gid_t g)
{
	return fb_file_cap(CAP_FSETID) || in_group(g);
}

/*
 * The kernel's chown_ok and chgrp_ok for a file of OWNER:GROUP, to UID and
 * GID (-1: unchanged): CAP_CHOWN, or the owner keeping the owner and
 * giving a group it is in.  0 or -EPERM.
 */
int fb_may_chown(uid_t owner, gid_t group, uid_t uid, gid_t gid)
{
	if (fb_file_cap(CAP_CHOWN))
		return 0;
	uid_t fs = fb_fsuid();
	if (uid != (uid_t)-1 && (fs != owner || uid != owner))
		return -EPERM;
	if (gid != (gid_t)-1 && (fs != owner || (gid != group && !in_group(gid))))
		return -EPERM;
	return 0;
}

/* The kernel's inode_owner_or_capable, for chmod: 0 or -EPERM. */
int fb_may_chmod(uid_t owner)
{
	return fb_file_cap(CAP_FOWNER) || fb_fsuid() == owner ? 0 : -EPERM;
}
