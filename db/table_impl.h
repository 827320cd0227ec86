/*
 * table_impl.h - the on-disk layout of the live table file.  Included by
 * db/table*.c and db/store.c only; everyone else uses table.h.
 *
 * The file is mapped MAP_SHARED by every process of every session on one
 * database.  Layout (all offsets from the start of the file):
 *
 *   header      one page: identity, geometry, the writer mutex, counters
 *   index       two hash indexes of up to nslots uint32_t each, interleaved:
 *               slot s of index g is word 2s + g.  A slot holds 0 (empty),
 *               TOMB (deleted) or a record number + 1.  One index is active
 *               (gen & 1); the other is the target of a rebuild, when
 *               tombstones pile up or the active one fills.  Each uses only
 *               its first active[g] slots, a power of two that grows with
 *               the records: a small table's index lies within the first
 *               2 MiB, beside the header, whichever index is active.
 *   records     capacity records, allocated from the front (bump pointer),
 *               so the pages touched grow with the records, not capacity
 *   arena       append-only bytes for path hints and xattr blobs
 *
 * The file is sparse: untouched pages cost neither memory nor disk.
 */
#ifndef FB_TABLE_IMPL_H
#define FB_TABLE_IMPL_H

#include <pthread.h>
#include <stdint.h>
#include "table.h"

#define FB_TABLE_MAGIC "FBTABLE1"
#define FB_TABLE_VERSION 3u
#define FB_TABLE_HDR_SIZE 4096u
#define FB_SLOT_EMPTY 0u
#define FB_SLOT_TOMB 0xffffffffu
/* Records beyond capacity: an update writes the new record before it
 * frees the old one, so a full table still needs room for one more. */
#define FB_SPARE_RECS 16u
/* Slots an index starts with (or nslots, if fewer): at most half full,
 * 8192 records before the first growth, in 128 KiB beside the header. */
#define FB_INDEX_START 16384u
/* A process writing many records maps records and arena this many bytes
 * at a time (aligned), not a page fault at a time. */
#define FB_POPULATE_BLOCK (64u * 1024u)
/* Arena bytes per record of capacity. */
#define FB_ARENA_PER_REC 96u

struct fb_trec {
	uint32_t seq;		/* even: stable; odd: being (re)written */
	uint32_t live;		/* 1 while published; 0 on the free list */
	uint64_t dev, ino;
	int64_t btime_sec;
	uint32_t btime_nsec;
	uint32_t real_type;	/* S_IFMT of the real inode */
	uint32_t uid, gid, mode;
	uint32_t hint_len;
	uint64_t rdev;
	uint64_t hint_off;	/* arena offset, 0 = none */
	uint64_t xattr_off;	/* arena offset of the xattr blob, 0 = none */
	uint32_t xattr_len;
	uint32_t next_free;	/* free list link: record number + 1 */
};

struct fb_thdr {
	/* Immutable after creation; covered by geom_check. */
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;
	uint64_t capacity;	/* records */
	uint64_t nslots;	/* most slots of an index, a power of two */
	uint64_t index_off;	/* the interleaved indexes */
	uint64_t rec_off;
	uint64_t arena_off;
	uint64_t arena_size;
	uint64_t file_size;
	uint64_t geom_check;

	/* Mutable, under `lock` (readers only load gen). */
	pthread_mutex_t lock;	/* robust, process-shared */
	uint64_t gen;		/* active index = gen & 1; bumped by a rebuild */
	uint64_t active[2];	/* slots in use by each index */
	uint64_t rec_next;	/* records never used start here */
	uint32_t free_head;	/* record number + 1 */
	uint32_t pad0;
	uint64_t nlive;		/* published records */
	uint64_t ntomb;		/* tombstones in the active index */
	uint64_t arena_next;
	uint64_t changes;	/* bumped by every update */
	uint64_t saved_changes;	/* `changes` when last loaded or saved: dirty if they differ */
	uint64_t xattr_blobs;	/* 1 once any record has carried an xattr blob; never reset */
	uint64_t faked_types;	/* 1 once any record's mode has a file type other than its
				 * real_type (a device made by mknod); never reset */
};

struct fb_table {
	struct fb_thdr *h;
	unsigned char *base;
	size_t size;
	uint32_t *index;	/* slot s of index g: index[2 * s + g] */
	struct fb_trec *recs;
	unsigned char *arena;
};

uint64_t fb_table_geom_check(const struct fb_thdr *h);

/* The home slot of a key in an index of MASK + 1 slots (for tests). */
uint64_t fb_table_slot_of(uint64_t dev, uint64_t ino, uint64_t mask);

/* Iterate over live records (consistent snapshots); for store.c. */
typedef int (*fb_table_visit_fn)(const struct fb_trec *r, const char *hint,
				 const void *xattrs, void *arg);
int fb_table_foreach(struct fb_table *t, fb_table_visit_fn fn, void *arg);

/* Insert a record as loaded from the durable store (dev/ino/btime/type given). */
int fb_table_load_rec(struct fb_table *t, const struct fb_trec *r, const char *hint,
		      const void *xattrs, uint32_t xattr_len);

#endif
