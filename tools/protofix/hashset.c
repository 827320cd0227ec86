/* hashset.c - a set of path strings (uthash), each with a count, for the walks' lookups. */
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "protofix.h"

struct pf_hashset {
	UT_hash_handle hh;
	unsigned long count;
	char key[];
};

unsigned long *pf_hashset_add(struct pf_hashset **set, const char *key, size_t len)
{
	struct pf_hashset *h;

	HASH_FIND(hh, *set, key, len, h);
	if (h)
		return &h->count;
	h = malloc(sizeof *h + len + 1);
	if (!h)
		die("out of memory");
	h->count = 0;
	memcpy(h->key, key, len);
	h->key[len] = '\0';
	HASH_ADD(hh, *set, key[0], len, h);
	return &h->count;
}

bool pf_hashset_has(struct pf_hashset *set, const char *key)
{
	return pf_hashset_count(set, key) != NULL;
}

const unsigned long *pf_hashset_count(struct pf_hashset *set, const char *key)
{
	struct pf_hashset *h;

	HASH_FIND_STR(set, key, h);
	return h ? &h->count : NULL;
}

void pf_hashset_free(struct pf_hashset **set)
{
	struct pf_hashset *h, *tmp;

	HASH_ITER(hh, *set, h, tmp) {
		HASH_DEL(*set, h);
		free(h);
	}
}
