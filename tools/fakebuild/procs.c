/*
 * procs.c - the processes there are, as /proc gives them: what a session
 * (main.c) and a build root's pid 1 (ns.c) name and end as left over.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakebuild.h"

ssize_t fb_procs(struct fb_proc **out)
{
	size_t n = 0, cap = 0;
	struct fb_proc *v = NULL;
	*out = NULL;
	DIR *d = opendir("/proc");
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		char path[64], buf[1024];
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;	/* ended meanwhile */
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = 0;
		/* pid (comm) state ppid pgrp session tty_nr tpgid flags minflt
		 * cminflt majflt cmajflt utime stime cutime cstime priority nice
		 * num_threads itrealvalue starttime; comm may hold ')' */
		char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
		struct fb_proc p = { .pid = (pid_t)pid };
		long ppid, pg;
		if (!lp || !rp || rp < lp ||
		    sscanf(rp + 1, " %c %ld %ld %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			   &p.state, &ppid, &pg, &p.start) != 4)
			continue;
		p.ppid = (pid_t)ppid;
		p.pgrp = (pid_t)pg;
		snprintf(p.comm, sizeof p.comm, "%.*s", (int)(rp - lp - 1), lp + 1);
		if (n == cap) {
			struct fb_proc *g = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof *v);
			if (!g)
				break;
			v = g;
		}
		v[n++] = p;
	}
	closedir(d);
	*out = v;
	return (ssize_t)n;
}
