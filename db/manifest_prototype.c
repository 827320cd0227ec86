/*
 * manifest_prototype.c - SVR4 prototype(4), as written in pkgdefs:
 *
 *	[part] ftype class path[=src] [major minor] [mode owner group]
 *	!default mode owner group
 *	!include file
 *	!search dirs			(sources only: ignored)
 *	!PARAM=value			($PARAM and ${PARAM} expand later lines)
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_impl.h"

#define PROTO_DEPTH 16		/* !include nesting limit */
#define PROTO_MAXTOK 16

struct proto_param {
	char *name;
	char *value;
	UT_hash_handle hh;
};

/* Shared by a file and everything it includes. */
struct proto_state {
	struct proto_param *params;
	char *def[3];			/* !default mode owner group; NULL: none */
	char *stack[PROTO_DEPTH + 1];	/* the files being read, for loops */
	int nstack;
};

static int parse_file(struct fb_mctx *c, struct proto_state *st, char *buf);

/* --- $PARAM substitution --------------------------------------------------- */

static int append(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
	char *p;

	if (*len + n + 1 > *cap) {
		size_t ncap = (*len + n + 1) * 2;

		if ((p = realloc(*out, ncap)) == NULL)
			return -1;
		*out = p;
		*cap = ncap;
	}
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
	return 0;
}

static size_t param_name_len(const char *s)
{
	size_t n = 0;

	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n;
}

/* A copy of LINE with defined parameters expanded; unknown ones stay as they are. */
static char *substitute(struct proto_state *st, const char *line)
{
	char *out = NULL;
	size_t len = 0, cap = 0;

	if (append(&out, &len, &cap, "", 0) < 0)
		return NULL;
	while (*line) {
		const char *d = strchr(line, '$'), *name;
		size_t n;
		struct proto_param *p = NULL;
		int brace;

		if (d == NULL) {
			if (append(&out, &len, &cap, line, strlen(line)) < 0)
				goto oom;
			break;
		}
		if (append(&out, &len, &cap, line, (size_t)(d - line)) < 0)
			goto oom;
		brace = d[1] == '{';
		name = d + 1 + brace;
		n = param_name_len(name);
		if (n > 0 && (!brace || name[n] == '}'))
			HASH_FIND(hh, st->params, name, n, p);
		if (p != NULL) {
			if (append(&out, &len, &cap, p->value, strlen(p->value)) < 0)
				goto oom;
			line = name + n + brace;
		} else {
			if (append(&out, &len, &cap, "$", 1) < 0)
				goto oom;
			line = d + 1;
		}
	}
	return out;
oom:
	free(out);
	return NULL;
}

static int set_param(struct fb_mctx *c, struct proto_state *st, const char *def)
{
	const char *eq = strchr(def, '=');
	size_t n = param_name_len(def);
	struct proto_param *p = NULL;
	char *v;

	if (n == 0 || def + n != eq)
		return fb_mf_error(c, "bad parameter '!%s': expected !NAME=value", def);
	if ((v = strdup(eq + 1)) == NULL)
		return fb_mf_error(c, "out of memory");
	HASH_FIND(hh, st->params, def, n, p);
	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL || (p->name = strndup(def, n)) == NULL) {
			free(p);
			free(v);
			return fb_mf_error(c, "out of memory");
		}
		HASH_ADD_KEYPTR(hh, st->params, p->name, n, p);
	}
	free(p->value);
	p->value = v;
	return 0;
}

/* --- commands -------------------------------------------------------------- */

static int set_default(struct fb_mctx *c, struct proto_state *st, char **tok, int n)
{
	if (n != 4)
		return fb_mf_error(c, "!default: expected 'mode owner group', found %d field%s",
				   n - 1, n == 2 ? "" : "s");
	for (int i = 0; i < 3; i++) {
		free(st->def[i]);
		if ((st->def[i] = strdup(tok[i + 1])) == NULL)
			return fb_mf_error(c, "out of memory");
	}
	return 0;
}

/* The included file's name: relative to the including file's directory. */
static char *include_path(const char *from, const char *name)
{
	const char *slash = strrchr(from, '/');
	char *p;

	if (name[0] == '/' || slash == NULL)
		return strdup(name);
	if (asprintf(&p, "%.*s/%s", (int)(slash - from), from, name) < 0)
		return NULL;
	return p;
}

static int include(struct fb_mctx *c, struct proto_state *st, const char *name)
{
	struct fb_mctx sub = *c;
	char *path = include_path(c->file, name), *real, *buf = NULL;
	size_t len;
	int rc = -1;

	if (path == NULL)
		return fb_mf_error(c, "out of memory");
	if (st->nstack >= PROTO_DEPTH) {
		free(path);
		return fb_mf_error(c, "!include '%s': expected at most %d levels of nesting",
				   name, PROTO_DEPTH);
	}
	real = realpath(path, NULL);
	for (int i = 0; real && i < st->nstack; i++)
		if (strcmp(st->stack[i], real) == 0) {
			fb_mf_error(c, "!include '%s': include loop (already reading %s)",
				    name, real);
			goto out;
		}
	if ((sub.file = fb_mf_intern_file(c->m, path)) == NULL) {
		fb_mf_error(c, "out of memory");
		goto out;
	}
	if (fb_mf_read_all(c, path, 1, &buf, &len) < 0)
		goto out;
	sub.line = 0;
	st->stack[st->nstack++] = real;
	rc = parse_file(&sub, st, buf);
	st->nstack--;
out:
	free(real);
	free(buf);
	free(path);
	return rc;
}

static int command(struct fb_mctx *c, struct proto_state *st, char **tok, int n)
{
	const char *cmd = tok[0] + 1;

	if (strcmp(cmd, "default") == 0)
		return set_default(c, st, tok, n);
	if (strcmp(cmd, "include") == 0) {
		if (n != 2)
			return fb_mf_error(c, "!include: expected one file name, found %d", n - 1);
		return include(c, st, tok[1]);
	}
	if (strcmp(cmd, "search") == 0)
		return 0;	/* where sources are: nothing to do with ownership */
	if (strchr(cmd, '=') != NULL && n == 1)
		return set_param(c, st, cmd);
	return fb_mf_error(c, "unknown command '%s': expected !default, !include, !search "
			   "or !PARAM=value", tok[0]);
}

/* --- entries --------------------------------------------------------------- */

static int ftype(char t, enum fb_mtype *out)
{
	switch (t) {
	case 'f': case 'e': case 'v': *out = FB_M_FILE; return 0;
	case 'd': case 'x': *out = FB_M_DIR; return 0;
	case 's': *out = FB_M_SYMLINK; return 0;
	case 'l': *out = FB_M_HARDLINK; return 0;
	case 'p': *out = FB_M_FIFO; return 0;
	case 'b': *out = FB_M_BLOCK; return 0;
	case 'c': *out = FB_M_CHAR; return 0;
	}
	return -1;
}

/* mode owner group, each "?" for unspecified. */
static int set_attrs(struct fb_mctx *c, struct fb_mentry *e, char *const *a)
{
	if (strcmp(a[0], "?") != 0 && fb_mf_set_mode(c, e, a[0]) < 0)
		return -1;
	if (strcmp(a[1], "?") != 0 && fb_mf_set_owner(c, e, a[1]) < 0)
		return -1;
	if (strcmp(a[2], "?") != 0 && fb_mf_set_group(c, e, a[2]) < 0)
		return -1;
	return 0;
}

static int fill(struct fb_mctx *c, struct proto_state *st, struct fb_mentry *e,
		char *src, char **rest, int nrest)
{
	int linkish = e->type == FB_M_SYMLINK || e->type == FB_M_HARDLINK;
	int dev = e->type == FB_M_CHAR || e->type == FB_M_BLOCK;

	if (linkish) {
		if (src == NULL)
			return fb_mf_error(c, "'%s': expected path=target for a link", e->path);
		if (nrest > 0)
			return fb_mf_error(c, "'%s': unexpected '%s' after a link's target",
					   e->path, rest[0]);
		if (e->type == FB_M_SYMLINK)
			return fb_mf_set_symlink(c, e, src);
		return fb_mf_set_hardlink(c, e, src, 1);
	}
	if (dev) {
		if (nrest < 2)
			return fb_mf_error(c, "'%s': expected 'major minor' for a device, found %s",
					   e->path, nrest ? rest[0] : "nothing");
		if ((strcmp(rest[0], "?") != 0 || strcmp(rest[1], "?") != 0) &&
		    fb_mf_set_rdev(c, e, rest[0], rest[1]) < 0)
			return -1;
		rest += 2;
		nrest -= 2;
	}
	if (nrest == 0)
		return st->def[0] ? set_attrs(c, e, st->def) : 0;
	if (nrest != 3)
		return fb_mf_error(c, "'%s': expected 'mode owner group', found %d field%s",
				   e->path, nrest, nrest == 1 ? "" : "s");
	return set_attrs(c, e, rest);
}

static int entry(struct fb_mctx *c, struct proto_state *st, char **tok, int n)
{
	int i = 0;
	enum fb_mtype type = FB_M_FILE;
	struct fb_mentry *e;
	char *src;

	if (n > 1 && tok[0][strspn(tok[0], "0123456789")] == '\0')
		i = 1;	/* the optional part number */
	if (strlen(tok[i]) != 1 || (tok[i][0] != 'i' && ftype(tok[i][0], &type) < 0))
		return fb_mf_error(c, "unknown file type '%s': expected one of "
				   "b c d e f i l p s v x", tok[i]);
	if (tok[i][0] == 'i')
		return 0;	/* pkginfo, depend, scripts: package metadata */
	if (n - i < 3)
		return fb_mf_error(c, "expected 'ftype class path', found %d field%s",
				   n - i, n - i == 1 ? "" : "s");
	if ((src = strchr(tok[i + 2], '=')) != NULL)
		*src++ = '\0';
	if ((e = fb_mf_entry_new(c, tok[i + 2], type)) == NULL)
		return -1;
	if (fill(c, st, e, src, tok + i + 3, n - i - 3) < 0) {
		fb_mf_entry_free(e);
		return -1;
	}
	fb_mf_add(c, e);
	return 0;
}

static int parse_line(struct fb_mctx *c, struct proto_state *st, const char *raw)
{
	char *line = substitute(st, raw), *p = line, *tok[PROTO_MAXTOK], *t;
	int n = 0, rc;

	if (line == NULL)
		return fb_mf_error(c, "out of memory");
	while ((t = fb_mf_token(&p)) != NULL) {
		if (n == PROTO_MAXTOK) {
			fb_mf_error(c, "unexpected '%s': expected at most %d fields", t,
				    PROTO_MAXTOK);
			free(line);	/* after the message: T points into it */
			return -1;
		}
		tok[n++] = t;
	}
	if (n == 0 || tok[0][0] == '#')
		rc = 0;
	else if (tok[0][0] == '!')
		rc = command(c, st, tok, n);
	else
		rc = entry(c, st, tok, n);
	free(line);
	return rc;
}

static int parse_file(struct fb_mctx *c, struct proto_state *st, char *buf)
{
	char *p = buf, *line;

	while ((line = fb_mf_next_line(c, &p)) != NULL)
		if (parse_line(c, st, line) < 0)
			return -1;
	return 0;
}

int fb_mf_parse_prototype(struct fb_mctx *c, char *buf, size_t len)
{
	struct proto_state st = { 0 };
	struct proto_param *p, *tmp;
	int rc;

	(void)len;
	st.stack[st.nstack++] = realpath(c->file, NULL);
	if (st.stack[0] == NULL)
		st.nstack = 0;	/* stdin or text from memory: nothing to loop back to */
	rc = parse_file(c, &st, buf);
	for (int i = 0; i < st.nstack; i++)
		free(st.stack[i]);
	for (int i = 0; i < 3; i++)
		free(st.def[i]);
	HASH_ITER(hh, st.params, p, tmp) {
		HASH_DEL(st.params, p);
		free(p->name);
		free(p->value);
		free(p);
	}
	return rc;
}
