# The store's guarantees (issue 4), as an unprivileged user.

# Run a chown loop under fakebuild in its own session, SIGKILL every
# process of it after a random delay, and check that every chown that
# returned (recorded in `progress` only after it returned) is in the next
# session.  $1: rounds; $2: what to kill (all | fakebuild | command).
kill_rounds() {
	local rounds=$1 what=$2 r n bad
	mkdir -p t
	(cd t && seq 1 400 | xargs touch)
	for r in $(seq 1 "$rounds"); do
		rm -f progress started
		setsid "$FAKEBUILD" sh -c 'touch started; for i in $(seq 1 400); do chown '$r':$i t/$i && echo $i >> progress; done' &
		local sid=$!
		while [ ! -e started ]; do sleep 0.01; done
		sleep "0.$(( RANDOM % 30 ))"
		case $what in
		all) pkill -9 -s "$sid" || true ;;
		fakebuild) kill -9 "$sid" || true ;;
		esac
		wait "$sid" 2>/dev/null || true
		# The command may still be running (only fakebuild was killed): let it end.
		while pgrep -s "$sid" >/dev/null; do sleep 0.05; done
		[ -s progress ] || continue
		n=$(wc -l < progress)
		bad=$(fb sh -c 'while read i; do [ "$(stat -c %u:%g t/$i)" = "'$r':$i" ] || echo $i; done < progress' | wc -l)
		[ "$bad" = 0 ] || fail "round $r: $bad of $n acknowledged chowns lost"
	done
}

test_kill9_everything_loses_nothing() {
	kill_rounds "${FB_ROUNDS:-4}" all
}

test_kill9_fakebuild_only_loses_nothing() {
	kill_rounds 2 fakebuild
}

test_killed_session_table_is_merged_into_db() {
	touch f
	setsid "$FAKEBUILD" sh -c 'chown 3:3 f; touch done; sleep 30' &
	sid=$!
	while [ ! -e done ]; do sleep 0.01; done
	pkill -9 -s "$sid"; wait "$sid" 2>/dev/null || true
	[ -e "$FAKEBUILD_DB.live" ] || fail "no live table left by the killed session"
	fb true
	[ ! -e "$FAKEBUILD_DB.live" ] || fail "live table not cleaned up"
	[ ! -e "$FAKEBUILD_DB.lock" ] || fail "lock file not cleaned up"
	assert_match 'ok, 1 records' "$(fb --check)"
	assert_eq "3 3" "$(fb stat -c '%u %g' f)"
}

# A killed session's live table whose records or index were damaged is
# refused, named, and left as it is with the database: never merged.
test_damaged_live_table_is_refused() {
	touch a b
	local part off
	for part in records index; do
		rm -f t.db* done
		FAKEBUILD_CAPACITY=64 fb -d "$PWD/t.db" chown 1:1 a
		setsid env FAKEBUILD_CAPACITY=64 "$FAKEBUILD" -d "$PWD/t.db" \
			sh -c 'chown 2:2 b; touch done; sleep 30' &
		sid=$!
		while [ ! -e done ]; do sleep 0.01; done
		pkill -9 -s "$sid"; wait "$sid" 2>/dev/null || true
		assert_status 0 fb -d "$PWD/t.db" --check > out
		# Capacity 64: a 4 KiB header, the index (128 slots), then the records.
		off=$([ $part = index ] && echo 1 || echo 2)
		head -c 1024 /dev/zero | tr '\0' '\176' |
			dd of=t.db.live bs=4096 seek=$off conv=notrunc status=none
		sums=$(md5sum t.db t.db.live)
		assert_status 1 fb -d "$PWD/t.db" --check > out
		assert_contains out "t.db.live: damaged live table: "
		assert_eq "$sums" "$(md5sum t.db t.db.live)" "$part: --check changed a file"
		# The merge takes the table's lock (a header word) before it looks.
		sums=$(md5sum t.db)
		for try in 1 2; do
			assert_status 1 fb -d "$PWD/t.db" true 2> err
			assert_contains err "t.db.live: damaged live table: "
			assert_contains err "move it away to start from $PWD/t.db alone"
		done
		assert_eq "$sums" "$(md5sum t.db)" "$part: the database changed"
		mv t.db.live damaged
		assert_eq "1 0" "$(fb -d "$PWD/t.db" stat -c %u a b | tr '\n' ' ' | sed 's/ $//')" "$part: database alone"
	done
}

# fakebuild is killed, a process of its session lives on and writes
# later; a new session meanwhile must not save and remove the table under
# it, or the change it makes afterwards goes into a file nobody reads.
test_killed_session_writer_still_running_loses_nothing() {
	touch a b
	setsid "$FAKEBUILD" python3 -c '
import os, time
os.chown("a", 1, 1)
open("ready", "w").close()
while not os.path.exists("go"):
    time.sleep(0.01)
os.chown("b", 2, 2)
open("done", "w").close()' &
	local fbpid=$! i
	trap 'touch "$PWD/go"' EXIT	# the writer ends, whatever happens
	while [ ! -e ready ]; do sleep 0.01; done
	kill -9 "$fbpid"; wait "$fbpid" 2>/dev/null || true
	fb true 2> err
	assert_contains err "processes of a killed session still write to it: it stays"
	[ -e "$FAKEBUILD_DB.live" ] || fail "the table was removed under a running writer"
	touch go
	for i in $(seq 1 500); do [ -e done ] && break; sleep 0.01; done
	[ -e done ] || fail "the writer did not finish"
	sleep 0.1	# its exit drops its registration
	assert_eq "1 2" "$(fb stat -c %u a b | tr '\n' ' ' | sed 's/ $//')" "owners after the writer's late chown"
	[ ! -e "$FAKEBUILD_DB.live" ] || fail "the table stayed after the writer ended"
}

test_last_session_persists_shared_state() {
	touch a b
	mkfifo go
	fb sh -c 'chown 1:1 a; : >started; cat go > /dev/null; chown 2:2 b' &
	await started
	fb chown 4:4 a
	[ -e "$FAKEBUILD_DB.live" ] || fail "first session's table gone while it runs"
	echo > go; wait
	[ ! -e "$FAKEBUILD_DB.live" ] || fail "live table left after the last session"
	assert_eq "4 4|2 2" "$(fb stat -c '%u %g' a b | paste -sd'|')"
}

test_inode_reuse_outside_session() {
	touch f
	fb sh -c 'chown 42:42 f; chmod 4700 f'
	ino=$(stat -c %i f)
	rm f
	found=
	for i in $(seq 1 2000); do
		touch n$i
		if [ "$(stat -c %i n$i)" = "$ino" ]; then found=n$i; break; fi
	done
	[ -n "$found" ] || skip "the filesystem did not reuse inode $ino"
	chmod 0640 "$found"
	assert_eq "0 0 640" "$(fb stat -c '%u %g %a' "$found")"
}

# in_userns SCRIPT: its output, run as root of a new user and mount
# namespace (where it may mount overlays and tmpfs), exiting 77 when it
# cannot mount: then the test is skipped (so not from a subshell).
in_userns() {
	local out rc=0
	out=$(FAKEBUILD=$FAKEBUILD unshare -U -r -m sh "$1" 2>&1) || rc=$?
	[ $rc = 77 ] && skip "no overlay or tmpfs mount in a user namespace here"
	printf '%s\n' "$out"
}

# In a container the file system is an overlay: a changed file of a lower
# layer is copied up, with a new birth time under the same inode number.
# Its record is kept (before: a touch after chown showed 0:0, and a first
# chmod 4755 came out 0755), in this session and the next.
test_records_survive_an_overlays_copy_up() {
	need_userns
	mkdir l u w m
	touch l/a l/b l/c
	cat >in.sh <<-'EOF'
	mount -t overlay ov -o lowerdir=l,upperdir=u,workdir=w,userxattr m || exit 77
	cd m
	"$FAKEBUILD" sh -c 'chown 1:2 a; touch a; chmod 4755 b; chown 3:4 c; echo x >>c
		stat -c %u:%g:%a a b c'
	"$FAKEBUILD" stat -c %u:%g:%a a b c
	EOF
	in_userns in.sh >out
	assert_eq "1:2:644 0:0:4755 3:4:644 1:2:644 0:0:4755 3:4:644" "$(echo $(cat out))" \
		"after copy-up, then in the next session"
}

# An overlay whose layers are on two file systems (no xino) shows a lower
# file on a device of the layer's, and its directories under numbers made
# anew at each mount: it keeps birth times compared.  Before, its
# directories' records were taken by other directories at the next mount
# (c showed a's 1:1), and a chown of a lower file was lost at once.
test_overlay_on_two_file_systems_keeps_birth_times() {
	need_userns
	mkdir l m t
	echo x > l/f
	cat >in.sh <<-'EOF'
	mount -t tmpfs t t && mkdir t/u1 t/w1 t/u2 t/w2 || exit 77
	mount -t overlay o -o lowerdir=l,upperdir=t/u1,workdir=t/w1,userxattr m || exit 77
	cd m
	"$FAKEBUILD" sh -c 'chown 1:2 f; stat -c %u:%g f; mkdir a; sleep 0.1; mkdir b; sleep 0.1; mkdir c
		chown 1:1 a; chown 2:2 b; chmod 700 c'
	cd .. && umount m
	mount -t overlay o -o lowerdir=t/u1:l,upperdir=t/u2,workdir=t/w2,userxattr m && cd m
	stat -c %i c b a >/dev/null
	"$FAKEBUILD" stat -c '%u:%g %a' c
	EOF
	in_userns in.sh >out
	assert_eq "1:2 0:0 700" "$(echo $(cat out))" "a lower file's chown, and c after the remount"
}

# A record with a file type no file has (a damaged database) is refused
# with the database named, and the database is left as it was: a session
# took it for a stale record, dropped it and saved the database without it.
test_record_of_an_impossible_type_is_refused() {
	touch f g
	fb chown 3:4 f g
	python3 "$TOP/tests/e2e/fbdb.py" "$FAKEBUILD_DB" set-mode "$(stat -c %i f)" 0o170644
	local sum out
	sum=$(md5sum <"$FAKEBUILD_DB")
	out=$(fb stat -c %u g 2>&1) && fail "a session started on it: $out"
	grep -q "$FAKEBUILD_DB: corrupt database: the record of inode $(stat -c %i f) has an impossible file type" <<<"$out" ||
		fail "message: $out"
	out=$(fb --export . 2>&1) && fail "--export ran on it: $out"
	assert_status 1 fb --check >out
	assert_contains out "impossible file type"
	assert_eq "$sum" "$(md5sum <"$FAKEBUILD_DB")" "the database"
}

# A chmod past the library (an editor, git, the user between sessions)
# shows in the next session and its archives; the faked owner, type and
# set-id bits stay.  Bits the session set, which the disk could not keep
# (owner write of a 0444 file), are still the session's.
test_mode_changed_outside_a_session_shows_through() {
	mkdir t t/d
	touch t/f t/g t/r
	fb sh -c 'chown 5:6 t/f; chmod 0640 t/f; chmod 4755 t/g; chown 7:7 t/d; chmod 0700 t/d
		chmod 0444 t/r; mknod t/n c 1 3; chmod 0600 t/n'
	assert_eq "644" "$(stat -c %a t/r)"
	chmod 0755 t/f; chmod 0700 t/g; chmod 0751 t/d; chmod 0640 t/n
	assert_eq "5 6 755|0 0 4700|7 7 751|0 0 444|0 0 640 c" \
		"$(fb stat -c '%u %g %a %F' t/f t/g t/d t/r t/n | sed 's/ regular.*//; s/ directory//; s/ character special file/ c/' | paste -sd'|')"
	fb --export t > out.mtree
	assert_contains out.mtree "./f type=file uid=5 gid=6 mode=0755"
	assert_contains out.mtree "./g type=file uid=0 gid=0 mode=4700"
	assert_contains out.mtree "./n type=char uid=0 gid=0 mode=0640 device=native,1,3"
	# The session's own chmod takes over again, and persists.
	fb chmod 0600 t/f
	assert_eq "5 6 600" "$(fb stat -c '%u %g %a' t/f)"
}

# A program that changes files in bulk has its chown or chmod of a name
# take the stat it just made of it (preload/memo.c).  Permission bits
# changed since, by descriptor or by another process, must not count as
# the disk's: the faked mode would give way to the disk's bits (helper's
# reproducers; both failed when records first kept the disk's bits).
test_a_remembered_stat_does_not_undo_a_chmod() {
	need python3
	touch f1 f2 f3 f4 t1 t2 t3 t4
	mkfifo go done go4 done4
	fb sh -c 'python3 -c "
import os
for i in range(1, 5): os.chown(\"f%d\" % i, 0, 0)   # the memo is on from here
os.stat(\"t1\"); fd = os.open(\"t1\", os.O_RDONLY); os.fchmod(fd, 0o555); os.close(fd)
os.chown(\"t1\", 1, 1)
os.stat(\"t2\"); fd = os.open(\"t2\", os.O_RDONLY); os.fchmod(fd, 0o755); os.close(fd)
os.chmod(\"t2\", 0o644)
os.stat(\"t3\"); open(\"go\", \"w\").close(); open(\"done\").read()
os.chown(\"t3\", 2, 2)
os.stat(\"t4\"); open(\"go4\", \"w\").close(); open(\"done4\").read()
os.chmod(\"t4\", 0o644)   # after the other chmod: it wins, as for real root
" & read x < go; chmod 0555 t3; : > done; read x < go4; chmod 0700 t4; : > done4; wait'
	assert_eq "555 1|644 0|555 2|644 0" "$(fb stat -c '%a %u' t1 t2 t3 t4 | paste -sd'|')"
}

# chmod -R takes each entry's bits from the stat it just made (memo.c):
# where they are already the ones asked for, those are the disk's bits
# the record keeps, so a later chmod outside still shows (before: the
# record kept the bits of the first session, and 4700 stayed).
test_chmod_R_records_the_bits_it_found() {
	mkdir T
	(cd T && touch f1 f2 f3 f4 f5 f6 f7 f8)
	fb chmod 4755 T/f1 T/f2 T/f3 T/f4 T/f5 T/f6 T/f7 T/f8
	chmod 0700 T/f*
	fb chmod -R 4700 T
	chmod 0755 T/f*
	assert_eq "4755 4755 4755 4755 4755 4755 4755 4755" "$(fb stat -c %a T/f1 T/f2 T/f3 T/f4 T/f5 T/f6 T/f7 T/f8 | paste -sd' ')"
}

# A chown, a chgrp and a chmod of the same files at once, by three
# processes: each makes its change from the record it read, and the
# last to write must not undo the others' (before: a few of 18000
# changes were lost in each run; real root keeps all three).
test_concurrent_chown_chgrp_chmod_all_land() {
	mkdir T
	(cd T && seq 3000 | xargs touch)
	local r lost=0
	for r in 1 2 3 4 5 6; do
		fb sh -c "chown -R $r T & chmod -R 07$r$r T & chgrp -R $((r + 10)) T & wait"
		lost=$((lost + $(fb sh -c "find T -type f \( ! -perm 07$r$r -o ! -user $r -o ! -group $((r + 10)) \) | wc -l")))
	done
	assert_eq 0 "$lost" "changes lost"
}

# Half-made files of a fakebuild killed while it made a table or saved,
# a root's kept records' save included, go when a session starts alone;
# the kept records' database itself stays.
test_session_start_removes_half_made_files() {
	fb true
	local d=$FAKEBUILD_DB
	for f in "$d.live.99999" "$d.new.99999" "$d.new.99999.unrecorded" "$d.unrecorded.99999.new.99999" \
		"$d.unrecorded.99999"; do
		echo junk >"$f"
	done
	fb true
	assert_eq "$d.unrecorded.99999" "$(ls -d "$d".*.99999* 2>/dev/null)"
}

# Two processes of one session in one directory: one creates, chowns
# and removes a file in a loop, the other creates files and chowns them
# to 7:7.  Where the file system reuses a freed inode number at once
# (ext4), the first one's unlink dropped the record the second had just
# made for its new file on that number (helper 64: 4 to 34 of 5,000).
# Where numbers are not reused (tmpfs) this cannot fail; the unit test
# test_late_calls_about_a_dead_inode_keep_its_successors_record can.
test_unlink_racing_a_reuse_of_its_inode_keeps_the_new_record() {
	need python3
	fb python3 - d 5000 <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
pid = os.fork()
if pid == 0:
    for i in range(n * 2):
        p = os.path.join(d, "tmp"); open(p, "w").close(); os.chown(p, 1, 1); os.unlink(p)
    os._exit(0)
for i in range(n):
    p = os.path.join(d, "keep%d" % i); open(p, "w").close(); os.chown(p, 7, 7)
os.waitpid(pid, 0)
PY
	assert_eq "" "$(fb find d -type f ! -user 7 | head -5)" "files whose record was lost"
}

test_stale_record_of_reused_inode_is_ignored() {
	need python3
	python3 -c 'import dbm.gnu' 2>/dev/null || skip "python3-gdbm not installed"
	touch f; chmod 0640 f
	fb sh -c 'chown 42:42 f; chmod 4700 f'
	# Make the record an earlier file's: same inode number, another birth time
	# (what a delete outside any session and a reuse of the number leave).
	python3 "$TOP/tests/e2e/fbdb.py" "$FAKEBUILD_DB" shift-btime -1000
	assert_eq "0 0 $(stat -c %a f)" "$(fb stat -c '%u %g %a' f)"
}

test_device_change_remaps_records() {
	need python3
	python3 -c 'import dbm.gnu' 2>/dev/null || skip "python3-gdbm not installed"
	mkdir d; touch d/f d/g
	fb sh -c 'chown 7:8 d/f; chmod 4711 d/f; chown 9:9 d/g'
	# What a remount does: the same inodes under another device number.
	python3 "$TOP/tests/e2e/fbdb.py" "$FAKEBUILD_DB" shift-dev 12345
	assert_eq "7 8 4711|9 9 644" "$(fb stat -c '%u %g %a' d/f d/g | paste -sd'|')"
}

test_gc_drops_records_of_removed_files() {
	mkdir d; touch d/a d/b d/c
	fb sh -c 'chown 1:1 d/a d/b d/c; mkdir e; mv d/c e/c'
	rm d/a
	out=$(fb --gc)
	assert_match '^1 records dropped' "$out"
	assert_eq "1 1|1 1" "$(fb stat -c '%u %g' d/b e/c | paste -sd'|')"
	assert_match '^0 records dropped' "$(fb --gc)"
}

# fakebuild run inside a session (a build script's --gc or --export) saw
# the disk through the session's library: a device's placeholder looked
# like a device, its record stale, and --gc dropped it for good.
test_gc_and_export_inside_a_session_see_the_disk() {
	mkdir t
	out=$(fb sh -c 'mknod t/z c 1 5 && chown 1:2 t/z && touch t/f && chown 3:4 t/f &&
		"$1" --export t | grep -v "^#"; "$1" --gc' sh "$FAKEBUILD")
	assert_eq ". type=dir uid=0 gid=0 mode=0755
./f type=file uid=3 gid=4 mode=0644
./z type=char uid=1 gid=2 mode=0644 device=native,1,5
0 records dropped (no file at their recorded path), 2 kept" "$out"
	assert_eq "character special file 1:2" "$(fb stat -c '%F %u:%g' t/z)" "after the session"
	assert_eq 0 "$(fb sh -c '"$1" id -u' sh "$FAKEBUILD")" "a nested session is still faked"
}

test_gc_follows_directory_renames() {
	mkdir -p d/sub; touch d/sub/f
	fb sh -c 'chown 5:5 d/sub/f; mv d moved'
	assert_match '^0 records dropped' "$(fb --gc)"
	assert_eq "5 5" "$(fb stat -c '%u %g' moved/sub/f)"
}

# Path hints of relative names come from the process's cached working
# directory or directory descriptor: after chdir, or a directory
# descriptor number reused for another directory, they must name the new
# one, or --gc drops records of files that are still there.
test_gc_hints_follow_chdir_and_reused_descriptors() {
	need python3
	mkdir -p a/c b e f; touch a/f1 a/f2 a/f3 b/f1 b/f2 b/f3 a/c/f1 a/c/f2 e/g1 e/g2 f/g1 f/g2
	fb python3 -c '
import os
top = os.getcwd()
for d in ("a", "b", "a/c", "b"):
    os.chdir(os.path.join(top, d))
    for f in sorted(os.listdir(".")):
        if os.path.isfile(f):
            os.chown(f, 3, 3)
os.chdir(top)
for d in ("e", "f"):
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    for f in ("g1", "g2"):
        os.chown(f, 4, 4, dir_fd=fd)
    os.close(fd)'
	assert_match '^0 records dropped' "$(fb --gc)"
	assert_eq "3 3|3 3|3 3|4 4|4 4" "$(fb stat -c '%u %g' a/f1 b/f3 a/c/f2 e/g2 f/g1 | paste -sd'|')"
	rm b/f1 f/g2
	assert_match '^2 records dropped' "$(fb --gc)"
}

test_full_table_fails_loudly() {
	seq 1 100 | xargs touch
	rc=0
	FAKEBUILD_CAPACITY=64 fb sh -c 'for i in $(seq 1 100); do chown 3:3 $i || { echo "failed at $i"; exit 1; }; done' > out 2> err || rc=$?
	assert_eq 1 "$rc"
	assert_contains err "live table is full"
	failed=$(sed -n 's/failed at //p' out)
	ok=$(fb sh -c 'n=0; for i in $(seq 1 100); do [ "$(stat -c %u $i)" = 3 ] && n=$((n+1)); done; echo $n')
	assert_eq $((failed - 1)) "$ok" "chowns acknowledged before the table filled"
}

# Each process that found the table full said so, once each: a make -j
# of short processes repeated the warning for every one.  Once a session.
test_full_table_warned_once_a_session() {
	seq 1 80 | xargs touch
	FAKEBUILD_CAPACITY=64 fb sh -c 'for i in $(seq 1 80); do chown 3:3 $i; done; exit 0' 2> err
	assert_eq 1 "$(grep -c 'live table is full' err)" "$(cat err)"
	assert_match "changing ownership of '80': No space left on device" "$(cat err)"
}

# A table kept for processes a session left running is the next session's:
# its first full-table failure warns again (helper 65: no warning at all).
test_full_kept_table_warned_again_by_the_next_session() {
	seq 1 90 | xargs touch
	FAKEBUILD_CAPACITY=64 fb sh -c 'for i in $(seq 1 80); do chown 3:3 $i 2>/dev/null; done
		setsid perl -e "chown 0, 0, q(1); sleep 3" </dev/null >/dev/null 2>&1 &
		sleep 0.5' 2>/dev/null
	[ -e "$FAKEBUILD_DB.live" ] || fail "the table was not kept for the process left running"
	fb sh -c 'for i in $(seq 81 85); do chown 4:4 $i; done; exit 0' 2>err
	assert_eq 1 "$(grep -c 'live table is full' err)" "$(cat err)"
	sleep 3.5
}

# FAKEBUILD_CAPACITY is checked and named; a database larger than the
# capacity is a full table, not a full disk.
test_capacity_is_checked_and_named() {
	local v
	for v in abc 0 63 64k -5 4294967281 99999999999999999999999; do
		assert_status 1 env FAKEBUILD_CAPACITY="$v" "$FAKEBUILD" true 2> err
		assert_contains err "FAKEBUILD_CAPACITY=$v: expected a number of records from 64 to 4294967280"
	done
	FAKEBUILD_CAPACITY=64 fb true
	seq 1 100 | xargs touch
	fb chown 3:3 $(seq 1 100)
	assert_status 1 env FAKEBUILD_CAPACITY=64 "$FAKEBUILD" true 2> err
	assert_contains err "cannot load into the live table: the live table is full: it holds 64 records (set FAKEBUILD_CAPACITY higher)"
	assert_eq 3 "$(fb stat -c %u 100)" "the database afterwards"
}

# The live table is a sparse file every process maps whole: under a file
# size limit (ulimit -f) fakebuild was killed by SIGXFSZ while making it,
# with no message and a DB.live.PID left behind, and under an address
# space limit (ulimit -v) it said only "Cannot allocate memory".  Both
# name the limit and FAKEBUILD_CAPACITY, leave nothing, and keep the
# database; a capacity that fits works under the same limit.
test_table_over_resource_limits_is_named() {
	touch f
	fb chown 3:3 f
	assert_status 1 sh -c 'ulimit -f 100; exec "$0" true' "$FAKEBUILD" 2> err
	assert_contains err "over the file size limit (ulimit -f): raise the limit or set a smaller FAKEBUILD_CAPACITY"
	[ -z "$(ls -d .state/fb.db.* 2>/dev/null)" ] || fail "left: $(ls -d .state/fb.db.*)"
	assert_eq "3:9" "$(sh -c 'ulimit -f 2000; FAKEBUILD_CAPACITY=4096 exec "$0" sh -c "chgrp 9 f; stat -c %u:%g f"' "$FAKEBUILD")"
	# At the smallest capacity only the limit can change, in KiB, not "0 MiB".
	assert_status 1 sh -c 'ulimit -f 16; FAKEBUILD_CAPACITY=64 exec "$0" true' "$FAKEBUILD" 2> err
	assert_match 'a sparse file of [0-9]+ KiB \(for 64 records\), over the file size limit \(ulimit -f\): raise the limit$' "$(cat err)"
	# The command gets SIGXFSZ as it came: its own file past the limit ends it.
	assert_status 153 "$FAKEBUILD" sh -c 'ulimit -f 1; head -c 5000 /dev/zero > big'
	if [ "${SAN:-}" != 1 ]; then	# ASan reserves terabytes of address space
		assert_status 1 sh -c 'ulimit -v 400000; exec "$0" true' "$FAKEBUILD" 2> err
		assert_contains err "over the address space limit (ulimit -v)"
		fb sh -c 'ulimit -v 300000; chown 5:6 f' 2> err || true
		assert_contains err "an address space limit, ulimit -v, must leave room for it"
		# Joining a running session's table: no advice to move it away.
		fb sh -c 'touch started; sleep 3' &
		await started
		assert_status 1 sh -c 'ulimit -v 300000; exec "$0" true' "$FAKEBUILD" 2> err
		wait
		assert_contains err "fb.db.live: cannot map the live table: Cannot allocate memory: it is a sparse file of 800 MiB, over the address space limit (ulimit -v): raise the limit (a session is running on it)"
	fi
	assert_eq "3:9" "$(fb stat -c %u:%g f)" "the database afterwards"
}

# Under ulimit -n 900 or lower the table was not passed on an inherited
# descriptor (fakebuild asked for 900 or above), so each process opened it
# by name, and one that had used up its descriptors first could not map
# it: its stat showed the disk's owner and its chown failed with EIO.  It
# now goes on the top free descriptor below the limit.  A chown there
# needs one descriptor more (its writer registration), which it takes
# past the soft limit when the hard one allows, as real root's needs none.
test_table_passed_under_a_low_descriptor_limit() {
	need cc
	cat > hog.c <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct stat st;
	while (open("/dev/null", O_RDONLY) >= 0)
		;
	if (argc != 3 || stat(argv[1], &st) != 0)
		return 1;
	printf("%u:%u\n", (unsigned)st.st_uid, (unsigned)st.st_gid);
	if (chown(argv[2], 9, 10) != 0)
		perror("chown");
	return 0;
}
C
	cc -o hog hog.c
	touch f g h
	fb chown 7:8 f
	assert_eq "7:8" "$(sh -c 'ulimit -S -n 16; exec "$0" ./hog f g' "$FAKEBUILD" 2> err)"
	[ ! -s err ] || fail "$(cat err)"
	assert_eq "7:8" "$(sh -c 'ulimit -S -n 900; exec "$0" ./hog f h' "$FAKEBUILD" 2> err)"
	[ ! -s err ] || fail "$(cat err)"
	assert_eq "9:10 9:10" "$(fb stat -c %u:%g g h | paste -sd' ')"
}

# The database's directory removed during the session (the build tree
# holding it cleaned): the session's records were lost, with a message
# naming only the lock file.  The directory is made again and they saved.
test_database_directory_removed_during_the_session() {
	touch f g
	fb -d "$PWD/b/fb.db" chown 1:1 g
	fb -d "$PWD/b/fb.db" sh -c 'chown 42:42 f; rm -rf b; chown 43:43 g' 2> err
	assert_contains err "b/fb.db: its directory was removed during the session: made again, to save the session's records"
	assert_eq "42:42 43:43" "$(fb -d "$PWD/b/fb.db" stat -c %u:%g f g | paste -sd' ')"
}

# A relative -d where the current directory is too long to name: the
# message named getcwd alone.
test_relative_database_in_a_too_long_directory_is_named() {
	local top=$PWD i
	(
		for i in $(seq 1 25); do mkdir "$(printf '%0200d' "$i")" && cd "$(printf '%0200d' "$i")"; done
		assert_status 1 "$FAKEBUILD" -d rel.db true 2> "$top/err"
	)
	assert_contains err "rel.db: cannot make the database's name absolute: the current directory: Numerical result out of range"
}

test_export_is_sorted_mtree() {
	mkdir -p t/d
	touch t/f t/d/x
	fb sh -c 'chown 1:2 t/f; chmod 4755 t/f; mknod t/n c 1 3; ln -s f t/l; chmod 0700 t/d'
	fb --export t > out.mtree
	cat > want <<'W'
#mtree 2.0
. type=dir uid=0 gid=0 mode=0755
./d type=dir uid=0 gid=0 mode=0700
./d/x type=file uid=0 gid=0 mode=0644
./f type=file uid=1 gid=2 mode=4755
./l type=link uid=0 gid=0 mode=0777 link=f
./n type=char uid=0 gid=0 mode=0644 device=native,1,3
W
	diff -u want out.mtree || fail "export differs"
	need bsdtar
	bsdtar -tvf out.mtree > listing 2>&1 || { cat listing; fail "libarchive cannot read the export"; }
	assert_contains listing "crw-r--r--"
}

# --export only reads: a database in a directory the user may not write
# (a read-only cache, a tree of someone else's) is exported from its file,
# and nothing is made beside it (before: "DB.lock: cannot create lock
# file").  Inside a session too.
test_export_of_a_database_in_a_read_only_directory() {
	mkdir d t
	touch t/f
	fb -d "$PWD/d/x.db" chown 3:4 t/f
	chmod 555 d
	local want
	want=$(printf '#mtree 2.0\n. type=dir uid=0 gid=0 mode=0755\n./f type=file uid=3 gid=4 mode=0644')
	assert_eq "$want" "$(cd t && fb -d "$PWD/../d/x.db" --export .)" "--export"
	assert_eq "$want" "$(cd t && fb sh -c '"$0" -d "$PWD/../d/x.db" --export .' "$FAKEBUILD")" "--export in a session"
	assert_eq "x.db" "$(ls d)" "files beside the database"
	chmod 755 d
}

test_check_reports_and_changes_nothing() {
	touch f; fb chown 1:1 f
	assert_status 0 fb --check
	cp "$FAKEBUILD_DB" copy.db
	printf 'garbage' | dd of=copy.db bs=1 seek=2000 conv=notrunc 2>/dev/null
	sum=$(md5sum < copy.db)
	rc=0; fb -d copy.db --check > out || rc=$?
	assert_eq "$sum" "$(md5sum < copy.db)"
	# A damaged block may or may not be hit by a read; the header damage below always is.
	head -c 100 /dev/urandom > bad.db
	rc=0; fb -d bad.db --check > out || rc=$?
	assert_eq 1 "$rc"
	assert_contains out "bad.db: not a gdbm database"
}

test_bad_live_table_header() {
	touch f; fb chown 1:1 f
	head -c 8192 /dev/zero > "$FAKEBUILD_DB.live"
	sum=$(md5sum < "$FAKEBUILD_DB")
	rc=0; out=$(fb true 2>&1) || rc=$?
	assert_eq 1 "$rc"
	assert_match "fb\.db\.live: not a fakebuild live table" "$out"
	assert_eq "$sum" "$(md5sum < "$FAKEBUILD_DB")"
	rc=0; out=$(fb --check) || rc=$?
	assert_eq 1 "$rc"
	assert_match 'live table' "$out"
}

roottest_database_owned_by_another_user() {
	mkdir -p s; touch s/f
	FAKEBUILD_DB=$PWD/s/root.db "$FAKEBUILD" chown 1:1 s/f
	chmod 0755 s; chmod 0644 s/root.db
	sum=$(md5sum < s/root.db)
	rc=0
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- "$FAKEBUILD" -d "$PWD/s/root.db" true 2>&1) || rc=$?
	assert_eq 1 "$rc"
	assert_match 'root\.db: owned by uid 0' "$out"
	assert_eq "$sum" "$(md5sum < s/root.db)"
}

test_gc_keeps_files_created_through_descriptors() {
	mkdir -p src/d; touch src/a src/d/b
	fb sh -c 'chown -R 3:4 src; cp -a src dst; mkdir sub; cd sub; cp -p ../src/a here'
	out=$(fb --gc)
	assert_match '^0 records dropped' "$out"
	rm dst/d/b
	assert_match '^1 records dropped' "$(fb --gc)"
	assert_eq "3 4|3 4|3 4" "$(fb stat -c '%u %g' dst/a dst/d sub/here | paste -sd'|')"
}

# Records whose files remain are kept by --gc however they were made.
# Before: a record first written through a descriptor not opened with
# O_CREAT (mkdir -m 4755, install -d -m, setcap) took stdin's name as its
# hint, and one whose hint named a link removed since (ln a b; rm a) kept
# that name: --gc dropped both, with the set-id bits, owner, capability.
test_gc_keeps_records_made_through_descriptors_and_links() {
	fb sh -c 'mkdir -m 4755 sd; install -d -m 2755 id; cp /bin/true p; setcap cap_net_raw+ep p
		touch a; chown 9:9 a; ln a b; rm a' </dev/null
	assert_match '^0 records dropped' "$(fb --gc </dev/null)"
	assert_eq "sd 4755|id 2755|b 644 9:9" "$(fb stat -c '%n %a' sd id </dev/null | paste -sd'|')|$(fb stat -c '%n %a %u:%g' b </dev/null)"
	fb getcap p </dev/null >caps
	assert_contains caps "cap_net_raw=ep"
}

# --gc dropped records of files still there (helper-45): the names of a
# RENAME_EXCHANGE kept their old hints, a chown through /proc/self/fd/N or
# of an O_TMPFILE file linked in later recorded no path to the file, a
# ".." after a symbolic link was undone by text alone, and a hint --gc
# could not look up (a directory without search permission) counted as
# a file gone.
test_gc_keeps_files_it_cannot_prove_gone() {
	need python3
	fb python3 - <<'EOP' || fail "the python script failed"
import os, ctypes
libc = ctypes.CDLL(None, use_errno=True)
os.mkdir("A"); os.mkdir("B"); open("A/f", "w").close(); open("B/f", "w").close()
os.chown("A/f", 5, 5); os.chown("B/f", 6, 6)
open("x", "w").close(); open("y", "w").close(); os.chown("x", 11, 11)
assert libc.renameat2(-100, b"A", -100, b"B", 2) == 0
assert libc.renameat2(-100, b"x", -100, b"y", 2) == 0
open("p", "w").close(); fd = os.open("p", os.O_PATH)
os.chown("/proc/self/fd/%d" % fd, 7, 7); os.close(fd)
fd = os.open(".", os.O_TMPFILE | os.O_WRONLY, 0o600); os.fchmod(fd, 0o4755)
assert libc.linkat(-100, b"/proc/self/fd/%d" % fd, -100, b"t", 0x400) == 0; os.close(fd)
os.makedirs("real/sub"); os.symlink("real/sub", "l2")
open("real/g", "w").close(); os.chown("l2/../g", 9, 9)
os.makedirs("locked/in"); open("locked/in/h", "w").close(); os.chown("locked/in/h", 10, 10)
open("q (deleted)", "w").close(); fd = os.open("q (deleted)", os.O_PATH)
os.chown("/proc/self/fd/%d" % fd, 12, 12); os.close(fd)
EOP
	local want="A/f 6:6 644|B/f 5:5 644|y 11:11 644|p 7:7 644|t 0:0 4755|real/g 9:9 644|locked/in/h 10:10 644|q (deleted) 12:12 644"
	assert_eq "$want" "$(fb stat -c '%n %u:%g %a' A/f B/f y p t real/g locked/in/h 'q (deleted)' | paste -sd'|')" "in the session"
	chmod 0 locked
	local out
	out=$(fb --gc)
	chmod 755 locked
	assert_match '^0 records dropped' "$out"
	assert_eq "$want" "$(fb stat -c '%n %u:%g %a' A/f B/f y p t real/g locked/in/h 'q (deleted)' | paste -sd'|')" "after --gc"
	# What is gone still goes.
	rm -r real
	assert_match '^1 records dropped' "$(fb --gc)"
}

# A live table of another layout version (a killed session of an older
# fakebuild left it) is refused, named with both versions, and left as it is.
test_live_table_of_another_layout_is_refused() {
	touch f
	setsid "$FAKEBUILD" sh -c 'chown 3:3 f; touch done; sleep 30' &
	sid=$!
	while [ ! -e done ]; do sleep 0.01; done
	pkill -9 -s "$sid"; wait "$sid" 2>/dev/null || true
	# The layout version is the 32-bit word at offset 8 (db/table_impl.h).
	printf '\003\000\000\000' | dd of="$FAKEBUILD_DB.live" bs=1 seek=8 conv=notrunc status=none
	sum=$(md5sum < "$FAKEBUILD_DB.live")
	rc=0; out=$(fb true 2>&1) || rc=$?
	assert_eq 1 "$rc"
	assert_match 'fb\.db\.live: live table of another fakebuild version \(table layout 3, this fakebuild reads layout [0-9]+\): a killed session of that version left it' "$out"
	assert_eq "$sum" "$(md5sum < "$FAKEBUILD_DB.live")" "the table is left as it was"
}

# The live table is a sparse file read at random.  Where it lies on a disk
# file system (the default database's directory usually does), a page
# fault on it must not read ahead: that filled 6,144 pages (24 MiB) of
# holes with zeros in every session, about 8 ms of an empty one's time.
# tmpfs reads nothing ahead, so the test needs the table on a disk.
test_live_table_on_a_disk_is_not_read_ahead() {
	need fincore
	local fs pages
	mkdir -p "$(dirname "$FAKEBUILD_DB")"
	fs=$(stat -f -c %T "$(dirname "$FAKEBUILD_DB")")
	[ "$fs" != tmpfs ] || skip "the database's directory is on tmpfs, which reads nothing ahead"
	pages=$(fb sh -c 'touch a b; chown 1:2 a; chmod 4755 b; mknod c c 1 3; stat a b c >/dev/null
		fincore -b -n -o PAGES "$FAKEBUILD_TABLE"')
	[ "$pages" -lt 512 ] || fail "the live table has $pages pages in the page cache ($fs)"
}

# The live table's file system fills up: the writes of a sparse mapping
# would kill the build with SIGBUS; they fail with ENOSPC instead, every
# chown that succeeded is kept, and the next session (with room) has them.
# A file system that ignores chmod (vfat, WSL's drvfs, VirtualBox shared
# folders; here bindfs --chmod-ignore) keeps bits of its own: a record
# must keep those as the disk's, or its faked mode would look changed
# outside the session and give way to them.
roottest_chmod_on_a_file_system_that_ignores_it_is_faked() {
	need bindfs
	[ -e /dev/fuse ] || skip "no /dev/fuse"
	mkdir src mnt
	chown 65534:65534 src .
	bindfs --chmod-ignore --create-as-user -o allow_other src mnt 2> err ||
		skip "bindfs cannot mount here: $(cat err)"
	trap 'umount "$PWD/mnt" 2>/dev/null || true' EXIT
	local fb_user="setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=$PWD $FAKEBUILD -d $PWD/fb.db"
	$fb_user sh -c 'cd mnt && touch f g && chmod 0640 f; chmod 4750 g; mkdir d; chmod 0700 d
		stat -c "%n %a" f g d' > in
	assert_eq "f 640|g 4750|d 700" "$(paste -sd'|' in)" "in the session"
	assert_eq "644" "$(stat -c %a mnt/f)" "the disk (chmod ignored)"
	assert_eq "f 640|g 4750|d 700" "$(cd mnt && $fb_user stat -c '%n %a' f g d | paste -sd'|')" "the next session"
	# One that takes part of a chmod (vfat's read-only bit, CIFS): a chmod
	# it took whole must not vouch for the next one in the same process
	# (before: 664, 4644)
	mkdir src2 mnt2
	chown 65534:65534 src2
	bindfs --chmod-filter=o-w --create-as-user -o allow_other src2 mnt2
	trap 'umount "$PWD/mnt" "$PWD/mnt2" 2>/dev/null || true' EXIT
	need python3
	$fb_user sh -c 'cd mnt2 && touch f1 f2 f3 && python3 -c "
import os
os.chmod(\"f1\", 0o600); os.chmod(\"f2\", 0o666); os.chmod(\"f3\", 0o4646)"
		stat -c "%n %a" f1 f2 f3' > in2
	assert_eq "f1 600|f2 666|f3 4646" "$(paste -sd'|' in2)" "partly taken chmods"
	assert_eq "664" "$(stat -c %a mnt2/f2)" "the disk (o-w filtered)"
	assert_eq "f1 600|f2 666|f3 4646" "$(cd mnt2 && $fb_user stat -c '%n %a' f1 f2 f3 | paste -sd'|')" "partly taken, next session"
}

roottest_full_file_system_fails_with_enospc_not_sigbus() {
	mkdir small tree
	mount -t tmpfs -o size=400k tmpfs small
	trap 'umount small 2>/dev/null || true' EXIT
	chown 65534:65534 small tree
	(cd tree && seq 3000 | setpriv --reuid=65534 --regid=65534 --clear-groups xargs touch)
	local rc=0 failed
	setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$PWD" \
		"$FAKEBUILD" -d "$PWD/small/s.db" chown -R 3:3 tree 2> err || rc=$?
	assert_eq 1 "$rc" "exit status (135: SIGBUS)"
	assert_contains err "small/s.db.live: No space left on device: the live table cannot grow"
	# The database is named first, then the temporary file (before: only that).
	assert_contains err "small/s.db: cannot save the database: cannot create $PWD/small/s.db.new."
	assert_contains err ": File write error: No space left on device"
	failed=$(grep -c "changing ownership of .*: No space left on device" err || true)
	[ "$failed" -gt 0 ] && [ "$failed" -lt 3001 ] || fail "$failed chowns failed"
	[ -z "$(find small -name 's.db.new.*')" ] || fail "a half-made database was left: $(ls small)"
	mount -o remount,size=16m small
	setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$PWD" \
		"$FAKEBUILD" -d "$PWD/small/s.db" sh -c 'stat -c %u:%g tree tree/*' > owners
	assert_eq "$((3001 - failed))" "$(grep -c '^3:3$' owners)" "chowns kept"
	[ -f small/s.db ] && [ ! -e small/s.db.live ] || fail "not saved: $(ls small)"
	# No room at all for a new live table: said so (before: "Input/output
	# error"), and nothing left.
	rm -f small/*
	mount -o remount,size=64k small
	dd if=/dev/zero of=small/fill bs=4k count=100 2>/dev/null || true
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$PWD" FAKEBUILD_CAPACITY=64 \
		"$FAKEBUILD" -d "$PWD/small/t.db" true 2> err || rc=$?
	assert_eq 1 "$rc" "exit status, a full file system"
	assert_contains err "cannot create the live table: No space left on device"
	[ -z "$(ls small | grep -v '^fill$')" ] || fail "left on a full file system: $(ls small)"
}
