/*
 * fakeroot_save.c - -i of a file Debian's fakeroot saved with -s: one line
 * per inode, "dev=HEX,ino=DEC,mode=OCT,uid=DEC,gid=DEC,nlink=DEC,rdev=DEC"
 * (faked.c's save format), so that a script's `-i state -s state` goes on
 * working when fakebuild replaces fakeroot: the next -s writes a fakebuild
 * database in its place.
 *
 * Records are keyed as fakebuild's are (device and inode); the file has no
 * birth times, so none is compared.  fakeroot's mknod makes an empty
 * regular file for a device, which is what the disk has under a device
 * record.  The whole file is read before anything is recorded: a bad line
 * loads nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fakebuild.h"
#include "table.h"

struct saved {
	struct fb_ident id;
	struct fb_attr a;
};

int fb_is_fakeroot_save(const char *path)
{
	char head[4] = { 0 };
	struct stat st;
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(head, 1, sizeof head, f);
	/* Empty: what fakeroot -s saves of a session that faked nothing. */
	int empty = n == 0 && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
	fclose(f);
	return empty || (n == sizeof head && memcmp(head, "dev=", 4) == 0);
}

/* One line into *S; 0, or -1 if it is not in the format. */
static int parse(const char *line, struct saved *s)
{
	unsigned long long dev, ino, mode, uid, gid, nlink, rdev;
	int end = 0;
	if (sscanf(line, "dev=%llx,ino=%llu,mode=%llo,uid=%llu,gid=%llu,nlink=%llu,rdev=%llu%n", &dev,
		   &ino, &mode, &uid, &gid, &nlink, &rdev, &end) != 7 ||
	    (line[end] && line[end] != '\n') || mode > (S_IFMT | 07777) || uid > UINT32_MAX ||
	    gid > UINT32_MAX)
		return -1;
	mode_t type = (mode_t)mode & S_IFMT;
	if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK && type != S_IFCHR &&
	    type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
		return -1;
	*s = (struct saved){
		.id = { .dev = dev, .ino = ino, .type_only = 1, .nlink = (uint32_t)nlink,
			.real_mode = S_ISCHR(type) || S_ISBLK(type) ? S_IFREG : type },
		.a = { .uid = (uint32_t)uid, .gid = (uint32_t)gid, .mode = (uint32_t)mode,
		       .rdev = S_ISCHR(type) || S_ISBLK(type) ? rdev : 0 },
	};
	return 0;
}

long fb_load_fakeroot_save(const char *path, struct fb_table *t, struct fb_err *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return fb_err_set(err, "%s: %s", path, strerror(errno));
	struct saved *v = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t len = 0;
	long lineno = 0, rc = 0;
	while (getline(&line, &len, f) > 0) {
		lineno++;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			struct saved *nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				rc = fb_err_set(err, "%s: %s", path, strerror(ENOMEM));
				goto out;
			}
			v = nv;
		}
		if (parse(line, &v[n]) < 0) {
			rc = fb_err_set(err, "%s:%ld: not a line of a fakeroot save file "
					"(dev=HEX,ino=N,mode=OCTAL,uid=N,gid=N,nlink=N,rdev=N)", path, lineno);
			goto out;
		}
		n++;
	}
	if (ferror(f)) {
		rc = fb_err_set(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int r = fb_table_put(t, &v[i].id, &v[i].a, NULL);
		if (r < 0) {
			rc = fb_err_set(err, "%s: cannot record it: %s", path, strerror(-r));
			goto out;
		}
	}
	rc = (long)n;
out:
	free(line);
	free(v);
	fclose(f);
	return rc;
}
