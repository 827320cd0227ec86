/*
 * W8's program: mkdir DIR, then mknod(2) of N character devices DIR/c1
 * ... DIR/cN (major 10, minor i), in one process, then the stat of every
 * 100th node (and the last) as the process sees it, one line each in OUT:
 * "i uid gid mode-in-octal major minor".  Built by bench/run.
 * With FB_W8_STATX=1 in the environment it also statx(2)es each node
 * after making it, as fakebuild's library must to key its record: the
 * "floor" tool of bench/run.
 * Usage: W8 DIR N OUT
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: W8 DIR N OUT\n");
		return 2;
	}
	long n = atol(argv[2]);
	const char *sx = getenv("FB_W8_STATX");
	int also_statx = sx && *sx == '1';
	char p[4096];
	if (mkdir(argv[1], 0755) != 0) {
		perror(argv[1]);
		return 1;
	}
	for (long i = 1; i <= n; i++) {
		snprintf(p, sizeof p, "%s/c%ld", argv[1], i);
		if (mknod(p, S_IFCHR | 0644, makedev(10, i)) != 0) {
			perror(p);
			return 1;
		}
		struct statx stx;
		if (also_statx && statx(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &stx) != 0) {
			perror(p);
			return 1;
		}
	}
	FILE *out = fopen(argv[3], "w");
	if (!out) {
		perror(argv[3]);
		return 1;
	}
	for (long i = 1; i <= n; i++) {
		if (i % 100 && i != n)
			continue;
		struct stat st;
		snprintf(p, sizeof p, "%s/c%ld", argv[1], i);
		if (stat(p, &st) != 0) {
			perror(p);
			return 1;
		}
		fprintf(out, "%ld %u %u %o %u %u\n", i, (unsigned)st.st_uid, (unsigned)st.st_gid,
			(unsigned)st.st_mode, major(st.st_rdev), minor(st.st_rdev));
	}
	return fclose(out) != 0;
}
