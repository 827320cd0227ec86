/*
 * limit.c - --limit NAME=VALUE[,NAME=VALUE...] for a build root.
 *
 * setrlimit limits (inherited by every process of the build):
 *   as=SIZE      address space of each process    (RLIMIT_AS)
 *   cpu=SECONDS  CPU time of each process          (RLIMIT_CPU)
 *   nproc=N      processes of the build's user     (RLIMIT_NPROC; counted
 *                per user namespace, so the root's processes only)
 *   fsize=SIZE   largest file a process may write  (RLIMIT_FSIZE)
 *   nofile=N     open files of each process        (RLIMIT_NOFILE)
 * cgroup v2 limits of the whole build, its pid 1 included, where the user
 * has a delegated subtree (systemd: a scope or service with Delegate=yes):
 *   memory=SIZE  memory.max, and memory.swap.max 0 (no swap to spill into)
 *   pids=N       pids.max: processes and threads
 *   cpus=N[.NNN] cpu.max: N CPUs' worth of time in every 100 ms
 * SIZE takes a K, M, G or T suffix (powers of 1024).
 *
 * Where the build's cgroup goes.  cgroup v2 lets a cgroup hand a
 * controller to its children only while it holds no process itself (the
 * "no internal processes" rule), and a user may make cgroups only where
 * the directory, its cgroup.procs and cgroup.subtree_control are theirs
 * (what systemd's Delegate=yes chowns).  So, as systemd's
 * CGROUP_DELEGATION.md asks of a manager started in a delegated cgroup C
 * (and as crun places containers under the scope it gets):
 *   C/fakebuild-PID        fakebuild itself, and its watcher
 *   C/fakebuild-PID-build  the build: pid 1, moved in before it runs
 *                          anything, and so everything it starts; limited
 * with the controllers enabled in C's cgroup.subtree_control.  fakebuild
 * must be alone in C, as systemd-run --user --scope -p Delegate=yes starts
 * it: moving the user's other processes out of their cgroup would surprise
 * them, and a sibling of C is outside the delegation (the manager above
 * owns it and may rewrite it under the build).  The root of the hierarchy
 * (no such rule) takes the build's cgroup directly.
 *
 * At the end everything is undone in reverse: the build's cgroup removed,
 * C's cgroup.subtree_control as it was, fakebuild and the watcher back in
 * C, fakebuild's cgroup removed.  If fakebuild is killed, the watcher does
 * the same once fakebuild and pid 1 are gone; if both are killed, the next
 * fakebuild in C removes the empty cgroups of a fakebuild no longer running.
 *
 * Everything that can be checked is checked before anything is made, and
 * refused with what is missing and what to change.
 *
 * Test-only hook (tests/e2e/t_root.sh): FAKEBUILD_TEST_CGROUP=nocontrollers
 * makes the cgroup limits need no controller and write no limit: the
 * placement runs on a machine whose cgroup v2 hierarchy has none.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fakebuild.h"
#include "root.h"

enum { CTL_MEMORY = 1, CTL_PIDS = 2, CTL_CPU = 4 };
static const char *const ctl_names[] = { "memory", "pids", "cpu" };
#define NCTL 3

/* Path buffers: a cgroup (PATH_MAX), one of ours in it, a file of that. */
#define CG_DIR 4096
#define CG_NAME (CG_DIR + 64)
#define CG_FILE (CG_NAME + 64)

#define CPU_PERIOD 100000	/* cpu.max's period, microseconds */
#define HINT "run fakebuild in a cgroup of its own that you may manage, e.g. " \
	"systemd-run --user --scope -p Delegate=yes fakebuild ..."

enum unit { NUMBER, SIZE, DECIMAL };	/* DECIMAL: in thousandths */

static const struct kind {
	const char *name;
	int resource;		/* -1: cgroup v2 */
	enum unit unit;
	unsigned ctl;		/* cgroup v2: its controller */
} kinds[] = {
	{ "as", RLIMIT_AS, SIZE, 0 },
	{ "cpu", RLIMIT_CPU, NUMBER, 0 },
	{ "nproc", RLIMIT_NPROC, NUMBER, 0 },
	{ "fsize", RLIMIT_FSIZE, SIZE, 0 },
	{ "nofile", RLIMIT_NOFILE, NUMBER, 0 },
	{ "memory", -1, SIZE, CTL_MEMORY },
	{ "pids", -1, NUMBER, CTL_PIDS },
	{ "cpus", -1, DECIMAL, CTL_CPU },
};

static int kind_of(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strlen(kinds[i].name) == len && strncmp(kinds[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

/* ---- parsing ------------------------------------------------------------- */

/* The value V (up to END) of one NAME=VALUE of ARG. */
static uint64_t parse_value(const char *arg, const struct kind *k, const char *v, const char *end)
{
	int n = (int)(end - v);
	if (v == end || !isdigit((unsigned char)*v))
		die("--limit %s: '%.*s' is not a number", arg, n, v);
	char *e;
	errno = 0;
	uint64_t x = strtoull(v, &e, 10);
	if (errno)
		die("--limit %s: %.*s is too large", arg, n, v);
	if (k->unit == SIZE && e < end) {
		const char *units = "KMGT";
		const char *u = strchr(units, *e);
		if (!u || !*e)
			die("--limit %s: unknown size suffix '%c' (K, M, G or T)", arg, *e);
		unsigned shift = 10 * (unsigned)(u - units + 1);
		if (x > UINT64_MAX >> shift)
			die("--limit %s: %.*s is too large", arg, n, v);
		x <<= shift;
		e++;
	} else if (k->unit == DECIMAL) {
		if (x > UINT64_MAX / 1000 / CPU_PERIOD)
			die("--limit %s: %.*s is too large", arg, n, v);
		x *= 1000;
		if (e < end && *e == '.') {
			uint64_t f = 0, scale = 100;
			for (e++; e < end && isdigit((unsigned char)*e) && scale; e++, scale /= 10)
				f += (uint64_t)(*e - '0') * scale;
			if (e < end && isdigit((unsigned char)*e))
				die("--limit %s: %.*s has more than three decimals", arg, n, v);
			x += f;
		}
	}
	if (e != end)
		die("--limit %s: unexpected '%.*s'", arg, (int)(end - e), e);
	if (k->unit == DECIMAL && x < 10)
		die("--limit %s: %s must be at least 0.01 (cpu.max's least is 1 ms in every 100 ms)", arg,
		    k->name);
	if (k->ctl && x == 0)
		die("--limit %s: %s must be more than 0", arg, k->name);
	return x;
}

void fb_limit_parse(struct fb_root *r, const char *arg)
{
	const char *p = arg;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		int k = eq ? kind_of(p, (size_t)(eq - p)) : -1;
		if (k < 0)
			die("--limit %s: expected NAME=VALUE, NAME one of as, cpu, nproc, fsize, nofile, "
			    "memory, pids, cpus", arg);
		uint64_t v = parse_value(arg, &kinds[k], eq + 1, p + len);
		if (r->nlim == FB_ROOT_LIMITS)
			die("--limit: too many limits");
		r->lim[r->nlim++] = (struct fb_limit){ kinds[k].resource, kinds[k].name, v };
		p += len;
		if (*p == ',')
			p++;
	}
}

/* ---- cgroup files ---------------------------------------------------------- */

/* PATH (a small file) into BUF, NUL-terminated: its length, or -errno. */
static ssize_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = 0;
	return n;
}

/* Is WORD one of the space-separated words of the file DIR/NAME? */
static int lists(const char *dir, const char *name, const char *word)
{
	char p[CG_FILE], buf[1024];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (slurp(p, buf, sizeof buf) < 0)
		return 0;
	for (char *save, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (strcmp(t, word) == 0)
			return 1;
	return 0;
}

static int move_to(const char *dir, pid_t pid)
{
	char p[CG_FILE], s[24];
	snprintf(p, sizeof p, "%s/cgroup.procs", dir);
	snprintf(s, sizeof s, "%d", (int)pid);
	return fb_put_file(p, s);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * rmdir a cgroup of ours, waiting up to MS for it to empty: the processes
 * of a namespace that just ended may take a moment to leave it.  0 or -errno.
 */
static int rmdir_wait(const char *path, long ms)
{
	for (long t = 0;; t += 10) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || t >= ms)
			return -errno;
		sleep_ms(10);
	}
}

static void names(const char *dir, pid_t owner, char *self, char *build, size_t len)
{
	snprintf(self, len, "%s/fakebuild-%d", dir, (int)owner);
	snprintf(build, len, "%s/fakebuild-%d-build", dir, (int)owner);
}

/* "memory pids" for MASK, each word after PREFIX ("+", "-" or ""). */
static void ctl_list(unsigned mask, const char *prefix, char *out, size_t len)
{
	size_t n = 0;
	out[0] = 0;
	for (int i = 0; i < NCTL; i++)
		if (mask & (1u << i))
			n += (size_t)snprintf(out + n, len - n, "%s%s%s", n ? " " : "", prefix, ctl_names[i]);
}

/* ---- where fakebuild's cgroup is ----------------------------------------- */

/* Undo mountinfo's octal escapes (\040 for a space...) in place. */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/*
 * One line of /proc/self/mountinfo: its root and mount point (unescaped),
 * file system type and super options.  0, or -1 for a line not understood.
 */
static int mount_fields(char *line, char *root, char *mp, char *type, char *opts)
{
	char *sep = strstr(line, " - ");
	if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
	    sscanf(sep + 3, "%63s %*s %1023s", type, opts) != 2)
		return -1;
	unescape(root);
	unescape(mp);
	return 0;
}

/*
 * fakebuild's cgroup v2 directory (DIR) and the top of the cgroup2 mount
 * it is under (TOP: the hierarchy's root, or a cgroup namespace's):
 * 0, or -1 with WHY.  /proc/self/cgroup's 0:: line names the group, from
 * the root of our cgroup namespace, as mountinfo's root of each cgroup2
 * mount does (/ on a hybrid system's /sys/fs/cgroup/unified as well).
 */
static int locate(char *dir, char *top, size_t len, char *why, size_t wlen)
{
	char *line = NULL, path[4096] = "";
	size_t cap = 0;
	FILE *f = fopen("/proc/self/cgroup", "re");
	while (f && getline(&line, &cap, f) > 0)
		if (strncmp(line, "0::", 3) == 0 && strlen(line + 3) < sizeof path)
			snprintf(path, sizeof path, "%.*s", (int)strcspn(line + 3, "\n"), line + 3);
	if (f)
		fclose(f);
	int mounts = 0, found = 0;
	f = path[0] ? fopen("/proc/self/mountinfo", "re") : NULL;
	while (f && !found && getline(&line, &cap, f) > 0) {
		char root[4096], mp[4096], type[64], opts[1024];
		if (mount_fields(line, root, mp, type, opts) < 0 || strcmp(type, "cgroup2") != 0)
			continue;
		mounts++;
		size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (strncmp(path, root, rl) != 0 || (path[rl] != '/' && path[rl] != 0))
			continue;
		const char *rel = strcmp(path + rl, "/") == 0 ? "" : path + rl;
		struct stat st;
		if (snprintf(dir, len, "%s%s", mp, rel) < (int)len && stat(dir, &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			snprintf(top, len, "%s", mp);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	free(line);
	if (found)
		return 0;
	if (!path[0])
		snprintf(why, wlen, "fakebuild is in no cgroup v2 group (/proc/self/cgroup has no 0:: "
			 "line): this kernel has no cgroup v2");
	else if (!mounts)
		snprintf(why, wlen, "no cgroup2 file system is mounted (none in /proc/self/mountinfo; "
			 "as root: mount -t cgroup2 cgroup2 /sys/fs/cgroup)");
	else
		snprintf(why, wlen, "fakebuild's cgroup %s is under no cgroup2 mount of this mount "
			 "namespace (/proc/self/mountinfo)", path);
	return -1;
}

/* Why the hierarchy at TOP lacks the controller CTL, from /proc/cgroups. */
static void why_absent(const char *ctl, const char *top, char *out, size_t len)
{
	char *line = NULL;
	size_t cap = 0;
	int hier = -1, enabled = -1;
	FILE *f = fopen("/proc/cgroups", "re");
	while (f && getline(&line, &cap, f) > 0) {
		char name[64];
		int h, n, e;
		if (sscanf(line, "%63s %d %d %d", name, &h, &n, &e) == 4 && strcmp(name, ctl) == 0)
			hier = h, enabled = e;
	}
	if (f)
		fclose(f);
	char v1[4096] = "";
	f = hier > 0 ? fopen("/proc/self/mountinfo", "re") : NULL;
	while (f && !v1[0] && getline(&line, &cap, f) > 0) {
		char root[4096], mp[4096], type[64], opts[1024], word[80];
		snprintf(word, sizeof word, ",%s,", ctl);
		char o[1100];
		if (mount_fields(line, root, mp, type, opts) == 0 && strcmp(type, "cgroup") == 0 &&
		    snprintf(o, sizeof o, ",%s,", opts) > 0 && strstr(o, word))
			snprintf(v1, sizeof v1, "%s", mp);
	}
	if (f)
		fclose(f);
	free(line);
	if (hier < 0)
		snprintf(out, len, "this kernel has no '%s' controller", ctl);
	else if (enabled == 0)
		snprintf(out, len, "it is disabled on the kernel's command line (cgroup_disable=%s)", ctl);
	else if (hier > 0)
		snprintf(out, len, "it is bound to the cgroup v1 hierarchy %s%s, as on a hybrid "
			 "system (boot with systemd.unified_cgroup_hierarchy=1 to give every controller "
			 "to cgroup v2)", v1[0] ? "at " : "", v1[0] ? v1 : "of /proc/cgroups");
	else
		snprintf(out, len, "a cgroup above %s, outside this cgroup namespace or container, "
			 "does not pass it on", top);
}

/*
 * Processes in DIR other than us and SPARE (our watcher): how many, and
 * the first few named in OUT.
 */
static int others(const char *dir, pid_t spare, char *out, size_t len)
{
	char p[CG_FILE];
	snprintf(p, sizeof p, "%s/cgroup.procs", dir);
	FILE *f = fopen(p, "re");
	int pid, n = 0;
	size_t o = 0;
	out[0] = 0;
	while (f && fscanf(f, "%d", &pid) == 1) {
		if (pid == (int)getpid() || (spare > 0 && pid == (int)spare))
			continue;
		if (n++ < 3) {
			char cp[64], comm[64] = "?";
			snprintf(cp, sizeof cp, "/proc/%d/comm", pid);
			if (slurp(cp, comm, sizeof comm) > 0)
				comm[strcspn(comm, "\n")] = 0;
			o += (size_t)snprintf(out + o, len - o, "%spid %d (%s)", o ? ", " : "", pid, comm);
		}
	}
	if (f)
		fclose(f);
	if (n > 3)
		snprintf(out + o, len - o, " and %d more", n - 3);
	return n;
}

/* The first cgroup limit using controller bit CTL, for messages. */
static const char *limit_of(const struct fb_root *r, unsigned ctl)
{
	for (int i = 0; i < r->nlim; i++) {
		int k = kind_of(r->lim[i].name, strlen(r->lim[i].name));
		if (kinds[k].ctl == ctl)
			return r->lim[i].name;
	}
	return "";
}

/*
 * CTL is in the hierarchy but not in DIR's cgroup.controllers: the first
 * cgroup from TOP down whose cgroup.subtree_control does not pass it on.
 */
__attribute__((noreturn))
static void not_passed_on(const char *lim, const char *ctl, const char *dir, const char *top)
{
	char a[CG_DIR], file[CG_FILE];
	size_t tl = strlen(top);
	snprintf(a, sizeof a, "%s", top);
	file[0] = 0;
	for (const char *c = dir + tl; *c == '/';) {
		if (!lists(a, "cgroup.subtree_control", ctl)) {
			snprintf(file, sizeof file, "%s/cgroup.subtree_control", a);
			break;
		}
		size_t l = strcspn(c + 1, "/");
		snprintf(a + strlen(a), sizeof a - strlen(a), "/%.*s", (int)l, c + 1);
		c += l + 1;
	}
	if (!file[0])
		die("--limit %s: the cgroup v2 '%s' controller is not available to fakebuild's cgroup %s "
		    "(its cgroup.controllers lacks it)", lim, ctl, dir);
	struct stat st;
	if (access(file, W_OK) == 0)
		die("--limit %s: the cgroup v2 '%s' controller does not reach fakebuild's cgroup %s: "
		    "%s does not enable it (you may: echo +%s > %s; fakebuild changes only its own "
		    "cgroup's)", lim, ctl, dir, file, ctl, file);
	die("--limit %s: the cgroup v2 '%s' controller does not reach fakebuild's cgroup %s: "
	    "%s does not enable it, and only uid %u may (with systemd, Delegate= of the unit that "
	    "delegates to you names the controllers it passes on, e.g. user@.service's)",
	    lim, ctl, dir, file, stat(file, &st) == 0 ? (unsigned)st.st_uid : 0u);
}

void fb_limit_check(struct fb_root *r)
{
	struct fb_cgroup *cg = &r->cg;
	const char *who = NULL;	/* the first cgroup limit, for messages */
	for (int i = 0; i < r->nlim; i++) {
		if (r->lim[i].resource >= 0)
			continue;
		who = who ? who : r->lim[i].name;
		cg->need |= kinds[kind_of(r->lim[i].name, strlen(r->lim[i].name))].ctl;
	}
	if (!who)
		return;
	cg->wanted = 1;
	const char *hook = getenv("FAKEBUILD_TEST_CGROUP");
	if (hook && strcmp(hook, "nocontrollers") == 0)
		cg->need = 0;

	char top[CG_DIR], why[8400], p[CG_FILE];
	if (locate(cg->dir, top, sizeof top, why, sizeof why) < 0)
		die("--limit %s: needs cgroup v2, and %s; the setrlimit limits as, cpu, nproc, fsize "
		    "and nofile need nothing", who, why);
	/* Not in the hierarchy at all: no delegation can help. */
	for (int i = 0; i < NCTL; i++) {
		if (!(cg->need & (1u << i)) || lists(top, "cgroup.controllers", ctl_names[i]))
			continue;
		why_absent(ctl_names[i], top, why, sizeof why);
		die("--limit %s: the cgroup v2 hierarchy at %s has no '%s' controller (%s/cgroup.controllers "
		    "lacks it): %s", limit_of(r, 1u << i), top, ctl_names[i], top, why);
	}
	/* The hierarchy's root has no cgroup.type, and no rule against
	 * processes beside child cgroups. */
	snprintf(p, sizeof p, "%s/cgroup.type", cg->dir);
	char type[64];
	ssize_t tn = slurp(p, type, sizeof type);
	cg->is_root = tn == -ENOENT;
	if (tn >= 0 && strcmp(type, "domain\n") != 0)
		die("--limit %s: fakebuild's cgroup %s is of type %.*s (%s), and a build's memory, pids and "
		    "cpu limits need a domain cgroup; %s", who, cg->dir, (int)strcspn(type, "\n"), type,
		    p, HINT);
	/* Delegated: what systemd's Delegate=yes makes the user's. */
	const char *files[] = { "", "/cgroup.procs", "/cgroup.subtree_control" };
	for (int i = 0; i < (cg->is_root ? 2 : 3); i++) {
		struct stat st;
		snprintf(p, sizeof p, "%s%s", cg->dir, files[i]);
		if (access(p, W_OK | (i ? 0 : X_OK)) == 0)
			continue;
		die("--limit %s: fakebuild's cgroup %s is not delegated to you: %s is not writable "
		    "(owned by uid %u); %s", who, cg->dir, p, stat(p, &st) == 0 ? (unsigned)st.st_uid : 0u,
		    HINT);
	}
	/* Each controller passed on to fakebuild's cgroup from above. */
	for (int i = 0; i < NCTL; i++) {
		if (!(cg->need & (1u << i)))
			continue;
		if (cg->is_root && !lists(cg->dir, "cgroup.subtree_control", ctl_names[i]))
			die("--limit %s: the root cgroup %s does not enable the '%s' controller for its "
			    "children (as root: echo +%s > %s/cgroup.subtree_control)", limit_of(r, 1u << i),
			    cg->dir, ctl_names[i], ctl_names[i], cg->dir);
		if (!cg->is_root && !lists(cg->dir, "cgroup.controllers", ctl_names[i]))
			not_passed_on(limit_of(r, 1u << i), ctl_names[i], cg->dir, top);
	}
	/* Alone in it: the no-internal-processes rule. */
	char list[400];
	if (!cg->is_root && others(cg->dir, 0, list, sizeof list) > 0)
		die("--limit %s: fakebuild's cgroup %s holds other processes too (%s), and cgroup v2 "
		    "passes controllers on only from a cgroup that holds no process: fakebuild has to "
		    "be alone in it to move aside; %s", who, cg->dir, list, HINT);
}

/* ---- the build's cgroup --------------------------------------------------- */

/*
 * Cgroups of a fakebuild killed together with its watcher: empty (rmdir
 * fails otherwise), named after a pid that no longer runs.
 */
static void reclaim(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int pid, n = 0;
		if (sscanf(e->d_name, "fakebuild-%d%n", &pid, &n) != 1 || pid <= 0 ||
		    (e->d_name[n] && strcmp(e->d_name + n, "-build") != 0))
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		char self[CG_NAME], build[CG_NAME];
		names(dir, pid, self, build, sizeof self);
		rmdir(build);
		rmdir(self);
	}
	if (d)
		closedir(d);
}

/* "PID ENABLED MOVED DIR": what fb_limit_undo needs. */
static void spec(const struct fb_cgroup *cg, char *out, size_t len)
{
	snprintf(out, len, "%d %u %d %s", (int)cg->owner, cg->enabled, cg->moved, cg->dir);
}

/* What the limits did to the build, read before its cgroup goes. */
static void report(const char *build)
{
	static const struct {
		const char *file, *key, *lim, *what;
	} ev[] = {
		{ "memory.events", "oom_kill", "memory", "the build went over memory.max: the kernel "
		  "killed %ld of its processes" },
		{ "pids.events", "max", "pids", "the build reached pids.max: %ld forks failed" },
	};
	for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
		char p[CG_FILE], buf[1024];
		snprintf(p, sizeof p, "%s/%s", build, ev[i].file);
		if (slurp(p, buf, sizeof buf) < 0)
			continue;
		char key[80];
		snprintf(key, sizeof key, "%s ", ev[i].key);
		long n = 0;
		for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (strncmp(l, key, strlen(key)) == 0)
				n = strtol(l + strlen(key), NULL, 10);
		if (n <= 0)
			continue;
		char msg[200];
		snprintf(msg, sizeof msg, ev[i].what, n);
		warnx_("--limit %s: %s", ev[i].lim, msg);
	}
}

/*
 * Undo, in reverse, what fb_limit_cgroup did; whatever is gone already is
 * skipped.  MOVE: the processes to take back into DIR (fakebuild and its
 * watcher, or the watcher alone).  R: fakebuild's, which tells what the
 * limits did (-q or not: it is not about leftover processes) and warns;
 * NULL in the watcher, which has no one to tell and more time to wait.
 */
static void undo(const char *dir, pid_t owner, unsigned enabled, int moved, const pid_t *move, int nmove,
		 const struct fb_root *r)
{
	char self[CG_NAME], build[CG_NAME], p[CG_FILE];
	names(dir, owner, self, build, sizeof self);
	if (r)
		report(build);
	int rc = rmdir_wait(build, r ? 2000 : 10000);
	if (rc < 0 && r)
		warnx_("--limit: cannot remove the build's cgroup %s: %s", build, strerror(-rc));
	if (enabled) {
		char words[64];
		ctl_list(enabled, "-", words, sizeof words);
		snprintf(p, sizeof p, "%s/cgroup.subtree_control", dir);
		rc = fb_put_file(p, words);
		if (rc < 0 && r)
			warnx_("--limit: cannot write '%s' to %s: %s", words, p, strerror(-rc));
	}
	if (!moved)
		return;
	for (int i = 0; i < nmove; i++)
		if (move[i] > 0 && (rc = move_to(dir, move[i])) < 0 && rc != -ESRCH && r)
			warnx_("--limit: cannot move pid %d back into %s: %s", (int)move[i], dir, strerror(-rc));
	rc = rmdir_wait(self, r ? 2000 : 10000);
	if (rc < 0 && r)
		warnx_("--limit: cannot remove the cgroup %s: %s", self, strerror(-rc));
}

void fb_limit_release(struct fb_root *r)
{
	struct fb_cgroup *cg = &r->cg;
	if (!cg->wanted || !cg->owner)
		return;
	pid_t move[2] = { fb_watch_process(), getpid() };
	undo(cg->dir, cg->owner, cg->enabled, cg->moved, move, 2, r);
	cg->owner = 0;
	cg->enabled = 0;
	cg->moved = cg->made = 0;
}

void fb_limit_undo(const char *s)
{
	int owner, moved, n = 0;
	unsigned enabled;
	if (sscanf(s, "%d %u %d %n", &owner, &enabled, &moved, &n) != 3 || !n || s[n] != '/')
		return;
	pid_t self = getpid();
	undo(s + n, (pid_t)owner, enabled, moved, &self, 1, NULL);
}

/* The limits into the build's cgroup BUILD: 0, or -1 after printing why. */
static int write_limits(const struct fb_root *r, const char *build)
{
	for (int i = 0; i < r->nlim; i++) {
		const struct fb_limit *l = &r->lim[i];
		int k = kind_of(l->name, strlen(l->name));
		if (l->resource >= 0 || !(r->cg.need & kinds[k].ctl))
			continue;
		char p[CG_FILE], v[64];
		const char *file = kinds[k].ctl == CTL_MEMORY ? "memory.max" :
				   kinds[k].ctl == CTL_PIDS ? "pids.max" : "cpu.max";
		if (kinds[k].ctl == CTL_CPU)
			snprintf(v, sizeof v, "%" PRIu64 " %d", l->value * (CPU_PERIOD / 1000), CPU_PERIOD);
		else
			snprintf(v, sizeof v, "%" PRIu64, l->value);
		snprintf(p, sizeof p, "%s/%s", build, file);
		int rc = fb_put_file(p, v);
		/* No swap to spill into: memory.max bounds what the build
		 * takes, not merely what it keeps in RAM.  Absent when the
		 * kernel does not account swap, and then there is none to take. */
		if (rc == 0 && kinds[k].ctl == CTL_MEMORY) {
			snprintf(p, sizeof p, "%s/memory.swap.max", build);
			snprintf(v, sizeof v, "0");
			if ((rc = fb_put_file(p, v)) == -ENOENT)
				rc = 0;
		}
		if (rc < 0) {
			warnx_("--limit %s: cannot write '%s' to %s: %s", l->name, v, p, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

int fb_limit_cgroup(struct fb_root *r, int *w)
{
	struct fb_cgroup *cg = &r->cg;
	if (!cg->wanted)
		return 0;
	char self[CG_NAME], build[CG_NAME], p[CG_FILE], list[400];
	cg->owner = getpid();
	names(cg->dir, cg->owner, self, build, sizeof self);
	reclaim(cg->dir);
	if (!cg->is_root) {
		/* Checked before, but a watcher may run since (archives). */
		pid_t watcher = fb_watch_process();
		if (others(cg->dir, watcher, list, sizeof list) > 0) {
			warnx_("--limit: fakebuild's cgroup %s holds other processes now (%s); %s", cg->dir,
			       list, HINT);
			cg->owner = 0;
			return -1;
		}
		if (mkdir(self, 0755) < 0) {
			warnx_("--limit: cannot make the cgroup %s: %s", self, strerror(errno));
			cg->owner = 0;
			return -1;
		}
		cg->moved = 1;
		/* The watcher too: the cgroup must hold nobody. */
		int rc = watcher > 0 ? move_to(self, watcher) : 0;
		if (rc == 0)
			rc = move_to(self, getpid());
		if (rc < 0) {
			warnx_("--limit: cannot move fakebuild into the cgroup %s: %s", self, strerror(-rc));
			fb_limit_release(r);
			return -1;
		}
		/* The controllers fakebuild turns on, and off at the end (none
		 * can be on yet: we were in this cgroup). */
		for (int i = 0; i < NCTL; i++)
			if ((cg->need & (1u << i)) && !lists(cg->dir, "cgroup.subtree_control", ctl_names[i]))
				cg->enabled |= 1u << i;
	}
	/* From here on, the watcher undoes it all if we are killed. */
	if (*w < 0)
		*w = fb_watch_start();
	spec(cg, p, sizeof p);
	fb_watch_cgroup(*w, p);
	if (cg->enabled) {
		char words[64];
		ctl_list(cg->enabled, "+", words, sizeof words);
		snprintf(p, sizeof p, "%s/cgroup.subtree_control", cg->dir);
		/* The kernel may still count a process that just moved out
		 * as inside for a moment (EBUSY; crun retries too). */
		int rc, tries = 0;
		while ((rc = fb_put_file(p, words)) == -EBUSY && tries++ < 100)
			sleep_ms(10);
		if (rc < 0) {
			warnx_("--limit: cannot enable '%s' in %s: %s", words, p, strerror(-rc));
			fb_limit_release(r);
			return -1;
		}
	}
	if (mkdir(build, 0755) < 0) {
		warnx_("--limit: cannot make the build's cgroup %s: %s", build, strerror(errno));
		fb_limit_release(r);
		return -1;
	}
	cg->made = 1;
	if (write_limits(r, build) < 0) {
		fb_limit_release(r);
		return -1;
	}
	return 0;
}

int fb_limit_enter(struct fb_root *r, pid_t pid)
{
	if (!r->cg.made)
		return 0;
	char self[CG_NAME], build[CG_NAME];
	names(r->cg.dir, r->cg.owner, self, build, sizeof self);
	int rc = move_to(build, pid);
	if (rc < 0)
		warnx_("--limit: cannot move the build into its cgroup %s: %s", build, strerror(-rc));
	return rc < 0 ? -1 : 0;
}

/* ---- setrlimit ------------------------------------------------------------ */

int fb_limit_apply(const struct fb_root *r)
{
	for (int i = 0; i < r->nlim; i++) {
		if (r->lim[i].resource < 0)
			continue;
		struct rlimit rl = { (rlim_t)r->lim[i].value, (rlim_t)r->lim[i].value };
		struct rlimit cur;
		/* A hard limit cannot be raised: keep a lower one. */
		if (getrlimit(r->lim[i].resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
		    cur.rlim_max < rl.rlim_max) {
			warnx_("--limit %s=%" PRIu64 ": above this user's hard limit; %llu instead",
			       r->lim[i].name, r->lim[i].value, (unsigned long long)cur.rlim_max);
			rl.rlim_cur = rl.rlim_max = cur.rlim_max;
		}
		if (setrlimit(r->lim[i].resource, &rl) < 0) {
			warnx_("--limit %s=%" PRIu64 ": %s", r->lim[i].name, r->lim[i].value, strerror(errno));
			return -1;
		}
	}
	return 0;
}
