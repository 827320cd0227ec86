# glibc's tree walkers and directory entries (issue 14, parts 2 and 3):
# nftw and ftw (and their *64 forms) stat entries inside glibc; readdir's
# d_type says what the disk holds, a regular file, for a device made by
# mknod.  Both must agree with stat inside a session.

# walk MODE FLAGS ROOT: MODE nftw nftw64 ftw ftw64 fts fts64 (fts: PHYS
# is FTS_PHYSICAL, else FTS_LOGICAL; no postorder lines); FLAGS a comma list of
# PHYS MOUNT DEPTH CHDIR ACTIONRETVAL JUNK (an unknown bit), or "-".  One
# line per callback: path uid:gid mode rdev (as stat -c '%n %u:%g %f
# %t,%T' prints them) and the type flag; then "ret N".  Environment:
# WALK_FDS descriptors (default 4); WALK_STOP, WALK_SKIP_SUBTREE,
# WALK_SKIP_SIBLINGS a base name to return that for; WALK_CHANGE: for each
# FTW_F entry, chown it to 9:9 and its directory to 7:7.
walk_src() {
	cat > walk.c <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#ifdef OLD_NFTW	/* reference the version of nftw before glibc 2.3.3 */
__asm__(".symver nftw, nftw@" OLD_NFTW);
__asm__(".symver nftw64, nftw64@" OLD_NFTW);
#endif
static int chdir_mode, change;
static const char *stop, *skip_subtree, *skip_siblings;
static const char *tname(int f)
{
	switch (f) {
	case FTW_F: return "F"; case FTW_D: return "D"; case FTW_DNR: return "DNR";
	case FTW_DP: return "DP"; case FTW_NS: return "NS"; case FTW_SL: return "SL";
	case FTW_SLN: return "SLN";
	}
	return "?";
}
#define SHOW(p, st, f) printf("%s %u:%u %x %x,%x %s\n", p, (unsigned)(st)->st_uid, \
	(unsigned)(st)->st_gid, (unsigned)(st)->st_mode, major((st)->st_rdev), \
	minor((st)->st_rdev), tname(f))
static int act(const char *p, int f, const struct FTW *w)
{
	const char *base = p + w->base;
	if (change && f == FTW_F) {
		char dir[4096] = ".";
		if (!chdir_mode && w->base > 0)
			snprintf(dir, sizeof dir, "%.*s", w->base - 1, p);
		if (chown(chdir_mode ? base : p, 9, 9) || chown(dir, 7, 7))
			perror("chown");
	}
	if (stop && !strcmp(base, stop)) return FTW_STOP;
	if (skip_subtree && !strcmp(base, skip_subtree)) return FTW_SKIP_SUBTREE;
	if (skip_siblings && !strcmp(base, skip_siblings)) return FTW_SKIP_SIBLINGS;
	return 0;
}
static int cb(const char *p, const struct stat *st, int f, struct FTW *w)
{
	if (f == FTW_NS) printf("%s NS\n", p); else SHOW(p, st, f);
	return act(p, f, w);
}
static int cb64(const char *p, const struct stat64 *st, int f, struct FTW *w)
{
	if (f == FTW_NS) printf("%s NS\n", p); else SHOW(p, st, f);
	return act(p, f, w);
}
/* ftw's FTW_NS here is a dangling symlink, with its lstat. */
static int fcb(const char *p, const struct stat *st, int f) { SHOW(p, st, f); return 0; }
static int fcb64(const char *p, const struct stat64 *st, int f) { SHOW(p, st, f); return 0; }
#define FTS_WALK(FTS_T, FTSENT_T, open_fn, read_fn, close_fn) do {			\
	char *roots[] = { (char *)root, NULL };						\
	FTS_T *t = open_fn(roots, (flags & FTW_PHYS ? FTS_PHYSICAL : FTS_LOGICAL) |	\
			   FTS_NOCHDIR, NULL);						\
	FTSENT_T *e;									\
	if (!t) break;									\
	while ((e = read_fn(t))) {							\
		if (e->fts_info == FTS_DP) continue;					\
		if (e->fts_info == FTS_NS || e->fts_info == FTS_DNR || e->fts_info == FTS_ERR) \
			printf("%s NS\n", e->fts_path);					\
		else									\
			SHOW(e->fts_path, e->fts_statp, e->fts_info == FTS_D ? FTW_D : FTW_F); \
	}										\
	r = close_fn(t);								\
} while (0)
int main(int argc, char **argv)
{
	if (argc != 4) return 2;
	const char *m = argv[1], *fl = argv[2], *root = argv[3];
	int flags = 0, nd = getenv("WALK_FDS") ? atoi(getenv("WALK_FDS")) : 4, r = -2;
	if (strstr(fl, "PHYS")) flags |= FTW_PHYS;
	if (strstr(fl, "MOUNT")) flags |= FTW_MOUNT;
	if (strstr(fl, "DEPTH")) flags |= FTW_DEPTH;
	if (strstr(fl, "CHDIR")) flags |= FTW_CHDIR;
	if (strstr(fl, "ACTIONRETVAL")) flags |= FTW_ACTIONRETVAL;
	if (strstr(fl, "JUNK")) flags |= 0x4000;
	chdir_mode = !!(flags & FTW_CHDIR);
	change = getenv("WALK_CHANGE") != NULL;
	stop = getenv("WALK_STOP");
	skip_subtree = getenv("WALK_SKIP_SUBTREE");
	skip_siblings = getenv("WALK_SKIP_SIBLINGS");
	if (!strcmp(m, "nftw")) r = nftw(root, cb, nd, flags);
	else if (!strcmp(m, "nftw64")) r = nftw64(root, cb64, nd, flags);
	else if (!strcmp(m, "ftw")) r = ftw(root, fcb, nd);
	else if (!strcmp(m, "ftw64")) r = ftw64(root, fcb64, nd);
	else if (!strcmp(m, "fts")) FTS_WALK(FTS, FTSENT, fts_open, fts_read, fts_close);
	else if (!strcmp(m, "fts64")) FTS_WALK(FTS64, FTSENT64, fts64_open, fts64_read, fts64_close);
	printf("ret %d%s%s\n", r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
	return 0;
}
C
}

# Can 32-bit programs take part here: a 32-bit library, toolchain, a way
# to run them (R32: runner32), and a live table the two ABIs share (a
# 32-bit chown seen by a 64-bit stat)?  0, or 1 with the reason in $NO32.
have_32bit() {
	NO32=
	if [ ! -f "$B/lib32/libfakebuild.so" ]; then
		NO32="32-bit library not built"
	elif ! printf '#include <unistd.h>\nint main(int c, char **v) { (void)c; return chown(v[1], 11, 12) != 0; }\n' |
		cc -m32 -x c -o chown32 - 2>/dev/null; then
		NO32="no 32-bit toolchain"
	elif runner32 ./chown32 /nonexistent-but-runs; then
		: >probe32
		fb $R32 ./chown32 probe32
		[ "$(fb stat -c %u:%g probe32)" = 11:12 ] ||
			NO32="32-bit processes do not share the live table (issue 14, part 1)"
	fi
	[ -z "$NO32" ]
}

# Under qemu-user a 32-bit program is a 64-bit process to the kernel, and
# ext4 then gives it directory offsets that glibc's 32-bit readdir and fts
# cannot return (EOVERFLOW: they list nothing, with or without fakebuild;
# a native 32-bit process gets 32-bit offsets).  The walks of such
# programs run in a directory on a tmpfs, removed when the test ends.
walk_dir_for_32bit() {
	[ "$R32" = qemu-i386-static ] || return 0
	[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] ||
		skip "32-bit programs run only under qemu-i386-static here, and /dev/shm is no tmpfs for its walks"
	local d
	d=$(mktemp -d /dev/shm/fbwalk.XXXXXX)
	# shellcheck disable=SC2064
	trap "rm -rf '$d'" EXIT
	cd "$d"
}

# Build the walker as ./walk (and ./walk32 where 32-bit programs work).
build_walk() {
	walk_src
	cc -o walk walk.c
	W32=
	if have_32bit && cc -m32 -o walk32 walk.c; then
		W32="$R32 $PWD/walk32"
	fi
}

# A tree with every kind of entry, recorded in the session: a file with
# setuid and a faked owner, devices, a FIFO, a symlink and a dangling one
# with their own owners, a directory whose mode denies its owner writing,
# a file with no record.
make_tree() {
	fb sh -c 'mkdir -p t/a t/ro; echo x >t/a/x; : >t/n; ln -s a/x t/l; ln -s nowhere t/dl
		mkfifo t/p; mknod t/c c 1 3; mknod t/b b 8 0
		chown -R 5:6 t/a; chmod 4755 t/a/x; chown 7:8 t/c; chown -h 3:4 t/l t/dl
		chmod 0555 t/ro'
}

# What stat(1) says in the session of every entry under ROOT, as walk
# prints it; with FOLLOW, symlinks followed (a dangling one: its lstat).
oracle() {
	local root=$1 follow=$2
	fb sh -c 'find "$1" | while read -r p; do
		if [ "$2" = 1 ]; then stat -L -c "%n %u:%g %f %t,%T" "$p" 2>/dev/null ||
			stat -c "%n %u:%g %f %t,%T" "$p"
		else stat -c "%n %u:%g %f %t,%T" "$p"; fi
	done' sh "$root" "$follow" | sort
}

# Walk output without type flags and the ret line, sorted.
attrs() { grep -v '^ret ' | awk '{print $1, $2, $3, $4}' | sort; }

# Every callback of every form and flag sees what stat sees.
check_walker() {
	local w=$1 mode flags phys
	local want_l want_p
	want_l=$(oracle t 1)
	want_p=$(oracle t 0)
	for mode in nftw nftw64; do
		for flags in - PHYS DEPTH CHDIR MOUNT ACTIONRETVAL PHYS,CHDIR,DEPTH; do
			case $flags in *PHYS*) phys=1 ;; *) phys=0 ;; esac
			out=$(fb $w $mode $flags t)
			assert_match 'ret 0$' "$out" "$w $mode $flags"
			if [ $phys = 1 ]; then
				assert_eq "$want_p" "$(attrs <<<"$out")" "$w $mode $flags"
			else
				assert_eq "$want_l" "$(attrs <<<"$out")" "$w $mode $flags"
			fi
			# glibc reads the rest of a directory ahead when it runs out
			# of descriptors, and stats by name: the same answers.
			out=$(WALK_FDS=1 fb $w $mode $flags t)
			[ $phys = 1 ] && want=$want_p || want=$want_l
			assert_eq "$want" "$(attrs <<<"$out")" "$w $mode $flags, one descriptor"
		done
	done
	for mode in ftw ftw64; do
		out=$(fb $w $mode - t)
		assert_eq "$want_l" "$(attrs <<<"$out")" "$w $mode"
	done
	for mode in fts fts64; do
		assert_eq "$want_p" "$(fb $w $mode PHYS t | attrs)" "$w $mode PHYS"
		assert_eq "$want_l" "$(fb $w $mode - t | attrs)" "$w $mode"
	done
	# The device is FTW_F (nftw has no flag for devices), faked as a device.
	assert_match $'\nt/c 7:8 21a4 1,3 F\n' "$(fb $w nftw PHYS t)" "$w: the device's callback"
	assert_match $'\nt/dl 3:4 a1ff 0,0 SLN\n' "$(fb $w nftw - t)" "$w: dangling symlink"
}

test_nftw_and_ftw_agree_with_stat() {
	build_walk
	make_tree
	check_walker ./walk
}

test_nftw_and_ftw_agree_with_stat_32bit() {
	build_walk
	[ -n "$W32" ] || skip "$NO32"
	walk_dir_for_32bit
	make_tree
	check_walker "$W32"
}

# 32-bit programs built with a 64-bit time_t call glibc's *_time64 walkers
# (Debian 12's i386 coreutils and find are built so): the same answers.
test_nftw_and_fts_agree_with_stat_32bit_time64() {
	build_walk
	[ -n "$W32" ] || skip "$NO32"
	cc -m32 -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -o walk32t64 walk.c || skip "no _TIME_BITS=64 build"
	local w="$R32 $PWD/walk32t64"
	walk_dir_for_32bit
	make_tree
	check_walker "$w"
}

# The walker re-stats entries that have a record by the name glibc passes,
# which FTW_CHDIR makes relative to the directory it moved into (and for
# FTW_DP, the directory itself): every such stat finds its file.
test_nftw_chdir_restats_by_the_right_name() {
	need strace
	build_walk
	make_tree
	fb chown -hR 1:1 t
	for root in t "$PWD/t/"; do
		for flags in CHDIR CHDIR,DEPTH CHDIR,PHYS,DEPTH; do
			for fds in 1 4; do
				WALK_FDS=$fds fb strace -qq -e trace=statx -o trace ./walk nftw $flags "$root" >out
				assert_match 'ret 0$' "$(cat out)" "$root $flags"
				n=$(grep -c 'statx(' trace || true)
				[ "$n" -gt 5 ] || { cat trace; fail "$flags: only $n statx calls: no re-stat?"; }
				if grep 'statx(' trace | grep -q '= -1'; then
					cat trace; fail "$root $flags, $fds descriptors: a re-stat missed its file"
				fi
			done
		done
	done
}

# A callback that changes entries sees its changes on later callbacks: a
# second name of a chowned file, and a directory reported after its
# contents (FTW_DEPTH: glibc stat'ed it before walking them).
test_nftw_callback_sees_its_own_changes() {
	build_walk
	mkdir -p t/a t/b
	: >t/a/x
	ln t/a/x t/b/h
	for w in ./walk ${W32:+"$W32"}; do
		for mode in nftw nftw64; do
			for flags in DEPTH CHDIR,DEPTH PHYS,DEPTH; do
				fb chown -R 5:6 t
				out=$(WALK_CHANGE=1 fb $w $mode $flags t)
				# The two names of the file: the first seen as it was, the
				# second as the first callback left it.
				assert_eq "5:6 9:9" "$(grep -E '^t/(a/x|b/h) ' <<<"$out" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')" \
					"$w $mode $flags: hard links"
				assert_match $'\nt/a 7:7 [0-9a-f]+ 0,0 DP\n' "$out" "$w $mode $flags: t/a after its file"
				assert_match $'\nt/b 7:7 [0-9a-f]+ 0,0 DP\n' "$out" "$w $mode $flags: t/b after its file"
				assert_match $'\nt 5:6 [0-9a-f]+ 0,0 DP\n' "$out" "$w $mode $flags: t"
			done
		done
	done
}

# Which callback a trampoline call belongs to: walks nested in a
# callback, a callback that longjmps out of an inner walk back into the
# outer one (which then goes on, with its own callback), and threads
# walking at once.
test_nftw_nested_longjmp_and_threads() {
	cat > nest.c <<'C'
#define _GNU_SOURCE
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
static jmp_buf jb;
static int inner(const char *p, const struct stat *st, int f, struct FTW *w)
{
	(void)f; (void)w;
	printf("inner %s %u\n", p, (unsigned)st->st_uid);
	if (strstr(p, "/x"))
		longjmp(jb, 1);
	return 0;
}
static int outer(const char *p, const struct stat *st, int f, struct FTW *w)
{
	printf("outer %s %u\n", p, (unsigned)st->st_uid);
	if (f == FTW_D && w->level == 1) {
		if (!setjmp(jb))
			nftw(p, inner, 4, FTW_PHYS);
		else
			printf("jumped out of %s\n", p);
	}
	return 0;
}
static __thread unsigned seen;
static int count(const char *p, const struct stat *st, int f, struct FTW *w)
{
	(void)p; (void)f; (void)w;
	seen += st->st_uid == 5;
	return 0;
}
static void *thread(void *arg)
{
	unsigned bad = 0;
	for (int i = 0; i < 200; i++) {
		seen = 0;
		nftw(arg, count, 4, FTW_PHYS);
		bad += seen != 5;
	}
	return (void *)(size_t)bad;
}
int main(int argc, char **argv)
{
	if (argc != 2) return 2;
	nftw(argv[1], outer, 4, FTW_PHYS);
	pthread_t t[4];
	for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread, argv[1]);
	size_t bad = 0;
	for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); bad += (size_t)r; }
	printf("threads: %zu bad walks\n", bad);
	return 0;
}
C
	cc -pthread -o nest nest.c
	mkdir -p t/a t/b
	: >t/a/x
	: >t/b/y
	fb chown -R 5:6 t
	out=$(fb ./nest t)
	for d in a b; do
		f=x
		[ $d = b ] && f=y
		assert_match $'(^|\n)outer t/'$d$' 5\ninner t/'$d$' 5\ninner t/'$d/$f$' 5\n' "$out" "inner walk of t/$d"
		assert_match $'\nouter t/'$d/$f$' 5\n' "$out" "outer walk goes on in t/$d"
	done
	# After the longjmp, t/a's own entries go to the outer callback.
	assert_match $'\njumped out of t/a\nouter t/a/x 5\n' "$out"
	assert_match $'\nthreads: 0 bad walks$' "$out"
}

# FTW_ACTIONRETVAL's answers still steer the walk, which still sees
# faked owners.
test_nftw_actionretval_skips_and_stops() {
	build_walk
	make_tree
	out=$(WALK_SKIP_SUBTREE=a fb ./walk nftw ACTIONRETVAL t)
	assert_match $'(^|\n)t/a 5:6 41ed 0,0 D\n' "$out" "skipped directory reported"
	[[ $out != *t/a/x* ]] || fail "FTW_SKIP_SUBTREE: t/a/x visited: $out"
	assert_match 'ret 0$' "$out"
	out=$(WALK_STOP=a fb ./walk nftw64 ACTIONRETVAL,PHYS t)
	assert_match $'t/a 5:6 41ed 0,0 D\nret 1$' "$out" "FTW_STOP ends the walk there"
	# FTW_SKIP_SIBLINGS from the first entry of t: nothing else of t.
	first=$(fb ./walk nftw PHYS t | sed -n 2p | awk '{print $1}')
	out=$(WALK_SKIP_SIBLINGS=${first#t/} fb ./walk nftw ACTIONRETVAL,PHYS t)
	assert_eq 2 "$(grep -vc '^ret' <<<"$out")" "entries after FTW_SKIP_SIBLINGS: $out"
	assert_match $'^t 0:0 41ed 0,0 D\n'"$first"' ' "$out" "t, then its first entry"
	assert_eq "$(oracle "$first" 0)" "$(sed -n 2p <<<"$out" | attrs)" "the first entry, faked"
}

# fts's own type of an entry (fts_info) agrees with the faked stat: a
# device made in a session is FTS_DEFAULT, as a real one is, not FTS_F.
test_fts_info_of_a_faked_device() {
	cat > info.c <<'EOF'
#include <fts.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	char *a[] = { argv[1], NULL };
	FTS *f = fts_open(a, FTS_PHYSICAL, NULL);
	FTSENT *e;
	while (argc > 1 && (e = fts_read(f)))
		if (e->fts_info == FTS_F || e->fts_info == FTS_DEFAULT)
			printf("%s %s\n", e->fts_path, e->fts_info == FTS_F ? "F" : "DEFAULT");
	return fts_close(f);
}
EOF
	cc -o info info.c
	assert_eq "d/c DEFAULT
d/f F
d/p DEFAULT" "$(fb sh -c 'mkdir d && mknod d/c c 1 3 && : > d/f && mkfifo d/p && ./info d' | sort)"
}

# Under FTS_NOSTAT glibc leaves fts_statp as malloc left it: the wrapper
# must not read or write through it (it crashed there; MALLOC_PERTURB_
# makes that garbage a bad pointer every time).
test_fts_nostat_entries_are_left_alone() {
	cat > nostat.c <<'EOF'
#include <fts.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	char *a[] = { argv[1], NULL };
	int opt = FTS_PHYSICAL | FTS_NOSTAT | (argc > 2 ? FTS_NOCHDIR : 0);
	for (int round = 0; round < 3; round++) {
		FTS *f = fts_open(a, opt, NULL);
		FTSENT *e, *c;
		while ((e = fts_read(f))) {
			if (round == 0)
				printf("%s %s\n", e->fts_path, e->fts_info == FTS_NSOK ? "NSOK" :
				       e->fts_info == FTS_D ? "D" : e->fts_info == FTS_DP ? "DP" : "other");
			if (e->fts_info == FTS_D)
				for (c = fts_children(f, 0); c; c = c->fts_link)
					if (round == 0)
						printf("child %s\n", c->fts_name);
		}
		fts_close(f);
	}
	return 0;
}
EOF
	cc -o nostat nostat.c
	mkdir -p d/a/b
	: >d/a/f1
	: >d/a/b/g
	want=$(MALLOC_PERTURB_=85 ./nostat d | sort)
	assert_match 'd/a/f1 NSOK' "$want" "the walk outside a session"
	assert_eq "$want" "$(MALLOC_PERTURB_=85 fb ./nostat d | sort)"
	assert_eq "$(MALLOC_PERTURB_=85 ./nostat d nochdir | sort)" \
		"$(MALLOC_PERTURB_=85 fb ./nostat d nochdir | sort)" "FTS_NOCHDIR"
}

# FTW_MOUNT: entries on another file system are not reported, the others
# are faked.  The mount needs a user namespace.
test_nftw_mount_stays_on_one_file_system() {
	build_walk
	mkdir -p t/m
	: >t/x
	unshare -U -r -m true 2>/dev/null || skip "no unprivileged user namespaces"
	out=$(unshare -U -r -m sh -c 'mount -t tmpfs none t/m && : >t/m/in &&
		"$1" sh -c "chown -R 5:6 t; ./walk nftw MOUNT,PHYS t; ./walk nftw64 PHYS t"' sh "$FAKEBUILD")
	assert_eq "t/x 5:6 t/x 5:6" "$(grep '^t/x ' <<<"$out" | awk '{printf "%s %s ", $1, $2}' | sed 's/ $//')"
	assert_eq 1 "$(grep -c '^t/m/in 5:6' <<<"$out")" "t/m/in: only without FTW_MOUNT"
}

# A program linked against the nftw before glibc 2.3.3 reaches a wrapper
# that, like that nftw, ignores unknown flags; today's refuses them.
test_nftw_old_version_ignores_unknown_flags() {
	[ "$(uname -m)" = x86_64 ] || skip "the old version's name is x86's"
	walk_src
	make_tree
	cc -o walk walk.c
	cc -DOLD_NFTW='"GLIBC_2.2.5"' -o walk-old walk.c
	objdump -T walk-old | grep -q 'GLIBC_2.2.5.*nftw$' || fail "walk-old lacks nftw@GLIBC_2.2.5"
	objdump -T walk | grep -q 'GLIBC_2.3.3.*nftw$' || fail "walk lacks nftw@GLIBC_2.3.3"
	assert_match 'ret -1 Invalid argument$' "$(fb ./walk nftw JUNK t)" "today's nftw, unknown flag"
	want=$(oracle t 0)
	for w in ./walk-old; do
		for mode in nftw nftw64; do
			out=$(fb $w $mode PHYS,JUNK t)
			assert_match 'ret 0$' "$out" "$w $mode: old nftw ignores the unknown flag"
			assert_eq "$want" "$(attrs <<<"$out")" "$w $mode: old nftw faked"
		done
	done
	have_32bit || return 0
	cc -m32 -DOLD_NFTW='"GLIBC_2.1"' -o walk32-old walk.c
	objdump -T walk32-old | grep -q 'GLIBC_2.1.*nftw$' || fail "walk32-old lacks nftw@GLIBC_2.1"
	for mode in nftw nftw64; do
		out=$(fb $R32 ./walk32-old $mode PHYS,JUNK t)
		assert_match 'ret 0$' "$out" "32-bit old $mode ignores the unknown flag"
		assert_eq "$want" "$(attrs <<<"$out")" "32-bit old $mode faked"
	done
}

# types MODE DIR: the d_type of every entry of DIR, sorted, through
# readdir readdir64 readdir_r readdir64_r getdents64 getdirentries
# getdirentries64 sys_getdents64 sys_getdents scandir scandir64 scandirat
# (for scandir*, the filter's
# view first, "filter NAME TYPE", then the list's).
types_src() {
	cat > types.c <<'C'
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static const char *tn(unsigned t)
{
	switch (t) {
	case DT_REG: return "reg"; case DT_CHR: return "chr"; case DT_BLK: return "blk";
	case DT_FIFO: return "fifo"; case DT_SOCK: return "sock"; case DT_DIR: return "dir";
	case DT_LNK: return "lnk";
	}
	return "unknown";
}
static void show(const char *pfx, const char *name, unsigned t)
{
	if (name[0] != '.') printf("%s%s %s\n", pfx, name, tn(t));
}
static int filt(const struct dirent *e) { show("filter ", e->d_name, e->d_type); return 1; }
static int filt64(const struct dirent64 *e) { show("filter ", e->d_name, e->d_type); return 1; }
struct old_dirent { unsigned long d_ino, d_off; unsigned short d_reclen; char d_name[]; };
int main(int argc, char **argv)
{
	if (argc != 3) return 2;
	const char *m = argv[1], *dir = argv[2];
	if (!strncmp(m, "readdir", 7)) {
		DIR *d = opendir(dir);
		if (!d) { perror(dir); return 1; }
		if (!strcmp(m, "readdir")) {
			struct dirent *e;
			while ((e = readdir(d))) show("", e->d_name, e->d_type);
		} else if (!strcmp(m, "readdir64")) {
			struct dirent64 *e;
			while ((e = readdir64(d))) show("", e->d_name, e->d_type);
		} else if (!strcmp(m, "readdir_r")) {
			struct dirent buf, *e;
			while (!readdir_r(d, &buf, &e) && e) show("", e->d_name, e->d_type);
		} else if (!strcmp(m, "readdir64_r")) {
			struct dirent64 buf, *e;
			while (!readdir64_r(d, &buf, &e) && e) show("", e->d_name, e->d_type);
		}
		closedir(d);
		return 0;
	}
	if (!strncmp(m, "scandir", 7)) {
		int n;
		if (!strcmp(m, "scandir64")) {
			struct dirent64 **l;
			n = scandir64(dir, &l, filt64, alphasort64);
			for (int i = 0; i < n; i++) { show("", l[i]->d_name, l[i]->d_type); free(l[i]); }
			free(l);
		} else {
			struct dirent **l;
			n = !strcmp(m, "scandirat") ? scandirat(AT_FDCWD, dir, &l, NULL, alphasort)
						    : scandir(dir, &l, filt, alphasort);
			for (int i = 0; i < n; i++) { show("", l[i]->d_name, l[i]->d_type); free(l[i]); }
			free(l);
		}
		return n < 0;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) { perror(dir); return 1; }
	char buf[4096] __attribute__((aligned(8)));
	long n;
	for (;;) {
		int old = 0, glibc = 0;
		off_t base;
		off64_t base64;
		if (!strcmp(m, "getdents64")) n = getdents64(fd, buf, sizeof buf);
		else if (!strcmp(m, "getdirentries")) { n = getdirentries(fd, buf, sizeof buf, &base); glibc = 1; }
		else if (!strcmp(m, "getdirentries64")) n = getdirentries64(fd, buf, sizeof buf, &base64);
		else if (!strcmp(m, "sys_getdents64")) n = syscall(SYS_getdents64, fd, buf, sizeof buf);
#ifdef SYS_getdents
		else if (!strcmp(m, "sys_getdents")) { n = syscall(SYS_getdents, fd, buf, sizeof buf); old = 1; }
#endif
		else return 2;
		if (n <= 0) break;
		for (long off = 0; off < n;) {
			if (old) {
				struct old_dirent *e = (void *)(buf + off);
				show("", e->d_name, (unsigned char)buf[off + e->d_reclen - 1]);
				off += e->d_reclen;
			} else if (glibc) {
				struct dirent *e = (void *)(buf + off);
				show("", e->d_name, e->d_type);
				off += e->d_reclen;
			} else {
				struct dirent64 *e = (void *)(buf + off);
				show("", e->d_name, e->d_type);
				off += e->d_reclen;
			}
		}
	}
	close(fd);
	return n < 0;
}
C
}

# Devices made in the session among entries of every other type.
make_dd() {
	fb sh -c 'mkdir dd dd/sub; mknod dd/c c 1 3; mknod dd/b b 8 0; : >dd/f; mkfifo dd/p
		ln -s f dd/l; chown 5:6 dd/c'
}

DD_TYPES='b blk
c chr
f reg
l lnk
p fifo
sub dir'

check_types() {
	local t=$1 mode
	for mode in readdir readdir64 readdir_r readdir64_r getdents64 getdirentries getdirentries64 \
		sys_getdents64 sys_getdents scandirat; do
		out=$(fb $t $mode dd | sort)
		assert_eq "$DD_TYPES" "$out" "$t $mode"
	done
	for mode in scandir scandir64; do
		out=$(fb $t $mode dd)
		assert_eq "$DD_TYPES" "$(grep -v ^filter <<<"$out" | sort)" "$t $mode: the list"
		assert_eq "$DD_TYPES" "$(grep ^filter <<<"$out" | sed 's/^filter //' | sort)" \
			"$t $mode: the filter"
	done
}

test_dirent_types_agree_with_stat() {
	types_src
	cc -Wno-deprecated-declarations -o types types.c
	make_dd
	check_types ./types
	# Outside a session, the disk's answer.
	assert_match $'c reg' "$(./types readdir dd | sort)" "outside a session"
}

test_dirent_types_agree_with_stat_32bit() {
	have_32bit || skip "$NO32"
	types_src
	cc -m32 -Wno-deprecated-declarations -o types32 types.c
	local t="$R32 $PWD/types32"
	walk_dir_for_32bit
	make_dd
	check_types "$t"
}

# Programs that trust d_type: GNU find's -type, Python's os.scandir,
# ls --color.
test_find_type_agrees_with_stat() {
	make_dd
	assert_eq dd/c "$(fb find dd -type c)" "find -type c"
	assert_eq dd/b "$(fb find dd -type b)" "find -type b"
	assert_eq dd/p "$(fb find dd -type p)" "find -type p"
	assert_eq dd/f "$(fb find dd -type f)" "find -type f"
	assert_eq "dd/b dd/c dd/f" "$(fb find dd -type f,c,b | sort | tr '\n' ' ' | sed 's/ $//')" "find -type f,c,b"
	# A device chowned afterwards: still one, with its owner.
	assert_eq "dd/c 5" "$(fb find dd -type c -printf '%p %U\n')"
}

test_python_scandir_agrees_with_stat() {
	need python3
	make_dd
	out=$(fb python3 -c '
import os, stat
for e in sorted(os.scandir("dd"), key=lambda e: e.name):
    print(e.name, e.is_file(), stat.S_ISREG(e.stat().st_mode))')
	assert_eq "b False False
c False False
f True True
l True True
p False False
sub False False" "$out"
}

# In a build root's overlay (a directory or archive base, --upper,
# --overlay) a record is keyed by the layer's device, not overlayfs's own:
# readdir's d_type and nftw's callbacks looked records up by the overlay's
# and found none (find -type c found nothing; nftw showed 0:0 and the
# disk's modes), where stat and fts were right.
test_walk_and_types_in_a_build_root_overlay() {
	need unshare
	unshare -U -r -m true 2>/dev/null || skip "user namespaces are refused to this user here"
	build_walk
	mkdir src
	out=$(fb --root / --overlay "$PWD/src:/ovl" --bind "$PWD" -- sh -c '
		cd /ovl && mkdir dd && mknod dd/c c 1 4 && mknod dd/b b 8 0 && : > dd/f &&
			chown 5:6 dd/f && chmod 4711 dd/f && chown 7:8 dd/c
		find dd -type c; find dd -type b; find dd -type f
		"$1/walk" nftw PHYS dd | sort' sh "$PWD")
	assert_eq "dd/c
dd/b
dd/f
dd 0:0 41ed 0,0 D
dd/b 0:0 61a4 8,0 F
dd/c 7:8 21a4 1,4 F
dd/f 5:6 89c9 0,0 F
ret 0" "$out"
}

test_ls_color_shows_devices() {
	make_dd
	# Devices coloured as devices (cd, bd).  With no colour for executable,
	# setuid, setgid or capable files, ls stats no regular file (d_type
	# says enough).
	out=$(LS_COLORS='rs=0:ex=00:su=00:sg=00:ca=00:cd=01;33:bd=01;34:pi=33' fb ls --color=always dd | cat -v)
	assert_match 'b' "$out"
	grep -q '01;34mb' <<<"$out" || fail "block device not coloured as one: $out"
	grep -q '01;33mc' <<<"$out" || fail "character device not coloured as one: $out"
}

# A record may give a regular file any type (a database edited, or loaded
# from elsewhere): d_type says what stat says, a FIFO or a socket too.
test_dirent_types_follow_records_loaded_from_the_database() {
	need python3
	mkdir d
	: >d/q
	: >d/s
	: >d/r
	fb chown 1:2 d/q d/s
	python3 "$TOP/tests/e2e/fbdb.py" "$FAKEBUILD_DB" set-mode "$(stat -c %i d/q)" 0o10644
	python3 "$TOP/tests/e2e/fbdb.py" "$FAKEBUILD_DB" set-mode "$(stat -c %i d/s)" 0o140644
	assert_eq "fifo socket regular empty file" "$(fb stat -c %F d/q d/s d/r | tr '\n' ' ' | sed 's/ $//')" "stat"
	assert_eq d/q "$(fb find d -type p)" "find -type p"
	assert_eq d/s "$(fb find d -type s)" "find -type s"
	assert_eq d/r "$(fb find d -type f)" "find -type f"
}

# The cost: once the table fakes types, a directory costs one fstat, not
# one per entry; entries that are not regular files cost no lookup.
test_readdir_one_fstat_per_directory() {
	need strace
	mkdir big
	for i in $(seq 1 300); do : >big/f$i; done
	fb mknod big/c c 1 3
	fb strace -qq -e trace=statx,newfstatat,fstat,fstatat64,fstat64,stat64,lstat64 -o trace \
		find big -type c >out
	assert_eq big/c "$(cat out)"
	n=$(grep -c '' trace || true)
	[ "$n" -lt 30 ] || { head -40 trace; fail "find over 301 entries made $n stat calls"; }
}
