# fakebuild-pkgbuild, offline: the errors a user meets before anything is
# downloaded, and an unreachable mirror for --create (a port nothing
# listens on).  Building real packages needs Debian's archive:
# scripts/check-roots (`make check-roots`) builds examples/debpkg and hello.

PKGBUILD=$B/bin/fakebuild-pkgbuild
pkgbuild() { "$PKGBUILD" "$@"; }

# No temporary directory of fakebuild-pkgbuild's left in DIR ($1).
no_temp_left() {
	ls -A "$1" | grep -q '^\.\?fakebuild-pkgbuild\.' && { ls -la "$1" >&2; fail "a temporary directory was left in $1"; }
	return 0
}

test_pkgbuild_usage_and_bad_input() {
	assert_status 0 pkgbuild --help > help
	assert_contains help "usage: fakebuild-pkgbuild [options] BASE SOURCE"
	# Help needs no fakebuild (before: "FAKEBUILD=/nonexistent: not an
	# executable file", status 2, no help).
	FAKEBUILD=/nonexistent assert_status 0 pkgbuild --help > help
	assert_contains help "usage: fakebuild-pkgbuild [options] BASE SOURCE"
	FAKEBUILD=/nonexistent assert_status 2 pkgbuild a b 2> err
	assert_contains err "FAKEBUILD=/nonexistent: not an executable file"
	assert_eq "fakebuild-pkgbuild (fakebuild) $("$FAKEBUILD" --version | sed 's/.* //')" "$(pkgbuild --version)"
	assert_status 2 pkgbuild 2> err
	assert_contains err "usage:"
	assert_status 2 pkgbuild --bogus a b 2> err
	assert_contains err "unknown option --bogus"
	assert_status 2 pkgbuild --stall-timeout 5x a b 2> err
	assert_contains err "--stall-timeout 5x: not a number of minutes (or Ns: seconds)"
	# --variant and --include without --create were dropped silently.
	assert_status 2 pkgbuild --variant minbase a b 2> err
	assert_contains err "--variant applies to --create only"
	# An unknown variant is a usage error, said before any root is made
	# (before: mmdebstrap's refusal, exit 3).
	assert_status 2 pkgbuild --create --variant=tiny bookworm b.tar 2> err
	assert_contains err "--variant tiny: not one of mmdebstrap's"
	# and -o and --net with --create were ignored
	assert_status 2 pkgbuild --create --net a b.tar 2> err
	assert_contains err "--net applies to a build, not to --create (which always has the network)"
	assert_status 2 pkgbuild --create -oout a b.tar 2> err
	assert_eq "fakebuild-pkgbuild: -o applies to a build, not to --create (which writes BASE)" "$(cat err)"
	assert_status 2 pkgbuild --include=gcc a b 2> err
	assert_contains err "--include applies to --create only"
	# -oDIR, as getopt takes it (was: unknown option).
	assert_status 2 pkgbuild -onotdir2/x nobase.tar src 2> err
	assert_contains err "nobase.tar: no such base"
	assert_status 2 pkgbuild nobase.tar src 2> err
	assert_contains err "nobase.tar: no such base (make one with fakebuild-pkgbuild --create SUITE nobase.tar)"
	touch base.tar
	assert_status 2 pkgbuild base.tar nosrc 2> err
	assert_contains err "nosrc: no such source package"
	mkdir tree
	assert_status 2 pkgbuild base.tar tree 2> err
	assert_contains err "tree: not a Debian source tree (no debian/control or debian/changelog)"
	mkdir tree/debian && touch tree/debian/control && echo 'garbage' > tree/debian/changelog
	assert_status 2 pkgbuild base.tar tree 2> err
	assert_contains err "tree/debian/changelog: line 1: expected 'SOURCE (VERSION) ...'"
	echo x > p.tar.gz
	assert_status 2 pkgbuild base.tar p.tar.gz 2> err
	assert_contains err "p.tar.gz: neither a .dsc file nor a source directory"
	printf 'Format: 3.0 (quilt)\nSource: p\nVersion: 1.0-1\nFiles:\n 0123 10 p_1.0.orig.tar.gz\n 4567 20 p_1.0-1.debian.tar.xz\n' > p_1.0-1.dsc
	touch p_1.0.orig.tar.gz
	assert_status 2 pkgbuild base.tar p_1.0-1.dsc 2> err
	assert_contains err "p_1.0-1.dsc: p_1.0-1.debian.tar.xz is missing beside it"
	printf 'Source: p\nVersion: 1.0-1\n' > q.dsc
	assert_status 2 pkgbuild base.tar q.dsc 2> err
	assert_contains err "q.dsc: no Files: field"
	touch p_1.0-1.debian.tar.xz notdir
	assert_status 2 pkgbuild -o notdir/out base.tar p_1.0-1.dsc 2> err
	assert_contains err "notdir/out: cannot make the output directory: Not a directory"
	mkdir ro && chmod 555 ro
	assert_status 2 pkgbuild -o ro base.tar p_1.0-1.dsc 2> err
	assert_contains err "ro: cannot write there: permission denied"
	# A TMPDIR that cannot be written is bad input too, named.
	mkdir -p good/debian rotmp && chmod 555 rotmp
	printf 'p (1.0) unstable; urgency=low\n' > good/debian/changelog
	touch good/debian/control
	assert_status 2 env TMPDIR="$PWD/rotmp" "$PKGBUILD" -o out2 base.tar good 2> err
	assert_contains err "$PWD/rotmp: cannot make a temporary directory there (TMPDIR)"
	[ -z "$(ls -A out2)" ] || fail "a build that never started left $(ls -A out2)"
	assert_status 2 env FAKEBUILD=/nonexistent "$PKGBUILD" base.tar good 2> err
	assert_contains err "FAKEBUILD=/nonexistent: not an executable file"
	assert_status 2 pkgbuild --stall-timeout 99999999999999999999 base.tar good 2> err
	assert_contains err "--stall-timeout 99999999999999999999: too large"
	# --create: a name mmdebstrap can write, in a directory we can write.
	assert_status 2 pkgbuild --create bookworm base.img 2> err
	assert_contains err "base.img: not a tarball name"
	# Names mmdebstrap makes a directory of (before: accepted, then
	# "made base.tzst", a directory).
	for n in base.tzst base.tar.br; do
		assert_status 2 pkgbuild --create bookworm $n 2> err
		assert_contains err "$n: not a tarball name"
	done
	assert_status 2 pkgbuild --create bookworm /nonexistent/b.tar 2> err
	assert_contains err "/nonexistent/b.tar: cannot write in /nonexistent"
	mkdir d.tar
	assert_status 2 pkgbuild --create bookworm d.tar 2> err
	assert_contains err "d.tar: a directory"
	no_temp_left .
}

# A base archive cut short: the root cannot be made (exit 3), fakebuild's
# reason is in the message, and nothing is left: no cache entry, no
# temporary directory, no process; the output directory holds the log.
test_pkgbuild_truncated_base() {
	need_userns
	mkdir -p base/etc base/usr/bin src/debian
	head -c 300000 /dev/urandom > base/usr/bin/big
	tar -czf base.tar.gz -C base .
	head -c $(( $(stat -c %s base.tar.gz) / 2 )) base.tar.gz > cut.tar.gz
	printf 'p (1.0) unstable; urgency=low\n' > src/debian/changelog
	touch src/debian/control
	mkdir tmp
	export TMPDIR=$PWD/tmp
	assert_status 3 pkgbuild -q -o out cut.tar.gz src 2> err
	assert_contains err "fakebuild-pkgbuild: p 1.0: cannot prepare the root (base, network or Build-Depends): fakebuild: --root cut.tar.gz: truncated or corrupt archive"
	assert_contains err "see $PWD/out/p_1.0_"
	# Without -q the output goes through a tee, which has written all of
	# it before the reason is looked for in the log (it once raced).
	for i in 1 2 3 4 5; do
		assert_status 3 pkgbuild -o out cut.tar.gz src > o 2> err
		assert_contains err "cannot prepare the root (base, network or Build-Depends): fakebuild: --root cut.tar.gz: truncated or corrupt archive"
	done
	[ -z "$(ls -A tmp)" ] || fail "left in TMPDIR: $(ls -A tmp)"
	[ -z "$(ls -A .cache/fakebuild/roots 2>/dev/null)" ] || fail "a cache entry was made"
	[ "$(ls out)" = "p_1.0_$(dpkg --print-architecture 2>/dev/null || uname -m).build" ] || fail "out: $(ls out)"
}

# --create with a mirror that cannot be reached: mmdebstrap's error, exit
# 3, no base and no temporary directory, nothing mounted or running.
test_pkgbuild_create_unreachable_mirror() {
	need_userns
	need mmdebstrap
	assert_status 3 pkgbuild -q --create bookworm "$PWD/b.tar" http://127.0.0.1:9/debian 2> err
	assert_contains err "Could not connect to 127.0.0.1:9"
	assert_contains err "fakebuild-pkgbuild: mmdebstrap bookworm failed: $PWD/b.tar not made"
	[ ! -e b.tar ] || fail "a base was left"
	no_temp_left .
	grep -F "$PWD" /proc/self/mountinfo && fail "mounts left"
	return 0
}

# A base whose apt-get does nothing and whose dpkg-buildpackage says how
# it was called and makes a package: the whole flow, offline.  With
# $PAUSE in the build's environment (DEB_BUILD_OPTIONS), it says "up" in
# /build and sleeps first.
fake_debian_base() {
	copy_programs fb sh cat sleep touch env stat id chown setpriv
	mkdir -p fb/etc fb/tmp fb/build fb/root
	printf 'root:x:0:0:root:/root:/bin/sh\n' > fb/etc/passwd
	printf '#!/bin/sh\nexit 0\n' > fb/usr/bin/apt-get
	printf '%s\n' '#!/bin/sh' 'echo "dpkg-buildpackage $*"' \
		'case " $* " in *" -b "*" -B "*|*" -B "*" -b "*) echo "cannot combine -b and -B"; exit 1 ;; esac' \
		'case $DEB_BUILD_OPTIONS in *pause*) touch ../up; sleep 600 ;; esac' \
		'case $DEB_BUILD_OPTIONS in *stat*) stat -c "passwd %u:%g %a" /etc/passwd ;; esac' \
		'case $DEB_BUILD_OPTIONS in *noisy*) i=0; while [ $i -lt 3000 ]; do echo "line $i of a build that says a lot" || exit 1; i=$((i + 1)); done ;; esac' \
		'for a; do case $a in -r*) gain=${a#-r} ;; esac; done' \
		'echo "built by $(id -un) $(id -u):$(id -g), binary targets by $(${gain:-env} id -u)"' \
		'case " $* " in *" -S "*)' \
		'  echo dsc > ../p_1.0.dsc; echo tar > ../p_1.0.tar.xz; touch ../p_1.0_source.buildinfo' \
		'  printf "Source: p\nFiles:\n 0123 4 devel optional p_1.0.dsc\n 4567 4 devel optional p_1.0.tar.xz\n 89ab 0 devel optional p_1.0_source.buildinfo\n" > ../p_1.0_source.changes' \
		'  exit 0 ;; esac' \
		'touch ../p_1.0_all.deb' > fb/usr/bin/dpkg-buildpackage
	chmod 755 fb/usr/bin/apt-get fb/usr/bin/dpkg-buildpackage
	mkdir -p src/debian
	printf 'p (1.0) unstable; urgency=low\n' > src/debian/changelog
	touch src/debian/control
	mkdir tmp
	export TMPDIR=$PWD/tmp
}

# The build type: -b, unless the options after -- give one (-B, -A, ...),
# which dpkg-buildpackage refuses to combine with -b.
test_pkgbuild_build_type_from_the_options() {
	need_userns
	fake_debian_base
	pkgbuild -o out fb src > o1 2>&1 || { cat o1 >&2; fail "the build"; }
	grep -Eq '^dpkg-buildpackage( .*)? -b( |$)' o1 || fail "not -b: $(grep dpkg-b o1)"
	assert_contains o1 "$PWD/out/p_1.0_all.deb"
	pkgbuild -o out fb src -- -B > o2 2>&1 || { cat o2 >&2; fail "the build with -- -B"; }
	grep -Eq '^dpkg-buildpackage( .*)? -B$' o2 || fail "not -B: $(grep dpkg-b o2)"
	grep -Eq '^dpkg-buildpackage( .*)? -b( |$)' o2 && fail "-b given with -B"
	pkgbuild -q -o out fb src -- --build=all > o3 2>&1 || { cat o3 >&2; fail "--build=all"; }
	grep -Eq '^dpkg-buildpackage -r/build/.fakebuild-root -us -uc --build=all$' out/p_1.0_*.build || fail "--build=all: $(grep dpkg-b out/p_1.0_*.build)"
	no_temp_left tmp
}

# The build runs as a build user of the root's own, who owns /build, with
# fake root for the targets that need it (dpkg-buildpackage -r), as sbuild
# and pbuilder build: a test suite that checks for root sees a user.
# Before, all of it ran as fake root.
test_pkgbuild_builds_as_a_user_with_fake_root_for_binary() {
	need_userns
	fake_debian_base
	pkgbuild -o out fb src > o 2>&1 || { cat o >&2; fail "the build"; }
	assert_contains o "fakebuild-pkgbuild: building as builder (1234:1234), with fake root for the targets that need it"
	assert_contains o "built by builder 1234:1234, binary targets by 0"
	[ -f out/p_1.0_all.deb ] || fail "no package"
	# A base whose ids 1234 are taken: the next free ones (before: the
	# build ran as the user who had 1234).
	printf 'alice:x:1234:1234::/home/alice:/bin/sh\n' >> fb/etc/passwd
	printf 'staff:x:1235:\n' >> fb/etc/group
	pkgbuild -o out3 fb src > o 2>&1 || { cat o >&2; fail "the build with 1234 taken"; }
	assert_contains o "built by builder 1236:1236, binary targets by 0"
	# A root without setpriv builds as fake root, and says so.
	rm fb/usr/bin/setpriv
	pkgbuild -o out2 fb src > o 2>&1 || { cat o >&2; fail "the build without setpriv"; }
	assert_contains o "no setpriv in the root: building as fake root"
	assert_contains o "built by root 0:0, binary targets by 0"
	no_temp_left tmp
}

# Interrupted, nothing of it runs on: a TERM ends the build at once, and
# its output watcher with it (it used to sleep out its 5 s); a KILL, which
# it cannot catch, still ends the build (the build dies with its parent).
# Cleaned up, it ends by the signal it got (a shell's loop of builds
# went on at ^C: it exited 130).
test_pkgbuild_interrupted_leaves_nothing_running() {
	need_userns
	need python3
	fake_debian_base
	DEB_BUILD_OPTIONS=pause python3 -c 'import subprocess, sys
p = subprocess.Popen(sys.argv[1:])
open("pid", "w").write(str(p.pid))
print(p.wait())' "$PKGBUILD" -q -o out "$PWD/fb" src > rc 2> o &
	waiter=$!
	for i in $(seq 100); do [ -e tmp/*/build/up ] 2>/dev/null && break; sleep 0.1; done
	[ -e tmp/*/build/up ] || fail "the build did not start"
	kill -TERM "$(cat pid)"
	wait $waiter
	assert_eq -15 "$(cat rc)" "status after SIGTERM"
	assert_contains o "fakebuild-pkgbuild: p 1.0: interrupted (SIGTERM); see $PWD/out/p_1.0_"
	sleep 0.5
	pgrep -f "$PWD/fb" >/dev/null && { ps -f -p "$(pgrep -d, -f "$PWD/fb")" >&2; fail "left running after TERM"; }
	no_temp_left tmp
	DEB_BUILD_OPTIONS=pause "$PKGBUILD" -q -o out "$PWD/fb" src > o 2>&1 &
	pid=$!
	for i in $(seq 100); do [ -e tmp/*/build/up ] 2>/dev/null && break; sleep 0.1; done
	[ -e tmp/*/build/up ] || fail "the build did not start (2)"
	kill -KILL $pid
	wait $pid 2>/dev/null || true
	for i in $(seq 50); do pgrep -f "$PWD/fb" >/dev/null || break; sleep 0.1; done
	pgrep -f "$PWD/fb" >/dev/null && { ps -f -p "$(pgrep -d, -f "$PWD/fb")" >&2; fail "left running after KILL"; }
	rm -rf tmp/*
}

# A ^C to a script that runs builds as background jobs: they start with
# SIGINT ignored, which bash cannot trap, while fakebuild passes it on to
# the build; the build ended as "the build failed" (helper 66).  Now it
# is "interrupted (SIGINT)", as in the foreground.
test_pkgbuild_background_job_interrupted_by_sigint() {
	need_userns
	fake_debian_base
	DEB_BUILD_OPTIONS=pause setsid sh -c '"$0" -q -o out "$1" src & echo $! >pid; wait' \
		"$PKGBUILD" "$PWD/fb" > o 2>&1 &
	waiter=$!
	for i in $(seq 100); do [ -e tmp/*/build/up ] 2>/dev/null && break; sleep 0.1; done
	[ -e tmp/*/build/up ] || fail "the build did not start"
	kill -INT -- -"$(ps -o pgid= -p "$(cat pid)" | tr -d ' ')"
	wait $waiter || true
	assert_contains o "fakebuild-pkgbuild: p 1.0: interrupted (SIGINT)"
	grep -q 'the build failed' o && fail "reported as a failed build: $(cat o)"
	for i in $(seq 50); do pgrep -f "$PWD/fb" >/dev/null || break; sleep 0.1; done
	pgrep -f "$PWD/fb" >/dev/null && { ps -f -p "$(pgrep -d, -f "$PWD/fb")" >&2; fail "left running"; }
	no_temp_left tmp
}

# --quiet wrote the build's output straight to its log: on a full disk
# the build's own writes failed and so did the build, "the build failed",
# exit 1 (helper 66).  Now tee writes the log, with or without --quiet,
# and a log cut short is exit 4, after the packages.
roottest_pkgbuild_quiet_log_on_a_full_disk() {
	mkdir home out
	chown 65534:65534 home . out
	mount -t tmpfs -o size=64k,uid=65534,gid=65534 tmpfs out
	trap 'umount out 2>/dev/null || true' EXIT
	local rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD/home" DEB_BUILD_OPTIONS=noisy \
		bash -c "B=$B; TOP=$TOP; . $TOP/tests/e2e/lib.sh; $(declare -f fake_debian_base need_userns); need_userns
		fake_debian_base; \"$PKGBUILD\" -q -o out \"\$PWD/fb\" src" > o 2>&1 || rc=$?
	grep -q '^skipped:' o && skip "$(sed -n 's/^skipped: //p' o)"
	assert_eq 4 "$rc" "$(cat o)"
	assert_contains o "No space left on device"
	assert_contains o "fakebuild-pkgbuild: p 1.0: built and written, but its log $PWD/out/p_1.0_"
	[ -f out/p_1.0_all.deb ] || fail "the package was not written: $(ls out)"
}

# Standard output closed early (| head, a pager quit): the build goes on
# and succeeds, its log whole.  It used to die of SIGPIPE with its tee.
test_pkgbuild_output_into_a_closed_pipe() {
	need_userns
	fake_debian_base
	pkgbuild -o out fb src 2> err | head -n 1 > first
	assert_eq 0 "${PIPESTATUS[0]}" "the exit status"
	assert_contains first "fakebuild-pkgbuild: p 1.0: installing its Build-Depends"
	# Nor a 'printf: write error' for each line it could not print.
	grep -i 'write error' err && fail "write errors on standard error"
	[ -f out/p_1.0_all.deb ] || fail "no package: $(ls out)"
	assert_contains out/p_1.0_*.build "dpkg-buildpackage -r/build/.fakebuild-root -us -uc -b"
	no_temp_left tmp
}

# A build stopped for want of output (--stall-timeout) under -q shows the
# end of its log, as a failed one does: it showed nothing of it.
test_pkgbuild_stalled_quiet_shows_the_log_end() {
	need_userns
	fake_debian_base
	local rc=0
	DEB_BUILD_OPTIONS=pause pkgbuild -q --stall-timeout 2s -o out fb src > o 2> err || rc=$?
	assert_eq 1 "$rc" "the exit status"
	assert_contains err "the build failed: no output for 2 seconds, stopped (--stall-timeout)"
	assert_contains err "  dpkg-buildpackage"
	no_temp_left tmp
}

# A source build (-S) and anything else a .changes lists reach the output
# directory: its .changes once listed a .dsc and a tarball it did not copy.
test_pkgbuild_copies_what_the_changes_lists() {
	need_userns
	fake_debian_base
	pkgbuild -q -o out fb src -- -S > o 2>&1 || { cat o >&2; fail "the source build"; }
	local f
	for f in p_1.0.dsc p_1.0.tar.xz p_1.0_source.buildinfo p_1.0_source.changes; do
		[ -f "out/$f" ] || fail "$f was not copied: $(ls out)"
		assert_contains o "$PWD/out/$f"
	done
	assert_eq 1 "$(grep -c 'p_1.0.dsc$' o)" "p_1.0.dsc printed once"
	no_temp_left tmp
}

# A result that cannot be written: exit 4, the file named, no partial or
# temporary file (a full disk once left a cut .deb under its own name).
test_pkgbuild_results_are_written_whole() {
	need_userns
	fake_debian_base
	mkdir -p out/p_1.0_all.deb
	assert_status 4 pkgbuild -q -o out fb src 2> err
	assert_contains err "p 1.0: built, but p_1.0_all.deb could not be written to $PWD/out"
	[ -d out/p_1.0_all.deb ] && [ -z "$(ls -A out/p_1.0_all.deb)" ] || fail "the package went into the directory"
	ls -A out | grep -q '^\.' && fail "a temporary file was left: $(ls -A out)"
	no_temp_left tmp
}

# A directory base shows the owners and modes the user's database records
# for it, as under fakebuild --root (the build's database once started
# empty: root:root 0644 everywhere); the user's database is only read.
test_pkgbuild_directory_base_keeps_its_owners() {
	need_userns
	fake_debian_base
	printf 'root:x:0:\nshadow:x:42:\n' > fb/etc/group
	fb sh -c 'chown 0:42 fb/etc/passwd && chmod 0640 fb/etc/passwd'
	local db=$FAKEBUILD_DB sum
	sum=$(cksum < "$db")
	DEB_BUILD_OPTIONS=stat pkgbuild -q -o out "$PWD/fb" src > o 2>&1 || { cat o >&2; fail "the build"; }
	assert_contains out/p_1.0_*.build "passwd 0:42 640"
	assert_eq "$sum" "$(cksum < "$db")" "the user's database"
	# The same with fakebuild's default database ($XDG_STATE_HOME's)
	env -u FAKEBUILD_DB "$FAKEBUILD" sh -c 'chown 0:8 fb/etc/passwd'
	db=$XDG_STATE_HOME/fakebuild/fakebuild.db
	[ -f "$db" ] || fail "no default database at $db"
	DEB_BUILD_OPTIONS=stat env -u FAKEBUILD_DB "$PKGBUILD" -q -o out2 "$PWD/fb" src > o 2>&1 ||
		{ cat o >&2; fail "the build (default database)"; }
	assert_contains out2/p_1.0_*.build "passwd 0:8 640"
	no_temp_left tmp
}
