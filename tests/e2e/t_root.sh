# Build roots (issue 16): fakebuild --root BASE [options] [--] [command].
# Each test runs as the unprivileged test user; a machine that refuses it
# user namespaces skips them with a message.
#
# Test-only hook: FAKEBUILD_TEST_OVERLAYFS=TYPE makes fakebuild mount TYPE
# where it would mount "overlay", to stand for a kernel without overlayfs
# (nothing else can make overlayfs unavailable to one process only).

# mkroot DIR: a small root made of host programs and their libraries.
mkroot() {
	local d=$1
	mkdir -p "$d/etc" "$d/srv"
	copy_programs "$d" sh id stat ls cat touch chown chmod mknod mkdir rm ln sleep true env tail \
		getcap setsid mount chroot readlink
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$d/etc/passwd"
	printf 'root:x:0:\nshadow:x:42:\n' >"$d/etc/group"
}

# Processes of this test (HOME is its directory) that are neither this
# shell, its ancestors (the runner) nor its children: what a root left.
strays() {
	local p q up=" " anc=" " ppid env
	q=$$
	while [ "$q" -gt 1 ]; do
		anc="$anc$q "
		q=$(awk '/^PPid:/ { print $2 }' /proc/$q/status 2>/dev/null) || break
		[ -n "$q" ] || break
	done
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ -O /proc/$p ] || continue
		grep -q '^State:.*[ZX]' /proc/$p/status 2>/dev/null && continue
		env=$(tr '\0' '\n' </proc/$p/environ 2>/dev/null) || continue
		grep -qx "HOME=$PWD" <<<"$env" || continue
		case "$anc" in *" $p "*) continue ;; esac
		q=$p
		while [ "$q" -gt 1 ] && [ "$q" != $$ ]; do
			q=$(awk '/^PPid:/ { print $2 }' /proc/$q/status 2>/dev/null) || break
			[ -n "$q" ] || break
		done
		[ "$q" = $$ ] && continue
		echo "$p $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)"
	done
}

# Nothing of the session may be left: no process, no mount of ours, no
# half-made cache entry, no work directory.
assert_nothing_left() {
	local i s
	for i in $(seq 50); do
		s=$(strays)
		[ -z "$s" ] && break
		sleep 0.1
	done
	[ -z "$s" ] || { echo "$s" >&2; fail "processes left running"; }
	grep -F "$PWD" /proc/self/mountinfo && fail "mounts left"
	if [ -d .cache/fakebuild/roots ]; then
		ls -A .cache/fakebuild/roots | grep '^\.tmp' && fail "a half-made cache entry left"
	fi
	ls -d .fakebuild-work.* 2>/dev/null && fail "a work directory left"
	return 0
}

# ---- the root ------------------------------------------------------------

test_root_host_runs_the_command_as_fake_root_in_its_own_pid_namespace() {
	need_userns
	out=$(fb --root / -- sh -c 'id -u; echo $$; cat /proc/1/comm; test -e /proc/'$$' || echo "no host pids"')
	assert_eq "0
2
fakebuild
no host pids" "$out"
}

test_root_host_hides_home_tmp_and_the_rest_of_the_host() {
	need_userns
	echo secret > secret
	mkdir -p "${TMPDIR:-/tmp}/fbroot.$$" && echo x > "${TMPDIR:-/tmp}/fbroot.$$/hosttmp"
	out=$(fb --root / -- sh -c "cat $PWD/secret 2>&1; ls -A /tmp; ls /home /root /run/user 2>&1 | wc -l; ls /" || true)
	grep -q 'No such file' <<<"$out" || fail "\$HOME readable: $out"
	grep -q hosttmp <<<"$out" && fail "the host's /tmp is visible"
	# only the system directories, read-only
	assert_eq "bin dev etc lib lib32 lib64 libx32 opt proc run sbin sys tmp usr var" \
		"$(fb --root / ls / | tr '\n' ' ' | sed 's/ $//')" "/ inside"
	assert_status 1 fb --root / -- sh -c 'touch /usr/x 2>/dev/null'
	rm -rf "${TMPDIR:-/tmp}/fbroot.$$"
}

# The user's home is not in a root: HOME, USER and LOGNAME become root's,
# as the command runs as root (before: HOME named a missing directory, so
# cd, ccache and git failed, and USER named the user); a bound home stays.
test_root_home_and_user_are_roots_unless_home_is_bound() {
	need_userns
	mkroot base && mkdir base/root
	mkdir -p home/.cache
	show='cd && echo "$PWD $HOME $USER $LOGNAME ${XDG_CACHE_HOME-none} ${XDG_RUNTIME_DIR-none}"'
	set -- env HOME="$PWD/home" USER=ann LOGNAME=ann XDG_CACHE_HOME="$PWD/home/.cache" \
		XDG_RUNTIME_DIR="$PWD/home" "$FAKEBUILD"
	assert_eq "/root /root root root none none" "$("$@" --root base -- sh -c "$show")" "a base with /root"
	assert_eq "/ / root root none none" "$("$@" --root / -- sh -c "$show")" "--root / (no /root)"
	assert_eq "$PWD/home $PWD/home ann ann $PWD/home/.cache $PWD/home" \
		"$("$@" --root / --bind "$PWD" -- sh -c "$show")" "the home bound"
}

# A private /tmp and /run, also in a base that has neither (before: no /run).
test_root_base_without_tmp_or_run_gets_both() {
	need_userns
	mkroot base
	[ ! -e base/run ] && [ ! -e base/tmp ] || fail "mkroot made /run or /tmp"
	assert_eq "tmpfs tmpfs" "$(fb --root base -- stat -f -c %T /tmp /run | tr '\n' ' ' | sed 's/ $//')"
	assert_eq "tmpfs" "$(fb --root base --net -- stat -f -c %T /run)" "with --net"
}

test_root_network_and_abstract_sockets_are_isolated() {
	need_userns
	need python3
	python3 - <<'EOF' &
import socket, time, os
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", 0)); t.listen(5)
u = socket.socket(socket.AF_UNIX); u.bind("\0fbroot-test-%d" % os.getppid()); u.listen(5)
open("port", "w").write(str(t.getsockname()[1]))
time.sleep(60)
EOF
	srv=$!
	for i in $(seq 50); do [ -s port ] && break; sleep 0.1; done
	port=$(cat port)
	probe='import socket, sys, os
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2); print("tcp ok")
except OSError as e: print("tcp refused")
u = socket.socket(socket.AF_UNIX)
try:
    u.connect("\0fbroot-test-" + sys.argv[2]); print("unix ok")
except OSError as e: print("unix refused")'
	out=$(fb --root / -- python3 -c "$probe" "$port" "$$")
	assert_eq "tcp refused
unix refused" "$out" "without --net"
	out=$(fb --root / --net -- python3 -c "$probe" "$port" "$$")
	assert_eq "tcp ok
unix ok" "$out" "with --net"
	kill $srv
}

# /sys is there, read-only, showing the root's own network (lo alone);
# with --net the kernel refuses sysfs and /sys is an empty directory.
# An archive base without /sys gets one too, and its cache entry stays
# without.
test_root_sys_is_read_only_and_shows_its_own_network() {
	need_userns
	out=$(fb --root / -- sh -c 'cat /sys/devices/system/cpu/online; ls /sys/class/net; touch /sys/x 2>&1 | grep -c "Read-only file system"')
	assert_eq "$(cat /sys/devices/system/cpu/online)
lo
1" "$out" "--root /"
	assert_eq 0 "$(fb --root / --net -- sh -c 'ls -A /sys | wc -l')" "--root / --net"
	make_base_archive
	[ -e base/sys ] && fail "the test's base has a /sys"
	rm -rf base .state
	assert_eq "lo" "$(fb --root base.tar.zst -- ls /sys/class/net)" "archive base"
	entry=$(echo .cache/fakebuild/roots/*/root)
	[ -e "$entry/sys" ] && fail "/sys made in the cache entry"
	assert_nothing_left
}

# With --net, names resolve as on the host: the host's resolv.conf shows
# in the root whether the base has one, none, or a link into /run; the
# base itself is not changed.  Without --net the base's own is left.
test_root_net_brings_the_hosts_resolv_conf() {
	need_userns
	[ -r /etc/resolv.conf ] || skip "the host has no /etc/resolv.conf"
	mkroot base
	find base | sort > before
	assert_eq "$(cat /etc/resolv.conf)" "$(fb --root base --net -- cat /etc/resolv.conf)" "none in the base"
	assert_status 1 fb --root base -- cat /etc/resolv.conf 2>/dev/null
	mkdir -p base/run
	ln -s ../run/resolvconf/resolv.conf base/etc/resolv.conf
	assert_eq "$(cat /etc/resolv.conf)" "$(fb --root base --net -- cat /etc/resolv.conf)" "a link into /run"
	rm base/etc/resolv.conf
	echo "nameserver 192.0.2.1" > base/etc/resolv.conf
	assert_eq "$(cat /etc/resolv.conf)" "$(fb --root base --net -- cat /etc/resolv.conf)" "a file of its own"
	assert_eq "nameserver 192.0.2.1" "$(fb --root base -- cat /etc/resolv.conf)" "without --net"
	rm base/etc/resolv.conf; rmdir base/run
	find base | sort > after
	cmp before after || fail "the base changed"
}

test_root_daemons_do_not_outlive_the_build() {
	need_userns
	# The command ends only once both daemons run sleep (not a forked sh
	# yet to exec), so the report can name them on a loaded machine too.
	fb --root / -- sh -c 'setsid sleep 3071 & (sleep 3072 &)
		for i in $(seq 200); do
			[ "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c "^sleep$")" = 2 ] && break
			sleep 0.05
		done; echo started' > out 2> err
	assert_contains out started
	assert_contains err "ended, still running when the command exited: sleep"
	assert_nothing_left
}

test_root_exit_status_and_signals_pass_through() {
	need_userns
	assert_status 3 fb --root / -- sh -c 'exit 3'
	assert_status 143 fb --root / -- sh -c 'kill -TERM $$'
	assert_status 127 fb --root / -- no-such-command-here
	# SIGTERM to fakebuild reaches the command
	"$FAKEBUILD" --root / -- sh -c 'trap "echo got TERM; exit 7" TERM; echo up; sleep 3081 & wait' > out &
	pid=$!
	for i in $(seq 50); do grep -q up out && break; sleep 0.1; done
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	assert_eq 7 "$rc" "status after SIGTERM"
	assert_contains out "got TERM"
	assert_nothing_left
}

# At a terminal the command stays in the shell's job (as in a plain
# session, t_core.sh): ^Z stops it and fg continues it (the terminal
# hung), and another stage of a pipeline may read the terminal.
test_root_terminal_job_control() {
	need_userns
	need python3 bash
	local pty="python3 $TOP/tests/e2e/ptyjob.py"
	$pty 'expect:\$ ' "send:$FAKEBUILD --root / sleep 30\n" 'wait:1' 'send:\x1a' \
		'expect:Stopped' 'send:fg\n' 'wait:0.5' 'send:\x03' 'expect:\$ ' \
		'send:echo rc=$?\n' 'expect:rc=130' || fail "^Z, fg and ^C in a root"
	$pty 'expect:\$ ' \
		"send:$FAKEBUILD --root / sh -c 'sleep 2; id -u' | { sleep 0.5; read -r l </dev/tty; echo \"tty:\$l\"; cat; }\n" \
		'wait:1' 'send:typed\n' 'expect:tty:typed\r?\n0\r?\n' 'expect:\$ ' ||
		fail "a pipeline's other stage could not read the terminal"
	# A second ^C, at a command that handles it, SIGKILLed the root: the
	# terminal's signals counted as fakebuild's own second one.
	$pty 'expect:\$ ' "send:$FAKEBUILD --root / sh -c 'n=0; trap \"n=\\\$((n+1)); echo caught; [ \\\$n = 2 ] && exit 5\" INT; while :; do sleep 0.1; done'\n" \
		'wait:1' 'send:\x03' 'expect:caught' 'wait:0.3' 'send:\x03' 'expect:caught' 'expect:\$ ' \
		'send:echo rc=$?\n' 'expect:rc=5' || fail "two ^C at a root's command that handles them"
	assert_nothing_left
}

# At a terminal, ^C reaches a command in the root that made a process
# group of its own (timeout(1)), through pid 1; and a root whose standard
# descriptors are not the terminal (so not in the job) gets the ^C that
# only fakebuild received: both ran to their end.
test_root_terminal_ctrl_c_reaches_the_command() {
	need_userns
	need python3 bash timeout
	local pty="python3 $TOP/tests/e2e/ptyjob.py"
	$pty 'expect:\$ ' "send:$FAKEBUILD --root / timeout 25 sleep 20\n" 'wait:1.5' \
		'send:\x03' 'wait:2' 'send:echo rc=$?\n' 'expect:rc=130' ||
		fail "^C did not reach timeout(1) in a root"
	$pty 'expect:\$ ' "send:$FAKEBUILD --root / sleep 20 </dev/null >/dev/null 2>&1\n" \
		'wait:1.5' 'send:\x03' 'wait:2' 'send:echo rc=$?\n' 'expect:rc=130' ||
		fail "^C did not reach a root outside the terminal's job"
	assert_nothing_left
}

# A signal ignored when fakebuild started (nohup, a script's background
# job) stays ignored, by fakebuild and in the root: 'nohup fakebuild
# --root ...' died at logout, the command's SIGHUP reset to the default.
test_root_keeps_ignored_signals_ignored() {
	need_userns
	out=$(trap '' HUP; fb --root / sh -c 'kill -HUP $$; echo alive')
	assert_eq alive "$out" "an ignored SIGHUP in the root"
	# But a script's background job, which comes with SIGINT ignored, is
	# stopped by its kill -INT (fakebuild-pkgbuild runs fakebuild so).
	(trap '' INT QUIT; exec "$FAKEBUILD" --root / sleep 20) &
	local pid=$!
	sleep 1
	kill -INT $pid
	local rc=0
	wait $pid || rc=$?
	assert_eq 130 "$rc" "a background job's SIGINT"
	(trap '' HUP; exec "$FAKEBUILD" --root / --bind "$PWD" -- sh -c "sleep 1; echo done > '$PWD/marker'") &
	pid=$!
	sleep 0.5
	kill -HUP $pid
	wait $pid || fail "fakebuild --root ended by an ignored SIGHUP: $?"
	assert_eq done "$(cat marker)"
	assert_nothing_left
}

# A SIGTERM to fakebuild reaches the command's whole group at once; the
# processes it was killing were named as left over (4 runs in 10).
test_root_sigterm_names_no_dying_processes() {
	need_userns
	mkroot base
	local i pid
	for i in 1 2 3 4 5 6; do
		# "$FAKEBUILD", not fb: $! is then fakebuild, not a subshell
		"$FAKEBUILD" --root base sh -c 'sleep 100 & sleep 100 & sleep 100 & wait' 2>>err &
		pid=$!
		sleep 0.7
		kill -TERM $pid
		wait $pid || true
	done
	[ ! -s err ] || { cat err >&2; fail "processes the SIGTERM was ending named as left over"; }
	assert_nothing_left
}

# ^C of a loop of roots stops the loop: fakebuild ends by the signal
# that killed the command, which pid 1 tells it (its exit status cannot).
test_root_ctrl_c_stops_a_loop_of_roots() {
	need_userns
	need python3 bash
	local pty="python3 $TOP/tests/e2e/ptyjob.py"
	$pty 'expect:\$ ' "send:for i in 1 2; do $FAKEBUILD --root / sleep 30; echo next\$i; done\n" \
		'wait:1.5' 'send:\x03' 'expect:\^C\r?\n\$ ' 'send:echo rc=$?\n' 'expect:rc=130' ||
		fail "^C of a loop of roots went on with the loop"
	python3 -c 'import subprocess, sys; print(subprocess.run(sys.argv[1:]).returncode)' \
		"$FAKEBUILD" --root / sh -c 'kill -TERM $$' > rc
	assert_eq -15 "$(cat rc)"
	assert_status 3 fb --root / sh -c 'exit 3'
	assert_nothing_left
}

test_root_interactive_shell_gets_the_terminal() {
	need_userns
	command -v script >/dev/null || skip "script (util-linux) not installed"
	# In a terminal, the command's process group is the foreground one.
	script -qec "$FAKEBUILD --root / -- sh -c 'read pid comm st ppid pgrp sess tty tpgid rest </proc/self/stat; \
		[ \$pgrp = \$tpgid ] && echo foreground || echo background; test -c /dev/console && echo console'" /dev/null \
		</dev/null > out 2>&1 || { cat out >&2; fail "script failed"; }
	assert_contains out foreground
	assert_contains out console
}

test_root_sigkill_of_fakebuild_leaves_nothing() {
	need_userns
	mkroot base
	mkdir up
	"$FAKEBUILD" --root base --upper up -- sh -c 'sleep 3091 & setsid sleep 3092 & echo up; wait' > out &
	pid=$!
	for i in $(seq 100); do grep -q up out && break; sleep 0.1; done
	grep -q up out || fail "the root did not start"
	ls -d .fakebuild-work.* >/dev/null || fail "no work directory beside --upper while running"
	kill -KILL $pid
	wait $pid || true
	assert_nothing_left
}

# A root's output files are written whole or not at all.  Ctrl-C (or a
# TERM) while --keep is being written stops it: no archive, no temporary,
# 128 + the signal (before: ignored, the archive finished and the status
# was 0).  SIGKILL of fakebuild then: its watcher removes the temporary
# (before: left).  Both need a --keep that takes a while: 300 MB of
# random data through xz.
keep_in_progress() { # OUT: wait until OUT.tmp.* exists
	for i in $(seq 300); do
		ls "$1".tmp.* >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "no temporary $1.tmp.* appeared"
}

test_root_keep_interrupted_or_killed_leaves_nothing() {
	need_userns
	need xz
	mkroot base
	copy_programs base head
	"$FAKEBUILD" --root base --keep k.tar.xz -- sh -c 'head -c 300000000 /dev/urandom > /big' 2> err &
	pid=$!
	keep_in_progress k.tar.xz
	kill -INT $pid
	rc=0; wait $pid || rc=$?
	assert_eq 130 "$rc" "exit status after SIGINT during --keep"
	assert_contains err "--keep k.tar.xz: not written: interrupted (SIGINT)"
	[ ! -e k.tar.xz ] || fail "an archive was written after SIGINT"
	! ls k.tar.xz.tmp.* >/dev/null 2>&1 || fail "the temporary was left after SIGINT"
	assert_nothing_left
	"$FAKEBUILD" --root base --keep k.tar.xz -- sh -c 'head -c 300000000 /dev/urandom > /big' 2>/dev/null &
	pid=$!
	keep_in_progress k.tar.xz
	kill -KILL $pid
	wait $pid || true
	for i in $(seq 100); do ls k.tar.xz.tmp.* >/dev/null 2>&1 || break; sleep 0.05; done
	! ls k.tar.xz.tmp.* >/dev/null 2>&1 || fail "the temporary was left after SIGKILL"
	[ ! -e k.tar.xz ] || fail "an archive was written after SIGKILL"
	assert_nothing_left
}

# fakebuild reaps its watcher: before, it exited with the watcher a
# zombie, left to an init that may reap it late.  Run under a subreaper,
# which gets whatever fakebuild leaves.
test_root_watcher_is_reaped() {
	need_userns
	need python3
	mkroot base
	mkdir up
	python3 - "$FAKEBUILD" <<'EOF' || fail "fakebuild left a child"
import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)    # PR_SET_CHILD_SUBREAPER
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "--root", "base", "--upper", "up", "--", "true"])
_, st = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(st) == 0, st
try:
    left = os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    left = (0, 0)
sys.exit(1 if left[0] else 0)
EOF
}

# The command runs as root in its root, and root's tools are in the sbin
# directories: dpkg -i refuses to run without them in PATH, useradd and
# chroot are not found.  Missing ones go in before their bin directory.
test_root_path_has_the_sbin_directories() {
	need_userns
	mkroot base
	assert_eq "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		"$(PATH=/usr/local/bin:/usr/bin:/bin fb --root base -- sh -c 'echo $PATH')"
	assert_eq "/opt/x:/usr/sbin:/usr/bin:/usr/local/sbin:/sbin" \
		"$(PATH=/opt/x:/usr/sbin:/usr/bin fb --root base -- /usr/bin/env sh -c 'echo $PATH')"
	# a plain session leaves PATH alone
	assert_eq "/usr/bin:/bin" "$(PATH=/usr/bin:/bin fb sh -c 'echo $PATH')"
}

test_root_setup_errors_leave_nothing() {
	need_userns
	mkroot base
	# the mount point is in a read-only part of a --root / root: pid 1 fails
	mkdir src
	assert_status 1 fb --root / --bind "$PWD/src:/usr/nonexistent/x" -- true 2> err
	assert_contains err "--bind $PWD/src: cannot mount on /usr/nonexistent/x inside the root"
	assert_nothing_left
	mkdir up
	assert_status 1 fb --root base --upper up --bind "$PWD/src:/bin/sh/x" -- true 2> err
	assert_contains err "--bind"
	assert_nothing_left
	# an --upper that fakebuild made goes with a root that never started;
	# one that was there stays
	assert_status 1 fb --root base --upper new --bind "$PWD/src:/bin/sh/x" -- true 2> err
	assert_contains err "--bind"
	[ ! -e new ] || fail "--upper new was left behind"
	[ -d up ] || fail "the existing --upper was removed"
	assert_nothing_left
}

# An --upper fakebuild cannot make (on a read-only mount) is one error:
# the work directory beside it, never made, was also named as one that
# could not be removed.
test_root_upper_on_a_read_only_mount_is_one_error() {
	need_userns
	mkroot base
	mkdir ro
	assert_status 1 unshare -U -r -m sh -c 'mount --bind ro ro && mount -o remount,bind,ro ro &&
		exec "$0" --root base --upper ro/up -- true' "$FAKEBUILD" 2> err
	assert_eq "fakebuild: --upper ro/up: Read-only file system" "$(cat err)"
	assert_nothing_left
}

# The records of a kept tree that the user's database cannot take (its
# table full) were named one line a file; the first names the cause, one
# more line counts the rest.  They were lost with the root's table; they
# are kept in a database of their own that -i loads.
test_root_unrecorded_owners_are_counted_and_kept() {
	need_userns
	mkroot base
	# A database whose path a shell must quote: the command printed to
	# load the kept records is run as printed.
	mkdir "sp ace"
	export FAKEBUILD_DB="$PWD/sp ace/fb.db"
	# The database holds 60 records; the root's 30 new ones find 4 free.
	mkdir many && (cd many && touch $(seq 1 60))
	fb chown -R 1:1 many
	assert_status 1 env FAKEBUILD_CAPACITY=64 "$FAKEBUILD" --root base --upper up -- sh -c \
		'i=0; while [ $i -lt 30 ]; do touch /f$i; chown 5:5 /f$i; i=$((i + 1)); done' 2> err
	assert_eq 1 "$(grep -c 'cannot record its owner in your database' err)" "$(cat err)"
	assert_match '\.\.\. and [0-9]+ more files whose owners could not be recorded in your database' "$(cat err)"
	assert_nothing_left
	# Not lost: kept in a database of their own, which -i loads once
	# there is room.
	local kept cmd
	kept=$(sed -n 's/.* files are kept in \(.*\); load them in a new session.*/\1/p' err)
	[ -f "$kept" ] || fail "no file keeps the refused owners: $(cat err)"
	ls "$(dirname "$kept")" | grep -q '\.new\.' && fail "a temporary table left: $(ls "$(dirname "$kept")")"
	local before
	before=$(fb stat -c %u:%g up/f* | grep -c '^5:5$')
	[ "$before" -lt 30 ] || fail "all 30 recorded though the table was full"
	cmd=$(sed -n 's/.*FAKEBUILD_CAPACITY): fakebuild \(-d .* true\)$/\1/p' err)
	[ -n "$cmd" ] || fail "no command printed: $(cat err)"
	eval "\"\$FAKEBUILD\" $cmd"
	assert_eq 30 "$(fb stat -c %u:%g up/f* | grep -c '^5:5$')"
}

# Under ulimit -n 800 or lower a root failed outright ("dup: Invalid
# argument"): pid 1 asked for descriptor 800 for the library's directory.
test_root_runs_under_a_low_descriptor_limit() {
	need_userns
	mkroot base
	assert_eq "0 0:0" "$(sh -c 'ulimit -S -n 64; exec "$0" --root base -- sh -c "touch /f; chown 0:0 /f; id -u; stat -c %u:%g /f"' "$FAKEBUILD" | paste -sd' ')"
	assert_nothing_left
}

# ---- bases, layers, identity ---------------------------------------------

# A base archive made in an earlier session: owners, setuid, a device, a
# capability, a group.
make_base_archive() {
	need zstd setcap
	mkroot base
	fb sh -c 'cd base && chown 0:42 etc/passwd && chmod 0640 etc/passwd && chmod 4755 usr/bin/id &&
		mknod srv/null c 1 3 && mknod srv/sda b 8 0 && setcap cap_net_raw+ep usr/bin/stat &&
		mkdir -p var/mail && chown 0:8 var/mail && chmod 2775 var/mail &&
		mkdir var/ro && echo y > var/ro/f && chmod 0444 var/ro/f && ln usr/bin/id var/ro/id &&
		mknod var/ro/null c 1 3 && ln var/ro/null var/ro/null2 && chmod 0555 var/ro &&
		tar --zstd --xattrs --xattrs-include="*" -cf ../base.tar.zst .'
}

test_root_archive_base_shows_its_recorded_ownership() {
	need_userns
	make_base_archive
	rm -rf base .state
	# (a directory and a file the owner may not write are writable on disk;
	# under umask 077 the unpacking makes a directory 0700 and sets its
	# mode at the end: the record must expect the final bits, not 0700)
	umask 077
	# (hard links: tar's link entries have no file type of their own)
	out=$(fb --root base.tar.zst -- sh -c 'stat -c "%A %u:%g %t:%T %n" /etc/passwd /usr/bin/id /srv/null /srv/sda /var/mail /var/ro /var/ro/f /var/ro/id /var/ro/null /var/ro/null2; getcap /usr/bin/stat' 2>err)
	assert_eq "-rw-r----- 0:42 0:0 /etc/passwd
-rwsr-xr-x 0:0 0:0 /usr/bin/id
crw-r--r-- 0:0 1:3 /srv/null
brw-r--r-- 0:0 8:0 /srv/sda
drwxrwsr-x 0:8 0:0 /var/mail
dr-xr-xr-x 0:0 0:0 /var/ro
-r--r--r-- 0:0 0:0 /var/ro/f
-rwsr-xr-x 0:0 0:0 /var/ro/id
crw-r--r-- 0:0 1:3 /var/ro/null
crw-r--r-- 0:0 1:3 /var/ro/null2
/usr/bin/stat cap_net_raw=ep" "$out"
	assert_contains err "unpacking"
	# unpacked once: the second run does not say so
	fb --root base.tar.zst -- true 2> err2
	[ ! -s err2 ] || { cat err2 >&2; fail "unpacked again"; }
	# the cache entry is the user's own, without real setuid bits
	entry=$(echo .cache/fakebuild/roots/*/root)
	[ -u "$entry/usr/bin/id" ] && fail "a real setuid bit in the cache"
	[ -f "$entry/srv/null" ] || fail "a device in the cache is not a plain file"
	# a changed archive is unpacked again
	touch base.tar.zst
	fb --root base.tar.zst -- true 2> err3
	assert_contains err3 "unpacking"
}

# A cache entry that lost part of itself (an interrupted rm -rf), or whose
# tree is a copy (new inodes: the records no longer name its files), is
# found damaged, said so and made anew.  Before: without root/, every root
# unpacked the archive again and failed ("roots/KEY: No such file or
# directory"); without records.db or as a copy, the base silently showed
# 0:0 and its real modes.  Two roots that find it damaged at once both
# start, on one entry, and leave nothing behind.
test_root_damaged_cache_entry_is_made_anew() {
	need_userns
	make_base_archive
	rm -rf base
	local want='-rwsr-xr-x 0:0 /usr/bin/id
-rw-r----- 0:42 /etc/passwd' show='stat -c "%A %u:%g %n" /usr/bin/id /etc/passwd' entry damage out
	fb --root base.tar.zst -- true 2> err
	entry=$(echo .cache/fakebuild/roots/[0-9a-f]*)
	[ -d "$entry/root" ] || fail "no cache entry"
	for damage in "rm -rf $entry/root" "rm $entry/records.db" "rm $entry/made" \
		"cp -a $entry $entry.copy && rm -rf $entry && mv $entry.copy $entry"; do
		sh -c "$damage"
		out=$(fb --root base.tar.zst -- sh -c "$show" 2> err) || { cat err >&2; fail "after $damage: failed"; }
		assert_eq "$want" "$out" "after $damage"
		case $damage in
		*/made) assert_contains err "warning: --root base.tar.zst: its cache entry $PWD/$entry was made by an older fakebuild (no stamp \"made\" in it): it is made anew, once" ;;
		*) assert_contains err "warning: --root base.tar.zst: its cache entry $PWD/$entry is damaged (" ;;
		esac
		[ "$(grep -c . err)" = 2 ] || { cat err >&2; fail "after $damage: more than a warning and the unpacking"; }
		# made anew: the next root uses it as it is
		out=$(fb --root base.tar.zst -- sh -c "$show" 2> err)
		assert_eq "$want" "$out" "the second time after $damage"
		[ ! -s err ] || { cat err >&2; fail "after $damage: unpacked again"; }
	done
	rm "$entry/records.db"
	fb --root base.tar.zst -- sh -c "$show" > out1 2> err1 &
	fb --root base.tar.zst -- sh -c "$show" > out2 2> err2
	wait $! || { cat err1 >&2; fail "the first of two roots at once failed"; }
	assert_eq "$want" "$(cat out1)" "the first of two roots at once"
	assert_eq "$want" "$(cat out2)" "the second of two roots at once"
	assert_eq "$entry" "$(echo .cache/fakebuild/roots/[0-9a-f]*)" "the cache entries"
	out=$(fb --root base.tar.zst -- sh -c "$show" 2> err)
	assert_eq "$want" "$out" "after two roots at once"
	[ ! -s err ] || { cat err >&2; fail "unpacked again after two roots at once"; }
	assert_nothing_left
}

# Directories an archive base has no entry for (its "./", a parent it leaves
# out) are 0755 and root's, as GNU tar as root makes them under umask 022;
# they followed the umask of who unpacked it first (077: drwx------).
test_root_archive_base_directories_not_in_it_are_0755() {
	need_userns
	mkroot base
	(cd base && find . ! -type d ! -name . | tar -cf ../files.tar --no-recursion -T -)
	rm -rf base
	umask 077
	out=$(fb --root files.tar -- stat -c "%A %u:%g %n" / /usr /usr/bin /etc)
	assert_eq "drwxr-xr-x 0:0 /
drwxr-xr-x 0:0 /usr
drwxr-xr-x 0:0 /usr/bin
drwxr-xr-x 0:0 /etc" "$out"
}

test_root_truncated_archive_leaves_no_cache_entry() {
	need_userns
	make_base_archive
	head -c $(( $(stat -c %s base.tar.zst) / 2 )) base.tar.zst > cut.tar.zst
	assert_status 1 fb --root cut.tar.zst -- true 2> err
	assert_contains err "truncated or corrupt"
	assert_contains err "nothing was cached"
	[ -z "$(ls -A .cache/fakebuild/roots)" ] || { ls -la .cache/fakebuild/roots >&2; fail "a cache entry was left"; }
	printf 'not an archive\n' > junk.tar
	assert_status 1 fb --root junk.tar -- true 2> err
	assert_contains err "not an archive fakebuild can read"
	# One word, or "name key=value": text libarchive reads as mtree(5),
	# taken for a root of empty directories (before: "not a root", or
	# a root without the command).
	for t in hello 'usr type=dir'; do
		printf '%s\n' "$t" > text.tar
		assert_status 1 fb --root text.tar -- true 2> err
		assert_contains err "--root text.tar: not an archive fakebuild can read: it reads as an mtree listing, which holds no files"
	done
	# one we may not read says why (before: "Failed to open 'locked.tar'")
	cp cut.tar.zst locked.tar && chmod 000 locked.tar
	assert_status 1 fb --root locked.tar -- true 2> err
	assert_eq "fakebuild: --root locked.tar: Permission denied" "$(cat err)"
	# A damaged header in the middle (libarchive skips it: ARCHIVE_RETRY).
	tar -cf dam.tar -C base .
	local block
	block=$(tar -tR -f dam.tar | sed -n 's|^block \([0-9]*\): \./usr/bin/id$|\1|p')
	[ -n "$block" ] || fail "no usr/bin/id in dam.tar"
	printf XXXX | dd of=dam.tar bs=1 seek=$((block * 512 + 100)) conv=notrunc status=none
	assert_status 1 fb --root dam.tar -- true 2> err
	assert_contains err "--root dam.tar: truncated or corrupt archive, after"
	[ -z "$(ls -A .cache/fakebuild/roots)" ] || fail "a cache entry was left"
	assert_nothing_left
}

# libarchive's cpio reader fails a short read with no message: the reason
# was printed as "(null)".  Cut in the data, at a header's start, in the
# first header, and under gzip: each names the archive and what is wrong.
test_root_truncated_cpio_archive_says_what_is_wrong() {
	need_userns
	need cpio python3
	mkroot base
	head -c 100000 /dev/urandom > base/usr/big
	(cd base && { echo usr/big; find . ! -path ./usr/big; } | cpio -o -H newc 2>/dev/null) > r.cpio
	head -c 50000 r.cpio > in-data.cpio
	head -c 60 r.cpio > first.cpio
	gzip -c in-data.cpio > in-data.cpio.gz
	# cut where the last entry's header starts (newc: 110 bytes, then
	# the name and the data, each padded to 4)
	python3 - <<'PY'
d = open("r.cpio", "rb").read()
off = last = 0
while True:
    n, size = int(d[off + 94:off + 102], 16), int(d[off + 54:off + 62], 16)
    if d[off + 110:off + 110 + n - 1] == b"TRAILER!!!":
        break
    last = off
    off += (110 + n + 3) // 4 * 4
    off += (size + 3) // 4 * 4
open("at-header.cpio", "wb").write(d[:last])
PY
	local n
	n=$(cpio -it < r.cpio 2>/dev/null | wc -l)
	assert_status 1 fb --root in-data.cpio -- true 2> err
	assert_contains err "fakebuild: --root in-data.cpio: truncated or corrupt archive, at usr/big: unexpected end of data"
	assert_status 1 fb --root in-data.cpio.gz -- true 2> err
	assert_contains err "fakebuild: --root in-data.cpio.gz: truncated or corrupt archive, at usr/big: unexpected end of data"
	assert_status 1 fb --root at-header.cpio -- true 2> err
	assert_contains err "fakebuild: --root at-header.cpio: truncated or corrupt archive, after $((n - 1)) entries: unexpected end of data"
	assert_status 1 fb --root first.cpio -- true 2> err
	assert_contains err "fakebuild: --root first.cpio: truncated or corrupt archive, in its first header: unexpected end of data"
	cat err* > all
	grep -F '(null)' all && fail "a message without its reason"
	[ -z "$(ls -A .cache/fakebuild/roots)" ] || fail "a cache entry was left"
	assert_nothing_left
}

# A write that fails while an archive base is unpacked (a full disk) fails
# the unpack: libarchive says ARCHIVE_WARN for it, which was taken for
# success, and a short file was cached for good with exit status 0.  The
# cache is a small tmpfs (mounted in a user namespace); ./pad, first big
# then replaced by a later entry, frees the space for records.db, as
# another process's file removed meanwhile would.
test_root_unpack_write_error_leaves_no_cache_entry() {
	need_userns
	mkroot base
	head -c 3M /dev/zero > base/pad
	head -c 2M /dev/zero > base/usr/bin/big
	local kb
	kb=$(( $(du -sk --exclude=pad --exclude=big base | cut -f1) + 4096 ))
	tar --owner=0 --group=0 -cf full.tar -C base ./pad
	tar --owner=0 --group=0 -rf full.tar -C base --exclude=./pad .
	echo > base/pad
	tar --owner=0 --group=0 -rf full.tar -C base ./pad
	mkdir .cache
	assert_status 1 unshare -Urm sh -c 'mount -t tmpfs -o size=$1k tmpfs .cache || exit 2
		rc=0; "$0" --root full.tar -- true || rc=$?
		ls -A .cache/fakebuild/roots > left; exit $rc' "$FAKEBUILD" "$kb" 2> err
	assert_contains err "--root full.tar: usr/bin/big: cannot write it into the cache: Write failed: No space left on device"
	assert_contains err "nothing was cached"
	[ ! -s left ] || { cat left >&2; fail "a cache entry was left"; }
	assert_nothing_left
}

# Names longer than PATH_MAX: an archive's entry was unpacked under its
# first 4095 bytes, and --keep and --changes cut names at 8191; now each
# refuses such a name, naming it, and fails.
test_root_names_too_long_are_refused() {
	need_userns
	need python3
	mkroot base
	tar -cf long.tar -C base .
	python3 - <<'PY'
import io, tarfile
t = tarfile.open("long.tar", "a", format=tarfile.PAX_FORMAT)
for name in ["./srv/" + "/".join(["d" * 200] * 21) + "/f", "./srv/ok"]:
    i = tarfile.TarInfo(name); i.size = 1
    t.addfile(i, io.BytesIO(b"x"))
t.close()
PY
	assert_status 1 fb --root long.tar -- true 2> err
	assert_contains err "--root long.tar: srv/dddd"
	assert_contains err "ddd/f: name too long (4226 bytes, at most 4095)"
	assert_contains err "nothing was cached"
	[ -z "$(ls -A .cache/fakebuild/roots)" ] || fail "a cache entry was left"
	# 4 + 20 * 201 + 1 + 100 bytes: /srv/000.../x000...
	local deep='d=$(printf "%0200d" 0); cd /srv; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do mkdir $d; cd $d; done; touch x$(printf "%099d" 0)'
	assert_status 1 fb --root base --keep k.tar -- sh -c "$deep" 2> err
	assert_contains err "--keep k.tar: /srv/000"
	assert_contains err ".../x$(printf %099d 0): name too long (4125 bytes, at most 4095)"
	[ ! -e k.tar ] || fail "a --keep archive with a name left out"
	assert_status 1 fb --root base --changes ch -- sh -c "$deep" 2> err
	assert_contains err "--changes ch: /srv/000"
	assert_contains err "--changes ch: not written: incomplete"
	[ ! -e ch ] || fail "a --changes list with a name left out"
	assert_nothing_left
}

# A signal while an archive base is first unpacked stops the unpack: exit
# 128+N at once, no cache entry, nothing left.  Also where the signal came
# in ignored, as in a script's background job (fakebuild-pkgbuild's): the
# unpack once went on to the end and the command ran.
test_root_signal_during_the_unpack_stops_it() {
	need_userns
	mkroot base
	mkdir base/many
	(cd base/many && seq 1 60000 | xargs touch)
	tar -cf big.tar -C base .
	rm -rf base
	local sig rc i
	for sig in INT TERM; do
		rm -rf .cache/fakebuild/roots
		(trap '' INT QUIT; exec "$FAKEBUILD" --root big.tar -- touch ran) 2> err &
		local f=$!
		for i in $(seq 200); do
			ls -A .cache/fakebuild/roots 2>/dev/null | grep -q '^\.tmp' && break
			sleep 0.02
		done
		ls -A .cache/fakebuild/roots 2>/dev/null | grep -q '^\.tmp' || fail "the unpack never started"
		kill -$sig "$f"
		rc=0
		wait "$f" || rc=$?
		assert_eq $((128 + $(kill -l $sig))) "$rc" "the exit status after SIG$sig"
		assert_contains err "--root big.tar: interrupted while unpacking it"
		assert_contains err "nothing was cached"
		[ ! -e ran ] || fail "the command ran after SIG$sig"
		[ -z "$(ls -A .cache/fakebuild/roots)" ] || { ls -la .cache/fakebuild/roots >&2; fail "a cache entry was left"; }
		assert_nothing_left
	done
}

test_root_copy_up_keeps_the_owner_and_keep_stacks_as_a_layer() {
	need_userns
	make_base_archive
	fb --root base.tar.zst --keep layer.tar.gz -- sh -c \
		'echo more >> /etc/passwd; chmod 0600 /usr/bin/id; stat -c "%A %u:%g" /etc/passwd; rm /srv/sda; mknod /srv/new c 4 5' > out
	assert_eq "-rw-r----- 0:42" "$(cat out)" "owner after copy-up"
	tar -tvf layer.tar.gz > list
	assert_contains list "-rw-r----- 0/42"
	assert_contains list "./srv/.wh.sda"
	assert_contains list "crw-r--r-- 0/0"
	# the kept layer on its base: the changes, their owners, the deletion
	out=$(fb --root base.tar.zst --root layer.tar.gz -- sh -c \
		'stat -c "%A %u:%g %n" /etc/passwd /usr/bin/id; tail -n 1 /etc/passwd; ls /srv; stat -c "%t:%T" /srv/new')
	assert_eq "-rw-r----- 0:42 /etc/passwd
-rw------- 0:0 /usr/bin/id
more
new
null
4:5" "$out"
	# nothing was kept of a failed command
	assert_status 1 fb --root base.tar.zst --keep l2.tar.gz -- sh -c 'touch /x; exit 1' 2> err
	assert_contains err "not written"
	[ ! -e l2.tar.gz ] || fail "a layer of a failed command"
}

# --keep takes the names tar users write, also those that Debian 12's
# libarchive (3.6) cannot map to a format by itself: .tar.zst, .txz, ...,
# and .tar.lzo, which it writes through the lzop program.
test_root_keep_writes_every_compressed_name() {
	need_userns
	make_base_archive
	local k
	local more=
	# .tar.lzo: libarchive runs lzop (and warns that it does).
	command -v lzop >/dev/null && more=l.tar.lzo
	for k in l.tar.zst l.tzst l.txz l.tbz2 l.cpio.gz l.tar.xz l.tar $more; do
		fb --root base.tar.zst --keep "$k" -- sh -c 'touch /srv/k; chown 3:4 /srv/k' ||
			fail "--keep $k failed"
		assert_eq "3:4" "$(fb --root base.tar.zst --root "$k" -- stat -c %u:%g /srv/k)" "$k as a layer"
	done
	assert_nothing_left
}

# libarchive is loaded only when a root needs it: linking it brings
# fourteen libraries (ICU, libstdc++, ...) and 2 ms into every session's
# start.  The code that maps --keep's name once called it directly, and
# the link then named it.
test_plain_session_loads_no_libarchive() {
	LD_DEBUG=files fb true 2> dbg
	assert_contains dbg "libgdbm"
	! grep -q libarchive dbg || fail "a plain session loads libarchive: $(grep -m1 libarchive dbg)"
	if unshare -U -r -m true 2>/dev/null; then
		make_base_archive
		LD_DEBUG=files fb --root base.tar.zst --keep l.tar.zst -- true 2> dbg
		assert_contains dbg "libarchive"
	fi
}

# overlayfs copies a hard-linked lower file up as a new inode, so a shared
# record would leave the changed name (0:0, its real mode) and stay with
# the others.  Names of a linked file that has a record are unpacked as
# copies: each keeps its owner, and a change to one changes only it, as a
# copy-up does as root.  Plain root files stay linked.  Both tar (a link
# without data) and cpio (the last name brings the data).
test_root_hard_linked_base_files_keep_their_owners() {
	need_userns
	need cpio
	mkroot base
	fb sh -c 'cd base && echo x > srv/a && ln srv/a srv/b && chown 5:6 srv/a && chmod 4755 srv/a &&
		echo p > srv/p1 && ln srv/p1 srv/p2 && tar -cf ../base.tar . &&
		find . | cpio -o -H newc --quiet > ../base.cpio'
	local b
	for b in base.tar base.cpio; do
		out=$(fb --root "$b" -- sh -c 'stat -c "%n %u:%g %a %h" /srv/a /srv/b /srv/p1 /srv/p2
			chmod 4711 /srv/a; echo y >> /srv/b
			stat -c "%n %u:%g %a" /srv/a /srv/b; cat /srv/a /srv/b' 2>/dev/null)
		assert_eq "/srv/a 5:6 4755 1
/srv/b 5:6 4755 1
/srv/p1 0:0 644 2
/srv/p2 0:0 644 2
/srv/a 5:6 4711
/srv/b 5:6 4755
x
x
y" "$out" "$b"
	done
	assert_nothing_left
}

# A hard link made in the root to a file of the base: the new name shows
# the copied-up file's own inode number, the old one the base file's, and
# the new name showed neither its owner nor its mode (--keep's archive
# lost the setuid bit of both names, which it stores as one file).
test_root_hard_link_to_a_base_file_keeps_its_record() {
	need_userns
	mkroot base
	fb sh -c 'cd base && mkdir -p root && echo x > srv/s && chown 5:6 srv/s && chmod 4755 srv/s && tar -cf ../base.tar .'
	local b
	for b in base base.tar; do
		out=$(fb --root "$b" --keep "$PWD/kept.tar" -- sh -c 'ln /srv/s /srv/h && ln -P /srv/s /root/h2 &&
			stat -c "%n %u:%g %a %h" /srv/s /srv/h /root/h2' 2>/dev/null)
		assert_eq "/srv/s 5:6 4755 3
/srv/h 5:6 4755 3
/root/h2 5:6 4755 3" "$out" "$b: the names of one file"
		fb sh -c 'rm -rf k && mkdir k && tar -C k -xpf kept.tar ./srv ./root && stat -c "%n %u:%g %a" k/srv/s k/srv/h k/root/h2' > got
		assert_eq "k/srv/s 5:6 4755
k/srv/h 5:6 4755
k/root/h2 5:6 4755" "$(cat got)" "$b: --keep's archive"
	done
	assert_nothing_left
}

test_root_upper_persists_and_its_owners_reach_plain_sessions() {
	need_userns
	mkroot base
	fb --root base --upper up -- sh -c 'touch /u1; chown 3:4 /u1; chmod 4711 /u1; chown 0:42 /etc/passwd; echo y >> /etc/passwd'
	assert_eq "3:4 4711
0:42 644" "$(fb stat -c '%u:%g %a' up/u1 up/etc/passwd)" "plain fakebuild, on the upper"
	assert_eq "3:4 4711
0:42 644
y" "$(fb --root base --upper up -- sh -c 'stat -c "%u:%g %a" /u1 /etc/passwd; tail -n 1 /etc/passwd')" "a second session"
	# the base never changed
	[ "$(tail -n 1 base/etc/passwd)" != y ] || fail "the base was written"
	# a kept upper used as a layer
	assert_eq "3:4 4711" "$(fb --root base --root up -- stat -c '%u:%g %a' /u1)" "upper as a layer"
	assert_nothing_left
}

# A chown, a chmod that leaves the disk's bits as they are (a set-id bit
# is only recorded) and a setcap of a base file change only its record,
# not the file: overlayfs copies it up only when something real changes.
# Real root's chown copies it up, so the change reaches --upper, --keep
# and --changes.  Before, all three were lost at the session's end.
test_root_attribute_only_changes_of_base_files_are_kept() {
	need_userns
	need setcap
	mkroot base
	copy_programs base setcap
	printf 'x\n' > base/etc/motd
	local change='chown 3:3 /etc/motd; chmod u+s /usr/bin/ls; chown 0:42 /etc/group; setcap cap_net_raw+ep /usr/bin/cat'
	fb --root base --upper up -- sh -c "$change"
	assert_eq "3:3 644
0:0 4755
0:42 644
/usr/bin/cat cap_net_raw=ep" "$(fb --root base --upper up -- sh -c 'stat -c "%u:%g %a" /etc/motd /usr/bin/ls /etc/group; getcap /usr/bin/cat')" \
		"the next session on the upper"
	fb --root base --keep k.tar --changes ch -- sh -c "$change"
	tar -tvf k.tar > list
	assert_contains list "-rw-r--r-- 3/3"
	assert_contains list "-rwsr-xr-x 0/0"
	assert_contains list "./etc/group"
	# A base file of several links: overlayfs copies the name changed up
	# as an inode of its own, which takes the change; the other name
	# keeps what it had, as for real root.  (Before: the change went to
	# the other name's record, and with --upper was lost.)
	for f in h1 h2 h3 h4; do : > base/etc/$f; ln base/etc/$f base/etc/$f-b; done
	local links='chown 1:2 /etc/h1; chmod u+s /etc/h2; chmod 600 /etc/h3; setcap cap_net_raw+ep /etc/h4'
	local show='stat -c "%u:%g %a %n" /etc/h1 /etc/h1-b /etc/h2 /etc/h2-b /etc/h3 /etc/h3-b; getcap /etc/h4 /etc/h4-b'
	local want="1:2 644 /etc/h1
0:0 644 /etc/h1-b
0:0 4644 /etc/h2
0:0 644 /etc/h2-b
0:0 600 /etc/h3
0:0 644 /etc/h3-b
/etc/h4 cap_net_raw=ep"
	assert_eq "$want" "$(fb --root base -- sh -c "$links; $show")" "hard links, in the session"
	rm -rf up2; mkdir up2
	fb --root base --upper up2 -- sh -c "$links"
	assert_eq "$want" "$(fb --root base --upper up2 -- sh -c "$show")" "hard links, the next session"
	assert_eq "M /etc/group
M /etc/motd
M /usr/bin/cat
M /usr/bin/ls" "$(grep -v '^M /\(usr\|usr/bin\|etc\)$' ch | sort -k2)" "the listed changes"
	assert_nothing_left
}

# Two roots on one --upper at once would be undefined for overlayfs (each
# has a work directory of its own, so it cannot tell): the second refuses,
# naming the directory, and leaves nothing behind; once the first ends it
# may run.
test_root_upper_used_by_one_root_at_a_time() {
	need_userns
	mkroot base
	"$FAKEBUILD" --root base --upper up -- sh -c 'touch /started; sleep 30' &
	local first=$! i
	for i in $(seq 200); do [ -e up/started ] && break; sleep 0.05; done
	[ -e up/started ] || fail "the first root never started"
	assert_status 1 fb --root base --upper up -- touch /second 2> err
	assert_contains err "--upper up: in use by another fakebuild root (one at a time)"
	[ ! -e up/second ] || fail "the second root ran"
	[ "$(ls -a . | grep -c '^\.fakebuild-work')" = 1 ] || fail "a second work directory: $(ls -a)"
	kill -TERM "$first"; wait "$first" || true
	fb --root base --upper up -- touch /second || fail "the upper stayed locked"
	[ -e up/second ] || fail "no /second in the upper"
	assert_nothing_left
}

# A directory a running root uses may change under no other root:
# its --upper neither holds another's upper nor is another's layer, and
# its layers are no other's upper (before: all accepted; the running
# root saw files appear behind its overlay).
test_root_directories_in_use_by_a_running_root_are_refused() {
	need_userns
	mkroot base
	mkdir lay
	"$FAKEBUILD" --root base --upper up -- sh -c 'touch /started; sleep 30' &
	local first=$! i
	for i in $(seq 200); do [ -e up/started ] && break; sleep 0.05; done
	[ -e up/started ] || fail "the first root never started"
	assert_status 1 fb --root base --upper up/sub -- true 2> err
	assert_contains err "--upper up/sub: inside $PWD/up, which a running fakebuild root uses as its --upper or a layer"
	assert_status 1 fb --root base --root up -- true 2> err
	assert_contains err "--root up: $PWD/up is the --upper of a running fakebuild root"
	kill -TERM "$first"; wait "$first" || true
	"$FAKEBUILD" --root base --root lay --upper up2 -- sh -c 'touch /started; sleep 30' &
	first=$!
	for i in $(seq 200); do [ -e up2/started ] && break; sleep 0.05; done
	[ -e up2/started ] || fail "the root on lay never started"
	assert_status 1 fb --root base --upper lay -- true 2> err2
	assert_contains err2 "--upper lay: in use by another fakebuild root (one at a time), as its --upper or a layer"
	assert_status 1 fb --root base --upper lay/up -- true 2> err2
	assert_contains err2 "--upper lay/up: inside $PWD/lay"
	fb --root base --root lay -- true || fail "a second root on the same layer"
	kill -TERM "$first"; wait "$first" || true
	fb --root base --upper lay -- true || fail "the layer stayed locked"
	assert_nothing_left
}

# Two roots making the same new --upper at once: the one that made it but
# lost the lock removed the directory the other was using (whose writes
# then failed and whose changes were lost).  strace delays the first
# one's flock so that the lock is taken between its mkdir and its flock.
test_root_upper_made_by_the_root_that_lost_the_lock_is_kept() {
	need_userns
	need strace flock
	mkroot base
	strace -f -qq -o /dev/null -e trace=flock -e inject=flock:delay_enter=400000 \
		"$FAKEBUILD" --root base --upper up -- true 2> err &
	local first=$! i
	for i in $(seq 400); do [ -d up ] && break; sleep 0.01; done
	[ -d up ] || fail "the root never made its upper"
	flock -n up sleep 3 &
	local holder=$!
	wait "$first" && fail "the root ran without the lock"
	assert_contains err "--upper up: in use by another fakebuild root (one at a time)"
	[ -d up ] || fail "the upper the lock holder uses was removed"
	kill "$holder"; wait "$holder" 2>/dev/null || true
	assert_nothing_left
}

# A mount point under a directory the base has as a symbolic link (a
# merged-/usr base: /lib -> usr/lib) is made where the link leads, as
# bubblewrap does: --bind SRC:/lib/x shows SRC at /lib/x and /usr/lib/x.
test_root_bind_under_a_symlinked_directory() {
	need_userns
	mkroot base
	mkdir src && echo here >src/f
	assert_eq "here
here" "$(fb --root base --ro-bind "$PWD/src:/lib/x" -- sh -c 'cat /lib/x/f /usr/lib/x/f')"
	assert_eq "here" "$(fb --root base --bind "$PWD/src:/bin/y/z" -- cat /usr/bin/y/z/f)"
	[ ! -e base/usr/lib/x ] || fail "the base was written"
	assert_nothing_left
}

# A command that ignores SIGTERM: the first TERM goes to it, a second
# ends the root at once (everything in it killed), leaving nothing.
test_root_second_signal_ends_the_root() {
	need_userns
	"$FAKEBUILD" --root / --bind "$PWD" -- sh -c 'trap "" TERM INT HUP; touch started; sleep 60; sleep 60' &
	local f=$! i
	for i in $(seq 200); do [ -e started ] && break; sleep 0.05; done
	[ -e started ] || fail "the root never started"
	kill -TERM "$f"; sleep 0.5
	kill -0 "$f" 2>/dev/null || fail "the first TERM ended a command that ignores it"
	kill -TERM "$f"
	local rc=0
	wait "$f" || rc=$?
	assert_eq 137 "$rc" "the exit status"
	assert_nothing_left
}

test_root_overlay_leaves_the_source_identical_and_lists_changes() {
	need_userns
	mkroot base
	mkdir -p src/d; echo a > src/a; echo b > src/b; echo c > src/d/c
	before=$(cd src && find . -printf '%p %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort)
	fb --root base --overlay "$PWD/src:/src" --changes changes --keep k.tar -- sh -c \
		'cd /src && echo new > n && chown 5:5 n && echo more >> a && rm b && rm -r d && mkdir e && pwd'
	after=$(cd src && find . -printf '%p %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort)
	assert_eq "$before" "$after" "the host copy"
	assert_eq "M /src/a
D /src/b
D /src/d/
A /src/e/
A /src/n" "$(sort -k2 changes)" "the listed changes"
	tar -tvf k.tar > list
	assert_contains list "5/5"
	grep -q './src/b' list && fail "a deleted file was kept"
	# The --overlay directory itself, as the build left it (before: no
	# entry in --keep, nothing in --changes; as a layer it was 0755 root's).
	fb --root base --overlay "$PWD/src:/src" --changes ch2 --keep k2.tar -- sh -c 'chown 5:5 /src; chmod 750 /src'
	assert_contains ch2 "M /src/"
	tar -tvf k2.tar > list2
	grep -qE '^drwxr-x--- 5/5 .* \./src/?$' list2 || { cat list2 >&2; fail "no ./src entry of 5/5 0750 in --keep"; }
	# the working directory inside, when it is shown there
	cd src
	assert_eq "$PWD" "$(fb --root ../base --overlay "$PWD" -- sh -c 'pwd')" "cwd"
}

# --changes names what the build changed in the base: a deleted directory
# with its slash, a directory whose own mode changed (not one that is in
# the upper layer only for its children's sake), and what a directory
# removed and made again no longer holds.  Before: "D /srv" without the
# slash, nothing for /var/mail, and nothing for cron.daily's old files.
test_root_changes_lists_directories() {
	need_userns
	mkroot base
	mkdir -p base/etc/cron.daily base/var/mail base/srv/old
	touch base/etc/cron.daily/a base/etc/cron.daily/b base/etc/keep
	chmod 2775 base/var/mail
	fb --root base --changes changes -- sh -c \
		'rm -r /etc/cron.daily /srv/old; mkdir /etc/cron.daily; touch /etc/cron.daily/new; chmod 700 /var/mail'
	assert_eq "D /etc/cron.daily/a
D /etc/cron.daily/b
A /etc/cron.daily/new
D /srv/old/
M /var/mail/" "$(sort -k2 changes)" "the listed changes"
}

# --changes over stacked layers sees them as the overlay merges them: a
# directory removed and made again hides what every lower layer held
# there (before: only the top layer's names were listed), and a file under
# a directory a lower layer made opaque is new, not changed (before: "M",
# from the layer under the opaque one).
test_root_changes_over_stacked_layers() {
	need_userns
	mkroot base
	mkdir -p base/etc/sub
	echo p > base/etc/passwd
	echo g > base/etc/group
	fb --root base --upper "$PWD/la" -- sh -c 'echo a > /etc/only; rm /etc/group'
	fb --root base --root "$PWD/la" --changes ch1 -- sh -c 'rm -r /etc; mkdir /etc; echo b > /etc/new'
	assert_eq "A /etc/new
D /etc/only
D /etc/passwd
D /etc/sub/" "$(sort -k2 ch1)" "over a layer that added and removed in /etc"
	fb --root base --upper "$PWD/lb" -- sh -c 'rm -r /etc; mkdir /etc'
	fb --root base --root "$PWD/lb" --changes ch2 -- sh -c 'ls -A /etc; echo x > /etc/passwd'
	assert_eq "A /etc/passwd" "$(cat ch2)" "under a directory a layer made opaque"
	fb --root base --root "$PWD/la" --changes ch3 -- sh -c 'echo y > /etc/passwd; echo z > /etc/group'
	assert_eq "A /etc/group
M /etc/passwd" "$(sort -k2 ch3)" "a file a layer removed is new"
}

# A directory whose owner, group, set-id bit or owner's permissions the
# build changed is listed, one chgrp'd to the group it had is not: none of
# those reach the disk, which --changes compared (before: of these only
# /etc/hostname was listed, though --keep held them all).
test_root_changes_lists_directories_changed_in_their_records() {
	need_userns
	mkroot base
	mkdir -p base/var/mail base/var/local base/opt
	echo h > base/etc/hostname
	fb sh -c 'chgrp 8 base/var/mail && chmod 2775 base/var/mail'
	fb --root base --changes changes -- sh -c \
		'chown 33:33 /srv; chown :0 /var/local; chmod g-s /var/mail; chmod 555 /opt; chown :8 /etc/hostname'
	assert_eq "M /etc/hostname
M /opt/
M /srv/
M /var/mail/" "$(sort -k2 changes)" "the listed changes"
	fb --root base --overlay "$PWD/base/var:/data" --changes ch2 -- sh -c 'chown :0 /data/local; chown 7 /data/mail'
	assert_eq "M /data/mail/" "$(cat ch2)" "in an --overlay"
}

# --changes escapes a control character or a backslash in a name as \ooo:
# a name holding a newline made a second line of its own ("D etcpasswd").
test_root_changes_escapes_names() {
	need_userns
	mkroot base
	fb --root base --changes changes -- sh -c 'touch "/srv/a
D etcpasswd" "/srv/back\\slash" "/srv/tab	x"'
	assert_eq 'A /srv/a\012D etcpasswd
A /srv/back\134slash
A /srv/tab\011x' "$(sort changes)" "the listed changes"
}

# A bound directory of another user's that the build user may search but
# not list (mode 0711): what the build recorded in it reaches the database
# by the names the records hold, as a plain session's chown there does
# (before: "cannot read: Permission denied", the chown lost, exit 1).
# Root makes the tree; the test user binds it.
roottest_root_bind_searchable_unlistable_directory() {
	mkdir -p u t1/d/e && chown 65534:65534 u && chmod 777 t1
	touch t1/d/k t1/d/e/m t1/d/n
	chown -R 12:34 t1/d && chmod 711 t1/d t1/d/e
	as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		env HOME="$PWD/u" FAKEBUILD_DB="$PWD/u/fb.db" TMPDIR="$PWD/u" "$@"; }
	as_user unshare -U -r -m true 2>/dev/null || skip "user namespaces are refused to this user here"
	assert_status 0 as_user "$FAKEBUILD" --root / --bind "$PWD/t1" -- \
		sh -c "chown 5:6 $PWD/t1/d/k && chown 7:8 $PWD/t1/d/e/m" 2> err
	[ ! -s err ] || fail "warnings: $(cat err)"
	assert_eq "5:6 7:8 0:0" "$(as_user "$FAKEBUILD" stat -c %u:%g t1/d/k t1/d/e/m t1/d/n | paste -sd' ')"
}

test_root_bind_changes_reach_plain_sessions() {
	need_userns
	mkdir w; touch w/f
	fb --root / --bind "$PWD/w" -- sh -c "cd $PWD/w && chown 7:8 f && touch g && chmod 4755 g && mknod n c 1 3"
	assert_eq "7:8 644
0:0 4755
0:0 1:3" "$(fb stat -c '%u:%g %a' w/f w/g && fb stat -c '%u:%g %t:%T' w/n)"
	# read-only binds are read-only
	assert_status 1 fb --root / --ro-bind "$PWD/w" -- sh -c "touch $PWD/w/x 2>/dev/null"
}

# A chown or a capability on a read-only mount fails with EROFS, as real
# root's do; before, only the record changed and the call succeeded.
test_root_read_only_bind_refuses_chown_and_xattrs() {
	need_userns
	need setcap
	mkdir w; touch w/f
	local out
	out=$(fb --root / --ro-bind "$PWD/w" -- sh -c "cd $PWD/w; chown 5:5 f; echo \$?; chown -h 5:5 .; echo \$?;
		setcap cap_net_raw+ep f; echo \$?; stat -c %u:%g f" 2>err)
	assert_eq "1 1 1 0:0" "$(echo $out)" "statuses and the owner after"
	assert_contains err "changing ownership of 'f': Read-only file system"
	assert_contains err "Read-only file system"
	assert_eq "0:0" "$(fb stat -c %u:%g w/f)" "the owner in a plain session"
	# A chmod whose bits the disk has already (a set-id bit lives in the
	# record only) and a chown of the working directory by AT_EMPTY_PATH
	# made no real call that could fail: both succeeded (helper-50).
	need python3
	out=$(fb --root / --ro-bind "$PWD/w" -- sh -c "cd $PWD/w; chmod u+s f; echo \$?; chmod 644 f; echo \$?;
		python3 -c 'import ctypes, os; l = ctypes.CDLL(None, use_errno=True)
print(l.fchownat(-100, b\"\", 4, 4, 0x1000), os.strerror(ctypes.get_errno()))'; stat -c '%a %u:%g' f ." 2>err)
	assert_eq "1 1 -1 Read-only file system 644 0:0 755 0:0" "$(echo $out)" "chmod and an AT_EMPTY_PATH chown"
}

# A directory in a writable --bind that fakebuild cannot read when it
# merges the build's records: the build could enter one of the user's own
# (mode 000: it has capabilities over the user's inodes), so what it
# recorded there is lost and fakebuild fails; one of another user's it
# could not enter either, and the records of the rest are all there is:
# a warning.  Before, both failed fakebuild with status 1.
roottest_root_bind_unreadable_directories_fail_only_if_records_are_lost() {
	mkdir -m 0755 u && chown 65534:65534 u && cd u
	mkdir -p p/ok p/theirs p/mine && touch p/ok/f
	chown -R 65534:65534 p && chown 0:0 p/theirs && chmod 0700 p/theirs
	user() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$PWD" FAKEBUILD_DB="$PWD/.state/fb.db" "$@"; }
	user unshare -U -r -m true 2>/dev/null || skip "user namespaces are refused to 65534 here"
	assert_status 0 user "$FAKEBUILD" --root / --bind "$PWD/p" -- chown 5:5 "$PWD/p/ok/f" 2> err
	assert_contains err "$PWD/p/theirs: cannot read: Permission denied; nor could the build, which recorded nothing there"
	assert_eq "5:5" "$(user "$FAKEBUILD" stat -c %u:%g p/ok/f)"
	# the build makes a record in the user's own directory of mode 000
	chmod 000 p/mine
	assert_status 1 user "$FAKEBUILD" --root / --bind "$PWD/p" -- sh -c \
		"touch $PWD/p/mine/g && chown 6:6 $PWD/p/mine/g $PWD/p/ok/f" 2> err
	assert_contains err "$PWD/p/mine: cannot read: Permission denied; the build, root of its namespace, could: what it recorded there is lost"
	assert_eq "6:6" "$(user "$FAKEBUILD" stat -c %u:%g p/ok/f)"
}

# Only the user's uid and gid are mapped in a root: overlayfs cannot copy
# up a file of another of the user's groups (EOVERFLOW), so the build
# cannot change it.  An --overlay source or a base directory of such a
# group is warned about before the build (before: only another owner was).
roottest_root_overlay_of_another_group_is_warned_about() {
	mkdir -m 0755 u && chown 65534:65534 u && cd u
	user() { setpriv --reuid=65534 --regid=65534 --groups=4242 env HOME="$PWD" FAKEBUILD_DB="$PWD/.state/fb.db" "$@"; }
	user unshare -U -r -m true 2>/dev/null || skip "user namespaces are refused to 65534 here"
	mkdir -p sg/etc && touch sg/f && chown -R 65534:4242 sg
	assert_status 1 user "$FAKEBUILD" --root / --overlay "$PWD/sg:/o" -- touch /o/f 2> err
	assert_contains err "warning: --overlay $PWD/sg has group 4242, not yours (65534)"
	assert_contains err "Value too large for defined data type"
	user "$FAKEBUILD" --root sg -- true 2> err || true
	assert_contains err "warning: --root sg has group 4242, not yours (65534)"
}

# The kept trees' records reach the user's table through a walk of each
# kept tree, whose cost grows with the tree (20,000 files: about 40 ms at
# every root's end); a build that recorded nothing has nothing to give
# back, and its end does not walk.  fakebuild's own statx calls show it.
test_root_that_records_nothing_does_not_walk_its_binds() {
	need_userns
	need strace
	mkdir -p w/d && (cd w/d && touch $(seq 400)) && fb chown 3:4 w/d/1
	# LeakSanitizer (make check SAN=1) cannot run under ptrace.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	# The statx calls of fakebuild itself (not its children) for COMMAND in the root.
	statx_calls() {
		strace -c -e trace=statx -o calls "$FAKEBUILD" --root / --bind "$PWD/w" -- "$@"
		awk '$NF == "statx" { n = $4 } END { print n + 0 }' calls
	}
	local n
	n=$(statx_calls true)
	[ "$n" -lt 100 ] || fail "the end of a root that recorded nothing made $n statx calls"
	n=$(statx_calls chown 5:6 "$PWD/w/d/2")
	[ "$n" -ge 400 ] || fail "a root that recorded a change walked no bind ($n statx calls)"
	assert_eq "3:4 5:6" "$(fb stat -c %u:%g w/d/1 w/d/2 | tr '\n' ' ' | sed 's/ $//')"
}

# A build may write any record into the root's table; only records of files
# in the kept trees reach the user's database.
test_root_build_cannot_forge_records_outside_the_kept_trees() {
	need_userns
	need cc
	mkdir w outside
	echo secret > outside/tool
	touch w/mine
	cat > forge.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "table.h"
int main(int argc, char **argv)
{
	struct fb_table *t;
	if (fb_table_attach(getenv("FAKEBUILD_TABLE"), &t) < 0)
		return 2;
	for (int i = 1; i + 1 < argc; i += 2) {
		struct fb_ident id = { .dev = strtoull(argv[i], 0, 10), .ino = strtoull(argv[i + 1], 0, 10),
				       .real_mode = S_IFREG | 0644 };
		struct fb_attr a = { .uid = 0, .gid = 0, .mode = S_IFREG | 04755 };
		if (fb_table_put(t, &id, &a, "/forged") < 0)
			return 3;
	}
	return 0;
}
EOF
	cc -D_GNU_SOURCE -I"$TOP/db" -o w/forge forge.c "$TOP/db/table.c" "$TOP/db/wlock.c" "$TOP/db/xblob.c" -lpthread || fail "cannot build the helper"
	key() { stat -c '%d %i' "$1"; }
	fb --root / --bind "$PWD/w" -- w/forge $(key outside/tool) $(key w/mine) ||
		fail "the helper could not write the root's table"
	assert_eq 644 "$(fb stat -c %a outside/tool)" "a file outside the kept trees"
	assert_eq 4755 "$(fb stat -c %a w/mine)" "a file in a writable bind (the build's to change)"
}

test_root_chroot_inside_keeps_the_library() {
	need_userns
	out=$(fb --root / -- sh -c '
		c=/tmp/c; mkdir -p $c/usr $c/proc $c/tmp
		mount --bind /usr $c/usr
		for l in bin sbin lib lib64 lib32 libx32; do [ -L /$l ] && ln -s $(readlink /$l) $c/$l; done
		mount -t proc proc $c/proc
		chroot $c /bin/sh -c "touch /tmp/y; chown 5:6 /tmp/y; stat -c %u:%g /tmp/y; id -u"
		umount $c/proc
		chroot $c /bin/sh -c "chown 7:8 /tmp/y; stat -c %u:%g /tmp/y"
		rmdir $c/proc
		chroot $c /bin/sh -c "chown 9:9 /tmp/y 2>/dev/null || echo unfaked"' 2>err)
	# /proc unmounted: the chroot gets one of its own (t_roots.sh);
	# no /proc directory at all: nothing can be done, and it is said.
	assert_eq "5:6
0
7:8
unfaked" "$out"
	assert_contains err "programs started in it run without fakebuild"
}

test_root_limits() {
	need_userns
	assert_eq "20" "$(fb --root / --limit nofile=20 -- sh -c 'ulimit -n')" "nofile"
	# above the hard limit: the hard limit, and a warning that says so
	hard=$(ulimit -Hn)
	if [ "$hard" != unlimited ]; then
		assert_eq "$hard" "$(fb --root / --limit nofile=99999999999 -- sh -c 'ulimit -n' 2>err)" "nofile capped"
		assert_contains err "--limit nofile=99999999999: above this user's hard limit; $hard instead"
	fi
	assert_eq "7" "$(fb --root / --limit cpu=7,fsize=1K -- sh -c 'ulimit -t')" "cpu"
	assert_status 153 fb --root / --limit fsize=1K -- sh -c 'head -c 4096 /dev/zero > /tmp/big'	# SIGXFSZ
	assert_status 1 fb --root / --limit as=64M -- sh -c 'python3 -c "x = bytearray(200 << 20)" 2>/dev/null'
	assert_status 2 fb --root / --limit nproc=3 -- sh -c 'for i in 1 2 3 4 5 6; do sleep 1 & done 2>/dev/null; wait' 2>/dev/null
	assert_status 1 fb --root / --limit bogus=1 -- true 2> err
	assert_contains err "expected NAME=VALUE"
	# cgroup limits need a delegated cgroup v2 subtree (below): said what is missing
	assert_status 1 fb --root / --limit memory=1G -- true 2> err
	assert_contains err "--limit memory: "
}

# ---- cgroup v2 limits ------------------------------------------------------
# The roottest_root_cgroup_* tests stand for a user with a delegated cgroup
# v2 subtree.  As root, each makes a cgroup of its own under the cgroup2
# mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid system),
# gives it to the test user as systemd's Delegate=yes does (the directory,
# cgroup.procs, cgroup.threads and cgroup.subtree_control chowned), and
# starts fakebuild as that user alone in it, as systemd-run --user --scope
# -p Delegate=yes does.  That cgroup is removed at the end, its processes
# killed, also when the test fails; nothing else of the host's cgroups is
# changed.
#
# Test-only hook: FAKEBUILD_TEST_CGROUP=nocontrollers makes the cgroup
# limits need no controller and write no limit, so that where the build's
# cgroup goes, what is in it and its removal are tested on a machine whose
# cgroup v2 hierarchy has no controllers (a hybrid one, where they are
# bound to cgroup v1).

# Run "$@" as the test user, alone in the cgroup $CG ($0 of the script).
CG_RUN='echo $$ > "$0/cgroup.procs" && exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"'

cg_setup() {
	need_userns
	CGM=$(awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
	[ -n "$CGM" ] || skip "no cgroup2 file system is mounted"
	CG=$CGM/fbtest-$$
	mkdir "$CG"
	trap cg_teardown EXIT
	chown 65534:65534 "$CG" "$CG/cgroup.procs" "$CG/cgroup.threads" "$CG/cgroup.subtree_control" .
}

cg_teardown() {
	local i p
	[ -d "$CG" ] || return 0
	for i in $(seq 50); do
		p=$(find "$CG" -name cgroup.procs -exec cat {} +)
		[ -z "$p" ] && break
		kill -KILL $p 2>/dev/null || true
		sleep 0.1
	done
	find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
}

# fakebuild as the test user, alone in $CG
fb_cg() {
	sh -c "$CG_RUN" "$CG" "$FAKEBUILD" "$@"
}

# Wait until FILE is there (the root started), or fail.
wait_for() {
	local i
	for i in $(seq 150); do [ -s "$1" ] && return 0; sleep 0.1; done
	fail "the root did not start"
}

# fb_cg ARGS... in the background, its pid (fakebuild's) in $pid, until
# the build inside has written FILE.
fb_cg_started() { # FILE ARGS...
	local file=$1
	shift
	sh -c "$CG_RUN" "$CG" "$FAKEBUILD" "$@" &
	pid=$!
	wait_for "$file"
}

# $CG as it was before fakebuild: no cgroup of fakebuild's in it, no
# controller turned on, and (once fakebuild's watcher has exited) no process.
assert_cg_clean() {
	local i
	assert_eq "" "$(find "$CG" -mindepth 1 -type d)" "cgroups left in $CG"
	assert_eq "" "$(cat "$CG/cgroup.subtree_control")" "controllers left on in $CG"
	for i in $(seq 50); do [ -z "$(cat "$CG/cgroup.procs")" ] && break; sleep 0.1; done
	assert_eq "" "$(cat "$CG/cgroup.procs")" "processes left in $CG"
}

# An --upper on an overlayfs is named as the cause, not blamed on the kernel.
roottest_root_upper_on_an_overlay_is_named() {
	mkdir -p ov/l ov/u ov/w ov/m
	mount -t overlay overlay -o "lowerdir=$PWD/ov/l,upperdir=$PWD/ov/u,workdir=$PWD/ov/w" ov/m
	trap 'umount "$PWD/ov/m" 2>/dev/null || true' EXIT
	chown 65534:65534 ov/m .
	mkroot base && chown -R 65534:65534 base
	setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
		unshare -U -r -m true 2>/dev/null || skip "user namespaces are refused to 65534 here"
	assert_status 1 setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
		"$FAKEBUILD" --root base --upper ov/m/up -- true 2> err
	assert_contains err "the upper directory is on an overlayfs, which overlayfs cannot write to"
}

# A --keep that the disk cannot hold names the archive and the reason, and leaves nothing.
roottest_root_keep_on_a_full_disk_says_why() {
	mkdir small
	mount -t tmpfs -o size=64k tmpfs small
	trap 'umount "$PWD/small" 2>/dev/null || true' EXIT
	chown 65534:65534 small .
	mkroot base && chown -R 65534:65534 base
	setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
		unshare -U -r -m true 2>/dev/null || skip "user namespaces are refused to 65534 here"
	assert_status 1 setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
		"$FAKEBUILD" --root base --keep small/out.tar -- sh -c \
		'i=0; while [ $i -lt 5000 ]; do echo 0123456789012345678901234567890123456789012345678901234567890123; i=$((i+1)); done > /big' 2> err
	assert_contains err "--keep small/out.tar: "
	assert_contains err "No space left on device"
	[ -z "$(ls -A small)" ] || fail "left in small: $(ls -A small)"
	# --changes too is written whole or not at all (before: a partial list was left)
	assert_status 1 setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
		"$FAKEBUILD" --root base --changes small/changes -- sh -c \
		'mkdir /a; i=0; while [ $i -lt 3000 ]; do : > /a/file-with-a-long-name-$i; i=$((i+1)); done' 2> err
	assert_contains err "--changes small/changes: not written: No space left on device"
	[ -z "$(ls -A small)" ] || fail "left in small: $(ls -A small)"
}

roottest_root_cgroup_holds_the_whole_build_and_goes_with_it() {
	cg_setup
	export FAKEBUILD_TEST_CGROUP=nocontrollers
	sh -c "$CG_RUN" "$CG" "$FAKEBUILD" --root / --bind "$PWD" --limit pids=64 -- \
		sh -c 'sleep 3101 & setsid sleep 3102 & grep ^0:: /proc/self/cgroup > inside; echo up > up; wait' 2> err &
	pid=$!
	wait_for up
	b=$CG/fakebuild-$pid-build
	assert_eq "0::${b#$CGM}" "$(cat inside)" "the command's cgroup"
	# pid 1, the shell and both sleeps (the setsid one too); nothing else
	assert_eq 4 "$(wc -l < "$b/cgroup.procs")" "processes in the build's cgroup"
	# fakebuild and its watcher beside it, the delegated cgroup itself empty
	assert_eq 2 "$(wc -l < "$CG/fakebuild-$pid/cgroup.procs")" "processes in fakebuild's cgroup"
	grep -qx "$pid" "$CG/fakebuild-$pid/cgroup.procs" || fail "fakebuild is not in its cgroup"
	assert_eq "" "$(cat "$CG/cgroup.procs")" "processes in the delegated cgroup"
	assert_eq "$CG/fakebuild-$pid $b" "$(find "$CG" -mindepth 1 -type d | sort | tr '\n' ' ' | sed 's/ $//')"
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	assert_eq 143 "$rc" "status after SIGTERM"
	assert_cg_clean
	# a normal end, and a root that fails in its pid 1
	assert_eq "" "$(fb_cg --root / --limit pids=64 -- true)"
	assert_cg_clean
	mkdir src
	assert_status 1 fb_cg --root / --bind "$PWD/src:/usr/nonexistent/x" --limit pids=64 -- true 2> err
	assert_contains err "cannot mount on /usr/nonexistent/x"
	assert_cg_clean
	# an archive base: the watcher of its unpacking moves aside with fakebuild
	mkroot base
	tar -C base -cf base.tar .
	chown -R 65534:65534 base base.tar
	fb_cg_started up2 --root base.tar --bind "$PWD" --limit pids=64 -- \
		sh -c 'echo up > up2; sleep 3103'
	assert_eq "" "$(cat "$CG/cgroup.procs")" "processes in the delegated cgroup"
	assert_eq 2 "$(wc -l < "$CG/fakebuild-$pid/cgroup.procs")" "processes in fakebuild's cgroup"
	assert_eq 3 "$(wc -l < "$CG/fakebuild-$pid-build/cgroup.procs")" "processes in the build's cgroup: pid 1, sh, sleep"
	kill -TERM $pid
	wait $pid || true
	assert_cg_clean
}

roottest_root_cgroup_is_undone_when_user_namespaces_are_refused() {
	cg_setup
	export FAKEBUILD_TEST_CGROUP=nocontrollers
	# user.max_user_namespaces is per user namespace: 0 inside our own
	assert_status 1 sh -c "$CG_RUN" "$CG" unshare -U -r sh -c \
		'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" --root / --limit pids=64 -- true' \
		"$FAKEBUILD" 2> err
	assert_contains err "user.max_user_namespaces is 0"
	assert_cg_clean
}

roottest_root_cgroup_sigkill_of_fakebuild_leaves_nothing() {
	cg_setup
	export FAKEBUILD_TEST_CGROUP=nocontrollers
	fb_cg_started up --root / --bind "$PWD" --limit pids=64 -- \
		sh -c 'sleep 3131 & setsid sleep 3132 & echo up > up; wait'
	[ -d "$CG/fakebuild-$pid-build" ] || fail "no cgroup for the build"
	kill -KILL $pid
	wait $pid || true
	# the watcher undoes it all once fakebuild and the namespace are gone
	for i in $(seq 100); do [ -z "$(find "$CG" -mindepth 1 -type d)" ] && break; sleep 0.1; done
	assert_cg_clean
}

roottest_root_cgroup_left_by_a_crash_is_reclaimed() {
	cg_setup
	export FAKEBUILD_TEST_CGROUP=nocontrollers
	fb_cg_started up --root / --bind "$PWD" --limit pids=64 -- \
		sh -c 'sleep 3141 & echo up > up; wait'
	# fakebuild and its watcher killed together: nobody left to clean up
	kill -KILL $(cat "$CG/fakebuild-$pid/cgroup.procs")
	wait $pid || true
	for i in $(seq 100); do grep -q 'populated 0' "$CG/cgroup.events" && break; sleep 0.1; done
	[ -d "$CG/fakebuild-$pid" ] && [ -d "$CG/fakebuild-$pid-build" ] || fail "nothing was left to reclaim"
	# the next fakebuild in that cgroup removes what a dead one left
	fb_cg --root / --limit pids=64 -- true
	assert_cg_clean
}

roottest_root_cgroup_in_the_hierarchy_root() {
	need_userns
	CGM=$(awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
	[ -n "$CGM" ] || skip "no cgroup2 file system is mounted"
	[ "$(awk -F: '$1 == 0 { print $3 }' /proc/self/cgroup)" = / ] ||
		skip "this test does not run in the cgroup v2 hierarchy's root"
	[ ! -e "$CGM/cgroup.type" ] || skip "the top of $CGM is a cgroup namespace's, not the hierarchy's root"
	# root in the root cgroup, where processes and child cgroups mix: the
	# build's cgroup goes right there, fakebuild stays where it is
	export FAKEBUILD_TEST_CGROUP=nocontrollers
	local cg
	cg=$(fb --root / --limit pids=64 -- cat /proc/self/cgroup | grep ^0::)
	assert_match '^0::/fakebuild-[0-9]+-build$' "$cg" "the command's cgroup"
	if [ -d "$CGM/${cg#0::/}" ]; then
		rmdir "$CGM/${cg#0::/}"
		fail "$CGM/${cg#0::/} left"
	fi
}

roottest_root_cgroup_missing_controller_is_named() {
	cg_setup
	local l c
	for l in memory=64M pids=64 cpus=0.5; do
		c=${l%%=*}; [ "$c" = cpus ] && c=cpu
		if grep -qw "$c" "$CG/cgroup.controllers"; then
			echo "the '$c' controller is available here: not tested"
			continue
		fi
		assert_status 1 fb_cg --root / --limit "$l" -- true 2> err
		if grep -qw "$c" "$CGM/cgroup.controllers"; then
			assert_contains err "--limit ${l%%=*}: the cgroup v2 '$c' controller does not reach fakebuild's cgroup $CG: $CGM/cgroup.subtree_control does not enable it"
		else
			assert_contains err "--limit ${l%%=*}: the cgroup v2 hierarchy at $CGM has no '$c' controller ($CGM/cgroup.controllers lacks it)"
		fi
		assert_cg_clean
	done
}

roottest_root_cgroup_needs_fakebuild_alone_in_it() {
	cg_setup
	export FAKEBUILD_TEST_CGROUP=nocontrollers
	assert_status 1 sh -c 'echo $$ > "$0/cgroup.procs" && { sleep 3161 & } &&
		until [ "$(cat /proc/$!/comm)" = sleep ]; do :; done &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"' \
		"$CG" "$FAKEBUILD" --root / --limit pids=64 -- true 2> err
	assert_contains err "--limit pids: fakebuild's cgroup $CG holds other processes too (pid "
	assert_contains err "(sleep)), and cgroup v2 passes controllers on only from a cgroup that holds no process"
	assert_contains err "systemd-run --user --scope -p Delegate=yes fakebuild"
	kill $(cat "$CG/cgroup.procs")
	assert_cg_clean
}

roottest_root_cgroup_not_delegated_is_named() {
	cg_setup
	export FAKEBUILD_TEST_CGROUP=nocontrollers
	local f
	for f in "" /cgroup.procs /cgroup.subtree_control; do
		chown 0:0 "$CG$f"
		assert_status 1 fb_cg --root / --limit memory=1G -- true 2> err
		assert_contains err "--limit memory: fakebuild's cgroup $CG is not delegated to you: $CG$f is not writable (owned by uid 0); run fakebuild in a cgroup of its own that you may manage, e.g. systemd-run --user --scope -p Delegate=yes fakebuild ..."
		chown 65534:65534 "$CG$f"
		assert_cg_clean
	done
}

roottest_root_cgroup_without_cgroup2_is_named() {
	cg_setup
	# a mount namespace of our own without the cgroup2 mounts
	assert_status 1 unshare -m --propagation private sh -c \
		'awk "/ - cgroup2 / { print \$5 }" /proc/self/mountinfo | while read m; do umount -l "$m"; done &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"' \
		sh "$FAKEBUILD" --root / --limit cpus=1 -- true 2> err
	assert_contains err "--limit cpus: needs cgroup v2, and no cgroup2 file system is mounted"
	assert_cg_clean
}

test_root_cgroup_options_are_checked() {
	need_userns
	check() { # MESSAGE LIMIT
		assert_status 1 fb --root / --limit "$2" -- true 2> err
		assert_contains err "$1"
	}
	check "--limit cpus=abc: 'abc' is not a number" cpus=abc
	check "--limit cpus=0: cpus must be at least 0.01" cpus=0
	check "--limit cpus=0.001: cpus must be at least 0.01" cpus=0.001
	check "--limit cpus=1.2345: 1.2345 has more than three decimals" cpus=1.2345
	check "--limit cpus=1.5x: unexpected 'x'" cpus=1.5x
	check "--limit memory=0: memory must be more than 0" memory=0
	check "--limit memory=1X: unknown size suffix 'X'" memory=1X
	check "--limit memory=99999999999T: 99999999999T is too large" memory=99999999999T
	check "--limit pids=: '' is not a number" pids=
	check "--limit pids=-1: '-1' is not a number" pids=-1
}

test_root_cgroup_not_delegated_is_named() {
	need_userns
	local cg
	cg=$(awk -F: '$1 == 0 { print $3 }' /proc/self/cgroup)
	[ -n "$cg" ] || skip "no cgroup v2 here"
	FAKEBUILD_TEST_CGROUP=nocontrollers assert_status 1 fb --root / --limit pids=8 -- true 2> err
	grep -q "holds other processes too" err && skip "this test's cgroup is delegated to its user"
	assert_contains err "--limit pids: fakebuild's cgroup "
	assert_contains err "${cg%/} is not delegated to you"
	assert_contains err "systemd-run --user --scope -p Delegate=yes fakebuild ..."
}

# Enforcement needs the controllers; this machine's hierarchy may not have them.
roottest_root_cgroup_enforces_memory_pids_and_cpus() {
	cg_setup
	local c b t n
	for c in memory pids cpu; do
		grep -qw "$c" "$CG/cgroup.controllers" || skip "no cgroup v2 '$c' controller for a \
cgroup under $CGM (its cgroup.controllers: '$(cat "$CGM/cgroup.controllers")', cgroup.subtree_control: \
'$(cat "$CGM/cgroup.subtree_control")')"
	done
	need python3
	# the limits, where the kernel takes them
	fb_cg_started up --root / --bind "$PWD" --limit memory=64M,pids=40,cpus=0.5 -- \
		sh -c 'echo up > up; sleep 3171'
	b=$CG/fakebuild-$pid-build
	assert_eq 67108864 "$(cat "$b/memory.max")" "memory.max"
	[ ! -e "$b/memory.swap.max" ] || assert_eq 0 "$(cat "$b/memory.swap.max")" "memory.swap.max"
	assert_eq 40 "$(cat "$b/pids.max")" "pids.max"
	assert_eq "50000 100000" "$(cat "$b/cpu.max")" "cpu.max"
	for c in memory pids cpu; do grep -qw $c "$CG/cgroup.subtree_control" || fail "$c not enabled"; done
	kill -TERM $pid
	wait $pid || true
	assert_cg_clean
	# memory: a build taking more is killed by the kernel, and told
	assert_status 137 fb_cg --root / --limit memory=64M,nproc=500 -- \
		python3 -c 'b = b"x" * (512 << 20)' 2> err
	assert_contains err "--limit memory: the build went over memory.max: the kernel killed "
	assert_status 0 fb_cg --root / --limit memory=256M -- python3 -c 'b = b"x" * (16 << 20)'
	# pids: pid 1 and python count; nproc is the safety net if pids.max failed
	n=$(fb_cg -q --root / --limit pids=20,nproc=500 -- python3 -c '
import os, time
n = 0
for i in range(200):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
    except OSError:
        break
    n += 1
print(n)' 2>/dev/null)
	[ "$n" -ge 10 ] && [ "$n" -le 18 ] || fail "$n processes forked under pids=20 (18 expected)"
	# a fork bomb is stopped
	fb_cg --root / --limit pids=32,nproc=400 -- sh -c 'b() { b | b & }; b; sleep 2' > /dev/null 2> err || true
	assert_contains err "--limit pids: the build reached pids.max"
	# cpus: 0.2 of a CPU for 2 seconds of a busy loop
	# (process_time: the scheduler's count; os.times' ticks can be far off in a VM)
	t=$(fb_cg --root / --limit cpus=0.2 -- python3 -c '
import time
t, p = time.time(), time.process_time()
while time.time() - t < 2:
    pass
print(int((time.process_time() - p) * 1000))')
	[ "$t" -lt 1000 ] || fail "a busy loop under cpus=0.2 took $t ms of CPU in 2 s"
	assert_cg_clean
}

# ---- errors a user can act on --------------------------------------------

test_root_userns_disabled_is_explained() {
	need_userns
	# user.max_user_namespaces is per user namespace: 0 inside our own
	unshare -U -r sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" --root / -- true' \
		"$FAKEBUILD" 2> err && fail "ran without user namespaces"
	assert_contains err "user.max_user_namespaces is 0"
	assert_nothing_left
}

# A container's seccomp filter (or a kernel before 5.6) without openat2(2),
# which resolves every path inside the root.
test_root_openat2_missing_is_explained() {
	need_userns
	[ "$(uname -m)" = x86_64 ] || skip "the seccomp helper filters x86_64 system calls"
	cc -O1 -o nosys "$TOP/tests/e2e/fixtures/root/nosys.c" 2>cc.err || skip "no C compiler: $(head -1 cc.err)"
	mkroot base
	assert_status 1 ./nosys 437 "$FAKEBUILD" --root base -- true 2> err
	assert_contains err "the kernel has no openat2(2)"
	assert_nothing_left
}

# An --upper that holds the cache the base is unpacked in: the kernel's
# ELOOP was reported as such ("Too many levels of symbolic links"); an
# upper overlayfs refuses (FUSE, NFS: EINVAL) was taken for a kernel
# before 5.11 (checked by hand with bindfs: needs root to mount).
test_root_upper_overlapping_the_cache_is_explained() {
	need_userns
	mkroot base
	tar -C base -cf base.tar .
	mkdir up
	assert_status 1 env XDG_CACHE_HOME="$PWD/up/cache" "$FAKEBUILD" --root base.tar --upper up -- true 2> err
	assert_contains err "--root: the kernel refused the overlay mount (Too many levels of symbolic links): the upper directory and a lower one overlap"
	assert_nothing_left
}

test_root_overlayfs_unavailable_is_explained() {
	need_userns
	mkroot base
	FAKEBUILD_TEST_OVERLAYFS=nosuchfs assert_status 1 fb --root base -- true 2> err
	assert_contains err "overlayfs is not available in this kernel"
	tar -C base -cf base.tar .
	FAKEBUILD_TEST_OVERLAYFS=nosuchfs assert_status 1 fb --root base.tar -- true 2> err
	assert_contains err "overlayfs is not available"
	[ ! -d .cache/fakebuild/roots ] || [ -z "$(ls -A .cache/fakebuild/roots)" ] ||
		fail "unpacked although overlayfs was missing"
	assert_nothing_left
}

test_root_bad_bases_and_options_are_refused() {
	need_userns
	mkdir notaroot up
	check() { # MESSAGE ARGS...
		local m=$1; shift
		assert_status 1 fb "$@" -- true 2> err
		assert_contains err "$m"
	}
	check "--root /nonexistent: No such file or directory" --root /nonexistent
	check "not a root: no usr, bin or etc" --root notaroot
	# an archive that is not a root: refused before it is cached
	tar -cf empty.tar -T /dev/null
	check "--root empty.tar: not a root" --root empty.tar
	: >zero.tar
	check "--root zero.tar: an empty file, not an archive" --root zero.tar
	mkdir -p ar/srv && tar -C ar -cf srv.tar .
	check "--root srv.tar: not a root: no usr, bin or etc" --root srv.tar
	mkdir -p locked/usr && chmod 000 locked
	check "--root locked: Permission denied" --root locked
	chmod 755 locked
	[ ! -d .cache/fakebuild/roots ] || [ -z "$(ls -A .cache/fakebuild/roots)" ] ||
		fail "a rejected base was cached: $(ls -A .cache/fakebuild/roots)"
	check "--upper and --keep need a base" --root / --upper up
	check "refusing to make the host's / writable" --root / --bind /
	check "--bind $PWD/missing: No such file or directory" --root / --bind "$PWD/missing"
	check "not a name of an archive" --root up --keep out.nosuch
	check "not a name of an archive" --root up --keep out.gz
	check "not a name of an archive" --root up --keep out.tar.nosuch
	check "need --root BASE" --bind "$PWD/up"
	check "cannot be combined with -i" --root / -s x.db
	# a base of another owner works, read-only, with a warning
	fb --root /usr -- true 2> err || fail "a base owned by root did not run"
	assert_contains err "is owned by uid 0: its files are read-only inside"
	# -q silences the list of leftover processes only (fakebuild-pkgbuild
	# passes it, and its build then failed on apt's lock with no reason)
	fb -q --root /usr -- true 2> err || fail "a base owned by root did not run (-q)"
	assert_contains err "is owned by uid 0: its files are read-only inside"
	assert_status 1 fb sh -c '"$0" --root / -- true' "$FAKEBUILD" 2> err
	assert_contains err "cannot run inside a fakebuild session"
	check "the destination after ':' must be an absolute path" --root / --bind "$PWD/up:rel"
	# Over the root's /proc (the library and fakebuild read it), and an
	# upper written behind overlayfs's back through a bind of it.
	check "--bind $PWD/up: cannot mount on /proc: the root's own /proc must stay there" \
		--root / --bind "$PWD/up:/proc"
	mkdir dbase && cp -a notaroot/. dbase/ && mkdir dbase/usr
	check "--upper up: --bind $PWD/up is the upper directory or inside it" \
		--root dbase --upper up --bind "$PWD/up:/mnt"
	check "--upper up: it is inside --bind $PWD, through which the build would change it" \
		--root dbase --upper up --bind "$PWD:/mnt"
	# An archive base needs the cache; sbuild's HOME=/nonexistent is not
	# made: the cache goes beside the default database's fallback,
	# $TMPDIR/fakebuild-UID (before: refused, and that directory was left).
	mkroot base && tar -C base -cf base.tar .
	mkdir tmp
	env -u XDG_CACHE_HOME -u XDG_STATE_HOME HOME="$PWD/gone" TMPDIR="$PWD/tmp" \
		"$FAKEBUILD" --root base.tar -- true || fail "--root of an archive with HOME=$PWD/gone"
	[ -d "tmp/fakebuild-$(id -u)/cache" ] || fail "no cache in $PWD/tmp/fakebuild-$(id -u)"
	[ ! -e gone ] || fail "made the missing HOME $PWD/gone"
	# Nor a HOME there that cannot be written (before: "cache
	# HOME/.cache: Permission denied", where the database went on).
	rm -rf "tmp/fakebuild-$(id -u)/cache"
	mkdir rohome && chmod 555 rohome
	env -u XDG_CACHE_HOME -u XDG_STATE_HOME HOME="$PWD/rohome" TMPDIR="$PWD/tmp" \
		"$FAKEBUILD" --root base.tar -- true || fail "--root of an archive with HOME=$PWD/rohome"
	[ -d "tmp/fakebuild-$(id -u)/cache" ] || fail "no cache in $PWD/tmp/fakebuild-$(id -u) for a read-only HOME"
	[ -z "$(ls -A up)" ] || fail "something was written"
	assert_nothing_left
}

# A build root's own tables (the root's live table, the table of an
# archive base being unpacked) under ulimit -f: the limit is named too
# (before: only "File too large").
test_root_tables_over_the_file_size_limit_are_named() {
	need_userns
	mkroot base
	tar -C base -cf base.tar .
	assert_status 1 sh -c 'ulimit -f 4000; exec "$0" --root base.tar -- true' "$FAKEBUILD" 2> err
	assert_contains err "cannot create its table: File too large: over the file size limit (ulimit -f)"
	fb --root base.tar -- true
	assert_status 1 sh -c 'ulimit -f 4000; exec "$0" --root base.tar -- true' "$FAKEBUILD" 2> err
	assert_contains err "cannot create the root's live table: File too large: over the file size limit (ulimit -f): raise the limit or set a smaller FAKEBUILD_CAPACITY"
}

# ---- real use: the bundled examples ----------------------------------------

test_root_hello_make_install_gives_the_same_archive() {
	need_userns
	need make cc tar
	mkdir host root
	cp -r "$TOP/examples/hello" host/ && cp -r "$TOP/examples/hello" root/
	fb make -s -C host/hello install DESTDIR="$PWD/host/proto" >/dev/null
	fb --root / --bind "$PWD/root" -- make -s -C "$PWD/root/hello" install DESTDIR="$PWD/root/proto" >/dev/null
	tarit() { fb tar --sort=name --mtime=@0 --numeric-owner --format=gnu -C "$1" -cf - . | sha256sum; }
	assert_eq "$(tarit host/proto)" "$(tarit root/proto)" "archive of the root's install, made on the host"
	assert_eq "$(tarit host/proto)" \
		"$(fb --root / --bind "$PWD/root" -- tar --sort=name --mtime=@0 --numeric-owner --format=gnu -C "$PWD/root/proto" -cf - . | sha256sum)" \
		"archive made inside the root"
	fb tar -tvf - -C root/proto . < /dev/null >/dev/null 2>&1 || true
	assert_eq "-rwsr-xr-x 0/0" "$(fb tar --numeric-owner -C root/proto -cf - ./usr/bin/hello | tar -tvf - | awk '{print $1, $2}')"
}

test_root_dpkg_buildpackage_gives_the_same_deb() {
	need_userns
	need dpkg-buildpackage dh dpkg-deb make cc
	# Both builds in one directory, b/pkg: build flags from the
	# environment (an outer dpkg-buildpackage's, in the Debian package's
	# own build) may map another prefix than the build directory, which
	# then goes into the binary.
	mkdir host root b
	cp -r "$TOP/examples/debpkg" b/pkg
	(cd b/pkg && fb dpkg-buildpackage -b -us -uc > ../../host/log 2>&1) || { tail -n 20 host/log >&2; fail "host build"; }
	mv b/fbdemo_* host/ && rm -rf b/pkg && cp -r "$TOP/examples/debpkg" b/pkg
	fb --root / --bind "$PWD/b" -- sh -c "cd $PWD/b/pkg && dpkg-buildpackage -b -us -uc" > root/log 2>&1 ||
		{ tail -n 20 root/log >&2; fail "build in the root"; }
	mv b/fbdemo_* root/
	h=$(echo host/fbdemo_*.deb) r=$(echo root/fbdemo_*.deb)
	assert_eq "$(dpkg-deb -c "$h" | awk '{print $1, $2, $6}')" "$(dpkg-deb -c "$r" | awk '{print $1, $2, $6}')" "contents"
	grep -q '^-rwsr-xr-x root/root ./usr/bin/fbdemo$' <<<"$(dpkg-deb -c "$r" | awk '{print $1, $2, $6}')" ||
		fail "setuid root binary not in the package built in the root"
	assert_eq "$(dpkg-deb -I "$h" control)" "$(dpkg-deb -I "$r" control)" "control"
	cmp "$h" "$r" || fail "the .deb files differ"
}

# The suite's user is 65534, which is also the id an unmapped user reads
# inside a fresh user namespace: a probe that asked for its ids there
# mapped 65534 and passed for it alone.  Any other user's first root from
# an archive failed ("mounting in it does not work").  Run as uid 4242.
roottest_root_archive_base_works_for_a_user_other_than_65534() {
	need_userns
	mkroot base
	tar -C base -cf base.tar .
	mkdir home && chown 4242:4242 home base.tar
	as4242() {
		setpriv --reuid=4242 --regid=4242 --clear-groups -- env HOME="$PWD/home" \
			XDG_CACHE_HOME="$PWD/home/cache" FAKEBUILD_DB="$PWD/home/fb.db" "$FAKEBUILD" "$@"
	}
	setpriv --reuid=4242 --regid=4242 --clear-groups -- unshare -U -r -m true 2>/dev/null ||
		skip "user namespaces are refused to uid 4242 here"
	out=$(as4242 --root base.tar -- id -u 2>err) || { cat err >&2; fail "a root from an archive as uid 4242"; }
	assert_eq 0 "$out" "id inside"
	assert_contains err "unpacking"
	out=$(as4242 --root base.tar --upper "$PWD/home/up" -- sh -c 'touch /srv/x; chown 5:6 /srv/x; id -u')
	assert_eq 0 "$out" "a root with an upper"
	assert_eq "5:6" "$(as4242 --root base.tar --root "$PWD/home/up" -- stat -c %u:%g /srv/x)" "the upper as a layer"
}
