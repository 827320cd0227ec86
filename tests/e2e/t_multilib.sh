# 32-bit and 64-bit processes in one session (issues 8 and 14).
#
# The 32-bit programs run natively where the kernel runs i386 programs,
# and through qemu-i386-static (Debian's qemu-user-static) where that is
# installed: every test below runs once per way that works, and skips only
# when neither does.  Under qemu the 32-bit program brings its own loader
# (/lib/ld-linux.so.2 of libc6-i386), which expands $LIB in the session's
# LD_PRELOAD (BASE/$LIB/libfakebuild.so) to "lib32": it loads
# BASE/lib32/libfakebuild.so, the 32-bit library, as a native run does.
# (Debian's own i386 loader expands $LIB to lib/i386-linux-gnu, the
# symlink the build makes beside the 64-bit library.)

ABI_SRC=$TOP/tests/e2e/fixtures/multilib/abi.c

# Build abi32 and abi64 (fixtures/multilib/abi.c) and set RUNNERS to the
# ways a 32-bit program runs here: "native", "qemu"; skip if none does.
setup_abi() {
	[ -f "$B/lib32/libfakebuild.so" ] || skip "32-bit library not built"
	cc -m32 -o abi32 "$ABI_SRC" 2>/dev/null || skip "no 32-bit toolchain (gcc-multilib)"
	cc -o abi64 "$ABI_SRC"
	RUNNERS=
	if ./abi32 stat . >/dev/null 2>&1; then RUNNERS=native; fi
	if command -v qemu-i386-static >/dev/null 2>&1 &&
		qemu-i386-static ./abi32 stat . >/dev/null 2>&1; then
		RUNNERS="$RUNNERS qemu"
	fi
	[ -n "$RUNNERS" ] || skip "this kernel cannot run i386 programs and qemu-i386-static is not installed (qemu-user-static)"
	echo "32-bit programs run: $RUNNERS"
}

# A fresh directory and database for runner $1, and R32: how a 32-bit
# program is started there (the prefix of its command line), exported
# for the sessions' shells.
enter() {
	cd "$HOME"
	mkdir "$1"
	cp abi32 abi64 "$1/"
	cd "$1"
	export FAKEBUILD_DB=$PWD/.state/fb.db
	case $1 in
	native) R32= ;;
	qemu) R32=qemu-i386-static ;;
	esac
	export R32
}

# Shell functions for the sessions' scripts: wait until process $1 is
# stopped (the writer lock's test hook raised SIGSTOP holding the lock);
# is process $1 still running (not a zombie)?
SH_LIB='
stopped() { [ "$(sed "s/.*) //" /proc/$1/stat 2>/dev/null | cut -c1)" = T ]; }
running() { s=$(sed "s/.*) //" /proc/$1/stat 2>/dev/null | cut -c1); [ -n "$s" ] && [ "$s" != Z ]; }
wait_stopped() {
	n=0
	until stopped $1; do
		n=$((n + 1))
		[ $n -lt 2000 ] || { echo "process $1 never stopped holding the lock" >&2; exit 1; }
		sleep 0.01
	done
}
'

test_session_preloads_per_elf_class() {
	[ -f "$B/lib32/libfakebuild.so" ] || skip "32-bit library not built"
	assert_match '/\$LIB/libfakebuild\.so' "$(fb printenv LD_PRELOAD)"
	assert_eq 0 "$(fb id -u)" "64-bit program under \$LIB preload"
}

# -l naming the library of either class's tree, or with the loader's $LIB
# in it, fakes both classes, as the default does.  A -l path was preloaded
# as given: the other class's programs ran unfaked ("wrong ELF class").
test_lib_option_preloads_per_elf_class() {
	setup_abi
	for r in $RUNNERS; do
		enter "$r"
		touch f
		for l in "$B/lib/libfakebuild.so" "$B/\$LIB/libfakebuild.so"; do
			out=$(fb -l "$l" sh -c '$R32 ./abi32 chown f 21 22 && ./abi64 stat f && $R32 ./abi32 stat f' 2>&1)
			assert_eq "0 21 22
0 21 22" "$out" "$r: -l $l"
		done
	done
	assert_status 1 fb -l "$PWD/nowhere/\$LIB/libfakebuild.so" true 2>/dev/null
	# The 32-bit library alone: the loader skips it in every 64-bit
	# program, and fakebuild says what that means (before: nothing).
	fb -l "$B/lib32/libfakebuild.so" true 2>err || true
	assert_contains err "lib32/libfakebuild.so: a 32-bit library: 64-bit programs of the session"
}

test_32bit_and_64bit_share_state() {
	setup_abi
	for r in $RUNNERS; do
		enter "$r"
		touch f g
		assert_eq "0 11 12" "$(fb sh -c '$R32 ./abi32 chown f 11 12 && $R32 ./abi32 stat f')" "$r: 32-bit chown"
		assert_eq "11 12" "$(fb stat -c '%u %g' f)" "$r: seen by a 64-bit stat"
		fb chown 21:22 g
		assert_eq "0 21 22" "$(fb sh -c '$R32 ./abi32 stat g')" "$r: 64-bit chown seen by a 32-bit stat"
	done
}

# (a) of issue 14: seen inside the session, and saved by its end.
test_32bit_chown_seen_by_64bit_in_session_and_after() {
	setup_abi
	for r in $RUNNERS; do
		enter "$r"
		touch f
		assert_eq "0 31 32" "$(fb sh -c '$R32 ./abi32 chown f 31 32 && ./abi64 stat f')" \
			"$r: 64-bit stat in the 32-bit writer's session"
		[ -s "$FAKEBUILD_DB" ] || fail "$r: the session's end wrote no database"
		assert_eq "0 31 32" "$(fb ./abi64 stat f)" "$r: 64-bit stat in the next session"
		assert_eq "0 31 32" "$(fb sh -c '$R32 ./abi32 stat f')" "$r: 32-bit stat in the next session"
	done
}

# The raw stat syscalls (syscall(2), as Go-style runtimes and ctypes make
# them): i386's stat64 family was left to the kernel, which showed the
# real owner.  Its struct stat64 is glibc's, as x86_64's struct stat is.
# A time past 2038 is cut to 32 bits by the kernel's stat64, not refused
# with EOVERFLOW as glibc's stat64 does (helper 65).
test_raw_stat_syscalls_are_faked_in_both_abis() {
	setup_abi
	local i l
	for r in $RUNNERS; do
		enter "$r"
		touch -d 2040-01-01 f
		i=$(stat -c %i f)
		l="0 31 32 100640 $i"
		assert_eq "$l|$l|$l|$l" \
			"$(fb sh -c 'chown 31:32 f; chmod 640 f; $R32 ./abi32 rawstat f' | paste -sd'|')" "$r: 32-bit"
		assert_eq "$l|$l|$l|$l" "$(fb ./abi64 rawstat f | paste -sd'|')" "$r: 64-bit"
	done
}

# In a build root the library is reached through pid 1's runtime tmpfs:
# there, too, a 32-bit program loads its own class.  libc6-i386's loader
# (the one qemu-i386-static runs here) expands $LIB to lib32, which the
# runtime tmpfs lacked: the program ran unfaked, with a loader warning.
test_32bit_program_in_a_build_root_is_faked() {
	setup_abi
	unshare -U -r -m true 2>/dev/null || skip "user namespaces are refused to this user here"
	for r in $RUNNERS; do
		enter "$r"
		touch f
		out=$(fb --root / --bind "$PWD" -- sh -c 'cd "$1" && $R32 ./abi32 chown f 41 42 && ./abi64 stat f &&
			$R32 ./abi32 stat f' sh "$PWD" 2>&1)
		assert_eq "0 41 42
0 41 42" "$out" "$r: a 32-bit chown and stat in a build root"
	done
}

# A read-only mount's chown fails with EROFS, a writable one's works, in
# one 32-bit process whatever the order.  qemu-user sets statx's mount id
# bit but leaves the id 0: the library took every file for one mount and
# answered all as the first (helper-50).
test_32bit_chown_on_read_only_and_writable_mounts() {
	setup_abi
	unshare -U -r -m true 2>/dev/null || skip "user namespaces are refused to this user here"
	for r in $RUNNERS; do
		enter "$r"
		mkdir ro rw; touch ro/f rw/g
		out=$(fb --root / --bind "$PWD" --ro-bind "$PWD/ro" -- sh -c 'cd "$1" &&
			$R32 ./abi32 chown-each 7 7 ro/f rw/g && $R32 ./abi32 chown-each 8 8 rw/g ro/f &&
			./abi64 stat ro/f && ./abi64 stat rw/g' sh "$PWD" 2>&1)
		assert_eq "ro/f Read-only file system
rw/g ok
rw/g ok
ro/f Read-only file system
0 0 0
0 8 8" "$out" "$r: chowns on a read-only and a writable mount"
	done
}

# Every file dN/fK must show K:K; prints what is wrong.
check_owners() {
	stat -c '%n %u %g' d/f* | awk '
		{ k = $1; sub(/^d\/f/, "", k); n++ }
		$2 != k || $3 != k { print "wrong owner: " $0; bad = 1; exit }
		END { if (!bad && n != 1600) print n " files, expected 1600" }'
}

# (b): 4 x 32-bit and 4 x 64-bit writers at once, 200 distinct chowns each.
test_concurrent_32bit_and_64bit_writers_lose_nothing() {
	setup_abi
	for r in $RUNNERS; do
		enter "$r"
		mkdir d
		(cd d && seq -f 'f%g' 1000 2599 | xargs touch)
		out=$(fb sh -c '
			pids=
			for i in 0 1 2 3; do $R32 ./abi32 chowns d 200 $((1000 + i * 200)) & pids="$pids $!"; done
			for i in 4 5 6 7; do ./abi64 chowns d 200 $((1000 + i * 200)) & pids="$pids $!"; done
			for p in $pids; do wait $p || { echo "writer $p failed"; exit 1; }; done
			'"$(declare -f check_owners)"'
			check_owners')
		assert_eq "" "$out" "$r: in the session"
		assert_eq "" "$(fb sh -c "$(declare -f check_owners); check_owners")" "$r: in the next session"
	done
}

# (c): a writer killed while it holds the lock (stopped there by the test
# hook FAKEBUILD_TEST_STOP_LOCKED) wedges nobody; while it lives, even
# stopped, the others wait for it.  HOLDER is the program that holds it.
# (timeout: a wedged writer fails the test instead of hanging it.)
killed_holder() {
	local holder=$1 out
	touch a b c d e
	out=$(fb sh -c "$SH_LIB"'
		FAKEBUILD_TEST_STOP_LOCKED=1 '"$holder"' chown a 5 6 & p=$!
		wait_stopped $p
		timeout 60 ./abi64 chown b 7 8 & q=$!
		timeout 60 $R32 ./abi32 chown c 9 10 & q2=$!
		sleep 0.3
		running $q && running $q2 || { echo "a writer took the lock from a live holder"; exit 1; }
		kill -9 $p
		wait $q && wait $q2 || { echo "a waiting writer failed"; exit 1; }
		./abi64 chown d 11 12 && $R32 ./abi32 chown e 13 14 || exit 1
		stat -c "%n %u %g" a b c d e')
	assert_eq "a 0 0 b 7 8 c 9 10 d 11 12 e 13 14" "$(echo $out)" "$r: in the session"
	assert_eq "a 0 0 b 7 8 c 9 10 d 11 12 e 13 14" "$(echo $(fb stat -c '%n %u %g' a b c d e))" \
		"$r: in the next session"
	assert_eq "0 13 14" "$(fb sh -c '$R32 ./abi32 stat e')" "$r: 32-bit stat in the next session"
}

# A table of 4 GiB or more (FAKEBUILD_CAPACITY) does not fit a 32-bit
# process's size_t: its length wrapped, the library mapped a sliver of it,
# and a 32-bit chown or stat died of SIGSEGV.  Now the session warns at its
# start, and the 32-bit program warns and runs unfaked.
test_32bit_process_and_a_table_too_large_for_it() {
	setup_abi
	for r in $RUNNERS; do
		enter "$r"
		touch f
		out=$(FAKEBUILD_CAPACITY=22000000 fb sh -c 'chown 5:6 f; $R32 ./abi32 chown f 7 8; echo "status $?"
			./abi64 stat f' 2>&1)
		assert_match 'fakebuild: the live table is [0-9]+ MiB \(FAKEBUILD_CAPACITY\): a 32-bit program may not' \
			"$out" "$r: the warning at the session's start"
		assert_match 'cannot map the live table [^ ]*: it is too large for a 32-bit process' "$out" \
			"$r: the 32-bit program's warning"
		assert_match 'status [1-9]' "$out" "$r: the 32-bit chown fails"
		[[ ! "$out" =~ 'status 139' ]] || fail "$r: the 32-bit chown crashed: $out"
		assert_match '0 5 6$' "$out" "$r: the 64-bit record stays"
	done
}

test_killed_32bit_holder_does_not_wedge_the_session() {
	setup_abi
	for r in $RUNNERS; do
		enter "$r"
		killed_holder '$R32 ./abi32'
	done
}

test_killed_64bit_holder_does_not_wedge_the_session() {
	setup_abi
	for r in $RUNNERS; do
		enter "$r"
		killed_holder ./abi64
	done
}

# (d): faked xattrs and device nodes made by 32-bit programs persist.
test_32bit_xattrs_and_mknod_persist() {
	setup_abi
	for r in $RUNNERS; do
		enter "$r"
		touch f
		fb sh -c '$R32 ./abi32 setxattr f trusted.fb v32 && $R32 ./abi32 mknod dev 1 3'
		assert_eq v32 "$(fb ./abi64 getxattr f trusted.fb)" "$r: 64-bit getxattr, next session"
		assert_eq v32 "$(fb sh -c '$R32 ./abi32 getxattr f trusted.fb')" "$r: 32-bit getxattr, next session"
		assert_eq "character special file 1 3 640" "$(fb stat -c '%F %t %T %a' dev)" "$r: the device"
		[ -z "$(getfattr -n trusted.fb f 2>/dev/null)" ] || fail "$r: trusted.fb reached the real file"
	done
}

# A writer whose program closed every descriptor (close_range, closefrom)
# and forked, or took the numbers of the library's descriptors with dup2,
# still holds the lock for as long as it lives: the descriptor that says
# so was kept open or moved, and the child has its own.
closeall_holder() {
	local prog=$1 how=${2:-closeall-fork} out
	touch h h.c w
	out=$(fb sh -c "$SH_LIB"'
		FAKEBUILD_TEST_STOP_LOCKED=2 '"$prog $how"' h 20 21 & p=$!
		wait_stopped $p
		timeout 60 ./abi64 chown w 30 31 & q=$!
		sleep 0.3
		running $q || { echo "took the lock from a live holder that closed its descriptors"; exit 1; }
		kill -9 $p
		wait $q || exit 1
		stat -c "%n %u %g" h h.c w')
	if [ "$how" = closeall-fork ]; then
		assert_eq "h 20 21 h.c 21 22 w 30 31" "$(echo $out)" "$r: $prog $how"
	else
		assert_eq "h 20 21 h.c 0 0 w 30 31" "$(echo $out)" "$r: $prog $how"
	fi
}

test_writer_lock_survives_closing_every_descriptor_and_fork() {
	setup_abi
	for r in $RUNNERS; do
		enter "$r"
		closeall_holder '$R32 ./abi32'
		rm -f h h.c w
		closeall_holder ./abi64
	done
}

test_writer_lock_survives_dup2_over_its_descriptor() {
	setup_abi
	for r in $RUNNERS; do
		enter "$r"
		closeall_holder '$R32 ./abi32' dup2-over
		rm -f h h.c w
		closeall_holder ./abi64 dup2-over
	done
}

# The stat calls of 32-bit programs, in each of glibc's three builds of
# them (plain, _FILE_OFFSET_BITS=64, and _TIME_BITS=64, whose calls are
# the *_time64 ones Debian 12's i386 coreutils, find and tar make), say in
# a session what they say as real root: owner, mode, device, a size past
# 2 GiB, a time past 2038, or EOVERFLOW where the struct cannot hold it.
roottest_32bit_stat_builds_agree_with_root() {
	setup_abi
	local src=$TOP/tests/e2e/fixtures/multilib/stats.c v
	cc -m32 -o st32 "$src" && cc -m32 -D_FILE_OFFSET_BITS=64 -o st32lfs "$src" &&
		cc -m32 -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -o st32t64 "$src" ||
		skip "cannot build the 32-bit stats program"
	# shellcheck disable=SC2016
	local mk='touch f; chown 12:34 f; chmod 4755 f; mknod c c 1 7; mkfifo p
		truncate -s 3G big; touch -d 2040-01-01T00:00:00Z late
		touch -d @1000000000 f c p big'	# the same times on both sides
	for r in $RUNNERS; do
		case $r in native) R32= ;; qemu) R32=qemu-i386-static ;; esac
		rm -rf real fake && mkdir real fake && chown 65534:65534 fake
		(cd real && sh -c "$mk") || fail "making the files as root"
		(cd fake && setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
			"$FAKEBUILD" -d "$PWD/.fb.db" -- sh -c "$mk") || fail "making the files in a session"
		for v in st32 st32lfs st32t64; do
			(cd real && $R32 ../$v f c p big late) > real.$v
			(cd fake && setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
				"$FAKEBUILD" -d "$PWD/.fb.db" -- $R32 ../$v f c p big late) > fake.$v ||
				fail "$r: $v in a session"
			diff real.$v fake.$v >&2 || fail "$r: $v: the session's stat differs from root's"
		done
		grep -q '^stat big 0 0 100644 0,0 3221225472 ' real.st32lfs || fail "$r: root's stat64 of big: $(grep '^stat big' real.st32lfs)"
		grep -q '^stat late EOVERFLOW' real.st32lfs || fail "$r: root's stat64 of late: $(grep '^stat late' real.st32lfs)"
		grep -q '^stat f 12 34 104755 ' fake.st32t64 || fail "$r: _TIME_BITS=64 stat of f: $(grep '^stat f' fake.st32t64)"
	done
}

# qemu-i386-static is static, but the program it runs has its own loader,
# which preloads the 32-bit library: no "statically linked" warning, from
# the library (an exec in a session) or from fakebuild (the command).
test_qemu_is_not_warned_as_static() {
	setup_abi
	[[ " $RUNNERS " == *" qemu "* ]] || skip "qemu-i386-static cannot run i386 programs here"
	touch f
	out=$(fb sh -c 'qemu-i386-static ./abi32 chown f 5 6 && qemu-i386-static ./abi32 stat f' 2>err)
	assert_eq "0 5 6" "$out" "the 32-bit program under qemu in a session"
	fb qemu-i386-static ./abi32 stat f > out2 2>>err
	assert_eq "0 5 6" "$(cat out2)" "qemu as the session's command"
	[ ! -s err ] || { cat err >&2; fail "warnings for qemu"; }
}

# A static i386 program run by qemu is not faked either, and was not
# warned about: qemu, static itself, was exempt as a loader, and the
# program it ran never checked.  Its options that take a value are
# skipped to find the program.
test_static_program_under_qemu_is_warned() {
	setup_abi
	[[ " $RUNNERS " == *" qemu "* ]] || skip "qemu-i386-static cannot run i386 programs here"
	cc -m32 -static -o abi32s "$ABI_SRC" 2>/dev/null || skip "no static 32-bit C library"
	touch f
	fb sh -c 'qemu-i386-static -L / -E X=1 ./abi32s stat f; qemu-i386-static ./abi32 stat f' >out 2>err
	assert_eq "$(id -u) $(id -u) $(id -g)|0 0 0" "$(paste -sd'|' out)" "the static one sees the disk, the dynamic one root"
	assert_eq 1 "$(grep -c 'abi32s is statically linked; its file operations are not faked' err)" "$(cat err)"
	assert_eq 1 "$(wc -l <err)" "$(cat err)"
	fb qemu-i386-static -- ./abi32s stat f >/dev/null 2>err2
	assert_match 'abi32s is statically linked' "$(cat err2)" "qemu as the session's command"
}
