/*
 * protofix - make a proto area carry the owners, groups and modes its
 * packaging manifest declares, or report where it does not.
 *
 *   protofix [-n|--check] [--fix] [--db [FILE]] -m MANIFEST... [-e EXCEPTIONS] PROTO_ROOT
 *   protofix [-n|--check] [--fix] --from-db DB [-e EXCEPTIONS] PROTO_ROOT
 *
 * Exit status: 0 the tree matches, 1 it differs (after --fix: differences
 * protofix may not fix remain), 2 errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "protofix.h"
#include "util.h"

#define VERSION "0.1"

bool pf_compat;

enum { O_FIX = 256, O_DB, O_PASSWD, O_GROUP, O_ROOT, O_CREATE, O_ALLOW_ROOT, O_HELP, O_VERSION,
       O_FROM_DB };

static const struct option longopts[] = {
	{ "check", no_argument, NULL, 'n' },
	{ "fix", no_argument, NULL, O_FIX },
	{ "db", optional_argument, NULL, O_DB },
	{ "from-db", required_argument, NULL, O_FROM_DB },
	{ "manifest", required_argument, NULL, 'm' },
	{ "exceptions", required_argument, NULL, 'e' },
	{ "format", required_argument, NULL, 'F' },
	{ "passwd", required_argument, NULL, O_PASSWD },
	{ "group", required_argument, NULL, O_GROUP },
	{ "root", required_argument, NULL, O_ROOT },
	{ "create", no_argument, NULL, O_CREATE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "allow-root-dir", no_argument, NULL, O_ALLOW_ROOT },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char **manifests;
	size_t nmanifests;
	const char **exceptions;
	size_t nexceptions;
	const char *format;
	const char *passwd, *group, *names_root;
	bool db_wants_file;	/* --db without =FILE: FILE may be the next word */
};

static void usage(FILE *f, int status)
{
	fprintf(f,
		"usage: protofix [-n|--check] [--fix [--create]] [--db [FILE]] [-v]\n"
		"                [-F FORMAT] -m MANIFEST [-m MANIFEST...] [-e EXCEPTIONS]\n"
		"                [--passwd FILE] [--group FILE] [--root DIR] [--allow-root-dir]\n"
		"                PROTO_ROOT\n"
		"       protofix [-n|--check] [--fix] [-v] --from-db DB [-e EXCEPTIONS]\n"
		"                [--allow-root-dir] PROTO_ROOT\n");
	if (f == stdout)	/* --help: every option (protofix(1) says more) */
		fputs("\n"
		      "Check a proto area against a packaging manifest; fix it as root, or record\n"
		      "the manifest's owners in the fakebuild database.\n"
		      "\n"
		      "  -n, --check             only report; change nothing, even with --fix or --db\n"
		      "      --fix               apply the manifest to the tree (root)\n"
		      "      --create            with --fix or --db, create missing directories,\n"
		      "                          device nodes and FIFOs\n"
		      "      --db[=FILE]         compare with, and write to, a fakebuild database\n"
		      "                          instead of the tree (default: fakebuild's)\n"
		      "      --from-db DB        check against DB's records, not a manifest\n"
		      "  -m, --manifest FILE     the manifest (repeatable: a later one overrides)\n"
		      "  -F, --format FORMAT     the manifest's format: mtree, ips, prototype,\n"
		      "                          metalog, cpiolist or auto (the default)\n"
		      "  -e, --exceptions FILE   paths expected but not in the manifest (repeatable)\n"
		      "      --passwd FILE, --group FILE  resolve names through these files\n"
		      "      --root DIR          the same with DIR/etc/passwd and DIR/etc/group\n"
		      "  -v, --verbose           print each change made\n"
		      "      --allow-root-dir    allow PROTO_ROOT to be the root directory\n"
		      "      --help, --version\n",
		      f);
	exit(status);
}

/* FILE onto the list *V of *N names (-m, -e: each may be repeated). */
static void add_file(const char ***v, size_t *n, const char *file)
{
	*v = realloc(*v, (*n + 1) * sizeof **v);
	if (!*v)
		die("out of memory");
	(*v)[(*n)++] = file;
}

static void parse(int argc, char **argv, struct pf *pf, struct args *a)
{
	int c;

	while ((c = getopt_long(argc, argv, "nm:e:F:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': pf->o.dry_run = true; break;
		case O_FIX: pf->o.fix = true; break;
		case O_DB:
			pf->o.use_db = true;
			pf->o.db_file = optarg;
			a->db_wants_file = optarg == NULL;
			break;
		case 'm': add_file(&a->manifests, &a->nmanifests, optarg); break;
		case O_FROM_DB: pf->o.from_db = optarg; break;
		case 'e': add_file(&a->exceptions, &a->nexceptions, optarg); break;
		case 'F': a->format = optarg; break;
		case O_PASSWD: a->passwd = optarg; break;
		case O_GROUP: a->group = optarg; break;
		case O_ROOT: a->names_root = optarg; break;
		case O_CREATE: pf->o.create = true; break;
		case 'v': pf->o.verbose = true; break;
		case O_ALLOW_ROOT: pf->o.allow_root_dir = true; break;
		case O_HELP: usage(stdout, 0); break;
		case O_VERSION: printf("protofix (fakebuild) %s\n", VERSION); exit(0);
		default: usage(stderr, 2);
		}
	}
	/* "--db FILE ROOT": two words left, the first is the database. */
	if (a->db_wants_file && argc - optind == 2)
		pf->o.db_file = argv[optind++];
	if (pf->o.from_db) {
		if (a->nmanifests || pf->o.use_db || a->format || a->passwd || a->group || a->names_root ||
		    pf->o.create) {
			warn("--from-db: the database is the manifest; it takes no -m, -F, --db, --passwd, --group, "
			     "--root or --create (--fix makes placeholders devices; nothing else is missing)");
			usage(stderr, 2);
		}
	} else if (a->nmanifests == 0) {
		warn("no manifest: give -m MANIFEST, or --from-db DB");
		usage(stderr, 2);
	}
	if (pf->o.create && !pf->o.fix && !pf->o.use_db) {
		warn("--create makes what is missing: give it with --fix or --db");
		usage(stderr, 2);
	}
	if (argc - optind != 1) {
		if (argc == optind)
			warn("no PROTO_ROOT given");
		else
			warn("one PROTO_ROOT only, not %s and %s", argv[optind], argv[optind + 1]);
		usage(stderr, 2);
	}
	pf->root = argv[optind];
	/* --db records the manifest unless asked only to check. */
	if (pf->o.use_db && !pf->o.dry_run)
		pf->o.fix = true;
}

static void set_names(struct pf *pf, const struct args *a)
{
	char pw[PATH_MAX], gr[PATH_MAX];
	const char *p = a->passwd, *g = a->group;

	if (a->names_root) {
		snprintf(pw, sizeof pw, "%s/etc/passwd", a->names_root);
		snprintf(gr, sizeof gr, "%s/etc/group", a->names_root);
		p = p ? p : pw;
		g = g ? g : gr;
	}
	if ((p || g) && fb_manifest_set_names(pf->m, p, g) < 0)
		die("%s", fb_manifest_error(pf->m));
}

/*
 * Loading a manifest fills the heap with small pieces, libarchive's mtree
 * entries and the model: about 15 bytes of heap per byte of text, and a
 * page fault per new page (about 15 us on a VM, a fifth of --fix on
 * 100,000 entries).  Grow the heap once by most of what the manifests
 * will need, map it with one call (MADV_POPULATE_WRITE, Linux 5.14;
 * older kernels take the faults as before), and keep it for the small
 * allocations that follow: blocks of up to 16 MiB come from the heap, and
 * freeing them returns nothing to the kernel.
 */
static void reserve_heap(const struct args *a)
{
	const size_t block = 16u << 20, most = 1u << 30;
	size_t text = 0, want, got = 0;
	void *held[most / (16u << 20)];
	int n = 0;

	for (size_t i = 0; i < a->nmanifests; i++) {
		struct stat st;
		if (strcmp(a->manifests[i], "-") != 0 && stat(a->manifests[i], &st) == 0 &&
		    S_ISREG(st.st_mode))
			text += (size_t)st.st_size;
	}
	want = text < most / 12 ? text * 12 : most;
	if (want < block)
		return;
	if (!mallopt(M_MMAP_THRESHOLD, (int)block + 1) || !mallopt(M_TRIM_THRESHOLD, (int)most))
		return;
	while (got < want && (held[n] = malloc(block - 64)) != NULL) {
		fb_populate(held[n], block - 64);
		got += block;
		n++;
	}
	while (n > 0)
		free(held[--n]);
}

static void load(struct pf *pf, const struct args *a)
{
	enum fb_mformat fmt = FB_MF_AUTO;
	size_t i;

	if (a->format && fb_manifest_format_parse(a->format, &fmt) < 0)
		die("-F %s: unknown format (prototype, ips, mtree, cpiolist, auto)", a->format);
	if (!(pf->m = fb_manifest_new()))
		die("out of memory");
	set_names(pf, a);
	reserve_heap(a);
	for (i = 0; i < a->nmanifests; i++)
		if (fb_manifest_load(pf->m, a->manifests[i], fmt) < 0)
			die("%s", fb_manifest_error(pf->m));
	for (i = 0; i < fb_manifest_nwarnings(pf->m); i++)
		warn("warning: %s", fb_manifest_warning(pf->m, i));
}

/* Directories with entries beneath them, and the hard-linked names. */
static void index_manifest(struct pf *pf)
{
	const struct fb_mentry *const *v;
	const char *s;
	size_t i, n;

	v = fb_manifest_sorted(pf->m, &n);
	for (i = 0; i < n; i++) {
		for (s = strchr(v[i]->path, '/'); s; s = strchr(s + 1, '/'))
			pf_hashset_add(&pf->ancestors, v[i]->path, (size_t)(s - v[i]->path));
		if (v[i]->type == FB_M_HARDLINK && (v[i]->have & FB_MH_TARGET)) {
			const char *first = pf_link_first(pf, v[i]->path);
			unsigned long *size = pf_hashset_add(&pf->linked, first, strlen(first));
			*size += *size ? 1 : 2;	/* the first name, then each link */
		}
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* One descriptor per directory level of the deepest path, plus the scan's. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Descriptors 0-2 must be open: otherwise the root or a directory of the
 * tree could be opened as descriptor 1, and the report written into it.
 */
static void sane_stdio(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			exit(2);
}

static int finish(struct pf *pf)
{
	if (pf->o.fix && !pf->o.dry_run)
		warn("%lu changed, %lu failed, %lu differences left, %lu errors",
		     pf->nchanged, pf->nfailed, pf->ndiff, pf->nerr);
	if (pf->nerr || pf->nfailed)
		return 2;
	return pf->ndiff ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct pf pf = { .rootfd = -1 };
	struct args a = { 0 };
	int status;

	sane_stdio();
	pf_setprog(argv[0]);
	pf_compat = getenv("PROTOFIX_COMPAT") != NULL;
	parse(argc, argv, &pf, &a);
	/* Changing owners needs root; --db is the way for everyone else. */
	if (pf.o.fix && !pf.o.dry_run && !pf.o.use_db && geteuid() != 0)
		die(pf.o.from_db ? "--fix changes owners and needs root (the database itself is what fakebuild sessions see)"
				 : "--fix changes owners and needs root (use --db to record them in the fakebuild database)");
	pf.rootfd = pf_open_root(pf.root, pf.o.allow_root_dir, &pf.root_owner);
	if (!(pf.root_abs = realpath(pf.root, NULL)))
		die("%s: %s", pf.root, strerror(errno));
	raise_nofile();
	for (size_t i = 0; i < a.nexceptions; i++)
		pf.exc = pf_except_load(pf.exc, a.exceptions[i]);
	if (pf.o.from_db) {
		pf_fromdb_open(&pf);
		pf_walk_db(&pf);
		pf_fromdb_close(&pf);
	} else {
		load(&pf, &a);
		index_manifest(&pf);
		if (pf.o.use_db)
			pf_db_open(&pf);
		pf_walk_manifest(&pf);
		pf_walk_extra(&pf);
		pf_db_close(&pf);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		die("stdout: %s", strerror(errno));
	status = finish(&pf);
	pf_except_free(pf.exc);
	pf_hashset_free(&pf.ancestors);
	pf_hashset_free(&pf.linked);
	fb_manifest_free(pf.m);
	free(pf.root_abs);
	free(a.manifests);
	free(a.exceptions);
	return status;
}
