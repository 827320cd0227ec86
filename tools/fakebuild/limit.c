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
 * cgroup v2 limits of the whole build, where the user has a delegated
 * subtree (systemd: a scope or service with Delegate=yes):
 *   memory=SIZE  memory.max;  pids=N  pids.max;  cpus=N  cpu.max (N CPUs)
 * SIZE takes a K, M, G or T suffix (powers of 1024).
 *
 * The cgroup limits are checked before anything is started, and refused
 * with what is missing when they cannot apply: this machine may have no
 * cgroup v2 hierarchy, no delegation, or not the controller.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakebuild.h"
#include "root.h"

static const struct {
	const char *name;
	int resource;		/* -1: cgroup v2 */
	int size;		/* takes a size suffix */
	const char *file;	/* cgroup v2: the file and its controller */
	const char *controller;
} kinds[] = {
	{ "as", RLIMIT_AS, 1, NULL, NULL },
	{ "cpu", RLIMIT_CPU, 0, NULL, NULL },
	{ "nproc", RLIMIT_NPROC, 0, NULL, NULL },
	{ "fsize", RLIMIT_FSIZE, 1, NULL, NULL },
	{ "nofile", RLIMIT_NOFILE, 0, NULL, NULL },
	{ "memory", -1, 1, "memory.max", "memory" },
	{ "pids", -1, 0, "pids.max", "pids" },
	{ "cpus", -1, 0, "cpu.max", "cpu" },
};

static int kind_of(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strlen(kinds[i].name) == len && strncmp(kinds[i].name, name, len) == 0)
			return (int)i;
	return -1;
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
		char *end;
		errno = 0;
		uint64_t v = strtoull(eq + 1, &end, 10);
		if (end == eq + 1 || errno || eq[1] == '-')
			die("--limit %s: %.*s is not a number", arg, (int)(len - (size_t)(eq + 1 - p)), eq + 1);
		if (kinds[k].size && end < p + len) {
			const char *units = "KMGT";
			const char *u = strchr(units, *end);
			if (!u || !*end)
				die("--limit %s: unknown size suffix '%c' (K, M, G or T)", arg, *end);
			v <<= 10 * (u - units + 1);
			end++;
		}
		if (end != p + len)
			die("--limit %s: unexpected '%.*s'", arg, (int)(p + len - end), end);
		if (r->nlim == FB_ROOT_LIMITS)
			die("--limit: too many limits");
		r->lim[r->nlim++] = (struct fb_limit){ kinds[k].resource, kinds[k].name, v };
		p += len;
		if (*p == ',')
			p++;
	}
}

/* The cgroup v2 directory of this process, or "" with WHY set. */
static void own_cgroup(char *out, size_t len, const char **why)
{
	out[0] = 0;
	char line[4096], mnt[4096] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	while (f && fgets(line, sizeof line, f)) {
		char *sep = strstr(line, " - cgroup2 ");
		if (!sep)
			continue;
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && (!mnt[0] || strcmp(mp, "/sys/fs/cgroup") == 0))
			snprintf(mnt, sizeof mnt, "%s", mp);
	}
	if (f)
		fclose(f);
	if (!mnt[0]) {
		*why = "no cgroup v2 hierarchy is mounted";
		return;
	}
	f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "%s%s", mnt, strcmp(line + 3, "/") == 0 ? "" : line + 3);
		}
	}
	if (f)
		fclose(f);
	if (!out[0])
		*why = "this process is in no cgroup v2 group";
}

void fb_limit_check(struct fb_root *r)
{
	for (int i = 0; i < r->nlim; i++) {
		if (r->lim[i].resource >= 0)
			continue;
		int k = kind_of(r->lim[i].name, strlen(r->lim[i].name));
		const char *why = NULL;
		char cg[4096], p[4200], ctl[512] = "";
		own_cgroup(cg, sizeof cg, &why);
		if (!why) {
			snprintf(p, sizeof p, "%s/cgroup.controllers", cg);
			int fd = open(p, O_RDONLY | O_CLOEXEC);
			ssize_t n = fd >= 0 ? read(fd, ctl, sizeof ctl - 1) : -1;
			if (fd >= 0)
				close(fd);
			ctl[n > 0 ? n : 0] = 0;
			snprintf(p, sizeof p, "%s/cgroup.subtree_control", cg);
			char word[64];
			snprintf(word, sizeof word, "%s", kinds[k].controller);
			int has = 0;
			for (char *t = strtok(ctl, " \n"); t; t = strtok(NULL, " \n"))
				has |= strcmp(t, word) == 0;
			if (!has)
				why = "the controller is not available to your cgroup";
			else if (access(p, W_OK) < 0)
				why = "your cgroup is not delegated to you (not writable)";
		}
		/* Moving the build into a cgroup of its own needs more than this
		 * check can promise (no other process in the group, and so on):
		 * it is not done yet, so say what would be needed. */
		die("--limit %s: needs a cgroup v2 '%s' controller delegated to you: %s%s%s "
		    "(run fakebuild in its own delegated scope, e.g. systemd-run --user --scope "
		    "-p Delegate=yes, or use the setrlimit limits as, cpu, nproc, fsize, nofile)",
		    r->lim[i].name, kinds[k].controller, why ? why : "placing the build in a cgroup "
		    "of its own is not implemented yet", cg[0] ? " in " : "", cg);
	}
}

int fb_limit_apply(const struct fb_root *r)
{
	for (int i = 0; i < r->nlim; i++) {
		if (r->lim[i].resource < 0)
			continue;
		struct rlimit rl = { (rlim_t)r->lim[i].value, (rlim_t)r->lim[i].value };
		struct rlimit cur;
		/* A hard limit cannot be raised: keep a lower one. */
		if (getrlimit(r->lim[i].resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
		    cur.rlim_max < rl.rlim_max)
			rl.rlim_cur = rl.rlim_max = cur.rlim_max;
		if (setrlimit(r->lim[i].resource, &rl) < 0) {
			warnx_("--limit %s=%" PRIu64 ": %s", r->lim[i].name, r->lim[i].value, strerror(errno));
			return -1;
		}
	}
	return 0;
}
