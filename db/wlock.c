/*
 * wlock.c - the live table's writer lock, shared by the 32-bit and 64-bit
 * processes of a session (see table_impl.h; preload/README says why it is
 * safe, in prose).
 *
 * The lock is one 32-bit futex word in the table header: 0 when free,
 * else the owner's token (FB_LOCK_OWNER), with FB_LOCK_WAITERS set once a
 * waiter may be asleep on it.  Taking and releasing it uncontended is one
 * atomic instruction each and no system call; a waiter spins a little,
 * then sleeps in FUTEX_WAIT (shared, not private: the word is in a file
 * mapping, and the kernel keys such futexes by file and offset, so 32-bit
 * and 64-bit processes, qemu-user ones included, meet on it).
 *
 * Liveness.  A process registers before its first write: it takes a new
 * token from the header's counter and a read lock (F_OFD_SETLK) on byte
 * FB_LOCK_LIVE_BASE + token of the table file, through a descriptor it
 * opened itself by name, so no other process shares the open file
 * description.  The kernel drops that lock when the description's last
 * descriptor closes: exit, SIGKILL and exec (close-on-exec) all do it.
 * A waiter that has slept CHECK_MS without getting the lock asks the
 * kernel (F_OFD_GETLK) whether the owner's byte is still locked; when it
 * is not, the owner is gone and the waiter takes the word over with a
 * compare-and-swap from the exact value it saw (a dead owner cannot
 * change it, and of two waiters only one swap succeeds), then repairs
 * the table as after a robust mutex's EOWNERDEAD (table.c, recovered).
 * No PID is involved: tokens mean the same in every PID namespace and are
 * not reused while anything holds them.
 *
 * What must never make a live owner look dead:
 *  - the program closing the descriptor: the preload library keeps it
 *    open (close, close_range and closefrom leave it; dup2 and dup3 onto
 *    it move it first: fb_table_move_lock_fd).  A raw close system call,
 *    past libc, is not seen (a documented limit).
 *  - fork: the child shares the description, so an atfork handler makes
 *    the child close its copy and register again, with a token of its own,
 *    on its first write.  A child made by a raw clone without the handlers
 *    shares its parent's token until it execs: its writes still exclude
 *    everyone's, but a dead parent then looks alive until the child execs
 *    or exits, which only delays a takeover.
 *  - threads: they share the process's token and registration; the word
 *    excludes them from each other, and a waiter never takes over its own
 *    token.
 *  - another file at the same name (a session ended and a new one began):
 *    the descriptor opened for registration must be the mapped file (dev
 *    and inode compared).
 * A signal handler that interrupts this thread while it holds or takes
 * the lock, and then writes, gets -EDEADLK (a try-lock, -EBUSY) rather
 * than waiting on itself forever.
 *
 * _FILE_OFFSET_BITS: struct flock and struct stat with 64-bit offsets and
 * inode numbers in the 32-bit library too.
 */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "table_impl.h"

/* Spins before a waiter sleeps; sleep between liveness checks. */
#define SPINS 100
#define CHECK_MS 10
/* The registration descriptor goes at or above this number, out of the
 * way of programs that expect small numbers (or write to fds 0-2). */
#define LOCK_FD_MIN 800

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* The mapping whose lock this thread holds or is taking (for handlers). */
static __thread struct fb_table *taking;

/* Mappings registered by this process, for the atfork handler. */
static struct fb_table *registered;
static int list_busy;
/* Locks taken by this process, for test_hook. */
static unsigned nlocks;

static void list_lock(void)
{
	while (__atomic_exchange_n(&list_busy, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void list_unlock(void)
{
	STORE(&list_busy, 0);
}

/* Forget T's registration (already off the list); close its descriptor. */
static void unregister(struct fb_table *t)
{
	int fd = t->regfd;
	/* -1 first: the preload library's close() keeps the lock descriptor open. */
	STORE(&t->regfd, -1);
	t->token = 0;
	STORE(&t->reg_state, 0);
	if (fd >= 0)
		close(fd);
}

/*
 * In the child of fork: the descriptors are copies of the parent's, whose
 * description and liveness lock they share.  Close them (the parent keeps
 * its own) and let the child register anew on its first write.  The child
 * has one thread, so the list is walked without its lock (which another
 * thread of the parent may have held at the fork).
 */
static void forked_child(void)
{
	struct fb_table *t = registered;
	registered = NULL;
	list_busy = 0;
	nlocks = 0;
	while (t) {
		struct fb_table *next = t->reg_next;
		t->reg_next = NULL;
		unregister(t);
		t = next;
	}
}

void fb_wlock_init(struct fb_table *t)
{
	t->path = NULL;
	t->srcfd = -1;
	t->regfd = -1;
	t->token = 0;
	t->reg_state = 0;
	t->reg_next = NULL;
}

void fb_wlock_fini(struct fb_table *t)
{
	list_lock();
	for (struct fb_table **p = &registered; *p; p = &(*p)->reg_next)
		if (*p == t) {
			*p = t->reg_next;
			break;
		}
	list_unlock();
	unregister(t);
	free(t->path);
	t->path = NULL;
}

int fb_table_set_path(struct fb_table *t, const char *path)
{
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	free(t->path);
	t->path = p;
	return 0;
}

int fb_table_lock_fd(struct fb_table *t)
{
	return t ? LOAD(&t->regfd) : -1;
}

int fb_table_move_lock_fd(struct fb_table *t)
{
	int old = LOAD(&t->regfd);
	if (old < 0)
		return 0;
	int fd = fcntl(old, F_DUPFD_CLOEXEC, LOCK_FD_MIN);
	if (fd < 0)
		return -errno;
	/* Published before the old number closes: a waiter checking liveness
	 * through the old number sees the change and does not trust its answer. */
	STORE(&t->regfd, fd);
	close(old);
	return 0;
}

/*
 * open(2) of PATH for reading, also by a program that has used up its
 * descriptors before its first write (real root's chown needs none):
 * then on one descriptor above its soft limit, where the hard limit
 * allows, which is put back at once.
 */
static int open_past_limit(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct rlimit rl;
	if (fd >= 0 || errno != EMFILE || getrlimit(RLIMIT_NOFILE, &rl) < 0 ||
	    rl.rlim_cur >= rl.rlim_max)
		return fd;
	const rlim_t cur = rl.rlim_cur;
	rl.rlim_cur = cur + 1;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		errno = EMFILE;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	int e = errno;
	rl.rlim_cur = cur;
	setrlimit(RLIMIT_NOFILE, &rl);
	errno = e;
	return fd;
}

/*
 * Open the mapped file again, a description of our own, out of the way:
 * by its path, else (the path is not there: a chroot that does not show
 * the session's directory) through the descriptor it was mapped from,
 * when the program still has it and /proc is mounted.
 */
static int open_own(struct fb_table *t)
{
	/* Links are followed (fakebuild --root names the table /proc/self/fd/N):
	 * what counts is that the file opened is the one mapped, checked below. */
	int fd = t->path ? open_past_limit(t->path) : -1;
	if (fd < 0 && t->srcfd >= 0) {
		char self[40];
		snprintf(self, sizeof self, "/proc/self/fd/%d", t->srcfd);
		fd = open_past_limit(self);
	}
	if (fd < 0)
		return t->path || t->srcfd >= 0 ? -errno : -ENOENT;
	struct stat st;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != t->dev || (uint64_t)st.st_ino != t->ino) {
		close(fd);
		return -ESTALE;
	}
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, LOCK_FD_MIN);
	if (hi >= 0) {
		close(fd);
		fd = hi;
	}
	return fd;
}

/* Register with FD, a description of this process's own on the mapped
 * file (consumed). */
static int register_fd(struct fb_table *t, int fd)
{
	static int atfork;
	int rc = -EAGAIN;
	for (int i = 0; i < 64; i++) {
		uint32_t tok = __atomic_add_fetch(&t->h->last_token, 1, __ATOMIC_RELAXED) & FB_LOCK_OWNER;
		if (!tok)
			continue;
		struct flock fl = {
			.l_type = F_RDLCK, .l_whence = SEEK_SET,
			.l_start = FB_LOCK_LIVE_BASE + tok, .l_len = 1,
		};
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
			t->token = tok;
			rc = 0;
			break;
		}
		rc = -errno;
		if (errno != EAGAIN && errno != EACCES)
			break;	/* held: a token still in use after the counter wrapped */
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	if (!__atomic_exchange_n(&atfork, 1, __ATOMIC_ACQ_REL))
		pthread_atfork(NULL, NULL, forked_child);
	STORE(&t->regfd, fd);
	list_lock();
	t->reg_next = registered;
	registered = t;
	list_unlock();
	return 0;
}

static int register_once(struct fb_table *t)
{
	int fd = open_own(t);
	return fd < 0 ? fd : register_fd(t, fd);
}

void fb_wlock_adopt(struct fb_table *t, int fd)
{
	int own = fcntl(fd, F_DUPFD_CLOEXEC, LOCK_FD_MIN);
	if (own < 0)
		own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	int st = 0;
	if (own < 0 || !__atomic_compare_exchange_n(&t->reg_state, &st, 1, 0, __ATOMIC_ACQUIRE,
						   __ATOMIC_ACQUIRE)) {
		if (own >= 0)
			close(own);
		return;
	}
	STORE(&t->reg_state, register_fd(t, own) == 0 ? 2 : 0);
}

/* Register this process for T's lock, once (threads wait for each other). */
static int ensure_registered(struct fb_table *t)
{
	for (;;) {
		int st = 0;
		if (__atomic_compare_exchange_n(&t->reg_state, &st, 1, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_ACQUIRE))
			break;
		if (st == 2)
			return 0;
		sched_yield();	/* another thread registers */
	}
	int rc = register_once(t);
	STORE(&t->reg_state, rc == 0 ? 2 : 0);
	return rc;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static long futex(uint32_t *w, int op, uint32_t v, const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, v, ts, NULL, 0);
}

/*
 * Is the owner of TOKEN gone?  Only a clear answer counts: an error, or
 * our own descriptor moved meanwhile (its number may name another file
 * now), means "alive, ask again later".
 */
static int owner_dead(struct fb_table *t, uint32_t token)
{
	int fd = LOAD(&t->regfd);
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET,
		.l_start = FB_LOCK_LIVE_BASE + token, .l_len = 1,
	};
	if (fd < 0 || fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return 0;
	return fl.l_type == F_UNLCK && LOAD(&t->regfd) == fd;
}

/*
 * Does a process other than this one hold a writer registration of T (one
 * of a session whose fakebuild was killed, still running)?  Asked through
 * our own registration's description when we have one, whose locks do not
 * conflict with themselves; else through a new one.  0 when it cannot tell.
 */
int fb_table_other_writers(struct fb_table *t)
{
	int fd = LOAD(&t->regfd), own = 0;
	if (fd < 0) {
		fd = t->path ? open(t->path, O_RDONLY | O_CLOEXEC) : -1;
		if (fd < 0)
			return 0;
		own = 1;
	}
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET,
		.l_start = FB_LOCK_LIVE_BASE, .l_len = (off_t)1 << 33,	/* every token */
	};
	int r = fcntl(fd, F_OFD_GETLK, &fl);
	if (own)
		close(fd);
	return r == 0 && fl.l_type != F_UNLCK;
}

/* The lock is taken by someone else: wait for it, or take it from the dead. */
static void contended(struct fb_table *t, uint32_t me, int *recovered)
{
	uint32_t *w = &t->h->lock;
	const struct timespec check = { 0, CHECK_MS * 1000000L };
	int spins = 0, timed_out = 0;
	for (;;) {
		uint32_t v = LOAD(w);
		if (v == 0) {
			/* With the waiters bit: others may still sleep on the word. */
			if (__atomic_compare_exchange_n(w, &v, me | FB_LOCK_WAITERS, 0,
							__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
				return;
			continue;
		}
		if (spins < SPINS && !(v & FB_LOCK_WAITERS)) {
			spins++;
			cpu_relax();
			continue;
		}
		if (timed_out && (v & FB_LOCK_OWNER) != me && owner_dead(t, v & FB_LOCK_OWNER)) {
			if (__atomic_compare_exchange_n(w, &v, me | FB_LOCK_WAITERS, 0,
							__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
				*recovered = 1;
				return;
			}
			continue;
		}
		timed_out = 0;
		if (!(v & FB_LOCK_WAITERS)) {
			uint32_t nv = v | FB_LOCK_WAITERS;
			if (!__atomic_compare_exchange_n(w, &v, nv, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				continue;
			v = nv;
		}
		if (futex(w, FUTEX_WAIT, v, &check) < 0 && errno == ETIMEDOUT)
			timed_out = 1;
	}
}

/* FAKEBUILD_TEST_STOP_LOCKED=N: the process stops (SIGSTOP) holding the
 * lock the Nth time it takes it (a forked child counts from 0 again), for
 * tests that kill a holder (tests/e2e/t_multilib.sh). */
static void test_hook(void)
{
	static int stop_at = -1;
	int at = __atomic_load_n(&stop_at, __ATOMIC_RELAXED);
	if (at < 0) {
		const char *e = getenv("FAKEBUILD_TEST_STOP_LOCKED");
		at = e ? atoi(e) : 0;
		__atomic_store_n(&stop_at, at, __ATOMIC_RELAXED);
	}
	if (at > 0 && __atomic_add_fetch(&nlocks, 1, __ATOMIC_RELAXED) == (unsigned)at)
		raise(SIGSTOP);
}

int fb_wlock(struct fb_table *t, int try, int *recovered)
{
	*recovered = 0;
	if (taking == t)
		return try ? -EBUSY : -EDEADLK;
	if (LOAD(&t->reg_state) != 2) {
		if (try)
			return -EBUSY;	/* the stat path registers nothing */
		taking = t;
		int rc = ensure_registered(t);
		if (rc < 0) {
			taking = NULL;
			return rc;
		}
	}
	taking = t;
	const uint32_t me = t->token;
	uint32_t v = 0;
	if (!__atomic_compare_exchange_n(&t->h->lock, &v, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		if (try) {
			taking = NULL;
			return -EBUSY;
		}
		contended(t, me, recovered);
	}
	test_hook();
	return 0;
}

void fb_wunlock(struct fb_table *t)
{
	uint32_t v = __atomic_exchange_n(&t->h->lock, 0, __ATOMIC_RELEASE);
	/* Cleared after the release, never before: a handler running in
	 * between would otherwise wait for a lock this thread holds. */
	taking = NULL;
	if (v & FB_LOCK_WAITERS)
		futex(&t->h->lock, FUTEX_WAKE, 1, NULL);
}
