# fakebuild compatibility (issue 8): static programs, raw system calls,
# cleared environments and closed descriptors, fakeroot's interface,
# dpkg-buildpackage -rfakebuild, setuid programs inside a session.

# A statically linked program: built here, or the test is skipped.
static_prog() {
	need cc
	printf 'int main(void){return 0;}\n' > st.c
	cc -static -o st st.c 2>/dev/null || skip "cc -static does not work (libc6-dev's libc.a?)"
}

test_static_program_warned_once_per_session() {
	static_prog
	fb sh -c './st; ./st; sh -c ./st' 2> err
	assert_eq 1 "$(grep -c 'statically linked' err)" "warnings"
	assert_contains err "fakebuild: warning: $PWD/st is statically linked; its file operations are not faked"
	# A new session warns again.
	fb ./st 2>/dev/null; fb sh -c './st' 2> err2
	assert_eq 1 "$(grep -c 'statically linked' err2)" "warnings in a second session"
}

test_static_program_quiet() {
	static_prog
	FAKEBUILD_QUIET=1 fb sh -c './st; ./st' 2> err
	[ ! -s err ] || { cat err >&2; fail "FAKEBUILD_QUIET=1 did not silence the warning"; }
}

test_static_through_path_and_spawn() {
	static_prog
	need python3
	mkdir bin; mv st bin/
	PATH=$PWD/bin:$PATH fb python3 -c '
import os
os.posix_spawnp("st", ["st"], os.environ)
os.wait()' 2> err
	assert_contains err "$PWD/bin/st is statically linked"
}

# Go's runtime makes its system calls itself, dynamically linked or not:
# a program with Go's build ID note (here a C program carrying one, as Go's
# linker writes it) is warned about once, as a static one is, also as the
# session's first command.  Before, a dynamic Go program got no warning.
test_go_program_warned() {
	need cc
	cat > go.c <<'EOF'
__asm__(".section .note.go.buildid,\"a\",@note\n.p2align 2\n"
	".long 4\n.long 8\n.long 4\n.asciz \"Go\"\n.p2align 2\n.ascii \"buildid!\"\n.text\n");
int main(void) { return 0; }
EOF
	cc -o gop go.c || fail "cannot build the test program"
	fb sh -c './gop; ./gop' 2> err
	assert_eq 1 "$(grep -c 'Go program' err)" "warnings"
	assert_contains err "fakebuild: warning: $PWD/gop is a Go program, which makes its system calls without the C library; its file operations are not faked"
	fb ./gop 2> err
	assert_contains err "$PWD/gop is a Go program"
}

test_dynamic_programs_and_scripts_not_warned() {
	printf '#!/bin/sh\ntrue\n' > s; chmod +x s
	fb sh -c './s; true; ldd /bin/true >/dev/null; env true' 2> err
	[ ! -s err ] || { cat err >&2; fail "warned about a dynamic program or script"; }
}

test_env_i_keeps_fake_root() {
	touch f
	out=$(fb env -i PATH=/usr/bin:/bin sh -c 'id -u; chown 7:8 f; stat -c %u:%g f')
	assert_eq "0
7:8" "$out"
	assert_eq 7:8 "$(fb stat -c %u:%g f)" "recorded in the session"
}

test_env_without_ld_preload_keeps_fake_root() {
	out=$(fb sh -c 'env -u LD_PRELOAD id -u; LD_PRELOAD= id -u; env LD_PRELOAD=/nonexistent-lib.so id -u 2>/dev/null')
	assert_eq "0
0
0" "$out"
}

test_setuid_ids_survive_env_i() {
	need python3
	out=$(fb python3 -c '
import os
os.setgid(50); os.setuid(1000)
os.execve("/usr/bin/id", ["id", "-u"], {"PATH": "/usr/bin:/bin"})')
	assert_eq 1000 "$out"
}

test_closed_descriptors_keep_session() {
	need python3
	touch a b c d
	out=$(fb python3 -c '
import os
os.chown("a", 1, 1)
os.closerange(3, 65536)
os.chown("b", 2, 2)
for fd in range(3, 1024):
    try: os.dup2(1, fd)
    except OSError: pass
os.chown("c", 3, 3)
os.system("stat -c %u a b c")')
	assert_eq "1
2
3" "$out"
	# close_range(2) and closefrom(3) through libc
	out=$(fb python3 -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.close_range(3, 0xFFFFFFFF, 0)
os.chown("d", 4, 4)
libc.closefrom(3)
os.system("stat -c %u d; id -u")')
	assert_eq "4
0" "$out"
	assert_eq "1 2 3 4" "$(fb stat -c %u a b c d | tr '\n' ' ' | sed 's/ $//')"
}

test_shell_closing_every_fd() {
	touch f
	out=$(fb bash -c 'for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; chown 9 f; stat -c %u f')
	assert_eq 9 "$out"
}

# A small C program making raw system calls, compiled here.
syscall_prog() {
	need cc
	cat > sc.c <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
int main(void)
{
	struct stat st;
	struct statx sx;
	uid_t r, e, s;
	printf("ids %ld %ld %ld %ld\n", syscall(SYS_getuid), syscall(SYS_geteuid),
	       syscall(SYS_getgid), syscall(SYS_getegid));
	syscall(SYS_getresuid, &r, &e, &s);
	printf("resuid %u %u %u\n", r, e, s);
	if (syscall(SYS_fchownat, AT_FDCWD, "f", 5, 6, 0) < 0) perror("fchownat");
	if (syscall(SYS_chown, "g", 7, 8) < 0) perror("chown");
	if (syscall(SYS_fchmodat, AT_FDCWD, "f", 04755) < 0) perror("fchmodat");
	if (syscall(SYS_mknodat, AT_FDCWD, "n", S_IFCHR | 0600, makedev(5, 1)) < 0) perror("mknodat");
	syscall(SYS_newfstatat, AT_FDCWD, "f", &st, 0);
	printf("newfstatat %u %u %o\n", st.st_uid, st.st_gid, st.st_mode & 07777);
	syscall(SYS_stat, "g", &st);
	printf("stat %u %u\n", st.st_uid, st.st_gid);
	syscall(SYS_statx, AT_FDCWD, "n", 0, STATX_BASIC_STATS, &sx);
	printf("statx %s %u,%u\n", S_ISCHR(sx.stx_mode) ? "chr" : "other", sx.stx_rdev_major, sx.stx_rdev_minor);
	long rc = syscall(SYS_fchmodat2, AT_FDCWD, "g", 02711, 0);
	printf("fchmodat2 %ld\n", rc);
	/* On an O_PATH descriptor, which fchmod(2) refuses but the kernel takes here. */
	int pfd = open("h", O_PATH);
	printf("fchmodat2 O_PATH %ld\n", syscall(SYS_fchmodat2, pfd, "", 04640, AT_EMPTY_PATH));
	/* A bad descriptor, after enough chmods by name that the library
	 * remembers the last stat: EBADF, where it crashed (EFAULT before). */
	for (int i = 0; i < 100; i++)
		chmod("h", 04640);
	stat("h", &st);
	errno = 0;
	int fr = fchmod(-1, 0700), bad = errno == EBADF;
	printf("fchmod -1 %d %d\n", fr, bad);
	errno = 0;
	rc = syscall(SYS_fchmodat2, -1, "", 0700, AT_EMPTY_PATH), bad = errno == EBADF;
	printf("fchmodat2 -1 %ld %d\n", rc, bad);
	printf("pid ok %d\n", syscall(SYS_getpid) == getpid());
	if (syscall(SYS_setuid, 1000) < 0) perror("setuid");
	printf("after setuid %ld\n", syscall(SYS_getuid));
	return 0;
}
EOF
	cc -o sc sc.c || skip "cannot compile the test program"
}

test_raw_syscalls_are_faked() {
	syscall_prog
	touch f g h
	out=$(fb ./sc)
	assert_eq "ids 0 0 0 0
resuid 0 0 0
newfstatat 5 6 4755
stat 7 8
statx chr 5,1
fchmodat2 0
fchmodat2 O_PATH 0
fchmod -1 -1 1
fchmodat2 -1 -1 1
pid ok 1
after setuid 1000" "$out"
	assert_eq "5:6 4755
7:8 2711
0:0 4640" "$(fb stat -c '%u:%g %a' f g h)"
	[ ! -u f ] || fail "real file got setuid"
}

# Work queued on an io_uring reaches the kernel past the library: Node.js
# (libuv) asked for a ring through syscall(2), and its asynchronous
# writeFile of mode 0444, then a rewrite of it, failed with EACCES where
# root succeeds (helper 72).  A session has no ring to give; outside one,
# the same program gets one (else the test proves nothing here).
test_io_uring_setup_through_syscall_is_refused() {
	need cc
	cat > ur.c <<'EOF'
#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	long fd = syscall(SYS_io_uring_setup, 4, &p);
	printf("%s\n", fd >= 0 ? "ring" : strerror(errno));
	return 0;
}
EOF
	cc -o ur ur.c
	[ "$(./ur)" = ring ] || skip "no io_uring for this user here: $(./ur)"
	assert_eq "$(perl -MPOSIX -e 'print strerror(ENOSYS)')" "$(fb ./ur)"
}

# execve through syscall(2) with an empty environment ran the program
# outside the session (its chown failed with EPERM); a raw truncate kept a
# faked capability.  Both go through the library's own functions now.
test_raw_execve_and_truncate_are_faked() {
	need cc setcap getcap
	cat > ex.c <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	if (!strcmp(argv[1], "truncate")) {
		int fd = open(argv[2], O_WRONLY);
		if (syscall(SYS_truncate, argv[2], 0L) != 0 || syscall(SYS_ftruncate, fd, 0L) != 0) {
			perror("truncate");
			return 1;
		}
		return 0;
	}
	char *args[] = { "chown", "5:6", argv[2], NULL }, *env[] = { NULL };
	syscall(SYS_execve, "/bin/chown", args, env);
	perror("execve");
	return 1;
}
EOF
	cc -o ex ex.c
	cp /bin/true t; cp /bin/true u
	fb sh -c 'setcap cap_net_raw+ep t; ./ex truncate t' || fail "raw truncate failed"
	[ -z "$(fb getcap t)" ] || fail "a raw truncate kept the capability: $(fb getcap t)"
	fb ./ex exec u || fail "the exec'd chown failed"
	assert_eq "5:6" "$(fb stat -c '%u:%g' u)"
}

test_raw_syscalls_python_ctypes() {
	need python3
	touch f
	out=$(fb python3 -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
SYS_fchownat, SYS_getuid, SYS_fchmodat2 = 260, 102, 452
assert os.uname().machine == "x86_64"
print(libc.syscall(SYS_getuid))
print(libc.syscall(SYS_fchownat, -100, b"f", 3, 4, 0))
print(libc.syscall(SYS_fchmodat2, -100, b"f", 0o1750, 0))
st = os.stat("f"); print(st.st_uid, st.st_gid, oct(st.st_mode & 0o7777))')
	assert_eq "0
0
0
3 4 0o1750" "$out"
}

# ---- fakeroot's interface ---------------------------------------------

test_fakeroot_save_and_load() {
	touch f
	fb -s saved.db sh -c 'chown 3:4 f; chmod 4711 f'
	[ -s saved.db ] || fail "-s wrote nothing"
	# A fresh database sees nothing until -i loads the saved state.
	assert_eq "0:0" "$(fb -d other.db stat -c %u:%g f)"
	assert_eq "3:4 4711" "$(fb -d third.db -i saved.db stat -c '%u:%g %a' f)"
	# -i then -s round trip: a change made in the loaded session is saved too.
	fb -d fourth.db -i saved.db -s saved2.db chown 5 f
	assert_eq "5:4" "$(fb -d fifth.db -i saved2.db stat -c %u:%g f)"
	# -s saves a copy, also: the session's own database keeps the change,
	# and another session's on the same database too (before, -s marked
	# the table saved and the session's end dropped both).
	touch g h
	fb -d own.db -s copy.db chown 7:8 g
	assert_eq "7:8" "$(fb -d own.db stat -c %u:%g g)" "the session's own database after -s"
	fb -d own.db sh -c 'chown 11:11 h; sleep 1' &
	sleep 0.3
	fb -d own.db -s copy2.db chown 22:22 g
	wait
	assert_eq "22:22 11:11" "$(fb -d own.db stat -c %u:%g g h | tr '\n' ' ' | sed 's/ $//')" \
		"both sessions' changes after one of them used -s"
	# -i of a file not there yet (a script's first run of -i F -s F) is
	# named, and the command runs, as under fakeroot; before, nothing was said.
	fb -d first.db -i state.db -s state.db chown 9 f 2>err || fail "-i of a missing file"
	assert_contains err "state.db: -i: no such file; nothing loaded"
	assert_eq "9:0" "$(fb -d sixth.db -i state.db stat -c %u:%g f)" "-s after a missing -i"
}

# A state file Debian's fakeroot saved with -s (text, one line per inode)
# is loaded by -i, so that a script's "-i state -s state" goes on when
# fakebuild replaces fakeroot; the next -s writes a fakebuild database.
# Before, -i refused it as "not a gdbm database".
test_fakeroot_save_file_loaded() {
	touch f n
	local d i j
	d=$(stat -c %D f); i=$(stat -c %i f); j=$(stat -c %i n)
	printf 'dev=%s,ino=%s,mode=104755,uid=1,gid=2,nlink=1,rdev=0\ndev=%s,ino=%s,mode=20640,uid=0,gid=5,nlink=1,rdev=1029\n' \
		"$d" "$i" "$d" "$j" > fr.save
	assert_eq "-rwsr-xr-x 1 2 crw-r----- 0 5 4,5" \
		"$(fb -d a.db -i fr.save -s fr.save sh -c "stat -c '%A %u %g' f; stat -c '%A %u %g %t,%T' n" | tr '\n' ' ' | sed 's/ $//')" \
		"the records of fakeroot's save file"
	file fr.save 2>/dev/null | grep -q "dbm" || [ "$(head -c 4 fr.save)" != "dev=" ] ||
		fail "-s did not write a fakebuild database over the save file"
	assert_eq "crw-r----- 0 5 4,5" "$(fb -d b.db -i fr.save stat -c '%A %u %g %t,%T' n)" "loaded again"
	# A bad line: named, nothing loaded, the command not run.
	printf 'dev=%s,ino=%s,mode=100644,uid=3,gid=3,nlink=1,rdev=0\ndev=zz,ino=1\n' "$d" "$i" > bad.save
	local rc=0
	fb -d c.db -i bad.save touch ran 2> err || rc=$?
	assert_eq 1 "$rc" "exit status of a bad save file"
	assert_contains err "bad.save:2: not a line of a fakeroot save file"
	[ ! -e ran ] || fail "the command ran after a bad save file"
	assert_eq "0 0" "$(fb -d c.db stat -c '%u %g' f)" "a record from a rejected file"
	# What fakeroot -s saves of a session that faked nothing: empty.
	: > empty.save
	assert_status 0 fb -d e.db -i empty.save -s empty.save true
	# Neither form (pseudo's SQLite files.db, say): -i names both.
	printf 'SQLite format 3\000' > files.db
	assert_status 1 fb -d e.db -i files.db true 2>err
	assert_contains err "files.db: -i: neither a fakebuild database nor a save of fakeroot -s"
}

test_fakeroot_options_accepted() {
	touch f; chmod 640 f
	assert_eq "$(id -u)" "$(fb -u stat -c %u f)" "-u"
	assert_eq 0 "$(fb -f /usr/bin/faked -- id -u)" "-f and --"
	# fakeroot's -b (its daemon's descriptor base) and the long forms of
	# -f and -b: refused as invalid options before.
	assert_eq 0 "$(fb -b 3 --faked /usr/bin/faked --fd-base=4 -- id -u)" "-b, --faked and --fd-base"
	assert_eq 0 "$(fb -l "$B/lib/libfakebuild.so" id -u)" "-l"
	# A file that is no shared library: the loader would ignore it and
	# every command run unfaked (before: exit 0, the loader's complaint).
	assert_status 1 fb -l /etc/passwd true 2> err
	assert_eq "fakebuild: /etc/passwd: not a shared library (no ELF header of one)" "$(cat err)"
	# fakeroot's own library, as its callers (its test suite) name it beside
	# -f: not preloaded in place of fakebuild's (before: nothing was faked)
	assert_eq "3,1 0" "$(fb -f /usr/bin/faked-sysv -l /usr/lib/x86_64-linux-gnu/libfakeroot/libfakeroot-sysv.so \
		-- sh -c 'mknod n b 3 1 && stat -c "%t,%T %u" n')" "fakeroot's -l and -f"
	fb -h | grep -q '^usage: fakebuild' || fail "-h"
	fb -v | grep -q '^fakebuild ' || fail "-v"
}

test_fakerootkey_set() {
	out=$(fb sh -c 'echo "$FAKEROOTKEY"; env -i /bin/sh -c "echo \$FAKEROOTKEY"')
	key=$(sed -n 1p <<<"$out")
	[ -n "$key" ] || fail "FAKEROOTKEY unset"
	assert_eq "$key" "$(sed -n 2p <<<"$out")" "FAKEROOTKEY after env -i"
}

test_nested_fakebuild_joins_outer() {
	touch f g
	out=$(fb sh -c 'chown 1:2 f; "$0" sh -c "stat -c %u:%g f; chown 3:4 g; echo \$FAKEBUILD_TABLE"; stat -c %u:%g g; echo $FAKEBUILD_TABLE' "$FAKEBUILD")
	l1=$(sed -n 1p <<<"$out"); t1=$(sed -n 2p <<<"$out"); l3=$(sed -n 3p <<<"$out"); t2=$(sed -n 4p <<<"$out")
	assert_eq 1:2 "$l1" "outer chown seen inside"
	assert_eq 3:4 "$l3" "inner chown seen outside"
	assert_eq "$t2" "$t1" "same live table"
	assert_eq "1:2 3:4" "$(fb stat -c %u:%g f g | tr '\n' ' ' | sed 's/ $//')" "persisted"
}

# A FAKEBUILD_TABLE left from an ended session (a tmux or screen started
# inside one) is no session to join: a new one starts, with a warning
# (before: the command ran unfaked, silently, exit 0).
test_stale_session_table_starts_a_new_session() {
	touch f
	t=$(fb printenv FAKEBUILD_TABLE)
	[ ! -e "$t" ] || fail "the ended session's table $t is still there"
	for v in "$t" /etc/passwd garbage; do
		assert_eq "0 5:6" "$(FAKEBUILD_TABLE=$v fb sh -c 'id -u; chown 5:6 f; stat -c %u:%g f' 2>err | paste -sd' ')" \
			"FAKEBUILD_TABLE=$v"
		assert_contains err "warning: FAKEBUILD_TABLE=$v is no session's table any more (it ended); starting a new session"
		fb chown 0:0 f
	done
}

# A process that gave up root runs `fakebuild CMD` as a user runs
# fakeroot: CMD is fake root again (ids, groups, capabilities), in the same
# session; the caller keeps its own ids.  sbuild's build user does this
# with dpkg-buildpackage -rfakeroot.
test_nested_fakebuild_from_a_user_is_root_again() {
	touch f
	out=$(fb sh -c 'setpriv --reuid=1000 --regid=1000 --groups=100 sh -c "
		\"\$0\" sh -c \"id -u; id -g; id -G; chown 5:6 f && chmod 4711 f && stat -c %u:%g:%a f\"
		id -u; id -G; chown 7:7 f 2>/dev/null || echo refused" "$1"' sh "$FAKEBUILD")
	assert_eq "0 0 0 5:6:4711 1000 1000 100 refused" "$(echo $out)" "nested from uid 1000, then the caller"
	assert_eq 5:6:4711 "$(fb stat -c %u:%g:%a f)" "persisted"
	# capsh --print's Current: line is the fake capability state.
	if command -v capsh >/dev/null; then
		out=$(fb setpriv --reuid=1000 --regid=1000 --clear-groups "$FAKEBUILD" capsh --print)
		grep -q "^Current: =ep" <<<"$out" || fail "capabilities of the nested command: $out"
	fi
}

# FAKEROOTKEY is for fake root: a process that gave up root has none of
# the session's, so fakeroot runs for it as for a user (sbuild's build
# user runs fakeroot itself: init-system-helpers' tests; before, fakeroot
# said "nested operation not yet supported"), with fakeroot's own key
# left alone inside it; a nested fakebuild, root again, has the key back.
test_fakeroot_runs_for_a_user_in_a_session() {
	need fakeroot
	out=$(fb sh -c 'setpriv --reuid=1000 --regid=1000 --clear-groups sh -c "
		echo \${FAKEROOTKEY:-none}; touch g
		fakeroot sh -c \"chown 3:4 g && stat -c %u:%g g && id -u\"
		stat -c %u:%g g
		\"\$0\" sh -c \"test -n \\\"\\\$FAKEROOTKEY\\\" && echo key\"" "$1"' sh "$FAKEBUILD")
	assert_eq "none 3:4 0 1000:1000 key" "$(echo $out)"
}

# ---- dpkg-buildpackage -rfakebuild ------------------------------------

# Build examples/debpkg with ROOTCMD; print "mode owner/group path" of the .deb.
build_deb() {
	rm -rf "pkg-$1" && cp -r "$TOP/examples/debpkg" "pkg-$1"
	(cd "pkg-$1" && PATH=$PWD/../wrap:$PATH dpkg-buildpackage -r"$1" -b -us -uc >../build-$1.log 2>&1) ||
		{ tail -n 30 "build-$1.log" >&2; fail "dpkg-buildpackage -r$1 failed"; }
	dpkg-deb -c fbdemo_*_*.deb | awk '{print $1, $2, $6}' | sort -k3
	rm -f fbdemo_*.deb fbdemo_*.buildinfo fbdemo_*.changes
}

test_dpkg_buildpackage_rfakebuild() {
	need dpkg-buildpackage dh dpkg-deb make cc
	mkdir wrap; ln -s "$FAKEBUILD" wrap/fakebuild
	fb_list=$(build_deb fakebuild)
	grep -q '^-rwsr-xr-x root/root ./usr/bin/fbdemo$' <<<"$fb_list" ||
		{ echo "$fb_list" >&2; fail "setuid root binary not in the package"; }
	grep -q '^-rw-r----- root/adm ./etc/fbdemo.conf$' <<<"$fb_list" ||
		{ echo "$fb_list" >&2; fail "root:adm file not in the package"; }
	command -v fakeroot >/dev/null || return 0
	fr_list=$(build_deb fakeroot)
	assert_eq "$fr_list" "$fb_list" "the package built with fakeroot"
}

# ---- setuid programs ---------------------------------------------------

# setpriv drops the uid first and sets the gid with the CAP_SETGID it
# kept (PR_SET_KEEPCAPS and capset): the library follows capabilities,
# not only uid 0, as the kernel does.
test_setpriv_drops_to_another_user() {
	need setpriv
	out=$(fb setpriv --reuid=1000 --regid=1001 --clear-groups sh -c 'id -u; id -g; id -G')
	assert_eq "1000
1001
1001" "$out"
	assert_eq "1000 1000" "$(fb setpriv --reuid=1000 --regid=1000 --init-groups sh -c 'echo $(id -u) $(id -g)')"
}

# Ids and capabilities of a root process dropping them in the orders real
# programs use, seen by capget, and of the program it starts: the same
# in a session as under real root.
roottest_capabilities_follow_id_changes_like_the_kernel() {
	need cc
	cc -o caps "$TOP/tests/e2e/fixtures/caps/caps.c" 2>cc.err || skip "cannot compile: $(head -1 cc.err)"
	mkdir -p fake && chown 65534:65534 fake
	for s in keep nokeep seteuid gidfirst; do
		./caps $s > real.$s || fail "caps $s as root"
		setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD/fake" \
			FAKEBUILD_DB="$PWD/fake/fb.db" "$FAKEBUILD" -- ./caps $s > fake.$s 2>&1 ||
			{ cat fake.$s >&2; fail "caps $s in a session"; }
		diff real.$s fake.$s >&2 || fail "scenario $s: the session differs from real root"
	done
}

test_session_survives_setuid_programs() {
	touch f
	out=$(fb sh -c '
		for p in passwd su newgrp chfn mount; do
			command -v $p >/dev/null || continue
			case $p in
			su) su -c true root </dev/null >/dev/null 2>&1 ;;
			mount) mount >/dev/null 2>&1 ;;
			*) $p --help </dev/null >/dev/null 2>&1 ;;
			esac
			echo "ran $p"
			break
		done
		chown 6:7 f; stat -c %u:%g f; id -u')
	grep -q '^ran ' <<<"$out" || skip "no setuid program (passwd, su, ...) installed"
	assert_eq "6:7
0" "$(sed 1d <<<"$out")"
	assert_eq 6:7 "$(fb stat -c %u:%g f)" "persisted"
}

# Every exec entry point, each with the session removed from the child's
# environment (an empty envp, or clearenv() first): `id -u` must say 0.
test_every_exec_entry_point_keeps_session() {
	need cc
	cat > ex.c <<'XEOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv)
{
	(void)argc;
	const char *how = argv[1];
	char *av[] = { "id", "-u", NULL };
	char *noenv[] = { NULL };
	char *pathenv[] = { "PATH=/usr/bin:/bin", NULL };
	pid_t pid;
	if (!strcmp(how, "posix_spawn") || !strcmp(how, "posix_spawnp")) {
		int rc = how[11] ? posix_spawnp(&pid, "id", NULL, NULL, av, pathenv)
				 : posix_spawn(&pid, "/usr/bin/id", NULL, NULL, av, noenv);
		if (rc) { fprintf(stderr, "%s: %s\n", how, strerror(rc)); return 1; }
		waitpid(pid, NULL, 0);
		return 0;
	}
	if (strcmp(how, "execle") && strcmp(how, "execve") && strcmp(how, "execveat") &&
	    strcmp(how, "fexecve") && strcmp(how, "execvpe"))
		clearenv(), setenv("PATH", "/usr/bin:/bin", 1);
	if (!strcmp(how, "execve")) execve("/usr/bin/id", av, noenv);
	if (!strcmp(how, "execveat")) execveat(AT_FDCWD, "/usr/bin/id", av, noenv, 0);
	if (!strcmp(how, "fexecve")) fexecve(open("/usr/bin/id", O_RDONLY), av, noenv);
	if (!strcmp(how, "execvpe")) execvpe("id", av, pathenv);
	if (!strcmp(how, "execv")) execv("/usr/bin/id", av);
	if (!strcmp(how, "execvp")) execvp("id", av);
	if (!strcmp(how, "execl")) execl("/usr/bin/id", "id", "-u", (char *)NULL);
	if (!strcmp(how, "execlp")) execlp("id", "id", "-u", (char *)NULL);
	if (!strcmp(how, "execle")) execle("/usr/bin/id", "id", "-u", (char *)NULL, noenv);
	perror(how);
	return 1;
}
XEOF
	cc -o ex ex.c || skip "cannot compile the test program"
	for how in execve execveat fexecve execvpe execv execvp execl execlp execle posix_spawn posix_spawnp; do
		assert_eq 0 "$(fb ./ex $how)" "$how"
	done
}

# POSIX_SPAWN_RESETIDS: glibc's child sets its effective ids to its real
# ones with raw system calls before its exec, so the new program must get
# the real ids, as under root; without the flag, the effective ones.
test_posix_spawn_resetids() {
	need cc
	cat > rs.c <<'XEOF'
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv)
{
	char *u[] = { "id", "-u", NULL }, *g[] = { "id", "-g", NULL }, **av[] = { u, g };
	posix_spawnattr_t a;
	pid_t pid;
	if (setresgid(0, 2000, 0) || setresuid(0, 1000, 0)) { perror("setres*id"); return 1; }
	posix_spawnattr_init(&a);
	if (argc > 1)
		posix_spawnattr_setflags(&a, POSIX_SPAWN_RESETIDS);
	for (int i = 0; i < 2; i++) {
		int rc = posix_spawn(&pid, "/usr/bin/id", NULL, &a, av[i], environ);
		if (rc) { fprintf(stderr, "posix_spawn: %s\n", strerror(rc)); return 1; }
		waitpid(pid, NULL, 0);
	}
	printf("parent %d %d\n", (int)geteuid(), (int)getegid());
	return 0;
}
XEOF
	cc -o rs rs.c || skip "cannot compile the test program"
	assert_eq "1000 2000 parent 1000 2000" "$(fb ./rs | paste -sd' ')" "without RESETIDS"
	assert_eq "0 0 parent 1000 2000" "$(fb ./rs reset | paste -sd' ')" "with RESETIDS"
}

# posix_spawn's file actions are the C library's opens in the child:
# what they create gets the record open(2)'s would (mode 0 or a set-id
# bit kept out of the disk, the spawner's effective uid as owner) and a
# truncation drops a faked capability, as under root (checked there:
# f0 0 0:0, s 4755 0:0, w/o 644 1234:0, k without its capability).
test_posix_spawn_file_actions_create_like_open() {
	need cc setcap getcap
	cat > sp.c <<'XEOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
/* /bin/true spawned with one action: open PATH with FLAGS and MODE on fd 5. */
static int run(const char *path, int flags, mode_t mode)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char *av[] = { "true", NULL };
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 5, path, flags, mode);
	int rc = posix_spawn(&pid, "/bin/true", &fa, NULL, av, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) { fprintf(stderr, "posix_spawn %s: %s\n", path, strerror(rc)); return 1; }
	waitpid(pid, NULL, 0);
	return 0;
}
int main(void)
{
	umask(022);
	if (run("f0", O_WRONLY | O_CREAT, 0) || run("s", O_WRONLY | O_CREAT | O_EXCL, 04755) ||
	    run("k", O_WRONLY | O_TRUNC, 0))
		return 1;
	if (setresuid(0, 1234, 0)) { perror("setresuid"); return 1; }
	return run("w/o", O_WRONLY | O_CREAT, 0644);
}
XEOF
	cc -o sp sp.c || skip "cannot compile the test program"
	mkdir w
	cp /bin/true k
	fb sh -c 'setcap cap_net_raw+ep k && ./sp'
	assert_eq "f0 0 0:0|s 4755 0:0|w/o 644 1234:0|k 755 0:0" \
		"$(fb stat -c '%n %a %u:%g' f0 s w/o k | paste -sd'|')" "the next session"
	assert_eq "" "$(fb getcap k)" "k's capability after the truncation"
	assert_eq "600 755" "$(stat -c %a f0 s | paste -sd' ')" "on disk"
}

# A vfork child runs in its parent's memory until its exec: its id,
# group list and umask changes must not become the parent's, as they do
# not under root (the parent became uid 1000, and every later set*id call
# of it failed).  The child's exec gets the child's ids.
test_vfork_child_changes_stay_its_own() {
	need cc
	cat > vf.c <<'XEOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void)
{
	gid_t list[] = { 7, 8, 9 };
	uid_t r, e, s;
	umask(0222);
	fflush(stdout);
	pid_t pid = vfork();
	if (pid == 0) {
		umask(0);
		if (setgroups(3, list) || setresgid(0, 2000, 0) || setresuid(0, 1000, 0))
			_exit(9);
		execl("/usr/bin/id", "id", "-u", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	getresuid(&r, &e, &s);
	printf("child %d parent %d:%d:%d %d %d groups %d\n", WEXITSTATUS(st), (int)r, (int)e, (int)s,
	       (int)getegid(), setfsuid(-1), getgroups(0, NULL));
	/* Under the parent's umask: 0444 on disk, which root may write. */
	close(open("f", O_CREAT | O_WRONLY, 0644));
	printf("write %d\n", close(open("f", O_WRONLY)) == 0);
	fflush(stdout);
	if (setresuid(0, 0, 0) != 0)
		perror("setresuid");
	execl("/usr/bin/id", "id", "-u", (char *)NULL);
	return 1;
}
XEOF
	cc -o vf vf.c || skip "cannot compile the test program"
	want=$'1000\nchild 0 parent 0:0:0 0 0 groups 1\nwrite 1\n0'
	assert_eq "$want" "$(fb ./vf)"
	assert_eq "444 0:0" "$(fb stat -c '%a %u:%g' f)" "the parent's umask"
}

# A program may overwrite the strings the kernel gave it as its
# environment (perl's $0 and setproctitle() reuse that area for the
# process title): its later execs must still run, as fake root.  adduser
# sets $0 before it runs groupadd; every such exec crashed once.
test_exec_after_environment_area_is_overwritten() {
	need perl
	touch f
	out=$(fb perl -e '$0 = "x"; system("id", "-u"); print "$?\n";
		$0 = "y" x 4000; system("sh", "-c", "chown 5:6 f && stat -c %u:%g f"); print "$?\n"' 2>&1)
	assert_eq "0
0
5:6
0" "$out"
}

# bash has a getenv of its own, whose values are shell variables rather
# than parts of "NAME=value" strings: the exec check must not take one for
# the other (a version that did crashed bash's children).
test_exec_from_bash_keeps_session() {
	need bash
	touch f
	assert_eq "0
5:6" "$(fb bash -c 'id -u; chown 5:6 f; stat -c %u:%g f')"
}

# apt marks every descriptor above 2 close-on-exec before it runs dpkg:
# the table's descriptor (FAKEBUILD_TABLE_FD) still reaches the child,
# which then needs no path to the table (inside a chroot there is none).
test_table_descriptor_survives_close_on_exec() {
	need python3
	touch f
	cat > cloexec.py <<-'XEOF'
	import fcntl, os, sys
	for fd in range(3, 1024):
	    try:
	        fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)
	    except OSError:
	        pass
	os.environ["FAKEBUILD_TABLE"] = "/nonexistent/table"
	sys.stdout.flush()
	os.execvp(sys.argv[1], sys.argv[1:])
	XEOF
	out=$(fb python3 cloexec.py sh -c 'chown 5:6 f && stat -c %u:%g f' 2>&1)
	assert_eq "5:6" "$out"
	# A descriptor that is no longer the table is left alone.
	assert_status 1 fb sh -c 'exec 3</dev/null; FAKEBUILD_TABLE_FD=3:1:1 exec python3 cloexec.py chown 7:8 f' 2>/dev/null
	assert_eq "5:6" "$(fb stat -c %u:%g f)"
}

# chroot needs a root of the session's own (a user namespace): outside
# one the kernel refuses it, and the session says what to do instead
# (mmdebstrap --mode=root in a plain session fails there).  A chroot to
# the root the process has changes nothing and succeeds, as for root:
# `chroot --userspec=U:G / cmd` drops to a user (before, it was refused).
test_chroot_outside_a_build_root_says_why() {
	mkdir nr
	fb chroot nr /bin/true 2>err && fail "chroot succeeded without a user namespace"
	assert_contains err "fakebuild: chroot nr: not permitted: a session chroots only in a build root of its own (fakebuild --root /"
	assert_contains err "Operation not permitted"
	assert_eq "1:1" "$(fb chroot --userspec=1:1 / sh -c 'echo $(id -u):$(id -g)')"
	assert_eq "0" "$(fb chroot /. id -u)"
}
