/*
 * fakebuild.h - shared between the files of the fakebuild command.
 */
#ifndef FAKEBUILD_H
#define FAKEBUILD_H

#include <sys/types.h>

#include "session.h"

extern const char *progname;

__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void warnx_(const char *fmt, ...);

/* main.c, shared with a build root's pid 1 (ns.c) */
void setup_env(const char *lib, const char *db, const char *table, int unknown_is_real);
int pass_table(void);
int fb_dup_high(int fd, int want, int cloexec);
int fb_in_terminal_job(void);
void exec_cmd(char **argv);
int exec_errno(const char *cmd, int e);

/* The signal that killed the command (set by run() and by a build root's
 * pid 1 through a shared page), or 0. */
extern int *fb_command_signal;
/* Was SIGXFSZ ignored when fakebuild started?  fakebuild ignores it
 * itself (its writes past ulimit -f fail with EFBIG, and say so); the
 * command gets it as it was. */
extern int fb_xfsz_ignored;
int fb_end_like_command(int status);

/* A process, as /proc/PID/stat gives it (procs.c). */
struct fb_proc {
	pid_t pid, ppid, pgrp;
	char state;
	unsigned long long start;	/* clock ticks after boot: tells a reused pid */
	char comm[32];
	int ours;			/* main.c's leftovers(): of the session */
};
/* Every process there is, into *OUT (malloc'd): how many, or -1 without /proc. */
ssize_t fb_procs(struct fb_proc **out);

/* --export [DIR]: print the fake state of DIR as mtree(5). Returns an exit status. */
int fb_export(struct fb_table *t, const char *dir, int unknown_is_real);

/*
 * --passwd, --group, --sysroot (NULL: not given): check the files, naming
 * file and line of a problem (exit 1), and name them for the session in
 * FAKEBUILD_PASSWD_FILE and FAKEBUILD_GROUP_FILE.
 */
void fb_names_setup(const char *passwd, const char *group, const char *sysroot);

/*
 * -i of a save file of Debian's fakeroot (fakeroot_save.c): is PATH one
 * (it starts "dev=")?  Load its records into T: how many, or -1 with err
 * naming the file (and line); nothing is loaded then.
 */
int fb_is_fakeroot_save(const char *path);
long fb_load_fakeroot_save(const char *path, struct fb_table *t, struct fb_err *err);

/* --check: verify the database and the live table; print problems. Returns an exit status. */
int fb_check(const char *db);

#endif
