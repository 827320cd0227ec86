/*
 * manifest_ips.c - IPS pkg(5) manifests: one action per logical line,
 *
 *	file [hash] path=usr/bin/ls owner=root group=bin mode=0555
 *	dir path=usr owner=root group=sys mode=0755
 *	link path=usr/bin/sh target=../../bin/ksh
 *	hardlink path=usr/bin/rm target=../../usr/bin/xrm
 *
 * Values may be quoted ("..." or '...', backslash escapes the quote), and a
 * line ending in a backslash continues on the next.  Other actions (set,
 * depend, license, legacy, group, user, driver, signature) are ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "manifest_impl.h"

#define IPS_MAXATTR 64

struct ips_attr {
	char *key;	/* NULL for a positional value (the file hash) */
	char *val;
};

static const char *const ignored[] = {
	"set", "depend", "license", "legacy", "group", "user", "driver",
	"signature", NULL
};

/* A quoted value, unquoted in place; *P is left after the closing quote. */
static int unquote(struct fb_mctx *c, char **p, const char *key, char **val)
{
	char q = **p, *r = *p + 1, *w = *p + 1;

	*val = w;
	for (; *r && *r != q; r++) {
		if (*r == '\\' && (r[1] == q || r[1] == '\\'))
			r++;
		*w++ = *r;
	}
	if (*r != q)
		return fb_mf_error(c, "unterminated quote in the value of '%s': expected "
				   "a closing %c, found the end of the action", key, q);
	r++;
	if (*r != '\0' && !strchr(" \t\r", *r))
		return fb_mf_error(c, "unexpected '%c' after the quoted value of '%s': "
				   "expected a space", *r, key);
	*w = '\0';
	*p = r;
	return 0;
}

/* Split the action's attributes (after its name) in place. */
static int split(struct fb_mctx *c, char *p, struct ips_attr *a, int *n)
{
	*n = 0;
	for (;;) {
		char *tok, *eq;

		p += strspn(p, " \t\r");
		if (*p == '\0')
			return 0;
		if (*n == IPS_MAXATTR)
			return fb_mf_error(c, "expected at most %d attributes", IPS_MAXATTR);
		tok = p;
		p += strcspn(p, " \t\r=");
		if (*p != '=') {
			if (*p != '\0')
				*p++ = '\0';
			a[(*n)++] = (struct ips_attr){ NULL, tok };
			continue;
		}
		*p++ = '\0';
		eq = p;
		if (*eq == '"' || *eq == '\'') {
			if (unquote(c, &p, tok, &eq) < 0)
				return -1;
		} else {
			p += strcspn(p, " \t\r");
		}
		if (*p != '\0')
			*p++ = '\0';
		a[(*n)++] = (struct ips_attr){ tok, eq };
	}
}

static const char *get(struct ips_attr *a, int n, const char *key)
{
	const char *v = NULL;

	for (int i = 0; i < n; i++)
		if (a[i].key && strcmp(a[i].key, key) == 0)
			v = a[i].val;	/* the last one, as for a repeated keyword */
	return v;
}

static int positional_ok(const char *action, struct ips_attr *a, int n,
			 struct fb_mctx *c)
{
	/* pkg(5) repeats an attribute to list values; these have one. */
	static const char *const single[] = { "path", "owner", "group", "mode", "target", NULL };

	for (int i = 0; i < n; i++) {
		if (a[i].key == NULL && !(i == 0 && strcmp(action, "file") == 0))
			return fb_mf_error(c, "%s action: unexpected '%s': expected key=value",
					   action, a[i].val);
		if (a[i].key && *a[i].key == '\0')
			return fb_mf_error(c, "%s action: '=%s' has no attribute name", action,
					   a[i].val);
		for (int k = 0; a[i].key && single[k]; k++)
			for (int j = 0; j < i && strcmp(a[i].key, single[k]) == 0; j++)
				if (a[j].key && strcmp(a[j].key, single[k]) == 0)
					return fb_mf_error(c, "%s action: %s= given twice ('%s' and '%s')",
							   action, single[k], a[j].val, a[i].val);
	}
	return 0;
}

static int fill(struct fb_mctx *c, const char *action, struct fb_mentry *e,
		struct ips_attr *a, int n)
{
	const char *v;

	if ((v = get(a, n, "owner")) && fb_mf_set_owner(c, e, v) < 0)
		return -1;
	if ((v = get(a, n, "group")) && fb_mf_set_group(c, e, v) < 0)
		return -1;
	if ((v = get(a, n, "mode")) && fb_mf_set_mode(c, e, v) < 0)
		return -1;
	if (e->type != FB_M_SYMLINK && e->type != FB_M_HARDLINK)
		return 0;
	if ((v = get(a, n, "target")) == NULL)
		return fb_mf_error(c, "%s action: expected target=, found none", action);
	if (e->type == FB_M_SYMLINK)
		return fb_mf_set_symlink(c, e, v);
	return fb_mf_set_hardlink(c, e, v, 1);
}

static int action(struct fb_mctx *c, char *line)
{
	struct ips_attr a[IPS_MAXATTR];
	char *p = line, *name = fb_mf_token(&p);
	enum fb_mtype type = FB_M_FILE;
	struct fb_mentry *e;
	const char *path;
	int n;

	if (name == NULL || name[0] == '#')
		return 0;
	if (split(c, p, a, &n) < 0)
		return -1;
	if (strcmp(name, "file") == 0)
		type = FB_M_FILE;
	else if (strcmp(name, "dir") == 0)
		type = FB_M_DIR;
	else if (strcmp(name, "link") == 0)
		type = FB_M_SYMLINK;
	else if (strcmp(name, "hardlink") == 0)
		type = FB_M_HARDLINK;
	else {
		for (int i = 0; ignored[i]; i++)
			if (strcmp(name, ignored[i]) == 0)
				return 0;
		return fb_mf_error(c, "unknown action '%s': expected file, dir, link, "
				   "hardlink or a metadata action", name);
	}
	if (positional_ok(name, a, n, c) < 0)
		return -1;
	if ((path = get(a, n, "path")) == NULL)
		return fb_mf_error(c, "%s action: expected path=, found none", name);
	if (*path == '\0')
		return fb_mf_error(c, "%s action: expected a path after path=, found "
				   "an empty value", name);
	if ((e = fb_mf_entry_new(c, path, type)) == NULL)
		return -1;
	if (fill(c, name, e, a, n) < 0) {
		fb_mf_entry_free(e);
		return -1;
	}
	fb_mf_add(c, e);
	return 0;
}

/*
 * Join backslash-continued lines into one action, in place: the backslash
 * and the newline become spaces.  Returns the action's first line number
 * in *FIRST for messages; *CUT is set when the file ends where a
 * backslash said the action goes on.
 */
static char *next_action(struct fb_mctx *c, char **p, unsigned *first, int *cut)
{
	char *start = *p, *s = start, *nl;
	const int comment = start[strspn(start, " \t")] == '#';

	*cut = 0;
	if (*s == '\0')
		return NULL;
	*first = c->line + 1;
	for (;;) {
		c->line++;
		nl = strchr(s, '\n');
		if (nl == NULL) {
			size_t n = strlen(s);
			while (n > 0 && strchr(" \t\r", s[n - 1]))
				n--;
			*cut = !comment && ((n > 0 && s[n - 1] == '\\') || (s > start && n == 0));
			*p = s + strlen(s);
			return start;
		}
		if (nl > s && nl[-1] == '\r')
			nl[-1] = ' ';
		if (nl > s && nl[-1] == '\\' && !comment) {
			nl[-1] = ' ';
			*nl = ' ';
			s = nl + 1;
			continue;
		}
		*nl = '\0';
		*p = nl + 1;
		return start;
	}
}

int fb_mf_parse_ips(struct fb_mctx *c, char *buf, size_t len)
{
	char *p = buf, *line;
	unsigned first, last;
	int cut;

	(void)len;
	while ((line = next_action(c, &p, &first, &cut)) != NULL) {
		last = c->line;
		if (cut)
			return fb_mf_error(c, "the file ends where a backslash says the action "
					   "from line %u goes on", first);
		c->line = first;
		if (action(c, line) < 0)
			return -1;
		c->line = last;
	}
	return 0;
}
