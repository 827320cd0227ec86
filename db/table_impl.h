/*
 * table_impl.h - the on-disk layout of the live table file.  Included by
 * db/table*.c, db/wlock.c, db/store.c and db/session.c (and the unit
 * tests) only; everyone else uses table.h.
 *
 * The file is mapped MAP_SHARED by every process of every session on one
 * database.  Layout (all offsets from the start of the file):
 *
 *   header      one page: identity, geometry, the writer lock, counters
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
 * The file is sparse: untouched pages cost neither memory nor disk, as
 * long as nothing reads them ahead: every mapping asks for random access
 * (map_table in table.c).
 */
#ifndef FB_TABLE_IMPL_H
#define FB_TABLE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "table.h"

/*
 * One layout for every ABI the library is built for (x86_64 and i386 map
 * the same file at once): fixed-width fields only, no libc type whose size
 * differs by ABI, and 64-bit fields aligned to 8 (i386 aligns uint64_t to
 * 4 inside structs; fb_u64 makes it 8 there too).  The _Static_asserts
 * below pin every offset in both builds.
 */
typedef uint64_t fb_u64 __attribute__((aligned(8)));
typedef int64_t fb_i64 __attribute__((aligned(8)));

#define FB_TABLE_MAGIC "FBTABLE1"
/* 4: fixed-width header with a futex writer lock (was a pthread mutex).
 * 5: a record's real_type also holds the disk's permission bits. */
#define FB_TABLE_VERSION 5u
#define FB_TABLE_HDR_SIZE 4096u
#define FB_SLOT_EMPTY 0u
#define FB_SLOT_TOMB 0xffffffffu
/* Records beyond capacity: an update writes the new record before it
 * frees the old one, so a full table still needs room for one more. */
#define FB_SPARE_RECS 16u
/* Slots an index starts with (or nslots, if fewer): at most half full,
 * 2048 records before the first growth, in 32 KiB beside the header.
 * Every page a session's table uses is a page the kernel must allocate
 * and zero (about 6 us each on a VM), so a new table starts small. */
#define FB_INDEX_START 4096u
/* Records and arena get their file system blocks this many bytes at a
 * time (aligned; see grow_area in table.c), and a process writing many
 * records maps them this many at a time, not a page fault at a time. */
#define FB_POPULATE_BLOCK (16u * 1024u)
/* Arena bytes per record of capacity. */
#define FB_ARENA_PER_REC 96u

/* The writer lock word (see wlock.c): 0 free, else the owner's token,
 * with FB_LOCK_WAITERS set when someone may sleep on it. */
#define FB_LOCK_WAITERS 0x80000000u
#define FB_LOCK_OWNER 0x7fffffffu
/* The byte of the table file whose OFD lock says that token T's process
 * lives: FB_LOCK_LIVE_BASE + T, far past any data (locks need no data). */
#define FB_LOCK_LIVE_BASE ((int64_t)1 << 62)

/* Header flags (fb_thdr.flags): set with a release store before the first
 * record that needs them is published, never cleared. */
#define FB_TF_XATTRS 0x1u	/* some record has carried an xattr blob */
#define FB_TF_TYPES 0x2u	/* some record fakes a file type its inode lacks */
#define FB_TF_DEFACL 0x4u	/* some record has carried a default ACL */
#define FB_TF_SGIDDIR 0x8u	/* some record has been a directory with the setgid bit */
#define FB_TF_SETID 0x10u	/* some record has been a set-user-ID or set-group-ID program */
#define FB_TF_BOUND 0x20u	/* a device node has been bound over its placeholder (preload/dev.c) */
#define FB_TF_FULL_TOLD 0x40u	/* a process has warned that the table is full (preload/record.c) */

struct fb_trec {
	uint32_t seq;		/* even: stable; odd: being (re)written */
	uint32_t live;		/* 1 while published; 0 on the free list */
	fb_u64 dev, ino;
	fb_i64 btime_sec;
	uint32_t btime_nsec;
	uint32_t real_type;	/* S_IFMT of the real inode, FB_RT_PERM and its disk bits (table.h) */
	uint32_t uid, gid, mode;
	uint32_t hint_len;
	fb_u64 rdev;
	fb_u64 hint_off;	/* arena offset, 0 = none */
	fb_u64 xattr_off;	/* arena offset of the xattr blob, 0 = none */
	uint32_t xattr_len;
	uint32_t next_free;	/* free list link: record number + 1 */
};

/*
 * The header, in three cache lines by use: geometry (read-only), what
 * lock-free readers load (gen, active, flags), and what writers change
 * under the lock, so a writer's stores do not evict the readers' line.
 * The rest of the header page is zero and reserved: a later field takes
 * spare words whose zero means "absent", and only a change old code
 * would get wrong bumps FB_TABLE_VERSION (or sets an `incompat` bit).
 */
struct fb_thdr {
	/* Immutable after creation; covered by geom_check. */
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;
	fb_u64 capacity;	/* records */
	fb_u64 nslots;		/* most slots of an index, a power of two */
	fb_u64 index_off;	/* the interleaved indexes */
	fb_u64 rec_off;
	fb_u64 arena_off;
	fb_u64 arena_size;
	fb_u64 file_size;
	fb_u64 geom_check;
	uint32_t incompat;	/* features a reader must know: none yet, so 0 */
	uint32_t pad0;
	fb_u64 spare0[5];

	/* Loaded by lock-free readers; changed under the lock. */
	fb_u64 gen;		/* active index = gen & 1; bumped by a rebuild */
	fb_u64 active[2];	/* slots in use by each index */
	uint32_t flags;		/* FB_TF_* */
	uint32_t pad1;
	fb_u64 spare1[4];

	/* Writers only (nlive also by fb_table_count). */
	uint32_t lock;		/* futex word: owner token | FB_LOCK_WAITERS */
	uint32_t last_token;	/* the last token handed out (wlock.c) */
	fb_u64 rec_next;	/* records never used start here */
	uint32_t free_head;	/* record number + 1 */
	uint32_t pad2;
	fb_u64 nlive;		/* published records */
	fb_u64 ntomb;		/* tombstones in the active index */
	fb_u64 arena_next;
	fb_u64 changes;		/* bumped by every update */
	fb_u64 saved_changes;	/* `changes` when last loaded or saved: dirty if they differ */

	fb_u64 spare2[32];
};

#define FB_OFF(s, f, o) _Static_assert(offsetof(struct s, f) == (o), #s "." #f " moved")
FB_OFF(fb_trec, seq, 0);
FB_OFF(fb_trec, live, 4);
FB_OFF(fb_trec, dev, 8);
FB_OFF(fb_trec, ino, 16);
FB_OFF(fb_trec, btime_sec, 24);
FB_OFF(fb_trec, btime_nsec, 32);
FB_OFF(fb_trec, real_type, 36);
FB_OFF(fb_trec, uid, 40);
FB_OFF(fb_trec, gid, 44);
FB_OFF(fb_trec, mode, 48);
FB_OFF(fb_trec, hint_len, 52);
FB_OFF(fb_trec, rdev, 56);
FB_OFF(fb_trec, hint_off, 64);
FB_OFF(fb_trec, xattr_off, 72);
FB_OFF(fb_trec, xattr_len, 80);
FB_OFF(fb_trec, next_free, 84);
_Static_assert(sizeof(struct fb_trec) == 88 && _Alignof(struct fb_trec) == 8,
	       "struct fb_trec: 88 bytes, 8-aligned, on every ABI");
FB_OFF(fb_thdr, magic, 0);
FB_OFF(fb_thdr, version, 8);
FB_OFF(fb_thdr, hdr_size, 12);
FB_OFF(fb_thdr, capacity, 16);
FB_OFF(fb_thdr, nslots, 24);
FB_OFF(fb_thdr, index_off, 32);
FB_OFF(fb_thdr, rec_off, 40);
FB_OFF(fb_thdr, arena_off, 48);
FB_OFF(fb_thdr, arena_size, 56);
FB_OFF(fb_thdr, file_size, 64);
FB_OFF(fb_thdr, geom_check, 72);
FB_OFF(fb_thdr, incompat, 80);
FB_OFF(fb_thdr, gen, 128);
FB_OFF(fb_thdr, active, 136);
FB_OFF(fb_thdr, flags, 152);
FB_OFF(fb_thdr, lock, 192);
FB_OFF(fb_thdr, last_token, 196);
FB_OFF(fb_thdr, rec_next, 200);
FB_OFF(fb_thdr, free_head, 208);
FB_OFF(fb_thdr, nlive, 216);
FB_OFF(fb_thdr, ntomb, 224);
FB_OFF(fb_thdr, arena_next, 232);
FB_OFF(fb_thdr, changes, 240);
FB_OFF(fb_thdr, saved_changes, 248);
_Static_assert(sizeof(struct fb_thdr) == 512 && _Alignof(struct fb_thdr) == 8,
	       "struct fb_thdr: 512 bytes, 8-aligned, on every ABI");
_Static_assert(sizeof(struct fb_thdr) <= FB_TABLE_HDR_SIZE, "the header fits its page");
#undef FB_OFF

/* A mapping of the table: per process, never in the file. */
struct fb_table {
	struct fb_thdr *h;
	unsigned char *base;
	size_t size;
	uint32_t *index;	/* slot s of index g: index[2 * s + g] */
	struct fb_trec *recs;
	unsigned char *arena;
	/* This mapping's writer registration (wlock.c). */
	uint64_t dev, ino;	/* the mapped file */
	char *path;		/* where to open it again; NULL: unknown */
	int srcfd;		/* the descriptor it was mapped from (attach_fd); -1: none */
	int regfd;		/* our own open file description of it; -1: none */
	uint32_t token;		/* our owner token; 0: not registered */
	int reg_state;		/* 0 none, 1 being registered, 2 registered */
	int filling;		/* between fb_table_fill_begin and _end */
	int nospace;		/* the file system refused this process a new block */
	struct fb_table *reg_next;	/* wlock.c's list of registered mappings */
};

uint64_t fb_table_geom_check(const struct fb_thdr *h);

/*
 * The writer lock (wlock.c).  fb_wlock: 0 when held; TRY: -EBUSY instead
 * of waiting; -EDEADLK when this thread holds it or is taking it (a signal
 * handler that interrupted a writer); else the -errno of registering.
 * *RECOVERED (may be NULL) is set when the lock was taken over from a
 * dead holder: the caller repairs what it may have left half done.
 */
int fb_wlock(struct fb_table *t, int try, int *recovered);
void fb_wunlock(struct fb_table *t);
/* Set up a fresh mapping's registration fields (no system call). */
void fb_wlock_init(struct fb_table *t);
/* Drop this mapping's registration (detach). */
void fb_wlock_fini(struct fb_table *t);
/* Register this process at once through FD, a descriptor of its own open
 * file description on the mapped file (fb_table_create's): not consumed.
 * A table then works for its creator even once its name is gone (a
 * private table unlinked after mapping).  Failing, it registers by name
 * on its first write, as any process. */
void fb_wlock_adopt(struct fb_table *t, int fd);

/* The home slot of a key in an index of MASK + 1 slots (for tests). */
uint64_t fb_table_slot_of(uint64_t dev, uint64_t ino, uint64_t mask);

/* Iterate over live records (consistent snapshots); for store.c. */
typedef int (*fb_table_visit_fn)(const struct fb_trec *r, const char *hint,
				 const void *xattrs, void *arg);
int fb_table_foreach(struct fb_table *t, fb_table_visit_fn fn, void *arg);

/* Insert a record as loaded from the durable store (dev/ino/btime/type given). */
int fb_table_load_rec(struct fb_table *t, const struct fb_trec *r, const char *hint,
		      const void *xattrs, uint32_t xattr_len);

/*
 * Around fb_table_load_rec calls that fill T while no other process or
 * thread can use it (a new table before it is renamed into place): the
 * lock is taken once, not per record, and a record is inserted without
 * first looking for one of its key to keep the hint and xattrs of (the
 * store holds each key once; if two still meet, the later one wins).
 * EXPECT records are coming: the index is sized for them at once.
 * Nothing else may be called on T in between.
 */
int fb_table_fill_begin(struct fb_table *t, uint64_t expect);
void fb_table_fill_end(struct fb_table *t);

#endif
