/*
 * check.c - fakebuild --check: read the database and the live table left
 * beside it, report what is wrong, change nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fakebuild.h"
#include "store.h"
#include "table.h"

/* Reading a record checks it (db/store.c): counting is all that is left. */
static int count(const struct fb_store_rec *r, void *arg)
{
	(void)r;
	++*(long *)arg;
	return 0;
}

int fb_check(const char *db)
{
	struct fb_err err = { { 0 } };
	long records = 0;
	int status = 0;
	struct stat st;
	if (lstat(db, &st) < 0 && errno == ENOENT) {
		printf("%s: does not exist (an empty database)\n", db);
	} else if (fb_store_foreach(db, count, &records, &err) < 0) {
		printf("%s\n", err.msg);
		status = 1;
	} else {
		printf("%s: ok, %ld records\n", db, records);
	}
	char live[4200];
	snprintf(live, sizeof live, "%s.live", db);
	if (lstat(live, &st) == 0) {
		struct fb_table *tb;
		int rc = fb_table_attach(live, &tb);
		if (rc < 0) {
			printf("%s: unusable live table: %s\n", live,
			       rc == -EPROTO ? "bad magic" : rc == -EPROTONOSUPPORT ? "another fakebuild version"
			       : rc == -EBADMSG ? "damaged header" : strerror(-rc));
			status = 1;
		} else {
			char why[160];
			if (fb_table_verify(tb, 0, why, sizeof why) < 0) {
				printf("%s: damaged live table: %s\n", live, why);
				status = 1;
			} else {
				printf("%s: live table with %llu records (a running session, or changes "
				       "of a killed one that the next session merges)\n",
				       live, (unsigned long long)fb_table_count(tb));
			}
			fb_table_detach(tb);
		}
	}
	return status;
}
