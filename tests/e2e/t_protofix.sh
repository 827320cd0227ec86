# protofix: checking a proto area against its manifest (any user), fixing
# it (root), recording it in the fakebuild database (--db), and never
# following a symlink out of the tree.
PF_FIX=$TOP/tests/e2e/fixtures/protofix

# A small proto area owned by whoever runs the test, and its mtree manifest
# declaring uid/gid $1 (default: the caller's) with the modes on disk.
pf_tree() {
	mkdir -p proto/usr/bin proto/etc
	echo bin >proto/usr/bin/tool
	echo conf >proto/etc/tool.conf
	ln -s tool proto/usr/bin/alias
	chmod 0755 proto proto/usr proto/usr/bin proto/etc proto/usr/bin/tool
	chmod 0644 proto/etc/tool.conf
}
pf_manifest() { # UID GID [MODE-OF-TOOL]
	cat >m.mtree <<-EOM
	#mtree
	. type=dir uid=$1 gid=$2 mode=0755
	./etc type=dir uid=$1 gid=$2 mode=0755
	./etc/tool.conf type=file uid=$1 gid=$2 mode=0644
	./usr type=dir uid=$1 gid=$2 mode=0755
	./usr/bin type=dir uid=$1 gid=$2 mode=0755
	./usr/bin/alias type=link uid=$1 gid=$2 link=tool
	./usr/bin/tool type=file uid=$1 gid=$2 mode=${3:-0755}
	EOM
}

# --- any user: check -----------------------------------------------------------

test_check_matching_tree_exits_0() {
	pf_tree
	pf_manifest "$(id -u)" "$(id -g)"
	"$PROTOFIX" -m m.mtree proto >out
	assert_eq "" "$(cat out)" "output"
}

test_check_reports_each_difference() {
	pf_tree
	pf_manifest "$(id -u)" "$(id -g)" 4755
	cat >>m.mtree <<-EOM
	./usr/bin/gone type=file uid=$(id -u) gid=$(id -g) mode=0755
	./usr/bin/otherlink type=link uid=$(id -u) gid=$(id -g) link=elsewhere
	./etc/conf.d type=dir uid=$(id -u) gid=$(id -g) mode=0755
	./usr/bin/owned type=file uid=0 gid=0 mode=0644
	EOM
	ln -s tool proto/usr/bin/otherlink
	touch proto/etc/conf.d proto/stray proto/usr/bin/owned
	chmod 0644 proto/usr/bin/owned
	assert_status 1 "$PROTOFIX" -m m.mtree proto >out
	assert_contains out "usr/bin/tool: mode 0755 != 4755"
	assert_contains out "usr/bin/gone: missing"
	assert_contains out "usr/bin/otherlink: symlink target tool != elsewhere"
	assert_contains out "etc/conf.d: type file != dir"
	assert_contains out "usr/bin/owned: owner $(id -u) != 0"
	assert_contains out "usr/bin/owned: group $(id -g) != 0"
	assert_contains out "stray: not in manifest"
	assert_eq 7 "$(wc -l <out)" "number of differences"
	# One line each, whatever the name (before, a newline split it in two).
	touch "proto/new
line" 'proto/back\slash'
	assert_status 1 "$PROTOFIX" -m m.mtree proto >out
	assert_contains out 'new\012line: not in manifest'
	assert_contains out 'back\134slash: not in manifest'
	assert_eq 9 "$(wc -l <out)" "number of differences, with odd names"
}

test_check_owner_names_shown() {
	pf_tree
	pf_manifest "$(id -u)" "$(id -g)"
	printf './etc/tool.conf type=file uname=root gname=root mode=0644\n' >>m.mtree
	assert_status 1 "$PROTOFIX" -m m.mtree proto >out
	assert_contains out "etc/tool.conf: owner $(id -u) != root(0)"
	assert_contains out "etc/tool.conf: group $(id -g) != root(0)"
}

test_check_exception_list_silences_extras() {
	pf_tree
	pf_manifest "$(id -u)" "$(id -g)"
	mkdir -p proto/usr/share/doc/tool
	touch proto/usr/share/doc/tool/README proto/usr/bin/tool.debug proto/etc/kept
	printf '# expected leftovers\nusr/share\nusr/bin/*.debug   # debug info\n' >exc
	assert_status 1 "$PROTOFIX" -m m.mtree -e exc proto >out
	assert_eq "etc/kept: not in manifest" "$(cat out)" "output"
	echo etc/kept >>exc
	assert_status 0 "$PROTOFIX" -m m.mtree -e exc proto
	# -e given twice: both lists apply, as in cpiotranslate (before: the
	# last one only, silently).
	echo etc/kept >exc2
	sed -i '$d' exc
	assert_status 0 "$PROTOFIX" -m m.mtree -e exc -e exc2 proto
	assert_status 0 "$PROTOFIX" -m m.mtree -e exc2 -e exc proto
}

test_check_later_manifest_overrides() {
	pf_tree
	pf_manifest "$(id -u)" "$(id -g)" 4755
	printf '#mtree\n./usr/bin/tool type=file uid=%s gid=%s mode=0755\n' "$(id -u)" "$(id -g)" >fix.mtree
	assert_status 1 "$PROTOFIX" -m m.mtree proto >/dev/null
	assert_status 0 "$PROTOFIX" -m m.mtree -m fix.mtree proto 2>err
	# Said as cpiotranslate says it (before: without "warning:").
	assert_contains err "protofix: warning: fix.mtree: 'usr/bin/tool' overrides the entry of m.mtree"
}

test_malformed_manifest_names_file_and_line() {
	pf_tree
	printf 'd none usr 0755 root root\nf none usr/bin/tool 07x5 root root\n' >bad.prototype
	assert_status 2 "$PROTOFIX" -m bad.prototype proto 2>err
	assert_contains err "protofix: bad.prototype:2: "
	# mtree goes through libarchive, which names the entry rather than the line.
	printf '#mtree\n./usr type=dir uid=0 gid=0 mode=0755 nonsense\n' >bad.mtree
	assert_status 2 "$PROTOFIX" -m bad.mtree proto 2>err
	assert_contains err "bad.mtree"
	assert_contains err "nonsense"
}

test_unknown_user_is_an_error() {
	pf_tree
	printf '#mtree\n./usr type=dir uname=no_such_user_pf gid=0 mode=0755\n' >m.mtree
	assert_status 2 "$PROTOFIX" -m m.mtree proto 2>err
	assert_contains err "no_such_user_pf"
}

test_names_from_target_passwd() {
	pf_tree
	mkdir -p target/etc
	echo "builder:x:$(id -u):$(id -g)::/:/bin/sh" >target/etc/passwd
	echo "builders:x:$(id -g):" >target/etc/group
	printf '#mtree\n./etc/tool.conf type=file uname=builder gname=builders mode=0644\n' >m.mtree
	"$PROTOFIX" --root target -m m.mtree proto >out || true
	if grep -q "etc/tool.conf" out; then cat out; fail "names not resolved through --root"; fi
	"$PROTOFIX" --passwd target/etc/passwd --group target/etc/group -m m.mtree proto >out || true
	if grep -q "etc/tool.conf" out; then cat out; fail "names not resolved through --passwd/--group"; fi
}

test_fix_needs_root_or_db() {
	pf_tree
	pf_manifest 0 0
	assert_status 2 "$PROTOFIX" --fix -m m.mtree proto 2>err
	assert_contains err "needs root"
}

test_dry_run_changes_nothing() {
	pf_tree
	pf_manifest "$(id -u)" "$(id -g)" 0700
	assert_status 1 "$PROTOFIX" -n --fix -m m.mtree proto >out
	assert_contains out "usr/bin/tool: mode 0755 != 0700"
	assert_eq 755 "$(stat -c %a proto/usr/bin/tool)" "mode after -n"
}

test_refuses_slash() {
	printf '#mtree\n. type=dir uid=0 gid=0 mode=0755\n' >m.mtree
	assert_status 2 "$PROTOFIX" -m m.mtree / 2>err
	assert_contains err "refusing"
	ln -s / rootlink
	assert_status 2 "$PROTOFIX" -m m.mtree rootlink/ 2>err
	assert_contains err "refusing"
	mkdir d
	assert_status 2 "$PROTOFIX" -m m.mtree "$PWD/d/../../../../../../.." 2>err
	assert_contains err "refusing"
}

test_version_and_help() {
	assert_eq "protofix (fakebuild) 0.1" "$("$PROTOFIX" --version)" "version"
	"$PROTOFIX" --help | grep -q "PROTO_ROOT" || fail "help lacks usage"
	assert_status 2 "$PROTOFIX"
	# Each usage error says what is wrong before the usage (before: the
	# usage alone; --create without --fix or --db was ignored).
	printf '#mtree\n. type=dir uid=0 gid=0 mode=0755\n' >m.mtree
	mkdir -p p
	assert_status 2 "$PROTOFIX" -m m.mtree 2>err
	assert_eq "protofix: no PROTO_ROOT given" "$(head -n 1 err)"
	assert_status 2 "$PROTOFIX" -m m.mtree p q 2>err
	assert_eq "protofix: one PROTO_ROOT only, not p and q" "$(head -n 1 err)"
	assert_status 2 "$PROTOFIX" p 2>err
	assert_eq "protofix: no manifest: give -m MANIFEST, or --from-db DB" "$(head -n 1 err)"
	assert_status 2 "$PROTOFIX" --create -m m.mtree p 2>err
	assert_eq "protofix: --create makes what is missing: give it with --fix or --db" "$(head -n 1 err)"
}

test_symlinked_directory_is_not_entered() {
	pf_tree
	pf_manifest "$(id -u)" "$(id -g)"
	mkdir outside
	touch outside/victim
	ln -s ../outside proto/lib
	printf './lib type=dir uid=%s gid=%s mode=0755\n./lib/victim type=file uid=0 gid=0 mode=0644\n' \
		"$(id -u)" "$(id -g)" >>m.mtree
	# A difference of the tree, not an error of the tool: exit 1.
	assert_status 1 "$PROTOFIX" -m m.mtree proto >out 2>err
	assert_contains out "lib: type symlink != dir"
	assert_contains out "lib/victim: missing, lib is a symlink"
	[ ! -s err ] || { cat err; fail "an error where a difference was due"; }
	if grep -q "lib/victim: owner" out; then fail "looked through the symlink"; fi
}

# --- every manifest format the readers accept ---------------------------------

pf_format() { # FORMAT FILE: the fixture describes the tree below, owned by nobody:nogroup
	mkdir -p proto/usr/bin proto/etc
	echo x >proto/usr/bin/tool
	echo y >proto/etc/tool.conf
	ln -s tool proto/usr/bin/alias
	chmod 0755 proto proto/usr proto/usr/bin proto/etc proto/usr/bin/tool
	chmod 0644 proto/etc/tool.conf
	# The names resolve to whoever runs the test, through target files.
	echo "nobody:x:$(id -u):$(id -g)::/:/bin/sh" >passwd
	echo "nogroup:x:$(id -g):" >group
	if [ "$1" = cpiolist ] && [ "$(id -u):$(id -g)" != 65534:65534 ]; then
		skip "a cpio list has numbers only, and these are 65534"
	fi
	assert_status 0 "$PROTOFIX" --passwd passwd --group group -F "$1" -m "$PF_FIX/$2" proto
	chmod 0700 proto/usr/bin/tool
	assert_status 1 "$PROTOFIX" --passwd passwd --group group -m "$PF_FIX/$2" proto >out
	assert_eq "usr/bin/tool: mode 0700 != 0755" "$(cat out)" "$1 output"
}
test_format_mtree() { pf_format mtree tree.mtree; }
test_format_prototype() { pf_format prototype tree.prototype; }
test_format_ips() { pf_format ips tree.p5m; }
test_format_cpiolist() { pf_format cpiolist tree.cpiolist; }

# --- --db: ownership into the fakebuild database --------------------------------

test_db_records_manifest_ownership() {
	[ -x "$FAKEBUILD" ] || skip "fakebuild not built yet"
	pf_tree
	pf_manifest 0 0 4755
	printf './etc/tool.conf type=file uid=0 gid=42 mode=0640\n' >>m.mtree
	# A dry run or a check of a database not made yet creates nothing for
	# it (before: its directory, DB.lock and DB.users were left).
	"$PROTOFIX" --db="$PWD/sub/fb.db" -n -m m.mtree proto >out 2>err || true
	"$PROTOFIX" --db="$PWD/sub/fb.db" --check -m m.mtree proto >out 2>err || true
	[ ! -e sub ] || { ls -lR sub >&2; fail "a check of a missing database made files"; }
	"$PROTOFIX" --db="$PWD/fb.db" -m m.mtree proto 2>err || { cat err; fail "protofix --db failed"; }
	"$PROTOFIX" --db="$PWD/fb.db" -n -m m.mtree proto >out 2>err || true
	[ "$(ls fb.db*)" = fb.db ] || fail "a dry run left: $(ls fb.db*)"
	assert_eq "0 0 4755" "$("$FAKEBUILD" -d "$PWD/fb.db" stat -c '%u %g %a' proto/usr/bin/tool)" "tool"
	assert_eq "0 42 640" "$("$FAKEBUILD" -d "$PWD/fb.db" stat -c '%u %g %a' proto/etc/tool.conf)" "conf"
	# The tree itself is untouched, and a check through the database now passes.
	assert_eq "755" "$(stat -c %a proto/usr/bin/tool)" "real mode"
	assert_status 0 "$PROTOFIX" --db="$PWD/fb.db" --check -m m.mtree proto
}

# --- root: fix ------------------------------------------------------------------

pf_nobody_tree() {
	pf_tree
	chown -hR 65534:65534 proto
}

roottest_fix_applies_owner_group_then_mode() {
	pf_nobody_tree
	pf_manifest 0 0 6755
	assert_status 1 "$PROTOFIX" -m m.mtree proto >/dev/null
	"$PROTOFIX" --fix -v -m m.mtree proto >out 2>err || { cat out err; fail "--fix failed"; }
	assert_contains out "usr/bin/tool: mode 0755 -> 6755"
	assert_contains err "changed, 0 failed"
	assert_eq "0 0 6755" "$(stat -c '%u %g %a' proto/usr/bin/tool)" "tool"
	assert_eq "0 0" "$(stat -c '%u %g' proto/usr/bin/alias)" "symlink owner (lchown)"
	assert_status 0 "$PROTOFIX" -m m.mtree proto
	# Already set-id, chown again: the mode must survive the second run too.
	chown 65534 proto/usr/bin/tool
	"$PROTOFIX" --fix -m m.mtree proto 2>/dev/null
	assert_eq "0 0 6755" "$(stat -c '%u %g %a' proto/usr/bin/tool)" "tool after refix"
}

# --fix opens one descriptor per file and closes them a batch at a time
# (one close_range per run of numbers), never more than the descriptor
# limit allows; and it reserves the heap a large manifest needs with one
# call.  10,000 files, each fixed.
roottest_fix_many_files_few_descriptors_and_calls() {
	need strace
	mkdir -p proto
	# Digests: a manifest of 3 MB, large enough to reserve the heap for.
	local sums d f
	sums="sha256digest=$(printf '%064d' 7) sha512digest=$(printf '%0128d' 7)"
	{
		echo '#mtree'; echo '. type=dir uid=0 gid=0 mode=0755'
		for ((d = 1; d <= 100; d++)); do
			mkdir proto/d$d
			echo "./d$d type=dir uid=0 gid=0 mode=0755"
			for ((f = 1; f <= 100; f++)); do
				: >proto/d$d/f$f
				echo "./d$d/f$f type=file uid=0 gid=0 mode=0644 size=0 $sums"
			done
		done
	} >m.mtree
	chmod -R g+w proto
	chown -R 65534:65534 proto
	cp -a proto proto2
	(ulimit -n 32 && "$PROTOFIX" --fix -m m.mtree proto >out 2>err) || { tail -3 err; fail "--fix failed"; }
	assert_contains err "10101 changed, 0 failed"
	assert_eq "" "$(find proto ! -user 0 -o ! -perm 0755 -type d -o ! -perm 0644 -type f)" "left unfixed"
	# LeakSanitizer cannot run under ptrace.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -o trace -e trace=close,close_range,madvise "$PROTOFIX" --fix -m m.mtree proto2 >out 2>err ||
		{ tail -3 err; fail "--fix failed"; }
	assert_contains err "10101 changed, 0 failed"
	nclose=$(grep -cE '^[0-9]+ +close(_range)?\(' trace || true)
	[ "$nclose" -lt 1000 ] || fail "$nclose close calls for 10,101 files"
	# ASan's allocator owns the heap (and its mallopt refuses): nothing to reserve.
	[ "${SAN:-}" = 1 ] || grep -q 'MADV_POPULATE_WRITE' trace ||
		fail "the heap was not reserved: $(grep -c madvise trace || true) madvise calls"
}

roottest_fix_leaves_unlisted_files() {
	pf_nobody_tree
	pf_manifest 0 0
	touch proto/stray
	chown 65534:65534 proto/stray
	assert_status 1 "$PROTOFIX" --fix -m m.mtree proto >out 2>/dev/null
	assert_contains out "stray: not in manifest"
	assert_eq "65534 65534" "$(stat -c '%u %g' proto/stray)" "stray owner"
}

roottest_fix_dry_run_changes_nothing() {
	pf_nobody_tree
	pf_manifest 0 0
	assert_status 1 "$PROTOFIX" --fix -n -m m.mtree proto >out
	assert_contains out "usr/bin/tool: owner 65534 != 0"
	assert_eq "65534" "$(stat -c %u proto/usr/bin/tool)" "owner after -n"
}

roottest_fix_create_makes_dirs_devices_fifos() {
	pf_nobody_tree
	pf_manifest 0 0
	cat >>m.mtree <<-EOM
	./dev type=dir uid=0 gid=0 mode=0755
	./dev/null type=char uid=0 gid=0 mode=0666 device=native,1,3
	./dev/loop0 type=block uid=0 gid=6 mode=0660 device=native,7,0
	./run type=dir uid=0 gid=0 mode=1777
	./run/initctl type=fifo uid=0 gid=0 mode=0600
	./usr/bin/notbuilt type=file uid=0 gid=0 mode=0755
	EOM
	assert_status 1 "$PROTOFIX" --fix -m m.mtree proto >out 2>/dev/null
	assert_contains out "dev: missing"
	[ ! -e proto/dev ] || fail "created without --create"
	assert_status 1 "$PROTOFIX" --fix --create -m m.mtree proto >out 2>/dev/null
	assert_eq "usr/bin/notbuilt: missing" "$(cat out)" "left after --create"
	assert_eq "character special file 1,3 0 0 666" "$(stat -c '%F %t,%T %u %g %a' proto/dev/null)" "dev/null"
	assert_eq "block special file 7,0 0 6 660" "$(stat -c '%F %t,%T %u %g %a' proto/dev/loop0)" "loop0"
	assert_eq "directory 1777" "$(stat -c '%F %a' proto/run)" "run"
	assert_eq "fifo 600" "$(stat -c '%F %a' proto/run/initctl)" "initctl"
}

roottest_fix_summary_counts_failures() {
	pf_nobody_tree
	pf_manifest 0 0 0644
	# A foreign file hard-linked into the tree: never changed, reported, counted.
	mkdir outside
	echo secret >outside/shadow
	chown 1234:1234 outside/shadow
	chmod 0600 outside/shadow
	ln outside/shadow proto/etc/shadow
	printf './etc/shadow type=file uid=0 gid=0 mode=0644\n' >>m.mtree
	assert_status 2 "$PROTOFIX" --fix -m m.mtree proto >out 2>err
	assert_contains err "etc/shadow"
	assert_contains err "7 changed, 1 failed"
	assert_eq "1234 1234 600" "$(stat -c '%u %g %a' outside/shadow)" "foreign file"
	assert_eq "0 0 644" "$(stat -c '%u %g %a' proto/usr/bin/tool)" "fixed file"
}

# A file of root's that the build user linked in (any file root owns and
# the user may write, with fs.protected_hardlinks on) already has the
# owner the manifest asks for; made 4755 it would be a setuid-root program.
# pf_root_file_linked_in NAME...: the build user's tree, and a file of
# root's outside it that anyone may write, linked in as each NAME.
pf_root_file_linked_in() {
	local n
	pf_nobody_tree
	pf_manifest 0 0
	mkdir outside
	printf '#!/bin/sh\n' >outside/script
	chmod 0666 outside/script
	for n; do ln outside/script "proto/$n"; done
}

roottest_fix_leaves_root_files_linked_into_the_tree() {
	pf_root_file_linked_in usr/bin/su
	printf './usr/bin/su type=file uid=0 gid=0 mode=4755\n' >>m.mtree
	assert_status 2 "$PROTOFIX" --fix -m m.mtree proto >out 2>err
	assert_contains err "usr/bin/su: has 2 names and belongs to uid 0: not touched"
	assert_eq "0 0 666" "$(stat -c '%u %g %a' outside/script)" "root's file linked in"
}

# The same file linked in under two names the manifest declares as a pair
# (su and its hard link newgrp): a declared link vouches for the names it
# declares, not for a third one outside the tree.  Without the third name
# the pair is fixed.
roottest_fix_leaves_a_declared_pair_with_more_names() {
	pf_root_file_linked_in usr/bin/su usr/bin/newgrp
	printf 'f none usr/bin/su 4755 root root\nl none usr/bin/newgrp=su\n' >m.p
	assert_status 2 "$PROTOFIX" --fix -m m.mtree -m m.p proto >out 2>err
	assert_contains err "usr/bin/su: has 3 names and belongs to uid 0: not touched"
	assert_eq "0 0 666" "$(stat -c '%u %g %a' outside/script)" "root's file linked in twice"
	rm outside/script
	"$PROTOFIX" --fix -m m.mtree -m m.p proto >out 2>err || { cat err >&2; fail "the pair alone"; }
	assert_eq "0 0 4755 2" "$(stat -c '%u %g %a %h' proto/usr/bin/newgrp)" "the declared pair"
}

# The proto root named through a symlink of the build user's: the user,
# not the admin, would choose which tree root's --fix rewrites.
roottest_fix_refuses_a_root_through_the_build_users_symlink() {
	mkdir -p victims db u && chown 65534:65534 db u
	echo secret >victims/shadow
	chmod 0600 victims/shadow
	ln -s "$PWD/victims" u/rootfs && chown -h 65534:65534 u/rootfs
	printf '#mtree\n./shadow type=file uid=65534 gid=65534 mode=0644\n' >m.mtree
	assert_status 2 "$PROTOFIX" --fix -m m.mtree u/rootfs 2>err
	assert_contains err "u/rootfs: the symbolic link rootfs on the way belongs to uid 65534"
	# The same through a directory of the path, and with the user's database.
	ln -s "$PWD/victims" u/v && chown -h 65534:65534 u/v
	assert_status 2 "$PROTOFIX" --fix -m m.mtree u/v/. 2>err
	assert_contains err "the symbolic link v on the way belongs to uid 65534"
	setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$PWD/u" \
		"$FAKEBUILD" -d "$PWD/db/b.db" chown 65534 victims/shadow
	assert_status 2 "$PROTOFIX" --fix --from-db db/b.db u/rootfs 2>err
	assert_contains err "belongs to uid 65534"
	assert_eq "0 0 600" "$(stat -c '%u %g %a' victims/shadow)" "root's file"
	# root's own symlinks are the admin's choice: followed.
	ln -s "$PWD/victims" rootlink
	assert_status 1 "$PROTOFIX" -m m.mtree rootlink >out
	assert_contains out "shadow: owner 0 != 65534"
}

# --- root: symlink attacks ----------------------------------------------------------

pf_victim() {
	mkdir -p outside
	echo secret >outside/victim
	chown 1234:1234 outside outside/victim
	chmod 0600 outside/victim
	chmod 0700 outside
}
pf_victim_intact() {
	assert_eq "1234 1234 600" "$(stat -c '%u %g %a' outside/victim)" "outside/victim"
	assert_eq "1234 1234 700" "$(stat -c '%u %g %a' outside)" "outside"
}

roottest_symlink_final_component_not_followed() {
	pf_nobody_tree
	pf_victim
	pf_manifest 0 0
	rm proto/usr/bin/tool
	ln -s ../../../outside/victim proto/usr/bin/tool
	chown -h 65534:65534 proto/usr/bin/tool
	printf './usr/bin/alias2 type=link uid=0 gid=0 link=../../../outside/victim\n' >>m.mtree
	ln -s ../../../outside/victim proto/usr/bin/alias2
	assert_status 1 "$PROTOFIX" --fix -m m.mtree proto >out 2>/dev/null
	assert_contains out "usr/bin/tool: type symlink != file"
	pf_victim_intact
	assert_eq "0 0" "$(stat -c '%u %g' proto/usr/bin/alias2)" "the link itself"
}

roottest_symlink_intermediate_component_not_followed() {
	pf_nobody_tree
	pf_victim
	pf_manifest 0 0
	ln -s ../../outside proto/usr/lib
	printf './usr/lib type=dir uid=0 gid=0 mode=0755\n./usr/lib/victim type=file uid=0 gid=0 mode=4777\n' >>m.mtree
	assert_status 1 "$PROTOFIX" --fix --create -m m.mtree proto >out 2>err
	assert_contains out "usr/lib: type symlink != dir"
	assert_contains out "usr/lib/victim: missing, usr/lib is a symlink (nothing is created beneath it)"
	pf_victim_intact
}

roottest_directory_swapped_for_symlink_during_walk() {
	pf_nobody_tree
	pf_victim
	pf_manifest 0 0
	mkdir -p proto/usr/lib
	# The same names inside and outside: a walk through the swapped link would find them.
	for i in $(seq 1 200); do touch "proto/usr/lib/victim$i"; done
	touch proto/usr/lib/victim
	for i in 1 2 3; do echo s >"outside/victim$i"; chmod 0600 "outside/victim$i"; done
	chown -hR 65534:65534 proto
	chown -R 1234:1234 outside
	{ printf './usr/lib type=dir uid=0 gid=0 mode=0755\n'
	  for i in $(seq 1 200); do printf './usr/lib/victim%s type=file uid=0 gid=0 mode=4777\n' "$i"; done
	  printf './usr/lib/victim type=file uid=0 gid=0 mode=4777\n'
	} >>m.mtree
	# The "build": swaps usr/lib for a symlink to outside and back, in a loop.
	( end=$((SECONDS + 3))
	  while [ $SECONDS -lt $end ]; do
		mv proto/usr/lib proto/usr/lib.real
		ln -s ../../outside proto/usr/lib
		rm proto/usr/lib
		mv proto/usr/lib.real proto/usr/lib
	  done ) &
	swapper=$!
	while kill -0 $swapper 2>/dev/null; do
		"$PROTOFIX" --fix -m m.mtree proto >/dev/null 2>&1 || true
		chown -R 65534 proto/usr/lib.real proto/usr/lib 2>/dev/null || true
	done
	wait $swapper
	pf_victim_intact
	for i in 1 2 3; do
		assert_eq "1234 1234 600" "$(stat -c '%u %g %a' "outside/victim$i")" "outside/victim$i"
	done
}

roottest_refuses_root_dir() {
	printf '#mtree\n. type=dir uid=0 gid=0 mode=0755\n' >m.mtree
	ln -s / rootlink
	assert_status 2 "$PROTOFIX" --fix -m m.mtree rootlink 2>err
	assert_contains err "refusing"
	assert_status 2 "$PROTOFIX" --fix -m m.mtree /tmp/.. 2>err
	assert_contains err "refusing"
}

test_db_create_records_devices_and_dirs() {
	[ -x "$FAKEBUILD" ] || skip "fakebuild not built yet"
	pf_tree
	pf_manifest 0 0
	printf './dev type=dir uid=0 gid=0 mode=0755\n./dev/null type=char uid=0 gid=0 mode=0666 device=native,1,3\n' >>m.mtree
	"$PROTOFIX" --db --create -m m.mtree proto 2>err || { cat err; fail "protofix --db --create failed"; }
	assert_eq "character special file 1,3 0 0 666" \
		"$("$FAKEBUILD" stat -c '%F %t,%T %u %g %a' proto/dev/null)" "dev/null in the session"
	assert_eq "regular empty file" "$(stat -c %F proto/dev/null)" "dev/null on disk"
	assert_status 0 "$PROTOFIX" --db -n -m m.mtree proto
}

# Inside a session protofix --db saw the session's fake files: its
# device's record was written again as a regular file (stat showed the
# placeholder's S_IFREG type).  It is refused there, as --from-db is,
# and the record is left as it was.
test_db_refused_inside_a_session() {
	[ -x "$FAKEBUILD" ] || skip "fakebuild not built yet"
	pf_tree
	pf_manifest 0 0
	printf './dev type=dir uid=0 gid=0 mode=0755\n./dev/null type=char uid=0 gid=3 mode=0666 device=native,1,3\n' >>m.mtree
	"$PROTOFIX" --db --create -m m.mtree proto 2>err || { cat err; fail "protofix --db --create failed"; }
	local rc=0
	"$FAKEBUILD" "$PROTOFIX" --db -m m.mtree proto 2>err || rc=$?
	assert_eq 2 "$rc" "exit status inside a session"
	assert_contains err "run outside fakebuild"
	assert_status 2 "$FAKEBUILD" "$PROTOFIX" --db -n -m m.mtree proto
	assert_eq "character special file 1,3 0 3 666" \
		"$("$FAKEBUILD" stat -c '%F %t,%T %u %g %a' proto/dev/null)" "dev/null after the refusals"
}

# Two plain file entries that are one file in the tree (a hard link the
# manifest does not declare) with different owners or modes: named as
# such.  Before, the check listed the differences of both, and --fix
# changed one, then refused the other as "a hard link to a file outside
# the tree?".
test_conflicting_entries_of_one_file() {
	mkdir proto
	echo x > proto/su
	ln proto/su proto/newgrp
	printf 'f none /su 4755 root root\nf none /newgrp 0755 bin bin\n' > m.prototype
	assert_status 1 "$PROTOFIX" -m m.prototype proto > out
	assert_contains out "su: one file with newgrp (hard links), which the manifest gives another owner or mode"
	printf 'f none /su 0644 %s %s\nf none /newgrp 0644 %s %s\n' "$(id -un)" "$(id -gn)" "$(id -un)" "$(id -gn)" > same.prototype
	chmod 644 proto/su
	assert_status 0 "$PROTOFIX" -m same.prototype proto
}

test_check_hard_links() {
	mkdir -p proto/usr/bin
	echo x >proto/usr/bin/gzip
	ln proto/usr/bin/gzip proto/usr/bin/gunzip
	echo y >proto/usr/bin/zcat
	chmod 0755 proto proto/usr proto/usr/bin proto/usr/bin/*
	u=$(id -un) g=$(id -gn)
	cat >m.prototype <<-EOM
	d none usr 0755 $u $g
	d none usr/bin 0755 $u $g
	f none usr/bin/gzip 0755 $u $g
	l none usr/bin/gunzip=gzip
	l none usr/bin/zcat=gzip
	EOM
	assert_status 1 "$PROTOFIX" -m m.prototype proto >out
	assert_eq "usr/bin/zcat: not a hard link to usr/bin/gzip" "$(cat out)" "output"
}

# The same attacks on the fallbacks of kernels without openat2 and fchmodat2.
roottest_compat_fallbacks_keep_the_guarantees() {
	local t
	for t in roottest_fix_applies_owner_group_then_mode roottest_symlink_final_component_not_followed \
		 roottest_symlink_intermediate_component_not_followed roottest_directory_swapped_for_symlink_during_walk; do
		mkdir "$t"
		(cd "$t" && PROTOFIX_COMPAT=1 "$t") || fail "$t with PROTOFIX_COMPAT=1"
	done
	PROTOFIX_COMPAT=1 strace -f -o trace "$PROTOFIX" -m roottest_fix_applies_owner_group_then_mode/m.mtree \
		roottest_fix_applies_owner_group_then_mode/proto 2>/dev/null || true
	if [ -s trace ] && grep -q openat2 trace; then fail "PROTOFIX_COMPAT=1 still used openat2"; fi
}

roottest_fix_keeps_setid_bits_the_manifest_does_not_mention() {
	pf_nobody_tree
	chmod 4755 proto/usr/bin/tool
	printf '#mtree\n./usr/bin/tool type=file uid=0 gid=0\n' >m.mtree
	"$PROTOFIX" --fix -m m.mtree -e /dev/null proto >/dev/null 2>&1 || true
	assert_eq "0 0 4755" "$(stat -c '%u %g %a' proto/usr/bin/tool)" "tool"
}

# --- a parent that is not a directory; placeholders (issue 15) ---------------------

# A file where a directory should be: the manifest's entries beneath it are
# missing, a difference of the tree (exit 1), not an error of the tool.
test_parent_not_a_directory_is_a_difference() {
	pf_tree
	pf_manifest "$(id -u)" "$(id -g)"
	: >proto/lib
	chmod 0644 proto/lib
	ln -s /etc proto/etc2
	printf './lib/x type=file mode=0644\n./lib/y/z type=file\n./etc2/passwd type=file\n' >>m.mtree
	assert_status 1 "$PROTOFIX" -e /dev/null -m m.mtree proto >out 2>err
	[ ! -s err ] || { cat err; fail "an error where a difference was due"; }
	assert_contains out "lib/x: missing, lib is not a directory"
	assert_contains out "lib/y/z: missing, lib is not a directory"
	assert_contains out "etc2/passwd: missing, etc2 is a symlink"
	# An unreadable manifest is still an error.
	assert_status 2 "$PROTOFIX" -m nosuch.mtree proto 2>/dev/null
}

# A device a session made is an empty regular file on disk: said so, not
# as a type difference.
test_placeholder_reported_as_such() {
	pf_tree
	pf_manifest "$(id -u)" "$(id -g)"
	mkdir proto/dev
	: >proto/dev/null
	echo data >proto/dev/full
	: >proto/dev/tty
	printf './dev type=dir\n./dev/null type=char mode=0644 device=native,1,3\n./dev/full type=char device=native,1,7\n' >>m.mtree
	printf './dev/tty type=char mode=0666\n' >>m.mtree
	assert_status 1 "$PROTOFIX" -m m.mtree proto >out
	assert_contains out "dev/null: placeholder file for char 1,3"
	# No device= is no numbers (it was 0,0).
	assert_contains out "dev/tty: placeholder file for char (no device numbers)"
	assert_contains out "dev/full: type file != char"
	# --db: the session's own view; --create records the device.
	"$PROTOFIX" --db --create -m m.mtree proto >out 2>err || true
	assert_eq "character special file 1,3" "$("$FAKEBUILD" stat -c '%F %t,%T' proto/dev/null)" "recorded"
	assert_contains out "dev/full: type file != char"
}

roottest_fix_create_replaces_placeholders() {
	pf_nobody_tree
	pf_manifest 0 0
	mkdir proto/dev
	: >proto/dev/null
	: >proto/dev/nvme0n1
	: >proto/dev/initctl
	chown -R 65534:65534 proto/dev
	cat >>m.mtree <<-EOM
	./dev type=dir uid=0 gid=0 mode=0755
	./dev/null type=char uid=0 gid=0 mode=0666 device=native,1,3
	./dev/nvme0n1 type=block uid=0 gid=6 mode=0660 device=native,259,0
	./dev/initctl type=fifo uid=0 gid=0 mode=0600
	EOM
	# Without --create a placeholder stays, reported.
	assert_status 1 "$PROTOFIX" --fix -m m.mtree proto >out 2>/dev/null
	assert_contains out "dev/null: placeholder file for char 1,3"
	assert_eq "regular empty file" "$(stat -c %F proto/dev/null)" "without --create"
	assert_status 0 "$PROTOFIX" -v --fix --create -m m.mtree proto >out 2>err || { cat out err; fail "--create"; }
	assert_contains out "dev/null: placeholder file -> char 1,3"
	assert_eq "character special file 1,3 0 0 666" "$(stat -c '%F %t,%T %u %g %a' proto/dev/null)" "dev/null"
	assert_eq "block special file 103,0 0 6 660" "$(stat -c '%F %t,%T %u %g %a' proto/dev/nvme0n1)" "nvme0n1"
	assert_eq "fifo 0 0 600" "$(stat -c '%F %u %g %a' proto/dev/initctl)" "initctl"
	[ -z "$(ls -A proto/dev | grep protofix)" ] || fail "temporary left in dev"
	# Beneath a symlink nothing is created: a difference, exit 1.
	mkdir outside
	ln -s ../outside proto/var
	printf './var/lib type=dir uid=0 gid=0 mode=0755\n' >>m.mtree
	assert_status 1 "$PROTOFIX" --fix --create -m m.mtree proto >out 2>/dev/null
	assert_contains out "var/lib: missing, var is a symlink (nothing is created beneath it)"
	[ ! -e outside/lib ] || fail "created beneath the symlink"
}
