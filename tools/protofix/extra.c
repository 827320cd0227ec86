/*
 * extra.c - the files of the tree the manifest does not list.
 *
 * Each directory is read once, through a descriptor opened beneath its
 * parent with O_NOFOLLOW (a directory swapped for a symlink is an error,
 * never a way out of the tree).  Entries are sorted so the report is stable.
 * A directory is entered only when the manifest lists it or something
 * beneath it; an unlisted directory is reported once, not file by file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "protofix.h"

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct pf_name *)a)->s, ((const struct pf_name *)b)->s);
}

struct pf_name *pf_read_dir(int fd, size_t *n, int *err)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	struct pf_name *v = NULL;
	size_t cap = 0;

	*n = 0;
	*err = 0;
	if (!d) {
		*err = -errno;
		close(fd);
		return NULL;
	}
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap && !(v = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v)))
			die("out of memory");
		if (!(v[*n].s = strdup(de->d_name)))
			die("out of memory");
		v[(*n)++].type = de->d_type;
	}
	*err = -errno;
	closedir(d);
	if (*n)		/* an empty directory has no array: qsort(NULL) is undefined */
		qsort(v, *n, sizeof *v, cmp_name);
	return v;
}

static bool is_dir(int dirfd, const struct pf_name *nm)
{
	struct stat st;

	if (nm->type != DT_UNKNOWN)
		return nm->type == DT_DIR;
	return fstatat(dirfd, nm->s, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static void scan(struct pf *pf, int fd, char *path, size_t len);

static void visit(struct pf *pf, int dirfd, const struct pf_name *nm, char *path, size_t len)
{
	size_t nlen = strlen(nm->s);
	size_t clen = len ? len + 1 + nlen : nlen;
	bool listed, below;
	int fd;

	if (clen >= PATH_MAX) {
		pf_err(pf, path, nm->s, -ENAMETOOLONG);
		return;
	}
	if (len)
		path[len] = '/';
	memcpy(path + (len ? len + 1 : 0), nm->s, nlen + 1);
	listed = fb_manifest_find(pf->m, path) != NULL;
	if (pf_except_match(pf->exc, path))
		goto out;
	if (!listed)
		pf_diff(pf, path, "not in manifest");
	below = pf_hashset_has(pf->ancestors, path);
	if ((listed || below) && is_dir(dirfd, nm)) {
		fd = openat(dirfd, nm->s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			pf_err(pf, path, "open", -errno);
		else
			scan(pf, fd, path, clen);
	}
out:
	path[len] = '\0';
}

static void scan(struct pf *pf, int fd, char *path, size_t len)
{
	int keep = dup(fd);	/* fdopendir takes FD; the children are opened beneath KEEP */
	struct pf_name *v;
	size_t i, n;
	int err;

	if (keep < 0)
		die("dup: %s", strerror(errno));
	v = pf_read_dir(fd, &n, &err);
	if (err)
		pf_err(pf, len ? path : ".", "read directory", err);
	for (i = 0; i < n; i++) {
		visit(pf, keep, &v[i], path, len);
		free(v[i].s);
	}
	free(v);
	close(keep);
}

void pf_walk_extra(struct pf *pf)
{
	char path[PATH_MAX] = "";
	int fd = pf_open_beneath(pf->rootfd, ".", O_RDONLY | O_DIRECTORY);

	if (fd < 0) {
		pf_err(pf, pf->root, "open", fd);
		return;
	}
	scan(pf, fd, path, 0);
}
