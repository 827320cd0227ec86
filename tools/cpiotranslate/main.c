/*
 * cpiotranslate - rewrite owner, group and mode of the entries of a tar or
 * cpio stream from a packaging manifest, without root and without preload.
 * Everything else passes through; see cpiotranslate(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include "cpiotranslate.h"

#define IN_BLOCK (1024 * 1024)
#define OUT_BLOCK (64 * 1024)

/* After the archive's end, read what is left of a pipe or socket: the
 * padding of the writer's last block.  Leaving it unread would make the
 * writer (bsdtar -cf -, find | cpio -o) fail with EPIPE whenever it had not
 * yet written that block when we exited, as GNU tar also knows. */
static void drain_input(int in, const char *name)
{
	struct stat st;
	char buf[64 * 1024];
	ssize_t n;

	if (fstat(in, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	while ((n = read(in, buf, sizeof buf)) != 0)
		if (n < 0 && errno != EINTR) {
			warnx("%s: after the end of the archive: %s", name, strerror(errno));
			return;
		}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-nv] -m MANIFEST [-m MANIFEST]... [-F MFORMAT]\n"
		"           [--passwd FILE] [--group FILE] [--root DIR] [-e EXCEPTIONS]...\n"
		"           [--strict] [--drop-unlisted] [--add-missing]\n"
		"           [--format FORMAT] [--filter FILTER] [-f IN] [-o OUT]\n"
		"       " PROG " [-nv] --db DB --root TREE [--passwd FILE] [--group FILE]\n"
		"           [-e EXCEPTIONS]... [--strict] [--drop-unlisted]\n"
		"           [--format FORMAT] [--filter FILTER] [-f IN] [-o OUT]\n"
		"       " PROG " --help | --version\n");
}

/* --help: the synopsis, then every option (cpiotranslate(1) says more). */
static void help(void)
{
	usage(stdout);
	fputs("\n"
	      "Rewrite owner, group and mode of a tar or cpio stream from a manifest.\n"
	      "\n"
	      "  -m, --manifest FILE     the manifest (repeatable: a later one overrides)\n"
	      "  -F, --manifest-format MFORMAT  mtree, ips, prototype, metalog, cpiolist\n"
	      "                          or auto (the default)\n"
	      "      --passwd FILE, --group FILE  resolve names through these files\n"
	      "      --root DIR          the same with DIR/etc/passwd and DIR/etc/group;\n"
	      "                          with --db, the tree the database describes\n"
	      "      --db DB             take owners from a fakebuild database, not a manifest\n"
	      "  -f, --file IN           read IN instead of standard input\n"
	      "  -o, --output OUT        write OUT (whole or not at all) instead of standard output\n"
	      "      --format FORMAT     write newc, odc, bin, ustar, pax, gnutar or v7\n"
	      "                          (default: the input's format)\n"
	      "      --filter FILTER     compress with none, gzip, bzip2, xz, lzma, zstd, lz4,\n"
	      "                          lzip or compress (default: the input's)\n"
	      "  -e, --exceptions FILE   paths not in the manifest that are expected (repeatable)\n"
	      "      --strict            an entry not in the manifest is an error\n"
	      "      --drop-unlisted     leave out entries not in the manifest\n"
	      "      --add-missing       add the manifest's directories, devices, fifos and\n"
	      "                          symbolic links the archive lacks (their mtime:\n"
	      "                          $SOURCE_DATE_EPOCH, or 0)\n"
	      "  -n, --check             write nothing; report every difference\n"
	      "  -v, --verbose           list manifest entries missing from the archive, and\n"
	      "                          end with a summary\n"
	      "      --help, --version\n",
	      stdout);
}

__attribute__((format(printf, 1, 2), noreturn))
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	usage(stderr);
	exit(EXIT_USAGE);
}

/* One path or fnmatch(3) pattern a line, "#" comments, matched against the
 * normalized path ("usr/bin/ls"); a leading "/" or "./" is ignored. */
static void load_exceptions(struct ct *ct, const char *file)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	char *line = NULL, *p, *end;
	size_t cap = 0;

	if (!f)
		die("%s: exception list: %s", file, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		end = p + strlen(p);
		while (end > p && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t' ||
				   end[-1] == '/'))
			*--end = '\0';
		for (;;) {
			if (p[0] == '/')
				p++;
			else if (p[0] == '.' && p[1] == '/')
				p += 2;
			else
				break;
		}
		if (!*p)
			p = ".";
		char **n = realloc(ct->exc, (ct->nexc + 1) * sizeof *n);
		if (!n || !(n[ct->nexc] = strdup(p)))
			die("out of memory");
		ct->exc = n;
		ct->nexc++;
	}
	if (ferror(f))
		die("%s: exception list: %s", file, strerror(errno));
	free(line);
	if (f != stdin)
		fclose(f);
}

static void load_manifests(struct ct *ct, char **files, size_t n, enum fb_mformat fmt,
			   const char *passwd, const char *group)
{
	ct->m = fb_manifest_new();
	if (!ct->m)
		die("out of memory");
	if ((passwd || group) && fb_manifest_set_names(ct->m, passwd, group) < 0)
		die("%s", fb_manifest_error(ct->m));
	for (size_t i = 0; i < n; i++)
		if (fb_manifest_load(ct->m, files[i], fmt) < 0)
			die("%s", fb_manifest_error(ct->m));
	for (size_t i = 0; i < fb_manifest_nwarnings(ct->m); i++)
		warnx("warning: %s", fb_manifest_warning(ct->m, i));
}

/* Output format and filters: asked for, or the ones just read. */
static void open_output(struct ct *ct, int fd)
{
	const char *why;
	int nfilters = 0;

	ct->fmt = ct->want_fmt;
	if (!ct->fmt) {
		ct->fmt = outfmt_for_input(ct->in_code, &why);
		if (!ct->fmt)
			die("input is %s: %s; convert it with --format newc (or another of: %s)",
			    format_label(ct->in_code), why, format_names());
	}
	ct->out = archive_write_new();
	if (!ct->out)
		die("out of memory");
	if (ct->fmt->set(ct->out) != ARCHIVE_OK)
		die("cannot write %s: %s", ct->fmt->name, errstr(ct->out));
	if (ct->want_filter >= 0) {
		if (ct->want_filter != ARCHIVE_FILTER_NONE) {
			if (archive_write_add_filter(ct->out, ct->want_filter) != ARCHIVE_OK)
				die("--filter: %s", errstr(ct->out));
			nfilters++;
		}
	} else {
		/* Filter 0 is the one next to the format, on both sides. */
		for (int i = 0; i < archive_filter_count(ct->in); i++) {
			int code = archive_filter_code(ct->in, i);
			if (code == ARCHIVE_FILTER_NONE)
				continue;
			if (archive_write_add_filter(ct->out, code) < ARCHIVE_WARN)
				die("input is compressed with %s, which cannot be written: %s; "
				    "choose another with --filter", archive_filter_name(ct->in, i),
				    errstr(ct->out));
			nfilters++;
		}
	}
	/* Same input, same manifest: same bytes (no time in the gzip header). */
	if (nfilters)
		(void)archive_write_set_filter_option(ct->out, "gzip", "timestamp", NULL);
	/* Large writes; the last block padded as tar and cpio do, and not at
	 * all after a compressor (trailing zeros upset gzip -d). */
	archive_write_set_bytes_per_block(ct->out, OUT_BLOCK);
	archive_write_set_bytes_in_last_block(ct->out, nfilters ? 1 : (int)ct->fmt->last_block);
	if (archive_write_open_fd(ct->out, fd) != ARCHIVE_OK)
		die("output: %s", errstr(ct->out));
}

/*
 * "DIR/.NAME.XXXXXX" next to OUT, so the final rename cannot cross devices,
 * with MODE (that of the file it replaces, as tar -f keeps it by
 * truncating the file, or a new file's).  Signals are held until die()
 * and the signal handlers know the name, so none leaves it behind.
 */
static int open_temp(const char *out, mode_t mode, char **tmp)
{
	const char *slash = strrchr(out, '/');
	int dirlen = slash ? (int)(slash - out + 1) : 0;
	sigset_t all, old;
	int fd;

	if (asprintf(tmp, "%.*s.%s.XXXXXX", dirlen, out, slash ? slash + 1 : out) < 0)
		die("out of memory");
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	fd = mkstemp(*tmp);
	if (fd >= 0)
		die_set_cleanup(*tmp);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (fd < 0)
		die("%s: cannot create a temporary file next to it: %s", out, strerror(errno));
	if (fchmod(fd, mode) < 0)
		die("%s: chmod: %s", *tmp, strerror(errno));
	return fd;
}

/* Is the link PATH itself one of /proc's? */
static bool in_proc(const char *path)
{
	struct statfs sf;
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	bool yes = fd >= 0 && fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;

	if (fd >= 0)
		close(fd);
	return yes;
}

/*
 * The file a chain of symbolic links from PATH ends at, existing or not
 * (a dangling link names the file to create, as tar -f creates it).  A
 * relative target is relative to its link's directory.  Returns PATH
 * itself when it is no link, NULL when the chain goes through one of
 * /proc's (a descriptor's file); dies on a loop.
 */
static const char *follow_links(const char *path)
{
	static char cur[PATH_MAX];
	char target[PATH_MAX], next[PATH_MAX];
	struct stat st;
	int n;

	if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur)
		die("%s: %s", path, strerror(ENAMETOOLONG));
	for (n = 0; lstat(cur, &st) == 0 && S_ISLNK(st.st_mode); n++) {
		/* /dev/fd/N, /dev/stdout: /proc's links name a descriptor's
		 * file, maybe one deleted ("PATH (deleted)"), not a path. */
		if (in_proc(cur))
			return NULL;
		ssize_t len = readlink(cur, target, sizeof target - 1);
		const char *slash = strrchr(cur, '/');
		int dirlen = slash && target[0] != '/' ? (int)(slash - cur + 1) : 0;

		if (n == 40)
			die("%s: %s", path, strerror(ELOOP));
		if (len < 0)
			die("%s: %s", cur, strerror(errno));
		target[len] = '\0';
		if (snprintf(next, sizeof next, "%.*s%s", dirlen, cur, target) >= (int)sizeof next)
			die("%s: %s", path, strerror(ENAMETOOLONG));
		memcpy(cur, next, sizeof cur);
	}
	return cur;
}

/*
 * The output -o names, *OUT.  A regular file (or a new one) is written
 * under a temporary name beside it and renamed into place whole (*TMP
 * set); through a symbolic link, beside the file it names, which is the
 * one replaced, as tar -f writes through one.  Anything else (a device
 * such as /dev/null, a FIFO, /dev/stdout) is written directly, as tar
 * and cpio do: renaming over it would replace the device or the link.
 */
static int open_out(const char **out, char **tmp)
{
	mode_t um = umask(0);
	struct stat st;

	umask(um);
	if (stat(*out, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			die("%s: is a directory", *out);
		int fd = open(*out, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			die("%s: %s", *out, strerror(errno));
		return fd;
	}
	const char *real = follow_links(*out);
	if (!real) {	/* a descriptor's file: written through it, as tar does */
		int fd = open(*out, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0)
			die("%s: %s", *out, strerror(errno));
		return fd;
	}
	*out = real;
	return open_temp(*out, stat(*out, &st) == 0 ? st.st_mode & 0777 : 0666 & ~um, tmp);
}

/*
 * Did the reader skip bytes to find the header it returned?  libarchive's
 * cpio reader then warns ("Skipped N bytes before finding valid header")
 * and goes on: what it skipped is lost, so it is a corrupt archive.
 */
static bool resynced(struct archive *a)
{
	const char *m = archive_error_string(a);
	return m && strstr(m, "before finding valid header");
}

int main(int argc, char **argv)
{
	enum { O_PASSWD = 256, O_GROUP, O_ROOT, O_STRICT, O_DROP, O_ADD, O_FORMAT,
	       O_FILTER, O_HELP, O_VERSION, O_DB };
	static const struct option longopts[] = {
		{ "manifest", required_argument, NULL, 'm' },
		{ "manifest-format", required_argument, NULL, 'F' },
		{ "passwd", required_argument, NULL, O_PASSWD },
		{ "group", required_argument, NULL, O_GROUP },
		{ "root", required_argument, NULL, O_ROOT },
		{ "db", required_argument, NULL, O_DB },
		{ "file", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "exceptions", required_argument, NULL, 'e' },
		{ "strict", no_argument, NULL, O_STRICT },
		{ "drop-unlisted", no_argument, NULL, O_DROP },
		{ "add-missing", no_argument, NULL, O_ADD },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "filter", required_argument, NULL, O_FILTER },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct ct ct = { .want_filter = -1 };
	char **mfiles = NULL, **efiles = NULL, *tmp = NULL;
	size_t nm = 0, ne = 0;
	enum fb_mformat mfmt = FB_MF_AUTO;
	const char *passwd = NULL, *group = NULL, *root = NULL, *db = NULL;
	bool fflag = false;
	const char *in_file = NULL, *out_file = NULL;
	char rootpw[PATH_MAX], rootgr[PATH_MAX];
	struct archive_entry *e;
	int c, r, fd = STDOUT_FILENO, in = STDIN_FILENO;

	/* Names pass through as bytes: pax headers hold UTF-8, so libarchive
	 * must not try to convert them to and from the user's locale (a C
	 * locale fails on every non-ASCII name and marks it hdrcharset=BINARY). */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");

	while ((c = getopt_long(argc, argv, "m:F:f:o:e:nv", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
		case 'e': {
			char ***v = c == 'm' ? &mfiles : &efiles;
			size_t *n = c == 'm' ? &nm : &ne;
			*v = realloc(*v, (*n + 1) * sizeof **v);
			if (!*v)
				die("out of memory");
			(*v)[(*n)++] = optarg;
			break;
		}
		case 'F':
			fflag = true;
			if (fb_manifest_format_parse(optarg, &mfmt) < 0)
				usage_error("-F %s: unknown manifest format (prototype, ips, mtree, cpiolist, auto)",
					    optarg);
			break;
		case O_PASSWD: passwd = optarg; break;
		case O_GROUP: group = optarg; break;
		case O_ROOT: root = optarg; break;
		case O_DB: db = optarg; break;
		case 'f': in_file = optarg; break;
		case 'o': out_file = optarg; break;
		case O_STRICT: ct.strict = true; break;
		case O_DROP: ct.drop_unlisted = true; break;
		case O_ADD: ct.add_missing = true; break;
		case 'n': ct.check = true; break;
		case 'v': ct.verbose = true; break;
		case O_FORMAT:
			ct.want_fmt = outfmt_by_name(optarg);
			if (!ct.want_fmt)
				usage_error("--format %s: unknown archive format (%s)", optarg,
					    format_names());
			break;
		case O_FILTER:
			ct.want_filter = filter_by_name(optarg);
			if (ct.want_filter < 0)
				usage_error("--filter %s: unknown filter (%s)", optarg, filter_names());
			break;
		case O_HELP:
			help();
			return EXIT_OK;
		case O_VERSION:
			puts(PROG " (fakebuild) " VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		usage_error("%s: unexpected argument (the archive is read from stdin or -f)",
			    argv[optind]);
	/* Standard input holds one thing: the archive, unless -f names it. */
	for (size_t i = 0, stdin_users = in_file ? 0 : 1; i < nm + ne; i++)
		if (strcmp(i < nm ? mfiles[i] : efiles[i - nm], "-") == 0 && ++stdin_users > 1)
			usage_error("%s -: standard input is read once: give the archive with -f, and "
				    "at most one manifest or exception list as -", i < nm ? "-m" : "-e");
	/* Reproducible builds: a malformed SOURCE_DATE_EPOCH is an error, not 0,
	 * where it is used: the time of what --add-missing adds. */
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (ct.add_missing && sde && *sde) {
		char *end;
		errno = 0;
		long long v = strtoll(sde, &end, 10);
		if (*end || errno || v < 0)
			usage_error("SOURCE_DATE_EPOCH=%s: not a number of seconds since 1970", sde);
	}
	if (db) {
		/* The database replaces the manifest: a tree, not names, is what --root gives. */
		if (nm || fflag)
			usage_error("--db and -m: give the attributes from a database or from manifests, not both");
		if (!root)
			usage_error("--db needs --root: the tree the archive was made from");
		if (ct.add_missing)
			usage_error("--add-missing needs a manifest: the database lists no paths");
	} else if (nm == 0) {
		usage_error("no manifest: give one with -m (or a fakebuild database with --db)");
	} else if (root) {
		snprintf(rootpw, sizeof rootpw, "%s/etc/passwd", root);
		snprintf(rootgr, sizeof rootgr, "%s/etc/group", root);
		if (!passwd)
			passwd = rootpw;
		if (!group)
			group = rootgr;
	}

	if (db)
		db_open(&ct, db, root, passwd, group);
	else
		load_manifests(&ct, mfiles, nm, mfmt, passwd, group);
	for (size_t i = 0; i < ne; i++)
		load_exceptions(&ct, efiles[i]);

	ct.in = archive_read_new();
	if (!ct.in)
		die("out of memory");
	archive_read_support_format_cpio(ct.in);
	archive_read_support_format_tar(ct.in);
	archive_read_support_filter_all(ct.in);
	/* Our own descriptor, a FIFO named by -f drained as stdin is. */
	const char *in_name = in_file ? in_file : "stdin";
	if (in_file && (in = open(in_file, O_RDONLY | O_CLOEXEC)) < 0)
		die("%s: %s", in_file, strerror(errno));
	struct stat ist;
	if (fstat(in, &ist) == 0 && S_ISDIR(ist.st_mode))
		die("%s: a directory, not a tar or cpio archive", in_name);
	r = archive_read_open_fd(ct.in, in, IN_BLOCK);
	if (r != ARCHIVE_OK)
		die("%s: %s", in_name, errstr(ct.in));
	r = archive_read_next_header(ct.in, &e);
	if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY)
		die("%s: not a readable tar or cpio archive: %s", in_name, errstr(ct.in));
	ct.in_code = archive_format(ct.in);
	ct.in_links = input_link_conv(ct.in_code);

	if (!ct.check) {
		ct.out_name = out_file ? out_file : "stdout";
		if (out_file)
			fd = open_out(&out_file, &tmp);
		open_output(&ct, fd);
		if (!tmp)
			cut_init(fd, ct.out,
				 archive_filter_code(ct.out, 0) == ARCHIVE_FILTER_NONE &&
				 (ct.fmt->code & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR,
				 OUT_BLOCK);
	}
	while (r != ARCHIVE_EOF) {
		if (r == ARCHIVE_WARN && resynced(ct.in))
			die("%s: corrupt archive after %s: %s", in_name, ct.prev ? ct.prev : "its start",
			    errstr(ct.in));
		if (r == ARCHIVE_WARN)
			warnx("%s: %s", archive_entry_pathname(e), errstr(ct.in));
		ct.in_code = archive_format(ct.in);
		translate_entry(&ct, e);
		free(ct.prev);
		ct.prev = strdup(archive_entry_pathname(e) ? archive_entry_pathname(e) : "?");
		r = archive_read_next_header(ct.in, &e);
		/* RETRY: a damaged header (a bad tar checksum), no entry. */
		if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY)
			die("%s: truncated or corrupt archive after this entry: %s", ct.prev,
			    errstr(ct.in));
	}
	translate_finish(&ct);

	if (ct.out) {
		if (!ct.out_dead && archive_write_close(ct.out) != ARCHIVE_OK)
			die("%s: %s", ct.out_name, werrstr(ct.out));
		archive_write_free(ct.out);
	}
	drain_input(in, in_name);
	archive_read_free(ct.in);
	if (in_file)
		close(in);
	if (tmp) {
		if (ct.errors) {
			unlink(tmp);
		} else {
			if (fsync(fd) < 0 || close(fd) < 0)
				die("%s: %s", tmp, strerror(errno));
			if (rename(tmp, out_file) < 0)
				die("%s: rename from %s: %s", out_file, tmp, strerror(errno));
		}
		die_set_cleanup(NULL);
		free(tmp);
	}
	fb_manifest_free(ct.m);
	db_close(&ct);
	free(ct.prev);
	free(mfiles);
	free(efiles);
	for (size_t i = 0; i < ct.nexc; i++)
		free(ct.exc[i]);
	free(ct.exc);
	{
		struct seen *s, *st;
		HASH_ITER(hh, ct.seen, s, st) {
			HASH_DEL(ct.seen, s);
			free(s);
		}
	}
	return ct.errors || ct.diffs ? EXIT_DATA : EXIT_OK;
}
