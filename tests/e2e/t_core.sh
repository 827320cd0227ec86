# fakebuild core (issue 3): every point as an unprivileged user.

test_id_reports_root() {
	assert_eq 0 "$(fb id -u)" "id -u"
	assert_eq 0 "$(fb id -g)" "id -g"
	assert_eq "0 0" "$(fb sh -c 'echo $(id -ru) $(id -rg)')" "real ids"
}

test_no_command_runs_shell() {
	assert_eq 0 "$(echo 'id -u' | SHELL=/bin/sh fb)" "shell's id -u"
}

test_arguments_pass_through() {
	assert_eq "a b|-x|--y" "$(fb -- printf '%s|%s|%s' 'a b' -x --y)"
}

test_setuid_seen_by_process_and_children() {
	need python3
	out=$(fb python3 -c 'import os; os.setgid(50); os.setuid(1000); print(os.getuid(), os.geteuid(), os.getgid(), flush=True); os.system("id -u")')
	assert_eq "1000 1000 50
1000" "$out"
	# Without privilege, setuid(0) must now fail as the kernel would.
	out=$(fb python3 -c '
import os
os.setuid(1000)
try:
    os.setuid(0); print("gained")
except PermissionError: print("EPERM")')
	assert_eq EPERM "$out"
}

# A program the session made setuid root gives its children the effective
# uid its exec gave it, also when it never asks for its ids before it runs
# them (env, a wrapper): before, they got the caller's (id -u said 1000).
test_setuid_program_that_only_execs_passes_its_ids_on() {
	cp "$(command -v env)" suenv
	out=$(fb sh -c 'chown root:root suenv && chmod 4755 suenv &&
		setpriv --reuid=1000 --regid=1000 --clear-groups ./suenv id -u')
	assert_eq 0 "$out"
	# A program that cleared its environment first (env -i) passes on the
	# ids it was started with, and maps no table to find out (which said
	# "cannot map the live table (FAKEBUILD_TABLE unset)").
	out=$(fb sh -c 'env -i /bin/true; setpriv --reuid=1000 --regid=1000 --clear-groups env -i id -u' 2>&1)
	assert_eq 1000 "$out"
}

# A program that changes its ids and then clears its environment before it
# runs another (su -, runuser -l, login shells) keeps the ids it set: the
# session's variables are put back from what the process set, not from
# what it was started with.
test_ids_kept_through_a_cleared_environment() {
	need cc
	cat > su.c <<'EOF'
#include <grp.h>
#include <stdlib.h>
#include <unistd.h>
int main(void)
{
	gid_t g = 60;
	if (setgroups(1, &g) || setgid(50) || setuid(1000) || clearenv())
		return 1;
	execlp("id", "id", (char *)0);
	return 127;
}
EOF
	cc -o su su.c
	assert_eq "uid=1000 gid=50 groups=50,60" "$(fb ./su | sed 's/([^)]*)//g')"
	if command -v runuser >/dev/null; then
		assert_eq 1 "$(fb runuser -l daemon -s /bin/sh -c 'id -u')" "runuser -l"
	fi
}

# Supplementary groups: root's are (0); set more than a few (the library
# keeps 32 in place, more elsewhere) and the process and its children see
# them all, in order.
test_setgroups_seen_by_process_and_children() {
	need python3
	assert_eq 0 "$(fb id -G)" "default groups"
	out=$(fb python3 -c '
import os
g = list(range(100, 140))
os.setgroups(g)
print(os.getgroups() == g, os.popen("id -G").read().split() == [str(x) for x in [0] + g] or os.popen("id -G").read().strip())')
	assert_eq "True True" "$out"
	out=$(fb python3 -c '
import os
os.setgroups([7, 8]); print(os.getgroups())')
	assert_eq "[7, 8]" "$out"
}

# chmod -R stats every entry, then changes it by the same name: the change
# takes the inode from that stat (preload/memo.c) and makes no statx of its
# own.  One statx per entry, not two.
test_chmod_r_stats_each_entry_once() {
	need strace
	mkdir -p tree/a tree/b
	for i in $(seq 1 40); do : >tree/a/f$i; : >tree/b/g$i; done
	chmod -R g+w tree
	fb strace -f -qq -e trace=statx,newfstatat,fchmodat -o trace chmod -R go-w tree
	# Stats by name (not the loader's fstat of each library it maps).
	nstat=$(grep -E '(statx|newfstatat)\(' trace | grep -vc AT_EMPTY_PATH || true)
	nchmod=$(grep -c 'fchmodat(' trace || true)
	[ "$nchmod" -ge 80 ] || fail "chmod -R changed only $nchmod entries"
	[ "$nstat" -lt $((nchmod * 5 / 4)) ] || fail "$nstat stats for $nchmod chmods: one per entry expected"
	assert_eq "644 755" "$(fb stat -c %a tree/a/f7 tree/b | tr '\n' ' ' | sed 's/ $//')"
}

# What a stat said about a name is not used once the name may hold another
# inode: removed and made again, renamed over, or a symlink the stat
# followed and the change does not.
test_chmod_after_stat_of_replaced_name() {
	need python3
	fb python3 -c '
import os
for i in range(8):                      # a process that changes files in bulk
    open("s%d" % i, "w").close(); os.stat("s%d" % i); os.chmod("s%d" % i, 0o600)
open("x", "w").close(); os.stat("x"); os.unlink("x"); os.mkdir("x"); os.chmod("x", 0o2750)
open("y", "w").close(); open("z", "w").close()
os.stat("z"); os.rename("y", "z"); os.chmod("z", 0o4711)
open("tgt", "w").close(); os.symlink("tgt", "lnk"); os.stat("lnk"); os.lchown("lnk", 5, 6)
os.umask(0o022); open("w", "w").close()
os.stat("w"); os.chmod("w", 0o600); os.chmod("w", 0o644)   # the second must not trust the stat'
	assert_eq "2750 directory" "$(fb stat -c '%a %F' x)" "x made again"
	assert_eq "4711" "$(fb stat -c '%a' z)" "z renamed over"
	assert_eq "5:6 0:0" "$(fb stat -c '%u:%g' lnk tgt | tr '\n' ' ' | sed 's/ $//')" "lchown after stat"
	assert_eq "644" "$(stat -c %a w)" "w on disk after two chmods"
	assert_eq "750" "$(stat -c %a x | sed 's/^2//')" "x on disk"
}

# closedir closes its descriptor inside libc: the number, reused for the
# next directory, must not carry what a stat said of a name in the first.
test_chmod_after_stat_in_a_closed_directory() {
	mkdir A B; echo a >A/x; echo b >B/x; : >s
	cat >cd.c <<-'EOF'
	#include <dirent.h>
	#include <fcntl.h>
	#include <sys/stat.h>
	int main(void)
	{
		struct stat st;
		for (int i = 0; i < 8; i++)	/* a process that changes files in bulk */
			chmod("s", 0600 + i % 2);
		DIR *a = opendir("A");
		int fa = dirfd(a);
		fstatat(fa, "x", &st, 0);
		closedir(a);
		DIR *b = opendir("B");
		if (dirfd(b) != fa)
			return 3;	/* the number was not reused: nothing to test */
		return fchmodat(dirfd(b), "x", 04755, 0) == 0 && closedir(b) == 0 ? 0 : 1;
	}
	EOF
	cc -o cd cd.c || skip "cannot compile the test program"
	rc=0; fb ./cd || rc=$?
	[ $rc = 3 ] && skip "opendir did not reuse the descriptor"
	[ $rc = 0 ] || fail "the test program failed ($rc)"
	assert_eq "4755 644" "$(fb stat -c %a B/x A/x | tr '\n' ' ' | sed 's/ $//')"
}

# A descriptor opened with O_PATH is not one the kernel's fchown, fchmod
# or f*xattr take (EBADF), as under root; the file is reached through
# /proc/self/fd/N instead, and fstat takes the descriptor.
test_o_path_descriptor_refused_like_root() {
	need python3
	out=$(fb python3 -c '
import os
open("f", "w").close()
fd = os.open("f", os.O_PATH)
for name, fn in [("fchown", lambda: os.fchown(fd, 5, 5)), ("fchmod", lambda: os.fchmod(fd, 0o600)),
                 ("fsetxattr", lambda: os.setxattr(fd, "security.x", b"1")),
                 ("fgetxattr", lambda: os.getxattr(fd, "security.x"))]:
    try:
        fn(); print(name, "ok")
    except OSError as e:
        print(name, e.strerror)
print("fstat", os.fstat(fd).st_uid)
os.chown("/proc/self/fd/%d" % fd, 5, 6)
print("by path", os.fstat(fd).st_uid, os.fstat(fd).st_gid)')
	assert_eq "fchown Bad file descriptor
fchmod Bad file descriptor
fsetxattr Bad file descriptor
fgetxattr Bad file descriptor
fstat 0
by path 5 6" "$out"
}

test_chown_chmod_setuid() {
	out=$(fb sh -c 'touch f; chown root:bin f; chmod 4755 f; ls -ln f' | awk '{print $1, $3, $4}')
	assert_eq "-rwsr-xr-x 0 2" "$out"
}

test_chown_clears_setuid_like_root() {
	out=$(fb sh -c 'touch f; chmod 6755 f; chown 5:5 f; stat -c %a f')
	assert_eq 755 "$out"
}

# The kernel clears them at chown(f, -1, -1) too, as root (chown_common sets
# ATTR_KILL_SUID whatever the ids); a directory keeps them.
test_chown_to_minus_one_clears_setuid_like_root() {
	mkdir d
	out=$(fb sh -c 'touch f; chmod 6755 f d; python3 -c "import os; os.chown(\"f\", -1, -1); os.chown(\"d\", -1, -1)"; stat -c %a f d')
	assert_eq "755 6755" "$(echo $out)"
}

# The kernel's chown sets ctime, to the file's own ids and to -1, -1 too;
# gnulib's configure checks it with a chown to the file's own ids ("whether
# chown always updates ctime") and, told no, builds a chown of its own, so
# cpio's binary differed from a build outside the session.  Before: ctime
# never moved.  A chown that changes the record leaves ctime (fakebuild(7)).
test_chown_to_the_same_owner_sets_ctime_like_the_kernel() {
	touch f
	local out
	out=$(fb sh -c 'chown 3:4 f; a=$(stat -c %z f); sleep 0.1; chown 3:4 f; b=$(stat -c %z f); sleep 0.1
		perl -e "chown -1, -1, q(f)"; c=$(stat -c %z f); [ "$a" != "$b" ] && [ "$b" != "$c" ] && echo moved
		setpriv --reuid=3 --regid=4 --clear-groups sh -c "sleep 0.1; chown 3 f; [ \"\$(stat -c %z f)\" != \"$c\" ] && echo moved"')
	assert_eq "moved moved" "$(echo $out)"
}

test_chown_reference_h_chgrp_gs() {
	touch ref f; ln -s f link; mkdir d
	out=$(fb sh -c 'chown 7:8 ref; chown --reference=ref f; chown -h 9:9 link;
		chgrp 12 d; chmod g+s d; stat -c "%u:%g" f; stat -c "%u:%g" link; stat -L -c "%u:%g" link; stat -c "%g %A" d')
	assert_eq "7:8
9:9
7:8
12 drwxr-sr-x" "$out"
}

test_mknod_devices_and_fifo() {
	out=$(fb sh -c 'mknod n c 5 1; mknod b b 8 0; mkfifo p; stat -c "%F %t,%T" n b; stat -c %F p')
	assert_eq "character special file 5,1
block special file 8,0
fifo" "$out"
	[ -f n ] && [ ! -s n ] || fail "device node is not an empty regular file on disk"
	[ -p p ] || fail "fifo not real"
	# Written to, as a build may (echo > /dev/null): still no size, as a real node.
	assert_eq "0 0 0 0" "$(fb sh -c 'echo hi > n; echo hi > b; stat -c "%s %b" n b' | tr '\n' ' ' | sed 's/ $//')" \
		"size and blocks of written faked devices"
}

# truncate(2) and ftruncate(2) refuse a device node (EINVAL), as for real
# root; the placeholder, a regular file, must not be truncated instead.
test_truncate_of_a_faked_device_is_einval() {
	need python3
	out=$(fb python3 -c '
import os, errno
os.mknod("c", 0o644 | 0o020000, os.makedev(1, 3))
for how in ("path", "fd", "file"):
    try:
        if how == "path": os.truncate("c", 4)
        elif how == "fd": os.ftruncate(os.open("c", os.O_WRONLY), 4)
        else: open("f", "w").close(); os.truncate("f", 4)
        print(how, "ok")
    except OSError as e: print(how, errno.errorcode[e.errno])
')
	assert_eq "path EINVAL|fd EINVAL|file ok" "$(paste -sd'|' <<<"$out")"
	assert_eq "0 4" "$(stat -c %s c f | paste -sd' ')" "sizes on disk"
}

test_mkdir_0555_writable_as_root() {
	out=$(fb sh -c 'mkdir -m 0555 d; touch d/x; stat -c %a d')
	assert_eq 555 "$out"
	[ -e d/x ] || fail "d/x not created"
	[ -w d ] || fail "real mode of d lost owner write"
}

test_chmod_000_still_readable() {
	echo data > f
	assert_eq data "$(fb sh -c 'chmod 000 f; cat f')"
	assert_eq "x" "$(fb sh -c 'chmod 0444 f; echo x > f; cat f')"
	assert_eq 444 "$(fb stat -c %a f)"
	[ -r f ] && [ -w f ] || fail "real mode lost owner rw"
}

test_special_bits_recorded_exactly() {
	mkdir d; touch f
	fb sh -c 'chmod 1777 d; chmod 2755 f'
	assert_eq "1777 2755" "$(fb stat -c %a d f | tr '\n' ' ' | sed 's/ $//')"
	[ ! -g f ] || fail "real file got setgid"
}

test_unknown_files_are_root_owned() {
	touch f; chmod 0640 f
	assert_eq "0 0 640" "$(fb stat -c '%u %g %a' f)"
	assert_eq "$(id -u) $(id -g) 640" "$(fb -u stat -c '%u %g %a' f)"
}

# With -u, what the session makes is root's, as for real root (and for
# fakeroot -u's mkdir and install): before, every new file, directory,
# link and node showed the build user, and make install under -u archived
# the build user as owner.  What was there before the session stays real.
test_unknown_is_real_files_made_in_the_session_are_roots() {
	touch old
	fb -u sh -c 'touch a; mkdir d; install -d i; install -m 644 /dev/null f; ln -s a l; mkfifo p; mknod c c 1 3; echo x > e' ||
		fail "making files under -u"
	local n
	for n in a d i f l p c e; do
		assert_eq "0 0" "$(fb -u stat -c '%u %g' "$n")" "$n under -u, in a later session"
	done
	assert_eq "$(id -u) $(id -g)" "$(fb -u stat -c '%u %g' old)" "a file from before the session"
}

test_real_programs_agree() {
	need install cp mv ln tar cpio find du
	mkdir src
	echo hi > src/a
	out=$(fb sh -c '
		install -o root -g bin -m 4755 src/a inst
		cp -a inst copy_a; cp -p inst copy_p
		mkdir sub; mv copy_p sub/moved
		ln inst hard; ln -s inst soft
		stat -c "%U %G %a" inst copy_a sub/moved hard
		find . -name inst -printf "%u %g %m\n"
		du -s . >/dev/null && ls -lR . >/dev/null
		rm -rf sub; [ ! -e sub ] && echo gone')
	assert_eq "root bin 4755
root bin 4755
root bin 4755
root bin 4755
root bin 4755
gone" "$out"
}

test_tar_inside_lists_root_outside() {
	touch f
	fb sh -c 'chown root:bin f; chmod 4755 f; tar -cf t.tar f'
	assert_match '^-rwsr-xr-x root/bin ' "$(tar -tvf t.tar)"
}

test_tar_extract_restores_owners() {
	mkdir in; touch in/a in/b
	fb sh -c 'chown 3:4 in/a; chmod 4711 in/a; tar -cf t.tar in'
	mkdir out
	fb sh -c 'tar -xpf t.tar -C out --same-owner'
	assert_eq "3 4 4711" "$(fb stat -c '%u %g %a' out/in/a)"
}

test_cpio_roundtrip() {
	need cpio
	mkdir t; touch t/f
	fb sh -c 'chown 5:6 t/f; chmod 4750 t/f; mknod t/n c 1 3; find t | cpio -o -H newc > a.cpio 2>/dev/null'
	out=$(cpio -itv --numeric-uid-gid < a.cpio 2>/dev/null | awk '$NF=="t/f" || $NF=="t/n" {print $1, $3, $4}')
	assert_eq "-rwsr-x--- 5 6
crw-r--r-- 0 0" "$out"
	mkdir x
	fb sh -c 'cd x && cpio -idm < ../a.cpio 2>/dev/null'
	assert_eq "5 6 4750" "$(fb stat -c '%u %g %a' x/t/f)"
	assert_eq "character special file" "$(fb stat -c %F x/t/n)"
}

test_make_install_example() {
	cp -r "$TOP/examples/hello" src
	fb make -s -C src install DESTDIR="$PWD/proto" >/dev/null
	fb tar -cf p.tar -C proto .
	out=$(tar -tvf p.tar)
	assert_match '-rwsr-xr-x root/root .* ./usr/bin/hello' "$out"
	assert_match 'crw-rw-rw- root/root +1,3 .* ./dev/null' "$out"
	assert_match '-rw-r----- root/adm .* ./etc/hello.conf' "$out"
}

test_persistence_across_sessions() {
	touch f
	fb chown 1:2 f
	assert_eq "1 2" "$(fb stat -c '%u %g' f)"
	assert_eq "$(id -u)" "$(stat -c %u f)" "owner outside a session"
	[ -f "$FAKEBUILD_DB" ] || fail "no database at $FAKEBUILD_DB"
	[ ! -e "$FAKEBUILD_DB.live" ] || fail "live table left behind"
}

test_db_option_and_default_location() {
	touch f
	unset FAKEBUILD_DB
	assert_eq "$PWD/my.db" "$(fb -d my.db --db-path)" "--db-path with -d"
	assert_eq "$PWD/env.db" "$(FAKEBUILD_DB=env.db fb --db-path)" "--db-path with FAKEBUILD_DB"
	assert_eq "$XDG_STATE_HOME/fakebuild/fakebuild.db" "$(fb --db-path)" "--db-path by default"
	[ ! -e my.db ] && [ ! -e env.db ] && [ ! -e "$XDG_STATE_HOME/fakebuild" ] ||
		fail "--db-path made a database or its directory"
	fb -d my.db chown 3:3 f
	assert_eq "3 3" "$(fb -d my.db stat -c '%u %g' f)"
	assert_eq "0 0" "$(fb stat -c '%u %g' f)" "default db is another db"
	fb chown 4:4 f
	[ -f "$XDG_STATE_HOME/fakebuild/fakebuild.db" ] || fail "no default db under XDG_STATE_HOME"
	unset XDG_STATE_HOME
	assert_eq "$HOME/.local/state/fakebuild/fakebuild.db" "$(fb --db-path)" "--db-path under HOME"
	fb chown 5:5 f
	[ -f "$HOME/.local/state/fakebuild/fakebuild.db" ] || fail "no default db under ~/.local/state"
}

# The modes that run no command take no command: an operand is refused,
# not silently dropped (fakebuild --gc DIR does not mean "only DIR").
test_database_modes_refuse_operands() {
	local m out
	for m in --check --gc --db-path "--export ."; do
		# shellcheck disable=SC2086
		out=$(fb $m extra 2>&1) && fail "$m extra: accepted"
		grep -q "take.* no operand: extra\|takes one directory: extra" <<<"$out" || fail "$m: $out"
	done
	# Nor do they combine (before, the last one given ran), and -i and -s
	# apply to none of --check and --db-path.
	out=$(fb --check --export 2>&1) && fail "--check --export: accepted"
	assert_eq "fakebuild: --check and --export cannot be combined" "$out"
	out=$(fb -i x.db --check 2>&1) && fail "-i with --check: accepted"
	assert_eq "fakebuild: -i and -s do not apply to --check" "$out"
	[ ! -e "$FAKEBUILD_DB" ] || fail "a refused mode made the database"
}

# sbuild and buildds build with HOME=/nonexistent (or unwritable): fakeroot
# works there, so the default database falls back to $TMPDIR/fakebuild-UID,
# and keeps working across sessions.
test_default_db_without_a_writable_home() {
	touch f
	unset FAKEBUILD_DB XDG_STATE_HOME
	mkdir tmp ro
	chmod 555 ro
	local dir="$PWD/tmp/fakebuild-$(id -u)"
	HOME=/nonexistent TMPDIR=$PWD/tmp fb chown 5:6 f || fail "HOME=/nonexistent: session refused"
	assert_eq "5 6" "$(HOME=/nonexistent TMPDIR=$PWD/tmp fb stat -c '%u %g' f)"
	[ -f "$dir/fakebuild.db" ] || fail "no database in $dir"
	assert_eq "$dir/fakebuild.db" "$(HOME=/nonexistent TMPDIR=$PWD/tmp fb --db-path)" "--db-path"
	assert_eq "drwx------" "$(stat -c %A "$dir")"
	assert_eq "5 6" "$(HOME=$PWD/ro TMPDIR=$PWD/tmp fb stat -c '%u %g' f)" "unwritable HOME"
	assert_eq "5 6" "$(env -u HOME TMPDIR=$PWD/tmp "$FAKEBUILD" stat -c '%u %g' f)" "no HOME"
	[ ! -e ro/.local ] || fail "created a directory in the unwritable HOME"
	# A HOME that does not exist is not made, even where its parent could be.
	HOME=$PWD/gone TMPDIR=$PWD/tmp fb true
	[ ! -e gone ] || fail "made the missing HOME $PWD/gone"
	# A directory there that others may write is not ours to trust.
	chmod 777 "$dir"
	local out
	out=$(HOME=/nonexistent TMPDIR=$PWD/tmp fb true 2>&1) && fail "group/other-writable $dir accepted"
	grep -q "fakebuild-$(id -u): not a directory of yours" <<<"$out" || fail "message: $out"
	rm -rf "$dir" && ln -s "$PWD/ro" "$dir"
	out=$(HOME=/nonexistent TMPDIR=$PWD/tmp fb true 2>&1) && fail "symlink $dir accepted"
	grep -q "not a directory of yours" <<<"$out" || fail "message: $out"
}

test_unlink_drops_record_unless_linked() {
	touch f
	fb sh -c 'chown 7:7 f; ln f g; rm f'
	assert_eq "7 7" "$(fb stat -c '%u %g' g)" "other link keeps the record"
	fb rm g
	fb sh -c 'touch h; chmod 4700 h; mv h i; touch h2; chown 9:9 h2; mv h2 i'
	assert_eq "9 9" "$(fb stat -c '%u %g' i)"
}

# The last name of a recorded file removed while another process links
# it: the unlink's check of "last name" was the stat before it, and the
# file, alive under its new name, lost its record (helper 65; 294 of 904
# in one run); a rename over it, the same (rarer).  Each run differs in
# how many links win; none may lose.
test_unlink_racing_a_link_keeps_the_record() {
	need python3
	# One process links each xN to yN while another removes xN (unlink),
	# or renames sN (8:8) over it (rename).
	cat >race.py <<'PY'
import os, sys
how, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(d)
for i in range(n):
    p = os.path.join(d, "x%d" % i); open(p, "w").close(); os.chown(p, 7, 7)
    if how == "rename":
        q = os.path.join(d, "s%d" % i); open(q, "w").close(); os.chown(q, 8, 8)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.read(r, 1)
    for i in range(n):
        try: os.link(os.path.join(d, "x%d" % i), os.path.join(d, "y%d" % i))
        except FileNotFoundError: pass
    os._exit(0)
os.write(w, b"x")
for i in range(n):
    x = os.path.join(d, "x%d" % i)
    if how == "rename":
        os.rename(os.path.join(d, "s%d" % i), x)
    else:
        os.unlink(x)
os.waitpid(pid, 0)
PY
	local run
	for run in 1 2; do
		fb python3 race.py unlink d$run 3000
		assert_eq "" "$(fb find d$run -type f ! -user 7 | head -5)" "linked files whose record was lost"
	done
	fb python3 race.py rename r 3000
	assert_eq "" "$(fb find r -type f ! -user 7 ! -user 8 | head -5)" "linked files whose record was lost"
	assert_eq 0 "$(fb --gc | sed 's/ .*//')" "--gc dropped records of linked files"
}

# A rename over one name of a file with several (sed -i on a hard link
# does it): the record stayed with the name's hint, which then led to the
# new file, so --gc dropped the record of the file still linked as y.
test_rename_over_a_hard_link_keeps_the_record_through_gc() {
	fb sh -c 'touch x; chown 7:7 x; ln x y; echo new >s; mv s x'
	assert_match '^0 records dropped' "$(fb --gc)"
	assert_eq "7 0" "$(fb stat -c %u y x | paste -sd' ')"
}

test_inode_reuse_in_session() {
	out=$(fb sh -c '
		for i in $(seq 1 50); do
			touch f; chown 42:42 f; chmod 4700 f; ino=$(stat -c %i f); rm f
			touch g; if [ "$(stat -c %i g)" = "$ino" ]; then stat -c "%u %g %a" g; exit; fi; rm g
		done; echo noreuse')
	[ "$out" = noreuse ] && skip "the filesystem never reused the inode"
	assert_eq "0 0 644" "$out"
}

test_exit_status() {
	assert_status 3 fb sh -c 'exit 3'
	assert_status 137 fb sh -c 'kill -9 $$'
	assert_status 127 fb no-such-command-here
	touch notexec
	assert_status 126 fb ./notexec
}

# A command a signal killed: fakebuild, once the session is saved, ends
# by the same signal (no core dump of its own), as a shell's loop needs:
# at ^C, `for p in ...; do fakebuild make; done` went on with the loop,
# fakebuild having exited 130 as a command that handles ^C does.
test_killed_command_ends_fakebuild_by_its_signal() {
	need python3
	touch f
	python3 -c 'import subprocess, sys; print(subprocess.run(sys.argv[1:]).returncode)' \
		"$FAKEBUILD" sh -c 'chown 5:6 f; kill -TERM $$' > rc
	assert_eq -15 "$(cat rc)"
	assert_eq 5:6 "$(fb stat -c %u:%g f)"
	python3 -c 'import subprocess, sys; print(subprocess.run(sys.argv[1:]).returncode)' \
		"$FAKEBUILD" sh -c 'trap "exit 130" INT; kill -INT $$' > rc
	assert_eq 130 "$(cat rc)"	# exited, not killed: no signal of ours
	assert_status 143 fb sh -c 'kill -TERM $$'
}

test_terminal_ctrl_c_stops_a_loop_of_sessions() {
	need python3 bash
	$PTYJOB 'expect:\$ ' "send:for i in 1 2; do $FAKEBUILD sleep 30; echo next\$i; done\n" \
		'wait:1' 'send:\x03' 'expect:\^C\r?\n\$ ' 'send:echo rc=$?\n' 'expect:rc=130' ||
		fail "^C of a loop of sessions went on with the loop"
}

test_concurrent_chowns_lose_nothing() {
	mkdir t
	for p in 1 2 3 4 5 6 7 8; do mkdir t/$p; (cd t/$p && seq 1 500 | xargs touch); done
	cat > Makefile <<'MK'
all: p1 p2 p3 p4 p5 p6 p7 p8
p%:
	cd t/$* && for f in $$(seq 1 500); do chown $$(( $* * 1000 + f )):$* $$f; done
MK
	fb make -s -j8
	bad=$(fb sh -c 'for p in 1 2 3 4 5 6 7 8; do for f in $(seq 1 500); do
		[ "$(stat -c %u:%g t/$p/$f)" = "$(( p * 1000 + f )):$p" ] || echo t/$p/$f; done; done' | wc -l)
	assert_eq 0 "$bad" "files with a lost update"
}

test_two_sessions_share_state() {
	touch a b
	mkfifo go
	fb sh -c 'chown 5:5 a; : >started; cat go >/dev/null; stat -c %u b' > out &
	await started
	assert_eq 5 "$(fb sh -c 'chown 6:6 b; stat -c %u a')"
	echo > go
	wait
	assert_eq 6 "$(cat out)"
	assert_eq "5 6" "$(fb stat -c %u a b | tr '\n' ' ' | sed 's/ $//')"
}

test_bad_database_location() {
	mkdir ro; chmod 0500 ro
	out=$(fb -d ro/sub/x.db true 2>&1) && fail "succeeded"
	assert_match 'ro/sub' "$out"
}

test_corrupt_database_untouched() {
	head -c 4096 /dev/urandom > bad.db
	sum=$(md5sum < bad.db)
	rc=0; out=$(fb -d bad.db true 2>&1) || rc=$?
	assert_eq 1 "$rc" "exit status"
	assert_match 'bad\.db: .*(not a gdbm|corrupt|not a fakebuild)' "$out"
	assert_eq 1 "$(printf '%s\n' "$out" | wc -l)" "one-line error"
	assert_eq "$sum" "$(md5sum < bad.db)" "file changed"
	assert_eq "bad.db" "$(ls bad.db*)" "files left beside the database"
}

# A database the user may not read is not "corrupt": the reason is named.
test_unreadable_database_says_why() {
	touch f; fb -d my.db chown 1:1 f
	chmod 000 my.db
	rc=0; out=$(fb -d my.db true 2>&1) || rc=$?
	assert_eq 1 "$rc" "exit status"
	assert_match 'my\.db: cannot open it: Permission denied' "$out"
	chmod 600 my.db
	assert_eq 1 "$(fb -d my.db stat -c %u f)" "the database afterwards"
}

test_truncated_database_untouched() {
	touch f; fb chown 1:1 f
	for i in $(seq 1 200); do touch g$i; done
	fb chown 2:2 g*
	size=$(stat -c %s "$FAKEBUILD_DB")
	head -c $((size / 3)) "$FAKEBUILD_DB" > trunc.db
	sum=$(md5sum < trunc.db)
	rc=0; out=$(fb -d trunc.db true 2>&1) || rc=$?
	assert_eq 1 "$rc"
	assert_match 'trunc\.db' "$out"
	assert_eq "$sum" "$(md5sum < trunc.db)"
}

test_not_a_fakebuild_database() {
	echo "hello" > text.db
	rc=0; out=$(fb -d text.db true 2>&1) || rc=$?
	assert_eq 1 "$rc"
	assert_match 'text\.db: .*not a' "$out"
	need python3
	python3 - <<'PY'
import dbm.gnu
d = dbm.gnu.open("other.db", "n"); d[b"k"] = b"v"; d.close()
d = dbm.gnu.open("newer.db", "n"); d[b"\0fakebuild"] = b"fakebuild-db 99"; d.close()
PY
	rc=0; out=$(fb -d other.db true 2>&1) || rc=$?
	assert_eq 1 "$rc"; assert_match 'other\.db: .*not a fakebuild database' "$out"
	rc=0; out=$(fb -d newer.db true 2>&1) || rc=$?
	assert_eq 1 "$rc"; assert_match 'newer\.db: .*newer' "$out"
}

test_table_descriptor_reused_or_closed() {
	touch f
	fd=$(fb sh -c 'echo ${FAKEBUILD_TABLE_FD%%:*}')
	[ -n "$fd" ] || fail "no FAKEBUILD_TABLE_FD in the session"
	# The number now names another file: processes must map the table by name.
	out=$(fb bash -c "exec $fd</etc/passwd; chown 3:4 f; stat -c '%u %g' f; exec $fd<&-; chown 5:6 f; stat -c '%u %g' f")
	assert_eq "3 4
5 6" "$out"
	assert_eq "5 6" "$(fb stat -c '%u %g' f)"
}

# What a process makes is owned as the kernel would own it: by the maker's
# fsuid and fsgid, or in a setgid directory by its group (a new directory
# takes the setgid bit too; a file asking for it keeps it only if its maker
# is of that group or has CAP_FSETID).  The same script as real root and
# in a session, through the shell, coreutils, and glibc's own creators
# (fopen, mkstemp, mkdtemp), which open past the library's open wrappers.
roottest_new_files_owned_like_the_kernel() {
	need cc setpriv python3
	cc -o mk "$TOP/tests/e2e/fixtures/create/glibc-creators.c" 2>cc.err || skip "cannot compile: $(head -1 cc.err)"
	cat > s.sh <<'EOF'
umask 022
mkdir s; chown 0:50 s; chmod 2775 s
touch s/f; mkdir s/d; mkdir -p s/d/e; ln -s f s/l; mkfifo s/p; mknod s/c c 1 3; echo > s/r
python3 -c 'import os; os.close(os.open("s/g", os.O_CREAT | os.O_WRONLY, 0o2755))'
"$MK" s
ln -s s/t lt; echo > lt
ln -s s/viafopen lf; "$MK" -f lf
ln -s s/t4 lt4; python3 -c 'import os; os.close(os.open("lt4", os.O_CREAT | os.O_WRONLY, 0o444))'
echo more >> s/t4 && touch wrote-0444
mkdir -m 777 u; mkdir -m 2777 v; chown 0:50 v
setpriv --reuid=1000 --regid=1000 --clear-groups sh -c '
touch u/f; mkdir u/d; ln -s f u/l; mkfifo u/p; echo > u/r; cp u/r u/cp
"$MK" u
python3 -c "import os; os.close(os.open(\"v/g\", os.O_CREAT | os.O_WRONLY, 0o2755))"
touch v/f; mkdir v/d'
setpriv --reuid=1000 --regid=1000 --groups=50 sh -c '
python3 -c "import os; os.close(os.open(\"v/h\", os.O_CREAT | os.O_WRONLY, 0o2755))"'
setpriv --regid=7 --keep-groups sh -c 'touch u/g7'
find . ! -name . -printf '%p %U:%G %M\n' | LC_ALL=C sort
EOF
	mkdir real fake db && chown 65534:65534 fake db
	(cd real && MK=$PWD/../mk sh ../s.sh) > real.out 2>&1 || { cat real.out >&2; fail "the script as root"; }
	grep -q 's/d/e 0:50 drwxr-sr-x' real.out || { cat real.out >&2; fail "real root did not inherit the group"; }
	(cd fake && setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" MK=$PWD/../mk \
		"$FAKEBUILD" -d "$PWD/../db/fb.db" -- sh ../s.sh) > fake.out 2>&1 || { cat fake.out >&2; fail "the script in a session"; }
	diff real.out fake.out >&2 || fail "the session owns new files otherwise than the kernel"
	(cd fake && setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
		"$FAKEBUILD" -d "$PWD/../db/fb.db" -- find . ! -name . -printf '%p %U:%G %M\n' |
		LC_ALL=C sort) > again.out
	diff real.out again.out >&2 || fail "the next session sees other owners"
}

# After a process gives up root, chown and chmod follow the kernel's
# rules: the owner may chmod and give its files a group it is in; the
# setgid bit needs that group (else it is dropped); anything else is
# EPERM.  One script as real root and in a session.
roottest_chown_chmod_after_dropping_root_like_the_kernel() {
	need setpriv
	cat > s.sh <<'EOF'
touch a b c; chown 1000:1000 b; chown 1000:70 c; mkdir -m 777 d
setpriv --reuid=1000 --regid=1000 --groups=50 sh -c '
chown 1000 a; echo "chown of root'"'"'s file: $?"
chmod 600 a; echo "chmod of root'"'"'s file: $?"
chgrp 50 a; echo "chgrp of root'"'"'s file: $?"
chmod 4755 b; echo "chmod 4755 of its own: $?"
chgrp 50 b; echo "chgrp to a group it is in: $?"
chgrp 60 b; echo "chgrp to another: $?"
chown 2000 b; echo "chown away: $?"
chown 1000 b; echo "chown to itself: $?"
chmod 2755 b; echo "setgid, group 50: $?"
chmod 2755 c; echo "setgid, group 70: $?"
touch d/x; chmod 2700 d/x; chown :50 d/x; echo "own new file: $?"' 2>&1
stat -c '%n %u:%g %a' a b c d/x
EOF
	same_as_root ../s.sh 'chown of root.s file: 1' "the session's chown and chmod differ from the kernel's"
}

# exec as the kernel does it: a set-user-ID or set-group-ID program (by
# its record) runs with its owner or group as the effective id (not
# set-group-ID without group execute), the saved ids become the effective
# ones, and a program that gave up ids cannot get them back through a
# copy of its environment taken before (bash execs with its own; Python's
# subprocess with env=).  Before, the set-ID programs ran with the
# caller's ids, the saved uid stayed 0, and the last two got root back.
roottest_exec_ids_like_the_kernel() {
	need setpriv python3 bash
	# Supplementary groups are left out: the harness's root may have none.
	cat > s.sh <<'EOF'
{
cp /usr/bin/id myid; chown daemon:bin myid; chmod 6755 myid; ./myid
cp /usr/bin/id myid3; chmod 4755 myid3; setpriv --reuid=2 --regid=2 --clear-groups ./myid3
cp /usr/bin/id sgnox; chown :bin sgnox; chmod 2745 sgnox; ./sgnox
python3 -c 'import os; os.seteuid(2); os.execvp("python3", ["python3", "-c", "import os; print(os.getresuid())"])'
setpriv --euid=2 --egid=2 --keep-groups bash -c id
setpriv --regid=5 --keep-groups python3 -c "import os, subprocess
os.setgid(1); os.setuid(1)
subprocess.run(['id'], env=dict(os.environ)); subprocess.run(['id'])"
} 2>&1 | sed 's/ groups=.*//'
EOF
	same_as_root ../s.sh '^uid=0\(root\) gid=0\(root\) euid=1\(daemon\) egid=2\(bin\)' \
		"the session's exec treats ids otherwise than the kernel"
}

# The modes of new files, device nodes and chown's set-id rules, as real
# root has them (fixtures/create/modes.sh says what each block covers):
# set-id bits and modes that deny the maker, through mknod and open (GNU
# tar makes files with mknodat before it sets their xattrs), the umask's
# owner bits, device numbers and CAP_MKNOD, setgid directories with a
# default ACL, getgroups' order.
roottest_new_modes_like_the_kernel() {
	need setpriv python3 setfacl setfattr tar
	same_as_root "$TOP/tests/e2e/fixtures/create/modes.sh" '^su regular file 0:0 4755' \
		"the session's new modes differ from the kernel's"
	# The next session sees the same.
	(cd real && stat -c '%n %F %u:%g %a %t,%T' r su sr d0 f0 c0 c b cc p g/d g/d/f a/d U/f m/f5 m/f6) > real.st
	(cd fake && setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
		"$FAKEBUILD" -d "$PWD/../db/fb.db" -- stat -c '%n %F %u:%g %a %t,%T' \
		r su sr d0 f0 c0 c b cc p g/d g/d/f a/d U/f m/f5 m/f6) > fake.st
	diff real.st fake.st >&2 || fail "the next session sees other modes"
}

# At a terminal, the command is part of the shell's job, as without
# fakebuild: ^Z stops the job and fg continues it (the terminal hung,
# the command stopped in a group of its own that fakebuild waited on),
# another stage of a pipeline may read the terminal (it was stopped,
# the terminal given to the command), and what the command leaves
# running is still named, or ended with --kill.
PTYJOB="python3 $TOP/tests/e2e/ptyjob.py"

test_terminal_job_control() {
	need python3 bash
	$PTYJOB 'expect:\$ ' "send:$FAKEBUILD sleep 30\n" 'wait:0.5' 'send:\x1a' \
		'expect:Stopped' 'send:fg\n' 'wait:0.5' 'send:\x03' 'expect:\$ ' \
		'send:echo rc=$?\n' 'expect:rc=130' || fail "^Z, fg and ^C in a session"
	$PTYJOB 'expect:\$ ' \
		"send:$FAKEBUILD sh -c 'sleep 2; id -u' | { sleep 0.5; read -r l </dev/tty; echo \"tty:\$l\"; cat; }\n" \
		'wait:1' 'send:typed\n' 'expect:tty:typed\r?\n0\r?\n' 'expect:\$ ' ||
		fail "a pipeline's other stage could not read the terminal"
	# Started with & and brought back with fg: the command, stopped by
	# SIGTTIN in a group of its own, was never continued.
	$PTYJOB 'expect:\$ ' "send:$FAKEBUILD sh -c 'sleep 1; read x; echo got:\$x' &\n" 'expect:\$ ' \
		'send:fg\n' 'wait:1.5' 'send:typed\n' 'expect:got:typed' 'expect:\$ ' ||
		fail "a session started in the background, then fg"
}

test_terminal_job_leftovers_named_and_killed() {
	need python3 bash
	$PTYJOB 'expect:\$ ' \
		"send:$FAKEBUILD sh -c 'setsid sleep 32.$$1 >/dev/null 2>&1 </dev/null & exit 0'\n" \
		'expect:still running after the command ended: pid [0-9]+ \(sleep\)' 'expect:\$ ' \
		"send:pkill -x -f 'sleep 32.$$1'; echo done\n" 'expect:done' \
		"send:$FAKEBUILD --kill sh -c 'setsid sleep 33.$$1 >/dev/null 2>&1 </dev/null & exit 0'\n" \
		'expect:\$ ' "send:pgrep -x -f 'sleep 33.$$1' || echo none\n" 'expect:none' ||
		fail "leftovers of a session run at a terminal"
	# A grandchild orphaned by the last SIGKILL was left running.
	cat > tree.sh <<-'EOF'
	sh -c 'trap "sleep 0.2; exit 0" TERM; sh -c "trap \"\" TERM; exec >/dev/null 2>&1; sleep 34.0711" & wait; wait' &
	sleep 0.3
	EOF
	sed -i "s/34\.0711/34.$$4/" tree.sh	# a name no other run's sleep has
	$PTYJOB 'expect:\$ ' "send:$FAKEBUILD --kill sh tree.sh\n" 'expect:\$ ' \
		"send:pgrep -x -f 'sleep 34.$$4' || echo none\n" 'expect:none' ||
		fail "--kill left a grandchild running"
}

# At a terminal, a command that makes a process group of its own
# (timeout(1) does) leaves the job's: the terminal's ^C reaches only
# fakebuild, which passed none on (it ran to its end).
test_terminal_ctrl_c_reaches_a_command_in_its_own_group() {
	need python3 bash timeout
	$PTYJOB 'expect:\$ ' "send:$FAKEBUILD timeout 25 sleep 20\n" 'wait:1' 'send:\x03' \
		'wait:2' 'send:echo rc=$?\n' 'expect:rc=130' ||
		fail "^C did not reach timeout(1) in a session"
}

# At a terminal, what the shell had started before it exec'd fakebuild
# (Xvfb & exec fakebuild make) is not the session's: it was named as left
# over, and --kill killed it.  What the session left, grandchildren
# included, is named.
test_terminal_children_from_before_are_not_leftovers() {
	need python3 bash
	$PTYJOB 'expect:\$ ' \
		"send:sh -c 'sleep 30.$$2 & echo \$! > spid; exec $FAKEBUILD --kill sh -c \"echo ran\"'; kill -0 \$(cat spid) && echo alive\n" \
		'expect:ran\r?\nalive' 'expect:\$ ' \
		"send:sh -c 'sleep 31.$$2 & exec $FAKEBUILD true' 2>err; echo end-\$((1+1))\n" 'expect:end-2' ||
		fail "a child from before the session killed by --kill"
	[ ! -s err ] || { cat err >&2; fail "a child from before the session named"; }
	pkill -x -f "sleep 30.$$2" || true
	pkill -x -f "sleep 31.$$2" || true
	$PTYJOB 'expect:\$ ' "send:$FAKEBUILD sh -c '(sleep 32.$$3; :) & exit 0' 2>err; echo end-\$((1+1))\n" 'expect:end-2' ||
		fail "a session that leaves a grandchild"
	assert_match 'pid [0-9]+ \(sh\)' "$(cat err)" "the orphaned subshell"
	assert_match 'pid [0-9]+ \(sleep\)' "$(cat err)" "its child"
	pkill -x -f "sleep 32.$$3" || true
}

# Processes of the command still running when it exits are named (and
# ended with --kill); one that ends a moment after it, as rsync's
# receiver does, is not.
test_leftover_processes_named_but_not_stragglers() {
	fb sh -c '(sleep 0.03; true) & exit 0' 2> err
	[ ! -s err ] || { cat err >&2; fail "a child ending 30 ms after the command was reported"; }
	fb sh -c 'exec >/dev/null 2>&1; sleep 30 & exit 0' 2> err
	assert_match 'still running after the command ended: pid [0-9]+ \(sleep\)' "$(cat err)"
	kill "$(sed -n 's/.*pid \([0-9]*\) (sleep).*/\1/p' err)"
	fb --kill sh -c 'exec >/dev/null 2>&1; sleep 31 & echo $! > pid; exit 0' 2> err
	[ ! -s err ] || { cat err >&2; fail "--kill reported"; }
	# Gone, or a zombie its new parent has yet to reap.
	grep -qs '^[0-9]* (sleep) [^Z]' "/proc/$(cat pid)/stat" && fail "--kill left the sleep running"
	true
}
