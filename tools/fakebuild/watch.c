/*
 * watch.c - the watcher: a small process that removes a build root's
 * scratch directories, and undoes its cgroups, if fakebuild itself is
 * killed (SIGKILL leaves it no chance to clean up).
 *
 * fakebuild tells it, over a pipe only fakebuild holds, which paths to
 * remove, which cgroups it made (limit.c) and which process (pid 1 of the
 * root) to wait for.  On a normal end fakebuild cleans up itself and says
 * so; the watcher then exits.  If the pipe closes without that, fakebuild
 * died: its pid 1 dies with it (PR_SET_PDEATHSIG), the kernel ends the
 * namespace and its mounts, and once pid 1 is gone the watcher removes
 * the paths; once fakebuild is gone too (it held a cgroup of its own), it
 * undoes the cgroups.  It runs in a session of its own, holds no terminal
 * or output, and ignores the signals a terminal or a group kill would send.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakebuild.h"
#include "root.h"

#define WATCH_PATHS 8

static pid_t watcher_pid;

static void put(int w, char tag, const char *s)
{
	char buf[4200];
	int n = snprintf(buf, sizeof buf, "%c%s", tag, s);
	if (w < 0 || n < 0 || (size_t)n >= sizeof buf)
		return;
	/* One write of at most PIPE_BUF bytes is atomic; paths are shorter. */
	ssize_t r = write(w, buf, (size_t)n + 1);
	(void)r;
}

void fb_watch_add(int w, const char *path)
{
	put(w, '+', path);
}

void fb_watch_pid(int w, pid_t pid)
{
	char b[32];
	snprintf(b, sizeof b, "%d", (int)pid);
	put(w, 'p', b);
}

void fb_watch_cgroup(int w, const char *spec)
{
	put(w, 'g', spec);
}

void fb_watch_done(int w)
{
	if (w < 0)
		return;
	put(w, '.', "");
	close(w);
	/* Reaped here, not left a zombie for the rest of our life (or for an
	 * init that reaps late, after we are gone). */
	while (watcher_pid > 0 && waitpid(watcher_pid, NULL, 0) < 0 && errno == EINTR)
		;
	watcher_pid = 0;
}

pid_t fb_watch_process(void)
{
	return watcher_pid;
}

/* Wait until the process of the pidfd FD has exited; close FD. */
static void wait_fd(int fd)
{
	if (fd < 0)
		return;		/* already gone */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	close(fd);
}

/* Wait until PID has exited (it is not our child: a pidfd tells). */
static void wait_gone(pid_t pid)
{
	wait_fd((int)syscall(SYS_pidfd_open, pid, 0));
}

/* RD: the pipe; PARENT: a pidfd of fakebuild, or -1. */
__attribute__((noreturn)) static void watcher(int rd, int parent)
{
	char *paths[WATCH_PATHS], *cgroup = NULL;
	int n = 0, done = 0;
	pid_t pid = 0;
	char buf[4200 * 2];
	size_t have = 0;
	for (;;) {
		ssize_t got = read(rd, buf + have, sizeof buf - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
		char *p = buf, *end;
		while ((end = memchr(p, 0, have - (size_t)(p - buf)))) {
			if (*p == '+' && n < WATCH_PATHS)
				paths[n++] = strdup(p + 1);
			else if (*p == 'p')
				pid = (pid_t)atoi(p + 1);
			else if (*p == 'g')
				free(cgroup), cgroup = strdup(p + 1);
			else if (*p == '.')
				done = 1;
			p = end + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (done)
			break;	/* fakebuild cleaned up and waits for us */
	}
	if (!done) {
		if (pid > 0)
			wait_gone(pid);
		/* Its cgroups can go once fakebuild has left them. */
		if (cgroup) {
			wait_fd(parent);
			fb_limit_undo(cgroup);
		}
		for (int i = 0; i < n; i++)
			if (paths[i])
				fb_remove_tree(AT_FDCWD, paths[i]);
	}
	_exit(0);
}

int fb_watch_start(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t self = getpid();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* fakebuild's pidfd, unless it is gone already (and the pid
		 * could be another's). */
		int parent = (int)syscall(SYS_pidfd_open, self, 0);
		if (parent >= 0 && getppid() != self) {
			close(parent);
			parent = -1;
		}
		setsid();
		const int ign[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE };
		for (size_t i = 0; i < sizeof ign / sizeof ign[0]; i++)
			signal(ign[i], SIG_IGN);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = 0; fd < 3; fd++)
			if (null >= 0)
				dup2(null, fd);
		int rd = fcntl(p[0], F_DUPFD_CLOEXEC, 3);
		int pf = parent >= 0 ? fcntl(parent, F_DUPFD_CLOEXEC, rd + 1) : -1;
		close_range(3, rd - 1, 0);
		close_range((unsigned)rd + 1, pf > rd ? (unsigned)pf - 1 : ~0u, 0);
		if (pf > rd)
			close_range((unsigned)pf + 1, ~0u, 0);
		if (chdir("/") < 0)
			_exit(1);
		watcher(rd, pf);
	}
	close(p[0]);
	watcher_pid = pid;
	return p[1];
}
