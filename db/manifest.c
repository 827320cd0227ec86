/*
 * manifest.c - the packaging manifest model: the handle, loading (into a
 * temporary, merged only on success), hard link resolution, name
 * resolution, path normalization and the helpers the format readers share.
 * The readers themselves are db/manifest_<format>.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest_impl.h"

#define FB_HARDLINK_HOPS 64	/* a chain longer than this is a loop */

/* --- messages -------------------------------------------------------------- */

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static void set_err_text(struct fb_manifest *m, char *s)
{
	free(m->err);
	m->err = s;	/* NULL: fb_manifest_error reports out of memory */
}

int fb_mf_seterr(struct fb_manifest *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_err_text(m, vfmt(fmt, ap));
	va_end(ap);
	return -1;
}

static char *located(struct fb_mctx *c, const char *fmt, va_list ap)
{
	char *msg = vfmt(fmt, ap), *s = NULL;

	if (msg == NULL)
		return NULL;
	if (c->file == NULL)
		return msg;
	if (c->line > 0) {
		if (asprintf(&s, "%s:%u: %s", c->file, c->line, msg) < 0)
			s = NULL;
	} else if (c->entry != NULL) {
		if (asprintf(&s, "%s: entry '%s': %s", c->file, c->entry, msg) < 0)
			s = NULL;
	} else if (asprintf(&s, "%s: %s", c->file, msg) < 0) {
		s = NULL;
	}
	free(msg);
	return s;
}

int fb_mf_error(struct fb_mctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_err_text(c->m, located(c, fmt, ap));
	va_end(ap);
	return -1;
}

static void push_warning(struct fb_manifest *m, char *s)
{
	char **w;

	if (s == NULL)
		return;
	w = realloc(m->warn, (m->nwarn + 1) * sizeof(*w));
	if (w == NULL) {
		free(s);
		return;
	}
	m->warn = w;
	m->warn[m->nwarn++] = s;
}

void fb_mf_warn(struct fb_mctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	push_warning(c->m, located(c, fmt, ap));
	va_end(ap);
}

const char *fb_manifest_error(const struct fb_manifest *m)
{
	return m->err ? m->err : "out of memory";
}

size_t fb_manifest_nwarnings(const struct fb_manifest *m)
{
	return m->nwarn;
}

const char *fb_manifest_warning(const struct fb_manifest *m, size_t i)
{
	return i < m->nwarn ? m->warn[i] : NULL;
}

const char *fb_mf_intern_file(struct fb_manifest *m, const char *name)
{
	char **f, *s;

	for (size_t i = 0; i < m->nfiles; i++)
		if (strcmp(m->files[i], name) == 0)
			return m->files[i];
	f = realloc(m->files, (m->nfiles + 1) * sizeof(*f));
	if (f == NULL)
		return NULL;
	m->files = f;
	if ((s = strdup(name)) == NULL)
		return NULL;
	m->files[m->nfiles++] = s;
	return s;
}

/* --- the handle ------------------------------------------------------------ */

struct fb_manifest *fb_manifest_new(void)
{
	return calloc(1, sizeof(struct fb_manifest));
}

void fb_mf_entry_free(struct fb_mentry *e)
{
	if (e == NULL)
		return;
	free(e->path);
	free(e->uname);
	free(e->gname);
	free(e->target);
	free((struct fb_mpriv *)e);
}

static void free_entries(struct fb_mentry **tab)
{
	struct fb_mentry *e, *tmp;

	HASH_ITER(hh, *tab, e, tmp) {
		HASH_DEL(*tab, e);
		fb_mf_entry_free(e);
	}
}

static void free_idmap(struct fb_idmap **map)
{
	struct fb_idmap *i, *tmp;

	HASH_ITER(hh, *map, i, tmp) {
		HASH_DEL(*map, i);
		free(i->name);
		free(i);
	}
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void fb_manifest_free(struct fb_manifest *m)
{
	if (m == NULL)
		return;
	free_entries(&m->tab);
	free_idmap(&m->users);
	free_idmap(&m->groups);
	free_strv(m->warn, m->nwarn);
	free_strv(m->files, m->nfiles);
	free(m->sorted);
	free(m->passwd_file);
	free(m->group_file);
	free(m->err);
	free(m);
}

size_t fb_manifest_count(const struct fb_manifest *m)
{
	return HASH_COUNT(m->tab);
}

static struct fb_mentry *lookup(const struct fb_manifest *m, const char *key)
{
	struct fb_mentry *e = NULL;

	HASH_FIND_STR(m->tab, key, e);
	return e;
}

const struct fb_mentry *fb_manifest_find(const struct fb_manifest *m, const char *path)
{
	char key[PATH_MAX];

	if (m == NULL || path == NULL || fb_path_normalize(path, key, sizeof(key)) < 0)
		return NULL;
	return lookup(m, key);
}

/* --- names ----------------------------------------------------------------- */

static int idmap_add(struct fb_idmap **map, const char *name, unsigned id)
{
	struct fb_idmap *i = NULL;

	HASH_FIND_STR(*map, name, i);
	if (i != NULL)		/* first one wins, as getpwnam does */
		return 0;
	if ((i = calloc(1, sizeof(*i))) == NULL || (i->name = strdup(name)) == NULL) {
		free(i);
		return -1;
	}
	i->id = id;
	HASH_ADD_KEYPTR(hh, *map, i->name, strlen(i->name), i);
	return 0;
}

/* fgetpwent_r/fgetgrent_r parse the files for us; we only index them. */
static int read_passwd(struct fb_manifest *m, const char *file)
{
	char buf[4096];
	struct passwd pw, *res;
	FILE *f = fopen(file, "re");
	int rc = 0;

	if (f == NULL)
		return fb_mf_seterr(m, "%s: %s", file, strerror(errno));
	while (fgetpwent_r(f, &pw, buf, sizeof(buf), &res) == 0)
		if (idmap_add(&m->users, pw.pw_name, pw.pw_uid) < 0) {
			rc = fb_mf_seterr(m, "%s: out of memory", file);
			break;
		}
	fclose(f);
	return rc;
}

static int read_group(struct fb_manifest *m, const char *file)
{
	char buf[16384];
	struct group gr, *res;
	FILE *f = fopen(file, "re");
	int rc = 0;

	if (f == NULL)
		return fb_mf_seterr(m, "%s: %s", file, strerror(errno));
	while (fgetgrent_r(f, &gr, buf, sizeof(buf), &res) == 0)
		if (idmap_add(&m->groups, gr.gr_name, gr.gr_gid) < 0) {
			rc = fb_mf_seterr(m, "%s: out of memory", file);
			break;
		}
	fclose(f);
	return rc;
}

int fb_manifest_set_names(struct fb_manifest *m, const char *passwd_file,
			  const char *group_file)
{
	if (m->loaded)
		return fb_mf_seterr(m, "set_names: must come before the first load");
	free_idmap(&m->users);
	free_idmap(&m->groups);
	free(m->passwd_file);
	free(m->group_file);
	m->passwd_file = m->group_file = NULL;
	if (passwd_file != NULL) {
		if ((m->passwd_file = strdup(passwd_file)) == NULL)
			return fb_mf_seterr(m, "out of memory");
		if (read_passwd(m, passwd_file) < 0)
			return -1;
	}
	if (group_file != NULL) {
		if ((m->group_file = strdup(group_file)) == NULL)
			return fb_mf_seterr(m, "out of memory");
		if (read_group(m, group_file) < 0)
			return -1;
	}
	return 0;
}

static int host_uid(const char *name, unsigned *id)
{
	struct passwd pw, *res = NULL;
	char buf[16384];

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	*id = pw.pw_uid;
	return 0;
}

static int host_gid(const char *name, unsigned *id)
{
	struct group gr, *res = NULL;
	char buf[65536];

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	*id = gr.gr_gid;
	return 0;
}

static int resolve(struct fb_mctx *c, int group, const char *name, unsigned *id)
{
	struct fb_manifest *n = c->names;
	const char *file = group ? n->group_file : n->passwd_file;
	struct fb_idmap *i = NULL;

	if (file == NULL) {
		/*
		 * The host's databases may be slow (NSS, LDAP): remember each
		 * answer in the tables set_names would have filled.
		 */
		HASH_FIND_STR(group ? n->groups : n->users, name, i);
		if (i != NULL) {
			*id = i->id;
			return 0;
		}
		if ((group ? host_gid(name, id) : host_uid(name, id)) == 0) {
			idmap_add(group ? &n->groups : &n->users, name, *id);
			return 0;
		}
		return fb_mf_error(c, "unknown %s '%s': not in the host's %s database",
				   group ? "group" : "user", name, group ? "group" : "passwd");
	}
	HASH_FIND_STR(group ? n->groups : n->users, name, i);
	if (i == NULL)
		return fb_mf_error(c, "unknown %s '%s': not in %s",
				   group ? "group" : "user", name, file);
	*id = i->id;
	return 0;
}

/* --- fields ---------------------------------------------------------------- */

int fb_mf_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

static int all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}


static int set_id(struct fb_mctx *c, struct fb_mentry *e, int group, const char *s)
{
	const char *what = group ? "group" : "owner";
	unsigned long v;
	unsigned id;
	char **namep = group ? &e->gname : &e->uname;

	if (all_digits(s)) {
		if (fb_mf_parse_uint(s, FB_ID_MAX, &v) < 0)
			return fb_mf_error(c, "bad %s '%s': expected a name or a number up to %lu",
					   what, s, FB_ID_MAX);
		id = (unsigned)v;
		free(*namep);
		*namep = NULL;
	} else {
		if (*s == '\0' || strpbrk(s, ":/ \t") != NULL)
			return fb_mf_error(c, "bad %s '%s': expected a name or a number", what, s);
		if (resolve(c, group, s, &id) < 0)
			return -1;
		free(*namep);
		if ((*namep = strdup(s)) == NULL)
			return fb_mf_error(c, "out of memory");
	}
	if (group)
		e->gid = id;
	else
		e->uid = id;
	e->have |= group ? FB_MH_GID : FB_MH_UID;
	((struct fb_mpriv *)e)->own |= group ? FB_MH_GID : FB_MH_UID;
	return 0;
}

int fb_mf_set_owner(struct fb_mctx *c, struct fb_mentry *e, const char *s)
{
	return set_id(c, e, 0, s);
}

int fb_mf_set_group(struct fb_mctx *c, struct fb_mentry *e, const char *s)
{
	return set_id(c, e, 1, s);
}

int fb_mf_parse_mode(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -EINVAL;
		v = v * 8 + (unsigned long)(*s - '0');
		if (v > 07777)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

int fb_mf_set_mode(struct fb_mctx *c, struct fb_mentry *e, const char *s)
{
	unsigned long v;
	int r = fb_mf_parse_mode(s, &v);

	if (r == -EINVAL)
		return fb_mf_error(c, "bad mode '%s': expected octal", s);
	if (r < 0)
		return fb_mf_error(c, "bad mode '%s': expected octal up to 7777", s);
	e->perm = (mode_t)v;
	e->have |= FB_MH_MODE;
	((struct fb_mpriv *)e)->own |= FB_MH_MODE;
	return 0;
}

int fb_mf_set_rdev(struct fb_mctx *c, struct fb_mentry *e, const char *maj,
		   const char *min)
{
	unsigned long a, b;

	/* Linux's: a 12-bit major and a 20-bit minor (mknod gives EINVAL past them). */
	if (fb_mf_parse_uint(maj, 0xfff, &a) < 0)
		return fb_mf_error(c, "bad major '%s': expected a decimal number from 0 to 4095", maj);
	if (fb_mf_parse_uint(min, 0xfffff, &b) < 0)
		return fb_mf_error(c, "bad minor '%s': expected a decimal number from 0 to 1048575",
				   min);
	e->dev_major = (unsigned)a;
	e->dev_minor = (unsigned)b;
	e->have |= FB_MH_RDEV;
	((struct fb_mpriv *)e)->own |= FB_MH_RDEV;
	return 0;
}

int fb_mf_set_symlink(struct fb_mctx *c, struct fb_mentry *e, const char *t)
{
	if (*t == '\0')
		return fb_mf_error(c, "symlink '%s': expected a target, found none", e->path);
	free(e->target);
	if ((e->target = strdup(t)) == NULL)
		return fb_mf_error(c, "out of memory");
	e->have |= FB_MH_TARGET;
	return 0;
}

/*
 * Append the components of T to OUT (a normalized path or "" for the root),
 * resolving ".." lexically.  -EINVAL when ".." climbs above the root.
 */
static int join_resolve(char *out, size_t outlen, const char *t)
{
	size_t len = strlen(out);

	while (*t) {
		size_t n = strcspn(t, "/");

		if (n == 2 && t[0] == '.' && t[1] == '.') {
			char *slash;

			if (len == 0)
				return -EINVAL;
			slash = strrchr(out, '/');
			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
		} else if (n > 0 && !(n == 1 && t[0] == '.')) {
			if (len + (len > 0) + n + 1 > outlen)
				return -ENAMETOOLONG;
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, t, n);
			len += n;
			out[len] = '\0';
		}
		t += n;
		while (*t == '/')
			t++;
	}
	return 0;
}

int fb_mf_set_hardlink(struct fb_mctx *c, struct fb_mentry *e, const char *t,
		       int relative_to_link)
{
	char out[PATH_MAX] = "";
	char *slash;

	if (*t == '\0')
		return fb_mf_error(c, "hard link '%s': expected a target, found none", e->path);
	if (*t != '/' && relative_to_link && (slash = strrchr(e->path, '/')) != NULL) {
		memcpy(out, e->path, (size_t)(slash - e->path));
		out[slash - e->path] = '\0';
	}
	if (join_resolve(out, sizeof(out), t) < 0 || out[0] == '\0')
		return fb_mf_error(c, "hard link '%s': bad target '%s': expected a path "
				   "inside the tree", e->path, t);
	free(e->target);
	if ((e->target = strdup(out)) == NULL)
		return fb_mf_error(c, "out of memory");
	e->have |= FB_MH_TARGET;
	return 0;
}

/* --- entries --------------------------------------------------------------- */

struct fb_mentry *fb_mf_entry_new(struct fb_mctx *c, const char *path,
				  enum fb_mtype type)
{
	char key[PATH_MAX];
	struct fb_mpriv *p;
	int r = fb_path_normalize(path, key, sizeof(key));

	if (r == -EINVAL) {
		fb_mf_error(c, "bad path '%s': '..' is not allowed", path);
		return NULL;
	}
	if (r < 0) {
		fb_mf_error(c, "bad path '%s': too long", path);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->e.path = strdup(key)) == NULL) {
		free(p);
		fb_mf_error(c, "out of memory");
		return NULL;
	}
	p->e.type = type;
	p->e.file = c->file;
	p->e.line = c->line;
	return &p->e;
}

static void where(const struct fb_mentry *e, char *buf, size_t len)
{
	if (e->line)
		snprintf(buf, len, "%s:%u", e->file, e->line);
	else
		snprintf(buf, len, "%s", e->file);
}

void fb_mf_add(struct fb_mctx *c, struct fb_mentry *e)
{
	struct fb_mentry *old = NULL;
	char at[PATH_MAX + 32];

	HASH_REPLACE_STR(c->m->tab, path, e, old);
	if (old != NULL) {
		where(old, at, sizeof(at));
		fb_mf_warn(c, "'%s' overrides the entry of %s", e->path, at);
		fb_mf_entry_free(old);
	}
}

/* --- reading --------------------------------------------------------------- */

static int read_fd(int fd, char **buf, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = malloc(cap), *nb;
	ssize_t r;

	if (b == NULL)
		return -ENOMEM;
	for (;;) {
		if (n + 1 >= cap) {
			if ((nb = realloc(b, cap *= 2)) == NULL) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(b);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static unsigned line_of(const char *buf, const char *at)
{
	unsigned line = 1;

	for (; buf < at; buf++)
		line += *buf == '\n';
	return line;
}

static int check_text(struct fb_mctx *c, const char *buf, size_t len)
{
	const char *nul = memchr(buf, '\0', len);

	if (nul == NULL)
		return 0;
	c->line = line_of(buf, nul);
	return fb_mf_error(c, "unexpected NUL byte: expected a text manifest");
}

int fb_mf_read_all(struct fb_mctx *c, const char *file, int regular_only,
		   char **buf, size_t *len)
{
	struct stat st;
	int fd, r;

	if (strcmp(file, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return fb_mf_error(c, "can't open the manifest '%s': %s", file, strerror(errno));
	if (regular_only && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return fb_mf_error(c, "'%s': expected a regular file", file);
	}
	if (fd != STDIN_FILENO)	/* O_NONBLOCK was only so open won't hang on a fifo */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	r = read_fd(fd, buf, len);
	if (fd != STDIN_FILENO)
		close(fd);
	if (r < 0)
		return fb_mf_error(c, "can't read '%s': %s", file, strerror(-r));
	/* A NUL byte's message says where, like any other in the text. */
	const char *named = c->file;
	if (!c->file)
		c->file = file;
	r = check_text(c, *buf, *len);
	c->file = named;
	if (r < 0) {
		free(*buf);
		return -1;
	}
	return 0;
}

char *fb_mf_next_line(struct fb_mctx *c, char **p)
{
	char *s = *p, *nl;

	if (s == NULL || *s == '\0')
		return NULL;
	c->line++;
	nl = strchr(s, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*p = nl + 1;
		if (nl > s && nl[-1] == '\r')
			nl[-1] = '\0';
	} else {
		*p = s + strlen(s);
	}
	return s;
}

char *fb_mf_token(char **p)
{
	char *s = *p, *t;

	s += strspn(s, " \t\r\f\v");
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	t = s + strcspn(s, " \t\r\f\v");
	if (*t != '\0')
		*t++ = '\0';
	*p = t;
	return s;
}

/* --- format detection ------------------------------------------------------ */

static int in_list(const char *w, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(w, *list) == 0)
			return 1;
	return 0;
}

static const char *const ips_actions[] = {
	"set", "file", "dir", "link", "hardlink", "depend", "license", "legacy",
	"group", "user", "driver", "signature", NULL
};
static const char *const cpio_kinds[] = {
	"file", "dir", "nod", "slink", "pipe", "sock", NULL
};
/* mtree(5)'s keywords, libarchive's and BSD's. */
static const char *const mtree_keys[] = {
	"cksum", "contents", "device", "flags", "gid", "gname", "ignore", "inode", "link", "md5",
	"md5digest", "mode", "nlink", "nochange", "optional", "resdevice", "rmd160", "rmd160digest",
	"ripemd160digest", "sha1", "sha1digest", "sha256", "sha256digest", "sha384", "sha384digest",
	"sha512", "sha512digest", "size", "tags", "time", "type", "uid", "uname", NULL
};

/* Is W "keyword" or "keyword=..." with an mtree keyword? */
static int mtree_key(const char *w)
{
	char k[32];
	snprintf(k, sizeof k, "%.*s", (int)strcspn(w, "="), w);
	return in_list(k, mtree_keys);
}

/* Classify one significant line (copied, so tokenizing does not hurt BUF). */
static enum fb_mformat detect_line(const char *line)
{
	char copy[512], *p = copy, *w1, *w2, *w;
	int has_eq = 0, all_eq = 1, any_key = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	w1 = fb_mf_token(&p);
	w2 = fb_mf_token(&p);
	if (w1 == NULL)
		return FB_MF_AUTO;
	if (strcmp(w1, "/set") == 0 || strcmp(w1, "/unset") == 0)
		return FB_MF_MTREE;
	if (w1[0] == '!')
		return FB_MF_PROTOTYPE;
	if (all_digits(w1) && w2 != NULL && strlen(w2) == 1 && strchr("bcdefilpsvx", w2[0]))
		return FB_MF_PROTOTYPE;	/* optional part number first */
	for (w = w2; w != NULL; w = fb_mf_token(&p)) {
		has_eq |= strchr(w, '=') != NULL;
		all_eq &= strchr(w, '=') != NULL;
		any_key |= mtree_key(w);
	}
	if (strlen(w1) == 1 && strchr("bcdefilpsvx", w1[0]) && w2 && !strchr(w2, '='))
		return FB_MF_PROTOTYPE;
	if (in_list(w1, ips_actions) && has_eq)
		return FB_MF_IPS;
	if (in_list(w1, cpio_kinds))
		return FB_MF_CPIOLIST;
	if (all_eq && (!has_eq || any_key))
		return FB_MF_MTREE;	/* "path key=value ..." or a bare relative name */
	return FB_MF_AUTO;
}

/* Returns the format, FB_MF_AUTO for an empty text, -1 with the error set. */
static int detect(struct fb_mctx *c, const char *buf)
{
	const char *p = buf;
	unsigned line = 0;

	while (*p) {
		size_t n = strcspn(p, "\n");
		char text[512], first;
		enum fb_mformat f;

		line++;
		snprintf(text, sizeof(text), "%.*s", (int)(n < 511 ? n : 511), p);
		if (strncmp(text, "#mtree", 6) == 0)
			return FB_MF_MTREE;
		first = text[strspn(text, " \t\r")];
		if (first != '\0' && first != '#') {
			if ((f = detect_line(text)) != FB_MF_AUTO)
				return f;
			c->line = line;
			return fb_mf_error(c, "can't tell the format from '%.60s': expected a "
					   "prototype, IPS, mtree or gen_init_cpio line", text);
		}
		p += n + (p[n] == '\n');
	}
	return FB_MF_AUTO;
}

/* --- loading --------------------------------------------------------------- */

static struct fb_mentry *view_find(struct fb_manifest *top, struct fb_manifest *base,
				   const char *key)
{
	struct fb_mentry *e = top ? lookup(top, key) : NULL;

	return e ? e : lookup(base, key);
}

static int differs(const struct fb_mentry *a, unsigned own, const struct fb_mentry *t)
{
	unsigned both = own & t->have;

	return ((both & FB_MH_UID) && a->uid != t->uid) ||
	       ((both & FB_MH_GID) && a->gid != t->gid) ||
	       ((both & FB_MH_MODE) && a->perm != t->perm);
}

/*
 * Find the inode a hard link names (following link -> link chains) in the
 * view TOP over BASE.  Errors for a loop, a directory, or an own attribute
 * that disagrees with the target's.  *T is NULL when the target is absent.
 */
static int hardlink_target(struct fb_manifest *err, struct fb_manifest *top,
			   struct fb_manifest *base, struct fb_mentry *e,
			   struct fb_mentry **t)
{
	struct fb_mentry *cur = e;
	char at[PATH_MAX + 32];

	where(e, at, sizeof(at));
	for (int hops = 0; cur->type == FB_M_HARDLINK; hops++) {
		if (hops == FB_HARDLINK_HOPS)
			return fb_mf_seterr(err, "%s: hard link '%s': loop through '%s'",
					    at, e->path, cur->path);
		if ((cur = view_find(top, base, cur->target)) == NULL) {
			*t = NULL;
			return 0;
		}
		if (cur == e)
			return fb_mf_seterr(err, "%s: hard link '%s': loop", at, e->path);
	}
	if (cur->type == FB_M_DIR)
		return fb_mf_seterr(err, "%s: hard link '%s': target '%s' is a directory",
				    at, e->path, cur->path);
	if (differs(e, ((struct fb_mpriv *)e)->own, cur)) {
		char tat[PATH_MAX + 32];

		where(cur, tat, sizeof(tat));
		return fb_mf_seterr(err, "%s: hard link '%s': owner, group or mode differ "
				    "from '%s' (%s), the same inode", at, e->path, cur->path, tat);
	}
	*t = cur;
	return 0;
}

/* Check every hard link of TOP over BASE without changing anything. */
static int check_hardlinks(struct fb_manifest *top, struct fb_manifest *base)
{
	struct fb_mentry *e, *tmp, *t;

	HASH_ITER(hh, base->tab, e, tmp)
		if (e->type == FB_M_HARDLINK && lookup(top, e->path) == NULL &&
		    hardlink_target(top, top, base, e, &t) < 0)
			return -1;
	HASH_ITER(hh, top->tab, e, tmp)
		if (e->type == FB_M_HARDLINK && hardlink_target(top, top, base, e, &t) < 0)
			return -1;
	return 0;
}

static int copy_name(char **dst, const char *src)
{
	free(*dst);
	*dst = NULL;
	return src && (*dst = strdup(src)) == NULL ? -1 : 0;
}

/* Give each hard link its inode's attributes (the view was checked already). */
static int apply_hardlinks(struct fb_manifest *m)
{
	struct fb_mentry *e, *tmp, *t;

	HASH_ITER(hh, m->tab, e, tmp) {
		unsigned own = ((struct fb_mpriv *)e)->own, copy;

		if (e->type != FB_M_HARDLINK)
			continue;
		if (hardlink_target(m, NULL, m, e, &t) < 0)
			return -1;
		e->have = (e->have & FB_MH_TARGET) | own;
		/* Names copied from an earlier target go with its ids. */
		if (!(own & FB_MH_UID))
			copy_name(&e->uname, NULL);
		if (!(own & FB_MH_GID))
			copy_name(&e->gname, NULL);
		if (t == NULL)
			continue;
		copy = t->have & ~own & (FB_MH_UID | FB_MH_GID | FB_MH_MODE);
		if (copy & FB_MH_UID) {
			e->uid = t->uid;
			if (copy_name(&e->uname, t->uname) < 0)
				return fb_mf_seterr(m, "out of memory");
		}
		if (copy & FB_MH_GID) {
			e->gid = t->gid;
			if (copy_name(&e->gname, t->gname) < 0)
				return fb_mf_seterr(m, "out of memory");
		}
		if (copy & FB_MH_MODE)
			e->perm = t->perm;
		e->have |= copy;
	}
	return 0;
}

static void warn_missing_targets(struct fb_manifest *top, struct fb_manifest *base)
{
	struct fb_mentry *e, *tmp;
	char at[PATH_MAX + 32];

	HASH_ITER(hh, top->tab, e, tmp)
		if (e->type == FB_M_HARDLINK && view_find(top, base, e->target) == NULL) {
			where(e, at, sizeof(at));
			char *s;

			if (asprintf(&s, "%s: hard link '%s': target '%s' is not in the "
				     "manifest; its attributes are unknown", at, e->path,
				     e->target) >= 0)
				push_warning(top, s);
		}
}

/* Move everything of TMP into M; TMP is left empty.  Cannot fail. */
static void merge(struct fb_manifest *m, struct fb_manifest *tmp)
{
	struct fb_mentry *e, *x, *old;
	char at[PATH_MAX + 32], oat[PATH_MAX + 32];

	/* The first load (the common case): nothing to override, take the table whole. */
	if (m->tab == NULL) {
		m->tab = tmp->tab;
		tmp->tab = NULL;
	}
	HASH_ITER(hh, tmp->tab, e, x) {
		HASH_DEL(tmp->tab, e);
		old = NULL;
		HASH_REPLACE_STR(m->tab, path, e, old);
		if (old != NULL) {
			char *s;

			where(e, at, sizeof(at));
			where(old, oat, sizeof(oat));
			if (asprintf(&s, "%s: '%s' overrides the entry of %s", at, e->path, oat) >= 0)
				push_warning(tmp, s);
			fb_mf_entry_free(old);
		}
	}
	for (size_t i = 0; i < tmp->nwarn; i++)
		push_warning(m, tmp->warn[i]);
	free(tmp->warn);
	tmp->warn = NULL;
	tmp->nwarn = 0;
}

/*
 * The temporary must own file names the merged entries point to: reserve
 * them in M first, so the merge itself cannot fail half-way.
 */
static int adopt_files(struct fb_manifest *m, struct fb_manifest *tmp)
{
	struct fb_mentry *e, *x;

	for (size_t i = 0; i < tmp->nfiles; i++)
		if (fb_mf_intern_file(m, tmp->files[i]) == NULL)
			return fb_mf_seterr(m, "out of memory");
	HASH_ITER(hh, tmp->tab, e, x)
		e->file = fb_mf_intern_file(m, e->file);
	return 0;
}

static int parse(struct fb_mctx *c, char *buf, size_t len, enum fb_mformat fmt)
{
	int f = fmt;

	if (fmt == FB_MF_AUTO && (f = detect(c, buf)) < 0)
		return -1;
	c->line = 0;
	switch (f) {
	case FB_MF_PROTOTYPE: return fb_mf_parse_prototype(c, buf, len);
	case FB_MF_IPS: return fb_mf_parse_ips(c, buf, len);
	case FB_MF_MTREE: return fb_mf_parse_mtree(c, buf, len);
	case FB_MF_CPIOLIST: return fb_mf_parse_cpiolist(c, buf, len);
	case FB_MF_AUTO: return 0;	/* nothing but comments and blank lines */
	}
	return fb_mf_error(c, "unknown format %d", f);
}

/* Parse BUF into a temporary; merge only if the whole load is good. */
static int load_buf(struct fb_manifest *m, const char *name, char *buf, size_t len,
		    enum fb_mformat fmt)
{
	struct fb_manifest *tmp = fb_manifest_new();
	struct fb_mctx c = { .m = tmp, .names = m };
	int rc = -1;

	if (tmp == NULL || (c.file = fb_mf_intern_file(tmp, name)) == NULL) {
		fb_manifest_free(tmp);
		return fb_mf_seterr(m, "%s: out of memory", name);
	}
	if (check_text(&c, buf, len) == 0 && parse(&c, buf, len, fmt) == 0 &&
	    check_hardlinks(tmp, m) == 0 && adopt_files(m, tmp) == 0) {
		warn_missing_targets(tmp, m);
		merge(m, tmp);
		free(m->sorted);
		m->sorted = NULL;
		rc = apply_hardlinks(m);
	} else {
		set_err_text(m, tmp->err);
		tmp->err = NULL;
	}
	fb_manifest_free(tmp);
	return rc;
}

int fb_manifest_load_mem(struct fb_manifest *m, const char *name,
			 const void *buf, size_t len, enum fb_mformat fmt)
{
	char *copy = malloc(len + 1);
	int rc;

	m->loaded = 1;
	if (copy == NULL)
		return fb_mf_seterr(m, "%s: out of memory", name);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	rc = load_buf(m, name, copy, len, fmt);
	free(copy);
	return rc;
}

int fb_manifest_load(struct fb_manifest *m, const char *file, enum fb_mformat fmt)
{
	struct fb_mctx c = { .m = m, .names = m, .file = NULL };
	char *buf;
	size_t len;
	int rc;

	m->loaded = 1;
	if (fb_mf_read_all(&c, file, 0, &buf, &len) < 0)
		return -1;
	rc = load_buf(m, file, buf, len, fmt);
	free(buf);
	return rc;
}

/* --- sorting --------------------------------------------------------------- */

/* '/' ranks lowest (after the end of a name), so a parent precedes its children. */
static int rank(unsigned char ch)
{
	return ch == '\0' ? 0 : ch == '/' ? 1 : ch + 1;
}

static int pathcmp(const char *a, const char *b)
{
	if (strcmp(a, ".") == 0)	/* the root first, whatever follows '.' */
		return strcmp(b, ".") == 0 ? 0 : -1;
	if (strcmp(b, ".") == 0)
		return 1;
	for (; *a && *a == *b; a++, b++)
		;
	return rank((unsigned char)*a) - rank((unsigned char)*b);
}

static int entcmp(const void *x, const void *y)
{
	const struct fb_mentry *const *a = x, *const *b = y;

	return pathcmp((*a)->path, (*b)->path);
}

const struct fb_mentry *const *fb_manifest_sorted(struct fb_manifest *m, size_t *n)
{
	size_t count = HASH_COUNT(m->tab), i = 0;
	struct fb_mentry *e, *tmp;

	*n = 0;
	if (m->sorted == NULL) {
		if ((m->sorted = malloc((count + 1) * sizeof(*m->sorted))) == NULL) {
			fb_mf_seterr(m, "out of memory");
			return NULL;
		}
		HASH_ITER(hh, m->tab, e, tmp)
			m->sorted[i++] = e;
		qsort(m->sorted, count, sizeof(*m->sorted), entcmp);
	}
	*n = count;
	return m->sorted;
}

/* --- small public helpers -------------------------------------------------- */

int fb_path_normalize(const char *path, char *out, size_t outlen)
{
	size_t len = 0;

	if (outlen == 0)
		return -ENAMETOOLONG;
	while (*path) {
		size_t n = strcspn(path, "/");

		if (n == 2 && path[0] == '.' && path[1] == '.')
			return -EINVAL;
		if (n > 0 && !(n == 1 && path[0] == '.')) {
			if (len + (len > 0) + n + 1 > outlen)
				return -ENAMETOOLONG;
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, path, n);
			len += n;
		}
		path += n;
		while (*path == '/')
			path++;
	}
	if (len == 0) {
		if (outlen < 2)
			return -ENAMETOOLONG;
		out[len++] = '.';
	}
	out[len] = '\0';
	return 0;
}

static const char *const format_names[] = {
	[FB_MF_AUTO] = "auto",
	[FB_MF_PROTOTYPE] = "prototype",
	[FB_MF_IPS] = "ips",
	[FB_MF_MTREE] = "mtree",
	[FB_MF_CPIOLIST] = "cpiolist",
};

int fb_manifest_format_parse(const char *name, enum fb_mformat *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(*format_names); i++)
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum fb_mformat)i;
			return 0;
		}
	return -1;
}

const char *fb_manifest_format_name(enum fb_mformat fmt)
{
	if ((unsigned)fmt < sizeof(format_names) / sizeof(*format_names))
		return format_names[fmt];
	return "unknown";
}

const char *fb_mtype_name(enum fb_mtype t)
{
	static const char *const names[] = {
		[FB_M_FILE] = "file", [FB_M_DIR] = "dir", [FB_M_SYMLINK] = "symlink",
		[FB_M_HARDLINK] = "hardlink", [FB_M_CHAR] = "char",
		[FB_M_BLOCK] = "block", [FB_M_FIFO] = "fifo", [FB_M_SOCKET] = "socket",
	};

	return (unsigned)t < sizeof(names) / sizeof(*names) ? names[t] : "unknown";
}

mode_t fb_mtype_to_ifmt(enum fb_mtype t)
{
	switch (t) {
	case FB_M_FILE:
	case FB_M_HARDLINK: return S_IFREG;
	case FB_M_DIR: return S_IFDIR;
	case FB_M_SYMLINK: return S_IFLNK;
	case FB_M_CHAR: return S_IFCHR;
	case FB_M_BLOCK: return S_IFBLK;
	case FB_M_FIFO: return S_IFIFO;
	case FB_M_SOCKET: return S_IFSOCK;
	}
	return 0;
}

enum fb_mtype fb_mtype_of_ifmt(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return FB_M_DIR;
	case S_IFLNK: return FB_M_SYMLINK;
	case S_IFCHR: return FB_M_CHAR;
	case S_IFBLK: return FB_M_BLOCK;
	case S_IFIFO: return FB_M_FIFO;
	case S_IFSOCK: return FB_M_SOCKET;
	default: return FB_M_FILE;
	}
}
