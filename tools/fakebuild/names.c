/*
 * names.c - --passwd FILE, --group FILE, --sysroot DIR: the target's user
 * and group names for the session.  The files are checked here, line by
 * line with the parser the library reads them with (db/pwfile.c), before
 * the command starts, and named by absolute path in FAKEBUILD_PASSWD_FILE
 * and FAKEBUILD_GROUP_FILE for the library (preload/pwd.c) and for every
 * process and nested fakebuild of the session.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakebuild.h"
#include "pwfile.h"

/* NAME made absolute against the current directory, into OUT. */
static void absolute(const char *what, const char *name, char *out, size_t len)
{
	if (!*name)
		die("%s: an empty file name", what);
	char cwd[PATH_MAX];
	int n;
	if (name[0] == '/')
		n = snprintf(out, len, "%s", name);
	else if (getcwd(cwd, sizeof cwd))
		n = snprintf(out, len, "%s/%s", cwd, name);
	else
		die("getcwd: %s", strerror(errno));
	if (n < 0 || (size_t)n >= len)
		die("%s %s: path too long", what, name);
}

/* One line's problem, as a message. */
__attribute__((noreturn)) static void bad_line(const char *file, unsigned long lineno, int kind, enum fb_pwline_status st,
		     const struct fb_pwline *l)
{
	const char *fmt = kind == FB_PW_PASSWD ? "name:password:uid:gid:gecos:directory:shell"
					       : "name:password:gid:members";
	switch (st) {
	case FB_PWL_FIELDS:
		die("%s:%lu: %d field%s, expected %d (%s)", file, lineno, l->nfields,
		    l->nfields == 1 ? "" : "s", kind, fmt);
	case FB_PWL_NAME:
		die("%s:%lu: empty %s name", file, lineno, kind == FB_PW_PASSWD ? "user" : "group");
	case FB_PWL_ID:
		die("%s:%lu: %s '%.*s' is not a number from 0 to 4294967294", file, lineno,
		    kind == FB_PW_PASSWD && l->bad == 2 ? "uid" : "gid", (int)l->len[l->bad],
		    l->f[l->bad]);
	case FB_PWL_NUL:
		die("%s:%lu: a NUL byte", file, lineno);
	default:
		die("%s:%lu: unreadable line", file, lineno);
	}
}

/*
 * Every line of FILE must be an entry, blank or a comment.  FILE must be
 * a regular file: the library reads it again by name during the session
 * (a pipe would be empty by then, and opening a FIFO here would block).
 */
static void check(const char *file, int kind, const char *via)
{
	struct stat st;
	FILE *f = NULL;
	const char *why = NULL;
	if (stat(file, &st) < 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file";
	else if (!(f = fopen(file, "re")))
		why = strerror(errno);
	if (why) {
		if (via)
			die("%s: %s: %s", via, file, why);
		die("%s: %s", file, why);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		struct fb_pwline l;
		enum fb_pwline_status rc = fb_pwline_parse(line, line + n, kind, &l);
		if (rc != FB_PWL_ENTRY && rc != FB_PWL_SKIP)
			bad_line(file, lineno, kind, rc, &l);
	}
	if (ferror(f))
		die("%s: %s", file, strerror(errno));
	free(line);
	fclose(f);
}

void fb_names_setup(const char *passwd, const char *group, const char *sysroot)
{
	char root[PATH_MAX], pw[PATH_MAX + 16], gr[PATH_MAX + 16], via[PATH_MAX + 16];
	if (sysroot) {
		absolute("--sysroot", sysroot, root, sizeof root);
		snprintf(via, sizeof via, "--sysroot %s", sysroot);
	}
	if (passwd)
		absolute("--passwd", passwd, pw, sizeof pw);
	else if (sysroot)
		snprintf(pw, sizeof pw, "%s/etc/passwd", root);
	if (group)
		absolute("--group", group, gr, sizeof gr);
	else if (sysroot)
		snprintf(gr, sizeof gr, "%s/etc/group", root);
	if (passwd || sysroot) {
		check(pw, FB_PW_PASSWD, passwd ? NULL : via);
		setenv("FAKEBUILD_PASSWD_FILE", pw, 1);
	}
	if (group || sysroot) {
		check(gr, FB_PW_GROUP, group ? NULL : via);
		setenv("FAKEBUILD_GROUP_FILE", gr, 1);
	}
}
