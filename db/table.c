/*
 * table.c - the live fake-ownership table (see table.h and table_impl.h).
 *
 * Memory ordering, in one place:
 *  - A record is filled while unpublished (or, when reused from the free
 *    list, with its seq odd) and published by a release store of its
 *    number into an index slot.  A published record is never modified in
 *    place: an update writes a new record and swaps the slot.
 *  - A reader loads the slot (acquire), copies the record between two
 *    loads of its seq, then re-loads the slot: if the slot changed, the
 *    copy may belong to a reused record, and the lookup starts again.
 *  - A rebuild writes the inactive index and flips `gen`; readers load gen
 *    before and after a lookup and retry when it moved.
 * Writers hold the writer lock (wlock.c).  A writer killed mid-update
 * leaves at worst a leaked record or arena bytes: every publication is one
 * store.  The next writer takes the lock over and recounts (wlock below).
 *
 * _FILE_OFFSET_BITS: the 32-bit library maps tables past 2 GiB and on
 * filesystems with 64-bit inode numbers too.
 */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table_impl.h"
#include "util.h"
#include "xblob.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

uint64_t fb_table_geom_check(const struct fb_thdr *h)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ h->version ^ ((uint64_t)h->hdr_size << 32);
	const uint64_t f[] = { h->capacity, h->nslots, h->index_off, h->rec_off,
			       h->arena_off, h->arena_size, h->file_size };
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		x = fb_mix64(x ^ f[i]);
	return x;
}

/*
 * Slot of a key: a strong mix of both numbers.  (Blocks of consecutive
 * inodes once mapped to consecutive slots, for the locality of a huge
 * sparse index; now that the index grows with the records, such blocks
 * collided into long probe runs.)
 */
uint64_t fb_table_slot_of(uint64_t dev, uint64_t ino, uint64_t mask)
{
	return fb_mix64(ino ^ fb_mix64(dev)) & mask;
}

/* Slots in use by the index of generation GEN; a damaged count means all. */
static uint64_t active_slots(const struct fb_thdr *h, uint64_t gen)
{
	uint64_t n = LOAD(&h->active[gen & 1]);
	if (!n || n > h->nslots || (n & (n - 1)))
		return h->nslots;
	return n;
}

/* The index of generation GEN: its slot s is ix[2 * s]. */
static uint32_t *ix_of(struct fb_table *t, uint64_t gen)
{
	return t->index + (gen & 1);
}

static size_t page_round(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

/*
 * Map SIZE bytes of the table file FD, or MAP_FAILED.  The file is sparse
 * and read at random: on a disk file system (the default database's
 * directory is ext4 more often than tmpfs) every page fault would read
 * ahead around it, filling and zeroing hundreds of pages of holes in
 * the page cache, about 8 ms of every session's time; MADV_RANDOM reads
 * the faulting page only.
 */
static void *map_table(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED)
		madvise(p, size, MADV_RANDOM);
	return p;
}

static int map_file(int fd, size_t size, struct fb_table *t)
{
	void *p = map_table(fd, size);
	if (p == MAP_FAILED)
		return -errno;
	t->base = p;
	t->size = size;
	t->h = p;
	t->index = (uint32_t *)(t->base + t->h->index_off);
	t->recs = (struct fb_trec *)(t->base + t->h->rec_off);
	t->arena = t->base + t->h->arena_off;
	return 0;
}

/* The first index and the first block of records and of the arena (whose
 * offset 0 is never written, so that no allocation starts that block):
 * given their blocks when the table is made; see grow_area. */
static int reserve_start(struct fb_table *t)
{
	const struct fb_thdr *h = t->h;
	const uint64_t recs = (h->capacity + FB_SPARE_RECS) * sizeof *t->recs;
	int rc = fb_populate(t->index, h->active[0] * 2 * sizeof *t->index);
	if (rc == 0)
		rc = fb_populate(t->recs, recs < FB_POPULATE_BLOCK ? recs : FB_POPULATE_BLOCK);
	if (rc == 0)
		rc = fb_populate(t->arena, h->arena_size < FB_POPULATE_BLOCK ? h->arena_size
									 : FB_POPULATE_BLOCK);
	return rc;
}

int fb_table_capacity(const char *v, uint64_t *cap)
{
	*cap = FB_TABLE_DEFAULT_CAPACITY;
	if (!v || !*v)
		return 0;
	uint64_t n = 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || n > FB_TABLE_MAX_CAPACITY)
			return -EINVAL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (n < FB_TABLE_MIN_CAPACITY || n > FB_TABLE_MAX_CAPACITY)
		return -EINVAL;
	*cap = n;
	return 0;
}

/* The layout of a table of CAPACITY records, into G. */
static void geometry(uint64_t capacity, struct fb_thdr *g)
{
	uint64_t nslots = 64;
	while (nslots < capacity * 2)
		nslots <<= 1;
	g->capacity = capacity;
	g->nslots = nslots;
	g->index_off = FB_TABLE_HDR_SIZE;
	g->rec_off = g->index_off + page_round(nslots * 8);
	g->arena_off = g->rec_off + page_round((capacity + FB_SPARE_RECS) * sizeof(struct fb_trec));
	g->arena_size = capacity * FB_ARENA_PER_REC;
	g->file_size = g->arena_off + page_round(g->arena_size);
}

uint64_t fb_table_file_bytes(uint64_t capacity)
{
	struct fb_thdr g = { 0 };
	geometry(capacity, &g);
	return g.file_size;
}

uint64_t fb_table_capacity_for(uint64_t recs, uint64_t bytes)
{
	uint64_t by_bytes = (bytes + FB_ARENA_PER_REC - 1) / FB_ARENA_PER_REC;
	return recs > by_bytes ? recs : by_bytes;
}

int fb_table_create(const char *path, uint64_t capacity, struct fb_table **out)
{
	if (capacity < FB_TABLE_MIN_CAPACITY || capacity > FB_TABLE_MAX_CAPACITY)
		return -EINVAL;
	struct fb_thdr g = { .version = FB_TABLE_VERSION, .hdr_size = FB_TABLE_HDR_SIZE };
	memcpy(g.magic, FB_TABLE_MAGIC, 8);
	geometry(capacity, &g);
	g.geom_check = fb_table_geom_check(&g);
	g.active[0] = g.nslots < FB_INDEX_START ? g.nslots : FB_INDEX_START;

	/* Build the file under a temporary name, so that nobody maps a
	 * half-initialised table, then link it into place. */
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = 0;
	ssize_t wrote;
	struct stat st;
	struct fb_table *t = calloc(1, sizeof *t);
	if (t)
		fb_wlock_init(t);
	if (!t)
		rc = -ENOMEM;
	else if (ftruncate(fd, (off_t)g.file_size) < 0 || fstat(fd, &st) < 0)
		rc = -errno;
	else if ((wrote = pwrite(fd, &g, sizeof g, 0)) != (ssize_t)sizeof g)
		rc = wrote < 0 ? -errno : -ENOSPC;	/* a full file system: ENOSPC, not EIO */
	else if ((rc = fb_table_set_path(t, path)) == 0 && (rc = map_file(fd, g.file_size, t)) == 0)
		rc = reserve_start(t);
	if (rc == 0)
		fb_wlock_adopt(t, fd);	/* the creator's own description */
	close(fd);
	if (rc < 0) {
		if (t && t->base)
			munmap(t->base, t->size);
		if (t)
			fb_wlock_fini(t);
		free(t);
		unlink(path);
		return rc;
	}
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->h->arena_next = 8;	/* offset 0 means "none" */
	*out = t;
	return 0;
}

/*
 * Map the table open on FD, checking the header in the mapping (no read
 * system call: a session's every process does this).  DEV and INO, when
 * not 0, must match the file: an inherited descriptor number may have
 * been closed and reused for something else.
 */
int fb_table_attach_fd(int fd, uint64_t dev, uint64_t ino, struct fb_table **out)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((dev || ino) && (st.st_dev != dev || st.st_ino != ino))
		return -ESTALE;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < FB_TABLE_HDR_SIZE)
		return -EBADMSG;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;	/* a 32-bit process, a table of 4 GiB or more */
	void *p = map_table(fd, (size_t)st.st_size);
	if (p == MAP_FAILED)
		return -errno;
	struct fb_thdr g;
	memcpy(&g, p, sizeof g);
	int rc = 0;
	if (memcmp(g.magic, FB_TABLE_MAGIC, 7) != 0)
		rc = -EPROTO;
	else if (g.version != FB_TABLE_VERSION || g.magic[7] != FB_TABLE_MAGIC[7] || g.incompat)
		rc = -EPROTONOSUPPORT;
	else if (g.hdr_size != FB_TABLE_HDR_SIZE || g.geom_check != fb_table_geom_check(&g) ||
		 (uint64_t)st.st_size < g.file_size || g.nslots & (g.nslots - 1) ||
		 g.nslots < g.capacity)
		rc = -EBADMSG;
	struct fb_table *t = NULL;
	if (rc == 0 && !(t = calloc(1, sizeof *t)))
		rc = -ENOMEM;
	if (rc < 0) {
		munmap(p, (size_t)st.st_size);
		return rc;
	}
	t->base = p;
	t->size = (size_t)st.st_size;
	t->h = p;
	t->index = (uint32_t *)(t->base + g.index_off);
	t->recs = (struct fb_trec *)(t->base + g.rec_off);
	t->arena = t->base + g.arena_off;
	fb_wlock_init(t);
	t->srcfd = fd;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	*out = t;
	return 0;
}

int fb_table_attach(const char *path, struct fb_table **out)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	int rc = fb_table_attach_fd(fd, 0, 0, out);
	close(fd);
	if (rc == 0 && (rc = fb_table_set_path(*out, path)) < 0) {
		fb_table_detach(*out);
		*out = NULL;
	}
	return rc;
}

void fb_table_detach(struct fb_table *t)
{
	if (!t)
		return;
	fb_wlock_fini(t);
	munmap(t->base, t->size);
	free(t);
}

/* ---- writer lock --------------------------------------------------- */

static void recount(struct fb_table *t)
{
	const uint32_t *ix = ix_of(t, t->h->gen);
	const uint64_t n = active_slots(t->h, t->h->gen);
	uint64_t live = 0, tomb = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (ix[2 * i] == FB_SLOT_TOMB)
			tomb++;
		else if (ix[2 * i] != FB_SLOT_EMPTY)
			live++;
	}
	t->h->nlive = live;
	t->h->ntomb = tomb;
}

/*
 * Take the writer lock.  If it was taken over from a dead holder: every
 * publication is a single store, so the structure is sound; only the
 * counters may be off by the interrupted operation, and a rebuild in
 * progress was never made active.  Recount, and count a change, so that
 * whatever the dead writer published before its `changes++` is saved.
 */
static int wlock(struct fb_table *t, int try)
{
	int recovered;
	int rc = fb_wlock(t, try, &recovered);
	if (rc == 0 && recovered) {
		recount(t);
		t->h->changes++;
	}
	return rc;
}

static void wunlock(struct fb_table *t)
{
	fb_wunlock(t);
}

/* ---- records ------------------------------------------------------- */

static struct fb_trec *rec_at(struct fb_table *t, uint32_t v)
{
	if (v == FB_SLOT_EMPTY || v == FB_SLOT_TOMB || v > t->h->capacity + FB_SPARE_RECS)
		return NULL;
	return &t->recs[v - 1];
}

/* Copy record V consistently; 0 if it was being rewritten. */
static int rec_read(struct fb_table *t, uint32_t v, struct fb_trec *out)
{
	struct fb_trec *r = rec_at(t, v);
	if (!r)
		return 0;
	uint32_t s1 = LOAD(&r->seq);
	if (s1 & 1)
		return 0;
	memcpy(out, r, sizeof *out);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&r->seq, __ATOMIC_RELAXED) == s1 && out->live;
}

/*
 * Records and the arena are filled front to back, and the index is
 * rewritten whole by a rebuild.  The file is sparse: a page gets its block
 * when first written, and on a full file system (or past a quota) a store
 * through the mapping would kill the writer with SIGBUS.  So each block
 * of FB_POPULATE_BLOCK bytes gets its blocks before its first record or
 * byte is written, by
 * whoever allocates into it first (once per block for the whole session),
 * and an allocation the file system cannot hold fails with ENOSPC.
 *
 * A process that writes many records would also take a page fault for
 * every new page of a block others reserved (about 15 us on a VM, more
 * than the system call that made the record); at its FB_POPULATE_AFTERth
 * allocation it maps the rest of the block it is in.  A process that
 * writes a few records (install) does not: it would map pages that others
 * fill.
 */
#define FB_POPULATE_AFTER 32u	/* allocations by this process before it maps ahead */

/* Bytes [OFF, OFF + N) of the page-aligned area AREA of SIZE bytes are
 * about to be written for the first time, everything before OFF was.
 * *WRITES counts this process's allocations in the area.  0, or -ENOSPC
 * (and T->nospace set) when the file system cannot hold a new block. */
static int grow_area(struct fb_table *t, unsigned char *area, uint64_t size, uint64_t off,
		     uint64_t n, unsigned *writes)
{
	const uint64_t from = (off ? (off - 1) / FB_POPULATE_BLOCK + 1 : 0) * FB_POPULATE_BLOCK;
	uint64_t end = ((off + n - 1) / FB_POPULATE_BLOCK + 1) * FB_POPULATE_BLOCK;
	if (end > size)
		end = size;
	if (end > from && fb_populate(area + from, end - from) < 0) {
		t->nospace = 1;
		return -ENOSPC;
	}
	if (*writes > FB_POPULATE_AFTER)
		return 0;
	if (++*writes > FB_POPULATE_AFTER && from > off) {
		const uint64_t page = off & ~(uint64_t)4095;
		fb_populate(area + page, from - page);	/* the rest of the block at OFF */
	}
	return 0;
}

/*
 * The index is written at random slots, so a process that writes many
 * records faults on most of its pages one by one (a new table's index is
 * 8 pages).  Once it has written a record for every FB_INDEX_PAGES_PER
 * pages of the active index (and at least FB_INDEX_AFTER records), map the
 * whole index at once.  Processes that write a few records (install)
 * never do.
 */
#define FB_INDEX_AFTER 8u
#define FB_INDEX_PAGES_PER 8u

static void populate_index(struct fb_table *t)
{
	static unsigned writes;
	static uint64_t done_gen = ~0ull, done_n;
	writes++;
	const uint64_t gen = t->h->gen, n = active_slots(t->h, gen);
	if (writes < FB_INDEX_AFTER || (done_gen == gen && done_n == n))
		return;
	const uint64_t bytes = n * 2 * sizeof *t->index;	/* both indexes interleaved */
	if ((uint64_t)writes * FB_INDEX_PAGES_PER * 4096 < bytes)
		return;
	fb_populate(t->index, bytes);
	done_gen = gen;
	done_n = n;
}

static uint32_t rec_alloc(struct fb_table *t)
{
	struct fb_thdr *h = t->h;
	if (h->free_head) {
		uint32_t v = h->free_head;
		h->free_head = t->recs[v - 1].next_free;
		return v;
	}
	if (h->rec_next >= h->capacity + FB_SPARE_RECS)
		return 0;
	static unsigned writes;
	if (grow_area(t, (unsigned char *)t->recs, (h->capacity + FB_SPARE_RECS) * sizeof *t->recs,
		      h->rec_next * sizeof *t->recs, sizeof *t->recs, &writes) < 0)
		return 0;
	return (uint32_t)++h->rec_next;
}

/* Retire a published record: readers holding its number see seq move. */
static void rec_free(struct fb_table *t, uint32_t v)
{
	struct fb_trec *r = &t->recs[v - 1];
	STORE(&r->seq, r->seq + 1);
	r->live = 0;
	r->next_free = t->h->free_head;
	STORE(&r->seq, r->seq + 1);
	t->h->free_head = v;
}

static void rec_fill(struct fb_table *t, uint32_t v, const struct fb_trec *src)
{
	struct fb_trec *r = &t->recs[v - 1];
	uint32_t seq = r->seq | 1;
	STORE(&r->seq, seq);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	struct fb_trec tmp = *src;
	tmp.seq = seq;
	tmp.live = 1;
	tmp.next_free = 0;
	memcpy(r, &tmp, sizeof tmp);
	STORE(&r->seq, seq + 1);
}

static uint64_t arena_put(struct fb_table *t, const void *p, size_t n)
{
	struct fb_thdr *h = t->h;
	uint64_t off = (h->arena_next + 7) & ~(uint64_t)7;
	if (off + n > h->arena_size)
		return 0;
	static unsigned writes;
	if (grow_area(t, t->arena, h->arena_size, h->arena_next, off + n - h->arena_next, &writes) < 0)
		return 0;
	memcpy(t->arena + off, p, n);
	h->arena_next = off + n;
	return off;
}

static uint64_t hint_put(struct fb_table *t, const char *hint, uint32_t *len)
{
	size_t n = strlen(hint);
	uint64_t off = arena_put(t, hint, n + 1);
	*len = off ? (uint32_t)n : 0;
	return off;
}

/* ---- lookups ------------------------------------------------------- */

static int key_eq(const struct fb_trec *r, uint64_t dev, uint64_t ino)
{
	return r->dev == dev && r->ino == ino;
}

/*
 * Find the record of (dev, ino) in the active index.  Lock-free; also used
 * by writers (under the lock, where nothing moves).  Returns the slot
 * number or -1, and the record copy in *out.
 */
static int64_t find(struct fb_table *t, uint64_t dev, uint64_t ino, struct fb_trec *out)
{
	/* Retries end: a damaged file must not hang every stat. */
	for (int tries = 0; tries < 100000; tries++) {
		uint64_t gen = LOAD(&t->h->gen);
		const uint32_t *ix = ix_of(t, gen);
		const uint64_t mask = active_slots(t->h, gen) - 1;
		uint64_t s = fb_table_slot_of(dev, ino, mask);
		int64_t found = -1;
		int retry = 0;
		for (uint64_t n = 0; n <= mask; n++, s = (s + 1) & mask) {
			uint32_t v = LOAD(&ix[2 * s]);
			if (v == FB_SLOT_EMPTY)
				break;
			if (v == FB_SLOT_TOMB)
				continue;
			if (!rec_read(t, v, out) || LOAD(&ix[2 * s]) != v) {
				retry = 1;
				break;
			}
			if (key_eq(out, dev, ino)) {
				found = (int64_t)s;
				break;
			}
		}
		if (!retry && LOAD(&t->h->gen) == gen)
			return found;
	}
	return -1;
}

static int stale(const struct fb_trec *r, const struct fb_ident *id)
{
	if (fb_rt_type(r->real_type) != (id->real_mode & S_IFMT))
		return 1;
	/* Birth time is compared only when both sides know it. */
	if ((r->btime_sec || r->btime_nsec) && (id->btime_sec || id->btime_nsec))
		return r->btime_sec != id->btime_sec || r->btime_nsec != id->btime_nsec;
	return 0;
}

/*
 * Was R's inode born after ID's?  Then R may be the record of a later life
 * of ID's inode number, made while a stat of ID's (since deleted) file
 * ran: that stat must not drop it.  (It may also be a record of another
 * file system that got ID's device number, or of a clock set back: a put
 * still replaces a stale record, so those cannot block a chown.)  Known
 * only where both sides have a birth time.
 */
static int newer(const struct fb_trec *r, const struct fb_ident *id)
{
	if (!(r->btime_sec || r->btime_nsec) || !(id->btime_sec || id->btime_nsec))
		return 0;
	return r->btime_sec > id->btime_sec || (r->btime_sec == id->btime_sec && r->btime_nsec > id->btime_nsec);
}

static void drop_slot(struct fb_table *t, int64_t slot)
{
	uint32_t *ix = ix_of(t, t->h->gen);
	uint32_t v = ix[2 * slot];
	STORE(&ix[2 * slot], FB_SLOT_TOMB);
	rec_free(t, v);
	t->h->nlive--;
	t->h->ntomb++;
	t->h->changes++;
}

int fb_table_get(struct fb_table *t, const struct fb_ident *id, struct fb_attr *out)
{
	struct fb_trec r;
	if (find(t, id->dev, id->ino, &r) < 0)
		return 0;
	if (stale(&r, id)) {
		/* A record of a deleted inode whose number was reused.  Drop it
		 * if the lock is free right now; never wait on the stat path
		 * (we may be in a signal handler that interrupted a writer).
		 * Not if it is the newer: our caller's stat saw a file
		 * deleted since. */
		if (!newer(&r, id) && wlock(t, 1) == 0) {
			struct fb_trec again;
			int64_t s = find(t, id->dev, id->ino, &again);
			if (s >= 0 && stale(&again, id) && !newer(&again, id))
				drop_slot(t, s);
			wunlock(t);
		}
		return 0;
	}
	out->uid = r.uid;
	out->gid = r.gid;
	out->mode = fb_rec_mode(r.mode, r.real_type, id);
	out->rdev = r.rdev;
	return 1;
}

/*
 * Copy the xattr blob of ID's record into BUF (LEN bytes).  The arena is
 * append-only, so bytes a consistent record points at never change.
 * Returns the blob's length (more than LEN: BUF is short), 0 when there
 * is none or no record; *a gets the attributes when a record exists.
 */
long fb_table_get_xattrs(struct fb_table *t, const struct fb_ident *id, struct fb_attr *a,
			 int *found, void *buf, size_t len)
{
	struct fb_trec r;
	*found = 0;
	if (find(t, id->dev, id->ino, &r) < 0 || stale(&r, id))
		return 0;
	*found = 1;
	a->uid = r.uid;
	a->gid = r.gid;
	a->mode = fb_rec_mode(r.mode, r.real_type, id);
	a->rdev = r.rdev;
	if (!r.xattr_off || !r.xattr_len || r.xattr_off + r.xattr_len > t->h->arena_size)
		return 0;
	if (r.xattr_len <= len)
		memcpy(buf, t->arena + r.xattr_off, r.xattr_len);
	return r.xattr_len;
}

/* ---- updates ------------------------------------------------------- */

/*
 * Rebuild the index into the inactive one, with N slots: when tombstones
 * crowd it (same N) or records fill it (twice as many).  Copy the live
 * slots, then flip gen.  Readers of the old index retry.
 */
static int rebuild(struct fb_table *t, uint64_t n)
{
	struct fb_thdr *h = t->h;
	const uint64_t oldn = active_slots(h, h->gen);
	const uint32_t *old = ix_of(t, h->gen);
	uint32_t *nix = ix_of(t, h->gen + 1);
	const uint64_t mask = n - 1;
	/* The two indexes are interleaved: N slots of either are N * 8 bytes. */
	if (fb_populate(t->index, n * 2 * sizeof *nix) < 0) {
		t->nospace = 1;
		return -ENOSPC;
	}
	STORE(&h->active[(h->gen + 1) & 1], n);
	for (uint64_t i = 0; i < n; i++)
		nix[2 * i] = FB_SLOT_EMPTY;
	uint64_t live = 0;
	for (uint64_t i = 0; i < oldn; i++) {
		uint32_t v = old[2 * i];
		struct fb_trec *r = rec_at(t, v);
		if (!r)
			continue;
		uint64_t s = fb_table_slot_of(r->dev, r->ino, mask);
		while (nix[2 * s] != FB_SLOT_EMPTY)
			s = (s + 1) & mask;
		nix[2 * s] = v;
		live++;
	}
	STORE(&h->gen, h->gen + 1);
	h->nlive = live;
	h->ntomb = 0;
	return 0;
}

/* Replace the record in slot S of IX by the filled record V.  Locked. */
static void swap_slot(struct fb_table *t, uint32_t *ix, uint64_t s, uint32_t v)
{
	uint32_t cur = ix[2 * s];
	STORE(&ix[2 * s], v);
	rec_free(t, cur);
	t->h->changes++;
}

/* The slots an index of N grows to for LIVE records: a third full, at
 * most nslots. */
static uint64_t grown_slots(const struct fb_thdr *h, uint64_t n, uint64_t live)
{
	while (live * 3 > n && n < h->nslots)
		n <<= 1;
	return n;
}

/* Publish record REC for its key, replacing an existing one.  Locked. */
static int publish(struct fb_table *t, const struct fb_trec *rec)
{
	struct fb_thdr *h = t->h;
	/* Linear probing wants a sparse index: a growing one is kept at most
	 * half full, the full-size one (twice the capacity) three quarters. */
	uint64_t n = active_slots(h, h->gen);
	const uint64_t used = h->nlive + h->ntomb + 1;
	if (n < h->nslots ? used * 2 > n : used * 4 > n * 3) {
		const uint64_t grown = grown_slots(h, n, h->nlive + 1);
		if (rebuild(t, grown) < 0)
			return -ENOSPC;
		n = grown;
	}
	const uint64_t mask = n - 1;
	uint32_t *ix = ix_of(t, h->gen);
	populate_index(t);
	uint64_t s = fb_table_slot_of(rec->dev, rec->ino, mask);
	int64_t tomb = -1;
	for (;; s = (s + 1) & mask) {
		uint32_t cur = ix[2 * s];
		if (cur == FB_SLOT_EMPTY)
			break;
		if (cur == FB_SLOT_TOMB) {
			if (tomb < 0)
				tomb = (int64_t)s;
			continue;
		}
		if (key_eq(&t->recs[cur - 1], rec->dev, rec->ino)) {
			/* A replacement may use a spare record: the old one is freed at once. */
			uint32_t v = rec_alloc(t);
			if (!v)
				return -ENOSPC;
			rec_fill(t, v, rec);
			swap_slot(t, ix, s, v);
			return 0;
		}
	}
	if (h->nlive >= h->capacity)
		return -ENOSPC;
	uint32_t v = rec_alloc(t);
	if (!v)
		return -ENOSPC;
	rec_fill(t, v, rec);
	if (tomb >= 0) {
		s = (uint64_t)tomb;
		h->ntomb--;
	}
	STORE(&ix[2 * s], v);
	h->nlive++;
	h->changes++;
	return 0;
}

/* The real_type a record of ID gets: its type, and its disk bits when
 * known, else those of OLD (ID's record so far, or NULL) if it has them. */
static uint32_t real_type_of(const struct fb_ident *id, const struct fb_trec *old)
{
	uint32_t type = id->real_mode & S_IFMT;
	if (!id->type_only)
		return type | FB_RT_PERM | (id->real_mode & 0777);
	return old ? type | (old->real_type & (FB_RT_PERM | 0777)) : type;
}

static void rec_from(struct fb_trec *r, const struct fb_ident *id, const struct fb_attr *a)
{
	memset(r, 0, sizeof *r);
	r->dev = id->dev;
	r->ino = id->ino;
	r->btime_sec = id->btime_sec;
	r->btime_nsec = id->btime_nsec;
	r->real_type = real_type_of(id, NULL);
	r->uid = a->uid;
	r->gid = a->gid;
	r->mode = a->mode;
	r->rdev = a->rdev;
}

static int put_locked(struct fb_table *t, const struct fb_ident *id, const struct fb_attr *a,
		      const char *path_hint, int xattrs, const void *blob, size_t len, int lookup);

/* Does ID's record say A already (and have a hint, if PATH_HINT)?  What
 * it says costs no lock and no write: chmod -R and dh_fixperms mostly set
 * the modes files already have. */
static int says_already(struct fb_table *t, const struct fb_ident *id, const struct fb_attr *a,
			const char *path_hint)
{
	struct fb_trec old;
	return find(t, id->dev, id->ino, &old) >= 0 && !stale(&old, id) && old.uid == a->uid &&
	       old.gid == a->gid && old.mode == a->mode && old.rdev == a->rdev &&
	       old.real_type == real_type_of(id, &old) && (old.hint_off || !path_hint);
}

/*
 * Insert or replace ID's record.  The path hint and, unless XATTRS is
 * set, the xattr blob of an existing record are kept.  Locked inside.
 */
static int put(struct fb_table *t, const struct fb_ident *id, const struct fb_attr *a,
	       const char *path_hint, int xattrs, const void *blob, size_t len)
{
	if (!xattrs && says_already(t, id, a, path_hint))
		return 0;
	int rc = wlock(t, 0);
	if (rc < 0)
		return rc;
	rc = put_locked(t, id, a, path_hint, xattrs, blob, len, 1);
	wunlock(t);
	return rc;
}

/*
 * put, with T's lock held.  LOOKUP 0: the caller knows no record of ID's
 * key has a hint or xattrs to keep (a table being filled from the store).
 */
static int put_locked(struct fb_table *t, const struct fb_ident *id, const struct fb_attr *a,
		      const char *path_hint, int xattrs, const void *blob, size_t len, int lookup)
{
	struct fb_trec old, r;
	int rc = 0;
	rec_from(&r, id, a);
	int64_t s = lookup ? find(t, id->dev, id->ino, &old) : -1;
	if (s >= 0 && !stale(&old, id)) {
		r.real_type = real_type_of(id, &old);
		r.hint_off = old.hint_off;
		r.hint_len = old.hint_len;
		if (!xattrs) {
			r.xattr_off = old.xattr_off;
			r.xattr_len = old.xattr_len;
		}
	}
	if (!r.hint_off && path_hint)
		r.hint_off = hint_put(t, path_hint, &r.hint_len);
	uint32_t flags = 0;
	if (xattrs && len) {
		r.xattr_off = arena_put(t, blob, len);
		r.xattr_len = (uint32_t)len;
		if (!r.xattr_off)
			rc = -ENOSPC;
		flags |= FB_TF_XATTRS;
		const void *v;
		size_t vl;
		if (fb_xblob_get(blob, len, FB_XATTR_ACL_DEFAULT, &v, &vl) == 1)
			flags |= FB_TF_DEFACL;
	}
	if ((r.mode & S_IFMT) != fb_rt_type(r.real_type))
		flags |= FB_TF_TYPES;
	if (S_ISDIR(r.mode) && (r.mode & S_ISGID))
		flags |= FB_TF_SGIDDIR;
	if (S_ISREG(r.mode) && (r.mode & (S_ISUID | S_ISGID)))
		flags |= FB_TF_SETID;
	/* Before the record is published: a reader that sees the record
	 * (acquire on its slot) sees the flag. */
	if (rc == 0 && (t->h->flags & flags) != flags)
		__atomic_fetch_or(&t->h->flags, flags, __ATOMIC_RELEASE);
	if (rc == 0)
		rc = publish(t, &r);
	return rc;
}

int fb_table_put(struct fb_table *t, const struct fb_ident *id, const struct fb_attr *a,
		 const char *path_hint)
{
	return put(t, id, a, path_hint, 0, NULL, 0);
}

int fb_table_put_xattrs(struct fb_table *t, const struct fb_ident *id, const struct fb_attr *a,
			const void *blob, size_t len, const char *path_hint)
{
	return put(t, id, a, path_hint, 1, blob, len);
}

int fb_table_put_if(struct fb_table *t, const struct fb_ident *id, const struct fb_attr *before,
		    const struct fb_attr *a, const char *path_hint)
{
	if (says_already(t, id, a, path_hint))
		return 0;
	int rc = wlock(t, 0);
	if (rc < 0)
		return rc;
	struct fb_trec old;
	int now = find(t, id->dev, id->ino, &old) >= 0 && !stale(&old, id);
	/* The view may have shown the mode with the disk's bits of before a
	 * real chmod that ID's bits now follow: either form is the record's. */
	if (before ? !now || old.uid != before->uid || old.gid != before->gid ||
			     old.rdev != before->rdev ||
			     (old.mode != before->mode &&
			      fb_rec_mode(old.mode, old.real_type, id) != before->mode)
		   : now)
		rc = -EAGAIN;
	else
		rc = put_locked(t, id, a, path_hint, 0, NULL, 0, 1);
	wunlock(t);
	return rc;
}

int fb_table_has_xattrs(struct fb_table *t)
{
	return (LOAD(&t->h->flags) & FB_TF_XATTRS) != 0;
}

int fb_table_has_default_acls(struct fb_table *t)
{
	return (LOAD(&t->h->flags) & FB_TF_DEFACL) != 0;
}

int fb_table_has_setgid_dirs(struct fb_table *t)
{
	return (LOAD(&t->h->flags) & FB_TF_SGIDDIR) != 0;
}

int fb_table_has_setid(struct fb_table *t)
{
	return (LOAD(&t->h->flags) & FB_TF_SETID) != 0;
}

int fb_table_out_of_space(const struct fb_table *t)
{
	return t->nospace;
}

int fb_table_has_faked_types(struct fb_table *t)
{
	return (LOAD(&t->h->flags) & FB_TF_TYPES) != 0;
}

int fb_table_has_bound_devices(struct fb_table *t)
{
	return (LOAD(&t->h->flags) & FB_TF_BOUND) != 0;
}

void fb_table_note_bound_device(struct fb_table *t)
{
	if (!(LOAD(&t->h->flags) & FB_TF_BOUND))
		__atomic_fetch_or(&t->h->flags, FB_TF_BOUND, __ATOMIC_RELEASE);
}

void fb_table_unwarn_full(struct fb_table *t)
{
	if (LOAD(&t->h->flags) & FB_TF_FULL_TOLD)
		__atomic_fetch_and(&t->h->flags, ~FB_TF_FULL_TOLD, __ATOMIC_RELAXED);
}

int fb_table_first_full(struct fb_table *t)
{
	if (LOAD(&t->h->flags) & FB_TF_FULL_TOLD)
		return 0;
	return !(__atomic_fetch_or(&t->h->flags, FB_TF_FULL_TOLD, __ATOMIC_RELAXED) & FB_TF_FULL_TOLD);
}

int fb_table_del(struct fb_table *t, const struct fb_ident *id)
{
	struct fb_trec r;
	if (find(t, id->dev, id->ino, &r) < 0)
		return 0;	/* the common case costs no lock */
	int rc = wlock(t, 0);
	if (rc < 0)
		return rc;
	int64_t s = find(t, id->dev, id->ino, &r);
	/* Only ID's own record: after an unlink, another process may already
	 * have made a new file on the freed inode number, and its record. */
	if (s >= 0 && !stale(&r, id))
		drop_slot(t, s);
	wunlock(t);
	return 0;
}

/* Replace the record in slot S of IX by R with hint HINT.  Locked. */
static int rehint(struct fb_table *t, uint32_t *ix, uint64_t s, struct fb_trec *r, const char *hint)
{
	uint32_t v = rec_alloc(t);
	if (!v)
		return -ENOSPC;
	r->hint_off = hint_put(t, hint, &r->hint_len);
	rec_fill(t, v, r);
	swap_slot(t, ix, s, v);
	return 0;
}

/* Give ID's record the path hint HINT, if its hint now is WAS (NULL: any). */
static int set_hint_if(struct fb_table *t, const struct fb_ident *id, const char *was, const char *hint)
{
	int rc = wlock(t, 0);
	if (rc < 0)
		return rc;
	struct fb_trec r;
	int64_t s = find(t, id->dev, id->ino, &r);
	if (s >= 0 && !stale(&r, id) &&
	    (!was || (r.hint_off && r.hint_len == strlen(was) && r.hint_off + r.hint_len < t->h->arena_size &&
		      memcmp((const char *)t->arena + r.hint_off, was, r.hint_len) == 0)))
		rc = rehint(t, ix_of(t, t->h->gen), (uint64_t)s, &r, hint);
	wunlock(t);
	return rc;
}

int fb_table_set_hint(struct fb_table *t, const struct fb_ident *id, const char *hint)
{
	return set_hint_if(t, id, NULL, hint);
}

int fb_table_drop_hint(struct fb_table *t, const struct fb_ident *id, const char *hint)
{
	return set_hint_if(t, id, hint, "");
}

int fb_table_move_hints(struct fb_table *t, const char *from, const char *to)
{
	int rc = wlock(t, 0);
	if (rc < 0)
		return rc;
	size_t fl = strlen(from);
	uint32_t *ix = ix_of(t, t->h->gen);
	const uint64_t n = active_slots(t->h, t->h->gen);
	char buf[4096];
	for (uint64_t i = 0; i < n && rc == 0; i++) {
		struct fb_trec *cur = rec_at(t, ix[2 * i]);
		if (!cur || !cur->hint_off || cur->hint_off + cur->hint_len >= t->h->arena_size)
			continue;
		const char *h = (const char *)t->arena + cur->hint_off;
		if (strncmp(h, from, fl) != 0 || h[fl] != '/')
			continue;
		/* No new path, or one too long for a hint: none, rather than
		 * the old one, which --gc would take for a file gone. */
		if (!to || (size_t)snprintf(buf, sizeof buf, "%s%s", to, h + fl) >= sizeof buf)
			buf[0] = 0;
		struct fb_trec r = *cur;
		rc = rehint(t, ix, i, &r, buf);
	}
	wunlock(t);
	return rc;
}

int fb_table_drop_key(struct fb_table *t, uint64_t dev, uint64_t ino)
{
	int rc = wlock(t, 0);
	if (rc < 0)
		return rc;
	struct fb_trec r;
	int64_t s = find(t, dev, ino, &r);
	if (s >= 0)
		drop_slot(t, s);
	wunlock(t);
	return s >= 0;
}

/* Whether [OFF, OFF + LEN] (a string or blob and, for a hint, its NUL) lies in the filled arena. */
static int arena_ok(const struct fb_thdr *h, uint64_t off, uint64_t len)
{
	return off == 0 ? len == 0 : off >= 8 && len < h->arena_size && off + len < h->arena_next &&
					     h->arena_next <= h->arena_size;
}

static int verify(struct fb_table *t, int locked, char *why, size_t len)
{
	const struct fb_thdr *h = t->h;
	const uint64_t n = active_slots(h, h->gen), mask = n - 1;
	const uint32_t *ix = ix_of(t, h->gen);
	uint64_t live = 0;
	if (h->rec_next > h->capacity + FB_SPARE_RECS || h->arena_next > h->arena_size)
		return snprintf(why, len, "its counters are past its size"), -1;
	for (uint64_t s = 0; s < n; s++) {
		uint32_t v = LOAD(&ix[2 * s]);
		if (v == FB_SLOT_EMPTY || v == FB_SLOT_TOMB)
			continue;
		if (v > h->rec_next)
			return snprintf(why, len, "index slot %llu names record %u of %llu",
					(unsigned long long)s, v, (unsigned long long)h->rec_next), -1;
		const struct fb_trec *r = &t->recs[v - 1];
		if (!locked && (LOAD(&r->seq) & 1))
			continue;	/* being written by a running session */
		live++;
		const char *bad = !r->live ? "not in use"
				  : !fb_file_type_ok(fb_rt_type(r->real_type)) || !fb_file_type_ok(r->mode & S_IFMT)
				      ? "an impossible file type"
				  : !arena_ok(h, r->hint_off, r->hint_len) ? "a path hint outside the table"
				  : !arena_ok(h, r->xattr_off, r->xattr_len ? r->xattr_len - 1 : 0)
				      ? "extended attributes outside the table"
				      : NULL;
		/* Found by its key: no empty slot between its home and here. */
		for (uint64_t p = fb_table_slot_of(r->dev, r->ino, mask); !bad && p != s;
		     p = (p + 1) & mask)
			if (LOAD(&ix[2 * p]) == FB_SLOT_EMPTY)
				bad = "out of its key's place in the index";
		if (bad)
			return snprintf(why, len, "record %u (index slot %llu) is %s", v,
					(unsigned long long)s, bad), -1;
	}
	if (locked && live != h->nlive)
		return snprintf(why, len, "its index holds %llu records, its header says %llu",
				(unsigned long long)live, (unsigned long long)h->nlive), -1;
	return 0;
}

int fb_table_verify(struct fb_table *t, int locked, char *why, size_t len)
{
	if (!locked)
		return verify(t, 0, why, len);
	int rc = wlock(t, 0);	/* repairs what a killed writer left half done */
	if (rc < 0)
		return snprintf(why, len, "cannot lock it: %s", strerror(-rc)), -1;
	rc = verify(t, 1, why, len);
	wunlock(t);
	return rc;
}

uint64_t fb_table_count(struct fb_table *t)
{
	return LOAD(&t->h->nlive);
}

uint64_t fb_table_changes(struct fb_table *t)
{
	return LOAD(&t->h->changes);
}

int fb_table_dirty(struct fb_table *t)
{
	return LOAD(&t->h->changes) != LOAD(&t->h->saved_changes);
}

void fb_table_mark_saved(struct fb_table *t, uint64_t changes)
{
	STORE(&t->h->saved_changes, changes);
}

/* ---- bulk access for the durable store ----------------------------- */

int fb_table_foreach(struct fb_table *t, fb_table_visit_fn fn, void *arg)
{
	int rc = wlock(t, 0);
	if (rc < 0)
		return rc;
	/*
	 * Walk the records, not the index: records are allocated from the
	 * front, so this touches memory in proportion to what was used.  A
	 * record counts only if the index publishes it (a writer killed
	 * mid-update may leave a filled record that nothing points to): one
	 * pass over the active index marks those, which costs far less than
	 * a lookup per record.
	 */
	const uint64_t used = t->h->rec_next;
	uint64_t *pub = calloc(used / 64 + 1, sizeof *pub);
	if (!pub) {
		wunlock(t);
		return -ENOMEM;
	}
	const uint32_t *ix = ix_of(t, t->h->gen);
	const uint64_t n = active_slots(t->h, t->h->gen);
	for (uint64_t s = 0; s < n; s++) {
		uint32_t v = ix[2 * s];
		if (v != FB_SLOT_EMPTY && v != FB_SLOT_TOMB && v <= used)
			pub[(v - 1) / 64] |= 1ull << ((v - 1) % 64);
	}
	for (uint64_t i = 0; i < used && rc == 0; i++) {
		const struct fb_trec *r = &t->recs[i];
		if (!r->live || !(pub[i / 64] >> (i % 64) & 1))
			continue;
		const char *hint = NULL;
		if (r->hint_off && r->hint_off + r->hint_len < t->h->arena_size)
			hint = (const char *)t->arena + r->hint_off;
		const void *xa = NULL;
		if (r->xattr_off && r->xattr_off + r->xattr_len <= t->h->arena_size)
			xa = t->arena + r->xattr_off;
		rc = fn(r, hint, xa, arg);
	}
	free(pub);
	wunlock(t);
	return rc;
}

struct placeholders {
	fb_table_placeholder_fn fn;
	void *arg;
};

static int visit_placeholder(const struct fb_trec *r, const char *hint, const void *xattrs,
			     void *arg)
{
	const struct placeholders *p = arg;
	if (!hint || fb_rt_type(r->real_type) != S_IFREG || (!S_ISCHR(r->mode) && !S_ISBLK(r->mode)))
		return 0;
	struct fb_attr a = { .uid = r->uid, .gid = r->gid, .mode = r->mode, .rdev = r->rdev };
	return p->fn(hint, &a, xattrs, xattrs ? r->xattr_len : 0, p->arg);
}

int fb_table_foreach_placeholder(struct fb_table *t, fb_table_placeholder_fn fn, void *arg)
{
	struct placeholders p = { fn, arg };
	return fb_table_foreach(t, visit_placeholder, &p);
}

struct hints_under {
	const char *dir;
	size_t len;
	fb_table_hint_fn fn;
	void *arg;
};

static int visit_hint(const struct fb_trec *r, const char *hint, const void *xattrs, void *arg)
{
	const struct hints_under *h = arg;
	(void)r, (void)xattrs;
	if (!hint || strncmp(hint, h->dir, h->len) != 0 || hint[h->len] != '/' || !hint[h->len + 1])
		return 0;
	return h->fn(hint, h->arg);
}

int fb_table_foreach_hint_under(struct fb_table *t, const char *dir, fb_table_hint_fn fn, void *arg)
{
	struct hints_under h = { dir, strlen(dir), fn, arg };
	return fb_table_foreach(t, visit_hint, &h);
}

int fb_table_load_rec(struct fb_table *t, const struct fb_trec *src, const char *hint,
		      const void *xattrs, uint32_t xattr_len)
{
	const struct fb_ident id = {
		.dev = src->dev, .ino = src->ino,
		.btime_sec = src->btime_sec, .btime_nsec = src->btime_nsec,
		.real_mode = src->real_type & (S_IFMT | 0777),
		.type_only = !(src->real_type & FB_RT_PERM),
	};
	const struct fb_attr a = { .uid = src->uid, .gid = src->gid, .mode = src->mode, .rdev = src->rdev };
	if (t->filling)
		return put_locked(t, &id, &a, hint, 1, xattrs, xattr_len, 0);
	return put(t, &id, &a, hint, 1, xattrs, xattr_len);
}

int fb_table_fill_begin(struct fb_table *t, uint64_t expect)
{
	int rc = wlock(t, 0);
	if (rc < 0)
		return rc;
	t->filling = 1;
	/* An index the size growth would reach, made while it is empty:
	 * not rebuilt (every record read again) at each doubling. */
	struct fb_thdr *h = t->h;
	const uint64_t n = active_slots(h, h->gen), want = h->nlive + expect;
	if (n < h->nslots && want * 2 > n && (rc = rebuild(t, grown_slots(h, n, want))) < 0) {
		t->filling = 0;
		wunlock(t);
		return rc;
	}
	return 0;
}

void fb_table_fill_end(struct fb_table *t)
{
	t->filling = 0;
	wunlock(t);
}
