/*
 * manifest_mtree.c - mtree(5), FreeBSD METALOG and fakebuild --export,
 * read through libarchive's mtree reader (never parsed here).
 *
 * We only read headers: the reader would open a "contents" file only when
 * asked for data, and with checkfs off (the default, set explicitly) it
 * never looks at the file system at all, so a manifest means the same in
 * any working directory.
 *
 * Which keywords were present: libarchive does not say whether uid, mode
 * or device were given (an absent uid reads as 0, like root; an absent
 * device as 0,0).  We put a line
 *	/set uid=SENTINEL gid=SENTINEL mode=SENTINEL device=SENTINEL
 * in front of the text: values no real entry can have (ids above the
 * 32-bit range, a mode bit above 07777 that libarchive keeps in perm, a
 * raw dev_t whose major and minor are both past Linux's range).  An entry
 * still carrying a sentinel did not give that keyword, and gets no
 * FB_MH_UID/GID/MODE/RDEV.  A manifest's own "/unset uid" also clears our
 * sentinel: after it, an absent uid reads as 0 (documented).
 *
 * A regular file with link= is a hard link to that path (root relative).
 *
 * type=socket: libarchive knows no socket type; it warns (with the text
 * SOCKET_WARNING) and reads the entry as a file.  fakebuild --export and
 * FreeBSD's mtree write sockets so, so that one warning is taken as the
 * socket it names.  Any other warning refuses the entry.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_impl.h"

#define SENT_ID 99999999999LL	/* above any uid_t */
#define SENT_MODE 01000000	/* above 07777, below AE_IFMT's reach */
/* A raw dev_t no device has, and not INT64_MAX, to which libarchive clamps
 * a number too large (that is a bad device, not an absent one). */
#define SENT_DEV 9223372036854775806ULL
#define SENT_LINE "/set uid=99999999999 gid=99999999999 mode=1000000 device=9223372036854775806\n"
#define SOCKET_WARNING "Unrecognized file type \"socket\"; assuming \"file\""

/* The text with our sentinel line after an optional "#mtree" signature. */
static char *with_sentinel(const char *buf, size_t len, size_t *outlen)
{
	size_t head = 0, n, sl = strlen(SENT_LINE);
	char *out;

	if (strncmp(buf, "#mtree", 6) == 0) {
		const char *nl = memchr(buf, '\n', len);

		head = nl ? (size_t)(nl - buf) + 1 : len;
	}
	if ((out = malloc(len + sl + 2)) == NULL)
		return NULL;
	memcpy(out, buf, head);
	n = head;
	if (n > 0 && out[n - 1] != '\n')
		out[n++] = '\n';
	memcpy(out + n, SENT_LINE, sl);
	n += sl;
	memcpy(out + n, buf + head, len - head);
	n += len - head;
	/* libarchive drops a last line without its newline, silently. */
	if (len > head && buf[len - 1] != '\n')
		out[n++] = '\n';
	*outlen = n;
	return out;
}

static int mtype(struct fb_mctx *c, struct archive_entry *ae, int socket, enum fb_mtype *t)
{
	if (socket) {
		*t = FB_M_SOCKET;
		return 0;
	}
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG:
		*t = archive_entry_symlink(ae) ? FB_M_HARDLINK : FB_M_FILE;
		return 0;
	case AE_IFDIR: *t = FB_M_DIR; return 0;
	case AE_IFLNK: *t = FB_M_SYMLINK; return 0;
	case AE_IFCHR: *t = FB_M_CHAR; return 0;
	case AE_IFBLK: *t = FB_M_BLOCK; return 0;
	case AE_IFIFO: *t = FB_M_FIFO; return 0;
	case AE_IFSOCK: *t = FB_M_SOCKET; return 0;
	}
	return fb_mf_error(c, "expected type=file, dir, link, char, block, fifo or socket");
}

static int set_id(struct fb_mctx *c, struct fb_mentry *e, int group, const char *s)
{
	return group ? fb_mf_set_group(c, e, s) : fb_mf_set_owner(c, e, s);
}

/*
 * uname/uid (or gname/gid): the name wins when it resolves; a name that
 * does not, with a number beside it, keeps the number with a warning.
 */
static int owner(struct fb_mctx *c, struct fb_mentry *e, int group,
		 const char *name, la_int64_t id)
{
	const char *what = group ? "gid" : "uid";
	char num[32], **namep = group ? &e->gname : &e->uname;
	int have_id = id != SENT_ID;

	if (have_id && (id < 0 || id > 4294967294LL))
		return fb_mf_error(c, "bad %s %lld: expected 0 to 4294967294", what,
				   (long long)id);
	snprintf(num, sizeof(num), "%lld", (long long)id);
	if (name == NULL)
		return have_id ? set_id(c, e, group, num) : 0;
	if (set_id(c, e, group, name) == 0)
		return 0;
	if (!have_id)
		return -1;
	fb_mf_warn(c, "unknown %s '%s'; using %s=%s", group ? "group" : "user", name,
		   what, num);
	if (set_id(c, e, group, num) < 0)
		return -1;
	if ((*namep = strdup(name)) == NULL)
		return fb_mf_error(c, "out of memory");
	return 0;
}

static int fill(struct fb_mctx *c, struct fb_mentry *e, struct archive_entry *ae)
{
	mode_t perm = archive_entry_perm(ae);
	const char *link = archive_entry_symlink(ae);

	if (owner(c, e, 0, archive_entry_uname(ae), archive_entry_uid(ae)) < 0 ||
	    owner(c, e, 1, archive_entry_gname(ae), archive_entry_gid(ae)) < 0)
		return -1;
	if (!(perm & SENT_MODE)) {
		e->perm = perm & 07777;
		e->have |= FB_MH_MODE;
		((struct fb_mpriv *)e)->own |= FB_MH_MODE;
	}
	if ((e->type == FB_M_CHAR || e->type == FB_M_BLOCK) &&
	    (unsigned long long)archive_entry_rdev(ae) != SENT_DEV) {
		/* Checked as the other formats' numbers are: Linux's range. */
		char maj[24], min[24];
		snprintf(maj, sizeof maj, "%lu", (unsigned long)archive_entry_rdevmajor(ae));
		snprintf(min, sizeof min, "%lu", (unsigned long)archive_entry_rdevminor(ae));
		if (fb_mf_set_rdev(c, e, maj, min) < 0)
			return -1;
	}
	if (e->type == FB_M_SYMLINK) {
		if (link == NULL)
			return fb_mf_error(c, "expected link= for type=link, found none");
		return fb_mf_set_symlink(c, e, link);
	}
	if (e->type == FB_M_HARDLINK)
		return fb_mf_set_hardlink(c, e, link, 0);
	return 0;
}

static int entry(struct fb_mctx *c, struct archive_entry *ae, int socket)
{
	enum fb_mtype type = FB_M_FILE;
	struct fb_mentry *e;

	c->entry = archive_entry_pathname(ae);
	if (mtype(c, ae, socket, &type) < 0)
		return -1;
	if ((e = fb_mf_entry_new(c, archive_entry_pathname(ae), type)) == NULL)
		return -1;
	if (fill(c, e, ae) < 0) {
		fb_mf_entry_free(e);
		return -1;
	}
	fb_mf_add(c, e);
	return 0;
}

/* Has the text anything but blank lines and comments?  libarchive refuses an empty one. */
static int empty(const char *p)
{
	while (*p) {
		p += strspn(p, " \t\r\n");
		if (*p == '#')
			p += strcspn(p, "\n");
		else if (*p)
			return 0;
	}
	return 1;
}

/*
 * The physical line of BUF where mtree line N begins, as libarchive counts
 * in "Can't parse line N": lines joined by a backslash count once, and
 * our sentinel line, second after a "#mtree" signature and first without
 * one, counts too.  0 when N is no line of BUF.
 */
static unsigned physical_line(const char *buf, size_t len, unsigned long n)
{
	unsigned long sent = strncmp(buf, "#mtree", 6) == 0 ? 2 : 1, logical = 1;
	unsigned line = 1;

	if (n == sent)
		return 0;
	if (n > sent)
		n--;
	for (size_t i = 0; i < len && logical < n; i++) {
		if (buf[i] != '\n')
			continue;
		line++;
		/* Joined to the next after an odd number of backslashes (two
		 * are one, escaped). */
		size_t k = 0;
		while (k < i && buf[i - 1 - k] == '\\')
			k++;
		if (k % 2 == 0)
			logical++;
	}
	return logical == n ? line : 0;
}

/* libarchive's message, with the line of the text the user wrote. */
static int reader_error(struct fb_mctx *c, struct archive *a, const char *buf, size_t len)
{
	const char *msg = archive_error_string(a);
	unsigned long n;
	char end;

	if (msg && sscanf(msg, "Can't parse line %lu%c", &n, &end) == 1 &&
	    (c->line = physical_line(buf, len, n)) != 0) {
		fb_mf_error(c, "libarchive's mtree reader can't parse this line");
		c->line = 0;
		return -1;
	}
	return fb_mf_error(c, "%s", msg ? msg : "unreadable");
}

static int read_entries(struct fb_mctx *c, struct archive *a, const char *buf, size_t len)
{
	struct archive_entry *ae;
	int r;

	/* Headers only: archive_read_next_header skips the data we never ask for. */
	while ((r = archive_read_next_header(a, &ae)) != ARCHIVE_EOF) {
		const char *p = (r == ARCHIVE_OK || r == ARCHIVE_WARN) ? archive_entry_pathname(ae) : NULL;
		const char *why = r == ARCHIVE_WARN ? archive_error_string(a) : NULL;
		int socket = why && strcmp(why, SOCKET_WARNING) == 0;

		/* A warning is a line libarchive could not fully read: refuse it. */
		c->entry = p;
		if (r != ARCHIVE_OK && !socket)
			return reader_error(c, a, buf, len);
		if (entry(c, ae, socket) < 0)
			return -1;
	}
	return 0;
}

/* One keyword TOK (N bytes) of line LINE: uid=, gid= and mode= must be numbers in range. */
static int check_keyword(struct fb_mctx *c, unsigned line, const char *tok, size_t n)
{
	static const struct {
		const char *key;
		const char *want;
	} keys[] = { { "uid=", "a decimal number from 0 to 4294967294" },
		     { "gid=", "a decimal number from 0 to 4294967294" },
		     { "mode=", "an octal mode from 0 to 7777" } };
	char v[32];
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		size_t kl = strlen(keys[k].key);
		if (n < kl || strncmp(tok, keys[k].key, kl) != 0)
			continue;
		size_t vl = n - kl;
		unsigned long x;
		int ok = vl < sizeof v;
		if (ok) {
			memcpy(v, tok + kl, vl);
			v[vl] = 0;
			ok = (k < 2 ? fb_mf_parse_uint(v, FB_ID_MAX, &x) : fb_mf_parse_mode(v, &x)) == 0;
		}
		if (!ok) {
			c->line = line;
			fb_mf_error(c, "%.*s: expected %s", (int)(n > 64 ? 64 : n), tok, keys[k].want);
			c->line = 0;
			return -1;
		}
	}
	return 0;
}

/*
 * libarchive reads uid=, gid= and mode= as leniently as strtol: "12abc",
 * "daemon" and "-1" all become some number, and values past the range
 * fall on our sentinels.  An owner in a manifest is the admin's word, so a
 * value that is not a whole number in range is an error, with its line.
 * Lines are mtree's: a backslash before the newline continues one; the
 * first word is the path (or /set), "#" starts a comment line.
 */
static int check_numbers(struct fb_mctx *c, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 1;
	int first = 1;

	while (p < end) {
		if (*p == ' ' || *p == '\t' || *p == '\r') {
			p++;
		} else if (*p == '\n') {
			line++;
			first = 1;
			p++;
		} else if (*p == '\\' && p + 1 < end && p[1] == '\n') {
			line++;
			p += 2;
		} else if (first && *p == '#') {
			while (p < end && *p != '\n')
				p++;
		} else {
			const char *t = p;
			while (p < end && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' &&
			       !(*p == '\\' && p + 1 < end && p[1] == '\n'))
				p++;
			if (!first && check_keyword(c, line, t, (size_t)(p - t)) < 0)
				return -1;
			first = 0;
		}
	}
	return 0;
}

/* CRLF to LF in place, as the other formats take it (libarchive refuses a
 * CR), and a CR ending the text with its last line. */
static size_t crlf(char *buf, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (!(buf[i] == '\r' && (i + 1 == len || buf[i + 1] == '\n')))
			buf[n++] = buf[i];
	buf[n] = '\0';
	return n;
}

int fb_mf_parse_mtree(struct fb_mctx *c, char *buf, size_t len)
{
	struct archive *a;
	size_t tlen;
	char *text;
	int rc = -1;

	c->line = 0;	/* libarchive gives no line numbers: messages name the entry */
	len = crlf(buf, len);
	if (empty(buf))
		return 0;
	if (check_numbers(c, buf, len) < 0)
		return -1;
	if ((text = with_sentinel(buf, len, &tlen)) == NULL)
		return fb_mf_error(c, "out of memory");
	if ((a = archive_read_new()) == NULL) {
		free(text);
		return fb_mf_error(c, "out of memory");
	}
	if (archive_read_support_format_mtree(a) != ARCHIVE_OK ||
	    archive_read_set_options(a, "mtree:!checkfs") != ARCHIVE_OK)
		fb_mf_error(c, "libarchive: %s", archive_error_string(a));
	else if (archive_read_open_memory(a, text, tlen) != ARCHIVE_OK)
		fb_mf_error(c, "not an mtree manifest: %s", archive_error_string(a));
	else
		rc = read_entries(c, a, buf, len);
	archive_read_free(a);
	free(text);
	c->entry = NULL;	/* it pointed into the archive_entry */
	return rc;
}
